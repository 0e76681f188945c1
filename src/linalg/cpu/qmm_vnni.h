/*
 * qmm_vnni.h — ax_qmatmul's block-quantized kernel for the avx512 path on a CPU with AVX-512 VNNI
 * (chosen at run time: qmm_kernel_planned in qmatmul_params.h), shared with ax_moe_grouped_gemm so that its rows
 * stay bit for bit ax_qmatmul's. Included by qmm_kernels.h after qmm_maddubs.h, whose panel and level
 * unpacking it shares; defines QMM_VNNI to 1 only in the avx512 build.
 * The functions that use VNNI instructions carry the target attribute, so the avx512 build itself
 * still runs on AVX-512 CPUs without VNNI, which never call them.
 *
 * The layout is the maddubs kernel's (qmm_maddubs.h, which says why it beats the lanes kernel) with
 * 512-bit vectors and one plane: the integer dot runs over a whole block first: the lanes of a zmm are 16
 * rows of w, each vpdpbusd adds 4 products per row (x's 4 levels broadcast to every lane), 8 of them
 * give the exact block dot (4 per half for q6_k, whose halves have their own scales), and only then
 * one conversion and one FMA per block. x is quantized as for the other kernel (qmm_kernels.h).
 *
 * Levels are unsigned bytes (vpdpbusd's first operand) with a float offset per half block, so
 * w = scale * level + offset for every type: q4_0 levels 0..15 with offset -8 d, q4_1 and q4_k their
 * own minimum, q6_k levels 0..63 with offset -32 scale, q8_0 its signed level + 128 (0..255) with
 * offset -128 d. The products (at most 255 * 127) and their int32 sums over a block are exact.
 *
 * Per output (row m of x, row n of w), over a K chunk, in this order (every M, decode included,
 * does these steps: the panel kernel for M > 2, qmm_vnni_gemv for a lone row of q4_0 / q4_1 /
 * q8_0, qmm_vnni_gemv_k for one or two rows of q4_k / q6_k, and qmm_maddubs.h's decode for two rows
 * of the others, whose integer dots and float steps are these, so a row's bits never depend on M):
 *     c = 0
 *     for each group g of x (blocks sharing x's scale dx_g):
 *         a = 0
 *         for each block b in g:
 *             for each half h (one "half" of 32 but for q6_k): a = fma(float(dot_bh), scale_bh, a)
 *             c = fma(offset_b0, xs_b0, c); c = fma(offset_b1, xs_b1, c)   (xs: dx times x's sums)
 *         c = fma(a, dx_g, c)
 *     sums += c
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_LINALG_CPU_QMM_VNNI_H
#define AXIAL_LINALG_CPU_QMM_VNNI_H

#if defined(__AVX512F__) && defined(__AVX512BW__)
#include <immintrin.h>

#define QMM_VNNI 1
#define QMM_VNNI_TARGET __attribute__((target("avx512vnni")))

/* 16 rows' 32 levels (L[i]: row i's 4-byte groups 0..7) into out[j] (j = 0..7): group j of the 16
 * rows, row i in lane i. An 8 x 8 transpose of 4-byte elements done on both 256-bit halves at once
 * (rows 0-7 in the low halves, rows 8-15 in the high ones). */
static inline void qmm_vnni_transpose16(const __m256i L[16], __m512i out[8]) {
    __m512i z[8], t[8], u[8];
    for (int k = 0; k < 8; k++) z[k] = _mm512_inserti64x4(_mm512_castsi256_si512(L[k]), L[k + 8], 1);
    for (int k = 0; k < 8; k += 2) {
        t[k] = _mm512_unpacklo_epi32(z[k], z[k + 1]);     /* r_k0 r_k+1,0 r_k1 r_k+1,1 per 128 bits */
        t[k + 1] = _mm512_unpackhi_epi32(z[k], z[k + 1]); /* groups 2, 3 (and 6, 7) */
    }
    for (int k = 0; k < 8; k += 4) {
        u[k] = _mm512_unpacklo_epi64(t[k], t[k + 2]);         /* group 0 (4) of rows k .. k+3 */
        u[k + 1] = _mm512_unpackhi_epi64(t[k], t[k + 2]);     /* group 1 (5) */
        u[k + 2] = _mm512_unpacklo_epi64(t[k + 1], t[k + 3]); /* group 2 (6) */
        u[k + 3] = _mm512_unpackhi_epi64(t[k + 1], t[k + 3]); /* group 3 (7) */
    }
    /* u[q] (rows 0-3, 8-11) and u[4 + q] (rows 4-7, 12-15): groups q in 128-bit lanes 0 and 2,
     * groups q + 4 in lanes 1 and 3. */
    const __m512i lo = _mm512_setr_epi64(0, 1, 8, 9, 4, 5, 12, 13), hi = _mm512_setr_epi64(2, 3, 10, 11, 6, 7, 14, 15);
    for (int q = 0; q < 4; q++) {
        out[q] = _mm512_permutex2var_epi64(u[q], lo, u[4 + q]);
        out[q + 4] = _mm512_permutex2var_epi64(u[q], hi, u[4 + q]);
    }
}

/* ---- the pieces the panel fill and the decode kernel share, so both see the same values ---- */

/* 16 blocks' scale d and offset (q4_0: -8 d, q8_0: -128 d, q4_1: its minimum) from their first 4
 * bytes, one block per 32-bit lane of hd (fp16 d in the low half, q4_1's fp16 minimum in the high). */
static inline __attribute__((always_inline)) void qmm_vnni_q32_scale_offset(ax_dtype dt, __m512i hd, __m512 *d,
                                                                            __m512 *o) {
    *d = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(hd));
    if (dt == AX_Q4_0) *o = _mm512_mul_ps(_mm512_set1_ps(-8.0f), *d);
    else if (dt == AX_Q8_0) *o = _mm512_mul_ps(_mm512_set1_ps(-128.0f), *d);
    else *o = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(hd, 16)));
}

/* Block b of rows rg .. rg + 15 into the panel: their levels L (transposed into the interleaved
 * layout) and the scales and offsets of the block's two halves. */
static inline void qmm_vnni_store_block(qmm_vpanel *pn, int64_t b, int rg, const __m256i L[16], __m512 s0, __m512 s1,
                                        __m512 o0, __m512 o1) {
    __m512i out[8];
    qmm_vnni_transpose16(L, out);
    uint8_t *qb = pn->q + (b * 8 * QMM_WIDE_NR + rg) * 4;
    for (int j = 0; j < 8; j++) _mm512_storeu_si512(qb + j * QMM_WIDE_NR * 4, out[j]);
    float *sc = pn->scale + 2 * b * QMM_WIDE_NR + rg, *of = pn->offset + 2 * b * QMM_WIDE_NR + rg;
    _mm512_storeu_ps(sc, s0);
    _mm512_storeu_ps(sc + QMM_WIDE_NR, s1);
    _mm512_storeu_ps(of, o0);
    _mm512_storeu_ps(of + QMM_WIDE_NR, o1);
}

/* The fill for q4_0, q4_1 and q8_0 (dt a constant at each call): each block's levels made in
 * registers and transposed; the values unpack_row makes (levels, scales, offsets). */
static inline __attribute__((always_inline)) void qmm_vnni_fill_q32(qmm_vpanel *pn, ax_dtype dt, const uint8_t *w0,
                                                                    int64_t w_row_bytes, int64_t rows, int64_t k0,
                                                                    int64_t nb) {
    const int64_t bytes = qmm_block_bytes(dt);
    for (int rg = 0; rg < QMM_WIDE_NR; rg += 16) {
        const uint8_t *rowp[16];
        for (int i = 0; i < 16; i++)
            rowp[i] = w0 + (rg + i < rows ? rg + i : rows - 1) * w_row_bytes + (k0 / 32) * bytes;
        for (int64_t b = 0; b < nb; b++) {
            __m256i L[16];
            int32_t head4[16]; /* scalar loads: vpgatherdd is slower on Zen 4 (and wherever the GDS mitigation is) */
            for (int i = 0; i < 16; i++) {
                L[i] = qmm_q32_levels(dt, rowp[i] + b * bytes);
                memcpy(&head4[i], rowp[i] + b * bytes, 4);
            }
            __m512 d, o;
            qmm_vnni_q32_scale_offset(dt, _mm512_loadu_si512(head4), &d, &o);
            qmm_vnni_store_block(pn, b, rg, L, d, d, o, o);
        }
    }
}

/* The fill for q4_k and q6_k (dt a constant at each call): levels, scales and offsets from
 * qmm_k_levels and qmm_k_scales (qmm_maddubs.h), transposed as in qmm_vnni_fill_q32. */
static inline __attribute__((always_inline)) void qmm_vnni_fill_k(qmm_vpanel *pn, ax_dtype dt, const uint8_t *w0,
                                                                  int64_t w_row_bytes, int64_t rows, int64_t k0,
                                                                  int64_t nb) {
    const int64_t sbytes = qmm_block_bytes(dt);
    float S0[8][16], S1[8][16], O0[8][16], O1[8][16]; /* [block of the super-block][row] */
    for (int rg = 0; rg < QMM_WIDE_NR; rg += 16) {
        const uint8_t *rowp[16];
        for (int i = 0; i < 16; i++)
            rowp[i] = w0 + (rg + i < rows ? rg + i : rows - 1) * w_row_bytes + (k0 / 256) * sbytes;
        for (int64_t b = 0; b < nb; b++) {
            const int64_t sb = b / 8;
            const int j = (int)(b % 8);
            /* A super-block's scales once per row, then its 8 blocks. */
            if (j == 0)
                for (int i = 0; i < 16; i++)
                    qmm_k_scales(dt, rowp[i] + sb * sbytes, &S0[0][i], &S1[0][i], &O0[0][i], &O1[0][i], 16);
            __m256i L[16];
            for (int i = 0; i < 16; i++) L[i] = qmm_k_levels(dt, rowp[i] + sb * sbytes, j);
            qmm_vnni_store_block(pn, b, rg, L, _mm512_loadu_ps(S0[j]), _mm512_loadu_ps(S1[j]), _mm512_loadu_ps(O0[j]),
                                 _mm512_loadu_ps(O1[j]));
        }
    }
}

/* Rows n0 .. n0 + rows - 1 (rows <= QMM_WIDE_NR; w0: row n0) over [k0, k0 + kc) into the panel.
 * Rows past `rows` repeat the last row: their sums are computed and dropped. */
static inline void qmm_vnni_fill(qmm_vpanel *pn, ax_dtype dt, const uint8_t *w0, int64_t w_row_bytes, int64_t rows,
                                 int64_t k0, int64_t kc) {
    const int64_t nb = kc / 32;
    pn->kc = kc;
    switch (dt) {
    case AX_Q4_0: qmm_vnni_fill_q32(pn, AX_Q4_0, w0, w_row_bytes, rows, k0, nb); break;
    case AX_Q4_1: qmm_vnni_fill_q32(pn, AX_Q4_1, w0, w_row_bytes, rows, k0, nb); break;
    case AX_Q8_0: qmm_vnni_fill_q32(pn, AX_Q8_0, w0, w_row_bytes, rows, k0, nb); break;
    case AX_Q4_K: qmm_vnni_fill_k(pn, AX_Q4_K, w0, w_row_bytes, rows, k0, nb); break;
    default: qmm_vnni_fill_k(pn, AX_Q6_K, w0, w_row_bytes, rows, k0, nb); break;
    }
}

/* Rows m0 .. m0 + MR - 1 of x against the panel's 32 rows, added to sums[m * 32 + n]. H: 2 for
 * q6_k (a scale per half block), 1 otherwise. MR and H are constants at every call, so the arrays
 * below live in registers (MR = 4: 8 int32 dots, 8 group sums, 8 totals). */
QMM_VNNI_TARGET static inline __attribute__((always_inline)) void
qmm_vnni_rows(const qmm_vpanel *pn, int H, int MR, const unsigned char *xbuf, int64_t xrow, int64_t K, int64_t k0,
              int64_t m0, float *sums) {
    const int64_t nb = pn->kc / 32, gb = qmm_x_group(K) / 32;
    const int NCH = MR == 1 ? 4 : MR == 2 ? 2 : 1;
    const int8_t *xq[4];
    const float *xd[4], *xs[4];
    for (int i = 0; i < MR; i++) {
        const qmm_xrow xr = x_row(xbuf, xrow, K, k0, m0 + i);
        xq[i] = xr.q;
        xd[i] = xr.d;
        xs[i] = xr.s;
    }
    __m512 c[4][2];
    for (int i = 0; i < MR; i++) c[i][0] = c[i][1] = _mm512_setzero_ps();
    for (int64_t g = 0; g < nb; g += gb) {
        __m512 a[4][2];
        for (int i = 0; i < MR; i++) a[i][0] = a[i][1] = _mm512_setzero_ps();
        for (int64_t b = g; b < g + gb; b++) {
            const uint8_t *qb = pn->q + b * 8 * QMM_WIDE_NR * 4;
            for (int h = 0; h < H; h++) {
                /* With few rows of x the dots run as NCH chains summed at the end (integer sums are
                 * exact in any order), so vpdpbusd's latency does not bind. */
                __m512i acc[4][2], more[3][4][2];
                for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = _mm512_setzero_si512();
                for (int ch = 0; ch < NCH - 1; ch++)
                    for (int i = 0; i < MR; i++) more[ch][i][0] = more[ch][i][1] = _mm512_setzero_si512();
                for (int j = h * 8 / H; j < (h + 1) * 8 / H; j++) {
                    const __m512i w0 = _mm512_loadu_si512(qb + j * QMM_WIDE_NR * 4);
                    const __m512i w1 = _mm512_loadu_si512(qb + j * QMM_WIDE_NR * 4 + 64);
                    const int ch = j % NCH;
                    for (int i = 0; i < MR; i++) {
                        int32_t x4;
                        memcpy(&x4, xq[i] + 32 * b + 4 * j, 4);
                        const __m512i xv = _mm512_set1_epi32(x4);
                        if (ch == 0) {
                            acc[i][0] = _mm512_dpbusd_epi32(acc[i][0], w0, xv);
                            acc[i][1] = _mm512_dpbusd_epi32(acc[i][1], w1, xv);
                        } else {
                            more[ch - 1][i][0] = _mm512_dpbusd_epi32(more[ch - 1][i][0], w0, xv);
                            more[ch - 1][i][1] = _mm512_dpbusd_epi32(more[ch - 1][i][1], w1, xv);
                        }
                    }
                }
                for (int ch = 0; ch < NCH - 1; ch++)
                    for (int i = 0; i < MR; i++) {
                        acc[i][0] = _mm512_add_epi32(acc[i][0], more[ch][i][0]);
                        acc[i][1] = _mm512_add_epi32(acc[i][1], more[ch][i][1]);
                    }
                const float *sc = pn->scale + (2 * b + h) * QMM_WIDE_NR;
                const __m512 s0 = _mm512_loadu_ps(sc), s1 = _mm512_loadu_ps(sc + 16);
                for (int i = 0; i < MR; i++) {
                    a[i][0] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[i][0]), s0, a[i][0]);
                    a[i][1] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[i][1]), s1, a[i][1]);
                }
            }
            const float *of = pn->offset + 2 * b * QMM_WIDE_NR;
            const __m512 o00 = _mm512_loadu_ps(of), o01 = _mm512_loadu_ps(of + 16);
            const __m512 o10 = _mm512_loadu_ps(of + QMM_WIDE_NR), o11 = _mm512_loadu_ps(of + QMM_WIDE_NR + 16);
            for (int i = 0; i < MR; i++) {
                const __m512 x0 = _mm512_set1_ps(xs[i][8 * b]), x1 = _mm512_set1_ps(xs[i][8 * b + 4]);
                c[i][0] = _mm512_fmadd_ps(o00, x0, c[i][0]);
                c[i][1] = _mm512_fmadd_ps(o01, x0, c[i][1]);
                c[i][0] = _mm512_fmadd_ps(o10, x1, c[i][0]);
                c[i][1] = _mm512_fmadd_ps(o11, x1, c[i][1]);
            }
        }
        for (int i = 0; i < MR; i++) {
            const __m512 dx = _mm512_set1_ps(xd[i][g]);
            c[i][0] = _mm512_fmadd_ps(a[i][0], dx, c[i][0]);
            c[i][1] = _mm512_fmadd_ps(a[i][1], dx, c[i][1]);
        }
    }
    for (int i = 0; i < MR; i++) {
        float *s = sums + (m0 + i) * QMM_WIDE_NR;
        _mm512_storeu_ps(s, _mm512_add_ps(_mm512_loadu_ps(s), c[i][0]));
        _mm512_storeu_ps(s + 16, _mm512_add_ps(_mm512_loadu_ps(s + 16), c[i][1]));
    }
}

/* Every row of x against the panel (M rows), added to sums[m * 32 + n], 4, 3, 2 or 1 rows at a time.
 * No AMX-INT8 tiles: TDPBSUD block dots for 16 rows of x at a time (bit for bit these) ran 1.1-1.6x
 * slower than this on an AMX Xeon (2026-12-06, docs/performance.md), because each block's (q6_k:
 * half block's) 16 x 32 dots had to leave the tiles through memory for their float steps. */
QMM_VNNI_TARGET static void qmm_vnni_times_x(const qmm_vpanel *pn, ax_dtype dt, const unsigned char *xbuf,
                                             int64_t xrow, int64_t K, int64_t k0, int64_t M, float *sums) {
    int64_t m = 0;
#define QMM_VNNI_ROWS(H)                                                                                    \
    for (; m + 4 <= M; m += 4) qmm_vnni_rows(pn, H, 4, xbuf, xrow, K, k0, m, sums);                    \
    switch (M - m) {                                                                                   \
    case 3: qmm_vnni_rows(pn, H, 3, xbuf, xrow, K, k0, m, sums); break;                                \
    case 2: qmm_vnni_rows(pn, H, 2, xbuf, xrow, K, k0, m, sums); break;                                \
    case 1: qmm_vnni_rows(pn, H, 1, xbuf, xrow, K, k0, m, sums); break;                                \
    default: break;                                                                                    \
    }
    if (dt == AX_Q6_K) {
        QMM_VNNI_ROWS(2)
    } else {
        QMM_VNNI_ROWS(1)
    }
#undef QMM_VNNI_ROWS
}

/* ---- decode (M = 1) of q4_0, q4_1 and q8_0: no panel ----
 * The panel's store and reload and its transpose cost more than the dots when each level is used
 * once, so a lone row of x dots w's blocks straight from memory: each row's block dot in a ymm
 * (vpdpbusd on the same unsigned levels), 16 rows' dots summed into one zmm (lane i: row i), then
 * the float steps of qmm_vnni_rows in the same order, so the bits are the panel path's. */

/* Blocks per pass of qmm_vnni_gemv16 (a multiple of every group's block count, 8). */
#define QMM_VNNI_GEMV_SUB 32

/* Rows n0 .. n0 + rows - 1 (rows <= 16; w0: row n0) times x's row (levels xq, scales xd, sum lanes
 * xs, from element 0) into out[0 .. 16). dt and gb are constants at each call. In passes of
 * QMM_VNNI_GEMV_SUB blocks: first each row's blocks in turn, so the 16 rows (adjacent in memory) are
 * read as one sequential stream (reading them block by block makes 16 streams, which ran at half the
 * speed even with software prefetch), each 8 blocks' dots summed in registers into one vector (lane
 * j: block j) and kept with each block's first 4 bytes (scale, q4_1's minimum); then 8 blocks at a
 * time, the 16 rows' vectors transposed (lane i: row i) and the float steps block by block. */
QMM_VNNI_TARGET static inline __attribute__((always_inline)) void
qmm_vnni_gemv16(ax_dtype dt, int64_t gb, const uint8_t *w0, int64_t w_row_bytes, int64_t rows, int64_t K,
                const int8_t *xq, const float *xd, const float *xs, float *out) {
    const int64_t bytes = qmm_block_bytes(dt);
    const int64_t nb = K / 32, cb = qmm_kc(K) / 32;
    int32_t dots[16 * QMM_VNNI_GEMV_SUB] __attribute__((aligned(64))); /* [row][block] */
    int32_t head4[QMM_VNNI_GEMV_SUB * 16] __attribute__((aligned(64))); /* [block][row] */
    __m512 sum = _mm512_setzero_ps();
    for (int64_t c0 = 0; c0 < nb; c0 += cb) {
        const int64_t c1 = nb - c0 < cb ? nb : c0 + cb;
        __m512 c = _mm512_setzero_ps();
        for (int64_t s0 = c0; s0 < c1; s0 += QMM_VNNI_GEMV_SUB) {
            const int64_t s1 = c1 - s0 < QMM_VNNI_GEMV_SUB ? c1 : s0 + QMM_VNNI_GEMV_SUB;
            for (int i = 0; i < 16; i++) {
                const uint8_t *row = w0 + (i < rows ? i : rows - 1) * w_row_bytes;
                for (int64_t b8 = s0; b8 < s1; b8 += 8) {
                    __m256i v[8];
                    for (int j = 0; j < 8; j++) {
                        const int64_t b = b8 + j;
                        if (b >= s1) {
                            v[j] = _mm256_setzero_si256();
                            continue;
                        }
                        const uint8_t *blk = row + b * bytes;
                        /* 4 KiB ahead in the stream (rows are adjacent): without it the loads
                         * that miss leave too few misses in flight, and lm_head (29 MiB, q8_0)
                         * ran at 60 % of the 256-bit kernel's speed; 2 and 8 KiB were slower.
                         * A prefetch never faults, so past the end of w is harmless. */
                        _mm_prefetch((const char *)((uintptr_t)blk + 4096), _MM_HINT_T0);
                        const __m256i xv = _mm256_loadu_si256((const __m256i *)(xq + 32 * b));
                        v[j] = _mm256_dpbusd_epi32(_mm256_setzero_si256(), qmm_q32_levels(dt, blk), xv);
                        memcpy(&head4[(b - s0) * 16 + i], blk, 4);
                    }
                    _mm256_store_si256((__m256i *)(dots + i * QMM_VNNI_GEMV_SUB + (b8 - s0)), qmm_sum8_epi32(v));
                }
            }
            for (int64_t b8 = s0; b8 < s1; b8 += 8) {
                __m256i L[16];
                __m512i col[8]; /* col[j] lane i: row i's dot of block b8 + j */
                for (int i = 0; i < 16; i++)
                    L[i] = _mm256_load_si256((const __m256i *)(dots + i * QMM_VNNI_GEMV_SUB + (b8 - s0)));
                qmm_vnni_transpose16(L, col);
                const int64_t e = s1 - b8 < 8 ? s1 : b8 + 8;
                /* Groups (gb blocks, gb dividing 8) never straddle the 8. */
                for (int64_t g = b8; g < e; g += gb) {
                    __m512 a = _mm512_setzero_ps();
                    for (int64_t b = g; b < g + gb; b++) {
                        __m512 d, o;
                        qmm_vnni_q32_scale_offset(dt, _mm512_load_si512(head4 + (b - s0) * 16), &d, &o);
                        a = _mm512_fmadd_ps(_mm512_cvtepi32_ps(col[b - b8]), d, a);
                        c = _mm512_fmadd_ps(o, _mm512_set1_ps(xs[8 * b]), c);
                        c = _mm512_fmadd_ps(o, _mm512_set1_ps(xs[8 * b + 4]), c);
                    }
                    c = _mm512_fmadd_ps(a, _mm512_set1_ps(xd[g]), c);
                }
            }
        }
        sum = _mm512_add_ps(sum, c);
    }
    _mm512_storeu_ps(out, sum);
}

/* out[r] = row n0 + r of w (rows <= 32) times x's one prepared row (xbuf), bit for bit what
 * the panel path (qmm_wide_panel_sums) gives for that row. Only where qmm_wide_gemv_fits. */
QMM_VNNI_TARGET static void qmm_vnni_gemv(ax_dtype dt, const uint8_t *w0, int64_t w_row_bytes, int64_t rows,
                                          const unsigned char *xbuf, int64_t xrow, int64_t K, float *out) {
    const qmm_xrow xr = x_row(xbuf, xrow, K, 0, 0);
    const int64_t gb = qmm_x_group(K) / 32;
    for (int h = 0; h < QMM_WIDE_NR && h < rows; h += 16) {
        const uint8_t *wh = w0 + h * w_row_bytes;
        const int64_t rh = rows - h < 16 ? rows - h : 16;
#define QMM_VNNI_GEMV_GB(dt_)                                                                          \
    switch (gb) {                                                                                  \
    case 8: qmm_vnni_gemv16(dt_, 8, wh, w_row_bytes, rh, K, xr.q, xr.d, xr.s, out + h); break;     \
    case 4: qmm_vnni_gemv16(dt_, 4, wh, w_row_bytes, rh, K, xr.q, xr.d, xr.s, out + h); break;     \
    case 2: qmm_vnni_gemv16(dt_, 2, wh, w_row_bytes, rh, K, xr.q, xr.d, xr.s, out + h); break;     \
    default: qmm_vnni_gemv16(dt_, 1, wh, w_row_bytes, rh, K, xr.q, xr.d, xr.s, out + h); break;    \
    }
        if (dt == AX_Q4_0) {
            QMM_VNNI_GEMV_GB(AX_Q4_0)
        } else if (dt == AX_Q4_1) {
            QMM_VNNI_GEMV_GB(AX_Q4_1)
        } else {
            QMM_VNNI_GEMV_GB(AX_Q8_0)
        }
#undef QMM_VNNI_GEMV_GB
    }
}

/* ---- decode (M = 1 or 2) of q4_k and q6_k: no panel ----
 * qmm_mb_gemv (the maddubs decode, which served these types on VNNI machines too) formed each
 * block's dot in a 256-bit vector and then unpacked every super-block's scales row by row into a
 * [block][row] table: about half the speed of this kernel on an AVX-512 Xeon (docs/performance.md).
 * Here 16 rows of w go in the 16 lanes:
 *   - dots: per row and super-block, the 4 pairs of blocks (2p, 2p + 1) whose levels are 64 bytes
 *     apart in a zmm (q4_k: one 32-byte load, low nibbles then high; q6_k: 64 bytes of ql and the
 *     shared qh) against x's 64 levels of those blocks, one vpdpbusd each; two unpack-and-add rounds
 *     leave the row's 16 half-block dots in one zmm (128-bit lane k, element p: block 2p + (k >> 1),
 *     half k & 1), and two 16 x 8 transposes per super-block put row i in lane i;
 *   - scales: per super-block, the 16 rows' scale words copied into a [word][row] table as the rows
 *     are read, loaded with row i in lane i and unpacked there (the values qmm_k_scales makes, the
 *     same fp32 products);
 *   - the float steps of qmm_mb_gemv_dt in the same order, lane for lane, so the bits are that
 *     kernel's and the panel path's.
 * Integer sums are exact in any order. */

/* Super-blocks per pass of qmm_vnni_gemv_k16: each row's pass read as one stretch, then the pass's
 * transposes and float steps. */
#define QMM_VNNI_K_SUB 4

/* The levels of super-block `blk`'s 4 pairs of blocks (2p, 2p + 1), 64 bytes each, in the order of
 * x's levels. */
QMM_VNNI_TARGET static inline __attribute__((always_inline)) void qmm_vnni_k_levels(ax_dtype dt, const uint8_t *blk,
                                                                                     __m512i lv[4]) {
    const __m512i low4 = _mm512_set1_epi8(0x0f);
    for (int p = 0; p < 4; p++) {
        if (dt == AX_Q4_K) {
            /* Blocks 2p and 2p + 1: the low and high nibbles of the same 32 bytes. */
            const __m512i q = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(blk + 16 + 32 * p)));
            lv[p] = _mm512_and_si512(_mm512_mask_srli_epi16(q, (__mmask32)0xffff0000u, q, 4), low4);
        } else {
            /* Blocks 2p, 2p + 1 = 4h + q, 4h + q + 1 (h = p / 2, q = 2 (p % 2)): ql's 64 bytes at 64 h, both
             * shifted by 4 (p % 2); qh's 32 bytes at 128 + 32 h, bits 2q, 2q + 1 for the first block and
             * 2q + 2, 2q + 3 for the second, moved to bits 4 and 5 (as qmm_k_levels). */
            const int h = p / 2, q = 2 * (p % 2);
            const __m512i ql = _mm512_loadu_si512(blk + 64 * h);
            const __m512i lo = _mm512_and_si512(_mm512_srli_epi16(ql, 4 * (p % 2)), low4);
            const __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(blk + 128 + 32 * h)));
            const __m512i sh = _mm512_mask_blend_epi16((__mmask32)0xffff0000u, _mm512_set1_epi16((short)(2 * q)),
                                                       _mm512_set1_epi16((short)(2 * q + 2)));
            const __m512i hi =
                _mm512_and_si512(_mm512_slli_epi16(_mm512_srlv_epi16(qh, sh), 4), _mm512_set1_epi8(0x30));
            lv[p] = _mm512_or_si512(lo, hi);
        }
    }
}

/* The 16 half-block dots of a super-block's levels lv against x's 256 levels there (xq): 128-bit
 * lane k, element p: block 2p + (k >> 1), half k & 1 (q4_k too; its halves are added later). */
QMM_VNNI_TARGET static inline __attribute__((always_inline)) __m512i qmm_vnni_k_dots(const __m512i lv[4],
                                                                                       const int8_t *xq) {
    __m512i d[4];
    for (int p = 0; p < 4; p++)
        d[p] = _mm512_dpbusd_epi32(_mm512_setzero_si512(), lv[p], _mm512_loadu_si512(xq + 64 * p));
    /* Per 128-bit lane: (D0 D1 D2 D3)'s four-element sums, in that order. */
    const __m512i e0 = _mm512_add_epi32(_mm512_unpacklo_epi32(d[0], d[1]), _mm512_unpackhi_epi32(d[0], d[1]));
    const __m512i e1 = _mm512_add_epi32(_mm512_unpacklo_epi32(d[2], d[3]), _mm512_unpackhi_epi32(d[2], d[3]));
    return _mm512_add_epi32(_mm512_unpacklo_epi64(e0, e1), _mm512_unpackhi_epi64(e0, e1));
}

/* One fp16 of each lane's 32-bit word (the low half, or the high one when high) as fp32. */
static inline __m512 qmm_vnni_f16_lanes(__m512i w, int high) {
    return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(high ? _mm512_srli_epi32(w, 16) : w));
}

typedef int32_t qmm_v16i __attribute__((vector_size(64)));
typedef uint32_t qmm_v16u __attribute__((vector_size(64)));
typedef float qmm_v16f __attribute__((vector_size(64)));
QMM_K_BLOCK_FN(qmm_k_block16, qmm_v16i, qmm_v16u, qmm_v16f)

/* Rows n0 .. n0 + rows - 1 (rows <= 16; w0: row n0) times rows 0 .. NX - 1 of x (xr) into
 * out[t * QMM_WIDE_NR + r]. dt and NX are constants at each call; K is a multiple of 256 (x's groups
 * are super-blocks). Each super-block's levels are unpacked, and its scales, once for the NX rows of
 * x; each row of x keeps its own a and c, so its float steps run in the order above. The scale words
 * are copied into a [word][row] table as each row is read (scalar loads, as qmm_mb_gemv_dt: gathers
 * are slow on Zen 4 and on Intel CPUs with the Gather Data Sampling mitigation). */
QMM_VNNI_TARGET static inline __attribute__((always_inline)) void
qmm_vnni_gemv_k16(ax_dtype dt, int NX, const uint8_t *w0, int64_t w_row_bytes, int64_t rows, int64_t K,
                  const qmm_xrow *xr, float *out) {
    const int64_t bytes = qmm_block_bytes(dt), nsb = K / 256, csb = qmm_kc(K) / 256;
    /* [x row][super-block][row][half-block] */
    int32_t dots[QMM_MB_GEMV_NX][QMM_VNNI_K_SUB][16][16] __attribute__((aligned(64)));
    int32_t kwords[QMM_VNNI_K_SUB][QMM_K_WORDS][16] __attribute__((aligned(64)));     /* [sb][word][row] */
    __m512 sum[QMM_MB_GEMV_NX];
    for (int t = 0; t < NX; t++) sum[t] = _mm512_setzero_ps();
    for (int64_t c0 = 0; c0 < nsb; c0 += csb) {
        const int64_t c1 = nsb - c0 < csb ? nsb : c0 + csb;
        __m512 c[QMM_MB_GEMV_NX];
        for (int t = 0; t < NX; t++) c[t] = _mm512_setzero_ps();
        for (int64_t s0 = c0; s0 < c1; s0 += QMM_VNNI_K_SUB) {
            const int64_t s1 = c1 - s0 < QMM_VNNI_K_SUB ? c1 : s0 + QMM_VNNI_K_SUB;
            for (int i = 0; i < 16; i++) {
                const uint8_t *row = w0 + (i < rows ? i : rows - 1) * w_row_bytes;
                for (int64_t sb = s0; sb < s1; sb++) {
                    const uint8_t *blk = row + sb * bytes;
                    /* 4 KiB ahead, as qmm_vnni_gemv16 (a prefetch never faults). */
                    for (int64_t o = 0; o < bytes; o += 64)
                        _mm_prefetch((const char *)((uintptr_t)blk + 4096 + o), _MM_HINT_T0);
                    __m512i lv[4];
                    qmm_vnni_k_levels(dt, blk, lv);
                    for (int t = 0; t < NX; t++)
                        _mm512_store_si512(dots[t][sb - s0][i], qmm_vnni_k_dots(lv, xr[t].q + 256 * sb));
                    for (int q = 0; q < QMM_K_WORDS; q++) memcpy(&kwords[sb - s0][q][i], blk + qmm_k_word_at(dt, q), 4);
                }
            }
            for (int64_t sb = s0; sb < s1; sb++) {
                qmm_v16i W[QMM_K_WORDS];
                for (int q = 0; q < QMM_K_WORDS; q++) W[q] = *(const qmm_v16i *)kwords[sb - s0][q];
                /* the fp16 scales (q4_k: d, dmin; q6_k: d) */
                const qmm_v16f kd = (qmm_v16f)qmm_vnni_f16_lanes((__m512i)W[dt == AX_Q4_K ? 0 : 4], dt != AX_Q4_K);
                const qmm_v16f km = (qmm_v16f)qmm_vnni_f16_lanes((__m512i)W[0], 1);
                /* col[t][k][p] lane i: row i's dot with x row t of block 2p + (k >> 1), half k & 1 */
                __m512i col[QMM_MB_GEMV_NX][4][4];
                for (int t = 0; t < NX; t++)
                    for (int half = 0; half < 2; half++) {
                        __m256i L[16];
                        __m512i tr[8];
                        for (int i = 0; i < 16; i++)
                            L[i] = _mm256_load_si256((const __m256i *)(dots[t][sb - s0][i] + 8 * half));
                        qmm_vnni_transpose16(L, tr);
                        for (int p = 0; p < 4; p++) {
                            col[t][2 * half][p] = tr[p];
                            col[t][2 * half + 1][p] = tr[4 + p];
                        }
                    }
                __m512 a[QMM_MB_GEMV_NX];
                for (int t = 0; t < NX; t++) a[t] = _mm512_setzero_ps();
                for (int j = 0; j < 8; j++) {
                    qmm_v16f s0v, s1v, o0v, o1v;
                    qmm_k_block16(dt, W, kd, km, j, &s0v, &s1v, &o0v, &o1v);
                    const __m512 d0 = (__m512)s0v, d1 = (__m512)s1v, o0 = (__m512)o0v, o1 = (__m512)o1v;
                    const int64_t b = 8 * sb + j;
                    for (int t = 0; t < NX; t++) {
                        const __m512i h0 = col[t][2 * (j & 1)][j >> 1], h1 = col[t][2 * (j & 1) + 1][j >> 1];
                        if (dt == AX_Q4_K) {
                            a[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(h0, h1)), d0, a[t]);
                        } else {
                            a[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(h0), d0, a[t]);
                            a[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(h1), d1, a[t]);
                        }
                        c[t] = _mm512_fmadd_ps(o0, _mm512_set1_ps(xr[t].s[8 * b]), c[t]);
                        c[t] = _mm512_fmadd_ps(o1, _mm512_set1_ps(xr[t].s[8 * b + 4]), c[t]);
                    }
                }
                for (int t = 0; t < NX; t++) c[t] = _mm512_fmadd_ps(a[t], _mm512_set1_ps(xr[t].d[8 * sb]), c[t]);
            }
        }
        for (int t = 0; t < NX; t++) sum[t] = _mm512_add_ps(sum[t], c[t]);
    }
    for (int t = 0; t < NX; t++) _mm512_storeu_ps(out + t * QMM_WIDE_NR, sum[t]);
}

/* sums[t * 32 + r] = row n0 + r of w (rows <= 32; q4_k or q6_k) times row t of x's M prepared rows
 * (xbuf; 1 <= M <= QMM_MB_GEMV_NX), bit for bit what qmm_mb_gemv and the panel path give. */
QMM_VNNI_TARGET static void qmm_vnni_gemv_k(ax_dtype dt, const uint8_t *w0, int64_t w_row_bytes, int64_t rows,
                                            const unsigned char *xbuf, int64_t xrow, int64_t K, int64_t M,
                                            float *sums) {
    qmm_xrow xr[QMM_MB_GEMV_NX];
    for (int64_t t = 0; t < M && t < QMM_MB_GEMV_NX; t++) xr[t] = x_row(xbuf, xrow, K, 0, t);
    for (int h = 0; h < QMM_WIDE_NR && h < rows; h += 16) {
        const uint8_t *wh = w0 + h * w_row_bytes;
        const int64_t rh = rows - h < 16 ? rows - h : 16;
        if (dt == AX_Q4_K) {
            if (M == 1) qmm_vnni_gemv_k16(AX_Q4_K, 1, wh, w_row_bytes, rh, K, xr, sums + h);
            else qmm_vnni_gemv_k16(AX_Q4_K, 2, wh, w_row_bytes, rh, K, xr, sums + h);
        } else {
            if (M == 1) qmm_vnni_gemv_k16(AX_Q6_K, 1, wh, w_row_bytes, rh, K, xr, sums + h);
            else qmm_vnni_gemv_k16(AX_Q6_K, 2, wh, w_row_bytes, rh, K, xr, sums + h);
        }
    }
}

#else
#define QMM_VNNI 0
#endif

#endif /* AXIAL_LINALG_CPU_QMM_VNNI_H */
