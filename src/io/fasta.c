/*
 * fasta.c — FASTA records, one at a time (ax_fasta_reader) or all at once (ax_fasta).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

#include "axial/io.h"
#include "core/internal.h"
#include "core/grow.h"
#include "io/line_reader.h"

struct ax_fasta_reader {
    ax_line_reader lr;
    int have_header;     /* a header line was read ahead and belongs to the next record */
    int failed;          /* after an error the reader only closes */
    char *header;        /* next record's header, or the current record's after next() */
    int64_t header_cap;
    char *next_header;   /* header read ahead while finishing the current record */
    int64_t next_header_cap;
    char *sequence;
    int64_t sequence_cap;
    int64_t sequence_len;
};

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

/* Where the current line's '>' is when the line is a header: its first non-blank byte, as
 * AlphaFold's parse_fasta strips each line before looking for '>'; -1 for any other line. */
static int64_t header_at(const ax_line_reader *lr) {
    size_t i = 0;
    while (i < lr->line_len && is_space(lr->line[i])) i++;
    return i < lr->line_len && lr->line[i] == '>' ? (int64_t)i : -1;
}

/* Copies the current line after its '>' (at `at`), without trailing blanks, into *dst. */
static ax_status copy_header(const ax_line_reader *lr, int64_t at, char **dst, int64_t *cap) {
    const char *text = lr->line + at + 1;
    size_t len = lr->line_len - (size_t)at - 1;
    while (len > 0 && is_space(text[len - 1])) len--;
    AX_CHECK(ax_grow((void **)dst, cap, (int64_t)len + 1, 1));
    memcpy(*dst, text, len);
    (*dst)[len] = '\0';
    return AX_OK;
}

static ax_status append_sequence_line(ax_fasta_reader *r) {
    const char *line = r->lr.line;
    for (size_t i = 0; i < r->lr.line_len; i++) {
        const char c = line[i];
        if (is_space(c)) continue;
        if (c < 0x21 || c > 0x7e)
            return ax_line_fail(&r->lr, AX_ERR_FORMAT, (int64_t)i + 1,
                                "unexpected byte 0x%02x in a sequence line", (unsigned char)c);
        AX_CHECK(ax_grow((void **)&r->sequence, &r->sequence_cap, r->sequence_len + 2, 1));
        r->sequence[r->sequence_len++] = c;
    }
    return AX_OK;
}

static ax_status reader_next(ax_fasta_reader *r, ax_fasta_record *record, int *has_record) {
    /* Find the record's header: read ahead by the previous call, or the first non-blank line. */
    while (!r->have_header) {
        int has_line = 0;
        AX_CHECK(ax_line_reader_next(&r->lr, &has_line));
        if (!has_line) return AX_OK;
        const int64_t at = header_at(&r->lr);
        if (at >= 0) {
            AX_CHECK(copy_header(&r->lr, at, &r->next_header, &r->next_header_cap));
            r->have_header = 1;
            break;
        }
        for (size_t i = 0; i < r->lr.line_len; i++)
            if (!is_space(r->lr.line[i]))
                return ax_line_fail(&r->lr, AX_ERR_FORMAT, (int64_t)i + 1,
                                    "sequence data before the first '>' header");
    }
    /* The read-ahead header becomes this record's; the buffers swap so neither is copied. */
    char *swap = r->header;
    int64_t swap_cap = r->header_cap;
    r->header = r->next_header;
    r->header_cap = r->next_header_cap;
    r->next_header = swap;
    r->next_header_cap = swap_cap;
    r->have_header = 0;
    r->sequence_len = 0;
    AX_CHECK(ax_grow((void **)&r->sequence, &r->sequence_cap, 1, 1));
    for (;;) {
        int has_line = 0;
        AX_CHECK(ax_line_reader_next(&r->lr, &has_line));
        if (!has_line) break;
        const int64_t at = header_at(&r->lr);
        if (at >= 0) {
            AX_CHECK(copy_header(&r->lr, at, &r->next_header, &r->next_header_cap));
            r->have_header = 1;
            break;
        }
        AX_CHECK(append_sequence_line(r));
    }
    r->sequence[r->sequence_len] = '\0';
    record->header = r->header;
    record->sequence = r->sequence;
    record->length = r->sequence_len;
    *has_record = 1;
    return AX_OK;
}

ax_status ax_fasta_reader_next(ax_fasta_reader *reader, ax_fasta_record *record, int *has_record) {
    if (has_record != NULL) *has_record = 0;
    if (reader == NULL || record == NULL || has_record == NULL)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "reader, record and has_record must not be NULL");
    if (reader->failed)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: the reader already failed", reader->lr.source);
    const ax_status st = reader_next(reader, record, has_record);
    if (st != AX_OK) {
        reader->failed = 1;
        *has_record = 0;
    }
    return st;
}

void ax_fasta_reader_close(ax_fasta_reader *reader) {
    if (reader == NULL) return;
    ax_line_reader_close(&reader->lr);
    free(reader->header);
    free(reader->next_header);
    free(reader->sequence);
    free(reader);
}

ax_status ax_fasta_reader_open(const char *path, ax_fasta_reader **out) {
    if (out == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "out is NULL");
    *out = NULL;
    ax_fasta_reader *r = calloc(1, sizeof *r);
    if (r == NULL) return ax_set_error(AX_ERR_OUT_OF_MEMORY, "out of memory: FASTA reader");
    const ax_status st = ax_line_reader_open_path(&r->lr, path);
    if (st != AX_OK) {
        free(r);
        return st;
    }
    *out = r;
    return AX_OK;
}

ax_status ax_fasta_reader_open_memory(const char *buf, size_t len, const char *source_name,
                                      ax_fasta_reader **out) {
    if (out == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "out is NULL");
    *out = NULL;
    if (buf == NULL && len > 0) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "buf is NULL but len is %zu", len);
    ax_fasta_reader *r = calloc(1, sizeof *r);
    if (r == NULL) return ax_set_error(AX_ERR_OUT_OF_MEMORY, "out of memory: FASTA reader");
    ax_line_reader_open_memory(&r->lr, buf, len, source_name);
    *out = r;
    return AX_OK;
}

void ax_fasta_destroy(ax_fasta *fasta) {
    if (fasta == NULL) return;
    for (int64_t i = 0; i < fasta->num_records; i++) {
        free(fasta->headers[i]);
        free(fasta->sequences[i]);
    }
    free(fasta->headers);
    free(fasta->sequences);
    free(fasta->lengths);
    free(fasta);
}

/* Reads every record of an opened reader into a new ax_fasta, and closes the reader. */
static ax_status read_all(ax_fasta_reader *r, ax_fasta **out) {
    ax_fasta *fasta = calloc(1, sizeof *fasta);
    ax_status st = AX_OK;
    int64_t headers_cap = 0, sequences_cap = 0, lengths_cap = 0;
    if (fasta == NULL) {
        st = ax_set_error(AX_ERR_OUT_OF_MEMORY, "out of memory: FASTA records");
        goto cleanup;
    }
    for (;;) {
        ax_fasta_record record;
        int has_record = 0;
        AX_CHECK_GOTO(ax_fasta_reader_next(r, &record, &has_record), st, cleanup);
        if (!has_record) break;
        const int64_t n = fasta->num_records;
        AX_CHECK_GOTO(ax_grow((void **)&fasta->headers, &headers_cap, n + 1, sizeof(char *)), st, cleanup);
        AX_CHECK_GOTO(ax_grow((void **)&fasta->sequences, &sequences_cap, n + 1, sizeof(char *)), st, cleanup);
        AX_CHECK_GOTO(ax_grow((void **)&fasta->lengths, &lengths_cap, n + 1, sizeof(int64_t)), st, cleanup);
        fasta->headers[n] = ax_strndup(record.header, strlen(record.header));
        fasta->sequences[n] = ax_strndup(record.sequence, (size_t)record.length);
        fasta->lengths[n] = record.length;
        fasta->num_records = n + 1; /* counted before the check so destroy frees a half-made record */
        if (fasta->headers[n] == NULL || fasta->sequences[n] == NULL) {
            st = ax_set_error(AX_ERR_OUT_OF_MEMORY, "out of memory: FASTA record %lld", (long long)n + 1);
            goto cleanup;
        }
    }
cleanup:
    ax_fasta_reader_close(r);
    if (st != AX_OK) {
        ax_fasta_destroy(fasta);
        return st;
    }
    *out = fasta;
    return AX_OK;
}

ax_status ax_fasta_read(const char *path, ax_fasta **out) {
    if (out == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "out is NULL");
    *out = NULL;
    ax_fasta_reader *r = NULL;
    AX_CHECK(ax_fasta_reader_open(path, &r));
    return read_all(r, out);
}

ax_status ax_fasta_parse(const char *buf, size_t len, const char *source_name, ax_fasta **out) {
    if (out == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "out is NULL");
    *out = NULL;
    ax_fasta_reader *r = NULL;
    AX_CHECK(ax_fasta_reader_open_memory(buf, len, source_name, &r));
    return read_all(r, out);
}
