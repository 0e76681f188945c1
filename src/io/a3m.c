/*
 * a3m.c — A3M alignments (HHblits, ColabFold) to the AlphaFold MSA representation.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

#include "axial/io.h"
#include "core/internal.h"
#include "core/grow.h"
#include "io/line_reader.h"
#include "io/msa_builder.h"

typedef struct a3m_state {
    ax_line_reader lr;
    ax_msa_builder msa;
    int in_record;          /* a header was read and its record is being collected */
    int skipping;           /* the current record is an HH-suite annotation, not a sequence */
    char *header;           /* current record's header, without '>' */
    int64_t header_cap;
    size_t header_len;
    int64_t header_line;
    int64_t row_len;        /* match columns of the current record so far (written into s->msa's open row) */
    int64_t pending_insertions; /* lower-case letters since the last match column */
} a3m_state;

/* HH-suite puts predicted/observed secondary structure and similar tracks into A3M files as
 * records named ss_pred, ss_conf, ss_dssp, sa_dssp (before the query, too) and aa_*; they are not
 * sequences. An aa_* name counts as one only after the query: a query that happens to be called
 * "aa_something" is kept (it had been dropped, and the next record taken for the query). */
static int is_annotation(const char *header, int have_query) {
    static const char *const exact[] = {"ss_pred", "ss_conf", "ss_dssp", "sa_dssp"};
    size_t word = strcspn(header, " \t");
    for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++)
        if (word == strlen(exact[i]) && memcmp(header, exact[i], word) == 0) return 1;
    return have_query && strncmp(header, "aa_", 3) == 0;
}

/* Ends the current record: the first one fixes the column count, the rest must match it. */
static ax_status finish_record(a3m_state *s) {
    if (!s->in_record || s->skipping) return AX_OK;
    if (s->msa.num_rows == 0 && s->row_len == 0)
        return ax_io_fail(AX_ERR_FORMAT, s->lr.source, s->header_line, 1,
                          "query '%s' has no match columns", ax_quote(s->header).text);
    if (s->msa.num_rows > 0 && s->row_len != s->msa.num_cols)
        return ax_io_fail(AX_ERR_FORMAT, s->lr.source, s->header_line, 1,
                          "sequence '%s' has %lld match columns but the query has %lld", ax_quote(s->header).text,
                          (long long)s->row_len, (long long)s->msa.num_cols);
    return ax_msa_builder_commit_row(&s->msa, s->header, s->header_len, s->row_len);
}

/* The header line's text after its '>' (at `at`), without trailing blanks. */
static ax_status start_record(a3m_state *s, size_t at) {
    const char *text = s->lr.line + at + 1;
    size_t len = s->lr.line_len - at - 1;
    while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t' || text[len - 1] == '\r')) len--;
    AX_CHECK(ax_grow((void **)&s->header, &s->header_cap, (int64_t)len + 1, 1));
    memcpy(s->header, text, len);
    s->header[len] = '\0';
    s->header_len = len;
    s->header_line = s->lr.line_no;
    s->in_record = 1;
    s->skipping = is_annotation(s->header, s->msa.num_rows > 0);
    s->row_len = 0;
    s->pending_insertions = 0;
    return AX_OK;
}

/* What each byte is in a sequence line: a match column (upper case, '-'), an insertion (lower
 * case), ignored ('.' marks gaps in insert columns, A2M-style; blanks), or not allowed. */
enum { A3M_SKIP = 0, A3M_MATCH = 1, A3M_INSERT = 2, A3M_BAD = 4 };

typedef struct a3m_kinds {
    uint8_t of[256];
} a3m_kinds;

static a3m_kinds make_kinds(void) {
    a3m_kinds k;
    for (int c = 0; c < 256; c++) {
        uint8_t v = A3M_BAD;
        if ((c >= 'A' && c <= 'Z') || c == '-') v = A3M_MATCH;
        else if (c >= 'a' && c <= 'z') v = A3M_INSERT;
        else if (c == '.' || c == ' ' || c == '\t' || c == '\r') v = A3M_SKIP;
        k.of[c] = v;
    }
    return k;
}

static ax_status add_sequence_line(a3m_state *s, const a3m_kinds *kinds) {
    const char *line = s->lr.line;
    const size_t n = s->lr.line_len;
    if (n == 0) return AX_OK; /* nothing to add (and the row's arrays may not exist yet) */
    /* A line adds at most one column per character: make room once, not per character. */
    AX_CHECK(ax_msa_builder_row_room(&s->msa, s->row_len + (int64_t)n));
    const int64_t start = ax_msa_builder_row_start(&s->msa);
    char *restrict residues = s->msa.residues + start;
    int32_t *restrict deletions = s->msa.deletions + start;
    int64_t row_len = s->row_len, pending = s->pending_insertions;
    unsigned bad = 0;
    /* Branch-free: every byte is stored at the next column, and only a match column advances past
     * it. Insertions come at random places in real alignments, so branches on them mispredict. */
    for (size_t i = 0; i < n; i++) {
        const char c = line[i];
        const unsigned kind = kinds->of[(unsigned char)c];
        const int64_t match = kind & A3M_MATCH;
        residues[row_len] = c;
        deletions[row_len] = pending > INT32_MAX ? INT32_MAX : (int32_t)pending;
        row_len += match;
        pending = (pending + ((kind >> 1) & 1)) & (match - 1);
        bad |= kind;
    }
    if (bad & A3M_BAD) {
        for (size_t i = 0; i < n; i++)
            if (kinds->of[(unsigned char)line[i]] == A3M_BAD)
                return ax_line_fail(&s->lr, AX_ERR_FORMAT, (int64_t)i + 1,
                                    "unexpected character 0x%02x in sequence '%s'", (unsigned char)line[i],
                                    ax_quote(s->header).text);
    }
    s->row_len = row_len;
    s->pending_insertions = pending;
    return AX_OK;
}

static int is_blank(const char *line, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r') return 0;
    return 1;
}

static ax_status parse_lines(a3m_state *s) {
    const a3m_kinds kinds = make_kinds();
    for (;;) {
        int has_line = 0;
        AX_CHECK(ax_line_reader_next(&s->lr, &has_line));
        if (!has_line) break;
        const char *line = s->lr.line;
        if (line[0] == '#') continue;
        /* A header may be indented: AlphaFold's parse_a3m (through parse_fasta) strips each line. */
        size_t at = 0;
        while (at < s->lr.line_len && (line[at] == ' ' || line[at] == '\t')) at++;
        if (at < s->lr.line_len && line[at] == '>') {
            AX_CHECK(finish_record(s));
            AX_CHECK(start_record(s, at));
            continue;
        }
        if (!s->in_record) {
            if (is_blank(line, s->lr.line_len)) continue;
            return ax_line_fail(&s->lr, AX_ERR_FORMAT, 1, "sequence data before the first '>' header");
        }
        if (!s->skipping) AX_CHECK(add_sequence_line(s, &kinds));
    }
    AX_CHECK(finish_record(s));
    if (s->msa.num_rows == 0) return ax_line_fail(&s->lr, AX_ERR_FORMAT, 0, "no sequences (not an A3M file?)");
    return AX_OK;
}

/* Runs the parser over an opened reader and always releases it. */
static ax_status a3m_run(a3m_state *s, ax_msa **out) {
    ax_status st = parse_lines(s);
    if (st == AX_OK) st = ax_msa_builder_finish(&s->msa, out);
    ax_msa_builder_free(&s->msa);
    ax_line_reader_close(&s->lr);
    free(s->header);
    return st;
}

ax_status ax_a3m_read(const char *path, ax_msa **out) {
    if (out == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "out is NULL");
    *out = NULL;
    a3m_state s;
    memset(&s, 0, sizeof s);
    AX_CHECK(ax_line_reader_open_path(&s.lr, path));
    return a3m_run(&s, out);
}

ax_status ax_a3m_parse(const char *buf, size_t len, const char *source_name, ax_msa **out) {
    if (out == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "out is NULL");
    *out = NULL;
    if (buf == NULL && len > 0) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "buf is NULL but len is %zu", len);
    a3m_state s;
    memset(&s, 0, sizeof s);
    ax_line_reader_open_memory(&s.lr, buf, len, source_name);
    /* Every match column takes at least one input byte, so `len` cells always suffice: one
     * allocation instead of a series of growths (finish gives back what is left over). Only a
     * hint: if it fails, the arrays grow as needed. */
    if (len > 0 && len <= (size_t)INT64_MAX && ax_msa_builder_reserve(&s.msa, (int64_t)len) != AX_OK)
        ax_msa_builder_free(&s.msa);
    return a3m_run(&s, out);
}
