/*
 * activation.c — ax_activation, ax_activation_backward, ax_glu, ax_glu_backward (nn.h): the tensor
 * contracts and one op registration for all four (act_params.mode says which). The CPU kernel is
 * cpu/activation.isa.inc, the CUDA kernel cuda/activation.cu.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "axial/nn.h"
#include "core/internal.h"
#include "core/op.h"
#include "core/tensor_spec.h"
#include "nn/nn_params.h"

/* Per thread: three input rows, act and act' (F floats each). */
static ax_status act_cpu_workspace(const ax_context *ctx, const void *params, ax_op_workspace *need) {
    const act_params *p = params;
    need->host_bytes = nn_thread_rows_bytes(ctx, p->F, 5);
    return AX_OK;
}

static const ax_op act_op = {
    .name = "activation",
    .cpu = AX_CPU_KERNELS(act_cpu),
    .cuda = AX_CUDA_KERNEL(act_cuda),
    .cpu_workspace = act_cpu_workspace,
};

/* names[0..n_in) are inputs, then n_out outputs; inputs after the first and the outputs take the
 * first's shape; outputs are its dtype or f32 and may be exactly an input. */
static ax_status act_entry(ax_context *ctx, ax_activation_kind kind, int mode, const char *const *names,
                           const ax_tensor *const *in, int n_in, ax_tensor *const *out, int n_out) {
    AX_CHECK(nn_check_rows_entry(ctx, in[0], names[0], "F"));
    if (kind != AX_ACT_SILU && kind != AX_ACT_GELU_TANH && kind != AX_ACT_GELU_ERF)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                            "kind: %d, expected AX_ACT_SILU, AX_ACT_GELU_TANH or AX_ACT_GELU_ERF", (int)kind);
    const ax_tensor *x = in[0];
    const int32_t nd = x->ndim;
    ax_tensor_spec specs[5];
    const int n = n_in + n_out;
    for (int i = 0; i < n; i++) {
        const ax_tensor_spec s = AX_SPEC(names[i], i < n_in ? in[i] : out[i - n_in], nd, NULL);
        specs[i] = s;
        nn_spec_rows(&specs[i], nd, "F");
        if (i > 0) specs[i].layout = "(the shape of the first input)";
        if (i >= n_in) {
            specs[i].dtype_as = 0;
            specs[i].dtypes = AX_DTYPE_BIT(AX_F32);
            specs[i].flags |= AX_SPEC_OUTPUT | AX_SPEC_IN_PLACE;
        }
    }
    specs[0].layout = "(..., F)";
    ax_dims dims = {0};
    AX_CHECK(ax_check_specs(ctx, specs, n, &dims));

    act_params p;
    memset(&p, 0, sizeof p);
    const ax_tensor *slots[5] = {NULL, NULL, NULL, NULL, NULL};
    for (int i = 0; i < n_in; i++) {
        p.in[i] = in[i]->data;
        p.in_dtype[i] = in[i]->dtype;
        slots[i] = in[i];
    }
    for (int i = 0; i < n_out; i++) {
        p.out[i] = out[i]->data;
        p.out_dtype[i] = out[i]->dtype;
        slots[3 + i] = out[i];
    }
    p.kind = (int)kind;
    p.mode = mode;
    p.F = x->shape[nd - 1];
    p.rows = nn_rows_init(&p.layout, x, slots, 5);
    if (p.rows == 0 || p.F == 0) return AX_OK;
    return ax_op_run(&act_op, ctx, &p);
}

ax_status ax_activation(ax_context *ctx, ax_activation_kind kind, const ax_tensor *x, ax_tensor *out) {
    static const char *names[] = {"x", "out"};
    const ax_tensor *in[] = {x};
    ax_tensor *outs[] = {out};
    return act_entry(ctx, kind, ACT_FORWARD, names, in, 1, outs, 1);
}

ax_status ax_activation_backward(ax_context *ctx, ax_activation_kind kind, const ax_tensor *x, const ax_tensor *dout,
                                 ax_tensor *dx) {
    static const char *names[] = {"x", "dout", "dx"};
    const ax_tensor *in[] = {x, dout};
    ax_tensor *outs[] = {dx};
    return act_entry(ctx, kind, ACT_BACKWARD, names, in, 2, outs, 1);
}

ax_status ax_glu(ax_context *ctx, ax_activation_kind kind, const ax_tensor *gate, const ax_tensor *up, ax_tensor *out) {
    static const char *names[] = {"gate", "up", "out"};
    const ax_tensor *in[] = {gate, up};
    ax_tensor *outs[] = {out};
    return act_entry(ctx, kind, GLU_FORWARD, names, in, 2, outs, 1);
}

ax_status ax_glu_backward(ax_context *ctx, ax_activation_kind kind, const ax_tensor *gate, const ax_tensor *up,
                          const ax_tensor *dout, ax_tensor *dgate, ax_tensor *dup) {
    static const char *names[] = {"gate", "up", "dout", "dgate", "dup"};
    const ax_tensor *in[] = {gate, up, dout};
    ax_tensor *outs[] = {dgate, dup};
    return act_entry(ctx, kind, GLU_BACKWARD, names, in, 3, outs, 2);
}
