/*
 * h5.h — the one place Axial talks to HDF5. Hides hid_t, silences HDF5's own error printing and
 * turns its error stack into ax_last_error() messages, and makes files appear atomically (temporary
 * file in the same directory, fsync, rename, directory fsync).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_IO_H5_H
#define AXIAL_IO_H5_H

#include <stdint.h>

#include "axial/axial.h"

/* An open HDF5 file; groups are addressed by '/'-separated paths. */
typedef struct ax_h5 ax_h5;

/* Creates `final_path`'s hidden temporary sibling (".<name>.tmp.<pid>.<n>") for writing. Nothing
 * appears at final_path until ax_h5_commit. */
ax_status ax_h5_create_atomic(const char *final_path, ax_h5 **out);
/* Closes, fsyncs and renames the temporary over the final path, then fsyncs the directory. Frees
 * the handle whatever happens; on failure the temporary is removed and final_path is untouched. */
ax_status ax_h5_commit(ax_h5 *h);
/* Closes and removes the temporary (or just closes a file opened for reading). Accepts NULL. */
void ax_h5_close(ax_h5 *h);

/* Opens an existing file read-only. */
ax_status ax_h5_open_read(const char *path, ax_h5 **out);

/* The path messages should name (the final path for a file being written). */
const char *ax_h5_path(const ax_h5 *h);

ax_status ax_h5_create_group(ax_h5 *h, const char *group);
/* Unlinks `path` (a group and what it holds) from the file being written; errors are cleared, not
 * reported: for undoing a partly written group after another failure. */
void ax_h5_remove(ax_h5 *h, const char *path);
/* 1 if an object (group or dataset) exists at `path`, 0 if not. */
int ax_h5_exists(ax_h5 *h, const char *path);

/* Names of the direct children of `group`, sorted; free with ax_h5_free_names. */
ax_status ax_h5_list(ax_h5 *h, const char *group, int64_t *count, char ***names);
void ax_h5_free_names(int64_t count, char **names);

/* Copies `src_path` (a group with everything below it) from another file into `dst_path`. */
ax_status ax_h5_copy(ax_h5 *src, const char *src_path, ax_h5 *dst, const char *dst_path);

/* Writes a dataset of `ndim` dims (0 = scalar). dtype: AX_F32, AX_F64, AX_I32, AX_I64, AX_U8 or AX_I8.
 * Datasets with more than a few elements are chunked with shuffle + deflate + Fletcher-32 (in
 * that order: the checksum covers the compressed bytes). */
ax_status ax_h5_write(ax_h5 *h, const char *path, ax_dtype dtype, int32_t ndim, const int64_t *shape,
                      const void *data);
/* Fills rows [first_row, first_row + count) of a (rows, cols) matrix into buf, row after row. */
typedef ax_status (*ax_h5_fill_rows_fn)(void *ctx, int64_t first_row, int64_t count, void *buf);
/* Writes a (rows, cols) dataset chunked in (chunk_rows, chunk_cols) blocks (clamped to the shape).
 * deflate_level 0: Fletcher-32 is the only filter (no compression: every chunk is its raw bytes plus
 * a 4-byte checksum, so a reader can fetch a block of columns cheaply; see ax_h5_read_columns).
 * deflate_level 1..9: shuffle + deflate at that level + Fletcher-32, like ax_h5_write (smaller,
 * read through HDF5's filters). Asks `fill` for chunk_rows rows at a time, so only that many rows
 * of a converted copy exist at once; an error from `fill` stops the write and is returned. */
ax_status ax_h5_write_matrix(ax_h5 *h, const char *path, ax_dtype dtype, int64_t rows, int64_t cols,
                             int64_t chunk_rows, int64_t chunk_cols, int deflate_level, ax_h5_fill_rows_fn fill,
                             void *ctx);
/* A UTF-8 string dataset (fixed length, stored as written). */
ax_status ax_h5_write_string(ax_h5 *h, const char *path, const char *value);

/* Reads a dataset's shape (ndim <= AX_MAX_DIMS) and checks its stored type class matches `dtype`. */
ax_status ax_h5_shape(ax_h5 *h, const char *path, ax_dtype dtype, int32_t *ndim, int64_t *shape);
/* 1 if the dataset at `path` exists and is stored as `dtype` (class, size and sign), else 0; for
 * datasets the schema allows in more than one type. Sets no error. */
int ax_h5_stored_as(ax_h5 *h, const char *path, ax_dtype dtype);
/* The dataset's rank and shape equal the expected ones (and its stored type matches `dtype` as
 * ax_h5_shape checks it), else
 * AX_ERR_FORMAT naming the dataset and the first dim that differs. */
ax_status ax_h5_expect_shape(ax_h5 *h, const char *path, ax_dtype dtype, int32_t ndim, const int64_t *shape);
/* Reads a whole dataset into `data` (which holds prod(shape) elements of `dtype`), after checking
 * that its rank and shape equal the expected ones. */
ax_status ax_h5_read(ax_h5 *h, const char *path, ax_dtype dtype, int32_t ndim, const int64_t *shape, void *data);
/* Reads columns [col_start, col_start + col_count) of every row of a (rows, cols) matrix into `out`
 * (rows x col_count elements of `dtype`, row after row), after checking the stored type and shape
 * like ax_h5_read. ndim 2: the dataset is that matrix; ndim 1: it holds the matrix flat, rows*cols
 * elements. Chunked 1-byte datasets whose filters are Fletcher-32 alone (or none), as
 * ax_h5_write_matrix writes them at deflate_level 0, are read one chunk at a time with
 * H5Dread_chunk, touching only the chunks that hold the columns, and each chunk's checksum is
 * verified here (AX_ERR_FORMAT naming the dataset and chunk on a mismatch); everything else
 * (compressed chunks included) goes through HDF5's own reads and filters. */
ax_status ax_h5_read_columns(ax_h5 *h, const char *path, ax_dtype dtype, int32_t ndim, int64_t rows, int64_t cols,
                             int64_t col_start, int64_t col_count, void *out);
/* Reads a string dataset of one fixed-length string of at most max_bytes; *out is malloc'd. */
ax_status ax_h5_read_string(ax_h5 *h, const char *path, size_t max_bytes, char **out);

/* Attributes on an object (use "/" for the file). */
ax_status ax_h5_set_attr_int(ax_h5 *h, const char *path, const char *name, int64_t value);
ax_status ax_h5_get_attr_int(ax_h5 *h, const char *path, const char *name, int64_t *value);
ax_status ax_h5_set_attr_string(ax_h5 *h, const char *path, const char *name, const char *value);
/* 1 if the object at `path` has attribute `name`, else 0. Sets no error. */
int ax_h5_has_attr(ax_h5 *h, const char *path, const char *name);
/* One integer / one fixed-length string (of at most max_bytes) in the attribute, else AX_ERR_FORMAT. */
ax_status ax_h5_get_attr_string(ax_h5 *h, const char *path, const char *name, size_t max_bytes, char **out);

#endif /* AXIAL_IO_H5_H */
