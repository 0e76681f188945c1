/*
 * test_serve_json.c — the JSON that `axial serve` writes for generated text (tools/serve_request.c):
 * text the model generated comes back whole, escaped as JSON, whatever bytes it holds. A NUL byte
 * (the model's byte token 0x00) had ended the string there, dropping the rest of the answer.
 * Reference: the input bytes themselves, with each NUL as U+FFFD, read back with cJSON's parser.
 * And request fields the OpenAI API defines as this parser must read them (seed, stream_options).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <cJSON.h>

#include "harness.h"
#include "serve_request.h"

/* choices[0].text (completions) or choices[0].delta.content / message.content (chat), parsed back. */
static char *text_of(const char *json, srv_endpoint endpoint, int chunk) {
    cJSON *root = cJSON_Parse(json);
    if (root == NULL) return NULL;
    const cJSON *choice = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "choices"), 0);
    const cJSON *t = NULL;
    if (endpoint == SRV_COMPLETIONS) t = cJSON_GetObjectItemCaseSensitive(choice, "text");
    else t = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(choice, chunk ? "delta" : "message"),
                                              "content");
    char *out = cJSON_IsString(t) ? strdup(t->valuestring) : NULL;
    cJSON_Delete(root);
    return out;
}

static void test_nul_in_generated_text(void) {
    static const char text[] = "ab\0cd\0\"\n\xC3\xA9"; /* NULs, a quote, a newline, a 2-byte character */
    static const char want[] = "ab\xEF\xBF\xBD" "cd\xEF\xBF\xBD\"\n\xC3\xA9";
    srv_result r;
    memset(&r, 0, sizeof r);
    r.id = "cmpl-1", r.model = "m", r.created = 1, r.finish_reason = "stop";
    r.text = text, r.text_len = sizeof text - 1;
    const srv_endpoint eps[2] = {SRV_COMPLETIONS, SRV_CHAT_COMPLETIONS};
    for (int e = 0; e < 2; e++) {
        for (int chunk = 0; chunk < 2; chunk++) {
            char *json = chunk ? srv_chunk_json(eps[e], SRV_CHUNK_TEXT, &r) : srv_response_json(eps[e], &r);
            CHECK(json != NULL);
            if (json == NULL) continue;
            char *got = text_of(json, eps[e], chunk);
            CHECK(got != NULL);
            if (got != NULL) CHECK_STR_EQ(got, want);
            free(got);
            free(json);
        }
    }
}

/* One stop string over 256 bytes is refused by the parser, naming "stop", as an array's entry is
 * (it had reached the engine, whose error named no parameter). */
static void test_long_single_stop(void) {
    char body[600], stop[301];
    memset(stop, 'x', 300);
    stop[300] = '\0';
    for (int array = 0; array < 2; array++) {
        snprintf(body, sizeof body, "{\"model\":\"m\",\"prompt\":\"hi\",\"stop\":%s\"%s\"%s}", array ? "[" : "", stop,
                 array ? "]" : "");
        srv_request req;
        srv_error err;
        memset(&err, 0, sizeof err);
        CHECK_INT_EQ(srv_request_parse(SRV_COMPLETIONS, body, strlen(body), &req, &err), -1);
        CHECK_INT_EQ(err.http_status, 400);
        CHECK_STR_EQ(err.param, "stop");
        CHECK(strstr(err.message, "at most 256 bytes") != NULL);
    }
    stop[256] = '\0'; /* 256 bytes: accepted */
    snprintf(body, sizeof body, "{\"model\":\"m\",\"prompt\":\"hi\",\"stop\":\"%s\"}", stop);
    srv_request req;
    srv_error err;
    CHECK_INT_EQ(srv_request_parse(SRV_COMPLETIONS, body, strlen(body), &req, &err), 0);
    CHECK_INT_EQ(req.n_stop, 1);
    srv_request_free(&req);
}

/* An error quoting a client's value cut to 64 bytes inside a 2-byte character: the cut byte becomes
 * '?' (the body had held a lone 0xC3, not valid UTF-8, which strict clients fail to decode). */
static void test_error_cut_inside_a_character(void) {
    char role[128] = "a", body[256];
    for (int i = 0; i < 40; i++) strcat(role, "\xC3\xA9"); /* 'a' and 40 x U+00E9: 81 bytes */
    snprintf(body, sizeof body, "{\"model\":\"m\",\"messages\":[{\"role\":\"%s\",\"content\":\"hi\"}]}", role);
    srv_request req;
    srv_error err;
    memset(&err, 0, sizeof err);
    CHECK_INT_EQ(srv_request_parse(SRV_CHAT_COMPLETIONS, body, strlen(body), &req, &err), -1);
    CHECK_INT_EQ(err.http_status, 400);
    char want[128] = "'a";
    for (int i = 0; i < 31; i++) strcat(want, "\xC3\xA9"); /* 63 bytes whole, the 64th cut */
    strcat(want, "?'");
    CHECK(strstr(err.message, want) != NULL);
    char *json = srv_error_json(&err);
    CHECK(json != NULL && strstr(json, want) != NULL);
    free(json);
}

/* Parses a chat request with `extra` fields; returns the parser's result (0 or -1). */
static int parse_chat(const char *extra, srv_request *req, srv_error *err) {
    char body[512];
    snprintf(body, sizeof body, "{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]%s}",
             extra);
    memset(req, 0, sizeof *req);
    memset(err, 0, sizeof *err);
    return srv_request_parse(SRV_CHAT_COMPLETIONS, body, strlen(body), req, err);
}

/* seed: any 64-bit integer, signed or unsigned (the range had stopped at +-9.2e18: INT64_MAX was a
 * 400), its bits as they are; JSON's doubles round 2^64 - 1 to 2^64. Past that, or a fraction, 400. */
static void test_seed_range(void) {
    static const struct {
        const char *text;
        uint64_t want;
    } ok[] = {
        {"0", 0},
        {"-1", UINT64_MAX},
        {"9223372036854775807", 9223372036854775808ull}, /* INT64_MAX, which JSON reads as 2^63 */
        {"-9223372036854775808", 9223372036854775808ull},
        {"18446744073709551615", UINT64_MAX},
        {"12345", 12345},
    };
    srv_request req;
    srv_error err;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char extra[64];
        snprintf(extra, sizeof extra, ", \"seed\": %s", ok[i].text);
        const int rc = parse_chat(extra, &req, &err);
        if (rc != 0 || !req.have_seed || req.seed != ok[i].want)
            TH_FAIL("seed %s: rc %d (%s), seed %llu, expected %llu", ok[i].text, rc, err.message,
                    (unsigned long long)req.seed, (unsigned long long)ok[i].want);
        th_checks++;
        if (rc == 0) srv_request_free(&req);
    }
    static const char *const bad[] = {"1.5", "36893488147419103232", "-9223372036854777856", "\"7\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char extra[64];
        snprintf(extra, sizeof extra, ", \"seed\": %s", bad[i]);
        CHECK_INT_EQ(parse_chat(extra, &req, &err), -1);
        CHECK_INT_EQ(err.http_status, 400);
        CHECK_STR_EQ(err.param, "seed");
    }
}

/* stream_options without stream true is a 400 naming it, as OpenAI answers (it had been accepted). */
static void test_stream_options_needs_stream(void) {
    srv_request req;
    srv_error err;
    CHECK_INT_EQ(parse_chat(", \"stream_options\": {\"include_usage\": true}", &req, &err), -1);
    CHECK_INT_EQ(err.http_status, 400);
    CHECK_STR_EQ(err.param, "stream_options");
    CHECK_INT_EQ(parse_chat(", \"stream\": false, \"stream_options\": {}", &req, &err), -1);
    CHECK_INT_EQ(parse_chat(", \"stream\": true, \"stream_options\": {\"include_usage\": true}", &req, &err), 0);
    CHECK(req.include_usage == 1);
    srv_request_free(&req);
}

int main(void) {
    RUN(test_seed_range);
    RUN(test_stream_options_needs_stream);
    RUN(test_nul_in_generated_text);
    RUN(test_long_single_stop);
    RUN(test_error_cut_inside_a_character);
    return th_finish();
}
