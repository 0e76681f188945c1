/*
 * test_serving_engine.c — the serving engine (serving.h) on the real model (SmolLM2, SKIP (77) when
 * scripts/fetch-model.sh has not installed it):
 *   - greedy tokens equal those of the single-sequence session (llm.h: its own KV cache and forward),
 *     for every policy;
 *   - batch invariance: a request's tokens are the same alone, inside a full mixed batch, and when its
 *     prompt prefix comes from another request's blocks (prefix sharing, copy-on-write);
 *   - stop strings, stop tokens, max_tokens and a full context end a request as documented, with the
 *     text judged against the detokenized tokens;
 *   - 1,000 mixed requests with random cancellations and stop conditions: each ends exactly once and
 *     every block returns to the pool (the pool's own consistency check after every step);
 *   - the background loop with concurrent submitters and pollers;
 *   - argument errors, AX_ERR_BUSY.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "axial/llm.h"
#include "axial/serving.h"
#include "harness.h"
#include "model_path.h"
#include "serving/engine_internal.h"

static ax_llm_model *g_model;
static ax_llm_model_info g_info;

/* ---- collecting a request's events ---- */

typedef struct collected {
    int32_t tokens[512];
    int64_t n_tokens;
    char text[8192];
    size_t text_len;
    int finals;          /* final events seen (must end at 1) */
    ax_serving_finish finish;
    int64_t prompt_tokens, cached_tokens, completion_tokens;
    int bad_utf8;
} collected;

static int valid_utf8(const char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        const unsigned char c = (unsigned char)s[i];
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (len == 0 || i + len > n) return 0;
        for (size_t k = 1; k < len; k++)
            if (((unsigned char)s[i + k] & 0xC0) != 0x80) return 0;
        i += len;
    }
    return 1;
}

static void on_event(void *user, const ax_serving_event *ev) {
    collected *c = user;
    if (c->finals > 0) c->finals++; /* an event after the final one: counted as a failure */
    for (int64_t i = 0; i < ev->n_tokens && c->n_tokens < 512; i++) c->tokens[c->n_tokens++] = ev->tokens[i];
    if (ev->finish != AX_SERVING_ERROR) {
        if (!valid_utf8(ev->text, ev->text_len) || strlen(ev->text) != ev->text_len) c->bad_utf8 = 1;
        if (c->text_len + ev->text_len < sizeof c->text) {
            memcpy(c->text + c->text_len, ev->text, ev->text_len);
            c->text_len += ev->text_len;
            c->text[c->text_len] = '\0';
        }
    }
    if (ev->finish != AX_SERVING_RUNNING) {
        c->finals++;
        c->finish = ev->finish;
    }
    c->prompt_tokens = ev->prompt_tokens;
    c->cached_tokens = ev->cached_tokens;
    c->completion_tokens = ev->completion_tokens;
}

static ax_serving_engine *new_engine(ax_serving_policy policy, int32_t n_ctx, int64_t num_blocks, int32_t budget,
                                     int32_t max_running, int prefix_sharing) {
    ax_serving_config cfg = AX_SERVING_CONFIG_INIT;
    cfg.policy = policy;
    cfg.n_ctx = n_ctx;
    cfg.num_blocks = num_blocks;
    cfg.max_batch_tokens = budget;
    cfg.max_running = max_running;
    cfg.prefix_sharing = prefix_sharing;
    cfg.block_size = 32; /* as the session's cache: the attention's rounding follows the block size */
    ax_serving_engine *e = NULL;
    CHECK_OK(ax_serving_create(g_model, &cfg, &e));
    return e;
}

static int64_t submit_tokens(ax_serving_engine *e, const int32_t *prompt, int64_t n, int32_t max_tokens,
                             collected *c) {
    ax_serving_request r = AX_SERVING_REQUEST_INIT;
    r.tokens = prompt;
    r.n_tokens = n;
    r.max_tokens = max_tokens;
    r.ignore_eos = 1;
    r.callback = on_event;
    r.user = c;
    int64_t id = 0;
    CHECK_OK(ax_serving_submit(e, &r, &id));
    return id;
}

static void run_to_end(ax_serving_engine *e) {
    for (int guard = 0; guard < 100000; guard++) {
        int did = 0;
        if (ax_serving_step(e, &did) != AX_OK) TH_FAIL("step: %s", ax_last_error());
        if (!did) return;
    }
    TH_FAIL("engine never went idle");
}

static void check_pool_empty(ax_serving_engine *e) {
    ax_serving_stats st;
    CHECK_OK(ax_serving_get_stats(e, &st));
    CHECK_INT_EQ(st.blocks_used, 0);
    CHECK_INT_EQ(st.running, 0);
    CHECK_INT_EQ(st.waiting, 0);
    th_checks++;
    if (kvb_check(e->pool) != 0) TH_FAIL("pool: %s", ax_last_error());
    th_checks++;
    if (e->reserved != 0) TH_FAIL("reservations left: %lld", (long long)e->reserved);
}

/* The greedy tokens of the single-sequence session: an independent runner of the same model. */
static void session_greedy(const int32_t *prompt, int64_t n, int32_t max_tokens, int32_t *out) {
    ax_llm_session *s = NULL;
    CHECK_OK(ax_llm_session_create(g_model, NULL, &s));
    if (s == NULL) return;
    CHECK_OK(ax_llm_session_eval(s, prompt, n, 0));
    for (int32_t i = 0; i < max_tokens; i++) {
        CHECK_OK(ax_llm_session_sample(s, NULL, 0, &out[i], NULL));
        if (i + 1 < max_tokens) CHECK_OK(ax_llm_session_eval(s, &out[i], 1, 0));
    }
    ax_llm_session_free(s);
}

static int64_t tokenize(const char *text, int32_t *ids, int64_t cap) {
    int64_t n = 0;
    CHECK_OK(ax_llm_tokenize(g_model, text, strlen(text), AX_LLM_TOKENIZE_ADD_SPECIAL, ids, cap, &n));
    return n;
}

static const char *k_prompts[] = {
    "The capital of France is",
    "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n",
    "Proteins fold into three-dimensional structures because",
    "Once upon a time, in a small village at the edge of a great forest, there lived",
    "List three prime numbers:",
    "Water boils at",
    "The mitochondria is",
    "Translate to French: good morning, my friend. ->",
};
#define N_PROMPTS 8

/* ---- tests ---- */

static void test_matches_session(void) {
    const int32_t max_tokens = 12;
    for (int p = 0; p < 3; p++) {
        int32_t prompt[256], want[64];
        const int64_t n = tokenize(k_prompts[p], prompt, 256);
        session_greedy(prompt, n, max_tokens, want);
        for (int pol = 0; pol <= AX_SERVING_STATIC; pol++) {
            ax_serving_engine *e = new_engine((ax_serving_policy)pol, 256, 0, 8, 8, 1);
            if (e == NULL) return;
            collected c = {0};
            submit_tokens(e, prompt, n, max_tokens, &c);
            run_to_end(e);
            CHECK_INT_EQ(c.finals, 1);
            CHECK_INT_EQ(c.finish, AX_SERVING_LENGTH);
            CHECK_INT_EQ(c.n_tokens, max_tokens);
            CHECK(memcmp(c.tokens, want, (size_t)max_tokens * sizeof(int32_t)) == 0);
            CHECK_INT_EQ(c.prompt_tokens, n);
            CHECK_INT_EQ(c.completion_tokens, max_tokens);
            /* the text is the detokenized tokens */
            char text[4096];
            size_t len = 0;
            CHECK_OK(ax_llm_detokenize(g_model, c.tokens, c.n_tokens, AX_LLM_DETOKENIZE_SKIP_SPECIAL, text, sizeof text,
                                       &len));
            CHECK_INT_EQ(c.text_len, len);
            CHECK(memcmp(c.text, text, len) == 0);
            check_pool_empty(e);
            ax_serving_free(e);
        }
    }
}

/* One request (prompt 3) alone, then in a batch with every other prompt, then behind a request that
 * shares its prefix: the same tokens each time, under every policy. */
static void test_batch_invariance(void) {
    const int32_t max_tokens = 10;
    int32_t prompts[N_PROMPTS][256];
    int64_t lens[N_PROMPTS];
    for (int p = 0; p < N_PROMPTS; p++) lens[p] = tokenize(k_prompts[p], prompts[p], 256);

    int32_t alone[64];
    session_greedy(prompts[3], lens[3], max_tokens, alone);
    for (int pol = 0; pol <= AX_SERVING_STATIC; pol++) {
        /* a full mixed batch: decodes of earlier requests meet the prefill of later ones */
        ax_serving_engine *e = new_engine((ax_serving_policy)pol, 256, 0, 24, 8, 1);
        if (e == NULL) return;
        collected c[N_PROMPTS];
        memset(c, 0, sizeof c);
        for (int p = 0; p < N_PROMPTS; p++) {
            submit_tokens(e, prompts[p], lens[p], max_tokens + p, &c[p]);
            int did;
            if (p % 3 == 0) CHECK_OK(ax_serving_step(e, &did)); /* arrivals spread over steps */
        }
        run_to_end(e);
        for (int p = 0; p < N_PROMPTS; p++) CHECK_INT_EQ(c[p].finals, 1);
        CHECK(memcmp(c[3].tokens, alone, (size_t)max_tokens * sizeof(int32_t)) == 0);
        for (int p = 0; p < N_PROMPTS; p++) {
            int32_t want[64];
            session_greedy(prompts[p], lens[p], max_tokens + p, want);
            CHECK(memcmp(c[p].tokens, want, (size_t)(max_tokens + p) * sizeof(int32_t)) == 0);
        }
        check_pool_empty(e);
        ax_serving_free(e);
    }

    /* Prefix sharing: B = A's prompt (40+ tokens) + a different ending; A runs first, so B's leading
     * blocks come from A's (cached) blocks. B's tokens equal B alone. */
    int32_t a[256], b[256];
    const int64_t na = tokenize("In the beginning of the twentieth century, scientists studying the structure of "
                                "matter discovered that atoms were not indivisible. Experiments with cathode rays, "
                                "radioactivity and the scattering of alpha particles by thin gold foil showed that "
                                "an atom has a small, dense, positively charged nucleus, and that",
                                a, 256);
    CHECK(na >= 48);
    memcpy(b, a, (size_t)na * sizeof(int32_t));
    const int64_t nb_tail = tokenize(" the electron", b + na, 256 - na);
    const int64_t nb = na + nb_tail;
    int32_t b_alone[64];
    session_greedy(b, nb, max_tokens, b_alone);
    ax_serving_engine *e = new_engine(AX_SERVING_SPLITFUSE, 256, 0, 16, 8, 1);
    if (e == NULL) return;
    collected ca = {0}, cb = {0};
    submit_tokens(e, a, na, 4, &ca);
    run_to_end(e);
    submit_tokens(e, b, nb, max_tokens, &cb);
    run_to_end(e);
    CHECK(cb.cached_tokens >= 32); /* at least a full block of 32 came from A */
    CHECK(memcmp(cb.tokens, b_alone, (size_t)max_tokens * sizeof(int32_t)) == 0);
    ax_serving_stats st;
    CHECK_OK(ax_serving_get_stats(e, &st));
    CHECK(st.cached_prompt_tokens >= 32);
    CHECK_INT_EQ(st.computed_prompt_tokens, na + nb - st.cached_prompt_tokens);
    check_pool_empty(e);
    ax_serving_free(e);
}

/* Identical prompts whose length is not a multiple of the block size: the second shares the first's
 * partial last block and writes into it, so one of them copies it first. Both give the same tokens. */
static void test_copy_on_write(void) {
    const int32_t max_tokens = 8;
    int32_t p[256];
    const int64_t n = tokenize(k_prompts[3], p, 256);
    CHECK(n % 32 != 0);
    int32_t want[64];
    session_greedy(p, n, max_tokens, want);
    ax_serving_engine *e = new_engine(AX_SERVING_SPLITFUSE, 256, 0, 64, 8, 1);
    if (e == NULL) return;
    collected c1 = {0}, c2 = {0}, c3 = {0};
    submit_tokens(e, p, n, max_tokens, &c1);
    int did;
    CHECK_OK(ax_serving_step(e, &did)); /* c1's prompt runs and registers its blocks */
    submit_tokens(e, p, n, max_tokens, &c2);
    run_to_end(e);
    submit_tokens(e, p, n, max_tokens, &c3); /* all of it cached: the last prompt token is recomputed */
    run_to_end(e);
    CHECK(memcmp(c1.tokens, want, (size_t)max_tokens * sizeof(int32_t)) == 0);
    CHECK(memcmp(c2.tokens, want, (size_t)max_tokens * sizeof(int32_t)) == 0);
    CHECK(memcmp(c3.tokens, want, (size_t)max_tokens * sizeof(int32_t)) == 0);
    CHECK_INT_EQ(c2.cached_tokens, n - 1);
    ax_serving_stats st;
    CHECK_OK(ax_serving_get_stats(e, &st));
    CHECK(st.copy_on_write >= 1);
    check_pool_empty(e);
    ax_serving_free(e);
}

static void test_stop_conditions(void) {
    int32_t p[256];
    const int64_t n = tokenize(k_prompts[3], p, 256);
    const int32_t max_tokens = 24;
    int32_t full[64];
    session_greedy(p, n, max_tokens, full);
    char full_text[4096];
    size_t full_len = 0;
    CHECK_OK(ax_llm_detokenize(g_model, full, max_tokens, AX_LLM_DETOKENIZE_SKIP_SPECIAL, full_text, sizeof full_text,
                               &full_len));
    CHECK(full_len > 20);
    ax_serving_engine *e = new_engine(AX_SERVING_SPLITFUSE, 256, 0, 32, 8, 0);
    if (e == NULL) return;

    /* a stop string from the middle of the greedy text: the text ends right before it */
    char stop[8];
    memcpy(stop, full_text + full_len / 2, 5);
    stop[5] = '\0';
    const size_t stop_at = (size_t)(strstr(full_text, stop) - full_text);
    const char *stops[2] = {"\x01never", stop};
    ax_serving_request r = AX_SERVING_REQUEST_INIT;
    r.tokens = p;
    r.n_tokens = n;
    r.max_tokens = max_tokens;
    r.ignore_eos = 1;
    r.stop = stops;
    r.n_stop = 2;
    r.callback = on_event;
    collected c = {0};
    r.user = &c;
    int64_t id;
    CHECK_OK(ax_serving_submit(e, &r, &id));
    run_to_end(e);
    CHECK_INT_EQ(c.finish, AX_SERVING_STOP);
    CHECK_INT_EQ(c.text_len, stop_at);
    CHECK(memcmp(c.text, full_text, stop_at) == 0);
    CHECK(c.n_tokens < max_tokens);
    CHECK(memcmp(c.tokens, full, (size_t)c.n_tokens * sizeof(int32_t)) == 0);

    /* a stop token: the third greedy token ends the request; it is reported, its text is not */
    collected c2 = {0};
    r.stop = NULL;
    r.n_stop = 0;
    r.stop_tokens = &full[2];
    r.n_stop_tokens = 1;
    r.user = &c2;
    int first = 2;
    for (int i = 0; i < 2 && first == 2; i++)
        if (full[i] == full[2]) first = i; /* the token may occur earlier */
    CHECK_OK(ax_serving_submit(e, &r, &id));
    run_to_end(e);
    CHECK_INT_EQ(c2.finish, AX_SERVING_STOP);
    CHECK_INT_EQ(c2.n_tokens, first + 1);
    char t2[256];
    size_t l2 = 0;
    CHECK_OK(ax_llm_detokenize(g_model, full, first, AX_LLM_DETOKENIZE_SKIP_SPECIAL, t2, sizeof t2, &l2));
    CHECK_INT_EQ(c2.text_len, l2);

    /* a full context: n_ctx 64 leaves 64 - n tokens to generate */
    ax_serving_free(e);
    e = new_engine(AX_SERVING_PREFILL_FIRST, 40, 0, 32, 8, 0);
    if (e == NULL) return;
    collected c3 = {0};
    submit_tokens(e, p, n, 1000, &c3);
    run_to_end(e);
    CHECK_INT_EQ(c3.finish, AX_SERVING_LENGTH);
    CHECK_INT_EQ(c3.n_tokens, 40 - n);
    CHECK(memcmp(c3.tokens, full, (size_t)(40 - n) * sizeof(int32_t)) == 0);
    check_pool_empty(e);
    ax_serving_free(e);
}

static void test_errors(void) {
    ax_serving_engine *e = NULL;
    ax_serving_config cfg = AX_SERVING_CONFIG_INIT;
    cfg.block_size = 8;
    CHECK_STATUS(ax_serving_create(g_model, &cfg, &e), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "cfg->block_size");
    CHECK(e == NULL);
    CHECK_STATUS(ax_serving_create(NULL, NULL, &e), AX_ERR_INVALID_ARGUMENT);
    ax_serving_policy pol;
    CHECK_STATUS(ax_serving_policy_parse("fastest", &pol), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "\"fastest\"");
    CHECK_OK(ax_serving_policy_parse("prefill-first", &pol));
    CHECK_INT_EQ(pol, AX_SERVING_PREFILL_FIRST);

    cfg = (ax_serving_config)AX_SERVING_CONFIG_INIT;
    cfg.n_ctx = 64;
    cfg.num_blocks = 3; /* 48 slots */
    cfg.max_queue = 2;
    CHECK_OK(ax_serving_create(g_model, &cfg, &e));
    if (e == NULL) return;
    ax_serving_config got;
    CHECK_OK(ax_serving_get_config(e, &got));
    CHECK_INT_EQ(got.block_size, 32);
    CHECK_INT_EQ(got.max_batch_tokens, 64);
    int64_t id = 0;
    ax_serving_request r = AX_SERVING_REQUEST_INIT;
    r.prompt = "";
    CHECK_STATUS(ax_serving_submit(e, &r, &id), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "prompt: empty");
    CHECK_INT_EQ(id, 0);
    char longp[2000];
    for (int i = 0; i < 1999; i++) longp[i] = "ab "[i % 3];
    longp[1999] = '\0';
    r.prompt = longp;
    r.prompt_len = strlen(longp);
    CHECK_STATUS(ax_serving_submit(e, &r, &id), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "the context holds 64");
    r.prompt = "Hello";
    r.prompt_len = 5;
    r.max_tokens = 0;
    CHECK_STATUS(ax_serving_submit(e, &r, &id), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "max_tokens");
    r.max_tokens = 60; /* 61+ tokens of KV need 2 blocks of 32... fine; 100 would need more than 3? no: capped at n_ctx */
    r.sampling.temperature = -1.0f;
    CHECK_STATUS(ax_serving_submit(e, &r, &id), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "temperature");
    r.sampling.temperature = 0.0f;
    const char *stops[1] = {""};
    r.stop = stops;
    r.n_stop = 1;
    CHECK_STATUS(ax_serving_submit(e, &r, &id), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "request->stop[0]");
    r.stop = NULL;
    r.n_stop = 0;
    const int32_t bad_tok[1] = {g_info.n_vocab};
    r.prompt = NULL;
    r.tokens = bad_tok;
    r.n_tokens = 1;
    CHECK_STATUS(ax_serving_submit(e, &r, &id), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "request->tokens[0]");
    r.prompt = "Hello";
    /* the queue holds 2: the third waits for nothing but is refused */
    int64_t a = 0, b = 0;
    CHECK_OK(ax_serving_submit(e, &r, &a));
    CHECK_OK(ax_serving_submit(e, &r, &b));
    CHECK(a > 0 && b > a);
    CHECK_STATUS(ax_serving_submit(e, &r, &id), AX_ERR_BUSY);
    CHECK_CONTAINS(ax_last_error(), "try again later");
    CHECK_STR_EQ(ax_status_string(AX_ERR_BUSY), "AX_ERR_BUSY");
    CHECK_STATUS(ax_serving_cancel(e, 999), AX_ERR_INVALID_ARGUMENT);
    ax_serving_event ev;
    CHECK_OK(ax_serving_poll(e, a, 0, &ev));
    CHECK_INT_EQ(ev.n_tokens, 0);
    CHECK_INT_EQ(ev.finish, AX_SERVING_RUNNING);
    CHECK_OK(ax_serving_cancel(e, b));
    CHECK_OK(ax_serving_start(e));
    CHECK_STATUS(ax_serving_step(e, NULL), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "background loop");
    /* poll a until it ends (greedy, 60 tokens at most) */
    int64_t got_tokens = 0;
    for (int guard = 0; guard < 10000; guard++) {
        CHECK_OK(ax_serving_poll(e, a, 1000, &ev));
        got_tokens += ev.n_tokens;
        if (ev.finish != AX_SERVING_RUNNING) break;
    }
    CHECK(ev.finish == AX_SERVING_LENGTH || ev.finish == AX_SERVING_STOP);
    CHECK_INT_EQ(ev.completion_tokens, got_tokens);
    CHECK_STATUS(ax_serving_poll(e, a, 0, &ev), AX_ERR_INVALID_ARGUMENT);
    for (int guard = 0; guard < 1000; guard++) {
        CHECK_OK(ax_serving_poll(e, b, 1000, &ev));
        if (ev.finish != AX_SERVING_RUNNING) break;
    }
    CHECK_INT_EQ(ev.finish, AX_SERVING_CANCELLED);
    ax_serving_stop(e);
    check_pool_empty(e);
    /* a request that can never fit the pool alone: 64 tokens need 2 blocks but ask for max */
    ax_serving_free(e);
    cfg.num_blocks = 1;
    CHECK_OK(ax_serving_create(g_model, &cfg, &e));
    if (e == NULL) return;
    r.max_tokens = 50;
    CHECK_STATUS(ax_serving_submit(e, &r, &id), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "the pool has 1");
    ax_serving_free(e);
}

/* ---- 1,000 mixed requests ---- */

static void test_reliability(void) {
    th_seed(20261203);
    enum { N = 1000 };
    collected *c = calloc(N, sizeof *c);
    int64_t *ids = calloc(N, sizeof *ids);
    if (c == NULL || ids == NULL) return;
    int32_t base[64];
    for (int i = 0; i < 64; i++) base[i] = 300 + (int32_t)(th_rand_u64() % 20000);
    int submitted = 0, cancels = 0;
    for (int round = 0; round < 3; round++) {
        /* a small pool and budget: requests wait, share blocks, and get cancelled at any point */
        ax_serving_engine *e = new_engine((ax_serving_policy)round, 96, 24, 48, 12, 1);
        if (e == NULL) break;
        const int end = round == 2 ? N : (round + 1) * N / 3;
        int next = submitted;
        for (;;) {
            /* up to 6 arrivals per step */
            const int arrivals = (int)(th_rand_u64() % 7);
            for (int a = 0; a < arrivals && next < end; a++, next++) {
                int32_t prompt[64];
                const int64_t n = 1 + (int64_t)(th_rand_u64() % 40);
                const int shared = (int)(th_rand_u64() % 2); /* half start with the common prefix */
                for (int64_t i = 0; i < n; i++)
                    prompt[i] = shared && i < 36 ? base[i] : 300 + (int32_t)(th_rand_u64() % 20000);
                ax_serving_request r = AX_SERVING_REQUEST_INIT;
                r.tokens = prompt;
                r.n_tokens = n;
                r.max_tokens = 1 + (int32_t)(th_rand_u64() % 12);
                r.callback = on_event;
                r.user = &c[next];
                const int kind = (int)(th_rand_u64() % 4);
                int32_t stop_tok[3] = {(int32_t)(th_rand_u64() % 49152), 13, 11};
                const char *stops[2] = {"e", " the"};
                if (kind == 1) {
                    r.stop_tokens = stop_tok;
                    r.n_stop_tokens = 3;
                } else if (kind == 2) {
                    r.stop = stops;
                    r.n_stop = 2;
                } else if (kind == 3) {
                    r.sampling.temperature = 0.8f;
                    r.sampling.top_k = 40;
                    r.sampling.seed = th_rand_u64();
                    r.penalty_last_n = 16;
                    r.sampling.repetition_penalty = 1.1f;
                }
                const ax_status st = ax_serving_submit(e, &r, &ids[next]);
                if (st != AX_OK) TH_FAIL("submit %d: %s", next, ax_last_error());
            }
            /* random cancellations of live requests */
            for (int k = 0; k < 2; k++) {
                if (next == submitted) break;
                const int victim = submitted + (int)(th_rand_u64() % (uint64_t)(next - submitted));
                if (c[victim].finals == 0 && th_rand_u64() % 5 == 0) {
                    if (ax_serving_cancel(e, ids[victim]) == AX_OK) cancels++;
                }
            }
            int did = 0;
            if (ax_serving_step(e, &did) != AX_OK) TH_FAIL("step: %s", ax_last_error());
            if (kvb_check(e->pool) != 0) {
                TH_FAIL("pool after a step: %s", ax_last_error());
                break;
            }
            if (!did && next == end) break;
        }
        submitted = end;
        check_pool_empty(e);
        ax_serving_stats st;
        CHECK_OK(ax_serving_get_stats(e, &st));
        CHECK_INT_EQ(st.requests_finished, st.requests_submitted);
        ax_serving_free(e);
    }
    int bad = 0, cancelled = 0, stopped = 0, length = 0;
    for (int i = 0; i < N; i++) {
        if (c[i].finals != 1 || c[i].bad_utf8 || c[i].completion_tokens != c[i].n_tokens) bad++;
        cancelled += c[i].finish == AX_SERVING_CANCELLED;
        stopped += c[i].finish == AX_SERVING_STOP;
        length += c[i].finish == AX_SERVING_LENGTH;
    }
    th_checks++;
    if (bad != 0) TH_FAIL("%d of %d requests did not end exactly once with consistent counts and valid UTF-8", bad, N);
    CHECK_INT_EQ(cancelled + stopped + length, N);
    CHECK(cancelled > 20 && stopped > 20 && length > 20);
    printf("reliability: %d requests, %d cancel calls, %d cancelled, %d stopped, %d length\n", N, cancels, cancelled,
           stopped, length);
    free(c);
    free(ids);
}

/* ---- background loop, several submitting and polling threads ---- */

typedef struct poller {
    ax_serving_engine *e;
    int32_t prompt[256];
    int64_t n;
    int32_t tokens[64];
    int64_t n_tokens;
    int finish;
    int ok;
} poller;

static void *poll_thread(void *arg) {
    poller *p = arg;
    ax_serving_request r = AX_SERVING_REQUEST_INIT;
    r.tokens = p->prompt;
    r.n_tokens = p->n;
    r.max_tokens = 8;
    r.ignore_eos = 1;
    int64_t id;
    if (ax_serving_submit(p->e, &r, &id) != AX_OK) return NULL;
    for (int guard = 0; guard < 100000; guard++) {
        ax_serving_event ev;
        if (ax_serving_poll(p->e, id, 200, &ev) != AX_OK) return NULL;
        for (int64_t i = 0; i < ev.n_tokens && p->n_tokens < 64; i++) p->tokens[p->n_tokens++] = ev.tokens[i];
        if (ev.finish != AX_SERVING_RUNNING) {
            p->finish = ev.finish;
            p->ok = 1;
            return NULL;
        }
    }
    return NULL;
}

static void test_background_loop(void) {
    ax_serving_engine *e = new_engine(AX_SERVING_SPLITFUSE, 256, 0, 32, 8, 1);
    if (e == NULL) return;
    CHECK_OK(ax_serving_start(e));
    poller p[6];
    pthread_t t[6];
    memset(p, 0, sizeof p);
    for (int i = 0; i < 6; i++) {
        p[i].e = e;
        p[i].n = tokenize(k_prompts[i], p[i].prompt, 256);
        pthread_create(&t[i], NULL, poll_thread, &p[i]);
    }
    for (int i = 0; i < 6; i++) pthread_join(t[i], NULL);
    ax_serving_stop(e);
    for (int i = 0; i < 6; i++) {
        CHECK(p[i].ok);
        CHECK_INT_EQ(p[i].finish, AX_SERVING_LENGTH);
        CHECK_INT_EQ(p[i].n_tokens, 8);
        int32_t want[8];
        session_greedy(p[i].prompt, p[i].n, 8, want);
        CHECK(memcmp(p[i].tokens, want, sizeof want) == 0);
    }
    check_pool_empty(e);
    /* freeing an engine with requests still queued ends them as cancelled */
    collected c = {0};
    int32_t prompt[8] = {504, 3575, 282, 4649, 314, 7042, 30, 198};
    submit_tokens(e, prompt, 8, 4, &c);
    ax_serving_free(e);
    CHECK_INT_EQ(c.finals, 1);
    CHECK_INT_EQ(c.finish, AX_SERVING_CANCELLED);
}

/* A poll request finishing in the same step as a callback request whose callback is slow: the
 * poller takes (and, on its next poll, frees) the request while the step still runs callbacks; the
 * step must not touch it then (ASan in the test command checks). */
static void slow_event(void *user, const ax_serving_event *ev) {
    const struct timespec ts = {0, 20 * 1000000L};
    nanosleep(&ts, NULL);
    on_event(user, ev);
}

static void test_poll_beside_slow_callback(void) {
    ax_serving_engine *e = new_engine(AX_SERVING_SPLITFUSE, 128, 0, 32, 8, 0);
    if (e == NULL) return;
    int32_t prompt[8] = {504, 3575, 282, 4649, 314, 7042, 30, 198};
    for (int round = 0; round < 4; round++) {
        collected c = {0};
        ax_serving_request r = AX_SERVING_REQUEST_INIT;
        r.tokens = prompt;
        r.n_tokens = 8;
        r.max_tokens = 2;
        r.ignore_eos = 1;
        r.callback = slow_event;
        r.user = &c;
        int64_t a, b;
        CHECK_OK(ax_serving_submit(e, &r, &a));
        r.callback = NULL;
        r.max_tokens = 1 + round % 2;
        CHECK_OK(ax_serving_submit(e, &r, &b));
        CHECK_OK(ax_serving_start(e));
        ax_serving_event ev;
        do {
            CHECK_OK(ax_serving_poll(e, b, 1000, &ev));
        } while (ev.finish == AX_SERVING_RUNNING);
        CHECK_STATUS(ax_serving_poll(e, b, 0, &ev), AX_ERR_INVALID_ARGUMENT); /* frees b while a's callback sleeps */
        ax_serving_stop(e);
        run_to_end(e);
        CHECK_INT_EQ(c.finals, 1);
    }
    check_pool_empty(e);
    ax_serving_free(e);
}

int main(void) {
    char path[4096];
    if (!th_model_path(path, sizeof path)) return 77;
    ax_llm_model_config mc = AX_LLM_MODEL_CONFIG_INIT;
    mc.num_threads = 2;
    if (ax_llm_model_load(path, &mc, &g_model) != AX_OK) {
        fprintf(stderr, "FAIL: loading %s: %s\n", path, ax_last_error());
        return 1;
    }
    CHECK_OK(ax_llm_model_get_info(g_model, &g_info));
    RUN(test_errors);
    RUN(test_matches_session);
    RUN(test_stop_conditions);
    RUN(test_copy_on_write);
    RUN(test_batch_invariance);
    RUN(test_background_loop);
    RUN(test_poll_beside_slow_callback);
    RUN(test_reliability);
    ax_llm_model_free(g_model);
    return th_finish();
}
