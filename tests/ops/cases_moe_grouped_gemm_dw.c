/*
 * cases_moe_grouped_gemm_dw.c — ax_moe_grouped_gemm_dw (moe.h): dw[e] = dy[s_e]^T x[s_e] + beta dw[e]
 * over the segments s_e = [offsets[e], offsets[e + 1]). Uneven and empty segments (an empty expert
 * gets beta dw[e]; with beta = 0 dw starts as NaN poison and must come out zero, so it is not read),
 * offsets[0] > 0 and rows past offsets[E] (their dy and x must not matter: they hold large values
 * that would show), a segment over 256 rows, N not a multiple of the CPU's 64-row tiles, padded
 * rows. dy and x in f32 or bf16; dw f32.
 *
 * Reference: float64 sums over the segment's rows. Bound: fp32 sums of `rows` products and the beta
 * term in any order, (rows + 32) u32 (sum |dy x| + |beta dw|).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "axial/moe.h"
#include "op_registry.h"

#define GGD_MAX_E 9

typedef struct ggd_shape {
    int64_t E, R, N, K;
    int64_t offsets[GGD_MAX_E + 1];
    op_layout layout;
    int quick;
    const char *what;
} ggd_shape;

static const ggd_shape shapes[] = {
    {1, 1, 5, 3, {0, 1}, OP_CONTIGUOUS, 1, "one row"},
    {3, 12, 7, 9, {0, 5, 5, 12}, OP_CONTIGUOUS, 1, "empty middle expert"},
    {4, 21, 9, 33, {3, 3, 10, 10, 17}, OP_PADDED, 1, "offsets[0] = 3, rows past 17 ignored"},
    {2, 4, 3, 5, {0, 0, 0}, OP_CONTIGUOUS, 1, "no rows at all"},
    {5, 75, 70, 40, {2, 9, 9, 40, 41, 70}, OP_PADDED, 1, "padding gaps, N over one tile"},
    {2, 310, 20, 17, {0, 300, 310}, OP_CONTIGUOUS, 0, "300-row segment"},
    {8, 200, 130, 96, {0, 30, 31, 31, 90, 120, 150, 199, 200}, OP_CONTIGUOUS, 0, "eight experts"},
};
#define N_SHAPES (int)(sizeof shapes / sizeof shapes[0])

static const float betas[] = {0.0f, 0.5f};

typedef struct ggd_case {
    const ggd_shape *s;
    float beta;
} ggd_case;

static ggd_case combos[N_SHAPES * 2];

static const op_dtype_pair dtypes[] = {{AX_F32, AX_F32}, {AX_BF16, AX_F32}};

static int ggd_make_case(int index, op_mode mode, op_case *c) {
    int seen = -1;
    for (int i = 0; i < N_SHAPES; i++) {
        const ggd_shape *s = &shapes[i];
        if (mode == OP_QUICK && !s->quick) continue;
        for (int b = 0; b < 2; b++) {
            if (++seen != index) continue;
            combos[seen].s = s;
            combos[seen].beta = betas[b];
            c->params = &combos[seen];
            snprintf(c->name, sizeof c->name, "E %lld R %lld N %lld K %lld beta %g (%s)%s", (long long)s->E,
                     (long long)s->R, (long long)s->N, (long long)s->K, (double)betas[b], s->what,
                     s->layout == OP_PADDED ? " padded" : "");
            c->n_dtypes = (int)(sizeof dtypes / sizeof dtypes[0]);
            memcpy(c->dtypes, dtypes, sizeof dtypes);
            return 1;
        }
    }
    return 0;
}

static int ggd_setup(const op_case *c, op_dtype_pair dt, op_problem *p) {
    const ggd_case *g = c->params;
    const ggd_shape *s = g->s;
    const int64_t dyshape[2] = {s->R, s->N}, xshape[2] = {s->R, s->K}, oshape[1] = {s->E + 1};
    const int64_t dwshape[3] = {s->E, s->N, s->K};
    op_tensor *dy = op_tensor_new(p, "dy", OP_INPUT, dt.in, 2, dyshape, s->layout);
    op_tensor *x = op_tensor_new(p, "x", OP_INPUT, dt.in, 2, xshape, s->layout);
    op_tensor *off = op_tensor_new(p, "offsets", OP_INPUT, AX_I64, 1, oshape, OP_CONTIGUOUS);
    op_tensor *dw = op_tensor_new(p, "dw", g->beta != 0.0f ? OP_INOUT : OP_OUTPUT, dt.out, 3, dwshape, s->layout);
    if (dy == NULL || x == NULL || off == NULL || dw == NULL) return -1;
    op_fill_uniform(p, dy, -1.0, 1.0);
    op_fill_uniform(p, x, -1.0, 1.0);
    /* Rows outside the segments: large values, so reading them would show. */
    for (int64_t r = 0; r < s->R; r++) {
        if (r >= s->offsets[0] && r < s->offsets[s->E]) continue;
        for (int64_t n = 0; n < s->N; n++) op_set(dy, r * s->N + n, 1e6);
        for (int64_t k = 0; k < s->K; k++) op_set(x, r * s->K + k, -1e6);
    }
    if (g->beta != 0.0f) op_fill_uniform(p, dw, -1.0, 1.0);
    for (int64_t e = 0; e <= s->E; e++) op_set(off, e, (double)s->offsets[e]);
    return op_want_err_scale(dw);
}

static void ggd_reference(const op_case *c, op_dtype_pair dt, op_problem *p) {
    const ggd_case *g = c->params;
    const ggd_shape *s = g->s;
    (void)dt;
    op_tensor *dy = op_find(p, "dy"), *x = op_find(p, "x"), *dw = op_find(p, "dw");
    const int64_t N = s->N, K = s->K;
    const double u32 = ldexp(1.0, -24);
    for (int64_t e = 0; e < s->E; e++) {
        const int64_t r0 = s->offsets[e], r1 = s->offsets[e + 1];
        const double gamma = (double)(r1 - r0 + 32) * u32;
        for (int64_t n = 0; n < N; n++) {
            for (int64_t k = 0; k < K; k++) {
                const int64_t i = (e * N + n) * K + k;
                double sum = 0.0, mag = 0.0;
                for (int64_t r = r0; r < r1; r++) {
                    const double t = dy->value[r * N + n] * x->value[r * K + k];
                    sum += t;
                    mag += fabs(t);
                }
                const double old = g->beta != 0.0f ? (double)g->beta * dw->value[i] : 0.0;
                dw->expected[i] = sum + old;
                dw->err_scale[i] = gamma * (mag + fabs(old));
            }
        }
    }
}

static ax_status ggd_run(ax_context *ctx, const op_case *c, op_dtype_pair dt, op_problem *p) {
    const ggd_case *g = c->params;
    (void)dt;
    return ax_moe_grouped_gemm_dw(ctx, op_in(p, "dy"), op_in(p, "x"), op_in(p, "offsets"), g->beta, op_out(p, "dw"));
}

static op_tol ggd_tolerance(const op_case *c, op_dtype_pair dt, op_backend be, const op_tensor *out) {
    (void)c;
    (void)dt;
    (void)be;
    (void)out;
    op_tol t;
    memset(&t, 0, sizeof t);
    t.rtol = ldexp(1.0, -24); /* dw's own rounding to fp32 */
    t.scale_tol = 1.0 + t.rtol;
    t.atol = 1e-30;
    return t;
}

const op_table op_table_moe_grouped_gemm_dw = {
    .name = "moe_grouped_gemm_dw",
    .make_case = ggd_make_case,
    .setup = ggd_setup,
    .reference = ggd_reference,
    .run = ggd_run,
    .tolerance = ggd_tolerance,
};
