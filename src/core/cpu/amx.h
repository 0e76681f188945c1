/*
 * amx.h — AMX tiles for the CPU kernels: a bf16 product (ax_amx_bf16_gemm: c (m x n, fp32) = [c +]
 * a . b with a and b as bf16 pairs in the layouts of bf16_pairs.h; a: m rows of np pairs, the summed
 * dimension along a row; b: np pair rows of n columns, each element the two values of two
 * consecutive steps), on TDPBF16PS, which multiplies a 16 x 32 bf16 tile by a 32 x 16 one into
 * 16 x 16 fp32 sums. The tile instructions themselves and their scalar model are private to amx.c;
 * flash and Evoformer attention call ax_amx_bf16_gemm.
 *
 * Three modes, chosen once per process (ax_amx_mode):
 * - AX_AMX_HARDWARE: the CPU has AMX-BF16 and AMX-INT8 and the OS granted tile state
 *   (AX_CPU_AMX_GRANTED);
 * - AX_AMX_EMULATED: AXIAL_AMX=emulate, a scalar model of the same instructions (tile registers,
 *   the configuration's shapes and its checks, denormals flushed), so machines without AMX test
 *   every kernel's tile logic; slow, for tests only;
 * - AX_AMX_NONE otherwise, or with AXIAL_AMX=0.
 *
 * A thread loads the configuration (ax_amx_begin) before its first product and releases the tile
 * state (ax_amx_end) when done: tile configuration is per-thread state that starts empty, and an
 * instruction on an unconfigured tile faults (the emulation writes NaN bytes into the result
 * instead, and a store without any configuration writes 16 rows of 64 of them, so a missing begin
 * fails the tests rather than passing). ax_amx_begin makes every tile 16 rows of
 * 64 bytes, the shape every kernel here uses.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_CORE_CPU_AMX_H
#define AXIAL_CORE_CPU_AMX_H

#include <stdint.h>

typedef enum ax_amx_mode_t { AX_AMX_NONE = 0, AX_AMX_HARDWARE = 1, AX_AMX_EMULATED = 2 } ax_amx_mode_t;

/* Rows, columns and pair steps of one tile product: shapes given to ax_amx_bf16_gemm must be
 * multiples of AX_AMX_BLOCK (m, n) and AX_AMX_PAIRS (np). */
#define AX_AMX_BLOCK 32
#define AX_AMX_PAIRS 16

/* The mode of this process (read once: the CPU flags and AXIAL_AMX). Thread-safe. */
ax_amx_mode_t ax_amx_mode(void);

/* Load the tile configuration in the calling thread (every tile 16 x 64 bytes); ax_amx_end
 * releases it. mode NONE: nothing. */
void ax_amx_begin(ax_amx_mode_t mode);
void ax_amx_end(ax_amx_mode_t mode);

/* c (m x n, row stride ldc floats) = a . b, or c + a . b when accumulate; a: m rows of np pairs
 * (row stride lda pairs), b: np pair rows of n columns (row stride ldb pairs). m and n multiples
 * of AX_AMX_BLOCK, np of AX_AMX_PAIRS, every element read or written exists (callers pad with
 * zeros). Products of bf16 values are exact in fp32; the sums are fp32 with denormal inputs and
 * results flushed to zero, in an order of the hardware's choosing. Between ax_amx_begin and
 * ax_amx_end of the same mode, in the same thread. */
void ax_amx_bf16_gemm(ax_amx_mode_t mode, int64_t m, int64_t n, int64_t np, const uint32_t *a, int64_t lda,
                      const uint32_t *b, int64_t ldb, float *c, int64_t ldc, int accumulate);

/* AX_AMX_ASM: this file's build can assemble the tile instructions (AXIAL_ASM_AMX, given by CMake
 * when the assembler knows them); without it only amx.c's scalar model runs. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && defined(AXIAL_ASM_AMX)
#define AX_AMX_ASM 1
#endif

/* ax_amx_mode() as the including file can run it: AX_AMX_HARDWARE only where AX_AMX_ASM holds, so
 * a file built without the instructions falls back to its non-AMX code instead of mixing a real
 * configuration with the model's tiles. Kernels ask this, not ax_amx_mode. */
static inline ax_amx_mode_t ax_amx_mode_here(void) {
    const ax_amx_mode_t mode = ax_amx_mode();
#ifdef AX_AMX_ASM
    return mode;
#else
    return mode == AX_AMX_HARDWARE ? AX_AMX_NONE : mode;
#endif
}

#endif /* AXIAL_CORE_CPU_AMX_H */
