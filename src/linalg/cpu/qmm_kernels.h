/*
 * qmm_kernels.h — the pieces of ax_qmatmul's CPU kernel that other ops reuse so that their rows are
 * bit for bit ax_qmatmul's (ax_moe_grouped_gemm): x quantized or widened per row, w unpacked into a
 * panel of QMM_NR rows, the panel's dot products with rows of x, and the decode (M = 1) path. Static
 * functions, included by a kernel body compiled once per instruction-set path (cmake/isa.cmake), so
 * every includer gets the same code for the same path. The arithmetic is described in
 * qmatmul.isa.inc. Never installed.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_LINALG_CPU_QMM_KERNELS_H
#define AXIAL_LINALG_CPU_QMM_KERNELS_H

#include <math.h>
#include <stdint.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include "core/cpu/vec.h"
#include "core/dtype_traits.h"
#include "core/internal.h"
#include "core/quant_blocks.h" /* only the fp16 reader and Q4_K's scale unpacking: no rounding here */
#include "linalg/qmatmul_params.h"

/* Where one thread's panel lives. Quantized w: levels [QMM_NR][kc], lane scales [QMM_NR][kc/32][8],
 * offset lanes [kc/32][8] (lane r: row r's offset for the block's first 16 elements, lane 4 + r: for
 * its last 16). Float w: values [QMM_NR][kc]. */
typedef struct qmm_panel {
    uint8_t *q;
    float *scale;
    float *offset;
    float *f;
    int64_t kc;
} qmm_panel;

/* ---- x: quantized per block of 32, or widened ---- */

/* One row of x (K elements, K a multiple of 32) into int8 levels q, fp32 scales d (K/32, one per
 * block, equal within a group of qmm_x_group(K) elements, which share the scale amax / 127 of the
 * group) and sum lanes s (K/32 x 8: the scale times the sum of the block's first 16 levels in lanes
 * 0-3, of its last 16 in lanes 4-7). A group holding NaN or Inf gets NaN scales, so the rows it
 * meets become NaN as with the exact product. */
static inline void quantize_x_row(const void *x, ax_dtype dt, int64_t K, int8_t *q, float *d, float *s) {
    const int64_t G = qmm_x_group(K);
    float v[256];
    for (int64_t g0 = 0; g0 < K; g0 += G) {
        if (dt == AX_F32) memcpy(v, (const float *)x + g0, (size_t)G * sizeof(float));
        else ax_row_bf16_to_f32((const uint16_t *)x + g0, v, G);
        float amax = 0.0f;
        int finite = 1;
#if defined(__AVX2__)
        /* The same amax (a maximum is exact in any order) and the same finiteness test, 8 lanes at a
         * time; a lane holding NaN fails the ordered compare as the scalar test does. */
        {
            const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
            const __m256 big = _mm256_set1_ps(3.4028234663852886e38f);
            __m256 vmax = _mm256_setzero_ps(), ok = _mm256_castsi256_ps(_mm256_set1_epi32(-1));
            for (int64_t i = 0; i < G; i += 8) {
                const __m256 a = _mm256_and_ps(_mm256_loadu_ps(v + i), absmask);
                vmax = _mm256_max_ps(vmax, a);
                ok = _mm256_and_ps(ok, _mm256_cmp_ps(a, big, _CMP_LE_OQ));
            }
            finite = _mm256_movemask_ps(ok) == 0xff;
            __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(vmax), _mm256_extractf128_ps(vmax, 1));
            m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
            m4 = _mm_max_ss(m4, _mm_shuffle_ps(m4, m4, 1));
            amax = _mm_cvtss_f32(m4);
        }
#else
        for (int64_t i = 0; i < G; i++) {
            const float a = fabsf(v[i]);
            amax = a > amax ? a : amax;
            finite &= a <= 3.4028234663852886e38f;
        }
#endif
        const float scale = finite ? amax / 127.0f : NAN, inv = finite && amax > 0.0f ? 127.0f / amax : 0.0f;
#if defined(__AVX2__)
        if (finite) {
            /* Finite group: rintf(v * inv) (one rounding of the product, then to nearest even, as
             * the scalar loop below), clamped, packed to int8; the block sums from the exact int32
             * levels. |v * inv| <= 127 (+ rounding), so the packs never saturate. */
            const __m256 vinv = _mm256_set1_ps(inv), hi = _mm256_set1_ps(127.0f), lo = _mm256_set1_ps(-127.0f);
            const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
            for (int64_t b = g0 / 32; b < (g0 + G) / 32; b++) {
                __m256i l[4];
                for (int j = 0; j < 4; j++) {
                    __m256 t = _mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(v + 32 * b - g0 + 8 * j), vinv),
                                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
                    t = _mm256_min_ps(_mm256_max_ps(t, lo), hi);
                    l[j] = _mm256_cvtps_epi32(t);
                }
                const __m256i packed = _mm256_packs_epi16(_mm256_packs_epi32(l[0], l[1]), _mm256_packs_epi32(l[2], l[3]));
                _mm256_storeu_si256((__m256i *)(q + 32 * b), _mm256_permutevar8x32_epi32(packed, order));
                const __m256i h0 = _mm256_add_epi32(l[0], l[1]), h1 = _mm256_add_epi32(l[2], l[3]);
                __m128i s0 = _mm_add_epi32(_mm256_castsi256_si128(h0), _mm256_extracti128_si256(h0, 1));
                __m128i s1 = _mm_add_epi32(_mm256_castsi256_si128(h1), _mm256_extracti128_si256(h1, 1));
                s0 = _mm_hadd_epi32(s0, s1); /* s0 pairs, s1 pairs */
                s0 = _mm_hadd_epi32(s0, s0); /* sum0, sum1, sum0, sum1 */
                const int sum0 = _mm_cvtsi128_si32(s0), sum1 = _mm_extract_epi32(s0, 1);
                d[b] = scale;
                _mm256_storeu_ps(s + 8 * b, _mm256_setr_ps(scale * (float)sum0, scale * (float)sum0, scale * (float)sum0,
                                                           scale * (float)sum0, scale * (float)sum1, scale * (float)sum1,
                                                           scale * (float)sum1, scale * (float)sum1));
            }
            continue;
        }
#endif
        for (int64_t i = 0; i < G; i++) {
            float l = rintf(v[i] * inv);
            l = l > 127.0f ? 127.0f : l < -127.0f ? -127.0f : l;
            q[g0 + i] = (int8_t)l;
        }
        for (int64_t b = g0 / 32; b < (g0 + G) / 32; b++) {
            const int8_t *qb = q + 32 * b;
            int sum0 = 0, sum1 = 0;
            for (int i = 0; i < 16; i++) {
                sum0 += qb[i];
                sum1 += qb[16 + i];
            }
            d[b] = scale;
            for (int l = 0; l < 4; l++) {
                s[8 * b + l] = scale * (float)sum0;
                s[8 * b + 4 + l] = scale * (float)sum1;
            }
        }
    }
}

static inline void widen_x_row(const void *x, ax_dtype dt, int64_t K, float *out) {
    if (dt == AX_F32) ax_row_copy_f32(out, (const float *)x, K);
    else ax_row_bf16_to_f32((const uint16_t *)x, out, K);
}

/* ---- w: one row's chunk [k0, k0 + kc) into the panel's row r ---- */

/* A little-endian fp16 scale: the F16C instruction where the path has it (exact either way). */
static inline float f16_at(const uint8_t *p) {
#if defined(__F16C__)
    return _cvtsh_ss((unsigned short)(p[0] | (p[1] << 8)));
#else
    return ax_get_f16(p);
#endif
}

static inline void fill_lanes(float *lanes, float a0, float a1) {
    for (int i = 0; i < 4; i++) {
        lanes[i] = a0;
        lanes[4 + i] = a1;
    }
}

/* Row r of the panel; offset points at the panel's offset lanes (row r writes lanes r and 4 + r). */
static inline void unpack_row(ax_dtype dt, const uint8_t *row, int64_t k0, int64_t kc, int r, uint8_t *q, float *scale,
                       float *offset) {
    switch (dt) {
    case AX_Q4_0:
    case AX_Q4_1: {
        const int64_t bytes = dt == AX_Q4_0 ? 18 : 20, head = dt == AX_Q4_0 ? 2 : 4;
        for (int64_t b = 0; b < kc / 32; b++) {
            const uint8_t *blk = row + (k0 / 32 + b) * bytes;
            const float dd = f16_at(blk);
            const float off = dt == AX_Q4_0 ? -8.0f * dd : f16_at(blk + 2);
            uint8_t *qb = q + 32 * b;
#if defined(__AVX2__)
            const __m128i packed = _mm_loadu_si128((const __m128i *)(blk + head));
            const __m128i lo = _mm_and_si128(packed, _mm_set1_epi8(0x0f));
            const __m128i hi = _mm_and_si128(_mm_srli_epi16(packed, 4), _mm_set1_epi8(0x0f));
            _mm256_storeu_si256((__m256i *)qb, _mm256_set_m128i(hi, lo));
            _mm256_storeu_ps(scale + 8 * b, _mm256_set1_ps(dd));
#else
            for (int i = 0; i < 16; i++) {
                qb[i] = blk[head + i] & 0x0f;
                qb[16 + i] = blk[head + i] >> 4;
            }
            fill_lanes(scale + 8 * b, dd, dd);
#endif
            offset[8 * b + r] = offset[8 * b + 4 + r] = off;
        }
        break;
    }
    case AX_Q8_0:
        for (int64_t b = 0; b < kc / 32; b++) {
            const uint8_t *blk = row + (k0 / 32 + b) * 34;
            const float dd = f16_at(blk);
            memcpy(q + 32 * b, blk + 2, 32);
#if defined(__AVX2__)
            _mm256_storeu_ps(scale + 8 * b, _mm256_set1_ps(dd));
#else
            fill_lanes(scale + 8 * b, dd, dd);
#endif
            offset[8 * b + r] = offset[8 * b + 4 + r] = 0.0f;
        }
        break;
    case AX_Q4_K:
        for (int64_t sb = 0; sb < kc / 256; sb++) {
            const uint8_t *blk = row + (k0 / 256 + sb) * 144;
            const float dd = f16_at(blk), dmin = f16_at(blk + 2);
            const uint8_t *qs = blk + 16;
            for (int j = 0; j < 8; j++) {
                int sc, mn;
                ax_q4_k_get_scale_min(blk + 4, j, &sc, &mn);
                const int64_t b = sb * 8 + j;
                const float step = dd * (float)sc, m = dmin * (float)mn;
                const int shift = 4 * (j % 2);
                uint8_t *qb = q + 32 * b;
                for (int i = 0; i < 32; i++) qb[i] = (uint8_t)((qs[32 * (j / 2) + i] >> shift) & 0x0f);
                fill_lanes(scale + 8 * b, step, step);
                offset[8 * b + r] = offset[8 * b + 4 + r] = -m;
            }
        }
        break;
    case AX_Q6_K:
        for (int64_t sb = 0; sb < kc / 256; sb++) {
            const uint8_t *blk = row + (k0 / 256 + sb) * 210;
            const float dd = f16_at(blk + 208);
            const int8_t *scales = (const int8_t *)(blk + 192);
            uint8_t *qb = q + 256 * sb;
            /* Element 128 h + r: low nibble r / 64 of ql[64 h + r % 64], bit pair r / 32 of
             * qh[32 h + r % 32] (quant_blocks.h), written out by quarters of 32. */
            for (int h = 0; h < 2; h++) {
                const uint8_t *ql = blk + 64 * h, *qh = blk + 128 + 32 * h;
                for (int i = 0; i < 32; i++) {
                    qb[128 * h + i] = (uint8_t)((ql[i] & 0x0f) | ((qh[i] & 3) << 4));
                    qb[128 * h + 32 + i] = (uint8_t)((ql[32 + i] & 0x0f) | (((qh[i] >> 2) & 3) << 4));
                    qb[128 * h + 64 + i] = (uint8_t)((ql[i] >> 4) | (((qh[i] >> 4) & 3) << 4));
                    qb[128 * h + 96 + i] = (uint8_t)((ql[32 + i] >> 4) | (((qh[i] >> 6) & 3) << 4));
                }
            }
            for (int j = 0; j < 8; j++) {
                const int64_t b = sb * 8 + j;
                const float a0 = dd * (float)scales[2 * j], a1 = dd * (float)scales[2 * j + 1];
                fill_lanes(scale + 8 * b, a0, a1);
                offset[8 * b + r] = -32.0f * a0;
                offset[8 * b + 4 + r] = -32.0f * a1;
            }
        }
        break;
    default: break;
    }
}

static inline void widen_w_row(ax_dtype dt, const uint8_t *row, int64_t k0, int64_t kc, float *out) {
    if (dt == AX_F32) ax_row_copy_f32(out, (const float *)row + k0, kc);
    else if (dt == AX_F16) ax_row_f16_to_f32((const uint16_t *)row + k0, out, kc);
    else ax_row_bf16_to_f32((const uint16_t *)row + k0, out, kc);
}

/* ---- dot products of rows of x with the panel's rows, added to sums[r] (QMM_NR = 4 rows) ---- */

#if defined(__AVX2__)
/* Exact integer dots of 4-byte groups: unsigned u times signed v. */
static inline __m256i dot_us(__m256i u, __m256i v) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, v), _mm256_set1_epi16(1));
}
/* Signed times signed, through |a| and v with a's sign (vpmaddubsw takes one unsigned side). */
static inline __m256i dot_ss(__m256i a, __m256i v) {
    return dot_us(_mm256_sign_epi8(a, a), _mm256_sign_epi8(v, a));
}
/* The lane sums of a0..a3 plus the offset lanes o (lanes r and 4 + r belong to row r), added to
 * sums[0..3]. */
static inline void reduce_rows(__m256 a0, __m256 a1, __m256 a2, __m256 a3, __m256 o, float *sums) {
    const __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
    __m128 r = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    r = _mm_add_ps(r, _mm_add_ps(_mm256_castps256_ps128(o), _mm256_extractf128_ps(o, 1)));
    _mm_storeu_ps(sums, _mm_add_ps(_mm_loadu_ps(sums), r));
}

/* Row r of the panel against x0 (into acc0) and x1 (into acc1): exact integer dots, scaled per
 * lane by w's scales. */
#define QMM_ROW_STEP(r, x0, x1, acc0, acc1)                                                                \
    do {                                                                                               \
        const __m256i wv_ = _mm256_loadu_si256((const __m256i *)(pn->q + (r) * kc + 32 * b));          \
        const __m256 sc_ = _mm256_loadu_ps(pn->scale + ((r) * nb + b) * 8);                             \
        const __m256i p0_ = is_signed ? dot_ss(wv_, x0) : dot_us(wv_, x0);                              \
        acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p0_), sc_, acc0);                                     \
        const __m256i p1_ = is_signed ? dot_ss(wv_, x1) : dot_us(wv_, x1);                              \
        acc1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p1_), sc_, acc1);                                     \
    } while (0)
#define QMM_ROW_STEP1(r, x0, acc0)                                                                     \
    do {                                                                                               \
        const __m256i wv_ = _mm256_loadu_si256((const __m256i *)(pn->q + (r) * kc + 32 * b));          \
        const __m256i p0_ = is_signed ? dot_ss(wv_, x0) : dot_us(wv_, x0);                              \
        acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p0_), _mm256_loadu_ps(pn->scale + ((r) * nb + b) * 8), acc0); \
    } while (0)

/* Two rows of x (levels xq, scales xd, sum lanes xs) against the panel's 4 rows. Within a group of
 * gb blocks x's scale is one number, so the scaled integer dots of a group are summed first and
 * multiplied by it once. is_signed and has_offset are constants at each call, so each form compiles
 * without branches in its loop. */
static inline __attribute__((always_inline)) void dots_quant_2(const qmm_panel *pn, int64_t nb, int64_t gb,
                                                               const int8_t *xq0, const float *xd0, const float *xs0,
                                                               const int8_t *xq1, const float *xd1, const float *xs1,
                                                               int is_signed, int has_offset, float *sums0,
                                                               float *sums1) {
    const int64_t kc = pn->kc;
    __m256 acc[8];
    for (int i = 0; i < 8; i++) acc[i] = _mm256_setzero_ps();
    __m256 o0 = _mm256_setzero_ps(), o1 = o0;
    for (int64_t g = 0; g < nb; g += gb) {
        __m256 a00 = _mm256_setzero_ps(), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        for (int64_t b = g; b < g + gb; b++) {
            const __m256i x0 = _mm256_loadu_si256((const __m256i *)(xq0 + 32 * b));
            const __m256i x1 = _mm256_loadu_si256((const __m256i *)(xq1 + 32 * b));
            if (has_offset) {
                const __m256 off = _mm256_loadu_ps(pn->offset + 8 * b);
                o0 = _mm256_fmadd_ps(off, _mm256_loadu_ps(xs0 + 8 * b), o0);
                o1 = _mm256_fmadd_ps(off, _mm256_loadu_ps(xs1 + 8 * b), o1);
            }
            QMM_ROW_STEP(0, x0, x1, a00, a10);
            QMM_ROW_STEP(1, x0, x1, a01, a11);
            QMM_ROW_STEP(2, x0, x1, a02, a12);
            QMM_ROW_STEP(3, x0, x1, a03, a13);
        }
        const __m256 d0 = _mm256_broadcast_ss(xd0 + g), d1 = _mm256_broadcast_ss(xd1 + g);
        acc[0] = _mm256_fmadd_ps(a00, d0, acc[0]);
        acc[1] = _mm256_fmadd_ps(a01, d0, acc[1]);
        acc[2] = _mm256_fmadd_ps(a02, d0, acc[2]);
        acc[3] = _mm256_fmadd_ps(a03, d0, acc[3]);
        acc[4] = _mm256_fmadd_ps(a10, d1, acc[4]);
        acc[5] = _mm256_fmadd_ps(a11, d1, acc[5]);
        acc[6] = _mm256_fmadd_ps(a12, d1, acc[6]);
        acc[7] = _mm256_fmadd_ps(a13, d1, acc[7]);
    }
    reduce_rows(acc[0], acc[1], acc[2], acc[3], o0, sums0);
    reduce_rows(acc[4], acc[5], acc[6], acc[7], o1, sums1);
}

static inline __attribute__((always_inline)) void dots_quant_1(const qmm_panel *pn, int64_t nb, int64_t gb,
                                                               const int8_t *xq0, const float *xd0, const float *xs0,
                                                               int is_signed, int has_offset, float *sums0) {
    const int64_t kc = pn->kc;
    __m256 c0 = _mm256_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, o0 = c0;
    for (int64_t g = 0; g < nb; g += gb) {
        __m256 a00 = _mm256_setzero_ps(), a01 = a00, a02 = a00, a03 = a00;
        for (int64_t b = g; b < g + gb; b++) {
            const __m256i x0 = _mm256_loadu_si256((const __m256i *)(xq0 + 32 * b));
            if (has_offset) o0 = _mm256_fmadd_ps(_mm256_loadu_ps(pn->offset + 8 * b), _mm256_loadu_ps(xs0 + 8 * b), o0);
            QMM_ROW_STEP1(0, x0, a00);
            QMM_ROW_STEP1(1, x0, a01);
            QMM_ROW_STEP1(2, x0, a02);
            QMM_ROW_STEP1(3, x0, a03);
        }
        const __m256 d0 = _mm256_broadcast_ss(xd0 + g);
        c0 = _mm256_fmadd_ps(a00, d0, c0);
        c1 = _mm256_fmadd_ps(a01, d0, c1);
        c2 = _mm256_fmadd_ps(a02, d0, c2);
        c3 = _mm256_fmadd_ps(a03, d0, c3);
    }
    reduce_rows(c0, c1, c2, c3, o0, sums0);
}
#else
/* Scalar: the same exact integer sums per 4-element lane, scaled and summed in the same form. */
static inline void dots_quant_1(const qmm_panel *pn, int64_t nb, int64_t gb, const int8_t *xq0, const float *xd0,
                                const float *xs0, int is_signed, int has_offset, float *sums0) {
    (void)gb; /* xd holds every block's (group's) scale */
    for (int r = 0; r < QMM_NR; r++) {
        float lanes[8] = {0};
        const uint8_t *wq = pn->q + r * pn->kc;
        float off = 0.0f;
        for (int64_t b = 0; b < nb; b++) {
            const float *sc = pn->scale + (r * nb + b) * 8;
            for (int l = 0; l < 8; l++) {
                int32_t dot = 0;
                for (int i = 0; i < 4; i++) {
                    const int64_t k = 32 * b + 4 * l + i;
                    const int32_t wl = is_signed ? (int32_t)(int8_t)wq[k] : (int32_t)wq[k];
                    dot += wl * (int32_t)xq0[k];
                }
                lanes[l] += (float)dot * (sc[l] * xd0[b]);
            }
            if (has_offset) off += pn->offset[8 * b + r] * xs0[8 * b] + pn->offset[8 * b + 4 + r] * xs0[8 * b + 4];
        }
        sums0[r] += ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5])) + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7])) + off;
    }
}
static inline void dots_quant_2(const qmm_panel *pn, int64_t nb, int64_t gb, const int8_t *xq0, const float *xd0,
                                const float *xs0, const int8_t *xq1, const float *xd1, const float *xs1,
                                int is_signed, int has_offset, float *sums0, float *sums1) {
    dots_quant_1(pn, nb, gb, xq0, xd0, xs0, is_signed, has_offset, sums0);
    dots_quant_1(pn, nb, gb, xq1, xd1, xs1, is_signed, has_offset, sums1);
}
#endif

/* Float panel: rows of fp32 x against the panel's rows. */
static inline void dots_float_1(const qmm_panel *pn, const float *x0, float out0[QMM_NR]) {
    const int64_t kc = pn->kc;
    ax_vf acc[QMM_NR];
    for (int r = 0; r < QMM_NR; r++) acc[r] = ax_vf_splat(0.0f);
    int64_t k = 0;
    for (; k + AX_VF_LANES <= kc; k += AX_VF_LANES) {
        const ax_vf xv = ax_vf_load(x0 + k);
        for (int r = 0; r < QMM_NR; r++) acc[r] = ax_vf_fma(ax_vf_load(pn->f + r * kc + k), xv, acc[r]);
    }
    for (int r = 0; r < QMM_NR; r++) {
        float sum = ax_vf_hsum(acc[r]);
        for (int64_t t = k; t < kc; t++) sum += pn->f[r * kc + t] * x0[t];
        out0[r] = sum;
    }
}

static inline void dots_float_2(const qmm_panel *pn, const float *x0, const float *x1, float out0[QMM_NR],
                         float out1[QMM_NR]) {
    const int64_t kc = pn->kc;
    ax_vf acc0[QMM_NR], acc1[QMM_NR];
    for (int r = 0; r < QMM_NR; r++) acc0[r] = acc1[r] = ax_vf_splat(0.0f);
    int64_t k = 0;
    for (; k + AX_VF_LANES <= kc; k += AX_VF_LANES) {
        const ax_vf xv0 = ax_vf_load(x0 + k), xv1 = ax_vf_load(x1 + k);
        for (int r = 0; r < QMM_NR; r++) {
            const ax_vf wv = ax_vf_load(pn->f + r * kc + k);
            acc0[r] = ax_vf_fma(wv, xv0, acc0[r]);
            acc1[r] = ax_vf_fma(wv, xv1, acc1[r]);
        }
    }
    for (int r = 0; r < QMM_NR; r++) {
        float s0 = ax_vf_hsum(acc0[r]), s1 = ax_vf_hsum(acc1[r]);
        for (int64_t t = k; t < kc; t++) {
            s0 += pn->f[r * kc + t] * x0[t];
            s1 += pn->f[r * kc + t] * x1[t];
        }
        out0[r] = s0;
        out1[r] = s1;
    }
}

/* ---- the kernel ---- */

/* Row m of the quantized x from element k0 on: levels, scales, sum lanes. */
typedef struct qmm_xrow {
    const int8_t *q;
    const float *d, *s;
} qmm_xrow;

static inline qmm_xrow x_row(const unsigned char *xbuf, int64_t xrow, int64_t K, int64_t k0, int64_t m) {
    const unsigned char *base = xbuf + m * xrow;
    const int64_t lv_bytes = qmm_round64(K), d_bytes = qmm_round64(K / 32 * 4);
    qmm_xrow r;
    r.q = (const int8_t *)base + k0;
    r.d = (const float *)(base + lv_bytes) + k0 / 32;
    r.s = (const float *)(base + lv_bytes + d_bytes) + k0 / 32 * 8;
    return r;
}

/* sums[m * QMM_NR + r] += row m of x against the panel's rows, for every row of x. */
static inline void panel_times_x(const qmm_panel *pn, int quant, ax_dtype w_dtype, const unsigned char *xbuf,
                                 int64_t xrow, int64_t K, int64_t k0, int64_t M, float *sums) {
    const int64_t nb = pn->kc / 32, gb = qmm_x_group(K) / 32;
    if (!quant) {
        int64_t m = 0;
        for (; m + 2 <= M; m += 2) {
            float out0[QMM_NR], out1[QMM_NR];
            const float *x0 = (const float *)(xbuf + m * xrow) + k0, *x1 = (const float *)(xbuf + (m + 1) * xrow) + k0;
            dots_float_2(pn, x0, x1, out0, out1);
            for (int r = 0; r < QMM_NR; r++) {
                sums[m * QMM_NR + r] += out0[r];
                sums[(m + 1) * QMM_NR + r] += out1[r];
            }
        }
        for (; m < M; m++) {
            float out0[QMM_NR];
            dots_float_1(pn, (const float *)(xbuf + m * xrow) + k0, out0);
            for (int r = 0; r < QMM_NR; r++) sums[m * QMM_NR + r] += out0[r];
        }
        return;
    }
    int64_t m = 0;
    for (; m + 2 <= M; m += 2) {
        const qmm_xrow a = x_row(xbuf, xrow, K, k0, m), c = x_row(xbuf, xrow, K, k0, m + 1);
        float *sa = sums + m * QMM_NR, *sc = sa + QMM_NR;
        /* Constant flags at each call: q8_0 (signed levels, no offsets) and the rest. */
        if (w_dtype == AX_Q8_0) dots_quant_2(pn, nb, gb, a.q, a.d, a.s, c.q, c.d, c.s, 1, 0, sa, sc);
        else dots_quant_2(pn, nb, gb, a.q, a.d, a.s, c.q, c.d, c.s, 0, 1, sa, sc);
    }
    for (; m < M; m++) {
        const qmm_xrow a = x_row(xbuf, xrow, K, k0, m);
        if (w_dtype == AX_Q8_0) dots_quant_1(pn, nb, gb, a.q, a.d, a.s, 1, 0, sums + m * QMM_NR);
        else dots_quant_1(pn, nb, gb, a.q, a.d, a.s, 0, 1, sums + m * QMM_NR);
    }
}

#if defined(__AVX2__)
/* Decode (M = 1) for q4_0, q4_1 and q8_0: rows of w are dotted straight from their blocks, levels
 * unpacked in registers, without the panel's round trip through L1. The arithmetic is the panel
 * path's, operation for operation (dots_quant_1, then reduce_rows, chunk by chunk of kc): the same
 * lanes, the same FMA order within and across x's groups, the same offset lanes and the same
 * horizontal sums, so a row of y is bitwise the same whether it is computed alone or in a batch (the
 * serving engine's batch invariance rests on it).
 *
 * One row's lanes over blocks [c0, c1) of a chunk: c (the scaled dots) and o (the offset lanes: the
 * block's first 16 elements in lanes 0-3, its last 16 in lanes 4-7, all four equal). dt and gb are
 * constants at each call (gemv_quad), so each form compiles without branches and the group's loop
 * unrolls (a run-time two-trip loop made decode at K = 576, gb = 2, 10-30 % slower). */
static inline __attribute__((always_inline)) void gemv_lanes_q32(ax_dtype dt, int64_t gb, const uint8_t *row,
                                                                 int64_t c0, int64_t c1, const int8_t *xq,
                                                                 const float *xd, const float *xs, __m256 *c_out,
                                                                 __m256 *o_out) {
    const int64_t bytes = dt == AX_Q4_0 ? 18 : dt == AX_Q4_1 ? 20 : 34, head = dt == AX_Q4_0 ? 2 : 4;
    const __m128i low4 = _mm_set1_epi8(0x0f);
    __m256 c = _mm256_setzero_ps(), o = c;
    for (int64_t g = c0; g < c1; g += gb) {
        __m256 a = _mm256_setzero_ps();
        for (int64_t b = g; b < g + gb; b++) {
            const uint8_t *blk = row + b * bytes;
            const __m256i xv = _mm256_loadu_si256((const __m256i *)(xq + 32 * b));
            const float dw = f16_at(blk);
            __m256i p;
            if (dt == AX_Q8_0) {
                p = dot_ss(_mm256_loadu_si256((const __m256i *)(blk + 2)), xv);
            } else {
                const __m128i packed = _mm_loadu_si128((const __m128i *)(blk + head));
                p = dot_us(_mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(packed, 4), low4), _mm_and_si128(packed, low4)),
                           xv);
                const float off = dt == AX_Q4_0 ? -8.0f * dw : f16_at(blk + 2);
                o = _mm256_fmadd_ps(_mm256_set1_ps(off), _mm256_loadu_ps(xs + 8 * b), o);
            }
            a = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(dw), a);
        }
        c = _mm256_fmadd_ps(a, _mm256_broadcast_ss(xd + g), c);
    }
    *c_out = c;
    *o_out = o;
}

/* Rows n0 .. n0 + rows - 1 (rows <= 4) of w into out[0 .. rows). The rows are computed one after the
 * other, so w is read as one sequential stream (four rows interleaved read four short streams the
 * hardware prefetcher does not follow: half the speed on SmolLM2's lm_head); their lanes meet in one
 * reduce_rows, as the panel's four rows do, which also shares its cost. */
static inline __attribute__((always_inline)) void gemv_quad_q32(ax_dtype dt, int64_t gb, const uint8_t *w0,
                                                                int64_t row_bytes, int rows, int64_t K,
                                                                const int8_t *xq, const float *xd, const float *xs,
                                                                float out[QMM_NR]) {
    const int64_t nb = K / 32, cb = qmm_kc(K) / 32;
    float sums[QMM_NR] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int64_t c0 = 0; c0 < nb; c0 += cb) {
        const int64_t c1 = nb - c0 < cb ? nb : c0 + cb;
        __m256 c[QMM_NR], o[QMM_NR];
        for (int r = 0; r < QMM_NR; r++) {
            if (r < rows) gemv_lanes_q32(dt, gb, w0 + r * row_bytes, c0, c1, xq, xd, xs, &c[r], &o[r]);
            else c[r] = o[r] = _mm256_setzero_ps();
        }
        /* The panel's offset vector: lane r (and 4 + r) from row r. */
        const __m256 ob = _mm256_blend_ps(_mm256_blend_ps(o[0], o[1], 0x22), _mm256_blend_ps(o[2], o[3], 0x88), 0xcc);
        reduce_rows(c[0], c[1], c[2], c[3], ob, sums);
    }
    for (int r = 0; r < QMM_NR; r++) out[r] = sums[r];
}

#define QMM_GEMV_GB(dt_)                                                                              \
    switch (gb) {                                                                                  \
    case 8: gemv_quad_q32(dt_, 8, w0, row_bytes, rows, K, xq, xd, xs, out); return;                \
    case 4: gemv_quad_q32(dt_, 4, w0, row_bytes, rows, K, xq, xd, xs, out); return;                \
    case 2: gemv_quad_q32(dt_, 2, w0, row_bytes, rows, K, xq, xd, xs, out); return;                \
    default: gemv_quad_q32(dt_, 1, w0, row_bytes, rows, K, xq, xd, xs, out); return;               \
    }
static inline void gemv_quad(ax_dtype dt, int64_t gb, const uint8_t *w0, int64_t row_bytes, int rows, int64_t K,
                      const int8_t *xq, const float *xd, const float *xs, float out[QMM_NR]) {
    if (dt == AX_Q4_0) QMM_GEMV_GB(AX_Q4_0)
    if (dt == AX_Q4_1) QMM_GEMV_GB(AX_Q4_1)
    QMM_GEMV_GB(AX_Q8_0)
}
#undef QMM_GEMV_GB
#endif

/* Row m of x (K elements of x_dtype, at x_row) prepared once per call at dst: quantized to int8 per
 * group (block-quantized w) or widened to fp32 (float w), in the layout x_row() reads. */
static inline void qmm_prepare_x_row(const void *x_row_src, ax_dtype x_dtype, int64_t K, int quant,
                                     unsigned char *dst) {
    if (quant) {
        const int64_t lv_bytes = qmm_round64(K), d_bytes = qmm_round64(K / 32 * 4);
        quantize_x_row(x_row_src, x_dtype, K, (int8_t *)dst, (float *)(dst + lv_bytes),
                       (float *)(dst + lv_bytes + d_bytes));
    } else {
        widen_x_row(x_row_src, x_dtype, K, (float *)dst);
    }
}

/* A thread's panel in its workspace piece (qmm_panel_bytes(quant, kc_max) bytes). */
static inline qmm_panel qmm_panel_in(unsigned char *piece, int64_t kc_max) {
    qmm_panel pn;
    pn.q = piece;
    pn.scale = (float *)(piece + QMM_NR * kc_max);
    pn.offset = (float *)(piece + 2 * QMM_NR * kc_max);
    pn.f = (float *)piece;
    pn.kc = 0;
    return pn;
}

/* Rows n0 .. n0 + rows - 1 (rows <= QMM_NR) of w (w0: row n0; rows step by w_row_bytes) over the K
 * chunk [k0, k0 + kc) into the panel. Rows past `rows` repeat the last row: their sums are computed
 * and dropped. */
static inline void qmm_fill_panel(qmm_panel *pn, int quant, ax_dtype w_dtype, const uint8_t *w0, int64_t w_row_bytes,
                                  int64_t rows, int64_t k0, int64_t kc) {
    const int64_t nb = kc / 32;
    pn->kc = kc;
    for (int r = 0; r < QMM_NR; r++) {
        const uint8_t *wrow = w0 + (r < rows ? r : rows - 1) * w_row_bytes;
        if (quant) unpack_row(w_dtype, wrow, k0, kc, r, pn->q + r * kc, pn->scale + r * nb * 8, pn->offset);
        else widen_w_row(w_dtype, wrow, k0, kc, pn->f + r * kc);
    }
}

/* The avx512 path's VNNI kernel (QMM_VNNI is 1 where it is compiled). */
#include "linalg/cpu/qmm_vnni.h"

#endif /* AXIAL_LINALG_CPU_QMM_KERNELS_H */
