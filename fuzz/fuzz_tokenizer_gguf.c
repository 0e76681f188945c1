/*
 * fuzz_tokenizer_gguf.c — libFuzzer target for building a tokenizer from a GGUF file's metadata
 * (src/llm/tokenizer.c: the vocabulary, token types, merges, special ids, the chat template) and
 * using it: the input is a whole GGUF file. A file the reader or the builder refuses must be refused
 * with an error; one they accept must encode, decode and render a chat without a fault, and the ids
 * it encodes must decode (they index the vocabulary it built). fuzz_tokenizer varies the text over a
 * fixed vocabulary; this varies the vocabulary.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_parsers.h"
#include "llm/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ax_gguf *g = NULL;
    if (ax_gguf_open_memory(data, size, "fuzz.gguf", &g) != AX_OK) {
        if (g != NULL) __builtin_trap();
        return 0;
    }
    llm_tokenizer *tok = NULL;
    const ax_status made = llm_tokenizer_create(g, "fuzz.gguf", &tok);
    ax_gguf_close(g); /* the tokenizer keeps nothing of the file */
    if (made != AX_OK) {
        if (tok != NULL) __builtin_trap();
        return 0;
    }
    static const char text[] = "<|im_start|>user\nHello, world! ab 123 \xce\xb1\xff<|im_end|>\n";
    const int flags = AX_LLM_TOKENIZE_ADD_SPECIAL | AX_LLM_TOKENIZE_PARSE_SPECIAL;
    int32_t ids[512];
    int64_t n = 0;
    const ax_status enc = llm_tokenizer_encode(tok, text, sizeof text - 1, flags, ids, 512, &n);
    if (enc == AX_OK) {
        char back[4096];
        size_t len = 0;
        const ax_status dec = llm_tokenizer_decode(tok, ids, n, 0, back, sizeof back, &len);
        if (dec != AX_OK && dec != AX_ERR_INVALID_ARGUMENT) __builtin_trap(); /* a too-small buffer only */
    }
    const ax_llm_chat_message conv[2] = {{"user", "Hi!"}, {"assistant", "ab"}};
    char rendered[4096];
    size_t rlen = 0;
    (void)llm_tokenizer_chat_apply(tok, conv, 2, 1, rendered, sizeof rendered, &rlen);
    llm_tokenizer_free(tok);
    return 0;
}
