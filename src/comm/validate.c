/*
 * validate.c — checks and tensor views shared by the collectives and the distributed attention
 * (src/seqpar) built on them.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <limits.h>
#include <stddef.h>
#include <string.h>

#include "comm/comm_internal.h"

ax_status comm_check_ctx(const ax_context *ctx, const ax_comm *comm) {
    if (comm == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "comm: NULL communicator");
    if (ctx == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "ctx: NULL context");
    if (comm->backend == COMM_MPI && ctx->device.type != AX_CPU)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                            "ctx: a CUDA context with an MPI communicator (use ax_comm_create_nccl for CUDA tensors)");
    if (comm->backend == COMM_NCCL &&
        (ctx->device.type != AX_CUDA || ctx->device.id != comm->cuda_device))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                            "ctx: an NCCL communicator on CUDA device %d needs a CUDA context on that device",
                            comm->cuda_device);
    return AX_OK;
}

ax_status comm_check_float_dtype(const ax_tensor *t, const char *name) {
    if (t->dtype != AX_F32 && t->dtype != AX_BF16 && t->dtype != AX_F16)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: dtype is %s, expected f32, bf16 or f16", name,
                            ax_dtype_name(t->dtype));
    return AX_OK;
}

int64_t comm_shard_count(const ax_comm *comm, int64_t length, int rank) {
    return length / comm->size + (rank < length % comm->size ? 1 : 0);
}

int64_t comm_shard_offset(const ax_comm *comm, int64_t length, int rank) {
    const int64_t larger = length % comm->size;
    return rank * (length / comm->size) + (rank < larger ? rank : larger);
}

ax_tensor comm_narrow(const ax_tensor *t, int32_t dim, int64_t offset, int64_t count) {
    ax_tensor v = *t;
    if (count > 0) v.data = (char *)t->data + (ptrdiff_t)(offset * t->strides[dim]) * (ptrdiff_t)ax_dtype_size(t->dtype);
    v.shape[dim] = count;
    return v;
}

ax_tensor comm_contiguous(void *data, ax_dtype dtype, ax_device device, int32_t ndim, const int64_t *shape) {
    ax_tensor t;
    memset(&t, 0, sizeof t);
    t.data = data;
    t.dtype = dtype;
    t.device = device;
    t.ndim = ndim;
    int64_t stride = 1;
    for (int32_t d = ndim - 1; d >= 0; d--) {
        t.shape[d] = shape[d];
        t.strides[d] = stride;
        stride *= shape[d] > 0 ? shape[d] : 1;
    }
    return t;
}

int comm_blocks_contiguous(const ax_tensor *t, int32_t dim) {
    for (int32_t d = 0; d < dim; d++)
        if (t->shape[d] != 1) return 0;
    return ax_tensor_is_contiguous(t);
}

ax_status comm_check_message_size(const ax_comm *comm, int64_t full_elements, const char *name) {
    if (comm->backend == COMM_MPI && full_elements > INT_MAX)
        return ax_set_error(AX_ERR_UNSUPPORTED,
                            "%s: %lld elements exceed what one MPI call can move (INT_MAX); split the tensor",
                            name, (long long)full_elements);
    return AX_OK;
}

ax_status comm_check_float_tensor(const ax_context *ctx, const ax_tensor *t, const char *name) {
    if (t == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: NULL tensor", name);
    if (t->ndim < 1 || t->ndim > AX_MAX_DIMS)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: %d dims, expected 1 to %d", name, (int)t->ndim, AX_MAX_DIMS);
    AX_CHECK(ax_check_tensor(t, name, t->ndim, "(any shape)"));
    AX_CHECK(comm_check_float_dtype(t, name));
    return ctx != NULL ? ax_check_device(t, name, ctx->device) : AX_OK;
}

ax_status comm_check_output(const ax_tensor *out, const char *name, const ax_tensor *const *ins,
                            const char *const *in_names, int n) {
    if (ax_tensor_numel(out) == 0) return AX_OK; /* no elements, nothing to overlap (strides may be 0) */
    AX_CHECK(ax_check_no_self_overlap(out, name));
    for (int i = 0; i < n; i++)
        if (ins[i] != NULL && ax_tensors_overlap(out, ins[i]))
            return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: overlaps %s", name, in_names[i]);
    return AX_OK;
}
