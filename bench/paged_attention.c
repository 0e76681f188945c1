/*
 * paged_attention.c — decode attention over a paged KV cache (ax_paged_attention) next to the same
 * attention on contiguous K/V (ax_attention_forward, a packed batch with cu_seqlens) in the same run.
 *
 * Shapes: 64 sequences x 1024 context tokens, one new query each (decode), fp32, block size 16, with
 * SmolLM2-135M's heads (H 9, Hkv 3, D 64) and a larger model's (H 32, Hkv 8, D 128). The paged run
 * reads its blocks through a shuffled block table (as a serving engine's pool ends up); a second
 * paged run with the identity table reads exactly the contiguous layout, so it separates the cost of
 * the scattered blocks from the cost of the kernel. The three runs share one K and one V buffer (the
 * pool seen as (num_blocks * block_size, Hkv, D) is the packed contiguous K), so they read the same
 * amount of memory.
 *
 * Reports the median of --repeats timed calls after warm-up calls, in ms and in GB/s of K/V read,
 * and each run's speed relative to the contiguous baseline, plus the median process CPU time per
 * call (all threads) for loaded machines. Never asserts timings.
 *
 *   bench_paged_attention [--repeats N] [--threads N] [--seqs N] [--context N] [--block N]
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "axial/attention.h"
#include "bench_util.h"

typedef struct shape {
    const char *name;
    int64_t H, Hkv, D;
} shape;

typedef struct bench_opts {
    int repeats, threads;
    int64_t seqs, context, block;
} bench_opts;

typedef enum { RUN_PAGED_SHUFFLED, RUN_PAGED_IDENTITY, RUN_CONTIGUOUS } run_kind;

typedef struct problem {
    ax_tensor q, kc, vc, k_packed, v_packed, bt_shuffled, bt_identity, ctx_lens, cu_q, cu_k, out, lse;
} problem;

static ax_status run_once(ax_context *ctx, problem *p, run_kind kind) {
    if (kind == RUN_CONTIGUOUS) {
        ax_attention_options o = ax_attention_options_default();
        o.causal = 1;
        o.cu_seqlens_q = &p->cu_q;
        o.cu_seqlens_k = &p->cu_k;
        o.max_seqlen_q = 1;
        o.max_seqlen_k = p->k_packed.shape[0] / p->cu_q.shape[0];
        return ax_attention_forward(ctx, &p->q, &p->k_packed, &p->v_packed, NULL, &o, &p->out, NULL);
    }
    ax_paged_attention_options o = ax_paged_attention_options_default();
    return ax_paged_attention(ctx, &p->q, &p->kc, &p->vc,
                              kind == RUN_PAGED_SHUFFLED ? &p->bt_shuffled : &p->bt_identity, &p->ctx_lens, &p->cu_q,
                              NULL, NULL, &o, &p->out, NULL);
}

/* CPU time of the whole process (every thread), in seconds. */
static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Median wall ms of `repeats` calls after two warm-up calls, and the median process CPU ms per call
 * in *cpu_ms (on a shared, loaded machine the wall time mostly measures the neighbours; the CPU time
 * still shows the work, spin-waiting OpenMP threads included). Negative when the op fails (its error
 * in *err). */
static double time_run(ax_context *ctx, problem *p, run_kind kind, int repeats, ax_status *err, double *cpu_ms) {
    double *ms = malloc(sizeof(double) * (size_t)repeats * 2);
    if (ms == NULL) return -1.0;
    double *cpu = ms + repeats;
    *err = AX_OK;
    for (int w = 0; w < 2 && *err == AX_OK; w++) *err = run_once(ctx, p, kind);
    for (int r = 0; r < repeats && *err == AX_OK; r++) {
        const double t0 = bench_now(), c0 = cpu_now();
        *err = run_once(ctx, p, kind);
        ms[r] = (bench_now() - t0) * 1e3;
        cpu[r] = (cpu_now() - c0) * 1e3;
    }
    const double median = *err == AX_OK ? bench_median(ms, repeats) : -1.0;
    *cpu_ms = *err == AX_OK ? bench_median(cpu, repeats) : -1.0;
    free(ms);
    return median;
}

static int bench_shape(ax_context *ctx, const shape *s, const bench_opts *o) {
    const int64_t NS = o->seqs, L = o->context, BS = o->block, H = s->H, Hkv = s->Hkv, D = s->D;
    const int64_t MB = (L + BS - 1) / BS, NB = NS * MB;
    const int64_t kv_elems = NB * BS * Hkv * D;
    float *q = bench_alloc_bytes(sizeof(float) * (size_t)(NS * H * D));
    float *out = bench_alloc_bytes(sizeof(float) * (size_t)(NS * H * D));
    float *k = bench_alloc_bytes(sizeof(float) * (size_t)kv_elems);
    float *v = bench_alloc_bytes(sizeof(float) * (size_t)kv_elems);
    int32_t *bt_s = malloc(sizeof(int32_t) * (size_t)NB), *bt_i = malloc(sizeof(int32_t) * (size_t)NB);
    int32_t *lens = malloc(sizeof(int32_t) * (size_t)NS), *cu_q = malloc(sizeof(int32_t) * (size_t)(NS + 1));
    int32_t *cu_k = malloc(sizeof(int32_t) * (size_t)(NS + 1));
    if (!q || !out || !k || !v || !bt_s || !bt_i || !lens || !cu_q || !cu_k) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    uint64_t rng = 42;
    bench_fill_uniform(q, NS * H * D, -1.0f, 1.0f, &rng);
    bench_fill_uniform(k, kv_elems, -1.0f, 1.0f, &rng);
    bench_fill_uniform(v, kv_elems, -1.0f, 1.0f, &rng);
    for (int64_t b = 0; b < NB; b++) bt_s[b] = bt_i[b] = (int32_t)b;
    for (int64_t b = NB - 1; b > 0; b--) { /* Fisher-Yates over the whole pool */
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        const int64_t j = (int64_t)((rng >> 33) % (uint64_t)(b + 1));
        const int32_t x = bt_s[b];
        bt_s[b] = bt_s[j], bt_s[j] = x;
    }
    for (int64_t i = 0; i <= NS; i++) cu_q[i] = (int32_t)i, cu_k[i] = (int32_t)(i * L);
    for (int64_t i = 0; i < NS; i++) lens[i] = (int32_t)L;

    problem p;
    memset(&p, 0, sizeof p);
    const int64_t qs[3] = {NS, H, D}, cs[4] = {NB, BS, Hkv, D}, ks[3] = {NS * L, Hkv, D}, bts[2] = {NS, MB};
    const int64_t ns = NS, ns1 = NS + 1;
    ax_tensor_contiguous(&p.q, q, AX_F32, 3, qs);
    ax_tensor_contiguous(&p.out, out, AX_F32, 3, qs);
    ax_tensor_contiguous(&p.kc, k, AX_F32, 4, cs);
    ax_tensor_contiguous(&p.vc, v, AX_F32, 4, cs);
    ax_tensor_contiguous(&p.k_packed, k, AX_F32, 3, ks); /* L is a whole number of blocks here */
    ax_tensor_contiguous(&p.v_packed, v, AX_F32, 3, ks);
    ax_tensor_contiguous(&p.bt_shuffled, bt_s, AX_I32, 2, bts);
    ax_tensor_contiguous(&p.bt_identity, bt_i, AX_I32, 2, bts);
    ax_tensor_contiguous(&p.ctx_lens, lens, AX_I32, 1, &ns);
    ax_tensor_contiguous(&p.cu_q, cu_q, AX_I32, 1, &ns1);
    ax_tensor_contiguous(&p.cu_k, cu_k, AX_I32, 1, &ns1);

    const double gbytes = 2.0 * (double)(NS * L * Hkv * D) * sizeof(float) / 1e9;
    static const char *names[3] = {"paged, shuffled blocks", "paged, identity table", "contiguous (attention_forward)"};
    double ms[3], cpu_ms[3];
    ax_status err[3];
    char why[3][256];
    for (int r = 0; r < 3; r++) {
        bench_settle();
        ms[r] = time_run(ctx, &p, (run_kind)r, o->repeats, &err[r], &cpu_ms[r]);
        snprintf(why[r], sizeof why[r], "%s", err[r] == AX_OK ? "" : ax_last_error());
    }
    printf("\n%s: %lld seqs x %lld context, H %lld, Hkv %lld, D %lld, fp32, block %lld, %d threads\n", s->name,
           (long long)NS, (long long)L, (long long)H, (long long)Hkv, (long long)D, (long long)BS, o->threads);
    printf("  %-32s %10s %10s %12s %10s %12s\n", "run", "median ms", "KV GB/s", "vs baseline", "CPU ms", "CPU vs base");
    const int b = ms[RUN_CONTIGUOUS] > 0 ? RUN_CONTIGUOUS : RUN_PAGED_IDENTITY;
    for (int r = 0; r < 3; r++) {
        if (ms[r] < 0) {
            printf("  %-32s %s: %s: %s\n", names[r], r == RUN_CONTIGUOUS ? "contiguous baseline unavailable" : "failed",
                   ax_status_string(err[r]), why[r]);
            continue;
        }
        printf("  %-32s %10.3f %10.1f %11.2fx %10.3f %11.2fx\n", names[r], ms[r], gbytes / (ms[r] * 1e-3),
               ms[b] / ms[r], cpu_ms[r], cpu_ms[b] / cpu_ms[r]);
    }
    if (ms[RUN_CONTIGUOUS] < 0) printf("  (baseline above: the paged identity-table run)\n");
    free(q), free(out), free(k), free(v), free(bt_s), free(bt_i), free(lens), free(cu_q), free(cu_k);
    return 0;
}

int main(int argc, char **argv) {
    bench_opts o = {15, 0, 64, 1024, 16};
    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "--repeats") == 0)
            o.repeats = atoi(argv[++i]);
        else if (i + 1 < argc && strcmp(argv[i], "--threads") == 0)
            o.threads = atoi(argv[++i]);
        else if (i + 1 < argc && strcmp(argv[i], "--seqs") == 0)
            o.seqs = atoll(argv[++i]);
        else if (i + 1 < argc && strcmp(argv[i], "--context") == 0)
            o.context = atoll(argv[++i]);
        else if (i + 1 < argc && strcmp(argv[i], "--block") == 0)
            o.block = atoll(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--repeats N] [--threads N] [--seqs N] [--context N] [--block N]\n", argv[0]);
            return 2;
        }
    }
    if (o.repeats < 1 || o.seqs < 1 || o.context < 1 || o.block < 16 || o.context % o.block != 0) {
        fprintf(stderr, "need repeats, seqs, context >= 1, block >= 16 and context a multiple of block\n");
        return 2;
    }
    ax_context_config cfg = AX_CONTEXT_CONFIG_INIT;
    cfg.num_threads = o.threads;
    ax_context *ctx = NULL;
    if (ax_context_create(&ctx, &cfg) != AX_OK) {
        fprintf(stderr, "cannot create a context: %s\n", ax_last_error());
        return 1;
    }
    o.threads = ax_context_num_threads(ctx);
    static const shape shapes[2] = {{"SmolLM2-135M heads", 9, 3, 64}, {"32/8 heads, D 128", 32, 8, 128}};
    int rc = 0;
    for (int s = 0; s < 2 && rc == 0; s++) rc = bench_shape(ctx, &shapes[s], &o);
    ax_context_destroy(ctx);
    return rc;
}
