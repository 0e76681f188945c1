/*
 * tokenizer_encode.c — text to token ids, in the order HF tokenizers applies its steps:
 *
 *   1. the text of user-defined tokens, and with PARSE_SPECIAL of control tokens too, is cut out
 *      first (llama.cpp skips only control and unknown tokens without it), leftmost
 *      match first and the longest at a position (HF's added-token split; llama.cpp's longest-first
 *      partition agrees whenever no special text overlaps another, as in every vocabulary we know);
 *   2. each other fragment is pre-tokenized: "smollm" isolates every \p{N} character (HF Digits with
 *      individual_digits), then the GPT-2 regex
 *          's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 *      cuts each piece between them; it is matched by hand below (one left-to-right pass, the
 *      lookahead reduced to "a whitespace run followed by a non-space gives up its last character");
 *   3. each piece's bytes become GPT-2's byte characters, i.e. their one-byte tokens, and
 *   4. BPE merges adjacent symbols, the pair of lowest rank first and the leftmost of equal ranks,
 *      with a heap of candidate pairs so a long piece costs O(n log n), not O(n^2).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "core/grow.h"
#include "llm/tokenizer_internal.h"
#include "llm/unicode.h"

typedef struct enc_pair {
    int32_t rank;
    int32_t pos;   /* index of the left symbol (symbols keep their index when they absorb the right) */
    int32_t left, right;
} enc_pair;

typedef struct enc_state {
    const llm_tokenizer *tok;
    int32_t *tokens;
    int64_t capacity;
    int64_t count;     /* ids produced, written or not */
    /* the characters of the text: code point, class, byte offset (n + 1 offsets) */
    uint32_t *cp;
    uint8_t *cls;
    int64_t *off;
    int64_t cp_cap, cls_cap, off_cap;
    /* BPE over one piece */
    int32_t *sym, *prev, *next;
    int64_t sym_cap, prev_cap, next_cap;
    enc_pair *heap;
    int64_t heap_cap, heap_len;
} enc_state;

static void enc_emit(enc_state *e, int32_t id) {
    if (e->count < e->capacity) e->tokens[e->count] = id;
    e->count++;
}

/* A byte whose character the vocabulary lacks (SmolLM2 has none for 0x04, 0x06, 0x13, 0x14, 0x16,
 * 0x1D and the bytes UTF-8 never uses) gives nothing, as in HF tokenizers' BPE without an unk_token;
 * the unknown token would put "<|endoftext|>" into the text. */
static void enc_emit_symbol(enc_state *e, int32_t id) {
    if (id >= 0) enc_emit(e, id);
}

static int enc_pair_less(const enc_pair *a, const enc_pair *b) {
    return a->rank != b->rank ? a->rank < b->rank : a->pos < b->pos;
}

static void enc_heap_push(enc_state *e, enc_pair p) {
    int64_t i = e->heap_len++;
    while (i > 0) {
        const int64_t parent = (i - 1) / 2;
        if (!enc_pair_less(&p, &e->heap[parent])) break;
        e->heap[i] = e->heap[parent];
        i = parent;
    }
    e->heap[i] = p;
}

static enc_pair enc_heap_pop(enc_state *e) {
    const enc_pair top = e->heap[0];
    const enc_pair last = e->heap[--e->heap_len];
    int64_t i = 0;
    for (;;) {
        int64_t child = 2 * i + 1;
        if (child >= e->heap_len) break;
        if (child + 1 < e->heap_len && enc_pair_less(&e->heap[child + 1], &e->heap[child])) child++;
        if (!enc_pair_less(&e->heap[child], &last)) break;
        e->heap[i] = e->heap[child];
        i = child;
    }
    if (e->heap_len > 0) e->heap[i] = last;
    return top;
}

static void enc_push_candidate(enc_state *e, int32_t pos) {
    if (pos < 0 || e->next[pos] < 0) return;
    const int32_t left = e->sym[pos], right = e->sym[e->next[pos]];
    if (left < 0 || right < 0) return;
    const llm_merge_slot *m = llm_merge_find(e->tok, left, right);
    if (m != NULL) enc_heap_push(e, (enc_pair){m->rank, pos, left, right});
}

static ax_status enc_bpe(enc_state *e, const unsigned char *p, int64_t n) {
    const llm_tokenizer *tok = e->tok;
    if (n == 1) {
        enc_emit_symbol(e, tok->byte_token[p[0]]);
        return AX_OK;
    }
    if (n > INT32_MAX / 3) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "text: a piece of %lld bytes is too long", (long long)n);
    AX_CHECK(ax_grow((void **)&e->sym, &e->sym_cap, n, sizeof(int32_t)));
    AX_CHECK(ax_grow((void **)&e->prev, &e->prev_cap, n, sizeof(int32_t)));
    AX_CHECK(ax_grow((void **)&e->next, &e->next_cap, n, sizeof(int32_t)));
    /* n - 1 pairs at first, and each merge pushes at most two */
    AX_CHECK(ax_grow((void **)&e->heap, &e->heap_cap, 3 * n, sizeof(enc_pair)));
    /* bytes without a token are left out before merging, so their neighbours meet (as in HF) */
    int32_t n_sym = 0;
    for (int64_t i = 0; i < n; i++) {
        if (tok->byte_token[p[i]] >= 0) e->sym[n_sym++] = tok->byte_token[p[i]];
    }
    if (n_sym == 0) return AX_OK;
    for (int32_t i = 0; i < n_sym; i++) {
        e->prev[i] = i - 1;
        e->next[i] = i + 1 < n_sym ? i + 1 : -1;
    }
    e->heap_len = 0;
    for (int32_t i = 0; i + 1 < n_sym; i++) enc_push_candidate(e, i);
    while (e->heap_len > 0) {
        const enc_pair top = enc_heap_pop(e);
        const int32_t right_pos = e->next[top.pos];
        /* stale entries: the left symbol was absorbed (sym -1 marks it) or either side changed */
        if (right_pos < 0 || e->sym[top.pos] != top.left || e->sym[right_pos] != top.right) continue;
        const llm_merge_slot *m = llm_merge_find(tok, top.left, top.right);
        e->sym[top.pos] = m->result;
        e->sym[right_pos] = -1;
        e->next[top.pos] = e->next[right_pos];
        if (e->next[right_pos] >= 0) e->prev[e->next[right_pos]] = top.pos;
        e->next[right_pos] = -1;
        enc_push_candidate(e, e->prev[top.pos]);
        enc_push_candidate(e, top.pos);
    }
    for (int32_t i = 0; i >= 0; i = e->next[i]) enc_emit_symbol(e, e->sym[i]);
    return AX_OK;
}

static ax_status enc_piece(enc_state *e, const char *text, int64_t first_char, int64_t end_char) {
    return enc_bpe(e, (const unsigned char *)text + e->off[first_char], e->off[end_char] - e->off[first_char]);
}

/* The GPT-2 regex over characters [a, b). */
static ax_status enc_gpt2_split(enc_state *e, const char *text, int64_t a, int64_t b) {
    const uint32_t *cp = e->cp;
    const uint8_t *cls = e->cls;
    int64_t i = a;
    while (i < b) {
        int64_t j;
        if (cp[i] == '\'' && i + 1 < b) {
            const uint32_t c1 = cp[i + 1], c2 = i + 2 < b ? cp[i + 2] : 0;
            if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') {
                AX_CHECK(enc_piece(e, text, i, i + 2));
                i += 2;
                continue;
            }
            if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) {
                AX_CHECK(enc_piece(e, text, i, i + 3));
                i += 3;
                continue;
            }
        }
        if (cls[i] != LLM_CP_SPACE || (cp[i] == ' ' && i + 1 < b && cls[i + 1] != LLM_CP_SPACE)) {
            /* ` ?\p{L}+`, ` ?\p{N}+` or ` ?[^\s\p{L}\p{N}]+`: an optional space, then one class's run */
            const int64_t start = i;
            if (cls[i] == LLM_CP_SPACE) i++;
            const uint8_t run = cls[i];
            for (j = i + 1; j < b && cls[j] == run; j++) {}
            AX_CHECK(enc_piece(e, text, start, j));
            i = j;
            continue;
        }
        for (j = i + 1; j < b && cls[j] == LLM_CP_SPACE; j++) {}
        /* `\s+(?!\S)` backs off one character before a non-space; a lone one is `\s+` */
        if (j < b && j - i >= 2) j--;
        else if (j < b) j = i + 1;
        AX_CHECK(enc_piece(e, text, i, j));
        i = j;
    }
    return AX_OK;
}

static ax_status enc_fragment(enc_state *e, const char *text, size_t begin, size_t end) {
    if (begin == end) return AX_OK;
    const int64_t n_bytes = (int64_t)(end - begin);
    AX_CHECK(ax_grow((void **)&e->cp, &e->cp_cap, n_bytes, sizeof(uint32_t)));
    AX_CHECK(ax_grow((void **)&e->cls, &e->cls_cap, n_bytes, sizeof(uint8_t)));
    AX_CHECK(ax_grow((void **)&e->off, &e->off_cap, n_bytes + 1, sizeof(int64_t)));
    const unsigned char *s = (const unsigned char *)text;
    int64_t n = 0;
    for (size_t at = begin; at < end;) {
        uint32_t c;
        const int len = llm_utf8_next(s + at, end - at, &c);
        e->cp[n] = c;
        e->cls[n] = (uint8_t)llm_cp_classify(c);
        e->off[n] = (int64_t)at;
        n++;
        at += (size_t)len;
    }
    e->off[n] = (int64_t)end;
    if (e->tok->pre == LLM_PRE_GPT2) return enc_gpt2_split(e, text, 0, n);
    int64_t start = 0;
    for (int64_t i = 0; i < n; i++) {
        if (e->cls[i] != LLM_CP_NUMBER) continue;
        AX_CHECK(enc_gpt2_split(e, text, start, i));
        AX_CHECK(enc_piece(e, text, i, i + 1));
        start = i + 1;
    }
    return enc_gpt2_split(e, text, start, n);
}

/* Cuts out special-token text, leftmost first; specials are sorted longest first, so the first
 * that matches at a position is the longest there. Control tokens only when `control`. */
static ax_status enc_split_specials(enc_state *e, const char *text, size_t len, int control) {
    const llm_tokenizer *tok = e->tok;
    size_t start = 0;
    for (size_t i = 0; i < len;) {
        if (!tok->special_first[(unsigned char)text[i]]) {
            i++;
            continue;
        }
        int32_t hit = -1;
        size_t hit_len = 0;
        for (int32_t k = 0; k < tok->n_specials; k++) {
            const int32_t id = tok->specials[k];
            if (!control && tok->types[id] == LLM_TOKEN_CONTROL) continue;
            const size_t n = (size_t)(tok->text_off[id + 1] - tok->text_off[id]);
            if (n <= len - i && memcmp(text + i, tok->text + tok->text_off[id], n) == 0) {
                hit = id, hit_len = n;
                break;
            }
        }
        if (hit < 0) {
            i++;
            continue;
        }
        AX_CHECK(enc_fragment(e, text, start, i));
        enc_emit(e, hit);
        i += hit_len;
        start = i;
    }
    return enc_fragment(e, text, start, len);
}

ax_status llm_tokenizer_encode(const llm_tokenizer *tok, const char *text, size_t len, int flags,
                               int32_t *tokens, int64_t capacity, int64_t *n_tokens) {
    if (tok == NULL || n_tokens == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "tokenize: tokenizer and n_tokens must not be NULL");
    *n_tokens = 0;
    if (text == NULL && len > 0) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "text is NULL with len %zu", len);
    if (capacity < 0) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "tokens: capacity %lld < 0", (long long)capacity);
    if (tokens == NULL && capacity > 0) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "tokens is NULL with capacity %lld", (long long)capacity);
    enc_state e = {.tok = tok, .tokens = tokens, .capacity = capacity};
    if ((flags & AX_LLM_TOKENIZE_ADD_SPECIAL) && llm_tokenizer_add_bos(tok)) enc_emit(&e, tok->bos);
    ax_status st = AX_OK;
    if (len > 0) {
        const int control = (flags & AX_LLM_TOKENIZE_PARSE_SPECIAL) != 0;
        st = tok->n_specials > 0 ? enc_split_specials(&e, text, len, control) : enc_fragment(&e, text, 0, len);
    }
    if (st == AX_OK && (flags & AX_LLM_TOKENIZE_ADD_SPECIAL) && llm_tokenizer_add_eos(tok)) enc_emit(&e, tok->eos);
    free(e.cp);
    free(e.cls);
    free(e.off);
    free(e.sym);
    free(e.prev);
    free(e.next);
    free(e.heap);
    if (st != AX_OK) return st;
    *n_tokens = e.count;
    if (e.count > capacity) {
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "tokens: capacity %lld < %lld needed", (long long)capacity,
                            (long long)e.count);
    }
    return AX_OK;
}
