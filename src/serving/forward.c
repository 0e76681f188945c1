/*
 * forward.c — one ragged forward pass of the serving engine: the planned sequences' token rows
 * (prefill chunks and decode tokens mixed) through the Llama decoder with their K/V written into the
 * shared block pool, logits for the rows that sample, and batched sampling.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 *
 * The decoder is the session's (src/llm/decoder.c, llm_decoder_run); what differs here: the KV cache
 * is the engine's pool addressed through per-sequence block tables and a slot mapping, the rows
 * belong to many sequences (cu_seqlens), and only the sampling rows reach the LM head (gathered with
 * ax_embedding, which copies rows of a plain table). Every index array of a step goes to the device
 * in one copy.
 * Paged attention runs without split-K (num_splits 1) so a row's result never depends on the batch
 * it is in.
 */
#include <stdlib.h>
#include <string.h>

#include "axial/attention.h"
#include "axial/linalg.h"
#include "axial/nn.h"
#include "core/internal.h"
#include "serving/engine_internal.h"

#define SRV_ALIGN 256

typedef struct srv_carve {
    char *base;
    size_t offset;
} srv_carve;

static void *carve(srv_carve *c, size_t bytes) {
    const size_t at = (c->offset + SRV_ALIGN - 1) / SRV_ALIGN * SRV_ALIGN;
    c->offset = at + bytes;
    return c->base != NULL ? c->base + at : NULL;
}

/* The index region, in int32 elements: ids, positions, slots (B each), context_lens (R), cu_seqlens
 * (R + 1), sample_rows (R), the block table (R x max_blocks_per_seq). */
static int64_t index_count(const ax_serving_engine *e) {
    const int64_t B = e->budget, R = e->max_running;
    return 3 * B + 3 * R + 1 + R * e->max_blocks_per_seq;
}

static void carve_all(ax_serving_engine *e, srv_carve *c) {
    const ax_llm_model_info *in = &e->model->info;
    const size_t B = (size_t)e->budget, R = (size_t)e->max_running, E = (size_t)in->n_embd, F = (size_t)in->n_ff;
    const size_t Q = (size_t)in->n_head * (size_t)in->head_dim, KV = (size_t)in->n_head_kv * (size_t)in->head_dim;
    e->x = carve(c, B * E * sizeof(float));
    e->h = carve(c, B * E * sizeof(float));
    e->o = carve(c, B * E * sizeof(float));
    e->q = carve(c, B * Q * sizeof(float));
    e->attn = carve(c, B * Q * sizeof(float));
    e->k = carve(c, B * KV * sizeof(float));
    e->v = carve(c, B * KV * sizeof(float));
    e->gate = carve(c, B * F * sizeof(float));
    e->up = carve(c, B * F * sizeof(float));
    e->hs = carve(c, R * E * sizeof(float));
    e->logits = carve(c, R * (size_t)in->n_vocab * sizeof(float));
    e->index = carve(c, (size_t)index_count(e) * sizeof(int32_t));
    e->settings = carve(c, R * AX_SAMPLING_ROW_BYTES);
    e->history = carve(c, (size_t)e->history_cap * sizeof(int32_t));
    e->history_offsets = carve(c, (R + 1) * sizeof(int64_t));
    /* tokens then probabilities, adjacent: one copy back */
    e->token_out = carve(c, 2 * R * sizeof(int32_t));
    e->prob_out = e->token_out != NULL ? (float *)(e->token_out + R) : NULL;
}

static ax_tensor dev_tensor(const ax_serving_engine *e, const void *data, ax_dtype dtype, int32_t ndim, int64_t d0,
                            int64_t d1, int64_t d2) {
    const int64_t shape[3] = {d0, d1, d2};
    ax_tensor t;
    (void)ax_tensor_contiguous(&t, (void *)data, dtype, ndim, shape); /* small, valid shapes only */
    t.device = e->model->device;
    return t;
}

static float *cache_base(const ax_serving_engine *e, int32_t l, int which) {
    const ax_llm_model_info *in = &e->model->info;
    const int64_t per = e->num_blocks * e->block_size * in->n_head_kv * in->head_dim;
    return (float *)e->kv_mem + (2 * (int64_t)l + which) * per;
}

ax_status srv_forward_alloc(ax_serving_engine *e) {
    const ax_llm_model_info *in = &e->model->info;
    const int64_t R = e->max_running;
    e->history_cap = R * e->n_ctx;
    /* num_blocks * bs * Hkv * Dh * 2 * n_layer * 4 bytes, each factor below 2^31: checked. */
    size_t kv_bytes = 2 * sizeof(float);
    const size_t f[5] = {(size_t)in->n_layer, (size_t)e->num_blocks, (size_t)e->block_size, (size_t)in->n_head_kv,
                         (size_t)in->head_dim};
    for (int i = 0; i < 5; i++) {
        if (f[i] != 0 && kv_bytes > SIZE_MAX / f[i])
            return ax_set_error(AX_ERR_OUT_OF_MEMORY, "num_blocks: a pool of %lld blocks overflows the address space",
                                (long long)e->num_blocks);
        kv_bytes *= f[i];
    }
    AX_CHECK(ax_device_alloc(e->ctx, kv_bytes, &e->kv_mem));
    srv_carve measure = {NULL, 0};
    carve_all(e, &measure);
    AX_CHECK(ax_device_alloc(e->ctx, measure.offset, &e->act_mem));
    srv_carve c = {e->act_mem, 0};
    carve_all(e, &c);
    e->index_count = index_count(e);
    e->h_index = calloc((size_t)e->index_count, sizeof *e->h_index);
    e->h_settings = calloc((size_t)R, sizeof *e->h_settings);
    e->h_history = malloc((size_t)e->history_cap * sizeof *e->h_history);
    e->h_history_offsets = malloc((size_t)(R + 1) * sizeof *e->h_history_offsets);
    e->h_tokens = malloc((size_t)(2 * R) * sizeof *e->h_tokens);
    if (e->h_index == NULL || e->h_settings == NULL || e->h_history == NULL || e->h_history_offsets == NULL ||
        e->h_tokens == NULL)
        return ax_set_error(AX_ERR_OUT_OF_MEMORY, "engine: host staging for %lld sequences", (long long)R);
    e->h_probs = (float *)(e->h_tokens + R);
    return AX_OK;
}

void srv_forward_free(ax_serving_engine *e) {
    if (e->ctx != NULL) {
        ax_device_free(e->ctx, e->kv_mem);
        ax_device_free(e->ctx, e->act_mem);
    }
    free(e->h_index);
    free(e->h_settings);
    free(e->h_history);
    free(e->h_history_offsets);
    free(e->h_tokens);
}

/* Copies block `from` into block `to` in every layer's K and V (copy-on-write). The copy goes through
 * the host: it happens once per divergent shared block, a few tens of KiB per layer. */
static ax_status copy_block(ax_serving_engine *e, int32_t from, int32_t to) {
    const ax_llm_model_info *in = &e->model->info;
    const int64_t row = e->block_size * in->n_head_kv * in->head_dim;
    const size_t bytes = (size_t)row * sizeof(float);
    float *tmp = NULL;
    if (e->model->device.type != AX_CPU) {
        tmp = malloc(bytes);
        if (tmp == NULL) return ax_set_error(AX_ERR_OUT_OF_MEMORY, "copy-on-write: %zu bytes", bytes);
    }
    ax_status st = AX_OK;
    for (int32_t l = 0; l < in->n_layer && st == AX_OK; l++) {
        for (int which = 0; which < 2 && st == AX_OK; which++) {
            float *base = cache_base(e, l, which);
            if (tmp == NULL) {
                memcpy(base + (int64_t)to * row, base + (int64_t)from * row, bytes);
            } else {
                st = ax_copy_to_host(e->ctx, tmp, base + (int64_t)from * row, bytes);
                if (st == AX_OK) st = ax_copy_to_device(e->ctx, base + (int64_t)to * row, tmp, bytes);
            }
        }
    }
    free(tmp);
    return st;
}

/* A block from the sequence's reservation. Without one left (a copy-on-write its reservation did not
 * foresee, see srv_prepare_blocks) an unpromised block is borrowed when the pool has one. */
static ax_status take_block(ax_serving_engine *e, srv_seq *s, int32_t *block) {
    *block = -1;
    if (s->reserved <= 0 && kvb_available(e->pool) - e->reserved < 1)
        return ax_set_error(AX_ERR_INTERNAL, "serving: request %lld needs a block beyond its reservation",
                            (long long)s->id);
    const int32_t b = kvb_alloc(e->pool);
    if (b < 0) return ax_set_error(AX_ERR_INTERNAL, "serving: the pool is empty despite the reservations");
    if (s->reserved > 0) {
        s->reserved--;
        e->reserved--;
    }
    *block = b;
    return AX_OK;
}

ax_status srv_prepare_blocks(ax_serving_engine *e) {
    const int64_t bs = e->block_size;
    /* Newest first: a sequence admitted this step onto another's partial block writes into it first
     * and copies it (its reservation counts that block); the owner then finds the block its own again
     * and writes in place, so the owner never needs a block it did not reserve. */
    for (int64_t i = e->n_plan - 1; i >= 0; i--) {
        srv_seq *s = e->plan[i];
        const int64_t first = s->n_computed / bs, last = (s->n_computed + s->plan_tokens - 1) / bs;
        for (int64_t j = first; j <= last; j++) {
            if (j < s->n_blocks) {
                if (kvb_prepare_write(e->pool, s->blocks[j]) == KVB_WRITE_COPY) {
                    int32_t fresh = -1;
                    AX_CHECK(take_block(e, s, &fresh));
                    const ax_status st = copy_block(e, s->blocks[j], fresh);
                    kvb_release(e->pool, s->blocks[j]);
                    s->blocks[j] = fresh;
                    e->cow_step++;
                    AX_CHECK(st);
                }
                /* A block this sequence writes is no longer the registered prefix it was. */
                if (s->n_registered > j) s->n_registered = (int32_t)j;
            } else {
                AX_CHECK(take_block(e, s, &s->blocks[s->n_blocks]));
                s->n_blocks++;
            }
        }
    }
    return AX_OK;
}

/* Builds the step's index arrays on the host; returns T (rows) and the number of sampling rows. */
static void build_index(ax_serving_engine *e, int64_t *T_out, int64_t *ns_out, int64_t *max_q, int64_t *max_ctx) {
    const int64_t B = e->budget, R = e->max_running, bs = e->block_size, MB = e->max_blocks_per_seq;
    int32_t *ids = e->h_index, *pos = ids + B, *slots = pos + B, *ctx_lens = slots + B, *cu = ctx_lens + R;
    int32_t *sample_rows = cu + R + 1, *table = sample_rows + R;
    int64_t r = 0, ns = 0;
    *max_q = 0;
    *max_ctx = 0;
    cu[0] = 0;
    for (int64_t i = 0; i < e->n_plan; i++) {
        srv_seq *s = e->plan[i];
        for (int64_t t = 0; t < s->plan_tokens; t++, r++) {
            const int64_t p = s->n_computed + t;
            ids[r] = s->tokens[p];
            pos[r] = (int32_t)p;
            slots[r] = (int32_t)(s->blocks[p / bs] * bs + p % bs);
        }
        ctx_lens[i] = (int32_t)(s->n_computed + s->plan_tokens);
        cu[i + 1] = (int32_t)r;
        memcpy(table + i * MB, s->blocks, (size_t)s->n_blocks * sizeof(int32_t));
        memset(table + i * MB + s->n_blocks, 0, (size_t)(MB - s->n_blocks) * sizeof(int32_t));
        if (s->plan_sample) {
            s->sample_row = ns;
            sample_rows[ns++] = (int32_t)(r - 1);
        }
        if (s->plan_tokens > *max_q) *max_q = s->plan_tokens;
        if (ctx_lens[i] > *max_ctx) *max_ctx = ctx_lens[i];
    }
    *T_out = r;
    *ns_out = ns;
}

static ax_status run_decoder(ax_serving_engine *e, int64_t T, int64_t S, int64_t max_q, int64_t max_ctx) {
    const int64_t B = e->budget, R = e->max_running;
    int32_t *d_ids = e->index, *d_pos = d_ids + B, *d_slots = d_pos + B, *d_ctx = d_slots + B, *d_cu = d_ctx + R;
    int32_t *d_table = d_cu + R + 1 + R;
    const ax_tensor ids = dev_tensor(e, d_ids, AX_I32, 1, T, 0, 0);
    const ax_tensor positions = dev_tensor(e, d_pos, AX_I32, 1, T, 0, 0);
    const ax_tensor slots = dev_tensor(e, d_slots, AX_I32, 1, T, 0, 0);
    const ax_tensor context_lens = dev_tensor(e, d_ctx, AX_I32, 1, S, 0, 0);
    const ax_tensor cu_seqlens = dev_tensor(e, d_cu, AX_I32, 1, S + 1, 0, 0);
    const ax_tensor block_table = dev_tensor(e, d_table, AX_I32, 2, S, e->max_blocks_per_seq, 0);
    llm_decoder_batch b = {0};
    b.T = T;
    b.ids = &ids;
    b.positions = &positions;
    b.slots = &slots;
    b.block_table = &block_table;
    b.context_lens = &context_lens;
    b.cu_seqlens = &cu_seqlens;
    b.attn = ax_paged_attention_options_default();
    b.attn.num_splits = 1; /* batch-invariant rows (see the top of this file) */
    b.attn.max_seqlen_q = max_q;
    b.attn.max_context_len = max_ctx;
    b.kv = e->kv_mem;
    b.num_blocks = e->num_blocks;
    b.block_size = e->block_size;
    b.buf = (llm_decoder_buffers){e->x, e->h, e->o, e->q, e->attn, e->k, e->v, e->gate, e->up};
    return llm_decoder_run(e->model, e->ctx, &b);
}

/* Logits of the sampling rows and one draw per row. */
static ax_status sample_rows(ax_serving_engine *e, int64_t T, int64_t ns) {
    const ax_llm_model *m = e->model;
    const int64_t E = m->info.n_embd, V = m->info.n_vocab, B = e->budget, R = e->max_running;
    ax_context *ctx = e->ctx;
    int32_t *d_rows = e->index + 3 * B + 2 * R + 1;
    const ax_tensor rows = dev_tensor(e, d_rows, AX_I32, 1, ns, 0, 0);
    const ax_tensor h = dev_tensor(e, e->h, AX_F32, 2, T, E, 0);
    ax_tensor hs = dev_tensor(e, e->hs, AX_F32, 2, ns, E, 0);
    ax_tensor logits = dev_tensor(e, e->logits, AX_F32, 2, ns, V, 0);
    AX_CHECK(ax_embedding(ctx, &rows, &h, &hs));
    AX_CHECK(llm_matmul(ctx, &hs, &m->output, m->output_p, &logits));

    /* settings and histories, in sampling-row order */
    int64_t nh = 0;
    e->h_history_offsets[0] = 0;
    for (int64_t i = 0; i < e->n_plan; i++) {
        const srv_seq *s = e->plan[i];
        if (!s->plan_sample) continue;
        const int64_t r = s->sample_row;
        ax_sampling_row row = s->sampling;
        row.counter = (uint64_t)(s->n_total - s->n_prompt); /* draw i of the request uses counter i */
        e->h_settings[r] = row;
        const int64_t seen = s->penalty_generated_only ? s->n_total - s->n_prompt : s->n_total;
        const int64_t hn = s->penalty_last_n < seen ? s->penalty_last_n : seen;
        memcpy(e->h_history + nh, s->tokens + s->n_total - hn, (size_t)hn * sizeof(int32_t));
        nh += hn;
        e->h_history_offsets[r + 1] = nh;
    }
    AX_CHECK(ax_copy_to_device(ctx, e->settings, e->h_settings, (size_t)ns * AX_SAMPLING_ROW_BYTES));
    if (nh > 0) {
        AX_CHECK(ax_copy_to_device(ctx, e->history, e->h_history, (size_t)nh * sizeof(int32_t)));
        AX_CHECK(ax_copy_to_device(ctx, e->history_offsets, e->h_history_offsets, (size_t)(ns + 1) * sizeof(int64_t)));
    }
    const ax_tensor set = dev_tensor(e, e->settings, AX_U8, 2, ns, AX_SAMPLING_ROW_BYTES, 0);
    const ax_tensor hist = dev_tensor(e, e->history, AX_I32, 1, nh, 0, 0);
    const ax_tensor offs = dev_tensor(e, e->history_offsets, AX_I64, 1, ns + 1, 0, 0);
    ax_tensor tok = dev_tensor(e, e->token_out, AX_I32, 1, ns, 0, 0);
    ax_tensor pr = dev_tensor(e, e->prob_out, AX_F32, 1, ns, 0, 0);
    AX_CHECK(ax_sample(ctx, &logits, &set, nh > 0 ? &hist : NULL, nh > 0 ? &offs : NULL, &tok, &pr));
    AX_CHECK(ax_copy_to_host(ctx, e->h_tokens, e->token_out, (size_t)(2 * R) * sizeof(int32_t)));
    for (int64_t i = 0; i < e->n_plan; i++) {
        srv_seq *s = e->plan[i];
        if (!s->plan_sample) continue;
        s->new_tokens[0] = e->h_tokens[s->sample_row];
        s->new_probs[0] = e->h_probs[s->sample_row];
        s->n_new = 1;
    }
    return AX_OK;
}

ax_status srv_forward(ax_serving_engine *e) {
    int64_t T, ns, max_q, max_ctx;
    build_index(e, &T, &ns, &max_q, &max_ctx);
    if (T == 0) return AX_OK;
    AX_CHECK(ax_copy_to_device(e->ctx, e->index, e->h_index, (size_t)e->index_count * sizeof(int32_t)));
    AX_CHECK(run_decoder(e, T, e->n_plan, max_q, max_ctx));
    if (ns > 0) AX_CHECK(sample_rows(e, T, ns));
    return AX_OK;
}
