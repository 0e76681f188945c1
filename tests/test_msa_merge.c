/*
 * test_msa_merge.c — ax_chain_features_from_msas: AlphaFold's deduplication of alignment rows
 * (within one alignment, across alignments, by letters rather than tokens, insertions ignored),
 * the option that keeps every row, a structure chain, and the errors. Expected rows are written
 * out by hand from the A3M text in each test; the larger case checks against a first-occurrence
 * model computed in the test from the pattern ids the rows were generated from.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "harness.h"

#include "axial/features.h"
#include "axial/io.h"

/* msa tokens (AlphaFold's order A R N D C Q E G H I L K M F P S T W Y V, gap 21) of the letters used. */
enum { TA = 0, TR = 1, TD = 3, TC = 4, TE = 6, TG = 7, TL = 10, TK = 11, TM = 12, TF = 13, TV = 19, GAP = 21 };

static ax_msa *parse_a3m(const char *text, const char *name) {
    ax_msa *m = NULL;
    CHECK_OK(ax_a3m_parse(text, strlen(text), name, &m));
    return m;
}

/* Checks every row of f->msa and f->deletion_matrix against (rows, 4) tables written out by hand. */
static void check_rows(const ax_chain_features *f, int64_t rows, const int32_t (*tokens)[4],
                       const int32_t (*deletions)[4]) {
    CHECK_INT_EQ(f->num_alignments, rows);
    CHECK_INT_EQ(f->seq_length, 4);
    if (f->num_alignments != rows || f->seq_length != 4) return;
    int token_mismatches = 0, deletion_mismatches = 0;
    for (int64_t r = 0; r < rows; r++) {
        for (int c = 0; c < 4; c++) {
            if (f->msa[r * 4 + c] != tokens[r][c]) {
                token_mismatches++;
                fprintf(stderr, "  msa[%lld][%d] = %d, expected %d\n", (long long)r, c, (int)f->msa[r * 4 + c],
                        (int)tokens[r][c]);
            }
            if (f->deletion_matrix[r * 4 + c] != deletions[r][c]) {
                deletion_mismatches++;
                fprintf(stderr, "  deletion_matrix[%lld][%d] = %d, expected %d\n", (long long)r, c,
                        (int)f->deletion_matrix[r * 4 + c], (int)deletions[r][c]);
            }
        }
    }
    CHECK_INT_EQ(token_mismatches, 0);
    CHECK_INT_EQ(deletion_mismatches, 0);
}

/* One alignment. Lower case letters are insertions, counted into the next match column:
 *   query  MKVL     letters MKVL  deletions 0 0 0 0   kept (row 0)
 *   s1     MRggV-   letters MRV-  deletions 0 0 2 0   kept
 *   s2     MKVL     letters MKVL                      duplicate of query
 *   s3     MRV-     letters MRV-  deletions 0 0 0 0   duplicate of s1 (s1's deletions stay)
 *   s4     M-VL     letters M-VL  deletions 0 0 0 0   kept
 *   s5     MRVa-    letters MRV-  deletions 0 0 0 1   duplicate of s1 (differs only by an insertion)
 *   s6     MkKVL    letters MKVL  deletions 0 1 0 0   duplicate of query */
static const char one_a3m[] = ">query\nMKVL\n>s1\nMRggV-\n>s2\nMKVL\n>s3\nMRV-\n>s4\nM-VL\n>s5\nMRVa-\n>s6\nMkKVL\n";

/* A second alignment of the same query, merged after the first:
 *   query  MKVL    duplicate of the first alignment's query
 *   t1     M-VL    duplicate of s4
 *   t2     MRgV-   letters MRV-: duplicate of s1
 *   t3     MBVL    kept: B is token 3 (D)
 *   t4     MDVL    kept: the same tokens as t3, but other letters (AlphaFold compares letters)
 *   t5     MBVL    duplicate of t3, inside this alignment */
static const char two_a3m[] = ">query\nMKVL\n>t1\nM-VL\n>t2\nMRgV-\n>t3\nMBVL\n>t4\nMDVL\n>t5\nMBVL\n";

static void test_within_one_msa(void) {
    ax_msa *one = parse_a3m(one_a3m, "one.a3m");
    if (one == NULL) return;
    CHECK_INT_EQ(one->num_rows, 7);
    const ax_msa *msas[1] = {one};
    ax_chain_features *f = NULL;
    CHECK_OK(ax_chain_features_from_msas(msas, 1, NULL, 0.0, NULL, &f));
    if (f != NULL) {
        static const int32_t tokens[3][4] = {{TM, TK, TV, TL}, {TM, TR, TV, GAP}, {TM, GAP, TV, TL}};
        static const int32_t deletions[3][4] = {{0, 0, 0, 0}, {0, 0, 2, 0}, {0, 0, 0, 0}};
        check_rows(f, 3, tokens, deletions);
        CHECK_STR_EQ(f->sequence, "MKVL");
        CHECK(f->all_atom_positions == NULL && f->all_atom_mask == NULL);
    }
    ax_chain_features_destroy(f);

    /* ax_chain_features_create keeps rows as given (documented): all seven. */
    f = NULL;
    CHECK_OK(ax_chain_features_create(one, NULL, 0.0, &f));
    if (f != NULL) CHECK_INT_EQ(f->num_alignments, 7);
    ax_chain_features_destroy(f);
    ax_msa_destroy(one);
}

static void test_across_msas(void) {
    ax_msa *one = parse_a3m(one_a3m, "one.a3m"), *two = parse_a3m(two_a3m, "two.a3m");
    if (one != NULL && two != NULL) {
        const ax_msa *msas[2] = {one, two};
        ax_chain_features_config cfg = AX_CHAIN_FEATURES_CONFIG_INIT;
        ax_chain_features *f = NULL;
        CHECK_OK(ax_chain_features_from_msas(msas, 2, NULL, 0.0, &cfg, &f));
        if (f != NULL) {
            static const int32_t tokens[5][4] = {
                {TM, TK, TV, TL}, {TM, TR, TV, GAP}, {TM, GAP, TV, TL}, {TM, TD, TV, TL}, {TM, TD, TV, TL}};
            static const int32_t deletions[5][4] = {{0, 0, 0, 0}, {0, 0, 2, 0}, {0, 0, 0, 0}, {0, 0, 0, 0},
                                                    {0, 0, 0, 0}};
            check_rows(f, 5, tokens, deletions);
        }
        ax_chain_features_destroy(f);

        /* The other order: two's rows first, then one's new rows (s1 comes after t2, whose letters
         * it repeats, so t2's deletion 1 is kept rather than s1's 2).
         *   two: query t1 t2 t3 t4 (t5 dup)   one: (query, s1, s2, s3, s4, s5, s6 all duplicates) */
        const ax_msa *reversed[2] = {two, one};
        f = NULL;
        CHECK_OK(ax_chain_features_from_msas(reversed, 2, NULL, 0.0, &cfg, &f));
        if (f != NULL) {
            static const int32_t tokens[5][4] = {
                {TM, TK, TV, TL}, {TM, GAP, TV, TL}, {TM, TR, TV, GAP}, {TM, TD, TV, TL}, {TM, TD, TV, TL}};
            static const int32_t deletions[5][4] = {{0, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 0},
                                                    {0, 0, 0, 0}};
            check_rows(f, 5, tokens, deletions);
        }
        ax_chain_features_destroy(f);
    }
    ax_msa_destroy(one);
    ax_msa_destroy(two);
}

/* The issue's own example: B and D are both token 3, but "ACDE" and "ACBE" are two sequences.
 * Rows that differ from the query only in the last or only in the first column are kept too. */
static void test_letters_not_tokens(void) {
    ax_msa *m = parse_a3m(">q\nACDE\n>x\nACBE\n>y\nACDE\n>z\nACDF\n>w\nGCDE\n", "bd.a3m");
    if (m == NULL) return;
    const ax_msa *msas[1] = {m};
    ax_chain_features *f = NULL;
    CHECK_OK(ax_chain_features_from_msas(msas, 1, NULL, 0.0, NULL, &f));
    if (f != NULL) {
        static const int32_t tokens[4][4] = {{TA, TC, TD, TE}, {TA, TC, TD, TE}, {TA, TC, TD, TF}, {TG, TC, TD, TE}};
        static const int32_t deletions[4][4] = {{0, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}};
        check_rows(f, 4, tokens, deletions);
    }
    ax_chain_features_destroy(f);
    ax_msa_destroy(m);
}

static void test_keep_duplicates(void) {
    ax_msa *one = parse_a3m(one_a3m, "one.a3m"), *two = parse_a3m(two_a3m, "two.a3m");
    if (one != NULL && two != NULL) {
        const ax_msa *msas[2] = {one, two};
        ax_chain_features_config cfg = AX_CHAIN_FEATURES_CONFIG_INIT;
        cfg.keep_duplicate_rows = 1;
        ax_chain_features *f = NULL;
        CHECK_OK(ax_chain_features_from_msas(msas, 2, NULL, 0.0, &cfg, &f));
        if (f != NULL) {
            /* Every row, in order: one's seven, then two's six. */
            static const int32_t tokens[13][4] = {
                {TM, TK, TV, TL}, {TM, TR, TV, GAP}, {TM, TK, TV, TL}, {TM, TR, TV, GAP}, {TM, GAP, TV, TL},
                {TM, TR, TV, GAP}, {TM, TK, TV, TL},                                                  /* one */
                {TM, TK, TV, TL}, {TM, GAP, TV, TL}, {TM, TR, TV, GAP}, {TM, TD, TV, TL}, {TM, TD, TV, TL},
                {TM, TD, TV, TL}};                                                                    /* two */
            static const int32_t deletions[13][4] = {
                {0, 0, 0, 0}, {0, 0, 2, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 1}, {0, 1, 0, 0},
                {0, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}};
            check_rows(f, 13, tokens, deletions);
        }
        ax_chain_features_destroy(f);
    }
    ax_msa_destroy(one);
    ax_msa_destroy(two);
}

/* A four-residue chain A, one CA atom each, residue i's CA at (i + 1, 2 i, -i); UNK reads as 'X'
 * (an 'X' in the chain matches any query letter). `second` replaces the second residue's name. */
static ax_structure *parse_chain(const char *second) {
    const char *names[4] = {"MET", second, "VAL", "UNK"};
    char text[512];
    size_t n = 0;
    for (int i = 0; i < 4; i++)
        n += (size_t)snprintf(text + n, sizeof text - n,
                              "ATOM  %5d  CA  %3s A%4d    %8.3f%8.3f%8.3f%6.2f%6.2f           C\n", i + 1, names[i],
                              i + 1, (double)(i + 1), (double)(2 * i), (double)-i, 1.0, 0.0);
    ax_structure *s = NULL;
    CHECK_OK(ax_pdb_parse(text, n, "chain.pdb", &s));
    return s;
}

/* With a structure chain: the chain's checks and arrays are those of ax_chain_features_create. */
static void test_with_chain(void) {
    ax_msa *one = parse_a3m(one_a3m, "one.a3m"), *two = parse_a3m(two_a3m, "two.a3m");
    ax_structure *mkvx = parse_chain("LYS"), *mrvx = parse_chain("ARG");
    if (one != NULL && two != NULL && mkvx != NULL && mrvx != NULL) {
        const ax_msa *msas[2] = {one, two};
        ax_chain_features *f = NULL;
        CHECK_OK(ax_chain_features_from_msas(msas, 2, &mkvx->chains[0], 2.5, NULL, &f));
        if (f != NULL) {
            CHECK_INT_EQ(f->num_alignments, 5);
            CHECK_STR_EQ(f->sequence, "MKVL");
            CHECK_INT_EQ(f->aatype[3], TL);
            CHECK(f->resolution == 2.5);
            CHECK(f->all_atom_positions != NULL && f->all_atom_mask != NULL);
            if (f->all_atom_positions != NULL) {
                /* Residue 2's CA (atom37 index 1) at (3, 4, -2); its N (index 0) absent. */
                const float *ca = f->all_atom_positions + (2 * AX_ATOM37_COUNT + 1) * 3;
                CHECK(ca[0] == 3.0f && ca[1] == 4.0f && ca[2] == -2.0f);
                CHECK(f->all_atom_mask[2 * AX_ATOM37_COUNT + 1] == 1.0f);
                CHECK(f->all_atom_mask[2 * AX_ATOM37_COUNT + 0] == 0.0f);
            }
        }
        ax_chain_features_destroy(f);

        /* No alignment at all: the chain alone, one row. */
        f = NULL;
        CHECK_OK(ax_chain_features_from_msas(NULL, 0, &mkvx->chains[0], 2.5, NULL, &f));
        if (f != NULL) {
            CHECK_INT_EQ(f->num_alignments, 1);
            CHECK_STR_EQ(f->sequence, "MKVX");
        }
        ax_chain_features_destroy(f);

        f = NULL;
        CHECK_STATUS(ax_chain_features_from_msas(msas, 2, &mrvx->chains[0], 2.5, NULL, &f), AX_ERR_INVALID_ARGUMENT);
        CHECK(f == NULL);
        CHECK_CONTAINS(ax_last_error(), "differ at position 2 (1-based): msa 'K', chain 'R'");
    }
    ax_structure_destroy(mkvx);
    ax_structure_destroy(mrvx);
    ax_msa_destroy(one);
    ax_msa_destroy(two);
}

/* Three generated alignments of 12 columns, 1,000 rows each. Row r >= 1 of alignment m spells
 * pattern id (37 r + 11 m) mod 400 in base 20, the high digit in column 1 and the low one in the
 * last column (column 0 is 'C', so no row equals the all-'A' query; an insertion before column 10
 * gives every row deletion 1 there). The expected rows are the first occurrence of each id in reading order,
 * counted here with a plain seen[] array: the hash set at a size where rows share slots and probe,
 * beyond the hand-written cases. */
static void test_generated(void) {
    enum { MSAS = 3, ROWS = 1000, COLS = 12, IDS = 400 };
    static const char letters[] = "ACDEFGHIKLMNPQRSTVWY";
    char *text = malloc((size_t)MSAS * ROWS * 32);
    ax_msa *msas[MSAS] = {NULL};
    int seen[IDS] = {0};
    int64_t expected_ids[IDS + 1], expected_count = 1;
    CHECK(text != NULL);
    for (int m = 0; text != NULL && m < MSAS; m++) {
        size_t n = (size_t)sprintf(text, ">query\nAAAAAAAAAAAA\n");
        for (int r = 1; r < ROWS; r++) {
            const int id = (37 * r + 11 * m) % IDS;
            n += (size_t)sprintf(text + n, ">r%d\nC%cAAAAAAAAkA%c\n", r, letters[id / 20], letters[id % 20]);
            if (!seen[id]) expected_ids[expected_count++] = id;
            seen[id] = 1;
        }
        CHECK_OK(ax_a3m_parse(text, n, "generated.a3m", &msas[m]));
    }
    if (msas[0] != NULL && msas[1] != NULL && msas[2] != NULL) {
        ax_chain_features *f = NULL;
        CHECK_OK(ax_chain_features_from_msas((const ax_msa *const *)msas, MSAS, NULL, 0.0, NULL, &f));
        if (f != NULL) {
            CHECK_INT_EQ(f->num_alignments, expected_count);
            int wrong = 0;
            for (int64_t k = 1; k < f->num_alignments && k < expected_count; k++) {
                const int32_t *row = f->msa + k * COLS;
                const int id = expected_ids[k];
                wrong += row[0] != TC || row[1] != ax_msa_token_from_letter(letters[id / 20]) ||
                         row[11] != ax_msa_token_from_letter(letters[id % 20]) ||
                         f->deletion_matrix[k * COLS + 10] != 1;
            }
            CHECK_INT_EQ(wrong, 0);
        }
        ax_chain_features_destroy(f);
    }
    for (int m = 0; m < MSAS; m++) ax_msa_destroy(msas[m]);
    free(text);
}

static void test_errors(void) {
    ax_msa *one = parse_a3m(one_a3m, "one.a3m"), *other = parse_a3m(">q\nMKV\n", "three.a3m");
    ax_chain_features *f = NULL;
    if (one == NULL || other == NULL) goto done;
    const ax_msa *msas[2] = {one, other};
    CHECK_STATUS(ax_chain_features_from_msas(msas, 2, NULL, 0.0, NULL, &f), AX_ERR_INVALID_ARGUMENT);
    CHECK(f == NULL);
    CHECK_CONTAINS(ax_last_error(), "msas[1] has 3 columns but msas[0] has 4");

    CHECK_STATUS(ax_chain_features_from_msas(msas, 1, NULL, 0.0, NULL, NULL), AX_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ax_chain_features_from_msas(msas, -1, NULL, 0.0, NULL, &f), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "num_msas: -1");
    CHECK_STATUS(ax_chain_features_from_msas(NULL, 2, NULL, 0.0, NULL, &f), AX_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ax_chain_features_from_msas(NULL, 0, NULL, 0.0, NULL, &f), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "need at least one");
    const ax_msa *with_null[2] = {one, NULL};
    CHECK_STATUS(ax_chain_features_from_msas(with_null, 2, NULL, 0.0, NULL, &f), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "msas[1]: NULL");

    ax_chain_features_config cfg = AX_CHAIN_FEATURES_CONFIG_INIT;
    cfg.struct_size = 0;
    CHECK_STATUS(ax_chain_features_from_msas(msas, 1, NULL, 0.0, &cfg, &f), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "struct_size");

    /* Bad cells in a later alignment, named by alignment, row and column (0-based): a hand-built
     * alignment, since the parsers never produce them. */
    char residues[8] = {'M', 'K', 'V', 'L', 'M', '*', 'V', 'L'};
    int32_t deletions[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    char *names[2] = {"q", "bad"};
    ax_msa bad = {2, 4, residues, deletions, names};
    const ax_msa *with_bad[2] = {one, &bad};
    CHECK_STATUS(ax_chain_features_from_msas(with_bad, 2, NULL, 0.0, NULL, &f), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "msas[1]: row 1 column 1 has character 0x2a");
    residues[5] = 'K';
    residues[6] = 'A'; /* not a duplicate any more, so its deletions are read */
    deletions[7] = -3;
    CHECK_STATUS(ax_chain_features_from_msas(with_bad, 2, NULL, 0.0, NULL, &f), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "msas[1]: row 1 column 3 has deletion count -3");

    /* A query with a gap: the message of ax_chain_features_create. */
    ax_msa *gapped = parse_a3m(">q\nM-VL\n", "gap.a3m");
    const ax_msa *with_gap[1] = {gapped};
    if (gapped != NULL) {
        CHECK_STATUS(ax_chain_features_from_msas(with_gap, 1, NULL, 0.0, NULL, &f), AX_ERR_INVALID_ARGUMENT);
        CHECK_CONTAINS(ax_last_error(), "query row has a gap at position 2");
    }
    ax_msa_destroy(gapped);
    CHECK(f == NULL);
done:
    ax_msa_destroy(one);
    ax_msa_destroy(other);
}

int main(void) {
    RUN(test_within_one_msa);
    RUN(test_across_msas);
    RUN(test_letters_not_tokens);
    RUN(test_keep_duplicates);
    RUN(test_with_chain);
    RUN(test_generated);
    RUN(test_errors);
    return th_finish();
}
