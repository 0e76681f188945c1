/*
 * test_serving_engine.c — the serving engine (serving.h) on a real model, on the CPU or on CUDA:
 *   - greedy tokens equal those of the single-sequence session (llm.h: its own KV cache and forward),
 *     for every policy, and with repetition / frequency / presence penalties;
 *   - batch invariance: a request's tokens are the same alone, inside a full mixed batch, and when its
 *     prompt prefix comes from another request's blocks (prefix sharing, copy-on-write);
 *   - stop strings, stop tokens, max_tokens and a full context end a request as documented, with the
 *     text judged against the detokenized tokens;
 *   - 1,000 mixed requests (200 on CUDA) with random cancellations and stop conditions: each ends
 *     exactly once and every block returns to the pool (the pool's own consistency check after every
 *     step);
 *   - the background loop with concurrent submitters and pollers; a poller freeing a request that
 *     the running step cancelled;
 *   - argument errors, AX_ERR_BUSY; on CUDA the defaults and a pool the device cannot hold.
 *
 * Usage: test_serving_engine [--device cpu|cuda] [--model PATH]
 *   The model: --model, else (CUDA only) $AXIAL_GPU_MODEL, else (CUDA only) the 2-block file
 *   scripts/gpu-model.sh writes (.gpu-model/smollm2-2blk.gguf) when it exists, else $AXIAL_MODEL or
 *   what scripts/fetch-model.sh installed. SKIP (77) without a model, or with --device cuda and no
 *   CUDA device. Every expectation comes from the session on the same device, never from the text a
 *   particular model writes, so a derived 2-block model (whose text is gibberish) serves as well.
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
static int g_cuda; /* the model and every engine live on CUDA device 0 */

/* How the engine's token sequences compared with the session's: bit for bit, or (CUDA only) apart
 * from near ties (check_tokens). */
static int g_exact, g_near_ties;
static double g_largest_tie_gap;

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

static ax_serving_engine *new_engine_preempting(ax_serving_policy policy, int32_t n_ctx, int64_t num_blocks,
                                                int32_t budget, int32_t max_running, int prefix_sharing,
                                                int preemption) {
    ax_serving_config cfg = AX_SERVING_CONFIG_INIT;
    cfg.policy = policy;
    cfg.n_ctx = n_ctx;
    cfg.num_blocks = num_blocks;
    cfg.max_batch_tokens = budget;
    cfg.max_running = max_running;
    cfg.prefix_sharing = prefix_sharing;
    cfg.preemption = preemption;
    cfg.block_size = 32; /* as the session's cache: the attention's rounding follows the block size */
    ax_serving_engine *e = NULL;
    CHECK_OK(ax_serving_create(g_model, &cfg, &e));
    return e;
}

static ax_serving_engine *new_engine(ax_serving_policy policy, int32_t n_ctx, int64_t num_blocks, int32_t budget,
                                     int32_t max_running, int prefix_sharing) {
    return new_engine_preempting(policy, n_ctx, num_blocks, budget, max_running, prefix_sharing, 0);
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
    th_checks++;
    if (e->n_requeued != 0) TH_FAIL("preempted requests still counted as waiting: %lld", (long long)e->n_requeued);
}

/* The tokens of the single-sequence session (an independent runner of the same model on the same
 * device): draw i with `settings` (NULL: greedy) at counter i, the penalties seeing the last
 * penalty_last_n tokens, as a request's draws do (serving.h). */
typedef struct session_run {
    int32_t prompt[256];
    int64_t n;
    ax_sampling_row settings;
    int greedy;
    int32_t penalty_last_n, count;
    int32_t tokens[512];
} session_run;

/* Earlier runs, reused: draw i depends only on the prompt, the settings and i, so a run of `count`
 * tokens is the prefix of any longer one (the sanitizer build runs the session slowly). */
static session_run g_runs[32];
static int g_n_runs;

static session_run *find_run(const int32_t *prompt, int64_t n, const ax_sampling_row *settings, int32_t penalty_last_n,
                             int32_t count) {
    for (int i = 0; i < g_n_runs; i++) {
        session_run *r = &g_runs[i];
        if (r->n == n && r->count >= count && r->greedy == (settings == NULL) && r->penalty_last_n == penalty_last_n &&
            memcmp(r->prompt, prompt, (size_t)n * sizeof *prompt) == 0 &&
            (settings == NULL || memcmp(&r->settings, settings, sizeof *settings) == 0))
            return r;
    }
    return NULL;
}

static void session_tokens_run(const int32_t *prompt, int64_t n, int32_t count, const ax_sampling_row *settings,
                               int32_t penalty_last_n, int32_t *out);

static void session_tokens(const int32_t *prompt, int64_t n, int32_t count, const ax_sampling_row *settings,
                           int32_t penalty_last_n, int32_t *out) {
    const session_run *r = find_run(prompt, n, settings, penalty_last_n, count);
    if (r == NULL) {
        session_tokens_run(prompt, n, count, settings, penalty_last_n, out);
        if (g_n_runs < 32 && n <= 256 && count <= 512) {
            session_run *w = &g_runs[g_n_runs++];
            memcpy(w->prompt, prompt, (size_t)n * sizeof *prompt);
            w->n = n;
            w->greedy = settings == NULL;
            if (settings != NULL) w->settings = *settings;
            w->penalty_last_n = penalty_last_n;
            w->count = count;
            memcpy(w->tokens, out, (size_t)count * sizeof *out);
        }
        return;
    }
    memcpy(out, r->tokens, (size_t)count * sizeof *out);
}

static void session_tokens_run(const int32_t *prompt, int64_t n, int32_t count, const ax_sampling_row *settings,
                               int32_t penalty_last_n, int32_t *out) {
    ax_llm_session *s = NULL;
    CHECK_OK(ax_llm_session_create(g_model, NULL, &s));
    if (s == NULL) return;
    CHECK_OK(ax_llm_session_eval(s, prompt, n, 0));
    for (int32_t i = 0; i < count; i++) {
        ax_sampling_row row = settings != NULL ? *settings : (ax_sampling_row){0};
        row.counter = (uint64_t)i;
        CHECK_OK(ax_llm_session_sample(s, settings != NULL ? &row : NULL, penalty_last_n, &out[i], NULL));
        if (i + 1 < count) CHECK_OK(ax_llm_session_eval(s, &out[i], 1, 0));
    }
    ax_llm_session_free(s);
}

/* Step 2 of sampling.h's procedure on the host, for the near-tie judgement: the penalties of every
 * distinct token among the last hn of `history`. */
static void apply_penalties(float *w, const int32_t *history, int64_t hn, const ax_sampling_row *set) {
    for (int64_t i = 0; i < hn; i++) {
        int seen = 0;
        for (int64_t j = 0; j < i && !seen; j++) seen = history[j] == history[i];
        if (seen) continue;
        int64_t c = 0;
        for (int64_t j = i; j < hn; j++) c += history[j] == history[i];
        float x = w[history[i]];
        if (set->repetition_penalty != 1.0f) x = x > 0.0f ? x / set->repetition_penalty : x * set->repetition_penalty;
        w[history[i]] = x - ((float)c * set->frequency_penalty + set->presence_penalty);
    }
}

/* Two logits closer than this are a tie to the argmax: the rule tests/python/test_llm_reference.py
 * applies between the session and a float64 reference. */
#define K_NEAR_TIE 1e-2

/* The engine's greedy tokens got[0, count) against the session's, under `what` in messages. On the
 * CPU they must be equal: every CPU kernel on the path computes a row the same way whatever the batch
 * (docs/serving.md, "Determinism"). On CUDA they may not be: the quantized matmul multiplies up to 8
 * rows one warp per output column and more rows through cuBLAS (src/linalg/cuda/qmatmul.cu), so a
 * token row rounds differently in a step of 20 rows than in the session's step of 1, and a greedy
 * choice between two logits that close may flip. There a difference is accepted only at near ties:
 * the session, fed the engine's own tokens, must rank each of them within K_NEAR_TIE of its best
 * choice (after the request's penalties). A wrong slot, block table or copied block moves logits by
 * far more than that. */
static void check_tokens(const char *what, const int32_t *prompt, int64_t n, const int32_t *got, int32_t count,
                         const ax_sampling_row *settings, int32_t penalty_last_n) {
    int32_t want[512];
    if (count > 512) count = 512;
    session_tokens(prompt, n, count, settings, penalty_last_n, want);
    th_checks++;
    int32_t first = 0;
    while (first < count && got[first] == want[first]) first++;
    if (first == count) {
        g_exact++;
        return;
    }
    if (!g_cuda) {
        TH_FAIL("%s: token %d is %d, the session's is %d", what, first, got[first], want[first]);
        return;
    }
    /* teacher-forced: the session follows the engine's tokens and judges each */
    const int64_t V = g_info.n_vocab;
    int32_t *history = malloc((size_t)(n + count) * sizeof *history);
    float *w = malloc((size_t)V * sizeof *w);
    ax_llm_session *s = NULL;
    CHECK_OK(ax_llm_session_create(g_model, NULL, &s));
    if (history == NULL || w == NULL || s == NULL) {
        TH_FAIL("%s: no memory or session for the near-tie check", what);
        free(history);
        free(w);
        ax_llm_session_free(s);
        return;
    }
    memcpy(history, prompt, (size_t)n * sizeof *history);
    CHECK_OK(ax_llm_session_eval(s, prompt, n, 0));
    int ties = 0;
    for (int32_t i = 0; i < count; i++) {
        const float *logits = ax_llm_session_logits(s, -1);
        if (logits == NULL || got[i] < 0 || got[i] >= V) {
            TH_FAIL("%s: token %d is %d (no session logits, or an id out of range)", what, i, got[i]);
            break;
        }
        memcpy(w, logits, (size_t)V * sizeof *w);
        if (settings != NULL && penalty_last_n > 0) {
            const int64_t hn = penalty_last_n < n + i ? penalty_last_n : n + i;
            apply_penalties(w, history + n + i - hn, hn, settings);
        }
        int32_t best = 0;
        for (int32_t t = 1; t < V; t++)
            if (w[t] > w[best]) best = t;
        const double gap = (double)w[best] - (double)w[got[i]];
        if (!(gap <= K_NEAR_TIE)) {
            TH_FAIL("%s: token %d is %d, whose logit is %.4g below the session's best %d (free-running, the "
                    "session's token %d is %d)", what, i, got[i], gap, best, first, want[first]);
            break;
        }
        if (got[i] != best) {
            ties++;
            if (gap > g_largest_tie_gap) g_largest_tie_gap = gap;
        }
        history[n + i] = got[i];
        if (i + 1 < count) CHECK_OK(ax_llm_session_eval(s, &got[i], 1, 0));
    }
    printf("%s: differs from the session from token %d on, at %d near tie(s)\n", what, first, ties);
    g_near_ties++;
    ax_llm_session_free(s);
    free(history);
    free(w);
}

/* The engine's text is the detokenized tokens. Where those bytes are not valid UTF-8 (a model that
 * writes stray byte tokens) the engine substitutes U+FFFD, so only validity is required there. */
static void check_text(const collected *c) {
    char text[4096];
    size_t len = 0;
    CHECK_OK(ax_llm_detokenize(g_model, c->tokens, c->n_tokens, AX_LLM_DETOKENIZE_SKIP_SPECIAL, text, sizeof text,
                               &len));
    if (len >= sizeof text) return;
    if (valid_utf8(text, len)) {
        CHECK_INT_EQ(c->text_len, len);
        CHECK(memcmp(c->text, text, len) == 0);
    } else {
        CHECK(valid_utf8(c->text, c->text_len));
    }
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
        int32_t prompt[256];
        const int64_t n = tokenize(k_prompts[p], prompt, 256);
        for (int pol = 0; pol <= AX_SERVING_STATIC; pol++) {
            ax_serving_engine *e = new_engine((ax_serving_policy)pol, 256, 0, 8, 8, 1);
            if (e == NULL) return;
            collected c = {0};
            submit_tokens(e, prompt, n, max_tokens, &c);
            run_to_end(e);
            CHECK_INT_EQ(c.finals, 1);
            CHECK_INT_EQ(c.finish, AX_SERVING_LENGTH);
            CHECK_INT_EQ(c.n_tokens, max_tokens);
            char what[64];
            snprintf(what, sizeof what, "prompt %d, %s", p, ax_serving_policy_name((ax_serving_policy)pol));
            check_tokens(what, prompt, n, c.tokens, max_tokens, NULL, 0);
            CHECK_INT_EQ(c.prompt_tokens, n);
            CHECK_INT_EQ(c.completion_tokens, max_tokens);
            check_text(&c);
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
        for (int p = 0; p < N_PROMPTS; p++) {
            CHECK_INT_EQ(c[p].finals, 1);
            CHECK_INT_EQ(c[p].n_tokens, max_tokens + p);
            char what[64];
            snprintf(what, sizeof what, "mixed batch, %s, prompt %d", ax_serving_policy_name((ax_serving_policy)pol),
                     p);
            check_tokens(what, prompts[p], lens[p], c[p].tokens, max_tokens + p, NULL, 0);
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
    ax_serving_engine *e = new_engine(AX_SERVING_SPLITFUSE, 256, 0, 16, 8, 1);
    if (e == NULL) return;
    collected ca = {0}, cb = {0};
    submit_tokens(e, a, na, 4, &ca);
    run_to_end(e);
    submit_tokens(e, b, nb, max_tokens, &cb);
    run_to_end(e);
    CHECK(cb.cached_tokens >= 32); /* at least a full block of 32 came from A */
    CHECK_INT_EQ(cb.n_tokens, max_tokens);
    check_tokens("shared prefix", b, nb, cb.tokens, max_tokens, NULL, 0);
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
    CHECK(c1.n_tokens == max_tokens && c2.n_tokens == max_tokens && c3.n_tokens == max_tokens);
    check_tokens("copy-on-write, first", p, n, c1.tokens, max_tokens, NULL, 0);
    check_tokens("copy-on-write, sharing the partial block", p, n, c2.tokens, max_tokens, NULL, 0);
    check_tokens("copy-on-write, all cached", p, n, c3.tokens, max_tokens, NULL, 0);
    CHECK_INT_EQ(c2.cached_tokens, n - 1);
    ax_serving_stats st;
    CHECK_OK(ax_serving_get_stats(e, &st));
    CHECK(st.copy_on_write >= 1);
    check_pool_empty(e);
    ax_serving_free(e);
}

/* A pool of exactly one request's blocks, and a request whose cached prefix includes the block it
 * writes first (the whole prompt cached, ending on a block boundary; or its cached partial last
 * block): that block is written in place, not copied, so the request fits. Its admission had counted
 * a copy of it, so it waited for ever, and so did every request behind it. */
static void test_cached_prefix_fits_a_pool_of_one(void) {
    char text[512];
    snprintf(text, sizeof text, "%s %s %s", k_prompts[3], k_prompts[2], k_prompts[1]);
    int32_t p[256];
    const int64_t n = tokenize(text, p, 256);
    CHECK(n >= 32);
    if (n < 32) return;
    for (int partial = 0; partial < 2; partial++) {
        /* A 32-token prompt (one full block), or 31 tokens (one partial block). */
        const int64_t np = partial ? 31 : 32;
        const int32_t max_tokens = (int32_t)(64 - np); /* prompt + max_tokens = n_ctx = 2 blocks */
        ax_serving_engine *e = new_engine(AX_SERVING_SPLITFUSE, 64, 2, 64, 8, 1);
        if (e == NULL) return;
        collected first = {0}, again = {0}, behind = {0};
        /* The first run caches the prompt's blocks (the partial one is registered once the prompt
         * is in, so a one-token run leaves it cached). */
        submit_tokens(e, p, np, partial ? 1 : max_tokens, &first);
        run_to_end(e);
        submit_tokens(e, p, np, max_tokens, &again);
        submit_tokens(e, p, 3, 2, &behind);
        run_to_end(e);
        CHECK_INT_EQ(again.finals, 1);
        CHECK_INT_EQ(again.n_tokens, max_tokens);
        CHECK_INT_EQ(again.cached_tokens, np - 1);
        check_tokens(partial ? "pool of one, cached partial block" : "pool of one, cached full block", p, np,
                     again.tokens, max_tokens, NULL, 0);
        CHECK_INT_EQ(behind.finals, 1);
        CHECK_INT_EQ(behind.n_tokens, 2);
        check_pool_empty(e);
        ax_serving_free(e);
    }
}

/* The last token of a request is sampled and returned, never run, so it has no K/V: a request whose
 * prompt + max_tokens is one block and one token fits a pool of one block (its reservation had
 * counted that token's row, a second block). Also capped by n_ctx; one token more is refused. */
static void test_last_token_needs_no_block(void) {
    int32_t p[256];
    const int64_t n = tokenize(k_prompts[0], p, 256);
    CHECK(n >= 3);
    if (n < 3) return;
    for (int capped = 0; capped < 2; capped++) {
        /* 3 + 30 = 33 tokens, 32 of them run: one block; capped: max_tokens 100, n_ctx 33 */
        const int32_t max_tokens = capped ? 100 : 30;
        ax_serving_engine *e = new_engine(AX_SERVING_SPLITFUSE, capped ? 33 : 64, 1, 64, 4, 0);
        if (e == NULL) return;
        collected a = {0}, b = {0};
        submit_tokens(e, p, 3, max_tokens, &a);
        submit_tokens(e, p, 3, max_tokens, &b); /* waits for a's block */
        run_to_end(e);
        CHECK_INT_EQ(a.finals, 1);
        CHECK_INT_EQ(a.finish, AX_SERVING_LENGTH);
        CHECK_INT_EQ(a.n_tokens, 30);
        check_tokens(capped ? "one block, capped by n_ctx" : "one block and one token", p, 3, a.tokens, 30, NULL, 0);
        CHECK_INT_EQ(b.finals, 1);
        CHECK_INT_EQ(b.n_tokens, 30);
        check_tokens("one block, second request", p, 3, b.tokens, 30, NULL, 0);
        check_pool_empty(e);
        if (!capped) {
            ax_serving_request r = AX_SERVING_REQUEST_INIT;
            r.tokens = p;
            r.n_tokens = 3;
            r.max_tokens = 31; /* 33 tokens run: two blocks */
            int64_t id = 0;
            CHECK_STATUS(ax_serving_submit(e, &r, &id), AX_ERR_INVALID_ARGUMENT);
            CHECK_CONTAINS(ax_last_error(), "33 tokens of KV need 2 blocks, the pool has 1");
        }
        ax_serving_free(e);
    }
}

/* Ten requests of 70 to 95 tokens each (3 blocks; two repeat others' prompts) in a pool of 6 blocks, under every policy. Reserving,
 * two run at once and nothing is preempted. Preempting, more are admitted than the pool can finish,
 * the latest-submitted ones are sent back and recomputed, and every request still gets the session's
 * tokens: greedy ones and a sampled one with penalties, whose draws are numbered per request. The
 * victim of the second preemption is cancelled while it waits: it ends once, with the tokens (the
 * session's) and the text it had. (The schedule has no timing in it: the same steps every run.) */
static void test_preemption(void) {
    enum { N = N_PROMPTS + 2 }; /* the last two repeat the first two prompts: shared blocks, copy-on-write */
    const int32_t max_tokens = 70;
    int32_t prompts[N][256];
    int64_t lens[N];
    for (int p = 0; p < N; p++) lens[p] = tokenize(k_prompts[p % N_PROMPTS], prompts[p], 256);
    ax_sampling_row sampled = AX_SAMPLING_ROW_INIT;
    sampled.temperature = 0.9f;
    sampled.top_k = 40;
    sampled.seed = 1234;
    sampled.repetition_penalty = 1.2f;
    for (int pol = 0; pol <= AX_SERVING_STATIC; pol++) {
        /* reserving, the contrast, under one policy */
        for (int preempt = pol == AX_SERVING_SPLITFUSE ? 0 : 1; preempt <= 1; preempt++) {
            ax_serving_engine *e = new_engine_preempting((ax_serving_policy)pol, 256, 6, 24, 8, 1, preempt);
            if (e == NULL) return;
            collected c[N];
            memset(c, 0, sizeof c);
            int64_t ids[N];
            for (int p = 0; p < N; p++) {
                ax_serving_request r = AX_SERVING_REQUEST_INIT;
                r.tokens = prompts[p];
                r.n_tokens = lens[p];
                r.max_tokens = max_tokens;
                r.ignore_eos = 1;
                r.callback = on_event;
                r.user = &c[p];
                if (p == 2) {
                    r.sampling = sampled;
                    r.penalty_last_n = 16;
                }
                CHECK_OK(ax_serving_submit(e, &r, &ids[p]));
            }
            int64_t peak = 0, preemptions = 0;
            int cancelled = -1;
            for (int guard = 0; guard < 100000; guard++) {
                int did = 0;
                if (ax_serving_step(e, &did) != AX_OK) TH_FAIL("step: %s", ax_last_error());
                if (kvb_check(e->pool) != 0) TH_FAIL("pool after a step: %s", ax_last_error());
                ax_serving_stats st;
                CHECK_OK(ax_serving_get_stats(e, &st));
                if (st.running > peak) peak = st.running;
                if (st.preemptions == 2 && preemptions == 1) {
                    /* the step's victim waits at the head of the queue */
                    for (int p = 0; p < N; p++)
                        if (e->n_waiting > 0 && e->waiting[0]->id == ids[p]) cancelled = p;
                    if (cancelled >= 0) CHECK_OK(ax_serving_cancel(e, ids[cancelled]));
                }
                preemptions = st.preemptions;
                if (!did) break;
            }
            char what[96];
            snprintf(what, sizeof what, "%s, %s", ax_serving_policy_name((ax_serving_policy)pol),
                     preempt ? "preempting" : "reserving");
            printf("%s: at most %lld running, %lld preemptions, request %d cancelled after one\n", what,
                   (long long)peak, (long long)preemptions, cancelled);
            th_checks++;
            if (preempt && (peak <= 2 || preemptions < 2 || cancelled < 0))
                TH_FAIL("%s: %lld running at most, %lld preemptions, victim %d; expected more than 2, at least 2 and "
                        "one", what, (long long)peak, (long long)preemptions, cancelled);
            if (!preempt) {
                CHECK_INT_EQ(peak, 2);
                CHECK_INT_EQ(preemptions, 0);
            }
            for (int p = 0; p < N; p++) {
                char which[128];
                snprintf(which, sizeof which, "%s, request %d", what, p);
                const int32_t want = p == cancelled ? (int32_t)c[p].n_tokens : max_tokens;
                CHECK_INT_EQ(c[p].finals, 1);
                CHECK_INT_EQ(c[p].finish, p == cancelled ? AX_SERVING_CANCELLED : AX_SERVING_LENGTH);
                CHECK_INT_EQ(c[p].n_tokens, want);
                CHECK_INT_EQ(c[p].prompt_tokens, lens[p]);
                CHECK_INT_EQ(c[p].completion_tokens, want);
                if (p == cancelled) CHECK(want > 0 && want < max_tokens);
                check_tokens(which, prompts[p], lens[p], c[p].tokens, want, p == 2 ? &sampled : NULL, p == 2 ? 16 : 0);
                check_text(&c[p]);
            }
            check_pool_empty(e);
            ax_serving_free(e);
        }
    }
}

/* max_queue counts requests that were never admitted: with max_queue 1, a request sent back by a
 * preemption waits at the head of the queue, and a new submission is still taken. */
static void test_preempted_do_not_fill_the_queue(void) {
    ax_serving_config cfg = AX_SERVING_CONFIG_INIT;
    cfg.n_ctx = 128;
    cfg.block_size = 32;
    cfg.num_blocks = 4; /* one context */
    cfg.max_batch_tokens = 32;
    cfg.max_queue = 1;
    cfg.preemption = 1;
    ax_serving_engine *e = NULL;
    CHECK_OK(ax_serving_create(g_model, &cfg, &e));
    if (e == NULL) return;
    int32_t prompts[3][256];
    int64_t lens[3];
    collected c[3];
    memset(c, 0, sizeof c);
    for (int p = 0; p < 3; p++) lens[p] = tokenize(k_prompts[p], prompts[p], 256);
    submit_tokens(e, prompts[0], lens[0], 90, &c[0]);
    int submitted = 1, busy_checked = 0;
    for (int guard = 0; guard < 100000; guard++) {
        int did = 0;
        if (ax_serving_step(e, &did) != AX_OK) TH_FAIL("step: %s", ax_last_error());
        ax_serving_stats st;
        CHECK_OK(ax_serving_get_stats(e, &st));
        if (submitted == 1 && st.waiting == 0) {
            submit_tokens(e, prompts[1], lens[1], 90, &c[1]);
            submitted = 2;
        }
        if (submitted == 2 && st.preemptions == 1 && st.waiting == 1) {
            submit_tokens(e, prompts[2], lens[2], 4, &c[2]); /* CHECK_OK inside: not AX_ERR_BUSY */
            submitted = 3;
            /* the queue now holds one request that was never admitted: the next is refused */
            ax_serving_request r = AX_SERVING_REQUEST_INIT;
            r.tokens = prompts[0];
            r.n_tokens = lens[0];
            int64_t id = 0;
            CHECK_STATUS(ax_serving_submit(e, &r, &id), AX_ERR_BUSY);
            CHECK_CONTAINS(ax_last_error(), "max_queue");
            busy_checked = 1;
        }
        if (!did && submitted > 1) break;
    }
    CHECK_INT_EQ(submitted, 3);
    CHECK(busy_checked);
    for (int p = 0; p < 3; p++) {
        CHECK_INT_EQ(c[p].finals, 1);
        CHECK_INT_EQ(c[p].finish, AX_SERVING_LENGTH);
        CHECK_INT_EQ(c[p].n_tokens, p == 2 ? 4 : 90);
        check_tokens("queue after a preemption", prompts[p], lens[p], c[p].tokens, (int32_t)c[p].n_tokens, NULL, 0);
    }
    check_pool_empty(e);
    ax_serving_free(e);
}

static void test_stop_conditions(void) {
    int32_t p[256];
    const int64_t n = tokenize(k_prompts[3], p, 256);
    const int32_t max_tokens = 24;
    ax_serving_engine *e = new_engine(AX_SERVING_SPLITFUSE, 256, 0, 32, 8, 0);
    if (e == NULL) return;
    /* The request without stop conditions, checked against the session: the runs below, alone in the
     * same engine as it was (the same steps, the same kernels), end inside these tokens. */
    collected c0 = {0};
    submit_tokens(e, p, n, max_tokens, &c0);
    run_to_end(e);
    CHECK_INT_EQ(c0.n_tokens, max_tokens);
    check_tokens("no stop condition", p, n, c0.tokens, max_tokens, NULL, 0);
    const int32_t *full = c0.tokens;
    char full_text[4096];
    size_t full_len = 0, head_len = 0;
    CHECK_OK(ax_llm_detokenize(g_model, full, max_tokens, AX_LLM_DETOKENIZE_SKIP_SPECIAL, full_text, sizeof full_text,
                               &full_len));
    CHECK(full_len > 20);
    CHECK(valid_utf8(full_text, full_len)); /* else the engine's text holds U+FFFD where these bytes do not */
    /* the text of the first 3/4 of the tokens: a stop string inside it ends the request early */
    char head[4096];
    CHECK_OK(ax_llm_detokenize(g_model, full, max_tokens * 3 / 4, AX_LLM_DETOKENIZE_SKIP_SPECIAL, head, sizeof head,
                               &head_len));
    CHECK(head_len <= full_len && memcmp(head, full_text, head_len) == 0);

    /* a stop string from the middle of that text, on character boundaries: the text ends right before
     * its first occurrence */
    size_t from = head_len / 2, to;
    while (from > 0 && ((unsigned char)full_text[from] & 0xC0) == 0x80) from--;
    for (to = from + 5; to < head_len && ((unsigned char)full_text[to] & 0xC0) == 0x80;) to++;
    CHECK(to <= head_len && to - from < 16);
    char stop[16] = {0};
    if (to <= head_len && to - from < 16) memcpy(stop, full_text + from, to - from);
    CHECK(strlen(stop) == to - from); /* no NUL inside */
    const char *found = strstr(full_text, stop);
    const size_t stop_at = found != NULL ? (size_t)(found - full_text) : 0;
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
    CHECK(c.n_tokens <= max_tokens * 3 / 4);

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

    /* a full context: n_ctx 40 leaves 40 - n tokens to generate */
    ax_serving_free(e);
    e = new_engine(AX_SERVING_PREFILL_FIRST, 40, 0, 32, 8, 0);
    if (e == NULL) return;
    collected c3 = {0};
    submit_tokens(e, p, n, 1000, &c3);
    run_to_end(e);
    CHECK_INT_EQ(c3.finish, AX_SERVING_LENGTH);
    CHECK_INT_EQ(c3.n_tokens, 40 - n);
    check_tokens("a full context", p, n, c3.tokens, (int32_t)(40 - n), NULL, 0);
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
    cfg = (ax_serving_config)AX_SERVING_CONFIG_INIT;
    cfg.preemption = 2;
    CHECK_STATUS(ax_serving_create(g_model, &cfg, &e), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "cfg->preemption: 2");
    CHECK(e == NULL);
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
    CHECK_INT_EQ(got.max_batch_tokens, g_cuda ? 2048 : 64);
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
    r.max_tokens = 60; /* with the prompt, capped at n_ctx 64: 2 blocks of the pool's 3 */
    r.sampling.temperature = -1.0f;
    CHECK_STATUS(ax_serving_submit(e, &r, &id), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "temperature");
    r.sampling.temperature = 0.0f;
    const char *stops[1] = {""};
    r.stop = stops;
    r.n_stop = 1;
    CHECK_STATUS(ax_serving_submit(e, &r, &id), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "request->stop[0]");
    const char *bad_stops[2] = {"ok", "\x80x"}; /* a stray continuation byte could split a character */
    r.stop = bad_stops;
    r.n_stop = 2;
    CHECK_STATUS(ax_serving_submit(e, &r, &id), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "request->stop[1]: not valid UTF-8");
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

/* Repetition, frequency and presence penalties: the only requests whose histories go to the device
 * (src/serving/forward.c uploads them when a step has one). Two penalized requests and one without
 * in one batch (an empty history range between two others), each against the session with the same
 * settings; and the penalties must change the greedy tokens, or this would check nothing. */
static void test_penalties(void) {
    const int32_t max_tokens = 16;
    int32_t prompts[3][256];
    int64_t lens[3];
    const int which[3] = {0, 3, 5};
    for (int i = 0; i < 3; i++) lens[i] = tokenize(k_prompts[which[i]], prompts[i], 256);
    ax_sampling_row set[3];
    const int32_t last_n[3] = {16, 0, 64};
    for (int i = 0; i < 3; i++) {
        const ax_serving_request init = AX_SERVING_REQUEST_INIT;
        set[i] = init.sampling;
    }
    set[0].repetition_penalty = 1.5f;
    set[0].frequency_penalty = 0.5f;
    set[0].presence_penalty = 0.25f;
    set[2].repetition_penalty = 1.3f;
    ax_serving_engine *e = new_engine(AX_SERVING_SPLITFUSE, 256, 0, 32, 8, 1);
    if (e == NULL) return;
    collected c[3];
    memset(c, 0, sizeof c);
    for (int i = 0; i < 3; i++) {
        ax_serving_request r = AX_SERVING_REQUEST_INIT;
        r.tokens = prompts[i];
        r.n_tokens = lens[i];
        r.max_tokens = max_tokens;
        r.ignore_eos = 1;
        r.sampling = set[i];
        r.penalty_last_n = last_n[i];
        r.callback = on_event;
        r.user = &c[i];
        int64_t id;
        CHECK_OK(ax_serving_submit(e, &r, &id));
    }
    run_to_end(e);
    for (int i = 0; i < 3; i++) {
        CHECK_INT_EQ(c[i].finish, AX_SERVING_LENGTH);
        CHECK_INT_EQ(c[i].n_tokens, max_tokens);
        char what[64];
        snprintf(what, sizeof what, "penalties, request %d", i);
        check_tokens(what, prompts[i], lens[i], c[i].tokens, max_tokens, &set[i], last_n[i]);
    }
    for (int i = 0; i < 3; i += 2) {
        int32_t plain[64];
        session_tokens(prompts[i], lens[i], max_tokens, NULL, 0, plain);
        th_checks++;
        if (memcmp(plain, c[i].tokens, (size_t)max_tokens * sizeof(int32_t)) == 0)
            TH_FAIL("penalties, request %d: the same tokens as without penalties (choose stronger ones)", i);
    }
    check_pool_empty(e);
    ax_serving_free(e);
}

/* penalty_generated_only (OpenAI's presence and frequency penalties, as axial serve sends them): the
 * history is the generated tokens only. Against the session fed the engine's tokens, with the
 * penalties applied over those tokens alone on the host and the greedy choice taken (CUDA: within a
 * near tie); over the prompt as well (as before the option) the tokens differ. */
static void test_penalties_generated_only(void) {
    const int32_t max_tokens = 16;
    int32_t prompt[256];
    /* a chat turn: counted in the history, the prompt's own end-of-turn token is pushed down, and the
     * reply runs past where it ends (axial serve's chat replies had run to max_tokens) */
    int64_t n = 0;
    static const char chat[] = "<|im_start|>user\nSay just the word yes.<|im_end|>\n<|im_start|>assistant\n";
    CHECK_OK(ax_llm_tokenize(g_model, chat, strlen(chat), AX_LLM_TOKENIZE_PARSE_SPECIAL, prompt, 256, &n));
    ax_sampling_row set = ((ax_serving_request)AX_SERVING_REQUEST_INIT).sampling;
    set.presence_penalty = 1.0f;
    set.frequency_penalty = 1.0f;
    ax_serving_engine *e = new_engine(AX_SERVING_SPLITFUSE, 256, 0, 32, 8, 1);
    if (e == NULL) return;
    collected c[2];
    memset(c, 0, sizeof c);
    for (int only = 0; only < 2; only++) {
        ax_serving_request r = AX_SERVING_REQUEST_INIT;
        r.tokens = prompt;
        r.n_tokens = n;
        r.max_tokens = max_tokens;
        r.ignore_eos = 1;
        r.sampling = set;
        r.penalty_last_n = 256;
        r.penalty_generated_only = only;
        r.callback = on_event;
        r.user = &c[only];
        int64_t id;
        CHECK_OK(ax_serving_submit(e, &r, &id));
    }
    run_to_end(e);
    check_pool_empty(e);
    ax_serving_free(e);
    const collected *got = &c[1];
    CHECK_INT_EQ(got->n_tokens, max_tokens);
    if (got->n_tokens != max_tokens) return;
    th_checks++;
    if (memcmp(c[0].tokens, got->tokens, (size_t)max_tokens * sizeof(int32_t)) == 0)
        TH_FAIL("penalties over generated tokens only: the same tokens as over the prompt too");
    const int64_t V = g_info.n_vocab;
    float *w = malloc((size_t)V * sizeof *w);
    ax_llm_session *s = NULL;
    CHECK_OK(ax_llm_session_create(g_model, NULL, &s));
    if (w != NULL && s != NULL) CHECK_OK(ax_llm_session_eval(s, prompt, n, 0));
    for (int32_t i = 0; i < max_tokens && w != NULL && s != NULL; i++) {
        const float *logits = ax_llm_session_logits(s, -1);
        if (logits == NULL) break;
        memcpy(w, logits, (size_t)V * sizeof *w);
        apply_penalties(w, got->tokens, i, &set);
        int32_t best = 0;
        for (int32_t t = 1; t < V; t++)
            if (w[t] > w[best]) best = t;
        th_checks++;
        const double gap = (double)w[best] - (double)w[got->tokens[i]];
        if (g_cuda ? !(gap <= K_NEAR_TIE) : got->tokens[i] != best) {
            TH_FAIL("penalties over generated tokens only: token %d is %d, the reference's %d (%.4g below)", i,
                    got->tokens[i], best, gap);
            break;
        }
        if (i + 1 < max_tokens) CHECK_OK(ax_llm_session_eval(s, &got->tokens[i], 1, 0));
    }
    ax_llm_session_free(s);
    free(w);
}

/* CUDA: the engine with every default (cfg NULL): CUDA's pool of 32 full contexts and budget of 2048
 * rows, so eight prompts are prefilled in one step and decode together. */
static void test_cuda_defaults(void) {
    ax_serving_engine *e = NULL;
    CHECK_OK(ax_serving_create(g_model, NULL, &e));
    if (e == NULL) return;
    ax_serving_config got;
    CHECK_OK(ax_serving_get_config(e, &got));
    const int32_t n_ctx = g_info.n_ctx_train < 4096 ? g_info.n_ctx_train : 4096;
    CHECK_INT_EQ(got.n_ctx, n_ctx);
    CHECK_INT_EQ(got.block_size, 32);
    CHECK_INT_EQ(got.num_blocks, 32 * ((n_ctx + 31) / 32));
    CHECK_INT_EQ(got.max_batch_tokens, 2048);
    CHECK_INT_EQ(got.max_running, 64);
    int32_t prompts[N_PROMPTS][256];
    int64_t lens[N_PROMPTS];
    collected c[N_PROMPTS];
    memset(c, 0, sizeof c);
    for (int p = 0; p < N_PROMPTS; p++) {
        lens[p] = tokenize(k_prompts[p], prompts[p], 256);
        submit_tokens(e, prompts[p], lens[p], 8 + p, &c[p]);
    }
    int did = 0;
    CHECK_OK(ax_serving_step(e, &did));
    ax_serving_stats st;
    CHECK_OK(ax_serving_get_stats(e, &st));
    CHECK_INT_EQ(st.running, N_PROMPTS); /* every prompt in the first step */
    run_to_end(e);
    for (int p = 0; p < N_PROMPTS; p++) {
        CHECK_INT_EQ(c[p].finals, 1);
        CHECK_INT_EQ(c[p].n_tokens, 8 + p);
        char what[64];
        snprintf(what, sizeof what, "defaults, prompt %d", p);
        check_tokens(what, prompts[p], lens[p], c[p].tokens, 8 + p, NULL, 0);
    }
    check_pool_empty(e);
    ax_serving_free(e);
}

/* CUDA: a pool the device cannot hold is AX_ERR_OUT_OF_MEMORY and leaves nothing behind (the next
 * engine runs); freeing an engine whose sequences hold device blocks ends each of them once. */
static void test_device_errors(void) {
    char name[256];
    int64_t device_bytes = 0;
    CHECK_OK(ax_cuda_device_info(0, name, sizeof name, &device_bytes));
    /* K and V of every layer: the pool is twice the device's memory (and small on the host, whose
     * bookkeeping is a few dozen bytes a block) */
    const int64_t block_bytes = 2LL * g_info.n_layer * 32 * g_info.n_head_kv * g_info.head_dim * (int64_t)sizeof(float);
    ax_serving_config cfg = AX_SERVING_CONFIG_INIT;
    cfg.n_ctx = 256;
    cfg.num_blocks = 2 * (device_bytes / block_bytes) + 1;
    if (cfg.num_blocks > INT32_MAX / 32) cfg.num_blocks = INT32_MAX / 32;
    printf("%s: %.1f GiB; a pool of %lld blocks of %lld bytes\n", name, (double)device_bytes / (1 << 30),
           (long long)cfg.num_blocks, (long long)block_bytes);
    ax_serving_engine *e = NULL;
    CHECK_STATUS(ax_serving_create(g_model, &cfg, &e), AX_ERR_OUT_OF_MEMORY);
    CHECK_CONTAINS(ax_last_error(), "cudaMalloc");
    CHECK(e == NULL);
    ax_serving_free(e);

    int32_t p[256];
    const int64_t n = tokenize(k_prompts[1], p, 256);
    e = new_engine(AX_SERVING_SPLITFUSE, 256, 0, 16, 8, 1);
    if (e == NULL) return;
    collected a = {0};
    submit_tokens(e, p, n, 6, &a);
    run_to_end(e);
    CHECK_INT_EQ(a.n_tokens, 6);
    check_tokens("after an out-of-memory pool", p, n, a.tokens, 6, NULL, 0);

    /* two running (prefilled, one decoding), one waiting behind the budget, then free */
    collected c[3];
    memset(c, 0, sizeof c);
    for (int i = 0; i < 3; i++) submit_tokens(e, p, n, 50, &c[i]);
    for (int i = 0; i < 3; i++) {
        int did = 0;
        CHECK_OK(ax_serving_step(e, &did));
    }
    ax_serving_stats st;
    CHECK_OK(ax_serving_get_stats(e, &st));
    CHECK(st.blocks_used > 0);
    ax_serving_free(e);
    for (int i = 0; i < 3; i++) {
        CHECK_INT_EQ(c[i].finals, 1);
        CHECK_INT_EQ(c[i].finish, AX_SERVING_CANCELLED);
    }
}

/* ---- 1,000 mixed requests (200 on CUDA) ---- */

static void test_reliability(void) {
    th_seed(20261203);
    /* On CUDA the schedule's bookkeeping is the CPU run's; what is new there (copy-on-write through the
     * host, every step's uploads) shows in far fewer requests. */
    const int N = g_cuda ? 200 : 1000;
    collected *c = calloc(N, sizeof *c);
    int64_t *ids = calloc(N, sizeof *ids);
    if (c == NULL || ids == NULL) return;
    int32_t base[64];
    for (int i = 0; i < 64; i++) base[i] = 300 + (int32_t)(th_rand_u64() % 20000);
    int submitted = 0, cancels = 0;
    int64_t preemptions = 0;
    for (int round = 0; round < 6; round++) {
        /* a small pool and budget: requests wait, share blocks, and get cancelled at any point; in the
         * last three rounds (preempting) a pool of 4 blocks (a context is 3) that they outgrow */
        const int preempt = round >= 3;
        ax_serving_engine *e =
            new_engine_preempting((ax_serving_policy)(round % 3), 96, preempt ? 4 : 24, 48, 12, 1, preempt);
        if (e == NULL) break;
        const int end = round == 5 ? N : (round + 1) * N / 6;
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
                /* preempting: long enough to outgrow the block of room admission leaves each */
                r.max_tokens = 1 + (int32_t)(th_rand_u64() % (preempt ? 56 : 12));
                r.callback = on_event;
                r.user = &c[next];
                const int kind = (int)(th_rand_u64() % 4);
                int32_t stop_tok[3] = {(int32_t)(th_rand_u64() % (uint64_t)g_info.n_vocab), 13, 11};
                /* "," too: a derived 2-block model writes little but ", and" */
                const char *stops[3] = {"e", " the", ","};
                if (kind == 1) {
                    r.stop_tokens = stop_tok;
                    r.n_stop_tokens = 3;
                } else if (kind == 2) {
                    r.stop = stops;
                    r.n_stop = 3;
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
        if (!preempt) CHECK_INT_EQ(st.preemptions, 0);
        preemptions += st.preemptions;
        ax_serving_free(e);
    }
    th_checks++;
    if (preemptions == 0) TH_FAIL("the preempting rounds never preempted");
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
    CHECK(cancelled > N / 50 && stopped > N / 50 && length > N / 50);
    printf("reliability: %d requests, %d cancel calls, %d cancelled, %d stopped, %d length, %lld preemptions\n", N,
           cancels, cancelled, stopped, length, (long long)preemptions);
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
        char what[64];
        snprintf(what, sizeof what, "background loop, prompt %d", i);
        check_tokens(what, p[i].prompt, p[i].n, p[i].tokens, 8, NULL, 0);
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

/* Starts and stops from several threads at once: two stops both wait for the one join (two joins of
 * one thread are undefined), and a start during a stop waits for it and then starts a thread, so
 * after every round the engine either runs (a start came last) or not, and a request submitted then
 * finishes either way. */
static void *stop_thread(void *arg) {
    ax_serving_stop((ax_serving_engine *)arg);
    return NULL;
}

static void *start_thread(void *arg) {
    if (ax_serving_start((ax_serving_engine *)arg) != AX_OK) TH_FAIL("start: %s", ax_last_error());
    return NULL;
}

static void test_start_stop_races(void) {
    ax_serving_engine *e = new_engine(AX_SERVING_SPLITFUSE, 128, 0, 32, 4, 1);
    if (e == NULL) return;
    for (int round = 0; round < 200; round++) {
        CHECK_OK(ax_serving_start(e));
        pthread_t t[3];
        pthread_create(&t[0], NULL, stop_thread, e);
        pthread_create(&t[1], NULL, stop_thread, e);
        pthread_create(&t[2], NULL, round % 2 ? start_thread : stop_thread, e);
        for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
    }
    /* whatever the last round left, a request finishes: in the loop, or stepped here after a stop */
    collected c = {0};
    int32_t prompt[4] = {504, 3575, 282, 4649};
    const int64_t id = submit_tokens(e, prompt, 4, 2, &c);
    (void)id;
    ax_serving_stop(e);
    run_to_end(e);
    CHECK_INT_EQ(c.finals, 1);
    CHECK_INT_EQ(c.finish, AX_SERVING_LENGTH);
    th_checks++;
    if (e->thread_running || e->joining) TH_FAIL("after stop: thread_running %d joining %d", e->thread_running,
                                                 e->joining);
    check_pool_empty(e);
    ax_serving_free(e);
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

/* A cancelled poll request whose final event a poller takes (and frees the request with its next
 * poll) while the step that cancelled it still runs another request's prefill: the step must not
 * touch the request after releasing its lock (ASan in the test command checks; the poller spins with
 * timeout 0, as an asyncio loop does, so it takes the event during the forward). */
typedef struct cancel_poller {
    ax_serving_engine *e;
    int64_t id;
    volatile int go, ok;
} cancel_poller;

static void *cancel_poll_thread(void *arg) {
    cancel_poller *p = arg;
    while (!__atomic_load_n(&p->go, __ATOMIC_ACQUIRE)) {}
    ax_serving_event ev;
    do {
        if (ax_serving_poll(p->e, p->id, 0, &ev) != AX_OK) return NULL;
    } while (ev.finish == AX_SERVING_RUNNING);
    /* the final event was taken: the next poll frees the request and reports an unknown id */
    p->ok = ev.finish == AX_SERVING_CANCELLED && ax_serving_poll(p->e, p->id, 0, &ev) == AX_ERR_INVALID_ARGUMENT;
    return NULL;
}

static void test_poll_cancelled_during_forward(void) {
    ax_serving_engine *e = new_engine(AX_SERVING_SPLITFUSE, 256, 0, 64, 8, 0);
    if (e == NULL) return;
    int32_t prompt[64];
    for (int i = 0; i < 64; i++) prompt[i] = 100 + 7 * i;
    for (int round = 0; round < 3; round++) {
        ax_serving_request r = AX_SERVING_REQUEST_INIT;
        r.tokens = prompt;
        r.n_tokens = 8;
        r.max_tokens = 4;
        cancel_poller p = {e, 0, 0, 0};
        int64_t other;
        CHECK_OK(ax_serving_submit(e, &r, &p.id));
        r.n_tokens = 64;
        CHECK_OK(ax_serving_submit(e, &r, &other));
        CHECK_OK(ax_serving_cancel(e, p.id));
        pthread_t t;
        pthread_create(&t, NULL, cancel_poll_thread, &p);
        __atomic_store_n(&p.go, 1, __ATOMIC_RELEASE);
        int did = 0;
        CHECK_OK(ax_serving_step(e, &did)); /* cancels p.id, then the 64-token prefill */
        CHECK(did);
        pthread_join(t, NULL);
        CHECK(p.ok);
        CHECK_OK(ax_serving_cancel(e, other));
        run_to_end(e);
        ax_serving_event ev;
        do {
            CHECK_OK(ax_serving_poll(e, other, 0, &ev));
        } while (ev.finish == AX_SERVING_RUNNING);
        CHECK_STATUS(ax_serving_poll(e, other, 0, &ev), AX_ERR_INVALID_ARGUMENT);
    }
    check_pool_empty(e);
    ax_serving_free(e);
}

/* The model: --model, else on CUDA $AXIAL_GPU_MODEL or the 2-block file scripts/gpu-model.sh writes
 * (a GPU machine gets the working tree, which cannot carry the 98 MB model), else model_path.h's. */
static int find_model(const char *given, char *path, size_t cap) {
    if (given != NULL) {
        snprintf(path, cap, "%s", given);
        return 1;
    }
    if (g_cuda) {
        const char *env = getenv("AXIAL_GPU_MODEL");
        if (env != NULL && env[0] != '\0') {
            snprintf(path, cap, "%s", env);
            return 1;
        }
        snprintf(path, cap, "%s", AXIAL_TEST_DATA "/../../.gpu-model/smollm2-2blk.gguf");
        FILE *f = fopen(path, "rb");
        if (f != NULL) {
            fclose(f);
            return 1;
        }
    }
    return th_model_path(path, cap);
}

static void skip_on_cuda(const char *name, const char *why) { printf("skip %s on CUDA: %s\n", name, why); }

int main(int argc, char **argv) {
    const char *model_arg = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--device") == 0 && i + 1 < argc && strcmp(argv[i + 1], "cpu") == 0) {
            g_cuda = 0;
            i++;
        } else if (strcmp(argv[i], "--device") == 0 && i + 1 < argc && strcmp(argv[i + 1], "cuda") == 0) {
            g_cuda = 1;
            i++;
        } else if (strcmp(argv[i], "--model") == 0 && i + 1 < argc) {
            model_arg = argv[++i];
        } else {
            fprintf(stderr, "usage: %s [--device cpu|cuda] [--model PATH]\n", argv[0]);
            return 2;
        }
    }
    if (g_cuda && ax_cuda_device_count() < 1) {
        printf("SKIP: --device cuda but no CUDA device is usable (ax_cuda_device_count() = %d: a build without "
               "AXIAL_CUDA, no driver or no GPU)\n", ax_cuda_device_count());
        return 77;
    }
    char path[4096];
    if (!find_model(model_arg, path, sizeof path)) return 77;
    ax_llm_model_config mc = AX_LLM_MODEL_CONFIG_INIT;
    mc.num_threads = 2;
    if (g_cuda) mc.device = (ax_device){AX_CUDA, 0};
    if (ax_llm_model_load(path, &mc, &g_model) != AX_OK) {
        fprintf(stderr, "FAIL: loading %s: %s\n", path, ax_last_error());
        return 1;
    }
    CHECK_OK(ax_llm_model_get_info(g_model, &g_info));
    printf("device %s, model %s (%d blocks)\n", g_cuda ? "cuda:0" : "cpu", path, g_info.n_layer);
    RUN(test_errors);
    RUN(test_matches_session);
    RUN(test_penalties);
    RUN(test_penalties_generated_only);
    RUN(test_stop_conditions);
    RUN(test_preemption);
    RUN(test_preempted_do_not_fill_the_queue);
    RUN(test_copy_on_write);
    RUN(test_cached_prefix_fits_a_pool_of_one);
    RUN(test_last_token_needs_no_block);
    RUN(test_batch_invariance);
    RUN(test_background_loop);
    RUN(test_start_stop_races);
    if (g_cuda) {
        RUN(test_cuda_defaults);
        RUN(test_device_errors);
        skip_on_cuda("test_poll_beside_slow_callback", "a race between host threads, with no device work of its "
                                                       "own; the CPU run (under ASan in CI) covers it");
        skip_on_cuda("test_poll_cancelled_during_forward", "the same");
    } else {
        RUN(test_poll_beside_slow_callback);
        RUN(test_poll_cancelled_during_forward);
    }
    RUN(test_reliability);
    printf("token sequences against the session: %d equal%s", g_exact, g_cuda ? "" : "\n");
    if (g_cuda)
        printf(", %d different only at near ties (largest gap %.3g; CUDA's matmul rounds a row by the step's "
               "row count)\n", g_near_ties, g_largest_tie_gap);
    ax_llm_model_free(g_model);
    return th_finish();
}
