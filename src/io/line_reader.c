/*
 * line_reader.c — lines from a gzip/plain file (zlib passes plain files through) or a memory buffer.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "io/line_reader.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/utf8.h"
#include "core/grow.h"

ax_quoted ax_quote(const char *s) {
    size_t n = 0;
    while (n <= AX_QUOTE_MAX && s[n] != '\0') n++;
    return ax_quote_n(s, n);
}

ax_quoted ax_quote_n(const char *s, size_t len) {
    static const char hex[] = "0123456789abcdef";
    ax_quoted q;
    size_t used = 0, n = len < AX_QUOTE_MAX ? len : AX_QUOTE_MAX;
    /* Cut short at a character, not inside one (the message stays UTF-8 for C consumers too). */
    if (n < len) n -= ax_utf8_partial_tail(s, n);
    for (size_t i = 0; i < n; i++) {
        const unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) {
            q.text[used++] = '\\';
            q.text[used++] = 'x';
            q.text[used++] = hex[c >> 4];
            q.text[used++] = hex[c & 15];
        } else {
            q.text[used++] = (char)c;
        }
    }
    q.text[used] = '\0';
    return q;
}

ax_status ax_io_fail(ax_status status, const char *source, int64_t line, int64_t column, const char *fmt,
                     ...) {
    char reason[768];
    va_list args;
    va_start(args, fmt);
    vsnprintf(reason, sizeof reason, fmt, args);
    va_end(args);
    if (column > 0)
        return ax_set_error(status, "%s:%lld:%lld: %s", source, (long long)line, (long long)column, reason);
    return ax_set_error(status, "%s:%lld: %s", source, (long long)line, reason);
}

ax_status ax_line_fail(const ax_line_reader *r, ax_status status, int64_t column, const char *fmt, ...) {
    char reason[768];
    va_list args;
    va_start(args, fmt);
    vsnprintf(reason, sizeof reason, fmt, args);
    va_end(args);
    /* Line 0 means nothing was read yet (an empty input); report it as line 1. */
    return ax_io_fail(status, r->source, r->line_no > 0 ? r->line_no : 1, column, "%s", reason);
}

ax_status ax_line_reader_open_path(ax_line_reader *r, const char *path) {
    memset(r, 0, sizeof *r);
    if (path == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "path is NULL");
    r->source = path;
    errno = 0;
    /* 'e' (O_CLOEXEC) keeps the descriptor out of processes a multi-threaded host forks meanwhile;
     * zlib versions without it ignore the letter. */
    gzFile gz = gzopen(path, "rbe");
    if (gz == NULL) {
        if (errno == 0) return ax_set_error(AX_ERR_OUT_OF_MEMORY, "%s: out of memory opening the file", path);
        return ax_set_error(AX_ERR_IO, "%s: cannot open: %s", path, ax_os_error(errno).text);
    }
    r->chunk = malloc(AX_LINE_READER_CHUNK);
    if (r->chunk == NULL) {
        gzclose(gz);
        return ax_set_error(AX_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    }
    r->gz = gz;
    return AX_OK;
}

void ax_line_reader_open_memory(ax_line_reader *r, const char *buf, size_t len, const char *source) {
    memset(r, 0, sizeof *r);
    r->mem = buf;
    r->mem_len = buf == NULL ? 0 : len;
    r->source = source != NULL ? source : AX_MEMORY_SOURCE;
}

void ax_line_reader_close(ax_line_reader *r) {
    if (r->gz != NULL) gzclose((gzFile)r->gz);
    free(r->chunk);
    free(r->line);
    memset(r, 0, sizeof *r);
}

/* Appends seg[0, len) to the current line, rejecting NUL bytes and over-long lines. */
static ax_status append_to_line(ax_line_reader *r, const char *seg, size_t len) {
    const char *nul = len > 0 ? memchr(seg, '\0', len) : NULL;
    if (nul != NULL) {
        /* The line number is that of the line being assembled: one past the last returned. */
        const size_t column = r->line_len + (size_t)(nul - seg) + 1;
        /* ColabFold's multi-query A3M output puts a NUL line between the queries' MSAs. */
        const char *hint = column == 1 ? " (a NUL line separates the queries of a ColabFold multi-query A3M: give "
                                         "each query's MSA in a file of its own)"
                                       : "";
        return ax_io_fail(AX_ERR_FORMAT, r->source, r->line_no + 1, (int64_t)column,
                          "NUL byte: this is not a text file%s", hint);
    }
    if (len > AX_LINE_MAX - r->line_len)
        return ax_io_fail(AX_ERR_FORMAT, r->source, r->line_no + 1, 0, "line longer than %zu bytes",
                          AX_LINE_MAX);
    AX_CHECK(ax_grow((void **)&r->line, &r->line_cap, (int64_t)(r->line_len + len + 1), 1));
    if (len > 0) memcpy(r->line + r->line_len, seg, len);
    r->line_len += len;
    r->line[r->line_len] = '\0';
    return AX_OK;
}

/* Refills the chunk from the gzip stream; sets source_done at the end. */
static ax_status refill(ax_line_reader *r) {
    gzFile gz = (gzFile)r->gz;
    int got = gzread(gz, r->chunk, (unsigned)AX_LINE_READER_CHUNK);
    int zerr = Z_OK;
    const char *zmsg = gzerror(gz, &zerr);
    /* zlib hands over what it decoded before an error and reports the error on the next call. */
    if (got > 0) {
        r->chunk_len = (size_t)got;
        r->chunk_pos = 0;
        return AX_OK;
    }
    r->chunk_len = r->chunk_pos = 0;
    r->source_done = 1;
    if (got == 0 && (zerr == Z_OK || zerr == Z_STREAM_END)) return AX_OK;
    /* The line being read when it failed is one past the last returned one. */
    const int64_t line = r->line_no + 1;
    switch (zerr) {
    case Z_ERRNO: return ax_io_fail(AX_ERR_IO, r->source, line, 0, "read failed: %s", ax_os_error(errno).text);
    case Z_MEM_ERROR: return ax_set_error(AX_ERR_OUT_OF_MEMORY, "%s: out of memory decompressing", r->source);
    case Z_BUF_ERROR:
        return ax_io_fail(AX_ERR_FORMAT, r->source, line, 0, "truncated gzip data (%s)", zmsg ? zmsg : "");
    default:
        return ax_io_fail(AX_ERR_FORMAT, r->source, line, 0, "corrupt gzip data (%s)", zmsg ? zmsg : "");
    }
}

/* Where the line at start[0, left) ends: LF, CRLF, or a lone CR (classic Mac OS files; AlphaFold
 * splits its inputs with Python's splitlines, which breaks there too). Returns the line's length;
 * *used gets the bytes to consume with the terminator (the line's length when none was found), and
 * *cr_last is 1 when a CR ends the buffer, so an LF that starts the next chunk belongs to it. */
static size_t line_end(const char *start, size_t left, size_t *used, int *cr_last) {
    const char *lf = memchr(start, '\n', left);
    const size_t upto = lf != NULL ? (size_t)(lf - start) : left;
    const char *cr = memchr(start, '\r', upto);
    *cr_last = 0;
    if (cr == NULL) {
        *used = upto + (lf != NULL ? 1 : 0);
        return upto;
    }
    const size_t len = (size_t)(cr - start);
    *used = len + 1 + (len + 1 < left && start[len + 1] == '\n' ? 1 : 0);
    *cr_last = len + 1 == left;
    return len;
}

/* Takes the next line from the memory buffer. */
static ax_status next_from_memory(ax_line_reader *r, int *has_line) {
    if (r->mem_pos >= r->mem_len) return AX_OK;
    const char *start = r->mem + r->mem_pos;
    size_t used;
    int cr_last;
    const size_t len = line_end(start, r->mem_len - r->mem_pos, &used, &cr_last);
    AX_CHECK(append_to_line(r, start, len));
    r->mem_pos += used;
    *has_line = 1;
    return AX_OK;
}

/* Takes the next line from the gzip stream. */
static ax_status next_from_file(ax_line_reader *r, int *has_line) {
    int started = 0; /* some bytes of this line were seen: a last line without '\n' still counts */
    for (;;) {
        if (r->chunk_pos >= r->chunk_len) {
            if (r->source_done) break;
            AX_CHECK(refill(r));
            continue;
        }
        const char *start = (const char *)r->chunk + r->chunk_pos;
        if (r->lf_pending) { /* the LF of a CRLF split across chunks */
            r->lf_pending = 0;
            if (*start == '\n') {
                r->chunk_pos++;
                continue;
            }
        }
        size_t used;
        int cr_last;
        const size_t len = line_end(start, r->chunk_len - r->chunk_pos, &used, &cr_last);
        AX_CHECK(append_to_line(r, start, len));
        started = 1;
        r->chunk_pos += used;
        r->lf_pending = cr_last;
        if (used > len) break; /* a terminator was found */
    }
    *has_line = started;
    return AX_OK;
}

ax_status ax_line_reader_next(ax_line_reader *r, int *has_line) {
    *has_line = 0;
    r->line_len = 0;
    if (r->line != NULL) r->line[0] = '\0';
    AX_CHECK(r->gz != NULL ? next_from_file(r, has_line) : next_from_memory(r, has_line));
    if (!*has_line) return AX_OK;
    /* A UTF-8 byte-order mark (some Windows editors write one) is an encoding mark, not text: without
     * this, every parser failed at 1:1 with a message about what the first line should be. */
    if (r->line_no == 0 && r->line_len >= 3 && memcmp(r->line, "\xEF\xBB\xBF", 3) == 0) {
        memmove(r->line, r->line + 3, r->line_len - 3 + 1);
        r->line_len -= 3;
    }
    r->line_no++;
    return AX_OK;
}
