/*
 * features.c — chain features from an alignment and/or a structure chain (AlphaFold conventions).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

#include "axial/features.h"
#include "core/internal.h"
#include "io/features_util.h"
#include "core/grow.h"
#include "io/residues.h"

void ax_chain_features_destroy(ax_chain_features *features) {
    if (features == NULL) return;
    free(features->sequence);
    free(features->aatype);
    free(features->residue_index);
    free(features->msa);
    free(features->deletion_matrix);
    free(features->all_atom_positions);
    free(features->all_atom_mask);
    free(features);
}

/* ax_chain_features_alloc, with the (num_alignments, seq_length) msa and deletion_matrix left
 * uninitialised when `zero_msa` is 0: for callers that overwrite every cell, zeroing hundreds of MB
 * first would only touch the memory twice. */
static ax_status features_alloc(int64_t seq_length, int64_t num_alignments, int with_structure, int zero_msa,
                                ax_chain_features **out) {
    if (out == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "out: NULL");
    *out = NULL;
    if (seq_length < 1)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "seq_length: %lld, expected >= 1", (long long)seq_length);
    if (num_alignments < 1)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "num_alignments: %lld, expected >= 1",
                            (long long)num_alignments);
    int64_t msa_count = 0, pos_count = 0;
    /* residue_index is int32, so L must fit it; the products must fit in bytes. */
    if (seq_length > INT32_MAX || !ax_feat_mul(num_alignments, seq_length, sizeof(int32_t), &msa_count) ||
        !ax_feat_mul(seq_length, AX_ATOM37_COUNT * 3, sizeof(float), &pos_count))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "features of %lld residues x %lld rows: size overflows",
                            (long long)seq_length, (long long)num_alignments);

    ax_chain_features *f = calloc(1, sizeof *f);
    if (f == NULL) return ax_set_error(AX_ERR_OUT_OF_MEMORY, "chain features: out of memory");
    f->seq_length = seq_length;
    f->num_alignments = num_alignments;
    f->sequence = malloc((size_t)seq_length + 1);
    f->aatype = malloc((size_t)seq_length * sizeof(int32_t));
    f->residue_index = malloc((size_t)seq_length * sizeof(int32_t));
    f->msa = zero_msa ? calloc((size_t)msa_count, sizeof(int32_t)) : malloc((size_t)msa_count * sizeof(int32_t));
    f->deletion_matrix = zero_msa ? calloc((size_t)msa_count, sizeof(int32_t))
                                  : malloc((size_t)msa_count * sizeof(int32_t));
    ax_advise_huge_pages(f->msa, (size_t)msa_count * sizeof(int32_t));
    ax_advise_huge_pages(f->deletion_matrix, (size_t)msa_count * sizeof(int32_t));
    int failed = f->sequence == NULL || f->aatype == NULL || f->residue_index == NULL || f->msa == NULL ||
                 f->deletion_matrix == NULL;
    if (with_structure && !failed) {
        f->all_atom_positions = calloc((size_t)pos_count, sizeof(float));
        f->all_atom_mask = calloc((size_t)seq_length * AX_ATOM37_COUNT, sizeof(float));
        failed = f->all_atom_positions == NULL || f->all_atom_mask == NULL;
    }
    if (failed) {
        ax_chain_features_destroy(f);
        return ax_set_error(AX_ERR_OUT_OF_MEMORY, "chain features of %lld residues x %lld rows: out of memory",
                            (long long)seq_length, (long long)num_alignments);
    }
    memset(f->sequence, 'X', (size_t)seq_length);
    f->sequence[seq_length] = '\0';
    for (int64_t i = 0; i < seq_length; i++) {
        f->aatype[i] = AX_RESTYPE_UNKNOWN;
        f->residue_index[i] = (int32_t)i;
    }
    *out = f;
    return AX_OK;
}

ax_status ax_chain_features_alloc(int64_t seq_length, int64_t num_alignments, int with_structure,
                                  ax_chain_features **out) {
    return features_alloc(seq_length, num_alignments, with_structure, 1, out);
}

static char upper_ascii(char c) { return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c; }

/* The sequence both inputs agree on, written into f->sequence; see the header for the 'X' rule. */
static ax_status merge_sequences(const ax_msa *msa, const ax_chain *chain, ax_chain_features *f) {
    const int64_t length = f->seq_length;
    if (msa != NULL) {
        for (int64_t i = 0; i < length; i++) {
            const char c = upper_ascii(msa->residues[i]);
            if (c == '-' || c == '.')
                return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                                    "msa: query row has a gap at position %lld (1-based); the query must be gap-free",
                                    (long long)(i + 1));
            if (c < 'A' || c > 'Z')
                return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                                    "msa: query row has character 0x%02x at position %lld (1-based)",
                                    (unsigned)(unsigned char)c, (long long)(i + 1));
            f->sequence[i] = c;
        }
    }
    if (chain == NULL) return AX_OK;
    for (int64_t i = 0; i < length; i++) {
        const char from_chain = upper_ascii(chain->sequence[i]);
        if (from_chain < 'A' || from_chain > 'Z')
            return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                                "chain %s: sequence has character 0x%02x at position %lld (1-based)", chain->id,
                                (unsigned)(unsigned char)from_chain, (long long)(i + 1));
        if (msa == NULL) {
            f->sequence[i] = from_chain;
            continue;
        }
        const char from_msa = f->sequence[i];
        if (from_chain == from_msa || from_chain == 'X') continue; /* keep the query's letter */
        if (from_msa == 'X') {
            f->sequence[i] = from_chain;
            continue;
        }
        return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                            "msa query and chain %s differ at position %lld (1-based): msa '%c', chain '%c'",
                            chain->id, (long long)(i + 1), from_msa, from_chain);
    }
    return AX_OK;
}

/* The residue type whose atoms a residue may fill, or -1 for any atom37 name. Standard residues
 * and those without a known parent keep every atom37 name, as AlphaFold does; a modified residue
 * read as its parent keeps only the parent's atoms, so that HYP's hydroxyl oxygen OD1 does not
 * pose as an aspartate oxygen on a proline. */
static int32_t atom_filter_of(const ax_residue *res) {
    if (ax_residue_is_standard(res->name)) return -1;
    const int32_t parent = ax_aatype_from_letter(res->one_letter);
    return parent == AX_RESTYPE_UNKNOWN ? -1 : parent;
}

static float squared_distance(const float *a, const float *b) {
    const float dx = a[0] - b[0], dy = a[1] - b[1], dz = a[2] - b[2];
    return dx * dx + dy * dy + dz * dz;
}

/* AlphaFold's arginine convention: NH1 is the guanidinium nitrogen nearer CD. The two are
 * chemically equivalent and files name them either way; a model predicting atom37 positions needs
 * one choice, so a pair named the other way round is swapped (masks are all 1 here). */
static void order_arginine_nh(float *positions, const float *mask) {
    const int32_t cd = ax_atom37_index("CD"), nh1 = ax_atom37_index("NH1"), nh2 = ax_atom37_index("NH2");
    if (mask[cd] != 1.0f || mask[nh1] != 1.0f || mask[nh2] != 1.0f) return;
    if (squared_distance(positions + nh1 * 3, positions + cd * 3) <=
        squared_distance(positions + nh2 * 3, positions + cd * 3))
        return;
    for (int k = 0; k < 3; k++) {
        const float t = positions[nh1 * 3 + k];
        positions[nh1 * 3 + k] = positions[nh2 * 3 + k];
        positions[nh2 * 3 + k] = t;
    }
}

static ax_status place_atoms(const ax_chain *chain, ax_chain_features *f) {
    for (int64_t r = 0; r < chain->num_residues; r++) {
        const ax_residue *res = &chain->residues[r];
        if (res->seq_index < 0) continue; /* ligands and waters */
        if (res->seq_index >= f->seq_length)
            return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                                "chain %s: residue %lld has seq_index %lld outside its sequence of %lld",
                                chain->id, (long long)r, (long long)res->seq_index, (long long)f->seq_length);
        if (res->first_atom < 0 || res->num_atoms < 0 || res->first_atom > chain->num_atoms ||
            res->num_atoms > chain->num_atoms - res->first_atom)
            return ax_set_error(AX_ERR_INVALID_ARGUMENT, "chain %s: residue %lld has atoms outside the chain",
                                chain->id, (long long)r);
        float *positions = f->all_atom_positions + res->seq_index * AX_ATOM37_COUNT * 3;
        float *mask = f->all_atom_mask + res->seq_index * AX_ATOM37_COUNT;
        const int32_t filter = atom_filter_of(res);
        for (int64_t a = 0; a < res->num_atoms; a++) {
            const ax_atom *atom = &chain->atoms[res->first_atom + a];
            const int32_t slot = ax_atom37_index(atom->name);
            if (slot < 0) continue;
            if (filter >= 0 && slot != AX_ATOM37_OXT && !ax_restype_has_atom37(filter, slot)) continue;
            positions[slot * 3 + 0] = atom->x;
            positions[slot * 3 + 1] = atom->y;
            positions[slot * 3 + 2] = atom->z;
            mask[slot] = 1.0f;
        }
        if (res->one_letter == 'R') order_arginine_nh(positions, mask);
    }
    return AX_OK;
}

ax_status ax_chain_features_create(const ax_msa *msa, const ax_chain *chain, double resolution,
                                   ax_chain_features **out) {
    if (out == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "out: NULL");
    *out = NULL;
    if (msa == NULL && chain == NULL)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "msa and chain: both NULL, need at least one");
    if (msa != NULL && (msa->num_rows < 1 || msa->num_cols < 1 || msa->residues == NULL || msa->deletions == NULL))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "msa: empty (%lld rows x %lld columns) or NULL arrays",
                            (long long)msa->num_rows, (long long)msa->num_cols);
    if (chain != NULL && (chain->seq_len < 1 || chain->sequence == NULL))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "chain %s: has no polymer residues", chain->id);
    if (chain != NULL && chain->polymer_type != AX_POLYMER_PROTEIN && chain->polymer_type != AX_POLYMER_NONE)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                            "chain %s: polymer type %s, not protein; features are made for protein chains only "
                            "(AlphaFold skips the others)",
                            chain->id, ax_polymer_type_name(chain->polymer_type));
    if (chain != NULL && chain->num_residues > 0 && (chain->residues == NULL || chain->atoms == NULL))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "chain %s: NULL residues or atoms", chain->id);
    if (msa != NULL && chain != NULL && msa->num_cols != chain->seq_len)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "msa query has %lld columns but chain %s has %lld residues",
                            (long long)msa->num_cols, chain->id, (long long)chain->seq_len);

    const int64_t length = msa != NULL ? msa->num_cols : chain->seq_len;
    const int64_t rows = msa != NULL ? msa->num_rows : 1;
    ax_chain_features *f = NULL;
    /* With an alignment every msa and deletion cell is written below; without one only row 0. */
    ax_status st = features_alloc(length, rows, chain != NULL, msa == NULL, &f);
    if (st != AX_OK) return st;
    AX_CHECK_GOTO(merge_sequences(msa, chain, f), st, fail);
    for (int64_t i = 0; i < length; i++) f->aatype[i] = ax_aatype_from_letter(f->sequence[i]);

    if (msa != NULL) {
        const int64_t count = rows * length;
        /* One table lookup per cell: MSAs have millions of cells, the mapping has 256 inputs. */
        int32_t token_of[256];
        for (int c = 0; c < 256; c++) token_of[c] = ax_msa_token_from_letter((char)c);
        /* One pass converts and copies; the checks fold into one OR of sign bits, so the loop has no
         * branches, and only a bad alignment pays for a second pass to name the first bad cell. */
        const char *restrict residues = msa->residues;
        const int32_t *restrict deletions = msa->deletions;
        int32_t *restrict tokens = f->msa, *restrict deletion_matrix = f->deletion_matrix;
        int32_t negative = 0;
        for (int64_t e = 0; e < count; e++) {
            const int32_t token = token_of[(unsigned char)residues[e]], deletion = deletions[e];
            tokens[e] = token;
            deletion_matrix[e] = deletion;
            negative |= token | deletion;
        }
        for (int64_t e = 0; negative < 0 && e < count; e++) {
            if (tokens[e] < 0) {
                st = ax_set_error(AX_ERR_INVALID_ARGUMENT, "msa: row %lld column %lld has character 0x%02x",
                                  (long long)(e / length), (long long)(e % length),
                                  (unsigned)(unsigned char)residues[e]);
                goto fail;
            }
            if (deletions[e] < 0) {
                st = ax_set_error(AX_ERR_INVALID_ARGUMENT, "msa: row %lld column %lld has deletion count %d",
                                  (long long)(e / length), (long long)(e % length), (int)deletions[e]);
                goto fail;
            }
        }
    } else {
        /* A chain without hits: its own sequence is the whole alignment (deletions stay 0). */
        for (int64_t i = 0; i < length; i++) f->msa[i] = ax_msa_token_from_letter(f->sequence[i]);
    }

    if (chain != NULL) {
        AX_CHECK_GOTO(place_atoms(chain, f), st, fail);
        f->resolution = resolution;
    }
    *out = f;
    return AX_OK;

fail:
    ax_chain_features_destroy(f);
    return st;
}

ax_status ax_chain_features_from_sequence(const char *sequence, ax_chain_features **out) {
    if (out == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "out: NULL");
    *out = NULL;
    if (sequence == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "sequence: NULL");
    const int64_t length = (int64_t)strlen(sequence);
    if (length == 0) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "sequence: empty");
    for (int64_t i = 0; i < length; i++) {
        const char c = upper_ascii(sequence[i]);
        if (c < 'A' || c > 'Z')
            return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                                "sequence: character 0x%02x at position %lld (1-based) is not a letter",
                                (unsigned)(unsigned char)sequence[i], (long long)(i + 1));
    }
    ax_chain_features *f = NULL;
    AX_CHECK(ax_chain_features_alloc(length, 1, 0, &f));
    for (int64_t i = 0; i < length; i++) {
        f->sequence[i] = upper_ascii(sequence[i]);
        f->aatype[i] = ax_aatype_from_letter(f->sequence[i]);
        f->msa[i] = ax_msa_token_from_letter(f->sequence[i]);
    }
    *out = f;
    return AX_OK;
}
