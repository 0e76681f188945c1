/*
 * cases_softmax.c — ax_softmax and ax_softmax_backward (nn.h): N from 1 to 4100 (under and over a
 * vector and a CUDA block), one to three dims, padded rows, scales 1, 0.125 and -0.5, logits spread
 * over +-30, rows with masked (-Inf) entries and a fully masked row (zeros), in place.
 *
 * Reference: float64 softmax of scale * x from the stored inputs; for the backward, y is a float64
 * softmax rounded to the input dtype (what a forward would give) and dx = scale y (dout - sum dout y)
 * from the stored y. extra_check tests that backward formula against central differences of the
 * float64 forward.
 *
 * Bounds (u = 2^-24): the kernel rounds scale x (|scale x| u), subtracts the rounded maximum m and
 * exponentiates (a few u): e_j is within (|scale x_j| + |m| + 4) u relative; the sum of N positive
 * terms adds (N + 2) u, the reciprocal and product 2 u. So err_scale = y_j (|scale x_j| + |m| + N + 8)
 * in units of u, plus one rounding into out, plus 1e-37 absolute for exponentials that underflow.
 * Backward: the dot product of N terms is within (N + 2) u of sum |dout y|, so err_scale =
 * |scale y_j| (|dout_j| + sum_k |dout_k y_k|) (N + 8) in units of u, plus one rounding into dx.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axial/nn.h"
#include "op_registry.h"

typedef struct sm_case {
    int backward;
    int32_t ndim;
    int64_t shape[3];
    float scale;
    double range;
    int masked; /* 1: every 5th logit -Inf and row 0 fully masked */
    op_layout layout;
    int in_place, quick;
} sm_case;

static const sm_case cases[] = {
    {0, 1, {1}, 1.0f, 1.0, 0, OP_CONTIGUOUS, 0, 1},
    {0, 2, {3, 7}, 1.0f, 4.0, 0, OP_CONTIGUOUS, 0, 1},
    {0, 2, {4, 37}, 0.125f, 30.0, 1, OP_PADDED, 0, 1},
    {0, 3, {2, 3, 257}, -0.5f, 30.0, 0, OP_PADDED, 1, 1},
    {0, 2, {3, 1000}, 1.0f, 8.0, 1, OP_CONTIGUOUS, 0, 0},
    {0, 2, {2, 4100}, 1.0f, 4.0, 0, OP_PADDED, 1, 0},
    {0, 2, {40, 1000}, 1.0f, 8.0, 1, OP_PADDED, 0, 0}, /* 40k elements: threads */
    {1, 1, {1}, 1.0f, 1.0, 0, OP_CONTIGUOUS, 0, 1},
    {1, 2, {3, 7}, 1.0f, 4.0, 0, OP_CONTIGUOUS, 0, 1},
    {1, 2, {4, 37}, 0.125f, 30.0, 1, OP_PADDED, 1, 1},
    {1, 3, {2, 3, 257}, -0.5f, 8.0, 0, OP_PADDED, 0, 0},
    {1, 2, {2, 4100}, 1.0f, 4.0, 0, OP_PADDED, 1, 0},
    {1, 2, {40, 1000}, 1.0f, 4.0, 0, OP_PADDED, 0, 0},
};

static const op_dtype_pair dtypes[] = {
    {AX_F32, AX_F32}, {AX_BF16, AX_BF16}, {AX_BF16, AX_F32}, {AX_F16, AX_F16}, {AX_F16, AX_F32},
};

static int sm_make_case(int index, op_mode mode, op_case *c) {
    const int n = (int)(sizeof cases / sizeof cases[0]);
    int seen = -1;
    for (int i = 0; i < n; i++) {
        const sm_case *r = &cases[i];
        if (mode == OP_QUICK && !r->quick) continue;
        if (++seen != index) continue;
        c->params = r;
        int w = snprintf(c->name, sizeof c->name, "%s shape (", r->backward ? "backward" : "forward");
        for (int32_t d = 0; d < r->ndim; d++)
            w += snprintf(c->name + w, sizeof c->name - (size_t)w, "%s%lld", d ? ", " : "", (long long)r->shape[d]);
        snprintf(c->name + w, sizeof c->name - (size_t)w, ") scale %g range %g%s%s%s", (double)r->scale, r->range,
                 r->masked ? " masked" : "", r->layout == OP_PADDED ? " padded" : "", r->in_place ? " in place" : "");
        c->n_dtypes = (int)(sizeof dtypes / sizeof dtypes[0]);
        memcpy(c->dtypes, dtypes, sizeof dtypes);
        return 1;
    }
    return 0;
}

/* y = softmax(s x) over n in float64; a fully -Inf row gives zeros. Returns the maximum s x. */
static double softmax_ref(const double *x, double s, int64_t n, double *y) {
    double m = -INFINITY, sum = 0.0;
    for (int64_t j = 0; j < n; j++) m = fmax(m, s * x[j]);
    for (int64_t j = 0; j < n; j++) {
        y[j] = m == -INFINITY ? 0.0 : exp(s * x[j] - m);
        sum += y[j];
    }
    for (int64_t j = 0; j < n; j++) y[j] = sum > 0.0 ? y[j] / sum : 0.0;
    return m;
}

static void softmax_bwd_ref(const double *y, const double *g, double s, int64_t n, double *dx) {
    double dot = 0.0;
    for (int64_t j = 0; j < n; j++) dot += g[j] * y[j];
    for (int64_t j = 0; j < n; j++) dx[j] = s * y[j] * (g[j] - dot);
}

static int sm_setup(const op_case *c, op_dtype_pair dt, op_problem *p) {
    const sm_case *r = c->params;
    const int64_t N = r->shape[r->ndim - 1];
    op_tensor *in = op_tensor_new(p, r->backward ? "y" : "x", OP_INPUT, dt.in, r->ndim, r->shape, r->layout);
    if (in == NULL) return -1;
    op_fill_uniform(p, in, -r->range, r->range);
    const int64_t rows = in->numel / N;
    if (r->masked) {
        for (int64_t i = 0; i < in->numel; i++)
            if (i % 5 == 3 || i < N) op_set(in, i, -INFINITY);
    }
    if (r->backward) {
        /* y: a softmax of the filled logits, rounded to the dtype */
        double *y = malloc(sizeof(double) * (size_t)N);
        double *x = malloc(sizeof(double) * (size_t)N);
        for (int64_t row = 0; row < rows; row++) {
            memcpy(x, in->value + row * N, sizeof(double) * (size_t)N);
            softmax_ref(x, r->scale, N, y);
            for (int64_t j = 0; j < N; j++) op_set(in, row * N + j, y[j]);
        }
        free(y);
        free(x);
        op_tensor *g = op_tensor_new(p, "dout", OP_INPUT, dt.in, r->ndim, r->shape, r->layout);
        if (g == NULL) return -1;
        op_fill_uniform(p, g, -1.0, 1.0);
    }
    if (op_tensor_new(p, r->backward ? "dx" : "out", OP_OUTPUT, dt.out, r->ndim, r->shape, r->layout) == NULL)
        return -1;
    return 0;
}

static void sm_reference(const op_case *c, op_dtype_pair dt, op_problem *p) {
    (void)dt;
    const sm_case *r = c->params;
    const int64_t N = r->shape[r->ndim - 1];
    const op_tensor *in = &p->tensors[0];
    op_tensor *out = op_find(p, r->backward ? "dx" : "out");
    op_want_err_scale(out);
    const int64_t rows = in->numel / N;
    for (int64_t row = 0; row < rows; row++) {
        const double *x = in->value + row * N;
        double *want = out->expected + row * N, *scale = out->err_scale + row * N;
        if (r->backward) {
            const double *g = op_find(p, "dout")->value + row * N;
            softmax_bwd_ref(x, g, r->scale, N, want);
            double abs_dot = 0.0;
            for (int64_t j = 0; j < N; j++) abs_dot += fabs(g[j] * x[j]);
            for (int64_t j = 0; j < N; j++) scale[j] = fabs(r->scale * x[j]) * (fabs(g[j]) + abs_dot) * (double)(N + 8);
        } else {
            const double m = softmax_ref(x, r->scale, N, want);
            for (int64_t j = 0; j < N; j++)
                scale[j] = want[j] == 0.0 ? 0.0 : want[j] * (fabs(r->scale * x[j]) + fabs(m) + (double)N + 8.0);
        }
    }
}

static ax_status sm_run(ax_context *ctx, const op_case *c, op_dtype_pair dt, op_problem *p) {
    const sm_case *r = c->params;
    if (r->backward) {
        const ax_tensor *dout = op_in(p, "dout");
        ax_tensor *dx = op_out(p, "dx");
        if (r->in_place && dt.in == dt.out) {
            const ax_status st = ax_tensor_copy(ctx, dout, dx);
            if (st != AX_OK) return st;
            dout = dx;
        }
        return ax_softmax_backward(ctx, op_in(p, "y"), dout, r->scale, dx);
    }
    const ax_tensor *x = op_in(p, "x");
    ax_tensor *out = op_out(p, "out");
    if (r->in_place && dt.in == dt.out) {
        const ax_status st = ax_tensor_copy(ctx, x, out);
        if (st != AX_OK) return st;
        x = out;
    }
    return ax_softmax(ctx, x, r->scale, out);
}

static op_tol sm_tolerance(const op_case *c, op_dtype_pair dt, op_backend be, const op_tensor *out) {
    (void)c;
    (void)be;
    (void)dt;
    op_tol t;
    memset(&t, 0, sizeof t);
    t.rtol = out->t.dtype == AX_BF16 ? ldexp(1.0, -8) : out->t.dtype == AX_F16 ? ldexp(1.0, -11) : 0.0;
    t.scale_tol = ldexp(1.0, -24);
    t.atol = out->t.dtype == AX_F16 ? ldexp(1.0, -25) : 1e-37;
    return t;
}

/* The backward formula against central differences of L(x) = sum_j g_j softmax(s x)_j. */
static int sm_check_reference(const op_case *c, op_dtype_pair dt, const op_problem *p, char *msg, size_t msg_size) {
    (void)dt;
    (void)p;
    const sm_case *r = c->params;
    if (!r->backward) return 1;
    enum { n = 9 };
    double x[n], g[n], y[n], dx[n], yp[n];
    for (int j = 0; j < n; j++) {
        x[j] = sin(1.7 * j) * 3.0;
        g[j] = cos(0.9 * j);
    }
    softmax_ref(x, r->scale, n, y);
    softmax_bwd_ref(y, g, r->scale, n, dx);
    for (int k = 0; k < n; k++) {
        double loss[2];
        const double keep = x[k], h = 1e-6;
        for (int s = 0; s < 2; s++) {
            x[k] = keep + (s == 0 ? h : -h);
            softmax_ref(x, r->scale, n, yp);
            loss[s] = 0.0;
            for (int j = 0; j < n; j++) loss[s] += g[j] * yp[j];
        }
        x[k] = keep;
        const double fd = (loss[0] - loss[1]) / (2 * h);
        if (fabs(fd - dx[k]) > 1e-8 * (1.0 + fabs(dx[k]))) {
            snprintf(msg, msg_size, "reference dx[%d]: analytic %.12g, finite difference %.12g", k, dx[k], fd);
            return 0;
        }
    }
    return 1;
}

const op_table op_table_softmax = {
    .name = "softmax",
    .make_case = sm_make_case,
    .setup = sm_setup,
    .reference = sm_reference,
    .run = sm_run,
    .tolerance = sm_tolerance,
    .extra_check = sm_check_reference,
};
