/*
 * test_io_fasta.c — FASTA records, all at once and one at a time, plain and gzip files.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <unistd.h>
#include <zlib.h>

#include "axial/io.h"
#include "harness.h"

#define DATA AXIAL_TEST_DATA

static void test_records(void) {
    static const char text[] =
        "\n"
        ">sp|P69905|HBA_HUMAN Hemoglobin subunit alpha  \r\n"   /* trailing blanks and CR dropped */
        "MVLSPADKTN\r\n"
        "VKAAWGKVGA \n"                                          /* blanks inside lines dropped */
        "\n"
        "HAGEY\n"
        ">empty\n"
        ">\n"                                                    /* empty header */
        "ac-*XB\n";                                              /* no final newline needed below */
    ax_fasta *f = NULL;
    CHECK_OK(ax_fasta_parse(text, sizeof text - 1, "t.fa", &f));
    if (f == NULL) return;
    CHECK_INT_EQ(f->num_records, 3);
    CHECK_STR_EQ(f->headers[0], "sp|P69905|HBA_HUMAN Hemoglobin subunit alpha");
    CHECK_STR_EQ(f->sequences[0], "MVLSPADKTNVKAAWGKVGAHAGEY");
    CHECK_INT_EQ(f->lengths[0], 25);
    CHECK_STR_EQ(f->headers[1], "empty");
    CHECK_STR_EQ(f->sequences[1], "");
    CHECK_INT_EQ(f->lengths[1], 0);
    CHECK_STR_EQ(f->headers[2], "");
    CHECK_STR_EQ(f->sequences[2], "ac-*XB");
    ax_fasta_destroy(f);

    static const char no_newline[] = ">a\nAC";
    CHECK_OK(ax_fasta_parse(no_newline, sizeof no_newline - 1, NULL, &f));
    if (f != NULL) {
        CHECK_INT_EQ(f->num_records, 1);
        CHECK_STR_EQ(f->sequences[0], "AC");
    }
    ax_fasta_destroy(f);

    CHECK_OK(ax_fasta_parse("", 0, NULL, &f));
    if (f != NULL) CHECK_INT_EQ(f->num_records, 0);
    ax_fasta_destroy(f);

    /* Vertical tab, form feed and a lone CR inside sequence lines are whitespace, as for AlphaFold's
     * parse_fasta (Python's splitlines() breaks lines there and strip() drops the rest): "ACDEF". */
    static const char odd_space[] = ">a\nAC\vD\fE\rF \t\n";
    CHECK_OK(ax_fasta_parse(odd_space, sizeof odd_space - 1, NULL, &f));
    if (f != NULL && f->num_records == 1) CHECK_STR_EQ(f->sequences[0], "ACDEF");
    ax_fasta_destroy(f);
    /* A UTF-8 byte-order mark before the first header is skipped (it had failed at 1:1). */
    static const char bom[] = "\xEF\xBB\xBF>q\nAC\n";
    f = NULL;
    CHECK_OK(ax_fasta_parse(bom, sizeof bom - 1, NULL, &f));
    if (f != NULL && f->num_records == 1) CHECK_STR_EQ(f->headers[0], "q");
    ax_fasta_destroy(f);

    /* Classic Mac OS line ends (a lone CR): two records, as AlphaFold's splitlines reads them (it had
     * been one record whose header was the whole file). */
    static const char mac[] = ">q desc\rACDE\rFGH\r>s\rKL\r";
    f = NULL;
    CHECK_OK(ax_fasta_parse(mac, sizeof mac - 1, NULL, &f));
    CHECK(f != NULL && f->num_records == 2);
    if (f != NULL && f->num_records == 2) {
        CHECK_STR_EQ(f->headers[0], "q desc");
        CHECK_STR_EQ(f->sequences[0], "ACDEFGH");
        CHECK_STR_EQ(f->headers[1], "s");
        CHECK_STR_EQ(f->sequences[1], "KL");
    }
    ax_fasta_destroy(f);

    /* A header indented with blanks is a header, as for AlphaFold's parse_fasta (which strips each
     * line first): two records, not "AC>bdescGG". Its trailing blanks go, those after '>' stay. */
    static const char indented[] = ">a\nAC\n  \t> b desc \nGG\n";
    f = NULL;
    CHECK_OK(ax_fasta_parse(indented, sizeof indented - 1, NULL, &f));
    CHECK(f != NULL && f->num_records == 2);
    if (f != NULL && f->num_records == 2) {
        CHECK_STR_EQ(f->sequences[0], "AC");
        CHECK_STR_EQ(f->headers[1], " b desc");
        CHECK_STR_EQ(f->sequences[1], "GG");
    }
    ax_fasta_destroy(f);
}

static void test_reader(void) {
    static const char text[] = ">one\nAAA\nCC\n>two\nG\n";
    ax_fasta_reader *r = NULL;
    CHECK_OK(ax_fasta_reader_open_memory(text, sizeof text - 1, "r.fa", &r));
    ax_fasta_record rec;
    int has = 0;
    CHECK_OK(ax_fasta_reader_next(r, &rec, &has));
    CHECK_INT_EQ(has, 1);
    CHECK_STR_EQ(rec.header, "one");
    CHECK_STR_EQ(rec.sequence, "AAACC");
    CHECK_INT_EQ(rec.length, 5);
    CHECK_OK(ax_fasta_reader_next(r, &rec, &has));
    CHECK_INT_EQ(has, 1);
    CHECK_STR_EQ(rec.header, "two");
    CHECK_STR_EQ(rec.sequence, "G");
    CHECK_OK(ax_fasta_reader_next(r, &rec, &has));
    CHECK_INT_EQ(has, 0);
    CHECK_OK(ax_fasta_reader_next(r, &rec, &has)); /* stays at the end */
    CHECK_INT_EQ(has, 0);
    ax_fasta_reader_close(r);
    ax_fasta_reader_close(NULL);
}

static void test_errors(void) {
    ax_fasta *f = NULL;
    static const char before[] = "\nMKV\n>a\nMKV\n";
    CHECK_STATUS(ax_fasta_parse(before, sizeof before - 1, "before.fa", &f), AX_ERR_FORMAT);
    CHECK(f == NULL);
    CHECK_CONTAINS(ax_last_error(), "before.fa:2:1: sequence data before the first '>' header");
    static const char control[] = ">a\nMK\x01V\n";
    CHECK_STATUS(ax_fasta_parse(control, sizeof control - 1, "ctl.fa", &f), AX_ERR_FORMAT);
    CHECK_CONTAINS(ax_last_error(), "ctl.fa:2:3:");
    static const char high[] = ">a\nMK\n\xc3\xa9\n";
    CHECK_STATUS(ax_fasta_parse(high, sizeof high - 1, "hi.fa", &f), AX_ERR_FORMAT);
    CHECK_CONTAINS(ax_last_error(), "hi.fa:3:1:");
    static const char nul[] = ">a\nMK\0V\n";
    CHECK_STATUS(ax_fasta_parse(nul, sizeof nul - 1, "nul.fa", &f), AX_ERR_FORMAT);
    CHECK_CONTAINS(ax_last_error(), "nul.fa:2:3: NUL byte");

    ax_fasta_reader *r = NULL;
    CHECK_OK(ax_fasta_reader_open_memory(control, sizeof control - 1, "ctl.fa", &r));
    ax_fasta_record rec;
    int has = 1;
    CHECK_STATUS(ax_fasta_reader_next(r, &rec, &has), AX_ERR_FORMAT);
    CHECK_INT_EQ(has, 0);
    CHECK_STATUS(ax_fasta_reader_next(r, &rec, &has), AX_ERR_INVALID_ARGUMENT); /* only close now */
    ax_fasta_reader_close(r);
    CHECK_STATUS(ax_fasta_read(DATA "/nope.fa", &f), AX_ERR_IO);
    CHECK_STATUS(ax_fasta_read(NULL, &f), AX_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ax_fasta_reader_open_memory(NULL, 1, NULL, &r), AX_ERR_INVALID_ARGUMENT);
    CHECK(r == NULL);
}

/* The same records read from a gzip file and from a plain file. */
static void test_files(void) {
    static const char text[] = ">x first\nMKVL\nAAGG\n>y\nPP\n";
    char plain[] = "/tmp/axial_fasta_XXXXXX";
    char packed[] = "/tmp/axial_fasta_gz_XXXXXX";
    const int plain_fd = mkstemp(plain);
    const int packed_fd = mkstemp(packed);
    CHECK(plain_fd >= 0 && packed_fd >= 0);
    if (plain_fd < 0 || packed_fd < 0) return;
    CHECK_INT_EQ(write(plain_fd, text, sizeof text - 1), (long long)(sizeof text - 1));
    close(plain_fd);
    gzFile gz = gzdopen(packed_fd, "wb");
    CHECK(gz != NULL);
    if (gz == NULL) return;
    CHECK_INT_EQ(gzwrite(gz, text, (unsigned)(sizeof text - 1)), (long long)(sizeof text - 1));
    gzclose(gz);
    const char *paths[2] = {plain, packed};
    for (int i = 0; i < 2; i++) {
        ax_fasta *f = NULL;
        CHECK_OK(ax_fasta_read(paths[i], &f));
        if (f == NULL) continue;
        CHECK_INT_EQ(f->num_records, 2);
        CHECK_STR_EQ(f->headers[0], "x first");
        CHECK_STR_EQ(f->sequences[0], "MKVLAAGG");
        CHECK_STR_EQ(f->sequences[1], "PP");
        ax_fasta_destroy(f);
    }
    /* A directory opens but cannot be read: an OS error, reported as AX_ERR_IO. */
    ax_fasta *f = NULL;
    CHECK_STATUS(ax_fasta_read("/tmp", &f), AX_ERR_IO);
    CHECK_CONTAINS(ax_last_error(), "/tmp:1:");
    remove(plain);
    remove(packed);
}

int main(void) {
    RUN(test_records);
    RUN(test_reader);
    RUN(test_errors);
    RUN(test_files);
    return th_finish();
}
