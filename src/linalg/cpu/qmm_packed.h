/*
 * qmm_packed.h — ax_qmatmul_packed's side of the CPU kernel: w in the 16-row interleaved layout of
 * ax_qweight (linalg/qweight.h), read back into GGUF rows for every path, and dotted straight from
 * the layout by a vpdpbusd decode on the avx512 path with VNNI. Included by qmm_kernels.h after
 * qmm_vnni.h. Never installed.
 *
 * Why the layout: in GGUF order a block's 32 levels lie in one row, so a decode that reads rows
 * must sum each block's partial dots across vector lanes before its fp32 step, and the shuffles that
 * does cost more than the dots themselves (on Zen 4 the GGUF-layout decode of an L2-resident q4_1
 * matrix ran at a third of a streaming read). In the interleaved layout 64 bytes hold the same 4 (q8_0)
 * or 8 (4-bit) levels of 16 rows, one row per 32-bit lane, which is the VNNI panel's layout: one
 * vpdpbusd per 4 levels of 16 rows and no shuffle at all.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_LINALG_CPU_QMM_PACKED_H
#define AXIAL_LINALG_CPU_QMM_PACKED_H

#include "linalg/qweight.h"

/* Rows n0 .. n0 + rows - 1 of the packed matrix (base: its first tile, K elements per row) as GGUF
 * rows of blocks at dst (K / 32 * block bytes each): the exact bytes ax_qweight_pack read. */
static inline void qmm_packed_to_rows(ax_dtype dt, const uint8_t *base, int64_t K, int64_t n0, int64_t rows,
                                      uint8_t *dst) {
    const int64_t nb = K / 32, bb = ax_qw_block_bytes(dt), row_bytes = nb * bb;
    for (int64_t r = 0; r < rows; r++) {
        const int64_t n = n0 + r, lane = n % AX_QW_ROWS;
        for (int64_t b = 0; b < nb; b++) {
            const uint8_t *tile = base + ((n / AX_QW_ROWS) * nb + b) * AX_QW_ROWS * bb;
            ax_qw_tile_to_block(dt, tile, lane, dst + r * row_bytes + b * bb);
        }
    }
}

/* 1 when the planned kernel reads the packed layout itself (VNNI: the decode for one row of x, a
 * panel filled straight from the tiles for more); otherwise the rows are read back into GGUF order
 * first (qmm_packed_to_rows). */
static inline int qmm_packed_direct(qmm_kernel kernel) {
#if QMM_VNNI
    return kernel == QMM_KERNEL_VNNI;
#else
    (void)kernel;
    return 0;
#endif
}

#if QMM_VNNI
/* out[0 .. 16 G) = the G (1 or 2) row groups of 16 starting at `tiles` (group g's tiles at tiles +
 * g * nb * tile bytes) times x's one prepared row; bit for bit qmm_vnni_gemv on the same rows in
 * GGUF order: the same exact block dots, then per K chunk, per x group, per block the same fp32
 * steps in the same order (qmm_vnni.h). dt, gb and G are constants at each call; two groups give
 * two independent chains of FMAs, whose latency a lone group waits on. */
QMM_VNNI_TARGET static inline __attribute__((always_inline)) void
qmm_vnni_packed_rows(ax_dtype dt, int64_t gb, int G, const uint8_t *tiles, int64_t K, const int8_t *xq,
                     const float *xd, const float *xs, float *out) {
    const int64_t nb = K / 32, cb = qmm_kc(K) / 32, tb = AX_QW_ROWS * qmm_block_bytes(dt);
    const int64_t lv = ax_qw_level_bytes(dt);
    const __m512i low4 = _mm512_set1_epi8(0x0f);
    __m512 sum[2] = {_mm512_setzero_ps(), _mm512_setzero_ps()};
    for (int64_t c0 = 0; c0 < nb; c0 += cb) {
        const int64_t c1 = nb - c0 < cb ? nb : c0 + cb;
        __m512 c[2] = {_mm512_setzero_ps(), _mm512_setzero_ps()};
        for (int64_t g0 = c0; g0 < c1; g0 += gb) {
            __m512 a[2] = {_mm512_setzero_ps(), _mm512_setzero_ps()};
            for (int64_t b = g0; b < g0 + gb; b++) {
                const int32_t *x4 = (const int32_t *)(xq + 32 * b);
                const __m512 xs0 = _mm512_set1_ps(xs[8 * b]), xs1 = _mm512_set1_ps(xs[8 * b + 4]);
                for (int g = 0; g < G; g++) {
                    const uint8_t *t = tiles + (g * nb + b) * tb;
                    /* 4 KiB ahead in the tiles (as qmm_vnni_gemv16; a prefetch never faults). */
                    _mm_prefetch((const char *)((uintptr_t)t + 4096), _MM_HINT_T0);
                    /* Two chains of vpdpbusd per block (integer sums are exact in any order). */
                    __m512i d0 = _mm512_setzero_si512(), d1 = _mm512_setzero_si512();
                    if (dt == AX_Q8_0) {
                        for (int j = 0; j < 8; j += 2) {
                            d0 = _mm512_dpbusd_epi32(d0, _mm512_loadu_si512(t + 64 * j), _mm512_set1_epi32(x4[j]));
                            d1 = _mm512_dpbusd_epi32(d1, _mm512_loadu_si512(t + 64 * j + 64),
                                                     _mm512_set1_epi32(x4[j + 1]));
                        }
                    } else {
                        for (int p = 0; p < 4; p++) {
                            const __m512i v = _mm512_loadu_si512(t + 64 * p);
                            d0 = _mm512_dpbusd_epi32(d0, _mm512_and_si512(v, low4), _mm512_set1_epi32(x4[2 * p]));
                            d1 = _mm512_dpbusd_epi32(d1, _mm512_and_si512(_mm512_srli_epi16(v, 4), low4),
                                                     _mm512_set1_epi32(x4[2 * p + 1]));
                        }
                    }
                    const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(t + lv)));
                    const __m512 o = dt == AX_Q4_0   ? _mm512_mul_ps(_mm512_set1_ps(-8.0f), d)
                                     : dt == AX_Q8_0 ? _mm512_mul_ps(_mm512_set1_ps(-128.0f), d)
                                                     : _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(t + lv + 32)));
                    a[g] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(d0, d1)), d, a[g]);
                    c[g] = _mm512_fmadd_ps(o, xs0, c[g]);
                    c[g] = _mm512_fmadd_ps(o, xs1, c[g]);
                }
            }
            const __m512 dx = _mm512_set1_ps(xd[g0]);
            for (int g = 0; g < G; g++) c[g] = _mm512_fmadd_ps(a[g], dx, c[g]);
        }
        for (int g = 0; g < G; g++) sum[g] = _mm512_add_ps(sum[g], c[g]);
    }
    for (int g = 0; g < G; g++) _mm512_storeu_ps(out + 16 * g, sum[g]);
}

/* out[r] = row n0 + r (rows: 16 or 32, n0 a multiple of 16) of the packed matrix at base times x's
 * one prepared row (xbuf): bit for bit qmm_vnni_gemv on the same rows in GGUF order. */
QMM_VNNI_TARGET static inline void qmm_vnni_packed_gemv(ax_dtype dt, const uint8_t *base, int64_t n0, int64_t rows,
                                                 const unsigned char *xbuf, int64_t xrow, int64_t K, float *out) {
    const qmm_xrow xr = x_row(xbuf, xrow, K, 0, 0);
    const int64_t gb = qmm_x_group(K) / 32, nb = K / 32;
    const uint8_t *tiles = base + (n0 / AX_QW_ROWS) * nb * AX_QW_ROWS * qmm_block_bytes(dt);
    const int G = rows > AX_QW_ROWS ? 2 : 1;
#define QMM_PACKED_G(dt_, G_)                                                                          \
    switch (gb) {                                                                                      \
    case 8: qmm_vnni_packed_rows(dt_, 8, G_, tiles, K, xr.q, xr.d, xr.s, out); break;                  \
    case 4: qmm_vnni_packed_rows(dt_, 4, G_, tiles, K, xr.q, xr.d, xr.s, out); break;                  \
    case 2: qmm_vnni_packed_rows(dt_, 2, G_, tiles, K, xr.q, xr.d, xr.s, out); break;                  \
    default: qmm_vnni_packed_rows(dt_, 1, G_, tiles, K, xr.q, xr.d, xr.s, out); break;                 \
    }
#define QMM_PACKED_DT(dt_)                                                                             \
    if (G == 2) {                                                                                      \
        QMM_PACKED_G(dt_, 2)                                                                           \
    } else {                                                                                           \
        QMM_PACKED_G(dt_, 1)                                                                           \
    }
    if (dt == AX_Q4_0) {
        QMM_PACKED_DT(AX_Q4_0)
    } else if (dt == AX_Q4_1) {
        QMM_PACKED_DT(AX_Q4_1)
    } else {
        QMM_PACKED_DT(AX_Q8_0)
    }
#undef QMM_PACKED_DT
#undef QMM_PACKED_G
}
/* The VNNI panel (qmm_vnni.h) of rows n0 .. n0 + rows - 1 (rows: 16 or 32, n0 a multiple of 16)
 * over [k0, k0 + kc) from the tiles: the same levels, scales and offsets qmm_vnni_fill makes from
 * the GGUF rows, with no transpose (a tile's chunks are the panel's groups). A lone group of 16
 * fills both halves. */
static inline void qmm_vnni_fill_packed(qmm_vpanel *pn, ax_dtype dt, const uint8_t *base, int64_t K, int64_t n0,
                                        int64_t rows, int64_t k0, int64_t kc) {
    const int64_t nb = kc / 32, tb = AX_QW_ROWS * qmm_block_bytes(dt), lv = ax_qw_level_bytes(dt);
    const __m512i low4 = _mm512_set1_epi8(0x0f);
    pn->kc = kc;
    for (int rg = 0; rg < QMM_WIDE_NR; rg += 16) {
        const int64_t grp = (n0 + (rg < rows ? rg : 0)) / AX_QW_ROWS;
        const uint8_t *tiles = base + (grp * (K / 32) + k0 / 32) * tb;
        for (int64_t b = 0; b < nb; b++) {
            const uint8_t *t = tiles + b * tb;
            uint8_t *qb = pn->q + (b * 8 * QMM_WIDE_NR + rg) * 4;
            if (dt == AX_Q8_0) {
                for (int j = 0; j < 8; j++) _mm512_storeu_si512(qb + j * QMM_WIDE_NR * 4, _mm512_loadu_si512(t + 64 * j));
            } else {
                for (int p = 0; p < 4; p++) {
                    const __m512i v = _mm512_loadu_si512(t + 64 * p);
                    _mm512_storeu_si512(qb + 2 * p * QMM_WIDE_NR * 4, _mm512_and_si512(v, low4));
                    _mm512_storeu_si512(qb + (2 * p + 1) * QMM_WIDE_NR * 4, _mm512_and_si512(_mm512_srli_epi16(v, 4), low4));
                }
            }
            const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(t + lv)));
            const __m512 o = dt == AX_Q4_0   ? _mm512_mul_ps(_mm512_set1_ps(-8.0f), d)
                             : dt == AX_Q8_0 ? _mm512_mul_ps(_mm512_set1_ps(-128.0f), d)
                                             : _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(t + lv + 32)));
            float *sc = pn->scale + 2 * b * QMM_WIDE_NR + rg, *of = pn->offset + 2 * b * QMM_WIDE_NR + rg;
            _mm512_storeu_ps(sc, d);
            _mm512_storeu_ps(sc + QMM_WIDE_NR, d);
            _mm512_storeu_ps(of, o);
            _mm512_storeu_ps(of + QMM_WIDE_NR, o);
        }
    }
}

/* qmm_wide_panel_sums for packed w on the VNNI kernel: per K chunk the panel filled from the tiles,
 * then every row of x against it (the same qmm_vnni_times_x, so the same bits). */
static inline void qmm_vnni_packed_panel_sums(qmm_vpanel *pn, ax_dtype dt, const uint8_t *base, int64_t n0,
                                              int64_t rows, const unsigned char *xbuf, int64_t xrow, int64_t K,
                                              int64_t M, float *sums) {
    const int64_t kc_max = qmm_kc(K);
    memset(sums, 0, (size_t)(M * QMM_WIDE_NR) * sizeof(float));
    for (int64_t k0 = 0; k0 < K; k0 += kc_max) {
        const int64_t kc = K - k0 < kc_max ? K - k0 : kc_max;
        qmm_vnni_fill_packed(pn, dt, base, K, n0, rows, k0, kc);
        qmm_vnni_times_x(pn, dt, xbuf, xrow, K, k0, M, sums);
    }
}
#endif /* QMM_VNNI */

#endif /* AXIAL_LINALG_CPU_QMM_PACKED_H */
