/*
 * cases_moe_route_backward.c — ax_moe_route_backward (moe.h): the gradient of
 *     L = sum dweights . weights + aux_coef * aux + z_coef * z
 * with respect to the logits, for softmax and sigmoid gating, normalize on and off, k = 1, 2 and E,
 * capacity with drops, dweights NULL, each loss alone and all together.
 *
 * Reference: float64 central finite differences of L, evaluated in float64 from moe.h's definitions
 * with the selection and the dropping held fixed (as the contract says: only p carries a gradient,
 * f_e is a constant). The selection is the float64 routing of the stored logits (moe_cases.h); the
 * logits have clear gaps, so it is also the op's. L splits into per-token terms once f_e is fixed,
 * so each difference evaluates one token's term: O(E) per logit. Step h = 1e-5 in float64: the
 * truncation error h^2 |L'''| and the cancellation 1e-16 |L| / h are both far below the bound.
 *
 * Bound: the kernel computes in fp32: p within (E + |l| + 8) u relative, the dot products of E and
 * k terms; the result is compared with norm_rtol (E + 64) * 8 u of the largest gradient (floor 1e-6)
 * plus one rounding into dlogits' dtype.
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

typedef struct rb_case {
    int64_t T, E;
    int32_t k;
    int gating, normalize;
    float capacity_factor;
    int with_dweights;
    float aux_coef, z_coef;
    int padded;
    int quick;
} rb_case;

static const rb_case cases[] = {
    {5, 4, 1, AX_MOE_SOFTMAX_TOPK, 1, 0.0f, 1, 0.0f, 0.0f, 0, 1}, /* k = 1 normalized: weight 1, gradient 0 */
    {5, 4, 1, AX_MOE_SOFTMAX_TOPK, 0, 0.0f, 1, 0.0f, 0.0f, 0, 1},
    {7, 8, 2, AX_MOE_SOFTMAX_TOPK, 1, 0.0f, 1, 0.0f, 0.0f, 1, 1},
    {7, 8, 2, AX_MOE_SOFTMAX_TOPK, 0, 0.0f, 1, 0.0f, 0.0f, 0, 1},
    {7, 8, 2, AX_MOE_SOFTMAX_TOPK, 1, 0.0f, 0, 0.7f, 0.0f, 0, 1}, /* aux alone */
    {7, 8, 2, AX_MOE_SOFTMAX_TOPK, 1, 0.0f, 0, 0.0f, 0.3f, 0, 1}, /* z alone */
    {7, 8, 2, AX_MOE_SIGMOID_TOPK, 1, 0.0f, 1, 0.5f, 0.25f, 1, 1},
    {7, 8, 2, AX_MOE_SIGMOID_TOPK, 0, 0.0f, 1, 0.0f, 0.0f, 0, 1},
    {7, 8, 2, AX_MOE_SIGMOID_TOPK, 0, 0.0f, 0, 1.5f, 0.5f, 0, 0},
    {6, 5, 5, AX_MOE_SOFTMAX_TOPK, 0, 0.0f, 1, 0.2f, 0.1f, 0, 1}, /* k = E */
    {6, 5, 5, AX_MOE_SIGMOID_TOPK, 1, 0.0f, 1, 0.2f, 0.1f, 0, 0}, /* k = E */
    {16, 4, 2, AX_MOE_SOFTMAX_TOPK, 1, 0.5f, 1, 0.4f, 0.2f, 0, 1}, /* drops */
    {16, 4, 2, AX_MOE_SIGMOID_TOPK, 1, 0.5f, 1, 0.4f, 0.2f, 1, 0}, /* drops */
    {0, 4, 2, AX_MOE_SOFTMAX_TOPK, 1, 0.0f, 1, 0.4f, 0.2f, 0, 1},  /* T = 0 */
    {200, 32, 4, AX_MOE_SOFTMAX_TOPK, 1, 1.0f, 1, 0.1f, 0.01f, 0, 0}, /* threads */
};

static const op_dtype_pair dtypes[] = {{AX_F32, AX_F32}, {AX_BF16, AX_F32}, {AX_BF16, AX_BF16}, {AX_F16, AX_F32}};

static int rb_make_case(int index, op_mode mode, op_case *c) {
    const int n = (int)(sizeof cases / sizeof cases[0]);
    int seen = -1;
    for (int i = 0; i < n; i++) {
        const rb_case *r = &cases[i];
        if (mode == OP_QUICK && !r->quick) continue;
        if (++seen != index) continue;
        c->params = r;
        snprintf(c->name, sizeof c->name, "T %lld E %lld k %d %s%s cf %g%s aux %g z %g%s", (long long)r->T,
                 (long long)r->E, (int)r->k, r->gating == AX_MOE_SOFTMAX_TOPK ? "softmax" : "sigmoid",
                 r->normalize ? " normalized" : "", (double)r->capacity_factor, r->with_dweights ? " dweights" : "",
                 (double)r->aux_coef, (double)r->z_coef, r->padded ? " padded" : "");
        c->n_dtypes = (int)(sizeof dtypes / sizeof dtypes[0]);
        memcpy(c->dtypes, dtypes, sizeof dtypes);
        return 1;
    }
    return 0;
}

static ax_moe_route_config rb_config(const rb_case *r) {
    ax_moe_route_config cfg = AX_MOE_ROUTE_CONFIG_INIT;
    cfg.top_k = r->k;
    cfg.gating = (ax_moe_gating)r->gating;
    cfg.normalize = r->normalize;
    cfg.capacity_factor = r->capacity_factor;
    return cfg;
}

static int rb_setup(const op_case *c, op_dtype_pair dt, op_problem *p) {
    const rb_case *r = c->params;
    const op_layout lay = r->padded ? OP_PADDED : OP_CONTIGUOUS;
    const int64_t ls[2] = {r->T, r->E}, ks[2] = {r->T, r->k};
    op_tensor *logits = op_tensor_new(p, "logits", OP_INPUT, dt.in, 2, ls, lay);
    if (logits == NULL) return -1;
    moe_fill_logits(p, logits, r->T, r->E, 0.5, 0);
    if (r->with_dweights) {
        op_tensor *dw = op_tensor_new(p, "dweights", OP_INPUT, AX_F32, 2, ks, lay);
        if (dw == NULL) return -1;
        op_fill_uniform(p, dw, -1.0, 1.0);
    }
    return op_tensor_new(p, "dlogits", OP_OUTPUT, dt.out, 2, ls, lay) == NULL ? -1 : 0;
}

/* Token t's part of L with the selection (sel ids, kept or -1) and f fixed, at logits l (E). */
static double rb_token_objective(const rb_case *r, const double *l, const int64_t *sel, const double *dw,
                                 const double *f, double *p) {
    const int64_t E = r->E, k = r->k;
    double m = -INFINITY, s = 0.0;
    for (int64_t e = 0; e < E; e++) m = fmax(m, l[e]);
    for (int64_t e = 0; e < E; e++) s += exp(l[e] - m);
    const double lse = m + log(s);
    for (int64_t e = 0; e < E; e++)
        p[e] = r->gating == AX_MOE_SOFTMAX_TOPK ? exp(l[e] - m) / s : 1.0 / (1.0 + exp(-l[e]));
    double L = 0.0;
    if (dw != NULL) {
        double kept = 0.0;
        for (int64_t j = 0; j < k; j++)
            if (sel[j] >= 0) kept += p[sel[j]];
        for (int64_t j = 0; j < k; j++)
            if (sel[j] >= 0) L += dw[j] * (r->normalize ? p[sel[j]] / kept : p[sel[j]]);
    }
    double aux = 0.0; /* this token's share of E sum_e f_e P_e */
    for (int64_t e = 0; e < E; e++) aux += f[e] * p[e];
    L += (double)r->aux_coef * (double)E * aux / (double)r->T;
    L += (double)r->z_coef * lse * lse / (double)r->T;
    return L;
}

static void rb_reference(const op_case *c, op_dtype_pair dt, op_problem *p) {
    (void)dt;
    const rb_case *r = c->params;
    const int64_t T = r->T, E = r->E, k = r->k;
    const ax_moe_route_config cfg = rb_config(r);
    const size_t n1 = (size_t)(T > 0 ? T : 1);
    moe_ref_route ref = {calloc(n1 * (size_t)E, sizeof(double)), calloc(n1, sizeof(double)),
                         calloc(n1 * (size_t)k, sizeof(double)), calloc(n1 * (size_t)k, sizeof(double)),
                         calloc(n1 * (size_t)k, sizeof(int64_t)), calloc((size_t)E, sizeof(int64_t)),
                         calloc((size_t)E, sizeof(int64_t)), 0};
    double *f = calloc((size_t)E, sizeof(double)), *pe = calloc((size_t)E, sizeof(double));
    double *l = calloc((size_t)E, sizeof(double)), *dw = calloc((size_t)k, sizeof(double));
    if (!ref.p || !ref.lse || !ref.w || !ref.sel_p || !ref.ids || !ref.counts || !ref.taken || !f || !pe || !l || !dw) {
        fprintf(stderr, "rb_reference: out of memory\n");
        exit(1);
    }
    const op_tensor *logits = op_find(p, "logits"), *dweights = op_find(p, "dweights");
    op_tensor *out = op_find(p, "dlogits");
    moe_ref_route_run(logits->value, T, E, &cfg, &ref);
    for (int64_t e = 0; e < E; e++) f[e] = T > 0 ? (double)ref.counts[e] / (double)(T * k) : 0.0;
    const double h = 1e-5;
    for (int64_t t = 0; t < T; t++) {
        if (dweights != NULL)
            for (int64_t j = 0; j < k; j++) dw[j] = dweights->value[t * k + j];
        for (int64_t e = 0; e < E; e++) {
            memcpy(l, logits->value + t * E, (size_t)E * sizeof(double));
            l[e] += h;
            const double up = rb_token_objective(r, l, ref.ids + t * k, dweights ? dw : NULL, f, pe);
            l[e] -= 2.0 * h;
            const double down = rb_token_objective(r, l, ref.ids + t * k, dweights ? dw : NULL, f, pe);
            out->expected[t * E + e] = (up - down) / (2.0 * h);
        }
    }
    free(ref.p);
    free(ref.lse);
    free(ref.w);
    free(ref.sel_p);
    free(ref.ids);
    free(ref.counts);
    free(ref.taken);
    free(f);
    free(pe);
    free(l);
    free(dw);
}

static ax_status rb_run(ax_context *ctx, const op_case *c, op_dtype_pair dt, op_problem *p) {
    (void)dt;
    const rb_case *r = c->params;
    const ax_moe_route_config cfg = rb_config(r);
    return ax_moe_route_backward(ctx, &cfg, op_in(p, "logits"), op_in(p, "dweights"), r->aux_coef, r->z_coef,
                                 op_out(p, "dlogits"));
}

static op_tol rb_tolerance(const op_case *c, op_dtype_pair dt, op_backend be, const op_tensor *out) {
    (void)be;
    (void)out;
    const rb_case *r = c->params;
    op_tol t;
    memset(&t, 0, sizeof t);
    t.norm_rtol = (double)(r->E + 64) * 8.0 * 0x1p-24;
    t.norm_floor = 1e-6;
    t.rtol = dt.out == AX_F32 ? 0.0 : opd_unit_roundoff(dt.out);
    t.atol = 1e-9; /* the finite difference's own error */
    return t;
}

const op_table op_table_moe_route_backward = {
    .name = "moe_route_backward",
    .make_case = rb_make_case,
    .setup = rb_setup,
    .reference = rb_reference,
    .run = rb_run,
    .tolerance = rb_tolerance,
};
