/*
 * test_moe_grouped_gemm.c — what the op driver's tolerance tests (tests/ops/cases_moe_grouped_gemm*.c)
 * cannot show:
 *   - with block-quantized w, every row of ax_moe_grouped_gemm's y is bit for bit ax_qmatmul's result
 *     for that row of x with w[e] (moe.h), computed alone (M = 1, ax_qmatmul's decode path) and with
 *     the whole segment (M = rows), for every quantized type, x and y in f32 and bf16, K within one
 *     and over two of the CPU's K chunks, on every CPU path this machine has;
 *   - the result does not depend on the context's thread count (1, 2, 3, 4 threads: bitwise);
 *   - with float w on a path with the own fp32 kernels (avx2, avx512), every element of y, AX_TRANS
 *     and AX_NO_TRANS, is bit for bit the fused multiply-add chain over k = 0..K-1 in order (fmaf from
 *     the C library as the reference; bf16 y that sum rounded once), for x f32/bf16, w f32/bf16/f16,
 *     y f32/bf16, padded strides, 1 and 3 threads: so a row's result does not depend on the rows
 *     around it, the thread count or the tiling (the portable path runs OpenBLAS and is skipped);
 *   - invalid calls (offsets decreasing, negative or past R, quantized w with AX_NO_TRANS, K not a
 *     block multiple, offsets not of E + 1 elements, dtypes, trans_w, beta) fail with
 *     AX_ERR_INVALID_ARGUMENT, a message naming the argument, and the output untouched.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axial/linalg.h"
#include "axial/moe.h"
#include "harness.h"

static ax_context *ctx;

/* A random fp16 scale in +-[2^-7, 2^-1): finite, so every block decodes to finite weights. */
static void put_f16(uint8_t *p) {
    const uint16_t bits = (uint16_t)(((th_rand_u64() & 1) << 15) | ((8 + th_rand_u64() % 6) << 10) |
                                     (th_rand_u64() & 0x3ff));
    p[0] = (uint8_t)(bits & 0xff);
    p[1] = (uint8_t)(bits >> 8);
}

/* Random valid blocks: random level bytes, random finite fp16 scales where the type keeps them. */
static void fill_blocks(ax_dtype dt, uint8_t *w, int64_t blocks) {
    const int64_t bytes = ax_dtype_block_bytes(dt);
    for (int64_t b = 0; b < blocks; b++) {
        uint8_t *blk = w + b * bytes;
        for (int64_t i = 0; i < bytes; i++) blk[i] = (uint8_t)th_rand_u64();
        switch (dt) {
        case AX_Q4_0:
        case AX_Q8_0: put_f16(blk); break;
        case AX_Q4_1:
        case AX_Q4_K:
            put_f16(blk);
            put_f16(blk + 2);
            break;
        case AX_Q6_K: put_f16(blk + 208); break;
        default: break;
        }
    }
}

static ax_tensor make2(void *data, ax_dtype dt, int64_t d0, int64_t d1) {
    ax_tensor t;
    const int64_t shape[2] = {d0, d1};
    ax_tensor_contiguous(&t, data, dt, 2, shape);
    return t;
}

static ax_tensor make3(void *data, ax_dtype dt, int64_t d0, int64_t d1, int64_t d2) {
    ax_tensor t;
    const int64_t shape[3] = {d0, d1, d2};
    ax_tensor_contiguous(&t, data, dt, 3, shape);
    return t;
}

static size_t esize(ax_dtype dt) { return dt == AX_F32 ? 4 : 2; }

static uint16_t to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return (uint16_t)((u + 0x7fff + ((u >> 16) & 1)) >> 16);
}

typedef struct gg_problem {
    int64_t E, R, N, K;
    const int64_t *offsets;
} gg_problem;

/* Checks one problem for one quantized type and x/y dtypes on the current CPU path. */
static void check_rows_match_qmatmul(const gg_problem *pr, ax_dtype wdt, ax_dtype xdt, ax_dtype ydt) {
    const int64_t E = pr->E, R = pr->R, N = pr->N, K = pr->K;
    const int64_t row_bytes = K / ax_dtype_block_elems(wdt) * ax_dtype_block_bytes(wdt);
    uint8_t *w = malloc((size_t)(E * N * row_bytes));
    void *x = malloc((size_t)(R * K) * esize(xdt));
    unsigned char *y = malloc((size_t)(R * N) * esize(ydt)), *yq = malloc((size_t)(R * N) * esize(ydt));
    CHECK(w != NULL && x != NULL && y != NULL && yq != NULL);
    if (w == NULL || x == NULL || y == NULL || yq == NULL) goto done;
    fill_blocks(wdt, w, E * N * (K / ax_dtype_block_elems(wdt)));
    for (int64_t i = 0; i < R * K; i++) {
        /* Rows of different magnitudes, so x's per-row quantization scales differ. */
        const float v = (float)(th_uniform(-1.0, 1.0) * (1.0 + (double)((i / K) % 5)));
        if (xdt == AX_F32) ((float *)x)[i] = v;
        else ((uint16_t *)x)[i] = to_bf16(v);
    }
    memset(y, 0xa5, (size_t)(R * N) * esize(ydt));
    ax_tensor tx = make2(x, xdt, R, K), tw = make3(w, wdt, E, N, K), ty = make2(y, ydt, R, N);
    ax_tensor toff;
    ax_tensor_contiguous(&toff, (void *)pr->offsets, AX_I64, 1, (const int64_t[]){E + 1});
    CHECK_OK(ax_moe_grouped_gemm(ctx, AX_TRANS, &tx, &tw, &toff, &ty));
    const size_t yrow = (size_t)N * esize(ydt);
    for (int64_t e = 0; e < E; e++) {
        const int64_t r0 = pr->offsets[e], rows = pr->offsets[e + 1] - r0;
        if (rows == 0) continue;
        ax_tensor we = make2(w + e * N * row_bytes, wdt, N, K);
        /* The whole segment at once. */
        ax_tensor xs = make2((char *)x + (size_t)(r0 * K) * esize(xdt), xdt, rows, K);
        ax_tensor ys = make2(yq + r0 * yrow, ydt, rows, N);
        CHECK_OK(ax_qmatmul(ctx, &xs, &we, NULL, &ys));
        CHECK(memcmp(yq + r0 * yrow, y + r0 * yrow, (size_t)rows * yrow) == 0);
        /* Each row alone (ax_qmatmul's decode path for M = 1). */
        for (int64_t r = r0; r < r0 + rows; r++) {
            ax_tensor x1 = make2((char *)x + (size_t)(r * K) * esize(xdt), xdt, 1, K);
            ax_tensor y1 = make2(yq + r * yrow, ydt, 1, N);
            CHECK_OK(ax_qmatmul(ctx, &x1, &we, NULL, &y1));
            if (memcmp(yq + r * yrow, y + r * yrow, yrow) != 0) {
                TH_FAIL("%s %s x %s y: row %lld of expert %lld differs from ax_qmatmul's (path %s)",
                        ax_dtype_name(wdt), ax_dtype_name(xdt), ax_dtype_name(ydt), (long long)r, (long long)e,
                        ax_cpu_path_name(ax_cpu_path_active()));
                break;
            }
        }
    }
    /* Rows outside the segments stay as they were. */
    for (int64_t r = 0; r < R; r++) {
        if (r >= pr->offsets[0] && r < pr->offsets[E]) continue;
        for (size_t b = 0; b < yrow; b++) CHECK(y[r * yrow + b] == 0xa5);
    }
done:
    free(w);
    free(x);
    free(y);
    free(yq);
}

static const ax_dtype quant_types[] = {AX_Q4_0, AX_Q4_1, AX_Q8_0, AX_Q4_K, AX_Q6_K};

static void test_bitwise_qmatmul(void) {
    /* One row, an empty expert, a long segment; then K = 4352 over two K chunks of 4096. */
    static const int64_t off_a[] = {2, 3, 3, 22, 29};
    static const int64_t off_b[] = {1, 4, 4, 9};
    const gg_problem probs[] = {{4, 31, 37, 512, off_a}, {3, 10, 9, 4352, off_b}};
    static const ax_cpu_path paths[] = {AX_CPU_PATH_PORTABLE, AX_CPU_PATH_AVX2, AX_CPU_PATH_AVX512};
    for (int pi = 0; pi < 3; pi++) {
        if (ax_cpu_path_set(paths[pi]) != AX_OK) continue; /* this CPU lacks the path */
        for (int p = 0; p < 2; p++)
            for (int q = 0; q < 5; q++) {
                check_rows_match_qmatmul(&probs[p], quant_types[q], AX_F32, AX_F32);
                check_rows_match_qmatmul(&probs[p], quant_types[q], AX_BF16, AX_BF16);
                if (p == 0) check_rows_match_qmatmul(&probs[p], quant_types[q], AX_F32, AX_BF16);
            }
    }
    CHECK_OK(ax_cpu_path_set(AX_CPU_PATH_AUTO));
}

/* The same call on contexts of 1 to 4 threads gives the same bytes (the split changes with the
 * thread count; a row's arithmetic does not). */
static void test_thread_count_independent(void) {
    /* Large enough (about 10^8 multiply-adds) that every thread count really splits the work. */
    enum { E = 5, R = 300, N = 257, K = 1024 };
    static const int64_t offsets[E + 1] = {0, 140, 141, 141, 250, 296};
    const ax_dtype wdts[] = {AX_Q4_K, AX_Q8_0};
    for (int t = 0; t < 2; t++) {
        const ax_dtype wdt = wdts[t];
        const int64_t row_bytes = K / ax_dtype_block_elems(wdt) * ax_dtype_block_bytes(wdt);
        uint8_t *w = malloc((size_t)(E * N * row_bytes));
        float *x = malloc(sizeof(float) * R * K), *y1 = malloc(sizeof(float) * R * N),
              *yn = malloc(sizeof(float) * R * N);
        CHECK(w != NULL && x != NULL && y1 != NULL && yn != NULL);
        if (w == NULL || x == NULL || y1 == NULL || yn == NULL) {
            free(w), free(x), free(y1), free(yn);
            return;
        }
        fill_blocks(wdt, w, E * N * (K / ax_dtype_block_elems(wdt)));
        for (int64_t i = 0; i < R * K; i++) x[i] = (float)th_uniform(-2.0, 2.0);
        ax_tensor tx = make2(x, AX_F32, R, K), tw = make3(w, wdt, E, N, K), toff;
        ax_tensor_contiguous(&toff, (void *)offsets, AX_I64, 1, (const int64_t[]){E + 1});
        for (int threads = 1; threads <= 4; threads++) {
            ax_context_config cfg = AX_CONTEXT_CONFIG_INIT;
            cfg.num_threads = threads;
            ax_context *c = NULL;
            CHECK_OK(ax_context_create(&c, &cfg));
            if (c == NULL) break;
            ax_tensor ty = make2(threads == 1 ? y1 : yn, AX_F32, R, N);
            memset(ty.data, 0, sizeof(float) * R * N);
            CHECK_OK(ax_moe_grouped_gemm(c, AX_TRANS, &tx, &tw, &toff, &ty));
            if (threads > 1) CHECK(memcmp(y1, yn, sizeof(float) * R * N) == 0);
            ax_context_destroy(c);
        }
        free(w), free(x), free(y1), free(yn);
    }
}

/* Float element i of a buffer of dtype dt (f32, bf16, f16), decoded here without the library. */
static float float_at(const void *buf, ax_dtype dt, int64_t i) {
    if (dt == AX_F32) return ((const float *)buf)[i];
    const uint16_t h = ((const uint16_t *)buf)[i];
    if (dt == AX_BF16) {
        const uint32_t u = (uint32_t)h << 16;
        float f;
        memcpy(&f, &u, 4);
        return f;
    }
    /* f16: the test writes normal numbers only (exponent field 1..30). */
    const float mag = ldexpf(1.0f + (float)(h & 0x3ff) / 1024.0f, (int)((h >> 10) & 0x1f) - 15);
    return h >> 15 ? -mag : mag;
}

/* A random value of dtype dt in about +-2 into element i (f16: normal, exponents -4..1). */
static void put_random(void *buf, ax_dtype dt, int64_t i) {
    const float v = (float)th_uniform(-2.0, 2.0);
    if (dt == AX_F32) ((float *)buf)[i] = v;
    else if (dt == AX_BF16) ((uint16_t *)buf)[i] = to_bf16(v);
    else ((uint16_t *)buf)[i] = (uint16_t)(((th_rand_u64() & 1) << 15) | ((11 + th_rand_u64() % 6) << 10) |
                                           (th_rand_u64() & 0x3ff));
}

/* Float rows are plain FMA chains in k order on the own kernels' paths (see the top), for every float
 * dtype of x, w and y (bf16 y: the chain's fp32 sum rounded once, to nearest even), padded strides,
 * 1 and 3 threads. */
static void test_float_rows_are_fma_chains(void) {
    if (ax_cpu_path_active() < AX_CPU_PATH_AVX2) {
        printf("note: CPU path %s runs OpenBLAS for float w: FMA-chain check skipped\n",
               ax_cpu_path_name(ax_cpu_path_active()));
        return;
    }
    /* A one-row segment, segments ending part way through a 16-row panel and a 6-row group, an
     * empty expert, N over one column tile and not a multiple of 6, 12, 16 or 32, K not a multiple of 8;
     * every row stride padded (x by 3, w by 2, y by 5 elements, w's experts by 7 more). */
    enum { E = 4, R = 90, NMAX = 101, K = 70, LDX = K + 3, LDY = NMAX + 5 };
    static const int64_t offsets[E + 1] = {0, 1, 38, 38, 90};
    const int64_t w_elems = E * (NMAX + 2) * (K + 2) + E * 7;
    void *x = malloc(4 * R * LDX), *w = malloc((size_t)(4 * w_elems)), *y = malloc(4 * R * LDY);
    CHECK(x != NULL && w != NULL && y != NULL);
    if (x == NULL || w == NULL || y == NULL) {
        free(x), free(w), free(y);
        return;
    }
    static const ax_dtype dts[3] = {AX_F32, AX_BF16, AX_F16};
    ax_tensor toff;
    ax_tensor_contiguous(&toff, (void *)offsets, AX_I64, 1, (const int64_t[]){E + 1});
    int64_t bad = 0;
    for (int threads = 1; threads <= 3; threads += 2) {
        ax_context_config cfg = AX_CONTEXT_CONFIG_INIT;
        cfg.num_threads = threads;
        ax_context *c = NULL;
        CHECK_OK(ax_context_create(&c, &cfg));
        for (int combo = 0; combo < 2 * 3 * 2 * 2 * 2 && c != NULL; combo++) {
            const ax_dtype xdt = dts[combo % 2], wdt = dts[combo / 2 % 3], ydt = dts[combo / 6 % 2];
            const int trans = combo / 12 % 2 == 0;
            /* N = 57: partial last tiles of other widths (avx512: 9 of 12 columns, 25 of 32). */
            const int64_t N = combo / 24 ? 57 : NMAX;
            /* w (E, N, K) for AX_TRANS, (E, K, N) for AX_NO_TRANS, rows padded by 2, experts by 7. */
            const int64_t wrows = trans ? N : K, wcols = trans ? K : N, ldw = wcols + 2;
            const int64_t lde = wrows * ldw + 7;
            for (int64_t i = 0; i < R * LDX; i++) put_random(x, xdt, i);
            for (int64_t i = 0; i < E * lde; i++) put_random(w, wdt, i);
            memset(y, 0xa5, 4 * R * LDY);
            ax_tensor tx = make2(x, xdt, R, K), tw = make3(w, wdt, E, wrows, wcols), ty = make2(y, ydt, R, N);
            tx.strides[0] = LDX;
            ty.strides[0] = LDY;
            tw.strides[0] = lde;
            tw.strides[1] = ldw;
            CHECK_OK(ax_moe_grouped_gemm(c, trans ? AX_TRANS : AX_NO_TRANS, &tx, &tw, &toff, &ty));
            for (int64_t e = 0; e < E; e++) {
                for (int64_t r = offsets[e]; r < offsets[e + 1]; r++) {
                    for (int64_t n = 0; n < LDY; n++) {
                        const int64_t at = r * LDY + n;
                        if (n >= N) { /* the row's padding: never written */
                            const unsigned char *pad = (const unsigned char *)y + at * (int64_t)esize(ydt);
                            if ((pad[0] != 0xa5 || pad[1] != 0xa5) && bad++ < 3)
                                TH_FAIL("y[%lld, %lld] (stride padding) was written", (long long)r, (long long)n);
                            continue;
                        }
                        float want = 0.0f;
                        for (int64_t k = 0; k < K; k++)
                            want = fmaf(float_at(x, xdt, r * LDX + k),
                                        float_at(w, wdt, e * lde + (trans ? n * ldw + k : k * ldw + n)), want);
                        if (ydt == AX_BF16) {
                            const uint16_t h = to_bf16(want);
                            want = float_at(&h, AX_BF16, 0);
                        }
                        const float got = float_at(y, ydt, at);
                        if (memcmp(&want, &got, sizeof want) != 0 && bad++ < 3)
                            TH_FAIL("%s, x %s, w %s, y %s, %d threads: y[%lld, %lld] = %.9g, the k-ordered FMA "
                                    "chain gives %.9g (path %s)",
                                    trans ? "AX_TRANS" : "AX_NO_TRANS", ax_dtype_name(xdt), ax_dtype_name(wdt),
                                    ax_dtype_name(ydt), threads, (long long)r, (long long)n, (double)got,
                                    (double)want, ax_cpu_path_name(ax_cpu_path_active()));
                    }
                }
            }
        }
        ax_context_destroy(c);
    }
    free(x), free(w), free(y);
}

/* ---- errors ---- */

enum { EE = 3, ER = 6, EN = 4, EK = 64 };
static float ex[ER * EK], ey[ER * EN], ewf[EE * EN * EK], edw[EE * EN * EK];
static uint16_t ex16[ER * EK];
static uint8_t ewq[EE * EN * (EK / 32) * 18];
static int64_t eoff[EE + 2];
static const float sentinel = 12345.0f;

static void fill_outputs(void) {
    for (int i = 0; i < ER * EN; i++) ey[i] = sentinel;
    for (int i = 0; i < EE * EN * EK; i++) edw[i] = sentinel;
}

static int outputs_untouched(void) {
    for (int i = 0; i < ER * EN; i++)
        if (ey[i] != sentinel) return 0;
    for (int i = 0; i < EE * EN * EK; i++)
        if (edw[i] != sentinel) return 0;
    return 1;
}

static void set_offsets(int64_t a, int64_t b, int64_t c, int64_t d) {
    eoff[0] = a, eoff[1] = b, eoff[2] = c, eoff[3] = d;
}

static void expect_fwd(ax_transpose tr, const ax_tensor *x, const ax_tensor *w, const ax_tensor *off, ax_tensor *y,
                       const char *needle) {
    fill_outputs();
    CHECK_STATUS(ax_moe_grouped_gemm(ctx, tr, x, w, off, y), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), needle);
    CHECK(outputs_untouched());
}

static void expect_dw(const ax_tensor *dy, const ax_tensor *x, const ax_tensor *off, float beta, ax_tensor *dw,
                      const char *needle) {
    fill_outputs();
    CHECK_STATUS(ax_moe_grouped_gemm_dw(ctx, dy, x, off, beta, dw), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), needle);
    CHECK(outputs_untouched());
}

/* OpenBLAS's process-wide thread count after ax_moe_grouped_gemm_dw (which sets 1 for its per-item
 * sgemms) and ax_gemm (which sets the context's 2) ran at once on two threads: the count the process
 * had (3) must come back. Each had restored its own saved value, and interleaved, the process was
 * left at 1 or 2 (seen in five runs of five). */
enum { RACE_ITERS = 1500 };

static void *race_dw(void *arg) {
    ax_context *c = arg;
    static float dy[64 * 32], x[64 * 32], dw[2 * 32 * 32];
    int64_t off[3] = {0, 32, 64};
    ax_tensor tdy, tx, tdw, toff;
    ax_tensor_contiguous(&tdy, dy, AX_F32, 2, (int64_t[]){64, 32});
    ax_tensor_contiguous(&tx, x, AX_F32, 2, (int64_t[]){64, 32});
    ax_tensor_contiguous(&tdw, dw, AX_F32, 3, (int64_t[]){2, 32, 32});
    ax_tensor_contiguous(&toff, off, AX_I64, 1, (int64_t[]){3});
    for (int i = 0; i < RACE_ITERS; i++)
        if (ax_moe_grouped_gemm_dw(c, &tdy, &tx, &toff, 0.0f, &tdw) != AX_OK) return (void *)1;
    return NULL;
}

static void *race_gemm(void *arg) {
    ax_context *c = arg;
    static float a[32 * 32], b[32 * 32], out[32 * 32];
    ax_tensor ta, tb, tc;
    ax_tensor_contiguous(&ta, a, AX_F32, 2, (int64_t[]){32, 32});
    ax_tensor_contiguous(&tb, b, AX_F32, 2, (int64_t[]){32, 32});
    ax_tensor_contiguous(&tc, out, AX_F32, 2, (int64_t[]){32, 32});
    for (int i = 0; i < RACE_ITERS; i++)
        if (ax_gemm(c, AX_NO_TRANS, AX_NO_TRANS, 1.0f, &ta, &tb, 0.0f, &tc) != AX_OK) return (void *)1;
    return NULL;
}

static void test_blas_thread_count_restored(void) {
    ax_context *c1 = NULL, *c2 = NULL;
    ax_context_config cc = AX_CONTEXT_CONFIG_INIT;
    cc.num_threads = 2;
    CHECK_OK(ax_context_create(&c1, &cc));
    CHECK_OK(ax_context_create(&c2, &cc));
    openblas_set_num_threads(3);
    for (int run = 0; run < 3 && c1 != NULL && c2 != NULL; run++) {
        pthread_t t1, t2;
        void *r1 = NULL, *r2 = NULL;
        CHECK(pthread_create(&t1, NULL, race_dw, c1) == 0);
        CHECK(pthread_create(&t2, NULL, race_gemm, c2) == 0);
        pthread_join(t1, &r1);
        pthread_join(t2, &r2);
        CHECK(r1 == NULL && r2 == NULL);
        CHECK_INT_EQ(openblas_get_num_threads(), 3);
    }
    ax_context_destroy(c1);
    ax_context_destroy(c2);
}

static void test_errors(void) {
    ax_tensor tx = make2(ex, AX_F32, ER, EK), tw = make3(ewq, AX_Q4_0, EE, EN, EK), ty = make2(ey, AX_F32, ER, EN);
    ax_tensor twf = make3(ewf, AX_F32, EE, EN, EK), toff, dw = make3(edw, AX_F32, EE, EN, EK);
    ax_tensor tdy = make2(ey, AX_F32, ER, EN);
    ax_tensor_contiguous(&toff, eoff, AX_I64, 1, (const int64_t[]){EE + 1});

    set_offsets(0, 2, 2, 5);
    expect_fwd(AX_TRANS, NULL, &tw, &toff, &ty, "x: NULL");
    expect_fwd(AX_TRANS, &tx, NULL, &toff, &ty, "w: NULL");
    expect_fwd(AX_TRANS, &tx, &tw, NULL, &ty, "offsets: NULL");
    expect_fwd(AX_TRANS, &tx, &tw, &toff, NULL, "y: NULL");
    expect_fwd((ax_transpose)7, &tx, &tw, &toff, &ty, "trans_w");
    fill_outputs();
    CHECK_STATUS(ax_moe_grouped_gemm(NULL, AX_TRANS, &tx, &tw, &toff, &ty), AX_ERR_INVALID_ARGUMENT);

    /* Offsets decreasing, negative, past R. */
    set_offsets(0, 4, 3, 5);
    expect_fwd(AX_TRANS, &tx, &tw, &toff, &ty, "offsets: element 2 is 3, below element 1 (4)");
    set_offsets(-1, 2, 3, 5);
    expect_fwd(AX_TRANS, &tx, &tw, &toff, &ty, "offsets: element 0 is -1");
    set_offsets(0, 2, 3, ER + 1);
    expect_fwd(AX_TRANS, &tx, &tw, &toff, &ty, "offsets: element 3 is 7, outside [0, R = 6]");
    set_offsets(0, 2, 2, 5);

    /* Quantized w with AX_NO_TRANS: (E, K, N) layouts are float only. */
    ax_tensor tw_nt = make3(ewq, AX_Q4_0, EE, EK, EN * 32);
    ax_tensor ty_nt = make2(ey, AX_F32, ER, EN * 32);
    ty_nt.shape[1] = EN * 32; /* shapes only: the call fails before writing */
    expect_fwd(AX_NO_TRANS, &tx, &tw_nt, &toff, &ty_nt, "w:");

    /* K not a multiple of q4_0's block of 32. */
    ax_tensor x48 = make2(ex, AX_F32, ER, 48), w48 = tw;
    w48.shape[2] = 48;
    expect_fwd(AX_TRANS, &x48, &w48, &toff, &ty, "w:");

    /* offsets of E + 2 elements for E = 3 experts; and of E elements. */
    ax_tensor off_long, off_short;
    ax_tensor_contiguous(&off_long, eoff, AX_I64, 1, (const int64_t[]){EE + 2});
    ax_tensor_contiguous(&off_short, eoff, AX_I64, 1, (const int64_t[]){EE});
    expect_fwd(AX_TRANS, &tx, &tw, &off_long, &ty, "offsets: dim 0");
    expect_fwd(AX_TRANS, &tx, &tw, &off_short, &ty, "offsets: dim 0");
    /* offsets as i32; y of the wrong width; x of another K than w. */
    ax_tensor off_i32 = toff;
    off_i32.dtype = AX_I32;
    expect_fwd(AX_TRANS, &tx, &tw, &off_i32, &ty, "offsets");
    ax_tensor ty3 = make2(ey, AX_F32, ER, EN - 1);
    expect_fwd(AX_TRANS, &tx, &twf, &toff, &ty3, "y: dim 1");
    ax_tensor tx32 = make2(ex, AX_F32, ER, 32);
    expect_fwd(AX_TRANS, &tx32, &twf, &toff, &ty, "K");

    /* dw: the same offset rules, dtypes agreeing, a finite beta, E from dw. */
    set_offsets(0, 4, 3, 5);
    expect_dw(&tdy, &tx, &toff, 0.0f, &dw, "offsets: element 2");
    set_offsets(0, 2, 3, ER + 1);
    expect_dw(&tdy, &tx, &toff, 0.0f, &dw, "offsets: element 3");
    set_offsets(0, 2, 2, 5);
    expect_dw(&tdy, &tx, &off_long, 0.0f, &dw, "offsets: dim 0");
    ax_tensor tx16 = make2(ex16, AX_BF16, ER, EK);
    expect_dw(&tdy, &tx16, &toff, 0.0f, &dw, "x");
    expect_dw(&tdy, &tx, &toff, NAN, &dw, "beta");
    expect_dw(NULL, &tx, &toff, 0.0f, &dw, "dy: NULL");
    expect_dw(&tdy, &tx, &toff, 0.0f, NULL, "dw: NULL");

    /* A row stride past INT_MAX (which the CPU kernels would hand to a 32-bit BLAS): refused before
     * anything is read or written; nothing reads x's rows at that stride. */
    ax_tensor far = tx;
    far.strides[0] = ((int64_t)1 << 32) + EK;
    fill_outputs();
    CHECK_STATUS(ax_moe_grouped_gemm(ctx, AX_TRANS, &far, &twf, &toff, &ty), AX_ERR_UNSUPPORTED);
    CHECK_CONTAINS(ax_last_error(), "x: row stride: 4294967360 exceeds the CPU BLAS limit");
    CHECK(outputs_untouched());
    fill_outputs();
    CHECK_STATUS(ax_moe_grouped_gemm_dw(ctx, &tdy, &far, &toff, 0.0f, &dw), AX_ERR_UNSUPPORTED);
    CHECK_CONTAINS(ax_last_error(), "x: row stride: 4294967360 exceeds the CPU BLAS limit");
    CHECK(outputs_untouched());

    /* The same tensors pass when nothing is wrong: q4_0 blocks of scale 0 give zeros in the
     * segments, and the rows past offsets[E] keep their values. */
    set_offsets(0, 2, 2, 5);
    fill_outputs();
    CHECK_OK(ax_moe_grouped_gemm(ctx, AX_TRANS, &tx, &tw, &toff, &ty));
    for (int r = 0; r < ER; r++)
        for (int n = 0; n < EN; n++) CHECK(ey[r * EN + n] == (r < 5 ? 0.0f : sentinel));
    fill_outputs();
    CHECK_OK(ax_moe_grouped_gemm_dw(ctx, &tdy, &tx, &toff, 0.0f, &dw));
}

int main(void) {
    th_seed(17);
    for (int i = 0; i < ER * EK; i++) ex[i] = (float)(i % 7) * 0.1f - 0.3f;
    memset(ewq, 0, sizeof ewq); /* q4_0 blocks of scale 0 */
    if (ax_context_create(&ctx, NULL) != AX_OK) return 1;
    RUN(test_bitwise_qmatmul);
    RUN(test_thread_count_independent);
    RUN(test_float_rows_are_fma_chains);
    RUN(test_blas_thread_count_restored);
    RUN(test_errors);
    ax_context_destroy(ctx);
    return th_finish();
}
