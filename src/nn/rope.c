/*
 * rope.c — ax_rope and ax_rope_backward (nn.h): the tensor contract, the options' checks and the
 * fp32 base after NTK scaling, and the op registration. The CPU kernel is cpu/rope.isa.inc, the
 * CUDA kernel cuda/rope.cu; both take their angles from rope_theta (nn_params.h).
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

/* Per thread: the token's cos and sin, one head in and one out (D floats each). */
static ax_status rope_cpu_workspace(const ax_context *ctx, const void *params, ax_op_workspace *need) {
    const rope_params *p = params;
    need->host_bytes = nn_thread_rows_bytes(ctx, p->D, 3);
    return AX_OK;
}

static const ax_op rope_op = {
    .name = "rope",
    .cpu = AX_CPU_KERNELS(rope_cpu),
    .cuda = AX_CUDA_KERNEL(rope_cuda),
    .cpu_workspace = rope_cpu_workspace,
};

static int positive_finite(float v) { return v > 0.0f && !isinf(v); }

static ax_status rope_run(ax_context *ctx, const ax_tensor *x, const char *x_name, const ax_tensor *positions,
                          const ax_rope_options *opt, ax_tensor *out, const char *out_name, float sin_sign) {
    if (ctx == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "ctx: NULL context");
    ax_rope_options o;
    memset(&o, 0, sizeof o);
    if (opt != NULL) o = *opt;
    ax_tensor_spec specs[3] = {AX_SPEC(x_name, x, 3, "T (tokens)", "H (heads)", "D (head dim)"),
                               AX_SPEC("positions", positions, 1, "T"),
                               AX_SPEC(out_name, out, 3, "T", "H", "D")};
    specs[0].dtypes = AX_DTYPES_FLOAT;
    specs[0].flags = AX_SPEC_LAST_CONTIGUOUS;
    specs[0].layout = "(T, H, D)";
    specs[1].dtypes = AX_DTYPE_BIT(AX_I32) | AX_DTYPE_BIT(AX_I64);
    specs[1].layout = "(T)";
    specs[2].dtype_as = 0;
    specs[2].dtypes = AX_DTYPE_BIT(AX_F32);
    specs[2].flags = AX_SPEC_OUTPUT | AX_SPEC_LAST_CONTIGUOUS | AX_SPEC_IN_PLACE;
    specs[2].layout = "(T, H, D) (the shape of x)";
    ax_dims dims = {0};
    AX_CHECK(ax_check_specs(ctx, specs, 3, &dims));
    const int64_t D = x->shape[2];
    const int64_t d = o.rotary_dim == 0 ? D : o.rotary_dim;
    if (o.rotary_dim == 0 && D % 2 != 0)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                            "%s: dim 2 (D) is %lld, odd, and RoPE rotates pairs; set opt->rotary_dim to an even "
                            "value below D to rotate only those dims", x_name, (long long)D);
    if (o.rotary_dim < 0 || d > D || d % 2 != 0)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                            "opt->rotary_dim: %lld, expected an even value in [0, D] (D = %lld; 0 means D)",
                            (long long)o.rotary_dim, (long long)D);
    if (o.layout != AX_ROPE_ADJACENT && o.layout != AX_ROPE_NEOX)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "opt->layout: %d, expected AX_ROPE_ADJACENT or AX_ROPE_NEOX",
                            (int)o.layout);
    const float base = o.base == 0.0f ? 10000.0f : o.base;
    const float linear = o.linear_factor == 0.0f ? 1.0f : o.linear_factor;
    const float ntk = o.ntk_factor == 0.0f ? 1.0f : o.ntk_factor;
    if (!positive_finite(base))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "opt->base: %g, expected a finite value > 0", (double)o.base);
    if (!positive_finite(linear))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "opt->linear_factor: %g, expected a finite value > 0 (0 means 1)",
                            (double)o.linear_factor);
    if (!positive_finite(ntk))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "opt->ntk_factor: %g, expected a finite value > 0 (0 means 1)",
                            (double)o.ntk_factor);
    if (ntk != 1.0f && d < 4)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                            "opt->ntk_factor: %g needs a rotary dim of at least 4 (d / (d - 2)), got %lld", (double)ntk,
                            (long long)d);

    rope_params p;
    memset(&p, 0, sizeof p);
    p.x = x->data;
    p.out = out->data;
    p.positions = positions->data;
    p.x_dtype = x->dtype;
    p.out_dtype = out->dtype;
    p.pos_dtype = positions->dtype;
    p.T = x->shape[0];
    p.H = x->shape[1];
    p.D = D;
    p.rotary_dim = d;
    p.x_stride_t = x->strides[0];
    p.x_stride_h = x->strides[1];
    p.out_stride_t = out->strides[0];
    p.out_stride_h = out->strides[1];
    p.pos_stride = positions->strides[0];
    p.neox = o.layout == AX_ROPE_NEOX;
    p.sin_sign = sin_sign;
    const double scaled_base =
        ntk == 1.0f ? (double)base : (double)base * pow((double)ntk, (double)d / (double)(d - 2));
    p.base = (float)scaled_base;
    p.freq_scale = 1.0f / linear;
    if (!(p.base > 0.0f) || isinf(p.base))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "opt->ntk_factor: base %g x %g^(d/(d-2)) overflows fp32",
                            (double)base, (double)ntk);
    /* Finite and > 0, but its inverse can still overflow (it had made every angle inf or NaN). */
    if (isinf(p.freq_scale))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "opt->linear_factor: %g, its inverse overflows fp32",
                            (double)linear);
    if (p.T == 0 || p.H == 0 || p.D == 0) return AX_OK;
    return ax_op_run(&rope_op, ctx, &p);
}

ax_status ax_rope(ax_context *ctx, const ax_tensor *x, const ax_tensor *positions, const ax_rope_options *opt,
                  ax_tensor *out) {
    return rope_run(ctx, x, "x", positions, opt, out, "out", 1.0f);
}

ax_status ax_rope_backward(ax_context *ctx, const ax_tensor *dout, const ax_tensor *positions,
                           const ax_rope_options *opt, ax_tensor *dx) {
    return rope_run(ctx, dout, "dout", positions, opt, dx, "dx", -1.0f);
}
