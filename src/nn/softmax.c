/*
 * softmax.c — ax_softmax and ax_softmax_backward (nn.h): the tensor contracts, the scale's check and
 * the op registration. The CPU kernel is cpu/softmax.isa.inc, the CUDA kernel cuda/softmax.cu.
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

/* Per thread: two fp32 rows of N. */
static ax_status softmax_cpu_workspace(const ax_context *ctx, const void *params, ax_op_workspace *need) {
    const softmax_params *p = params;
    need->host_bytes = nn_thread_rows_bytes(ctx, p->N, 2);
    return AX_OK;
}

static const ax_op softmax_op = {
    .name = "softmax",
    .cpu = AX_CPU_KERNELS(softmax_cpu),
    .cuda = AX_CUDA_KERNEL(softmax_cuda),
    .cpu_workspace = softmax_cpu_workspace,
};

static ax_status softmax_entry(ax_context *ctx, const ax_tensor *in, const char *in_name, const ax_tensor *dout,
                               float scale, ax_tensor *out, const char *out_name) {
    AX_CHECK(nn_check_rows_entry(ctx, in, in_name, "N"));
    if (isnan(scale) || isinf(scale))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "scale: %g, expected a finite value", (double)scale);
    const int32_t nd = in->ndim;
    const int backward = out_name[0] == 'd';
    ax_tensor_spec specs[3] = {AX_SPEC(in_name, in, nd, NULL), AX_SPEC("dout", dout, nd, NULL),
                               AX_SPEC(out_name, out, nd, NULL)};
    for (int i = 0; i < 3; i++) nn_spec_rows(&specs[i], nd, "N");
    specs[0].layout = "(..., N)";
    specs[1].layout = specs[2].layout = "(the shape of the input)";
    if (!backward) specs[1].flags |= AX_SPEC_OPTIONAL;
    specs[2].dtype_as = 0;
    specs[2].dtypes = AX_DTYPE_BIT(AX_F32);
    specs[2].flags |= AX_SPEC_OUTPUT | AX_SPEC_IN_PLACE;
    ax_dims dims = {0};
    AX_CHECK(ax_check_specs(ctx, specs, 3, &dims));

    softmax_params p;
    memset(&p, 0, sizeof p);
    p.in = in->data;
    p.dout = dout != NULL ? dout->data : NULL;
    p.out = out->data;
    p.in_dtype = in->dtype;
    p.dout_dtype = dout != NULL ? dout->dtype : AX_F32;
    p.out_dtype = out->dtype;
    p.backward = backward;
    p.scale = scale;
    p.N = in->shape[nd - 1];
    const ax_tensor *slots[3] = {in, dout, out};
    p.rows = nn_rows_init(&p.layout, in, slots, 3);
    if (p.rows == 0 || p.N == 0) return AX_OK;
    return ax_op_run(&softmax_op, ctx, &p);
}

ax_status ax_softmax(ax_context *ctx, const ax_tensor *x, float scale, ax_tensor *out) {
    return softmax_entry(ctx, x, "x", NULL, scale, out, "out");
}

ax_status ax_softmax_backward(ax_context *ctx, const ax_tensor *y, const ax_tensor *dout, float scale, ax_tensor *dx) {
    return softmax_entry(ctx, y, "y", dout, scale, dx, "dx");
}
