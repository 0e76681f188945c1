/*
 * tokenizer_internal.h — the llm_tokenizer's fields, shared by the files that implement tokenizer.h:
 * tokenizer.c (building it from GGUF metadata, decoding), tokenizer_encode.c (special-token split,
 * pre-tokenizer, BPE), chat_template.c (reading the chat template) and tokenizer_chat.c (rendering it).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_LLM_TOKENIZER_INTERNAL_H
#define AXIAL_LLM_TOKENIZER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "llm/tokenizer.h"

/* GGUF token types (llama.cpp's numbering). */
enum { LLM_TOKEN_NORMAL = 1, LLM_TOKEN_UNKNOWN = 2, LLM_TOKEN_CONTROL = 3, LLM_TOKEN_USER_DEFINED = 4,
       LLM_TOKEN_UNUSED = 5, LLM_TOKEN_BYTE = 6 };

/* Pre-tokenizers (tokenizer.ggml.pre). */
typedef enum llm_pre_type {
    LLM_PRE_GPT2 = 0,   /* "gpt-2": the GPT-2 regex alone (HF ByteLevel with use_regex) */
    LLM_PRE_SMOLLM = 1  /* "smollm": every \p{N} its own piece (HF Digits individual_digits), then GPT-2 */
} llm_pre_type;

/* One merge rule, keyed by the ids of its two parts: open addressing, key 0 marks an empty slot
 * (ids are stored + 1 so the pair (0, 0) has a key). */
typedef struct llm_merge_slot {
    uint64_t key;   /* (left + 1) << 32 | (right + 1) */
    int32_t rank;   /* the rule's line in tokenizer.ggml.merges: lower merges first */
    int32_t result; /* the id of the merged token */
} llm_merge_slot;

typedef enum llm_chat_kind {
    LLM_CHAT_NONE = 0,  /* no tokenizer.chat_template, or one Axial does not render */
    LLM_CHAT_CHATML = 1
} llm_chat_kind;

#define LLM_CHAT_REFUSAL_VOCAB (-2)

struct llm_tokenizer {
    int32_t n_vocab;
    int32_t bos, eos, eot, unk, pad; /* -1 when the file names none */
    int32_t im_end;                  /* the id of "<|im_end|>", or -1 */
    int32_t endoftext;               /* the id of a control token "<|endoftext|>", or -1 */
    int add_bos, add_eos;
    llm_pre_type pre;
    uint8_t *types;       /* (n_vocab) GGUF token type, clamped to 0..255 */
    char *text;           /* the token strings as stored, back to back */
    int64_t *text_off;    /* (n_vocab + 1) */
    char *bytes;          /* what each token decodes to, back to back */
    int64_t *bytes_off;   /* (n_vocab + 1) */
    int32_t byte_token[256]; /* the id of each byte's one-character token, -1 when the vocab lacks it */
    llm_merge_slot *merges;
    uint64_t merge_mask;  /* slots - 1 (a power of two minus one) */
    int32_t *specials;    /* control and user-defined ids, longest text first */
    int32_t n_specials;
    uint8_t special_first[256]; /* 1 for a byte that starts some special's text */
    llm_chat_kind chat_kind;
    char *chat_default_system;  /* ChatML: the text the template puts first when no system message */
    size_t chat_default_system_len;
    int chat_generation_prompt; /* ChatML: the template has the {% if add_generation_prompt %} block */
    const char *chat_refusal;   /* a template that is not rendered: why (static text), else NULL */
    int64_t chat_refusal_at;    /* its byte offset in the template, -1 for its end, LLM_CHAT_REFUSAL_VOCAB for
                                   the vocabulary (the markup is not tokens of its own) */
};

/* The merge rule for (left, right), or NULL. */
const llm_merge_slot *llm_merge_find(const llm_tokenizer *tok, int32_t left, int32_t right);

/* Reads tokenizer.chat_template (chat_template.c): sets chat_kind, the default system text and the
 * generation prompt, or the reason the template is not rendered. AX_ERR_OUT_OF_MEMORY only. */
ax_status llm_chat_template_parse(llm_tokenizer *tok, const char *tmpl, size_t len);

#endif /* AXIAL_LLM_TOKENIZER_INTERNAL_H */
