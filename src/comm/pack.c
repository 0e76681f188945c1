/*
 * pack.c — strided copies between a tensor and a contiguous buffer, with dtype conversion: how
 * non-contiguous tensors reach the transport. This is the core's ax_tensor_copy on both devices
 * (it merges dims contiguous in both tensors into long runs, and on CUDA queues one kernel on the
 * context's stream).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */

#include "comm/comm_internal.h"

static ax_status copy(ax_context *ctx, const ax_tensor *src, const ax_tensor *dst) {
    if (ax_tensor_numel(src) == 0) return AX_OK;
    ax_tensor out = *dst;
    return ax_tensor_copy(ctx, src, &out);
}

ax_status comm_pack(ax_context *ctx, const ax_tensor *src, void *dst, ax_dtype dst_dtype) {
    const ax_tensor d = comm_contiguous(dst, dst_dtype, src->device, src->ndim, src->shape);
    return copy(ctx, src, &d);
}

ax_status comm_unpack(ax_context *ctx, const void *src, ax_dtype src_dtype, const ax_tensor *dst) {
    const ax_tensor s = comm_contiguous((void *)src, src_dtype, dst->device, dst->ndim, dst->shape);
    return copy(ctx, &s, dst);
}
