/*
 * ffn_layer.c — the pieces of the MoE feed-forward layer that the single-rank and expert-parallel
 * functions share (moe_internal.h): the argument check, the layer's scratch, routing + dispatch, the
 * experts on expert-sorted rows forward and backward, the dense residual MLP and the router's
 * backward. Every step is a public op, so the same code runs on the CPU and on CUDA.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <limits.h>
#include <math.h>
#include <string.h>

#include "core/tensor_spec.h"
#include "moe/grouped_gemm_params.h"
#include "moe/moe_internal.h"

#define MOE_ALIGN 256

#define MOE_FLOAT_X (AX_DTYPE_BIT(AX_F32) | AX_DTYPE_BIT(AX_BF16))
#define MOE_FLOAT_W AX_DTYPES_FLOAT
#define MOE_QUANT_W                                                                                     \
    (AX_DTYPE_BIT(AX_Q4_0) | AX_DTYPE_BIT(AX_Q4_1) | AX_DTYPE_BIT(AX_Q8_0) | AX_DTYPE_BIT(AX_Q4_K) | \
     AX_DTYPE_BIT(AX_Q6_K))

/* ---- the argument check ---- */

static ax_status check_config(const ax_moe_ffn_config *cfg, moe_call call) {
    if (cfg == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "cfg: NULL");
    const ax_moe_route_config *r = &cfg->route;
    if (r->gating != AX_MOE_SOFTMAX_TOPK && r->gating != AX_MOE_SIGMOID_TOPK)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "cfg->route.gating: %d is not an ax_moe_gating", (int)r->gating);
    if (!isfinite(r->capacity_factor) || r->capacity_factor < 0.0f)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "cfg->route.capacity_factor: %g, expected finite and >= 0",
                            (double)r->capacity_factor);
    if (r->min_capacity < 0)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "cfg->route.min_capacity: %lld, expected >= 0",
                            (long long)r->min_capacity);
    if (cfg->act != AX_ACT_SILU && cfg->act != AX_ACT_GELU_TANH && cfg->act != AX_ACT_GELU_ERF)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "cfg->act: %d is not an ax_activation_kind", (int)cfg->act);
    if (call == MOE_BACKWARD && !isfinite(cfg->aux_coef))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "cfg->aux_coef: %g, expected a finite number", (double)cfg->aux_coef);
    if (call == MOE_BACKWARD && !isfinite(cfg->z_coef))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "cfg->z_coef: %g, expected a finite number", (double)cfg->z_coef);
    return AX_OK;
}

/* Spec indices, the order of the checks. */
enum { S_X, S_ROUTER, S_GATE, S_UP, S_DOWN, S_DGATE, S_DUP, S_DDOWN, S_Y, S_LOSSES, S_FWD_COUNT };
enum { S_DY = S_Y, S_DX, S_GROUTER, S_GGATE, S_GUP, S_GDOWN, S_GDGATE, S_GDUP, S_GDDOWN, S_BWD_COUNT };

static ax_tensor_spec spec2(const char *name, const ax_tensor *t, const char *d0, const char *d1, uint32_t dtypes,
                            unsigned flags) {
    const ax_tensor_spec s = AX_SPEC(name, t, 2, d0, d1);
    ax_tensor_spec out = s;
    out.dtypes = dtypes;
    out.flags = flags;
    return out;
}

static ax_tensor_spec spec3(const char *name, const ax_tensor *t, const char *d0, const char *d1, const char *d2,
                            uint32_t dtypes, unsigned flags) {
    const ax_tensor_spec s = AX_SPEC(name, t, 3, d0, d1, d2);
    ax_tensor_spec out = s;
    out.dtypes = dtypes;
    out.flags = flags;
    return out;
}

static ax_tensor_spec grad_of(const char *name, const ax_tensor *t, int32_t of) {
    const ax_tensor_spec s = AX_SPEC(name, t, 0, NULL);
    ax_tensor_spec out = s;
    out.like = of;
    out.flags = AX_SPEC_OUTPUT | AX_SPEC_OPTIONAL;
    return out;
}

/* The layer hands every tensor to row-major products (ax_gemm, ax_qmatmul, the grouped GEMMs), which
 * take the last dim contiguous and rows apart (row stride >= row length; experts at a stride >= 0),
 * and on the CPU 32-bit BLAS sizes. Checked here, before the first op writes anything: a layout one
 * of them refuses would otherwise fail half-way, after earlier ops had written outputs. */
static ax_status check_rows_apart(const ax_context *ctx, const ax_tensor *t, const char *name) {
    if (t == NULL || t->ndim < 2) return AX_OK; /* losses (2): written by ax_moe_route, any stride */
    const int32_t last = t->ndim - 1;
    if (t->shape[last] > 1 && t->strides[last] != 1)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: stride %lld of dim %d, expected 1 (rows contiguous)", name,
                            (long long)t->strides[last], (int)last);
    if (last >= 1 && t->shape[last - 1] > 1 && t->strides[last - 1] < t->shape[last])
        return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                            "%s: stride %lld of dim %d is below the row length %lld (the layer's products take "
                            "row-major matrices with rows apart)",
                            name, (long long)t->strides[last - 1], (int)(last - 1), (long long)t->shape[last]);
    if (last == 2 && t->shape[0] > 1 && t->strides[0] < 0)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: stride %lld of dim 0 (experts) is negative", name,
                            (long long)t->strides[0]);
    if (ctx->device.type == AX_CPU)
        for (int32_t i = 0; i <= last; i++)
            if (t->shape[i] > INT_MAX || (i == last - 1 && t->strides[i] > INT_MAX))
                return ax_set_error(AX_ERR_UNSUPPORTED,
                                    "%s: %s %lld of dim %d exceeds the CPU BLAS limit of %d (32-bit integers)", name,
                                    t->shape[i] > INT_MAX ? "size" : "stride",
                                    (long long)(t->shape[i] > INT_MAX ? t->shape[i] : t->strides[i]), (int)i, INT_MAX);
    return AX_OK;
}

ax_status moe_ffn_check(const ax_context *ctx, const ax_moe_ffn_config *cfg, const ax_tensor *x,
                        const ax_moe_ffn_weights *w, const ax_tensor *y, const ax_tensor *losses, const ax_tensor *dy,
                        const ax_tensor *dx, const ax_moe_ffn_grads *g, moe_call call, int expert_parallel,
                        moe_layer *L) {
    if (ctx == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "ctx: NULL context");
    AX_CHECK(check_config(cfg, call));
    if (w == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "w: NULL weights");
    if (call == MOE_BACKWARD && g == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "grads: NULL (pass a struct of NULLs to compute none)");
    const int n_dense = (w->dense_gate != NULL) + (w->dense_up != NULL) + (w->dense_down != NULL);
    if (n_dense != 0 && n_dense != 3)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                            "w: dense_gate, dense_up and dense_down: %d of 3 given (PR-MoE needs all three or none)",
                            n_dense);
    const int bwd = call == MOE_BACKWARD;
    /* The backward is fp32 throughout; the forward takes bf16 activations and quantized weights. */
    const uint32_t act_dt = bwd ? AX_DTYPE_BIT(AX_F32) : MOE_FLOAT_X;
    const uint32_t w_dt = bwd ? AX_DTYPE_BIT(AX_F32) : (MOE_FLOAT_W | MOE_QUANT_W);
    const char *eh = expert_parallel ? "E_here (this rank's experts)" : "E";
    ax_tensor_spec s[S_BWD_COUNT];
    s[S_X] = spec2("x", x, "T", "D", act_dt, AX_SPEC_LAST_CONTIGUOUS);
    s[S_ROUTER] = spec2("w->router", w->router, "E", "D", bwd ? AX_DTYPE_BIT(AX_F32) : MOE_FLOAT_W,
                        AX_SPEC_LAST_CONTIGUOUS);
    s[S_GATE] = spec3("w->gate", w->gate, eh, "F", "D", w_dt, AX_SPEC_LAST_CONTIGUOUS);
    s[S_UP] = spec3("w->up", w->up, eh, "F", "D", w_dt, AX_SPEC_LAST_CONTIGUOUS);
    s[S_DOWN] = spec3("w->down", w->down, eh, "D", "F", w_dt, AX_SPEC_LAST_CONTIGUOUS);
    const unsigned dense_flags = AX_SPEC_LAST_CONTIGUOUS | AX_SPEC_OPTIONAL;
    s[S_DGATE] = spec2("w->dense_gate", w->dense_gate, "Fd", "D", w_dt, dense_flags);
    s[S_DUP] = spec2("w->dense_up", w->dense_up, "Fd", "D", w_dt, dense_flags);
    s[S_DDOWN] = spec2("w->dense_down", w->dense_down, "D", "Fd", w_dt, dense_flags);
    int32_t n;
    if (!bwd) {
        s[S_Y] = spec2("y", y, "T", "D", AX_DTYPE_BIT(AX_F32), AX_SPEC_OUTPUT | AX_SPEC_LAST_CONTIGUOUS);
        s[S_Y].dtype_as = S_X;
        const ax_tensor_spec l = AX_SPEC("losses", losses, 1, "2");
        s[S_LOSSES] = l;
        s[S_LOSSES].dtypes = AX_DTYPE_BIT(AX_F32);
        s[S_LOSSES].flags = AX_SPEC_OUTPUT | AX_SPEC_OPTIONAL;
        n = S_FWD_COUNT;
    } else {
        s[S_DY] = spec2("dy", dy, "T", "D", AX_DTYPE_BIT(AX_F32), AX_SPEC_LAST_CONTIGUOUS);
        s[S_DX] = spec2("dx", dx, "T", "D", AX_DTYPE_BIT(AX_F32), AX_SPEC_OUTPUT | AX_SPEC_OPTIONAL | AX_SPEC_LAST_CONTIGUOUS);
        s[S_GROUTER] = grad_of("grads->router", g->router, S_ROUTER);
        s[S_GGATE] = grad_of("grads->gate", g->gate, S_GATE);
        s[S_GUP] = grad_of("grads->up", g->up, S_UP);
        s[S_GDOWN] = grad_of("grads->down", g->down, S_DOWN);
        s[S_GDGATE] = grad_of("grads->dense_gate", g->dense_gate, S_DGATE);
        s[S_GDUP] = grad_of("grads->dense_up", g->dense_up, S_DUP);
        s[S_GDDOWN] = grad_of("grads->dense_down", g->dense_down, S_DDOWN);
        n = S_BWD_COUNT;
    }
    ax_dims dims = {0};
    AX_CHECK(ax_check_specs(ctx, s, n, &dims));
    /* y and dy meet a product only through the dense MLP (else the combine, which takes any rows). */
    for (int32_t i = 0; i < n; i++)
        if (i != S_Y || n_dense == 3) AX_CHECK(check_rows_apart(ctx, s[i].t, s[i].name));
    L->T = ax_dims_get(&dims, "T");
    L->D = ax_dims_get(&dims, "D");
    L->E = ax_dims_get(&dims, "E");
    L->E_here = expert_parallel ? ax_dims_get(&dims, "E_here") : L->E;
    L->F = ax_dims_get(&dims, "F");
    L->dense = n_dense == 3;
    L->Fd = L->dense ? ax_dims_get(&dims, "Fd") : 0;
    L->k = cfg->route.top_k;
    L->xdtype = x->dtype;
    if (L->E < 1) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "w->router: dim 0 (E) is 0, expected >= 1 experts");
    if (L->k < 1 || L->k > L->E)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "cfg->route.top_k: %lld, expected 1 to E = %lld",
                            (long long)L->k, (long long)L->E);
    /* The sorted rows (T * k) go to the grouped GEMMs, which would refuse them half-way. */
    if (ctx->device.type == AX_CPU && L->T * L->k > INT_MAX)
        return ax_set_error(AX_ERR_UNSUPPORTED,
                            "x: T = %lld tokens x top_k %lld = %lld sorted rows exceed the CPU BLAS limit of %d "
                            "(32-bit integers)",
                            (long long)L->T, (long long)L->k, (long long)(L->T * L->k), INT_MAX);
    /* Gradients that are given must not alias the inputs they are computed from (ax_check_specs checks
     * outputs against each other and the inputs listed before them). */
    return AX_OK;
}

/* ---- scratch ---- */

int64_t moe_align(int64_t bytes) { return (bytes + MOE_ALIGN - 1) / MOE_ALIGN * MOE_ALIGN; }

int64_t moe_buf_bytes(ax_dtype dtype, int64_t rows, int64_t cols) {
    return moe_align(rows * (cols == MOE_VECTOR ? 1 : cols) * (int64_t)ax_dtype_size(dtype));
}

ax_status moe_scratch_open(ax_context *ctx, int64_t bytes, int zero, moe_scratch *s) {
    memset(s, 0, sizeof *s);
    s->ctx = ctx;
    const int on_device = ctx->device.type == AX_CUDA;
    AX_CHECK(ax_context_reserve_own_workspace(ctx, bytes));
    if (ctx->measure || bytes <= 0) return AX_OK;
    void *p = NULL;
    if (on_device) {
        int saved = -1;
        AX_CHECK(ax_cuda_scope_enter(ctx, &saved));
        ax_status st = ax_cuda_ws_alloc(ctx, bytes, &p);
        if (st == AX_OK && zero) {
            st = ax_cuda_ws_zero(ctx, p, bytes);
            if (st != AX_OK) ax_cuda_ws_free(ctx, p);
        }
        ax_cuda_scope_leave(ctx, saved);
        AX_CHECK(st);
    } else {
        AX_CHECK(ax_context_layer_arena(ctx, bytes, &p));
    }
    s->base = p;
    s->bytes = bytes;
    return AX_OK;
}

ax_tensor moe_buf(moe_scratch *s, ax_dtype dtype, int64_t rows, int64_t cols) {
    const int64_t shape[2] = {rows, cols};
    ax_tensor t;
    (void)ax_tensor_contiguous(&t, NULL, dtype, cols == MOE_VECTOR ? 1 : 2, shape); /* valid shapes only */
    t.device = s->ctx->device;
    const int64_t bytes = moe_buf_bytes(dtype, rows, cols);
    if (s->base != NULL && s->used + bytes <= s->bytes) {
        t.data = s->base + s->used;
        s->used += bytes;
    }
    return t;
}

void moe_scratch_close(moe_scratch *s) {
    if (s->base == NULL) return;
    if (s->ctx->device.type == AX_CUDA) {
        int saved = -1;
        /* Queued behind the layer's kernels: the block returns to the pool once they are done. */
        if (ax_cuda_scope_enter(s->ctx, &saved) == AX_OK) {
            ax_cuda_ws_free(s->ctx, s->base);
            ax_cuda_scope_leave(s->ctx, saved);
        }
    }
    s->base = NULL;
}

ax_tensor moe_rows(const ax_tensor *t, int64_t rows) {
    ax_tensor v = *t;
    v.shape[0] = rows;
    return v;
}

/* ---- routing and dispatch ---- */

int64_t moe_routed_bytes(const moe_layer *L, ax_dtype xs_dtype) {
    const int64_t Tk = L->T * L->k;
    return moe_buf_bytes(AX_F32, L->T, L->E) + moe_buf_bytes(AX_I32, L->T, L->k) + moe_buf_bytes(AX_F32, L->T, L->k) +
           moe_buf_bytes(xs_dtype, Tk, L->D) + moe_buf_bytes(AX_I64, L->E + 1, MOE_VECTOR) + moe_buf_bytes(AX_I64, L->T, L->k);
}

void moe_routed_take(moe_scratch *s, const moe_layer *L, ax_dtype xs_dtype, moe_routed *r) {
    r->logits = moe_buf(s, AX_F32, L->T, L->E);
    r->ids = moe_buf(s, AX_I32, L->T, L->k);
    r->weights = moe_buf(s, AX_F32, L->T, L->k);
    r->xs = moe_buf(s, xs_dtype, L->T * L->k, L->D);
    r->offsets = moe_buf(s, AX_I64, L->E + 1, MOE_VECTOR);
    r->rows = moe_buf(s, AX_I64, L->T, L->k);
    r->R = L->T * L->k;
}

ax_status moe_route_dispatch(ax_context *ctx, const ax_moe_ffn_config *cfg, const moe_layer *L, const ax_tensor *x,
                             const ax_tensor *router, ax_tensor *losses, moe_routed *r) {
    /* ax_qmatmul, not ax_gemm, even for a float router: on the CPU its row t does not depend on the
     * other rows of the call (BLAS's blocking does), so a token routes the same alone or in any batch
     * (the serving engine's batch invariance; a near-tie flipped by a last bit changes the experts). */
    AX_CHECK(ax_qmatmul(ctx, x, router, NULL, &r->logits));
    AX_CHECK(ax_moe_route(ctx, &cfg->route, &r->logits, &r->ids, &r->weights, NULL, losses));
    AX_CHECK(ax_moe_dispatch(ctx, x, &r->ids, L->E, 1, &r->xs, &r->offsets, NULL, &r->rows));
    /* On the CPU the kept rows are known without a device round trip: the experts then skip the
     * rows that capacity dropping left empty. CUDA computes all T * k (never read back; the scratch
     * was zeroed when capacity can drop rows: moe_scratch_open). */
    r->R = ctx->device.type == AX_CPU ? ((const int64_t *)r->offsets.data)[L->E] : L->T * L->k;
    return AX_OK;
}

/* ---- products ---- */

ax_status moe_linear(ax_context *ctx, const ax_tensor *x, const ax_tensor *w, ax_tensor *y) {
    const int float_pair = x->dtype == w->dtype && (w->dtype == AX_F32 || w->dtype == AX_BF16 || w->dtype == AX_F16);
    if (float_pair) return ax_gemm(ctx, AX_NO_TRANS, AX_TRANS, 1.0f, x, w, 0.0f, y);
    return ax_qmatmul(ctx, x, w, NULL, y);
}

ax_status moe_add_into(ax_context *ctx, ax_tensor *add, ax_tensor *acc) {
    /* residual_out = add + acc, rounded once into acc; the norm (eps 0, weight 1) lands in add. */
    return ax_rms_norm_residual(ctx, add, acc, NULL, 0.0f, add, acc);
}

/* ---- the experts ---- */

ax_status moe_experts_reserve_bound(ax_context *ctx, const moe_layer *L, ax_dtype xs_dtype,
                                    const ax_moe_ffn_weights *w, moe_call call) {
    if (ctx->device.type != AX_CPU) return AX_OK; /* the CUDA grouped GEMM takes no workspace */
    const int64_t threads = ctx->num_threads > 0 ? ctx->num_threads : 1;
    /* Each grouped GEMM the layer runs: (AX_TRANS, x dtype, w, N, K); the backward's first. */
    const struct {
        int trans;
        ax_dtype x;
        const ax_tensor *w;
        int64_t N, K;
    } gemms[6] = {{1, xs_dtype, w->gate, L->F, L->D}, {1, xs_dtype, w->up, L->F, L->D},
                  {1, AX_F32, w->down, L->D, L->F},   {0, AX_F32, w->down, L->F, L->D},
                  {0, AX_F32, w->gate, L->D, L->F},   {0, AX_F32, w->up, L->D, L->F}};
    for (int i = 0; i < (call == MOE_BACKWARD ? 6 : 3); i++) {
        moe_gg_params p;
        memset(&p, 0, sizeof p);
        p.E = L->E_here;
        p.R = L->T * L->k;
        p.N = gemms[i].N;
        p.K = gemms[i].K;
        p.x_dtype = gemms[i].x;
        p.w_dtype = gemms[i].w->dtype;
        p.y_dtype = AX_F32;
        p.trans_w = gemms[i].trans;
        AX_CHECK(ax_context_reserve_workspace(ctx, moe_gg_cpu_bytes_bound(&p, threads), 0));
    }
    return AX_OK;
}

ax_status moe_experts_forward(ax_context *ctx, ax_activation_kind act, const ax_tensor *xs, const ax_tensor *offsets,
                              const ax_tensor *gate, const ax_tensor *up, const ax_tensor *down, ax_tensor *gs,
                              ax_tensor *us, ax_tensor *hs, ax_tensor *ys) {
    AX_CHECK(ax_moe_grouped_gemm(ctx, AX_TRANS, xs, gate, offsets, gs));
    AX_CHECK(ax_moe_grouped_gemm(ctx, AX_TRANS, xs, up, offsets, us));
    AX_CHECK(ax_glu(ctx, act, gs, us, hs));
    return ax_moe_grouped_gemm(ctx, AX_TRANS, hs, down, offsets, ys);
}

ax_status moe_experts_backward(ax_context *ctx, ax_activation_kind act, const ax_tensor *xs,
                               const ax_tensor *offsets, const ax_tensor *gate, const ax_tensor *up,
                               const ax_tensor *down, ax_tensor *gs, ax_tensor *us, ax_tensor *hs, ax_tensor *dys,
                               ax_tensor *tmp, ax_tensor *dgate, ax_tensor *dup, ax_tensor *ddown) {
    /* down: out = h @ down^T, so ddown = dys^T @ hs and dhs = dys @ down (into hs, no longer needed). */
    if (ddown != NULL) AX_CHECK(ax_moe_grouped_gemm_dw(ctx, dys, hs, offsets, 0.0f, ddown));
    AX_CHECK(ax_moe_grouped_gemm(ctx, AX_NO_TRANS, dys, down, offsets, hs));
    /* The GLU's gradients in place of its inputs. */
    AX_CHECK(ax_glu_backward(ctx, act, gs, us, hs, gs, us));
    if (dgate != NULL) AX_CHECK(ax_moe_grouped_gemm_dw(ctx, gs, xs, offsets, 0.0f, dgate));
    if (dup != NULL) AX_CHECK(ax_moe_grouped_gemm_dw(ctx, us, xs, offsets, 0.0f, dup));
    /* dxs = dgs @ gate + dus @ up: the first into dys (consumed), the second into tmp, then added. */
    AX_CHECK(ax_moe_grouped_gemm(ctx, AX_NO_TRANS, gs, gate, offsets, dys));
    AX_CHECK(ax_moe_grouped_gemm(ctx, AX_NO_TRANS, us, up, offsets, tmp));
    return moe_add_into(ctx, tmp, dys);
}

/* ---- the dense residual MLP ---- */

int64_t moe_dense_bytes(const moe_layer *L, moe_call call) {
    if (!L->dense) return 0;
    return (call == MOE_BACKWARD ? 4 : 2) * moe_buf_bytes(AX_F32, L->T, L->Fd);
}

ax_status moe_dense_forward(ax_context *ctx, moe_scratch *s, const moe_layer *L, ax_activation_kind act,
                            const ax_tensor *x, const ax_moe_ffn_weights *w, ax_tensor *out) {
    const int64_t mark = s->used;
    ax_tensor gd = moe_buf(s, AX_F32, L->T, L->Fd), ud = moe_buf(s, AX_F32, L->T, L->Fd);
    ax_status st = moe_linear(ctx, x, w->dense_gate, &gd);
    if (st == AX_OK) st = moe_linear(ctx, x, w->dense_up, &ud);
    if (st == AX_OK) st = ax_glu(ctx, act, &gd, &ud, &gd);
    if (st == AX_OK) st = moe_linear(ctx, &gd, w->dense_down, out);
    s->used = mark;
    return st;
}

ax_status moe_dense_backward(ax_context *ctx, moe_scratch *s, const moe_layer *L, ax_activation_kind act,
                             const ax_tensor *x, const ax_moe_ffn_weights *w, const ax_tensor *dy, ax_tensor *dx,
                             const ax_moe_ffn_grads *g) {
    const int64_t mark = s->used;
    ax_tensor gd = moe_buf(s, AX_F32, L->T, L->Fd), ud = moe_buf(s, AX_F32, L->T, L->Fd);
    ax_tensor hd = moe_buf(s, AX_F32, L->T, L->Fd), dhd = moe_buf(s, AX_F32, L->T, L->Fd);
    ax_status st = ax_gemm(ctx, AX_NO_TRANS, AX_TRANS, 1.0f, x, w->dense_gate, 0.0f, &gd);
    if (st == AX_OK) st = ax_gemm(ctx, AX_NO_TRANS, AX_TRANS, 1.0f, x, w->dense_up, 0.0f, &ud);
    if (st == AX_OK) st = ax_glu(ctx, act, &gd, &ud, &hd);
    /* out = hd @ dd^T: d dd = dy^T @ hd, dhd = dy @ dd. */
    if (st == AX_OK && g->dense_down != NULL) st = ax_gemm(ctx, AX_TRANS, AX_NO_TRANS, 1.0f, dy, &hd, 0.0f, g->dense_down);
    if (st == AX_OK) st = ax_gemm(ctx, AX_NO_TRANS, AX_NO_TRANS, 1.0f, dy, w->dense_down, 0.0f, &dhd);
    if (st == AX_OK) st = ax_glu_backward(ctx, act, &gd, &ud, &dhd, &gd, &ud);
    if (st == AX_OK && g->dense_gate != NULL) st = ax_gemm(ctx, AX_TRANS, AX_NO_TRANS, 1.0f, &gd, x, 0.0f, g->dense_gate);
    if (st == AX_OK && g->dense_up != NULL) st = ax_gemm(ctx, AX_TRANS, AX_NO_TRANS, 1.0f, &ud, x, 0.0f, g->dense_up);
    if (st == AX_OK && dx != NULL) st = ax_gemm(ctx, AX_NO_TRANS, AX_NO_TRANS, 1.0f, &gd, w->dense_gate, 1.0f, dx);
    if (st == AX_OK && dx != NULL) st = ax_gemm(ctx, AX_NO_TRANS, AX_NO_TRANS, 1.0f, &ud, w->dense_up, 1.0f, dx);
    s->used = mark;
    return st;
}

/* ---- the router ---- */

ax_status moe_router_backward(ax_context *ctx, const ax_moe_ffn_config *cfg, const ax_tensor *x,
                              const ax_tensor *router, const ax_tensor *logits, const ax_tensor *dweights,
                              ax_tensor *dlogits, ax_tensor *grad_router, ax_tensor *dx) {
    AX_CHECK(ax_moe_route_backward(ctx, &cfg->route, logits, dweights, cfg->aux_coef, cfg->z_coef, dlogits));
    if (grad_router != NULL) AX_CHECK(ax_gemm(ctx, AX_TRANS, AX_NO_TRANS, 1.0f, dlogits, x, 0.0f, grad_router));
    if (dx != NULL) AX_CHECK(ax_gemm(ctx, AX_NO_TRANS, AX_NO_TRANS, 1.0f, dlogits, router, 1.0f, dx));
    return AX_OK;
}
