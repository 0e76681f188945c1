/*
 * tokenizer.h — the byte-level BPE tokenizer of GPT-2-family GGUF models (internal). Built from the
 * GGUF metadata (tokenizer.ggml.*); the public face is the ax_llm_tokenize family in llm.h, which
 * forwards here through the model's tokenizer.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_LLM_TOKENIZER_H
#define AXIAL_LLM_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "axial/gguf.h"
#include "axial/llm.h"

typedef struct llm_tokenizer llm_tokenizer;

/* Builds the tokenizer from g's metadata: tokenizer.ggml.model must be "gpt2" (byte-level BPE),
 * tokenizer.ggml.pre one of the pre-tokenizers supported (at least "smollm"; others AX_ERR_UNSUPPORTED
 * naming it), tokens / merges / token_type arrays, bos/eos/eot/unknown/padding ids, add_bos_token /
 * add_eos_token, tokenizer.chat_template. `file` names the file in messages. Errors:
 * AX_ERR_FORMAT (a missing or malformed key, naming it), AX_ERR_UNSUPPORTED, AX_ERR_OUT_OF_MEMORY. */
ax_status llm_tokenizer_create(const ax_gguf *g, const char *file, llm_tokenizer **out);
void llm_tokenizer_free(llm_tokenizer *tok);

int32_t llm_tokenizer_vocab_size(const llm_tokenizer *tok);
int32_t llm_tokenizer_bos(const llm_tokenizer *tok);   /* -1 if none */
int32_t llm_tokenizer_eos(const llm_tokenizer *tok);   /* -1 if none */
int llm_tokenizer_add_bos(const llm_tokenizer *tok);
int llm_tokenizer_add_eos(const llm_tokenizer *tok);

/* The same contracts as ax_llm_tokenize, ax_llm_detokenize, ax_llm_token_text,
 * ax_llm_token_is_control, ax_llm_token_is_end and ax_llm_chat_apply (llm.h). */
ax_status llm_tokenizer_encode(const llm_tokenizer *tok, const char *text, size_t len, int flags,
                               int32_t *tokens, int64_t capacity, int64_t *n_tokens);
ax_status llm_tokenizer_decode(const llm_tokenizer *tok, const int32_t *tokens, int64_t n_tokens, int flags,
                               char *text, size_t capacity, size_t *len);
const char *llm_tokenizer_token_text(const llm_tokenizer *tok, int32_t token, size_t *len);
int llm_tokenizer_is_control(const llm_tokenizer *tok, int32_t token);
int llm_tokenizer_is_end(const llm_tokenizer *tok, int32_t token);
/* ax_llm_chat_tokenize (llm.h) on a tokenizer. */
ax_status llm_tokenizer_chat_encode(const llm_tokenizer *tok, const ax_llm_chat_message *messages, int64_t n,
                                    int add_generation_prompt, int flags, int32_t *tokens, int64_t capacity,
                                    int64_t *n_tokens);
ax_status llm_tokenizer_chat_apply(const llm_tokenizer *tok, const ax_llm_chat_message *messages, int64_t n,
                                   int add_generation_prompt, char *text, size_t capacity, size_t *len);

#endif /* AXIAL_LLM_TOKENIZER_H */
