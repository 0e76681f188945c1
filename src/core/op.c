/*
 * op.c — ax_op_run, the one entry every op goes through (op.h): backend choice, supports(), the
 * workspace (limit, peak, measure mode, host arena, device pool), the device scope and the log.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "core/internal.h"
#include "core/op.h"

/* The kernel of the best path at or below `path` that the op has. */
static ax_op_kernel cpu_kernel(const ax_op *op, int *path) {
    for (int p = *path; p >= 0; p--) {
        if (op->cpu[p] != NULL) {
            *path = p;
            return op->cpu[p];
        }
    }
    return NULL;
}

/* What every backend does before its kernel: supports(), the workspace size, the limit and peak,
 * and the host block. Sets *stop when measure mode ends the call here. */
static ax_status prepare(ax_context *ctx, ax_op_call *call, ax_op_supports_fn supports,
                         ax_op_workspace_fn workspace, int *stop) {
    if (supports != NULL) AX_CHECK(supports(ctx, call->params));
    if (workspace != NULL) AX_CHECK(workspace(ctx, call->params, &call->workspace));
    AX_CHECK(ax_context_reserve_workspace(ctx, call->workspace.host_bytes, call->workspace.device_bytes));
    *stop = ctx->measure;
    if (*stop || call->workspace.host_bytes == 0) return AX_OK;
    return ax_context_host_arena(ctx, call->workspace.host_bytes, &call->host_ws);
}

static ax_status run_cpu(const ax_op *op, ax_context *ctx, ax_op_call *call) {
    int path = (int)ax_cpu_path_resolved();
    if (path < 0 || path >= AX_CPU_PATH_COUNT) path = AX_CPU_PATH_PORTABLE;
    const ax_op_kernel kernel = cpu_kernel(op, &path);
    if (kernel == NULL) return ax_set_error(AX_ERR_UNSUPPORTED, "%s: this op has no CPU backend", op->name);
    int stop = 0;
    AX_CHECK(prepare(ctx, call, op->cpu_supports, op->cpu_workspace, &stop));
    if (stop) return AX_OK;
    call->cpu_path = path;
    ax_log_debug("%s: cpu path %s, %lld bytes of workspace", op->name, ax_cpu_path_name((ax_cpu_path)path),
                 (long long)call->workspace.host_bytes);
    return kernel(call);
}

static ax_status run_cuda(const ax_op *op, ax_context *ctx, ax_op_call *call) {
    if (!AXIAL_WITH_CUDA)
        return ax_set_error(AX_ERR_UNSUPPORTED, "%s: a CUDA context, but this build of Axial has no CUDA", op->name);
    if (op->cuda == NULL) return ax_set_error(AX_ERR_UNSUPPORTED, "%s: this op has no CUDA backend yet", op->name);
    int stop = 0;
    AX_CHECK(prepare(ctx, call, op->cuda_supports, op->cuda_workspace, &stop));
    if (stop) return AX_OK;
    int saved = -1;
    AX_CHECK(ax_cuda_scope_enter(ctx, &saved));
    ax_status st = AX_OK;
    if (call->workspace.device_bytes > 0) st = ax_cuda_ws_alloc(ctx, call->workspace.device_bytes, &call->device_ws);
    if (st == AX_OK) {
        ax_log_debug("%s: cuda:%d, %lld device bytes of workspace", op->name, (int)ctx->device.id,
                     (long long)call->workspace.device_bytes);
        st = op->cuda(call);
        /* Queued behind the kernels, so the block returns to the pool only once they are done. */
        if (call->device_ws != NULL) ax_cuda_ws_free(ctx, call->device_ws);
    }
    ax_cuda_scope_leave(ctx, saved);
    return st;
}

ax_status ax_op_run(const ax_op *op, ax_context *ctx, const void *params) {
    if (ctx == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "ctx: NULL context");
    ax_op_call call;
    memset(&call, 0, sizeof call);
    call.ctx = ctx;
    call.params = params;
    call.cpu_path = -1;
    return ctx->device.type == AX_CUDA ? run_cuda(op, ctx, &call) : run_cpu(op, ctx, &call);
}
