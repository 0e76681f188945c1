/*
 * combine.c — ax_moe_combine and ax_moe_combine_backward (moe.h): the tensor contracts, the CPU's
 * check of the rows, the registrations and the CPU kernels (tokens to threads, one fp32 row of D per
 * thread). The CUDA kernels are cuda/dispatch.cu, next to the dispatch's.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "axial/moe.h"
#include "core/dtype_traits.h"
#include "core/internal.h"
#include "core/op.h"
#include "core/tensor_spec.h"
#include "moe/moe_params.h"

static int combine_threads(const ax_context *ctx, const moe_combine_params *p) {
    return p->T * p->k * p->D >= (1 << 15) && ctx->num_threads > 1 ? (int)ctx->num_threads : 1;
}

/* Forward: one fp32 accumulator row of D per thread. */
static ax_status combine_cpu_workspace(const ax_context *ctx, const void *params, ax_op_workspace *need) {
    const moe_combine_params *p = params;
    if (!p->backward) need->host_bytes = ax_ws_round(p->D * (int64_t)sizeof(float)) * combine_threads(ctx, p);
    return AX_OK;
}

/* y[t] = sum over kept j, in increasing j, of w[t, j] * y_sorted[rows[t, j]]: fp32, rounded once. */
static void combine_token(const moe_combine_params *p, int64_t t, float *acc) {
    const int64_t D = p->D;
    for (int64_t d = 0; d < D; d++) acc[d] = 0.0f;
    for (int64_t j = 0; j < p->k; j++) {
        const int64_t r = moe_combine_row(p, t, j);
        if (r < 0) continue;
        const float w = moe_combine_weight(p, t, j);
        if (p->src_dtype == AX_F32 && p->src_s1 == 1) { /* the common case, vectorisable */
            const float *src = (const float *)p->src + r * p->src_s0;
            for (int64_t d = 0; d < D; d++) acc[d] += w * src[d];
        } else {
            for (int64_t d = 0; d < D; d++)
                acc[d] += w * ax_elem_load_f32(p->src, r * p->src_s0 + d * p->src_s1, p->src_dtype);
        }
    }
    if (p->dst_dtype == AX_F32 && p->dst_s1 == 1)
        memcpy((float *)p->dst + t * p->dst_s0, acc, (size_t)D * sizeof(float));
    else
        for (int64_t d = 0; d < D; d++) ax_elem_store_f32(p->dst, t * p->dst_s0 + d * p->dst_s1, p->dst_dtype, acc[d]);
}

/* The rows token t references: dy_sorted[r] = w * dy[t], and dweights. Rows are referenced once each
 * (the contract), so tokens write disjoint rows. */
static void combine_backward_token(const moe_combine_params *p, int64_t t) {
    const int64_t D = p->D;
    for (int64_t j = 0; j < p->k; j++) {
        const int64_t r = moe_combine_row(p, t, j);
        if (r < 0) {
            if (p->dweights != NULL) p->dweights[t * p->dw_s0 + j * p->dw_s1] = 0.0f;
            continue;
        }
        const float w = moe_combine_weight(p, t, j);
        float dot = 0.0f;
        for (int64_t d = 0; d < D; d++) {
            const float g = ax_elem_load_f32(p->src, t * p->src_s0 + d * p->src_s1, p->src_dtype);
            ax_elem_store_f32(p->dst, r * p->dst_s0 + d * p->dst_s1, p->dst_dtype, w * g);
            if (p->dweights != NULL) dot += g * ax_elem_load_f32(p->y_sorted, r * p->ys_s0 + d * p->ys_s1, p->ys_dtype);
        }
        if (p->dweights != NULL) p->dweights[t * p->dw_s0 + j * p->dw_s1] = dot;
    }
}

static ax_status combine_cpu(const ax_op_call *call) {
    const moe_combine_params *p = call->params;
    const int threads = combine_threads(call->ctx, p);
    if (!p->backward) {
#pragma omp parallel num_threads(threads)
        {
#ifdef _OPENMP
            float *acc = (float *)ax_ws_slice(call->host_ws, 0, ax_ws_round(p->D * (int64_t)sizeof(float)),
                                              omp_get_thread_num());
#else
            float *acc = (float *)call->host_ws;
#endif
#pragma omp for schedule(static)
            for (int64_t t = 0; t < p->T; t++) combine_token(p, t, acc);
        }
        return AX_OK;
    }
    const size_t esize = ax_dtype_size(p->dst_dtype);
#pragma omp parallel num_threads(threads)
    {
        /* Every row first gets zeros (padding and unreferenced rows included), then the referenced
         * ones their values; the barrier of the first loop orders the two. */
#pragma omp for schedule(static)
        for (int64_t r = 0; r < p->R; r++) {
            if (p->dst_s1 == 1) memset((char *)p->dst + (size_t)(r * p->dst_s0) * esize, 0, (size_t)p->D * esize);
            else
                for (int64_t d = 0; d < p->D; d++)
                    ax_elem_store_f32(p->dst, r * p->dst_s0 + d * p->dst_s1, p->dst_dtype, 0.0f);
        }
#pragma omp for schedule(static)
        for (int64_t t = 0; t < p->T; t++) combine_backward_token(p, t);
    }
    return AX_OK;
}

static const ax_op moe_combine_op = {
    .name = "moe_combine",
    .cpu = {combine_cpu, NULL, NULL},
    .cuda = AX_CUDA_KERNEL(moe_combine_cuda),
    .cpu_workspace = combine_cpu_workspace,
};

static const ax_op moe_combine_backward_op = {
    .name = "moe_combine_backward",
    .cpu = {combine_cpu, NULL, NULL},
    .cuda = AX_CUDA_KERNEL(moe_combine_cuda),
    .cpu_workspace = combine_cpu_workspace,
};

/* On a CPU context every row must lie in [-1, R); CUDA skips the others. */
static ax_status combine_check_rows(const ax_context *ctx, const moe_combine_params *p) {
    if (ctx->device.type != AX_CPU) return AX_OK;
    for (int64_t t = 0; t < p->T; t++)
        for (int64_t j = 0; j < p->k; j++) {
            const int64_t r = p->rows[t * p->rows_s0 + j * p->rows_s1];
            if (r < -1 || r >= p->R)
                return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                                    "rows: [%lld, %lld] (token %lld, choice %lld) is %lld, outside [-1, R = %lld)",
                                    (long long)t, (long long)j, (long long)t, (long long)j, (long long)r,
                                    (long long)p->R);
        }
    return AX_OK;
}

/* The backward scatters into dy_sorted[rows[t, j]]: on the CPU, rows referenced twice are refused
 * (two threads would race on that row, and the result would not be the combine's gradient). */
static ax_status combine_check_distinct(const ax_context *ctx, const moe_combine_params *p) {
    if (ctx->device.type != AX_CPU || p->R == 0) return AX_OK;
    unsigned char *seen = calloc((size_t)(p->R + 7) / 8, 1);
    if (seen == NULL)
        return ax_set_error(AX_ERR_OUT_OF_MEMORY, "rows: %lld bits to check that rows are distinct", (long long)p->R);
    ax_status st = AX_OK;
    for (int64_t i = 0; i < p->T * p->k && st == AX_OK; i++) {
        const int64_t r = p->rows[(i / p->k) * p->rows_s0 + (i % p->k) * p->rows_s1];
        if (r < 0) continue;
        if (seen[r / 8] & (1u << (r % 8))) {
            int64_t first = 0;
            while (p->rows[(first / p->k) * p->rows_s0 + (first % p->k) * p->rows_s1] != r) first++;
            st = ax_set_error(AX_ERR_INVALID_ARGUMENT,
                              "rows: [%lld, %lld] and [%lld, %lld] both refer to row %lld of y_sorted (each row may "
                              "be referenced once, as ax_moe_dispatch makes them)",
                              (long long)(first / p->k), (long long)(first % p->k), (long long)(i / p->k),
                              (long long)(i % p->k), (long long)r);
        }
        seen[r / 8] |= (unsigned char)(1u << (r % 8));
    }
    free(seen);
    return st;
}

static void combine_fill_common(moe_combine_params *p, const ax_tensor *rows, const ax_tensor *weights) {
    p->rows = rows->data;
    p->rows_s0 = rows->strides[0];
    p->rows_s1 = rows->strides[1];
    p->T = rows->shape[0];
    p->k = rows->shape[1];
    if (weights != NULL) {
        p->weights = weights->data;
        p->w_s0 = weights->strides[0];
        p->w_s1 = weights->strides[1];
    }
}

ax_status ax_moe_combine(ax_context *ctx, const ax_tensor *y_sorted, const ax_tensor *rows, const ax_tensor *weights,
                         ax_tensor *y) {
    if (ctx == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "ctx: NULL context");
    ax_tensor_spec specs[4] = {AX_SPEC("y_sorted", y_sorted, 2, "R (sorted rows)", "D"),
                               AX_SPEC("rows", rows, 2, "T (tokens)", "k"), AX_SPEC("weights", weights, 2, "T", "k"),
                               AX_SPEC("y", y, 2, "T", "D")};
    specs[0].dtypes = AX_DTYPES_FLOAT;
    specs[1].dtypes = AX_DTYPE_BIT(AX_I64);
    specs[2].dtypes = AX_DTYPE_BIT(AX_F32);
    specs[2].flags = AX_SPEC_OPTIONAL;
    specs[3].dtype_as = 0;
    specs[3].dtypes = AX_DTYPE_BIT(AX_F32);
    specs[3].flags = AX_SPEC_OUTPUT;
    ax_dims dims = {0};
    AX_CHECK(ax_check_specs(ctx, specs, 4, &dims));

    moe_combine_params p;
    memset(&p, 0, sizeof p);
    combine_fill_common(&p, rows, weights);
    p.src = y_sorted->data;
    p.src_dtype = y_sorted->dtype;
    p.src_s0 = y_sorted->strides[0];
    p.src_s1 = y_sorted->strides[1];
    p.dst = y->data;
    p.dst_dtype = y->dtype;
    p.dst_s0 = y->strides[0];
    p.dst_s1 = y->strides[1];
    p.D = y_sorted->shape[1];
    p.R = y_sorted->shape[0];
    AX_CHECK(combine_check_rows(ctx, &p));
    if (p.T == 0 || p.D == 0) return AX_OK;
    return ax_op_run(&moe_combine_op, ctx, &p);
}

ax_status ax_moe_combine_backward(ax_context *ctx, const ax_tensor *dy, const ax_tensor *y_sorted,
                                  const ax_tensor *rows, const ax_tensor *weights, ax_tensor *dy_sorted,
                                  ax_tensor *dweights) {
    if (ctx == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "ctx: NULL context");
    if (dweights != NULL && y_sorted == NULL)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "y_sorted: NULL, but dweights is given (it needs y_sorted)");
    ax_tensor_spec specs[6] = {AX_SPEC("dy", dy, 2, "T (tokens)", "D"),
                               AX_SPEC("y_sorted", y_sorted, 2, "R (sorted rows)", "D"),
                               AX_SPEC("rows", rows, 2, "T", "k"),
                               AX_SPEC("weights", weights, 2, "T", "k"),
                               AX_SPEC("dy_sorted", dy_sorted, 2, "R", "D"),
                               AX_SPEC("dweights", dweights, 2, "T", "k")};
    specs[0].dtypes = specs[1].dtypes = AX_DTYPES_FLOAT;
    specs[1].flags = AX_SPEC_OPTIONAL;
    specs[2].dtypes = AX_DTYPE_BIT(AX_I64);
    specs[3].dtypes = specs[5].dtypes = AX_DTYPE_BIT(AX_F32);
    specs[3].flags = AX_SPEC_OPTIONAL;
    specs[4].dtype_as = 0;
    specs[4].dtypes = AX_DTYPE_BIT(AX_F32);
    specs[4].flags = AX_SPEC_OUTPUT;
    specs[5].flags = AX_SPEC_OUTPUT | AX_SPEC_OPTIONAL;
    ax_dims dims = {0};
    AX_CHECK(ax_check_specs(ctx, specs, 6, &dims));

    moe_combine_params p;
    memset(&p, 0, sizeof p);
    combine_fill_common(&p, rows, weights);
    p.backward = 1;
    p.src = dy->data;
    p.src_dtype = dy->dtype;
    p.src_s0 = dy->strides[0];
    p.src_s1 = dy->strides[1];
    if (y_sorted != NULL) {
        p.y_sorted = y_sorted->data;
        p.ys_dtype = y_sorted->dtype;
        p.ys_s0 = y_sorted->strides[0];
        p.ys_s1 = y_sorted->strides[1];
    }
    p.dst = dy_sorted->data;
    p.dst_dtype = dy_sorted->dtype;
    p.dst_s0 = dy_sorted->strides[0];
    p.dst_s1 = dy_sorted->strides[1];
    if (dweights != NULL) {
        p.dweights = dweights->data;
        p.dw_s0 = dweights->strides[0];
        p.dw_s1 = dweights->strides[1];
    }
    p.D = dy->shape[1];
    p.R = dy_sorted->shape[0];
    AX_CHECK(combine_check_rows(ctx, &p));
    AX_CHECK(combine_check_distinct(ctx, &p));
    if ((p.R == 0 || p.D == 0) && (p.T == 0 || dweights == NULL)) return AX_OK;
    return ax_op_run(&moe_combine_backward_op, ctx, &p);
}
