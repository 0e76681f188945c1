/*
 * attn_mma.cuh — the tensor-core building blocks the attention kernels share (attention_fwd.cu,
 * attention_bwd.cu): the block shape, the asynchronous row loader and the ldmatrix fragment
 * loaders of mma.sync m16n8k16 (.row.col, fp32 accumulation; core/cuda/ptx.cuh). Tiles sit in
 * shared memory as 16-bit rows of kD + 8 elements: the 16-byte padding puts the 8 rows each
 * ldmatrix phase reads in 8 different bank groups. Only reached on sm_80+ (callers guard their
 * kernel bodies with __CUDA_ARCH__ >= 800).
 *
 * C++, included by .cu files only; everything is internal to the including file.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_ATTENTION_CUDA_ATTN_MMA_CUH
#define AXIAL_ATTENTION_CUDA_ATTN_MMA_CUH

#include <stdint.h>

#include "core/cuda/ptx.cuh"

#ifndef AXIAL_CUDA_MMA
/* The tensor-core kernels have bodies only in sm_80+ device code; a build whose architectures are
 * all older must define 0 (CMakeLists.txt does for evoformer/cuda/attention_mma.cu), so that no
 * call reaches an empty body through JIT of old PTX on a newer device. */
#define AXIAL_CUDA_MMA 1
#endif

namespace {

constexpr int kMmaThreads = 128; /* 4 warps, 16 rows of every tile product each */
constexpr int kMmaRows = 64;     /* rows (queries, or keys in dK / dV) per block */

/* Rows [row0, row0 + nrows) x [0, kD) of one head (row r at src + r * row_stride) into dst
 * ([nrows][kD + 8]), asynchronously; rows at or past `rows` and dims at or past D are zero-filled
 * (the source is then not read). */
template <typename T, int kD>
__device__ __forceinline__ void mma_load_rows(T *dst, const T *src, int64_t row_stride, int64_t row0, int nrows,
                                              int64_t rows, int D) {
    constexpr int chunks = kD / 8;
#pragma unroll 4
    for (int idx = threadIdx.x; idx < nrows * chunks; idx += kMmaThreads) {
        const int r = idx / chunks, c = idx % chunks;
        const bool ok = row0 + r < rows && c * 8 < D;
        cp_async16(dst + r * (kD + 8) + c * 8, ok ? src + (row0 + r) * row_stride + c * 8 : src, ok);
    }
}

/* A fragment (16 rows x 16 dims at dim kk * 16) of rows row0.. of a [.][kD + 8] tile. */
template <int kD, typename T>
__device__ __forceinline__ void frag_a(uint32_t a[4], const T *tile, int row0, int kk) {
    const int lane = threadIdx.x & 31;
    ldsm_x4(a, tile + (row0 + (lane & 15)) * (kD + 8) + kk * 16 + (lane >> 4) * 8);
}
/* B fragments of two 8-column n-tiles whose columns are tile rows row0 .. row0 + 15 (keys of K for
 * Q K^T), dims kk * 16 ..: r[0..1] serve rows row0 .. row0 + 7, r[2..3] rows row0 + 8 .. */
template <int kD, typename T>
__device__ __forceinline__ void frag_b_rows(uint32_t r[4], const T *tile, int row0, int kk) {
    const int lane = threadIdx.x & 31, mi = lane >> 3;
    ldsm_x4(r, tile + (row0 + (mi >> 1) * 8 + (lane & 7)) * (kD + 8) + kk * 16 + (mi & 1) * 8);
}
/* B fragments over 16 tile rows (keys of V for P V: the reduction dim) for two 8-dim n-tiles at
 * dims dp * 16: r[0..1] dims dp * 16 .. + 7, r[2..3] dims dp * 16 + 8 .. */
template <int kD, typename T>
__device__ __forceinline__ void frag_b_trans(uint32_t r[4], const T *tile, int row0, int dp) {
    const int lane = threadIdx.x & 31, mi = lane >> 3;
    ldsm_x4_t(r, tile + (row0 + (mi & 1) * 8 + (lane & 7)) * (kD + 8) + dp * 16 + (mi >> 1) * 8);
}

} /* namespace */

#endif /* AXIAL_ATTENTION_CUDA_ATTN_MMA_CUH */
