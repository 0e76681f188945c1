/*
 * nn.c — CPU benchmark of the transformer building blocks of nn.h on a Llama-7B-like layer shape
 * (T tokens of hidden size 4096, 32 heads of 128, FFN 11008, a 32000 x 4096 Q8_0 embedding table):
 * RMSNorm with the fused residual, RoPE, SwiGLU, softmax, embedding lookup. Each op runs on every CPU
 * path the machine has (portable, avx2, avx512) with the context's threads. These ops are
 * memory-bound, so the baseline, measured in the same run, is memcpy of the same number of bytes
 * the op must read and write (fp32), split over the ops' threads, giving each op's share of copy
 * bandwidth. Warm-up, then the
 * median of the repeats; nothing is asserted.
 *
 *   bench_nn [tokens] [threads]     (defaults: 512 tokens, every core)
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axial/nn.h"
#include "bench_util.h"

enum { WARMUP = 3, REPEATS = 15 };

typedef struct bench_bufs {
    ax_tensor x, res, w, out, res_out, q, pos, gate, up, act, logits, probs, table, ids, emb;
} bench_bufs;

static double time_op(ax_status (*fn)(ax_context *, bench_bufs *), ax_context *ctx, bench_bufs *b) {
    double t[REPEATS];
    for (int i = 0; i < WARMUP; i++)
        if (fn(ctx, b) != AX_OK) {
            fprintf(stderr, "op failed: %s\n", ax_last_error());
            exit(1);
        }
    for (int i = 0; i < REPEATS; i++) {
        const double t0 = bench_now();
        fn(ctx, b);
        t[i] = bench_now() - t0;
    }
    return bench_median(t, REPEATS);
}

static ax_status run_rms(ax_context *c, bench_bufs *b) {
    return ax_rms_norm_residual(c, &b->x, &b->res, &b->w, 1e-5f, &b->out, &b->res_out);
}
static ax_status run_rope(ax_context *c, bench_bufs *b) {
    ax_rope_options o = {0};
    o.layout = AX_ROPE_ADJACENT;
    return ax_rope(c, &b->q, &b->pos, &o, &b->q);
}
static ax_status run_swiglu(ax_context *c, bench_bufs *b) { return ax_glu(c, AX_ACT_SILU, &b->gate, &b->up, &b->act); }
static ax_status run_softmax(ax_context *c, bench_bufs *b) { return ax_softmax(c, &b->logits, 0.088f, &b->probs); }
static ax_status run_embedding(ax_context *c, bench_bufs *b) { return ax_embedding(c, &b->ids, &b->table, &b->emb); }

static void *alloc_or_die(size_t bytes) {
    void *p = bench_alloc_bytes(bytes);
    if (p == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    memset(p, 0, bytes);
    return p;
}

static float *new_f32(ax_tensor *t, int32_t ndim, const int64_t *shape, uint64_t *rng) {
    int64_t n = 1;
    for (int32_t d = 0; d < ndim; d++) n *= shape[d];
    float *p = alloc_or_die((size_t)n * sizeof(float));
    bench_fill_uniform(p, n, -1.0f, 1.0f, rng);
    ax_tensor_contiguous(t, p, AX_F32, ndim, shape);
    return p;
}

/* Median seconds of a copy of `bytes` (half read, half written: bytes / 2 copied) on the ops' threads
 * (one memcpy per thread; a one-thread copy had been the yardstick for ops on several). */
static double time_copy(size_t bytes, char *src, char *dst, int threads) {
    double t[REPEATS];
    for (int i = 0; i < WARMUP; i++) bench_parallel_copy(dst, src, bytes / 2, threads);
    for (int i = 0; i < REPEATS; i++) {
        const double t0 = bench_now();
        bench_parallel_copy(dst, src, bytes / 2, threads);
        t[i] = bench_now() - t0;
    }
    return bench_median(t, REPEATS);
}

int main(int argc, char **argv) {
    const int64_t T = argc > 1 ? atoll(argv[1]) : 512, D = 4096, H = 32, HD = 128, F = 11008, V = 32000, N = 512;
    uint64_t rng = 42;
    bench_bufs b;
    const int64_t td[2] = {T, D}, dd[1] = {D}, q3[3] = {T, H, HD}, tf[2] = {T, F}, sm[2] = {T * 8, N}, vt[2] = {V, D},
                  t1[1] = {T};
    new_f32(&b.x, 2, td, &rng);
    new_f32(&b.res, 2, td, &rng);
    new_f32(&b.w, 1, dd, &rng);
    new_f32(&b.out, 2, td, &rng);
    b.res_out = b.res; /* residual updated in place, as a model does */
    new_f32(&b.q, 3, q3, &rng);
    new_f32(&b.gate, 2, tf, &rng);
    new_f32(&b.up, 2, tf, &rng);
    new_f32(&b.act, 2, tf, &rng);
    new_f32(&b.logits, 2, sm, &rng);
    new_f32(&b.probs, 2, sm, &rng);
    new_f32(&b.emb, 2, td, &rng);
    int32_t *pos = alloc_or_die((size_t)T * sizeof(int32_t)), *ids = alloc_or_die((size_t)T * sizeof(int32_t));
    for (int64_t t = 0; t < T; t++) {
        pos[t] = (int32_t)(1000 + t);
        ids[t] = (int32_t)((t * 7919) % V);
    }
    ax_tensor_contiguous(&b.pos, pos, AX_I32, 1, t1);
    ax_tensor_contiguous(&b.ids, ids, AX_I32, 1, t1);
    /* A Q8_0 table quantized from random values with the library's converter. */
    const int64_t table_bytes = ax_dtype_bytes(AX_Q8_0, V * D);
    void *table = alloc_or_die((size_t)table_bytes);
    {
        float *row = alloc_or_die((size_t)D * sizeof(float));
        for (int64_t v = 0; v < V; v++) {
            bench_fill_uniform(row, D, -1.0f, 1.0f, &rng);
            ax_convert(row, AX_F32, (char *)table + v * ax_dtype_bytes(AX_Q8_0, D), AX_Q8_0, D);
        }
        free(row);
    }
    ax_tensor_contiguous(&b.table, table, AX_Q8_0, 2, vt);

    struct {
        const char *name;
        ax_status (*fn)(ax_context *, bench_bufs *);
        double bytes; /* read + written, as fp32 (the table: its Q8_0 rows) */
    } ops[] = {
        {"rms_norm_residual (T, 4096)", run_rms, 4.0 * 4 * (double)(T * D)},
        {"rope in place (T, 32, 128)", run_rope, 2.0 * 4 * (double)(T * H * HD)},
        {"swiglu (T, 11008)", run_swiglu, 3.0 * 4 * (double)(T * F)},
        {"softmax (8T, 512)", run_softmax, 2.0 * 4 * (double)(T * 8 * N)},
        {"embedding q8_0 -> f32 (T, 4096)", run_embedding, 4.0 * (double)(T * D) + 34.0 / 32 * (double)(T * D)},
    };
    const int n_ops = (int)(sizeof ops / sizeof ops[0]);
    size_t max_bytes = 0;
    for (int i = 0; i < n_ops; i++) max_bytes = (size_t)ops[i].bytes > max_bytes ? (size_t)ops[i].bytes : max_bytes;
    char *src = alloc_or_die(max_bytes), *dst = alloc_or_die(max_bytes);

    ax_context *ctx;
    ax_context_config cfg = AX_CONTEXT_CONFIG_INIT;
    cfg.num_threads = argc > 2 ? atoi(argv[2]) : 0;
    if (ax_context_create(&ctx, &cfg) != AX_OK) {
        fprintf(stderr, "context: %s\n", ax_last_error());
        return 1;
    }
    printf("nn ops on the CPU, T = %lld tokens, %d threads, median of %d after %d warm-up runs\n", (long long)T,
           (int)ax_context_num_threads(ctx), REPEATS, WARMUP);
    printf("baseline: memcpy of half the op's bytes (so the same bytes are read and written) on as many threads,"
           " same run\n\n");
    printf("%-34s %-9s %10s %10s %12s %9s\n", "op", "path", "ms", "GB/s", "memcpy GB/s", "of copy");
    for (int i = 0; i < n_ops; i++) {
        const double copy = time_copy((size_t)ops[i].bytes, src, dst, (int)ax_context_num_threads(ctx));
        for (int path = AX_CPU_PATH_PORTABLE; path <= AX_CPU_PATH_AVX512; path++) {
            if (ax_cpu_path_set((ax_cpu_path)path) != AX_OK) continue;
            const double s = time_op(ops[i].fn, ctx, &b);
            printf("%-34s %-9s %10.3f %10.2f %12.2f %8.0f%%\n", ops[i].name, ax_cpu_path_name((ax_cpu_path)path),
                   s * 1e3, ops[i].bytes / s * 1e-9, ops[i].bytes / copy * 1e-9, 100.0 * copy / s);
        }
    }
    ax_clear_error();
    ax_context_destroy(ctx);
    return 0;
}
