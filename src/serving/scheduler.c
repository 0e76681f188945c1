/*
 * scheduler.c — admission and the three batching policies. A step is one forward pass of at most
 * `budget` token rows; the policy decides which sequences run how many tokens in it.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 *
 * KV admission by reservation (cfg.preemption 0, the default): a request is admitted only when the
 * pool can give it every block it may ever need (for prompt + max_tokens - 1 tokens, capped at
 * n_ctx - 1: the last token is sampled, never run), less the prefix blocks it shares and will not
 * write. The blocks are then taken as the sequence grows, but they are promised, so a running
 * sequence never runs out of room and nothing is ever preempted. The price is admitting fewer
 * sequences than a preempting scheduler when most requests stop long before max_tokens (or give
 * none: a chat without max_tokens reserves the rest of the context).
 *
 * With cfg.preemption 1 the reservation covers only the tokens to run before the next sample (the
 * prompt, or after a preemption everything the sequence holds), and admission also leaves one
 * unpromised block per running sequence, so that the step that admits a request cannot have to
 * preempt one. Running sequences then borrow unpromised blocks as they grow (take_block in
 * forward.c); fit_plan (below) checks, before the blocks are taken, that the step's borrowing fits, and
 * preempts the latest-submitted running sequences (recompute, as vLLM does; srv_preempt) until it
 * does. The earliest-submitted sequence is never preempted and always fits alone (a request whose
 * max_tokens cannot fit the whole pool is refused at submission), so every request ends.
 */
#include <string.h>

#include "core/internal.h"
#include "serving/engine_internal.h"

static int64_t blocks_for(const ax_serving_engine *e, int64_t tokens) {
    return (tokens + e->block_size - 1) / e->block_size;
}

int srv_try_admit(ax_serving_engine *e, srv_seq *s) {
    if (e->n_running >= e->max_running) return 0;
    int32_t matched_blocks = 0;
    int64_t matched = 0;
    if (e->cfg.prefix_sharing)
        matched_blocks =
            kvb_match(e->pool, s->tokens, s->n_prefill, (int32_t)e->max_blocks_per_seq, s->blocks, &matched);
    /* The last token to prefill is always computed: its logits give the next token. */
    const int64_t computed = matched < s->n_prefill ? matched : s->n_prefill - 1;
    /* Blocks from the one holding position `computed` on will be written (or copied first). */
    const int64_t kept = computed / e->block_size;
    int64_t need = blocks_for(e, e->cfg.preemption ? s->n_prefill : s->max_kv) - kept;
    /* The block at `kept`, written first, may be one the match took from the cache with no other
     * holder: it is then written in place, not copied, and needs no block of its own. It leaves the
     * index now, so that no request admitted before that write can share it and force a copy this
     * reservation does not cover. (Counting a copy had left a request that fits the pool alone
     * waiting for ever once its prefix was cached, and every request behind it.) */
    const int in_place = kept < matched_blocks && kvb_refcount(e->pool, s->blocks[kept]) == 1;
    if (in_place) need--;
    /* Preempting: a block of room for each running sequence's growth stays unpromised. */
    const int64_t margin = e->cfg.preemption ? e->n_running : 0;
    if (kvb_available(e->pool) - e->reserved - margin < need) {
        for (int32_t b = 0; b < matched_blocks; b++) kvb_release(e->pool, s->blocks[b]);
        return 0;
    }
    if (in_place) (void)kvb_prepare_write(e->pool, s->blocks[kept]); /* unregisters it: OK, in place */
    s->n_blocks = matched_blocks;
    s->n_computed = computed;
    /* The shared blocks are in the index already (not the one just taken out of it). */
    s->n_registered = in_place ? (int32_t)kept : matched_blocks;
    s->reserved = need;
    e->reserved += need;
    s->state = SRV_RUNNING;
    e->running[e->n_running++] = s;
    if (s->t_admit == 0.0) {
        s->t_admit = srv_now();
        s->n_cached = computed;
        e->stats.prompt_tokens += s->n_prompt;
        e->stats.cached_prompt_tokens += computed;
    } else { /* a readmission after a preemption */
        e->n_requeued--;
    }
    return 1;
}

static void plan_add(ax_serving_engine *e, srv_seq *s, int64_t n, int64_t *left) {
    s->plan_tokens = n;
    /* Only the chunk that completes the prompt (or a decode token) samples. */
    s->plan_sample = s->n_computed + n == s->n_total;
    e->plan[e->n_plan++] = s;
    *left -= n;
}

static int is_decoding(const srv_seq *s) { return s->n_computed == s->n_total - 1 && s->n_total > s->n_prefill; }
static int is_prefilling(const srv_seq *s) { return s->n_computed < s->n_prefill; }

/* Prompt chunks of admitted sequences, in admission order; whole_only: a chunk is the whole rest of
 * the prompt, or nothing unless the step is still empty (a prompt longer than the budget then runs
 * alone, over several steps). */
static void plan_prefills(ax_serving_engine *e, int64_t *left, int whole_only) {
    for (int64_t i = 0; i < e->n_running && *left > 0; i++) {
        srv_seq *s = e->running[i];
        if (!is_prefilling(s)) continue;
        const int64_t rest = s->n_prefill - s->n_computed;
        if (whole_only && rest > *left && e->n_plan > 0) continue;
        plan_add(e, s, rest < *left ? rest : *left, left);
    }
}

/* Admits waiting requests in FIFO order while they fit (stops at the first that does not, so no
 * request is overtaken forever) and plans their first chunk. */
static void admit_and_plan(ax_serving_engine *e, int64_t *left, int whole_only, int64_t limit) {
    int64_t admitted = 0;
    while (e->n_waiting > 0 && *left > 0 && admitted < limit) {
        srv_seq *s = e->waiting[0];
        const int64_t rest = s->n_prefill; /* before admission: the prompt less what sharing covers */
        if (whole_only && e->n_plan > 0 && rest > *left) break;
        if (!srv_try_admit(e, s)) break;
        memmove(e->waiting, e->waiting + 1, (size_t)(e->n_waiting - 1) * sizeof *e->waiting);
        e->n_waiting--;
        e->stats.waiting = e->n_waiting;
        admitted++;
        const int64_t chunk = s->n_prefill - s->n_computed;
        plan_add(e, s, chunk < *left ? chunk : *left, left);
    }
}

static void plan_decodes(ax_serving_engine *e, int64_t *left) {
    for (int64_t i = 0; i < e->n_running && *left > 0; i++)
        if (is_decoding(e->running[i])) plan_add(e, e->running[i], 1, left);
}

/* Blocks the plan's sequences take beyond their reservations: a new block for each one the step's
 * tokens reach past the table, and one for each shared block they write (copy-on-write; counted even
 * where srv_prepare_blocks will find the block its own again after a newer sharer copied it, so
 * this is an upper bound). */
static int64_t plan_borrowing(const ax_serving_engine *e) {
    const int64_t bs = e->block_size;
    int64_t total = 0;
    for (int64_t i = 0; i < e->n_plan; i++) {
        const srv_seq *s = e->plan[i];
        const int64_t first = s->n_computed / bs, last = (s->n_computed + s->plan_tokens - 1) / bs;
        int64_t takes = 0;
        for (int64_t j = first; j <= last; j++)
            takes += j >= s->n_blocks ||
                     (kvb_refcount(e->pool, s->blocks[j]) > 1 && kvb_registered_tokens(e->pool, s->blocks[j]) > 0);
        if (takes > s->reserved) total += takes - s->reserved;
    }
    return total;
}

/* cfg.preemption 1: preempts running sequences, latest-submitted first, until the plan's borrowing
 * fits the unpromised blocks. The earliest-submitted one stays (it fits alone). */
static void fit_plan(ax_serving_engine *e) {
    while (e->n_running > 1 && plan_borrowing(e) > kvb_available(e->pool) - e->reserved) {
        srv_seq *victim = e->running[0];
        for (int64_t i = 1; i < e->n_running; i++)
            if (e->running[i]->id > victim->id) victim = e->running[i];
        srv_preempt(e, victim);
    }
}

void srv_schedule(ax_serving_engine *e) {
    e->n_plan = 0;
    int64_t left = e->budget;
    switch (e->cfg.policy) {
    case AX_SERVING_SPLITFUSE:
        plan_decodes(e, &left);
        plan_prefills(e, &left, 0);
        admit_and_plan(e, &left, 0, INT64_MAX);
        break;
    case AX_SERVING_PREFILL_FIRST: {
        plan_prefills(e, &left, 1);
        admit_and_plan(e, &left, 1, INT64_MAX);
        if (e->n_plan == 0) plan_decodes(e, &left);
        break;
    }
    case AX_SERVING_STATIC:
        if (e->n_running == 0) {
            e->static_batch_open = 0;
            admit_and_plan(e, &left, 1, e->static_batch);
            /* The rest of the batch is admitted now too, its prompts run in the next steps. */
            while (e->n_waiting > 0 && e->n_running < e->static_batch && srv_try_admit(e, e->waiting[0])) {
                memmove(e->waiting, e->waiting + 1, (size_t)(e->n_waiting - 1) * sizeof *e->waiting);
                e->n_waiting--;
                e->stats.waiting = e->n_waiting;
            }
            e->static_batch_open = e->n_running > 0;
        } else {
            plan_prefills(e, &left, 1);
        }
        if (e->n_plan == 0) plan_decodes(e, &left);
        break;
    }
    if (e->cfg.preemption) fit_plan(e);
    e->stats.running = e->n_running;
    e->stats.waiting = e->n_waiting;
}
