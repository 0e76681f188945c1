/*
 * pdb.c — PDB-format structures (fixed columns, wwPDB format v3.3), first model only.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "axial/io.h"
#include "core/internal.h"
#include "core/grow.h"
#include "io/line_reader.h"
#include "io/parse_number.h"
#include "io/residues.h"
#include "io/structure_builder.h"

typedef struct pdb_state {
    ax_line_reader lr;
    ax_atom_record *atoms;
    int64_t num_atoms;
    int64_t atoms_cap;
    unsigned char terminated[256]; /* chain ids whose TER record was seen: later HETATMs are ligands */
    unsigned char resumed[256];    /* chain ids whose ATOM records went on after a TER */
    char last_chain;               /* chain of the last atom, for TER records without a chain id */
    double resolution;
    int64_t models;                /* MODEL records seen */
    ax_parent_map parents;         /* from MODRES records */
} pdb_state;

/* Columns [first, last] (1-based, inclusive, as the format specification numbers them) of the
 * current line, clipped to its length and trimmed of blanks. */
static size_t columns(const ax_line_reader *lr, size_t first, size_t last, const char **text) {
    if (lr->line_len < first) {
        *text = lr->line + lr->line_len;
        return 0;
    }
    const size_t end = last < lr->line_len ? last : lr->line_len;
    *text = lr->line + first - 1;
    return ax_trim(text, end - first + 1);
}

static ax_status number_field(const pdb_state *s, size_t first, size_t last, const char *what, float fallback,
                              float *out) {
    const char *text;
    const size_t len = columns(&s->lr, first, last, &text);
    if (len == 0) {
        *out = fallback;
        return AX_OK;
    }
    double value = 0.0;
    if (!ax_parse_double(text, len, &value))
        return ax_line_fail(&s->lr, AX_ERR_FORMAT, (int64_t)first, "%s '%.*s' %s", what, (int)len, text,
                            ax_number_refusal(text, len, 0));
    if (!(fabs(value) <= FLT_MAX))
        return ax_line_fail(&s->lr, AX_ERR_FORMAT, (int64_t)first, "%s '%.*s' is outside the float range", what,
                            (int)len, text);
    *out = (float)value;
    return AX_OK;
}

static ax_status text_field(const pdb_state *s, size_t first, size_t last, const char *what, char *dst,
                            size_t cap) {
    const char *text;
    const size_t len = columns(&s->lr, first, last, &text);
    if (len == 0) return ax_line_fail(&s->lr, AX_ERR_FORMAT, (int64_t)first, "%s is blank", what);
    if (len >= cap) return ax_line_fail(&s->lr, AX_ERR_FORMAT, (int64_t)first, "%s is too long", what);
    memcpy(dst, text, len);
    dst[len] = '\0';
    return AX_OK;
}

static ax_status parse_atom(pdb_state *s, int hetatm) {
    const ax_line_reader *lr = &s->lr;
    if (lr->line_len < 54)
        return ax_line_fail(lr, AX_ERR_FORMAT, (int64_t)lr->line_len + 1,
                            "%s record ends at column %zu, before its coordinates (columns 31-54)",
                            hetatm ? "HETATM" : "ATOM", lr->line_len);
    ax_atom_record r;
    memset(&r, 0, sizeof r);
    r.line = lr->line_no;
    AX_CHECK(text_field(s, 13, 16, "atom name", r.atom_name, sizeof r.atom_name));
    AX_CHECK(text_field(s, 18, 20, "residue name", r.res_name, sizeof r.res_name));
    r.chain_id[0] = lr->line[21];
    memcpy(r.asym_id, r.chain_id, sizeof r.asym_id);
    const char *text;
    size_t len = columns(lr, 23, 26, &text);
    if (!ax_parse_int32(text, len, &r.res_num))
        return ax_line_fail(lr, AX_ERR_FORMAT, 23, "residue number '%.*s' is not an integer (hybrid-36 is not supported)",
                            (int)len, text);
    r.ins_code = lr->line[26] != ' ' ? lr->line[26] : ' ';
    r.label_seq = AX_NO_LABEL_SEQ;
    AX_CHECK(number_field(s, 31, 38, "x", 0.0f, &r.x));
    AX_CHECK(number_field(s, 39, 46, "y", 0.0f, &r.y));
    AX_CHECK(number_field(s, 47, 54, "z", 0.0f, &r.z));
    if (columns(lr, 31, 38, &text) == 0 || columns(lr, 39, 46, &text) == 0 || columns(lr, 47, 54, &text) == 0)
        return ax_line_fail(lr, AX_ERR_FORMAT, 31, "blank coordinate");
    AX_CHECK(number_field(s, 55, 60, "occupancy", 1.0f, &r.occupancy));
    AX_CHECK(number_field(s, 61, 66, "temperature factor", 0.0f, &r.b_factor));
    len = columns(lr, 77, 78, &text);
    memcpy(r.element, text, len);
    r.element[len] = '\0';
    const unsigned char chain = (unsigned char)r.chain_id[0];
    /* Modified residues (MSE, ...) are HETATMs inside the chain, before its TER; ligands come after
     * it. Waters are never in it, as ATOM records too (Amber's WAT, GROMACS's SOL, CHARMM's TIP3...).
     * ATOM records after a TER resume the chain (a chain in segments, or chains sharing a blank id)
     * when they name a polymer unit: an amino acid (UNK, MSE, or a MODRES parent) or a nucleotide (by
     * name or MODRES parent), as the polymer census counts them. A TER may then only separate
     * chains, with the ligands after the last one unmarked, so a resumed chain takes only such
     * units, ATOM or HETATM: the segment's MSE goes back in the sequence; a NAG, an ion or an MD
     * solvent written as ATOM records (NA, CL, POPC) stays out. */
    const int water = ax_residue_is_water(r.res_name);
    int unit = 1; /* asked only after a TER: the lookup is not free, and most atoms come before it */
    if (s->terminated[chain] || s->resumed[chain]) {
        ax_polymer_census census = {0, 0, 0};
        ax_polymer_census_add(&census, &s->parents, r.res_name);
        unit = census.amino_acids + census.deoxy + census.ribo > 0;
    }
    if (!hetatm && !water && unit && s->terminated[chain]) {
        s->terminated[chain] = 0;
        s->resumed[chain] = 1;
    }
    r.polymer = (int8_t)(!water && !s->terminated[chain] && unit);
    s->last_chain = r.chain_id[0];
    AX_CHECK(ax_grow((void **)&s->atoms, &s->atoms_cap, s->num_atoms + 1, sizeof *s->atoms));
    s->atoms[s->num_atoms++] = r;
    return AX_OK;
}

static int starts_with(const ax_line_reader *lr, const char *prefix) {
    const size_t n = strlen(prefix);
    return lr->line_len >= n && memcmp(lr->line, prefix, n) == 0;
}

/* "REMARK   2 RESOLUTION. 2.25 ANGSTROMS." -> 2.25; "NOT APPLICABLE" leaves it unset. */
static void parse_resolution(pdb_state *s) {
    const char *text = s->lr.line + 22;
    size_t len = ax_trim(&text, s->lr.line_len - 22);
    size_t word = 0;
    while (word < len && text[word] != ' ') word++;
    double value = 0.0;
    if (ax_parse_double(text, word, &value)) s->resolution = value;
}

/* "MODRES 2N0N AIB A    2  ALA  ALPHA-AMINOISOBUTYRIC ACID": residue name in columns 13-15, its
 * standard parent in 25-27. A record with either blank says nothing and is skipped. */
static ax_status parse_modres(pdb_state *s) {
    const char *name, *parent;
    const size_t name_len = columns(&s->lr, 13, 15, &name);
    const size_t parent_len = columns(&s->lr, 25, 27, &parent);
    return ax_parent_map_add(&s->parents, name, name_len, parent, parent_len);
}

static ax_status parse_lines(pdb_state *s) {
    for (;;) {
        int has_line = 0;
        AX_CHECK(ax_line_reader_next(&s->lr, &has_line));
        if (!has_line) break;
        const ax_line_reader *lr = &s->lr;
        if (starts_with(lr, "ATOM  ") || starts_with(lr, "HETATM")) {
            AX_CHECK(parse_atom(s, lr->line[0] == 'H'));
        } else if (starts_with(lr, "MODEL")) {
            if (++s->models > 1) break; /* a second model without ENDMDL before it */
        } else if (starts_with(lr, "ENDMDL")) {
            break;
        } else if (starts_with(lr, "TER")) {
            const char chain = lr->line_len > 21 && lr->line[21] != ' ' ? lr->line[21] : s->last_chain;
            s->terminated[(unsigned char)chain] = 1;
        } else if (starts_with(lr, "END") && (lr->line_len == 3 || lr->line[3] == ' ')) {
            break;
        } else if (starts_with(lr, "REMARK   2 RESOLUTION.")) {
            parse_resolution(s);
        } else if (starts_with(lr, "MODRES")) {
            AX_CHECK(parse_modres(s));
        }
    }
    if (s->num_atoms == 0)
        return ax_line_fail(&s->lr, AX_ERR_FORMAT, 0, "no ATOM or HETATM records (not a PDB file?)");
    return AX_OK;
}

static ax_status pdb_run(pdb_state *s, ax_structure **out) {
    ax_status st = parse_lines(s);
    if (st == AX_OK) {
        ax_structure_input in;
        memset(&in, 0, sizeof in);
        in.source = s->lr.source;
        in.atoms = s->atoms;
        in.num_atoms = s->num_atoms;
        in.resolution = s->resolution;
        in.parents = &s->parents;
        st = ax_structure_assemble(&in, out);
    }
    ax_line_reader_close(&s->lr);
    free(s->atoms);
    ax_parent_map_free(&s->parents);
    return st;
}

ax_status ax_pdb_read(const char *path, ax_structure **out) {
    if (out == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "out is NULL");
    *out = NULL;
    pdb_state s;
    memset(&s, 0, sizeof s);
    AX_CHECK(ax_line_reader_open_path(&s.lr, path));
    return pdb_run(&s, out);
}

ax_status ax_pdb_parse(const char *buf, size_t len, const char *source_name, ax_structure **out) {
    if (out == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "out is NULL");
    *out = NULL;
    if (buf == NULL && len > 0) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "buf is NULL but len is %zu", len);
    pdb_state s;
    memset(&s, 0, sizeof s);
    ax_line_reader_open_memory(&s.lr, buf, len, source_name);
    return pdb_run(&s, out);
}
