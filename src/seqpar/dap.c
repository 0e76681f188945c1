/*
 * dap.c — Evoformer attention in axial (DAP) mode: q, k, v and the mask sharded by rows (dim 1),
 * the pair bias by its query rows. The forward all-gathers the bias and runs the single-rank op on
 * this rank's rows; the backward also reduce-scatters the bias gradient, formed in fp32.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "axial/evoformer.h"
#include "seqpar/seqpar_internal.h"

#define BNSHD "(B, N_local, S, H, D)"

typedef struct dap_args {
    int64_t B, N_local, S, H, D;
    int64_t S_local;
} dap_args;

/* q, k, v, bias_mask and bias_pair_shard: local checks, and what every rank must agree on. */
static ax_status check_inputs(const ax_context *ctx, const ax_comm *comm, const ax_tensor *q, const ax_tensor *k,
                              const ax_tensor *v, const ax_tensor *bias_mask, const ax_tensor *bias_pair_shard,
                              seqpar_agreement *a, dap_args *d) {
    AX_CHECK(seqpar_check_comm_ctx(ctx, comm));
    AX_CHECK(ax_check_tensor(q, "q", 5, BNSHD));
    AX_CHECK(seqpar_check_float_dtype(q, "q"));
    AX_CHECK(ax_check_device(q, "q", ctx->device));
    d->B = q->shape[0];
    d->N_local = q->shape[1];
    d->S = q->shape[2];
    d->H = q->shape[3];
    d->D = q->shape[4];
    d->S_local = seqpar_shard_count(comm, d->S, comm->rank);
    seqpar_agree_tensor(a, "q", q, 0x1du); /* B, S, H, D; N is split */
    seqpar_agree_shard(a, "q: dim 1 (N_local)", d->N_local);
    AX_CHECK(seqpar_check_like(ctx, k, "k", q, "q"));
    AX_CHECK(seqpar_check_like(ctx, v, "v", q, "q"));
    seqpar_agree_tensor(a, "bias_mask", bias_mask, 0);
    if (bias_mask != NULL) {
        AX_CHECK(ax_check_tensor(bias_mask, "bias_mask", 5, "(B, N_local, 1, 1, S)"));
        AX_CHECK(ax_check_dim_broadcast(bias_mask, "bias_mask", 1, "N_local", d->N_local));
    }
    seqpar_agree_tensor(a, "bias_pair_shard", bias_pair_shard, 0x15u); /* B, H, S (key) */
    if (bias_pair_shard != NULL) {
        const ax_tensor *bp = bias_pair_shard;
        AX_CHECK(ax_check_tensor(bp, "bias_pair_shard", 5, "(B, 1, H, S_local, S)"));
        AX_CHECK(seqpar_check_float_dtype(bp, "bias_pair_shard"));
        AX_CHECK(ax_check_device(bp, "bias_pair_shard", ctx->device));
        AX_CHECK(ax_check_dim_broadcast(bp, "bias_pair_shard", 0, "B", d->B));
        AX_CHECK(ax_check_dim(bp, "bias_pair_shard", 1, "1", 1));
        AX_CHECK(ax_check_dim_broadcast(bp, "bias_pair_shard", 2, "H", d->H));
        AX_CHECK(ax_check_dim(bp, "bias_pair_shard", 3, "S_local: this rank's shard of S", d->S_local));
        AX_CHECK(ax_check_dim_broadcast(bp, "bias_pair_shard", 4, "S (key)", d->S));
    }
    return AX_OK;
}

/* The gathered bias: bias_pair_shard's shape with all S query rows, contiguous, in `dtype`. */
static ax_tensor full_bias(const ax_tensor *shard, const dap_args *d, ax_dtype dtype) {
    const int64_t shape[5] = {shard->shape[0], 1, shard->shape[2], d->S, shard->shape[4]};
    return seqpar_contiguous(NULL, dtype, shard->device, 5, shape);
}

static int local_empty(const dap_args *d) { return d->B == 0 || d->N_local == 0 || d->S == 0 || d->H == 0 || d->D == 0; }

ax_status ax_evoformer_attention_forward_dap(ax_context *ctx, ax_comm *comm, const ax_tensor *q, const ax_tensor *k,
                                             const ax_tensor *v, const ax_tensor *bias_mask,
                                             const ax_tensor *bias_pair_shard, ax_tensor *out, ax_tensor *lse) {
    static const char op[] = "ax_evoformer_attention_forward_dap";
    if (comm == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "comm: NULL communicator");
    seqpar_agreement a;
    seqpar_agree_init(&a, op, SEQPAR_OP_DAP_FORWARD);
    seqpar_scratch s = {0};
    dap_args d = {0};
    ax_tensor bias = {0};
    ax_status st = check_inputs(ctx, comm, q, k, v, bias_mask, bias_pair_shard, &a, &d);
    if (st == AX_OK) st = seqpar_check_like(ctx, out, "out", q, "q");
    if (st == AX_OK && lse != NULL) st = seqpar_check_lse(ctx, lse, "lse", d.B, d.N_local, d.H, d.S);
    if (st == AX_OK && bias_pair_shard != NULL) {
        bias = full_bias(bias_pair_shard, &d, bias_pair_shard->dtype);
        st = seqpar_check_message_size(comm, ax_tensor_numel(&bias), "bias_pair_shard");
        if (st == AX_OK)
            st = seqpar_scratch_alloc(ctx, comm, &s,
                                      seqpar_align(ax_tensor_numel(&bias) * (int64_t)ax_dtype_size(bias.dtype)) +
                                          seqpar_gather_bytes(comm, bias_pair_shard, 3, &bias, bias.dtype));
        if (st == AX_OK)
            bias.data = seqpar_scratch_take(&s, ax_tensor_numel(&bias) * (int64_t)ax_dtype_size(bias.dtype));
    }
    seqpar_agree_fail(&a, st);
    st = seqpar_agree(comm, &a);
    if (st == AX_OK && bias_pair_shard != NULL)
        st = seqpar_gather_body(ctx, comm, bias_pair_shard, 3, &bias, bias.dtype, &s);
    if (st == AX_OK) {
        /* A rank without rows has nothing to compute (and its empty tensors may carry any strides). */
        if (!local_empty(&d))
            st = ax_evoformer_attention_forward(ctx, q, k, v, bias_mask, bias_pair_shard != NULL ? &bias : NULL, out,
                                                lse);
        /* Every rank returns the same status, so a caller's error handling stays collective. */
        st = seqpar_agree_status(comm, op, st);
    }
    if (ctx != NULL) seqpar_scratch_free(ctx, &s);
    return st;
}

ax_status ax_evoformer_attention_backward_dap(ax_context *ctx, ax_comm *comm, const ax_tensor *q, const ax_tensor *k,
                                              const ax_tensor *v, const ax_tensor *bias_mask,
                                              const ax_tensor *bias_pair_shard, const ax_tensor *out,
                                              const ax_tensor *lse, const ax_tensor *dout, ax_tensor *dq,
                                              ax_tensor *dk, ax_tensor *dv, ax_tensor *dbias_mask,
                                              ax_tensor *dbias_pair_shard) {
    static const char op[] = "ax_evoformer_attention_backward_dap";
    if (comm == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "comm: NULL communicator");
    seqpar_agreement a;
    seqpar_agree_init(&a, op, SEQPAR_OP_DAP_BACKWARD);
    seqpar_scratch s = {0};
    dap_args d = {0};
    ax_tensor bias = {0}, dbias = {0};
    float *zero = NULL;
    ax_status st = check_inputs(ctx, comm, q, k, v, bias_mask, bias_pair_shard, &a, &d);
    if (st == AX_OK) st = seqpar_check_like(ctx, out, "out", q, "q");
    if (st == AX_OK && lse == NULL) st = ax_set_error(AX_ERR_INVALID_ARGUMENT, "lse: NULL (backward needs the forward's lse)");
    if (st == AX_OK) st = seqpar_check_lse(ctx, lse, "lse", d.B, d.N_local, d.H, d.S);
    if (st == AX_OK) st = seqpar_check_like(ctx, dout, "dout", q, "q");
    if (st == AX_OK) st = seqpar_check_like(ctx, dq, "dq", q, "q");
    if (st == AX_OK) st = seqpar_check_like(ctx, dk, "dk", q, "q");
    if (st == AX_OK) st = seqpar_check_like(ctx, dv, "dv", q, "q");
    /* dbias_mask is checked here, before the agreement, because a rank with no rows writes it (zeros)
     * itself instead of leaving it to the local op's validation. */
    seqpar_agree_value(&a, "dbias_mask: presence (1 = given, 0 = NULL)", dbias_mask != NULL);
    if (st == AX_OK && dbias_mask != NULL) {
        if (bias_mask == NULL) st = ax_set_error(AX_ERR_INVALID_ARGUMENT, "dbias_mask: given, but bias_mask is NULL");
        else st = seqpar_check_like(ctx, dbias_mask, "dbias_mask", bias_mask, "bias_mask");
        if (st == AX_OK) {
            const ax_tensor *ins[] = {q, k, v, bias_mask, bias_pair_shard, out, lse, dout, dq, dk, dv};
            const char *const names[] = {"q", "k", "v", "bias_mask", "bias_pair_shard", "out",
                                         "lse", "dout", "dq", "dk", "dv"};
            st = seqpar_check_output(dbias_mask, "dbias_mask", ins, names, 11);
        }
    }
    seqpar_agree_value(&a, "dbias_pair_shard: presence (1 = given, 0 = NULL)", dbias_pair_shard != NULL);
    if (st == AX_OK && dbias_pair_shard != NULL) {
        if (bias_pair_shard == NULL)
            st = ax_set_error(AX_ERR_INVALID_ARGUMENT, "dbias_pair_shard: given, but bias_pair_shard is NULL");
        else
            st = seqpar_check_like(ctx, dbias_pair_shard, "dbias_pair_shard", bias_pair_shard, "bias_pair_shard");
        if (st == AX_OK) {
            const ax_tensor *ins[] = {q, k, v, bias_mask, bias_pair_shard, out, lse, dout, dq, dk, dv, dbias_mask};
            const char *const names[] = {"q", "k", "v", "bias_mask", "bias_pair_shard", "out",
                                         "lse", "dout", "dq", "dk", "dv", "dbias_mask"};
            st = seqpar_check_output(dbias_pair_shard, "dbias_pair_shard", ins, names, 12);
        }
    }
    if (st == AX_OK && bias_pair_shard != NULL) {
        /* The local backward sees an fp32 bias so its bias gradient may be fp32 too: the ranks' partial
         * sums then meet in fp32 and are rounded once. */
        bias = full_bias(bias_pair_shard, &d, AX_F32);
        dbias = bias;
        const int64_t full_bytes = seqpar_align(ax_tensor_numel(&bias) * 4);
        const int64_t gather = seqpar_gather_bytes(comm, bias_pair_shard, 3, &bias, bias_pair_shard->dtype);
        const int64_t reduce =
            dbias_pair_shard != NULL ? seqpar_reduce_scatter_bytes(comm, &dbias, 3, dbias_pair_shard) : 0;
        st = seqpar_check_message_size(comm, ax_tensor_numel(&bias), "bias_pair_shard");
        if (st == AX_OK)
            st = seqpar_scratch_alloc(ctx, comm, &s, seqpar_align(4) + full_bytes * (dbias_pair_shard != NULL ? 2 : 1) +
                                                   (gather > reduce ? gather : reduce));
        if (st == AX_OK) {
            bias.data = seqpar_scratch_take(&s, ax_tensor_numel(&bias) * 4);
            if (dbias_pair_shard != NULL) dbias.data = seqpar_scratch_take(&s, ax_tensor_numel(&dbias) * 4);
        }
    } else if (st == AX_OK) {
        st = seqpar_scratch_alloc(ctx, comm, &s, seqpar_align(4));
    }
    if (st == AX_OK) zero = seqpar_scratch_take(&s, 4);
    seqpar_agree_fail(&a, st);
    st = seqpar_agree(comm, &a);
    const int64_t exchange_mark = s.used; /* the gather's and the reduce-scatter's buffers share this space */
    if (st == AX_OK && bias_pair_shard != NULL)
        st = seqpar_gather_body(ctx, comm, bias_pair_shard, 3, &bias, bias_pair_shard->dtype, &s);
    if (st == AX_OK && local_empty(&d)) {
        /* The single-rank op writes nothing for an empty problem; here no rows means a zero contribution
         * (and a zero gradient for a mask that broadcasts over N). */
        if (dbias_pair_shard != NULL) st = seqpar_zero(ctx, dbias.data, ax_tensor_numel(&dbias) * 4);
        if (st == AX_OK && dbias_mask != NULL) st = seqpar_fill_zero(ctx, dbias_mask, zero);
    }
    if (st == AX_OK) {
        if (!local_empty(&d))
            st = ax_evoformer_attention_backward(ctx, q, k, v, bias_mask, bias_pair_shard != NULL ? &bias : NULL, out,
                                                 lse, dout, dq, dk, dv, dbias_mask,
                                                 dbias_pair_shard != NULL ? &dbias : NULL);
        st = seqpar_agree_status(comm, op, st);
    }
    s.used = exchange_mark;
    if (st == AX_OK && dbias_pair_shard != NULL)
        st = seqpar_reduce_scatter_body(ctx, comm, &dbias, 3, dbias_pair_shard, &s);
    if (ctx != NULL) seqpar_scratch_free(ctx, &s);
    return st;
}
