/*
 * gemm.c — benchmark of ax_gemm: GFLOP/s on the CPU for f32, bf16 and f16 operands next to the raw
 * OpenBLAS cblas_sgemm rate on the same shapes (same run, same thread count) and, on small sizes, a
 * naive triple loop; with --gpu, TFLOP/s of ax_gemm (cuBLAS) on the context's device.
 *
 *   bench_gemm [--threads T] [--repeats R] [--gpu]
 *
 * Each number is the median of R samples after a warm-up call; a sample repeats the call enough
 * times to last about 20 ms. FLOPs: 2*M*N*K per matrix product. Inputs are uniform in [-1, 1).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "axial/linalg.h"
#include "bench_util.h"

typedef struct problem {
    const char *name;
    int64_t batch, M, N, K;
    ax_transpose tb; /* b is (K, N), or (N, K) as a torch.nn.Linear weight */
} problem;

static const problem cpu_problems[] = {
    {"square 64", 1, 64, 64, 64, AX_NO_TRANS},
    {"square 256", 1, 256, 256, 256, AX_NO_TRANS},
    {"square 512", 1, 512, 512, 512, AX_NO_TRANS},
    {"square 1024", 1, 1024, 1024, 1024, AX_NO_TRANS},
    {"square 2048", 1, 2048, 2048, 2048, AX_NO_TRANS},
    {"linear x W^T", 1, 2048, 1024, 256, AX_TRANS},
    {"batched 64 x 128^3", 64, 128, 128, 128, AX_NO_TRANS},
};

static const problem gpu_problems[] = {
    {"square 1024", 1, 1024, 1024, 1024, AX_NO_TRANS},
    {"square 4096", 1, 4096, 4096, 4096, AX_NO_TRANS},
    {"square 8192", 1, 8192, 8192, 8192, AX_NO_TRANS},
    {"linear x W^T", 1, 16384, 4096, 1024, AX_TRANS},
    {"batched 512 x 256x256x64", 512, 256, 256, 64, AX_NO_TRANS},
};

static double problem_flops(const problem *p) {
    return 2.0 * (double)p->batch * (double)p->M * (double)p->N * (double)p->K;
}

/* Calls per sample so that one sample lasts about `seconds` at `rate_guess` FLOP/s. */
static int calls_per_sample(double flops, double rate_guess, double seconds) {
    const double calls = seconds * rate_guess / flops;
    return calls < 1.0 ? 1 : calls > 100000.0 ? 100000 : (int)calls;
}

typedef int (*run_fn)(void *arg);

/* Median seconds per call of fn over `repeats` samples of `calls` calls each, after a warm-up
 * call; `sync` (may be NULL) waits for queued device work at the end of each sample. */
static double time_calls(run_fn fn, void *arg, int calls, int repeats, run_fn sync) {
    double *t = malloc((size_t)repeats * sizeof(double));
    if (t == NULL || fn(arg) != 0 || (sync && sync(arg) != 0)) {
        free(t);
        return -1.0;
    }
    for (int r = 0; r < repeats; r++) {
        const double t0 = bench_now();
        for (int c = 0; c < calls; c++)
            if (fn(arg) != 0) {
                free(t);
                return -1.0;
            }
        if (sync && sync(arg) != 0) {
            free(t);
            return -1.0;
        }
        t[r] = (bench_now() - t0) / calls;
    }
    const double median = bench_median(t, repeats);
    free(t);
    return median;
}

/* ---- the CPU ---------------------------------------------------------------------------------- */

typedef struct cpu_case {
    const problem *p;
    ax_context *ctx;
    ax_tensor a, b, c;
    const float *af, *bf; /* fp32 inputs, for the raw sgemm and the naive loop */
    float *cf;
} cpu_case;

static int run_ax(void *arg) {
    cpu_case *cc = arg;
    return ax_gemm(cc->ctx, AX_NO_TRANS, cc->p->tb, 1.0f, &cc->a, &cc->b, 0.0f, &cc->c) == AX_OK ? 0 : 1;
}

/* The baseline: row-major cblas_sgemm per batch, as a caller of OpenBLAS would write it. */
static int run_sgemm(void *arg) {
    const cpu_case *cc = arg;
    const problem *p = cc->p;
    const int ldb = p->tb == AX_TRANS ? (int)p->K : (int)p->N;
    for (int64_t bt = 0; bt < p->batch; bt++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, p->tb == AX_TRANS ? CblasTrans : CblasNoTrans, (int)p->M, (int)p->N,
                    (int)p->K, 1.0f, cc->af + bt * p->M * p->K, (int)p->K, cc->bf + bt * p->K * p->N, ldb, 0.0f,
                    cc->cf + bt * p->M * p->N, (int)p->N);
    return 0;
}

/* The naive baseline: one thread, i-k-j order (the inner loop streams rows of b and c, so the
 * compiler vectorises it); b not transposed. */
static int run_naive(void *arg) {
    const cpu_case *cc = arg;
    const problem *p = cc->p;
    for (int64_t bt = 0; bt < p->batch; bt++) {
        const float *a = cc->af + bt * p->M * p->K, *b = cc->bf + bt * p->K * p->N;
        float *c = cc->cf + bt * p->M * p->N;
        for (int64_t i = 0; i < p->M; i++) {
            for (int64_t j = 0; j < p->N; j++) c[i * p->N + j] = 0.0f;
            for (int64_t k = 0; k < p->K; k++) {
                const float aik = a[i * p->K + k];
                for (int64_t j = 0; j < p->N; j++) c[i * p->N + j] += aik * b[k * p->N + j];
            }
        }
    }
    return 0;
}

static void tensor3(ax_tensor *t, void *data, ax_dtype dt, int64_t batch, int64_t rows, int64_t cols) {
    const int64_t shape[3] = {batch, rows, cols};
    ax_tensor_contiguous(t, data, dt, 3, shape);
}

/* One timed variant of a problem: ax_gemm on one dtype combination, or the raw sgemm. */
typedef struct variant {
    run_fn fn;
    cpu_case cc;
    double *samples;
    int64_t scratch;
} variant;

static void bench_cpu_problem(const problem *p, ax_context *ctx, int threads, int repeats) {
    const int64_t na = p->batch * p->M * p->K, nb = p->batch * p->K * p->N, nc = p->batch * p->M * p->N;
    float *af = bench_alloc_bytes((size_t)na * 4), *bf = bench_alloc_bytes((size_t)nb * 4);
    float *cf = bench_alloc_bytes((size_t)nc * 4);
    uint16_t *abf = bench_alloc_bytes((size_t)na * 2), *bbf = bench_alloc_bytes((size_t)nb * 2);
    uint16_t *cbf = bench_alloc_bytes((size_t)nc * 2);
    uint16_t *ah = bench_alloc_bytes((size_t)na * 2), *bh = bench_alloc_bytes((size_t)nb * 2);
    enum { N_VARIANTS = 5 };
    double *samples = malloc((size_t)(N_VARIANTS * repeats) * sizeof(double));
    if (!af || !bf || !cf || !abf || !bbf || !cbf || !ah || !bh || !samples) {
        printf("%-22s out of memory\n", p->name);
        goto done;
    }
    uint64_t state = 42;
    bench_fill_uniform(af, na, -1.0f, 1.0f, &state);
    bench_fill_uniform(bf, nb, -1.0f, 1.0f, &state);
    ax_convert(af, AX_F32, abf, AX_BF16, na);
    ax_convert(bf, AX_F32, bbf, AX_BF16, nb);
    ax_convert(af, AX_F32, ah, AX_F16, na);
    ax_convert(bf, AX_F32, bh, AX_F16, nb);
    const double flops = problem_flops(p);
    const int calls = calls_per_sample(flops, 50e9, 0.02);

    /* The naive loop first, alone, with OpenBLAS's worker threads asleep. */
    double naive = -1.0;
    cpu_case plain = {p, ctx, {0}, {0}, {0}, af, bf, cf};
    if (p->M * p->N * p->K <= 256 * 256 * 256 && p->tb == AX_NO_TRANS) {
        bench_settle();
        naive = time_calls(run_naive, &plain, calls_per_sample(flops, 5e9, 0.02), repeats, NULL);
    }

    /* sgemm and the four ax_gemm variants, sampled in turn so that drift on a shared machine hits
     * them alike; each one's median is taken over its own samples. */
    const int64_t b_rows = p->tb == AX_TRANS ? p->N : p->K, b_cols = p->tb == AX_TRANS ? p->K : p->N;
    void *a_in[N_VARIANTS] = {NULL, af, abf, abf, ah}, *b_in[N_VARIANTS] = {NULL, bf, bbf, bbf, bh};
    void *c_out[N_VARIANTS] = {NULL, cf, cf, cbf, cf};
    const ax_dtype ab[N_VARIANTS] = {AX_F32, AX_F32, AX_BF16, AX_BF16, AX_F16};
    const ax_dtype cd[N_VARIANTS] = {AX_F32, AX_F32, AX_F32, AX_BF16, AX_F32};
    variant v[N_VARIANTS];
    for (int i = 0; i < N_VARIANTS; i++) {
        v[i].fn = i == 0 ? run_sgemm : run_ax;
        v[i].cc = plain;
        v[i].samples = samples + i * repeats;
        v[i].scratch = 0;
        if (i > 0) {
            tensor3(&v[i].cc.a, a_in[i], ab[i], p->batch, p->M, p->K);
            tensor3(&v[i].cc.b, b_in[i], ab[i], p->batch, b_rows, b_cols);
            tensor3(&v[i].cc.c, c_out[i], cd[i], p->batch, p->M, p->N);
        }
    }
    bench_blas_threads(threads);
    for (int i = 0; i < N_VARIANTS; i++) { /* warm-up, and the scratch each variant needs */
        ax_context_workspace_peak_reset(ctx);
        if (v[i].fn(&v[i].cc) != 0) {
            printf("%-22s ax_gemm failed: %s\n", p->name, ax_last_error());
            goto done;
        }
        v[i].scratch = ax_context_workspace_peak(ctx);
    }
    for (int r = 0; r < repeats; r++)
        for (int i = 0; i < N_VARIANTS; i++) {
            const double t0 = bench_now();
            for (int c = 0; c < calls; c++) v[i].fn(&v[i].cc);
            v[i].samples[r] = (bench_now() - t0) / calls;
        }
    double rate[N_VARIANTS];
    for (int i = 0; i < N_VARIANTS; i++) rate[i] = flops / bench_median(v[i].samples, repeats) * 1e-9;
    char naive_text[32] = "-";
    if (naive > 0) snprintf(naive_text, sizeof naive_text, "%.1f", flops / naive * 1e-9);
    printf("%-22s %5lld %5lld %5lld %5lld %s %8s %8.1f %8.1f %5.0f%% %8.1f %5.0f%% %8.1f %5.0f%% %8.1f %5.0f%% %8.2f\n",
           p->name, (long long)p->batch, (long long)p->M, (long long)p->N, (long long)p->K,
           p->tb == AX_TRANS ? "NT" : "NN", naive_text, rate[0], rate[1], 100.0 * rate[1] / rate[0], rate[2],
           100.0 * rate[2] / rate[0], rate[3], 100.0 * rate[3] / rate[0], rate[4], 100.0 * rate[4] / rate[0],
           (double)v[3].scratch / 1048576.0);
done:
    free(af);
    free(bf);
    free(cf);
    free(abf);
    free(bbf);
    free(cbf);
    free(ah);
    free(bh);
    free(samples);
}

static int bench_cpu(int threads, int repeats) {
    ax_context_config cfg = AX_CONTEXT_CONFIG_INIT;
    cfg.num_threads = threads;
    ax_context *ctx = NULL;
    if (ax_context_create(&ctx, &cfg) != AX_OK) {
        printf("context: %s\n", ax_last_error());
        return 1;
    }
    printf("ax_gemm on the CPU, %d threads, conversion kernels: %s; median of %d samples after a warm-up\n", threads,
           ax_cpu_path_name(ax_cpu_path_active()), repeats);
    printf("baselines (same run): naive = one-thread i-k-j triple loop in fp32 (small sizes only);\n"
           "sgemm = raw OpenBLAS cblas_sgemm (row-major, fp32, %d threads) on the same shape; %% columns = ax_gemm\n"
           "GFLOP/s as a share of sgemm's. bf16/f16 operands are widened to fp32 before sgemm (scratch MiB: the\n"
           "bf16 -> bf16 case). OpenBLAS: %s\n\n",
           threads, openblas_get_config());
    printf("%-22s %5s %5s %5s %5s %2s %8s %8s %8s %6s %8s %6s %8s %6s %8s %6s %8s\n", "problem", "batch", "M", "N", "K",
           "op", "naive", "sgemm", "f32", "%", "bf16>f32", "%", "bf16>bf", "%", "f16>f32", "%", "scr MiB");
    printf("%-22s %5s %5s %5s %5s %2s %8s %8s %8s %6s %8s %6s %8s %6s %8s %6s %8s\n", "", "", "", "", "", "", "GF/s",
           "GF/s", "GF/s", "", "GF/s", "", "GF/s", "", "GF/s", "", "");
    for (size_t i = 0; i < sizeof cpu_problems / sizeof cpu_problems[0]; i++)
        bench_cpu_problem(&cpu_problems[i], ctx, threads, repeats);
    ax_context_destroy(ctx);
    return 0;
}

/* ---- the GPU (cuBLAS through ax_gemm) ----------------------------------------------------------- */

typedef struct gpu_case {
    ax_context *ctx;
    ax_transpose tb;
    ax_tensor a, b, c;
} gpu_case;

static int run_gpu(void *arg) {
    gpu_case *g = arg;
    return ax_gemm(g->ctx, AX_NO_TRANS, g->tb, 1.0f, &g->a, &g->b, 0.0f, &g->c) == AX_OK ? 0 : 1;
}

static int sync_gpu(void *arg) { return ax_context_synchronize(((gpu_case *)arg)->ctx) == AX_OK ? 0 : 1; }

/* Device copy of n uniform values in `dt`. */
static void *device_random(ax_context *ctx, ax_dtype dt, int64_t n, uint64_t *state) {
    float *host = bench_alloc_bytes((size_t)n * sizeof(float));
    void *conv = bench_alloc_bytes((size_t)n * ax_dtype_size(dt)), *dev = NULL;
    if (host && conv) {
        bench_fill_uniform(host, n, -1.0f, 1.0f, state);
        if (ax_convert(host, AX_F32, conv, dt, n) != AX_OK ||
            ax_device_alloc(ctx, (size_t)n * ax_dtype_size(dt), &dev) != AX_OK ||
            ax_copy_to_device(ctx, dev, conv, (size_t)n * ax_dtype_size(dt)) != AX_OK) {
            ax_device_free(ctx, dev);
            dev = NULL;
        }
    }
    free(host);
    free(conv);
    return dev;
}

static int bench_gpu(int repeats) {
    if (ax_cuda_device_count() == 0) {
        printf("GPU benchmark: no CUDA device (or this build has no CUDA)\n");
        return 0;
    }
    ax_context_config cfg = AX_CONTEXT_CONFIG_INIT;
    cfg.device.type = AX_CUDA;
    ax_context *ctx = NULL;
    if (ax_context_create(&ctx, &cfg) != AX_OK) {
        printf("context: %s\n", ax_last_error());
        return 1;
    }
    char name[128];
    int64_t memory = 0;
    ax_cuda_device_info(0, name, sizeof name, &memory);
    printf("ax_gemm on %s (cuBLAS cublasGemmStridedBatchedEx, fp32 accumulation, f32 without TF32); wall clock\n"
           "around a sample of calls ending in ax_context_synchronize, median of %d samples after a warm-up.\n"
           "Reference points (dense, from NVIDIA's data sheets): H100/H200 SXM about 67 TFLOP/s fp32 and 989\n"
           "TFLOP/s bf16/fp16 tensor cores.\n\n",
           name, repeats);
    printf("%-26s %5s %6s %6s %6s %2s %10s %10s %10s %10s\n", "problem", "batch", "M", "N", "K", "op", "f32 TF/s",
           "bf16 TF/s", "f16 TF/s", "bf16>f32");
    static const struct {
        ax_dtype ab, c;
    } combos[] = {{AX_F32, AX_F32}, {AX_BF16, AX_BF16}, {AX_F16, AX_F16}, {AX_BF16, AX_F32}};
    for (size_t i = 0; i < sizeof gpu_problems / sizeof gpu_problems[0]; i++) {
        const problem *p = &gpu_problems[i];
        const double flops = problem_flops(p);
        double rate[4] = {0, 0, 0, 0};
        for (int d = 0; d < 4; d++) {
            uint64_t state = 9;
            gpu_case g = {ctx, p->tb, {0}, {0}, {0}};
            void *a = device_random(ctx, combos[d].ab, p->batch * p->M * p->K, &state);
            void *b = device_random(ctx, combos[d].ab, p->batch * p->K * p->N, &state);
            void *c = device_random(ctx, combos[d].c, p->batch * p->M * p->N, &state);
            if (a && b && c) {
                tensor3(&g.a, a, combos[d].ab, p->batch, p->M, p->K);
                tensor3(&g.b, b, combos[d].ab, p->batch, p->tb == AX_TRANS ? p->N : p->K,
                        p->tb == AX_TRANS ? p->K : p->N);
                tensor3(&g.c, c, combos[d].c, p->batch, p->M, p->N);
                g.a.device = g.b.device = g.c.device = ax_context_device(ctx);
                const double guess = combos[d].ab == AX_F32 ? 40e12 : 400e12;
                const double t = time_calls(run_gpu, &g, calls_per_sample(flops, guess, 0.02), repeats, sync_gpu);
                rate[d] = t > 0 ? flops / t * 1e-12 : 0.0;
                if (t < 0) printf("%-26s ax_gemm failed: %s\n", p->name, ax_last_error());
            } else {
                printf("%-26s out of device memory\n", p->name);
            }
            ax_device_free(ctx, a);
            ax_device_free(ctx, b);
            ax_device_free(ctx, c);
        }
        printf("%-26s %5lld %6lld %6lld %6lld %2s %10.1f %10.1f %10.1f %10.1f\n", p->name, (long long)p->batch,
               (long long)p->M, (long long)p->N, (long long)p->K, p->tb == AX_TRANS ? "NT" : "NN", rate[0], rate[1],
               rate[2], rate[3]);
    }
    ax_context_destroy(ctx);
    return 0;
}

int main(int argc, char **argv) {
    int threads = 0, repeats = 7, gpu = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--repeats") == 0 && i + 1 < argc)
            repeats = atoi(argv[++i]);
        else if (strcmp(argv[i], "--gpu") == 0)
            gpu = 1;
        else {
            fprintf(stderr, "usage: %s [--threads T] [--repeats R] [--gpu]\n", argv[0]);
            return 2;
        }
    }
    if (repeats < 1) repeats = 1;
    if (gpu) return bench_gpu(repeats);
    bench_note_blas();
#ifdef _OPENMP
    if (threads <= 0) threads = omp_get_max_threads();
#else
    if (threads <= 0) threads = 1;
#endif
    return bench_cpu(threads, repeats);
}
