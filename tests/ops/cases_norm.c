/*
 * cases_norm.c — the norms of nn.h beyond plain ax_rms_norm (cases_rms_norm.c): ax_rms_norm_residual,
 * ax_layer_norm (residual, weight, bias, mean / rstd outputs optional), and both backwards. Shapes of
 * one to four dims, D from 1 to 4100 (under and over a vector, a CUDA block and several of them),
 * padded rows, absent weight / bias, f32 parameters with 16-bit activations, residuals in x's dtype
 * or f32, in place (out = x, residual_out = residual, dx = dout), and for the backward more rows than
 * the 128 dweight chunks.
 *
 * Reference: float64 from the stored inputs: h = x + residual, the statistics, the output; the
 * backward's analytic formulas (nn.h). extra_check checks those analytic formulas against central
 * finite differences of the float64 forward, so the reference itself is tested.
 *
 * Bounds (u = 2^-24, u_out the output dtype's unit roundoff):
 *  - h is one fp32 rounding of the exact sum: u |h|.
 *  - RMSNorm: the fp32 sum of D squares is within (D + 2) u relative however it is ordered; the
 *    mean, square root, reciprocal and products add a few u: ((D + 16) u + u_out) |want|.
 *  - LayerNorm: the fp32 mean has an absolute error of about D u max|h|, which h - mean carries
 *    into the output scaled by rstd |w|: an allowance err_scale = rstd |w_j| max_row|h| + |b_j| in
 *    units of 2 (D + 16) u, plus u_out relative. mean: (D + 4) u max_row|h|; rstd: 2 (D + 16) u
 *    relative (the mean's error enters the variance only squared).
 *  - Backward dx = r (g - mean(g) - xhat mean(g xhat)): every term is within (D + 16) u relative of
 *    its magnitude, so err_scale = r (|g_j| + mean|g| + |xhat_j| mean|g xhat|) in units of
 *    4 (D + 16) u, plus u_out relative. dweight = sum_r dout xhat: err_scale = sum_r |dout xhat| in
 *    units of 2 (rows + D + 32) u (the sums over rows and the xhat each add their share); dbias the
 *    same with sum_r |dout|.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axial/nn.h"
#include "op_registry.h"

enum { T_RMS_RES = 0, T_LN = 1, T_RMS_BWD = 2, T_LN_BWD = 3 };

typedef struct norm_case {
    int table;
    int32_t ndim;
    int64_t shape[4];
    int weight;       /* 0: NULL, 1: x's dtype, 2: f32 */
    int bias;         /* LayerNorm: 0 NULL, 1 x's dtype, 2 f32 */
    int residual;     /* forward: 0 none, 1 x's dtype, 2 f32 */
    int residual_out; /* forward: 1 store h (in residual's dtype) */
    int stats;        /* LayerNorm forward: mean and rstd outputs */
    float eps;
    double scale, offset; /* x uniform in [offset - scale, offset + scale) */
    op_layout layout;
    int in_place;
    int quick;
} norm_case;

static const norm_case cases[] = {
    /* RMSNorm + residual */
    {T_RMS_RES, 1, {1}, 1, 0, 1, 1, 0, 1e-5f, 1.0, 0.0, OP_CONTIGUOUS, 0, 1},
    {T_RMS_RES, 2, {3, 7}, 1, 0, 1, 1, 0, 1e-5f, 1.0, 0.0, OP_CONTIGUOUS, 0, 1},
    {T_RMS_RES, 2, {5, 64}, 0, 0, 2, 0, 0, 1e-6f, 2.0, 0.0, OP_PADDED, 0, 1},
    {T_RMS_RES, 3, {2, 3, 257}, 2, 0, 2, 1, 0, 1e-5f, 1.0, 0.0, OP_PADDED, 0, 0},
    {T_RMS_RES, 2, {4, 576}, 1, 0, 1, 1, 0, 1e-5f, 1.0, 0.0, OP_CONTIGUOUS, 1, 1},
    {T_RMS_RES, 2, {2, 4100}, 2, 0, 2, 1, 0, 1e-5f, 1.0, 0.0, OP_PADDED, 1, 0},
    {T_RMS_RES, 2, {40, 1000}, 1, 0, 1, 1, 0, 1e-5f, 1.0, 0.0, OP_PADDED, 0, 0}, /* 40k elements: threads */
    /* LayerNorm */
    {T_LN, 1, {33}, 1, 1, 0, 0, 0, 1e-5f, 1.0, 0.5, OP_CONTIGUOUS, 0, 1},
    {T_LN, 2, {3, 7}, 1, 1, 0, 0, 1, 1e-5f, 1.0, 0.5, OP_CONTIGUOUS, 0, 1},
    {T_LN, 2, {5, 64}, 0, 0, 1, 1, 1, 1e-6f, 2.0, 0.0, OP_PADDED, 0, 1},
    {T_LN, 3, {2, 3, 257}, 2, 2, 2, 1, 1, 1e-5f, 1.0, 1.0, OP_PADDED, 0, 0},
    {T_LN, 2, {4, 768}, 1, 2, 1, 1, 1, 1e-5f, 1.0, 0.0, OP_CONTIGUOUS, 1, 1},
    {T_LN, 2, {2, 4100}, 2, 1, 0, 0, 1, 1e-5f, 1.0, 0.0, OP_PADDED, 1, 0},
    {T_LN, 2, {40, 1000}, 1, 1, 1, 1, 1, 1e-5f, 1.0, 0.5, OP_PADDED, 0, 0},
    /* RMSNorm backward */
    {T_RMS_BWD, 1, {9}, 1, 0, 0, 0, 0, 1e-5f, 1.0, 0.0, OP_CONTIGUOUS, 0, 1},
    {T_RMS_BWD, 2, {3, 7}, 1, 0, 0, 0, 0, 1e-5f, 1.0, 0.0, OP_CONTIGUOUS, 0, 1},
    {T_RMS_BWD, 2, {5, 64}, 0, 0, 0, 0, 0, 1e-6f, 2.0, 0.0, OP_PADDED, 0, 1},
    {T_RMS_BWD, 3, {2, 3, 257}, 2, 0, 0, 0, 0, 1e-5f, 1.0, 0.0, OP_PADDED, 1, 0},
    {T_RMS_BWD, 2, {300, 40}, 1, 0, 0, 0, 0, 1e-5f, 1.0, 0.0, OP_CONTIGUOUS, 0, 1}, /* 300 rows: 100 chunks of 3 */
    {T_RMS_BWD, 2, {2, 4100}, 2, 0, 0, 0, 0, 1e-5f, 1.0, 0.0, OP_PADDED, 0, 0},
    {T_RMS_BWD, 2, {200, 200}, 1, 0, 0, 0, 0, 1e-5f, 1.0, 0.0, OP_PADDED, 1, 0},
    /* LayerNorm backward */
    {T_LN_BWD, 1, {9}, 1, 1, 0, 0, 0, 1e-5f, 1.0, 0.5, OP_CONTIGUOUS, 0, 1},
    {T_LN_BWD, 2, {3, 7}, 1, 1, 0, 0, 0, 1e-5f, 1.0, 0.5, OP_CONTIGUOUS, 0, 1},
    {T_LN_BWD, 2, {5, 64}, 0, 0, 0, 0, 0, 1e-6f, 2.0, 0.0, OP_PADDED, 0, 1},
    {T_LN_BWD, 3, {2, 3, 257}, 2, 2, 0, 0, 0, 1e-5f, 1.0, 1.0, OP_PADDED, 1, 0},
    {T_LN_BWD, 2, {300, 40}, 1, 1, 0, 0, 0, 1e-5f, 1.0, 0.0, OP_CONTIGUOUS, 0, 1},
    {T_LN_BWD, 2, {2, 4100}, 2, 2, 0, 0, 0, 1e-5f, 1.0, 0.0, OP_PADDED, 0, 0},
    {T_LN_BWD, 2, {200, 200}, 1, 1, 0, 0, 0, 1e-5f, 1.0, 0.0, OP_PADDED, 1, 0},
};

static const op_dtype_pair dtypes[] = {
    {AX_F32, AX_F32}, {AX_BF16, AX_BF16}, {AX_BF16, AX_F32}, {AX_F16, AX_F16}, {AX_F16, AX_F32},
};

static int is_layer(const norm_case *r) { return r->table == T_LN || r->table == T_LN_BWD; }
static int is_backward(const norm_case *r) { return r->table == T_RMS_BWD || r->table == T_LN_BWD; }
static int64_t case_D(const norm_case *r) { return r->shape[r->ndim - 1]; }
static ax_dtype param_dtype(int which, op_dtype_pair dt) { return which == 1 ? dt.in : AX_F32; }

static int make_case_of(int table, int index, op_mode mode, op_case *c) {
    const int n = (int)(sizeof cases / sizeof cases[0]);
    int seen = -1;
    for (int i = 0; i < n; i++) {
        const norm_case *r = &cases[i];
        if (r->table != table || (mode == OP_QUICK && !r->quick)) continue;
        if (++seen != index) continue;
        c->params = r;
        int w = snprintf(c->name, sizeof c->name, "shape (");
        for (int32_t d = 0; d < r->ndim; d++)
            w += snprintf(c->name + w, sizeof c->name - (size_t)w, "%s%lld", d ? ", " : "", (long long)r->shape[d]);
        snprintf(c->name + w, sizeof c->name - (size_t)w, ") w %d b %d res %d%s%s eps %g%s%s", r->weight, r->bias,
                 r->residual, r->residual_out ? " res_out" : "", r->stats ? " stats" : "", (double)r->eps,
                 r->layout == OP_PADDED ? " padded" : "", r->in_place ? " in place" : "");
        c->n_dtypes = (int)(sizeof dtypes / sizeof dtypes[0]);
        memcpy(c->dtypes, dtypes, sizeof dtypes);
        return 1;
    }
    return 0;
}

static int make_rms_res(int i, op_mode m, op_case *c) { return make_case_of(T_RMS_RES, i, m, c); }
static int make_ln(int i, op_mode m, op_case *c) { return make_case_of(T_LN, i, m, c); }
static int make_rms_bwd(int i, op_mode m, op_case *c) { return make_case_of(T_RMS_BWD, i, m, c); }
static int make_ln_bwd(int i, op_mode m, op_case *c) { return make_case_of(T_LN_BWD, i, m, c); }

static int norm_setup(const op_case *c, op_dtype_pair dt, op_problem *p) {
    const norm_case *r = c->params;
    const int64_t D = case_D(r);
    op_tensor *x = op_tensor_new(p, "x", OP_INPUT, dt.in, r->ndim, r->shape, r->layout);
    if (x == NULL) return -1;
    op_fill_uniform(p, x, r->offset - r->scale, r->offset + r->scale);
    if (r->weight) {
        op_tensor *w = op_tensor_new(p, "weight", OP_INPUT, param_dtype(r->weight, dt), 1, &D, OP_CONTIGUOUS);
        if (w == NULL) return -1;
        op_fill_uniform(p, w, 0.5, 1.5);
    }
    if (r->bias) {
        op_tensor *b = op_tensor_new(p, "bias", OP_INPUT, param_dtype(r->bias, dt), 1, &D, OP_CONTIGUOUS);
        if (b == NULL) return -1;
        op_fill_uniform(p, b, -0.5, 0.5);
    }
    if (is_backward(r)) {
        op_tensor *g = op_tensor_new(p, "dout", OP_INPUT, dt.in, r->ndim, r->shape, r->layout);
        if (g == NULL || op_tensor_new(p, "dx", OP_OUTPUT, dt.out, r->ndim, r->shape, r->layout) == NULL) return -1;
        op_fill_uniform(p, g, -1.0, 1.0);
        if (r->weight && op_tensor_new(p, "dweight", OP_OUTPUT, dt.out, 1, &D, OP_CONTIGUOUS) == NULL) return -1;
        if (r->bias && op_tensor_new(p, "dbias", OP_OUTPUT, dt.out, 1, &D, OP_CONTIGUOUS) == NULL) return -1;
        return 0;
    }
    if (r->residual) {
        const ax_dtype rd = param_dtype(r->residual, dt);
        op_tensor *res = op_tensor_new(p, "residual", OP_INPUT, rd, r->ndim, r->shape, r->layout);
        if (res == NULL) return -1;
        op_fill_uniform(p, res, -r->scale, r->scale);
        if (r->residual_out && op_tensor_new(p, "residual_out", OP_OUTPUT, rd, r->ndim, r->shape, r->layout) == NULL)
            return -1;
    }
    if (op_tensor_new(p, "out", OP_OUTPUT, dt.out, r->ndim, r->shape, r->layout) == NULL) return -1;
    if (r->stats) {
        if (op_tensor_new(p, "mean", OP_OUTPUT, AX_F32, r->ndim - 1, r->shape, r->layout) == NULL ||
            op_tensor_new(p, "rstd", OP_OUTPUT, AX_F32, r->ndim - 1, r->shape, r->layout) == NULL)
            return -1;
    }
    return 0;
}

/* The float64 forward of one row: h = x (+ residual), its statistics and y. */
static void ref_row(int layer, const double *x, const double *res, const double *w, const double *b, double eps,
                    int64_t D, double *h, double *mean, double *rstd, double *y) {
    double mu = 0.0, var = 0.0;
    for (int64_t j = 0; j < D; j++) {
        h[j] = x[j] + (res != NULL ? res[j] : 0.0);
        mu += h[j];
    }
    mu = layer ? mu / (double)D : 0.0;
    for (int64_t j = 0; j < D; j++) var += (h[j] - mu) * (h[j] - mu);
    const double rs = 1.0 / sqrt(var / (double)D + eps);
    for (int64_t j = 0; j < D; j++)
        y[j] = (h[j] - mu) * rs * (w != NULL ? w[j] : 1.0) + (b != NULL ? b[j] : 0.0);
    *mean = mu;
    *rstd = rs;
}

/* The analytic backward of one row: dx, and the row's dweight / dbias terms added to dw, db. */
static void ref_row_backward(int layer, const double *x, const double *g, const double *w, double eps, int64_t D,
                             double *dx, double *dw, double *db, double *dx_scale) {
    double mu = 0.0, var = 0.0;
    for (int64_t j = 0; j < D; j++) mu += x[j];
    mu = layer ? mu / (double)D : 0.0;
    for (int64_t j = 0; j < D; j++) var += (x[j] - mu) * (x[j] - mu);
    const double rs = 1.0 / sqrt(var / (double)D + eps);
    double c1 = 0.0, c2 = 0.0, a1 = 0.0, a2 = 0.0;
    for (int64_t j = 0; j < D; j++) {
        const double xh = (x[j] - mu) * rs, wg = g[j] * (w != NULL ? w[j] : 1.0);
        c1 += wg * xh;
        c2 += wg;
        a1 += fabs(wg * xh);
        a2 += fabs(wg);
        if (dw != NULL) dw[j] += g[j] * xh;
        if (db != NULL) db[j] += g[j];
    }
    c1 /= (double)D;
    c2 = layer ? c2 / (double)D : 0.0;
    a1 /= (double)D;
    a2 = layer ? a2 / (double)D : 0.0;
    for (int64_t j = 0; j < D; j++) {
        const double xh = (x[j] - mu) * rs, wg = g[j] * (w != NULL ? w[j] : 1.0);
        dx[j] = rs * (wg - c2 - xh * c1);
        if (dx_scale != NULL) dx_scale[j] = rs * (fabs(wg) + a2 + fabs(xh) * a1);
    }
}

static const double *values_or_null(const op_tensor *t) { return t != NULL ? t->value : NULL; }

static void norm_reference(const op_case *c, op_dtype_pair dt, op_problem *p) {
    (void)dt;
    const norm_case *r = c->params;
    const int layer = is_layer(r);
    const int64_t D = case_D(r);
    const op_tensor *x = op_find(p, "x");
    const double *w = values_or_null(op_find(p, "weight")), *b = values_or_null(op_find(p, "bias"));
    const int64_t rows = x->numel / D;
    double *h = malloc(sizeof(double) * (size_t)D);
    if (is_backward(r)) {
        const op_tensor *g = op_find(p, "dout");
        op_tensor *dx = op_find(p, "dx"), *dw = op_find(p, "dweight"), *db = op_find(p, "dbias");
        double *dw_abs = calloc((size_t)D, sizeof(double)), *db_abs = calloc((size_t)D, sizeof(double));
        op_want_err_scale(dx);
        if (dw != NULL) op_want_err_scale(dw);
        if (db != NULL) op_want_err_scale(db);
        for (int64_t j = 0; j < D; j++) {
            if (dw != NULL) dw->expected[j] = 0.0;
            if (db != NULL) db->expected[j] = 0.0;
        }
        for (int64_t row = 0; row < rows; row++) {
            const double *xr = x->value + row * D, *gr = g->value + row * D;
            ref_row_backward(layer, xr, gr, w, r->eps, D, dx->expected + row * D, dw ? dw->expected : NULL,
                             db ? db->expected : NULL, dx->err_scale + row * D);
            /* |terms| of the sums, for their allowances */
            double mu = 0.0, var = 0.0;
            for (int64_t j = 0; j < D; j++) mu += xr[j];
            mu = layer ? mu / (double)D : 0.0;
            for (int64_t j = 0; j < D; j++) var += (xr[j] - mu) * (xr[j] - mu);
            const double rs = 1.0 / sqrt(var / (double)D + r->eps);
            for (int64_t j = 0; j < D; j++) {
                dw_abs[j] += fabs(gr[j] * (xr[j] - mu) * rs);
                db_abs[j] += fabs(gr[j]);
            }
        }
        for (int64_t j = 0; j < D; j++) {
            if (dw != NULL) dw->err_scale[j] = dw_abs[j];
            if (db != NULL) db->err_scale[j] = db_abs[j];
        }
        free(dw_abs);
        free(db_abs);
    } else {
        const op_tensor *res = op_find(p, "residual");
        op_tensor *out = op_find(p, "out"), *ro = op_find(p, "residual_out");
        op_tensor *mean = op_find(p, "mean"), *rstd = op_find(p, "rstd");
        op_want_err_scale(out);
        if (mean != NULL) op_want_err_scale(mean);
        for (int64_t row = 0; row < rows; row++) {
            double mu, rs;
            ref_row(layer, x->value + row * D, res != NULL ? res->value + row * D : NULL, w, b, r->eps, D, h, &mu,
                    &rs, out->expected + row * D);
            double hmax = 0.0;
            for (int64_t j = 0; j < D; j++) hmax = fmax(hmax, fabs(h[j]));
            for (int64_t j = 0; j < D; j++) {
                if (ro != NULL) ro->expected[row * D + j] = h[j];
                out->err_scale[row * D + j] =
                    layer ? rs * (w != NULL ? fabs(w[j]) : 1.0) * hmax + (b != NULL ? fabs(b[j]) : 0.0) : 0.0;
            }
            if (mean != NULL) {
                mean->expected[row] = mu;
                mean->err_scale[row] = hmax;
            }
            if (rstd != NULL) rstd->expected[row] = rs;
        }
    }
    free(h);
}

static ax_status norm_run(ax_context *ctx, const op_case *c, op_dtype_pair dt, op_problem *p) {
    const norm_case *r = c->params;
    const int same = dt.in == dt.out;
    ax_status st;
    if (is_backward(r)) {
        const ax_tensor *dout = op_in(p, "dout");
        ax_tensor *dx = op_out(p, "dx");
        if (r->in_place && same) {
            /* dx gets dout's values (same dtype and layout), then is both. */
            if ((st = ax_tensor_copy(ctx, dout, dx)) != AX_OK) return st;
            dout = dx;
        }
        if (r->table == T_RMS_BWD)
            return ax_rms_norm_backward(ctx, op_in(p, "x"), op_in(p, "weight"), dout, r->eps, dx, op_out(p, "dweight"));
        return ax_layer_norm_backward(ctx, op_in(p, "x"), op_in(p, "weight"), dout, r->eps, dx, op_out(p, "dweight"),
                                      op_out(p, "dbias"));
    }
    const ax_tensor *x = op_in(p, "x"), *res = op_in(p, "residual");
    ax_tensor *out = op_out(p, "out"), *ro = op_out(p, "residual_out");
    if (r->in_place && same) {
        if ((st = ax_tensor_copy(ctx, x, out)) != AX_OK) return st;
        x = out;
    }
    if (r->in_place && ro != NULL) {
        if ((st = ax_tensor_copy(ctx, res, ro)) != AX_OK) return st;
        res = ro;
    }
    if (r->table == T_RMS_RES) return ax_rms_norm_residual(ctx, x, res, op_in(p, "weight"), r->eps, out, ro);
    return ax_layer_norm(ctx, x, res, op_in(p, "weight"), op_in(p, "bias"), r->eps, out, ro, op_out(p, "mean"),
                         op_out(p, "rstd"));
}

static double unit_roundoff(ax_dtype dt) {
    return dt == AX_BF16 ? ldexp(1.0, -8) : dt == AX_F16 ? ldexp(1.0, -11) : ldexp(1.0, -24);
}

static op_tol norm_tolerance(const op_case *c, op_dtype_pair dt, op_backend be, const op_tensor *out) {
    (void)be;
    const norm_case *r = c->params;
    const double u = ldexp(1.0, -24), D = (double)case_D(r);
    const double u_out = unit_roundoff(out->t.dtype);
    op_tol t;
    memset(&t, 0, sizeof t);
    t.atol = out->t.dtype == AX_F16 ? ldexp(1.0, -25) : 1e-37;
    if (strcmp(out->name, "residual_out") == 0) {
        t.rtol = u + u_out;
    } else if (strcmp(out->name, "out") == 0) {
        t.rtol = (D + 16) * u + u_out;
        t.scale_tol = 2 * (D + 16) * u;
    } else if (strcmp(out->name, "mean") == 0) {
        t.scale_tol = (D + 4) * u;
    } else if (strcmp(out->name, "rstd") == 0) {
        t.rtol = 2 * (D + 16) * u;
    } else if (strcmp(out->name, "dx") == 0) {
        t.rtol = u_out;
        t.scale_tol = 4 * (D + 16) * u;
    } else { /* dweight, dbias */
        int64_t nrows = 1;
        for (int32_t d = 0; d + 1 < r->ndim; d++) nrows *= r->shape[d];
        t.rtol = u_out;
        t.scale_tol = 2 * ((double)nrows + D + 32) * u;
    }
    (void)dt;
    return t;
}

/* The analytic backward (the reference) against central differences of the float64 forward, on the
 * case's first row: d/dx_k of L = sum_j dout_j y_j, and d/dw_k. */
static int norm_check_reference(const op_case *c, op_dtype_pair dt, const op_problem *p, char *msg, size_t msg_size) {
    (void)dt;
    const norm_case *r = c->params;
    const int layer = is_layer(r);
    const int64_t D = case_D(r);
    if (D <= 0 || D > 300) return 1; /* the check is O(D^2): the small cases cover it */
    const op_tensor *x = NULL, *g = NULL, *wt = NULL;
    for (int i = 0; i < p->n_tensors; i++) {
        if (strcmp(p->tensors[i].name, "x") == 0) x = &p->tensors[i];
        if (strcmp(p->tensors[i].name, "dout") == 0) g = &p->tensors[i];
        if (strcmp(p->tensors[i].name, "weight") == 0) wt = &p->tensors[i];
    }
    const double *w = wt != NULL ? wt->value : NULL;
    double *xs = malloc(sizeof(double) * (size_t)D), *ws = calloc((size_t)D, sizeof(double));
    double *h = malloc(sizeof(double) * (size_t)D), *y = malloc(sizeof(double) * (size_t)D);
    double *dx = malloc(sizeof(double) * (size_t)D), *dw = calloc((size_t)D, sizeof(double));
    int ok = 1;
    if (xs == NULL || ws == NULL || h == NULL || y == NULL || dx == NULL || dw == NULL || x == NULL || g == NULL) {
        snprintf(msg, msg_size, "finite-difference check: out of memory or a tensor missing");
        ok = 0;
        goto done;
    }
    memcpy(xs, x->value, sizeof(double) * (size_t)D);
    for (int64_t j = 0; j < D; j++) ws[j] = w != NULL ? w[j] : 1.0;
    ref_row_backward(layer, xs, g->value, ws, r->eps, D, dx, dw, NULL, NULL);
    const double step = 1e-6;
    for (int64_t k = 0; k < D && ok; k++) {
        for (int which = 0; which < 2 && ok; which++) {
            double *v = which == 0 ? xs : ws;
            double loss[2], mu, rs;
            const double keep = v[k];
            for (int s = 0; s < 2; s++) {
                v[k] = keep + (s == 0 ? step : -step);
                ref_row(layer, xs, NULL, ws, NULL, r->eps, D, h, &mu, &rs, y);
                loss[s] = 0.0;
                for (int64_t j = 0; j < D; j++) loss[s] += g->value[j] * y[j];
            }
            v[k] = keep;
            const double fd = (loss[0] - loss[1]) / (2 * step), an = which == 0 ? dx[k] : dw[k];
            if (fabs(fd - an) > 1e-5 * (1.0 + fabs(an))) {
                snprintf(msg, msg_size, "reference d%s[%lld]: analytic %.9g, finite difference %.9g",
                         which == 0 ? "x" : "weight", (long long)k, an, fd);
                ok = 0;
            }
        }
    }
done:
    free(xs);
    free(ws);
    free(h);
    free(y);
    free(dx);
    free(dw);
    return ok;
}

const op_table op_table_rms_norm_residual = {
    .name = "rms_norm_residual",
    .make_case = make_rms_res,
    .setup = norm_setup,
    .reference = norm_reference,
    .run = norm_run,
    .tolerance = norm_tolerance,
};

const op_table op_table_layer_norm = {
    .name = "layer_norm",
    .make_case = make_ln,
    .setup = norm_setup,
    .reference = norm_reference,
    .run = norm_run,
    .tolerance = norm_tolerance,
};

const op_table op_table_rms_norm_backward = {
    .name = "rms_norm_backward",
    .make_case = make_rms_bwd,
    .setup = norm_setup,
    .reference = norm_reference,
    .run = norm_run,
    .tolerance = norm_tolerance,
    .extra_check = norm_check_reference,
};

const op_table op_table_layer_norm_backward = {
    .name = "layer_norm_backward",
    .make_case = make_ln_bwd,
    .setup = norm_setup,
    .reference = norm_reference,
    .run = norm_run,
    .tolerance = norm_tolerance,
    .extra_check = norm_check_reference,
};
