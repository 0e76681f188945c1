/*
 * bf16_pairs.h — the product of AVX512-BF16 kernels: c += a . b with a and b as bf16 pairs, each
 * vdpbf16ps multiplying 16 lanes of two pairs and adding both products into fp32 (twice the
 * multiply-adds of an fp32 FMA). A pair is one uint32: the first element in the low half. a holds a
 * row's pairs along the summed dimension, b a pair row per two steps of it, so a row of p (keys
 * consecutive) converted to bf16 is already a's layout, and b is two rows interleaved.
 *
 * Only for the avx512 build of a kernel body (AX_BF16_PAIRS is defined there); the caller checks
 * AX_CPU_HAS_AVX512BF16 at run time before taking this path. Static inline, like vec.h.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_CORE_CPU_BF16_PAIRS_H
#define AXIAL_CORE_CPU_BF16_PAIRS_H

#include <stdint.h>

#include "core/cpu/vec.h"

#if AX_VF_LANES == 16 && defined(__AVX512F__)
#include <immintrin.h>
#define AX_BF16_PAIRS 1

/* dst[0..n) = src[0..n) rounded to nearest even bf16 by vcvtne2ps2bf16 (n a multiple of 32), for a
 * row of p or dS about to become a's pairs. Unlike ax_row_f32_to_bf16 it flushes denormals to zero
 * (as vdpbf16ps would anyway). */
__attribute__((target("avx512bf16"))) static inline void ax_pairs_round(const float *restrict src,
                                                                        uint16_t *restrict dst, int64_t n) {
    for (int64_t i = 0; i < n; i += 32) {
        const __m512bh x = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(src + i + 16), _mm512_loadu_ps(src + i));
        _mm512_storeu_si512(dst + i, (__m512i)x);
    }
}

/* dst[rp * cols + j] = (s[2 rp][j], s[2 rp + 1][j]) rounded as ax_pairs_round, for rows / 2 row
 * pairs (rows even; row stride lds) and cols columns (a multiple of 16): two rows of p or dS as
 * pair rows, the a of a product summed over those rows (a_rs = 1, a_cs = cols). */
__attribute__((target("avx512bf16"))) static inline void ax_pairs_of_rows(const float *restrict s, int64_t lds,
                                                                          int64_t rows, int64_t cols,
                                                                          uint32_t *restrict dst) {
    for (int64_t rp = 0; rp < rows / 2; rp++) {
        const float *r0 = s + 2 * rp * lds, *r1 = r0 + lds;
        for (int64_t j = 0; j < cols; j += 16) {
            const __m512i lo = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(r0 + j)));
            const __m512i hi = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(r1 + j)));
            _mm512_storeu_si512(dst + rp * cols + j, _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16)));
        }
    }
}

/* Transposes a 16 x 16 block of 32-bit elements held in r[0..16) (row i in r[i]) in place: 32-bit
 * then 64-bit interleaves make 4 x 4 transposes inside each 128-bit lane, two lane shuffles put them
 * in place (64 shuffles in all, no memory round trip). */
static inline __attribute__((always_inline)) void ax_transpose16_u32(__m512i r[16]) {
    __m512i a[16], b[16];
    for (int i = 0; i < 16; i += 2) {
        a[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
        a[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
    }
    /* b[4i + c], 128-bit lane L: element 4L + c of rows 4i .. 4i + 3 */
    for (int i = 0; i < 16; i += 4) {
        b[i] = _mm512_unpacklo_epi64(a[i], a[i + 2]);
        b[i + 1] = _mm512_unpackhi_epi64(a[i], a[i + 2]);
        b[i + 2] = _mm512_unpacklo_epi64(a[i + 1], a[i + 3]);
        b[i + 3] = _mm512_unpackhi_epi64(a[i + 1], a[i + 3]);
    }
    for (int c = 0; c < 4; c++) {
        const __m512i c1 = _mm512_shuffle_i32x4(b[c], b[4 + c], 0x88); /* lanes 0, 2 of each */
        const __m512i c2 = _mm512_shuffle_i32x4(b[c], b[4 + c], 0xdd); /* lanes 1, 3 */
        const __m512i c3 = _mm512_shuffle_i32x4(b[8 + c], b[12 + c], 0x88);
        const __m512i c4 = _mm512_shuffle_i32x4(b[8 + c], b[12 + c], 0xdd);
        r[c] = _mm512_shuffle_i32x4(c1, c3, 0x88);
        r[4 + c] = _mm512_shuffle_i32x4(c2, c4, 0x88);
        r[8 + c] = _mm512_shuffle_i32x4(c1, c3, 0xdd);
        r[12 + c] = _mm512_shuffle_i32x4(c2, c4, 0xdd);
    }
}

/* The pairs (lo[i], hi[i]) of two 16-lane vectors rounded as ax_pairs_round: lane i's 32 bits hold
 * lo[i]'s bf16 in the low half, hi[i]'s in the high half (one vcvtne2ps2bf16, one vpermw). */
__attribute__((target("avx512bf16,avx512bw"))) static inline __m512i ax_pairs_of_lanes(__m512 lo, __m512 hi) {
    /* vcvtne2ps2bf16 puts lo's 16 values in words 0-15 and hi's in 16-31; word 2i takes i, 2i+1 16+i */
    const __m512i interleave = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7,
                                                22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    return _mm512_permutexvar_epi16(interleave, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
}

/* acc[r][v] = a . b for `rows` (<= 8) rows of a (np pairs each, row r at a + r * np) and `vecs` (1 or
 * 2) 16-column vectors of b from b0 (pair row p at b0 + p * ldb): the product inside the logits
 * kernels, whose epilogues (scale, bias, mask, row maxima) differ. rows and vecs are constants at
 * every call, so acc stays in registers. */
__attribute__((target("avx512bf16"))) static inline __attribute__((always_inline)) void
ax_pairs_dot_rows(const int rows, const int vecs, int64_t np, const uint32_t *restrict a, const uint32_t *restrict b0,
                  int64_t ldb, __m512 acc[8][2]) {
    for (int r = 0; r < rows; r++)
        for (int v = 0; v < vecs; v++) acc[r][v] = _mm512_setzero_ps();
    for (int64_t p = 0; p < np; p++) {
        __m512bh bv[2];
        for (int v = 0; v < vecs; v++) bv[v] = (__m512bh)_mm512_loadu_si512(b0 + p * ldb + 16 * v);
        for (int r = 0; r < rows; r++) {
            const __m512bh x = (__m512bh)_mm512_set1_epi32((int)a[r * np + p]);
            for (int v = 0; v < vecs; v++) acc[r][v] = _mm512_dpbf16_ps(acc[r][v], x, bv[v]);
        }
    }
}

/* c rows (rows <= 8, row stride ldc) = diag(alpha) c + a . b over np pairs (alpha NULL: c + a . b),
 * for the 32 columns from d0 (m0, m1: the columns of its two 16-lane halves that exist). a's pair p
 * of row r is a[r * a_rs + p * a_cs], b's pair row p is b[p * ldb ..]. */
__attribute__((target("avx512bf16"))) static inline __attribute__((always_inline)) void
ax_pairs_block(const int rows, int64_t np, const uint32_t *restrict a, int64_t a_rs, int64_t a_cs,
               const uint32_t *restrict b, int64_t ldb, int64_t d0, __mmask16 m0, __mmask16 m1, float *restrict c,
               int64_t ldc, const float *restrict alpha) {
    __m512 acc[8][2];
    for (int r = 0; r < rows; r++) {
        acc[r][0] = _mm512_maskz_loadu_ps(m0, c + r * ldc + d0);
        acc[r][1] = _mm512_maskz_loadu_ps(m1, c + r * ldc + d0 + 16);
        if (alpha != NULL) {
            const __m512 s = _mm512_set1_ps(alpha[r]);
            acc[r][0] = _mm512_mul_ps(acc[r][0], s);
            acc[r][1] = _mm512_mul_ps(acc[r][1], s);
        }
    }
    for (int64_t p = 0; p < np; p++) {
        const __m512bh b0 = (__m512bh)_mm512_maskz_loadu_epi32(m0, b + p * ldb + d0);
        const __m512bh b1 = (__m512bh)_mm512_maskz_loadu_epi32(m1, b + p * ldb + d0 + 16);
        for (int r = 0; r < rows; r++) {
            const __m512bh x = (__m512bh)_mm512_set1_epi32((int)a[r * a_rs + p * a_cs]);
            acc[r][0] = _mm512_dpbf16_ps(acc[r][0], x, b0);
            acc[r][1] = _mm512_dpbf16_ps(acc[r][1], x, b1);
        }
    }
    for (int r = 0; r < rows; r++) {
        _mm512_mask_storeu_ps(c + r * ldc + d0, m0, acc[r][0]);
        _mm512_mask_storeu_ps(c + r * ldc + d0 + 16, m1, acc[r][1]);
    }
}

/* c (m x n, row stride ldc) = diag(alpha) c + a . b (alpha NULL: c + a . b) from bf16 pairs: a (m
 * rows of np pairs, pair p of row r at a[r * a_rs + p * a_cs], so a transposed costs nothing), b
 * (np pair rows of n columns, row stride ldb). */
__attribute__((target("avx512bf16"))) static inline void
ax_pairs_gemm(int64_t m, int64_t n, int64_t np, const uint32_t *restrict a, int64_t a_rs, int64_t a_cs,
              const uint32_t *restrict b, int64_t ldb, float *restrict c, int64_t ldc, const float *restrict alpha) {
    for (int64_t d0 = 0; d0 < n; d0 += 32) {
        const int64_t n0 = n - d0 < 16 ? n - d0 : 16, n1 = n - d0 - 16 < 0 ? 0 : n - d0 - 16 < 16 ? n - d0 - 16 : 16;
        const __mmask16 m0 = (__mmask16)((1u << n0) - 1u), m1 = (__mmask16)((1u << n1) - 1u);
        int64_t i = 0;
        for (; i + 8 <= m; i += 8)
            ax_pairs_block(8, np, a + i * a_rs, a_rs, a_cs, b, ldb, d0, m0, m1, c + i * ldc, ldc,
                           alpha != NULL ? alpha + i : NULL);
        const uint32_t *ai = a + i * a_rs;
        float *ci = c + i * ldc;
        const float *si = alpha != NULL ? alpha + i : NULL;
        switch (m - i) {
        case 7: ax_pairs_block(7, np, ai, a_rs, a_cs, b, ldb, d0, m0, m1, ci, ldc, si); break;
        case 6: ax_pairs_block(6, np, ai, a_rs, a_cs, b, ldb, d0, m0, m1, ci, ldc, si); break;
        case 5: ax_pairs_block(5, np, ai, a_rs, a_cs, b, ldb, d0, m0, m1, ci, ldc, si); break;
        case 4: ax_pairs_block(4, np, ai, a_rs, a_cs, b, ldb, d0, m0, m1, ci, ldc, si); break;
        case 3: ax_pairs_block(3, np, ai, a_rs, a_cs, b, ldb, d0, m0, m1, ci, ldc, si); break;
        case 2: ax_pairs_block(2, np, ai, a_rs, a_cs, b, ldb, d0, m0, m1, ci, ldc, si); break;
        case 1: ax_pairs_block(1, np, ai, a_rs, a_cs, b, ldb, d0, m0, m1, ci, ldc, si); break;
        default: break;
        }
    }
}

#endif
#endif /* AXIAL_CORE_CPU_BF16_PAIRS_H */
