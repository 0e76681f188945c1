/*
 * test_evoformer_errors.c — every invalid Evoformer attention call returns the right status with a
 * message naming the tensor and dimension, and writes nothing.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "axial/evoformer.h"
#include "harness.h"

enum { B = 1, N = 2, S = 5, H = 2, D = 4, ACT = B * N * S * H * D };

static float q[ACT], k[ACT], v[ACT], out[ACT], dout[ACT], dq[ACT], dk[ACT], dv[ACT];
static float lse[B * N * H * S], mask[B * N * S], pair[B * H * S * S], dmask[B * N * S], dpair[B * H * S * S];
static uint16_t q16[ACT];
static ax_tensor tq, tk, tv, tout, tdout, tdq, tdk, tdv, tlse, tmask, tpair, tdmask, tdpair, tq16;
static ax_context *ctx;

static const float sentinel = 12345.0f;

static void setup(void) {
    const int64_t act[5] = {B, N, S, H, D}, l[4] = {B, N, H, S}, m[5] = {B, N, 1, 1, S}, pr[5] = {B, 1, H, S, S};
    for (int i = 0; i < ACT; i++) q[i] = k[i] = v[i] = dout[i] = out[i] = (float)(i % 7) * 0.1f;
    ax_tensor_contiguous(&tq, q, AX_F32, 5, act);
    ax_tensor_contiguous(&tk, k, AX_F32, 5, act);
    ax_tensor_contiguous(&tv, v, AX_F32, 5, act);
    ax_tensor_contiguous(&tout, out, AX_F32, 5, act);
    ax_tensor_contiguous(&tdout, dout, AX_F32, 5, act);
    ax_tensor_contiguous(&tdq, dq, AX_F32, 5, act);
    ax_tensor_contiguous(&tdk, dk, AX_F32, 5, act);
    ax_tensor_contiguous(&tdv, dv, AX_F32, 5, act);
    ax_tensor_contiguous(&tlse, lse, AX_F32, 4, l);
    ax_tensor_contiguous(&tmask, mask, AX_F32, 5, m);
    ax_tensor_contiguous(&tpair, pair, AX_F32, 5, pr);
    ax_tensor_contiguous(&tdmask, dmask, AX_F32, 5, m);
    ax_tensor_contiguous(&tdpair, dpair, AX_F32, 5, pr);
    ax_tensor_contiguous(&tq16, q16, AX_BF16, 5, act);
}

static void fill_outputs(void) {
    float *outs[] = {out, dq, dk, dv};
    for (int o = 0; o < 4; o++)
        for (int i = 0; i < ACT; i++) outs[o][i] = sentinel;
    for (int i = 0; i < B * N * H * S; i++) lse[i] = sentinel;
    for (int i = 0; i < B * N * S; i++) dmask[i] = sentinel;
    for (int i = 0; i < B * H * S * S; i++) dpair[i] = sentinel;
}

static int outputs_untouched(void) {
    const float *outs[] = {out, dq, dk, dv};
    for (int o = 0; o < 4; o++)
        for (int i = 0; i < ACT; i++)
            if (outs[o][i] != sentinel) return 0;
    for (int i = 0; i < B * N * H * S; i++)
        if (lse[i] != sentinel) return 0;
    for (int i = 0; i < B * N * S; i++)
        if (dmask[i] != sentinel) return 0;
    for (int i = 0; i < B * H * S * S; i++)
        if (dpair[i] != sentinel) return 0;
    return 1;
}

#define EXPECT_FWD_ERROR(status, needle, ...)                                                  \
    do {                                                                                       \
        fill_outputs();                                                                        \
        CHECK_STATUS(ax_evoformer_attention_forward(__VA_ARGS__), status);                     \
        CHECK_CONTAINS(ax_last_error(), needle);                                               \
        CHECK(outputs_untouched());                                                            \
    } while (0)

#define EXPECT_BWD_ERROR(status, needle, ...)                                                  \
    do {                                                                                       \
        fill_outputs();                                                                        \
        CHECK_STATUS(ax_evoformer_attention_backward(__VA_ARGS__), status);                    \
        CHECK_CONTAINS(ax_last_error(), needle);                                               \
        CHECK(outputs_untouched());                                                            \
    } while (0)

static void test_forward_errors(void) {
    ax_tensor bad;
    EXPECT_FWD_ERROR(AX_ERR_INVALID_ARGUMENT, "ctx: NULL", NULL, &tq, &tk, &tv, NULL, NULL, &tout, &tlse);
    EXPECT_FWD_ERROR(AX_ERR_INVALID_ARGUMENT, "q: NULL tensor", ctx, NULL, &tk, &tv, NULL, NULL, &tout, &tlse);
    EXPECT_FWD_ERROR(AX_ERR_INVALID_ARGUMENT, "out: NULL tensor", ctx, &tq, &tk, &tv, NULL, NULL, NULL, &tlse);
    bad = tq;
    bad.ndim = 4;
    EXPECT_FWD_ERROR(AX_ERR_INVALID_ARGUMENT, "q: expected 5 dims (B, N, S, H, D), got 4", ctx, &bad, &tk, &tv, NULL,
                     NULL, &tout, &tlse);
    bad = tk;
    bad.shape[2] = S + 1;
    EXPECT_FWD_ERROR(AX_ERR_INVALID_ARGUMENT, "k: dim 2 (S) is 6, expected 5", ctx, &tq, &bad, &tv, NULL, NULL, &tout,
                     &tlse);
    bad = tv;
    bad.dtype = AX_F16;
    EXPECT_FWD_ERROR(AX_ERR_INVALID_ARGUMENT, "v: dtype is f16, expected f32", ctx, &tq, &tk, &bad, NULL, NULL, &tout,
                     &tlse);
    bad = tq;
    bad.dtype = AX_I32;
    EXPECT_FWD_ERROR(AX_ERR_INVALID_ARGUMENT, "q: dtype is i32, expected f32, bf16 or f16", ctx, &bad, &tk, &tv, NULL,
                     NULL, &tout, &tlse);
    bad = tmask;
    bad.shape[1] = 3;
    EXPECT_FWD_ERROR(AX_ERR_INVALID_ARGUMENT, "bias_mask: dim 1 (N) is 3, expected 2 or 1 (broadcast)", ctx, &tq, &tk,
                     &tv, &bad, NULL, &tout, &tlse);
    bad = tpair;
    bad.shape[3] = 4;
    EXPECT_FWD_ERROR(AX_ERR_INVALID_ARGUMENT, "bias_pair: dim 3 (S (query)) is 4, expected 5 or 1", ctx, &tq, &tk, &tv,
                     NULL, &bad, &tout, &tlse);
    bad = tpair;
    bad.dtype = AX_F16;
    EXPECT_FWD_ERROR(AX_ERR_INVALID_ARGUMENT, "bias_pair: dtype is f16, expected f32 (as q)", ctx, &tq, &tk,
                     &tv, NULL, &bad, &tout, &tlse);
    CHECK(strstr(ax_last_error(), "or f32") == NULL); /* had read "expected f32 (as q) or f32" */
    bad = tlse;
    bad.dtype = AX_BF16;
    EXPECT_FWD_ERROR(AX_ERR_INVALID_ARGUMENT, "lse: dtype is bf16, expected f32", ctx, &tq, &tk, &tv, NULL, NULL,
                     &tout, &bad);
    bad = tout;
    bad.device.type = AX_CUDA;
    EXPECT_FWD_ERROR(AX_ERR_INVALID_ARGUMENT, "out: on cuda:0, but the context runs on cpu:0", ctx, &tq, &tk, &tv, NULL,
                     NULL, &bad, &tlse);
    bad = tout;
    bad.data = q; /* writing the output over an input */
    EXPECT_FWD_ERROR(AX_ERR_INVALID_ARGUMENT, "out: overlaps the input q", ctx, &tq, &tk, &tv, NULL, NULL, &bad, &tlse);
    bad = tout;
    bad.strides[2] = 0; /* an output with broadcast strides */
    EXPECT_FWD_ERROR(AX_ERR_INVALID_ARGUMENT, "out: output strides may make elements overlap", ctx, &tq, &tk, &tv, NULL,
                     NULL, &bad, &tlse);
    bad = tq;
    bad.data = NULL;
    EXPECT_FWD_ERROR(AX_ERR_INVALID_ARGUMENT, "q: data is NULL", ctx, &bad, &tk, &tv, NULL, NULL, &tout, &tlse);
    /* a mixed dtype set: bf16 q with fp32 k */
    EXPECT_FWD_ERROR(AX_ERR_INVALID_ARGUMENT, "k: dtype is f32, expected bf16", ctx, &tq16, &tk, &tv, NULL, NULL, &tout,
                     &tlse);
}

static void test_head_dim_limit(void) {
    static float big[1 * 1 * 2 * 1 * 257];
    const int64_t shape[5] = {1, 1, 2, 1, 257};
    ax_tensor t;
    ax_tensor_contiguous(&t, big, AX_F32, 5, shape);
    ax_tensor o = t;
    static float obuf[2 * 257];
    o.data = obuf;
    CHECK_STATUS(ax_evoformer_attention_forward(ctx, &t, &t, &t, NULL, NULL, &o, NULL), AX_ERR_UNSUPPORTED);
    CHECK_CONTAINS(ax_last_error(), "D = 257 exceeds the CPU backend's limit of 256");
}

/* D = 0 is outside D >= 1: refused (lse had been left unwritten). An empty problem (N = 0 here) whose
 * pair bias broadcasts over N still has a dbias_pair to write: zeros, the gradient of an empty sum
 * (it had kept its old bytes). */
static void test_zero_sizes(void) {
    const int64_t act0[5] = {B, N, S, H, 0};
    ax_tensor q0, o0;
    ax_tensor_contiguous(&q0, q, AX_F32, 5, act0);
    ax_tensor_contiguous(&o0, out, AX_F32, 5, act0);
    fill_outputs();
    CHECK_STATUS(ax_evoformer_attention_forward(ctx, &q0, &q0, &q0, NULL, &tpair, &o0, &tlse), AX_ERR_UNSUPPORTED);
    CHECK_CONTAINS(ax_last_error(), "q: dim 4 (D) is 0");
    CHECK(outputs_untouched());

    const int64_t empty[5] = {B, 0, S, H, D}, lse0[4] = {B, 0, H, S}, mask0[5] = {B, 1, 1, 1, S};
    ax_tensor qe, le, me, dme;
    ax_tensor_contiguous(&qe, q, AX_F32, 5, empty);
    ax_tensor_contiguous(&le, lse, AX_F32, 4, lse0);
    ax_tensor_contiguous(&me, mask, AX_F32, 5, mask0);
    ax_tensor_contiguous(&dme, dmask, AX_F32, 5, mask0);
    fill_outputs();
    CHECK_OK(ax_evoformer_attention_backward(ctx, &qe, &qe, &qe, &me, &tpair, &qe, &le, &qe, &qe, &qe, &qe, &dme,
                                             &tdpair));
    int zero = 1;
    for (int i = 0; i < B * H * S * S; i++) zero &= dpair[i] == 0.0f;
    for (int i = 0; i < B * S; i++) zero &= dmask[i] == 0.0f;
    CHECK(zero);
}

static void test_backward_errors(void) {
    ax_tensor bad;
    EXPECT_BWD_ERROR(AX_ERR_INVALID_ARGUMENT, "lse: NULL (backward needs the forward's lse)", ctx, &tq, &tk, &tv, NULL,
                     NULL, &tout, NULL, &tdout, &tdq, &tdk, &tdv, NULL, NULL);
    EXPECT_BWD_ERROR(AX_ERR_INVALID_ARGUMENT, "dk: NULL tensor", ctx, &tq, &tk, &tv, NULL, NULL, &tout, &tlse, &tdout,
                     &tdq, NULL, &tdv, NULL, NULL);
    EXPECT_BWD_ERROR(AX_ERR_INVALID_ARGUMENT, "dbias_pair: given, but bias_pair is NULL", ctx, &tq, &tk, &tv, NULL,
                     NULL, &tout, &tlse, &tdout, &tdq, &tdk, &tdv, NULL, &tdpair);
    bad = tdmask;
    bad.shape[0] = 1;
    bad.shape[1] = 1;
    EXPECT_BWD_ERROR(AX_ERR_INVALID_ARGUMENT, "dbias_mask: dim 1 is 1, but bias_mask has 2 there", ctx, &tq, &tk, &tv,
                     &tmask, NULL, &tout, &tlse, &tdout, &tdq, &tdk, &tdv, &bad, NULL);
    bad = tdq;
    bad.data = dk; /* dq over dk */
    EXPECT_BWD_ERROR(AX_ERR_INVALID_ARGUMENT, "dq: overlaps the output dk", ctx, &tq, &tk, &tv, NULL, NULL, &tout,
                     &tlse, &tdout, &bad, &tdk, &tdv, NULL, NULL);
    bad = tdv;
    bad.data = dout;
    EXPECT_BWD_ERROR(AX_ERR_INVALID_ARGUMENT, "dv: overlaps the input dout", ctx, &tq, &tk, &tv, NULL, NULL, &tout,
                     &tlse, &tdout, &tdq, &tdk, &bad, NULL, NULL);
    bad = tdout;
    bad.shape[4] = 3;
    EXPECT_BWD_ERROR(AX_ERR_INVALID_ARGUMENT, "dout: dim 4 (D) is 3, expected 4", ctx, &tq, &tk, &tv, NULL, NULL, &tout,
                     &tlse, &bad, &tdq, &tdk, &tdv, NULL, NULL);
}

static void test_workspace_limit(void) {
    ax_context_config cfg = AX_CONTEXT_CONFIG_INIT;
    cfg.workspace_limit = 1024; /* far too small for one tile */
    ax_context *small = NULL;
    CHECK_OK(ax_context_create(&small, &cfg));
    EXPECT_FWD_ERROR(AX_ERR_OUT_OF_MEMORY, "the context's limit is 1024", small, &tq, &tk, &tv, NULL, NULL, &tout,
                     &tlse);
    ax_context_destroy(small);
}

static void test_valid_call_succeeds(void) {
    /* The same tensors pass when nothing is wrong, so the failures above are the checks' doing. */
    fill_outputs();
    CHECK_OK(ax_evoformer_attention_forward(ctx, &tq, &tk, &tv, &tmask, &tpair, &tout, &tlse));
    CHECK(!outputs_untouched());
    CHECK_OK(ax_evoformer_attention_backward(ctx, &tq, &tk, &tv, &tmask, &tpair, &tout, &tlse, &tdout, &tdq, &tdk, &tdv,
                                             &tdmask, &tdpair));
}

int main(void) {
    setup();
    if (ax_context_create(&ctx, NULL) != AX_OK) return 1;
    RUN(test_forward_errors);
    RUN(test_head_dim_limit);
    RUN(test_zero_sizes);
    RUN(test_backward_errors);
    RUN(test_workspace_limit);
    RUN(test_valid_call_succeeds);
    ax_context_destroy(ctx);
    return th_finish();
}
