/*
 * test_evoformer_forward.c — Evoformer attention forward on the CPU against the double-precision
 * reference, over sizes, dtypes, bias configurations, masks and layouts.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "evoformer_cases.h"

static ax_context *ctx;

static void run_forward_case(const evo_case *c) {
    char name[256];
    case_name(c, name, sizeof name);
    evo_problem p;
    if (problem_build(&p, c) != 0) {
        TH_FAIL("%s: out of memory building the problem", name);
        problem_free(&p);
        return;
    }
    const int64_t act[5] = {c->B, c->N, c->S, c->H, c->D};
    const int64_t lse_shape[4] = {c->B, c->N, c->H, c->S};
    test_tensor out, lse;
    ref_tensor rout, rlse;
    tt_alloc(&out, c->dtype, 5, act, c->layout);
    tt_alloc(&lse, AX_F32, 4, lse_shape, c->layout);
    tt_poison(&out); /* unwritten elements stay NaN and fail the comparison */
    tt_poison(&lse);
    ref_alloc(&rout, 5, act);
    ref_alloc(&rlse, 4, lse_shape);
    ref_forward(&p.rq, &p.rk, &p.rv, opt_ref(&p.rmask, p.has_mask), opt_ref(&p.rpair, p.has_pair), &rout, &rlse);

    const ax_status st = ax_evoformer_attention_forward(ctx, &p.q.t, &p.k.t, &p.v.t, opt_tensor(&p.bias_mask, p.has_mask),
                                                        opt_tensor(&p.bias_pair, p.has_pair), &out.t, &lse.t);
    th_checks++;
    if (st != AX_OK) {
        TH_FAIL("%s: forward returned %s: %s", name, ax_status_string(st), ax_last_error());
    } else {
        th_checks += 2;
        int ok = compare_to_ref("out", &out, &rout, 1e-5);
        ok &= compare_to_ref("lse", &lse, &rlse, 1e-5);
        if (!ok) fprintf(stderr, "     in case %s\n", name);
    }
    tt_free(&out);
    tt_free(&lse);
    ref_free(&rout);
    ref_free(&rlse);
    problem_free(&p);
}

/* The grid of the issue: S in {1, 7, 16, 17, 130, 257}, D in {8, 16, 32, 64, 128}, H in {1, 3, 8},
 * N in {1, 5}, B in {1, 2}, each bias present/absent/broadcast, masks, layouts and dtypes. The full
 * product is too slow for the double reference, so every S x D pair runs once with the other
 * settings rotating through their values (a Latin-square-like cover of every value of each). */
static void test_grid(void) {
    static const int64_t Ss[] = {1, 7, 16, 17, 130, 257};
    static const int64_t Ds[] = {8, 16, 32, 64, 128};
    static const int64_t Hs[] = {1, 3, 8};
    static const int64_t Ns[] = {1, 5};
    static const int64_t Bs[] = {1, 2};
    static const ax_dtype dts[] = {AX_F32, AX_BF16, AX_F16};
    int counter = 0;
    for (size_t si = 0; si < sizeof Ss / sizeof Ss[0]; si++)
        for (size_t di = 0; di < sizeof Ds / sizeof Ds[0]; di++, counter++) {
            evo_case c;
            c.S = Ss[si];
            c.D = Ds[di];
            c.H = Hs[counter % 3];
            c.N = Ns[(counter / 3) % 2];
            c.B = Bs[(counter / 2) % 2];
            if (c.S >= 130) { /* keep the O(S^2 D) double reference quick */
                c.H = c.H > 3 ? 3 : c.H;
                c.N = c.D >= 64 ? 1 : c.N;
            }
            c.dtype = dts[counter % 3];
            c.bias_dtype = (counter % 4 == 1) ? AX_F32 : c.dtype;
            c.mask = (bias_mode)(counter % 3);
            c.pair = (bias_mode)((counter / 3) % 3);
            c.values = (mask_values)((counter / 2) % 3);
            c.layout = (counter % 5 == 3) ? LAYOUT_STRIDED : LAYOUT_CONTIGUOUS;
            run_forward_case(&c);
        }
}

static void test_fully_masked_rows(void) {
    const evo_case cases[] = {
        {2, 3, 17, 2, 16, AX_F32, AX_F32, BIAS_FULL, BIAS_FULL, MASK_NEG_INF, LAYOUT_CONTIGUOUS},
        {1, 4, 70, 3, 8, AX_BF16, AX_F32, BIAS_FULL, BIAS_BROADCAST, MASK_NEG_INF, LAYOUT_STRIDED},
        {1, 2, 9, 1, 24, AX_F16, AX_F16, BIAS_FULL, BIAS_NONE, MASK_NEG_INF, LAYOUT_CONTIGUOUS},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_forward_case(&cases[i]);
}

static void test_odd_head_dims_and_strides(void) {
    /* Head dims that are no multiple of the vector width, and D up to the CPU limit. */
    const int64_t Ds[] = {1, 3, 59, 111, 256};
    for (size_t i = 0; i < sizeof Ds / sizeof Ds[0]; i++) {
        evo_case c = {1, 2, 33, 2, Ds[i], AX_F32, AX_F32, BIAS_FULL, BIAS_FULL, MASK_LARGE_NEG,
                      i % 2 ? LAYOUT_STRIDED : LAYOUT_CONTIGUOUS};
        run_forward_case(&c);
    }
}

static void test_every_cpu_path(void) {
    const ax_cpu_path paths[] = {AX_CPU_PATH_PORTABLE, AX_CPU_PATH_AVX2, AX_CPU_PATH_AVX512};
    for (size_t i = 0; i < 3; i++) {
        if (ax_cpu_path_set(paths[i]) != AX_OK) {
            printf("  (path %s not supported by this CPU: skipped)\n", ax_cpu_path_name(paths[i]));
            continue;
        }
        evo_case c = {2, 3, 70, 3, 40, AX_F32, AX_F32, BIAS_FULL, BIAS_FULL, MASK_RANDOM, LAYOUT_CONTIGUOUS};
        run_forward_case(&c);
        c.dtype = AX_BF16;
        run_forward_case(&c);
    }
    ax_cpu_path_set(AX_CPU_PATH_AUTO);
}

static void test_out_without_lse_and_single_thread(void) {
    ax_context_config cfg = AX_CONTEXT_CONFIG_INIT;
    cfg.num_threads = 1;
    ax_context *one = NULL;
    CHECK_OK(ax_context_create(&one, &cfg));
    evo_case c = {1, 3, 40, 2, 16, AX_F32, AX_F32, BIAS_FULL, BIAS_FULL, MASK_RANDOM, LAYOUT_CONTIGUOUS};
    evo_problem p;
    CHECK(problem_build(&p, &c) == 0);
    const int64_t act[5] = {1, 3, 40, 2, 16};
    test_tensor out1, out2;
    tt_alloc(&out1, AX_F32, 5, act, LAYOUT_CONTIGUOUS);
    tt_alloc(&out2, AX_F32, 5, act, LAYOUT_CONTIGUOUS);
    CHECK_OK(ax_evoformer_attention_forward(one, &p.q.t, &p.k.t, &p.v.t, &p.bias_mask.t, &p.bias_pair.t, &out1.t, NULL));
    CHECK_OK(ax_evoformer_attention_forward(ctx, &p.q.t, &p.k.t, &p.v.t, &p.bias_mask.t, &p.bias_pair.t, &out2.t, NULL));
    /* Units never share outputs, so the thread count cannot change a single bit. */
    CHECK(memcmp(out1.storage, out2.storage, (size_t)out1.storage_elems * sizeof(float)) == 0);
    ref_tensor rout;
    ref_alloc(&rout, 5, act);
    ref_forward(&p.rq, &p.rk, &p.rv, &p.rmask, &p.rpair, &rout, NULL);
    th_checks++;
    compare_to_ref("out (no lse)", &out1, &rout, 1e-5);
    ref_free(&rout);
    tt_free(&out1);
    tt_free(&out2);
    problem_free(&p);
    ax_context_destroy(one);
}

/* Working memory grows at most linearly in S (packed K and V of one head per thread), never like the
 * S x S logits: from S = 128 to 1024 it may grow up to 8x, the logits would grow 64x. */
static void test_working_memory_is_linear_in_s(void) {
    int64_t peaks[2];
    const int64_t Ss[2] = {128, 1024};
    ax_context_config cfg = AX_CONTEXT_CONFIG_INIT;
    cfg.num_threads = 2; /* the same thread count for both sizes */
    ax_context *two = NULL;
    CHECK_OK(ax_context_create(&two, &cfg));
    for (int i = 0; i < 2; i++) {
        evo_case c = {1, 1, Ss[i], 1, 32, AX_F32, AX_F32, BIAS_NONE, BIAS_FULL, MASK_RANDOM, LAYOUT_CONTIGUOUS};
        evo_problem p;
        CHECK(problem_build(&p, &c) == 0);
        const int64_t act[5] = {1, 1, Ss[i], 1, 32};
        test_tensor out;
        tt_alloc(&out, AX_F32, 5, act, LAYOUT_CONTIGUOUS);
        CHECK_OK(ax_evoformer_attention_forward(two, &p.q.t, &p.k.t, &p.v.t, NULL, &p.bias_pair.t, &out.t, NULL));
        peaks[i] = ax_context_workspace_peak(two);
        ax_context_workspace_peak_reset(two);
        tt_free(&out);
        problem_free(&p);
    }
    ax_context_destroy(two);
    CHECK(peaks[0] > 0);
    CHECK(peaks[1] <= 8 * peaks[0]);
    CHECK(peaks[1] < 1024 * 1024 * 4 / 4); /* far below the 4 MiB of one head's logits at S = 1024 */
}

int main(void) {
    if (ax_context_create(&ctx, NULL) != AX_OK) {
        fprintf(stderr, "cannot create a CPU context: %s\n", ax_last_error());
        return 1;
    }
    printf("CPU kernels: %s, %d threads\n", ax_cpu_path_name(ax_cpu_path_active()), (int)ax_context_num_threads(ctx));
    RUN(test_grid);
    RUN(test_fully_masked_rows);
    RUN(test_odd_head_dims_and_strides);
    RUN(test_every_cpu_path);
    RUN(test_out_without_lse_and_single_thread);
    RUN(test_working_memory_is_linear_in_s);
    ax_context_destroy(ctx);
    return th_finish();
}
