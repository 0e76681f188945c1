/*
 * validate.c — the local tensor contract of the distributed attention, one spec table for both modes
 * and both directions (the generic checks are in src/comm/validate.c, the checker in
 * src/core/tensor_spec.c).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "seqpar/seqpar_internal.h"

/* A tensor laid out like q: the mode's activation dims, q's dtype. */
static void activation(ax_tensor_spec *s, const char *name, const ax_tensor *t, const seqpar_contract *c,
                       unsigned flags) {
    const ax_tensor_spec spec = AX_SPEC(name, t, 5, c->act[0], c->act[1], c->act[2], c->act[3], c->act[4]);
    *s = spec;
    s->dtype_as = SP_Q;
    s->flags = flags;
}

/* A bias gradient: exactly its bias's shape and dtype, NULL when the bias is. */
static void gradient(ax_tensor_spec *s, const char *name, const ax_tensor *t, int32_t of) {
    const ax_tensor_spec spec = AX_SPEC(name, t, 5, NULL);
    *s = spec;
    s->like = of;
    s->flags = AX_SPEC_OUTPUT | AX_SPEC_OPTIONAL;
}

/* The single-rank op's D >= 1, checked before anything moves: a rank whose q has no elements skips
 * the local op (DAP), which had returned AX_OK with lse unwritten for D = 0. */
static ax_status check_head_dim(const ax_tensor *q) {
    if (q->shape[4] == 0)
        return ax_set_error(AX_ERR_UNSUPPORTED, "q: dim 4 (D) is 0; Evoformer attention needs D >= 1");
    return AX_OK;
}

ax_status seqpar_check(const ax_context *ctx, const ax_comm *comm, const seqpar_contract *c,
                       const ax_tensor *const *t, int backward, ax_dims *dims) {
    AX_CHECK(comm_check_ctx(ctx, comm));
    /* Before the table, so the message says why (the table would only call it a NULL tensor). */
    if (backward && t[SP_LSE] == NULL && t[SP_Q] != NULL)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "lse: NULL (backward needs the forward's lse)");
    ax_tensor_spec s[SP_COUNT];
    activation(&s[SP_Q], "q", t[SP_Q], c, 0);
    s[SP_Q].dtype_as = -1;
    s[SP_Q].dtypes = AX_DTYPES_FLOAT;
    activation(&s[SP_K], "k", t[SP_K], c, 0);
    activation(&s[SP_V], "v", t[SP_V], c, 0);
    s[SP_MASK] = c->mask;
    s[SP_MASK].t = t[SP_MASK];
    s[SP_PAIR] = c->pair;
    s[SP_PAIR].t = t[SP_PAIR];
    if (!backward) {
        /* The forward hands the exchanged biases to the single-rank op in their own dtype, whose rule
         * is q's dtype or f32 (evoformer.h): checked here, before anything moves, not after. The
         * backward converts them to fp32 and takes any float dtype. */
        for (int i = SP_MASK; i <= SP_PAIR; i++) {
            s[i].dtype_as = SP_Q;
            s[i].dtypes = AX_DTYPE_BIT(AX_F32);
        }
    }
    /* The forward writes out and lse; the backward reads them. */
    activation(&s[SP_OUT], "out", t[SP_OUT], c, backward ? 0u : AX_SPEC_OUTPUT);
    const ax_tensor_spec lse = AX_SPEC("lse", t[SP_LSE], 4, c->lse[0], c->lse[1], c->lse[2], c->lse[3]);
    s[SP_LSE] = lse;
    s[SP_LSE].dtypes = AX_DTYPE_BIT(AX_F32);
    s[SP_LSE].flags = backward ? 0u : AX_SPEC_OUTPUT | AX_SPEC_OPTIONAL;
    if (!backward) {
        AX_CHECK(ax_check_specs(ctx, s, SP_LSE + 1, dims));
        return check_head_dim(t[SP_Q]);
    }
    activation(&s[SP_DOUT], "dout", t[SP_DOUT], c, 0);
    activation(&s[SP_DQ], "dq", t[SP_DQ], c, AX_SPEC_OUTPUT);
    activation(&s[SP_DK], "dk", t[SP_DK], c, AX_SPEC_OUTPUT);
    activation(&s[SP_DV], "dv", t[SP_DV], c, AX_SPEC_OUTPUT);
    gradient(&s[SP_DMASK], c->dmask_name, t[SP_DMASK], SP_MASK);
    gradient(&s[SP_DPAIR], c->dpair_name, t[SP_DPAIR], SP_PAIR);
    AX_CHECK(ax_check_specs(ctx, s, SP_COUNT, dims));
    return check_head_dim(t[SP_Q]);
}
