/*
 * evoformer_attention.c — benchmark of Evoformer attention on the CPU (and the GPU with --gpu):
 * forward and backward time, GFLOP/s, percent of the same-run BLAS sgemm rate, working memory, and
 * the same for a naive implementation that materialises the logits.
 *
 *   bench_evoformer_attention [--threads T] [--repeats R] [--shape B,N,S,H,D]... [--padded F] [--bf16]
 *                             [--vs-flash] [--gpu]
 *
 * --bf16 adds a row with every tensor but lse in bf16 (the biases too, as DeepSpeed's kernel takes
 * them), after the fp32 row and in the same context.
 *
 * The mask is AlphaFold's 1e9 * (mask - 1) with every 11th key masked; --padded F also masks every key
 * of the last F * N MSA rows (padded rows, whose lse is -1e9 + log S: the backward recomputes their
 * softmax statistics instead of trusting it), to measure what OpenFold's padding costs.
 *
 * --vs-flash (B = 1 shapes) adds four rows, in pairs timed in one loop, alternating: Evoformer attention
 * with the pair bias only (no mask; evo-pb) and ax_attention_forward / _backward on the same work
 * (fla-pb: the MSA rows folded into its batch, (N, S, H, D) tensors, the pair bias (1, H, S, S)
 * broadcast over it; both compute the pair bias's gradient), then the two without a bias (evo-nb,
 * fla-nb). It measures whether Evoformer attention would gain from running on the flash-attention
 * tile loop (issue 14; docs/attention.md).
 *
 * FLOPs: forward 4*B*N*H*S^2*D (two matrix products), backward 2.5x that.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "axial/attention.h"
#include "axial/evoformer.h"
#include "bench_util.h"
#include "naive_attention.h"

#ifdef AXIAL_BENCH_GPU
int bench_evoformer_gpu(int repeats);
#endif

typedef struct shape {
    const char *name;
    int64_t B, N, S, H, D;
} shape;

static const shape default_shapes[] = {
    {"msa-row (AF2 training)", 1, 128, 256, 8, 32},
    {"triangle (AF2 training)", 1, 256, 256, 4, 32},
    {"long S=1024", 1, 16, 1024, 8, 32},
    {"long S=2048", 1, 16, 2048, 8, 32},
};

/* The naive baseline stores logits and their gradient: skip it past this many bytes. */
#define NAIVE_LIMIT_BYTES (3LL << 30)

static double padded_fraction = 0.0; /* --padded */
static int with_bf16 = 0;              /* --bf16: a row with every tensor but lse in bf16 */
static int vs_flash = 0;               /* --vs-flash: Evoformer (pair bias only) against ax_attention_* */

typedef struct buffers {
    float *q, *k, *v, *mask, *pair, *out, *lse, *dout, *dq, *dk, *dv, *dmask, *dpair;
} buffers;

static int alloc_buffers(buffers *bf, const shape *s) {
    const int64_t act = s->B * s->N * s->S * s->H * s->D;
    float **acts[] = {&bf->q, &bf->k, &bf->v, &bf->out, &bf->dout, &bf->dq, &bf->dk, &bf->dv};
    memset(bf, 0, sizeof *bf);
    for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++)
        if ((*acts[i] = bench_alloc_floats(act)) == NULL) return -1;
    bf->mask = bench_alloc_floats(s->B * s->N * s->S);
    bf->dmask = bench_alloc_floats(s->B * s->N * s->S);
    bf->pair = bench_alloc_floats(s->B * s->H * s->S * s->S);
    bf->dpair = bench_alloc_floats(s->B * s->H * s->S * s->S);
    bf->lse = bench_alloc_floats(s->B * s->N * s->H * s->S);
    if (!bf->mask || !bf->dmask || !bf->pair || !bf->dpair || !bf->lse) return -1;
    uint64_t st = 7;
    bench_fill_uniform(bf->q, act, -1, 1, &st);
    bench_fill_uniform(bf->k, act, -1, 1, &st);
    bench_fill_uniform(bf->v, act, -1, 1, &st);
    bench_fill_uniform(bf->dout, act, -1, 1, &st);
    bench_fill_uniform(bf->pair, s->B * s->H * s->S * s->S, -1, 1, &st);
    const int64_t first_padded = s->N - (int64_t)(padded_fraction * (double)s->N + 0.5);
    for (int64_t i = 0; i < s->B * s->N * s->S; i++) {
        const int64_t n = (i / s->S) % s->N;
        bf->mask[i] = (i % 11 == 10 || n >= first_padded) ? -1e9f : 0.0f;
    }
    return 0;
}

static void free_buffers(buffers *bf) {
    float *all[] = {bf->q, bf->k, bf->v, bf->mask, bf->pair, bf->out, bf->lse, bf->dout, bf->dq, bf->dk, bf->dv,
                    bf->dmask, bf->dpair};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]);
}

/* dst[0..n) = src[0..n) rounded to bf16 (nearest even; the inputs are finite). */
static void round_to_bf16(const float *src, uint16_t *dst, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &src[i], sizeof u);
        dst[i] = (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
    }
}

/* Times forward and backward on bf's inputs in dtype (f32, or bf16 for every tensor but lse) and
 * prints one row. bf16 copies are made here; the f32 buffers stay as they are. Each repeat is
 * followed by one sample of the sgemm baseline pk: the %pk columns are the medians of the per-repeat
 * ratios (a VM whose speed drifts moves those far less than a peak measured once per shape), and
 * *sgemm_gflops the median of the samples. scratch: 5 * `repeats` doubles (times, samples, ratios). */
static void bench_axial(const shape *s, const buffers *bf, ax_dtype dtype, ax_context *ctx, int repeats,
                        bench_sgemm *pk, double *scratch, double *sgemm_gflops) {
    double *tf = scratch, *tb = tf + repeats, *gf = tb + repeats, *pk_f = gf + repeats, *pk_b = pk_f + repeats;
    const int64_t act[5] = {s->B, s->N, s->S, s->H, s->D}, mshape[5] = {s->B, s->N, 1, 1, s->S};
    const int64_t pshape[5] = {s->B, 1, s->H, s->S, s->S}, lshape[4] = {s->B, s->N, s->H, s->S};
    const int64_t na = s->B * s->N * s->S * s->H * s->D, nm = s->B * s->N * s->S, np = s->B * s->H * s->S * s->S;
    float *const f32[12] = {bf->q, bf->k, bf->v, bf->out, bf->dout, bf->dq, bf->dk, bf->dv,
                            bf->mask, bf->dmask, bf->pair, bf->dpair};
    const int64_t counts[12] = {na, na, na, na, na, na, na, na, nm, nm, np, np};
    void *data[12];
    uint16_t *half[12] = {NULL};
    for (int t = 0; t < 12; t++) {
        data[t] = f32[t];
        if (dtype != AX_BF16) continue;
        half[t] = bench_alloc_bytes((size_t)counts[t] * sizeof(uint16_t));
        if (half[t] == NULL) {
            printf("%-24s %-6s  out of memory for bf16 copies\n", "", "bf16");
            for (int u = 0; u < t; u++) free(half[u]);
            return;
        }
        round_to_bf16(f32[t], half[t], counts[t]);
        data[t] = half[t];
    }
    ax_tensor x[12], lse;
    for (int t = 0; t < 12; t++)
        ax_tensor_contiguous(&x[t], data[t], dtype, 5, t < 8 ? act : t < 10 ? mshape : pshape);
    ax_tensor_contiguous(&lse, bf->lse, AX_F32, 4, lshape);
    int64_t fwd_mem = 0, bwd_mem = 0;
    for (int r = -1; r < repeats; r++) {
        ax_context_workspace_peak_reset(ctx);
        const double t0 = bench_now();
        ax_status st = ax_evoformer_attention_forward(ctx, &x[0], &x[1], &x[2], &x[8], &x[10], &x[3], &lse);
        const double t1 = bench_now();
        fwd_mem = ax_context_workspace_peak(ctx);
        ax_context_workspace_peak_reset(ctx);
        if (st == AX_OK)
            st = ax_evoformer_attention_backward(ctx, &x[0], &x[1], &x[2], &x[8], &x[10], &x[3], &lse, &x[4], &x[5],
                                                 &x[6], &x[7], &x[9], &x[11]);
        const double t2 = bench_now();
        bwd_mem = ax_context_workspace_peak(ctx);
        if (st != AX_OK) { /* no row: the arrays hold another run's times, or none */
            printf("%s %s: %s\n", s->name, dtype == AX_BF16 ? "bf16" : "fp32", ax_last_error());
            for (int t = 0; t < 12; t++) free(half[t]);
            return;
        }
        if (r >= 0) {
            tf[r] = t1 - t0;
            tb[r] = t2 - t1;
            bench_settle(); /* Axial's OpenMP workers spinning would slow the sgemm sample */
            gf[r] = bench_sgemm_sample(pk);
        }
    }
    const double flops = 4.0 * (double)s->B * (double)s->N * (double)s->H * (double)s->S * (double)s->S * (double)s->D;
    for (int r = 0; r < repeats; r++) {
        pk_f[r] = 100.0 * flops / tf[r] * 1e-9 / gf[r];
        pk_b[r] = 100.0 * 2.5 * flops / tb[r] * 1e-9 / gf[r];
    }
    const double pct_f = bench_median(pk_f, repeats), pct_b = bench_median(pk_b, repeats);
    *sgemm_gflops = bench_median(gf, repeats);
    const double f_ms = bench_median(tf, repeats) * 1e3, b_ms = bench_median(tb, repeats) * 1e3;
    const double f_gf = flops / f_ms * 1e-6, b_gf = 2.5 * flops / b_ms * 1e-6;
    printf("%-24s %-6s %9.2f %9.2f %8.1f %8.1f %6.1f%% %6.1f%% %6.2fx %10.2f %10.2f\n",
           dtype == AX_BF16 ? "" : s->name, dtype == AX_BF16 ? "bf16" : "axial", f_ms, b_ms, f_gf, b_gf, pct_f,
           pct_b, b_ms / f_ms, (double)fwd_mem / 1048576.0, (double)bwd_mem / 1048576.0);
    for (int t = 0; t < 12; t++) free(half[t]);
}

/* --vs-flash: times Evoformer attention and ax_attention_forward / _backward on the same work (the N
 * MSA rows as its batch), both with the pair bias (broadcast over the rows, its gradient computed) or
 * both without a bias; alternating within each repeat so both see the same moments of the machine.
 * Prints a row each with the medians and the percent of the sgemm sample taken after each repeat.
 * B must be 1 (a pair bias (B, 1, H, S, S) broadcasts over N inside the folded batch, which a 4-D
 * attention bias cannot say for B > 1). scratch: 5 * `repeats` doubles. */
static void bench_vs_flash(const shape *s, const buffers *bf, int with_pair, ax_context *ctx, int repeats,
                           bench_sgemm *pk, double *scratch) {
    const char *names[2] = {with_pair ? "evo-pb" : "evo-nb", with_pair ? "fla-pb" : "fla-nb"};
    if (s->B != 1) {
        printf("%-24s %-6s  skipped: needs B = 1\n", "", names[1]);
        return;
    }
    double *t[4] = {scratch, scratch + repeats, scratch + 2 * repeats, scratch + 3 * repeats};
    double *gf = scratch + 4 * repeats;
    const int64_t act5[5] = {s->B, s->N, s->S, s->H, s->D}, pshape5[5] = {s->B, 1, s->H, s->S, s->S};
    const int64_t act4[4] = {s->N, s->S, s->H, s->D}, pshape4[4] = {1, s->H, s->S, s->S};
    const int64_t lshape4[4] = {s->B, s->N, s->H, s->S}, lshape3[3] = {s->N, s->H, s->S};
    float *const bufs[9] = {bf->q, bf->k, bf->v, bf->out, bf->dout, bf->dq, bf->dk, bf->dv, bf->pair};
    ax_tensor e[9], f[9], edp, fdp, e_lse, f_lse;
    for (int i = 0; i < 9; i++) {
        ax_tensor_contiguous(&e[i], bufs[i], AX_F32, 5, i < 8 ? act5 : pshape5);
        ax_tensor_contiguous(&f[i], bufs[i], AX_F32, 4, i < 8 ? act4 : pshape4);
    }
    ax_tensor_contiguous(&edp, bf->dpair, AX_F32, 5, pshape5);
    ax_tensor_contiguous(&fdp, bf->dpair, AX_F32, 4, pshape4);
    ax_tensor_contiguous(&e_lse, bf->lse, AX_F32, 4, lshape4);
    ax_tensor_contiguous(&f_lse, bf->lse, AX_F32, 3, lshape3);
    const ax_tensor *epair = with_pair ? &e[8] : NULL, *fpair = with_pair ? &f[8] : NULL;
    ax_tensor *edpair = with_pair ? &edp : NULL, *fdpair = with_pair ? &fdp : NULL;
    for (int r = -1; r < repeats; r++) {
        double c[5];
        ax_status st;
        c[0] = bench_now();
        st = ax_evoformer_attention_forward(ctx, &e[0], &e[1], &e[2], NULL, epair, &e[3], &e_lse);
        c[1] = bench_now();
        if (st == AX_OK)
            st = ax_evoformer_attention_backward(ctx, &e[0], &e[1], &e[2], NULL, epair, &e[3], &e_lse, &e[4], &e[5],
                                                 &e[6], &e[7], NULL, edpair);
        c[2] = bench_now();
        if (st == AX_OK) st = ax_attention_forward(ctx, &f[0], &f[1], &f[2], fpair, NULL, &f[3], &f_lse);
        c[3] = bench_now();
        if (st == AX_OK)
            st = ax_attention_backward(ctx, &f[0], &f[1], &f[2], fpair, &f[3], &f_lse, &f[4], NULL, &f[5], &f[6],
                                       &f[7], fdpair);
        c[4] = bench_now();
        if (st != AX_OK) {
            printf("%-24s %-6s  %s\n", "", names[1], ax_last_error());
            return;
        }
        if (r >= 0) {
            for (int i = 0; i < 4; i++) t[i][r] = c[i + 1] - c[i];
            bench_settle();
            gf[r] = bench_sgemm_sample(pk);
        }
    }
    const double flops = 4.0 * (double)s->N * (double)s->H * (double)s->S * (double)s->S * (double)s->D;
    const double g = bench_median(gf, repeats);
    for (int row = 0; row < 2; row++) {
        const double f_ms = bench_median(t[2 * row], repeats) * 1e3;
        const double b_ms = bench_median(t[2 * row + 1], repeats) * 1e3;
        printf("%-24s %-6s %9.2f %9.2f %8.1f %8.1f %6.1f%% %6.1f%% %6.2fx\n", "", names[row], f_ms, b_ms,
               flops / f_ms * 1e-6, 2.5 * flops / b_ms * 1e-6, 100.0 * flops / f_ms * 1e-6 / g,
               100.0 * 2.5 * flops / b_ms * 1e-6 / g, b_ms / f_ms);
    }
}

static void bench_shape(const shape *s, int threads, int repeats, bench_sgemm *pk) {
    buffers bf;
    if (alloc_buffers(&bf, s) != 0) {
        printf("%-24s  out of memory for inputs\n", s->name);
        free_buffers(&bf);
        return;
    }
    ax_context_config cfg = AX_CONTEXT_CONFIG_INIT;
    cfg.num_threads = threads;
    ax_context *ctx = NULL;
    if (ax_context_create(&ctx, &cfg) != AX_OK) {
        printf("context: %s\n", ax_last_error());
        free_buffers(&bf);
        return;
    }
    double *scratch = calloc(5 * (size_t)repeats, sizeof(double)), *tf = scratch, *tb = tf + repeats;
    double sgemm_gflops = 0.0, sgemm_bf16 = 0.0;
    if (scratch == NULL) {
        printf("%-24s  out of memory for timings\n", s->name);
        ax_context_destroy(ctx);
        free_buffers(&bf);
        return;
    }
    bench_axial(s, &bf, AX_F32, ctx, repeats, pk, scratch, &sgemm_gflops);
    if (with_bf16) bench_axial(s, &bf, AX_BF16, ctx, repeats, pk, scratch, &sgemm_bf16);
    for (int with_pair = 1; vs_flash && with_pair >= 0; with_pair--)
        bench_vs_flash(s, &bf, with_pair, ctx, repeats, pk, scratch);
    printf("%-24s %-6s %.1f GFLOP/s (median of the samples beside the fp32 row", "", "sgemm", sgemm_gflops);
    if (with_bf16) printf("; %.1f beside the bf16 row", sgemm_bf16);
    printf(")\n");
    const double flops = 4.0 * (double)s->B * (double)s->N * (double)s->H * (double)s->S * (double)s->S * (double)s->D;

    bench_settle();
    /* The naive implementation: its working memory is the materialised logits (forward) plus their
     * gradient (backward). */
    const double logits_bytes = 4.0 * (double)s->B * (double)s->N * (double)s->H * (double)s->S * (double)s->S;
    if (2.0 * logits_bytes > (double)NAIVE_LIMIT_BYTES) {
        printf("%-24s %-6s  skipped: needs %.1f GiB for logits and their gradient\n", "", "naive",
               2.0 * logits_bytes / (1u << 30));
    } else {
        float *probs = malloc((size_t)logits_bytes), *dprobs = malloc((size_t)logits_bytes);
        if (probs && dprobs) {
            bench_blas_threads(1);
#ifdef _OPENMP
            omp_set_num_threads(threads);
#endif
            for (int r = -1; r < repeats; r++) {
                const double t0 = bench_now();
                naive_forward(s->B, s->N, s->S, s->H, s->D, bf.q, bf.k, bf.v, bf.mask, bf.pair, probs, bf.out);
                const double t1 = bench_now();
                naive_backward(s->B, s->N, s->S, s->H, s->D, bf.q, bf.k, bf.v, probs, bf.dout, dprobs, bf.dq, bf.dk,
                               bf.dv, bf.dmask, bf.dpair);
                const double t2 = bench_now();
                if (r >= 0) {
                    tf[r] = t1 - t0;
                    tb[r] = t2 - t1;
                }
            }
            const double nf = bench_median(tf, repeats) * 1e3, nb = bench_median(tb, repeats) * 1e3;
            if (!(sgemm_gflops > 0.0)) sgemm_gflops = NAN; /* the fp32 row failed: no baseline, "nan%" */
            printf("%-24s %-6s %9.2f %9.2f %8.1f %8.1f %6.1f%% %6.1f%% %6.2fx %10.2f %10.2f\n", "", "naive", nf, nb,
                   flops / nf * 1e-6, 2.5 * flops / nb * 1e-6, 100.0 * flops / nf * 1e-6 / sgemm_gflops,
                   100.0 * 2.5 * flops / nb * 1e-6 / sgemm_gflops, nb / nf, logits_bytes / 1048576.0,
                   2.0 * logits_bytes / 1048576.0);
        } else {
            printf("%-24s %-6s  skipped: could not allocate %.1f GiB\n", "", "naive", 2.0 * logits_bytes / (1u << 30));
        }
        free(probs);
        free(dprobs);
    }
    free(scratch);
    ax_context_destroy(ctx);
    free_buffers(&bf);
}

int main(int argc, char **argv) {
    int threads = 0, repeats = 5, gpu = 0;
    shape custom[16];
    int n_custom = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--repeats") == 0 && i + 1 < argc) repeats = atoi(argv[++i]);
        else if (strcmp(argv[i], "--gpu") == 0) gpu = 1;
        else if (strcmp(argv[i], "--bf16") == 0) with_bf16 = 1;
        else if (strcmp(argv[i], "--vs-flash") == 0) vs_flash = 1;
        else if (strcmp(argv[i], "--padded") == 0 && i + 1 < argc) padded_fraction = atof(argv[++i]);
        else if (strcmp(argv[i], "--shape") == 0 && i + 1 < argc && n_custom < 16) {
            shape *s = &custom[n_custom];
            long long b, n, sq, h, d;
            if (sscanf(argv[++i], "%lld,%lld,%lld,%lld,%lld", &b, &n, &sq, &h, &d) != 5) {
                fprintf(stderr, "--shape: expected B,N,S,H,D\n");
                return 2;
            }
            *s = (shape){"custom", b, n, sq, h, d};
            n_custom++;
        } else {
            fprintf(stderr,
                    "usage: %s [--threads T] [--repeats R] [--shape B,N,S,H,D]... [--padded F] [--bf16] [--vs-flash]"
                    " [--gpu]\n",
                    argv[0]);
            return 2;
        }
    }
    if (repeats < 1) repeats = 1;
    if (gpu) {
#ifdef AXIAL_BENCH_GPU
        return bench_evoformer_gpu(repeats);
#else
        printf("GPU benchmark: this build has no CUDA\n");
        return 0;
#endif
    }
#ifdef _OPENMP
    if (threads <= 0) threads = omp_get_max_threads();
#else
    if (threads <= 0) threads = 1;
#endif
    printf("Evoformer attention, CPU, fp32, %d threads, %s kernels, median of %d after a warm-up\n", threads,
           ax_cpu_path_name(ax_cpu_path_active()), repeats);
    printf("baseline: OpenBLAS sgemm 1536^3 with %d threads, one call after each repeat; %%pk columns: medians of\n"
           "the per-repeat ratios (naive: of the fp32 row's sgemm median, printed under each shape)\n",
           threads);
    printf("FLOPs: forward 4*B*N*H*S^2*D, backward 2.5x forward; memory = scratch beyond inputs/outputs\n");
    printf("mask: 1e9 * (mask - 1), every 11th key masked; padded MSA rows (every key masked): %.0f%%\n\n",
           100.0 * padded_fraction);
    printf("%-24s %-6s %9s %9s %8s %8s %7s %7s %7s %10s %10s\n", "shape (B,N,S,H,D)", "impl", "fwd ms", "bwd ms",
           "fwd GF/s", "bwd GF/s", "fwd %pk", "bwd %pk", "bwd/fwd", "fwd MiB", "bwd MiB");
    bench_sgemm *pk = bench_sgemm_create(1536, threads);
    if (pk == NULL) {
        fprintf(stderr, "out of memory for the sgemm baseline\n");
        return 1;
    }
    const shape *shapes = n_custom ? custom : default_shapes;
    const int n_shapes = n_custom ? n_custom : (int)(sizeof default_shapes / sizeof default_shapes[0]);
    for (int i = 0; i < n_shapes; i++) {
        printf("%-24s (%lld,%lld,%lld,%lld,%lld)\n", shapes[i].name, (long long)shapes[i].B, (long long)shapes[i].N,
               (long long)shapes[i].S, (long long)shapes[i].H, (long long)shapes[i].D);
        bench_shape(&shapes[i], threads, repeats, pk);
    }
    bench_sgemm_destroy(pk);
    return 0;
}
