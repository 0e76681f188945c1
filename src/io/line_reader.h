/*
 * line_reader.h — the one place the parsers get their bytes from: lines of a file (gzip-compressed
 * or plain, through zlib) or of a memory buffer, with line numbers for error messages.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_IO_LINE_READER_H
#define AXIAL_IO_LINE_READER_H

#include <stddef.h>
#include <stdint.h>

#include "core/internal.h"

/* No text format we read has lines this long; a longer one is malformed input, not a reason to
 * allocate without bound. */
#define AX_LINE_MAX ((size_t)1 << 28)

/* Bytes decompressed per read (file mode; lines may be longer): big enough that zlib's per-call
 * overhead is noise, small enough to be irrelevant in memory. */
#define AX_LINE_READER_CHUNK ((size_t)1 << 16)

typedef struct ax_line_reader {
    void *gz;                /* gzFile, or NULL when reading a memory buffer */
    const char *mem;         /* memory buffer (not owned) */
    size_t mem_len;
    size_t mem_pos;
    unsigned char *chunk;    /* decompressed bytes not yet split into lines (file mode) */
    size_t chunk_len;
    size_t chunk_pos;
    int source_done;         /* no more bytes to read */
    int lf_pending;          /* the last chunk ended in CR: an LF starting the next one is its CRLF's */
    char *line;              /* current line, NUL-terminated, without its "\n", "\r\n" or "\r" */
    size_t line_len;
    int64_t line_cap;
    int64_t line_no;         /* 1-based number of the current line; 0 before the first */
    const char *source;      /* path or buffer name for messages (not owned) */
} ax_line_reader;

/* Opens `path` for reading; gzip files are decompressed, others are read as they are.
 * Errors: AX_ERR_INVALID_ARGUMENT (NULL path), AX_ERR_IO (open failed: the message names the path
 * and the OS reason), AX_ERR_OUT_OF_MEMORY. On failure the reader needs no close. */
ax_status ax_line_reader_open_path(ax_line_reader *r, const char *path);

/* Reads lines from buf[0, len) (not copied: it must outlive the reader). `source` names the buffer
 * in messages. Cannot fail. */
void ax_line_reader_open_memory(ax_line_reader *r, const char *buf, size_t len, const char *source);

/* Advances to the next line: on AX_OK, *has_line is 1 and r->line / r->line_len hold it, or 0 at
 * the end of the input. A NUL byte is AX_ERR_FORMAT (none of our formats is binary, and it would
 * cut C strings short); a line over AX_LINE_MAX is AX_ERR_FORMAT; a read or decompression failure
 * is AX_ERR_IO or AX_ERR_FORMAT (corrupt gzip). */
ax_status ax_line_reader_next(ax_line_reader *r, int *has_line);

/* Releases the reader's buffers and closes the file. Safe on a reader that failed to open when
 * it was zeroed first. */
void ax_line_reader_close(ax_line_reader *r);

/* Sets the last error to "source:line:column: message" and returns `status`. Line and column are
 * 1-based; column 0 leaves the column out ("source:line: message"). */
ax_status ax_io_fail(ax_status status, const char *source, int64_t line, int64_t column, const char *fmt,
                     ...) AX_PRINTF(5, 6);

/* ax_io_fail at the reader's current line. */
ax_status ax_line_fail(const ax_line_reader *r, ax_status status, int64_t column, const char *fmt, ...)
    AX_PRINTF(4, 5);

/* File text quoted in a message: at most AX_QUOTE_MAX bytes of s (to its NUL), control bytes and
 * DEL written as \xNN, so that a value holding a newline (a CIF text field) or other control bytes
 * keeps the message on one line. Used as ax_quote(s).text in the message's arguments. */
#define AX_QUOTE_MAX 80
typedef struct ax_quoted {
    char text[4 * AX_QUOTE_MAX + 1];
} ax_quoted;
ax_quoted ax_quote(const char *s);
/* The same for s[0, len), which may hold NUL bytes (written \x00) and need not end with one. */
ax_quoted ax_quote_n(const char *s, size_t len);

/* The name used for memory buffers whose caller gave none. */
#define AX_MEMORY_SOURCE "<memory>"

#endif /* AXIAL_IO_LINE_READER_H */
