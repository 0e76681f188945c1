/*
 * moe_cases.h — small helpers the MoE case tables (cases_moe_*.c) share: an integer output poison
 * that is not a valid answer, the float64 routing reference written from moe.h's definitions, and
 * logits with clear gaps.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_TESTS_OPS_MOE_CASES_H
#define AXIAL_TESTS_OPS_MOE_CASES_H

#include <math.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "axial/moe.h"
#include "op_driver.h"

/* The driver poisons outputs with all-ones bytes, which an i32 or i64 reads as -1: a valid "skipped"
 * answer. Integer outputs get 0x5A bytes instead, so an element left unwritten cannot pass. */
static inline void moe_poison_int_output(op_tensor *t) {
    memset(t->host, 0x5a, t->buffer_bytes);
    op_refresh_values(t);
}

/* Logits of token rows with clear gaps: row t is a random permutation of E levels spaced `step`
 * apart (plus a per-row shift of a multiple of step / 2), all exactly representable in bf16 and f16
 * for |logit| < 8 with step a multiple of 1/8. ties: levels drawn from {-1, 0, 1} instead (many
 * exact ties). */
static inline void moe_fill_logits(op_problem *p, op_tensor *logits, int64_t T, int64_t E, double step, int ties) {
    for (int64_t t = 0; t < T; t++) {
        if (ties) {
            for (int64_t e = 0; e < E; e++) op_set(logits, t * E + e, (double)(op_rng_below(&p->rng, 3) - 1));
            continue;
        }
        const double shift = (double)(op_rng_below(&p->rng, 5) - 2) * step / 2.0 - step * (double)(E - 1) / 2.0;
        int64_t perm[512];
        for (int64_t e = 0; e < E; e++) perm[e] = e;
        for (int64_t e = E - 1; e > 0; e--) {
            const int64_t i = op_rng_below(&p->rng, e + 1), tmp = perm[e];
            perm[e] = perm[i];
            perm[i] = tmp;
        }
        for (int64_t e = 0; e < E; e++) op_set(logits, t * E + e, shift + step * (double)perm[e]);
    }
}

/* The float64 routing of moe.h: p, the logsumexp, the selection (k largest p, ties to the lower
 * id), the capacity in priority order (choice 0 of every token in token order, then choice 1, ...),
 * the weights and the choice counts before dropping. ids (T, k) -1 where dropped; w (T, k);
 * sel_p (T, k) the chosen p (kept or not); counts (E). Scratch-free except `taken` (E). */
typedef struct moe_ref_route {
    double *p, *lse, *w, *sel_p;
    int64_t *ids, *counts, *taken;
    int64_t capacity; /* -1: none */
} moe_ref_route;

static inline void moe_ref_route_run(const double *logits, int64_t T, int64_t E, const ax_moe_route_config *cfg,
                                     moe_ref_route *r) {
    const int64_t k = cfg->top_k;
    for (int64_t t = 0; t < T; t++) {
        const double *l = logits + t * E;
        double m = -INFINITY, s = 0.0;
        for (int64_t e = 0; e < E; e++) m = fmax(m, l[e]);
        for (int64_t e = 0; e < E; e++) s += exp(l[e] - m);
        r->lse[t] = m + log(s);
        for (int64_t e = 0; e < E; e++)
            r->p[t * E + e] = cfg->gating == AX_MOE_SOFTMAX_TOPK ? exp(l[e] - m) / s : 1.0 / (1.0 + exp(-l[e]));
        for (int64_t e = 0; e < E; e++) r->taken[e] = 0;
        for (int64_t j = 0; j < k; j++) {
            int64_t best = -1;
            for (int64_t e = 0; e < E; e++)
                if (!r->taken[e] && (best < 0 || r->p[t * E + e] > r->p[t * E + best])) best = e;
            r->taken[best] = 1;
            r->ids[t * k + j] = best;
            r->sel_p[t * k + j] = r->p[t * E + best];
        }
    }
    r->capacity = -1;
    if (cfg->capacity_factor > 0.0f) {
        r->capacity = (int64_t)ceil((double)T * (double)cfg->capacity_factor / (double)E);
        if (r->capacity < cfg->min_capacity) r->capacity = cfg->min_capacity;
    }
    for (int64_t e = 0; e < E; e++) r->counts[e] = r->taken[e] = 0;
    for (int64_t j = 0; j < k; j++)
        for (int64_t t = 0; t < T; t++) {
            const int64_t e = r->ids[t * k + j];
            r->counts[e]++;
            if (r->capacity >= 0 && r->taken[e] >= r->capacity) r->ids[t * k + j] = -1;
            else r->taken[e]++;
        }
    for (int64_t t = 0; t < T; t++) {
        double s = 0.0;
        for (int64_t j = 0; j < k; j++)
            if (r->ids[t * k + j] >= 0) s += r->sel_p[t * k + j];
        for (int64_t j = 0; j < k; j++) {
            const double pj = r->ids[t * k + j] >= 0 ? r->sel_p[t * k + j] : 0.0;
            r->w[t * k + j] = !cfg->normalize ? pj : s > 0.0 ? pj / s : 0.0;
        }
    }
}

/* rows: distinct rows of [0, R) (a shuffled prefix), skip_pct of them -1, token 0 with nothing kept;
 * bad: some rows outside [-1, R). */
static inline int moe_fill_rows(op_problem *p, op_tensor *rows, int64_t T, int64_t k, int64_t R, int skip_pct,
                                int bad) {
    int64_t *perm = malloc((size_t)(R > 0 ? R : 1) * sizeof(int64_t));
    if (perm == NULL) return -1;
    for (int64_t i = 0; i < R; i++) perm[i] = i;
    for (int64_t i = R - 1; i > 0; i--) {
        const int64_t s = op_rng_below(&p->rng, i + 1), tmp = perm[i];
        perm[i] = perm[s];
        perm[s] = tmp;
    }
    for (int64_t i = 0; i < T * k; i++) {
        int64_t row = i < R ? perm[i] : -1;
        if (i < k || op_rng_below(&p->rng, 100) < skip_pct) row = -1;
        if (bad && i % 5 == 2) row = i % 2 ? R + (i % 7) : -2 - (i % 3);
        op_set(rows, i, (double)row);
    }
    free(perm);
    return 0;
}

#endif /* AXIAL_TESTS_OPS_MOE_CASES_H */
