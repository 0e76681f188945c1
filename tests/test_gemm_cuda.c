/*
 * test_gemm_cuda.c — ax_gemm on a CUDA context (cuBLAS) against the float64 reference of
 * gemm_reference.h, with the CPU backend run on the same inputs and held to the same bound, so the
 * two backends agree: every dtype combination, the four transpose pairs, odd sizes, alpha/beta
 * (beta = 0 over NaN-poisoned c, alpha = 0 over NaN inputs), batches with broadcast operands, padded
 * and column-major layouts, K = 0 and empty sizes, a long-K product (split-K reductions must stay in
 * fp32), on a non-default stream. The gaps of every output buffer must come back untouched. Also
 * checks that the context makes its cuBLAS handle only at its first GEMM (a white-box look at the
 * context). Skips (exit 77) without a CUDA device.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <cuda_runtime.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "axial/linalg.h"
#include "core/internal.h"
#include "gemm_reference.h"
#include "harness.h"

static ax_context *g_cuda;
static ax_context *g_cpu;

#define AX_OR_DIE(call)                                                                                    \
    do {                                                                                                   \
        ax_status ax_or_die_ = (call);                                                                     \
        if (ax_or_die_ != AX_OK) {                                                                         \
            fprintf(stderr, "FATAL %s:%d: %s: %s\n", __FILE__, __LINE__, #call, ax_last_error());          \
            exit(1);                                                                                       \
        }                                                                                                  \
    } while (0)

static size_t gm_bytes(const gm *m) { return (size_t)m->span * gm_esize(m->t.dtype); }

/* The same tensor over a device copy of the host buffer (gaps included). */
static ax_tensor to_device(const gm *m) {
    ax_tensor d = m->t;
    AX_OR_DIE(ax_device_alloc(g_cuda, gm_bytes(m), &d.data));
    AX_OR_DIE(ax_copy_to_device(g_cuda, d.data, m->t.data, gm_bytes(m)));
    d.device.type = AX_CUDA;
    d.device.id = ax_context_device(g_cuda).id;
    return d;
}

/* Runs ax_gemm on both backends from the same inputs and checks both against the reference. */
static void run_both(const char *what, ax_transpose ta, ax_transpose tb, float alpha, const gm *a, const gm *b,
                     float beta, const gm *c) {
    ax_tensor da = to_device(a), db = to_device(b), dc = to_device(c);
    const ax_status st = ax_gemm(g_cuda, ta, tb, alpha, &da, &db, beta, &dc);
    const ax_status sync = ax_context_synchronize(g_cuda);
    th_checks++;
    if (st != AX_OK || sync != AX_OK) {
        TH_FAIL("%s (cuda): %s / %s (%s)", what, ax_status_string(st), ax_status_string(sync), ax_last_error());
    } else {
        gm out = *c;
        out.t.data = malloc(gm_bytes(c));
        AX_OR_DIE(ax_copy_to_host(g_cuda, out.t.data, dc.data, gm_bytes(c)));
        char label[200];
        snprintf(label, sizeof label, "%s (cuda)", what);
        gm_check(label, ta, tb, alpha, a, b, beta, &out, c->t.data);
        /* The CPU backend on the same inputs, into its own copy of c. */
        memcpy(out.t.data, c->t.data, gm_bytes(c));
        CHECK_OK(ax_gemm(g_cpu, ta, tb, alpha, &a->t, &b->t, beta, &out.t));
        snprintf(label, sizeof label, "%s (cpu)", what);
        gm_check(label, ta, tb, alpha, a, b, beta, &out, c->t.data);
        free(out.t.data);
    }
    ax_device_free(g_cuda, da.data);
    ax_device_free(g_cuda, db.data);
    ax_device_free(g_cuda, dc.data);
}

typedef struct dtype_case {
    ax_dtype ab, c;
} dtype_case;

static const dtype_case dtype_cases[] = {
    {AX_F32, AX_F32}, {AX_BF16, AX_BF16}, {AX_BF16, AX_F32}, {AX_F16, AX_F16}, {AX_F16, AX_F32},
};
#define N_DTYPE_CASES (int)(sizeof dtype_cases / sizeof dtype_cases[0])

static gm make_op(ax_dtype dt, ax_transpose t, int64_t rows, int64_t cols) {
    return t == AX_TRANS ? gm_make2(dt, cols, rows) : gm_make2(dt, rows, cols);
}

static void test_lazy_handle(void) {
    ax_context_config cfg = AX_CONTEXT_CONFIG_INIT;
    cfg.device.type = AX_CUDA;
    ax_context *ctx = NULL;
    CHECK_OK(ax_context_create(&ctx, &cfg));
    if (ctx == NULL) return;
    CHECK(ctx->cublas_handle == NULL); /* a context that never GEMMs never makes one */
    gm a = gm_make2(AX_F32, 4, 0), b = gm_make2(AX_F32, 0, 3), c = gm_make2(AX_F32, 4, 3);
    ax_tensor d[3] = {a.t, b.t, c.t};
    for (int i = 0; i < 3; i++) {
        d[i].device.type = AX_CUDA;
        CHECK_OK(ax_device_alloc(ctx, 64, &d[i].data)); /* room for the 1-element K below */
    }
    CHECK_OK(ax_gemm(ctx, AX_NO_TRANS, AX_NO_TRANS, 1.0f, &d[0], &d[1], 0.0f, &d[2])); /* K = 0: no cuBLAS */
    CHECK_OK(ax_context_synchronize(ctx));
    CHECK(ctx->cublas_handle == NULL);
    d[0].shape[1] = 1;
    d[1].shape[0] = 1;
    d[0].strides[0] = 1;
    CHECK_OK(ax_gemm(ctx, AX_NO_TRANS, AX_NO_TRANS, 1.0f, &d[0], &d[1], 0.0f, &d[2]));
    CHECK_OK(ax_context_synchronize(ctx));
    void *first = ctx->cublas_handle;
    CHECK(first != NULL);
    CHECK_OK(ax_gemm(ctx, AX_NO_TRANS, AX_NO_TRANS, 1.0f, &d[0], &d[1], 0.0f, &d[2]));
    CHECK(ctx->cublas_handle == first);
    for (int i = 0; i < 3; i++) ax_device_free(ctx, d[i].data);
    ax_context_destroy(ctx);
    gm_free(&a);
    gm_free(&b);
    gm_free(&c);
}

static void test_sizes_transposes_dtypes(void) {
    static const int64_t sizes[] = {1, 7, 33, 130};
    int index = 0;
    for (int d = 0; d < N_DTYPE_CASES; d++)
        for (int t = 0; t < 4; t++)
            for (int mi = 0; mi < 4; mi++)
                for (int ni = 0; ni < 4; ni++)
                    for (int ki = 0; ki < 4; ki++, index++) {
                        const dtype_case *dc = &dtype_cases[d];
                        const ax_transpose ta = (t & 1) ? AX_TRANS : AX_NO_TRANS, tb = (t & 2) ? AX_TRANS : AX_NO_TRANS;
                        const int64_t M = sizes[mi], N = sizes[ni], K = sizes[ki];
                        const float alpha = index % 3 == 0 ? 1.0f : index % 3 == 1 ? 0.75f : -1.5f;
                        const float beta = (index / 3) % 3 == 0 ? 0.0f : (index / 3) % 3 == 1 ? -0.5f : 1.0f;
                        gm a = make_op(dc->ab, ta, M, K), b = make_op(dc->ab, tb, K, N), c = gm_make2(dc->c, M, N);
                        if (beta == 0.0f) gm_fill(&c, NAN);
                        char what[128];
                        snprintf(what, sizeof what, "%s -> %s, %s%s, M=%lld N=%lld K=%lld, alpha=%g beta=%g",
                                 ax_dtype_name(dc->ab), ax_dtype_name(dc->c), ta == AX_TRANS ? "T" : "N",
                                 tb == AX_TRANS ? "T" : "N", (long long)M, (long long)N, (long long)K, alpha, beta);
                        run_both(what, ta, tb, alpha, &a, &b, beta, &c);
                        gm_free(&a);
                        gm_free(&b);
                        gm_free(&c);
                    }
}

static void test_special_values(void) {
    for (int d = 0; d < N_DTYPE_CASES; d++) {
        const dtype_case *dc = &dtype_cases[d];
        /* alpha = 0 reads neither a nor b; K = 0 gives beta * c; beta = 0 ignores NaN in c. */
        for (int bi = 0; bi < 3; bi++) {
            const float beta = bi == 0 ? 0.0f : bi == 1 ? 0.75f : 1.0f;
            gm a = gm_make2(dc->ab, 33, 7), b = gm_make2(dc->ab, 7, 130), c = gm_make2(dc->c, 33, 130);
            gm_fill(&a, NAN);
            if (beta == 0.0f) gm_fill(&c, NAN);
            run_both("alpha = 0 over NaN a", AX_NO_TRANS, AX_NO_TRANS, 0.0f, &a, &b, beta, &c);
            gm a0 = gm_make2(dc->ab, 33, 0), b0 = gm_make2(dc->ab, 0, 130);
            run_both("K = 0", AX_NO_TRANS, AX_NO_TRANS, 1.0f, &a0, &b0, beta, &c);
            gm_free(&a);
            gm_free(&b);
            gm_free(&c);
            gm_free(&a0);
            gm_free(&b0);
        }
        /* M = 0 and zero batches: nothing happens. */
        gm a = gm_make2(dc->ab, 0, 5), b = gm_make2(dc->ab, 5, 3), c = gm_make2(dc->c, 0, 3);
        run_both("M = 0", AX_NO_TRANS, AX_NO_TRANS, 1.0f, &a, &b, 0.0f, &c);
        gm_free(&a);
        gm_free(&c);
        a = gm_make2(dc->ab, 4, 5);
        c = gm_make(dc->c, 3, (const int64_t[]){0, 4, 3}, NULL);
        run_both("zero batches", AX_NO_TRANS, AX_NO_TRANS, 1.0f, &a, &b, 0.0f, &c);
        gm_free(&a);
        gm_free(&b);
        gm_free(&c);
    }
}

static void test_batched_and_layouts(void) {
    const int64_t P = 5, M = 33, N = 7, K = 130;
    for (int d = 0; d < N_DTYPE_CASES; d++) {
        const dtype_case *dc = &dtype_cases[d];
        for (int t = 0; t < 4; t++) {
            const ax_transpose ta = (t & 1) ? AX_TRANS : AX_NO_TRANS, tb = (t & 2) ? AX_TRANS : AX_NO_TRANS;
            const int64_t ar = ta == AX_TRANS ? K : M, ac = ta == AX_TRANS ? M : K;
            const int64_t br = tb == AX_TRANS ? N : K, bc = tb == AX_TRANS ? K : N;
            for (int form = 0; form < 4; form++) {
                /* a: padded batches, row-major (even forms) or column-major (odd forms). b: batched
                 * (form 0), 2-D (1), (1, ., .) (2), batch stride 0 (3). c: row-major padded (forms
                 * 0, 1) or column-major (2, 3). */
                const int64_t a_shape[3] = {P, ar, ac};
                const int64_t a_st[3] = {(ar + 2) * (ac + 2) + 3, (form & 1) ? 1 : ac + 2, (form & 1) ? ar + 2 : 1};
                gm a = gm_make(dc->ab, 3, a_shape, a_st);
                gm b;
                if (form == 0)
                    b = gm_make(dc->ab, 3, (const int64_t[]){P, br, bc}, NULL);
                else if (form == 1)
                    b = gm_make2(dc->ab, br, bc);
                else
                    b = gm_make(dc->ab, 3, (const int64_t[]){form == 2 ? 1 : P, br, bc}, (const int64_t[]){0, bc, 1});
                const int64_t c_st[3] = {(M + 1) * (N + 1) + 7, form < 2 ? N + 1 : 1, form < 2 ? 1 : M + 1};
                gm c = gm_make(dc->c, 3, (const int64_t[]){P, M, N}, c_st);
                char what[128];
                snprintf(what, sizeof what, "batched %s -> %s, %s%s, form %d", ax_dtype_name(dc->ab),
                         ax_dtype_name(dc->c), ta == AX_TRANS ? "T" : "N", tb == AX_TRANS ? "T" : "N", form);
                run_both(what, ta, tb, -0.5f, &a, &b, 1.25f, &c);
                gm_free(&a);
                gm_free(&b);
                gm_free(&c);
            }
        }
    }
}

/* Long K: cuBLAS may split K; its partial sums must be reduced in fp32 even for 16-bit outputs. And
 * a size large enough for tensor-core kernels. */
static void test_large(void) {
    const int64_t shapes[2][3] = {{64, 48, 16384}, {256, 192, 1024}};
    for (int d = 0; d < N_DTYPE_CASES; d++)
        for (int s = 0; s < 2; s++) {
            const dtype_case *dc = &dtype_cases[d];
            const int64_t M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
            gm a = gm_make2(dc->ab, M, K), b = gm_make2(dc->ab, N, K), c = gm_make2(dc->c, M, N);
            gm_fill(&c, NAN);
            char what[96];
            snprintf(what, sizeof what, "large %s -> %s, NT, %lldx%lldx%lld", ax_dtype_name(dc->ab),
                     ax_dtype_name(dc->c), (long long)M, (long long)N, (long long)K);
            run_both(what, AX_NO_TRANS, AX_TRANS, 1.0f, &a, &b, 0.0f, &c);
            gm_free(&a);
            gm_free(&b);
            gm_free(&c);
        }
}

static void test_device_errors(void) {
    gm a = gm_make2(AX_F32, 5, 7), b = gm_make2(AX_F32, 7, 4), c = gm_make2(AX_F32, 5, 4);
    ax_tensor db = to_device(&b), dc = to_device(&c);
    CHECK_STATUS(ax_gemm(g_cuda, AX_NO_TRANS, AX_NO_TRANS, 1.0f, &a.t, &db, 0.0f, &dc), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "a: on cpu:0, but the context runs on cuda:0");
    ax_device_free(g_cuda, db.data);
    ax_device_free(g_cuda, dc.data);
    gm_free(&a);
    gm_free(&b);
    gm_free(&c);
}

int main(void) {
    if (ax_cuda_device_count() == 0) {
        printf("SKIP: no CUDA device (ax_gemm on CUDA needs one)\n");
        return 77;
    }
    th_seed(1313);
    cudaStream_t stream;
    if (cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking) != cudaSuccess) {
        fprintf(stderr, "FATAL: cudaStreamCreate failed\n");
        return 1;
    }
    ax_context_config cfg = AX_CONTEXT_CONFIG_INIT;
    cfg.device.type = AX_CUDA;
    cfg.cuda_stream = stream;
    AX_OR_DIE(ax_context_create(&g_cuda, &cfg));
    AX_OR_DIE(ax_context_create(&g_cpu, NULL));
    char name[128];
    int64_t memory = 0;
    AX_OR_DIE(ax_cuda_device_info(0, name, sizeof name, &memory));
    printf("device 0: %s, %.1f GiB\n", name, (double)memory / (1 << 30));
    RUN(test_lazy_handle);
    RUN(test_sizes_transposes_dtypes);
    RUN(test_special_values);
    RUN(test_batched_and_layouts);
    RUN(test_large);
    RUN(test_device_errors);
    ax_context_destroy(g_cuda);
    ax_context_destroy(g_cpu);
    cudaStreamDestroy(stream);
    return th_finish();
}
