/*
 * tokenizer_chat.c — rendering a conversation with a ChatML template that chat_template.c accepted:
 * as text (ax_llm_chat_apply) and as token ids with the messages kept apart from the markup
 * (ax_llm_chat_tokenize).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "llm/tokenizer_internal.h"

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
static ax_status chat_check(const llm_tokenizer *tok, const ax_llm_chat_message *messages, int64_t n,
                            int add_generation_prompt) {
    if (n < 0) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "messages: n %lld < 0", (long long)n);
    if (messages == NULL && n > 0) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "messages is NULL with n %lld", (long long)n);
    for (int64_t i = 0; i < n; i++) {
        if (messages[i].role == NULL || messages[i].content == NULL) {
            return ax_set_error(AX_ERR_INVALID_ARGUMENT, "messages[%lld]: %s is NULL", (long long)i,
                                messages[i].role == NULL ? "role" : "content");
        }
    }
    if (tok->chat_kind == LLM_CHAT_CHATML && add_generation_prompt && !tok->chat_generation_prompt)
        return ax_set_error(AX_ERR_UNSUPPORTED, "add_generation_prompt: the model's chat template has no "
                                                "{%% if add_generation_prompt %%} block");
    if (tok->chat_kind == LLM_CHAT_CHATML) return AX_OK;
    if (tok->chat_refusal == NULL)
        return ax_set_error(AX_ERR_UNSUPPORTED, "chat: the model has no tokenizer.chat_template");
    if (tok->chat_refusal_at == LLM_CHAT_REFUSAL_VOCAB)
        return ax_set_error(AX_ERR_UNSUPPORTED, "chat: tokenizer.chat_template is ChatML, but %s", tok->chat_refusal);
    if (tok->chat_refusal_at < 0)
        return ax_set_error(AX_ERR_UNSUPPORTED, "chat: tokenizer.chat_template is not the ChatML template Axial "
                                                "renders (at its end: %s)", tok->chat_refusal);
    return ax_set_error(AX_ERR_UNSUPPORTED, "chat: tokenizer.chat_template is not the ChatML template Axial renders "
                                            "(byte %lld: %s)", (long long)tok->chat_refusal_at, tok->chat_refusal);
}

ax_status llm_tokenizer_chat_apply(const llm_tokenizer *tok, const ax_llm_chat_message *messages, int64_t n,
                                   int add_generation_prompt, char *text, size_t capacity, size_t *len) {
    if (tok == NULL || len == NULL)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "chat: tokenizer and len must not be NULL");
    *len = 0;
    if (text == NULL && capacity > 0)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "text is NULL with capacity %zu", capacity);
    AX_CHECK(chat_check(tok, messages, n, add_generation_prompt));
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
    AX_CHECK(chat_check(tok, messages, n, add_generation_prompt));
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
