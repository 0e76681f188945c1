/*
 * op_dtype.h — the op test driver's own codec for every Axial dtype, written from the formats'
 * definitions and independent of the library's conversions: the value of any stored element as a
 * double, round-to-nearest-even encoding of a double into any element dtype, decoding of the GGUF
 * block types, and random valid blocks.
 *
 * The driver stores inputs and reads outputs through this codec only, so a bug in the library's
 * converters cannot hide in the test's own reading of its results.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_TESTS_OPS_OP_DTYPE_H
#define AXIAL_TESTS_OPS_OP_DTYPE_H

#include <stddef.h>
#include <stdint.h>

#include "axial/axial.h"

/* Deterministic pseudo-random numbers (splitmix64), one state per case, so a failing case
 * reproduces on its own whatever ran before it. */
typedef struct op_rng {
    uint64_t state;
} op_rng;

uint64_t op_rng_u64(op_rng *r);
/* Uniform in [lo, hi). */
double op_rng_uniform(op_rng *r, double lo, double hi);
/* Uniform integer in [0, n). */
int64_t op_rng_below(op_rng *r, int64_t n);

/* 1 for the float dtypes (f32, f16, bf16, f64, both fp8), 0 otherwise. */
int opd_is_float(ax_dtype dt);
/* 1 for the GGUF block types (ax_dtype_block_elems > 1). */
int opd_is_block(ax_dtype dt);
/* 1 for the integer dtypes. */
int opd_is_int(ax_dtype dt);
/* Unit roundoff of a float dtype (2^-p for p bits of precision, 2^-53 for f64); 0 for others. */
double opd_unit_roundoff(ax_dtype dt);

/* x rounded to the nearest value of a float dtype, ties to even, with the dtype's overflow rule
 * (Inf for the IEEE-like formats, NaN for f8_e4m3fn, which has no Inf); integers are truncated
 * toward zero. Exact for every double input: rounded once, never through fp32. */
double opd_round(ax_dtype dt, double x);

/* The value of a raw code of f32, f16, bf16 or an fp8 dtype (NaN for other dtypes). */
double opd_from_bits(ax_dtype dt, uint32_t bits);

/* Element `offset` (in elements, as ax_tensor counts them) of storage `base` in dtype `dt`. For
 * block types the element is number offset mod B of block floor(offset / B). */
double opd_load(ax_dtype dt, const void *base, int64_t offset);
/* Stores opd_round(dt, x) at element `offset` (not for block types); returns the stored value. */
double opd_store(ax_dtype dt, void *base, int64_t offset, double x);

/* Element i of one block, as GGUF defines the block layouts (ggml's dequantize_row_* structure) and
 * axial.h the arithmetic: fp32 with one rounding per multiply and add, never fused. */
float opd_block_decode(ax_dtype dt, const uint8_t *block, int64_t i);
/* The step between adjacent levels of element i's (sub-)block: |d| for Q4_0, Q4_1, Q8_0, |d * scale_j|
 * (computed in fp32) for Q4_K and Q6_K. */
float opd_block_step(ax_dtype dt, const uint8_t *block, int64_t i);
/* Fills one block with random bytes whose fp16 scales are finite (a "valid" block). */
void opd_random_block(ax_dtype dt, op_rng *r, uint8_t *block);

#endif /* AXIAL_TESTS_OPS_OP_DTYPE_H */
