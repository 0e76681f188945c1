/*
 * tokenizer_chat.c — chat templates. Axial does not run Jinja: it recognises the ChatML family
 * (a template that writes "<|im_start|>") and renders it the way that template does, including the
 * default system message some templates put first when the conversation has none, e.g. SmolLM2's
 *
 *   {% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are ...<|im_end|>\n' }}{% endif %}
 *
 * whose string literal is read out of the template when the tokenizer is built.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "llm/tokenizer_internal.h"

static const char *chat_find(const char *hay, size_t hay_len, const char *needle) {
    const size_t n = strlen(needle);
    for (size_t i = 0; i + n <= hay_len; i++) {
        if (memcmp(hay + i, needle, n) == 0) return hay + i;
    }
    return NULL;
}

/* The Jinja string literal starting at p (a quote) up to end: its unescaped text in a new buffer.
 * Returns 0 when there is no closing quote or no memory. */
static int chat_read_literal(const char *p, const char *end, char **out, size_t *out_len) {
    const char quote = *p++;
    char *buf = malloc((size_t)(end - p) + 1);
    if (buf == NULL) return 0;
    size_t n = 0;
    for (; p < end; p++) {
        if (*p == quote) {
            *out = buf;
            *out_len = n;
            return 1;
        }
        if (*p == '\\' && p + 1 < end) {
            p++;
            switch (*p) {
                case 'n': buf[n++] = '\n'; break;
                case 't': buf[n++] = '\t'; break;
                case 'r': buf[n++] = '\r'; break;
                default: buf[n++] = *p; break;
            }
            continue;
        }
        buf[n++] = *p;
    }
    free(buf);
    return 0;
}

ax_status llm_chat_template_parse(llm_tokenizer *tok, const char *tmpl, size_t len) {
    tok->chat_kind = LLM_CHAT_NONE;
    if (chat_find(tmpl, len, "<|im_start|>") == NULL) return AX_OK;
    const char *const conds[] = {"messages[0]['role'] != 'system'", "messages[0][\"role\"] != \"system\"",
                                 "messages[0].role != 'system'", "messages[0].role != \"system\""};
    const char *cond = NULL;
    for (size_t k = 0; k < sizeof(conds) / sizeof(conds[0]) && cond == NULL; k++) cond = chat_find(tmpl, len, conds[k]);
    /* Any other test of the first message (Qwen2.5's "== 'system'" with the default in an else
     * branch) is a default-system block of a shape not read here: refused, not rendered without it. */
    if (cond == NULL && chat_find(tmpl, len, "messages[0]") != NULL) return AX_OK;
    if (cond != NULL) {
        /* the default system text: the first {{ 'literal' }} of that if-block */
        const char *end = tmpl + len;
        const char *block_end = chat_find(cond, (size_t)(end - cond), "{% endif %}");
        const char *expr = chat_find(cond, (size_t)(end - cond), "{{");
        if (block_end == NULL || expr == NULL || expr > block_end) return AX_OK; /* unknown shape: unsupported */
        const char *q = expr + 2;
        while (q < block_end && *q == ' ') q++;
        if (q >= block_end || (*q != '\'' && *q != '"')) return AX_OK;
        if (!chat_read_literal(q, block_end, &tok->chat_default_system, &tok->chat_default_system_len)) {
            return AX_OK;
        }
    }
    tok->chat_kind = LLM_CHAT_CHATML;
    return AX_OK;
}

typedef struct chat_out {
    char *text;
    size_t capacity, len;
} chat_out;

static void chat_put(chat_out *o, const char *s, size_t n) {
    if (o->len < o->capacity) memcpy(o->text + o->len, s, n < o->capacity - o->len ? n : o->capacity - o->len);
    o->len += n;
}

static void chat_puts(chat_out *o, const char *s) { chat_put(o, s, strlen(s)); }

/* The messages and the template, as both chat functions take them. */
static ax_status chat_check(const llm_tokenizer *tok, const ax_llm_chat_message *messages, int64_t n) {
    if (n < 0) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "messages: n %lld < 0", (long long)n);
    if (messages == NULL && n > 0) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "messages is NULL with n %lld", (long long)n);
    for (int64_t i = 0; i < n; i++) {
        if (messages[i].role == NULL || messages[i].content == NULL) {
            return ax_set_error(AX_ERR_INVALID_ARGUMENT, "messages[%lld]: %s is NULL", (long long)i,
                                messages[i].role == NULL ? "role" : "content");
        }
    }
    if (tok->chat_kind != LLM_CHAT_CHATML) {
        return ax_set_error(AX_ERR_UNSUPPORTED, "chat: the model's tokenizer.chat_template is missing or not ChatML "
                                                "(a template with \"<|im_start|>\"); Axial renders only ChatML");
    }
    return AX_OK;
}

ax_status llm_tokenizer_chat_apply(const llm_tokenizer *tok, const ax_llm_chat_message *messages, int64_t n,
                                   int add_generation_prompt, char *text, size_t capacity, size_t *len) {
    if (tok == NULL || len == NULL)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "chat: tokenizer and len must not be NULL");
    *len = 0;
    if (text == NULL && capacity > 0)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "text is NULL with capacity %zu", capacity);
    AX_CHECK(chat_check(tok, messages, n));
    chat_out o = {text, capacity, 0};
    if (n > 0 && tok->chat_default_system != NULL && strcmp(messages[0].role, "system") != 0) {
        chat_put(&o, tok->chat_default_system, tok->chat_default_system_len);
    }
    for (int64_t i = 0; i < n; i++) {
        chat_puts(&o, "<|im_start|>");
        chat_puts(&o, messages[i].role);
        chat_puts(&o, "\n");
        chat_puts(&o, messages[i].content);
        chat_puts(&o, "<|im_end|>\n");
    }
    if (add_generation_prompt) chat_puts(&o, "<|im_start|>assistant\n");
    *len = o.len;
    if (o.len < capacity) {
        text[o.len] = '\0';
        return AX_OK;
    }
    return ax_set_error(AX_ERR_INVALID_ARGUMENT, "text: capacity %zu <= %zu bytes needed (with the NUL, %zu)", capacity,
                        o.len, o.len + 1);
}

/* ---- the conversation as token ids ----
 * The template's own markup (the default system chunk, <|im_start|>, <|im_end|>\n, the generation
 * prompt) is tokenized with special-token parsing; each message's "ROLE\nCONTENT" with the caller's
 * choice (parse_content). Special-token text splits a text into fragments before BPE, and those are
 * exactly the fragments of the rendered conversation, so without special text in the messages the
 * ids equal tokenize(chat_apply(...)) with parsing on. */

typedef struct chat_ids {
    const llm_tokenizer *tok;
    int32_t *tokens;
    int64_t capacity, count;
} chat_ids;

static ax_status chat_ids_put(chat_ids *c, const char *text, size_t len, int flags) {
    const int64_t room = c->capacity > c->count ? c->capacity - c->count : 0;
    int64_t n = 0;
    int32_t *at = room > 0 ? c->tokens + c->count : NULL;
    const ax_status st = llm_tokenizer_encode(c->tok, text, len, flags, at, room, &n);
    /* Past the capacity encode still counts (and writes the first `room`): keep counting. */
    if (st != AX_OK && n <= room) return st;
    c->count += n;
    return AX_OK;
}

static void chat_ids_emit(chat_ids *c, int32_t id) {
    if (c->count < c->capacity) c->tokens[c->count] = id;
    c->count++;
}

ax_status llm_tokenizer_chat_encode(const llm_tokenizer *tok, const ax_llm_chat_message *messages, int64_t n,
                                    int add_generation_prompt, int flags, int32_t *tokens, int64_t capacity,
                                    int64_t *n_tokens) {
    if (tok == NULL || n_tokens == NULL)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "chat: tokenizer and n_tokens must not be NULL");
    *n_tokens = 0;
    if (capacity < 0) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "tokens: capacity %lld < 0", (long long)capacity);
    if (tokens == NULL && capacity > 0)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "tokens is NULL with capacity %lld", (long long)capacity);
    AX_CHECK(chat_check(tok, messages, n));
    const int special = AX_LLM_TOKENIZE_PARSE_SPECIAL;
    const int content = flags & AX_LLM_TOKENIZE_PARSE_SPECIAL;
    chat_ids c = {tok, tokens, capacity, 0};
    if ((flags & AX_LLM_TOKENIZE_ADD_SPECIAL) && llm_tokenizer_add_bos(tok)) chat_ids_emit(&c, tok->bos);
    char *line = NULL;
    size_t line_cap = 0;
    ax_status st = AX_OK;
    if (n > 0 && tok->chat_default_system != NULL && strcmp(messages[0].role, "system") != 0)
        st = chat_ids_put(&c, tok->chat_default_system, tok->chat_default_system_len, special);
    for (int64_t i = 0; i < n && st == AX_OK; i++) {
        const size_t role = strlen(messages[i].role), body = strlen(messages[i].content);
        if (role + body + 2 > line_cap) {
            char *grown = realloc(line, role + body + 2);
            if (grown == NULL) {
                st = ax_set_error(AX_ERR_OUT_OF_MEMORY, "messages[%lld]: %zu bytes", (long long)i, role + body + 2);
                break;
            }
            line = grown, line_cap = role + body + 2;
        }
        memcpy(line, messages[i].role, role);
        line[role] = '\n';
        memcpy(line + role + 1, messages[i].content, body);
        st = chat_ids_put(&c, "<|im_start|>", 12, special);
        if (st == AX_OK) st = chat_ids_put(&c, line, role + 1 + body, content);
        if (st == AX_OK) st = chat_ids_put(&c, "<|im_end|>\n", 11, special);
    }
    free(line);
    if (st == AX_OK && add_generation_prompt) st = chat_ids_put(&c, "<|im_start|>assistant\n", 22, special);
    if (st == AX_OK && (flags & AX_LLM_TOKENIZE_ADD_SPECIAL) && llm_tokenizer_add_eos(tok)) chat_ids_emit(&c, tok->eos);
    if (st != AX_OK) return st;
    *n_tokens = c.count;
    if (c.count > capacity)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "tokens: capacity %lld < %lld needed", (long long)capacity,
                            (long long)c.count);
    return AX_OK;
}
