/*
 * moe_params.h — the parameter structs of the MoE ops (include/axial/moe.h), filled and validated on
 * the host by each op's entry and read by its CPU and CUDA kernels. Plain C, so .cu files include it
 * too.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_MOE_PARAMS_H
#define AXIAL_MOE_PARAMS_H

#include <math.h>
#include <stdint.h>

#include "axial/axial.h"
#include "core/op.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- routing: ax_moe_route, ax_moe_route_backward (route.c, cuda/route.cu) ---- */

/* Forward and backward share the selection (top-k, then capacity) and one struct. Strides are in
 * elements; (T, k) and (T, E) tensors are addressed as [t * s0 + j * s1]. */
typedef struct moe_route_params {
    const void *logits;                 /* (T, E), last dim contiguous */
    ax_dtype logits_dtype;
    int64_t logits_s0;
    int32_t *expert_ids;                /* forward: (T, k) */
    int64_t ids_s0, ids_s1;
    float *weights;                     /* forward: (T, k) */
    int64_t w_s0, w_s1;
    float *probs;                       /* forward: NULL or (T, E) */
    int64_t probs_s0, probs_s1;
    float *losses;                      /* forward: NULL or (2) */
    int64_t losses_s0;
    const float *dweights;              /* backward: NULL or (T, k) */
    int64_t dw_s0, dw_s1;
    void *dlogits;                      /* backward: (T, E) */
    ax_dtype dlogits_dtype;
    int64_t dl_s0, dl_s1;
    int64_t T, E;
    int32_t k;
    int gating;                         /* ax_moe_gating */
    int normalize;
    int backward;
    int64_t capacity;                   /* -1: none; else C >= 0 */
    float aux_coef, z_coef;
} moe_route_params;

/* The selection's sort key of a gating probability: NaN sorts as -inf, so the order (key desc, id
 * asc) is total and every backend picks the same ids whatever the input. */
AX_HOST_DEVICE static inline float moe_route_key(float p) { return p != p ? -INFINITY : p; }

/* 1 when (pa, a) comes before (pb, b) in the selection order: larger key first, then lower id. */
AX_HOST_DEVICE static inline int moe_route_before(float pa, int64_t a, float pb, int64_t b) {
    return pa > pb || (pa == pb && a < b);
}

AX_HOST_DEVICE static inline float moe_sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

/* CUDA scratch of the routing, pieces 256-byte aligned: p (T, E) f32, the logsumexp (T) f32, the
 * chosen ids (T, k) i32, the ids after the capacity (T, k) i32 (-1: dropped), the chosen p (T, k)
 * f32, the choices per expert before dropping (E) i64. Returns the total bytes. */
enum { MOE_RWS_P = 0, MOE_RWS_LSE, MOE_RWS_SEL, MOE_RWS_FINAL, MOE_RWS_SELP, MOE_RWS_COUNTS, MOE_RWS_N };

static inline int64_t moe_route_cuda_ws(const moe_route_params *p, int64_t at[MOE_RWS_N]) {
    const int64_t T = p->T, E = p->E, k = p->k;
    const int64_t bytes[MOE_RWS_N] = {T * E * 4, T * 4, T * k * 4, T * k * 4, T * k * 4, E * 8};
    int64_t total = 0;
    for (int i = 0; i < MOE_RWS_N; i++) {
        at[i] = total;
        total += (bytes[i] + 255) / 256 * 256;
    }
    return total;
}

ax_status moe_route_cuda(const ax_op_call *call);

/* ---- dispatch and combine: ax_moe_dispatch (dispatch.c), ax_moe_combine, ax_moe_combine_backward
 * (combine.c); CUDA kernels in cuda/dispatch.cu ---- */

typedef struct moe_dispatch_params {
    const void *x;                      /* (T, D), last dim contiguous */
    ax_dtype x_dtype;
    int64_t x_s0;
    const int32_t *expert_ids;          /* (T, k) */
    int64_t ids_s0, ids_s1;
    void *x_sorted;                     /* (R, D), x's dtype */
    int64_t xs_s0, xs_s1;
    int64_t *offsets;                   /* (E + 1) */
    int64_t off_s0;
    int64_t *counts;                    /* NULL or (E) */
    int64_t counts_s0;
    int64_t *rows;                      /* (T, k) */
    int64_t rows_s0, rows_s1;
    int64_t T, k, D, E, R, align;
} moe_dispatch_params;

/* A valid expert id, or -1 for a skipped choice (on CUDA every out-of-range id). */
AX_HOST_DEVICE static inline int64_t moe_dispatch_id(const moe_dispatch_params *p, int64_t t, int64_t j) {
    const int64_t id = p->expert_ids[t * p->ids_s0 + j * p->ids_s1];
    return id >= 0 && id < p->E ? id : -1;
}

/* Combine (forward: y from y_sorted) and its backward (dy_sorted, dweights from dy). */
typedef struct moe_combine_params {
    const void *src;                    /* forward: y_sorted (R, D); backward: dy (T, D) */
    ax_dtype src_dtype;
    int64_t src_s0, src_s1;
    const void *y_sorted;               /* backward: NULL or (R, D), for dweights */
    ax_dtype ys_dtype;
    int64_t ys_s0, ys_s1;
    const int64_t *rows;                /* (T, k) */
    int64_t rows_s0, rows_s1;
    const float *weights;               /* NULL (weight 1) or (T, k) */
    int64_t w_s0, w_s1;
    void *dst;                          /* forward: y (T, D); backward: dy_sorted (R, D) */
    ax_dtype dst_dtype;
    int64_t dst_s0, dst_s1;
    float *dweights;                    /* backward: NULL or (T, k) */
    int64_t dw_s0, dw_s1;
    int64_t T, k, D, R;
    int backward;
} moe_combine_params;

/* A row of y_sorted, or -1 (skipped; on CUDA every out-of-range row). */
AX_HOST_DEVICE static inline int64_t moe_combine_row(const moe_combine_params *p, int64_t t, int64_t j) {
    const int64_t r = p->rows[t * p->rows_s0 + j * p->rows_s1];
    return r >= 0 && r < p->R ? r : -1;
}

AX_HOST_DEVICE static inline float moe_combine_weight(const moe_combine_params *p, int64_t t, int64_t j) {
    return p->weights != NULL ? p->weights[t * p->w_s0 + j * p->w_s1] : 1.0f;
}

/* CUDA scratch of the dispatch: the (T, k) choices in (t, j) order are cut into chunks of
 * MOE_DISPATCH_CHUNK; per (chunk, expert) the count and then the chunk's first row within the
 * segment (nchunks, E) i64, per choice its rank among the chunk's choices of its expert (T, k) i32,
 * and the counts (E) i64. Pieces 256-byte aligned; returns the total bytes. */
#define MOE_DISPATCH_CHUNK 256
enum { MOE_DWS_HIST = 0, MOE_DWS_RANK, MOE_DWS_COUNTS, MOE_DWS_N };

static inline int64_t moe_dispatch_cuda_ws(const moe_dispatch_params *p, int64_t at[MOE_DWS_N]) {
    const int64_t chunks = (p->T * p->k + MOE_DISPATCH_CHUNK - 1) / MOE_DISPATCH_CHUNK;
    const int64_t bytes[MOE_DWS_N] = {chunks * p->E * 8, p->T * p->k * 4, p->E * 8};
    int64_t total = 0;
    for (int i = 0; i < MOE_DWS_N; i++) {
        at[i] = total;
        total += (bytes[i] + 255) / 256 * 256;
    }
    return total;
}

ax_status moe_dispatch_cuda(const ax_op_call *call);
ax_status moe_combine_cuda(const ax_op_call *call);

#ifdef __cplusplus
}
#endif

#endif /* AXIAL_MOE_PARAMS_H */
