/*
 * test_batch_invariance.c — the CPU kernels a served model runs give a row (a token) the same bits
 * whatever else shares its batch: the serving engine (include/axial/serving.h) promises that a
 * request's greedy tokens do not depend on the other requests of a step, and that holds only if
 * every op is batch invariant.
 *
 *   - ax_qmatmul, every weight dtype and x in f32 / bf16, K from one x group to past the panel's K
 *     chunk (4096), N = 45 (not a multiple of the 4-row panel, and past one 32-row panel of the VNNI
 *     kernel): row m of a batch of M in {2, 3, 5, 17} (at several places in the batch, so it meets
 *     every row-block kernel: pairs and odd rows, or blocks of 4 and the 1-3 tails) equals
 *     bit for bit the row computed alone (M = 1, the decode path), with 1 and 2 threads; and every
 *     row lies within ax_qmatmul's documented error bound of a float64 product with the dequantized
 *     w (ax_convert, itself checked against the `gguf` package by test_quant / test_qmatmul_gguf).
 *   - ax_paged_attention (num_splits 1, causal, scattered block table, block sizes 16 and 32,
 *     H 9, Hkv 3, D 64): a sequence's output rows and lse are the same bits alone or in a ragged
 *     batch with others, and whether its queries come in one prefill or in chunks then decode
 *     steps; the values against a float64 softmax attention.
 *   - ax_rms_norm, ax_rms_norm_residual, ax_rope, ax_glu, ax_embedding: row t of a batch equals the
 *     row computed alone, with 1 and 2 threads.
 *
 *   - With --model (the real SmolLM2 model, scripts/fetch-model.sh or AXIAL_MODEL; SKIP (77) without
 *     it): a prompt's logits are the same bits evaluated in one pass, in chunks of 3 and token by
 *     token, with 1 and 2 threads (before the decode path matched the panel path they differed by
 *     up to 1.7 in a logit).
 *
 * Run again with AXIAL_CPU_PATH=portable (tests/batch_invariance_tests.cmake).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>

#include "axial/attention.h"
#include "axial/linalg.h"
#include "axial/llm.h"
#include "axial/nn.h"
#include "harness.h"
#include "model_path.h"

static ax_context *ctx1, *ctx2; /* one and two threads */

static ax_context *make_context(int32_t threads) {
    ax_context_config cfg = AX_CONTEXT_CONFIG_INIT;
    cfg.num_threads = threads;
    ax_context *c = NULL;
    if (ax_context_create(&c, &cfg) != AX_OK) return NULL;
    return c;
}

static void fill_uniform(float *v, int64_t n, double lo, double hi) {
    for (int64_t i = 0; i < n; i++) v[i] = (float)th_uniform(lo, hi);
}

/* Index of the first of n rows of `bytes` bytes where a and b differ, or -1. */
static int64_t first_row_differing(const void *a, const void *b, int64_t n, size_t bytes) {
    for (int64_t i = 0; i < n; i++)
        if (memcmp((const char *)a + i * bytes, (const char *)b + i * bytes, bytes) != 0) return i;
    return -1;
}

/* ---- ax_qmatmul ---- */

enum { QM_MAX_M = 17, QM_N = 45 };

static float f32_of(const void *y, ax_dtype dt, int64_t i) {
    float v;
    if (dt == AX_F32) return ((const float *)y)[i];
    ax_convert((const uint16_t *)y + i, AX_BF16, &v, AX_F32, 1);
    return v;
}

static int qmm_run(ax_context *ctx, const void *x, ax_dtype xdt, int64_t M, int64_t K, const ax_tensor *w,
                   const float *bias, void *y, ax_dtype ydt) {
    ax_tensor tx, tb, ty;
    const int64_t xs[2] = {M, K}, ys[2] = {M, QM_N}, bs = QM_N;
    ax_tensor_contiguous(&tx, (void *)x, xdt, 2, xs);
    ax_tensor_contiguous(&tb, (void *)bias, AX_F32, 1, &bs);
    ax_tensor_contiguous(&ty, y, ydt, 2, ys);
    const ax_status st = ax_qmatmul(ctx, &tx, w, &tb, &ty);
    if (st != AX_OK) TH_FAIL("ax_qmatmul M=%lld K=%lld: %s", (long long)M, (long long)K, ax_last_error());
    return st == AX_OK;
}

/* One (w dtype, x dtype, K) case. */
static void qmm_case(ax_dtype wdt, ax_dtype xdt, int64_t K) {
    const ax_dtype ydt = xdt; /* f32 y with f32 x, bf16 y with bf16 x: both stores */
    const size_t xe = xdt == AX_F32 ? 4 : 2, ye = ydt == AX_F32 ? 4 : 2;
    float *xf = malloc((size_t)(QM_MAX_M * K) * sizeof(float)), *wf = malloc((size_t)(QM_N * K) * sizeof(float));
    float *wd = malloc((size_t)(QM_N * K) * sizeof(float)), bias[QM_N];
    void *x = malloc((size_t)(QM_MAX_M * K) * xe), *wq = malloc((size_t)ax_dtype_bytes(wdt, QM_N * K));
    unsigned char *alone = malloc((size_t)QM_MAX_M * QM_N * ye), *y = malloc((size_t)QM_MAX_M * QM_N * ye);
    float *wbmax = NULL; /* each 32 elements' largest |w|, for the bound */
    if (!xf || !wf || !wd || !x || !wq || !alone || !y) {
        TH_FAIL("out of memory");
        goto done;
    }
    /* Rows of x of different magnitudes, with an outlier now and then so x's groups get different
     * scales; w's rows with a per-row offset so q4_1's and q4_K's minima matter. */
    for (int64_t m = 0; m < QM_MAX_M; m++) {
        const double mag = 0.25 + 0.3 * (double)(m % 5);
        fill_uniform(xf + m * K, K, -mag, mag);
        for (int64_t k = (m * 37) % 97; k < K; k += 211) xf[m * K + k] *= 6.0f;
    }
    for (int64_t n = 0; n < QM_N; n++) fill_uniform(wf + n * K, K, -0.05 + 0.01 * (double)(n % 3), 0.06);
    fill_uniform(bias, QM_N, -0.5, 0.5);
    CHECK_OK(ax_convert(xf, AX_F32, x, xdt, QM_MAX_M * K));
    CHECK_OK(ax_convert(x, xdt, xf, AX_F32, QM_MAX_M * K)); /* the values the kernel sees */
    CHECK_OK(ax_convert(wf, AX_F32, wq, wdt, QM_N * K));
    CHECK_OK(ax_convert(wq, wdt, wd, AX_F32, QM_N * K));
    ax_tensor tw;
    const int64_t wshape[2] = {QM_N, K};
    ax_tensor_contiguous(&tw, wq, wdt, 2, wshape);
    const size_t row = (size_t)QM_N * ye;
    wbmax = malloc((size_t)(QM_N * ((K + 31) / 32)) * sizeof(float));
    if (wbmax == NULL) {
        TH_FAIL("out of memory");
        goto done;
    }
    for (int64_t n = 0; n < QM_N; n++)
        for (int64_t b = 0; b < (K + 31) / 32; b++) {
            float mx = 0.0f;
            for (int64_t j = 32 * b; j < 32 * b + 32 && j < K; j++) mx = fmaxf(mx, fabsf(wd[n * K + j]));
            wbmax[n * ((K + 31) / 32) + b] = mx;
        }

    /* Each row alone (decode), one thread; again with two. */
    for (int64_t m = 0; m < QM_MAX_M; m++)
        if (!qmm_run(ctx1, (char *)x + m * K * xe, xdt, 1, K, &tw, bias, alone + m * row, ydt)) goto done;
    for (int64_t m = 0; m < QM_MAX_M; m++) {
        if (!qmm_run(ctx2, (char *)x + m * K * xe, xdt, 1, K, &tw, bias, y, ydt)) goto done;
        if (memcmp(y, alone + m * row, row) != 0) TH_FAIL("%s K=%lld: row %lld alone differs with 2 threads",
                                                          ax_dtype_name(wdt), (long long)K, (long long)m);
        th_checks++;
    }

    /* Batches of rows [s, s + M): row m sits at position m - s, paired or odd. */
    static const int64_t batch_sizes[] = {2, 3, 5, 17};
    for (size_t bi = 0; bi < sizeof batch_sizes / sizeof batch_sizes[0]; bi++) {
        const int64_t M = batch_sizes[bi];
        const int64_t starts[3] = {0, 1, QM_MAX_M - M};
        for (int si = 0; si < 3; si++) {
            const int64_t s = starts[si];
            if (s + M > QM_MAX_M || (si > 0 && s == starts[si - 1])) continue;
            for (int t = 0; t < 2; t++) {
                if (!qmm_run(t == 0 ? ctx1 : ctx2, (char *)x + s * K * xe, xdt, M, K, &tw, bias, y, ydt)) goto done;
                const int64_t bad = first_row_differing(y, alone + s * row, M, row);
                th_checks++;
                if (bad >= 0) {
                    int64_t n = 0;
                    while (memcmp((char *)y + bad * row + n * ye, alone + (s + bad) * row + n * ye, ye) == 0) n++;
                    TH_FAIL("%s x %s K=%lld: row %lld in a batch of %lld (from row %lld, %d threads) differs from "
                            "the row alone: y[%lld] %.9g vs %.9g",
                            ax_dtype_name(wdt), ax_dtype_name(xdt), (long long)K, (long long)(s + bad), (long long)M,
                            (long long)s, t + 1, (long long)n, f32_of(y, ydt, bad * QM_N + n),
                            f32_of(alone, ydt, (s + bad) * QM_N + n));
                }
            }
        }
    }

    /* The values: |y - y64| within linalg.h's bound for quantized w (half an x step per element,
     * sum over x's groups of amax_g / 254 * sum |w|), plus fp32 accumulation (a generous K/8 + 64
     * units of 2^-24 of the summed magnitudes, counting a block's offset apart from its steps), plus
     * half a bf16 step of y. */
    const int quant = ax_dtype_block_elems(wdt) > 1;
    const int64_t G = K % 256 == 0 ? 256 : K % 128 == 0 ? 128 : K % 64 == 0 ? 64 : 32;
    double worst = 0.0;
    for (int64_t m = 0; m < QM_MAX_M; m++) {
        const float *xr = xf + m * K;
        for (int64_t n = 0; n < QM_N; n++) {
            const float *wr = wd + n * K;
            double ref = bias[n], qerr = 0.0, mags = fabs((double)bias[n]);
            for (int64_t g = 0; g < K; g += quant ? G : K) {
                const int64_t ge = quant ? g + G : K;
                double amax = 0.0, wsum = 0.0;
                for (int64_t k = g; k < ge; k++) amax = fmax(amax, fabs((double)xr[k]));
                for (int64_t k = g; k < ge; k++) {
                    ref += (double)xr[k] * (double)wr[k];
                    wsum += fabs((double)wr[k]);
                    const double bmax = wbmax[n * ((K + 31) / 32) + k / 32]; /* bounds the offset and steps */
                    mags += (quant ? amax : fabs((double)xr[k])) * (quant ? 3.0 * bmax : fabs((double)wr[k]));
                }
                if (quant) qerr += amax / 254.0 * wsum;
            }
            const double got = f32_of(alone, ydt, m * QM_N + n);
            double tol = qerr + ((double)K / 8.0 + 64.0) * ldexp(mags, -24);
            if (ydt == AX_BF16) tol += ldexp(fabs(ref) + tol, -8);
            th_checks++;
            if (!(fabs(got - ref) <= tol)) {
                TH_FAIL("%s x %s K=%lld: y[%lld, %lld] = %.9g, float64 %.9g, error %.3g > bound %.3g", ax_dtype_name(wdt),
                        ax_dtype_name(xdt), (long long)K, (long long)m, (long long)n, got, ref, fabs(got - ref), tol);
                goto done;
            }
            if (tol > 0) worst = fmax(worst, fabs(got - ref) / tol);
        }
    }
    if (worst > 1.0) TH_FAIL("worst error/bound %.3g", worst);

done:
    free(xf), free(wf), free(wd), free(x), free(wq), free(alone), free(y), free(wbmax);
}

static void test_qmatmul_rows_do_not_depend_on_the_batch(void) {
    th_seed(1601);
    /* 96: x groups of 32; 576: of 64 (SmolLM2's hidden size); 1536 and 4096: of 256, 4096 the whole
     * panel chunk; 4160 and 4608: a second, short chunk (groups of 64, 256). */
    static const int64_t k32[] = {64, 96, 576, 1536, 4096, 4160, 4608};
    static const int64_t k256[] = {256, 1536, 4096, 4608};
    static const int64_t kfloat[] = {64, 100, 576, 1536, 4096, 4611};
    static const ax_dtype wdts[] = {AX_F32, AX_F16, AX_BF16, AX_Q4_0, AX_Q4_1, AX_Q8_0, AX_Q4_K, AX_Q6_K};
    static const ax_dtype xdts[] = {AX_F32, AX_BF16};
    for (size_t wi = 0; wi < sizeof wdts / sizeof wdts[0]; wi++) {
        const ax_dtype wdt = wdts[wi];
        const int64_t be = ax_dtype_block_elems(wdt);
        const int64_t *ks = be == 1 ? kfloat : be == 32 ? k32 : k256;
        const size_t nk = be == 1 ? sizeof kfloat / sizeof kfloat[0] : be == 32 ? sizeof k32 / sizeof k32[0]
                                                                               : sizeof k256 / sizeof k256[0];
        for (size_t xi = 0; xi < 2; xi++)
            for (size_t ki = 0; ki < nk; ki++) qmm_case(wdt, xdts[xi], ks[ki]);
    }
}

/* ---- ax_paged_attention ---- */

enum { PA_H = 9, PA_HKV = 3, PA_D = 64, PA_SEQS = 3, PA_MAXB = 8 };

/* One sequence's chunks, in query rows per step (0 ends the list). */
static const int32_t pa_ctx[PA_SEQS] = {45, 77, 19};
static const int32_t pa_chunks[PA_SEQS][12] = {
    {20, 24, 1, 0}, {33, 37, 1, 1, 1, 1, 1, 1, 1, 0}, {7, 12, 0}};

typedef struct pa_problem {
    ax_dtype dt;
    int64_t bs, num_blocks;
    void *kc, *vc;        /* (num_blocks, bs, Hkv, D) */
    void *q[PA_SEQS];     /* (ctx_s, H, D): the query of each position */
    int32_t bt[PA_SEQS * PA_MAXB];
    size_t e;
} pa_problem;

/* Runs sequences seqs[0 .. ns) with query rows [from[i], to[i]) (positions), each seeing keys
 * [0, to[i]); out (T, H, D) and lse (H, T) in the batch's row order. */
static int pa_run(ax_context *ctx, const pa_problem *pb, int ns, const int *seqs, const int32_t *from,
                  const int32_t *to, void *out, float *lse) {
    int32_t cu[PA_SEQS + 1], cl[PA_SEQS], bt[PA_SEQS * PA_MAXB];
    cu[0] = 0;
    for (int i = 0; i < ns; i++) {
        cu[i + 1] = cu[i] + (to[i] - from[i]);
        cl[i] = to[i];
        memcpy(bt + i * PA_MAXB, pb->bt + seqs[i] * PA_MAXB, PA_MAXB * sizeof(int32_t));
    }
    const int64_t T = cu[ns];
    char *q = malloc((size_t)T * PA_H * PA_D * pb->e);
    if (q == NULL) return 0;
    for (int i = 0; i < ns; i++)
        memcpy(q + (size_t)cu[i] * PA_H * PA_D * pb->e, (char *)pb->q[seqs[i]] + (size_t)from[i] * PA_H * PA_D * pb->e,
               (size_t)(to[i] - from[i]) * PA_H * PA_D * pb->e);
    ax_tensor tq, tk, tv, tbt, tcl, tcu, to_, tl;
    const int64_t qs[3] = {T, PA_H, PA_D}, cs[4] = {pb->num_blocks, pb->bs, PA_HKV, PA_D}, bts[2] = {ns, PA_MAXB};
    const int64_t nsl = ns, ns1 = ns + 1, ls[2] = {PA_H, T};
    ax_tensor_contiguous(&tq, q, pb->dt, 3, qs);
    ax_tensor_contiguous(&tk, pb->kc, pb->dt, 4, cs);
    ax_tensor_contiguous(&tv, pb->vc, pb->dt, 4, cs);
    ax_tensor_contiguous(&tbt, bt, AX_I32, 2, bts);
    ax_tensor_contiguous(&tcl, cl, AX_I32, 1, &nsl);
    ax_tensor_contiguous(&tcu, cu, AX_I32, 1, &ns1);
    ax_tensor_contiguous(&to_, out, pb->dt, 3, qs);
    ax_tensor_contiguous(&tl, lse, AX_F32, 2, ls);
    ax_paged_attention_options opt = ax_paged_attention_options_default();
    opt.num_splits = 1;
    const ax_status st = ax_paged_attention(ctx, &tq, &tk, &tv, &tbt, &tcl, &tcu, NULL, NULL, &opt, &to_, &tl);
    free(q);
    if (st != AX_OK) TH_FAIL("ax_paged_attention: %s", ax_last_error());
    return st == AX_OK;
}

/* Rows [from, to) of sequence s in a batch result (rows starting at row0 of T) against the
 * sequence's rows alone (ref_out (ctx, H, D), ref_lse (H, ctx)). */
static void pa_compare(const pa_problem *pb, int s, int32_t from, int32_t to, const char *out, const float *lse,
                       int64_t row0, int64_t T, const char *ref_out, const float *ref_lse, const char *what) {
    const size_t rowb = (size_t)PA_H * PA_D * pb->e;
    th_checks++;
    const int64_t bad = first_row_differing(out + row0 * rowb, ref_out + (size_t)from * rowb, to - from, rowb);
    if (bad >= 0)
        TH_FAIL("%s bs=%lld %s: sequence %d position %lld: out differs from the sequence alone",
                ax_dtype_name(pb->dt), (long long)pb->bs, what, s, (long long)(from + bad));
    for (int h = 0; h < PA_H; h++)
        for (int32_t i = from; i < to; i++)
            if (memcmp(&lse[h * T + row0 + (i - from)], &ref_lse[h * pa_ctx[s] + i], sizeof(float)) != 0) {
                TH_FAIL("%s bs=%lld %s: sequence %d position %d head %d: lse %.9g vs %.9g alone", ax_dtype_name(pb->dt),
                        (long long)pb->bs, what, s, (int)i, h, lse[h * T + row0 + (i - from)],
                        ref_lse[h * pa_ctx[s] + i]);
                return;
            }
}

/* Float64 causal attention of sequence s's query at position i, head h, against out (f32). */
static void pa_check_reference(const pa_problem *pb, int s, const float *out) {
    const double scale = 1.0 / sqrt((double)PA_D);
    const float *q = pb->q[s], *kc = pb->kc, *vc = pb->vc;
    double worst = 0.0;
    for (int32_t i = 0; i < pa_ctx[s]; i++)
        for (int h = 0; h < PA_H; h++) {
            const int g = h / (PA_H / PA_HKV);
            double logit[128], mx = -INFINITY, l = 0.0, acc[PA_D] = {0};
            for (int32_t j = 0; j <= i; j++) {
                const int64_t blk = pb->bt[s * PA_MAXB + j / pb->bs];
                const float *k = kc + ((blk * pb->bs + j % pb->bs) * PA_HKV + g) * PA_D;
                double d = 0.0;
                for (int e = 0; e < PA_D; e++) d += (double)q[(i * PA_H + h) * PA_D + e] * (double)k[e];
                logit[j] = d * scale;
                mx = fmax(mx, logit[j]);
            }
            for (int32_t j = 0; j <= i; j++) {
                const int64_t blk = pb->bt[s * PA_MAXB + j / pb->bs];
                const float *v = vc + ((blk * pb->bs + j % pb->bs) * PA_HKV + g) * PA_D;
                const double p = exp(logit[j] - mx);
                l += p;
                for (int e = 0; e < PA_D; e++) acc[e] += p * (double)v[e];
            }
            for (int e = 0; e < PA_D; e++) worst = fmax(worst, fabs(out[(i * PA_H + h) * PA_D + e] - acc[e] / l));
        }
    th_checks++;
    /* Values of v in [-1, 1): fp32 softmax and accumulation over at most 77 keys. */
    if (!(worst <= 2e-6)) TH_FAIL("bs=%lld sequence %d: |out - float64| up to %.3g", (long long)pb->bs, s, worst);
}

static void pa_case(ax_dtype dt, int64_t bs) {
    pa_problem pb;
    memset(&pb, 0, sizeof pb);
    pb.dt = dt;
    pb.bs = bs;
    pb.e = dt == AX_F32 ? 4 : 2;
    int64_t used = 0;
    for (int s = 0; s < PA_SEQS; s++) used += (pa_ctx[s] + bs - 1) / bs;
    pb.num_blocks = used + 3;
    const int64_t cache_n = pb.num_blocks * bs * PA_HKV * PA_D;
    float *kf = malloc((size_t)cache_n * sizeof(float)), *vf = malloc((size_t)cache_n * sizeof(float));
    pb.kc = malloc((size_t)cache_n * pb.e);
    pb.vc = malloc((size_t)cache_n * pb.e);
    char *ref_out[PA_SEQS] = {0}, *out = malloc((size_t)256 * PA_H * PA_D * 4);
    float *ref_lse[PA_SEQS] = {0}, *lse = malloc((size_t)256 * PA_H * sizeof(float));
    for (int s = 0; s < PA_SEQS; s++) {
        pb.q[s] = malloc((size_t)pa_ctx[s] * PA_H * PA_D * pb.e);
        ref_out[s] = malloc((size_t)pa_ctx[s] * PA_H * PA_D * pb.e);
        ref_lse[s] = malloc((size_t)pa_ctx[s] * PA_H * sizeof(float));
    }
    /* A block table that is a shuffle of the pool (Fisher-Yates), every sequence's blocks scattered. */
    int32_t perm[64];
    for (int64_t i = 0; i < pb.num_blocks; i++) perm[i] = (int32_t)i;
    for (int64_t i = pb.num_blocks - 1; i > 0; i--) {
        const int64_t j = (int64_t)(th_rand_u64() % (uint64_t)(i + 1));
        const int32_t t = perm[i];
        perm[i] = perm[j], perm[j] = t;
    }
    int64_t next = 0;
    for (int s = 0; s < PA_SEQS; s++)
        for (int b = 0; b < PA_MAXB; b++) pb.bt[s * PA_MAXB + b] = b * bs < pa_ctx[s] ? perm[next++] : -1;
    fill_uniform(kf, cache_n, -1.0, 1.0);
    fill_uniform(vf, cache_n, -1.0, 1.0);
    CHECK_OK(ax_convert(kf, AX_F32, pb.kc, dt, cache_n));
    CHECK_OK(ax_convert(vf, AX_F32, pb.vc, dt, cache_n));
    for (int s = 0; s < PA_SEQS; s++) {
        const int64_t n = (int64_t)pa_ctx[s] * PA_H * PA_D;
        float *qf = malloc((size_t)n * sizeof(float));
        fill_uniform(qf, n, -1.5, 1.5);
        ax_convert(qf, AX_F32, pb.q[s], dt, n);
        free(qf);
    }

    /* Each sequence alone, all its queries at once, one thread. */
    for (int s = 0; s < PA_SEQS; s++) {
        const int32_t from = 0, to = pa_ctx[s];
        if (!pa_run(ctx1, &pb, 1, &s, &from, &to, ref_out[s], ref_lse[s])) goto done;
        if (dt == AX_F32) pa_check_reference(&pb, s, (const float *)ref_out[s]);
    }
    for (int t = 0; t < 2; t++) {
        ax_context *ctx = t == 0 ? ctx1 : ctx2;
        /* All three together, in another order. */
        const int seqs[PA_SEQS] = {2, 0, 1};
        int32_t from[PA_SEQS], to[PA_SEQS];
        int64_t T = 0;
        for (int i = 0; i < PA_SEQS; i++) from[i] = 0, to[i] = pa_ctx[seqs[i]], T += to[i];
        if (!pa_run(ctx, &pb, PA_SEQS, seqs, from, to, out, lse)) goto done;
        for (int i = 0, row0 = 0; i < PA_SEQS; row0 += to[i], i++)
            pa_compare(&pb, seqs[i], from[i], to[i], out, lse, row0, T, ref_out[seqs[i]], ref_lse[seqs[i]],
                       t == 0 ? "one batch, 1 thread" : "one batch, 2 threads");
        /* Step by step: each sequence's chunks (a prefill chunk, then more, then decode rows) with
         * whatever the other sequences have at that step. */
        int32_t done_to[PA_SEQS] = {0};
        for (int step = 0; step < 12; step++) {
            int ns = 0, sq[PA_SEQS];
            T = 0;
            for (int s = 0; s < PA_SEQS; s++) {
                if (pa_chunks[s][step] == 0 || (step > 0 && pa_chunks[s][step - 1] == 0)) continue;
                sq[ns] = s, from[ns] = done_to[s], to[ns] = done_to[s] + pa_chunks[s][step];
                T += to[ns] - from[ns];
                ns++;
            }
            if (ns == 0) break;
            if (!pa_run(ctx, &pb, ns, sq, from, to, out, lse)) goto done;
            for (int i = 0, row0 = 0; i < ns; row0 += to[i] - from[i], i++) {
                pa_compare(&pb, sq[i], from[i], to[i], out, lse, row0, T, ref_out[sq[i]], ref_lse[sq[i]],
                           t == 0 ? "chunked steps, 1 thread" : "chunked steps, 2 threads");
                done_to[sq[i]] = to[i];
            }
        }
        for (int s = 0; s < PA_SEQS; s++) CHECK_INT_EQ(done_to[s], pa_ctx[s]);
    }
done:
    for (int s = 0; s < PA_SEQS; s++) free(pb.q[s]), free(ref_out[s]), free(ref_lse[s]);
    free(kf), free(vf), free(pb.kc), free(pb.vc), free(out), free(lse);
}

static void test_paged_attention_rows_do_not_depend_on_the_batch(void) {
    th_seed(1602);
    pa_case(AX_F32, 16);
    pa_case(AX_F32, 32);
    pa_case(AX_BF16, 16);
}

/* ---- per-row ops ---- */

enum { ROW_T = 17, ROW_D = 576, ROW_F = 1536, ROPE_H = 9, ROPE_D = 64, EMB_V = 50 };

/* Calls op(ctx, rows [t0, t0 + n)) and returns its status; out rows land at their own places. */
typedef ax_status (*row_op)(ax_context *ctx, int64_t t0, int64_t n);

/* Every row computed alone with one thread against the whole batch with one and two threads, and
 * against batches [t0, t0 + 5). out holds ROW_T rows of row_bytes. */
static void check_rows(const char *what, row_op op, const void *out, size_t row_bytes) {
    unsigned char *alone = malloc((size_t)ROW_T * row_bytes);
    if (alone == NULL) return;
    for (int64_t t = 0; t < ROW_T; t++) CHECK_OK(op(ctx1, t, 1));
    memcpy(alone, out, (size_t)ROW_T * row_bytes);
    for (int c = 0; c < 3; c++) {
        memset((void *)out, 0xa5, (size_t)ROW_T * row_bytes);
        if (c < 2) {
            CHECK_OK(op(c == 0 ? ctx1 : ctx2, 0, ROW_T));
        } else {
            for (int64_t t0 = 0; t0 < ROW_T; t0 += 5) CHECK_OK(op(ctx2, t0, ROW_T - t0 < 5 ? ROW_T - t0 : 5));
        }
        th_checks++;
        const int64_t bad = first_row_differing(out, alone, ROW_T, row_bytes);
        if (bad >= 0)
            TH_FAIL("%s: row %lld differs from the row alone (%s)", what, (long long)bad,
                    c == 0 ? "batch of 17, 1 thread" : c == 1 ? "batch of 17, 2 threads" : "batches of 5, 2 threads");
    }
    free(alone);
}

static float rx[ROW_T * ROW_F], rres[ROW_T * ROW_D], rw[ROW_D], rout[ROW_T * ROW_F], rres_out[ROW_T * ROW_D];
static float rup[ROW_T * ROW_F];
static uint16_t rx16[ROW_T * ROW_D], rout16[ROW_T * ROW_D];
static int32_t rpos[ROW_T], rids[ROW_T];
static unsigned char remb[EMB_V * ROW_D * 4];
static float remb_src[EMB_V * ROW_D];
static ax_dtype remb_dt;

static ax_status op_rms_norm(ax_context *ctx, int64_t t0, int64_t n) {
    ax_tensor x, w, o;
    const int64_t s[2] = {n, ROW_D}, d = ROW_D;
    ax_tensor_contiguous(&x, rx + t0 * ROW_D, AX_F32, 2, s);
    ax_tensor_contiguous(&w, rw, AX_F32, 1, &d);
    ax_tensor_contiguous(&o, rout + t0 * ROW_D, AX_F32, 2, s);
    return ax_rms_norm(ctx, &x, &w, 1e-5f, &o);
}

static ax_status op_rms_norm_bf16(ax_context *ctx, int64_t t0, int64_t n) {
    ax_tensor x, w, o;
    const int64_t s[2] = {n, ROW_D}, d = ROW_D;
    ax_tensor_contiguous(&x, rx16 + t0 * ROW_D, AX_BF16, 2, s);
    ax_tensor_contiguous(&w, rw, AX_F32, 1, &d);
    ax_tensor_contiguous(&o, rout16 + t0 * ROW_D, AX_BF16, 2, s);
    return ax_rms_norm(ctx, &x, &w, 1e-5f, &o);
}

static ax_status op_rms_norm_residual(ax_context *ctx, int64_t t0, int64_t n) {
    ax_tensor x, r, w, o, ro;
    const int64_t s[2] = {n, ROW_D}, d = ROW_D;
    ax_tensor_contiguous(&x, rx + t0 * ROW_D, AX_F32, 2, s);
    ax_tensor_contiguous(&r, rres + t0 * ROW_D, AX_F32, 2, s);
    ax_tensor_contiguous(&w, rw, AX_F32, 1, &d);
    ax_tensor_contiguous(&o, rout + t0 * ROW_D, AX_F32, 2, s);
    ax_tensor_contiguous(&ro, rres_out + t0 * ROW_D, AX_F32, 2, s);
    return ax_rms_norm_residual(ctx, &x, &r, &w, 1e-5f, &o, &ro);
}

static ax_status op_rope(ax_context *ctx, int64_t t0, int64_t n) {
    ax_tensor x, p, o;
    const int64_t s[3] = {n, ROPE_H, ROPE_D};
    ax_tensor_contiguous(&x, rx + t0 * ROPE_H * ROPE_D, AX_F32, 3, s);
    ax_tensor_contiguous(&p, rpos + t0, AX_I32, 1, &n);
    ax_tensor_contiguous(&o, rout + t0 * ROPE_H * ROPE_D, AX_F32, 3, s);
    ax_rope_options opt;
    memset(&opt, 0, sizeof opt);
    opt.layout = AX_ROPE_NEOX;
    opt.base = 100000.0f;
    return ax_rope(ctx, &x, &p, &opt, &o);
}

static ax_status op_glu(ax_context *ctx, int64_t t0, int64_t n) {
    ax_tensor g, u, o;
    const int64_t s[2] = {n, ROW_F};
    ax_tensor_contiguous(&g, rx + t0 * ROW_F, AX_F32, 2, s);
    ax_tensor_contiguous(&u, rup + t0 * ROW_F, AX_F32, 2, s);
    ax_tensor_contiguous(&o, rout + t0 * ROW_F, AX_F32, 2, s);
    return ax_glu(ctx, AX_ACT_SILU, &g, &u, &o);
}

static ax_status op_embedding(ax_context *ctx, int64_t t0, int64_t n) {
    ax_tensor ids, tab, o;
    const int64_t ts[2] = {EMB_V, ROW_D}, os[2] = {n, ROW_D};
    ax_tensor_contiguous(&ids, rids + t0, AX_I32, 1, &n);
    ax_tensor_contiguous(&tab, remb, remb_dt, 2, ts);
    ax_tensor_contiguous(&o, rout + t0 * ROW_D, AX_F32, 2, os);
    return ax_embedding(ctx, &ids, &tab, &o);
}

static void test_row_ops_do_not_depend_on_the_batch(void) {
    th_seed(1603);
    fill_uniform(rx, ROW_T * ROW_F, -3.0, 3.0);
    fill_uniform(rup, ROW_T * ROW_F, -2.0, 2.0);
    fill_uniform(rres, ROW_T * ROW_D, -1.0, 1.0);
    fill_uniform(rw, ROW_D, 0.5, 1.5);
    fill_uniform(remb_src, EMB_V * ROW_D, -1.0, 1.0);
    ax_convert(rx, AX_F32, rx16, AX_BF16, ROW_T * ROW_D);
    for (int t = 0; t < ROW_T; t++) rpos[t] = (int32_t)(th_rand_u64() % 5000), rids[t] = (int32_t)(th_rand_u64() % EMB_V);
    check_rows("ax_rms_norm f32", op_rms_norm, rout, ROW_D * sizeof(float));
    check_rows("ax_rms_norm bf16", op_rms_norm_bf16, rout16, ROW_D * sizeof(uint16_t));
    check_rows("ax_rms_norm_residual out", op_rms_norm_residual, rout, ROW_D * sizeof(float));
    check_rows("ax_rms_norm_residual residual_out", op_rms_norm_residual, rres_out, ROW_D * sizeof(float));
    check_rows("ax_rope", op_rope, rout, ROPE_H * ROPE_D * sizeof(float));
    check_rows("ax_glu silu", op_glu, rout, ROW_F * sizeof(float));
    static const ax_dtype emb_dts[] = {AX_F32, AX_Q8_0, AX_Q4_1, AX_Q4_0};
    for (size_t i = 0; i < sizeof emb_dts / sizeof emb_dts[0]; i++) {
        remb_dt = emb_dts[i];
        CHECK_OK(ax_convert(remb_src, AX_F32, remb, remb_dt, EMB_V * ROW_D));
        char what[64];
        snprintf(what, sizeof what, "ax_embedding %s", ax_dtype_name(remb_dt));
        check_rows(what, op_embedding, rout, ROW_D * sizeof(float));
    }
}

/* ---- the real model ---- */

static ax_llm_session *model_session(ax_llm_model *model, int32_t n_batch) {
    ax_llm_session_config cfg = AX_LLM_SESSION_CONFIG_INIT;
    cfg.n_ctx = 64;
    cfg.n_batch = n_batch;
    ax_llm_session *s = NULL;
    if (ax_llm_session_create(model, &cfg, &s) != AX_OK) TH_FAIL("session: %s", ax_last_error());
    return s;
}

/* The one-pass logits of the unpacked model per thread count (1, 2), which the packed model's must
 * equal bit for bit. */
static float *g_unpacked_ref[3];

/* Every token's logits of one prompt: one pass (the reference), chunks of 3, one token at a time;
 * with pack set, the model's matrices packed (ax_llm_model_config.pack_weights; on the avx2 and
 * avx512 paths) and the one pass also equal to the unpacked model's. */
static void model_case(const char *path, int32_t threads, int pack) {
    ax_llm_model_config mc = AX_LLM_MODEL_CONFIG_INIT;
    mc.num_threads = threads;
    mc.pack_weights = pack;
    ax_llm_model *model = NULL;
    if (ax_llm_model_load(path, &mc, &model) != AX_OK) {
        TH_FAIL("loading %s: %s", path, ax_last_error());
        return;
    }
    ax_llm_model_info info;
    CHECK_OK(ax_llm_model_get_info(model, &info));
    static const char text[] = "The capital of France is Paris, and the capital of Germany is";
    int32_t toks[64];
    int64_t n = 0;
    CHECK_OK(ax_llm_tokenize(model, text, sizeof text - 1, 0, toks, 64, &n));
    const size_t row = (size_t)info.n_vocab * sizeof(float);
    float *ref = malloc((size_t)n * row);
    ax_llm_session *whole = model_session(model, 0), *chunked = model_session(model, 3), *single = model_session(model, 0);
    if (ref == NULL || whole == NULL || chunked == NULL || single == NULL || n < 8) {
        TH_FAIL("setup (n = %lld tokens)", (long long)n);
        goto done;
    }
    CHECK_OK(ax_llm_session_eval(whole, toks, n, 1));
    CHECK_OK(ax_llm_session_eval(chunked, toks, n, 1));
    for (int64_t i = 0; i < n; i++) {
        const float *w = ax_llm_session_logits(whole, i), *c = ax_llm_session_logits(chunked, i);
        if (w == NULL || c == NULL) {
            TH_FAIL("no logits for token %lld", (long long)i);
            goto done;
        }
        memcpy(ref + i * info.n_vocab, w, row);
        if (pack && g_unpacked_ref[threads] != NULL) {
            th_checks++;
            if (memcmp(w, g_unpacked_ref[threads] + i * info.n_vocab, row) != 0)
                TH_FAIL("%d threads: token %lld: the packed model's logits differ from the unpacked one's", threads,
                        (long long)i);
        }
        th_checks++;
        if (memcmp(c, w, row) != 0) TH_FAIL("%d threads: token %lld: chunks of 3 differ from one pass", threads, (long long)i);
    }
    for (int64_t i = 0; i < n; i++) {
        CHECK_OK(ax_llm_session_eval(single, toks + i, 1, 0));
        const float *l = ax_llm_session_logits(single, -1);
        th_checks++;
        if (l == NULL || memcmp(l, ref + i * info.n_vocab, row) != 0) {
            double worst = 0.0;
            for (int32_t v = 0; l != NULL && v < info.n_vocab; v++) worst = fmax(worst, fabs(l[v] - ref[i * info.n_vocab + v]));
            TH_FAIL("%d threads: token %lld evaluated alone differs from one pass (max |diff| %.4g)", threads,
                    (long long)i, worst);
        }
    }
done:
    ax_llm_session_free(whole);
    ax_llm_session_free(chunked);
    ax_llm_session_free(single);
    if (!pack && g_unpacked_ref[threads] == NULL) g_unpacked_ref[threads] = ref;
    else free(ref);
    ax_llm_model_free(model);
}

static const char *g_model_path;

static void test_model_logits_do_not_depend_on_chunking(void) {
    model_case(g_model_path, 1, 0);
    model_case(g_model_path, 2, 0);
    model_case(g_model_path, 1, 1);
    model_case(g_model_path, 2, 1);
    free(g_unpacked_ref[1]);
    free(g_unpacked_ref[2]);
}

static int run_model_tests(void) {
    static char path[4096];
    if (!th_model_path(path, sizeof path)) return 77;
    g_model_path = path;
    RUN(test_model_logits_do_not_depend_on_chunking);
    return th_finish();
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--model") == 0) return run_model_tests();
    ctx1 = make_context(1);
    ctx2 = make_context(2);
    if (ctx1 == NULL || ctx2 == NULL) {
        fprintf(stderr, "context: %s\n", ax_last_error());
        return 1;
    }
    RUN(test_qmatmul_rows_do_not_depend_on_the_batch);
    RUN(test_paged_attention_rows_do_not_depend_on_the_batch);
    RUN(test_row_ops_do_not_depend_on_the_batch);
    ax_context_destroy(ctx1);
    ax_context_destroy(ctx2);
    return th_finish();
}
