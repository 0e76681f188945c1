/*
 * test_sampling_errors.c — every invalid ax_sample call returns AX_ERR_INVALID_ARGUMENT with a
 * message naming the argument (and dimension, or row and field), and writes nothing; the same
 * checks through ax_sampling_check; a valid call after them works.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "axial/sampling.h"
#include "harness.h"

enum { N = 3, V = 10, H = 6 };

static float logits[N * V];
static uint16_t logits16[N * V];
static ax_sampling_row rows[N];
static int32_t ids[H] = {1, 2, 2, 9, 0, 5};
static int64_t offsets[N + 1] = {0, 2, 4, 6};
static int32_t tokens[N];
static float probs[N];
static ax_tensor t_logits, t_settings, t_ids, t_offsets, t_tokens, t_probs;
static ax_context *ctx;

static const int32_t token_sentinel = 777;

static void setup(void) {
    for (int i = 0; i < N * V; i++) logits[i] = (float)((i * 7) % 11) * 0.3f;
    for (int r = 0; r < N; r++) {
        const ax_sampling_row init = AX_SAMPLING_ROW_INIT;
        rows[r] = init;
        rows[r].seed = (uint64_t)r;
    }
    const int64_t ls[2] = {N, V}, ss[2] = {N, AX_SAMPLING_ROW_BYTES}, hs = H, os = N + 1, ns = N;
    ax_tensor_contiguous(&t_logits, logits, AX_F32, 2, ls);
    ax_tensor_contiguous(&t_settings, rows, AX_U8, 2, ss);
    ax_tensor_contiguous(&t_ids, ids, AX_I32, 1, &hs);
    ax_tensor_contiguous(&t_offsets, offsets, AX_I64, 1, &os);
    ax_tensor_contiguous(&t_tokens, tokens, AX_I32, 1, &ns);
    ax_tensor_contiguous(&t_probs, probs, AX_F32, 1, &ns);
}

static void fill_outputs(void) {
    for (int r = 0; r < N; r++) {
        tokens[r] = token_sentinel;
        probs[r] = -5.0f;
    }
}

static int outputs_untouched(void) {
    for (int r = 0; r < N; r++)
        if (tokens[r] != token_sentinel || probs[r] != -5.0f) return 0;
    return 1;
}

/* Runs ax_sample with the given tensors and checks the status, the message and that nothing was
 * written. */
static void expect_error(const char *what, const ax_tensor *lg, const ax_tensor *st, const ax_tensor *hi,
                         const ax_tensor *of, ax_tensor *tk, ax_tensor *pr, const char *needle) {
    fill_outputs();
    ax_clear_error();
    const ax_status s = ax_sample(ctx, lg, st, hi, of, tk, pr);
    th_checks++;
    if (s != AX_ERR_INVALID_ARGUMENT)
        TH_FAIL("%s: returned %s, expected AX_ERR_INVALID_ARGUMENT (%s)", what, ax_status_string(s), ax_last_error());
    CHECK_CONTAINS(ax_last_error(), needle);
    th_checks++;
    if (!outputs_untouched()) TH_FAIL("%s: an output was written", what);
}

static void test_valid_call(void) {
    fill_outputs();
    CHECK_OK(ax_sample(ctx, &t_logits, &t_settings, &t_ids, &t_offsets, &t_tokens, &t_probs));
    for (int r = 0; r < N; r++) {
        CHECK(tokens[r] >= 0 && tokens[r] < V);
        CHECK(probs[r] > 0.0f && probs[r] <= 1.0f);
    }
    CHECK_OK(ax_sample(ctx, &t_logits, &t_settings, NULL, NULL, &t_tokens, NULL));
    CHECK_OK(ax_sampling_check(rows, N, ids, H, offsets, V));
    /* N = 0 does nothing. */
    ax_tensor l0 = t_logits, s0 = t_settings, k0 = t_tokens;
    l0.shape[0] = s0.shape[0] = k0.shape[0] = 0;
    CHECK_OK(ax_sample(ctx, &l0, &s0, NULL, NULL, &k0, NULL));
}

static void test_shapes_and_dtypes(void) {
    ax_tensor bad;
    expect_error("NULL logits", NULL, &t_settings, NULL, NULL, &t_tokens, NULL, "logits");
    expect_error("NULL tokens", &t_logits, &t_settings, NULL, NULL, NULL, NULL, "tokens");
    bad = t_logits;
    bad.ndim = 3;
    bad.shape[2] = 1;
    bad.strides[2] = 1;
    expect_error("3-D logits", &bad, &t_settings, NULL, NULL, &t_tokens, NULL, "logits: expected 2 dims");
    bad = t_logits;
    bad.dtype = AX_F64;
    expect_error("f64 logits", &bad, &t_settings, NULL, NULL, &t_tokens, NULL, "logits: dtype is f64");
    bad = t_logits;
    bad.strides[1] = 2;
    bad.strides[0] = 2 * V;
    expect_error("strided vocabulary", &bad, &t_settings, NULL, NULL, &t_tokens, NULL, "logits");
    bad = t_settings;
    bad.shape[1] = 40;
    bad.strides[0] = 40;
    expect_error("settings width", &t_logits, &bad, NULL, NULL, &t_tokens, NULL, "settings: dim 1");
    bad = t_settings;
    bad.shape[0] = N - 1;
    expect_error("settings rows", &t_logits, &bad, NULL, NULL, &t_tokens, NULL, "settings: dim 0 (N)");
    bad = t_settings;
    bad.dtype = AX_I8;
    expect_error("settings dtype", &t_logits, &bad, NULL, NULL, &t_tokens, NULL, "settings: dtype is i8");
    bad = t_tokens;
    bad.shape[0] = N + 1;
    expect_error("tokens length", &t_logits, &t_settings, NULL, NULL, &bad, NULL, "tokens: dim 0 (N)");
    bad = t_tokens;
    bad.dtype = AX_I64;
    expect_error("tokens dtype", &t_logits, &t_settings, NULL, NULL, &bad, NULL, "tokens: dtype is i64");
    bad = t_probs;
    bad.dtype = AX_F16;
    expect_error("probs dtype", &t_logits, &t_settings, NULL, NULL, &t_tokens, &bad, "probs: dtype is f16");
    bad = t_offsets;
    bad.shape[0] = N;
    expect_error("offsets length", &t_logits, &t_settings, &t_ids, &bad, &t_tokens, NULL, "history_offsets: dim 0");
    bad = t_offsets;
    bad.dtype = AX_I32;
    expect_error("offsets dtype", &t_logits, &t_settings, &t_ids, &bad, &t_tokens, NULL, "history_offsets: dtype is i32");
    bad = t_ids;
    bad.dtype = AX_I64;
    expect_error("ids dtype", &t_logits, &t_settings, &bad, &t_offsets, &t_tokens, NULL, "history_ids: dtype is i64");
    expect_error("ids without offsets", &t_logits, &t_settings, &t_ids, NULL, &t_tokens, NULL, "history_offsets: NULL");
    expect_error("offsets without ids", &t_logits, &t_settings, NULL, &t_offsets, &t_tokens, NULL, "history_ids: NULL");
    bad = t_logits;
    bad.shape[1] = 0;
    expect_error("V = 0", &bad, &t_settings, NULL, NULL, &t_tokens, NULL, "logits: dim 1 (V) is 0");
    /* tokens overlapping probs (same memory). */
    ax_tensor alias = t_probs;
    alias.data = tokens;
    expect_error("outputs overlap", &t_logits, &t_settings, NULL, NULL, &t_tokens, &alias, "overlap");
    /* bf16 logits are fine. */
    ax_tensor l16 = t_logits;
    l16.data = logits16;
    l16.dtype = AX_BF16;
    CHECK_OK(ax_sample(ctx, &l16, &t_settings, NULL, NULL, &t_tokens, NULL));
}

/* One bad field in row 1: ax_sample and ax_sampling_check both name it. */
static void expect_bad_row(const char *what, const char *needle) {
    expect_error(what, &t_logits, &t_settings, &t_ids, &t_offsets, &t_tokens, &t_probs, needle);
    ax_clear_error();
    CHECK_STATUS(ax_sampling_check(rows, N, ids, H, offsets, V), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), needle);
}

static void test_settings(void) {
    const ax_sampling_row good = rows[1];
    const float bad_top_p[] = {0.0f, -0.5f, 1.5f, NAN};
    for (int i = 0; i < 4; i++) {
        rows[1] = good;
        rows[1].top_p = bad_top_p[i];
        expect_bad_row("top_p", "settings[1].top_p");
    }
    const float bad_temp[] = {-0.1f, -INFINITY, INFINITY, NAN};
    for (int i = 0; i < 4; i++) {
        rows[1] = good;
        rows[1].temperature = bad_temp[i];
        expect_bad_row("temperature", "settings[1].temperature");
    }
    rows[1] = good;
    rows[1].min_p = 1.5f;
    expect_bad_row("min_p", "settings[1].min_p");
    rows[1] = good;
    rows[1].repetition_penalty = 0.0f;
    expect_bad_row("repetition_penalty", "settings[1].repetition_penalty");
    rows[1] = good;
    rows[1].frequency_penalty = INFINITY;
    expect_bad_row("frequency_penalty", "settings[1].frequency_penalty");
    rows[1] = good;
    rows[1].presence_penalty = NAN;
    expect_bad_row("presence_penalty", "settings[1].presence_penalty");
    rows[1] = good;
    rows[1].reserved = 1;
    expect_bad_row("reserved", "settings[1].reserved");
    rows[1] = good;
}

static void test_history(void) {
    offsets[2] = 1; /* below offsets[1] = 2 */
    expect_bad_row("offsets decreasing", "history_offsets[2]: 1 is less than history_offsets[1] (2)");
    offsets[2] = 4;
    offsets[3] = H + 1;
    expect_bad_row("offsets past H", "history_offsets[3]: 7, past the end of history_ids");
    offsets[3] = H;
    offsets[0] = -1;
    expect_bad_row("negative first offset", "history_offsets[0]: -1");
    offsets[0] = 0;
    ids[3] = V;
    expect_bad_row("id >= V", "history_ids[3]: token 10 of row 1, expected an id in [0, V = 10)");
    ids[3] = -2;
    expect_bad_row("negative id", "history_ids[3]: token -2 of row 1");
    ids[3] = 9;
    /* An id past the rows' histories is never read, so it is no error. */
    ids[5] = 99;
    offsets[3] = 5;
    CHECK_OK(ax_sample(ctx, &t_logits, &t_settings, &t_ids, &t_offsets, &t_tokens, NULL));
    ids[5] = 5;
    offsets[3] = 6;
    CHECK_STATUS(ax_sampling_check(rows, N, ids, H, NULL, V), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "offsets: NULL");
    CHECK_STATUS(ax_sampling_check(rows, N, NULL, 0, NULL, 0), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "vocab_size");
}

int main(void) {
    setup();
    if (ax_context_create(&ctx, NULL) != AX_OK) {
        fprintf(stderr, "cannot create a context: %s\n", ax_last_error());
        return 1;
    }
    RUN(test_valid_call);
    RUN(test_shapes_and_dtypes);
    RUN(test_settings);
    RUN(test_history);
    RUN(test_valid_call);
    ax_context_destroy(ctx);
    return th_finish();
}
