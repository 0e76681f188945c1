/*
 * residues.h — residue-name knowledge shared by the structure parsers and the features: one-letter
 * codes, parents of modified residues, nucleotides, waters, and polymer types.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_IO_RESIDUES_H
#define AXIAL_IO_RESIDUES_H

#include <stdint.h>

#include "axial/io.h"
#include "core/strmap.h"

/* Parents of modified residues as a file states them (mmCIF _pdbx_struct_mod_residue and
 * _chem_comp.mon_nstd_parent_comp_id, PDB MODRES): residue name -> parent name. A zeroed map is
 * empty; the first parent given for a name wins. */
typedef struct ax_parent_map {
    ax_strmap index;                       /* residue name -> index into names and parents */
    char (*names)[AX_STRUCTURE_ID_CAP];
    char (*parents)[AX_STRUCTURE_ID_CAP];
    int64_t names_cap, parents_cap;
} ax_parent_map;

/* Records `parent` for `name` unless the name has one already. Names that are empty, do not fit
 * AX_STRUCTURE_ID_CAP, or hold a comma (a list of parents) are ignored: such a record cannot name
 * one parent. Errors: AX_ERR_OUT_OF_MEMORY. */
ax_status ax_parent_map_add(ax_parent_map *map, const char *name, size_t name_len, const char *parent,
                            size_t parent_len);

/* Adds every entry of `from` to `map` (entries `map` has already keep their parent). Errors:
 * AX_ERR_OUT_OF_MEMORY. */
ax_status ax_parent_map_merge(ax_parent_map *map, const ax_parent_map *from);

/* Frees the map and leaves it empty. */
void ax_parent_map_free(ax_parent_map *map);

/* The standard amino acid (three-letter name, static) that a residue name stands for: the name
 * itself for the 20; else the parent the file states (`file`, may be NULL) when that parent is one
 * of the 20; else the parent in the built-in table of common modified residues (MSE -> MET, HYP ->
 * PRO, SEP -> SER, ...; docs/features.md lists it); else NULL. */
const char *ax_residue_parent_amino_acid(const ax_parent_map *file, const char *name);

/* One-letter code of that parent amino acid, or 'X' when there is none (as AlphaFold maps unknown
 * residues to X). */
char ax_residue_one_letter(const ax_parent_map *file, const char *name);

/* 1 for the names of the 20 standard amino acids. */
int ax_residue_is_standard(const char *name);

/* 1 for water names, the PDB's (HOH, DOD, H2O) and molecular dynamics tools' (WAT, SOL, TIP, TP3,
 * T3P, T4P, T5P, SPC), which are never part of a polymer. */
int ax_residue_is_water(const char *name);

/* Counts of a polymer's residues by kind, to tell its type where the file does not state it. */
typedef struct ax_polymer_census {
    int64_t amino_acids;   /* standard, modified with a known parent, or UNK */
    int64_t deoxy;         /* DA DC DG DT DI DU DN, or a residue whose stated parent is one */
    int64_t ribo;          /* A C G U I N, or a residue whose stated parent is one */
} ax_polymer_census;

/* Adds one polymer residue to the census. */
void ax_polymer_census_add(ax_polymer_census *census, const ax_parent_map *file, const char *name);

/* The type the census implies: protein when any residue is an amino acid (AlphaFold keeps a chain
 * with any peptide monomer), else DNA, RNA or a hybrid by the nucleotides, else other; none for an
 * empty census. */
ax_polymer_type ax_polymer_census_type(const ax_polymer_census *census);

/* The type an mmCIF _entity_poly.type value names (case-insensitive): polypeptide(L),
 * polypeptide(D) and cyclic-pseudo-peptide are protein; polydeoxyribonucleotide DNA;
 * polyribonucleotide RNA; polydeoxyribonucleotide/polyribonucleotide hybrid the hybrid; anything
 * else (polysaccharides, peptide nucleic acid, other) is other. */
ax_polymer_type ax_polymer_type_from_mmcif(const char *value, size_t len);

#endif /* AXIAL_IO_RESIDUES_H */
