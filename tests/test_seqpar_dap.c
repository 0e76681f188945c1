/*
 * test_seqpar_dap.c — Evoformer attention in axial (DAP) mode under `mpiexec -n P`, forward and
 * backward, against the single-rank op on the gathered (global) tensors: N and S not divisible by P
 * (including a rank with no rows), each bias present or absent or broadcast, f32 / bf16 / f16, and
 * strided (non-contiguous) shards; and under OpenFold's huge masks (mask_forms.h, a padded MSA row
 * included), also against the float64 reference.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "seqpar_test_util.h"

typedef enum { MASK_NONE, MASK_ROWS, MASK_SHARED } mask_kind;  /* (B, N, 1, 1, S) or (B, 1, 1, 1, S) */
typedef enum { PAIR_NONE, PAIR_HEADS, PAIR_SHARED } pair_kind; /* (B, 1, H, S, S) or (B, 1, 1, S, S) */

typedef struct dap_case {
    int64_t B, N, S, H, D;
    ax_dtype dtype, bias_dtype;
    mask_kind mask;
    pair_kind pair;
    test_layout layout;
    /* Optional: rewrites the random global q, k, v, dout before anything runs. */
    void (*prepare)(test_tensor *q, test_tensor *k, test_tensor *v, test_tensor *dout);
} dap_case;

/* run_case's mask values: uniform random ones, or a mask_form (FORM_NEG_INF ...) over mask_forms.h's
 * kept keys (row n = N - 1 of batch 0 padded). Either way every output is checked against the
 * single-rank op and against the float64 reference (at one rank the first is the same kernel on the
 * same data, so the second is what can fail there). */
#define UNIFORM_MASK (-1)

static void run_case(const dap_case *c, int mask_values) {
    const int huge_mask = mask_values != UNIFORM_MASK;
    const mask_form form = huge_mask ? (mask_form)mask_values : FORM_NEG_INF;
    char name[200];
    snprintf(name, sizeof name, "B=%lld N=%lld S=%lld H=%lld D=%lld %s bias %s mask %d pair %d %s%s%s", (long long)c->B,
             (long long)c->N, (long long)c->S, (long long)c->H, (long long)c->D, ax_dtype_name(c->dtype),
             ax_dtype_name(c->bias_dtype), (int)c->mask, (int)c->pair,
             c->layout == LAYOUT_STRIDED ? "strided" : "contiguous", huge_mask ? ", mask form " : "",
             huge_mask ? mask_form_name(form) : "");
    const int64_t act[5] = {c->B, c->N, c->S, c->H, c->D};
    const int64_t mask_shape[5] = {c->B, c->mask == MASK_ROWS ? c->N : 1, 1, 1, c->S};
    const int64_t pair_shape[5] = {c->B, 1, c->pair == PAIR_HEADS ? c->H : 1, c->S, c->S};
    const int has_mask = c->mask != MASK_NONE, has_pair = c->pair != PAIR_NONE;

    sp_problem g;
    sp_problem_inputs(&g, act, mask_shape, pair_shape, c->dtype, c->bias_dtype, c->layout, has_mask, has_pair,
                      7 + (uint64_t)c->N * 31 + (uint64_t)c->S * 7 + (uint64_t)c->mask * 3 + (uint64_t)c->pair,
                      c->prepare);
    if (huge_mask) sp_problem_set_mask_form(&g, form);
    sp_problem_solve(&g);
    sp_reference ref = {0};
    ref_tensor op_lse = {0};
    sp_reference_build(&ref, &g);
    if (huge_mask) ref_from_tt(&op_lse, &g.lse);
    if (huge_mask && c->mask == MASK_ROWS) {
        /* The padded row (b = 0, n = N - 1) is some rank's, exactly one's: that rank's shard is tested. */
        int64_t first_row, rows;
        sp_shard(c->N, sp_rank, &first_row, &rows);
        int holds_padded = first_row <= c->N - 1 && c->N - 1 < first_row + rows, holders = 0;
        MPI_Allreduce(&holds_padded, &holders, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
        CHECK_INT_EQ(holders, 1);
    }

    /* This rank's shards: views into the global tensors (strided when the layout is). */
    const ax_tensor lq = sp_my_view(&g.q.t, 1), lk = sp_my_view(&g.k.t, 1), lv = sp_my_view(&g.v.t, 1);
    const ax_tensor ldout = sp_my_view(&g.dout.t, 1);
    const ax_tensor lmask = c->mask == MASK_ROWS ? sp_my_view(&g.mask.t, 1) : g.mask.t;
    const ax_tensor lpair = sp_my_view(&g.pair.t, 3);
    const ax_tensor want_out = sp_my_view(&g.out.t, 1), want_lse = sp_my_view(&g.lse.t, 1);
    test_tensor got_out, got_lse, got_dq, got_dk, got_dv, got_dmask, got_dpair;
    tt_alloc(&got_out, c->dtype, 5, lq.shape, c->layout);
    tt_alloc(&got_lse, AX_F32, 4, want_lse.shape, c->layout);
    tt_alloc(&got_dq, c->dtype, 5, lq.shape, c->layout);
    tt_alloc(&got_dk, c->dtype, 5, lq.shape, LAYOUT_CONTIGUOUS);
    tt_alloc(&got_dv, c->dtype, 5, lq.shape, c->layout);
    tt_alloc(&got_dmask, c->bias_dtype, 5, lmask.shape, c->layout);
    tt_alloc(&got_dpair, c->bias_dtype, 5, lpair.shape, c->layout);
    test_tensor *outs[] = {&got_out, &got_lse, &got_dq, &got_dk, &got_dv, &got_dmask, &got_dpair};
    for (int i = 0; i < 7; i++) tt_poison(outs[i]);

    const double rel = sp_rel(c->dtype);
    CHECK_OK(ax_evoformer_attention_forward_dap(sp_ctx, sp_comm, &lq, &lk, &lv, has_mask ? &lmask : NULL,
                                                has_pair ? &lpair : NULL, &got_out.t, &got_lse.t));
    int ok = sp_compare("dap out", &got_out.t, &want_out, rel, rel / 4);
    if (huge_mask) {
        /* lse is -inf, about -1e9 or -3e38 on the padded row (1e9 everywhere under 1e9 * mask - 1):
         * judged per element, not against the largest |lse|. */
        ok &= sp_compare_lse("dap lse", &got_lse.t, &op_lse, 1);
        ok &= sp_compare_lse("dap lse vs float64", &got_lse.t, &ref.lse, 1);
    } else {
        ok &= sp_compare("dap lse", &got_lse.t, &want_lse, 1e-5, 1e-6);
    }
    ok &= sp_compare_ref("dap out vs float64", &got_out, &ref.out, 1, 2e-5);

    /* The backward reads the forward's out and lse: the single-rank op's, so it is judged on its own. */
    CHECK_OK(ax_evoformer_attention_backward_dap(sp_ctx, sp_comm, &lq, &lk, &lv, has_mask ? &lmask : NULL,
                                                 has_pair ? &lpair : NULL, &want_out, &want_lse, &ldout, &got_dq.t,
                                                 &got_dk.t, &got_dv.t, has_mask ? &got_dmask.t : NULL,
                                                 has_pair ? &got_dpair.t : NULL));
    const ax_tensor want_dq = sp_my_view(&g.dq.t, 1), want_dk = sp_my_view(&g.dk.t, 1), want_dv = sp_my_view(&g.dv.t, 1);
    ok &= sp_compare("dap dq", &got_dq.t, &want_dq, rel, rel / 4);
    ok &= sp_compare("dap dk", &got_dk.t, &want_dk, rel, rel / 4);
    ok &= sp_compare("dap dv", &got_dv.t, &want_dv, rel, rel / 4);
    const double bias_rel = sp_rel(c->bias_dtype);
    if (c->mask == MASK_ROWS) {
        const ax_tensor want = sp_my_view(&g.dmask.t, 1);
        ok &= sp_compare("dap dbias_mask", &got_dmask.t, &want, bias_rel, bias_rel / 4 + 2e-5);
    } else if (c->mask == MASK_SHARED) {
        /* A mask shared by all rows gets this rank's rows' share: summed over ranks, the whole gradient. */
        CHECK_OK(ax_all_reduce(sp_ctx, sp_comm, &got_dmask.t, &got_dmask.t));
        ok &= sp_compare("dap dbias_mask (shared, summed over ranks)", &got_dmask.t, &g.dmask.t, 2 * bias_rel,
                         bias_rel / 2 + 2e-5);
    }
    if (has_pair) {
        const ax_tensor want = sp_my_view(&g.dpair.t, 3);
        ok &= sp_compare("dap dbias_pair_shard", &got_dpair.t, &want, bias_rel, bias_rel / 4 + 2e-5);
    }
    ok &= sp_compare_ref_mag("dap dq vs float64", &got_dq, &ref.dq, 1, 2e-5, &ref.mag[0]);
    ok &= sp_compare_ref_mag("dap dk vs float64", &got_dk, &ref.dk, 1, 2e-5, &ref.mag[1]);
    ok &= sp_compare_ref_mag("dap dv vs float64", &got_dv, &ref.dv, 1, 2e-5, &ref.mag[2]);
    /* A shared mask's gradient was summed over the ranks above: in fp32 only, where the ranks' partial
     * sums are not each rounded to 16 bits first (the single-rank comparison covers the others). */
    if (c->mask == MASK_ROWS || (c->mask == MASK_SHARED && c->bias_dtype == AX_F32))
        ok &= sp_compare_ref("dap dbias_mask vs float64", &got_dmask, &ref.dmask, c->mask == MASK_ROWS ? 1 : -1, 2e-5);
    if (has_pair) ok &= sp_compare_ref("dap dbias_pair_shard vs float64", &got_dpair, &ref.dpair, 3, 2e-5);
    if (!ok) fprintf(stderr, "     [rank %d] in case %s\n", sp_rank, name);

    sp_problem_free(&g);
    sp_reference_free(&ref);
    ref_free(&op_lse);
    for (int i = 0; i < 7; i++) tt_free(outs[i]);
}

static void test_dap_grid(void) {
    static const ax_dtype dts[3] = {AX_F32, AX_BF16, AX_F16};
    int counter = 0;
    for (int mk = 0; mk < 3; mk++)
        for (int pk = 0; pk < 3; pk++)
            for (int di = 0; di < 3; di++, counter++) {
                dap_case c = {1, 5, 7, 2, 8, dts[di], dts[di], (mask_kind)mk, (pair_kind)pk, LAYOUT_CONTIGUOUS, NULL};
                if (counter % 4 == 1) c.bias_dtype = AX_F32;
                if (counter % 3 == 2) c.layout = LAYOUT_STRIDED;
                if (counter % 5 == 3) c.B = 2;
                run_case(&c, UNIFORM_MASK);
            }
}

/* Fewer rows than ranks (a rank holds none at P = 4) and S smaller than P as well. */
static void test_dap_tiny_shards(void) {
    dap_case a = {1, 3, 3, 3, 4, AX_F32, AX_F32, MASK_ROWS, PAIR_HEADS, LAYOUT_STRIDED, NULL};
    run_case(&a, UNIFORM_MASK);
    dap_case b = {2, 2, 9, 1, 16, AX_BF16, AX_F32, MASK_SHARED, PAIR_SHARED, LAYOUT_CONTIGUOUS, NULL};
    run_case(&b, UNIFORM_MASK);
}

/* Rows 0 and 2 of a contiguous (1, 3, S, H, D) 16-bit tensor: copy, negate, scale by a power of 2
 * (all exact in bf16). */
static uint16_t *row_of(test_tensor *t, int64_t n) {
    return (uint16_t *)t->t.data + n * t->t.strides[1];
}
static void make_cancelling_rows(test_tensor *q, test_tensor *k, test_tensor *v, test_tensor *dout) {
    const int64_t row = q->t.strides[1];
    test_tensor *same[3] = {q, k, v};
    for (int i = 0; i < 3; i++) memcpy(row_of(same[i], 2), row_of(same[i], 0), (size_t)row * 2);
    for (int64_t e = 0; e < row; e++) {
        row_of(dout, 2)[e] = (uint16_t)(row_of(dout, 0)[e] ^ 0x8000u);
        row_of(dout, 1)[e] = ax_f32_to_bf16(ax_bf16_to_f32(row_of(dout, 1)[e]) / 64.0f);
    }
}

/* The pair-bias gradient is a sum over rows n that DAP splits across ranks: each rank's partial sum
 * must meet the others in fp32 and be rounded to the bias dtype once. Rows 0 and 2 (on different
 * ranks for P = 2 and 4) get identical q, k, v and opposite dout, so their dS cancel exactly and the
 * gradient is row 1's, 64 times smaller: a partial rounded to bf16 on its rank would be off by about
 * 64 bf16 ulps of the result, far outside the tolerance. */
static void test_dap_pair_gradient_rounds_once(void) {
    dap_case c = {1, 3, 8, 1, 8, AX_BF16, AX_BF16, MASK_NONE, PAIR_HEADS, LAYOUT_CONTIGUOUS, make_cancelling_rows};
    run_case(&c, UNIFORM_MASK);
}

/* OpenFold's masks (mask_forms.h) with a non-zero dout on every row, the padded one included, against
 * the single-rank op and the float64 reference. The padded row is the last rank's with rows (N = 5:
 * rank 1 of 2, rank 3 of 4; N = 3 at P = 4: rank 2, while rank 3 holds none); S = 70 spans two key
 * tiles; f16 takes fp32 biases (it cannot hold 1e9); a mask shared by all rows pads every row of
 * batch 0 on every rank, and its gradient is summed over the ranks' rows. */
static void test_dap_huge_masks(void) {
    for (int f = 0; f < FORM_COUNT; f++) {
        const dap_case cases[] = {
            {2, 5, 9, 2, 8, AX_F32, AX_F32, MASK_ROWS, PAIR_HEADS, LAYOUT_STRIDED, NULL},
            {1, 3, 70, 2, 8, AX_BF16, AX_BF16, MASK_ROWS, PAIR_SHARED, LAYOUT_CONTIGUOUS, NULL},
            {2, 5, 9, 2, 16, AX_F16, AX_F32, MASK_ROWS, PAIR_HEADS, LAYOUT_CONTIGUOUS, NULL},
            {2, 3, 9, 2, 8, AX_BF16, AX_F32, MASK_SHARED, PAIR_HEADS, LAYOUT_STRIDED, NULL},
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(&cases[i], f);
    }
}

int main(int argc, char **argv) {
    if (sp_init(&argc, &argv) != 0) return 1;
    SP_RUN(test_dap_grid);
    SP_RUN(test_dap_tiny_shards);
    SP_RUN(test_dap_pair_gradient_rounds_once);
    SP_RUN(test_dap_huge_masks);
    return sp_finish();
}
