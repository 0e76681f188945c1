/*
 * cases_moe_combine.c — ax_moe_combine (moe.h): k = 1, 2 and 4, weights given or NULL (the
 * dispatch's backward), skipped choices, a token with nothing kept (zeros), T = 0, rows of y_sorted
 * no token references, strided tensors, y in f32 or y_sorted's dtype; on CUDA only, rows outside
 * [-1, R) (skipped there, an error on the CPU).
 *
 * Reference: float64 y[t] = sum over kept j of w[t, j] * y_sorted[rows[t, j]] from the stored
 * values. Bound (u = 2^-24): k fp32 products and sums are within (k + 1) u of sum |w y| (err_scale),
 * plus one rounding into y's dtype (rtol).
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

typedef struct cb_case {
    int64_t T, k, D, R;
    int skip_pct, weights, padded;
    int bad_rows; /* CUDA only */
    int quick;
} cb_case;

static const cb_case cases[] = {
    {5, 1, 4, 5, 0, 1, 0, 0, 1},
    {7, 2, 6, 20, 20, 1, 1, 0, 1},
    {7, 2, 6, 20, 20, 0, 0, 0, 1},
    {9, 4, 33, 40, 30, 1, 0, 0, 1},
    {0, 2, 6, 4, 0, 1, 0, 0, 1},
    {300, 2, 130, 640, 10, 1, 1, 0, 0}, /* threads */
    {12, 2, 6, 30, 10, 1, 0, 1, 1},     /* bad rows: CUDA only */
};

static const op_dtype_pair dtypes[] = {{AX_F32, AX_F32}, {AX_BF16, AX_BF16}, {AX_BF16, AX_F32}, {AX_F16, AX_F16}};

static int cb_make_case(int index, op_mode mode, op_case *c) {
    const int n = (int)(sizeof cases / sizeof cases[0]);
    int seen = -1;
    for (int i = 0; i < n; i++) {
        const cb_case *r = &cases[i];
        if (mode == OP_QUICK && !r->quick) continue;
        if (++seen != index) continue;
        c->params = r;
        snprintf(c->name, sizeof c->name, "T %lld k %lld D %lld R %lld skip %d%%%s%s%s", (long long)r->T,
                 (long long)r->k, (long long)r->D, (long long)r->R, r->skip_pct, r->weights ? " weights" : "",
                 r->padded ? " padded" : "", r->bad_rows ? " bad rows" : "");
        c->n_dtypes = (int)(sizeof dtypes / sizeof dtypes[0]);
        memcpy(c->dtypes, dtypes, sizeof dtypes);
        return 1;
    }
    return 0;
}

static int cb_setup(const op_case *c, op_dtype_pair dt, op_problem *p) {
    const cb_case *r = c->params;
    const op_layout lay = r->padded ? OP_PADDED : OP_CONTIGUOUS;
    const int64_t ys[2] = {r->R, r->D}, ks[2] = {r->T, r->k}, os[2] = {r->T, r->D};
    op_tensor *ysorted = op_tensor_new(p, "y_sorted", OP_INPUT, dt.in, 2, ys, lay);
    op_tensor *rows = op_tensor_new(p, "rows", OP_INPUT, AX_I64, 2, ks, lay);
    if (ysorted == NULL || rows == NULL) return -1;
    op_fill_uniform(p, ysorted, -2.0, 2.0);
    if (moe_fill_rows(p, rows, r->T, r->k, r->R, r->skip_pct, r->bad_rows) != 0) return -1;
    if (r->weights) {
        op_tensor *w = op_tensor_new(p, "weights", OP_INPUT, AX_F32, 2, ks, lay);
        if (w == NULL) return -1;
        op_fill_uniform(p, w, 0.0, 1.0);
    }
    return op_tensor_new(p, "y", OP_OUTPUT, dt.out, 2, os, lay) == NULL ? -1 : 0;
}

static void cb_reference(const op_case *c, op_dtype_pair dt, op_problem *p) {
    (void)dt;
    const cb_case *r = c->params;
    const op_tensor *ys = op_find(p, "y_sorted"), *rows = op_find(p, "rows"), *w = op_find(p, "weights");
    op_tensor *y = op_find(p, "y");
    op_want_err_scale(y);
    for (int64_t t = 0; t < r->T; t++)
        for (int64_t d = 0; d < r->D; d++) {
            double s = 0.0, a = 0.0;
            for (int64_t j = 0; j < r->k; j++) {
                const int64_t row = (int64_t)rows->value[t * r->k + j];
                if (row < 0 || row >= r->R) continue;
                const double term = (w != NULL ? w->value[t * r->k + j] : 1.0) * ys->value[row * r->D + d];
                s += term;
                a += fabs(term);
            }
            y->expected[t * r->D + d] = s;
            y->err_scale[t * r->D + d] = a * (double)(r->k + 1);
        }
}

static ax_status cb_run(ax_context *ctx, const op_case *c, op_dtype_pair dt, op_problem *p) {
    (void)c;
    (void)dt;
    return ax_moe_combine(ctx, op_in(p, "y_sorted"), op_in(p, "rows"), op_in(p, "weights"), op_out(p, "y"));
}

static op_tol cb_tolerance(const op_case *c, op_dtype_pair dt, op_backend be, const op_tensor *out) {
    (void)c;
    (void)be;
    (void)out;
    op_tol t;
    memset(&t, 0, sizeof t);
    t.scale_tol = 0x1p-24;
    t.rtol = dt.out == AX_F32 ? 0.0 : opd_unit_roundoff(dt.out);
    t.atol = dt.out == AX_F16 ? 0x1p-25 : 0.0; /* half of f16's smallest subnormal */
    return t;
}

static const char *cb_unsupported(const op_case *c, op_dtype_pair dt, op_backend be) {
    (void)dt;
    const cb_case *r = c->params;
    if (r->bad_rows && be != OP_BACKEND_CUDA)
        return "rows outside [-1, R) are an error on the CPU (test_moe_route_errors)";
    return NULL;
}

const op_table op_table_moe_combine = {
    .name = "moe_combine",
    .make_case = cb_make_case,
    .setup = cb_setup,
    .reference = cb_reference,
    .run = cb_run,
    .tolerance = cb_tolerance,
    .unsupported = cb_unsupported,
};
