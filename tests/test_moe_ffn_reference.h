/*
 * test_moe_ffn_reference.h — a float64 MoE feed-forward layer written from the definitions in
 * include/axial/moe.h (router logits, softmax or sigmoid gating, top-k with ties to the lower id,
 * capacity in priority order, renormalisation over kept choices, the aux and z losses, SwiGLU/GeGLU
 * experts and the PR-MoE dense MLP), for tests/test_moe_ffn.c and tests/test_moe_ep.c. Deliberately
 * naive: loops over tokens and experts, no sorting, no shared code with the library.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_TESTS_MOE_FFN_REFERENCE_H
#define AXIAL_TESTS_MOE_FFN_REFERENCE_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "axial/moe.h"

typedef struct ref_moe {
    int64_t T, D, E, F, Fd, k;
    int gating, normalize, act;
    double capacity_factor;
    int64_t min_capacity;
    /* weights, row-major as moe.h lays them out (all E experts); dense NULL for none */
    const double *x, *router, *gate, *up, *down, *dgate, *dup, *ddown;
} ref_moe;

/* What the forward produces, for the checks: y (T, D), ids/weights (T, k), losses, and the number of
 * choices dropped by the capacity. */
typedef struct ref_out {
    double *y;
    int32_t *ids;
    double *weights;
    double aux, z;
    int64_t dropped;
    double min_gap; /* smallest p gap between choice k-1 and the best unchosen expert (FD safety) */
} ref_out;

static inline double ref_act(int act, double v) {
    if (act == AX_ACT_SILU) return v / (1.0 + exp(-v));
    if (act == AX_ACT_GELU_TANH) return 0.5 * v * (1.0 + tanh(sqrt(2.0 / 3.14159265358979323846) * (v + 0.044715 * v * v * v)));
    return 0.5 * v * (1.0 + erf(v / sqrt(2.0)));
}

/* out (D) += scale * expert e's output for token row xt (D) */
static inline void ref_expert(const ref_moe *m, int64_t e, const double *xt, double scale, double *out) {
    double *h = malloc(sizeof(double) * (size_t)m->F);
    for (int64_t f = 0; f < m->F; f++) {
        double g = 0.0, u = 0.0;
        for (int64_t d = 0; d < m->D; d++) {
            g += xt[d] * m->gate[(e * m->F + f) * m->D + d];
            u += xt[d] * m->up[(e * m->F + f) * m->D + d];
        }
        h[f] = ref_act(m->act, g) * u;
    }
    for (int64_t d = 0; d < m->D; d++) {
        double s = 0.0;
        for (int64_t f = 0; f < m->F; f++) s += h[f] * m->down[(e * m->D + d) * m->F + f];
        out[d] += scale * s;
    }
    free(h);
}

static inline void ref_dense(const ref_moe *m, const double *xt, double *out) {
    double *h = malloc(sizeof(double) * (size_t)m->Fd);
    for (int64_t f = 0; f < m->Fd; f++) {
        double g = 0.0, u = 0.0;
        for (int64_t d = 0; d < m->D; d++) {
            g += xt[d] * m->dgate[f * m->D + d];
            u += xt[d] * m->dup[f * m->D + d];
        }
        h[f] = ref_act(m->act, g) * u;
    }
    for (int64_t d = 0; d < m->D; d++) {
        double s = 0.0;
        for (int64_t f = 0; f < m->Fd; f++) s += h[f] * m->ddown[d * m->Fd + f];
        out[d] += s;
    }
    free(h);
}

/* The forward; `o` arrays are allocated here (ref_out_free). */
static inline void ref_forward(const ref_moe *m, ref_out *o) {
    const int64_t T = m->T, E = m->E, k = m->k, D = m->D;
    o->y = calloc((size_t)(T * D + 1), sizeof(double));
    o->ids = calloc((size_t)(T * k + 1), sizeof(int32_t));
    o->weights = calloc((size_t)(T * k + 1), sizeof(double));
    double *p = calloc((size_t)(T * E + 1), sizeof(double));
    int64_t *chosen_count = calloc((size_t)E, sizeof(int64_t));
    int64_t *fill = calloc((size_t)E, sizeof(int64_t));
    o->aux = o->z = 0.0;
    o->dropped = 0;
    o->min_gap = INFINITY;
    for (int64_t t = 0; t < T; t++) {
        double *lg = malloc(sizeof(double) * (size_t)E);
        double mx = -INFINITY;
        for (int64_t e = 0; e < E; e++) {
            double s = 0.0;
            for (int64_t d = 0; d < D; d++) s += m->x[t * D + d] * m->router[e * D + d];
            lg[e] = s;
            if (s > mx) mx = s;
        }
        double sum = 0.0;
        for (int64_t e = 0; e < E; e++) sum += exp(lg[e] - mx);
        const double lse = mx + log(sum);
        o->z += lse * lse;
        for (int64_t e = 0; e < E; e++)
            p[t * E + e] = m->gating == AX_MOE_SOFTMAX_TOPK ? exp(lg[e] - lse) : 1.0 / (1.0 + exp(-lg[e]));
        /* top-k by repeated selection: the largest p, ties to the lower id */
        char *taken = calloc((size_t)E, 1);
        for (int64_t j = 0; j < k; j++) {
            int64_t best = -1;
            for (int64_t e = 0; e < E; e++)
                if (!taken[e] && (best < 0 || p[t * E + e] > p[t * E + best])) best = e;
            taken[best] = 1;
            o->ids[t * k + j] = (int32_t)best;
            chosen_count[best]++;
        }
        double best_left = -INFINITY;
        for (int64_t e = 0; e < E; e++)
            if (!taken[e] && p[t * E + e] > best_left) best_left = p[t * E + e];
        const double gap = p[t * E + o->ids[t * k + k - 1]] - best_left;
        if (k < E && gap < o->min_gap) o->min_gap = gap;
        free(taken);
        free(lg);
    }
    /* capacity: choice 0 of every token in token order, then choice 1, ... */
    if (m->capacity_factor > 0.0) {
        int64_t C = (int64_t)ceil((double)T * m->capacity_factor / (double)E);
        if (C < m->min_capacity) C = m->min_capacity;
        for (int64_t j = 0; j < k; j++)
            for (int64_t t = 0; t < T; t++) {
                const int32_t e = o->ids[t * k + j];
                if (fill[e] < C) fill[e]++;
                else {
                    o->ids[t * k + j] = -1;
                    o->dropped++;
                }
            }
    }
    for (int64_t t = 0; t < T; t++) {
        double kept = 0.0;
        for (int64_t j = 0; j < k; j++) {
            const int32_t e = o->ids[t * k + j];
            o->weights[t * k + j] = e >= 0 ? p[t * E + e] : 0.0;
            kept += o->weights[t * k + j];
        }
        if (m->normalize && kept > 0.0)
            for (int64_t j = 0; j < k; j++) o->weights[t * k + j] /= kept;
        for (int64_t j = 0; j < k; j++)
            if (o->ids[t * k + j] >= 0) ref_expert(m, o->ids[t * k + j], m->x + t * D, o->weights[t * k + j], o->y + t * D);
        if (m->dgate != NULL) ref_dense(m, m->x + t * D, o->y + t * D);
    }
    if (T > 0) {
        for (int64_t e = 0; e < E; e++) {
            double P = 0.0;
            for (int64_t t = 0; t < T; t++) P += p[t * E + e];
            o->aux += (double)chosen_count[e] / (double)(T * k) * (P / (double)T);
        }
        o->aux *= (double)E;
        o->z /= (double)T;
    }
    free(p);
    free(chosen_count);
    free(fill);
}

static inline void ref_out_free(ref_out *o) {
    free(o->y);
    free(o->ids);
    free(o->weights);
}

/* The backward's objective: sum(dy * y) + aux_coef * aux + z_coef * z. */
static inline double ref_objective(const ref_moe *m, const double *dy, double aux_coef, double z_coef) {
    ref_out o;
    ref_forward(m, &o);
    double J = aux_coef * o.aux + z_coef * o.z;
    for (int64_t i = 0; i < m->T * m->D; i++) J += dy[i] * o.y[i];
    ref_out_free(&o);
    return J;
}

/* Central finite differences of the objective with respect to every element of `param` (n values,
 * perturbed in place and restored): grad[i] = (J(p + h) - J(p - h)) / 2h. */
static inline void ref_fd_grad(const ref_moe *m, double *param, int64_t n, const double *dy, double aux_coef, double z_coef,
                        double h, double *grad) {
    for (int64_t i = 0; i < n; i++) {
        const double keep = param[i];
        param[i] = keep + h;
        const double jp = ref_objective(m, dy, aux_coef, z_coef);
        param[i] = keep - h;
        const double jm = ref_objective(m, dy, aux_coef, z_coef);
        param[i] = keep;
        grad[i] = (jp - jm) / (2.0 * h);
    }
}

#endif /* AXIAL_TESTS_MOE_FFN_REFERENCE_H */
