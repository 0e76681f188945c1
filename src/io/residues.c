/*
 * residues.c — residue names to one-letter codes.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "io/residues.h"

#include <string.h>

static const struct {
    const char name[4];
    char code;
} amino_acids[] = {
    {"ALA", 'A'}, {"ARG", 'R'}, {"ASN", 'N'}, {"ASP", 'D'}, {"CYS", 'C'}, {"GLN", 'Q'}, {"GLU", 'E'},
    {"GLY", 'G'}, {"HIS", 'H'}, {"ILE", 'I'}, {"LEU", 'L'}, {"LYS", 'K'}, {"MET", 'M'}, {"PHE", 'F'},
    {"PRO", 'P'}, {"SER", 'S'}, {"THR", 'T'}, {"TRP", 'W'}, {"TYR", 'Y'}, {"VAL", 'V'}, {"MSE", 'M'},
};

char ax_residue_one_letter(const char *name) {
    for (size_t i = 0; i < sizeof amino_acids / sizeof amino_acids[0]; i++)
        if (strcmp(name, amino_acids[i].name) == 0) return amino_acids[i].code;
    return 'X';
}

int ax_residue_is_water(const char *name) {
    return strcmp(name, "HOH") == 0 || strcmp(name, "WAT") == 0 || strcmp(name, "DOD") == 0 ||
           strcmp(name, "H2O") == 0;
}
