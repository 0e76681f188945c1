/*
 * test_qmatmul_packed.c — ax_qweight_pack and ax_qmatmul_packed: the packed product is bit for bit
 * ax_qmatmul's on the unpacked weights (every M, bias or none, f32 and bf16 y, K over several
 * chunks), both within the documented x-quantization bound of a float64 product of the weights as
 * ax_convert dequantizes them, and bad arguments give clear errors with nothing written. ctest runs
 * it on every CPU path this machine has (tests/qmatmul_tests.cmake).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "axial/linalg.h"
#include "harness.h"

static ax_context *ctx;

static ax_tensor make2(void *data, ax_dtype dt, int64_t d0, int64_t d1) {
    ax_tensor t;
    const int64_t shape[2] = {d0, d1};
    ax_tensor_contiguous(&t, data, dt, 2, shape);
    return t;
}

/* |error| bound of ax_qmatmul (linalg.h): per x group of G elements, amax_g / 254 times the sum of
 * |w| over the group, plus fp32 accumulation; doubled as slack, plus bf16 rounding of y. */
static double bound(const float *x, const double *w, int64_t K, double want, int bf16_y) {
    const int64_t G = K % 256 == 0 ? 256 : K % 128 == 0 ? 128 : K % 64 == 0 ? 64 : 32;
    double b = 0.0, mag = 0.0;
    for (int64_t g0 = 0; g0 < K; g0 += G) {
        double amax = 0.0, sw = 0.0;
        for (int64_t k = g0; k < g0 + G; k++) {
            amax = fmax(amax, fabs(x[k]));
            sw += fabs(w[k]);
            mag += fabs(x[k] * w[k]);
        }
        b += amax / 254.0 * sw;
    }
    b = 2.0 * b + 1e-5 * mag + 1e-6;
    if (bf16_y) b += fabs(want) * 0x1p-8;
    return b;
}

/* The CPU's product as linalg.h documents it, in float64: x quantized per group of G to levels
 * round(x / dx) with the fp32 scale dx = amax / 127, times the weights as stored. *tol gets the
 * room it leaves: fp32 accumulation (K/16 + K/32 + 32 units of 2^-24 of the summed magnitudes,
 * doubled), y's bf16 rounding, and a level's worth where x / dx lies within 1e-3 of a tie (fp32
 * arithmetic may round it the other way). Much tighter than bound(), so a kernel quantizing x any
 * other way (floor, another group size or scale) fails it. */
static double quantized_product(const float *x, const double *w, int64_t K, double bias, int bf16_y, double *tol) {
    const int64_t G = K % 256 == 0 ? 256 : K % 128 == 0 ? 128 : K % 64 == 0 ? 64 : 32;
    double sum = bias, mag = fabs(bias), ties = 0.0;
    for (int64_t g0 = 0; g0 < K; g0 += G) {
        float amax = 0.0f;
        for (int64_t k = g0; k < g0 + G; k++) amax = fmaxf(amax, fabsf(x[k]));
        const double dx = (double)(amax / 127.0f);
        for (int64_t k = g0; k < g0 + G; k++) {
            const double t = dx > 0.0 ? (double)x[k] / dx : 0.0;
            const double level = nearbyint(t);
            sum += dx * level * w[k];
            mag += fabs(dx * level * w[k]);
            if (fabs(fabs(t - floor(t)) - 0.5) < 1e-3) ties += dx * fabs(w[k]);
        }
    }
    *tol = 2.0 * (double)(K / 16 + K / 32 + 32) * 0x1p-24 * mag + ties + (bf16_y ? fabs(sum) * 0x1p-8 : 0.0) + 1e-30;
    return sum;
}

static void check_case(ax_dtype dt, int64_t M, int64_t N, int64_t K, int with_bias, ax_dtype ydt) {
    const int64_t wbytes = ax_dtype_bytes(dt, N * K);
    float *x = malloc((size_t)(M * K) * sizeof(float)), *wf = malloc((size_t)(N * K) * sizeof(float));
    float *bias = malloc((size_t)N * sizeof(float));
    uint8_t *wq = malloc((size_t)wbytes);
    uint32_t *ya = malloc((size_t)(M * N) * 4), *yb = malloc((size_t)(M * N) * 4);
    double *wd = malloc((size_t)(N * K) * sizeof(double));
    CHECK(x && wf && bias && wq && ya && yb && wd);
    for (int64_t i = 0; i < M * K; i++) x[i] = (float)th_uniform(-1.0, 1.0);
    for (int64_t i = 0; i < N * K; i++) wf[i] = (float)th_uniform(-0.5, 0.5);
    for (int64_t i = 0; i < N; i++) bias[i] = (float)th_uniform(-1.0, 1.0);
    CHECK_OK(ax_convert(wf, AX_F32, wq, dt, N * K));
    CHECK_OK(ax_convert(wq, dt, wf, AX_F32, N * K)); /* the weights as stored */
    for (int64_t i = 0; i < N * K; i++) wd[i] = wf[i];

    ax_qweight *pw = NULL;
    ax_tensor tw = make2(wq, dt, N, K), tx = make2(x, AX_F32, M, K), tbias;
    const int64_t bs[1] = {N};
    ax_tensor_contiguous(&tbias, bias, AX_F32, 1, bs);
    ax_tensor ta = make2(ya, ydt, M, N), tb = make2(yb, ydt, M, N);
    CHECK_OK(ax_qweight_pack(&tw, &pw));
    CHECK(pw != NULL);
    if (pw == NULL) return;
    int64_t shape[2] = {0, 0};
    ax_qweight_shape(pw, shape);
    CHECK(ax_qweight_dtype(pw) == dt && shape[0] == N && shape[1] == K);
    /* The packer copied: scribbling over the source afterwards changes nothing. */
    uint8_t *saved = malloc((size_t)wbytes);
    CHECK(saved != NULL);
    memcpy(saved, wq, (size_t)wbytes);
    memset(wq, 0x5a, (size_t)wbytes);
    CHECK_OK(ax_qmatmul_packed(ctx, &tx, pw, with_bias ? &tbias : NULL, &tb));
    memcpy(wq, saved, (size_t)wbytes);
    CHECK_OK(ax_qmatmul(ctx, &tx, &tw, with_bias ? &tbias : NULL, &ta));
    int64_t same = 0, within = 0, exact = 0, unquantized_exact = 0;
    for (int64_t m = 0; m < M; m++)
        for (int64_t n = 0; n < N; n++) {
            const int64_t i = m * N + n;
            const size_t ysz = ydt == AX_F32 ? 4 : 2;
            same += memcmp((char *)ya + i * ysz, (char *)yb + i * ysz, ysz) == 0;
            double want = with_bias ? bias[n] : 0.0;
            for (int64_t k = 0; k < K; k++) want += (double)x[m * K + k] * wd[n * K + k];
            const double got = ydt == AX_F32 ? ((float *)yb)[i] : ax_bf16_to_f32(((uint16_t *)yb)[i]);
            within += fabs(got - want) <= bound(x + m * K, wd + n * K, K, want, ydt == AX_BF16);
            double tol;
            const double want_q =
                quantized_product(x + m * K, wd + n * K, K, with_bias ? bias[n] : 0.0, ydt == AX_BF16, &tol);
            exact += fabs(got - want_q) <= tol;
            unquantized_exact += fabs(want - want_q) <= tol;
        }
    if (same != M * N || within != M * N || exact != M * N)
        fprintf(stderr,
                "  %s M %lld N %lld K %lld bias %d y %s: %lld/%lld bitwise equal, %lld within bound, %lld match the "
                "quantized product\n",
                ax_dtype_name(dt), (long long)M, (long long)N, (long long)K, with_bias, ax_dtype_name(ydt),
                (long long)same, (long long)(M * N), (long long)within, (long long)exact);
    CHECK(same == M * N);
    CHECK(within == M * N);
    CHECK(exact == M * N);
    /* The tight check has teeth: the product without x's quantization (as the CUDA backend computes
     * it) misses it for most elements with f32 y, where K is short enough that the worst-case fp32
     * accumulation room (linear in K) stays below the quantization error (about sqrt(K)). */
    if (ydt == AX_F32 && K <= 1536) CHECK(unquantized_exact < M * N / 2);
    ax_qweight_destroy(pw);
    free(saved);
    free(x);
    free(wf);
    free(bias);
    free(wq);
    free(ya);
    free(yb);
    free(wd);
}

static void test_matches_unpacked(void) {
    static const ax_dtype dts[3] = {AX_Q4_0, AX_Q4_1, AX_Q8_0};
    static const int64_t shapes[][2] = {{16, 32}, {48, 576}, {32, 1536}, {80, 96}, {16, 4160}, {48, 8224}};
    static const int64_t Ms[] = {1, 2, 3, 5, 33};
    th_seed(11);
    for (int d = 0; d < 3; d++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            for (size_t mi = 0; mi < sizeof Ms / sizeof Ms[0]; mi++)
                check_case(dts[d], Ms[mi], shapes[s][0], shapes[s][1], (int)((s + mi) % 2),
                           (s + mi + d) % 3 == 0 ? AX_BF16 : AX_F32);
}

static void test_errors(void) {
    static uint8_t wq[48 * 2 * 34];
    static float x[2 * 64], y[2 * 48];
    memset(wq, 0, sizeof wq);
    ax_qweight *pw = (ax_qweight *)&pw; /* not NULL: a failed pack must set it to NULL */
    ax_tensor tw = make2(wq, AX_Q4_0, 48, 64);
    CHECK_STATUS(ax_qweight_pack(NULL, &pw), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "w: NULL");
    CHECK(pw == NULL);
    CHECK_STATUS(ax_qweight_pack(&tw, NULL), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "out");
    ax_tensor bad = make2(wq, AX_Q4_0, 24, 64);
    CHECK_STATUS(ax_qweight_pack(&bad, &pw), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "multiple of 16");
    bad = make2(wq, AX_Q4_K, 16, 256);
    CHECK_STATUS(ax_qweight_pack(&bad, &pw), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "q4_k");
    bad = make2(x, AX_F32, 16, 8);
    CHECK_STATUS(ax_qweight_pack(&bad, &pw), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "f32");
    bad = tw;
    bad.ndim = 1;
    CHECK_STATUS(ax_qweight_pack(&bad, &pw), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "2 dims");
    bad = tw;
    bad.data = NULL;
    CHECK_STATUS(ax_qweight_pack(&bad, &pw), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "NULL data");
    bad = tw;
    bad.strides[0] = 32;
    CHECK_STATUS(ax_qweight_pack(&bad, &pw), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "row stride");
    bad = make2(wq, AX_Q4_0, 16, 64);
    bad.strides[0] = 80; /* not a whole number of blocks */
    CHECK_STATUS(ax_qweight_pack(&bad, &pw), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "whole number");
    CHECK(pw == NULL);

    CHECK_OK(ax_qweight_pack(&tw, &pw));
    ax_tensor tx = make2(x, AX_F32, 2, 64), ty = make2(y, AX_F32, 2, 48);
    for (int i = 0; i < 2 * 48; i++) y[i] = 7.0f;
    CHECK_STATUS(ax_qmatmul_packed(ctx, &tx, NULL, NULL, &ty), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "w: NULL");
    CHECK_STATUS(ax_qmatmul_packed(NULL, &tx, pw, NULL, &ty), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "ctx");
    ax_tensor xk = make2(x, AX_F32, 1, 32); /* K of x differs from w's */
    CHECK_STATUS(ax_qmatmul_packed(ctx, &xk, pw, NULL, &ty), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "K");
    ax_tensor yn = make2(y, AX_F32, 2, 40); /* N of y differs */
    CHECK_STATUS(ax_qmatmul_packed(ctx, &tx, pw, NULL, &yn), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "N");
    int untouched = 1;
    for (int i = 0; i < 2 * 48; i++) untouched &= y[i] == 7.0f;
    CHECK(untouched);
    /* Zero weights (scale 0) then give y = 0. */
    CHECK_OK(ax_qmatmul_packed(ctx, &tx, pw, NULL, &ty));
    int zeros = 1;
    for (int i = 0; i < 2 * 48; i++) zeros &= y[i] == 0.0f;
    CHECK(zeros);
    ax_qweight_destroy(pw);
    ax_qweight_destroy(NULL);
}

int main(void) {
    ax_context_config cfg = AX_CONTEXT_CONFIG_INIT;
    cfg.num_threads = 2;
    if (ax_context_create(&ctx, &cfg) != AX_OK) return 1;
    RUN(test_errors);
    RUN(test_matches_unpacked);
    ax_context_destroy(ctx);
    return th_finish();
}
