/*
 * attn_common.cuh — what the CUDA attention kernels (attention_fwd.cu, attention_bwd.cu) share: the
 * kernel argument block, activation and bias addressing for padded and packed batches, the logit
 * (scale, soft-cap, bias, mask) exactly as both directions compute it, the query range that can see
 * a key range (the inverse of attn_key_range), the fp32 tile loader of the SIMT kernels, and the
 * host-side helpers (head-dim bucket, 16-byte row alignment, block counts). Semantics are those of
 * include/axial/attention.h; params in attention_params.h.
 *
 * C++, included by .cu files only; everything is internal to the including file.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_ATTENTION_CUDA_ATTN_COMMON_CUH
#define AXIAL_ATTENTION_CUDA_ATTN_COMMON_CUH

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>

#include "attention/attention_params.h"
#include "core/cuda/convert.cuh"
#include "core/cuda/device.h"
#include "core/cuda/launch.cuh"
#include "core/cuda/vec.cuh"
#include "core/internal.h"

namespace {

constexpr int kTile = 32; /* SIMT kernels: queries per query tile = keys per key tile */

/* What every kernel receives, by value. */
struct attn_dev {
    attn_params p;
    float *delta;      /* backward: rowsum(dout * out), [token][H] (attn_token), fp32 scratch */
    int64_t q_tiles;   /* query tiles per (b, h): ceil(longest query sequence / tile) */
    int64_t k_tiles;   /* key tiles per (b, g): ceil(longest key sequence / tile) */
    int64_t kv_tokens; /* backward: rows of dk / dv (B * Sk padded, Tk packed) */
    /* 1 when every 8-element chunk of the tensor's rows starts 16-byte aligned (vector loads) */
    bool vec_q, vec_k, vec_v, vec_out, vec_dout;
    bool bias_f32;     /* the bias (and dbias) is fp32, else the activation dtype */
};

/* ceil(a / b) for non-negative a, positive b, in device code (launch.cuh's ceil_div is host-only). */
__host__ __device__ __forceinline__ int64_t ceil_div_dev(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* The activation batch index: packed batches address (T, H, D) as (1, T, H, D), so b is 0 there. */
__device__ __forceinline__ int64_t act_b(const attn_params &p, int64_t b) { return p.cu_seqlens_q ? 0 : b; }

/* Row `row` (token index along the S dim, i.e. seq.q0 + i) of head `head` of a (B, S, H, D) or
 * packed activation. */
template <typename T>
__device__ __forceinline__ const T *act_row(const void *base, const attn_strides &s, int64_t ab, int64_t row,
                                            int64_t head) {
    return static_cast<const T *>(base) + ab * s.b + row * s.s + head * s.h;
}
template <typename T>
__device__ __forceinline__ T *act_row_mut(void *base, const attn_strides &s, int64_t ab, int64_t row, int64_t head) {
    return static_cast<T *>(base) + ab * s.b + row * s.s + head * s.h;
}

/* lse[b, h, row] ((B, H, Sq) padded; (H, Tq) packed, where ab is 0). */
__device__ __forceinline__ int64_t lse_index(const attn_params &p, int64_t ab, int64_t h, int64_t row) {
    return ab * p.lse_stride_b + h * p.lse_stride_h + row * p.lse_stride_s;
}

/* The query token of row `row` of batch ab: the index into the backward's delta, [token][H]. */
__device__ __forceinline__ int64_t attn_token(const attn_params &p, int64_t ab, int64_t row) {
    return ab * p.Sq + row;
}

/* bias[b, h, i, j] with i, j counted within the sequence (broadcast dims have stride 0); 0 without
 * a bias. */
template <typename T>
__device__ __forceinline__ float bias_at(const attn_dev &a, int64_t b, int64_t h, int64_t i, int64_t j) {
    const attn_params &p = a.p;
    if (p.bias == NULL) return 0.0f;
    return load_t_or_f32<T>(p.bias, a.bias_f32,
                        b * p.bias_stride_b + h * p.bias_stride_h + i * p.bias_stride_i + j * p.bias_stride_j);
}

/* The logit of a raw dot product s = q . k, before the mask: scale, soft-cap, then bias. *t is
 * tanh(s * scale / softcap) when soft-capping (the backward's 1 - t^2), else 0. Forward and
 * backward call this one function so that the backward's P is the forward's. */
__device__ __forceinline__ float attn_logit(const attn_params &p, float s, float bias, float *t) {
    float x = s * p.scale;
    *t = 0.0f;
    if (p.softcap > 0.0f) {
        *t = tanhf(x / p.softcap);
        x = p.softcap * *t;
    }
    return x + bias;
}

/* The queries [*lo, *hi) of a sequence (nq queries, nk keys) that may see at least one key of
 * [ja, jb) (ja < jb <= nk): the inverse of attn_key_range. Both ends of a query's key range grow
 * with the query, so the set is an interval: hi(i) > ja holds from some query on, lo(i) < jb up to
 * some query. A query inside it may still see none (an empty window); its elements are masked. */
__device__ __forceinline__ void attn_query_range(const attn_params &p, int64_t ja, int64_t jb, int64_t nq,
                                                 int64_t nk, int64_t *lo, int64_t *hi) {
    const int64_t shift = nk - nq; /* query i sits at key position i + shift */
    int64_t a = 0, e = nq;
    if (p.window_right >= 0 && ja - p.window_right - shift > a) a = ja - p.window_right - shift;
    if (p.window_left >= 0 && jb + p.window_left - shift < e) e = jb + p.window_left - shift;
    *lo = a, *hi = e;
}

/* Key range of query i, empty for a query past nq (rows of a partial tile). */
__device__ __forceinline__ void row_key_range(const attn_params &p, int64_t i, int64_t nq, int64_t nk, int64_t *lo,
                                              int64_t *hi) {
    if (i >= nq) {
        *lo = 0, *hi = 0;
        return;
    }
    attn_key_range(&p, i, nq, nk, lo, hi);
}

/* Loads rows [row0, row0 + kTile) x dims [0, kD) of one head (row r at base + r * row_stride) as
 * fp32 into dst ([kTile][ld], ld = kD or kD + 1). Rows at or past `rows` (the sequence's end) and
 * dims at or past D are zero, so they add nothing to a dot product. Coalesced along d. */
template <typename T, int kD>
__device__ __forceinline__ void load_tile_f32(float *dst, int ld, const T *base, int64_t row_stride, int64_t row0,
                                              int64_t rows, int D, bool vec, int nthreads) {
    constexpr int chunks = kD / 8;
#pragma unroll 1
    for (int idx = threadIdx.x; idx < kTile * chunks; idx += nthreads) {
        const int r = idx / chunks, c = idx % chunks;
        float v[8];
        if (row0 + r < rows && c * 8 < D) {
            load8(base + (row0 + r) * row_stride + 8 * c, vec, v);
        } else {
#pragma unroll
            for (int e = 0; e < 8; e++) v[e] = 0.0f;
        }
        if (ld == kD) {
            store8(dst + r * kD + 8 * c, true, v);
        } else {
#pragma unroll
            for (int e = 0; e < 8; e++) dst[r * ld + 8 * c + e] = v[e];
        }
    }
}

/* Dot products of a warp's kRows query-like rows (rows of a [kTile][kD] tile a_s, read as
 * broadcasts) with one key-like row per lane (row `lane` of a [kTile][kD + 1] tile b_s, whose odd
 * row stride puts the 32 lanes in 32 banks), over dims [0, D) in ascending order. */
template <int kD, int kRows>
__device__ __forceinline__ void warp_dots(const float *a_s, int row0, const float *b_s, int lane, int D,
                                          float out[kRows]) {
#pragma unroll
    for (int r = 0; r < kRows; r++) out[r] = 0.0f;
    const float *brow = b_s + lane * (kD + 1);
#pragma unroll 2
    for (int d = 0; d < D; d += 4) {
        const float b0 = brow[d], b1 = brow[d + 1], b2 = brow[d + 2], b3 = brow[d + 3];
#pragma unroll
        for (int r = 0; r < kRows; r++) {
            const float4 q = *reinterpret_cast<const float4 *>(a_s + (row0 + r) * kD + d);
            out[r] = fmaf(q.x, b0, out[r]);
            out[r] = fmaf(q.y, b1, out[r]);
            out[r] = fmaf(q.z, b2, out[r]);
            out[r] = fmaf(q.w, b3, out[r]);
        }
    }
}

/* ---- host side ------------------------------------------------------------------------------- */

/* The head dim rounded up to a kernel bucket. */
inline int attn_padded_d(int64_t D) { return D <= 32 ? 32 : D <= 64 ? 64 : D <= 128 ? 128 : 256; }

/* Every 8-element chunk of every row of the tensor starts 16-byte aligned: base aligned and every
 * stride of a dim that is stepped a multiple of 16 bytes (D itself is a multiple of 8). */
inline bool attn_rows_aligned(const void *ptr, const attn_strides &s, const attn_params &p, int64_t rows,
                              int64_t heads) {
    if (ptr == NULL) return false;
    const int64_t step = 16 / (int64_t)ax_dtype_size(p.dtype);
    if ((uintptr_t)ptr % 16 != 0) return false;
    if (p.cu_seqlens_q == NULL && p.B > 1 && s.b % step != 0) return false;
    if (rows > 1 && s.s % step != 0) return false;
    if (heads > 1 && s.h % step != 0) return false;
    return true;
}

/* The common part of the argument block. */
inline attn_dev attn_make_dev(const attn_params &p) {
    attn_dev a;
    a.p = p;
    a.delta = NULL;
    const int64_t max_q = p.cu_seqlens_q ? p.max_seqlen_q : p.Sq;
    const int64_t max_k = p.cu_seqlens_q ? p.max_seqlen_k : p.Sk;
    a.q_tiles = ceil_div(max_q, kTile);
    a.k_tiles = ceil_div(max_k, kTile);
    a.kv_tokens = p.cu_seqlens_q ? p.Sk : p.B * p.Sk;
    a.vec_q = attn_rows_aligned(p.q, p.q_strides, p, p.Sq, p.H);
    a.vec_k = attn_rows_aligned(p.k, p.k_strides, p, p.Sk, p.Hkv);
    a.vec_v = attn_rows_aligned(p.v, p.v_strides, p, p.Sk, p.Hkv);
    a.vec_out = attn_rows_aligned(p.out, p.out_strides, p, p.Sq, p.H);
    a.vec_dout = attn_rows_aligned(p.dout, p.dout_strides, p, p.Sq, p.H);
    a.bias_f32 = p.bias != NULL && p.bias_dtype == AX_F32;
    return a;
}

/* AX_ERR_UNSUPPORTED unless a block of `what` may use `smem` bytes of shared memory on ctx's device. */
inline ax_status attn_smem_check(const ax_context *ctx, const char *what, size_t smem) {
    const ax_cuda_device_props *dev = ax_cuda_props(ctx);
    if (dev != NULL && (int64_t)smem > dev->smem_optin_per_block)
        return ax_set_error(AX_ERR_UNSUPPORTED,
                            "%s: needs %zu bytes of shared memory per block at this head dim; the device offers %lld",
                            what, smem, (long long)dev->smem_optin_per_block);
    return AX_OK;
}

} /* namespace */

#endif /* AXIAL_ATTENTION_CUDA_ATTN_COMMON_CUH */
