/*
 * attention_params.h — the parameter structs of the attention ops (include/axial/attention.h),
 * filled and validated on the host by their entries and read by the CPU and CUDA kernels. Plain C,
 * so .cu files include it too.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_ATTENTION_PARAMS_H
#define AXIAL_ATTENTION_PARAMS_H

#include <float.h>
#include <math.h>
#include <stdint.h>

#include "axial/axial.h"
#include "core/fp_codecs.h"
#include "core/op.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Element strides of a (B, S, H, D) activation; packed batches use b = 0 and s as the token stride
 * (the (T, H, D) tensor seen as (1, T, H, D)). The D stride is 1. */
typedef struct attn_strides {
    int64_t b, s, h;
} attn_strides;

/* The default scale 1 / sqrt(D), rounded once from double: ax_attention_* and ax_paged_attention
 * share it, so a decode step over the paged cache scales exactly as a prefill over contiguous KV. */
static inline float attn_default_scale(int64_t D) { return (float)(1.0 / sqrt((double)(D > 0 ? D : 1))); }

/* ax_attention_forward / ax_attention_backward (attention.c, cpu/, cuda/). */
typedef struct attn_params {
    /* sizes: padded batches B, Sq, Sk; packed batches B sequences, Sq = Tq, Sk = Tk (the longest
     * sequence is bounded by them) */
    int64_t B, Sq, Sk, H, Hkv, D;
    int64_t group;            /* H / Hkv */
    ax_dtype dtype;           /* q, k, v, out, dout, dq, dk, dv */
    float scale;              /* resolved (never 0) */
    float softcap;            /* 0: none */
    int64_t window_left, window_right; /* resolved: causal sets right = 0; -1 unbounded */

    /* packed batches: NULL when padded. int32, B + 1 entries, on the context's device. */
    const int32_t *cu_seqlens_q, *cu_seqlens_k;
    int64_t max_seqlen_q, max_seqlen_k; /* CUDA grid hints (resolved: never 0) */

    const void *q, *k, *v;
    attn_strides q_strides, k_strides, v_strides;
    void *out;                /* forward: written; backward: read */
    attn_strides out_strides;
    float *lse;               /* (B, H, Sq) or (H, Tq); NULL in a forward that does not want it */
    int64_t lse_stride_b, lse_stride_h, lse_stride_s;

    /* bias (B|1, H|1, Sq|1, Sk|1); broadcast dims have stride 0, so (b, h, i, j) indexing is right.
     * NULL when absent. */
    const void *bias;
    ax_dtype bias_dtype;
    int64_t bias_stride_b, bias_stride_h, bias_stride_i, bias_stride_j;

    /* backward only */
    const void *dout;
    attn_strides dout_strides;
    void *dq, *dk, *dv;
    attn_strides dq_strides, dk_strides, dv_strides;
    /* dbias: bias's shape (a size-1 dim receives the sum over that axis); NULL = not wanted */
    void *dbias;
    int64_t dbias_shape_b, dbias_shape_h, dbias_shape_i, dbias_shape_j;
    int64_t dbias_stride_b, dbias_stride_h, dbias_stride_i, dbias_stride_j;
} attn_params;

/* The rows of one sequence: query/key row ranges in the (B, S, ...) or packed layout. */
typedef struct attn_seq {
    int64_t q0, nq;           /* first query row (token index in the S dim) and count */
    int64_t k0, nk;
} attn_seq;

/* Sequence b's rows; for packed batches clipped to [0, Sq] / [0, Sk] and to the max_seqlen hints
 * (CUDA trusts cu_seqlens and the hints; on CPU the entry checked both, so nothing is cut). */
AX_HOST_DEVICE static inline attn_seq attn_sequence(const attn_params *p, int64_t b) {
    attn_seq s;
    if (p->cu_seqlens_q == 0) {
        s.q0 = 0, s.nq = p->Sq, s.k0 = 0, s.nk = p->Sk;
        return s;
    }
    int64_t a = p->cu_seqlens_q[b], e = p->cu_seqlens_q[b + 1];
    a = a < 0 ? 0 : a > p->Sq ? p->Sq : a;
    e = e < a ? a : e > p->Sq ? p->Sq : e;
    s.q0 = a, s.nq = e - a;
    a = p->cu_seqlens_k[b], e = p->cu_seqlens_k[b + 1];
    a = a < 0 ? 0 : a > p->Sk ? p->Sk : a;
    e = e < a ? a : e > p->Sk ? p->Sk : e;
    s.k0 = a, s.nk = e - a;
    /* A sequence longer than the max_seqlen hints (possible only on CUDA, where the host trusts them)
     * is cut to them, so no grid, tile or bias index goes past what the host sized and checked. */
    if (s.nq > p->max_seqlen_q) s.nq = p->max_seqlen_q;
    if (s.nk > p->max_seqlen_k) s.nk = p->max_seqlen_k;
    return s;
}

/* Keys [*lo, *hi) that query i (0-based within its sequence of nq queries and nk keys) may see,
 * from the bottom-right aligned window; an empty range when lo >= hi. */
AX_HOST_DEVICE static inline void attn_key_range(const attn_params *p, int64_t i, int64_t nq, int64_t nk, int64_t *lo,
                                                 int64_t *hi) {
    const int64_t pos = i + nk - nq;
    int64_t a = 0, e = nk;
    if (p->window_left >= 0 && pos - p->window_left > a) a = pos - p->window_left;
    if (p->window_right >= 0 && pos + p->window_right + 1 < e) e = pos + p->window_right + 1;
    *lo = a, *hi = e;
}

ax_status attention_forward_cuda(const ax_op_call *call);
ax_status attention_backward_cuda(const ax_op_call *call);
/* .cuda_workspace of the two ops (cuda/attention_fwd.cu, cuda/attention_bwd.cu): the forward needs
 * none; the backward takes rowsum(dout * out) per query row and head, fp32 (device_bytes). */
ax_status attention_forward_cuda_workspace(const ax_context *ctx, const void *params, ax_op_workspace *need);
ax_status attention_backward_cuda_workspace(const ax_context *ctx, const void *params, ax_op_workspace *need);

/* ax_paged_attention (paged_attention.c, cpu/, cuda/). */
typedef struct paged_attn_params {
    int64_t T, H, Hkv, D, group;
    int64_t num_seqs, num_blocks, block_size, max_blocks;
    ax_dtype dtype;            /* q, out */
    ax_dtype cache_dtype;      /* k_cache, v_cache: dtype, or AX_I8 / AX_F8_E4M3FN with scales */
    float scale, softcap;
    int64_t window_left, window_right; /* resolved: causal sets right = 0 */
    int32_t num_splits;        /* resolved by the backend when 0 */
    int64_t max_seqlen_q, max_context_len;

    const void *q;
    int64_t q_stride_t, q_stride_h;
    const void *k_cache, *v_cache;
    int64_t kc_stride_blk, kc_stride_row, kc_stride_h; /* D contiguous */
    int64_t vc_stride_blk, vc_stride_row, vc_stride_h;
    const float *k_scales, *v_scales; /* (num_blocks, Hkv) or NULL */
    int64_t ks_stride_blk, ks_stride_h, vs_stride_blk, vs_stride_h;
    const int32_t *block_table;
    int64_t bt_stride_s, bt_stride_b;
    const int32_t *context_lens, *cu_seqlens_q;
    void *out;
    int64_t out_stride_t, out_stride_h;
    float *lse;                /* (H, T) or NULL */
    int64_t lse_stride_h, lse_stride_t;
} paged_attn_params;

ax_status paged_attention_cuda(const ax_op_call *call);

/* CUDA: queries per CTA tile (about 16 query rows, qt * group, per CTA of 4 warps), so the grid is
 * num_seqs x ceil(max_seqlen_q / qt) x Hkv x splits; shared by the entry (split choice, workspace)
 * and the kernels. */
AX_HOST_DEVICE static inline int64_t paged_cuda_queries_per_tile(int64_t group) { return group >= 16 ? 1 : 16 / group; }

/* ax_kv_cache_append. */
typedef struct kv_append_params {
    int64_t T, Hkv, D, num_blocks, block_size;
    ax_dtype dtype, cache_dtype, slot_dtype; /* slot_dtype AX_I32 or AX_I64 */
    const void *k, *v;
    int64_t k_stride_t, k_stride_h, v_stride_t, v_stride_h;
    const void *slot_mapping;
    void *k_cache, *v_cache;
    int64_t kc_stride_blk, kc_stride_row, kc_stride_h;
    int64_t vc_stride_blk, vc_stride_row, vc_stride_h;
    float *k_scales, *v_scales;
    int64_t ks_stride_blk, ks_stride_h, vs_stride_blk, vs_stride_h;
} kv_append_params;

ax_status kv_cache_append_cuda(const ax_op_call *call);

/* ---- KV-cache quantization rules (ax_kv_cache_append): one definition for the CPU and CUDA kernels,
 * so both store the same bytes. All arithmetic is fp32, one rounding per operation:
 *   want   = amax / Q                 amax = max |x| over the row's finite values, Q = 127 (i8), 448 (fp8)
 *   scale' = want when scale is 0 (a fresh block); else scale * 2^k for the least k >= 0 with
 *            scale * 2^k >= want
 *   code   = i8: rint(x / scale') clamped to [-127, 127] (nearest even; NaN -> 0)
 *            f8_e4m3fn: ax_cvt_f32_to_fp8(x / scale') (nearest even, as ax_f32_to_f8_e4m3fn)
 *            0 when scale' is 0
 *   when scale' > scale, every row of the (block, head) is first requantized: code <- quant(c / 2^k),
 *   c the code's value (the i8 integer, the fp8 number); all codes 0 when scale was 0 (the block held
 *   nothing yet).
 * Why powers of two: c / 2^k is exact, so each growth rounds a code once, by at most half a step of
 * the new scale, and the steps of a block's growths sum to less than one step of its final scale.
 * With scale' = max(scale, want), a block whose rows' amax rose slowly rounded its early codes at
 * every growth; small codes stayed put while the scale grew, so early rows read back inflated (i8,
 * block 256, amax +0.35 % a row: row 0 at 2.4x its value). The price: a row may be stored with up to
 * twice the scale it alone would need (one bit of resolution). */

AX_HOST_DEVICE static inline int kv_quant_is_quantized(ax_dtype dt) { return dt == AX_I8 || dt == AX_F8_E4M3FN; }

/* A stored scale that is not > 0 (0, negative, NaN) marks a block that holds nothing yet. */
AX_HOST_DEVICE static inline float kv_quant_live_scale(float s) { return s > 0.0f ? s : 0.0f; }

/* The running |x| maximum over finite x: a NaN or an infinity is passed over (an infinite amax would
 * make the block's scale infinite, zero every row already in it and read back every later row as
 * 0 * inf = NaN). The infinity itself saturates (+-127 in i8) when the block's scale is > 0, and is
 * stored as 0 when it is 0. */
AX_HOST_DEVICE static inline float kv_quant_amax(float amax, float x) {
    const float a = fabsf(x);
    return a > amax && a <= FLT_MAX ? a : amax;
}

AX_HOST_DEVICE static inline float kv_quant_next_scale(float cur, float amax, ax_dtype dt) {
    const float want = amax / (dt == AX_I8 ? 127.0f : 448.0f);
    if (!(cur > 0.0f)) return want;
    /* Doubling is exact and stays finite (want <= FLT_MAX / 127); at most ~280 steps, from the least
     * subnormal to the largest scale. */
    float next = cur;
    while (next < want) next *= 2.0f;
    return next;
}

AX_HOST_DEVICE static inline float kv_quant_load(const void *cache, int64_t i, ax_dtype dt, float scale) {
    if (dt == AX_I8) return (float)((const int8_t *)cache)[i] * scale;
    return ax_cvt_fp8_to_f32(((const uint8_t *)cache)[i], ax_fp8_e4m3fn()) * scale;
}

AX_HOST_DEVICE static inline void kv_quant_store(void *cache, int64_t i, ax_dtype dt, float x, float scale) {
    if (dt == AX_I8) {
        float y = scale > 0.0f ? rintf(x / scale) : 0.0f;
        y = y > 127.0f ? 127.0f : y < -127.0f ? -127.0f : y;
        if (!(y == y)) y = 0.0f;
        ((int8_t *)cache)[i] = (int8_t)y;
    } else {
        ((uint8_t *)cache)[i] = scale > 0.0f ? ax_cvt_f32_to_fp8(x / scale, ax_fp8_e4m3fn()) : (uint8_t)0;
    }
}

/* Element i, stored with scale `old`, restored with scale `next` = old * 2^k (kv_quant_next_scale):
 * its code's value divided by next / old, which is exactly 2^k (0 when old is 0). */
AX_HOST_DEVICE static inline void kv_quant_requantize(void *cache, int64_t i, ax_dtype dt, float old, float next) {
    if (!(old > 0.0f)) {
        kv_quant_store(cache, i, dt, 0.0f, next);
        return;
    }
    kv_quant_store(cache, i, dt, kv_quant_load(cache, i, dt, 1.0f), next / old);
}

#ifdef __cplusplus
}
#endif

#endif /* AXIAL_ATTENTION_PARAMS_H */
