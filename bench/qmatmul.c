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
 *   bench_qmatmul --gpu [--repeats R]
 *
 * --cpu-time measures the process's CPU time divided by the thread count instead of wall time (both
 * sides alike): on a machine shared with other jobs it is the steadier number, and it is fair with
 * --threads 1 (with more threads, OpenBLAS's spinning workers inflate sgemm's).
 *
 * Each number is the median of R samples (default 15) after warm-up calls; one sample repeats the
 * call for at least 20 ms. Prefill's two sides take turns sample by sample and its speedup is the
 * median of the per-pair ratios (a VM whose speed drifts moves that far less than separate
 * medians). Weights come from random normal-ish floats quantized with ax_convert; x is uniform in
 * [-1, 1). Never asserts timings.
 *
 * --gpu runs ax_qmatmul on CUDA device 0 (x and y fp32) for q4_0, q4_1, q8_0, q4_k, q6_k and f16 at
 * (4096, 4096) and (11008, 4096), and SmolLM2's q4_1 (1536, 576), (576, 1536) and q8_0 (49152, 576):
 *   decode (M = 1): GB/s of weight bytes next to the card's device-to-device copy bandwidth measured in
 *     the same run (bytes read plus written per second of a 512 MiB cudaMemcpy); w is copied until the
 *     copies span at least 256 MiB and four times the L2, and successive calls read successive copies,
 *     so the L2 does not serve a call what the previous one read (a small matrix is then bound by the
 *     launch rate, as in a model's decode);
 *   prefill (M = 512): TFLOP/s next to ax_gemm (cuBLAS) on the dequantized weights with fp32 and with
 *     bf16 operands (fp32 y), the dense products a GPU model without quantized weights would run.
 * Times are CUDA events around samples of back-to-back calls (about 2 ms each), median of R after
 * three warm-ups. Without CUDA (build or device) --gpu prints why and exits with 77.
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
#include "bench_cuda.h"
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

static int use_cpu_time, clock_threads = 1;

/* Wall seconds, or the process's CPU seconds divided by the thread count (as bench_attention does),
 * so that GB/s and GFLOP/s keep their meaning with --cpu-time on several threads. */
static double now(void) {
    if (!use_cpu_time) return bench_now();
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ((double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec) / clock_threads;
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

/* Calls per sample: doubled until one sample lasts 20 ms, after three warm-up calls; 0 on failure. */
static int calls_per_sample(run_fn fn, bench_case *bc) {
    for (int i = 0; i < 3; i++)
        if (fn(bc) != 0) return 0;
    int calls = 1;
    for (;;) {
        const double t0 = now();
        for (int c = 0; c < calls; c++) fn(bc);
        if (now() - t0 >= 0.02 || calls >= (1 << 20)) break;
        calls *= 2;
    }
    return calls;
}

/* Seconds per call of one sample of `calls` calls; negative on failure. */
static double sample(run_fn fn, bench_case *bc, int calls) {
    const double t0 = now();
    for (int c = 0; c < calls; c++)
        if (fn(bc) != 0) return -1.0;
    return (now() - t0) / calls;
}

/* Median seconds per call. */
static double time_median(run_fn fn, bench_case *bc, int repeats) {
    const int calls = calls_per_sample(fn, bc);
    double *t = malloc((size_t)repeats * sizeof(double));
    if (calls == 0 || t == NULL) {
        free(t);
        return -1.0;
    }
    for (int r = 0; r < repeats; r++)
        if ((t[r] = sample(fn, bc, calls)) < 0) {
            free(t);
            return -1.0;
        }
    const double med = bench_median(t, repeats);
    free(t);
    return med;
}

/* a and b taking turns sample by sample, so each pair sees the same machine state: their median
 * seconds per call and the median of the per-pair ratios b / a, which a machine whose speed drifts
 * between samples moves far less than the ratio of the two medians. Returns 0 on success. */
static int time_turns(run_fn a, run_fn b, bench_case *bc, int repeats, double *ta, double *tb, double *ratio) {
    const int ca = calls_per_sample(a, bc), cb = calls_per_sample(b, bc);
    double *t = malloc(3 * (size_t)repeats * sizeof(double));
    if (ca == 0 || cb == 0 || t == NULL) {
        free(t);
        return -1;
    }
    double *u = t + repeats, *q = u + repeats;
    int rc = 0;
    for (int r = 0; r < repeats && rc == 0; r++) {
        /* Each side's worker threads (OpenMP, OpenBLAS) spin for a while after it returns: let them
         * sleep before the other side runs, or whichever runs second pays for them. */
        t[r] = sample(a, bc, ca);
        bench_settle();
        u[r] = sample(b, bc, cb);
        bench_settle();
        q[r] = u[r] / t[r];
        rc = t[r] < 0 || u[r] < 0 ? -1 : 0;
    }
    if (rc == 0) {
        *ta = bench_median(t, repeats);
        *tb = bench_median(u, repeats);
        *ratio = bench_median(q, repeats);
    }
    free(t);
    return rc;
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

/* ---- the GPU ----------------------------------------------------------------------------------- */

/* One weight matrix timed on the GPU: decode (M = 1) and prefill (M = 512). */
typedef struct gpu_weight {
    const char *what;
    ax_dtype w_dtype;
    int64_t N, K;
} gpu_weight;

static const gpu_weight gpu_weights[] = {
    {"SmolLM2 up/gate (1536, 576)", AX_Q4_1, 1536, 576},
    {"SmolLM2 down (576, 1536)", AX_Q4_1, 576, 1536},
    {"SmolLM2 lm_head (49152, 576)", AX_Q8_0, 49152, 576},
    {"(4096, 4096)", AX_Q4_0, 4096, 4096},
    {"(4096, 4096)", AX_Q4_1, 4096, 4096},
    {"(4096, 4096)", AX_Q8_0, 4096, 4096},
    {"(4096, 4096)", AX_Q4_K, 4096, 4096},
    {"(4096, 4096)", AX_Q6_K, 4096, 4096},
    {"(4096, 4096)", AX_F16, 4096, 4096},
    {"(11008, 4096)", AX_Q4_0, 11008, 4096},
    {"(11008, 4096)", AX_Q4_1, 11008, 4096},
    {"(11008, 4096)", AX_Q8_0, 11008, 4096},
    {"(11008, 4096)", AX_Q4_K, 11008, 4096},
    {"(11008, 4096)", AX_Q6_K, 11008, 4096},
    {"(11008, 4096)", AX_F16, 11008, 4096},
};

enum { GPU_PREFILL_M = 512, GPU_N_WEIGHTS = sizeof gpu_weights / sizeof gpu_weights[0] };

/* The device side of one timed call: ax_qmatmul with w rotated through `copies` copies (decode), or
 * ax_gemm on the dequantized weights (prefill baseline, gemm != 0). */
typedef struct gpu_call {
    ax_context *ctx;
    ax_tensor x, w, y;
    char *w_copies;
    size_t w_stride;
    int copies, next, gemm;
} gpu_call;

static int gpu_run(void *arg) {
    gpu_call *c = arg;
    if (c->gemm) return ax_gemm(c->ctx, AX_NO_TRANS, AX_TRANS, 1.0f, &c->x, &c->w, 0.0f, &c->y) == AX_OK ? 0 : 1;
    if (c->copies > 1) {
        c->w.data = c->w_copies + (size_t)c->next * c->w_stride;
        c->next = (c->next + 1) % c->copies;
    }
    return ax_qmatmul(c->ctx, &c->x, &c->w, NULL, &c->y) == AX_OK ? 0 : 1;
}

typedef struct gpu_result {
    double decode_s, prefill_s, gemm_f32_s, gemm_bf16_s; /* negative: failed */
    int copies;
} gpu_result;

/* Host weights of one entry: quantized bytes, and the fp32 and bf16 dequantized copies for cuBLAS. */
static int gpu_host_weights(const gpu_weight *e, uint64_t *rng, void **wq, float **wf, uint16_t **wb) {
    const int64_t n = e->N * e->K, wbytes = ax_dtype_bytes(e->w_dtype, n);
    *wq = bench_alloc_bytes((size_t)wbytes);
    *wf = bench_alloc_floats(n);
    *wb = bench_alloc_bytes((size_t)n * sizeof(uint16_t));
    if (*wq == NULL || *wf == NULL || *wb == NULL) return -1;
    bench_fill_uniform(*wf, n, -0.05f, 0.05f, rng);
    if (ax_convert(*wf, AX_F32, *wq, e->w_dtype, n) != AX_OK || ax_convert(*wq, e->w_dtype, *wf, AX_F32, n) != AX_OK ||
        ax_convert(*wf, AX_F32, *wb, AX_BF16, n) != AX_OK)
        return -1;
    return 0;
}

/* Times decode, prefill and the two cuBLAS baselines of one entry; a failure prints why and leaves
 * its time negative. */
static void gpu_bench_weight(bench_cuda *g, const gpu_weight *e, int repeats, uint64_t *rng, gpu_result *res) {
    const int64_t M = GPU_PREFILL_M, N = e->N, K = e->K, wbytes = ax_dtype_bytes(e->w_dtype, N * K);
    *res = (gpu_result){-1.0, -1.0, -1.0, -1.0, 1};
    void *wq = NULL, *dx1 = NULL, *dy1 = NULL, *dx = NULL, *dxb = NULL, *dy = NULL, *dwf = NULL, *dwb = NULL;
    float *wf = NULL;
    uint16_t *wb = NULL;
    char *copies = NULL;
    if (gpu_host_weights(e, rng, &wq, &wf, &wb) != 0) {
        printf("%-30s %-5s setup failed: %s\n", e->what, ax_dtype_name(e->w_dtype), ax_last_error());
        goto done;
    }
    /* Decode: enough copies of w that the L2 cannot serve a call what the previous ones read. */
    const size_t stride = ((size_t)wbytes + 255) / 256 * 256;
    const int n_copies = bench_cuda_rotation_copies(g, stride, 1024);
    void *w0 = bench_cuda_upload(g, wq, (size_t)wbytes);
    int ok = w0 != NULL && ax_device_alloc(g->ctx, stride * (size_t)n_copies, (void **)&copies) == AX_OK;
    for (int c = 0; ok && c < n_copies; c++)
        ok = bench_cuda_copy(g, copies + (size_t)c * stride, w0, (size_t)wbytes) == 0;
    bench_cuda_free(g, w0);
    dx1 = bench_cuda_random(g, AX_F32, K, -1.0f, 1.0f, rng);
    ok = ok && dx1 != NULL && ax_device_alloc(g->ctx, (size_t)N * sizeof(float), &dy1) == AX_OK;
    if (!ok) {
        printf("%-30s %-5s decode setup failed: %s %s\n", e->what, ax_dtype_name(e->w_dtype), g->error,
               ax_last_error());
        goto done;
    }
    const int64_t x1s[2] = {1, K}, ws[2] = {N, K}, y1s[2] = {1, N};
    gpu_call c = {g->ctx,   bench_cuda_tensor(g, dx1, AX_F32, 2, x1s), bench_cuda_tensor(g, copies, e->w_dtype, 2, ws),
                  bench_cuda_tensor(g, dy1, AX_F32, 2, y1s), copies, stride, n_copies, 0, 0};
    res->copies = n_copies;
    res->decode_s = bench_cuda_time(g, gpu_run, &c, 0, repeats);
    if (res->decode_s < 0) printf("%-30s %-5s decode failed: %s\n", e->what, ax_dtype_name(e->w_dtype), g->error);

    /* Prefill: compute-bound (each weight is used 512 times), so w's first copy serves every call. */
    const int64_t xs[2] = {M, K}, ys[2] = {M, N};
    dx = bench_cuda_random(g, AX_F32, M * K, -1.0f, 1.0f, rng);
    dxb = bench_cuda_random(g, AX_BF16, M * K, -1.0f, 1.0f, rng);
    dwf = bench_cuda_upload(g, wf, (size_t)(N * K) * sizeof(float));
    dwb = bench_cuda_upload(g, wb, (size_t)(N * K) * sizeof(uint16_t));
    if (!dx || !dxb || !dwf || !dwb || ax_device_alloc(g->ctx, (size_t)(M * N) * sizeof(float), &dy) != AX_OK) {
        printf("%-30s %-5s prefill setup failed: %s %s\n", e->what, ax_dtype_name(e->w_dtype), g->error,
               ax_last_error());
        goto done;
    }
    c = (gpu_call){g->ctx, bench_cuda_tensor(g, dx, AX_F32, 2, xs), bench_cuda_tensor(g, copies, e->w_dtype, 2, ws),
                   bench_cuda_tensor(g, dy, AX_F32, 2, ys), NULL, 0, 1, 0, 0};
    res->prefill_s = bench_cuda_time(g, gpu_run, &c, 0, repeats);
    if (res->prefill_s < 0) printf("%-30s %-5s prefill failed: %s\n", e->what, ax_dtype_name(e->w_dtype), g->error);
    c.gemm = 1;
    c.w = bench_cuda_tensor(g, dwf, AX_F32, 2, ws);
    res->gemm_f32_s = bench_cuda_time(g, gpu_run, &c, 0, repeats);
    c.x = bench_cuda_tensor(g, dxb, AX_BF16, 2, xs);
    c.w = bench_cuda_tensor(g, dwb, AX_BF16, 2, ws);
    res->gemm_bf16_s = bench_cuda_time(g, gpu_run, &c, 0, repeats);
    if (res->gemm_f32_s < 0 || res->gemm_bf16_s < 0) printf("%-30s ax_gemm failed: %s\n", e->what, g->error);
done:
    bench_cuda_free(g, copies), bench_cuda_free(g, dx1), bench_cuda_free(g, dy1), bench_cuda_free(g, dx);
    bench_cuda_free(g, dxb), bench_cuda_free(g, dy), bench_cuda_free(g, dwf), bench_cuda_free(g, dwb);
    free(wq), free(wf), free(wb);
}

static int bench_gpu(int repeats) {
    bench_cuda g;
    const int rc = bench_cuda_open(&g, "bench_qmatmul --gpu");
    if (rc != 0) return rc;
    const double copy_gbps = bench_cuda_copy_gbps(&g, (size_t)512 << 20, 10);
    bench_cuda_print_card(&g, "ax_qmatmul");
    if (copy_gbps <= 0) {
        printf("device copy bandwidth: failed: %s\n", g.error);
        bench_cuda_close(&g);
        return 1;
    }
    printf("CUDA events around samples of back-to-back calls (about 2 ms each), median of %d after 3 warm-ups;\n"
           "x and y fp32. Baselines in this run: the device-to-device copy of 512 MiB, %.0f GB/s (read + write);\n"
           "ax_gemm (cuBLAS: fp32 without TF32, bf16 on tensor cores, fp32 accumulation) on the dequantized w.\n",
           repeats, copy_gbps);
    gpu_result res[GPU_N_WEIGHTS];
    uint64_t rng = 42;
    for (int i = 0; i < GPU_N_WEIGHTS; i++) gpu_bench_weight(&g, &gpu_weights[i], repeats, &rng, &res[i]);
    bench_cuda_close(&g);

    printf("\ndecode, M = 1: weight bytes per second (w rotated through copies spanning >= 256 MiB and 4x the L2)\n");
    printf("%-30s %-5s %10s %7s %10s %12s %10s\n", "w (N, K)", "dtype", "MiB", "copies", "us/call", "qmatmul GB/s",
           "% of copy");
    for (int i = 0; i < GPU_N_WEIGHTS; i++) {
        const gpu_weight *e = &gpu_weights[i];
        const double bytes = (double)ax_dtype_bytes(e->w_dtype, e->N * e->K);
        if (res[i].decode_s <= 0) continue;
        printf("%-30s %-5s %10.2f %7d %10.2f %12.1f %9.0f%%\n", e->what, ax_dtype_name(e->w_dtype), bytes / 1048576.0,
               res[i].copies, res[i].decode_s * 1e6, bytes / res[i].decode_s * 1e-9,
               100.0 * bytes / res[i].decode_s * 1e-9 / copy_gbps);
    }
    printf("\nprefill, M = %d: TFLOP/s (2 M N K) vs ax_gemm on the dequantized w (fp32 and bf16 operands, fp32 y)\n",
           GPU_PREFILL_M);
    printf("%-30s %-5s %12s %12s %12s %10s %10s\n", "w (N, K)", "dtype", "qmatmul TF/s", "gemm f32", "gemm bf16",
           "vs f32", "vs bf16");
    for (int i = 0; i < GPU_N_WEIGHTS; i++) {
        const gpu_weight *e = &gpu_weights[i];
        const double flops = 2.0 * GPU_PREFILL_M * (double)e->N * (double)e->K;
        if (res[i].prefill_s <= 0) continue;
        const double q = flops / res[i].prefill_s * 1e-12;
        const double f = res[i].gemm_f32_s > 0 ? flops / res[i].gemm_f32_s * 1e-12 : 0.0;
        const double b = res[i].gemm_bf16_s > 0 ? flops / res[i].gemm_bf16_s * 1e-12 : 0.0;
        printf("%-30s %-5s %12.2f %12.2f %12.2f %9.2fx %9.2fx\n", e->what, ax_dtype_name(e->w_dtype), q, f, b,
               f > 0 ? q / f : 0.0, b > 0 ? q / b : 0.0);
    }
    return 0;
}

int main(int argc, char **argv) {
    int threads = 0, repeats = 15, gpu = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--repeats") == 0 && i + 1 < argc) repeats = atoi(argv[++i]);
        else if (strcmp(argv[i], "--cpu-time") == 0) use_cpu_time = 1;
        else if (strcmp(argv[i], "--gpu") == 0) gpu = 1;
        else {
            fprintf(stderr, "usage: bench_qmatmul [--threads T] [--repeats R] [--cpu-time] [--gpu]\n");
            return 2;
        }
    }
#ifdef _OPENMP
    if (threads <= 0) threads = omp_get_max_threads();
#endif
    if (threads <= 0) threads = 1;
    clock_threads = threads;
    if (repeats < 1) repeats = 1;
    if (gpu) return bench_gpu(repeats);
    ax_context_config cfg = AX_CONTEXT_CONFIG_INIT;
    cfg.num_threads = threads;
    ax_context *ctx = NULL;
    if (ax_context_create(&ctx, &cfg) != AX_OK) {
        fprintf(stderr, "context: %s\n", ax_last_error());
        return 1;
    }
    bench_blas_threads(threads);
    uint64_t rng = 42;
    const uint32_t f = ax_cpu_features();
    printf("ax_qmatmul on the CPU, %d threads, medians of %d samples of %s time; path %s, vnni %s\n\n",
           threads, repeats, use_cpu_time ? "process CPU" : "wall", ax_cpu_path_name(ax_cpu_path_active()),
           (f & AX_CPU_HAS_AVX512VNNI) ? "yes" : "no");
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
        double tq, ts, speedup;
        if (time_turns(run_qmatmul, run_sgemm, &bc, repeats, &tq, &ts, &speedup) != 0) {
            fprintf(stderr, "ax_qmatmul failed: %s\n", ax_last_error());
            return 1;
        }
        bench_settle();
        printf("%-30s %-5s %14.1f %12.1f %7.2fx\n", p->what, ax_dtype_name(p->w_dtype), flops / tq * 1e-9,
               flops / ts * 1e-9, speedup);
        teardown(&bc);
    }
    ax_context_destroy(ctx);
    return 0;
}
