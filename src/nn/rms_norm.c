/*
 * rms_norm.c — ax_rms_norm: its tensor contract, its op-table registration and its CPU kernel.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "axial/nn.h"
#include "core/dtype_traits.h"
#include "core/internal.h"
#include "core/op.h"
#include "core/tensor_spec.h"
#include "nn/nn_params.h"

/* Rows are independent: one per thread at a time. The row is widened once into fp32 so the sum of
 * squares (eight partial sums, which the compiler keeps in one vector) and the scaling read it from
 * L1 rather than converting twice. */
static ax_status rms_norm_cpu(const ax_op_call *call) {
    const rms_norm_params *p = call->params;
    const int64_t D = p->D;
    float *rows_f32 = call->host_ws;
    const int threads = (int)call->ctx->num_threads;
#pragma omp parallel for num_threads(threads) schedule(static) if (p->rows * D >= (1 << 15) && threads > 1)
    for (int64_t r = 0; r < p->rows; r++) {
#ifdef _OPENMP
        float *row = rows_f32 + ax_ws_round(D * (int64_t)sizeof(float)) / (int64_t)sizeof(float) * omp_get_thread_num();
#else
        float *row = rows_f32;
#endif
        const int64_t x0 = nn_row_offset(&p->layout, r, 0), out0 = nn_row_offset(&p->layout, r, 1);
        float part[8] = {0};
        for (int64_t j = 0; j < D; j++) {
            row[j] = ax_elem_load_f32(p->x, x0 + j, p->x_dtype);
            part[j & 7] += row[j] * row[j];
        }
        const float sum = ((part[0] + part[4]) + (part[1] + part[5])) + ((part[2] + part[6]) + (part[3] + part[7]));
        const float inv = 1.0f / sqrtf(sum / (float)D + p->eps);
        for (int64_t j = 0; j < D; j++) {
            const float w = p->weight != NULL ? ax_elem_load_f32(p->weight, j, p->weight_dtype) : 1.0f;
            ax_elem_store_f32(p->out, out0 + j, p->out_dtype, row[j] * inv * w);
        }
    }
    return AX_OK;
}

/* One fp32 row per thread. */
static ax_status rms_norm_cpu_workspace(const ax_context *ctx, const void *params, ax_op_workspace *need) {
    const rms_norm_params *p = params;
    need->host_bytes = ax_ws_round(p->D * (int64_t)sizeof(float)) * (ctx->num_threads > 0 ? ctx->num_threads : 1);
    return AX_OK;
}

static const ax_op rms_norm_op = {
    .name = "rms_norm",
    .cpu = {rms_norm_cpu, NULL, NULL},
    .cuda = AX_CUDA_KERNEL(rms_norm_cuda),
    .cpu_workspace = rms_norm_cpu_workspace,
};

ax_status ax_rms_norm(ax_context *ctx, const ax_tensor *x, const ax_tensor *weight, float eps, ax_tensor *out) {
    if (ctx == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "ctx: NULL context");
    if (x == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "x: NULL tensor");
    if (x->ndim < 1 || x->ndim > AX_MAX_DIMS)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "x: expected 1 to %d dims (..., D), got %d", AX_MAX_DIMS,
                            (int)x->ndim);
    if (!(eps >= 0.0f) || isinf(eps))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "eps: %g, expected a finite value >= 0", (double)eps);
    /* x's leading dims are named L0, L1, ...; out must match them all. */
    static const char *lead[AX_MAX_DIMS] = {"L0", "L1", "L2", "L3", "L4", "L5", "L6", "L7"};
    const int32_t nd = x->ndim;
    ax_tensor_spec specs[3] = {AX_SPEC("x", x, nd, NULL), AX_SPEC("weight", weight, 1, "D"),
                               AX_SPEC("out", out, nd, NULL)};
    for (int32_t d = 0; d + 1 < nd; d++) specs[0].dims[d] = specs[2].dims[d] = lead[d];
    specs[0].dims[nd - 1] = specs[2].dims[nd - 1] = "D";
    specs[0].dtypes = AX_DTYPES_FLOAT;
    specs[0].flags = AX_SPEC_LAST_CONTIGUOUS;
    specs[0].layout = "(..., D)";
    specs[1].dtype_as = 0;
    specs[1].dtypes = AX_DTYPE_BIT(AX_F32);
    specs[1].flags = AX_SPEC_OPTIONAL | AX_SPEC_LAST_CONTIGUOUS;
    specs[2].dtype_as = 0;
    specs[2].dtypes = AX_DTYPE_BIT(AX_F32);
    specs[2].flags = AX_SPEC_OUTPUT | AX_SPEC_LAST_CONTIGUOUS | AX_SPEC_IN_PLACE;
    specs[2].layout = "(the shape of x)";
    ax_dims dims = {0};
    AX_CHECK(ax_check_specs(ctx, specs, 3, &dims));

    rms_norm_params p;
    memset(&p, 0, sizeof p);
    p.x = x->data;
    p.weight = weight != NULL ? weight->data : NULL;
    p.out = out->data;
    p.x_dtype = x->dtype;
    p.weight_dtype = weight != NULL ? weight->dtype : AX_F32;
    p.out_dtype = out->dtype;
    p.D = x->shape[nd - 1];
    p.eps = eps;
    p.rows = 1;
    p.layout.ndim = nd - 1;
    for (int32_t d = 0; d + 1 < nd; d++) {
        p.layout.shape[d] = x->shape[d];
        p.layout.x_strides[d] = x->strides[d];
        p.layout.out_strides[d] = out->strides[d];
        p.rows *= x->shape[d];
    }
    if (p.rows == 0 || p.D == 0) return AX_OK;
    return ax_op_run(&rms_norm_op, ctx, &p);
}
