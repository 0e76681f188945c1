/*
 * session.c — a sequence being decoded: its paged KV cache, the preallocated activations of one
 * n_batch chunk, the Llama forward over Axial's ops, and sampling of the next token.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 *
 * Every buffer lives on the model's device and is allocated once, at create, with ax_device_alloc:
 * the forward is the same code on the CPU and on CUDA (index tensors go over with
 * ax_copy_to_device, logits come back with ax_copy_to_host). The cache is the serving layout of
 * ax_paged_attention with one sequence and an identity block table (token p lives in block
 * p / SESSION_BLOCK, row p % SESSION_BLOCK), so the slot of token p is p itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axial/attention.h"
#include "axial/linalg.h"
#include "axial/nn.h"
#include "axial/sampling.h"
#include "core/internal.h"
#include "llm/model_internal.h"

/* Tokens per KV block: ax_paged_attention needs >= 16; 32 halves the block-table walk. */
#define SESSION_BLOCK 32
/* Rows of logits computed per qmatmul when every token's logits are kept: bounds the device buffer
 * (rows x n_vocab floats) independently of n_batch. */
#define SESSION_LOGIT_ROWS 16
#define SESSION_ALIGN 256

struct ax_llm_session {
    ax_llm_model *model;
    ax_context *ctx;
    int64_t n_ctx, n_batch, num_blocks, pos;

    /* device memory: the cache (layer-major: K of layer l, then its V), and the carved activations */
    void *kv_mem;
    void *act_mem;
    float *x, *h, *q, *k, *v, *attn, *o, *gate, *up, *logits; /* (n_batch, width) each; logits (rows, V) */
    int32_t *ids, *positions, *block_table, *context_len, *cu_seqlens;
    uint8_t *settings;
    int32_t *history, *token_out;
    int64_t *history_offsets;
    float *prob_out;

    /* host memory */
    int32_t *tokens;          /* (n_ctx): the tokens in the cache, for the repetition penalties */
    int32_t *staging;         /* (max(n_batch, n_ctx)) index values on their way to the device */
    float *host_logits;       /* host_logit_capacity rows of n_vocab */
    int64_t host_logit_capacity;
    int64_t n_logit_rows;     /* rows of the last eval in host_logits (0: none) */
    int all_logits;
    const float *last_logits; /* device row of the last token's logits, or NULL */
};

/* ---- carving one allocation into aligned pieces ---- */

typedef struct session_carve {
    char *base;       /* NULL while measuring */
    size_t offset;
} session_carve;

static void *session_take(session_carve *c, size_t bytes) {
    const size_t at = (c->offset + SESSION_ALIGN - 1) / SESSION_ALIGN * SESSION_ALIGN;
    c->offset = at + bytes;
    return c->base != NULL ? c->base + at : NULL;
}

static void session_carve_activations(ax_llm_session *s, session_carve *c) {
    const ax_llm_model_info *in = &s->model->info;
    const size_t B = (size_t)s->n_batch, E = (size_t)in->n_embd, F = (size_t)in->n_ff;
    const size_t Q = (size_t)in->n_head * (size_t)in->head_dim, KV = (size_t)in->n_head_kv * (size_t)in->head_dim;
    const size_t logit_rows = (size_t)(s->n_batch < SESSION_LOGIT_ROWS ? s->n_batch : SESSION_LOGIT_ROWS);
    s->x = session_take(c, B * E * sizeof(float));
    s->h = session_take(c, B * E * sizeof(float));
    s->o = session_take(c, B * E * sizeof(float));
    s->q = session_take(c, B * Q * sizeof(float));
    s->attn = session_take(c, B * Q * sizeof(float));
    s->k = session_take(c, B * KV * sizeof(float));
    s->v = session_take(c, B * KV * sizeof(float));
    s->gate = session_take(c, B * F * sizeof(float));
    s->up = session_take(c, B * F * sizeof(float));
    s->logits = session_take(c, logit_rows * (size_t)in->n_vocab * sizeof(float));
    s->ids = session_take(c, B * sizeof(int32_t));
    s->positions = session_take(c, B * sizeof(int32_t));
    s->block_table = session_take(c, (size_t)s->num_blocks * sizeof(int32_t));
    s->context_len = session_take(c, sizeof(int32_t));
    s->cu_seqlens = session_take(c, 2 * sizeof(int32_t));
    s->settings = session_take(c, AX_SAMPLING_ROW_BYTES);
    s->history = session_take(c, (size_t)s->n_ctx * sizeof(int32_t));
    s->history_offsets = session_take(c, 2 * sizeof(int64_t));
    s->token_out = session_take(c, sizeof(int32_t));
    s->prob_out = session_take(c, sizeof(float));
}

/* ---- tensors over the session's buffers ---- */

static ax_tensor session_tensor(const ax_llm_session *s, const void *data, ax_dtype dtype, int32_t ndim, int64_t d0,
                                int64_t d1, int64_t d2) {
    const int64_t shape[3] = {d0, d1, d2};
    ax_tensor t;
    /* Cannot fail: every shape here is small, non-negative and of a plain dtype. */
    (void)ax_tensor_contiguous(&t, (void *)data, dtype, ndim, shape);
    t.device = s->model->device;
    return t;
}

ax_status ax_llm_session_create(ax_llm_model *model, const ax_llm_session_config *cfg, ax_llm_session **out) {
    if (out == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "out: NULL");
    *out = NULL;
    if (model == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "model: NULL");
    ax_llm_session_config c = AX_LLM_SESSION_CONFIG_INIT;
    if (cfg != NULL) {
        if (cfg->struct_size < sizeof c)
            return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                                "cfg->struct_size: %zu, expected %zu (use AX_LLM_SESSION_CONFIG_INIT)",
                                cfg->struct_size, sizeof c);
        c = *cfg;
    }
    const ax_llm_model_info *in = &model->info;
    int64_t n_ctx = c.n_ctx > 0 ? c.n_ctx : (in->n_ctx_train < 4096 ? in->n_ctx_train : 4096);
    int64_t n_batch = c.n_batch > 0 ? c.n_batch : 512;
    if (n_batch > n_ctx) n_batch = n_ctx;

    ax_llm_session *s = calloc(1, sizeof *s);
    if (s == NULL) return ax_set_error(AX_ERR_OUT_OF_MEMORY, "session: %zu bytes", sizeof *s);
    s->model = model;
    s->n_ctx = n_ctx;
    s->n_batch = n_batch;
    s->num_blocks = (n_ctx + SESSION_BLOCK - 1) / SESSION_BLOCK;
    ax_status st;
    ax_context_config cc = AX_CONTEXT_CONFIG_INIT;
    cc.device = model->device;
    cc.num_threads = model->num_threads;
    AX_CHECK_GOTO(ax_context_create(&s->ctx, &cc), st, fail);

    /* n_layer, n_ctx, Hkv and Dh are each below 2^31: the product is checked, not trusted. */
    size_t kv_bytes = 2 * sizeof(float);
    const size_t kv_factors[4] = {(size_t)in->n_layer, (size_t)s->num_blocks * SESSION_BLOCK, (size_t)in->n_head_kv,
                                  (size_t)in->head_dim};
    for (int i = 0; i < 4; i++) {
        if (kv_factors[i] != 0 && kv_bytes > SIZE_MAX / kv_factors[i]) {
            st = ax_set_error(AX_ERR_OUT_OF_MEMORY, "n_ctx: a KV cache of %d tokens overflows the address space",
                              (int)n_ctx);
            goto fail;
        }
        kv_bytes *= kv_factors[i];
    }
    st = ax_device_alloc(s->ctx, kv_bytes, &s->kv_mem);
    if (st != AX_OK) {
        /* Named by the setting that sized it (the allocator's message names only the bytes). */
        char what[96];
        snprintf(what, sizeof what, "n_ctx: a KV cache of %d tokens needs %zu bytes", (int)n_ctx, kv_bytes);
        ax_error_prefix(what);
        goto fail;
    }
    session_carve measure = {NULL, 0};
    session_carve_activations(s, &measure);
    AX_CHECK_GOTO(ax_device_alloc(s->ctx, measure.offset, &s->act_mem), st, fail);
    session_carve carve = {s->act_mem, 0};
    session_carve_activations(s, &carve);

    const int64_t staging = n_batch > s->num_blocks ? n_batch : s->num_blocks;
    s->tokens = malloc((size_t)n_ctx * sizeof *s->tokens);
    s->staging = malloc((size_t)(staging > n_ctx ? staging : n_ctx) * sizeof *s->staging);
    s->host_logits = malloc((size_t)in->n_vocab * sizeof *s->host_logits);
    s->host_logit_capacity = 1;
    if (s->tokens == NULL || s->staging == NULL || s->host_logits == NULL) {
        st = ax_set_error(AX_ERR_OUT_OF_MEMORY, "session: host buffers for a context of %lld", (long long)n_ctx);
        goto fail;
    }
    /* The identity block table never changes: upload it once. */
    for (int64_t b = 0; b < s->num_blocks; b++) s->staging[b] = (int32_t)b;
    AX_CHECK_GOTO(ax_copy_to_device(s->ctx, s->block_table, s->staging, (size_t)s->num_blocks * sizeof(int32_t)), st,
                  fail);
    *out = s;
    return AX_OK;
fail:
    ax_llm_session_free(s);
    return st;
}

void ax_llm_session_free(ax_llm_session *session) {
    if (session == NULL) return;
    if (session->ctx != NULL) {
        ax_device_free(session->ctx, session->kv_mem);
        ax_device_free(session->ctx, session->act_mem);
    }
    ax_context_destroy(session->ctx);
    free(session->tokens);
    free(session->staging);
    free(session->host_logits);
    free(session);
}

int64_t ax_llm_session_position(const ax_llm_session *session) { return session != NULL ? session->pos : 0; }

int64_t ax_llm_session_n_ctx(const ax_llm_session *session) { return session != NULL ? session->n_ctx : 0; }

ax_status ax_llm_session_rewind(ax_llm_session *session, int64_t position) {
    if (session == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "session: NULL");
    if (position < 0 || position > session->pos)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "position: %lld, expected a value in [0, %lld]",
                            (long long)position, (long long)session->pos);
    /* Rows past the position stay in the cache but are never read: context_lens stops before them,
     * and the next eval overwrites them. */
    session->pos = position;
    session->n_logit_rows = 0;
    session->last_logits = NULL;
    return AX_OK;
}

/* The decoder over tokens[0 .. T) at positions pos .. pos + T - 1 (T <= n_batch). The logits of
 * rows [first_logit, T) are written to host rows dst_row.. of host_logits, through the device buffer
 * in slices. */
static ax_status session_forward(ax_llm_session *s, const int32_t *tokens, int64_t T, int64_t first_logit,
                                 int64_t dst_row) {
    const ax_llm_model *m = s->model;
    const ax_llm_model_info *in = &m->info;
    ax_context *ctx = s->ctx;
    const int64_t E = in->n_embd;
    const int64_t V = in->n_vocab, p0 = s->pos;

    AX_CHECK(ax_copy_to_device(ctx, s->ids, tokens, (size_t)T * sizeof(int32_t)));
    for (int64_t t = 0; t < T; t++) s->staging[t] = (int32_t)(p0 + t);
    AX_CHECK(ax_copy_to_device(ctx, s->positions, s->staging, (size_t)T * sizeof(int32_t)));
    const int32_t lens[3] = {(int32_t)(p0 + T), 0, (int32_t)T}; /* context_len, then cu_seqlens {0, T} */
    AX_CHECK(ax_copy_to_device(ctx, s->context_len, &lens[0], sizeof(int32_t)));
    AX_CHECK(ax_copy_to_device(ctx, s->cu_seqlens, &lens[1], 2 * sizeof(int32_t)));

    const ax_tensor ids = session_tensor(s, s->ids, AX_I32, 1, T, 0, 0);
    const ax_tensor positions = session_tensor(s, s->positions, AX_I32, 1, T, 0, 0);
    const ax_tensor block_table = session_tensor(s, s->block_table, AX_I32, 2, 1, s->num_blocks, 0);
    const ax_tensor context_len = session_tensor(s, s->context_len, AX_I32, 1, 1, 0, 0);
    const ax_tensor cu_seqlens = session_tensor(s, s->cu_seqlens, AX_I32, 1, 2, 0, 0);
    llm_decoder_batch b = {0};
    b.T = T;
    b.ids = &ids;
    b.positions = &positions;
    b.slots = &positions; /* the identity block table: token p lives in slot p */
    b.block_table = &block_table;
    b.context_lens = &context_len;
    b.cu_seqlens = &cu_seqlens;
    b.attn = ax_paged_attention_options_default();
    /* CUDA sizes its grid and split-K from these hints, not from the whole cache. */
    b.attn.max_seqlen_q = T;
    b.attn.max_context_len = p0 + T;
    b.kv = s->kv_mem;
    b.num_blocks = s->num_blocks;
    b.block_size = SESSION_BLOCK;
    b.buf = (llm_decoder_buffers){s->x, s->h, s->o, s->q, s->attn, s->k, s->v, s->gate, s->up};
    AX_CHECK(llm_decoder_run(m, ctx, &b));

    const int64_t slice_rows = s->n_batch < SESSION_LOGIT_ROWS ? s->n_batch : SESSION_LOGIT_ROWS;
    for (int64_t r0 = first_logit; r0 < T; r0 += slice_rows) {
        const int64_t n = T - r0 < slice_rows ? T - r0 : slice_rows;
        const ax_tensor hr = session_tensor(s, s->h + r0 * E, AX_F32, 2, n, E, 0);
        ax_tensor logits = session_tensor(s, s->logits, AX_F32, 2, n, V, 0);
        AX_CHECK(llm_matmul(ctx, &hr, &m->output, m->output_p, &logits));
        AX_CHECK(ax_copy_to_host(ctx, s->host_logits + (dst_row + r0 - first_logit) * V, s->logits,
                                 (size_t)(n * V) * sizeof(float)));
        s->last_logits = s->logits + (n - 1) * V;
    }
    return AX_OK;
}

ax_status ax_llm_session_eval(ax_llm_session *session, const int32_t *tokens, int64_t n, int all_logits) {
    ax_llm_session *s = session;
    if (s == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "session: NULL");
    if (tokens == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "tokens: NULL");
    if (n < 1) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "n: %lld, expected at least 1 token", (long long)n);
    const int64_t V = s->model->info.n_vocab;
    if (n > s->n_ctx - s->pos)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                            "tokens: %lld new tokens after %lld do not fit the context of %lld", (long long)n,
                            (long long)s->pos, (long long)s->n_ctx);
    for (int64_t i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= V)
            return ax_set_error(AX_ERR_INVALID_ARGUMENT, "tokens[%lld]: id %d, expected an id in [0, %lld)",
                                (long long)i, tokens[i], (long long)V);
    const int64_t rows = all_logits ? n : 1;
    /* From here on a failure leaves no logits (llm.h), the out-of-memory one below included. */
    s->n_logit_rows = 0;
    s->last_logits = NULL;
    if (rows > s->host_logit_capacity) {
        float *grown = realloc(s->host_logits, (size_t)rows * (size_t)V * sizeof(float));
        if (grown == NULL)
            return ax_set_error(AX_ERR_OUT_OF_MEMORY, "logits: %lld rows of %lld", (long long)rows, (long long)V);
        s->host_logits = grown;
        s->host_logit_capacity = rows;
    }
    s->n_logit_rows = 0;
    s->last_logits = NULL;
    const int64_t start = s->pos;
    ax_status st = AX_OK;
    for (int64_t done = 0; done < n && st == AX_OK;) {
        const int64_t T = n - done < s->n_batch ? n - done : s->n_batch;
        const int last_chunk = done + T == n;
        if (all_logits)
            st = session_forward(s, tokens + done, T, 0, done);
        else
            st = session_forward(s, tokens + done, T, last_chunk ? T - 1 : T, 0);
        if (st == AX_OK) {
            memcpy(s->tokens + s->pos, tokens + done, (size_t)T * sizeof(int32_t));
            s->pos += T;
            done += T;
        }
    }
    if (st != AX_OK) {
        /* The rows written past `start` are unreachable once the position is restored. */
        s->pos = start;
        s->last_logits = NULL;
        return st;
    }
    s->n_logit_rows = rows;
    s->all_logits = all_logits != 0;
    return AX_OK;
}

const float *ax_llm_session_logits(ax_llm_session *session, int64_t i) {
    if (session == NULL || session->n_logit_rows == 0) return NULL;
    const int64_t V = session->model->info.n_vocab;
    if (i == -1) return session->host_logits + (session->n_logit_rows - 1) * V;
    if (!session->all_logits || i < 0 || i >= session->n_logit_rows) return NULL;
    return session->host_logits + i * V;
}

ax_status ax_llm_session_sample(ax_llm_session *session, const ax_sampling_row *settings, int32_t penalty_last_n,
                                int32_t *token, float *prob) {
    ax_llm_session *s = session;
    if (s == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "session: NULL");
    if (token == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "token: NULL");
    if (s->last_logits == NULL)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "session: no logits to sample from (evaluate tokens first)");
    ax_sampling_row row = AX_SAMPLING_ROW_INIT;
    if (settings != NULL)
        row = *settings;
    else
        row.temperature = 0.0f;
    const int64_t V = s->model->info.n_vocab;
    const int64_t h = penalty_last_n > 0 ? (penalty_last_n < s->pos ? penalty_last_n : s->pos) : 0;
    const int32_t *hist = s->tokens + (s->pos - h);
    const int64_t offsets[2] = {0, h};
    AX_CHECK(ax_sampling_check(&row, 1, h > 0 ? hist : NULL, h, h > 0 ? offsets : NULL, V));

    ax_context *ctx = s->ctx;
    AX_CHECK(ax_copy_to_device(ctx, s->settings, &row, AX_SAMPLING_ROW_BYTES));
    if (h > 0) {
        AX_CHECK(ax_copy_to_device(ctx, s->history, hist, (size_t)h * sizeof(int32_t)));
        AX_CHECK(ax_copy_to_device(ctx, s->history_offsets, offsets, sizeof offsets));
    }
    const ax_tensor logits = session_tensor(s, s->last_logits, AX_F32, 2, 1, V, 0);
    const ax_tensor set = session_tensor(s, s->settings, AX_U8, 2, 1, AX_SAMPLING_ROW_BYTES, 0);
    const ax_tensor ids = session_tensor(s, s->history, AX_I32, 1, h, 0, 0);
    const ax_tensor offs = session_tensor(s, s->history_offsets, AX_I64, 1, 2, 0, 0);
    ax_tensor tok = session_tensor(s, s->token_out, AX_I32, 1, 1, 0, 0);
    ax_tensor pr = session_tensor(s, s->prob_out, AX_F32, 1, 1, 0, 0);
    AX_CHECK(ax_sample(ctx, &logits, &set, h > 0 ? &ids : NULL, h > 0 ? &offs : NULL, &tok, &pr));
    int32_t chosen;
    float p;
    AX_CHECK(ax_copy_to_host(ctx, &chosen, s->token_out, sizeof chosen));
    AX_CHECK(ax_copy_to_host(ctx, &p, s->prob_out, sizeof p));
    *token = chosen;
    if (prob != NULL) *prob = p;
    return AX_OK;
}
