/*
 * ffn_backward.c — ax_moe_ffn_backward: recomputes the forward from x (activation checkpointing:
 * the caller keeps nothing between the passes), then the chain rule through public ops:
 * ax_moe_combine_backward (the rows' output gradient and the combine weights' gradient), the experts
 * backward (grouped GEMMs, ax_glu_backward, ax_moe_grouped_gemm_dw), the dispatch's backward
 * (ax_moe_combine without weights), ax_moe_route_backward (+ aux and z losses) and the router and
 * dense GEMMs, whose dx contributions ax_gemm accumulates (beta = 1).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "moe/moe_internal.h"

/* Routing and sorted rows, gs/us/hs (T k, F), ys and dys (T k, D), dweights (T, k), dlogits (T, E),
 * and the dense MLP's four (T, Fd) buffers. */
static int64_t backward_bytes(const moe_layer *L) {
    const int64_t Tk = L->T * L->k;
    return moe_routed_bytes(L, AX_F32) + 3 * moe_buf_bytes(AX_F32, Tk, L->F) + 2 * moe_buf_bytes(AX_F32, Tk, L->D) +
           moe_buf_bytes(AX_F32, L->T, L->k) + moe_buf_bytes(AX_F32, L->T, L->E) + moe_dense_bytes(L, MOE_BACKWARD);
}

ax_status ax_moe_ffn_backward(ax_context *ctx, const ax_moe_ffn_config *cfg, const ax_tensor *x,
                              const ax_moe_ffn_weights *w, const ax_tensor *dy, ax_tensor *dx,
                              const ax_moe_ffn_grads *grads) {
    moe_layer L;
    AX_CHECK(moe_ffn_check(ctx, cfg, x, w, NULL, NULL, dy, dx, grads, MOE_BACKWARD, 0, &L));
    moe_scratch s;
    AX_CHECK(moe_scratch_open(ctx, backward_bytes(&L), cfg->route.capacity_factor > 0.0f, &s));
    if (ctx->measure) return moe_experts_reserve_bound(ctx, &L, AX_F32, w, MOE_BACKWARD); /* as in the forward */
    const int64_t Tk = L.T * L.k;
    moe_routed r;
    moe_routed_take(&s, &L, AX_F32, &r);
    ax_tensor gs = moe_buf(&s, AX_F32, Tk, L.F), us = moe_buf(&s, AX_F32, Tk, L.F), hs = moe_buf(&s, AX_F32, Tk, L.F);
    ax_tensor ys = moe_buf(&s, AX_F32, Tk, L.D), dys = moe_buf(&s, AX_F32, Tk, L.D);
    ax_tensor dweights = moe_buf(&s, AX_F32, L.T, L.k), dlogits = moe_buf(&s, AX_F32, L.T, L.E);

    ax_status st = moe_route_dispatch(ctx, cfg, &L, x, w->router, NULL, &r);
    ax_tensor xs = moe_rows(&r.xs, r.R), gr = moe_rows(&gs, r.R), ur = moe_rows(&us, r.R), hr = moe_rows(&hs, r.R);
    ax_tensor yr = moe_rows(&ys, r.R), dyr = moe_rows(&dys, r.R);
    if (st == AX_OK) st = moe_experts_forward(ctx, cfg->act, &xs, &r.offsets, w->gate, w->up, w->down, &gr, &ur, &hr, &yr);
    /* y = combine(ys, weights): the rows' gradient and the weights' gradient. */
    if (st == AX_OK) st = ax_moe_combine_backward(ctx, dy, &yr, &r.rows, &r.weights, &dyr, &dweights);
    /* ys is free from here on: it is the experts' (R, D) scratch. */
    if (st == AX_OK)
        st = moe_experts_backward(ctx, cfg->act, &xs, &r.offsets, w->gate, w->up, w->down, &gr, &ur, &hr, &dyr, &yr,
                                  grads->gate, grads->up, grads->down);
    /* The dispatch copied x's rows: dx is the sum of the copies' gradients. */
    if (st == AX_OK && dx != NULL) st = ax_moe_combine(ctx, &dyr, &r.rows, NULL, dx);
    if (st == AX_OK)
        st = moe_router_backward(ctx, cfg, x, w->router, &r.logits, &dweights, &dlogits, grads->router, dx);
    if (st == AX_OK && L.dense) st = moe_dense_backward(ctx, &s, &L, cfg->act, x, w, dy, dx, grads);
    moe_scratch_close(&s);
    if (st != AX_OK) ax_error_prefix("ax_moe_ffn_backward");
    return st;
}
