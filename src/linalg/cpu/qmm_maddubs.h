/*
 * qmm_maddubs.h — ax_qmatmul's block-quantized kernel for the avx2 path, and for the avx512 path on
 * CPUs without AVX-512 VNNI (qmm_kernel_planned in qmatmul_params.h), shared with
 * ax_moe_grouped_gemm so that its rows stay bit for bit ax_qmatmul's. Also the pieces the VNNI kernel
 * (qmm_vnni.h) shares with it: the wide panel and the level unpacking. Included by qmm_kernels.h;
 * defines QMM_MADDUBS to 1 where AVX2 is compiled in.
 *
 * The layout is the VNNI kernel's, with 256-bit vectors: lane i of a vector is row i of w (8 rows per
 * vector, QMM_WIDE_NR = 32 per panel), x's 4 levels of a 4-element group are broadcast to every lane,
 * and vpmaddubsw multiplies them with the rows' 4 unsigned levels, adding pairs into int16. Those
 * int16 sums are added up over the block's 8 groups before one vpmaddwd widens them: a 4-bit level
 * times |x| <= 127 is at most 1905, so the 16 products an int16 lane collects stay below 2^15 and the
 * sum is exact. Then one conversion and one FMA per block and 8 rows, where the lanes kernel
 * (qmm_kernels.h) spends two integer multiplies, a conversion and an FMA per 4-element lane and row;
 * that is why this one beats fp32 sgemm and that one did not (docs/performance.md).
 *
 * Wider levels overflow sooner: q6_k's 0..63 reach 2 * 63 * 127 per pair, so its int16 sums widen
 * every 2 groups; q8_0's level + 128 (0..255) would overflow a single pair, so its panel holds two
 * planes of nibbles per block, hi = level >> 4 and lo = level & 15, and the block dot is
 * 16 * dot(hi) + dot(lo), exact. Values are as in the VNNI kernel: w = scale * level + offset per
 * half block, q8_0 with the offset -128 d.
 *
 * Per output (row m of x, row n of w), over a K chunk, in this order (the VNNI kernel's order; every
 * M does it: the panel kernel for M > 2, qmm_mb_gemv for one or two rows of any block type, so a
 * row's bits never depend on M, and the two kernels' bits agree wherever their integer dots do,
 * which is everywhere):
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
#ifndef AXIAL_LINALG_CPU_QMM_MADDUBS_H
#define AXIAL_LINALG_CPU_QMM_MADDUBS_H

#if defined(__AVX2__)
#include <immintrin.h>
#define QMM_MADDUBS 1

/* One thread's wide panel: QMM_WIDE_NR rows of w over a chunk of kc elements. */
typedef struct qmm_vpanel {
    uint8_t *q;       /* [kc/32][P planes][8 groups of 4][32 rows][4]: unsigned levels (qmm_wide_planes) */
    float *scale;     /* [kc/32][2 halves][32 rows] */
    float *offset;    /* [kc/32][2 halves][32 rows] */
    int64_t kc;
} qmm_vpanel;

/* The panel in a thread's piece (qmm_wide_panel_bytes(planes, kc_max) bytes; the same layout as the
 * sizes). */
static inline qmm_vpanel qmm_vpanel_in(unsigned char *piece, int planes, int64_t kc_max) {
    const int64_t nb = kc_max / 32, lv = qmm_round64(planes * QMM_WIDE_NR * kc_max),
                  sc = qmm_round64(nb * 2 * QMM_WIDE_NR * 4);
    qmm_vpanel pn;
    pn.q = piece;
    pn.scale = (float *)(piece + lv);
    pn.offset = (float *)(piece + lv + sc);
    pn.kc = 0;
    return pn;
}

/* ---- the values both wide kernels unpack, so their panels and decode kernels agree ---- */

/* Bytes per block (q4_0, q4_1, q8_0) or super-block (q4_k, q6_k): ax_dtype_block_bytes as a constant
 * where dt is one, so the kernels' address arithmetic folds. */
static inline __attribute__((always_inline)) int64_t qmm_block_bytes(ax_dtype dt) {
    return dt == AX_Q4_0 ? 18 : dt == AX_Q4_1 ? 20 : dt == AX_Q8_0 ? 34 : dt == AX_Q4_K ? 144 : 210;
}

/* The 32 unsigned levels of a q4_0 / q4_1 / q8_0 block (dt a constant at each call): the nibbles
 * (low ones first), or q8_0's signed levels + 128. */
static inline __attribute__((always_inline)) __m256i qmm_q32_levels(ax_dtype dt, const uint8_t *blk) {
    if (dt == AX_Q8_0)
        return _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(blk + 2)), _mm256_set1_epi8((char)0x80));
    const __m128i packed = _mm_loadu_si128((const __m128i *)(blk + (dt == AX_Q4_0 ? 2 : 4)));
    return _mm256_and_si256(_mm256_srlv_epi64(_mm256_broadcastsi128_si256(packed), _mm256_setr_epi64x(0, 0, 4, 4)),
                            _mm256_set1_epi8(0x0f));
}

/* Block j (0..7) of a q4_k / q6_k super-block (dt a constant at each call): its 32 unsigned levels. */
static inline __attribute__((always_inline)) __m256i qmm_k_levels(ax_dtype dt, const uint8_t *blk, int j) {
    const __m256i low4 = _mm256_set1_epi8(0x0f);
    if (dt == AX_Q4_K) {
        const __m256i q = _mm256_loadu_si256((const __m256i *)(blk + 16 + 32 * (j / 2)));
        return _mm256_and_si256(_mm256_srli_epi16(q, 4 * (j % 2)), low4);
    }
    /* Block j = 4 h + q of the super-block: low nibbles of ql[64 h + 32 (q & 1) + i] (high ones when
     * q >= 2), bits 2 q, 2 q + 1 of qh[32 h + i] on top. */
    const int h = j / 4, q = j % 4;
    const __m256i ql = _mm256_loadu_si256((const __m256i *)(blk + 64 * h + 32 * (q & 1)));
    const __m256i qh = _mm256_loadu_si256((const __m256i *)(blk + 128 + 32 * h));
    const __m256i lo = _mm256_and_si256(_mm256_srli_epi16(ql, 4 * (q >> 1)), low4);
    const __m256i hi = _mm256_and_si256(_mm256_slli_epi16(_mm256_srli_epi16(qh, 2 * q), 4), _mm256_set1_epi8(0x30));
    return _mm256_or_si256(lo, hi);
}

/* The scales and offsets of the halves of a q4_k / q6_k super-block's 8 blocks (dt a constant at each
 * call), the values unpack_row computes (the same fp32 products), block j's at s0[j * stride],
 * s1[j * stride], o0[j * stride], o1[j * stride]. q4_k's 6-bit scales and minima are unpacked for all
 * 8 blocks at once from the three 32-bit words of its 12 scale bytes (ax_q4_k_get_scale_min's rule,
 * byte-parallel). */
static inline __attribute__((always_inline)) void qmm_k_scales(ax_dtype dt, const uint8_t *blk, float *s0, float *s1,
                                                               float *o0, float *o1, int stride) {
    float a0[8], a1[8], m0[8], m1[8];
    if (dt == AX_Q4_K) {
        uint32_t A, B, C;
        memcpy(&A, blk + 4, 4);
        memcpy(&B, blk + 8, 4);
        memcpy(&C, blk + 12, 4);
        const uint32_t sc_lo = A & 0x3f3f3f3fu, mn_lo = B & 0x3f3f3f3fu;
        const uint32_t sc_hi = (C & 0x0f0f0f0fu) | (((A >> 6) & 0x03030303u) << 4);
        const uint32_t mn_hi = ((C >> 4) & 0x0f0f0f0fu) | (((B >> 6) & 0x03030303u) << 4);
        const __m256 sc = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_setr_epi32((int)sc_lo, (int)sc_hi, 0, 0)));
        const __m256 mn = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_setr_epi32((int)mn_lo, (int)mn_hi, 0, 0)));
        const __m256 step = _mm256_mul_ps(_mm256_set1_ps(f16_at(blk)), sc);
        const __m256 neg_m = _mm256_xor_ps(_mm256_mul_ps(_mm256_set1_ps(f16_at(blk + 2)), mn), _mm256_set1_ps(-0.0f));
        _mm256_storeu_ps(a0, step);
        _mm256_storeu_ps(a1, step);
        _mm256_storeu_ps(m0, neg_m);
        _mm256_storeu_ps(m1, neg_m);
    } else {
        /* 16 int8 scales, one per 16 elements: the even ones for the blocks' first halves. */
        const __m128i s8 = _mm_loadu_si128((const __m128i *)(blk + 192));
        const __m128i even = _mm_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, -1, -1, -1, -1, -1, -1, -1, -1);
        const __m128i odd = _mm_setr_epi8(1, 3, 5, 7, 9, 11, 13, 15, -1, -1, -1, -1, -1, -1, -1, -1);
        const __m256 dd = _mm256_set1_ps(f16_at(blk + 208)), m32 = _mm256_set1_ps(-32.0f);
        const __m256 h0 = _mm256_mul_ps(dd, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_shuffle_epi8(s8, even))));
        const __m256 h1 = _mm256_mul_ps(dd, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_shuffle_epi8(s8, odd))));
        _mm256_storeu_ps(a0, h0);
        _mm256_storeu_ps(a1, h1);
        _mm256_storeu_ps(m0, _mm256_mul_ps(m32, h0));
        _mm256_storeu_ps(m1, _mm256_mul_ps(m32, h1));
    }
    for (int j = 0; j < 8; j++) {
        s0[j * stride] = a0[j];
        s1[j * stride] = a1[j];
        o0[j * stride] = m0[j];
        o1[j * stride] = m1[j];
    }
}

/* The scales of q4_k / q6_k in the decodes, for 8 (16) rows at once, lane i: row i. Each row's scale
 * words are copied into a [word][row] table as the row is read (scalar loads: gathers are slow on
 * Zen and on Intel CPUs with the Gather Data Sampling mitigation), then each block's scales and
 * offsets are unpacked from the table lane-parallel (QMM_K_BLOCK_FN below). The decode had unpacked
 * them row by row with qmm_k_scales into a [block][row] table: a fifth of its time.
 * QMM_K_WORDS words per super-block; word q is at byte qmm_k_word_at(dt, q): q4_k's first 16 bytes
 * (d and dmin, then the 12 bytes of 6-bit scales and minima); q6_k's 16 int8 scales at 192 and the
 * word at 206, whose high half is d (at 208; the word stays inside the super-block). */
#define QMM_K_WORDS 5
static inline __attribute__((always_inline)) int qmm_k_word_at(ax_dtype dt, int q) {
    return dt == AX_Q4_K ? 4 * (q & 3) : q < 4 ? 192 + 4 * q : 206;
}

/* One fp16 of each lane's 32-bit word (the low half, or the high one when high) as fp32. */
static inline __m256 qmm_f16_lanes8(__m256i w, int high) {
    const __m256i h = high ? _mm256_srli_epi32(w, 16) : w;
    /* the low 16 bits of each 32-bit lane, packed to 8 fp16 */
    const __m256i lo = _mm256_and_si256(h, _mm256_set1_epi32(0xffff));
    const __m128i packed = _mm_packus_epi32(_mm256_castsi256_si128(lo), _mm256_extracti128_si256(lo, 1));
    return _mm256_cvtph_ps(packed);
}

/* QMM_K_BLOCK_FN(name, VI, VU, VF) defines name(dt, w, d, m, j, s0, s1, o0, o1): block j (0..7) of
 * a set of rows' q4_k / q6_k super-blocks, one row per lane (VI / VU / VF: GCC vectors of int32,
 * uint32, float of one width), from their scale words w (word q from byte qmm_k_word_at(dt, q)) and
 * fp16 scales already widened (q4_k: d, dmin; q6_k: d, unused): the scales and offsets of the
 * block's two halves, the values qmm_k_scales makes (the same fp32 products; -x flips the sign bit
 * as qmm_k_scales's xor does). One body for the 8-lane decode here and the 16-lane VNNI one. */
#define QMM_K_BLOCK_FN(name, VI, VU, VF)                                                                     \
    static inline __attribute__((always_inline)) void name(ax_dtype dt, const VI *w, VF d, VF m, int j, VF *s0, \
                                                           VF *s1, VF *o0, VF *o1) {                             \
        if (dt == AX_Q4_K) {                                                                                 \
            VI sc, mn; /* 6-bit scale and minimum (ax_q4_k_get_scale_min's rule, lane-parallel) */         \
            if (j < 4) {                                                                                     \
                sc = (w[1] >> (8 * j)) & 0x3f;                                                               \
                mn = (w[2] >> (8 * j)) & 0x3f;                                                               \
            } else {                                                                                         \
                const int q = j - 4;                                                                         \
                sc = ((w[3] >> (8 * q)) & 0x0f) | (((w[1] >> (8 * q + 6)) & 3) << 4);                        \
                mn = ((w[3] >> (8 * q + 4)) & 0x0f) | (((w[2] >> (8 * q + 6)) & 3) << 4);                    \
            }                                                                                                \
            *s0 = *s1 = d * __builtin_convertvector(sc, VF);                                                 \
            *o0 = *o1 = -(m * __builtin_convertvector(mn, VF));                                              \
        } else {                                                                                             \
            VF h[2];                                                                                         \
            for (int half = 0; half < 2; half++) {                                                           \
                const int e = 2 * j + half; /* scale byte e: word e / 4, byte e % 4, sign-extended */       \
                const VI v = (VI)((VU)w[e / 4] << (24 - 8 * (e % 4))) >> 24;                                 \
                h[half] = d * __builtin_convertvector(v, VF);                                                \
            }                                                                                                \
            *s0 = h[0];                                                                                      \
            *s1 = h[1];                                                                                      \
            *o0 = -32.0f * h[0];                                                                             \
            *o1 = -32.0f * h[1];                                                                             \
        }                                                                                                    \
    }

typedef int32_t qmm_v8i __attribute__((vector_size(32)));
typedef uint32_t qmm_v8u __attribute__((vector_size(32)));
typedef float qmm_v8f __attribute__((vector_size(32)));
QMM_K_BLOCK_FN(qmm_k_block8, qmm_v8i, qmm_v8u, qmm_v8f)

/* Lane j of h0: the sum of v[j]'s lanes 0-3 (exact); of h1: of its lanes 4-7 (q6_k's block halves).
 * Unpacks and adds: vphaddd is three operations on Zen and ran the decode kernels slower. */
static inline __attribute__((always_inline)) void qmm_sum8_halves(const __m256i v[8], __m256i *h0, __m256i *h1) {
    __m256i t[4], u[2];
    for (int k = 0; k < 4; k++) /* lanes: v2k_0+2, v2k+1_0+2, v2k_1+3, v2k+1_1+3 per 128 bits */
        t[k] = _mm256_add_epi32(_mm256_unpacklo_epi32(v[2 * k], v[2 * k + 1]),
                                _mm256_unpackhi_epi32(v[2 * k], v[2 * k + 1]));
    for (int k = 0; k < 2; k++) /* lanes: the 128-bit halves of v4k .. v4k+3 */
        u[k] = _mm256_add_epi32(_mm256_unpacklo_epi64(t[2 * k], t[2 * k + 1]),
                                _mm256_unpackhi_epi64(t[2 * k], t[2 * k + 1]));
    *h0 = _mm256_permute2x128_si256(u[0], u[1], 0x20);
    *h1 = _mm256_permute2x128_si256(u[0], u[1], 0x31);
}

/* Lane j of the result: the sum of v[j]'s 8 int32 lanes (exact). */
static inline __m256i qmm_sum8_epi32(const __m256i v[8]) {
    __m256i h0, h1;
    qmm_sum8_halves(v, &h0, &h1);
    return _mm256_add_epi32(h0, h1);
}

/* ---- the maddubs kernel ---- */

/* Planes of nibbles per block in this kernel's panel: 2 for levels wider than 4 bits. */
static inline int qmm_mb_planes(ax_dtype dt) { return qmm_wide_planes(QMM_KERNEL_MADDUBS, dt); }

/* out[j] lane i = L[i]'s 32-bit lane j: an 8 x 8 transpose of 4-byte elements. */
static inline __attribute__((always_inline)) void qmm_mb_transpose8(const __m256i L[8], __m256i out[8]) {
    __m256i t[8], u[8];
    for (int k = 0; k < 8; k += 2) {
        t[k] = _mm256_unpacklo_epi32(L[k], L[k + 1]);     /* r_k0 r_k+1,0 r_k1 r_k+1,1 per 128 bits */
        t[k + 1] = _mm256_unpackhi_epi32(L[k], L[k + 1]); /* elements 2, 3 (and 6, 7) */
    }
    for (int k = 0; k < 8; k += 4) {
        u[k] = _mm256_unpacklo_epi64(t[k], t[k + 2]);         /* element 0 (4) of rows k .. k+3 */
        u[k + 1] = _mm256_unpackhi_epi64(t[k], t[k + 2]);     /* element 1 (5) */
        u[k + 2] = _mm256_unpacklo_epi64(t[k + 1], t[k + 3]); /* element 2 (6) */
        u[k + 3] = _mm256_unpackhi_epi64(t[k + 1], t[k + 3]); /* element 3 (7) */
    }
    for (int q = 0; q < 4; q++) {
        out[q] = _mm256_permute2x128_si256(u[q], u[4 + q], 0x20);
        out[q + 4] = _mm256_permute2x128_si256(u[q], u[4 + q], 0x31);
    }
}

/* 8 blocks' scale d and offset (q4_0: -8 d, q8_0: -128 d, q4_1: its minimum) from their first 4
 * bytes, one block per 32-bit lane of hd (fp16 d in the low half, q4_1's fp16 minimum in the high):
 * the values qmm_vnni_q32_scale_offset makes. */
static inline __attribute__((always_inline)) void qmm_mb_q32_scale_offset(ax_dtype dt, __m256i hd, __m256 *d,
                                                                          __m256 *o) {
    const __m256i low_halves = _mm256_setr_epi8(0, 1, 4, 5, 8, 9, 12, 13, -1, -1, -1, -1, -1, -1, -1, -1, 0, 1, 4, 5,
                                                8, 9, 12, 13, -1, -1, -1, -1, -1, -1, -1, -1);
    const __m256i d16 = _mm256_permute4x64_epi64(_mm256_shuffle_epi8(hd, low_halves), 0x08);
    *d = _mm256_cvtph_ps(_mm256_castsi256_si128(d16));
    if (dt == AX_Q4_0) *o = _mm256_mul_ps(_mm256_set1_ps(-8.0f), *d);
    else if (dt == AX_Q8_0) *o = _mm256_mul_ps(_mm256_set1_ps(-128.0f), *d);
    else {
        const __m256i m16 = _mm256_permute4x64_epi64(_mm256_shuffle_epi8(_mm256_srli_epi32(hd, 16), low_halves), 0x08);
        *o = _mm256_cvtph_ps(_mm256_castsi256_si128(m16));
    }
}

/* Block b of rows rg .. rg + 7 into the panel: their levels L (split into P planes, transposed) and
 * the scales and offsets of the block's two halves. */
static inline __attribute__((always_inline)) void qmm_mb_store_block(qmm_vpanel *pn, int P, int64_t b, int rg,
                                                                     const __m256i L[8], __m256 s0, __m256 s1,
                                                                     __m256 o0, __m256 o1) {
    uint8_t *qb = pn->q + (b * P * 8 * QMM_WIDE_NR + rg) * 4;
    const __m256i low4 = _mm256_set1_epi8(0x0f);
    for (int pl = 0; pl < P; pl++) {
        __m256i plane[8], out[8]; /* the levels, or with two planes their high (pl 0) or low nibbles */
        for (int i = 0; i < 8; i++)
            plane[i] = P == 1 ? L[i] : _mm256_and_si256(pl == 0 ? _mm256_srli_epi16(L[i], 4) : L[i], low4);
        qmm_mb_transpose8(plane, out);
        for (int j = 0; j < 8; j++) _mm256_storeu_si256((__m256i *)(qb + (pl * 8 + j) * QMM_WIDE_NR * 4), out[j]);
    }
    float *sc = pn->scale + 2 * b * QMM_WIDE_NR + rg, *of = pn->offset + 2 * b * QMM_WIDE_NR + rg;
    _mm256_storeu_ps(sc, s0);
    _mm256_storeu_ps(sc + QMM_WIDE_NR, s1);
    _mm256_storeu_ps(of, o0);
    _mm256_storeu_ps(of + QMM_WIDE_NR, o1);
}

/* Rows n0 .. n0 + rows - 1 (rows <= QMM_WIDE_NR; w0: row n0) over [k0, k0 + kc) into the panel,
 * 8 rows at a time. dt is a constant at each call. Rows past `rows` repeat the last row: their sums
 * are computed and dropped. */
static inline __attribute__((always_inline)) void qmm_mb_fill_dt(qmm_vpanel *pn, ax_dtype dt, const uint8_t *w0,
                                                                 int64_t w_row_bytes, int64_t rows, int64_t k0,
                                                                 int64_t nb) {
    const int P = qmm_mb_planes(dt);
    const int ksuper = dt == AX_Q4_K || dt == AX_Q6_K;
    const int64_t bytes = qmm_block_bytes(dt);
    const int64_t first = ksuper ? k0 / 256 : k0 / 32;
    float S0[8][8], S1[8][8], O0[8][8], O1[8][8]; /* k types: [block of the super-block][row] */
    for (int rg = 0; rg < QMM_WIDE_NR; rg += 8) {
        const uint8_t *rowp[8];
        for (int i = 0; i < 8; i++) rowp[i] = w0 + (rg + i < rows ? rg + i : rows - 1) * w_row_bytes + first * bytes;
        for (int64_t b = 0; b < nb; b++) {
            __m256i L[8];
            if (ksuper) {
                /* A super-block's scales once per row, then its 8 blocks. */
                if (b % 8 == 0)
                    for (int i = 0; i < 8; i++)
                        qmm_k_scales(dt, rowp[i] + (b / 8) * bytes, &S0[0][i], &S1[0][i], &O0[0][i], &O1[0][i], 8);
                const int j = (int)(b % 8);
                for (int i = 0; i < 8; i++) L[i] = qmm_k_levels(dt, rowp[i] + (b / 8) * bytes, j);
                qmm_mb_store_block(pn, P, b, rg, L, _mm256_loadu_ps(S0[j]), _mm256_loadu_ps(S1[j]),
                                   _mm256_loadu_ps(O0[j]), _mm256_loadu_ps(O1[j]));
            } else {
                int32_t head4[8]; /* each block's first 4 bytes: fp16 d (and q4_1's minimum) */
                for (int i = 0; i < 8; i++) {
                    L[i] = qmm_q32_levels(dt, rowp[i] + b * bytes);
                    memcpy(&head4[i], rowp[i] + b * bytes, 4);
                }
                __m256 d, o;
                qmm_mb_q32_scale_offset(dt, _mm256_loadu_si256((const __m256i *)head4), &d, &o);
                qmm_mb_store_block(pn, P, b, rg, L, d, d, o, o);
            }
        }
    }
}

static inline void qmm_mb_fill(qmm_vpanel *pn, ax_dtype dt, const uint8_t *w0, int64_t w_row_bytes, int64_t rows,
                               int64_t k0, int64_t kc) {
    const int64_t nb = kc / 32;
    pn->kc = kc;
    switch (dt) {
    case AX_Q4_0: qmm_mb_fill_dt(pn, AX_Q4_0, w0, w_row_bytes, rows, k0, nb); break;
    case AX_Q4_1: qmm_mb_fill_dt(pn, AX_Q4_1, w0, w_row_bytes, rows, k0, nb); break;
    case AX_Q8_0: qmm_mb_fill_dt(pn, AX_Q8_0, w0, w_row_bytes, rows, k0, nb); break;
    case AX_Q4_K: qmm_mb_fill_dt(pn, AX_Q4_K, w0, w_row_bytes, rows, k0, nb); break;
    default: qmm_mb_fill_dt(pn, AX_Q6_K, w0, w_row_bytes, rows, k0, nb); break;
    }
}

/* Rows m0 .. m0 + MR - 1 of x against the panel's 32 rows, 8 at a time, added to sums[m * 32 + n].
 * H: 2 for q6_k (a scale per half block), 1 otherwise; P: planes. H, P and MR are constants at
 * every call, so the arrays below live in registers (MR = 4, P = 1: 4 int16 sums, 4 group sums, 4
 * totals, a row vector, a broadcast x and the vpmaddwd ones). */
static inline __attribute__((always_inline)) void qmm_mb_rows(const qmm_vpanel *pn, int H, int P, int F, int MR,
                                                              const unsigned char *xbuf, int64_t xrow, int64_t K,
                                                              int64_t k0, int64_t m0, float *sums) {
    const int64_t nb = pn->kc / 32, gb = qmm_x_group(K) / 32;
    const __m256i ones = _mm256_set1_epi16(1);
    const int8_t *xq[4];
    const float *xd[4], *xs[4];
    for (int i = 0; i < MR; i++) {
        const qmm_xrow xr = x_row(xbuf, xrow, K, k0, m0 + i);
        xq[i] = xr.q;
        xd[i] = xr.d;
        xs[i] = xr.s;
    }
    for (int v = 0; v < QMM_WIDE_NR; v += 8) {
        __m256 c[4];
        for (int i = 0; i < MR; i++) c[i] = _mm256_setzero_ps();
        for (int64_t g = 0; g < nb; g += gb) {
            __m256 a[4];
            for (int i = 0; i < MR; i++) a[i] = _mm256_setzero_ps();
            for (int64_t b = g; b < g + gb; b++) {
                const uint8_t *qb = pn->q + (b * P * 8 * QMM_WIDE_NR + v) * 4;
                for (int h = 0; h < H; h++) {
                    __m256i dot[4];
                    for (int i = 0; i < MR; i++) dot[i] = _mm256_setzero_si256(); /* set below; silences GCC */
                    for (int pl = 0; pl < P; pl++)
                        for (int j0 = h * 8 / H; j0 < (h + 1) * 8 / H; j0 += F) {
                            __m256i s16[4];
                            for (int i = 0; i < MR; i++) s16[i] = _mm256_setzero_si256();
                            for (int j = j0; j < j0 + F; j++) {
                                const __m256i w =
                                    _mm256_loadu_si256((const __m256i *)(qb + (pl * 8 + j) * QMM_WIDE_NR * 4));
                                for (int i = 0; i < MR; i++) {
                                    int32_t x4;
                                    memcpy(&x4, xq[i] + 32 * b + 4 * j, 4);
                                    s16[i] = _mm256_add_epi16(s16[i], _mm256_maddubs_epi16(w, _mm256_set1_epi32(x4)));
                                    /* Keeps the sum a chain in one register: left alone, GCC regroups
                                     * the adds into trees and spills the products (2x slower). */
                                    __asm__("" : "+x"(s16[i]));
                                }
                            }
                            for (int i = 0; i < MR; i++) {
                                const __m256i t = _mm256_madd_epi16(s16[i], ones);
                                if (pl == 0 && j0 == h * 8 / H) dot[i] = P == 2 ? _mm256_slli_epi32(t, 4) : t;
                                else dot[i] = _mm256_add_epi32(dot[i], t);
                            }
                        }
                    const __m256 s = _mm256_loadu_ps(pn->scale + (2 * b + h) * QMM_WIDE_NR + v);
                    for (int i = 0; i < MR; i++) a[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot[i]), s, a[i]);
                }
                const float *of = pn->offset + 2 * b * QMM_WIDE_NR + v;
                const __m256 o0 = _mm256_loadu_ps(of), o1 = _mm256_loadu_ps(of + QMM_WIDE_NR);
                for (int i = 0; i < MR; i++) {
                    c[i] = _mm256_fmadd_ps(o0, _mm256_set1_ps(xs[i][8 * b]), c[i]);
                    c[i] = _mm256_fmadd_ps(o1, _mm256_set1_ps(xs[i][8 * b + 4]), c[i]);
                }
            }
            for (int i = 0; i < MR; i++) c[i] = _mm256_fmadd_ps(a[i], _mm256_set1_ps(xd[i][g]), c[i]);
        }
        for (int i = 0; i < MR; i++) {
            float *s = sums + (m0 + i) * QMM_WIDE_NR + v;
            _mm256_storeu_ps(s, _mm256_add_ps(_mm256_loadu_ps(s), c[i]));
        }
    }
}

/* Every row of x against the panel (M rows), added to sums[m * 32 + n]: 4 rows of x at a time for
 * the 4-bit types; 3 for q6_k and q8_0, whose int32 dots live beside the int16 sums. */
static void qmm_mb_times_x(const qmm_vpanel *pn, ax_dtype dt, const unsigned char *xbuf, int64_t xrow, int64_t K,
                           int64_t k0, int64_t M, float *sums) {
    int64_t m = 0;
#define QMM_MB_ROWS(H, P, F, MR)                                                                           \
    for (; m + (MR) <= M; m += (MR)) qmm_mb_rows(pn, H, P, F, MR, xbuf, xrow, K, k0, m, sums);          \
    for (; m + 2 <= M; m += 2) qmm_mb_rows(pn, H, P, F, 2, xbuf, xrow, K, k0, m, sums);                 \
    if (m < M) qmm_mb_rows(pn, H, P, F, 1, xbuf, xrow, K, k0, m, sums);
    if (dt == AX_Q6_K) {
        QMM_MB_ROWS(2, 1, 2, 3)
    } else if (dt == AX_Q8_0) {
        QMM_MB_ROWS(1, 2, 8, 3)
    } else {
        QMM_MB_ROWS(1, 1, 8, 4)
    }
#undef QMM_MB_ROWS
}

/* ---- decode (M = 1 or 2): no panel ----
 * As qmm_vnni_gemv: each row's blocks dotted straight from memory (vpmaddubsw then vpmaddwd, one
 * 8-lane vector per block: 4-bit and 6-bit levels as they are; q8_0's signed levels by the
 * sign-transfer form, plus 128 times the block's sum of x's levels, which gives the dot of the level
 * + 128 the panel holds, exactly), 8 blocks' vectors summed into one (lane j: block j; q6_k: one per
 * half), 8 rows' of those transposed (lane i: row i), then the float steps of qmm_mb_rows in the same
 * order; q4_k / q6_k scales from a [word][row] table filled as the rows are read (QMM_K_BLOCK_FN).
 * The float steps and the integer dots are also the VNNI kernel's, lane for lane, so this decode
 * serves the VNNI kernel too where it has no decode of its own: two rows of q4_0 / q4_1 / q8_0
 * (qmm_wide_gemv). */

/* Blocks per pass of qmm_mb_gemv_dt (a multiple of every group's block count and of a super-block). */
#define QMM_MB_GEMV_SUB 32

/* Most rows of x the decode takes at once; more go through the panel. Its cost grows with each row
 * (a reduction and the float steps per row and block) where the panel's hardly does, so 2: in
 * bench_serving with 2 clients (decode steps of 2 rows) it gave 24 % more tokens per second than the
 * panel; with 4 clients, allowing 3 and 4 rows changed nothing measurable, and alone a (49152, 576)
 * q8_0 product of 4 rows took 2.27 ms against the panel's 1.71. */
#define QMM_MB_GEMV_NX 2

/* Row i's exact dots with rows xq[0 .. NX) of x of the blocks b8 .. b8 + n - 1 (n <= 8; n is 8 but
 * for a pass's last blocks), lane j: block b8 + j (0 past n): h0[t] and h1[t] the block's halves
 * against x row t, q6_k's two dots (their sum is the block's). Each block is unpacked once for the
 * NX rows. q4_0 / q4_1 / q8_0: each block's first 4 bytes into head4[j * 8]. dt and NX are constants
 * at each call; k types start at a super-block (b8 a multiple of 8). */
static inline __attribute__((always_inline)) void qmm_mb_gemv_dots8(ax_dtype dt, int NX, const uint8_t *row,
                                                                    int64_t bytes, int64_t b8, int n,
                                                                    const int8_t *const *xq, int32_t *head4,
                                                                    __m256i *h0, __m256i *h1) {
    const __m256i ones16 = _mm256_set1_epi16(1);
    const int ksuper = dt == AX_Q4_K || dt == AX_Q6_K;
    __m256i v[QMM_MB_GEMV_NX][8];
    for (int j = 0; j < 8; j++) {
        if (j >= n) {
            for (int t = 0; t < NX; t++) v[t][j] = _mm256_setzero_si256();
            continue;
        }
        const uint8_t *blk = ksuper ? row + (b8 / 8) * bytes : row + (b8 + j) * bytes;
        /* 4 KiB ahead in the stream, as qmm_vnni_gemv16 (a prefetch never faults). */
        _mm_prefetch((const char *)((uintptr_t)blk + 4096 + (ksuper ? 32 * j : 0)), _MM_HINT_T0);
        if (dt == AX_Q8_0) {
            const __m256i wv = _mm256_loadu_si256((const __m256i *)(blk + 2)), aw = _mm256_sign_epi8(wv, wv);
            for (int t = 0; t < NX; t++) {
                const __m256i xv = _mm256_loadu_si256((const __m256i *)(xq[t] + 32 * (b8 + j)));
                v[t][j] = _mm256_madd_epi16(_mm256_maddubs_epi16(aw, _mm256_sign_epi8(xv, wv)), ones16);
            }
        } else {
            const __m256i lv = ksuper ? qmm_k_levels(dt, blk, j) : qmm_q32_levels(dt, blk);
            for (int t = 0; t < NX; t++) {
                const __m256i xv = _mm256_loadu_si256((const __m256i *)(xq[t] + 32 * (b8 + j)));
                v[t][j] = _mm256_madd_epi16(_mm256_maddubs_epi16(lv, xv), ones16);
            }
        }
        if (!ksuper) memcpy(&head4[j * 8], blk, 4);
    }
    for (int t = 0; t < NX; t++) qmm_sum8_halves(v[t], &h0[t], &h1[t]);
}

/* Rows n0 .. n0 + rows - 1 (rows <= QMM_WIDE_NR; w0: row n0) times rows 0 .. NX - 1 of x (levels xq,
 * scales xd, sum lanes xs, from element 0) into out[t * QMM_WIDE_NR + r]. dt, gb and NX are constants
 * at each call. In passes of QMM_MB_GEMV_SUB blocks, per 8 rows of w: each row's blocks in turn (the
 * rows, adjacent in memory, read as one sequential stream), then 8 blocks at a time the 8 rows' dots
 * transposed and the float steps, per row of x. q8_0's block sums of x (128 times) are made once per
 * pass for all the rows. */
static inline __attribute__((always_inline)) void qmm_mb_gemv_dt(ax_dtype dt, int64_t gb, int NX, const uint8_t *w0,
                                                                 int64_t w_row_bytes, int64_t rows, int64_t K,
                                                                 const qmm_xrow *xr, float *out) {
    const int ksuper = dt == AX_Q4_K || dt == AX_Q6_K, H = dt == AX_Q6_K ? 2 : 1;
    const int64_t bytes = qmm_block_bytes(dt);
    const int64_t nb = K / 32, cb = qmm_kc(K) / 32, groups = (rows + 7) / 8;
    /* [x row][half][row][block] */
    int32_t dots[QMM_MB_GEMV_NX][2][8 * QMM_MB_GEMV_SUB] __attribute__((aligned(32)));
    int32_t head4[QMM_MB_GEMV_SUB * 8] __attribute__((aligned(32))); /* [block][row] */
    int32_t kwords[QMM_MB_GEMV_SUB / 8][QMM_K_WORDS][8] __attribute__((aligned(32))); /* k types: [sb][word][row] */
    int32_t xsum[QMM_MB_GEMV_NX][QMM_MB_GEMV_SUB];                     /* q8_0: 128 * the block's x levels */
    const int8_t *xq[QMM_MB_GEMV_NX];
    for (int t = 0; t < NX; t++) xq[t] = xr[t].q;
    __m256 sum[QMM_MB_GEMV_NX][QMM_WIDE_NR / 8];
    for (int t = 0; t < NX; t++)
        for (int64_t rg = 0; rg < groups; rg++) sum[t][rg] = _mm256_setzero_ps();
    for (int64_t c0 = 0; c0 < nb; c0 += cb) {
        const int64_t c1 = nb - c0 < cb ? nb : c0 + cb;
        __m256 c[QMM_MB_GEMV_NX][QMM_WIDE_NR / 8];
        for (int t = 0; t < NX; t++)
            for (int64_t rg = 0; rg < groups; rg++) c[t][rg] = _mm256_setzero_ps();
        for (int64_t s0 = c0; s0 < c1; s0 += QMM_MB_GEMV_SUB) {
            const int64_t s1 = c1 - s0 < QMM_MB_GEMV_SUB ? c1 : s0 + QMM_MB_GEMV_SUB;
            if (dt == AX_Q8_0) {
                const __m256i ones16 = _mm256_set1_epi16(1), ones8 = _mm256_set1_epi8(1);
                for (int t = 0; t < NX; t++)
                    for (int64_t b = s0; b < s1; b++) {
                        const __m256i xv = _mm256_loadu_si256((const __m256i *)(xq[t] + 32 * b));
                        const __m256i t8 = _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, xv), ones16);
                        __m128i u = _mm_add_epi32(_mm256_castsi256_si128(t8), _mm256_extracti128_si256(t8, 1));
                        u = _mm_hadd_epi32(u, u);
                        u = _mm_hadd_epi32(u, u);
                        xsum[t][b - s0] = 128 * _mm_cvtsi128_si32(u);
                    }
            }
            for (int64_t rg = 0; rg < groups; rg++) {
                for (int i = 0; i < 8; i++) {
                    const int64_t r = 8 * rg + i;
                    const uint8_t *row = w0 + (r < rows ? r : rows - 1) * w_row_bytes;
                    for (int64_t b8 = s0; b8 < s1; b8 += 8) {
                        const int n = s1 - b8 < 8 ? (int)(s1 - b8) : 8;
                        __m256i h0[QMM_MB_GEMV_NX], h1[QMM_MB_GEMV_NX];
                        if (n == 8)
                            qmm_mb_gemv_dots8(dt, NX, row, bytes, b8, 8, xq, head4 + (b8 - s0) * 8 + i, h0, h1);
                        else
                            qmm_mb_gemv_dots8(dt, NX, row, bytes, b8, n, xq, head4 + (b8 - s0) * 8 + i, h0, h1);
                        if (ksuper)
                            for (int q = 0; q < QMM_K_WORDS; q++)
                                memcpy(&kwords[(b8 - s0) / 8][q][i], row + (b8 / 8) * bytes + qmm_k_word_at(dt, q), 4);
                        const int64_t at = i * QMM_MB_GEMV_SUB + (b8 - s0);
                        for (int t = 0; t < NX; t++) {
                            if (H == 2) {
                                _mm256_store_si256((__m256i *)(dots[t][0] + at), h0[t]);
                                _mm256_store_si256((__m256i *)(dots[t][1] + at), h1[t]);
                            } else {
                                _mm256_store_si256((__m256i *)(dots[t][0] + at), _mm256_add_epi32(h0[t], h1[t]));
                            }
                        }
                    }
                }
                for (int64_t b8 = s0; b8 < s1; b8 += 8) {
                    const int64_t e = s1 - b8 < 8 ? s1 : b8 + 8;
                    qmm_v8i kw[QMM_K_WORDS]; /* k types: the super-block's scale words, row i in lane i */
                    __m256 kd = _mm256_setzero_ps(), km = kd;  /* and its fp16 scales (q4_k: d, dmin; q6_k: d) */
                    if (ksuper) {
                        for (int q = 0; q < QMM_K_WORDS; q++) kw[q] = *(const qmm_v8i *)kwords[(b8 - s0) / 8][q];
                        kd = qmm_f16_lanes8((__m256i)kw[dt == AX_Q4_K ? 0 : 4], dt != AX_Q4_K);
                        km = qmm_f16_lanes8((__m256i)kw[0], 1);
                    }
                    for (int t = 0; t < NX; t++) {
                        __m256i L[8], col[2][8]; /* col[h][j] lane i: row 8 rg + i's dot of block b8 + j (half h) */
                        for (int h = 0; h < H; h++) {
                            for (int i = 0; i < 8; i++)
                                L[i] = _mm256_load_si256((const __m256i *)(dots[t][h] + i * QMM_MB_GEMV_SUB + (b8 - s0)));
                            qmm_mb_transpose8(L, col[h]);
                        }
                        const float *xd = xr[t].d, *xs = xr[t].s;
                        /* Groups (gb blocks, gb dividing 8) never straddle the 8. */
                        for (int64_t g = b8; g < e; g += gb) {
                            __m256 a = _mm256_setzero_ps();
                            for (int64_t b = g; b < g + gb; b++) {
                                __m256 d0, d1, o0, o1;
                                if (ksuper) {
                                    qmm_v8f s0v, s1v, o0v, o1v;
                                    qmm_k_block8(dt, kw, (qmm_v8f)kd, (qmm_v8f)km, (int)(b - b8), &s0v, &s1v, &o0v,
                                                 &o1v);
                                    d0 = (__m256)s0v;
                                    d1 = (__m256)s1v;
                                    o0 = (__m256)o0v;
                                    o1 = (__m256)o1v;
                                } else {
                                    qmm_mb_q32_scale_offset(
                                        dt, _mm256_load_si256((const __m256i *)(head4 + (b - s0) * 8)), &d0, &o0);
                                    d1 = d0;
                                    o1 = o0;
                                }
                                __m256i dot = col[0][b - b8];
                                if (dt == AX_Q8_0) dot = _mm256_add_epi32(dot, _mm256_set1_epi32(xsum[t][b - s0]));
                                a = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), d0, a);
                                if (H == 2) a = _mm256_fmadd_ps(_mm256_cvtepi32_ps(col[1][b - b8]), d1, a);
                                c[t][rg] = _mm256_fmadd_ps(o0, _mm256_set1_ps(xs[8 * b]), c[t][rg]);
                                c[t][rg] = _mm256_fmadd_ps(o1, _mm256_set1_ps(xs[8 * b + 4]), c[t][rg]);
                            }
                            c[t][rg] = _mm256_fmadd_ps(a, _mm256_set1_ps(xd[g]), c[t][rg]);
                        }
                    }
                }
            }
        }
        for (int t = 0; t < NX; t++)
            for (int64_t rg = 0; rg < groups; rg++) sum[t][rg] = _mm256_add_ps(sum[t][rg], c[t][rg]);
    }
    for (int t = 0; t < NX; t++)
        for (int64_t rg = 0; rg < groups; rg++) _mm256_storeu_ps(out + t * QMM_WIDE_NR + 8 * rg, sum[t][rg]);
}

/* sums[t * 32 + r] = row n0 + r of w (rows <= 32) times row t of x's M prepared rows (xbuf; 1 <= M <=
 * QMM_MB_GEMV_NX), bit for bit what the panel path (qmm_wide_panel_sums) gives for those rows: this
 * kernel's, and the VNNI kernel's too (the same integer dots and float steps). */
static void qmm_mb_gemv(ax_dtype dt, const uint8_t *w0, int64_t w_row_bytes, int64_t rows, const unsigned char *xbuf,
                        int64_t xrow, int64_t K, int64_t M, float *sums) {
    qmm_xrow xr[QMM_MB_GEMV_NX];
    for (int64_t t = 0; t < M && t < QMM_MB_GEMV_NX; t++) xr[t] = x_row(xbuf, xrow, K, 0, t);
    const int64_t gb = qmm_x_group(K) / 32;
#define QMM_MB_GEMV_GB(dt_, nx_)                                                                       \
    switch (gb) {                                                                                  \
    case 8: qmm_mb_gemv_dt(dt_, 8, nx_, w0, w_row_bytes, rows, K, xr, sums); break;                \
    case 4: qmm_mb_gemv_dt(dt_, 4, nx_, w0, w_row_bytes, rows, K, xr, sums); break;                \
    case 2: qmm_mb_gemv_dt(dt_, 2, nx_, w0, w_row_bytes, rows, K, xr, sums); break;                \
    default: qmm_mb_gemv_dt(dt_, 1, nx_, w0, w_row_bytes, rows, K, xr, sums); break;               \
    }
#define QMM_MB_GEMV_NXS(dt_)                                                                           \
    if (M == 1) {                                                                                  \
        QMM_MB_GEMV_GB(dt_, 1)                                                                     \
    } else {                                                                                       \
        QMM_MB_GEMV_GB(dt_, 2)                                                                     \
    }
    switch (dt) {
    case AX_Q4_0: QMM_MB_GEMV_NXS(AX_Q4_0) break;
    case AX_Q4_1: QMM_MB_GEMV_NXS(AX_Q4_1) break;
    case AX_Q8_0: QMM_MB_GEMV_NXS(AX_Q8_0) break;
    default:
        /* K is a multiple of 256 for the k types, so x's groups are 256 (gb = 8). */
#undef QMM_MB_GEMV_GB
#define QMM_MB_GEMV_GB(dt_, nx_) qmm_mb_gemv_dt(dt_, 8, nx_, w0, w_row_bytes, rows, K, xr, sums);
        if (dt == AX_Q4_K) {
            QMM_MB_GEMV_NXS(AX_Q4_K)
        } else {
            QMM_MB_GEMV_NXS(AX_Q6_K)
        }
        break;
    }
#undef QMM_MB_GEMV_NXS
#undef QMM_MB_GEMV_GB
}
#else
#define QMM_MADDUBS 0
#endif

#endif /* AXIAL_LINALG_CPU_QMM_MADDUBS_H */
