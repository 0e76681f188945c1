/*
 * qmatmul.c — ax_qmatmul: its tensor contract, its op-table registration and the CPU workspace
 * plan. The kernels are in cpu/qmatmul.isa.inc (one build per instruction-set path) and
 * cuda/qmatmul.cu.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "axial/linalg.h"
#include "core/internal.h"
#include "core/op.h"
#include "core/tensor_spec.h"
#include "linalg/qmatmul_fused.h"
#include "linalg/qmatmul_params.h"
#include "linalg/qweight_internal.h"

/* The quantized x (or widened x) once, then one panel and its sums for every row of x per thread
 * (qmm_plan_for: 4-row panels, or 32-row ones for the wide kernels). */
static ax_status qmatmul_cpu_workspace(const ax_context *ctx, const void *params, ax_op_workspace *need) {
    const qmatmul_params *p = params;
    const qmm_plan plan = qmm_plan_for(p, ctx->num_threads);
    need->host_bytes = plan.xq_bytes + plan.threads * plan.thread_bytes;
    return AX_OK;
}

static const ax_op qmatmul_op = {
    .name = "qmatmul",
    .cpu = AX_CPU_KERNELS(qmatmul_cpu),
    .cuda = AX_CUDA_KERNEL(qmatmul_cuda),
    .cpu_workspace = qmatmul_cpu_workspace,
    .cuda_workspace = AX_CUDA_KERNEL(qmatmul_cuda_workspace),
};

/* The one row stride of a tensor's leading dims (all but the last), which must collapse: each
 * leading dim of size > 1 steps by the next such dim's stride times its size. Sets *rows and
 * *stride (`fallback` when no leading dim has two or more elements). */
static ax_status leading_rows(const ax_tensor *t, const char *name, int64_t fallback, int64_t *rows,
                              int64_t *stride) {
    *rows = 1;
    *stride = fallback;
    int64_t span = -1;
    for (int32_t d = t->ndim - 2; d >= 0; d--) {
        *rows *= t->shape[d];
        if (t->shape[d] <= 1) continue;
        if (span < 0) {
            *stride = t->strides[d];
        } else if (t->strides[d] != span) {
            return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                                "%s: stride %lld of dim %d does not continue the rows (expected %lld): the leading "
                                "dims must collapse into one row stride",
                                name, (long long)t->strides[d], (int)d, (long long)span);
        }
        span = t->strides[d] * t->shape[d];
    }
    return AX_OK;
}

/* Checks one product and fills *p: ax_qmatmul's, and ax_qmatmul_packed's with w describing the packed
 * matrix (packed = 1). */
static ax_status qmatmul_prepare(ax_context *ctx, const ax_tensor *x, const ax_tensor *w, int packed,
                                 const ax_tensor *bias, ax_tensor *y, qmatmul_params *out) {
    if (ctx == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "ctx: NULL context");
    if (x == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "x: NULL tensor");
    if (w == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "w: NULL tensor");
    if (y == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "y: NULL tensor");
    if (x->ndim < 1 || x->ndim > AX_MAX_DIMS)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "x: expected 1 to %d dims (..., K), got %d", AX_MAX_DIMS,
                            (int)x->ndim);
    static const char *lead[AX_MAX_DIMS] = {"L0", "L1", "L2", "L3", "L4", "L5", "L6", "L7"};
    const int32_t nd = x->ndim;
    ax_tensor_spec specs[4] = {AX_SPEC("x", x, nd, NULL), AX_SPEC("w", w, 2, "N", "K"), AX_SPEC("bias", bias, 1, "N"),
                               AX_SPEC("y", y, nd, NULL)};
    for (int32_t d = 0; d + 1 < nd; d++) specs[0].dims[d] = specs[3].dims[d] = lead[d];
    specs[0].dims[nd - 1] = "K";
    specs[3].dims[nd - 1] = "N";
    specs[0].dtypes = AX_DTYPE_BIT(AX_F32) | AX_DTYPE_BIT(AX_BF16);
    specs[0].flags = AX_SPEC_LAST_CONTIGUOUS;
    specs[0].layout = "(..., K)";
    specs[1].dtypes = AX_DTYPE_BIT(AX_Q4_0) | AX_DTYPE_BIT(AX_Q4_1) | AX_DTYPE_BIT(AX_Q8_0) | AX_DTYPE_BIT(AX_Q4_K) |
                      AX_DTYPE_BIT(AX_Q6_K) | AX_DTYPE_BIT(AX_F16) | AX_DTYPE_BIT(AX_BF16) | AX_DTYPE_BIT(AX_F32);
    specs[1].flags = AX_SPEC_LAST_CONTIGUOUS;
    specs[2].dtypes = AX_DTYPE_BIT(AX_F32);
    specs[2].flags = AX_SPEC_OPTIONAL | AX_SPEC_LAST_CONTIGUOUS;
    specs[3].dtypes = AX_DTYPE_BIT(AX_F32) | AX_DTYPE_BIT(AX_BF16);
    specs[3].flags = AX_SPEC_OUTPUT | AX_SPEC_LAST_CONTIGUOUS;
    specs[3].layout = "(..., N) with x's leading dims";
    ax_dims dims = {0};
    AX_CHECK(ax_check_specs(ctx, specs, 4, &dims));

    qmatmul_params p;
    memset(&p, 0, sizeof p);
    p.K = x->shape[nd - 1];
    p.N = w->shape[0];
    int64_t y_rows = 1;
    AX_CHECK(leading_rows(x, "x", p.K, &p.M, &p.x_row_stride));
    AX_CHECK(leading_rows(y, "y", p.N, &y_rows, &p.y_row_stride));
    if (p.M > 1 && p.x_row_stride < p.K)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "x: row stride %lld is below K = %lld", (long long)p.x_row_stride,
                            (long long)p.K);
    if (p.M > 1 && p.y_row_stride < p.N)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "y: row stride %lld is below N = %lld", (long long)p.y_row_stride,
                            (long long)p.N);
    const int64_t block = ax_dtype_block_elems(w->dtype), block_bytes = ax_dtype_block_bytes(w->dtype);
    const int64_t w_stride = p.N > 1 ? w->strides[0] : p.K;
    if (p.N > 1 && w_stride < p.K)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "w: row stride %lld is below K = %lld", (long long)w_stride,
                            (long long)p.K);
    p.x = x->data;
    p.w = w->data;
    p.bias = bias != NULL ? (const float *)bias->data : NULL;
    p.y = y->data;
    p.x_dtype = x->dtype;
    p.w_dtype = w->dtype;
    p.y_dtype = y->dtype;
    p.w_row_bytes = w_stride / block * block_bytes;
    p.w_packed = packed;
    *out = p;
    return AX_OK;
}

static ax_status qmatmul_call(ax_context *ctx, const ax_tensor *x, const ax_tensor *w, int packed, const ax_tensor *bias,
                              ax_tensor *y) {
    qmatmul_params p;
    AX_CHECK(qmatmul_prepare(ctx, x, w, packed, bias, y, &p));
    if (p.M == 0 || p.N == 0) return AX_OK;
    return ax_op_run(&qmatmul_op, ctx, &p);
}

ax_status ax_qmatmul(ax_context *ctx, const ax_tensor *x, const ax_tensor *w, const ax_tensor *bias, ax_tensor *y) {
    return qmatmul_call(ctx, x, w, 0, bias, y);
}

/* The packed bytes described as the (N, K) matrix they hold: the shape and dtype checks are
 * ax_qmatmul's; only the kernel reads the layout. */
static ax_status packed_view(const ax_context *ctx, const ax_qweight *w, ax_tensor *out) {
    if (ctx == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "ctx: NULL context");
    if (w == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "w: NULL packed weight");
    if (ctx->device.type != AX_CPU)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                            "ctx: packed weights are host memory; use ax_qmatmul on a CUDA context");
    const int64_t shape[2] = {w->N, w->K};
    return ax_tensor_contiguous(out, w->data, w->dtype, 2, shape);
}

ax_status ax_qmatmul_packed(ax_context *ctx, const ax_tensor *x, const ax_qweight *w, const ax_tensor *bias,
                            ax_tensor *y) {
    ax_tensor wt;
    AX_CHECK(packed_view(ctx, w, &wt));
    return qmatmul_call(ctx, x, &wt, 1, bias, y);
}

ax_status qmatmul_fused(ax_context *ctx, const ax_tensor *x, int n, const ax_tensor *const *w,
                        const ax_qweight *const *pw, ax_tensor *const *y) {
    if (n < 1 || n > QMM_MAX_PARTS)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "n: %d products, expected 1 to %d", n, QMM_MAX_PARTS);
    qmatmul_params p[QMM_MAX_PARTS];
    ax_tensor wt[QMM_MAX_PARTS];
    int fuse = ctx != NULL && ctx->device.type == AX_CPU;
    const ax_tensor *wi[QMM_MAX_PARTS];
    for (int i = 0; i < n; i++) {
        const int packed = pw != NULL && pw[i] != NULL;
        wi[i] = packed ? &wt[i] : w != NULL ? w[i] : NULL;
        if (packed) AX_CHECK(packed_view(ctx, pw[i], &wt[i]));
        AX_CHECK(qmatmul_prepare(ctx, x, wi[i], packed, NULL, y[i], &p[i]));
        /* One x quantization and one panel plan serve every part only with the same w dtype and
         * packing (K and M are x's). */
        if (p[i].w_dtype != p[0].w_dtype || p[i].w_packed != p[0].w_packed || p[i].y_dtype != p[0].y_dtype ||
            p[i].N == 0)
            fuse = 0;
    }
    /* One product's y must not be another's input or output: in one region they would race. */
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            if (j == i) continue;
            if (ax_tensors_overlap(y[i], y[j]))
                return ax_set_error(AX_ERR_INVALID_ARGUMENT, "y[%d]: overlaps y[%d]", i, j);
            if (ax_tensors_overlap(y[i], wi[j]))
                return ax_set_error(AX_ERR_INVALID_ARGUMENT, "y[%d]: overlaps w[%d]", i, j);
        }
    if (p[0].M == 0) return AX_OK;
    if (!fuse || n == 1) {
        for (int i = 0; i < n; i++)
            if (p[i].N > 0) AX_CHECK(ax_op_run(&qmatmul_op, ctx, &p[i]));
        return AX_OK;
    }
    qmatmul_params f = p[0];
    f.n_parts = n;
    for (int i = 0; i < n; i++) {
        const qmm_part part = {p[i].w, p[i].w_row_bytes, p[i].y, p[i].y_row_stride, NULL, p[i].N};
        f.parts[i] = part;
    }
    return ax_op_run(&qmatmul_op, ctx, &f);
}
