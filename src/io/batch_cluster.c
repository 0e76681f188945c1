/*
 * batch_cluster.c — nearest-centre assignment of MSA rows, the only part of a training batch whose
 * cost is (rows x centres x columns); everything else is linear in the batch's size. Also the
 * sparse scan of each row's deletion counts, the other per-row kernel of that pass.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 *
 * Agreement counts are accumulated in 8-bit lanes (one byte per centre, 32 centres per AVX2
 * register) for at most 255 columns at a time and then flushed into 32-bit totals, so any length
 * works without overflow. The centres are stored column-major (one padded row of centre tokens per
 * alignment column), so one row entry touches one contiguous run of bytes.
 */
#include <string.h>

#include "axial/features.h"
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
/* Columns are taken 16 at a time; a group that is all gaps is skipped. Real alignments have long
 * gap runs (unaligned termini), so this skips much of the work without a branch per column, which
 * scattered gaps would mispredict. */
#define AX_BATCH_GROUP 16

/* Adds the 8-bit lane counts of `acc` to 32 totals. */
__attribute__((target("avx2"))) static inline void flush_avx2(__m256i acc, uint32_t *totals) {
    const __m128i lo = _mm256_castsi256_si128(acc), hi = _mm256_extracti128_si256(acc, 1);
    const __m128i parts[4] = {lo, _mm_srli_si128(lo, 8), hi, _mm_srli_si128(hi, 8)};
    for (int p = 0; p < 4; p++) {
        __m256i *dst = (__m256i *)(totals + 8 * p);
        _mm256_storeu_si256(dst, _mm256_add_epi32(_mm256_loadu_si256(dst), _mm256_cvtepu8_epi32(parts[p])));
    }
}

/* Agreement of one row with `blocks` (1 to 4) consecutive blocks of 32 centres starting at
 * `first`; inlined with a constant `blocks` so the accumulators live in registers. cmpeq gives
 * 0xFF (= -1) on a match, so subtracting it adds one. */
__attribute__((target("avx2"), always_inline)) static inline void agree_blocks_avx2(
    const uint8_t *centres_t, int64_t centres_stride, int64_t first, const int blocks, const uint8_t *row,
    int64_t length, uint32_t *totals) {
    __m256i acc[4];
    for (int k = 0; k < blocks; k++) acc[k] = _mm256_setzero_si256();
    const __m128i gap = _mm_set1_epi8((char)AX_MSA_GAP);
    int64_t since_flush = 0;
    int64_t j = 0;
    for (; j < length; j += AX_BATCH_GROUP) {
        const int64_t group_end = length - j < AX_BATCH_GROUP ? length : j + AX_BATCH_GROUP;
        if (group_end - j == AX_BATCH_GROUP &&
            _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(row + j)), gap)) == 0xFFFF)
            continue;
        if (since_flush + AX_BATCH_GROUP > AX_BATCH_FLUSH_COLUMNS) {
            for (int k = 0; k < blocks; k++) {
                flush_avx2(acc[k], totals + first + 32 * k);
                acc[k] = _mm256_setzero_si256();
            }
            since_flush = 0;
        }
        since_flush += group_end - j;
        for (int64_t c = j; c < group_end; c++) {
            const uint8_t *column = centres_t + c * centres_stride + first;
            const __m256i token = _mm256_set1_epi8((char)row[c]);
            for (int k = 0; k < blocks; k++)
                acc[k] = _mm256_sub_epi8(acc[k], _mm256_cmpeq_epi8(_mm256_loadu_si256((const __m256i *)(column + 32 * k)), token));
        }
    }
    for (int k = 0; k < blocks; k++) flush_avx2(acc[k], totals + first + 32 * k);
}

/* argmax_first over totals[0, num_centres) with the rest of the padded block ignored: the maximum by
 * vector max, then the first lane that holds it. Branch-free until the end, which matters because
 * the running maximum of near-tied agreements moves unpredictably. */
__attribute__((target("avx2"))) static int32_t argmax_first_avx2(const uint32_t *totals, int64_t num_centres,
                                                                 int64_t centres_stride) {
    /* Padding lanes count nothing (their centre bytes never match), but a zero can still tie a
     * real maximum of zero; lanes past num_centres are masked out below. */
    __m256i best = _mm256_setzero_si256();
    for (int64_t k = 0; k < centres_stride; k += 8)
        best = _mm256_max_epu32(best, _mm256_loadu_si256((const __m256i *)(totals + k)));
    __m128i m = _mm_max_epu32(_mm256_castsi256_si128(best), _mm256_extracti128_si256(best, 1));
    m = _mm_max_epu32(m, _mm_shuffle_epi32(m, 0x4E));
    m = _mm_max_epu32(m, _mm_shuffle_epi32(m, 0xB1));
    const __m256i max_all = _mm256_broadcastd_epi32(m);
    for (int64_t k = 0; k < num_centres; k += 8) {
        const __m256i eq = _mm256_cmpeq_epi32(_mm256_loadu_si256((const __m256i *)(totals + k)), max_all);
        const unsigned mask = (unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(eq));
        if (mask != 0) {
            int lane = 0;
            while (!(mask & (1u << lane))) lane++;
            return (int32_t)(k + lane); /* k + lane < num_centres: padding never exceeds a real lane */
        }
    }
    return 0;
}

__attribute__((target("avx2"))) static int32_t nearest_avx2(const uint8_t *centres_t, int64_t num_centres,
                                                            int64_t centres_stride, const uint8_t *row,
                                                            int64_t length, uint32_t *scratch) {
    memset(scratch, 0, (size_t)centres_stride * sizeof *scratch);
    /* Four blocks (128 centres, AF2's default) per pass share each broadcast of the row's token. */
    int64_t block = 0;
    for (; block + 4 * AX_BATCH_CENTRE_BLOCK <= centres_stride; block += 4 * AX_BATCH_CENTRE_BLOCK)
        agree_blocks_avx2(centres_t, centres_stride, block, 4, row, length, scratch);
    for (; block < centres_stride; block += AX_BATCH_CENTRE_BLOCK)
        agree_blocks_avx2(centres_t, centres_stride, block, 1, row, length, scratch);
    return argmax_first_avx2(scratch, num_centres, centres_stride);
}
#endif

/* ---- sparse deletions ---------------------------------------------------------------------- */

int64_t ax_batch_sparse_portable(const int32_t *deletions, int64_t length, ax_batch_deletion *out, int *negative) {
    int64_t kept = 0;
    int32_t any_negative = 0;
    /* 16 at a time: a group's OR vectorises; only a nonzero group is compacted (branch-free). */
    for (int64_t i0 = 0; i0 < length; i0 += 16) {
        const int64_t i1 = length - i0 < 16 ? length : i0 + 16;
        int32_t any = 0;
        for (int64_t i = i0; i < i1; i++) any |= deletions[i];
        if (any == 0) continue;
        any_negative |= any;
        for (int64_t i = i0; i < i1; i++) {
            out[kept].col = (int32_t)i;
            out[kept].value = deletions[i];
            kept += deletions[i] != 0;
        }
    }
    *negative = any_negative < 0;
    return kept;
}

#if AX_BATCH_HAVE_AVX2
/* 8 at a time: one compare and movemask give the nonzero lanes as bits, and only those are
 * written (the scalar group version spent most of its time compacting groups whose few nonzero
 * lanes a branch could not predict). The sign bits of all values are ORed for the negative check. */
__attribute__((target("avx2,bmi"))) static int64_t sparse_avx2(const int32_t *deletions, int64_t length,
                                                               ax_batch_deletion *out, int *negative) {
    const __m256i zero = _mm256_setzero_si256();
    __m256i signs = zero;
    int64_t kept = 0, i = 0;
    for (; i + 8 <= length; i += 8) {
        const __m256i v = _mm256_loadu_si256((const __m256i *)(deletions + i));
        signs = _mm256_or_si256(signs, v);
        unsigned bits = ~(unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(v, zero))) & 0xFFu;
        while (bits != 0) {
            const unsigned lane = (unsigned)__builtin_ctz(bits);
            out[kept].col = (int32_t)(i + lane);
            out[kept].value = deletions[i + lane];
            kept++;
            bits &= bits - 1;
        }
    }
    int32_t tail_or = 0;
    for (; i < length; i++) {
        tail_or |= deletions[i];
        if (deletions[i] != 0) {
            out[kept].col = (int32_t)i;
            out[kept].value = deletions[i];
            kept++;
        }
    }
    *negative = _mm256_movemask_ps(_mm256_castsi256_ps(signs)) != 0 || tail_or < 0;
    return kept;
}
#endif

int64_t ax_batch_sparse_bytes_portable(const uint8_t *deletions, int64_t length, ax_batch_deletion *out) {
    int64_t kept = 0;
    /* As the int32 version: a group's OR vectorises, and only nonzero groups are compacted. */
    for (int64_t i0 = 0; i0 < length; i0 += 16) {
        const int64_t i1 = length - i0 < 16 ? length : i0 + 16;
        uint8_t any = 0;
        for (int64_t i = i0; i < i1; i++) any |= deletions[i];
        if (any == 0) continue;
        for (int64_t i = i0; i < i1; i++) {
            out[kept].col = (int32_t)i;
            out[kept].value = deletions[i];
            kept += deletions[i] != 0;
        }
    }
    return kept;
}

#if AX_BATCH_HAVE_AVX2
/* 32 bytes per compare; only the nonzero lanes' bits are visited. */
__attribute__((target("avx2,bmi"))) static int64_t sparse_bytes_avx2(const uint8_t *deletions, int64_t length,
                                                                     ax_batch_deletion *out) {
    const __m256i zero = _mm256_setzero_si256();
    int64_t kept = 0, i = 0;
    for (; i + 32 <= length; i += 32) {
        const __m256i v = _mm256_loadu_si256((const __m256i *)(deletions + i));
        unsigned bits = ~(unsigned)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, zero));
        while (bits != 0) {
            const unsigned lane = (unsigned)__builtin_ctz(bits);
            out[kept].col = (int32_t)(i + lane);
            out[kept].value = deletions[i + lane];
            kept++;
            bits &= bits - 1;
        }
    }
    for (; i < length; i++) {
        if (deletions[i] != 0) {
            out[kept].col = (int32_t)i;
            out[kept].value = deletions[i];
            kept++;
        }
    }
    return kept;
}
#endif

ax_batch_sparse_bytes_fn ax_batch_sparse_bytes_kernel(void) {
#if AX_BATCH_HAVE_AVX2
    if (ax_cpu_path_resolved() >= AX_CPU_PATH_AVX2) return sparse_bytes_avx2;
#endif
    return ax_batch_sparse_bytes_portable;
}

ax_batch_sparse_fn ax_batch_sparse_kernel(void) {
#if AX_BATCH_HAVE_AVX2
    if (ax_cpu_path_resolved() >= AX_CPU_PATH_AVX2) return sparse_avx2;
#endif
    return ax_batch_sparse_portable;
}

ax_batch_nearest_fn ax_batch_nearest_kernel(void) {
#if AX_BATCH_HAVE_AVX2
    if (ax_cpu_path_resolved() >= AX_CPU_PATH_AVX2) return nearest_avx2;
#endif
    return ax_batch_nearest_portable;
}
