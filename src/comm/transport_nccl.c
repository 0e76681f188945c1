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
#include <stdint.h>
#include <stdio.h>
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

/* FNV-1a over a string, continuing from h. */
static uint64_t tag_hash(uint64_t h, const char *text) {
    for (const unsigned char *c = (const unsigned char *)text; *c != '\0'; c++) h = (h ^ *c) * 0x100000001b3ull;
    return (h ^ 0xff) * 0x100000001b3ull; /* a separator, so ("ab", "c") and ("a", "bc") differ */
}

/* NCCL takes one device per rank; two ranks of one host on one device fail inside
 * ncclCommInitRank with a bare "invalid usage". Each rank hashes (host name, boot id, PCI bus id):
 * the boot id tells apart hosts (containers) that share a name. The hashes are gathered into the
 * communicator's count array (no allocation here: a rank failing one would leave the others
 * waiting in the gather), so every rank sees every hash and names the same pair. A rank that
 * failed before, or cannot tell its device, sends 0, which is not compared. */
static ax_status check_distinct_devices(ax_comm *comm, ax_status st) {
    if (comm->size < 2) return st;
    char host[MPI_MAX_PROCESSOR_NAME + 1], boot[64] = "", bus[32] = "";
    memset(host, 0, sizeof host);
    int len = 0;
    uint64_t mine = 0;
    if (st == AX_OK && MPI_Get_processor_name(host, &len) == MPI_SUCCESS &&
        cudaDeviceGetPCIBusId(bus, (int)sizeof bus, comm->cuda_device) == cudaSuccess) {
        FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
        if (f != NULL) {
            if (fgets(boot, (int)sizeof boot, f) == NULL) boot[0] = '\0';
            fclose(f);
        }
        mine = tag_hash(tag_hash(tag_hash(0xcbf29ce484222325ull, host), boot), bus) | 1u;
    }
    cudaGetLastError();
    int64_t *all = comm->counts; /* 4 * size entries */
    const int64_t tag = (int64_t)mine;
    const int rc = MPI_Allgather(&tag, 1, MPI_INT64_T, all, 1, MPI_INT64_T, comm->mpi);
    if (rc != MPI_SUCCESS) return st != AX_OK ? st : comm_mpi_error(rc, "MPI_Allgather of the ranks' CUDA devices");
    for (int i = 0; st == AX_OK && i < comm->size; i++)
        for (int j = i + 1; st == AX_OK && j < comm->size; j++)
            if (all[i] != 0 && all[i] == all[j]) {
                const int named = comm->rank == i || comm->rank == j;
                st = ax_set_error(AX_ERR_INVALID_ARGUMENT,
                                  "cuda_device: ranks %d and %d would share CUDA device %s%s%s; NCCL needs one "
                                  "device per rank", i, j, named ? bus : "",
                                  named ? " on " : "(one host, one PCI bus id)", named ? host : "");
            }
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
