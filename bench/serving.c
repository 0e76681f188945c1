/*
 * serving.c — FastGen's effective-throughput benchmark (DeepSpeedExamples benchmarks/inference/mii)
 * for the serving engine (serving.h), on the real model, with the three scheduler policies on one
 * request trace:
 *
 *   bench_serving --model F [--threads T] [--clients 1,2,4,8,16] [--policies splitfuse,prefill-first,static]
 *                 [--prompt-mean 256] [--gen-mean 32] [--prompt-sla-frac 0.1] [--gen-sla-frac 0.05]
 *                 [--batch-tokens N] [--ctx N] [--seed S] [--json FILE] [--trace FILE]
 *
 * 1. The trace: 4*max(clients) + 32 requests, prompt and generation lengths drawn from normal
 *    distributions (sd 0.3 x the mean, rounded, clamped to >= 1 and to the context) by a seeded RNG;
 *    each prompt is a slice of real English-like text (sentences this file generates from its own
 *    word lists, tokenized once by the model's tokenizer) starting at a random offset, so no two
 *    prompts share a KV block; ignore_eos, so every request generates exactly its drawn length.
 *    A point with c clients serves the first 4c + 32 requests of the trace, the same for every policy.
 * 2. Single-stream speed: one request of the mean prompt length and 64 generated tokens, alone on an
 *    engine (a warm-up first, then the median of 3): prefill tok/s = prompt tokens / TTFT, decode
 *    tok/s = (generated - 1) / (last token time - first token time).
 * 3. SLA rates, fixed up front from (2): prompt_rate = prompt-sla-frac x prefill, gen_rate =
 *    gen-sla-frac x decode. A request meets the SLA when TTFT <= prompt tokens / prompt_rate and
 *    both FastGen generation rules hold over its inter-token latencies d_1..d_{n-1}: cumulative,
 *    d_1 + ... + d_k <= k / gen_rate for every k; and the exponential moving average of d (span 16,
 *    alpha = 2/17, bias-adjusted as pandas' ewm(span=16) computes it) < 1 / gen_rate at every k.
 *    Defaults 0.1 (prompt) and 0.05 (generation): FastGen's SLAs are fixed rates (prompt 512 tok/s,
 *    generation 1-8 tok/s, human reading speeds) far below its GPUs' single-stream speeds; 0.05 x a
 *    2-core CPU's decode (~3 tok/s) lands in that range and is above the fair share of 16 closed-loop
 *    clients only when the scheduler wastes nothing (docs/serving-benchmark.md).
 * 4. For each policy and client count, a fresh engine (same config except the policy) runs its
 *    background loop; c client threads each submit a request, wait for its last event, submit the
 *    next (closed loop). Times are taken by this program: submit, and each event callback (all
 *    tokens of one event get the event's time).
 *
 * Per point: effective requests/s (requests meeting the SLA / wall time from the first submit to
 * the last token), throughput (requests/s, generated tokens/s), TTFT P50/P95, token latency (the
 * inter-token gaps of every request pooled) P50/P95/P99, the SLA pass fraction (and per rule). Then
 * the ratios the targets name, at the highest client count. --json writes one JSON object a
 * line (machine and SLA, each point, each request's timeline, the ratios) for bench/serving_report.py
 * and bench/serving_vs_llamacpp.sh; --trace writes the trace (prompt ids, generation lengths) for the
 * llama.cpp anchor. Points are single runs (each is minutes of closed-loop traffic); never asserts
 * timings.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "axial/llm.h"
#include "axial/serving.h"
#include "bench_util.h"

#define SRVB_MAX_CLIENTS 16      /* entries of --clients */
#define SRVB_MAX_POLICIES 3
#define SRVB_EMA_SPAN 16
#define SRVB_CORPUS_WORDS 60000  /* ~80k tokens: room for random offsets under 1024-token prompts */
#define SRVB_SINGLE_GEN 64
#define SRVB_SINGLE_REPEATS 3

typedef struct srvb_args {
    const char *model_path;
    int threads;
    int clients[SRVB_MAX_CLIENTS];
    int n_clients;
    ax_serving_policy policies[SRVB_MAX_POLICIES];
    int n_policies;
    int prompt_mean, gen_mean;
    double prompt_sla_frac, gen_sla_frac;
    int batch_tokens;
    int n_ctx;
    uint64_t seed;
    const char *json_path;
    const char *trace_path;
} srvb_args;

/* ---- the trace ------------------------------------------------------------------------------ */

typedef struct srvb_trace {
    int64_t n;              /* requests */
    int64_t *prompt_off;    /* (n) start of each prompt in `ids` */
    int32_t *prompt_len;    /* (n) */
    int32_t *gen_len;       /* (n) */
    int32_t *ids;           /* every prompt's ids, concatenated */
} srvb_trace;

static uint64_t srvb_next(uint64_t *state) {
    /* splitmix64: small, seedable, good enough for lengths and offsets */
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double srvb_uniform(uint64_t *state) { return ((double)(srvb_next(state) >> 11) + 0.5) * 0x1.0p-53; }

static double srvb_normal(uint64_t *state, double mean, double sd) {
    /* Box-Muller; one value per call keeps the stream simple to reproduce */
    const double u1 = srvb_uniform(state), u2 = srvb_uniform(state);
    return mean + sd * sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

static int32_t srvb_clamp_len(double x, int32_t hi) {
    int64_t v = (int64_t)llround(x);
    if (v < 1) v = 1;
    if (v > hi) v = hi;
    return (int32_t)v;
}

/* English-like prose from fixed word lists: real words and punctuation, so the BPE produces the
 * token mix of ordinary text, and a random offset gives every prompt a different start. */
static char *srvb_corpus(uint64_t seed, size_t *len) {
    static const char *const subjects[] = {
        "the miller", "a young clerk", "the old ferryman", "my neighbour", "the captain", "a travelling doctor",
        "the weaver's daughter", "the schoolmaster", "an idle soldier", "the widow", "our landlord", "the river pilot",
        "a stranger from the north", "the blacksmith", "the parish council", "two fishermen", "the lamplighter",
        "a careful gardener", "the innkeeper", "her brother"};
    static const char *const verbs[] = {
        "walked slowly past", "spoke at length about", "refused to sell", "carried", "painted", "looked for",
        "forgot", "argued over", "repaired", "counted", "wrote a letter concerning", "dreamed of", "quietly watched",
        "borrowed", "mended", "complained about", "laughed at", "remembered", "measured", "sang about"};
    static const char *const objects[] = {
        "the broken wheel", "a basket of apples", "the harbour lights", "the winter accounts", "an old map",
        "the church bell", "a pair of boots", "the northern road", "the flooded meadow", "a silver watch",
        "the price of bread", "the last train", "a wooden chest", "the frozen canal", "his grandfather's violin",
        "the market square", "a bundle of letters", "the lighthouse", "the orchard wall", "the evening paper"};
    static const char *const tails[] = {
        "before the rain came", "while the town slept", "for nearly an hour", "without a word to anyone",
        "as the bells rang for supper", "though nobody had asked", "in the grey light of morning",
        "because the roads were closed", "until the fire burned low", "on the first day of spring",
        "after the harvest", "near the old stone bridge", "with great patience", "in spite of the cold",
        "long after midnight", "as if it mattered a great deal"};
    static const char *const joins[] = {". ", ". ", ". ", "; ", ", and then ", ". Later, ", ". Meanwhile ",
                                        "! ", ". In truth, ", "? Perhaps. "};
#define SRVB_PICK(list) list[srvb_next(&seed) % (sizeof list / sizeof list[0])]
    size_t cap = (size_t)SRVB_CORPUS_WORDS * 12, n = 0;
    char *text = malloc(cap);
    if (text == NULL) return NULL;
    int words = 0, capital = 1;
    while (words < SRVB_CORPUS_WORDS) {
        const char *parts[5] = {SRVB_PICK(subjects), " ", SRVB_PICK(verbs), " ", SRVB_PICK(objects)};
        char sentence[256];
        int m = snprintf(sentence, sizeof sentence, "%s%s%s%s%s %s%s", parts[0], parts[1], parts[2], parts[3],
                         parts[4], SRVB_PICK(tails), SRVB_PICK(joins));
        if (m <= 0 || (size_t)m >= sizeof sentence) continue;
        if (capital && sentence[0] >= 'a' && sentence[0] <= 'z') sentence[0] = (char)(sentence[0] - 'a' + 'A');
        /* a sentence that ends with ". " starts the next with a capital; "; " and ", and then " do not */
        capital = sentence[m - 2] == '.' || sentence[m - 2] == '!' || sentence[m - 2] == '?';
        if (n + (size_t)m + 2 > cap) break;
        memcpy(text + n, sentence, (size_t)m);
        n += (size_t)m;
        for (int i = 0; i < m; i++) words += sentence[i] == ' ';
        if (srvb_next(&seed) % 7 == 0) text[n++] = '\n';
    }
#undef SRVB_PICK
    text[n] = '\0';
    *len = n;
    return text;
}

static void srvb_trace_free(srvb_trace *t) {
    free(t->prompt_off);
    free(t->prompt_len);
    free(t->gen_len);
    free(t->ids);
    memset(t, 0, sizeof *t);
}

/* Draws `n` requests; prompts are slices of the tokenized corpus (with BOS first when the model adds
 * one). Returns 0, or -1 with a message on stderr. */
static int srvb_trace_make(const ax_llm_model *model, const ax_llm_model_info *info, const srvb_args *a,
                           int32_t n_ctx, int64_t n, srvb_trace *t) {
    memset(t, 0, sizeof *t);
    size_t text_len = 0;
    char *text = srvb_corpus(a->seed ^ 0x5eedc0de, &text_len);
    int32_t *corpus = NULL;
    int64_t n_corpus = 0;
    int rc = -1;
    if (text == NULL) goto done;
    /* byte-level BPE: never more tokens than bytes */
    corpus = malloc((text_len + 1) * sizeof(int32_t));
    if (corpus == NULL ||
        ax_llm_tokenize(model, text, text_len, 0, corpus, (int64_t)text_len + 1, &n_corpus) != AX_OK)
        goto done;
    const int bos = info->add_bos && info->bos_id >= 0;
    t->n = n;
    t->prompt_off = malloc((size_t)n * sizeof(int64_t));
    t->prompt_len = malloc((size_t)n * sizeof(int32_t));
    t->gen_len = malloc((size_t)n * sizeof(int32_t));
    if (t->prompt_off == NULL || t->prompt_len == NULL || t->gen_len == NULL) goto done;
    uint64_t state = a->seed;
    int64_t total = 0;
    for (int64_t i = 0; i < n; i++) {
        /* the generation keeps at least one token of room, the prompt takes what is left */
        t->gen_len[i] = srvb_clamp_len(srvb_normal(&state, a->gen_mean, 0.3 * a->gen_mean), n_ctx - 1);
        int32_t hi = n_ctx - t->gen_len[i];
        if (hi > n_corpus + bos) hi = (int32_t)(n_corpus + bos);
        t->prompt_len[i] = srvb_clamp_len(srvb_normal(&state, a->prompt_mean, 0.3 * a->prompt_mean), hi);
        t->prompt_off[i] = total;
        total += t->prompt_len[i];
    }
    t->ids = malloc((size_t)total * sizeof(int32_t));
    if (t->ids == NULL) goto done;
    for (int64_t i = 0; i < n; i++) {
        int32_t *p = t->ids + t->prompt_off[i];
        const int64_t body = t->prompt_len[i] - bos;
        const int64_t start = (int64_t)(srvb_next(&state) % (uint64_t)(n_corpus - body + 1));
        if (bos) p[0] = info->bos_id;
        memcpy(p + bos, corpus + start, (size_t)body * sizeof(int32_t));
    }
    rc = 0;
done:
    if (rc != 0) {
        fprintf(stderr, "bench_serving: cannot build the trace: %s\n", ax_last_error());
        srvb_trace_free(t);
    }
    free(text);
    free(corpus);
    return rc;
}

/* ---- one request's timeline, filled by the event callback ------------------------------------- */

typedef struct srvb_record {
    double t_submit, t_end;
    double *token_t;            /* (gen_len) time of each generated token */
    int64_t n_tokens;           /* tokens received */
    int32_t capacity;
    ax_serving_finish finish;
    int done;
    char error[160];
    struct srvb_point_run *run;
} srvb_record;

typedef struct srvb_point_run {
    pthread_mutex_t mu;
    pthread_cond_t cv;          /* a request finished */
    ax_serving_engine *engine;
    const srvb_trace *trace;
    srvb_record *records;       /* (n) */
    int64_t n;
    atomic_llong next;          /* the next request a free client submits */
    atomic_int failed;
    ax_serving_stats stats;     /* the engine's counters after the point (prefix hits, steps) */
} srvb_point_run;

static void srvb_on_event(void *user, const ax_serving_event *ev) {
    srvb_record *r = user;
    const double now = bench_now();
    for (int64_t k = 0; k < ev->n_tokens; k++) {
        if (r->n_tokens < r->capacity) r->token_t[r->n_tokens] = now;
        r->n_tokens++;
    }
    if (ev->finish == AX_SERVING_RUNNING) return;
    srvb_point_run *run = r->run;
    pthread_mutex_lock(&run->mu);
    r->t_end = now;
    r->finish = ev->finish;
    if (ev->finish == AX_SERVING_ERROR) snprintf(r->error, sizeof r->error, "%s", ev->text ? ev->text : "");
    r->done = 1;
    pthread_cond_broadcast(&run->cv);
    pthread_mutex_unlock(&run->mu);
}

static void *srvb_client(void *arg) {
    srvb_point_run *run = arg;
    for (;;) {
        const int64_t i = atomic_fetch_add(&run->next, 1);
        if (i >= run->n || atomic_load(&run->failed)) return NULL;
        srvb_record *r = &run->records[i];
        ax_serving_request req = AX_SERVING_REQUEST_INIT;
        req.tokens = run->trace->ids + run->trace->prompt_off[i];
        req.n_tokens = run->trace->prompt_len[i];
        req.max_tokens = run->trace->gen_len[i];
        req.ignore_eos = 1;
        req.callback = srvb_on_event;
        req.user = r;
        int64_t id = 0;
        r->t_submit = bench_now();
        ax_status st;
        /* the queue never fills with at most 16 clients, but a busy engine is not a failure */
        while ((st = ax_serving_submit(run->engine, &req, &id)) == AX_ERR_BUSY) {
            const struct timespec pause = {0, 1000 * 1000};
            nanosleep(&pause, NULL);
        }
        if (st != AX_OK) {
            fprintf(stderr, "bench_serving: submit of request %lld: %s\n", (long long)i, ax_last_error());
            atomic_store(&run->failed, 1);
            return NULL;
        }
        pthread_mutex_lock(&run->mu);
        while (!r->done) pthread_cond_wait(&run->cv, &run->mu);
        pthread_mutex_unlock(&run->mu);
        if (r->finish != AX_SERVING_LENGTH || r->n_tokens != run->trace->gen_len[i]) {
            fprintf(stderr, "bench_serving: request %lld ended '%s' after %lld of %d tokens %s\n", (long long)i,
                    ax_serving_finish_name(r->finish), (long long)r->n_tokens, run->trace->gen_len[i], r->error);
            atomic_store(&run->failed, 1);
            return NULL;
        }
    }
}

/* ---- metrics ------------------------------------------------------------------------------------ */

typedef struct srvb_sla {
    double prompt_rate, gen_rate;   /* tokens/s */
} srvb_sla;

typedef struct srvb_metrics {
    int64_t requests, generated;
    double duration_s;
    double effective_req_s, throughput_req_s, throughput_tok_s;
    double ttft_p50, ttft_p95;
    double token_p50, token_p95, token_p99;
    double pass, prompt_pass, cum_pass, ema_pass;
} srvb_metrics;

static int srvb_cmp_double(const void *x, const void *y) {
    const double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* Percentile q (0..100) of sorted v, interpolating linearly between ranks (numpy's default). */
static double srvb_percentile(const double *v, int64_t n, double q) {
    if (n == 0) return 0.0;
    const double pos = q / 100.0 * (double)(n - 1);
    const int64_t lo = (int64_t)floor(pos);
    const int64_t hi = lo + 1 < n ? lo + 1 : lo;
    return v[lo] + (pos - (double)lo) * (v[hi] - v[lo]);
}

/* The three SLA rules of one request; bit 0 prompt, bit 1 cumulative, bit 2 EMA. */
static int srvb_request_sla(const srvb_record *r, int32_t prompt_len, const srvb_sla *sla) {
    int ok = 0;
    if (r->token_t[0] - r->t_submit <= prompt_len / sla->prompt_rate) ok |= 1;
    const double alpha = 2.0 / (SRVB_EMA_SPAN + 1.0), limit = 1.0 / sla->gen_rate;
    int cum = 1, ema = 1;
    double num = 0.0, den = 0.0;
    for (int64_t k = 1; k < r->n_tokens; k++) {
        if (r->token_t[k] - r->token_t[0] > (double)k / sla->gen_rate) cum = 0;
        /* bias-adjusted EMA: sum (1-a)^j x_{k-j} / sum (1-a)^j */
        num = (r->token_t[k] - r->token_t[k - 1]) + (1.0 - alpha) * num;
        den = 1.0 + (1.0 - alpha) * den;
        if (!(num / den < limit)) ema = 0;
    }
    return ok | cum << 1 | ema << 2;
}

static int srvb_metrics_compute(const srvb_point_run *run, const srvb_sla *sla, srvb_metrics *m) {
    memset(m, 0, sizeof *m);
    const int64_t n = run->n;
    int64_t n_gaps = 0;
    for (int64_t i = 0; i < n; i++) n_gaps += run->records[i].n_tokens - 1;
    double *ttft = malloc((size_t)n * sizeof(double));
    double *gaps = malloc((size_t)(n_gaps > 0 ? n_gaps : 1) * sizeof(double));
    if (ttft == NULL || gaps == NULL) {
        free(ttft);
        free(gaps);
        return -1;
    }
    double t0 = run->records[0].t_submit, t1 = run->records[0].t_end;
    int64_t pass = 0, prompt_pass = 0, cum_pass = 0, ema_pass = 0, g = 0;
    for (int64_t i = 0; i < n; i++) {
        const srvb_record *r = &run->records[i];
        if (r->t_submit < t0) t0 = r->t_submit;
        if (r->t_end > t1) t1 = r->t_end;
        ttft[i] = r->token_t[0] - r->t_submit;
        for (int64_t k = 1; k < r->n_tokens; k++) gaps[g++] = r->token_t[k] - r->token_t[k - 1];
        m->generated += r->n_tokens;
        const int ok = srvb_request_sla(r, run->trace->prompt_len[i], sla);
        prompt_pass += ok & 1;
        cum_pass += ok >> 1 & 1;
        ema_pass += ok >> 2 & 1;
        pass += ok == 7;
    }
    qsort(ttft, (size_t)n, sizeof(double), srvb_cmp_double);
    qsort(gaps, (size_t)g, sizeof(double), srvb_cmp_double);
    m->requests = n;
    m->duration_s = t1 - t0;
    m->throughput_req_s = (double)n / m->duration_s;
    m->throughput_tok_s = (double)m->generated / m->duration_s;
    m->effective_req_s = (double)pass / m->duration_s;
    m->ttft_p50 = srvb_percentile(ttft, n, 50);
    m->ttft_p95 = srvb_percentile(ttft, n, 95);
    m->token_p50 = srvb_percentile(gaps, g, 50);
    m->token_p95 = srvb_percentile(gaps, g, 95);
    m->token_p99 = srvb_percentile(gaps, g, 99);
    m->pass = (double)pass / (double)n;
    m->prompt_pass = (double)prompt_pass / (double)n;
    m->cum_pass = (double)cum_pass / (double)n;
    m->ema_pass = (double)ema_pass / (double)n;
    free(ttft);
    free(gaps);
    return 0;
}

/* ---- running one point -------------------------------------------------------------------------- */

static ax_status srvb_engine(ax_llm_model *model, const srvb_args *a, ax_serving_policy policy,
                             ax_serving_engine **out) {
    ax_serving_config cfg = AX_SERVING_CONFIG_INIT;
    cfg.policy = policy;
    cfg.n_ctx = a->n_ctx;
    cfg.max_batch_tokens = a->batch_tokens;
    return ax_serving_create(model, &cfg, out);
}

/* Serves requests [0, n) of the trace with `clients` closed-loop clients on a fresh engine. The
 * records (allocated here, freed by srvb_run_free) hold the timelines. */
static int srvb_run_point(ax_llm_model *model, const srvb_args *a, ax_serving_policy policy, const srvb_trace *trace,
                          int64_t n, int clients, srvb_point_run *run) {
    memset(run, 0, sizeof *run);
    pthread_mutex_init(&run->mu, NULL);
    pthread_cond_init(&run->cv, NULL);
    run->trace = trace;
    run->n = n;
    atomic_init(&run->next, 0);
    atomic_init(&run->failed, 0);
    run->records = calloc((size_t)n, sizeof(srvb_record));
    if (run->records == NULL) return -1;
    for (int64_t i = 0; i < n; i++) {
        run->records[i].capacity = trace->gen_len[i];
        run->records[i].token_t = malloc((size_t)trace->gen_len[i] * sizeof(double));
        run->records[i].run = run;
        if (run->records[i].token_t == NULL) return -1;
    }
    if (srvb_engine(model, a, policy, &run->engine) != AX_OK) {
        fprintf(stderr, "bench_serving: engine (%s): %s\n", ax_serving_policy_name(policy), ax_last_error());
        return -1;
    }
    /* Warm-up on this engine: its first steps size the step buffers. The prompt is request 0's first
     * tokens in reverse order, which no trace prompt starts with, so it leaves no shareable prefix. */
    {
        srvb_record warm = {0};
        double warm_t[4];
        int32_t warm_ids[64];
        warm.token_t = warm_t;
        warm.capacity = 4;
        warm.run = run;
        const int32_t len = trace->prompt_len[0] > 64 ? 64 : trace->prompt_len[0];
        for (int32_t k = 0; k < len; k++) warm_ids[k] = trace->ids[trace->prompt_off[0] + len - 1 - k];
        ax_serving_request req = AX_SERVING_REQUEST_INIT;
        req.tokens = warm_ids;
        req.n_tokens = len;
        req.max_tokens = 4;
        req.ignore_eos = 1;
        req.callback = srvb_on_event;
        req.user = &warm;
        int64_t id;
        int did = 1;
        if (ax_serving_submit(run->engine, &req, &id) != AX_OK) goto fail;
        while (!warm.done && did)
            if (ax_serving_step(run->engine, &did) != AX_OK) goto fail;
    }
    bench_settle();
    if (ax_serving_start(run->engine) != AX_OK) goto fail;
    pthread_t threads[256];
    int started = 0;
    for (; started < clients && started < 256; started++)
        if (pthread_create(&threads[started], NULL, srvb_client, run) != 0) break;
    for (int i = 0; i < started; i++) pthread_join(threads[i], NULL);
    ax_serving_stop(run->engine);
    if (ax_serving_get_stats(run->engine, &run->stats) != AX_OK) memset(&run->stats, 0, sizeof run->stats);
    if (started < clients || atomic_load(&run->failed)) {
        if (started < clients) fprintf(stderr, "bench_serving: cannot start %d client threads\n", clients);
        return -1;
    }
    return 0;
fail:
    fprintf(stderr, "bench_serving: warm-up (%s): %s\n", ax_serving_policy_name(policy), ax_last_error());
    return -1;
}

static void srvb_run_free(srvb_point_run *run) {
    ax_serving_free(run->engine);
    run->engine = NULL;
    if (run->records != NULL)
        for (int64_t i = 0; i < run->n; i++) free(run->records[i].token_t);
    free(run->records);
    run->records = NULL;
    pthread_mutex_destroy(&run->mu);
    pthread_cond_destroy(&run->cv);
}

/* ---- single-stream speed ------------------------------------------------------------------------- */

/* One request alone: prefill tok/s and decode tok/s, medians of SRVB_SINGLE_REPEATS after a warm-up. */
static int srvb_single_stream(ax_llm_model *model, const srvb_args *a, const srvb_trace *trace, double *prefill,
                              double *decode) {
    /* the mean prompt length, from the trace's first request of at least that length (or its longest) */
    int64_t pick = 0;
    for (int64_t i = 0; i < trace->n; i++) {
        if (trace->prompt_len[i] >= a->prompt_mean) {
            pick = i;
            break;
        }
        if (trace->prompt_len[i] > trace->prompt_len[pick]) pick = i;
    }
    const int32_t n_prompt = trace->prompt_len[pick] < a->prompt_mean ? trace->prompt_len[pick] : a->prompt_mean;
    double pre[SRVB_SINGLE_REPEATS], dec[SRVB_SINGLE_REPEATS];
    for (int rep = -1; rep < SRVB_SINGLE_REPEATS; rep++) {
        /* a fresh engine each time, so the prompt's blocks are never already cached */
        srvb_point_run run;
        memset(&run, 0, sizeof run);
        pthread_mutex_init(&run.mu, NULL);
        pthread_cond_init(&run.cv, NULL);
        double t[SRVB_SINGLE_GEN];
        srvb_record r = {0};
        r.token_t = t;
        r.capacity = SRVB_SINGLE_GEN;
        r.run = &run;
        ax_serving_request req = AX_SERVING_REQUEST_INIT;
        req.tokens = trace->ids + trace->prompt_off[pick];
        req.n_tokens = n_prompt;
        req.max_tokens = SRVB_SINGLE_GEN;
        req.ignore_eos = 1;
        req.callback = srvb_on_event;
        req.user = &r;
        int64_t id;
        int did = 1;
        ax_status st = srvb_engine(model, a, AX_SERVING_SPLITFUSE, &run.engine);
        bench_settle();
        r.t_submit = bench_now();
        if (st == AX_OK) st = ax_serving_submit(run.engine, &req, &id);
        while (st == AX_OK && !r.done && did) st = ax_serving_step(run.engine, &did);
        ax_serving_free(run.engine);
        pthread_mutex_destroy(&run.mu);
        pthread_cond_destroy(&run.cv);
        if (st != AX_OK || r.n_tokens != SRVB_SINGLE_GEN) {
            fprintf(stderr, "bench_serving: single-stream request: %s\n",
                    st != AX_OK ? ax_last_error() : "ended early");
            return -1;
        }
        if (rep < 0) continue;
        pre[rep] = n_prompt / (t[0] - r.t_submit);
        dec[rep] = (SRVB_SINGLE_GEN - 1) / (t[SRVB_SINGLE_GEN - 1] - t[0]);
    }
    *prefill = bench_median(pre, SRVB_SINGLE_REPEATS);
    *decode = bench_median(dec, SRVB_SINGLE_REPEATS);
    printf("single stream (one request alone, %d-token prompt, %d tokens, median of %d): prefill %.1f tok/s, "
           "decode %.1f tok/s\n",
           n_prompt, SRVB_SINGLE_GEN, SRVB_SINGLE_REPEATS, *prefill, *decode);
    return 0;
}

/* ---- output ----------------------------------------------------------------------------------- */

static void srvb_print_header(void) {
    printf("\n%-14s %7s %8s %9s %9s %9s %8s %8s %8s %8s %8s %6s %6s %6s %6s\n", "policy", "clients", "requests",
           "eff req/s", "req/s", "gen tok/s", "TTFT p50", "TTFT p95", "tok p50", "tok p95", "tok p99", "SLA", "prompt",
           "cum", "ema");
    printf("%-14s %7s %8s %9s %9s %9s %8s %8s %8s %8s %8s %6s %6s %6s %6s\n", "", "", "", "", "", "", "(s)", "(s)",
           "(ms)", "(ms)", "(ms)", "pass", "pass", "pass", "pass");
}

static void srvb_print_point(const char *policy, int clients, const srvb_metrics *m) {
    printf("%-14s %7d %8lld %9.3f %9.3f %9.1f %8.2f %8.2f %8.1f %8.1f %8.1f %5.0f%% %5.0f%% %5.0f%% %5.0f%%\n", policy,
           clients, (long long)m->requests, m->effective_req_s, m->throughput_req_s, m->throughput_tok_s, m->ttft_p50,
           m->ttft_p95, 1e3 * m->token_p50, 1e3 * m->token_p95, 1e3 * m->token_p99, 100 * m->pass,
           100 * m->prompt_pass, 100 * m->cum_pass, 100 * m->ema_pass);
    fflush(stdout);
}

static void srvb_json_point(FILE *f, const char *policy, int clients, const srvb_metrics *m,
                            const ax_serving_stats *st) {
    if (f == NULL) return;
    fprintf(f,
            "{\"type\": \"point\", \"system\": \"axial\", \"policy\": \"%s\", \"clients\": %d, \"requests\": %lld, "
            "\"generated_tokens\": %lld, \"duration_s\": %.6f, \"effective_req_s\": %.6f, \"throughput_req_s\": %.6f, "
            "\"throughput_tok_s\": %.6f, \"ttft_p50_s\": %.6f, \"ttft_p95_s\": %.6f, \"token_p50_s\": %.6f, "
            "\"token_p95_s\": %.6f, \"token_p99_s\": %.6f, \"sla_pass\": %.6f, \"prompt_sla_pass\": %.6f, "
            "\"cum_sla_pass\": %.6f, \"ema_sla_pass\": %.6f, \"engine_steps\": %lld, \"cached_prompt_tokens\": %lld, "
            "\"computed_prompt_tokens\": %lld}\n",
            policy, clients, (long long)m->requests, (long long)m->generated, m->duration_s, m->effective_req_s,
            m->throughput_req_s, m->throughput_tok_s, m->ttft_p50, m->ttft_p95, m->token_p50, m->token_p95,
            m->token_p99, m->pass, m->prompt_pass, m->cum_pass, m->ema_pass, (long long)st->steps,
            (long long)st->cached_prompt_tokens, (long long)st->computed_prompt_tokens);
}

/* Each request's timeline, relative to its submit: the report recomputes the metrics from these
 * with its own code, as a check of this file's. */
static void srvb_json_requests(FILE *f, const char *policy, int clients, const srvb_point_run *run) {
    if (f == NULL) return;
    for (int64_t i = 0; i < run->n; i++) {
        const srvb_record *r = &run->records[i];
        fprintf(f,
                "{\"type\": \"request\", \"system\": \"axial\", \"policy\": \"%s\", \"clients\": %d, \"index\": %lld, "
                "\"prompt_tokens\": %d, \"submit_s\": %.6f, \"end_s\": %.6f, \"token_s\": [",
                policy, clients, (long long)i, run->trace->prompt_len[i], r->t_submit - run->records[0].t_submit,
                r->t_end - r->t_submit);
        for (int64_t k = 0; k < r->n_tokens; k++) fprintf(f, "%s%.6f", k ? ", " : "", r->token_t[k] - r->t_submit);
        fprintf(f, "]}\n");
    }
}

static int srvb_write_trace(const char *path, const srvb_trace *t) {
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "bench_serving: cannot write %s\n", path);
        return -1;
    }
    fprintf(f, "[\n");
    for (int64_t i = 0; i < t->n; i++) {
        fprintf(f, "{\"gen_tokens\": %d, \"prompt\": [", t->gen_len[i]);
        for (int32_t k = 0; k < t->prompt_len[i]; k++) fprintf(f, "%s%d", k ? "," : "", t->ids[t->prompt_off[i] + k]);
        fprintf(f, "]}%s\n", i + 1 < t->n ? "," : "");
    }
    fprintf(f, "]\n");
    return fclose(f) == 0 ? 0 : -1;
}

/* ---- arguments ---------------------------------------------------------------------------------- */

static int srvb_parse_clients(const char *s, srvb_args *a) {
    a->n_clients = 0;
    while (*s) {
        char *end;
        const long v = strtol(s, &end, 10);
        if (end == s || v < 1 || v > 256 || a->n_clients == SRVB_MAX_CLIENTS) return -1;
        a->clients[a->n_clients++] = (int)v;
        s = *end == ',' ? end + 1 : end;
        if (*end != ',' && *end != '\0') return -1;
    }
    return a->n_clients > 0 ? 0 : -1;
}

static int srvb_parse_policies(const char *s, srvb_args *a) {
    a->n_policies = 0;
    char buf[128];
    snprintf(buf, sizeof buf, "%s", s);
    for (char *tok = strtok(buf, ","); tok != NULL; tok = strtok(NULL, ",")) {
        if (a->n_policies == SRVB_MAX_POLICIES || ax_serving_policy_parse(tok, &a->policies[a->n_policies]) != AX_OK)
            return -1;
        a->n_policies++;
    }
    return a->n_policies > 0 ? 0 : -1;
}

static int srvb_parse(int argc, char **argv, srvb_args *a) {
    for (int i = 1; i < argc; i++) {
        const int has_value = i + 1 < argc;
        const char *arg = argv[i];
        if (!has_value) return -1;
        const char *v = argv[++i];
        if (strcmp(arg, "--model") == 0) a->model_path = v;
        else if (strcmp(arg, "--threads") == 0) a->threads = atoi(v);
        else if (strcmp(arg, "--clients") == 0) {
            if (srvb_parse_clients(v, a) != 0) return -1;
        } else if (strcmp(arg, "--policies") == 0) {
            if (srvb_parse_policies(v, a) != 0) return -1;
        } else if (strcmp(arg, "--prompt-mean") == 0) a->prompt_mean = atoi(v);
        else if (strcmp(arg, "--gen-mean") == 0) a->gen_mean = atoi(v);
        else if (strcmp(arg, "--prompt-sla-frac") == 0) a->prompt_sla_frac = atof(v);
        else if (strcmp(arg, "--gen-sla-frac") == 0) a->gen_sla_frac = atof(v);
        else if (strcmp(arg, "--batch-tokens") == 0) a->batch_tokens = atoi(v);
        else if (strcmp(arg, "--ctx") == 0) a->n_ctx = atoi(v);
        else if (strcmp(arg, "--seed") == 0) a->seed = strtoull(v, NULL, 10);
        else if (strcmp(arg, "--json") == 0) a->json_path = v;
        else if (strcmp(arg, "--trace") == 0) a->trace_path = v;
        else return -1;
    }
    if (a->model_path == NULL || a->prompt_mean < 1 || a->gen_mean < 1 || !(a->prompt_sla_frac > 0) ||
        !(a->gen_sla_frac > 0))
        return -1;
#ifdef _OPENMP
    if (a->threads <= 0) a->threads = omp_get_num_procs();
#endif
    if (a->threads <= 0) a->threads = 1;
    return 0;
}

int main(int argc, char **argv) {
    srvb_args a = {0};
    a.prompt_mean = 256;
    a.gen_mean = 32;
    a.prompt_sla_frac = 0.1;
    a.gen_sla_frac = 0.05;
    a.seed = 20261203;
    srvb_parse_clients("1,2,4,8,16", &a);
    srvb_parse_policies("splitfuse,prefill-first,static", &a);
    if (srvb_parse(argc, argv, &a) != 0) {
        fprintf(stderr,
                "usage: bench_serving --model F.gguf [--threads T] [--clients 1,2,4,8,16]\n"
                "         [--policies splitfuse,prefill-first,static] [--prompt-mean 256] [--gen-mean 32]\n"
                "         [--prompt-sla-frac 0.1] [--gen-sla-frac 0.05] [--batch-tokens N] [--ctx N]\n"
                "         [--seed S] [--json FILE] [--trace FILE]\n");
        return 2;
    }
    ax_llm_model_config mcfg = AX_LLM_MODEL_CONFIG_INIT;
    mcfg.num_threads = a.threads;
    ax_llm_model *model = NULL;
    ax_llm_model_info info;
    ax_serving_engine *probe = NULL;
    ax_serving_config cfg;
    srvb_trace trace = {0};
    FILE *json = NULL;
    int rc = 1;
    if (ax_llm_model_load(a.model_path, &mcfg, &model) != AX_OK || ax_llm_model_get_info(model, &info) != AX_OK ||
        srvb_engine(model, &a, AX_SERVING_SPLITFUSE, &probe) != AX_OK || ax_serving_get_config(probe, &cfg) != AX_OK) {
        fprintf(stderr, "bench_serving: %s\n", ax_last_error());
        goto done;
    }
    ax_serving_free(probe);
    int max_clients = 0;
    for (int i = 0; i < a.n_clients; i++)
        if (a.clients[i] > max_clients) max_clients = a.clients[i];
    if (srvb_trace_make(model, &info, &a, cfg.n_ctx, 4 * (int64_t)max_clients + 32, &trace) != 0) goto done;
    if (a.trace_path != NULL && srvb_write_trace(a.trace_path, &trace) != 0) goto done;
    if (a.json_path != NULL && (json = fopen(a.json_path, "w")) == NULL) {
        fprintf(stderr, "bench_serving: cannot write %s\n", a.json_path);
        goto done;
    }
    double mean_p = 0, mean_g = 0;
    for (int64_t i = 0; i < trace.n; i++) {
        mean_p += trace.prompt_len[i];
        mean_g += trace.gen_len[i];
    }
    mean_p /= (double)trace.n;
    mean_g /= (double)trace.n;
    printf("Axial serving: effective throughput (FastGen's method), %s (%s), %d threads\n", info.name, a.model_path,
           a.threads);
    printf("engine: n_ctx %d, block %d tokens, %lld blocks, batch budget %d tokens, max running %d, static batch %d\n",
           cfg.n_ctx, cfg.block_size, (long long)cfg.num_blocks, cfg.max_batch_tokens, cfg.max_running,
           cfg.static_batch);
    printf("trace: %lld requests (seed %llu), prompt mean %d sd %.1f (drawn: %.1f), generation mean %d sd %.1f "
           "(drawn: %.1f), ignore_eos\n",
           (long long)trace.n, (unsigned long long)a.seed, a.prompt_mean, 0.3 * a.prompt_mean, mean_p, a.gen_mean,
           0.3 * a.gen_mean, mean_g);
    double prefill = 0, decode = 0;
    if (srvb_single_stream(model, &a, &trace, &prefill, &decode) != 0) goto done;
    const srvb_sla sla = {a.prompt_sla_frac * prefill, a.gen_sla_frac * decode};
    printf("SLA: prompt %.1f tok/s (%.2f x prefill: TTFT <= prompt tokens / %.1f), generation %.2f tok/s "
           "(%.2f x decode: cumulative and EMA-%d token latency <= %.1f ms)\n",
           sla.prompt_rate, a.prompt_sla_frac, sla.prompt_rate, sla.gen_rate, a.gen_sla_frac, SRVB_EMA_SPAN,
           1e3 / sla.gen_rate);
    if (json != NULL) {
        fprintf(json,
                "{\"type\": \"machine\", \"model\": \"%s\", \"name\": \"%s\", \"threads\": %d, \"n_ctx\": %d, "
                "\"block_size\": %d, \"num_blocks\": %lld, \"batch_tokens\": %d, \"max_running\": %d, "
                "\"static_batch\": %d, \"seed\": %llu, \"prompt_mean\": %d, \"gen_mean\": %d, \"requests\": %lld, "
                "\"prefill_tok_s\": %.3f, \"decode_tok_s\": %.3f, \"prompt_sla_frac\": %.4f, \"gen_sla_frac\": %.4f, "
                "\"prompt_sla_tok_s\": %.4f, \"gen_sla_tok_s\": %.4f, \"ema_span\": %d}\n",
                a.model_path, info.name, a.threads, cfg.n_ctx, cfg.block_size, (long long)cfg.num_blocks,
                cfg.max_batch_tokens, cfg.max_running, cfg.static_batch, (unsigned long long)a.seed, a.prompt_mean,
                a.gen_mean, (long long)trace.n, prefill, decode, a.prompt_sla_frac, a.gen_sla_frac, sla.prompt_rate,
                sla.gen_rate, SRVB_EMA_SPAN);
        fflush(json);
    }
    srvb_print_header();
    /* effective throughput and P95 token latency at the highest client count, per policy */
    double top_eff[SRVB_MAX_POLICIES] = {0}, top_p95[SRVB_MAX_POLICIES] = {0};
    for (int p = 0; p < a.n_policies; p++) {
        const char *name = ax_serving_policy_name(a.policies[p]);
        for (int c = 0; c < a.n_clients; c++) {
            const int clients = a.clients[c];
            srvb_point_run run;
            srvb_metrics m;
            const int ok = srvb_run_point(model, &a, a.policies[p], &trace, 4 * (int64_t)clients + 32, clients, &run);
            if (ok != 0 || srvb_metrics_compute(&run, &sla, &m) != 0) {
                srvb_run_free(&run);
                goto done;
            }
            srvb_print_point(name, clients, &m);
            srvb_json_point(json, name, clients, &m, &run.stats);
            srvb_json_requests(json, name, clients, &run);
            if (json != NULL) fflush(json);
            srvb_run_free(&run);
            if (clients == max_clients) {
                top_eff[p] = m.effective_req_s;
                top_p95[p] = m.token_p95;
            }
        }
    }
    int sf = -1, pf = -1;
    for (int p = 0; p < a.n_policies; p++) {
        if (a.policies[p] == AX_SERVING_SPLITFUSE) sf = p;
        if (a.policies[p] == AX_SERVING_PREFILL_FIRST) pf = p;
    }
    if (sf >= 0 && pf >= 0) {
        /* a ratio over zero effective throughput is printed as such, not as inf */
        printf("\nat %d clients: splitfuse / prefill-first effective throughput = %.3f / %.3f req/s = %s%.2fx "
               "(target >= 1.3x)\n",
               max_clients, top_eff[sf], top_eff[pf], top_eff[pf] > 0 ? "" : "n/a ",
               top_eff[pf] > 0 ? top_eff[sf] / top_eff[pf] : 0.0);
        printf("at %d clients: prefill-first / splitfuse P95 token latency = %.1f / %.1f ms = %.2fx (target >= 2x)\n",
               max_clients, 1e3 * top_p95[pf], 1e3 * top_p95[sf], top_p95[sf] > 0 ? top_p95[pf] / top_p95[sf] : 0.0);
        if (json != NULL)
            fprintf(json,
                    "{\"type\": \"ratios\", \"clients\": %d, \"splitfuse_eff_req_s\": %.6f, "
                    "\"prefill_first_eff_req_s\": %.6f, \"splitfuse_token_p95_s\": %.6f, "
                    "\"prefill_first_token_p95_s\": %.6f}\n",
                    max_clients, top_eff[sf], top_eff[pf], top_p95[sf], top_p95[pf]);
    }
    rc = 0;
done:
    if (json != NULL && fclose(json) != 0) rc = 1;
    srvb_trace_free(&trace);
    ax_llm_model_free(model);
    return rc;
}
