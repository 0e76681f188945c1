/*
 * ffn.c — ax_moe_ffn_forward: the MoE feed-forward layer on one rank, composed of public ops:
 * router logits (ax_qmatmul: batch invariant on the CPU), ax_moe_route, ax_moe_dispatch, the experts on
 * the sorted rows (grouped GEMMs and ax_glu), ax_moe_combine, and the PR-MoE dense residual MLP
 * added through ax_rms_norm_residual's residual stream so y is rounded once.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "moe/moe_internal.h"

/* Scratch of the forward: routing and sorted rows, the experts' activations, and with PR-MoE the
 * dense MLP's buffers, its (T, D) output and the (T, D) fp32 sum of the experts. */
static int64_t forward_bytes(const moe_layer *L, ax_dtype ydtype) {
    const int64_t Tk = L->T * L->k;
    int64_t bytes = moe_routed_bytes(L, L->xdtype) + 3 * moe_buf_bytes(AX_F32, Tk, L->F) + moe_buf_bytes(AX_F32, Tk, L->D);
    if (L->dense) bytes += moe_dense_bytes(L, MOE_FORWARD) + moe_buf_bytes(AX_F32, L->T, L->D);
    if (L->dense || ydtype != AX_F32) bytes += moe_buf_bytes(AX_F32, L->T, L->D);
    return bytes + moe_buf_bytes(AX_F32, 2, MOE_VECTOR); /* the losses, until the call has succeeded */
}

ax_status ax_moe_ffn_forward(ax_context *ctx, const ax_moe_ffn_config *cfg, const ax_tensor *x,
                             const ax_moe_ffn_weights *w, ax_tensor *y, ax_tensor *losses) {
    moe_layer L;
    AX_CHECK(moe_ffn_check(ctx, cfg, x, w, y, losses, NULL, NULL, NULL, MOE_FORWARD, 0, &L));
    moe_scratch s;
    AX_CHECK(moe_scratch_open(ctx, forward_bytes(&L, y->dtype), cfg->route.capacity_factor > 0.0f, &s));
    /* Measure mode: this layer's own scratch, and the most its grouped GEMMs can take (each op's
     * workspace counts on its own, as when it runs). */
    if (ctx->measure) return moe_experts_reserve_bound(ctx, &L, L.xdtype, w, MOE_FORWARD);
    moe_routed r;
    moe_routed_take(&s, &L, L.xdtype, &r);
    ax_tensor gs = moe_buf(&s, AX_F32, L.T * L.k, L.F), us = moe_buf(&s, AX_F32, L.T * L.k, L.F);
    ax_tensor hs = moe_buf(&s, AX_F32, L.T * L.k, L.F), ys = moe_buf(&s, AX_F32, L.T * L.k, L.D);
    /* The experts' sum is kept in fp32 (ax_moe_combine writes f32 or its input's dtype) unless it is
     * y itself: y is rounded once, after the dense MLP is added. */
    const int direct = !L.dense && y->dtype == AX_F32;
    ax_tensor ymoe = direct ? *y : moe_buf(&s, AX_F32, L.T, L.D);
    ax_tensor yd = L.dense ? moe_buf(&s, AX_F32, L.T, L.D) : ymoe;
    /* The losses land in scratch and reach the caller only once every step has succeeded. */
    ax_tensor losses_s = moe_buf(&s, AX_F32, 2, MOE_VECTOR);
    ax_status st = moe_route_dispatch(ctx, cfg, &L, x, w->router, losses != NULL ? &losses_s : NULL, &r);
    if (st == AX_OK) {
        ax_tensor xs = moe_rows(&r.xs, r.R), gr = moe_rows(&gs, r.R), ur = moe_rows(&us, r.R);
        ax_tensor hr = moe_rows(&hs, r.R), yr = moe_rows(&ys, r.R);
        st = moe_experts_forward(ctx, cfg->act, &xs, &r.offsets, w->gate, w->up, w->down, &gr, &ur, &hr, &yr);
        if (st == AX_OK) st = ax_moe_combine(ctx, &yr, &r.rows, &r.weights, &ymoe);
    }
    if (st == AX_OK && L.dense) {
        st = moe_dense_forward(ctx, &s, &L, cfg->act, x, w, &yd);
        /* y = ymoe + yd, one rounding into y's dtype (the norm's output lands in yd, unused). */
        if (st == AX_OK) st = ax_rms_norm_residual(ctx, &yd, &ymoe, NULL, 0.0f, &yd, y);
    } else if (st == AX_OK && !direct) {
        st = ax_tensor_copy(ctx, &ymoe, y);
    }
    if (st == AX_OK && losses != NULL) st = ax_tensor_copy(ctx, &losses_s, losses);
    moe_scratch_close(&s);
    if (st != AX_OK) ax_error_prefix("ax_moe_ffn_forward");
    return st;
}
