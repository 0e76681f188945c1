/*
 * test_sampling_stats.c — ax_sample draws from the distribution it documents:
 *  - 20000 draws (counters 0..19999, one seed) from a fixed row of 32 logits (some -inf) at
 *    temperature 0.8, top-k 12 and a top-p that keeps exactly 10 tokens: Pearson's chi-square
 *    against the float64 probabilities of those 10 is below its 0.999 quantile (9 degrees of
 *    freedom), and no filtered-out or masked token ever appears. The seed is fixed, so the test
 *    is deterministic: it cannot flake, and a bias large enough to matter fails it every time.
 *  - each draw is the token the documented inverse CDF picks with ax_sampling_uniform's number
 *    (re-implemented here from sampling.h), except within 1e-5 relative of a CDF step;
 *  - the same (seed, counter) gives the same token on a second call, with the rows in reverse
 *    order (another batch position), and with one CPU thread instead of all;
 *  - ax_sampling_uniform matches the formula in sampling.h and is uniform enough (mean, buckets).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "axial/sampling.h"
#include "harness.h"

enum { V = 32, DRAWS = 20000, KEPT = 10 };

static const uint64_t kSeed = 0x5eed5eed1234ull;

static uint64_t ref_mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static double ref_uniform(uint64_t seed, uint64_t counter) {
    return ldexp((double)(ref_mix(ref_mix(seed) + 0x9E3779B97F4A7C15ull * (counter + 1)) >> 11), -53);
}

static float row_logits[V];
static double ref_p[V];   /* float64 probability of each token after the filters (0: filtered) */
static float top_p;

/* The row: distinct logits in a shuffled id order, four of them -inf; the float64 procedure of
 * sampling.h gives the kept set and its probabilities; top_p is set half-way between the 10th and
 * the 11th prefix sums so exactly 10 survive, far from any rounding question. */
static void make_row(void) {
    th_seed(42);
    for (int t = 0; t < V; t++) row_logits[t] = (float)((t * 13) % V) * 0.15f - 2.0f;
    row_logits[3] = row_logits[17] = row_logits[21] = row_logits[30] = -INFINITY;
    const double T = 0.8;
    int order[V], M = 0;
    for (int t = 0; t < V; t++)
        if (row_logits[t] != -INFINITY) order[M++] = t;
    for (int i = 0; i < M; i++) /* selection sort: x descending (the logits are distinct) */
        for (int j = i + 1; j < M; j++)
            if (row_logits[order[j]] > row_logits[order[i]]) {
                const int tmp = order[i];
                order[i] = order[j];
                order[j] = tmp;
            }
    const double m = row_logits[order[0]] / T;
    double e[V] = {0}, S_K = 0.0, cum[12];
    for (int i = 0; i < 12; i++) {
        e[order[i]] = exp(row_logits[order[i]] / T - m);
        S_K += e[order[i]];
        cum[i] = S_K;
    }
    top_p = (float)(0.5 * (cum[KEPT - 2] + cum[KEPT - 1]) / S_K); /* the 9th sum is short, the 10th reaches it */
    double S = 0.0;
    for (int i = 0; i < KEPT; i++) S += e[order[i]];
    memset(ref_p, 0, sizeof ref_p);
    for (int i = 0; i < KEPT; i++) ref_p[order[i]] = e[order[i]] / S;
}

/* Draws rows with counters counters[i] (all with kSeed) and returns their tokens. */
static void draw(ax_context *ctx, const uint64_t *counters, int n, int32_t *tokens) {
    float *logits = malloc(sizeof(float) * (size_t)n * V);
    ax_sampling_row *rows = malloc(sizeof(ax_sampling_row) * (size_t)n);
    if (logits == NULL || rows == NULL) {
        TH_FAIL("out of memory");
        exit(1);
    }
    for (int i = 0; i < n; i++) {
        memcpy(logits + (size_t)i * V, row_logits, sizeof row_logits);
        const ax_sampling_row init = AX_SAMPLING_ROW_INIT;
        rows[i] = init;
        rows[i].seed = kSeed;
        rows[i].counter = counters[i];
        rows[i].temperature = 0.8f;
        rows[i].top_k = 12;
        rows[i].top_p = top_p;
    }
    ax_tensor tl, ts, tt;
    const int64_t ls[2] = {n, V}, ss[2] = {n, AX_SAMPLING_ROW_BYTES}, ns = n;
    ax_tensor_contiguous(&tl, logits, AX_F32, 2, ls);
    ax_tensor_contiguous(&ts, rows, AX_U8, 2, ss);
    ax_tensor_contiguous(&tt, tokens, AX_I32, 1, &ns);
    CHECK_OK(ax_sample(ctx, &tl, &ts, NULL, NULL, &tt, NULL));
    free(logits);
    free(rows);
}

static void test_uniform(void) {
    double sum = 0.0;
    int buckets[10] = {0};
    for (uint64_t c = 0; c < 100000; c++) {
        const double u = ax_sampling_uniform(7, c);
        th_checks++;
        if (u != ref_uniform(7, c) || !(u >= 0.0 && u < 1.0)) {
            TH_FAIL("ax_sampling_uniform(7, %llu) = %.17g, expected %.17g", (unsigned long long)c, u, ref_uniform(7, c));
            return;
        }
        sum += u;
        buckets[(int)(u * 10)]++;
    }
    CHECK(fabs(sum / 100000 - 0.5) < 0.005); /* sd of the mean is 0.0009 */
    double chi = 0.0;
    for (int b = 0; b < 10; b++) chi += (buckets[b] - 10000.0) * (buckets[b] - 10000.0) / 10000.0;
    CHECK(chi < 27.877); /* 0.999 quantile, 9 degrees of freedom */
    CHECK(ax_sampling_uniform(1, 0) != ax_sampling_uniform(2, 0));
    CHECK(ax_sampling_uniform(1, 0) != ax_sampling_uniform(1, 1));
}

static void test_distribution(void) {
    ax_context *ctx = NULL, *ctx1 = NULL;
    ax_context_config cfg = AX_CONTEXT_CONFIG_INIT;
    cfg.num_threads = 1;
    CHECK_OK(ax_context_create(&ctx, NULL));
    CHECK_OK(ax_context_create(&ctx1, &cfg));
    uint64_t *counters = malloc(sizeof(uint64_t) * DRAWS), *reversed = malloc(sizeof(uint64_t) * DRAWS);
    int32_t *tok = malloc(sizeof(int32_t) * DRAWS), *again = malloc(sizeof(int32_t) * DRAWS);
    int32_t *rev = malloc(sizeof(int32_t) * DRAWS), *one = malloc(sizeof(int32_t) * DRAWS);
    if (!counters || !reversed || !tok || !again || !rev || !one) exit(1);
    for (int i = 0; i < DRAWS; i++) {
        counters[i] = (uint64_t)i;
        reversed[i] = (uint64_t)(DRAWS - 1 - i);
    }
    draw(ctx, counters, DRAWS, tok);
    draw(ctx, counters, DRAWS, again);
    draw(ctx, reversed, DRAWS, rev);
    draw(ctx1, counters, DRAWS, one);

    int count[V] = {0}, same = 1, same_rev = 1, same_one = 1, off_cdf = 0, bad_id = 0;
    for (int i = 0; i < DRAWS; i++) {
        if (tok[i] < 0 || tok[i] >= V) {
            bad_id++;
            continue;
        }
        count[tok[i]]++;
        same &= again[i] == tok[i];
        same_rev &= rev[DRAWS - 1 - i] == tok[i];
        same_one &= one[i] == tok[i];
        /* The documented inverse CDF in id order with the documented uniform. */
        const double u = ref_uniform(kSeed, (uint64_t)i);
        double run = 0.0, near = 1.0;
        int want = -1;
        for (int t = 0; t < V; t++) {
            if (ref_p[t] == 0.0) continue;
            run += ref_p[t];
            const double gap = fabs(run - u) / (u > 0 ? u : 1.0);
            if (gap < near) near = gap;
            if (want < 0 && run > u) want = t;
        }
        if (tok[i] != want && near > 1e-5) off_cdf++;
    }
    CHECK_INT_EQ(bad_id, 0);
    CHECK(same);
    CHECK(same_rev);
    CHECK(same_one);
    CHECK_INT_EQ(off_cdf, 0);
    double chi = 0.0;
    int seen_filtered = 0;
    for (int t = 0; t < V; t++) {
        if (ref_p[t] == 0.0) {
            seen_filtered += count[t];
            continue;
        }
        const double expect = ref_p[t] * DRAWS;
        chi += (count[t] - expect) * (count[t] - expect) / expect;
    }
    CHECK_INT_EQ(seen_filtered, 0);
    th_checks++;
    if (!(chi < 27.877)) TH_FAIL("chi-square %.3f over %d kept tokens, 0.999 quantile (9 dof) 27.877", chi, KEPT);
    printf("chi-square %.3f (9 degrees of freedom, 0.999 quantile 27.877), top_p %.6f\n", chi, (double)top_p);
    free(counters);
    free(reversed);
    free(tok);
    free(again);
    free(rev);
    free(one);
    ax_context_destroy(ctx);
    ax_context_destroy(ctx1);
}

/* Step 2 in f32, each operation rounded (volatile: the compiler may not fuse or widen them). */
static float ref_penalized(float w, int count, float rep, float freq, float pres) {
    volatile float v = w;
    if (rep != 1.0f) v = v > 0.0f ? v / rep : v * rep;
    volatile float c = (float)count * freq;
    volatile float pen = c + pres;
    return v - pen;
}

/* ax_sample on `ctx`'s device: the host arrays are copied there and the tokens back (a CPU context
 * takes them as they are). */
static ax_status sample_on(ax_context *ctx, float *logits, ax_sampling_row *rows, int32_t *hist, int64_t *offs,
                           int64_t n_rows, int64_t n_vocab, int64_t H, int32_t *tokens) {
    const int64_t ls[2] = {n_rows, n_vocab}, ss[2] = {n_rows, AX_SAMPLING_ROW_BYTES}, os = n_rows + 1, ns = n_rows;
    const size_t bytes[5] = {sizeof(float) * (size_t)(n_rows * n_vocab), sizeof(ax_sampling_row) * (size_t)n_rows,
                             sizeof(int32_t) * (size_t)H, sizeof(int64_t) * (size_t)os, sizeof(int32_t) * (size_t)ns};
    void *host[5] = {logits, rows, hist, offs, tokens}, *ptr[5] = {logits, rows, hist, offs, tokens};
    const int cuda = ax_context_device(ctx).type == AX_CUDA;
    ax_status st = AX_OK;
    for (int i = 0; cuda && i < 5; i++) {
        ptr[i] = NULL;
        if (st == AX_OK) st = ax_device_alloc(ctx, bytes[i], &ptr[i]);
        if (st == AX_OK && i < 4) st = ax_copy_to_device(ctx, ptr[i], host[i], bytes[i]);
    }
    ax_tensor tl, tsr, th, to, tt;
    ax_tensor_contiguous(&tl, ptr[0], AX_F32, 2, ls);
    ax_tensor_contiguous(&tsr, ptr[1], AX_U8, 2, ss);
    ax_tensor_contiguous(&th, ptr[2], AX_I32, 1, &H);
    ax_tensor_contiguous(&to, ptr[3], AX_I64, 1, &os);
    ax_tensor_contiguous(&tt, ptr[4], AX_I32, 1, &ns);
    tl.device = tsr.device = th.device = to.device = tt.device = ax_context_device(ctx);
    if (st == AX_OK) st = ax_sample(ctx, &tl, &tsr, &th, &to, &tt, NULL);
    if (st == AX_OK && cuda) st = ax_copy_to_host(ctx, tokens, ptr[4], bytes[4]);
    for (int i = 0; cuda && i < 5; i++) ax_device_free(ctx, ptr[i]);
    return st;
}

/* Step 2's arithmetic to the bit (sampling.h: f32, each operation rounded on its own), on the CPU
 * and on CUDA where there is a device: token 0, seen `count` times, against token 1 whose logit is
 * the documented penalized value (a tie: token 0, the lower id) or the next float above it (token
 * 1). A fused count * frequency + presence gives another float for some of these (count 3,
 * frequency 0.2, presence 0.1: 0.699999988 instead of 0.700000048), which one of the two rows then
 * shows: nvcc had fused it in the CUDA kernel (the CPU's ISO C build does not contract). */
static void test_penalty_rounding(void) {
    static const float ws[] = {1.0f, -2.5f, 0.7f, 13.37f};
    static const float reps[] = {1.0f, 1.3f};
    static const float freqs[] = {0.1f, 0.2f, 0.3f, 0.7f, 1.3f, -0.4f};
    static const float press[] = {0.1f, 0.3f, -0.2f, 0.05f};
    enum { MAXC = 6, ROWS = 2 };
    for (int device = 0; device < 2; device++) {
        if (device == 1 && ax_cuda_device_count() == 0) break; /* the CPU only, here */
        ax_context_config cfg = AX_CONTEXT_CONFIG_INIT;
        if (device == 1) cfg.device.type = AX_CUDA;
        ax_context *ctx = NULL;
        CHECK_OK(ax_context_create(&ctx, &cfg));
        if (ctx == NULL) return;
        int failed = 0;
        for (size_t wi = 0; !failed && wi < sizeof ws / sizeof ws[0]; wi++)
            for (size_t ri = 0; !failed && ri < sizeof reps / sizeof reps[0]; ri++)
                for (size_t fi = 0; !failed && fi < sizeof freqs / sizeof freqs[0]; fi++)
                    for (size_t pi = 0; !failed && pi < sizeof press / sizeof press[0]; pi++)
                        for (int count = 1; !failed && count <= MAXC; count++) {
                            const float r = ref_penalized(ws[wi], count, reps[ri], freqs[fi], press[pi]);
                            float logits[ROWS * 2] = {ws[wi], r, ws[wi], nextafterf(r, INFINITY)};
                            ax_sampling_row rows[ROWS];
                            int32_t hist[ROWS * MAXC] = {0}, tokens[ROWS] = {-2, -2};
                            int64_t offs[ROWS + 1] = {0, count, 2 * count};
                            for (int k = 0; k < ROWS; k++) {
                                const ax_sampling_row init = AX_SAMPLING_ROW_INIT;
                                rows[k] = init;
                                rows[k].temperature = 0.0f;
                                rows[k].repetition_penalty = reps[ri];
                                rows[k].frequency_penalty = freqs[fi];
                                rows[k].presence_penalty = press[pi];
                            }
                            CHECK_OK(sample_on(ctx, logits, rows, hist, offs, ROWS, 2, 2 * count, tokens));
                            th_checks++;
                            if (tokens[0] != 0 || tokens[1] != 1) {
                                TH_FAIL("%s: w %g, repetition %g, frequency %g, presence %g, count %d: tokens %d %d, "
                                        "expected 0 1 (penalized value %.9g)", device ? "cuda" : "cpu",
                                        (double)ws[wi], (double)reps[ri], (double)freqs[fi], (double)press[pi], count,
                                        tokens[0], tokens[1], (double)r);
                                failed = 1;
                            }
                        }
        ax_context_destroy(ctx);
    }
}

int main(void) {
    make_row();
    RUN(test_uniform);
    RUN(test_distribution);
    RUN(test_penalty_rounding);
    return th_finish();
}
