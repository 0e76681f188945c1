/*
 * mma_tile.cuh — shared-memory tiles for the tensor-core (mma.sync m16n8k16) attention kernels:
 * the asynchronous row loader into [rows][kD + 8] tiles (8 elements of padding keep ldmatrix free
 * of bank conflicts) and the fragment loaders and paired products over them. Used by the Evoformer
 * (src/evoformer/cuda/attention_mma.cu) and the flash-attention (src/attention/cuda/) kernels, so
 * both read their tiles the same way. Device code for sm_80+ (cp.async, ldmatrix, mma.sync).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_CORE_CUDA_MMA_TILE_CUH
#define AXIAL_CORE_CUDA_MMA_TILE_CUH

#include <stdint.h>

#include "core/cuda/ptx.cuh"

namespace {

/* Rows [row0, row0 + nrows) x [0, kD) of one head (row r at src + r * row_stride) into dst
 * ([nrows][kD + 8]), asynchronously, by the kBlockThreads threads of the block; rows at or past
 * `rows` and dims at or past D are zero-filled (the source is then not read). */
template <typename T, int kD, int kBlockThreads>
__device__ __forceinline__ void mma_load_rows(T *dst, const T *src, int64_t row_stride, int64_t row0, int nrows,
                                              int64_t rows, int D) {
    constexpr int chunks = kD / 8;
#pragma unroll 4
    for (int idx = threadIdx.x; idx < nrows * chunks; idx += kBlockThreads) {
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
/* B fragments for two 8-row n-tiles (rows row0 .. row0 + 15 of the tile, dims kk * 16 ..): the
 * tile's rows are the product's columns (K for Q K^T, V for dO V^T, Q / dO for the transposed
 * products of dK/dV). r[0..1] serve rows row0 .. row0 + 7, r[2..3] rows row0 + 8 .. */
template <int kD, typename T>
__device__ __forceinline__ void frag_b_rows(uint32_t r[4], const T *tile, int row0, int kk) {
    const int lane = threadIdx.x & 31, mi = lane >> 3;
    ldsm_x4(r, tile + (row0 + (mi >> 1) * 8 + (lane & 7)) * (kD + 8) + kk * 16 + (mi & 1) * 8);
}
/* B fragments over 16 tile rows (the reduction dim: keys for P V, queries for P^T dO) for two 8-dim
 * n-tiles at dims dp * 16: r[0..1] dims dp*16 .. +7, r[2..3] dims dp*16 + 8 .. */
template <int kD, typename T>
__device__ __forceinline__ void frag_b_trans(uint32_t r[4], const T *tile, int row0, int dp) {
    const int lane = threadIdx.x & 31, mi = lane >> 3;
    ldsm_x4_t(r, tile + (row0 + (mi & 1) * 8 + (lane & 7)) * (kD + 8) + dp * 16 + (mi >> 1) * 8);
}

/* c1 = A1 B1^T and c2 = A2 B2^T for the warp's 16 rows (row0 ..) of the A tiles against rows
 * 0 .. kCols - 1 of the B tiles, over kD dims; c1 / c2 are zeroed first. The two products share
 * the loop so their loads and tensor-core work interleave. Each element sums over dims in
 * ascending 16-blocks, whichever caller, so results do not depend on which kernel made them. */
template <typename T, int kD, int kCols>
__device__ __forceinline__ void dual_products(const T *a1, const T *a2, const T *b1, const T *b2, int row0,
                                              float c1[kCols / 8][4], float c2[kCols / 8][4]) {
#pragma unroll
    for (int t = 0; t < kCols / 8; t++)
#pragma unroll
        for (int e = 0; e < 4; e++) c1[t][e] = c2[t][e] = 0.0f;
#pragma unroll
    for (int kk = 0; kk < kD / 16; kk++) {
        uint32_t f1[4], f2[4];
        frag_a<kD>(f1, a1, row0, kk);
        frag_a<kD>(f2, a2, row0, kk);
#pragma unroll
        for (int cp = 0; cp < kCols / 16; cp++) {
            uint32_t r[4];
            frag_b_rows<kD>(r, b1, cp * 16, kk);
            mma16816(c1[2 * cp], f1, r[0], r[1], (const T *)0);
            mma16816(c1[2 * cp + 1], f1, r[2], r[3], (const T *)0);
            frag_b_rows<kD>(r, b2, cp * 16, kk);
            mma16816(c2[2 * cp], f2, r[0], r[1], (const T *)0);
            mma16816(c2[2 * cp + 1], f2, r[2], r[3], (const T *)0);
        }
    }
}

} /* namespace */

#endif /* AXIAL_CORE_CUDA_MMA_TILE_CUH */
