/*
 * moe_ffn.c — benchmark of the MoE feed-forward layer (moe.h) on the CPU, fp32: ax_moe_ffn_forward
 * and ax_moe_ffn_backward (router, experts' and dense gradients and dx), and the routing ops alone
 * (ax_moe_route, ax_moe_dispatch, ax_moe_combine) to show their share; then, when
 * <source>/.venv-torch has PyTorch, the same layer written plainly in PyTorch (bench/moe_ffn_torch.py:
 * softmax top-k, a loop over experts with index_select / index_add_, autograd backward) on the same
 * shape and thread count, in the same run. Always, as a baseline: the time the layer's matrix products
 * would take at the sgemm rate measured in the same run.
 *
 * Shape (the issue's): T = 512 tokens, D = 576 (SmolLM2-135M's width), F = 1536 / 8 = 192 per
 * expert, E = 8 experts, k = 2, top-2 softmax gating renormalised, no capacity, SwiGLU experts.
 * Every figure is the median of R timed calls after two warm-up calls. Never asserts timings.
 *
 *   bench_moe_ffn [--threads T] [--repeats R] [--tokens T] [--no-torch]
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "axial/moe.h"
#include "bench_util.h"

enum { D = 576, F = 192, E = 8, K = 2 };

typedef struct layer {
    int64_t T;
    float *x, *dy, *y, *dx, *router, *gate, *up, *down, *g_router, *g_gate, *g_up, *g_down;
    float *logits, *weights, *x_sorted, *y_tok;
    int32_t *ids;
    int64_t *offsets, *rows;
    ax_tensor tx, tdy, ty, tdx, trouter, tgate, tup, tdown, tgr, tgg, tgu, tgd, tlogits, tw, tids, txs, toff, trows,
        tytok;
} layer;

static float *alloc_floats(int64_t n) {
    float *p = bench_alloc_bytes((size_t)n * sizeof(float));
    if (p == NULL) {
        fprintf(stderr, "bench_moe_ffn: out of memory\n");
        exit(1);
    }
    return p;
}

static void layer_init(layer *L, int64_t T) {
    uint64_t seed = 0x2545f4914f6cdd1dull;
    const int64_t R = T * K;
    L->T = T;
    L->x = alloc_floats(T * D);
    L->dy = alloc_floats(T * D);
    L->y = alloc_floats(T * D);
    L->dx = alloc_floats(T * D);
    L->y_tok = alloc_floats(T * D);
    L->router = alloc_floats(E * D);
    L->g_router = alloc_floats(E * D);
    L->gate = alloc_floats(E * F * D);
    L->up = alloc_floats(E * F * D);
    L->down = alloc_floats(E * D * F);
    L->g_gate = alloc_floats(E * F * D);
    L->g_up = alloc_floats(E * F * D);
    L->g_down = alloc_floats(E * D * F);
    L->logits = alloc_floats(T * E);
    L->weights = alloc_floats(T * K);
    L->x_sorted = alloc_floats(R * D);
    L->ids = malloc((size_t)(T * K) * sizeof(int32_t));
    L->offsets = malloc((size_t)(E + 1) * sizeof(int64_t));
    L->rows = malloc((size_t)(T * K) * sizeof(int64_t));
    if (L->ids == NULL || L->offsets == NULL || L->rows == NULL) exit(1);
    bench_fill_uniform(L->x, T * D, -1.0f, 1.0f, &seed);
    bench_fill_uniform(L->dy, T * D, -1.0f, 1.0f, &seed);
    bench_fill_uniform(L->router, E * D, -0.05f, 0.05f, &seed);
    bench_fill_uniform(L->gate, E * F * D, -0.04f, 0.04f, &seed);
    bench_fill_uniform(L->up, E * F * D, -0.04f, 0.04f, &seed);
    bench_fill_uniform(L->down, E * D * F, -0.07f, 0.07f, &seed);
    const int64_t td[2] = {T, D}, ed[2] = {E, D}, efd[3] = {E, F, D}, edf[3] = {E, D, F}, te[2] = {T, E},
                  tk[2] = {T, K}, rd[2] = {R, D}, e1 = E + 1;
    ax_tensor_contiguous(&L->tx, L->x, AX_F32, 2, td);
    ax_tensor_contiguous(&L->tdy, L->dy, AX_F32, 2, td);
    ax_tensor_contiguous(&L->ty, L->y, AX_F32, 2, td);
    ax_tensor_contiguous(&L->tdx, L->dx, AX_F32, 2, td);
    ax_tensor_contiguous(&L->tytok, L->y_tok, AX_F32, 2, td);
    ax_tensor_contiguous(&L->trouter, L->router, AX_F32, 2, ed);
    ax_tensor_contiguous(&L->tgr, L->g_router, AX_F32, 2, ed);
    ax_tensor_contiguous(&L->tgate, L->gate, AX_F32, 3, efd);
    ax_tensor_contiguous(&L->tup, L->up, AX_F32, 3, efd);
    ax_tensor_contiguous(&L->tdown, L->down, AX_F32, 3, edf);
    ax_tensor_contiguous(&L->tgg, L->g_gate, AX_F32, 3, efd);
    ax_tensor_contiguous(&L->tgu, L->g_up, AX_F32, 3, efd);
    ax_tensor_contiguous(&L->tgd, L->g_down, AX_F32, 3, edf);
    ax_tensor_contiguous(&L->tlogits, L->logits, AX_F32, 2, te);
    ax_tensor_contiguous(&L->tw, L->weights, AX_F32, 2, tk);
    ax_tensor_contiguous(&L->tids, L->ids, AX_I32, 2, tk);
    ax_tensor_contiguous(&L->txs, L->x_sorted, AX_F32, 2, rd);
    ax_tensor_contiguous(&L->toff, L->offsets, AX_I64, 1, &e1);
    ax_tensor_contiguous(&L->trows, L->rows, AX_I64, 2, tk);
    bench_fill_uniform(L->logits, T * E, -2.0f, 2.0f, &seed);
}

typedef enum { STEP_FORWARD, STEP_BACKWARD, STEP_ROUTE, STEP_DISPATCH, STEP_COMBINE } step;

static ax_status run_step(ax_context *ctx, layer *L, step s) {
    ax_moe_ffn_config cfg = AX_MOE_FFN_CONFIG_INIT;
    cfg.aux_coef = 0.01f;
    const ax_moe_ffn_weights w = {&L->trouter, &L->tgate, &L->tup, &L->tdown, NULL, NULL, NULL};
    const ax_moe_ffn_grads g = {&L->tgr, &L->tgg, &L->tgu, &L->tgd, NULL, NULL, NULL};
    switch (s) {
    case STEP_FORWARD: return ax_moe_ffn_forward(ctx, &cfg, &L->tx, &w, &L->ty, NULL);
    case STEP_BACKWARD: return ax_moe_ffn_backward(ctx, &cfg, &L->tx, &w, &L->tdy, &L->tdx, &g);
    case STEP_ROUTE: return ax_moe_route(ctx, &cfg.route, &L->tlogits, &L->tids, &L->tw, NULL, NULL);
    case STEP_DISPATCH: return ax_moe_dispatch(ctx, &L->tx, &L->tids, E, 1, &L->txs, &L->toff, NULL, &L->trows);
    case STEP_COMBINE: return ax_moe_combine(ctx, &L->txs, &L->trows, &L->tw, &L->tytok);
    }
    return AX_ERR_INVALID_ARGUMENT;
}

/* Median ms of `repeats` calls after two warm-up calls; -1 on an error (printed). */
static double time_step(ax_context *ctx, layer *L, step s, int repeats) {
    double samples[64];
    if (repeats > 64) repeats = 64;
    for (int r = -2; r < repeats; r++) {
        const double t0 = bench_now();
        const ax_status st = run_step(ctx, L, s);
        const double t1 = bench_now();
        if (st != AX_OK) {
            printf("error: %s\n", ax_last_error());
            return -1.0;
        }
        if (r >= 0) samples[r] = (t1 - t0) * 1e3;
    }
    return bench_median(samples, repeats);
}

static void run_torch(int64_t T, int threads, int repeats) {
    char python[1024], script[1024], cmd[4096];
    snprintf(python, sizeof python, "%s/.venv-torch/bin/python", AXIAL_SOURCE_DIR);
    snprintf(script, sizeof script, "%s/bench/moe_ffn_torch.py", AXIAL_SOURCE_DIR);
    FILE *probe = fopen(python, "r");
    if (probe == NULL) {
        printf("PyTorch: %s not found, skipped\n", python);
        return;
    }
    fclose(probe);
    snprintf(cmd, sizeof cmd,
             "'%s' '%s' --tokens %lld --dim %d --hidden %d --experts %d --top-k %d --threads %d --rounds %d 2>&1",
             python, script, (long long)T, D, F, E, K, threads, repeats);
    FILE *pipe = popen(cmd, "r");
    if (pipe == NULL) return;
    char line[512];
    while (fgets(line, sizeof line, pipe) != NULL) fputs(line, stdout);
    pclose(pipe);
}

int main(int argc, char **argv) {
    int threads = 0, repeats = 7, torch = 1;
    int64_t T = 512;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--repeats") == 0 && i + 1 < argc) repeats = atoi(argv[++i]);
        else if (strcmp(argv[i], "--tokens") == 0 && i + 1 < argc) T = atoll(argv[++i]);
        else if (strcmp(argv[i], "--no-torch") == 0) torch = 0;
        else {
            fprintf(stderr, "usage: %s [--threads T] [--repeats R] [--tokens T] [--no-torch]\n", argv[0]);
            return 2;
        }
    }
#ifdef _OPENMP
    if (threads <= 0) threads = omp_get_max_threads();
#endif
    if (threads <= 0) threads = 1;
    if (repeats < 1) repeats = 1;
    if (T < 1) T = 1;
    ax_context_config cfg = AX_CONTEXT_CONFIG_INIT;
    cfg.num_threads = threads;
    ax_context *ctx = NULL;
    if (ax_context_create(&ctx, &cfg) != AX_OK) {
        fprintf(stderr, "context: %s\n", ax_last_error());
        return 1;
    }
    layer L;
    layer_init(&L, T);
    printf("MoE FFN, CPU fp32, %d threads, median of %d after two warm-ups\n", threads, repeats);
    printf("T = %lld, D = %d, F = %d per expert, E = %d, k = %d, top-2 softmax renormalised, SwiGLU\n\n", (long long)T,
           D, F, E, K);
    static const struct {
        step s;
        const char *name;
    } steps[] = {{STEP_FORWARD, "axial ffn forward"},     {STEP_BACKWARD, "axial ffn backward"},
                 {STEP_ROUTE, "  of which: route"},       {STEP_DISPATCH, "  of which: dispatch"},
                 {STEP_COMBINE, "  of which: combine"}};
    printf("%-24s %10s\n", "", "ms");
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        const double ms = time_step(ctx, &L, steps[i].s, repeats);
        if (ms >= 0.0) printf("%-24s %10.3f\n", steps[i].name, ms);
        bench_settle();
    }
    printf("(backward recomputes the forward: activation checkpointing)\n");
    /* Always-present baseline: the layer's matrix products (router and the k experts' three, per
     * token; the backward recomputes the forward's and adds the data and weight gradients: three
     * times the forward's) at the rate sgemm reaches on this machine and thread count, measured now. */
    const double sgemm = bench_sgemm_gflops(1024, threads, repeats);
    const double fwd_flops = 2.0 * (double)T * ((double)K * 3.0 * D * F + (double)D * E);
    printf("%-24s %10.3f   (forward's %.2f GFLOP at sgemm's %.1f GFLOP/s, 1024^3, %d threads)\n",
           "baseline: matmuls fwd", fwd_flops / (sgemm * 1e9) * 1e3, fwd_flops * 1e-9, sgemm, threads);
    printf("%-24s %10.3f   (3x the forward's FLOPs)\n", "baseline: matmuls bwd", 3.0 * fwd_flops / (sgemm * 1e9) * 1e3);
    if (torch) run_torch(T, threads, repeats);
    ax_context_destroy(ctx);
    return 0;
}
