/*
 * dtype_convert.h — private conversion helpers: array kernels (one table per CPU path), dtype
 * classes and block geometry, and the unchecked conversions ax_convert and ax_tensor_copy share.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_CORE_DTYPE_CONVERT_H
#define AXIAL_CORE_DTYPE_CONVERT_H

#include <stdint.h>

#include "axial/axial.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define AXIAL_HAVE_X86_KERNELS 1
#else
#define AXIAL_HAVE_X86_KERNELS 0
#endif

typedef struct ax_convert_kernels {
    void (*f32_to_bf16)(const float *src, uint16_t *dst, int64_t n);
    void (*bf16_to_f32)(const uint16_t *src, float *dst, int64_t n);
    void (*f32_to_f16)(const float *src, uint16_t *dst, int64_t n);
    void (*f16_to_f32)(const uint16_t *src, float *dst, int64_t n);
} ax_convert_kernels;

/* The table for the active CPU path. One table per path, built from cpu/convert_rows.inc. */
const ax_convert_kernels *ax_convert_kernels_active(void);

extern const ax_convert_kernels ax_convert_kernels_portable;
#if AXIAL_HAVE_X86_KERNELS
extern const ax_convert_kernels ax_convert_kernels_avx2;
extern const ax_convert_kernels ax_convert_kernels_avx512;
#endif

/* Correctly rounded f64 -> 16-bit (nearest even, one rounding). */
uint16_t ax_f64_to_f16(double x);
uint16_t ax_f64_to_bf16(double x);

/* ---- dtype classes and block geometry (dtype.c) ---- */

/* A block-quantized dtype (more than one element per block). */
int ax_dtype_is_block(ax_dtype dtype);
/* A dtype ax_convert and ax_tensor_copy convert: the float and block-quantized types. */
int ax_dtype_is_convertible(ax_dtype dtype);
/* Byte offset of the block holding element offset `elem_offset` (any sign): the element's own byte
 * offset for plain dtypes, floor(elem_offset / block_elems) * block_bytes for block types. */
int64_t ax_dtype_offset_bytes(ax_dtype dtype, int64_t elem_offset);

/* ---- conversions without argument checks (convert.c, quant.c); single elements are in
 * dtype_traits.h ---- */

/* ax_convert's work: `n` contiguous elements, n a whole number of blocks of either side. */
void ax_convert_run(const void *src, ax_dtype src_dtype, void *dst, ax_dtype dst_dtype, int64_t n);

/* `nblocks` whole blocks of a block-quantized dtype from / to fp32 (quant_blocks.h describes how). */
void ax_quantize_blocks(ax_dtype dtype, const float *src, void *dst, int64_t nblocks);
void ax_dequantize_blocks(ax_dtype dtype, const void *src, float *dst, int64_t nblocks);

#ifdef __cplusplus
}
#endif

#endif /* AXIAL_CORE_DTYPE_CONVERT_H */
