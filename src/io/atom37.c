/*
 * atom37.c — the AlphaFold token and atom orders: aatype, MSA tokens, atom37 names.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "axial/features.h"

/* AlphaFold's restype order: alphabetical by three-letter name, not by one-letter code. */
static const char restype_letters[] = "ARNDCQEGHILKMFPSTWYVX-";

static const char *const atom37_names[AX_ATOM37_COUNT] = {
    "N",   "CA",  "C",   "CB",  "O",   "CG",  "CG1", "CG2", "OG",  "OG1", "SG",  "CD",  "CD1",
    "CD2", "ND1", "ND2", "OD1", "OD2", "SD",  "CE",  "CE1", "CE2", "CE3", "NE",  "NE1", "NE2",
    "OE1", "OE2", "CH2", "NH1", "NH2", "OH",  "CZ",  "CZ2", "CZ3", "NZ",  "OXT"};

static char upper_ascii(char c) { return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c; }

int32_t ax_aatype_from_letter(char letter) {
    const char c = upper_ascii(letter);
    for (int32_t i = 0; i < AX_NUM_RESTYPES; i++)
        if (restype_letters[i] == c) return i;
    return AX_RESTYPE_UNKNOWN;
}

int32_t ax_msa_token_from_letter(char letter) {
    const char c = upper_ascii(letter);
    if (c == '-' || c == '.') return AX_MSA_GAP;
    if (c < 'A' || c > 'Z') return -1;
    /* HHblits folds the ambiguity codes onto one member: Asx -> Asp, Glx -> Glu, and
     * selenocysteine -> Cys; AlphaFold keeps that for MSA rows (but not for aatype). */
    switch (c) {
    case 'B': return ax_aatype_from_letter('D');
    case 'Z': return ax_aatype_from_letter('E');
    case 'U': return ax_aatype_from_letter('C');
    default: return ax_aatype_from_letter(c);
    }
}

char ax_token_letter(int32_t token) {
    if (token < 0 || token > AX_MSA_GAP) return '?';
    return restype_letters[token];
}

int32_t ax_atom37_index(const char *atom_name) {
    if (atom_name == NULL) return -1;
    for (int32_t i = 0; i < AX_ATOM37_COUNT; i++)
        if (strcmp(atom37_names[i], atom_name) == 0) return i;
    return -1;
}

const char *ax_atom37_name(int32_t index) {
    if (index < 0 || index >= AX_ATOM37_COUNT) return NULL;
    return atom37_names[index];
}
