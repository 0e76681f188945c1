/*
 * transport_nccl.c — the NCCL transport for CUDA tensors, bootstrapped through the communicator's MPI
 * duplicate. Uneven shards: NCCL's collectives take equal counts, so the *v forms are grouped
 * point-to-point calls (all-gather, all-to-all) or grouped reductions to each root (reduce-scatter).
 * Everything is queued on the context's stream.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <cuda_runtime.h>
#include <nccl.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm_internal.h"

static ax_status nccl_error(ncclResult_t r, const char *what) {
    return ax_set_error(AX_ERR_NCCL, "%s: %s (ncclResult_t %d)", what, ncclGetErrorString(r), (int)r);
}

#define NCCL_CHECK_GOTO(call, st, label)                              \
    do {                                                              \
        ncclResult_t nccl_r_ = (call);                                \
        if (nccl_r_ != ncclSuccess) {                                 \
            (st) = nccl_error(nccl_r_, #call);                        \
            goto label;                                               \
        }                                                             \
    } while (0)

static ncclComm_t nccl_of(const ax_comm *comm) { return (ncclComm_t)comm->nccl; }
static cudaStream_t stream_of(const ax_context *ctx) { return (cudaStream_t)ctx->cuda_stream; }

enum { DEVICE_TAG_BYTES = MPI_MAX_PROCESSOR_NAME + 32 };

static ax_status check_distinct_devices(ax_comm *comm, ax_status st) {
    if (comm->size < 2) return st;
    char mine[DEVICE_TAG_BYTES];
    memset(mine, 0, sizeof mine);
    int len = 0;
    if (st == AX_OK && MPI_Get_processor_name(mine, &len) == MPI_SUCCESS &&
        cudaDeviceGetPCIBusId(mine + MPI_MAX_PROCESSOR_NAME, 32, comm->cuda_device) != cudaSuccess) {
        cudaGetLastError();
        memset(mine, 0, sizeof mine); /* unknown: not compared */
    }
    char *all = malloc((size_t)comm->size * DEVICE_TAG_BYTES);
    if (all == NULL) /* the other ranks then wait in the gather, as after any rank lost mid-collective */
        return ax_set_error(AX_ERR_OUT_OF_MEMORY, "ax_comm_create_nccl: out of host memory");
    const int rc = MPI_Allgather(mine, DEVICE_TAG_BYTES, MPI_BYTE, all, DEVICE_TAG_BYTES, MPI_BYTE, comm->mpi);
    if (rc != MPI_SUCCESS) {
        free(all);
        return st != AX_OK ? st : comm_mpi_error(rc, "MPI_Allgather of the ranks' CUDA devices");
    }
    for (int i = 0; st == AX_OK && i < comm->size; i++)
        for (int j = i + 1; st == AX_OK && j < comm->size; j++) {
            const char *a = all + (size_t)i * DEVICE_TAG_BYTES, *b = all + (size_t)j * DEVICE_TAG_BYTES;
            if (a[MPI_MAX_PROCESSOR_NAME] != '\0' && memcmp(a, b, DEVICE_TAG_BYTES) == 0)
                st = ax_set_error(AX_ERR_INVALID_ARGUMENT,
                                  "cuda_device: ranks %d and %d would share CUDA device %s on %s; NCCL needs one "
                                  "device per rank", i, j, a + MPI_MAX_PROCESSOR_NAME, a);
        }
    free(all);
    return st;
}

ax_status comm_nccl_init(ax_comm *comm, ax_status pre) {
    const int count = ax_cuda_count_devices(); /* 0 without a driver */
    ax_status st = pre;
    if (st == AX_OK && comm->cuda_device >= count)
        st = ax_set_error(AX_ERR_INVALID_ARGUMENT, "cuda_device: %d, but this process sees %d CUDA device(s)",
                          comm->cuda_device, count);
    /* ncclCommInitRank binds the communicator to the current device: make it comm->cuda_device for
     * the set-up only, and give the caller's back afterwards. */
    int saved = -1;
    int entered = 0;
    if (st == AX_OK) {
        st = ax_cuda_device_enter(comm->cuda_device, &saved);
        entered = st == AX_OK;
    }
    /* NCCL takes one device per rank; two ranks of one host on one device fail inside
     * ncclCommInitRank with a bare "invalid usage". Every rank sees every (host, PCI bus id) and so
     * names the same pair. A rank that failed above still takes part, with an empty record. */
    st = check_distinct_devices(comm, st);
    ncclUniqueId id;
    memset(&id, 0, sizeof id);
    if (st == AX_OK && comm->rank == 0) {
        const ncclResult_t r = ncclGetUniqueId(&id);
        if (r != ncclSuccess) st = nccl_error(r, "ncclGetUniqueId");
    }
    /* Every rank must enter ncclCommInitRank or none: share the verdict first. */
    st = comm_agree_status(comm, "ax_comm_create_nccl", st);
    if (st == AX_OK) {
        const int rc = MPI_Bcast(&id, (int)sizeof id, MPI_BYTE, 0, comm->mpi);
        if (rc != MPI_SUCCESS) st = comm_mpi_error(rc, "MPI_Bcast of the NCCL unique id");
    }
    if (st == AX_OK) {
        ncclComm_t nccl = NULL;
        const ncclResult_t r = ncclCommInitRank(&nccl, comm->size, id, comm->rank);
        if (r != ncclSuccess)
            st = nccl_error(r, "ncclCommInitRank");
        else
            comm->nccl = nccl;
    }
    if (entered) ax_cuda_device_leave(comm->cuda_device, saved);
    return st;
}

void comm_nccl_destroy(ax_comm *comm) {
    ncclCommDestroy(nccl_of(comm));
    comm->nccl = NULL;
}

ax_status comm_nccl_allgatherv(ax_context *ctx, ax_comm *comm, const void *send, void *recv, const int64_t *counts,
                               const int64_t *displs, size_t elem_size) {
    ax_status st = AX_OK;
    const int me = comm->rank;
    NCCL_CHECK_GOTO(ncclGroupStart(), st, done);
    for (int r = 0; r < comm->size; r++) {
        if (counts[r] == 0) continue;
        /* Root r's block lands at its displacement on every rank (the root included); sendbuff is read
         * on the root only. */
        NCCL_CHECK_GOTO(ncclBroadcast(r == me ? send : recv, (char *)recv + (size_t)displs[r] * elem_size,
                                      (size_t)counts[r] * elem_size, ncclUint8, r, nccl_of(comm), stream_of(ctx)),
                        st, end_group);
    }
end_group:
    {
        const ncclResult_t r = ncclGroupEnd();
        if (st == AX_OK && r != ncclSuccess) st = nccl_error(r, "ncclGroupEnd (all-gather)");
    }
done:
    return st;
}

ax_status comm_nccl_alltoallv(ax_context *ctx, ax_comm *comm, const void *send, const int64_t *send_counts,
                              const int64_t *send_displs, void *recv, const int64_t *recv_counts,
                              const int64_t *recv_displs, size_t elem_size) {
    ax_status st = AX_OK;
    NCCL_CHECK_GOTO(ncclGroupStart(), st, done);
    for (int r = 0; r < comm->size; r++) {
        if (send_counts[r] > 0)
            NCCL_CHECK_GOTO(ncclSend((const char *)send + (size_t)send_displs[r] * elem_size,
                                     (size_t)send_counts[r] * elem_size, ncclUint8, r, nccl_of(comm), stream_of(ctx)),
                            st, end_group);
        if (recv_counts[r] > 0)
            NCCL_CHECK_GOTO(ncclRecv((char *)recv + (size_t)recv_displs[r] * elem_size,
                                     (size_t)recv_counts[r] * elem_size, ncclUint8, r, nccl_of(comm), stream_of(ctx)),
                            st, end_group);
    }
end_group:
    {
        const ncclResult_t r = ncclGroupEnd();
        if (st == AX_OK && r != ncclSuccess) st = nccl_error(r, "ncclGroupEnd (all-to-all)");
    }
done:
    return st;
}

ax_status comm_nccl_reduce_scatterv_f32(ax_context *ctx, ax_comm *comm, const float *send, float *recv,
                                        const int64_t *counts) {
    ax_status st = AX_OK;
    int64_t offset = 0;
    NCCL_CHECK_GOTO(ncclGroupStart(), st, done);
    for (int r = 0; r < comm->size; r++) {
        if (counts[r] > 0)
            /* recvbuff is written on the root only. */
            NCCL_CHECK_GOTO(ncclReduce(send + offset, recv, (size_t)counts[r], ncclFloat32,
                                       ncclSum, r, nccl_of(comm), stream_of(ctx)),
                            st, end_group);
        offset += counts[r];
    }
end_group:
    {
        const ncclResult_t r = ncclGroupEnd();
        if (st == AX_OK && r != ncclSuccess) st = nccl_error(r, "ncclGroupEnd (reduce-scatter)");
    }
done:
    return st;
}

ax_status comm_nccl_allreduce_f32(ax_context *ctx, ax_comm *comm, const float *send, float *recv, int64_t count) {
    const ncclResult_t r =
        ncclAllReduce(send, recv, (size_t)count, ncclFloat32, ncclSum, nccl_of(comm), stream_of(ctx));
    return r == ncclSuccess ? AX_OK : nccl_error(r, "ncclAllReduce");
}
