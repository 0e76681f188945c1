/*
 * attention_fwd.cu — the CUDA forward of ax_attention_forward (include/axial/attention.h):
 * FlashAttention-2 style, one thread block per (query tile, query head, batch), looping over the key
 * tiles that the causal / window mask leaves visible with an online softmax in fp32; the Sq x Sk
 * logits never reach global memory. GQA: query head h reads KV head h / group.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 *
 * Two kernels, picked per call by the host:
 *
 *   mma   bf16 / f16 on sm_80+ with 16-byte aligned rows: mma.sync m16n8k16, fp32 accumulation.
 *         4 warps, 64-query tile (16 rows per warp), key tiles of 64 (32 at D = 256, to fit shared
 *         memory), K / V double-buffered through cp.async. A row's softmax statistics live in the 4
 *         lanes of a quad (lane / 4 = row within an 8-row half, lane % 4 = column pair) and reduce
 *         with two shuffles; the accumulator fragment of S = Q K^T is reused as the A fragment of
 *         P V, with P rounded to the 16-bit dtype for that product (as FlashAttention does).
 *   simt  everything else (fp32; 16-bit rows that are not 16-byte aligned; pre-sm_80 devices;
 *         AXIAL_CUDA_TENSOR_CORES=0): 4 warps, 32-query x 32-key tiles in fp32 shared memory; a warp
 *         owns 8 query rows, lane j computes key j's logits, so a row's max and sum are warp
 *         reductions; for P V lane l owns dims l, l + 32, ... of the warp's 8 output rows.
 *
 * Both take D up to 256 in buckets kD = 32 / 64 / 128 / 256; dims from D to kD are zeros in shared
 * memory and add nothing. Tiles partly past a sequence's end are zero-filled and masked. Masking,
 * soft-cap and bias go through attn_logit / attn_key_range (attn_common.cuh, attention_params.h),
 * the same functions the backward uses to recompute P. A row that sees no key ends with l = 0:
 * out 0 and lse -inf.
 */
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <float.h>
#include <math.h>
#include <stdint.h>

#include "attention/attention_params.h"
#include "attention/cuda/attn_common.cuh"
#include "attention/cuda/attn_mma.cuh"
#include "core/cuda/device.h"
#include "core/cuda/launch.cuh"
#include "core/cuda/ptx.cuh"
#include "core/cuda/reduce.cuh"
#include "core/internal.h"

/* One dynamic shared-memory symbol for every kernel of this file; each carves it up itself. */
extern __shared__ float4 attn_fwd_smem[];

namespace {

/* ================================================================================================
 * SIMT kernel
 * ============================================================================================== */

constexpr int kSimtThreads = 128;              /* 4 warps */
constexpr int kSimtRows = kTile / 4;           /* query rows per warp */

/* q_s [kTile][kD], k_s and v_s [kTile][kD + 1], p_s [4 warps][kSimtRows][kTile]. */
template <int kD>
constexpr size_t simt_fwd_smem() {
    return sizeof(float) * ((size_t)kTile * kD + 2 * (size_t)kTile * (kD + 1) + 4 * kSimtRows * kTile);
}

template <typename T, int kD>
__global__ void __launch_bounds__(kSimtThreads) attn_fwd_simt_kernel(const attn_dev a) {
    constexpr int kKS = kD + 1, kDC = kD / 32;
    const attn_params &p = a.p;
    const int D = (int)p.D;
    float *q_s = reinterpret_cast<float *>(attn_fwd_smem);
    float *k_s = q_s + kTile * kD;
    float *v_s = k_s + kTile * kKS;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    float *p_s = v_s + kTile * kKS + warp * kSimtRows * kTile; /* this warp's [kSimtRows][kTile] */

    int64_t bid = blockIdx.x;
    const int64_t it = bid % a.q_tiles;
    bid /= a.q_tiles;
    const int64_t h = bid % p.H, b = bid / p.H;
    const attn_seq seq = attn_sequence(&p, b);
    const int64_t i0 = it * kTile;
    if (i0 >= seq.nq) return; /* a tile past this sequence's end (packed batches) */
    const int64_t g = h / p.group, ab = act_b(p, b);
    const int64_t rows = seq.nq - i0 < kTile ? seq.nq - i0 : kTile;

    /* The keys any row of the tile may see: both ends of attn_key_range grow with the row. */
    int64_t lo, hi, tmp;
    attn_key_range(&p, i0, seq.nq, seq.nk, &lo, &tmp);
    attn_key_range(&p, i0 + rows - 1, seq.nq, seq.nk, &tmp, &hi);

    const T *q = act_row<T>(p.q, p.q_strides, ab, seq.q0, h);
    const T *k = act_row<T>(p.k, p.k_strides, ab, seq.k0, g);
    const T *v = act_row<T>(p.v, p.v_strides, ab, seq.k0, g);
    load_tile_f32<T, kD>(q_s, kD, q, p.q_strides.s, i0, seq.nq, D, a.vec_q, kSimtThreads);

    int64_t row_lo[kSimtRows], row_hi[kSimtRows];
    float m[kSimtRows], l[kSimtRows], o[kSimtRows][kDC];
#pragma unroll
    for (int r = 0; r < kSimtRows; r++) {
        row_key_range(p, i0 + warp * kSimtRows + r, seq.nq, seq.nk, &row_lo[r], &row_hi[r]);
        m[r] = -INFINITY;
        l[r] = 0.0f; /* this lane's share of the row's sum; the warp adds the shares at the end */
#pragma unroll
        for (int c = 0; c < kDC; c++) o[r][c] = 0.0f;
    }

    for (int64_t j0 = lo < hi ? lo / kTile * kTile : hi; j0 < hi; j0 += kTile) {
        __syncthreads(); /* every warp is done with the previous K / V tile */
        load_tile_f32<T, kD>(k_s, kKS, k, p.k_strides.s, j0, seq.nk, D, a.vec_k, kSimtThreads);
        load_tile_f32<T, kD>(v_s, kKS, v, p.v_strides.s, j0, seq.nk, D, a.vec_v, kSimtThreads);
        __syncthreads();

        float s[kSimtRows];
        warp_dots<kD, kSimtRows>(q_s, warp * kSimtRows, k_s, lane, D, s);
        const int64_t j = j0 + lane;
#pragma unroll
        for (int r = 0; r < kSimtRows; r++) {
            const int64_t i = i0 + warp * kSimtRows + r;
            float t;
            const bool keep = j >= row_lo[r] && j < row_hi[r];
            const float x = keep ? attn_logit(p, s[r], bias_at<T>(a, b, h, i, j), &t) : -INFINITY;
            const float m_new = fmaxf(m[r], warp_max(x));
            /* A row with only -inf so far subtracts 0, so exp gives 0 rather than NaN. */
            const float ref = m_new == -INFINITY ? 0.0f : m_new;
            const float corr = expf(m[r] - ref);
            const float pv = expf(x - ref);
            m[r] = m_new;
            l[r] = l[r] * corr + pv;
#pragma unroll
            for (int c = 0; c < kDC; c++) o[r][c] *= corr;
            p_s[r * kTile + lane] = pv;
        }
        __syncwarp();
        /* o[r][d] += sum_j p[r][j] v[j][d], lane owning d = lane + 32 c; keys in ascending order. */
        const int keys = seq.nk - j0 < kTile ? (int)(seq.nk - j0) : kTile;
#pragma unroll 2
        for (int jj = 0; jj < keys; jj++) {
            float vv[kDC];
#pragma unroll
            for (int c = 0; c < kDC; c++) vv[c] = v_s[jj * kKS + lane + 32 * c];
#pragma unroll
            for (int r = 0; r < kSimtRows; r++) {
                const float pv = p_s[r * kTile + jj];
#pragma unroll
                for (int c = 0; c < kDC; c++) o[r][c] = fmaf(pv, vv[c], o[r][c]);
            }
        }
        __syncwarp(); /* p_s is rewritten by the next tile */
    }

#pragma unroll
    for (int r = 0; r < kSimtRows; r++) {
        const int64_t i = i0 + warp * kSimtRows + r;
        const float lsum = warp_sum(l[r]);
        if (i >= seq.nq) continue;
        /* l == 0 exactly when every logit of the row is -inf: out 0, lse -inf (NaN l: NaN both). */
        const float inv = lsum <= 0.0f ? 0.0f : 1.0f / lsum;
        T *out = act_row_mut<T>(p.out, p.out_strides, ab, seq.q0 + i, h);
#pragma unroll
        for (int c = 0; c < kDC; c++) {
            const int d = lane + 32 * c;
            if (d < D) out[d] = from_f32<T>(inv == 0.0f ? 0.0f : o[r][c] * inv); /* 0, not 0 * (0 * NaN v) */
        }
        if (p.lse != NULL && lane == 0)
            p.lse[lse_index(p, ab, h, seq.q0 + i)] = lsum <= 0.0f ? -INFINITY : m[r] + logf(lsum);
    }
}

template <typename T, int kD>
ax_status launch_simt(const ax_op_call *call, const attn_dev &a, cudaStream_t stream) {
    const size_t smem = simt_fwd_smem<kD>();
    AX_CHECK(attn_smem_check(call->ctx, "attention_forward (CUDA, SIMT)", smem));
    return ax_cuda_launch(attn_fwd_simt_kernel<T, kD>, "attn_fwd_simt_kernel", a.q_tiles * a.p.H * a.p.B,
                          kSimtThreads, smem, stream, a);
}

template <typename T>
ax_status dispatch_simt(const ax_op_call *call, const attn_dev &a, cudaStream_t stream) {
    switch (attn_padded_d(a.p.D)) {
    case 32: return launch_simt<T, 32>(call, a, stream);
    case 64: return launch_simt<T, 64>(call, a, stream);
    case 128: return launch_simt<T, 128>(call, a, stream);
    default: return launch_simt<T, 256>(call, a, stream);
    }
}

/* ================================================================================================
 * Tensor-core kernel (bf16 / f16, sm_80+)
 * ============================================================================================== */

/* Key tile: 64 keys, 32 at kD = 256 so that Q and two stages of K and V fit an A100's 163 KiB. */
template <int kD> constexpr int mma_keys() { return kD == 256 ? 32 : 64; }

/* q_s [kMmaRows][kD + 8], k_s and v_s [2][keys][kD + 8], 16-bit. The 8-element (16-byte) padding
 * puts the 8 rows each ldmatrix phase reads in 8 different bank groups. */
template <int kD>
constexpr size_t mma_fwd_smem() {
    return (size_t)(kMmaRows + 4 * mma_keys<kD>()) * (kD + 8) * 2;
}

/* Grid: (64-query tile, h, b), tile fastest. Warp w owns query rows w * 16 .. w * 16 + 15 of the
 * tile; lane holds rows ia = w * 16 + lane / 4 and ib = ia + 8, and in every 8-column accumulator
 * tile t the columns t * 8 + 2 (lane % 4) and + 1 (elements 0, 1 for ia; 2, 3 for ib). */
template <typename T, int kD>
__global__ void __launch_bounds__(kMmaThreads) attn_fwd_mma_kernel(const attn_dev a) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    constexpr int kS = kD + 8, kDB = kD / 16, kKeys = mma_keys<kD>(), kNT = kKeys / 8;
    constexpr float kLog2e = 1.4426950408889634f; /* exp(x) = exp2(x log2 e): one MUFU instruction */
    const attn_params &p = a.p;
    const int D = (int)p.D;
    T *q_s = reinterpret_cast<T *>(attn_fwd_smem);
    T *k_s = q_s + kMmaRows * kS; /* [2][kKeys][kS] */
    T *v_s = k_s + 2 * kKeys * kS;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, grp = lane >> 2, tig = lane & 3;

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
    const int64_t jt_first = lo < hi ? lo / kKeys : 0, jt_end = lo < hi ? (hi + kKeys - 1) / kKeys : 0;

    const T *k = act_row<T>(p.k, p.k_strides, ab, seq.k0, g), *v = act_row<T>(p.v, p.v_strides, ab, seq.k0, g);
    mma_load_rows<T, kD, kMmaThreads>(q_s, act_row<T>(p.q, p.q_strides, ab, seq.q0, h), p.q_strides.s, i0, kMmaRows,
                                      seq.nq, D);
    if (jt_first < jt_end) {
        mma_load_rows<T, kD, kMmaThreads>(k_s, k, p.k_strides.s, jt_first * kKeys, kKeys, seq.nk, D);
        mma_load_rows<T, kD, kMmaThreads>(v_s, v, p.v_strides.s, jt_first * kKeys, kKeys, seq.nk, D);
    }
    cp_async_commit();

    const int64_t ia = i0 + warp * 16 + grp, ib = ia + 8;
    int64_t rlo[2], rhi[2];
    row_key_range(p, ia, seq.nq, seq.nk, &rlo[0], &rhi[0]);
    row_key_range(p, ib, seq.nq, seq.nk, &rlo[1], &rhi[1]);
    float o[kD / 8][4];
#pragma unroll
    for (int t = 0; t < kD / 8; t++) o[t][0] = o[t][1] = o[t][2] = o[t][3] = 0.0f;
    float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};
    cp_async_wait_all();
    __syncthreads();

    for (int64_t jt = jt_first; jt < jt_end; jt++) {
        const int buf = (int)((jt - jt_first) & 1);
        if (jt + 1 < jt_end) { /* prefetch the next tile into the other buffer */
            mma_load_rows<T, kD, kMmaThreads>(k_s + (buf ^ 1) * kKeys * kS, k, p.k_strides.s, (jt + 1) * kKeys,
                                              kKeys, seq.nk, D);
            mma_load_rows<T, kD, kMmaThreads>(v_s + (buf ^ 1) * kKeys * kS, v, p.v_strides.s, (jt + 1) * kKeys,
                                              kKeys, seq.nk, D);
            cp_async_commit();
        }
        const T *kb = k_s + buf * kKeys * kS, *vb = v_s + buf * kKeys * kS;
        const int64_t j0 = jt * kKeys;

        /* S = Q K^T for the warp's 16 rows x kKeys keys, summed over dims in ascending 16-blocks. */
        float s[kNT][4];
#pragma unroll
        for (int t = 0; t < kNT; t++) s[t][0] = s[t][1] = s[t][2] = s[t][3] = 0.0f;
#pragma unroll
        for (int kk = 0; kk < kDB; kk++) {
            uint32_t qf[4];
            frag_a<kD>(qf, q_s, warp * 16, kk);
#pragma unroll
            for (int kp = 0; kp < kKeys / 16; kp++) {
                uint32_t r[4];
                frag_b_rows<kD>(r, kb, kp * 16, kk);
                mma16816(s[2 * kp], qf, r[0], r[1], (const T *)0);
                mma16816(s[2 * kp + 1], qf, r[2], r[3], (const T *)0);
            }
        }

        /* Logits (natural domain, as the SIMT kernel and the backward), masked to -inf. */
        float mx[2] = {-INFINITY, -INFINITY};
#pragma unroll
        for (int t = 0; t < kNT; t++) {
#pragma unroll
            for (int e = 0; e < 4; e++) {
                const int r = e >> 1;
                const int64_t i = r ? ib : ia, j = j0 + t * 8 + 2 * tig + (e & 1);
                float tc;
                const bool keep = j >= rlo[r] && j < rhi[r];
                s[t][e] = keep ? attn_logit(p, s[t][e], bias_at<T>(a, b, h, i, j), &tc) : -INFINITY;
                mx[r] = fmaxf(mx[r], s[t][e]);
            }
        }
        float ref[2];
#pragma unroll
        for (int r = 0; r < 2; r++) {
            const float m_new = fmaxf(m[r], quad_max(mx[r]));
            /* A row with only -inf so far subtracts 0, so exp gives 0 rather than NaN. */
            ref[r] = m_new == -INFINITY ? 0.0f : m_new;
            const float corr = exp2f((m[r] - ref[r]) * kLog2e);
            m[r] = m_new;
            l[r] *= corr;
#pragma unroll
            for (int t = 0; t < kD / 8; t++) {
                o[t][2 * r] *= corr;
                o[t][2 * r + 1] *= corr;
            }
        }
        /* P, rounded to T as the A fragment of P V (accumulator tiles 2c, 2c + 1 = A fragment c). */
        uint32_t pf[kKeys / 16][4];
#pragma unroll
        for (int t = 0; t < kNT; t++) {
            const float p0 = exp2f((s[t][0] - ref[0]) * kLog2e), p1 = exp2f((s[t][1] - ref[0]) * kLog2e);
            const float p2 = exp2f((s[t][2] - ref[1]) * kLog2e), p3 = exp2f((s[t][3] - ref[1]) * kLog2e);
            l[0] += p0 + p1;
            l[1] += p2 + p3;
            pf[t >> 1][(t & 1) * 2] = pack2(p0, p1, (const T *)0);
            pf[t >> 1][(t & 1) * 2 + 1] = pack2(p2, p3, (const T *)0);
        }
        /* O += P V over this tile's keys (ascending 16-key blocks). */
#pragma unroll
        for (int dp = 0; dp < kDB; dp++) {
#pragma unroll
            for (int kc = 0; kc < kKeys / 16; kc++) {
                uint32_t r[4];
                frag_b_trans<kD>(r, vb, kc * 16, dp);
                mma16816(o[2 * dp], pf[kc], r[0], r[1], (const T *)0);
                mma16816(o[2 * dp + 1], pf[kc], r[2], r[3], (const T *)0);
            }
        }
        if (jt + 1 < jt_end) cp_async_wait_all();
        __syncthreads(); /* the next iteration's prefetch overwrites this tile's buffer */
    }

    float inv[2];
#pragma unroll
    for (int r = 0; r < 2; r++) {
        l[r] = quad_sum(l[r]);
        /* l == 0 exactly when every logit of the row is -inf: out 0, lse -inf (NaN l: NaN both). */
        inv[r] = l[r] <= 0.0f ? 0.0f : 1.0f / l[r];
    }
    const bool a_ok = ia < seq.nq, b_ok = ib < seq.nq;
    T *out_a = a_ok ? act_row_mut<T>(p.out, p.out_strides, ab, seq.q0 + ia, h) : NULL;
    T *out_b = b_ok ? act_row_mut<T>(p.out, p.out_strides, ab, seq.q0 + ib, h) : NULL;
#pragma unroll
    for (int t = 0; t < kD / 8; t++) {
        const int d = t * 8 + 2 * tig;
        if (d >= D) continue;
        /* rows are 16-byte aligned (attn_rows_aligned), so a pair at an even dim is one 4-byte store */
        /* A fully masked row (inv 0) is written as 0: its o may hold 0 * NaN from a masked key's v. */
        if (a_ok)
            *reinterpret_cast<uint32_t *>(out_a + d) = pack2(inv[0] == 0.0f ? 0.0f : o[t][0] * inv[0],
                                                             inv[0] == 0.0f ? 0.0f : o[t][1] * inv[0], (const T *)0);
        if (b_ok)
            *reinterpret_cast<uint32_t *>(out_b + d) = pack2(inv[1] == 0.0f ? 0.0f : o[t][2] * inv[1],
                                                             inv[1] == 0.0f ? 0.0f : o[t][3] * inv[1], (const T *)0);
    }
    if (p.lse != NULL && tig == 0) {
        if (a_ok) p.lse[lse_index(p, ab, h, seq.q0 + ia)] = l[0] <= 0.0f ? -INFINITY : m[0] + logf(l[0]);
        if (b_ok) p.lse[lse_index(p, ab, h, seq.q0 + ib)] = l[1] <= 0.0f ? -INFINITY : m[1] + logf(l[1]);
    }
#elif defined(__CUDA_ARCH__)
    __trap(); /* device code below sm_80: mma_usable never sends work here */
#endif
}

template <typename T, int kD>
ax_status launch_mma(const ax_op_call *call, const attn_dev &a, cudaStream_t stream) {
    attn_dev m = a;
    m.q_tiles = ceil_div(a.p.cu_seqlens_q ? a.p.max_seqlen_q : a.p.Sq, kMmaRows);
    const size_t smem = mma_fwd_smem<kD>();
    AX_CHECK(attn_smem_check(call->ctx, "attention_forward (CUDA, tensor cores)", smem));
    return ax_cuda_launch(attn_fwd_mma_kernel<T, kD>, "attn_fwd_mma_kernel", m.q_tiles * m.p.H * m.p.B, kMmaThreads,
                          smem, stream, m);
}

template <typename T>
ax_status dispatch_mma(const ax_op_call *call, const attn_dev &a, cudaStream_t stream) {
    switch (attn_padded_d(a.p.D)) {
    case 32: return launch_mma<T, 32>(call, a, stream);
    case 64: return launch_mma<T, 64>(call, a, stream);
    case 128: return launch_mma<T, 128>(call, a, stream);
    default: return launch_mma<T, 256>(call, a, stream);
    }
}

/* The tensor-core kernel takes the call: 16-bit dtype, an sm_80+ device with its shared memory,
 * tensor cores not switched off, every row of q, k, v, out 16-byte aligned (cp.async, ldmatrix and
 * the paired stores). */
bool mma_usable(const ax_op_call *call, const attn_dev &a) {
    const attn_params &p = a.p;
    if (!AXIAL_CUDA_MMA) return false;
    if (p.dtype != AX_BF16 && p.dtype != AX_F16) return false;
    const ax_cuda_device_props *dev = ax_cuda_props(call->ctx);
    if (!ax_cuda_tensor_cores_usable(dev)) return false;
    const int kD = attn_padded_d(p.D);
    const size_t smem = kD == 32    ? mma_fwd_smem<32>()
                        : kD == 64  ? mma_fwd_smem<64>()
                        : kD == 128 ? mma_fwd_smem<128>()
                                    : mma_fwd_smem<256>();
    if ((int64_t)smem > dev->smem_optin_per_block) return false;
    return a.vec_q && a.vec_k && a.vec_v && a.vec_out;
}

} /* namespace */

extern "C" ax_status attention_forward_cuda_workspace(const ax_context *ctx, const void *params,
                                                      ax_op_workspace *need) {
    (void)ctx;
    (void)params;
    need->device_bytes = 0; /* no split-K: every row is one block's */
    return AX_OK;
}

extern "C" ax_status attention_forward_cuda(const ax_op_call *call) {
    const attn_params *p = static_cast<const attn_params *>(call->params);
    const attn_dev a = attn_make_dev(*p);
    if (a.q_tiles * p->H * p->B == 0) return AX_OK;
    const cudaStream_t stream = static_cast<cudaStream_t>(call->ctx->cuda_stream);
    switch (p->dtype) {
    case AX_F32: return dispatch_simt<float>(call, a, stream);
    case AX_BF16:
        return mma_usable(call, a) ? dispatch_mma<__nv_bfloat16>(call, a, stream)
                                   : dispatch_simt<__nv_bfloat16>(call, a, stream);
    case AX_F16:
        return mma_usable(call, a) ? dispatch_mma<__half>(call, a, stream) : dispatch_simt<__half>(call, a, stream);
    default: return ax_set_error(AX_ERR_UNSUPPORTED, "attention_forward (CUDA): dtype %s", ax_dtype_name(p->dtype));
    }
}
