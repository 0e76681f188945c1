/*
 * features_batch.h — private kernels of the training-batch builder.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_IO_FEATURES_BATCH_H
#define AXIAL_IO_FEATURES_BATCH_H

#include <stdint.h>

#include "axial/features.h"

/* Centres are stored transposed, one column after another, each column padded to a multiple of
 * this many centres with AX_BATCH_NO_TOKEN so the vector loops need no tail. */
#define AX_BATCH_CENTRE_BLOCK 32
#define AX_BATCH_NO_TOKEN 0xFFu

/* The centre one MSA row agrees with most (AF2's nearest_neighbor_clusters): agreement is the
 * number of columns i where row[i] == centres_t[i * centres_stride + k]. The caller stores
 * AX_BATCH_NO_TOKEN in centres_t wherever a centre holds a gap (21) or the mask token (22), and
 * the row holds tokens 0..21, so only equal residues 0..20 agree and gaps cost no branch. Ties go
 * to the lowest centre index; scratch[k] holds centre k's agreement on return. */
typedef int32_t (*ax_batch_nearest_fn)(const uint8_t *centres_t, /* (L, centres_stride) */
                                       int64_t num_centres,       /* C >= 1 */
                                       int64_t centres_stride,    /* C rounded up to AX_BATCH_CENTRE_BLOCK */
                                       const uint8_t *row,        /* (L) tokens 0..21 */
                                       int64_t length,            /* L */
                                       uint32_t *scratch);        /* (centres_stride) */

/* The implementation for the active CPU path (AVX2 when allowed, else portable C); both give the
 * same answer. */
ax_batch_nearest_fn ax_batch_nearest_kernel(void);

/* The portable implementation, always available (tests compare the two). */
int32_t ax_batch_nearest_portable(const uint8_t *centres_t, int64_t num_centres, int64_t centres_stride,
                                  const uint8_t *row, int64_t length, uint32_t *scratch);

/* A nonzero deletion count of an MSA row: its column and value. */
typedef struct ax_batch_deletion {
    int32_t col;
    int32_t value;
} ax_batch_deletion;

/* Appends the nonzero entries of deletions[0, length) to out (room for `length`), in column order,
 * and returns their number; *negative is set to 1 when any entry is negative, else 0. Deletions
 * are mostly zero and the nonzero ones fall anywhere, so the kernels look at 8 or 16 at a time and
 * only touch the nonzero ones. */
typedef int64_t (*ax_batch_sparse_fn)(const int32_t *deletions, int64_t length, ax_batch_deletion *out,
                                      int *negative);

/* For the active CPU path, and the portable one (the tests compare them); same results. */
ax_batch_sparse_fn ax_batch_sparse_kernel(void);
int64_t ax_batch_sparse_portable(const int32_t *deletions, int64_t length, ax_batch_deletion *out, int *negative);

/* The same for deletion counts stored as bytes (the feature store's usual type; never negative),
 * 32 at a time with AVX2. */
typedef int64_t (*ax_batch_sparse_bytes_fn)(const uint8_t *deletions, int64_t length, ax_batch_deletion *out);
ax_batch_sparse_bytes_fn ax_batch_sparse_bytes_kernel(void);
int64_t ax_batch_sparse_bytes_portable(const uint8_t *deletions, int64_t length, ax_batch_deletion *out);

/* ---- the builder's input ------------------------------------------------------------------- */

/* What a batch is built from: a chain's per-residue arrays (every residue) and its MSA, either
 * whole in memory as int32 (ax_feature_batch_create) or only the columns of the crop window as
 * bytes, read from a feature store (ax_store_read_batch). Exactly one of msa / msa_bytes and one of
 * deletions / deletion_bytes is set. Names are what error messages call the arrays. */
typedef struct ax_batch_source {
    int64_t seq_length;               /* L: the chain's length; the crop is drawn over it */
    int64_t num_alignments;           /* N */
    const int32_t *aatype;            /* (L) */
    const int32_t *residue_index;     /* (L) */
    const float *all_atom_positions;  /* (L, 37, 3), or NULL without a structure */
    const float *all_atom_mask;       /* (L, 37), or NULL without a structure */
    int64_t msa_first_column;         /* chain column held in column 0 of the MSA arrays */
    int64_t msa_columns;              /* columns held: [msa_first_column, + msa_columns) */
    int64_t msa_stride;               /* elements between rows of the MSA arrays (>= msa_columns) */
    const int32_t *msa;               /* (N, msa_stride) tokens, or NULL */
    const uint8_t *msa_bytes;         /* (N, msa_stride) tokens, or NULL */
    const int32_t *deletions;         /* (N, msa_stride) deletion counts, or NULL */
    const uint8_t *deletion_bytes;    /* (N, msa_stride) deletion counts, or NULL */
    const char *aatype_name;          /* e.g. "features->aatype" */
    const char *msa_name;             /* e.g. "features->msa" */
    const char *deletions_name;       /* e.g. "features->deletion_matrix" */
} ax_batch_source;

/* The crop window the batch for `cfg` (already checked) will use on a chain of seq_length
 * residues: the first draw of the batch's random stream, so a reader can fetch just those columns
 * before building. */
void ax_batch_crop_window(const ax_feature_batch_config *cfg, int64_t seq_length, int64_t *crop_start,
                          int64_t *crop_length);

/* Checks cfg (NULL is not allowed here) as ax_feature_batch_create documents. */
ax_status ax_batch_check_config(const ax_feature_batch_config *cfg);

/* Builds the batch ax_feature_batch_create documents from `source`, whose MSA arrays must hold the
 * crop window of ax_batch_crop_window (AX_ERR_INTERNAL otherwise). Validates what it reads (tokens
 * 0..21, deletions >= 0, aatype 0..20 in the crop) and names the array, row and chain column. */
ax_status ax_batch_build(const ax_batch_source *source, const ax_feature_batch_config *cfg,
                         ax_feature_batch **out);

#endif /* AXIAL_IO_FEATURES_BATCH_H */
