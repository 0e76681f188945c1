/*
 * test_evoformer_backward.c — Evoformer attention backward on the CPU: every gradient against the
 * double-precision reference, against finite differences of the forward, and bitwise determinism.
 * `--quick` runs a smaller grid (used for the second run with the portable kernels).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "evoformer_cases.h"

static ax_context *ctx;

typedef struct grads {
    test_tensor out, lse, dout, dq, dk, dv, dmask, dpair;
} grads;

static void grads_free(grads *g) {
    tt_free(&g->out);
    tt_free(&g->lse);
    tt_free(&g->dout);
    tt_free(&g->dq);
    tt_free(&g->dk);
    tt_free(&g->dv);
    tt_free(&g->dmask);
    tt_free(&g->dpair);
}

/* Allocates outputs (poisoned with NaN) and inputs out / lse / dout. out and lse are the reference
 * forward's, rounded to their dtypes, so the backward is judged on its own. */
static int grads_setup(grads *g, const evo_problem *p, ref_tensor *rout, ref_tensor *rdout) {
    const evo_case *c = &p->c;
    const int64_t act[5] = {c->B, c->N, c->S, c->H, c->D};
    const int64_t lse_shape[4] = {c->B, c->N, c->H, c->S};
    memset(g, 0, sizeof *g);
    if (tt_alloc(&g->out, c->dtype, 5, act, c->layout) || tt_alloc(&g->lse, AX_F32, 4, lse_shape, c->layout) ||
        tt_alloc(&g->dout, c->dtype, 5, act, c->layout) || tt_alloc(&g->dq, c->dtype, 5, act, c->layout) ||
        tt_alloc(&g->dk, c->dtype, 5, act, c->layout) || tt_alloc(&g->dv, c->dtype, 5, act, c->layout))
        return -1;
    if (p->has_mask && tt_alloc(&g->dmask, p->bias_mask.t.dtype, 5, p->bias_mask.t.shape, c->layout)) return -1;
    if (p->has_pair && tt_alloc(&g->dpair, p->bias_pair.t.dtype, 5, p->bias_pair.t.shape, c->layout)) return -1;
    tt_poison(&g->dq);
    tt_poison(&g->dk);
    tt_poison(&g->dv);
    if (p->has_mask) tt_poison(&g->dmask);
    if (p->has_pair) tt_poison(&g->dpair);
    tt_fill_uniform(&g->dout, -1.0, 1.0);

    ref_tensor rlse;
    if (ref_alloc(rout, 5, act) || ref_alloc(&rlse, 4, lse_shape)) return -1;
    ref_forward(&p->rq, &p->rk, &p->rv, opt_ref(&p->rmask, p->has_mask), opt_ref(&p->rpair, p->has_pair), rout, &rlse);
    int64_t idx[5] = {0};
    int64_t flat = 0;
    for (idx[0] = 0; idx[0] < c->B; idx[0]++)
        for (idx[1] = 0; idx[1] < c->N; idx[1]++)
            for (idx[2] = 0; idx[2] < c->S; idx[2]++)
                for (idx[3] = 0; idx[3] < c->H; idx[3]++)
                    for (idx[4] = 0; idx[4] < c->D; idx[4]++, flat++) {
                        tt_set(&g->out, idx, rout->v[flat]);
                        rout->v[flat] = tt_get(&g->out, idx); /* the rounded value the op sees */
                    }
    flat = 0;
    for (idx[0] = 0; idx[0] < c->B; idx[0]++)
        for (idx[1] = 0; idx[1] < c->N; idx[1]++)
            for (idx[2] = 0; idx[2] < c->H; idx[2]++)
                for (idx[3] = 0; idx[3] < c->S; idx[3]++, flat++) tt_set(&g->lse, idx, rlse.v[flat]);
    ref_free(&rlse);
    return ref_from_tt(rdout, &g->dout);
}

static ax_status run_backward(ax_context *c, evo_problem *p, grads *g) {
    return ax_evoformer_attention_backward(c, &p->q.t, &p->k.t, &p->v.t, opt_tensor(&p->bias_mask, p->has_mask),
                                           opt_tensor(&p->bias_pair, p->has_pair), &g->out.t, &g->lse.t, &g->dout.t,
                                           &g->dq.t, &g->dk.t, &g->dv.t, p->has_mask ? &g->dmask.t : NULL,
                                           p->has_pair ? &g->dpair.t : NULL);
}

static void run_backward_case(const evo_case *c) {
    char name[256];
    case_name(c, name, sizeof name);
    evo_problem p;
    grads g;
    ref_tensor rout, rdout, rdq, rdk, rdv, rdmask, rdpair;
    memset(&rdmask, 0, sizeof rdmask);
    memset(&rdpair, 0, sizeof rdpair);
    if (problem_build(&p, c) != 0 || grads_setup(&g, &p, &rout, &rdout) != 0) {
        TH_FAIL("%s: out of memory building the problem", name);
        return;
    }
    const int64_t act[5] = {c->B, c->N, c->S, c->H, c->D};
    ref_alloc(&rdq, 5, act);
    ref_alloc(&rdk, 5, act);
    ref_alloc(&rdv, 5, act);
    ref_tensor mag[3];
    for (int t = 0; t < 3; t++) ref_alloc(&mag[t], 5, act);
    if (p.has_mask) ref_alloc(&rdmask, 5, p.bias_mask.t.shape);
    if (p.has_pair) ref_alloc(&rdpair, 5, p.bias_pair.t.shape);
    ref_backward_magnitudes(&p.rq, &p.rk, &p.rv, opt_ref(&p.rmask, p.has_mask), opt_ref(&p.rpair, p.has_pair), &rout,
                            &rdout, &rdq, &rdk, &rdv, p.has_mask ? &rdmask : NULL, p.has_pair ? &rdpair : NULL, &mag[0],
                            &mag[1], &mag[2]);

    const ax_status st = run_backward(ctx, &p, &g);
    th_checks++;
    if (st != AX_OK) {
        TH_FAIL("%s: backward returned %s: %s", name, ax_status_string(st), ax_last_error());
    } else {
        /* Gradients sum many terms (dbias_mask: H * S per element), so fp32 gets a little more room. */
        int ok = compare_to_ref_mag("dq", &g.dq, &rdq, 2e-5, &mag[0]);
        ok &= compare_to_ref_mag("dk", &g.dk, &rdk, 2e-5, &mag[1]);
        ok &= compare_to_ref_mag("dv", &g.dv, &rdv, 2e-5, &mag[2]);
        th_checks += 3;
        if (p.has_mask) {
            ok &= compare_to_ref("dbias_mask", &g.dmask, &rdmask, 2e-5);
            th_checks++;
        }
        if (p.has_pair) {
            ok &= compare_to_ref("dbias_pair", &g.dpair, &rdpair, 2e-5);
            th_checks++;
        }
        if (!ok) fprintf(stderr, "     in case %s\n", name);
    }
    for (int t = 0; t < 3; t++) ref_free(&mag[t]);
    ref_free(&rout);
    ref_free(&rdout);
    ref_free(&rdq);
    ref_free(&rdk);
    ref_free(&rdv);
    ref_free(&rdmask);
    ref_free(&rdpair);
    grads_free(&g);
    problem_free(&p);
}

static void test_grid(int quick) {
    static const int64_t Ss[] = {1, 7, 16, 17, 130, 257};
    static const int64_t Ds[] = {8, 16, 32, 64, 128};
    static const int64_t Hs[] = {1, 3, 8};
    static const int64_t Ns[] = {1, 5};
    static const int64_t Bs[] = {1, 2};
    static const ax_dtype dts[] = {AX_F32, AX_BF16, AX_F16};
    int counter = 0;
    for (size_t si = 0; si < sizeof Ss / sizeof Ss[0]; si++)
        for (size_t di = 0; di < sizeof Ds / sizeof Ds[0]; di++, counter++) {
            if (quick && counter % 3 != 0) continue;
            evo_case c;
            c.S = Ss[si];
            c.D = Ds[di];
            c.H = Hs[(counter + 1) % 3];
            c.N = Ns[counter % 2];
            c.B = Bs[(counter / 2) % 2];
            if (c.S >= 130) {
                c.H = c.H > 3 ? 3 : c.H;
                c.N = c.D >= 64 ? 1 : c.N;
                c.B = 1;
            }
            c.dtype = dts[(counter + 1) % 3];
            c.bias_dtype = (counter % 4 == 2) ? AX_F32 : c.dtype;
            c.mask = (bias_mode)((counter + 1) % 3);
            c.pair = (bias_mode)((counter / 3 + 1) % 3);
            c.values = (mask_values)(counter % 3);
            c.layout = (counter % 5 == 1) ? LAYOUT_STRIDED : LAYOUT_CONTIGUOUS;
            run_backward_case(&c);
        }
}

static void test_grid_full(void) { test_grid(0); }
static void test_grid_quick(void) { test_grid(1); }

/* Broadcast in every position a bias allows, so each gradient sums over each kind of axis. */
static void broadcast_gradients_at(int64_t B, int64_t N, int64_t S, int64_t H, int64_t D) {
    /* (A bias broadcast over the key axis j would get the sum over j of dS, which is zero for every
     * row: such a case tests only cancellation, so j stays whole here.) */
    const int64_t mask_shapes[4][5] = {{B, N, 1, 1, S}, {1, N, 1, 1, S}, {B, 1, 1, 1, S}, {1, 1, 1, 1, S}};
    const int64_t pair_shapes[4][5] = {{B, 1, H, S, S}, {1, 1, H, S, S}, {B, 1, 1, S, S}, {1, 1, 1, 1, S}};
    for (int m = 0; m < 4; m++) {
        evo_case c = {B, N, S, H, D, AX_F32, AX_F32, BIAS_FULL, BIAS_FULL, MASK_RANDOM, LAYOUT_CONTIGUOUS};
        evo_problem p;
        CHECK(problem_build(&p, &c) == 0);
        /* replace the biases by ones of the shapes under test */
        tt_free(&p.bias_mask);
        tt_free(&p.bias_pair);
        ref_free(&p.rmask);
        ref_free(&p.rpair);
        tt_alloc(&p.bias_mask, AX_F32, 5, mask_shapes[m], LAYOUT_CONTIGUOUS);
        tt_alloc(&p.bias_pair, AX_F32, 5, pair_shapes[m], m % 2 ? LAYOUT_STRIDED : LAYOUT_CONTIGUOUS);
        tt_fill_uniform(&p.bias_mask, -1.0, 1.0);
        tt_fill_uniform(&p.bias_pair, -1.0, 1.0);
        ref_from_tt(&p.rmask, &p.bias_mask);
        ref_from_tt(&p.rpair, &p.bias_pair);

        grads g;
        ref_tensor rout, rdout, rdq, rdk, rdv, rdmask, rdpair;
        CHECK(grads_setup(&g, &p, &rout, &rdout) == 0);
        const int64_t act[5] = {B, N, S, H, D};
        ref_alloc(&rdq, 5, act);
        ref_alloc(&rdk, 5, act);
        ref_alloc(&rdv, 5, act);
        ref_alloc(&rdmask, 5, mask_shapes[m]);
        ref_alloc(&rdpair, 5, pair_shapes[m]);
        ref_tensor mag[3];
        for (int t = 0; t < 3; t++) ref_alloc(&mag[t], 5, act);
        ref_backward_magnitudes(&p.rq, &p.rk, &p.rv, &p.rmask, &p.rpair, &rout, &rdout, &rdq, &rdk, &rdv, &rdmask,
                                &rdpair, &mag[0], &mag[1], &mag[2]);
        CHECK_OK(run_backward(ctx, &p, &g));
        th_checks += 5;
        int ok = compare_to_ref_mag("dq", &g.dq, &rdq, 2e-5, &mag[0]);
        ok &= compare_to_ref_mag("dk", &g.dk, &rdk, 2e-5, &mag[1]);
        ok &= compare_to_ref_mag("dv", &g.dv, &rdv, 2e-5, &mag[2]);
        ok &= compare_to_ref("dbias_mask", &g.dmask, &rdmask, 2e-5);
        ok &= compare_to_ref("dbias_pair", &g.dpair, &rdpair, 2e-5);
        if (!ok)
            fprintf(stderr, "     in broadcast configuration %d, N = %lld, D = %lld\n", m, (long long)N, (long long)D);
        for (int t = 0; t < 3; t++) ref_free(&mag[t]);
        ref_free(&rout);
        ref_free(&rdout);
        ref_free(&rdq);
        ref_free(&rdk);
        ref_free(&rdv);
        ref_free(&rdmask);
        ref_free(&rdpair);
        grads_free(&g);
        problem_free(&p);
    }
}

static void test_broadcast_gradients(void) {
    broadcast_gradients_at(2, 3, 19, 3, 8);
    /* N = 13 with D = 256: the backward cuts n into ranges of 5, 5 and 3 for each (b, h) the pair
     * gradient keeps, and sums their slices afterwards, for every broadcast form */
    broadcast_gradients_at(2, 13, 37, 3, 256);
}

/* Loss L = sum(dout * out). Central differences of the library's own forward (fp32, run in double
 * precision arithmetic on fp32 storage) against the library's backward, on a few elements of each
 * input: checks the gradients without the reference. */
static double loss_of(evo_problem *p, grads *g, test_tensor *out_scratch) {
    CHECK_OK(ax_evoformer_attention_forward(ctx, &p->q.t, &p->k.t, &p->v.t, &p->bias_mask.t, &p->bias_pair.t,
                                            &out_scratch->t, NULL));
    double loss = 0.0;
    const evo_case *c = &p->c;
    int64_t idx[5];
    for (idx[0] = 0; idx[0] < c->B; idx[0]++)
        for (idx[1] = 0; idx[1] < c->N; idx[1]++)
            for (idx[2] = 0; idx[2] < c->S; idx[2]++)
                for (idx[3] = 0; idx[3] < c->H; idx[3]++)
                    for (idx[4] = 0; idx[4] < c->D; idx[4]++)
                        loss += tt_get(&g->dout, idx) * tt_get(out_scratch, idx);
    return loss;
}

static void check_fd(const char *what, evo_problem *p, grads *g, test_tensor *input, const test_tensor *grad,
                     test_tensor *scratch, int samples) {
    const double h = 1e-2;
    for (int s = 0; s < samples; s++) {
        int64_t idx[5];
        for (int d = 0; d < 5; d++) idx[d] = (int64_t)(th_rand_u64() % (uint64_t)input->t.shape[d]);
        const double orig = tt_get(input, idx);
        tt_set(input, idx, orig + h);
        const double lp = loss_of(p, g, scratch);
        tt_set(input, idx, orig - h);
        const double lm = loss_of(p, g, scratch);
        tt_set(input, idx, orig);
        const double fd = (lp - lm) / (2 * h);
        const double an = tt_get(grad, idx);
        th_checks++;
        if (fabs(fd - an) > 2e-3 + 2e-2 * fabs(fd))
            TH_FAIL("%s[%lld,%lld,%lld,%lld,%lld]: finite difference %.6g, backward %.6g", what, (long long)idx[0],
                    (long long)idx[1], (long long)idx[2], (long long)idx[3], (long long)idx[4], fd, an);
    }
}

static void test_finite_differences(void) {
    evo_case c = {1, 2, 11, 2, 8, AX_F32, AX_F32, BIAS_FULL, BIAS_FULL, MASK_RANDOM, LAYOUT_CONTIGUOUS};
    evo_problem p;
    grads g;
    ref_tensor rout, rdout;
    CHECK(problem_build(&p, &c) == 0);
    CHECK(grads_setup(&g, &p, &rout, &rdout) == 0);
    /* The backward needs the library's own forward out and lse for a self-consistent check. */
    CHECK_OK(ax_evoformer_attention_forward(ctx, &p.q.t, &p.k.t, &p.v.t, &p.bias_mask.t, &p.bias_pair.t, &g.out.t, &g.lse.t));
    CHECK_OK(run_backward(ctx, &p, &g));
    test_tensor scratch;
    const int64_t act[5] = {1, 2, 11, 2, 8};
    tt_alloc(&scratch, AX_F32, 5, act, LAYOUT_CONTIGUOUS);
    th_seed(99);
    check_fd("dq", &p, &g, &p.q, &g.dq, &scratch, 6);
    check_fd("dk", &p, &g, &p.k, &g.dk, &scratch, 6);
    check_fd("dv", &p, &g, &p.v, &g.dv, &scratch, 6);
    check_fd("dbias_mask", &p, &g, &p.bias_mask, &g.dmask, &scratch, 4);
    check_fd("dbias_pair", &p, &g, &p.bias_pair, &g.dpair, &scratch, 6);
    tt_free(&scratch);
    ref_free(&rout);
    ref_free(&rdout);
    grads_free(&g);
    problem_free(&p);
}

/* Two runs give the same bits, for every gradient, with several threads and uneven work; and so do
 * one thread and three (the backward cuts n into ranges whose dbias_pair sums are added after the
 * parallel loop: the cut must follow the shape, never the thread count). */
static void test_determinism(void) {
    const ax_dtype dts[2] = {AX_F32, AX_BF16};
    ax_context *others[2] = {NULL, NULL};
    const int counts[2] = {1, 3};
    for (int i = 0; i < 2; i++) {
        ax_context_config cfg = AX_CONTEXT_CONFIG_INIT;
        cfg.num_threads = counts[i];
        CHECK_OK(ax_context_create(&others[i], &cfg));
    }
    for (int t = 0; t < 2; t++) {
        /* N = 9 with D = 256: two ranges of n (5 + 4) */
        evo_case c = {2, 9, 100, 3, 256, dts[t], AX_F32, BIAS_FULL, BIAS_FULL, MASK_RANDOM, LAYOUT_CONTIGUOUS};
        evo_problem p;
        grads g[4];
        ref_tensor rout[4], rdout[4];
        CHECK(problem_build(&p, &c) == 0);
        for (int r = 0; r < 4; r++) {
            tt_seed(5);
            CHECK(grads_setup(&g[r], &p, &rout[r], &rdout[r]) == 0);
        }
        CHECK_OK(run_backward(ctx, &p, &g[0]));
        CHECK_OK(run_backward(ctx, &p, &g[1]));
        for (int i = 0; i < 2; i++)
            if (others[i] != NULL) CHECK_OK(run_backward(others[i], &p, &g[2 + i]));
        const size_t es = ax_dtype_size(c.dtype);
        for (int r = 1; r < 4; r++) {
            if (r >= 2 && others[r - 2] == NULL) continue;
            CHECK(memcmp(g[0].dq.storage, g[r].dq.storage, (size_t)g[0].dq.storage_elems * es) == 0);
            CHECK(memcmp(g[0].dk.storage, g[r].dk.storage, (size_t)g[0].dk.storage_elems * es) == 0);
            CHECK(memcmp(g[0].dv.storage, g[r].dv.storage, (size_t)g[0].dv.storage_elems * es) == 0);
            CHECK(memcmp(g[0].dmask.storage, g[r].dmask.storage, (size_t)g[0].dmask.storage_elems * 4) == 0);
            CHECK(memcmp(g[0].dpair.storage, g[r].dpair.storage, (size_t)g[0].dpair.storage_elems * 4) == 0);
        }
        for (int r = 0; r < 4; r++) {
            ref_free(&rout[r]);
            ref_free(&rdout[r]);
            grads_free(&g[r]);
        }
        problem_free(&p);
    }
    for (int i = 0; i < 2; i++) ax_context_destroy(others[i]);
}

/* Long enough (S * S > 256K) that the backward runs its query tiles outer and keeps only a tile of
 * pair-gradient rows (the grid's shorter S run heads outer): both orders against the reference. */
static void test_long_sequence_order(void) {
    evo_case c = {1, 3, 520, 2, 8, AX_F32, AX_F32, BIAS_FULL, BIAS_FULL, MASK_NEG_INF, LAYOUT_CONTIGUOUS};
    run_backward_case(&c);
    evo_case bf = {1, 2, 530, 1, 16, AX_BF16, AX_F32, BIAS_BROADCAST, BIAS_FULL, MASK_RANDOM, LAYOUT_STRIDED};
    run_backward_case(&bf);
    /* and with N cut into two ranges (at least 1024 / D rows each), whose partial sums of dbias_pair
     * are copied out a tile of rows at a time */
    evo_case ranges = {1, 8, 520, 1, 256, AX_F32, AX_F32, BIAS_FULL, BIAS_FULL, MASK_RANDOM, LAYOUT_CONTIGUOUS};
    run_backward_case(&ranges);
}

static void test_every_cpu_path(void) {
    const ax_cpu_path paths[] = {AX_CPU_PATH_PORTABLE, AX_CPU_PATH_AVX2, AX_CPU_PATH_AVX512};
    for (size_t i = 0; i < 3; i++) {
        if (ax_cpu_path_set(paths[i]) != AX_OK) {
            printf("  (path %s not supported by this CPU: skipped)\n", ax_cpu_path_name(paths[i]));
            continue;
        }
        evo_case c = {1, 3, 70, 2, 40, AX_F32, AX_F32, BIAS_FULL, BIAS_FULL, MASK_NEG_INF, LAYOUT_CONTIGUOUS};
        run_backward_case(&c);
    }
    ax_cpu_path_set(AX_CPU_PATH_AUTO);
}

int main(int argc, char **argv) {
    const int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    if (ax_context_create(&ctx, NULL) != AX_OK) {
        fprintf(stderr, "cannot create a CPU context: %s\n", ax_last_error());
        return 1;
    }
    printf("CPU kernels: %s, %d threads%s\n", ax_cpu_path_name(ax_cpu_path_active()), (int)ax_context_num_threads(ctx),
           quick ? " (quick grid)" : "");
    if (quick) {
        RUN(test_grid_quick);
    } else {
        RUN(test_grid_full);
        RUN(test_broadcast_gradients);
        RUN(test_finite_differences);
        RUN(test_determinism);
        RUN(test_long_sequence_order);
        RUN(test_every_cpu_path);
    }
    ax_context_destroy(ctx);
    return th_finish();
}
