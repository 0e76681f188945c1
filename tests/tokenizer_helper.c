/*
 * tokenizer_helper.c — a small command the Python check (tests/python/test_tokenizer_hf.py) drives: it
 * builds the byte-level BPE tokenizer (src/llm/tokenizer.h) from a GGUF file and runs it over files of
 * length-prefixed records, so Hugging Face tokenizers and jinja2 can judge what it writes. Not a test
 * on its own. Integers are little-endian.
 *
 *   tokenizer_helper create GGUF                  prints "OK" or "STATUS: message" (exit 0 either way)
 *   tokenizer_helper info GGUF                    prints "n_vocab bos eos add_bos add_eos" and, per
 *                                                 control/end token, "id is_control is_end"
 *   tokenizer_helper encode GGUF IN OUT           IN: records (u32 flags, u64 len, len bytes);
 *                                                 OUT: per record (i32 status, i64 n, n x i32 ids,
 *                                                 u64 m, m bytes = decode(ids, flags 0))
 *   tokenizer_helper decode GGUF IN OUT           IN: records (u32 flags, u64 n, n x i32 ids);
 *                                                 OUT: per record (i32 status, u64 m, m bytes)
 *   tokenizer_helper chat GGUF IN OUT             IN: records (u32 add_generation_prompt, u32 n,
 *                                                 n x (u64 len, role, u64 len, content));
 *                                                 OUT: per record (i32 status, u64 m, m bytes)
 *
 * encode prints the wall time of the encoding calls alone on stderr. Exit 0 on success, 2 for usage,
 * file or open errors.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "axial/gguf.h"
#include "llm/tokenizer.h"

typedef struct reader {
    const unsigned char *data;
    size_t len, at;
} reader;

static int read_bytes(reader *r, void *out, size_t n) {
    if (n > r->len - r->at) return 0;
    memcpy(out, r->data + r->at, n);
    r->at += n;
    return 1;
}

static unsigned char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = malloc(cap);
    for (;;) {
        if (buf == NULL) break;
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break;
        cap *= 2;
        unsigned char *grown = realloc(buf, cap);
        if (grown == NULL) free(buf);
        buf = grown;
    }
    fclose(f);
    *len = n;
    return buf;
}

static void write_status(FILE *out, ax_status st) {
    const int32_t v = (int32_t)st;
    fwrite(&v, 4, 1, out);
}

static void write_text(FILE *out, const char *text, uint64_t len) {
    fwrite(&len, 8, 1, out);
    if (len > 0) fwrite(text, 1, len, out);
}

/* A text of unknown length: ask for the size, then fill. */
static ax_status decode_all(const llm_tokenizer *tok, const int32_t *ids, int64_t n, int flags, char **text, size_t *len) {
    char probe[1];
    ax_status st = llm_tokenizer_decode(tok, ids, n, flags, probe, sizeof probe, len);
    if (st == AX_OK || *len == 0) return st; /* empty, or a real argument error (a bad id) */
    *text = malloc(*len + 1);
    return llm_tokenizer_decode(tok, ids, n, flags, *text, *len + 1, len);
}

static int run_encode(const llm_tokenizer *tok, reader *in, FILE *out) {
    double seconds = 0;
    int64_t texts = 0;
    while (in->at < in->len) {
        uint32_t flags;
        uint64_t len;
        if (!read_bytes(in, &flags, 4) || !read_bytes(in, &len, 8) || len > in->len - in->at) return 2;
        const char *text = (const char *)in->data + in->at;
        in->at += len;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        int64_t n = 0;
        ax_status st = llm_tokenizer_encode(tok, text, len, (int)flags, NULL, 0, &n);
        int32_t *ids = malloc((size_t)(n > 0 ? n : 1) * sizeof(int32_t));
        if (st == AX_ERR_INVALID_ARGUMENT && n > 0) st = llm_tokenizer_encode(tok, text, len, (int)flags, ids, n, &n);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        seconds += (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
        texts++;
        write_status(out, st);
        if (st != AX_OK) n = 0;
        fwrite(&n, 8, 1, out);
        fwrite(ids, 4, (size_t)n, out);
        char *decoded = NULL;
        size_t dlen = 0;
        if (st == AX_OK && decode_all(tok, ids, n, 0, &decoded, &dlen) != AX_OK) dlen = 0;
        write_text(out, decoded, dlen);
        free(decoded);
        free(ids);
    }
    fprintf(stderr, "encoded %lld texts in %.3f s\n", (long long)texts, seconds);
    return 0;
}

static int run_decode(const llm_tokenizer *tok, reader *in, FILE *out) {
    while (in->at < in->len) {
        uint32_t flags;
        uint64_t n;
        if (!read_bytes(in, &flags, 4) || !read_bytes(in, &n, 8) || n > (in->len - in->at) / 4) return 2;
        int32_t *ids = malloc((size_t)(n > 0 ? n : 1) * sizeof(int32_t));
        read_bytes(in, ids, (size_t)n * 4);
        char *text = NULL;
        size_t len = 0;
        const ax_status st = decode_all(tok, ids, (int64_t)n, (int)flags, &text, &len);
        write_status(out, st);
        write_text(out, text, st == AX_OK ? len : 0);
        free(text);
        free(ids);
    }
    return 0;
}

static char *read_string(reader *in) {
    uint64_t len;
    if (!read_bytes(in, &len, 8) || len > in->len - in->at) return NULL;
    char *s = malloc(len + 1);
    read_bytes(in, s, len);
    s[len] = '\0';
    return s;
}

static int run_chat(const llm_tokenizer *tok, reader *in, FILE *out) {
    while (in->at < in->len) {
        uint32_t add_gen, n;
        if (!read_bytes(in, &add_gen, 4) || !read_bytes(in, &n, 4)) return 2;
        ax_llm_chat_message *msgs = calloc(n > 0 ? n : 1, sizeof(*msgs));
        for (uint32_t i = 0; i < n; i++) {
            msgs[i].role = read_string(in);
            msgs[i].content = read_string(in);
            if (msgs[i].role == NULL || msgs[i].content == NULL) return 2;
        }
        size_t len = 0;
        ax_status st = llm_tokenizer_chat_apply(tok, msgs, n, (int)add_gen, NULL, 0, &len);
        char *text = NULL;
        if (st == AX_ERR_INVALID_ARGUMENT) {
            text = malloc(len + 1);
            st = llm_tokenizer_chat_apply(tok, msgs, n, (int)add_gen, text, len + 1, &len);
        }
        write_status(out, st);
        write_text(out, text, st == AX_OK ? len : 0);
        if (st != AX_OK) fprintf(stderr, "chat: %s: %s\n", ax_status_string(st), ax_last_error());
        free(text);
        for (uint32_t i = 0; i < n; i++) {
            free((char *)msgs[i].role);
            free((char *)msgs[i].content);
        }
        free(msgs);
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: tokenizer_helper create|info|encode|decode|chat GGUF [IN OUT]\n");
        return 2;
    }
    const char *cmd = argv[1];
    ax_gguf *g = NULL;
    ax_status st = ax_gguf_open(argv[2], &g);
    llm_tokenizer *tok = NULL;
    if (st == AX_OK) st = llm_tokenizer_create(g, argv[2], &tok);
    if (strcmp(cmd, "create") == 0) {
        if (st == AX_OK) {
            printf("OK\n");
        } else {
            printf("%s: %s\n", ax_status_string(st), ax_last_error());
        }
        llm_tokenizer_free(tok);
        ax_gguf_close(g);
        return 0;
    }
    if (st != AX_OK) {
        fprintf(stderr, "%s: %s\n", ax_status_string(st), ax_last_error());
        ax_gguf_close(g);
        return 2;
    }
    /* The tokenizer owns copies of what it needs: closing the file first proves it. */
    ax_gguf_close(g);
    int rc = 2;
    if (strcmp(cmd, "info") == 0) {
        printf("%d %d %d %d %d\n", llm_tokenizer_vocab_size(tok), llm_tokenizer_bos(tok), llm_tokenizer_eos(tok),
               llm_tokenizer_add_bos(tok), llm_tokenizer_add_eos(tok));
        for (int32_t t = -1; t <= llm_tokenizer_vocab_size(tok); t++) {
            const int c = llm_tokenizer_is_control(tok, t), e = llm_tokenizer_is_end(tok, t);
            if (c || e) printf("%d %d %d\n", t, c, e);
        }
        rc = 0;
    } else if (argc == 5) {
        size_t len = 0;
        unsigned char *data = read_file(argv[3], &len);
        FILE *out = fopen(argv[4], "wb");
        if (data != NULL && out != NULL) {
            reader in = {data, len, 0};
            if (strcmp(cmd, "encode") == 0) rc = run_encode(tok, &in, out);
            if (strcmp(cmd, "decode") == 0) rc = run_decode(tok, &in, out);
            if (strcmp(cmd, "chat") == 0) rc = run_chat(tok, &in, out);
        }
        if (out != NULL) fclose(out);
        free(data);
    }
    llm_tokenizer_free(tok);
    if (rc == 2) fprintf(stderr, "tokenizer_helper: bad command, arguments or input\n");
    return rc;
}
