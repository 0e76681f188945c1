/*
 * fuzz_serve_request.c — libFuzzer target for the request parser of `axial serve`
 * (tools/serve_request.c): the input's first byte picks the endpoint (completions or chat), the rest
 * is the HTTP body, any bytes. A parse either succeeds with a request whose fields are in their
 * documented ranges and valid UTF-8 text, or fails with a 4xx error whose JSON object renders; a
 * parsed request's strings then go through the response and stream-chunk renderers, whose output must be JSON again.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../tools/serve_request.h"
#include "core/utf8.h"

/* The renderer's output parses back as a JSON object. */
static void fuzz_check_json(char *text) {
    if (text == NULL) __builtin_trap();
    cJSON *root = cJSON_Parse(text);
    if (!cJSON_IsObject(root)) __builtin_trap();
    cJSON_Delete(root);
    free(text);
}

static void fuzz_check_request(const srv_request *r) {
    if (r->model == NULL) __builtin_trap();
    if (r->endpoint == SRV_COMPLETIONS) {
        if ((r->prompt == NULL) == (r->prompt_tokens == NULL)) __builtin_trap();
        if (r->prompt == NULL && r->n_prompt_tokens < 1) __builtin_trap();
        for (int64_t i = 0; i < r->n_prompt_tokens; i++)
            if (r->prompt_tokens[i] < 0) __builtin_trap();
    } else {
        if (r->n_messages < 1 || r->messages == NULL) __builtin_trap();
        for (int64_t i = 0; i < r->n_messages; i++)
            if (r->messages[i].role == NULL || r->messages[i].content == NULL) __builtin_trap();
    }
    if (r->max_tokens < 0 || !(r->temperature >= 0.0 && r->temperature <= 2.0) ||
        !(r->top_p >= 0.0 && r->top_p <= 1.0) || !(r->min_p >= 0.0 && r->min_p <= 1.0) || r->top_k < 0 ||
        !(r->presence_penalty >= -2.0 && r->presence_penalty <= 2.0) ||
        !(r->frequency_penalty >= -2.0 && r->frequency_penalty <= 2.0) || !(r->repetition_penalty > 0.0) ||
        r->n_stop < 0 || r->n_stop > SRV_MAX_STOP)
        __builtin_trap();
    for (int i = 0; i < r->n_stop; i++)
        if (r->stop[i] == NULL || r->stop[i][0] == '\0' || strlen(r->stop[i]) > 256 || !ax_utf8_valid(r->stop[i]))
            __builtin_trap();
    /* Every text the model would read is valid UTF-8 (the body check refuses the rest). */
    if (r->prompt != NULL && !ax_utf8_valid(r->prompt)) __builtin_trap();
    for (int64_t i = 0; i < r->n_messages; i++)
        if (!ax_utf8_valid(r->messages[i].content)) __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    const srv_endpoint endpoint = (data[0] & 1) ? SRV_CHAT_COMPLETIONS : SRV_COMPLETIONS;
    srv_request req;
    srv_error err;
    if (srv_request_parse(endpoint, (const char *)data + 1, size - 1, &req, &err) != 0) {
        if (err.http_status != 400 && err.http_status != 500) __builtin_trap();
        if (err.message[0] == '\0' || req.model != NULL) __builtin_trap();
        fuzz_check_json(srv_error_json(&err));
        return 0;
    }
    fuzz_check_request(&req);
    /* The request's own strings as the text the renderers escape. */
    const char *text = req.prompt != NULL ? req.prompt : req.n_messages > 0 ? req.messages[0].content : "";
    const srv_result r = {"cmpl-1", req.model, 1, text, strlen(text), req.n_stop > 0 ? "stop" : "length", 3, 4};
    fuzz_check_json(srv_response_json(endpoint, &r));
    for (int kind = SRV_CHUNK_ROLE; kind <= SRV_CHUNK_USAGE; kind++)
        fuzz_check_json(srv_chunk_json(endpoint, (srv_chunk_kind)kind, &r));
    fuzz_check_json(srv_models_json(req.model, 1));
    srv_request_free(&req);
    return 0;
}
