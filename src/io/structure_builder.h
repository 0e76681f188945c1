/*
 * structure_builder.h — turns the flat atom table that the mmCIF and PDB parsers collect into an
 * ax_structure (chains -> residues -> atoms, polymer sequence and resolved mask), applying the
 * shared conventions: alternate locations, MSE -> MET, one-letter codes (modified residues as their
 * parent), and the polymer type told by the residue names.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_IO_STRUCTURE_BUILDER_H
#define AXIAL_IO_STRUCTURE_BUILDER_H

#include <stdint.h>

#include "axial/io.h"
#include "io/residues.h"
#include "core/strmap.h"

#define AX_NO_LABEL_SEQ INT32_MIN

/* One atom record as read from the file (first model only). */
typedef struct ax_atom_record {
    char chain_id[AX_STRUCTURE_ID_CAP];  /* author chain id */
    char asym_id[AX_STRUCTURE_ID_CAP];   /* mmCIF label_asym_id; the chain id for PDB */
    char entity_id[AX_STRUCTURE_ID_CAP]; /* "" when unknown */
    char res_name[AX_STRUCTURE_ID_CAP];  /* as written (MSE not yet renamed) */
    char atom_name[AX_STRUCTURE_ID_CAP];
    char element[4];
    char ins_code;                       /* ' ' when none */
    int8_t polymer;                      /* 1 when the residue belongs to its chain's polymer */
    int8_t group_atom;                   /* mmCIF: group_PDB is ATOM (the polymer guess's fallback) */
    int32_t res_num;                     /* author residue number */
    int32_t label_seq;                   /* mmCIF label_seq_id when its entity has a sequence, else AX_NO_LABEL_SEQ */
    float x, y, z, occupancy, b_factor;
    int64_t line;                        /* source line, for messages */
} ax_atom_record;

/* A polymer entity's sequence from mmCIF _entity_poly_seq. */
typedef struct ax_entity_seq {
    char entity_id[AX_STRUCTURE_ID_CAP];
    int64_t len;
    int32_t *nums;       /* len strictly increasing monomer numbers */
    char *one_letter;    /* len one-letter codes, NUL-terminated */
} ax_entity_seq;

typedef struct ax_structure_input {
    const char *source;                 /* for messages */
    const ax_atom_record *atoms;        /* in file order */
    int64_t num_atoms;
    const ax_entity_seq *entities;      /* may be NULL (PDB) */
    const ax_strmap *entity_index;      /* entity id -> index into entities; NULL with entities */
    const ax_parent_map *parents;       /* parents of modified residues the file states; may be NULL */
    double resolution;
} ax_structure_input;

/* Builds the structure from at least one atom (the parsers report an empty table themselves, with
 * its line). A polymer record whose label_seq is AX_NO_LABEL_SEQ, or whose entity has no sequence,
 * extends the chain's sequence in file order. Each chain's polymer_type is the one its polymer
 * residues' names tell (ax_polymer_census_type); the mmCIF parser then puts the file's own
 * _entity_poly.type in its place where there is one. Errors (AX_ERR_FORMAT, naming the record's
 * line): a label_seq missing from the entity's sequence; a polymer residue that appears twice. */
ax_status ax_structure_assemble(const ax_structure_input *in, ax_structure **out);

#endif /* AXIAL_IO_STRUCTURE_BUILDER_H */
