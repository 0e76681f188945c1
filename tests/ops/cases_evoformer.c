/*
 * cases_evoformer.c — ax_evoformer_attention_forward and _backward (evoformer.h): S not a multiple
 * of 64 (1, 17, 33, 40, 45, 47, 65, 70, 100, 129, 130, 193, 200, 257) and one that is (64), D in
 * {3, 8, 16, 24, 32, 59, 64, 128, 256},
 * bias_mask and bias_pair absent, full and broadcast in each form the header allows, f32 biases
 * with 16-bit activations, -1e9 and -inf masks (with fully masked rows), all three layouts
 * (contiguous, padded outer strides, every dim permuted and padded), lse absent, and in the
 * backward every gradient including dbias_mask and dbias_pair (summed over broadcast dims), or the
 * bias gradients not asked for.
 *
 * Reference: tests/evoformer_reference.c, a float64 naive implementation that materialises the
 * logits (ref_forward, ref_backward). The backward is given the reference forward's out and lse,
 * rounded to their dtypes, so it is judged on its own.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axial/evoformer.h"
#include "evoformer_reference.h"
#include "op_registry.h"

typedef enum mask_form { MASK_NONE = 0, MASK_FULL, MASK_BATCH, MASK_SHARED } mask_form;   /* (B,N|1|1,..) */
typedef enum pair_form { PAIR_NONE = 0, PAIR_FULL, PAIR_HEADS, PAIR_NO_HEAD } pair_form; /* see below */
typedef enum mask_values { MV_RANDOM = 0, MV_1E9, MV_NEG_INF } mask_values;

typedef struct evo_params {
    int64_t B, N, S, H, D;
    mask_form mask;
    pair_form pair;
    mask_values values;
    op_layout layout;
    int bias_f32;   /* biases (and their gradients) in f32 whatever the activations' dtype */
    int no_lse;     /* forward: lse not asked for */
    int no_dbias;   /* backward: bias gradients not asked for */
    int quick;      /* also in --quick */
} evo_params;

/*                 B  N    S  H   D  mask         pair          values      layout          f32 -lse -db quick */
static const evo_params forward_cases[] = {
    {1, 1, 1, 1, 16, MASK_NONE, PAIR_NONE, MV_RANDOM, OP_CONTIGUOUS, 0, 0, 0, 1},
    {1, 2, 17, 2, 16, MASK_FULL, PAIR_FULL, MV_RANDOM, OP_CONTIGUOUS, 0, 0, 0, 1},
    {2, 3, 70, 2, 24, MASK_SHARED, PAIR_HEADS, MV_RANDOM, OP_PADDED, 1, 0, 0, 1},
    {2, 2, 100, 3, 32, MASK_BATCH, PAIR_NO_HEAD, MV_1E9, OP_CONTIGUOUS, 0, 0, 0, 0},
    {1, 1, 130, 2, 64, MASK_FULL, PAIR_FULL, MV_NEG_INF, OP_CONTIGUOUS, 1, 0, 0, 0},
    {2, 2, 64, 1, 32, MASK_FULL, PAIR_NONE, MV_1E9, OP_PADDED, 0, 0, 0, 0},
    {1, 3, 33, 2, 24, MASK_FULL, PAIR_HEADS, MV_NEG_INF, OP_REVERSED, 0, 0, 0, 1},
    {1, 1, 200, 1, 16, MASK_NONE, PAIR_FULL, MV_RANDOM, OP_CONTIGUOUS, 0, 1, 0, 0},
    {1, 2, 47, 2, 8, MASK_BATCH, PAIR_FULL, MV_RANDOM, OP_REVERSED, 1, 0, 0, 0},
    {1, 2, 257, 2, 64, MASK_FULL, PAIR_FULL, MV_1E9, OP_PADDED, 0, 0, 0, 0},
    {1, 1, 129, 1, 128, MASK_NONE, PAIR_HEADS, MV_RANDOM, OP_CONTIGUOUS, 0, 0, 0, 0},
    /* head dims that are odd or not a multiple of 8 (bf16 pairs end in a half-empty pair), and 256 */
    {1, 2, 70, 2, 3, MASK_FULL, PAIR_FULL, MV_RANDOM, OP_REVERSED, 0, 0, 0, 0},
    {1, 1, 65, 1, 59, MASK_NONE, PAIR_HEADS, MV_RANDOM, OP_PADDED, 0, 0, 0, 0},
    {1, 1, 70, 1, 256, MASK_FULL, PAIR_NONE, MV_RANDOM, OP_CONTIGUOUS, 0, 0, 0, 0},
    /* every head's f32 pair bias past 4 MiB (16 x 260^2 x 4 bytes): the CPU forward then runs its
     * units with n fastest (forward_heads_fastest), every case above with h fastest */
    {1, 3, 260, 16, 8, MASK_FULL, PAIR_HEADS, MV_RANDOM, OP_PADDED, 1, 0, 0, 0},
};

static const evo_params backward_cases[] = {
    {1, 1, 1, 1, 16, MASK_NONE, PAIR_NONE, MV_RANDOM, OP_CONTIGUOUS, 0, 0, 0, 1},
    {1, 2, 17, 2, 16, MASK_FULL, PAIR_FULL, MV_RANDOM, OP_CONTIGUOUS, 0, 0, 0, 1},
    {2, 3, 70, 2, 24, MASK_SHARED, PAIR_HEADS, MV_RANDOM, OP_PADDED, 1, 0, 0, 0},
    {2, 2, 45, 3, 32, MASK_BATCH, PAIR_NO_HEAD, MV_1E9, OP_CONTIGUOUS, 0, 0, 0, 1},
    {1, 1, 130, 2, 64, MASK_FULL, PAIR_FULL, MV_NEG_INF, OP_CONTIGUOUS, 1, 0, 0, 0},
    {1, 2, 33, 2, 24, MASK_FULL, PAIR_HEADS, MV_RANDOM, OP_REVERSED, 0, 0, 0, 1},
    {2, 2, 64, 1, 32, MASK_FULL, PAIR_NONE, MV_RANDOM, OP_PADDED, 0, 0, 0, 0},
    {1, 2, 40, 2, 16, MASK_FULL, PAIR_FULL, MV_NEG_INF, OP_CONTIGUOUS, 0, 0, 1, 0},
    {1, 1, 193, 2, 64, MASK_SHARED, PAIR_FULL, MV_RANDOM, OP_CONTIGUOUS, 0, 0, 0, 0},
    {1, 1, 100, 1, 128, MASK_FULL, PAIR_NO_HEAD, MV_1E9, OP_PADDED, 1, 0, 0, 0},
    {1, 2, 70, 2, 3, MASK_FULL, PAIR_FULL, MV_RANDOM, OP_REVERSED, 0, 0, 0, 0},
    {1, 1, 65, 1, 59, MASK_NONE, PAIR_HEADS, MV_RANDOM, OP_PADDED, 0, 0, 0, 0},
    {1, 1, 70, 1, 256, MASK_FULL, PAIR_NONE, MV_RANDOM, OP_CONTIGUOUS, 0, 0, 0, 0},
    /* N long enough that the CPU backward cuts it into ranges whose dbias_pair sums are added after
     * the parallel loop (at least 1024 / D rows a range): 5 + 4 rows; 9 + 8 with the pair bias
     * shared by both b; 4 + 4 + 4 with it shared by the three heads */
    {1, 9, 40, 2, 256, MASK_FULL, PAIR_FULL, MV_RANDOM, OP_CONTIGUOUS, 0, 0, 0, 1},
    {2, 17, 24, 2, 128, MASK_SHARED, PAIR_HEADS, MV_RANDOM, OP_PADDED, 1, 0, 0, 0},
    {1, 12, 30, 3, 256, MASK_BATCH, PAIR_NO_HEAD, MV_NEG_INF, OP_REVERSED, 0, 0, 0, 0},
};

static const op_dtype_pair evo_dtypes[] = {{AX_F32, AX_F32}, {AX_BF16, AX_BF16}, {AX_F16, AX_F16}};

static const char *mask_name(mask_form m) {
    static const char *names[] = {"none", "(B,N,1,1,S)", "(B,1,1,1,S)", "(1,1,1,1,S)"};
    return names[m];
}
static const char *pair_name(pair_form p) {
    static const char *names[] = {"none", "(B,1,H,S,S)", "(1,1,H,S,S)", "(B,1,1,S,S)"};
    return names[p];
}

static int evo_make_case(const evo_params *cases, int n, int index, op_mode mode, op_case *c, int backward) {
    int seen = -1;
    for (int i = 0; i < n; i++) {
        if (mode == OP_QUICK && !cases[i].quick) continue;
        if (++seen != index) continue;
        const evo_params *e = &cases[i];
        static const char *layouts[] = {"contiguous", "padded", "permuted"};
        static const char *values[] = {"", " -1e9 keys", " -inf keys/rows"};
        c->params = e;
        snprintf(c->name, sizeof c->name, "B=%lld N=%lld S=%lld H=%lld D=%lld mask=%s pair=%s%s%s %s%s",
                 (long long)e->B, (long long)e->N, (long long)e->S, (long long)e->H, (long long)e->D,
                 mask_name(e->mask), pair_name(e->pair), values[e->values], e->bias_f32 ? " f32-bias" : "",
                 layouts[e->layout], backward ? (e->no_dbias ? " no-dbias" : "") : (e->no_lse ? " no-lse" : ""));
        c->n_dtypes = (int)(sizeof evo_dtypes / sizeof evo_dtypes[0]);
        memcpy(c->dtypes, evo_dtypes, sizeof evo_dtypes);
        return 1;
    }
    return 0;
}

static int forward_make_case(int index, op_mode mode, op_case *c) {
    return evo_make_case(forward_cases, (int)(sizeof forward_cases / sizeof forward_cases[0]), index, mode, c, 0);
}
static int backward_make_case(int index, op_mode mode, op_case *c) {
    return evo_make_case(backward_cases, (int)(sizeof backward_cases / sizeof backward_cases[0]), index, mode, c, 1);
}

static void mask_shape(const evo_params *e, int64_t *shape) {
    shape[0] = e->mask == MASK_SHARED ? 1 : e->B;
    shape[1] = e->mask == MASK_FULL ? e->N : 1;
    shape[2] = shape[3] = 1;
    shape[4] = e->S;
}

static void pair_shape(const evo_params *e, int64_t *shape) {
    shape[0] = e->pair == PAIR_HEADS ? 1 : e->B;
    shape[1] = 1;
    shape[2] = e->pair == PAIR_NO_HEAD ? 1 : e->H;
    shape[3] = shape[4] = e->S;
}

/* q, k, v and the biases, filled. Masks: every third key (never key 0) -1e9 or -inf; with -inf
 * also one whole (b, n) row of the mask (when the mask has more than one) and query row 1 of every
 * pair head: fully masked rows, which must give out = 0, lse = -inf and zero gradients. */
static int build_inputs(const evo_params *e, op_dtype_pair dt, op_problem *p) {
    const int64_t act[5] = {e->B, e->N, e->S, e->H, e->D};
    const ax_dtype bias_dt = e->bias_f32 ? AX_F32 : dt.in;
    op_tensor *q = op_tensor_new(p, "q", OP_INPUT, dt.in, 5, act, e->layout);
    op_tensor *k = op_tensor_new(p, "k", OP_INPUT, dt.in, 5, act, e->layout);
    op_tensor *v = op_tensor_new(p, "v", OP_INPUT, dt.in, 5, act, e->layout);
    if (q == NULL || k == NULL || v == NULL) return -1;
    op_fill_uniform(p, q, -1.5, 1.5);
    op_fill_uniform(p, k, -1.5, 1.5);
    op_fill_uniform(p, v, -1.0, 1.0);
    if (e->mask != MASK_NONE) {
        int64_t shape[5];
        mask_shape(e, shape);
        op_tensor *m = op_tensor_new(p, "bias_mask", OP_INPUT, bias_dt, 5, shape, e->layout);
        if (m == NULL) return -1;
        op_fill_uniform(p, m, -1.0, 1.0);
        if (e->values != MV_RANDOM) {
            const double masked = e->values == MV_1E9 ? -1e9 : -INFINITY;
            const int64_t rows = shape[0] * shape[1];
            for (int64_t row = 0; row < rows; row++)
                for (int64_t j = 0; j < e->S; j++) {
                    const int whole_row = e->values == MV_NEG_INF && rows > 1 && row == rows - 1;
                    if (j % 3 == 2 || whole_row) op_set(m, row * e->S + j, masked);
                }
        }
    }
    if (e->pair != PAIR_NONE) {
        int64_t shape[5];
        pair_shape(e, shape);
        op_tensor *b = op_tensor_new(p, "bias_pair", OP_INPUT, bias_dt, 5, shape, e->layout);
        if (b == NULL) return -1;
        op_fill_uniform(p, b, -2.0, 2.0);
        if (e->values == MV_NEG_INF && e->S > 1)
            for (int64_t bh = 0; bh < shape[0] * shape[2]; bh++)
                for (int64_t j = 0; j < e->S; j++) op_set(b, (bh * e->S + 1) * e->S + j, -INFINITY);
    }
    return 0;
}

/* A reference-tensor view of a value array (no copy). */
static ref_tensor as_ref(const op_tensor *t, double *values) {
    ref_tensor r;
    memset(&r, 0, sizeof r);
    r.ndim = t->t.ndim;
    for (int32_t d = 0; d < t->t.ndim; d++) r.shape[d] = t->t.shape[d];
    r.v = values;
    return r;
}

/* The input ref views of q, k, v and the (optional) biases. */
typedef struct evo_refs {
    ref_tensor q, k, v, mask, pair;
    int has_mask, has_pair;
} evo_refs;

static evo_refs input_refs(op_problem *p) {
    evo_refs r;
    memset(&r, 0, sizeof r);
    op_tensor *q = op_find(p, "q"), *k = op_find(p, "k"), *v = op_find(p, "v");
    op_tensor *m = op_find(p, "bias_mask"), *b = op_find(p, "bias_pair");
    r.q = as_ref(q, q->value);
    r.k = as_ref(k, k->value);
    r.v = as_ref(v, v->value);
    if (m) {
        r.mask = as_ref(m, m->value);
        r.has_mask = 1;
    }
    if (b) {
        r.pair = as_ref(b, b->value);
        r.has_pair = 1;
    }
    return r;
}

/* ---- forward ---- */

static int forward_setup(const op_case *c, op_dtype_pair dt, op_problem *p) {
    const evo_params *e = c->params;
    if (build_inputs(e, dt, p) != 0) return -1;
    const int64_t act[5] = {e->B, e->N, e->S, e->H, e->D}, lse_shape[4] = {e->B, e->N, e->H, e->S};
    op_tensor *out = op_tensor_new(p, "out", OP_OUTPUT, dt.out, 5, act, e->layout);
    if (out == NULL || op_want_err_scale(out) != 0) return -1;
    if (!e->no_lse && op_tensor_new(p, "lse", OP_OUTPUT, AX_F32, 4, lse_shape, e->layout) == NULL) return -1;
    return 0;
}

static void forward_reference(const op_case *c, op_dtype_pair dt, op_problem *p) {
    evo_refs in = input_refs(p);
    op_tensor *out = op_find(p, "out"), *lse = op_find(p, "lse");
    ref_tensor rout = as_ref(out, out->expected), rlse;
    if (lse) rlse = as_ref(lse, lse->expected);
    ref_forward(&in.q, &in.k, &in.v, in.has_mask ? &in.mask : NULL, in.has_pair ? &in.pair : NULL, &rout,
                lse ? &rlse : NULL);
    /* err_scale = sum_j p_j |v_j|: the same forward on |v| (see evo_tolerance). */
    const op_tensor *v = op_find(p, "v");
    double *abs_v = malloc((size_t)(v->numel > 0 ? v->numel : 1) * sizeof(double));
    if (abs_v == NULL) return; /* err_scale stays 0: the bf16 path's cases then fail, never pass wrongly */
    for (int64_t i = 0; i < v->numel; i++) abs_v[i] = fabs(v->value[i]);
    ref_tensor rv = as_ref(v, abs_v), rmag = as_ref(out, out->err_scale);
    ref_forward(&in.q, &in.k, &rv, in.has_mask ? &in.mask : NULL, in.has_pair ? &in.pair : NULL, &rmag, NULL);
    free(abs_v);
}

static ax_status forward_run(ax_context *ctx, const op_case *c, op_dtype_pair dt, op_problem *p) {
    return ax_evoformer_attention_forward(ctx, op_in(p, "q"), op_in(p, "k"), op_in(p, "v"), op_in(p, "bias_mask"),
                                          op_in(p, "bias_pair"), op_out(p, "out"), op_out(p, "lse"));
}

/* ---- backward ---- */

static int backward_setup(const op_case *c, op_dtype_pair dt, op_problem *p) {
    const evo_params *e = c->params;
    if (build_inputs(e, dt, p) != 0) return -1;
    const int64_t act[5] = {e->B, e->N, e->S, e->H, e->D}, lse_shape[4] = {e->B, e->N, e->H, e->S};
    op_tensor *out = op_tensor_new(p, "out", OP_INPUT, dt.in, 5, act, e->layout);
    op_tensor *lse = op_tensor_new(p, "lse", OP_INPUT, AX_F32, 4, lse_shape, e->layout);
    op_tensor *dout = op_tensor_new(p, "dout", OP_INPUT, dt.in, 5, act, e->layout);
    if (out == NULL || lse == NULL || dout == NULL) return -1;
    op_fill_uniform(p, dout, -1.0, 1.0);
    /* out and lse: the reference forward's, stored in their dtypes (what a training step would
     * hand the backward). */
    double *fwd_out = malloc((size_t)out->numel * sizeof(double));
    double *fwd_lse = malloc((size_t)lse->numel * sizeof(double));
    if (fwd_out == NULL || fwd_lse == NULL) {
        free(fwd_out);
        free(fwd_lse);
        return -1;
    }
    evo_refs in = input_refs(p);
    ref_tensor rout = as_ref(out, fwd_out), rlse = as_ref(lse, fwd_lse);
    ref_forward(&in.q, &in.k, &in.v, in.has_mask ? &in.mask : NULL, in.has_pair ? &in.pair : NULL, &rout, &rlse);
    for (int64_t i = 0; i < out->numel; i++) op_set(out, i, fwd_out[i]);
    for (int64_t i = 0; i < lse->numel; i++) op_set(lse, i, fwd_lse[i]);
    free(fwd_out);
    free(fwd_lse);
    for (int g = 0; g < 3; g++) {
        op_tensor *grad = op_tensor_new(p, g == 0 ? "dq" : g == 1 ? "dk" : "dv", OP_OUTPUT, dt.out, 5, act, e->layout);
        if (grad == NULL || op_want_err_scale(grad) != 0) return -1;
    }
    const op_tensor *m = op_find(p, "bias_mask"), *b = op_find(p, "bias_pair");
    if (!e->no_dbias && m && op_tensor_new(p, "dbias_mask", OP_OUTPUT, m->t.dtype, 5, m->t.shape, e->layout) == NULL)
        return -1;
    if (!e->no_dbias && b && op_tensor_new(p, "dbias_pair", OP_OUTPUT, b->t.dtype, 5, b->t.shape, e->layout) == NULL)
        return -1;
    return 0;
}

static void backward_reference(const op_case *c, op_dtype_pair dt, op_problem *p) {
    evo_refs in = input_refs(p);
    op_tensor *out = op_find(p, "out"), *dout = op_find(p, "dout");
    op_tensor *dq = op_find(p, "dq"), *dk = op_find(p, "dk"), *dv = op_find(p, "dv");
    op_tensor *dm = op_find(p, "dbias_mask"), *dp = op_find(p, "dbias_pair");
    ref_tensor rout = as_ref(out, out->value), rdout = as_ref(dout, dout->value);
    ref_tensor rdq = as_ref(dq, dq->expected), rdk = as_ref(dk, dk->expected), rdv = as_ref(dv, dv->expected);
    ref_tensor rdm, rdp;
    if (dm) rdm = as_ref(dm, dm->expected);
    if (dp) rdp = as_ref(dp, dp->expected);
    ref_tensor mdq = as_ref(dq, dq->err_scale), mdk = as_ref(dk, dk->err_scale), mdv = as_ref(dv, dv->err_scale);
    ref_backward_magnitudes(&in.q, &in.k, &in.v, in.has_mask ? &in.mask : NULL, in.has_pair ? &in.pair : NULL, &rout,
                            &rdout, &rdq, &rdk, &rdv, dm ? &rdm : NULL, dp ? &rdp : NULL, &mdq, &mdk, &mdv);
}

static ax_status backward_run(ax_context *ctx, const op_case *c, op_dtype_pair dt, op_problem *p) {
    return ax_evoformer_attention_backward(ctx, op_in(p, "q"), op_in(p, "k"), op_in(p, "v"), op_in(p, "bias_mask"),
                                           op_in(p, "bias_pair"), op_in(p, "out"), op_in(p, "lse"), op_in(p, "dout"),
                                           op_out(p, "dq"), op_out(p, "dk"), op_out(p, "dv"),
                                           op_out(p, "dbias_mask"), op_out(p, "dbias_pair"));
}

/* ---- shared ---- */

/* Tolerances, per output dtype and backend.
 *  CPU: accumulation is fp32 throughout (logits, online softmax, P.V, and in the backward dS and the
 *  gradient sums), so every output is within a small multiple of fp32 roundoff of the reference,
 *  measured against the output's largest magnitude (softmax renormalisations and the gradient sums
 *  mix terms of that size): 1e-5 * max|ref| forward, 2e-5 backward (dbias_mask sums H * S terms per
 *  element), as tests/test_evoformer_{forward,backward}.c hold them. A 16-bit output is then
 *  rounded once more, which costs one unit roundoff of the element itself (2^-8 bf16, 2^-11 f16)
 *  and widens the fp32 part by 1 + u. lse is always fp32.
 *  CUDA: the tensor-core kernels round P (and dS) to the 16-bit input dtype before their MMAs, an
 *  error of order 2^-8 (bf16) of the largest term. tests/test_evoformer_cuda.c bounds CUDA against
 *  the CPU by 2e-2 * max|cpu| for 16-bit outputs, 1e-4 for fp32 ones, and lse by
 *  1e-3 (1e-4 for fp32) * (1 + |lse|); against the reference, the CPU's own bound comes on top.
 *  The max|ref| is floored at 1e-2: a gradient may be exactly zero by cancellation (dS sums to zero
 *  over each row), and is then judged against the inputs' scale, not against zero. */
static op_tol evo_tolerance(const op_case *c, op_dtype_pair dt, op_backend be, const op_tensor *out, int backward) {
    op_tol t;
    memset(&t, 0, sizeof t);
    t.norm_floor = 1e-2;
    const ax_dtype odt = out->t.dtype;
    /* round(c) - ref <= u |ref| + (1 + u) |c - ref| for a computed c: the fp32 part grows by 1 + u */
    const double u = odt == AX_F32 ? 0.0 : opd_unit_roundoff(odt);
    t.rtol = u;
    t.norm_rtol = (backward ? 2e-5 : 1e-5) * (1.0 + u);
    /* The avx512 path with AVX512-BF16 rounds p (forward and backward) and dS (backward) to bf16
     * before their products (the kernel body's "bf16 pairs"): each term moves by at most u of its
     * size (u = 2^-8), so out, dq, dk, dv by u times the reference's sum of their terms' magnitudes
     * (err_scale: the forward on |v|; ref_backward_magnitudes), and the output's own rounding can grow
     * that by 1 + u. lse and the bias gradients take fp32 statistics and dS. */
    const int rounded = backward ? out->err_scale != NULL : strcmp(out->name, "out") == 0;
    if (rounded && be == OP_BACKEND_AVX512 && dt.in == AX_BF16 && (ax_cpu_features() & AX_CPU_HAS_AVX512BF16) != 0)
        t.scale_tol = opd_unit_roundoff(AX_BF16) * (1.0 + opd_unit_roundoff(AX_BF16));
    if (be == OP_BACKEND_CUDA) {
        if (strcmp(out->name, "lse") == 0) {
            const double cuda_vs_cpu = dt.in == AX_F32 ? 1e-4 : 1e-3;
            t.atol += cuda_vs_cpu;
            t.rtol += cuda_vs_cpu;
        } else {
            t.norm_rtol += dt.in == AX_F32 && odt == AX_F32 ? 1e-4 : 2e-2;
        }
    }
    return t;
}

static op_tol forward_tolerance(const op_case *c, op_dtype_pair dt, op_backend be, const op_tensor *out) {
    return evo_tolerance(c, dt, be, out, 0);
}
static op_tol backward_tolerance(const op_case *c, op_dtype_pair dt, op_backend be, const op_tensor *out) {
    return evo_tolerance(c, dt, be, out, 1);
}

/* evoformer.h's CUDA limits: D a multiple of 8 up to 128, and a contiguous last dim. */
static const char *evo_unsupported(const op_case *c, op_dtype_pair dt, op_backend be) {
    const evo_params *e = c->params;
    if (be != OP_BACKEND_CUDA) return NULL;
    if (e->D % 8 != 0 || e->D > 128) return "CUDA needs D a multiple of 8, at most 128";
    if (e->layout == OP_REVERSED) return "CUDA needs a contiguous last dim";
    return NULL;
}

const op_table op_table_evoformer_forward = {
    .name = "evoformer_forward",
    .make_case = forward_make_case,
    .setup = forward_setup,
    .reference = forward_reference,
    .run = forward_run,
    .tolerance = forward_tolerance,
    .unsupported = evo_unsupported,
};

const op_table op_table_evoformer_backward = {
    .name = "evoformer_backward",
    .make_case = backward_make_case,
    .setup = backward_setup,
    .reference = backward_reference,
    .run = backward_run,
    .tolerance = backward_tolerance,
    .unsupported = evo_unsupported,
};
