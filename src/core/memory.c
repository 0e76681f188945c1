/*
 * memory.c — device memory helpers of the public API: host memory on CPU contexts, CUDA memory on
 * CUDA contexts (through cuda_runtime.cu), so callers need no CUDA toolkit of their own.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

ax_status ax_device_alloc(ax_context *ctx, size_t bytes, void **out) {
    if (ctx == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "ctx: NULL context");
    if (out == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "out: NULL");
    *out = NULL;
    if (ctx->device.type == AX_CUDA) return ax_cuda_alloc(ctx, bytes, out);
    /* 64-byte alignment suits every vector width; aligned_alloc wants a multiple of it. A size whose
     * rounding would wrap (SIZE_MAX, e.g. a failed size computation's -1) must not become 64 bytes. */
    if (bytes > SIZE_MAX - 63)
        return ax_set_error(AX_ERR_OUT_OF_MEMORY, "ax_device_alloc: %zu bytes of host memory", bytes);
    const size_t rounded = (bytes + 63) / 64 * 64;
    *out = aligned_alloc(64, rounded > 0 ? rounded : 64);
    if (*out == NULL) return ax_set_error(AX_ERR_OUT_OF_MEMORY, "ax_device_alloc: %zu bytes of host memory", bytes);
    return AX_OK;
}

void ax_device_free(ax_context *ctx, void *ptr) {
    if (ptr == NULL || ctx == NULL) return;
    if (ctx->device.type == AX_CUDA) ax_cuda_free(ctx, ptr);
    else free(ptr);
}

static ax_status copy(ax_context *ctx, void *dst, const void *src, size_t bytes, int to_device) {
    if (ctx == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "ctx: NULL context");
    if (bytes == 0) return AX_OK;
    if (dst == NULL || src == NULL)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: NULL with %zu bytes to copy", dst == NULL ? "dst" : "src", bytes);
    if (ctx->device.type == AX_CUDA) return ax_cuda_copy(ctx, dst, src, bytes, to_device);
    memcpy(dst, src, bytes);
    return AX_OK;
}

ax_status ax_copy_to_device(ax_context *ctx, void *device_dst, const void *host_src, size_t bytes) {
    return copy(ctx, device_dst, host_src, bytes, 1);
}

ax_status ax_copy_to_host(ax_context *ctx, void *host_dst, const void *device_src, size_t bytes) {
    return copy(ctx, host_dst, device_src, bytes, 0);
}

ax_status ax_context_synchronize(ax_context *ctx) {
    if (ctx == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "ctx: NULL context");
    return ctx->device.type == AX_CUDA ? ax_cuda_synchronize(ctx) : AX_OK;
}
