/*
 * test_io_pdb.c — PDB-format parsing: 1TII against values counted with grep/cut/awk, a hand-made
 * file for each convention, and each error.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>

#include "axial/io.h"
#include "harness.h"

#define DATA AXIAL_TEST_DATA

static int near(float a, double b) { return fabs((double)a - b) < 1e-4; }

/* Expected values, from the file:
 *   grep '^ATOM' 1tii.pdb | cut -c22-27 | uniq | cut -c1 | uniq -c
 *       -> residues per chain, in file order: D 98, E 98, F 98, G 98, H 98, A 186, C 36
 *   grep '^ATOM' 1tii.pdb | cut -c22 | uniq -c   -> atoms: 740 x5, A 1479, C 290
 *   grep '^HETATM' 1tii.pdb | cut -c18-22 | uniq -c -> 215 "HOH  " (chain blank), all after the TERs
 *   sequences: grep '^ATOM' | awk '{print substr($0,22,1), substr($0,18,3), substr($0,23,5)}' | uniq,
 *       mapped three-to-one letter with an awk table (C: TTCASLTNKLSQHDLADFKKYIKRKFTLMTLLSINN)
 *   grep 'REMARK   2 RESOLUTION' 1tii.pdb -> 2.25 ANGSTROMS
 *   coordinates copied from the first and last ATOM lines. */
static void test_1tii(void) {
    ax_structure *s = NULL;
    CHECK_OK(ax_pdb_read(DATA "/1tii.pdb", &s));
    if (s == NULL) return;
    CHECK(fabs(s->resolution - 2.25) < 1e-12);
    CHECK_INT_EQ(s->num_chains, 8);
    static const struct {
        const char *id;
        int64_t seq_len, atoms;
    } expected[8] = {{"D", 98, 740}, {"E", 98, 740}, {"F", 98, 740},   {"G", 98, 740},
                     {"H", 98, 740}, {"A", 186, 1479}, {"C", 36, 290}, {" ", 0, 215}};
    for (int i = 0; i < 8 && i < s->num_chains; i++) {
        const ax_chain *c = &s->chains[i];
        CHECK_STR_EQ(c->id, expected[i].id);
        CHECK_INT_EQ(c->seq_len, expected[i].seq_len);
        CHECK_INT_EQ(c->num_atoms, expected[i].atoms);
        int64_t resolved = 0;
        for (int64_t k = 0; k < c->seq_len; k++) resolved += c->resolved[k];
        CHECK_INT_EQ(resolved, expected[i].seq_len);
        CHECK_INT_EQ(c->polymer_type, i < 7 ? AX_POLYMER_PROTEIN : AX_POLYMER_NONE);
    }
    CHECK_STR_EQ(s->chains[0].sequence,
                 "GASQFFKDNCNRTTASLVEGVELTKYISDINNNTDGMYVVSSTGGVWRISRAKDYPDNVMTAEMRKIAMAAVLSGMRVNMCASPASSPNVIWAIELEA");
    CHECK_STR_EQ(s->chains[6].sequence, "TTCASLTNKLSQHDLADFKKYIKRKFTLMTLLSINN");
    CHECK_INT_EQ(s->chains[7].num_residues, 215);
    CHECK_INT_EQ(s->chains[7].residues[0].seq_index, -1);
    CHECK_STR_EQ(s->chains[7].residues[0].name, "HOH");
    /* ATOM      1  N   GLY D   1      42.053  -9.336  17.867  1.00 43.86           N */
    const ax_atom *a = &s->chains[0].atoms[0];
    CHECK_STR_EQ(a->name, "N");
    CHECK_STR_EQ(a->element, "N");
    CHECK(near(a->x, 42.053) && near(a->y, -9.336) && near(a->z, 17.867));
    CHECK(near(a->occupancy, 1.0) && near(a->b_factor, 43.86));
    /* ATOM   5475  ND2 ASN C 230      64.683   5.397  16.815  1.00 46.19           N */
    const ax_chain *c = &s->chains[6];
    const ax_residue *r = &c->residues[c->num_residues - 1];
    CHECK_STR_EQ(r->name, "ASN");
    CHECK_INT_EQ(r->number, 230);
    CHECK_INT_EQ(r->seq_index, 35);
    a = &c->atoms[r->first_atom + r->num_atoms - 1];
    CHECK_STR_EQ(a->name, "ND2");
    CHECK(near(a->x, 64.683) && near(a->y, 5.397) && near(a->z, 16.815) && near(a->b_factor, 46.19));
    CHECK_INT_EQ(c->residues[0].number, 195);
    ax_structure_destroy(s);
}

/* Appends one ATOM/HETATM line in the fixed-column layout of the wwPDB format. */
static void atom_line(char *buf, size_t cap, const char *record, int serial, const char *name, char alt,
                      const char *res, char chain, int num, char ins, double x, double y, double z, double occ,
                      double b, const char *element) {
    const size_t used = strlen(buf);
    snprintf(buf + used, cap - used, "%-6s%5d %-4s%c%3s %c%4d%c   %8.3f%8.3f%8.3f%6.2f%6.2f          %2s\n", record,
             serial, name, alt, res, chain, num, ins, x, y, z, occ, b, element);
}

static void test_conventions(void) {
    static char text[8192];
    text[0] = '\0';
    strcat(text, "HEADER    TEST\nREMARK   2 RESOLUTION. NOT APPLICABLE.\nMODEL        1\n");
    atom_line(text, sizeof text, "ATOM", 1, " N", ' ', "MET", 'A', 1, ' ', 1, 2, 3, 1, 10, "N");
    atom_line(text, sizeof text, "ATOM", 2, " CA", ' ', "MET", 'A', 1, ' ', 1.5, 2, 3, 1, 10, "C");
    atom_line(text, sizeof text, "HETATM", 3, " CA", ' ', "MSE", 'A', 2, ' ', 4, 5, 6, 1, 11, "C");
    atom_line(text, sizeof text, "HETATM", 4, "SE", ' ', "MSE", 'A', 2, ' ', 4.5, 5, 6, 1, 11, "SE");
    atom_line(text, sizeof text, "ATOM", 5, " CA", 'A', "SER", 'A', 52, ' ', 7, 8, 9, 0.3, 12, "C");
    atom_line(text, sizeof text, "ATOM", 6, " CA", 'B', "SER", 'A', 52, ' ', 7.5, 8, 9, 0.7, 13, "C");
    atom_line(text, sizeof text, "ATOM", 7, " CA", ' ', "GLY", 'A', 52, 'A', 10, 11, 12, 1, 14, "C"); /* 52A */
    strcat(text, "TER       8      GLY A  52A\n");
    atom_line(text, sizeof text, "HETATM", 9, " C1", ' ', "NAG", 'A', 301, ' ', 20, 21, 22, 1, 30, "C");
    atom_line(text, sizeof text, "HETATM", 10, " O", ' ', "HOH", 'A', 401, ' ', 23, 24, 25, 1, 31, "O");
    /* Short records: no element columns, no occupancy or B-factor. */
    strcat(text, "ATOM     11  CA  LYS B   1      -1.000  -2.000  -3.000\n");
    strcat(text, "ENDMDL\nMODEL        2\n");
    atom_line(text, sizeof text, "ATOM", 1, " N", ' ', "MET", 'A', 1, ' ', 99, 99, 99, 1, 10, "N");
    strcat(text, "ENDMDL\nEND\n");
    ax_structure *s = NULL;
    CHECK_OK(ax_pdb_parse(text, strlen(text), "conv.pdb", &s));
    if (s == NULL) return;
    CHECK(s->resolution == 0.0);
    CHECK_INT_EQ(s->num_chains, 2);
    const ax_chain *c = &s->chains[0];
    CHECK_STR_EQ(c->id, "A");
    CHECK_STR_EQ(c->sequence, "MMSG");
    CHECK_INT_EQ(c->seq_len, 4);
    CHECK_INT_EQ(c->num_residues, 6);
    CHECK_INT_EQ(c->num_atoms, 8); /* 9 records in model 1 chain A; one SER CA alternative dropped */
    const ax_residue *r = &c->residues[1];
    CHECK_STR_EQ(r->name, "MET");
    CHECK_INT_EQ(r->seq_index, 1);
    CHECK_STR_EQ(c->atoms[r->first_atom + 1].name, "SD");
    CHECK_STR_EQ(c->atoms[r->first_atom + 1].element, "SE");
    r = &c->residues[2];
    CHECK_INT_EQ(r->num_atoms, 1);
    CHECK(near(c->atoms[r->first_atom].x, 7.5) && near(c->atoms[r->first_atom].occupancy, 0.7));
    r = &c->residues[3];
    CHECK_INT_EQ(r->number, 52);
    CHECK_INT_EQ(r->ins_code, 'A');
    CHECK_INT_EQ(r->seq_index, 3);
    CHECK_STR_EQ(c->residues[4].name, "NAG"); /* after TER: a ligand */
    CHECK_INT_EQ(c->residues[4].seq_index, -1);
    CHECK_INT_EQ(c->residues[5].seq_index, -1);
    c = &s->chains[1];
    CHECK_STR_EQ(c->sequence, "K");
    CHECK(near(c->atoms[0].x, -1.0) && near(c->atoms[0].occupancy, 1.0) && near(c->atoms[0].b_factor, 0.0));
    CHECK_STR_EQ(c->atoms[0].element, "");
    ax_structure_destroy(s);

    /* A second MODEL without ENDMDL also ends the first model. */
    static const char two_models[] =
        "MODEL        1\n"
        "ATOM      1  CA  GLY A   1       1.000   2.000   3.000  1.00  0.00           C\n"
        "MODEL        2\n"
        "ATOM      1  CA  GLY A   1       9.000   9.000   9.000  1.00  0.00           C\n";
    CHECK_OK(ax_pdb_parse(two_models, sizeof two_models - 1, "m.pdb", &s));
    if (s != NULL) {
        CHECK_INT_EQ(s->chains[0].num_atoms, 1);
        CHECK(near(s->chains[0].atoms[0].x, 1.0));
    }
    ax_structure_destroy(s);
}

/* A chain in segments (ATOM records resume after its TER): the modified residue of the second
 * segment is in the sequence (it had been taken for a ligand, "AGK"); ligands after the last TER
 * stay out. A water written as ATOM records (Amber's WAT) is outside the polymer like a HETATM one. */
static void test_segments_and_atom_waters(void) {
    static char text[4096];
    text[0] = '\0';
    atom_line(text, sizeof text, "ATOM", 1, " CA", ' ', "ALA", 'A', 1, ' ', 1, 2, 3, 1, 10, "C");
    strcat(text, "TER       2      ALA A   1\n");
    atom_line(text, sizeof text, "ATOM", 3, " CA", ' ', "GLY", 'A', 10, ' ', 4, 5, 6, 1, 10, "C");
    atom_line(text, sizeof text, "HETATM", 4, " CA", ' ', "MSE", 'A', 11, ' ', 7, 8, 9, 1, 10, "C");
    atom_line(text, sizeof text, "ATOM", 5, " CA", ' ', "LYS", 'A', 12, ' ', 10, 11, 12, 1, 10, "C");
    atom_line(text, sizeof text, "ATOM", 6, " O", ' ', "WAT", 'A', 13, ' ', 13, 14, 15, 1, 10, "O");
    strcat(text, "TER       7      LYS A  12\n");
    atom_line(text, sizeof text, "HETATM", 8, " C1", ' ', "NAG", 'A', 301, ' ', 20, 21, 22, 1, 30, "C");
    ax_structure *s = NULL;
    CHECK_OK(ax_pdb_parse(text, strlen(text), "seg.pdb", &s));
    if (s == NULL) return;
    CHECK_INT_EQ(s->num_chains, 1);
    const ax_chain *c = &s->chains[0];
    CHECK_STR_EQ(c->sequence, "AGMK");
    CHECK_INT_EQ(c->num_residues, 6);
    if (c->num_residues == 6) {
        CHECK_STR_EQ(c->residues[2].name, "MET");
        CHECK_INT_EQ(c->residues[2].seq_index, 2);
        CHECK_STR_EQ(c->residues[4].name, "WAT");
        CHECK_INT_EQ(c->residues[4].seq_index, -1);
        CHECK_STR_EQ(c->residues[5].name, "NAG");
        CHECK_INT_EQ(c->residues[5].seq_index, -1);
    }
    ax_structure_destroy(s);

    /* A water written as ATOM after the TER does not resume the chain: the ion and the sugar after it
     * stay ligands ("AG", not "AGXX"). */
    text[0] = '\0';
    atom_line(text, sizeof text, "ATOM", 1, " CA", ' ', "ALA", 'A', 1, ' ', 1, 2, 3, 1, 10, "C");
    atom_line(text, sizeof text, "ATOM", 2, " CA", ' ', "GLY", 'A', 2, ' ', 4, 5, 6, 1, 10, "C");
    strcat(text, "TER       3      GLY A   2\n");
    atom_line(text, sizeof text, "ATOM", 4, " O", ' ', "HOH", 'A', 101, ' ', 7, 8, 9, 1, 10, "O");
    atom_line(text, sizeof text, "HETATM", 5, "NA", ' ', " NA", 'A', 201, ' ', 10, 11, 12, 1, 10, "NA");
    atom_line(text, sizeof text, "HETATM", 6, " C1", ' ', "NAG", 'A', 301, ' ', 13, 14, 15, 1, 10, "C");
    s = NULL;
    CHECK_OK(ax_pdb_parse(text, strlen(text), "water_after_ter.pdb", &s));
    if (s != NULL) CHECK_STR_EQ(s->chains[0].sequence, "AG");
    ax_structure_destroy(s);

    /* Chains sharing a blank id, TER only between them, the ligand after the last chain unmarked: the
     * resumed chain takes no HETATM but a modified amino acid ("AG", not "AGX"). */
    text[0] = '\0';
    atom_line(text, sizeof text, "ATOM", 1, " CA", ' ', "ALA", ' ', 1, ' ', 1, 2, 3, 1, 10, "C");
    strcat(text, "TER       2      ALA     1\n");
    atom_line(text, sizeof text, "ATOM", 3, " CA", ' ', "GLY", ' ', 2, ' ', 4, 5, 6, 1, 10, "C");
    atom_line(text, sizeof text, "HETATM", 4, " C1", ' ', "NAG", ' ', 301, ' ', 7, 8, 9, 1, 10, "C");
    strcat(text, "END\n");
    s = NULL;
    CHECK_OK(ax_pdb_parse(text, strlen(text), "blank_chains.pdb", &s));
    if (s != NULL) CHECK_STR_EQ(s->chains[0].sequence, "AG");
    ax_structure_destroy(s);

    /* A resumed RNA chain keeps a modified nucleotide its MODRES names (PSU, parent U): 4 residues in
     * the polymer, not 3. */
    text[0] = '\0';
    strcat(text, "MODRES 1XYZ PSU B    3    U  PSEUDOURIDINE-5'-MONOPHOSPHATE\n");
    atom_line(text, sizeof text, "ATOM", 1, " P", ' ', "  A", 'B', 1, ' ', 1, 2, 3, 1, 10, "P");
    strcat(text, "TER       2        A B   1\n");
    atom_line(text, sizeof text, "ATOM", 3, " P", ' ', "  G", 'B', 2, ' ', 4, 5, 6, 1, 10, "P");
    atom_line(text, sizeof text, "HETATM", 4, " P", ' ', "PSU", 'B', 3, ' ', 7, 8, 9, 1, 10, "P");
    atom_line(text, sizeof text, "ATOM", 5, " P", ' ', "  C", 'B', 4, ' ', 10, 11, 12, 1, 10, "P");
    s = NULL;
    CHECK_OK(ax_pdb_parse(text, strlen(text), "rna_segments.pdb", &s));
    if (s != NULL) {
        CHECK_INT_EQ(s->chains[0].seq_len, 4);
        CHECK_INT_EQ(s->chains[0].num_residues, 4);
        if (s->chains[0].num_residues == 4) CHECK_INT_EQ(s->chains[0].residues[2].seq_index, 2);
    }
    ax_structure_destroy(s);

    /* Molecular dynamics output: solvent and ions as ATOM records in the protein's chain, after its
     * TER (GROMACS's SOL, CHARMM's 4-letter TIP3, an ion) or with no TER at all (T3P, SPC). Neither
     * resumes the chain nor joins the polymer ("AG"; they had made it "AGXXX"). */
    for (int with_ter = 1; with_ter >= 0; with_ter--) {
        text[0] = '\0';
        atom_line(text, sizeof text, "ATOM", 1, " CA", ' ', "ALA", 'A', 1, ' ', 1, 2, 3, 1, 10, "C");
        atom_line(text, sizeof text, "ATOM", 2, " CA", ' ', "GLY", 'A', 2, ' ', 4, 5, 6, 1, 10, "C");
        if (with_ter) {
            strcat(text, "TER       3      GLY A   2\n");
            atom_line(text, sizeof text, "ATOM", 4, " OW", ' ', "SOL", 'A', 3, ' ', 7, 8, 9, 1, 10, "O");
            atom_line(text, sizeof text, "ATOM", 5, " OH2", ' ', "TIP", 'A', 4, ' ', 7, 8, 9, 1, 10, "O");
            char *last = text + strlen(text) - 1; /* the line just written: its column 21 makes "TIP3" */
            while (last > text && last[-1] != '\n') last--;
            last[20] = '3';
            atom_line(text, sizeof text, "ATOM", 6, "NA", ' ', " NA", 'A', 5, ' ', 10, 11, 12, 1, 10, "NA");
        } else {
            atom_line(text, sizeof text, "ATOM", 4, " O", ' ', "T3P", 'A', 3, ' ', 7, 8, 9, 1, 10, "O");
            atom_line(text, sizeof text, "ATOM", 5, " OW", ' ', "SPC", 'A', 4, ' ', 7, 8, 9, 1, 10, "O");
        }
        s = NULL;
        CHECK_OK(ax_pdb_parse(text, strlen(text), "md.pdb", &s));
        if (s != NULL && s->num_chains == 1) {
            const ax_chain *md = &s->chains[0];
            CHECK_STR_EQ(md->sequence, "AG");
            CHECK_INT_EQ(md->num_residues, with_ter ? 5 : 4);
            for (int64_t i = 2; i < md->num_residues; i++) CHECK_INT_EQ(md->residues[i].seq_index, -1);
            if (with_ter && md->num_residues == 5) CHECK_STR_EQ(md->residues[3].name, "TIP");
        } else {
            CHECK(s != NULL && s->num_chains == 1);
        }
        ax_structure_destroy(s);
    }

    /* A resumed chain takes only polymer units from ATOM records too: the chloride after the
     * segment stays out ("AG", not "AGX"). */
    text[0] = '\0';
    atom_line(text, sizeof text, "ATOM", 1, " CA", ' ', "ALA", 'A', 1, ' ', 1, 2, 3, 1, 10, "C");
    strcat(text, "TER       2      ALA A   1\n");
    atom_line(text, sizeof text, "ATOM", 3, " CA", ' ', "GLY", 'A', 10, ' ', 4, 5, 6, 1, 10, "C");
    atom_line(text, sizeof text, "ATOM", 4, "CL", ' ', " CL", 'A', 11, ' ', 7, 8, 9, 1, 10, "CL");
    s = NULL;
    CHECK_OK(ax_pdb_parse(text, strlen(text), "resumed_ion.pdb", &s));
    if (s != NULL) {
        CHECK_STR_EQ(s->chains[0].sequence, "AG");
        CHECK_INT_EQ(s->chains[0].num_residues, 3);
        if (s->chains[0].num_residues == 3) CHECK_INT_EQ(s->chains[0].residues[2].seq_index, -1);
    }
    ax_structure_destroy(s);
}

/* Records of a residue that come after other residues' records join it (Biopython's reading, which
 * AlphaFold's from_pdb_string uses); before, such a residue was listed twice ("MAMA"). A water and a
 * ligand numbered like a polymer residue, or like each other, stay apart (Biopython's hetero field). */
static void test_split_residues(void) {
    static char text[4096];
    text[0] = '\0';
    atom_line(text, sizeof text, "ATOM", 1, " N", ' ', "MET", 'A', 1, ' ', 1, 0, 0, 1, 10, "N");
    atom_line(text, sizeof text, "ATOM", 2, " CA", ' ', "ALA", 'A', 2, ' ', 2, 0, 0, 1, 10, "C");
    atom_line(text, sizeof text, "ATOM", 3, " CA", ' ', "MET", 'A', 1, ' ', 3, 0, 0, 1, 10, "C");
    atom_line(text, sizeof text, "ATOM", 4, " CB", ' ', "ALA", 'A', 2, ' ', 4, 0, 0, 1, 10, "C");
    strcat(text, "TER       5      ALA A   2\n");
    atom_line(text, sizeof text, "HETATM", 6, " O", ' ', "HOH", 'A', 1, ' ', 5, 0, 0, 1, 10, "O");
    atom_line(text, sizeof text, "HETATM", 7, " C1", ' ', "NAG", 'A', 301, ' ', 6, 0, 0, 1, 10, "C");
    atom_line(text, sizeof text, "HETATM", 8, " C1", ' ', "FUC", 'A', 301, ' ', 7, 0, 0, 1, 10, "C");
    atom_line(text, sizeof text, "HETATM", 9, " O1", ' ', "NAG", 'A', 301, ' ', 8, 0, 0, 1, 10, "O");
    ax_structure *s = NULL;
    CHECK_OK(ax_pdb_parse(text, strlen(text), "split.pdb", &s));
    if (s == NULL) return;
    const ax_chain *c = &s->chains[0];
    CHECK_STR_EQ(c->sequence, "MA");
    CHECK_INT_EQ(c->num_residues, 5);
    CHECK_INT_EQ(c->num_atoms, 8);
    static const char *const residues[5] = {"MET", "ALA", "HOH", "NAG", "FUC"};
    static const int64_t counts[5] = {2, 2, 1, 2, 1};
    int64_t first = 0;
    for (int i = 0; i < 5; i++) {
        CHECK_STR_EQ(c->residues[i].name, residues[i]);
        CHECK_INT_EQ(c->residues[i].first_atom, first);
        CHECK_INT_EQ(c->residues[i].num_atoms, counts[i]);
        first += counts[i];
    }
    /* x holds each record's serial position: atoms grouped by residue, in file order within one. */
    static const double xs[8] = {1, 3, 2, 4, 5, 6, 8, 7};
    for (int i = 0; i < 8; i++) CHECK(near(c->atoms[i].x, xs[i]));
    CHECK_STR_EQ(c->atoms[6].name, "O1");
    ax_structure_destroy(s);
}

/* ---- 2N0N, first model: a MODRES record --------------------------------------------------- */

/* 2n0n_M1.pdb (PDB entry 2N0N, first model; PHE 10 renumbered 9A by Biopython's tests):
 *   grep '^MODRES' 2n0n_M1.pdb        -> MODRES 2N0N AIB A    2  ALA  ALPHA-AMINOISOBUTYRIC ACID
 *   grep -E '^(ATOM|HETATM)' 2n0n_M1.pdb | cut -c18-27 | uniq
 *       -> HIS 1, AIB 2, GLU 3, GLY 4, LYS 5, PHE 6, THR 7, SER 8, GLU 9, PHE 9A, PH8 11, NH2 12,
 *          all chain A and before the TER record (183 records)
 *   AIB is read as its MODRES parent ALA ('A'); PH8 (no MODRES) and the NH2 cap are 'X'. */
static void test_2n0n(void) {
    ax_structure *s = NULL;
    CHECK_OK(ax_pdb_read(DATA "/2n0n_M1.pdb", &s));
    if (s == NULL) return;
    CHECK(s->resolution == 0.0);
    CHECK_INT_EQ(s->num_chains, 1);
    const ax_chain *c = &s->chains[0];
    CHECK_STR_EQ(c->id, "A");
    CHECK_INT_EQ(c->polymer_type, AX_POLYMER_PROTEIN);
    CHECK_STR_EQ(c->sequence, "HAEGKFTSEFXX");
    CHECK_INT_EQ(c->num_residues, 12);
    CHECK_INT_EQ(c->num_atoms, 183);
    if (c->num_residues == 12) {
        CHECK_STR_EQ(c->residues[1].name, "AIB");
        CHECK_INT_EQ(c->residues[1].one_letter, 'A');
        CHECK_INT_EQ(c->residues[9].number, 9);
        CHECK_INT_EQ(c->residues[9].ins_code, 'A');
        CHECK_STR_EQ(c->residues[10].name, "PH8");
        CHECK_INT_EQ(c->residues[10].one_letter, 'X');
    }
    ax_structure_destroy(s);
}

/* Polymer types from residue names, and MODRES records that say nothing (blank fields). */
static void test_polymer_types(void) {
    static char text[8192];
    text[0] = '\0';
    strcat(text, "MODRES 1ABC 5CM B    2  DC   5-METHYL-2'-DEOXY-CYTIDINE-5'-MONOPHOSPHATE\n");
    strcat(text, "MODRES 1ABC FOO A    3       NO PARENT\n");
    strcat(text, "MODRES\n");
    atom_line(text, sizeof text, "ATOM", 1, " CA", ' ', "HYP", 'A', 1, ' ', 1, 1, 1, 1, 0, "C");
    atom_line(text, sizeof text, "ATOM", 2, " CA", ' ', "UNK", 'A', 2, ' ', 2, 2, 2, 1, 0, "C");
    atom_line(text, sizeof text, "HETATM", 3, " C1", ' ', "FOO", 'A', 3, ' ', 3, 3, 3, 1, 0, "C");
    strcat(text, "TER       4      FOO A   3\n");
    atom_line(text, sizeof text, "ATOM", 5, " P", ' ', " DA", 'B', 1, ' ', 4, 4, 4, 1, 0, "P");
    atom_line(text, sizeof text, "HETATM", 6, " P", ' ', "5CM", 'B', 2, ' ', 5, 5, 5, 1, 0, "P");
    strcat(text, "TER       7      5CM B   2\n");
    atom_line(text, sizeof text, "ATOM", 8, " P", ' ', "  U", 'C', 1, ' ', 6, 6, 6, 1, 0, "P");
    atom_line(text, sizeof text, "ATOM", 9, " P", ' ', "  G", 'C', 2, ' ', 7, 7, 7, 1, 0, "P");
    atom_line(text, sizeof text, "ATOM", 10, " P", ' ', " DT", 'D', 1, ' ', 8, 8, 8, 1, 0, "P");
    atom_line(text, sizeof text, "ATOM", 11, " P", ' ', "  A", 'D', 2, ' ', 9, 9, 9, 1, 0, "P");
    atom_line(text, sizeof text, "ATOM", 12, " C1", ' ', "GLC", 'E', 1, ' ', 0, 0, 0, 1, 0, "C");
    atom_line(text, sizeof text, "HETATM", 13, " O", ' ', "HOH", 'F', 1, ' ', 0, 0, 0, 1, 0, "O");
    ax_structure *s = NULL;
    CHECK_OK(ax_pdb_parse(text, strlen(text), "types.pdb", &s));
    if (s == NULL) return;
    CHECK_INT_EQ(s->num_chains, 6);
    static const struct {
        const char *id, *sequence;
        ax_polymer_type type;
    } expected[6] = {
        {"A", "PXX", AX_POLYMER_PROTEIN},      /* HYP from the built-in table, UNK, FOO (blank parent) */
        {"B", "XX", AX_POLYMER_DNA},           /* DA, and 5CM by its MODRES parent DC */
        {"C", "XX", AX_POLYMER_RNA},           /* U, G */
        {"D", "XX", AX_POLYMER_DNA_RNA_HYBRID}, /* DT, A */
        {"E", "X", AX_POLYMER_OTHER},          /* a sugar */
        {"F", "", AX_POLYMER_NONE},            /* a water: no polymer */
    };
    for (int i = 0; i < 6 && i < s->num_chains; i++) {
        CHECK_STR_EQ(s->chains[i].id, expected[i].id);
        CHECK_STR_EQ(s->chains[i].sequence, expected[i].sequence);
        CHECK_INT_EQ(s->chains[i].polymer_type, expected[i].type);
    }
    ax_structure_destroy(s);
}

static void expect_error(const char *text, size_t len, const char *message) {
    ax_structure *s = (ax_structure *)&s;
    CHECK_STATUS(ax_pdb_parse(text, len, "bad.pdb", &s), AX_ERR_FORMAT);
    CHECK(s == NULL);
    CHECK_CONTAINS(ax_last_error(), message);
    if (s != NULL && s != (ax_structure *)&s) ax_structure_destroy(s);
}

#define EXPECT_ERROR(literal, message) expect_error(literal, sizeof literal - 1, message)

static void test_errors(void) {
    EXPECT_ERROR("HEADER    NOTHING\nEND\n", "bad.pdb:2: no ATOM or HETATM records");
    EXPECT_ERROR("", "bad.pdb:1: no ATOM or HETATM records");
    EXPECT_ERROR("ATOM      1  CA  GLY A   1       1.000   2.000\n", "bad.pdb:1:47: ATOM record ends at column 46");
    EXPECT_ERROR("ATOM      1  CA  GLY A   1       1.000   2.0x0   3.000\n", "bad.pdb:1:39: y '2.0x0' is not a number");
    EXPECT_ERROR("ATOM      1  CA  GLY A   1       1.000   1e400   3.000\n", "bad.pdb:1:39: y '1e400' is out of range");
    EXPECT_ERROR("ATOM      1  CA  GLY A   1       1.000   2.000          \n", "bad.pdb:1:31: blank coordinate");
    EXPECT_ERROR("ATOM      1  CA  GLY AA000       1.000   2.000   3.000\n",
                 "bad.pdb:1:23: residue number 'A000' is not an integer");
    EXPECT_ERROR("ATOM      1      GLY A   1       1.000   2.000   3.000\n", "bad.pdb:1:13: atom name is blank");
    EXPECT_ERROR("ATOM      1  CA  GLY A   1       1.000   2.000   3.000  x.00\n",
                 "bad.pdb:1:55: occupancy 'x.00' is not a number");
    /* Past the float range (it had become inf in the coordinates). */
    EXPECT_ERROR("ATOM      1  CA  GLY A   1      1.0e39   2.000   3.000\n",
                 "bad.pdb:1:31: x '1.0e39' is outside the float range");
    EXPECT_ERROR("ATOM      1  CA  GLY A   1       1.000   2.000   3.000 9e100\n",
                 "bad.pdb:1:55: occupancy '9e100' is outside the float range");
    EXPECT_ERROR("HEADER\nATOM   \0  1  CA  GLY A   1       1.000   2.000   3.000\n", "bad.pdb:2:8: NUL byte");
    ax_structure *s = NULL;
    CHECK_STATUS(ax_pdb_read(DATA "/query.a3m", &s), AX_ERR_FORMAT);
    CHECK_CONTAINS(ax_last_error(), "query.a3m:118: no ATOM or HETATM records");
    CHECK_STATUS(ax_pdb_read(DATA "/nothing.pdb", &s), AX_ERR_IO);
    CHECK_STATUS(ax_pdb_parse(NULL, 2, NULL, &s), AX_ERR_INVALID_ARGUMENT);
}

int main(void) {
    RUN(test_1tii);
    RUN(test_conventions);
    RUN(test_split_residues);
    RUN(test_segments_and_atom_waters);
    RUN(test_2n0n);
    RUN(test_polymer_types);
    RUN(test_errors);
    return th_finish();
}
