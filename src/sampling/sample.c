/*
 * sample.c — ax_sample: its tensor contract, the host checks of settings and history, its op-table
 * registration and its CPU kernel.
 *
 * The CPU kernel takes one row per thread at a time and follows sampling.h's procedure step by step
 * without sorting: a histogram of the weights' binary exponents says which tokens can reach the
 * top-k or top-p cut; only those get unique 64-bit keys (sampling_token_key), and selection finds
 * the cut among them (quickselect for top-k, a quickselect that carries the probability mass of
 * what it discards for top-p). A row costs a few O(V) passes whatever top_k and top_p are.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "axial/sampling.h"
#include "core/internal.h"
#include "core/dtype_traits.h"
#include "core/op.h"
#include "core/tensor_spec.h"
#include "sampling/sampling_params.h"

/* The settings tensor's row width is part of the API: the struct must keep it. */
_Static_assert(sizeof(ax_sampling_row) == AX_SAMPLING_ROW_BYTES, "ax_sampling_row must be AX_SAMPLING_ROW_BYTES bytes");

double ax_sampling_uniform(uint64_t seed, uint64_t counter) { return sampling_uniform(seed, counter); }

/* ------------------------------------------------------------------------------------------------
 * Host checks of settings and history
 * ---------------------------------------------------------------------------------------------- */

static ax_status check_row(const ax_sampling_row *s, int64_t r) {
    if (!(s->temperature >= 0.0f) || isinf(s->temperature))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "settings[%lld].temperature: %g, expected 0 (greedy) or a finite value > 0",
                            (long long)r, (double)s->temperature);
    if (!(s->top_p > 0.0f && s->top_p <= 1.0f))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "settings[%lld].top_p: %g, expected a value in (0, 1]", (long long)r,
                            (double)s->top_p);
    if (!(s->min_p >= 0.0f && s->min_p <= 1.0f))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "settings[%lld].min_p: %g, expected a value in [0, 1]", (long long)r,
                            (double)s->min_p);
    if (!(s->repetition_penalty > 0.0f) || isinf(s->repetition_penalty))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "settings[%lld].repetition_penalty: %g, expected a finite value > 0",
                            (long long)r, (double)s->repetition_penalty);
    if (!isfinite(s->frequency_penalty))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "settings[%lld].frequency_penalty: %g, expected a finite value",
                            (long long)r, (double)s->frequency_penalty);
    if (!isfinite(s->presence_penalty))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "settings[%lld].presence_penalty: %g, expected a finite value",
                            (long long)r, (double)s->presence_penalty);
    if (s->reserved != 0)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "settings[%lld].reserved: %u, expected 0", (long long)r,
                            (unsigned)s->reserved);
    return AX_OK;
}

/* The checks of ax_sampling_check over strided host arrays (settings contiguous). */
static ax_status check_batch(const unsigned char *settings, int64_t n, const int32_t *ids, int64_t ids_stride, int64_t h,
                             const int64_t *offsets, int64_t offsets_stride, int64_t V) {
    for (int64_t r = 0; r < n; r++) {
        ax_sampling_row s;
        memcpy(&s, settings + r * AX_SAMPLING_ROW_BYTES, sizeof s);
        AX_CHECK(check_row(&s, r));
    }
    if (offsets == NULL) return AX_OK;
    const int64_t first = offsets[0];
    if (first < 0 || first > h)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "history_offsets[0]: %lld, expected a value in [0, H = %lld]",
                            (long long)first, (long long)h);
    for (int64_t r = 0; r < n; r++) {
        const int64_t lo = offsets[r * offsets_stride], hi = offsets[(r + 1) * offsets_stride];
        if (hi < lo)
            return ax_set_error(AX_ERR_INVALID_ARGUMENT, "history_offsets[%lld]: %lld is less than history_offsets[%lld] (%lld)",
                                (long long)(r + 1), (long long)hi, (long long)r, (long long)lo);
        if (hi > h)
            return ax_set_error(AX_ERR_INVALID_ARGUMENT, "history_offsets[%lld]: %lld, past the end of history_ids (H = %lld)",
                                (long long)(r + 1), (long long)hi, (long long)h);
        for (int64_t j = lo; j < hi; j++) {
            const int32_t id = ids[j * ids_stride];
            if (id < 0 || id >= V)
                return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                                    "history_ids[%lld]: token %d of row %lld, expected an id in [0, V = %lld)",
                                    (long long)j, (int)id, (long long)r, (long long)V);
        }
    }
    return AX_OK;
}

ax_status ax_sampling_check(const ax_sampling_row *rows, int64_t n, const int32_t *ids, int64_t h, const int64_t *offsets,
                            int64_t vocab_size) {
    if (n < 0) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "n: %lld, expected >= 0", (long long)n);
    if (rows == NULL && n > 0) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "rows: NULL with n = %lld", (long long)n);
    if (vocab_size < 1) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "vocab_size: %lld, expected >= 1", (long long)vocab_size);
    if (h < 0) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "h: %lld, expected >= 0", (long long)h);
    if ((ids == NULL) != (offsets == NULL))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: NULL while %s is not; pass both or neither",
                            ids == NULL ? "ids" : "offsets", ids == NULL ? "offsets" : "ids");
    return check_batch((const unsigned char *)rows, n, ids, 1, h, offsets, 1, vocab_size);
}

/* ------------------------------------------------------------------------------------------------
 * CPU kernel
 * ---------------------------------------------------------------------------------------------- */

static inline void swap_keys(uint64_t *a, int64_t i, int64_t j) {
    const uint64_t t = a[i];
    a[i] = a[j];
    a[j] = t;
}

/* Partitions a[lo, hi) around the median of three keys at hashed positions: returns i with
 * a[lo, i) > a[i] > a[i + 1, hi) (keys are unique). Fixed positions (first, middle, last) let
 * structured rows, e.g. logits rising then falling with the id, drive quickselect quadratic (seconds
 * at V = 256k); positions hashed from the range are deterministic yet follow no such pattern. */
static int64_t partition_desc(uint64_t *a, int64_t lo, int64_t hi) {
    const uint64_t h = sampling_mix64(((uint64_t)lo << 32) ^ (uint64_t)hi), n = (uint64_t)(hi - lo);
    const int64_t i0 = lo + (int64_t)(h % n), i1 = lo + (int64_t)((h >> 21) % n), i2 = lo + (int64_t)((h >> 42) % n);
    const uint64_t x = a[i0], y = a[i1], z = a[i2];
    const int64_t piv = (x < y) ? (y < z ? i1 : (x < z ? i2 : i0)) : (x < z ? i0 : (y < z ? i2 : i1));
    swap_keys(a, piv, hi - 1);
    const uint64_t pivot = a[hi - 1];
    int64_t i = lo;
    for (int64_t j = lo; j < hi - 1; j++)
        if (a[j] > pivot) swap_keys(a, i++, j);
    swap_keys(a, i, hi - 1);
    return i;
}

/* Rearranges a[0, n) so that a[0, k) holds its k largest keys (in no particular order). */
static void select_top(uint64_t *a, int64_t n, int64_t k) {
    int64_t lo = 0, hi = n;
    while (k > lo && k < hi && hi - lo > 1) {
        const int64_t i = partition_desc(a, lo, hi);
        if (k <= i) hi = i;
        else if (k == i + 1) return;
        else lo = i + 1;
    }
}

/* Step 8: the smallest n >= 1 such that the n largest keys of a[0, n_all) have weights summing to at
 * least `target` (n_all when rounding keeps the total below it; where rounding makes two sums of
 * the same keys disagree, the cut the first level found); leaves those n first. The sum of
 * the part above a pivot decides which side holds the cut, so each level touches its range once. */
static int64_t select_mass(uint64_t *a, int64_t n_all, double target, const float *e) {
    int64_t lo = 0, hi = n_all;
    double above = 0.0; /* the weight of a[0, lo), every key of which is larger than those in [lo, hi) */
    while (lo < hi) {
        if (hi - lo == 1) return lo + 1;
        const int64_t i = partition_desc(a, lo, hi);
        double upper = 0.0;
        for (int64_t j = lo; j < i; j++) upper += e[sampling_key_id(a[j])];
        if (above + upper >= target) {
            hi = i;
        } else {
            above += upper + e[sampling_key_id(a[i])];
            if (above >= target) return i + 1;
            lo = i + 1;
        }
    }
    /* lo == hi: n_all when no level narrowed hi; else a level found a[0, hi) to reach the target and
     * a later one, summing in another order, found a[0, lo) short of it: the cut is there. (This had
     * returned n_all, keeping every key.) */
    return lo;
}

/* The binary exponent field of a weight in [0, 1]: weights in a higher bucket are larger, so the
 * buckets are contiguous runs of the order of step 5 and a histogram of them tells, in one pass,
 * which tokens can possibly reach the top-k or top-p cut. */
static inline int weight_bucket(float e) {
    uint32_t b;
    memcpy(&b, &e, sizeof b);
    return (int)(b >> 23);
}

/* Scratch of one thread: V-long arrays. count is all zero on entry and left so. */
typedef struct row_scratch {
    float *x, *e;
    uint32_t *count;
    uint64_t *keys;
} row_scratch;

/* Steps 1-2: the row in f32, NaN as -inf, penalised. */
static void load_row(const sampling_params *p, int64_t r, const ax_sampling_row *s, row_scratch *w) {
    const int64_t V = p->V, row0 = r * p->logits_row_stride;
    float *x = w->x;
    if (p->logits_dtype == AX_F32) {
        const float *src = (const float *)p->logits + row0;
        for (int64_t t = 0; t < V; t++) x[t] = isnan(src[t]) ? -INFINITY : src[t];
    } else {
        for (int64_t t = 0; t < V; t++) {
            const float v = ax_elem_load_f32(p->logits, row0 + t, p->logits_dtype);
            x[t] = isnan(v) ? -INFINITY : v;
        }
    }
    if (p->history_ids == NULL || !sampling_penalties_on(s)) return;
    uint32_t *count = w->count;
    const int64_t lo = p->history_offsets[r * p->offsets_stride], hi = p->history_offsets[(r + 1) * p->offsets_stride];
    for (int64_t j = lo; j < hi; j++) count[p->history_ids[j * p->history_stride]]++;
    /* The first occurrence of each token applies its penalty and clears its count, so every distinct
     * token is penalised once and the counts are zero again for the next row. */
    for (int64_t j = lo; j < hi; j++) {
        const int32_t id = p->history_ids[j * p->history_stride];
        if (count[id] == 0) continue;
        x[id] = sampling_penalize(x[id], count[id], s);
        count[id] = 0;
    }
}

/* Step 10's kept set: unmasked, at or above the top-k / top-p cut, and not under min_p. */
static inline int kept(float x, float e, int64_t t, uint64_t cut, float min_p) {
    return x != -INFINITY && e >= min_p && sampling_token_key(x, t) >= cut;
}

/* Steps 4-10 for a row with temperature > 0. Returns the token (-1 when every one is masked). */
static int32_t draw_row(const ax_sampling_row *s, int64_t V, row_scratch *w, float *prob) {
    float *x = w->x, *e = w->e;
    uint64_t *keys = w->keys;
    int64_t M = 0, best_id = -1;
    float m = -INFINITY, best = -INFINITY, max_abs = 0.0f;
    for (int64_t t = 0; t < V; t++) {
        const float w_t = x[t];
        /* Step 3's greedy choice and the largest finite |w|, in the same pass, for step 4's test. */
        if (w_t > best) best = w_t, best_id = t;
        if (isfinite(w_t) && fabsf(w_t) > max_abs) max_abs = fabsf(w_t);
        x[t] = w_t / s->temperature;
        if (x[t] == -INFINITY) continue;
        M++;
        if (x[t] > m) m = x[t];
    }
    if (sampling_too_cold(max_abs, s->temperature)) { /* step 4: greedy */
        *prob = 1.0f;
        return (int32_t)best_id;
    }
    *prob = 0.0f;
    if (M == 0) return -1;
    const int64_t K = s->top_k > 0 && s->top_k < M ? s->top_k : M;
    const int need_buckets = K < M || s->top_p < 1.0f;
    int64_t bucket_count[256] = {0};
    double bucket_mass[256] = {0}, S_all = 0.0;
    for (int64_t t = 0; t < V; t++) {
        e[t] = x[t] == -INFINITY ? 0.0f : sampling_weight(x[t], m);
        if (!need_buckets || x[t] == -INFINITY) continue;
        const int b = weight_bucket(e[t]);
        bucket_count[b]++;
        bucket_mass[b] += e[t];
        S_all += e[t];
    }
    /* The cut of steps 6 and 8: kept tokens have key >= cut (0: every unmasked token). min-p needs
     * no cut of its own: its kept set is the tokens with e >= min_p, a prefix of the same order, so
     * the walk below applies it directly. Only the buckets that can hold the cut get keys. */
    uint64_t cut = 0;
    if (K < M) {
        /* Down to the bucket holding the K-th token. */
        int lo_bucket = 255;
        int64_t seen = 0;
        while (lo_bucket > 0 && (seen += bucket_count[lo_bucket]) < K) lo_bucket--;
        int64_t n_keys = 0;
        for (int64_t t = 0; t < V; t++)
            if (x[t] != -INFINITY && weight_bucket(e[t]) >= lo_bucket) keys[n_keys++] = sampling_token_key(x[t], t);
        select_top(keys, n_keys, K);
        int64_t n = K;
        if (s->top_p < 1.0f) {
            double S_K = 0.0;
            for (int64_t i = 0; i < K; i++) S_K += e[sampling_key_id(keys[i])];
            n = select_mass(keys, K, (double)s->top_p * S_K, e);
            if (n < K) select_top(keys, K, n);
        }
        cut = keys[0];
        for (int64_t i = 1; i < n; i++)
            if (keys[i] < cut) cut = keys[i];
    } else if (s->top_p < 1.0f) {
        /* Every bucket above the one where the mass reaches top_p * S is kept whole; the cut lies in
         * that bucket (or, by rounding, the next one down), so only those two get keys. */
        const double target = (double)s->top_p * S_all;
        double above = 0.0;
        int cross = 255;
        while (cross > 0 && above + bucket_mass[cross] < target) above += bucket_mass[cross--];
        const int lo_bucket = cross > 0 ? cross - 1 : 0;
        int64_t n_keys = 0;
        for (int64_t t = 0; t < V; t++) {
            if (x[t] == -INFINITY) continue;
            const int b = weight_bucket(e[t]);
            if (b >= lo_bucket && b <= cross) keys[n_keys++] = sampling_token_key(x[t], t);
        }
        if (n_keys > 0) {
            const int64_t n = select_mass(keys, n_keys, target - above, e);
            cut = keys[0];
            for (int64_t i = 1; i < n; i++)
                if (keys[i] < cut) cut = keys[i];
        }
    }
    /* Step 10 in id order; the same sums twice, so the walk ends by the total at the latest. */
    double S = 0.0;
    for (int64_t t = 0; t < V; t++)
        if (kept(x[t], e[t], t, cut, s->min_p)) S += e[t];
    const double target = sampling_uniform(s->seed, s->counter) * S;
    double run = 0.0;
    int32_t token = -1;
    for (int64_t t = 0; t < V; t++) {
        if (!kept(x[t], e[t], t, cut, s->min_p)) continue;
        run += e[t];
        token = (int32_t)t;
        if (run > target) break;
    }
    *prob = token >= 0 ? (float)(e[token] / S) : 0.0f; /* token >= 0: the first candidate is kept */
    return token;
}

/* One row: writes its token and probability. */
static void sample_row(const sampling_params *p, int64_t r, row_scratch *w) {
    const ax_sampling_row s = sampling_row_load(p->settings, r);
    load_row(p, r, &s, w);
    int32_t token = -1;
    float prob = 0.0f;
    if (s.temperature == 0.0f) {
        float best = -INFINITY;
        for (int64_t t = 0; t < p->V; t++)
            if (w->x[t] > best) {
                best = w->x[t];
                token = (int32_t)t;
            }
        if (token >= 0) prob = 1.0f;
    } else {
        token = draw_row(&s, p->V, w, &prob);
    }
    p->tokens[r * p->tokens_stride] = token;
    if (p->probs != NULL) p->probs[r * p->probs_stride] = prob;
}

static int64_t cpu_threads(const ax_context *ctx, int64_t rows) {
    const int64_t t = ctx->num_threads > 0 ? ctx->num_threads : 1;
    return t < rows ? t : rows;
}

/* Per thread: x, e and the history counts (4 V bytes each) and the candidate keys (8 V). */
static int64_t cpu_slice_bytes(int64_t V) { return 3 * ax_ws_round(V * 4) + ax_ws_round(V * 8); }

static ax_status sample_cpu_workspace(const ax_context *ctx, const void *params, ax_op_workspace *need) {
    const sampling_params *p = params;
    need->host_bytes = cpu_slice_bytes(p->V) * cpu_threads(ctx, p->N);
    return AX_OK;
}

static ax_status sample_cpu(const ax_op_call *call) {
    const sampling_params *p = call->params;
    const int64_t V = p->V, slice = cpu_slice_bytes(V), v4 = ax_ws_round(V * 4);
    const int threads = (int)cpu_threads(call->ctx, p->N);
    for (int64_t i = 0; i < threads; i++) memset(ax_ws_slice(call->host_ws, 2 * v4, slice, i), 0, (size_t)(V * 4));
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1) if (threads > 1)
    for (int64_t r = 0; r < p->N; r++) {
#ifdef _OPENMP
        const int64_t me = omp_get_thread_num();
#else
        const int64_t me = 0;
#endif
        char *base = ax_ws_slice(call->host_ws, 0, slice, me);
        row_scratch w = {(float *)base, (float *)(base + v4), (uint32_t *)(base + 2 * v4), (uint64_t *)(base + 3 * v4)};
        sample_row(p, r, &w);
    }
    return AX_OK;
}

/* The CUDA kernel's top-p sums are 2^-40 fixed-point integers in 64 bits: V < 2^24 keeps them exact. */
static ax_status sample_cuda_supports(const ax_context *ctx, const void *params) {
    (void)ctx;
    const sampling_params *p = params;
    if (p->V >= ((int64_t)1 << 24))
        return ax_set_error(AX_ERR_UNSUPPORTED, "sample: V = %lld on CUDA, expected less than 2^24", (long long)p->V);
    return AX_OK;
}

static const ax_op sample_op = {
    .name = "sample",
    .cpu = {sample_cpu, NULL, NULL},
    .cuda = AX_CUDA_KERNEL(sample_cuda),
    .cuda_supports = sample_cuda_supports,
    .cpu_workspace = sample_cpu_workspace,
    .cuda_workspace = AX_CUDA_KERNEL(sample_cuda_workspace),
};

/* ------------------------------------------------------------------------------------------------
 * Entry
 * ---------------------------------------------------------------------------------------------- */

ax_status ax_sample(ax_context *ctx, const ax_tensor *logits, const ax_tensor *settings, const ax_tensor *history_ids,
                    const ax_tensor *history_offsets, ax_tensor *tokens, ax_tensor *probs) {
    if (ctx == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "ctx: NULL context");
    if ((history_ids == NULL) != (history_offsets == NULL))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: NULL while %s is not; pass both or neither",
                            history_ids == NULL ? "history_ids" : "history_offsets",
                            history_ids == NULL ? "history_offsets" : "history_ids");
    ax_tensor_spec specs[6] = {
        AX_SPEC("logits", logits, 2, "N", "V"),
        AX_SPEC("settings", settings, 2, "N", "48"),
        AX_SPEC("history_ids", history_ids, 1, "H"),
        AX_SPEC("history_offsets", history_offsets, 1, "N+1"),
        AX_SPEC("tokens", tokens, 1, "N"),
        AX_SPEC("probs", probs, 1, "N"),
    };
    specs[0].dtypes = AX_DTYPES_FLOAT;
    specs[0].flags = AX_SPEC_LAST_CONTIGUOUS;
    specs[1].dtypes = AX_DTYPE_BIT(AX_U8);
    specs[1].flags = AX_SPEC_LAST_CONTIGUOUS;
    specs[2].dtypes = AX_DTYPE_BIT(AX_I32);
    specs[2].flags = AX_SPEC_OPTIONAL;
    specs[3].dtypes = AX_DTYPE_BIT(AX_I64);
    specs[3].flags = AX_SPEC_OPTIONAL;
    specs[4].dtypes = AX_DTYPE_BIT(AX_I32);
    specs[4].flags = AX_SPEC_OUTPUT;
    specs[5].dtypes = AX_DTYPE_BIT(AX_F32);
    specs[5].flags = AX_SPEC_OUTPUT | AX_SPEC_OPTIONAL;
    ax_dims dims = {0};
    /* history_offsets has N + 1 entries, a size no dim name can say: bind it up front. */
    if (logits != NULL && logits->ndim == 2 && logits->shape[0] >= 0 && logits->shape[0] < INT64_MAX)
        AX_CHECK(ax_dims_bind(&dims, "N+1", logits->shape[0] + 1));
    AX_CHECK(ax_check_specs(ctx, specs, 6, &dims));
    const int64_t N = logits->shape[0], V = logits->shape[1];
    if (N > 0 && V < 1) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "logits: dim 1 (V) is 0, expected at least one token");
    if (V >= ((int64_t)1 << 31))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "logits: dim 1 (V) is %lld, expected less than 2^31 (int32 token ids)",
                            (long long)V);
    if (N > 1 && settings->strides[0] != AX_SAMPLING_ROW_BYTES)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "settings: stride of dim 0 is %lld, expected %d (contiguous rows)",
                            (long long)settings->strides[0], AX_SAMPLING_ROW_BYTES);
    if (ax_context_device(ctx).type == AX_CPU && N > 0)
        AX_CHECK(check_batch(settings->data, N, history_ids ? history_ids->data : NULL, history_ids ? history_ids->strides[0] : 0,
                             history_ids ? history_ids->shape[0] : 0, history_offsets ? history_offsets->data : NULL,
                             history_offsets ? history_offsets->strides[0] : 0, V));

    sampling_params p;
    memset(&p, 0, sizeof p);
    p.logits = logits->data;
    p.logits_dtype = logits->dtype;
    p.logits_row_stride = logits->strides[0];
    p.settings = settings->data;
    if (history_ids != NULL) {
        p.history_ids = history_ids->data;
        p.history_stride = history_ids->strides[0];
        p.H = history_ids->shape[0];
        p.history_offsets = history_offsets->data;
        p.offsets_stride = history_offsets->strides[0];
    }
    p.tokens = tokens->data;
    p.tokens_stride = tokens->strides[0];
    if (probs != NULL) {
        p.probs = probs->data;
        p.probs_stride = probs->strides[0];
    }
    p.N = N;
    p.V = V;
    if (N == 0) return AX_OK;
    return ax_op_run(&sample_op, ctx, &p);
}
