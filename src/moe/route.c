/*
 * route.c — ax_moe_route and ax_moe_route_backward (moe.h): the tensor contracts, the config's
 * checks, the registrations and the CPU kernel both share. The CUDA kernels are cuda/route.cu.
 *
 * The CPU kernel runs in three passes over a workspace: (1) per token, in parallel, the gating
 * probabilities, the logsumexp and the top-k choices; (2) one sequential scan of the T * k choices
 * in priority order (choice 0 of every token, then choice 1, ...) that counts the choices per
 * expert and drops those arriving at a full expert; (3) per token, in parallel, the weights (forward)
 * or the logits' gradient (backward). The loss sums over tokens run in a fixed order in double, so
 * results do not depend on the thread count.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "axial/moe.h"
#include "core/dtype_traits.h"
#include "core/internal.h"
#include "core/op.h"
#include "core/tensor_spec.h"
#include "moe/moe_internal.h"
#include "moe/moe_params.h"

/* Workspace pieces, each 64-byte aligned: p (T, E) f32, lse (T) f32, the chosen ids (T, k) i32
 * (-1 once dropped), their p (T, k) f32, per-expert choice counts and capacity fill (E) i64, and
 * one fp32 row of E per thread (the backward's gradient with respect to p). */
typedef struct route_ws {
    float *p, *lse, *sel_p, *grad_rows;
    int32_t *sel_id;
    int64_t *counts, *fill;
    int64_t grad_row_bytes;
} route_ws;

static int route_threads(const ax_context *ctx, const moe_route_params *p) {
    return p->T * p->E >= 4096 && ctx->num_threads > 1 ? (int)ctx->num_threads : 1;
}

static int64_t route_ws_layout(const ax_context *ctx, const moe_route_params *p, void *base, route_ws *ws) {
    const int64_t T = p->T, E = p->E, k = p->k;
    const int64_t sizes[7] = {ax_ws_round(T * E * 4), ax_ws_round(T * 4), ax_ws_round(T * k * 4),
                              ax_ws_round(T * k * 4), ax_ws_round(E * 8), ax_ws_round(E * 8),
                              ax_ws_round(E * 4) * route_threads(ctx, p)};
    int64_t at[7], total = 0;
    for (int i = 0; i < 7; i++) {
        at[i] = total;
        total += sizes[i];
    }
    if (ws != NULL) {
        char *b = base;
        ws->p = (float *)(b + at[0]);
        ws->lse = (float *)(b + at[1]);
        ws->sel_id = (int32_t *)(b + at[2]);
        ws->sel_p = (float *)(b + at[3]);
        ws->counts = (int64_t *)(b + at[4]);
        ws->fill = (int64_t *)(b + at[5]);
        ws->grad_rows = (float *)(b + at[6]);
        ws->grad_row_bytes = ax_ws_round(E * 4);
    }
    return total;
}

static ax_status route_cpu_workspace(const ax_context *ctx, const void *params, ax_op_workspace *need) {
    need->host_bytes = route_ws_layout(ctx, params, NULL, NULL);
    return AX_OK;
}

/* Pass 1 for token t: p, the logsumexp of the logits (the z-loss's, whatever the gating) and the k
 * first (p, id) in the selection order, by k rounds of "the best after the previous pick". */
static void route_token_select(const moe_route_params *p, const route_ws *ws, int64_t t) {
    const int64_t E = p->E, k = p->k;
    float *pt = ws->p + t * E;
    const void *row = (const char *)p->logits + ax_dt_offset_bytes(p->logits_dtype, t * p->logits_s0);
    float m = -INFINITY;
    for (int64_t e = 0; e < E; e++) {
        pt[e] = ax_elem_load_f32(row, e, p->logits_dtype);
        m = fmaxf(m, pt[e]);
    }
    float s = 0.0f;
    for (int64_t e = 0; e < E; e++) s += expf(pt[e] - m);
    ws->lse[t] = m + logf(s);
    for (int64_t e = 0; e < E; e++)
        pt[e] = p->gating == AX_MOE_SOFTMAX_TOPK ? expf(pt[e] - m) / s : moe_sigmoid(pt[e]);
    float prev_key = INFINITY;
    int64_t prev_id = -1;
    for (int64_t j = 0; j < k; j++) {
        int64_t best = -1;
        float best_key = -INFINITY;
        for (int64_t e = 0; e < E; e++) {
            const float key = moe_route_key(pt[e]);
            if (!moe_route_before(prev_key, prev_id, key, e)) continue;
            if (best < 0 || moe_route_before(key, e, best_key, best)) {
                best = e;
                best_key = key;
            }
        }
        ws->sel_id[t * k + j] = (int32_t)best;
        ws->sel_p[t * k + j] = pt[best];
        prev_key = best_key;
        prev_id = best;
    }
}

/* Pass 2: counts per expert (before dropping: the aux loss's f_e) and the capacity in priority
 * order. Sequential and O(T * k): the priority rule is a scan. */
static void route_capacity(const moe_route_params *p, const route_ws *ws) {
    const int64_t T = p->T, k = p->k;
    memset(ws->counts, 0, (size_t)p->E * sizeof(int64_t));
    memset(ws->fill, 0, (size_t)p->E * sizeof(int64_t));
    for (int64_t j = 0; j < k; j++)
        for (int64_t t = 0; t < T; t++) {
            int32_t *id = &ws->sel_id[t * k + j];
            ws->counts[*id]++;
            if (p->capacity < 0) continue;
            if (ws->fill[*id] >= p->capacity) *id = -1;
            else ws->fill[*id]++;
        }
}

/* Sum of the kept choices' p of token t, in increasing j. */
static float route_kept_sum(const moe_route_params *p, const route_ws *ws, int64_t t) {
    float s = 0.0f;
    for (int64_t j = 0; j < p->k; j++)
        if (ws->sel_id[t * p->k + j] >= 0) s += ws->sel_p[t * p->k + j];
    return s;
}

static void route_token_forward(const moe_route_params *p, const route_ws *ws, int64_t t) {
    const int64_t k = p->k;
    const float s = p->normalize ? route_kept_sum(p, ws, t) : 1.0f;
    for (int64_t j = 0; j < k; j++) {
        const int32_t id = ws->sel_id[t * k + j];
        float w = 0.0f;
        if (id >= 0) w = !p->normalize ? ws->sel_p[t * k + j] : s > 0.0f ? ws->sel_p[t * k + j] / s : 0.0f;
        p->expert_ids[t * p->ids_s0 + j * p->ids_s1] = id;
        p->weights[t * p->w_s0 + j * p->w_s1] = w;
    }
    if (p->probs != NULL)
        for (int64_t e = 0; e < p->E; e++) p->probs[t * p->probs_s0 + e * p->probs_s1] = ws->p[t * p->E + e];
}

/* dL/dlogits of token t: first dL/dp (weights through the normalisation, the aux loss's P_e), then
 * through the gating, plus the z-loss's term through the logsumexp. */
static void route_token_backward(const moe_route_params *p, const route_ws *ws, int64_t t, float *g) {
    const int64_t E = p->E, k = p->k, T = p->T;
    const float *pt = ws->p + t * E;
    for (int64_t e = 0; e < E; e++)
        g[e] = (float)((double)p->aux_coef * (double)E * (double)ws->counts[e] / ((double)T * (double)T * (double)k));
    if (p->dweights != NULL) {
        const float s = p->normalize ? route_kept_sum(p, ws, t) : 1.0f;
        float dot = 0.0f; /* sum over kept i of dweights_i * weights_i */
        if (p->normalize && s > 0.0f)
            for (int64_t j = 0; j < k; j++)
                if (ws->sel_id[t * k + j] >= 0)
                    dot += p->dweights[t * p->dw_s0 + j * p->dw_s1] * (ws->sel_p[t * k + j] / s);
        for (int64_t j = 0; j < k; j++) {
            const int32_t id = ws->sel_id[t * k + j];
            if (id < 0) continue;
            const float dw = p->dweights[t * p->dw_s0 + j * p->dw_s1];
            if (!p->normalize) g[id] += dw;
            else if (s > 0.0f) g[id] += (dw - dot) / s;
        }
    }
    float gp = 0.0f;
    if (p->gating == AX_MOE_SOFTMAX_TOPK)
        for (int64_t e = 0; e < E; e++) gp += g[e] * pt[e];
    const float zscale = 2.0f * p->z_coef * ws->lse[t] / (float)T;
    const void *row = (const char *)p->logits + ax_dt_offset_bytes(p->logits_dtype, t * p->logits_s0);
    for (int64_t e = 0; e < E; e++) {
        float d;
        float softmax_e = pt[e];
        if (p->gating == AX_MOE_SOFTMAX_TOPK) {
            d = pt[e] * (g[e] - gp);
        } else {
            d = g[e] * pt[e] * (1.0f - pt[e]);
            softmax_e = expf(ax_elem_load_f32(row, e, p->logits_dtype) - ws->lse[t]);
        }
        if (p->z_coef != 0.0f) d += zscale * softmax_e;
        ax_elem_store_f32(p->dlogits, t * p->dl_s0 + e * p->dl_s1, p->dlogits_dtype, d);
    }
}

static void route_losses(const moe_route_params *p, const route_ws *ws) {
    const int64_t T = p->T, E = p->E, k = p->k;
    double aux = 0.0, z = 0.0;
    if (T > 0) {
        for (int64_t e = 0; e < E; e++) {
            double P = 0.0;
            for (int64_t t = 0; t < T; t++) P += ws->p[t * E + e];
            aux += ((double)ws->counts[e] / (double)(T * k)) * (P / (double)T);
        }
        aux *= (double)E;
        for (int64_t t = 0; t < T; t++) z += (double)ws->lse[t] * (double)ws->lse[t];
        z /= (double)T;
    }
    p->losses[0] = (float)aux;
    p->losses[p->losses_s0] = (float)z;
}

static ax_status route_cpu(const ax_op_call *call) {
    const moe_route_params *p = call->params;
    route_ws ws;
    route_ws_layout(call->ctx, p, call->host_ws, &ws);
    const int threads = route_threads(call->ctx, p);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t t = 0; t < p->T; t++) route_token_select(p, &ws, t);
    route_capacity(p, &ws);
    if (!p->backward) {
#pragma omp parallel for num_threads(threads) schedule(static)
        for (int64_t t = 0; t < p->T; t++) route_token_forward(p, &ws, t);
        if (p->losses != NULL) route_losses(p, &ws);
        return AX_OK;
    }
#pragma omp parallel num_threads(threads)
    {
#ifdef _OPENMP
        float *g = (float *)ax_ws_slice(ws.grad_rows, 0, ws.grad_row_bytes, omp_get_thread_num());
#else
        float *g = ws.grad_rows;
#endif
#pragma omp for schedule(static)
        for (int64_t t = 0; t < p->T; t++) route_token_backward(p, &ws, t, g);
    }
    return AX_OK;
}

static ax_status route_cuda_workspace(const ax_context *ctx, const void *params, ax_op_workspace *need) {
    (void)ctx;
    int64_t at[MOE_RWS_N];
    need->device_bytes = moe_route_cuda_ws(params, at);
    return AX_OK;
}

static const ax_op moe_route_op = {
    .name = "moe_route",
    .cpu = {route_cpu, NULL, NULL},
    .cuda = AX_CUDA_KERNEL(moe_route_cuda),
    .cpu_workspace = route_cpu_workspace,
    .cuda_workspace = route_cuda_workspace,
};

static const ax_op moe_route_backward_op = {
    .name = "moe_route_backward",
    .cpu = {route_cpu, NULL, NULL},
    .cuda = AX_CUDA_KERNEL(moe_route_cuda),
    .cpu_workspace = route_cpu_workspace,
    .cuda_workspace = route_cuda_workspace,
};

/* The config's checks that need no shape, then (after the tensors) k against E; fills the
 * selection part of the params. */
static ax_status route_check_config(const ax_moe_route_config *cfg) {
    if (cfg == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "cfg: NULL route config");
    if (cfg->top_k < 1)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "cfg->top_k: %d, expected at least 1", (int)cfg->top_k);
    if (cfg->gating != AX_MOE_SOFTMAX_TOPK && cfg->gating != AX_MOE_SIGMOID_TOPK)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                            "cfg->gating: %d, expected AX_MOE_SOFTMAX_TOPK (0) or AX_MOE_SIGMOID_TOPK (1)",
                            (int)cfg->gating);
    if (!isfinite(cfg->capacity_factor) || cfg->capacity_factor < 0.0f)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "cfg->capacity_factor: %g, expected a finite value >= 0",
                            (double)cfg->capacity_factor);
    if (cfg->min_capacity < 0)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "cfg->min_capacity: %lld, expected >= 0",
                            (long long)cfg->min_capacity);
    return AX_OK;
}

static ax_status route_fill_selection(const ax_moe_route_config *cfg, const ax_tensor *logits, moe_route_params *p) {
    p->T = logits->shape[0];
    p->E = logits->shape[1];
    if (p->E < 1)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "logits: dim 1 (E) is %lld, expected >= 1", (long long)p->E);
    if (cfg->top_k > p->E)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "cfg->top_k: %d > E = %lld (logits' dim 1)", (int)cfg->top_k,
                            (long long)p->E);
    p->logits = logits->data;
    p->logits_dtype = logits->dtype;
    p->logits_s0 = logits->strides[0];
    p->k = cfg->top_k;
    p->gating = (int)cfg->gating;
    p->normalize = cfg->normalize != 0;
    p->capacity = moe_capacity(p->T, p->E, cfg);
    return AX_OK;
}

int64_t moe_capacity(int64_t T, int64_t E, const ax_moe_route_config *cfg) {
    if (!(cfg->capacity_factor > 0.0f)) return -1;
    /* In double from the float's exact value, so every backend and a reference agree. An expert gets
     * at most T choices (a token picks distinct experts), so a C above T drops nothing: the clamp
     * changes no result, keeps the cast below in range for any finite factor, and keeps C * E from
     * overflowing where a huge min_capacity stands for "no limit" (expert parallelism's row counts). */
    const double c = fmin(ceil((double)T * (double)cfg->capacity_factor / (double)E), (double)T);
    const int64_t C = c > (double)cfg->min_capacity ? (int64_t)c : cfg->min_capacity;
    return C < T ? C : T;
}

ax_status ax_moe_route(ax_context *ctx, const ax_moe_route_config *cfg, const ax_tensor *logits,
                       ax_tensor *expert_ids, ax_tensor *weights, ax_tensor *probs, ax_tensor *losses) {
    if (ctx == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "ctx: NULL context");
    AX_CHECK(route_check_config(cfg));
    ax_tensor_spec specs[5] = {
        AX_SPEC("logits", logits, 2, "T (tokens)", "E (experts)"), AX_SPEC("expert_ids", expert_ids, 2, "T", "k"),
        AX_SPEC("weights", weights, 2, "T", "k"), AX_SPEC("probs", probs, 2, "T", "E"),
        AX_SPEC("losses", losses, 1, "2")};
    specs[0].dtypes = AX_DTYPES_FLOAT;
    specs[0].flags = AX_SPEC_LAST_CONTIGUOUS;
    specs[1].dtypes = AX_DTYPE_BIT(AX_I32);
    specs[2].dtypes = specs[3].dtypes = specs[4].dtypes = AX_DTYPE_BIT(AX_F32);
    for (int i = 1; i < 5; i++) specs[i].flags = AX_SPEC_OUTPUT | (i >= 3 ? AX_SPEC_OPTIONAL : 0u);
    ax_dims dims = {0};
    AX_CHECK(ax_dims_bind(&dims, "k", cfg->top_k));
    AX_CHECK(ax_check_specs(ctx, specs, 5, &dims));

    moe_route_params p;
    memset(&p, 0, sizeof p);
    AX_CHECK(route_fill_selection(cfg, logits, &p));
    p.expert_ids = expert_ids->data;
    p.ids_s0 = expert_ids->strides[0];
    p.ids_s1 = expert_ids->strides[1];
    p.weights = weights->data;
    p.w_s0 = weights->strides[0];
    p.w_s1 = weights->strides[1];
    if (probs != NULL) {
        p.probs = probs->data;
        p.probs_s0 = probs->strides[0];
        p.probs_s1 = probs->strides[1];
    }
    if (losses != NULL) {
        p.losses = losses->data;
        p.losses_s0 = losses->strides[0];
    }
    if (p.T == 0 && losses == NULL) return AX_OK;
    return ax_op_run(&moe_route_op, ctx, &p);
}

ax_status ax_moe_route_backward(ax_context *ctx, const ax_moe_route_config *cfg, const ax_tensor *logits,
                                const ax_tensor *dweights, float aux_coef, float z_coef, ax_tensor *dlogits) {
    if (ctx == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "ctx: NULL context");
    AX_CHECK(route_check_config(cfg));
    if (!isfinite(aux_coef))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "aux_coef: %g, expected a finite value", (double)aux_coef);
    if (!isfinite(z_coef))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "z_coef: %g, expected a finite value", (double)z_coef);
    ax_tensor_spec specs[3] = {AX_SPEC("logits", logits, 2, "T (tokens)", "E (experts)"),
                               AX_SPEC("dweights", dweights, 2, "T", "k"), AX_SPEC("dlogits", dlogits, 2, "T", "E")};
    specs[0].dtypes = AX_DTYPES_FLOAT;
    specs[0].flags = AX_SPEC_LAST_CONTIGUOUS;
    specs[1].dtypes = AX_DTYPE_BIT(AX_F32);
    specs[1].flags = AX_SPEC_OPTIONAL;
    specs[2].dtype_as = 0;
    specs[2].dtypes = AX_DTYPE_BIT(AX_F32);
    specs[2].flags = AX_SPEC_OUTPUT;
    ax_dims dims = {0};
    AX_CHECK(ax_dims_bind(&dims, "k", cfg->top_k));
    AX_CHECK(ax_check_specs(ctx, specs, 3, &dims));

    moe_route_params p;
    memset(&p, 0, sizeof p);
    AX_CHECK(route_fill_selection(cfg, logits, &p));
    p.backward = 1;
    if (dweights != NULL) {
        p.dweights = dweights->data;
        p.dw_s0 = dweights->strides[0];
        p.dw_s1 = dweights->strides[1];
    }
    p.dlogits = dlogits->data;
    p.dlogits_dtype = dlogits->dtype;
    p.dl_s0 = dlogits->strides[0];
    p.dl_s1 = dlogits->strides[1];
    p.aux_coef = aux_coef;
    p.z_coef = z_coef;
    if (p.T == 0) return AX_OK;
    return ax_op_run(&moe_route_backward_op, ctx, &p);
}
