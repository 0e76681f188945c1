/*
 * test_features.c — chain features: token and atom orders, features of the real samples
 * (query.a3m, 1cbs.cif.gz, 1tii.pdb) against values counted independently with awk, hand-made
 * alignments and structures for the conventions, and the error messages.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "harness.h"

#include "axial/features.h"
#include "axial/io.h"

#define DATA AXIAL_TEST_DATA

/* ---- orders ---------------------------------------------------------------------------------- */

static void test_orders(void) {
    /* AlphaFold's restype order, spelled out independently of the library's table. */
    const char *order = "ARNDCQEGHILKMFPSTWYV";
    for (int i = 0; i < 20; i++) {
        CHECK_INT_EQ(ax_aatype_from_letter(order[i]), i);
        CHECK_INT_EQ(ax_aatype_from_letter((char)(order[i] - 'A' + 'a')), i);
        CHECK_INT_EQ(ax_msa_token_from_letter(order[i]), i);
        CHECK_INT_EQ(ax_token_letter(i), order[i]);
    }
    /* aatype: every other letter is X (20). */
    const char *others = "BZUOJX*-1";
    for (const char *c = others; *c; c++) CHECK_INT_EQ(ax_aatype_from_letter(*c), 20);
    /* msa: HHblits conventions B->D(3), Z->E(6), U->C(4); J, O, X -> 20; gaps 21; others invalid. */
    CHECK_INT_EQ(ax_msa_token_from_letter('B'), 3);
    CHECK_INT_EQ(ax_msa_token_from_letter('Z'), 6);
    CHECK_INT_EQ(ax_msa_token_from_letter('U'), 4);
    CHECK_INT_EQ(ax_msa_token_from_letter('u'), 4);
    CHECK_INT_EQ(ax_msa_token_from_letter('J'), 20);
    CHECK_INT_EQ(ax_msa_token_from_letter('O'), 20);
    CHECK_INT_EQ(ax_msa_token_from_letter('X'), 20);
    CHECK_INT_EQ(ax_msa_token_from_letter('-'), 21);
    CHECK_INT_EQ(ax_msa_token_from_letter('.'), 21);
    CHECK_INT_EQ(ax_msa_token_from_letter('*'), -1);
    CHECK_INT_EQ(ax_msa_token_from_letter('1'), -1);
    CHECK_INT_EQ(ax_token_letter(20), 'X');
    CHECK_INT_EQ(ax_token_letter(21), '-');
    CHECK_INT_EQ(ax_token_letter(22), '?');

    /* atom37, as listed in the AlphaFold supplement / residue_constants. */
    const char *atom37 = "N CA C CB O CG CG1 CG2 OG OG1 SG CD CD1 CD2 ND1 ND2 OD1 OD2 SD CE CE1 CE2 CE3 NE NE1 "
                         "NE2 OE1 OE2 CH2 NH1 NH2 OH CZ CZ2 CZ3 NZ OXT";
    char joined[256] = "";
    for (int i = 0; i < AX_ATOM37_COUNT; i++) {
        const char *name = ax_atom37_name(i);
        CHECK(name != NULL);
        if (name == NULL) return;
        CHECK_INT_EQ(ax_atom37_index(name), i);
        if (i > 0) strcat(joined, " ");
        strcat(joined, name);
    }
    CHECK_STR_EQ(joined, atom37);
    CHECK(ax_atom37_name(-1) == NULL);
    CHECK(ax_atom37_name(37) == NULL);
    CHECK_INT_EQ(ax_atom37_index("SE"), -1);
    CHECK_INT_EQ(ax_atom37_index("H"), -1);
    CHECK_INT_EQ(ax_atom37_index("ca"), -1);
    CHECK_INT_EQ(ax_atom37_index(NULL), -1);
    CHECK_INT_EQ(ax_atom37_index("CA"), AX_ATOM37_CA);
    CHECK_INT_EQ(ax_atom37_index("OXT"), AX_ATOM37_OXT);

    /* Heavy atoms of each residue type in restype order (ALA 5 ... VAL 7: the atom counts of the
     * amino acids without OXT, as in AlphaFold's atom14 table). */
    const int heavy[20] = {5, 11, 8, 8, 6, 9, 9, 4, 10, 8, 8, 9, 8, 11, 7, 6, 7, 14, 12, 7};
    for (int t = 0; t < 20; t++) {
        int count = 0;
        for (int a = 0; a < AX_ATOM37_COUNT; a++) count += ax_restype_has_atom37(t, a);
        CHECK_INT_EQ(count, heavy[t]);
        CHECK_INT_EQ(ax_restype_has_atom37(t, AX_ATOM37_OXT), 0);
        CHECK_INT_EQ(ax_restype_has_atom37(t, AX_ATOM37_CA), 1);
    }
    CHECK_INT_EQ(ax_restype_has_atom37(1, ax_atom37_index("NH1")), 1);  /* ARG */
    CHECK_INT_EQ(ax_restype_has_atom37(7, AX_ATOM37_CB), 0);            /* GLY */
    CHECK_INT_EQ(ax_restype_has_atom37(11, ax_atom37_index("CD")), 1);  /* LYS CD ... */
    CHECK_INT_EQ(ax_restype_has_atom37(11, ax_atom37_index("CD1")), 0); /* ... but no CD1 */
    CHECK_INT_EQ(ax_restype_has_atom37(9, ax_atom37_index("CD")), 0);   /* ILE has CD1 only */
    CHECK_INT_EQ(ax_restype_has_atom37(14, ax_atom37_index("OD1")), 0); /* PRO */
    CHECK_INT_EQ(ax_restype_has_atom37(20, AX_ATOM37_N), 0);            /* X */
    CHECK_INT_EQ(ax_restype_has_atom37(-1, 0), 0);
    CHECK_INT_EQ(ax_restype_has_atom37(0, 37), 0);
}

/* ---- query.a3m ------------------------------------------------------------------------------- */

/* Expected values, from the file with awk (one record per line first):
 *   awk '/^>/{if(s!="")print s; s=""; next}{s=s $0}END{print s}' query.a3m > rows.txt   (59 lines)
 *   match columns:  awk '{g=$0; gsub(/[a-z]/,"",g); print length(g)}' rows.txt | sort -u  -> 431
 *   gaps per row:   awk '{g=$0; gsub(/[a-z]/,"",g); print gsub(/-/,"",g)}' rows.txt
 *                   -> row 0: 0, row 1: 49, row 2: 0, row 58: 402; all rows: 6350
 *   deletions:      awk '{s=$0; sub(/[a-z]+$/,"",s); print gsub(/[a-z]/,"",s)}' rows.txt
 *                   (lower-case letters before the last match column) -> row 1: 50, row 28: 55; all: 901
 *   row 1 per column: lower-case runs end before match column 19 (23 letters) and 66 (27 letters);
 *                   match columns 18..21 of row 1 are Y L D A
 *   query letters 1..10: MRRLRRLAHL -> AF indices 12 1 1 10 1 1 10 0 8 10
 *                   (awk 'BEGIN{o="ARNDCQEGHILKMFPSTWYV"}{print index(o,$1)-1}') */
static void test_query_a3m(void) {
    ax_msa *msa = NULL;
    CHECK_OK(ax_a3m_read(DATA "/query.a3m", &msa));
    if (msa == NULL) return;
    ax_chain_features *f = NULL;
    CHECK_OK(ax_chain_features_create(msa, NULL, 0.0, &f));
    if (f == NULL) {
        ax_msa_destroy(msa);
        return;
    }
    CHECK_INT_EQ(f->seq_length, 431);
    CHECK_INT_EQ(f->num_alignments, 59);
    CHECK(f->all_atom_positions == NULL && f->all_atom_mask == NULL);
    CHECK(f->resolution == 0.0);
    CHECK(strncmp(f->sequence, "MRRLRRLAHL", 10) == 0);
    CHECK_INT_EQ((int64_t)strlen(f->sequence), 431);
    const int expected_aatype[10] = {12, 1, 1, 10, 1, 1, 10, 0, 8, 10};
    for (int i = 0; i < 10; i++) {
        CHECK_INT_EQ(f->aatype[i], expected_aatype[i]);
        CHECK_INT_EQ(f->msa[i], expected_aatype[i]); /* query row of the msa */
    }
    for (int64_t i = 0; i < f->seq_length; i++) CHECK_INT_EQ(f->residue_index[i], i);

    const int64_t L = f->seq_length;
    int64_t gaps_total = 0, dels_total = 0;
    int64_t gaps_row[59] = {0}, dels_row[59] = {0};
    for (int64_t r = 0; r < f->num_alignments; r++)
        for (int64_t i = 0; i < L; i++) {
            gaps_row[r] += f->msa[r * L + i] == 21;
            dels_row[r] += f->deletion_matrix[r * L + i];
        }
    for (int r = 0; r < 59; r++) {
        gaps_total += gaps_row[r];
        dels_total += dels_row[r];
    }
    CHECK_INT_EQ(gaps_row[0], 0);
    CHECK_INT_EQ(gaps_row[1], 49);
    CHECK_INT_EQ(gaps_row[2], 0);
    CHECK_INT_EQ(gaps_row[58], 402);
    CHECK_INT_EQ(gaps_total, 6350);
    CHECK_INT_EQ(dels_row[0], 0);
    CHECK_INT_EQ(dels_row[1], 50);
    CHECK_INT_EQ(dels_row[28], 55);
    CHECK_INT_EQ(dels_total, 901);
    CHECK_INT_EQ(f->deletion_matrix[1 * L + 19], 23);
    CHECK_INT_EQ(f->deletion_matrix[1 * L + 66], 27);
    CHECK_INT_EQ(f->deletion_matrix[1 * L + 18], 0);
    /* Y L D A -> 18 10 3 0 */
    CHECK_INT_EQ(f->msa[1 * L + 18], 18);
    CHECK_INT_EQ(f->msa[1 * L + 19], 10);
    CHECK_INT_EQ(f->msa[1 * L + 20], 3);
    CHECK_INT_EQ(f->msa[1 * L + 21], 0);
    CHECK_INT_EQ(f->msa[1 * L + 17], 21);
    ax_chain_features_destroy(f);
    ax_msa_destroy(msa);
}

/* ---- 1cbs.cif.gz ----------------------------------------------------------------------------- */

/* Expected values:
 *   atoms per residue, in order of label_seq_id (every name is an atom37 name, no hydrogens or
 *   alternate locations: zcat 1cbs.cif.gz | awk '$1=="ATOM"{print $4}' | sort -u):
 *     zcat 1cbs.cif.gz | awk '$1=="ATOM"{print $9}' | uniq -c | awk '{printf "%s,", $1}'
 *   total: zcat 1cbs.cif.gz | grep -c '^ATOM' -> 1091
 *   coordinates copied from the ATOM lines:
 *     ATOM 1    N   PRO A 1   16.979 13.301 44.555
 *     ATOM 7    CD  PRO A 1   15.762 13.216 43.724
 *     ATOM 382  CA  PHE A 50  15.485 24.704 39.602
 *     ATOM 1089 OE1 GLU A 137 34.630 23.217 34.473
 *     ATOM 1091 OXT GLU A 137 35.776 18.680 37.173 */
static const int atoms_1cbs[137] = {
    7, 8, 11, 6, 4, 8, 14, 9, 8, 8, 11, 6, 9, 8, 11, 9, 9, 8, 8, 9, 7, 8, 4, 7, 8, 7, 8, 8, 11, 9, 8, 5, 7, 5,
    5, 5, 6, 9, 7, 5, 7, 9, 8, 9, 9, 9, 4, 8, 7, 11, 12, 8, 9, 7, 6, 7, 7, 7, 11, 7, 7, 9, 8, 8, 11, 9, 7, 4,
    9, 9, 11, 9, 9, 9, 7, 7, 8, 4, 11, 7, 6, 9, 6, 8, 7, 9, 14, 9, 6, 9, 8, 9, 8, 7, 6, 9, 9, 9, 8, 8, 9, 4,
    9, 4, 7, 9, 7, 6, 14, 7, 11, 9, 8, 7, 8, 8, 4, 9, 8, 8, 8, 7, 8, 7, 5, 8, 8, 7, 7, 6, 7, 11, 7, 12, 7, 11,
    10};

static const char seq_1cbs[] = "PNFSGNWKIIRSENFEELLKVLGVNVMLRKIAVAAASKPAVEIKQEGDTFYIKTSTTVRTTEINFKVGEEFEEQTVDGRP"
                               "CKSLVKWESENKMVCEQKLLKGEGPKTSWTRELTNDGELILTMTADDVVCTRVYVRE";

static int near(float a, double b) { return fabs((double)a - b) < 1e-4; }

static void check_atom(const ax_chain_features *f, int64_t residue, int atom, double x, double y, double z) {
    const float *p = f->all_atom_positions + (residue * 37 + atom) * 3;
    CHECK(near(p[0], x) && near(p[1], y) && near(p[2], z));
    CHECK(f->all_atom_mask[residue * 37 + atom] == 1.0f);
}

static void test_1cbs(void) {
    ax_structure *s = NULL;
    CHECK_OK(ax_mmcif_read(DATA "/1cbs.cif.gz", &s));
    if (s == NULL) return;
    ax_chain_features *f = NULL;
    CHECK_OK(ax_chain_features_create(NULL, &s->chains[0], s->resolution, &f));
    if (f != NULL) {
        CHECK_INT_EQ(f->seq_length, 137);
        CHECK_STR_EQ(f->sequence, seq_1cbs);
        CHECK(fabs(f->resolution - 1.8) < 1e-12);
        CHECK_INT_EQ(f->num_alignments, 1);
        CHECK_INT_EQ(f->aatype[0], 14); /* P */
        CHECK_INT_EQ(f->aatype[1], 2);  /* N */
        for (int64_t i = 0; i < 137; i++) {
            CHECK_INT_EQ(f->msa[i], f->aatype[i]);
            CHECK_INT_EQ(f->deletion_matrix[i], 0);
        }
        int64_t total = 0;
        int mismatched = 0;
        for (int64_t i = 0; i < 137; i++) {
            int count = 0;
            for (int a = 0; a < 37; a++) {
                count += f->all_atom_mask[i * 37 + a] == 1.0f;
                if (f->all_atom_mask[i * 37 + a] == 0.0f) {
                    const float *p = f->all_atom_positions + (i * 37 + a) * 3;
                    CHECK(p[0] == 0.0f && p[1] == 0.0f && p[2] == 0.0f);
                }
            }
            if (count != atoms_1cbs[i]) {
                mismatched++;
                TH_FAIL("residue %lld: %d atoms in the mask, %d in the file", (long long)i + 1, count, atoms_1cbs[i]);
            }
            total += count;
        }
        CHECK_INT_EQ(mismatched, 0);
        CHECK_INT_EQ(total, 1091);
        check_atom(f, 0, 0, 16.979, 13.301, 44.555);   /* PRO 1 N */
        check_atom(f, 0, 11, 15.762, 13.216, 43.724);  /* PRO 1 CD */
        check_atom(f, 49, 1, 15.485, 24.704, 39.602);  /* PHE 50 CA */
        check_atom(f, 136, 26, 34.630, 23.217, 34.473); /* GLU 137 OE1 */
        check_atom(f, 136, 36, 35.776, 18.680, 37.173); /* GLU 137 OXT */
        CHECK(f->all_atom_mask[0 * 37 + 36] == 0.0f);  /* no OXT on residue 1 */
        CHECK(f->all_atom_mask[0 * 37 + 3] == 1.0f);   /* PRO has CB */
        CHECK(f->all_atom_mask[4 * 37 + 3] == 0.0f);   /* GLY 5 has none */
    }
    ax_chain_features_destroy(f);

    /* The same chain with an alignment whose query is its sequence: the query must match. */
    char a3m[1024];
    snprintf(a3m, sizeof a3m, ">query\n%s\n>hit\n%.*sacd%s\n", seq_1cbs, 10, "----------", seq_1cbs + 10);
    ax_msa *msa = NULL;
    CHECK_OK(ax_a3m_parse(a3m, strlen(a3m), "made.a3m", &msa));
    f = NULL;
    if (msa != NULL) CHECK_OK(ax_chain_features_create(msa, &s->chains[0], s->resolution, &f));
    if (f != NULL) {
        CHECK_INT_EQ(f->num_alignments, 2);
        CHECK_INT_EQ(f->deletion_matrix[137 + 10], 3);
        CHECK_INT_EQ(f->msa[137 + 9], 21);
        CHECK(f->all_atom_positions != NULL);
    }
    ax_chain_features_destroy(f);
    ax_msa_destroy(msa);

    /* Wrong length: query.a3m (431 columns) against 1cbs chain A (137 residues). */
    msa = NULL;
    CHECK_OK(ax_a3m_read(DATA "/query.a3m", &msa));
    f = (ax_chain_features *)&f; /* must be reset to NULL on failure */
    CHECK_STATUS(ax_chain_features_create(msa, &s->chains[0], 1.8, &f), AX_ERR_INVALID_ARGUMENT);
    CHECK(f == NULL);
    CHECK_CONTAINS(ax_last_error(), "431");
    CHECK_CONTAINS(ax_last_error(), "137");
    CHECK_CONTAINS(ax_last_error(), "chain A");
    ax_msa_destroy(msa);

    /* Wrong letter at position 11 (1-based): R (of "...IIRS...") becomes K in the query. */
    char changed[sizeof seq_1cbs];
    memcpy(changed, seq_1cbs, sizeof seq_1cbs);
    CHECK_INT_EQ(changed[10], 'R');
    changed[10] = 'K';
    snprintf(a3m, sizeof a3m, ">query\n%s\n", changed);
    msa = NULL;
    CHECK_OK(ax_a3m_parse(a3m, strlen(a3m), "changed.a3m", &msa));
    CHECK_STATUS(ax_chain_features_create(msa, &s->chains[0], 1.8, &f), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "position 11 (1-based)");
    CHECK_CONTAINS(ax_last_error(), "msa 'K', chain 'R'");
    ax_msa_destroy(msa);

    /* An 'X' in the query matches anything; the sequence takes the chain's letter. */
    changed[10] = 'X';
    snprintf(a3m, sizeof a3m, ">query\n%s\n", changed);
    msa = NULL;
    f = NULL;
    CHECK_OK(ax_a3m_parse(a3m, strlen(a3m), "x.a3m", &msa));
    CHECK_OK(ax_chain_features_create(msa, &s->chains[0], 1.8, &f));
    if (f != NULL) {
        CHECK_STR_EQ(f->sequence, seq_1cbs);
        CHECK_INT_EQ(f->aatype[10], 1);  /* R */
        CHECK_INT_EQ(f->msa[10], 20);    /* the alignment keeps its own X */
    }
    ax_chain_features_destroy(f);
    ax_msa_destroy(msa);
    ax_structure_destroy(s);
}

/* ---- unresolved residues, MSE, hydrogens: a hand-made mmCIF ---------------------------------- */

static const char unresolved_cif[] =
    "data_TEST\n"
    "_refine.ls_d_res_high 2.5\n"
    "loop_\n"
    "_entity_poly_seq.entity_id\n"
    "_entity_poly_seq.num\n"
    "_entity_poly_seq.mon_id\n"
    "_entity_poly_seq.hetero\n"
    "1 1 GLY n\n"
    "1 2 MSE n\n"
    "1 3 SEP n\n"
    "1 4 ALA n\n"
    "1 5 LYS n\n"
    "loop_\n"
    "_atom_site.group_PDB\n"
    "_atom_site.id\n"
    "_atom_site.type_symbol\n"
    "_atom_site.label_atom_id\n"
    "_atom_site.label_alt_id\n"
    "_atom_site.label_comp_id\n"
    "_atom_site.label_asym_id\n"
    "_atom_site.label_entity_id\n"
    "_atom_site.label_seq_id\n"
    "_atom_site.Cartn_x\n"
    "_atom_site.Cartn_y\n"
    "_atom_site.Cartn_z\n"
    "_atom_site.auth_seq_id\n"
    "_atom_site.auth_asym_id\n"
    "ATOM   1 N  N   . GLY A 1 1 1.0 2.0 3.0 10 B\n"
    "ATOM   2 C  CA  . GLY A 1 1 1.5 2.5 3.5 10 B\n"
    "ATOM   3 H  H   . GLY A 1 1 0.5 0.5 0.5 10 B\n"
    "HETATM 4 C  CA  . MSE A 1 2 4.0 5.0 6.0 11 B\n"
    "HETATM 5 SE SE  . MSE A 1 2 7.0 8.0 9.0 11 B\n"
    "HETATM 6 N  N   . SEP A 1 3 1.0 1.0 1.0 12 B\n"
    "HETATM 7 P  P   . SEP A 1 3 2.0 2.0 2.0 12 B\n"
    "HETATM 8 O  OG  . SEP A 1 3 3.0 3.0 3.0 12 B\n"
    "HETATM 8 O  OXT . SEP A 1 3 4.0 4.0 4.0 12 B\n"
    "ATOM   9 C  CA  . LYS A 1 5 9.0 9.0 9.0 14 B\n"
    "HETATM 10 O O   . HOH C . . 5.0 5.0 5.0 99 B\n";

static void test_unresolved(void) {
    ax_structure *s = NULL;
    CHECK_OK(ax_mmcif_parse(unresolved_cif, sizeof unresolved_cif - 1, "unresolved.cif", &s));
    if (s == NULL) return;
    ax_chain_features *f = NULL;
    CHECK_OK(ax_chain_features_create(NULL, &s->chains[0], s->resolution, &f));
    if (f != NULL) {
        CHECK_INT_EQ(f->seq_length, 5);
        CHECK_STR_EQ(f->sequence, "GMSAK"); /* SEP reads as its parent SER (built-in table) */
        CHECK_INT_EQ(f->aatype[2], 15);
        CHECK(fabs(f->resolution - 2.5) < 1e-12);
        int per_residue[5] = {0};
        for (int i = 0; i < 5; i++)
            for (int a = 0; a < 37; a++) per_residue[i] += f->all_atom_mask[i * 37 + a] == 1.0f;
        CHECK_INT_EQ(per_residue[0], 2); /* N, CA; the hydrogen has no atom37 slot */
        CHECK_INT_EQ(per_residue[1], 2); /* CA, and SE renamed SD */
        CHECK_INT_EQ(per_residue[2], 3); /* N, OG, OXT; P has no slot */
        CHECK_INT_EQ(per_residue[3], 0); /* ALA 4 unresolved */
        CHECK_INT_EQ(per_residue[4], 1);
        check_atom(f, 1, 18, 7.0, 8.0, 9.0); /* MSE SE in the SD slot */
        check_atom(f, 2, 8, 3.0, 3.0, 3.0);  /* SEP OG */
        check_atom(f, 2, 36, 4.0, 4.0, 4.0); /* SEP OXT: a modified residue keeps OXT */
        check_atom(f, 4, 1, 9.0, 9.0, 9.0);
        for (int a = 0; a < 37 * 3; a++) CHECK(f->all_atom_positions[3 * 37 * 3 + a] == 0.0f);
    }
    ax_chain_features_destroy(f);

    /* The query from a sequence database says S where the structure has SEP: the same letter. */
    const char a3m[] = ">q\nGMSAK\n>h\nG-SAR\n";
    ax_msa *msa = NULL;
    f = NULL;
    CHECK_OK(ax_a3m_parse(a3m, sizeof a3m - 1, "q.a3m", &msa));
    CHECK_OK(ax_chain_features_create(msa, &s->chains[0], s->resolution, &f));
    if (f != NULL) {
        CHECK_STR_EQ(f->sequence, "GMSAK");
        CHECK_INT_EQ(f->aatype[2], 15); /* S */
        CHECK_INT_EQ(f->msa[5 + 1], 21);
        CHECK_INT_EQ(f->msa[5 + 4], 1); /* R */
        CHECK(f->all_atom_mask[3 * 37 + 1] == 0.0f);
    }
    ax_chain_features_destroy(f);
    ax_msa_destroy(msa);
    ax_structure_destroy(s);
}

/* ---- 1tii.pdb chain A ------------------------------------------------------------------------ */

/* awk '/^ATOM/ && substr($0,22,1)=="A"' 1tii.pdb | wc -l                                -> 1479
 * awk '/^ATOM/ && substr($0,22,1)=="A"{print substr($0,23,4)}' 1tii.pdb | uniq | wc -l -> 186
 * (every atom name of chain A is an atom37 name; no HETATM in chain A)
 * ATOM 3707 CA ASN A 1 39.248 28.780 6.904 */
static void test_1tii(void) {
    ax_structure *s = NULL;
    CHECK_OK(ax_pdb_read(DATA "/1tii.pdb", &s));
    if (s == NULL) return;
    const ax_chain *chain = NULL;
    for (int64_t c = 0; c < s->num_chains; c++)
        if (strcmp(s->chains[c].id, "A") == 0) chain = &s->chains[c];
    CHECK(chain != NULL);
    ax_chain_features *f = NULL;
    if (chain != NULL) CHECK_OK(ax_chain_features_create(NULL, chain, s->resolution, &f));
    if (f != NULL) {
        CHECK_INT_EQ(f->seq_length, 186);
        double total = 0;
        for (int64_t e = 0; e < f->seq_length * 37; e++) total += f->all_atom_mask[e];
        CHECK_INT_EQ((int64_t)total, 1479);
        check_atom(f, 0, 1, 39.248, 28.780, 6.904);
        CHECK_INT_EQ(f->aatype[0], 2); /* N */
    }
    ax_chain_features_destroy(f);
    ax_structure_destroy(s);
}

/* ---- 4zhl.cif.gz: arginines named the other way round ---------------------------------------- */

/* PDB entry 4ZHL (urokinase chain U with a peptide, chain P; X-ray 2.06 A). For every ARG of
 * chain U, the distances of NH1 and NH2 from CD, worked out with awk alone:
 *   zcat 4zhl.cif.gz | awk '$1=="ATOM" && $6=="ARG" && $24=="U" && ($4=="CD"||$4=="NH1"||$4=="NH2")
 *     {k=$9; x[k,$4]=$11; y[k,$4]=$12; z[k,$4]=$13; a[k]=$22 ($10=="?"?"":$10)} END {for (k in a) {
 *     d1=sqrt((x[k,"NH1"]-x[k,"CD"])^2+(y[k,"NH1"]-y[k,"CD"])^2+(z[k,"NH1"]-z[k,"CD"])^2);
 *     d2=sqrt((x[k,"NH2"]-x[k,"CD"])^2+(y[k,"NH2"]-y[k,"CD"])^2+(z[k,"NH2"]-z[k,"CD"])^2);
 *     printf "%s %s %.3f %.3f\n", k, a[k], d1, d2}}' | sort -n
 *   -> 13 arginines (label_seq_id, author number, |NH1-CD|, |NH2-CD|); NH1 is the farther one at
 *      five: 20 35 3.623 2.729, 21 36 3.625 2.766, 23 37A 3.674 2.836, 104 109 3.643 2.817,
 *      220 217 3.677 2.848; e.g. 63 70 2.877 3.632 is named AlphaFold's way.
 *   (no alternate locations among them: awk '$1=="ATOM" && $6=="ARG" && $5!="."' prints nothing)
 * The NH1/NH2 lines (x y z), from zcat 4zhl.cif.gz | awk '$1=="ATOM" && $6=="ARG" && $24=="U"': */
static const struct {
    int64_t index;          /* label_seq_id - 1 */
    double nh1[3], nh2[3];  /* as written in the file */
} arginines_4zhl[6] = {
    {19, {0.532, -17.500, -20.300}, {1.370, -18.932, -18.740}},    /* ARG U 35: swapped */
    {20, {-3.550, -14.698, -8.118}, {-1.956, -14.219, -9.667}},    /* ARG U 36: swapped */
    {22, {0.208, -2.279, -16.447}, {0.641, -3.461, -18.356}},      /* ARG U 37A: swapped */
    {103, {-0.671, -15.200, 2.289}, {-1.127, -16.376, 4.179}},     /* ARG U 109: swapped */
    {219, {6.649, -38.039, -36.837}, {6.749, -39.913, -35.526}},   /* ARG U 217: swapped */
    {62, {-13.512, -21.750, -11.642}, {-13.051, -21.684, -13.881}}, /* ARG U 70: kept */
};

static void test_4zhl_arginines(void) {
    ax_structure *s = NULL;
    CHECK_OK(ax_mmcif_read(DATA "/4zhl.cif.gz", &s));
    if (s == NULL) return;
    CHECK_INT_EQ(s->num_chains, 2);
    CHECK_STR_EQ(s->chains[0].id, "U");
    /* zcat 4zhl.cif.gz | grep -E '_refine.ls_d_res_high|_reflns.d_resolution_high' -> 2.06, 2.05:
     * AlphaFold 2 keeps the last readable of refine, EM, reflns (Axial had taken refine's 2.06). */
    CHECK(fabs(s->resolution - 2.05) < 1e-12);
    ax_chain_features *f = NULL;
    CHECK_OK(ax_chain_features_create(NULL, &s->chains[0], s->resolution, &f));
    if (f != NULL) {
        CHECK_INT_EQ(f->seq_length, 247); /* _entity_poly_seq of entity 1 */
        const int nh1 = 29, nh2 = 30;
        for (int i = 0; i < 6; i++) {
            const int64_t r = arginines_4zhl[i].index;
            CHECK_INT_EQ(f->aatype[r], 1); /* R */
            const double *first = i < 5 ? arginines_4zhl[i].nh2 : arginines_4zhl[i].nh1;
            const double *second = i < 5 ? arginines_4zhl[i].nh1 : arginines_4zhl[i].nh2;
            check_atom(f, r, nh1, first[0], first[1], first[2]);
            check_atom(f, r, nh2, second[0], second[1], second[2]);
        }
        /* Afterwards no arginine of the chain has NH1 farther from CD than NH2. */
        int arginines = 0, farther = 0;
        for (int64_t r = 0; r < f->seq_length; r++) {
            const float *m = f->all_atom_mask + r * 37, *p = f->all_atom_positions + r * 37 * 3;
            if (f->aatype[r] != 1 || m[11] != 1.0f || m[nh1] != 1.0f || m[nh2] != 1.0f) continue;
            arginines++;
            double d1 = 0, d2 = 0;
            for (int k = 0; k < 3; k++) {
                d1 += (p[nh1 * 3 + k] - p[11 * 3 + k]) * (p[nh1 * 3 + k] - p[11 * 3 + k]);
                d2 += (p[nh2 * 3 + k] - p[11 * 3 + k]) * (p[nh2 * 3 + k] - p[11 * 3 + k]);
            }
            farther += d1 > d2;
        }
        CHECK_INT_EQ(arginines, 13);
        CHECK_INT_EQ(farther, 0);
    }
    ax_chain_features_destroy(f);
    ax_structure_destroy(s);
}

/* ---- 1as5.cif.gz: hydroxyproline ------------------------------------------------------------- */

/* PDB entry 1AS5 (conotoxin with three HYP, NMR; the first model is read):
 *   zcat 1as5.cif.gz | grep _entity_poly.pdbx_seq_one_letter_code_can -> HPPCCLYGKCRRYPGCSSASCCQRX
 *   HYP's heavy atoms: N CA C O CB CG CD, as PRO's, and OD1, which PRO has not (model 1, HYP 2):
 *     zcat 1as5.cif.gz | awk '$6=="HYP" && $9==2 && $NF==1 && $3!="H" {print $4, $11, $12, $13}'
 *     -> N 8.215 2.572 1.789 ... CD 7.898 1.161 2.095, OD1 9.612 -0.073 0.965
 *   HYP 14: CG 2.793 6.582 6.662; NH2 25 (the C-terminal cap, 'X'): N -8.022 -6.229 -9.939
 *   atoms with atom37 names in model 1, less the three HYP OD1:
 *     A37="N CA C CB O CG CG1 CG2 OG OG1 SG CD CD1 CD2 ND1 ND2 OD1 OD2 SD CE CE1 CE2 CE3 NE NE1 NE2
 *          OE1 OE2 CH2 NH1 NH2 OH CZ CZ2 CZ3 NZ OXT"
 *     zcat 1as5.cif.gz | awk -v a37="$A37" 'BEGIN{n=split(a37,t," "); for(i=1;i<=n;i++) ok[t[i]]=1}
 *       ($1=="ATOM"||$1=="HETATM") && $NF==1 && ($4 in ok) {all++; if ($6=="HYP" && $4=="OD1") od1++}
 *       END{print all, od1, all-od1}'  -> 185 3 182 */
static void test_1as5_hydroxyproline(void) {
    ax_structure *s = NULL;
    CHECK_OK(ax_mmcif_read(DATA "/1as5.cif.gz", &s));
    if (s == NULL) return;
    ax_chain_features *f = NULL;
    CHECK_OK(ax_chain_features_create(NULL, &s->chains[0], s->resolution, &f));
    if (f != NULL) {
        CHECK_STR_EQ(f->sequence, "HPPCCLYGKCRRYPGCSSASCCQRX");
        CHECK_INT_EQ(f->aatype[1], 14); /* HYP as P */
        CHECK_INT_EQ(f->aatype[13], 14);
        CHECK_INT_EQ(f->aatype[24], 20); /* NH2: X */
        CHECK_INT_EQ(f->msa[1], 14);
        int hyp2 = 0;
        for (int a = 0; a < 37; a++) hyp2 += f->all_atom_mask[1 * 37 + a] == 1.0f;
        CHECK_INT_EQ(hyp2, 7);
        CHECK(f->all_atom_mask[1 * 37 + 16] == 0.0f); /* no OD1 on a proline */
        CHECK(f->all_atom_mask[13 * 37 + 16] == 0.0f);
        check_atom(f, 1, 0, 8.215, 2.572, 1.789);   /* HYP 2 N */
        check_atom(f, 1, 11, 7.898, 1.161, 2.095);  /* HYP 2 CD */
        check_atom(f, 13, 5, 2.793, 6.582, 6.662);  /* HYP 14 CG */
        check_atom(f, 24, 0, -8.022, -6.229, -9.939); /* NH2 25 N: an 'X' keeps its atom37 names */
        double total = 0;
        for (int64_t e = 0; e < f->seq_length * 37; e++) total += f->all_atom_mask[e];
        CHECK_INT_EQ((int64_t)total, 182);
    }
    ax_chain_features_destroy(f);
    ax_structure_destroy(s);
}

/* ---- 2n0n_M1.pdb: a MODRES parent in a PDB file ---------------------------------------------- */

/* MODRES 2N0N AIB A 2 ALA: AIB's heavy atoms are N CA C O CB1 CB2 (CB1/CB2 have no atom37 slot);
 * PH8 11 has no parent ('X') and keeps its atom37 names C N O CA CB CG CZ CD1 CD2 CE1 CE2 (CI, CJ
 * have none): grep -E '^(ATOM|HETATM).{11}(AIB|PH8)' 2n0n_M1.pdb | cut -c13-16 | tr -s ' \n' ' ' */
static void test_2n0n_modres(void) {
    ax_structure *s = NULL;
    CHECK_OK(ax_pdb_read(DATA "/2n0n_M1.pdb", &s));
    if (s == NULL) return;
    ax_chain_features *f = NULL;
    CHECK_OK(ax_chain_features_create(NULL, &s->chains[0], s->resolution, &f));
    if (f != NULL) {
        CHECK_STR_EQ(f->sequence, "HAEGKFTSEFXX");
        CHECK_INT_EQ(f->aatype[1], 0); /* A */
        int counts[12] = {0};
        for (int i = 0; i < 12; i++)
            for (int a = 0; a < 37; a++) counts[i] += f->all_atom_mask[i * 37 + a] == 1.0f;
        CHECK_INT_EQ(counts[1], 4);
        CHECK_INT_EQ(counts[10], 11);
        CHECK_INT_EQ(counts[11], 1);
        /* HETATM   22  CA  AIB A   2       8.054  -7.818   1.817 */
        check_atom(f, 1, 1, 8.054, -7.818, 1.817);
    }
    ax_chain_features_destroy(f);
    ax_structure_destroy(s);
}

/* ---- 1lcd.cif.gz: DNA chains are refused ----------------------------------------------------- */

/* PDB entry 1LCD: chains B and C are polydeoxyribonucleotide, A the 51-residue headpiece
 * (zcat 1lcd.cif.gz | grep -A9 '^_entity_poly.entity_id'). */
static void test_1lcd_dna(void) {
    ax_structure *s = NULL;
    CHECK_OK(ax_mmcif_read(DATA "/1lcd.cif.gz", &s));
    if (s == NULL || s->num_chains != 3) {
        CHECK(s != NULL && s->num_chains == 3);
        ax_structure_destroy(s);
        return;
    }
    ax_chain_features *f = (ax_chain_features *)&f;
    CHECK_STR_EQ(s->chains[0].id, "B");
    CHECK_STATUS(ax_chain_features_create(NULL, &s->chains[0], s->resolution, &f), AX_ERR_INVALID_ARGUMENT);
    CHECK(f == NULL);
    CHECK_CONTAINS(ax_last_error(), "chain B: polymer type DNA, not protein");
    CHECK_STATUS(ax_chain_features_create(NULL, &s->chains[1], s->resolution, &f), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "chain C: polymer type DNA");
    /* An alignment does not make a DNA chain a protein either. */
    const char a3m[] = ">q\nXXXXXXXXXXX\n";
    ax_msa *msa = NULL;
    CHECK_OK(ax_a3m_parse(a3m, sizeof a3m - 1, "dna.a3m", &msa));
    CHECK_STATUS(ax_chain_features_create(msa, &s->chains[0], s->resolution, &f), AX_ERR_INVALID_ARGUMENT);
    ax_msa_destroy(msa);
    CHECK_OK(ax_chain_features_create(NULL, &s->chains[2], s->resolution, &f));
    if (f != NULL) {
        CHECK_INT_EQ(f->seq_length, 51);
        CHECK_INT_EQ(f->aatype[0], 12); /* M */
    }
    ax_chain_features_destroy(f);
    ax_structure_destroy(s);
}

/* ---- bare sequences and errors --------------------------------------------------------------- */

static void test_from_sequence(void) {
    ax_chain_features *f = NULL;
    CHECK_OK(ax_chain_features_from_sequence("acdBxV", &f));
    if (f != NULL) {
        CHECK_STR_EQ(f->sequence, "ACDBXV");
        const int aatype[6] = {0, 4, 3, 20, 20, 19};
        const int msa[6] = {0, 4, 3, 3, 20, 19}; /* B is D in the msa, X in aatype */
        for (int i = 0; i < 6; i++) {
            CHECK_INT_EQ(f->aatype[i], aatype[i]);
            CHECK_INT_EQ(f->msa[i], msa[i]);
            CHECK_INT_EQ(f->deletion_matrix[i], 0);
            CHECK_INT_EQ(f->residue_index[i], i);
        }
        CHECK_INT_EQ(f->num_alignments, 1);
        CHECK(f->all_atom_positions == NULL);
    }
    ax_chain_features_destroy(f);

    f = (ax_chain_features *)&f;
    CHECK_STATUS(ax_chain_features_from_sequence("ACD-E", &f), AX_ERR_INVALID_ARGUMENT);
    CHECK(f == NULL);
    CHECK_CONTAINS(ax_last_error(), "position 4 (1-based)");
    CHECK_STATUS(ax_chain_features_from_sequence("", &f), AX_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ax_chain_features_from_sequence(NULL, &f), AX_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ax_chain_features_from_sequence("ACD", NULL), AX_ERR_INVALID_ARGUMENT);
}

static void test_errors(void) {
    ax_chain_features *f = NULL;
    CHECK_STATUS(ax_chain_features_create(NULL, NULL, 0.0, &f), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "both NULL");
    CHECK(f == NULL);

    /* A query with a gap cannot define a sequence. */
    const char gapped[] = ">q\nAC-D\n>h\nACED\n";
    ax_msa *msa = NULL;
    CHECK_OK(ax_a3m_parse(gapped, sizeof gapped - 1, "gapped.a3m", &msa));
    CHECK_STATUS(ax_chain_features_create(msa, NULL, 0.0, &f), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "gap at position 3");
    CHECK_STATUS(ax_chain_features_create(msa, NULL, 0.0, NULL), AX_ERR_INVALID_ARGUMENT);
    ax_msa_destroy(msa);

    /* A chain without polymer residues (only a water). */
    const char water_pdb[] = "HETATM    1  O   HOH W   1       1.000   2.000   3.000  1.00  0.00           O\nEND\n";
    ax_structure *s = NULL;
    CHECK_OK(ax_pdb_parse(water_pdb, sizeof water_pdb - 1, "water.pdb", &s));
    CHECK(s != NULL && s->chains[0].seq_len == 0);
    if (s != NULL) {
        CHECK_STATUS(ax_chain_features_create(NULL, &s->chains[0], 0.0, &f), AX_ERR_INVALID_ARGUMENT);
        CHECK_CONTAINS(ax_last_error(), "no polymer residues");
    }
    ax_structure_destroy(s);

    /* Stockholm input works the same way (globins4: query HBB_HUMAN, 4 rows). */
    msa = NULL;
    CHECK_OK(ax_stockholm_read(DATA "/globins4.sto", &msa));
    if (msa != NULL) {
        CHECK_OK(ax_chain_features_create(msa, NULL, 0.0, &f));
        if (f != NULL) {
            CHECK_INT_EQ(f->num_alignments, msa->num_rows);
            CHECK_INT_EQ(f->seq_length, msa->num_cols);
        }
        ax_chain_features_destroy(f);
    }
    ax_msa_destroy(msa);

    /* alloc: argument errors and the defaults it promises. */
    CHECK_STATUS(ax_chain_features_alloc(0, 1, 0, &f), AX_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ax_chain_features_alloc(4, 0, 0, &f), AX_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ax_chain_features_alloc(INT64_MAX / 2, 4, 1, &f), AX_ERR_INVALID_ARGUMENT);
    CHECK_OK(ax_chain_features_alloc(3, 2, 1, &f));
    if (f != NULL) {
        CHECK_STR_EQ(f->sequence, "XXX");
        CHECK_INT_EQ(f->aatype[2], 20);
        CHECK_INT_EQ(f->residue_index[2], 2);
        CHECK(f->all_atom_mask != NULL && f->all_atom_mask[3 * 37 - 1] == 0.0f);
    }
    ax_chain_features_destroy(f);
    ax_chain_features_destroy(NULL);
}

int main(void) {
    RUN(test_orders);
    RUN(test_query_a3m);
    RUN(test_1cbs);
    RUN(test_unresolved);
    RUN(test_1tii);
    RUN(test_4zhl_arginines);
    RUN(test_1as5_hydroxyproline);
    RUN(test_2n0n_modres);
    RUN(test_1lcd_dna);
    RUN(test_from_sequence);
    RUN(test_errors);
    return th_finish();
}
