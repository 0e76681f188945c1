/*
 * evoformer_params.h — the one parameter struct every Evoformer attention backend receives, filled
 * and validated on the host by evoformer_attention.c. Plain C, no CUDA types, so the .cu files can
 * include it too.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_EVOFORMER_PARAMS_H
#define AXIAL_EVOFORMER_PARAMS_H

#include <math.h> /* EVO_LSE_TRUSTED */
#include <stdint.h>

#include "axial/axial.h"
#include "core/op.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Element strides of a (B, N, S, H, D) activation. */
typedef struct evo_bnshd_strides {
    int64_t b, n, s, h, d;
} evo_bnshd_strides;

typedef struct evo_attn_params {
    /* sizes */
    int64_t B, N, S, H, D;
    float scale; /* 1 / sqrt(D) */
    ax_dtype dtype; /* of q, k, v, out, dout, dq, dk, dv */

    /* activations; `*_strides` are in elements */
    const void *q, *k, *v;               /* (B, N, S, H, D) */
    evo_bnshd_strides q_strides, k_strides, v_strides;
    void *out;                           /* forward: written; backward: read (const) */
    evo_bnshd_strides out_strides;
    float *lse;                          /* (B, N, H, S) or NULL in forward */
    int64_t lse_stride_b, lse_stride_n, lse_stride_h, lse_stride_s;

    /* biases: NULL when absent. Broadcast dimensions have stride 0, so indexing with the full
     * (b, n, j) or (b, h, i, j) is always right. */
    const void *bias_mask;               /* (B, N, 1, 1, S) broadcastable */
    ax_dtype bias_mask_dtype;
    int64_t mask_stride_b, mask_stride_n, mask_stride_j;
    const void *bias_pair;               /* (B, 1, H, S, S) broadcastable */
    ax_dtype bias_pair_dtype;
    int64_t pair_stride_b, pair_stride_h, pair_stride_i, pair_stride_j;

    /* backward only */
    const void *dout;
    evo_bnshd_strides dout_strides;
    void *dq, *dk, *dv;
    evo_bnshd_strides dq_strides, dk_strides, dv_strides;

    /* Bias gradients (NULL = not wanted). Their shapes are the bias shapes: a dimension of size 1
     * receives the sum over that axis. Strides are the output tensor's own (for size-1 dims the
     * stride is never used). */
    void *dbias_mask;
    int64_t dmask_shape_b, dmask_shape_n, dmask_shape_j;     /* B or 1, N or 1, S or 1 */
    int64_t dmask_stride_b, dmask_stride_n, dmask_stride_j;
    void *dbias_pair;
    int64_t dpair_shape_b, dpair_shape_h, dpair_shape_i, dpair_shape_j;
    int64_t dpair_stride_b, dpair_stride_h, dpair_stride_i, dpair_stride_j;
    ax_dtype dbias_mask_dtype; /* of dbias_mask: the bias's own dtype (a backend may swap bias_mask) */

    /* Backend-internal, never set by the entry points (zero there): the CUDA backend hands its
     * kernels a copy of bias_mask already shifted by each row's maximum (see "Huge masks" below)
     * and these per-(b, n) shifts, which a forward kernel adds back to the lse it writes. */
    const float *lse_shift;
    int64_t lse_shift_stride_b, lse_shift_stride_n;
    /* Backend-internal, backward: the CUDA backend points `lse` at each row's reference (the lse
     * less the mask shift, or a recomputed row maximum) and this at a factor per row at the same
     * offsets (1, or 1 / sum for recomputed rows): p = exp(logit - lse) * row_mul. */
    const float *row_mul;
} evo_attn_params;

/* Huge masks. Softmax is unchanged by a constant added to a row, so every backend subtracts from
 * each (b, n) row of bias_mask its largest value over the keys (when that is finite) before adding
 * it to q.k: a row masked entirely with -1e9 or -3e38 then attends exactly as its float64 value
 * does (softmax of q.k + bias_pair) instead of losing q.k to fp32 rounding, and the +1e9 of
 * `1e9 * mask - 1` cancels out. The lse written is that of the unshifted logits.
 *
 * A public lse of magnitude EVO_LSE_EXACT_LIMIT or more has lost more than ~2^-18 of absolute
 * precision to fp32 (it is -1e9 + log S rounded to -1e9 for a padded row), so the backward does not
 * trust it: it recomputes those rows' softmax statistics from q, k and the biases. Smaller lse
 * values are used as given (shifted like the mask). */
#define EVO_LSE_EXACT_LIMIT 64.0f

/* Nonzero when a row's public lse (and the mask shift of its (b, n)) are small enough to use as the
 * backward's reference; -inf counts as trusted (a fully masked row). One rule for every backend. A
 * macro, so the CUDA kernels can use it in device code. */
#define EVO_LSE_TRUSTED(lse, shift)                                                                   \
    ((lse) == -INFINITY || (fabsf(lse) < EVO_LSE_EXACT_LIMIT && fabsf(shift) < EVO_LSE_EXACT_LIMIT))

/* Backends, registered in the op table (evoformer_attention.c). Each kernel's call->params is an
 * evo_attn_params, validated; zero-sized problems never reach them. */
AX_DECLARE_CPU_KERNELS(evo_attn_forward_cpu);  /* cpu/attention_cpu_body.inc, once per path */
AX_DECLARE_CPU_KERNELS(evo_attn_backward_cpu);
ax_status evo_attn_forward_cpu_workspace(const struct ax_context *ctx, const void *params, ax_op_workspace *need);
ax_status evo_attn_backward_cpu_workspace(const struct ax_context *ctx, const void *params, ax_op_workspace *need);


/* The CUDA backend (cuda/attention_cuda.cu; CUDA builds only, registered through AX_CUDA_KERNEL).
 * supports: AX_OK when it can run the params, else AX_ERR_UNSUPPORTED with the reason. workspace:
 * the device bytes a call takes from the context's pool (the backward may take a second, optional
 * block for its split pair-bias sum itself, and falls back without it). */
ax_status evo_attn_forward_cuda(const ax_op_call *call);
ax_status evo_attn_backward_cuda(const ax_op_call *call);
ax_status evo_attn_forward_cuda_supports(const struct ax_context *ctx, const void *params);
ax_status evo_attn_backward_cuda_supports(const struct ax_context *ctx, const void *params);
ax_status evo_attn_forward_cuda_workspace(const struct ax_context *ctx, const void *params, ax_op_workspace *need);
ax_status evo_attn_backward_cuda_workspace(const struct ax_context *ctx, const void *params, ax_op_workspace *need);

#ifdef __cplusplus
}
#endif

#endif /* AXIAL_EVOFORMER_PARAMS_H */
