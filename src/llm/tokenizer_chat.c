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

ax_status llm_tokenizer_chat_apply(const llm_tokenizer *tok, const ax_llm_chat_message *messages, int64_t n,
                                   int add_generation_prompt, char *text, size_t capacity, size_t *len) {
    if (tok == NULL || len == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "chat: tokenizer and len must not be NULL");
    *len = 0;
    if (n < 0) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "messages: n %lld < 0", (long long)n);
    if (messages == NULL && n > 0) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "messages is NULL with n %lld", (long long)n);
    if (text == NULL && capacity > 0) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "text is NULL with capacity %zu", capacity);
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
