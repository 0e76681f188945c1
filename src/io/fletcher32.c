/*
 * fletcher32.c — see fletcher32.h.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "io/fletcher32.h"

#include "core/internal.h"

#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
#  define AX_FLETCHER32_HAVE_AVX2 1
#  include <immintrin.h>
#else
#  define AX_FLETCHER32_HAVE_AVX2 0
#endif

uint32_t ax_fletcher32_portable(const uint8_t *data, size_t len) {
    uint32_t sum1 = 0, sum2 = 0;
    size_t words = len / 2;
    /* 360 words keep both sums inside 32 bits before each fold. */
    while (words > 0) {
        size_t n = words < 360 ? words : 360;
        words -= n;
        for (; n > 0; n--, data += 2) {
            sum1 += ((uint32_t)data[0] << 8) | data[1];
            sum2 += sum1;
        }
        sum1 = (sum1 & 0xffff) + (sum1 >> 16);
        sum2 = (sum2 & 0xffff) + (sum2 >> 16);
    }
    if (len % 2) {
        sum1 += (uint32_t)data[0] << 8;
        sum2 += sum1;
        sum1 = (sum1 & 0xffff) + (sum1 >> 16);
        sum2 = (sum2 & 0xffff) + (sum2 >> 16);
    }
    sum1 = (sum1 & 0xffff) + (sum1 >> 16);
    sum2 = (sum2 & 0xffff) + (sum2 >> 16);
    return (sum2 << 16) | sum1;
}

#if AX_FLETCHER32_HAVE_AVX2
/* The same checksum 16 words per step. With words w_0..w_{n-1}, HDF5's two sums are
 * sum1 = sum(w_i) and sum2 = sum((n - i) * w_i), each folded mod 65535; folding keeps every
 * nonzero sum nonzero, so the result is the residue, with 0xffff standing for a nonzero multiple of
 * 65535, and 0 only when every word is 0. Here each 32-bit lane k keeps A_k = sum of its words and
 * B_k = sum of (T - t) * its word of step t over T steps; then sum1 = sum A_k and
 * sum2 = 16 * sum B_k - sum offset_k * A_k, offset_k being lane k's word within a step. Segments of
 * 256 steps keep B_k inside 32 bits; they are combined as sum2 = sum2 + n_segment * sum1 +
 * segment sum2, reduced mod 65535 in 64-bit arithmetic. */
__attribute__((target("avx2"))) static uint32_t fletcher32_avx2(const uint8_t *data, size_t len) {
    /* Big-endian words to little-endian, then widened: unpacklo takes words 0-3 and 8-11 of a step,
     * unpackhi words 4-7 and 12-15 (AVX2 unpacks within 128-bit halves). */
    const __m256i swap = _mm256_setr_epi8(1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14, 1, 0, 3, 2, 5, 4, 7, 6,
                                          9, 8, 11, 10, 13, 12, 15, 14);
    const __m256i offset_lo = _mm256_setr_epi32(0, 1, 2, 3, 8, 9, 10, 11);
    const __m256i offset_hi = _mm256_setr_epi32(4, 5, 6, 7, 12, 13, 14, 15);
    const __m256i zero = _mm256_setzero_si256();
    uint64_t sum1 = 0, sum2 = 0;
    __m256i any = zero;
    const size_t steps = len / 32;
    size_t step = 0;
    while (step < steps) {
        const size_t segment = steps - step < 256 ? steps - step : 256;
        __m256i a_lo = zero, a_hi = zero, b_lo = zero, b_hi = zero;
        for (size_t t = 0; t < segment; t++) {
            const __m256i v = _mm256_loadu_si256((const __m256i *)(data + 32 * (step + t)));
            any = _mm256_or_si256(any, v);
            const __m256i words = _mm256_shuffle_epi8(v, swap);
            a_lo = _mm256_add_epi32(a_lo, _mm256_unpacklo_epi16(words, zero));
            a_hi = _mm256_add_epi32(a_hi, _mm256_unpackhi_epi16(words, zero));
            b_lo = _mm256_add_epi32(b_lo, a_lo);
            b_hi = _mm256_add_epi32(b_hi, a_hi);
        }
        uint32_t a[16], b[16], weighted[16];
        _mm256_storeu_si256((__m256i *)a, a_lo);
        _mm256_storeu_si256((__m256i *)(a + 8), a_hi);
        _mm256_storeu_si256((__m256i *)b, b_lo);
        _mm256_storeu_si256((__m256i *)(b + 8), b_hi);
        _mm256_storeu_si256((__m256i *)weighted, _mm256_mullo_epi32(a_lo, offset_lo));
        _mm256_storeu_si256((__m256i *)(weighted + 8), _mm256_mullo_epi32(a_hi, offset_hi));
        uint64_t seg1 = 0, seg_b = 0, seg_w = 0;
        for (int k = 0; k < 16; k++) {
            seg1 += a[k];
            seg_b += b[k];
            seg_w += weighted[k];
        }
        sum2 = (sum2 + (uint64_t)(16 * segment) * sum1 + 16 * seg_b - seg_w) % 65535;
        sum1 = (sum1 + seg1) % 65535;
        step += segment;
    }
    uint32_t nonzero = !_mm256_testz_si256(any, any);
    size_t i = 32 * steps;
    for (; i + 1 < len; i += 2) {
        const uint32_t word = ((uint32_t)data[i] << 8) | data[i + 1];
        nonzero |= word;
        sum1 += word;
        sum2 += sum1;
    }
    if (i < len) {
        nonzero |= data[i];
        sum1 += (uint32_t)data[i] << 8;
        sum2 += sum1;
    }
    if (!nonzero) return 0;
    sum1 %= 65535;
    sum2 %= 65535;
    return (uint32_t)((sum2 ? sum2 : 65535) << 16 | (sum1 ? sum1 : 65535));
}
#endif

uint32_t ax_fletcher32(const uint8_t *data, size_t len) {
#if AX_FLETCHER32_HAVE_AVX2
    if (ax_cpu_path_resolved() >= AX_CPU_PATH_AVX2) return fletcher32_avx2(data, len);
#endif
    return ax_fletcher32_portable(data, len);
}
