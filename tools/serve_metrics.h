/*
 * serve_metrics.h — the counters and latency histograms of `axial serve`, rendered as Prometheus
 * text (exposition format 0.0.4) for GET /metrics. Thread-safe: connection threads and the engine's
 * callback thread record, any thread renders.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_TOOLS_SERVE_METRICS_H
#define AXIAL_TOOLS_SERVE_METRICS_H

#include <stdint.h>

typedef struct srv_metrics srv_metrics;

/* The engine's gauges at render time (ax_serving_get_stats). */
typedef struct srv_gauges {
    int64_t waiting, running, blocks_used, blocks_total, blocks_cached;
    int64_t preemptions; /* the engine's own counter (ax_serving_stats), rendered as one */
} srv_gauges;

/* NULL when out of memory. */
srv_metrics *srv_metrics_create(void);
void srv_metrics_free(srv_metrics *m);

/* Submit to the first generated token. */
void srv_metrics_first_token(srv_metrics *m, double seconds);
/* count tokens arrived `seconds` apart on average (one event may carry several). */
void srv_metrics_inter_token(srv_metrics *m, double seconds, int64_t count);
void srv_metrics_generated(srv_metrics *m, int64_t tokens);
/* A request ended: finish_reason "stop", "length", "cancelled" or "error"; its prompt tokens; submit
 * to the end. */
void srv_metrics_finished(srv_metrics *m, const char *finish_reason, int64_t prompt_tokens, double seconds);

/* The text for GET /metrics, malloc'ed; NULL when out of memory. */
char *srv_metrics_render(srv_metrics *m, const srv_gauges *g);

#endif /* AXIAL_TOOLS_SERVE_METRICS_H */
