/*
 * test_io_a3m.c — A3M parsing against values counted independently of Axial with awk, plus
 * hand-made cases for each rule and each error.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

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

/* Expected values for tests/data/query.a3m (one sequence line per record), computed with:
 *
 *   grep -c '^>' query.a3m                                  -> 59 records
 *   awk '/^>/{n++; next} {seq[n]=seq[n] $0} END{for(i=1;i<=n;i++){s=seq[i];
 *        m=gsub(/[A-Z-]/,"&",s); l=gsub(/[a-z]/,"&",s); d=gsub(/-/,"&",s); print i, m, l, d}}' query.a3m
 *                                                           -> every record has 431 match columns;
 *                                                              record 2: 50 lower-case, 49 '-'
 *   awk '/^>/{n++; next} {seq[n]=seq[n] $0} END{for(i=1;i<=n;i++){s=seq[i]; c=0; col=0; out="";
 *        for(k=1;k<=length(s);k++){ch=substr(s,k,1); if(ch ~ /[a-z]/){c++} else {
 *        if(c>0) out=out" "col":"c; c=0; col++}} print i, "trailing="c, out}}' query.a3m
 *                                                           -> per record "column:deletions" (0-based):
 *        record 2:  19:23 66:27
 *        record 58: 66:13 70:4 74:3 106:3 119:2 166:5 176:2 190:2 (sum 34), no trailing insertions
 *   tail -1 query.a3m | tr -cd '-' | wc -c                  -> 402 gaps in the last record
 *   sed -n 2p query.a3m | cut -c1-10                        -> MRRLRRLAHL (query)
 *   tail -1 query.a3m | cut -c1-10                          -> PRGLRRLLHL (last record) */
static void test_query_a3m(void) {
    ax_msa *m = NULL;
    CHECK_OK(ax_a3m_read(DATA "/query.a3m", &m));
    if (m == NULL) return;
    CHECK_INT_EQ(m->num_rows, 59);
    CHECK_INT_EQ(m->num_cols, 431);
    CHECK(memcmp(m->residues, "MRRLRRLAHL", 10) == 0);
    CHECK_INT_EQ(row_sum(m, 0), 0);
    CHECK_INT_EQ(row_gaps(m, 0), 0);
    CHECK_STR_EQ(m->names[0], "sp|Q5VUD6|FA69B_HUMAN Protein FAM69B OS=Homo sapiens GN=FAM69B PE=2 SV=3");
    CHECK(strncmp(m->names[1], "tr|Q4S137|Q4S137_TETNG Chromosome 1", 35) == 0);
    CHECK_INT_EQ(row_sum(m, 1), 50);
    CHECK_INT_EQ(row_gaps(m, 1), 49);
    CHECK_INT_EQ(m->deletions[1 * 431 + 19], 23);
    CHECK_INT_EQ(m->deletions[1 * 431 + 66], 27);
    CHECK_INT_EQ(m->deletions[1 * 431 + 18], 0);
    CHECK_INT_EQ(m->residues[1 * 431 + 18], 'Y');
    CHECK_INT_EQ(m->residues[1 * 431 + 19], 'L');
    CHECK_INT_EQ(row_sum(m, 57), 34);
    CHECK_INT_EQ(m->deletions[57 * 431 + 66], 13);
    CHECK_INT_EQ(m->deletions[57 * 431 + 190], 2);
    CHECK_INT_EQ(row_gaps(m, 58), 402);
    CHECK(memcmp(m->residues + 58 * 431, "PRGLRRLLHL", 10) == 0);
    CHECK(strncmp(m->names[58], "tr|Q4S2A6|Q4S2A6_TETNG", 22) == 0);
    int bad = 0;
    for (int64_t i = 0; i < m->num_rows * m->num_cols; i++) {
        const char c = m->residues[i];
        bad += !((c >= 'A' && c <= 'Z') || c == '-') || m->deletions[i] < 0;
    }
    CHECK_INT_EQ(bad, 0);
    ax_msa_destroy(m);
}

/* The rules, on a small alignment worked out by hand. */
static void test_rules(void) {
    static const char text[] =
        "#101\t1\n"                 /* ColabFold's header line */
        ">query desc\r\n"           /* CRLF tolerated, header kept whole */
        "ACD\n"
        "EF\n"                      /* multi-line record */
        "\n"
        ">ss_pred PSIPRED\n"        /* HH-suite annotation: skipped */
        "CCHHE\n"
        ">s1\n"
        "abA-Cx.D\n"                /* 2 ins before col 0; '.' ignored; x before col 3 */
        "E\n"
        ">aa_pred\n"
        "nothing to see\n"          /* would be an error if it were read */
        ">s2\n"
        "-----qq\n";                /* trailing insertions are not counted */
    ax_msa *m = NULL;
    CHECK_OK(ax_a3m_parse(text, sizeof text - 1, "rules.a3m", &m));
    if (m == NULL) return;
    CHECK_INT_EQ(m->num_rows, 3);
    CHECK_INT_EQ(m->num_cols, 5);
    CHECK_STR_EQ(m->names[0], "query desc");
    CHECK_STR_EQ(m->names[1], "s1");
    CHECK_STR_EQ(m->names[2], "s2");
    CHECK(memcmp(m->residues, "ACDEFA-CDE-----", 15) == 0);
    static const int32_t expected[15] = {0, 0, 0, 0, 0, 2, 0, 0, 1, 0, 0, 0, 0, 0, 0};
    int mismatches = 0;
    for (int i = 0; i < 15; i++) mismatches += m->deletions[i] != expected[i];
    CHECK_INT_EQ(mismatches, 0);
    ax_msa_destroy(m);

    /* An indented header is a header, as for AlphaFold's parse_a3m (it had been "unexpected character
     * 0x3e"). */
    static const char indented[] = ">q\nACD\n  >s\nA-D\n";
    m = NULL;
    CHECK_OK(ax_a3m_parse(indented, sizeof indented - 1, "indented.a3m", &m));
    CHECK(m != NULL && m->num_rows == 2);
    if (m != NULL && m->num_rows == 2) CHECK_STR_EQ(m->names[1], "s");
    ax_msa_destroy(m);

    /* An empty line first in a record, read from a file (whose rows have no memory reserved yet:
     * offsetting their NULL arrays was undefined behaviour, seen by UBSan). */
    char path[] = "/tmp/axial_a3m_XXXXXX";
    const int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0) return;
    static const char blank_first[] = ">q\n\nACD\n>s\n\nA-dD\n";
    CHECK(write(fd, blank_first, sizeof blank_first - 1) == (ssize_t)(sizeof blank_first - 1));
    close(fd);
    m = NULL;
    CHECK_OK(ax_a3m_read(path, &m));
    unlink(path);
    CHECK(m != NULL && m->num_rows == 2 && m->num_cols == 3);
    if (m != NULL && m->num_rows == 2) CHECK(memcmp(m->residues, "ACDA-D", 6) == 0 && m->deletions[5] == 1);
    ax_msa_destroy(m);
}

static void test_errors(void) {
    ax_msa *m = (ax_msa *)&m; /* must be reset to NULL on failure */
    static const char ragged[] = ">q\nACDE\n>s1\nACDE\n>s2 bad one\nAC-\n";
    CHECK_STATUS(ax_a3m_parse(ragged, sizeof ragged - 1, "ragged.a3m", &m), AX_ERR_FORMAT);
    CHECK(m == NULL);
    CHECK_CONTAINS(ax_last_error(), "ragged.a3m:5:");
    CHECK_CONTAINS(ax_last_error(), "s2 bad one");
    CHECK_CONTAINS(ax_last_error(), "3 match columns");
    CHECK_CONTAINS(ax_last_error(), "has 4");

    static const char bad_char[] = ">q\nAC*D\n";
    CHECK_STATUS(ax_a3m_parse(bad_char, sizeof bad_char - 1, "star.a3m", &m), AX_ERR_FORMAT);
    CHECK_CONTAINS(ax_last_error(), "star.a3m:2:3:");

    static const char no_header[] = "ACDE\n>q\nACDE\n";
    CHECK_STATUS(ax_a3m_parse(no_header, sizeof no_header - 1, "nohdr.a3m", &m), AX_ERR_FORMAT);
    CHECK_CONTAINS(ax_last_error(), "nohdr.a3m:1:1:");

    CHECK_STATUS(ax_a3m_parse("", 0, "empty.a3m", &m), AX_ERR_FORMAT);
    CHECK_CONTAINS(ax_last_error(), "empty.a3m:1:");
    CHECK_STATUS(ax_a3m_parse("#only\n>ss_pred\nCC\n", 18, "annot.a3m", &m), AX_ERR_FORMAT);
    CHECK_CONTAINS(ax_last_error(), "no sequences");

    /* aa_* is an annotation only after the query: a query so named is kept, not replaced by the
     * next record */
    static const char aa_query[] = ">aa_query\nACDE\n>hit\nAC-E\n>aa_track\nzz\n";
    CHECK_OK(ax_a3m_parse(aa_query, sizeof aa_query - 1, "aa.a3m", &m));
    if (m != NULL) {
        CHECK_INT_EQ(m->num_rows, 2);
        CHECK_STR_EQ(m->names[0], "aa_query");
        CHECK_STR_EQ(m->names[1], "hit");
        ax_msa_destroy(m);
        m = NULL;
    }

    static const char empty_query[] = ">q\nabc\n>s\nA\n";
    CHECK_STATUS(ax_a3m_parse(empty_query, sizeof empty_query - 1, "eq.a3m", &m), AX_ERR_FORMAT);
    CHECK_CONTAINS(ax_last_error(), "eq.a3m:1:1: query 'q' has no match columns");

    static const char binary[] = ">q\nAC\0DE\n";
    CHECK_STATUS(ax_a3m_parse(binary, sizeof binary - 1, "bin.a3m", &m), AX_ERR_FORMAT);
    CHECK_CONTAINS(ax_last_error(), "bin.a3m:2:3:");

    CHECK_STATUS(ax_a3m_parse(NULL, 5, "x", &m), AX_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ax_a3m_parse("", 0, "x", NULL), AX_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ax_a3m_read(NULL, &m), AX_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ax_a3m_read(DATA "/does-not-exist.a3m", &m), AX_ERR_IO);
    CHECK_CONTAINS(ax_last_error(), "does-not-exist.a3m");
    /* Another format is malformed A3M, not a crash. */
    CHECK_STATUS(ax_a3m_read(DATA "/globins4.sto", &m), AX_ERR_FORMAT);
    CHECK_CONTAINS(ax_last_error(), "globins4.sto:3:1:");
    ax_msa_destroy(NULL);
}

/* A truncated file: a record cut mid-line is ragged, and the message says where. */
static void test_truncated(void) {
    FILE *f = fopen(DATA "/query.a3m", "rb");
    CHECK(f != NULL);
    if (f == NULL) return;
    static char buf[40000];
    const size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    CHECK_INT_EQ(len, 32126);
    ax_msa *m = NULL;
    /* Cut in the middle of record 3's sequence (line 6). */
    const char *line6 = buf;
    for (int line = 1; line < 6; line++) line6 = strchr(line6, '\n') + 1;
    CHECK_STATUS(ax_a3m_parse(buf, (size_t)(line6 - buf) + 100, "cut.a3m", &m), AX_ERR_FORMAT);
    CHECK_CONTAINS(ax_last_error(), "cut.a3m:5:1:");
    CHECK_CONTAINS(ax_last_error(), "100 match columns");
}

int main(void) {
    RUN(test_query_a3m);
    RUN(test_rules);
    RUN(test_errors);
    RUN(test_truncated);
    return th_finish();
}
