/*
 * test_gemm.c — ax_gemm on the CPU (OpenBLAS) against a float64 reference (gemm_reference.h): every
 * dtype combination, all four transpose pairs, odd sizes (1, 7, 33, 130), alpha/beta including
 * beta = 0 over a NaN-poisoned c and alpha = 0 over NaN inputs, batches with padded and broadcast
 * (size-1 and stride-0) operands, padded leading dims and column-major (transposed-view) operands
 * and outputs, empty sizes, the context's thread count, workspace accounting, and every error path
 * (each leaving c untouched).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <stdio.h>

#include "axial/linalg.h"
#include "gemm_reference.h"
#include "harness.h"

/* OpenBLAS's process-wide thread count (declared here: the test does not need cblas.h). */
int openblas_get_num_threads(void);
void openblas_set_num_threads(int num_threads);

static ax_context *g_ctx;

typedef struct dtype_case {
    ax_dtype ab, c;
} dtype_case;

static const dtype_case dtype_cases[] = {
    {AX_F32, AX_F32}, {AX_BF16, AX_BF16}, {AX_BF16, AX_F32}, {AX_F16, AX_F16}, {AX_F16, AX_F32},
};
#define N_DTYPE_CASES (int)(sizeof dtype_cases / sizeof dtype_cases[0])

static const char *op_name(ax_transpose t) { return t == AX_TRANS ? "T" : "N"; }

/* Shapes of a and b (2-D) for op sizes M, N, K and the given transposes. */
static gm make_a(ax_dtype dt, ax_transpose ta, int64_t M, int64_t K) {
    return ta == AX_TRANS ? gm_make2(dt, K, M) : gm_make2(dt, M, K);
}
static gm make_b(ax_dtype dt, ax_transpose tb, int64_t K, int64_t N) {
    return tb == AX_TRANS ? gm_make2(dt, N, K) : gm_make2(dt, K, N);
}

/* Runs one 2-D contiguous case and checks it. */
static void run_case(const dtype_case *dc, ax_transpose ta, ax_transpose tb, int64_t M, int64_t N, int64_t K,
                     float alpha, float beta, int poison_c) {
    gm a = make_a(dc->ab, ta, M, K), b = make_b(dc->ab, tb, K, N), c = gm_make2(dc->c, M, N);
    if (poison_c) gm_fill(&c, NAN);
    void *before = gm_snapshot(&c);
    char what[160];
    snprintf(what, sizeof what, "%s x %s -> %s, %s%s, M=%lld N=%lld K=%lld, alpha=%g beta=%g%s", ax_dtype_name(dc->ab),
             ax_dtype_name(dc->ab), ax_dtype_name(dc->c), op_name(ta), op_name(tb), (long long)M, (long long)N,
             (long long)K, alpha, beta, poison_c ? " (c = NaN before)" : "");
    const ax_status st = ax_gemm(g_ctx, ta, tb, alpha, &a.t, &b.t, beta, &c.t);
    if (st != AX_OK)
        TH_FAIL("%s: %s (%s)", what, ax_status_string(st), ax_last_error());
    else
        gm_check(what, ta, tb, alpha, &a, &b, beta, &c, before);
    free(before);
    gm_free(&a);
    gm_free(&b);
    gm_free(&c);
}

static void test_sizes_transposes_dtypes(void) {
    static const int64_t sizes[] = {1, 7, 33, 130};
    static const float alphas[] = {1.0f, 0.75f, -1.5f};
    static const float betas[] = {0.0f, -0.5f, 1.0f};
    int index = 0;
    for (int d = 0; d < N_DTYPE_CASES; d++)
        for (int t = 0; t < 4; t++)
            for (int mi = 0; mi < 4; mi++)
                for (int ni = 0; ni < 4; ni++)
                    for (int ki = 0; ki < 4; ki++, index++)
                        run_case(&dtype_cases[d], (t & 1) ? AX_TRANS : AX_NO_TRANS, (t & 2) ? AX_TRANS : AX_NO_TRANS,
                                 sizes[mi], sizes[ni], sizes[ki], alphas[index % 3], betas[(index / 3) % 3], 0);
}

static void test_alpha_beta(void) {
    for (int d = 0; d < N_DTYPE_CASES; d++) {
        const dtype_case *dc = &dtype_cases[d];
        /* beta = 0 never reads c: NaN there must not reach the result (BLAS semantics). */
        run_case(dc, AX_NO_TRANS, AX_NO_TRANS, 33, 7, 130, 1.0f, 0.0f, 1);
        run_case(dc, AX_TRANS, AX_NO_TRANS, 130, 33, 7, -2.0f, 0.0f, 1);
        run_case(dc, AX_NO_TRANS, AX_TRANS, 7, 130, 33, 0.5f, -1.25f, 0);
        run_case(dc, AX_TRANS, AX_TRANS, 33, 33, 33, -2.0f, 1.0f, 0);
        /* alpha = 0 reads neither a nor b: NaN there must not reach the result. */
        for (int bi = 0; bi < 3; bi++) {
            const float beta = bi == 0 ? 0.75f : bi == 1 ? 0.0f : 1.0f;
            gm a = gm_make2(dc->ab, 7, 33), b = gm_make2(dc->ab, 33, 130), c = gm_make2(dc->c, 7, 130);
            gm_fill(&a, NAN);
            gm_fill(&b, INFINITY);
            if (beta == 0.0f) gm_fill(&c, NAN);
            void *before = gm_snapshot(&c);
            CHECK_OK(ax_gemm(g_ctx, AX_NO_TRANS, AX_NO_TRANS, 0.0f, &a.t, &b.t, beta, &c.t));
            char what[96];
            snprintf(what, sizeof what, "%s -> %s, alpha = 0, beta = %g, a = NaN, b = Inf", ax_dtype_name(dc->ab),
                     ax_dtype_name(dc->c), beta);
            gm_check(what, AX_NO_TRANS, AX_NO_TRANS, 0.0, &a, &b, beta, &c, before);
            free(before);
            gm_free(&a);
            gm_free(&b);
            gm_free(&c);
        }
    }
}

/* (P, M, N) = (4, 7, 33) with K = 130: a batched with padded matrices, b in each broadcast form. */
static void test_batched(void) {
    const int64_t P = 4, M = 7, N = 33, K = 130;
    for (int d = 0; d < N_DTYPE_CASES; d++) {
        const dtype_case *dc = &dtype_cases[d];
        for (int t = 0; t < 4; t++) {
            const ax_transpose ta = (t & 1) ? AX_TRANS : AX_NO_TRANS, tb = (t & 2) ? AX_TRANS : AX_NO_TRANS;
            const int64_t ar = ta == AX_TRANS ? K : M, ac = ta == AX_TRANS ? M : K;
            const int64_t br = tb == AX_TRANS ? N : K, bc = tb == AX_TRANS ? K : N;
            const int64_t a_shape[3] = {P, ar, ac}, a_strides[3] = {ar * (ac + 3) + 5, ac + 3, 1};
            const int64_t c_shape[3] = {P, M, N}, c_strides[3] = {M * (N + 2) + 11, N + 2, 1};
            for (int form = 0; form < 4; form++) {
                /* form 0: b batched; 1: b 2-D; 2: b (1, K, N); 3: b (P, K, N) with batch stride 0. */
                gm a = gm_make(dc->ab, 3, a_shape, a_strides);
                gm b;
                if (form == 0) {
                    const int64_t s[3] = {P, br, bc};
                    b = gm_make(dc->ab, 3, s, NULL);
                } else if (form == 1) {
                    b = gm_make2(dc->ab, br, bc);
                } else {
                    const int64_t s[3] = {form == 2 ? 1 : P, br, bc}, st[3] = {0, bc, 1};
                    b = gm_make(dc->ab, 3, s, st);
                }
                gm c = gm_make(dc->c, 3, c_shape, c_strides);
                void *before = gm_snapshot(&c);
                char what[128];
                snprintf(what, sizeof what, "batched %s -> %s, %s%s, b form %d", ax_dtype_name(dc->ab),
                         ax_dtype_name(dc->c), op_name(ta), op_name(tb), form);
                CHECK_OK(ax_gemm(g_ctx, ta, tb, 0.5f, &a.t, &b.t, -1.0f, &c.t));
                gm_check(what, ta, tb, 0.5, &a, &b, -1.0, &c, before);
                free(before);
                gm_free(&a);
                gm_free(&b);
                gm_free(&c);
            }
        }
        /* a broadcast over b's batches (a 2-D), c column-major per batch. */
        gm a = gm_make2(dc->ab, M, K);
        const int64_t b_shape[3] = {P, K, N};
        gm b = gm_make(dc->ab, 3, b_shape, NULL);
        const int64_t c_strides[3] = {(M + 1) * N, 1, M + 1};
        gm c = gm_make(dc->c, 3, (const int64_t[]){P, M, N}, c_strides);
        void *before = gm_snapshot(&c);
        CHECK_OK(ax_gemm(g_ctx, AX_NO_TRANS, AX_NO_TRANS, 1.0f, &a.t, &b.t, 0.25f, &c.t));
        gm_check("batched, a broadcast, c column-major", AX_NO_TRANS, AX_NO_TRANS, 1.0, &a, &b, 0.25, &c, before);
        free(before);
        gm_free(&a);
        gm_free(&b);
        gm_free(&c);
    }
}

/* Padded leading dimensions and column-major storage (a transposed view) for each tensor. */
static void test_layouts(void) {
    const int64_t M = 33, N = 7, K = 130;
    for (int d = 0; d < N_DTYPE_CASES; d++) {
        const dtype_case *dc = &dtype_cases[d];
        for (int t = 0; t < 4; t++) {
            const ax_transpose ta = (t & 1) ? AX_TRANS : AX_NO_TRANS, tb = (t & 2) ? AX_TRANS : AX_NO_TRANS;
            const int64_t ar = ta == AX_TRANS ? K : M, ac = ta == AX_TRANS ? M : K;
            const int64_t br = tb == AX_TRANS ? N : K, bc = tb == AX_TRANS ? K : N;
            for (int layout = 0; layout < 8; layout++) {
                /* bit 0: a column-major; bit 1: b column-major; bit 2: c column-major. Leading dims
                 * are padded by 1 to 3 elements in every case. */
                const int64_t a_st[2] = {(layout & 1) ? 1 : ac + 3, (layout & 1) ? ar + 1 : 1};
                const int64_t b_st[2] = {(layout & 2) ? 1 : bc + 2, (layout & 2) ? br + 3 : 1};
                const int64_t c_st[2] = {(layout & 4) ? 1 : N + 1, (layout & 4) ? M + 2 : 1};
                gm a = gm_make(dc->ab, 2, (const int64_t[]){ar, ac}, a_st);
                gm b = gm_make(dc->ab, 2, (const int64_t[]){br, bc}, b_st);
                gm c = gm_make(dc->c, 2, (const int64_t[]){M, N}, c_st);
                void *before = gm_snapshot(&c);
                char what[128];
                snprintf(what, sizeof what, "layouts %s -> %s, %s%s, a/b/c column-major bits %d", ax_dtype_name(dc->ab),
                         ax_dtype_name(dc->c), op_name(ta), op_name(tb), layout);
                CHECK_OK(ax_gemm(g_ctx, ta, tb, -0.75f, &a.t, &b.t, 1.5f, &c.t));
                gm_check(what, ta, tb, -0.75, &a, &b, 1.5, &c, before);
                free(before);
                gm_free(&a);
                gm_free(&b);
                gm_free(&c);
            }
        }
    }
    /* Vectors: M = 1 and N = 1 with odd strides on the size-1 dims. */
    gm a = gm_make(AX_F32, 2, (const int64_t[]){1, 33}, (const int64_t[]){1000, 1});
    gm b = gm_make(AX_F32, 2, (const int64_t[]){33, 1}, (const int64_t[]){2, 77});
    gm c = gm_make(AX_F32, 2, (const int64_t[]){1, 1}, (const int64_t[]){5, 9});
    void *before = gm_snapshot(&c);
    CHECK_OK(ax_gemm(g_ctx, AX_NO_TRANS, AX_NO_TRANS, 1.0f, &a.t, &b.t, 1.0f, &c.t));
    gm_check("dot product with odd strides", AX_NO_TRANS, AX_NO_TRANS, 1.0, &a, &b, 1.0, &c, before);
    free(before);
    gm_free(&a);
    gm_free(&b);
    gm_free(&c);
}

static void test_empty(void) {
    for (int d = 0; d < N_DTYPE_CASES; d++) {
        const dtype_case *dc = &dtype_cases[d];
        /* K = 0: c = beta * c, and beta = 0 gives zeros even over NaN. */
        for (int bi = 0; bi < 3; bi++) {
            const float beta = bi == 0 ? 0.0f : bi == 1 ? -2.0f : 1.0f;
            gm a = gm_make2(dc->ab, 7, 0), b = gm_make2(dc->ab, 0, 33), c = gm_make2(dc->c, 7, 33);
            if (beta == 0.0f) gm_fill(&c, NAN);
            void *before = gm_snapshot(&c);
            CHECK_OK(ax_gemm(g_ctx, AX_NO_TRANS, AX_NO_TRANS, 1.0f, &a.t, &b.t, beta, &c.t));
            char what[64];
            snprintf(what, sizeof what, "K = 0, %s -> %s, beta = %g", ax_dtype_name(dc->ab), ax_dtype_name(dc->c),
                     beta);
            gm_check(what, AX_NO_TRANS, AX_NO_TRANS, 1.0, &a, &b, beta, &c, before);
            free(before);
            gm_free(&a);
            gm_free(&b);
            gm_free(&c);
        }
        /* M = 0, N = 0 and zero batches: nothing to do, data may be NULL. */
        const int64_t shapes[3][3] = {{0, 5, 4}, {7, 5, 0}, {0, 0, 0}};
        for (int s = 0; s < 3; s++) {
            const int64_t M = shapes[s][0], K = shapes[s][1], N = shapes[s][2];
            ax_tensor a, b, c;
            CHECK_OK(ax_tensor_contiguous(&a, NULL, dc->ab, 2, (const int64_t[]){M, K}));
            CHECK_OK(ax_tensor_contiguous(&b, NULL, dc->ab, 2, (const int64_t[]){K, N}));
            CHECK_OK(ax_tensor_contiguous(&c, NULL, dc->c, 2, (const int64_t[]){M, N}));
            if (M > 0) a.data = malloc((size_t)(M * K) * 4);
            if (N > 0) b.data = malloc((size_t)(K * N) * 4);
            CHECK_OK(ax_gemm(g_ctx, AX_NO_TRANS, AX_NO_TRANS, 1.0f, &a, &b, 0.0f, &c));
            free(a.data);
            free(b.data);
        }
        gm a = gm_make2(dc->ab, 7, 5), b = gm_make2(dc->ab, 5, 3);
        ax_tensor c;
        CHECK_OK(ax_tensor_contiguous(&c, NULL, dc->c, 3, (const int64_t[]){0, 7, 3}));
        CHECK_OK(ax_gemm(g_ctx, AX_NO_TRANS, AX_NO_TRANS, 1.0f, &a.t, &b.t, 0.0f, &c));
        gm_free(&a);
        gm_free(&b);
    }
}

/* The context's thread count is used for the call and OpenBLAS's previous count is put back. */
static void test_threads(void) {
    for (int32_t threads = 1; threads <= 3; threads++) {
        ax_context_config cfg = AX_CONTEXT_CONFIG_INIT;
        cfg.num_threads = threads;
        ax_context *ctx = NULL;
        CHECK_OK(ax_context_create(&ctx, &cfg));
        openblas_set_num_threads(2);
        gm a = gm_make2(AX_F32, 130, 130), b = gm_make2(AX_F32, 130, 130), c = gm_make2(AX_F32, 130, 130);
        void *before = gm_snapshot(&c);
        CHECK_OK(ax_gemm(ctx, AX_NO_TRANS, AX_NO_TRANS, 1.0f, &a.t, &b.t, 0.5f, &c.t));
        char what[64];
        snprintf(what, sizeof what, "f32 with %d context threads", (int)threads);
        gm_check(what, AX_NO_TRANS, AX_NO_TRANS, 1.0, &a, &b, 0.5, &c, before);
        CHECK_INT_EQ(openblas_get_num_threads(), 2);
        free(before);
        gm_free(&a);
        gm_free(&b);
        gm_free(&c);
        ax_context_destroy(ctx);
    }
}

/* Host scratch for fp32 copies of 16-bit matrices counts in the workspace peak and its limit. */
static void test_workspace(void) {
    ax_context *ctx = NULL;
    CHECK_OK(ax_context_create(&ctx, NULL));
    const int64_t M = 33, N = 7, K = 130;
    gm a32 = gm_make2(AX_F32, M, K), b32 = gm_make2(AX_F32, K, N), c32 = gm_make2(AX_F32, M, N);
    CHECK_OK(ax_gemm(ctx, AX_NO_TRANS, AX_NO_TRANS, 1.0f, &a32.t, &b32.t, 0.0f, &c32.t));
    CHECK_INT_EQ(ax_context_workspace_peak(ctx), 0);
    gm a = gm_make2(AX_BF16, M, K), b = gm_make2(AX_BF16, K, N), c16 = gm_make2(AX_BF16, M, N);
    CHECK_OK(ax_gemm(ctx, AX_NO_TRANS, AX_NO_TRANS, 1.0f, &a.t, &b.t, 0.0f, &c32.t));
    CHECK_INT_EQ(ax_context_workspace_peak(ctx), (M * K + K * N) * 4);
    CHECK_OK(ax_gemm(ctx, AX_NO_TRANS, AX_NO_TRANS, 1.0f, &a.t, &b.t, 0.0f, &c16.t));
    CHECK_INT_EQ(ax_context_workspace_peak(ctx), (M * K + K * N + M * N) * 4);
    /* A batched operand is widened one matrix at a time: the peak does not grow with the batch. */
    ax_context_workspace_peak_reset(ctx);
    const int64_t bs[3] = {5, K, N}, cs[3] = {5, M, N};
    gm bb = gm_make(AX_BF16, 3, bs, NULL), cb = gm_make(AX_F32, 3, cs, NULL);
    CHECK_OK(ax_gemm(ctx, AX_NO_TRANS, AX_NO_TRANS, 1.0f, &a.t, &bb.t, 0.0f, &cb.t));
    CHECK_INT_EQ(ax_context_workspace_peak(ctx), (M * K + K * N) * 4);
    ax_context_destroy(ctx);

    ax_context_config cfg = AX_CONTEXT_CONFIG_INIT;
    cfg.workspace_limit = (M * K + K * N) * 4 - 1;
    CHECK_OK(ax_context_create(&ctx, &cfg));
    void *before = gm_snapshot(&c32);
    CHECK_STATUS(ax_gemm(ctx, AX_NO_TRANS, AX_NO_TRANS, 1.0f, &a.t, &b.t, 0.0f, &c32.t), AX_ERR_OUT_OF_MEMORY);
    CHECK_CONTAINS(ax_last_error(), "workspace");
    CHECK(gm_unchanged(&c32, before));
    CHECK_OK(ax_gemm(ctx, AX_NO_TRANS, AX_NO_TRANS, 1.0f, &a32.t, &b32.t, 0.0f, &c32.t)); /* f32 needs none */
    free(before);
    ax_context_destroy(ctx);
    gm *all[] = {&a32, &b32, &c32, &a, &b, &c16, &bb, &cb};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) gm_free(all[i]);
}

/* Expects `call` to fail with `status` and a message containing `needle`, leaving c untouched. */
#define CHECK_REJECTS(call, status, needle, cgm)                  \
    do {                                                          \
        void *snap_ = gm_snapshot(cgm);                           \
        CHECK_STATUS(call, status);                               \
        CHECK_CONTAINS(ax_last_error(), needle);                  \
        CHECK(gm_unchanged(cgm, snap_));                          \
        free(snap_);                                              \
    } while (0)

static void test_errors(void) {
    gm a = gm_make2(AX_F32, 5, 7), b = gm_make2(AX_F32, 7, 4), c = gm_make2(AX_F32, 5, 4);
    const ax_transpose N_ = AX_NO_TRANS, T_ = AX_TRANS;
    CHECK_REJECTS(ax_gemm(NULL, N_, N_, 1.0f, &a.t, &b.t, 0.0f, &c.t), AX_ERR_INVALID_ARGUMENT, "ctx: NULL", &c);
    CHECK_REJECTS(ax_gemm(g_ctx, (ax_transpose)7, N_, 1.0f, &a.t, &b.t, 0.0f, &c.t), AX_ERR_INVALID_ARGUMENT,
                  "trans_a: 7 is not an ax_transpose", &c);
    CHECK_REJECTS(ax_gemm(g_ctx, N_, (ax_transpose)-1, 1.0f, &a.t, &b.t, 0.0f, &c.t), AX_ERR_INVALID_ARGUMENT,
                  "trans_b: -1 is not an ax_transpose", &c);
    CHECK_REJECTS(ax_gemm(g_ctx, N_, N_, 1.0f, NULL, &b.t, 0.0f, &c.t), AX_ERR_INVALID_ARGUMENT, "a: NULL tensor", &c);
    CHECK_REJECTS(ax_gemm(g_ctx, N_, N_, 1.0f, &a.t, NULL, 0.0f, &c.t), AX_ERR_INVALID_ARGUMENT, "b: NULL tensor", &c);
    CHECK_STATUS(ax_gemm(g_ctx, N_, N_, 1.0f, &a.t, &b.t, 0.0f, NULL), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "c: NULL tensor");

    ax_tensor t = a.t;
    t.ndim = 1;
    CHECK_REJECTS(ax_gemm(g_ctx, N_, N_, 1.0f, &t, &b.t, 0.0f, &c.t), AX_ERR_INVALID_ARGUMENT,
                  "a: expected 2 dims (M, K) or 3 dims (batch, M, K), got 1", &c);
    t = b.t;
    t.ndim = 4;
    CHECK_REJECTS(ax_gemm(g_ctx, N_, T_, 1.0f, &a.t, &t, 0.0f, &c.t), AX_ERR_INVALID_ARGUMENT,
                  "b: expected 2 dims (N, K) or 3 dims (batch, N, K), got 4", &c);
    t = a.t;
    t.shape[0] = -1;
    CHECK_REJECTS(ax_gemm(g_ctx, N_, N_, 1.0f, &t, &b.t, 0.0f, &c.t), AX_ERR_INVALID_ARGUMENT,
                  "a: dim 0 of (M, K) is negative", &c);
    t = b.t;
    t.data = NULL;
    CHECK_REJECTS(ax_gemm(g_ctx, N_, N_, 1.0f, &a.t, &t, 0.0f, &c.t), AX_ERR_INVALID_ARGUMENT, "b: data is NULL", &c);

    /* dtypes */
    t = a.t;
    t.dtype = AX_I32;
    ax_tensor ti = b.t;
    ti.dtype = AX_I32;
    CHECK_REJECTS(ax_gemm(g_ctx, N_, N_, 1.0f, &t, &ti, 0.0f, &c.t), AX_ERR_INVALID_ARGUMENT,
                  "a: dtype is i32, expected f32, bf16 or f16", &c);
    gm a16 = gm_make2(AX_BF16, 5, 7), b16 = gm_make2(AX_F16, 7, 4), c16 = gm_make2(AX_F16, 5, 4);
    CHECK_REJECTS(ax_gemm(g_ctx, N_, N_, 1.0f, &a16.t, &b16.t, 0.0f, &c.t), AX_ERR_INVALID_ARGUMENT,
                  "b: dtype is f16, expected bf16 (a's dtype", &c);
    CHECK_REJECTS(ax_gemm(g_ctx, N_, N_, 1.0f, &a.t, &b.t, 0.0f, &c16.t), AX_ERR_INVALID_ARGUMENT,
                  "c: dtype is f16, expected f32 (with f32 a and b)", &c16);
    t = b16.t;
    t.dtype = AX_BF16;
    CHECK_REJECTS(ax_gemm(g_ctx, N_, N_, 1.0f, &a16.t, &t, 0.0f, &c16.t), AX_ERR_INVALID_ARGUMENT,
                  "c: dtype is f16, expected bf16 or f32 (with bf16 a and b)", &c16);

    /* devices */
    t = a.t;
    t.device.type = AX_CUDA;
    CHECK_REJECTS(ax_gemm(g_ctx, N_, N_, 1.0f, &t, &b.t, 0.0f, &c.t), AX_ERR_INVALID_ARGUMENT,
                  "a: on cuda:0, but the context runs on cpu:0", &c);

    /* shapes, named by dim */
    gm b6 = gm_make2(AX_F32, 6, 4);
    CHECK_REJECTS(ax_gemm(g_ctx, N_, N_, 1.0f, &a.t, &b6.t, 0.0f, &c.t), AX_ERR_INVALID_ARGUMENT,
                  "b: dim 0 (K) is 6, expected 7 (K of a, dim 1)", &c);
    gm at = gm_make2(AX_F32, 7, 5), bt = gm_make2(AX_F32, 4, 6);
    CHECK_REJECTS(ax_gemm(g_ctx, T_, T_, 1.0f, &at.t, &bt.t, 0.0f, &c.t), AX_ERR_INVALID_ARGUMENT,
                  "b: dim 1 (K) is 6, expected 7 (K of a, dim 0)", &c);
    gm c64 = gm_make2(AX_F32, 6, 4), c53 = gm_make2(AX_F32, 5, 3);
    CHECK_REJECTS(ax_gemm(g_ctx, N_, N_, 1.0f, &a.t, &b.t, 0.0f, &c64.t), AX_ERR_INVALID_ARGUMENT,
                  "c: dim 0 (M) is 6, expected 5 (M of a, dim 0)", &c64);
    CHECK_REJECTS(ax_gemm(g_ctx, T_, N_, 1.0f, &at.t, &b.t, 0.0f, &c64.t), AX_ERR_INVALID_ARGUMENT,
                  "c: dim 0 (M) is 6, expected 5 (M of a, dim 1)", &c64);
    CHECK_REJECTS(ax_gemm(g_ctx, N_, N_, 1.0f, &a.t, &b.t, 0.0f, &c53.t), AX_ERR_INVALID_ARGUMENT,
                  "c: dim 1 (N) is 3, expected 4 (N of b, dim 1)", &c53);

    /* batches */
    gm a3 = gm_make(AX_F32, 3, (const int64_t[]){3, 5, 7}, NULL);
    gm c4 = gm_make(AX_F32, 3, (const int64_t[]){4, 5, 4}, NULL);
    CHECK_REJECTS(ax_gemm(g_ctx, N_, N_, 1.0f, &a3.t, &b.t, 0.0f, &c4.t), AX_ERR_INVALID_ARGUMENT,
                  "a: dim 0 (batch) is 3, expected 4 (c's batch) or 1 (broadcast)", &c4);
    CHECK_REJECTS(ax_gemm(g_ctx, N_, N_, 1.0f, &a3.t, &b.t, 0.0f, &c.t), AX_ERR_INVALID_ARGUMENT,
                  "a: dim 0 (batch) is 3, expected 1 (c is 2-D: one matrix)", &c);
    t = a3.t;
    t.strides[0] = -35;
    t.data = (float *)a3.t.data + 70;
    CHECK_REJECTS(ax_gemm(g_ctx, N_, N_, 1.0f, &t, &b.t, 0.0f, &c4.t), AX_ERR_INVALID_ARGUMENT,
                  "a: dim 0 (batch) has stride -35, expected >= 0", &c4);
    t = c4.t;
    t.strides[0] = 0;
    CHECK_REJECTS(ax_gemm(g_ctx, N_, N_, 1.0f, &a.t, &b.t, 0.0f, &t), AX_ERR_INVALID_ARGUMENT,
                  "c: output strides may make elements overlap", &c4);

    /* layouts BLAS cannot take */
    const int64_t bad_strides[][2] = {{7, 2}, {6, 1}, {0, 1}, {1, 4}, {-7, 1}};
    for (size_t i = 0; i < sizeof bad_strides / sizeof bad_strides[0]; i++) {
        t = a.t;
        t.strides[0] = bad_strides[i][0];
        t.strides[1] = bad_strides[i][1];
        if (bad_strides[i][0] < 0) t.data = (float *)a.t.data + 28;
        char needle[128];
        snprintf(needle, sizeof needle,
                 "a: matrix dims (M, K) = (5, 7) have strides (%lld, %lld); expected row-major (strides (>= 7, 1)) or "
                 "column-major (strides (1, >= 5))",
                 (long long)bad_strides[i][0], (long long)bad_strides[i][1]);
        CHECK_REJECTS(ax_gemm(g_ctx, N_, N_, 1.0f, &t, &b.t, 0.0f, &c.t), AX_ERR_INVALID_ARGUMENT, needle, &c);
    }
    t = c.t;
    t.strides[0] = 3; /* rows overlap */
    CHECK_REJECTS(ax_gemm(g_ctx, N_, N_, 1.0f, &a.t, &b.t, 0.0f, &t), AX_ERR_INVALID_ARGUMENT,
                  "c: matrix dims (M, N) = (5, 4) have strides (3, 1)", &c);

    /* overlaps and alignment */
    gm big = gm_make2(AX_F32, 10, 7);
    t = c.t;
    t.data = (float *)big.t.data + 30; /* c: elements 30..49 of big; a: 0..34; b: 30..57 */
    ax_tensor a_in_big = a.t;
    a_in_big.data = big.t.data;
    CHECK_REJECTS(ax_gemm(g_ctx, N_, N_, 1.0f, &a_in_big, &b.t, 0.0f, &t), AX_ERR_INVALID_ARGUMENT, "c: overlaps a",
                  &big);
    ax_tensor b_in_big = b.t;
    b_in_big.data = (float *)big.t.data + 30;
    t.data = (float *)big.t.data + 20;
    CHECK_REJECTS(ax_gemm(g_ctx, N_, N_, 1.0f, &a.t, &b_in_big, 0.0f, &t), AX_ERR_INVALID_ARGUMENT, "c: overlaps b",
                  &big);
    t = a16.t;
    t.data = (char *)a16.t.data + 1;
    t.shape[0] = 4;
    ax_tensor b_bf16 = b16.t;
    b_bf16.dtype = AX_BF16;
    gm c44 = gm_make2(AX_F32, 4, 4);
    CHECK_REJECTS(ax_gemm(g_ctx, N_, N_, 1.0f, &t, &b_bf16, 0.0f, &c44.t), AX_ERR_INVALID_ARGUMENT,
                  "is not aligned to its 2-byte bf16 elements", &c44);

    /* sizes past the BLAS's 32-bit integers (validated before any memory is touched) */
    static float dummy[1];
    ax_tensor huge_a, huge_b, huge_c;
    CHECK_OK(ax_tensor_contiguous(&huge_a, (void *)(uintptr_t)0x10000, AX_F32, 2, (const int64_t[]){3000000000LL, 1}));
    CHECK_OK(ax_tensor_contiguous(&huge_b, dummy, AX_F32, 2, (const int64_t[]){1, 1}));
    CHECK_OK(ax_tensor_contiguous(&huge_c, (void *)(uintptr_t)0x100000000000ULL, AX_F32, 2,
                                  (const int64_t[]){3000000000LL, 1}));
    CHECK_STATUS(ax_gemm(g_ctx, N_, N_, 1.0f, &huge_a, &huge_b, 0.0f, &huge_c), AX_ERR_UNSUPPORTED);
    CHECK_CONTAINS(ax_last_error(), "M: 3000000000 exceeds the BLAS limit of 2147483647");

    gm *all[] = {&a, &b, &c, &a16, &b16, &c16, &b6, &at, &bt, &c64, &c53, &a3, &c4, &big, &c44};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) gm_free(all[i]);
}

int main(void) {
    th_seed(13);
    if (ax_context_create(&g_ctx, NULL) != AX_OK) {
        fprintf(stderr, "FATAL: ax_context_create: %s\n", ax_last_error());
        return 1;
    }
    printf("CPU path %s, %d threads\n", ax_cpu_path_name(ax_cpu_path_active()), (int)ax_context_num_threads(g_ctx));
    RUN(test_sizes_transposes_dtypes);
    RUN(test_alpha_beta);
    RUN(test_batched);
    RUN(test_layouts);
    RUN(test_empty);
    RUN(test_threads);
    RUN(test_workspace);
    RUN(test_errors);
    ax_context_destroy(g_ctx);
    return th_finish();
}
