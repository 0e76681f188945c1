/*
 * dap.c — Evoformer attention in axial (DAP) mode: q, k, v and the mask sharded by rows (dim 1),
 * the pair bias by its query rows. The forward all-gathers the bias and runs the single-rank op on
 * this rank's rows; the backward also reduce-scatters the bias gradient, formed in fp32. The axis
 * switch (ax_dap_row_to_col / col_to_row) is an all-to-all between the row and the column split.
 *
 * Each call: the local contract (seqpar_check) and the scratch, then the agreement on every rank,
 * then ax_op_run, whose kernel is everything after the agreement (the exchanges, the single-rank op
 * and the status agreement). The scratch is the communicator's, not the op's workspace: it stays
 * live across the single-rank op, which takes the context's arena.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "axial/evoformer.h"
#include "core/op.h"
#include "seqpar/seqpar_internal.h"

static const char FORWARD[] = "ax_evoformer_attention_forward_dap";
static const char BACKWARD[] = "ax_evoformer_attention_backward_dap";

/* The mask is handed to the single-rank op as it is, so it follows that op's rules (broadcast over
 * B, N and keys; q's dtype or f32); the pair bias is gathered (converted to fp32 in the backward) and
 * may be any float dtype. */
static const seqpar_contract dap_contract = {
    .act = {"B", "N_local", "S", "H", "D"},
    .lse = {"B", "N_local", "H", "S"},
    .mask = {.name = "bias_mask", .ndim = 5, .dims = {"B", "N_local", "1", "1", "S"},
             .broadcast = 1u << 0 | 1u << 1 | 1u << 4, .dtype_as = SP_Q, .dtypes = AX_DTYPE_BIT(AX_F32),
             .like = -1, .flags = AX_SPEC_OPTIONAL},
    .pair = {.name = "bias_pair_shard", .ndim = 5, .dims = {"B", "1", "H", "S_local", "S (key)"},
             .broadcast = 1u << 0 | 1u << 2 | 1u << 4, .dtype_as = -1, .dtypes = AX_DTYPES_FLOAT, .like = -1,
             .flags = AX_SPEC_OPTIONAL, .layout = "(B, 1, H, S_local, S)"},
    .dmask_name = "dbias_mask",
    .dpair_name = "dbias_pair_shard",
};

/* What runs after the agreement needs. */
typedef struct dap_forward_params {
    ax_comm *comm;
    comm_scratch *s;
    int empty; /* no rows here (or another size is 0): nothing to compute, and its tensors may carry any strides */
    const ax_tensor *q, *k, *v, *bias_mask, *bias_pair_shard;
    ax_tensor *out, *lse;
    ax_tensor bias; /* the gathered bias, in scratch */
} dap_forward_params;

typedef struct dap_backward_params {
    ax_comm *comm;
    comm_scratch *s;
    int empty;
    const ax_tensor *q, *k, *v, *bias_mask, *bias_pair_shard, *out, *lse, *dout;
    ax_tensor *dq, *dk, *dv, *dbias_mask, *dbias_pair_shard;
    ax_tensor bias, dbias; /* the gathered fp32 bias and the whole fp32 bias gradient, in scratch */
} dap_backward_params;

/* The local contract, then what every rank must agree on (recorded only when the contract holds: a
 * rank that rejects its arguments fails the agreement whatever it records). */
static ax_status check_and_agree(const ax_context *ctx, const ax_comm *comm, const ax_tensor *const *t, int backward,
                                 comm_agreement *a) {
    ax_dims dims = {0};
    AX_CHECK(seqpar_check(ctx, comm, &dap_contract, t, backward, &dims));
    /* The pair bias holds this rank's shard of the S query rows: a size the table cannot derive. */
    if (t[SP_PAIR] != NULL)
        AX_CHECK(ax_check_dim(t[SP_PAIR], "bias_pair_shard", 3, "S_local: this rank's shard of S",
                              comm_shard_count(comm, ax_dims_get(&dims, "S"), comm->rank)));
    comm_agree_tensor(a, "q", t[SP_Q], 0x1du); /* B, S, H, D; N is split */
    comm_agree_shard(a, "q: dim 1 (N_local)", ax_dims_get(&dims, "N_local"));
    comm_agree_tensor(a, "bias_mask", t[SP_MASK], 0);
    comm_agree_tensor(a, "bias_pair_shard", t[SP_PAIR], 0x15u); /* B, H, S (key) */
    return AX_OK;
}

/* The gathered bias: bias_pair_shard's shape with all S query rows, contiguous, in `dtype`. */
static ax_tensor full_bias(const ax_tensor *shard, int64_t S, ax_dtype dtype) {
    const int64_t shape[5] = {shard->shape[0], 1, shard->shape[2], S, shard->shape[4]};
    return comm_contiguous(NULL, dtype, shard->device, 5, shape);
}

/* The local op writes straight into the caller's outputs, so a rank whose op would fail (its
 * workspace limit, say) must say so before the agreement, or the other ranks would have written
 * theirs: the op runs first in measure mode (its checks and its workspace, nothing written). Skipped
 * when the caller measures: nothing is written then anyway, and the gathered bias has no memory. */
static ax_status precheck_forward(ax_context *ctx, const dap_forward_params *p) {
    ctx->measure = 1;
    const ax_status st = ax_evoformer_attention_forward(ctx, p->q, p->k, p->v, p->bias_mask,
                                                        p->bias_pair_shard != NULL ? &p->bias : NULL, p->out, p->lse);
    ctx->measure = 0;
    return st;
}

static ax_status precheck_backward(ax_context *ctx, const dap_backward_params *p) {
    ax_tensor dbias = p->dbias;
    ctx->measure = 1;
    const ax_status st = ax_evoformer_attention_backward(
        ctx, p->q, p->k, p->v, p->bias_mask, p->bias_pair_shard != NULL ? &p->bias : NULL, p->out, p->lse, p->dout,
        p->dq, p->dk, p->dv, p->dbias_mask, p->dbias_pair_shard != NULL ? &dbias : NULL);
    ctx->measure = 0;
    return st;
}

static ax_status dap_forward_kernel(const ax_op_call *call) {
    const dap_forward_params *p = call->params;
    ax_context *ctx = call->ctx;
    ax_tensor bias = p->bias;
    ax_status st = AX_OK;
    if (p->bias_pair_shard != NULL) st = comm_gather_body(ctx, p->comm, p->bias_pair_shard, 3, &bias, bias.dtype, p->s);
    if (st != AX_OK) return st;
    if (!p->empty)
        st = ax_evoformer_attention_forward(ctx, p->q, p->k, p->v, p->bias_mask,
                                            p->bias_pair_shard != NULL ? &bias : NULL, p->out, p->lse);
    /* Every rank returns the same status, so a caller's error handling stays collective. */
    return comm_agree_status(p->comm, FORWARD, st);
}

static ax_status dap_backward_kernel(const ax_op_call *call) {
    const dap_backward_params *p = call->params;
    ax_context *ctx = call->ctx;
    ax_tensor bias = p->bias, dbias = p->dbias;
    const int64_t exchange_mark = p->s->used; /* the gather's and the reduce-scatter's buffers share this space */
    ax_status st = AX_OK;
    if (p->bias_pair_shard != NULL)
        st = comm_gather_body(ctx, p->comm, p->bias_pair_shard, 3, &bias, p->bias_pair_shard->dtype, p->s);
    if (st != AX_OK) return st;
    if (p->empty) {
        /* The single-rank op writes nothing for an empty problem; here no rows means a zero contribution
         * (and a zero gradient for a mask that broadcasts over N). */
        if (p->dbias_pair_shard != NULL) st = comm_zero(ctx, dbias.data, ax_tensor_numel(&dbias) * 4);
        if (st == AX_OK && p->dbias_mask != NULL) st = ax_tensor_zero(ctx, p->dbias_mask);
    } else {
        st = ax_evoformer_attention_backward(ctx, p->q, p->k, p->v, p->bias_mask,
                                             p->bias_pair_shard != NULL ? &bias : NULL, p->out, p->lse, p->dout, p->dq,
                                             p->dk, p->dv, p->dbias_mask, p->dbias_pair_shard != NULL ? &dbias : NULL);
    }
    st = comm_agree_status(p->comm, BACKWARD, st);
    p->s->used = exchange_mark;
    if (st == AX_OK && p->dbias_pair_shard != NULL)
        st = comm_reduce_scatter_body(ctx, p->comm, &dbias, 3, p->dbias_pair_shard, p->s);
    return st;
}

/* The transport follows the communicator, so one C function serves as both kernels. */
static const ax_op dap_forward_op = {
    .name = "evoformer_attention_forward_dap",
    .cpu = {dap_forward_kernel, NULL, NULL},
    .cuda = AX_CUDA_KERNEL(dap_forward_kernel),
};

static const ax_op dap_backward_op = {
    .name = "evoformer_attention_backward_dap",
    .cpu = {dap_backward_kernel, NULL, NULL},
    .cuda = AX_CUDA_KERNEL(dap_backward_kernel),
};

ax_status ax_evoformer_attention_forward_dap(ax_context *ctx, ax_comm *comm, const ax_tensor *q, const ax_tensor *k,
                                             const ax_tensor *v, const ax_tensor *bias_mask,
                                             const ax_tensor *bias_pair_shard, ax_tensor *out, ax_tensor *lse) {
    if (comm == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "comm: NULL communicator");
    comm_agreement a;
    comm_agree_init(&a, FORWARD, SEQPAR_OP_DAP_FORWARD, ctx);
    comm_scratch s = {0};
    dap_forward_params p = {.comm = comm, .s = &s, .q = q, .k = k, .v = v, .bias_mask = bias_mask,
                            .bias_pair_shard = bias_pair_shard, .out = out, .lse = lse};
    const ax_tensor *t[SP_COUNT] = {q, k, v, bias_mask, bias_pair_shard, out, lse};
    ax_status st = check_and_agree(ctx, comm, t, 0, &a);
    if (st == AX_OK) p.empty = ax_tensor_numel(q) == 0;
    if (st == AX_OK && bias_pair_shard != NULL) {
        p.bias = full_bias(bias_pair_shard, q->shape[2], bias_pair_shard->dtype);
        const int64_t bias_bytes = ax_tensor_numel(&p.bias) * (int64_t)ax_dtype_size(p.bias.dtype);
        const int64_t gather = comm_gather_bytes(comm, bias_pair_shard, 3, &p.bias, p.bias.dtype);
        st = comm_check_message_size(comm, ax_tensor_numel(&p.bias), "bias_pair_shard");
        if (st == AX_OK) st = comm_scratch_alloc(ctx, comm, &s, comm_align(bias_bytes) + gather);
        if (st == AX_OK) p.bias.data = comm_scratch_take(&s, bias_bytes);
    }
    if (st == AX_OK && !p.empty && !ctx->measure) st = precheck_forward(ctx, &p);
    comm_agree_fail(&a, st);
    st = comm_agree(comm, &a);
    /* Agreed, so every rank goes on alike: in measure mode ax_op_run stops before the kernel (the
     * scratch was counted, not taken). */
    if (st == AX_OK) st = ax_op_run(&dap_forward_op, ctx, &p);
    if (ctx != NULL) comm_scratch_free(ctx, &s);
    return st;
}

ax_status ax_evoformer_attention_backward_dap(ax_context *ctx, ax_comm *comm, const ax_tensor *q, const ax_tensor *k,
                                              const ax_tensor *v, const ax_tensor *bias_mask,
                                              const ax_tensor *bias_pair_shard, const ax_tensor *out,
                                              const ax_tensor *lse, const ax_tensor *dout, ax_tensor *dq,
                                              ax_tensor *dk, ax_tensor *dv, ax_tensor *dbias_mask,
                                              ax_tensor *dbias_pair_shard) {
    if (comm == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "comm: NULL communicator");
    comm_agreement a;
    comm_agree_init(&a, BACKWARD, SEQPAR_OP_DAP_BACKWARD, ctx);
    comm_scratch s = {0};
    dap_backward_params p = {.comm = comm, .s = &s, .q = q, .k = k, .v = v, .bias_mask = bias_mask,
                             .bias_pair_shard = bias_pair_shard, .out = out, .lse = lse, .dout = dout,
                             .dq = dq, .dk = dk, .dv = dv, .dbias_mask = dbias_mask,
                             .dbias_pair_shard = dbias_pair_shard};
    const ax_tensor *t[SP_COUNT] = {q,  k,  v,  bias_mask, bias_pair_shard, out, lse,
                                    dout, dq, dk, dv, dbias_mask, dbias_pair_shard};
    /* The gradients' presence is agreed too: a rank with no rows writes them itself (zeros), so every
     * rank must mean the same call. */
    ax_status st = check_and_agree(ctx, comm, t, 1, &a);
    comm_agree_value(&a, "dbias_mask: presence (1 = given, 0 = NULL)", dbias_mask != NULL);
    comm_agree_value(&a, "dbias_pair_shard: presence (1 = given, 0 = NULL)", dbias_pair_shard != NULL);
    if (st == AX_OK) p.empty = ax_tensor_numel(q) == 0;
    if (st == AX_OK && bias_pair_shard != NULL) {
        /* The local backward sees an fp32 bias so its bias gradient may be fp32 too: the ranks' partial
         * sums then meet in fp32 and are rounded once. */
        p.bias = full_bias(bias_pair_shard, q->shape[2], AX_F32);
        p.dbias = p.bias;
        const int64_t full_bytes = comm_align(ax_tensor_numel(&p.bias) * 4);
        const int64_t gather = comm_gather_bytes(comm, bias_pair_shard, 3, &p.bias, bias_pair_shard->dtype);
        const int64_t reduce =
            dbias_pair_shard != NULL ? comm_reduce_scatter_bytes(comm, &p.dbias, 3, dbias_pair_shard) : 0;
        st = comm_check_message_size(comm, ax_tensor_numel(&p.bias), "bias_pair_shard");
        if (st == AX_OK)
            st = comm_scratch_alloc(ctx, comm, &s,
                                    full_bytes * (dbias_pair_shard != NULL ? 2 : 1) + (gather > reduce ? gather : reduce));
        if (st == AX_OK) {
            p.bias.data = comm_scratch_take(&s, ax_tensor_numel(&p.bias) * 4);
            if (dbias_pair_shard != NULL) p.dbias.data = comm_scratch_take(&s, ax_tensor_numel(&p.dbias) * 4);
        }
    }
    if (st == AX_OK && !p.empty && !ctx->measure) st = precheck_backward(ctx, &p);
    comm_agree_fail(&a, st);
    st = comm_agree(comm, &a);
    if (st == AX_OK) st = ax_op_run(&dap_backward_op, ctx, &p); /* measure mode: stops before the kernel */
    if (ctx != NULL) comm_scratch_free(ctx, &s);
    return st;
}

/* Row split is dim 1, column split dim 2; a tensor with fewer than 3 dims fails dim-index validation
 * inside ax_all_to_all, which still takes part in the agreement. */
ax_status ax_dap_row_to_col(ax_context *ctx, ax_comm *comm, const ax_tensor *in, ax_tensor *out) {
    return ax_all_to_all(ctx, comm, in, 2, 1, out);
}

ax_status ax_dap_col_to_row(ax_context *ctx, ax_comm *comm, const ax_tensor *in, ax_tensor *out) {
    return ax_all_to_all(ctx, comm, in, 1, 2, out);
}
