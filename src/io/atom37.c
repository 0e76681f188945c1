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

/* Heavy atoms of each standard residue type in restype order, by their PDB names (OXT, which any
 * residue ending a chain may have, is not listed, as in AlphaFold's restype_atom37_mask). */
static const char *const restype_atoms[AX_NUM_RESTYPES] = {
    "N CA C O CB",                                  /* ALA */
    "N CA C O CB CG CD NE CZ NH1 NH2",              /* ARG */
    "N CA C O CB CG OD1 ND2",                       /* ASN */
    "N CA C O CB CG OD1 OD2",                       /* ASP */
    "N CA C O CB SG",                               /* CYS */
    "N CA C O CB CG CD OE1 NE2",                    /* GLN */
    "N CA C O CB CG CD OE1 OE2",                    /* GLU */
    "N CA C O",                                     /* GLY */
    "N CA C O CB CG ND1 CD2 CE1 NE2",               /* HIS */
    "N CA C O CB CG1 CG2 CD1",                      /* ILE */
    "N CA C O CB CG CD1 CD2",                       /* LEU */
    "N CA C O CB CG CD CE NZ",                      /* LYS */
    "N CA C O CB CG SD CE",                         /* MET */
    "N CA C O CB CG CD1 CD2 CE1 CE2 CZ",            /* PHE */
    "N CA C O CB CG CD",                            /* PRO */
    "N CA C O CB OG",                               /* SER */
    "N CA C O CB OG1 CG2",                          /* THR */
    "N CA C O CB CG CD1 CD2 NE1 CE2 CE3 CZ2 CZ3 CH2", /* TRP */
    "N CA C O CB CG CD1 CD2 CE1 CE2 CZ OH",         /* TYR */
    "N CA C O CB CG1 CG2",                          /* VAL */
};

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

int ax_restype_has_atom37(int32_t aatype, int32_t atom37_index) {
    if (aatype < 0 || aatype >= AX_NUM_RESTYPES || atom37_index < 0 || atom37_index >= AX_ATOM37_COUNT) return 0;
    const char *name = atom37_names[atom37_index];
    const size_t len = strlen(name);
    /* A whole-word match in the space-separated list ("CD" must not match "CD1"). */
    for (const char *p = restype_atoms[aatype]; *p != '\0';) {
        const char *end = strchr(p, ' ');
        const size_t word = end != NULL ? (size_t)(end - p) : strlen(p);
        if (word == len && memcmp(p, name, len) == 0) return 1;
        p += word;
        while (*p == ' ') p++;
    }
    return 0;
}
