/*
 * grouped_gemm.c — ax_moe_grouped_gemm: its tensor contract, its op-table registration and the CPU
 * workspace plan. The kernels are in cpu/grouped_gemm.isa.inc (one build per instruction-set path)
 * and cuda/grouped_gemm.cu.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "axial/moe.h"
#include "core/internal.h"
#include "core/op.h"
#include "core/tensor_spec.h"
#include "moe/grouped_gemm_params.h"

ax_status moe_gg_cpu_workspace(const ax_context *ctx, const void *params, ax_op_workspace *need) {
    const moe_gg_plan plan = moe_gg_plan_for(params, ctx->num_threads);
    need->host_bytes = plan.x_bytes + plan.threads * plan.thread_bytes;
    return AX_OK;
}

static const ax_op moe_gg_op = {
    .name = "moe_grouped_gemm",
    .cpu = AX_CPU_KERNELS(moe_gg_cpu),
    .cuda = AX_CUDA_KERNEL(moe_gg_cuda),
    .cpu_workspace = moe_gg_cpu_workspace,
    .cuda_workspace = AX_CUDA_KERNEL(moe_gg_cuda_workspace),
};

/* CPU offsets: nondecreasing within [0, R] (the CUDA kernels clamp them instead, moe.h). */
ax_status moe_check_offsets(const int64_t *offsets, int64_t E, int64_t R) {
    for (int64_t e = 0; e <= E; e++) {
        if (offsets[e] < 0 || offsets[e] > R)
            return ax_set_error(AX_ERR_INVALID_ARGUMENT, "offsets: element %lld is %lld, outside [0, R = %lld]",
                                (long long)e, (long long)offsets[e], (long long)R);
        if (e > 0 && offsets[e] < offsets[e - 1])
            return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                                "offsets: element %lld is %lld, below element %lld (%lld): offsets must be "
                                "nondecreasing",
                                (long long)e, (long long)offsets[e], (long long)(e - 1), (long long)offsets[e - 1]);
    }
    return AX_OK;
}

ax_status moe_check_blas_ints(const char *const *names, const int64_t *values, int n) {
    for (int i = 0; i < n; i++) AX_CHECK(ax_check_int32_limit(values[i], names[i], "CPU BLAS"));
    return AX_OK;
}

ax_status ax_moe_grouped_gemm(ax_context *ctx, ax_transpose trans_w, const ax_tensor *x, const ax_tensor *w,
                              const ax_tensor *offsets, ax_tensor *y) {
    if (ctx == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "ctx: NULL context");
    if (x == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "x: NULL tensor");
    if (w == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "w: NULL tensor");
    if (offsets == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "offsets: NULL tensor");
    if (y == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "y: NULL tensor");
    if (trans_w != AX_TRANS && trans_w != AX_NO_TRANS)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "trans_w: %d is not AX_TRANS or AX_NO_TRANS", (int)trans_w);
    const int trans = trans_w == AX_TRANS;
    ax_tensor_spec specs[4] = {
        AX_SPEC("x", x, 2, "R", "K"),
        trans ? (ax_tensor_spec)AX_SPEC("w", w, 3, "E", "N", "K") : (ax_tensor_spec)AX_SPEC("w", w, 3, "E", "K", "N"),
        AX_SPEC("offsets", offsets, 1, "E1 (E + 1)"),
        AX_SPEC("y", y, 2, "R", "N"),
    };
    specs[0].dtypes = AX_DTYPE_BIT(AX_F32) | AX_DTYPE_BIT(AX_BF16);
    specs[0].flags = AX_SPEC_LAST_CONTIGUOUS;
    specs[1].dtypes = AX_DTYPES_FLOAT;
    if (trans)
        specs[1].dtypes |= AX_DTYPE_BIT(AX_Q4_0) | AX_DTYPE_BIT(AX_Q4_1) | AX_DTYPE_BIT(AX_Q8_0) |
                           AX_DTYPE_BIT(AX_Q4_K) | AX_DTYPE_BIT(AX_Q6_K);
    specs[1].flags = AX_SPEC_LAST_CONTIGUOUS;
    specs[1].layout = trans ? "(E, N, K)" : "(E, K, N) (AX_NO_TRANS: float w only)";
    specs[2].dtypes = AX_DTYPE_BIT(AX_I64);
    specs[2].flags = AX_SPEC_LAST_CONTIGUOUS;
    specs[3].dtypes = AX_DTYPE_BIT(AX_F32) | AX_DTYPE_BIT(AX_BF16);
    specs[3].flags = AX_SPEC_OUTPUT | AX_SPEC_LAST_CONTIGUOUS;
    ax_dims dims = {0};
    if (w->ndim == 3) AX_CHECK(ax_dims_bind(&dims, "E1", w->shape[0] + 1));
    AX_CHECK(ax_check_specs(ctx, specs, 4, &dims));

    moe_gg_params p;
    memset(&p, 0, sizeof p);
    p.E = w->shape[0];
    p.R = x->shape[0];
    p.K = x->shape[1];
    p.N = y->shape[1];
    if (p.E < 1) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "w: dim 0 (E) is 0, expected at least one expert");
    const int64_t block = ax_dtype_block_elems(w->dtype), block_bytes = ax_dtype_block_bytes(w->dtype);
    if (p.K % block != 0)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "w: K = %lld is not a multiple of %s's block of %lld elements",
                            (long long)p.K, ax_dtype_name(w->dtype), (long long)block);
    const int64_t inner = trans ? p.K : p.N, rows_per_expert = trans ? p.N : p.K;
    p.w_row_stride = rows_per_expert > 1 ? w->strides[1] : inner;
    p.w_expert_stride = p.E > 1 ? w->strides[0] : rows_per_expert * p.w_row_stride;
    if (rows_per_expert > 1 && (p.w_row_stride < inner || p.w_row_stride % block != 0))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                            "w: stride %lld of dim 1 must be at least %lld and a whole number of %lld-element blocks",
                            (long long)p.w_row_stride, (long long)inner, (long long)block);
    if (p.E > 1 && (p.w_expert_stride < 0 || p.w_expert_stride % block != 0))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                            "w: stride %lld of dim 0 must be nonnegative and a whole number of %lld-element blocks",
                            (long long)p.w_expert_stride, (long long)block);
    p.x_row_stride = p.R > 1 ? x->strides[0] : p.K;
    p.y_row_stride = p.R > 1 ? y->strides[0] : p.N;
    if (p.R > 1 && p.x_row_stride < p.K)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "x: row stride %lld is below K = %lld",
                            (long long)p.x_row_stride, (long long)p.K);
    if (p.R > 1 && p.y_row_stride < p.N)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "y: row stride %lld is below N = %lld",
                            (long long)p.y_row_stride, (long long)p.N);
    p.w_row_bytes = p.w_row_stride / block * block_bytes;
    p.w_expert_bytes = p.w_expert_stride / block * block_bytes;
    p.x = x->data;
    p.w = w->data;
    p.offsets = offsets->data;
    p.y = y->data;
    p.x_dtype = x->dtype;
    p.w_dtype = w->dtype;
    p.y_dtype = y->dtype;
    p.trans_w = trans;
    if (ctx->device.type == AX_CPU) {
        const char *names[] = {"x: dim 0 (R)", "w: N", "w: K", "x: row stride", "y: row stride", "w: stride of dim 1"};
        const int64_t values[] = {p.R, p.N, p.K, p.x_row_stride, p.y_row_stride, p.w_row_stride};
        AX_CHECK(moe_check_blas_ints(names, values, 6));
        AX_CHECK(moe_check_offsets(p.offsets, p.E, p.R));
        if (p.offsets[0] == p.offsets[p.E]) return AX_OK; /* no rows: nothing to write */
    }
    if (p.R == 0 || p.N == 0) return AX_OK;
    return ax_op_run(&moe_gg_op, ctx, &p);
}
