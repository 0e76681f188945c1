/*
 * cases_paged_attention.c — ax_paged_attention (attention.h): decode-only, prefill-only and mixed
 * (Dynamic SplitFuse: chunks, single tokens, empty sequences) batches; block sizes 16, 32 and 48;
 * block ids shuffled over the pool (table entries past a sequence's blocks are -1); GQA, MQA and
 * group sizes past the CPU's tile; sliding windows causal and not; soft-cap with a scale; split-K
 * forced (3) and chosen by the op; contexts exactly at a block boundary, and an empty one (no
 * blocks, no queries); D = 33 and 40 (vector tails); query rows past cu_seqlens_q[num_seqs] (left
 * alone); f32 / bf16 / f16 caches and i8 / f8_e4m3fn caches with per-(block, head) scales.
 *
 * Reference: float64, from the stored inputs: each sequence's keys gathered through the block table
 * (quantized entries dequantized exactly as code * scale), logits q.k * scale, soft-cap, the
 * bottom-right aligned mask, a naive softmax; out and lse = log(sum exp). The padded cases pad q,
 * out and lse and store the block table with its dims reversed.
 *
 * Bound: the inputs reach the kernel exactly; it rounds q * scale once, dequantizes once (u32 each),
 * sums D products and up to ctx softmax terms in fp32 and computes exp to 1.4e-7. A logit error
 * moves out by at most that much times max |v| and lse by that much, so both get
 * norm_rtol = 4 (D + max ctx + 16) u32 relative to the output's largest value (floor 1), plus one
 * rounding into out's dtype (rtol u_out).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "axial/attention.h"
#include "op_registry.h"

#define PMAX 6

enum { CACHE_FLOAT = 0, CACHE_I8 = 1, CACHE_F8 = 2 };

typedef struct paged_case {
    const char *name;
    int nseq;
    int n[PMAX], ctx[PMAX]; /* queries (the last n tokens) and context length per sequence */
    int64_t H, Hkv, D, bs;
    int extra_blocks;       /* pool blocks no sequence uses */
    int pad_rows;           /* query rows past cu_seqlens_q[nseq] */
    int causal;
    int64_t wl, wr;
    float scale, softcap;
    int32_t splits;
    int cache;
    int lse;
    op_layout layout;       /* of q and out */
    int quick;
} paged_case;

static const paged_case cases[] = {
    {"decode", 4, {1, 1, 1, 1}, {17, 64, 100, 33}, 4, 4, 64, 16, 3, 0, 1, -1, -1, 0, 0, 1, CACHE_FLOAT, 1, OP_CONTIGUOUS, 1},
    {"prefill", 2, {40, 23}, {40, 23}, 4, 2, 32, 16, 1, 0, 1, -1, -1, 0, 0, 1, CACHE_FLOAT, 1, OP_CONTIGUOUS, 1},
    {"mixed splitfuse", 5, {1, 8, 0, 1, 13}, {50, 40, 30, 1, 96}, 6, 2, 40, 32, 2, 2, 1, -1, -1, 0, 0, 1, CACHE_FLOAT, 1,
     OP_PADDED, 1},
    {"block 48 mqa", 3, {1, 5, 3}, {150, 96, 49}, 4, 1, 64, 48, 1, 0, 1, -1, -1, 0, 0, 1, CACHE_FLOAT, 1, OP_CONTIGUOUS, 0},
    {"causal window 17", 3, {1, 6, 20}, {80, 70, 20}, 4, 2, 32, 16, 0, 0, 1, 17, -1, 0, 0, 1, CACHE_FLOAT, 1,
     OP_CONTIGUOUS, 0},
    {"window 9/4 not causal", 2, {3, 12}, {60, 12}, 2, 1, 24, 16, 0, 0, 0, 9, 4, 0, 0, 1, CACHE_FLOAT, 1, OP_CONTIGUOUS, 0},
    {"not causal", 2, {4, 1}, {37, 20}, 4, 2, 16, 16, 0, 0, 0, -1, -1, 0, 0, 1, CACHE_FLOAT, 1, OP_CONTIGUOUS, 0},
    {"softcap 3 scale 0.4", 2, {2, 9}, {66, 30}, 4, 4, 48, 16, 1, 0, 1, -1, -1, 0.4f, 3.0f, 1, CACHE_FLOAT, 1,
     OP_CONTIGUOUS, 1},
    {"split-k 3 decode", 3, {1, 1, 1}, {200, 37, 64}, 8, 2, 64, 16, 2, 0, 1, -1, -1, 0, 0, 3, CACHE_FLOAT, 1,
     OP_CONTIGUOUS, 1},
    {"split-k 3 mixed window 50", 4, {1, 7, 0, 4}, {130, 90, 0, 4}, 4, 2, 32, 32, 0, 1, 1, 50, -1, 0, 0, 3, CACHE_FLOAT, 1,
     OP_CONTIGUOUS, 0},
    {"split-k auto long decode", 2, {1, 1}, {1500, 1100}, 2, 1, 64, 16, 0, 0, 1, -1, -1, 0, 0, 0, CACHE_FLOAT, 1,
     OP_CONTIGUOUS, 0},
    {"block boundary", 2, {32, 1}, {32, 48}, 2, 2, 64, 16, 0, 0, 1, -1, -1, 0, 0, 1, CACHE_FLOAT, 1, OP_CONTIGUOUS, 0},
    {"d 33 gqa 3", 2, {1, 5}, {40, 19}, 3, 1, 33, 16, 0, 0, 1, -1, -1, 0, 0, 1, CACHE_FLOAT, 0, OP_CONTIGUOUS, 0},
    {"mqa group 16", 3, {1, 1, 2}, {33, 64, 17}, 16, 1, 32, 16, 0, 0, 1, -1, -1, 0, 0, 1, CACHE_FLOAT, 1, OP_CONTIGUOUS, 0},
    {"mqa group 40", 1, {5}, {20}, 40, 1, 16, 16, 0, 0, 1, -1, -1, 0, 0, 1, CACHE_FLOAT, 1, OP_CONTIGUOUS, 0},
    {"i8 cache mixed", 4, {1, 6, 0, 2}, {70, 30, 10, 33}, 4, 2, 64, 16, 2, 1, 1, -1, -1, 0, 0, 1, CACHE_I8, 1, OP_PADDED, 1},
    {"f8 cache gqa 4", 3, {1, 9, 1}, {100, 9, 49}, 8, 2, 32, 32, 1, 0, 1, -1, -1, 0, 0, 1, CACHE_F8, 1, OP_CONTIGUOUS, 1},
    {"i8 cache split-k 3 block 48", 2, {1, 3}, {300, 60}, 2, 1, 64, 48, 0, 0, 1, -1, -1, 0, 0, 3, CACHE_I8, 1,
     OP_CONTIGUOUS, 0},
    {"f8 cache window softcap", 2, {4, 1}, {64, 20}, 4, 1, 16, 16, 0, 0, 1, 12, -1, 0, 5.0f, 1, CACHE_F8, 0, OP_CONTIGUOUS,
     0},
};

static const op_dtype_pair dtypes[] = {{AX_F32, AX_F32}, {AX_BF16, AX_BF16}, {AX_F16, AX_F16}};

static int paged_make_case(int index, op_mode mode, op_case *c) {
    const int n = (int)(sizeof cases / sizeof cases[0]);
    int seen = -1;
    for (int i = 0; i < n; i++) {
        if (mode == OP_QUICK && !cases[i].quick) continue;
        if (++seen != index) continue;
        const paged_case *r = &cases[i];
        c->params = r;
        snprintf(c->name, sizeof c->name, "%s (seqs %d, H %lld/%lld, D %lld, block %lld)", r->name, r->nseq,
                 (long long)r->H, (long long)r->Hkv, (long long)r->D, (long long)r->bs);
        c->n_dtypes = (int)(sizeof dtypes / sizeof dtypes[0]);
        memcpy(c->dtypes, dtypes, sizeof dtypes);
        return 1;
    }
    return 0;
}

static int64_t blocks_of(const paged_case *r, int s) { return (r->ctx[s] + r->bs - 1) / r->bs; }

static int paged_setup(const op_case *c, op_dtype_pair dt, op_problem *p) {
    const paged_case *r = c->params;
    int64_t T = r->pad_rows, used = 0, MB = 0;
    for (int s = 0; s < r->nseq; s++) {
        T += r->n[s];
        used += blocks_of(r, s);
        if (blocks_of(r, s) > MB) MB = blocks_of(r, s);
    }
    MB += 1; /* one more column than any sequence needs: its entries are -1 */
    const int64_t NB = used + r->extra_blocks, NS = r->nseq, NS1 = NS + 1;
    const ax_dtype cdt = r->cache == CACHE_I8 ? AX_I8 : r->cache == CACHE_F8 ? AX_F8_E4M3FN : dt.in;
    const int64_t qs[3] = {T, r->H, r->D}, cs[4] = {NB, r->bs, r->Hkv, r->D}, bts[2] = {NS, MB}, ss[2] = {NB, r->Hkv};
    const int64_t ls[2] = {r->H, T};
    op_tensor *q = op_tensor_new(p, "q", OP_INPUT, dt.in, 3, qs, r->layout);
    op_tensor *kc = op_tensor_new(p, "k_cache", OP_INPUT, cdt, 4, cs, OP_CONTIGUOUS);
    op_tensor *vc = op_tensor_new(p, "v_cache", OP_INPUT, cdt, 4, cs, OP_PADDED);
    /* Padded cases also get a block table with its dims reversed in memory (any strides work). */
    op_tensor *bt = op_tensor_new(p, "block_table", OP_INPUT, AX_I32, 2, bts,
                                  r->layout == OP_PADDED ? OP_REVERSED : OP_CONTIGUOUS);
    op_tensor *cl = op_tensor_new(p, "context_lens", OP_INPUT, AX_I32, 1, &NS, OP_CONTIGUOUS);
    op_tensor *cu = op_tensor_new(p, "cu_seqlens_q", OP_INPUT, AX_I32, 1, &NS1, OP_CONTIGUOUS);
    op_tensor *out = op_tensor_new(p, "out", OP_OUTPUT, dt.in, 3, qs, r->layout);
    if (!q || !kc || !vc || !bt || !cl || !cu || !out) return -1;
    if (r->lse && op_tensor_new(p, "lse", OP_OUTPUT, AX_F32, 2, ls, OP_PADDED) == NULL) return -1;
    op_fill_uniform(p, q, -1.0, 1.0);
    if (r->cache == CACHE_FLOAT) {
        op_fill_uniform(p, kc, -1.0, 1.0);
        op_fill_uniform(p, vc, -1.0, 1.0);
    } else {
        /* Codes over most of each format's range; scales bring the values near [-1.5, 1.5]. */
        const double span = r->cache == CACHE_I8 ? 127.99 : 240.0, s_lo = 1.0 / span, s_hi = 1.5 / span;
        op_fill_uniform(p, kc, -span, span);
        op_fill_uniform(p, vc, -span, span);
        op_tensor *ks = op_tensor_new(p, "k_scales", OP_INPUT, AX_F32, 2, ss, OP_CONTIGUOUS);
        op_tensor *vs = op_tensor_new(p, "v_scales", OP_INPUT, AX_F32, 2, ss, OP_PADDED);
        if (!ks || !vs) return -1;
        op_fill_uniform(p, ks, s_lo, s_hi);
        op_fill_uniform(p, vs, s_lo, s_hi);
        /* Scales that are not > 0 mark blocks that hold nothing (as ax_kv_cache_append reads them):
         * their rows count as 0 (they had dequantized as code * -1 and as NaN). */
        for (int64_t b = 0; b < NB; b++) {
            if (b % 5 == 1) op_set(ks, b * r->Hkv, -1.0);
            if (b % 5 == 2) op_set(vs, b * r->Hkv, NAN);
        }
    }
    /* Block ids: a shuffled pool, dealt out to the sequences in order. */
    int64_t perm[512];
    if (NB > 512) return -1;
    for (int64_t i = 0; i < NB; i++) perm[i] = i;
    for (int64_t i = NB - 1; i > 0; i--) {
        const int64_t j = op_rng_below(&p->rng, i + 1), x = perm[i];
        perm[i] = perm[j], perm[j] = x;
    }
    int64_t next = 0, q0 = 0;
    for (int s = 0; s < r->nseq; s++) {
        for (int64_t b = 0; b < MB; b++) op_set(bt, s * MB + b, b < blocks_of(r, s) ? (double)perm[next++] : -1.0);
        op_set(cl, s, r->ctx[s]);
        op_set(cu, s, (double)q0);
        q0 += r->n[s];
    }
    op_set(cu, r->nseq, (double)q0);
    return 0;
}

/* A stored scale that is not > 0 (negative, NaN) counts as 0. */
static double live_scale(double s) { return s > 0.0 ? s : 0.0; }

static void paged_reference(const op_case *c, op_dtype_pair dt, op_problem *p) {
    (void)dt;
    const paged_case *r = c->params;
    const op_tensor *q = op_find(p, "q"), *kc = op_find(p, "k_cache"), *vc = op_find(p, "v_cache");
    const op_tensor *bt = op_find(p, "block_table"), *ks = op_find(p, "k_scales"), *vs = op_find(p, "v_scales");
    op_tensor *out = op_find(p, "out"), *lse = op_find(p, "lse");
    const int64_t H = r->H, Hkv = r->Hkv, D = r->D, bs = r->bs, T = q->t.shape[0], MB = bt->t.shape[1];
    const int64_t group = H / Hkv;
    /* Rows no sequence owns keep the poison. */
    for (int64_t i = 0; i < out->numel; i++) out->expected[i] = NAN;
    if (lse) for (int64_t i = 0; i < lse->numel; i++) lse->expected[i] = NAN;
    const double scale = r->scale > 0.0f ? (double)r->scale : 1.0 / sqrt((double)D);
    static double logits[2048];
    int64_t q0 = 0;
    for (int s = 0; s < r->nseq; s++) {
        const int64_t n = r->n[s], ctx = r->ctx[s];
        for (int64_t i = 0; i < n; i++) {
            const int64_t pos = i + ctx - n;
            const int64_t lo = r->wl >= 0 && pos - r->wl > 0 ? pos - r->wl : 0;
            const int64_t wr = r->causal ? 0 : r->wr;
            const int64_t hi = wr >= 0 && pos + wr + 1 < ctx ? pos + wr + 1 : ctx;
            for (int64_t h = 0; h < H; h++) {
                const int64_t g = h / group, t = q0 + i;
                double m = -INFINITY;
                for (int64_t j = lo; j < hi; j++) {
                    const int64_t blk = (int64_t)bt->value[s * MB + j / bs], row = j % bs;
                    const double sk = ks ? live_scale(ks->value[blk * Hkv + g]) : 1.0;
                    double x = 0.0;
                    for (int64_t d = 0; d < D; d++)
                        x += q->value[(t * H + h) * D + d] * kc->value[((blk * bs + row) * Hkv + g) * D + d] * sk;
                    x *= scale;
                    if (r->softcap > 0.0f) x = (double)r->softcap * tanh(x / (double)r->softcap);
                    logits[j - lo] = x;
                    m = x > m ? x : m;
                }
                double sum = 0.0;
                for (int64_t j = lo; j < hi; j++) sum += exp(logits[j - lo] - m);
                for (int64_t d = 0; d < D; d++) {
                    double o = 0.0;
                    for (int64_t j = lo; j < hi; j++) {
                        const int64_t blk = (int64_t)bt->value[s * MB + j / bs], row = j % bs;
                        const double sv = vs ? live_scale(vs->value[blk * Hkv + g]) : 1.0;
                        o += exp(logits[j - lo] - m) / sum * vc->value[((blk * bs + row) * Hkv + g) * D + d] * sv;
                    }
                    out->expected[(t * H + h) * D + d] = hi > lo ? o : 0.0;
                }
                if (lse) lse->expected[h * T + t] = hi > lo ? m + log(sum) : -INFINITY;
            }
        }
        q0 += n;
    }
}

static ax_status paged_run(ax_context *ctx, const op_case *c, op_dtype_pair dt, op_problem *p) {
    (void)dt;
    const paged_case *r = c->params;
    ax_paged_attention_options o = ax_paged_attention_options_default();
    o.causal = r->causal;
    o.window_left = r->wl;
    o.window_right = r->wr;
    o.scale = r->scale;
    o.softcap = r->softcap;
    o.num_splits = r->splits;
    return ax_paged_attention(ctx, op_in(p, "q"), op_in(p, "k_cache"), op_in(p, "v_cache"), op_in(p, "block_table"),
                              op_in(p, "context_lens"), op_in(p, "cu_seqlens_q"), op_in(p, "k_scales"),
                              op_in(p, "v_scales"), &o, op_out(p, "out"), op_out(p, "lse"));
}

static op_tol paged_tolerance(const op_case *c, op_dtype_pair dt, op_backend be, const op_tensor *out) {
    (void)be;
    const paged_case *r = c->params;
    const double u32 = ldexp(1.0, -24);
    int64_t max_ctx = 0;
    for (int s = 0; s < r->nseq; s++) max_ctx = r->ctx[s] > max_ctx ? r->ctx[s] : max_ctx;
    op_tol t;
    memset(&t, 0, sizeof t);
    t.norm_rtol = 4.0 * (double)(r->D + max_ctx + 16) * u32;
    t.norm_floor = 1.0;
    t.rtol = strcmp(out->name, "out") == 0 ? opd_unit_roundoff(dt.in) : u32;
    return t;
}

const op_table op_table_paged_attention = {
    .name = "paged_attention",
    .make_case = paged_make_case,
    .setup = paged_setup,
    .reference = paged_reference,
    .run = paged_run,
    .tolerance = paged_tolerance,
};
