/*
 * test_io_stockholm.c — Stockholm parsing against values computed independently with awk, plus
 * hand-made cases for interleaving, the AlphaFold column conversion, markup and each error.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>

#include "axial/io.h"
#include "harness.h"

#define DATA AXIAL_TEST_DATA

static int64_t row_sum(const ax_msa *m, int64_t row) {
    int64_t sum = 0;
    for (int64_t j = 0; j < m->num_cols; j++) sum += m->deletions[row * m->num_cols + j];
    return sum;
}

static int64_t row_gaps(const ax_msa *m, int64_t row) {
    int64_t gaps = 0;
    for (int64_t j = 0; j < m->num_cols; j++) gaps += m->residues[row * m->num_cols + j] == '-';
    return gaps;
}

static int64_t del(const ax_msa *m, int64_t row, int64_t col) { return m->deletions[row * m->num_cols + col]; }

/* Expected values come from an awk script written for this test, independent of the C code:
 *
 *   /^#/ || /^\/\// || NF==0 {next}
 *   { if(!($1 in seq)){order[++n]=$1}; seq[$1]=seq[$1] $2 }
 *   END{ q=seq[order[1]]; L=length(q); kept=0; for(k=1;k<=L;k++) if(substr(q,k,1)!~/[.-]/) kept++;
 *     print "nseq="n, "alnlen="L, "querylen="kept;
 *     for(i=1;i<=n;i++){ s=seq[order[i]]; c=0; col=0; out=""; tot=0; gaps=0;
 *       for(k=1;k<=L;k++){ qc=substr(q,k,1); sc=substr(s,k,1);
 *         if(qc ~ /[.-]/){ if(sc !~ /[.-]/) c++ } else { if(c>0){out=out" "col":"c; tot+=c};
 *           if(sc ~ /[.-]/) gaps++; c=0; col++ } }
 *       print i-1, order[i], "gaps="gaps, "del_sum="tot, "trailing="c, out } }
 *
 * globins4.sto: nseq=4 alnlen=171 querylen=146
 *   0 HBB_HUMAN  gaps=0  del_sum=0
 *   1 HBA_HUMAN  gaps=7  del_sum=2  18:2
 *   2 MYG_PHYCA  gaps=2  del_sum=3  trailing=6 (dropped)  18:2 79:1
 *   3 GLB5_PETMA gaps=10 del_sum=13 0:8 18:2 78:1 79:2
 * query residues: awk '/^HBB_HUMAN/{s=s $2} END{gsub(/[.-]/,"",s); print substr(s,1,10)}' -> VHLTPEEKSA
 *
 * fn3.sto (a single block despite its size): nseq=98 alnlen=117 querylen=86
 *   0 LAR_DROME/418-503   gaps=0  del_sum=0
 *   1 TENA_CHICK/1495-1571 gaps=11 del_sum=2  35:1 57:1
 *   2 KALM_CHICK/544-641  gaps=0  del_sum=12 11:3 24:1 35:1 44:6 57:1
 *   97 L1CAM_HUMAN/813-907 gaps=0 del_sum=9  11:1 24:2 35:1 44:4 57:1 */
static void test_globins4(void) {
    ax_msa *m = NULL;
    CHECK_OK(ax_stockholm_read(DATA "/globins4.sto", &m));
    if (m == NULL) return;
    CHECK_INT_EQ(m->num_rows, 4);
    CHECK_INT_EQ(m->num_cols, 146);
    CHECK_STR_EQ(m->names[0], "HBB_HUMAN");
    CHECK_STR_EQ(m->names[3], "GLB5_PETMA");
    CHECK(memcmp(m->residues, "VHLTPEEKSA", 10) == 0);
    CHECK_INT_EQ(row_gaps(m, 0), 0);
    CHECK_INT_EQ(row_sum(m, 0), 0);
    CHECK_INT_EQ(row_gaps(m, 1), 7);
    CHECK_INT_EQ(row_sum(m, 1), 2);
    CHECK_INT_EQ(del(m, 1, 18), 2);
    CHECK_INT_EQ(row_gaps(m, 2), 2);
    CHECK_INT_EQ(row_sum(m, 2), 3);
    CHECK_INT_EQ(del(m, 2, 79), 1);
    CHECK_INT_EQ(row_gaps(m, 3), 10);
    CHECK_INT_EQ(row_sum(m, 3), 13);
    CHECK_INT_EQ(del(m, 3, 0), 8);
    CHECK_INT_EQ(del(m, 3, 78), 1);
    CHECK_INT_EQ(del(m, 3, 79), 2);
    ax_msa_destroy(m);
}

static void test_fn3(void) {
    ax_msa *m = NULL;
    CHECK_OK(ax_stockholm_read(DATA "/fn3.sto", &m));
    if (m == NULL) return;
    CHECK_INT_EQ(m->num_rows, 98);
    CHECK_INT_EQ(m->num_cols, 86);
    CHECK_STR_EQ(m->names[0], "LAR_DROME/418-503");
    CHECK_STR_EQ(m->names[97], "L1CAM_HUMAN/813-907");
    CHECK_INT_EQ(row_gaps(m, 1), 11);
    CHECK_INT_EQ(row_sum(m, 1), 2);
    CHECK_INT_EQ(row_sum(m, 2), 12);
    CHECK_INT_EQ(del(m, 2, 11), 3);
    CHECK_INT_EQ(del(m, 2, 44), 6);
    CHECK_INT_EQ(row_sum(m, 97), 9);
    CHECK_INT_EQ(del(m, 97, 44), 4);
    ax_msa_destroy(m);
}

/* Interleaved blocks, markup between sequence lines, lower case, both gap characters. Worked by
 * hand: query columns A C . D - E | F F -> kept A C D E F F. Row s: a C [g] D [E] E | F . ->
 * A C D E F -, deletions 0 0 1 1 0 0. */
static void test_interleaved(void) {
    static const char text[] =
        "# STOCKHOLM 1.0\n"
        "#=GF ID test\n"
        "\n"
        "q  AC.D-E\n"
        "#=GR q SS  ------\n"
        "s  aCgDEE\n"
        "#=GC SS_cons ......\n"
        "\n"
        "\n"
        "q  FF\n"
        "s  F.\n"
        "//\n"
        "# STOCKHOLM 1.0\n"          /* a second alignment is not read */
        "x  garbage here\n";
    ax_msa *m = NULL;
    CHECK_OK(ax_stockholm_parse(text, sizeof text - 1, "inter.sto", &m));
    if (m == NULL) return;
    CHECK_INT_EQ(m->num_rows, 2);
    CHECK_INT_EQ(m->num_cols, 6);
    CHECK(memcmp(m->residues, "ACDEFFACDEF-", 12) == 0);
    static const int32_t expected[12] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0};
    int mismatches = 0;
    for (int i = 0; i < 12; i++) mismatches += m->deletions[i] != expected[i];
    CHECK_INT_EQ(mismatches, 0);
    CHECK_STR_EQ(m->names[1], "s");
    ax_msa_destroy(m);
}

static void test_errors(void) {
    ax_msa *m = NULL;
    static const char no_end[] = "# STOCKHOLM 1.0\nq  ACDE\ns  AC-E\n";
    CHECK_STATUS(ax_stockholm_parse(no_end, sizeof no_end - 1, "noend.sto", &m), AX_ERR_FORMAT);
    CHECK(m == NULL);
    CHECK_CONTAINS(ax_last_error(), "noend.sto:3:");
    CHECK_CONTAINS(ax_last_error(), "missing '//'");

    static const char twice[] = "# STOCKHOLM 1.0\nq  ACDE\ns  AC-E\nq  ACDE\n//\n";
    CHECK_STATUS(ax_stockholm_parse(twice, sizeof twice - 1, "twice.sto", &m), AX_ERR_FORMAT);
    CHECK_CONTAINS(ax_last_error(), "twice.sto:4:1:");
    CHECK_CONTAINS(ax_last_error(), "'q' appears twice in one block");

    static const char ragged[] = "# STOCKHOLM 1.0\nq  ACDE\ns  AC-\n\nq  F\ns  F\n//\n";
    CHECK_STATUS(ax_stockholm_parse(ragged, sizeof ragged - 1, "ragged.sto", &m), AX_ERR_FORMAT);
    CHECK_CONTAINS(ax_last_error(), "ragged.sto:6:");
    CHECK_CONTAINS(ax_last_error(), "'s' has 4 aligned columns");

    static const char missing_block[] = "# STOCKHOLM 1.0\nq  ACDE\ns  AC-E\n\nq  F\n//\n";
    CHECK_STATUS(ax_stockholm_parse(missing_block, sizeof missing_block - 1, "mb.sto", &m), AX_ERR_FORMAT);
    CHECK_CONTAINS(ax_last_error(), "mb.sto:3:");

    static const char no_header[] = "q  ACDE\n//\n";
    CHECK_STATUS(ax_stockholm_parse(no_header, sizeof no_header - 1, "nh.sto", &m), AX_ERR_FORMAT);
    CHECK_CONTAINS(ax_last_error(), "nh.sto:1:1:");
    CHECK_CONTAINS(ax_last_error(), "STOCKHOLM");

    static const char three_fields[] = "# STOCKHOLM 1.0\nq  ACDE extra\n//\n";
    CHECK_STATUS(ax_stockholm_parse(three_fields, sizeof three_fields - 1, "tf.sto", &m), AX_ERR_FORMAT);
    CHECK_CONTAINS(ax_last_error(), "tf.sto:2:8:");

    static const char bad_char[] = "# STOCKHOLM 1.0\nq  AC*E\n//\n";
    CHECK_STATUS(ax_stockholm_parse(bad_char, sizeof bad_char - 1, "bc.sto", &m), AX_ERR_FORMAT);
    CHECK_CONTAINS(ax_last_error(), "bc.sto:2:6:");

    static const char only_name[] = "# STOCKHOLM 1.0\nq\n//\n";
    CHECK_STATUS(ax_stockholm_parse(only_name, sizeof only_name - 1, "on.sto", &m), AX_ERR_FORMAT);
    CHECK_CONTAINS(ax_last_error(), "on.sto:2:");

    static const char empty[] = "# STOCKHOLM 1.0\n//\n";
    CHECK_STATUS(ax_stockholm_parse(empty, sizeof empty - 1, "e.sto", &m), AX_ERR_FORMAT);
    CHECK_CONTAINS(ax_last_error(), "e.sto:2:");
    CHECK_CONTAINS(ax_last_error(), "no sequences");

    static const char all_gaps[] = "# STOCKHOLM 1.0\nq  ..--\ns  ACDE\n//\n";
    CHECK_STATUS(ax_stockholm_parse(all_gaps, sizeof all_gaps - 1, "ag.sto", &m), AX_ERR_FORMAT);
    CHECK_CONTAINS(ax_last_error(), "only gaps");

    CHECK_STATUS(ax_stockholm_parse("", 0, "zero.sto", &m), AX_ERR_FORMAT);
    CHECK_CONTAINS(ax_last_error(), "zero.sto:1:");
    CHECK_STATUS(ax_stockholm_read(DATA "/query.a3m", &m), AX_ERR_FORMAT);
    CHECK_CONTAINS(ax_last_error(), "query.a3m:1:1:");
    CHECK_STATUS(ax_stockholm_read(DATA "/missing.sto", &m), AX_ERR_IO);
    CHECK_STATUS(ax_stockholm_parse(NULL, 3, NULL, &m), AX_ERR_INVALID_ARGUMENT);
}

/* Markup lines are checked as HMMER's parser checks them. Accepted: #=GS lines before the
 * sequences they name (Pfam's layout), a #=GS line with an empty text, comments. */
static void test_markup_accepted(void) {
    static const char text[] =
        "# STOCKHOLM 1.0\n"
        "# a comment line\n"
        "#=GF ID  test\n"
        "#=GS s   AC P12345.1\n"
        "#=GS q   DE\n"
        "\n"
        "q  ACDE\n"
        "#=GR q SS HHHH\n"
        "s  AC-E\n"
        "#=GC SS_cons HHHH\n"
        "//\n";
    ax_msa *m = NULL;
    CHECK_OK(ax_stockholm_parse(text, sizeof text - 1, "markup.sto", &m));
    if (m == NULL) return;
    CHECK_INT_EQ(m->num_rows, 2);
    CHECK(memcmp(m->residues, "ACDEAC-E", 8) == 0);
    ax_msa_destroy(m);
}

/* Each refused markup line: the status, and a message naming the file, the line (and column where
 * one applies) and the reason. Line numbers are counted by hand in each text. */
static void test_markup_errors(void) {
    ax_msa *m = NULL;
    /* #=GS for a sequence that is not in the alignment (lines 3 and 5); the first is reported. */
    static const char gs_ghost[] = "# STOCKHOLM 1.0\n#=GS q AC P1\n#=GS ghost AC P2\nq  ACDE\n#=GS other DE x\n"
                                   "s  AC-E\n//\n";
    CHECK_STATUS(ax_stockholm_parse(gs_ghost, sizeof gs_ghost - 1, "gs.sto", &m), AX_ERR_FORMAT);
    CHECK(m == NULL);
    CHECK_CONTAINS(ax_last_error(), "gs.sto:3: ");
    CHECK_CONTAINS(ax_last_error(), "#=GS line names sequence 'ghost', which has no sequence lines");

    /* #=GR for a sequence that is not in the alignment (line 4). */
    static const char gr_ghost[] = "# STOCKHOLM 1.0\nq  ACDE\ns  AC-E\n#=GR x SS ....\n//\n";
    CHECK_STATUS(ax_stockholm_parse(gr_ghost, sizeof gr_ghost - 1, "gr.sto", &m), AX_ERR_FORMAT);
    CHECK_CONTAINS(ax_last_error(), "gr.sto:4: ");
    CHECK_CONTAINS(ax_last_error(), "#=GR line names sequence 'x'");

    /* #=GF without a tag (line 2; trailing blanks do not make a tag), without a value (line 3). */
    static const char gf_no_tag[] = "# STOCKHOLM 1.0\n#=GF   \nq  ACDE\n//\n";
    CHECK_STATUS(ax_stockholm_parse(gf_no_tag, sizeof gf_no_tag - 1, "gf.sto", &m), AX_ERR_FORMAT);
    CHECK_CONTAINS(ax_last_error(), "gf.sto:2:5: ");
    CHECK_CONTAINS(ax_last_error(), "#=GF line without a tag");
    static const char gf_no_value[] = "# STOCKHOLM 1.0\n#=GF ID fine\n#=GF AC\nq  ACDE\n//\n";
    CHECK_STATUS(ax_stockholm_parse(gf_no_value, sizeof gf_no_value - 1, "gf2.sto", &m), AX_ERR_FORMAT);
    CHECK_CONTAINS(ax_last_error(), "gf2.sto:3:8: ");
    CHECK_CONTAINS(ax_last_error(), "#=GF line without a value after its tag");

    /* Unknown markup (line 3): a misspelt kind, and one that is not Stockholm at all (line 2). */
    static const char gfx[] = "# STOCKHOLM 1.0\n#=GF ID ok\n#=GFX ID test\nq  ACDE\n//\n";
    CHECK_STATUS(ax_stockholm_parse(gfx, sizeof gfx - 1, "x.sto", &m), AX_ERR_FORMAT);
    CHECK_CONTAINS(ax_last_error(), "x.sto:3:1: ");
    CHECK_CONTAINS(ax_last_error(), "unknown markup '#=GFX'");
    static const char xx[] = "# STOCKHOLM 1.0\n#=XX whatever\nq  ACDE\n//\n";
    CHECK_STATUS(ax_stockholm_parse(xx, sizeof xx - 1, "xx.sto", &m), AX_ERR_FORMAT);
    CHECK_CONTAINS(ax_last_error(), "xx.sto:2:1: unknown markup '#=XX'");

    /* Missing fields of #=GS, #=GR and #=GC (each on line 3, after the sequence line). */
    static const char gs_no_tag[] = "# STOCKHOLM 1.0\nq  ACDE\n#=GS q\n//\n";
    CHECK_STATUS(ax_stockholm_parse(gs_no_tag, sizeof gs_no_tag - 1, "gs2.sto", &m), AX_ERR_FORMAT);
    CHECK_CONTAINS(ax_last_error(), "gs2.sto:3:7: #=GS line without a tag after the sequence name");
    static const char gr_no_annotation[] = "# STOCKHOLM 1.0\nq  ACDE\n#=GR q SS\n//\n";
    CHECK_STATUS(ax_stockholm_parse(gr_no_annotation, sizeof gr_no_annotation - 1, "gr2.sto", &m), AX_ERR_FORMAT);
    CHECK_CONTAINS(ax_last_error(), "gr2.sto:3:10: #=GR line without annotation after its tag");
    static const char gc_no_annotation[] = "# STOCKHOLM 1.0\nq  ACDE\n#=GC SS_cons\n//\n";
    CHECK_STATUS(ax_stockholm_parse(gc_no_annotation, sizeof gc_no_annotation - 1, "gc.sto", &m), AX_ERR_FORMAT);
    CHECK_CONTAINS(ax_last_error(), "gc.sto:3:13: #=GC line without annotation after its tag");
    CHECK(m == NULL);
}

/* Every prefix of globins4.sto that cuts before "//" is an error naming the file; none crash. */
static void test_truncated(void) {
    FILE *f = fopen(DATA "/globins4.sto", "rb");
    CHECK(f != NULL);
    if (f == NULL) return;
    char buf[2048];
    const size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    const char *end = strstr(buf, "\n//");
    CHECK(end != NULL);
    if (end == NULL) return;
    int wrong = 0;
    for (size_t cut = 0; cut <= (size_t)(end - buf) + 2; cut++) {
        ax_msa *m = NULL;
        const ax_status st = ax_stockholm_parse(buf, cut, "cut.sto", &m);
        wrong += st != AX_ERR_FORMAT || m != NULL || strstr(ax_last_error(), "cut.sto:") == NULL;
        ax_msa_destroy(m);
    }
    CHECK_INT_EQ(wrong, 0);
    ax_msa *m = NULL;
    CHECK_OK(ax_stockholm_parse(buf, len, "whole.sto", &m));
    ax_msa_destroy(m);
}

int main(void) {
    RUN(test_globins4);
    RUN(test_fn3);
    RUN(test_interleaved);
    RUN(test_errors);
    RUN(test_markup_accepted);
    RUN(test_markup_errors);
    RUN(test_truncated);
    return th_finish();
}
