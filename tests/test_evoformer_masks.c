/*
 * test_evoformer_masks.c — Evoformer attention under the masks OpenFold and DeepSpeed users write
 * (1e9 * (mask - 1), 1e9 * mask - 1, -3e38, -inf), with padded MSA rows whose every key is masked and
 * a non-zero upstream gradient on every row (padded rows feed later layers in OpenFold). On every
 * CPU path this machine has, and in f32, bf16 and f16:
 *   1. the float64 reference's backward against central differences of its own forward;
 *   2. the library's forward (out, lse) against the reference;
 *   3. the library's backward, run on the library's own forward out and lse, against the reference;
 *   4. (f32) the library's backward against central differences of the library's own forward.
 * And a pair bias that masks whole query rows with -1e9, where fp32 loses q.k in the forward: the
 * backward must be the gradient of that forward (uniform probabilities over the kept keys), not of
 * a softmax that sums to S.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "evoformer_cases.h"
#include "mask_forms.h"

static ax_context *ctx;

typedef struct run_out {
    test_tensor out, lse, dout, dq, dk, dv, dmask, dpair;
} run_out;

static void run_out_free(run_out *r) {
    test_tensor *all[8] = {&r->out, &r->lse, &r->dout, &r->dq, &r->dk, &r->dv, &r->dmask, &r->dpair};
    for (int i = 0; i < 8; i++) tt_free(all[i]);
}

/* Rewrites the mask of a built problem with form f (and its double copy). */
static void apply_mask_form(evo_problem *p, mask_form f) {
    const evo_case *c = &p->c;
    int64_t idx[5] = {0, 0, 0, 0, 0};
    for (idx[0] = 0; idx[0] < p->bias_mask.t.shape[0]; idx[0]++)
        for (idx[1] = 0; idx[1] < p->bias_mask.t.shape[1]; idx[1]++)
            for (idx[4] = 0; idx[4] < c->S; idx[4]++)
                tt_set(&p->bias_mask, idx, mask_form_value(f, mask_keep(idx[0], idx[1], idx[4], c->N)));
    ref_free(&p->rmask);
    ref_from_tt(&p->rmask, &p->bias_mask);
}

/* The library's forward and backward (from its own out and lse) with a fresh non-zero dout. */
static int run_library(evo_problem *p, run_out *r) {
    const evo_case *c = &p->c;
    const int64_t act[5] = {c->B, c->N, c->S, c->H, c->D}, lse_shape[4] = {c->B, c->N, c->H, c->S};
    memset(r, 0, sizeof *r);
    if (tt_alloc(&r->out, c->dtype, 5, act, c->layout) || tt_alloc(&r->lse, AX_F32, 4, lse_shape, c->layout) ||
        tt_alloc(&r->dout, c->dtype, 5, act, c->layout) || tt_alloc(&r->dq, c->dtype, 5, act, c->layout) ||
        tt_alloc(&r->dk, c->dtype, 5, act, c->layout) || tt_alloc(&r->dv, c->dtype, 5, act, c->layout) ||
        tt_alloc(&r->dmask, p->bias_mask.t.dtype, 5, p->bias_mask.t.shape, c->layout) ||
        tt_alloc(&r->dpair, p->bias_pair.t.dtype, 5, p->bias_pair.t.shape, c->layout))
        return -1;
    test_tensor *outs[7] = {&r->out, &r->lse, &r->dq, &r->dk, &r->dv, &r->dmask, &r->dpair};
    for (int i = 0; i < 7; i++) tt_poison(outs[i]);
    tt_fill_uniform(&r->dout, -1.0, 1.0);
    CHECK_OK(ax_evoformer_attention_forward(ctx, &p->q.t, &p->k.t, &p->v.t, &p->bias_mask.t, &p->bias_pair.t,
                                            &r->out.t, &r->lse.t));
    CHECK_OK(ax_evoformer_attention_backward(ctx, &p->q.t, &p->k.t, &p->v.t, &p->bias_mask.t, &p->bias_pair.t,
                                             &r->out.t, &r->lse.t, &r->dout.t, &r->dq.t, &r->dk.t, &r->dv.t,
                                             &r->dmask.t, &r->dpair.t));
    return 0;
}

/* lse against the reference: -inf exactly where it is -inf, else within fp32 rounding of the value
 * plus 2e-5 (the lse of a padded row is -1e9 + log S: only its rounding is checkable). */
static void check_lse(const char *desc, const test_tensor *got, const ref_tensor *want) {
    int64_t idx[4] = {0, 0, 0, 0}, bad = 0, first = -1;
    const int64_t n = ref_numel(want);
    for (int64_t i = 0; i < n; i++) {
        const double w = want->v[i], g = tt_get(got, idx);
        const int ok = isinf(w) ? g == w : fabs(g - w) <= 2e-5 * (1.0 + fabs(w)) + 1e-7 * fabs(w);
        if (!ok && first < 0) first = i;
        bad += !ok;
        for (int d = 3; d >= 0 && ++idx[d] == got->t.shape[d]; d--) idx[d] = 0;
    }
    th_checks++;
    if (bad > 0)
        TH_FAIL("lse [%s]: %lld rows off the reference; first at flat %lld: reference %.9g", desc, (long long)bad,
                (long long)first, want->v[first]);
}

/* ---- 1. the reference against its own finite differences (float64) ---------------------------- */

typedef struct ref_problem {
    ref_tensor *q, *k, *v, *mask, *pair, *dout;
} ref_problem;

static double ref_loss(const ref_problem *rp) {
    ref_tensor out;
    ref_alloc(&out, 5, rp->q->shape);
    ref_forward(rp->q, rp->k, rp->v, rp->mask, rp->pair, &out, NULL);
    double loss = 0.0;
    for (int64_t i = 0; i < ref_numel(&out); i++) loss += out.v[i] * rp->dout->v[i];
    ref_free(&out);
    return loss;
}

/* Central differences on `samples` elements of `input`, half of them in batch 0's last MSA row (the
 * padded one). A perturbation that double cannot represent next to the value (-3e38, -inf) is
 * skipped: no finite difference sees it. */
static void ref_check_fd(const char *what, const char *desc, const ref_problem *rp, ref_tensor *input,
                         const ref_tensor *grad, int samples) {
    for (int s = 0; s < samples; s++) {
        int64_t idx[5];
        for (int d = 0; d < 5; d++) idx[d] = (int64_t)(th_rand_u64() % (uint64_t)input->shape[d]);
        if (s % 2 == 0 && input->shape[1] > 1) {
            idx[0] = 0;
            idx[1] = input->shape[1] - 1;
        }
        int64_t flat = 0;
        for (int d = 0; d < 5; d++) flat = flat * input->shape[d] + idx[d];
        const double orig = input->v[flat];
        if (!isfinite(orig) || fabs(orig) > 1e12) continue;
        const double h = fabs(orig) > 1e6 ? 1e-2 : 1e-5;
        input->v[flat] = orig + h;
        const double lp = ref_loss(rp);
        input->v[flat] = orig - h;
        const double lm = ref_loss(rp);
        input->v[flat] = orig;
        const double fd = (lp - lm) / (2 * h), an = grad->v[flat];
        const double tol = fabs(orig) > 1e6 ? 1e-4 + 1e-3 * fabs(an) : 1e-7 + 1e-5 * fabs(an);
        th_checks++;
        if (fabs(fd - an) > tol)
            TH_FAIL("reference %s[%lld,%lld,%lld,%lld,%lld] [%s]: float64 finite difference %.9g, backward %.9g", what,
                    (long long)idx[0], (long long)idx[1], (long long)idx[2], (long long)idx[3], (long long)idx[4], desc,
                    fd, an);
    }
}

/* ---- 4. the library against central differences of its own fp32 forward ----------------------- */

static double library_loss(evo_problem *p, const test_tensor *dout, test_tensor *scratch) {
    CHECK_OK(ax_evoformer_attention_forward(ctx, &p->q.t, &p->k.t, &p->v.t, &p->bias_mask.t, &p->bias_pair.t,
                                            &scratch->t, NULL));
    const evo_case *c = &p->c;
    double loss = 0.0;
    int64_t idx[5];
    for (idx[0] = 0; idx[0] < c->B; idx[0]++)
        for (idx[1] = 0; idx[1] < c->N; idx[1]++)
            for (idx[2] = 0; idx[2] < c->S; idx[2]++)
                for (idx[3] = 0; idx[3] < c->H; idx[3]++)
                    for (idx[4] = 0; idx[4] < c->D; idx[4]++) loss += tt_get(dout, idx) * tt_get(scratch, idx);
    return loss;
}

/* As ref_check_fd, on the fp32 tensors through the API: an element whose perturbation fp32 cannot
 * represent (|value| > 1e4, a masked key) is skipped. */
static void library_check_fd(const char *what, const char *desc, evo_problem *p, const run_out *r, test_tensor *input,
                             const test_tensor *grad, int samples) {
    const double h = 1e-2;
    test_tensor scratch;
    tt_alloc(&scratch, AX_F32, 5, r->out.t.shape, LAYOUT_CONTIGUOUS);
    for (int s = 0; s < samples; s++) {
        int64_t idx[5];
        for (int d = 0; d < 5; d++) idx[d] = (int64_t)(th_rand_u64() % (uint64_t)input->t.shape[d]);
        if (s % 2 == 0 && input->t.shape[1] > 1) {
            idx[0] = 0;
            idx[1] = input->t.shape[1] - 1;
        }
        const double orig = tt_get(input, idx);
        if (!isfinite(orig) || fabs(orig) > 1e4) continue;
        tt_set(input, idx, orig + h);
        const double lp = library_loss(p, &r->dout, &scratch);
        tt_set(input, idx, orig - h);
        const double lm = library_loss(p, &r->dout, &scratch);
        tt_set(input, idx, orig);
        const double fd = (lp - lm) / (2 * h), an = tt_get(grad, idx);
        th_checks++;
        if (fabs(fd - an) > 2e-3 + 2e-2 * fabs(fd))
            TH_FAIL("%s[%lld,%lld,%lld,%lld,%lld] [%s]: fp32 finite difference %.6g, backward %.6g", what,
                    (long long)idx[0], (long long)idx[1], (long long)idx[2], (long long)idx[3], (long long)idx[4], desc,
                    fd, an);
    }
    tt_free(&scratch);
}

/* ---- one case --------------------------------------------------------------------------------- */

static void run_mask_case(const evo_case *base, mask_form form, int reference_fd) {
    char desc[320], shape[256];
    case_name(base, shape, sizeof shape);
    snprintf(desc, sizeof desc, "%s mask form %s, path %s", shape, mask_form_name(form),
             ax_cpu_path_name(ax_cpu_path_active()));
    const int failures_before = th_failures;
    evo_problem p;
    run_out r;
    if (problem_build(&p, base) != 0) {
        TH_FAIL("%s: out of memory", desc);
        return;
    }
    apply_mask_form(&p, form);
    if (run_library(&p, &r) != 0) {
        TH_FAIL("%s: out of memory", desc);
        problem_free(&p);
        return;
    }
    const evo_case *c = &p.c;
    const int64_t act[5] = {c->B, c->N, c->S, c->H, c->D}, lse_shape[4] = {c->B, c->N, c->H, c->S};

    ref_tensor rout, rlse, rdout, rlib_out, rdq, rdk, rdv, rdmask, rdpair;
    ref_alloc(&rout, 5, act);
    ref_alloc(&rlse, 4, lse_shape);
    ref_forward(&p.rq, &p.rk, &p.rv, &p.rmask, &p.rpair, &rout, &rlse);
    ref_from_tt(&rdout, &r.dout);
    ref_from_tt(&rlib_out, &r.out);
    ref_alloc(&rdq, 5, act);
    ref_alloc(&rdk, 5, act);
    ref_alloc(&rdv, 5, act);
    ref_alloc(&rdmask, 5, p.bias_mask.t.shape);
    ref_alloc(&rdpair, 5, p.bias_pair.t.shape);

    /* 1. The reference is the function it claims to be, here with out exact (float64). */
    if (reference_fd) {
        ref_backward(&p.rq, &p.rk, &p.rv, &p.rmask, &p.rpair, &rout, &rdout, &rdq, &rdk, &rdv, &rdmask, &rdpair);
        ref_problem rp = {&p.rq, &p.rk, &p.rv, &p.rmask, &p.rpair, &rdout};
        ref_check_fd("dq", desc, &rp, &p.rq, &rdq, 6);
        ref_check_fd("dk", desc, &rp, &p.rk, &rdk, 6);
        ref_check_fd("dv", desc, &rp, &p.rv, &rdv, 6);
        ref_check_fd("dbias_mask", desc, &rp, &p.rmask, &rdmask, 6);
        ref_check_fd("dbias_pair", desc, &rp, &p.rpair, &rdpair, 6);
    }

    /* 2. The forward. */
    compare_to_ref("out", &r.out, &rout, 2e-5);
    th_checks++;
    check_lse(desc, &r.lse, &rlse);

    /* 3. The backward, on the out the library produced (delta = rowsum(dout * out) uses it). */
    ref_tensor mag[3];
    for (int t = 0; t < 3; t++) ref_alloc(&mag[t], 5, act);
    ref_backward_magnitudes(&p.rq, &p.rk, &p.rv, &p.rmask, &p.rpair, &rlib_out, &rdout, &rdq, &rdk, &rdv, &rdmask,
                            &rdpair, &mag[0], &mag[1], &mag[2]);
    compare_to_ref_mag("dq", &r.dq, &rdq, 2e-5, &mag[0]);
    compare_to_ref_mag("dk", &r.dk, &rdk, 2e-5, &mag[1]);
    compare_to_ref_mag("dv", &r.dv, &rdv, 2e-5, &mag[2]);
    compare_to_ref("dbias_mask", &r.dmask, &rdmask, 2e-5);
    compare_to_ref("dbias_pair", &r.dpair, &rdpair, 2e-5);
    for (int t = 0; t < 3; t++) ref_free(&mag[t]);
    th_checks += 5;

    /* 4. Finite differences of the library's own forward. */
    if (c->dtype == AX_F32) {
        library_check_fd("dq", desc, &p, &r, &p.q, &r.dq, 6);
        library_check_fd("dk", desc, &p, &r, &p.k, &r.dk, 6);
        library_check_fd("dv", desc, &p, &r, &p.v, &r.dv, 6);
        library_check_fd("dbias_mask", desc, &p, &r, &p.bias_mask, &r.dmask, 6);
        library_check_fd("dbias_pair", desc, &p, &r, &p.bias_pair, &r.dpair, 6);
    }
    if (th_failures != failures_before) fprintf(stderr, "     in case %s\n", desc);

    ref_tensor *refs[9] = {&rout, &rlse, &rdout, &rlib_out, &rdq, &rdk, &rdv, &rdmask, &rdpair};
    for (int i = 0; i < 9; i++) ref_free(refs[i]);
    run_out_free(&r);
    problem_free(&p);
}

/* Every mask form, in every dtype, with one and two query/key tiles (S = 40 as in the report, and
 * S = 70 > 64), on the CPU path now active. The reference's own finite differences run once per
 * form (they do not depend on the path). */
static void mask_grid(int reference_fd) {
    for (int f = 0; f < FORM_COUNT; f++) {
        /* B N S H D dtype bias mask pair values layout */
        const evo_case cases[] = {
            {2, 3, 40, 2, 16, AX_F32, AX_F32, BIAS_FULL, BIAS_FULL, MASK_RANDOM, LAYOUT_CONTIGUOUS},
            {1, 2, 70, 3, 8, AX_F32, AX_F32, BIAS_FULL, BIAS_FULL, MASK_RANDOM, LAYOUT_STRIDED},
            {2, 3, 40, 2, 16, AX_BF16, AX_BF16, BIAS_FULL, BIAS_FULL, MASK_RANDOM, LAYOUT_CONTIGUOUS},
            /* f16 cannot hold 1e9 or 3e38: its biases are fp32, as a caller's would be */
            {1, 3, 70, 2, 32, AX_F16, AX_F32, BIAS_FULL, BIAS_FULL, MASK_RANDOM, LAYOUT_CONTIGUOUS},
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
            run_mask_case(&cases[i], (mask_form)f, reference_fd && i == 0);
    }
}

static void test_mask_forms_every_path(void) {
    const ax_cpu_path paths[] = {AX_CPU_PATH_PORTABLE, AX_CPU_PATH_AVX2, AX_CPU_PATH_AVX512};
    for (size_t i = 0; i < 3; i++) {
        if (ax_cpu_path_set(paths[i]) != AX_OK) {
            printf("  (path %s not supported by this CPU: skipped)\n", ax_cpu_path_name(paths[i]));
            continue;
        }
        printf("  path %s\n", ax_cpu_path_name(paths[i]));
        mask_grid(i == 0);
    }
    ax_cpu_path_set(AX_CPU_PATH_AUTO);
}

/* The report's exact symptom: S = 40 and one (b, n) padded with 1e9 * (mask - 1). Its rows' output is
 * softmax(q.k + pair) v (as in float64), and dv gets from them that softmax times dout, not S times
 * it: checked here against a sum written out in the test, independently of the reference. */
static void test_padded_row_dv(void) {
    const evo_case base = {1, 2, 40, 1, 8, AX_F32, AX_F32, BIAS_FULL, BIAS_NONE, MASK_RANDOM, LAYOUT_CONTIGUOUS};
    evo_problem p;
    CHECK(problem_build(&p, &base) == 0);
    apply_mask_form(&p, FORM_PAD_1E9);
    /* each (b, n) is its own attention, so dv of row n = 1 (the padded one) is that row's P^T dout */
    const int64_t S = 40, D = 8;
    test_tensor out, lse, dout, dq, dk, dv, dmask;
    const int64_t act[5] = {1, 2, S, 1, D}, lse_shape[4] = {1, 2, 1, S};
    tt_alloc(&out, AX_F32, 5, act, LAYOUT_CONTIGUOUS);
    tt_alloc(&lse, AX_F32, 4, lse_shape, LAYOUT_CONTIGUOUS);
    tt_alloc(&dout, AX_F32, 5, act, LAYOUT_CONTIGUOUS);
    tt_alloc(&dq, AX_F32, 5, act, LAYOUT_CONTIGUOUS);
    tt_alloc(&dk, AX_F32, 5, act, LAYOUT_CONTIGUOUS);
    tt_alloc(&dv, AX_F32, 5, act, LAYOUT_CONTIGUOUS);
    tt_alloc(&dmask, AX_F32, 5, p.bias_mask.t.shape, LAYOUT_CONTIGUOUS);
    tt_fill_uniform(&dout, -1.0, 1.0);
    CHECK_OK(ax_evoformer_attention_forward(ctx, &p.q.t, &p.k.t, &p.v.t, &p.bias_mask.t, NULL, &out.t, &lse.t));
    CHECK_OK(ax_evoformer_attention_backward(ctx, &p.q.t, &p.k.t, &p.v.t, &p.bias_mask.t, NULL, &out.t, &lse.t,
                                             &dout.t, &dq.t, &dk.t, &dv.t, &dmask.t, NULL));
    const double scale = 1.0 / sqrt((double)D);
    double worst = 0.0;
    for (int64_t j = 0; j < S; j++)
        for (int64_t d = 0; d < D; d++) {
            double want = 0.0;
            for (int64_t i = 0; i < S; i++) {
                /* softmax over keys of q_i . k_l / sqrt(D): the -1e9 on every key cancels */
                double logits[40], mx = -INFINITY, sum = 0.0;
                for (int64_t l = 0; l < S; l++) {
                    double dot = 0.0;
                    for (int64_t e = 0; e < D; e++) {
                        const int64_t qi[5] = {0, 1, i, 0, e}, kl[5] = {0, 1, l, 0, e};
                        dot += tt_get(&p.q, qi) * tt_get(&p.k, kl);
                    }
                    logits[l] = dot * scale;
                    mx = logits[l] > mx ? logits[l] : mx;
                }
                for (int64_t l = 0; l < S; l++) sum += exp(logits[l] - mx);
                const int64_t gi[5] = {0, 1, i, 0, d};
                want += exp(logits[j] - mx) / sum * tt_get(&dout, gi);
            }
            const int64_t vj[5] = {0, 1, j, 0, d};
            const double err = fabs(tt_get(&dv, vj) - want);
            worst = err > worst ? err : worst;
        }
    th_checks++;
    if (worst > 1e-5) TH_FAIL("padded row, S = 40: worst |dv - softmax^T dout| = %.3g", worst);
    test_tensor *all[7] = {&out, &lse, &dout, &dq, &dk, &dv, &dmask};
    for (int i = 0; i < 7; i++) tt_free(all[i]);
    problem_free(&p);
}

/* A pair bias of exactly -1e9 on whole query rows (b = 0, h = 0, rows 3 and 37), with q zero on those
 * rows: fp32 and float64 then see the same logits (every kept key -1e9 exactly), so the reference is
 * the forward as computed, and the backward must match it. Before the fix the backward took p = 1
 * for every key there (the lse -1e9 + log S had rounded to -1e9). */
static void test_huge_pair_rows(void) {
    const ax_cpu_path paths[] = {AX_CPU_PATH_PORTABLE, AX_CPU_PATH_AVX2, AX_CPU_PATH_AVX512};
    for (size_t pi = 0; pi < 3; pi++) {
        if (ax_cpu_path_set(paths[pi]) != AX_OK) continue;
        const ax_dtype dts[2] = {AX_F32, AX_BF16};
        for (int t = 0; t < 2; t++) {
            const evo_case base = {1, 2, 40, 2, 16, dts[t], AX_F32, BIAS_FULL, BIAS_FULL, MASK_RANDOM,
                                   LAYOUT_CONTIGUOUS};
            evo_problem p;
            CHECK(problem_build(&p, &base) == 0);
            apply_mask_form(&p, FORM_PAD_1E9); /* row n = 1 padded: its mask shift leaves -1e9 + 0 */
            const int64_t rows[2] = {3, 37};
            for (int r = 0; r < 2; r++) {
                for (int64_t j = 0; j < base.S; j++) {
                    const int64_t idx[5] = {0, 0, 0, rows[r], j};
                    tt_set(&p.bias_pair, idx, -1e9);
                }
                for (int64_t n = 0; n < base.N; n++)
                    for (int64_t d = 0; d < base.D; d++) {
                        const int64_t idx[5] = {0, n, rows[r], 0, d};
                        tt_set(&p.q, idx, 0.0);
                    }
            }
            ref_free(&p.rpair);
            ref_free(&p.rq);
            ref_from_tt(&p.rpair, &p.bias_pair);
            ref_from_tt(&p.rq, &p.q);
            run_out r;
            CHECK(run_library(&p, &r) == 0);
            const int64_t act[5] = {1, 2, 40, 2, 16};
            ref_tensor rlib_out, rdout, rdq, rdk, rdv, rdmask, rdpair;
            ref_from_tt(&rlib_out, &r.out);
            ref_from_tt(&rdout, &r.dout);
            ref_alloc(&rdq, 5, act);
            ref_alloc(&rdk, 5, act);
            ref_alloc(&rdv, 5, act);
            ref_alloc(&rdmask, 5, p.bias_mask.t.shape);
            ref_alloc(&rdpair, 5, p.bias_pair.t.shape);
            ref_tensor mag[3];
            for (int m = 0; m < 3; m++) ref_alloc(&mag[m], 5, act);
            ref_backward_magnitudes(&p.rq, &p.rk, &p.rv, &p.rmask, &p.rpair, &rlib_out, &rdout, &rdq, &rdk, &rdv,
                                    &rdmask, &rdpair, &mag[0], &mag[1], &mag[2]);
            int ok = compare_to_ref_mag("dq", &r.dq, &rdq, 2e-5, &mag[0]);
            ok &= compare_to_ref_mag("dk", &r.dk, &rdk, 2e-5, &mag[1]);
            ok &= compare_to_ref_mag("dv", &r.dv, &rdv, 2e-5, &mag[2]);
            for (int m = 0; m < 3; m++) ref_free(&mag[m]);
            ok &= compare_to_ref("dbias_mask", &r.dmask, &rdmask, 2e-5);
            ok &= compare_to_ref("dbias_pair", &r.dpair, &rdpair, 2e-5);
            th_checks += 5;
            if (!ok)
                fprintf(stderr, "     in the huge pair-bias case, %s, path %s\n", ax_dtype_name(dts[t]),
                        ax_cpu_path_name(paths[pi]));
            ref_tensor *refs[7] = {&rlib_out, &rdout, &rdq, &rdk, &rdv, &rdmask, &rdpair};
            for (int i = 0; i < 7; i++) ref_free(refs[i]);
            run_out_free(&r);
            problem_free(&p);
        }
    }
    ax_cpu_path_set(AX_CPU_PATH_AUTO);
}

int main(void) {
    if (ax_context_create(&ctx, NULL) != AX_OK) {
        fprintf(stderr, "cannot create a CPU context: %s\n", ax_last_error());
        return 1;
    }
    printf("CPU kernels: %s, %d threads\n", ax_cpu_path_name(ax_cpu_path_active()), (int)ax_context_num_threads(ctx));
    tt_seed(2026);
    th_seed(12);
    RUN(test_padded_row_dv);
    RUN(test_mask_forms_every_path);
    RUN(test_huge_pair_rows);
    ax_context_destroy(ctx);
    return th_finish();
}
