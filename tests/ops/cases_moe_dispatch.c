/*
 * cases_moe_dispatch.c — ax_moe_dispatch (moe.h): k = 1, 2 and 4, align 1, 8 and 3, skipped
 * choices (-1), experts with no rows, T = 0, spare rows past the most any routing needs (which must
 * stay unwritten), strided ids / rows / x_sorted, counts given or NULL; and on CUDA only, ids outside
 * [-1, E) (skipped there, an error on the CPU).
 *
 * Reference, from the definitions in moe.h: count_e over the kept choices, offsets[e + 1] =
 * offsets[e] + round_up(count_e, align), rows in increasing (t, j) order within each segment,
 * x_sorted rows the stored x rows bit for bit, padding rows +0, rows past offsets[E] untouched (the
 * poison). Everything must match exactly.
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

typedef struct dp_case {
    int64_t T, k, E, D, align;
    int skip_pct;     /* percent of choices -1 */
    int empty_expert; /* 1: expert 1 gets no rows */
    int64_t spare;    /* rows beyond T * k + E * (align - 1) */
    int padded, counts;
    int bad_ids;      /* CUDA only: some ids outside [-1, E) */
    int quick;
} dp_case;

static const dp_case cases[] = {
    {5, 1, 3, 4, 1, 0, 0, 0, 0, 1, 0, 1},
    {7, 2, 4, 6, 1, 20, 1, 3, 0, 1, 0, 1},
    {7, 2, 4, 6, 8, 20, 1, 2, 1, 1, 0, 1},
    {9, 4, 8, 5, 3, 30, 0, 0, 0, 0, 0, 1},
    {0, 2, 4, 6, 8, 0, 0, 1, 0, 1, 0, 1},   /* T = 0: offsets all 0, nothing else written */
    {33, 2, 8, 64, 8, 10, 1, 5, 1, 1, 0, 0},
    {300, 2, 16, 130, 8, 10, 0, 0, 0, 1, 0, 0}, /* threads */
    {12, 2, 4, 6, 1, 10, 0, 2, 0, 1, 1, 1},   /* bad ids: CUDA only */
};

static const op_dtype_pair dtypes[] = {{AX_F32, AX_F32}, {AX_BF16, AX_BF16}, {AX_F16, AX_F16}};

static int dp_make_case(int index, op_mode mode, op_case *c) {
    const int n = (int)(sizeof cases / sizeof cases[0]);
    int seen = -1;
    for (int i = 0; i < n; i++) {
        const dp_case *r = &cases[i];
        if (mode == OP_QUICK && !r->quick) continue;
        if (++seen != index) continue;
        c->params = r;
        snprintf(c->name, sizeof c->name, "T %lld k %lld E %lld D %lld align %lld skip %d%% spare %lld%s%s%s%s",
                 (long long)r->T, (long long)r->k, (long long)r->E, (long long)r->D, (long long)r->align, r->skip_pct,
                 (long long)r->spare, r->empty_expert ? " empty expert" : "", r->padded ? " padded" : "",
                 r->counts ? " counts" : "", r->bad_ids ? " bad ids" : "");
        c->n_dtypes = (int)(sizeof dtypes / sizeof dtypes[0]);
        memcpy(c->dtypes, dtypes, sizeof dtypes);
        return 1;
    }
    return 0;
}

static int64_t dp_R(const dp_case *r) { return r->T * r->k + r->E * (r->align - 1) + r->spare; }

static int dp_setup(const op_case *c, op_dtype_pair dt, op_problem *p) {
    const dp_case *r = c->params;
    const op_layout lay = r->padded ? OP_PADDED : OP_CONTIGUOUS;
    const int64_t xs[2] = {r->T, r->D}, ks[2] = {r->T, r->k}, ss[2] = {dp_R(r), r->D}, es = r->E + 1, cs = r->E;
    op_tensor *x = op_tensor_new(p, "x", OP_INPUT, dt.in, 2, xs, lay);
    op_tensor *ids = op_tensor_new(p, "expert_ids", OP_INPUT, AX_I32, 2, ks, lay);
    if (x == NULL || ids == NULL) return -1;
    op_fill_uniform(p, x, -2.0, 2.0);
    for (int64_t i = 0; i < r->T * r->k; i++) {
        int64_t e = op_rng_below(&p->rng, r->E);
        if (r->empty_expert && e == 1) e = 0;
        if (op_rng_below(&p->rng, 100) < r->skip_pct) e = -1;
        if (r->bad_ids && i % 5 == 2) e = i % 2 ? r->E + (i % 7) : -2 - (i % 3);
        op_set(ids, i, (double)e);
    }
    op_tensor *xo = op_tensor_new(p, "x_sorted", OP_OUTPUT, dt.out, 2, ss, lay);
    op_tensor *off = op_tensor_new(p, "offsets", OP_OUTPUT, AX_I64, 1, &es, OP_CONTIGUOUS);
    op_tensor *rows = op_tensor_new(p, "rows", OP_OUTPUT, AX_I64, 2, ks, lay);
    if (xo == NULL || off == NULL || rows == NULL) return -1;
    moe_poison_int_output(off);
    moe_poison_int_output(rows);
    if (r->counts) {
        op_tensor *cnt = op_tensor_new(p, "counts", OP_OUTPUT, AX_I64, 1, &cs, OP_CONTIGUOUS);
        if (cnt == NULL) return -1;
        moe_poison_int_output(cnt);
    }
    return 0;
}

static void dp_reference(const op_case *c, op_dtype_pair dt, op_problem *p) {
    (void)dt;
    const dp_case *r = c->params;
    const int64_t T = r->T, k = r->k, E = r->E, D = r->D, R = dp_R(r);
    const op_tensor *x = op_find(p, "x"), *ids = op_find(p, "expert_ids");
    op_tensor *xo = op_find(p, "x_sorted"), *off = op_find(p, "offsets"), *rows = op_find(p, "rows");
    op_tensor *cnt = op_find(p, "counts");
    int64_t *count = calloc((size_t)E, sizeof(int64_t)), *next = calloc((size_t)E, sizeof(int64_t));
    if (count == NULL || next == NULL) exit(1);
    for (int64_t i = 0; i < T * k; i++) {
        const int64_t e = (int64_t)ids->value[i];
        if (e >= 0 && e < E) count[e]++;
    }
    off->expected[0] = 0.0;
    for (int64_t e = 0; e < E; e++) {
        next[e] = (int64_t)off->expected[e];
        off->expected[e + 1] = off->expected[e] + (double)((count[e] + r->align - 1) / r->align * r->align);
        if (cnt != NULL) cnt->expected[e] = (double)count[e];
    }
    /* Rows past offsets[E]: unwritten (the poison); padding: zeros; the rest set below. */
    for (int64_t i = 0; i < R * D; i++) xo->expected[i] = i / D < (int64_t)off->expected[E] ? 0.0 : xo->value[i];
    for (int64_t t = 0; t < T; t++)
        for (int64_t j = 0; j < k; j++) {
            const int64_t e = (int64_t)ids->value[t * k + j];
            if (e < 0 || e >= E) {
                rows->expected[t * k + j] = -1.0;
                continue;
            }
            const int64_t row = next[e]++;
            rows->expected[t * k + j] = (double)row;
            for (int64_t d = 0; d < D; d++) xo->expected[row * D + d] = x->value[t * D + d];
        }
    free(count);
    free(next);
}

static ax_status dp_run(ax_context *ctx, const op_case *c, op_dtype_pair dt, op_problem *p) {
    (void)dt;
    const dp_case *r = c->params;
    return ax_moe_dispatch(ctx, op_in(p, "x"), op_in(p, "expert_ids"), r->E, r->align, op_out(p, "x_sorted"),
                           op_out(p, "offsets"), op_out(p, "counts"), op_out(p, "rows"));
}

static op_tol dp_tolerance(const op_case *c, op_dtype_pair dt, op_backend be, const op_tensor *out) {
    (void)c;
    (void)dt;
    (void)be;
    (void)out;
    op_tol t;
    memset(&t, 0, sizeof t);
    t.exact = 1; /* copies, zeros and integers */
    return t;
}

static const char *dp_unsupported(const op_case *c, op_dtype_pair dt, op_backend be) {
    (void)dt;
    const dp_case *r = c->params;
    if (r->bad_ids && be != OP_BACKEND_CUDA)
        return "ids outside [-1, E) are an error on the CPU (test_moe_route_errors)";
    return NULL;
}

const op_table op_table_moe_dispatch = {
    .name = "moe_dispatch",
    .make_case = dp_make_case,
    .setup = dp_setup,
    .reference = dp_reference,
    .run = dp_run,
    .tolerance = dp_tolerance,
    .unsupported = dp_unsupported,
};
