/*
 * batch_cluster.c — nearest-centre assignment of MSA rows, the only part of a training batch whose
 * cost is (rows x centres x columns); everything else is linear in the batch's size.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 *
 * Agreement counts are accumulated in 8-bit lanes (one byte per centre, 32 centres per AVX2
 * register) for up to 255 columns at a time and then flushed into 32-bit totals, so any length
 * works without overflow. The centres are stored column-major (one padded row of centre tokens per
 * alignment column), so one row entry touches one contiguous run of bytes.
 */
#include <string.h>

#include "core/internal.h"
#include "io/features_batch.h"

#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
#  define AX_BATCH_HAVE_AVX2 1
#  include <immintrin.h>
#else
#  define AX_BATCH_HAVE_AVX2 0
#endif

/* Columns per 8-bit accumulation pass: a lane gains at most 1 per column. */
#define AX_BATCH_FLUSH_COLUMNS 255

static int32_t argmax_first(const uint32_t *totals, int64_t num_centres) {
    int64_t best = 0;
    for (int64_t k = 1; k < num_centres; k++)
        if (totals[k] > totals[best]) best = k;
    return (int32_t)best;
}

int32_t ax_batch_nearest_portable(const uint8_t *centres_t, int64_t num_centres, int64_t centres_stride,
                                  const uint8_t *row, int64_t length, uint32_t *scratch) {
    memset(scratch, 0, (size_t)centres_stride * sizeof *scratch);
    for (int64_t block = 0; block < centres_stride; block += AX_BATCH_CENTRE_BLOCK) {
        for (int64_t j0 = 0; j0 < length; j0 += AX_BATCH_FLUSH_COLUMNS) {
            const int64_t j1 = length - j0 < AX_BATCH_FLUSH_COLUMNS ? length : j0 + AX_BATCH_FLUSH_COLUMNS;
            uint8_t acc[AX_BATCH_CENTRE_BLOCK] = {0};
            for (int64_t j = j0; j < j1; j++) {
                const uint8_t *column = centres_t + j * centres_stride + block;
                const uint8_t token = row[j];
                for (int k = 0; k < AX_BATCH_CENTRE_BLOCK; k++) acc[k] = (uint8_t)(acc[k] + (column[k] == token));
            }
            for (int k = 0; k < AX_BATCH_CENTRE_BLOCK; k++) scratch[block + k] += acc[k];
        }
    }
    return argmax_first(scratch, num_centres);
}

#if AX_BATCH_HAVE_AVX2
__attribute__((target("avx2"))) static void flush_avx2(__m256i acc, uint32_t *totals) {
    uint8_t lanes[AX_BATCH_CENTRE_BLOCK];
    _mm256_storeu_si256((__m256i *)lanes, acc);
    for (int k = 0; k < AX_BATCH_CENTRE_BLOCK; k++) totals[k] += lanes[k];
}

__attribute__((target("avx2"))) static int32_t nearest_avx2(const uint8_t *centres_t, int64_t num_centres,
                                                            int64_t centres_stride, const uint8_t *row,
                                                            int64_t length, uint32_t *scratch) {
    memset(scratch, 0, (size_t)centres_stride * sizeof *scratch);
    int64_t block = 0;
    /* Four blocks (128 centres, AF2's default) at a time keep every accumulator in a register and
     * share one broadcast of the row's token. cmpeq gives 0xFF (= -1) on a match, so subtracting
     * it adds one. */
    for (; block + 4 * AX_BATCH_CENTRE_BLOCK <= centres_stride; block += 4 * AX_BATCH_CENTRE_BLOCK) {
        for (int64_t j0 = 0; j0 < length; j0 += AX_BATCH_FLUSH_COLUMNS) {
            const int64_t j1 = length - j0 < AX_BATCH_FLUSH_COLUMNS ? length : j0 + AX_BATCH_FLUSH_COLUMNS;
            __m256i acc0 = _mm256_setzero_si256(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
            for (int64_t j = j0; j < j1; j++) {
                const uint8_t *column = centres_t + j * centres_stride + block;
                const __m256i token = _mm256_set1_epi8((char)row[j]);
                acc0 = _mm256_sub_epi8(acc0, _mm256_cmpeq_epi8(_mm256_loadu_si256((const __m256i *)column), token));
                acc1 = _mm256_sub_epi8(acc1, _mm256_cmpeq_epi8(_mm256_loadu_si256((const __m256i *)(column + 32)), token));
                acc2 = _mm256_sub_epi8(acc2, _mm256_cmpeq_epi8(_mm256_loadu_si256((const __m256i *)(column + 64)), token));
                acc3 = _mm256_sub_epi8(acc3, _mm256_cmpeq_epi8(_mm256_loadu_si256((const __m256i *)(column + 96)), token));
            }
            flush_avx2(acc0, scratch + block);
            flush_avx2(acc1, scratch + block + 32);
            flush_avx2(acc2, scratch + block + 64);
            flush_avx2(acc3, scratch + block + 96);
        }
    }
    for (; block < centres_stride; block += AX_BATCH_CENTRE_BLOCK) {
        for (int64_t j0 = 0; j0 < length; j0 += AX_BATCH_FLUSH_COLUMNS) {
            const int64_t j1 = length - j0 < AX_BATCH_FLUSH_COLUMNS ? length : j0 + AX_BATCH_FLUSH_COLUMNS;
            __m256i acc = _mm256_setzero_si256();
            for (int64_t j = j0; j < j1; j++) {
                const uint8_t *column = centres_t + j * centres_stride + block;
                acc = _mm256_sub_epi8(acc, _mm256_cmpeq_epi8(_mm256_loadu_si256((const __m256i *)column),
                                                             _mm256_set1_epi8((char)row[j])));
            }
            flush_avx2(acc, scratch + block);
        }
    }
    return argmax_first(scratch, num_centres);
}
#endif

ax_batch_nearest_fn ax_batch_nearest_kernel(void) {
#if AX_BATCH_HAVE_AVX2
    if (ax_cpu_path_resolved() >= AX_CPU_PATH_AVX2) return nearest_avx2;
#endif
    return ax_batch_nearest_portable;
}
