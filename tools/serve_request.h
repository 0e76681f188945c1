/*
 * serve_request.h — the JSON side of `axial serve`: an OpenAI-style request body parsed into a plain
 * struct (checked field by field, no model needed), OpenAI-style error objects, and the response
 * and stream-chunk objects. No HTTP library here, so fuzz/fuzz_serve_request.c can drive it alone.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_TOOLS_SERVE_REQUEST_H
#define AXIAL_TOOLS_SERVE_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#define SRV_MAX_STOP 4 /* OpenAI's limit on stop sequences */

typedef enum srv_endpoint {
    SRV_COMPLETIONS = 0,      /* POST /v1/completions */
    SRV_CHAT_COMPLETIONS = 1  /* POST /v1/chat/completions */
} srv_endpoint;

typedef struct srv_message {
    char *role;               /* "system", "user", "assistant", "tool" ("developer" becomes "system") */
    char *content;            /* the text parts joined; "" for a null content */
} srv_message;

typedef struct srv_request {
    srv_endpoint endpoint;
    char *model;              /* required */
    char *prompt;             /* completions: the text, or NULL when given as token ids */
    int32_t *prompt_tokens;   /* completions: the ids of a token prompt (n_prompt_tokens >= 1) */
    int64_t n_prompt_tokens;
    srv_message *messages;    /* chat: n_messages >= 1 */
    int64_t n_messages;
    int32_t max_tokens;       /* 0: not given (completions: 16; chat: what the context leaves) */
    int max_completion_tokens;/* chat: it came as max_completion_tokens (errors name that) */
    double temperature;       /* [0, 2], default 1; 0 = greedy */
    double top_p;             /* (0, 1], default 1 */
    int32_t top_k;            /* extension; <= 0 off */
    double min_p;             /* extension; [0, 1], default 0 */
    double presence_penalty;  /* [-2, 2] */
    double frequency_penalty; /* [-2, 2] */
    double repetition_penalty;/* extension; > 0, default 1 */
    int have_seed;
    uint64_t seed;
    char *stop[SRV_MAX_STOP];
    int n_stop;
    int stream;
    int include_usage;        /* stream_options.include_usage */
} srv_request;

/* What went wrong with a request, as OpenAI reports it: the HTTP status, a message, the parameter
 * (or "" for none) and the error type and code (NULL code = JSON null). */
typedef struct srv_error {
    int http_status;
    char message[512];
    char param[64];
    const char *type;
    const char *code;
} srv_error;

/* Fills *err (printf-style message) and returns -1, so callers can `return srv_fail(...)`. */
int srv_fail(srv_error *err, int http_status, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Parses body (len bytes, need not be NUL-terminated) for an endpoint. 0 on success (free *out with
 * srv_request_free); -1 with *err filled (400) and *out left empty on any malformed, mistyped,
 * missing, out-of-range or unsupported field. */
int srv_request_parse(srv_endpoint endpoint, const char *body, size_t len, srv_request *out, srv_error *err);
void srv_request_free(srv_request *req);

/* {"error":{"message","type","param","code"}} as a malloc'ed string; NULL when out of memory. */
char *srv_error_json(const srv_error *err);

/* The final, non-streamed response object (malloc'ed JSON string, NULL when out of memory). */
typedef struct srv_result {
    const char *id;           /* "cmpl-..." or "chatcmpl-..." */
    const char *model;
    int64_t created;          /* Unix seconds */
    const char *text;         /* the generated text */
    size_t text_len;
    const char *finish_reason;/* "stop" or "length"; NULL = JSON null (stream chunks before the last) */
    int64_t prompt_tokens, completion_tokens;
} srv_result;

char *srv_response_json(srv_endpoint endpoint, const srv_result *r);

/* One stream chunk's JSON (no "data: " framing). kind: SRV_CHUNK_ROLE (chat's first delta),
 * SRV_CHUNK_TEXT (r->text), SRV_CHUNK_FINISH (empty text/delta with r->finish_reason), SRV_CHUNK_USAGE
 * (empty choices, usage). */
typedef enum srv_chunk_kind { SRV_CHUNK_ROLE, SRV_CHUNK_TEXT, SRV_CHUNK_FINISH, SRV_CHUNK_USAGE } srv_chunk_kind;
char *srv_chunk_json(srv_endpoint endpoint, srv_chunk_kind kind, const srv_result *r);

/* GET /v1/models: the one model; GET /v1/models/{model}: the model object alone. */
char *srv_models_json(const char *model, int64_t created);
char *srv_model_json(const char *model, int64_t created);

#endif /* AXIAL_TOOLS_SERVE_REQUEST_H */
