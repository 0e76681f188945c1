/*
 * bench_util.c — see bench_util.h.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "bench_util.h"

#include "axial/axial.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void openblas_set_num_threads(int num_threads);

double bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(double *values, int n) {
    qsort(values, (size_t)n, sizeof(double), cmp_double);
    return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

void *bench_alloc_bytes(size_t bytes) { return aligned_alloc(64, ((bytes > 0 ? bytes : 1) + 63) / 64 * 64); }

float *bench_alloc_floats(int64_t n) { return bench_alloc_bytes((size_t)(n > 0 ? n : 1) * sizeof(float)); }

void bench_fill_uniform(float *x, int64_t n, float lo, float hi, uint64_t *state) {
    for (int64_t i = 0; i < n; i++) {
        *state = *state * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = lo + (hi - lo) * (float)((*state >> 40) & 0xffffff) / 16777216.0f;
    }
}

void bench_blas_threads(int threads) { openblas_set_num_threads(threads); }

void bench_note_wait_policy(void) {
    const char *policy = getenv("OMP_WAIT_POLICY");
    if (policy != NULL && (strcmp(policy, "PASSIVE") == 0 || strcmp(policy, "passive") == 0))
        printf("note: OMP_WAIT_POLICY=%s: OpenMP workers sleep between calls; after each sample's pause a "
               "multi-threaded call can read slower than with the default policy\n", policy);
}

void bench_note_blas(void) {
    static int printed;
    if (printed || !ax_blas_core_lags_cpu()) return;
    printed = 1;
    fprintf(stderr, "note: OpenBLAS runs its %s kernels, older than this CPU: sgemm baselines and ax_gemm "
                    "read low (4-5x with Prescott's); rerun with OPENBLAS_CORETYPE=%s\n",
            ax_blas_core(), ax_blas_core_suggestion());
}

void bench_settle(void) {
    const struct timespec pause = {0, 400 * 1000 * 1000};
    nanosleep(&pause, NULL);
}

struct bench_sgemm {
    int64_t m;
    int threads;
    float *a, *b, *c;
};

void bench_sgemm_destroy(bench_sgemm *g) {
    if (g == NULL) return;
    free(g->a);
    free(g->b);
    free(g->c);
    free(g);
}

static double sgemm_call(bench_sgemm *g) {
    const int m = (int)g->m;
    /* Set each time: what runs between samples may change it (the Evoformer bench's naive
     * baseline runs on one BLAS thread). */
    bench_blas_threads(g->threads);
    const double t0 = bench_now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, m, m, 1.0f, g->a, m, g->b, m, 0.0f, g->c, m);
    return 2.0 * (double)g->m * (double)g->m * (double)g->m / (bench_now() - t0) * 1e-9;
}

bench_sgemm *bench_sgemm_create(int64_t m, int threads) {
    bench_note_blas();
    bench_sgemm *g = calloc(1, sizeof *g);
    if (g == NULL) return NULL;
    g->m = m;
    g->threads = threads;
    g->a = bench_alloc_bytes((size_t)(m * m) * sizeof(float));
    g->b = bench_alloc_bytes((size_t)(m * m) * sizeof(float));
    g->c = bench_alloc_bytes((size_t)(m * m) * sizeof(float));
    if (!g->a || !g->b || !g->c) {
        bench_sgemm_destroy(g);
        return NULL;
    }
    uint64_t s = 1;
    bench_fill_uniform(g->a, m * m, -1, 1, &s);
    bench_fill_uniform(g->b, m * m, -1, 1, &s);
    sgemm_call(g);
    return g;
}

double bench_sgemm_sample(bench_sgemm *g) {
    const double gflops = sgemm_call(g);
    /* OpenBLAS's worker threads spin for a while after a call; let them go to sleep so they do not
     * steal cores from whatever is measured next. */
    bench_settle();
    return gflops;
}

double bench_sgemm_gflops(int64_t m, int threads, int repeats) {
    bench_note_blas();
    bench_sgemm *g = bench_sgemm_create(m, threads);
    double *t = malloc((size_t)repeats * sizeof(double));
    if (g == NULL || t == NULL) {
        bench_sgemm_destroy(g);
        free(t);
        return 0.0;
    }
    for (int r = 0; r < repeats; r++) t[r] = sgemm_call(g);
    const double gflops = bench_median(t, repeats);
    bench_sgemm_destroy(g);
    free(t);
    bench_settle();
    return gflops;
}

void bench_parallel_copy(void *dst, const void *src, size_t bytes, int threads) {
    const int parts = threads > 0 ? threads : 1;
    (void)parts;
#ifdef _OPENMP
#pragma omp parallel for num_threads(parts) schedule(static)
#endif
    for (int i = 0; i < parts; i++) {
        const size_t step = bytes / (size_t)parts, lo = step * (size_t)i;
        const size_t hi = i == parts - 1 ? bytes : lo + step;
        memcpy((char *)dst + lo, (const char *)src + lo, hi - lo);
    }
}

uint64_t bench_stream_sum(const uint64_t *words, int64_t n, int threads) {
    uint64_t sum = 0;
    (void)threads;
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) reduction(+ : sum) schedule(static)
#endif
    for (int64_t i = 0; i < n; i++) sum += words[i];
    return sum;
}
