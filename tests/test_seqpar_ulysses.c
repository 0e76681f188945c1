/*
 * test_seqpar_ulysses.c — Evoformer attention in head (Ulysses) mode under `mpiexec -n P`, forward
 * and backward, against the single-rank op on the gathered (global) tensors: S and H not divisible by
 * P (a rank with no head at P = 4), each bias present, absent or broadcast (a pair bias shared by all
 * heads takes the all-gather path), f32 / bf16 / f16, strided shards; and under OpenFold's huge masks
 * (mask_forms.h, a padded MSA row included), also against the float64 reference.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "seqpar_test_util.h"

typedef enum { MASK_NONE, MASK_ROWS, MASK_SHARED } mask_kind;  /* (B, N, 1, 1, S) or (1, 1, 1, 1, S) */
typedef enum { PAIR_NONE, PAIR_HEADS, PAIR_SHARED } pair_kind; /* (B, 1, H, S, S) or (B, 1, 1, S, S) */

typedef struct ulysses_case {
    int64_t B, N, S, H, D;
    ax_dtype dtype, bias_dtype;
    mask_kind mask;
    pair_kind pair;
    test_layout layout;
    /* Optional: rewrites the random global q, k, v, dout before anything runs. */
    void (*prepare)(test_tensor *q, test_tensor *k, test_tensor *v, test_tensor *dout);
} ulysses_case;

/* run_case's mask values: uniform random ones, or a mask_form (FORM_NEG_INF ...) over mask_forms.h's
 * kept keys (row n = N - 1 of batch 0 padded). Either way every output is checked against the
 * single-rank op and against the float64 reference (at one rank the first is the same kernel on the
 * same data, so the second is what can fail there). */
#define UNIFORM_MASK (-1)

static void run_case(const ulysses_case *c, int mask_values) {
    const int huge_mask = mask_values != UNIFORM_MASK;
    const mask_form form = huge_mask ? (mask_form)mask_values : FORM_NEG_INF;
    char name[200];
    snprintf(name, sizeof name, "B=%lld N=%lld S=%lld H=%lld D=%lld %s bias %s mask %d pair %d %s%s%s", (long long)c->B,
             (long long)c->N, (long long)c->S, (long long)c->H, (long long)c->D, ax_dtype_name(c->dtype),
             ax_dtype_name(c->bias_dtype), (int)c->mask, (int)c->pair,
             c->layout == LAYOUT_STRIDED ? "strided" : "contiguous", huge_mask ? ", mask form " : "",
             huge_mask ? mask_form_name(form) : "");
    const int64_t act[5] = {c->B, c->N, c->S, c->H, c->D};
    const int64_t mask_shape[5] = {c->mask == MASK_ROWS ? c->B : 1, c->mask == MASK_ROWS ? c->N : 1, 1, 1, c->S};
    const int64_t pair_shape[5] = {c->B, 1, c->pair == PAIR_HEADS ? c->H : 1, c->S, c->S};
    const int has_mask = c->mask != MASK_NONE, has_pair = c->pair != PAIR_NONE;

    sp_problem g;
    sp_problem_inputs(&g, act, mask_shape, pair_shape, c->dtype, c->bias_dtype, c->layout, has_mask, has_pair,
                      11 + (uint64_t)c->S * 31 + (uint64_t)c->H * 7 + (uint64_t)c->mask * 3 + (uint64_t)c->pair,
                      c->prepare);
    if (huge_mask) sp_problem_set_mask_form(&g, form);
    sp_problem_solve(&g);
    sp_reference ref = {0};
    ref_tensor op_lse = {0};
    sp_reference_build(&ref, &g);
    if (huge_mask) ref_from_tt(&op_lse, &g.lse);

    /* This rank's sequence shard of everything. */
    const ax_tensor lq = sp_my_view(&g.q.t, 2), lk = sp_my_view(&g.k.t, 2), lv = sp_my_view(&g.v.t, 2);
    const ax_tensor ldout = sp_my_view(&g.dout.t, 2), lmask = sp_my_view(&g.mask.t, 4), lpair = sp_my_view(&g.pair.t, 3);
    const ax_tensor want_out = sp_my_view(&g.out.t, 2), want_lse = sp_my_view(&g.lse.t, 3);
    test_tensor got_out, got_lse, got_dq, got_dk, got_dv, got_dmask, got_dpair;
    tt_alloc(&got_out, c->dtype, 5, lq.shape, c->layout);
    tt_alloc(&got_lse, AX_F32, 4, want_lse.shape, c->layout);
    tt_alloc(&got_dq, c->dtype, 5, lq.shape, LAYOUT_CONTIGUOUS);
    tt_alloc(&got_dk, c->dtype, 5, lq.shape, c->layout);
    tt_alloc(&got_dv, c->dtype, 5, lq.shape, c->layout);
    tt_alloc(&got_dmask, c->bias_dtype, 5, lmask.shape, c->layout);
    tt_alloc(&got_dpair, c->bias_dtype, 5, lpair.shape, c->layout);
    test_tensor *outs[] = {&got_out, &got_lse, &got_dq, &got_dk, &got_dv, &got_dmask, &got_dpair};
    for (int i = 0; i < 7; i++) tt_poison(outs[i]);

    const double rel = sp_rel(c->dtype), bias_rel = sp_rel(c->bias_dtype);
    CHECK_OK(ax_evoformer_attention_forward_ulysses(sp_ctx, sp_comm, &lq, &lk, &lv, has_mask ? &lmask : NULL,
                                                    has_pair ? &lpair : NULL, &got_out.t, &got_lse.t));
    int ok = sp_compare("ulysses out", &got_out.t, &want_out, rel, rel / 4);
    if (huge_mask) {
        /* lse is -inf, about -1e9 or -3e38 on the padded row (1e9 everywhere under 1e9 * mask - 1):
         * judged per element, not against the largest |lse|. */
        ok &= sp_compare_lse("ulysses lse", &got_lse.t, &op_lse, 3);
        ok &= sp_compare_lse("ulysses lse vs float64", &got_lse.t, &ref.lse, 3);
    } else {
        ok &= sp_compare("ulysses lse", &got_lse.t, &want_lse, 1e-5, 1e-6);
    }
    ok &= sp_compare_ref("ulysses out vs float64", &got_out, &ref.out, 2, 2e-5);
    CHECK_OK(ax_evoformer_attention_backward_ulysses(sp_ctx, sp_comm, &lq, &lk, &lv, has_mask ? &lmask : NULL,
                                                     has_pair ? &lpair : NULL, &want_out, &want_lse, &ldout,
                                                     &got_dq.t, &got_dk.t, &got_dv.t,
                                                     has_mask ? &got_dmask.t : NULL, has_pair ? &got_dpair.t : NULL));
    const ax_tensor want_dq = sp_my_view(&g.dq.t, 2), want_dk = sp_my_view(&g.dk.t, 2), want_dv = sp_my_view(&g.dv.t, 2);
    ok &= sp_compare("ulysses dq", &got_dq.t, &want_dq, rel, rel / 4);
    ok &= sp_compare("ulysses dk", &got_dk.t, &want_dk, rel, rel / 4);
    ok &= sp_compare("ulysses dv", &got_dv.t, &want_dv, rel, rel / 4);
    if (has_mask) {
        const ax_tensor want = sp_my_view(&g.dmask.t, 4);
        ok &= sp_compare("ulysses dbias_mask_shard", &got_dmask.t, &want, bias_rel, bias_rel / 4 + 2e-5);
    }
    if (has_pair) {
        const ax_tensor want = sp_my_view(&g.dpair.t, 3);
        ok &= sp_compare("ulysses dbias_pair_shard", &got_dpair.t, &want, bias_rel, bias_rel / 4 + 2e-5);
    }
    ok &= sp_compare_ref_mag("ulysses dq vs float64", &got_dq, &ref.dq, 2, 2e-5, &ref.mag[0]);
    ok &= sp_compare_ref_mag("ulysses dk vs float64", &got_dk, &ref.dk, 2, 2e-5, &ref.mag[1]);
    ok &= sp_compare_ref_mag("ulysses dv vs float64", &got_dv, &ref.dv, 2, 2e-5, &ref.mag[2]);
    if (has_mask) ok &= sp_compare_ref("ulysses dbias_mask_shard vs float64", &got_dmask, &ref.dmask, 4, 2e-5);
    if (has_pair) ok &= sp_compare_ref("ulysses dbias_pair_shard vs float64", &got_dpair, &ref.dpair, 3, 2e-5);
    if (!ok) fprintf(stderr, "     [rank %d] in case %s\n", sp_rank, name);

    sp_problem_free(&g);
    sp_reference_free(&ref);
    ref_free(&op_lse);
    for (int i = 0; i < 7; i++) tt_free(outs[i]);
}

static void test_ulysses_grid(void) {
    static const ax_dtype dts[3] = {AX_F32, AX_BF16, AX_F16};
    int counter = 0;
    for (int mk = 0; mk < 3; mk++)
        for (int pk = 0; pk < 3; pk++)
            for (int di = 0; di < 3; di++, counter++) {
                /* H = 3: uneven head shards at P = 2, and an empty one at P = 4 */
                ulysses_case c = {1, 2, 7, 3, 8, dts[di], dts[di], (mask_kind)mk, (pair_kind)pk, LAYOUT_CONTIGUOUS, NULL};
                if (counter % 4 == 1) c.bias_dtype = AX_F32;
                if (counter % 3 == 2) c.layout = LAYOUT_STRIDED;
                if (counter % 5 == 3) c.B = 2;
                run_case(&c, UNIFORM_MASK);
            }
}

/* A single head (only rank 0 computes) and S = 9 with P = 4 (shards 3, 2, 2, 2). */
static void test_ulysses_odd_sizes(void) {
    ulysses_case a = {1, 3, 9, 1, 4, AX_F32, AX_F32, MASK_ROWS, PAIR_HEADS, LAYOUT_STRIDED, NULL};
    run_case(&a, UNIFORM_MASK);
    ulysses_case b = {2, 1, 5, 5, 16, AX_BF16, AX_F32, MASK_SHARED, PAIR_SHARED, LAYOUT_CONTIGUOUS, NULL};
    run_case(&b, UNIFORM_MASK);
}

/* Heads 0 and 2 of contiguous (1, 1, S, 3, D) bf16 tensors: identical q, k, v and opposite dout, so
 * their dS cancel exactly; head 1's dout is scaled by 1/64 (all exact in bf16). */
static void make_cancelling_heads(test_tensor *q, test_tensor *k, test_tensor *v, test_tensor *dout) {
    const int64_t S = q->t.shape[2], D = q->t.shape[4];
    test_tensor *same[3] = {q, k, v};
    for (int64_t i = 0; i < S; i++) {
        for (int t = 0; t < 3; t++) {
            uint16_t *row = (uint16_t *)same[t]->t.data + i * same[t]->t.strides[2];
            memcpy(row + 2 * D, row, (size_t)D * 2);
        }
        uint16_t *g = (uint16_t *)dout->t.data + i * dout->t.strides[2];
        for (int64_t d = 0; d < D; d++) {
            g[2 * D + d] = (uint16_t)(g[d] ^ 0x8000u);
            g[D + d] = ax_f32_to_bf16(ax_bf16_to_f32(g[D + d]) / 64.0f);
        }
    }
}

/* A pair bias shared by all heads gets its gradient summed over heads, which Ulysses splits across
 * ranks (heads 0 and 2 on different ranks for P = 2 and 4): the ranks' partial sums must meet in
 * fp32 and be rounded once. With heads 0 and 2 cancelling, the gradient is head 1's, 64 times
 * smaller than either: a partial rounded to bf16 per rank would miss by tens of its ulps. */
static void test_ulysses_shared_pair_gradient_rounds_once(void) {
    ulysses_case c = {1, 1, 8, 3, 8, AX_BF16, AX_BF16, MASK_NONE, PAIR_SHARED, LAYOUT_CONTIGUOUS, make_cancelling_heads};
    run_case(&c, UNIFORM_MASK);
}

/* OpenFold's masks (mask_forms.h) with a non-zero dout on every row, the padded one included, against
 * the single-rank op and the float64 reference. Every rank holds a slice of every row's keys, the
 * padded row's included (S = 9 at P = 4: 3, 2, 2, 2), and gathers the whole row before its heads
 * attend; H = 3 leaves a rank without a head at P = 4; S = 70 spans two key tiles; f16 takes fp32
 * biases (it cannot hold 1e9); a mask shared by every row and batch pads them all. */
static void test_ulysses_huge_masks(void) {
    for (int f = 0; f < FORM_COUNT; f++) {
        const ulysses_case cases[] = {
            {2, 3, 9, 3, 8, AX_F32, AX_F32, MASK_ROWS, PAIR_HEADS, LAYOUT_STRIDED, NULL},
            {1, 2, 70, 2, 8, AX_BF16, AX_BF16, MASK_ROWS, PAIR_SHARED, LAYOUT_CONTIGUOUS, NULL},
            {2, 2, 9, 3, 16, AX_F16, AX_F32, MASK_ROWS, PAIR_HEADS, LAYOUT_CONTIGUOUS, NULL},
            {2, 2, 7, 2, 8, AX_BF16, AX_F32, MASK_SHARED, PAIR_NONE, LAYOUT_STRIDED, NULL},
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(&cases[i], f);
    }
}

int main(int argc, char **argv) {
    if (sp_init(&argc, &argv) != 0) return 1;
    SP_RUN(test_ulysses_grid);
    SP_RUN(test_ulysses_odd_sizes);
    SP_RUN(test_ulysses_shared_pair_gradient_rounds_once);
    SP_RUN(test_ulysses_huge_masks);
    return sp_finish();
}
