/*
 * cuda_common.cuh — the Evoformer-specific helpers both CUDA attention files use (attention_cuda.cu,
 * the SIMT kernels and entry points; attention_mma.cu, the tensor-core kernels): bias loads and
 * stores in the activation dtype or fp32, (b, n, h) slice addressing, tile-block decoding, lse
 * offsets and shifts, and the host-side row alignment test. Everything generic (conversions, vector
 * loads, reductions, PTX wrappers, launching, error checks, the device scope) is in core/cuda/. C++,
 * included by .cu files only; everything is internal to the including file.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_EVOFORMER_CUDA_COMMON_CUH
#define AXIAL_EVOFORMER_CUDA_COMMON_CUH

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <stdint.h>

#include "core/cuda/convert.cuh"
#include "core/cuda/launch.cuh"
#include "core/internal.h"
#include "evoformer/evoformer_params.h"

namespace {

/* The (b, n, h) slice of a (B, N, S, H, D) activation: row i at + i * s.s. */
template <typename T>
__device__ __forceinline__ const T *slice(const void *base, const evo_bnshd_strides &s, int64_t b, int64_t n,
                                          int64_t h) {
    return static_cast<const T *>(base) + b * s.b + n * s.n + h * s.h;
}
template <typename T>
__device__ __forceinline__ T *slice_mut(void *base, const evo_bnshd_strides &s, int64_t b, int64_t n, int64_t h) {
    return static_cast<T *>(base) + b * s.b + n * s.n + h * s.h;
}

/* Splits a tile kernel's block index into (tile, h, n, b), tile fastest, `tiles` tiles per slice. */
__device__ __forceinline__ void decode_tile_block(int64_t tiles, const evo_attn_params &p, int64_t *tile, int64_t *h,
                                                  int64_t *n, int64_t *b) {
    int64_t bid = blockIdx.x;
    *tile = bid % tiles;
    bid /= tiles;
    *h = bid % p.H;
    bid /= p.H;
    *n = bid % p.N;
    *b = bid / p.N;
}

/* What the forward adds back to the lse of a (b, n) row: the shift the backend took off that row of
 * bias_mask (evoformer_params.h), 0 without a mask. */
__device__ __forceinline__ float lse_shift_at(const evo_attn_params &p, int64_t b, int64_t n) {
    return p.lse_shift == NULL ? 0.0f : p.lse_shift[b * p.lse_shift_stride_b + n * p.lse_shift_stride_n];
}

/* The offset of row (b, n, h, i) in lse (and in row_mul, which shares its layout in the backward). */
__device__ __forceinline__ int64_t lse_offset(const evo_attn_params &p, int64_t b, int64_t n, int64_t h, int64_t i) {
    return b * p.lse_stride_b + n * p.lse_stride_n + h * p.lse_stride_h + i * p.lse_stride_s;
}

/* ---- host side ------------------------------------------------------------------------------- */

/* Every 8-element chunk of every row starts 16-byte aligned: base aligned and every stride of a
 * dim that is actually stepped a multiple of 16 bytes. */
int vec_aligned(const void *ptr, const evo_bnshd_strides &s, const evo_attn_params &p) {
    const int64_t step = 16 / (int64_t)ax_dtype_size(p.dtype);
    if ((uintptr_t)ptr % 16 != 0) return 0;
    if (p.B > 1 && s.b % step != 0) return 0;
    if (p.N > 1 && s.n % step != 0) return 0;
    if (p.S > 1 && s.s % step != 0) return 0;
    if (p.H > 1 && s.h % step != 0) return 0;
    return 1;
}

} /* namespace */

#endif /* AXIAL_EVOFORMER_CUDA_COMMON_CUH */
