/*
 * omp_pools.c — bench_omp_pools: what a second OpenMP master thread costs Axial's small ops.
 *
 *   bench_omp_pools [--threads T] [--calls N] [--repeats R]
 *
 * GCC's libgomp keeps one worker pool per thread that has started a parallel region, and lets the
 * workers spin between regions only while all pools' workers together do not outnumber the CPUs
 * (docs/llm.md, "Threads inside one process"). This times one decode-sized product, ax_qmatmul of a
 * row of x (576) by a q4_1 (192, 576) matrix (SmolLM2's k projection: one parallel region a call),
 * in the order that shows the effect:
 *   1. from a second thread while main has run no OpenMP region (one pool);
 *   2. from main (main's pool is made; one pool in use);
 *   3. from a second thread again, main's pool now idle (two pools);
 *   4. the same after main gave its pool back with omp_pause_resource (what ax_serving_start does).
 * Microseconds per call, medians of R samples of N calls after a warm-up; never asserts timings. The
 * baseline is case 2 in the same run.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "axial/axial.h"
#include "axial/linalg.h"
#include "bench_util.h"

#define POOLS_N 192
#define POOLS_K 576
#define POOLS_MAX_REPEATS 64

typedef struct pools_run {
    ax_context *ctx;
    ax_tensor x, w, y;
    int calls, repeats;
    double us; /* median microseconds per call */
    int failed;
} pools_run;

static void *pools_time(void *arg) {
    pools_run *r = arg;
    double samples[POOLS_MAX_REPEATS];
    for (int i = 0; i < r->calls / 4; i++) /* warm-up: this thread's pool, caches */
        if (ax_qmatmul(r->ctx, &r->x, &r->w, NULL, &r->y) != AX_OK) r->failed = 1;
    for (int s = 0; s < r->repeats; s++) {
        const double t0 = bench_now();
        for (int i = 0; i < r->calls; i++)
            if (ax_qmatmul(r->ctx, &r->x, &r->w, NULL, &r->y) != AX_OK) r->failed = 1;
        samples[s] = (bench_now() - t0) / r->calls * 1e6;
    }
    r->us = bench_median(samples, r->repeats);
    return NULL;
}

static int pools_in_thread(pools_run *r) {
    pthread_t t;
    if (pthread_create(&t, NULL, pools_time, r) != 0) return -1;
    pthread_join(t, NULL);
    return 0;
}

int main(int argc, char **argv) {
    int threads = 2, calls = 4000, repeats = 7;
    for (int i = 1; i < argc; i++) {
        const int has_value = i + 1 < argc;
        if (strcmp(argv[i], "--threads") == 0 && has_value) threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--calls") == 0 && has_value) calls = atoi(argv[++i]);
        else if (strcmp(argv[i], "--repeats") == 0 && has_value) repeats = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_omp_pools [--threads T] [--calls N] [--repeats R]\n");
            return 2;
        }
    }
    if (threads < 1 || calls < 4 || repeats < 1 || repeats > POOLS_MAX_REPEATS) {
        fprintf(stderr, "bench_omp_pools: --threads >= 1, --calls >= 4, --repeats 1..%d\n", POOLS_MAX_REPEATS);
        return 2;
    }
    float *x = malloc(POOLS_K * sizeof(float)), *wf = malloc((size_t)POOLS_N * POOLS_K * sizeof(float));
    float *y = malloc(POOLS_N * sizeof(float));
    void *wq = malloc((size_t)ax_dtype_bytes(AX_Q4_1, (int64_t)POOLS_N * POOLS_K));
    pools_run r;
    memset(&r, 0, sizeof r);
    ax_context_config cfg = AX_CONTEXT_CONFIG_INIT;
    cfg.num_threads = threads;
    int rc = 1;
    if (x == NULL || wf == NULL || y == NULL || wq == NULL || ax_context_create(&r.ctx, &cfg) != AX_OK) goto done;
    uint64_t state = 12345;
    for (int64_t i = 0; i < (int64_t)POOLS_N * POOLS_K; i++) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        wf[i] = (float)((double)(state >> 11) / 9007199254740992.0 - 0.5);
        if (i < POOLS_K) x[i] = wf[i] * 2.0f;
    }
    if (ax_convert(wf, AX_F32, wq, AX_Q4_1, (int64_t)POOLS_N * POOLS_K) != AX_OK) goto done;
    const int64_t xs[1] = {POOLS_K}, ws[2] = {POOLS_N, POOLS_K}, ys[1] = {POOLS_N};
    ax_tensor_contiguous(&r.x, x, AX_F32, 1, xs);
    ax_tensor_contiguous(&r.w, wq, AX_Q4_1, 2, ws);
    ax_tensor_contiguous(&r.y, y, AX_F32, 1, ys);
    r.calls = calls;
    r.repeats = repeats;

    const char *policy = getenv("OMP_WAIT_POLICY");
    printf("OpenMP pools: ax_qmatmul of x (%d) by q4_1 (%d, %d), %d threads, %d CPUs online, OMP_WAIT_POLICY %s\n",
           POOLS_K, POOLS_N, POOLS_K, threads, (int)sysconf(_SC_NPROCESSORS_ONLN), policy != NULL ? policy : "unset");
    printf("microseconds per call, median of %d samples of %d calls\n\n", repeats, calls);
    double us[4];
    if (pools_in_thread(&r) != 0) goto done;
    us[0] = r.us;
    pools_time(&r);
    us[1] = r.us;
    if (pools_in_thread(&r) != 0) goto done;
    us[2] = r.us;
#if defined(_OPENMP) && defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 9
    (void)omp_pause_resource(omp_pause_soft, omp_get_initial_device());
    if (pools_in_thread(&r) != 0) goto done;
    us[3] = r.us;
#else
    us[3] = -1.0;
#endif
    if (r.failed) {
        fprintf(stderr, "bench_omp_pools: ax_qmatmul: %s\n", ax_last_error());
        goto done;
    }
    printf("%-58s %8s %8s\n", "case", "us/call", "x main");
    const char *names[4] = {"1. second thread, main has no OpenMP pool",
                            "2. main thread (baseline)",
                            "3. second thread, main's pool idle (two pools)",
                            "4. second thread after main's omp_pause_resource"};
    for (int c = 0; c < 4; c++) {
        if (us[c] < 0) printf("%-58s %8s %8s\n", names[c], "n/a", "(libgomp only)");
        else printf("%-58s %8.2f %7.2fx\n", names[c], us[c], us[c] / us[1]);
    }
    rc = 0;
done:
    ax_context_destroy(r.ctx);
    free(x);
    free(wf);
    free(y);
    free(wq);
    return rc;
}
