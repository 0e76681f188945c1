/*
 * msa.c — the ax_msa result: building it row by row, and freeing it.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "io/grow.h"
#include "io/msa_builder.h"

ax_status ax_msa_builder_append(ax_msa_builder *b, const char *name, size_t name_len, const char *residues,
                                const int32_t *deletions, int64_t num_cols) {
    if (b->num_rows == 0) b->num_cols = num_cols;
    if (num_cols != b->num_cols)
        return ax_set_error(AX_ERR_INTERNAL, "msa builder: row of %lld columns, expected %lld",
                            (long long)num_cols, (long long)b->num_cols);
    if (b->num_rows >= INT64_MAX / (num_cols > 0 ? num_cols + 1 : 1))
        return ax_set_error(AX_ERR_OUT_OF_MEMORY, "out of memory: alignment too large");
    const int64_t cells = (b->num_rows + 1) * num_cols;
    AX_CHECK(ax_grow((void **)&b->residues, &b->residues_cap, cells, sizeof *b->residues));
    AX_CHECK(ax_grow((void **)&b->deletions, &b->deletions_cap, cells, sizeof *b->deletions));
    if ((int64_t)name_len > INT64_MAX - b->names_len - 1)
        return ax_set_error(AX_ERR_OUT_OF_MEMORY, "out of memory: names too long");
    AX_CHECK(ax_grow((void **)&b->names, &b->names_cap, b->names_len + (int64_t)name_len + 1, 1));
    if (num_cols > 0) {
        memcpy(b->residues + b->num_rows * num_cols, residues, (size_t)num_cols);
        memcpy(b->deletions + b->num_rows * num_cols, deletions, (size_t)num_cols * sizeof *deletions);
    }
    if (name_len > 0) memcpy(b->names + b->names_len, name, name_len);
    b->names[b->names_len + (int64_t)name_len] = '\0';
    b->names_len += (int64_t)name_len + 1;
    b->num_rows++;
    return AX_OK;
}

ax_status ax_msa_builder_finish(ax_msa_builder *b, ax_msa **out) {
    ax_msa *msa = calloc(1, sizeof *msa);
    /* The name pointers and the name bytes share one allocation, so destroy has one thing to free. */
    const size_t pointer_bytes = (size_t)b->num_rows * sizeof(char *);
    char **names = malloc(pointer_bytes + (size_t)b->names_len + 1);
    if (msa == NULL || names == NULL) {
        free(msa);
        free(names);
        return ax_set_error(AX_ERR_OUT_OF_MEMORY, "out of memory: alignment names");
    }
    char *name_bytes = (char *)names + pointer_bytes;
    if (b->names_len > 0) memcpy(name_bytes, b->names, (size_t)b->names_len);
    int64_t offset = 0;
    for (int64_t i = 0; i < b->num_rows; i++) {
        names[i] = name_bytes + offset;
        offset += (int64_t)strlen(names[i]) + 1;
    }
    msa->num_rows = b->num_rows;
    msa->num_cols = b->num_cols;
    msa->residues = b->residues;
    msa->deletions = b->deletions;
    msa->names = names;
    free(b->names);
    memset(b, 0, sizeof *b);
    *out = msa;
    return AX_OK;
}

void ax_msa_builder_free(ax_msa_builder *b) {
    free(b->residues);
    free(b->deletions);
    free(b->names);
    memset(b, 0, sizeof *b);
}

void ax_msa_destroy(ax_msa *msa) {
    if (msa == NULL) return;
    free(msa->residues);
    free(msa->deletions);
    free(msa->names);
    free(msa);
}
