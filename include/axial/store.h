/*
 * store.h — the HDF5 feature store: many chains' AlphaFold-style features in one file that h5py and
 * every HDF5 tool can read. Layout and conventions: docs/feature-store.md.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 *
 * Writing is atomic. ax_store_begin creates a temporary file in the target's directory, unnamed
 * (O_TMPFILE) where the file system allows it; ax_store_commit fsyncs it, names it (hidden,
 * ".<name>.tmp.<pid>.<n>", the name cut to 40 characters), renames it over the target and fsyncs the
 * directory. Until then the target (if any) is untouched; on any error, or ax_store_abort, the
 * temporary is removed. A process killed midway (kill -9, or any signal it does not handle:
 * `axial features` handles none, so Ctrl-C counts) leaves the previous store intact and, where the
 * temporary was unnamed, nothing else (on a file system without O_TMPFILE its hidden temporary
 * stays). HDF5 writes the temporary through its descriptor, never reopening it by name.
 * Appending copies the existing chains into the new file first, so existing chains are never
 * modified in place. A write to the temporary that fails (a full disk, a quota, a file size limit)
 * fails that call with AX_ERR_IO naming the store and the reason; every later call on that
 * writer fails the same way, and commit then removes the temporary and leaves the target as it was.
 * A path that is a symbolic link is written through: the file it points to is replaced (its
 * temporary and append lock beside it) and the link kept.
 *
 * Thread safety: HDF5 as packaged by Debian is not thread-safe; use the store from one thread at a
 * time (any thread). Errors are captured from HDF5's error stack into ax_last_error(); HDF5 never
 * prints.
 *
 * Availability: when Axial is built with AXIAL_HDF5=OFF every function returns AX_ERR_UNSUPPORTED
 * (those returning a value return 0 or NULL: no store can be opened).
 */
#ifndef AXIAL_STORE_H
#define AXIAL_STORE_H

#include "axial/features.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The schema version written into every store (root attribute axial_schema_version). Readers accept
 * this version and every earlier one (1: MSA arrays flat and compressed; 2: MSA arrays (N, L),
 * chunked by column blocks, uncompressed unless the writer asks otherwise, see
 * ax_store_writer_set_msa_compression; docs/feature-store.md). */
#define AX_STORE_SCHEMA_VERSION 2
/* The oldest schema version readers accept. */
#define AX_STORE_SCHEMA_VERSION_MIN 1

typedef struct ax_store_writer ax_store_writer;

/* Starts writing the store at `path`. append = 0 replaces any existing store at commit; append = 1
 * keeps its chains (the existing file must be a valid store). Writers of one store take turns:
 * begin waits (an advisory flock on "<path>.lock", a file left beside the store, created 0666 less
 * the umask; a hidden shortened name when "<name>.lock" would pass NAME_MAX) until an earlier writer
 * of that path has committed or aborted, so processes appending at once all keep their chains and a
 * replacement is never undone by an append that began before it; within one process, commit or
 * abort a writer before beginning another on the same path, or begin waits for ever. Errors:
 * AX_ERR_INVALID_ARGUMENT (NULL), AX_ERR_IO (the directory is missing or not writable; the path is a
 * directory, a device, a FIFO or a socket; with append, a path that exists but cannot be opened),
 * AX_ERR_FORMAT (append to a file
 * that is not a valid store), AX_ERR_OUT_OF_MEMORY. */
AX_API ax_status ax_store_begin(const char *path, int append, ax_store_writer **out);

/* The longest `sources` text ax_store_add_chain takes, in bytes (an HDF5 attribute holds 64 KiB). */
#define AX_STORE_MAX_SOURCES 16384

/* Adds one chain as group /chains/<name>. name: 1-255 characters from [A-Za-z0-9_-:+], unique in
 * the store. sources: free text recorded as provenance (e.g. "query.a3m 1cbs.cif.gz:A"), may be
 * NULL, at most AX_STORE_MAX_SOURCES bytes. Errors: AX_ERR_INVALID_ARGUMENT (bad or duplicate name,
 * inconsistent features, sources too long, all checked before anything is written), AX_ERR_IO. On
 * error the writer stays usable for other chains; nothing reaches the target until commit. */
AX_API ax_status ax_store_add_chain(ax_store_writer *writer, const char *name, const ax_chain_features *features,
                                    const char *sources);

/* Compresses the MSA arrays (msa/tokens and uint8 msa/deletions) of the chains added after this
 * call. level 0 (the default): no compression; each chunk is stored as its raw bytes plus a
 * Fletcher-32 checksum, which ax_store_read_batch reads fastest. level 1..9: shuffle + deflate at
 * that zlib level + Fletcher-32, as the store's other arrays: MSA arrays 3-5x smaller, but every
 * read inflates through HDF5's filters, ax_store_read_batch about 2.5x slower (measurements in
 * docs/feature-store.md). Either way the arrays keep their (N, L) shape and column-
 * block chunks: the store stays schema version AX_STORE_SCHEMA_VERSION and every reader (any HDF5
 * tool too) reads it. Chains copied from an existing store when appending keep their storage.
 * Errors: AX_ERR_INVALID_ARGUMENT (NULL writer; level outside 0..9, naming 'level'). */
AX_API ax_status ax_store_writer_set_msa_compression(ax_store_writer *writer, int level);

/* Makes the new store appear at `path` atomically and frees the writer (also on failure, in which
 * case the target is untouched and the temporary removed). */
AX_API ax_status ax_store_commit(ax_store_writer *writer);

/* Discards everything written and frees the writer. Accepts NULL. */
AX_API void ax_store_abort(ax_store_writer *writer);

typedef struct ax_store ax_store;

/* Opens a store read-only and validates its schema version (AX_STORE_SCHEMA_VERSION_MIN to
 * AX_STORE_SCHEMA_VERSION). Errors: AX_ERR_IO (missing/unreadable; not a regular file: a directory,
 * device, FIFO or socket), AX_ERR_FORMAT (not HDF5, not an Axial store, another schema version, a
 * schema attribute that is not one integer, a chain name the writer would refuse). */
AX_API ax_status ax_store_open(const char *path, ax_store **out);
/* Closes the file and frees the store. Accepts NULL. */
AX_API void ax_store_close(ax_store *store);

/* The schema version of the open file (its axial_schema_version attribute, read and checked by
 * ax_store_open): 1 or 2 for files this Axial reads. A store appended to by this version of Axial is
 * version AX_STORE_SCHEMA_VERSION even where some chains keep an older layout. 0 for NULL. */
AX_API int64_t ax_store_schema_version(const ax_store *store);

/* Chain names in sorted order; the pointers live as long as the store. */
AX_API int64_t ax_store_num_chains(const ax_store *store);
AX_API const char *ax_store_chain_name(const ax_store *store, int64_t index);

/* What `axial features show` prints, without reading the big arrays. */
typedef struct ax_store_chain_info {
    int64_t seq_length;
    int64_t num_alignments;
    int has_structure;
    double resolution;
    char sources[512]; /* provenance, truncated to fit */
} ax_store_chain_info;

/* Errors: AX_ERR_INVALID_ARGUMENT (no such chain), AX_ERR_FORMAT (malformed group; seq_length or
 * num_alignments outside 1..INT32_MAX, or more than 2^40 MSA cells). *info is written only on success. */
AX_API ax_status ax_store_chain_info_get(ax_store *store, const char *name, ax_store_chain_info *info);

/* Reads a chain back into newly allocated features, after checking every dataset's presence, dtype
 * and shape against the schema and the values' ranges (tokens, offsets). Errors: AX_ERR_INVALID_ARGUMENT
 * (no such chain), AX_ERR_FORMAT naming the dataset and what is wrong, AX_ERR_OUT_OF_MEMORY. */
AX_API ax_status ax_store_read_chain(ax_store *store, const char *name, ax_chain_features **out);

/* One training batch of a stored chain: the same batch, byte for byte, as
 * ax_feature_batch_create(features, cfg) on the features ax_store_read_chain returns (cfg NULL means
 * the defaults), but reading from the MSA only the columns of the batch's crop window, which the
 * seed decides before anything is read, straight into the builder as bytes. Cost for 10,000 rows,
 * crop 256: a few milliseconds of reading on top of the batch itself (docs/performance.md), where
 * ax_store_read_chain + ax_feature_batch_create read every column. Chains written with MSA
 * compression (ax_store_writer_set_msa_compression) still read only the crop's column chunks, but
 * inflate them through HDF5's filters; stores of schema version 1 work too, only without the
 * saving (their MSA chunks hold whole rows, compressed).
 * Validated: the shapes and types of what it reads, as ax_store_read_chain; tokens 0..21, deletions
 * >= 0 and aatype 0..20 inside the window; Fletcher-32 checksums of every chunk read.
 * Errors: AX_ERR_INVALID_ARGUMENT (NULL store, name or out, no such chain, a bad cfg as
 * ax_feature_batch_create), AX_ERR_FORMAT (naming the dataset, and the row and column of a bad
 * value, or the chunk whose checksum fails), AX_ERR_OUT_OF_MEMORY. On failure *out is NULL. */
AX_API ax_status ax_store_read_batch(ax_store *store, const char *name, const ax_feature_batch_config *cfg,
                                     ax_feature_batch **out);

#ifdef __cplusplus
}
#endif

#endif /* AXIAL_STORE_H */
