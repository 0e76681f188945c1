/*
 * qmm_kernels.h — the pieces of ax_qmatmul's CPU kernel that other ops reuse so that their rows are
 * bit for bit ax_qmatmul's (ax_moe_grouped_gemm): x quantized or widened per row, w unpacked into a
 * panel of QMM_NR rows and the panel's dot products with rows of x (float w; block-quantized w on the
 * portable path), and the wide kernels for block-quantized w with their decode (M <= 2). Static
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
        /* A group whose largest magnitude is below ~2^-118 has no finite 127 / amax (it overflows
         * below 127 / FLT_MAX, and every level then snapped to +-127): its levels come from a
         * division by the scale instead. Below ~1.8e-43 the scale itself underflows and the group
         * reads as zeros. */
        const int tiny = finite && amax > 0.0f && amax < 0x1p-118f;
        const float scale = finite ? amax / 127.0f : NAN, inv = finite && amax > 0.0f && !tiny ? 127.0f / amax : 0.0f;
#if defined(__AVX2__)
        if (finite && !tiny) {
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
            float l = tiny ? (scale > 0.0f ? rintf(v[i] / scale) : 0.0f) : rintf(v[i] * inv);
            /* A group holding Inf or NaN has inv = 0 and a NaN scale (its rows come out NaN): its
             * levels are 0, never a NaN cast to int8 (undefined behaviour in C). */
            l = l > 127.0f ? 127.0f : l < -127.0f ? -127.0f : l == l ? l : 0.0f;
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
            for (int i = 0; i < 16; i++) {
                qb[i] = blk[head + i] & 0x0f;
                qb[16 + i] = blk[head + i] >> 4;
            }
            fill_lanes(scale + 8 * b, dd, dd);
            offset[8 * b + r] = offset[8 * b + 4 + r] = off;
        }
        break;
    }
    case AX_Q8_0:
        for (int64_t b = 0; b < kc / 32; b++) {
            const uint8_t *blk = row + (k0 / 32 + b) * 34;
            const float dd = f16_at(blk);
            memcpy(q + 32 * b, blk + 2, 32);
            fill_lanes(scale + 8 * b, dd, dd);
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

/* The lanes kernel (the portable path's): exact integer sums per 4-element lane, each scaled by its
 * lane scale times x's scale and summed per lane; offsets against x's per-16 sums; one fixed
 * horizontal sum per K chunk. Every row of x takes this same code, whatever M. */
static inline void dots_quant_row(const qmm_panel *pn, int64_t nb, const int8_t *xq0, const float *xd0,
                                  const float *xs0, int is_signed, int has_offset, float *sums0) {
    /* xd holds every block's scale (its group's), so the groups need no loop of their own. */
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
    const int64_t nb = pn->kc / 32;
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
    for (int64_t m = 0; m < M; m++) {
        const qmm_xrow a = x_row(xbuf, xrow, K, k0, m);
        /* Constant flags at each call: q8_0 (signed levels, no offsets) and the rest. */
        if (w_dtype == AX_Q8_0) dots_quant_row(pn, nb, a.q, a.d, a.s, 1, 0, sums + m * QMM_NR);
        else dots_quant_row(pn, nb, a.q, a.d, a.s, 0, 1, sums + m * QMM_NR);
    }
}

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

/* The wide kernels for block-quantized w (qmatmul_params.h): maddubs where AVX2 is compiled in
 * (QMM_MADDUBS), VNNI in the avx512 build (QMM_VNNI). */
#include "linalg/cpu/qmm_maddubs.h"
#include "linalg/cpu/qmm_vnni.h"
#include "linalg/cpu/qmm_packed.h"

#if QMM_MADDUBS
/* 1 when M rows of x against w of dtype dt take the wide kernels' panel-free decode: every block
 * type, up to QMM_MB_GEMV_NX rows (each block unpacked once for all of them). */
static inline int qmm_wide_gemv_fits(ax_dtype dt, int64_t M) {
    return qmm_w_is_quant(dt) && M >= 1 && M <= QMM_MB_GEMV_NX;
}

/* sums[m * QMM_WIDE_NR + r] = row n0 + r of w (w0: row n0; rows <= QMM_WIDE_NR) times row m of x's M
 * prepared rows, by the wide kernels' decode; bit for bit the planned kernel's panel path. Only where
 * qmm_wide_gemv_fits. */
static inline void qmm_wide_gemv(qmm_kernel kernel, ax_dtype dt, const uint8_t *w0, int64_t w_row_bytes,
                                 int64_t rows, const unsigned char *xbuf, int64_t xrow, int64_t K, int64_t M,
                                 float *sums) {
#if QMM_VNNI
    /* With VNNI the vpdpbusd decodes (qmm_vnni.h): q4_k and q6_k for one or two rows, the other
     * types for one. Otherwise the maddubs decode, which is the VNNI panel path's arithmetic too
     * (qmm_maddubs.h). */
    if (kernel == QMM_KERNEL_VNNI && (dt == AX_Q4_K || dt == AX_Q6_K)) {
        qmm_vnni_gemv_k(dt, w0, w_row_bytes, rows, xbuf, xrow, K, M, sums);
        return;
    }
    if (kernel == QMM_KERNEL_VNNI && M == 1) {
        qmm_vnni_gemv(dt, w0, w_row_bytes, rows, xbuf, xrow, K, sums);
        return;
    }
#endif
    (void)kernel;
    qmm_mb_gemv(dt, w0, w_row_bytes, rows, xbuf, xrow, K, M, sums);
}

/* sums[m * QMM_WIDE_NR + r] = row m of x (M rows, prepared by qmm_prepare_x_row) times row n0 + r of
 * w (w0: row n0, rows <= QMM_WIDE_NR of them) over all of K, by the planned wide kernel: per K chunk
 * the panel filled, then every row of x against it. */
static inline void qmm_wide_panel_sums(qmm_kernel kernel, qmm_vpanel *pn, ax_dtype dt, const uint8_t *w0,
                                       int64_t w_row_bytes, int64_t rows, const unsigned char *xbuf, int64_t xrow,
                                       int64_t K, int64_t M, float *sums) {
    const int64_t kc_max = qmm_kc(K);
    memset(sums, 0, (size_t)(M * QMM_WIDE_NR) * sizeof(float));
    for (int64_t k0 = 0; k0 < K; k0 += kc_max) {
        const int64_t kc = K - k0 < kc_max ? K - k0 : kc_max;
#if QMM_VNNI
        if (kernel == QMM_KERNEL_VNNI) {
            qmm_vnni_fill(pn, dt, w0, w_row_bytes, rows, k0, kc);
            qmm_vnni_times_x(pn, dt, xbuf, xrow, K, k0, M, sums);
            continue;
        }
#endif
        (void)kernel;
        qmm_mb_fill(pn, dt, w0, w_row_bytes, rows, k0, kc);
        qmm_mb_times_x(pn, dt, xbuf, xrow, K, k0, M, sums);
    }
}
#endif

#endif /* AXIAL_LINALG_CPU_QMM_KERNELS_H */
