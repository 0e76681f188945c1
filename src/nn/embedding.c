/*
 * embedding.c — ax_embedding (nn.h): its tensor contract, the CPU's check of the ids, the
 * registration and the CPU kernel (no per-path body: the work is a copy, or the core's block
 * dequantizer). The CUDA kernel is cuda/embedding.cu.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "axial/nn.h"
#include "core/dtype_convert.h"
#include "core/dtype_traits.h"
#include "core/internal.h"
#include "core/op.h"
#include "core/tensor_spec.h"
#include "nn/nn_params.h"

static int64_t embedding_id(const embedding_params *p, int64_t t) {
    return p->ids_dtype == AX_I64 ? ((const int64_t *)p->ids)[t * p->ids_stride]
                                  : (int64_t)((const int32_t *)p->ids)[t * p->ids_stride];
}

/* Tokens go to threads. A block row is dequantized straight into an f32 out row, or through this
 * thread's fp32 row for a 16-bit out; a plain row is copied bit for bit when the dtypes match. The
 * entry has checked every id. */
static ax_status embedding_cpu(const ax_op_call *call) {
    const embedding_params *p = call->params;
    const int64_t D = p->D, be = ax_dt_block_elems(p->table_dtype);
    const size_t out_size = ax_dtype_size(p->out_dtype);
    const int threads = p->T * D >= (1 << 15) && call->ctx->num_threads > 1 ? (int)call->ctx->num_threads : 1;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t t = 0; t < p->T; t++) {
#ifdef _OPENMP
        float *row = (float *)ax_ws_slice(call->host_ws, 0, nn_thread_piece_bytes(D, 1), omp_get_thread_num());
#else
        float *row = (float *)call->host_ws;
#endif
        const int64_t id = embedding_id(p, t);
        const char *src = (const char *)p->table + ax_dt_offset_bytes(p->table_dtype, id * p->table_row_stride);
        char *dst = (char *)p->out + (size_t)(t * p->out_row_stride) * out_size;
        if (be > 1) {
            float *target = p->out_dtype == AX_F32 ? (float *)dst : row;
            ax_dequantize_blocks(p->table_dtype, src, target, D / be);
            if (target == row)
                for (int64_t j = 0; j < D; j++) ax_elem_store_f32(dst, j, p->out_dtype, row[j]);
        } else if (p->table_dtype == p->out_dtype) {
            memcpy(dst, src, (size_t)D * out_size);
        } else {
            for (int64_t j = 0; j < D; j++)
                ax_elem_store_f32(dst, j, p->out_dtype, ax_elem_load_f32(src, j, p->table_dtype));
        }
    }
    return AX_OK;
}

/* One fp32 row per thread (block tables into a 16-bit out). */
static ax_status embedding_cpu_workspace(const ax_context *ctx, const void *params, ax_op_workspace *need) {
    const embedding_params *p = params;
    if (ax_dt_is_block(p->table_dtype) && p->out_dtype != AX_F32) need->host_bytes = nn_thread_rows_bytes(ctx, p->D, 1);
    return AX_OK;
}

static const ax_op embedding_op = {
    .name = "embedding",
    .cpu = {embedding_cpu, NULL, NULL},
    .cuda = AX_CUDA_KERNEL(embedding_cuda),
    .cpu_workspace = embedding_cpu_workspace,
};

#define EMBEDDING_TABLE_DTYPES                                                                                      \
    (AX_DTYPES_FLOAT | AX_DTYPE_BIT(AX_Q4_0) | AX_DTYPE_BIT(AX_Q4_1) | AX_DTYPE_BIT(AX_Q8_0) | AX_DTYPE_BIT(AX_Q4_K) | \
     AX_DTYPE_BIT(AX_Q6_K))

ax_status ax_embedding(ax_context *ctx, const ax_tensor *ids, const ax_tensor *table, ax_tensor *out) {
    if (ctx == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "ctx: NULL context");
    ax_tensor_spec specs[3] = {AX_SPEC("ids", ids, 1, "T (tokens)"), AX_SPEC("table", table, 2, "V (vocabulary)", "D"),
                               AX_SPEC("out", out, 2, "T", "D")};
    specs[0].dtypes = AX_DTYPE_BIT(AX_I32) | AX_DTYPE_BIT(AX_I64);
    specs[0].layout = "(T)";
    specs[1].layout = "(V, D)";
    specs[2].layout = "(T, D)";
    specs[1].dtypes = EMBEDDING_TABLE_DTYPES;
    specs[1].flags = AX_SPEC_LAST_CONTIGUOUS;
    specs[2].dtypes = AX_DTYPES_FLOAT;
    specs[2].flags = AX_SPEC_OUTPUT | AX_SPEC_LAST_CONTIGUOUS;
    ax_dims dims = {0};
    AX_CHECK(ax_check_specs(ctx, specs, 3, &dims));

    embedding_params p;
    memset(&p, 0, sizeof p);
    p.ids = ids->data;
    p.table = table->data;
    p.out = out->data;
    p.ids_dtype = ids->dtype;
    p.table_dtype = table->dtype;
    p.out_dtype = out->dtype;
    p.T = ids->shape[0];
    p.V = table->shape[0];
    p.D = table->shape[1];
    p.ids_stride = ids->strides[0];
    p.table_row_stride = table->strides[0];
    p.out_row_stride = out->strides[0];
    if (p.T == 0 || p.D == 0) return AX_OK;
    /* The host may read the ids only on a CPU context; a CUDA kernel writes zeros for a bad id. */
    if (ctx->device.type == AX_CPU)
        for (int64_t t = 0; t < p.T; t++) {
            const int64_t id = embedding_id(&p, t);
            if (id < 0 || id >= p.V)
                return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                                    "ids: ids[%lld] is %lld, outside the table's rows [0, %lld)", (long long)t,
                                    (long long)id, (long long)p.V);
        }
    return ax_op_run(&embedding_op, ctx, &p);
}
