/*
 * test_moe_ffn.c — ax_moe_ffn_forward / ax_moe_ffn_backward against a float64 MoE layer written from
 * moe.h's definitions (test_moe_ffn_reference.h): forward with softmax and sigmoid gating,
 * renormalisation, capacity with drops and the PR-MoE dense MLP (f32 and bf16 activations, q8_0 /
 * q4_0 expert and dense weights against their exactly dequantized values within ax_qmatmul's error
 * bound), the backward against float64 central finite differences of
 * sum(dy * y) + aux_coef * aux + z_coef * z for x, the router and every weight, empty batches, and
 * argument errors that leave the outputs untouched. Outputs are filled with NaN before each call, so
 * an element the layer never writes fails its check.
 *
 *   test_moe_ffn                  the CPU
 *   test_moe_ffn --device cuda    the same cases on a CUDA context (ctest: test_moe_ffn_cuda, label
 *                                 gpu; exit 77 without CUDA in the build or a device): each case's
 *                                 host tensors are copied to device buffers (moe_test_device.h), the
 *                                 outputs poisoned there, and brought back for the same checks.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "axial/moe.h"
#include "harness.h"
#include "moe_test_device.h"
#include "test_moe_ffn_reference.h"

static ax_context *ctx;
static int on_cuda; /* --device cuda: ctx is a CUDA context and every call goes through a mirror */

/* The layer calls of every case: on the CPU the host tensors themselves; with --device cuda device
 * copies of them (moe_test_device.h). poison: fill the outputs with NaN first; else their current
 * values travel to the device, for the checks that a failing call writes nothing. */
static ax_status ffn_forward(ax_context *c, const ax_moe_ffn_config *cfg, const ax_tensor *x,
                             const ax_moe_ffn_weights *w, ax_tensor *y, ax_tensor *losses, int poison) {
    dev_mirror m;
    dm_ffn_args a;
    dm_begin(&m, on_cuda ? c : NULL);
    dm_forward_args(&m, x, w, y, losses, &a);
    ax_status st = AX_ERR_INTERNAL;
    if (dm_upload(&m, poison) == 0) st = ax_moe_ffn_forward(c, cfg, a.x, &a.w, a.y, a.losses);
    dm_finish(&m);
    return st;
}

static ax_status ffn_backward(ax_context *c, const ax_moe_ffn_config *cfg, const ax_tensor *x,
                              const ax_moe_ffn_weights *w, const ax_tensor *dy, ax_tensor *dx,
                              const ax_moe_ffn_grads *g, int poison) {
    dev_mirror m;
    dm_ffn_args a;
    dm_begin(&m, on_cuda ? c : NULL);
    dm_backward_args(&m, x, w, dy, dx, g, &a);
    ax_status st = AX_ERR_INTERNAL;
    if (dm_upload(&m, poison) == 0) st = ax_moe_ffn_backward(c, cfg, a.x, &a.w, a.dy, a.dx, &a.g);
    dm_finish(&m);
    return st;
}

/* ---- problems ---- */

typedef struct problem {
    ref_moe m;
    /* float64 values (what the reference reads) and their float copies (what the op reads) */
    double *x, *router, *gate, *up, *down, *dgate, *dup, *ddown;
    float *xf, *routerf, *gatef, *upf, *downf, *dgatef, *dupf, *ddownf;
} problem;

static double *rand_array(int64_t n, double scale) {
    double *a = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
    for (int64_t i = 0; i < n; i++) a[i] = th_uniform(-scale, scale);
    return a;
}

/* Rounds the float64 values to f32 (both sides then see the same numbers). */
static float *to_f32(double *a, int64_t n) {
    float *f = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    for (int64_t i = 0; i < n; i++) {
        f[i] = (float)a[i];
        a[i] = (double)f[i];
    }
    return f;
}

static void problem_make(problem *p, int64_t T, int64_t D, int64_t E, int64_t F, int64_t Fd, int64_t k, uint64_t seed) {
    memset(p, 0, sizeof *p);
    th_seed(seed);
    ref_moe *m = &p->m;
    m->T = T, m->D = D, m->E = E, m->F = F, m->Fd = Fd, m->k = k;
    m->gating = AX_MOE_SOFTMAX_TOPK, m->normalize = 1, m->act = AX_ACT_SILU;
    /* Scales keep every pre-activation O(1): x ~ 1, weights ~ 1/sqrt(fan-in); the router's larger
     * scale spreads the gating probabilities so top-k has clear gaps. */
    p->x = rand_array(T * D, 1.0);
    p->router = rand_array(E * D, 2.0 / sqrt((double)D));
    p->gate = rand_array(E * F * D, 1.5 / sqrt((double)D));
    p->up = rand_array(E * F * D, 1.5 / sqrt((double)D));
    p->down = rand_array(E * D * F, 1.5 / sqrt((double)F));
    p->xf = to_f32(p->x, T * D);
    p->routerf = to_f32(p->router, E * D);
    p->gatef = to_f32(p->gate, E * F * D);
    p->upf = to_f32(p->up, E * F * D);
    p->downf = to_f32(p->down, E * D * F);
    if (Fd > 0) {
        p->dgate = rand_array(Fd * D, 1.5 / sqrt((double)D));
        p->dup = rand_array(Fd * D, 1.5 / sqrt((double)D));
        p->ddown = rand_array(D * Fd, 1.5 / sqrt((double)Fd));
        p->dgatef = to_f32(p->dgate, Fd * D);
        p->dupf = to_f32(p->dup, Fd * D);
        p->ddownf = to_f32(p->ddown, D * Fd);
    }
    m->x = p->x, m->router = p->router, m->gate = p->gate, m->up = p->up, m->down = p->down;
    m->dgate = p->dgate, m->dup = p->dup, m->ddown = p->ddown;
}

static void problem_free(problem *p) {
    double *d[] = {p->x, p->router, p->gate, p->up, p->down, p->dgate, p->dup, p->ddown};
    float *f[] = {p->xf, p->routerf, p->gatef, p->upf, p->downf, p->dgatef, p->dupf, p->ddownf};
    for (int i = 0; i < 8; i++) {
        free(d[i]);
        free(f[i]);
    }
}

static ax_tensor tensor(void *data, ax_dtype dt, int32_t ndim, int64_t d0, int64_t d1, int64_t d2) {
    ax_tensor t;
    const int64_t shape[3] = {d0, d1, d2};
    ax_tensor_contiguous(&t, data, dt, ndim, shape);
    return t;
}

/* The op's weight tensors over the problem's float copies. */
typedef struct op_weights {
    ax_tensor router, gate, up, down, dgate, dup, ddown;
    ax_moe_ffn_weights w;
} op_weights;

static void op_weights_make(const problem *p, op_weights *o) {
    const ref_moe *m = &p->m;
    o->router = tensor(p->routerf, AX_F32, 2, m->E, m->D, 0);
    o->gate = tensor(p->gatef, AX_F32, 3, m->E, m->F, m->D);
    o->up = tensor(p->upf, AX_F32, 3, m->E, m->F, m->D);
    o->down = tensor(p->downf, AX_F32, 3, m->E, m->D, m->F);
    memset(&o->w, 0, sizeof o->w);
    o->w.router = &o->router, o->w.gate = &o->gate, o->w.up = &o->up, o->w.down = &o->down;
    if (m->Fd > 0) {
        o->dgate = tensor(p->dgatef, AX_F32, 2, m->Fd, m->D, 0);
        o->dup = tensor(p->dupf, AX_F32, 2, m->Fd, m->D, 0);
        o->ddown = tensor(p->ddownf, AX_F32, 2, m->D, m->Fd, 0);
        o->w.dense_gate = &o->dgate, o->w.dense_up = &o->dup, o->w.dense_down = &o->ddown;
    }
}

static ax_moe_ffn_config config_of(const ref_moe *m) {
    ax_moe_ffn_config cfg = AX_MOE_FFN_CONFIG_INIT;
    cfg.route.top_k = (int32_t)m->k;
    cfg.route.gating = (ax_moe_gating)m->gating;
    cfg.route.normalize = m->normalize;
    cfg.route.capacity_factor = (float)m->capacity_factor;
    cfg.route.min_capacity = m->min_capacity;
    cfg.act = (ax_activation_kind)m->act;
    return cfg;
}

static double max_abs(const double *a, int64_t n) {
    double mx = 0.0;
    for (int64_t i = 0; i < n; i++) mx = fmax(mx, fabs(a[i]));
    return mx;
}

/* max |got - want| over n values */
static double max_err_f(const float *got, const double *want, int64_t n) {
    double e = 0.0;
    for (int64_t i = 0; i < n; i++) e = fmax(e, fabs((double)got[i] - want[i]));
    return e;
}

/* The forward cases compare with float64 without steering clear of near ties: the CPU, cuBLAS and the
 * CUDA kernels form the fp32 logits in different orders (a few units of 2^-24 apart), so a case is
 * only meaningful on every backend if no token's k-th choice is that close to the next expert. A
 * property of the fixed seeds, checked so a changed seed cannot make a case flaky on one backend. */
static void check_clear_routing(const ref_out *r) {
    th_checks++;
    if (!(r->min_gap > 1e-4)) TH_FAIL("the case's routing has a near tie (p gap %.3g): pick another seed", r->min_gap);
}

/* ---- forward, f32 ---- */

/* Tolerance of an f32 forward against float64: each output is three chained fp32 dot products (D,
 * F, then at most k + 1 terms of the combine) of O(1) terms, about (D + F + k) * 2^-24 ~ 2e-6 of the
 * output scale each; 2e-5 of max |y| leaves a 10x margin, while one wrong choice, weight or drop
 * moves y by O(max |y|). */
#define FWD_F32_REL 2e-5

static void forward_case_f(ref_moe *overrides, int64_t T, int64_t F, int64_t Fd, uint64_t seed, int expect_drops) {
    problem p;
    problem_make(&p, T, 16, 5, F, Fd, overrides->k, seed);
    p.m.gating = overrides->gating, p.m.normalize = overrides->normalize, p.m.act = overrides->act;
    p.m.capacity_factor = overrides->capacity_factor, p.m.min_capacity = overrides->min_capacity;
    ref_out r;
    ref_forward(&p.m, &r);
    check_clear_routing(&r);
    if (expect_drops) CHECK(r.dropped > 0); /* the case exercises the capacity */
    else CHECK_INT_EQ(r.dropped, 0);
    op_weights o;
    op_weights_make(&p, &o);
    float *y = malloc(sizeof(float) * (size_t)(T * 16 + 1)), losses[2] = {-1.0f, -1.0f};
    ax_tensor tx = tensor(p.xf, AX_F32, 2, T, 16, 0), ty = tensor(y, AX_F32, 2, T, 16, 0), tl = tensor(losses, AX_F32, 1, 2, 0, 0);
    const ax_moe_ffn_config cfg = config_of(&p.m);
    CHECK_OK(ffn_forward(ctx, &cfg, &tx, &o.w, &ty, &tl, 1));
    const double scale = max_abs(r.y, T * 16);
    const double err = max_err_f(y, r.y, T * 16);
    if (!(err <= FWD_F32_REL * scale)) TH_FAIL("y: max error %.3g, tolerance %.3g (max |y| %.3g)", err, FWD_F32_REL * scale, scale);
    th_checks++;
    /* aux and z: sums of T * E probabilities, relative fp32 error ~ E * 2^-24 each */
    CHECK(fabs(losses[0] - r.aux) <= 1e-5 * fmax(1.0, r.aux));
    CHECK(fabs(losses[1] - r.z) <= 1e-5 * fmax(1.0, r.z));
    free(y);
    ref_out_free(&r);
    problem_free(&p);
}

static void forward_case(ref_moe *overrides, int64_t T, int64_t Fd, uint64_t seed, int expect_drops) {
    forward_case_f(overrides, T, 12, Fd, seed, expect_drops);
}

/* Experts of width 0: y is the dense MLP's alone. An internal buffer of 0 columns had been made 1-D
 * and refused after the losses were written. */
static void test_forward_zero_width_experts(void) {
    ref_moe c = {.k = 2, .gating = AX_MOE_SOFTMAX_TOPK, .normalize = 1, .act = AX_ACT_SILU};
    forward_case_f(&c, 9, 0, 7, 14, 0);
}

/* Measure mode's peak is enough for the real call: a context limited to it runs the layer. It had
 * counted the layer's own scratch only, below the grouped GEMMs' 16-row panels at decode sizes
 * (T = 1, k = 8: 23808 bytes measured, 131072 needed), so such a context failed with
 * AX_ERR_OUT_OF_MEMORY. */
static void test_measure_covers_real_call(void) {
    const int64_t T = 1, D = 256, E = 8, F = 64, k = 8;
    problem p;
    problem_make(&p, T, D, E, F, 0, k, 15);
    op_weights o;
    op_weights_make(&p, &o);
    float y[256], dx[256];
    ax_tensor tx = tensor(p.xf, AX_F32, 2, T, D, 0), ty = tensor(y, AX_F32, 2, T, D, 0);
    ax_tensor tdx = tensor(dx, AX_F32, 2, T, D, 0);
    const ax_moe_ffn_config cfg = config_of(&p.m);
    const ax_moe_ffn_grads none = {0};
    for (int backward = 0; backward < 2; backward++) {
        ax_context *m = NULL, *limited = NULL;
        ax_context_config cc = AX_CONTEXT_CONFIG_INIT;
        cc.num_threads = 2;
        CHECK_OK(ax_context_create(&m, &cc));
        if (m == NULL) break;
        CHECK_OK(ax_context_set_measure(m, 1));
        if (backward) CHECK_OK(ax_moe_ffn_backward(m, &cfg, &tx, &o.w, &ty, &tdx, &none));
        else CHECK_OK(ax_moe_ffn_forward(m, &cfg, &tx, &o.w, &ty, NULL));
        cc.workspace_limit = ax_context_workspace_peak(m);
        ax_context_destroy(m);
        CHECK_OK(ax_context_create(&limited, &cc));
        if (limited == NULL) break;
        for (int i = 0; i < 256; i++) y[i] = 1.0f;
        if (backward) CHECK_OK(ax_moe_ffn_backward(limited, &cfg, &tx, &o.w, &ty, &tdx, &none));
        else CHECK_OK(ax_moe_ffn_forward(limited, &cfg, &tx, &o.w, &ty, NULL));
        ax_context_destroy(limited);
    }
    problem_free(&p);
}

static void test_forward_softmax_dense(void) {
    ref_moe c = {.k = 2, .gating = AX_MOE_SOFTMAX_TOPK, .normalize = 1, .act = AX_ACT_SILU};
    forward_case(&c, 13, 10, 11, 0);
}

static void test_forward_capacity_sigmoid(void) {
    /* C = max(0, ceil(13 * 0.5 / 5)) = 2 slots per expert for 26 choices: many drops */
    ref_moe c = {.k = 2, .gating = AX_MOE_SIGMOID_TOPK, .normalize = 0, .act = AX_ACT_SILU, .capacity_factor = 0.5};
    forward_case(&c, 13, 0, 12, 1);
}

static void test_forward_capacity_min_gelu_dense(void) {
    /* C = max(3, ceil(9 * 0.25 / 5) = 1) = 3, k = 3, GeGLU experts, dense MLP */
    ref_moe c = {.k = 3, .gating = AX_MOE_SOFTMAX_TOPK, .normalize = 1, .act = AX_ACT_GELU_ERF,
                 .capacity_factor = 0.25, .min_capacity = 3};
    forward_case(&c, 9, 7, 13, 1);
}

static void test_forward_top1_all(void) {
    ref_moe c = {.k = 1, .gating = AX_MOE_SOFTMAX_TOPK, .normalize = 0, .act = AX_ACT_GELU_TANH};
    forward_case(&c, 17, 0, 14, 0);
    ref_moe all = {.k = 5, .gating = AX_MOE_SOFTMAX_TOPK, .normalize = 0, .act = AX_ACT_SILU};
    forward_case(&all, 6, 4, 15, 0);
}

/* ---- forward, bf16 activations ---- */

static uint16_t bf16_of(double v) { return ax_f32_to_bf16((float)v); }

static void test_forward_bf16(void) {
    const int64_t T = 11, D = 16;
    problem p;
    problem_make(&p, T, D, 5, 12, 6, 2, 22);
    /* x rounded to bf16 on both sides; y in bf16 gets one more rounding (2^-9 relative). */
    uint16_t *xb = malloc(sizeof(uint16_t) * (size_t)(T * D)), *yb = malloc(sizeof(uint16_t) * (size_t)(T * D));
    for (int64_t i = 0; i < T * D; i++) {
        xb[i] = bf16_of(p.x[i]);
        p.x[i] = (double)ax_bf16_to_f32(xb[i]);
    }
    ref_out r;
    ref_forward(&p.m, &r);
    check_clear_routing(&r);
    op_weights o;
    op_weights_make(&p, &o);
    ax_tensor tx = tensor(xb, AX_BF16, 2, T, D, 0), ty = tensor(yb, AX_BF16, 2, T, D, 0);
    const ax_moe_ffn_config cfg = config_of(&p.m);
    CHECK_OK(ffn_forward(ctx, &cfg, &tx, &o.w, &ty, NULL, 1));
    const double scale = max_abs(r.y, T * D);
    double err_excess = 0.0;
    for (int64_t i = 0; i < T * D; i++) {
        /* one rounding of y to bf16 (half a unit: 2^-9 relative) plus the f32 error above */
        const double tol = fabs(r.y[i]) * 0x1p-8 + FWD_F32_REL * scale;
        err_excess = fmax(err_excess, fabs((double)ax_bf16_to_f32(yb[i]) - r.y[i]) - tol);
    }
    CHECK(err_excess <= 0.0);
    free(xb);
    free(yb);
    ref_out_free(&r);
    problem_free(&p);
}

/* ---- forward, f16 and bf16 weights (a GGUF file's unquantized types) ---- */

/* Rounds n weights to f16 (or bf16) bits; the float64 values become the rounded ones. */
static uint16_t *half_of(double *a, int64_t n, ax_dtype dt) {
    uint16_t *h = malloc(sizeof(uint16_t) * (size_t)(n > 0 ? n : 1));
    for (int64_t i = 0; i < n; i++) {
        h[i] = dt == AX_F16 ? ax_f32_to_f16((float)a[i]) : ax_f32_to_bf16((float)a[i]);
        a[i] = dt == AX_F16 ? (double)ax_f16_to_f32(h[i]) : (double)ax_bf16_to_f32(h[i]);
    }
    return h;
}

static void test_forward_half_weights(void) {
    const int64_t T = 10, D = 16, E = 5, F = 12, Fd = 6;
    problem p;
    problem_make(&p, T, D, E, F, Fd, 2, 25);
    /* router and experts f16, dense bf16; x stays f32: every product widens w and sums in fp32 */
    uint16_t *r16 = half_of(p.router, E * D, AX_F16), *g16 = half_of(p.gate, E * F * D, AX_F16);
    uint16_t *u16 = half_of(p.up, E * F * D, AX_F16), *d16 = half_of(p.down, E * D * F, AX_F16);
    uint16_t *dg = half_of(p.dgate, Fd * D, AX_BF16), *du = half_of(p.dup, Fd * D, AX_BF16);
    uint16_t *dd = half_of(p.ddown, D * Fd, AX_BF16);
    ref_out r;
    ref_forward(&p.m, &r);
    check_clear_routing(&r);
    ax_tensor router = tensor(r16, AX_F16, 2, E, D, 0), gate = tensor(g16, AX_F16, 3, E, F, D);
    ax_tensor up = tensor(u16, AX_F16, 3, E, F, D), down = tensor(d16, AX_F16, 3, E, D, F);
    ax_tensor tdg = tensor(dg, AX_BF16, 2, Fd, D, 0), tdu = tensor(du, AX_BF16, 2, Fd, D, 0);
    ax_tensor tdd = tensor(dd, AX_BF16, 2, D, Fd, 0);
    ax_moe_ffn_weights w = {&router, &gate, &up, &down, &tdg, &tdu, &tdd};
    float *y = malloc(sizeof(float) * (size_t)(T * D));
    ax_tensor tx = tensor(p.xf, AX_F32, 2, T, D, 0), ty = tensor(y, AX_F32, 2, T, D, 0);
    const ax_moe_ffn_config cfg = config_of(&p.m);
    CHECK_OK(ffn_forward(ctx, &cfg, &tx, &w, &ty, NULL, 1));
    const double scale = max_abs(r.y, T * D), err = max_err_f(y, r.y, T * D);
    if (!(err <= FWD_F32_REL * scale)) TH_FAIL("y: max error %.3g, tolerance %.3g", err, FWD_F32_REL * scale);
    th_checks++;
    free(r16), free(g16), free(u16), free(d16), free(dg), free(du), free(dd), free(y);
    ref_out_free(&r);
    problem_free(&p);
}

/* ---- forward, block-quantized weights ---- */

/* A random fp16 scale exactly representable: (1 + m / 1024) * 2^-e, written as its bits. */
static uint16_t rand_f16_scale(double *value, int e_lo, int e_hi) {
    const int e = e_lo + (int)(th_rand_u64() % (uint64_t)(e_hi - e_lo + 1));
    const int m = (int)(th_rand_u64() % 1024);
    *value = (1.0 + m / 1024.0) * ldexp(1.0, -e);
    return (uint16_t)(((15 - e) << 10) | m);
}

/* Fills n rows of K elements of q8_0 (or q4_0) blocks with random levels; deq gets the exact values. */
static void rand_quant(ax_dtype dt, int64_t rows, int64_t K, uint8_t *bytes, double *deq) {
    const int64_t blocks = K / 32;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t b = 0; b < blocks; b++) {
            double d;
            /* levels up to 127 (q8_0) or 8 (q4_0): pick the scale so |w| ~ 1/sqrt(K) */
            const uint16_t bits = rand_f16_scale(&d, dt == AX_Q8_0 ? 10 : 6, dt == AX_Q8_0 ? 11 : 7);
            uint8_t *blk = bytes + (r * blocks + b) * (dt == AX_Q8_0 ? 34 : 18);
            blk[0] = (uint8_t)(bits & 0xff), blk[1] = (uint8_t)(bits >> 8);
            double *out = deq + r * K + b * 32;
            for (int i = 0; i < 32; i++) {
                if (dt == AX_Q8_0) {
                    const int q = (int)(th_rand_u64() % 255) - 127;
                    blk[2 + i] = (uint8_t)(int8_t)q;
                    out[i] = d * q;
                } else {
                    const int q = (int)(th_rand_u64() % 16);
                    if (i < 16) blk[2 + i] = (uint8_t)q;
                    else blk[2 + i - 16] |= (uint8_t)(q << 4);
                    out[i] = d * (q - 8);
                }
            }
        }
}

/* ax_qmatmul's bound for one output of a row a (K) times a dequantized weight row w (K): half an x
 * step per element, groups G = the largest of 256, 128, 64, 32 dividing K. */
static double qbound(const double *a, const double *w, int64_t K) {
    const int64_t G = K % 256 == 0 ? 256 : K % 128 == 0 ? 128 : K % 64 == 0 ? 64 : 32;
    double b = 0.0;
    for (int64_t g0 = 0; g0 < K; g0 += G) {
        double amax = 0.0, wsum = 0.0;
        for (int64_t i = g0; i < g0 + G; i++) {
            amax = fmax(amax, fabs(a[i]));
            wsum += fabs(w[i]);
        }
        b += amax / 254.0 * wsum;
    }
    return b;
}

/* The error bound of one SwiGLU MLP (gate, up: (F, D); down: (D, F), dequantized values) on x row
 * xt, propagated to first order: the gate and up products are each off by at most their qbound; h =
 * silu(g) u then by |silu'(g) u| eg + |silu(g)| eu; the down product multiplies a perturbed h (its
 * own qbound, taken with |h| + dh as the amax) and carries sum |w_down| dh. Adds into bound (D). */
static void mlp_bound(const double *gate, const double *up, const double *down, int64_t D, int64_t F, const double *xt,
                      double scale, double *bound) {
    double *h = malloc(sizeof(double) * (size_t)F), *dh = malloc(sizeof(double) * (size_t)F);
    for (int64_t f = 0; f < F; f++) {
        double g = 0.0, u = 0.0;
        for (int64_t d = 0; d < D; d++) g += xt[d] * gate[f * D + d], u += xt[d] * up[f * D + d];
        const double eg = qbound(xt, gate + f * D, D), eu = qbound(xt, up + f * D, D);
        const double sg = 1.0 / (1.0 + exp(-g)), silu = g * sg, dsilu = sg * (1.0 + g * (1.0 - sg));
        h[f] = silu * u;
        /* |silu''| <= 0.5: the second-order terms, then a 1.1 margin for fp32 */
        dh[f] = 1.1 * (fabs(dsilu * u) * eg + (fabs(silu) + 1.1 * eg) * eu + 0.25 * eg * eg * fabs(u));
    }
    double *hp = malloc(sizeof(double) * (size_t)F);
    for (int64_t f = 0; f < F; f++) hp[f] = fabs(h[f]) + dh[f];
    for (int64_t d = 0; d < D; d++) {
        double carried = 0.0;
        for (int64_t f = 0; f < F; f++) carried += fabs(down[d * F + f]) * dh[f];
        bound[d] += scale * (carried + qbound(hp, down + d * F, F));
    }
    free(h), free(dh), free(hp);
}

/* The CUDA tolerance of the quantized cases (see below): the fp32 error of chained products of length
 * D = 64 and F = 32, ~(D + F + k) * 2^-24 ~ 6e-6 of the terms' scale at worst; 5e-5 of max |y| covers
 * that 8 times over (a CPU run of these two cases with the decoded weights given as f32 measured
 * 3e-7 and 4e-7), while one misdecoded block (one of gate's blocks negated, or one of up's scaled by
 * 1.5, in the same experiment) moved y by 1e-2 to 3e-1 of max |y|. */
#define FWD_QUANT_CUDA_REL 5e-5

static void quant_case(ax_dtype dt, int with_dense) {
    const int64_t T = 9, D = 64, E = 4, F = 32, Fd = with_dense ? 32 : 0, k = 2;
    problem p;
    problem_make(&p, T, D, E, F, Fd, k, 31 + (uint64_t)dt);
    const int64_t bb = dt == AX_Q8_0 ? 34 : 18;
    uint8_t *qg = malloc((size_t)(E * F * D / 32 * bb)), *qu = malloc((size_t)(E * F * D / 32 * bb));
    uint8_t *qd = malloc((size_t)(E * D * F / 32 * bb));
    rand_quant(dt, E * F, D, qg, p.gate);
    rand_quant(dt, E * F, D, qu, p.up);
    rand_quant(dt, E * D, F, qd, p.down);
    uint8_t *qdg = NULL, *qdu = NULL, *qdd = NULL;
    if (with_dense) {
        qdg = malloc((size_t)(Fd * D / 32 * bb)), qdu = malloc((size_t)(Fd * D / 32 * bb));
        qdd = malloc((size_t)(D * Fd / 32 * bb));
        rand_quant(dt, Fd, D, qdg, p.dgate);
        rand_quant(dt, Fd, D, qdu, p.dup);
        rand_quant(dt, D, Fd, qdd, p.ddown);
    }
    ref_out r;
    ref_forward(&p.m, &r);
    check_clear_routing(&r);
    double *bound = calloc((size_t)(T * D), sizeof(double));
    for (int64_t t = 0; t < T; t++) {
        for (int64_t j = 0; j < k; j++) {
            const int32_t e = r.ids[t * k + j];
            if (e >= 0)
                mlp_bound(p.gate + e * F * D, p.up + e * F * D, p.down + e * D * F, D, F, p.x + t * D,
                          r.weights[t * k + j], bound + t * D);
        }
        if (with_dense) mlp_bound(p.dgate, p.dup, p.ddown, D, Fd, p.x + t * D, 1.0, bound + t * D);
    }
    const double scale = max_abs(r.y, T * D);
    ax_tensor router = tensor(p.routerf, AX_F32, 2, E, D, 0);
    ax_tensor gate = tensor(qg, dt, 3, E, F, D), up = tensor(qu, dt, 3, E, F, D), down = tensor(qd, dt, 3, E, D, F);
    ax_tensor dg = tensor(qdg, dt, 2, Fd, D, 0), du = tensor(qdu, dt, 2, Fd, D, 0), dd = tensor(qdd, dt, 2, D, Fd, 0);
    ax_moe_ffn_weights w = {&router, &gate, &up, &down, NULL, NULL, NULL};
    if (with_dense) w.dense_gate = &dg, w.dense_up = &du, w.dense_down = &dd;
    float *y = malloc(sizeof(float) * (size_t)(T * D));
    ax_tensor tx = tensor(p.xf, AX_F32, 2, T, D, 0), ty = tensor(y, AX_F32, 2, T, D, 0);
    const ax_moe_ffn_config cfg = config_of(&p.m);
    CHECK_OK(ffn_forward(ctx, &cfg, &tx, &w, &ty, NULL, 1));
    double worst = 0.0, max_bound = 0.0, sum_err = 0.0, sum_bound = 0.0;
    for (int64_t i = 0; i < T * D; i++) {
        const double tol = bound[i] + 1e-5 * scale; /* plus fp32 accumulation */
        const double err = fabs((double)y[i] - r.y[i]);
        worst = fmax(worst, err / tol);
        max_bound = fmax(max_bound, bound[i]);
        sum_err += err, sum_bound += bound[i];
    }
    if (!(worst <= 1.0)) TH_FAIL("%s: error reaches %.3g of the bound", ax_dtype_name(dt), worst);
    th_checks++;
    /* The bound is a worst case (every x rounding error aligned with its weight's sign); the real
     * errors are sums of independent zero-mean roundings, which grow like the square root of the
     * terms, so on average they stay far inside it (measured: ~3% on these shapes). Requiring the
     * mean error under a quarter of the mean bound, and the bound under half of max |y|, makes the
     * check one that a wrong expert, weight or a dropped dense MLP (errors O(max |y|)) cannot pass. */
    CHECK(sum_err <= 0.25 * sum_bound);
    CHECK(max_bound < 0.5 * scale);
    if (on_cuda) {
        /* CUDA decodes w's blocks in the kernel and does not quantize x (moe.h): the decoded values
         * (an f16 scale times a small integer) are exact in fp32, so y carries only the fp32 error of
         * the f32 cases; the bound above is then far too loose to notice a misdecoded block. */
        double err = 0.0;
        for (int64_t i = 0; i < T * D; i++) err = fmax(err, fabs((double)y[i] - r.y[i]));
        th_checks++;
        if (!(err <= FWD_QUANT_CUDA_REL * scale))
            TH_FAIL("%s on CUDA: max error %.3g, tolerance %.3g (max |y| %.3g)", ax_dtype_name(dt), err,
                    FWD_QUANT_CUDA_REL * scale, scale);
    }
    free(y), free(bound), free(qg), free(qu), free(qd), free(qdg), free(qdu), free(qdd);
    ref_out_free(&r);
    problem_free(&p);
}

static void test_forward_q8_0(void) { quant_case(AX_Q8_0, 1); }
static void test_forward_q4_0(void) { quant_case(AX_Q4_0, 0); }

/* ---- backward ---- */

/* The op's f32 gradient against central differences of the float64 objective (h = 1e-5: truncation
 * error ~ h^2 |J'''| ~ 1e-10, rounding ~ 1e-16 |J| / h ~ 1e-10, both negligible). The op's own
 * error: the recomputed forward and then about six chained fp32 products of length <= max(D, F, T)
 * = 16, ~ 16 * 2^-24 ~ 1e-6 of the magnitudes each; 1e-4 of the tensor's largest gradient (plus
 * 1e-6 absolute for all-small tensors) is a 10x+ margin, while a missing term of the chain (a loss,
 * a capacity drop, the renormalisation) changes gradients by O(their size). */
#define BWD_REL 1e-4

static void check_grad(const char *name, const float *got, const double *want, int64_t n) {
    const double scale = max_abs(want, n);
    const double err = max_err_f(got, want, n);
    th_checks++;
    if (!(err <= BWD_REL * scale + 1e-6)) TH_FAIL("%s: max error %.3g vs max |grad| %.3g", name, err, scale);
    if (!(scale > 1e-3)) TH_FAIL("%s: reference gradient is ~0 (%.3g): the case tests nothing", name, scale);
}

static void backward_case(const ref_moe *c, int64_t T, int64_t Fd, double aux_coef, double z_coef, uint64_t seed) {
    const int64_t D = 16, E = 5, F = 12;
    problem p;
    /* Redraw until every token's top-k has a clear gap to the next expert, so the finite differences
     * never cross a selection boundary. */
    for (uint64_t s = seed;; s += 1000) {
        problem_make(&p, T, D, E, F, Fd, c->k, s);
        p.m.gating = c->gating, p.m.normalize = c->normalize, p.m.act = c->act;
        p.m.capacity_factor = c->capacity_factor, p.m.min_capacity = c->min_capacity;
        ref_out r;
        ref_forward(&p.m, &r);
        const double gap = r.min_gap;
        const int64_t dropped = r.dropped;
        ref_out_free(&r);
        if (gap > 2e-3 && (c->capacity_factor == 0.0 || dropped > 0)) break;
        problem_free(&p);
    }
    double *dy = rand_array(T * D, 1.0);
    float *dyf = to_f32(dy, T * D);
    op_weights o;
    op_weights_make(&p, &o);
    float *dx = malloc(sizeof(float) * (size_t)(T * D)), *grouter = malloc(sizeof(float) * (size_t)(E * D));
    float *ggate = malloc(sizeof(float) * (size_t)(E * F * D)), *gup = malloc(sizeof(float) * (size_t)(E * F * D));
    float *gdown = malloc(sizeof(float) * (size_t)(E * D * F));
    float *gdg = malloc(sizeof(float) * (size_t)(Fd * D + 1)), *gdu = malloc(sizeof(float) * (size_t)(Fd * D + 1));
    float *gdd = malloc(sizeof(float) * (size_t)(D * Fd + 1));
    ax_tensor tx = tensor(p.xf, AX_F32, 2, T, D, 0), tdy = tensor(dyf, AX_F32, 2, T, D, 0), tdx = tensor(dx, AX_F32, 2, T, D, 0);
    ax_tensor tgr = tensor(grouter, AX_F32, 2, E, D, 0), tgg = tensor(ggate, AX_F32, 3, E, F, D);
    ax_tensor tgu = tensor(gup, AX_F32, 3, E, F, D), tgd = tensor(gdown, AX_F32, 3, E, D, F);
    ax_tensor tgdg = tensor(gdg, AX_F32, 2, Fd, D, 0), tgdu = tensor(gdu, AX_F32, 2, Fd, D, 0);
    ax_tensor tgdd = tensor(gdd, AX_F32, 2, D, Fd, 0);
    ax_moe_ffn_grads g = {&tgr, &tgg, &tgu, &tgd, NULL, NULL, NULL};
    if (Fd > 0) g.dense_gate = &tgdg, g.dense_up = &tgdu, g.dense_down = &tgdd;
    ax_moe_ffn_config cfg = config_of(&p.m);
    cfg.aux_coef = (float)aux_coef, cfg.z_coef = (float)z_coef;
    CHECK_OK(ffn_backward(ctx, &cfg, &tx, &o.w, &tdy, &tdx, &g, 1));

    const double h = 1e-5;
    struct { const char *name; double *param; int64_t n; const float *got; } checks[] = {
        {"dx", p.x, T * D, dx},          {"grads->router", p.router, E * D, grouter},
        {"grads->gate", p.gate, E * F * D, ggate}, {"grads->up", p.up, E * F * D, gup},
        {"grads->down", p.down, E * D * F, gdown}, {"grads->dense_gate", p.dgate, Fd * D, gdg},
        {"grads->dense_up", p.dup, Fd * D, gdu},   {"grads->dense_down", p.ddown, D * Fd, gdd},
    };
    for (int i = 0; i < (Fd > 0 ? 8 : 5); i++) {
        double *want = malloc(sizeof(double) * (size_t)checks[i].n);
        ref_fd_grad(&p.m, checks[i].param, checks[i].n, dy, aux_coef, z_coef, h, want);
        check_grad(checks[i].name, checks[i].got, want, checks[i].n);
        free(want);
    }
    free(dy), free(dyf), free(dx), free(grouter), free(ggate), free(gup), free(gdown), free(gdg), free(gdu), free(gdd);
    problem_free(&p);
}

static void test_backward_softmax_capacity_dense_losses(void) {
    /* C = ceil(10 * 0.6 / 5) = 2 of 20 choices per expert: drops; aux and z in the objective */
    ref_moe c = {.k = 2, .gating = AX_MOE_SOFTMAX_TOPK, .normalize = 1, .act = AX_ACT_SILU, .capacity_factor = 0.6};
    backward_case(&c, 10, 6, 0.3, 0.05, 41);
}

static void test_backward_sigmoid_top1(void) {
    ref_moe c = {.k = 1, .gating = AX_MOE_SIGMOID_TOPK, .normalize = 0, .act = AX_ACT_GELU_TANH};
    backward_case(&c, 8, 0, 0.5, 0.0, 42);
}

static void test_backward_top3_normalized(void) {
    ref_moe c = {.k = 3, .gating = AX_MOE_SOFTMAX_TOPK, .normalize = 1, .act = AX_ACT_SILU};
    backward_case(&c, 7, 5, 0.0, 0.2, 43);
}

/* ---- empty batches ---- */

static void test_empty(void) {
    problem p;
    problem_make(&p, 0, 16, 5, 12, 4, 2, 51);
    op_weights o;
    op_weights_make(&p, &o);
    float y[1], losses[2] = {7.0f, 7.0f};
    ax_tensor tx = tensor(p.xf, AX_F32, 2, 0, 16, 0), ty = tensor(y, AX_F32, 2, 0, 16, 0), tl = tensor(losses, AX_F32, 1, 2, 0, 0);
    const ax_moe_ffn_config cfg = config_of(&p.m);
    CHECK_OK(ffn_forward(ctx, &cfg, &tx, &o.w, &ty, &tl, 0));
    CHECK(losses[0] == 0.0f && losses[1] == 0.0f);
    float *ggate = malloc(sizeof(float) * 5 * 12 * 16), *grouter = malloc(sizeof(float) * 5 * 16);
    for (int i = 0; i < 5 * 12 * 16; i++) ggate[i] = 9.0f;
    for (int i = 0; i < 5 * 16; i++) grouter[i] = 9.0f;
    ax_tensor tgg = tensor(ggate, AX_F32, 3, 5, 12, 16), tgr = tensor(grouter, AX_F32, 2, 5, 16, 0);
    ax_moe_ffn_grads g = {&tgr, &tgg, NULL, NULL, NULL, NULL, NULL};
    CHECK_OK(ffn_backward(ctx, &cfg, &tx, &o.w, &ty, NULL, &g, 0));
    /* no tokens: every gradient is zero (overwritten, not left) */
    int zero = 1;
    for (int i = 0; i < 5 * 12 * 16; i++) zero &= ggate[i] == 0.0f;
    for (int i = 0; i < 5 * 16; i++) zero &= grouter[i] == 0.0f;
    CHECK(zero);
    free(ggate), free(grouter);
    problem_free(&p);
}

/* ---- errors ---- */

static void test_errors(void) {
    const int64_t T = 4, D = 16;
    problem p;
    problem_make(&p, T, D, 5, 12, 4, 2, 61);
    op_weights o;
    op_weights_make(&p, &o);
    float y[4 * 16];
    ax_tensor tx = tensor(p.xf, AX_F32, 2, T, D, 0), ty = tensor(y, AX_F32, 2, T, D, 0);
    ax_moe_ffn_config cfg = config_of(&p.m);
#define EXPECT_FWD(cfgp, wp, yp, needle)                                                     \
    do {                                                                                     \
        for (int i_ = 0; i_ < T * D; i_++) y[i_] = 123.0f;                                   \
        CHECK_STATUS(ffn_forward(ctx, cfgp, &tx, wp, yp, NULL, 0), AX_ERR_INVALID_ARGUMENT); \
        CHECK_CONTAINS(ax_last_error(), needle);                                             \
        int same_ = 1;                                                                       \
        for (int i_ = 0; i_ < T * D; i_++) same_ &= y[i_] == 123.0f;                         \
        CHECK(same_);                                                                        \
    } while (0)
    EXPECT_FWD(NULL, &o.w, &ty, "cfg");
    ax_moe_ffn_config bad = cfg;
    bad.route.top_k = 6;
    EXPECT_FWD(&bad, &o.w, &ty, "top_k");
    bad = cfg;
    bad.route.capacity_factor = -1.0f;
    EXPECT_FWD(&bad, &o.w, &ty, "capacity_factor");
    bad = cfg;
    bad.act = (ax_activation_kind)7;
    EXPECT_FWD(&bad, &o.w, &ty, "act");
    ax_moe_ffn_weights w2 = o.w;
    w2.dense_up = NULL;
    EXPECT_FWD(&cfg, &w2, &ty, "dense");
    ax_tensor gate_bad = o.gate;
    gate_bad.shape[2] = 8; /* D of 8 against x's 16 */
    w2 = o.w;
    w2.gate = &gate_bad;
    EXPECT_FWD(&cfg, &w2, &ty, "w->gate");
    ax_tensor down_bad = tensor(p.downf, AX_F32, 3, 4, 16, 12); /* 4 experts, router has 5 */
    w2 = o.w;
    w2.down = &down_bad;
    EXPECT_FWD(&cfg, &w2, &ty, "w->down");
    ax_tensor y_over = tensor(p.xf, AX_F32, 2, T, D, 0); /* y is x */
    CHECK_STATUS(ffn_forward(ctx, &cfg, &tx, &o.w, &y_over, NULL, 0), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "overlap");
    /* the backward is f32 only */
    uint16_t xb[4 * 16] = {0};
    ax_tensor txb = tensor(xb, AX_BF16, 2, T, D, 0);
    ax_moe_ffn_grads g = {0};
    CHECK_STATUS(ffn_backward(ctx, &cfg, &txb, &o.w, &ty, NULL, &g, 0), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "x: dtype");
    bad = cfg;
    bad.aux_coef = NAN;
    CHECK_STATUS(ffn_backward(ctx, &bad, &tx, &o.w, &ty, NULL, &g, 0), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "cfg->aux_coef: nan");
    bad = cfg;
    bad.z_coef = INFINITY; /* the message names the bad one only (it had named both) */
    CHECK_STATUS(ffn_backward(ctx, &bad, &tx, &o.w, &ty, NULL, &g, 0), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "cfg->z_coef: inf");
    CHECK(strstr(ax_last_error(), "aux_coef") == NULL);
    int same = 1;
    if (!on_cuda) {
        /* Layouts one of the layer's products refuses are refused up front, before any op writes:
         * an expert weight broadcast along its rows (stride 0), and a dx whose rows run backwards. */
        ax_tensor gate_b = o.gate;
        gate_b.strides[1] = 0;
        w2 = o.w;
        w2.gate = &gate_b;
        EXPECT_FWD(&cfg, &w2, &ty, "w->gate: stride 0 of dim 1 is below the row length 16");
        float dxb[4 * 16];
        for (int i = 0; i < T * D; i++) dxb[i] = 123.0f;
        ax_tensor tdx = tensor(dxb + (T - 1) * D, AX_F32, 2, T, D, 0);
        tdx.strides[0] = -D;
        ax_tensor tdy = tensor(y, AX_F32, 2, T, D, 0);
        CHECK_STATUS(ax_moe_ffn_backward(ctx, &cfg, &tx, &o.w, &tdy, &tdx, &g), AX_ERR_INVALID_ARGUMENT);
        CHECK_CONTAINS(ax_last_error(), "dx: stride -16 of dim 0");
        same = 1;
        for (int i = 0; i < T * D; i++) same &= dxb[i] == 123.0f;
        CHECK(same);
        /* T * k sorted rows past the CPU BLAS limit (2^30 tokens, k = 2): refused up front, the
         * losses untouched (they had been written by the routing before the grouped GEMM refused
         * the rows). The tensors only describe the sizes: nothing may be read or written. */
        ax_tensor tx_huge = tx, ty_huge = ty;
        tx_huge.shape[0] = ty_huge.shape[0] = (int64_t)1 << 30;
        float loss_out[2] = {123.0f, 123.0f};
        const int64_t two[1] = {2};
        ax_tensor tl;
        CHECK_OK(ax_tensor_contiguous(&tl, loss_out, AX_F32, 1, two));
        CHECK_STATUS(ax_moe_ffn_forward(ctx, &cfg, &tx_huge, &o.w, &ty_huge, &tl), AX_ERR_UNSUPPORTED);
        CHECK_CONTAINS(ax_last_error(), "x: T = 1073741824 tokens x top_k 2 = 2147483648 sorted rows exceed");
        CHECK(loss_out[0] == 123.0f && loss_out[1] == 123.0f);
    }
    /* a workspace limit below the layer's scratch (on CUDA the device pool's share) */
    ax_context *small = NULL;
    ax_context_config cc = AX_CONTEXT_CONFIG_INIT;
    cc.device = ax_context_device(ctx);
    cc.workspace_limit = 1024;
    CHECK_OK(ax_context_create(&small, &cc));
    for (int i = 0; i < T * D; i++) y[i] = 123.0f;
    CHECK_STATUS(ffn_forward(small, &cfg, &tx, &o.w, &ty, NULL, 0), AX_ERR_OUT_OF_MEMORY);
    same = 1;
    for (int i = 0; i < T * D; i++) same &= y[i] == 123.0f;
    CHECK(same);
    ax_context_destroy(small);
    if (on_cuda) {
        /* A host tensor given to a CUDA context: refused by name before anything runs, y on the
         * device untouched. The router stays the host's copy; the rest is mirrored as usual. */
        dev_mirror m;
        dm_begin(&m, ctx);
        ax_moe_ffn_weights dw;
        const ax_tensor *mx = dm_in(&m, &tx);
        dm_weights(&m, &o.w, &dw);
        ax_tensor *my = dm_out(&m, &ty);
        for (int i = 0; i < T * D; i++) y[i] = 123.0f;
        if (dm_upload(&m, 0) == 0) {
            dw.router = &o.router;
            CHECK_STATUS(ax_moe_ffn_forward(ctx, &cfg, mx, &dw, my, NULL), AX_ERR_INVALID_ARGUMENT);
            CHECK_CONTAINS(ax_last_error(), "w->router: on cpu");
        }
        dm_finish(&m);
        same = 1;
        for (int i = 0; i < T * D; i++) same &= y[i] == 123.0f;
        CHECK(same);
    }
    problem_free(&p);
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--device") == 0 && i + 1 < argc && strcmp(argv[i + 1], "cuda") == 0) on_cuda = 1, i++;
        else if (strcmp(argv[i], "--device") == 0 && i + 1 < argc && strcmp(argv[i + 1], "cpu") == 0) i++;
        else {
            fprintf(stderr, "usage: %s [--device cpu|cuda]\n", argv[0]);
            return 2;
        }
    }
    ax_context_config cc = AX_CONTEXT_CONFIG_INIT;
    if (on_cuda) {
        const char *missing = dm_cuda_missing();
        if (missing != NULL) {
            printf("SKIP: test_moe_ffn --device cuda: %s\n", missing);
            return 77;
        }
        cc.device.type = AX_CUDA;
        cc.device.id = 0;
    }
    if (ax_context_create(&ctx, &cc) != AX_OK) {
        fprintf(stderr, "context: %s\n", ax_last_error());
        return 1;
    }
    if (on_cuda) {
        char name[128] = "";
        int64_t memory = 0;
        ax_cuda_device_info(0, name, sizeof name, &memory);
        /* Every case runs on CUDA: each op the layer composes has a CUDA kernel (docs/moe.md). */
        printf("device: %s (CUDA 0); every case below runs on it, none skipped\n", name);
    }
    RUN(test_forward_softmax_dense);
    RUN(test_forward_capacity_sigmoid);
    RUN(test_forward_capacity_min_gelu_dense);
    RUN(test_forward_top1_all);
    RUN(test_forward_bf16);
    RUN(test_forward_half_weights);
    RUN(test_forward_q8_0);
    RUN(test_forward_q4_0);
    RUN(test_backward_softmax_capacity_dense_losses);
    RUN(test_backward_sigmoid_top1);
    RUN(test_backward_top3_normalized);
    RUN(test_empty);
    RUN(test_forward_zero_width_experts);
    RUN(test_measure_covers_real_call);
    RUN(test_errors);
    ax_context_destroy(ctx);
    return th_finish();
}
