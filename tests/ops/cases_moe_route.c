/*
 * cases_moe_route.c — ax_moe_route (moe.h): softmax and sigmoid gating, normalize on and off,
 * k = 1, 2, E and 8 of 64, capacity with drops (capacity factors 0.5, 1 and 1.25, min_capacity
 * binding and not), exact ties (integer logits: the lower id wins), T = 0, padded (strided) tensors,
 * with and without probs and losses.
 *
 * Reference: float64 from the stored logits (moe_cases.h, written from moe.h's definitions): p,
 * the selection, the priority rule of the capacity, the weights, aux and z. Logits have clear gaps
 * (or exact ties), so fp32 and float64 select the same ids: expert_ids must match exactly, which
 * also checks that the dropped set is exactly the priority rule's.
 *
 * Bounds (u = 2^-24): a softmax probability in fp32 is within (E + |l| + |m| + 8) u relative of the
 * exact one (exp, sum of E terms, division); a sigmoid within 8 u; the normalisation adds k + 2 u.
 * aux sums such probabilities (relative error of the same order); z squares an fp32 logsumexp whose
 * absolute error is (|m| + E + 4) u. So weights and probs: rtol (E + 32) * 4 u; losses: rtol
 * (E + 32) * 8 u plus 1e-6 absolute (z near 0).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axial/moe.h"
#include "moe_cases.h"
#include "op_registry.h"

typedef struct rt_case {
    int64_t T, E;
    int32_t k;
    int gating, normalize;
    float capacity_factor;
    int64_t min_capacity;
    int ties;      /* integer logits in {-1, 0, 1} */
    int padded;    /* every tensor strided */
    int outputs;   /* bit 0: probs, bit 1: losses */
    double step;   /* logit spacing */
    int quick;
} rt_case;

static const rt_case cases[] = {
    {5, 4, 1, AX_MOE_SOFTMAX_TOPK, 1, 0.0f, 0, 0, 0, 3, 0.5, 1},
    {7, 8, 2, AX_MOE_SOFTMAX_TOPK, 1, 0.0f, 0, 0, 1, 3, 0.5, 1},
    {7, 8, 2, AX_MOE_SOFTMAX_TOPK, 0, 0.0f, 0, 0, 0, 1, 0.5, 1},
    {6, 5, 5, AX_MOE_SOFTMAX_TOPK, 0, 0.0f, 0, 0, 0, 3, 0.5, 1},  /* k = E */
    {6, 5, 5, AX_MOE_SIGMOID_TOPK, 1, 0.0f, 0, 0, 1, 3, 0.5, 1},  /* k = E */
    {9, 6, 2, AX_MOE_SIGMOID_TOPK, 0, 0.0f, 0, 0, 0, 2, 0.75, 1},
    {9, 6, 2, AX_MOE_SIGMOID_TOPK, 1, 1.0f, 0, 0, 0, 3, 0.75, 1},
    {16, 4, 2, AX_MOE_SOFTMAX_TOPK, 1, 0.5f, 0, 0, 0, 3, 0.5, 1}, /* C = 2: many drops */
    {16, 4, 2, AX_MOE_SOFTMAX_TOPK, 0, 1.0f, 0, 0, 1, 3, 0.5, 1}, /* C = 4 */
    {16, 4, 2, AX_MOE_SOFTMAX_TOPK, 1, 0.5f, 3, 0, 0, 3, 0.5, 0}, /* min_capacity 3 > 2 */
    {16, 4, 1, AX_MOE_SIGMOID_TOPK, 1, 0.5f, 1, 0, 0, 3, 0.5, 0}, /* min_capacity 1 < 2 */
    {20, 8, 2, AX_MOE_SOFTMAX_TOPK, 1, 1.25f, 0, 1, 0, 3, 0.5, 1}, /* ties + capacity */
    {20, 8, 3, AX_MOE_SIGMOID_TOPK, 0, 0.0f, 0, 1, 1, 3, 0.5, 0},  /* ties */
    {0, 8, 2, AX_MOE_SOFTMAX_TOPK, 1, 1.0f, 0, 0, 0, 3, 0.5, 1},   /* T = 0: losses 0 */
    {300, 64, 8, AX_MOE_SOFTMAX_TOPK, 1, 1.0f, 0, 0, 1, 3, 0.125, 0}, /* threads, drops */
    {257, 16, 2, AX_MOE_SIGMOID_TOPK, 1, 1.0f, 4, 0, 0, 3, 0.375, 0},
};

static const op_dtype_pair dtypes[] = {{AX_F32, AX_F32}, {AX_BF16, AX_F32}, {AX_F16, AX_F32}};

static int rt_make_case(int index, op_mode mode, op_case *c) {
    const int n = (int)(sizeof cases / sizeof cases[0]);
    int seen = -1;
    for (int i = 0; i < n; i++) {
        const rt_case *r = &cases[i];
        if (mode == OP_QUICK && !r->quick) continue;
        if (++seen != index) continue;
        c->params = r;
        snprintf(c->name, sizeof c->name, "T %lld E %lld k %d %s%s cf %g min %lld%s%s%s%s", (long long)r->T,
                 (long long)r->E, (int)r->k, r->gating == AX_MOE_SOFTMAX_TOPK ? "softmax" : "sigmoid",
                 r->normalize ? " normalized" : "", (double)r->capacity_factor, (long long)r->min_capacity,
                 r->ties ? " ties" : "", r->padded ? " padded" : "", r->outputs & 1 ? " probs" : "",
                 r->outputs & 2 ? " losses" : "");
        c->n_dtypes = (int)(sizeof dtypes / sizeof dtypes[0]);
        memcpy(c->dtypes, dtypes, sizeof dtypes);
        return 1;
    }
    return 0;
}

static ax_moe_route_config rt_config(const rt_case *r) {
    ax_moe_route_config cfg = AX_MOE_ROUTE_CONFIG_INIT;
    cfg.top_k = r->k;
    cfg.gating = (ax_moe_gating)r->gating;
    cfg.normalize = r->normalize;
    cfg.capacity_factor = r->capacity_factor;
    cfg.min_capacity = r->min_capacity;
    return cfg;
}

static int rt_setup(const op_case *c, op_dtype_pair dt, op_problem *p) {
    const rt_case *r = c->params;
    const op_layout lay = r->padded ? OP_PADDED : OP_CONTIGUOUS;
    const int64_t ls[2] = {r->T, r->E}, ks[2] = {r->T, r->k}, two = 2;
    op_tensor *logits = op_tensor_new(p, "logits", OP_INPUT, dt.in, 2, ls, lay);
    if (logits == NULL) return -1;
    moe_fill_logits(p, logits, r->T, r->E, r->step, r->ties);
    op_tensor *ids = op_tensor_new(p, "expert_ids", OP_OUTPUT, AX_I32, 2, ks, lay);
    if (ids == NULL || op_tensor_new(p, "weights", OP_OUTPUT, AX_F32, 2, ks, lay) == NULL) return -1;
    moe_poison_int_output(ids);
    if ((r->outputs & 1) && op_tensor_new(p, "probs", OP_OUTPUT, AX_F32, 2, ls, lay) == NULL) return -1;
    if (r->outputs & 2) {
        const int64_t st = r->padded ? 3 : 1;
        if (op_tensor_new_strided(p, "losses", OP_OUTPUT, AX_F32, 1, &two, &st) == NULL) return -1;
    }
    return 0;
}

static void rt_reference(const op_case *c, op_dtype_pair dt, op_problem *p) {
    (void)dt;
    const rt_case *r = c->params;
    const int64_t T = r->T, E = r->E, k = r->k;
    const ax_moe_route_config cfg = rt_config(r);
    const size_t n1 = (size_t)(T > 0 ? T : 1);
    moe_ref_route ref = {calloc(n1 * (size_t)E, sizeof(double)), calloc(n1, sizeof(double)),
                         calloc(n1 * (size_t)k, sizeof(double)), calloc(n1 * (size_t)k, sizeof(double)),
                         calloc(n1 * (size_t)k, sizeof(int64_t)), calloc((size_t)E, sizeof(int64_t)),
                         calloc((size_t)E, sizeof(int64_t)), 0};
    if (!ref.p || !ref.lse || !ref.w || !ref.sel_p || !ref.ids || !ref.counts || !ref.taken) {
        fprintf(stderr, "rt_reference: out of memory\n");
        exit(1);
    }
    moe_ref_route_run(op_find(p, "logits")->value, T, E, &cfg, &ref);
    op_tensor *ids = op_find(p, "expert_ids"), *w = op_find(p, "weights");
    for (int64_t i = 0; i < T * k; i++) {
        ids->expected[i] = (double)ref.ids[i];
        w->expected[i] = ref.w[i];
    }
    op_tensor *probs = op_find(p, "probs");
    if (probs != NULL)
        for (int64_t i = 0; i < T * E; i++) probs->expected[i] = ref.p[i];
    op_tensor *losses = op_find(p, "losses");
    if (losses != NULL) {
        double aux = 0.0, z = 0.0;
        for (int64_t e = 0; e < E && T > 0; e++) {
            double P = 0.0;
            for (int64_t t = 0; t < T; t++) P += ref.p[t * E + e];
            aux += (double)ref.counts[e] / (double)(T * k) * (P / (double)T);
        }
        for (int64_t t = 0; t < T; t++) z += ref.lse[t] * ref.lse[t];
        losses->expected[0] = (double)E * aux;
        losses->expected[1] = T > 0 ? z / (double)T : 0.0;
    }
    free(ref.p);
    free(ref.lse);
    free(ref.w);
    free(ref.sel_p);
    free(ref.ids);
    free(ref.counts);
    free(ref.taken);
}

static ax_status rt_run(ax_context *ctx, const op_case *c, op_dtype_pair dt, op_problem *p) {
    (void)dt;
    const ax_moe_route_config cfg = rt_config(c->params);
    return ax_moe_route(ctx, &cfg, op_in(p, "logits"), op_out(p, "expert_ids"), op_out(p, "weights"),
                        op_out(p, "probs"), op_out(p, "losses"));
}

static op_tol rt_tolerance(const op_case *c, op_dtype_pair dt, op_backend be, const op_tensor *out) {
    (void)dt;
    (void)be;
    const rt_case *r = c->params;
    const double u = 0x1p-24;
    op_tol t;
    memset(&t, 0, sizeof t);
    if (strcmp(out->name, "expert_ids") == 0) {
        t.exact = 1;
    } else if (strcmp(out->name, "losses") == 0) {
        t.rtol = (double)(r->E + 32) * 8.0 * u;
        t.atol = 1e-6;
    } else {
        t.rtol = (double)(r->E + 32) * 4.0 * u;
        t.atol = 1e-30;
    }
    return t;
}

const op_table op_table_moe_route = {
    .name = "moe_route",
    .make_case = rt_make_case,
    .setup = rt_setup,
    .reference = rt_reference,
    .run = rt_run,
    .tolerance = rt_tolerance,
};
