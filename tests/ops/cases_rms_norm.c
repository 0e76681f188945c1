/*
 * cases_rms_norm.c — ax_rms_norm (nn.h): one to four dims, D from 1 to 4100 (one element, under and
 * over a vector, a CUDA block's 256 threads and several strides of them), padded rows, weight absent,
 * in x's dtype or f32, out in x's dtype or f32, eps 0 and 1e-5, rows of large and of tiny values.
 *
 * Reference: float64, out = x / sqrt(mean(x^2) + eps) * weight, from the stored (rounded) inputs.
 * Bound: the fp32 sum of D positive squares has a relative error below (D + 2) u32 however it is
 * ordered (CPU: one partial sum per vector lane; CUDA: per-thread sums and a tree); the mean, the
 * square root (which halves a relative error), the reciprocal and the two products add a few u32
 * more; then one rounding into out's dtype (u_out). So |got - want| <= ((D + 16) u32 + u_out) |want|
 * + tiny, with tiny half the smallest f16 subnormal step for an f16 out.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "axial/nn.h"
#include "op_registry.h"

typedef struct rms_case {
    int32_t ndim;
    int64_t shape[4];
    int weight;       /* 0: NULL, 1: x's dtype, 2: f32 */
    float eps;
    double scale;     /* x uniform in [-scale, scale) */
    op_layout layout; /* of x and out */
    int in_place;     /* out = x: run copies x into out, then normalises out in place (same-dtype pairs) */
    int quick;
} rms_case;

static const rms_case cases[] = {
    {1, {1}, 1, 1e-5f, 1.0, OP_CONTIGUOUS, 0, 1},
    {2, {3, 7}, 1, 1e-5f, 1.0, OP_CONTIGUOUS, 0, 1},
    {2, {5, 64}, 0, 1e-6f, 2.0, OP_PADDED, 0, 1},
    {3, {2, 3, 257}, 2, 1e-5f, 1.0, OP_PADDED, 0, 0},
    {2, {4, 576}, 1, 1e-5f, 1.0, OP_CONTIGUOUS, 0, 1}, /* SmolLM2-135M's hidden size */
    {4, {2, 1, 3, 33}, 1, 0.0f, 1.0, OP_PADDED, 0, 0},
    {2, {3, 1000}, 2, 1e-5f, 300.0, OP_CONTIGUOUS, 0, 0}, /* large values: the squares need fp32's range */
    {2, {2, 100}, 1, 1e-5f, 1e-3, OP_CONTIGUOUS, 0, 0},   /* mean square near eps */
    {2, {2, 4100}, 1, 1e-5f, 1.0, OP_PADDED, 0, 0},
    {3, {2, 3, 300}, 1, 1e-5f, 1.0, OP_PADDED, 1, 1},     /* in place */
};

static const op_dtype_pair dtypes[] = {
    {AX_F32, AX_F32}, {AX_BF16, AX_BF16}, {AX_BF16, AX_F32}, {AX_F16, AX_F16}, {AX_F16, AX_F32},
};

static int rms_make_case(int index, op_mode mode, op_case *c) {
    const int n = (int)(sizeof cases / sizeof cases[0]);
    int seen = -1;
    for (int i = 0; i < n; i++) {
        if (mode == OP_QUICK && !cases[i].quick) continue;
        if (++seen != index) continue;
        const rms_case *r = &cases[i];
        c->params = r;
        int w = snprintf(c->name, sizeof c->name, "shape (");
        for (int32_t d = 0; d < r->ndim; d++)
            w += snprintf(c->name + w, sizeof c->name - (size_t)w, "%s%lld", d ? ", " : "", (long long)r->shape[d]);
        snprintf(c->name + w, sizeof c->name - (size_t)w, ") weight %s eps %g scale %g%s%s",
                 r->weight == 0 ? "none" : r->weight == 1 ? "as x" : "f32", (double)r->eps, r->scale,
                 r->layout == OP_PADDED ? " padded" : "", r->in_place ? " in place" : "");
        c->n_dtypes = (int)(sizeof dtypes / sizeof dtypes[0]);
        memcpy(c->dtypes, dtypes, sizeof dtypes);
        return 1;
    }
    return 0;
}

static int rms_setup(const op_case *c, op_dtype_pair dt, op_problem *p) {
    const rms_case *r = c->params;
    op_tensor *x = op_tensor_new(p, "x", OP_INPUT, dt.in, r->ndim, r->shape, r->layout);
    op_tensor *out = op_tensor_new(p, "out", OP_OUTPUT, dt.out, r->ndim, r->shape, r->layout);
    if (x == NULL || out == NULL) return -1;
    op_fill_uniform(p, x, -r->scale, r->scale);
    if (r->weight != 0) {
        const int64_t D = r->shape[r->ndim - 1];
        op_tensor *w = op_tensor_new(p, "weight", OP_INPUT, r->weight == 1 ? dt.in : AX_F32, 1, &D, OP_CONTIGUOUS);
        if (w == NULL) return -1;
        op_fill_uniform(p, w, 0.5, 1.5);
    }
    return 0;
}

static void rms_reference(const op_case *c, op_dtype_pair dt, op_problem *p) {
    const rms_case *r = c->params;
    const op_tensor *x = op_find(p, "x"), *w = op_find(p, "weight");
    op_tensor *out = op_find(p, "out");
    const int64_t D = r->shape[r->ndim - 1], rows = x->numel / D;
    for (int64_t row = 0; row < rows; row++) {
        const double *xr = x->value + row * D;
        double ms = 0.0;
        for (int64_t j = 0; j < D; j++) ms += xr[j] * xr[j];
        ms /= (double)D;
        const double inv = 1.0 / sqrt(ms + (double)r->eps);
        for (int64_t j = 0; j < D; j++) out->expected[row * D + j] = xr[j] * inv * (w != NULL ? w->value[j] : 1.0);
    }
}

static ax_status rms_run(ax_context *ctx, const op_case *c, op_dtype_pair dt, op_problem *p) {
    const rms_case *r = c->params;
    if (r->in_place && dt.in == dt.out) {
        /* out gets x's values (exact: same dtype and layout), then becomes both input and output. */
        ax_tensor *out = op_out(p, "out");
        const ax_status st = ax_tensor_copy(ctx, op_in(p, "x"), out);
        if (st != AX_OK) return st;
        return ax_rms_norm(ctx, out, op_in(p, "weight"), r->eps, out);
    }
    return ax_rms_norm(ctx, op_in(p, "x"), op_in(p, "weight"), r->eps, op_out(p, "out"));
}

static op_tol rms_tolerance(const op_case *c, op_dtype_pair dt, op_backend be, const op_tensor *out) {
    const rms_case *r = c->params;
    const double u32 = ldexp(1.0, -24);
    const double u_out = dt.out == AX_BF16 ? ldexp(1.0, -8) : dt.out == AX_F16 ? ldexp(1.0, -11) : u32;
    op_tol t;
    memset(&t, 0, sizeof t);
    t.rtol = (double)(r->shape[r->ndim - 1] + 16) * u32 + u_out;
    t.atol = dt.out == AX_F16 ? ldexp(1.0, -25) : 1e-37;
    return t;
}

const op_table op_table_rms_norm = {
    .name = "rms_norm",
    .make_case = rms_make_case,
    .setup = rms_setup,
    .reference = rms_reference,
    .run = rms_run,
    .tolerance = rms_tolerance,
};
