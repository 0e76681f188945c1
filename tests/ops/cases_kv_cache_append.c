/*
 * cases_kv_cache_append.c — ax_kv_cache_append (attention.h): decode rows scattered over blocks, a
 * prefill chunk running across block boundaries, several rows of one block in an order that is not
 * the slots' order, padding rows (slot -1), int32 and int64 slots, block sizes 16 and 48, D = 33;
 * float caches (same dtype as k, wider, narrower) and i8 / f8_e4m3fn caches whose blocks start
 * fresh (scale 0, arbitrary codes, a NaN code among them), or live with a scale that the new rows
 * sometimes exceed (the block is then requantized, its scale doubled until it covers them) and
 * sometimes not; and an i8 cache fed +inf, -inf
 * and NaN.
 *
 * Reference: a float64 model of the documented rules applied row by row in order of t, rounding to
 * fp32 after each operation as the rules say (attention_params.h: kv_quant_*), with the driver's own
 * codec for f8_e4m3fn and nearbyint for i8. Every cache element and every scale must match exactly:
 * the rules fix each bit.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "axial/attention.h"
#include "op_registry.h"

enum { KC_FLOAT = 0, KC_I8 = 1, KC_F8 = 2 };
enum { SLOTS_SCATTER = 0, SLOTS_RUN = 1, SLOTS_LIST = 2 };

typedef struct append_case {
    const char *name;
    int64_t T, Hkv, D, NB, bs;
    int pattern;        /* SLOTS_*: one row per block at random, a run from `start`, or `list` */
    int64_t start;
    int list[12];
    ax_dtype slot_dtype;
    int cache;
    op_layout layout;   /* of k, v and the caches */
    int quick;
    int nonfinite;      /* k holds +inf, -inf and NaN in three rows */
} append_case;

static const append_case cases[] = {
    {"decode scatter", 5, 2, 64, 8, 16, SLOTS_SCATTER, 0, {0}, AX_I32, KC_FLOAT, OP_CONTIGUOUS, 1, 0},
    {"prefill run", 40, 2, 32, 6, 16, SLOTS_RUN, 21, {0}, AX_I32, KC_FLOAT, OP_PADDED, 1, 0},
    {"one block out of order, padding", 8, 2, 24, 4, 16, SLOTS_LIST, 0, {33, 20, -1, 38, 17, 45, -1, 32}, AX_I64,
     KC_FLOAT, OP_CONTIGUOUS, 0, 0},
    {"block 48 d 33", 30, 1, 33, 3, 48, SLOTS_RUN, 40, {0}, AX_I64, KC_FLOAT, OP_CONTIGUOUS, 0, 0},
    {"i8 decode scatter", 6, 2, 64, 9, 16, SLOTS_SCATTER, 0, {0}, AX_I32, KC_I8, OP_CONTIGUOUS, 1, 0},
    {"i8 prefill run", 40, 2, 32, 6, 16, SLOTS_RUN, 21, {0}, AX_I32, KC_I8, OP_PADDED, 1, 0},
    {"i8 one block out of order, padding", 8, 2, 24, 4, 16, SLOTS_LIST, 0, {33, 20, -1, 38, 17, 45, -1, 32}, AX_I64,
     KC_I8, OP_CONTIGUOUS, 0, 0},
    {"i8 block 48 d 33", 30, 1, 33, 3, 48, SLOTS_RUN, 40, {0}, AX_I64, KC_I8, OP_CONTIGUOUS, 0, 0},
    /* An infinity must not reach a block's scale (it had zeroed the block's rows and made every
     * later read 0 * inf = NaN); it saturates, and a NaN is stored as 0. */
    {"i8 non-finite k", 12, 2, 32, 3, 16, SLOTS_RUN, 3, {0}, AX_I32, KC_I8, OP_CONTIGUOUS, 1, 1},
    {"f8 decode scatter", 6, 2, 64, 9, 16, SLOTS_SCATTER, 0, {0}, AX_I32, KC_F8, OP_CONTIGUOUS, 1, 0},
    {"f8 prefill run", 40, 2, 32, 6, 16, SLOTS_RUN, 21, {0}, AX_I32, KC_F8, OP_PADDED, 1, 0},
    {"f8 one block out of order, padding", 8, 2, 24, 4, 16, SLOTS_LIST, 0, {33, 20, -1, 38, 17, 45, -1, 32}, AX_I64,
     KC_F8, OP_CONTIGUOUS, 0, 0},
    {"f8 block 48 d 33", 30, 1, 33, 3, 48, SLOTS_RUN, 40, {0}, AX_I64, KC_F8, OP_CONTIGUOUS, 0, 0},
};

/* (k's dtype, the caches' dtype) */
static const op_dtype_pair float_dtypes[] = {{AX_F32, AX_F32}, {AX_BF16, AX_BF16}, {AX_F16, AX_F16},
                                             {AX_F32, AX_BF16}, {AX_F32, AX_F16}, {AX_BF16, AX_F32}};
static const op_dtype_pair i8_dtypes[] = {{AX_F32, AX_I8}, {AX_BF16, AX_I8}, {AX_F16, AX_I8}};
static const op_dtype_pair f8_dtypes[] = {{AX_F32, AX_F8_E4M3FN}, {AX_BF16, AX_F8_E4M3FN}, {AX_F16, AX_F8_E4M3FN}};

static int append_make_case(int index, op_mode mode, op_case *c) {
    const int n = (int)(sizeof cases / sizeof cases[0]);
    int seen = -1;
    for (int i = 0; i < n; i++) {
        if (mode == OP_QUICK && !cases[i].quick) continue;
        if (++seen != index) continue;
        const append_case *r = &cases[i];
        c->params = r;
        snprintf(c->name, sizeof c->name, "%s (T %lld, Hkv %lld, D %lld, blocks %lld x %lld, %s slots)", r->name,
                 (long long)r->T, (long long)r->Hkv, (long long)r->D, (long long)r->NB, (long long)r->bs,
                 ax_dtype_name(r->slot_dtype));
        const op_dtype_pair *list = r->cache == KC_I8 ? i8_dtypes : r->cache == KC_F8 ? f8_dtypes : float_dtypes;
        c->n_dtypes = r->cache == KC_FLOAT ? 6 : 3;
        memcpy(c->dtypes, list, (size_t)c->n_dtypes * sizeof *list);
        return 1;
    }
    return 0;
}

static int append_setup(const op_case *c, op_dtype_pair dt, op_problem *p) {
    const append_case *r = c->params;
    const int quant = r->cache != KC_FLOAT;
    const int64_t rs[3] = {r->T, r->Hkv, r->D}, cs[4] = {r->NB, r->bs, r->Hkv, r->D}, ss[2] = {r->NB, r->Hkv};
    op_tensor *k = op_tensor_new(p, "k", OP_INPUT, dt.in, 3, rs, r->layout);
    op_tensor *v = op_tensor_new(p, "v", OP_INPUT, dt.in, 3, rs, OP_CONTIGUOUS);
    op_tensor *slots = op_tensor_new(p, "slot_mapping", OP_INPUT, r->slot_dtype, 1, &r->T, OP_CONTIGUOUS);
    op_tensor *kc = op_tensor_new(p, "k_cache", OP_INOUT, dt.out, 4, cs, r->layout);
    op_tensor *vc = op_tensor_new(p, "v_cache", OP_INOUT, dt.out, 4, cs, OP_CONTIGUOUS);
    if (!k || !v || !slots || !kc || !vc) return -1;
    /* Rows of differing magnitudes, so a block's scale grows at some rows and not at others. */
    for (int64_t i = 0; i < k->numel; i++) {
        const int64_t t = i / (r->Hkv * r->D);
        const double mag = 0.25 + 0.5 * (double)((t * 7 + i / r->D) % 5);
        op_set(k, i, op_rng_uniform(&p->rng, -mag, mag));
        op_set(v, i, op_rng_uniform(&p->rng, -mag, mag));
    }
    const double code_span = r->cache == KC_I8 ? 127.99 : r->cache == KC_F8 ? 448.0 : 1.0;
    op_fill_uniform(p, kc, -code_span, code_span);
    op_fill_uniform(p, vc, -code_span, code_span);
    if (quant) {
        op_tensor *ks = op_tensor_new(p, "k_scales", OP_INOUT, AX_F32, 2, ss, OP_CONTIGUOUS);
        op_tensor *vs = op_tensor_new(p, "v_scales", OP_INOUT, AX_F32, 2, ss, OP_PADDED);
        if (!ks || !vs) return -1;
        /* Every third block is fresh (scale 0); the others hold rows whose largest value is near 1. */
        const double q = r->cache == KC_I8 ? 127.0 : 448.0;
        for (int64_t i = 0; i < ks->numel; i++) {
            const int fresh = (i / r->Hkv) % 3 == 0;
            op_set(ks, i, fresh ? 0.0 : op_rng_uniform(&p->rng, 0.5, 1.5) / q);
            op_set(vs, i, fresh ? 0.0 : op_rng_uniform(&p->rng, 0.5, 1.5) / q);
        }
        if (r->cache == KC_F8) {
            /* A NaN code in fresh block 0: its rows hold nothing, so it must not survive a write. */
            *op_block_at(kc, 3) = 0x7f;
            *op_block_at(vc, 5) = 0xff;
            op_refresh_values(kc);
            op_refresh_values(vc);
        }
    }
    if (r->nonfinite) {
        op_set(k, (1 * r->Hkv + 0) * r->D + 3, INFINITY);
        op_set(k, (4 * r->Hkv + 1) * r->D + 7, -INFINITY);
        op_set(k, (6 * r->Hkv + 0) * r->D + 0, NAN);
    }
    /* Slots. */
    if (r->pattern == SLOTS_SCATTER) {
        int64_t perm[64];
        for (int64_t i = 0; i < r->NB; i++) perm[i] = i;
        for (int64_t i = r->NB - 1; i > 0; i--) {
            const int64_t j = op_rng_below(&p->rng, i + 1), x = perm[i];
            perm[i] = perm[j], perm[j] = x;
        }
        for (int64_t t = 0; t < r->T; t++) op_set(slots, t, (double)(perm[t] * r->bs + op_rng_below(&p->rng, r->bs)));
    } else {
        for (int64_t t = 0; t < r->T; t++)
            op_set(slots, t, r->pattern == SLOTS_RUN ? (double)(r->start + t) : (double)r->list[t]);
    }
    return 0;
}

static double f32(double x) { return (double)(float)x; }

/* The rules' quantizer: x / scale rounded to fp32, then to the format (0 when the scale is 0). */
static double quantize(int cache, double x, double scale) {
    if (scale == 0.0) return 0.0;
    const double y = f32(x / scale);
    if (cache == KC_F8) return opd_round(AX_F8_E4M3FN, y);
    double code = nearbyint(y);
    code = code > 127.0 ? 127.0 : code < -127.0 ? -127.0 : code; /* +-inf saturate */
    if (isnan(code)) code = 0.0;
    return code + 0.0; /* an i8 has no -0 */
}

static void append_reference(const op_case *c, op_dtype_pair dt, op_problem *p) {
    const append_case *r = c->params;
    const op_tensor *src[2] = {op_find(p, "k"), op_find(p, "v")}, *slots = op_find(p, "slot_mapping");
    op_tensor *cache[2] = {op_find(p, "k_cache"), op_find(p, "v_cache")};
    op_tensor *scales[2] = {op_find(p, "k_scales"), op_find(p, "v_scales")};
    const int64_t Hkv = r->Hkv, D = r->D, bs = r->bs;
    for (int w = 0; w < 2; w++) {
        memcpy(cache[w]->expected, cache[w]->value, (size_t)cache[w]->numel * sizeof(double));
        if (scales[w]) memcpy(scales[w]->expected, scales[w]->value, (size_t)scales[w]->numel * sizeof(double));
    }
    const double qmax = r->cache == KC_I8 ? 127.0 : 448.0;
    for (int64_t t = 0; t < r->T; t++) {
        const int64_t slot = (int64_t)slots->value[t];
        if (slot < 0) continue;
        const int64_t blk = slot / bs, row = slot % bs;
        for (int w = 0; w < 2; w++) {
            for (int64_t h = 0; h < Hkv; h++) {
                const double *x = src[w]->value + (t * Hkv + h) * D;
                double *dst = cache[w]->expected;
                if (r->cache == KC_FLOAT) {
                    for (int64_t d = 0; d < D; d++) dst[((slot * Hkv) + h) * D + d] = opd_round(dt.out, x[d]);
                    continue;
                }
                double *scale = &scales[w]->expected[blk * Hkv + h];
                const double old = *scale > 0.0 ? *scale : 0.0;
                double amax = 0.0;
                for (int64_t d = 0; d < D; d++) /* over the finite values */
                    amax = isfinite(x[d]) && fabs(x[d]) > amax ? fabs(x[d]) : amax;
                /* A fresh block takes the row's need; a live one doubles until it covers it. */
                const double want = f32(amax / qmax);
                double next = old;
                if (old == 0.0) next = want;
                while (next < want) next *= 2.0;
                if (next > old) { /* the codes' values divided by next / old = 2^k (0 in a fresh block) */
                    for (int64_t j = 0; j < bs * D; j++) {
                        double *e = &dst[((blk * bs + j / D) * Hkv + h) * D + j % D];
                        *e = old > 0.0 ? quantize(r->cache, *e, next / old) : 0.0;
                    }
                }
                for (int64_t d = 0; d < D; d++)
                    dst[((blk * bs + row) * Hkv + h) * D + d] = quantize(r->cache, x[d], next);
                *scale = next;
            }
        }
    }
}

static ax_status append_run(ax_context *ctx, const op_case *c, op_dtype_pair dt, op_problem *p) {
    (void)c, (void)dt;
    return ax_kv_cache_append(ctx, op_in(p, "k"), op_in(p, "v"), op_in(p, "slot_mapping"), op_out(p, "k_cache"),
                              op_out(p, "v_cache"), op_out(p, "k_scales"), op_out(p, "v_scales"));
}

/* Exact: the rules determine every stored bit. */
static op_tol append_tolerance(const op_case *c, op_dtype_pair dt, op_backend be, const op_tensor *out) {
    (void)c, (void)dt, (void)be, (void)out;
    op_tol t;
    memset(&t, 0, sizeof t);
    t.exact = 1;
    return t;
}

const op_table op_table_kv_cache_append = {
    .name = "kv_cache_append",
    .make_case = append_make_case,
    .setup = append_setup,
    .reference = append_reference,
    .run = append_run,
    .tolerance = append_tolerance,
};
