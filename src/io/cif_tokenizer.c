/*
 * cif_tokenizer.c — CIF 1.1 tokens from lines.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "io/cif_tokenizer.h"

#include <stdlib.h>
#include <string.h>

#include "core/grow.h"

/* CIF's whitespace is blank, tab and line ends; \v and \f are accepted too since they cannot start
 * anything meaningful. */
static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

static int ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; }

/* 1 when text[0, len) starts with the reserved prefix `word` (lower case), ignoring case. */
static int has_prefix_nocase(const char *text, size_t len, const char *word) {
    const size_t n = strlen(word);
    if (len < n) return 0;
    for (size_t i = 0; i < n; i++)
        if (ascii_lower(text[i]) != word[i]) return 0;
    return 1;
}

void cif_tokenizer_init(cif_tokenizer *t, const ax_line_reader *lr) {
    memset(t, 0, sizeof *t);
    t->lr = *lr;
}

void cif_tokenizer_close(cif_tokenizer *t) {
    ax_line_reader_close(&t->lr);
    free(t->text_field);
    memset(t, 0, sizeof *t);
}

/* A ;text field; starts with ';' in column 1 and runs to the next line starting with ';'. Its value
 * is everything in between, the first line's text after the ';' included, without the final line
 * end. Tokenizing resumes after the closing ';'. */
static ax_status read_text_field(cif_tokenizer *t, cif_token *tok) {
    const int64_t start_line = t->lr.line_no;
    int64_t len = (int64_t)t->lr.line_len - 1;
    AX_CHECK(ax_grow((void **)&t->text_field, &t->text_field_cap, len + 1, 1));
    memcpy(t->text_field, t->lr.line + 1, (size_t)len);
    for (;;) {
        int has_line = 0;
        AX_CHECK(ax_line_reader_next(&t->lr, &has_line));
        if (!has_line) {
            t->has_line = 0;
            return ax_io_fail(AX_ERR_FORMAT, t->lr.source, start_line, 1,
                              "text field (';') is never closed by a line starting with ';'");
        }
        if (t->lr.line[0] == ';') break;
        /* The field can be a whole file's worth of text; a line-length cap bounds it per line only. */
        if ((int64_t)t->lr.line_len > (int64_t)AX_LINE_MAX - len)
            return ax_io_fail(AX_ERR_FORMAT, t->lr.source, start_line, 1, "text field longer than %zu bytes",
                              AX_LINE_MAX);
        AX_CHECK(ax_grow((void **)&t->text_field, &t->text_field_cap, len + 1 + (int64_t)t->lr.line_len, 1));
        t->text_field[len++] = '\n';
        memcpy(t->text_field + len, t->lr.line, t->lr.line_len);
        len += (int64_t)t->lr.line_len;
    }
    t->pos = 1;
    tok->type = CIF_TOKEN_VALUE;
    tok->text = t->text_field;
    tok->len = (size_t)len;
    tok->is_null = 0;
    tok->line = start_line;
    tok->column = 1;
    return AX_OK;
}

ax_status cif_tokenizer_next(cif_tokenizer *t, cif_token *tok) {
    memset(tok, 0, sizeof *tok);
    for (;;) {
        if (!t->has_line || t->pos >= t->lr.line_len) {
            int has_line = 0;
            AX_CHECK(ax_line_reader_next(&t->lr, &has_line));
            if (!has_line) {
                tok->type = CIF_TOKEN_END;
                tok->line = t->lr.line_no;
                tok->column = 1;
                return AX_OK;
            }
            t->has_line = 1;
            t->pos = 0;
            if (t->lr.line_len > 0 && t->lr.line[0] == ';') return read_text_field(t, tok);
            continue;
        }
        const char *line = t->lr.line;
        const size_t len = t->lr.line_len;
        while (t->pos < len && is_space(line[t->pos])) t->pos++;
        if (t->pos >= len) continue;
        if (line[t->pos] == '#') { /* a comment runs to the end of the line */
            t->pos = len;
            continue;
        }
        const size_t start = t->pos;
        tok->line = t->lr.line_no;
        tok->column = (int64_t)start + 1;
        const char c = line[start];
        if (c == '\'' || c == '"') {
            /* A quote closes the string only when followed by whitespace or the line end, so
             * 'it's' is the value it's. Quoted strings never span lines. */
            size_t end = start + 1;
            while (end < len && !(line[end] == c && (end + 1 == len || is_space(line[end + 1])))) end++;
            if (end >= len)
                return ax_io_fail(AX_ERR_FORMAT, t->lr.source, tok->line, tok->column,
                                  "quoted string is not closed on its line");
            tok->type = CIF_TOKEN_VALUE;
            tok->text = line + start + 1;
            tok->len = end - start - 1;
            t->pos = end + 1;
            return AX_OK;
        }
        size_t end = start;
        while (end < len && !is_space(line[end])) end++;
        t->pos = end;
        const char *text = line + start;
        const size_t text_len = end - start;
        tok->text = text;
        tok->len = text_len;
        if (c == '_') {
            tok->type = CIF_TOKEN_TAG;
        } else if (has_prefix_nocase(text, text_len, "data_")) {
            tok->type = CIF_TOKEN_DATA;
            tok->text = text + 5;
            tok->len = text_len - 5;
        } else if (text_len == 5 && has_prefix_nocase(text, text_len, "loop_")) {
            tok->type = CIF_TOKEN_LOOP;
        } else if (has_prefix_nocase(text, text_len, "save_")) {
            tok->type = CIF_TOKEN_SAVE;
            tok->text = text + 5;
            tok->len = text_len - 5;
        } else if ((text_len == 7 && has_prefix_nocase(text, text_len, "global_")) ||
                   (text_len == 5 && has_prefix_nocase(text, text_len, "stop_"))) {
            return ax_io_fail(AX_ERR_FORMAT, t->lr.source, tok->line, tok->column,
                              "reserved word '%.*s' is not allowed in mmCIF", (int)text_len, text);
        } else {
            tok->type = CIF_TOKEN_VALUE;
            tok->is_null = text_len == 1 && (c == '.' || c == '?');
        }
        return AX_OK;
    }
}
