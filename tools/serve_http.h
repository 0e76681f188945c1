/*
 * serve_http.h — the HTTP side of `axial serve`: a libmicrohttpd daemon (a thread per connection)
 * that routes the OpenAI-compatible endpoints to a serving engine, streams server-sent events, and
 * serves /health, /v1/models and /metrics.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_TOOLS_SERVE_HTTP_H
#define AXIAL_TOOLS_SERVE_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "axial/serving.h"

#define SRV_MAX_BODY_BYTES (1 << 20) /* larger request bodies are answered 413 */

typedef struct srv_server srv_server;

typedef struct srv_server_config {
    int listen_fd;               /* from srv_listen; the daemon owns it from srv_server_start on */
    const char *model_id;        /* the name clients must send as "model" */
    ax_llm_model *model;         /* tokenizer and chat template */
    ax_serving_engine *engine;   /* with its background loop running */
    const char *allow_origin;    /* NULL: no CORS; else the Access-Control-Allow-Origin every answer carries
                                    ("*" or an origin) and OPTIONS preflights are answered. One value per
                                    process: it is read by every server of the process */
} srv_server_config;

/* Binds and listens on host ("127.0.0.1", "::1", "localhost", "::") and port (0: the system picks a
 * free one; *port_out receives the bound port). Called before the model loads, so a port in use is
 * told at once with the system's reason. 0 on success; -1 with the reason in err. */
int srv_listen(const char *host, int port, int *fd_out, int *port_out, char *err, size_t err_size);

/* The daemon's connection cap for an engine of this configuration: max_running + max_queue and some
 * spare, so a client past the queue is answered 503 rather than left unaccepted. */
int64_t srv_connection_limit(const ax_serving_config *ec);

/* Starts the daemon on cfg->listen_fd, raising the soft open-file limit to hold its connections.
 * 0 on success; -1 with the reason in err. */
int srv_server_start(const srv_server_config *cfg, srv_server **out, char *err, size_t err_size);

/* Refuses new requests (503), cancels the live ones, waits for their final events (so the engine's
 * background loop must still run), then stops the daemon. The engine is left to the caller (free it
 * afterwards). NULL is a no-op. */
void srv_server_stop(srv_server *srv);

#endif /* AXIAL_TOOLS_SERVE_HTTP_H */
