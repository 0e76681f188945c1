/*
 * attention_mma.cu — Evoformer attention on tensor cores: mma.sync m16n8k16 with bf16 / fp16 inputs
 * and fp32 accumulation (sm_80 and newer), flash-attention style. Semantics are those of
 * include/axial/evoformer.h; attention_cuda.cu decides which params come here (attention_mma.h).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 *
 * Layout. A block is 4 warps; a warp owns 16 rows of every tile product, so a row's softmax
 * statistics live in the 4 lanes of a quad (lane / 4 = row within the 8-row half, lane % 4 = column
 * pair) and reduce with two shuffles. Tiles sit in shared memory as 16-bit rows padded by 8 elements
 * (16 bytes), which puts the 8 rows read by each ldmatrix phase in 8 different bank groups. Global
 * rows are copied with cp.async (zero-filled past S and past D), double-buffered along the loop.
 * The accumulator fragment of S = Q K^T is, element for element, the A fragment of the next product,
 * so P (or dS) goes from registers to the tensor cores without touching shared memory; P and dS are
 * rounded to the 16-bit dtype for those products (as flash-attention does), every sum is fp32.
 *
 * Kernels (kD = head dim rounded up to 32, 64 or 128; rows past D are zeros and add nothing):
 *   forward  grid (64-query tile, h, n, b), 64-key tiles: online softmax in the log2 domain.
 *   dkdv     grid (64-key tile, h, n, b), 32-query tiles: S^T = K Q^T and dP^T = V dO^T, then
 *            dV += P^T dO and dK += dS^T Q; the per-key sums of dS feed dbias_mask.
 *   dq       grid (64-query tile, h, n, b), 32-key tiles: dQ += dS K.
 *   delta    one thread per query row: rowsum(dout * out) with 16-byte loads.
 *   dpair    grid (32-key tile, 64-query tile, h, b, chunk): sums dS over n (and b when the gradient
 *            broadcasts over b) in registers; no atomics. When that leaves SMs idle, the (b, n) sum
 *            is split into chunks whose partial sums a small kernel adds in order.
 * Determinism: fixed fragment ownership, loops in a fixed order, butterfly shuffles, no atomics.
 */
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <float.h>
#include <initializer_list>
#include <math.h>
#include <stdint.h>

#include "core/cuda/device.h"
#include "core/cuda/launch.cuh"
#include "core/cuda/mma_tile.cuh"
#include "core/cuda/ptx.cuh"
#include "core/cuda/reduce.cuh"
#include "core/internal.h"
#include "evoformer/cuda/attention_mma.h"
#include "evoformer/cuda/cuda_common.cuh"

extern __shared__ float4 evo_mma_smem[];

namespace {

constexpr int kThreads = 128; /* 4 warps */
constexpr int kRowTile = 64;  /* rows of Q (forward, dq, dpair) or of K (dkdv) per block: 16 per warp */
constexpr int kFwdKeys = 64;  /* key tile of the forward */
constexpr int kInner = 32;    /* inner tile of the backward loops (queries in dkdv, keys in dq) */
constexpr int kPairKeys = 32; /* key tile of dpair */
/* dpair is latency-bound (a short product per (b, n) step, then a barrier): it wants several blocks
 * per SM, so ptxas is asked to fit 4 at kD = 32 (128 registers), 3 at 64 and 2 at 128. That costs
 * small spills in some builds (8 bytes at kD = 64; 28 bytes at kD = 32 for sm_80, none for sm_90). */
template <int kD> constexpr int dpair_min_blocks() { return kD == 32 ? 4 : kD == 64 ? 3 : 2; }
constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;

/* What every kernel receives by value. */
struct mma_args {
    evo_attn_params p;
    const float *delta;
    float *mask_partial;
    int64_t row_tiles; /* ceil(S / 64) */
    bool mask_vec2;    /* bias_mask: two adjacent keys are one aligned 2-element load */
    bool pair_vec2;    /* bias_pair: likewise along j */
    int64_t dpair_chunks;  /* dpair: the (b, n) sum split over this many blocks per output tile */
    float *dpair_partial;  /* dpair with chunks > 1: (chunks, B_out, H, S, S) fp32 partial sums */
};

/* x * log2(e) for a bias or an lse, keeping finite values finite: a value below -FLT_MAX / log2(e)
 * (-2.4e38, e.g. torch.finfo(float32).min as a mask) would otherwise become -inf, and a row masked
 * with it would count as fully masked (out 0) where the natural-log backends give a uniform softmax.
 * -inf stays -inf. */
__device__ __forceinline__ float to_log2(float x) {
    const float y = x * kLog2e;
    return y == -INFINITY && x != -INFINITY ? -FLT_MAX : y;
}

/* ---- tiles ----------------------------------------------------------------------------------- */

/* ---- biases ---------------------------------------------------------------------------------- */

/* Elements off and off + step; one aligned load when vec2 (then step == 1). */
template <typename T>
__device__ __forceinline__ float2 bias2(const void *base, bool f32, bool vec2, int64_t off, int64_t step) {
    if (vec2) {
        if (f32) return *reinterpret_cast<const float2 *>(static_cast<const float *>(base) + off);
        return unpack2(*reinterpret_cast<const uint32_t *>(static_cast<const T *>(base) + off), (const T *)0);
    }
    return make_float2(load_t_or_f32<T>(base, f32, off), load_t_or_f32<T>(base, f32, off + step));
}

/* The log2-domain bias of one accumulator tile of a row-major product (rows = queries ia, ib; keys
 * j, j + 1 at j = key0 + t * 8 + 2 * (lane % 4)): (bias_mask + bias_pair) * log2(e), in the order
 * (ia, j), (ia, j + 1), (ib, j), (ib, j + 1) of the tile's elements; -inf where the row or the key is
 * at or past S. Loads use clamped indices and no data-dependent branches, so a caller can issue
 * them all before the tile's products and let their latency overlap the tensor-core work. */
template <typename T>
__device__ __forceinline__ void bias_rows(const mma_args &a, int64_t b, int64_t n, int64_t h, int64_t ia, int64_t ib,
                                          int64_t j, float out[4]) {
    const evo_attn_params &p = a.p;
    const bool jin = j < p.S, both = j + 1 < p.S;
    const int64_t jc = jin ? j : p.S - 1;
    const int64_t iac = ia < p.S ? ia : p.S - 1, ibc = ib < p.S ? ib : p.S - 1;
    float2 mk = make_float2(0.0f, 0.0f), pa = mk, pb = mk;
    const bool mf32 = p.bias_mask_dtype == AX_F32, pf32 = p.bias_pair_dtype == AX_F32;
    const int64_t moff = b * p.mask_stride_b + n * p.mask_stride_n;
    const int64_t poff = b * p.pair_stride_b + h * p.pair_stride_h;
    if (both) {
        if (p.bias_mask != NULL) mk = bias2<T>(p.bias_mask, mf32, a.mask_vec2, moff + j * p.mask_stride_j, p.mask_stride_j);
        if (p.bias_pair != NULL) {
            pa = bias2<T>(p.bias_pair, pf32, a.pair_vec2, poff + iac * p.pair_stride_i + j * p.pair_stride_j,
                          p.pair_stride_j);
            pb = bias2<T>(p.bias_pair, pf32, a.pair_vec2, poff + ibc * p.pair_stride_i + j * p.pair_stride_j,
                          p.pair_stride_j);
        }
    } else {
        if (p.bias_mask != NULL) mk.x = load_t_or_f32<T>(p.bias_mask, mf32, moff + jc * p.mask_stride_j);
        if (p.bias_pair != NULL) {
            pa.x = load_t_or_f32<T>(p.bias_pair, pf32, poff + iac * p.pair_stride_i + jc * p.pair_stride_j);
            pb.x = load_t_or_f32<T>(p.bias_pair, pf32, poff + ibc * p.pair_stride_i + jc * p.pair_stride_j);
        }
    }
    const bool ra = ia < p.S, rb = ib < p.S;
    out[0] = ra && jin ? to_log2(mk.x + pa.x) : -INFINITY;
    out[1] = ra && both ? to_log2(mk.y + pa.y) : -INFINITY;
    out[2] = rb && jin ? to_log2(mk.x + pb.x) : -INFINITY;
    out[3] = rb && both ? to_log2(mk.y + pb.y) : -INFINITY;
}

/* Stores the accumulator tiles of 16 rows (ra, rb = ra + 8) x kD dims, scaled, as T; dims < D. */
template <typename T, int kD>
__device__ __forceinline__ void store_rows(T *row_a, T *row_b, bool a_ok, bool b_ok, int D, const float acc[][4],
                                           float sa, float sb) {
    const int tig = threadIdx.x & 3;
#pragma unroll
    for (int t = 0; t < kD / 8; t++) {
        const int d = t * 8 + 2 * tig;
        if (d >= D) continue;
        /* A scale of 0 (a fully masked row's 1 / l; the gradients' scales are > 0) writes 0, not
         * 0 * (0 * NaN) from a masked key's non-finite v. */
        if (a_ok)
            *reinterpret_cast<uint32_t *>(row_a + d) =
                pack2(sa == 0.0f ? 0.0f : acc[t][0] * sa, sa == 0.0f ? 0.0f : acc[t][1] * sa, (const T *)0);
        if (b_ok)
            *reinterpret_cast<uint32_t *>(row_b + d) =
                pack2(sb == 0.0f ? 0.0f : acc[t][2] * sb, sb == 0.0f ? 0.0f : acc[t][3] * sb, (const T *)0);
    }
}

/* ---- forward --------------------------------------------------------------------------------- */

template <int kD>
constexpr size_t fwd_smem() {
    return (size_t)(kRowTile + 4 * kFwdKeys) * (kD + 8) * 2;
}

template <typename T, int kD>
__global__ void __launch_bounds__(kThreads) evo_mma_fwd_kernel(const mma_args a) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    constexpr int kS = kD + 8, kDB = kD / 16;
    const evo_attn_params &p = a.p;
    const int D = (int)p.D;
    T *q_s = reinterpret_cast<T *>(evo_mma_smem);
    T *k_s = q_s + kRowTile * kS; /* [2][kFwdKeys][kS] */
    T *v_s = k_s + 2 * kFwdKeys * kS;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, tig = lane & 3;

    int64_t it, h, n, b;
    decode_tile_block(a.row_tiles, a.p, &it, &h, &n, &b);
    const int64_t i0 = it * kRowTile;
    const T *k = slice<T>(p.k, p.k_strides, b, n, h), *v = slice<T>(p.v, p.v_strides, b, n, h);
    mma_load_rows<T, kD, kThreads>(q_s, slice<T>(p.q, p.q_strides, b, n, h), p.q_strides.s, i0, kRowTile, p.S, D);
    mma_load_rows<T, kD, kThreads>(k_s, k, p.k_strides.s, 0, kFwdKeys, p.S, D);
    mma_load_rows<T, kD, kThreads>(v_s, v, p.v_strides.s, 0, kFwdKeys, p.S, D);
    cp_async_commit();
    cp_async_wait_all();
    __syncthreads();

    uint32_t qf[kDB][4];
#pragma unroll
    for (int kk = 0; kk < kDB; kk++) frag_a<kD>(qf[kk], q_s, warp * 16, kk);

    float o[kD / 8][4];
#pragma unroll
    for (int t = 0; t < kD / 8; t++) o[t][0] = o[t][1] = o[t][2] = o[t][3] = 0.0f;
    float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};
    const int64_t ia = i0 + warp * 16 + g, ib = ia + 8;
    const int64_t key_tiles = (p.S + kFwdKeys - 1) / kFwdKeys;

    for (int64_t jt = 0; jt < key_tiles; jt++) {
        const int buf = (int)(jt & 1);
        if (jt + 1 < key_tiles) {
            mma_load_rows<T, kD, kThreads>(k_s + (buf ^ 1) * kFwdKeys * kS, k, p.k_strides.s, (jt + 1) * kFwdKeys,
                                           kFwdKeys, p.S, D);
            mma_load_rows<T, kD, kThreads>(v_s + (buf ^ 1) * kFwdKeys * kS, v, p.v_strides.s, (jt + 1) * kFwdKeys,
                                           kFwdKeys, p.S, D);
            cp_async_commit();
        }
        const T *kb = k_s + buf * kFwdKeys * kS, *vb = v_s + buf * kFwdKeys * kS;
        const int64_t j0 = jt * kFwdKeys;
        float bias[kFwdKeys / 8][4]; /* loaded first: their latency hides behind the products */
#pragma unroll
        for (int t = 0; t < kFwdKeys / 8; t++) bias_rows<T>(a, b, n, h, ia, ib, j0 + t * 8 + 2 * tig, bias[t]);

        float s[kFwdKeys / 8][4];
#pragma unroll
        for (int t = 0; t < kFwdKeys / 8; t++) s[t][0] = s[t][1] = s[t][2] = s[t][3] = 0.0f;
#pragma unroll
        for (int kp = 0; kp < kFwdKeys / 16; kp++) {
#pragma unroll
            for (int kk = 0; kk < kDB; kk++) {
                uint32_t r[4];
                frag_b_rows<kD>(r, kb, kp * 16, kk);
                mma16816(s[2 * kp], qf[kk], r[0], r[1], (const T *)0);
                mma16816(s[2 * kp + 1], qf[kk], r[2], r[3], (const T *)0);
            }
        }

        const float sl2 = p.scale * kLog2e;
        float mx[2] = {-INFINITY, -INFINITY};
#pragma unroll
        for (int t = 0; t < kFwdKeys / 8; t++) {
#pragma unroll
            for (int e = 0; e < 4; e++) s[t][e] = fmaf(s[t][e], sl2, bias[t][e]);
            mx[0] = fmaxf(mx[0], fmaxf(s[t][0], s[t][1]));
            mx[1] = fmaxf(mx[1], fmaxf(s[t][2], s[t][3]));
        }
        float ref[2];
#pragma unroll
        for (int r = 0; r < 2; r++) {
            const float m_new = fmaxf(m[r], quad_max(mx[r]));
            /* A row with only -inf so far subtracts 0, so exp2 gives 0 rather than NaN. */
            ref[r] = m_new == -INFINITY ? 0.0f : m_new;
            const float corr = exp2f(m[r] - ref[r]);
            m[r] = m_new;
            l[r] *= corr;
#pragma unroll
            for (int t = 0; t < kD / 8; t++) {
                o[t][2 * r] *= corr;
                o[t][2 * r + 1] *= corr;
            }
        }
        uint32_t pf[kFwdKeys / 16][4];
#pragma unroll
        for (int t = 0; t < kFwdKeys / 8; t++) {
            const float p0 = exp2f(s[t][0] - ref[0]), p1 = exp2f(s[t][1] - ref[0]);
            const float p2 = exp2f(s[t][2] - ref[1]), p3 = exp2f(s[t][3] - ref[1]);
            l[0] += p0 + p1;
            l[1] += p2 + p3;
            pf[t >> 1][(t & 1) * 2] = pack2(p0, p1, (const T *)0);
            pf[t >> 1][(t & 1) * 2 + 1] = pack2(p2, p3, (const T *)0);
        }
#pragma unroll
        for (int dp = 0; dp < kDB; dp++) {
#pragma unroll
            for (int kc = 0; kc < kFwdKeys / 16; kc++) {
                uint32_t r[4];
                frag_b_trans<kD>(r, vb, kc * 16, dp);
                mma16816(o[2 * dp], pf[kc], r[0], r[1], (const T *)0);
                mma16816(o[2 * dp + 1], pf[kc], r[2], r[3], (const T *)0);
            }
        }
        if (jt + 1 < key_tiles) cp_async_wait_all();
        __syncthreads(); /* the next iteration's prefetch overwrites this tile's buffer */
    }

    float inv[2];
#pragma unroll
    for (int r = 0; r < 2; r++) {
        l[r] = quad_sum(l[r]);
        /* l == 0 exactly when every logit of the row is -inf: out 0, lse -inf. */
        inv[r] = l[r] <= 0.0f ? 0.0f : 1.0f / l[r]; /* NaN l (a NaN logit): NaN */
    }
    T *out = slice_mut<T>(p.out, p.out_strides, b, n, h);
    store_rows<T, kD>(out + ia * p.out_strides.s, out + ib * p.out_strides.s, ia < p.S, ib < p.S, D, o, inv[0],
                      inv[1]);
    if (p.lse != NULL && tig == 0) {
        float *lse = p.lse + b * p.lse_stride_b + n * p.lse_stride_n + h * p.lse_stride_h;
        const float shift = lse_shift_at(p, b, n); /* what the shifted mask took off (evoformer_params.h) */
        if (ia < p.S) lse[ia * p.lse_stride_s] = l[0] <= 0.0f ? -INFINITY : (m[0] + log2f(l[0])) * kLn2 + shift;
        if (ib < p.S) lse[ib * p.lse_stride_s] = l[1] <= 0.0f ? -INFINITY : (m[1] + log2f(l[1])) * kLn2 + shift;
    }
#elif defined(__CUDA_ARCH__)
    __trap(); /* device code for an arch below sm_80: evo_mma_usable never sends work here */
#endif
}

/* ---- backward: delta ------------------------------------------------------------------------- */

/* delta[b, n, h, i] = sum_d dout * out, one thread per row (rows are 16-byte aligned here). delta is
 * the scratch the launcher owns; mma_args carries it as const for the kernels that only read it. */
template <typename T>
__global__ void __launch_bounds__(256) evo_mma_delta_kernel(const mma_args a) {
    const evo_attn_params &p = a.p;
    const int64_t row = (int64_t)blockIdx.x * 256 + threadIdx.x;
    if (row >= p.B * p.N * p.H * p.S) return;
    const int64_t i = row % p.S;
    int64_t rest = row / p.S;
    const int64_t h = rest % p.H;
    rest /= p.H;
    const int64_t n = rest % p.N, b = rest / p.N;
    const uint4 *o = reinterpret_cast<const uint4 *>(slice<T>(p.out, p.out_strides, b, n, h) + i * p.out_strides.s);
    const uint4 *g = reinterpret_cast<const uint4 *>(slice<T>(p.dout, p.dout_strides, b, n, h) + i * p.dout_strides.s);
    float sum = 0.0f;
    for (int c = 0; c < (int)(p.D / 8); c++) {
        const uint4 x = o[c], y = g[c];
        const uint32_t xs[4] = {x.x, x.y, x.z, x.w}, ys[4] = {y.x, y.y, y.z, y.w};
#pragma unroll
        for (int e = 0; e < 4; e++) {
            const float2 xf = unpack2(xs[e], (const T *)0), yf = unpack2(ys[e], (const T *)0);
            sum = fmaf(xf.x, yf.x, sum);
            sum = fmaf(xf.y, yf.y, sum);
        }
    }
    const_cast<float *>(a.delta)[row] = sum;
}

/* ---- backward: dK, dV -------------------------------------------------------------------------- */

template <int kD>
constexpr size_t dkdv_smem() {
    return (size_t)(2 * kRowTile + 4 * kInner) * (kD + 8) * 2 + (size_t)6 * kInner * sizeof(float);
}

/* The rows' references (p.lse, the backward's row_sub, in the log2 domain through to_log2, -inf past
 * S; p.row_mul, 0 past S) and delta (0 past S) of query rows [i0, i0 + kInner) into shared memory,
 * by the first warp, with plain loads. */
__device__ __forceinline__ void load_row_stats(const mma_args &a, int64_t b, int64_t n, int64_t h, int64_t i0,
                                               float *lse2_s, float *mul_s, float *delta_s) {
    const evo_attn_params &p = a.p;
    if (threadIdx.x < kInner) {
        const int64_t i = i0 + threadIdx.x;
        float l2 = -INFINITY, mul = 0.0f, dl = 0.0f;
        if (i < p.S) {
            l2 = to_log2(p.lse[lse_offset(p, b, n, h, i)]);
            mul = p.row_mul[lse_offset(p, b, n, h, i)];
            dl = a.delta[((b * p.N + n) * p.H + h) * p.S + i];
        }
        lse2_s[threadIdx.x] = l2;
        mul_s[threadIdx.x] = mul;
        delta_s[threadIdx.x] = dl;
    }
}

template <typename T, int kD>
__global__ void __launch_bounds__(kThreads) evo_mma_dkdv_kernel(const mma_args a) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    constexpr int kS = kD + 8, kDB = kD / 16;
    const evo_attn_params &p = a.p;
    const int D = (int)p.D;
    T *k_s = reinterpret_cast<T *>(evo_mma_smem);
    T *v_s = k_s + kRowTile * kS;
    T *q_s = v_s + kRowTile * kS;  /* [2][kInner][kS] */
    T *do_s = q_s + 2 * kInner * kS; /* [2][kInner][kS] */
    float *lse2_s = reinterpret_cast<float *>(do_s + 2 * kInner * kS); /* [2][kInner] */
    float *mul_s = lse2_s + 2 * kInner;                                /* [2][kInner] */
    float *delta_s = mul_s + 2 * kInner;                               /* [2][kInner] */
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, tig = lane & 3;

    int64_t jt, h, n, b;
    decode_tile_block(a.row_tiles, a.p, &jt, &h, &n, &b);
    const int64_t j0 = jt * kRowTile;
    const T *q = slice<T>(p.q, p.q_strides, b, n, h), *dout = slice<T>(p.dout, p.dout_strides, b, n, h);
    mma_load_rows<T, kD, kThreads>(k_s, slice<T>(p.k, p.k_strides, b, n, h), p.k_strides.s, j0, kRowTile, p.S, D);
    mma_load_rows<T, kD, kThreads>(v_s, slice<T>(p.v, p.v_strides, b, n, h), p.v_strides.s, j0, kRowTile, p.S, D);
    mma_load_rows<T, kD, kThreads>(q_s, q, p.q_strides.s, 0, kInner, p.S, D);
    mma_load_rows<T, kD, kThreads>(do_s, dout, p.dout_strides.s, 0, kInner, p.S, D);
    cp_async_commit();
    load_row_stats(a, b, n, h, 0, lse2_s, mul_s, delta_s);
    cp_async_wait_all();
    __syncthreads();

    /* This thread's two keys (rows of the transposed products) and their mask values. */
    const int64_t ja = j0 + warp * 16 + g, jb = ja + 8;
    float mk[2] = {0.0f, 0.0f};
    if (p.bias_mask != NULL) {
        const bool f32 = p.bias_mask_dtype == AX_F32;
        const int64_t base = b * p.mask_stride_b + n * p.mask_stride_n;
        if (ja < p.S) mk[0] = load_t_or_f32<T>(p.bias_mask, f32, base + ja * p.mask_stride_j);
        if (jb < p.S) mk[1] = load_t_or_f32<T>(p.bias_mask, f32, base + jb * p.mask_stride_j);
    }
    const bool key_ok[2] = {ja < p.S, jb < p.S};
    const int64_t key_c[2] = {ja < p.S ? ja : p.S - 1, jb < p.S ? jb : p.S - 1};
    const float sl2 = p.scale * kLog2e;
    const bool pair_f32 = p.bias_pair_dtype == AX_F32;
    const int64_t pair_base = b * p.pair_stride_b + h * p.pair_stride_h;

    float dk[kD / 8][4], dv[kD / 8][4];
#pragma unroll
    for (int t = 0; t < kD / 8; t++)
#pragma unroll
        for (int e = 0; e < 4; e++) dk[t][e] = dv[t][e] = 0.0f;
    float ds_sum[2] = {0.0f, 0.0f};
    const int64_t q_tiles = (p.S + kInner - 1) / kInner;

    for (int64_t qt = 0; qt < q_tiles; qt++) {
        const int buf = (int)(qt & 1);
        if (qt + 1 < q_tiles) {
            const int64_t next = (qt + 1) * kInner;
            mma_load_rows<T, kD, kThreads>(q_s + (buf ^ 1) * kInner * kS, q, p.q_strides.s, next, kInner, p.S, D);
            mma_load_rows<T, kD, kThreads>(do_s + (buf ^ 1) * kInner * kS, dout, p.dout_strides.s, next, kInner, p.S,
                                           D);
            cp_async_commit();
            load_row_stats(a, b, n, h, next, lse2_s + (buf ^ 1) * kInner, mul_s + (buf ^ 1) * kInner,
                           delta_s + (buf ^ 1) * kInner);
        }
        const T *qb = q_s + buf * kInner * kS, *db = do_s + buf * kInner * kS;
        const float *l2b = lse2_s + buf * kInner, *mlb = mul_s + buf * kInner, *dlb = delta_s + buf * kInner;
        const int64_t i0 = qt * kInner;
        /* bias_pair[b, h, i, key] for this tile's elements, loaded before the products (clamped
         * indices; rows and keys out of range are zeroed below through lse and key_ok). */
        float pbt[kInner / 8][4];
#pragma unroll
        for (int t = 0; t < kInner / 8; t++) {
#pragma unroll
            for (int e = 0; e < 4; e++) {
                const int64_t i = i0 + t * 8 + 2 * tig + (e & 1);
                pbt[t][e] = p.bias_pair == NULL ? 0.0f
                                                : load_t_or_f32<T>(p.bias_pair, pair_f32,
                                                           pair_base + (i < p.S ? i : p.S - 1) * p.pair_stride_i +
                                                               key_c[e >> 1] * p.pair_stride_j);
            }
        }

        /* S^T = K Q^T (keys x queries) and dP^T = V dO^T. */
        float st[kInner / 8][4], dpt[kInner / 8][4];
        dual_products<T, kD, kInner>(k_s, v_s, qb, db, warp * 16, st, dpt);

        /* P^T and dS^T in place: element e of tile t is key key[e / 2], query i0 + t*8 + 2*tig + e%2. */
#pragma unroll
        for (int t = 0; t < kInner / 8; t++) {
#pragma unroll
            for (int e = 0; e < 4; e++) {
                const int col = t * 8 + 2 * tig + (e & 1);
                const float l2 = l2b[col];
                float pv = 0.0f, dsv = 0.0f;
                if (key_ok[e >> 1] && l2 != -INFINITY) {
                    /* P <= row_mul; the clamp keeps a rounding of the reference (or of a huge bias) from
                     * making it overflow. */
                    pv = exp2f(fminf(fmaf(st[t][e], sl2, to_log2(mk[e >> 1] + pbt[t][e])) - l2, 0.0f)) * mlb[col];
                    /* not 0 * NaN from an infinite v at a masked key, as p_and_ds (evoformer.h: dS is
                     * exactly 0 wherever P is) */
                    dsv = pv == 0.0f ? 0.0f : pv * (dpt[t][e] - dlb[col]);
                }
                st[t][e] = pv;
                dpt[t][e] = dsv;
                ds_sum[e >> 1] += dsv;
            }
        }

        /* dV += P^T dO, dK += dS^T Q (reduction over this tile's queries). */
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
        if (qt + 1 < q_tiles) cp_async_wait_all();
        __syncthreads();
    }

    T *dkp = slice_mut<T>(p.dk, p.dk_strides, b, n, h), *dvp = slice_mut<T>(p.dv, p.dv_strides, b, n, h);
    store_rows<T, kD>(dkp + ja * p.dk_strides.s, dkp + jb * p.dk_strides.s, key_ok[0], key_ok[1], D, dk, p.scale,
                      p.scale);
    store_rows<T, kD>(dvp + ja * p.dv_strides.s, dvp + jb * p.dv_strides.s, key_ok[0], key_ok[1], D, dv, 1.0f, 1.0f);
    if (a.mask_partial != NULL) {
        const float sa = quad_sum(ds_sum[0]), sb = quad_sum(ds_sum[1]);
        float *mp = a.mask_partial + ((b * p.N + n) * p.H + h) * p.S;
        if (tig == 0 && key_ok[0]) mp[ja] = sa;
        if (tig == 0 && key_ok[1]) mp[jb] = sb;
    }
#elif defined(__CUDA_ARCH__)
    __trap(); /* device code for an arch below sm_80: evo_mma_usable never sends work here */
#endif
}

/* ---- backward: dQ and dbias_pair (row-major products over key tiles) ------------------------- */

/* P and dS of one row-major tile pair: s holds Q K^T, dp holds dO V^T on entry; on exit s holds P
 * and dp holds dS. bias is bias_rows' output; lse2 / mul / dl are the rows' (ia, ib) log2-domain
 * reference, its factor (row_mul) and delta. */
__device__ __forceinline__ void p_and_ds(float sl2, const float bias[4], const float lse2[2], const float mul[2],
                                         const float dl[2], float s[4], float dp[4]) {
#pragma unroll
    for (int e = 0; e < 4; e++) {
        const float l2 = lse2[e >> 1];
        /* -inf logits (masked, or past S) and fully masked rows give exactly 0. */
        const float x = fmaf(s[e], sl2, bias[e]);
        /* P <= row_mul; the clamp keeps a rounding of the reference (or of a huge bias) from making
         * it overflow. fminf(NaN, 0) is 0, so a NaN logit does not make its P NaN here: a row with
         * one has a NaN lse, which is never trusted, so its reference is recomputed and row_mul is
         * NaN (rowref), and that is what carries the NaN into P. */
        const float pv = (l2 == -INFINITY || x == -INFINITY) ? 0.0f : exp2f(fminf(x - l2, 0.0f)) * mul[e >> 1];
        s[e] = pv;
        dp[e] = pv == 0.0f ? 0.0f : pv * (dp[e] - dl[e >> 1]); /* not 0 * NaN from an infinite v at a masked key */
    }
}

template <int kD>
constexpr size_t dq_smem() {
    return (size_t)(2 * kRowTile + 4 * kInner) * (kD + 8) * 2;
}

/* This thread's two query rows' reference (log2 domain, -inf past S), its factor and delta. */
__device__ __forceinline__ void row_stats(const mma_args &a, int64_t b, int64_t n, int64_t h, int64_t ia,
                                          int64_t ib, float lse2[2], float mul[2], float dl[2]) {
    const evo_attn_params &p = a.p;
    const int64_t rows[2] = {ia, ib};
#pragma unroll
    for (int r = 0; r < 2; r++) {
        lse2[r] = -INFINITY;
        mul[r] = 0.0f;
        dl[r] = 0.0f;
        if (rows[r] < p.S) {
            lse2[r] = to_log2(p.lse[lse_offset(p, b, n, h, rows[r])]);
            mul[r] = p.row_mul[lse_offset(p, b, n, h, rows[r])];
            dl[r] = a.delta[((b * p.N + n) * p.H + h) * p.S + rows[r]];
        }
    }
}

template <typename T, int kD>
__global__ void __launch_bounds__(kThreads) evo_mma_dq_kernel(const mma_args a) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    constexpr int kS = kD + 8, kDB = kD / 16;
    const evo_attn_params &p = a.p;
    const int D = (int)p.D;
    T *q_s = reinterpret_cast<T *>(evo_mma_smem);
    T *do_s = q_s + kRowTile * kS;
    T *k_s = do_s + kRowTile * kS;  /* [2][kInner][kS] */
    T *v_s = k_s + 2 * kInner * kS; /* [2][kInner][kS] */
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, tig = lane & 3;

    int64_t it, h, n, b;
    decode_tile_block(a.row_tiles, a.p, &it, &h, &n, &b);
    const int64_t i0 = it * kRowTile;
    const T *k = slice<T>(p.k, p.k_strides, b, n, h), *v = slice<T>(p.v, p.v_strides, b, n, h);
    mma_load_rows<T, kD, kThreads>(q_s, slice<T>(p.q, p.q_strides, b, n, h), p.q_strides.s, i0, kRowTile, p.S, D);
    mma_load_rows<T, kD, kThreads>(do_s, slice<T>(p.dout, p.dout_strides, b, n, h), p.dout_strides.s, i0, kRowTile,
                                   p.S, D);
    mma_load_rows<T, kD, kThreads>(k_s, k, p.k_strides.s, 0, kInner, p.S, D);
    mma_load_rows<T, kD, kThreads>(v_s, v, p.v_strides.s, 0, kInner, p.S, D);
    cp_async_commit();
    const int64_t ia = i0 + warp * 16 + g, ib = ia + 8;
    float lse2[2], mul[2], dl[2];
    row_stats(a, b, n, h, ia, ib, lse2, mul, dl);
    cp_async_wait_all();
    __syncthreads();

    float dq[kD / 8][4];
#pragma unroll
    for (int t = 0; t < kD / 8; t++) dq[t][0] = dq[t][1] = dq[t][2] = dq[t][3] = 0.0f;
    const int64_t key_tiles = (p.S + kInner - 1) / kInner;

    for (int64_t kt = 0; kt < key_tiles; kt++) {
        const int buf = (int)(kt & 1);
        if (kt + 1 < key_tiles) {
            const int64_t next = (kt + 1) * kInner;
            mma_load_rows<T, kD, kThreads>(k_s + (buf ^ 1) * kInner * kS, k, p.k_strides.s, next, kInner, p.S, D);
            mma_load_rows<T, kD, kThreads>(v_s + (buf ^ 1) * kInner * kS, v, p.v_strides.s, next, kInner, p.S, D);
            cp_async_commit();
        }
        const T *kb = k_s + buf * kInner * kS, *vb = v_s + buf * kInner * kS;
        const int64_t j0 = kt * kInner;
        float bias[kInner / 8][4];
#pragma unroll
        for (int t = 0; t < kInner / 8; t++) bias_rows<T>(a, b, n, h, ia, ib, j0 + t * 8 + 2 * tig, bias[t]);

        /* S = Q K^T and dP = dO V^T. */
        float s[kInner / 8][4], dp[kInner / 8][4];
        dual_products<T, kD, kInner>(q_s, do_s, kb, vb, warp * 16, s, dp);
        const float sl2 = p.scale * kLog2e;
#pragma unroll
        for (int t = 0; t < kInner / 8; t++) p_and_ds(sl2, bias[t], lse2, mul, dl, s[t], dp[t]);

        /* dQ += dS K (reduction over this tile's keys). */
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
        if (kt + 1 < key_tiles) cp_async_wait_all();
        __syncthreads();
    }

    T *dqp = slice_mut<T>(p.dq, p.dq_strides, b, n, h);
    store_rows<T, kD>(dqp + ia * p.dq_strides.s, dqp + ib * p.dq_strides.s, ia < p.S, ib < p.S, D, dq, p.scale,
                      p.scale);
#elif defined(__CUDA_ARCH__)
    __trap(); /* device code for an arch below sm_80: evo_mma_usable never sends work here */
#endif
}

template <int kD>
constexpr size_t dpair_smem() {
    /* two stages of q, dout (64 rows), k, v (32 rows); then two stages of the mask (32 keys) and of
     * the rows' reference, its factor and delta (64 rows) */
    return (size_t)2 * (2 * kRowTile + 2 * kPairKeys) * (kD + 8) * 2 + (size_t)2 * (kPairKeys + 3 * kRowTile) * 4;
}

/* dbias_pair[ob, h, i, j] for a 64-query x 32-key tile: dS summed over n, and over b when the
 * gradient broadcasts there, in the order (b, n). The pair bias of the tile is the same at every
 * step and stays in registers; the tiles and the per-(b, n) mask, lse and delta of the next step
 * load while this one computes. Grid: (key tile, query tile, h, ob, chunk), key tile fastest. With
 * one chunk the block writes the gradient; with several (too few output tiles to fill the GPU),
 * chunk c sums its own contiguous range of the (b, n) steps into dpair_partial and
 * evo_mma_dpair_reduce_kernel adds the chunks in order. */
template <typename T, int kD>
__global__ void __launch_bounds__(kThreads, dpair_min_blocks<kD>()) evo_mma_dpair_kernel(const mma_args a) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    constexpr int kS = kD + 8, kNT = kPairKeys / 8;
    constexpr int kStage = (2 * kRowTile + 2 * kPairKeys) * kS; /* elements per buffer */
    const evo_attn_params &p = a.p;
    const int D = (int)p.D;
    T *smem = reinterpret_cast<T *>(evo_mma_smem);
    float *mask_s = reinterpret_cast<float *>(smem + 2 * kStage); /* [2][kPairKeys], as stored */
    float *lse2_s = mask_s + 2 * kPairKeys;                        /* [2][kRowTile] */
    float *dl_s = lse2_s + 2 * kRowTile;                           /* [2][kRowTile] */
    float *mul_s = dl_s + 2 * kRowTile;                            /* [2][kRowTile] */
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, tig = lane & 3;

    const int64_t key_tiles = (p.S + kPairKeys - 1) / kPairKeys;
    int64_t bid = blockIdx.x;
    const int64_t jt = bid % key_tiles;
    bid /= key_tiles;
    const int64_t it = bid % a.row_tiles;
    bid /= a.row_tiles;
    const int64_t h = bid % p.H;
    bid /= p.H;
    const int64_t ob = bid % p.dpair_shape_b;
    const int64_t chunk = bid / p.dpair_shape_b;
    const bool sum_b = p.dpair_shape_b == 1;
    const int64_t b_lo = sum_b ? 0 : ob, b_hi = sum_b ? p.B : ob + 1;
    const int64_t i0 = it * kRowTile, j0 = jt * kPairKeys;
    const int64_t ia = i0 + warp * 16 + g, ib = ia + 8;

    auto load_tiles = [&](int buf, int64_t b, int64_t n) {
        T *q_s = smem + buf * kStage, *do_s = q_s + kRowTile * kS, *k_s = do_s + kRowTile * kS;
        T *v_s = k_s + kPairKeys * kS;
        mma_load_rows<T, kD, kThreads>(q_s, slice<T>(p.q, p.q_strides, b, n, h), p.q_strides.s, i0, kRowTile, p.S, D);
        mma_load_rows<T, kD, kThreads>(do_s, slice<T>(p.dout, p.dout_strides, b, n, h), p.dout_strides.s, i0,
                                       kRowTile, p.S, D);
        mma_load_rows<T, kD, kThreads>(k_s, slice<T>(p.k, p.k_strides, b, n, h), p.k_strides.s, j0, kPairKeys, p.S, D);
        mma_load_rows<T, kD, kThreads>(v_s, slice<T>(p.v, p.v_strides, b, n, h), p.v_strides.s, j0, kPairKeys, p.S, D);
        cp_async_commit();
    };
    /* Thread t < 64 fetches row i0 + t's reference (log2 domain; -inf past S), delta and factor,
     * and thread t < 32 key j0 + t's mask (as stored; -inf past S), into registers. */
    const int tid = threadIdx.x;
    auto fetch_stats = [&](int64_t b, int64_t n, float st[4]) {
        st[0] = -INFINITY;
        st[1] = 0.0f;
        st[2] = -INFINITY;
        st[3] = 0.0f;
        const int64_t i = i0 + tid, j = j0 + tid;
        if (tid < kRowTile && i < p.S) {
            st[0] = to_log2(p.lse[lse_offset(p, b, n, h, i)]);
            st[1] = a.delta[((b * p.N + n) * p.H + h) * p.S + i];
            st[3] = p.row_mul[lse_offset(p, b, n, h, i)];
        }
        if (tid < kPairKeys && j < p.S)
            st[2] = p.bias_mask == NULL ? 0.0f
                                        : load_t_or_f32<T>(p.bias_mask, p.bias_mask_dtype == AX_F32,
                                                   b * p.mask_stride_b + n * p.mask_stride_n + j * p.mask_stride_j);
    };
    auto store_stats = [&](int buf, const float st[4]) {
        if (tid < kRowTile) {
            lse2_s[buf * kRowTile + tid] = st[0];
            dl_s[buf * kRowTile + tid] = st[1];
            mul_s[buf * kRowTile + tid] = st[3];
        }
        if (tid < kPairKeys) mask_s[buf * kPairKeys + tid] = st[2];
    };

    /* The pair bias of this tile (as stored), once; -inf past S (so P is 0 there). */
    float pb[kNT][4];
    {
        const bool f32 = p.bias_pair_dtype == AX_F32;
#pragma unroll
        for (int t = 0; t < kNT; t++) {
#pragma unroll
            for (int e = 0; e < 4; e++) {
                const int64_t i = e < 2 ? ia : ib, j = j0 + t * 8 + 2 * tig + (e & 1);
                const int64_t ic = i < p.S ? i : p.S - 1, jc = j < p.S ? j : p.S - 1;
                /* ob is 0 when the gradient sums over b; the bias itself may still vary with b, but
                 * then the gradient does too (it has the bias's shape), so b == ob here. */
                const float v = load_t_or_f32<T>(p.bias_pair, f32,
                                         ob * p.pair_stride_b + h * p.pair_stride_h + ic * p.pair_stride_i +
                                             jc * p.pair_stride_j);
                pb[t][e] = i < p.S && j < p.S ? v : -INFINITY;
            }
        }
    }

    float acc[kNT][4];
#pragma unroll
    for (int t = 0; t < kNT; t++) acc[t][0] = acc[t][1] = acc[t][2] = acc[t][3] = 0.0f;

    const int64_t steps = (b_hi - b_lo) * p.N;
    const int64_t s_lo = chunk * steps / a.dpair_chunks, s_hi = (chunk + 1) * steps / a.dpair_chunks;
    if (s_lo < s_hi) {
        float st[4];
        load_tiles(0, b_lo + s_lo / p.N, s_lo % p.N);
        fetch_stats(b_lo + s_lo / p.N, s_lo % p.N, st);
        store_stats(0, st);
    }
    cp_async_wait_all();
    __syncthreads();
    const float sl2 = p.scale * kLog2e;
    for (int64_t step = s_lo; step < s_hi; step++) {
        const int buf = (int)((step - s_lo) & 1);
        float next[4];
        const bool more = step + 1 < s_hi;
        if (more) {
            load_tiles(buf ^ 1, b_lo + (step + 1) / p.N, (step + 1) % p.N);
            fetch_stats(b_lo + (step + 1) / p.N, (step + 1) % p.N, next);
        }
        const T *q_s = smem + buf * kStage, *do_s = q_s + kRowTile * kS, *k_s = do_s + kRowTile * kS;
        const T *v_s = k_s + kPairKeys * kS;

        float s[kNT][4], dp[kNT][4];
        dual_products<T, kD, kPairKeys>(q_s, do_s, k_s, v_s, warp * 16, s, dp);
        const float *mk = mask_s + buf * kPairKeys, *l2r = lse2_s + buf * kRowTile, *dlr = dl_s + buf * kRowTile;
        const float *mlr = mul_s + buf * kRowTile;
        const float l2[2] = {l2r[warp * 16 + g], l2r[warp * 16 + g + 8]};
        const float ml[2] = {mlr[warp * 16 + g], mlr[warp * 16 + g + 8]};
        const float dl[2] = {dlr[warp * 16 + g], dlr[warp * 16 + g + 8]};
#pragma unroll
        for (int t = 0; t < kNT; t++) {
            const float m0 = mk[t * 8 + 2 * tig], m1 = mk[t * 8 + 2 * tig + 1];
            /* (mask + pair) rounded, then scaled, exactly as bias_rows does for the forward: P here
             * must be the forward's P bit for bit when both biases are huge and nearly cancel. */
            const float bias[4] = {to_log2(m0 + pb[t][0]), to_log2(m1 + pb[t][1]), to_log2(m0 + pb[t][2]),
                                   to_log2(m1 + pb[t][3])};
            p_and_ds(sl2, bias, l2, ml, dl, s[t], dp[t]);
#pragma unroll
            for (int e = 0; e < 4; e++) acc[t][e] += dp[t][e];
        }
        if (more) {
            store_stats(buf ^ 1, next);
            cp_async_wait_all();
        }
        __syncthreads();
    }

    /* One chunk: the gradient itself. Several: this chunk's fp32 partial sum, (S, S) contiguous. */
    const bool split = a.dpair_chunks > 1;
    float *part = split ? a.dpair_partial + ((chunk * p.dpair_shape_b + ob) * p.H + h) * p.S * p.S : NULL;
    const bool f32 = p.bias_pair_dtype == AX_F32;
    const int64_t base = ob * p.dpair_stride_b + h * p.dpair_stride_h;
#pragma unroll
    for (int t = 0; t < kNT; t++) {
#pragma unroll
        for (int e = 0; e < 4; e++) {
            const int64_t i = e < 2 ? ia : ib, j = j0 + t * 8 + 2 * tig + (e & 1);
            if (i >= p.S || j >= p.S) continue;
            if (split)
                part[i * p.S + j] = acc[t][e];
            else
                store_t_or_f32<T>(p.dbias_pair, f32, base + i * p.dpair_stride_i + j * p.dpair_stride_j, acc[t][e]);
        }
    }
#elif defined(__CUDA_ARCH__)
    __trap(); /* device code for an arch below sm_80: evo_mma_usable never sends work here */
#endif
}

/* dbias_pair = the chunks' partial sums added in chunk order; one thread per element. */
template <typename T>
__global__ void __launch_bounds__(256) evo_mma_dpair_reduce_kernel(const mma_args a) {
    const evo_attn_params &p = a.p;
    const int64_t per_chunk = p.dpair_shape_b * p.H * p.S * p.S;
    const int64_t idx = (int64_t)blockIdx.x * 256 + threadIdx.x;
    if (idx >= per_chunk) return;
    float sum = 0.0f;
    for (int64_t c = 0; c < a.dpair_chunks; c++) sum += a.dpair_partial[c * per_chunk + idx];
    const int64_t j = idx % p.S, i = (idx / p.S) % p.S, h = (idx / (p.S * p.S)) % p.H, ob = idx / (p.S * p.S * p.H);
    store_t_or_f32<T>(p.dbias_pair, p.bias_pair_dtype == AX_F32,
                  ob * p.dpair_stride_b + h * p.dpair_stride_h + i * p.dpair_stride_i + j * p.dpair_stride_j, sum);
}

/* ---- host side ------------------------------------------------------------------------------- */

/* Every 8-element (16-byte) chunk of every row starts 16-byte aligned, D contiguous. */
bool rows_aligned(const void *ptr, const evo_bnshd_strides &s, const evo_attn_params &p) {
    return ptr == NULL || (s.d == 1 && vec_aligned(ptr, s, p));
}

/* Two adjacent elements along j form one aligned load: unit stride along j and every other offset
 * even, from a base aligned to two elements. */
bool pairs_aligned(const void *ptr, ax_dtype dt, int64_t stride_j, std::initializer_list<int64_t> others) {
    if (ptr == NULL || stride_j != 1) return false;
    if ((uintptr_t)ptr % (2 * ax_dtype_size(dt)) != 0) return false;
    for (int64_t s : others)
        if (s % 2 != 0) return false;
    return true;
}

mma_args make_args(const evo_attn_params &p, const float *delta, float *mask_partial) {
    mma_args a;
    a.p = p;
    a.delta = delta;
    a.mask_partial = mask_partial;
    a.row_tiles = ceil_div(p.S, kRowTile);
    a.dpair_chunks = 1;
    a.dpair_partial = NULL;
    a.mask_vec2 = pairs_aligned(p.bias_mask, p.bias_mask_dtype, p.mask_stride_j, {p.mask_stride_b, p.mask_stride_n});
    a.pair_vec2 = pairs_aligned(p.bias_pair, p.bias_pair_dtype, p.pair_stride_j,
                                {p.pair_stride_b, p.pair_stride_h, p.pair_stride_i});
    return a;
}

int padded_d(int64_t D) { return D <= 32 ? 32 : D <= 64 ? 64 : 128; }

enum which_kernel { K_FWD, K_DKDV, K_DQ, K_DPAIR, K_DELTA };

template <int kD>
size_t smem_of(which_kernel w) {
    switch (w) {
    case K_FWD: return fwd_smem<kD>();
    case K_DKDV: return dkdv_smem<kD>();
    case K_DQ: return dq_smem<kD>();
    case K_DELTA: return 0;
    default: return dpair_smem<kD>();
    }
}

/* The device lets a block have the shared memory of kernel w (consumer Ampere / Ada parts offer
 * 99 KiB, less than dpair needs at D > 64). */
bool smem_fits(const ax_cuda_device_props &dev, const evo_attn_params &p, which_kernel w) {
    const int kD = padded_d(p.D);
    const size_t need = kD == 32 ? smem_of<32>(w) : kD == 64 ? smem_of<64>(w) : smem_of<128>(w);
    return dev.smem_optin_per_block >= (int64_t)need;
}

template <typename T, int kD>
ax_status launch_typed(which_kernel w, const mma_args &a, cudaStream_t stream) {
    const evo_attn_params &p = a.p;
    const int64_t per_slice = a.row_tiles * p.H * p.N * p.B;
    switch (w) {
    case K_FWD:
        return ax_cuda_launch(evo_mma_fwd_kernel<T, kD>, "evo_mma_fwd_kernel", per_slice, kThreads, fwd_smem<kD>(),
                              stream, a);
    case K_DKDV:
        return ax_cuda_launch(evo_mma_dkdv_kernel<T, kD>, "evo_mma_dkdv_kernel", per_slice, kThreads,
                              dkdv_smem<kD>(), stream, a);
    case K_DQ:
        return ax_cuda_launch(evo_mma_dq_kernel<T, kD>, "evo_mma_dq_kernel", per_slice, kThreads, dq_smem<kD>(),
                              stream, a);
    case K_DELTA:
        return ax_cuda_launch(evo_mma_delta_kernel<T>, "evo_mma_delta_kernel", ceil_div(p.B * p.N * p.H * p.S, 256),
                              256, 0, stream, a);
    default:
        AX_CHECK(ax_cuda_launch(evo_mma_dpair_kernel<T, kD>, "evo_mma_dpair_kernel",
                                ceil_div(p.S, kPairKeys) * a.row_tiles * p.H * p.dpair_shape_b * a.dpair_chunks,
                                kThreads, dpair_smem<kD>(), stream, a));
        if (a.dpair_chunks == 1) return AX_OK;
        return ax_cuda_launch(evo_mma_dpair_reduce_kernel<T>, "evo_mma_dpair_reduce_kernel",
                              ceil_div(p.dpair_shape_b * p.H * p.S * p.S, 256), 256, 0, stream, a);
    }
}

template <typename T>
ax_status dispatch_d(which_kernel w, const mma_args &a, cudaStream_t stream) {
    switch (padded_d(a.p.D)) {
    case 32: return launch_typed<T, 32>(w, a, stream);
    case 64: return launch_typed<T, 64>(w, a, stream);
    default: return launch_typed<T, 128>(w, a, stream);
    }
}

ax_status dispatch(which_kernel w, const mma_args &a, cudaStream_t stream) {
    if (a.p.dtype == AX_BF16) return dispatch_d<__nv_bfloat16>(w, a, stream);
    return dispatch_d<__half>(w, a, stream);
}

} /* namespace */

#ifndef AXIAL_CUDA_MMA
#define AXIAL_CUDA_MMA 1 /* CMakeLists.txt sets 0 when no architecture of the build is sm_80+ */
#endif

bool evo_mma_usable(const ax_cuda_device_props &dev, const evo_attn_params &p, bool backward) {
    if (!AXIAL_CUDA_MMA) return false;
    if (p.dtype != AX_BF16 && p.dtype != AX_F16) return false;
    if (p.D % 16 != 0 || p.D > 128) return false;
    if (!ax_cuda_tensor_cores_usable(&dev)) return false;
    if (!backward ? !smem_fits(dev, p, K_FWD) : !smem_fits(dev, p, K_DKDV) || !smem_fits(dev, p, K_DQ))
        return false;
    if (!rows_aligned(p.q, p.q_strides, p) || !rows_aligned(p.k, p.k_strides, p) ||
        !rows_aligned(p.v, p.v_strides, p))
        return false;
    if (!backward) return rows_aligned(p.out, p.out_strides, p);
    return rows_aligned(p.out, p.out_strides, p) && rows_aligned(p.dout, p.dout_strides, p) &&
           rows_aligned(p.dq, p.dq_strides, p) &&
           rows_aligned(p.dk, p.dk_strides, p) && rows_aligned(p.dv, p.dv_strides, p);
}

bool evo_mma_dpair_usable(const ax_cuda_device_props &dev, const evo_attn_params &p) {
    return p.dbias_pair != NULL && p.dpair_shape_h == p.H && p.dpair_shape_i == p.S && p.dpair_shape_j == p.S &&
           evo_mma_usable(dev, p, true) && smem_fits(dev, p, K_DPAIR);
}

ax_status evo_mma_forward(const evo_attn_params &p, cudaStream_t stream) {
    return dispatch(K_FWD, make_args(p, NULL, NULL), stream);
}
ax_status evo_mma_delta(const evo_attn_params &p, float *delta, cudaStream_t stream) {
    return dispatch(K_DELTA, make_args(p, delta, NULL), stream);
}
ax_status evo_mma_dkdv(const evo_attn_params &p, const float *delta, float *mask_partial, cudaStream_t stream) {
    return dispatch(K_DKDV, make_args(p, delta, mask_partial), stream);
}
ax_status evo_mma_dq(const evo_attn_params &p, const float *delta, cudaStream_t stream) {
    return dispatch(K_DQ, make_args(p, delta, NULL), stream);
}
int64_t evo_mma_dpair_chunks(const ax_cuda_device_props &dev, const evo_attn_params &p) {
    /* Enough blocks for about four per SM; never more chunks than (b, n) steps, nor than 16. */
    const int64_t tiles = ceil_div(p.S, kPairKeys) * ceil_div(p.S, kRowTile) * p.H * p.dpair_shape_b;
    const int64_t steps = (p.dpair_shape_b == 1 ? p.B : 1) * p.N;
    int64_t chunks = ceil_div(4 * (int64_t)dev.sm_count, tiles);
    if (chunks > steps) chunks = steps;
    if (chunks > 16) chunks = 16;
    return chunks < 1 ? 1 : chunks;
}

ax_status evo_mma_dpair(const evo_attn_params &p, const float *delta, int64_t chunks, float *partial,
                        cudaStream_t stream) {
    mma_args a = make_args(p, delta, NULL);
    a.dpair_chunks = chunks;
    a.dpair_partial = partial;
    return dispatch(K_DPAIR, a, stream);
}
