/*
 * serve_request.c — OpenAI-style request bodies to srv_request, and the JSON `axial serve` answers
 * with (errors, responses, stream chunks, the model list), all through cJSON.
 *
 * Validation follows the OpenAI API's documented ranges (temperature [0, 2], penalties [-2, 2],
 * top_p [0, 1] (0 keeps the most probable token alone), at most 4 stop sequences, n = 1 here) so a
 * client gets the same 400 it would get there; JSON null counts as "not given", as OpenAI treats it.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "serve_request.h"

#include <cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h" /* header-only: ax_utf8_char_len */

/* Messages quote what clients sent, cut to a length ('%.64s'), which can end inside a character, and
 * cJSON neither validates nor repairs UTF-8: each byte that does not begin a valid sequence becomes
 * '?', so the error body is always valid JSON text. */
static void utf8_scrub(char *s) {
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        const size_t len = ax_utf8_char_len((const unsigned char *)s + i, n - i);
        if (len == 0) s[i++] = '?';
        else i += len;
    }
}

int srv_fail(srv_error *err, int http_status, const char *param, const char *fmt, ...) {
    err->http_status = http_status;
    err->type = http_status >= 500 ? "server_error" : "invalid_request_error";
    err->code = NULL;
    snprintf(err->param, sizeof err->param, "%s", param != NULL ? param : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    utf8_scrub(err->message);
    return -1;
}

static char *srv_strndup(const char *s, size_t n) {
    char *p = malloc(n + 1);
    if (p != NULL) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static char *srv_strdup(const char *s) { return srv_strndup(s, strlen(s)); }

/* A field that is absent or JSON null is "not given". */
static const cJSON *srv_field(const cJSON *obj, const char *name) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return v == NULL || cJSON_IsNull(v) ? NULL : v;
}

static int srv_oom(srv_error *err) { return srv_fail(err, 500, NULL, "out of memory"); }

/* A number in [lo, hi] (lo_open: lo excluded). Absent: *out unchanged. */
static int srv_get_number(const cJSON *obj, const char *name, double lo, int lo_open, double hi, double *out,
                          srv_error *err) {
    const cJSON *v = srv_field(obj, name);
    if (v == NULL) return 0;
    if (!cJSON_IsNumber(v)) return srv_fail(err, 400, name, "'%s' must be a number", name);
    const double x = v->valuedouble;
    if (!isfinite(x) || x > hi || (lo_open ? !(x > lo) : !(x >= lo)))
        return srv_fail(err, 400, name, "'%s' is %g; expected a number in %c%g, %g]", name, x, lo_open ? '(' : '[',
                        lo, hi);
    *out = x;
    return 0;
}

/* OpenAI's seed is a 64-bit integer; any value is a seed, its bits taken as they are: signed from
 * -2^63, or unsigned up to 2^64 - 1, which JSON's doubles round to 2^64 (as in every client; values
 * beyond 2^53 are rounded already). The range had stopped at +-9.2e18, refusing INT64_MAX. */
static int srv_parse_seed(const cJSON *root, srv_request *r, srv_error *err) {
    const cJSON *v = srv_field(root, "seed");
    if (v == NULL) return 0;
    if (!cJSON_IsNumber(v)) return srv_fail(err, 400, "seed", "'seed' must be an integer");
    const double x = v->valuedouble, two63 = 9223372036854775808.0, two64 = 18446744073709551616.0;
    if (!isfinite(x) || floor(x) != x || x < -two63 || x > two64)
        return srv_fail(err, 400, "seed", "'seed' is %g; expected an integer in [-2^63, 2^64 - 1]", x);
    r->seed = x >= two64 ? UINT64_MAX : x >= two63 ? (uint64_t)x : (uint64_t)(int64_t)x;
    r->have_seed = 1;
    return 0;
}

static int srv_is_integer(const cJSON *v, double lo, double hi) {
    return cJSON_IsNumber(v) && isfinite(v->valuedouble) && floor(v->valuedouble) == v->valuedouble &&
           v->valuedouble >= lo && v->valuedouble <= hi;
}

static int srv_get_int(const cJSON *obj, const char *name, double lo, double hi, int64_t *out, int *given,
                       srv_error *err) {
    const cJSON *v = srv_field(obj, name);
    if (v == NULL) return 0;
    if (!srv_is_integer(v, lo, hi)) {
        if (!cJSON_IsNumber(v)) return srv_fail(err, 400, name, "'%s' must be an integer", name);
        return srv_fail(err, 400, name, "'%s' is %g; expected an integer in [%.0f, %.0f]", name, v->valuedouble, lo,
                        hi);
    }
    *out = (int64_t)v->valuedouble;
    if (given != NULL) *given = 1;
    return 0;
}

static int srv_get_bool(const cJSON *obj, const char *name, int *out, srv_error *err) {
    const cJSON *v = srv_field(obj, name);
    if (v == NULL) return 0;
    if (!cJSON_IsBool(v)) return srv_fail(err, 400, name, "'%s' must be a boolean", name);
    *out = cJSON_IsTrue(v) ? 1 : 0;
    return 0;
}

/* Parameters Axial does not implement: a 400 naming them rather than a silently different answer.
 * The value of each that means "off" (n = 1, echo false, an empty list...) is accepted. */
static int srv_reject_unsupported(const cJSON *root, srv_endpoint endpoint, srv_error *err) {
    const cJSON *v;
    if ((v = srv_field(root, "n")) != NULL && !srv_is_integer(v, 1, 1))
        return srv_fail(err, 400, "n", "'n' must be 1: Axial returns one choice per request");
    if (endpoint == SRV_COMPLETIONS) {
        if ((v = srv_field(root, "echo")) != NULL && !cJSON_IsFalse(v))
            return srv_fail(err, 400, "echo", "'echo' is not supported");
        if ((v = srv_field(root, "logprobs")) != NULL)
            return srv_fail(err, 400, "logprobs", "'logprobs' is not supported");
        if ((v = srv_field(root, "suffix")) != NULL && !(cJSON_IsString(v) && v->valuestring[0] == '\0'))
            return srv_fail(err, 400, "suffix", "'suffix' is not supported");
        if ((v = srv_field(root, "best_of")) != NULL && !srv_is_integer(v, 1, 1))
            return srv_fail(err, 400, "best_of", "'best_of' is not supported (only 1)");
    } else {
        if ((v = srv_field(root, "logprobs")) != NULL && !cJSON_IsFalse(v))
            return srv_fail(err, 400, "logprobs", "'logprobs' is not supported");
        if ((v = srv_field(root, "top_logprobs")) != NULL)
            return srv_fail(err, 400, "top_logprobs", "'top_logprobs' is not supported");
        static const char *const no_tools[] = {"tools", "tool_choice", "functions", "function_call", "audio",
                                               "prediction"};
        for (size_t i = 0; i < sizeof no_tools / sizeof no_tools[0]; i++)
            if (srv_field(root, no_tools[i]) != NULL &&
                !(cJSON_IsArray(srv_field(root, no_tools[i])) && cJSON_GetArraySize(srv_field(root, no_tools[i])) == 0))
                return srv_fail(err, 400, no_tools[i], "'%s' is not supported", no_tools[i]);
        if ((v = srv_field(root, "response_format")) != NULL) {
            const cJSON *type = cJSON_GetObjectItemCaseSensitive(v, "type");
            if (!cJSON_IsString(type) || strcmp(type->valuestring, "text") != 0)
                return srv_fail(err, 400, "response_format", "'response_format' other than {\"type\": \"text\"} is "
                                                             "not supported");
        }
    }
    if ((v = srv_field(root, "logit_bias")) != NULL && !(cJSON_IsObject(v) && v->child == NULL))
        return srv_fail(err, 400, "logit_bias", "'logit_bias' is not supported");
    return 0;
}

static int srv_parse_prompt(const cJSON *root, srv_request *r, srv_error *err) {
    const cJSON *p = srv_field(root, "prompt");
    if (p == NULL) return srv_fail(err, 400, "prompt", "'prompt' is required");
    if (cJSON_IsArray(p)) {
        const int n = cJSON_GetArraySize(p);
        if (n == 0) return srv_fail(err, 400, "prompt", "'prompt' is an empty array");
        const cJSON *first = p->child;
        /* [string] and [[ids]] are one prompt; [ids] is one prompt of token ids. */
        if (cJSON_IsString(first) || cJSON_IsArray(first)) {
            if (n != 1)
                return srv_fail(err, 400, "prompt", "'prompt' holds %d prompts; Axial takes one per request", n);
            if (cJSON_IsString(first)) {
                p = first;
            } else {
                p = first;
                if (cJSON_GetArraySize(p) == 0) return srv_fail(err, 400, "prompt", "'prompt' is an empty array");
            }
        }
    }
    if (cJSON_IsString(p)) {
        r->prompt = srv_strdup(p->valuestring);
        return r->prompt != NULL ? 0 : srv_oom(err);
    }
    if (!cJSON_IsArray(p))
        return srv_fail(err, 400, "prompt", "'prompt' must be a string, an array of one string, or an array of "
                                            "token ids");
    const int n = cJSON_GetArraySize(p);
    r->prompt_tokens = malloc((size_t)n * sizeof *r->prompt_tokens);
    if (r->prompt_tokens == NULL) return srv_oom(err);
    int64_t i = 0;
    for (const cJSON *t = p->child; t != NULL; t = t->next, i++) {
        if (!srv_is_integer(t, 0, INT32_MAX))
            return srv_fail(err, 400, "prompt", "'prompt' token %lld is not a token id (an integer >= 0)", (long long)i);
        r->prompt_tokens[i] = (int32_t)t->valuedouble;
    }
    r->n_prompt_tokens = i;
    return 0;
}

/* Appends src to the growing string *dst (len bytes so far). */
static int srv_append(char **dst, size_t *len, const char *src) {
    const size_t n = strlen(src);
    char *p = realloc(*dst, *len + n + 1);
    if (p == NULL) return -1;
    memcpy(p + *len, src, n + 1);
    *dst = p;
    *len += n;
    return 0;
}

static int srv_parse_messages(const cJSON *root, srv_request *r, srv_error *err) {
    const cJSON *m = srv_field(root, "messages");
    if (m == NULL) return srv_fail(err, 400, "messages", "'messages' is required");
    if (!cJSON_IsArray(m)) return srv_fail(err, 400, "messages", "'messages' must be an array");
    const int n = cJSON_GetArraySize(m);
    if (n == 0) return srv_fail(err, 400, "messages", "'messages' is empty");
    r->messages = calloc((size_t)n, sizeof *r->messages);
    if (r->messages == NULL) return srv_oom(err);
    int i = 0;
    for (const cJSON *msg = m->child; msg != NULL; msg = msg->next, i++) {
        char param[64];
        snprintf(param, sizeof param, "messages[%d].role", i);
        if (!cJSON_IsObject(msg)) return srv_fail(err, 400, "messages", "'messages[%d]' must be an object", i);
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(msg, "role");
        if (!cJSON_IsString(role)) return srv_fail(err, 400, param, "'%s' must be a string", param);
        static const char *const roles[] = {"system", "user", "assistant", "tool", "developer"};
        size_t k = 0;
        while (k < sizeof roles / sizeof roles[0] && strcmp(role->valuestring, roles[k]) != 0) k++;
        if (k == sizeof roles / sizeof roles[0])
            return srv_fail(err, 400, param, "'%s' is '%.64s'; expected system, user, assistant, tool or developer",
                            param, role->valuestring);
        /* The chat template knows system; OpenAI's "developer" is its newer name for it. */
        srv_message *out = &r->messages[i];
        r->n_messages = i + 1;
        out->role = srv_strdup(k == 4 ? "system" : roles[k]);
        if (out->role == NULL) return srv_oom(err);
        snprintf(param, sizeof param, "messages[%d].content", i);
        const cJSON *content = srv_field(msg, "content");
        size_t len = 0;
        /* OpenAI lets only an assistant turn go without content (one that called tools). */
        if (content == NULL && k != 2)
            return srv_fail(err, 400, param, "'%s' is required for a %s message", param, roles[k]);
        if (content == NULL || cJSON_IsString(content)) {
            out->content = srv_strdup(content != NULL ? content->valuestring : "");
            if (out->content == NULL) return srv_oom(err);
            continue;
        }
        if (!cJSON_IsArray(content))
            return srv_fail(err, 400, param, "'%s' must be a string or an array of text parts", param);
        out->content = srv_strdup("");
        if (out->content == NULL) return srv_oom(err);
        for (const cJSON *part = content->child; part != NULL; part = part->next) {
            const cJSON *type = cJSON_GetObjectItemCaseSensitive(part, "type");
            const cJSON *text = cJSON_GetObjectItemCaseSensitive(part, "text");
            if (!cJSON_IsString(type) || strcmp(type->valuestring, "text") != 0 || !cJSON_IsString(text))
                return srv_fail(err, 400, param, "'%s': only parts {\"type\": \"text\", \"text\": ...} are supported",
                                param);
            if (srv_append(&out->content, &len, text->valuestring) != 0) return srv_oom(err);
        }
    }
    return 0;
}

/* One stop sequence: empty ones are dropped, the rest copied (at most 256 bytes each). */
static int srv_add_stop(srv_request *r, const char *stop, srv_error *err) {
    if (stop[0] == '\0') return 0;
    if (strlen(stop) > 256) return srv_fail(err, 400, "stop", "'stop' sequences are at most 256 bytes");
    r->stop[r->n_stop] = srv_strdup(stop);
    if (r->stop[r->n_stop] == NULL) return srv_oom(err);
    r->n_stop++;
    return 0;
}

static int srv_parse_stop(const cJSON *root, srv_request *r, srv_error *err) {
    const cJSON *s = srv_field(root, "stop");
    if (s == NULL) return 0;
    if (cJSON_IsString(s)) return srv_add_stop(r, s->valuestring, err);
    if (!cJSON_IsArray(s)) return srv_fail(err, 400, "stop", "'stop' must be a string or an array of strings");
    if (cJSON_GetArraySize(s) > SRV_MAX_STOP)
        return srv_fail(err, 400, "stop", "'stop' holds %d sequences; at most %d", cJSON_GetArraySize(s), SRV_MAX_STOP);
    for (const cJSON *e = s->child; e != NULL; e = e->next) {
        if (!cJSON_IsString(e)) return srv_fail(err, 400, "stop", "'stop' must be a string or an array of strings");
        if (srv_add_stop(r, e->valuestring, err) != 0) return -1;
    }
    return 0;
}

static int srv_parse_fields(const cJSON *root, srv_endpoint endpoint, srv_request *r, srv_error *err) {
    if (!cJSON_IsObject(root)) return srv_fail(err, 400, NULL, "the request body must be a JSON object");
    const cJSON *model = srv_field(root, "model");
    if (model == NULL) return srv_fail(err, 400, "model", "'model' is required");
    if (!cJSON_IsString(model)) return srv_fail(err, 400, "model", "'model' must be a string");
    r->model = srv_strdup(model->valuestring);
    if (r->model == NULL) return srv_oom(err);
    if (srv_reject_unsupported(root, endpoint, err) != 0) return -1;
    if ((endpoint == SRV_COMPLETIONS ? srv_parse_prompt(root, r, err) : srv_parse_messages(root, r, err)) != 0)
        return -1;

    int64_t v = 0;
    int given = 0;
    /* Chat's newer name wins over the older one when both are given. */
    const char *max_name = endpoint == SRV_CHAT_COMPLETIONS && srv_field(root, "max_completion_tokens") != NULL
                               ? "max_completion_tokens"
                               : "max_tokens";
    if (srv_get_int(root, max_name, 1, INT32_MAX, &v, &given, err) != 0) return -1;
    r->max_tokens = given ? (int32_t)v : 0;
    r->max_completion_tokens = max_name[4] == 'c';
    if (srv_get_number(root, "temperature", 0.0, 0, 2.0, &r->temperature, err) != 0 ||
        srv_get_number(root, "top_p", 0.0, 0, 1.0, &r->top_p, err) != 0 ||
        srv_get_number(root, "min_p", 0.0, 0, 1.0, &r->min_p, err) != 0 ||
        srv_get_number(root, "presence_penalty", -2.0, 0, 2.0, &r->presence_penalty, err) != 0 ||
        srv_get_number(root, "frequency_penalty", -2.0, 0, 2.0, &r->frequency_penalty, err) != 0 ||
        srv_get_number(root, "repetition_penalty", 0.0, 1, 1e6, &r->repetition_penalty, err) != 0)
        return -1;
    v = 0;
    if (srv_get_int(root, "top_k", INT32_MIN, INT32_MAX, &v, NULL, err) != 0) return -1;
    r->top_k = v <= 0 ? 0 : (int32_t)v;
    if (srv_parse_seed(root, r, err) != 0) return -1;
    if (srv_parse_stop(root, r, err) != 0 || srv_get_bool(root, "stream", &r->stream, err) != 0) return -1;
    const cJSON *so = srv_field(root, "stream_options");
    if (so != NULL && !r->stream) /* as OpenAI answers */
        return srv_fail(err, 400, "stream_options", "'stream_options' is only allowed when 'stream' is true");
    if (so != NULL) {
        if (!cJSON_IsObject(so)) return srv_fail(err, 400, "stream_options", "'stream_options' must be an object");
        if (srv_get_bool(so, "include_usage", &r->include_usage, err) != 0) {
            snprintf(err->param, sizeof err->param, "stream_options.include_usage");
            return -1;
        }
    }
    return 0;
}

/* JSON text is UTF-8 (RFC 8259), and cJSON passes bytes through unchecked: an invalid byte would
 * reach the tokenizer, which drops bytes the vocabulary lacks, so the model would read another
 * prompt than the one sent. A \u0000 escape would become a NUL that ends the C string there (the
 * prompt "ab\u0000cd" served as "ab"). Both are refused, at their byte. */
static int srv_body_check(const char *body, size_t len, srv_error *err) {
    int in_string = 0;
    for (size_t i = 0; i < len;) {
        const size_t n = ax_utf8_char_len((const unsigned char *)body + i, len - i);
        if (n == 0 || (n == 1 && body[i] == '\0'))
            return srv_fail(err, 400, NULL, "the request body is not valid UTF-8 (byte %zu)", i);
        if (n == 1 && body[i] == '"') in_string = !in_string;
        if (n == 1 && body[i] == '\\' && in_string && i + 1 < len) {
            if (body[i + 1] == 'u' && i + 6 <= len && memcmp(body + i + 2, "0000", 4) == 0)
                return srv_fail(err, 400, NULL,
                                "the request holds \\u0000 (byte %zu): strings with NUL characters are not supported",
                                i);
            /* the escaped character: an escaped quote does not end the string (a multi-byte one is
             * invalid JSON, which cJSON reports, rather than a stray continuation byte here) */
            const size_t esc = ax_utf8_char_len((const unsigned char *)body + i + 1, len - i - 1);
            i += 1 + (esc > 0 ? esc : 1);
            continue;
        }
        i += n;
    }
    return 0;
}

int srv_request_parse(srv_endpoint endpoint, const char *body, size_t len, srv_request *out, srv_error *err) {
    memset(out, 0, sizeof *out);
    out->endpoint = endpoint;
    out->temperature = 1.0;
    out->top_p = 1.0;
    out->repetition_penalty = 1.0;
    if (srv_body_check(body, len, err) != 0) return -1;
    /* The per-call end pointer, not cJSON_GetErrorPtr: that one is global, and connections parse in
     * parallel threads. */
    const char *at = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(body, len, &at, 0);
    if (root == NULL) {
        const long long off = at != NULL && at >= body && at <= body + len ? (long long)(at - body) : -1;
        return srv_fail(err, 400, NULL, "the request body is not valid JSON (at byte %lld)", off);
    }
    /* cJSON stops after the first value; anything but whitespace after it is malformed too. */
    const char *end = at != NULL && at >= body && at <= body + len ? at : body + len;
    while (end < body + len && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')) end++;
    if (end < body + len) {
        cJSON_Delete(root);
        return srv_fail(err, 400, NULL, "the request body is not valid JSON (data after the value at byte %lld)",
                        (long long)(end - body));
    }
    const int rc = srv_parse_fields(root, endpoint, out, err);
    cJSON_Delete(root);
    if (rc != 0) {
        srv_request_free(out);
        out->endpoint = endpoint;
    }
    return rc;
}

void srv_request_free(srv_request *req) {
    if (req == NULL) return;
    free(req->model);
    free(req->prompt);
    free(req->prompt_tokens);
    for (int64_t i = 0; i < req->n_messages; i++) {
        free(req->messages[i].role);
        free(req->messages[i].content);
    }
    free(req->messages);
    for (int i = 0; i < req->n_stop; i++) free(req->stop[i]);
    memset(req, 0, sizeof *req);
}

/* ---- output ---------------------------------------------------------------------------------- */

static char *srv_print(cJSON *root) {
    char *s = root != NULL ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    return s;
}

char *srv_error_json(const srv_error *err) {
    cJSON *root = cJSON_CreateObject();
    cJSON *e = cJSON_AddObjectToObject(root, "error");
    if (e == NULL) {
        cJSON_Delete(root);
        return NULL;
    }
    cJSON_AddStringToObject(e, "message", err->message);
    cJSON_AddStringToObject(e, "type", err->type != NULL ? err->type : "invalid_request_error");
    if (err->param[0] != '\0')
        cJSON_AddStringToObject(e, "param", err->param);
    else
        cJSON_AddNullToObject(e, "param");
    if (err->code != NULL)
        cJSON_AddStringToObject(e, "code", err->code);
    else
        cJSON_AddNullToObject(e, "code");
    return srv_print(root);
}

/* Generated text as a JSON string. The model can generate a NUL byte (the byte token 0x00), which a
 * cJSON string (NUL-terminated) would end at, dropping the rest: each NUL is sent as U+FFFD. */
static cJSON *srv_text(const char *text, size_t len) {
    if (text == NULL) len = 0;
    size_t nuls = 0;
    for (size_t i = 0; i < len; i++) nuls += text[i] == '\0';
    char *copy = malloc(len + 2 * nuls + 1);
    if (copy == NULL) return NULL;
    size_t at = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] != '\0') {
            copy[at++] = text[i];
        } else {
            copy[at++] = (char)0xEF, copy[at++] = (char)0xBF, copy[at++] = (char)0xBD;
        }
    }
    copy[at] = '\0';
    cJSON *s = cJSON_CreateString(copy);
    free(copy);
    return s;
}

static cJSON *srv_envelope(srv_endpoint endpoint, const srv_result *r, int chunk) {
    cJSON *root = cJSON_CreateObject();
    if (root == NULL) return NULL;
    cJSON_AddStringToObject(root, "id", r->id);
    cJSON_AddStringToObject(root, "object", endpoint == SRV_COMPLETIONS ? "text_completion"
                                            : chunk                     ? "chat.completion.chunk"
                                                                        : "chat.completion");
    cJSON_AddNumberToObject(root, "created", (double)r->created);
    cJSON_AddStringToObject(root, "model", r->model);
    return root;
}

static void srv_add_usage(cJSON *root, const srv_result *r) {
    cJSON *u = cJSON_AddObjectToObject(root, "usage");
    if (u == NULL) return;
    cJSON_AddNumberToObject(u, "prompt_tokens", (double)r->prompt_tokens);
    cJSON_AddNumberToObject(u, "completion_tokens", (double)r->completion_tokens);
    cJSON_AddNumberToObject(u, "total_tokens", (double)(r->prompt_tokens + r->completion_tokens));
}

static void srv_add_finish(cJSON *choice, const srv_result *r) {
    if (r->finish_reason != NULL)
        cJSON_AddStringToObject(choice, "finish_reason", r->finish_reason);
    else
        cJSON_AddNullToObject(choice, "finish_reason");
}

char *srv_response_json(srv_endpoint endpoint, const srv_result *r) {
    cJSON *root = srv_envelope(endpoint, r, 0);
    cJSON *choices = cJSON_AddArrayToObject(root, "choices");
    cJSON *choice = cJSON_CreateObject();
    if (choices == NULL || choice == NULL || !cJSON_AddItemToArray(choices, choice)) {
        cJSON_Delete(choice);
        cJSON_Delete(root);
        return NULL;
    }
    cJSON_AddNumberToObject(choice, "index", 0);
    cJSON *text = srv_text(r->text, r->text_len);
    if (endpoint == SRV_COMPLETIONS) {
        cJSON_AddItemToObject(choice, "text", text);
        cJSON_AddNullToObject(choice, "logprobs");
    } else {
        cJSON *msg = cJSON_AddObjectToObject(choice, "message");
        cJSON_AddStringToObject(msg, "role", "assistant");
        cJSON_AddItemToObject(msg, "content", text);
        cJSON_AddNullToObject(choice, "logprobs");
    }
    srv_add_finish(choice, r);
    srv_add_usage(root, r);
    return srv_print(root);
}

char *srv_chunk_json(srv_endpoint endpoint, srv_chunk_kind kind, const srv_result *r) {
    cJSON *root = srv_envelope(endpoint, r, 1);
    cJSON *choices = cJSON_AddArrayToObject(root, "choices");
    if (choices == NULL) {
        cJSON_Delete(root);
        return NULL;
    }
    if (kind == SRV_CHUNK_USAGE) {
        srv_add_usage(root, r);
        return srv_print(root);
    }
    cJSON *choice = cJSON_CreateObject();
    if (choice == NULL || !cJSON_AddItemToArray(choices, choice)) {
        cJSON_Delete(choice);
        cJSON_Delete(root);
        return NULL;
    }
    cJSON_AddNumberToObject(choice, "index", 0);
    const int with_text = kind == SRV_CHUNK_TEXT;
    if (endpoint == SRV_COMPLETIONS) {
        cJSON_AddItemToObject(choice, "text", srv_text(with_text ? r->text : "", with_text ? r->text_len : 0));
        cJSON_AddNullToObject(choice, "logprobs");
    } else {
        cJSON *delta = cJSON_AddObjectToObject(choice, "delta");
        if (kind == SRV_CHUNK_ROLE) {
            cJSON_AddStringToObject(delta, "role", "assistant");
            cJSON_AddStringToObject(delta, "content", "");
        } else if (with_text) {
            cJSON_AddItemToObject(delta, "content", srv_text(r->text, r->text_len));
        }
        cJSON_AddNullToObject(choice, "logprobs");
    }
    if (kind == SRV_CHUNK_FINISH)
        srv_add_finish(choice, r);
    else
        cJSON_AddNullToObject(choice, "finish_reason");
    return srv_print(root);
}

static cJSON *srv_model_object(const char *model, int64_t created) {
    cJSON *m = cJSON_CreateObject();
    if (m == NULL) return NULL;
    cJSON_AddStringToObject(m, "id", model);
    cJSON_AddStringToObject(m, "object", "model");
    cJSON_AddNumberToObject(m, "created", (double)created);
    cJSON_AddStringToObject(m, "owned_by", "axial");
    return m;
}

char *srv_models_json(const char *model, int64_t created) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "object", "list");
    cJSON *data = cJSON_AddArrayToObject(root, "data");
    cJSON *m = srv_model_object(model, created);
    if (data == NULL || m == NULL || !cJSON_AddItemToArray(data, m)) {
        cJSON_Delete(m);
        cJSON_Delete(root);
        return NULL;
    }
    return srv_print(root);
}

char *srv_model_json(const char *model, int64_t created) {
    cJSON *m = srv_model_object(model, created);
    return m != NULL ? srv_print(m) : NULL;
}
