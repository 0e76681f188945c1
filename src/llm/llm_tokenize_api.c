/*
 * llm_tokenize_api.c — the tokenizer functions of llm.h: argument checks on the model, then the
 * model's llm_tokenizer (tokenizer.h) does the work.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "axial/llm.h"
#include "core/internal.h"
#include "llm/model_internal.h"
#include "llm/tokenizer.h"

ax_status ax_llm_tokenize(const ax_llm_model *model, const char *text, size_t len, int flags, int32_t *tokens,
                          int64_t capacity, int64_t *n_tokens) {
    if (n_tokens != NULL) *n_tokens = 0; /* llm.h: 0 after an error */
    if (model == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "tokenize: model is NULL");
    return llm_tokenizer_encode(llm_model_tokenizer(model), text, len, flags, tokens, capacity, n_tokens);
}

ax_status ax_llm_detokenize(const ax_llm_model *model, const int32_t *tokens, int64_t n_tokens, int flags, char *text,
                            size_t capacity, size_t *len) {
    if (model == NULL) {
        if (len != NULL) *len = 0;
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "detokenize: model is NULL");
    }
    return llm_tokenizer_decode(llm_model_tokenizer(model), tokens, n_tokens, flags, text, capacity, len);
}

const char *ax_llm_token_text(const ax_llm_model *model, int32_t token, size_t *len) {
    if (model == NULL) {
        if (len != NULL) *len = 0;
        return NULL;
    }
    return llm_tokenizer_token_text(llm_model_tokenizer(model), token, len);
}

int ax_llm_token_is_control(const ax_llm_model *model, int32_t token) {
    return model != NULL && llm_tokenizer_is_control(llm_model_tokenizer(model), token);
}

int ax_llm_token_is_end(const ax_llm_model *model, int32_t token) {
    return model != NULL && llm_tokenizer_is_end(llm_model_tokenizer(model), token);
}

ax_status ax_llm_chat_apply(const ax_llm_model *model, const ax_llm_chat_message *messages, int64_t n,
                            int add_generation_prompt, char *text, size_t capacity, size_t *len) {
    if (model == NULL) {
        if (len != NULL) *len = 0;
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "chat: model is NULL");
    }
    return llm_tokenizer_chat_apply(llm_model_tokenizer(model), messages, n, add_generation_prompt, text, capacity, len);
}

ax_status ax_llm_chat_tokenize(const ax_llm_model *model, const ax_llm_chat_message *messages, int64_t n,
                               int add_generation_prompt, int flags, int32_t *tokens, int64_t capacity,
                               int64_t *n_tokens) {
    if (model == NULL) {
        if (n_tokens != NULL) *n_tokens = 0;
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "chat: model is NULL");
    }
    return llm_tokenizer_chat_encode(llm_model_tokenizer(model), messages, n, add_generation_prompt, flags, tokens,
                                     capacity, n_tokens);
}
