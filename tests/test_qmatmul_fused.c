/*
 * test_qmatmul_fused.c — qmatmul_fused (src/linalg/qmatmul_fused.h), the LLM decoder's one call for
 * the q/k/v and gate/up projections: each product is bit for bit a separate ax_qmatmul (or
 * ax_qmatmul_packed) call on the same weights (every M, 2 and 3 parts of different N, f32 and bf16
 * y, packed or not, 1 and 2 threads, and mixed dtypes, which run as separate calls), each is within
 * the documented x-quantization bound of a float64 product of the weights as ax_convert dequantizes
 * them, and bad arguments give clear errors with nothing written. ctest runs it on every CPU path
 * this machine has (tests/qmatmul_tests.cmake).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "axial/linalg.h"
#include "harness.h"
#include "linalg/qmatmul_fused.h"

static ax_context *ctx1, *ctx2;

static ax_tensor make2(void *data, ax_dtype dt, int64_t d0, int64_t d1) {
    ax_tensor t;
    const int64_t shape[2] = {d0, d1};
    ax_tensor_contiguous(&t, data, dt, 2, shape);
    return t;
}

/* |error| bound of ax_qmatmul (linalg.h) for one output: per x group of G elements amax_g / 254 times
 * the group's sum of |w| (block-quantized w), fp32 accumulation; doubled as slack, plus bf16 rounding
 * of y. */
static double bound(const float *x, const float *w, int64_t K, int quant, double want, int bf16_y) {
    const int64_t G = K % 256 == 0 ? 256 : K % 128 == 0 ? 128 : K % 64 == 0 ? 64 : 32;
    double b = 0.0, mag = 0.0;
    for (int64_t g0 = 0; g0 < K; g0 += G) {
        double amax = 0.0, sw = 0.0;
        for (int64_t k = g0; k < g0 + G && k < K; k++) {
            amax = fmax(amax, fabs(x[k]));
            sw += fabs(w[k]);
            mag += fabs((double)x[k] * w[k]);
        }
        if (quant) b += amax / 254.0 * sw;
    }
    b = 2.0 * b + 1e-5 * mag + 1e-6;
    if (bf16_y) b += fabs(want) * 0x1p-8;
    return b;
}

typedef struct part {
    ax_dtype dt;
    int64_t N;
    uint8_t *wq;      /* (N, K) in dt */
    float *wf;        /* the weights as stored, dequantized */
    ax_qweight *pw;   /* packed copy, or NULL */
    ax_tensor w;
    uint16_t *fused;  /* (M, N) y of the fused call (f32 or bf16 bits; 4 bytes per element allocated) */
    uint16_t *apart;  /* (M, N) y of a separate call */
} part;

/* malloc that gives a pointer for 0 bytes too (M = 0 and N = 0 cases). */
static void *alloc(int64_t bytes) { return malloc((size_t)(bytes > 0 ? bytes : 1)); }

static int quant_dt(ax_dtype dt) { return dt != AX_F32 && dt != AX_F16 && dt != AX_BF16; }

/* n parts of dtypes dts and heights Ns over one x (M, K), part i packed when bit i of pack is set, each
 * y with `pad` unused elements after every row: fused against separate (padding untouched), then
 * float64. */
static void check_case(ax_context *ctx, int n, const ax_dtype *dts, const int64_t *Ns, int64_t M, int64_t K, int pack,
                       int64_t pad, ax_dtype ydt) {
    float *x = alloc(M * K * (int64_t)sizeof(float));
    part p[3];
    memset(p, 0, sizeof p);
    CHECK(x != NULL);
    if (x == NULL) return;
    for (int64_t i = 0; i < M * K; i++) x[i] = (float)th_uniform(-1.0, 1.0);
    const size_t ysz = ydt == AX_F32 ? 4 : 2;
    int ok = 1;
    for (int i = 0; i < n; i++) {
        const int64_t NK = Ns[i] * K;
        p[i].dt = dts[i];
        p[i].N = Ns[i];
        p[i].wq = alloc(ax_dtype_bytes(dts[i], NK));
        p[i].wf = alloc(NK * (int64_t)sizeof(float));
        p[i].fused = alloc(M * (Ns[i] + pad) * 4);
        p[i].apart = alloc(M * (Ns[i] + pad) * 4);
        ok &= p[i].wq && p[i].wf && p[i].fused && p[i].apart;
        if (!ok) break;
        for (int64_t k = 0; k < NK; k++) p[i].wf[k] = (float)th_uniform(-0.5, 0.5);
        CHECK_OK(ax_convert(p[i].wf, AX_F32, p[i].wq, dts[i], NK));
        CHECK_OK(ax_convert(p[i].wq, dts[i], p[i].wf, AX_F32, NK)); /* the weights as stored */
        p[i].w = make2(p[i].wq, dts[i], Ns[i], K);
        if (pack >> i & 1) CHECK_OK(ax_qweight_pack(&p[i].w, &p[i].pw));
        memset(p[i].fused, 0xA5, (size_t)(M * (Ns[i] + pad)) * 4);
        memset(p[i].apart, 0x5A, (size_t)(M * (Ns[i] + pad)) * 4);
    }
    CHECK(ok);
    if (ok) {
        ax_tensor tx = make2(x, AX_F32, M, K), ty[3], ta[3];
        const ax_tensor *w[3];
        const ax_qweight *pw[3];
        ax_tensor *y[3];
        for (int i = 0; i < n; i++) {
            ty[i] = make2(p[i].fused, ydt, M, p[i].N);
            ta[i] = make2(p[i].apart, ydt, M, p[i].N);
            ty[i].strides[0] = ta[i].strides[0] = p[i].N + pad;
            w[i] = &p[i].w;
            pw[i] = p[i].pw;
            y[i] = &ty[i];
            if (p[i].pw != NULL)
                CHECK_OK(ax_qmatmul_packed(ctx, &tx, p[i].pw, NULL, &ta[i]));
            else
                CHECK_OK(ax_qmatmul(ctx, &tx, &p[i].w, NULL, &ta[i]));
        }
        CHECK_OK(qmatmul_fused(ctx, &tx, n, w, pack ? pw : NULL, y));
        for (int i = 0; i < n; i++) {
            const int64_t ld = p[i].N + pad;
            int same = 1, pad_kept = 1;
            for (int64_t m = 0; m < M; m++) {
                const unsigned char *f = (const unsigned char *)p[i].fused + m * ld * ysz;
                same &= memcmp(f, (const unsigned char *)p[i].apart + m * ld * ysz, (size_t)p[i].N * ysz) == 0;
                for (int64_t b = p[i].N * (int64_t)ysz; b < ld * (int64_t)ysz; b++) pad_kept &= f[b] == 0xA5;
            }
            CHECK(same);
            CHECK(pad_kept);
            int within = 1;
            for (int64_t m = 0; m < M; m++)
                for (int64_t r = 0; r < p[i].N; r++) {
                    double want = 0.0;
                    for (int64_t k = 0; k < K; k++) want += (double)x[m * K + k] * p[i].wf[r * K + k];
                    const double got = ydt == AX_F32 ? ((const float *)p[i].fused)[m * ld + r]
                                                     : ax_bf16_to_f32(p[i].fused[m * ld + r]);
                    within &= fabs(got - want) <= bound(x + m * K, p[i].wf + r * K, K, quant_dt(p[i].dt), want,
                                                        ydt == AX_BF16);
                }
            CHECK(within);
        }
    }
    for (int i = 0; i < n; i++) {
        ax_qweight_destroy(p[i].pw);
        free(p[i].wq);
        free(p[i].wf);
        free(p[i].fused);
        free(p[i].apart);
    }
    free(x);
}

static void test_matches_separate(void) {
    static const ax_dtype quant[] = {AX_Q4_0, AX_Q4_1, AX_Q8_0, AX_Q4_K, AX_Q6_K, AX_F16, AX_F32};
    static const int64_t Ms[] = {1, 2, 5, 33};
    th_seed(23);
    for (size_t d = 0; d < sizeof quant / sizeof quant[0]; d++) {
        const ax_dtype dt = quant[d];
        const int64_t K = dt == AX_Q4_K || dt == AX_Q6_K ? 512 : 576;
        const int packable = dt == AX_Q4_0 || dt == AX_Q4_1 || dt == AX_Q8_0;
        for (size_t mi = 0; mi < sizeof Ms / sizeof Ms[0]; mi++) {
            ax_context *ctx = mi % 2 ? ctx1 : ctx2;
            const ax_dtype ydt = (d + mi) % 3 == 0 ? AX_BF16 : AX_F32;
            /* q/k/v-like heights (the last not a multiple of the 32-row panel), and gate/up-like */
            const ax_dtype dts3[3] = {dt, dt, dt};
            const int64_t qkv[3] = {96, 32, 37};
            check_case(ctx, 3, dts3, qkv, Ms[mi], K, 0, mi == 2 ? 5 : 0, ydt);
            const int64_t gu[2] = {80, 80};
            check_case(ctx, 2, dts3, gu, Ms[mi], K, 0, 0, ydt);
            if (packable) {
                const int64_t qkv16[3] = {96, 32, 48};
                check_case(ctx, 3, dts3, qkv16, Ms[mi], K, 7, mi == 1 ? 3 : 0, ydt);
                check_case(ctx, 2, dts3, gu, Ms[mi], K, 3, 0, ydt);
                /* some packed, some not (the decoder's pw arrays hold NULLs): separate calls inside */
                check_case(ctx, 3, dts3, qkv16, Ms[mi], K, 5, 0, ydt);
            }
        }
    }
    /* Mixed dtypes: separate calls inside, the same results. */
    const ax_dtype mixed[3] = {AX_Q4_1, AX_Q8_0, AX_Q6_K};
    const int64_t Ns[3] = {64, 32, 16};
    check_case(ctx2, 3, mixed, Ns, 3, 512, 0, 0, AX_F32);
    check_case(ctx2, 3, mixed, Ns, 1, 512, 0, 2, AX_BF16);
    /* A part with no rows (N = 0) and no rows of x (M = 0). */
    const ax_dtype q41[3] = {AX_Q4_1, AX_Q4_1, AX_Q4_1};
    const int64_t with_empty[3] = {64, 0, 32};
    check_case(ctx2, 3, q41, with_empty, 2, 256, 0, 0, AX_F32);
    check_case(ctx2, 3, q41, Ns, 0, 256, 0, 0, AX_F32);
}

static void test_errors(void) {
    static uint8_t wq[64 * 2 * 20], wq2[64 * 2 * 20];
    static float x[2 * 64], y0[2 * 64], y1[2 * 32];
    memset(wq, 0, sizeof wq);
    memset(wq2, 0, sizeof wq2);
    for (int i = 0; i < 2 * 64; i++) x[i] = 1.0f;
    ax_tensor w0 = make2(wq, AX_Q4_1, 64, 64), w1 = make2(wq2, AX_Q4_1, 32, 64);
    ax_tensor tx = make2(x, AX_F32, 2, 64), ty0 = make2(y0, AX_F32, 2, 64), ty1 = make2(y1, AX_F32, 2, 32);
    const ax_tensor *w[2] = {&w0, &w1};
    ax_tensor *y[2] = {&ty0, &ty1};
    for (int i = 0; i < 2 * 64; i++) y0[i] = 7.0f;
    for (int i = 0; i < 2 * 32; i++) y1[i] = 7.0f;
    CHECK_STATUS(qmatmul_fused(ctx2, &tx, 0, w, NULL, y), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "n: 0 products");
    CHECK_STATUS(qmatmul_fused(ctx2, &tx, 4, w, NULL, y), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "expected 1 to 3");
    CHECK_STATUS(qmatmul_fused(NULL, &tx, 2, w, NULL, y), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "ctx");
    /* The second product's y has the wrong N: found before the first runs, so y0 stays untouched. */
    ax_tensor bad = make2(y1, AX_F32, 2, 16);
    ax_tensor *ybad[2] = {&ty0, &bad};
    CHECK_STATUS(qmatmul_fused(ctx2, &tx, 2, w, NULL, ybad), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "N");
    /* The second w's K differs from x's. */
    ax_tensor wk = make2(wq2, AX_Q4_1, 32, 32);
    const ax_tensor *wbad[2] = {&w0, &wk};
    CHECK_STATUS(qmatmul_fused(ctx2, &tx, 2, wbad, NULL, y), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "K");
    /* Without a packed weight for part i, w[i] is used: a NULL tensor there is an error. */
    const ax_tensor *wnull[2] = {&w0, NULL};
    const ax_qweight *pnone[2] = {NULL, NULL};
    CHECK_STATUS(qmatmul_fused(ctx2, &tx, 2, wnull, pnone, y), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "w: NULL");
    /* Outputs that overlap each other, or another product's weights. */
    ax_tensor yo = make2(y0 + 32, AX_F32, 2, 32);
    ax_tensor *yover[2] = {&ty0, &yo};
    CHECK_STATUS(qmatmul_fused(ctx2, &tx, 2, w, NULL, yover), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "overlaps y[");
    ax_tensor yw0 = make2(wq, AX_F32, 2, 32); /* y[1] over w[0]'s bytes */
    ax_tensor *yonw0[2] = {&ty0, &yw0};
    CHECK_STATUS(qmatmul_fused(ctx2, &tx, 2, w, NULL, yonw0), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "y[1]: overlaps w[0]");
    int untouched = 1;
    for (int i = 0; i < 2 * 64; i++) untouched &= y0[i] == 7.0f;
    for (int i = 0; i < 2 * 32; i++) untouched &= y1[i] == 7.0f;
    CHECK(untouched);
    /* Zero weights (scale 0 and min 0) then give y = 0 in both outputs. */
    CHECK_OK(qmatmul_fused(ctx2, &tx, 2, w, NULL, y));
    int zeros = 1;
    for (int i = 0; i < 2 * 64; i++) zeros &= y0[i] == 0.0f;
    for (int i = 0; i < 2 * 32; i++) zeros &= y1[i] == 0.0f;
    CHECK(zeros);
}

int main(void) {
    ax_context_config cfg = AX_CONTEXT_CONFIG_INIT;
    cfg.num_threads = 1;
    if (ax_context_create(&ctx1, &cfg) != AX_OK) return 1;
    cfg.num_threads = 2;
    if (ax_context_create(&ctx2, &cfg) != AX_OK) return 1;
    RUN(test_errors);
    RUN(test_matches_separate);
    ax_context_destroy(ctx1);
    ax_context_destroy(ctx2);
    return th_finish();
}
