/*
 * cases_activation.c — ax_activation, ax_activation_backward (table "activation") and ax_glu,
 * ax_glu_backward (table "glu"), for SiLU, GELU-tanh and GELU-erf: F from 1 to 1000 (under and over
 * a vector), one to three dims, padded rows, inputs over [-6, 6), [-20, 20) (the tails where
 * sigmoid and erf saturate), [-1e21, 1e21) (where 3c x^2 overflows fp32) and [-12, -2) (GELU's
 * negative tail, to relative accuracy), up / dout in f32 with 16-bit gates, in place.
 *
 * Reference: float64 act(x) and act'(x) from their formulas (nn.h), and the products. extra_check
 * tests the float64 derivatives against central differences of the float64 activations.
 *
 * Bound (u = 2^-24): every act and act' is a handful of fp32 operations and one library call
 * (expf, erfcf: a few ulp; the CPU's vector exp 1.4e-7), whose argument carries a rounding error
 * of a few u of (1 + |x| (1 + 3 * 0.045 x^2)); SiLU's derivative loses relative accuracy where
 * 1 - s cancels, never more than that many u of the terms' magnitude. So err_scale = |multiplier|
 * (1 + |x|) (1 + 0.14 x^2) in units of 16 u, times |value| in the tail cases (GELU is written as
 * x sigmoid(2u) and 0.5 x erfc(-x / sqrt 2), with no cancelling sum), plus one rounding into the output.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axial/nn.h"
#include "op_registry.h"

typedef struct act_case {
    int glu, backward;
    ax_activation_kind kind;
    int32_t ndim;
    int64_t shape[3];
    double range;
    op_layout layout;
    int f32_others; /* up / dout in f32 */
    int in_place;   /* out = the first input (forward) or dgate = gate, dup = up (GLU backward), dx = dout */
    int quick;
    int tail; /* inputs over [-range, -2) and error relative to the value: the negative tails of GELU */
} act_case;

static const act_case cases[] = {
    {0, 0, AX_ACT_SILU, 1, {1}, 6.0, OP_CONTIGUOUS, 0, 0, 1, 0},
    {0, 0, AX_ACT_SILU, 2, {3, 37}, 20.0, OP_PADDED, 0, 0, 1, 0},
    {0, 0, AX_ACT_GELU_TANH, 2, {3, 37}, 6.0, OP_CONTIGUOUS, 0, 1, 1, 0},
    {0, 0, AX_ACT_GELU_ERF, 3, {2, 2, 100}, 20.0, OP_PADDED, 0, 0, 0, 0},
    {0, 0, AX_ACT_SILU, 2, {2, 1000}, 6.0, OP_CONTIGUOUS, 0, 1, 0, 0},
    {0, 0, AX_ACT_GELU_TANH, 2, {40, 1000}, 6.0, OP_PADDED, 0, 0, 0, 0}, /* 40k elements: threads */
    {0, 1, AX_ACT_SILU, 2, {3, 37}, 20.0, OP_PADDED, 1, 0, 1, 0},
    {0, 1, AX_ACT_GELU_TANH, 2, {3, 37}, 6.0, OP_CONTIGUOUS, 0, 1, 1, 0},
    {0, 1, AX_ACT_GELU_ERF, 2, {3, 37}, 20.0, OP_PADDED, 1, 0, 1, 0},
    {0, 1, AX_ACT_SILU, 3, {2, 2, 100}, 6.0, OP_PADDED, 0, 1, 0, 0},
    {1, 0, AX_ACT_SILU, 1, {5}, 6.0, OP_CONTIGUOUS, 0, 0, 1, 0},
    {1, 0, AX_ACT_SILU, 2, {4, 259}, 20.0, OP_PADDED, 1, 0, 1, 0},
    {1, 0, AX_ACT_GELU_TANH, 2, {4, 259}, 6.0, OP_CONTIGUOUS, 0, 1, 1, 0},
    {1, 0, AX_ACT_GELU_ERF, 3, {2, 3, 64}, 6.0, OP_PADDED, 1, 0, 0, 0},
    {1, 1, AX_ACT_SILU, 2, {4, 259}, 20.0, OP_PADDED, 1, 0, 1, 0},
    {1, 1, AX_ACT_GELU_TANH, 2, {3, 37}, 6.0, OP_CONTIGUOUS, 0, 1, 1, 0},
    {1, 1, AX_ACT_GELU_ERF, 2, {3, 37}, 6.0, OP_PADDED, 0, 0, 0, 0},
    {1, 1, AX_ACT_SILU, 2, {2, 1000}, 6.0, OP_CONTIGUOUS, 0, 1, 0, 0},
    {1, 1, AX_ACT_SILU, 2, {40, 1000}, 6.0, OP_PADDED, 1, 0, 0, 0},
    /* |x| up to 1e21 (no f16): GELU-tanh's derivative had been 0 * inf = NaN past |x| ~ 5e19. */
    {0, 0, AX_ACT_GELU_TANH, 2, {3, 37}, 1e21, OP_CONTIGUOUS, 0, 0, 1, 0},
    {0, 1, AX_ACT_GELU_TANH, 2, {3, 37}, 1e21, OP_PADDED, 1, 0, 1, 0},
    {0, 1, AX_ACT_GELU_ERF, 2, {3, 37}, 1e21, OP_CONTIGUOUS, 0, 0, 1, 0},
    {0, 1, AX_ACT_SILU, 2, {3, 37}, 1e21, OP_CONTIGUOUS, 0, 0, 1, 0},
    {1, 1, AX_ACT_GELU_TANH, 2, {3, 37}, 1e21, OP_CONTIGUOUS, 1, 0, 1, 0},
    /* GELU's negative tail to its relative accuracy: 1 + tanh and 1 + erf had cancelled, so
     * gelu(-6) came out 0 (-5.9e-9 exactly) and gelu(-4) lost half its digits. */
    {0, 0, AX_ACT_GELU_TANH, 2, {3, 37}, 12.0, OP_CONTIGUOUS, 0, 0, 1, 1},
    {0, 0, AX_ACT_GELU_ERF, 2, {3, 37}, 12.0, OP_PADDED, 0, 0, 1, 1},
    {0, 1, AX_ACT_GELU_TANH, 2, {3, 37}, 12.0, OP_PADDED, 1, 0, 1, 1},
    {1, 1, AX_ACT_GELU_ERF, 2, {3, 37}, 12.0, OP_CONTIGUOUS, 0, 0, 1, 1},
};

static const op_dtype_pair dtypes[] = {
    {AX_F32, AX_F32}, {AX_BF16, AX_BF16}, {AX_BF16, AX_F32}, {AX_F16, AX_F16}, {AX_F16, AX_F32},
};

static const char *kind_name(ax_activation_kind k) {
    return k == AX_ACT_SILU ? "silu" : k == AX_ACT_GELU_TANH ? "gelu_tanh" : "gelu_erf";
}

static int make_case_of(int glu, int index, op_mode mode, op_case *c) {
    const int n = (int)(sizeof cases / sizeof cases[0]);
    int seen = -1;
    for (int i = 0; i < n; i++) {
        const act_case *r = &cases[i];
        if (r->glu != glu || (mode == OP_QUICK && !r->quick)) continue;
        if (++seen != index) continue;
        c->params = r;
        int w = snprintf(c->name, sizeof c->name, "%s %s shape (", kind_name(r->kind),
                         r->backward ? "backward" : "forward");
        for (int32_t d = 0; d < r->ndim; d++)
            w += snprintf(c->name + w, sizeof c->name - (size_t)w, "%s%lld", d ? ", " : "", (long long)r->shape[d]);
        snprintf(c->name + w, sizeof c->name - (size_t)w, ") range %g%s%s%s%s", r->range, r->tail ? " tail" : "",
                 r->layout == OP_PADDED ? " padded" : "", r->f32_others ? " f32 others" : "",
                 r->in_place ? " in place" : "");
        /* f16 holds at most 65504: inputs past it run in the other dtypes (the first three). */
        c->n_dtypes = r->range > 65504.0 ? 3 : (int)(sizeof dtypes / sizeof dtypes[0]);
        memcpy(c->dtypes, dtypes, (size_t)c->n_dtypes * sizeof dtypes[0]);
        return 1;
    }
    return 0;
}

static int make_act(int i, op_mode m, op_case *c) { return make_case_of(0, i, m, c); }
static int make_glu(int i, op_mode m, op_case *c) { return make_case_of(1, i, m, c); }

/* Input names, then output names, by case. */
static int names_of(const act_case *r, const char **in, const char **out, int *n_out) {
    int n_in = 0;
    in[n_in++] = r->glu ? "gate" : "x";
    if (r->glu) in[n_in++] = "up";
    if (r->backward) in[n_in++] = "dout";
    *n_out = r->glu && r->backward ? 2 : 1;
    out[0] = !r->backward ? "out" : r->glu ? "dgate" : "dx";
    out[1] = "dup";
    return n_in;
}

static int act_setup(const op_case *c, op_dtype_pair dt, op_problem *p) {
    const act_case *r = c->params;
    const char *in[3], *out[2];
    int n_out;
    const int n_in = names_of(r, in, out, &n_out);
    for (int i = 0; i < n_in; i++) {
        const ax_dtype d = i > 0 && r->f32_others ? AX_F32 : dt.in;
        op_tensor *t = op_tensor_new(p, in[i], OP_INPUT, d, r->ndim, r->shape, r->layout);
        if (t == NULL) return -1;
        if (i == 0) op_fill_uniform(p, t, -r->range, r->tail ? -2.0 : r->range);
        else op_fill_uniform(p, t, -2.0, 2.0);
    }
    for (int i = 0; i < n_out; i++)
        if (op_tensor_new(p, out[i], OP_OUTPUT, dt.out, r->ndim, r->shape, r->layout) == NULL) return -1;
    return 0;
}

static void act_ref(ax_activation_kind kind, double x, double *value, double *deriv) {
    if (kind == AX_ACT_SILU) {
        const double s = 1.0 / (1.0 + exp(-x));
        *value = x * s;
        *deriv = s + x * s * (1.0 - s);
    } else if (kind == AX_ACT_GELU_TANH) {
        /* 1 + tanh(u) = 2 sigmoid(2u) and 1 - tanh(u)^2 = 4 sigmoid(2u) sigmoid(-2u): the sums cancel
         * for negative x even in float64 (the tail cases go to x = -12), the sigmoids do not. */
        const double k0 = sqrt(2.0 / 3.14159265358979323846), c = 0.044715, u = k0 * (x + c * x * x * x);
        const double s = 1.0 / (1.0 + exp(-2.0 * u)), s_neg = 1.0 / (1.0 + exp(2.0 * u));
        *value = x * s;
        *deriv = s + 2.0 * x * s * s_neg * k0 * (1.0 + 3.0 * c * x * x);
    } else {
        const double e = erfc(-x / sqrt(2.0)); /* 1 + erf(x / sqrt 2), without its cancellation */
        *value = 0.5 * x * e;
        *deriv = 0.5 * e + x * exp(-0.5 * x * x) / sqrt(2.0 * 3.14159265358979323846);
    }
}

static void act_reference(const op_case *c, op_dtype_pair dt, op_problem *p) {
    (void)dt;
    const act_case *r = c->params;
    const char *in[3], *out[2];
    int n_out;
    const int n_in = names_of(r, in, out, &n_out);
    const op_tensor *a = op_find(p, in[0]), *b = n_in > 1 ? op_find(p, in[1]) : NULL,
                    *g = n_in > 2 ? op_find(p, in[2]) : NULL;
    op_tensor *o0 = op_find(p, out[0]), *o1 = n_out > 1 ? op_find(p, out[1]) : NULL;
    op_want_err_scale(o0);
    if (o1 != NULL) op_want_err_scale(o1);
    for (int64_t i = 0; i < a->numel; i++) {
        const double x = a->value[i];
        double v, d;
        act_ref(r->kind, x, &v, &d);
        /* Past |x| = 20 every form has saturated in fp32: act' is 0 or 1 exactly and act is x or ~0. */
        const double growth = fabs(x) > 20.0 ? 1.0 + fabs(x) : (1.0 + fabs(x)) * (1.0 + 0.14 * x * x);
        double m0 = 1.0, m1 = 1.0;
        if (!r->glu && !r->backward) o0->expected[i] = v;
        else if (!r->glu) o0->expected[i] = d * (m0 = b->value[i]);
        else if (!r->backward) o0->expected[i] = v * (m0 = b->value[i]);
        else {
            o0->expected[i] = d * (m0 = g->value[i] * b->value[i]);
            o1->expected[i] = v * (m1 = g->value[i]);
            o1->err_scale[i] = fabs(m1) * growth * (r->tail ? fabs(v) : 1.0);
        }
        /* In the tail the bound is relative: the value is tiny next to the terms it was a sum of. */
        o0->err_scale[i] = fabs(m0) * growth * (r->tail ? fabs(!r->backward ? v : d) : 1.0);
    }
}

static ax_status act_run(ax_context *ctx, const op_case *c, op_dtype_pair dt, op_problem *p) {
    const act_case *r = c->params;
    const int same = dt.in == dt.out && !r->f32_others;
    ax_status st;
    if (!r->glu) {
        const ax_tensor *x = op_in(p, "x");
        if (!r->backward) {
            ax_tensor *out = op_out(p, "out");
            if (r->in_place && dt.in == dt.out) {
                if ((st = ax_tensor_copy(ctx, x, out)) != AX_OK) return st;
                x = out;
            }
            return ax_activation(ctx, r->kind, x, out);
        }
        const ax_tensor *dout = op_in(p, "dout");
        ax_tensor *dx = op_out(p, "dx");
        if (r->in_place && same) {
            if ((st = ax_tensor_copy(ctx, dout, dx)) != AX_OK) return st;
            dout = dx;
        }
        return ax_activation_backward(ctx, r->kind, x, dout, dx);
    }
    const ax_tensor *gate = op_in(p, "gate"), *up = op_in(p, "up");
    if (!r->backward) {
        ax_tensor *out = op_out(p, "out");
        if (r->in_place && same) {
            if ((st = ax_tensor_copy(ctx, up, out)) != AX_OK) return st;
            up = out;
        }
        return ax_glu(ctx, r->kind, gate, up, out);
    }
    ax_tensor *dgate = op_out(p, "dgate"), *dup = op_out(p, "dup");
    if (r->in_place && same) {
        if ((st = ax_tensor_copy(ctx, gate, dgate)) != AX_OK) return st;
        if ((st = ax_tensor_copy(ctx, up, dup)) != AX_OK) return st;
        gate = dgate;
        up = dup;
    }
    return ax_glu_backward(ctx, r->kind, gate, up, op_in(p, "dout"), dgate, dup);
}

static op_tol act_tolerance(const op_case *c, op_dtype_pair dt, op_backend be, const op_tensor *out) {
    (void)c;
    (void)be;
    (void)dt;
    op_tol t;
    memset(&t, 0, sizeof t);
    t.rtol = out->t.dtype == AX_BF16 ? ldexp(1.0, -8) : out->t.dtype == AX_F16 ? ldexp(1.0, -11) : 0.0;
    t.scale_tol = 16 * ldexp(1.0, -24);
    t.atol = out->t.dtype == AX_F16 ? ldexp(1.0, -25) : 1e-37;
    return t;
}

/* The float64 derivatives against central differences of the float64 activations. */
static int act_check_reference(const op_case *c, op_dtype_pair dt, const op_problem *p, char *msg, size_t msg_size) {
    (void)dt;
    (void)p;
    const act_case *r = c->params;
    for (double x = -8.0; x <= 8.0; x += 0.37) {
        double v0, v1, d, unused;
        const double h = 1e-6;
        act_ref(r->kind, x + h, &v0, &unused);
        act_ref(r->kind, x - h, &v1, &unused);
        act_ref(r->kind, x, &unused, &d);
        const double fd = (v0 - v1) / (2 * h);
        if (fabs(fd - d) > 1e-7 * (1.0 + fabs(d))) {
            snprintf(msg, msg_size, "reference %s'(%g): analytic %.12g, finite difference %.12g", kind_name(r->kind), x,
                     d, fd);
            return 0;
        }
    }
    return 1;
}

const op_table op_table_activation = {
    .name = "activation",
    .make_case = make_act,
    .setup = act_setup,
    .reference = act_reference,
    .run = act_run,
    .tolerance = act_tolerance,
    .extra_check = act_check_reference,
};

const op_table op_table_glu = {
    .name = "glu",
    .make_case = make_glu,
    .setup = act_setup,
    .reference = act_reference,
    .run = act_run,
    .tolerance = act_tolerance,
    .extra_check = act_check_reference,
};
