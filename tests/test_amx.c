/*
 * test_amx.c — the AMX tile products (src/core/cpu/amx.h): the bf16 product against a float64
 * reference; the scalar model on every machine, the hardware where ax_amx_mode() finds AMX with the OS grant.
 * Shapes of several blocks in each dimension, row
 * strides wider than the rows, with and without accumulating into c. The model's stand-ins for a
 * hardware fault (NaN in the result) and its denormal rules are checked too, since the kernels'
 * tests rely on them.
 *
 * Tolerance: a bf16 x bf16 product is exact in fp32, so the only errors are the fp32 sums of 2 np
 * products (plus c): at most (2 np + 1) u32 sum |terms| for any order of summation, u32 = 2^-24.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "harness.h"

#include "core/cpu/amx.h"

static uint16_t bf16_of(double x) {
    const float f = (float)x;
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16); /* nearest even; inputs are finite */
}

static double bf16_value(uint16_t h) {
    const uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static uint32_t random_pair(void) {
    return (uint32_t)bf16_of(th_uniform(-2.0, 2.0)) | (uint32_t)bf16_of(th_uniform(-2.0, 2.0)) << 16;
}

typedef struct gemm_case {
    int64_t m, n, np, lda, ldb, ldc;
    int accumulate;
} gemm_case;

/* c = [c0 +] a . b by the mode, checked element by element against float64. */
static void check_gemm(ax_amx_mode_t mode, const gemm_case *g) {
    uint32_t *a = malloc((size_t)(g->m * g->lda) * sizeof *a);
    uint32_t *b = malloc((size_t)(g->np * g->ldb) * sizeof *b);
    float *c = malloc((size_t)(g->m * g->ldc) * sizeof *c), *c0 = malloc((size_t)(g->m * g->ldc) * sizeof *c0);
    if (a == NULL || b == NULL || c == NULL || c0 == NULL) {
        TH_FAIL("out of memory");
        free(a), free(b), free(c), free(c0);
        return;
    }
    for (int64_t i = 0; i < g->m * g->lda; i++) a[i] = random_pair();
    for (int64_t i = 0; i < g->np * g->ldb; i++) b[i] = random_pair();
    for (int64_t i = 0; i < g->m * g->ldc; i++) c0[i] = c[i] = (float)th_uniform(-4.0, 4.0);
    ax_amx_begin(mode);
    ax_amx_bf16_gemm(mode, g->m, g->n, g->np, a, g->lda, b, g->ldb, c, g->ldc, g->accumulate);
    ax_amx_end(mode);
    int bad = 0;
    for (int64_t i = 0; i < g->m && bad < 3; i++)
        for (int64_t j = 0; j < g->ldc && bad < 3; j++) {
            const double got = c[i * g->ldc + j];
            if (j >= g->n) { /* past the product's columns: untouched */
                if (got != c0[i * g->ldc + j]) {
                    TH_FAIL("c[%" PRId64 "][%" PRId64 "] outside the product changed", i, j);
                    bad++;
                }
                continue;
            }
            double want = g->accumulate ? c0[i * g->ldc + j] : 0.0, mag = fabs(want);
            for (int64_t p = 0; p < g->np; p++) {
                const uint32_t x = a[i * g->lda + p], y = b[p * g->ldb + j];
                const double t0 = bf16_value((uint16_t)x) * bf16_value((uint16_t)y);
                const double t1 = bf16_value((uint16_t)(x >> 16)) * bf16_value((uint16_t)(y >> 16));
                want += t0 + t1;
                mag += fabs(t0) + fabs(t1);
            }
            const double tol = (double)(2 * g->np + 1) * ldexp(1.0, -24) * mag;
            if (!(fabs(got - want) <= tol)) {
                TH_FAIL("%s m=%" PRId64 " n=%" PRId64 " np=%" PRId64 " acc=%d: c[%" PRId64 "][%" PRId64
                        "] = %.9g, want %.9g (tol %.3g)",
                        mode == AX_AMX_HARDWARE ? "hardware" : "model", g->m, g->n, g->np, g->accumulate, i, j, got,
                        want, tol);
                bad++;
            }
        }
    th_checks++;
    free(a), free(b), free(c), free(c0);
}

static const gemm_case cases[] = {
    {32, 32, 16, 16, 32, 32, 0},    {32, 32, 16, 16, 32, 32, 1},  {64, 96, 48, 50, 100, 97, 0},
    {96, 64, 32, 33, 64, 70, 1},    {64, 64, 64, 64, 64, 64, 1},  {32, 128, 128, 130, 128, 128, 0},
};

static void test_model(void) {
    th_seed(11);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_gemm(AX_AMX_EMULATED, &cases[i]);
}

/* Where the hardware runs: the same cases. */
static void test_hardware(void) {
    if (ax_amx_mode_here() != AX_AMX_HARDWARE) {
        printf("  (no AMX with the OS grant here, AXIAL_AMX set, or an assembler without AMX: hardware not run)\n");
        return;
    }
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        th_seed(100 + i);
        check_gemm(AX_AMX_HARDWARE, &cases[i]);
    }
}

/* bf16 denormal inputs count as zero: a . b with a the smallest denormal and b = 2^100 would be
 * 2^-33 otherwise. Zero and normal values are kept. */
static void test_denormals_flush(ax_amx_mode_t mode) {
    enum { M = 32, N = 32, NP = 16 };
    static uint32_t a[M * NP], b[NP * N];
    static float c[M * N];
    for (int i = 0; i < M * NP; i++) a[i] = 0x0001u | (uint32_t)bf16_of(0.0) << 16; /* (denormal, 0) */
    for (int i = 0; i < NP * N; i++) b[i] = (uint32_t)bf16_of(ldexp(1.0, 100)) | (uint32_t)bf16_of(1.0) << 16;
    a[0] = (uint32_t)bf16_of(0.5) | (uint32_t)bf16_of(3.0) << 16;
    ax_amx_begin(mode);
    ax_amx_bf16_gemm(mode, M, N, NP, a, NP, b, N, c, N, 0);
    ax_amx_end(mode);
    CHECK(c[0] == (float)(0.5 * ldexp(1.0, 100) + 3.0 * 1.0 + 0.0)); /* row 0: one normal pair, rest flushed */
    CHECK(c[N] == 0.0f && c[M * N - 1] == 0.0f);
}

static void test_denormals(void) {
    test_denormals_flush(AX_AMX_EMULATED);
    if (ax_amx_mode_here() == AX_AMX_HARDWARE) test_denormals_flush(AX_AMX_HARDWARE);
}

/* The model without ax_amx_begin: where the hardware faults, every value of the result is NaN. */
static void test_model_unconfigured(void) {
    enum { M = 32, N = 32, NP = 16 };
    static uint32_t a[M * NP], b[NP * N];
    static float c[M * N];
    for (int i = 0; i < M * NP; i++) a[i] = random_pair();
    for (int i = 0; i < NP * N; i++) b[i] = random_pair();
    ax_amx_bf16_gemm(AX_AMX_EMULATED, M, N, NP, a, NP, b, N, c, N, 0);
    int nans = 0;
    for (int i = 0; i < M * N; i++) nans += isnan(c[i]) != 0;
    CHECK_INT_EQ(nans, M * N);
    /* After begin and end the configuration is gone again. */
    ax_amx_begin(AX_AMX_EMULATED);
    ax_amx_end(AX_AMX_EMULATED);
    c[0] = 0.0f;
    ax_amx_bf16_gemm(AX_AMX_EMULATED, M, N, NP, a, NP, b, N, c, N, 0);
    CHECK(isnan(c[0]));
}

int main(void) {
    printf("amx tiles: %s\n", ax_cpu_amx_tiles());
    RUN(test_model);
    RUN(test_hardware);
    RUN(test_denormals);
    RUN(test_model_unconfigured);
    return th_finish();
}
