/*
 * collectives_core.c — the bodies of the collectives, shared by the public collectives and the
 * distributed attention: lay each rank's shard out as one contiguous block (packing strided tensors
 * and converting dtypes when needed), move the blocks, and unpack them into place. Arguments are
 * already validated and agreed on every rank, so every rank computes the same counts.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "comm/comm_internal.h"

static int64_t inner_size(const ax_tensor *t, int32_t dim) {
    return t->shape[dim] == 0 ? 0 : ax_tensor_numel(t) / t->shape[dim];
}

/* ---- all-gather ---- */

static int gather_send_direct(const ax_tensor *in, ax_dtype wire) {
    return in->dtype == wire && ax_tensor_is_contiguous(in);
}

static int gather_recv_direct(const ax_tensor *out, int32_t dim, ax_dtype wire) {
    return out->dtype == wire && comm_blocks_contiguous(out, dim);
}

int64_t comm_gather_bytes(const ax_comm *comm, const ax_tensor *in, int32_t dim, const ax_tensor *out,
                          ax_dtype wire) {
    (void)comm;
    const int64_t es = (int64_t)ax_dtype_size(wire);
    int64_t bytes = 0;
    if (!gather_send_direct(in, wire)) bytes += comm_align(ax_tensor_numel(in) * es);
    if (!gather_recv_direct(out, dim, wire)) bytes += comm_align(ax_tensor_numel(out) * es);
    return bytes;
}

ax_status comm_gather_body(ax_context *ctx, ax_comm *comm, const ax_tensor *in, int32_t dim, const ax_tensor *out,
                           ax_dtype wire, comm_scratch *s) {
    const int P = comm->size;
    const int64_t L = out->shape[dim], inner = inner_size(out, dim), es = (int64_t)ax_dtype_size(wire);
    if (ax_tensor_numel(out) == 0) return AX_OK;
    int64_t *counts = comm->counts, *displs = comm->counts + P;
    for (int r = 0; r < P; r++) {
        counts[r] = inner * comm_shard_count(comm, L, r);
        displs[r] = inner * comm_shard_offset(comm, L, r);
    }
    const void *send = in->data;
    if (!gather_send_direct(in, wire)) {
        void *packed = comm_scratch_take(s, ax_tensor_numel(in) * es);
        AX_CHECK(comm_pack(ctx, in, packed, wire));
        send = packed;
    }
    const int direct = gather_recv_direct(out, dim, wire);
    void *recv = direct ? out->data : comm_scratch_take(s, ax_tensor_numel(out) * es);
    AX_CHECK(comm_allgatherv(ctx, comm, send, recv, counts, displs, wire));
    if (direct) return AX_OK;
    for (int r = 0; r < P; r++) {
        const ax_tensor view =
            comm_narrow(out, dim, comm_shard_offset(comm, L, r), comm_shard_count(comm, L, r));
        AX_CHECK(comm_unpack(ctx, (const char *)recv + displs[r] * es, wire, &view));
    }
    return AX_OK;
}

/* ---- reduce-scatter (fp32 on the wire) ---- */

static int rs_send_direct(const ax_tensor *in, int32_t dim) {
    return in->dtype == AX_F32 && comm_blocks_contiguous(in, dim);
}

static int rs_recv_direct(const ax_tensor *out) { return out->dtype == AX_F32 && ax_tensor_is_contiguous(out); }

int64_t comm_reduce_scatter_bytes(const ax_comm *comm, const ax_tensor *in, int32_t dim, const ax_tensor *out) {
    (void)comm;
    int64_t bytes = 0;
    if (!rs_send_direct(in, dim)) bytes += comm_align(ax_tensor_numel(in) * 4);
    if (!rs_recv_direct(out)) bytes += comm_align(ax_tensor_numel(out) * 4);
    return bytes;
}

ax_status comm_reduce_scatter_body(ax_context *ctx, ax_comm *comm, const ax_tensor *in, int32_t dim,
                                   const ax_tensor *out, comm_scratch *s) {
    const int P = comm->size;
    const int64_t L = in->shape[dim], inner = inner_size(in, dim);
    if (ax_tensor_numel(in) == 0) return AX_OK;
    int64_t *counts = comm->counts;
    for (int r = 0; r < P; r++) counts[r] = inner * comm_shard_count(comm, L, r);
    const float *send = in->data;
    if (!rs_send_direct(in, dim)) {
        float *packed = comm_scratch_take(s, ax_tensor_numel(in) * 4);
        for (int r = 0; r < P; r++) {
            const int64_t offset = comm_shard_offset(comm, L, r);
            const ax_tensor view = comm_narrow(in, dim, offset, comm_shard_count(comm, L, r));
            AX_CHECK(comm_pack(ctx, &view, packed + inner * offset, AX_F32));
        }
        send = packed;
    }
    const int direct = rs_recv_direct(out);
    float *recv = direct ? out->data : comm_scratch_take(s, ax_tensor_numel(out) * 4);
    AX_CHECK(comm_reduce_scatterv_f32(ctx, comm, send, recv, counts));
    return direct ? AX_OK : comm_unpack(ctx, recv, AX_F32, out);
}

/* ---- all-to-all of one or more tensors ---- */

static int a2a_send_direct(int n, const ax_tensor *const *in, int32_t split_dim, ax_dtype wire) {
    return n == 1 && in[0]->dtype == wire && comm_blocks_contiguous(in[0], split_dim);
}

static int a2a_recv_direct(int n, const ax_tensor *const *out, int32_t concat_dim, ax_dtype wire) {
    return n == 1 && out[0]->dtype == wire && comm_blocks_contiguous(out[0], concat_dim);
}

int64_t comm_all_to_all_bytes(const ax_comm *comm, int n, const ax_tensor *const *in, int32_t split_dim,
                              const ax_tensor *const *out, int32_t concat_dim, ax_dtype wire) {
    (void)comm;
    const int64_t es = (int64_t)ax_dtype_size(wire);
    int64_t send = 0, recv = 0;
    for (int t = 0; t < n; t++) {
        send += ax_tensor_numel(in[t]);
        recv += ax_tensor_numel(out[t]);
    }
    int64_t bytes = 0;
    if (!a2a_send_direct(n, in, split_dim, wire)) bytes += comm_align(send * es);
    if (!a2a_recv_direct(n, out, concat_dim, wire)) bytes += comm_align(recv * es);
    return bytes;
}

ax_status comm_all_to_all_body(ax_context *ctx, ax_comm *comm, int n, const ax_tensor *const *in,
                               int32_t split_dim, int32_t concat_dim, const ax_tensor *const *out, ax_dtype wire,
                               comm_scratch *s) {
    const int P = comm->size;
    const int64_t es = (int64_t)ax_dtype_size(wire);
    int64_t *send_counts = comm->counts, *send_displs = comm->counts + P;
    int64_t *recv_counts = comm->counts + 2 * P, *recv_displs = comm->counts + 3 * P;
    int64_t send_total = 0, recv_total = 0;
    for (int r = 0; r < P; r++) {
        send_counts[r] = recv_counts[r] = 0;
        for (int t = 0; t < n; t++) {
            send_counts[r] += inner_size(in[t], split_dim) * comm_shard_count(comm, in[t]->shape[split_dim], r);
            recv_counts[r] += inner_size(out[t], concat_dim) * comm_shard_count(comm, out[t]->shape[concat_dim], r);
        }
        send_displs[r] = send_total;
        recv_displs[r] = recv_total;
        send_total += send_counts[r];
        recv_total += recv_counts[r];
    }
    const void *send = in[0]->data;
    if (!a2a_send_direct(n, in, split_dim, wire)) {
        char *packed = comm_scratch_take(s, send_total * es);
        int64_t at = 0;
        for (int r = 0; r < P; r++)
            for (int t = 0; t < n; t++) {
                const int64_t L = in[t]->shape[split_dim];
                const ax_tensor view = comm_narrow(in[t], split_dim, comm_shard_offset(comm, L, r),
                                                   comm_shard_count(comm, L, r));
                AX_CHECK(comm_pack(ctx, &view, packed + at * es, wire));
                at += ax_tensor_numel(&view);
            }
        send = packed;
    }
    const int direct = a2a_recv_direct(n, out, concat_dim, wire);
    char *recv = direct ? out[0]->data : comm_scratch_take(s, recv_total * es);
    AX_CHECK(comm_alltoallv(ctx, comm, send, send_counts, send_displs, recv, recv_counts, recv_displs, wire));
    if (direct) return AX_OK;
    int64_t at = 0;
    for (int r = 0; r < P; r++)
        for (int t = 0; t < n; t++) {
            const int64_t L = out[t]->shape[concat_dim];
            const ax_tensor view = comm_narrow(out[t], concat_dim, comm_shard_offset(comm, L, r),
                                               comm_shard_count(comm, L, r));
            AX_CHECK(comm_unpack(ctx, recv + at * es, wire, &view));
            at += ax_tensor_numel(&view);
        }
    return AX_OK;
}
