/*
 * test_moe_route_errors.c — invalid calls of the MoE routing, dispatch and combine ops (moe.h)
 * return AX_ERR_INVALID_ARGUMENT with a message naming the argument (and the token and choice for a
 * bad index), and write nothing: k out of [1, E], E < 1, a bad gating, negative or non-finite
 * capacity factors, negative min_capacity, non-finite loss coefficients, ids out of range in the
 * dispatch, rows out of range in the combine and its backward, R too small, mismatched shapes,
 * wrong dtypes, overlapping outputs. Every output is poisoned first and compared byte for byte.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <string.h>

#include "axial/moe.h"
#include "harness.h"

enum { T = 4, E = 4, K = 2, D = 3, RMAX = T * K + E * 7 };

static float logits[T * E], weights[T * K], probs[T * E], losses[2], dlogits[T * E], dweights[T * K];
static int32_t ids[T * K], in_ids[T * K];
static float x[T * D], x_sorted[RMAX * D], y[T * D], dy_sorted[RMAX * D];
static int64_t offsets[E + 1], counts[E], rows[T * K], in_rows[T * K];
static ax_tensor tin_ids, tin_rows, tlogits, tweights, tprobs, tlosses, tdlogits, tdweights, tids, tx, txs, ty,
    tdys, toff, tcounts, trows;
static ax_context *ctx;

/* Copies of every output buffer after poisoning, for the byte comparison. */
static unsigned char snapshot[sizeof weights + sizeof probs + sizeof losses + sizeof dlogits + sizeof ids +
                              sizeof x_sorted + sizeof y + sizeof dy_sorted + sizeof offsets + sizeof counts +
                              sizeof rows + sizeof dweights];

#define OUTPUTS(X) X(weights) X(probs) X(losses) X(dlogits) X(ids) X(x_sorted) X(y) X(dy_sorted) X(offsets) \
    X(counts) X(rows) X(dweights)

static void poison(void) {
    size_t at = 0;
#define POISON(buf)                             \
    memset(buf, 0xa5, sizeof buf);              \
    memcpy(snapshot + at, buf, sizeof buf);     \
    at += sizeof buf;
    OUTPUTS(POISON)
#undef POISON
}

static int untouched(void) {
    size_t at = 0;
    int same = 1;
#define COMPARE(buf)                                             \
    if (memcmp(snapshot + at, buf, sizeof buf) != 0) same = 0;   \
    at += sizeof buf;
    OUTPUTS(COMPARE)
#undef COMPARE
    return same;
}

#define CHECK_REJECTS(call, needle)                  \
    do {                                             \
        poison();                                    \
        CHECK_STATUS(call, AX_ERR_INVALID_ARGUMENT); \
        CHECK_CONTAINS(ax_last_error(), needle);     \
        CHECK(untouched());                          \
    } while (0)

static void setup(void) {
    const int64_t le[2] = {T, E}, lk[2] = {T, K}, ld[2] = {T, D}, lr[2] = {T * K + E * 7, D}, two = 2, e1 = E + 1,
                  ee = E;
    for (int i = 0; i < T * E; i++) logits[i] = (float)(i % 5) * 0.5f;
    for (int i = 0; i < T * D; i++) x[i] = (float)i;
    ax_tensor_contiguous(&tlogits, logits, AX_F32, 2, le);
    ax_tensor_contiguous(&tweights, weights, AX_F32, 2, lk);
    ax_tensor_contiguous(&tprobs, probs, AX_F32, 2, le);
    ax_tensor_contiguous(&tlosses, losses, AX_F32, 1, &two);
    ax_tensor_contiguous(&tdlogits, dlogits, AX_F32, 2, le);
    ax_tensor_contiguous(&tdweights, dweights, AX_F32, 2, lk);
    ax_tensor_contiguous(&tids, ids, AX_I32, 2, lk);
    ax_tensor_contiguous(&tx, x, AX_F32, 2, ld);
    ax_tensor_contiguous(&txs, x_sorted, AX_F32, 2, lr);
    ax_tensor_contiguous(&ty, y, AX_F32, 2, ld);
    ax_tensor_contiguous(&tdys, dy_sorted, AX_F32, 2, lr);
    ax_tensor_contiguous(&toff, offsets, AX_I64, 1, &e1);
    ax_tensor_contiguous(&tcounts, counts, AX_I64, 1, &ee);
    ax_tensor_contiguous(&trows, rows, AX_I64, 2, lk);
    ax_tensor_contiguous(&tin_ids, in_ids, AX_I32, 2, lk);
    ax_tensor_contiguous(&tin_rows, in_rows, AX_I64, 2, lk);
}

static ax_moe_route_config config(void) {
    ax_moe_route_config cfg = AX_MOE_ROUTE_CONFIG_INIT;
    return cfg;
}

static void test_route_config_errors(void) {
    ax_moe_route_config cfg = config();
    CHECK_REJECTS(ax_moe_route(NULL, &cfg, &tlogits, &tids, &tweights, NULL, NULL), "ctx");
    CHECK_REJECTS(ax_moe_route(ctx, NULL, &tlogits, &tids, &tweights, NULL, NULL), "cfg");
    cfg.top_k = 0;
    CHECK_REJECTS(ax_moe_route(ctx, &cfg, &tlogits, &tids, &tweights, NULL, NULL), "cfg->top_k: 0");
    cfg.top_k = -3;
    CHECK_REJECTS(ax_moe_route_backward(ctx, &cfg, &tlogits, NULL, 0.0f, 0.0f, &tdlogits), "cfg->top_k: -3");
    /* k > E: tensors shaped for k = 5 so only the k check can fail */
    {
        static int32_t ids5[T * 5];
        static float w5[T * 5];
        ax_tensor ti5, tw5;
        const int64_t s5[2] = {T, 5};
        ax_tensor_contiguous(&ti5, ids5, AX_I32, 2, s5);
        ax_tensor_contiguous(&tw5, w5, AX_F32, 2, s5);
        cfg = config();
        cfg.top_k = 5;
        CHECK_REJECTS(ax_moe_route(ctx, &cfg, &tlogits, &ti5, &tw5, NULL, NULL), "cfg->top_k: 5 > E = 4");
        CHECK_REJECTS(ax_moe_route_backward(ctx, &cfg, &tlogits, NULL, 0.0f, 0.0f, &tdlogits), "cfg->top_k: 5 > E = 4");
    }
    /* E < 1 */
    {
        ax_tensor tl0 = tlogits, tp0 = tdlogits;
        tl0.shape[1] = 0;
        tp0.shape[1] = 0;
        cfg = config();
        CHECK_REJECTS(ax_moe_route(ctx, &cfg, &tl0, &tids, &tweights, NULL, NULL), "logits: dim 1 (E) is 0");
        CHECK_REJECTS(ax_moe_route_backward(ctx, &cfg, &tl0, NULL, 0.0f, 0.0f, &tp0), "logits: dim 1 (E) is 0");
    }
    cfg = config();
    cfg.gating = (ax_moe_gating)2;
    CHECK_REJECTS(ax_moe_route(ctx, &cfg, &tlogits, &tids, &tweights, NULL, NULL), "cfg->gating: 2");
    cfg = config();
    cfg.capacity_factor = -0.5f;
    CHECK_REJECTS(ax_moe_route(ctx, &cfg, &tlogits, &tids, &tweights, NULL, NULL), "cfg->capacity_factor: -0.5");
    cfg.capacity_factor = NAN;
    CHECK_REJECTS(ax_moe_route(ctx, &cfg, &tlogits, &tids, &tweights, NULL, NULL), "cfg->capacity_factor");
    cfg.capacity_factor = INFINITY;
    CHECK_REJECTS(ax_moe_route_backward(ctx, &cfg, &tlogits, NULL, 0.0f, 0.0f, &tdlogits), "cfg->capacity_factor");
    cfg = config();
    cfg.capacity_factor = 1.0f;
    cfg.min_capacity = -1;
    CHECK_REJECTS(ax_moe_route(ctx, &cfg, &tlogits, &tids, &tweights, NULL, NULL), "cfg->min_capacity: -1");
    cfg = config();
    CHECK_REJECTS(ax_moe_route_backward(ctx, &cfg, &tlogits, &tdweights, NAN, 0.0f, &tdlogits), "aux_coef");
    CHECK_REJECTS(ax_moe_route_backward(ctx, &cfg, &tlogits, &tdweights, 0.0f, INFINITY, &tdlogits), "z_coef");
}

static void test_route_tensor_errors(void) {
    const ax_moe_route_config cfg = config();
    CHECK_REJECTS(ax_moe_route(ctx, &cfg, NULL, &tids, &tweights, NULL, NULL), "logits: NULL");
    CHECK_REJECTS(ax_moe_route(ctx, &cfg, &tlogits, NULL, &tweights, NULL, NULL), "expert_ids: NULL");
    CHECK_REJECTS(ax_moe_route(ctx, &cfg, &tlogits, &tids, NULL, NULL, NULL), "weights: NULL");
    /* ids in i64, weights shaped (T, E), probs (T, k), losses of 3 */
    CHECK_REJECTS(ax_moe_route(ctx, &cfg, &tlogits, &trows, &tweights, NULL, NULL), "expert_ids: dtype is i64");
    CHECK_REJECTS(ax_moe_route(ctx, &cfg, &tlogits, &tids, &tprobs, NULL, NULL), "weights: dim 1 (k) is 4, expected 2");
    CHECK_REJECTS(ax_moe_route(ctx, &cfg, &tlogits, &tids, &tweights, &tdweights, NULL), "probs: dim 1 (E) is 2");
    {
        ax_tensor tl3 = tlosses;
        tl3.shape[0] = 3;
        CHECK_REJECTS(ax_moe_route(ctx, &cfg, &tlogits, &tids, &tweights, NULL, &tl3), "losses: dim 0");
    }
    {
        ax_tensor tlt = tlogits; /* transposed: last dim not contiguous */
        tlt.strides[0] = 1;
        tlt.strides[1] = T;
        CHECK_REJECTS(ax_moe_route(ctx, &cfg, &tlt, &tids, &tweights, NULL, NULL), "logits: the last dim has stride");
    }
    CHECK_REJECTS(ax_moe_route(ctx, &cfg, &tlogits, &tids, &tweights, &tlogits, NULL),
                  "probs: overlaps the input logits");
    CHECK_REJECTS(ax_moe_route_backward(ctx, &cfg, &tlogits, &tprobs, 0.0f, 0.0f, &tdlogits),
                  "dweights: dim 1 (k) is 4");
    CHECK_REJECTS(ax_moe_route_backward(ctx, &cfg, &tlogits, NULL, 0.0f, 0.0f, &tweights), "dlogits: dim 1 (E) is 2");
    CHECK_REJECTS(ax_moe_route_backward(ctx, &cfg, &tlogits, NULL, 0.0f, 0.0f, &tlogits),
                  "dlogits: overlaps the input");
}

static void set_ids(int32_t fill) {
    for (int i = 0; i < T * K; i++) in_ids[i] = (int32_t)(i % E);
    in_ids[2 * K + 1] = fill; /* token 2, choice 1 */
}

static void test_dispatch_errors(void) {
    set_ids(1);
    CHECK_REJECTS(ax_moe_dispatch(NULL, &tx, &tin_ids, E, 1, &txs, &toff, &tcounts, &trows), "ctx");
    CHECK_REJECTS(ax_moe_dispatch(ctx, &tx, &tin_ids, 0, 1, &txs, &toff, &tcounts, &trows), "num_experts: 0");
    CHECK_REJECTS(ax_moe_dispatch(ctx, &tx, &tin_ids, E, 0, &txs, &toff, &tcounts, &trows), "align: 0");
    set_ids(E);
    CHECK_REJECTS(ax_moe_dispatch(ctx, &tx, &tin_ids, E, 1, &txs, &toff, &tcounts, &trows), "(token 2, choice 1) is 4");
    set_ids(-2);
    CHECK_REJECTS(ax_moe_dispatch(ctx, &tx, &tin_ids, E, 1, &txs, &toff, &tcounts, &trows),
                  "(token 2, choice 1) is -2");
    set_ids(-1);
    /* R too small: T * k + E * (align - 1) = 8 + 4 * 7 = 36 rows for align 8, the buffer has 36 */
    {
        ax_tensor small = txs;
        small.shape[0] = T * K + E * 7 - 1;
        CHECK_REJECTS(ax_moe_dispatch(ctx, &tx, &tin_ids, E, 8, &small, &toff, &tcounts, &trows),
                      "x_sorted: dim 0 (R) is 35");
        CHECK_REJECTS(ax_moe_dispatch(ctx, &tx, &tin_ids, E, 9, &txs, &toff, &tcounts, &trows),
                      "x_sorted: dim 0 (R) is 36");
    }
    CHECK_REJECTS(ax_moe_dispatch(ctx, &tx, &tin_ids, E + 1, 1, &txs, &toff, &tcounts, &trows),
                  "offsets: dim 0 (E1 (E + 1)) is 5, expected 6");
    CHECK_REJECTS(ax_moe_dispatch(ctx, &tx, &tin_ids, E, 1, &txs, &toff, &toff, &trows),
                  "counts: dim 0 (E (num_experts)) is 5, expected 4");
    CHECK_REJECTS(ax_moe_dispatch(ctx, &tx, &tin_ids, E, 1, &txs, &toff, &tcounts, &tweights), "rows: dtype is f32");
    CHECK_REJECTS(ax_moe_dispatch(ctx, &tx, &trows, E, 1, &txs, &toff, &tcounts, &trows), "expert_ids: dtype is i64");
    CHECK_REJECTS(ax_moe_dispatch(ctx, &tx, &tin_ids, E, 1, &ty, &toff, &tcounts, &trows), "x_sorted: dim 0 (R) is 4");
    CHECK_REJECTS(ax_moe_dispatch(ctx, &tx, &tin_ids, E, 1, &txs, &toff, &tcounts, &toff), "rows: expected 2 dims");
}

static void set_rows(int64_t fill) {
    for (int i = 0; i < T * K; i++) in_rows[i] = i;
    in_rows[3 * K + 0] = fill; /* token 3, choice 0 */
}

static void test_combine_errors(void) {
    const int64_t R = T * K + E * 7;
    set_rows(5);
    CHECK_REJECTS(ax_moe_combine(NULL, &txs, &tin_rows, &tweights, &ty), "ctx");
    set_rows(R);
    CHECK_REJECTS(ax_moe_combine(ctx, &txs, &tin_rows, &tweights, &ty), "(token 3, choice 0) is 36");
    CHECK_REJECTS(ax_moe_combine_backward(ctx, &ty, &txs, &tin_rows, &tweights, &tdys, &tdweights),
                  "(token 3, choice 0) is 36");
    set_rows(-5);
    CHECK_REJECTS(ax_moe_combine(ctx, &txs, &tin_rows, NULL, &ty), "(token 3, choice 0) is -5");
    CHECK_REJECTS(ax_moe_combine_backward(ctx, &ty, NULL, &tin_rows, NULL, &tdys, NULL), "(token 3, choice 0) is -5");
    set_rows(2); /* token 1's choice 0 holds row 2 too: the backward's scatter must not take it twice */
    CHECK_REJECTS(ax_moe_combine_backward(ctx, &ty, &txs, &tin_rows, &tweights, &tdys, &tdweights),
                  "rows: [1, 0] and [3, 0] both refer to row 2 of y_sorted");
    CHECK_OK(ax_moe_combine(ctx, &txs, &tin_rows, &tweights, &ty)); /* the forward only reads: fine */
    set_rows(-1);
    CHECK_REJECTS(ax_moe_combine(ctx, &txs, &tin_rows, &tprobs, &ty), "weights: dim 1 (k) is 4, expected 2");
    CHECK_REJECTS(ax_moe_combine(ctx, &txs, &tin_rows, &tweights, &tdweights), "y: dim 1 (D) is 2, expected 3");
    CHECK_REJECTS(ax_moe_combine(ctx, &txs, &tids, &tweights, &ty), "rows: dtype is i32");
    CHECK_REJECTS(ax_moe_combine(ctx, &txs, &tin_rows, &tweights, NULL), "y: NULL");
    CHECK_REJECTS(ax_moe_combine(ctx, &txs, &tin_rows, &tweights, &txs), "y: dim 0 (T) is 36");
    CHECK_REJECTS(ax_moe_combine_backward(ctx, &ty, NULL, &tin_rows, &tweights, &tdys, &tdweights), "y_sorted: NULL");
    CHECK_REJECTS(ax_moe_combine_backward(ctx, &tx, &txs, &tin_rows, &tweights, &tdys, &tweights),
                  "dweights: overlaps the input weights");
    CHECK_REJECTS(ax_moe_combine_backward(ctx, &tdweights, &txs, &tin_rows, &tweights, &tdys, NULL),
                  "y_sorted: dim 1 (D) is 3, expected 2");
    CHECK_REJECTS(ax_moe_combine_backward(ctx, &ty, &txs, &tin_rows, &tweights, &tx, NULL),
                  "dy_sorted: dim 0 (R) is 4, expected 36");
}

/* The valid calls next to the rejected ones succeed (the checks above are not rejecting everything). */
static void test_valid_calls(void) {
    ax_moe_route_config cfg = config();
    cfg.capacity_factor = 1.0f;
    CHECK_OK(ax_moe_route(ctx, &cfg, &tlogits, &tids, &tweights, &tprobs, &tlosses));
    CHECK_OK(ax_moe_route_backward(ctx, &cfg, &tlogits, &tdweights, 0.1f, 0.1f, &tdlogits));
    memcpy(in_ids, ids, sizeof ids);
    CHECK_OK(ax_moe_dispatch(ctx, &tx, &tin_ids, E, 8, &txs, &toff, &tcounts, &trows));
    CHECK_INT_EQ(offsets[0], 0);
    memcpy(in_rows, rows, sizeof rows);
    CHECK_OK(ax_moe_combine(ctx, &txs, &tin_rows, &tweights, &ty));
    CHECK_OK(ax_moe_combine_backward(ctx, &ty, &txs, &tin_rows, &tweights, &tdys, &tdweights));
}

int main(void) {
    setup();
    if (ax_context_create(&ctx, NULL) != AX_OK) {
        fprintf(stderr, "context: %s\n", ax_last_error());
        return 1;
    }
    RUN(test_route_config_errors);
    RUN(test_route_tensor_errors);
    RUN(test_dispatch_errors);
    RUN(test_combine_errors);
    RUN(test_valid_calls);
    ax_context_destroy(ctx);
    return th_finish();
}
