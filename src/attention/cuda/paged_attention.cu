/*
 * paged_attention.cu — the CUDA kernels of ax_paged_attention.
 *
 * Grid: one CTA of 4 warps per (sequence, query tile, KV head, split), num_seqs x ceil(max_seqlen_q /
 * qt) x Hkv x splits (paged_cuda_queries_per_tile), so decode gets one CTA per (sequence, KV head)
 * and split, and a prefill chunk is tiled over its queries. CTAs whose tile lies past the sequence's
 * queries return at once: the host never reads the index tensors (no synchronisation), so the grid
 * is sized from the hints. Each warp takes one query row (query, head) at a time: its q row, scaled,
 * sits in shared memory; the lanes score 32 keys at once (lane j the key c + j, reading its block id
 * through the block table), the warp updates an online softmax, and the 32 probabilities are
 * broadcast in key order to accumulate V, each lane owning D / 32 output columns (D <= 256).
 *
 * Indices are trusted but never followed out of bounds: cu_seqlens_q is clipped to [0, T], a context
 * to [0, max_blocks * block_size], and a block id outside [0, num_blocks) reads as a masked block
 * (a row whose keys are all masked gets out = 0, lse = -inf).
 *
 * Split-K: each split leaves (m, l, acc) for its rows in the device workspace; a second kernel with
 * the same (sequence, tile, KV head) grid folds the splits in split order (deterministic).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <math.h>

#include "attention/attention_params.h"
#include "core/cuda/convert.cuh"
#include "core/cuda/launch.cuh"
#include "core/cuda/reduce.cuh"

namespace {

constexpr int kWarps = 4;
constexpr int kThreads = kWarps * 32;
constexpr int kMaxD = 256;
constexpr int kPerLane = kMaxD / 32;

/* The one argument of both kernels (ax_cuda_launch passes one). */
struct paged_args {
    paged_attn_params p;
    int64_t tiles;   /* query tiles per sequence */
    float *partials; /* split-K (m, l, acc) per row and split; NULL without splits */
};

/* An f8_e4m3fn element, so the kernels can be templated on the cache's element type. */
struct fp8e4m3 {
    uint8_t bits;
};

__device__ __forceinline__ float elem_f32(float x) { return x; }
__device__ __forceinline__ float elem_f32(__nv_bfloat16 x) { return __bfloat162float(x); }
__device__ __forceinline__ float elem_f32(__half x) { return __half2float(x); }
__device__ __forceinline__ float elem_f32(int8_t x) { return (float)x; }
__device__ __forceinline__ float elem_f32(fp8e4m3 x) { return ax_cvt_fp8_to_f32(x.bits, ax_fp8_e4m3fn()); }

struct seq_rows {
    int64_t q0, n, ctx;
};

__device__ __forceinline__ int64_t clamp64(int64_t x, int64_t lo, int64_t hi) { return x < lo ? lo : x > hi ? hi : x; }

__device__ __forceinline__ seq_rows sequence(const paged_attn_params &p, int64_t s) {
    seq_rows r;
    const int64_t a = clamp64(p.cu_seqlens_q[s], 0, p.T), e = clamp64(p.cu_seqlens_q[s + 1], a, p.T);
    r.q0 = a;
    r.n = e - a;
    r.ctx = clamp64(p.context_lens[s], 0, p.max_blocks * p.block_size);
    return r;
}

/* Keys [lo, hi) query i may see (bottom-right aligned); lo >= hi when none. */
__device__ __forceinline__ void key_range(const paged_attn_params &p, int64_t i, const seq_rows &sq, int64_t *lo,
                                          int64_t *hi) {
    const int64_t pos = i + sq.ctx - sq.n;
    int64_t a = 0, e = sq.ctx;
    if (p.window_left >= 0 && pos - p.window_left > a) a = pos - p.window_left;
    if (p.window_right >= 0 && pos + p.window_right + 1 < e) e = pos + p.window_right + 1;
    *lo = a;
    *hi = e;
}

/* Decodes the CTA's (sequence, tile, KV head[, split]) and the tile's rows. */
struct cta_work {
    int64_t s, g, i0, nq;
    int sp;
    seq_rows sq;
};

__device__ __forceinline__ bool cta_decode(const paged_attn_params &p, int64_t tiles, int splits, cta_work *w) {
    int64_t idx = blockIdx.x;
    w->sp = (int)(idx % splits);
    idx /= splits;
    w->g = idx % p.Hkv;
    idx /= p.Hkv;
    const int64_t tile = idx % tiles;
    w->s = idx / tiles;
    w->sq = sequence(p, w->s);
    const int64_t qt = paged_cuda_queries_per_tile(p.group);
    w->i0 = tile * qt;
    if (w->i0 >= w->sq.n) return false;
    w->nq = w->sq.n - w->i0 < qt ? w->sq.n - w->i0 : qt;
    return true;
}

template <typename QT>
__device__ __forceinline__ void finish_row(const paged_attn_params &p, int64_t t, int64_t h, float m, float l,
                                           const float acc[kPerLane], int lane) {
    const float inv = l <= 0.0f ? 0.0f : 1.0f / l; /* NaN l (a NaN logit): NaN out and lse */
    QT *out = static_cast<QT *>(p.out) + t * p.out_stride_t + h * p.out_stride_h;
#pragma unroll
    for (int k = 0; k < kPerLane; k++) {
        const int64_t d = lane + 32 * k;
        if (d < p.D) out[d] = from_f32<QT>(inv == 0.0f ? 0.0f : acc[k] * inv); /* a row that saw no key: 0 */
    }
    if (p.lse != nullptr && lane == 0)
        p.lse[h * p.lse_stride_h + t * p.lse_stride_t] = l <= 0.0f ? -INFINITY : m + logf(l);
}

template <typename QT, typename CT>
__global__ void __launch_bounds__(kThreads) paged_attention_kernel(paged_args args) {
    __shared__ float q_shared[kWarps][kMaxD];
    const paged_attn_params &p = args.p;
    const int64_t tiles = args.tiles;
    float *partials = args.partials;
    const int splits = p.num_splits;
    cta_work w;
    if (!cta_decode(p, tiles, splits, &w)) return;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int64_t D = p.D, bs = p.block_size, group = p.group, rows = w.nq * group;

    /* The tile's keys, cut into splits of whole blocks (as the CPU does). */
    int64_t klo, khi, unused;
    key_range(p, w.i0, w.sq, &klo, &unused);
    key_range(p, w.i0 + w.nq - 1, w.sq, &unused, &khi);
    const int64_t b0 = klo / bs, b1 = khi > klo ? (khi + bs - 1) / bs : b0, nb = b1 - b0;
    const int64_t split_lo = (b0 + nb * w.sp / splits) * bs, split_hi = (b0 + nb * (w.sp + 1) / splits) * bs;

    const CT *kc = static_cast<const CT *>(p.k_cache);
    const CT *vc = static_cast<const CT *>(p.v_cache);
    const QT *q = static_cast<const QT *>(p.q);
    float *qs = q_shared[warp];

    for (int64_t r = warp; r < rows; r += kWarps) {
        const int64_t i = w.i0 + r / group, h = w.g * group + r % group, t = w.sq.q0 + i;
        for (int64_t d = lane; d < D; d += 32) qs[d] = elem_f32(q[t * p.q_stride_t + h * p.q_stride_h + d]) * p.scale;
        __syncwarp();
        int64_t lo, hi;
        key_range(p, i, w.sq, &lo, &hi);
        const int64_t a = lo > split_lo ? lo : split_lo, e = hi < split_hi ? hi : split_hi;
        float m = -INFINITY, l = 0.0f, acc[kPerLane];
#pragma unroll
        for (int k = 0; k < kPerLane; k++) acc[k] = 0.0f;

        for (int64_t c = a; c < e; c += 32) {
            const int64_t j = c + lane;
            float score = -INFINITY, vscale = 1.0f;
            long long blk = -1;
            if (j < e) {
                const int64_t id = p.block_table[w.s * p.bt_stride_s + (j / bs) * p.bt_stride_b];
                if (id >= 0 && id < p.num_blocks) {
                    blk = id;
                    const CT *kr = kc + id * p.kc_stride_blk + (j % bs) * p.kc_stride_row + w.g * p.kc_stride_h;
                    float x = 0.0f;
                    for (int64_t d = 0; d < D; d++) x += qs[d] * elem_f32(kr[d]);
                    if (p.k_scales != nullptr)
                        x *= kv_quant_live_scale(p.k_scales[id * p.ks_stride_blk + w.g * p.ks_stride_h]);
                    if (p.v_scales != nullptr)
                        vscale = kv_quant_live_scale(p.v_scales[id * p.vs_stride_blk + w.g * p.vs_stride_h]);
                    if (p.softcap > 0.0f) x = p.softcap * tanhf(x / p.softcap);
                    score = x;
                }
            }
            const float chunk_max = warp_max(score); /* fmaxf skips NaN: the flag keeps it */
            const bool nan = __any_sync(0xffffffffu, score != score);
            if (chunk_max == -INFINITY && !nan) continue; /* the whole warp agrees */
            const float m_new = fmaxf(m, chunk_max);
            const float corr = expf(m - m_new); /* 0 while m is -inf */
            const float prob = score == -INFINITY ? 0.0f : expf(score - m_new);
            l = l * corr + warp_sum(prob);
            m = m_new;
#pragma unroll
            for (int k = 0; k < kPerLane; k++) acc[k] *= corr;
            for (int jj = 0; jj < 32; jj++) {
                const float pj = __shfl_sync(0xffffffffu, prob, jj);
                const long long bj = __shfl_sync(0xffffffffu, blk, jj);
                const float sj = __shfl_sync(0xffffffffu, vscale, jj);
                if (pj == 0.0f) continue; /* uniform across the warp */
                const CT *vr = vc + bj * p.vc_stride_blk + ((c + jj) % bs) * p.vc_stride_row + w.g * p.vc_stride_h;
                const float ps = pj * sj;
#pragma unroll
                for (int k = 0; k < kPerLane; k++) {
                    const int64_t d = lane + 32 * k;
                    if (d < D) acc[k] += ps * elem_f32(vr[d]);
                }
            }
        }

        if (splits == 1) {
            finish_row<QT>(p, t, h, m, l, acc, lane);
        } else {
            float *part = partials + ((t * p.H + h) * splits + w.sp) * (D + 2);
            if (lane == 0) part[0] = m, part[1] = l;
#pragma unroll
            for (int k = 0; k < kPerLane; k++) {
                const int64_t d = lane + 32 * k;
                if (d < D) part[2 + d] = acc[k];
            }
        }
        __syncwarp(); /* q_shared is rewritten for the next row */
    }
}

/* Folds each row's splits in split order: the grid of the main kernel without its split factor. */
template <typename QT> __global__ void __launch_bounds__(kThreads) paged_combine_kernel(paged_args args) {
    const paged_attn_params &p = args.p;
    const int64_t tiles = args.tiles;
    const float *partials = args.partials;
    const int splits = p.num_splits;
    cta_work w;
    if (!cta_decode(p, tiles, 1, &w)) return;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int64_t D = p.D, rows = w.nq * p.group;
    for (int64_t r = warp; r < rows; r += kWarps) {
        const int64_t t = w.sq.q0 + w.i0 + r / p.group, h = w.g * p.group + r % p.group;
        const float *part = partials + (t * p.H + h) * splits * (D + 2);
        float m = -INFINITY;
        bool nan = false; /* a split that met a NaN logit has l NaN: so has the row */
        for (int k = 0; k < splits; k++) {
            m = fmaxf(m, part[k * (D + 2)]);
            nan |= part[k * (D + 2) + 1] != part[k * (D + 2) + 1];
        }
        float l = nan ? NAN : 0.0f, acc[kPerLane];
#pragma unroll
        for (int k = 0; k < kPerLane; k++) acc[k] = nan ? NAN : 0.0f;
        if (!nan && m > -INFINITY) {
            for (int k = 0; k < splits; k++) {
                const float *pk = part + k * (D + 2);
                if (pk[1] == 0.0f) continue;
                const float wk = expf(pk[0] - m);
                l += pk[1] * wk;
#pragma unroll
                for (int c = 0; c < kPerLane; c++) {
                    const int64_t d = lane + 32 * c;
                    if (d < D) acc[c] += wk * pk[2 + d];
                }
            }
        }
        finish_row<QT>(p, t, h, m, l, acc, lane);
    }
}

template <typename QT, typename CT> ax_status launch(const ax_op_call *call, const paged_attn_params *p) {
    const int64_t qt = paged_cuda_queries_per_tile(p->group);
    const int64_t tiles = (p->max_seqlen_q + qt - 1) / qt;
    const int64_t ctas = p->num_seqs * tiles * p->Hkv;
    cudaStream_t stream = static_cast<cudaStream_t>(call->ctx->cuda_stream);
    paged_args args;
    args.p = *p;
    args.tiles = tiles;
    args.partials = static_cast<float *>(call->device_ws);
    AX_CHECK(ax_cuda_launch(paged_attention_kernel<QT, CT>, "paged_attention_kernel", ctas * p->num_splits, kThreads, 0,
                            stream, args));
    if (p->num_splits > 1)
        AX_CHECK(ax_cuda_launch(paged_combine_kernel<QT>, "paged_combine_kernel", ctas, kThreads, 0, stream, args));
    return AX_OK;
}

template <typename QT> ax_status launch_for_cache(const ax_op_call *call, const paged_attn_params *p) {
    switch (p->cache_dtype) {
    case AX_I8: return launch<QT, int8_t>(call, p);
    case AX_F8_E4M3FN: return launch<QT, fp8e4m3>(call, p);
    default: return launch<QT, QT>(call, p); /* a float cache has q's dtype */
    }
}

} /* namespace */

extern "C" ax_status paged_attention_cuda(const ax_op_call *call) {
    const paged_attn_params *p = static_cast<const paged_attn_params *>(call->params);
    switch (p->dtype) {
    case AX_BF16: return launch_for_cache<__nv_bfloat16>(call, p);
    case AX_F16: return launch_for_cache<__half>(call, p);
    default: return launch_for_cache<float>(call, p);
    }
}
