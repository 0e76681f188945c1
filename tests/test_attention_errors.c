/*
 * test_attention_errors.c — every invalid ax_attention_forward / ax_attention_backward call returns
 * the right status with a message naming the argument (and dimension), and writes nothing: shape
 * mismatches, H % Hkv, packed-batch cu_seqlens (decreasing, out of range, wrong length, wrong
 * dtype, one of the pair missing, not starting at 0), the window/causal conflict, bad scale and
 * softcap, dbias without a bias, overlapping outputs, a missing lse, and the workspace limit.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <string.h>

#include "axial/attention.h"
#include "harness.h"

enum { B = 2, SQ = 5, SK = 6, H = 4, HKV = 2, D = 8 };
enum { NQ = B * SQ * H * D, NK = B * SK * HKV * D, NL = B * H * SQ, NB = B * H * SQ * SK };
/* Packed: 2 sequences in TQ = 7 query and TK = 9 key tokens. */
enum { TQ = 7, TK = 9, PQ = TQ * H * D, PK = TK * HKV * D, PL = H * TQ };

static float q[NQ], k[NK], v[NK], out[NQ], dout[NQ], dq[NQ], dk[NK], dv[NK], lse[NL], bias[NB], dbias[NB];
static float pq[PQ], pk[PK], pv[PK], pout[PQ], plse[PL];
static int32_t cu_q[B + 1] = {0, 3, 7}, cu_k[B + 1] = {0, 4, 9}, cu_bad[B + 1];
static int64_t cu_wide[B + 1] = {0, 3, 7};
static ax_tensor tq, tk, tv, tout, tdout, tdq, tdk, tdv, tlse, tbias, tdbias;
static ax_tensor tpq, tpk, tpv, tpout, tplse, tcuq, tcuk, tcubad, tcuwide;
static ax_context *ctx;

static const float sentinel = 12345.0f;

static void setup(void) {
    const int64_t sq[4] = {B, SQ, H, D}, sk[4] = {B, SK, HKV, D}, sl[3] = {B, H, SQ}, sb[4] = {B, H, SQ, SK};
    const int64_t pqs[3] = {TQ, H, D}, pks[3] = {TK, HKV, D}, pls[2] = {H, TQ}, nc = B + 1;
    for (int i = 0; i < NQ; i++) q[i] = dout[i] = out[i] = (float)(i % 7) * 0.1f;
    for (int i = 0; i < NK; i++) k[i] = v[i] = (float)(i % 5) * 0.1f;
    for (int i = 0; i < NL; i++) lse[i] = 1.0f;
    for (int i = 0; i < NB; i++) bias[i] = 0.5f;
    for (int i = 0; i < PQ; i++) pq[i] = (float)(i % 3) * 0.1f;
    for (int i = 0; i < PK; i++) pk[i] = pv[i] = (float)(i % 4) * 0.1f;
    ax_tensor_contiguous(&tq, q, AX_F32, 4, sq);
    ax_tensor_contiguous(&tk, k, AX_F32, 4, sk);
    ax_tensor_contiguous(&tv, v, AX_F32, 4, sk);
    ax_tensor_contiguous(&tout, out, AX_F32, 4, sq);
    ax_tensor_contiguous(&tdout, dout, AX_F32, 4, sq);
    ax_tensor_contiguous(&tdq, dq, AX_F32, 4, sq);
    ax_tensor_contiguous(&tdk, dk, AX_F32, 4, sk);
    ax_tensor_contiguous(&tdv, dv, AX_F32, 4, sk);
    ax_tensor_contiguous(&tlse, lse, AX_F32, 3, sl);
    ax_tensor_contiguous(&tbias, bias, AX_F32, 4, sb);
    ax_tensor_contiguous(&tdbias, dbias, AX_F32, 4, sb);
    ax_tensor_contiguous(&tpq, pq, AX_F32, 3, pqs);
    ax_tensor_contiguous(&tpk, pk, AX_F32, 3, pks);
    ax_tensor_contiguous(&tpv, pv, AX_F32, 3, pks);
    ax_tensor_contiguous(&tpout, pout, AX_F32, 3, pqs);
    ax_tensor_contiguous(&tplse, plse, AX_F32, 2, pls);
    ax_tensor_contiguous(&tcuq, cu_q, AX_I32, 1, &nc);
    ax_tensor_contiguous(&tcuk, cu_k, AX_I32, 1, &nc);
    ax_tensor_contiguous(&tcubad, cu_bad, AX_I32, 1, &nc);
    ax_tensor_contiguous(&tcuwide, cu_wide, AX_I64, 1, &nc);
}

/* Every output buffer (the padded forward's out and lse double as the backward's inputs, and are
 * never written by the backward) starts as the sentinel. */
static void fill_outputs(void) {
    for (int i = 0; i < NQ; i++) out[i] = dq[i] = sentinel;
    for (int i = 0; i < NK; i++) dk[i] = dv[i] = sentinel;
    for (int i = 0; i < NL; i++) lse[i] = sentinel;
    for (int i = 0; i < NB; i++) dbias[i] = sentinel;
    for (int i = 0; i < PQ; i++) pout[i] = sentinel;
    for (int i = 0; i < PL; i++) plse[i] = sentinel;
}

static int outputs_untouched(void) {
    for (int i = 0; i < NQ; i++)
        if (out[i] != sentinel || dq[i] != sentinel) return 0;
    for (int i = 0; i < NK; i++)
        if (dk[i] != sentinel || dv[i] != sentinel) return 0;
    for (int i = 0; i < NL; i++)
        if (lse[i] != sentinel) return 0;
    for (int i = 0; i < NB; i++)
        if (dbias[i] != sentinel) return 0;
    for (int i = 0; i < PQ; i++)
        if (pout[i] != sentinel) return 0;
    for (int i = 0; i < PL; i++)
        if (plse[i] != sentinel) return 0;
    return 1;
}

#define EXPECT_FWD_ERROR(status, needle, ...)                          \
    do {                                                               \
        fill_outputs();                                                \
        CHECK_STATUS(ax_attention_forward(__VA_ARGS__), status);       \
        CHECK_CONTAINS(ax_last_error(), needle);                       \
        CHECK(outputs_untouched());                                    \
    } while (0)

#define EXPECT_BWD_ERROR(status, needle, ...)                          \
    do {                                                               \
        fill_outputs();                                                \
        CHECK_STATUS(ax_attention_backward(__VA_ARGS__), status);      \
        CHECK_CONTAINS(ax_last_error(), needle);                       \
        CHECK(outputs_untouched());                                    \
    } while (0)

static void test_shapes(void) {
    ax_tensor bad;
    EXPECT_FWD_ERROR(AX_ERR_INVALID_ARGUMENT, "ctx: NULL", NULL, &tq, &tk, &tv, NULL, NULL, &tout, &tlse);
    EXPECT_FWD_ERROR(AX_ERR_INVALID_ARGUMENT, "q: NULL", ctx, NULL, &tk, &tv, NULL, NULL, &tout, &tlse);
    EXPECT_FWD_ERROR(AX_ERR_INVALID_ARGUMENT, "out: NULL", ctx, &tq, &tk, &tv, NULL, NULL, NULL, &tlse);
    bad = tk;
    bad.shape[3] = 4;
    EXPECT_FWD_ERROR(AX_ERR_INVALID_ARGUMENT, "k: dim 3 (D) is 4, expected 8", ctx, &tq, &bad, &tv, NULL, NULL, &tout,
                     &tlse);
    bad = tv;
    bad.shape[1] = 5;
    EXPECT_FWD_ERROR(AX_ERR_INVALID_ARGUMENT, "v: dim 1 (Sk) is 5, expected 6", ctx, &tq, &tk, &bad, NULL, NULL, &tout,
                     &tlse);
    bad = tk;
    bad.shape[0] = 1;
    EXPECT_FWD_ERROR(AX_ERR_INVALID_ARGUMENT, "k: dim 0 (B) is 1, expected 2", ctx, &tq, &bad, &tv, NULL, NULL, &tout,
                     &tlse);
    bad = tlse;
    bad.shape[2] = 4;
    EXPECT_FWD_ERROR(AX_ERR_INVALID_ARGUMENT, "lse: dim 2 (Sq) is 4, expected 5", ctx, &tq, &tk, &tv, NULL, NULL,
                     &tout, &bad);
    bad = tbias;
    bad.shape[3] = 5;
    EXPECT_FWD_ERROR(AX_ERR_INVALID_ARGUMENT, "bias: dim 3 (Sk) is 5", ctx, &tq, &tk, &tv, &bad, NULL, &tout, &tlse);
    bad = tq;
    bad.dtype = AX_I32;
    EXPECT_FWD_ERROR(AX_ERR_INVALID_ARGUMENT, "q: dtype is i32", ctx, &bad, &tk, &tv, NULL, NULL, &tout, &tlse);
    bad = tq;
    bad.ndim = 3;
    EXPECT_FWD_ERROR(AX_ERR_INVALID_ARGUMENT, "q: 3 dims, expected 4", ctx, &bad, &tk, &tv, NULL, NULL, &tout, &tlse);
    /* H % Hkv: 4 query heads over 3 KV heads. */
    float k3[B * SK * 3 * D], v3[B * SK * 3 * D];
    const int64_t s3[4] = {B, SK, 3, D};
    ax_tensor tk3, tv3;
    ax_tensor_contiguous(&tk3, k3, AX_F32, 4, s3);
    ax_tensor_contiguous(&tv3, v3, AX_F32, 4, s3);
    EXPECT_FWD_ERROR(AX_ERR_INVALID_ARGUMENT, "k: dim 2 (Hkv) is 3, which does not divide q's dim 2 (H) = 4", ctx, &tq,
                     &tk3, &tv3, NULL, NULL, &tout, &tlse);
    /* A strided last dim. */
    bad = tq;
    bad.strides[3] = 2;
    bad.shape[3] = D / 2;
    EXPECT_FWD_ERROR(AX_ERR_INVALID_ARGUMENT, "the last dim has stride 2", ctx, &bad, &tk, &tv, NULL, NULL, &tout,
                     &tlse);
}

static void test_options(void) {
    ax_attention_options o = ax_attention_options_default();
    o.causal = 1;
    o.window_right = 3;
    EXPECT_FWD_ERROR(AX_ERR_INVALID_ARGUMENT, "opt->window_right: 3 conflicts with opt->causal", ctx, &tq, &tk, &tv,
                     NULL, &o, &tout, &tlse);
    o = ax_attention_options_default();
    o.causal = 2;
    EXPECT_FWD_ERROR(AX_ERR_INVALID_ARGUMENT, "opt->causal: 2", ctx, &tq, &tk, &tv, NULL, &o, &tout, &tlse);
    o = ax_attention_options_default();
    o.scale = -1.0f;
    EXPECT_FWD_ERROR(AX_ERR_INVALID_ARGUMENT, "opt->scale: -1", ctx, &tq, &tk, &tv, NULL, &o, &tout, &tlse);
    o.scale = INFINITY;
    EXPECT_FWD_ERROR(AX_ERR_INVALID_ARGUMENT, "opt->scale: inf", ctx, &tq, &tk, &tv, NULL, &o, &tout, &tlse);
    o.scale = NAN;
    EXPECT_FWD_ERROR(AX_ERR_INVALID_ARGUMENT, "opt->scale", ctx, &tq, &tk, &tv, NULL, &o, &tout, &tlse);
    o = ax_attention_options_default();
    o.softcap = -2.0f;
    EXPECT_FWD_ERROR(AX_ERR_INVALID_ARGUMENT, "opt->softcap: -2", ctx, &tq, &tk, &tv, NULL, &o, &tout, &tlse);
    o.softcap = NAN;
    EXPECT_FWD_ERROR(AX_ERR_INVALID_ARGUMENT, "opt->softcap", ctx, &tq, &tk, &tv, NULL, &o, &tout, &tlse);
    o.softcap = 1e-39f; /* finite and > 0, but 1 / softcap is inf: a zero logit had become NaN */
    EXPECT_FWD_ERROR(AX_ERR_INVALID_ARGUMENT, "its inverse overflows", ctx, &tq, &tk, &tv, NULL, &o, &tout, &tlse);
    o = ax_attention_options_default();
    o.max_seqlen_k = -1; /* had been taken as 0 while ax_paged_attention refused it */
    EXPECT_FWD_ERROR(AX_ERR_INVALID_ARGUMENT, "opt->max_seqlen_k: -1, expected >= 0", ctx, &tq, &tk, &tv, NULL, &o,
                     &tout, &tlse);
    /* Causal with window_right 0 (the same thing) is fine. */
    o = ax_attention_options_default();
    o.causal = 1;
    o.window_right = 0;
    fill_outputs();
    CHECK_OK(ax_attention_forward(ctx, &tq, &tk, &tv, NULL, &o, &tout, &tlse));
}

static void test_packed(void) {
    ax_attention_options o = ax_attention_options_default();
    o.cu_seqlens_q = &tcuq;
    o.cu_seqlens_k = &tcuk;
    /* valid first */
    fill_outputs();
    CHECK_OK(ax_attention_forward(ctx, &tpq, &tpk, &tpv, NULL, &o, &tpout, &tplse));
    CHECK(pout[0] != sentinel && plse[0] != sentinel);

    o.cu_seqlens_k = NULL;
    EXPECT_FWD_ERROR(AX_ERR_INVALID_ARGUMENT, "opt->cu_seqlens_k: NULL while opt->cu_seqlens_q is given", ctx, &tpq,
                     &tpk, &tpv, NULL, &o, &tpout, &tplse);
    o.cu_seqlens_k = &tcuk;
    EXPECT_FWD_ERROR(AX_ERR_INVALID_ARGUMENT, "q: 4 dims, expected 3 (Tq, H, D)", ctx, &tq, &tk, &tv, NULL, &o, &tout,
                     &tlse);
    /* decreasing */
    cu_bad[0] = 0, cu_bad[1] = 5, cu_bad[2] = 4;
    o.cu_seqlens_q = &tcubad;
    EXPECT_FWD_ERROR(AX_ERR_INVALID_ARGUMENT, "opt->cu_seqlens_q: element 2 is 4, below element 1 (5)", ctx, &tpq,
                     &tpk, &tpv, NULL, &o, &tpout, &tplse);
    /* past Tq */
    cu_bad[0] = 0, cu_bad[1] = 3, cu_bad[2] = 8;
    EXPECT_FWD_ERROR(AX_ERR_INVALID_ARGUMENT, "opt->cu_seqlens_q: element 2 is 8, past Tq = 7", ctx, &tpq, &tpk, &tpv,
                     NULL, &o, &tpout, &tplse);
    /* not from 0 */
    cu_bad[0] = 1, cu_bad[1] = 3, cu_bad[2] = 7;
    EXPECT_FWD_ERROR(AX_ERR_INVALID_ARGUMENT, "opt->cu_seqlens_q: element 0 is 1, expected 0", ctx, &tpq, &tpk, &tpv,
                     NULL, &o, &tpout, &tplse);
    /* keys past Tk */
    o.cu_seqlens_q = &tcuq;
    cu_bad[0] = 0, cu_bad[1] = 4, cu_bad[2] = 10;
    o.cu_seqlens_k = &tcubad;
    EXPECT_FWD_ERROR(AX_ERR_INVALID_ARGUMENT, "opt->cu_seqlens_k: element 2 is 10, past Tk = 9", ctx, &tpq, &tpk, &tpv,
                     NULL, &o, &tpout, &tplse);
    /* the same values through ax_attention_check_cu_seqlens (host copies bound for a CUDA context):
     * the same messages, and the valid pair passes */
    {
        const int32_t good_q[3] = {0, 3, 7}, good_k[3] = {0, 4, 9}, decreasing[3] = {0, 5, 4}, late[3] = {0, 4, 10};
        const int32_t from_one[3] = {1, 3, 7};
        CHECK_OK(ax_attention_check_cu_seqlens(good_q, good_k, 2, 7, 9));
        CHECK_STATUS(ax_attention_check_cu_seqlens(decreasing, good_k, 2, 7, 9), AX_ERR_INVALID_ARGUMENT);
        CHECK_CONTAINS(ax_last_error(), "opt->cu_seqlens_q: element 2 is 4, below element 1 (5)");
        CHECK_STATUS(ax_attention_check_cu_seqlens(from_one, good_k, 2, 7, 9), AX_ERR_INVALID_ARGUMENT);
        CHECK_CONTAINS(ax_last_error(), "opt->cu_seqlens_q: element 0 is 1, expected 0");
        CHECK_STATUS(ax_attention_check_cu_seqlens(good_q, late, 2, 7, 9), AX_ERR_INVALID_ARGUMENT);
        CHECK_CONTAINS(ax_last_error(), "opt->cu_seqlens_k: element 2 is 10, past Tk = 9");
        CHECK_STATUS(ax_attention_check_cu_seqlens(good_q, NULL, 2, 7, 9), AX_ERR_INVALID_ARGUMENT);
        CHECK_CONTAINS(ax_last_error(), "cu_seqlens_k: NULL");
        CHECK_STATUS(ax_attention_check_cu_seqlens(good_q, good_k, -1, 7, 9), AX_ERR_INVALID_ARGUMENT);
        CHECK_CONTAINS(ax_last_error(), "batch: -1 is negative");
    }
    /* wrong length: cu_seqlens_k with B + 2 entries */
    ax_tensor longer = tcuk;
    longer.shape[0] = B;
    o.cu_seqlens_k = &longer;
    EXPECT_FWD_ERROR(AX_ERR_INVALID_ARGUMENT, "opt->cu_seqlens_k: dim 0 (B1 (B + 1)) is 2, expected 3", ctx, &tpq, &tpk, &tpv,
                     NULL, &o, &tpout, &tplse);
    /* wrong dtype */
    o.cu_seqlens_k = &tcuwide;
    EXPECT_FWD_ERROR(AX_ERR_INVALID_ARGUMENT, "opt->cu_seqlens_k: dtype is i64, expected i32", ctx, &tpq, &tpk, &tpv,
                     NULL, &o, &tpout, &tplse);
    /* a strided view: it had passed the checks (which honoured the stride) and then been read as
     * contiguous, leaving rows unwritten */
    int32_t cu_spread[2 * (B + 1)] = {0, -1, 4, -1, 9, -1};
    ax_tensor spread = tcuk;
    spread.data = cu_spread;
    spread.strides[0] = 2;
    o.cu_seqlens_k = &spread;
    EXPECT_FWD_ERROR(AX_ERR_INVALID_ARGUMENT, "opt->cu_seqlens_k: the last dim has stride 2, expected 1", ctx, &tpq,
                     &tpk, &tpv, NULL, &o, &tpout, &tplse);
    /* lse in the padded form for a packed batch */
    o.cu_seqlens_k = &tcuk;
    EXPECT_FWD_ERROR(AX_ERR_INVALID_ARGUMENT, "lse: expected 2 dims (H, Tq), got 3", ctx, &tpq, &tpk, &tpv, NULL, &o, &tpout,
                     &tlse);
    /* a bias whose query dim is shorter than the longest sequence (4 rows) */
    float pb[B * H * 3 * 5];
    const int64_t pbs[4] = {B, H, 3, 5};
    ax_tensor tpb;
    ax_tensor_contiguous(&tpb, pb, AX_F32, 4, pbs);
    EXPECT_FWD_ERROR(AX_ERR_INVALID_ARGUMENT, "bias: dim 2 (max Sq) is 3, below the longest query sequence (4;", ctx,
                     &tpq, &tpk, &tpv, &tpb, &o, &tpout, &tplse);
}

static void test_backward(void) {
    ax_tensor bad;
    EXPECT_BWD_ERROR(AX_ERR_INVALID_ARGUMENT, "lse: NULL", ctx, &tq, &tk, &tv, NULL, &tout, NULL, &tdout, NULL, &tdq,
                     &tdk, &tdv, NULL);
    EXPECT_BWD_ERROR(AX_ERR_INVALID_ARGUMENT, "dbias: given, but bias is NULL", ctx, &tq, &tk, &tv, NULL, &tout, &tlse,
                     &tdout, NULL, &tdq, &tdk, &tdv, &tdbias);
    bad = tdbias;
    bad.shape[1] = 1;
    EXPECT_BWD_ERROR(AX_ERR_INVALID_ARGUMENT, "dbias: dim 1 is 1, but bias has 4 there", ctx, &tq, &tk, &tv, &tbias,
                     &tout, &tlse, &tdout, NULL, &tdq, &tdk, &tdv, &bad);
    bad = tdq;
    bad.data = dk;
    bad.shape[0] = 1; /* fits in dk's buffer */
    EXPECT_BWD_ERROR(AX_ERR_INVALID_ARGUMENT, "dq: dim 0 (B) is 1, expected 2", ctx, &tq, &tk, &tv, NULL, &tout, &tlse,
                     &tdout, NULL, &bad, &tdk, &tdv, NULL);
    bad = tdk;
    bad.data = dv; /* dk over dv */
    EXPECT_BWD_ERROR(AX_ERR_INVALID_ARGUMENT, "dk: overlaps the output dv", ctx, &tq, &tk, &tv, NULL, &tout, &tlse,
                     &tdout, NULL, &tdq, &bad, &tdv, NULL);
    bad = tdq;
    bad.data = dout;
    EXPECT_BWD_ERROR(AX_ERR_INVALID_ARGUMENT, "dq: overlaps the input dout", ctx, &tq, &tk, &tv, NULL, &tout, &tlse,
                     &tdout, NULL, &bad, &tdk, &tdv, NULL);
    bad = tdout;
    bad.shape[3] = 4;
    EXPECT_BWD_ERROR(AX_ERR_INVALID_ARGUMENT, "dout: dim 3 (D) is 4, expected 8", ctx, &tq, &tk, &tv, NULL, &tout,
                     &tlse, &bad, NULL, &tdq, &tdk, &tdv, NULL);
    ax_attention_options o = ax_attention_options_default();
    o.causal = 1;
    o.window_right = 1;
    EXPECT_BWD_ERROR(AX_ERR_INVALID_ARGUMENT, "opt->window_right: 1 conflicts with opt->causal", ctx, &tq, &tk, &tv,
                     NULL, &tout, &tlse, &tdout, &o, &tdq, &tdk, &tdv, NULL);
}

static void test_forward_outputs_overlap(void) {
    ax_tensor bad = tout;
    bad.data = q;
    EXPECT_FWD_ERROR(AX_ERR_INVALID_ARGUMENT, "out: overlaps the input q", ctx, &tq, &tk, &tv, NULL, NULL, &bad, &tlse);
    ax_tensor badl = tlse;
    badl.data = out;
    EXPECT_FWD_ERROR(AX_ERR_INVALID_ARGUMENT, "out: overlaps the output lse", ctx, &tq, &tk, &tv, NULL, NULL, &tout,
                     &badl);
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

static void test_valid_calls(void) {
    /* The same tensors pass when nothing is wrong, so the failures above are the checks' doing. */
    fill_outputs();
    CHECK_OK(ax_attention_forward(ctx, &tq, &tk, &tv, &tbias, NULL, &tout, &tlse));
    CHECK(!outputs_untouched());
    CHECK_OK(ax_attention_backward(ctx, &tq, &tk, &tv, &tbias, &tout, &tlse, &tdout, NULL, &tdq, &tdk, &tdv, &tdbias));
    CHECK(dq[0] != sentinel && dk[0] != sentinel && dv[0] != sentinel && dbias[0] != sentinel);
}

/* A window of INT64_MAX on both sides bounds nothing: the same bits as -1 / -1 (no pos -/+ window
 * overflow in the key range), forward and backward, padded and packed. */
static void test_huge_windows(void) {
    static float out_ref[NQ], lse_ref[NL], dq_ref[NQ], pout_ref[PQ];
    ax_attention_options o = ax_attention_options_default();
    CHECK_OK(ax_attention_forward(ctx, &tq, &tk, &tv, NULL, &o, &tout, &tlse));
    CHECK_OK(ax_attention_backward(ctx, &tq, &tk, &tv, NULL, &tout, &tlse, &tdout, &o, &tdq, &tdk, &tdv, NULL));
    memcpy(out_ref, out, sizeof out), memcpy(lse_ref, lse, sizeof lse), memcpy(dq_ref, dq, sizeof dq);
    o.window_left = o.window_right = INT64_MAX;
    fill_outputs();
    CHECK_OK(ax_attention_forward(ctx, &tq, &tk, &tv, NULL, &o, &tout, &tlse));
    CHECK_OK(ax_attention_backward(ctx, &tq, &tk, &tv, NULL, &tout, &tlse, &tdout, &o, &tdq, &tdk, &tdv, NULL));
    CHECK(memcmp(out, out_ref, sizeof out) == 0 && memcmp(lse, lse_ref, sizeof lse) == 0);
    CHECK(memcmp(dq, dq_ref, sizeof dq) == 0);
    ax_attention_options po = ax_attention_options_default();
    po.cu_seqlens_q = &tcuq, po.cu_seqlens_k = &tcuk;
    CHECK_OK(ax_attention_forward(ctx, &tpq, &tpk, &tpv, NULL, &po, &tpout, NULL));
    memcpy(pout_ref, pout, sizeof pout);
    po.window_left = INT64_MAX, po.window_right = INT64_MAX - 1;
    CHECK_OK(ax_attention_forward(ctx, &tpq, &tpk, &tpv, NULL, &po, &tpout, NULL));
    CHECK(memcmp(pout, pout_ref, sizeof pout) == 0);
}

int main(void) {
    setup();
    if (ax_context_create(&ctx, NULL) != AX_OK) return 1;
    RUN(test_shapes);
    RUN(test_options);
    RUN(test_packed);
    RUN(test_backward);
    RUN(test_forward_outputs_overlap);
    RUN(test_workspace_limit);
    RUN(test_valid_calls);
    RUN(test_huge_windows);
    ax_context_destroy(ctx);
    return th_finish();
}
