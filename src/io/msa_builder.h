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

/* Moves the rows into a new ax_msa (the builder is left empty). */
ax_status ax_msa_builder_finish(ax_msa_builder *b, ax_msa **out);

void ax_msa_builder_free(ax_msa_builder *b);

#endif /* AXIAL_IO_MSA_BUILDER_H */
