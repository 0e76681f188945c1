/*
 * dispatch.c — ax_moe_dispatch (moe.h): the tensor contract, the CPU's check of the expert ids, the
 * registration and the CPU kernel. The CUDA kernels are cuda/dispatch.cu.
 *
 * CPU: one sequential scan of the (T, k) ids in (t, j) order counts the rows per expert and, after
 * the offsets, gives every kept choice its row (a stable counting sort, O(T * k)); the row copies
 * and the zero padding then run in parallel.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <string.h>

#include "axial/moe.h"
#include "core/dtype_convert.h"
#include "core/dtype_traits.h"
#include "core/internal.h"
#include "core/op.h"
#include "core/tensor_spec.h"
#include "moe/moe_params.h"

/* Workspace: counts (E) and the running row of every segment (E), both i64. */
static ax_status dispatch_cpu_workspace(const ax_context *ctx, const void *params, ax_op_workspace *need) {
    (void)ctx;
    const moe_dispatch_params *p = params;
    need->host_bytes = 2 * ax_ws_round(p->E * (int64_t)sizeof(int64_t));
    return AX_OK;
}

static ax_status dispatch_cpu(const ax_op_call *call) {
    const moe_dispatch_params *p = call->params;
    const int64_t T = p->T, k = p->k, D = p->D, E = p->E;
    int64_t *count = call->host_ws;
    int64_t *cursor = (int64_t *)((char *)call->host_ws + ax_ws_round(E * (int64_t)sizeof(int64_t)));
    memset(count, 0, (size_t)E * sizeof(int64_t));
    for (int64_t t = 0; t < T; t++)
        for (int64_t j = 0; j < k; j++) {
            const int64_t e = moe_dispatch_id(p, t, j);
            if (e >= 0) count[e]++;
        }
    int64_t at = 0;
    for (int64_t e = 0; e < E; e++) {
        cursor[e] = at;
        p->offsets[e * p->off_s0] = at;
        if (p->counts != NULL) p->counts[e * p->counts_s0] = count[e];
        at += (count[e] + p->align - 1) / p->align * p->align;
    }
    p->offsets[E * p->off_s0] = at;
    for (int64_t t = 0; t < T; t++)
        for (int64_t j = 0; j < k; j++) {
            const int64_t e = moe_dispatch_id(p, t, j);
            p->rows[t * p->rows_s0 + j * p->rows_s1] = e >= 0 ? cursor[e]++ : -1;
        }
    if (D == 0) return AX_OK;
    const size_t esize = ax_dtype_size(p->x_dtype);
    const int contiguous = p->xs_s1 == 1 || D == 1;
    const int threads = T * k * D >= (1 << 15) && call->ctx->num_threads > 1 ? (int)call->ctx->num_threads : 1;
#pragma omp parallel num_threads(threads)
    {
#pragma omp for schedule(static)
        for (int64_t t = 0; t < T; t++) {
            const char *src = (const char *)p->x + (size_t)(t * p->x_s0) * esize;
            for (int64_t j = 0; j < k; j++) {
                const int64_t r = p->rows[t * p->rows_s0 + j * p->rows_s1];
                if (r < 0) continue;
                char *dst = (char *)p->x_sorted + (size_t)(r * p->xs_s0) * esize;
                if (contiguous) memcpy(dst, src, (size_t)D * esize);
                else
                    for (int64_t d = 0; d < D; d++)
                        memcpy(dst + (size_t)(d * p->xs_s1) * esize, src + (size_t)d * esize, esize);
            }
        }
        /* Padding rows: zeros (all-zero bytes are +0 in every float dtype). */
#pragma omp for schedule(static)
        for (int64_t e = 0; e < E; e++) {
            const int64_t end = p->offsets[(e + 1) * p->off_s0];
            for (int64_t r = p->offsets[e * p->off_s0] + count[e]; r < end; r++) {
                char *dst = (char *)p->x_sorted + (size_t)(r * p->xs_s0) * esize;
                if (contiguous) memset(dst, 0, (size_t)D * esize);
                else
                    for (int64_t d = 0; d < D; d++) memset(dst + (size_t)(d * p->xs_s1) * esize, 0, esize);
            }
        }
    }
    return AX_OK;
}

static ax_status dispatch_cuda_workspace(const ax_context *ctx, const void *params, ax_op_workspace *need) {
    (void)ctx;
    int64_t at[MOE_DWS_N];
    need->device_bytes = moe_dispatch_cuda_ws(params, at);
    return AX_OK;
}

static const ax_op moe_dispatch_op = {
    .name = "moe_dispatch",
    .cpu = {dispatch_cpu, NULL, NULL},
    .cuda = AX_CUDA_KERNEL(moe_dispatch_cuda),
    .cpu_workspace = dispatch_cpu_workspace,
    .cuda_workspace = dispatch_cuda_workspace,
};

ax_status ax_moe_dispatch(ax_context *ctx, const ax_tensor *x, const ax_tensor *expert_ids, int64_t num_experts,
                          int64_t align, ax_tensor *x_sorted, ax_tensor *offsets, ax_tensor *counts, ax_tensor *rows) {
    if (ctx == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "ctx: NULL context");
    if (num_experts < 1)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "num_experts: %lld, expected >= 1", (long long)num_experts);
    if (num_experts >= INT64_MAX / 4)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "num_experts: %lld is too large", (long long)num_experts);
    if (align < 1) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "align: %lld, expected >= 1", (long long)align);
    ax_tensor_spec specs[6] = {AX_SPEC("x", x, 2, "T (tokens)", "D"),
                               AX_SPEC("expert_ids", expert_ids, 2, "T", "k"),
                               AX_SPEC("x_sorted", x_sorted, 2, "R (sorted rows)", "D"),
                               AX_SPEC("offsets", offsets, 1, "E1 (E + 1)"),
                               AX_SPEC("counts", counts, 1, "E (num_experts)"),
                               AX_SPEC("rows", rows, 2, "T", "k")};
    specs[0].dtypes = AX_DTYPES_FLOAT;
    specs[0].flags = AX_SPEC_LAST_CONTIGUOUS;
    specs[1].dtypes = AX_DTYPE_BIT(AX_I32);
    specs[2].dtype_as = 0;
    specs[3].dtypes = specs[4].dtypes = specs[5].dtypes = AX_DTYPE_BIT(AX_I64);
    specs[2].flags = specs[3].flags = specs[5].flags = AX_SPEC_OUTPUT;
    specs[4].flags = AX_SPEC_OUTPUT | AX_SPEC_OPTIONAL;
    ax_dims dims = {0};
    AX_CHECK(ax_dims_bind(&dims, "E", num_experts));
    AX_CHECK(ax_dims_bind(&dims, "E1", num_experts + 1));
    AX_CHECK(ax_check_specs(ctx, specs, 6, &dims));

    moe_dispatch_params p;
    memset(&p, 0, sizeof p);
    p.T = x->shape[0];
    p.D = x->shape[1];
    p.k = expert_ids->shape[1];
    p.R = x_sorted->shape[0];
    p.E = num_experts;
    p.align = align;
    /* The most rows any routing needs: every choice kept, every segment padded by align - 1. */
    if (align - 1 > (INT64_MAX / 2 - p.T * p.k) / p.E || p.R < p.T * p.k + p.E * (align - 1))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                            "x_sorted: dim 0 (R) is %lld, expected >= T * k + E * (align - 1) = "
                            "%lld * %lld + %lld * %lld",
                            (long long)p.R, (long long)p.T, (long long)p.k, (long long)p.E, (long long)(align - 1));
    p.x = x->data;
    p.x_dtype = x->dtype;
    p.x_s0 = x->strides[0];
    p.expert_ids = expert_ids->data;
    p.ids_s0 = expert_ids->strides[0];
    p.ids_s1 = expert_ids->strides[1];
    p.x_sorted = x_sorted->data;
    p.xs_s0 = x_sorted->strides[0];
    p.xs_s1 = x_sorted->strides[1];
    p.offsets = offsets->data;
    p.off_s0 = offsets->strides[0];
    if (counts != NULL) {
        p.counts = counts->data;
        p.counts_s0 = counts->strides[0];
    }
    p.rows = rows->data;
    p.rows_s0 = rows->strides[0];
    p.rows_s1 = rows->strides[1];
    /* The host may read the ids only on a CPU context; CUDA skips an id outside [-1, E). */
    if (ctx->device.type == AX_CPU)
        for (int64_t t = 0; t < p.T; t++)
            for (int64_t j = 0; j < p.k; j++) {
                const int64_t id = p.expert_ids[t * p.ids_s0 + j * p.ids_s1];
                if (id < -1 || id >= p.E)
                    return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                                        "expert_ids: [%lld, %lld] (token %lld, choice %lld) is %lld, "
                                        "outside [-1, %lld)",
                                        (long long)t, (long long)j, (long long)t, (long long)j, (long long)id,
                                        (long long)p.E);
            }
    return ax_op_run(&moe_dispatch_op, ctx, &p);
}
