/*
 * moe_internal.h — private pieces of the MoE feed-forward layer (moe.h) shared by the single-rank
 * functions (ffn.c, ffn_backward.c) and the expert-parallel ones (ep.c): the layer's argument check,
 * its scratch, the experts on expert-sorted rows (forward and backward), the dense residual MLP of
 * PR-MoE, and the router's front end (logits, routing, dispatch). Everything here is a composition of
 * public ops, so it runs on whichever device the context has.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_MOE_INTERNAL_H
#define AXIAL_MOE_INTERNAL_H

#include "axial/moe.h"
#include "core/internal.h"

/* The sizes of one call, bound by the argument check. */
typedef struct moe_layer {
    int64_t T, D, E, E_here, F, Fd, k;
    int dense;       /* the PR-MoE residual MLP is present */
    ax_dtype xdtype; /* x's dtype */
} moe_layer;

/* Which call the argument check is for. */
typedef enum moe_call { MOE_FORWARD = 0, MOE_BACKWARD = 1 } moe_call;

/* The whole local contract of a layer call: cfg (k in [1, E], gating, capacity, act, and for the
 * backward finite loss coefficients), x, the weights (all three dense ones or none; expert count
 * E_here free when `expert_parallel`, else E), and the outputs (y and losses for the forward; dy, dx
 * and the gradients for the backward). Binds *L. Sets the message of the first failure. */
ax_status moe_ffn_check(const ax_context *ctx, const ax_moe_ffn_config *cfg, const ax_tensor *x,
                        const ax_moe_ffn_weights *w, const ax_tensor *y, const ax_tensor *losses, const ax_tensor *dy,
                        const ax_tensor *dx, const ax_moe_ffn_grads *g, moe_call call, int expert_parallel,
                        moe_layer *L);

/* ---- scratch: one block per call, carved into 256-byte aligned pieces ----
 * Host: the context's layer arena (kept between calls; the public ops this layer calls take the
 * other arena). CUDA: one block of the context's stream-ordered pool. Counted against the context's
 * workspace limit and peak. */
typedef struct moe_scratch {
    ax_context *ctx;
    char *base;
    int64_t bytes, used;
} moe_scratch;

int64_t moe_align(int64_t bytes);
/* Bytes of a (rows, cols) buffer of `dtype`, aligned. */
/* Measure mode: reserves, one by one as they would run, the most host workspace each of the layer's
 * grouped GEMMs can need (moe_gg_cpu_bytes_bound): theirs depends on the routing, which measure mode
 * does not compute. The other ops the layer calls take scratch by shape only, within the layer's. */
ax_status moe_experts_reserve_bound(ax_context *ctx, const moe_layer *L, ax_dtype xs_dtype,
                                    const ax_moe_ffn_weights *w, moe_call call);

/* cols for a 1-D buffer of `rows` elements (offsets, losses); any cols >= 0 gives (rows, cols). */
#define MOE_VECTOR ((int64_t)-1)
int64_t moe_buf_bytes(ax_dtype dtype, int64_t rows, int64_t cols);
/* Accounts `bytes` (limit, peak) and, unless the context is measuring, takes the block. On CUDA a
 * nonzero `zero` clears it (stream-ordered): the single-rank layer computes all T * k rows there
 * without reading offsets[E] back, and rows that capacity dropping leaves to no expert are then
 * zeros, not stale pool memory (ax_glu of zeros is zero; nothing reads those rows' results). */
ax_status moe_scratch_open(ax_context *ctx, int64_t bytes, int zero, moe_scratch *s);
/* A contiguous (rows, cols) tensor on the context's device from the scratch (cols 0: 1-D of rows). */
ax_tensor moe_buf(moe_scratch *s, ax_dtype dtype, int64_t rows, int64_t cols);
void moe_scratch_close(moe_scratch *s);

/* A view of rows [0, rows) of a 2-D tensor. */
ax_tensor moe_rows(const ax_tensor *t, int64_t rows);

/* ---- the router's front end ---- */

/* The capacity of each expert for T tokens routed over E experts (GShard / DeepSpeed-MoE: ceil(T /
 * E * factor), at least min_capacity, at most T), or -1 when cfg has no capacity (factor <= 0). */
int64_t moe_capacity(int64_t T, int64_t E, const ax_moe_route_config *cfg);

/* Buffers of routing and dispatch for T tokens: logits (T, E) f32, ids (T, k) i32, weights (T, k)
 * f32, xs (T * k, D) in x's dtype (wire), offsets (E + 1) i64, rows (T, k) i64. */
typedef struct moe_routed {
    ax_tensor logits, ids, weights, xs, offsets, rows;
    int64_t R; /* rows of xs worth computing: offsets[E] on the CPU, T * k on CUDA (no host read) */
} moe_routed;

int64_t moe_routed_bytes(const moe_layer *L, ax_dtype xs_dtype);
void moe_routed_take(moe_scratch *s, const moe_layer *L, ax_dtype xs_dtype, moe_routed *r);
/* logits = x @ router^T, ax_moe_route (losses: NULL or (2) f32), ax_moe_dispatch of x. */
ax_status moe_route_dispatch(ax_context *ctx, const ax_moe_ffn_config *cfg, const moe_layer *L, const ax_tensor *x,
                             const ax_tensor *router, ax_tensor *losses, moe_routed *r);

/* ---- the experts on expert-sorted rows ---- */

/* y = x @ w^T for a (rows, K) x and an (N, K) weight: ax_gemm when both share a float dtype, else
 * ax_qmatmul (block-quantized w, or mixed float dtypes). */
ax_status moe_linear(ax_context *ctx, const ax_tensor *x, const ax_tensor *w, ax_tensor *y);

/* acc += add, element-wise over (rows, D) f32 tensors, through ax_rms_norm_residual's residual
 * stream (the one public element-wise add, on every device); `add` is overwritten (the norm's
 * output, unused). */
ax_status moe_add_into(ax_context *ctx, ax_tensor *add, ax_tensor *acc);

/* Forward on the R rows of xs (expert-sorted, segments by offsets; R = xs->shape[0]):
 * gs = xs @ gate[e]^T, us = xs @ up[e]^T, hs = act(gs) * us, ys = hs @ down[e]^T; gs, us, hs (R, F)
 * and ys (R, D) f32 outputs. */
ax_status moe_experts_forward(ax_context *ctx, ax_activation_kind act, const ax_tensor *xs, const ax_tensor *offsets,
                              const ax_tensor *gate, const ax_tensor *up, const ax_tensor *down, ax_tensor *gs,
                              ax_tensor *us, ax_tensor *hs, ax_tensor *ys);

/* Backward on the same rows, from the forward's gs, us, hs and the rows' output gradient dys (R, D):
 * the expert gradients (each NULL to skip; overwritten) and, in dys, the rows' input gradient dxs.
 * gs, us and hs are consumed (overwritten); tmp is (R, D) f32 scratch. */
ax_status moe_experts_backward(ax_context *ctx, ax_activation_kind act, const ax_tensor *xs,
                               const ax_tensor *offsets, const ax_tensor *gate, const ax_tensor *up,
                               const ax_tensor *down, ax_tensor *gs, ax_tensor *us, ax_tensor *hs, ax_tensor *dys,
                               ax_tensor *tmp, ax_tensor *dgate, ax_tensor *dup, ax_tensor *ddown);

/* ---- the dense residual MLP (PR-MoE) ---- */

/* Scratch of the dense forward (gd, ud (T, Fd) f32) and backward (gd, ud, hd, dhd). */
int64_t moe_dense_bytes(const moe_layer *L, moe_call call);
/* out (T, D) f32 = (act(x @ dg^T) * (x @ du^T)) @ dd^T. */
ax_status moe_dense_forward(ax_context *ctx, moe_scratch *s, const moe_layer *L, ax_activation_kind act,
                            const ax_tensor *x, const ax_moe_ffn_weights *w, ax_tensor *out);
/* The dense MLP's gradients for output gradient dy: grads (each NULL to skip) and dx += (dx NULL:
 * skipped). */
ax_status moe_dense_backward(ax_context *ctx, moe_scratch *s, const moe_layer *L, ax_activation_kind act,
                             const ax_tensor *x, const ax_moe_ffn_weights *w, const ax_tensor *dy, ax_tensor *dx,
                             const ax_moe_ffn_grads *g);

/* ---- the router's backward ---- */

/* dlogits from the routing's dweights (T, k) and the loss coefficients; router gradient
 * dlogits^T @ x (NULL: skipped) and dx += dlogits @ router (NULL: skipped). dlogits (T, E) f32
 * scratch. */
ax_status moe_router_backward(ax_context *ctx, const ax_moe_ffn_config *cfg, const ax_tensor *x,
                              const ax_tensor *router, const ax_tensor *logits, const ax_tensor *dweights,
                              ax_tensor *dlogits, ax_tensor *grad_router, ax_tensor *dx);

#endif /* AXIAL_MOE_INTERNAL_H */
