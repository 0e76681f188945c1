/*
 * sampling.c — benchmark of ax_sample (sampling.h) on the CPU: microseconds per row for a batch of
 * N rows of V f32 logits under the usual settings (greedy, plain sampling, top-k 40 + top-p 0.9,
 * top-p 0.95 alone, min-p 0.05, and the last with penalties over a 256-token history), next to two
 * baselines measured in the same run: one pass that reads the logits (the floor: the op reads each
 * row at least once) and a textbook sampler (softmax, qsort of the whole row, prefix sum to top-p,
 * draw) on the same rows.
 *
 *   bench_sampling [--rows N] [--vocab V] [--threads T] [--repeats R]
 *
 * Every figure is the median of R timed calls after one warm-up call, wall clock, with the process's
 * CPU time next to it (steadier on a shared machine). Never asserts timings.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "axial/sampling.h"
#include "bench_util.h"

typedef struct setting {
    const char *name;
    ax_sampling_row row;
    int history;
} setting;

/* Seconds of CPU time the process has used (all threads): on a shared machine it moves less than
 * the wall clock when other work steals the cores. */
static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Median wall and CPU milliseconds of one call, after a warm-up call. */
static void median_ms(ax_context *ctx, const ax_tensor *lg, const ax_tensor *st, const ax_tensor *ids,
                      const ax_tensor *offs, ax_tensor *tok, int repeats, double *wall, double *cpu) {
    double *t = calloc((size_t)repeats, sizeof(double)), *c = calloc((size_t)repeats, sizeof(double));
    *wall = *cpu = NAN;
    if (t == NULL || c == NULL || ax_sample(ctx, lg, st, ids, offs, tok, NULL) != AX_OK) {
        printf("ax_sample failed: %s\n", ax_last_error());
        free(t);
        free(c);
        return;
    }
    for (int r = 0; r < repeats; r++) {
        const double t0 = bench_now(), c0 = cpu_now();
        ax_sample(ctx, lg, st, ids, offs, tok, NULL);
        t[r] = (bench_now() - t0) * 1e3;
        c[r] = (cpu_now() - c0) * 1e3;
    }
    *wall = bench_median(t, repeats);
    *cpu = bench_median(c, repeats);
    free(t);
    free(c);
}

static const float *g_x;
static int by_value_desc(const void *a, const void *b) {
    const int32_t i = *(const int32_t *)a, j = *(const int32_t *)b;
    if (g_x[i] != g_x[j]) return g_x[i] > g_x[j] ? -1 : 1;
    return i < j ? -1 : 1;
}

/* The textbook top-p sampler on one row: softmax, full sort, prefix sum, draw. */
static int32_t naive_top_p(const float *logits, int64_t V, float top_p, double u, float *p, int32_t *idx) {
    float m = -INFINITY;
    for (int64_t t = 0; t < V; t++) m = logits[t] > m ? logits[t] : m;
    double S = 0.0;
    for (int64_t t = 0; t < V; t++) {
        p[t] = expf(logits[t] - m);
        S += p[t];
        idx[t] = (int32_t)t;
    }
    g_x = p;
    qsort(idx, (size_t)V, sizeof(int32_t), by_value_desc);
    double run = 0.0;
    int64_t n = 0;
    while (n < V && run < top_p * S) run += p[idx[n++]];
    double c = 0.0;
    for (int64_t i = 0; i < n; i++) {
        c += p[idx[i]];
        if (c > u * run) return idx[i];
    }
    return idx[n - 1];
}

int main(int argc, char **argv) {
    int64_t N = 64, V = 128256;
    int threads = 0, repeats = 7;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--rows") == 0) N = atoll(argv[i + 1]);
        else if (strcmp(argv[i], "--vocab") == 0) V = atoll(argv[i + 1]);
        else if (strcmp(argv[i], "--threads") == 0) threads = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--repeats") == 0) repeats = atoi(argv[i + 1]);
        else {
            fprintf(stderr, "usage: %s [--rows N] [--vocab V] [--threads T] [--repeats R]\n", argv[0]);
            return 2;
        }
    }
    if (N < 1 || V < 1 || repeats < 1) return 2;
    const int64_t H = 256;
    float *logits = malloc(sizeof(float) * (size_t)(N * V));
    ax_sampling_row *rows = malloc(sizeof(ax_sampling_row) * (size_t)N);
    int32_t *tokens = malloc(sizeof(int32_t) * (size_t)N), *ids = malloc(sizeof(int32_t) * (size_t)(N * H));
    int64_t *offs = malloc(sizeof(int64_t) * (size_t)(N + 1));
    float *p = malloc(sizeof(float) * (size_t)V);
    int32_t *idx = malloc(sizeof(int32_t) * (size_t)V);
    if (!logits || !rows || !tokens || !ids || !offs || !p || !idx) {
        printf("out of memory\n");
        return 1;
    }
    uint64_t state = 5;
    /* Logits like a language model's: most near -5, a few tens of plausible tokens. */
    bench_fill_uniform(logits, N * V, -8.0f, -2.0f, &state);
    for (int64_t r = 0; r < N; r++)
        for (int k = 0; k < 64; k++) logits[r * V + (int64_t)((k * 2654435761u + (uint64_t)r) % (uint64_t)V)] += (float)(10 - k / 8);
    for (int64_t j = 0; j < N * H; j++) ids[j] = (int32_t)((j * 40503u) % (uint64_t)V);
    for (int64_t r = 0; r <= N; r++) offs[r] = r * H;

    ax_context_config cfg = AX_CONTEXT_CONFIG_INIT;
    cfg.num_threads = threads;
    ax_context *ctx = NULL;
    if (ax_context_create(&ctx, &cfg) != AX_OK) {
        printf("context: %s\n", ax_last_error());
        return 1;
    }
    ax_tensor tl, ts, tt, ti, to;
    const int64_t ls[2] = {N, V}, ss[2] = {N, AX_SAMPLING_ROW_BYTES}, hs = N * H, os = N + 1;
    ax_tensor_contiguous(&tl, logits, AX_F32, 2, ls);
    ax_tensor_contiguous(&ts, rows, AX_U8, 2, ss);
    ax_tensor_contiguous(&tt, tokens, AX_I32, 1, &N);
    ax_tensor_contiguous(&ti, ids, AX_I32, 1, &hs);
    ax_tensor_contiguous(&to, offs, AX_I64, 1, &os);

    const ax_sampling_row base = AX_SAMPLING_ROW_INIT;
    setting settings[6];
    for (int i = 0; i < 6; i++) settings[i].row = base;
    settings[0].name = "greedy";
    settings[0].row.temperature = 0.0f;
    settings[0].history = 0;
    settings[1].name = "temperature 1 (plain)";
    settings[1].history = 0;
    settings[2].name = "top-k 40, top-p 0.9, T 0.7";
    settings[2].row.top_k = 40;
    settings[2].row.top_p = 0.9f;
    settings[2].row.temperature = 0.7f;
    settings[2].history = 0;
    settings[3].name = "top-p 0.95";
    settings[3].row.top_p = 0.95f;
    settings[3].history = 0;
    settings[4].name = "min-p 0.05";
    settings[4].row.min_p = 0.05f;
    settings[4].history = 0;
    settings[5].name = "top-p 0.95 + penalties (H 256)";
    settings[5].row.top_p = 0.95f;
    settings[5].row.repetition_penalty = 1.1f;
    settings[5].row.frequency_penalty = 0.2f;
    settings[5].row.presence_penalty = 0.1f;
    settings[5].history = 1;

    bench_settle();
    printf("ax_sample, CPU, %d threads: N = %lld rows, V = %lld, f32 logits; median of %d\n",
           ax_context_num_threads(ctx), (long long)N, (long long)V, repeats);
    /* Floor: one read of every logit (the same threads' worth of rows summed serially, as a lower
     * bound per row on one core). */
    double *t = calloc((size_t)repeats, sizeof(double));
    volatile float sink = 0.0f;
    for (int r = -1; r < repeats; r++) { /* r = -1: the warm-up pass, not timed */
        const double t0 = bench_now();
        float acc[8] = {0};
        for (int64_t i = 0; i < N * V; i++) acc[i & 7] += logits[i];
        sink += acc[0] + acc[1] + acc[2] + acc[3] + acc[4] + acc[5] + acc[6] + acc[7];
        if (r >= 0) t[r] = (bench_now() - t0) * 1e3;
    }
    const double floor_us = bench_median(t, repeats) * 1e3 / (double)N;
    printf("  %-34s %10.1f us/row  (one core, no threads)\n", "baseline: read the logits once", floor_us);
    /* Textbook sampler, one core, on the first min(N, 8) rows. */
    const int64_t nb = N < 8 ? N : 8;
    for (int r = -1; r < repeats; r++) { /* r = -1: the warm-up pass */
        const double t0 = bench_now();
        for (int64_t row = 0; row < nb; row++)
            sink += (float)naive_top_p(logits + row * V, V, 0.95f, 0.5, p, idx);
        if (r >= 0) t[r] = (bench_now() - t0) * 1e3;
    }
    const double naive_us = bench_median(t, repeats) * 1e3 / (double)nb;
    printf("  %-34s %10.1f us/row  (one core: softmax + qsort + prefix, top-p 0.95)\n", "baseline: sort-based top-p",
           naive_us);
    for (int s = 0; s < 6; s++) {
        for (int64_t r = 0; r < N; r++) {
            rows[r] = settings[s].row;
            rows[r].seed = (uint64_t)r;
            rows[r].counter = 17;
        }
        double ms, cpu_ms;
        median_ms(ctx, &tl, &ts, settings[s].history ? &ti : NULL, settings[s].history ? &to : NULL, &tt, repeats, &ms,
                  &cpu_ms);
        /* The CPU time (all threads' together) is what compares with the one-core baselines. */
        printf("  %-34s %10.1f us/row  (%.2f ms per batch; CPU time %.1f us/row)\n", settings[s].name,
               ms * 1e3 / (double)N, ms, cpu_ms * 1e3 / (double)N);
    }
    (void)sink;
    free(t);
    ax_context_destroy(ctx);
    free(logits);
    free(rows);
    free(tokens);
    free(ids);
    free(offs);
    free(p);
    free(idx);
    return 0;
}
