/*
 * pack_cuda.cu — the device side of the communicator: stream-ordered scratch and zero fills (packing
 * strided tensors is the core's ax_tensor_copy, as on the CPU). C ABI only; nothing here throws or
 * prints. Compiled into CUDA builds with MPI.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <cuda_runtime.h>

#include "comm/comm_cuda.h"
#include "core/cuda/check.cuh"

/* Each helper makes the context's device current for its own call and puts the caller's back, so a
 * distributed call never leaves the caller's device changed (the communicator's scratch is taken
 * outside ax_op_run, whose scope covers only kernels). Plain calls, no C++ guards: without
 * destructors this object needs nothing from the C++ runtime. */

extern "C" ax_status comm_cuda_alloc(ax_context *ctx, int64_t bytes, void **out) {
    *out = NULL;
    int saved = -1;
    AX_CHECK(ax_cuda_scope_enter(ctx, &saved));
    /* The context's stream-ordered pool: released after the work queued before the free, with no
     * host synchronisation, and kept by the pool for the next call. */
    const ax_status st = ax_cuda_ws_alloc(ctx, bytes > 0 ? bytes : 1, out);
    ax_cuda_scope_leave(ctx, saved);
    return st;
}

extern "C" void comm_cuda_free(ax_context *ctx, void *p) {
    if (p == NULL) return;
    int saved = -1;
    if (ax_cuda_scope_enter(ctx, &saved) != AX_OK) return;
    ax_cuda_ws_free(ctx, p);
    ax_cuda_scope_leave(ctx, saved);
}

extern "C" ax_status comm_cuda_zero(ax_context *ctx, void *p, int64_t bytes) {
    int saved = -1;
    AX_CHECK(ax_cuda_scope_enter(ctx, &saved));
    const ax_status st = ax_cuda_ws_zero(ctx, p, bytes);
    ax_cuda_scope_leave(ctx, saved);
    return st;
}
