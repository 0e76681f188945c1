/*
 * test_qmatmul_errors.c — every invalid ax_qmatmul call returns the right status with a message
 * naming the argument (and dimension), and leaves y untouched; the same tensors then succeed.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "axial/linalg.h"
#include "harness.h"

enum { M = 3, N = 5, K = 64 };

static float x[M * K], y[M * N], bias[N], wf[N * K];
static uint16_t x16[M * K];
static uint8_t wq[N * (K / 32) * 18 + 64]; /* q4_0 */
static int32_t xi[M * K];
static ax_context *ctx;

static const float sentinel = 12345.0f;

static void fill_y(void) {
    for (int i = 0; i < M * N; i++) y[i] = sentinel;
}

static int y_untouched(void) {
    for (int i = 0; i < M * N; i++)
        if (y[i] != sentinel) return 0;
    return 1;
}

static ax_tensor make(void *data, ax_dtype dt, int32_t ndim, int64_t d0, int64_t d1) {
    ax_tensor t;
    const int64_t shape[2] = {d0, d1};
    ax_tensor_contiguous(&t, data, dt, ndim, shape);
    return t;
}

/* The call fails with `status`, its message contains `needle`, and y is untouched. */
static void expect_error(const ax_tensor *tx, const ax_tensor *tw, const ax_tensor *tb, ax_tensor *ty,
                         ax_status status, const char *needle) {
    fill_y();
    CHECK_STATUS(ax_qmatmul(ctx, tx, tw, tb, ty), status);
    CHECK_CONTAINS(ax_last_error(), needle);
    CHECK(y_untouched());
}

static void test_errors(void) {
    ax_tensor tx = make(x, AX_F32, 2, M, K), tw = make(wq, AX_Q4_0, 2, N, K), tb = make(bias, AX_F32, 1, N, 0);
    ax_tensor ty = make(y, AX_F32, 2, M, N);

    /* NULLs. */
    fill_y();
    CHECK_STATUS(ax_qmatmul(NULL, &tx, &tw, &tb, &ty), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "ctx");
    expect_error(NULL, &tw, &tb, &ty, AX_ERR_INVALID_ARGUMENT, "x: NULL");
    expect_error(&tx, NULL, &tb, &ty, AX_ERR_INVALID_ARGUMENT, "w: NULL");
    expect_error(&tx, &tw, &tb, NULL, AX_ERR_INVALID_ARGUMENT, "y: NULL");

    /* K not a multiple of the block: w's K of 48 with q4_0 (blocks of 32). */
    ax_tensor bad_w = tw;
    bad_w.shape[1] = 48;
    expect_error(&tx, &bad_w, &tb, &ty, AX_ERR_INVALID_ARGUMENT, "w");
    CHECK_CONTAINS(ax_last_error(), "block");
    /* K of 64 is not a multiple of q4_k's 256. */
    ax_tensor k_w = tw;
    k_w.dtype = AX_Q4_K;
    expect_error(&tx, &k_w, &tb, &ty, AX_ERR_INVALID_ARGUMENT, "w");
    CHECK_CONTAINS(ax_last_error(), "q4_k");

    /* K of x and w differ (w's K of 32: a valid q4_0 tensor). */
    ax_tensor short_w = tw;
    short_w.shape[1] = 32;
    short_w.strides[0] = 32;
    expect_error(&tx, &short_w, &tb, &ty, AX_ERR_INVALID_ARGUMENT, "K");

    /* N of y and bias. */
    ax_tensor bad_y = make(y, AX_F32, 2, M, N - 1);
    expect_error(&tx, &tw, &tb, &bad_y, AX_ERR_INVALID_ARGUMENT, "y: dim 1 (N)");
    ax_tensor bad_b = make(bias, AX_F32, 1, N - 1, 0);
    expect_error(&tx, &tw, &bad_b, &ty, AX_ERR_INVALID_ARGUMENT, "bias: dim 0 (N)");

    /* M of y. */
    ax_tensor short_y = make(y, AX_F32, 2, M - 1, N);
    expect_error(&tx, &tw, &tb, &short_y, AX_ERR_INVALID_ARGUMENT, "y: dim 0");

    /* Dtypes: x integer, w integer, y f16, bias bf16. */
    ax_tensor int_x = make(xi, AX_I32, 2, M, K);
    expect_error(&int_x, &tw, &tb, &ty, AX_ERR_INVALID_ARGUMENT, "x");
    CHECK_CONTAINS(ax_last_error(), "i32");
    ax_tensor int_w = make(xi, AX_I32, 2, N, K);
    expect_error(&tx, &int_w, &tb, &ty, AX_ERR_INVALID_ARGUMENT, "w");
    ax_tensor f16_y = make(y, AX_F16, 2, M, N);
    expect_error(&tx, &tw, &tb, &f16_y, AX_ERR_INVALID_ARGUMENT, "y");
    CHECK_CONTAINS(ax_last_error(), "f16");
    ax_tensor bf16_b = make(x16, AX_BF16, 1, N, 0);
    expect_error(&tx, &tw, &bf16_b, &ty, AX_ERR_INVALID_ARGUMENT, "bias");

    /* w not 2-D. */
    ax_tensor w1 = make(wq, AX_Q4_0, 1, K, 0);
    expect_error(&tx, &w1, &tb, &ty, AX_ERR_INVALID_ARGUMENT, "w");

    /* K not contiguous in x. */
    ax_tensor strided_x = make(x, AX_F32, 2, M, K / 2);
    strided_x.strides[1] = 2;
    ax_tensor half_w = make(wf, AX_F32, 2, N, K / 2);
    expect_error(&strided_x, &half_w, &tb, &ty, AX_ERR_INVALID_ARGUMENT, "x");

    /* x's leading dims must collapse into one row stride: (3, 1, K) is fine, a (1, 3) split of rows
     * with a padded outer stride is not. */
    ax_tensor x3, y3;
    const int64_t xs3[3] = {3, 1, K}, ys3[3] = {3, 1, N};
    ax_tensor_contiguous(&x3, x, AX_F32, 3, xs3);
    ax_tensor_contiguous(&y3, y, AX_F32, 3, ys3);
    fill_y();
    CHECK_OK(ax_qmatmul(ctx, &x3, &tw, &tb, &y3));
    const int64_t xs3b[3] = {1, 3, K / 2}, ys3b[3] = {1, 3, N};
    ax_tensor xb, yb;
    ax_tensor_contiguous(&xb, x, AX_F32, 3, xs3b);
    ax_tensor_contiguous(&yb, y, AX_F32, 3, ys3b);
    const int64_t xs4[3] = {3, 1, K / 2};
    ax_tensor x4;
    ax_tensor_contiguous(&x4, x, AX_F32, 3, xs4);
    x4.strides[0] = K / 2 + 3; /* rows padded... */
    x4.shape[1] = 2;           /* ...and a second leading dim of 2 that steps by K / 2: no single stride */
    x4.strides[1] = K / 2;
    ax_tensor y4;
    const int64_t ys4[3] = {3, 2, N};
    ax_tensor_contiguous(&y4, y, AX_F32, 3, ys4);
    static float ybig[3 * 2 * N];
    y4.data = ybig;
    CHECK_STATUS(ax_qmatmul(ctx, &x4, &half_w, &tb, &y4), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "x: stride");
    (void)xb;
    (void)yb;

    /* y overlapping x. */
    ax_tensor alias_y = make(x, AX_F32, 2, M, N);
    CHECK_STATUS(ax_qmatmul(ctx, &tx, &tw, &tb, &alias_y), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "y");
}

static void test_workspace_limit(void) {
    ax_context_config cfg = AX_CONTEXT_CONFIG_INIT;
    cfg.workspace_limit = 64;
    ax_context *tight = NULL;
    CHECK_OK(ax_context_create(&tight, &cfg));
    ax_tensor tx = make(x, AX_F32, 2, M, K), tw = make(wq, AX_Q4_0, 2, N, K), ty = make(y, AX_F32, 2, M, N);
    fill_y();
    CHECK_STATUS(ax_qmatmul(tight, &tx, &tw, NULL, &ty), AX_ERR_OUT_OF_MEMORY);
    CHECK(y_untouched());
    ax_context_destroy(tight);
}

static void test_valid_call_succeeds(void) {
    /* The same tensors pass when nothing is wrong (zero weights: y = bias), so the failures above
     * are the checks' doing. */
    ax_tensor tx = make(x, AX_F32, 2, M, K), tw = make(wq, AX_Q4_0, 2, N, K), tb = make(bias, AX_F32, 1, N, 0);
    ax_tensor ty = make(y, AX_F32, 2, M, N);
    fill_y();
    CHECK_OK(ax_qmatmul(ctx, &tx, &tw, &tb, &ty));
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) CHECK(y[m * N + n] == bias[n]);
    /* An empty K: y = bias, with w as ax_tensor_contiguous lays it out (a dim of zero blocks steps by
     * one element, which the block layout rule had refused) and with rows a whole block apart. */
    ax_tensor ex = make(x, AX_F32, 2, M, 0), ew = make(wq, AX_Q4_0, 2, N, 0);
    for (int strided = 0; strided < 2; strided++) {
        if (strided) ew.strides[0] = 32;
        fill_y();
        CHECK_OK(ax_qmatmul(ctx, &ex, &ew, &tb, &ty));
        for (int m = 0; m < M; m++)
            for (int n = 0; n < N; n++) CHECK(y[m * N + n] == bias[n]);
    }
}

int main(void) {
    for (int i = 0; i < M * K; i++) x[i] = (float)(i % 7) * 0.1f - 0.3f;
    for (int i = 0; i < N; i++) bias[i] = (float)i - 2.0f;
    /* q4_0 blocks of zero weights: scale 0. */
    for (size_t i = 0; i < sizeof wq; i++) wq[i] = 0;
    if (ax_context_create(&ctx, NULL) != AX_OK) return 1;
    RUN(test_errors);
    RUN(test_workspace_limit);
    RUN(test_valid_call_succeeds);
    ax_context_destroy(ctx);
    return th_finish();
}
