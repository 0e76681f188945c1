/*
 * all_to_all_v.c — ax_all_to_all_v: a variable number of rows from every rank to every rank. The
 * ranks agree on the dtype and the trailing dims, exchange their row counts (one MPI_Alltoall of
 * int64), check that every recv can hold what arrives and share the verdict (so a rank whose recv is
 * too small fails every rank instead of leaving them waiting), then move the rows with one
 * all-to-all-v (MPI_Alltoallv, or grouped NCCL send/receive).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <limits.h>

#include "comm/comm_internal.h"

#define TRAILING_DIMS (0xffu & ~1u) /* every dim but the leading (row) one */

/* Why a rank gave up after the counts were exchanged: the shared verdict carries the reason, so the
 * other ranks' messages can say what went wrong there. */
enum { REASON_CAPACITY = 0, REASON_MESSAGE_SIZE, REASON_SCRATCH, REASON_COUNT };
#define NO_FAILURE INT64_MAX
#define STATUS_RADIX 16

static ax_status check_tensor(const ax_context *ctx, const ax_tensor *t, const char *name) {
    if (t == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: NULL tensor", name);
    if (t->ndim < 1 || t->ndim > AX_MAX_DIMS)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: %d dims, expected 1 to %d (rows first)", name, (int)t->ndim,
                            AX_MAX_DIMS);
    if (ax_dtype_size(t->dtype) == 0) /* before the layout check, whose block rules would speak first */
        return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                            "%s: dtype %s has no whole-byte element (block-quantized rows cannot be split per rank "
                            "here; move them as u8 bytes)",
                            name, ax_dtype_name(t->dtype));
    AX_CHECK(ax_check_tensor(t, name, t->ndim, "(rows, ...)"));
    return ax_check_device(t, name, ctx->device);
}

/* Everything this rank can check before the exchange: tensors, and counts that add up to send's rows. */
static ax_status check_local(const ax_context *ctx, const ax_comm *comm, const ax_tensor *send,
                             const int64_t *send_counts, const ax_tensor *recv, const int64_t *recv_counts) {
    AX_CHECK(comm_check_ctx(ctx, comm));
    AX_CHECK(check_tensor(ctx, send, "send"));
    AX_CHECK(check_tensor(ctx, recv, "recv"));
    if (recv->ndim != send->ndim)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "recv: %d dims, but send has %d", (int)recv->ndim,
                            (int)send->ndim);
    AX_CHECK(ax_check_dtype(recv, "recv", send->dtype));
    for (int32_t d = 1; d < send->ndim; d++)
        if (recv->shape[d] != send->shape[d])
            return ax_set_error(AX_ERR_INVALID_ARGUMENT, "recv: dim %d is %lld, expected %lld (as send; only the "
                                "leading, row dim may differ)",
                                (int)d, (long long)recv->shape[d], (long long)send->shape[d]);
    if (send_counts == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "send_counts: NULL");
    if (recv_counts == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "recv_counts: NULL");
    /* recv_counts is written before send_counts is read for the row exchange: they must not share. */
    if (recv_counts < send_counts + comm->size && send_counts < recv_counts + comm->size)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "recv_counts: overlaps send_counts (%d entries each)",
                            comm->size);
    const int64_t rows = send->shape[0];
    int64_t sum = 0;
    for (int r = 0; r < comm->size; r++) {
        if (send_counts[r] < 0)
            return ax_set_error(AX_ERR_INVALID_ARGUMENT, "send_counts: entry %d is %lld, negative", r,
                                (long long)send_counts[r]);
        if (send_counts[r] > rows - sum) /* also keeps the sum from overflowing */
            return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                                "send_counts: entries 0..%d already sum past send's %lld rows (dim 0)", r,
                                (long long)rows);
        sum += send_counts[r];
    }
    if (sum != rows)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "send_counts: the %d entries sum to %lld, but send has %lld rows (dim 0)",
                            comm->size, (long long)sum, (long long)rows);
    const ax_tensor *ins[] = {send};
    const char *const in_names[] = {"send"};
    return comm_check_output(recv, "recv", ins, in_names, 1);
}

/* Shares this rank's verdict after the counts exchange: AX_OK on every rank, or on every rank the
 * status of the lowest failing rank, with a message naming that rank and why. */
static ax_status share_verdict(ax_comm *comm, const char *op, ax_status local, int reason) {
    int64_t key = NO_FAILURE;
    if (local != AX_OK) key = ((int64_t)comm->rank * REASON_COUNT + reason) * STATUS_RADIX + (int64_t)local;
    const int rc = MPI_Allreduce(MPI_IN_PLACE, &key, 1, MPI_INT64_T, MPI_MIN, comm->mpi);
    if (rc != MPI_SUCCESS) return comm_mpi_error(rc, "ax_all_to_all_v: sharing the verdict (MPI_Allreduce)");
    if (key == NO_FAILURE) return local;
    const ax_status status = (ax_status)(key % STATUS_RADIX);
    const long long rank = (long long)(key / STATUS_RADIX / REASON_COUNT);
    if (local != AX_OK) return comm_failed_too(op, local, status, rank); /* its own message, the agreed status */
    switch ((int)(key / STATUS_RADIX % REASON_COUNT)) {
    case REASON_CAPACITY:
        return ax_set_error(status,
                            "%s: recv on rank %lld is too small for the rows sent to it (its ax_last_error() gives "
                            "both; recv_counts was written on every rank); no rows were exchanged",
                            op, rank);
    case REASON_MESSAGE_SIZE:
        return ax_set_error(status,
                            "%s: rank %lld would send or receive more than INT_MAX elements in one MPI call; no "
                            "rows were exchanged",
                            op, rank);
    default:
        return ax_set_error(status, "%s: rank %lld could not get its scratch (%s; see its ax_last_error()); no rows "
                            "were exchanged",
                            op, rank, ax_status_string(status));
    }
}

ax_status ax_all_to_all_v(ax_context *ctx, ax_comm *comm, const ax_tensor *send, const int64_t *send_counts,
                          ax_tensor *recv, int64_t *recv_counts) {
    static const char op[] = "ax_all_to_all_v";
    if (comm == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "comm: NULL communicator");
    comm_agreement a;
    comm_agree_init(&a, op, COMM_OP_ALL_TO_ALL_V, ctx);
    ax_status st = check_local(ctx, comm, send, send_counts, recv, recv_counts);
    if (st == AX_OK) comm_agree_tensor(&a, "send", send, TRAILING_DIMS);
    comm_agree_fail(&a, st);
    AX_CHECK(comm_agree(comm, &a));

    /* The counts: rank s's send_counts[r] becomes rank r's rows from s. */
    const int P = comm->size;
    int64_t *send_elems = comm->counts, *send_displs = comm->counts + P;
    int64_t *recv_elems = comm->counts + 2 * P, *recv_displs = comm->counts + 3 * P;
    int rc = MPI_Alltoall(send_counts, 1, MPI_INT64_T, recv_elems, 1, MPI_INT64_T, comm->mpi);
    if (rc != MPI_SUCCESS) return comm_mpi_error(rc, "ax_all_to_all_v: exchanging the counts (MPI_Alltoall)");
    const int64_t capacity = recv->shape[0];
    int64_t recv_rows = 0;
    int fits = 1;
    for (int r = 0; r < P; r++) {
        recv_counts[r] = recv_elems[r];
        if (recv_elems[r] > capacity - recv_rows) fits = 0;
        /* Saturate rather than overflow, only for the message (a sum past capacity has failed already). */
        recv_rows = recv_elems[r] > INT64_MAX - recv_rows ? INT64_MAX : recv_rows + recv_elems[r];
    }
    int reason = REASON_CAPACITY;
    if (!fits)
        st = ax_set_error(AX_ERR_INVALID_ARGUMENT,
                          "recv: %lld rows arrive on this rank (recv_counts), but recv holds %lld (dim 0); no rows "
                          "were exchanged",
                          (long long)recv_rows, (long long)capacity);

    /* Rows to elements: the trailing dims are agreed, so every rank uses the same row size. */
    int64_t row_elems = 1;
    for (int32_t d = 1; d < send->ndim; d++) row_elems *= send->shape[d];
    const int64_t send_rows = send->shape[0];
    const ax_tensor recv_used = comm_narrow(recv, 0, 0, fits ? recv_rows : 0);
    if (st == AX_OK && comm->backend == COMM_MPI &&
        (send_rows * row_elems > INT_MAX || recv_rows * row_elems > INT_MAX)) {
        reason = REASON_MESSAGE_SIZE;
        st = ax_set_error(AX_ERR_UNSUPPORTED,
                          "send, recv: this rank sends %lld and receives %lld elements, more than one MPI call can "
                          "move (INT_MAX); split the exchange",
                          (long long)(send_rows * row_elems), (long long)(recv_rows * row_elems));
    }

    const ax_dtype wire = send->dtype;
    const int64_t es = (int64_t)ax_dtype_size(wire);
    const int send_direct = ax_tensor_is_contiguous(send);
    const int recv_direct = ax_tensor_is_contiguous(&recv_used);
    comm_scratch s = {0};
    if (st == AX_OK) {
        reason = REASON_SCRATCH;
        st = comm_scratch_alloc(ctx, comm, &s,
                                (send_direct ? 0 : comm_align(send_rows * row_elems * es)) +
                                    (recv_direct ? 0 : comm_align(recv_rows * row_elems * es)));
    }
    st = share_verdict(comm, op, st, reason);

    if (st == AX_OK && !ctx->measure) { /* measure mode stops here: counts exchanged, scratch counted */
        int64_t send_at = 0, recv_at = 0;
        for (int r = 0; r < P; r++) {
            send_elems[r] = send_counts[r] * row_elems;
            send_displs[r] = send_at;
            send_at += send_elems[r];
            recv_elems[r] = recv_counts[r] * row_elems;
            recv_displs[r] = recv_at;
            recv_at += recv_elems[r];
        }
        const void *send_buf = send->data;
        if (!send_direct) {
            void *packed = comm_scratch_take(&s, send_at * es);
            st = comm_pack(ctx, send, packed, wire);
            send_buf = packed;
        }
        void *recv_buf = recv_direct ? recv->data : comm_scratch_take(&s, recv_at * es);
        /* A pack cannot fail once its arguments were checked (CPU) or only fails on a broken device
         * (CUDA, where the communicator is then unusable anyway), so no second verdict is shared. */
        if (st == AX_OK)
            st = comm_alltoallv(ctx, comm, send_buf, send_elems, send_displs, recv_buf, recv_elems, recv_displs, wire);
        if (st == AX_OK && !recv_direct) st = comm_unpack(ctx, recv_buf, wire, &recv_used);
    }
    if (ctx != NULL) comm_scratch_free(ctx, &s);
    return st;
}
