/*
 * comm.c — ax_comm: Axial's duplicate of the caller's MPI communicator (errors returned, never
 * fatal), the agreement check's MPI objects, and for CUDA tensors an NCCL communicator bootstrapped
 * through it.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>

#include "comm/comm_internal.h"

static ax_status check_mpi_running(void) {
    int initialized = 0, finalized = 0;
    MPI_Initialized(&initialized);
    MPI_Finalized(&finalized);
    if (!initialized)
        return ax_set_error(AX_ERR_UNSUPPORTED, "comm: MPI is not initialised (call MPI_Init first; Axial never does)");
    if (finalized) return ax_set_error(AX_ERR_UNSUPPORTED, "comm: MPI is already finalised");
    return AX_OK;
}

/* Duplicates `comm` and sets up everything but NCCL. Collective over `comm`. */
static ax_status comm_create(ax_comm **out, MPI_Comm comm, comm_backend backend) {
    /* A NULL out is a local error like any other: this rank still takes part in the dup and the
     * status agreement below, so the others do not wait in MPI_Comm_dup for it forever. */
    ax_comm *local = NULL;
    if (out == NULL) out = &local;
    *out = NULL;
    if (comm == MPI_COMM_NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "comm: MPI_COMM_NULL");
    AX_CHECK(check_mpi_running());
    MPI_Comm dup = MPI_COMM_NULL;
    int rc = MPI_Comm_dup(comm, &dup);
    if (rc != MPI_SUCCESS) return comm_mpi_error(rc, "comm: MPI_Comm_dup");
    ax_comm *c = calloc(1, sizeof *c);
    if (c == NULL) {
        /* This rank still shares its verdict on the duplicate (the others' MPI_Allreduce below). */
        const int mine = (int)AX_ERR_OUT_OF_MEMORY;
        int worst = 0;
        (void)MPI_Allreduce(&mine, &worst, 1, MPI_INT, MPI_MAX, dup);
        MPI_Comm_free(&dup);
        return ax_set_error(AX_ERR_OUT_OF_MEMORY, "ax_comm: %zu bytes", sizeof *c);
    }
    c->mpi = dup;
    c->agree_op = MPI_OP_NULL;
    c->agree_type = MPI_DATATYPE_NULL;
    c->backend = backend;
    c->cuda_device = -1;
    ax_status st = AX_OK;
    rc = MPI_Comm_set_errhandler(c->mpi, MPI_ERRORS_RETURN);
    if (rc == MPI_SUCCESS) rc = MPI_Comm_rank(c->mpi, &c->rank);
    if (rc == MPI_SUCCESS) rc = MPI_Comm_size(c->mpi, &c->size);
    if (rc != MPI_SUCCESS) st = comm_mpi_error(rc, "comm: setting up the duplicate");
    if (st == AX_OK) {
        c->counts = malloc(sizeof(int64_t) * 4 * (size_t)c->size);
        c->mpi_counts = malloc(sizeof(int) * 4 * (size_t)c->size);
        if (c->counts == NULL || c->mpi_counts == NULL)
            st = ax_set_error(AX_ERR_OUT_OF_MEMORY, "ax_comm: count arrays for %d ranks", c->size);
    }
    if (st == AX_OK) st = comm_agree_setup(c);
    if (st == AX_OK && out == &local) st = ax_set_error(AX_ERR_INVALID_ARGUMENT, "out: NULL");
    /* Every rank holds the duplicate now: share whether the local setup worked, so that a rank that
     * failed (out of memory, say) does not return alone and leave the others with a communicator
     * whose first call waits for it forever. */
    const int mine = (int)st;
    int worst = 0;
    rc = MPI_Allreduce(&mine, &worst, 1, MPI_INT, MPI_MAX, c->mpi);
    if (st == AX_OK && rc != MPI_SUCCESS) st = comm_mpi_error(rc, "comm: sharing the setup status");
    else if (st == AX_OK && worst != AX_OK)
        st = ax_set_error((ax_status)worst, "comm: another rank failed to set up its communicator (%s)",
                          ax_status_string((ax_status)worst));
    if (st != AX_OK) {
        ax_comm_destroy(c);
        return st;
    }
    *out = c;
    return AX_OK;
}

ax_status ax_comm_create_mpi(ax_comm **out, MPI_Comm comm) { return comm_create(out, comm, COMM_MPI); }

ax_status ax_comm_create_nccl(ax_comm **out, MPI_Comm comm, int cuda_device) {
    if (out != NULL) *out = NULL;
    ax_comm *c = NULL;
    AX_CHECK(comm_create(&c, comm, COMM_NCCL));
    /* From here on every rank holds a working MPI duplicate: failures are shared, never a hang. */
    ax_status st = AX_OK;
    if (out == NULL) st = ax_set_error(AX_ERR_INVALID_ARGUMENT, "out: NULL");
    else if (cuda_device < 0) st = ax_set_error(AX_ERR_INVALID_ARGUMENT, "cuda_device: %d is negative", cuda_device);
#if AXIAL_WITH_NCCL
    c->cuda_device = cuda_device;
    st = comm_nccl_init(c, st);
#else
    if (st == AX_OK)
        st = ax_set_error(AX_ERR_UNSUPPORTED, "ax_comm_create_nccl: this build of Axial has no NCCL (AXIAL_NCCL)");
#endif
    st = comm_agree_status(c, "ax_comm_create_nccl", st);
    if (st != AX_OK) {
        ax_comm_destroy(c);
        return st;
    }
    *out = c;
    return AX_OK;
}

void ax_comm_destroy(ax_comm *comm) {
    if (comm == NULL) return;
#if AXIAL_WITH_NCCL
    if (comm->nccl != NULL) comm_nccl_destroy(comm);
#endif
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) {
        comm_agree_teardown(comm);
        if (comm->mpi != MPI_COMM_NULL) MPI_Comm_free(&comm->mpi);
    }
    free(comm->host_scratch);
    free(comm->counts);
    free(comm->mpi_counts);
    free(comm);
}

int ax_comm_rank(const ax_comm *comm) { return comm == NULL ? -1 : comm->rank; }

int ax_comm_size(const ax_comm *comm) { return comm == NULL ? -1 : comm->size; }
