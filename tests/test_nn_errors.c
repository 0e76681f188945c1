/*
 * test_nn_errors.c — invalid calls of the nn ops (nn.h) return AX_ERR_INVALID_ARGUMENT with a
 * message naming the argument and dimension, and write nothing: shapes, dtypes, eps, rotary dims and
 * RoPE factors, activation kinds, out-of-range embedding ids, softmax scales, overlaps.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <string.h>

#include "axial/nn.h"
#include "harness.h"

enum { R = 3, D = 8, H = 2, V = 4 };

static float x[R * D], res[R * D], w[D], out[R * D], out2[R * D], big[R * (D + 1)], rope_x[R * H * D];
static float rope_out[R * H * D], table[V * D], pos_f32[R];
static int32_t ids[R], pos[R];
static uint16_t x16[R * D];
static ax_tensor tpf, tx, tres, tw, tout, tout2, tbig, trx, tro, ttable, tids, tpos, tx16;
static ax_context *ctx;
static const float sentinel = 12345.0f;

static void setup(void) {
    const int64_t s2[2] = {R, D}, s1[1] = {D}, sb[2] = {R, D + 1}, s3[3] = {R, H, D}, st[2] = {V, D}, sr[1] = {R};
    for (int i = 0; i < R * D; i++) x[i] = res[i] = 0.1f * (float)(i % 5);
    for (int i = 0; i < D; i++) w[i] = 1.0f;
    for (int i = 0; i < R; i++) ids[i] = pos[i] = i;
    ax_tensor_contiguous(&tx, x, AX_F32, 2, s2);
    ax_tensor_contiguous(&tres, res, AX_F32, 2, s2);
    ax_tensor_contiguous(&tw, w, AX_F32, 1, s1);
    ax_tensor_contiguous(&tout, out, AX_F32, 2, s2);
    ax_tensor_contiguous(&tout2, out2, AX_F32, 2, s2);
    ax_tensor_contiguous(&tbig, big, AX_F32, 2, sb);
    ax_tensor_contiguous(&trx, rope_x, AX_F32, 3, s3);
    ax_tensor_contiguous(&tro, rope_out, AX_F32, 3, s3);
    ax_tensor_contiguous(&ttable, table, AX_F32, 2, st);
    ax_tensor_contiguous(&tids, ids, AX_I32, 1, sr);
    ax_tensor_contiguous(&tpos, pos, AX_I32, 1, sr);
    ax_tensor_contiguous(&tx16, x16, AX_BF16, 2, s2);
    ax_tensor_contiguous(&tpf, pos_f32, AX_F32, 1, sr);
}

static void poison(void) {
    for (int i = 0; i < R * D; i++) out[i] = out2[i] = sentinel;
    for (int i = 0; i < R * H * D; i++) rope_out[i] = sentinel;
}

static int untouched(void) {
    for (int i = 0; i < R * D; i++)
        if (out[i] != sentinel || out2[i] != sentinel) return 0;
    for (int i = 0; i < R * H * D; i++)
        if (rope_out[i] != sentinel) return 0;
    return 1;
}

/* The call fails with AX_ERR_INVALID_ARGUMENT, its message contains `needle`, nothing was written. */
#define CHECK_REJECTS(call, needle)                          \
    do {                                                     \
        poison();                                            \
        CHECK_STATUS(call, AX_ERR_INVALID_ARGUMENT);         \
        CHECK_CONTAINS(ax_last_error(), needle);             \
        CHECK(untouched());                                  \
    } while (0)

static void test_norm_errors(void) {
    CHECK_REJECTS(ax_rms_norm(NULL, &tx, &tw, 1e-5f, &tout), "ctx");
    CHECK_REJECTS(ax_rms_norm(ctx, &tx, &tw, -1.0f, &tout), "eps");
    CHECK_REJECTS(ax_rms_norm(ctx, &tx, &tw, NAN, &tout), "eps");
    CHECK_REJECTS(ax_rms_norm(ctx, &tx, &tw, INFINITY, &tout), "eps");
    CHECK_REJECTS(ax_rms_norm(ctx, &tx, &tw, 1e-5f, &tbig), "out: dim 1 (D) is 9, expected 8");
    CHECK_REJECTS(ax_rms_norm_residual(ctx, &tx, &tbig, &tw, 1e-5f, &tout, NULL), "residual: dim 1 (D)");
    CHECK_REJECTS(ax_rms_norm_residual(ctx, &tx, NULL, &tw, 1e-5f, &tout, NULL), "residual: NULL");
    CHECK_REJECTS(ax_rms_norm_residual(ctx, &tx, &tres, &tw, 1e-5f, &tout, &tout), "overlaps the output");
    CHECK_REJECTS(ax_layer_norm(ctx, &tx, NULL, &tw, &tbig, 1e-5f, &tout, NULL, NULL, NULL), "bias");
    CHECK_REJECTS(ax_layer_norm(ctx, &tx, NULL, &tw, NULL, -1e-5f, &tout, NULL, NULL, NULL), "eps");
    CHECK_REJECTS(ax_layer_norm(ctx, &tx, NULL, &tw, NULL, 1e-5f, &tout, NULL, &tout2, NULL), "mean: expected 1 dims");
    CHECK_REJECTS(ax_rms_norm_backward(ctx, &tx, &tw, &tbig, 1e-5f, &tout, NULL), "dout: dim 1 (D)");
    CHECK_REJECTS(ax_rms_norm_backward(ctx, &tx, &tw, &tres, 1e-5f, &tout, &tout2), "dweight");
    CHECK_REJECTS(ax_layer_norm_backward(ctx, &tx, &tw, &tres, 0.0f / 0.0f, &tout, NULL, NULL), "eps");
    /* Rows of no values: LayerNorm's mean and rstd would be 0 / 0 (they had been left unwritten
     * under AX_OK); without them the call is an empty one. */
    float stats[R];
    for (int i = 0; i < R; i++) stats[i] = sentinel;
    const int64_t s0[2] = {R, 0}, sr[1] = {R}, sw0[1] = {0};
    ax_tensor tx0, tout0, tw0, tstats;
    ax_tensor_contiguous(&tx0, x, AX_F32, 2, s0);
    ax_tensor_contiguous(&tout0, out, AX_F32, 2, s0);
    ax_tensor_contiguous(&tw0, w, AX_F32, 1, sw0);
    ax_tensor_contiguous(&tstats, stats, AX_F32, 1, sr);
    CHECK_REJECTS(ax_layer_norm(ctx, &tx0, NULL, &tw0, NULL, 1e-5f, &tout0, NULL, &tstats, NULL), "mean: x's last dim");
    CHECK_REJECTS(ax_layer_norm(ctx, &tx0, NULL, &tw0, NULL, 1e-5f, &tout0, NULL, NULL, &tstats), "rstd: x's last dim");
    for (int i = 0; i < R; i++) CHECK(stats[i] == sentinel);
    CHECK_OK(ax_layer_norm(ctx, &tx0, NULL, &tw0, NULL, 1e-5f, &tout0, NULL, NULL, NULL));
}

static void test_rope_errors(void) {
    ax_rope_options o = {0};
    o.rotary_dim = 5;
    CHECK_REJECTS(ax_rope(ctx, &trx, &tpos, &o, &tro), "rotary_dim: 5");
    o.rotary_dim = 10;
    CHECK_REJECTS(ax_rope(ctx, &trx, &tpos, &o, &tro), "rotary_dim: 10");
    o.rotary_dim = -2;
    CHECK_REJECTS(ax_rope(ctx, &trx, &tpos, &o, &tro), "rotary_dim: -2");
    o.rotary_dim = 0;
    o.base = -1.0f;
    CHECK_REJECTS(ax_rope(ctx, &trx, &tpos, &o, &tro), "base");
    o.base = 0.0f;
    o.linear_factor = INFINITY;
    CHECK_REJECTS(ax_rope(ctx, &trx, &tpos, &o, &tro), "linear_factor");
    o.linear_factor = 1e-39f; /* 1 / factor is inf: every angle had been inf or NaN */
    CHECK_REJECTS(ax_rope(ctx, &trx, &tpos, &o, &tro), "linear_factor: 1e-39, its inverse overflows");
    o.linear_factor = 0.0f;
    o.linear_factor = 0.0f;
    o.ntk_factor = 2.0f;
    o.rotary_dim = 2;
    CHECK_REJECTS(ax_rope(ctx, &trx, &tpos, &o, &tro), "ntk_factor");
    o.ntk_factor = 0.0f;
    o.rotary_dim = 0;
    o.layout = (ax_rope_layout)7;
    CHECK_REJECTS(ax_rope(ctx, &trx, &tpos, &o, &tro), "layout");
    CHECK_REJECTS(ax_rope(ctx, &trx, &tpf, NULL, &tro), "positions: dtype is f32");
    /* An odd D with the default rotary_dim names D (the message had named opt->rotary_dim, a field
     * of a NULL pointer). */
    ax_tensor odd_x = trx, odd_out = tro;
    odd_x.shape[2] = odd_out.shape[2] = D - 1;
    CHECK_REJECTS(ax_rope(ctx, &odd_x, &tpos, NULL, &odd_out), "x: dim 2 (D) is 7, odd");
    CHECK_REJECTS(ax_rope_backward(ctx, &odd_x, &tpos, NULL, &odd_out), "dout: dim 2 (D) is 7, odd");
    CHECK_REJECTS(ax_rope(ctx, &tx, &tpos, NULL, &tro), "x: expected 3 dims");
    CHECK_REJECTS(ax_rope_backward(ctx, &trx, &tids, NULL, &tout), "dx: expected 3 dims");
}

static void test_activation_errors(void) {
    CHECK_REJECTS(ax_activation(ctx, (ax_activation_kind)9, &tx, &tout), "kind: 9");
    CHECK_REJECTS(ax_activation(ctx, AX_ACT_SILU, &tx, &tbig), "out: dim 1 (F)");
    CHECK_REJECTS(ax_glu(ctx, AX_ACT_SILU, &tx, &tbig, &tout), "up: dim 1 (F)");
    CHECK_REJECTS(ax_glu(ctx, AX_ACT_GELU_ERF, &tx, &tres, &tx16), "out: dtype is bf16");
    CHECK_REJECTS(ax_glu_backward(ctx, AX_ACT_SILU, &tx, &tres, &tres, &tout, &tout), "overlaps the output");
    CHECK_REJECTS(ax_activation_backward(ctx, AX_ACT_GELU_TANH, &tx, NULL, &tout), "dout: NULL");
}

/* The fused (T, 2F) projection of nn.h: gate and up are two views of one buffer whose spans overlap
 * but whose rows interleave; out may be gate. Accepted, with out = silu(gate) * up against float64;
 * views that really share elements are still refused. */
static void test_glu_fused_views(void) {
    enum { T = 5, F = 6 };
    float buf[T * 2 * F];
    double want[T * F];
    for (int i = 0; i < T * 2 * F; i++) buf[i] = 0.25f * (float)(i % 9) - 1.0f;
    for (int t = 0; t < T; t++)
        for (int f = 0; f < F; f++) {
            const double g = buf[t * 2 * F + f], u = buf[t * 2 * F + F + f];
            want[t * F + f] = g / (1.0 + exp(-g)) * u;
        }
    const int64_t shape[2] = {T, F};
    ax_tensor gate, up;
    ax_tensor_contiguous(&gate, buf, AX_F32, 2, shape);
    ax_tensor_contiguous(&up, buf + F, AX_F32, 2, shape);
    gate.strides[0] = up.strides[0] = 2 * F;
    CHECK_OK(ax_glu(ctx, AX_ACT_SILU, &gate, &up, &gate));
    double err = 0.0;
    for (int t = 0; t < T; t++)
        for (int f = 0; f < F; f++) err = fmax(err, fabs(buf[t * 2 * F + f] - want[t * F + f]));
    CHECK(err < 1e-6);
    /* up shifted by half a row: its columns share elements with gate's */
    ax_tensor shifted = up;
    shifted.data = buf + F / 2;
    float keep[T * 2 * F];
    memcpy(keep, buf, sizeof buf);
    CHECK_REJECTS(ax_glu(ctx, AX_ACT_SILU, &gate, &shifted, &gate), "overlaps");
    CHECK(memcmp(keep, buf, sizeof buf) == 0);
}

static void test_embedding_errors(void) {
    ids[1] = V;
    CHECK_REJECTS(ax_embedding(ctx, &tids, &ttable, &tout), "ids[1] is 4");
    ids[1] = -1;
    CHECK_REJECTS(ax_embedding(ctx, &tids, &ttable, &tout), "ids[1] is -1");
    ids[1] = 1;
    CHECK_REJECTS(ax_embedding(ctx, &tpf, &ttable, &tout), "ids: dtype is f32");
    CHECK_REJECTS(ax_embedding(ctx, &tids, &ttable, &tbig), "out: dim 1 (D) is 9");
    /* a Q8_0 table whose rows are not whole blocks */
    static uint8_t q[V * 34];
    ax_tensor tq;
    const int64_t qs[2] = {V, 32};
    ax_tensor_contiguous(&tq, q, AX_Q8_0, 2, qs);
    tq.shape[1] = 8;
    CHECK_REJECTS(ax_embedding(ctx, &tids, &tq, &tout), "table");
}

static void test_softmax_errors(void) {
    CHECK_REJECTS(ax_softmax(ctx, &tx, NAN, &tout), "scale");
    CHECK_REJECTS(ax_softmax(ctx, &tx, INFINITY, &tout), "scale");
    CHECK_REJECTS(ax_softmax(ctx, &tx, 1.0f, &tbig), "out: dim 1 (N) is 9");
    CHECK_REJECTS(ax_softmax_backward(ctx, &tx, &tbig, 1.0f, &tout), "dout: dim 1 (N)");
    CHECK_REJECTS(ax_softmax_backward(ctx, &tx, &tres, 1.0f, &tx16), "dx: dtype is bf16");
}

int main(void) {
    setup();
    if (ax_context_create(&ctx, NULL) != AX_OK) {
        fprintf(stderr, "context: %s\n", ax_last_error());
        return 1;
    }
    RUN(test_norm_errors);
    RUN(test_rope_errors);
    RUN(test_activation_errors);
    RUN(test_glu_fused_views);
    RUN(test_embedding_errors);
    RUN(test_softmax_errors);
    ax_context_destroy(ctx);
    return th_finish();
}
