/*
 * residues.c — residue names to one-letter codes and parents, nucleotides, polymer types.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "io/residues.h"

#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "core/grow.h"

static const struct {
    const char name[4];
    char code;
} amino_acids[] = {
    {"ALA", 'A'}, {"ARG", 'R'}, {"ASN", 'N'}, {"ASP", 'D'}, {"CYS", 'C'}, {"GLN", 'Q'}, {"GLU", 'E'},
    {"GLY", 'G'}, {"HIS", 'H'}, {"ILE", 'I'}, {"LEU", 'L'}, {"LYS", 'K'}, {"MET", 'M'}, {"PHE", 'F'},
    {"PRO", 'P'}, {"SER", 'S'}, {"THR", 'T'}, {"TRP", 'W'}, {"TYR", 'Y'}, {"VAL", 'V'},
};

/* Common modified amino acids of the PDB and their parents, each as the wwPDB Chemical Component
 * Dictionary states it (_chem_comp.mon_nstd_parent_comp_id). Files that carry their own records
 * are read from those first; this table serves files without them. Selenocysteine (SEC) is not
 * here: the dictionary gives it no parent. */
static const struct {
    const char name[4];
    const char parent[4];
} modified[] = {
    {"MSE", "MET"}, /* selenomethionine */
    {"FME", "MET"}, /* N-formylmethionine */
    {"CXM", "MET"}, /* N-carboxymethionine */
    {"MHO", "MET"}, /* S-oxymethionine */
    {"HYP", "PRO"}, /* 4-hydroxyproline */
    {"HY3", "PRO"}, /* 3-hydroxyproline */
    {"SEP", "SER"}, /* phosphoserine */
    {"SAC", "SER"}, /* N-acetylserine */
    {"TPO", "THR"}, /* phosphothreonine */
    {"PTR", "TYR"}, /* O-phosphotyrosine */
    {"TYS", "TYR"}, /* O-sulfotyrosine */
    {"MLY", "LYS"}, /* N-dimethyllysine */
    {"M3L", "LYS"}, /* N-trimethyllysine */
    {"MLZ", "LYS"}, /* N-methyllysine */
    {"ALY", "LYS"}, /* N6-acetyllysine */
    {"KCX", "LYS"}, /* lysine NZ-carboxylic acid */
    {"LLP", "LYS"}, /* lysine-pyridoxal-5'-phosphate Schiff base */
    {"LYZ", "LYS"}, /* 5-hydroxylysine */
    {"CSO", "CYS"}, /* S-hydroxycysteine */
    {"CME", "CYS"}, /* S,S-(2-hydroxyethyl)thiocysteine */
    {"CSD", "CYS"}, /* 3-sulfinoalanine */
    {"OCS", "CYS"}, /* cysteinesulfonic acid */
    {"CSS", "CYS"}, /* S-mercaptocysteine */
    {"CSX", "CYS"}, /* S-oxycysteine */
    {"CAS", "CYS"}, /* S-(dimethylarsenic)cysteine */
    {"SMC", "CYS"}, /* S-methylcysteine */
    {"YCM", "CYS"}, /* S-(2-amino-2-oxoethyl)cysteine */
    {"PCA", "GLN"}, /* pyroglutamic acid */
    {"CGU", "GLU"}, /* gamma-carboxyglutamic acid */
    {"PHD", "ASP"}, /* aspartyl phosphate */
    {"MEN", "ASN"}, /* N-methylasparagine */
    {"HIC", "HIS"}, /* 4-methylhistidine */
    {"NEP", "HIS"}, /* N1-phosphonohistidine */
    {"AGM", "ARG"}, /* 5-methylarginine */
    {"NLE", "LEU"}, /* norleucine */
    {"MLE", "LEU"}, /* N-methylleucine */
    {"MVA", "VAL"}, /* N-methylvaline */
    {"ABA", "ALA"}, /* alpha-aminobutyric acid */
};

static const char *const deoxy_names[] = {"DA", "DC", "DG", "DT", "DI", "DU", "DN"};
static const char *const ribo_names[] = {"A", "C", "G", "U", "I", "N"};

static int standard_index(const char *name) {
    for (int i = 0; i < (int)(sizeof amino_acids / sizeof amino_acids[0]); i++)
        if (strcmp(name, amino_acids[i].name) == 0) return i;
    return -1;
}

int ax_residue_is_standard(const char *name) { return standard_index(name) >= 0; }

ax_status ax_parent_map_add(ax_parent_map *map, const char *name, size_t name_len, const char *parent,
                            size_t parent_len) {
    if (name_len == 0 || parent_len == 0 || name_len >= AX_STRUCTURE_ID_CAP || parent_len >= AX_STRUCTURE_ID_CAP ||
        memchr(parent, ',', parent_len) != NULL)
        return AX_OK;
    int64_t existing = 0;
    if (ax_strmap_find(&map->index, name, name_len, &existing)) return AX_OK;
    const int64_t index = map->index.count;
    AX_CHECK(ax_grow((void **)&map->names, &map->names_cap, index + 1, sizeof *map->names));
    AX_CHECK(ax_grow((void **)&map->parents, &map->parents_cap, index + 1, sizeof *map->parents));
    AX_CHECK(ax_strmap_add(&map->index, name, name_len, index));
    memcpy(map->names[index], name, name_len);
    map->names[index][name_len] = '\0';
    memcpy(map->parents[index], parent, parent_len);
    map->parents[index][parent_len] = '\0';
    return AX_OK;
}

ax_status ax_parent_map_merge(ax_parent_map *map, const ax_parent_map *from) {
    for (int64_t i = 0; i < from->index.count; i++)
        AX_CHECK(ax_parent_map_add(map, from->names[i], strlen(from->names[i]), from->parents[i],
                                   strlen(from->parents[i])));
    return AX_OK;
}

void ax_parent_map_free(ax_parent_map *map) {
    ax_strmap_free(&map->index);
    free(map->names);
    free(map->parents);
    memset(map, 0, sizeof *map);
}

/* The parent the file states for `name`, or NULL. */
static const char *file_parent(const ax_parent_map *file, const char *name) {
    int64_t index = 0;
    if (file == NULL || !ax_strmap_find(&file->index, name, strlen(name), &index)) return NULL;
    return file->parents[index];
}

const char *ax_residue_parent_amino_acid(const ax_parent_map *file, const char *name) {
    int i = standard_index(name);
    if (i >= 0) return amino_acids[i].name;
    const char *stated = file_parent(file, name);
    if (stated != NULL && (i = standard_index(stated)) >= 0) return amino_acids[i].name;
    for (size_t k = 0; k < sizeof modified / sizeof modified[0]; k++)
        if (strcmp(name, modified[k].name) == 0) return amino_acids[standard_index(modified[k].parent)].name;
    return NULL;
}

char ax_residue_one_letter(const ax_parent_map *file, const char *name) {
    const char *parent = ax_residue_parent_amino_acid(file, name);
    return parent == NULL ? 'X' : amino_acids[standard_index(parent)].code;
}

static int in_list(const char *name, const char *const *list, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(name, list[i]) == 0) return 1;
    return 0;
}

#define IN_LIST(name, list) in_list((name), (list), sizeof(list) / sizeof(list)[0])

int ax_residue_is_water(const char *name) {
    /* The PDB's, then molecular dynamics tools': GROMACS's SOL, CHARMM's TIP3/TIP4/TIP5 (a 4-letter
     * name; columns 18-20 hold "TIP"), Amber's and others' WAT, TP3, T3P, T4P, T5P, SPC. */
    static const char *const names[] = {"HOH", "DOD", "H2O", "WAT", "SOL", "TIP", "TP3", "T3P", "T4P", "T5P", "SPC"};
    return IN_LIST(name, names);
}

void ax_polymer_census_add(ax_polymer_census *census, const ax_parent_map *file, const char *name) {
    if (ax_residue_parent_amino_acid(file, name) != NULL || strcmp(name, "UNK") == 0) {
        census->amino_acids++;
        return;
    }
    const char *stated = file_parent(file, name);
    if (IN_LIST(name, deoxy_names) || (stated != NULL && IN_LIST(stated, deoxy_names))) census->deoxy++;
    else if (IN_LIST(name, ribo_names) || (stated != NULL && IN_LIST(stated, ribo_names))) census->ribo++;
}

ax_polymer_type ax_polymer_census_type(const ax_polymer_census *census) {
    if (census->amino_acids > 0) return AX_POLYMER_PROTEIN;
    if (census->deoxy > 0 && census->ribo > 0) return AX_POLYMER_DNA_RNA_HYBRID;
    if (census->deoxy > 0) return AX_POLYMER_DNA;
    if (census->ribo > 0) return AX_POLYMER_RNA;
    return AX_POLYMER_OTHER;
}

static int equal_nocase(const char *a, size_t len, const char *lower) {
    if (len != strlen(lower)) return 0;
    for (size_t i = 0; i < len; i++) {
        const char c = a[i] >= 'A' && a[i] <= 'Z' ? (char)(a[i] - 'A' + 'a') : a[i];
        if (c != lower[i]) return 0;
    }
    return 1;
}

ax_polymer_type ax_polymer_type_from_mmcif(const char *value, size_t len) {
    if (equal_nocase(value, len, "polypeptide(l)") || equal_nocase(value, len, "polypeptide(d)") ||
        equal_nocase(value, len, "cyclic-pseudo-peptide"))
        return AX_POLYMER_PROTEIN;
    if (equal_nocase(value, len, "polydeoxyribonucleotide")) return AX_POLYMER_DNA;
    if (equal_nocase(value, len, "polyribonucleotide")) return AX_POLYMER_RNA;
    if (equal_nocase(value, len, "polydeoxyribonucleotide/polyribonucleotide hybrid"))
        return AX_POLYMER_DNA_RNA_HYBRID;
    return AX_POLYMER_OTHER;
}

const char *ax_polymer_type_name(ax_polymer_type type) {
    switch (type) {
    case AX_POLYMER_NONE: return "none";
    case AX_POLYMER_PROTEIN: return "protein";
    case AX_POLYMER_DNA: return "DNA";
    case AX_POLYMER_RNA: return "RNA";
    case AX_POLYMER_DNA_RNA_HYBRID: return "DNA/RNA hybrid";
    case AX_POLYMER_OTHER: return "other";
    }
    return "unknown";
}
