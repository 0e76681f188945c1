/*
 * moe_gemm.c — benchmark of ax_moe_grouped_gemm on the CPU (fp32, AX_TRANS: w (E, F, D), GGUF's
 * layout), against two baselines measured in the same run with the same context and threads:
 *
 *   loop:  one ax_gemm per expert that has rows (what a MoE layer without a grouped GEMM runs);
 *   dense: ONE ax_gemm of the same rows against a single (F, D) matrix: the same FLOPs with no
 *          routing at all, the ceiling a grouped GEMM is held to.
 *
 * Problems: T = 1, 16, 128, 512 tokens, E = 8 and 64 experts, k = 1, 2, 8 experts per token, each
 * token's k experts drawn uniformly without replacement (fixed seed), so R = T k rows in segments of
 * uneven length (align 1); D = 576 in, F = 1536 out (SmolLM2-135M's width and FFN width). GFLOP/s =
 * 2 R F D / time. Each number is the median of --repeats samples (default 7) after two warm-up calls;
 * a sample repeats the call for at least 20 ms, and the three calls take their samples in turn. The target: grouped >= 0.8x dense at 512
 * tokens and 8 experts; the table says whether it is met. Never asserts timings.
 *
 * --wtype q4_1 instead measures the quantized path (w Q4_1, ax_qmatmul's kernels) at the derived
 * SmolLM2 MoE's shape: E = 8 experts of FQ = 192 columns, k = 8, T = 1 (decode) and 128 (prefill);
 * loop = one ax_qmatmul per expert, dense = ONE ax_qmatmul of the same R rows against one (FQ, D)
 * expert: the same multiply-adds, the per-multiply-add ceiling of the grouped call.
 *
 * --gpu measures the same three calls on a CUDA context (device 0), fp32 and bf16 (x, w and y in the
 * dtype): grouped = the own SIMT kernel (fp32 accumulation, src/moe/cuda/grouped_gemm.cu); loop and
 * dense = ax_gemm, i.e. cuBLAS (fp32 without TF32; bf16 on the tensor cores). T = 1 to 4096 tokens (R
 * up to 32768 rows, enough to fill an H100), E = 8 and 64, k = 1, 2, 8. Timing is bench_cuda's (CUDA
 * events around samples of back-to-back calls on the bench's stream, median of --repeats after
 * warm-up); the expert weights rotate through a 256 MiB pool, so the 50 MiB L2 does not keep them
 * between calls (dense rotates through the pool's (F, D) matrices likewise). TFLOP/s = 2 R F D /
 * time. Without CUDA in the build or a device it says so and exits 77, as the other --gpu modes do.
 *
 *   bench_moe_gemm [--threads T] [--repeats R] [--wtype f32|q4_1] [--gpu]
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "axial/linalg.h"
#include "axial/moe.h"
#include "bench_cuda.h"
#include "bench_util.h"

enum { D = 576, F = 1536, FQ = 192, MAX_E = 64, MAX_ROWS = 512 * 8 };

typedef struct problem {
    int64_t T, E, k, R;
    int64_t offsets[MAX_E + 1];
} problem;

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng_next(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Uniform top-k routing of T tokens over E experts: counts per expert, then offsets. */
static void route(problem *pr, int64_t T, int64_t E, int64_t k) {
    memset(pr, 0, sizeof *pr);
    pr->T = T;
    pr->E = E;
    pr->k = k;
    int64_t counts[MAX_E] = {0};
    for (int64_t t = 0; t < pr->T; t++) {
        int chosen[MAX_E] = {0};
        for (int64_t j = 0; j < pr->k; j++) {
            int64_t e;
            do e = (int64_t)(rng_next() % (uint64_t)pr->E);
            while (chosen[e]);
            chosen[e] = 1;
            counts[e]++;
        }
    }
    pr->offsets[0] = 0;
    for (int64_t e = 0; e < pr->E; e++) pr->offsets[e + 1] = pr->offsets[e] + counts[e];
    pr->R = pr->offsets[pr->E];
}

typedef struct bench_ctx {
    ax_context *ctx;
    const problem *pr;
    ax_tensor x, w, w_dense, y, offsets;
    float *xd, *wd, *yd;
    const uint8_t *wq; /* --wtype q4_1: E experts of (FQ, D) Q4_1 rows */
    int64_t n;         /* columns of y: F, or FQ for q4_1 */
} bench_ctx;

static ax_tensor t2(void *data, int64_t a, int64_t b) {
    ax_tensor t;
    ax_tensor_contiguous(&t, data, AX_F32, 2, (const int64_t[]){a, b});
    return t;
}

static int run_grouped(bench_ctx *b) {
    return ax_moe_grouped_gemm(b->ctx, AX_TRANS, &b->x, &b->w, &b->offsets, &b->y) != AX_OK;
}

static int run_loop(bench_ctx *b) {
    for (int64_t e = 0; e < b->pr->E; e++) {
        const int64_t r0 = b->pr->offsets[e], rows = b->pr->offsets[e + 1] - r0;
        if (rows == 0) continue;
        ax_tensor xs = t2(b->xd + r0 * D, rows, D), we = t2(b->wd + e * (int64_t)F * D, F, D);
        ax_tensor ys = t2(b->yd + r0 * F, rows, F);
        if (ax_gemm(b->ctx, AX_NO_TRANS, AX_TRANS, 1.0f, &xs, &we, 0.0f, &ys) != AX_OK) return 1;
    }
    return 0;
}

static int run_loop_q(bench_ctx *b) {
    const int64_t expert_bytes = ax_dtype_bytes(AX_Q4_1, (int64_t)FQ * D);
    for (int64_t e = 0; e < b->pr->E; e++) {
        const int64_t r0 = b->pr->offsets[e], rows = b->pr->offsets[e + 1] - r0;
        if (rows == 0) continue;
        ax_tensor xs = t2(b->xd + r0 * D, rows, D), ys = t2(b->yd + r0 * FQ, rows, FQ), we;
        ax_tensor_contiguous(&we, (void *)(b->wq + e * expert_bytes), AX_Q4_1, 2, (const int64_t[]){FQ, D});
        if (ax_qmatmul(b->ctx, &xs, &we, NULL, &ys) != AX_OK) return 1;
    }
    return 0;
}

static int run_dense_q(bench_ctx *b) { return ax_qmatmul(b->ctx, &b->x, &b->w_dense, NULL, &b->y) != AX_OK; }

static int run_dense(bench_ctx *b) {
    return ax_gemm(b->ctx, AX_NO_TRANS, AX_TRANS, 1.0f, &b->x, &b->w_dense, 0.0f, &b->y) != AX_OK;
}

/* Median GFLOP/s of each of the three calls over `repeats` rounds, after two warm-up calls of each. A
 * round takes one sample of each call in turn (a sample repeats the call for at least 20 ms), so the
 * three medians come from the same stretch of time: on a shared machine whose speed drifts, the
 * ratios stay comparable. Each sample starts after a pause of 300 ms, so the worker threads of the call
 * before have gone to sleep and do not compete for the cores: OpenBLAS's pool (the baselines run on it)
 * keeps spinning with sched_yield for about 2^28 cycles (~0.1 s here) after its last call, and a grouped
 * call's OpenMP barrier that shares a core with such a spinner waits a scheduler slice (a 100 ms pause
 * measured 0.5 GFLOP/s instead of 6-8 for the one-token rows). */
static void measure3(int (*const fn[3])(bench_ctx *), bench_ctx *b, int repeats, double rate[3]) {
    double samples[3][64];
    const double flops = 2.0 * (double)b->pr->R * b->n * D;
    for (int f = 0; f < 3; f++) {
        rate[f] = 0.0;
        if (fn[f](b) || fn[f](b)) {
            fprintf(stderr, "call failed: %s\n", ax_last_error());
            return;
        }
    }
    const struct timespec pause = {0, 300 * 1000 * 1000};
    for (int s = 0; s < repeats; s++) {
        for (int f = 0; f < 3; f++) {
            nanosleep(&pause, NULL);
            const double t0 = bench_now();
            int calls = 0;
            double t1;
            do {
                fn[f](b);
                calls++;
                t1 = bench_now();
            } while (t1 - t0 < 0.02);
            samples[f][s] = flops * calls / (t1 - t0) * 1e-9;
        }
    }
    for (int f = 0; f < 3; f++) rate[f] = bench_median(samples[f], repeats);
}

/* --wtype q4_1: the quantized path at the derived MoE's shape (see the top). */
static int quant_table(ax_context *ctx, float *x, float *y, const float *w, int repeats) {
    const int64_t E = 8, k = 8, wcount = E * FQ * D;
    uint8_t *wq = bench_alloc_bytes((size_t)ax_dtype_bytes(AX_Q4_1, wcount));
    if (wq == NULL || ax_convert(w, AX_F32, wq, AX_Q4_1, wcount) != AX_OK) {
        fprintf(stderr, "q4_1 weights: %s\n", wq == NULL ? "out of memory" : ax_last_error());
        free(wq);
        return 1;
    }
    printf("ax_moe_grouped_gemm, CPU Q4_1, %d threads: y (R, FQ) = x (R, D) w[e]^T per segment, D = %d, FQ = %d\n",
           (int)ax_context_num_threads(ctx), D, FQ);
    printf("GFLOP/s = 2 R FQ D / time, median of %d samples taken in turn; loop = one ax_qmatmul per expert; dense = one "
           "ax_qmatmul of the same R rows\n\n",
           repeats);
    printf("%6s %4s %3s %6s | %9s %9s %9s | %8s %8s\n", "tokens", "E", "k", "rows", "grouped", "loop", "dense",
           "grp/dns", "grp/loop");
    const int64_t Ts[] = {1, 128};
    for (int ti = 0; ti < 2; ti++) {
        problem pr;
        route(&pr, Ts[ti], E, k);
        bench_ctx b;
        memset(&b, 0, sizeof b);
        b.ctx = ctx;
        b.pr = &pr;
        b.xd = x;
        b.yd = y;
        b.wq = wq;
        b.n = FQ;
        b.x = t2(x, pr.R, D);
        ax_tensor_contiguous(&b.w, wq, AX_Q4_1, 3, (const int64_t[]){pr.E, FQ, D});
        ax_tensor_contiguous(&b.w_dense, wq, AX_Q4_1, 2, (const int64_t[]){FQ, D});
        b.y = t2(y, pr.R, FQ);
        ax_tensor_contiguous(&b.offsets, pr.offsets, AX_I64, 1, (const int64_t[]){pr.E + 1});
        int (*const fns[3])(bench_ctx *) = {run_grouped, run_loop_q, run_dense_q};
        double rate[3];
        measure3(fns, &b, repeats, rate);
        const double g = rate[0], l = rate[1], d = rate[2];
        printf("%6lld %4lld %3lld %6lld | %9.1f %9.1f %9.1f | %7.2fx %7.2fx\n", (long long)pr.T, (long long)pr.E,
               (long long)pr.k, (long long)pr.R, g, l, d, d > 0 ? g / d : 0.0, l > 0 ? g / l : 0.0);
        fflush(stdout);
    }
    free(wq);
    return 0;
}

/* ---- --gpu: the same table on a CUDA context ----------------------------------------------------- */

enum { GPU_MAX_T = 4096, GPU_MAX_ROWS = GPU_MAX_T * 8 };
/* The weight pool: five times an H100's or H200's 50 MiB L2, so no call finds its weights left in L2
 * by the one before. x is not rotated: in a layer it is the activation the previous op just wrote. */
#define GPU_POOL_BYTES ((int64_t)256 << 20)
_Static_assert(GPU_POOL_BYTES / 4 / ((int64_t)F * D) >= MAX_E, "the fp32 pool must hold MAX_E experts");

typedef struct gpu_bench {
    const bench_cuda *bc;
    ax_context *ctx;
    ax_dtype dt;
    const problem *pr;
    char *x, *y, *pool;   /* device: (GPU_MAX_ROWS, D), (GPU_MAX_ROWS, F), n_mats matrices (F, D) */
    int64_t n_mats, elem; /* matrices in the pool; bytes per element */
    int64_t *offsets;     /* device copy of pr->offsets */
    int64_t call;         /* rotation counter */
} gpu_bench;

static ax_tensor gpu_t(const gpu_bench *g, void *data, int32_t ndim, int64_t a, int64_t b, int64_t c) {
    return bench_cuda_tensor(g->bc, data, g->dt, ndim, (const int64_t[]){a, b, c});
}

/* The pool's matrix index where this call's E experts start: whole groups of E, rotating. */
static char *gpu_experts(gpu_bench *g) {
    const int64_t groups = g->n_mats / g->pr->E > 0 ? g->n_mats / g->pr->E : 1;
    return g->pool + (g->call++ % groups) * g->pr->E * (int64_t)F * D * g->elem;
}

/* The three calls timed (bench_cuda_fn: 0 on success). */
static int gpu_grouped(void *arg) {
    gpu_bench *g = arg;
    ax_tensor x = gpu_t(g, g->x, 2, g->pr->R, D, 0), y = gpu_t(g, g->y, 2, g->pr->R, F, 0);
    ax_tensor w = gpu_t(g, gpu_experts(g), 3, g->pr->E, F, D);
    ax_tensor off = bench_cuda_tensor(g->bc, g->offsets, AX_I64, 1, (const int64_t[]){g->pr->E + 1});
    return ax_moe_grouped_gemm(g->ctx, AX_TRANS, &x, &w, &off, &y) != AX_OK;
}

static int gpu_loop(void *arg) {
    gpu_bench *g = arg;
    const char *w = gpu_experts(g);
    for (int64_t e = 0; e < g->pr->E; e++) {
        const int64_t r0 = g->pr->offsets[e], rows = g->pr->offsets[e + 1] - r0;
        if (rows == 0) continue;
        ax_tensor xs = gpu_t(g, g->x + r0 * D * g->elem, 2, rows, D, 0);
        ax_tensor ys = gpu_t(g, g->y + r0 * F * g->elem, 2, rows, F, 0);
        ax_tensor we = gpu_t(g, (void *)(w + e * (int64_t)F * D * g->elem), 2, F, D, 0);
        if (ax_gemm(g->ctx, AX_NO_TRANS, AX_TRANS, 1.0f, &xs, &we, 0.0f, &ys) != AX_OK) return 1;
    }
    return 0;
}

static int gpu_dense(void *arg) {
    gpu_bench *g = arg;
    char *w = g->pool + (g->call++ % g->n_mats) * (int64_t)F * D * g->elem;
    ax_tensor x = gpu_t(g, g->x, 2, g->pr->R, D, 0), y = gpu_t(g, g->y, 2, g->pr->R, F, 0);
    ax_tensor wd = gpu_t(g, w, 2, F, D, 0);
    return ax_gemm(g->ctx, AX_NO_TRANS, AX_TRANS, 1.0f, &x, &wd, 0.0f, &y) != AX_OK;
}

/* Device buffers in f32 and bf16 (bf16 made on the device by ax_tensor_copy from the f32 values). */
static int gpu_buffers(ax_context *ctx, const float *host, int64_t n, char **f32, char **bf16) {
    *f32 = *bf16 = NULL;
    if (ax_device_alloc(ctx, (size_t)n * 4, (void **)f32) != AX_OK ||
        ax_device_alloc(ctx, (size_t)n * 2, (void **)bf16) != AX_OK)
        return 1;
    if (host != NULL) {
        if (ax_copy_to_device(ctx, *f32, host, (size_t)n * 4) != AX_OK) return 1;
        ax_tensor a, b;
        ax_tensor_contiguous(&a, *f32, AX_F32, 1, (const int64_t[]){n});
        ax_tensor_contiguous(&b, *bf16, AX_BF16, 1, (const int64_t[]){n});
        a.device = b.device = ax_context_device(ctx);
        if (ax_tensor_copy(ctx, &a, &b) != AX_OK || ax_context_synchronize(ctx) != AX_OK) return 1;
    }
    return 0;
}

static int bench_gpu(int repeats) {
    bench_cuda bc;
    const int opened = bench_cuda_open(&bc, "bench_moe_gemm --gpu");
    if (opened != 0) return opened;
    ax_context *ctx = bc.ctx;
    const int64_t x_n = (int64_t)GPU_MAX_ROWS * D, y_n = (int64_t)GPU_MAX_ROWS * F, pool_n = GPU_POOL_BYTES / 4;
    float *host = bench_alloc_floats(pool_n > x_n ? pool_n : x_n);
    char *x32 = NULL, *x16 = NULL, *y32 = NULL, *y16 = NULL, *p32 = NULL, *p16 = NULL;
    int64_t *offsets = NULL;
    int rc = host == NULL;
    uint64_t seed = 17;
    if (rc == 0) {
        bench_fill_uniform(host, x_n, -1.0f, 1.0f, &seed);
        rc = gpu_buffers(ctx, host, x_n, &x32, &x16) || gpu_buffers(ctx, NULL, y_n, &y32, &y16);
    }
    if (rc == 0) {
        bench_fill_uniform(host, pool_n, -0.05f, 0.05f, &seed);
        rc = gpu_buffers(ctx, host, pool_n, &p32, &p16) ||
             ax_device_alloc(ctx, sizeof(int64_t) * (MAX_E + 1), (void **)&offsets) != AX_OK;
    }
    free(host);
    if (rc != 0) {
        fprintf(stderr, "device buffers: %s\n", ax_last_error());
    } else {
        bench_cuda_print_card(&bc, "ax_moe_grouped_gemm");
        printf("y (R, F) = x (R, D) w[e]^T per segment, D = %d, F = %d\n", D, F);
        printf("TFLOP/s = 2 R F D / time; CUDA events around samples of back-to-back calls, median of %d after\n"
               "warm-up; weights rotated through a 256 MiB pool.\n"
               "grouped = own SIMT kernel (fp32 accumulation); loop = one ax_gemm (cuBLAS) per expert with rows;\n"
               "dense = one ax_gemm of the same R rows against one (F, D) matrix. Peaks (NVIDIA data sheets,\n"
               "H100 SXM): ~67 TFLOP/s fp32 (CUDA cores, no TF32), ~989 TFLOP/s bf16 dense tensor cores.\n\n",
               repeats);
        printf("%5s %6s %4s %3s %6s | %9s %9s %9s | %8s %8s\n", "dtype", "tokens", "E", "k", "rows", "grouped", "loop",
               "dense", "grp/dns", "grp/loop");
    }
    const int64_t Ts[] = {1, 16, 128, 512, GPU_MAX_T}, Es[] = {8, 64}, ks[] = {1, 2, 8};
    for (int di = 0; di < 2 && rc == 0; di++)
        for (int ei = 0; ei < 2 && rc == 0; ei++)
            for (int ti = 0; ti < 5 && rc == 0; ti++)
                for (int ki = 0; ki < 3 && rc == 0; ki++) {
                    problem pr;
                    route(&pr, Ts[ti], Es[ei], ks[ki]);
                    gpu_bench g;
                    memset(&g, 0, sizeof g);
                    g.bc = &bc;
                    g.ctx = ctx;
                    g.dt = di == 0 ? AX_F32 : AX_BF16;
                    g.elem = di == 0 ? 4 : 2;
                    g.pr = &pr;
                    g.x = di == 0 ? x32 : x16;
                    g.y = di == 0 ? y32 : y16;
                    g.pool = di == 0 ? p32 : p16;
                    g.n_mats = GPU_POOL_BYTES / g.elem / ((int64_t)F * D);
                    g.offsets = offsets;
                    if (ax_copy_to_device(ctx, offsets, pr.offsets, sizeof(int64_t) * (size_t)(pr.E + 1)) != AX_OK) {
                        rc = 1;
                        break;
                    }
                    const bench_cuda_fn fns[3] = {gpu_grouped, gpu_loop, gpu_dense};
                    const double flops = 2.0 * (double)pr.R * F * D;
                    double rate[3];
                    for (int f = 0; f < 3 && rc == 0; f++) {
                        const double s = bench_cuda_time(&bc, fns[f], &g, 0, repeats);
                        if (s <= 0) {
                            fprintf(stderr, "call failed: %s\n", bc.error);
                            rc = 1;
                        }
                        rate[f] = flops / s * 1e-12;
                    }
                    if (rc != 0) break;
                    const double gr = rate[0], l = rate[1], d = rate[2];
                    printf("%5s %6lld %4lld %3lld %6lld | %9.2f %9.2f %9.2f | %7.2fx %7.2fx\n", ax_dtype_name(g.dt),
                           (long long)pr.T, (long long)pr.E, (long long)pr.k, (long long)pr.R, gr, l, d,
                           d > 0 ? gr / d : 0.0, l > 0 ? gr / l : 0.0);
                    fflush(stdout);
                }
    char *bufs[] = {x32, x16, y32, y16, p32, p16, (char *)offsets};
    for (int i = 0; i < 7; i++) ax_device_free(ctx, bufs[i]);
    bench_cuda_close(&bc);
    return rc;
}

int main(int argc, char **argv) {
    int threads = 0, repeats = 7, quant = 0, gpu = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--repeats") == 0 && i + 1 < argc) repeats = atoi(argv[++i]);
        else if (strcmp(argv[i], "--wtype") == 0 && i + 1 < argc && (strcmp(argv[i + 1], "f32") == 0 ||
                                                                      strcmp(argv[i + 1], "q4_1") == 0))
            quant = strcmp(argv[++i], "q4_1") == 0;
        else if (strcmp(argv[i], "--gpu") == 0)
            gpu = 1;
        else {
            fprintf(stderr, "usage: %s [--threads T] [--repeats R] [--wtype f32|q4_1] [--gpu]\n", argv[0]);
            return 2;
        }
    }
    if (repeats < 1) repeats = 1;
    if (repeats > 64) repeats = 64;
    if (gpu) return bench_gpu(repeats);
    bench_note_blas();
    ax_context_config cfg = AX_CONTEXT_CONFIG_INIT;
    cfg.num_threads = threads;
    ax_context *ctx = NULL;
    if (ax_context_create(&ctx, &cfg) != AX_OK) {
        fprintf(stderr, "context: %s\n", ax_last_error());
        return 1;
    }
    float *x = bench_alloc_bytes(sizeof(float) * MAX_ROWS * D), *y = bench_alloc_bytes(sizeof(float) * MAX_ROWS * F);
    float *w = bench_alloc_bytes(sizeof(float) * (size_t)MAX_E * F * D);
    if (x == NULL || y == NULL || w == NULL) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    uint64_t seed = 17;
    bench_fill_uniform(x, (int64_t)MAX_ROWS * D, -1.0f, 1.0f, &seed);
    bench_fill_uniform(w, (int64_t)MAX_E * F * D, -0.05f, 0.05f, &seed);
    if (quant) {
        const int rc = quant_table(ctx, x, y, w, repeats);
        free(x);
        free(y);
        free(w);
        ax_context_destroy(ctx);
        return rc;
    }

    bench_note_wait_policy();
    printf("ax_moe_grouped_gemm, CPU fp32, %d threads: y (R, F) = x (R, D) w[e]^T per segment, D = %d, F = %d\n",
           (int)ax_context_num_threads(ctx), D, F);
    printf("GFLOP/s = 2 R F D / time, median of %d samples taken in turn; loop = one ax_gemm per expert; dense = one ax_gemm of "
           "the same R rows\n\n",
           repeats);
    printf("%6s %4s %3s %6s | %9s %9s %9s | %8s %8s\n", "tokens", "E", "k", "rows", "grouped", "loop", "dense",
           "grp/dns", "grp/loop");
    const int64_t Ts[] = {1, 16, 128, 512}, Es[] = {8, 64}, ks[] = {1, 2, 8};
    char target_line[256] = "";
    int target_checked = 0, target_met = 0;
    for (int ei = 0; ei < 2; ei++)
        for (int ti = 0; ti < 4; ti++)
            for (int ki = 0; ki < 3; ki++) {
                problem pr;
                route(&pr, Ts[ti], Es[ei], ks[ki]);
                bench_ctx b;
                memset(&b, 0, sizeof b);
                b.n = F;
                b.ctx = ctx;
                b.pr = &pr;
                b.xd = x;
                b.wd = w;
                b.yd = y;
                b.x = t2(x, pr.R, D);
                ax_tensor_contiguous(&b.w, w, AX_F32, 3, (const int64_t[]){pr.E, F, D});
                b.w_dense = t2(w, F, D);
                b.y = t2(y, pr.R, F);
                ax_tensor_contiguous(&b.offsets, pr.offsets, AX_I64, 1, (const int64_t[]){pr.E + 1});
                int (*const fns[3])(bench_ctx *) = {run_grouped, run_loop, run_dense};
                double rate[3];
                measure3(fns, &b, repeats, rate);
                const double g = rate[0], l = rate[1], d = rate[2];
                printf("%6lld %4lld %3lld %6lld | %9.1f %9.1f %9.1f | %7.2fx %7.2fx\n", (long long)pr.T,
                       (long long)pr.E, (long long)pr.k, (long long)pr.R, g, l, d, d > 0 ? g / d : 0.0,
                       l > 0 ? g / l : 0.0);
                fflush(stdout);
                if (pr.T == 512 && pr.E == 8) {
                    target_checked++;
                    target_met += g >= 0.8 * d;
                    const size_t used = strlen(target_line);
                    snprintf(target_line + used, sizeof target_line - used, "%sk = %lld: %.2fx %s",
                             used > 0 ? ", " : "", (long long)pr.k, d > 0 ? g / d : 0.0,
                             g >= 0.8 * d ? "met" : "not met");
                }
            }
    printf("\ntarget (issue 17): grouped >= 0.8x dense at 512 tokens, 8 experts: met for %d of %d k (%s)\n",
           target_met, target_checked, target_line);
    free(x);
    free(y);
    free(w);
    ax_context_destroy(ctx);
    return 0;
}
