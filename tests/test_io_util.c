/*
 * test_io_util.c — the parsers' building blocks: locale-free numbers, the line reader (plain,
 * gzip, truncated and corrupt gzip, CRLF, NUL bytes), the string map and the atomic output file.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <dirent.h>
#include <fcntl.h>
#include <locale.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "harness.h"
#include "io/line_reader.h"
#include "io/output_file.h"
#include "io/parse_number.h"
#include "core/strmap.h"

#define DATA AXIAL_TEST_DATA

static int parses(const char *text, double *out) { return ax_parse_double(text, strlen(text), out); }

static void test_numbers(void) {
    double v = -1.0;
    CHECK(parses("16.979", &v) && v == 16.979);
    CHECK(parses("-9.336", &v) && v == -9.336);
    CHECK(parses("+0.5", &v) && v == 0.5);
    CHECK(parses("1.8", &v) && v == 1.8);
    CHECK(parses("100", &v) && v == 100.0);
    CHECK(parses(".25", &v) && v == 0.25);
    CHECK(parses("7.", &v) && v == 7.0);
    CHECK(parses("1e3", &v) && v == 1000.0);
    CHECK(parses("2.5E-2", &v) && v == 0.025);
    CHECK(parses("0.000123", &v) && v == 0.000123);
    CHECK(parses("1.234(5)", &v) && v == 1.234); /* CIF standard uncertainty */
    CHECK(parses("123456789012345678901234", &v) && fabs(v - 1.2345678901234568e23) < 1e8);
    CHECK(parses("1e-500", &v) && v == 0.0);
    CHECK(!parses("1e500", &v));
    CHECK(!parses("", &v));
    CHECK(!parses("-", &v));
    CHECK(!parses(".", &v));
    CHECK(!parses("?", &v));
    CHECK(!parses("1.2.3", &v));
    CHECK(!parses(" 1", &v));
    CHECK(!parses("1e", &v));
    CHECK(!parses("1(2", &v));
    CHECK(!parses("1()", &v));
    CHECK(!parses("nan", &v));
    CHECK(!parses("inf", &v));
    CHECK(!parses("1,5", &v));
    /* The C locale's decimal point must not matter (skipped when no such locale is installed). */
    if (setlocale(LC_NUMERIC, "de_DE.UTF-8") != NULL) {
        CHECK(parses("2.25", &v) && v == 2.25);
        setlocale(LC_NUMERIC, "C");
    }
    int32_t i = 0;
    CHECK(ax_parse_int32("137", 3, &i) && i == 137);
    CHECK(ax_parse_int32("-5", 2, &i) && i == -5);
    CHECK(ax_parse_int32("2147483647", 10, &i) && i == INT32_MAX);
    CHECK(ax_parse_int32("-2147483648", 11, &i) && i == INT32_MIN);
    CHECK(!ax_parse_int32("2147483648", 10, &i));
    CHECK(!ax_parse_int32("99999999999999999999", 20, &i));
    CHECK(!ax_parse_int32("12a", 3, &i));
    CHECK(!ax_parse_int32("", 0, &i));
    CHECK(!ax_parse_int32("+", 1, &i));
    CHECK_STR_EQ(ax_number_refusal("99999999999", 11, 1), "is out of the 32-bit integer range");
    CHECK_STR_EQ(ax_number_refusal("-3000000000", 11, 1), "is out of the 32-bit integer range");
    CHECK_STR_EQ(ax_number_refusal("12a", 3, 1), "is not an integer");
    CHECK_STR_EQ(ax_number_refusal("-", 1, 1), "is not an integer");
    CHECK_STR_EQ(ax_number_refusal("1e400", 5, 0), "is out of range");
    CHECK_STR_EQ(ax_number_refusal("-2.5e309", 8, 0), "is out of range");
    CHECK_STR_EQ(ax_number_refusal("1e4x", 4, 0), "is not a number");
    const char *text = "  ab c \t";
    CHECK_INT_EQ(ax_trim(&text, strlen(text)), 4);
    CHECK(strncmp(text, "ab c", 4) == 0);
}

/* Reads all lines of a reader into one '|'-joined string. */
static ax_status join_lines(ax_line_reader *r, char *out, size_t cap) {
    out[0] = '\0';
    for (;;) {
        int has = 0;
        const ax_status st = ax_line_reader_next(r, &has);
        if (st != AX_OK || !has) return st;
        strncat(out, r->line, cap - strlen(out) - 2);
        strcat(out, "|");
    }
}

static void test_line_reader_memory(void) {
    ax_line_reader r;
    char joined[256];
    static const char text[] = "a\r\nbb\n\nccc";
    ax_line_reader_open_memory(&r, text, sizeof text - 1, "m");
    CHECK_OK(join_lines(&r, joined, sizeof joined));
    CHECK_STR_EQ(joined, "a|bb||ccc|");
    CHECK_INT_EQ(r.line_no, 4);
    ax_line_reader_close(&r);

    ax_line_reader_open_memory(&r, "x\n", 2, NULL);
    CHECK_OK(join_lines(&r, joined, sizeof joined));
    CHECK_STR_EQ(joined, "x|");
    CHECK_STR_EQ(r.source, "<memory>");
    ax_line_reader_close(&r);

    /* A lone CR ends a line too (classic Mac OS files), as Python's splitlines has it:
     * "a\rb\r\nc\r\rd\r".splitlines() == ['a', 'b', 'c', '', 'd']. */
    static const char mac[] = "a\rb\r\nc\r\rd\r";
    ax_line_reader_open_memory(&r, mac, sizeof mac - 1, "mac");
    CHECK_OK(join_lines(&r, joined, sizeof joined));
    CHECK_STR_EQ(joined, "a|b|c||d|");
    CHECK_INT_EQ(r.line_no, 5);
    ax_line_reader_close(&r);

    static const char nul[] = "ok\nab\0c\n";
    ax_line_reader_open_memory(&r, nul, sizeof nul - 1, "nul.txt");
    CHECK_STATUS(join_lines(&r, joined, sizeof joined), AX_ERR_FORMAT);
    CHECK_STR_EQ(ax_last_error(), "nul.txt:2:3: NUL byte: this is not a text file");
    ax_line_reader_close(&r);

    static const char colabfold[] = ">101\nMK\n>x\nMK\n\0\n>102\nAC\n";
    ax_line_reader_open_memory(&r, colabfold, sizeof colabfold - 1, "multi.a3m");
    CHECK_STATUS(join_lines(&r, joined, sizeof joined), AX_ERR_FORMAT);
    CHECK_STR_EQ(ax_last_error(), "multi.a3m:5:1: NUL byte: this is not a text file (a NUL line separates the "
                                  "queries of a ColabFold multi-query A3M: give each query's MSA in a file of its own)");
    ax_line_reader_close(&r);

    CHECK_INT_EQ(ax_io_fail(AX_ERR_FORMAT, "f", 7, 0, "why %d", 1), AX_ERR_FORMAT);
    CHECK_STR_EQ(ax_last_error(), "f:7: why 1");
}

/* Writes `len` bytes of gzip-compressed `text` to a new temporary file; returns its path in buf. */
static size_t write_gzip(const char *text, size_t len, char *path) {
    strcpy(path, "/tmp/axial_gz_XXXXXX");
    const int fd = mkstemp(path);
    if (fd < 0) return 0;
    gzFile gz = gzdopen(fd, "wb");
    if (gz == NULL) return 0;
    gzwrite(gz, text, (unsigned)len);
    gzclose(gz);
    FILE *f = fopen(path, "rb");
    if (f == NULL) return 0;
    fseek(f, 0, SEEK_END);
    const long size = ftell(f);
    fclose(f);
    return size > 0 ? (size_t)size : 0;
}

static void test_line_reader_files(void) {
    ax_line_reader r;
    /* 1cbs.cif.gz decompresses transparently: first line "data_1CBS" (zcat 1cbs.cif.gz | head -1). */
    CHECK_OK(ax_line_reader_open_path(&r, DATA "/1cbs.cif.gz"));
    int has = 0;
    CHECK_OK(ax_line_reader_next(&r, &has));
    CHECK_INT_EQ(has, 1);
    CHECK_STR_EQ(r.line, "data_1CBS");
    int64_t lines = 1;
    while (ax_line_reader_next(&r, &has) == AX_OK && has) lines++;
    CHECK_INT_EQ(lines, 2324); /* zcat 1cbs.cif.gz | wc -l */
    ax_line_reader_close(&r);

    /* A line longer than the 64 KiB read chunk, from gzip. */
    static char big[200001];
    memset(big, 'A', 200000);
    big[150000] = '\n';
    char path[64];
    const size_t packed = write_gzip(big, 200000, path);
    CHECK(packed > 0);
    CHECK_OK(ax_line_reader_open_path(&r, path));
    CHECK_OK(ax_line_reader_next(&r, &has));
    CHECK_INT_EQ(r.line_len, 150000);
    CHECK_OK(ax_line_reader_next(&r, &has));
    CHECK_INT_EQ(has, 1);
    CHECK_INT_EQ(r.line_len, 49999);
    CHECK_OK(ax_line_reader_next(&r, &has));
    CHECK_INT_EQ(has, 0);
    ax_line_reader_close(&r);

    /* A CRLF whose CR ends one read chunk and whose LF starts the next is one line end. */
    char path2[64];
    const int64_t chunk = (int64_t)AX_LINE_READER_CHUNK;
    static char crlf[(size_t)AX_LINE_READER_CHUNK + 7];
    memset(crlf, 'A', sizeof crlf);
    crlf[chunk - 1] = '\r', crlf[chunk] = '\n', crlf[chunk + 5] = '\r', crlf[chunk + 6] = '\r';
    CHECK(write_gzip(crlf, (size_t)chunk + 7, path2) > 0);
    CHECK_OK(ax_line_reader_open_path(&r, path2));
    int64_t lens[4] = {-1, -1, -1, -1}, n_lines = 0;
    for (;;) {
        CHECK_OK(ax_line_reader_next(&r, &has));
        if (!has || n_lines == 4) break;
        lens[n_lines++] = (int64_t)r.line_len;
    }
    CHECK_INT_EQ(n_lines, 3);
    CHECK_INT_EQ(lens[0], chunk - 1);
    CHECK_INT_EQ(lens[1], 4);
    CHECK_INT_EQ(lens[2], 0);
    ax_line_reader_close(&r);
    remove(path2);

    /* Truncated gzip: the data read so far, then AX_ERR_FORMAT naming the file. */
    CHECK(truncate(path, (off_t)(packed / 2)) == 0);
    CHECK_OK(ax_line_reader_open_path(&r, path));
    ax_status st = AX_OK;
    do st = ax_line_reader_next(&r, &has);
    while (st == AX_OK && has);
    CHECK_STATUS(st, AX_ERR_FORMAT);
    CHECK_CONTAINS(ax_last_error(), path);
    CHECK_CONTAINS(ax_last_error(), "gzip");
    ax_line_reader_close(&r);

    /* Corrupt gzip: a valid header followed by garbage. */
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f != NULL) {
        static const unsigned char bad[] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff, 0xff, 0xff, 0x00, 0x12};
        fwrite(bad, 1, sizeof bad, f);
        fclose(f);
    }
    CHECK_OK(ax_line_reader_open_path(&r, path));
    st = ax_line_reader_next(&r, &has);
    CHECK_STATUS(st, AX_ERR_FORMAT);
    CHECK_CONTAINS(ax_last_error(), "corrupt gzip");
    ax_line_reader_close(&r);
    remove(path);

    CHECK_STATUS(ax_line_reader_open_path(&r, "/nonexistent/dir/file"), AX_ERR_IO);
    CHECK_CONTAINS(ax_last_error(), "/nonexistent/dir/file: cannot open: ");
    ax_line_reader_close(&r); /* harmless after a failed open */
}

static void test_strmap(void) {
    ax_strmap m;
    memset(&m, 0, sizeof m);
    int64_t v = -1;
    CHECK(!ax_strmap_find(&m, "a", 1, &v));
    char key[16];
    int failed_adds = 0;
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        failed_adds += ax_strmap_add(&m, key, strlen(key), i * 3) != AX_OK;
    }
    CHECK_INT_EQ(failed_adds, 0);
    CHECK_OK(ax_strmap_add(&m, "", 0, 77));
    int wrong = 0;
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        wrong += !ax_strmap_find(&m, key, strlen(key), &v) || v != i * 3;
    }
    CHECK_INT_EQ(wrong, 0);
    CHECK(ax_strmap_find(&m, "", 0, &v) && v == 77);
    CHECK(!ax_strmap_find(&m, "k1000", 5, &v));
    CHECK(!ax_strmap_find(&m, "k1", 1, &v)); /* "k", a prefix of stored keys */
    CHECK_INT_EQ(m.count, 1001);
    CHECK_OK(ax_strmap_put(&m, "k7", 2, -5)); /* replaces */
    CHECK_OK(ax_strmap_put(&m, "new", 3, 9)); /* adds */
    CHECK(ax_strmap_find(&m, "k7", 2, &v) && v == -5);
    CHECK(ax_strmap_find(&m, "new", 3, &v) && v == 9);
    CHECK_INT_EQ(m.count, 1002);
    ax_strmap_free(&m);
    CHECK_INT_EQ(m.count, 0);
}

/* FNV-1a, the map's hash before it was keyed: the low bits of its state depend only on the low bits
 * of the state before and on the bytes, which lets a file choose colliding names. */
static uint64_t fnv1a_step(uint64_t h, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
    return h;
}

/* 4096 names that share the low 16 bits of their FNV-1a hash (12 positions, each one of two
 * 3-character blocks that collide there from the common state): under FNV-1a every one had the same
 * home slot, so the table filled as one run (4095 slots from home at the end: quadratic work). With
 * the keyed hash no key may sit far from its home slot. */
static void test_strmap_chosen_collisions(void) {
    static int32_t first_block[1 << 16]; /* low 16 bits -> the first block giving them, or -1 */
    char blocks[12][2][3];
    uint64_t state = 0xcbf29ce484222325ull;
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    for (int pos = 0; pos < 12; pos++) {
        for (int i = 0; i < (1 << 16); i++) first_block[i] = -1;
        int found = 0;
        for (int i = 0; i < 36 * 36 * 36 && !found; i++) {
            const char b[3] = {alphabet[i / 1296], alphabet[i / 36 % 36], alphabet[i % 36]};
            const uint16_t low = (uint16_t)fnv1a_step(state, b, 3);
            if (first_block[low] < 0) {
                first_block[low] = i;
                continue;
            }
            const int j = first_block[low];
            const char other[3] = {alphabet[j / 1296], alphabet[j / 36 % 36], alphabet[j % 36]};
            memcpy(blocks[pos][0], other, 3);
            memcpy(blocks[pos][1], b, 3);
            found = 1;
        }
        CHECK(found);
        state = fnv1a_step(state, blocks[pos][0], 3);
    }
    ax_strmap m;
    memset(&m, 0, sizeof m);
    char key[36];
    uint16_t low = 0;
    int same_low = 1, failed = 0;
    for (int k = 0; k < 4096; k++) {
        for (int pos = 0; pos < 12; pos++) memcpy(key + 3 * pos, blocks[pos][(k >> pos) & 1], 3);
        const uint16_t h = (uint16_t)fnv1a_step(0xcbf29ce484222325ull, key, sizeof key);
        if (k == 0) low = h;
        same_low &= h == low;
        failed += ax_strmap_add(&m, key, sizeof key, k) != AX_OK;
    }
    CHECK(same_low); /* the construction works: FNV-1a would put them all in one slot */
    CHECK_INT_EQ(failed, 0);
    CHECK_INT_EQ(m.count, 4096);
    int64_t worst = 0;
    const int64_t mask = m.num_slots - 1;
    for (int64_t i = 0; i < m.num_slots; i++) {
        if (m.slots[i].key_offset < 0) continue;
        const int64_t from_home = (i - (int64_t)(m.slots[i].hash & (uint64_t)mask)) & mask;
        if (from_home > worst) worst = from_home;
    }
    if (worst >= 200) TH_FAIL("a key sits %lld slots from its home slot (chosen collisions)", (long long)worst);
    th_checks++;
    ax_strmap_free(&m);
}

/* Entries of a directory (without . and ..), temporaries included. */
static int entries(const char *dir) {
    DIR *d = opendir(dir);
    if (d == NULL) return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static int file_holds(const char *path, const char *text) {
    char buf[64] = {0};
    FILE *f = fopen(path, "rb");
    if (f == NULL) return 0;
    const size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    return n == strlen(text) && memcmp(buf, text, n) == 0;
}

static void put(int fd, const char *text) { CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text)); }

/* ax_output_*: the temporary is unnamed where the file system allows (nothing in the directory until
 * the commit) or named on request; either way the commit replaces the target whole, the discard
 * leaves it as it was, and a zeroed file's discard closes nothing. */
static void test_output_file(void) {
    char dir[] = "/tmp/axial-output-XXXXXX", path[64];
    if (mkdtemp(dir) == NULL) {
        CHECK(0);
        return;
    }
    snprintf(path, sizeof path, "%s/out.bin", dir);

    ax_output_file out;
    CHECK_OK(ax_output_begin(path, 0, &out));
    if (out.named && th_partial_skip("no unnamed temporaries (O_TMPFILE) on /tmp here")) {
        ax_output_discard(&out);
    } else {
        CHECK_INT_EQ(entries(dir), 0); /* no name until the commit: a writer killed now leaves nothing */
        put(out.fd, "first");
        CHECK_OK(ax_output_commit(&out, path));
        CHECK(file_holds(path, "first"));
        CHECK_INT_EQ(entries(dir), 1);
        CHECK(out.temp == NULL && out.target == NULL && !out.named && out.fd == -1);

        CHECK_OK(ax_output_begin(path, 0, &out));
        put(out.fd, "discarded");
        ax_output_discard(&out);
        CHECK(file_holds(path, "first"));
        CHECK_INT_EQ(entries(dir), 1);
    }

    CHECK_OK(ax_output_begin(path, AX_OUTPUT_NAMED, &out));
    CHECK(out.named && strncmp(out.temp, dir, strlen(dir)) == 0 && out.temp[strlen(dir) + 1] == '.');
    struct stat made;
    CHECK(out.temp != NULL && stat(out.temp, &made) == 0 && S_ISREG(made.st_mode));
    put(out.fd, "named");
    CHECK_OK(ax_output_commit(&out, path));
    CHECK(file_holds(path, "named"));
    CHECK_INT_EQ(entries(dir), 1);

    CHECK_OK(ax_output_begin(path, AX_OUTPUT_NAMED, &out));
    put(out.fd, "discarded");
    ax_output_discard(&out);
    CHECK(file_holds(path, "named"));
    CHECK_INT_EQ(entries(dir), 1);

    /* A zeroed file (as a store opened for reading holds) owns no descriptor: fd 0 stays open. */
    const int spare = open("/dev/null", O_RDONLY);
    const int saved = dup(0);
    CHECK(spare >= 0 && dup2(spare, 0) == 0);
    ax_output_file zeroed;
    memset(&zeroed, 0, sizeof zeroed);
    ax_output_discard(&zeroed);
    CHECK(fcntl(0, F_GETFD) != -1);
    if (saved >= 0) dup2(saved, 0);
    else close(0);
    if (saved >= 0) close(saved);
    if (spare >= 0) close(spare);

    /* A FIFO (or device) as the target is refused before anything is made: the commit's rename
     * would have replaced it with a regular file. */
    char fifo[80];
    snprintf(fifo, sizeof fifo, "%s/pipe", dir);
    CHECK(mkfifo(fifo, 0600) == 0);
    CHECK_STATUS(ax_output_begin(fifo, 0, &out), AX_ERR_IO);
    CHECK_CONTAINS(ax_last_error(), "FIFO");
    struct stat still;
    CHECK(stat(fifo, &still) == 0 && S_ISFIFO(still.st_mode));
    CHECK_INT_EQ(entries(dir), 2);
    unlink(fifo);

    unlink(path);
    CHECK(rmdir(dir) == 0);
}

int main(void) {
    RUN(test_numbers);
    RUN(test_line_reader_memory);
    RUN(test_line_reader_files);
    RUN(test_strmap);
    RUN(test_strmap_chosen_collisions);
    RUN(test_output_file);
    return th_finish();
}
