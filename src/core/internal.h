/*
 * internal.h — private core helpers shared by every area: error reporting, logging, tensor
 * validation, context internals. Never installed.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_CORE_INTERNAL_H
#define AXIAL_CORE_INTERNAL_H

#include <stdarg.h>
#include <stdint.h>

#include "axial/axial.h"

#if defined(__GNUC__) || defined(__clang__)
#  define AX_PRINTF(fmt_index, first_arg) __attribute__((format(printf, fmt_index, first_arg)))
#else
#  define AX_PRINTF(fmt_index, first_arg)
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Records `status` and a printf-style detail message as the calling thread's last error and returns
 * `status`, so failing paths read `return ax_set_error(AX_ERR_..., "q: ...")`. */
ax_status ax_set_error(ax_status status, const char *fmt, ...) AX_PRINTF(2, 3);
ax_status ax_set_errorv(ax_status status, const char *fmt, va_list args);

/* Prefixes the current last-error message with "<prefix>: " (for adding context on the way up). */
void ax_error_prefix(const char *prefix);
/* AX_ERR_UNSUPPORTED "WHAT: VALUE exceeds the LIMIT limit of INT_MAX (32-bit integers)" when value
 * does not fit a 32-bit int (sizes and leading dimensions handed to BLAS), else AX_OK. */
ax_status ax_check_int32_limit(int64_t value, const char *what, const char *limit);

/* The calling thread's last-error message, kept across a step that may fail without the call failing
 * (an optional allocation with a fallback), so that a successful call leaves the message as it was. */
typedef struct ax_error_snapshot {
    char text[1024];
} ax_error_snapshot;
void ax_error_keep(ax_error_snapshot *snapshot);
void ax_error_restore(const ax_error_snapshot *snapshot);

/* The OS's message for an errno value. strerror is not thread-safe, so this copies strerror_r's text
 * into a value the caller's expression holds: `ax_set_error(AX_ERR_IO, "...: %s", ax_os_error(e).text)`. */
typedef struct ax_os_message {
    char text[128];
} ax_os_message;
ax_os_message ax_os_error(int err);

/* Debug log to stderr, only when AXIAL_LOG=debug (read once). */
void ax_log_debug(const char *fmt, ...) AX_PRINTF(1, 2);

/* Keeps the first error: runs `call`, and on failure stores it in `st` and jumps to `label`. */
#define AX_CHECK_GOTO(call, st, label) \
    do {                               \
        (st) = (call);                 \
        if ((st) != AX_OK) goto label; \
    } while (0)

#define AX_CHECK(call)                    \
    do {                                  \
        ax_status ax_check_st_ = (call);  \
        if (ax_check_st_ != AX_OK) return ax_check_st_; \
    } while (0)

/* ---- tensor validation: each sets a message naming the tensor and returns the status ---- */

/* `t` is non-NULL, has `ndim` dims (described as `dims_desc`, e.g. "(B, N, S, H, D)"), non-negative
 * sizes, a known dtype, a non-NULL data pointer when it has elements, and no element offset that
 * overflows int64. */
ax_status ax_check_tensor(const ax_tensor *t, const char *name, int32_t ndim, const char *dims_desc);

/* dim `dim` of `t` equals `expected`; `dim_name` is "S", "D", ... */
ax_status ax_check_dim(const ax_tensor *t, const char *name, int32_t dim, const char *dim_name,
                       int64_t expected);

/* dim `dim` of `t` equals `expected` or 1 (broadcast). */
ax_status ax_check_dim_broadcast(const ax_tensor *t, const char *name, int32_t dim,
                                 const char *dim_name, int64_t expected);

ax_status ax_check_dtype(const ax_tensor *t, const char *name, ax_dtype expected);
ax_status ax_check_device(const ax_tensor *t, const char *name, ax_device expected);

/* Strides of `t` never map two in-bounds indices to one element (required of outputs). */
ax_status ax_check_no_self_overlap(const ax_tensor *t, const char *name);

/* Element-offset span [lo, hi] of a tensor's in-bounds elements; returns 0 when it has none. */
int ax_tensor_span(const ax_tensor *t, int64_t *lo, int64_t *hi);

/* 1 when the two tensors may share a byte: their byte spans overlap, unless they are views whose
 * rows interleave without touching (the two halves of a fused (.., 2F) buffer). */
int ax_tensors_overlap(const ax_tensor *a, const ax_tensor *b);

/* ---- context internals ---- */

struct ax_context {
    ax_device device;
    void *cuda_stream;
    int32_t num_threads;
    int64_t workspace_limit;
    void *cublas_handle;      /* cublasHandle_t, NULL until the first cuBLAS op (ax_cuda_blas_handle) */
    int64_t workspace_peak;   /* most scratch bytes (host + device) one op on this context has used */
    int64_t workspace_peak_host, workspace_peak_device; /* the same, per kind */
    int measure;              /* ax_context_set_measure: ops stop after accounting their workspace */
    void *host_scratch;       /* the host arena: kept between ops, only grows (ax_context_host_arena) */
    int64_t host_scratch_bytes;
    void *layer_scratch;      /* the layer arena (ax_context_layer_arena): composite layers' buffers */
    int64_t layer_scratch_bytes;
    void *cuda;               /* CUDA state owned by cuda_runtime.cu (device properties, pool), or NULL */
};

/* Records that the calling op needs `host_bytes` of host and `device_bytes` of device scratch: one
 * limit on their sum (AX_ERR_OUT_OF_MEMORY, message naming both sizes), else the context's peaks
 * (the sum and each kind) are raised. */
ax_status ax_context_reserve_workspace(ax_context *ctx, int64_t host_bytes, int64_t device_bytes);
/* The same for `bytes` of scratch on the context's own device (device bytes on a CUDA context, host
 * bytes otherwise). */
ax_status ax_context_reserve_own_workspace(ax_context *ctx, int64_t bytes);

/* The context's host arena, at least `bytes` long and 64-byte aligned, without accounting (the op
 * runner has already reserved it). Kept between ops and only grown, so repeated calls do not map and
 * fault in fresh pages each time; ax_context_destroy frees it. Contents undefined at each call. */
ax_status ax_context_host_arena(ax_context *ctx, int64_t bytes, void **out);

/* A second host arena with the same rules, for layers composed of public ops (the MoE layer,
 * moe.h) whose buffers must stay live across those ops, which take the first. The caller accounts
 * it (ax_context_reserve_workspace); only one layer may hold it at a time. */
ax_status ax_context_layer_arena(ax_context *ctx, int64_t bytes, void **out);

/* ---- CPU dispatch ---- */

/* The active path as an int for quick checks in kernels (AX_CPU_PATH_* values). */
ax_cpu_path ax_cpu_path_resolved(void);

/* ---- CUDA runtime, implemented in cuda_runtime.cu or cuda_absent.c ---- */

int ax_cuda_count_devices(void);
ax_status ax_cuda_query_device(int32_t id, char *name, size_t name_size, int64_t *total_memory);
ax_status ax_cuda_context_init(ax_context *ctx);
void ax_cuda_context_release(ax_context *ctx);
ax_status ax_cuda_alloc(ax_context *ctx, size_t bytes, void **out);
void ax_cuda_free(ax_context *ctx, void *ptr);
/* to_device: 1 host -> device, 0 device -> host; synchronous on the context's stream. */
ax_status ax_cuda_copy(ax_context *ctx, void *dst, const void *src, size_t bytes, int to_device);
ax_status ax_cuda_synchronize(ax_context *ctx);
/* The device scope: makes the context's device current and stores the caller's current device in
 * *saved (restored by ax_cuda_scope_leave, which does nothing when no switch was made). */
ax_status ax_cuda_scope_enter(const ax_context *ctx, int *saved);
void ax_cuda_scope_leave(const ax_context *ctx, int saved);
/* The same scope for a bare device ordinal (code that holds no context, e.g. NCCL communicator set-up). */
ax_status ax_cuda_device_enter(int32_t device, int *saved);
void ax_cuda_device_leave(int32_t device, int saved);
/* Stream-ordered device workspace from the context's memory pool (cudaMallocAsync on the context's
 * stream, memory kept by the pool between ops): no host synchronisation, capturable in a CUDA graph.
 * ax_cuda_ws_free queues the release behind the work already on the stream. The device must be
 * current (inside the scope). */
ax_status ax_cuda_ws_alloc(ax_context *ctx, int64_t bytes, void **out);
void ax_cuda_ws_free(ax_context *ctx, void *ptr);
/* Zeroes `bytes` at device pointer p, ordered on the context's stream (cudaMemsetAsync: no host
 * synchronisation). The device must be current. */
ax_status ax_cuda_ws_zero(ax_context *ctx, void *p, int64_t bytes);
/* Sets every element of t (a float or integer dtype, any strides, on the context's device) to zero:
 * a memset where t is contiguous, else ax_tensor_copy from one zero read through all-zero strides
 * (on CUDA 8 bytes of stream-ordered workspace, queued on the context's stream). For outputs an op
 * must clear without running its kernel (an empty problem's gradients). */
ax_status ax_tensor_zero(ax_context *ctx, const ax_tensor *t);
/* The context's cuBLAS handle (a cublasHandle_t), created at the first call: only contexts that run a
 * cuBLAS op ever hold one. The context's device must be current. Its stream is the context's. */
ax_status ax_cuda_blas_handle(ax_context *ctx, void **out);

#ifdef __cplusplus
}
#endif

#endif /* AXIAL_CORE_INTERNAL_H */
