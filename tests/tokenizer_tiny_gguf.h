/*
 * tokenizer_tiny_gguf.h — a tiny GGUF (version 3, no tensors) holding a byte-level BPE vocabulary,
 * written in memory, for tests/test_tokenizer_errors.c and fuzz/fuzz_tokenizer.c: three control
 * tokens, the 256 byte tokens in byte order, "ab" (merge "a b"), a ChatML template with a default
 * system message, BOS 1 and EOS 0. The "dups" variant appends "a" and "ab" again (ids N_TOKENS and
 * N_TOKENS + 1).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_TESTS_TOKENIZER_TINY_GGUF_H
#define AXIAL_TESTS_TOKENIZER_TINY_GGUF_H

#include <stdint.h>
#include <string.h>

#include "axial/gguf.h"


typedef struct tiny_buf {
    unsigned char data[16384];
    size_t len;
    uint64_t n_kv;
} tiny_buf;

static inline void tiny_put(tiny_buf *b, const void *p, size_t n) {
    memcpy(b->data + b->len, p, n);
    b->len += n;
}
static inline void tiny_put_u32(tiny_buf *b, uint32_t v) { tiny_put(b, &v, 4); }
static inline void tiny_put_u64(tiny_buf *b, uint64_t v) { tiny_put(b, &v, 8); }
static inline void tiny_put_str(tiny_buf *b, const char *s, size_t n) {
    tiny_put_u64(b, n);
    tiny_put(b, s, n);
}
static inline void tiny_kv_string(tiny_buf *b, const char *key, const char *value) {
    tiny_put_str(b, key, strlen(key));
    tiny_put_u32(b, AX_GGUF_STRING);
    tiny_put_str(b, value, strlen(value));
    b->n_kv++;
}
static inline void tiny_kv_u32(tiny_buf *b, const char *key, uint32_t value) {
    tiny_put_str(b, key, strlen(key));
    tiny_put_u32(b, AX_GGUF_UINT32);
    tiny_put_u32(b, value);
    b->n_kv++;
}

/* GPT-2's byte character for byte b, as UTF-8 (at most 2 bytes here). */
static inline size_t tiny_byte_char(int b, char *out) {
    int table[256];
    int next = 256;
    for (int i = 0; i < 256; i++) {
        const int keep = (i >= 33 && i <= 126) || (i >= 161 && i <= 172) || i >= 174;
        table[i] = keep ? i : next++;
    }
    const int cp = table[b];
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
}

#define N_SPECIAL 3
#define N_TOKENS (N_SPECIAL + 256 + 1)
#define ID_AB (N_SPECIAL + 256)

static const char *const tiny_specials[N_SPECIAL] = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
static const char tiny_chatml[] =
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\\nDefault.<|im_end|>\\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/* skip: a key left out ("model", "tokens"), a variant ("u64types", "dups", "plain_markup": the three
 * specials typed normal), or NULL. */
static inline size_t tiny_gguf(tiny_buf *b, const char *skip) {
    tiny_buf kv = {{0}, 0, 0};
    const int dups = skip && strcmp(skip, "dups") == 0;
    const uint64_t n_tokens = N_TOKENS + (dups ? 2 : 0);
    if (!skip || strcmp(skip, "model") != 0) tiny_kv_string(&kv, "tokenizer.ggml.model", "gpt2");
    tiny_kv_string(&kv, "tokenizer.ggml.pre", "smollm");
    if (!skip || strcmp(skip, "tokens") != 0) {
        tiny_put_str(&kv, "tokenizer.ggml.tokens", 21);
        tiny_put_u32(&kv, AX_GGUF_ARRAY);
        tiny_put_u32(&kv, AX_GGUF_STRING);
        tiny_put_u64(&kv, n_tokens);
        for (int i = 0; i < N_SPECIAL; i++) tiny_put_str(&kv, tiny_specials[i], strlen(tiny_specials[i]));
        for (int i = 0; i < 256; i++) {
            char c[2];
            tiny_put_str(&kv, c, tiny_byte_char(i, c));
        }
        tiny_put_str(&kv, "ab", 2);
        if (dups) tiny_put_str(&kv, "a", 1), tiny_put_str(&kv, "ab", 2);
        kv.n_kv++;
    }
    const int u64_types = skip && strcmp(skip, "u64types") == 0; /* uint64 types, the first past INT64_MAX */
    tiny_put_str(&kv, "tokenizer.ggml.token_type", 25);
    tiny_put_u32(&kv, AX_GGUF_ARRAY);
    tiny_put_u32(&kv, u64_types ? AX_GGUF_UINT64 : AX_GGUF_INT32);
    tiny_put_u64(&kv, n_tokens);
    for (int i = 0; i < (int)n_tokens; i++) {
        if (u64_types) tiny_put_u64(&kv, i == 0 ? 0x8000000000000003ull : (i < N_SPECIAL ? 3 : 1));
        else tiny_put_u32(&kv, i < N_SPECIAL && !(skip && strcmp(skip, "plain_markup") == 0) ? 3 : 1);
    }
    kv.n_kv++;
    tiny_put_str(&kv, "tokenizer.ggml.merges", 21);
    tiny_put_u32(&kv, AX_GGUF_ARRAY);
    tiny_put_u32(&kv, AX_GGUF_STRING);
    tiny_put_u64(&kv, 1);
    tiny_put_str(&kv, "a b", 3);
    kv.n_kv++;
    tiny_kv_u32(&kv, "tokenizer.ggml.bos_token_id", 1);
    tiny_kv_u32(&kv, "tokenizer.ggml.eos_token_id", 0);
    tiny_kv_string(&kv, "tokenizer.chat_template", tiny_chatml);
    b->len = 0;
    tiny_put(b, "GGUF", 4);
    tiny_put_u32(b, 3);
    tiny_put_u64(b, 0);
    tiny_put_u64(b, kv.n_kv);
    tiny_put(b, kv.data, kv.len);
    return b->len;
}

#endif /* AXIAL_TESTS_TOKENIZER_TINY_GGUF_H */
