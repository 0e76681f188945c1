/*
 * ulysses.c — Evoformer attention in head (Ulysses) mode: q, k, v sharded along the sequence (dim 2).
 * One all-to-all turns the sequence split into a head split (every rank then holds whole sequences for
 * its heads), the single-rank op runs on those heads, and one all-to-all turns the result back. The
 * pair bias arrives row-sharded like the pair representation and is all-to-all'ed to its head shard;
 * the key mask is all-gathered.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "axial/evoformer.h"
#include "seqpar/seqpar_internal.h"

#define SPLIT_S 2 /* the sequence axis of q, k, v, out */
#define SPLIT_H 3 /* the head axis of q, k, v, out */

typedef struct ulysses_args {
    int64_t B, N, S_local, H, D;
    int64_t S, H_local; /* known after the agreement */
    int pair_per_head;  /* bias_pair has H heads (all-to-all), not 1 (all-gather) */
} ulysses_args;

static ax_status check_inputs(const ax_context *ctx, const ax_comm *comm, const ax_tensor *q, const ax_tensor *k,
                              const ax_tensor *v, const ax_tensor *bias_mask, const ax_tensor *bias_pair,
                              seqpar_agreement *a, ulysses_args *u) {
    AX_CHECK(seqpar_check_comm_ctx(ctx, comm));
    AX_CHECK(ax_check_tensor(q, "q", 5, "(B, N, S_local, H, D)"));
    AX_CHECK(seqpar_check_float_dtype(q, "q"));
    AX_CHECK(ax_check_device(q, "q", ctx->device));
    u->B = q->shape[0];
    u->N = q->shape[1];
    u->S_local = q->shape[2];
    u->H = q->shape[3];
    u->D = q->shape[4];
    seqpar_agree_tensor(a, "q", q, 0x1bu); /* B, N, H, D; S is split */
    seqpar_agree_shard(a, "q: dim 2 (S_local)", u->S_local);
    AX_CHECK(seqpar_check_like(ctx, k, "k", q, "q"));
    AX_CHECK(seqpar_check_like(ctx, v, "v", q, "q"));
    seqpar_agree_tensor(a, "bias_mask_shard", bias_mask, 0x3u); /* B or 1, N or 1 */
    if (bias_mask != NULL) {
        AX_CHECK(ax_check_tensor(bias_mask, "bias_mask_shard", 5, "(B, N, 1, 1, S_local)"));
        AX_CHECK(seqpar_check_float_dtype(bias_mask, "bias_mask_shard"));
        AX_CHECK(ax_check_device(bias_mask, "bias_mask_shard", ctx->device));
        AX_CHECK(ax_check_dim_broadcast(bias_mask, "bias_mask_shard", 0, "B", u->B));
        AX_CHECK(ax_check_dim_broadcast(bias_mask, "bias_mask_shard", 1, "N", u->N));
        AX_CHECK(ax_check_dim(bias_mask, "bias_mask_shard", 2, "1", 1));
        AX_CHECK(ax_check_dim(bias_mask, "bias_mask_shard", 3, "1", 1));
        AX_CHECK(ax_check_dim(bias_mask, "bias_mask_shard", 4, "S_local (this rank's keys)", u->S_local));
    }
    seqpar_agree_tensor(a, "bias_pair_shard", bias_pair, 0x15u); /* B or 1, H or 1, S (key) */
    if (bias_pair != NULL) {
        AX_CHECK(ax_check_tensor(bias_pair, "bias_pair_shard", 5, "(B, 1, H, S_local, S)"));
        AX_CHECK(seqpar_check_float_dtype(bias_pair, "bias_pair_shard"));
        AX_CHECK(ax_check_device(bias_pair, "bias_pair_shard", ctx->device));
        AX_CHECK(ax_check_dim_broadcast(bias_pair, "bias_pair_shard", 0, "B", u->B));
        AX_CHECK(ax_check_dim(bias_pair, "bias_pair_shard", 1, "1", 1));
        AX_CHECK(ax_check_dim_broadcast(bias_pair, "bias_pair_shard", 2, "H", u->H));
        AX_CHECK(ax_check_dim(bias_pair, "bias_pair_shard", 3, "S_local (this rank's query rows)", u->S_local));
        u->pair_per_head = bias_pair->shape[2] == u->H;
    }
    return AX_OK;
}

/* After the agreement: the total S is known on every rank, and so is everything that depends on it.
 * The key dim of bias_pair is agreed, so this check fails on every rank alike. */
static ax_status after_agreement(const ax_comm *comm, const seqpar_agreement *a, const ax_tensor *bias_pair,
                                 ulysses_args *u) {
    u->S = a->shard_totals[0];
    u->H_local = seqpar_shard_count(comm, u->H, comm->rank);
    if (bias_pair != NULL && bias_pair->shape[4] != u->S && bias_pair->shape[4] != 1)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                            "bias_pair_shard: dim 4 (S (key)) is %lld, expected %lld (S summed over the ranks) or 1",
                            (long long)bias_pair->shape[4], (long long)u->S);
    return AX_OK;
}

/* Head-split buffers, contiguous in scratch. */
static ax_tensor head_act(const ulysses_args *u, ax_dtype dtype, ax_device device) {
    const int64_t shape[5] = {u->B, u->N, u->S, u->H_local, u->D};
    return seqpar_contiguous(NULL, dtype, device, 5, shape);
}

static ax_tensor head_lse(const ulysses_args *u, ax_device device) {
    const int64_t shape[4] = {u->B, u->N, u->H_local, u->S};
    return seqpar_contiguous(NULL, AX_F32, device, 4, shape);
}

static ax_tensor full_mask(const ulysses_args *u, const ax_tensor *mask, ax_dtype dtype) {
    const int64_t shape[5] = {mask->shape[0], mask->shape[1], 1, 1, u->S};
    return seqpar_contiguous(NULL, dtype, mask->device, 5, shape);
}

static ax_tensor head_bias(const ulysses_args *u, const ax_tensor *pair, ax_dtype dtype) {
    const int64_t shape[5] = {pair->shape[0], 1, u->pair_per_head ? u->H_local : 1, u->S, pair->shape[4]};
    return seqpar_contiguous(NULL, dtype, pair->device, 5, shape);
}

/* Bytes of a buffer, aligned; and taking it from scratch. */
static int64_t bytes_of(const ax_tensor *t) { return seqpar_align(ax_tensor_numel(t) * (int64_t)ax_dtype_size(t->dtype)); }
static void place(seqpar_scratch *s, ax_tensor *t) {
    t->data = seqpar_scratch_take(s, ax_tensor_numel(t) * (int64_t)ax_dtype_size(t->dtype));
}
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

/* The bias to its head shard: all-to-all rows -> heads, or all-gather rows when it has one head. */
static int64_t bias_in_bytes(const ax_comm *comm, const ulysses_args *u, const ax_tensor *pair, const ax_tensor *bh) {
    const ax_tensor *in[] = {pair};
    const ax_tensor *out[] = {bh};
    return u->pair_per_head ? seqpar_all_to_all_bytes(comm, 1, in, 2, out, 3, pair->dtype)
                            : seqpar_gather_bytes(comm, pair, 3, bh, pair->dtype);
}

static ax_status bias_in(ax_context *ctx, ax_comm *comm, const ulysses_args *u, const ax_tensor *pair,
                         const ax_tensor *bh, seqpar_scratch *s) {
    const ax_tensor *in[] = {pair};
    const ax_tensor *out[] = {bh};
    return u->pair_per_head ? seqpar_all_to_all_body(ctx, comm, 1, in, 2, 3, out, pair->dtype, s)
                            : seqpar_gather_body(ctx, comm, pair, 3, bh, pair->dtype, s);
}

ax_status ax_evoformer_attention_forward_ulysses(ax_context *ctx, ax_comm *comm, const ax_tensor *q,
                                                 const ax_tensor *k, const ax_tensor *v,
                                                 const ax_tensor *bias_mask_shard, const ax_tensor *bias_pair_shard,
                                                 ax_tensor *out, ax_tensor *lse) {
    static const char op[] = "ax_evoformer_attention_forward_ulysses";
    if (comm == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "comm: NULL communicator");
    seqpar_agreement a;
    seqpar_agree_init(&a, op, SEQPAR_OP_ULYSSES_FORWARD);
    seqpar_scratch s = {0};
    ulysses_args u = {0};
    ax_status st = check_inputs(ctx, comm, q, k, v, bias_mask_shard, bias_pair_shard, &a, &u);
    if (st == AX_OK) st = seqpar_check_like(ctx, out, "out", q, "q");
    if (st == AX_OK && lse != NULL) st = seqpar_check_lse(ctx, lse, "lse", u.B, u.N, u.H, u.S_local);
    if (st == AX_OK) {
        const ax_tensor *ins[] = {q, k, v, bias_mask_shard, bias_pair_shard};
        const char *const names[] = {"q", "k", "v", "bias_mask_shard", "bias_pair_shard"};
        st = seqpar_check_output(out, "out", ins, names, 5);
        if (st == AX_OK && lse != NULL) st = seqpar_check_output(lse, "lse", ins, names, 5);
        if (st == AX_OK && lse != NULL && ax_tensors_overlap(out, lse))
            st = ax_set_error(AX_ERR_INVALID_ARGUMENT, "lse: overlaps the output out");
    }
    seqpar_agree_value(&a, "lse: presence (1 = given, 0 = NULL)", lse != NULL);
    seqpar_agree_fail(&a, st);
    st = seqpar_agree(comm, &a);
    if (st == AX_OK) st = after_agreement(comm, &a, bias_pair_shard, &u);

    /* Sizes are known now; a failed allocation is shared before the first exchange. */
    ax_tensor qh = {0}, kh = {0}, vh = {0}, outh = {0}, lseh = {0}, maskf = {0}, biash = {0};
    if (st == AX_OK) {
        const ax_device dev = ctx->device;
        qh = head_act(&u, q->dtype, dev);
        kh = vh = outh = qh;
        lseh = head_lse(&u, dev);
        if (bias_mask_shard != NULL) maskf = full_mask(&u, bias_mask_shard, bias_mask_shard->dtype);
        if (bias_pair_shard != NULL) biash = head_bias(&u, bias_pair_shard, bias_pair_shard->dtype);
        const ax_tensor *qkv[] = {q, k, v}, *qkvh[] = {&qh, &kh, &vh};
        const ax_tensor *o[] = {out}, *oh[] = {&outh};
        const ax_tensor *l[] = {lse}, *lh[] = {&lseh};
        int64_t exchange = seqpar_all_to_all_bytes(comm, 3, qkv, SPLIT_H, qkvh, SPLIT_S, q->dtype);
        exchange = max64(exchange, seqpar_all_to_all_bytes(comm, 1, oh, SPLIT_S, o, SPLIT_H, q->dtype));
        if (lse != NULL) exchange = max64(exchange, seqpar_all_to_all_bytes(comm, 1, lh, 3, l, 2, AX_F32));
        if (bias_mask_shard != NULL)
            exchange = max64(exchange, seqpar_gather_bytes(comm, bias_mask_shard, 4, &maskf, maskf.dtype));
        if (bias_pair_shard != NULL) exchange = max64(exchange, bias_in_bytes(comm, &u, bias_pair_shard, &biash));
        const int64_t full = 3 * bytes_of(&qh) + bytes_of(&outh) + bytes_of(&lseh) + bytes_of(&maskf) + bytes_of(&biash);
        /* q, k and v travel together in one all-to-all: three activations' worth per message. Checked
         * on the global size, which every rank knows, so all ranks decide alike. */
        st = seqpar_check_message_size(comm, 3 * u.B * u.N * u.S * u.H * u.D, "q");
        if (st == AX_OK && bias_pair_shard != NULL)
            st = seqpar_check_message_size(comm, bias_pair_shard->shape[0] * bias_pair_shard->shape[2] * u.S *
                                                     bias_pair_shard->shape[4], "bias_pair_shard");
        if (st == AX_OK) st = seqpar_scratch_alloc(ctx, comm, &s, full + exchange);
        if (st == AX_OK) {
            place(&s, &qh);
            place(&s, &kh);
            place(&s, &vh);
            place(&s, &outh);
            place(&s, &lseh);
            if (bias_mask_shard != NULL) place(&s, &maskf);
            if (bias_pair_shard != NULL) place(&s, &biash);
        }
        st = seqpar_agree_status(comm, op, st);
    }
    const int64_t mark = s.used;
    if (st == AX_OK) {
        const ax_tensor *qkv[] = {q, k, v}, *qkvh[] = {&qh, &kh, &vh};
        st = seqpar_all_to_all_body(ctx, comm, 3, qkv, SPLIT_H, SPLIT_S, qkvh, q->dtype, &s);
        s.used = mark;
    }
    if (st == AX_OK && bias_mask_shard != NULL) {
        st = seqpar_gather_body(ctx, comm, bias_mask_shard, 4, &maskf, maskf.dtype, &s);
        s.used = mark;
    }
    if (st == AX_OK && bias_pair_shard != NULL) {
        st = bias_in(ctx, comm, &u, bias_pair_shard, &biash, &s);
        s.used = mark;
    }
    if (st == AX_OK) {
        st = ax_evoformer_attention_forward(ctx, &qh, &kh, &vh, bias_mask_shard != NULL ? &maskf : NULL,
                                            bias_pair_shard != NULL ? &biash : NULL, &outh, lse != NULL ? &lseh : NULL);
        st = seqpar_agree_status(comm, op, st);
    }
    if (st == AX_OK) {
        const ax_tensor *o[] = {out}, *oh[] = {&outh};
        st = seqpar_all_to_all_body(ctx, comm, 1, oh, SPLIT_S, SPLIT_H, o, q->dtype, &s);
        s.used = mark;
    }
    if (st == AX_OK && lse != NULL) {
        const ax_tensor *l[] = {lse}, *lh[] = {&lseh};
        st = seqpar_all_to_all_body(ctx, comm, 1, lh, 3, 2, l, AX_F32, &s);
    }
    if (ctx != NULL) seqpar_scratch_free(ctx, &s);
    return st;
}

ax_status ax_evoformer_attention_backward_ulysses(ax_context *ctx, ax_comm *comm, const ax_tensor *q,
                                                  const ax_tensor *k, const ax_tensor *v,
                                                  const ax_tensor *bias_mask_shard, const ax_tensor *bias_pair_shard,
                                                  const ax_tensor *out, const ax_tensor *lse, const ax_tensor *dout,
                                                  ax_tensor *dq, ax_tensor *dk, ax_tensor *dv,
                                                  ax_tensor *dbias_mask_shard, ax_tensor *dbias_pair_shard) {
    static const char op[] = "ax_evoformer_attention_backward_ulysses";
    if (comm == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "comm: NULL communicator");
    seqpar_agreement a;
    seqpar_agree_init(&a, op, SEQPAR_OP_ULYSSES_BACKWARD);
    seqpar_scratch s = {0};
    ulysses_args u = {0};
    ax_status st = check_inputs(ctx, comm, q, k, v, bias_mask_shard, bias_pair_shard, &a, &u);
    if (st == AX_OK) st = seqpar_check_like(ctx, out, "out", q, "q");
    if (st == AX_OK && lse == NULL) st = ax_set_error(AX_ERR_INVALID_ARGUMENT, "lse: NULL (backward needs the forward's lse)");
    if (st == AX_OK) st = seqpar_check_lse(ctx, lse, "lse", u.B, u.N, u.H, u.S_local);
    if (st == AX_OK) st = seqpar_check_like(ctx, dout, "dout", q, "q");
    if (st == AX_OK) st = seqpar_check_like(ctx, dq, "dq", q, "q");
    if (st == AX_OK) st = seqpar_check_like(ctx, dk, "dk", q, "q");
    if (st == AX_OK) st = seqpar_check_like(ctx, dv, "dv", q, "q");
    if (st == AX_OK && dbias_mask_shard != NULL)
        st = bias_mask_shard == NULL
                 ? ax_set_error(AX_ERR_INVALID_ARGUMENT, "dbias_mask_shard: given, but bias_mask_shard is NULL")
                 : seqpar_check_like(ctx, dbias_mask_shard, "dbias_mask_shard", bias_mask_shard, "bias_mask_shard");
    if (st == AX_OK && dbias_pair_shard != NULL)
        st = bias_pair_shard == NULL
                 ? ax_set_error(AX_ERR_INVALID_ARGUMENT, "dbias_pair_shard: given, but bias_pair_shard is NULL")
                 : seqpar_check_like(ctx, dbias_pair_shard, "dbias_pair_shard", bias_pair_shard, "bias_pair_shard");
    if (st == AX_OK) {
        const ax_tensor *ins[] = {q, k, v, bias_mask_shard, bias_pair_shard, out, lse, dout};
        const char *const names[] = {"q", "k", "v", "bias_mask_shard", "bias_pair_shard", "out", "lse", "dout"};
        ax_tensor *outs[] = {dq, dk, dv, dbias_mask_shard, dbias_pair_shard};
        const char *const out_names[] = {"dq", "dk", "dv", "dbias_mask_shard", "dbias_pair_shard"};
        for (int i = 0; i < 5 && st == AX_OK; i++) {
            if (outs[i] == NULL) continue;
            st = seqpar_check_output(outs[i], out_names[i], ins, names, 8);
            for (int j = 0; j < 5 && st == AX_OK; j++)
                if (j != i && outs[j] != NULL && ax_tensors_overlap(outs[i], outs[j]))
                    st = ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: overlaps the output %s", out_names[i], out_names[j]);
        }
    }
    seqpar_agree_value(&a, "dbias_mask_shard: presence (1 = given, 0 = NULL)", dbias_mask_shard != NULL);
    seqpar_agree_value(&a, "dbias_pair_shard: presence (1 = given, 0 = NULL)", dbias_pair_shard != NULL);
    seqpar_agree_fail(&a, st);
    st = seqpar_agree(comm, &a);
    if (st == AX_OK) st = after_agreement(comm, &a, bias_pair_shard, &u);

    ax_tensor qh = {0}, kh = {0}, vh = {0}, outh = {0}, douth = {0}, dqh = {0}, dkh = {0}, dvh = {0}, lseh = {0};
    ax_tensor maskf = {0}, dmaskf = {0}, biash = {0}, dbiash = {0};
    const int want_dmask = dbias_mask_shard != NULL, want_dpair = dbias_pair_shard != NULL;
    if (st == AX_OK) {
        const ax_device dev = ctx->device;
        qh = head_act(&u, q->dtype, dev);
        kh = vh = outh = douth = dqh = dkh = dvh = qh;
        lseh = head_lse(&u, dev);
        /* fp32 biases, so the local bias gradients are fp32 and the ranks' partial sums meet unrounded. */
        if (bias_mask_shard != NULL) maskf = dmaskf = full_mask(&u, bias_mask_shard, AX_F32);
        if (bias_pair_shard != NULL) biash = dbiash = head_bias(&u, bias_pair_shard, AX_F32);
        const ax_tensor *fwd[] = {q, k, v, out, dout}, *fwdh[] = {&qh, &kh, &vh, &outh, &douth};
        const ax_tensor *g[] = {dq, dk, dv}, *gh[] = {&dqh, &dkh, &dvh};
        const ax_tensor *l[] = {lse}, *lh[] = {&lseh};
        int64_t exchange = seqpar_all_to_all_bytes(comm, 5, fwd, SPLIT_H, fwdh, SPLIT_S, q->dtype);
        exchange = max64(exchange, seqpar_all_to_all_bytes(comm, 3, gh, SPLIT_S, g, SPLIT_H, q->dtype));
        exchange = max64(exchange, seqpar_all_to_all_bytes(comm, 1, l, 2, lh, 3, AX_F32));
        if (bias_mask_shard != NULL) {
            exchange = max64(exchange, seqpar_gather_bytes(comm, bias_mask_shard, 4, &maskf, bias_mask_shard->dtype));
            if (want_dmask) exchange = max64(exchange, seqpar_reduce_scatter_bytes(comm, &dmaskf, 4, dbias_mask_shard));
        }
        if (bias_pair_shard != NULL) {
            exchange = max64(exchange, bias_in_bytes(comm, &u, bias_pair_shard, &biash));
            if (want_dpair) {
                const ax_tensor *d[] = {dbias_pair_shard}, *dh[] = {&dbiash};
                exchange = max64(exchange, u.pair_per_head ? seqpar_all_to_all_bytes(comm, 1, dh, 3, d, 2, dbias_pair_shard->dtype)
                                                           : seqpar_reduce_scatter_bytes(comm, &dbiash, 3, dbias_pair_shard));
            }
        }
        const int64_t full = 8 * bytes_of(&qh) + bytes_of(&lseh) + bytes_of(&maskf) * (want_dmask ? 2 : 1) +
                             bytes_of(&biash) * (want_dpair ? 2 : 1);
        st = seqpar_check_message_size(comm, 5 * u.B * u.N * u.S * u.H * u.D, "q");
        if (st == AX_OK && bias_pair_shard != NULL)
            st = seqpar_check_message_size(comm, bias_pair_shard->shape[0] * bias_pair_shard->shape[2] * u.S *
                                                     bias_pair_shard->shape[4], "bias_pair_shard");
        if (st == AX_OK) st = seqpar_scratch_alloc(ctx, comm, &s, full + exchange);
        if (st == AX_OK) {
            ax_tensor *bufs[] = {&qh, &kh, &vh, &outh, &douth, &dqh, &dkh, &dvh, &lseh};
            for (int i = 0; i < 9; i++) place(&s, bufs[i]);
            if (bias_mask_shard != NULL) place(&s, &maskf);
            if (want_dmask) place(&s, &dmaskf);
            if (bias_pair_shard != NULL) place(&s, &biash);
            if (want_dpair) place(&s, &dbiash);
        }
        st = seqpar_agree_status(comm, op, st);
    }
    const int64_t mark = s.used;
    if (st == AX_OK) {
        const ax_tensor *fwd[] = {q, k, v, out, dout}, *fwdh[] = {&qh, &kh, &vh, &outh, &douth};
        st = seqpar_all_to_all_body(ctx, comm, 5, fwd, SPLIT_H, SPLIT_S, fwdh, q->dtype, &s);
        s.used = mark;
    }
    if (st == AX_OK) {
        const ax_tensor *l[] = {lse}, *lh[] = {&lseh};
        st = seqpar_all_to_all_body(ctx, comm, 1, l, 2, 3, lh, AX_F32, &s);
        s.used = mark;
    }
    if (st == AX_OK && bias_mask_shard != NULL) {
        st = seqpar_gather_body(ctx, comm, bias_mask_shard, 4, &maskf, bias_mask_shard->dtype, &s);
        s.used = mark;
    }
    if (st == AX_OK && bias_pair_shard != NULL) {
        st = bias_in(ctx, comm, &u, bias_pair_shard, &biash, &s);
        s.used = mark;
    }
    if (st == AX_OK && (u.H_local == 0 || u.B == 0 || u.N == 0 || u.S == 0 || u.D == 0)) {
        /* No heads here: the single-rank op writes nothing, and this rank's share of the sums is zero. */
        if (want_dmask) st = seqpar_zero(ctx, dmaskf.data, bytes_of(&dmaskf));
        if (st == AX_OK && want_dpair) st = seqpar_zero(ctx, dbiash.data, bytes_of(&dbiash));
    }
    if (st == AX_OK) {
        st = ax_evoformer_attention_backward(ctx, &qh, &kh, &vh, bias_mask_shard != NULL ? &maskf : NULL,
                                             bias_pair_shard != NULL ? &biash : NULL, &outh, &lseh, &douth, &dqh, &dkh,
                                             &dvh, want_dmask ? &dmaskf : NULL, want_dpair ? &dbiash : NULL);
        st = seqpar_agree_status(comm, op, st);
    }
    if (st == AX_OK) {
        const ax_tensor *g[] = {dq, dk, dv}, *gh[] = {&dqh, &dkh, &dvh};
        st = seqpar_all_to_all_body(ctx, comm, 3, gh, SPLIT_S, SPLIT_H, g, q->dtype, &s);
        s.used = mark;
    }
    if (st == AX_OK && want_dmask) {
        st = seqpar_reduce_scatter_body(ctx, comm, &dmaskf, 4, dbias_mask_shard, &s);
        s.used = mark;
    }
    if (st == AX_OK && want_dpair) {
        const ax_tensor *d[] = {dbias_pair_shard}, *dh[] = {&dbiash};
        st = u.pair_per_head ? seqpar_all_to_all_body(ctx, comm, 1, dh, 3, 2, d, dbias_pair_shard->dtype, &s)
                             : seqpar_reduce_scatter_body(ctx, comm, &dbiash, 3, dbias_pair_shard, &s);
    }
    if (ctx != NULL) seqpar_scratch_free(ctx, &s);
    return st;
}
