/*
 * features_batch.h — private kernels of the training-batch builder.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_IO_FEATURES_BATCH_H
#define AXIAL_IO_FEATURES_BATCH_H

#include <stdint.h>

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

#endif /* AXIAL_IO_FEATURES_BATCH_H */
