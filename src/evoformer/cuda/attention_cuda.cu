/*
 * attention_cuda.cu — the CUDA backend of Evoformer attention (forward and backward): the C entry
 * points, and the SIMT fp32 kernels that serve every case the tensor-core kernels of attention_mma.cu
 * do not take (fp32, D not a multiple of 16, misaligned rows, broadcast pair-bias gradients, pre-sm_80
 * devices, or AXIAL_CUDA_TENSOR_CORES=0). Semantics are those of include/axial/evoformer.h.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 *
 * Tiling: every kernel works on 32-query x 32-key tiles with 128 threads (4 warps). Inside a tile a
 * warp owns 8 query rows and lane j owns key j, so each row's max and sum are warp reductions and
 * nothing S x S ever reaches global memory. Tiles live in shared memory as fp32, converted once on
 * load; K and V are stored transposed with a padded row (kTStride) so a warp reading one key per
 * lane, or one dim per lane, hits 32 different banks.
 *
 * Kernels:
 *   shift     one block per (b, n) row of bias_mask: the row less its largest value, into scratch
 *             (fp32), and that value, which the lse gets back (evoformer_params.h: huge masks).
 *   forward   grid (query tile, h, n, b): online softmax over the key tiles; writes out and lse.
 *   rowref    grid (query tile, h, n, b): each row's reference for the backward (row_sub, row_mul):
 *             the lse less the shift where the lse is exact, else the row's maximum and 1 / sum,
 *             recomputed as the forward computes them (only blocks holding such a row do work).
 *   delta     one warp per query row: delta = rowsum(dout * out).
 *   dkdv      grid (key tile, h, n, b), loops over query tiles: dk, dv and, when dbias_mask is wanted,
 *             the per-(b, n, h, j) sum of dS over the queries (into scratch).
 *   dq        grid (query tile, h, n, b), loops over key tiles: dq.
 *   dpair     grid over output tiles of dbias_pair, loops over the dims that broadcast into each
 *             (n always; b, h, query, key when the bias has size 1 there), recomputing dS per tile.
 *   dmask     32 outputs of dbias_mask per block: sums the dkdv partials over h and any broadcast
 *             dims.
 * Determinism: no atomics. Every sum runs in an order fixed by the shapes alone (sequential loops,
 * butterfly shuffles whose partners add the same two values, fixed-order shared-memory combines), so
 * two runs give identical bits.
 */
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>

#include "core/cuda/device.h"
#include "core/cuda/launch.cuh"
#include "core/cuda/reduce.cuh"
#include "core/cuda/scope.cuh"
#include "core/cuda/vec.cuh"
#include "core/internal.h"
#include "evoformer/evoformer_params.h"
#include "evoformer/cuda/attention_mma.h"
#include "evoformer/cuda/cuda_common.cuh"

/* One dynamic shared-memory symbol for every kernel; each carves it up itself. float4 so that the
 * float4 reads of row tiles are aligned. */
extern __shared__ float4 evo_smem[];

namespace {

constexpr int kTile = 32;           /* queries per query tile = keys per key tile */
constexpr int kThreads = 128;       /* 4 warps per tile kernel */
/* Minimum resident blocks per SM, given to __launch_bounds__. Without one ptxas caps itself near
 * 128 registers and spills; 3 (at most 168 registers) leaves the fwd, dq and dpair kernels spill-free
 * and matches what their shared memory allows. dkdv keeps dk and dv accumulators (16 * DC floats)
 * live across the tile recompute and needs more, so it asks for 1 (ptxas then uses about 210). */
constexpr int kMinBlocks = 3;
constexpr int kMinBlocksDkdv = 1;
constexpr int kRowsPerWarp = 8;     /* kTile / 4 warps */
constexpr int kTStride = kTile + 1; /* padded row of a transposed tile or of a p / dS tile */
constexpr int kMaxD = 128;
constexpr int kDeltaThreads = 256;  /* 8 rows per block, one warp each */
constexpr int kMaskThreads = 256;   /* 8 warps split one output's terms; 32 outputs per block */
constexpr int kShiftThreads = 256;  /* one (b, n) mask row per block */

/* What every kernel receives, by value: the validated params plus a few host-derived values. */
struct evo_dev {
    evo_attn_params p;
    float *delta;        /* (B, N, H, S) contiguous scratch, backward only */
    float *mask_partial; /* (B, N, H, S) contiguous scratch: sum over i of dS; NULL unless dbias_mask */
    int64_t dpair_chunks; /* > 0: dbias_pair on tensor cores, its (b, n) sum split this many ways */
    float *dpair_partial; /* their partial sums, when dpair_chunks > 1 */
    float *mask_copy;    /* shift kernel: (Bm, Nm, S) fp32, the mask less each row's shift */
    float *mask_shift;   /* shift kernel: (Bm, Nm), each row's shift */
    float *row_sub, *row_mul; /* rowref kernel: (B, N, H, S) contiguous, each row's reference */
    int64_t n_tiles;     /* ceil(S / kTile) */
    /* 1 when every 8-element chunk of a row starts 16-byte aligned, so it moves as 16-byte vectors */
    int vec_q, vec_k, vec_v, vec_dout, vec_dq, vec_dk, vec_dv;
};

/* bias_mask[b, n, j] + bias_pair[b, h, i, j]; broadcast dims have stride 0. */
template <typename T>
__device__ __forceinline__ float bias_at(const evo_attn_params &p, int64_t b, int64_t n, int64_t h, int64_t i,
                                         int64_t j) {
    float x = 0.0f;
    if (p.bias_mask != NULL)
        x += load_t_or_f32<T>(p.bias_mask, p.bias_mask_dtype == AX_F32,
                          b * p.mask_stride_b + n * p.mask_stride_n + j * p.mask_stride_j);
    if (p.bias_pair != NULL)
        x += load_t_or_f32<T>(p.bias_pair, p.bias_pair_dtype == AX_F32,
                          b * p.pair_stride_b + h * p.pair_stride_h + i * p.pair_stride_i + j * p.pair_stride_j);
    return x;
}

/* Loads rows [row0, row0 + kTile) of one (b, n, h) slice (row r at src + r * row_stride) as fp32
 * into rows_out ([kTile][D], row-major) and/or t_out ([D][kTStride], transposed); either may be
 * NULL. Rows at or past S are zero, so they add nothing to any dot product. Coalesced along d. */
template <typename T>
__device__ void load_tile(const T *src, int64_t row_stride, int64_t row0, int64_t S, int D, bool vec,
                          float *rows_out, float *t_out) {
    const int chunks = D >> 3;
#pragma unroll 1
    for (int idx = threadIdx.x; idx < kTile * chunks; idx += blockDim.x) {
        const int r = idx / chunks;
        const int c = idx - r * chunks;
        float v[8];
        if (row0 + r < S) {
            load8(src + (row0 + r) * row_stride + 8 * c, vec, v);
        } else {
#pragma unroll
            for (int e = 0; e < 8; e++) v[e] = 0.0f;
        }
        if (rows_out != NULL) store8(rows_out + r * D + 8 * c, true, v);
        if (t_out != NULL) {
#pragma unroll
            for (int e = 0; e < 8; e++) t_out[(8 * c + e) * kTStride + r] = v[e];
        }
    }
}

/* s[r] = q[row0 + r] . k[lane] and, with kWithDp, dp[r] = dout[row0 + r] . v[lane], summed over d in
 * ascending order. q_s / do_s are [kTile][D]; kt_s / vt_s are [D][kTStride]. */
template <bool kWithDp>
__device__ __forceinline__ void tile_dots(const float *q_s, const float *do_s, const float *kt_s, const float *vt_s,
                                          int D, int row0, int lane, float s[kRowsPerWarp], float dp[kRowsPerWarp]) {
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; r++) {
        s[r] = 0.0f;
        dp[r] = 0.0f;
    }
#pragma unroll 1
    for (int d = 0; d < D; d += 4) {
        float kc[4], vc[4];
#pragma unroll
        for (int e = 0; e < 4; e++) {
            kc[e] = kt_s[(d + e) * kTStride + lane];
            vc[e] = kWithDp ? vt_s[(d + e) * kTStride + lane] : 0.0f;
        }
#pragma unroll
        for (int r = 0; r < kRowsPerWarp; r++) {
            const float4 qv = *reinterpret_cast<const float4 *>(q_s + (row0 + r) * D + d);
            s[r] = fmaf(qv.x, kc[0], s[r]);
            s[r] = fmaf(qv.y, kc[1], s[r]);
            s[r] = fmaf(qv.z, kc[2], s[r]);
            s[r] = fmaf(qv.w, kc[3], s[r]);
            if (kWithDp) {
                const float4 ov = *reinterpret_cast<const float4 *>(do_s + (row0 + r) * D + d);
                dp[r] = fmaf(ov.x, vc[0], dp[r]);
                dp[r] = fmaf(ov.y, vc[1], dp[r]);
                dp[r] = fmaf(ov.z, vc[2], dp[r]);
                dp[r] = fmaf(ov.w, vc[3], dp[r]);
            }
        }
    }
}

/* For this warp's 8 rows against key `lane`: p = exp(logit - lse) * mul and dS = p * (dp - delta), both
 * 0 when the row or key is out of range or the row is fully masked (lse == -inf). lse and mul are
 * the rows' references (rowref kernel). */
template <typename T>
__device__ __forceinline__ void tile_p_ds(const evo_attn_params &p, const float *q_s, const float *do_s,
                                          const float *kt_s, const float *vt_s, const float *lse_s,
                                          const float *mul_s, const float *delta_s, int64_t b, int64_t n, int64_t h,
                                          int64_t i0,
                                          int64_t j0, int row0, int lane, float pr[kRowsPerWarp],
                                          float ds[kRowsPerWarp]) {
    float s[kRowsPerWarp], dp[kRowsPerWarp];
    tile_dots<true>(q_s, do_s, kt_s, vt_s, (int)p.D, row0, lane, s, dp);
    const int64_t j = j0 + lane;
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; r++) {
        const int row = row0 + r;
        const int64_t i = i0 + row;
        const float lse_i = lse_s[row];
        float pv = 0.0f, dsv = 0.0f;
        if (i < p.S && j < p.S && lse_i != -INFINITY) {
            const float logit = p.scale * s[r] + bias_at<T>(p, b, n, h, i, j);
            pv = expf(logit - lse_i) * mul_s[row];
            dsv = pv == 0.0f ? 0.0f : pv * (dp[r] - delta_s[row]); /* not 0 * NaN from an infinite v */
        }
        pr[r] = pv;
        ds[r] = dsv;
    }
}

/* Loads the references (lse, mul) and delta of query rows [i0, i0 + kTile); rows past S read as
 * fully masked. */
__device__ __forceinline__ void load_row_stats(const evo_dev &dv, int64_t b, int64_t n, int64_t h, int64_t i0,
                                               float *lse_s, float *mul_s, float *delta_s) {
    const evo_attn_params &p = dv.p;
    if (threadIdx.x < kTile) {
        const int64_t i = i0 + threadIdx.x;
        const bool in = i < p.S;
        lse_s[threadIdx.x] = in ? p.lse[lse_offset(p, b, n, h, i)] : -INFINITY;
        mul_s[threadIdx.x] = in ? p.row_mul[lse_offset(p, b, n, h, i)] : 0.0f;
        delta_s[threadIdx.x] = in ? dv.delta[((b * p.N + n) * p.H + h) * p.S + i] : 0.0f;
    }
}

/* One key tile of the online softmax for one of a warp's rows (lane = key): folds this lane's logit into
 * the row's running maximum m and sum l (warp-uniform), sets pr = exp(logit - new maximum) and returns
 * the factor the row's earlier terms shrink by. The forward and the backward's recomputed row
 * statistics (rowref kernel) both run it, so they agree bit for bit. */
__device__ __forceinline__ float online_softmax_step(float logit, float &m, float &l, float &pr) {
    const float m_new = fmaxf(m, warp_max(logit));
    /* A row with only -inf so far subtracts 0 instead of -inf, so exp gives 0, not NaN. */
    const float ref = m_new == -INFINITY ? 0.0f : m_new;
    pr = expf(logit - ref);
    const float corr = expf(m - ref);
    l = l * corr + warp_sum(pr);
    m = m_new;
    return corr;
}

/* ---- forward --------------------------------------------------------------------------------- */

/* Shared memory: q [kTile][D], kt / vt [D][kTStride], p [kTile][kTile]. DC = ceil(D / 32): the
 * 32-dim chunks of the output row, lane owning dims lane + 32 t. */
template <typename T, int DC>
__global__ void __launch_bounds__(kThreads, kMinBlocks) evo_attn_fwd_kernel(const evo_dev dv) {
    const evo_attn_params &p = dv.p;
    const int D = (int)p.D;
    float *q_s = reinterpret_cast<float *>(evo_smem);
    float *kt_s = q_s + kTile * D;
    float *vt_s = kt_s + D * kTStride;
    float *p_s = vt_s + D * kTStride;
    const int lane = threadIdx.x & 31;
    const int row0 = (threadIdx.x >> 5) * kRowsPerWarp;

    int64_t it, h, n, b;
    decode_tile_block(dv.n_tiles, dv.p, &it, &h, &n, &b);
    const int64_t i0 = it * kTile;
    load_tile<T>(slice<T>(p.q, p.q_strides, b, n, h), p.q_strides.s, i0, p.S, D, dv.vec_q, q_s, NULL);
    const T *k = slice<T>(p.k, p.k_strides, b, n, h);
    const T *v = slice<T>(p.v, p.v_strides, b, n, h);

    float m[kRowsPerWarp], l[kRowsPerWarp], acc[kRowsPerWarp][DC];
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; r++) {
        m[r] = -INFINITY;
        l[r] = 0.0f;
#pragma unroll
        for (int t = 0; t < DC; t++) acc[r][t] = 0.0f;
    }

    for (int64_t jt = 0; jt < dv.n_tiles; jt++) {
        const int64_t j0 = jt * kTile;
        __syncthreads(); /* everyone is done with the previous key tile */
        load_tile<T>(k, p.k_strides.s, j0, p.S, D, dv.vec_k, NULL, kt_s);
        load_tile<T>(v, p.v_strides.s, j0, p.S, D, dv.vec_v, NULL, vt_s);
        __syncthreads();

        float s[kRowsPerWarp], unused[kRowsPerWarp];
        tile_dots<false>(q_s, NULL, kt_s, NULL, D, row0, lane, s, unused);
        const int64_t j = j0 + lane;
#pragma unroll
        for (int r = 0; r < kRowsPerWarp; r++) {
            const int64_t i = i0 + row0 + r;
            const float logit = (i < p.S && j < p.S) ? p.scale * s[r] + bias_at<T>(p, b, n, h, i, j) : -INFINITY;
            float pr;
            const float corr = online_softmax_step(logit, m[r], l[r], pr);
#pragma unroll
            for (int t = 0; t < DC; t++) acc[r][t] *= corr;
            p_s[(row0 + r) * kTile + lane] = pr;
        }
        __syncwarp(); /* p rows are private to the warp */

#pragma unroll 2
        for (int jj = 0; jj < kTile; jj += 4) {
            float vc[DC][4];
#pragma unroll
            for (int t = 0; t < DC; t++) {
                const int d = lane + 32 * t;
#pragma unroll
                for (int e = 0; e < 4; e++) vc[t][e] = d < D ? vt_s[d * kTStride + jj + e] : 0.0f;
            }
#pragma unroll
            for (int r = 0; r < kRowsPerWarp; r++) {
                const float4 pv = *reinterpret_cast<const float4 *>(p_s + (row0 + r) * kTile + jj);
#pragma unroll
                for (int t = 0; t < DC; t++) {
                    acc[r][t] = fmaf(pv.x, vc[t][0], acc[r][t]);
                    acc[r][t] = fmaf(pv.y, vc[t][1], acc[r][t]);
                    acc[r][t] = fmaf(pv.z, vc[t][2], acc[r][t]);
                    acc[r][t] = fmaf(pv.w, vc[t][3], acc[r][t]);
                }
            }
        }
    }

#pragma unroll
    for (int r = 0; r < kRowsPerWarp; r++) {
        const int64_t i = i0 + row0 + r;
        if (i >= p.S) continue;
        /* l == 0 exactly when every logit of the row is -inf: out 0, lse -inf. */
        const float inv = l[r] <= 0.0f ? 0.0f : 1.0f / l[r]; /* NaN l (a NaN logit): NaN */
        T *o = slice_mut<T>(p.out, p.out_strides, b, n, h) + i * p.out_strides.s;
#pragma unroll
        for (int t = 0; t < DC; t++) {
            const int d = lane + 32 * t;
            if (d < D) o[d] = from_f32<T>(inv == 0.0f ? 0.0f : acc[r][t] * inv); /* 0, not 0 * (0 * NaN v) */
        }
        if (p.lse != NULL && lane == 0)
            p.lse[lse_offset(p, b, n, h, i)] = l[r] <= 0.0f ? -INFINITY : m[r] + logf(l[r]) + lse_shift_at(p, b, n);
    }
}


/* ---- backward -------------------------------------------------------------------------------- */

/* delta[b, n, h, i] = sum_d dout * out, one warp per row. */
template <typename T>
__global__ void __launch_bounds__(kDeltaThreads) evo_attn_bwd_delta_kernel(const evo_dev dv) {
    const evo_attn_params &p = dv.p;
    const int lane = threadIdx.x & 31;
    const int64_t row = (int64_t)blockIdx.x * (kDeltaThreads / 32) + (threadIdx.x >> 5);
    if (row >= p.B * p.N * p.H * p.S) return;
    const int64_t i = row % p.S;
    int64_t rest = row / p.S;
    const int64_t h = rest % p.H;
    rest /= p.H;
    const int64_t n = rest % p.N;
    const int64_t b = rest / p.N;
    const T *o = slice<T>(p.out, p.out_strides, b, n, h) + i * p.out_strides.s;
    const T *g = slice<T>(p.dout, p.dout_strides, b, n, h) + i * p.dout_strides.s;
    float sum = 0.0f;
    for (int d = lane; d < (int)p.D; d += 32) sum = fmaf(to_f32(g[d]), to_f32(o[d]), sum);
    sum = warp_sum(sum);
    if (lane == 0) dv.delta[row] = sum;
}

/* Shared memory: q, dout [kTile][D]; kt, vt [D][kTStride]; p, dS [kTile][kTStride]; lse, mul, delta
 * [kTile]. Thread t accumulates key t / 4 of the tile, dims c * 32 + (t % 4) * 8 + [0, 8). */
template <typename T, int DC>
__global__ void __launch_bounds__(kThreads, kMinBlocksDkdv) evo_attn_bwd_dkdv_kernel(const evo_dev dv) {
    const evo_attn_params &p = dv.p;
    const int D = (int)p.D;
    float *q_s = reinterpret_cast<float *>(evo_smem);
    float *do_s = q_s + kTile * D;
    float *kt_s = do_s + kTile * D;
    float *vt_s = kt_s + D * kTStride;
    float *p_s = vt_s + D * kTStride;
    float *ds_s = p_s + kTile * kTStride;
    float *lse_s = ds_s + kTile * kTStride;
    float *mul_s = lse_s + kTile;
    float *delta_s = mul_s + kTile;
    const int lane = threadIdx.x & 31;
    const int row0 = (threadIdx.x >> 5) * kRowsPerWarp;
    const int my_key = threadIdx.x >> 2;
    const int my_dim0 = (threadIdx.x & 3) * 8;

    int64_t jt, h, n, b;
    decode_tile_block(dv.n_tiles, dv.p, &jt, &h, &n, &b);
    const int64_t j0 = jt * kTile;
    load_tile<T>(slice<T>(p.k, p.k_strides, b, n, h), p.k_strides.s, j0, p.S, D, dv.vec_k, NULL, kt_s);
    load_tile<T>(slice<T>(p.v, p.v_strides, b, n, h), p.v_strides.s, j0, p.S, D, dv.vec_v, NULL, vt_s);
    const T *q = slice<T>(p.q, p.q_strides, b, n, h);
    const T *dout = slice<T>(p.dout, p.dout_strides, b, n, h);

    float dk_acc[DC][8], dv_acc[DC][8];
#pragma unroll
    for (int c = 0; c < DC; c++)
#pragma unroll
        for (int e = 0; e < 8; e++) dk_acc[c][e] = dv_acc[c][e] = 0.0f;
    float ds_colsum = 0.0f;

    for (int64_t it = 0; it < dv.n_tiles; it++) {
        const int64_t i0 = it * kTile;
        __syncthreads(); /* everyone is done with the previous query tile */
        load_tile<T>(q, p.q_strides.s, i0, p.S, D, dv.vec_q, q_s, NULL);
        load_tile<T>(dout, p.dout_strides.s, i0, p.S, D, dv.vec_dout, do_s, NULL);
        load_row_stats(dv, b, n, h, i0, lse_s, mul_s, delta_s);
        __syncthreads();

        float pr[kRowsPerWarp], ds[kRowsPerWarp];
        tile_p_ds<T>(p, q_s, do_s, kt_s, vt_s, lse_s, mul_s, delta_s, b, n, h, i0, j0, row0, lane, pr, ds);
#pragma unroll
        for (int r = 0; r < kRowsPerWarp; r++) {
            p_s[(row0 + r) * kTStride + lane] = pr[r];
            ds_s[(row0 + r) * kTStride + lane] = ds[r];
        }
        __syncthreads();

        const int rows = (int)(p.S - i0 < kTile ? p.S - i0 : kTile);
#pragma unroll 1
        for (int r = 0; r < rows; r++) {
            const float pv = p_s[r * kTStride + my_key];
            const float dsv = ds_s[r * kTStride + my_key];
            ds_colsum += dsv;
#pragma unroll
            for (int c = 0; c < DC; c++) {
                const int d0 = c * 32 + my_dim0;
                if (d0 < D) {
                    axpy8(dv_acc[c], pv, do_s + r * D + d0);
                    axpy8(dk_acc[c], dsv, q_s + r * D + d0);
                }
            }
        }
    }

    const int64_t j = j0 + my_key;
    if (j >= p.S) return;
    T *dk = slice_mut<T>(p.dk, p.dk_strides, b, n, h) + j * p.dk_strides.s;
    T *dvp = slice_mut<T>(p.dv, p.dv_strides, b, n, h) + j * p.dv_strides.s;
#pragma unroll
    for (int c = 0; c < DC; c++) {
        const int d0 = c * 32 + my_dim0;
        if (d0 < D) {
#pragma unroll
            for (int e = 0; e < 8; e++) dk_acc[c][e] *= p.scale;
            store8(dk + d0, dv.vec_dk, dk_acc[c]);
            store8(dvp + d0, dv.vec_dv, dv_acc[c]);
        }
    }
    if (dv.mask_partial != NULL && my_dim0 == 0) dv.mask_partial[((b * p.N + n) * p.H + h) * p.S + j] = ds_colsum;
}

/* Shared memory: q, dout, k [kTile][D]; kt, vt [D][kTStride]; dS [kTile][kTStride]; lse, mul, delta
 * [kTile]. Thread t accumulates query t / 4 of the tile, dims c * 32 + (t % 4) * 8 + [0, 8). */
template <typename T, int DC>
__global__ void __launch_bounds__(kThreads, kMinBlocks) evo_attn_bwd_dq_kernel(const evo_dev dv) {
    const evo_attn_params &p = dv.p;
    const int D = (int)p.D;
    float *q_s = reinterpret_cast<float *>(evo_smem);
    float *do_s = q_s + kTile * D;
    float *k_s = do_s + kTile * D;
    float *kt_s = k_s + kTile * D;
    float *vt_s = kt_s + D * kTStride;
    float *ds_s = vt_s + D * kTStride;
    float *lse_s = ds_s + kTile * kTStride;
    float *mul_s = lse_s + kTile;
    float *delta_s = mul_s + kTile;
    const int lane = threadIdx.x & 31;
    const int row0 = (threadIdx.x >> 5) * kRowsPerWarp;
    const int my_query = threadIdx.x >> 2;
    const int my_dim0 = (threadIdx.x & 3) * 8;

    int64_t it, h, n, b;
    decode_tile_block(dv.n_tiles, dv.p, &it, &h, &n, &b);
    const int64_t i0 = it * kTile;
    load_tile<T>(slice<T>(p.q, p.q_strides, b, n, h), p.q_strides.s, i0, p.S, D, dv.vec_q, q_s, NULL);
    load_tile<T>(slice<T>(p.dout, p.dout_strides, b, n, h), p.dout_strides.s, i0, p.S, D, dv.vec_dout, do_s, NULL);
    load_row_stats(dv, b, n, h, i0, lse_s, mul_s, delta_s);
    const T *k = slice<T>(p.k, p.k_strides, b, n, h);
    const T *v = slice<T>(p.v, p.v_strides, b, n, h);

    float dq_acc[DC][8];
#pragma unroll
    for (int c = 0; c < DC; c++)
#pragma unroll
        for (int e = 0; e < 8; e++) dq_acc[c][e] = 0.0f;

    for (int64_t jt = 0; jt < dv.n_tiles; jt++) {
        const int64_t j0 = jt * kTile;
        __syncthreads(); /* everyone is done with the previous key tile */
        load_tile<T>(k, p.k_strides.s, j0, p.S, D, dv.vec_k, k_s, kt_s);
        load_tile<T>(v, p.v_strides.s, j0, p.S, D, dv.vec_v, NULL, vt_s);
        __syncthreads();

        float pr[kRowsPerWarp], ds[kRowsPerWarp];
        tile_p_ds<T>(p, q_s, do_s, kt_s, vt_s, lse_s, mul_s, delta_s, b, n, h, i0, j0, row0, lane, pr, ds);
#pragma unroll
        for (int r = 0; r < kRowsPerWarp; r++) ds_s[(row0 + r) * kTStride + lane] = ds[r];
        __syncthreads();

        const int keys = (int)(p.S - j0 < kTile ? p.S - j0 : kTile);
#pragma unroll 2
        for (int jj = 0; jj < keys; jj++) {
            const float dsv = ds_s[my_query * kTStride + jj];
#pragma unroll
            for (int c = 0; c < DC; c++) {
                const int d0 = c * 32 + my_dim0;
                if (d0 < D) axpy8(dq_acc[c], dsv, k_s + jj * D + d0);
            }
        }
    }

    const int64_t i = i0 + my_query;
    if (i >= p.S) return;
    T *dq = slice_mut<T>(p.dq, p.dq_strides, b, n, h) + i * p.dq_strides.s;
#pragma unroll
    for (int c = 0; c < DC; c++) {
        const int d0 = c * 32 + my_dim0;
        if (d0 < D) {
#pragma unroll
            for (int e = 0; e < 8; e++) dq_acc[c][e] *= p.scale;
            store8(dq + d0, dv.vec_dq, dq_acc[c]);
        }
    }
}

/* dbias_pair[ob, 0, oh, oi, oj] = sum of dS over n and over every dim where the gradient has size 1.
 * Block = one output tile (or, along a broadcast query/key dim, all tiles of it). Shared memory: q,
 * dout [kTile][D]; kt, vt [D][kTStride]; red [kTile][kTStride]; lse, mul, delta [kTile]. */
template <typename T>
__global__ void __launch_bounds__(kThreads, kMinBlocks) evo_attn_bwd_dpair_kernel(const evo_dev dv) {
    const evo_attn_params &p = dv.p;
    const int D = (int)p.D;
    float *q_s = reinterpret_cast<float *>(evo_smem);
    float *do_s = q_s + kTile * D;
    float *kt_s = do_s + kTile * D;
    float *vt_s = kt_s + D * kTStride;
    float *red_s = vt_s + D * kTStride;
    float *lse_s = red_s + kTile * kTStride;
    float *mul_s = lse_s + kTile;
    float *delta_s = mul_s + kTile;
    const int lane = threadIdx.x & 31;
    const int row0 = (threadIdx.x >> 5) * kRowsPerWarp;

    const bool sum_b = p.dpair_shape_b == 1, sum_h = p.dpair_shape_h == 1;
    const bool sum_i = p.dpair_shape_i == 1, sum_j = p.dpair_shape_j == 1;
    const int64_t out_i_tiles = sum_i ? 1 : dv.n_tiles, out_j_tiles = sum_j ? 1 : dv.n_tiles;
    int64_t bid = blockIdx.x;
    const int64_t ojt = bid % out_j_tiles;
    bid /= out_j_tiles;
    const int64_t oit = bid % out_i_tiles;
    bid /= out_i_tiles;
    const int64_t oh = bid % p.dpair_shape_h;
    const int64_t ob = bid / p.dpair_shape_h;

    const int64_t b_lo = sum_b ? 0 : ob, b_hi = sum_b ? p.B : ob + 1;
    const int64_t h_lo = sum_h ? 0 : oh, h_hi = sum_h ? p.H : oh + 1;
    const int64_t it_lo = sum_i ? 0 : oit, it_hi = sum_i ? dv.n_tiles : oit + 1;
    const int64_t jt_lo = sum_j ? 0 : ojt, jt_hi = sum_j ? dv.n_tiles : ojt + 1;

    /* acc[r]: this thread's element (row0 + r, lane) of the tile, summed over the loops below. */
    float acc[kRowsPerWarp];
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; r++) acc[r] = 0.0f;

    /* One flat loop over (b, h, n, query tile, key tile), key tile fastest, so the order is fixed
     * and the q / dout tile is reloaded only when the query tile changes. */
    const int64_t steps = (b_hi - b_lo) * (h_hi - h_lo) * p.N * (it_hi - it_lo) * (jt_hi - jt_lo);
    int64_t b = b_lo, h = h_lo, n = 0, it = it_lo, jt = jt_lo;
    for (int64_t step = 0; step < steps; step++) {
        const int64_t i0 = it * kTile, j0 = jt * kTile;
        __syncthreads(); /* everyone is done with the previous tiles */
        if (jt == jt_lo) {
            load_tile<T>(slice<T>(p.q, p.q_strides, b, n, h), p.q_strides.s, i0, p.S, D, dv.vec_q, q_s, NULL);
            load_tile<T>(slice<T>(p.dout, p.dout_strides, b, n, h), p.dout_strides.s, i0, p.S, D, dv.vec_dout, do_s,
                         NULL);
            load_row_stats(dv, b, n, h, i0, lse_s, mul_s, delta_s);
        }
        load_tile<T>(slice<T>(p.k, p.k_strides, b, n, h), p.k_strides.s, j0, p.S, D, dv.vec_k, NULL, kt_s);
        load_tile<T>(slice<T>(p.v, p.v_strides, b, n, h), p.v_strides.s, j0, p.S, D, dv.vec_v, NULL, vt_s);
        __syncthreads();
        float pr[kRowsPerWarp], ds[kRowsPerWarp];
        tile_p_ds<T>(p, q_s, do_s, kt_s, vt_s, lse_s, mul_s, delta_s, b, n, h, i0, j0, row0, lane, pr, ds);
#pragma unroll
        for (int r = 0; r < kRowsPerWarp; r++) acc[r] += ds[r];

        if (++jt == jt_hi) {
            jt = jt_lo;
            if (++it == it_hi) {
                it = it_lo;
                if (++n == p.N) {
                    n = 0;
                    if (++h == h_hi) {
                        h = h_lo;
                        b++;
                    }
                }
            }
        }
    }

    const bool f32 = p.bias_pair_dtype == AX_F32;
    const int64_t out_base = ob * p.dpair_stride_b + oh * p.dpair_stride_h;
    if (!sum_i && !sum_j) {
#pragma unroll
        for (int r = 0; r < kRowsPerWarp; r++) {
            const int64_t i = oit * kTile + row0 + r, j = ojt * kTile + lane;
            if (i < p.S && j < p.S)
                store_t_or_f32<T>(p.dbias_pair, f32, out_base + i * p.dpair_stride_i + j * p.dpair_stride_j, acc[r]);
        }
        return;
    }
    /* Out-of-range rows and keys hold exact zeros, so summing the whole tile is right. */
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; r++) red_s[(row0 + r) * kTStride + lane] = acc[r];
    __syncthreads();
    const int t = threadIdx.x;
    if (sum_i && !sum_j) {
        const int64_t j = ojt * kTile + t;
        if (t < kTile && j < p.S) {
            float sum = 0.0f;
            for (int r = 0; r < kTile; r++) sum += red_s[r * kTStride + t];
            store_t_or_f32<T>(p.dbias_pair, f32, out_base + j * p.dpair_stride_j, sum);
        }
    } else if (!sum_i && sum_j) {
        const int64_t i = oit * kTile + t;
        if (t < kTile && i < p.S) {
            float sum = 0.0f;
            for (int c = 0; c < kTile; c++) sum += red_s[t * kTStride + c];
            store_t_or_f32<T>(p.dbias_pair, f32, out_base + i * p.dpair_stride_i, sum);
        }
    } else if (t == 0) {
        float sum = 0.0f;
        for (int r = 0; r < kTile; r++)
            for (int c = 0; c < kTile; c++) sum += red_s[r * kTStride + c];
        store_t_or_f32<T>(p.dbias_pair, f32, out_base, sum);
    }
}

/* dbias_mask[ob, on, 0, 0, oj] = sum of the dkdv partials over h and over every dim where the
 * gradient has size 1. Lane = output (32 consecutive outputs per block); warp w sums the w-th eighth
 * of that output's terms in order, then warp 0 adds the eight eighths in order. */
template <typename T>
__global__ void __launch_bounds__(kMaskThreads) evo_attn_bwd_dmask_kernel(const evo_dev dv) {
    __shared__ float part_s[kMaskThreads / 32][32];
    const evo_attn_params &p = dv.p;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int64_t Bm = p.dmask_shape_b, Nm = p.dmask_shape_n, Jm = p.dmask_shape_j;
    const int64_t o = (int64_t)blockIdx.x * 32 + lane;
    const bool valid = o < Bm * Nm * Jm;
    const int64_t oj = valid ? o % Jm : 0;
    const int64_t on = valid ? (o / Jm) % Nm : 0;
    const int64_t ob = valid ? o / (Jm * Nm) : 0;
    float sum = 0.0f;
    if (valid) {
        /* Terms in order (b, n, h, j), j fastest; dims not summed have count 1. */
        const int64_t nb = Bm == 1 ? p.B : 1, nn = Nm == 1 ? p.N : 1, nj = Jm == 1 ? p.S : 1;
        const int64_t terms = nb * nn * p.H * nj;
        const int64_t per_warp = (terms + kMaskThreads / 32 - 1) / (kMaskThreads / 32);
        const int64_t lo = warp * per_warp;
        const int64_t hi = lo + per_warp < terms ? lo + per_warp : terms;
        if (lo < hi) {
            int64_t ji = lo % nj, rest = lo / nj;
            int64_t hh = rest % p.H;
            rest /= p.H;
            int64_t ni = rest % nn, bi = rest / nn;
            for (int64_t t = lo; t < hi; t++) {
                const int64_t b = Bm == 1 ? bi : ob, n = Nm == 1 ? ni : on, j = Jm == 1 ? ji : oj;
                sum += dv.mask_partial[((b * p.N + n) * p.H + hh) * p.S + j];
                if (++ji == nj) {
                    ji = 0;
                    if (++hh == p.H) {
                        hh = 0;
                        if (++ni == nn) {
                            ni = 0;
                            bi++;
                        }
                    }
                }
            }
        }
    }
    part_s[warp][lane] = sum;
    __syncthreads();
    if (warp == 0 && valid) {
        float total = part_s[0][lane];
        for (int w = 1; w < kMaskThreads / 32; w++) total += part_s[w][lane];
        store_t_or_f32<T>(p.dbias_mask, p.dbias_mask_dtype == AX_F32,
                      ob * p.dmask_stride_b + on * p.dmask_stride_n + oj * p.dmask_stride_j, total);
    }
}

/* ---- huge masks (evoformer_params.h) --------------------------------------------------------- */

/* Row (bm, nm) of bias_mask, as the caller gave it (p.bias_mask not yet swapped): its largest value
 * over the keys (0 unless finite and non-zero; NaN is passed over, as on the CPU) into
 * mask_shift[row], and the row less that value, fp32, into mask_copy[row * S ..]. A mask broadcast
 * over keys is copied out to all S. Rows are (bm, nm) over the mask's own b and n extents. */
template <typename T>
__global__ void __launch_bounds__(kShiftThreads) evo_attn_mask_shift_kernel(const evo_dev dv) {
    __shared__ float red_s[kShiftThreads / 32];
    const evo_attn_params &p = dv.p;
    const int64_t rows_n = p.mask_stride_n == 0 ? 1 : p.N;
    const int64_t row = blockIdx.x, bm = row / rows_n, nm = row % rows_n;
    const int64_t base = bm * p.mask_stride_b + nm * p.mask_stride_n;
    const bool f32 = p.bias_mask_dtype == AX_F32;
    float mx = -INFINITY;
    for (int64_t j = threadIdx.x; j < p.S; j += kShiftThreads)
        mx = fmaxf(mx, load_t_or_f32<T>(p.bias_mask, f32, base + j * p.mask_stride_j));
    const float m = block_max<kShiftThreads>(mx, red_s);
    const float shift = isfinite(m) && m != 0.0f ? m : 0.0f;
    if (threadIdx.x == 0) dv.mask_shift[row] = shift;
    for (int64_t j = threadIdx.x; j < p.S; j += kShiftThreads)
        dv.mask_copy[row * p.S + j] = load_t_or_f32<T>(p.bias_mask, f32, base + j * p.mask_stride_j) - shift;
}

/* The backward's reference of each query row (b, n, h, i) into row_sub / row_mul, (B, N, H, S)
 * contiguous: p = exp(logit - row_sub) * row_mul. An lse small enough to be exact gives (lse less
 * the mask shift, 1); a huge one (a padded row's -1e9 + log S, rounded to -1e9) is not trusted: the
 * block recomputes its rows' maximum m and sum l exactly as the forward kernel does and gives
 * (m, 1 / l). Blocks without such a row only copy. Here p.lse is the caller's and p.bias_mask the
 * shifted copy. Shared memory: q [kTile][D], kt [D][kTStride]. */
template <typename T>
__global__ void __launch_bounds__(kThreads, kMinBlocks) evo_attn_bwd_rowref_kernel(const evo_dev dv) {
    const evo_attn_params &p = dv.p;
    const int D = (int)p.D;
    float *q_s = reinterpret_cast<float *>(evo_smem);
    float *kt_s = q_s + kTile * D;
    int64_t it, h, n, b;
    decode_tile_block(dv.n_tiles, dv.p, &it, &h, &n, &b);
    const int64_t i0 = it * kTile;
    const int64_t out0 = ((b * p.N + n) * p.H + h) * p.S;
    const float shift = lse_shift_at(p, b, n);
    /* 1 when the row's lse is not exact and its statistics must be recomputed */
    auto untrusted = [&](int64_t i) { return !EVO_LSE_TRUSTED(p.lse[lse_offset(p, b, n, h, i)], shift); };
    bool mine = false;
    if (threadIdx.x < kTile && i0 + threadIdx.x < p.S) {
        const int64_t i = i0 + threadIdx.x;
        const float lse = p.lse[lse_offset(p, b, n, h, i)];
        mine = !EVO_LSE_TRUSTED(lse, shift);
        if (!mine) {
            dv.row_sub[out0 + i] = lse == -INFINITY ? -INFINITY : lse - shift;
            dv.row_mul[out0 + i] = 1.0f;
        }
    }
    if (!__syncthreads_or(mine)) return;

    const int lane = threadIdx.x & 31;
    const int row0 = (threadIdx.x >> 5) * kRowsPerWarp;
    load_tile<T>(slice<T>(p.q, p.q_strides, b, n, h), p.q_strides.s, i0, p.S, D, dv.vec_q, q_s, NULL);
    const T *k = slice<T>(p.k, p.k_strides, b, n, h);
    float m[kRowsPerWarp], l[kRowsPerWarp];
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; r++) {
        m[r] = -INFINITY;
        l[r] = 0.0f;
    }
    for (int64_t jt = 0; jt < dv.n_tiles; jt++) {
        const int64_t j0 = jt * kTile;
        __syncthreads(); /* everyone is done with the previous key tile */
        load_tile<T>(k, p.k_strides.s, j0, p.S, D, dv.vec_k, NULL, kt_s);
        __syncthreads();
        float sdot[kRowsPerWarp], unused[kRowsPerWarp];
        tile_dots<false>(q_s, NULL, kt_s, NULL, D, row0, lane, sdot, unused);
        const int64_t j = j0 + lane;
#pragma unroll
        for (int r = 0; r < kRowsPerWarp; r++) {
            const int64_t i = i0 + row0 + r;
            const float logit = (i < p.S && j < p.S) ? p.scale * sdot[r] + bias_at<T>(p, b, n, h, i, j) : -INFINITY;
            float pr;
            online_softmax_step(logit, m[r], l[r], pr);
        }
    }
    if (lane == 0) {
#pragma unroll
        for (int r = 0; r < kRowsPerWarp; r++) {
            const int64_t i = i0 + row0 + r;
            if (i >= p.S || !untrusted(i)) continue;
            /* l NaN (a NaN logit; m may still be -inf): p NaN, not a masked row's 0 */
            dv.row_sub[out0 + i] = l[r] <= 0.0f ? -INFINITY : m[r] == -INFINITY ? 0.0f : m[r];
            dv.row_mul[out0 + i] = l[r] <= 0.0f ? 0.0f : 1.0f / l[r];
        }
    }
}

/* ---- host side ------------------------------------------------------------------------------- */

size_t fwd_smem_bytes(int64_t D) { return sizeof(float) * (size_t)(kTile * D + 2 * D * kTStride + kTile * kTile); }
size_t dkdv_smem_bytes(int64_t D) {
    return sizeof(float) * (size_t)(2 * kTile * D + 2 * D * kTStride + 2 * kTile * kTStride + 3 * kTile);
}
size_t dq_smem_bytes(int64_t D) {
    return sizeof(float) * (size_t)(3 * kTile * D + 2 * D * kTStride + kTile * kTStride + 3 * kTile);
}
size_t dpair_smem_bytes(int64_t D) {
    return sizeof(float) * (size_t)(2 * kTile * D + 2 * D * kTStride + kTile * kTStride + 3 * kTile);
}
size_t rowref_smem_bytes(int64_t D) { return sizeof(float) * (size_t)(kTile * D + D * kTStride); }

evo_dev make_dev(const evo_attn_params *p) {
    evo_dev dv;
    dv.p = *p;
    dv.delta = NULL;
    dv.mask_partial = NULL;
    dv.dpair_chunks = 0;
    dv.dpair_partial = NULL;
    dv.mask_copy = NULL;
    dv.mask_shift = NULL;
    dv.row_sub = NULL;
    dv.row_mul = NULL;
    dv.n_tiles = ceil_div(p->S, kTile);
    dv.vec_q = vec_aligned(p->q, p->q_strides, *p);
    dv.vec_k = vec_aligned(p->k, p->k_strides, *p);
    dv.vec_v = vec_aligned(p->v, p->v_strides, *p);
    dv.vec_dout = p->dout != NULL ? vec_aligned(p->dout, p->dout_strides, *p) : 0;
    dv.vec_dq = p->dq != NULL ? vec_aligned(p->dq, p->dq_strides, *p) : 0;
    dv.vec_dk = p->dk != NULL ? vec_aligned(p->dk, p->dk_strides, *p) : 0;
    dv.vec_dv = p->dv != NULL ? vec_aligned(p->dv, p->dv_strides, *p) : 0;
    return dv;
}

int64_t slab_bytes(int64_t floats) { return ceil_div(floats * (int64_t)sizeof(float), 256) * 256; }

/* (b, n) rows of bias_mask: its own b and n extents (a broadcast dim has stride 0). */
int64_t mask_rows(const evo_attn_params &p) {
    return (p.mask_stride_b == 0 ? 1 : p.B) * (p.mask_stride_n == 0 ? 1 : p.N);
}

/* Scratch for the shifted mask: the (rows, S) copy, then the rows' shifts. */
int64_t mask_scratch_bytes(const evo_attn_params &p) {
    return p.bias_mask == NULL ? 0 : slab_bytes(mask_rows(p) * p.S) + slab_bytes(mask_rows(p));
}

/* Queues the shift kernel on the caller's mask (into `scratch`, mask_scratch_bytes long) and points
 * dv's params at the shifted fp32 copy and at the shifts the forward adds back to its lse. */
template <typename T>
ax_status shift_mask(evo_dev &dv, char *scratch, cudaStream_t stream) {
    evo_attn_params &p = dv.p;
    if (p.bias_mask == NULL) return AX_OK;
    const int64_t rows = mask_rows(p);
    const bool bcast_b = p.mask_stride_b == 0, bcast_n = p.mask_stride_n == 0;
    const int64_t rows_n = bcast_n ? 1 : p.N;
    dv.mask_copy = reinterpret_cast<float *>(scratch);
    dv.mask_shift = reinterpret_cast<float *>(scratch + slab_bytes(rows * p.S));
    AX_CHECK(ax_cuda_launch(evo_attn_mask_shift_kernel<T>, "evo_attn_mask_shift_kernel", rows, kShiftThreads, 0,
                            stream, dv));
    p.bias_mask = dv.mask_copy;
    p.bias_mask_dtype = AX_F32;
    p.mask_stride_b = bcast_b ? 0 : rows_n * p.S;
    p.mask_stride_n = bcast_n ? 0 : p.S;
    p.mask_stride_j = 1;
    p.lse_shift = dv.mask_shift;
    p.lse_shift_stride_b = bcast_b ? 0 : rows_n;
    p.lse_shift_stride_n = bcast_n ? 0 : 1;
    return AX_OK;
}

template <typename T>
ax_status forward_typed(const ax_cuda_device_props &dev, evo_dev dv, char *mask_scratch, cudaStream_t stream) {
    AX_CHECK(shift_mask<T>(dv, mask_scratch, stream));
    const evo_attn_params &p = dv.p;
    if (evo_mma_usable(dev, p, false)) return evo_mma_forward(p, stream);
    const int64_t blocks = dv.n_tiles * p.H * p.N * p.B;
    const size_t smem = fwd_smem_bytes(p.D);
    const char *name = "evo_attn_fwd_kernel";
    switch ((p.D + 31) / 32) {
    case 1: return ax_cuda_launch(evo_attn_fwd_kernel<T, 1>, name, blocks, kThreads, smem, stream, dv);
    case 2: return ax_cuda_launch(evo_attn_fwd_kernel<T, 2>, name, blocks, kThreads, smem, stream, dv);
    case 3: return ax_cuda_launch(evo_attn_fwd_kernel<T, 3>, name, blocks, kThreads, smem, stream, dv);
    case 4: return ax_cuda_launch(evo_attn_fwd_kernel<T, 4>, name, blocks, kThreads, smem, stream, dv);
    default: return ax_set_error(AX_ERR_INTERNAL, "evo_attn_fwd_kernel: D = %lld reached the launcher", (long long)p.D);
    }
}

template <typename T>
ax_status launch_dkdv(const evo_dev &dv, cudaStream_t stream) {
    const evo_attn_params &p = dv.p;
    const int64_t blocks = dv.n_tiles * p.H * p.N * p.B;
    const size_t smem = dkdv_smem_bytes(p.D);
    const char *name = "evo_attn_bwd_dkdv_kernel";
    switch ((p.D + 31) / 32) {
    case 1: return ax_cuda_launch(evo_attn_bwd_dkdv_kernel<T, 1>, name, blocks, kThreads, smem, stream, dv);
    case 2: return ax_cuda_launch(evo_attn_bwd_dkdv_kernel<T, 2>, name, blocks, kThreads, smem, stream, dv);
    case 3: return ax_cuda_launch(evo_attn_bwd_dkdv_kernel<T, 3>, name, blocks, kThreads, smem, stream, dv);
    case 4: return ax_cuda_launch(evo_attn_bwd_dkdv_kernel<T, 4>, name, blocks, kThreads, smem, stream, dv);
    default: return ax_set_error(AX_ERR_INTERNAL, "%s: D = %lld reached the launcher", name, (long long)p.D);
    }
}

template <typename T>
ax_status launch_dq(const evo_dev &dv, cudaStream_t stream) {
    const evo_attn_params &p = dv.p;
    const int64_t blocks = dv.n_tiles * p.H * p.N * p.B;
    const size_t smem = dq_smem_bytes(p.D);
    const char *name = "evo_attn_bwd_dq_kernel";
    switch ((p.D + 31) / 32) {
    case 1: return ax_cuda_launch(evo_attn_bwd_dq_kernel<T, 1>, name, blocks, kThreads, smem, stream, dv);
    case 2: return ax_cuda_launch(evo_attn_bwd_dq_kernel<T, 2>, name, blocks, kThreads, smem, stream, dv);
    case 3: return ax_cuda_launch(evo_attn_bwd_dq_kernel<T, 3>, name, blocks, kThreads, smem, stream, dv);
    case 4: return ax_cuda_launch(evo_attn_bwd_dq_kernel<T, 4>, name, blocks, kThreads, smem, stream, dv);
    default: return ax_set_error(AX_ERR_INTERNAL, "%s: D = %lld reached the launcher", name, (long long)p.D);
    }
}

int64_t dpair_blocks(const evo_attn_params &p, int64_t n_tiles) {
    return (p.dpair_shape_i == 1 ? 1 : n_tiles) * (p.dpair_shape_j == 1 ? 1 : n_tiles) * p.dpair_shape_b *
           p.dpair_shape_h;
}

template <typename T>
ax_status backward_typed(const ax_cuda_device_props &dev, evo_dev dv, char *mask_scratch, cudaStream_t stream) {
    AX_CHECK(shift_mask<T>(dv, mask_scratch, stream));
    /* Each row's reference from the caller's lse; every later kernel reads it in the lse's place. */
    AX_CHECK(ax_cuda_launch(evo_attn_bwd_rowref_kernel<T>, "evo_attn_bwd_rowref_kernel",
                            dv.n_tiles * dv.p.H * dv.p.N * dv.p.B, kThreads, rowref_smem_bytes(dv.p.D), stream, dv));
    dv.p.lse = dv.row_sub;
    dv.p.lse_stride_s = 1;
    dv.p.lse_stride_h = dv.p.S;
    dv.p.lse_stride_n = dv.p.H * dv.p.S;
    dv.p.lse_stride_b = dv.p.N * dv.p.H * dv.p.S;
    dv.p.row_mul = dv.row_mul;
    const evo_attn_params &p = dv.p;
    const int64_t rows = p.B * p.N * p.H * p.S;
    if (evo_mma_usable(dev, p, true)) {
        AX_CHECK(evo_mma_delta(p, dv.delta, stream));
        AX_CHECK(evo_mma_dkdv(p, dv.delta, dv.mask_partial, stream));
        AX_CHECK(evo_mma_dq(p, dv.delta, stream));
    } else {
        AX_CHECK(ax_cuda_launch(evo_attn_bwd_delta_kernel<T>, "evo_attn_bwd_delta_kernel",
                                ceil_div(rows, kDeltaThreads / 32), kDeltaThreads, 0, stream, dv));
        AX_CHECK(launch_dkdv<T>(dv, stream));
        AX_CHECK(launch_dq<T>(dv, stream));
    }
    if (p.dbias_pair != NULL && dv.dpair_chunks > 0)
        AX_CHECK(evo_mma_dpair(p, dv.delta, dv.dpair_chunks, dv.dpair_partial, stream));
    else if (p.dbias_pair != NULL)
        AX_CHECK(ax_cuda_launch(evo_attn_bwd_dpair_kernel<T>, "evo_attn_bwd_dpair_kernel",
                                dpair_blocks(p, dv.n_tiles), kThreads, dpair_smem_bytes(p.D), stream, dv));
    if (p.dbias_mask != NULL)
        AX_CHECK(ax_cuda_launch(evo_attn_bwd_dmask_kernel<T>, "evo_attn_bwd_dmask_kernel",
                                ceil_div(p.dmask_shape_b * p.dmask_shape_n * p.dmask_shape_j, 32), kMaskThreads, 0,
                                stream, dv));
    return AX_OK;
}

ax_status check_last_dim(const evo_bnshd_strides &s, const char *name) {
    if (s.d != 1)
        return ax_set_error(AX_ERR_UNSUPPORTED,
                            "%s: the D dimension has stride %lld; the CUDA backend needs it contiguous (stride 1)",
                            name, (long long)s.d);
    return AX_OK;
}

ax_status check_grid(int64_t blocks, const char *kernel) {
    if (blocks > INT32_MAX)
        return ax_set_error(AX_ERR_UNSUPPORTED, "%s: %lld thread blocks needed, more than one CUDA grid holds (%d)",
                            kernel, (long long)blocks, INT32_MAX);
    return AX_OK;
}

/* AX_ERR_UNSUPPORTED when a SIMT kernel that will run needs more shared memory than the device
 * gives a block (64 KiB on sm_75: the dQ kernel from D = 96), so that the call is refused before
 * any kernel writes an output rather than failing half way through the backward. */
ax_status simt_smem_fits(const ax_cuda_device_props &dev, int64_t D, size_t bytes, const char *kernel) {
    if ((int64_t)bytes <= dev.smem_optin_per_block) return AX_OK;
    return ax_set_error(AX_ERR_UNSUPPORTED,
                        "D: %lld needs %zu bytes of shared memory per block in %s, more than this device's %lld "
                        "(the tensor-core kernels, for bf16 and f16 on sm_80 or newer, need less)",
                        (long long)D, bytes, kernel, (long long)dev.smem_optin_per_block);
}

ax_status simt_smem_supports(const ax_cuda_device_props &dev, const evo_attn_params &p, int backward) {
    if (!backward)
        return evo_mma_usable(dev, p, false) ? AX_OK
                                             : simt_smem_fits(dev, p.D, fwd_smem_bytes(p.D), "evo_attn_fwd_kernel");
    AX_CHECK(simt_smem_fits(dev, p.D, rowref_smem_bytes(p.D), "evo_attn_bwd_rowref_kernel"));
    if (!evo_mma_usable(dev, p, true)) {
        AX_CHECK(simt_smem_fits(dev, p.D, dkdv_smem_bytes(p.D), "evo_attn_bwd_dkdv_kernel"));
        AX_CHECK(simt_smem_fits(dev, p.D, dq_smem_bytes(p.D), "evo_attn_bwd_dq_kernel"));
    }
    if (p.dbias_pair != NULL && !evo_mma_dpair_usable(dev, p))
        AX_CHECK(simt_smem_fits(dev, p.D, dpair_smem_bytes(p.D), "evo_attn_bwd_dpair_kernel"));
    return AX_OK;
}

/* AX_OK when this backend can run the params (forward, or backward when `backward`) on the device
 * `dev` describes (NULL: only the device-independent rules), else AX_ERR_UNSUPPORTED with the reason. */
ax_status cuda_supports(const ax_cuda_device_props *dev, const evo_attn_params *p, int backward) {
    if (p->D % 8 != 0)
        return ax_set_error(AX_ERR_UNSUPPORTED,
                            "D: %lld is not a multiple of 8 (CUDA backend needs D %% 8 == 0 and D <= %d)",
                            (long long)p->D, kMaxD);
    if (p->D > kMaxD)
        return ax_set_error(AX_ERR_UNSUPPORTED, "D: %lld is larger than %d (CUDA backend needs D %% 8 == 0 and D <= %d)",
                            (long long)p->D, kMaxD, kMaxD);
    if (p->dtype != AX_F32 && p->dtype != AX_BF16 && p->dtype != AX_F16)
        return ax_set_error(AX_ERR_UNSUPPORTED, "q: dtype %s; the CUDA backend handles f32, bf16 and f16",
                            ax_dtype_name(p->dtype));
    if (p->bias_mask != NULL && p->bias_mask_dtype != p->dtype && p->bias_mask_dtype != AX_F32)
        return ax_set_error(AX_ERR_UNSUPPORTED, "bias_mask: dtype %s; the CUDA backend needs %s or f32",
                            ax_dtype_name(p->bias_mask_dtype), ax_dtype_name(p->dtype));
    if (p->bias_pair != NULL && p->bias_pair_dtype != p->dtype && p->bias_pair_dtype != AX_F32)
        return ax_set_error(AX_ERR_UNSUPPORTED, "bias_pair: dtype %s; the CUDA backend needs %s or f32",
                            ax_dtype_name(p->bias_pair_dtype), ax_dtype_name(p->dtype));
    AX_CHECK(check_last_dim(p->q_strides, "q"));
    AX_CHECK(check_last_dim(p->k_strides, "k"));
    AX_CHECK(check_last_dim(p->v_strides, "v"));
    AX_CHECK(check_last_dim(p->out_strides, "out"));
    const int64_t n_tiles = ceil_div(p->S, kTile);
    AX_CHECK(check_grid(n_tiles * p->H * p->N * p->B, "evo_attn_fwd_kernel"));
    if (backward) {
        AX_CHECK(check_last_dim(p->dout_strides, "dout"));
        AX_CHECK(check_last_dim(p->dq_strides, "dq"));
        AX_CHECK(check_last_dim(p->dk_strides, "dk"));
        AX_CHECK(check_last_dim(p->dv_strides, "dv"));
        AX_CHECK(check_grid(ceil_div(p->B * p->N * p->H * p->S, kDeltaThreads / 32), "evo_attn_bwd_delta_kernel"));
        if (p->dbias_pair != NULL) AX_CHECK(check_grid(dpair_blocks(*p, n_tiles), "evo_attn_bwd_dpair_kernel"));
        if (p->dbias_mask != NULL)
            AX_CHECK(check_grid(ceil_div(p->dmask_shape_b * p->dmask_shape_n * p->dmask_shape_j, 32),
                                "evo_attn_bwd_dmask_kernel"));
    }
    return dev != NULL ? simt_smem_supports(*dev, *p, backward) : AX_OK;
}

/* The props of the context's device; every CUDA context has them (ax_cuda_context_init). */
ax_status device_props(const ax_context *ctx, const ax_cuda_device_props **out) {
    *out = ax_cuda_props(ctx);
    if (*out == NULL)
        return ax_set_error(AX_ERR_INTERNAL, "evoformer attention: the CUDA context has no device properties");
    return AX_OK;
}

/* 1 when `bytes` of scratch are more than the context's workspace limit allows. */
bool over_limit(const ax_context *ctx, int64_t bytes) {
    return ctx->workspace_limit > 0 && bytes > ctx->workspace_limit;
}

/* The backward's device scratch. The main block (ax_op_run's, `fixed` bytes): delta, the rows'
 * references (row_sub, row_mul), then (when dbias_mask is wanted) the per-(b, n, h, j) sums of dS
 * over queries, then the shifted mask. When the tensor-core dbias_pair splits its (b, n) sum over
 * `chunks` blocks per output tile, their partial sums (pair_bytes) take a second block. */
struct bwd_layout {
    int64_t slab;       /* one (B, N, H, S) fp32 array, rounded up to 256 bytes */
    int64_t mask_slab;  /* slab with dbias_mask, else 0 */
    int64_t fixed;      /* the main block */
    int64_t chunks;     /* evo_dev::dpair_chunks: 0 for the SIMT dbias_pair */
    int64_t pair_bytes; /* chunks > 1: the partial sums; else 0 */
};

bwd_layout backward_layout(const ax_cuda_device_props &dev, const evo_attn_params &p) {
    bwd_layout l;
    l.slab = slab_bytes(p.B * p.N * p.H * p.S);
    l.mask_slab = p.dbias_mask != NULL ? l.slab : 0;
    l.fixed = 3 * l.slab + l.mask_slab + mask_scratch_bytes(p);
    l.chunks = p.dbias_pair != NULL && evo_mma_dpair_usable(dev, p) ? evo_mma_dpair_chunks(dev, p) : 0;
    l.pair_bytes = l.chunks > 1 ? l.chunks * p.dpair_shape_b * p.H * p.S * p.S * (int64_t)sizeof(float) : 0;
    return l;
}

const evo_attn_params *params_of(const void *params) { return static_cast<const evo_attn_params *>(params); }

} /* namespace */

extern "C" ax_status evo_attn_forward_cuda_supports(const ax_context *ctx, const void *params) {
    return cuda_supports(ax_cuda_props(ctx), params_of(params), 0);
}

extern "C" ax_status evo_attn_backward_cuda_supports(const ax_context *ctx, const void *params) {
    /* out, lse and dout: required by the entry's specs */
    return cuda_supports(ax_cuda_props(ctx), params_of(params), 1);
}

/* The forward's scratch: the shifted mask (evoformer_params.h), when there is a mask. */
extern "C" ax_status evo_attn_forward_cuda_workspace(const ax_context *ctx, const void *params, ax_op_workspace *need) {
    (void)ctx;
    need->device_bytes = mask_scratch_bytes(*params_of(params));
    return AX_OK;
}

/* The main block only: the partial sums are optional and taken by the kernel itself, which does
 * without them when they do not fit (evo_attn_backward_cuda). In measure mode, which allocates
 * nothing, the answer is what a run takes when they fit the workspace limit. */
extern "C" ax_status evo_attn_backward_cuda_workspace(const ax_context *ctx, const void *params,
                                                      ax_op_workspace *need) {
    const ax_cuda_device_props *dev = NULL;
    AX_CHECK(device_props(ctx, &dev));
    const bwd_layout l = backward_layout(*dev, *params_of(params));
    const bool with_pair = ctx->measure && l.pair_bytes > 0 && !over_limit(ctx, l.fixed + l.pair_bytes);
    need->device_bytes = l.fixed + (with_pair ? l.pair_bytes : 0);
    return AX_OK;
}

/* ax_op_run has made the context's device current and taken the workspace from its pool. */
extern "C" ax_status evo_attn_forward_cuda(const ax_op_call *call) {
    const evo_attn_params *p = params_of(call->params);
    const ax_cuda_device_props *dev = NULL;
    AX_CHECK(device_props(call->ctx, &dev));
    const int64_t mask_bytes = mask_scratch_bytes(*p);
    if (call->workspace.device_bytes < mask_bytes || (mask_bytes > 0 && call->device_ws == NULL))
        return ax_set_error(AX_ERR_INTERNAL, "evo_attn_forward_cuda: %lld bytes of device workspace, %lld needed",
                            (long long)call->workspace.device_bytes, (long long)mask_bytes);
    const evo_dev dv = make_dev(p);
    char *mask_scratch = static_cast<char *>(call->device_ws);
    cudaStream_t stream = (cudaStream_t)call->ctx->cuda_stream;
    switch (p->dtype) {
    case AX_F32: return forward_typed<float>(*dev, dv, mask_scratch, stream);
    case AX_BF16: return forward_typed<__nv_bfloat16>(*dev, dv, mask_scratch, stream);
    case AX_F16: return forward_typed<__half>(*dev, dv, mask_scratch, stream);
    default: return ax_set_error(AX_ERR_INTERNAL, "evo_attn_forward_cuda: dtype %d", (int)p->dtype);
    }
}

extern "C" ax_status evo_attn_backward_cuda(const ax_op_call *call) {
    ax_context *ctx = call->ctx;
    const evo_attn_params *p = params_of(call->params);
    const ax_cuda_device_props *dev = NULL;
    AX_CHECK(device_props(ctx, &dev));
    const bwd_layout l = backward_layout(*dev, *p);
    if (call->workspace.device_bytes < l.fixed || call->device_ws == NULL)
        return ax_set_error(AX_ERR_INTERNAL, "evo_attn_backward_cuda: %lld bytes of device workspace, %lld needed",
                            (long long)call->workspace.device_bytes, (long long)l.fixed);
    evo_dev dv = make_dev(p);
    dv.dpair_chunks = l.chunks;
    /* The split dbias_pair sum is an optimisation: without room for its partial sums (the workspace
     * limit, or a full device) one block per output tile sums everything itself. The block goes
     * back to the pool on the stream behind the kernels, at every return. */
    ax_cuda_workspace pair(ctx);
    if (l.pair_bytes > 0) {
        ax_error_snapshot before; /* a failed optional allocation must not leave its message behind */
        ax_error_keep(&before);
        if (!over_limit(ctx, l.fixed + l.pair_bytes) && pair.alloc(l.pair_bytes) == AX_OK) {
            AX_CHECK(ax_context_reserve_workspace(ctx, 0, l.fixed + l.pair_bytes));
            dv.dpair_partial = reinterpret_cast<float *>(pair.bytes());
        } else {
            ax_error_restore(&before);
            dv.dpair_chunks = 1;
        }
    }
    char *base = static_cast<char *>(call->device_ws);
    dv.delta = reinterpret_cast<float *>(base);
    dv.row_sub = reinterpret_cast<float *>(base + l.slab);
    dv.row_mul = reinterpret_cast<float *>(base + 2 * l.slab);
    dv.mask_partial = p->dbias_mask != NULL ? reinterpret_cast<float *>(base + 3 * l.slab) : NULL;
    char *mask_scratch = base + 3 * l.slab + l.mask_slab;

    cudaStream_t stream = (cudaStream_t)ctx->cuda_stream;
    switch (p->dtype) {
    case AX_F32: return backward_typed<float>(*dev, dv, mask_scratch, stream);
    case AX_BF16: return backward_typed<__nv_bfloat16>(*dev, dv, mask_scratch, stream);
    case AX_F16: return backward_typed<__half>(*dev, dv, mask_scratch, stream);
    default: return ax_set_error(AX_ERR_INTERNAL, "evo_attn_backward_cuda: dtype %d", (int)p->dtype);
    }
}
