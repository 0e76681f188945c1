/*
 * serve_http.c — libmicrohttpd handlers of `axial serve`.
 *
 * Threads: MHD runs a thread per connection, so a handler may block. A generation request is a
 * `http_job` shared by two owners: the engine, whose callback (the engine's thread) appends text and
 * finally sets `finished`, and the connection, which waits for the final event (non-streamed) or
 * reads the text as server-sent events from MHD's content-reader callback (streamed). The job is
 * freed when both have let go (`refs`); a connection that goes away first cancels its request, so
 * its KV blocks return to the pool at the engine's next step.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#define _GNU_SOURCE /* struct addrinfo, MSG_DONTWAIT, POLLRDHUP */
#include "serve_http.h"

#include <errno.h>
#include <float.h>
#include <microhttpd.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#include "serve_metrics.h"
#include "serve_request.h"

/* How long a waiting connection thread sleeps between checks that its client is still there. */
#define HTTP_WAIT_MS 200
/* A stream silent this long (a request waiting for admission) sends a comment line. */
#define HTTP_KEEPALIVE_S 5.0
/* MHD closes a connection idle this long (no bytes either way; a handler waiting on a generation,
 * and a stream with its keep-alives, are not idle). Short, because each connection holds a thread:
 * idle keep-alive sockets must not hold the server for minutes. */
#define HTTP_IDLE_TIMEOUT_S 30
/* At shutdown, how long answers already due (503s, a stream's error event and [DONE]) may take to
 * reach their clients before the daemon closes every connection. */
#define HTTP_DRAIN_S 5
/* Connections beyond the engine's max_running + max_queue: room for the requests answered 503, for
 * /health and /metrics, and for idle keep-alive sockets. Past the daemon's cap libmicrohttpd closes
 * a new connection unanswered, so the cap must exceed what the engine holds: the 503 with
 * Retry-After is then what a client past the queue gets. */
#define HTTP_SPARE_CONNECTIONS 64
/* File descriptors beyond the connections: the model file, logs, the process's own. */
#define HTTP_SPARE_FDS 64

typedef struct http_job http_job;

struct srv_server {
    struct MHD_Daemon *daemon;
    ax_llm_model *model;
    ax_serving_engine *engine;
    char *model_id;
    int32_t n_ctx;
    int64_t pool_tokens;         /* KV slots of the engine's whole pool: num_blocks * block_size */
    int32_t n_vocab;
    srv_metrics *metrics;
    int64_t started;             /* Unix seconds, the models' "created" */
    pthread_mutex_t mu;          /* guards the fields below */
    int stopping;
    uint64_t next_serial;
    http_job *live;              /* submitted jobs whose final event has not come */
    pthread_cond_t live_cv;      /* signalled when live becomes empty */
    int64_t answering;           /* generation requests whose response MHD has not finished */
    pthread_cond_t answered_cv;  /* signalled when answering drops to 0 (CLOCK_MONOTONIC waits) */
};

struct http_job {
    srv_server *srv;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int refs;                    /* the engine's and the connection's */
    http_job *prev, *next;       /* srv->live */
    srv_endpoint endpoint;
    int include_usage;
    int64_t id;                  /* the engine's request id */
    char name[48];               /* "cmpl-..." */
    int64_t created;
    double t_submit, t_last_token;
    int64_t tokens_seen;
    /* Filled by the engine's callback under mu. */
    char *text;                  /* streamed: not yet sent; non-streamed: all of it */
    size_t text_len, text_cap;
    int text_failed;             /* out of memory while appending: the request is cancelled */
    int finished;
    ax_serving_finish finish;
    char error[256];
    int64_t prompt_tokens, completion_tokens;
    /* The content reader's own (one connection thread). */
    char *out;
    size_t out_len, out_off;
    int sent_role, sent_end;
    struct MHD_Connection *connection;
};

/* A connection's request body as it arrives. */
typedef struct http_upload {
    char *body;
    size_t len, cap;
    int too_large;
    size_t dropped; /* bytes read past the limit */
} http_upload;

static double http_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- responses ------------------------------------------------------------------------------- */

/* --allow-origin: the Access-Control-Allow-Origin of every answer, or NULL (set once at start). */
static const char *http_allow_origin;

static void http_add_cors(struct MHD_Response *r) {
    if (http_allow_origin != NULL) MHD_add_response_header(r, "Access-Control-Allow-Origin", http_allow_origin);
}

/* Queues body (malloc'ed, taken) with a status; extra_name/extra_value: one more header, or NULL. */
static enum MHD_Result http_send(struct MHD_Connection *c, unsigned status, const char *content_type, char *body,
                                 const char *extra_name, const char *extra_value) {
    static const char oom[] = "{\"error\":{\"message\":\"out of memory\",\"type\":\"server_error\",\"param\":null,"
                              "\"code\":null}}";
    struct MHD_Response *r;
    if (body != NULL) {
        r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
        if (r == NULL) free(body);
    } else {
        status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        content_type = "application/json";
        r = MHD_create_response_from_buffer(strlen(oom), (void *)oom, MHD_RESPMEM_PERSISTENT);
    }
    if (r == NULL) return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    if (extra_name != NULL) MHD_add_response_header(r, extra_name, extra_value);
    http_add_cors(r);
    const enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result http_send_error(struct MHD_Connection *c, const srv_error *err) {
    const char *retry = err->http_status == MHD_HTTP_SERVICE_UNAVAILABLE ? "1" : NULL;
    return http_send(c, (unsigned)err->http_status, "application/json", srv_error_json(err),
                     retry != NULL ? MHD_HTTP_HEADER_RETRY_AFTER : NULL, retry);
}

static enum MHD_Result http_fail(struct MHD_Connection *c, int status, const char *param, const char *message) {
    srv_error err;
    srv_fail(&err, status, param, "%s", message);
    return http_send_error(c, &err);
}

/* 404 model_not_found: a generation request or GET /v1/models/{id} naming another model. */
static enum MHD_Result http_model_not_found(const srv_server *srv, struct MHD_Connection *c, const char *model) {
    srv_error err;
    srv_fail(&err, 404, "model", "The model '%.200s' does not exist; this server has '%.200s'", model, srv->model_id);
    err.code = "model_not_found";
    return http_send_error(c, &err);
}

/* ---- jobs ------------------------------------------------------------------------------------ */

static void http_job_release(http_job *job) {
    pthread_mutex_lock(&job->mu);
    const int left = --job->refs;
    pthread_mutex_unlock(&job->mu);
    if (left > 0) return;
    pthread_mutex_destroy(&job->mu);
    pthread_cond_destroy(&job->cv);
    free(job->text);
    free(job->out);
    free(job);
}

static void http_job_unlink(http_job *job) {
    srv_server *srv = job->srv;
    pthread_mutex_lock(&srv->mu);
    if (job->prev != NULL) job->prev->next = job->next;
    if (job->next != NULL) job->next->prev = job->prev;
    if (srv->live == job) srv->live = job->next;
    job->prev = job->next = NULL;
    if (srv->live == NULL) pthread_cond_broadcast(&srv->live_cv);
    pthread_mutex_unlock(&srv->mu);
}

static const char *http_finish_name(ax_serving_finish f) {
    const char *name = ax_serving_finish_name(f);
    return name != NULL ? name : "error";
}

/* The engine's callback (its thread): record, wake the connection, and on the last event let go. */
static void http_on_event(void *user, const ax_serving_event *ev) {
    http_job *job = user;
    srv_metrics *metrics = job->srv->metrics;
    const double now = http_now();
    pthread_mutex_lock(&job->mu);
    if (ev->n_tokens > 0) {
        /* One latency per token after the first: a first event carrying several tokens counts its
         * others as arriving with the first. */
        if (job->tokens_seen == 0) {
            srv_metrics_first_token(metrics, now - job->t_submit);
            srv_metrics_inter_token(metrics, 0.0, ev->n_tokens - 1);
        } else {
            srv_metrics_inter_token(metrics, (now - job->t_last_token) / (double)ev->n_tokens, ev->n_tokens);
        }
        job->tokens_seen += ev->n_tokens;
        job->t_last_token = now;
        srv_metrics_generated(metrics, ev->n_tokens);
    }
    const int last = ev->finish != AX_SERVING_RUNNING;
    if (ev->finish == AX_SERVING_ERROR) {
        snprintf(job->error, sizeof job->error, "%.*s", (int)ev->text_len, ev->text != NULL ? ev->text : "");
    } else if (ev->text_len > 0 && !job->text_failed) {
        if (job->text_len + ev->text_len + 1 > job->text_cap) {
            const size_t cap = 2 * job->text_cap + ev->text_len + 64;
            char *p = realloc(job->text, cap);
            if (p == NULL) {
                job->text_failed = 1;
            } else {
                job->text = p;
                job->text_cap = cap;
            }
        }
        if (!job->text_failed) {
            memcpy(job->text + job->text_len, ev->text, ev->text_len);
            job->text_len += ev->text_len;
            job->text[job->text_len] = '\0';
        }
    }
    job->prompt_tokens = ev->prompt_tokens;
    job->completion_tokens = ev->completion_tokens;
    const int cancel = job->text_failed && !last;
    if (last) {
        job->finished = 1;
        job->finish = ev->finish;
        /* The last text failed to append: not a 200 with the tail missing. (An earlier failure
         * cancelled the request, and that answer says so.) */
        if (job->text_failed && (ev->finish == AX_SERVING_STOP || ev->finish == AX_SERVING_LENGTH)) {
            job->finish = AX_SERVING_ERROR;
            snprintf(job->error, sizeof job->error, "the server ran out of memory holding the generated text");
        }
        srv_metrics_finished(metrics, http_finish_name(job->finish), ev->prompt_tokens, now - job->t_submit);
    }
    pthread_cond_broadcast(&job->cv);
    pthread_mutex_unlock(&job->mu);
    if (cancel) (void)ax_serving_cancel(job->srv->engine, ev->request_id);
    if (last) {
        http_job_unlink(job);
        http_job_release(job);
    }
}

/* 1 once the client has closed its end of the connection: the peer's FIN reads as 0 bytes, a reset
 * (or any error but "nothing to read yet") as -1. Bytes a client pipelined before leaving are still
 * unread (MHD reads no more while a handler runs) and would hide the FIN from the peek: POLLRDHUP
 * sees it behind them. */
static int http_client_gone(struct MHD_Connection *c) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (info == NULL) return 0;
    struct pollfd p = {info->connect_fd, POLLRDHUP, 0};
    if (poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR))) return 1;
    char b;
    const ssize_t r = recv(info->connect_fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/* Waits up to HTTP_WAIT_MS for a change; job->mu held. */
static void http_job_wait(http_job *job) {
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until); /* job->cv's clock (http_job_new) */
    until.tv_nsec += HTTP_WAIT_MS * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&job->cv, &job->mu, &until);
}

static void http_job_result(const http_job *job, srv_result *r, const char *text, size_t text_len) {
    *r = (srv_result){job->name, job->srv->model_id, job->created, text, text_len, NULL, job->prompt_tokens,
                      job->completion_tokens};
    if (job->finished) r->finish_reason = job->finish == AX_SERVING_LENGTH ? "length" : "stop";
}

/* ---- streaming ------------------------------------------------------------------------------- */

/* Appends "data: JSON\n\n" (json taken) to the job's output; -1 when out of memory. */
static int http_out_event(http_job *job, char *json) {
    if (json == NULL) return -1;
    const size_t n = strlen(json);
    char *p = realloc(job->out, job->out_len + n + 9);
    if (p == NULL) {
        free(json);
        return -1;
    }
    job->out = p;
    memcpy(p + job->out_len, "data: ", 6);
    memcpy(p + job->out_len + 6, json, n);
    memcpy(p + job->out_len + 6 + n, "\n\n", 3);
    job->out_len += n + 8;
    free(json);
    return 0;
}

static int http_stopping(srv_server *srv) {
    pthread_mutex_lock(&srv->mu);
    const int stopping = srv->stopping;
    pthread_mutex_unlock(&srv->mu);
    return stopping;
}

/* Fills job->out with the next events; returns 0, or -1 to end the stream early (out of memory, or
 * the client went away). Waits for text rather than returning nothing: MHD would call again at once
 * (a busy loop in its threaded mode), and a silence longer than HTTP_KEEPALIVE_S sends an SSE comment
 * line instead, which clients skip. */
static int http_stream_fill(http_job *job) {
    job->out_len = job->out_off = 0;
    srv_result r;
    if (!job->sent_role && job->endpoint == SRV_CHAT_COMPLETIONS) {
        job->sent_role = 1;
        pthread_mutex_lock(&job->mu); /* the engine's callback writes the counts under it */
        http_job_result(job, &r, "", 0);
        pthread_mutex_unlock(&job->mu);
        r.finish_reason = NULL;
        return http_out_event(job, srv_chunk_json(job->endpoint, SRV_CHUNK_ROLE, &r));
    }
    const double t0 = http_now();
    pthread_mutex_lock(&job->mu);
    while (job->text_len == 0 && !job->finished) {
        http_job_wait(job);
        if (job->text_len > 0 || job->finished) break;
        pthread_mutex_unlock(&job->mu);
        if (http_client_gone(job->connection)) return -1;
        if (http_now() - t0 > HTTP_KEEPALIVE_S) {
            static const char keepalive[] = ": keep-alive\n\n";
            char *p = realloc(job->out, sizeof keepalive);
            if (p == NULL) return -1;
            memcpy(p, keepalive, sizeof keepalive);
            job->out = p;
            job->out_len = sizeof keepalive - 1;
            return 0;
        }
        pthread_mutex_lock(&job->mu);
    }
    char *text = NULL;
    size_t text_len = 0;
    if (job->text_len > 0) {
        /* Take the pending text; the callback starts a new buffer. */
        text = job->text;
        text_len = job->text_len;
        job->text = NULL;
        job->text_len = job->text_cap = 0;
    }
    const int finished = job->finished;
    http_job_result(job, &r, text, text_len);
    pthread_mutex_unlock(&job->mu);
    int rc = 0;
    if (text != NULL) {
        const char *finish = r.finish_reason;
        r.finish_reason = NULL;
        rc = http_out_event(job, srv_chunk_json(job->endpoint, SRV_CHUNK_TEXT, &r));
        r.finish_reason = finish;
    }
    free(text);
    if (rc == 0 && finished) {
        job->sent_end = 1;
        r.text = "";
        r.text_len = 0;
        if (job->finish == AX_SERVING_ERROR || job->finish == AX_SERVING_CANCELLED) {
            srv_error err;
            if (job->finish == AX_SERVING_ERROR) srv_fail(&err, 500, NULL, "%s", job->error);
            else if (http_stopping(job->srv))
                srv_fail(&err, 503, NULL, "the request was cancelled (the server is shutting down)");
            else srv_fail(&err, 500, NULL, "the request was cancelled");
            rc = http_out_event(job, srv_error_json(&err));
        } else {
            rc = http_out_event(job, srv_chunk_json(job->endpoint, SRV_CHUNK_FINISH, &r));
            if (rc == 0 && job->include_usage) rc = http_out_event(job, srv_chunk_json(job->endpoint, SRV_CHUNK_USAGE, &r));
        }
        if (rc == 0) {
            char *done = malloc(7);
            if (done != NULL) memcpy(done, "[DONE]", 7);
            rc = http_out_event(job, done);
        }
    }
    return rc;
}

/* MHD's content reader (the connection's thread). */
static ssize_t http_stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
    (void)pos;
    http_job *job = cls;
    if (job->out_off == job->out_len) {
        if (job->sent_end) return MHD_CONTENT_READER_END_OF_STREAM;
        if (http_stream_fill(job) != 0) return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    size_t n = job->out_len - job->out_off;
    if (n > max) n = max;
    memcpy(buf, job->out + job->out_off, n);
    job->out_off += n;
    return (ssize_t)n;
}

/* MHD is done with the response: the client read it all or went away. */
static void http_stream_free(void *cls) {
    http_job *job = cls;
    pthread_mutex_lock(&job->mu);
    const int finished = job->finished;
    pthread_mutex_unlock(&job->mu);
    /* Outside the lock: the request ends at the engine's next step, whose final callback takes it. */
    if (!finished) (void)ax_serving_cancel(job->srv->engine, job->id);
    http_job_release(job);
}

/* ---- generation requests --------------------------------------------------------------------- */

/* The prompt's token ids (malloc'ed) from the request: the text tokenized as `axial generate` does
 * (special-token text parsed, since a completions prompt is the client's own template), the
 * conversation through the chat template with its messages kept as text (ax_llm_chat_tokenize: a
 * message cannot write the template's control tokens and open a turn of another role), or the ids as
 * given. -1 with *err filled. */
static int http_prompt_tokens(const srv_server *srv, const srv_request *req, int32_t **ids, int64_t *n,
                              srv_error *err) {
    const int chat = req->endpoint == SRV_CHAT_COMPLETIONS;
    const char *param = chat ? "messages" : "prompt";
    if (!chat && req->prompt == NULL) {
        *ids = malloc((size_t)req->n_prompt_tokens * sizeof **ids);
        if (*ids == NULL) return srv_fail(err, 500, NULL, "out of memory");
        memcpy(*ids, req->prompt_tokens, (size_t)req->n_prompt_tokens * sizeof **ids);
        *n = req->n_prompt_tokens;
        return 0;
    }
    ax_llm_chat_message *msgs = NULL;
    if (chat) {
        msgs = malloc((size_t)(req->n_messages > 0 ? req->n_messages : 1) * sizeof *msgs);
        if (msgs == NULL) return srv_fail(err, 500, NULL, "out of memory");
        for (int64_t i = 0; i < req->n_messages; i++) msgs[i] = (ax_llm_chat_message){req->messages[i].role,
                                                                                      req->messages[i].content};
    }
    /* Counted first (capacity 0 reports the count with a capacity error), then written. */
    int64_t count = 0;
    ax_status st = AX_OK;
    *ids = NULL;
    for (int pass = 0; pass < 2; pass++) {
        const int64_t cap = pass == 0 ? 0 : count;
        st = chat ? ax_llm_chat_tokenize(srv->model, msgs, req->n_messages, 1, AX_LLM_TOKENIZE_ADD_SPECIAL, *ids, cap,
                                         &count)
                  : ax_llm_tokenize(srv->model, req->prompt, strlen(req->prompt),
                                    AX_LLM_TOKENIZE_ADD_SPECIAL | AX_LLM_TOKENIZE_PARSE_SPECIAL, *ids, cap, &count);
        if (pass == 1 || count == 0) break;
        *ids = malloc((size_t)count * sizeof **ids);
        if (*ids == NULL) {
            st = AX_ERR_OUT_OF_MEMORY;
            break;
        }
    }
    free(msgs);
    if (st != AX_OK) {
        free(*ids);
        *ids = NULL;
        if (st == AX_ERR_OUT_OF_MEMORY) return srv_fail(err, 500, NULL, "out of memory");
        return srv_fail(err, st == AX_ERR_INVALID_ARGUMENT ? 400 : 500, param, "%s: %s",
                        chat ? "chat template" : "tokenizer", ax_last_error());
    }
    if (*ids == NULL) *ids = malloc(sizeof **ids); /* no tokens: a valid, empty list (refused by the caller) */
    if (*ids == NULL) return srv_fail(err, 500, NULL, "out of memory");
    *n = count;
    return 0;
}

/* Checks the lengths against the context and fills the engine request (tokens and stops point into
 * req/ids). -1 with *err filled. */
static int http_engine_request(const srv_server *srv, const srv_request *req, const int32_t *ids, int64_t n,
                               ax_serving_request *out, srv_error *err) {
    const char *param = req->endpoint == SRV_COMPLETIONS ? "prompt" : "messages";
    if (n == 0) return srv_fail(err, 400, param, "the prompt has no tokens");
    if (n >= srv->n_ctx) {
        srv_fail(err, 400, param,
                 "the prompt has %lld tokens; the context holds %d, and at least one must be left to generate",
                 (long long)n, (int)srv->n_ctx);
        err->code = "context_length_exceeded"; /* OpenAI's code, which clients test for */
        return -1;
    }
    /* What the engine would refuse, checked here so the 400 names the API's fields, not the C
     * request's (request->tokens[3], request->max_tokens). */
    for (int64_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= srv->n_vocab)
            return srv_fail(err, 400, param, "%s[%lld]: token id %d is outside the vocabulary [0, %d)", param,
                            (long long)i, (int)ids[i], (int)srv->n_vocab);
    const int64_t room = srv->n_ctx - n;
    int64_t max_tokens = req->max_tokens;
    /* A prompt the pool cannot hold is the prompt's fault whatever max_tokens says (the 400 had named
     * max_tokens, which no value could satisfy). The last token needs no KV slot. */
    if (n > srv->pool_tokens)
        return srv_fail(err, 400, param,
                        "the prompt has %lld tokens; the server's KV pool holds %lld (axial serve --blocks x "
                        "--block-size)",
                        (long long)n, (long long)srv->pool_tokens);
    if (max_tokens == 0) {
        /* OpenAI's defaults: 16 for completions, as many as fit for chat; "fit" also in the KV pool,
         * which a server may size below one full context (the last token needs no KV slot). */
        const int64_t pool_room = srv->pool_tokens + 1 - n, fit = room < pool_room ? room : pool_room;
        if (fit < 1)
            return srv_fail(err, 400, param, "the prompt has %lld tokens; the server's KV pool holds %lld",
                            (long long)n, (long long)srv->pool_tokens);
        max_tokens = req->endpoint == SRV_COMPLETIONS && fit > 16 ? 16 : fit;
    } else if (max_tokens > room) {
        const char *name = req->max_completion_tokens ? "max_completion_tokens" : "max_tokens";
        srv_fail(err, 400, name, "%s is %lld, but the prompt's %lld tokens leave room for %lld in the context of %d",
                 name, (long long)max_tokens, (long long)n, (long long)room, (int)srv->n_ctx);
        err->code = "context_length_exceeded";
        return -1;
    } else if (n + max_tokens - 1 > srv->pool_tokens) {
        /* the engine's rule: the last token needs no KV slot */
        const char *name = req->max_completion_tokens ? "max_completion_tokens" : "max_tokens";
        return srv_fail(err, 400, name,
                        "%s is %lld: with the prompt's %lld tokens that needs %lld KV slots, and the server's pool "
                        "holds %lld (axial serve --blocks x --block-size)",
                        name, (long long)max_tokens, (long long)n, (long long)(n + max_tokens - 1),
                        (long long)srv->pool_tokens);
    }
    ax_serving_request r = AX_SERVING_REQUEST_INIT;
    r.tokens = ids;
    r.n_tokens = n;
    r.max_tokens = (int32_t)max_tokens;
    r.sampling.temperature = (float)req->temperature;
    /* top_p 0 (or below float's range): the most probable token alone, the limit of top_p -> 0 */
    r.sampling.top_p = (float)req->top_p > 0.0f ? (float)req->top_p : FLT_MIN;
    r.sampling.top_k = req->top_k;
    r.sampling.min_p = (float)req->min_p;
    r.sampling.presence_penalty = (float)req->presence_penalty;
    r.sampling.frequency_penalty = (float)req->frequency_penalty;
    r.sampling.repetition_penalty = (float)req->repetition_penalty;
    r.sampling.seed = req->seed; /* without one, http_submit picks one per request */
    /* OpenAI's presence and frequency penalties count generated tokens only (over the prompt they
     * had pushed down the end token every chat turn holds: replies ran to max_tokens); llama.cpp's
     * repetition penalty counts the prompt too, and with it all three do (one history). */
    const int penalties = req->presence_penalty != 0.0 || req->frequency_penalty != 0.0 ||
                          req->repetition_penalty != 1.0;
    r.penalty_generated_only = req->repetition_penalty == 1.0;
    r.penalty_last_n = penalties ? (int32_t)(n + max_tokens) : 0;
    r.stop = (const char *const *)req->stop;
    r.n_stop = req->n_stop;
    *out = r;
    return 0;
}

static http_job *http_job_new(srv_server *srv, const srv_request *req) {
    http_job *job = calloc(1, sizeof *job);
    if (job == NULL) return NULL;
    job->srv = srv;
    pthread_mutex_init(&job->mu, NULL);
    /* Its timed waits run on the monotonic clock: a step of the wall clock (NTP, a resumed VM) must
     * not stretch them, or a departed client would hold its request and no keep-alive go out. */
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&job->cv, &attr);
    pthread_condattr_destroy(&attr);
    job->refs = 2;
    job->endpoint = req->endpoint;
    job->include_usage = req->include_usage;
    job->created = (int64_t)time(NULL);
    return job;
}

/* Submits under the server lock, so a stop that has begun refuses it and never misses it. */
static ax_status http_submit(srv_server *srv, http_job *job, ax_serving_request *r, int have_seed, int *stopping) {
    pthread_mutex_lock(&srv->mu);
    *stopping = srv->stopping;
    ax_status st = AX_OK;
    if (!*stopping) {
        const uint64_t serial = ++srv->next_serial;
        snprintf(job->name, sizeof job->name, "%s-%llx%04llx",
                 job->endpoint == SRV_COMPLETIONS ? "cmpl" : "chatcmpl", (unsigned long long)srv->started,
                 (unsigned long long)serial);
        if (!have_seed) {
            /* Each request draws differently, as OpenAI's do: splitmix64 of the start time and serial. */
            uint64_t z = ((uint64_t)srv->started << 32) + serial * 0x9E3779B97F4A7C15ull;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
            r->sampling.seed = z ^ (z >> 31);
        }
        job->t_submit = http_now();
        r->callback = http_on_event;
        r->user = job;
        /* Linked first: the final event may come (and unlink) before submit returns. */
        job->next = srv->live;
        if (srv->live != NULL) srv->live->prev = job;
        srv->live = job;
        int64_t id = 0;
        pthread_mutex_lock(&job->mu);
        st = ax_serving_submit(srv->engine, r, &id);
        job->id = id;
        pthread_mutex_unlock(&job->mu);
        if (st != AX_OK) {
            if (job->next != NULL) job->next->prev = job->prev;
            if (job->prev != NULL) job->prev->next = job->next;
            if (srv->live == job) srv->live = job->next;
        }
    }
    pthread_mutex_unlock(&srv->mu);
    return st;
}

static enum MHD_Result http_generate(srv_server *srv, struct MHD_Connection *c, srv_endpoint endpoint,
                                     const http_upload *up) {
    srv_request req;
    srv_error err;
    if (srv_request_parse(endpoint, up->body != NULL ? up->body : "", up->len, &req, &err) != 0)
        return http_send_error(c, &err);
    int32_t *ids = NULL;
    int64_t n = 0;
    ax_serving_request r;
    http_job *job = NULL;
    enum MHD_Result ret;
    if (strcmp(req.model, srv->model_id) != 0) {
        ret = http_model_not_found(srv, c, req.model);
        goto done;
    }
    if (http_prompt_tokens(srv, &req, &ids, &n, &err) != 0 || http_engine_request(srv, &req, ids, n, &r, &err) != 0) {
        ret = http_send_error(c, &err);
        goto done;
    }
    if ((job = http_job_new(srv, &req)) == NULL) {
        ret = http_send(c, 500, "application/json", NULL, NULL, NULL);
        goto done;
    }
    int stopping = 0;
    const ax_status st = http_submit(srv, job, &r, req.have_seed, &stopping);
    if (stopping || st != AX_OK) {
        if (stopping)
            srv_fail(&err, 503, NULL, "the server is shutting down");
        else if (st == AX_ERR_BUSY)
            srv_fail(&err, 503, NULL, "the queue is full (%s); retry later", ax_last_error());
        else
            srv_fail(&err, st == AX_ERR_INVALID_ARGUMENT ? 400 : 500, NULL, "%s", ax_last_error());
        job->refs = 1; /* the engine never saw it: the connection's reference is the only one */
        http_job_release(job);
        job = NULL;
        ret = http_send_error(c, &err);
        goto done;
    }
    if (req.stream) {
        job->connection = c;
        struct MHD_Response *resp =
            MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, http_stream_read, job, http_stream_free);
        if (resp == NULL) {
            http_stream_free(job);
            ret = MHD_NO;
        } else {
            MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
            MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
            http_add_cors(resp);
            ret = MHD_queue_response(c, MHD_HTTP_OK, resp);
            MHD_destroy_response(resp);
        }
        job = NULL; /* the response's free callback lets go of it */
        goto done;
    }
    pthread_mutex_lock(&job->mu);
    int cancelled = 0;
    while (!job->finished) {
        http_job_wait(job);
        if (!job->finished && !cancelled && http_client_gone(c)) {
            /* Nobody will read the answer: free the sequence now rather than at max_tokens. */
            cancelled = 1;
            pthread_mutex_unlock(&job->mu);
            (void)ax_serving_cancel(srv->engine, job->id);
            pthread_mutex_lock(&job->mu);
        }
    }
    pthread_mutex_unlock(&job->mu);
    if (job->finish == AX_SERVING_STOP || job->finish == AX_SERVING_LENGTH) {
        srv_result res;
        http_job_result(job, &res, job->text != NULL ? job->text : "", job->text_len);
        ret = http_send(c, MHD_HTTP_OK, "application/json", srv_response_json(endpoint, &res), NULL, NULL);
    } else if (job->finish == AX_SERVING_CANCELLED && job->text_failed) {
        srv_fail(&err, 500, NULL, "the server ran out of memory holding the generated text");
        ret = http_send_error(c, &err);
    } else if (job->finish == AX_SERVING_CANCELLED && cancelled) {
        /* Read only by a client that half-closed (shutdown of its sending side) and still listens:
         * the end of its stream looks the same as leaving, which cancels to free the sequence. */
        srv_fail(&err, 400, NULL,
                 "the client closed its end of the connection before the answer (a half-close counts as "
                 "leaving); the request was cancelled");
        ret = http_send_error(c, &err);
    } else if (job->finish == AX_SERVING_CANCELLED) {
        /* Only a shutdown cancels a request whose client is still connected. */
        srv_fail(&err, 503, NULL, "the request was cancelled (the server is shutting down)");
        ret = http_send_error(c, &err);
    } else {
        srv_fail(&err, 500, NULL, "generation failed: %s", job->error);
        ret = http_send_error(c, &err);
    }
done:
    if (job != NULL) http_job_release(job);
    free(ids);
    srv_request_free(&req);
    return ret;
}

/* ---- routing --------------------------------------------------------------------------------- */

static char *http_strdup(const char *s) {
    char *p = malloc(strlen(s) + 1);
    if (p != NULL) strcpy(p, s);
    return p;
}

static enum MHD_Result http_metrics(srv_server *srv, struct MHD_Connection *c) {
    ax_serving_stats st;
    srv_gauges g = {0, 0, 0, 0, 0, 0};
    if (ax_serving_get_stats(srv->engine, &st) == AX_OK)
        g = (srv_gauges){st.waiting, st.running, st.blocks_used, st.blocks_total, st.blocks_cached, st.preemptions};
    return http_send(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", srv_metrics_render(srv->metrics, &g),
                     NULL, NULL);
}

typedef enum http_route {
    HTTP_HEALTH,
    HTTP_MODELS,
    HTTP_METRICS,
    HTTP_COMPLETIONS,
    HTTP_CHAT,
    HTTP_MODEL, /* /v1/models/{id}: OpenAI's "retrieve model" */
    HTTP_UNKNOWN
} http_route;

#define HTTP_MODEL_PREFIX "/v1/models/"

static http_route http_find_route(const char *url) {
    static const char *const paths[] = {"/health", "/v1/models", "/metrics", "/v1/completions",
                                        "/v1/chat/completions"};
    for (int i = 0; i < HTTP_MODEL; i++)
        if (strcmp(url, paths[i]) == 0) return (http_route)i;
    if (strncmp(url, HTTP_MODEL_PREFIX, strlen(HTTP_MODEL_PREFIX)) == 0) return HTTP_MODEL;
    return HTTP_UNKNOWN;
}

/* GET /v1/models/{id}: the model object, or 404 model_not_found as a generation request naming
 * another model gets. */
static enum MHD_Result http_model(srv_server *srv, struct MHD_Connection *c, const char *url) {
    const char *id = url + strlen(HTTP_MODEL_PREFIX);
    if (strcmp(id, srv->model_id) == 0)
        return http_send(c, MHD_HTTP_OK, "application/json", srv_model_json(srv->model_id, srv->started), NULL,
                         NULL);
    return http_model_not_found(srv, c, id);
}

/* A browser's CORS preflight (--allow-origin): 204 with the methods and headers a client may send. */
static enum MHD_Result http_preflight(struct MHD_Connection *c, int wants_post) {
    struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (r == NULL) return MHD_NO;
    http_add_cors(r);
    MHD_add_response_header(r, "Access-Control-Allow-Methods", wants_post ? "POST, OPTIONS" : "GET, HEAD, OPTIONS");
    MHD_add_response_header(r, "Access-Control-Allow-Headers", "Content-Type, Authorization");
    MHD_add_response_header(r, "Access-Control-Max-Age", "600");
    const enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_NO_CONTENT, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result http_handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                   const char *version, const char *upload_data, size_t *upload_data_size,
                                   void **con_cls) {
    (void)version;
    srv_server *srv = cls;
    const http_route route = http_find_route(url);
    const int is_post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
    const int is_get = strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
    const int wants_post = route == HTTP_COMPLETIONS || route == HTTP_CHAT;
    if (*con_cls == NULL) {
        /* First call: headers only. Everything but a generation POST is answered now. */
        if (route == HTTP_UNKNOWN) return http_fail(c, 404, NULL, "Unknown path");
        if (http_allow_origin != NULL && strcmp(method, MHD_HTTP_METHOD_OPTIONS) == 0)
            return http_preflight(c, wants_post);
        if (wants_post ? !is_post : !is_get)
            return http_send(c, MHD_HTTP_METHOD_NOT_ALLOWED, "application/json",
                             srv_error_json(&(srv_error){405, "Method not allowed", "", "invalid_request_error", NULL}),
                             MHD_HTTP_HEADER_ALLOW, wants_post ? "POST" : "GET, HEAD");
        if (route == HTTP_HEALTH)
            return http_send(c, MHD_HTTP_OK, "application/json", http_strdup("{\"status\":\"ok\"}"), NULL, NULL);
        if (route == HTTP_MODELS)
            return http_send(c, MHD_HTTP_OK, "application/json", srv_models_json(srv->model_id, srv->started), NULL,
                             NULL);
        if (route == HTTP_METRICS) return http_metrics(srv, c);
        if (route == HTTP_MODEL) return http_model(srv, c, url);
        const char *length = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (length != NULL && strtoull(length, NULL, 10) > SRV_MAX_BODY_BYTES)
            return http_fail(c, 413, NULL, "the request body is larger than 1 MiB");
        http_upload *up = calloc(1, sizeof *up);
        if (up == NULL) return MHD_NO;
        *con_cls = up;
        pthread_mutex_lock(&srv->mu);
        srv->answering++; /* until http_completed, after the last byte of the answer */
        pthread_mutex_unlock(&srv->mu);
        return MHD_YES;
    }
    http_upload *up = *con_cls;
    if (*upload_data_size > 0) {
        const size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (up->too_large || up->len + n > SRV_MAX_BODY_BYTES) {
            /* Keep reading (and dropping) so the 413 can be sent at the end, but not for ever: a
             * chunked upload has no length to refuse up front, and one that goes on past 8 times
             * the limit in all (or trickles) would hold a connection thread; it is closed instead. */
            up->too_large = 1;
            up->dropped += n;
            return up->len + up->dropped > 8 * (size_t)SRV_MAX_BODY_BYTES ? MHD_NO : MHD_YES;
        }
        if (up->len + n + 1 > up->cap) {
            const size_t cap = up->len + n + 1 > 2 * up->cap ? up->len + n + 1 : 2 * up->cap;
            char *p = realloc(up->body, cap);
            if (p == NULL) return MHD_NO;
            up->body = p;
            up->cap = cap;
        }
        memcpy(up->body + up->len, upload_data, n);
        up->len += n;
        up->body[up->len] = '\0';
        return MHD_YES;
    }
    if (up->too_large) return http_fail(c, 413, NULL, "the request body is larger than 1 MiB");
    return http_generate(srv, c, route == HTTP_CHAT ? SRV_CHAT_COMPLETIONS : SRV_COMPLETIONS, up);
}

static void http_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe) {
    (void)c;
    (void)toe;
    srv_server *srv = cls;
    http_upload *up = *con_cls;
    if (up != NULL) {
        free(up->body);
        free(up);
        *con_cls = NULL;
        pthread_mutex_lock(&srv->mu);
        if (--srv->answering == 0) pthread_cond_broadcast(&srv->answered_cv);
        pthread_mutex_unlock(&srv->mu);
    }
}

/* ---- the daemon ------------------------------------------------------------------------------ */

int srv_listen(const char *host, int port, int *fd_out, int *port_out, char *err, size_t err_size) {
    *fd_out = -1;
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    char port_text[16];
    snprintf(port_text, sizeof port_text, "%d", port);
    const int gai = getaddrinfo(host, port_text, &hints, &ai);
    if (gai != 0) {
        snprintf(err, err_size, "--host %s: %s", host, gai_strerror(gai));
        return -1;
    }
    /* One socket: a name with addresses of both families binds its IPv4 one (localhost is often ::1
     * first, and an IPv4 client then found nothing listening); an IPv6 socket takes IPv4 too (dual
     * stack), so "::" serves every interface as "0.0.0.0" does. */
    const struct addrinfo *use = ai;
    for (const struct addrinfo *a = ai; a != NULL; a = a->ai_next)
        if (a->ai_family == AF_INET) {
            use = a;
            break;
        }
    const int v6 = use->ai_family == AF_INET6;
    const int fd = socket(use->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    const int on = 1, off = 0;
    int failed = fd < 0;
    /* SO_REUSEADDR: a restart may bind while the last run's connections sit in TIME_WAIT. */
    if (!failed) (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (!failed && v6) (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
    /* Bound, not listening: a port in use or an address not this host's fails here, while clients
     * that connect during the model load are refused (ECONNREFUSED) rather than left waiting, so a
     * TCP readiness probe does not see the server up before it is. srv_server_start listens. */
    failed = failed || bind(fd, use->ai_addr, use->ai_addrlen) != 0;
    freeaddrinfo(ai);
    struct sockaddr_storage bound;
    socklen_t bound_len = sizeof bound;
    if (!failed && getsockname(fd, (struct sockaddr *)&bound, &bound_len) != 0) failed = 1;
    if (failed) {
        const int e = errno;
        snprintf(err, err_size, "cannot listen on %s%s%s:%d: %s", v6 ? "[" : "", host, v6 ? "]" : "", port,
                 strerror(e));
        if (fd >= 0) close(fd);
        return -1;
    }
    *port_out = ntohs(bound.ss_family == AF_INET6 ? ((const struct sockaddr_in6 *)&bound)->sin6_port
                                                   : ((const struct sockaddr_in *)&bound)->sin_port);
    *fd_out = fd;
    return 0;
}

void srv_raise_fd_limit(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == rl.rlim_max) return;
    rl.rlim_cur = rl.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &rl); /* best effort: the cap below follows what holds */
}

int64_t srv_connections_wanted(const ax_serving_config *ec) {
    return (int64_t)ec->max_running + ec->max_queue + HTTP_SPARE_CONNECTIONS;
}

int64_t srv_connection_limit(const ax_serving_config *ec) {
    const int64_t want = srv_connections_wanted(ec);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return want;
    const int64_t room = (int64_t)rl.rlim_cur - HTTP_SPARE_FDS;
    return room < want ? (room > 16 ? room : 16) : want;
}

int srv_server_start(const srv_server_config *cfg, srv_server **out, char *err, size_t err_size) {
    *out = NULL;
    ax_serving_config ec;
    if (ax_serving_get_config(cfg->engine, &ec) != AX_OK) {
        snprintf(err, err_size, "engine: %s", ax_last_error());
        return -1;
    }
    const int64_t connections = srv_connection_limit(&ec);
    if (listen(cfg->listen_fd, SOMAXCONN) != 0) {
        snprintf(err, err_size, "listen: %s", strerror(errno));
        return -1;
    }
    srv_server *srv = calloc(1, sizeof *srv);
    if (srv == NULL || (srv->model_id = http_strdup(cfg->model_id)) == NULL ||
        (srv->metrics = srv_metrics_create()) == NULL) {
        snprintf(err, err_size, "out of memory");
        if (srv != NULL) free(srv->model_id);
        free(srv);
        return -1;
    }
    pthread_mutex_init(&srv->mu, NULL);
    pthread_cond_init(&srv->live_cv, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&srv->answered_cv, &attr);
    pthread_condattr_destroy(&attr);
    srv->model = cfg->model;
    srv->engine = cfg->engine;
    srv->n_ctx = ec.n_ctx;
    srv->pool_tokens = ec.num_blocks * (int64_t)ec.block_size;
    ax_llm_model_info mi;
    srv->n_vocab = ax_llm_model_get_info(cfg->model, &mi) == AX_OK ? mi.n_vocab : INT32_MAX;
    srv->started = (int64_t)time(NULL);
    http_allow_origin = cfg->allow_origin;
    /* The socket is bound already (srv_listen), so the port argument is unused. */
    /* poll(), not select(): select() cannot watch a socket numbered FD_SETSIZE (1024) or above, and
     * libmicrohttpd closes such connections unanswered. */
    srv->daemon = MHD_start_daemon(MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL, NULL,
                                   http_handle, srv, MHD_OPTION_LISTEN_SOCKET, cfg->listen_fd,
                                   MHD_OPTION_NOTIFY_COMPLETED, http_completed, srv, MHD_OPTION_CONNECTION_LIMIT,
                                   (unsigned)connections, MHD_OPTION_CONNECTION_TIMEOUT,
                                   (unsigned)HTTP_IDLE_TIMEOUT_S, MHD_OPTION_END);
    if (srv->daemon == NULL) {
        snprintf(err, err_size, "cannot start the HTTP daemon (out of threads or memory?)");
        srv_server_stop(srv);
        return -1;
    }
    *out = srv;
    return 0;
}

void srv_server_stop(srv_server *srv) {
    if (srv == NULL) return;
    /* Refuse new work, then cancel what runs; the cancelled requests' final events wake their
     * connections, which answer and end, so stopping the daemon does not wait on a generation. */
    pthread_mutex_lock(&srv->mu);
    srv->stopping = 1;
    /* Under the server lock, then the engine's (http_submit's order); a cancel runs no callback. */
    for (http_job *j = srv->live; j != NULL; j = j->next) (void)ax_serving_cancel(srv->engine, j->id);
    pthread_mutex_unlock(&srv->mu);
    /* The final events come from the engine's loop at its next step; until the last has come, a
     * callback may still reach this server. */
    pthread_mutex_lock(&srv->mu);
    while (srv->live != NULL) pthread_cond_wait(&srv->live_cv, &srv->mu);
    /* Every connection now has its answer to send (a 503, or a stream's end); MHD_stop_daemon
     * closes the sockets at once, so let them be written first (a slow reader gets HTTP_DRAIN_S). */
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += HTTP_DRAIN_S;
    while (srv->answering > 0 && pthread_cond_timedwait(&srv->answered_cv, &srv->mu, &deadline) != ETIMEDOUT) {
    }
    pthread_mutex_unlock(&srv->mu);
    if (srv->daemon != NULL) MHD_stop_daemon(srv->daemon);
    srv_metrics_free(srv->metrics);
    pthread_cond_destroy(&srv->answered_cv);
    pthread_cond_destroy(&srv->live_cv);
    pthread_mutex_destroy(&srv->mu);
    free(srv->model_id);
    free(srv);
}
