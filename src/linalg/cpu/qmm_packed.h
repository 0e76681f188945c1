/*
 * qmm_packed.h — ax_qmatmul_packed's side of the CPU kernel: w in the 16-row interleaved layout of
 * ax_qweight (linalg/qweight.h), read back into GGUF rows for the portable path, and read straight
 * from the tiles by both wide kernels (a one-row decode with vpdpbusd or vpmaddubsw, and a panel fill
 * for more rows). Included by qmm_kernels.h after qmm_vnni.h. Never installed.
 *
 * Why the layout: in GGUF order a block's 32 levels lie in one row, so a decode that reads rows
 * must sum each block's partial dots across vector lanes before its fp32 step, and the shuffles that
 * does cost more than the dots themselves (on Zen 4 the GGUF-layout decode of an L2-resident q4_1
 * matrix ran at a third of a streaming read). In the interleaved layout 64 bytes hold the same 4 (q8_0)
 * or 8 (4-bit) levels of 16 rows, one row per 32-bit lane, which is the wide kernels' panel layout:
 * one vpdpbusd per 4 levels of 16 rows (or a vpmaddubsw per 8 rows) and no shuffle at all.
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
    const int64_t nb = K / 32, bb = ax_dt_block_bytes(dt), row_bytes = nb * bb;
    for (int64_t r = 0; r < rows; r++) {
        const int64_t n = n0 + r, lane = n % AX_QW_ROWS;
        for (int64_t b = 0; b < nb; b++) {
            const uint8_t *tile = base + ((n / AX_QW_ROWS) * nb + b) * AX_QW_ROWS * bb;
            ax_qw_tile_to_block(dt, tile, lane, dst + r * row_bytes + b * bb);
        }
    }
}

#if QMM_MADDUBS
/* Every cache line of the tile 4 KiB past t (tb bytes; a prefetch never faults, so past the end of
 * the matrix is harmless). One line per tile left the rest to the hardware prefetcher, and the
 * 29 MiB q8_0 lm_head (9 lines a tile) then ran at 0.7x the GGUF-order decode. */
static inline __attribute__((always_inline)) void qmm_packed_prefetch(const uint8_t *t, int64_t tb) {
    for (int64_t off = 0; off < tb; off += 64) _mm_prefetch((const char *)((uintptr_t)t + 4096 + off), _MM_HINT_T0);
}

/* 8 rows' scale and offset from a tile's scales at h (fp16 d, then q4_1's fp16 minima 32 bytes on):
 * the values qmm_mb_q32_scale_offset makes from GGUF blocks (q4_0: -8 d, q8_0: -128 d). */
static inline __attribute__((always_inline)) void qmm_packed_scale_offset8(ax_dtype dt, const uint8_t *h, __m256 *d,
                                                                           __m256 *o) {
    *d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)h));
    *o = dt == AX_Q4_0   ? _mm256_mul_ps(_mm256_set1_ps(-8.0f), *d)
         : dt == AX_Q8_0 ? _mm256_mul_ps(_mm256_set1_ps(-128.0f), *d)
                         : _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + 32)));
}

/* The wide kernels' panel (qmm_maddubs.h; P planes per block: 2 for q8_0 in the vpmaddubsw kernel,
 * which holds the high then the low nibbles of its level + 128) of rows n0 .. n0 + rows - 1 (rows:
 * 16 or 32, n0 a multiple of 16) over [k0, k0 + kc) from the tiles: the levels, scales and offsets
 * the GGUF-order fills make, with no transpose (a tile's 32-byte halves are 8 rows of a panel
 * group). A lone group of 16 fills both halves of the panel. 256-bit code, for both kernels. */
static inline void qmm_wide_fill_packed(qmm_vpanel *pn, int P, ax_dtype dt, const uint8_t *base, int64_t K,
                                        int64_t n0, int64_t rows, int64_t k0, int64_t kc) {
    const int64_t nb = kc / 32, tb = AX_QW_ROWS * qmm_block_bytes(dt), lv = ax_qw_level_bytes(dt);
    const __m256i low4 = _mm256_set1_epi8(0x0f);
    pn->kc = kc;
    for (int rg = 0; rg < QMM_WIDE_NR; rg += 8) {
        const int64_t grp = (n0 + (rg < rows ? rg : rg % 16)) / AX_QW_ROWS, half = rg % 16 / 8;
        const uint8_t *tiles = base + (grp * (K / 32) + k0 / 32) * tb + 32 * half;
        for (int64_t b = 0; b < nb; b++) {
            const uint8_t *t = tiles + b * tb;
            uint8_t *qb = pn->q + (b * P * 8 * QMM_WIDE_NR + rg) * 4;
            for (int j = 0; j < 8; j++) {
                /* Group j of the panel: q8_0 chunk j; 4-bit chunk j / 2, low nibbles for even j. */
                const __m256i v = _mm256_loadu_si256((const __m256i *)(t + 64 * (dt == AX_Q8_0 ? j : j / 2)));
                if (dt != AX_Q8_0) {
                    const __m256i l = _mm256_and_si256(j % 2 == 0 ? v : _mm256_srli_epi16(v, 4), low4);
                    _mm256_storeu_si256((__m256i *)(qb + j * QMM_WIDE_NR * 4), l);
                } else if (P == 1) {
                    _mm256_storeu_si256((__m256i *)(qb + j * QMM_WIDE_NR * 4), v);
                } else {
                    _mm256_storeu_si256((__m256i *)(qb + j * QMM_WIDE_NR * 4), _mm256_and_si256(_mm256_srli_epi16(v, 4), low4));
                    _mm256_storeu_si256((__m256i *)(qb + (8 + j) * QMM_WIDE_NR * 4), _mm256_and_si256(v, low4));
                }
            }
            __m256 d, o; /* the 8 rows' scales sit at lv + 16 half of the tile */
            qmm_packed_scale_offset8(dt, t - 32 * half + lv + 16 * half, &d, &o);
            float *sc = pn->scale + 2 * b * QMM_WIDE_NR + rg, *of = pn->offset + 2 * b * QMM_WIDE_NR + rg;
            _mm256_storeu_ps(sc, d);
            _mm256_storeu_ps(sc + QMM_WIDE_NR, d);
            _mm256_storeu_ps(of, o);
            _mm256_storeu_ps(of + QMM_WIDE_NR, o);
        }
    }
}

/* out[0 .. 16 G) = the G (1 or 2) row groups of 16 at `tiles` times x's one prepared row, by
 * vpmaddubsw: bit for bit the vpmaddubsw kernel's panel path (qmm_mb_rows) on the same rows: per
 * 8-row vector the block's int16 pair sums over its 8 groups (exact for 4-bit levels; q8_0's level +
 * 128 split into its high and low nibbles, 16 dot(high) + dot(low)), one vpmaddwd, then the same fp32
 * steps in the same order. dt, gb and G are constants at each call. */
static inline __attribute__((always_inline)) void qmm_mb_packed_rows(ax_dtype dt, int64_t gb, int G,
                                                                     const uint8_t *tiles, int64_t K,
                                                                     const int8_t *xq, const float *xd,
                                                                     const float *xs, float *out) {
    const int64_t nb = K / 32, cb = qmm_kc(K) / 32, tb = AX_QW_ROWS * qmm_block_bytes(dt);
    const int64_t lv = ax_qw_level_bytes(dt);
    const __m256i low4 = _mm256_set1_epi8(0x0f), ones = _mm256_set1_epi16(1);
    const int V = 2 * G; /* 8-row vectors */
    __m256 sum[4];
    for (int v = 0; v < V; v++) sum[v] = _mm256_setzero_ps();
    for (int64_t c0 = 0; c0 < nb; c0 += cb) {
        const int64_t c1 = nb - c0 < cb ? nb : c0 + cb;
        __m256 c[4];
        for (int v = 0; v < V; v++) c[v] = _mm256_setzero_ps();
        for (int64_t g0 = c0; g0 < c1; g0 += gb) {
            __m256 a[4];
            for (int v = 0; v < V; v++) a[v] = _mm256_setzero_ps();
            for (int64_t b = g0; b < g0 + gb; b++) {
                __m256i xb[8];
                for (int j = 0; j < 8; j++) {
                    int32_t x4;
                    memcpy(&x4, xq + 32 * b + 4 * j, 4);
                    xb[j] = _mm256_set1_epi32(x4);
                }
                const __m256 xs0 = _mm256_set1_ps(xs[8 * b]), xs1 = _mm256_set1_ps(xs[8 * b + 4]);
                for (int v = 0; v < V; v++) {
                    const uint8_t *t = tiles + ((v / 2) * nb + b) * tb, *tv = t + 32 * (v % 2);
                    if (v % 2 == 0) qmm_packed_prefetch(t, tb);
                    __m256i dot;
                    if (dt == AX_Q8_0) {
                        __m256i hi = _mm256_setzero_si256(), lo = _mm256_setzero_si256();
                        for (int j = 0; j < 8; j++) {
                            const __m256i w = _mm256_loadu_si256((const __m256i *)(tv + 64 * j));
                            hi = _mm256_add_epi16(hi, _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(w, 4), low4), xb[j]));
                            lo = _mm256_add_epi16(lo, _mm256_maddubs_epi16(_mm256_and_si256(w, low4), xb[j]));
                        }
                        dot = _mm256_add_epi32(_mm256_slli_epi32(_mm256_madd_epi16(hi, ones), 4), _mm256_madd_epi16(lo, ones));
                    } else {
                        __m256i s16 = _mm256_setzero_si256();
                        for (int p = 0; p < 4; p++) {
                            const __m256i w = _mm256_loadu_si256((const __m256i *)(tv + 64 * p));
                            s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(_mm256_and_si256(w, low4), xb[2 * p]));
                            s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(w, 4), low4), xb[2 * p + 1]));
                        }
                        dot = _mm256_madd_epi16(s16, ones);
                    }
                    __m256 d, o;
                    qmm_packed_scale_offset8(dt, t + lv + 16 * (v % 2), &d, &o);
                    a[v] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), d, a[v]);
                    c[v] = _mm256_fmadd_ps(o, xs0, c[v]);
                    c[v] = _mm256_fmadd_ps(o, xs1, c[v]);
                }
            }
            const __m256 dx = _mm256_set1_ps(xd[g0]);
            for (int v = 0; v < V; v++) c[v] = _mm256_fmadd_ps(a[v], dx, c[v]);
        }
        for (int v = 0; v < V; v++) sum[v] = _mm256_add_ps(sum[v], c[v]);
    }
    for (int v = 0; v < V; v++) _mm256_storeu_ps(out + 8 * v, sum[v]);
}

/* Dispatches a kernel over (dt, gb, G) with every one a constant (the tiles' decodes). */
#define QMM_PACKED_DISPATCH(fn, dt, gb, G, ...)                                                        \
    do {                                                                                               \
        const int g2_ = (G) == 2;                                                                      \
        const int64_t gb_ = (gb);                                                                      \
        if ((dt) == AX_Q4_0) {                                                                         \
            QMM_PACKED_GB(fn, AX_Q4_0, gb_, g2_, __VA_ARGS__);                                         \
        } else if ((dt) == AX_Q4_1) {                                                                  \
            QMM_PACKED_GB(fn, AX_Q4_1, gb_, g2_, __VA_ARGS__);                                         \
        } else {                                                                                       \
            QMM_PACKED_GB(fn, AX_Q8_0, gb_, g2_, __VA_ARGS__);                                         \
        }                                                                                              \
    } while (0)
#define QMM_PACKED_GB(fn, dt_, gb_, g2_, ...)                                                          \
    do {                                                                                               \
        if (g2_) {                                                                                     \
            QMM_PACKED_G(fn, dt_, gb_, 2, __VA_ARGS__);                                                \
        } else {                                                                                       \
            QMM_PACKED_G(fn, dt_, gb_, 1, __VA_ARGS__);                                                \
        }                                                                                              \
    } while (0)
#define QMM_PACKED_G(fn, dt_, gb_, G_, ...)                                                            \
    do {                                                                                               \
        switch (gb_) {                                                                                 \
        case 8: fn(dt_, 8, G_, __VA_ARGS__); break;                                                    \
        case 4: fn(dt_, 4, G_, __VA_ARGS__); break;                                                    \
        case 2: fn(dt_, 2, G_, __VA_ARGS__); break;                                                    \
        default: fn(dt_, 1, G_, __VA_ARGS__); break;                                                   \
        }                                                                                              \
    } while (0)

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
                    qmm_packed_prefetch(t, tb);
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

/* The VNNI decode of G row groups (qmm_vnni_packed_rows) for x's row xr. */
QMM_VNNI_TARGET static inline void qmm_vnni_packed_gemv(ax_dtype dt, int64_t gb, int G, const uint8_t *tiles, int64_t K,
                                                        qmm_xrow xr, float *out) {
    QMM_PACKED_DISPATCH(qmm_vnni_packed_rows, dt, gb, G, tiles, K, xr.q, xr.d, xr.s, out);
}
#endif /* QMM_VNNI */

/* out[r] = row n0 + r (rows: 16 or 32, n0 a multiple of 16) of the packed matrix at base times x's
 * one prepared row (xbuf), by the planned wide kernel: bit for bit its panel path on the same rows
 * (and so ax_qmatmul's result). */
static inline void qmm_packed_gemv(qmm_kernel kernel, ax_dtype dt, const uint8_t *base, int64_t n0, int64_t rows,
                                   const unsigned char *xbuf, int64_t xrow, int64_t K, float *out) {
    const qmm_xrow xr = x_row(xbuf, xrow, K, 0, 0);
    const int64_t gb = qmm_x_group(K) / 32, nb = K / 32;
    const uint8_t *tiles = base + (n0 / AX_QW_ROWS) * nb * AX_QW_ROWS * qmm_block_bytes(dt);
    const int G = rows > AX_QW_ROWS ? 2 : 1;
#if QMM_VNNI
    if (kernel == QMM_KERNEL_VNNI) {
        qmm_vnni_packed_gemv(dt, gb, G, tiles, K, xr, out);
        return;
    }
#endif
    (void)kernel;
    QMM_PACKED_DISPATCH(qmm_mb_packed_rows, dt, gb, G, tiles, K, xr.q, xr.d, xr.s, out);
}

/* sums[m * QMM_WIDE_NR + r] for packed w and M rows of x (M > 1) on a wide kernel: per K chunk the
 * panel filled from the tiles, then every row of x against it by that kernel (the same code as for
 * GGUF-order w, so the same bits). */
static inline void qmm_packed_panel_sums(qmm_kernel kernel, qmm_vpanel *pn, ax_dtype dt, const uint8_t *base,
                                         int64_t n0, int64_t rows, const unsigned char *xbuf, int64_t xrow, int64_t K,
                                         int64_t M, float *sums) {
    const int64_t kc_max = qmm_kc(K);
    memset(sums, 0, (size_t)(M * QMM_WIDE_NR) * sizeof(float));
    for (int64_t k0 = 0; k0 < K; k0 += kc_max) {
        const int64_t kc = K - k0 < kc_max ? K - k0 : kc_max;
        qmm_wide_fill_packed(pn, qmm_wide_planes(kernel, dt), dt, base, K, n0, rows, k0, kc);
#if QMM_VNNI
        if (kernel == QMM_KERNEL_VNNI) {
            qmm_vnni_times_x(pn, dt, xbuf, xrow, K, k0, M, sums);
            continue;
        }
#endif
        qmm_mb_times_x(pn, dt, xbuf, xrow, K, k0, M, sums);
    }
}
#endif /* QMM_MADDUBS */


#endif /* AXIAL_LINALG_CPU_QMM_PACKED_H */
