/*
 * fuzz_tokenizer.c — libFuzzer target for the byte-level BPE tokenizer (src/llm/tokenizer.h): the
 * input's first byte picks the flags, the rest is text (any bytes, invalid UTF-8 included). The text
 * is encoded with the tiny vocabulary of tests/tokenizer_tiny_gguf.h, whose 256 byte tokens cover
 * every byte, so decoding must give back exactly the text; a short output buffer must report the
 * same count and write the same first ids.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

#include "../tests/tokenizer_tiny_gguf.h"
#include "fuzz_parsers.h"
#include "llm/tokenizer.h"

static tiny_buf fuzz_file;
static llm_tokenizer *fuzz_tok;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (fuzz_tok == NULL) {
        ax_gguf *g = NULL;
        tiny_gguf(&fuzz_file, NULL);
        if (ax_gguf_open_memory(fuzz_file.data, fuzz_file.len, "tiny.gguf", &g) != AX_OK) __builtin_trap();
        if (llm_tokenizer_create(g, "tiny.gguf", &fuzz_tok) != AX_OK) __builtin_trap();
        ax_gguf_close(g);
    }
    if (size == 0) return 0;
    const int flags = data[0] & (AX_LLM_TOKENIZE_ADD_SPECIAL | AX_LLM_TOKENIZE_PARSE_SPECIAL);
    const char *text = (const char *)data + 1;
    const size_t len = size - 1;
    int64_t n = 0;
    if (llm_tokenizer_encode(fuzz_tok, text, len, flags, NULL, 0, &n) != (n > 0 ? AX_ERR_INVALID_ARGUMENT : AX_OK)) {
        __builtin_trap();
    }
    int32_t *ids = malloc((size_t)(n + 1) * sizeof(int32_t));
    int64_t n2 = -1;
    if (ids == NULL || llm_tokenizer_encode(fuzz_tok, text, len, flags, ids, n, &n2) != AX_OK || n2 != n) __builtin_trap();
    if (n > 1) {
        int32_t *head = malloc((size_t)(n / 2) * sizeof(int32_t));
        if (llm_tokenizer_encode(fuzz_tok, text, len, flags, head, n / 2, &n2) != AX_ERR_INVALID_ARGUMENT || n2 != n ||
            memcmp(head, ids, (size_t)(n / 2) * sizeof(int32_t)) != 0) {
            __builtin_trap();
        }
        free(head);
    }
    /* ADD_SPECIAL adds BOS (the tiny file has no add_bos_token, so nothing); control tokens decode
     * to their text, so the round trip is exact with or without PARSE_SPECIAL */
    char *back = malloc(len + 1);
    size_t back_len = 0;
    if (back == NULL || llm_tokenizer_decode(fuzz_tok, ids, n, 0, back, len + 1, &back_len) != AX_OK ||
        back_len != len || memcmp(back, text, len) != 0) {
        __builtin_trap();
    }
    free(back);
    free(ids);
    return 0;
}
