/*
 * test_llm_session.c — session semantics on the real model (SmolLM2, scripts/fetch-model.sh; SKIP
 * (77) when it is not installed): eval's argument errors leave the cache as it was, rewind then
 * re-eval reproduces the logits, chunked and whole prefill agree, the logits rows
 * follow all_logits, sampling needs logits and checks its settings. The values themselves are
 * judged against a float64 reference by test_llm_reference.py.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axial/llm.h"
#include "harness.h"
#include "model_path.h"

static ax_llm_model *g_model;
static ax_llm_model_info g_info;
static const int32_t g_prompt[8] = {504, 3575, 282, 4649, 314, 7042, 30, 198};

static ax_llm_session *new_session(int32_t n_ctx, int32_t n_batch) {
    ax_llm_session_config cfg = AX_LLM_SESSION_CONFIG_INIT;
    cfg.n_ctx = n_ctx;
    cfg.n_batch = n_batch;
    ax_llm_session *s = NULL;
    CHECK_OK(ax_llm_session_create(g_model, &cfg, &s));
    return s;
}

static void test_eval_errors_keep_cache(void) {
    ax_llm_session *s = new_session(10, 4);
    if (s == NULL) return;
    int32_t tok;
    CHECK_STATUS(ax_llm_session_sample(s, NULL, 0, &tok, NULL), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "no logits");
    CHECK(ax_llm_session_logits(s, -1) == NULL);
    CHECK_OK(ax_llm_session_eval(s, g_prompt, 6, 0));
    CHECK_INT_EQ(ax_llm_session_position(s), 6);
    const int32_t bad[2] = {1, g_info.n_vocab};
    CHECK_STATUS(ax_llm_session_eval(s, bad, 2, 0), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "tokens[1]");
    CHECK_STATUS(ax_llm_session_eval(s, g_prompt, 5, 0), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "5 new tokens after 6 do not fit the context of 10");
    CHECK_STATUS(ax_llm_session_eval(s, g_prompt, 0, 0), AX_ERR_INVALID_ARGUMENT);
    CHECK_INT_EQ(ax_llm_session_position(s), 6);
    CHECK_STATUS(ax_llm_session_rewind(s, 7), AX_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ax_llm_session_rewind(s, -1), AX_ERR_INVALID_ARGUMENT);
    ax_llm_session_free(s);
}

static void test_rewind_reproduces(void) {
    ax_llm_session *s = new_session(64, 0);
    if (s == NULL) return;
    const int64_t V = g_info.n_vocab;
    float *first = malloc((size_t)V * sizeof *first);
    CHECK_OK(ax_llm_session_eval(s, g_prompt, 8, 0));
    const float *l = ax_llm_session_logits(s, -1);
    CHECK(l != NULL);
    CHECK(ax_llm_session_logits(s, 0) == NULL); /* only the last row without all_logits */
    if (l != NULL && first != NULL) memcpy(first, l, (size_t)V * sizeof *first);
    int32_t greedy1, greedy2;
    float prob;
    CHECK_OK(ax_llm_session_sample(s, NULL, 0, &greedy1, &prob));
    CHECK(prob == 1.0f);
    /* The greedy token is the arg-max of the logits (lowest id among equals). */
    int32_t best = 0;
    for (int32_t t = 1; t < V && first != NULL; t++)
        if (first[t] > first[best]) best = t;
    CHECK_INT_EQ(greedy1, best);

    CHECK_OK(ax_llm_session_rewind(s, 3));
    CHECK_INT_EQ(ax_llm_session_position(s), 3);
    CHECK(ax_llm_session_logits(s, -1) == NULL);
    CHECK_STATUS(ax_llm_session_sample(s, NULL, 0, &greedy2, NULL), AX_ERR_INVALID_ARGUMENT);
    CHECK_OK(ax_llm_session_eval(s, g_prompt + 3, 5, 1));
    CHECK(ax_llm_session_logits(s, 4) != NULL && ax_llm_session_logits(s, 5) == NULL);
    l = ax_llm_session_logits(s, 4);
    CHECK(l == ax_llm_session_logits(s, -1));
    /* The same tokens at the same positions: the same logits up to the order of fp32 sums (the
     * ops may split the work differently for 5 rows than for 8). */
    double worst = 0;
    for (int64_t t = 0; l != NULL && first != NULL && t < V; t++)
        if (fabs((double)l[t] - (double)first[t]) > worst) worst = fabs((double)l[t] - (double)first[t]);
    th_checks++;
    if (l == NULL || !(worst <= 1e-3)) TH_FAIL("rewind + eval vs first eval: max |diff| %g", worst);
    CHECK_OK(ax_llm_session_sample(s, NULL, 0, &greedy2, NULL));
    CHECK_INT_EQ(greedy2, greedy1);

    ax_sampling_row bad = AX_SAMPLING_ROW_INIT;
    bad.top_p = 1.5f;
    CHECK_STATUS(ax_llm_session_sample(s, &bad, 0, &greedy2, NULL), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "top_p");
    /* Same seed and counter: the same draw; the history only matters through the penalties. */
    ax_sampling_row row = AX_SAMPLING_ROW_INIT;
    row.seed = 42;
    row.temperature = 0.8f;
    int32_t a, b;
    CHECK_OK(ax_llm_session_sample(s, &row, 64, &a, NULL));
    CHECK_OK(ax_llm_session_sample(s, &row, 64, &b, NULL));
    CHECK_INT_EQ(a, b);
    CHECK(a >= 0 && a < V);
    free(first);
    ax_llm_session_free(s);
}

static void test_chunked_prefill_matches(void) {
    /* Chunks of 3 (3 + 3 + 2) against one pass: the same cache contents and logits, up to the
     * order of fp32 sums inside the ops (the tolerance is far below the logits' quantization noise). */
    ax_llm_session *whole = new_session(32, 0), *chunked = new_session(32, 3);
    if (whole == NULL || chunked == NULL) {
        ax_llm_session_free(whole);
        ax_llm_session_free(chunked);
        return;
    }
    CHECK_OK(ax_llm_session_eval(whole, g_prompt, 8, 1));
    CHECK_OK(ax_llm_session_eval(chunked, g_prompt, 8, 1));
    double worst = 0;
    for (int64_t i = 0; i < 8; i++) {
        const float *x = ax_llm_session_logits(whole, i), *y = ax_llm_session_logits(chunked, i);
        CHECK(x != NULL && y != NULL);
        for (int64_t t = 0; x != NULL && y != NULL && t < g_info.n_vocab; t++) {
            const double d = fabs((double)x[t] - (double)y[t]);
            if (d > worst) worst = d;
        }
    }
    th_checks++;
    if (!(worst <= 1e-3)) TH_FAIL("chunked vs whole prefill: max |diff| %g", worst);
    ax_llm_session_free(whole);
    ax_llm_session_free(chunked);
}

int main(void) {
    char path[4096];
    if (!th_model_path(path, sizeof path)) return 77;
    if (ax_llm_model_load(path, NULL, &g_model) != AX_OK) {
        fprintf(stderr, "FAIL: loading %s: %s\n", path, ax_last_error());
        return 1;
    }
    CHECK_OK(ax_llm_model_get_info(g_model, &g_info));
    CHECK_STR_EQ(g_info.architecture, "llama");
    CHECK_INT_EQ(g_info.n_layer, 30);
    CHECK_INT_EQ(g_info.n_head_kv, 3);
    CHECK_INT_EQ(g_info.head_dim, 64);
    CHECK_INT_EQ(g_info.n_vocab, 49152);
    CHECK(g_info.rope_base == 100000.0f);
    RUN(test_eval_errors_keep_cache);
    RUN(test_rewind_reproduces);
    RUN(test_chunked_prefill_matches);
    ax_llm_model_free(g_model);
    return th_finish();
}
