/*
 * scratch.c — one scratch region per distributed call, carved into aligned pieces: host memory for
 * MPI (the communicator's buffer, reused across calls: fresh pages cost page faults on every call),
 * stream-ordered device memory for NCCL (the context's pool: ax_cuda_ws_alloc, no host
 * synchronisation). Counted against the context's workspace limit and peak.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

#include "comm/comm_internal.h"

#define COMM_ALIGN 256

int64_t comm_align(int64_t bytes) { return (bytes + COMM_ALIGN - 1) / COMM_ALIGN * COMM_ALIGN; }

ax_status comm_scratch_alloc(ax_context *ctx, ax_comm *comm, comm_scratch *s, int64_t bytes) {
    memset(s, 0, sizeof *s);
    if (bytes <= 0) return AX_OK;
    /* The limit, and the peak (per kind: device bytes on a CUDA context, host bytes otherwise). */
    const int on_device = ctx->device.type == AX_CUDA;
    AX_CHECK(ax_context_reserve_own_workspace(ctx, bytes));
    if (ctx->measure) return AX_OK; /* measure mode: counted, not taken (the ops stop after the agreement) */
    void *p = NULL;
    if (on_device) {
#if AXIAL_WITH_CUDA
        AX_CHECK(comm_cuda_alloc(ctx, bytes, &p));
#else
        return ax_set_error(AX_ERR_UNSUPPORTED, "this build of Axial has no CUDA");
#endif
    } else {
        if (comm->host_scratch_bytes < bytes) {
            free(comm->host_scratch);
            comm->host_scratch_bytes = 0;
            comm->host_scratch = aligned_alloc(COMM_ALIGN, (size_t)comm_align(bytes));
            if (comm->host_scratch == NULL)
                return ax_set_error(AX_ERR_OUT_OF_MEMORY, "scratch: %lld bytes of host memory", (long long)bytes);
            comm->host_scratch_bytes = comm_align(bytes);
        }
        p = comm->host_scratch;
    }
    s->base = p;
    s->bytes = bytes;
    return AX_OK;
}

void *comm_scratch_take(comm_scratch *s, int64_t bytes) {
    if (s->base == NULL) return NULL;
    void *p = s->base + s->used;
    s->used += comm_align(bytes);
    return p;
}

void comm_scratch_free(ax_context *ctx, comm_scratch *s) {
    if (s->base == NULL) return;
#if AXIAL_WITH_CUDA
    if (ctx->device.type == AX_CUDA) {
        comm_cuda_free(ctx, s->base);
        s->base = NULL;
        return;
    }
#endif
    s->base = NULL; /* host scratch stays with the communicator */
}

ax_status comm_zero(ax_context *ctx, void *p, int64_t bytes) {
    if (bytes <= 0) return AX_OK;
#if AXIAL_WITH_CUDA
    if (ctx->device.type == AX_CUDA) return comm_cuda_zero(ctx, p, bytes);
#endif
    memset(p, 0, (size_t)bytes);
    return AX_OK;
}
