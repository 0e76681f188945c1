/*
 * attention.c — benchmark of flash attention (attention.h) on the CPU: forward and backward time,
 * GFLOP/s and percent of OpenBLAS sgemm measured in the same run, backward / forward ratio, fp32
 * and bf16, working memory; then, when <source>/.venv-torch has PyTorch, PyTorch's attention on the
 * same shape and thread count (scaled_dot_product_attention where it exists, else matmul + softmax
 * + matmul, which materialises the logits), forward and forward + backward.
 *
 *   bench_attention [--threads T] [--repeats R] [--shape B,S,H,Hkv,D]... [--full] [--no-torch] [--cpu-time]
 *
 * --cpu-time times everything (the sgemm baseline too) by the process's CPU time divided by the
 * thread count instead of the wall clock: on a machine shared with other work, where wall-clock
 * medians mostly measure the scheduler, it still compares work per core.
 *
 * FLOPs counted are the useful ones: 4 * B * H * Sq * Sk * D for the forward (two products), halved
 * under the causal mask (the unmasked half), and 2.5 times that for the backward (five products).
 * Every figure is the median of R timed calls after one warm-up call.
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

static timing run_shape(const shape *s, ax_dtype dtype, int causal, int threads, int repeats) {
    timing tm = {0, 0, 0, 0, 0};
    const int64_t nq = s->B * s->S * s->H * s->D, nk = s->B * s->S * s->Hkv * s->D;
    const size_t es = dtype == AX_F32 ? 4 : 2;
    float *f = bench_alloc_bytes((size_t)(nq > nk ? nq : nk) * sizeof(float));
    const size_t qbytes = (size_t)nq * es, kbytes = (size_t)nk * es;
    void *q = bench_alloc_bytes(qbytes), *k = bench_alloc_bytes(kbytes), *v = bench_alloc_bytes(kbytes);
    void *out = bench_alloc_bytes(qbytes), *dout = bench_alloc_bytes(qbytes), *dq = bench_alloc_bytes(qbytes);
    void *dk = bench_alloc_bytes(kbytes), *dv = bench_alloc_bytes(kbytes);
    float *lse = bench_alloc_bytes((size_t)(s->B * s->H * s->S) * sizeof(float));
    double *tf = calloc((size_t)repeats, sizeof(double)), *tb = calloc((size_t)repeats, sizeof(double));
    ax_context *ctx = NULL;
    if (!f || !q || !k || !v || !out || !dout || !dq || !dk || !dv || !lse || !tf || !tb) {
        printf("out of memory\n");
        goto done;
    }
    uint64_t st = 11;
    void *ins[4] = {q, k, v, dout};
    const int64_t ns[4] = {nq, nk, nk, nq};
    for (int i = 0; i < 4; i++) {
        bench_fill_uniform(f, ns[i], -1, 1, &st);
        if (dtype == AX_F32) memcpy(ins[i], f, (size_t)ns[i] * sizeof(float));
        else to_bf16(f, ins[i], ns[i]);
    }
    const int64_t sq[4] = {s->B, s->S, s->H, s->D}, sk[4] = {s->B, s->S, s->Hkv, s->D}, sl[3] = {s->B, s->H, s->S};
    ax_tensor tq, tk, tv, tout, tdout, tdq, tdk, tdv, tlse;
    ax_tensor_contiguous(&tq, q, dtype, 4, sq);
    ax_tensor_contiguous(&tk, k, dtype, 4, sk);
    ax_tensor_contiguous(&tv, v, dtype, 4, sk);
    ax_tensor_contiguous(&tout, out, dtype, 4, sq);
    ax_tensor_contiguous(&tdout, dout, dtype, 4, sq);
    ax_tensor_contiguous(&tdq, dq, dtype, 4, sq);
    ax_tensor_contiguous(&tdk, dk, dtype, 4, sk);
    ax_tensor_contiguous(&tdv, dv, dtype, 4, sk);
    ax_tensor_contiguous(&tlse, lse, AX_F32, 3, sl);
    ax_context_config cfg = AX_CONTEXT_CONFIG_INIT;
    cfg.num_threads = threads;
    if (ax_context_create(&ctx, &cfg) != AX_OK) {
        printf("context: %s\n", ax_last_error());
        goto done;
    }
    ax_attention_options o = ax_attention_options_default();
    o.causal = causal;
    for (int r = -1; r < repeats; r++) {
        ax_context_workspace_peak_reset(ctx);
        const double t0 = now();
        ax_status s1 = ax_attention_forward(ctx, &tq, &tk, &tv, NULL, &o, &tout, &tlse);
        const double t1 = now();
        tm.fwd_mem = ax_context_workspace_peak(ctx);
        ax_context_workspace_peak_reset(ctx);
        if (s1 == AX_OK)
            s1 = ax_attention_backward(ctx, &tq, &tk, &tv, NULL, &tout, &tlse, &tdout, &o, &tdq, &tdk, &tdv, NULL);
        const double t2 = now();
        tm.bwd_mem = ax_context_workspace_peak(ctx);
        if (s1 != AX_OK) {
            printf("attention: %s\n", ax_last_error());
            goto done;
        }
        if (r >= 0) tf[r] = t1 - t0, tb[r] = t2 - t1;
    }
    tm.fwd_ms = bench_median(tf, repeats) * 1e3;
    tm.bwd_ms = bench_median(tb, repeats) * 1e3;
    tm.ok = 1;
done:
    ax_context_destroy(ctx);
    free(f), free(q), free(k), free(v), free(out), free(dout), free(dq), free(dk), free(dv), free(lse), free(tf),
        free(tb);
    return tm;
}

static void print_row(const char *name, const shape *s, int causal, const timing *tm, double sgemm) {
    if (!tm->ok) return;
    const double flops = 4.0 * (double)s->B * (double)s->H * (double)s->S * (double)s->S * (double)s->D *
                         (causal ? 0.5 : 1.0);
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
             "    # bf16 matmul is slow in old CPU builds of PyTorch: fewer rounds there\n"
             "    for r in range((R if dt == torch.float32 else min(R, 2)) + 1):\n"
             "        qq, kk, vv = (x.clone().requires_grad_() for x in (q, k, v))\n"
             "        t0 = clock(); o = attn(qq, kk, vv); t1 = clock()\n"
             "        o.backward(torch.ones_like(o)); t2 = clock()\n"
             "        if r: tf.append(t1 - t0); tb.append(t2 - t1)\n"
             "    f, b = statistics.median(tf) * 1e3, statistics.median(tb) * 1e3\n"
             "    print('%%-22s %%9.2f %%9.2f   (%%s, torch %%s)' %% ('torch ' + str(dt).split('.')[1], f, b,\n"
             "          'SDPA' if sdpa else 'matmul+softmax, logits materialised', torch.__version__))\n"
             "PYEOF",
             python, threads, (long long)s->B, (long long)s->S, (long long)s->H, (long long)s->Hkv, (long long)s->D,
             causal, repeats, cpu_time_mode, threads);
    FILE *pipe = popen(cmd, "r");
    if (pipe == NULL) return;
    char line[512];
    while (fgets(line, sizeof line, pipe) != NULL) fputs(line, stdout);
    pclose(pipe);
}

int main(int argc, char **argv) {
    int threads = 0, repeats = 5, full = 0, torch = 1, n_shapes = 0;
    shape shapes[16];
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--repeats") == 0 && i + 1 < argc) repeats = atoi(argv[++i]);
        else if (strcmp(argv[i], "--full") == 0) full = 1;
        else if (strcmp(argv[i], "--no-torch") == 0) torch = 0;
        else if (strcmp(argv[i], "--cpu-time") == 0) cpu_time_mode = 1;
        else if (strcmp(argv[i], "--shape") == 0 && i + 1 < argc && n_shapes < 16) {
            long long b, s, h, hk, d;
            if (sscanf(argv[++i], "%lld,%lld,%lld,%lld,%lld", &b, &s, &h, &hk, &d) != 5) return 2;
            shapes[n_shapes++] = (shape){b, s, h, hk, d};
        } else {
            fprintf(stderr, "usage: %s [--threads T] [--repeats R] [--shape B,S,H,Hkv,D]... [--full] [--no-torch] [--cpu-time]\n",
                    argv[0]);
            return 2;
        }
    }
    if (n_shapes == 0) shapes[n_shapes++] = (shape){1, 2048, 16, 16, 64};
#ifdef _OPENMP
    if (threads <= 0) threads = omp_get_max_threads();
#endif
    if (threads <= 0) threads = 1;
    if (repeats < 1) repeats = 1;
    clock_threads = threads;
    printf("flash attention, CPU, %d threads, median of %d after a warm-up; FLOPs: useful only (causal: half)%s\n",
           threads, repeats, cpu_time_mode ? "; times: process CPU time / threads" : "");
    for (int i = 0; i < n_shapes; i++) {
        const shape *s = &shapes[i];
        const double sgemm = sgemm_gflops(1536, threads, 5);
        printf("\nshape (B, S, H, Hkv, D) = (%lld, %lld, %lld, %lld, %lld); baseline OpenBLAS sgemm 1536^3: %.1f GFLOP/s\n",
               (long long)s->B, (long long)s->S, (long long)s->H, (long long)s->Hkv, (long long)s->D, sgemm);
        printf("%-22s %9s %9s %8s %8s %7s %7s %7s %9s %9s\n", "", "fwd ms", "bwd ms", "fwd GF/s", "bwd GF/s", "fwd pk",
               "bwd pk", "bwd/fwd", "fwd MiB", "bwd MiB");
        for (int causal = 1; causal >= (full ? 0 : 1); causal--) {
            timing t32 = run_shape(s, AX_F32, causal, threads, repeats);
            print_row(causal ? "axial f32 causal" : "axial f32 full", s, causal, &t32, sgemm);
            bench_settle();
            timing t16 = run_shape(s, AX_BF16, causal, threads, repeats);
            print_row(causal ? "axial bf16 causal" : "axial bf16 full", s, causal, &t16, sgemm);
            bench_settle();
            if (torch) run_torch(s, causal, threads, repeats);
        }
    }
    return 0;
}
