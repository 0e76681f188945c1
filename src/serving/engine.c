/*
 * engine.c — the serving engine's public face (serving.h): configuration, the thread-safe request
 * registry and waiting queue, the step (schedule, forward, sample, stop conditions, events), the
 * background loop, polling and statistics.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "core/internal.h"
#include "core/utf8.h"
#include "serving/engine_internal.h"

double srv_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

const char *ax_serving_policy_name(ax_serving_policy policy) {
    switch (policy) {
    case AX_SERVING_SPLITFUSE: return "splitfuse";
    case AX_SERVING_PREFILL_FIRST: return "prefill-first";
    case AX_SERVING_STATIC: return "static";
    }
    return NULL;
}

ax_status ax_serving_policy_parse(const char *name, ax_serving_policy *out) {
    if (out == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "out: NULL");
    for (int p = 0; p <= AX_SERVING_STATIC; p++) {
        if (name != NULL && strcmp(name, ax_serving_policy_name((ax_serving_policy)p)) == 0) {
            *out = (ax_serving_policy)p;
            return AX_OK;
        }
    }
    return ax_set_error(AX_ERR_INVALID_ARGUMENT, "policy: \"%s\", expected splitfuse, prefill-first or static",
                        name != NULL ? name : "(null)");
}

const char *ax_serving_finish_name(ax_serving_finish reason) {
    switch (reason) {
    case AX_SERVING_RUNNING: return "running";
    case AX_SERVING_STOP: return "stop";
    case AX_SERVING_LENGTH: return "length";
    case AX_SERVING_CANCELLED: return "cancelled";
    case AX_SERVING_ERROR: return "error";
    }
    return "unknown";
}

/* ---- growable pointer arrays (under mu) ---- */

static ax_status ptrs_push(srv_seq ***arr, int64_t *n, int64_t *cap, srv_seq *s) {
    if (*n == *cap) {
        const int64_t c = *cap ? 2 * *cap : 64;
        srv_seq **p = realloc(*arr, (size_t)c * sizeof *p);
        if (p == NULL) return ax_set_error(AX_ERR_OUT_OF_MEMORY, "engine: request table of %lld", (long long)c);
        *arr = p;
        *cap = c;
    }
    (*arr)[(*n)++] = s;
    return AX_OK;
}

static void ptrs_remove(srv_seq **arr, int64_t *n, const srv_seq *s) {
    for (int64_t i = 0; i < *n; i++) {
        if (arr[i] == s) {
            memmove(arr + i, arr + i + 1, (size_t)(*n - i - 1) * sizeof *arr);
            (*n)--;
            return;
        }
    }
}

static srv_seq *find_seq(ax_serving_engine *e, int64_t id) {
    for (int64_t i = 0; i < e->n_all; i++)
        if (e->all[i]->id == id) return e->all[i];
    return NULL;
}

static void seq_free(srv_seq *s) {
    if (s == NULL) return;
    free(s->tokens);
    free(s->stop_tokens);
    for (int32_t i = 0; i < s->n_stop; i++) free(s->stop[i]);
    free(s->blocks);
    srv_text_free(&s->text);
    free(s->new_tokens);
    free(s->error);
    free(s->poll_tokens);
    free(s->poll_text);
    free(s->given_tokens);
    free(s->given_text);
    free(s);
}

/* ---- create / free ---- */

static ax_status check_config(const ax_llm_model *model, ax_serving_config *c) {
    const ax_llm_model_info *in = &model->info;
    const int cuda = model->device.type != AX_CPU;
    if ((int)c->policy < 0 || c->policy > AX_SERVING_STATIC)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "cfg->policy: %d, expected 0..2", (int)c->policy);
    if (c->n_ctx <= 0) c->n_ctx = in->n_ctx_train < 4096 ? in->n_ctx_train : 4096;
    if (c->block_size <= 0) c->block_size = AX_SERVING_BLOCK_SIZE_DEFAULT;
    if (c->block_size < AX_SERVING_BLOCK_SIZE_MIN || c->block_size > AX_SERVING_BLOCK_SIZE_MAX)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "cfg->block_size: %d, expected %d..%d", c->block_size,
                            AX_SERVING_BLOCK_SIZE_MIN, AX_SERVING_BLOCK_SIZE_MAX);
    const int64_t per_ctx = ((int64_t)c->n_ctx + c->block_size - 1) / c->block_size;
    if (c->num_blocks <= 0) c->num_blocks = (cuda ? 32 : 8) * per_ctx;
    if (c->num_blocks > INT32_MAX / c->block_size)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "cfg->num_blocks: %lld blocks of %d slots exceed 2^31 slots",
                            (long long)c->num_blocks, c->block_size);
    if (c->max_batch_tokens <= 0) c->max_batch_tokens = cuda ? 2048 : 64;
    if (c->max_running <= 0) c->max_running = 64;
    if (c->max_running > AX_SERVING_MAX_RUNNING_LIMIT)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "cfg->max_running: %d, expected at most %d", c->max_running,
                            AX_SERVING_MAX_RUNNING_LIMIT);
    if (c->max_batch_tokens > AX_SERVING_MAX_BATCH_TOKENS_LIMIT)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "cfg->max_batch_tokens: %d, expected at most %d",
                            c->max_batch_tokens, AX_SERVING_MAX_BATCH_TOKENS_LIMIT);
    /* Every running sequence decodes in every step: no more of them than the step has rows. */
    if (c->max_running > c->max_batch_tokens) c->max_running = c->max_batch_tokens;
    if (c->max_queue <= 0) c->max_queue = 1024;
    if (c->max_queue > AX_SERVING_MAX_QUEUE_LIMIT)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "cfg->max_queue: %d, expected at most 2^20", c->max_queue);
    if (c->static_batch <= 0 || c->static_batch > c->max_running) c->static_batch = c->max_running;
    if (c->prefix_sharing != 0 && c->prefix_sharing != 1)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "cfg->prefix_sharing: %d, expected 0 or 1", c->prefix_sharing);
    if (c->preemption != 0 && c->preemption != 1)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "cfg->preemption: %d, expected 0 (reserve) or 1 (preempt)",
                            c->preemption);
    return AX_OK;
}

ax_status ax_serving_create(ax_llm_model *model, const ax_serving_config *cfg, ax_serving_engine **out) {
    if (out == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "out: NULL");
    *out = NULL;
    if (model == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "model: NULL");
    ax_serving_config c = AX_SERVING_CONFIG_INIT;
    if (cfg != NULL) {
        if (cfg->struct_size < sizeof c)
            return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                                "cfg->struct_size: %zu, expected %zu (use AX_SERVING_CONFIG_INIT)", cfg->struct_size,
                                sizeof c);
        c = *cfg;
        c.struct_size = sizeof c;
    }
    AX_CHECK(check_config(model, &c));

    ax_serving_engine *e = calloc(1, sizeof *e);
    if (e == NULL) return ax_set_error(AX_ERR_OUT_OF_MEMORY, "engine: %zu bytes", sizeof *e);
    e->model = model;
    e->cfg = c;
    e->n_ctx = c.n_ctx;
    e->block_size = c.block_size;
    e->num_blocks = c.num_blocks;
    e->budget = c.max_batch_tokens;
    e->max_running = c.max_running;
    e->max_queue = c.max_queue;
    e->static_batch = c.static_batch;
    e->max_blocks_per_seq = (e->n_ctx + e->block_size - 1) / e->block_size;
    e->next_id = 1;
    e->stats.blocks_total = e->num_blocks;
    e->stats.block_size = e->block_size;
    pthread_mutex_init(&e->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&e->work_cv, &ca);
    pthread_cond_init(&e->poll_cv, &ca);
    pthread_cond_init(&e->joined_cv, &ca);
    pthread_condattr_destroy(&ca);

    ax_status st;
    ax_context_config cc = AX_CONTEXT_CONFIG_INIT;
    cc.device = model->device;
    cc.num_threads = model->num_threads;
    AX_CHECK_GOTO(ax_context_create(&e->ctx, &cc), st, fail);
    AX_CHECK_GOTO(kvb_create(e->num_blocks, (int32_t)e->block_size, &e->pool), st, fail);
    e->running = calloc((size_t)e->max_running, sizeof *e->running);
    e->plan = calloc((size_t)e->max_running, sizeof *e->plan);
    e->done = calloc((size_t)(e->max_running + e->max_queue), sizeof *e->done);
    /* The queue holds max_queue submissions and, with preemption, up to max_running sequences sent
     * back: room for all of them now, so that a preemption never needs memory. */
    e->cap_waiting = e->max_running + e->max_queue;
    e->waiting = malloc((size_t)e->cap_waiting * sizeof *e->waiting);
    if (e->running == NULL || e->plan == NULL || e->done == NULL || e->waiting == NULL) {
        st = ax_set_error(AX_ERR_OUT_OF_MEMORY, "engine: tables of %lld sequences", (long long)e->max_running);
        goto fail;
    }
    AX_CHECK_GOTO(srv_forward_alloc(e), st, fail);
    *out = e;
    return AX_OK;
fail:
    ax_serving_free(e);
    return st;
}

ax_status ax_serving_get_config(const ax_serving_engine *engine, ax_serving_config *out) {
    if (engine == NULL || out == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: NULL", engine ? "out" : "engine");
    *out = engine->cfg;
    return AX_OK;
}

/* ---- submit ---- */

static ax_status copy_request(ax_serving_engine *e, const ax_serving_request *r, srv_seq *s) {
    const ax_llm_model *m = e->model;
    const int64_t V = m->info.n_vocab;
    /* The prompt, tokenized into a buffer of n_ctx ids: longer prompts are refused by length. */
    int64_t n = 0;
    int32_t *ids = malloc((size_t)e->n_ctx * sizeof *ids);
    if (ids == NULL) return ax_set_error(AX_ERR_OUT_OF_MEMORY, "prompt: %lld ids", (long long)e->n_ctx);
    s->tokens = ids;
    if (r->prompt != NULL) {
        const ax_status st = ax_llm_tokenize(m, r->prompt, r->prompt_len,
                                             AX_LLM_TOKENIZE_ADD_SPECIAL | AX_LLM_TOKENIZE_PARSE_SPECIAL, ids, e->n_ctx,
                                             &n);
        if (st != AX_OK && n <= e->n_ctx) return st;
    } else {
        if (r->tokens == NULL && r->n_tokens > 0) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "request->tokens: NULL");
        n = r->n_tokens;
        if (n < 0) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "request->n_tokens: %lld", (long long)n);
        for (int64_t i = 0; i < n && i < e->n_ctx; i++) {
            if (r->tokens[i] < 0 || r->tokens[i] >= V)
                return ax_set_error(AX_ERR_INVALID_ARGUMENT, "request->tokens[%lld]: id %d, expected an id in [0, %lld)",
                                    (long long)i, r->tokens[i], (long long)V);
            ids[i] = r->tokens[i];
        }
    }
    if (n == 0) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "prompt: empty (no tokens)");
    if (n >= e->n_ctx)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                            "prompt: %lld tokens, the context holds %lld (no room to generate)", (long long)n,
                            (long long)e->n_ctx);
    s->n_prompt = s->n_total = s->n_prefill = n;
    if (r->max_tokens < 1)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "request->max_tokens: %d, expected at least 1", r->max_tokens);
    s->max_total = n + r->max_tokens < e->n_ctx ? n + r->max_tokens : e->n_ctx;
    s->max_kv = s->max_total - 1;
    const int64_t need = (s->max_kv + e->block_size - 1) / e->block_size;
    if (need > e->num_blocks)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                            "request: %lld tokens of KV need %lld blocks, the pool has %lld (raise num_blocks)",
                            (long long)s->max_kv, (long long)need, (long long)e->num_blocks);

    s->sampling = r->sampling;
    s->sampling.counter = 0;
    AX_CHECK(ax_sampling_check(&s->sampling, 1, NULL, 0, NULL, V));
    if (r->penalty_last_n < 0)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "request->penalty_last_n: %d, expected >= 0", r->penalty_last_n);
    s->penalty_last_n = r->penalty_last_n < e->n_ctx ? r->penalty_last_n : (int32_t)e->n_ctx;
    if (r->penalty_generated_only != 0 && r->penalty_generated_only != 1)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "request->penalty_generated_only: %d, expected 0 or 1",
                            r->penalty_generated_only);
    s->penalty_generated_only = r->penalty_generated_only;
    if (r->n_stop_tokens < 0 || r->n_stop_tokens > 1024 || (r->n_stop_tokens > 0 && r->stop_tokens == NULL))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "request->stop_tokens: %d ids%s, expected 0..1024",
                            r->n_stop_tokens, r->stop_tokens == NULL && r->n_stop_tokens > 0 ? " at NULL" : "");
    if (r->n_stop_tokens > 0) {
        s->stop_tokens = malloc((size_t)r->n_stop_tokens * sizeof *s->stop_tokens);
        if (s->stop_tokens == NULL) return ax_set_error(AX_ERR_OUT_OF_MEMORY, "stop_tokens");
        for (int32_t i = 0; i < r->n_stop_tokens; i++) {
            if (r->stop_tokens[i] < 0 || r->stop_tokens[i] >= V)
                return ax_set_error(AX_ERR_INVALID_ARGUMENT, "request->stop_tokens[%d]: id %d, expected an id in [0, %lld)",
                                    i, r->stop_tokens[i], (long long)V);
            s->stop_tokens[i] = r->stop_tokens[i];
        }
        s->n_stop_tokens = r->n_stop_tokens;
    }
    if (r->n_stop < 0 || r->n_stop > SRV_MAX_STOP || (r->n_stop > 0 && r->stop == NULL))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "request->stop: %d strings, expected 0..%d", r->n_stop,
                            SRV_MAX_STOP);
    for (int32_t i = 0; i < r->n_stop; i++) {
        const size_t len = r->stop[i] != NULL ? strlen(r->stop[i]) : 0;
        if (len == 0 || len > SRV_MAX_STOP_LEN)
            return ax_set_error(AX_ERR_INVALID_ARGUMENT, "request->stop[%d]: %zu bytes, expected 1..%d", i, len,
                                SRV_MAX_STOP_LEN);
        /* The text stream holds back and cuts at characters; a stop that is not UTF-8 could cut one. */
        if (!ax_utf8_valid(r->stop[i]))
            return ax_set_error(AX_ERR_INVALID_ARGUMENT, "request->stop[%d]: not valid UTF-8", i);
        s->stop[i] = malloc(len + 1);
        if (s->stop[i] == NULL) return ax_set_error(AX_ERR_OUT_OF_MEMORY, "stop strings");
        memcpy(s->stop[i], r->stop[i], len + 1);
        s->n_stop = i + 1;
    }
    if (r->ignore_eos != 0 && r->ignore_eos != 1)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "request->ignore_eos: %d, expected 0 or 1", r->ignore_eos);
    s->ignore_eos = r->ignore_eos;
    s->callback = r->callback;
    s->user = r->user;
    s->blocks = malloc((size_t)e->max_blocks_per_seq * sizeof *s->blocks);
    s->new_tokens = malloc(sizeof(int32_t) + sizeof(float));
    if (s->blocks == NULL || s->new_tokens == NULL) return ax_set_error(AX_ERR_OUT_OF_MEMORY, "request state");
    s->new_probs = (float *)(s->new_tokens + 1);
    return AX_OK;
}

ax_status ax_serving_submit(ax_serving_engine *engine, const ax_serving_request *request, int64_t *id) {
    ax_serving_engine *e = engine;
    if (id != NULL) *id = 0;
    if (e == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "engine: NULL");
    if (request == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "request: NULL");
    if (id == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "id: NULL");
    if (request->struct_size < sizeof(ax_serving_request))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                            "request->struct_size: %zu, expected %zu (use AX_SERVING_REQUEST_INIT)",
                            request->struct_size, sizeof(ax_serving_request));
    srv_seq *s = calloc(1, sizeof *s);
    if (s == NULL) return ax_set_error(AX_ERR_OUT_OF_MEMORY, "request: %zu bytes", sizeof *s);
    ax_status st = copy_request(e, request, s);
    if (st != AX_OK) {
        seq_free(s);
        return st;
    }
    s->t_submit = srv_now();
    pthread_mutex_lock(&e->mu);
    /* Sequences sent back by a preemption wait too, but were admitted once: not the queue's to refuse. */
    if (e->n_waiting - e->n_requeued >= e->max_queue) {
        pthread_mutex_unlock(&e->mu);
        seq_free(s);
        return ax_set_error(AX_ERR_BUSY, "engine: %lld requests already wait (max_queue); try again later",
                            (long long)e->max_queue);
    }
    st = ptrs_push(&e->all, &e->n_all, &e->cap_all, s);
    if (st == AX_OK) {
        st = ptrs_push(&e->waiting, &e->n_waiting, &e->cap_waiting, s);
        if (st != AX_OK) e->n_all--;
    }
    if (st == AX_OK) {
        s->id = e->next_id++;
        *id = s->id;
        e->stats.requests_submitted++;
        e->stats.waiting = e->n_waiting;
        pthread_cond_signal(&e->work_cv);
    }
    pthread_mutex_unlock(&e->mu);
    if (st != AX_OK) seq_free(s);
    return st;
}

ax_status ax_serving_cancel(ax_serving_engine *engine, int64_t id) {
    if (engine == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "engine: NULL");
    pthread_mutex_lock(&engine->mu);
    srv_seq *s = find_seq(engine, id);
    ax_status st = AX_OK;
    if (s == NULL || s->state == SRV_DONE) {
        st = ax_set_error(AX_ERR_INVALID_ARGUMENT, "id: %lld, no such unfinished request", (long long)id);
    } else if (!s->cancel) {
        s->cancel = 1;
        engine->cancel_pending++;
        pthread_cond_signal(&engine->work_cv);
    }
    pthread_mutex_unlock(&engine->mu);
    return st;
}

/* ---- the step ---- */

static void release_seq(ax_serving_engine *e, srv_seq *s) {
    for (int32_t b = 0; b < s->n_blocks; b++) kvb_release(e->pool, s->blocks[b]);
    s->n_blocks = 0;
    e->reserved -= s->reserved;
    s->reserved = 0;
}

void srv_preempt(ax_serving_engine *e, srv_seq *s) {
    release_seq(e, s);
    ptrs_remove(e->running, &e->n_running, s);
    ptrs_remove(e->plan, &e->n_plan, s);
    /* Its KV is gone: everything it holds (prompt and generated tokens) is run again, from whatever
     * the prefix cache still has of it, before its next token is sampled. */
    s->n_prefill = s->n_total;
    s->n_computed = 0;
    s->n_registered = 0;
    s->plan_tokens = 0;
    s->plan_sample = 0;
    s->n_new = 0;
    /* Its last text went out with the previous step's events; the steps that recompute it sample
     * nothing and must not send that text again. */
    s->text.out_len = 0;
    s->state = SRV_WAITING;
    /* The head of the queue: it was admitted before anything still waiting. The queue has room for
     * every running sequence beyond max_queue (ax_serving_create). */
    memmove(e->waiting + 1, e->waiting, (size_t)e->n_waiting * sizeof *e->waiting);
    e->waiting[0] = s;
    e->n_waiting++;
    e->n_requeued++;
    e->stats.preemptions++;
}

static void finish_seq(srv_seq *s, ax_serving_finish reason, size_t text_limit) {
    s->finish = reason;
    /* Out of memory here leaves the final text empty: the finish itself must happen. */
    if (srv_text_take(&s->text, s->stop, s->n_stop, 1, text_limit) != AX_OK) s->text.out_len = 0;
}

static int is_stop_token(const srv_seq *s, int32_t tok) {
    for (int32_t i = 0; i < s->n_stop_tokens; i++)
        if (s->stop_tokens[i] == tok) return 1;
    return 0;
}

/* After a sampled token: text, stop conditions. */
static void accept_token(ax_serving_engine *e, srv_seq *s, double now) {
    const int32_t tok = s->new_tokens[0];
    if (s->t_first == 0.0) s->t_first = now;
    if (tok < 0) { /* every candidate masked: nothing more can be drawn */
        s->n_new = 0;
        finish_seq(s, AX_SERVING_STOP, s->text.len);
        return;
    }
    s->tokens[s->n_total++] = tok;
    const int end = (!s->ignore_eos && ax_llm_token_is_end(e->model, tok)) || is_stop_token(s, tok);
    if (!end && !ax_llm_token_is_control(e->model, tok)) {
        size_t len = 0;
        const char *bytes = ax_llm_token_text(e->model, tok, &len);
        if (srv_text_append(&s->text, bytes, len) != AX_OK) {
            s->error = NULL;
            finish_seq(s, AX_SERVING_ERROR, s->text.len);
            return;
        }
    }
    size_t at = 0;
    if (end)
        finish_seq(s, AX_SERVING_STOP, s->text.len);
    else if (s->n_stop > 0 && srv_text_find_stop(&s->text, s->stop, s->n_stop, &at))
        finish_seq(s, AX_SERVING_STOP, at);
    else if (s->n_total >= s->max_total)
        finish_seq(s, AX_SERVING_LENGTH, s->text.len);
    else if (srv_text_take(&s->text, s->stop, s->n_stop, 0, 0) != AX_OK)
        finish_seq(s, AX_SERVING_ERROR, s->text.len);
}

static void register_blocks(ax_serving_engine *e, srv_seq *s) {
    const int64_t bs = e->block_size;
    while ((int64_t)(s->n_registered + 1) * bs <= s->n_computed) {
        const int32_t j = s->n_registered;
        kvb_register(e->pool, s->blocks[j], j > 0 ? s->blocks[j - 1] : -1, s->tokens + (int64_t)j * bs, (int32_t)bs);
        s->n_registered++;
    }
    /* A prompt's last partial block is offered too: an identical prompt arriving before this
     * sequence writes its first generated token shares it and copy-on-write separates them. */
    if (s->n_computed == s->n_prompt && s->n_computed % bs != 0 && s->n_registered == s->n_computed / bs) {
        const int32_t j = s->n_registered;
        kvb_register(e->pool, s->blocks[j], j > 0 ? s->blocks[j - 1] : -1, s->tokens + (int64_t)j * bs,
                     (int32_t)(s->n_computed % bs));
    }
}

static void publish_poll(ax_serving_engine *e, srv_seq *s) {
    /* A growth failure ends the request with an error (retired by the caller, which checks the
     * finish after this), rather than dropping what it could not copy in silence. */
    if (s->n_new > 0) {
        if (s->poll_n + s->n_new > s->poll_cap) {
            const int64_t c = s->poll_cap ? 2 * s->poll_cap : 16;
            int32_t *t = realloc(s->poll_tokens, (size_t)c * (sizeof(int32_t) + sizeof(float)));
            if (t == NULL) {
                s->finish = AX_SERVING_ERROR;
            } else {
                /* probabilities live after the ids: move them to the new split point */
                memmove(t + c, t + s->poll_cap, (size_t)s->poll_n * sizeof(float));
                s->poll_tokens = t;
                s->poll_probs = (float *)(t + c);
                s->poll_cap = c;
            }
        }
        if (s->poll_n + s->n_new <= s->poll_cap) {
            memcpy(s->poll_tokens + s->poll_n, s->new_tokens, (size_t)s->n_new * sizeof(int32_t));
            memcpy(s->poll_probs + s->poll_n, s->new_probs, (size_t)s->n_new * sizeof(float));
            s->poll_n += s->n_new;
        }
    }
    if (s->text.out_len > 0) {
        const size_t need = s->poll_text_len + s->text.out_len + 1;
        if (need > s->poll_text_cap) {
            size_t c = s->poll_text_cap ? s->poll_text_cap : 64;
            while (c < need) c *= 2;
            char *t = realloc(s->poll_text, c);
            if (t != NULL) {
                s->poll_text = t;
                s->poll_text_cap = c;
            } else {
                s->finish = AX_SERVING_ERROR; /* as for the tokens: no text silently skipped */
            }
        }
        if (need <= s->poll_text_cap) {
            memcpy(s->poll_text + s->poll_text_len, s->text.out, s->text.out_len);
            s->poll_text_len += s->text.out_len;
            s->poll_text[s->poll_text_len] = '\0';
        }
    }
    if (s->finish != AX_SERVING_RUNNING) s->poll_finish = s->finish;
    (void)e;
}

static void fill_event(const srv_seq *s, ax_serving_event *ev) {
    memset(ev, 0, sizeof *ev);
    ev->request_id = s->id;
    ev->finish = s->finish;
    ev->prompt_tokens = s->n_prompt;
    ev->cached_tokens = s->n_cached;
    ev->completion_tokens = s->n_total - s->n_prompt;
    ev->queue_seconds = s->t_admit > 0.0 ? s->t_admit - s->t_submit : 0.0;
    ev->first_token_seconds = s->t_first > 0.0 ? s->t_first - s->t_submit : 0.0;
}

/* The message of an error that has none of its own: the growth of a request's text or token buffer
 * failed (no room to copy a message either). */
static const char k_no_memory[] = "serving: out of memory for the request's text or tokens";

static const char *error_message(const srv_seq *s) { return s->error != NULL ? s->error : k_no_memory; }

static void deliver_callback(srv_seq *s) {
    ax_serving_event ev;
    fill_event(s, &ev);
    ev.tokens = s->new_tokens;
    ev.probs = s->new_probs;
    ev.n_tokens = s->n_new;
    if (s->finish == AX_SERVING_ERROR) {
        ev.text = error_message(s);
        ev.text_len = strlen(ev.text);
    } else {
        ev.text = s->text.out != NULL ? s->text.out : "";
        ev.text_len = s->text.out != NULL ? s->text.out_len : 0;
    }
    s->callback(s->user, &ev);
}

/* Ends a sequence that is leaving (cancelled, failed, finished): counters and registry (mu held). */
static void retire_locked(ax_serving_engine *e, srv_seq *s) {
    s->state = SRV_DONE;
    e->stats.requests_finished++;
    if (s->finish == AX_SERVING_CANCELLED) e->stats.requests_cancelled++;
    if (s->callback != NULL) ptrs_remove(e->all, &e->n_all, s); /* freed after its last callback */
}

static ax_status step(ax_serving_engine *e, int *did_work) {
    /* Sequences that leave this step, for their final events: e->done holds max_queue + max_running,
     * every request there can be, so adding to it never fails. */
    srv_seq **done = e->done;
    int64_t n_done = 0, prompt_computed = 0;
    int cancelled = 0;
    ax_status st = AX_OK;

    pthread_mutex_lock(&e->mu);
    /* Cancellations first: waiting ones leave the queue, running ones free their blocks. */
    if (e->cancel_pending > 0) {
        for (int64_t i = 0; i < e->n_waiting;) {
            srv_seq *s = e->waiting[i];
            if (s->cancel) {
                done[n_done++] = s;
                memmove(e->waiting + i, e->waiting + i + 1, (size_t)(e->n_waiting - i - 1) * sizeof *e->waiting);
                e->n_waiting--;
                if (s->t_admit > 0.0) e->n_requeued--; /* a preempted one */
                finish_seq(s, AX_SERVING_CANCELLED, s->text.len);
            } else {
                i++;
            }
        }
        for (int64_t i = 0; i < e->n_running;) {
            srv_seq *s = e->running[i];
            if (s->cancel) {
                done[n_done++] = s;
                release_seq(e, s);
                memmove(e->running + i, e->running + i + 1, (size_t)(e->n_running - i - 1) * sizeof *e->running);
                e->n_running--;
                finish_seq(s, AX_SERVING_CANCELLED, s->text.len);
            } else {
                i++;
            }
        }
        e->cancel_pending = 0;
        /* A cancelled poll request belongs to its poller once the lock is released (its final event
         * is published here, and the poll that takes it may free it during the forward below), so
         * only callback requests stay on the done list. */
        const int64_t n_cancelled = n_done;
        n_done = 0;
        for (int64_t i = 0; i < n_cancelled; i++) {
            srv_seq *s = done[i];
            s->n_new = 0;
            if (s->callback == NULL) publish_poll(e, s);
            retire_locked(e, s);
            if (s->callback != NULL) done[n_done++] = s;
        }
        cancelled = n_cancelled > 0;
        /* Their pollers now, not after the step's forward (hundreds of ms on a CPU). */
        if (cancelled) pthread_cond_broadcast(&e->poll_cv);
    }
    srv_schedule(e);
    pthread_mutex_unlock(&e->mu);

    if (did_work != NULL) *did_work = e->n_plan > 0 || cancelled;
    if (e->n_plan > 0) {
        for (int64_t i = 0; i < e->n_plan; i++) e->plan[i]->n_new = 0;
        st = srv_prepare_blocks(e);
        if (st == AX_OK) st = srv_forward(e);
        const double now = srv_now();
        for (int64_t i = 0; i < e->n_plan; i++) {
            srv_seq *s = e->plan[i];
            if (st != AX_OK) {
                const char *msg = ax_last_error();
                s->error = malloc(strlen(msg) + 1);
                if (s->error != NULL) memcpy(s->error, msg, strlen(msg) + 1);
                s->n_new = 0;
                finish_seq(s, AX_SERVING_ERROR, s->text.len);
                continue;
            }
            const int64_t before = s->n_computed < s->n_prompt ? s->n_computed : s->n_prompt;
            s->n_computed += s->plan_tokens;
            prompt_computed += (s->n_computed < s->n_prompt ? s->n_computed : s->n_prompt) - before;
            if (e->cfg.prefix_sharing) register_blocks(e, s);
            if (s->n_new > 0) accept_token(e, s, now);
        }
    }

    pthread_mutex_lock(&e->mu);
    if (e->n_plan > 0) e->stats.steps++;
    e->stats.computed_prompt_tokens += prompt_computed;
    for (int64_t i = 0; i < e->n_plan; i++) {
        srv_seq *s = e->plan[i];
        if (s->n_new > 0 && s->new_tokens[0] >= 0) e->stats.generated_tokens++;
        s->pub_completion = s->n_total - s->n_prompt;
        s->pub_first = s->t_first;
        if (s->callback == NULL) publish_poll(e, s);
        if (s->finish != AX_SERVING_RUNNING) {
            release_seq(e, s);
            ptrs_remove(e->running, &e->n_running, s);
            retire_locked(e, s);
            done[n_done++] = s;
        }
    }
    e->stats.running = e->n_running;
    e->stats.waiting = e->n_waiting;
    e->stats.blocks_used = kvb_used(e->pool);
    e->stats.blocks_cached = kvb_cached(e->pool);
    /* Which running sequences get a callback is decided under the lock: once it is released a poller
     * may free a finished request that has no callback. Callback requests are freed only here. */
    int64_t n_tell = 0;
    for (int64_t i = 0; i < e->n_plan; i++) {
        srv_seq *s = e->plan[i];
        if (s->callback != NULL && s->finish == AX_SERVING_RUNNING && (s->n_new > 0 || s->text.out_len > 0))
            e->plan[n_tell++] = s;
    }
    /* Likewise only callback requests stay on the done list: a finished poll request belongs to its
     * poller once the lock is released. */
    int64_t n_final = 0;
    for (int64_t i = 0; i < n_done; i++)
        if (done[i]->callback != NULL) done[n_final++] = done[i];
    e->stats.copy_on_write += e->cow_step;
    e->cow_step = 0;
    pthread_cond_broadcast(&e->poll_cv);
    pthread_mutex_unlock(&e->mu);

    /* Callbacks without the lock: running sequences' new tokens, then the finished ones' last events. */
    for (int64_t i = 0; i < n_tell; i++) deliver_callback(e->plan[i]);
    e->n_plan = 0;
    for (int64_t i = 0; i < n_final; i++) {
        deliver_callback(done[i]);
        seq_free(done[i]);
    }
    return st;
}

ax_status ax_serving_step(ax_serving_engine *engine, int *did_work) {
    if (did_work != NULL) *did_work = 0;
    if (engine == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "engine: NULL");
    pthread_mutex_lock(&engine->mu);
    const int busy = engine->thread_running || engine->stepping;
    if (!busy) engine->stepping = 1;
    pthread_mutex_unlock(&engine->mu);
    if (busy)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                            "engine: a background loop or another thread is stepping it (ax_serving_stop first)");
    const ax_status st = step(engine, did_work);
    pthread_mutex_lock(&engine->mu);
    engine->stepping = 0;
    pthread_mutex_unlock(&engine->mu);
    return st;
}

/* ---- background loop ---- */

static void *loop_main(void *arg) {
    ax_serving_engine *e = arg;
    for (;;) {
        pthread_mutex_lock(&e->mu);
        while (!e->stop_requested && e->n_waiting == 0 && e->n_running == 0 && e->cancel_pending == 0)
            pthread_cond_wait(&e->work_cv, &e->mu);
        const int stop = e->stop_requested;
        pthread_mutex_unlock(&e->mu);
        if (stop) break;
        int did = 0;
        (void)step(e, &did); /* a failed forward already ended its requests with AX_SERVING_ERROR */
        if (!did) {
            /* Work exists but nothing can run (cannot happen: the head of the queue fits an empty pool,
             * and a plan is never emptied while something runs; be safe): nap. */
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
    }
    return NULL;
}

/* The calling thread's idle OpenMP threads, given back before the loop starts its own. Why: GCC's
 * libgomp spin-waits between parallel regions only while the threads it manages, across every
 * thread's pool, do not outnumber the CPUs; past that it sleeps and wakes them through futexes. The
 * loop is a second OpenMP master beside the thread that created the engine (which has usually run
 * ax_serving_step, a warm-up or a model check first), so the two pools outnumber the cores at
 * full thread count and each of a decode step's ~240 regions cost 10-25 us instead of ~2.5 us:
 * 1-client token latency went from 6 to 16-20 ms on a 2-vCPU machine (docs/serving.md). The pool is
 * made again if this thread runs OpenMP work later. Not from inside a parallel region. */
static void release_caller_openmp_threads(void) {
    /* libgomp (GCC 9 and later) frees the calling thread's pool only, and refuses inside a region.
     * LLVM's libomp would instead put every thread of the process to sleep for a while, so other
     * compilers' runtimes are left alone. */
#if defined(_OPENMP) && defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 9
    if (!omp_in_parallel()) (void)omp_pause_resource(omp_pause_soft, omp_get_initial_device());
#endif
}

ax_status ax_serving_start(ax_serving_engine *engine) {
    if (engine == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "engine: NULL");
    pthread_mutex_lock(&engine->mu);
    /* A stop joining the thread meanwhile would leave it stopped after this call found it running. */
    while (engine->joining) pthread_cond_wait(&engine->joined_cv, &engine->mu);
    ax_status st = AX_OK;
    if (!engine->thread_running) {
        if (engine->stepping) {
            st = ax_set_error(AX_ERR_INVALID_ARGUMENT, "engine: another thread is inside ax_serving_step");
        } else {
            engine->stop_requested = 0;
            release_caller_openmp_threads();
            if (pthread_create(&engine->thread, NULL, loop_main, engine) != 0)
                st = ax_set_error(AX_ERR_OUT_OF_MEMORY, "engine: cannot start the background thread");
            else
                engine->thread_running = 1;
        }
    }
    pthread_mutex_unlock(&engine->mu);
    return st;
}

void ax_serving_stop(ax_serving_engine *engine) {
    if (engine == NULL) return;
    pthread_mutex_lock(&engine->mu);
    if (engine->joining) { /* another stop is joining: wait for it rather than join twice */
        while (engine->joining) pthread_cond_wait(&engine->joined_cv, &engine->mu);
        pthread_mutex_unlock(&engine->mu);
        return;
    }
    const int running = engine->thread_running;
    engine->stop_requested = 1;
    engine->joining = running;
    pthread_cond_broadcast(&engine->work_cv);
    pthread_mutex_unlock(&engine->mu);
    if (running) pthread_join(engine->thread, NULL);
    pthread_mutex_lock(&engine->mu);
    engine->thread_running = 0;
    engine->stop_requested = 0;
    engine->joining = 0;
    pthread_cond_broadcast(&engine->joined_cv);
    pthread_mutex_unlock(&engine->mu);
}

/* ---- poll ---- */

/* The request whose final event this thread's last poll returned: its buffers back that event until
 * the thread polls again, and it is freed then or when the thread exits (a key destructor). */
static pthread_key_t last_final_key;
static pthread_once_t last_final_once = PTHREAD_ONCE_INIT;
static void last_final_destroy(void *p) { seq_free(p); }
static void last_final_init(void) { (void)pthread_key_create(&last_final_key, last_final_destroy); }

ax_status ax_serving_poll(ax_serving_engine *engine, int64_t id, int timeout_ms, ax_serving_event *event) {
    ax_serving_engine *e = engine;
    if (e == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "engine: NULL");
    if (event == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "event: NULL");
    pthread_once(&last_final_once, last_final_init);
    seq_free(pthread_getspecific(last_final_key));
    (void)pthread_setspecific(last_final_key, NULL);
    memset(event, 0, sizeof *event);
    pthread_mutex_lock(&e->mu);
    srv_seq *s = find_seq(e, id);
    if (s == NULL || s->callback != NULL) {
        pthread_mutex_unlock(&e->mu);
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "id: %lld, %s", (long long)id,
                            s == NULL ? "no such request (unknown, or its last event was already polled)"
                                      : "the request delivers its events by callback");
    }
    if (timeout_ms != 0) {
        struct timespec deadline;
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += timeout_ms / 1000;
        deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
        while (s->poll_n == 0 && s->poll_text_len == 0 && s->poll_finish == AX_SERVING_RUNNING) {
            if (timeout_ms < 0) {
                pthread_cond_wait(&e->poll_cv, &e->mu);
            } else if (pthread_cond_timedwait(&e->poll_cv, &e->mu, &deadline) == ETIMEDOUT) {
                break;
            }
        }
    }
    free(s->given_tokens);
    free(s->given_text);
    s->given_tokens = s->poll_tokens;
    s->given_probs = s->poll_probs;
    s->given_text = s->poll_text;
    event->tokens = s->poll_tokens;
    event->probs = s->poll_probs;
    event->n_tokens = s->poll_n;
    event->text = s->poll_text != NULL ? s->poll_text : "";
    event->text_len = s->poll_text_len;
    s->poll_tokens = NULL;
    s->poll_probs = NULL;
    s->poll_text = NULL;
    s->poll_n = s->poll_cap = 0;
    s->poll_text_len = s->poll_text_cap = 0;
    /* Only what the step published under the lock: the step thread may be changing the rest. */
    event->request_id = id;
    event->prompt_tokens = s->n_prompt;
    event->cached_tokens = s->n_cached;
    event->queue_seconds = s->t_admit > 0.0 ? s->t_admit - s->t_submit : 0.0;
    event->first_token_seconds = s->pub_first > 0.0 ? s->pub_first - s->t_submit : 0.0;
    event->completion_tokens = s->pub_completion;
    event->finish = s->poll_finish;
    if (s->poll_finish == AX_SERVING_ERROR) {
        /* An error event's text is the message: text still to deliver goes first, in an event that
         * says RUNNING, and the message comes with the next poll, at once (it had been lost). */
        if (event->text_len == 0) {
            event->text = error_message(s);
            event->text_len = strlen(event->text);
        } else {
            event->finish = AX_SERVING_RUNNING;
        }
    }
    if (event->finish != AX_SERVING_RUNNING) {
        ptrs_remove(e->all, &e->n_all, s);
        (void)pthread_setspecific(last_final_key, s); /* its buffers back the event */
    }
    pthread_mutex_unlock(&e->mu);
    return AX_OK;
}

ax_status ax_serving_get_stats(ax_serving_engine *engine, ax_serving_stats *out) {
    if (engine == NULL || out == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: NULL", engine ? "out" : "engine");
    pthread_mutex_lock(&engine->mu);
    *out = engine->stats;
    pthread_mutex_unlock(&engine->mu);
    return AX_OK;
}

/* ---- free ---- */

void ax_serving_free(ax_serving_engine *engine) {
    ax_serving_engine *e = engine;
    if (e == NULL) return;
    ax_serving_stop(e);
    /* Every unfinished request ends as cancelled; callbacks are told. */
    for (int64_t i = 0; i < e->n_all; i++) {
        srv_seq *s = e->all[i];
        if (s->state != SRV_DONE && s->callback != NULL) {
            s->n_new = 0;
            finish_seq(s, AX_SERVING_CANCELLED, s->text.len);
            deliver_callback(s);
        }
        if (e->pool != NULL && s->state == SRV_RUNNING) release_seq(e, s);
        seq_free(s);
    }
    free(e->all);
    free(e->waiting);
    free(e->running);
    free(e->plan);
    free(e->done);
    srv_forward_free(e);
    kvb_free(e->pool);
    ax_context_destroy(e->ctx);
    pthread_cond_destroy(&e->work_cv);
    pthread_cond_destroy(&e->poll_cv);
    pthread_cond_destroy(&e->joined_cv);
    pthread_mutex_destroy(&e->mu);
    free(e);
}
