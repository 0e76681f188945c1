/*
 * test_io_mmcif.c — the CIF tokenizer and the mmCIF structure parser: 1CBS against values read off
 * the file with zcat/grep/awk, a hand-made file for each convention, and each error.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>

#include "axial/io.h"
#include "core/utf8.h"
#include "harness.h"
#include "io/cif_tokenizer.h"

#define DATA AXIAL_TEST_DATA

static int near(float a, double b) { return fabs((double)a - b) < 1e-4; }

static const ax_residue *find_residue(const ax_chain *c, int32_t number) {
    for (int64_t i = 0; i < c->num_residues; i++)
        if (c->residues[i].number == number) return &c->residues[i];
    return NULL;
}

static const ax_atom *find_atom(const ax_chain *c, const ax_residue *r, const char *name) {
    for (int64_t i = r->first_atom; i < r->first_atom + r->num_atoms; i++)
        if (strcmp(c->atoms[i].name, name) == 0) return &c->atoms[i];
    return NULL;
}

/* ---- tokenizer ------------------------------------------------------------------------------ */

static void test_tokenizer(void) {
    static const char text[] =
        "data_blk # comment\n"
        "loop_ _a.b _a.c\n"
        "'it's' \"say \"hi\"\" .  ?  '.'\n"
        ";line one\n"
        "line two\n"
        "; bare#notcomment\n"
        "save_frame save_ LOOP_\n";
    ax_line_reader lr;
    ax_line_reader_open_memory(&lr, text, sizeof text - 1, "tok.cif");
    cif_tokenizer t;
    cif_tokenizer_init(&t, &lr);
    static const struct {
        cif_token_type type;
        const char *text;
        int is_null;
        int64_t line, column;
    } expected[] = {
        {CIF_TOKEN_DATA, "blk", 0, 1, 1},        {CIF_TOKEN_LOOP, "loop_", 0, 2, 1},
        {CIF_TOKEN_TAG, "_a.b", 0, 2, 7},        {CIF_TOKEN_TAG, "_a.c", 0, 2, 12},
        {CIF_TOKEN_VALUE, "it's", 0, 3, 1},      {CIF_TOKEN_VALUE, "say \"hi\"", 0, 3, 8},
        {CIF_TOKEN_VALUE, ".", 1, 3, 19},        {CIF_TOKEN_VALUE, "?", 1, 3, 22},
        {CIF_TOKEN_VALUE, ".", 0, 3, 25},        {CIF_TOKEN_VALUE, "line one\nline two", 0, 4, 1},
        {CIF_TOKEN_VALUE, "bare#notcomment", 0, 6, 3}, {CIF_TOKEN_SAVE, "frame", 0, 7, 1},
        {CIF_TOKEN_SAVE, "", 0, 7, 12},          {CIF_TOKEN_LOOP, "LOOP_", 0, 7, 18},
        {CIF_TOKEN_END, "", 0, 7, 1},
    };
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        cif_token tok;
        CHECK_OK(cif_tokenizer_next(&t, &tok));
        char got[64];
        snprintf(got, sizeof got, "%.*s", (int)tok.len, tok.text != NULL ? tok.text : "");
        if (tok.type != expected[i].type || (tok.type != CIF_TOKEN_END && strcmp(got, expected[i].text) != 0) ||
            tok.is_null != expected[i].is_null || tok.line != expected[i].line ||
            (tok.type != CIF_TOKEN_END && tok.column != expected[i].column))
            TH_FAIL("token %zu: got type %d '%s' null %d at %lld:%lld, expected type %d '%s' at %lld:%lld", i,
                    (int)tok.type, got, tok.is_null, (long long)tok.line, (long long)tok.column,
                    (int)expected[i].type, expected[i].text, (long long)expected[i].line,
                    (long long)expected[i].column);
        th_checks++;
    }
    cif_tokenizer_close(&t);

    static const struct {
        const char *text;
        const char *message;
    } bad[] = {
        {"data_x\n_a.b 'open\n", "bad.cif:2:6: quoted string is not closed"},
        {"data_x\n_a.b\n;never\nclosed\n", "bad.cif:3:1: text field"},
        {"data_x\nglobal_\n", "bad.cif:2:1: reserved word 'global_'"},
        {"data_x\nstop_\n", "bad.cif:2:1: reserved word 'stop_'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ax_line_reader_open_memory(&lr, bad[i].text, strlen(bad[i].text), "bad.cif");
        cif_tokenizer_init(&t, &lr);
        cif_token tok;
        ax_status st;
        do st = cif_tokenizer_next(&t, &tok);
        while (st == AX_OK && tok.type != CIF_TOKEN_END);
        CHECK_STATUS(st, AX_ERR_FORMAT);
        CHECK_CONTAINS(ax_last_error(), bad[i].message);
        cif_tokenizer_close(&t);
    }
}

/* ---- 1CBS ----------------------------------------------------------------------------------- */

/* Expected values, read off the file:
 *   zcat 1cbs.cif.gz | grep -c '^ATOM'                               -> 1091
 *   zcat 1cbs.cif.gz | grep -c '^HETATM'                             -> 122 (22 REA + 100 HOH:
 *       grep -c '^HETATM.* REA ' / '^HETATM.* HOH ')
 *   zcat 1cbs.cif.gz | awk '$1=="ATOM"||$1=="HETATM"{print $7"_"$17}' | uniq | wc -l -> 238 residues
 *   zcat 1cbs.cif.gz | awk '$1=="ATOM"||$1=="HETATM"{print $21}' | sort | uniq -c   -> all model 1
 *   auth_asym_id (column 19) is A for every atom; _entity_poly_seq lists 137 monomers (1..137),
 *   all with CA atoms (grep -c '^ATOM.* CA ' -> 137)
 *   sequence: _entity_poly.pdbx_seq_one_letter_code_can (the two lines joined)
 *   _refine.ls_d_res_high 1.8; _reflns.d_resolution_high ?
 *   coordinates copied from the ATOM/HETATM lines quoted next to each check */
static void test_1cbs(void) {
    ax_structure *s = NULL;
    CHECK_OK(ax_mmcif_read(DATA "/1cbs.cif.gz", &s));
    if (s == NULL) return;
    CHECK(fabs(s->resolution - 1.8) < 1e-12);
    CHECK_INT_EQ(s->num_chains, 1);
    const ax_chain *c = &s->chains[0];
    CHECK_STR_EQ(c->id, "A");
    CHECK_STR_EQ(c->label_id, "A");
    CHECK_STR_EQ(c->entity_id, "1");
    CHECK_INT_EQ(c->polymer_type, AX_POLYMER_PROTEIN); /* _entity_poly.type 'polypeptide(L)' */
    CHECK_INT_EQ(c->seq_len, 137);
    CHECK_STR_EQ(c->sequence, "PNFSGNWKIIRSENFEELLKVLGVNVMLRKIAVAAASKPAVEIKQEGDTFYIKTSTTVRTTEINFKVGEEFEEQTVDGRP"
                              "CKSLVKWESENKMVCEQKLLKGEGPKTSWTRELTNDGELILTMTADDVVCTRVYVRE");
    int64_t resolved = 0, polymer_atoms = 0, polymer_residues = 0;
    for (int64_t i = 0; i < c->seq_len; i++) resolved += c->resolved[i];
    for (int64_t i = 0; i < c->num_residues; i++) {
        if (c->residues[i].seq_index < 0) continue;
        polymer_residues++;
        polymer_atoms += c->residues[i].num_atoms;
    }
    CHECK_INT_EQ(resolved, 137);
    CHECK_INT_EQ(polymer_residues, 137);
    CHECK_INT_EQ(polymer_atoms, 1091);
    CHECK_INT_EQ(c->num_residues, 238);
    CHECK_INT_EQ(c->num_atoms, 1213);
    /* ATOM 1 N . PRO A 1 1 ? 16.979 13.301 44.555 1.00 30.05 ? 1 PRO A N 1 */
    const ax_residue *r = &c->residues[0];
    CHECK_STR_EQ(r->name, "PRO");
    CHECK_INT_EQ(r->one_letter, 'P');
    CHECK_INT_EQ(r->seq_index, 0);
    CHECK_INT_EQ(r->number, 1);
    CHECK_INT_EQ(r->ins_code, ' ');
    CHECK_INT_EQ(r->num_atoms, 7);
    const ax_atom *a = &c->atoms[r->first_atom];
    CHECK_STR_EQ(a->name, "N");
    CHECK_STR_EQ(a->element, "N");
    CHECK(near(a->x, 16.979) && near(a->y, 13.301) && near(a->z, 44.555));
    CHECK(near(a->occupancy, 1.0) && near(a->b_factor, 30.05));
    /* ATOM 219 S SD . MET A 1 27 ? 24.975 28.527 4.010 1.00 37.48 ? 27 MET A SD 1 */
    r = find_residue(c, 27);
    CHECK(r != NULL);
    if (r != NULL) {
        CHECK_STR_EQ(r->name, "MET");
        CHECK_INT_EQ(r->seq_index, 26);
        a = find_atom(c, r, "SD");
        CHECK(a != NULL && near(a->x, 24.975) && near(a->y, 28.527) && near(a->z, 4.010) && near(a->b_factor, 37.48));
    }
    /* ATOM 1091 O OXT . GLU A 1 137 ? 35.776 18.680 37.173 1.00 22.23 ? 137 GLU A OXT 1 */
    r = find_residue(c, 137);
    CHECK(r != NULL);
    if (r != NULL) {
        a = find_atom(c, r, "OXT");
        CHECK(a != NULL && near(a->x, 35.776) && near(a->y, 18.680) && near(a->z, 37.173));
    }
    /* HETATM 1092-1113: REA B 2 . ? ... 200 REA A */
    r = find_residue(c, 200);
    CHECK(r != NULL);
    if (r != NULL) {
        CHECK_STR_EQ(r->name, "REA");
        CHECK_INT_EQ(r->one_letter, 'X');
        CHECK_INT_EQ(r->seq_index, -1);
        CHECK_INT_EQ(r->num_atoms, 22);
    }
    /* HETATM 1213 O . HOH C 3 . ? 32.435 20.043 40.169 1.00 33.87 ? 399 HOH A O 1 */
    r = &c->residues[c->num_residues - 1];
    CHECK_STR_EQ(r->name, "HOH");
    CHECK_INT_EQ(r->number, 399);
    CHECK_INT_EQ(r->seq_index, -1);
    a = &c->atoms[r->first_atom];
    CHECK(near(a->x, 32.435) && near(a->y, 20.043) && near(a->z, 40.169) && near(a->b_factor, 33.87));
    ax_structure_destroy(s);
}

/* ---- conventions, on a hand-made file ------------------------------------------------------- */

static const char conventions_cif[] =
    "data_TEST\n"
    "# the resolution: '?' is passed over and the last number (reflns) wins, as in AlphaFold 2\n"
    "_refine.ls_d_res_high ?\n"
    "_em_3d_reconstruction.resolution 3.2\n"
    "_reflns.d_resolution_high 2.0\n"
    "_struct.title\n"
    ";A multi-line text field with 'quotes' and\n"
    "data_ loop_ _atom_site.Cartn_x inside\n"
    ";\n"
    "_struct_keywords.text 'it's quoted'\n"
    "loop_\n"
    "_entity_poly_seq.entity_id\n"
    "_entity_poly_seq.num\n"
    "_entity_poly_seq.mon_id\n"
    "_entity_poly_seq.hetero\n"
    "1 1 MET n 1 2 MSE n\n"          /* rows may share a line */
    "1 3 ALA y\n"
    "1 3 GLY y\n"                    /* microheterogeneity: the first monomer wins */
    "1 4 UNK n\n"
    "1 5 LYS n\n"
    "2 1 DA n\n"
    "loop_\n"
    "_struct_asym.id\n"
    "_struct_asym.entity_id\n"
    "A 1 B 3 C 4 D 2\n"
    "loop_\n"
    "_atom_site.group_PDB\n"
    "_atom_site.id\n"
    "_atom_site.type_symbol\n"
    "_atom_site.label_atom_id\n"
    "_atom_site.label_alt_id\n"
    "_atom_site.label_comp_id\n"
    "_atom_site.label_asym_id\n"
    "_atom_site.label_seq_id\n"
    "_atom_site.pdbx_PDB_ins_code\n"
    "_atom_site.Cartn_x\n"
    "_atom_site.Cartn_y\n"
    "_atom_site.Cartn_z\n"
    "_atom_site.occupancy\n"
    "_atom_site.B_iso_or_equiv\n"
    "_atom_site.auth_seq_id\n"
    "_atom_site.auth_asym_id\n"
    "_atom_site.pdbx_PDB_model_num\n"
    "ATOM   1  N  N  . MET A 1 ? 1.0 2.0 3.0 1.00 10.0 1 X 1\n"
    "ATOM   2  C  CA . MET A 1 ? 1.5 2.5 3.5 1.00 11.0 1 X 1\n"
    "HETATM 3  SE SE . MSE A 2 ? 4.0 5.0 6.0 1.00 12.0 2 X 1\n"
    "HETATM 4  C  CA . MSE A 2 ? 4.5 5.5 6.5 1.00 13.0 2 X 1\n"
    "ATOM   5  C  CA A ALA A 3 ? 7.0 8.0 9.0 0.40 14.0 3 X 1\n"
    "ATOM   6  C  CA B ALA A 3 ? 7.1 8.1 9.1 0.60 15.0 3 X 1\n"
    "ATOM   7  C  CB A ALA A 3 ? 7.2 8.2 9.2 0.50 16.0 3 X 1\n"
    "ATOM   8  C  CB B ALA A 3 ? 7.3 8.3 9.3 0.50 17.0 3 X 1\n"
    "ATOM   9  C  CA C GLY A 3 ? 7.4 8.4 9.4 0.90 18.0 3 X 1\n"
    "HETATM 10 C  C1 . LIG B . ? 10.0 11.0 12.0 1.00 20.0 101 X 1\n"
    "HETATM 11 O  O  . HOH C . A 13.0 14.0 15.0 1.00 21.0 201 X 1\n"
    "ATOM   12 P  P  . DA  D 1 ? 16 17 18 1 22 1 Y 1\n"
    "ATOM   13 N  N  . MET A 1 ? 99 99 99 1 1 1 X 2\n"   /* model 2: ignored */
    "#\n"
    "data_SECOND\n"                                        /* a second block: ignored */
    "_atom_site.group_PDB ATOM\n";

static void test_conventions(void) {
    ax_structure *s = NULL;
    CHECK_OK(ax_mmcif_parse(conventions_cif, sizeof conventions_cif - 1, "conv.cif", &s));
    if (s == NULL) return;
    CHECK(fabs(s->resolution - 2.0) < 1e-12);
    CHECK_INT_EQ(s->num_chains, 2);
    const ax_chain *c = &s->chains[0];
    CHECK_STR_EQ(c->id, "X");
    CHECK_STR_EQ(c->label_id, "A");
    CHECK_STR_EQ(c->entity_id, "1"); /* from _struct_asym: atom_site has no label_entity_id */
    CHECK_INT_EQ(c->polymer_type, AX_POLYMER_PROTEIN); /* no _entity_poly: told by the residue names */
    CHECK_INT_EQ(c->seq_len, 5);
    CHECK_STR_EQ(c->sequence, "MMAXK");
    CHECK(c->resolved[0] == 1 && c->resolved[1] == 1 && c->resolved[2] == 1 && c->resolved[3] == 0 &&
          c->resolved[4] == 0);
    CHECK_INT_EQ(c->num_residues, 5);
    CHECK_INT_EQ(c->num_atoms, 8);
    const ax_residue *r = &c->residues[1];
    CHECK_STR_EQ(r->name, "MET"); /* MSE -> MET */
    CHECK_INT_EQ(r->one_letter, 'M');
    CHECK_INT_EQ(r->seq_index, 1);
    CHECK_INT_EQ(r->num_atoms, 2);
    CHECK_STR_EQ(c->atoms[r->first_atom].name, "SD"); /* SE -> SD, element kept */
    CHECK_STR_EQ(c->atoms[r->first_atom].element, "SE");
    r = &c->residues[2];
    CHECK_STR_EQ(r->name, "ALA");
    CHECK_INT_EQ(r->num_atoms, 2); /* GLY alternative dropped */
    const ax_atom *ca = find_atom(c, r, "CA"), *cb = find_atom(c, r, "CB");
    CHECK(ca != NULL && near(ca->x, 7.1) && near(ca->occupancy, 0.6)); /* higher occupancy */
    CHECK(cb != NULL && near(cb->x, 7.2) && near(cb->b_factor, 16.0)); /* tie: the first */
    r = &c->residues[3];
    CHECK_STR_EQ(r->name, "LIG");
    CHECK_INT_EQ(r->seq_index, -1);
    CHECK_INT_EQ(r->number, 101);
    r = &c->residues[4];
    CHECK_STR_EQ(r->name, "HOH");
    CHECK_INT_EQ(r->ins_code, 'A');
    CHECK_INT_EQ(r->seq_index, -1);
    c = &s->chains[1];
    CHECK_STR_EQ(c->id, "Y");
    CHECK_STR_EQ(c->sequence, "X"); /* DA: not an amino acid */
    CHECK_INT_EQ(c->polymer_type, AX_POLYMER_DNA);
    CHECK_INT_EQ(c->resolved[0], 1);
    CHECK_INT_EQ(c->num_atoms, 1);
    CHECK(near(c->atoms[0].x, 16.0) && near(c->atoms[0].b_factor, 22.0));
    ax_structure_destroy(s);
}

/* ---- 1AS5: hydroxyproline ------------------------------------------------------------------- */

/* PDB entry 1AS5 (conotoxin, NMR, 14 models), from its own records:
 *   zcat 1as5.cif.gz | grep _entity_poly.pdbx_seq_one_letter_code_can -> HPPCCLYGKCRRYPGCSSASCCQRX
 *   (the PDB's canonical sequence: HYP as P, the C-terminal NH2 cap as X)
 *   zcat 1as5.cif.gz | grep -A12 _pdbx_struct_mod_residue.id -> HYP A 2, 3, 14, parent_comp_id PRO
 *   zcat 1as5.cif.gz | awk '($1=="ATOM"||$1=="HETATM") && $NF==1 {print $9":"$6}' | uniq
 *       -> 1:HIS 2:HYP 3:HYP 4:CYS ... 24:ARG 25:NH2, author chain ($(NF-2)) A throughout
 *   ATOM 28 O OD1 . HYP A 1 2 ? 9.612 -0.073 0.965 1.00 0.00 ? ? ? ? ? ? 2 HYP A OD1 1 */
static void test_1as5(void) {
    ax_structure *s = NULL;
    CHECK_OK(ax_mmcif_read(DATA "/1as5.cif.gz", &s));
    if (s == NULL) return;
    CHECK_INT_EQ(s->num_chains, 1);
    const ax_chain *c = &s->chains[0];
    CHECK_STR_EQ(c->id, "A");
    CHECK_INT_EQ(c->polymer_type, AX_POLYMER_PROTEIN);
    CHECK_STR_EQ(c->sequence, "HPPCCLYGKCRRYPGCSSASCCQRX");
    const ax_residue *r = find_residue(c, 2);
    CHECK(r != NULL);
    if (r != NULL) {
        CHECK_STR_EQ(r->name, "HYP"); /* the name stays; only the letter is the parent's */
        CHECK_INT_EQ(r->one_letter, 'P');
        const ax_atom *od1 = find_atom(c, r, "OD1"); /* the parser keeps every atom */
        CHECK(od1 != NULL && near(od1->x, 9.612) && near(od1->y, -0.073) && near(od1->z, 0.965));
    }
    r = find_residue(c, 25);
    CHECK(r != NULL && strcmp(r->name, "NH2") == 0 && r->one_letter == 'X' && r->seq_index == 24);
    ax_structure_destroy(s);
}

/* ---- 1LCD: a protein-DNA complex ------------------------------------------------------------ */

/* PDB entry 1LCD (lac repressor headpiece bound to DNA, NMR, 3 models):
 *   zcat 1lcd.cif.gz | grep -A9 '^_entity_poly.entity_id' -> entity 1 polydeoxyribonucleotide
 *       (strand B), 2 polydeoxyribonucleotide (C), 3 'polypeptide(L)' (A),
 *       MKPVTLYDVAEYAGVSYQTVSRVVNQASHVSAKTREKVEAAMAELNYIPNR
 *   zcat 1lcd.cif.gz | awk '($1=="ATOM"||$1=="HETATM") && $NF==1 {print $(NF-2)}' | uniq
 *       -> B C A C A B C: author chains in order of first appearance B, C, A
 *   zcat 1lcd.cif.gz | awk '$1=="ATOM" && $NF==1 {print $(NF-2), $9}' | uniq | awk '{print $1}' | uniq -c
 *       -> 11 residues in B, 11 in C, 51 in A; B and C are DA/DC/DG/DT only, so 'X' each */
static void test_1lcd(void) {
    ax_structure *s = NULL;
    CHECK_OK(ax_mmcif_read(DATA "/1lcd.cif.gz", &s));
    if (s == NULL) return;
    CHECK(s->resolution == 0.0);
    CHECK_INT_EQ(s->num_chains, 3);
    static const struct {
        const char *id, *sequence;
        ax_polymer_type type;
    } expected[3] = {{"B", "XXXXXXXXXXX", AX_POLYMER_DNA},
                     {"C", "XXXXXXXXXXX", AX_POLYMER_DNA},
                     {"A", "MKPVTLYDVAEYAGVSYQTVSRVVNQASHVSAKTREKVEAAMAELNYIPNR", AX_POLYMER_PROTEIN}};
    for (int i = 0; i < 3 && i < s->num_chains; i++) {
        CHECK_STR_EQ(s->chains[i].id, expected[i].id);
        CHECK_STR_EQ(s->chains[i].sequence, expected[i].sequence);
        CHECK_INT_EQ(s->chains[i].polymer_type, expected[i].type);
    }
    CHECK_STR_EQ(ax_polymer_type_name(s->chains[0].polymer_type), "DNA");
    ax_structure_destroy(s);
}

/* ---- parents of modified residues and polymer types, on a hand-made file --------------------- */

/* The file's own records come first (_pdbx_struct_mod_residue before _chem_comp), then the
 * built-in table; a parent list ("ALA,GLY") names no single parent. _entity_poly.type decides the
 * polymer type where present, whatever the residue names say. */
static const char modified_cif[] =
    "data_MOD\n"
    "loop_\n"
    "_entity_poly.entity_id\n"
    "_entity_poly.type\n"
    "1 'polypeptide(L)'\n"
    "2 polyribonucleotide\n"
    "3 'polydeoxyribonucleotide/polyribonucleotide hybrid'\n"
    "loop_\n"
    "_chem_comp.id\n"
    "_chem_comp.type\n"
    "_chem_comp.mon_nstd_parent_comp_id\n"
    "AIB 'L-peptide linking' ALA\n"
    "PCA 'L-peptide linking' GLN\n"
    "FOO 'L-peptide linking' ALA,GLY\n"
    "GLY 'peptide linking' ?\n"
    "loop_\n"
    "_entity_poly_seq.entity_id\n"
    "_entity_poly_seq.num\n"
    "_entity_poly_seq.mon_id\n"
    "1 1 AIB 1 2 PCA 1 3 SEP 1 4 FOO 1 5 MSE 1 6 GLY\n"
    "2 1 GLY\n"
    "3 1 DA 3 2 U\n"
    "loop_\n"
    "_atom_site.group_PDB\n"
    "_atom_site.label_atom_id\n"
    "_atom_site.label_comp_id\n"
    "_atom_site.label_asym_id\n"
    "_atom_site.label_entity_id\n"
    "_atom_site.label_seq_id\n"
    "_atom_site.Cartn_x\n"
    "_atom_site.Cartn_y\n"
    "_atom_site.Cartn_z\n"
    "_atom_site.auth_seq_id\n"
    "_atom_site.auth_asym_id\n"
    "HETATM CA AIB A 1 1 1 1 1 1 P\n"
    "HETATM CA PCA A 1 2 2 2 2 2 P\n"
    "ATOM   CA GLY B 2 1 3 3 3 1 R\n"
    "ATOM   P  DA  C 3 1 4 4 4 1 H\n"
    "#\n"
    "loop_\n"
    "_pdbx_struct_mod_residue.id\n"
    "_pdbx_struct_mod_residue.label_comp_id\n"
    "_pdbx_struct_mod_residue.parent_comp_id\n"
    "1 PCA GLU\n";

static void test_modified_residues(void) {
    ax_structure *s = NULL;
    CHECK_OK(ax_mmcif_parse(modified_cif, sizeof modified_cif - 1, "mod.cif", &s));
    if (s == NULL) return;
    CHECK_INT_EQ(s->num_chains, 3);
    const ax_chain *c = &s->chains[0];
    /* AIB: _chem_comp ALA; PCA: _pdbx_struct_mod_residue GLU before _chem_comp GLN (and the
     * built-in GLN); SEP: built-in SER; FOO: a list, so X; MSE: M. */
    CHECK_STR_EQ(c->sequence, "AESXMG");
    CHECK_INT_EQ(c->polymer_type, AX_POLYMER_PROTEIN);
    CHECK_STR_EQ(c->residues[0].name, "AIB");
    CHECK_INT_EQ(c->residues[0].one_letter, 'A');
    CHECK_INT_EQ(c->residues[1].one_letter, 'E');
    CHECK_INT_EQ(s->chains[1].polymer_type, AX_POLYMER_RNA); /* a glycine, but the file says RNA */
    CHECK_INT_EQ(s->chains[2].polymer_type, AX_POLYMER_DNA_RNA_HYBRID);
    ax_structure_destroy(s);
    CHECK_STR_EQ(ax_polymer_type_name(AX_POLYMER_NONE), "none");
    CHECK_STR_EQ(ax_polymer_type_name(AX_POLYMER_DNA_RNA_HYBRID), "DNA/RNA hybrid");
    CHECK_STR_EQ(ax_polymer_type_name((ax_polymer_type)99), "unknown");
}

/* Without _entity_poly_seq the sequence is the residues with a label_seq_id, in file order; a
 * single atom may be written as tag/value pairs; missing auth columns fall back to label ones. */
/* A label_seq_id column of '?' and '.' only numbers nothing: the ATOM rows (group_PDB) are the
 * polymer, as without the column; the HETATM water is not (every residue had been outside it, an
 * empty sequence). With _entity_poly_seq too, the residues map by file order as documented. */
static void test_null_label_seq(void) {
    static const char body[] =
        "loop_\n_atom_site.group_PDB\n_atom_site.label_atom_id\n_atom_site.label_comp_id\n"
        "_atom_site.label_asym_id\n_atom_site.label_entity_id\n_atom_site.label_seq_id\n"
        "_atom_site.auth_seq_id\n_atom_site.Cartn_x\n_atom_site.Cartn_y\n_atom_site.Cartn_z\n"
        "ATOM CA MET A 1 ? 1 0 0 0\nATOM CA ALA A 1 . 2 1 0 0\nHETATM O HOH A 2 ? 3 2 0 0\n";
    static const char poly_seq[] =
        "loop_\n_entity_poly_seq.entity_id\n_entity_poly_seq.num\n_entity_poly_seq.mon_id\n1 1 MET\n1 2 ALA\n";
    for (int with_poly_seq = 0; with_poly_seq < 2; with_poly_seq++) {
        char text[1024];
        snprintf(text, sizeof text, "data_n\n%s%s", with_poly_seq ? poly_seq : "", body);
        ax_structure *s = NULL;
        CHECK_OK(ax_mmcif_parse(text, strlen(text), "null_seq.cif", &s));
        if (s == NULL) continue;
        CHECK_INT_EQ(s->num_chains, 1);
        CHECK_STR_EQ(s->chains[0].sequence, "MA");
        CHECK_INT_EQ(s->chains[0].num_residues, 3);
        if (s->chains[0].num_residues == 3) {
            CHECK_INT_EQ(s->chains[0].residues[0].seq_index, 0);
            CHECK_INT_EQ(s->chains[0].residues[1].seq_index, 1);
            CHECK_INT_EQ(s->chains[0].residues[2].seq_index, -1);
        }
        ax_structure_destroy(s);
    }
}

static void test_fallbacks(void) {
    static const char pairs[] =
        "data_one\n"
        "_atom_site.group_PDB ATOM\n"
        "_atom_site.label_atom_id CA\n"
        "_atom_site.label_comp_id GLY\n"
        "_atom_site.label_asym_id A\n"
        "_atom_site.label_seq_id 7\n"
        "_atom_site.Cartn_x 1.5\n"
        "_atom_site.Cartn_y -2\n"
        "_atom_site.Cartn_z 3e0\n";
    ax_structure *s = NULL;
    CHECK_OK(ax_mmcif_parse(pairs, sizeof pairs - 1, "pairs.cif", &s));
    if (s != NULL) {
        CHECK_INT_EQ(s->num_chains, 1);
        CHECK(s->resolution == 0.0);
        CHECK_STR_EQ(s->chains[0].id, "A");
        CHECK_STR_EQ(s->chains[0].sequence, "G");
        CHECK_INT_EQ(s->chains[0].residues[0].number, 7);
        CHECK(near(s->chains[0].atoms[0].y, -2.0) && near(s->chains[0].atoms[0].z, 3.0));
        CHECK(near(s->chains[0].atoms[0].occupancy, 1.0));
        CHECK_STR_EQ(s->chains[0].atoms[0].element, "");
    }
    ax_structure_destroy(s);

    static const char no_seq[] =
        "data_two\n"
        "loop_\n_atom_site.label_atom_id\n_atom_site.label_comp_id\n_atom_site.label_asym_id\n"
        "_atom_site.label_seq_id\n_atom_site.auth_seq_id\n_atom_site.Cartn_x\n_atom_site.Cartn_y\n"
        "_atom_site.Cartn_z\n"
        "CA LYS A 1 10 0 0 0\n"
        "CA TRP A 2 11 0 0 0\n"
        "O  HOH A . 50 0 0 0\n";
    CHECK_OK(ax_mmcif_parse(no_seq, sizeof no_seq - 1, "noseq.cif", &s));
    if (s != NULL) {
        CHECK_STR_EQ(s->chains[0].sequence, "KW");
        CHECK_INT_EQ(s->chains[0].num_residues, 3);
        CHECK_INT_EQ(s->chains[0].residues[1].number, 11);
        CHECK_INT_EQ(s->chains[0].residues[2].seq_index, -1);
    }
    ax_structure_destroy(s);

    /* _entity_poly_seq rows for entity 1 only. Entity 2, which _entity_poly declares a polypeptide,
     * still forms its chain's sequence from its numeric label_seq_id (it had been made non-polymer,
     * leaving chain B without one); entities 3 (a ligand) and 4 (water), which neither category
     * names, stay out of every sequence although their writer gave them numeric label_seq_ids, as in
     * AlphaFold, which takes only entities with sequences as chains. */
    static const char one_entity_seq[] =
        "data_three\n"
        "loop_\n_entity_poly_seq.entity_id\n_entity_poly_seq.num\n_entity_poly_seq.mon_id\n"
        "1 1 ALA\n1 2 GLY\n"
        "loop_\n_entity_poly.entity_id\n_entity_poly.type\n1 polypeptide(L)\n2 polypeptide(L)\n"
        "loop_\n_atom_site.group_PDB\n_atom_site.label_atom_id\n_atom_site.label_comp_id\n"
        "_atom_site.label_asym_id\n_atom_site.label_entity_id\n_atom_site.label_seq_id\n"
        "_atom_site.auth_seq_id\n_atom_site.Cartn_x\n_atom_site.Cartn_y\n_atom_site.Cartn_z\n"
        "ATOM CA ALA A 1 1 1 0 0 0\n"
        "ATOM CA GLY A 1 2 2 0 0 0\n"
        "ATOM CA LYS B 2 1 1 0 0 0\n"
        "ATOM CA LEU B 2 2 2 0 0 0\n"
        "HETATM C1 NAG L 3 101 101 0 0 0\n"
        "HETATM O HOH W 4 201 201 0 0 0\n"
        "HETATM O HOH W 4 202 202 0 0 0\n";
    CHECK_OK(ax_mmcif_parse(one_entity_seq, sizeof one_entity_seq - 1, "oneseq.cif", &s));
    CHECK(s != NULL && s->num_chains == 4);
    if (s != NULL && s->num_chains == 4) {
        CHECK_STR_EQ(s->chains[0].sequence, "AG");
        CHECK_STR_EQ(s->chains[1].id, "B");
        CHECK_STR_EQ(s->chains[1].sequence, "KL");
        CHECK(s->chains[1].polymer_type == AX_POLYMER_PROTEIN);
        CHECK_INT_EQ(s->chains[1].residues[1].seq_index, 1);
        for (int c = 2; c < 4; c++) { /* the ligand and the water */
            CHECK_INT_EQ(s->chains[c].seq_len, 0);
            CHECK(s->chains[c].polymer_type == AX_POLYMER_NONE);
        }
    }
    ax_structure_destroy(s);

    /* _entity_poly_seq but no label_seq_id column to map residues to it: the group ATOM records form
     * the sequence in file order (the whole chain had become non-polymer). */
    static const char no_label_seq[] =
        "data_four\n"
        "loop_\n_entity_poly_seq.entity_id\n_entity_poly_seq.num\n_entity_poly_seq.mon_id\n"
        "1 1 ALA\n1 2 GLY\n"
        "loop_\n_atom_site.group_PDB\n_atom_site.label_atom_id\n_atom_site.label_comp_id\n"
        "_atom_site.label_asym_id\n_atom_site.label_entity_id\n_atom_site.auth_seq_id\n"
        "_atom_site.Cartn_x\n_atom_site.Cartn_y\n_atom_site.Cartn_z\n"
        "ATOM CA ALA A 1 1 0 0 0\n"
        "ATOM CA GLY A 1 2 0 0 0\n"
        "HETATM C1 NAG A 2 3 0 0 0\n";
    CHECK_OK(ax_mmcif_parse(no_label_seq, sizeof no_label_seq - 1, "nolabel.cif", &s));
    if (s != NULL) {
        CHECK_STR_EQ(s->chains[0].sequence, "AG");
        CHECK(s->chains[0].polymer_type == AX_POLYMER_PROTEIN);
        CHECK_INT_EQ(s->chains[0].residues[2].seq_index, -1);
    }
    ax_structure_destroy(s);

    /* Resolution: a value that is not a number is passed over for the next source, as AlphaFold's
     * parser does (it had failed the whole file, even with _refine holding a number). */
    static const char *const resolutions[] = {
        "data_r\n_refine.ls_d_res_high 2.0\n_reflns.d_resolution_high n/a\n",
        "data_r\n_refine.ls_d_res_high n/a\n_reflns.d_resolution_high 3.25\n",
        "data_r\n_refine.ls_d_res_high high\n_em_3d_reconstruction.resolution ?\n",
        "data_r\n_refine.ls_d_res_high 2.5\n_em_3d_reconstruction.resolution 3.1\n",
        /* only row [0] of a loop counts, and float() refuses an uncertainty */
        "data_r\nloop_\n_refine.pdbx_refine_id\n_refine.ls_d_res_high\nX-RAY ?\nNEUTRON 2.5\n",
        "data_r\n_refine.ls_d_res_high 1.8\n_reflns.d_resolution_high 2.0(1)\n",
        /* a text field's value "\n1.8 " is 1.8 to float(), which ignores the whitespace around it */
        "data_r\n_refine.ls_d_res_high\n;\n1.8 \n;\n",
    };
    const double expected[] = {2.0, 3.25, 0.0, 3.1, 0.0, 1.8, 1.8};
    for (int i = 0; i < 7; i++) {
        char text[512];
        snprintf(text, sizeof text, "%s%s", resolutions[i],
                 "_atom_site.label_atom_id CA\n_atom_site.label_comp_id GLY\n_atom_site.label_asym_id A\n"
                 "_atom_site.label_seq_id 1\n_atom_site.Cartn_x 0\n_atom_site.Cartn_y 0\n_atom_site.Cartn_z 0\n");
        CHECK_OK(ax_mmcif_parse(text, strlen(text), "res.cif", &s));
        if (s != NULL) CHECK(s->resolution == expected[i]);
        ax_structure_destroy(s);
    }
}

static void expect_error_len(const char *text, size_t len, const char *message) {
    ax_structure *s = (ax_structure *)&s;
    CHECK_STATUS(ax_mmcif_parse(text, len, "bad.cif", &s), AX_ERR_FORMAT);
    CHECK(s == NULL);
    CHECK_CONTAINS(ax_last_error(), message);
    if (s != NULL && s != (ax_structure *)&s) ax_structure_destroy(s);
}

static void expect_error(const char *text, const char *message) { expect_error_len(text, strlen(text), message); }

#define ATOM_LOOP                                                                                   \
    "loop_\n_atom_site.label_atom_id\n_atom_site.label_comp_id\n_atom_site.label_asym_id\n"         \
    "_atom_site.label_entity_id\n_atom_site.label_seq_id\n_atom_site.Cartn_x\n_atom_site.Cartn_y\n" \
    "_atom_site.Cartn_z\n"

#define ATOM_LOOP_AUTH                                                                              \
    "loop_\n_atom_site.label_atom_id\n_atom_site.label_comp_id\n_atom_site.label_asym_id\n"         \
    "_atom_site.label_entity_id\n_atom_site.label_seq_id\n_atom_site.auth_seq_id\n"                 \
    "_atom_site.Cartn_x\n_atom_site.Cartn_y\n_atom_site.Cartn_z\n"

/* Records of a residue split by another residue's records make one residue, its atoms in file
 * order (as Biopython reads them), with or without _entity_poly_seq. Before, the first case was an
 * error and the second listed GLY twice (sequence "GAG"). */
static void test_split_residues(void) {
    static const char with_seq[] =
        "data_x\nloop_\n_entity_poly_seq.entity_id\n_entity_poly_seq.num\n_entity_poly_seq.mon_id\n"
        "1 1 GLY\n1 2 ALA\n" ATOM_LOOP "CA GLY A 1 1 1 0 0\nCA ALA A 1 2 2 0 0\nC GLY A 1 1 3 0 0\n"
        "CB ALA A 1 2 4 0 0\nO GLY A 1 1 5 0 0\n";
    static const char without_seq[] =
        "data_x\n" ATOM_LOOP "CA GLY A 1 1 1 0 0\nCA ALA A 1 2 2 0 0\nC GLY A 1 1 3 0 0\n"
        "CB ALA A 1 2 4 0 0\nO GLY A 1 1 5 0 0\n";
    const char *texts[2] = {with_seq, without_seq};
    for (int t = 0; t < 2; t++) {
        ax_structure *s = NULL;
        CHECK_OK(ax_mmcif_parse(texts[t], strlen(texts[t]), "split.cif", &s));
        if (s == NULL) continue;
        const ax_chain *c = &s->chains[0];
        CHECK_STR_EQ(c->sequence, "GA");
        CHECK_INT_EQ(c->num_residues, 2);
        CHECK_INT_EQ(c->num_atoms, 5);
        CHECK_INT_EQ(c->residues[0].first_atom, 0);
        CHECK_INT_EQ(c->residues[0].num_atoms, 3);
        CHECK_INT_EQ(c->residues[1].first_atom, 3);
        CHECK_INT_EQ(c->residues[1].num_atoms, 2);
        CHECK_INT_EQ(c->residues[1].seq_index, 1);
        static const char *const names[5] = {"CA", "C", "O", "CA", "CB"};
        static const double xs[5] = {1, 3, 5, 2, 4};
        for (int i = 0; i < 5; i++) {
            CHECK_STR_EQ(c->atoms[i].name, names[i]);
            CHECK(near(c->atoms[i].x, xs[i]));
        }
        ax_structure_destroy(s);
    }
}

/* Microheterogeneity with _atom_site listing the second monomer first: the residue is the one the
 * sequence keeps (the first monomer), so its name and atoms agree with the sequence letter. Chain B
 * has only the second monomer's atoms there: they stay, as at any point heterogeneity. Before, chain
 * A's residue was SER with SER's atoms under the sequence letter 'A'. */
static void test_microheterogeneity(void) {
    static const char text[] =
        "data_x\nloop_\n_entity_poly_seq.entity_id\n_entity_poly_seq.num\n_entity_poly_seq.mon_id\n"
        "1 1 GLY\n1 2 ALA\n1 2 SER\n1 3 GLY\n" ATOM_LOOP
        "CA GLY A 1 1 1 0 0\nCA SER A 1 2 2 0 0\nOG SER A 1 2 3 0 0\nCA ALA A 1 2 4 0 0\n"
        "CB ALA A 1 2 5 0 0\nCA GLY A 1 3 6 0 0\n"
        "CA GLY B 1 1 7 0 0\nCA SER B 1 2 8 0 0\nOG SER B 1 2 9 0 0\n";
    ax_structure *s = NULL;
    CHECK_OK(ax_mmcif_parse(text, strlen(text), "micro.cif", &s));
    if (s == NULL) return;
    CHECK_INT_EQ(s->num_chains, 2);
    const ax_chain *c = &s->chains[0];
    CHECK_STR_EQ(c->sequence, "GAG");
    CHECK_INT_EQ(c->num_residues, 3);
    CHECK_INT_EQ(c->num_atoms, 4);
    const ax_residue *r = &c->residues[1];
    CHECK_STR_EQ(r->name, "ALA");
    CHECK_INT_EQ(r->one_letter, 'A');
    CHECK_INT_EQ(r->seq_index, 1);
    CHECK_INT_EQ(r->num_atoms, 2);
    CHECK(find_atom(c, r, "CB") != NULL && near(find_atom(c, r, "CB")->x, 5));
    CHECK(find_atom(c, r, "OG") == NULL);
    c = &s->chains[1];
    CHECK_STR_EQ(c->sequence, "GAG");
    CHECK_INT_EQ(c->num_residues, 2);
    CHECK_STR_EQ(c->residues[1].name, "SER");
    CHECK_INT_EQ(c->residues[1].num_atoms, 2);
    ax_structure_destroy(s);
}

static void test_errors(void) {
    expect_error("data_x\n_cell.length_a 10\n", "bad.cif:2: no atoms");
    expect_error("", "bad.cif:1: no data_ block");
    expect_error("_cell.length_a 10\n", "bad.cif:1:1: expected a data_ block");
    expect_error("data_x\n_cell.length_a\n_cell.length_b 1\n", "bad.cif:2:1: tag _cell.length_a has no value");
    expect_error("data_x\n_cell.length_a 1 2\n", "bad.cif:2:18: value '2' without a tag");
    expect_error("data_x\nloop_\n_a.b\n_a.c\n1 2 3\n", "loop_ (line 2) ends in the middle of a row: 1 of its 2");
    expect_error("data_x\nloop_\n_a.b\nloop_\n", "bad.cif:2: loop_ has tags but no values");
    expect_error("data_x\nloop_\n1\n", "bad.cif:3:1: loop_ without tags");
    expect_error("data_x\nloop_\n_atom_site.label_atom_id\n_atom_site.label_comp_id\n_atom_site.label_asym_id\n"
                 "_atom_site.auth_seq_id\n_atom_site.Cartn_x\n_atom_site.Cartn_y\nCA GLY A 1 0 0\n",
                 "bad.cif:2: _atom_site has no Cartn_z column");
    expect_error("data_x\n" ATOM_LOOP "CA GLY A 1 1 1.0 abc 3\n", "bad.cif:11:18: Cartn_y 'abc' is not a number");
    expect_error("data_x\n" ATOM_LOOP "CA GLY A 1 1 1.0 ? 3\n", "bad.cif:11: atom CA of GLY 1 has no coordinates");
    /* A quoted value keeps the message on one line: a text field's newline is written \x0a. */
    expect_error("data_x\n" ATOM_LOOP "CA GLY A 1 1 1.0\n;multi\nline\n;\n3\n",
                 "Cartn_y 'multi\\x0aline' is not a number");
    /* A quoted value cut at its 80 bytes is cut at a character: "a" and 60 two-byte characters end
     * 39.5 characters in, so the half is dropped (the message had ended in invalid UTF-8). */
    {
        char text[512] = "data_x\n" ATOM_LOOP "CA GLY A 1 1 1.0 a";
        for (int i = 0; i < 60; i++) strcat(text, "\xC3\xA9");
        strcat(text, " 3\n");
        expect_error(text, "Cartn_y 'a\xC3\xA9");
        CHECK(ax_utf8_valid(ax_last_error()));
    }
    /* Numbers past the float range had become inf in the coordinates. */
    expect_error("data_x\n" ATOM_LOOP "CA GLY A 1 1 1e39 2 3\n", "bad.cif:11:14: Cartn_x '1e39' is outside the float");
    expect_error("data_x\n" ATOM_LOOP "CA GLY A 1 1 1 2 -3.5e38\n", "Cartn_z '-3.5e38' is outside the float range");
    expect_error("data_x\n" ATOM_LOOP "CA GLY A 1 x 1 2 3\n", "bad.cif:11:12: residue number 'x' is not an integer");
    /* Numbers too large to hold are named as such (they had been "not a number") */
    expect_error("data_x\n" ATOM_LOOP "CA GLY A 1 1 1e400 2 3\n", "bad.cif:11:14: Cartn_x '1e400' is out of range");
    expect_error("data_x\n" ATOM_LOOP "CA GLY A 1 99999999999 1 2 3\n",
                 "bad.cif:11:12: residue number '99999999999' is out of the 32-bit integer range");
    expect_error("data_x\n" ATOM_LOOP "CA GLY A 1 ? 1 2 3\n", "bad.cif:11:12: residue number '?' is missing");
    /* A null value whose auth_* twin the loop lacks is named where it stands (it had been line 0). */
    expect_error("data_x\n" ATOM_LOOP "? GLY A 1 1 1 2 3\n", "bad.cif:11:1: atom name '?' is missing");
    expect_error("data_x\n" ATOM_LOOP "CA . A 1 1 1 2 3\n", "bad.cif:11:4: residue name '?' is missing");
    expect_error("data_x\n" ATOM_LOOP "CA GLYCINES A 1 1 1 2 3\n", "bad.cif:11:4: residue name 'GLYCINES' is too long");
    expect_error("data_x\nloop_\n_entity_poly_seq.entity_id\n_entity_poly_seq.num\n_entity_poly_seq.mon_id\n"
                 "1 1 GLY\n" ATOM_LOOP "CA GLY A 1 2 1 2 3\n",
                 "bad.cif:16: residue GLY 2 of chain A has label_seq_id 2, which _entity_poly_seq of entity 1");
    expect_error("data_x\nloop_\n_entity_poly_seq.entity_id\n_entity_poly_seq.num\n_entity_poly_seq.mon_id\n"
                 "1 2 GLY\n1 1 ALA\n" ATOM_LOOP "CA GLY A 1 2 1 2 3\n",
                 "bad.cif:7: _entity_poly_seq of entity 1: num 1 comes after 2");
    /* Two author numbers at one label_seq_id. */
    expect_error("data_x\nloop_\n_entity_poly_seq.entity_id\n_entity_poly_seq.num\n_entity_poly_seq.mon_id\n"
                 "1 1 GLY\n" ATOM_LOOP_AUTH "CA GLY A 1 1 5 0 0 0\nCA GLY A 1 1 6 0 0 0\n",
                 "bad.cif:18: residue GLY 6 of chain A takes sequence position 1, which another residue");
    /* INT32_MIN is the parser's "no label_seq_id": it had made the residue a ligand. */
    expect_error("data_x\n" ATOM_LOOP "CA GLY A 1 -2147483648 1 2 3\n",
                 "bad.cif:11:12: label_seq_id '-2147483648' is out of range");
    expect_error("data_x\n_a.b 'unterminated\n", "bad.cif:2:6: quoted string is not closed");
    static const char elf[] = "\x7f" "ELF\x02\x01\x01\0\0\0";
    expect_error_len(elf, sizeof elf - 1, "bad.cif:1:8: NUL byte");
    expect_error("\x89PNG\r\n\x1a\n", "bad.cif:1:1: expected a data_ block");
    ax_structure *s = NULL;
    CHECK_STATUS(ax_mmcif_read(DATA "/1tii.pdb", &s), AX_ERR_FORMAT);
    CHECK_CONTAINS(ax_last_error(), "1tii.pdb:1:1: expected a data_ block");
    CHECK_STATUS(ax_mmcif_read(DATA "/absent.cif", &s), AX_ERR_IO);
    CHECK_STATUS(ax_mmcif_parse(NULL, 1, NULL, &s), AX_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ax_mmcif_parse("", 0, NULL, NULL), AX_ERR_INVALID_ARGUMENT);
    ax_structure_destroy(NULL);
}

/* Cutting 1CBS inside an _atom_site row leaves the loop with a partial row. */
static void test_truncated(void) {
    static const char text[] =
        "data_x\n" ATOM_LOOP "CA GLY A 1 1 1 2 3\nCA ALA A 1 2 4 5 6\n";
    ax_structure *s = NULL;
    const size_t cut = strlen(text) - 2; /* "CA ALA A 1 2 4 5 " */
    CHECK_STATUS(ax_mmcif_parse(text, cut, "cut.cif", &s), AX_ERR_FORMAT);
    CHECK_CONTAINS(ax_last_error(), "cut.cif:12:1: loop_ (line 2) ends in the middle of a row: 7 of its 8 values");
    CHECK_OK(ax_mmcif_parse(text, strlen(text), "whole.cif", &s));
    ax_structure_destroy(s);
}

int main(void) {
    RUN(test_tokenizer);
    RUN(test_1cbs);
    RUN(test_conventions);
    RUN(test_1as5);
    RUN(test_1lcd);
    RUN(test_modified_residues);
    RUN(test_fallbacks);
    RUN(test_null_label_seq);
    RUN(test_split_residues);
    RUN(test_microheterogeneity);
    RUN(test_errors);
    RUN(test_truncated);
    return th_finish();
}
