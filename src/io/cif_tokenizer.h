/*
 * cif_tokenizer.h — splits CIF 1.1 text into tokens: data_ block headers, loop_, save_ frames,
 * tags (_category.item) and values (bare, 'quoted', "quoted" or ;text fields;). A loop over lines,
 * not a grammar: nothing recurses, and a token never needs more memory than its own text.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_IO_CIF_TOKENIZER_H
#define AXIAL_IO_CIF_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "io/line_reader.h"

typedef enum cif_token_type {
    CIF_TOKEN_END = 0, /* end of input */
    CIF_TOKEN_DATA,    /* data_NAME: text is NAME */
    CIF_TOKEN_LOOP,    /* loop_ */
    CIF_TOKEN_SAVE,    /* save_NAME opens a frame, bare save_ closes it: text is NAME or "" */
    CIF_TOKEN_TAG,     /* _category.item: text includes the leading '_' */
    CIF_TOKEN_VALUE    /* text is the value without quotes or text-field markers */
} cif_token_type;

typedef struct cif_token {
    cif_token_type type;
    const char *text;   /* valid until the next cif_tokenizer_next call; not NUL-terminated */
    size_t len;
    int is_null;        /* VALUE only: an unquoted '.' (inapplicable) or '?' (unknown) */
    int64_t line;       /* where the token starts, 1-based */
    int64_t column;
} cif_token;

typedef struct cif_tokenizer {
    ax_line_reader lr;
    int has_line;         /* lr holds a line not yet fully tokenized */
    size_t pos;           /* next byte of lr.line to look at */
    char *text_field;     /* the current ;text field; */
    int64_t text_field_cap;
} cif_tokenizer;

/* Takes ownership of an opened line reader (the tokenizer zeroes the rest of itself). */
void cif_tokenizer_init(cif_tokenizer *t, const ax_line_reader *lr);

/* Reads the next token. Errors (AX_ERR_FORMAT with source:line:column): an unterminated quoted
 * string or text field, the reserved words global_ and stop_ (not used by mmCIF); plus the line
 * reader's errors. */
ax_status cif_tokenizer_next(cif_tokenizer *t, cif_token *tok);

/* Closes the line reader and frees the tokenizer's buffers. */
void cif_tokenizer_close(cif_tokenizer *t);

#endif /* AXIAL_IO_CIF_TOKENIZER_H */
