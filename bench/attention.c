/*
 * attention.c — benchmark of flash attention (attention.h) on the CPU: forward and backward time,
 * GFLOP/s and percent of OpenBLAS sgemm measured in the same run, backward / forward ratio, fp32
 * and bf16, working memory; then, when <source>/.venv-torch has PyTorch, PyTorch's attention on the
 * same shape and thread count (scaled_dot_product_attention where it exists, else matmul + softmax
 * + matmul, which materialises the logits), forward and forward + backward.
 *
 *   bench_attention [--threads T] [--repeats R] [--shape B,S,H,Hkv,D]... [--full] [--no-torch] [--cpu-time]
 *   bench_attention --gpu [--repeats R] [--shape B,S,H,Hkv,D]... [--full] [--no-torch]
 *
 * --cpu-time times everything (the sgemm baseline too) by the process's CPU time divided by the
 * thread count instead of the wall clock: on a machine shared with other work, where wall-clock
 * medians mostly measure the scheduler, it still compares work per core.
 *
 * --gpu runs the same ops on CUDA device 0 (bf16 and fp16 on tensor cores, fp32): by default the
 * issue's (1, 2048, 16, 16, 64) causal and non-causal in all three dtypes, a GQA shape (1, 4096, 32, 8,
 * 128) causal in bf16 and fp16, and a long one (1, 8192, 32, 32, 128) causal in bf16 (--shape: those
 * shapes causal, --full also non-causal, in all three dtypes). Times are CUDA events around samples of
 * back-to-back calls on the context's stream (about 2 ms each), median of R (default 10) after three
 * warm-ups. Inputs are not rotated: attention reads each byte about S/2 times from on-chip tiles, so
 * it is compute-bound and the L2 does not flatter it (nor PyTorch, which runs on the same tensors).
 * Then PyTorch's scaled_dot_product_attention on the same cases on the GPU (bench/attention_torch.py
 * --device cuda, run with $AXIAL_TORCH_PYTHON, default python3), with Axial's speed-up over it.
 * Without CUDA (build or device) --gpu prints why and exits with 77.
 *
 * FLOPs counted are the useful ones: 4 * B * H * Sq * Sk * D for the forward (two products), halved
 * under the causal mask (the unmasked half), and 2.5 times that for the backward (five products).
 * Every CPU figure is the median of R timed calls after one warm-up call.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "axial/attention.h"
#include "bench_cuda.h"
#include "bench_util.h"

typedef struct shape {
    int64_t B, S, H, Hkv, D;
} shape;

typedef struct timing {
    double fwd_ms, bwd_ms;
    int64_t fwd_mem, bwd_mem;
    int ok;
} timing;

static int cpu_time_mode, clock_threads = 1;

static double now(void) {
    if (!cpu_time_mode) return bench_now();
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return ((double)t.tv_sec + 1e-9 * (double)t.tv_nsec) / clock_threads;
}

/* The baseline: median GFLOP/s of a square sgemm of size m, timed like everything else. */
static double sgemm_gflops(int64_t m, int threads, int repeats) {
    if (!cpu_time_mode) return bench_sgemm_gflops(m, threads, repeats);
    bench_blas_threads(threads);
    const size_t bytes = (size_t)(m * m) * sizeof(float);
    float *a = bench_alloc_bytes(bytes), *b = bench_alloc_bytes(bytes), *c = bench_alloc_bytes(bytes);
    double *t = calloc((size_t)repeats, sizeof(double));
    double gf = 0.0;
    if (a && b && c && t) {
        uint64_t st = 1;
        bench_fill_uniform(a, m * m, -1, 1, &st);
        bench_fill_uniform(b, m * m, -1, 1, &st);
        for (int r = -1; r < repeats; r++) {
            const double t0 = now();
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)m, (int)m, 1.0f, a, (int)m, b, (int)m,
                        0.0f, c, (int)m);
            if (r >= 0) t[r] = now() - t0;
        }
        gf = 2.0 * (double)m * (double)m * (double)m / bench_median(t, repeats) * 1e-9;
    }
    free(a), free(b), free(c), free(t);
    bench_settle();
    return gf;
}

static void to_bf16(const float *src, uint16_t *dst, int64_t n) { ax_convert(src, AX_F32, dst, AX_BF16, n); }

/* One dtype's problem on one shape: its inputs, outputs and context, run one forward + backward at a
 * time so that two dtypes can take turns (pairs of runs see the same machine state). */
typedef struct problem {
    void *buf[10]; /* f, q, k, v, out, dout, dq, dk, dv, lse */
    ax_tensor q, k, v, out, dout, dq, dk, dv, lse;
    ax_context *ctx;
    ax_attention_options o;
} problem;

static void problem_close(problem *pb) {
    ax_context_destroy(pb->ctx);
    for (int i = 0; i < 10; i++) free(pb->buf[i]);
    memset(pb, 0, sizeof *pb);
}

static int problem_open(problem *pb, const shape *s, ax_dtype dtype, int causal, int threads) {
    memset(pb, 0, sizeof *pb);
    const int64_t nq = s->B * s->S * s->H * s->D, nk = s->B * s->S * s->Hkv * s->D;
    const size_t es = dtype == AX_F32 ? 4 : 2, qbytes = (size_t)nq * es, kbytes = (size_t)nk * es;
    const size_t bytes[10] = {(size_t)(nq > nk ? nq : nk) * sizeof(float), qbytes, kbytes, kbytes, qbytes, qbytes,
                              qbytes, kbytes, kbytes, (size_t)(s->B * s->H * s->S) * sizeof(float)};
    for (int i = 0; i < 10; i++)
        if ((pb->buf[i] = bench_alloc_bytes(bytes[i])) == NULL) {
            printf("out of memory\n");
            problem_close(pb);
            return 0;
        }
    float *f = pb->buf[0];
    uint64_t st = 11;
    void *ins[4] = {pb->buf[1], pb->buf[2], pb->buf[3], pb->buf[5]};
    const int64_t ns[4] = {nq, nk, nk, nq};
    for (int i = 0; i < 4; i++) {
        bench_fill_uniform(f, ns[i], -1, 1, &st);
        if (dtype == AX_F32) memcpy(ins[i], f, (size_t)ns[i] * sizeof(float));
        else to_bf16(f, ins[i], ns[i]);
    }
    const int64_t sq[4] = {s->B, s->S, s->H, s->D}, sk[4] = {s->B, s->S, s->Hkv, s->D}, sl[3] = {s->B, s->H, s->S};
    ax_tensor_contiguous(&pb->q, pb->buf[1], dtype, 4, sq);
    ax_tensor_contiguous(&pb->k, pb->buf[2], dtype, 4, sk);
    ax_tensor_contiguous(&pb->v, pb->buf[3], dtype, 4, sk);
    ax_tensor_contiguous(&pb->out, pb->buf[4], dtype, 4, sq);
    ax_tensor_contiguous(&pb->dout, pb->buf[5], dtype, 4, sq);
    ax_tensor_contiguous(&pb->dq, pb->buf[6], dtype, 4, sq);
    ax_tensor_contiguous(&pb->dk, pb->buf[7], dtype, 4, sk);
    ax_tensor_contiguous(&pb->dv, pb->buf[8], dtype, 4, sk);
    ax_tensor_contiguous(&pb->lse, pb->buf[9], AX_F32, 3, sl);
    ax_context_config cfg = AX_CONTEXT_CONFIG_INIT;
    cfg.num_threads = threads;
    if (ax_context_create(&pb->ctx, &cfg) != AX_OK) {
        printf("context: %s\n", ax_last_error());
        problem_close(pb);
        return 0;
    }
    pb->o = ax_attention_options_default();
    pb->o.causal = causal;
    return 1;
}

/* One forward and one backward: their seconds and workspace peaks; 0 on failure (printed). */
static int problem_step(problem *pb, double *fwd_s, double *bwd_s, int64_t *fwd_mem, int64_t *bwd_mem) {
    ax_context_workspace_peak_reset(pb->ctx);
    const double t0 = now();
    ax_status st = ax_attention_forward(pb->ctx, &pb->q, &pb->k, &pb->v, NULL, &pb->o, &pb->out, &pb->lse);
    const double t1 = now();
    *fwd_mem = ax_context_workspace_peak(pb->ctx);
    ax_context_workspace_peak_reset(pb->ctx);
    if (st == AX_OK)
        st = ax_attention_backward(pb->ctx, &pb->q, &pb->k, &pb->v, NULL, &pb->out, &pb->lse, &pb->dout, &pb->o,
                                   &pb->dq, &pb->dk, &pb->dv, NULL);
    const double t2 = now();
    *bwd_mem = ax_context_workspace_peak(pb->ctx);
    if (st != AX_OK) {
        printf("attention: %s\n", ax_last_error());
        return 0;
    }
    *fwd_s = t1 - t0, *bwd_s = t2 - t1;
    return 1;
}

/* f32 and bf16 on one shape, taking turns repeat by repeat (after one warm-up each): their median
 * times, and the medians of the per-repeat ratios f32 time / bf16 time, which a machine whose speed
 * drifts between repeats moves far less than it moves the ratio of the medians. */
static void run_pair(const shape *s, int causal, int threads, int repeats, timing *t32, timing *t16,
                     double *fwd_ratio, double *bwd_ratio) {
    memset(t32, 0, sizeof *t32), memset(t16, 0, sizeof *t16);
    *fwd_ratio = *bwd_ratio = 0.0;
    problem pa, pb;
    const int ok_a = problem_open(&pa, s, AX_F32, causal, threads);
    const int ok_b = ok_a && problem_open(&pb, s, AX_BF16, causal, threads);
    double *t = calloc((size_t)(6 * repeats), sizeof(double));
    if (ok_b && t != NULL) {
        double *fa = t, *ba = t + repeats, *fb = t + 2 * repeats, *bb = t + 3 * repeats, *rf = t + 4 * repeats,
               *rb = t + 5 * repeats;
        int ok = 1;
        for (int r = -1; r < repeats && ok; r++) {
            double f1, b1, f2, b2;
            ok = problem_step(&pa, &f1, &b1, &t32->fwd_mem, &t32->bwd_mem) &&
                 problem_step(&pb, &f2, &b2, &t16->fwd_mem, &t16->bwd_mem);
            if (ok && r >= 0) fa[r] = f1, ba[r] = b1, fb[r] = f2, bb[r] = b2, rf[r] = f1 / f2, rb[r] = b1 / b2;
        }
        if (ok) {
            t32->fwd_ms = bench_median(fa, repeats) * 1e3, t32->bwd_ms = bench_median(ba, repeats) * 1e3;
            t16->fwd_ms = bench_median(fb, repeats) * 1e3, t16->bwd_ms = bench_median(bb, repeats) * 1e3;
            *fwd_ratio = bench_median(rf, repeats), *bwd_ratio = bench_median(rb, repeats);
            t32->ok = t16->ok = 1;
        }
    }
    free(t);
    if (ok_b) problem_close(&pb);
    if (ok_a) problem_close(&pa);
}

/* The useful forward FLOPs: two products, halved under the causal mask (the backward does 2.5x). */
static double attention_flops(const shape *s, int causal) {
    return 4.0 * (double)s->B * (double)s->H * (double)s->S * (double)s->S * (double)s->D * (causal ? 0.5 : 1.0);
}

static void print_row(const char *name, const shape *s, int causal, const timing *tm, double sgemm) {
    if (!tm->ok) return;
    const double flops = attention_flops(s, causal);
    const double fgf = flops / tm->fwd_ms * 1e-6, bgf = 2.5 * flops / tm->bwd_ms * 1e-6;
    printf("%-22s %9.2f %9.2f %8.1f %8.1f %6.1f%% %6.1f%% %6.2fx %9.2f %9.2f\n", name, tm->fwd_ms, tm->bwd_ms, fgf, bgf,
           100.0 * fgf / sgemm, 100.0 * bgf / sgemm, tm->bwd_ms / tm->fwd_ms, (double)tm->fwd_mem / 1048576.0,
           (double)tm->bwd_mem / 1048576.0);
}

/* PyTorch on the same shape, in a child process (the project's .venv-torch); silently absent. */
static void run_torch(const shape *s, int causal, int threads, int repeats) {
    char python[1024], cmd[4096];
    snprintf(python, sizeof python, "%s/.venv-torch/bin/python", AXIAL_SOURCE_DIR);
    FILE *probe = fopen(python, "r");
    if (probe == NULL) {
        printf("PyTorch: %s not found, skipped\n", python);
        return;
    }
    fclose(probe);
    snprintf(cmd, sizeof cmd,
             "%s - <<'PYEOF' 2>&1\n"
             "import math, statistics, time\n"
             "try:\n"
             "    import torch\n"
             "except ImportError:\n"
             "    print('PyTorch: not installed, skipped'); raise SystemExit\n"
             "torch.set_num_threads(%d)\n"
             "B, S, H, Hkv, D, causal, R, cpu = %lld, %lld, %lld, %lld, %lld, %d, %d, %d\n"
             "clock = (lambda: time.process_time() / %d) if cpu else time.perf_counter\n"
             "sdpa = getattr(torch.nn.functional, 'scaled_dot_product_attention', None)\n"
             "def attn(q, k, v):\n"
             "    if Hkv != H:\n"
             "        k = k.repeat_interleave(H // Hkv, 1); v = v.repeat_interleave(H // Hkv, 1)\n"
             "    if sdpa is not None: return sdpa(q, k, v, is_causal=bool(causal))\n"
             "    s = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(D)\n"
             "    if causal: s = s.masked_fill(torch.ones(S, S, dtype=torch.bool).triu(1), float('-inf'))\n"
             "    return torch.matmul(torch.softmax(s, -1), v)\n"
             "for dt in (torch.float32, torch.bfloat16):\n"
             "    q = torch.rand(B, H, S, D, dtype=dt) * 2 - 1; k = torch.rand(B, Hkv, S, D, dtype=dt) * 2 - 1\n"
             "    v = torch.rand(B, Hkv, S, D, dtype=dt) * 2 - 1\n"
             "    tf, tb = [], []\n"
             "    # bf16 matmul is slow in old CPU builds of PyTorch: fewer rounds there (3, a true median)\n"
             "    for r in range((R if dt == torch.float32 else min(R, 3)) + 1):\n"
             "        qq, kk, vv = (x.clone().requires_grad_() for x in (q, k, v))\n"
             "        t0 = clock(); o = attn(qq, kk, vv); t1 = clock()\n"
             "        o.backward(torch.ones_like(o)); t2 = clock()\n"
             "        if r: tf.append(t1 - t0); tb.append(t2 - t1)\n"
             "    f, b = statistics.median(tf) * 1e3, statistics.median(tb) * 1e3\n"
             "    print('%%-22s %%9.2f %%9.2f   (%%s, torch %%s, median of %%d)' %%\n"
             "          ('torch ' + str(dt).split('.')[1], f, b,\n"
             "           'SDPA' if sdpa else 'matmul+softmax, logits materialised', torch.__version__, len(tf)))\n"
             "PYEOF",
             python, threads, (long long)s->B, (long long)s->S, (long long)s->H, (long long)s->Hkv, (long long)s->D,
             causal, repeats, cpu_time_mode, threads);
    FILE *pipe = popen(cmd, "r");
    if (pipe == NULL) return;
    char line[512];
    while (fgets(line, sizeof line, pipe) != NULL) fputs(line, stdout);
    pclose(pipe);
}

/* ---- the GPU ----------------------------------------------------------------------------------- */

typedef struct gpu_case {
    shape s;
    ax_dtype dtype;
    int causal;
    double fwd_s, bwd_s; /* medians; <= 0 when the case failed */
} gpu_case;

typedef struct gpu_attn {
    ax_context *ctx;
    ax_tensor q, k, v, out, lse, dout, dq, dk, dv;
    ax_attention_options o;
} gpu_attn;

static int gpu_forward(void *arg) {
    gpu_attn *a = arg;
    return ax_attention_forward(a->ctx, &a->q, &a->k, &a->v, NULL, &a->o, &a->out, &a->lse) == AX_OK ? 0 : 1;
}

static int gpu_backward(void *arg) {
    gpu_attn *a = arg;
    return ax_attention_backward(a->ctx, &a->q, &a->k, &a->v, NULL, &a->out, &a->lse, &a->dout, &a->o, &a->dq,
                                 &a->dk, &a->dv, NULL) == AX_OK
               ? 0
               : 1;
}

static void shape_text(const shape *s, char *text, size_t size) {
    snprintf(text, size, "(%lld,%lld,%lld,%lld,%lld)", (long long)s->B, (long long)s->S, (long long)s->H,
             (long long)s->Hkv, (long long)s->D);
}

static void print_gpu_row(const char *shape_str, const char *dtype, int causal, const char *impl, const shape *s,
                          double f, double b) {
    const double flops = attention_flops(s, causal);
    printf("%-22s %-5s %-6s %-8s %9.3f %9.3f %9.1f %9.1f %9.1f", shape_str, dtype, causal ? "causal" : "full", impl,
           f * 1e3, b * 1e3, flops / f * 1e-12, 2.5 * flops / b * 1e-12, 3.5 * flops / (f + b) * 1e-12);
}

/* Forward and backward of one case on the GPU: fills c->fwd_s and c->bwd_s and prints the row. */
static void run_gpu_case(bench_cuda *g, gpu_case *c, int repeats) {
    const shape *s = &c->s;
    const int64_t sq[4] = {s->B, s->S, s->H, s->D}, sk[4] = {s->B, s->S, s->Hkv, s->D}, sl[3] = {s->B, s->H, s->S};
    const int64_t nq = s->B * s->S * s->H * s->D, nk = s->B * s->S * s->Hkv * s->D;
    const size_t es = ax_dtype_size(c->dtype);
    uint64_t seed = 11;
    void *q = bench_cuda_random(g, c->dtype, nq, -1, 1, &seed);
    void *k = bench_cuda_random(g, c->dtype, nk, -1, 1, &seed);
    void *v = bench_cuda_random(g, c->dtype, nk, -1, 1, &seed);
    void *dout = bench_cuda_random(g, c->dtype, nq, -1, 1, &seed);
    void *out = NULL, *lse = NULL, *dq = NULL, *dk = NULL, *dv = NULL;
    char name[64];
    shape_text(s, name, sizeof name);
    c->fwd_s = c->bwd_s = -1.0;
    const int ok = q && k && v && dout && ax_device_alloc(g->ctx, (size_t)nq * es, &out) == AX_OK &&
                   ax_device_alloc(g->ctx, (size_t)(s->B * s->H * s->S) * sizeof(float), &lse) == AX_OK &&
                   ax_device_alloc(g->ctx, (size_t)nq * es, &dq) == AX_OK &&
                   ax_device_alloc(g->ctx, (size_t)nk * es, &dk) == AX_OK &&
                   ax_device_alloc(g->ctx, (size_t)nk * es, &dv) == AX_OK;
    if (!ok) {
        printf("%-22s %-5s setup failed: %s %s\n", name, ax_dtype_name(c->dtype), g->error, ax_last_error());
        goto done;
    }
    gpu_attn a = {g->ctx,
                  bench_cuda_tensor(g, q, c->dtype, 4, sq),
                  bench_cuda_tensor(g, k, c->dtype, 4, sk),
                  bench_cuda_tensor(g, v, c->dtype, 4, sk),
                  bench_cuda_tensor(g, out, c->dtype, 4, sq),
                  bench_cuda_tensor(g, lse, AX_F32, 3, sl),
                  bench_cuda_tensor(g, dout, c->dtype, 4, sq),
                  bench_cuda_tensor(g, dq, c->dtype, 4, sq),
                  bench_cuda_tensor(g, dk, c->dtype, 4, sk),
                  bench_cuda_tensor(g, dv, c->dtype, 4, sk),
                  ax_attention_options_default()};
    a.o.causal = c->causal;
    /* The forward's timing leaves out and lse in place for the backward. */
    const double f = bench_cuda_time(g, gpu_forward, &a, 0, repeats);
    const double b = f > 0 ? bench_cuda_time(g, gpu_backward, &a, 0, repeats) : -1.0;
    if (f <= 0 || b <= 0) {
        printf("%-22s %-5s %-6s axial  failed: %s\n", name, ax_dtype_name(c->dtype), c->causal ? "causal" : "full",
               g->error);
        goto done;
    }
    c->fwd_s = f;
    c->bwd_s = b;
    print_gpu_row(name, ax_dtype_name(c->dtype), c->causal, "axial", s, f, b);
    printf("\n");
done:
    bench_cuda_free(g, q), bench_cuda_free(g, k), bench_cuda_free(g, v), bench_cuda_free(g, dout);
    bench_cuda_free(g, out), bench_cuda_free(g, lse), bench_cuda_free(g, dq), bench_cuda_free(g, dk);
    bench_cuda_free(g, dv);
}

/* PyTorch's SDPA on the same cases (bench/attention_torch.py --device cuda in a child process): its
 * rows, each followed by Axial's speed-up on that case (torch time / Axial time). */
static void run_torch_gpu(const gpu_case *cases, int n, int repeats) {
    const char *python = getenv("AXIAL_TORCH_PYTHON");
    if (python == NULL || python[0] == '\0') python = "python3";
    char cmd[8192];
    int len = snprintf(cmd, sizeof cmd, "'%s' '%s/bench/attention_torch.py' --device cuda --rounds %d", python,
                       AXIAL_SOURCE_DIR, repeats);
    for (int i = 0; i < n && len > 0 && (size_t)len < sizeof cmd; i++) {
        const shape *s = &cases[i].s;
        len += snprintf(cmd + len, sizeof cmd - (size_t)len, " --case %lld,%lld,%lld,%lld,%lld,%s,%d", (long long)s->B,
                        (long long)s->S, (long long)s->H, (long long)s->Hkv, (long long)s->D,
                        ax_dtype_name(cases[i].dtype), cases[i].causal);
    }
    if (len <= 0 || (size_t)len + 8 >= sizeof cmd) return;
    snprintf(cmd + len, sizeof cmd - (size_t)len, " 2>&1");
    printf("\nbaseline: %s bench/attention_torch.py --device cuda (same cases, same timing); after each row,\n"
           "Axial's speed-up over it (torch ms / axial ms), forward and backward\n",
           python);
    fflush(stdout);
    FILE *pipe = popen(cmd, "r");
    if (pipe == NULL) {
        printf("PyTorch: cannot start %s, skipped\n", python);
        return;
    }
    char line[1024];
    while (fgets(line, sizeof line, pipe) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        char shp[64], dt[16], mask[16], impl[16];
        double f_ms = 0, b_ms = 0;
        const gpu_case *match = NULL;
        if (sscanf(line, "%63s %15s %15s %15s %lf %lf", shp, dt, mask, impl, &f_ms, &b_ms) == 6)
            for (int i = 0; i < n && match == NULL; i++) {
                char name[64];
                shape_text(&cases[i].s, name, sizeof name);
                if (strcmp(name, shp) == 0 && strcmp(ax_dtype_name(cases[i].dtype), dt) == 0 &&
                    strcmp(cases[i].causal ? "causal" : "full", mask) == 0 && cases[i].fwd_s > 0)
                    match = &cases[i];
            }
        if (match != NULL)
            printf("%s   axial %5.2fx %5.2fx\n", line, f_ms * 1e-3 / match->fwd_s, b_ms * 1e-3 / match->bwd_s);
        else
            printf("%s\n", line);
    }
    pclose(pipe);
}

static int bench_gpu(const shape *shapes, int n_shapes, int full, int torch, int repeats) {
    bench_cuda g;
    const int rc = bench_cuda_open(&g, "bench_attention --gpu");
    if (rc != 0) return rc;
    enum { MAX_CASES = 128 };
    gpu_case cases[MAX_CASES];
    int n = 0;
    if (n_shapes == 0) {
        static const gpu_case defaults[] = {
            {{1, 2048, 16, 16, 64}, AX_BF16, 1, 0, 0}, {{1, 2048, 16, 16, 64}, AX_BF16, 0, 0, 0},
            {{1, 2048, 16, 16, 64}, AX_F16, 1, 0, 0},  {{1, 2048, 16, 16, 64}, AX_F16, 0, 0, 0},
            {{1, 2048, 16, 16, 64}, AX_F32, 1, 0, 0},  {{1, 2048, 16, 16, 64}, AX_F32, 0, 0, 0},
            {{1, 4096, 32, 8, 128}, AX_BF16, 1, 0, 0}, {{1, 4096, 32, 8, 128}, AX_F16, 1, 0, 0},
            {{1, 8192, 32, 32, 128}, AX_BF16, 1, 0, 0},
        };
        for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++) cases[n++] = defaults[i];
    } else {
        static const ax_dtype dtypes[3] = {AX_BF16, AX_F16, AX_F32};
        for (int i = 0; i < n_shapes; i++)
            for (int causal = 1; causal >= (full ? 0 : 1); causal--)
                for (int d = 0; d < 3 && n < MAX_CASES; d++)
                    cases[n++] = (gpu_case){shapes[i], dtypes[d], causal, 0, 0};
    }
    bench_cuda_print_card(&g, "flash attention");
    bench_cuda_print_baselines(&g, repeats); /* same-run baselines that need no PyTorch */
    printf("CUDA events around samples of back-to-back calls (about 2 ms each), median of %d after 3 warm-ups;\n"
           "FLOPs: useful only (causal: half), backward 2.5x the forward. Reference points (dense, NVIDIA's data\n"
           "sheets): H100 SXM about 989 TFLOP/s bf16/fp16 tensor cores, 67 fp32; H200 the same.\n\n",
           repeats);
    printf("%-22s %-5s %-6s %-8s %9s %9s %9s %9s %9s\n", "shape (B,S,H,Hkv,D)", "dtype", "mask", "impl", "fwd ms",
           "bwd ms", "fwd TF/s", "bwd TF/s", "f+b TF/s");
    for (int i = 0; i < n; i++) run_gpu_case(&g, &cases[i], repeats);
    bench_cuda_close(&g);
    if (torch) run_torch_gpu(cases, n, repeats);
    return 0;
}

/* Which instructions the CPU path runs bf16 attention's products on (docs/attention.md). */
static const char *bf16_products(int64_t D) {
    static char text[64];
    const uint32_t f = ax_cpu_features();
    const int pairs = ax_cpu_path_active() == AX_CPU_PATH_AVX512 && (f & AX_CPU_HAS_AVX512BF16);
    if (pairs && strcmp(ax_cpu_amx_tiles(), "none") != 0 && D % 32 == 0) /* attention_tile.h */
        snprintf(text, sizeof text, "AMX tiles (%s)", ax_cpu_amx_tiles());
    else snprintf(text, sizeof text, "%s", pairs ? "AVX512-BF16 (vdpbf16ps)" : "fp32 FMA (bf16 widened)");
    return text;
}

int main(int argc, char **argv) {
    int threads = 0, repeats = 0, full = 0, torch = 1, n_shapes = 0, gpu = 0;
    shape shapes[16];
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--repeats") == 0 && i + 1 < argc) repeats = atoi(argv[++i]);
        else if (strcmp(argv[i], "--full") == 0) full = 1;
        else if (strcmp(argv[i], "--no-torch") == 0) torch = 0;
        else if (strcmp(argv[i], "--cpu-time") == 0) cpu_time_mode = 1;
        else if (strcmp(argv[i], "--gpu") == 0) gpu = 1;
        else if (strcmp(argv[i], "--shape") == 0 && i + 1 < argc && n_shapes < 16) {
            long long b, s, h, hk, d;
            if (sscanf(argv[++i], "%lld,%lld,%lld,%lld,%lld", &b, &s, &h, &hk, &d) != 5) return 2;
            shapes[n_shapes++] = (shape){b, s, h, hk, d};
        } else {
            fprintf(stderr,
                    "usage: %s [--threads T] [--repeats R] [--shape B,S,H,Hkv,D]... [--full] [--no-torch] [--cpu-time]"
                    " [--gpu]\n",
                    argv[0]);
            return 2;
        }
    }
    if (gpu) return bench_gpu(shapes, n_shapes, full, torch, repeats > 0 ? repeats : 10);
    if (n_shapes == 0) shapes[n_shapes++] = (shape){1, 2048, 16, 16, 64};
#ifdef _OPENMP
    if (threads <= 0) threads = omp_get_max_threads();
#endif
    if (threads <= 0) threads = 1;
    if (repeats < 1) repeats = 5;
    clock_threads = threads;
    printf("flash attention, CPU, %d threads, median of %d after a warm-up, f32 and bf16 runs taking turns; FLOPs:"
           " useful only (causal: half)%s\n",
           threads, repeats, cpu_time_mode ? "; times: process CPU time / threads" : "");
    for (int i = 0; i < n_shapes; i++) {
        const shape *s = &shapes[i];
        const double sgemm = sgemm_gflops(1536, threads, 5);
        printf("\nshape (B, S, H, Hkv, D) = (%lld, %lld, %lld, %lld, %lld); baseline OpenBLAS sgemm 1536^3: %.1f GFLOP/s\n",
               (long long)s->B, (long long)s->S, (long long)s->H, (long long)s->Hkv, (long long)s->D, sgemm);
        printf("%-22s %9s %9s %8s %8s %7s %7s %7s %9s %9s\n", "", "fwd ms", "bwd ms", "fwd GF/s", "bwd GF/s", "fwd pk",
               "bwd pk", "bwd/fwd", "fwd MiB", "bwd MiB");
        for (int causal = 1; causal >= (full ? 0 : 1); causal--) {
            timing t32, t16;
            double rf, rb;
            run_pair(s, causal, threads, repeats, &t32, &t16, &rf, &rb);
            print_row(causal ? "axial f32 causal" : "axial f32 full", s, causal, &t32, sgemm);
            print_row(causal ? "axial bf16 causal" : "axial bf16 full", s, causal, &t16, sgemm);
            if (t32.ok)
                printf("  bf16 products on %s: f32 time / bf16 time (median of the runs' pairs) fwd %.2fx, bwd %.2fx "
                       "(target with AMX-BF16: fwd >= 2x)\n",
                       bf16_products(s->D), rf, rb);
            bench_settle();
            if (torch) run_torch(s, causal, threads, repeats);
        }
    }
    return 0;
}
