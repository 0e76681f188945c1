/*
 * grouped_gemm_dw.c — ax_moe_grouped_gemm_dw: dw[e] = dy[s_e]^T x[s_e] + beta dw[e]. Its tensor
 * contract, its registration and its CPU kernel: one OpenMP parallel region whose threads first
 * widen bf16 dy and x to fp32 (once, into the workspace) and then take a static share, balanced by
 * FLOPs, of the work items (expert, tile of dw's rows), each one single-threaded OpenBLAS sgemm (the
 * process-wide OpenBLAS thread count is set to 1 for the call and restored). The CUDA kernel is in
 * cuda/grouped_gemm.cu.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <cblas.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "axial/moe.h"
#include "core/blas_threads.h"
#include "core/dtype_convert.h"
#include "core/internal.h"
#include "core/op.h"
#include "core/tensor_spec.h"
#include "moe/grouped_gemm_params.h"

#define GG_DW_NT 64 /* rows of dw[e] per work item */

/* fp32 copies of bf16 dy and x's segment rows: (count, N) then (count, K). */
static int64_t gg_dw_widened_floats(const moe_gg_dw_params *p) {
    if (p->dtype == AX_F32) return 0;
    return (p->offsets[p->E] - p->offsets[0]) * (p->N + p->K);
}

static ax_status gg_dw_cpu_workspace(const ax_context *ctx, const void *params, ax_op_workspace *need) {
    (void)ctx;
    need->host_bytes = gg_dw_widened_floats(params) * (int64_t)sizeof(float);
    return AX_OK;
}

/* dw[e][n0 .. n0 + rows) = beta * itself (an expert without rows; beta == 0 writes zeros unread). */
static void gg_dw_scale(const moe_gg_dw_params *p, int64_t e, int64_t n0, int64_t rows) {
    for (int64_t n = n0; n < n0 + rows; n++) {
        float *d = p->dw + e * p->dw_expert_stride + n * p->dw_row_stride;
        if (p->beta == 0.0f) memset(d, 0, (size_t)p->K * sizeof(float));
        else
            for (int64_t k = 0; k < p->K; k++) d[k] *= p->beta;
    }
}

static ax_status gg_dw_cpu(const ax_op_call *call) {
    const moe_gg_dw_params *p = call->params;
    const int64_t threads = call->ctx->num_threads > 0 ? call->ctx->num_threads : 1;
    const int64_t first = p->offsets[0], count = p->offsets[p->E] - first, N = p->N, K = p->K;
    const int widen = p->dtype != AX_F32;
    float *dy32 = call->host_ws, *x32 = widen ? dy32 + count * N : NULL;
    const ax_convert_kernels *kernels = ax_convert_kernels_active();
    const int64_t tiles = (N + GG_DW_NT - 1) / GG_DW_NT;
    int64_t total = 0; /* multiply-adds plus dw's own traffic, the split's measure of cost */
    for (int64_t e = 0; e < p->E; e++) total += (p->offsets[e + 1] - p->offsets[e] + 1) * GG_DW_NT * K * tiles;

    ax_blas_threads_begin(1); /* one sgemm per item, inside the OpenMP team */
    int64_t team_size = total / MOE_GG_MIN_WORK; /* small calls stay on one thread */
    team_size = team_size < 1 ? 1 : team_size > threads ? threads : team_size;
#pragma omp parallel num_threads((int)team_size) if (team_size > 1)
    {
#ifdef _OPENMP
        const int64_t tid = omp_get_thread_num(), team = omp_get_num_threads();
#else
        const int64_t tid = 0, team = 1;
#endif
        if (widen) {
#pragma omp for schedule(static)
            for (int64_t i = 0; i < count; i++) {
                kernels->bf16_to_f32((const uint16_t *)p->dy + (first + i) * p->dy_row_stride, dy32 + i * N, N);
                kernels->bf16_to_f32((const uint16_t *)p->x + (first + i) * p->x_row_stride, x32 + i * K, K);
            }
        }
        const int64_t share_lo = (int64_t)((__int128)total * tid / team);
        const int64_t share_hi = (int64_t)((__int128)total * (tid + 1) / team);
        int64_t base = 0;
        for (int64_t e = 0; e < p->E; e++) {
            const int64_t r0 = p->offsets[e], rows = p->offsets[e + 1] - r0;
            const int64_t cost = (rows + 1) * GG_DW_NT * (K > 0 ? K : 1);
            int64_t lo, hi;
            moe_gg_share(base, cost, tiles, share_lo, share_hi, &lo, &hi);
            base += cost * tiles;
            for (int64_t t = lo; t < hi; t++) {
                const int64_t n0 = t * GG_DW_NT, nrows = N - n0 < GG_DW_NT ? N - n0 : GG_DW_NT;
                if (rows == 0 || K == 0) {
                    gg_dw_scale(p, e, n0, nrows);
                    continue;
                }
                const float *dy = widen ? dy32 + (r0 - first) * N : (const float *)p->dy + r0 * p->dy_row_stride;
                const float *x = widen ? x32 + (r0 - first) * K : (const float *)p->x + r0 * p->x_row_stride;
                const int lddy = (int)(widen ? N : p->dy_row_stride), ldx = (int)(widen ? K : p->x_row_stride);
                float *d = p->dw + e * p->dw_expert_stride + n0 * p->dw_row_stride;
                /* beta == 0: sgemm must not read dw (it may hold NaN); OpenBLAS's beta = 0 writes zeros. */
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)nrows, (int)K, (int)rows, 1.0f, dy + n0, lddy,
                            x, ldx, p->beta, d, (int)p->dw_row_stride);
            }
        }
    }
    ax_blas_threads_end();
    return AX_OK;
}

static const ax_op moe_gg_dw_op = {
    .name = "moe_grouped_gemm_dw",
    .cpu = {gg_dw_cpu, NULL, NULL},
    .cuda = AX_CUDA_KERNEL(moe_gg_dw_cuda),
    .cpu_workspace = gg_dw_cpu_workspace,
};

ax_status ax_moe_grouped_gemm_dw(ax_context *ctx, const ax_tensor *dy, const ax_tensor *x, const ax_tensor *offsets,
                                 float beta, ax_tensor *dw) {
    if (ctx == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "ctx: NULL context");
    if (dy == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "dy: NULL tensor");
    if (x == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "x: NULL tensor");
    if (offsets == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "offsets: NULL tensor");
    if (dw == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "dw: NULL tensor");
    if (!(beta - beta == 0.0f)) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "beta: %g is not finite", (double)beta);
    ax_tensor_spec specs[4] = {
        AX_SPEC("dy", dy, 2, "R", "N"),
        AX_SPEC("x", x, 2, "R", "K"),
        AX_SPEC("offsets", offsets, 1, "E1 (E + 1)"),
        AX_SPEC("dw", dw, 3, "E", "N", "K"),
    };
    specs[0].dtypes = AX_DTYPE_BIT(AX_F32) | AX_DTYPE_BIT(AX_BF16);
    specs[0].flags = AX_SPEC_LAST_CONTIGUOUS;
    specs[1].dtype_as = 0;
    specs[1].flags = AX_SPEC_LAST_CONTIGUOUS;
    specs[2].dtypes = AX_DTYPE_BIT(AX_I64);
    specs[2].flags = AX_SPEC_LAST_CONTIGUOUS;
    specs[3].dtypes = AX_DTYPE_BIT(AX_F32);
    specs[3].flags = AX_SPEC_OUTPUT | AX_SPEC_LAST_CONTIGUOUS;
    ax_dims dims = {0};
    if (dw->ndim == 3) AX_CHECK(ax_dims_bind(&dims, "E1", dw->shape[0] + 1));
    AX_CHECK(ax_check_specs(ctx, specs, 4, &dims));

    moe_gg_dw_params p;
    memset(&p, 0, sizeof p);
    p.E = dw->shape[0];
    p.N = dw->shape[1];
    p.K = dw->shape[2];
    p.R = x->shape[0];
    if (p.E < 1) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "dw: dim 0 (E) is 0, expected at least one expert");
    p.dy_row_stride = p.R > 1 ? dy->strides[0] : p.N;
    p.x_row_stride = p.R > 1 ? x->strides[0] : p.K;
    p.dw_row_stride = p.N > 1 ? dw->strides[1] : p.K;
    p.dw_expert_stride = p.E > 1 ? dw->strides[0] : p.N * p.dw_row_stride;
    if (p.R > 1 && p.dy_row_stride < p.N)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "dy: row stride %lld is below N = %lld",
                            (long long)p.dy_row_stride, (long long)p.N);
    if (p.R > 1 && p.x_row_stride < p.K)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "x: row stride %lld is below K = %lld",
                            (long long)p.x_row_stride, (long long)p.K);
    if (p.N > 1 && p.dw_row_stride < p.K)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "dw: stride %lld of dim 1 is below K = %lld",
                            (long long)p.dw_row_stride, (long long)p.K);
    p.dy = dy->data;
    p.x = x->data;
    p.offsets = offsets->data;
    p.dw = dw->data;
    p.dtype = dy->dtype;
    p.beta = beta;
    if (ctx->device.type == AX_CPU) {
        const char *names[] = {"x: dim 0 (R)",  "dw: N",         "dw: K",
                               "dy: row stride", "x: row stride", "dw: stride of dim 1"};
        const int64_t values[] = {p.R, p.N, p.K, p.dy_row_stride, p.x_row_stride, p.dw_row_stride};
        AX_CHECK(moe_check_blas_ints(names, values, 6));
        AX_CHECK(moe_check_offsets(p.offsets, p.E, p.R));
    }
    if (p.N == 0 || p.K == 0) return AX_OK;
    return ax_op_run(&moe_gg_dw_op, ctx, &p);
}
