/*
 * cuda_absent.c — the CUDA runtime hooks for builds without CUDA: every request for a device says
 * clearly that this build has none.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "core/cuda/device.h"
#include "core/internal.h"

int ax_cuda_count_devices(void) { return 0; }

ax_status ax_cuda_query_device(int32_t id, char *name, size_t name_size, int64_t *total_memory) {
    (void)id; (void)name; (void)name_size; (void)total_memory;
    return ax_set_error(AX_ERR_UNSUPPORTED, "this build of Axial has no CUDA (AXIAL_CUDA=OFF)");
}

ax_status ax_cuda_context_init(ax_context *ctx) {
    (void)ctx;
    return ax_set_error(AX_ERR_UNSUPPORTED,
                        "cfg->device: CUDA requested, but this build of Axial has no CUDA (rebuild with AXIAL_CUDA=ON)");
}

void ax_cuda_context_release(ax_context *ctx) { (void)ctx; }

ax_status ax_cuda_scope_enter(const ax_context *ctx, int *saved) {
    (void)ctx;
    *saved = -1;
    return ax_set_error(AX_ERR_UNSUPPORTED, "this build of Axial has no CUDA");
}

void ax_cuda_scope_leave(const ax_context *ctx, int saved) { (void)ctx; (void)saved; }

ax_status ax_cuda_device_enter(int32_t device, int *saved) {
    (void)device;
    *saved = -1;
    return ax_set_error(AX_ERR_UNSUPPORTED, "this build of Axial has no CUDA");
}

void ax_cuda_device_leave(int32_t device, int saved) { (void)device; (void)saved; }

ax_status ax_cuda_ws_alloc(ax_context *ctx, int64_t bytes, void **out) {
    (void)ctx; (void)bytes;
    *out = NULL;
    return ax_set_error(AX_ERR_UNSUPPORTED, "this build of Axial has no CUDA");
}

void ax_cuda_ws_free(ax_context *ctx, void *ptr) { (void)ctx; (void)ptr; }

ax_status ax_cuda_ws_zero(ax_context *ctx, void *p, int64_t bytes) {
    (void)ctx; (void)p; (void)bytes;
    return ax_set_error(AX_ERR_UNSUPPORTED, "this build of Axial has no CUDA");
}

const ax_cuda_device_props *ax_cuda_props(const ax_context *ctx) {
    (void)ctx;
    return NULL;
}

int ax_cuda_tensor_cores_enabled(void) { return 0; }

int ax_cuda_tensor_cores_usable(const ax_cuda_device_props *dev) {
    (void)dev;
    return 0;
}

ax_status ax_cuda_blas_handle(ax_context *ctx, void **out) {
    (void)ctx; (void)out;
    return ax_set_error(AX_ERR_UNSUPPORTED, "this build of Axial has no CUDA");
}

ax_status ax_cuda_alloc(ax_context *ctx, size_t bytes, void **out) {
    (void)ctx; (void)bytes; (void)out;
    return ax_set_error(AX_ERR_UNSUPPORTED, "this build of Axial has no CUDA");
}

void ax_cuda_free(ax_context *ctx, void *ptr) { (void)ctx; (void)ptr; }

ax_status ax_cuda_copy(ax_context *ctx, void *dst, const void *src, size_t bytes, int to_device) {
    (void)ctx; (void)dst; (void)src; (void)bytes; (void)to_device;
    return ax_set_error(AX_ERR_UNSUPPORTED, "this build of Axial has no CUDA");
}

ax_status ax_cuda_synchronize(ax_context *ctx) {
    (void)ctx;
    return ax_set_error(AX_ERR_UNSUPPORTED, "this build of Axial has no CUDA");
}
