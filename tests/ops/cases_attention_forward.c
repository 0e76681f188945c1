/*
 * cases_attention_forward.c — ax_attention_forward (attention.h): MHA, GQA and MQA; Sq = Sk,
 * Sq < Sk and Sq > Sk (bottom-right causal, so the first rows of a taller query block see no key);
 * windows left only, right only, both, and causal with a left window; every bias form from
 * (B, H, Sq, Sk) down to (1, 1, Sq, 1), and an f32 bias under 16-bit activations; soft-cap with a
 * given scale; packed batches with an empty query sequence, an empty key sequence, rows past
 * cu_seqlens[B] and a bias larger than the longest sequence; D = 1, 3, 8, 16, 32, 64, 80, 128, 256;
 * padded strides; lse absent; a KV group wider than one head chunk (H = 8, Hkv = 1, D = 128).
 *
 * Reference: attention_cases.h, float64, one query row's logits at a time from the stored inputs.
 * Rows past cu_seqlens_q[B] must keep their poison (the driver's NaN): their expected value is NaN.
 *
 * Tolerance. The CPU accumulates in fp32: q.k over D products, the online softmax over at most a few
 * hundred keys, p.v over as many terms. Each is a sum of n rounding errors of size u32 = 2^-24 times
 * the terms' magnitude; with inputs in [-1, 1) the logits are O(1) and out a convex combination of
 * v rows, so errors are measured against max |out| (norm_rtol). A bound of 8 * (D + Sk) * u32 covers
 * the sums' worst case for the logits' contribution through exp (relative error of p equals the
 * logit's absolute error) and for p.v; the exp polynomial adds 1.4e-7 and the soft-cap's tanh (built
 * on it) cap * 3e-7 on the logit. A 16-bit out is rounded once more: u_out |want|. lse is fp32:
 * the same absolute bound plus u32 |lse|.
 * The avx512 path with AVX512-BF16 rounds p to bf16 before P.V on bf16 inputs: 2^-8 more, absolute
 * (fwd_tolerance says why).
 * CUDA (tensor cores round p to the 16-bit dtype before P.V): 2e-2 of max |out| for 16-bit, 1e-4
 * for fp32 (TF32 is never used for fp32 inputs), lse 1e-3 (1e-4 fp32) absolute and relative.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "attention_cases.h"

static const int32_t cu_q_a[] = {0, 5, 5, 75, 140}, cu_k_a[] = {0, 0, 30, 100, 180};
static const int32_t cu_q_b[] = {0, 33, 100, 101}, cu_k_b[] = {0, 40, 140, 141};

/*  B   Sq   Sk   H Hkv  D  causal wl  wr  scale cap  bias        f32 cu_q    cu_k    extra layout    -lse -db fd quick */
static const attn_case cases[] = {
    {1, 1, 1, 1, 1, 1, 0, -1, -1, 0, 0, 0, 0, NULL, NULL, 0, OP_CONTIGUOUS, 0, 0, 0, 1},
    {2, 70, 70, 2, 2, 64, 1, -1, -1, 0, 0, 0, 0, NULL, NULL, 0, OP_CONTIGUOUS, 0, 0, 0, 1},
    {1, 65, 130, 4, 2, 80, 1, -1, -1, 0, 0, 0, 0, NULL, NULL, 0, OP_PADDED, 0, 0, 0, 1},
    {1, 100, 37, 3, 1, 3, 1, -1, -1, 0, 0, 0, 0, NULL, NULL, 0, OP_CONTIGUOUS, 0, 0, 0, 1},
    {1, 150, 150, 2, 1, 32, 0, 20, -1, 0, 0, 0, 0, NULL, NULL, 0, OP_CONTIGUOUS, 0, 0, 0, 0},
    {2, 80, 80, 2, 2, 16, 0, -1, 10, 0, 0, 0, 0, NULL, NULL, 0, OP_PADDED, 0, 0, 0, 0},
    {1, 90, 120, 2, 2, 8, 0, 5, 7, 0, 0, 0, 0, NULL, NULL, 0, OP_CONTIGUOUS, 0, 0, 0, 1},
    {1, 200, 200, 2, 1, 128, 1, 33, -1, 0, 0, 0, 0, NULL, NULL, 0, OP_CONTIGUOUS, 0, 0, 0, 0},
    {2, 40, 70, 2, 1, 64, 0, -1, -1, 0, 0, BIAS_FULL, 1, NULL, NULL, 0, OP_CONTIGUOUS, 0, 0, 0, 1},
    {2, 33, 67, 4, 2, 16, 1, -1, -1, 0, 0, BIAS_H | BIAS_I | BIAS_J, 0, NULL, NULL, 0, OP_PADDED, 0, 0, 0, 0},
    {2, 50, 50, 2, 2, 32, 0, -1, -1, 0, 0, BIAS_B | BIAS_J, 0, NULL, NULL, 0, OP_CONTIGUOUS, 0, 0, 0, 0},
    /* whole 64-query tiles with a key-mask bias (one row for every query) and with a pair bias shared by
     * the batch (8 x 8 register transposes, then the odd rows and keys) */
    {2, 130, 90, 2, 1, 16, 0, -1, -1, 0, 0, BIAS_B | BIAS_J, 0, NULL, NULL, 0, OP_CONTIGUOUS, 0, 0, 0, 0},
    {3, 130, 75, 2, 2, 16, 0, -1, -1, 0, 0, BIAS_H | BIAS_I | BIAS_J, 1, NULL, NULL, 0, OP_PADDED, 0, 0, 0, 0},
    /* one bias value per head, per sequence */
    {2, 130, 70, 2, 2, 8, 1, -1, -1, 0, 0, BIAS_H, 1, NULL, NULL, 0, OP_CONTIGUOUS, 0, 0, 0, 0},
    {2, 70, 130, 2, 1, 8, 0, -1, -1, 0, 0, BIAS_B, 0, NULL, NULL, 0, OP_PADDED, 0, 0, 0, 0},
    {1, 60, 75, 2, 1, 24, 0, 10, 10, 0, 0, BIAS_I, 1, NULL, NULL, 0, OP_CONTIGUOUS, 0, 0, 0, 0},
    {1, 100, 100, 2, 2, 64, 1, -1, -1, 0.3f, 5.0f, 0, 0, NULL, NULL, 0, OP_CONTIGUOUS, 0, 0, 0, 1},
    /* a large cap: tanh of tiny arguments, whose 1 - exp(-2x) form had lost the logits' digits */
    {1, 100, 100, 2, 2, 64, 1, -1, -1, 0.3f, 1e4f, 0, 0, NULL, NULL, 0, OP_CONTIGUOUS, 0, 0, 0, 1},
    {1, 64, 64, 2, 2, 32, 0, -1, -1, 0.3f, 1e6f, 0, 0, NULL, NULL, 0, OP_CONTIGUOUS, 0, 0, 0, 1},
    {1, 70, 70, 1, 1, 256, 0, -1, -1, 0, 0, 0, 0, NULL, NULL, 0, OP_CONTIGUOUS, 0, 0, 0, 0},
    {4, 150, 190, 4, 2, 64, 1, -1, -1, 0, 0, 0, 0, cu_q_a, cu_k_a, 0, OP_CONTIGUOUS, 0, 0, 0, 1},
    {3, 110, 150, 2, 2, 32, 0, 16, 4, 0, 0, BIAS_FULL, 0, cu_q_b, cu_k_b, 3, OP_PADDED, 0, 0, 0, 0},
    {1, 50, 60, 2, 1, 1, 0, -1, -1, 0, 0, 0, 0, NULL, NULL, 0, OP_CONTIGUOUS, 0, 0, 0, 0},
    {1, 70, 70, 8, 1, 128, 1, -1, -1, 0, 0, 0, 0, NULL, NULL, 0, OP_CONTIGUOUS, 0, 0, 0, 0},
    {1, 45, 45, 2, 2, 40, 0, -1, -1, 0, 0, BIAS_J, 0, NULL, NULL, 0, OP_CONTIGUOUS, 1, 0, 0, 1},
    {2, 64, 128, 2, 2, 64, 0, -1, -1, 0, 30.0f, BIAS_FULL, 1, NULL, NULL, 0, OP_CONTIGUOUS, 0, 0, 0, 0},
    /* strided (padded) rows with D = 64: the AMX forward's direct q and v loads */
    {2, 77, 99, 4, 2, 64, 1, -1, -1, 0, 0, 0, 0, NULL, NULL, 0, OP_PADDED, 0, 0, 0, 0},
};

static int fwd_make_case(int index, op_mode mode, op_case *c) {
    return ac_make_case(cases, (int)(sizeof cases / sizeof cases[0]), index, mode, c);
}

static int fwd_setup(const op_case *c, op_dtype_pair dt, op_problem *p) {
    const attn_case *a = c->params;
    if (ac_setup_inputs(a, dt, p) != 0) return -1;
    int64_t qs[4];
    int32_t nd;
    ac_act_shape(a, 0, qs, &nd);
    if (op_tensor_new(p, "out", OP_OUTPUT, dt.out, nd, qs, a->layout) == NULL) return -1;
    if (!a->no_lse) {
        int64_t ls[3];
        if (a->cu_q) ls[0] = a->H, ls[1] = a->Sq;
        else ls[0] = a->B, ls[1] = a->H, ls[2] = a->Sq;
        if (op_tensor_new(p, "lse", OP_OUTPUT, AX_F32, a->cu_q ? 2 : 3, ls, a->layout) == NULL) return -1;
    }
    return 0;
}

static void fwd_reference(const op_case *c, op_dtype_pair dt, op_problem *p) {
    const attn_case *a = c->params;
    (void)dt;
    op_tensor *out = op_find(p, "out"), *lse = op_find(p, "lse");
    for (int64_t i = 0; i < out->numel; i++) out->expected[i] = NAN;
    if (lse)
        for (int64_t i = 0; i < lse->numel; i++) lse->expected[i] = NAN;
    const ac_inputs in = ac_inputs_of(a, p);
    ac_forward(a, &in, out->expected, lse ? lse->expected : NULL);
}

static ax_status fwd_run(ax_context *ctx, const op_case *c, op_dtype_pair dt, op_problem *p) {
    const attn_case *a = c->params;
    (void)dt;
    const ax_attention_options o = ac_options(a, p);
    return ax_attention_forward(ctx, op_in(p, "q"), op_in(p, "k"), op_in(p, "v"), op_in(p, "bias"), &o,
                                op_out(p, "out"), op_out(p, "lse"));
}

static op_tol fwd_tolerance(const op_case *c, op_dtype_pair dt, op_backend be, const op_tensor *out) {
    const attn_case *a = c->params;
    const double u32 = ldexp(1.0, -24);
    /* Capping adds a few roundings relative to each logit (|logits| stay below 16 here), not to the cap */
    const double fp32 = 8.0 * (double)(a->D + a->Sk) * u32 + 2e-7 + 3e-7 * fmin((double)a->softcap, 16.0);
    const int is_lse = strcmp(out->name, "lse") == 0;
    const double u_out = out->t.dtype == AX_F32 ? 0.0 : opd_unit_roundoff(out->t.dtype);
    op_tol t;
    memset(&t, 0, sizeof t);
    if (is_lse) {
        t.atol = fp32;
        t.rtol = u32;
    } else {
        t.norm_floor = 1e-2;
        t.norm_rtol = fp32 * (1.0 + u_out);
        t.rtol = u_out;
    }
    /* The avx512 path with AVX512-BF16 rounds p to bf16 for p.v (attention_tile.h): each p_j moves by
     * at most u p_j (u = 2^-8, bf16's unit roundoff), so out by at most u sum_j p_j |v_j| / l <= u max
     * |v| = u (v in [-1, 1)), on top of the fp32 bound. */
    if (!is_lse && be == OP_BACKEND_AVX512 && dt.in == AX_BF16 && (ax_cpu_features() & AX_CPU_HAS_AVX512BF16) != 0)
        t.atol += opd_unit_roundoff(AX_BF16);
    if (be == OP_BACKEND_CUDA) {
        const double cuda = dt.in == AX_F32 ? 1e-4 : (is_lse ? 1e-3 : 2e-2);
        if (is_lse) t.atol += cuda, t.rtol += cuda;
        else t.norm_rtol += cuda;
    }
    return t;
}

const op_table op_table_attention_forward = {
    .name = "attention_forward",
    .make_case = fwd_make_case,
    .setup = fwd_setup,
    .reference = fwd_reference,
    .run = fwd_run,
    .tolerance = fwd_tolerance,
    .unsupported = ac_unsupported,
};
