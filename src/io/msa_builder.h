/*
 * msa_builder.h — accumulates alignment rows for the A3M and Stockholm parsers and hands them
 * over as one ax_msa.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_IO_MSA_BUILDER_H
#define AXIAL_IO_MSA_BUILDER_H

#include <stddef.h>
#include <stdint.h>

#include "axial/io.h"

typedef struct ax_msa_builder {
    int64_t num_rows;
    int64_t num_cols;       /* set by the first row */
    char *residues;         /* (num_rows, num_cols) */
    int64_t residues_cap;
    int32_t *deletions;     /* (num_rows, num_cols) */
    int64_t deletions_cap;
    char *names;            /* NUL-terminated names back to back */
    int64_t names_len;
    int64_t names_cap;
} ax_msa_builder;

/* Appends one row; the first row fixes num_cols and later rows must have that many (the parser
 * checks first, to name the offending record). A zeroed builder is empty. */
ax_status ax_msa_builder_append(ax_msa_builder *b, const char *name, size_t name_len, const char *residues,
                                const int32_t *deletions, int64_t num_cols);

/* Row-in-place interface, for parsers that produce a row column by column: the open row lives at
 * the end of the builder's own arrays, so it is written once instead of being assembled in a
 * buffer and copied. The open row starts at cell ax_msa_builder_row_start(b). */
static inline int64_t ax_msa_builder_row_start(const ax_msa_builder *b) { return b->num_rows * b->num_cols; }

/* Capacity for at least `cells` cells in total (a hint: sizes the arrays once when the caller can
 * bound the alignment, e.g. by its input size). */
ax_status ax_msa_builder_reserve(ax_msa_builder *b, int64_t cells);

/* Ensures the open row has room for `row_cols` columns; residues/deletions may move. */
ax_status ax_msa_builder_row_room(ax_msa_builder *b, int64_t row_cols);

/* Closes the open row of `num_cols` columns (already written) under `name`. As for append, the
 * caller has checked the column count. */
ax_status ax_msa_builder_commit_row(ax_msa_builder *b, const char *name, size_t name_len, int64_t num_cols);

/* Moves the rows into a new ax_msa (the builder is left empty). */
ax_status ax_msa_builder_finish(ax_msa_builder *b, ax_msa **out);

void ax_msa_builder_free(ax_msa_builder *b);

#endif /* AXIAL_IO_MSA_BUILDER_H */
