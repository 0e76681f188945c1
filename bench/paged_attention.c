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
 * --gpu runs the three on CUDA device 0, bf16 and fp32, and puts their K/V GB/s next to the card's
 * device-to-device copy bandwidth measured in the same run (bytes read plus bytes written per second
 * of a 512 MiB cudaMemcpy: the traffic its memory serves). Times are CUDA events around samples of
 * back-to-back calls (about 2 ms each), median of --repeats after three warm-ups. The K/V pool is
 * replicated until the copies span at least 256 MiB and four times the L2, and successive calls read
 * successive copies, so the L2 does not serve a call what the previous one read. Without CUDA (build
 * or device) --gpu prints why and exits with 77.
 *
 *   bench_paged_attention [--repeats N] [--threads N] [--seqs N] [--context N] [--block N] [--gpu]
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "axial/attention.h"
#include "bench_cuda.h"
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
    int64_t context; /* every sequence's length: CUDA sizes its grids with it (the CPU reads the lengths) */
} problem;

static ax_status run_once(ax_context *ctx, problem *p, run_kind kind) {
    if (kind == RUN_CONTIGUOUS) {
        ax_attention_options o = ax_attention_options_default();
        o.causal = 1;
        o.cu_seqlens_q = &p->cu_q;
        o.cu_seqlens_k = &p->cu_k;
        o.max_seqlen_q = 1;
        o.max_seqlen_k = p->context;
        return ax_attention_forward(ctx, &p->q, &p->k_packed, &p->v_packed, NULL, &o, &p->out, NULL);
    }
    ax_paged_attention_options o = ax_paged_attention_options_default();
    o.max_seqlen_q = 1;
    o.max_context_len = p->context;
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

/* One shape's host data: fp32 q and K/V pools, the shuffled and identity block tables, the lengths. */
typedef struct host_data {
    int64_t NS, L, BS, H, Hkv, D, MB, NB, kv_elems;
    float *q, *out, *k, *v;
    int32_t *bt_s, *bt_i, *lens, *cu_q, *cu_k;
} host_data;

static void host_free(host_data *h) {
    free(h->q), free(h->out), free(h->k), free(h->v), free(h->bt_s), free(h->bt_i), free(h->lens), free(h->cu_q),
        free(h->cu_k);
}

static int host_make(host_data *h, const shape *s, const bench_opts *o) {
    const int64_t NS = o->seqs, L = o->context, BS = o->block, H = s->H, Hkv = s->Hkv, D = s->D;
    const int64_t MB = (L + BS - 1) / BS, NB = NS * MB;
    const int64_t kv_elems = NB * BS * Hkv * D;
    *h = (host_data){NS, L, BS, H, Hkv, D, MB, NB, kv_elems, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    h->q = bench_alloc_bytes(sizeof(float) * (size_t)(NS * H * D));
    h->out = bench_alloc_bytes(sizeof(float) * (size_t)(NS * H * D));
    h->k = bench_alloc_bytes(sizeof(float) * (size_t)kv_elems);
    h->v = bench_alloc_bytes(sizeof(float) * (size_t)kv_elems);
    h->bt_s = malloc(sizeof(int32_t) * (size_t)NB), h->bt_i = malloc(sizeof(int32_t) * (size_t)NB);
    h->lens = malloc(sizeof(int32_t) * (size_t)NS), h->cu_q = malloc(sizeof(int32_t) * (size_t)(NS + 1));
    h->cu_k = malloc(sizeof(int32_t) * (size_t)(NS + 1));
    if (!h->q || !h->out || !h->k || !h->v || !h->bt_s || !h->bt_i || !h->lens || !h->cu_q || !h->cu_k) {
        fprintf(stderr, "out of memory\n");
        host_free(h);
        return 1;
    }
    uint64_t rng = 42;
    bench_fill_uniform(h->q, NS * H * D, -1.0f, 1.0f, &rng);
    bench_fill_uniform(h->k, kv_elems, -1.0f, 1.0f, &rng);
    bench_fill_uniform(h->v, kv_elems, -1.0f, 1.0f, &rng);
    for (int64_t b = 0; b < NB; b++) h->bt_s[b] = h->bt_i[b] = (int32_t)b;
    for (int64_t b = NB - 1; b > 0; b--) { /* Fisher-Yates over the whole pool */
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        const int64_t j = (int64_t)((rng >> 33) % (uint64_t)(b + 1));
        const int32_t x = h->bt_s[b];
        h->bt_s[b] = h->bt_s[j], h->bt_s[j] = x;
    }
    for (int64_t i = 0; i <= NS; i++) h->cu_q[i] = (int32_t)i, h->cu_k[i] = (int32_t)(i * L);
    for (int64_t i = 0; i < NS; i++) h->lens[i] = (int32_t)L;
    return 0;
}

/* Where one problem's buffers live (host or device): q, out, K pool, V pool, the two block tables,
 * the lengths, cu_seqlens of the queries and of the packed keys. */
typedef struct buffers {
    void *q, *out, *k, *v, *bt_s, *bt_i, *lens, *cu_q, *cu_k;
} buffers;

static void problem_describe(problem *p, const host_data *h, const buffers *m, ax_dtype dtype, ax_device device) {
    memset(p, 0, sizeof *p);
    const int64_t qs[3] = {h->NS, h->H, h->D}, cs[4] = {h->NB, h->BS, h->Hkv, h->D};
    const int64_t ks[3] = {h->NS * h->L, h->Hkv, h->D}, bts[2] = {h->NS, h->MB};
    const int64_t ns = h->NS, ns1 = h->NS + 1;
    ax_tensor_contiguous(&p->q, m->q, dtype, 3, qs);
    ax_tensor_contiguous(&p->out, m->out, dtype, 3, qs);
    ax_tensor_contiguous(&p->kc, m->k, dtype, 4, cs);
    ax_tensor_contiguous(&p->vc, m->v, dtype, 4, cs);
    ax_tensor_contiguous(&p->k_packed, m->k, dtype, 3, ks); /* L is a whole number of blocks here */
    ax_tensor_contiguous(&p->v_packed, m->v, dtype, 3, ks);
    ax_tensor_contiguous(&p->bt_shuffled, m->bt_s, AX_I32, 2, bts);
    ax_tensor_contiguous(&p->bt_identity, m->bt_i, AX_I32, 2, bts);
    ax_tensor_contiguous(&p->ctx_lens, m->lens, AX_I32, 1, &ns);
    ax_tensor_contiguous(&p->cu_q, m->cu_q, AX_I32, 1, &ns1);
    ax_tensor_contiguous(&p->cu_k, m->cu_k, AX_I32, 1, &ns1);
    ax_tensor *all[] = {&p->q, &p->out, &p->kc, &p->vc, &p->k_packed, &p->v_packed, &p->bt_shuffled,
                        &p->bt_identity, &p->ctx_lens, &p->cu_q, &p->cu_k};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) all[i]->device = device;
    p->context = h->L;
}

static const char *const run_names[3] = {"paged, shuffled blocks", "paged, identity table",
                                         "contiguous (attention_forward)"};

static int bench_shape(ax_context *ctx, const shape *s, const bench_opts *o) {
    host_data h;
    if (host_make(&h, s, o) != 0) return 1;
    const int64_t NS = h.NS, L = h.L, BS = h.BS, H = h.H, Hkv = h.Hkv, D = h.D;
    problem p;
    const buffers m = {h.q, h.out, h.k, h.v, h.bt_s, h.bt_i, h.lens, h.cu_q, h.cu_k};
    problem_describe(&p, &h, &m, AX_F32, (ax_device){AX_CPU, 0});

    const double gbytes = 2.0 * (double)(NS * L * Hkv * D) * sizeof(float) / 1e9;
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
            printf("  %-32s %s: %s: %s\n", run_names[r],
                   r == RUN_CONTIGUOUS ? "contiguous baseline unavailable" : "failed", ax_status_string(err[r]),
                   why[r]);
            continue;
        }
        printf("  %-32s %10.3f %10.1f %11.2fx %10.3f %11.2fx\n", run_names[r], ms[r], gbytes / (ms[r] * 1e-3),
               ms[b] / ms[r], cpu_ms[r], cpu_ms[b] / cpu_ms[r]);
    }
    if (ms[RUN_CONTIGUOUS] < 0) printf("  (baseline above: the paged identity-table run)\n");
    host_free(&h);
    return 0;
}

/* ---- the GPU ----------------------------------------------------------------------------------- */

/* One run kind on the device; each call reads the next copy of the K/V pools. */
typedef struct gpu_run {
    ax_context *ctx;
    problem p;
    run_kind kind;
    char *pools;       /* copies x (K pool, V pool) */
    size_t pool_bytes; /* one pool */
    int copies, next;
} gpu_run;

static int gpu_call(void *arg) {
    gpu_run *r = arg;
    char *k = r->pools + (size_t)(2 * r->next) * r->pool_bytes;
    r->p.kc.data = r->p.k_packed.data = k;
    r->p.vc.data = r->p.v_packed.data = k + r->pool_bytes;
    r->next = (r->next + 1) % r->copies;
    return run_once(r->ctx, &r->p, r->kind) == AX_OK ? 0 : 1;
}

/* Uploads n host values converted to `dtype`; NULL on failure (g->error). */
static void *upload_as(bench_cuda *g, const void *host, ax_dtype host_dtype, ax_dtype dtype, int64_t n) {
    if (host_dtype == dtype) return bench_cuda_upload(g, host, (size_t)n * ax_dtype_size(dtype));
    void *conv = bench_alloc_bytes((size_t)n * ax_dtype_size(dtype)), *dev = NULL;
    if (conv != NULL && ax_convert(host, host_dtype, conv, dtype, n) == AX_OK)
        dev = bench_cuda_upload(g, conv, (size_t)n * ax_dtype_size(dtype));
    else
        snprintf(g->error, sizeof g->error, "conversion to %s: %s", ax_dtype_name(dtype), ax_last_error());
    free(conv);
    return dev;
}

static int bench_gpu_shape(bench_cuda *g, const shape *s, const bench_opts *o, ax_dtype dtype, double copy_gbps) {
    host_data h;
    if (host_make(&h, s, o) != 0) return 1;
    const size_t es = ax_dtype_size(dtype), pool_bytes = (size_t)h.kv_elems * es;
    const int copies = bench_cuda_rotation_copies(g, 2 * pool_bytes, 64); /* each: the K pool, then the V pool */
    buffers m = {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    char *pools = NULL;
    int rc = 1;
    m.q = upload_as(g, h.q, AX_F32, dtype, h.NS * h.H * h.D);
    if (ax_device_alloc(g->ctx, (size_t)(h.NS * h.H * h.D) * es, &m.out) != AX_OK)
        snprintf(g->error, sizeof g->error, "out: %s", ax_last_error());
    m.bt_s = bench_cuda_upload(g, h.bt_s, sizeof(int32_t) * (size_t)h.NB);
    m.bt_i = bench_cuda_upload(g, h.bt_i, sizeof(int32_t) * (size_t)h.NB);
    m.lens = bench_cuda_upload(g, h.lens, sizeof(int32_t) * (size_t)h.NS);
    m.cu_q = bench_cuda_upload(g, h.cu_q, sizeof(int32_t) * (size_t)(h.NS + 1));
    m.cu_k = bench_cuda_upload(g, h.cu_k, sizeof(int32_t) * (size_t)(h.NS + 1));
    void *k0 = upload_as(g, h.k, AX_F32, dtype, h.kv_elems), *v0 = upload_as(g, h.v, AX_F32, dtype, h.kv_elems);
    int ok = m.q && m.out && m.bt_s && m.bt_i && m.lens && m.cu_q && m.cu_k && k0 && v0;
    if (ok && ax_device_alloc(g->ctx, 2 * pool_bytes * (size_t)copies, (void **)&pools) != AX_OK) {
        snprintf(g->error, sizeof g->error, "%d copies of the K/V pools: %s", copies, ax_last_error());
        ok = 0;
    }
    for (int c = 0; ok && c < copies; c++)
        ok = bench_cuda_copy(g, pools + (size_t)(2 * c) * pool_bytes, k0, pool_bytes) == 0 &&
             bench_cuda_copy(g, pools + (size_t)(2 * c + 1) * pool_bytes, v0, pool_bytes) == 0;
    if (!ok) {
        printf("\n%s, %s: setup failed: %s\n", s->name, ax_dtype_name(dtype), g->error);
        goto done;
    }
    const double kv_bytes = 2.0 * (double)(h.NS * h.L * h.Hkv * h.D) * (double)es;
    double t[3];
    char why[3][512];
    for (int r = 0; r < 3; r++) {
        gpu_run run;
        m.k = pools;
        m.v = pools + pool_bytes;
        problem_describe(&run.p, &h, &m, dtype, ax_context_device(g->ctx));
        run.ctx = g->ctx, run.kind = (run_kind)r, run.pools = pools, run.pool_bytes = pool_bytes;
        run.copies = copies, run.next = 0;
        t[r] = bench_cuda_time(g, gpu_call, &run, 0, o->repeats);
        snprintf(why[r], sizeof why[r], "%s", t[r] > 0 ? "" : g->error);
    }
    printf("\n%s: %lld seqs x %lld context, H %lld, Hkv %lld, D %lld, %s, block %lld; K/V %.1f MB per call, "
           "%d copies rotated\n",
           s->name, (long long)h.NS, (long long)h.L, (long long)h.H, (long long)h.Hkv, (long long)h.D,
           ax_dtype_name(dtype), (long long)h.BS, kv_bytes * 1e-6, copies);
    printf("  %-32s %10s %10s %10s %12s\n", "run", "median us", "KV GB/s", "% of copy", "vs baseline");
    const int b = t[RUN_CONTIGUOUS] > 0 ? RUN_CONTIGUOUS : RUN_PAGED_IDENTITY;
    for (int r = 0; r < 3; r++) {
        if (t[r] <= 0) {
            printf("  %-32s %s: %s\n", run_names[r], r == RUN_CONTIGUOUS ? "contiguous baseline unavailable" : "failed",
                   why[r]);
            continue;
        }
        const double gbps = kv_bytes / t[r] * 1e-9;
        printf("  %-32s %10.1f %10.1f %9.0f%% %11.2fx\n", run_names[r], t[r] * 1e6, gbps, 100.0 * gbps / copy_gbps,
               t[b] > 0 ? t[b] / t[r] : 0.0);
    }
    if (t[RUN_CONTIGUOUS] <= 0) printf("  (baseline above: the paged identity-table run)\n");
    rc = 0;
done:
    bench_cuda_free(g, m.q), bench_cuda_free(g, m.out), bench_cuda_free(g, m.bt_s), bench_cuda_free(g, m.bt_i);
    bench_cuda_free(g, m.lens), bench_cuda_free(g, m.cu_q), bench_cuda_free(g, m.cu_k), bench_cuda_free(g, k0);
    bench_cuda_free(g, v0), bench_cuda_free(g, pools);
    host_free(&h);
    return rc;
}

static const shape shapes[2] = {{"SmolLM2-135M heads", 9, 3, 64}, {"32/8 heads, D 128", 32, 8, 128}};

static int bench_gpu(const bench_opts *o) {
    bench_cuda g;
    int rc = bench_cuda_open(&g, "bench_paged_attention --gpu");
    if (rc != 0) return rc;
    const double copy_gbps = bench_cuda_copy_gbps(&g, (size_t)512 << 20, 10);
    bench_cuda_print_card(&g, "paged decode attention");
    printf("CUDA events around samples of back-to-back calls (about 2 ms each), median of %d after 3 warm-ups\n",
           o->repeats);
    if (copy_gbps <= 0) {
        printf("device copy bandwidth: failed: %s\n", g.error);
        bench_cuda_close(&g);
        return 1;
    }
    printf("baseline: device-to-device copy of 512 MiB: %.0f GB/s (read + write); %% of copy = K/V GB/s / that\n",
           copy_gbps);
    static const ax_dtype dtypes[2] = {AX_BF16, AX_F32};
    for (int s = 0; s < 2 && rc == 0; s++)
        for (int d = 0; d < 2 && rc == 0; d++) rc = bench_gpu_shape(&g, &shapes[s], o, dtypes[d], copy_gbps);
    bench_cuda_close(&g);
    return rc;
}

int main(int argc, char **argv) {
    bench_opts o = {15, 0, 64, 1024, 16};
    int gpu = 0;
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
        else if (strcmp(argv[i], "--gpu") == 0)
            gpu = 1;
        else {
            fprintf(stderr, "usage: %s [--repeats N] [--threads N] [--seqs N] [--context N] [--block N] [--gpu]\n",
                    argv[0]);
            return 2;
        }
    }
    if (o.repeats < 1 || o.seqs < 1 || o.context < 1 || o.block < 16 || o.context % o.block != 0) {
        fprintf(stderr, "need repeats, seqs, context >= 1, block >= 16 and context a multiple of block\n");
        return 2;
    }
    if (gpu) return bench_gpu(&o);
    ax_context_config cfg = AX_CONTEXT_CONFIG_INIT;
    cfg.num_threads = o.threads;
    ax_context *ctx = NULL;
    if (ax_context_create(&ctx, &cfg) != AX_OK) {
        fprintf(stderr, "cannot create a context: %s\n", ax_last_error());
        return 1;
    }
    o.threads = ax_context_num_threads(ctx);
    int rc = 0;
    for (int s = 0; s < 2 && rc == 0; s++) rc = bench_shape(ctx, &shapes[s], &o);
    ax_context_destroy(ctx);
    return rc;
}
