/*
 * cases_sampling.c — ax_sample (sampling.h): V from 1 to 50000, batches whose rows all differ
 * (greedy, temperature 0.7 / 1 / 1.5, top-k 1 / 40 / V / off, top-p 0.9 / 1, min-p 0.05, repetition,
 * frequency and presence penalties, negative presence), ragged histories with repeats (empty rows,
 * a first offset past 0, unused trailing ids), -inf logits, a fully masked row, logits with many
 * +inf logits, exact ties, a flat row, padded logits rows and strided outputs, +-inf logits in
 * the history under penalties that overflow f32, ties between -0 and +0, and a temperature of 1e-40
 * (w / temperature overflows: greedy, step 4).
 *
 * Reference: sampling.h's procedure in float64 from the stored logits and ax_sampling_uniform's
 * documented formula (re-implemented here): a full sort of the candidates, prefix sums, the id-order
 * walk. The op computes w, x and e in f32 (relative error ~1e-6 at these logit ranges) and its sums
 * in f64, so its decisions can differ from the reference's only where a quantity lands near a
 * threshold. The reference therefore also runs with each threshold moved by DELTA = 1e-5 relative
 * either way (u * S on the CDF, top_p * S_K on the prefix sums, min_p on e; for greedy, every
 * token within 1e-6 relative of the maximum but not equal to it) and accepts any token one of
 * those runs picks. The driver's
 * comparison holds every other row's token exactly; the extra check holds an ambiguous row's token
 * to the accepted set, and its prob to that alternative's.
 * probs: the op's e / S from f32 e (each within ~4e-6 relative at |x - m| <= 24) against float64:
 * rtol 1e-4.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axial/sampling.h"
#include "op_registry.h"

#define DELTA 1e-5
/* Greedy compares the stored logits, or ones that took a penalty in f32 (three roundings, under
 * 2e-7 relative); exact ties are the reference's too (lowest id). */
#define GREEDY_DELTA 1e-6
#define MAX_ALTS 27

typedef struct samp_case {
    int64_t N, V;
    double scale;      /* logits uniform in [-scale, scale) */
    int ties;          /* 1: logits are integers in [-3, 3] (many exact ties); 2: they rise then
                        * fall with the id (organ pipe: the input that drives a quickselect with
                        * fixed pivot positions quadratic); 3: integers in [-3, 0] whose zeros are
                        * -0 at even ids and +0 at odd ones (a -0/+0 tie goes to the lower id;
                        * top-k and top-p had ranked -0 below +0) */
    double masked;     /* fraction of logits set to -inf */
    int masked_row;    /* 1: row 1 is entirely -inf, and row 2 has two +inf logits */
    int history;       /* 1: ragged histories */
    int padded;        /* logits rows padded, tokens and probs strided */
    int probs;         /* 1: ask for probs */
    int first_kind;    /* row r gets setting kind (first_kind + r) % N_KINDS */
    int quick;
    int inf_history;   /* 1: token 0 is -inf and token 1 +inf in every row, each row's history is
                        * {0, 0, 1, 1}, and frequency_penalty is -3e38 / +3e38 on alternate rows: in
                        * f32 2 * 3e38 overflows, and a masked or +inf token must keep its value
                        * (no inf - inf NaN); the float64 reference never overflows there */
    int cold;          /* 1: every sampled row's temperature is 1e-40, so small that w / temperature
                        * overflows f32 for these logits: such a row is greedy (sampling.h, step 4;
                        * it had given -1 for a row of negative logits) */
} samp_case;

static const samp_case cases[] = {
    {5, 1, 2.0, 0, 0.0, 0, 1, 0, 1, 0, 1, 0, 0},
    {9, 7, 2.0, 0, 0.0, 0, 1, 0, 1, 3, 1, 0, 0},
    {16, 100, 4.0, 0, 0.0, 0, 1, 1, 1, 1, 1, 0, 0},
    {10, 64, 3.0, 0, 0.3, 1, 1, 0, 1, 2, 1, 0, 0},
    {16, 200, 0.0, 1, 0.0, 0, 1, 0, 1, 5, 1, 0, 0},
    {12, 1000, 5.0, 0, 0.2, 0, 1, 1, 0, 4, 0, 0, 0},
    {8, 4097, 0.05, 0, 0.0, 0, 0, 0, 1, 6, 0, 0, 0}, /* nearly flat: top-p keeps thousands */
    {8, 50000, 6.0, 0, 0.01, 0, 1, 1, 1, 0, 0, 0, 0},
    {6, 30000, 0.3, 2, 0.0, 0, 0, 0, 1, 7, 0, 0, 0},
    {10, 64, 2.0, 0, 0.0, 0, 1, 0, 1, 0, 1, 1, 0},
    {10, 64, 0.0, 3, 0.0, 0, 0, 0, 1, 0, 1, 0, 0},
    {10, 64, 2.0, 0, 0.1, 0, 1, 0, 1, 0, 1, 0, 1},
};

/* Per-row settings, cycled over the rows. */
enum { N_KINDS = 10 };
static ax_sampling_row kind_row(int kind, int64_t V) {
    ax_sampling_row s = AX_SAMPLING_ROW_INIT;
    switch (kind) {
    case 0: s.temperature = 0.0f; break;                                                   /* greedy */
    case 1: s.temperature = 0.7f; s.top_k = 40; s.top_p = 0.9f; break;
    case 2: s.temperature = 1.5f; s.min_p = 0.05f; break;
    case 3: s.temperature = 1.0f; s.top_k = 1; break;
    case 4:
        s.temperature = 0.7f; s.top_k = (int32_t)V; s.top_p = 0.9f; s.min_p = 0.05f;
        s.repetition_penalty = 1.3f; s.frequency_penalty = 0.5f; s.presence_penalty = 0.3f;
        break;
    case 5: s.temperature = 1.0f; s.repetition_penalty = 1.1f; break;                      /* plain sampling */
    case 6: s.temperature = 0.0f; s.repetition_penalty = 1.5f; s.frequency_penalty = 0.2f; break;
    case 7:
        s.temperature = 1.5f; s.top_k = 40; s.top_p = 0.9f; s.min_p = 0.05f; s.presence_penalty = -0.5f;
        break;
    case 8: s.temperature = 1.0f; s.top_p = 0.5f; s.frequency_penalty = 1.0f; break;
    default: s.temperature = 0.7f; s.top_k = 3; s.repetition_penalty = 0.8f; break;        /* < 1 rewards repeats */
    }
    return s;
}

static const op_dtype_pair dtypes[] = {{AX_F32, AX_I32}, {AX_BF16, AX_I32}, {AX_F16, AX_I32}};

static int samp_make_case(int index, op_mode mode, op_case *c) {
    const int n = (int)(sizeof cases / sizeof cases[0]);
    int seen = -1;
    for (int i = 0; i < n; i++) {
        if (mode == OP_QUICK && !cases[i].quick) continue;
        if (++seen != index) continue;
        const samp_case *s = &cases[i];
        c->params = s;
        static const char *const logit_kinds[4] = {"uniform", "ties", "organ-pipe", "signed-zero-ties"};
        snprintf(c->name, sizeof c->name, "N %lld V %lld %s%s%s%s%s%s%s%s", (long long)s->N, (long long)s->V,
                 logit_kinds[s->ties], s->masked > 0 ? " -inf" : "", s->masked_row ? " masked-row" : "",
                 s->history ? " history" : "", s->padded ? " padded" : "", s->probs ? " probs" : "",
                 s->inf_history ? " inf-history" : "", s->cold ? " cold" : "");
        c->n_dtypes = (int)(sizeof dtypes / sizeof dtypes[0]);
        memcpy(c->dtypes, dtypes, sizeof dtypes);
        return 1;
    }
    return 0;
}

static int samp_setup(const op_case *c, op_dtype_pair dt, op_problem *p) {
    const samp_case *s = c->params;
    const int64_t N = s->N, V = s->V;
    const int64_t lshape[2] = {N, V}, sshape[2] = {N, AX_SAMPLING_ROW_BYTES};
    op_tensor *logits = op_tensor_new(p, "logits", OP_INPUT, dt.in, 2, lshape, s->padded ? OP_PADDED : OP_CONTIGUOUS);
    op_tensor *settings = op_tensor_new(p, "settings", OP_INPUT, AX_U8, 2, sshape, OP_CONTIGUOUS);
    const int64_t out_stride = s->padded ? 3 : 1;
    op_tensor *tokens = op_tensor_new_strided(p, "tokens", OP_OUTPUT, AX_I32, 1, &N, &out_stride);
    if (logits == NULL || settings == NULL || tokens == NULL) return -1;
    if (s->probs && op_tensor_new_strided(p, "probs", OP_OUTPUT, AX_F32, 1, &N, &out_stride) == NULL) return -1;

    if (s->ties == 1) {
        for (int64_t i = 0; i < N * V; i++) op_set(logits, i, (double)(op_rng_below(&p->rng, 7) - 3));
    } else if (s->ties == 3) {
        for (int64_t i = 0; i < N * V; i++) {
            const double v = (double)(op_rng_below(&p->rng, 4) - 3);
            op_set(logits, i, v == 0.0 && i % 2 == 0 ? -0.0 : v);
        }
    } else if (s->ties == 2) {
        for (int64_t i = 0; i < N * V; i++) {
            const int64_t t = i % V;
            op_set(logits, i, s->scale * (double)(t < V / 2 ? t : V - t) / (double)V);
        }
    } else {
        op_fill_uniform(p, logits, -s->scale, s->scale);
    }
    for (int64_t i = 0; i < N * V; i++)
        if (s->masked > 0 && op_rng_uniform(&p->rng, 0.0, 1.0) < s->masked) op_set(logits, i, -INFINITY);
    if (s->masked_row && N > 2) {
        for (int64_t t = 0; t < V; t++) op_set(logits, V + t, -INFINITY);
        op_set(logits, 2 * V + 5, INFINITY); /* +inf tokens share the whole mass */
        op_set(logits, 2 * V + 9, INFINITY);
    }
    if (s->inf_history)
        for (int64_t r = 0; r < N; r++) op_set(logits, r * V, -INFINITY), op_set(logits, r * V + 1, INFINITY);

    for (int64_t r = 0; r < N; r++) {
        ax_sampling_row row = kind_row((int)((s->first_kind + r) % N_KINDS), V);
        row.seed = op_rng_u64(&p->rng);
        row.counter = (uint64_t)op_rng_below(&p->rng, 1000000);
        if (s->inf_history) row.frequency_penalty = r % 2 ? 3.0e38f : -3.0e38f;
        if (s->cold && row.temperature != 0.0f) row.temperature = 1e-40f;
        memcpy((unsigned char *)settings->t.data + r * AX_SAMPLING_ROW_BYTES, &row, sizeof row);
    }
    op_refresh_values(settings);

    if (s->history) {
        /* Row r has 0 to 30 ids drawn from a pool of 8 (so tokens repeat), after 2 unused ids and
         * before 3 more. */
        int64_t lens[64], H = 5;
        for (int64_t r = 0; r < N; r++) {
            lens[r] = s->inf_history ? 4 : r % 4 == 3 ? 0 : op_rng_below(&p->rng, 31);
            H += lens[r];
        }
        const int64_t oshape = N + 1;
        op_tensor *ids = op_tensor_new(p, "history_ids", OP_INPUT, AX_I32, 1, &H, OP_CONTIGUOUS);
        op_tensor *offs = op_tensor_new(p, "history_offsets", OP_INPUT, AX_I64, 1, &oshape, OP_CONTIGUOUS);
        if (ids == NULL || offs == NULL) return -1;
        int64_t pool[8];
        for (int i = 0; i < 8; i++) pool[i] = op_rng_below(&p->rng, V);
        for (int64_t j = 0; j < H; j++) op_set(ids, j, (double)pool[op_rng_below(&p->rng, 8)]);
        if (s->inf_history)
            for (int64_t j = 2; j < H - 3; j++) op_set(ids, j, (double)((j - 2) % 4 / 2)); /* 0, 0, 1, 1 */
        int64_t at = 2;
        for (int64_t r = 0; r < N; r++) {
            op_set(offs, r, (double)at);
            at += lens[r];
        }
        op_set(offs, N, (double)at);
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------------
 * Reference
 * ---------------------------------------------------------------------------------------------- */

typedef struct alt {
    int32_t token;
    double prob;
} alt;

/* Per row of the current problem: the accepted (token, prob) pairs, [0] the unperturbed one. */
static alt *g_alts;
static int *g_n_alts;

static void add_alt(alt *alts, int *n, int32_t token, double prob) {
    for (int i = 0; i < *n; i++)
        if (alts[i].token == token) return;
    if (*n < MAX_ALTS) alts[(*n)++] = (alt){token, prob};
}

/* The uniform of sampling.h, written from its documentation. */
static uint64_t ref_mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static double ref_uniform(uint64_t seed, uint64_t counter) {
    const uint64_t bits = ref_mix(ref_mix(seed) + 0x9E3779B97F4A7C15ull * (counter + 1));
    return ldexp((double)(bits >> 11), -53);
}

static const double *g_sort_x;
static int by_x_desc(const void *a, const void *b) {
    const int64_t i = *(const int64_t *)a, j = *(const int64_t *)b;
    if (g_sort_x[i] != g_sort_x[j]) return g_sort_x[i] > g_sort_x[j] ? -1 : 1;
    return i < j ? -1 : 1;
}

/* Scratch of the reference (V-long). */
typedef struct ref_scratch {
    double *w, *e, *cum;
    int64_t *order, *rank;
} ref_scratch;

static void ref_row(const double *logit, int64_t V, const ax_sampling_row *s, const double *hist, int64_t hl,
                    ref_scratch *sc, alt *alts, int *n_alts) {
    double *w = sc->w;
    for (int64_t t = 0; t < V; t++) w[t] = isnan(logit[t]) ? -INFINITY : logit[t];
    for (int64_t j = 0; j < hl; j++) {
        const int64_t id = (int64_t)hist[j];
        int first = 1, count = 0;
        for (int64_t i = 0; i < hl; i++) {
            if ((int64_t)hist[i] != id) continue;
            if (i < j) first = 0;
            count++;
        }
        if (!first) continue;
        double v = w[id];
        if (s->repetition_penalty != 1.0f) v = v > 0 ? v / s->repetition_penalty : v * s->repetition_penalty;
        w[id] = v - (count * (double)s->frequency_penalty + (double)s->presence_penalty);
    }
    *n_alts = 0;
    /* Step 4: a temperature that makes the largest finite |w| overflow f32 on division is greedy. */
    double max_abs = 0.0;
    for (int64_t t = 0; t < V; t++)
        if (isfinite(w[t]) && fabs(w[t]) > max_abs) max_abs = fabs(w[t]);
    if (s->temperature == 0.0f || max_abs / (double)s->temperature > FLT_MAX) {
        int64_t best = -1;
        for (int64_t t = 0; t < V; t++)
            if (w[t] > -INFINITY && (best < 0 || w[t] > w[best])) best = t;
        if (best < 0) {
            add_alt(alts, n_alts, -1, 0.0);
            return;
        }
        add_alt(alts, n_alts, (int32_t)best, 1.0);
        for (int64_t t = 0; t < V; t++)
            if (w[t] > -INFINITY && w[t] != w[best] && fabs(w[t] - w[best]) <= GREEDY_DELTA * fabs(w[best]))
                add_alt(alts, n_alts, (int32_t)t, 1.0);
        return;
    }
    int64_t M = 0;
    for (int64_t t = 0; t < V; t++) {
        w[t] /= (double)s->temperature; /* now x */
        if (w[t] > -INFINITY) sc->order[M++] = t;
    }
    if (M == 0) {
        add_alt(alts, n_alts, -1, 0.0);
        return;
    }
    g_sort_x = w;
    qsort(sc->order, (size_t)M, sizeof(int64_t), by_x_desc);
    for (int64_t t = 0; t < V; t++) sc->rank[t] = -1;
    for (int64_t i = 0; i < M; i++) sc->rank[sc->order[i]] = i;
    const int64_t K = s->top_k > 0 && s->top_k < M ? s->top_k : M;
    const double m = w[sc->order[0]];
    double S_K = 0.0;
    for (int64_t t = 0; t < V; t++) sc->e[t] = w[t] == m ? 1.0 : w[t] > -INFINITY ? exp(w[t] - m) : 0.0;
    for (int64_t i = 0; i < K; i++) {
        S_K += sc->e[sc->order[i]];
        sc->cum[i] = S_K; /* the first i + 1 candidates */
    }
    const double u = ref_uniform(s->seed, s->counter);
    /* bias order: 0 first, so alts[0] is the unperturbed answer. */
    const double bias[3] = {0.0, -1.0, 1.0};
    for (int bp = 0; bp < 3; bp++)
        for (int bm = 0; bm < 3; bm++)
            for (int bu = 0; bu < 3; bu++) {
                int64_t n = K;
                if (s->top_p < 1.0f) {
                    const double target = (double)s->top_p * S_K * (1.0 + bias[bp] * DELTA);
                    int64_t n_p = K;
                    for (int64_t i = 0; i < K; i++)
                        if (sc->cum[i] >= target) {
                            n_p = i + 1;
                            break;
                        }
                    if (n_p < n) n = n_p;
                }
                if (s->min_p > 0.0f) {
                    const double thr = (double)s->min_p * (1.0 + bias[bm] * DELTA);
                    int64_t n_m = 0;
                    for (int64_t i = 0; i < K; i++) n_m += sc->e[sc->order[i]] >= thr;
                    if (n_m < 1) n_m = 1;
                    if (n_m < n) n = n_m;
                }
                double S = 0.0;
                for (int64_t t = 0; t < V; t++)
                    if (sc->rank[t] >= 0 && sc->rank[t] < n) S += sc->e[t];
                const double target = u * S * (1.0 + bias[bu] * DELTA);
                double run = 0.0;
                int64_t chosen = -1;
                for (int64_t t = 0; t < V; t++) {
                    if (sc->rank[t] < 0 || sc->rank[t] >= n) continue;
                    run += sc->e[t];
                    chosen = t;
                    if (run > target) break;
                }
                add_alt(alts, n_alts, (int32_t)chosen, sc->e[chosen] / S);
            }
}

static void samp_reference(const op_case *c, op_dtype_pair dt, op_problem *p) {
    (void)dt;
    const samp_case *s = c->params;
    const int64_t N = s->N, V = s->V;
    const op_tensor *logits = op_find(p, "logits"), *settings = op_find(p, "settings");
    const op_tensor *ids = op_find(p, "history_ids"), *offs = op_find(p, "history_offsets");
    op_tensor *tokens = op_find(p, "tokens"), *probs = op_find(p, "probs");
    free(g_alts);
    free(g_n_alts);
    g_alts = calloc((size_t)(N * MAX_ALTS), sizeof(alt));
    g_n_alts = calloc((size_t)N, sizeof(int));
    ref_scratch sc = {malloc((size_t)V * sizeof(double)), malloc((size_t)V * sizeof(double)),
                      malloc((size_t)V * sizeof(double)), malloc((size_t)V * sizeof(int64_t)),
                      malloc((size_t)V * sizeof(int64_t))};
    if (g_alts == NULL || g_n_alts == NULL || !sc.w || !sc.e || !sc.cum || !sc.order || !sc.rank) {
        fprintf(stderr, "samp_reference: out of memory\n");
        exit(1);
    }
    if (op_want_err_scale(tokens) != 0 || (probs != NULL && op_want_err_scale(probs) != 0)) exit(1);
    for (int64_t r = 0; r < N; r++) {
        ax_sampling_row row;
        unsigned char bytes[AX_SAMPLING_ROW_BYTES];
        for (int b = 0; b < AX_SAMPLING_ROW_BYTES; b++) bytes[b] = (unsigned char)settings->value[r * AX_SAMPLING_ROW_BYTES + b];
        memcpy(&row, bytes, sizeof row);
        const double *hist = NULL;
        int64_t hl = 0;
        if (ids != NULL) {
            const int64_t lo = (int64_t)offs->value[r], hi = (int64_t)offs->value[r + 1];
            hist = ids->value + lo;
            hl = hi - lo;
        }
        alt *alts = g_alts + r * MAX_ALTS;
        ref_row(logits->value + r * V, V, &row, hist, hl, &sc, alts, &g_n_alts[r]);
        tokens->expected[r] = alts[0].token;
        if (probs != NULL) probs->expected[r] = alts[0].prob;
        /* An ambiguous row: the driver's bound lets any of its alternatives through, the extra check
         * then demands one of them exactly. */
        for (int i = 1; i < g_n_alts[r]; i++) {
            const double dtok = fabs((double)alts[i].token - alts[0].token);
            if (dtok > tokens->err_scale[r]) tokens->err_scale[r] = dtok;
            if (probs != NULL) probs->err_scale[r] = 1.0;
        }
    }
    free(sc.w);
    free(sc.e);
    free(sc.cum);
    free(sc.order);
    free(sc.rank);
}

static ax_status samp_run(ax_context *ctx, const op_case *c, op_dtype_pair dt, op_problem *p) {
    (void)c;
    (void)dt;
    return ax_sample(ctx, op_in(p, "logits"), op_in(p, "settings"), op_in(p, "history_ids"),
                     op_in(p, "history_offsets"), op_out(p, "tokens"), op_out(p, "probs"));
}

static op_tol samp_tolerance(const op_case *c, op_dtype_pair dt, op_backend be, const op_tensor *out) {
    (void)c;
    (void)dt;
    (void)be;
    op_tol t;
    memset(&t, 0, sizeof t);
    t.scale_tol = 1.0; /* err_scale is 0 except on ambiguous rows */
    if (strcmp(out->name, "probs") == 0) {
        t.rtol = 1e-4;
        t.atol = 1e-12;
    }
    return t;
}

/* Ambiguous rows: the token must be one of the accepted alternatives, its prob that alternative's. */
static int samp_extra_check(const op_case *c, op_dtype_pair dt, const op_problem *p, char *msg, size_t msg_size) {
    (void)dt;
    const samp_case *s = c->params;
    const op_tensor *tokens = NULL, *probs = NULL;
    for (int i = 0; i < p->n_tensors; i++) {
        if (strcmp(p->tensors[i].name, "tokens") == 0) tokens = &p->tensors[i];
        if (strcmp(p->tensors[i].name, "probs") == 0) probs = &p->tensors[i];
    }
    for (int64_t r = 0; r < s->N; r++) {
        const int32_t got = (int32_t)opd_load(AX_I32, tokens->result + 4 * tokens->origin, op_offset(tokens, r));
        const alt *alts = g_alts + r * MAX_ALTS;
        int found = -1;
        for (int i = 0; i < g_n_alts[r]; i++)
            if (alts[i].token == got) found = i;
        if (found < 0) {
            snprintf(msg, msg_size, "row %lld: token %d, expected %d (%d alternatives accepted)", (long long)r, (int)got,
                     (int)alts[0].token, g_n_alts[r]);
            return 0;
        }
        if (probs != NULL) {
            const double pr = opd_load(AX_F32, probs->result + 4 * probs->origin, op_offset(probs, r));
            if (!(fabs(pr - alts[found].prob) <= 1e-4 * alts[found].prob + 1e-12)) {
                snprintf(msg, msg_size, "row %lld: token %d has prob %.9g, expected %.9g", (long long)r, (int)got, pr,
                         alts[found].prob);
                return 0;
            }
        }
    }
    return 1;
}

const op_table op_table_sampling = {
    .name = "sampling",
    .make_case = samp_make_case,
    .setup = samp_setup,
    .reference = samp_reference,
    .run = samp_run,
    .tolerance = samp_tolerance,
    .extra_check = samp_extra_check,
};
