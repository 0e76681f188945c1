/*
 * serve_metrics.c — Prometheus counters and histograms for `axial serve`. Bucket bounds cover a CPU
 * running a 135M model (milliseconds per token) up to a long request on a busy server (minutes);
 * buckets are stored per bin and summed when rendered, so they print cumulative as the format needs.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "serve_metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define METRICS_MAX_BUCKETS 16

typedef struct metrics_histogram {
    const char *name, *help;
    const double *bounds;         /* upper bounds, increasing; +Inf is implicit */
    int n_bounds;
    uint64_t bins[METRICS_MAX_BUCKETS + 1]; /* bins[i]: observations in (bounds[i-1], bounds[i]] */
    uint64_t count;
    double sum;
} metrics_histogram;

static const char *const metrics_finish_reasons[] = {"stop", "length", "cancelled", "error"};
#define METRICS_N_FINISH 4

static const double metrics_ttft_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
static const double metrics_itl_bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
static const double metrics_duration_bounds[] = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600};

struct srv_metrics {
    pthread_mutex_t mu;
    uint64_t prompt_tokens, generation_tokens;
    uint64_t finished[METRICS_N_FINISH];
    metrics_histogram ttft, itl, duration;
};

#define METRICS_HISTOGRAM(NAME, HELP, BOUNDS) \
    { NAME, HELP, BOUNDS, (int)(sizeof BOUNDS / sizeof BOUNDS[0]), {0}, 0, 0.0 }

srv_metrics *srv_metrics_create(void) {
    srv_metrics *m = calloc(1, sizeof *m);
    if (m == NULL) return NULL;
    pthread_mutex_init(&m->mu, NULL);
    m->ttft = (metrics_histogram)METRICS_HISTOGRAM("axial_time_to_first_token_seconds",
                                                   "Time from a request's arrival to its first generated token.",
                                                   metrics_ttft_bounds);
    m->itl = (metrics_histogram)METRICS_HISTOGRAM("axial_inter_token_latency_seconds",
                                                  "Time between consecutive generated tokens of a request.",
                                                  metrics_itl_bounds);
    m->duration = (metrics_histogram)METRICS_HISTOGRAM("axial_request_duration_seconds",
                                                       "Time from a request's arrival to its end.",
                                                       metrics_duration_bounds);
    return m;
}

void srv_metrics_free(srv_metrics *m) {
    if (m == NULL) return;
    pthread_mutex_destroy(&m->mu);
    free(m);
}

static void metrics_observe(metrics_histogram *h, double v, uint64_t times) {
    int b = 0;
    while (b < h->n_bounds && v > h->bounds[b]) b++;
    h->bins[b] += times;
    h->count += times;
    h->sum += v * (double)times;
}

void srv_metrics_first_token(srv_metrics *m, double seconds) {
    pthread_mutex_lock(&m->mu);
    metrics_observe(&m->ttft, seconds, 1);
    pthread_mutex_unlock(&m->mu);
}

void srv_metrics_inter_token(srv_metrics *m, double seconds, int64_t count) {
    if (count <= 0) return;
    pthread_mutex_lock(&m->mu);
    metrics_observe(&m->itl, seconds, (uint64_t)count);
    pthread_mutex_unlock(&m->mu);
}

void srv_metrics_generated(srv_metrics *m, int64_t tokens) {
    if (tokens <= 0) return;
    pthread_mutex_lock(&m->mu);
    m->generation_tokens += (uint64_t)tokens;
    pthread_mutex_unlock(&m->mu);
}

void srv_metrics_finished(srv_metrics *m, const char *finish_reason, int64_t prompt_tokens, double seconds) {
    int r = 0;
    while (r < METRICS_N_FINISH - 1 && strcmp(finish_reason, metrics_finish_reasons[r]) != 0) r++;
    pthread_mutex_lock(&m->mu);
    m->finished[r]++;
    if (prompt_tokens > 0) m->prompt_tokens += (uint64_t)prompt_tokens;
    metrics_observe(&m->duration, seconds, 1);
    pthread_mutex_unlock(&m->mu);
}

/* A growing text buffer; `failed` remembers an allocation failure so appends can go unchecked. */
typedef struct metrics_text {
    char *buf;
    size_t len, cap;
    int failed;
} metrics_text;

__attribute__((format(printf, 2, 3))) static void metrics_printf(metrics_text *t, const char *fmt, ...) {
    if (t->failed) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        const int n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->failed = 1;
            return;
        }
        if ((size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        const size_t cap = 2 * t->cap + (size_t)n + 1;
        char *p = realloc(t->buf, cap);
        if (p == NULL) {
            t->failed = 1;
            return;
        }
        t->buf = p;
        t->cap = cap;
    }
}

static void metrics_gauge(metrics_text *t, const char *name, const char *help, int64_t v) {
    metrics_printf(t, "# HELP %s %s\n# TYPE %s gauge\n%s %lld\n", name, help, name, name, (long long)v);
}

static void metrics_counter(metrics_text *t, const char *name, const char *help, uint64_t v) {
    metrics_printf(t, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name, (unsigned long long)v);
}

static void metrics_histogram_text(metrics_text *t, const metrics_histogram *h) {
    metrics_printf(t, "# HELP %s %s\n# TYPE %s histogram\n", h->name, h->help, h->name);
    uint64_t cumulative = 0;
    for (int b = 0; b < h->n_bounds; b++) {
        cumulative += h->bins[b];
        metrics_printf(t, "%s_bucket{le=\"%g\"} %llu\n", h->name, h->bounds[b], (unsigned long long)cumulative);
    }
    metrics_printf(t, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.9g\n%s_count %llu\n", h->name,
                   (unsigned long long)h->count, h->name, h->sum, h->name, (unsigned long long)h->count);
}

char *srv_metrics_render(srv_metrics *m, const srv_gauges *g) {
    metrics_text t = {malloc(4096), 0, 4096, 0};
    if (t.buf == NULL) return NULL;
    t.buf[0] = '\0';
    metrics_gauge(&t, "axial_requests_waiting", "Requests queued for admission.", g->waiting);
    metrics_gauge(&t, "axial_requests_running", "Sequences admitted (prefilling or decoding).", g->running);
    metrics_gauge(&t, "axial_kv_blocks_used", "KV-cache blocks held by live sequences.", g->blocks_used);
    metrics_gauge(&t, "axial_kv_blocks_total", "KV-cache blocks in the pool.", g->blocks_total);
    metrics_gauge(&t, "axial_kv_blocks_cached", "Free KV-cache blocks that still hold a reusable prompt prefix.",
                  g->blocks_cached);
    metrics_counter(&t, "axial_preemptions_total",
                    "Running sequences sent back to the queue to recompute later (--admission preempt).",
                    (uint64_t)g->preemptions);
    pthread_mutex_lock(&m->mu);
    metrics_counter(&t, "axial_prompt_tokens_total", "Prompt tokens of finished requests.", m->prompt_tokens);
    metrics_counter(&t, "axial_generation_tokens_total", "Tokens generated.", m->generation_tokens);
    metrics_printf(&t, "# HELP axial_requests_total Requests finished, by finish reason.\n"
                       "# TYPE axial_requests_total counter\n");
    for (int r = 0; r < METRICS_N_FINISH; r++)
        metrics_printf(&t, "axial_requests_total{finish_reason=\"%s\"} %llu\n", metrics_finish_reasons[r],
                       (unsigned long long)m->finished[r]);
    metrics_histogram_text(&t, &m->ttft);
    metrics_histogram_text(&t, &m->itl);
    metrics_histogram_text(&t, &m->duration);
    pthread_mutex_unlock(&m->mu);
    if (t.failed) {
        free(t.buf);
        return NULL;
    }
    return t.buf;
}
