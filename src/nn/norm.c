/*
 * norm.c — RMSNorm and LayerNorm (nn.h): ax_rms_norm, ax_rms_norm_residual, ax_rms_norm_backward,
 * ax_layer_norm, ax_layer_norm_backward. Their tensor contracts, their two op registrations (one
 * forward op and one backward op serve both norms) and the workspace sizes. The CPU kernels are in
 * cpu/norm.isa.inc, the CUDA kernels in cuda/norm.cu.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <string.h>

#include "axial/nn.h"
#include "core/internal.h"
#include "core/op.h"
#include "core/tensor_spec.h"
#include "nn/nn_params.h"

/* Per thread: x', the output row, the weight and the bias, in fp32. */
static ax_status norm_forward_cpu_workspace(const ax_context *ctx, const void *params, ax_op_workspace *need) {
    const norm_params *p = params;
    need->host_bytes = nn_thread_rows_bytes(ctx, p->D, 4);
    return AX_OK;
}

/* Per thread: x-hat, dout and the weight; then one partial dweight and dbias row per chunk. */
static ax_status norm_backward_cpu_workspace(const ax_context *ctx, const void *params, ax_op_workspace *need) {
    const norm_backward_params *p = params;
    need->host_bytes = nn_thread_rows_bytes(ctx, p->D, 3) + ax_ws_round(2 * p->chunks * p->D * (int64_t)sizeof(float));
    return AX_OK;
}

/* One partial dweight and dbias row per chunk. */
static ax_status norm_backward_cuda_workspace(const ax_context *ctx, const void *params, ax_op_workspace *need) {
    (void)ctx;
    const norm_backward_params *p = params;
    need->device_bytes = 2 * p->chunks * p->D * (int64_t)sizeof(float);
    return AX_OK;
}

static const ax_op norm_forward_op = {
    .name = "norm_forward",
    .cpu = AX_CPU_KERNELS(norm_forward_cpu),
    .cuda = AX_CUDA_KERNEL(norm_forward_cuda),
    .cpu_workspace = norm_forward_cpu_workspace,
};

static const ax_op norm_backward_op = {
    .name = "norm_backward",
    .cpu = AX_CPU_KERNELS(norm_backward_cpu),
    .cuda = AX_CUDA_KERNEL(norm_backward_cuda),
    .cpu_workspace = norm_backward_cpu_workspace,
    .cuda_workspace = norm_backward_cuda_workspace,
};

static ax_status check_x_eps(const ax_context *ctx, const ax_tensor *x, const char *x_name, float eps) {
    AX_CHECK(nn_check_rows_entry(ctx, x, x_name, "D"));
    if (!(eps >= 0.0f) || isinf(eps))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "eps: %g, expected a finite value >= 0", (double)eps);
    return AX_OK;
}

/* A (D) parameter vector: `as` (the main tensor's spec index) or f32. */
static void spec_vector(ax_tensor_spec *s, const char *name, const ax_tensor *t, int32_t as, unsigned flags) {
    const ax_tensor_spec v = AX_SPEC(name, t, 1, "D");
    *s = v;
    s->dtype_as = as;
    s->dtypes = as >= 0 ? AX_DTYPE_BIT(AX_F32) : AX_DTYPES_FLOAT;
    s->flags = flags | AX_SPEC_OPTIONAL | AX_SPEC_LAST_CONTIGUOUS;
}

/* A per-row fp32 statistic: x's shape without its last dim. */
static void spec_stat(ax_tensor_spec *s, const char *name, const ax_tensor *t, int32_t nd) {
    static const char *lead[AX_MAX_DIMS] = {"L0", "L1", "L2", "L3", "L4", "L5", "L6", "L7"};
    const ax_tensor_spec v = AX_SPEC(name, t, nd - 1, NULL);
    *s = v;
    for (int32_t d = 0; d + 1 < nd; d++) s->dims[d] = lead[d];
    s->dtypes = AX_DTYPE_BIT(AX_F32);
    s->flags = AX_SPEC_OPTIONAL | AX_SPEC_OUTPUT;
    s->layout = "(...) (x's shape without D)";
}

static ax_status norm_forward(ax_context *ctx, int layer, const ax_tensor *x, const ax_tensor *residual,
                              const ax_tensor *weight, const ax_tensor *bias, float eps, ax_tensor *out,
                              ax_tensor *residual_out, ax_tensor *mean, ax_tensor *rstd) {
    AX_CHECK(check_x_eps(ctx, x, "x", eps));
    const int32_t nd = x->ndim;
    ax_tensor_spec specs[8];
    memset(specs, 0, sizeof specs);
    const ax_tensor_spec sx = AX_SPEC("x", x, nd, NULL), sr = AX_SPEC("residual", residual, nd, NULL),
                         so = AX_SPEC("out", out, nd, NULL), sro = AX_SPEC("residual_out", residual_out, nd, NULL);
    specs[0] = sx;
    nn_spec_rows(&specs[0], nd, "D");
    specs[1] = sr;
    nn_spec_rows(&specs[1], nd, "D");
    specs[1].flags |= AX_SPEC_OPTIONAL;
    specs[1].layout = "(the shape of x)";
    spec_vector(&specs[2], "weight", weight, 0, 0);
    spec_vector(&specs[3], "bias", bias, 0, 0);
    specs[4] = so;
    nn_spec_rows(&specs[4], nd, "D");
    specs[4].dtypes = AX_DTYPE_BIT(AX_F32);
    specs[4].dtype_as = 0;
    specs[4].flags |= AX_SPEC_OUTPUT | AX_SPEC_IN_PLACE;
    specs[4].layout = "(the shape of x)";
    specs[5] = sro;
    nn_spec_rows(&specs[5], nd, "D");
    specs[5].flags |= AX_SPEC_OUTPUT | AX_SPEC_IN_PLACE | AX_SPEC_OPTIONAL;
    specs[5].layout = "(the shape of x)";
    spec_stat(&specs[6], "mean", mean, nd);
    spec_stat(&specs[7], "rstd", rstd, nd);
    ax_dims dims = {0};
    AX_CHECK(ax_check_specs(ctx, specs, 8, &dims));

    norm_params p;
    memset(&p, 0, sizeof p);
    p.x = x->data;
    p.residual = residual != NULL ? residual->data : NULL;
    p.weight = weight != NULL ? weight->data : NULL;
    p.bias = bias != NULL ? bias->data : NULL;
    p.out = out->data;
    p.residual_out = residual_out != NULL ? residual_out->data : NULL;
    p.mean = mean != NULL ? (float *)mean->data : NULL;
    p.rstd = rstd != NULL ? (float *)rstd->data : NULL;
    p.x_dtype = x->dtype;
    p.residual_dtype = residual != NULL ? residual->dtype : AX_F32;
    p.weight_dtype = weight != NULL ? weight->dtype : AX_F32;
    p.bias_dtype = bias != NULL ? bias->dtype : AX_F32;
    p.out_dtype = out->dtype;
    p.residual_out_dtype = residual_out != NULL ? residual_out->dtype : AX_F32;
    p.layer = layer;
    p.D = x->shape[nd - 1];
    p.eps = eps;
    const ax_tensor *slots[NN_ROW_TENSORS] = {x, residual, out, residual_out, mean, rstd};
    p.rows = nn_rows_init(&p.layout, x, slots, NN_ROW_TENSORS);
    /* A row of no values has no mean or deviation (0 / 0); returning OK had left them unwritten. */
    if (p.D == 0 && p.rows > 0 && (mean != NULL || rstd != NULL))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: x's last dim (D) is 0, so the rows have no mean or rstd; "
                            "pass NULL for them", mean != NULL ? "mean" : "rstd");
    if (p.rows == 0 || p.D == 0) return AX_OK;
    return ax_op_run(&norm_forward_op, ctx, &p);
}

static ax_status norm_backward(ax_context *ctx, int layer, const ax_tensor *x, const ax_tensor *weight,
                               const ax_tensor *dout, float eps, ax_tensor *dx, ax_tensor *dweight, ax_tensor *dbias) {
    AX_CHECK(check_x_eps(ctx, x, "x", eps));
    const int32_t nd = x->ndim;
    ax_tensor_spec specs[6];
    const ax_tensor_spec sx = AX_SPEC("x", x, nd, NULL), sg = AX_SPEC("dout", dout, nd, NULL),
                         sdx = AX_SPEC("dx", dx, nd, NULL);
    specs[0] = sx;
    nn_spec_rows(&specs[0], nd, "D");
    spec_vector(&specs[1], "weight", weight, 0, 0);
    specs[2] = sg;
    nn_spec_rows(&specs[2], nd, "D");
    specs[2].layout = "(the shape of x)";
    specs[3] = sdx;
    nn_spec_rows(&specs[3], nd, "D");
    specs[3].dtypes = AX_DTYPE_BIT(AX_F32);
    specs[3].dtype_as = 0;
    specs[3].flags |= AX_SPEC_OUTPUT | AX_SPEC_IN_PLACE;
    specs[3].layout = "(the shape of x)";
    spec_vector(&specs[4], "dweight", dweight, -1, AX_SPEC_OUTPUT);
    spec_vector(&specs[5], "dbias", dbias, -1, AX_SPEC_OUTPUT);
    ax_dims dims = {0};
    AX_CHECK(ax_check_specs(ctx, specs, 6, &dims));

    norm_backward_params p;
    memset(&p, 0, sizeof p);
    p.x = x->data;
    p.weight = weight != NULL ? weight->data : NULL;
    p.dout = dout->data;
    p.dx = dx->data;
    p.dweight = dweight != NULL ? dweight->data : NULL;
    p.dbias = dbias != NULL ? dbias->data : NULL;
    p.x_dtype = x->dtype;
    p.weight_dtype = weight != NULL ? weight->dtype : AX_F32;
    p.dout_dtype = dout->dtype;
    p.dx_dtype = dx->dtype;
    p.dweight_dtype = dweight != NULL ? dweight->dtype : AX_F32;
    p.dbias_dtype = dbias != NULL ? dbias->dtype : AX_F32;
    p.layer = layer;
    p.D = x->shape[nd - 1];
    p.eps = eps;
    const ax_tensor *slots[3] = {x, dout, dx};
    p.rows = nn_rows_init(&p.layout, x, slots, 3);
    p.chunks = p.rows < NORM_MAX_CHUNKS ? p.rows : NORM_MAX_CHUNKS;
    p.chunk_rows = p.chunks > 0 ? (p.rows + p.chunks - 1) / p.chunks : 0;
    if (p.chunk_rows > 0) p.chunks = (p.rows + p.chunk_rows - 1) / p.chunk_rows;
    if (p.D == 0 || (p.rows == 0 && dweight == NULL && dbias == NULL)) return AX_OK;
    return ax_op_run(&norm_backward_op, ctx, &p);
}

ax_status ax_rms_norm(ax_context *ctx, const ax_tensor *x, const ax_tensor *weight, float eps, ax_tensor *out) {
    return norm_forward(ctx, 0, x, NULL, weight, NULL, eps, out, NULL, NULL, NULL);
}

ax_status ax_rms_norm_residual(ax_context *ctx, const ax_tensor *x, const ax_tensor *residual, const ax_tensor *weight,
                               float eps, ax_tensor *out, ax_tensor *residual_out) {
    if (ctx != NULL && residual == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "residual: NULL tensor");
    return norm_forward(ctx, 0, x, residual, weight, NULL, eps, out, residual_out, NULL, NULL);
}

ax_status ax_rms_norm_backward(ax_context *ctx, const ax_tensor *x, const ax_tensor *weight, const ax_tensor *dout,
                               float eps, ax_tensor *dx, ax_tensor *dweight) {
    return norm_backward(ctx, 0, x, weight, dout, eps, dx, dweight, NULL);
}

ax_status ax_layer_norm(ax_context *ctx, const ax_tensor *x, const ax_tensor *residual, const ax_tensor *weight,
                        const ax_tensor *bias, float eps, ax_tensor *out, ax_tensor *residual_out, ax_tensor *mean,
                        ax_tensor *rstd) {
    return norm_forward(ctx, 1, x, residual, weight, bias, eps, out, residual_out, mean, rstd);
}

ax_status ax_layer_norm_backward(ax_context *ctx, const ax_tensor *x, const ax_tensor *weight, const ax_tensor *dout,
                                 float eps, ax_tensor *dx, ax_tensor *dweight, ax_tensor *dbias) {
    return norm_backward(ctx, 1, x, weight, dout, eps, dx, dweight, dbias);
}
