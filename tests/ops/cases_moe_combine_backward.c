/*
 * cases_moe_combine_backward.c — ax_moe_combine_backward (moe.h): k = 1, 2 and 4, weights given or
 * NULL, dweights given (with y_sorted) or NULL (y_sorted NULL), skipped choices, unreferenced rows of
 * dy_sorted (which must become zeros), T = 0 with R > 0 (all zeros), strided tensors, dy_sorted in
 * f32 or dy's dtype; on CUDA only, rows outside [-1, R) (skipped there, an error on the CPU).
 *
 * Reference: float64 from the stored values: dy_sorted[rows[t, j]] = w[t, j] dy[t], every other row
 * 0; dweights[t, j] = sum_d dy[t, d] y_sorted[rows[t, j], d], 0 when skipped. Bounds (u = 2^-24):
 * the product is one fp32 rounding plus one into dy_sorted's dtype (rtol); the dot product of D
 * terms is within (D + 1) u of sum |dy y| (err_scale).
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

typedef struct cbb_case {
    int64_t T, k, D, R;
    int skip_pct, weights, dweights, padded;
    int bad_rows; /* CUDA only */
    int quick;
} cbb_case;

static const cbb_case cases[] = {
    {5, 1, 4, 5, 0, 1, 1, 0, 0, 1},
    {7, 2, 6, 20, 20, 1, 1, 1, 0, 1},
    {7, 2, 6, 20, 20, 0, 0, 0, 0, 1},
    {7, 2, 6, 20, 20, 0, 1, 0, 0, 1},
    {9, 4, 33, 40, 30, 1, 0, 0, 0, 1},
    {0, 2, 6, 4, 0, 1, 1, 0, 0, 1},        /* T = 0: dy_sorted all zeros */
    {300, 2, 130, 640, 10, 1, 1, 1, 0, 0}, /* threads */
    {12, 2, 6, 30, 10, 1, 1, 0, 1, 1},     /* bad rows: CUDA only */
};

static const op_dtype_pair dtypes[] = {{AX_F32, AX_F32}, {AX_BF16, AX_BF16}, {AX_BF16, AX_F32}, {AX_F16, AX_F16}};

static int cbb_make_case(int index, op_mode mode, op_case *c) {
    const int n = (int)(sizeof cases / sizeof cases[0]);
    int seen = -1;
    for (int i = 0; i < n; i++) {
        const cbb_case *r = &cases[i];
        if (mode == OP_QUICK && !r->quick) continue;
        if (++seen != index) continue;
        c->params = r;
        snprintf(c->name, sizeof c->name, "T %lld k %lld D %lld R %lld skip %d%%%s%s%s%s", (long long)r->T,
                 (long long)r->k, (long long)r->D, (long long)r->R, r->skip_pct, r->weights ? " weights" : "",
                 r->dweights ? " dweights" : "", r->padded ? " padded" : "", r->bad_rows ? " bad rows" : "");
        c->n_dtypes = (int)(sizeof dtypes / sizeof dtypes[0]);
        memcpy(c->dtypes, dtypes, sizeof dtypes);
        return 1;
    }
    return 0;
}

static int cbb_setup(const op_case *c, op_dtype_pair dt, op_problem *p) {
    const cbb_case *r = c->params;
    const op_layout lay = r->padded ? OP_PADDED : OP_CONTIGUOUS;
    const int64_t ys[2] = {r->R, r->D}, ks[2] = {r->T, r->k}, ds[2] = {r->T, r->D};
    op_tensor *dy = op_tensor_new(p, "dy", OP_INPUT, dt.in, 2, ds, lay);
    op_tensor *rows = op_tensor_new(p, "rows", OP_INPUT, AX_I64, 2, ks, lay);
    if (dy == NULL || rows == NULL) return -1;
    op_fill_uniform(p, dy, -2.0, 2.0);
    if (moe_fill_rows(p, rows, r->T, r->k, r->R, r->skip_pct, r->bad_rows) != 0) return -1;
    if (r->weights) {
        op_tensor *w = op_tensor_new(p, "weights", OP_INPUT, AX_F32, 2, ks, lay);
        if (w == NULL) return -1;
        op_fill_uniform(p, w, 0.0, 1.0);
    }
    if (r->dweights) {
        /* y_sorted in bf16 for a 16-bit run: its dtype is free of dy's. */
        op_tensor *ysorted = op_tensor_new(p, "y_sorted", OP_INPUT, dt.in == AX_F32 ? AX_F32 : AX_BF16, 2, ys, lay);
        if (ysorted == NULL || op_tensor_new(p, "dweights", OP_OUTPUT, AX_F32, 2, ks, lay) == NULL) return -1;
        op_fill_uniform(p, ysorted, -2.0, 2.0);
    }
    return op_tensor_new(p, "dy_sorted", OP_OUTPUT, dt.out, 2, ys, lay) == NULL ? -1 : 0;
}

static void cbb_reference(const op_case *c, op_dtype_pair dt, op_problem *p) {
    (void)dt;
    const cbb_case *r = c->params;
    const op_tensor *dy = op_find(p, "dy"), *rows = op_find(p, "rows"), *w = op_find(p, "weights");
    const op_tensor *ys = op_find(p, "y_sorted");
    op_tensor *dys = op_find(p, "dy_sorted"), *dw = op_find(p, "dweights");
    if (dw != NULL) op_want_err_scale(dw);
    for (int64_t i = 0; i < r->R * r->D; i++) dys->expected[i] = 0.0;
    for (int64_t t = 0; t < r->T; t++)
        for (int64_t j = 0; j < r->k; j++) {
            const int64_t row = (int64_t)rows->value[t * r->k + j];
            const int kept = row >= 0 && row < r->R;
            double s = 0.0, a = 0.0;
            for (int64_t d = 0; d < r->D && kept; d++) {
                const double g = dy->value[t * r->D + d];
                dys->expected[row * r->D + d] = (w != NULL ? w->value[t * r->k + j] : 1.0) * g;
                if (ys != NULL) {
                    s += g * ys->value[row * r->D + d];
                    a += fabs(g * ys->value[row * r->D + d]);
                }
            }
            if (dw != NULL) {
                dw->expected[t * r->k + j] = s;
                dw->err_scale[t * r->k + j] = a * (double)(r->D + 1);
            }
        }
}

static ax_status cbb_run(ax_context *ctx, const op_case *c, op_dtype_pair dt, op_problem *p) {
    (void)c;
    (void)dt;
    return ax_moe_combine_backward(ctx, op_in(p, "dy"), op_in(p, "y_sorted"), op_in(p, "rows"), op_in(p, "weights"),
                                   op_out(p, "dy_sorted"), op_out(p, "dweights"));
}

static op_tol cbb_tolerance(const op_case *c, op_dtype_pair dt, op_backend be, const op_tensor *out) {
    (void)c;
    (void)be;
    op_tol t;
    memset(&t, 0, sizeof t);
    if (strcmp(out->name, "dweights") == 0) {
        t.scale_tol = 0x1p-24;
    } else {
        t.rtol = 0x1p-24 + (dt.out == AX_F32 ? 0.0 : opd_unit_roundoff(dt.out));
        t.atol = dt.out == AX_F16 ? 0x1p-25 : 0.0; /* half of f16's smallest subnormal */
    }
    return t;
}

static const char *cbb_unsupported(const op_case *c, op_dtype_pair dt, op_backend be) {
    (void)dt;
    const cbb_case *r = c->params;
    if (r->bad_rows && be != OP_BACKEND_CUDA)
        return "rows outside [-1, R) are an error on the CPU (test_moe_route_errors)";
    return NULL;
}

const op_table op_table_moe_combine_backward = {
    .name = "moe_combine_backward",
    .make_case = cbb_make_case,
    .setup = cbb_setup,
    .reference = cbb_reference,
    .run = cbb_run,
    .tolerance = cbb_tolerance,
    .unsupported = cbb_unsupported,
};
