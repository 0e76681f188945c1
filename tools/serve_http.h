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

/* Binds a socket to host ("127.0.0.1", "::1", "localhost", "::") and port (0: the system picks a
 * free one; *port_out receives the bound port), not yet listening. Called before the model loads,
 * so a port in use is told at once with the system's reason. 0 on success; -1 with the reason in
 * err. */
int srv_listen(const char *host, int port, int *fd_out, int *port_out, char *err, size_t err_size);

/* Raises the soft open-file limit to the hard one (best effort): each connection is a socket. */
void srv_raise_fd_limit(void);

/* Connections an engine of this configuration wants: max_running + max_queue and some spare, so a
 * client past the queue is answered 503 rather than closed unanswered at the daemon's cap. */
int64_t srv_connections_wanted(const ax_serving_config *ec);

/* The daemon's connection cap: srv_connections_wanted, or fewer where the open-file limit holds
 * fewer (the caller says so). */
int64_t srv_connection_limit(const ax_serving_config *ec);

/* Listens on cfg->listen_fd and starts the daemon there. 0 on success; -1 with the reason in err. */
int srv_server_start(const srv_server_config *cfg, srv_server **out, char *err, size_t err_size);

/* Refuses new requests (503), cancels the live ones, waits for their final events (so the engine's
 * background loop must still run), then stops the daemon. The engine is left to the caller (free it
 * afterwards). NULL is a no-op. */
void srv_server_stop(srv_server *srv);

#endif /* AXIAL_TOOLS_SERVE_HTTP_H */
