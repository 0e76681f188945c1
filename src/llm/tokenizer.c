/*
 * tokenizer.c — building the byte-level BPE tokenizer from a GGUF file's tokenizer.ggml.* metadata,
 * decoding, and the small accessors of tokenizer.h. Encoding is in tokenizer_encode.c.
 *
 * Everything the tokenizer needs is copied out of the file at create time (the token strings, what
 * each token decodes to, the merge rules as a hash of id pairs), so it does not depend on the
 * ax_gguf staying open and every later call is read-only, hence thread-safe.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "core/strmap.h"
#include "llm/tokenizer_internal.h"
#include "llm/unicode.h"

/* GPT-2's byte-to-unicode table: printable Latin-1 bytes stand for themselves, the other 68 bytes
 * (controls, space, DEL, NBSP, soft hyphen) for U+0100 onwards in byte order, so every byte is a
 * visible character in the vocabulary's strings. */
/* Control and user-defined tokens are text of their own: not byte-encoded, matched whole by
 * special-token parsing. */
static int tok_own_text(const llm_tokenizer *tok, int64_t t) {
    return tok->types[t] == LLM_TOKEN_CONTROL || tok->types[t] == LLM_TOKEN_USER_DEFINED;
}

static int tok_byte_is_printable(int b) { return (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174; }

static void tok_byte_to_unicode(uint32_t table[256]) {
    uint32_t next = 256;
    for (int b = 0; b < 256; b++) table[b] = tok_byte_is_printable(b) ? (uint32_t)b : next++;
}

static int tok_utf8_put(uint32_t cp, char *out) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
}

/* ---- metadata reads, each naming the file and key on failure ---- */

static ax_status tok_get_string(const ax_gguf *g, const char *file, const char *key, int required,
                                ax_gguf_string *out) {
    out->data = NULL, out->len = 0;
    const int64_t i = ax_gguf_find_key(g, key);
    if (i < 0) {
        return required ? ax_set_error(AX_ERR_FORMAT, "%s: %s is missing", file, key) : AX_OK;
    }
    if (ax_gguf_kv_type(g, i) != AX_GGUF_STRING) {
        return ax_set_error(AX_ERR_FORMAT, "%s: %s is a %s, expected a string", file, key,
                            ax_gguf_type_name(ax_gguf_kv_type(g, i)));
    }
    return ax_gguf_get_string(g, i, out);
}

/* The last error (an accessor's "value does not fit", read from the file) as the file's fault. */
static ax_status tok_file_error(const char *file) {
    ax_error_prefix(file);
    return AX_ERR_FORMAT;
}

/* A token id key: -1 when absent; present, it must name a token. */
static ax_status tok_get_id(const ax_gguf *g, const char *file, const char *key, int32_t n_vocab, int32_t *out) {
    *out = -1;
    const int64_t i = ax_gguf_find_key(g, key);
    if (i < 0) return AX_OK;
    int64_t v;
    const ax_gguf_type type = ax_gguf_kv_type(g, i);
    if (ax_gguf_get_i64(g, i, &v) != AX_OK) {
        if (type == AX_GGUF_UINT64) return tok_file_error(file); /* past INT64_MAX */
        return ax_set_error(AX_ERR_FORMAT, "%s: %s is a %s, expected an integer token id", file, key,
                            ax_gguf_type_name(type));
    }
    if (v < 0 || v >= n_vocab) {
        return ax_set_error(AX_ERR_FORMAT, "%s: %s is %lld, outside the vocabulary [0, %d)", file, key,
                            (long long)v, (int)n_vocab);
    }
    *out = (int32_t)v;
    return AX_OK;
}

static ax_status tok_get_bool(const ax_gguf *g, const char *file, const char *key, int *out) {
    *out = 0;
    const int64_t i = ax_gguf_find_key(g, key);
    if (i < 0) return AX_OK;
    if (ax_gguf_get_bool(g, i, out) != AX_OK) {
        return ax_set_error(AX_ERR_FORMAT, "%s: %s is a %s, expected a bool", file, key,
                            ax_gguf_type_name(ax_gguf_kv_type(g, i)));
    }
    return AX_OK;
}

/* An ARRAY key of the given element kind (strings, or any integer type); *index is its entry. */
static ax_status tok_get_array(const ax_gguf *g, const char *file, const char *key, int want_strings,
                               int64_t *index, int64_t *count) {
    *index = ax_gguf_find_key(g, key);
    if (*index < 0) return ax_set_error(AX_ERR_FORMAT, "%s: %s is missing", file, key);
    ax_gguf_type elem;
    const void *data;
    if (ax_gguf_kv_type(g, *index) != AX_GGUF_ARRAY || ax_gguf_get_array(g, *index, &elem, count, &data) != AX_OK) {
        return ax_set_error(AX_ERR_FORMAT, "%s: %s is a %s, expected an array", file, key,
                            ax_gguf_type_name(ax_gguf_kv_type(g, *index)));
    }
    const int is_int = elem <= AX_GGUF_INT32 || elem == AX_GGUF_UINT64 || elem == AX_GGUF_INT64;
    if (want_strings ? elem != AX_GGUF_STRING : !is_int) {
        return ax_set_error(AX_ERR_FORMAT, "%s: %s is an array of %s, expected %s", file, key,
                            ax_gguf_type_name(elem), want_strings ? "strings" : "integers");
    }
    return AX_OK;
}

/* ---- merges ---- */

static uint64_t tok_merge_key(int32_t left, int32_t right) {
    return ((uint64_t)(uint32_t)(left + 1) << 32) | (uint32_t)(right + 1);
}

static uint64_t tok_merge_hash(uint64_t key) {
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdULL;
    key ^= key >> 33;
    key *= 0xc4ceb9fe1a85ec53ULL;
    return key ^ (key >> 33);
}

const llm_merge_slot *llm_merge_find(const llm_tokenizer *tok, int32_t left, int32_t right) {
    const uint64_t key = tok_merge_key(left, right);
    for (uint64_t i = tok_merge_hash(key) & tok->merge_mask;; i = (i + 1) & tok->merge_mask) {
        const llm_merge_slot *s = &tok->merges[i];
        if (s->key == key) return s;
        if (s->key == 0) return NULL;
    }
}

/* Rules whose parts or result are not tokens can never fire (BPE symbols are always tokens) and are
 * left out; of two rules for one pair the first (lower rank) is kept, as llama.cpp does. */
static ax_status tok_read_merges(llm_tokenizer *tok, const ax_gguf *g, const char *file, const ax_strmap *vocab) {
    int64_t key, count;
    AX_CHECK(tok_get_array(g, file, "tokenizer.ggml.merges", 1, &key, &count));
    if (count > INT32_MAX / 2) {
        return ax_set_error(AX_ERR_FORMAT, "%s: tokenizer.ggml.merges has %lld rules, too many", file, (long long)count);
    }
    uint64_t slots = 16;
    while (slots < (uint64_t)count * 2) slots *= 2;
    tok->merges = calloc(slots, sizeof(*tok->merges));
    if (tok->merges == NULL) return ax_set_error(AX_ERR_OUT_OF_MEMORY, "out of memory: %llu merge slots", (unsigned long long)slots);
    tok->merge_mask = slots - 1;
    char *joined = NULL;
    size_t joined_cap = 0;
    for (int64_t r = 0; r < count; r++) {
        ax_gguf_string s;
        const ax_status got = ax_gguf_array_get_string(g, key, r, &s);
        if (got != AX_OK) {
            free(joined);
            return got;
        }
        const char *space = s.len > 0 ? memchr(s.data, ' ', s.len) : NULL;
        if (space == NULL || space == s.data || space == s.data + s.len - 1) {
            free(joined);
            return ax_set_error(AX_ERR_FORMAT, "%s: tokenizer.ggml.merges[%lld]: '%.*s' is not two tokens separated by a space",
                                file, (long long)r, (int)(s.len > 64 ? 64 : s.len), s.data);
        }
        const size_t left_len = (size_t)(space - s.data), right_len = s.len - left_len - 1;
        int64_t left, right, result;
        if (!ax_strmap_find(vocab, s.data, left_len, &left) || !ax_strmap_find(vocab, space + 1, right_len, &right)) continue;
        if (left_len + right_len > joined_cap) {
            free(joined);
            joined_cap = (left_len + right_len) * 2;
            joined = malloc(joined_cap);
            if (joined == NULL) return ax_set_error(AX_ERR_OUT_OF_MEMORY, "out of memory: merge text");
        }
        memcpy(joined, s.data, left_len);
        memcpy(joined + left_len, space + 1, right_len);
        if (!ax_strmap_find(vocab, joined, left_len + right_len, &result)) continue;
        const uint64_t mk = tok_merge_key((int32_t)left, (int32_t)right);
        uint64_t i = tok_merge_hash(mk) & tok->merge_mask;
        while (tok->merges[i].key != 0 && tok->merges[i].key != mk) i = (i + 1) & tok->merge_mask;
        if (tok->merges[i].key == 0) {
            tok->merges[i].key = mk;
            tok->merges[i].rank = (int32_t)r;
            tok->merges[i].result = (int32_t)result;
        }
    }
    free(joined);
    return AX_OK;
}

/* ---- vocabulary ---- */

typedef struct tok_special_key {
    int64_t len;
    int32_t id;
} tok_special_key;

static int tok_special_cmp(const void *a, const void *b) {
    const tok_special_key *x = a, *y = b;
    if (x->len != y->len) return x->len > y->len ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

/* Longest text first, then lowest id (the leftmost-longest match takes the first that fits). A
 * sort of (length, id) keys: a file may hold any number of control tokens. */
static ax_status tok_sort_specials(llm_tokenizer *tok) {
    tok_special_key *keys = malloc((size_t)(tok->n_specials > 0 ? tok->n_specials : 1) * sizeof *keys);
    if (keys == NULL)
        return ax_set_error(AX_ERR_OUT_OF_MEMORY, "out of memory: %d special tokens", (int)tok->n_specials);
    for (int32_t i = 0; i < tok->n_specials; i++) {
        const int32_t t = tok->specials[i];
        keys[i] = (tok_special_key){tok->text_off[t + 1] - tok->text_off[t], t};
    }
    qsort(keys, (size_t)tok->n_specials, sizeof *keys, tok_special_cmp);
    for (int32_t i = 0; i < tok->n_specials; i++) tok->specials[i] = keys[i].id;
    free(keys);
    return AX_OK;
}

static ax_status tok_read_vocab(llm_tokenizer *tok, const ax_gguf *g, const char *file, ax_strmap *vocab) {
    int64_t key, count;
    AX_CHECK(tok_get_array(g, file, "tokenizer.ggml.tokens", 1, &key, &count));
    if (count < 1 || count > INT32_MAX - 1) {
        return ax_set_error(AX_ERR_FORMAT, "%s: tokenizer.ggml.tokens has %lld tokens, expected 1 to %d", file,
                            (long long)count, INT32_MAX - 1);
    }
    tok->n_vocab = (int32_t)count;
    int64_t text_len = 0;
    for (int64_t t = 0; t < count; t++) {
        ax_gguf_string s;
        AX_CHECK(ax_gguf_array_get_string(g, key, t, &s));
        text_len += (int64_t)s.len;
    }
    tok->types = malloc((size_t)count);
    tok->text_off = malloc((size_t)(count + 1) * sizeof(int64_t));
    tok->bytes_off = malloc((size_t)(count + 1) * sizeof(int64_t));
    tok->text = malloc((size_t)text_len + 1);
    tok->bytes = malloc((size_t)text_len + 1); /* decoding never lengthens a token */
    if (!tok->types || !tok->text_off || !tok->bytes_off || !tok->text || !tok->bytes) {
        return ax_set_error(AX_ERR_OUT_OF_MEMORY, "out of memory: vocabulary of %lld tokens", (long long)count);
    }
    memset(tok->types, LLM_TOKEN_NORMAL, (size_t)count);
    const int64_t type_key = ax_gguf_find_key(g, "tokenizer.ggml.token_type");
    if (type_key >= 0) {
        int64_t type_count;
        int64_t k;
        AX_CHECK(tok_get_array(g, file, "tokenizer.ggml.token_type", 0, &k, &type_count));
        if (type_count != count) {
            return ax_set_error(AX_ERR_FORMAT, "%s: tokenizer.ggml.token_type has %lld entries for %lld tokens", file,
                                (long long)type_count, (long long)count);
        }
        for (int64_t t = 0; t < count; t++) {
            int64_t v;
            if (ax_gguf_array_get_i64(g, type_key, t, &v) != AX_OK) return tok_file_error(file);
            tok->types[t] = (uint8_t)(v < 0 || v > 255 ? 0 : v);
        }
    }

    uint32_t b2u[256];
    tok_byte_to_unicode(b2u);
    int16_t u2b[324];
    for (int i = 0; i < 324; i++) u2b[i] = -1;
    for (int b = 0; b < 256; b++) u2b[b2u[b]] = (int16_t)b;

    int64_t text_at = 0, bytes_at = 0;
    for (int64_t t = 0; t < count; t++) {
        ax_gguf_string s;
        AX_CHECK(ax_gguf_array_get_string(g, key, t, &s));
        tok->text_off[t] = text_at;
        if (s.len > 0) memcpy(tok->text + text_at, s.data, s.len);
        text_at += (int64_t)s.len;
        /* A string listed twice means its later id, as in Hugging Face's {token: id} and llama.cpp. */
        AX_CHECK(ax_strmap_put(vocab, s.data, s.len, t));
        /* Control and user-defined tokens are text of their own, not byte-encoded; in a normal
         * token a character outside the table (none in a well-formed file) stays as it is. */
        tok->bytes_off[t] = bytes_at;
        const int raw = tok_own_text(tok, t);
        const unsigned char *p = (const unsigned char *)s.data;
        for (size_t at = 0; at < s.len;) {
            uint32_t cp;
            const int n = llm_utf8_next(p + at, s.len - at, &cp);
            if (!raw && cp < 324 && u2b[cp] >= 0) {
                tok->bytes[bytes_at++] = (char)u2b[cp];
            } else {
                memcpy(tok->bytes + bytes_at, p + at, (size_t)n);
                bytes_at += n;
            }
            at += (size_t)n;
        }
    }
    tok->text_off[count] = text_at;
    tok->bytes_off[count] = bytes_at;

    for (int b = 0; b < 256; b++) {
        char utf8[4];
        const int n = tok_utf8_put(b2u[b], utf8);
        int64_t id;
        tok->byte_token[b] = ax_strmap_find(vocab, utf8, (size_t)n, &id) ? (int32_t)id : -1;
    }

    for (int pass = 0; pass < 2; pass++) {
        int32_t n = 0;
        for (int32_t t = 0; t < tok->n_vocab; t++) {
            const int special = tok_own_text(tok, t);
            if (!special || tok->text_off[t + 1] == tok->text_off[t]) continue;
            if (pass == 1) {
                tok->specials[n] = t;
                tok->special_first[(unsigned char)tok->text[tok->text_off[t]]] = 1;
            }
            n++;
        }
        if (pass == 0) {
            tok->n_specials = n;
            tok->specials = malloc((size_t)(n > 0 ? n : 1) * sizeof(int32_t));
            if (tok->specials == NULL) return ax_set_error(AX_ERR_OUT_OF_MEMORY, "out of memory: special tokens");
        }
    }
    AX_CHECK(tok_sort_specials(tok));
    int64_t im_end, eot_text;
    tok->im_end = ax_strmap_find(vocab, "<|im_end|>", 10, &im_end) ? (int32_t)im_end : -1;
    /* A control token "<|endoftext|>" ends generation too, as llama.cpp's end-of-generation set has it
     * (SmolLM2's EOS is <|im_end|>; a model that writes <|endoftext|> is done as well). */
    tok->endoftext = ax_strmap_find(vocab, "<|endoftext|>", 13, &eot_text) &&
                             tok->types[eot_text] == LLM_TOKEN_CONTROL
                         ? (int32_t)eot_text
                         : -1;
    return AX_OK;
}

static int tok_string_is(ax_gguf_string s, const char *lit) {
    return s.len == strlen(lit) && memcmp(s.data, lit, s.len) == 0;
}

ax_status llm_tokenizer_create(const ax_gguf *g, const char *file, llm_tokenizer **out) {
    if (out == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "tokenizer: out is NULL");
    *out = NULL;
    if (g == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "tokenizer: g is NULL");
    if (file == NULL) file = "<gguf>";
    ax_gguf_string model, pre, tmpl;
    AX_CHECK(tok_get_string(g, file, "tokenizer.ggml.model", 1, &model));
    if (!tok_string_is(model, "gpt2")) {
        return ax_set_error(AX_ERR_UNSUPPORTED, "%s: tokenizer.ggml.model '%.*s' is not supported (only 'gpt2', byte-level BPE)",
                            file, (int)(model.len > 64 ? 64 : model.len), model.data);
    }
    AX_CHECK(tok_get_string(g, file, "tokenizer.ggml.pre", 1, &pre));
    /* The names llama.cpp gives these two rules (llama-vocab.cpp): each digit apart, then GPT-2's
     * regex; or GPT-2's regex alone. Names whose vocabularies also change other settings there
     * (command-r, the BERT-like jina-v1-en / jina-v2-code / roberta-bpe) are left out. */
    static const struct {
        const char *name;
        llm_pre_type type;
    } pre_names[] = {
        {"smollm", LLM_PRE_SMOLLM}, {"starcoder", LLM_PRE_SMOLLM}, {"refact", LLM_PRE_SMOLLM},
        {"gpt-2", LLM_PRE_GPT2},    {"phi-2", LLM_PRE_GPT2},       {"jina-es", LLM_PRE_GPT2},
        {"jina-de", LLM_PRE_GPT2},  {"jina-v2-es", LLM_PRE_GPT2},  {"jina-v2-de", LLM_PRE_GPT2},
        {"gigachat", LLM_PRE_GPT2}, {"mellum", LLM_PRE_GPT2},      {"a.x-4.0", LLM_PRE_GPT2},
    };
    size_t pre_index = 0;
    const size_t n_pre_names = sizeof pre_names / sizeof pre_names[0];
    while (pre_index < n_pre_names && !tok_string_is(pre, pre_names[pre_index].name)) pre_index++;
    if (pre_index == n_pre_names) {
        return ax_set_error(AX_ERR_UNSUPPORTED,
                            "%s: tokenizer.ggml.pre '%.*s' is not supported (supported: 'smollm', 'starcoder', "
                            "'refact': digits apart; 'gpt-2', 'phi-2', 'jina-es', 'jina-de', 'jina-v2-es', "
                            "'jina-v2-de', 'gigachat', 'mellum', 'a.x-4.0': GPT-2's rule)",
                            file, (int)(pre.len > 64 ? 64 : pre.len), pre.data);
    }
    const llm_pre_type pre_type = pre_names[pre_index].type;

    llm_tokenizer *tok = calloc(1, sizeof(*tok));
    if (tok == NULL) return ax_set_error(AX_ERR_OUT_OF_MEMORY, "out of memory: tokenizer");
    tok->pre = pre_type;
    ax_strmap vocab = {0};
    ax_status st;
    AX_CHECK_GOTO(tok_read_vocab(tok, g, file, &vocab), st, fail);
    AX_CHECK_GOTO(tok_read_merges(tok, g, file, &vocab), st, fail);
    AX_CHECK_GOTO(tok_get_id(g, file, "tokenizer.ggml.bos_token_id", tok->n_vocab, &tok->bos), st, fail);
    AX_CHECK_GOTO(tok_get_id(g, file, "tokenizer.ggml.eos_token_id", tok->n_vocab, &tok->eos), st, fail);
    AX_CHECK_GOTO(tok_get_id(g, file, "tokenizer.ggml.eot_token_id", tok->n_vocab, &tok->eot), st, fail);
    AX_CHECK_GOTO(tok_get_id(g, file, "tokenizer.ggml.unknown_token_id", tok->n_vocab, &tok->unk), st, fail);
    AX_CHECK_GOTO(tok_get_id(g, file, "tokenizer.ggml.padding_token_id", tok->n_vocab, &tok->pad), st, fail);
    AX_CHECK_GOTO(tok_get_bool(g, file, "tokenizer.ggml.add_bos_token", &tok->add_bos), st, fail);
    AX_CHECK_GOTO(tok_get_bool(g, file, "tokenizer.ggml.add_eos_token", &tok->add_eos), st, fail);
    AX_CHECK_GOTO(tok_get_string(g, file, "tokenizer.chat_template", 0, &tmpl), st, fail);
    if (tmpl.data != NULL) AX_CHECK_GOTO(llm_chat_template_parse(tok, tmpl.data, tmpl.len), st, fail);
    /* The chat's ids are the rendered text's only when the markup is tokens of its own (control or
     * user-defined); as plain text "<|im_end|>" would merge with the message's last characters ("!<|")
     * in the rendered text but not in the chat's separately encoded pieces. */
    if (tok->chat_kind == LLM_CHAT_CHATML) {
        int64_t start = -1, end = -1;
        const int special = ax_strmap_find(&vocab, "<|im_start|>", 12, &start) &&
                            ax_strmap_find(&vocab, "<|im_end|>", 10, &end) && tok_own_text(tok, start) &&
                            tok_own_text(tok, end);
        if (!special) {
            tok->chat_kind = LLM_CHAT_NONE;
            tok->chat_refusal = "<|im_start|> and <|im_end|> are not both control or user-defined tokens of the "
                                "vocabulary";
            tok->chat_refusal_at = LLM_CHAT_REFUSAL_VOCAB;
        }
    }
    ax_strmap_free(&vocab);
    *out = tok;
    return AX_OK;
fail:
    ax_strmap_free(&vocab);
    llm_tokenizer_free(tok);
    return st;
}

void llm_tokenizer_free(llm_tokenizer *tok) {
    if (tok == NULL) return;
    free(tok->types);
    free(tok->text);
    free(tok->text_off);
    free(tok->bytes);
    free(tok->bytes_off);
    free(tok->merges);
    free(tok->specials);
    free(tok->chat_default_system);
    free(tok);
}

int32_t llm_tokenizer_vocab_size(const llm_tokenizer *tok) { return tok->n_vocab; }
int32_t llm_tokenizer_bos(const llm_tokenizer *tok) { return tok->bos; }
int32_t llm_tokenizer_eos(const llm_tokenizer *tok) { return tok->eos; }
int llm_tokenizer_add_bos(const llm_tokenizer *tok) { return tok->add_bos && tok->bos >= 0; }
int llm_tokenizer_add_eos(const llm_tokenizer *tok) { return tok->add_eos && tok->eos >= 0; }

const char *llm_tokenizer_token_text(const llm_tokenizer *tok, int32_t token, size_t *len) {
    if (tok == NULL || token < 0 || token >= tok->n_vocab) {
        if (len != NULL) *len = 0;
        return NULL;
    }
    if (len != NULL) *len = (size_t)(tok->bytes_off[token + 1] - tok->bytes_off[token]);
    return tok->bytes + tok->bytes_off[token];
}

int llm_tokenizer_is_control(const llm_tokenizer *tok, int32_t token) {
    if (tok == NULL || token < 0 || token >= tok->n_vocab) return 0;
    return tok->types[token] == LLM_TOKEN_CONTROL || token == tok->eos || token == tok->eot;
}

int llm_tokenizer_is_end(const llm_tokenizer *tok, int32_t token) {
    if (tok == NULL || token < 0) return 0;
    return token == tok->eos || token == tok->eot || token == tok->im_end || token == tok->endoftext;
}

ax_status llm_tokenizer_decode(const llm_tokenizer *tok, const int32_t *tokens, int64_t n_tokens, int flags,
                               char *text, size_t capacity, size_t *len) {
    if (len == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "detokenize: len is NULL");
    if (tok == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "detokenize: the model has no tokenizer");
    *len = 0;
    if (n_tokens < 0) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "tokens: n_tokens %lld < 0", (long long)n_tokens);
    if (tokens == NULL && n_tokens > 0) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "tokens is NULL with n_tokens %lld", (long long)n_tokens);
    if (text == NULL && capacity > 0) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "text is NULL with capacity %zu", capacity);
    /* Every id first, so a bad one leaves text as it was. */
    for (int64_t i = 0; i < n_tokens; i++)
        if (tokens[i] < 0 || tokens[i] >= tok->n_vocab)
            return ax_set_error(AX_ERR_INVALID_ARGUMENT, "tokens[%lld]: id %d is outside the vocabulary [0, %d)",
                                (long long)i, (int)tokens[i], (int)tok->n_vocab);
    size_t need = 0;
    for (int64_t i = 0; i < n_tokens; i++) {
        const int32_t t = tokens[i];
        if ((flags & AX_LLM_DETOKENIZE_SKIP_SPECIAL) && llm_tokenizer_is_control(tok, t)) continue;
        const size_t n = (size_t)(tok->bytes_off[t + 1] - tok->bytes_off[t]);
        if (need < capacity) memcpy(text + need, tok->bytes + tok->bytes_off[t], n < capacity - need ? n : capacity - need);
        need += n;
    }
    *len = need;
    if (need < capacity) {
        text[need] = '\0';
        return AX_OK;
    }
    return ax_set_error(AX_ERR_INVALID_ARGUMENT, "text: capacity %zu <= %zu bytes needed (with the NUL, %zu)", capacity,
                        need, need + 1);
}
