/*
 * attention_bwd.cu — the CUDA backward of ax_attention_backward (include/axial/attention.h),
 * FlashAttention-2 style and deterministic: no floating-point atomics; every sum runs in an order
 * fixed by the shapes alone (sequential loops, butterfly shuffles, fixed-order shared-memory folds).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 *
 * With x = the logit (attn_logit: scale, soft-cap, bias; -inf where masked), P = exp(x - lse),
 * dP = dout v^T, delta_i = rowsum(dout * out) and dS = P (dP - delta) (= dL/dbias), the gradient
 * reaching q . k is dS' = dS (1 - tanh^2) with a soft-cap, dS without, and
 *     dq = scale dS' k,  dk = scale dS'^T q,  dv = P^T dout.
 * Kernels, all queued on the context's stream in this order:
 *   delta  one warp per (query token, head): delta into the workspace ([token][H], fp32).
 *   dkdv   grid (key tile, KV head, batch): K / V tile fixed; loops over the group's query heads
 *          and, for each, the query tiles that can see the tile (attn_query_range), in ascending
 *          order; dk, dv in registers (thread: key lane, dims warp + 8 c), written once. GQA sums
 *          over the group here, so no reduction across blocks is needed.
 *   dq     grid (query tile, head, batch): loops over the visible key tiles; dq in registers
 *          (thread: 4 query rows of its warp, dims lane + 32 c).
 *   dbias  grid over 32 x 32 output tiles of dbias (only when wanted): recomputes dS for every
 *          (b, h, query tile, key tile) that lands on the tile, in that nested order: a broadcast b
 *          or h loops over all of them, a broadcast query (key) dim loops over every query (key)
 *          tile of the sequence and folds the tile's rows (columns) in order at the end. Elements
 *          nothing lands on (masked, past a sequence) get 0. No workspace, no second pass.
 *   tail   packed batches: dk = dv = 0 on key rows past cu_seqlens_k[B] (read on the device).
 * SIMT kernels (fp32, D = 256, misaligned rows, pre-sm_80, AXIAL_CUDA_TENSOR_CORES=0): tiles of 32
 * queries x 32 keys in fp32 shared memory, 8 warps of which each owns 4 query rows when computing
 * logits (lane j = key j), so a tile's P and dS are computed once per block.
 * Tensor-core dkdv / dq (bf16 / f16, sm_80+, D <= 128, 16-byte aligned rows): mma.sync m16n8k16
 * with fp32 accumulation, 4 warps, 64-key (dkdv) or 64-query (dq) tiles against 32-row inner tiles
 * double-buffered through cp.async; the accumulator fragments of S^T / dP^T (dkdv) or S / dP (dq)
 * become, element for element, the A fragments of the next products, P and dS' rounded to the
 * 16-bit dtype for them (as FlashAttention does). delta, dbias and tail are shared by both paths.
 * Rows past a sequence's end are zero-filled and masked; dims from D to the bucket kD are zeros.
 * A fully masked row has lse = -inf and gets P = 0 (never NaN), so it contributes nothing.
 */
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>
#include <type_traits>

#include "attention/attention_params.h"
#include "attention/cuda/attn_common.cuh"
#include "attention/cuda/attn_mma.cuh"
#include "core/cuda/device.h"
#include "core/cuda/launch.cuh"
#include "core/cuda/reduce.cuh"
#include "core/internal.h"

extern __shared__ float4 attn_bwd_smem[];

namespace {

constexpr int kThreads = 256;            /* 8 warps */
constexpr int kWarps = kThreads / 32;
constexpr int kRows = kTile / kWarps;    /* query rows per warp in the logit phase */
constexpr int kDeltaThreads = 256;       /* one warp per (token, head) */
constexpr int kTailThreads = 256;

/* ---- shared pieces ----------------------------------------------------------------------------- */

/* P and dS (and the gradient reaching q . k) of one (query row, key) pair from its raw dot
 * products s = q . k and dp = dout . v; keep = the pair is inside the row's key range. */
template <typename T>
__device__ __forceinline__ void pair_grad(const attn_dev &a, int64_t b, int64_t h, int64_t i, int64_t j, bool keep,
                                          float s, float dp, float lse, float delta, float *pv, float *ds,
                                          float *ds_qk) {
    const attn_params &p = a.p;
    *pv = 0.0f, *ds = 0.0f, *ds_qk = 0.0f;
    if (!keep || lse == -INFINITY) return; /* masked, or a row that sees no key */
    float t;
    const float x = attn_logit(p, s, bias_at<T>(a, b, h, i, j), &t);
    if (x == -INFINITY) return; /* a -inf bias */
    *pv = expf(x - lse);
    /* p = 0 (an underflow) gives dS = 0, as on the CPU, even where dp is NaN from an infinite v */
    *ds = *pv == 0.0f ? 0.0f : *pv * (dp - delta);
    *ds_qk = p.softcap > 0.0f ? *ds * (1.0f - t * t) : *ds;
}

/* lse and delta of query rows [i0, i0 + kTile) of (b, h) into shared memory (-inf / 0 past nq). */
__device__ __forceinline__ void load_row_stats(const attn_dev &a, int64_t ab, int64_t h, const attn_seq &seq,
                                               int64_t i0, float *lse_s, float *delta_s) {
    const attn_params &p = a.p;
    if (threadIdx.x < kTile) {
        const int64_t i = i0 + threadIdx.x;
        float l = -INFINITY, dl = 0.0f;
        if (i < seq.nq) {
            l = p.lse[lse_index(p, ab, h, seq.q0 + i)];
            dl = a.delta[attn_token(p, ab, seq.q0 + i) * p.H + h];
        }
        lse_s[threadIdx.x] = l;
        delta_s[threadIdx.x] = dl;
    }
}

/* ---- delta ------------------------------------------------------------------------------------ */

/* delta[token][h] = sum_d dout * out, one warp per (token, head), for every query token of the
 * tensor (tokens outside every sequence give values nobody reads). */
template <typename T>
__global__ void __launch_bounds__(kDeltaThreads) attn_delta_kernel(const attn_dev a) {
    const attn_params &p = a.p;
    const int64_t row = (int64_t)blockIdx.x * (kDeltaThreads / 32) + (threadIdx.x >> 5);
    const int lane = threadIdx.x & 31;
    const int64_t tokens = p.cu_seqlens_q ? p.Sq : p.B * p.Sq;
    if (row >= tokens * p.H) return; /* a whole warp leaves together */
    const int64_t h = row % p.H, token = row / p.H;
    const int64_t ab = p.cu_seqlens_q ? 0 : token / p.Sq, s = p.cu_seqlens_q ? token : token % p.Sq;
    const T *o = act_row<T>(p.out, p.out_strides, ab, s, h);
    const T *g = act_row<T>(p.dout, p.dout_strides, ab, s, h);
    float sum = 0.0f;
    for (int64_t d = lane; d < p.D; d += 32) sum = fmaf(to_f32(o[d]), to_f32(g[d]), sum);
    sum = warp_sum(sum);
    if (lane == 0) a.delta[token * p.H + h] = sum;
}

/* ---- dK, dV ----------------------------------------------------------------------------------- */

/* k_s, v_s [kTile][kD + 1]; q_s, do_s [kTile][kD]; p_s, ds_s [kTile][kTile + 1]; lse_s, delta_s. */
template <int kD>
constexpr size_t dkdv_smem() {
    return sizeof(float) * (2 * (size_t)kTile * (kD + 1) + 2 * (size_t)kTile * kD + 2 * (size_t)kTile * (kTile + 1) +
                            2 * (size_t)kTile);
}

template <typename T, int kD>
__global__ void __launch_bounds__(kThreads) attn_dkdv_kernel(const attn_dev a) {
    constexpr int kKS = kD + 1, kPS = kTile + 1, kDC = kD / kWarps;
    const attn_params &p = a.p;
    const int D = (int)p.D;
    float *k_s = reinterpret_cast<float *>(attn_bwd_smem);
    float *v_s = k_s + kTile * kKS;
    float *q_s = v_s + kTile * kKS;
    float *do_s = q_s + kTile * kD;
    float *p_s = do_s + kTile * kD;
    float *ds_s = p_s + kTile * kPS;
    float *lse_s = ds_s + kTile * kPS;
    float *delta_s = lse_s + kTile;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;

    int64_t bid = blockIdx.x;
    const int64_t jt = bid % a.k_tiles;
    bid /= a.k_tiles;
    const int64_t g = bid % p.Hkv, b = bid / p.Hkv;
    const attn_seq seq = attn_sequence(&p, b);
    const int64_t j0 = jt * kTile;
    if (j0 >= seq.nk) return;
    const int64_t ab = act_b(p, b);
    const int64_t keys = seq.nk - j0 < kTile ? seq.nk - j0 : kTile;
    load_tile_f32<T, kD>(k_s, kKS, act_row<T>(p.k, p.k_strides, ab, seq.k0, g), p.k_strides.s, j0, seq.nk, D,
                         a.vec_k, kThreads);
    load_tile_f32<T, kD>(v_s, kKS, act_row<T>(p.v, p.v_strides, ab, seq.k0, g), p.v_strides.s, j0, seq.nk, D,
                         a.vec_v, kThreads);
    int64_t qlo = 0, qhi = 0;
    if (seq.nq > 0) attn_query_range(p, j0, j0 + keys, seq.nq, seq.nk, &qlo, &qhi);

    /* Thread: key j0 + lane, dims warp + 8 c (the accumulation phase). */
    float dk[kDC], dv[kDC];
#pragma unroll
    for (int c = 0; c < kDC; c++) dk[c] = dv[c] = 0.0f;
    const int64_t j = j0 + lane;

    for (int64_t h = g * p.group; h < (g + 1) * p.group; h++) {
        const T *q = act_row<T>(p.q, p.q_strides, ab, seq.q0, h);
        const T *dout = act_row<T>(p.dout, p.dout_strides, ab, seq.q0, h);
        for (int64_t i0 = qlo; i0 < qhi; i0 += kTile) {
            __syncthreads(); /* the previous tile's q_s, do_s, p_s, ds_s are consumed */
            load_tile_f32<T, kD>(q_s, kD, q, p.q_strides.s, i0, seq.nq, D, a.vec_q, kThreads);
            load_tile_f32<T, kD>(do_s, kD, dout, p.dout_strides.s, i0, seq.nq, D, a.vec_dout, kThreads);
            load_row_stats(a, ab, h, seq, i0, lse_s, delta_s);
            __syncthreads();

            float s[kRows], dp[kRows];
            warp_dots<kD, kRows>(q_s, warp * kRows, k_s, lane, D, s);
            warp_dots<kD, kRows>(do_s, warp * kRows, v_s, lane, D, dp);
#pragma unroll
            for (int r = 0; r < kRows; r++) {
                const int rr = warp * kRows + r;
                const int64_t i = i0 + rr;
                int64_t lo, hi;
                row_key_range(p, i, seq.nq, seq.nk, &lo, &hi);
                float pv, ds, ds_qk;
                pair_grad<T>(a, b, h, i, j, j >= lo && j < hi, s[r], dp[r], lse_s[rr], delta_s[rr], &pv, &ds,
                             &ds_qk);
                p_s[rr * kPS + lane] = pv;
                ds_s[rr * kPS + lane] = ds_qk;
            }
            __syncthreads();

            /* dv[j][d] += sum_i P[i][j] dout[i][d], dk[j][d] += sum_i dS'[i][j] q[i][d]; queries in
             * ascending order. */
            const int qrows = qhi - i0 < kTile ? (int)(qhi - i0) : kTile;
#pragma unroll 2
            for (int rr = 0; rr < qrows; rr++) {
                const float pv = p_s[rr * kPS + lane], ds = ds_s[rr * kPS + lane];
#pragma unroll
                for (int c = 0; c < kDC; c++) {
                    const int d = warp + kWarps * c;
                    dv[c] = fmaf(pv, do_s[rr * kD + d], dv[c]);
                    dk[c] = fmaf(ds, q_s[rr * kD + d], dk[c]);
                }
            }
        }
    }

    if (lane >= keys) return;
    T *dkp = act_row_mut<T>(p.dk, p.dk_strides, ab, seq.k0 + j, g);
    T *dvp = act_row_mut<T>(p.dv, p.dv_strides, ab, seq.k0 + j, g);
#pragma unroll
    for (int c = 0; c < kDC; c++) {
        const int d = warp + kWarps * c;
        if (d < D) {
            dkp[d] = from_f32<T>(dk[c] * p.scale);
            dvp[d] = from_f32<T>(dv[c]);
        }
    }
}

/* ---- dQ --------------------------------------------------------------------------------------- */

/* q_s, do_s [kTile][kD]; k_s, v_s [kTile][kD + 1]; ds_s [kWarps][kRows][kTile]. */
template <int kD>
constexpr size_t dq_smem() {
    return sizeof(float) * (2 * (size_t)kTile * kD + 2 * (size_t)kTile * (kD + 1) + (size_t)kWarps * kRows * kTile);
}

template <typename T, int kD>
__global__ void __launch_bounds__(kThreads) attn_dq_kernel(const attn_dev a) {
    constexpr int kKS = kD + 1, kDC = kD / 32;
    const attn_params &p = a.p;
    const int D = (int)p.D;
    float *q_s = reinterpret_cast<float *>(attn_bwd_smem);
    float *do_s = q_s + kTile * kD;
    float *k_s = do_s + kTile * kD;
    float *v_s = k_s + kTile * kKS;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    float *ds_s = v_s + kTile * kKS + warp * kRows * kTile; /* this warp's [kRows][kTile] */

    int64_t bid = blockIdx.x;
    const int64_t it = bid % a.q_tiles;
    bid /= a.q_tiles;
    const int64_t h = bid % p.H, b = bid / p.H;
    const attn_seq seq = attn_sequence(&p, b);
    const int64_t i0 = it * kTile;
    if (i0 >= seq.nq) return;
    const int64_t g = h / p.group, ab = act_b(p, b);
    const int64_t rows = seq.nq - i0 < kTile ? seq.nq - i0 : kTile;
    int64_t lo, hi, tmp;
    attn_key_range(&p, i0, seq.nq, seq.nk, &lo, &tmp);
    attn_key_range(&p, i0 + rows - 1, seq.nq, seq.nk, &tmp, &hi);

    load_tile_f32<T, kD>(q_s, kD, act_row<T>(p.q, p.q_strides, ab, seq.q0, h), p.q_strides.s, i0, seq.nq, D,
                         a.vec_q, kThreads);
    load_tile_f32<T, kD>(do_s, kD, act_row<T>(p.dout, p.dout_strides, ab, seq.q0, h), p.dout_strides.s, i0, seq.nq,
                         D, a.vec_dout, kThreads);
    const T *k = act_row<T>(p.k, p.k_strides, ab, seq.k0, g);
    const T *v = act_row<T>(p.v, p.v_strides, ab, seq.k0, g);

    int64_t row_lo[kRows], row_hi[kRows];
    float lse[kRows], delta[kRows], dq[kRows][kDC];
#pragma unroll
    for (int r = 0; r < kRows; r++) {
        const int64_t i = i0 + warp * kRows + r;
        row_key_range(p, i, seq.nq, seq.nk, &row_lo[r], &row_hi[r]);
        lse[r] = i < seq.nq ? p.lse[lse_index(p, ab, h, seq.q0 + i)] : -INFINITY;
        delta[r] = i < seq.nq ? a.delta[attn_token(p, ab, seq.q0 + i) * p.H + h] : 0.0f;
#pragma unroll
        for (int c = 0; c < kDC; c++) dq[r][c] = 0.0f;
    }

    for (int64_t j0 = lo < hi ? lo / kTile * kTile : hi; j0 < hi; j0 += kTile) {
        __syncthreads();
        load_tile_f32<T, kD>(k_s, kKS, k, p.k_strides.s, j0, seq.nk, D, a.vec_k, kThreads);
        load_tile_f32<T, kD>(v_s, kKS, v, p.v_strides.s, j0, seq.nk, D, a.vec_v, kThreads);
        __syncthreads();
        float s[kRows], dp[kRows];
        warp_dots<kD, kRows>(q_s, warp * kRows, k_s, lane, D, s);
        warp_dots<kD, kRows>(do_s, warp * kRows, v_s, lane, D, dp);
        const int64_t j = j0 + lane;
#pragma unroll
        for (int r = 0; r < kRows; r++) {
            float pv, ds, ds_qk;
            pair_grad<T>(a, b, h, i0 + warp * kRows + r, j, j >= row_lo[r] && j < row_hi[r], s[r], dp[r], lse[r],
                         delta[r], &pv, &ds, &ds_qk);
            ds_s[r * kTile + lane] = ds_qk;
        }
        __syncwarp();
        /* dq[i][d] += sum_j dS'[i][j] k[j][d], lane owning d = lane + 32 c; keys ascending. */
        const int keys = seq.nk - j0 < kTile ? (int)(seq.nk - j0) : kTile;
#pragma unroll 2
        for (int jj = 0; jj < keys; jj++) {
            float kv[kDC];
#pragma unroll
            for (int c = 0; c < kDC; c++) kv[c] = k_s[jj * kKS + lane + 32 * c];
#pragma unroll
            for (int r = 0; r < kRows; r++) {
                const float ds = ds_s[r * kTile + jj];
#pragma unroll
                for (int c = 0; c < kDC; c++) dq[r][c] = fmaf(ds, kv[c], dq[r][c]);
            }
        }
        __syncwarp();
    }

#pragma unroll
    for (int r = 0; r < kRows; r++) {
        const int64_t i = i0 + warp * kRows + r;
        if (i >= seq.nq) continue;
        T *dqp = act_row_mut<T>(p.dq, p.dq_strides, ab, seq.q0 + i, h);
#pragma unroll
        for (int c = 0; c < kDC; c++) {
            const int d = lane + 32 * c;
            if (d < D) dqp[d] = from_f32<T>(dq[r][c] * p.scale);
        }
    }
}

/* ---- dbias ------------------------------------------------------------------------------------ */

/* q_s, do_s [kTile][kD]; k_s, v_s [kTile][kD + 1]; lse_s, delta_s [kTile]; fold_s [kTile][kTile + 1]. */
template <int kD>
constexpr size_t dbias_smem() {
    return sizeof(float) * (2 * (size_t)kTile * kD + 2 * (size_t)kTile * (kD + 1) + 2 * (size_t)kTile +
                            (size_t)kTile * (kTile + 1));
}

/* dbias[ob, oh, oi, oj] over a 32 x 32 output tile (oit, ojt): the sum of dS over every (b, h, i, j)
 * that maps to the element (b = ob unless dbias has size 1 there, likewise h, i, j). Grid (output
 * key tile, output query tile, oh, ob), key tile fastest. */
template <typename T, int kD>
__global__ void __launch_bounds__(kThreads) attn_dbias_kernel(const attn_dev a) {
    constexpr int kKS = kD + 1, kPS = kTile + 1;
    const attn_params &p = a.p;
    const int D = (int)p.D;
    float *q_s = reinterpret_cast<float *>(attn_bwd_smem);
    float *do_s = q_s + kTile * kD;
    float *k_s = do_s + kTile * kD;
    float *v_s = k_s + kTile * kKS;
    float *lse_s = v_s + kTile * kKS;
    float *delta_s = lse_s + kTile;
    float *fold_s = delta_s + kTile;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;

    const int64_t out_jt = ceil_div_dev(p.dbias_shape_j, kTile), out_it = ceil_div_dev(p.dbias_shape_i, kTile);
    int64_t bid = blockIdx.x;
    const int64_t ojt = bid % out_jt;
    bid /= out_jt;
    const int64_t oit = bid % out_it;
    bid /= out_it;
    const int64_t oh = bid % p.dbias_shape_h, ob = bid / p.dbias_shape_h;
    /* A size-1 dim of dbias sums over that whole axis. */
    const bool all_b = p.dbias_shape_b == 1, all_h = p.dbias_shape_h == 1;
    const bool all_i = p.dbias_shape_i == 1, all_j = p.dbias_shape_j == 1;

    float acc[kRows];
#pragma unroll
    for (int r = 0; r < kRows; r++) acc[r] = 0.0f;

    for (int64_t b = all_b ? 0 : ob; b < (all_b ? p.B : ob + 1); b++) {
        const attn_seq seq = attn_sequence(&p, b);
        const int64_t ab = act_b(p, b);
        /* source tiles of this sequence: all of them along a summed axis, else the output tile's */
        const int64_t it_lo = all_i ? 0 : oit, it_hi = all_i ? ceil_div_dev(seq.nq, kTile) : oit + 1;
        const int64_t jt_lo = all_j ? 0 : ojt, jt_hi = all_j ? ceil_div_dev(seq.nk, kTile) : ojt + 1;
        for (int64_t h = all_h ? 0 : oh; h < (all_h ? p.H : oh + 1); h++) {
            const int64_t g = h / p.group;
            for (int64_t it = it_lo; it < it_hi; it++) {
                const int64_t i0 = it * kTile;
                if (i0 >= seq.nq) break;
                const int64_t rows = seq.nq - i0 < kTile ? seq.nq - i0 : kTile;
                int64_t lo, hi, tmp;
                attn_key_range(&p, i0, seq.nq, seq.nk, &lo, &tmp);
                attn_key_range(&p, i0 + rows - 1, seq.nq, seq.nk, &tmp, &hi);
                bool q_loaded = false;
                for (int64_t jt = jt_lo; jt < jt_hi; jt++) {
                    const int64_t j0 = jt * kTile;
                    if (j0 >= seq.nk) break;
                    if (j0 + kTile <= lo || j0 >= hi) continue; /* no visible pair in this tile */
                    __syncthreads();
                    if (!q_loaded) {
                        load_tile_f32<T, kD>(q_s, kD, act_row<T>(p.q, p.q_strides, ab, seq.q0, h), p.q_strides.s, i0,
                                             seq.nq, D, a.vec_q, kThreads);
                        load_tile_f32<T, kD>(do_s, kD, act_row<T>(p.dout, p.dout_strides, ab, seq.q0, h),
                                             p.dout_strides.s, i0, seq.nq, D, a.vec_dout, kThreads);
                        load_row_stats(a, ab, h, seq, i0, lse_s, delta_s);
                        q_loaded = true;
                    }
                    load_tile_f32<T, kD>(k_s, kKS, act_row<T>(p.k, p.k_strides, ab, seq.k0, g), p.k_strides.s, j0,
                                         seq.nk, D, a.vec_k, kThreads);
                    load_tile_f32<T, kD>(v_s, kKS, act_row<T>(p.v, p.v_strides, ab, seq.k0, g), p.v_strides.s, j0,
                                         seq.nk, D, a.vec_v, kThreads);
                    __syncthreads();
                    float s[kRows], dp[kRows];
                    warp_dots<kD, kRows>(q_s, warp * kRows, k_s, lane, D, s);
                    warp_dots<kD, kRows>(do_s, warp * kRows, v_s, lane, D, dp);
                    const int64_t j = j0 + lane;
#pragma unroll
                    for (int r = 0; r < kRows; r++) {
                        const int rr = warp * kRows + r;
                        const int64_t i = i0 + rr;
                        int64_t rlo, rhi;
                        row_key_range(p, i, seq.nq, seq.nk, &rlo, &rhi);
                        float pv, ds, ds_qk;
                        pair_grad<T>(a, b, h, i, j, j >= rlo && j < rhi, s[r], dp[r], lse_s[rr], delta_s[rr], &pv,
                                     &ds, &ds_qk);
                        acc[r] += ds;
                    }
                }
            }
        }
    }

    /* acc[r] is element (row warp * kRows + r, column lane) of the tile; fold the summed axes in a
     * fixed order (rows ascending, then columns ascending). */
#pragma unroll
    for (int r = 0; r < kRows; r++) fold_s[(warp * kRows + r) * kPS + lane] = acc[r];
    __syncthreads();
    const int64_t base = ob * p.dbias_stride_b + oh * p.dbias_stride_h;
    const int t = threadIdx.x;
    if (all_i && all_j) {
        if (t == 0) {
            float sum = 0.0f;
            for (int r = 0; r < kTile; r++)
                for (int c = 0; c < kTile; c++) sum += fold_s[r * kPS + c];
            store_t_or_f32<T>(p.dbias, a.bias_f32, base, sum);
        }
    } else if (all_i) {
        const int64_t oj = ojt * kTile + t;
        if (t < kTile && oj < p.dbias_shape_j) {
            float sum = 0.0f;
            for (int r = 0; r < kTile; r++) sum += fold_s[r * kPS + t];
            store_t_or_f32<T>(p.dbias, a.bias_f32, base + oj * p.dbias_stride_j, sum);
        }
    } else if (all_j) {
        const int64_t oi = oit * kTile + t;
        if (t < kTile && oi < p.dbias_shape_i) {
            float sum = 0.0f;
            for (int c = 0; c < kTile; c++) sum += fold_s[t * kPS + c];
            store_t_or_f32<T>(p.dbias, a.bias_f32, base + oi * p.dbias_stride_i, sum);
        }
    } else {
        const int64_t oj = ojt * kTile + lane;
#pragma unroll
        for (int r = 0; r < kRows; r++) {
            const int64_t oi = oit * kTile + warp * kRows + r;
            if (oi < p.dbias_shape_i && oj < p.dbias_shape_j)
                store_t_or_f32<T>(p.dbias, a.bias_f32, base + oi * p.dbias_stride_i + oj * p.dbias_stride_j, acc[r]);
        }
    }
}

/* ---- packed batches: the key rows no sequence owns -------------------------------------------- */

/* dk = dv = 0 on key tokens at or past cu_seqlens_k[B] (clipped to Tk); one thread per element. */
template <typename T>
__global__ void __launch_bounds__(kTailThreads) attn_kv_tail_kernel(const attn_dev a) {
    const attn_params &p = a.p;
    const int64_t idx = (int64_t)blockIdx.x * kTailThreads + threadIdx.x;
    if (idx >= p.Sk * p.Hkv * p.D) return;
    const int64_t d = idx % p.D, g = (idx / p.D) % p.Hkv, token = idx / (p.D * p.Hkv);
    int64_t end = p.cu_seqlens_k[p.B];
    end = end < 0 ? 0 : end > p.Sk ? p.Sk : end;
    if (token < end) return;
    act_row_mut<T>(p.dk, p.dk_strides, 0, token, g)[d] = from_f32<T>(0.0f);
    act_row_mut<T>(p.dv, p.dv_strides, 0, token, g)[d] = from_f32<T>(0.0f);
}

/* ---- tensor-core dK, dV and dQ (bf16 / f16, sm_80+, D <= 128) --------------------------------- */

constexpr int kInner = 32; /* inner tile: queries of dkdv's steps, keys of dq's steps */

/* Stores the accumulator tiles of rows ra, rb (= ra + 8) x kD dims, scaled, as T, dims < D, as
 * 4-byte pairs (rows are 16-byte aligned: mma_bwd_usable). NULL rows are skipped. */
template <typename T, int kD>
__device__ __forceinline__ void store_pair_rows(T *row_a, T *row_b, int D, const float acc[][4], float scale) {
    const int tig = threadIdx.x & 3;
#pragma unroll
    for (int t = 0; t < kD / 8; t++) {
        const int d = t * 8 + 2 * tig;
        if (d >= D) continue;
        if (row_a != NULL)
            *reinterpret_cast<uint32_t *>(row_a + d) = pack2(acc[t][0] * scale, acc[t][1] * scale, (const T *)0);
        if (row_b != NULL)
            *reinterpret_cast<uint32_t *>(row_b + d) = pack2(acc[t][2] * scale, acc[t][3] * scale, (const T *)0);
    }
}

/* k_s, v_s [kMmaRows][kD + 8]; q_s, do_s [2][kInner][kD + 8] (16-bit); lse_s, delta_s [2][kInner]. */
template <int kD>
constexpr size_t mma_dkdv_smem() {
    return (size_t)(2 * kMmaRows + 4 * kInner) * (kD + 8) * 2 + (size_t)4 * kInner * sizeof(float);
}

/* Grid: (64-key tile, KV head g, b), tile fastest. Warp w owns keys w * 16 .. w * 16 + 15 of the
 * tile as the rows of the transposed products S^T = K Q^T and dP^T = V dO^T; lane holds keys
 * ja = w * 16 + lane / 4 and jb = ja + 8, and in accumulator tile t the queries t * 8 + 2 (lane % 4)
 * and + 1 of the step's 32-query tile. The steps run over the group's heads, and for each over the
 * 32-query tiles that can see the key tile, in ascending order; the next step's Q / dO rows load
 * (cp.async) while this one computes. */
template <typename T, int kD>
__global__ void __launch_bounds__(kMmaThreads) attn_dkdv_mma_kernel(const attn_dev a) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    constexpr int kS = kD + 8, kDB = kD / 16, kNT = kInner / 8;
    const attn_params &p = a.p;
    const int D = (int)p.D;
    T *k_s = reinterpret_cast<T *>(attn_bwd_smem);
    T *v_s = k_s + kMmaRows * kS;
    T *q_s = v_s + kMmaRows * kS;     /* [2][kInner][kS] */
    T *do_s = q_s + 2 * kInner * kS;  /* [2][kInner][kS] */
    float *lse_s = reinterpret_cast<float *>(do_s + 2 * kInner * kS); /* [2][kInner] */
    float *delta_s = lse_s + 2 * kInner;                              /* [2][kInner] */
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, grp = lane >> 2, tig = lane & 3;

    int64_t bid = blockIdx.x;
    const int64_t jt = bid % a.k_tiles;
    bid /= a.k_tiles;
    const int64_t g = bid % p.Hkv, b = bid / p.Hkv;
    const attn_seq seq = attn_sequence(&p, b);
    const int64_t j0 = jt * kMmaRows;
    if (j0 >= seq.nk) return;
    const int64_t ab = act_b(p, b);
    const int64_t keys = seq.nk - j0 < kMmaRows ? seq.nk - j0 : kMmaRows;
    int64_t qlo = 0, qhi = 0;
    if (seq.nq > 0) attn_query_range(p, j0, j0 + keys, seq.nq, seq.nk, &qlo, &qhi);
    const int64_t q_steps = qlo < qhi ? (qhi - qlo + kInner - 1) / kInner : 0;
    const int64_t steps = q_steps * p.group; /* (head, query tile), query tile fastest */

    auto load_step = [&](int buf, int64_t step) {
        const int64_t h = g * p.group + step / q_steps, i0 = qlo + (step % q_steps) * kInner;
        mma_load_rows<T, kD, kMmaThreads>(q_s + buf * kInner * kS, act_row<T>(p.q, p.q_strides, ab, seq.q0, h),
                                          p.q_strides.s, i0,
                             kInner, seq.nq, D);
        mma_load_rows<T, kD, kMmaThreads>(do_s + buf * kInner * kS, act_row<T>(p.dout, p.dout_strides, ab, seq.q0, h),
                             p.dout_strides.s, i0, kInner, seq.nq, D);
        cp_async_commit();
        /* lse and delta of the step's rows, plain loads by the first warp (-inf / 0 past nq) */
        if (threadIdx.x < kInner) {
            const int64_t i = i0 + threadIdx.x;
            float l = -INFINITY, dl = 0.0f;
            if (i < seq.nq) {
                l = p.lse[lse_index(p, ab, h, seq.q0 + i)];
                dl = a.delta[attn_token(p, ab, seq.q0 + i) * p.H + h];
            }
            lse_s[buf * kInner + threadIdx.x] = l;
            delta_s[buf * kInner + threadIdx.x] = dl;
        }
    };

    mma_load_rows<T, kD, kMmaThreads>(k_s, act_row<T>(p.k, p.k_strides, ab, seq.k0, g), p.k_strides.s, j0, kMmaRows,
                                      seq.nk, D);
    mma_load_rows<T, kD, kMmaThreads>(v_s, act_row<T>(p.v, p.v_strides, ab, seq.k0, g), p.v_strides.s, j0, kMmaRows,
                                      seq.nk, D);
    if (steps > 0)
        load_step(0, 0);
    else
        cp_async_commit();
    cp_async_wait_all();
    __syncthreads();

    const int64_t ja = j0 + warp * 16 + grp, jb = ja + 8;
    float dk[kD / 8][4], dv[kD / 8][4];
#pragma unroll
    for (int t = 0; t < kD / 8; t++)
#pragma unroll
        for (int e = 0; e < 4; e++) dk[t][e] = dv[t][e] = 0.0f;

    for (int64_t step = 0; step < steps; step++) {
        const int buf = (int)(step & 1);
        if (step + 1 < steps) load_step(buf ^ 1, step + 1);
        const T *qb = q_s + buf * kInner * kS, *db = do_s + buf * kInner * kS;
        const float *lb = lse_s + buf * kInner, *dlb = delta_s + buf * kInner;
        const int64_t h = g * p.group + step / q_steps, i0 = qlo + (step % q_steps) * kInner;

        float st[kNT][4], dpt[kNT][4];
        dual_products<T, kD, kInner>(k_s, v_s, qb, db, warp * 16, st, dpt);
        /* P^T and dS'^T in place: element e of tile t is key (e < 2 ? ja : jb), query i0 + col. */
#pragma unroll
        for (int t = 0; t < kNT; t++) {
#pragma unroll
            for (int e = 0; e < 4; e++) {
                const int col = t * 8 + 2 * tig + (e & 1);
                const int64_t i = i0 + col, j = e < 2 ? ja : jb;
                int64_t lo, hi;
                row_key_range(p, i, seq.nq, seq.nk, &lo, &hi);
                float pv, ds, ds_qk;
                pair_grad<T>(a, b, h, i, j, j >= lo && j < hi, st[t][e], dpt[t][e], lb[col], dlb[col], &pv, &ds,
                             &ds_qk);
                st[t][e] = pv;
                dpt[t][e] = ds_qk;
            }
        }
        /* dV += P^T dO, dK += dS'^T Q over the step's 32 queries (ascending 16-blocks); P and dS'
         * are rounded to T for the products, as FlashAttention does. */
#pragma unroll
        for (int kc = 0; kc < kInner / 16; kc++) {
            uint32_t pa[4], da[4];
            acc_to_a<T>(st[2 * kc], st[2 * kc + 1], pa);
            acc_to_a<T>(dpt[2 * kc], dpt[2 * kc + 1], da);
#pragma unroll
            for (int dp = 0; dp < kDB; dp++) {
                uint32_t r[4];
                frag_b_trans<kD>(r, db, kc * 16, dp);
                mma16816(dv[2 * dp], pa, r[0], r[1], (const T *)0);
                mma16816(dv[2 * dp + 1], pa, r[2], r[3], (const T *)0);
                frag_b_trans<kD>(r, qb, kc * 16, dp);
                mma16816(dk[2 * dp], da, r[0], r[1], (const T *)0);
                mma16816(dk[2 * dp + 1], da, r[2], r[3], (const T *)0);
            }
        }
        if (step + 1 < steps) cp_async_wait_all();
        __syncthreads(); /* the next step's prefetch overwrites this step's buffers */
    }

    T *dka = ja < seq.nk ? act_row_mut<T>(p.dk, p.dk_strides, ab, seq.k0 + ja, g) : NULL;
    T *dkb = jb < seq.nk ? act_row_mut<T>(p.dk, p.dk_strides, ab, seq.k0 + jb, g) : NULL;
    T *dva = ja < seq.nk ? act_row_mut<T>(p.dv, p.dv_strides, ab, seq.k0 + ja, g) : NULL;
    T *dvb = jb < seq.nk ? act_row_mut<T>(p.dv, p.dv_strides, ab, seq.k0 + jb, g) : NULL;
    store_pair_rows<T, kD>(dka, dkb, D, dk, p.scale);
    store_pair_rows<T, kD>(dva, dvb, D, dv, 1.0f);
#elif defined(__CUDA_ARCH__)
    __trap(); /* device code below sm_80: mma_bwd_usable never sends work here */
#endif
}

/* q_s, do_s [kMmaRows][kD + 8]; k_s, v_s [2][kInner][kD + 8] (16-bit). */
template <int kD>
constexpr size_t mma_dq_smem() {
    return (size_t)(2 * kMmaRows + 4 * kInner) * (kD + 8) * 2;
}

/* Grid: (64-query tile, h, b), tile fastest. Warp w owns query rows w * 16 .. + 15; lane holds
 * rows ia = w * 16 + lane / 4 and ib = ia + 8 of S = Q K^T and dP = dO V^T over 32-key tiles (the
 * visible ones, ascending, the next one loading while this one computes), then dQ += dS' K. */
template <typename T, int kD>
__global__ void __launch_bounds__(kMmaThreads) attn_dq_mma_kernel(const attn_dev a) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    constexpr int kS = kD + 8, kDB = kD / 16, kNT = kInner / 8;
    const attn_params &p = a.p;
    const int D = (int)p.D;
    T *q_s = reinterpret_cast<T *>(attn_bwd_smem);
    T *do_s = q_s + kMmaRows * kS;
    T *k_s = do_s + kMmaRows * kS;  /* [2][kInner][kS] */
    T *v_s = k_s + 2 * kInner * kS; /* [2][kInner][kS] */
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, grp = lane >> 2;

    int64_t bid = blockIdx.x;
    const int64_t it = bid % a.q_tiles;
    bid /= a.q_tiles;
    const int64_t h = bid % p.H, b = bid / p.H;
    const attn_seq seq = attn_sequence(&p, b);
    const int64_t i0 = it * kMmaRows;
    if (i0 >= seq.nq) return;
    const int64_t g = h / p.group, ab = act_b(p, b);
    const int64_t rows = seq.nq - i0 < kMmaRows ? seq.nq - i0 : kMmaRows;
    int64_t lo, hi, tmp;
    attn_key_range(&p, i0, seq.nq, seq.nk, &lo, &tmp);
    attn_key_range(&p, i0 + rows - 1, seq.nq, seq.nk, &tmp, &hi);
    const int64_t jt_first = lo < hi ? lo / kInner : 0, jt_end = lo < hi ? (hi + kInner - 1) / kInner : 0;

    const T *k = act_row<T>(p.k, p.k_strides, ab, seq.k0, g), *v = act_row<T>(p.v, p.v_strides, ab, seq.k0, g);
    mma_load_rows<T, kD, kMmaThreads>(q_s, act_row<T>(p.q, p.q_strides, ab, seq.q0, h), p.q_strides.s, i0, kMmaRows,
                                      seq.nq, D);
    mma_load_rows<T, kD, kMmaThreads>(do_s, act_row<T>(p.dout, p.dout_strides, ab, seq.q0, h), p.dout_strides.s, i0,
                                      kMmaRows,
                         seq.nq, D);
    if (jt_first < jt_end) {
        mma_load_rows<T, kD, kMmaThreads>(k_s, k, p.k_strides.s, jt_first * kInner, kInner, seq.nk, D);
        mma_load_rows<T, kD, kMmaThreads>(v_s, v, p.v_strides.s, jt_first * kInner, kInner, seq.nk, D);
    }
    cp_async_commit();

    const int64_t rows_i[2] = {i0 + warp * 16 + grp, i0 + warp * 16 + grp + 8};
    int64_t rlo[2], rhi[2];
    float lse[2], delta[2];
#pragma unroll
    for (int r = 0; r < 2; r++) {
        const int64_t i = rows_i[r];
        row_key_range(p, i, seq.nq, seq.nk, &rlo[r], &rhi[r]);
        lse[r] = i < seq.nq ? p.lse[lse_index(p, ab, h, seq.q0 + i)] : -INFINITY;
        delta[r] = i < seq.nq ? a.delta[attn_token(p, ab, seq.q0 + i) * p.H + h] : 0.0f;
    }
    float dq[kD / 8][4];
#pragma unroll
    for (int t = 0; t < kD / 8; t++) dq[t][0] = dq[t][1] = dq[t][2] = dq[t][3] = 0.0f;
    cp_async_wait_all();
    __syncthreads();

    const int tig = lane & 3;
    for (int64_t jt = jt_first; jt < jt_end; jt++) {
        const int buf = (int)((jt - jt_first) & 1);
        if (jt + 1 < jt_end) {
            mma_load_rows<T, kD, kMmaThreads>(k_s + (buf ^ 1) * kInner * kS, k, p.k_strides.s, (jt + 1) * kInner,
                                              kInner, seq.nk, D);
            mma_load_rows<T, kD, kMmaThreads>(v_s + (buf ^ 1) * kInner * kS, v, p.v_strides.s, (jt + 1) * kInner,
                                              kInner, seq.nk, D);
            cp_async_commit();
        }
        const T *kb = k_s + buf * kInner * kS, *vb = v_s + buf * kInner * kS;
        const int64_t j0 = jt * kInner;
        float s[kNT][4], dp[kNT][4];
        dual_products<T, kD, kInner>(q_s, do_s, kb, vb, warp * 16, s, dp);
#pragma unroll
        for (int t = 0; t < kNT; t++) {
#pragma unroll
            for (int e = 0; e < 4; e++) {
                const int r = e >> 1;
                const int64_t j = j0 + t * 8 + 2 * tig + (e & 1);
                float pv, ds, ds_qk;
                pair_grad<T>(a, b, h, rows_i[r], j, j >= rlo[r] && j < rhi[r], s[t][e], dp[t][e], lse[r], delta[r],
                             &pv, &ds, &ds_qk);
                dp[t][e] = ds_qk;
            }
        }
        /* dQ += dS' K over this tile's keys (ascending 16-blocks). */
#pragma unroll
        for (int kc = 0; kc < kInner / 16; kc++) {
            uint32_t dsa[4];
            acc_to_a<T>(dp[2 * kc], dp[2 * kc + 1], dsa);
#pragma unroll
            for (int d2 = 0; d2 < kDB; d2++) {
                uint32_t r[4];
                frag_b_trans<kD>(r, kb, kc * 16, d2);
                mma16816(dq[2 * d2], dsa, r[0], r[1], (const T *)0);
                mma16816(dq[2 * d2 + 1], dsa, r[2], r[3], (const T *)0);
            }
        }
        if (jt + 1 < jt_end) cp_async_wait_all();
        __syncthreads();
    }

    T *dqa = rows_i[0] < seq.nq ? act_row_mut<T>(p.dq, p.dq_strides, ab, seq.q0 + rows_i[0], h) : NULL;
    T *dqb = rows_i[1] < seq.nq ? act_row_mut<T>(p.dq, p.dq_strides, ab, seq.q0 + rows_i[1], h) : NULL;
    store_pair_rows<T, kD>(dqa, dqb, D, dq, p.scale);
#elif defined(__CUDA_ARCH__)
    __trap(); /* device code below sm_80: mma_bwd_usable never sends work here */
#endif
}

/* ---- host side -------------------------------------------------------------------------------- */

int64_t delta_tokens(const attn_params &p) { return p.cu_seqlens_q ? p.Sq : p.B * p.Sq; }

/* The tensor-core dK / dV and dQ kernels take the call: 16-bit dtype, D <= 128 (dK and dV stay in
 * registers), an sm_80+ device with their shared memory, tensor cores not switched off, and every
 * row of q, k, v, dout (cp.async, ldmatrix) and dq, dk, dv (paired stores) 16-byte aligned. */
bool mma_bwd_usable(const ax_op_call *call, const attn_dev &a) {
    const attn_params &p = a.p;
    if (!AXIAL_CUDA_MMA) return false;
    if ((p.dtype != AX_BF16 && p.dtype != AX_F16) || p.D > 128) return false;
    const ax_cuda_device_props *dev = ax_cuda_props(call->ctx);
    if (!ax_cuda_tensor_cores_usable(dev)) return false;
    const int kD = attn_padded_d(p.D);
    const size_t smem = kD == 32 ? mma_dkdv_smem<32>() : kD == 64 ? mma_dkdv_smem<64>() : mma_dkdv_smem<128>();
    if ((int64_t)smem > dev->smem_optin_per_block) return false; /* dq's is smaller */
    return a.vec_q && a.vec_k && a.vec_v && a.vec_dout && attn_rows_aligned(p.dq, p.dq_strides, p, p.Sq, p.H) &&
           attn_rows_aligned(p.dk, p.dk_strides, p, p.Sk, p.Hkv) &&
           attn_rows_aligned(p.dv, p.dv_strides, p, p.Sk, p.Hkv);
}

/* dK / dV and dQ on tensor cores: 64-row tiles, so the grids count tiles of 64. */
template <typename T, int kD>
ax_status launch_mma(const attn_dev &a, cudaStream_t stream) {
    const attn_params &p = a.p;
    attn_dev m = a;
    m.q_tiles = ceil_div(p.cu_seqlens_q ? p.max_seqlen_q : p.Sq, kMmaRows);
    m.k_tiles = ceil_div(p.cu_seqlens_q ? p.max_seqlen_k : p.Sk, kMmaRows);
    if (m.k_tiles * p.Hkv * p.B > 0)
        AX_CHECK(ax_cuda_launch(attn_dkdv_mma_kernel<T, kD>, "attn_dkdv_mma_kernel", m.k_tiles * p.Hkv * p.B,
                                kMmaThreads, mma_dkdv_smem<kD>(), stream, m));
    if (m.q_tiles * p.H * p.B > 0)
        AX_CHECK(ax_cuda_launch(attn_dq_mma_kernel<T, kD>, "attn_dq_mma_kernel", m.q_tiles * p.H * p.B, kMmaThreads,
                                mma_dq_smem<kD>(), stream, m));
    return AX_OK;
}

template <typename T, int kD>
ax_status launch_typed(const ax_op_call *call, const attn_dev &a, cudaStream_t stream) {
    const attn_params &p = a.p;
    bool mma = false;
    if constexpr (!std::is_same<T, float>::value && kD <= 128) mma = mma_bwd_usable(call, a);
    /* Every shared-memory check before the first launch, so a refusal writes no output. */
    if (!mma) {
        AX_CHECK(attn_smem_check(call->ctx, "attention_backward (CUDA)", dkdv_smem<kD>()));
        AX_CHECK(attn_smem_check(call->ctx, "attention_backward (CUDA)", dq_smem<kD>()));
    }
    if (p.dbias != NULL) AX_CHECK(attn_smem_check(call->ctx, "attention_backward (CUDA, dbias)", dbias_smem<kD>()));
    /* A launch of 0 blocks is a CUDA error: an empty grid (Sq or Sk 0) is skipped. */
    if (delta_tokens(p) * p.H > 0)
        AX_CHECK(ax_cuda_launch(attn_delta_kernel<T>, "attn_delta_kernel",
                                ceil_div(delta_tokens(p) * p.H, kDeltaThreads / 32), kDeltaThreads, 0, stream, a));
    if constexpr (!std::is_same<T, float>::value && kD <= 128) {
        if (mma) AX_CHECK((launch_mma<T, kD>(a, stream)));
    }
    if (!mma) {
        if (a.k_tiles * p.Hkv * p.B > 0)
            AX_CHECK(ax_cuda_launch(attn_dkdv_kernel<T, kD>, "attn_dkdv_kernel", a.k_tiles * p.Hkv * p.B, kThreads,
                                    dkdv_smem<kD>(), stream, a));
        if (a.q_tiles * p.H * p.B > 0)
            AX_CHECK(ax_cuda_launch(attn_dq_kernel<T, kD>, "attn_dq_kernel", a.q_tiles * p.H * p.B, kThreads,
                                    dq_smem<kD>(), stream, a));
    }
    if (p.dbias != NULL) {
        const int64_t tiles = ceil_div(p.dbias_shape_j, kTile) * ceil_div(p.dbias_shape_i, kTile) *
                              p.dbias_shape_h * p.dbias_shape_b;
        if (tiles > 0)
            AX_CHECK(ax_cuda_launch(attn_dbias_kernel<T, kD>, "attn_dbias_kernel", tiles, kThreads, dbias_smem<kD>(),
                                    stream, a));
    }
    if (p.cu_seqlens_k != NULL && p.Sk * p.Hkv * p.D > 0)
        AX_CHECK(ax_cuda_launch(attn_kv_tail_kernel<T>, "attn_kv_tail_kernel",
                                ceil_div(p.Sk * p.Hkv * p.D, kTailThreads), kTailThreads, 0, stream, a));
    return AX_OK;
}

template <typename T>
ax_status dispatch_d(const ax_op_call *call, const attn_dev &a, cudaStream_t stream) {
    switch (attn_padded_d(a.p.D)) {
    case 32: return launch_typed<T, 32>(call, a, stream);
    case 64: return launch_typed<T, 64>(call, a, stream);
    case 128: return launch_typed<T, 128>(call, a, stream);
    default: return launch_typed<T, 256>(call, a, stream);
    }
}

} /* namespace */

extern "C" ax_status attention_backward_cuda_workspace(const ax_context *ctx, const void *params,
                                                       ax_op_workspace *need) {
    (void)ctx;
    const attn_params *p = static_cast<const attn_params *>(params);
    const int64_t rows = delta_tokens(*p) * p->H;
    if (rows > INT64_MAX / (int64_t)sizeof(float))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "attention_backward: %lld query rows overflow the workspace size",
                            (long long)rows);
    need->device_bytes = rows * (int64_t)sizeof(float);
    return AX_OK;
}

extern "C" ax_status attention_backward_cuda(const ax_op_call *call) {
    const attn_params *p = static_cast<const attn_params *>(call->params);
    attn_dev a = attn_make_dev(*p);
    a.delta = static_cast<float *>(call->device_ws);
    const cudaStream_t stream = static_cast<cudaStream_t>(call->ctx->cuda_stream);
    /* Empty grids are skipped launch by launch (launch_typed): a packed batch of B = 0 sequences
     * still owes dk = dv = 0 on every key row. */
    switch (p->dtype) {
    case AX_F32: return dispatch_d<float>(call, a, stream);
    case AX_BF16: return dispatch_d<__nv_bfloat16>(call, a, stream);
    case AX_F16: return dispatch_d<__half>(call, a, stream);
    default: return ax_set_error(AX_ERR_UNSUPPORTED, "attention_backward (CUDA): dtype %s", ax_dtype_name(p->dtype));
    }
}
