/*
 * scratch.c — one scratch region per distributed call, carved into aligned pieces: host memory for
 * MPI (the communicator's buffer, reused across calls: fresh pages cost page faults on every call),
 * stream-ordered device memory for NCCL. Counted against the context's workspace limit.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

#include "seqpar/seqpar_internal.h"

#define SEQPAR_ALIGN 256

int64_t seqpar_align(int64_t bytes) { return (bytes + SEQPAR_ALIGN - 1) / SEQPAR_ALIGN * SEQPAR_ALIGN; }

ax_status seqpar_scratch_alloc(ax_context *ctx, ax_comm *comm, seqpar_scratch *s, int64_t bytes) {
    memset(s, 0, sizeof *s);
    if (bytes <= 0) return AX_OK;
    if (ctx->workspace_limit > 0 && bytes > ctx->workspace_limit)
        return ax_set_error(AX_ERR_OUT_OF_MEMORY,
                            "workspace: this call needs %lld bytes of scratch, the context's limit is %lld",
                            (long long)bytes, (long long)ctx->workspace_limit);
    void *p = NULL;
    if (ctx->device.type == AX_CUDA) {
#if AXIAL_WITH_CUDA
        AX_CHECK(seqpar_cuda_alloc(ctx, bytes, &p));
#else
        return ax_set_error(AX_ERR_UNSUPPORTED, "this build of Axial has no CUDA");
#endif
    } else {
        if (comm->host_scratch_bytes < bytes) {
            free(comm->host_scratch);
            comm->host_scratch_bytes = 0;
            comm->host_scratch = aligned_alloc(SEQPAR_ALIGN, (size_t)seqpar_align(bytes));
            if (comm->host_scratch == NULL)
                return ax_set_error(AX_ERR_OUT_OF_MEMORY, "scratch: %lld bytes of host memory", (long long)bytes);
            comm->host_scratch_bytes = seqpar_align(bytes);
        }
        p = comm->host_scratch;
    }
    if (bytes > ctx->workspace_peak) ctx->workspace_peak = bytes;
    s->base = p;
    s->bytes = bytes;
    return AX_OK;
}

void *seqpar_scratch_take(seqpar_scratch *s, int64_t bytes) {
    if (s->base == NULL) return NULL;
    void *p = s->base + s->used;
    s->used += seqpar_align(bytes);
    return p;
}

void seqpar_scratch_free(ax_context *ctx, seqpar_scratch *s) {
    if (s->base == NULL) return;
#if AXIAL_WITH_CUDA
    if (ctx->device.type == AX_CUDA) {
        seqpar_cuda_free(ctx, s->base);
        s->base = NULL;
        return;
    }
#endif
    s->base = NULL; /* host scratch stays with the communicator */
}

ax_status seqpar_zero(ax_context *ctx, void *p, int64_t bytes) {
    if (bytes <= 0) return AX_OK;
#if AXIAL_WITH_CUDA
    if (ctx->device.type == AX_CUDA) return seqpar_cuda_zero(ctx, p, bytes);
#endif
    memset(p, 0, (size_t)bytes);
    return AX_OK;
}
