/*
 * collectives.c — the public collectives on tensors: validate locally, size the scratch, agree
 * across ranks, then run the shared bodies (collectives_core.c), except in measure mode, which stops
 * after the agreement with the scratch counted.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "comm/comm_internal.h"

#define ALL_DIMS 0xffu

static ax_status check_dim_index(const ax_tensor *t, int32_t dim, const char *name) {
    if (dim < 0 || dim >= t->ndim)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: %d is not a dim of a %d-dim tensor", name, (int)dim,
                            (int)t->ndim);
    return AX_OK;
}

/* `shard` has `full`'s ndim, dtype and sizes, except `count` along `dim`. */
static ax_status check_shard_of(const ax_tensor *shard, const char *shard_name, const ax_tensor *full,
                                const char *full_name, int32_t dim, int64_t count) {
    if (shard->ndim != full->ndim)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: %d dims, but %s has %d", shard_name, (int)shard->ndim,
                            full_name, (int)full->ndim);
    AX_CHECK(ax_check_dtype(shard, shard_name, full->dtype));
    for (int32_t d = 0; d < full->ndim; d++) {
        const int64_t expected = d == dim ? count : full->shape[d];
        if (shard->shape[d] != expected)
            return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                                d == dim ? "%s: dim %d is %lld, expected %lld (this rank's shard of %s's %lld)"
                                         : "%s: dim %d is %lld, expected %lld (as %s)",
                                shard_name, (int)d, (long long)shard->shape[d], (long long)expected, full_name,
                                (long long)full->shape[d]);
    }
    return AX_OK;
}

/* Runs the agreement with this rank's verdict so far and returns the common status. */
static ax_status agree(ax_comm *comm, comm_agreement *a, ax_status local) {
    comm_agree_fail(a, local);
    return comm_agree(comm, a);
}

ax_status ax_all_gather(ax_context *ctx, ax_comm *comm, const ax_tensor *in, int32_t dim, ax_tensor *out) {
    static const char op[] = "ax_all_gather";
    if (comm == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "comm: NULL communicator");
    comm_agreement a;
    comm_agree_init(&a, op, COMM_OP_ALL_GATHER, ctx);
    comm_scratch s = {0};
    ax_status st = comm_check_ctx(ctx, comm);
    if (st == AX_OK) st = comm_check_float_tensor(ctx, in, "in");
    if (st == AX_OK) st = comm_check_float_tensor(ctx, out, "out");
    if (st == AX_OK) st = check_dim_index(out, dim, "dim");
    if (st == AX_OK) {
        comm_agree_value(&a, "dim", dim);
        comm_agree_tensor(&a, "out", out, ALL_DIMS);
        st = check_shard_of(in, "in", out, "out", dim, comm_shard_count(comm, out->shape[dim], comm->rank));
    }
    const ax_tensor *ins[] = {in};
    const char *const in_names[] = {"in"};
    if (st == AX_OK) st = comm_check_output(out, "out", ins, in_names, 1);
    if (st == AX_OK) st = comm_check_message_size(comm, ax_tensor_numel(out), "out");
    if (st == AX_OK) st = comm_scratch_alloc(ctx, comm, &s, comm_gather_bytes(comm, in, dim, out, out->dtype));
    st = agree(comm, &a, st);
    if (st == AX_OK && !ctx->measure) st = comm_gather_body(ctx, comm, in, dim, out, out->dtype, &s);
    if (ctx != NULL) comm_scratch_free(ctx, &s);
    return st;
}

ax_status ax_reduce_scatter(ax_context *ctx, ax_comm *comm, const ax_tensor *in, int32_t dim, ax_tensor *out) {
    static const char op[] = "ax_reduce_scatter";
    if (comm == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "comm: NULL communicator");
    comm_agreement a;
    comm_agree_init(&a, op, COMM_OP_REDUCE_SCATTER, ctx);
    comm_scratch s = {0};
    ax_status st = comm_check_ctx(ctx, comm);
    if (st == AX_OK) st = comm_check_float_tensor(ctx, in, "in");
    if (st == AX_OK) st = comm_check_float_tensor(ctx, out, "out");
    if (st == AX_OK) st = check_dim_index(in, dim, "dim");
    if (st == AX_OK) {
        comm_agree_value(&a, "dim", dim);
        comm_agree_tensor(&a, "in", in, ALL_DIMS);
        st = check_shard_of(out, "out", in, "in", dim, comm_shard_count(comm, in->shape[dim], comm->rank));
    }
    const ax_tensor *ins[] = {in};
    const char *const in_names[] = {"in"};
    if (st == AX_OK) st = comm_check_output(out, "out", ins, in_names, 1);
    if (st == AX_OK) st = comm_check_message_size(comm, ax_tensor_numel(in), "in");
    if (st == AX_OK) st = comm_scratch_alloc(ctx, comm, &s, comm_reduce_scatter_bytes(comm, in, dim, out));
    st = agree(comm, &a, st);
    if (st == AX_OK && !ctx->measure) st = comm_reduce_scatter_body(ctx, comm, in, dim, out, &s);
    if (ctx != NULL) comm_scratch_free(ctx, &s);
    return st;
}

static int same_view(const ax_tensor *a, const ax_tensor *b) {
    if (a->data != b->data || a->ndim != b->ndim || a->dtype != b->dtype) return 0;
    for (int32_t d = 0; d < a->ndim; d++)
        if (a->shape[d] != b->shape[d] || (a->shape[d] > 1 && a->strides[d] != b->strides[d])) return 0;
    return 1;
}

ax_status ax_all_reduce(ax_context *ctx, ax_comm *comm, const ax_tensor *in, ax_tensor *out) {
    static const char op[] = "ax_all_reduce";
    if (comm == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "comm: NULL communicator");
    comm_agreement a;
    comm_agree_init(&a, op, COMM_OP_ALL_REDUCE, ctx);
    comm_scratch s = {0};
    ax_status st = comm_check_ctx(ctx, comm);
    if (st == AX_OK) st = comm_check_float_tensor(ctx, in, "in");
    if (st == AX_OK) st = comm_check_float_tensor(ctx, out, "out");
    if (st == AX_OK) {
        comm_agree_tensor(&a, "in", in, ALL_DIMS);
        st = check_shard_of(out, "out", in, "in", -1, 0);
    }
    const int in_place = st == AX_OK && same_view(in, out);
    if (st == AX_OK) {
        const ax_tensor *ins[] = {in};
        const char *const in_names[] = {"in"};
        st = comm_check_output(out, "out", ins, in_names, in_place ? 0 : 1);
    }
    const int64_t n = st == AX_OK ? ax_tensor_numel(in) : 0;
    const int send_direct = st == AX_OK && in->dtype == AX_F32 && ax_tensor_is_contiguous(in);
    const int recv_direct = st == AX_OK && out->dtype == AX_F32 && ax_tensor_is_contiguous(out);
    if (st == AX_OK) st = comm_check_message_size(comm, n, "in");
    if (st == AX_OK) st = comm_scratch_alloc(ctx, comm, &s, (send_direct && recv_direct) ? 0 : comm_align(n * 4));
    st = agree(comm, &a, st);
    if (st == AX_OK && n > 0 && !ctx->measure) {
        /* One fp32 buffer serves as both send and receive (in place) whenever a copy is needed. */
        float *buf = (send_direct && recv_direct) ? NULL : comm_scratch_take(&s, n * 4);
        const float *send = buf != NULL ? buf : in->data;
        float *recv = buf != NULL ? buf : out->data;
        if (buf != NULL) st = comm_pack(ctx, in, buf, AX_F32);
        if (st == AX_OK) st = comm_allreduce_f32(ctx, comm, send, recv, n);
        if (st == AX_OK && buf != NULL) st = comm_unpack(ctx, buf, AX_F32, out);
    }
    if (ctx != NULL) comm_scratch_free(ctx, &s);
    return st;
}

ax_status ax_all_to_all(ax_context *ctx, ax_comm *comm, const ax_tensor *in, int32_t split_dim, int32_t concat_dim,
                        ax_tensor *out) {
    static const char op[] = "ax_all_to_all";
    if (comm == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "comm: NULL communicator");
    comm_agreement a;
    comm_agree_init(&a, op, COMM_OP_ALL_TO_ALL, ctx);
    comm_scratch s = {0};
    ax_status st = comm_check_ctx(ctx, comm);
    if (st == AX_OK) st = comm_check_float_tensor(ctx, in, "in");
    if (st == AX_OK) st = comm_check_float_tensor(ctx, out, "out");
    if (st == AX_OK) st = check_dim_index(in, split_dim, "split_dim");
    if (st == AX_OK) st = check_dim_index(in, concat_dim, "concat_dim");
    if (st == AX_OK && split_dim == concat_dim)
        st = ax_set_error(AX_ERR_INVALID_ARGUMENT, "split_dim, concat_dim: both %d; they must differ", (int)split_dim);
    if (st == AX_OK && out->ndim != in->ndim)
        st = ax_set_error(AX_ERR_INVALID_ARGUMENT, "out: %d dims, but in has %d", (int)out->ndim, (int)in->ndim);
    if (st == AX_OK) st = ax_check_dtype(out, "out", in->dtype);
    if (st == AX_OK) {
        comm_agree_value(&a, "split_dim", split_dim);
        comm_agree_value(&a, "concat_dim", concat_dim);
        /* The full sizes: in's along split_dim and every other dim except concat_dim, out's along concat_dim. */
        comm_agree_tensor(&a, "in", in, ALL_DIMS & ~(1u << concat_dim));
        comm_agree_dim(&a, "out", concat_dim, out->shape[concat_dim]);
        for (int32_t d = 0; d < in->ndim && st == AX_OK; d++) {
            int64_t expected = in->shape[d];
            if (d == split_dim) expected = comm_shard_count(comm, in->shape[d], comm->rank);
            if (d == concat_dim) expected = out->shape[d];
            if (out->shape[d] != expected)
                st = ax_set_error(AX_ERR_INVALID_ARGUMENT, "out: dim %d is %lld, expected %lld%s", (int)d,
                                  (long long)out->shape[d], (long long)expected,
                                  d == split_dim ? " (this rank's shard of in's split dim)" : " (as in)");
        }
        if (st == AX_OK && in->shape[concat_dim] != comm_shard_count(comm, out->shape[concat_dim], comm->rank))
            st = ax_set_error(AX_ERR_INVALID_ARGUMENT,
                              "in: dim %d (concat_dim) is %lld, expected %lld (this rank's shard of out's %lld)",
                              (int)concat_dim, (long long)in->shape[concat_dim],
                              (long long)comm_shard_count(comm, out->shape[concat_dim], comm->rank),
                              (long long)out->shape[concat_dim]);
    }
    const ax_tensor *ins[] = {in};
    const char *const in_names[] = {"in"};
    if (st == AX_OK) st = comm_check_output(out, "out", ins, in_names, 1);
    /* One rank's MPI buffers are its in (sent) and its out (received); the agreement below shares a
     * refusal. (The whole tensor, concat_dim full, had been checked: a call whose every buffer fits
     * was refused.) */
    if (st == AX_OK) st = comm_check_message_size(comm, ax_tensor_numel(in), "in");
    if (st == AX_OK) st = comm_check_message_size(comm, ax_tensor_numel(out), "out");
    const ax_tensor *in_list[] = {in};
    const ax_tensor *out_list[] = {out};
    if (st == AX_OK)
        st = comm_scratch_alloc(ctx, comm, &s,
                                comm_all_to_all_bytes(comm, 1, in_list, split_dim, out_list, concat_dim, in->dtype));
    st = agree(comm, &a, st);
    if (st == AX_OK && !ctx->measure)
        st = comm_all_to_all_body(ctx, comm, 1, in_list, split_dim, concat_dim, out_list, in->dtype, &s);
    if (ctx != NULL) comm_scratch_free(ctx, &s);
    return st;
}
