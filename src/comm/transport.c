/*
 * transport.c — moving contiguous buffers between ranks: MPI for host memory, NCCL (in
 * transport_nccl.c) for device memory. Counts are in elements of the wire dtype; MPI takes int
 * counts, so one message is limited to INT_MAX elements per rank (all ranks see the same counts, so
 * they all refuse together).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <limits.h>

#include "comm/comm_internal.h"

ax_status comm_mpi_error(int code, const char *what) {
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(code, text, &len) != MPI_SUCCESS) len = 0;
    text[len < MPI_MAX_ERROR_STRING ? len : MPI_MAX_ERROR_STRING - 1] = '\0';
    return ax_set_error(AX_ERR_MPI, "%s: MPI error %d (%s)", what, code, len > 0 ? text : "no description");
}

/* These calls move bytes, so any type of the element's size will do. */
static MPI_Datatype mpi_type(ax_dtype wire) {
    switch (ax_dtype_size(wire)) {
    case 1: return MPI_UINT8_T;
    case 2: return MPI_UINT16_T;
    case 4: return MPI_UINT32_T;
    default: return MPI_UINT64_T;
    }
}

/* Copies int64 counts and displacements to the int arrays MPI takes. */
static ax_status to_int_counts(const ax_comm *comm, const int64_t *counts, const int64_t *displs, int *icounts,
                               int *idispls) {
    for (int r = 0; r < comm->size; r++) {
        const int64_t end = (displs != NULL ? displs[r] : 0) + counts[r];
        if (counts[r] > INT_MAX || end > INT_MAX)
            return ax_set_error(AX_ERR_UNSUPPORTED,
                                "a message of %lld elements (offset %lld) exceeds what one MPI call can move "
                                "(INT_MAX); split the tensor",
                                (long long)counts[r], (long long)(displs != NULL ? displs[r] : 0));
        icounts[r] = (int)counts[r];
        if (idispls != NULL) idispls[r] = (int)displs[r];
    }
    return AX_OK;
}


ax_status comm_allgatherv(ax_context *ctx, ax_comm *comm, const void *send, void *recv, const int64_t *counts,
                          const int64_t *displs, ax_dtype wire) {
#if AXIAL_WITH_NCCL
    if (comm->backend == COMM_NCCL)
        return comm_nccl_allgatherv(ctx, comm, send, recv, counts, displs, ax_dtype_size(wire));
#endif
    (void)ctx;
    int *ints = comm->mpi_counts;
    int *icounts = ints, *idispls = ints + comm->size;
    ax_status st = to_int_counts(comm, counts, displs, icounts, idispls);
    if (st == AX_OK) {
        const int rc = MPI_Allgatherv(send, icounts[comm->rank], mpi_type(wire), recv, icounts, idispls,
                                      mpi_type(wire), comm->mpi);
        if (rc != MPI_SUCCESS) st = comm_mpi_error(rc, "MPI_Allgatherv");
    }
    return st;
}

ax_status comm_alltoallv(ax_context *ctx, ax_comm *comm, const void *send, const int64_t *send_counts,
                         const int64_t *send_displs, void *recv, const int64_t *recv_counts,
                         const int64_t *recv_displs, ax_dtype wire) {
#if AXIAL_WITH_NCCL
    if (comm->backend == COMM_NCCL)
        return comm_nccl_alltoallv(ctx, comm, send, send_counts, send_displs, recv, recv_counts, recv_displs,
                                   ax_dtype_size(wire));
#endif
    (void)ctx;
    int *ints = comm->mpi_counts;
    const int P = comm->size;
    ax_status st = to_int_counts(comm, send_counts, send_displs, ints, ints + P);
    if (st == AX_OK) st = to_int_counts(comm, recv_counts, recv_displs, ints + 2 * P, ints + 3 * P);
    if (st == AX_OK) {
        const int rc = MPI_Alltoallv(send, ints, ints + P, mpi_type(wire), recv, ints + 2 * P, ints + 3 * P,
                                     mpi_type(wire), comm->mpi);
        if (rc != MPI_SUCCESS) st = comm_mpi_error(rc, "MPI_Alltoallv");
    }
    return st;
}

ax_status comm_reduce_scatterv_f32(ax_context *ctx, ax_comm *comm, const float *send, float *recv,
                                   const int64_t *counts) {
#if AXIAL_WITH_NCCL
    if (comm->backend == COMM_NCCL) return comm_nccl_reduce_scatterv_f32(ctx, comm, send, recv, counts);
#endif
    (void)ctx;
    int *ints = comm->mpi_counts;
    ax_status st = to_int_counts(comm, counts, NULL, ints, NULL);
    int64_t total = 0;
    for (int r = 0; r < comm->size; r++) total += counts[r];
    if (st == AX_OK && total > INT_MAX)
        st = ax_set_error(AX_ERR_UNSUPPORTED, "a reduction of %lld elements exceeds what one MPI call can move (INT_MAX)",
                          (long long)total);
    if (st == AX_OK) {
        const int rc = MPI_Reduce_scatter(send, recv, ints, MPI_FLOAT, MPI_SUM, comm->mpi);
        if (rc != MPI_SUCCESS) st = comm_mpi_error(rc, "MPI_Reduce_scatter");
    }
    return st;
}

ax_status comm_allreduce_f32(ax_context *ctx, ax_comm *comm, const float *send, float *recv, int64_t count) {
#if AXIAL_WITH_NCCL
    if (comm->backend == COMM_NCCL) return comm_nccl_allreduce_f32(ctx, comm, send, recv, count);
#endif
    (void)ctx;
    if (count > INT_MAX)
        return ax_set_error(AX_ERR_UNSUPPORTED, "a reduction of %lld elements exceeds what one MPI call can move (INT_MAX)",
                            (long long)count);
    const int rc = MPI_Allreduce(send == recv ? MPI_IN_PLACE : send, recv, (int)count, MPI_FLOAT, MPI_SUM, comm->mpi);
    if (rc != MPI_SUCCESS) return comm_mpi_error(rc, "MPI_Allreduce");
    return AX_OK;
}
