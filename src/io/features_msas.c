/*
 * features_msas.c — chain features from several alignments of one query, with AlphaFold's
 * deduplication of rows by their aligned letters. A hash set over the kept rows makes the merge
 * linear in the number of rows: comparing each row with every kept one took seconds at 40,000 rows.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

#include "axial/features.h"
#include "core/internal.h"
#include "io/features_util.h"
#include "core/grow.h"

/* A row that goes into the features: pointers into one of the caller's alignments. */
typedef struct kept_row {
    const char *residues;     /* num_cols letters */
    const int32_t *deletions; /* num_cols counts */
} kept_row;

/* 64-bit hash of a row's letters. Rows of one family often differ in a single column, so every
 * byte must reach every bit: each 8-byte step multiplies by an odd constant (low bits spread
 * upward) and folds the high half back down, and the end is mixed once more. Equal hashes are
 * confirmed with memcmp, so a collision costs time, never a wrong answer. */
static uint64_t row_hash(const char *letters, int64_t n) {
    const uint64_t odd = 0x9e3779b97f4a7c15ull;
    uint64_t h = 0x243f6a8885a308d3ull ^ (uint64_t)n;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t word;
        memcpy(&word, letters + i, sizeof word);
        h = (h ^ word) * odd;
        h ^= h >> 29;
    }
    uint64_t tail = 0;
    memcpy(&tail, letters + i, (size_t)(n - i));
    h = (h ^ tail) * odd;
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ull;
    return h ^ (h >> 32);
}

/* Open addressing with linear probing over indices of kept rows. The table has at least twice as
 * many slots as rows, so probe runs stay short; each slot keeps its row's hash, so most probes
 * that do not match are rejected without reading the row. */
typedef struct row_set_slot {
    uint64_t hash;
    int64_t kept_index; /* -1: empty */
} row_set_slot;

typedef struct row_set {
    row_set_slot *slots;
    uint64_t mask; /* slots - 1, a power of two minus one */
} row_set;

static ax_status row_set_init(row_set *set, int64_t max_rows) {
    uint64_t slots = 16;
    while (slots < 2 * (uint64_t)max_rows) slots *= 2;
    if (slots > SIZE_MAX / sizeof(row_set_slot))
        return ax_set_error(AX_ERR_OUT_OF_MEMORY, "msas: hash set of %lld rows: out of memory", (long long)max_rows);
    set->slots = malloc((size_t)slots * sizeof(row_set_slot));
    if (set->slots == NULL)
        return ax_set_error(AX_ERR_OUT_OF_MEMORY, "msas: hash set of %lld rows: out of memory", (long long)max_rows);
    for (uint64_t i = 0; i < slots; i++) set->slots[i].kept_index = -1;
    set->mask = slots - 1;
    return AX_OK;
}

/* Adds row `kept[count]` unless an equal row is already in the set; returns 1 when it was added. */
static int row_set_add(row_set *set, const kept_row *kept, int64_t count, int64_t num_cols) {
    const char *letters = kept[count].residues;
    const uint64_t h = row_hash(letters, num_cols);
    for (uint64_t i = h & set->mask;; i = (i + 1) & set->mask) {
        row_set_slot *slot = &set->slots[i];
        if (slot->kept_index < 0) {
            slot->hash = h;
            slot->kept_index = count;
            return 1;
        }
        if (slot->hash == h && memcmp(kept[slot->kept_index].residues, letters, (size_t)num_cols) == 0) return 0;
    }
}

/* "msas[m]: row r" for a kept row, found by address (only on the error path). */
static void locate_row(const ax_msa *const *msas, int64_t num_msas, const char *residues, int64_t *msa_index,
                       int64_t *row) {
    for (int64_t m = 0; m < num_msas; m++) {
        const char *base = msas[m]->residues;
        if (residues >= base && residues < base + msas[m]->num_rows * msas[m]->num_cols) {
            *msa_index = m;
            *row = (residues - base) / msas[m]->num_cols;
            return;
        }
    }
    *msa_index = *row = -1;
}

/* Tokens and deletions of the kept rows into (count, num_cols) arrays. As in features.c, the checks
 * fold into one OR of sign bits so the loop has no branches, and only bad input pays for a second
 * pass that names the first bad cell. */
static ax_status convert_rows(const ax_msa *const *msas, int64_t num_msas, const kept_row *kept, int64_t count,
                              int64_t num_cols, int32_t *restrict tokens, int32_t *restrict deletion_matrix) {
    int32_t token_of[256];
    for (int c = 0; c < 256; c++) token_of[c] = ax_msa_token_from_letter((char)c);
    int32_t negative = 0;
    for (int64_t k = 0; k < count; k++) {
        const unsigned char *restrict letters = (const unsigned char *)kept[k].residues;
        const int32_t *restrict deletions = kept[k].deletions;
        int32_t *restrict token_row = tokens + k * num_cols, *restrict deletion_row = deletion_matrix + k * num_cols;
        for (int64_t c = 0; c < num_cols; c++) {
            const int32_t token = token_of[letters[c]], deletion = deletions[c];
            token_row[c] = token;
            deletion_row[c] = deletion;
            negative |= token | deletion;
        }
    }
    for (int64_t e = 0; negative < 0 && e < count * num_cols; e++) {
        if (tokens[e] >= 0 && deletion_matrix[e] >= 0) continue;
        const kept_row *source = &kept[e / num_cols];
        const int64_t col = e % num_cols;
        int64_t m = 0, row = 0;
        locate_row(msas, num_msas, source->residues, &m, &row);
        if (tokens[e] < 0)
            return ax_set_error(AX_ERR_INVALID_ARGUMENT, "msas[%lld]: row %lld column %lld has character 0x%02x",
                                (long long)m, (long long)row, (long long)col,
                                (unsigned)(unsigned char)source->residues[col]);
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "msas[%lld]: row %lld column %lld has deletion count %d",
                            (long long)m, (long long)row, (long long)col, (int)source->deletions[col]);
    }
    return AX_OK;
}

static ax_status check_msas(const ax_msa *const *msas, int64_t num_msas, int64_t *total_rows) {
    int64_t total = 0;
    for (int64_t m = 0; m < num_msas; m++) {
        const ax_msa *msa = msas[m];
        if (msa == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "msas[%lld]: NULL", (long long)m);
        if (msa->num_rows < 1 || msa->num_cols < 1 || msa->residues == NULL || msa->deletions == NULL)
            return ax_set_error(AX_ERR_INVALID_ARGUMENT, "msas[%lld]: empty (%lld rows x %lld columns) or NULL arrays",
                                (long long)m, (long long)msa->num_rows, (long long)msa->num_cols);
        if (msa->num_cols != msas[0]->num_cols)
            return ax_set_error(AX_ERR_INVALID_ARGUMENT, "msas[%lld] has %lld columns but msas[0] has %lld",
                                (long long)m, (long long)msa->num_cols, (long long)msas[0]->num_cols);
        int64_t cells = 0;
        if (msa->num_rows > INT64_MAX - total ||
            !ax_feat_mul(total + msa->num_rows, msa->num_cols, sizeof(int32_t), &cells))
            return ax_set_error(AX_ERR_INVALID_ARGUMENT, "msas: %lld alignments of %lld columns: size overflows",
                                (long long)num_msas, (long long)msa->num_cols);
        total += msa->num_rows;
    }
    *total_rows = total;
    return AX_OK;
}

ax_status ax_chain_features_from_msas(const ax_msa *const *msas, int64_t num_msas, const ax_chain *chain,
                                      double resolution, const ax_chain_features_config *cfg,
                                      ax_chain_features **out) {
    if (out == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "out: NULL");
    *out = NULL;
    const ax_chain_features_config defaults = AX_CHAIN_FEATURES_CONFIG_INIT;
    if (cfg == NULL) cfg = &defaults;
    if (cfg->struct_size != sizeof(ax_chain_features_config))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                            "cfg->struct_size: %zu is not a known ax_chain_features_config size (use "
                            "AX_CHAIN_FEATURES_CONFIG_INIT)",
                            cfg->struct_size);
    if (num_msas < 0)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "num_msas: %lld, expected >= 0", (long long)num_msas);
    if (num_msas > 0 && msas == NULL)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "msas: NULL with num_msas %lld", (long long)num_msas);
    if (num_msas == 0) {
        if (chain == NULL)
            return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                                "msas and chain: no alignment and no chain, need at least one");
        return ax_chain_features_create(NULL, chain, resolution, out);
    }
    int64_t total_rows = 0;
    AX_CHECK(check_msas(msas, num_msas, &total_rows));
    const int64_t num_cols = msas[0]->num_cols;

    ax_status st = AX_OK;
    ax_chain_features *f = NULL;
    int32_t *tokens = NULL, *deletion_matrix = NULL;
    row_set set = {NULL, 0};
    kept_row *kept = malloc((size_t)total_rows * sizeof *kept);
    if (kept == NULL) {
        st = ax_set_error(AX_ERR_OUT_OF_MEMORY, "msas: %lld rows: out of memory", (long long)total_rows);
        goto done;
    }
    const int dedup = !cfg->keep_duplicate_rows;
    if (dedup) AX_CHECK_GOTO(row_set_init(&set, total_rows), st, done);
    int64_t count = 0;
    for (int64_t m = 0; m < num_msas; m++) {
        for (int64_t r = 0; r < msas[m]->num_rows; r++) {
            kept[count].residues = msas[m]->residues + r * num_cols;
            kept[count].deletions = msas[m]->deletions + r * num_cols;
            count += dedup ? row_set_add(&set, kept, count, num_cols) : 1;
        }
    }

    /* The query alone goes through ax_chain_features_create, which checks it (and the chain) and
     * makes the sequence and structure arrays; the alignment rows are then put in place. */
    ax_msa query = *msas[0];
    query.num_rows = 1;
    AX_CHECK_GOTO(ax_chain_features_create(&query, chain, resolution, &f), st, done);
    const size_t bytes = (size_t)(count * num_cols) * sizeof(int32_t);
    tokens = malloc(bytes);
    deletion_matrix = malloc(bytes);
    if (tokens == NULL || deletion_matrix == NULL) {
        st = ax_set_error(AX_ERR_OUT_OF_MEMORY, "chain features of %lld residues x %lld rows: out of memory",
                          (long long)num_cols, (long long)count);
        goto done;
    }
    ax_advise_huge_pages(tokens, bytes);
    ax_advise_huge_pages(deletion_matrix, bytes);
    AX_CHECK_GOTO(convert_rows(msas, num_msas, kept, count, num_cols, tokens, deletion_matrix), st, done);
    free(f->msa);
    free(f->deletion_matrix);
    f->msa = tokens;
    f->deletion_matrix = deletion_matrix;
    f->num_alignments = count;
    tokens = deletion_matrix = NULL;
    *out = f;
    f = NULL;

done:
    ax_chain_features_destroy(f);
    free(tokens);
    free(deletion_matrix);
    free(set.slots);
    free(kept);
    return st;
}
