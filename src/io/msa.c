/*
 * msa.c — the ax_msa result: building it row by row, and freeing it.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "core/grow.h"
#include "io/msa_builder.h"

ax_status ax_msa_builder_reserve(ax_msa_builder *b, int64_t cells) {
    AX_CHECK(ax_grow((void **)&b->residues, &b->residues_cap, cells, sizeof *b->residues));
    return ax_grow((void **)&b->deletions, &b->deletions_cap, cells, sizeof *b->deletions);
}

ax_status ax_msa_builder_row_room(ax_msa_builder *b, int64_t row_cols) {
    const int64_t start = ax_msa_builder_row_start(b);
    if (row_cols < 0 || row_cols > INT64_MAX - start)
        return ax_set_error(AX_ERR_OUT_OF_MEMORY, "out of memory: alignment too large");
    if (start + row_cols <= b->residues_cap && start + row_cols <= b->deletions_cap) return AX_OK;
    return ax_msa_builder_reserve(b, start + row_cols);
}

ax_status ax_msa_builder_commit_row(ax_msa_builder *b, const char *name, size_t name_len, int64_t num_cols) {
    if (b->num_rows == 0) b->num_cols = num_cols;
    if (num_cols != b->num_cols)
        return ax_set_error(AX_ERR_INTERNAL, "msa builder: row of %lld columns, expected %lld",
                            (long long)num_cols, (long long)b->num_cols);
    if (ax_msa_builder_row_start(b) + num_cols > b->residues_cap ||
        ax_msa_builder_row_start(b) + num_cols > b->deletions_cap)
        return ax_set_error(AX_ERR_INTERNAL, "msa builder: row committed without room");
    if ((int64_t)name_len > INT64_MAX - b->names_len - 1)
        return ax_set_error(AX_ERR_OUT_OF_MEMORY, "out of memory: names too long");
    AX_CHECK(ax_grow((void **)&b->names, &b->names_cap, b->names_len + (int64_t)name_len + 1, 1));
    if (name_len > 0) memcpy(b->names + b->names_len, name, name_len);
    b->names[b->names_len + (int64_t)name_len] = '\0';
    b->names_len += (int64_t)name_len + 1;
    b->num_rows++;
    return AX_OK;
}

ax_status ax_msa_builder_append(ax_msa_builder *b, const char *name, size_t name_len, const char *residues,
                                const int32_t *deletions, int64_t num_cols) {
    if (b->num_rows > 0 && num_cols != b->num_cols)
        return ax_set_error(AX_ERR_INTERNAL, "msa builder: row of %lld columns, expected %lld",
                            (long long)num_cols, (long long)b->num_cols);
    AX_CHECK(ax_msa_builder_row_room(b, num_cols));
    const int64_t start = ax_msa_builder_row_start(b);
    if (num_cols > 0) {
        memcpy(b->residues + start, residues, (size_t)num_cols);
        memcpy(b->deletions + start, deletions, (size_t)num_cols * sizeof *deletions);
    }
    return ax_msa_builder_commit_row(b, name, name_len, num_cols);
}

/* Gives back capacity beyond the rows (a reservation from the input size overshoots a little);
 * a failed shrink keeps the larger block, which is still correct. */
static void shrink_to_fit(void **buf, int64_t cells, size_t elem_size) {
    if (*buf == NULL || cells <= 0) return;
    void *shrunk = realloc(*buf, (size_t)cells * elem_size);
    if (shrunk != NULL) *buf = shrunk;
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
    const int64_t cells = b->num_rows * b->num_cols;
    shrink_to_fit((void **)&b->residues, cells, sizeof *b->residues);
    shrink_to_fit((void **)&b->deletions, cells, sizeof *b->deletions);
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
