/*
 * evoformer_cases.h — building Evoformer attention test problems (inputs in any dtype, layout and
 * bias configuration) shared by the forward and backward tests.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_TESTS_EVOFORMER_CASES_H
#define AXIAL_TESTS_EVOFORMER_CASES_H

#include "evoformer_reference.h"
#include "harness.h"

typedef enum bias_mode { BIAS_NONE = 0, BIAS_FULL = 1, BIAS_BROADCAST = 2 } bias_mode;
typedef enum mask_values {
    MASK_RANDOM = 0,     /* uniform in [-1, 1) */
    MASK_LARGE_NEG = 1,  /* some keys -1e9 (as AlphaFold writes 1e9 * (mask - 1)) */
    MASK_NEG_INF = 2,    /* some keys -inf, one (b, n) with every key -inf, one query row all -inf */
} mask_values;

typedef struct evo_case {
    int64_t B, N, S, H, D;
    ax_dtype dtype;
    ax_dtype bias_dtype;
    bias_mode mask, pair;
    mask_values values;
    test_layout layout;
} evo_case;

typedef struct evo_problem {
    evo_case c;
    test_tensor q, k, v, bias_mask, bias_pair;
    ref_tensor rq, rk, rv, rmask, rpair;
    int has_mask, has_pair;
} evo_problem;

static inline void case_name(const evo_case *c, char *buf, size_t size) {
    static const char *modes[3] = {"none", "full", "bcast"};
    static const char *vals[3] = {"random", "-1e9", "-inf"};
    snprintf(buf, size, "B=%lld N=%lld S=%lld H=%lld D=%lld %s bias=%s mask=%s pair=%s values=%s %s", (long long)c->B,
             (long long)c->N, (long long)c->S, (long long)c->H, (long long)c->D, ax_dtype_name(c->dtype),
             ax_dtype_name(c->bias_dtype), modes[c->mask], modes[c->pair], vals[c->values],
             c->layout == LAYOUT_STRIDED ? "strided" : "contiguous");
}

/* Builds inputs with fresh random values (never zeros) and their double-precision copies. */
static inline int problem_build(evo_problem *p, const evo_case *c) {
    memset(p, 0, sizeof *p);
    p->c = *c;
    const int64_t act[5] = {c->B, c->N, c->S, c->H, c->D};
    if (tt_alloc(&p->q, c->dtype, 5, act, c->layout) || tt_alloc(&p->k, c->dtype, 5, act, c->layout) ||
        tt_alloc(&p->v, c->dtype, 5, act, c->layout))
        return -1;
    tt_fill_uniform(&p->q, -1.5, 1.5);
    tt_fill_uniform(&p->k, -1.5, 1.5);
    tt_fill_uniform(&p->v, -1.0, 1.0);
    if (c->mask != BIAS_NONE) {
        /* broadcast: shared by every row n (and batch b when B > 1) */
        const int64_t shape[5] = {c->mask == BIAS_BROADCAST ? 1 : c->B, c->mask == BIAS_BROADCAST ? 1 : c->N, 1, 1,
                                  c->S};
        if (tt_alloc(&p->bias_mask, c->bias_dtype, 5, shape, c->layout)) return -1;
        tt_fill_uniform(&p->bias_mask, -1.0, 1.0);
        if (c->values != MASK_RANDOM) {
            const double masked = c->values == MASK_LARGE_NEG ? -1e9 : -INFINITY;
            for (int64_t b = 0; b < shape[0]; b++)
                for (int64_t n = 0; n < shape[1]; n++)
                    for (int64_t j = 0; j < c->S; j++) {
                        const int64_t idx[5] = {b, n, 0, 0, j};
                        /* mask every third key, but never key 0, so rows keep a finite logit */
                        if (j % 3 == 2) tt_set(&p->bias_mask, idx, masked);
                        /* in the -inf case the last (b, n) row of the mask is masked entirely */
                        if (c->values == MASK_NEG_INF && b == shape[0] - 1 && n == shape[1] - 1 && shape[1] > 1)
                            tt_set(&p->bias_mask, idx, -INFINITY);
                    }
        }
        p->has_mask = 1;
        if (ref_from_tt(&p->rmask, &p->bias_mask)) return -1;
    }
    if (c->pair != BIAS_NONE) {
        const int64_t shape[5] = {c->B, 1, c->pair == BIAS_BROADCAST ? 1 : c->H, c->S, c->S};
        if (tt_alloc(&p->bias_pair, c->bias_dtype, 5, shape, c->layout)) return -1;
        tt_fill_uniform(&p->bias_pair, -2.0, 2.0);
        if (c->values == MASK_NEG_INF && c->S > 1) {
            /* query row 1 of every head sees only -inf: a fully masked row */
            for (int64_t b = 0; b < shape[0]; b++)
                for (int64_t h = 0; h < shape[2]; h++)
                    for (int64_t j = 0; j < c->S; j++) {
                        const int64_t idx[5] = {b, 0, h, 1, j};
                        tt_set(&p->bias_pair, idx, -INFINITY);
                    }
        }
        p->has_pair = 1;
        if (ref_from_tt(&p->rpair, &p->bias_pair)) return -1;
    }
    if (ref_from_tt(&p->rq, &p->q) || ref_from_tt(&p->rk, &p->k) || ref_from_tt(&p->rv, &p->v)) return -1;
    return 0;
}

static inline void problem_free(evo_problem *p) {
    tt_free(&p->q);
    tt_free(&p->k);
    tt_free(&p->v);
    tt_free(&p->bias_mask);
    tt_free(&p->bias_pair);
    ref_free(&p->rq);
    ref_free(&p->rk);
    ref_free(&p->rv);
    ref_free(&p->rmask);
    ref_free(&p->rpair);
}

static inline const ax_tensor *opt_tensor(const test_tensor *t, int present) { return present ? &t->t : NULL; }
static inline const ref_tensor *opt_ref(const ref_tensor *r, int present) { return present ? r : NULL; }

#endif /* AXIAL_TESTS_EVOFORMER_CASES_H */
