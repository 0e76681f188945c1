/*
 * context.c — ax_context lifetime, version and build information.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#define AX_STR2(x) #x
#define AX_STR(x) AX_STR2(x)

const char *ax_version_string(void) {
    return AX_STR(AX_VERSION_MAJOR) "." AX_STR(AX_VERSION_MINOR) "." AX_STR(AX_VERSION_PATCH);
}

static int32_t default_threads(void) {
#ifdef _OPENMP
    return (int32_t)omp_get_max_threads();
#else
    return 1;
#endif
}

ax_status ax_context_create(ax_context **out, const ax_context_config *cfg) {
    if (out == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "out: NULL");
    *out = NULL;
    ax_context_config c = AX_CONTEXT_CONFIG_INIT;
    if (cfg != NULL) {
        if (cfg->struct_size < sizeof(size_t) || cfg->struct_size > sizeof(ax_context_config))
            return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                                "cfg->struct_size: %zu is not a known ax_context_config size (use "
                                "AX_CONTEXT_CONFIG_INIT)",
                                cfg->struct_size);
        /* Only the caller's struct_size bytes are read: fields an older header lacks keep their
         * defaults (reading past them read whatever followed, e.g. a thread count from the stack). */
        memcpy(&c, cfg, cfg->struct_size);
    }
    cfg = &c;
    if (cfg->device.type != AX_CPU && cfg->device.type != AX_CUDA)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "cfg->device.type: %d is not an ax_device_type",
                            (int)cfg->device.type);
    if (cfg->device.id < 0)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "cfg->device.id: %d is negative", (int)cfg->device.id);

    ax_context *ctx = calloc(1, sizeof *ctx);
    if (ctx == NULL) return ax_set_error(AX_ERR_OUT_OF_MEMORY, "ax_context_create: out of host memory");
    ctx->device = cfg->device;
    if (ctx->device.type == AX_CPU) ctx->device.id = 0;
    ctx->cuda_stream = cfg->cuda_stream;
    ctx->num_threads = cfg->num_threads > 0 ? cfg->num_threads : default_threads();
    ctx->workspace_limit = cfg->workspace_limit > 0 ? cfg->workspace_limit : 0;
    if (ctx->device.type == AX_CUDA) {
        ax_status st = ax_cuda_context_init(ctx);
        if (st != AX_OK) {
            free(ctx);
            return st;
        }
    }
    ax_log_debug("context created on %s:%d with %d CPU threads", ctx->device.type == AX_CUDA ? "cuda" : "cpu",
                 (int)ctx->device.id, (int)ctx->num_threads);
    *out = ctx;
    return AX_OK;
}

void ax_context_destroy(ax_context *ctx) {
    if (ctx == NULL) return;
    if (ctx->device.type == AX_CUDA) ax_cuda_context_release(ctx);
    free(ctx->host_scratch);
    free(ctx->layer_scratch);
    free(ctx);
}

ax_device ax_context_device(const ax_context *ctx) { return ctx->device; }
int32_t ax_context_num_threads(const ax_context *ctx) { return ctx->num_threads; }
int64_t ax_context_workspace_peak(const ax_context *ctx) { return ctx->workspace_peak; }
void ax_context_workspace_peak_reset(ax_context *ctx) {
    if (ctx == NULL) return;
    ctx->workspace_peak = ctx->workspace_peak_host = ctx->workspace_peak_device = 0;
}

ax_status ax_context_reserve_workspace(ax_context *ctx, int64_t host_bytes, int64_t device_bytes) {
    const int64_t bytes = host_bytes + device_bytes;
    if (ctx->workspace_limit > 0 && bytes > ctx->workspace_limit)
        return ax_set_error(AX_ERR_OUT_OF_MEMORY,
                            "workspace: this call needs %lld bytes of scratch, the context's limit is %lld",
                            (long long)bytes, (long long)ctx->workspace_limit);
    if (bytes > ctx->workspace_peak) ctx->workspace_peak = bytes;
    if (host_bytes > ctx->workspace_peak_host) ctx->workspace_peak_host = host_bytes;
    if (device_bytes > ctx->workspace_peak_device) ctx->workspace_peak_device = device_bytes;
    return AX_OK;
}

ax_status ax_context_reserve_own_workspace(ax_context *ctx, int64_t bytes) {
    const int on_device = ctx->device.type == AX_CUDA;
    return ax_context_reserve_workspace(ctx, on_device ? 0 : bytes, on_device ? bytes : 0);
}

/* Grows one of the context's kept host arenas to `bytes` (never shrinks it). */
static ax_status context_arena_grow(void **arena, int64_t *arena_bytes, int64_t bytes, const char *which, void **out) {
    if (bytes > *arena_bytes) {
        if (bytes > INT64_MAX - 63)
            return ax_set_error(AX_ERR_OUT_OF_MEMORY, "workspace: %lld bytes of host memory%s", (long long)bytes,
                                which);
        const int64_t rounded = (bytes + 63) / 64 * 64; /* aligned_alloc wants a multiple of the alignment */
        void *p = aligned_alloc(64, (size_t)rounded);
        if (p == NULL)
            return ax_set_error(AX_ERR_OUT_OF_MEMORY, "workspace: %lld bytes of host memory%s", (long long)bytes,
                                which);
        free(*arena);
        *arena = p;
        *arena_bytes = rounded;
    }
    *out = *arena;
    return AX_OK;
}

ax_status ax_context_host_arena(ax_context *ctx, int64_t bytes, void **out) {
    return context_arena_grow(&ctx->host_scratch, &ctx->host_scratch_bytes, bytes, "", out);
}

ax_status ax_context_layer_arena(ax_context *ctx, int64_t bytes, void **out) {
    return context_arena_grow(&ctx->layer_scratch, &ctx->layer_scratch_bytes, bytes, " (layer arena)", out);
}

ax_status ax_context_set_measure(ax_context *ctx, int on) {
    if (ctx == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "ctx: NULL context");
    ctx->measure = on != 0;
    return AX_OK;
}

int ax_context_measuring(const ax_context *ctx) { return ctx->measure; }

void ax_context_workspace_peaks(const ax_context *ctx, int64_t *host_bytes, int64_t *device_bytes) {
    if (host_bytes != NULL) *host_bytes = ctx->workspace_peak_host;
    if (device_bytes != NULL) *device_bytes = ctx->workspace_peak_device;
}

int ax_build_has_cuda(void) { return AXIAL_WITH_CUDA; }
int ax_build_has_mpi(void) { return AXIAL_WITH_MPI; }
int ax_build_has_nccl(void) { return AXIAL_WITH_NCCL; }
int ax_build_has_hdf5(void) { return AXIAL_WITH_HDF5; }
int ax_build_has_png(void) { return AXIAL_WITH_PNG; }
int ax_build_has_openmp(void) {
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

int ax_cuda_device_count(void) { return ax_cuda_count_devices(); }

ax_status ax_cuda_device_info(int32_t id, char *name, size_t name_size, int64_t *total_memory) {
    if (name == NULL || name_size == 0) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "name: NULL or empty buffer");
    if (total_memory == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "total_memory: NULL");
    if (!AXIAL_WITH_CUDA) return ax_set_error(AX_ERR_UNSUPPORTED, "this build of Axial has no CUDA (AXIAL_CUDA=OFF)");
    const int count = ax_cuda_count_devices();
    if (id < 0 || id >= count)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "id: %d is not a CUDA device (%d present)", (int)id, count);
    return ax_cuda_query_device(id, name, name_size, total_memory);
}
