/*
 * qmatmul.c — benchmark of ax_qmatmul on the CPU, each number next to a baseline measured in the
 * same run with the same thread count:
 *
 *   decode (M = 1): GB/s of weight bytes read, against a streaming read of the same bytes (an
 *     OpenMP sum of the weight buffer as 64-bit words), so "% of stream" is the share of the
 *     bandwidth this machine gives one pass over those bytes; for q4_0, q4_1 and q8_0 also the
 *     same product with w packed once by ax_qweight_pack (ax_qmatmul_packed, the same bytes);
 *   prefill (M = 512): GFLOP/s (2 M N K per call), against OpenBLAS cblas_sgemm on the fp32
 *     dequantized weights (x W^T, W row-major (N, K)), the dense product a model without
 *     quantized kernels would run.
 *
 *   bench_qmatmul [--threads T] [--repeats R] [--cpu-time]
 *
 * --cpu-time measures the process's CPU time instead of wall time (both sides alike): on a machine
 * shared with other jobs it is the steadier number, and it is fair with --threads 1 (with more
 * threads, OpenBLAS's spinning workers inflate sgemm's).
 *
 * Each number is the median of R samples (default 15) after warm-up calls; one sample repeats the
 * call for at least 20 ms. Weights come from random normal-ish floats quantized with ax_convert;
 * x is uniform in [-1, 1). Never asserts timings.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <cblas.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "axial/linalg.h"
#include "bench_util.h"

typedef struct problem {
    const char *what;
    ax_dtype w_dtype;
    int64_t M, N, K;
} problem;

static const problem decode_problems[] = {
    {"SmolLM2 up/gate (1536, 576)", AX_Q4_1, 1, 1536, 576},
    {"SmolLM2 down (576, 1536)", AX_Q4_1, 1, 576, 1536},
    {"SmolLM2 lm_head (49152, 576)", AX_Q8_0, 1, 49152, 576},
    {"(4096, 4096)", AX_Q4_0, 1, 4096, 4096},
    {"(4096, 4096)", AX_Q4_K, 1, 4096, 4096},
    {"(4096, 4096)", AX_Q6_K, 1, 4096, 4096},
};

static const problem prefill_problems[] = {
    {"(1536, 576)", AX_Q4_1, 512, 1536, 576},
    {"(1536, 576)", AX_Q8_0, 512, 1536, 576},
    {"(576, 1536)", AX_Q4_K, 512, 576, 1536},
    {"(1536, 1536)", AX_Q6_K, 512, 1536, 1536},
    {"(1536, 576)", AX_Q4_0, 512, 1536, 576},
};

typedef struct bench_case {
    ax_context *ctx;
    ax_tensor x, w, y;
    const float *xf, *wf; /* fp32 x and dequantized w for sgemm */
    float *yf;
    const uint64_t *words; /* w's bytes as words, for the streaming read */
    ax_qweight *packed;    /* w packed (q4_0, q4_1, q8_0), or NULL */
    int64_t n_words;
    int threads;
    volatile uint64_t sink;
    int64_t M, N, K;
} bench_case;

typedef int (*run_fn)(bench_case *bc);

static int use_cpu_time;

static double now(void) {
    if (!use_cpu_time) return bench_now();
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int run_qmatmul(bench_case *bc) { return ax_qmatmul(bc->ctx, &bc->x, &bc->w, NULL, &bc->y) == AX_OK ? 0 : 1; }

static int run_packed(bench_case *bc) {
    return ax_qmatmul_packed(bc->ctx, &bc->x, bc->packed, NULL, &bc->y) == AX_OK ? 0 : 1;
}

static int run_sgemm(bench_case *bc) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)bc->M, (int)bc->N, (int)bc->K, 1.0f, bc->xf, (int)bc->K,
                bc->wf, (int)bc->K, 0.0f, bc->yf, (int)bc->N);
    return 0;
}

static int run_stream(bench_case *bc) {
    bc->sink = bench_stream_sum(bc->words, bc->n_words, bc->threads);
    return 0;
}

/* Median seconds per call. */
static double time_median(run_fn fn, bench_case *bc, int repeats) {
    for (int i = 0; i < 3; i++)
        if (fn(bc) != 0) return -1.0;
    int calls = 1;
    for (;;) {
        const double t0 = now();
        for (int c = 0; c < calls; c++) fn(bc);
        if (now() - t0 >= 0.02 || calls >= (1 << 20)) break;
        calls *= 2;
    }
    double *t = malloc((size_t)repeats * sizeof(double));
    if (t == NULL) return -1.0;
    for (int r = 0; r < repeats; r++) {
        const double t0 = now();
        for (int c = 0; c < calls; c++)
            if (fn(bc) != 0) {
                free(t);
                return -1.0;
            }
        t[r] = (now() - t0) / calls;
    }
    const double med = bench_median(t, repeats);
    free(t);
    return med;
}

/* Builds x, quantized w (from fp32 values), the dequantized fp32 w and y. Returns 0 on success. */
static int setup(bench_case *bc, const problem *p, ax_context *ctx, int threads, uint64_t *rng) {
    memset(bc, 0, sizeof *bc);
    bc->ctx = ctx;
    bc->threads = threads;
    bc->M = p->M;
    bc->N = p->N;
    bc->K = p->K;
    const int64_t wbytes = ax_dtype_bytes(p->w_dtype, p->N * p->K);
    float *xf = bench_alloc_bytes((size_t)(p->M * p->K) * sizeof(float));
    float *wf = bench_alloc_bytes((size_t)(p->N * p->K) * sizeof(float));
    float *yf = bench_alloc_bytes((size_t)(p->M * p->N) * sizeof(float));
    void *wq = aligned_alloc(64, (size_t)((wbytes + 63) / 64 * 64));
    if (xf == NULL || wf == NULL || yf == NULL || wq == NULL) return -1;
    bench_fill_uniform(xf, p->M * p->K, -1.0f, 1.0f, rng);
    bench_fill_uniform(wf, p->N * p->K, -0.05f, 0.05f, rng);
    memset(wq, 0, (size_t)((wbytes + 63) / 64 * 64));
    if (ax_convert(wf, AX_F32, wq, p->w_dtype, p->N * p->K) != AX_OK) return -1;
    if (ax_convert(wq, p->w_dtype, wf, AX_F32, p->N * p->K) != AX_OK) return -1; /* what sgemm multiplies */
    const int64_t xs[2] = {p->M, p->K}, ws[2] = {p->N, p->K}, ys[2] = {p->M, p->N};
    if (ax_tensor_contiguous(&bc->x, xf, AX_F32, 2, xs) != AX_OK || ax_tensor_contiguous(&bc->w, wq, p->w_dtype, 2, ws) ||
        ax_tensor_contiguous(&bc->y, yf, AX_F32, 2, ys) != AX_OK)
        return -1;
    bc->xf = xf;
    bc->wf = wf;
    bc->yf = yf;
    bc->words = wq;
    bc->n_words = wbytes / 8;
    if ((p->w_dtype == AX_Q4_0 || p->w_dtype == AX_Q4_1 || p->w_dtype == AX_Q8_0) && p->N % 16 == 0 &&
        ax_qweight_pack(&bc->w, &bc->packed) != AX_OK)
        return -1;
    return 0;
}

static void teardown(bench_case *bc) {
    free((void *)bc->xf);
    free((void *)bc->wf);
    free(bc->yf);
    free((void *)bc->words);
    ax_qweight_destroy(bc->packed);
}

int main(int argc, char **argv) {
    int threads = 0, repeats = 15;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--repeats") == 0 && i + 1 < argc) repeats = atoi(argv[++i]);
        else if (strcmp(argv[i], "--cpu-time") == 0) use_cpu_time = 1;
        else {
            fprintf(stderr, "usage: bench_qmatmul [--threads T] [--repeats R] [--cpu-time]\n");
            return 2;
        }
    }
#ifdef _OPENMP
    if (threads <= 0) threads = omp_get_max_threads();
#endif
    if (threads <= 0) threads = 1;
    if (repeats < 1) repeats = 1;
    ax_context_config cfg = AX_CONTEXT_CONFIG_INIT;
    cfg.num_threads = threads;
    ax_context *ctx = NULL;
    if (ax_context_create(&ctx, &cfg) != AX_OK) {
        fprintf(stderr, "context: %s\n", ax_last_error());
        return 1;
    }
    bench_blas_threads(threads);
    uint64_t rng = 42;
    printf("ax_qmatmul on the CPU, %d threads, medians of %d samples of %s time\n\n", threads, repeats,
           use_cpu_time ? "process CPU" : "wall");
    printf("decode, M = 1: weight bytes per second vs a streaming read of the same bytes\n");
    printf("%-30s %-5s %10s %12s %12s %10s %12s %10s\n", "w (N, K)", "dtype", "MiB", "qmatmul GB/s", "stream GB/s",
           "% stream", "packed GB/s", "% stream");
    for (size_t i = 0; i < sizeof decode_problems / sizeof decode_problems[0]; i++) {
        const problem *p = &decode_problems[i];
        bench_case bc;
        if (setup(&bc, p, ctx, threads, &rng) != 0) {
            fprintf(stderr, "setup failed: %s\n", ax_last_error());
            return 1;
        }
        const double bytes = (double)ax_dtype_bytes(p->w_dtype, p->N * p->K);
        const double tq = time_median(run_qmatmul, &bc, repeats);
        const double ts = time_median(run_stream, &bc, repeats);
        const double tp = bc.packed != NULL ? time_median(run_packed, &bc, repeats) : 0.0;
        if (tq < 0 || tp < 0) {
            fprintf(stderr, "ax_qmatmul failed: %s\n", ax_last_error());
            return 1;
        }
        printf("%-30s %-5s %10.2f %12.1f %12.1f %9.0f%%", p->what, ax_dtype_name(p->w_dtype), bytes / (1 << 20),
               bytes / tq * 1e-9, bytes / ts * 1e-9, 100.0 * ts / tq);
        if (bc.packed != NULL) printf(" %12.1f %9.0f%%\n", bytes / tp * 1e-9, 100.0 * ts / tp);
        else printf(" %12s %10s\n", "-", "-");
        teardown(&bc);
    }
    printf("\nprefill, M = 512: GFLOP/s (2 M N K) vs cblas_sgemm on the dequantized fp32 weights\n");
    printf("%-30s %-5s %14s %12s %8s\n", "w (N, K)", "dtype", "qmatmul GF/s", "sgemm GF/s", "speedup");
    for (size_t i = 0; i < sizeof prefill_problems / sizeof prefill_problems[0]; i++) {
        const problem *p = &prefill_problems[i];
        bench_case bc;
        if (setup(&bc, p, ctx, threads, &rng) != 0) {
            fprintf(stderr, "setup failed: %s\n", ax_last_error());
            return 1;
        }
        const double flops = 2.0 * (double)p->M * (double)p->N * (double)p->K;
        const double tq = time_median(run_qmatmul, &bc, repeats);
        bench_settle();
        const double ts = time_median(run_sgemm, &bc, repeats);
        bench_settle();
        if (tq < 0) {
            fprintf(stderr, "ax_qmatmul failed: %s\n", ax_last_error());
            return 1;
        }
        printf("%-30s %-5s %14.1f %12.1f %7.2fx\n", p->what, ax_dtype_name(p->w_dtype), flops / tq * 1e-9,
               flops / ts * 1e-9, ts / tq);
        teardown(&bc);
    }
    ax_context_destroy(ctx);
    return 0;
}
