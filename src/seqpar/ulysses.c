/*
 * ulysses.c — Evoformer attention in head (Ulysses) mode: q, k, v sharded along the sequence (dim 2).
 * One all-to-all turns the sequence split into a head split (every rank then holds whole sequences for
 * its heads), the single-rank op runs on those heads, and one all-to-all turns the result back. The
 * pair bias arrives row-sharded like the pair representation and is all-to-all'ed to its head shard;
 * the key mask is all-gathered.
 *
 * Each call: the local contract (seqpar_check), the agreement on every rank, then the buffers (their
 * sizes need the total S, known from the agreement) and a second, status agreement, then ax_op_run,
 * whose kernel is everything after that (the exchanges, the single-rank op and its status
 * agreement). The scratch is the communicator's, not the op's workspace: it stays live across the
 * single-rank op, which takes the context's arena.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "axial/evoformer.h"
#include "core/op.h"
#include "seqpar/seqpar_internal.h"

#define SPLIT_S 2 /* the sequence axis of q, k, v, out */
#define SPLIT_H 3 /* the head axis of q, k, v, out */

static const char FORWARD[] = "ax_evoformer_attention_forward_ulysses";
static const char BACKWARD[] = "ax_evoformer_attention_backward_ulysses";

/* Both biases are exchanged into new buffers (converted to fp32 in the backward), so any float dtype
 * passes here. The key dim of the pair bias is the total S, which only the agreement tells
 * (after_agreement checks it). */
static const seqpar_contract ulysses_contract = {
    .act = {"B", "N", "S_local", "H", "D"},
    .lse = {"B", "N", "H", "S_local"},
    .mask = {.name = "bias_mask_shard", .ndim = 5, .dims = {"B", "N", "1", "1", "S_local (this rank's keys)"},
             .broadcast = 1u << 0 | 1u << 1, .dtype_as = -1, .dtypes = AX_DTYPES_FLOAT, .like = -1,
             .flags = AX_SPEC_OPTIONAL, .layout = "(B, N, 1, 1, S_local)"},
    .pair = {.name = "bias_pair_shard", .ndim = 5, .dims = {"B", "1", "H", "S_local (this rank's query rows)", NULL},
             .broadcast = 1u << 0 | 1u << 2, .dtype_as = -1, .dtypes = AX_DTYPES_FLOAT, .like = -1,
             .flags = AX_SPEC_OPTIONAL, .layout = "(B, 1, H, S_local, S)"},
    .dmask_name = "dbias_mask_shard",
    .dpair_name = "dbias_pair_shard",
};

typedef struct ulysses_args {
    int64_t B, N, S_local, H, D;
    int64_t S, H_local; /* known after the agreement */
    int pair_per_head;  /* bias_pair has H heads (all-to-all), not 1 (all-gather) */
} ulysses_args;

/* What runs after the agreements needs. The caller's outputs are written only through the exchanges,
 * which take their tensors as const. */
typedef struct ulysses_params {
    ax_comm *comm;
    comm_scratch *s;
    ulysses_args u;
    const ax_tensor *q, *k, *v, *bias_mask, *bias_pair, *out, *lse, *dout, *dq, *dk, *dv, *dbias_mask, *dbias_pair;
    /* The head-split buffers, in scratch; the biases whole along the sequence. */
    ax_tensor qh, kh, vh, outh, lseh, douth, dqh, dkh, dvh, maskf, dmaskf, biash, dbiash;
} ulysses_params;

/* The local contract, then what every rank must agree on (recorded only when the contract holds: a
 * rank that rejects its arguments fails the agreement whatever it records). */
static ax_status check_and_agree(const ax_context *ctx, const ax_comm *comm, const ax_tensor *const *t, int backward,
                                 comm_agreement *a, ulysses_args *u) {
    ax_dims dims = {0};
    AX_CHECK(seqpar_check(ctx, comm, &ulysses_contract, t, backward, &dims));
    u->B = ax_dims_get(&dims, "B");
    u->N = ax_dims_get(&dims, "N");
    u->S_local = ax_dims_get(&dims, "S_local");
    u->H = ax_dims_get(&dims, "H");
    u->D = ax_dims_get(&dims, "D");
    comm_agree_tensor(a, "q", t[SP_Q], 0x1bu); /* B, N, H, D; S is split */
    comm_agree_shard(a, "q: dim 2 (S_local)", u->S_local);
    comm_agree_tensor(a, "bias_mask_shard", t[SP_MASK], 0x3u); /* B or 1, N or 1 */
    comm_agree_tensor(a, "bias_pair_shard", t[SP_PAIR], 0x15u); /* B or 1, H or 1, S (key) */
    if (t[SP_PAIR] != NULL) u->pair_per_head = t[SP_PAIR]->shape[2] == u->H;
    return AX_OK;
}

/* After the agreement: the total S is known on every rank, and so is everything that depends on it.
 * The key dim of bias_pair is agreed, so this check fails on every rank alike. */
static ax_status after_agreement(const ax_comm *comm, const comm_agreement *a, const ax_tensor *bias_pair,
                                 ulysses_args *u) {
    u->S = a->shard_totals[0];
    u->H_local = comm_shard_count(comm, u->H, comm->rank);
    if (bias_pair != NULL && bias_pair->shape[4] != u->S && bias_pair->shape[4] != 1)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                            "bias_pair_shard: dim 4 (S (key)) is %lld, expected %lld (S summed over the ranks) or 1",
                            (long long)bias_pair->shape[4], (long long)u->S);
    return AX_OK;
}

/* Head-split buffers, contiguous in scratch. */
static ax_tensor head_act(const ulysses_args *u, ax_dtype dtype, ax_device device) {
    const int64_t shape[5] = {u->B, u->N, u->S, u->H_local, u->D};
    return comm_contiguous(NULL, dtype, device, 5, shape);
}

static ax_tensor head_lse(const ulysses_args *u, ax_device device) {
    const int64_t shape[4] = {u->B, u->N, u->H_local, u->S};
    return comm_contiguous(NULL, AX_F32, device, 4, shape);
}

static ax_tensor full_mask(const ulysses_args *u, const ax_tensor *mask, ax_dtype dtype) {
    const int64_t shape[5] = {mask->shape[0], mask->shape[1], 1, 1, u->S};
    return comm_contiguous(NULL, dtype, mask->device, 5, shape);
}

static ax_tensor head_bias(const ulysses_args *u, const ax_tensor *pair, ax_dtype dtype) {
    const int64_t shape[5] = {pair->shape[0], 1, u->pair_per_head ? u->H_local : 1, u->S, pair->shape[4]};
    return comm_contiguous(NULL, dtype, pair->device, 5, shape);
}

/* Bytes of a buffer, aligned; and taking it from scratch. */
static int64_t bytes_of(const ax_tensor *t) { return comm_align(ax_tensor_numel(t) * (int64_t)ax_dtype_size(t->dtype)); }
static void place(comm_scratch *s, ax_tensor *t) {
    t->data = comm_scratch_take(s, ax_tensor_numel(t) * (int64_t)ax_dtype_size(t->dtype));
}
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

/* The bias to its head shard: all-to-all rows -> heads, or all-gather rows when it has one head. */
static int64_t bias_in_bytes(const ax_comm *comm, const ulysses_args *u, const ax_tensor *pair, const ax_tensor *bh) {
    const ax_tensor *in[] = {pair};
    const ax_tensor *out[] = {bh};
    return u->pair_per_head ? comm_all_to_all_bytes(comm, 1, in, 2, out, 3, pair->dtype)
                            : comm_gather_bytes(comm, pair, 3, bh, pair->dtype);
}

static ax_status bias_in(ax_context *ctx, ax_comm *comm, const ulysses_args *u, const ax_tensor *pair,
                         const ax_tensor *bh, comm_scratch *s) {
    const ax_tensor *in[] = {pair};
    const ax_tensor *out[] = {bh};
    return u->pair_per_head ? comm_all_to_all_body(ctx, comm, 1, in, 2, 3, out, pair->dtype, s)
                            : comm_gather_body(ctx, comm, pair, 3, bh, pair->dtype, s);
}

/* The forward's buffers and the scratch behind them; then the status agreement, so a failed
 * allocation (or an oversized message) is shared before the first exchange or a measure-mode return. */
static ax_status forward_buffers(ax_context *ctx, ulysses_params *p) {
    ax_comm *comm = p->comm;
    const ulysses_args *u = &p->u;
    const ax_tensor *q = p->q, *mask = p->bias_mask, *pair = p->bias_pair;
    const ax_device dev = ctx->device;
    p->qh = head_act(u, q->dtype, dev);
    p->kh = p->vh = p->outh = p->qh;
    p->lseh = head_lse(u, dev);
    if (mask != NULL) p->maskf = full_mask(u, mask, mask->dtype);
    if (pair != NULL) p->biash = head_bias(u, pair, pair->dtype);
    const ax_tensor *qkv[] = {q, p->k, p->v}, *qkvh[] = {&p->qh, &p->kh, &p->vh};
    const ax_tensor *o[] = {p->out}, *oh[] = {&p->outh};
    const ax_tensor *l[] = {p->lse}, *lh[] = {&p->lseh};
    int64_t exchange = comm_all_to_all_bytes(comm, 3, qkv, SPLIT_H, qkvh, SPLIT_S, q->dtype);
    exchange = max64(exchange, comm_all_to_all_bytes(comm, 1, oh, SPLIT_S, o, SPLIT_H, q->dtype));
    if (p->lse != NULL) exchange = max64(exchange, comm_all_to_all_bytes(comm, 1, lh, 3, l, 2, AX_F32));
    if (mask != NULL) exchange = max64(exchange, comm_gather_bytes(comm, mask, 4, &p->maskf, p->maskf.dtype));
    if (pair != NULL) exchange = max64(exchange, bias_in_bytes(comm, u, pair, &p->biash));
    const int64_t full =
        3 * bytes_of(&p->qh) + bytes_of(&p->outh) + bytes_of(&p->lseh) + bytes_of(&p->maskf) + bytes_of(&p->biash);
    /* q, k and v travel together in one all-to-all: three activations' worth per message. Checked on
     * the global size, which every rank knows, so all ranks decide alike. */
    ax_status st = comm_check_message_size(comm, 3 * u->B * u->N * u->S * u->H * u->D, "q");
    if (st == AX_OK && pair != NULL)
        st = comm_check_message_size(comm, pair->shape[0] * pair->shape[2] * u->S * pair->shape[4], "bias_pair_shard");
    if (st == AX_OK) st = comm_scratch_alloc(ctx, comm, p->s, full + exchange);
    if (st == AX_OK) {
        ax_tensor *bufs[] = {&p->qh, &p->kh, &p->vh, &p->outh, &p->lseh};
        for (int i = 0; i < 5; i++) place(p->s, bufs[i]);
        if (mask != NULL) place(p->s, &p->maskf);
        if (pair != NULL) place(p->s, &p->biash);
    }
    return comm_agree_status(comm, FORWARD, st);
}

static ax_status ulysses_forward_kernel(const ax_op_call *call) {
    const ulysses_params *p = call->params;
    ax_context *ctx = call->ctx;
    ax_comm *comm = p->comm;
    comm_scratch *s = p->s;
    /* The single-rank op takes its output as non-const: local copies of the descriptors. */
    ax_tensor qh = p->qh, kh = p->kh, vh = p->vh, outh = p->outh, lseh = p->lseh, maskf = p->maskf, biash = p->biash;
    const ax_dtype dtype = p->q->dtype;
    const int64_t mark = s->used;
    const ax_tensor *qkv[] = {p->q, p->k, p->v}, *qkvh[] = {&qh, &kh, &vh};
    ax_status st = comm_all_to_all_body(ctx, comm, 3, qkv, SPLIT_H, SPLIT_S, qkvh, dtype, s);
    s->used = mark;
    if (st == AX_OK && p->bias_mask != NULL) {
        st = comm_gather_body(ctx, comm, p->bias_mask, 4, &maskf, maskf.dtype, s);
        s->used = mark;
    }
    if (st == AX_OK && p->bias_pair != NULL) {
        st = bias_in(ctx, comm, &p->u, p->bias_pair, &biash, s);
        s->used = mark;
    }
    if (st != AX_OK) return st;
    st = ax_evoformer_attention_forward(ctx, &qh, &kh, &vh, p->bias_mask != NULL ? &maskf : NULL,
                                        p->bias_pair != NULL ? &biash : NULL, &outh, p->lse != NULL ? &lseh : NULL);
    st = comm_agree_status(comm, FORWARD, st);
    if (st == AX_OK) {
        const ax_tensor *o[] = {p->out}, *oh[] = {&outh};
        st = comm_all_to_all_body(ctx, comm, 1, oh, SPLIT_S, SPLIT_H, o, dtype, s);
        s->used = mark;
    }
    if (st == AX_OK && p->lse != NULL) {
        const ax_tensor *l[] = {p->lse}, *lh[] = {&lseh};
        st = comm_all_to_all_body(ctx, comm, 1, lh, 3, 2, l, AX_F32, s);
    }
    return st;
}

/* The backward's buffers, as forward_buffers. */
static ax_status backward_buffers(ax_context *ctx, ulysses_params *p) {
    ax_comm *comm = p->comm;
    const ulysses_args *u = &p->u;
    const ax_tensor *q = p->q, *mask = p->bias_mask, *pair = p->bias_pair;
    const ax_device dev = ctx->device;
    p->qh = head_act(u, q->dtype, dev);
    p->kh = p->vh = p->outh = p->douth = p->dqh = p->dkh = p->dvh = p->qh;
    p->lseh = head_lse(u, dev);
    /* fp32 biases, so the local bias gradients are fp32 and the ranks' partial sums meet unrounded. */
    if (mask != NULL) p->maskf = p->dmaskf = full_mask(u, mask, AX_F32);
    if (pair != NULL) p->biash = p->dbiash = head_bias(u, pair, AX_F32);
    const int want_dmask = p->dbias_mask != NULL, want_dpair = p->dbias_pair != NULL;
    const ax_tensor *fwd[] = {q, p->k, p->v, p->out, p->dout}, *fwdh[] = {&p->qh, &p->kh, &p->vh, &p->outh, &p->douth};
    const ax_tensor *g[] = {p->dq, p->dk, p->dv}, *gh[] = {&p->dqh, &p->dkh, &p->dvh};
    const ax_tensor *l[] = {p->lse}, *lh[] = {&p->lseh};
    int64_t exchange = comm_all_to_all_bytes(comm, 5, fwd, SPLIT_H, fwdh, SPLIT_S, q->dtype);
    exchange = max64(exchange, comm_all_to_all_bytes(comm, 3, gh, SPLIT_S, g, SPLIT_H, q->dtype));
    exchange = max64(exchange, comm_all_to_all_bytes(comm, 1, l, 2, lh, 3, AX_F32));
    if (mask != NULL) {
        exchange = max64(exchange, comm_gather_bytes(comm, mask, 4, &p->maskf, mask->dtype));
        if (want_dmask) exchange = max64(exchange, comm_reduce_scatter_bytes(comm, &p->dmaskf, 4, p->dbias_mask));
    }
    if (pair != NULL) {
        exchange = max64(exchange, bias_in_bytes(comm, u, pair, &p->biash));
        if (want_dpair) {
            const ax_tensor *d[] = {p->dbias_pair}, *dh[] = {&p->dbiash};
            exchange = max64(exchange, u->pair_per_head
                                           ? comm_all_to_all_bytes(comm, 1, dh, 3, d, 2, p->dbias_pair->dtype)
                                           : comm_reduce_scatter_bytes(comm, &p->dbiash, 3, p->dbias_pair));
        }
    }
    const int64_t full = 8 * bytes_of(&p->qh) + bytes_of(&p->lseh) + bytes_of(&p->maskf) * (want_dmask ? 2 : 1) +
                         bytes_of(&p->biash) * (want_dpair ? 2 : 1);
    ax_status st = comm_check_message_size(comm, 5 * u->B * u->N * u->S * u->H * u->D, "q");
    if (st == AX_OK && pair != NULL)
        st = comm_check_message_size(comm, pair->shape[0] * pair->shape[2] * u->S * pair->shape[4], "bias_pair_shard");
    if (st == AX_OK) st = comm_scratch_alloc(ctx, comm, p->s, full + exchange);
    if (st == AX_OK) {
        ax_tensor *bufs[] = {&p->qh, &p->kh, &p->vh, &p->outh, &p->douth, &p->dqh, &p->dkh, &p->dvh, &p->lseh};
        for (int i = 0; i < 9; i++) place(p->s, bufs[i]);
        if (mask != NULL) place(p->s, &p->maskf);
        if (want_dmask) place(p->s, &p->dmaskf);
        if (pair != NULL) place(p->s, &p->biash);
        if (want_dpair) place(p->s, &p->dbiash);
    }
    return comm_agree_status(comm, BACKWARD, st);
}

static ax_status ulysses_backward_kernel(const ax_op_call *call) {
    const ulysses_params *p = call->params;
    ax_context *ctx = call->ctx;
    ax_comm *comm = p->comm;
    comm_scratch *s = p->s;
    const ulysses_args *u = &p->u;
    ax_tensor qh = p->qh, kh = p->kh, vh = p->vh, outh = p->outh, douth = p->douth, lseh = p->lseh;
    ax_tensor dqh = p->dqh, dkh = p->dkh, dvh = p->dvh, maskf = p->maskf, dmaskf = p->dmaskf, biash = p->biash,
              dbiash = p->dbiash;
    const int want_dmask = p->dbias_mask != NULL, want_dpair = p->dbias_pair != NULL;
    const ax_dtype dtype = p->q->dtype;
    const int64_t mark = s->used;
    const ax_tensor *fwd[] = {p->q, p->k, p->v, p->out, p->dout}, *fwdh[] = {&qh, &kh, &vh, &outh, &douth};
    ax_status st = comm_all_to_all_body(ctx, comm, 5, fwd, SPLIT_H, SPLIT_S, fwdh, dtype, s);
    s->used = mark;
    if (st == AX_OK) {
        const ax_tensor *l[] = {p->lse}, *lh[] = {&lseh};
        st = comm_all_to_all_body(ctx, comm, 1, l, 2, 3, lh, AX_F32, s);
        s->used = mark;
    }
    if (st == AX_OK && p->bias_mask != NULL) {
        st = comm_gather_body(ctx, comm, p->bias_mask, 4, &maskf, p->bias_mask->dtype, s);
        s->used = mark;
    }
    if (st == AX_OK && p->bias_pair != NULL) {
        st = bias_in(ctx, comm, u, p->bias_pair, &biash, s);
        s->used = mark;
    }
    if (st != AX_OK) return st;
    if (u->H_local == 0 || u->B == 0 || u->N == 0 || u->S == 0 || u->D == 0) {
        /* No heads here: the single-rank op writes nothing, and this rank's share of the sums is zero. */
        if (want_dmask) st = comm_zero(ctx, dmaskf.data, bytes_of(&dmaskf));
        if (st == AX_OK && want_dpair) st = comm_zero(ctx, dbiash.data, bytes_of(&dbiash));
    }
    if (st == AX_OK)
        st = ax_evoformer_attention_backward(ctx, &qh, &kh, &vh, p->bias_mask != NULL ? &maskf : NULL,
                                             p->bias_pair != NULL ? &biash : NULL, &outh, &lseh, &douth, &dqh, &dkh,
                                             &dvh, want_dmask ? &dmaskf : NULL, want_dpair ? &dbiash : NULL);
    st = comm_agree_status(comm, BACKWARD, st);
    if (st == AX_OK) {
        const ax_tensor *g[] = {p->dq, p->dk, p->dv}, *gh[] = {&dqh, &dkh, &dvh};
        st = comm_all_to_all_body(ctx, comm, 3, gh, SPLIT_S, SPLIT_H, g, dtype, s);
        s->used = mark;
    }
    if (st == AX_OK && want_dmask) {
        st = comm_reduce_scatter_body(ctx, comm, &dmaskf, 4, p->dbias_mask, s);
        s->used = mark;
    }
    if (st == AX_OK && want_dpair) {
        const ax_tensor *d[] = {p->dbias_pair}, *dh[] = {&dbiash};
        st = u->pair_per_head ? comm_all_to_all_body(ctx, comm, 1, dh, 3, 2, d, p->dbias_pair->dtype, s)
                              : comm_reduce_scatter_body(ctx, comm, &dbiash, 3, p->dbias_pair, s);
    }
    return st;
}

/* The transport follows the communicator, so one C function serves as both kernels. */
static const ax_op ulysses_forward_op = {
    .name = "evoformer_attention_forward_ulysses",
    .cpu = {ulysses_forward_kernel, NULL, NULL},
    .cuda = AX_CUDA_KERNEL(ulysses_forward_kernel),
};

static const ax_op ulysses_backward_op = {
    .name = "evoformer_attention_backward_ulysses",
    .cpu = {ulysses_backward_kernel, NULL, NULL},
    .cuda = AX_CUDA_KERNEL(ulysses_backward_kernel),
};

ax_status ax_evoformer_attention_forward_ulysses(ax_context *ctx, ax_comm *comm, const ax_tensor *q,
                                                 const ax_tensor *k, const ax_tensor *v,
                                                 const ax_tensor *bias_mask_shard, const ax_tensor *bias_pair_shard,
                                                 ax_tensor *out, ax_tensor *lse) {
    if (comm == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "comm: NULL communicator");
    comm_agreement a;
    comm_agree_init(&a, FORWARD, SEQPAR_OP_ULYSSES_FORWARD, ctx);
    comm_scratch s = {0};
    ulysses_params p = {.comm = comm, .s = &s, .q = q, .k = k, .v = v, .bias_mask = bias_mask_shard,
                        .bias_pair = bias_pair_shard, .out = out, .lse = lse};
    const ax_tensor *t[SP_COUNT] = {q, k, v, bias_mask_shard, bias_pair_shard, out, lse};
    ax_status st = check_and_agree(ctx, comm, t, 0, &a, &p.u);
    comm_agree_value(&a, "lse: presence (1 = given, 0 = NULL)", lse != NULL);
    comm_agree_fail(&a, st);
    st = comm_agree(comm, &a);
    if (st == AX_OK) st = after_agreement(comm, &a, bias_pair_shard, &p.u);
    if (st == AX_OK) st = forward_buffers(ctx, &p);
    /* Agreed twice, so every rank goes on alike: in measure mode ax_op_run stops before the kernel
     * (the scratch was counted, not taken). */
    if (st == AX_OK) st = ax_op_run(&ulysses_forward_op, ctx, &p);
    if (ctx != NULL) comm_scratch_free(ctx, &s);
    return st;
}

ax_status ax_evoformer_attention_backward_ulysses(ax_context *ctx, ax_comm *comm, const ax_tensor *q,
                                                  const ax_tensor *k, const ax_tensor *v,
                                                  const ax_tensor *bias_mask_shard, const ax_tensor *bias_pair_shard,
                                                  const ax_tensor *out, const ax_tensor *lse, const ax_tensor *dout,
                                                  ax_tensor *dq, ax_tensor *dk, ax_tensor *dv,
                                                  ax_tensor *dbias_mask_shard, ax_tensor *dbias_pair_shard) {
    if (comm == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "comm: NULL communicator");
    comm_agreement a;
    comm_agree_init(&a, BACKWARD, SEQPAR_OP_ULYSSES_BACKWARD, ctx);
    comm_scratch s = {0};
    ulysses_params p = {.comm = comm, .s = &s, .q = q, .k = k, .v = v, .bias_mask = bias_mask_shard,
                        .bias_pair = bias_pair_shard, .out = out, .lse = lse, .dout = dout, .dq = dq, .dk = dk,
                        .dv = dv, .dbias_mask = dbias_mask_shard, .dbias_pair = dbias_pair_shard};
    const ax_tensor *t[SP_COUNT] = {q,    k,  v,  bias_mask_shard, bias_pair_shard, out, lse,
                                    dout, dq, dk, dv,              dbias_mask_shard, dbias_pair_shard};
    ax_status st = check_and_agree(ctx, comm, t, 1, &a, &p.u);
    comm_agree_value(&a, "dbias_mask_shard: presence (1 = given, 0 = NULL)", dbias_mask_shard != NULL);
    comm_agree_value(&a, "dbias_pair_shard: presence (1 = given, 0 = NULL)", dbias_pair_shard != NULL);
    comm_agree_fail(&a, st);
    st = comm_agree(comm, &a);
    if (st == AX_OK) st = after_agreement(comm, &a, bias_pair_shard, &p.u);
    if (st == AX_OK) st = backward_buffers(ctx, &p);
    if (st == AX_OK) st = ax_op_run(&ulysses_backward_op, ctx, &p); /* measure mode: stops before the kernel */
    if (ctx != NULL) comm_scratch_free(ctx, &s);
    return st;
}
