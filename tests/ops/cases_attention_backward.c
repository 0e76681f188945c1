/*
 * cases_attention_backward.c — ax_attention_backward (attention.h): the forward's shapes (MHA, GQA,
 * MQA, Sq != Sk, windows, causal + window, packed batches with empty sequences and rows past
 * cu_seqlens[B], D from 1 to 256, padded strides) with dq, dk, dv and dbias in every broadcast form
 * (summed over the broadcast dims), soft-cap, and a batch with one KV head and keys in several
 * 64-key tiles, which on a machine with 2+ threads makes the CPU split the keys into ranges and
 * reduce dq partials.
 *
 * Reference: attention_cases.h, float64, by the analytic formulas, with delta = dout . out taken
 * from the out the op is given (the reference forward's out rounded to the dtype) as the kernels
 * do; out and lse are the float64 forward's, rounded to their dtypes. The cases marked fd prove the
 * reference itself: extra_check compares its gradients, with the exact out, against central
 * differences of the float64 forward's L = sum(dout * out) for every element of q, k, v and bias.
 *
 * Tolerance. fp32 accumulation as in the forward (cases_attention_forward.c), over more products:
 * dp = dout . v and delta over D terms, the gradient sums over up to Sk keys (dq) or the group's
 * heads times Sq queries (dk, dv, dbias broadcast sums). dS = p (dp - delta) inherits p's relative
 * error (the logit's absolute error) times |dp - delta| <= 2 sum|dout||v|, so the bound is measured
 * against max |gradient| with 16 * (D + Sk + group Sq) u32; 16-bit gradients add u_out |want|.
 * CUDA: 2e-2 of max |gradient| for 16-bit dtypes, 2e-4 for fp32.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "attention_cases.h"

static const int32_t cu_q_a[] = {0, 5, 5, 75, 140}, cu_k_a[] = {0, 0, 30, 100, 180};
static const int32_t cu_q_b[] = {0, 33, 100, 101}, cu_k_b[] = {0, 40, 140, 141};

/*  B   Sq   Sk   H Hkv  D  causal wl  wr  scale cap  bias        f32 cu_q    cu_k    extra layout    -lse -db fd quick */
static const attn_case cases[] = {
    {1, 5, 7, 2, 1, 3, 0, 4, 1, 0, 2.0f, BIAS_FULL, 0, NULL, NULL, 0, OP_CONTIGUOUS, 0, 0, 1, 1},
    {2, 6, 4, 2, 2, 4, 1, -1, -1, 0.7f, 0, BIAS_B | BIAS_J, 1, NULL, NULL, 0, OP_CONTIGUOUS, 0, 0, 1, 1},
    {2, 9, 11, 4, 2, 3, 0, -1, -1, 0, 0, BIAS_H | BIAS_I, 0, NULL, NULL, 0, OP_CONTIGUOUS, 0, 0, 1, 0},
    {1, 1, 1, 1, 1, 1, 0, -1, -1, 0, 0, 0, 0, NULL, NULL, 0, OP_CONTIGUOUS, 0, 0, 0, 1},
    {2, 70, 70, 2, 2, 64, 1, -1, -1, 0, 0, 0, 0, NULL, NULL, 0, OP_CONTIGUOUS, 0, 0, 0, 1},
    {1, 65, 130, 4, 2, 80, 1, -1, -1, 0, 0, 0, 0, NULL, NULL, 0, OP_PADDED, 0, 0, 0, 0},
    {1, 100, 37, 3, 1, 3, 1, -1, -1, 0, 0, 0, 0, NULL, NULL, 0, OP_CONTIGUOUS, 0, 0, 0, 1},
    {1, 150, 200, 2, 1, 32, 0, 40, 30, 0, 0, 0, 0, NULL, NULL, 0, OP_CONTIGUOUS, 0, 0, 0, 1},
    {1, 130, 130, 2, 1, 128, 1, 33, -1, 0, 0, 0, 0, NULL, NULL, 0, OP_CONTIGUOUS, 0, 0, 0, 0},
    {2, 40, 70, 2, 1, 64, 0, -1, -1, 0, 0, BIAS_FULL, 1, NULL, NULL, 0, OP_CONTIGUOUS, 0, 0, 0, 1},
    {2, 33, 67, 4, 2, 16, 1, -1, -1, 0, 0, BIAS_H | BIAS_I | BIAS_J, 0, NULL, NULL, 0, OP_PADDED, 0, 0, 0, 0},
    {2, 50, 50, 2, 2, 32, 0, -1, -1, 0, 0, BIAS_B | BIAS_J, 0, NULL, NULL, 0, OP_CONTIGUOUS, 0, 0, 0, 0},
    /* whole 64-query tiles with a key-mask bias and with a pair bias shared by the batch (its gradient
     * summed over B through 8 x 8 register transposes, then the odd rows and keys) */
    {2, 130, 90, 2, 1, 16, 0, -1, -1, 0, 0, BIAS_B | BIAS_J, 0, NULL, NULL, 0, OP_CONTIGUOUS, 0, 0, 0, 0},
    {3, 130, 75, 2, 2, 16, 0, -1, -1, 0, 0, BIAS_H | BIAS_I | BIAS_J, 1, NULL, NULL, 0, OP_PADDED, 0, 0, 0, 0},
    {1, 130, 75, 2, 1, 16, 1, -1, -1, 0, 0, BIAS_FULL, 1, NULL, NULL, 0, OP_PADDED, 0, 0, 0, 0},
    /* dbias summed over keys past the first query tile, over queries and keys (one value per head, per
     * sequence), and over keys in a packed batch */
    {1, 130, 75, 2, 1, 16, 0, -1, -1, 0, 0, BIAS_I, 0, NULL, NULL, 0, OP_CONTIGUOUS, 0, 0, 0, 0},
    {2, 130, 70, 2, 2, 8, 1, -1, -1, 0, 0, BIAS_H, 1, NULL, NULL, 0, OP_CONTIGUOUS, 0, 0, 0, 0},
    {2, 70, 130, 2, 1, 8, 0, -1, -1, 0, 0, BIAS_B, 0, NULL, NULL, 0, OP_PADDED, 0, 0, 0, 0},
    {3, 110, 150, 2, 1, 8, 1, -1, -1, 0, 0, BIAS_H | BIAS_I, 0, cu_q_b, cu_k_b, 0, OP_CONTIGUOUS, 0, 0, 0, 0},
    {1, 60, 75, 2, 1, 24, 0, 10, 10, 0, 0, BIAS_I, 1, NULL, NULL, 0, OP_CONTIGUOUS, 0, 0, 0, 0},
    {1, 100, 100, 2, 2, 64, 1, -1, -1, 0.3f, 5.0f, BIAS_FULL, 0, NULL, NULL, 0, OP_CONTIGUOUS, 0, 0, 0, 1},
    {1, 100, 100, 2, 2, 64, 1, -1, -1, 0.3f, 1e4f, BIAS_FULL, 0, NULL, NULL, 0, OP_CONTIGUOUS, 0, 0, 0, 1},
    /* (the old tanh's error here, about 1e-2, is far outside the backward's room) */
    {1, 64, 64, 2, 2, 32, 0, -1, -1, 0.3f, 1e6f, BIAS_FULL, 0, NULL, NULL, 0, OP_CONTIGUOUS, 0, 0, 0, 1},
    {1, 70, 70, 1, 1, 256, 0, -1, -1, 0, 0, 0, 0, NULL, NULL, 0, OP_CONTIGUOUS, 0, 0, 0, 0},
    {4, 150, 190, 4, 2, 64, 1, -1, -1, 0, 0, 0, 0, cu_q_a, cu_k_a, 0, OP_CONTIGUOUS, 0, 0, 0, 1},
    {3, 110, 150, 2, 2, 32, 0, 16, 4, 0, 0, BIAS_FULL, 0, cu_q_b, cu_k_b, 3, OP_PADDED, 0, 0, 0, 0},
    {3, 110, 150, 2, 1, 8, 1, -1, -1, 0, 0, BIAS_I | BIAS_J, 1, cu_q_b, cu_k_b, 0, OP_CONTIGUOUS, 0, 0, 0, 0},
    {1, 50, 60, 2, 1, 1, 0, -1, -1, 0, 0, 0, 0, NULL, NULL, 0, OP_CONTIGUOUS, 0, 0, 0, 0},
    {1, 70, 70, 8, 1, 128, 1, -1, -1, 0, 0, BIAS_FULL, 0, NULL, NULL, 0, OP_CONTIGUOUS, 0, 1, 0, 0},
    /* strided (padded) rows with D = 64: the AMX tiles' packing from strided q, k, v, dout */
    {2, 77, 99, 4, 2, 64, 1, -1, -1, 0, 0, 0, 0, NULL, NULL, 0, OP_PADDED, 0, 0, 0, 0},
};

static int bwd_make_case(int index, op_mode mode, op_case *c) {
    return ac_make_case(cases, (int)(sizeof cases / sizeof cases[0]), index, mode, c);
}

static int bwd_setup(const op_case *c, op_dtype_pair dt, op_problem *p) {
    const attn_case *a = c->params;
    if (ac_setup_inputs(a, dt, p) != 0) return -1;
    int64_t qs[4], ks[4], ls[3];
    int32_t nd;
    ac_act_shape(a, 0, qs, &nd);
    ac_act_shape(a, 1, ks, &nd);
    if (a->cu_q) ls[0] = a->H, ls[1] = a->Sq;
    else ls[0] = a->B, ls[1] = a->H, ls[2] = a->Sq;
    op_tensor *out = op_tensor_new(p, "out", OP_INPUT, dt.out, nd, qs, a->layout);
    op_tensor *lse = op_tensor_new(p, "lse", OP_INPUT, AX_F32, a->cu_q ? 2 : 3, ls, a->layout);
    op_tensor *dout = op_tensor_new(p, "dout", OP_INPUT, dt.in, nd, qs, a->layout);
    if (out == NULL || lse == NULL || dout == NULL) return -1;
    op_fill_uniform(p, dout, -1.0, 1.0);
    /* out and lse from the float64 forward; rows past cu_seqlens_q[B] get 0 (no row reads them). */
    double *fo = calloc((size_t)out->numel, sizeof(double)), *fl = calloc((size_t)lse->numel, sizeof(double));
    if (fo == NULL || fl == NULL) {
        free(fo), free(fl);
        return -1;
    }
    const ac_inputs in = ac_inputs_of(a, p);
    ac_forward(a, &in, fo, fl);
    for (int64_t i = 0; i < out->numel; i++) op_set(out, i, fo[i]);
    for (int64_t i = 0; i < lse->numel; i++) op_set(lse, i, fl[i]);
    free(fo), free(fl);
    op_tensor *dq = op_tensor_new(p, "dq", OP_OUTPUT, dt.out, nd, qs, a->layout);
    op_tensor *dk = op_tensor_new(p, "dk", OP_OUTPUT, dt.out, nd, ks, a->layout);
    op_tensor *dv = op_tensor_new(p, "dv", OP_OUTPUT, dt.out, nd, ks, a->layout);
    if (dq == NULL || dk == NULL || dv == NULL || op_want_err_scale(dq) != 0 || op_want_err_scale(dk) != 0 ||
        op_want_err_scale(dv) != 0)
        return -1;
    const op_tensor *bias = op_find(p, "bias");
    if (bias && !a->no_dbias &&
        op_tensor_new(p, "dbias", OP_OUTPUT, bias->t.dtype, 4, bias->t.shape, a->layout) == NULL)
        return -1;
    return 0;
}

static void bwd_reference(const op_case *c, op_dtype_pair dt, op_problem *p) {
    const attn_case *a = c->params;
    (void)dt;
    op_tensor *dq = op_find(p, "dq"), *dk = op_find(p, "dk"), *dv = op_find(p, "dv"), *db = op_find(p, "dbias");
    for (int64_t i = 0; i < dq->numel; i++) dq->expected[i] = NAN;
    const ac_inputs in = ac_inputs_of(a, p);
    const ac_grad_mags mags = {dq->err_scale, dk->err_scale, dv->err_scale};
    ac_backward(a, &in, op_find(p, "dout")->value, op_find(p, "out")->value, dq->expected, dk->expected,
                dv->expected, db ? db->expected : NULL, &mags);
}

static ax_status bwd_run(ax_context *ctx, const op_case *c, op_dtype_pair dt, op_problem *p) {
    const attn_case *a = c->params;
    (void)dt;
    const ax_attention_options o = ac_options(a, p);
    return ax_attention_backward(ctx, op_in(p, "q"), op_in(p, "k"), op_in(p, "v"), op_in(p, "bias"), op_in(p, "out"),
                                 op_in(p, "lse"), op_in(p, "dout"), &o, op_out(p, "dq"), op_out(p, "dk"),
                                 op_out(p, "dv"), op_out(p, "dbias"));
}

/* L = sum(dout * out) from the float64 forward, for the finite differences. */
static double fd_loss(const attn_case *a, const ac_inputs *in, const double *dout, double *out, int64_t n) {
    for (int64_t i = 0; i < n; i++) out[i] = 0.0;
    ac_forward(a, in, out, NULL);
    double l = 0.0;
    for (int64_t i = 0; i < n; i++) l += dout[i] * out[i];
    return l;
}

/* The reference gradients (exact out) against central differences of L over every input element:
 * step 1e-5 on values of size 1 leaves a truncation error ~1e-10 and a cancellation error ~1e-11. */
static int bwd_extra_check(const op_case *c, op_dtype_pair dt, const op_problem *cp, char *msg, size_t msg_size) {
    const attn_case *a = c->params;
    (void)dt;
    if (!a->fd) return 1;
    op_problem *p = (op_problem *)cp; /* only read: op_find takes no const */
    const op_tensor *names[4] = {op_find(p, "q"), op_find(p, "k"), op_find(p, "v"), op_find(p, "bias")};
    const op_tensor *dq = op_find(p, "dq"), *dk = op_find(p, "dk"), *dv = op_find(p, "dv"), *db = op_find(p, "dbias");
    const op_tensor *outt = op_find(p, "out");
    const double *dout = op_find(p, "dout")->value;
    int ok = 1;
    double *grad[4] = {NULL, NULL, NULL, NULL}, *vals[4] = {NULL, NULL, NULL, NULL};
    double *out = malloc((size_t)outt->numel * sizeof(double));
    for (int t = 0; t < 4; t++) {
        if (names[t] == NULL) continue;
        grad[t] = calloc((size_t)names[t]->numel, sizeof(double));
        vals[t] = malloc((size_t)names[t]->numel * sizeof(double));
        if (grad[t] && vals[t]) memcpy(vals[t], names[t]->value, (size_t)names[t]->numel * sizeof(double));
        else ok = 0;
    }
    if (out == NULL || !ok) {
        snprintf(msg, msg_size, "out of memory");
        ok = 0;
        goto done;
    }
    (void)dq, (void)dk, (void)dv, (void)db;
    ac_inputs in = ac_inputs_of(a, p);
    in.q = vals[0], in.k = vals[1], in.v = vals[2], in.bias = vals[3];
    ac_backward(a, &in, dout, NULL, grad[0], grad[1], grad[2], grad[3], NULL);
    for (int t = 0; t < 4 && ok; t++) {
        if (names[t] == NULL) continue;
        double gmax = 1.0;
        for (int64_t i = 0; i < names[t]->numel; i++) gmax = fabs(grad[t][i]) > gmax ? fabs(grad[t][i]) : gmax;
        for (int64_t i = 0; i < names[t]->numel && ok; i++) {
            const double x = vals[t][i], h = 1e-5;
            vals[t][i] = x + h;
            const double lp = fd_loss(a, &in, dout, out, outt->numel);
            vals[t][i] = x - h;
            const double lm = fd_loss(a, &in, dout, out, outt->numel);
            vals[t][i] = x;
            const double fd = (lp - lm) / (2.0 * h);
            if (fabs(fd - grad[t][i]) > 1e-7 * gmax) {
                snprintf(msg, msg_size, "reference d%s[%lld] = %.12g, finite differences %.12g", names[t]->name,
                         (long long)i, grad[t][i], fd);
                ok = 0;
            }
        }
    }
done:
    for (int t = 0; t < 4; t++) free(grad[t]), free(vals[t]);
    free(out);
    return ok;
}

static op_tol bwd_tolerance(const op_case *c, op_dtype_pair dt, op_backend be, const op_tensor *out) {
    const attn_case *a = c->params;
    const double u32 = ldexp(1.0, -24);
    const double fp32 =
        16.0 * (double)(a->D + a->Sk + (a->H / a->Hkv) * a->Sq) * u32 + 4e-7 + 6e-7 * fmin((double)a->softcap, 16.0);
    const double u_out = out->t.dtype == AX_F32 ? 0.0 : opd_unit_roundoff(out->t.dtype);
    op_tol t;
    memset(&t, 0, sizeof t);
    t.norm_floor = 1e-2;
    t.norm_rtol = fp32 * (1.0 + u_out);
    t.rtol = u_out;
    if (be == OP_BACKEND_CUDA) t.norm_rtol += dt.in == AX_F32 ? 2e-4 : 2e-2;
    /* The avx512 path with AVX512-BF16 rounds p and dS to bf16 before the gradient products
     * (attention_tile.h): each term moves by at most u (2^-8) of its size, so dq, dk, dv by u times
     * err_scale (the reference's sum of their terms' magnitudes), and the output's own rounding to
     * bf16 can grow that by a factor 1 + u. p and dS's fp32 errors (dS's unbounded relatively where
     * dp cancels delta) stay under the fp32 norm term above, as on the other paths. dbias takes dS
     * in fp32. */
    if (be == OP_BACKEND_AVX512 && dt.in == AX_BF16 && (ax_cpu_features() & AX_CPU_HAS_AVX512BF16) != 0)
        t.scale_tol = opd_unit_roundoff(AX_BF16) * (1.0 + opd_unit_roundoff(AX_BF16));
    return t;
}

const op_table op_table_attention_backward = {
    .name = "attention_backward",
    .make_case = bwd_make_case,
    .setup = bwd_setup,
    .reference = bwd_reference,
    .run = bwd_run,
    .tolerance = bwd_tolerance,
    .unsupported = ac_unsupported,
    .extra_check = bwd_extra_check,
};
