/*
 * cases_rope.c — ax_rope and ax_rope_backward (nn.h): both pair layouts (adjacent as GGUF's Llama,
 * NeoX half-split), rotary dim equal to D and smaller (the rest passed through), D not a multiple of
 * a vector, heads and tokens with padded strides, int32 and int64 positions including positions far
 * beyond the sequence (5000, 60000) and negative ones, bases 10000 and 500000, linear and NTK
 * scaling, in place.
 *
 * Reference: float64. base' = base * ntk^(d/(d-2)), theta_i = (pos / linear) * base'^(-2i/d), the
 * rotation of nn.h; the backward applies the inverse rotation. extra_check tests that backward
 * reference against central differences of the forward reference (the map is linear, so they agree
 * closely).
 *
 * Bound (u = 2^-24): the kernels compute theta in fp32: the exponent -2i/d is rounded (relative u,
 * which moves base'^e by ln(base') u relative), powf adds about 2 u, the two products and the fp32
 * base' one u each: |dtheta| <= (ln(base') + 6) u |theta|. A rotation error dtheta moves the pair by
 * at most |dtheta| (|a| + |b|); sin/cos and the products add about 4 u (|a| + |b|). So
 * err_scale = (|a| + |b|) ((ln(base') + 6) |theta| + 4) in units of u, plus one rounding into the
 * output (u_out relative). Pass-through elements are copies (exact).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axial/nn.h"
#include "op_registry.h"

typedef struct rope_case {
    int64_t T, H, D, rotary_dim;
    ax_rope_layout layout;
    float base, linear, ntk;
    ax_dtype pos_dtype;
    int64_t pos_lo, pos_hi; /* positions uniform in [pos_lo, pos_hi) */
    op_layout x_layout;
    int in_place, backward, quick;
} rope_case;

static const rope_case cases[] = {
    {3, 2, 8, 0, AX_ROPE_ADJACENT, 0.0f, 0.0f, 0.0f, AX_I32, 0, 3, OP_CONTIGUOUS, 0, 0, 1},
    {3, 2, 8, 0, AX_ROPE_NEOX, 0.0f, 0.0f, 0.0f, AX_I64, 0, 3, OP_CONTIGUOUS, 0, 0, 1},
    {5, 3, 64, 0, AX_ROPE_ADJACENT, 10000.0f, 0.0f, 0.0f, AX_I32, 4990, 5010, OP_PADDED, 0, 0, 1},
    {5, 3, 64, 0, AX_ROPE_NEOX, 500000.0f, 0.0f, 0.0f, AX_I64, 0, 5000, OP_PADDED, 0, 0, 1},
    {4, 2, 40, 24, AX_ROPE_ADJACENT, 10000.0f, 0.0f, 0.0f, AX_I32, -50, 50, OP_CONTIGUOUS, 0, 0, 1}, /* partial */
    {4, 2, 40, 24, AX_ROPE_NEOX, 10000.0f, 0.0f, 0.0f, AX_I32, 0, 100, OP_PADDED, 1, 0, 1},
    {6, 4, 128, 0, AX_ROPE_NEOX, 10000.0f, 4.0f, 0.0f, AX_I64, 0, 60000, OP_CONTIGUOUS, 0, 0, 0}, /* linear */
    {6, 4, 128, 64, AX_ROPE_ADJACENT, 10000.0f, 0.0f, 8.0f, AX_I32, 0, 20000, OP_PADDED, 0, 0, 0}, /* NTK */
    {7, 5, 18, 0, AX_ROPE_ADJACENT, 0.0f, 2.0f, 2.0f, AX_I32, 0, 5000, OP_PADDED, 1, 0, 0},
    {64, 8, 72, 64, AX_ROPE_NEOX, 1000000.0f, 0.0f, 0.0f, AX_I64, 0, 8192, OP_PADDED, 0, 0, 0}, /* threads */
    /* backward */
    {3, 2, 8, 0, AX_ROPE_ADJACENT, 0.0f, 0.0f, 0.0f, AX_I32, 0, 3, OP_CONTIGUOUS, 0, 1, 1},
    {5, 3, 64, 0, AX_ROPE_NEOX, 10000.0f, 0.0f, 0.0f, AX_I64, 0, 5000, OP_PADDED, 0, 1, 1},
    {4, 2, 40, 24, AX_ROPE_ADJACENT, 10000.0f, 2.0f, 4.0f, AX_I32, 0, 5000, OP_PADDED, 1, 1, 0},
};

static const op_dtype_pair dtypes[] = {
    {AX_F32, AX_F32}, {AX_BF16, AX_BF16}, {AX_BF16, AX_F32}, {AX_F16, AX_F16}, {AX_F16, AX_F32},
};

static int rope_make_case(int index, op_mode mode, op_case *c) {
    const int n = (int)(sizeof cases / sizeof cases[0]);
    int seen = -1;
    for (int i = 0; i < n; i++) {
        const rope_case *r = &cases[i];
        if (mode == OP_QUICK && !r->quick) continue;
        if (++seen != index) continue;
        c->params = r;
        snprintf(c->name, sizeof c->name,
                 "%s T %lld H %lld D %lld d %lld %s base %g lin %g ntk %g pos %s [%lld, %lld)%s%s",
                 r->backward ? "backward" : "forward", (long long)r->T, (long long)r->H, (long long)r->D,
                 (long long)r->rotary_dim, r->layout == AX_ROPE_NEOX ? "neox" : "adjacent", (double)r->base,
                 (double)r->linear, (double)r->ntk, ax_dtype_name(r->pos_dtype), (long long)r->pos_lo,
                 (long long)r->pos_hi, r->x_layout == OP_PADDED ? " padded" : "", r->in_place ? " in place" : "");
        c->n_dtypes = (int)(sizeof dtypes / sizeof dtypes[0]);
        memcpy(c->dtypes, dtypes, sizeof dtypes);
        return 1;
    }
    return 0;
}

static int rope_setup(const op_case *c, op_dtype_pair dt, op_problem *p) {
    const rope_case *r = c->params;
    const int64_t shape[3] = {r->T, r->H, r->D};
    op_tensor *x = op_tensor_new(p, "x", OP_INPUT, dt.in, 3, shape, r->x_layout);
    op_tensor *pos = op_tensor_new(p, "positions", OP_INPUT, r->pos_dtype, 1, &r->T, OP_CONTIGUOUS);
    if (x == NULL || pos == NULL || op_tensor_new(p, "out", OP_OUTPUT, dt.out, 3, shape, r->x_layout) == NULL)
        return -1;
    op_fill_uniform(p, x, -1.0, 1.0);
    for (int64_t t = 0; t < r->T; t++)
        op_set(pos, t, (double)(r->pos_lo + op_rng_below(&p->rng, r->pos_hi - r->pos_lo)));
    return 0;
}

typedef struct rope_angles {
    double base, inv_linear;
    int64_t d;
} rope_angles;

static rope_angles angles_of(const rope_case *r) {
    rope_angles a;
    a.d = r->rotary_dim == 0 ? r->D : r->rotary_dim;
    const double base = r->base == 0.0f ? 10000.0 : r->base, ntk = r->ntk == 0.0f ? 1.0 : r->ntk;
    a.base = base * pow(ntk, (double)a.d / (double)(a.d - 2));
    a.inv_linear = 1.0 / (r->linear == 0.0f ? 1.0 : r->linear);
    return a;
}

/* One head (D values) rotated by sign * theta into y. */
static void rope_head(const rope_case *r, const rope_angles *a, double pos, double sign, const double *x, double *y) {
    const int64_t half = a->d / 2;
    for (int64_t i = 0; i < half; i++) {
        const double theta = pos * a->inv_linear * pow(a->base, -2.0 * (double)i / (double)a->d);
        const double cs = cos(theta), sn = sign * sin(theta);
        const int64_t ja = r->layout == AX_ROPE_NEOX ? i : 2 * i, jb = r->layout == AX_ROPE_NEOX ? i + half : 2 * i + 1;
        y[ja] = x[ja] * cs - x[jb] * sn;
        y[jb] = x[ja] * sn + x[jb] * cs;
    }
    for (int64_t j = a->d; j < r->D; j++) y[j] = x[j];
}

static void rope_reference(const op_case *c, op_dtype_pair dt, op_problem *p) {
    (void)dt;
    const rope_case *r = c->params;
    const rope_angles a = angles_of(r);
    const op_tensor *x = op_find(p, "x"), *pos = op_find(p, "positions");
    op_tensor *out = op_find(p, "out");
    op_want_err_scale(out);
    const int64_t half = a.d / 2;
    for (int64_t t = 0; t < r->T; t++)
        for (int64_t h = 0; h < r->H; h++) {
            const int64_t o = (t * r->H + h) * r->D;
            rope_head(r, &a, pos->value[t], r->backward ? -1.0 : 1.0, x->value + o, out->expected + o);
            for (int64_t i = 0; i < half; i++) {
                const double theta = fabs(pos->value[t] * a.inv_linear * pow(a.base, -2.0 * (double)i / (double)a.d));
                const int64_t ja = r->layout == AX_ROPE_NEOX ? i : 2 * i,
                              jb = r->layout == AX_ROPE_NEOX ? i + half : 2 * i + 1;
                const double s =
                    (fabs(x->value[o + ja]) + fabs(x->value[o + jb])) * ((log(a.base) + 6.0) * theta + 4.0);
                out->err_scale[o + ja] = out->err_scale[o + jb] = s;
            }
        }
}

static ax_status rope_run(ax_context *ctx, const op_case *c, op_dtype_pair dt, op_problem *p) {
    const rope_case *r = c->params;
    ax_rope_options o;
    memset(&o, 0, sizeof o);
    o.rotary_dim = r->rotary_dim;
    o.layout = r->layout;
    o.base = r->base;
    o.linear_factor = r->linear;
    o.ntk_factor = r->ntk;
    const ax_tensor *x = op_in(p, "x");
    ax_tensor *out = op_out(p, "out");
    if (r->in_place && dt.in == dt.out) {
        const ax_status st = ax_tensor_copy(ctx, x, out);
        if (st != AX_OK) return st;
        x = out;
    }
    return r->backward ? ax_rope_backward(ctx, x, op_in(p, "positions"), &o, out)
                       : ax_rope(ctx, x, op_in(p, "positions"), &o, out);
}

static op_tol rope_tolerance(const op_case *c, op_dtype_pair dt, op_backend be, const op_tensor *out) {
    (void)c;
    (void)be;
    op_tol t;
    memset(&t, 0, sizeof t);
    t.rtol = dt.out == AX_BF16 ? ldexp(1.0, -8) : dt.out == AX_F16 ? ldexp(1.0, -11) : 0.0;
    t.scale_tol = ldexp(1.0, -24);
    t.atol = out->t.dtype == AX_F16 ? ldexp(1.0, -25) : 1e-37;
    return t;
}

/* The backward reference (inverse rotation of dout) against central differences of
 * L(x) = sum dout . rope(x), on the first token and head. */
static int rope_check_reference(const op_case *c, op_dtype_pair dt, const op_problem *p, char *msg, size_t msg_size) {
    (void)dt;
    const rope_case *r = c->params;
    if (!r->backward) return 1;
    const rope_angles a = angles_of(r);
    const op_tensor *pos = &p->tensors[1], *g = &p->tensors[0]; /* x holds dout in a backward case */
    double *xs = calloc((size_t)r->D, sizeof(double)), *y = calloc((size_t)r->D, sizeof(double));
    double *an = calloc((size_t)r->D, sizeof(double));
    rope_head(r, &a, pos->value[0], -1.0, g->value, an);
    int ok = 1;
    for (int64_t k = 0; k < r->D && ok; k++) {
        double loss[2];
        for (int s = 0; s < 2; s++) {
            memset(xs, 0, sizeof(double) * (size_t)r->D);
            xs[k] = s == 0 ? 1e-3 : -1e-3;
            rope_head(r, &a, pos->value[0], 1.0, xs, y);
            loss[s] = 0.0;
            for (int64_t j = 0; j < r->D; j++) loss[s] += g->value[j] * y[j];
        }
        const double fd = (loss[0] - loss[1]) / 2e-3;
        if (fabs(fd - an[k]) > 1e-9 * (1.0 + fabs(an[k]))) {
            snprintf(msg, msg_size, "reference dx[%lld]: inverse rotation %.12g, finite difference %.12g", (long long)k,
                     an[k], fd);
            ok = 0;
        }
    }
    free(xs);
    free(y);
    free(an);
    return ok;
}

const op_table op_table_rope = {
    .name = "rope",
    .make_case = rope_make_case,
    .setup = rope_setup,
    .reference = rope_reference,
    .run = rope_run,
    .tolerance = rope_tolerance,
    .extra_check = rope_check_reference,
};
