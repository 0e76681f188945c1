/*
 * mmcif.c — mmCIF (PDBx) structures: the tokens of the first data block are routed, row by row, to
 * the few categories a structure needs; everything else is skipped as it streams past.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axial/io.h"
#include "core/internal.h"
#include "io/cif_tokenizer.h"
#include "core/grow.h"
#include "io/parse_number.h"
#include "io/residues.h"
#include "core/strmap.h"
#include "io/structure_builder.h"

/* ---- the categories and items we read ------------------------------------------------------- */

enum category {
    CAT_OTHER, CAT_ATOM_SITE, CAT_ENTITY_POLY_SEQ, CAT_STRUCT_ASYM, CAT_REFINE, CAT_EM_3D, CAT_REFLNS,
    CAT_ENTITY_POLY, CAT_MOD_RESIDUE, CAT_CHEM_COMP
};

enum atom_site_item {
    AS_GROUP, AS_TYPE_SYMBOL, AS_LABEL_ATOM, AS_AUTH_ATOM, AS_LABEL_COMP, AS_AUTH_COMP, AS_LABEL_ASYM,
    AS_AUTH_ASYM, AS_LABEL_ENTITY, AS_LABEL_SEQ, AS_AUTH_SEQ, AS_INS_CODE, AS_X, AS_Y, AS_Z, AS_OCCUPANCY,
    AS_B_ISO, AS_MODEL
};
enum entity_poly_seq_item { EPS_ENTITY, EPS_NUM, EPS_MON };
enum struct_asym_item { SA_ID, SA_ENTITY };
enum entity_poly_item { EP_ENTITY, EP_TYPE };
enum mod_residue_item { MR_LABEL_COMP, MR_AUTH_COMP, MR_PARENT };
enum chem_comp_item { CC_ID, CC_PARENT };

#define MAX_FIELDS 18

static const struct {
    enum category category;
    const char *name; /* lower case: CIF names are case-insensitive */
} categories[] = {
    {CAT_ATOM_SITE, "_atom_site"}, {CAT_ENTITY_POLY_SEQ, "_entity_poly_seq"}, {CAT_STRUCT_ASYM, "_struct_asym"},
    {CAT_REFINE, "_refine"},       {CAT_EM_3D, "_em_3d_reconstruction"},       {CAT_REFLNS, "_reflns"},
    {CAT_ENTITY_POLY, "_entity_poly"}, {CAT_MOD_RESIDUE, "_pdbx_struct_mod_residue"}, {CAT_CHEM_COMP, "_chem_comp"},
};

static const struct {
    enum category category;
    const char *name;
    int field;
} items[] = {
    {CAT_ATOM_SITE, "group_pdb", AS_GROUP},
    {CAT_ATOM_SITE, "type_symbol", AS_TYPE_SYMBOL},
    {CAT_ATOM_SITE, "label_atom_id", AS_LABEL_ATOM},
    {CAT_ATOM_SITE, "auth_atom_id", AS_AUTH_ATOM},
    {CAT_ATOM_SITE, "label_comp_id", AS_LABEL_COMP},
    {CAT_ATOM_SITE, "auth_comp_id", AS_AUTH_COMP},
    {CAT_ATOM_SITE, "label_asym_id", AS_LABEL_ASYM},
    {CAT_ATOM_SITE, "auth_asym_id", AS_AUTH_ASYM},
    {CAT_ATOM_SITE, "label_entity_id", AS_LABEL_ENTITY},
    {CAT_ATOM_SITE, "label_seq_id", AS_LABEL_SEQ},
    {CAT_ATOM_SITE, "auth_seq_id", AS_AUTH_SEQ},
    {CAT_ATOM_SITE, "pdbx_pdb_ins_code", AS_INS_CODE},
    {CAT_ATOM_SITE, "cartn_x", AS_X},
    {CAT_ATOM_SITE, "cartn_y", AS_Y},
    {CAT_ATOM_SITE, "cartn_z", AS_Z},
    {CAT_ATOM_SITE, "occupancy", AS_OCCUPANCY},
    {CAT_ATOM_SITE, "b_iso_or_equiv", AS_B_ISO},
    {CAT_ATOM_SITE, "pdbx_pdb_model_num", AS_MODEL},
    {CAT_ENTITY_POLY_SEQ, "entity_id", EPS_ENTITY},
    {CAT_ENTITY_POLY_SEQ, "num", EPS_NUM},
    {CAT_ENTITY_POLY_SEQ, "mon_id", EPS_MON},
    {CAT_STRUCT_ASYM, "id", SA_ID},
    {CAT_STRUCT_ASYM, "entity_id", SA_ENTITY},
    {CAT_REFINE, "ls_d_res_high", 0},
    {CAT_EM_3D, "resolution", 0},
    {CAT_REFLNS, "d_resolution_high", 0},
    {CAT_ENTITY_POLY, "entity_id", EP_ENTITY},
    {CAT_ENTITY_POLY, "type", EP_TYPE},
    {CAT_MOD_RESIDUE, "label_comp_id", MR_LABEL_COMP},
    {CAT_MOD_RESIDUE, "auth_comp_id", MR_AUTH_COMP},
    {CAT_MOD_RESIDUE, "parent_comp_id", MR_PARENT},
    {CAT_CHEM_COMP, "id", CC_ID},
    {CAT_CHEM_COMP, "mon_nstd_parent_comp_id", CC_PARENT},
};

static int equal_nocase(const char *a, size_t a_len, const char *lower) {
    if (a_len != strlen(lower)) return 0;
    for (size_t i = 0; i < a_len; i++) {
        const char c = a[i] >= 'A' && a[i] <= 'Z' ? (char)(a[i] - 'A' + 'a') : a[i];
        if (c != lower[i]) return 0;
    }
    return 1;
}

/* Splits a tag "_category.item" into the category we track (or CAT_OTHER) and the item's field
 * (or -1 when we do not read it). */
static void classify_tag(const char *tag, size_t len, enum category *category, int *field) {
    *category = CAT_OTHER;
    *field = -1;
    const char *dot = memchr(tag, '.', len);
    if (dot == NULL) return;
    const size_t cat_len = (size_t)(dot - tag);
    for (size_t i = 0; i < sizeof categories / sizeof categories[0]; i++)
        if (equal_nocase(tag, cat_len, categories[i].name)) *category = categories[i].category;
    if (*category == CAT_OTHER) return;
    for (size_t i = 0; i < sizeof items / sizeof items[0]; i++)
        if (items[i].category == *category && equal_nocase(dot + 1, len - cat_len - 1, items[i].name))
            *field = items[i].field;
}

/* ---- parser state --------------------------------------------------------------------------- */

/* One row of a tracked category: each field's value copied (NUL-terminated) into buf. */
typedef struct cif_row {
    int seen[MAX_FIELDS];     /* the category has this column */
    int present[MAX_FIELDS];  /* ... and this row's value is not '.' or '?' */
    int64_t offset[MAX_FIELDS];
    size_t len[MAX_FIELDS];
    int64_t line[MAX_FIELDS];
    int64_t column[MAX_FIELDS];
    char *buf;
    int64_t buf_len;
    int64_t buf_cap;
    int64_t first_line;       /* where the row starts */
} cif_row;

typedef struct poly_seq_row {
    int64_t entity;           /* index in order of first appearance */
    int32_t num;
    char mon_id[AX_STRUCTURE_ID_CAP];
    int64_t line;
} poly_seq_row;

typedef struct mmcif_state {
    cif_tokenizer tok;
    const char *source;
    /* loop_ in progress */
    int in_loop;
    int loop_has_values;
    enum category loop_category;
    int *loop_fields;          /* field of each loop column, or -1 */
    int64_t loop_num_cols;
    int64_t loop_fields_cap;
    int64_t loop_col;          /* column of the next value */
    int64_t loop_line;
    /* tag/value pairs in progress: one row of pair_category */
    enum category pair_category;
    int pair_open;             /* pair_row holds values of pair_category not yet processed */
    int64_t pair_line;
    cif_row row;
    int in_save_frame;         /* dictionary save frames hold definitions, not data */
    /* collected data */
    ax_atom_record *atoms;
    int64_t num_atoms;
    int64_t atoms_cap;
    int atom_columns_checked;
    int have_model;
    int32_t first_model;
    int label_seq_column;      /* _atom_site has label_seq_id (for the polymer fallback) */
    int64_t numbered_atoms;    /* atoms whose label_seq_id is a number, not '?' or '.' */
    poly_seq_row *poly_rows;
    int64_t num_poly_rows;
    int64_t poly_rows_cap;
    ax_strmap poly_entity_index;      /* entity id -> order of first appearance in _entity_poly_seq */
    char (*poly_entity_ids)[AX_STRUCTURE_ID_CAP];
    int64_t poly_entity_ids_cap;
    ax_strmap asym_entity_index;      /* _struct_asym id -> index into asym_entities */
    char (*asym_entities)[AX_STRUCTURE_ID_CAP];
    int64_t num_asym_entities;
    int64_t asym_entities_cap;
    int have_resolution[CAT_REFLNS + 1];
    int64_t resolution_rows[CAT_REFLNS + 1]; /* rows seen: only the first counts */
    double resolution[CAT_REFLNS + 1];
    ax_strmap hetero_index;           /* (num, entity id) with two monomers -> the first one's poly row */
    ax_strmap poly_type_index;        /* _entity_poly entity id -> index into poly_types */
    ax_polymer_type *poly_types;
    int64_t poly_types_cap;
    /* Parents of modified residues: _pdbx_struct_mod_residue first (it names the residues of this
     * entry), then _chem_comp (the dictionary's word); merged in that order once all is read. */
    ax_parent_map mod_residue_parents;
    ax_parent_map chem_comp_parents;
} mmcif_state;

/* ---- row helpers ---------------------------------------------------------------------------- */

static void row_clear(cif_row *row) {
    memset(row->seen, 0, sizeof row->seen);
    memset(row->present, 0, sizeof row->present);
    row->buf_len = 0;
    row->first_line = 0;
}

static ax_status row_set(cif_row *row, int field, const cif_token *t) {
    if (row->first_line == 0) row->first_line = t->line;
    row->seen[field] = 1;
    row->present[field] = !t->is_null;
    row->line[field] = t->line;
    row->column[field] = t->column;
    if (t->is_null) return AX_OK;
    AX_CHECK(ax_grow((void **)&row->buf, &row->buf_cap, row->buf_len + (int64_t)t->len + 1, 1));
    memcpy(row->buf + row->buf_len, t->text, t->len);
    row->buf[row->buf_len + (int64_t)t->len] = '\0';
    row->offset[field] = row->buf_len;
    row->len[field] = t->len;
    row->buf_len += (int64_t)t->len + 1;
    return AX_OK;
}

static const char *row_value(const cif_row *row, int field) { return row->buf + row->offset[field]; }

static ax_status field_fail(const mmcif_state *s, int field, const char *item, const char *what) {
    const cif_row *row = &s->row;
    /* A field the loop lacks has no place of its own: the row's first line then. */
    return ax_io_fail(AX_ERR_FORMAT, s->source, row->seen[field] ? row->line[field] : row->first_line,
                      row->seen[field] ? row->column[field] : 0, "%s '%s' %s", item,
                      ax_quote(row->present[field] ? row_value(row, field) : "?").text, what);
}

/* Copies a short identifier field; absent (or null) gives "". */
static ax_status copy_id(const mmcif_state *s, int field, const char *item, char *dst, size_t cap) {
    dst[0] = '\0';
    if (!s->row.present[field]) return AX_OK;
    if (s->row.len[field] >= cap) return field_fail(s, field, item, "is too long");
    memcpy(dst, row_value(&s->row, field), s->row.len[field] + 1);
    return AX_OK;
}

static ax_status get_float(const mmcif_state *s, int field, const char *item, float fallback, float *out) {
    if (!s->row.present[field]) {
        *out = fallback;
        return AX_OK;
    }
    double value = 0.0;
    if (!ax_parse_double(row_value(&s->row, field), s->row.len[field], &value))
        return field_fail(s, field, item, ax_number_refusal(row_value(&s->row, field), s->row.len[field], 0));
    if (!(fabs(value) <= FLT_MAX)) return field_fail(s, field, item, "is outside the float range");
    *out = (float)value;
    return AX_OK;
}

/* The first present field of two (label_* then auth_*, or the reverse); when neither has a value,
 * one the loop has, so that an error names where its '?' or '.' stands. */
static int pick(const cif_row *row, int preferred, int other) {
    if (row->present[preferred]) return preferred;
    if (row->present[other] || !row->seen[preferred]) return other;
    return preferred;
}

/* ---- row consumers -------------------------------------------------------------------------- */

static ax_status check_atom_site_columns(mmcif_state *s, const int *seen, int64_t line) {
    static const struct {
        int a, b;
        const char *what;
    } required[] = {
        {AS_X, AS_X, "Cartn_x"},
        {AS_Y, AS_Y, "Cartn_y"},
        {AS_Z, AS_Z, "Cartn_z"},
        {AS_LABEL_ATOM, AS_AUTH_ATOM, "label_atom_id or auth_atom_id"},
        {AS_LABEL_COMP, AS_AUTH_COMP, "label_comp_id or auth_comp_id"},
        {AS_LABEL_ASYM, AS_AUTH_ASYM, "label_asym_id or auth_asym_id"},
        {AS_AUTH_SEQ, AS_LABEL_SEQ, "auth_seq_id or label_seq_id"},
    };
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (!seen[required[i].a] && !seen[required[i].b])
            return ax_io_fail(AX_ERR_FORMAT, s->source, line, 0, "_atom_site has no %s column", required[i].what);
    s->label_seq_column = seen[AS_LABEL_SEQ];
    s->atom_columns_checked = 1;
    return AX_OK;
}

static ax_status consume_atom_site(mmcif_state *s) {
    const cif_row *row = &s->row;
    if (s->row.present[AS_MODEL]) {
        int32_t model = 0;
        if (!ax_parse_int32(row_value(row, AS_MODEL), row->len[AS_MODEL], &model))
            return field_fail(s, AS_MODEL, "pdbx_PDB_model_num",
                              ax_number_refusal(row_value(row, AS_MODEL), row->len[AS_MODEL], 1));
        if (!s->have_model) {
            s->have_model = 1;
            s->first_model = model;
        }
        if (model != s->first_model) return AX_OK; /* only the first model */
    }
    ax_atom_record r;
    memset(&r, 0, sizeof r);
    r.line = row->first_line;
    const int atom = pick(row, AS_LABEL_ATOM, AS_AUTH_ATOM);
    const int comp = pick(row, AS_LABEL_COMP, AS_AUTH_COMP);
    const int label_asym = pick(row, AS_LABEL_ASYM, AS_AUTH_ASYM);
    const int auth_asym = pick(row, AS_AUTH_ASYM, AS_LABEL_ASYM);
    const int number = pick(row, AS_AUTH_SEQ, AS_LABEL_SEQ);
    if (!row->present[atom]) return field_fail(s, atom, "atom name", "is missing");
    if (!row->present[comp]) return field_fail(s, comp, "residue name", "is missing");
    if (!row->present[label_asym]) return field_fail(s, label_asym, "chain id", "is missing");
    if (!row->present[number]) return field_fail(s, number, "residue number", "is missing");
    AX_CHECK(copy_id(s, atom, "atom name", r.atom_name, sizeof r.atom_name));
    AX_CHECK(copy_id(s, comp, "residue name", r.res_name, sizeof r.res_name));
    AX_CHECK(copy_id(s, auth_asym, "chain id", r.chain_id, sizeof r.chain_id));
    AX_CHECK(copy_id(s, label_asym, "label_asym_id", r.asym_id, sizeof r.asym_id));
    AX_CHECK(copy_id(s, AS_LABEL_ENTITY, "label_entity_id", r.entity_id, sizeof r.entity_id));
    AX_CHECK(copy_id(s, AS_TYPE_SYMBOL, "type_symbol", r.element, sizeof r.element));
    char ins[2];
    AX_CHECK(copy_id(s, AS_INS_CODE, "pdbx_PDB_ins_code", ins, sizeof ins));
    r.ins_code = ins[0] != '\0' ? ins[0] : ' ';
    if (!ax_parse_int32(row_value(row, number), row->len[number], &r.res_num))
        return field_fail(s, number, "residue number", ax_number_refusal(row_value(row, number), row->len[number], 1));
    r.label_seq = AX_NO_LABEL_SEQ;
    if (row->present[AS_LABEL_SEQ] &&
        !ax_parse_int32(row_value(row, AS_LABEL_SEQ), row->len[AS_LABEL_SEQ], &r.label_seq))
        return field_fail(s, AS_LABEL_SEQ, "label_seq_id",
                          ax_number_refusal(row_value(row, AS_LABEL_SEQ), row->len[AS_LABEL_SEQ], 1));
    if (r.label_seq == AX_NO_LABEL_SEQ && row->present[AS_LABEL_SEQ]) /* the value that means "none" here */
        return field_fail(s, AS_LABEL_SEQ, "label_seq_id", "is out of range (-2147483647 to 2147483647)");
    if (!row->present[AS_X] || !row->present[AS_Y] || !row->present[AS_Z])
        return ax_io_fail(AX_ERR_FORMAT, s->source, row->first_line, 0, "atom %s of %s %d has no coordinates",
                          r.atom_name, r.res_name, r.res_num);
    AX_CHECK(get_float(s, AS_X, "Cartn_x", 0.0f, &r.x));
    AX_CHECK(get_float(s, AS_Y, "Cartn_y", 0.0f, &r.y));
    AX_CHECK(get_float(s, AS_Z, "Cartn_z", 0.0f, &r.z));
    AX_CHECK(get_float(s, AS_OCCUPANCY, "occupancy", 1.0f, &r.occupancy));
    AX_CHECK(get_float(s, AS_B_ISO, "B_iso_or_equiv", 0.0f, &r.b_factor));
    /* Provisional polymer guess for files without _entity_poly_seq; refined once all is read. */
    r.group_atom = (int8_t)(row->present[AS_GROUP] && strcmp(row_value(row, AS_GROUP), "ATOM") == 0);
    r.polymer = (int8_t)(s->label_seq_column ? r.label_seq != AX_NO_LABEL_SEQ : r.group_atom);
    s->numbered_atoms += r.label_seq != AX_NO_LABEL_SEQ;
    AX_CHECK(ax_grow((void **)&s->atoms, &s->atoms_cap, s->num_atoms + 1, sizeof *s->atoms));
    s->atoms[s->num_atoms++] = r;
    return AX_OK;
}

static ax_status consume_entity_poly_seq(mmcif_state *s) {
    const cif_row *row = &s->row;
    static const struct {
        int field;
        const char *item;
    } required[] = {{EPS_ENTITY, "entity_id"}, {EPS_NUM, "num"}, {EPS_MON, "mon_id"}};
    for (size_t i = 0; i < 3; i++)
        if (!row->present[required[i].field])
            return ax_io_fail(AX_ERR_FORMAT, s->source, row->first_line, 0, "_entity_poly_seq row without %s",
                              required[i].item);
    poly_seq_row p;
    memset(&p, 0, sizeof p);
    p.line = row->first_line;
    if (!ax_parse_int32(row_value(row, EPS_NUM), row->len[EPS_NUM], &p.num))
        return field_fail(s, EPS_NUM, "_entity_poly_seq.num",
                          ax_number_refusal(row_value(row, EPS_NUM), row->len[EPS_NUM], 1));
    AX_CHECK(copy_id(s, EPS_MON, "_entity_poly_seq.mon_id", p.mon_id, sizeof p.mon_id));
    char entity[AX_STRUCTURE_ID_CAP];
    AX_CHECK(copy_id(s, EPS_ENTITY, "_entity_poly_seq.entity_id", entity, sizeof entity));
    if (!ax_strmap_find(&s->poly_entity_index, entity, strlen(entity), &p.entity)) {
        p.entity = s->poly_entity_index.count;
        AX_CHECK(ax_grow((void **)&s->poly_entity_ids, &s->poly_entity_ids_cap, p.entity + 1,
                         sizeof *s->poly_entity_ids));
        AX_CHECK(ax_strmap_add(&s->poly_entity_index, entity, strlen(entity), p.entity));
        memcpy(s->poly_entity_ids[p.entity], entity, sizeof entity);
    }
    AX_CHECK(ax_grow((void **)&s->poly_rows, &s->poly_rows_cap, s->num_poly_rows + 1, sizeof *s->poly_rows));
    s->poly_rows[s->num_poly_rows++] = p;
    return AX_OK;
}

static ax_status consume_struct_asym(mmcif_state *s) {
    if (!s->row.present[SA_ID] || !s->row.present[SA_ENTITY]) return AX_OK; /* nothing to map */
    char id[AX_STRUCTURE_ID_CAP], entity[AX_STRUCTURE_ID_CAP];
    AX_CHECK(copy_id(s, SA_ID, "_struct_asym.id", id, sizeof id));
    AX_CHECK(copy_id(s, SA_ENTITY, "_struct_asym.entity_id", entity, sizeof entity));
    int64_t existing = 0;
    if (ax_strmap_find(&s->asym_entity_index, id, strlen(id), &existing)) return AX_OK; /* first one wins */
    AX_CHECK(ax_grow((void **)&s->asym_entities, &s->asym_entities_cap, s->num_asym_entities + 1,
                     sizeof *s->asym_entities));
    AX_CHECK(ax_strmap_add(&s->asym_entity_index, id, strlen(id), s->num_asym_entities));
    memcpy(s->asym_entities[s->num_asym_entities++], entity, sizeof entity);
    return AX_OK;
}

static ax_status consume_entity_poly(mmcif_state *s) {
    const cif_row *row = &s->row;
    if (!row->present[EP_ENTITY] || !row->present[EP_TYPE]) return AX_OK; /* nothing to record */
    const char *entity = row_value(row, EP_ENTITY);
    int64_t existing = 0;
    if (ax_strmap_find(&s->poly_type_index, entity, row->len[EP_ENTITY], &existing)) return AX_OK; /* first wins */
    const int64_t index = s->poly_type_index.count;
    AX_CHECK(ax_grow((void **)&s->poly_types, &s->poly_types_cap, index + 1, sizeof *s->poly_types));
    AX_CHECK(ax_strmap_add(&s->poly_type_index, entity, row->len[EP_ENTITY], index));
    s->poly_types[index] = ax_polymer_type_from_mmcif(row_value(row, EP_TYPE), row->len[EP_TYPE]);
    return AX_OK;
}

/* Parent records are hints, not structure: values that cannot name one parent are skipped
 * (ax_parent_map_add) rather than failing the file. */
static ax_status consume_mod_residue(mmcif_state *s) {
    const cif_row *row = &s->row;
    const int comp = pick(row, MR_LABEL_COMP, MR_AUTH_COMP);
    if (!row->present[comp] || !row->present[MR_PARENT]) return AX_OK;
    return ax_parent_map_add(&s->mod_residue_parents, row_value(row, comp), row->len[comp],
                             row_value(row, MR_PARENT), row->len[MR_PARENT]);
}

static ax_status consume_chem_comp(mmcif_state *s) {
    const cif_row *row = &s->row;
    if (!row->present[CC_ID] || !row->present[CC_PARENT]) return AX_OK;
    return ax_parent_map_add(&s->chem_comp_parents, row_value(row, CC_ID), row->len[CC_ID],
                             row_value(row, CC_PARENT), row->len[CC_PARENT]);
}

/* The ASCII whitespace Python's str.strip() and float() ignore. */
static int is_python_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

static ax_status consume_resolution(mmcif_state *s, enum category category) {
    /* Only the first row, and only a number: '?', '.', a standard uncertainty "2.0(1)" or any other
     * text means the next source in the priority order applies, as in AlphaFold's parser (which
     * reads row [0] and skips a value float() refuses; a later row that parsed had been taken). */
    if (s->resolution_rows[category]++ > 0 || !s->row.present[0]) return AX_OK;
    double value = 0.0;
    const char *text = row_value(&s->row, 0);
    size_t len = s->row.len[0];
    /* Python's float() ignores surrounding whitespace, newlines too: a ';' text field holds "\n1.8". */
    while (len > 0 && is_python_space(text[0])) text++, len--;
    while (len > 0 && is_python_space(text[len - 1])) len--;
    if (memchr(text, '(', len) != NULL || !ax_parse_double(text, len, &value)) return AX_OK;
    s->have_resolution[category] = 1;
    s->resolution[category] = value;
    return AX_OK;
}

static ax_status consume_row(mmcif_state *s, enum category category) {
    switch (category) {
    case CAT_ATOM_SITE: return consume_atom_site(s);
    case CAT_ENTITY_POLY_SEQ: return consume_entity_poly_seq(s);
    case CAT_STRUCT_ASYM: return consume_struct_asym(s);
    case CAT_REFINE:
    case CAT_EM_3D:
    case CAT_REFLNS: return consume_resolution(s, category);
    case CAT_ENTITY_POLY: return consume_entity_poly(s);
    case CAT_MOD_RESIDUE: return consume_mod_residue(s);
    case CAT_CHEM_COMP: return consume_chem_comp(s);
    case CAT_OTHER: break;
    }
    return AX_OK;
}

/* ---- token routing -------------------------------------------------------------------------- */

/* Processes the pending tag/value pairs as one row of their category. */
static ax_status flush_pairs(mmcif_state *s) {
    if (!s->pair_open) return AX_OK;
    s->pair_open = 0;
    if (s->pair_category == CAT_ATOM_SITE && !s->atom_columns_checked)
        AX_CHECK(check_atom_site_columns(s, s->row.seen, s->pair_line));
    return consume_row(s, s->pair_category);
}

static ax_status end_loop(mmcif_state *s, const cif_token *t) {
    if (!s->in_loop) return AX_OK;
    s->in_loop = 0;
    if (s->loop_num_cols == 0) return ax_io_fail(AX_ERR_FORMAT, s->source, s->loop_line, 0, "loop_ without tags");
    if (!s->loop_has_values)
        return ax_io_fail(AX_ERR_FORMAT, s->source, s->loop_line, 0, "loop_ has tags but no values");
    if (s->loop_col != 0)
        return ax_io_fail(AX_ERR_FORMAT, s->source, t->line, t->column,
                          "loop_ (line %lld) ends in the middle of a row: %lld of its %lld values",
                          (long long)s->loop_line, (long long)s->loop_col, (long long)s->loop_num_cols);
    return AX_OK;
}

static ax_status loop_value(mmcif_state *s, const cif_token *t) {
    if (!s->loop_has_values) {
        s->loop_has_values = 1;
        s->loop_col = 0;
        row_clear(&s->row);
        if (s->loop_category == CAT_ATOM_SITE && !s->atom_columns_checked) {
            int seen[MAX_FIELDS] = {0};
            for (int64_t i = 0; i < s->loop_num_cols; i++)
                if (s->loop_fields[i] >= 0) seen[s->loop_fields[i]] = 1;
            AX_CHECK(check_atom_site_columns(s, seen, s->loop_line));
        }
    }
    const int field = s->loop_fields[s->loop_col];
    if (field >= 0) AX_CHECK(row_set(&s->row, field, t));
    if (s->row.first_line == 0) s->row.first_line = t->line;
    if (++s->loop_col == s->loop_num_cols) {
        s->loop_col = 0;
        if (s->loop_category != CAT_OTHER) AX_CHECK(consume_row(s, s->loop_category));
        row_clear(&s->row);
    }
    return AX_OK;
}

static ax_status loop_tag(mmcif_state *s, const cif_token *t) {
    enum category category;
    int field;
    classify_tag(t->text, t->len, &category, &field);
    if (s->loop_num_cols == 0) s->loop_category = s->in_save_frame ? CAT_OTHER : category;
    /* Tags of another category than the first do not belong to the rows we read. */
    if (category != s->loop_category) field = -1;
    AX_CHECK(ax_grow((void **)&s->loop_fields, &s->loop_fields_cap, s->loop_num_cols + 1, sizeof *s->loop_fields));
    s->loop_fields[s->loop_num_cols++] = field;
    return AX_OK;
}

/* A tag outside a loop: its value must follow. */
static ax_status pair(mmcif_state *s, const cif_token *tag) {
    enum category category;
    int field;
    classify_tag(tag->text, tag->len, &category, &field);
    if (s->in_save_frame) category = CAT_OTHER;
    const int64_t tag_line = tag->line, tag_column = tag->column;
    char tag_text[64];
    snprintf(tag_text, sizeof tag_text, "%.*s", (int)(tag->len < 60 ? tag->len : 60), tag->text);
    cif_token value;
    AX_CHECK(cif_tokenizer_next(&s->tok, &value));
    if (value.type != CIF_TOKEN_VALUE)
        return ax_io_fail(AX_ERR_FORMAT, s->source, tag_line, tag_column, "tag %s has no value", tag_text);
    if (s->pair_open && category != s->pair_category) AX_CHECK(flush_pairs(s));
    if (category == CAT_OTHER) return AX_OK;
    if (!s->pair_open) {
        row_clear(&s->row);
        s->pair_open = 1;
        s->pair_category = category;
        s->pair_line = tag_line;
    }
    if (field >= 0) AX_CHECK(row_set(&s->row, field, &value));
    return AX_OK;
}

static ax_status read_tokens(mmcif_state *s) {
    int seen_data = 0;
    for (;;) {
        cif_token t;
        AX_CHECK(cif_tokenizer_next(&s->tok, &t));
        if (s->in_loop && t.type == CIF_TOKEN_VALUE) {
            if (s->loop_num_cols == 0)
                return ax_io_fail(AX_ERR_FORMAT, s->source, t.line, t.column, "loop_ without tags");
            AX_CHECK(loop_value(s, &t));
            continue;
        }
        if (s->in_loop && t.type == CIF_TOKEN_TAG && !s->loop_has_values) {
            AX_CHECK(loop_tag(s, &t));
            continue;
        }
        AX_CHECK(end_loop(s, &t));
        if (t.type == CIF_TOKEN_END) break;
        if (t.type == CIF_TOKEN_DATA) {
            if (seen_data) break; /* only the first data block */
            seen_data = 1;
            continue;
        }
        if (!seen_data)
            return ax_io_fail(AX_ERR_FORMAT, s->source, t.line, t.column,
                              "expected a data_ block header first (not an mmCIF file?)");
        switch (t.type) {
        case CIF_TOKEN_LOOP:
            AX_CHECK(flush_pairs(s));
            s->in_loop = 1;
            s->loop_has_values = 0;
            s->loop_num_cols = 0;
            s->loop_line = t.line;
            s->loop_category = CAT_OTHER;
            break;
        case CIF_TOKEN_SAVE:
            AX_CHECK(flush_pairs(s));
            s->in_save_frame = t.len > 0;
            break;
        case CIF_TOKEN_TAG: AX_CHECK(pair(s, &t)); break;
        case CIF_TOKEN_VALUE:
            return ax_io_fail(AX_ERR_FORMAT, s->source, t.line, t.column, "value '%.*s' without a tag",
                              (int)(t.len < 40 ? t.len : 40), t.text);
        case CIF_TOKEN_END:
        case CIF_TOKEN_DATA: break;
        }
    }
    AX_CHECK(flush_pairs(s));
    if (!seen_data)
        return ax_io_fail(AX_ERR_FORMAT, s->source, s->tok.lr.line_no > 0 ? s->tok.lr.line_no : 1, 0,
                          "no data_ block (not an mmCIF file?)");
    return AX_OK;
}

/* ---- assembly ------------------------------------------------------------------------------- */

/* A position key: the number first (fixed width), then the id, so no two positions share a key. */
static size_t position_key(int32_t num, const char *id, char *key) {
    const size_t len = strnlen(id, AX_STRUCTURE_ID_CAP);
    memcpy(key, &num, sizeof num);
    memcpy(key + sizeof num, id, len);
    return sizeof num + len;
}

/* Records that entity_id's monomer num is microheterogeneous, keeping the first row's index. */
static ax_status note_hetero(mmcif_state *s, const char *entity_id, int32_t num, int64_t first_row) {
    char key[sizeof num + AX_STRUCTURE_ID_CAP];
    const size_t len = position_key(num, entity_id, key);
    int64_t seen = 0;
    if (ax_strmap_find(&s->hetero_index, key, len, &seen)) return AX_OK; /* a third monomer */
    return ax_strmap_add(&s->hetero_index, key, len, first_row);
}

/* Groups _entity_poly_seq rows per entity (file order within each) into sequences. */
static ax_status build_entities(mmcif_state *s, ax_entity_seq **out, int64_t *num_out) {
    const int64_t num_entities = s->poly_entity_index.count;
    *out = NULL;
    *num_out = 0;
    if (num_entities == 0) return AX_OK;
    ax_entity_seq *entities = calloc((size_t)num_entities, sizeof *entities);
    int64_t *start = calloc((size_t)num_entities + 1, sizeof *start);
    int64_t *order = malloc((size_t)(s->num_poly_rows > 0 ? s->num_poly_rows : 1) * sizeof *order);
    ax_status st = AX_OK;
    if (entities == NULL || start == NULL || order == NULL) {
        st = ax_set_error(AX_ERR_OUT_OF_MEMORY, "out of memory: entity sequences");
        goto cleanup;
    }
    /* Counting sort by entity keeps file order within an entity in O(rows). */
    for (int64_t i = 0; i < s->num_poly_rows; i++) start[s->poly_rows[i].entity + 1]++;
    for (int64_t e = 0; e < num_entities; e++) start[e + 1] += start[e];
    for (int64_t i = 0; i < s->num_poly_rows; i++) {
        int64_t *next = &start[s->poly_rows[i].entity];
        order[(*next)++] = i;
    }
    for (int64_t e = num_entities; e > 0; e--) start[e] = start[e - 1];
    start[0] = 0;
    for (int64_t e = 0; e < num_entities; e++) {
        ax_entity_seq *seq = &entities[e];
        memcpy(seq->entity_id, s->poly_entity_ids[e], sizeof seq->entity_id);
        const int64_t n = start[e + 1] - start[e];
        seq->nums = malloc((size_t)n * sizeof *seq->nums);
        seq->one_letter = malloc((size_t)n + 1);
        if (seq->nums == NULL || seq->one_letter == NULL) {
            st = ax_set_error(AX_ERR_OUT_OF_MEMORY, "out of memory: entity sequence of %lld", (long long)n);
            goto cleanup;
        }
        for (int64_t k = start[e]; k < start[e + 1]; k++) {
            const poly_seq_row *p = &s->poly_rows[order[k]];
            if (seq->len > 0 && p->num == seq->nums[seq->len - 1]) { /* microheterogeneity: first wins */
                st = note_hetero(s, seq->entity_id, p->num, order[k - 1]);
                if (st != AX_OK) goto cleanup;
                continue;
            }
            if (seq->len > 0 && p->num < seq->nums[seq->len - 1]) {
                st = ax_io_fail(AX_ERR_FORMAT, s->source, p->line, 0,
                                "_entity_poly_seq of entity %s: num %d comes after %d (rows must be in order)",
                                seq->entity_id, p->num, seq->nums[seq->len - 1]);
                goto cleanup;
            }
            seq->nums[seq->len] = p->num;
            seq->one_letter[seq->len] = ax_residue_one_letter(&s->mod_residue_parents, p->mon_id);
            seq->len++;
        }
        seq->one_letter[seq->len] = '\0';
    }
cleanup:
    free(start);
    free(order);
    if (st != AX_OK) {
        if (entities != NULL) {
            for (int64_t e = 0; e < num_entities; e++) {
                free(entities[e].nums);
                free(entities[e].one_letter);
            }
        }
        free(entities);
        return st;
    }
    *out = entities;
    *num_out = num_entities;
    return AX_OK;
}

/* Decides each atom's entity and whether it belongs to a polymer, now that all categories are in. */
static void resolve_entities(mmcif_state *s) {
    const int have_poly_seq = s->poly_entity_index.count > 0;
    /* A label_seq_id column holding no number ('?' or '.' throughout) numbers nothing: guess from
     * group_PDB as without the column (every residue had been outside the polymer). */
    const int by_label_seq = s->label_seq_column && s->numbered_atoms > 0;
    for (int64_t i = 0; i < s->num_atoms; i++) {
        ax_atom_record *r = &s->atoms[i];
        int64_t index = 0;
        if (r->entity_id[0] == '\0' && ax_strmap_find(&s->asym_entity_index, r->asym_id, strlen(r->asym_id), &index))
            memcpy(r->entity_id, s->asym_entities[index], sizeof r->entity_id);
        const size_t len = strlen(r->entity_id);
        const int has_sequence = len > 0 && ax_strmap_find(&s->poly_entity_index, r->entity_id, len, &index);
        const int declared_polymer = len > 0 && ax_strmap_find(&s->poly_type_index, r->entity_id, len, &index);
        if (has_sequence && by_label_seq) {
            r->polymer = r->label_seq != AX_NO_LABEL_SEQ;
        } else if (!has_sequence && len > 0 && have_poly_seq && !declared_polymer) {
            /* A known entity that neither _entity_poly_seq nor _entity_poly names, where the file has
             * sequences: a ligand or water, as for AlphaFold, which takes only the entities with
             * sequences as chains (some writers give such atoms a numeric label_seq_id). */
            r->polymer = 0;
            r->label_seq = AX_NO_LABEL_SEQ;
        } else {
            /* No sequence to map to (no _entity_poly_seq in the file, or an entity _entity_poly
             * declares a polymer without rows), or no label_seq_id to map by: keep the provisional
             * guess (a numeric label_seq_id, else group ATOM); the residues then form the sequence in
             * file order. */
            if (!by_label_seq) r->polymer = r->group_atom;
            r->label_seq = AX_NO_LABEL_SEQ;
        }
    }
}

/* The first monomer's name where a polymer atom sits at a microheterogeneous position, else NULL. */
static const char *hetero_first_name(const mmcif_state *s, const ax_atom_record *r) {
    if (!r->polymer || r->label_seq == AX_NO_LABEL_SEQ) return NULL;
    char key[sizeof r->label_seq + AX_STRUCTURE_ID_CAP];
    const size_t len = position_key(r->label_seq, r->entity_id, key);
    int64_t row = 0;
    return ax_strmap_find(&s->hetero_index, key, len, &row) ? s->poly_rows[row].mon_id : NULL;
}

/* Microheterogeneity: _entity_poly_seq names two or more monomers at one num and _atom_site usually
 * holds a residue of each (as alternate locations). The sequence keeps the first monomer; so that
 * the residue agrees with it whatever order _atom_site lists the variants in, the other names'
 * atoms at that position are dropped where the chain has atoms of the first. Where it has none, the
 * builder keeps the first residue in file order, as at any point heterogeneity. */
static ax_status keep_sequence_variants(mmcif_state *s) {
    if (s->hetero_index.count == 0) return AX_OK;
    ax_strmap covered; /* (label_seq, asym id) positions with atoms of the first monomer */
    memset(&covered, 0, sizeof covered);
    ax_status st = AX_OK;
    for (int64_t i = 0; i < s->num_atoms && st == AX_OK; i++) {
        const ax_atom_record *r = &s->atoms[i];
        const char *first = hetero_first_name(s, r);
        if (first == NULL || strcmp(first, r->res_name) != 0) continue;
        char key[sizeof r->label_seq + AX_STRUCTURE_ID_CAP];
        const size_t len = position_key(r->label_seq, r->asym_id, key);
        int64_t seen = 0;
        if (!ax_strmap_find(&covered, key, len, &seen)) st = ax_strmap_add(&covered, key, len, 0);
    }
    int64_t kept = 0;
    for (int64_t i = 0; i < s->num_atoms && st == AX_OK; i++) {
        const ax_atom_record *r = &s->atoms[i];
        const char *first = hetero_first_name(s, r);
        char key[sizeof r->label_seq + AX_STRUCTURE_ID_CAP];
        int64_t seen = 0;
        if (first != NULL && strcmp(first, r->res_name) != 0 &&
            ax_strmap_find(&covered, key, position_key(r->label_seq, r->asym_id, key), &seen))
            continue;
        s->atoms[kept++] = *r;
    }
    if (st == AX_OK) s->num_atoms = kept;
    ax_strmap_free(&covered);
    return st;
}

/* The file's own word on each chain's polymer type, where its entity has an _entity_poly row. */
static void apply_polymer_types(const mmcif_state *s, ax_structure *structure) {
    for (int64_t c = 0; c < structure->num_chains; c++) {
        ax_chain *chain = &structure->chains[c];
        int64_t index = 0;
        if (chain->polymer_type != AX_POLYMER_NONE &&
            ax_strmap_find(&s->poly_type_index, chain->entity_id, strlen(chain->entity_id), &index))
            chain->polymer_type = s->poly_types[index];
    }
}

static ax_status assemble(mmcif_state *s, ax_structure **out) {
    if (s->num_atoms == 0)
        return ax_io_fail(AX_ERR_FORMAT, s->source, s->tok.lr.line_no > 0 ? s->tok.lr.line_no : 1, 0,
                          "no atoms: the first data block has no _atom_site records");
    AX_CHECK(ax_parent_map_merge(&s->mod_residue_parents, &s->chem_comp_parents));
    ax_entity_seq *entities = NULL;
    int64_t num_entities = 0;
    AX_CHECK(build_entities(s, &entities, &num_entities));
    resolve_entities(s);
    ax_status st = keep_sequence_variants(s);
    ax_structure_input in;
    memset(&in, 0, sizeof in);
    in.source = s->source;
    in.atoms = s->atoms;
    in.num_atoms = s->num_atoms;
    in.entities = entities;
    in.entity_index = entities != NULL ? &s->poly_entity_index : NULL;
    in.parents = &s->mod_residue_parents;
    /* As AlphaFold 2's _get_header: it reads refinement, EM reconstruction, then reflections, each
     * readable number overwriting the one before (no break), so the last of them wins. */
    if (s->have_resolution[CAT_REFLNS]) in.resolution = s->resolution[CAT_REFLNS];
    else if (s->have_resolution[CAT_EM_3D]) in.resolution = s->resolution[CAT_EM_3D];
    else if (s->have_resolution[CAT_REFINE]) in.resolution = s->resolution[CAT_REFINE];
    if (st == AX_OK) st = ax_structure_assemble(&in, out);
    if (st == AX_OK) apply_polymer_types(s, *out);
    for (int64_t e = 0; e < num_entities; e++) {
        free(entities[e].nums);
        free(entities[e].one_letter);
    }
    free(entities);
    return st;
}

static ax_status mmcif_run(mmcif_state *s, ax_structure **out) {
    s->source = s->tok.lr.source;
    ax_status st = read_tokens(s);
    if (st == AX_OK) st = assemble(s, out);
    cif_tokenizer_close(&s->tok);
    free(s->loop_fields);
    free(s->row.buf);
    free(s->atoms);
    free(s->poly_rows);
    free(s->poly_entity_ids);
    free(s->asym_entities);
    ax_strmap_free(&s->poly_entity_index);
    ax_strmap_free(&s->asym_entity_index);
    ax_strmap_free(&s->poly_type_index);
    ax_strmap_free(&s->hetero_index);
    free(s->poly_types);
    ax_parent_map_free(&s->mod_residue_parents);
    ax_parent_map_free(&s->chem_comp_parents);
    return st;
}

ax_status ax_mmcif_read(const char *path, ax_structure **out) {
    if (out == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "out is NULL");
    *out = NULL;
    ax_line_reader lr;
    AX_CHECK(ax_line_reader_open_path(&lr, path));
    mmcif_state s;
    memset(&s, 0, sizeof s);
    cif_tokenizer_init(&s.tok, &lr);
    return mmcif_run(&s, out);
}

ax_status ax_mmcif_parse(const char *buf, size_t len, const char *source_name, ax_structure **out) {
    if (out == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "out is NULL");
    *out = NULL;
    if (buf == NULL && len > 0) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "buf is NULL but len is %zu", len);
    ax_line_reader lr;
    ax_line_reader_open_memory(&lr, buf, len, source_name);
    mmcif_state s;
    memset(&s, 0, sizeof s);
    cif_tokenizer_init(&s.tok, &lr);
    return mmcif_run(&s, out);
}
