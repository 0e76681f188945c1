/*
 * grouped_gemm_f32.h — ax_moe_grouped_gemm's own fp32 kernels for float w, on the paths that have AVX2
 * and FMA: AX_TRANS (w[e] is (N, K), K contiguous) first, AX_NO_TRANS (w[e] (K, N)) at the end; before
 * them, on every path, gg_store_tile (the store of a result tile into y). Static functions,
 * included by cpu/grouped_gemm.isa.inc only. Never installed.
 *
 * Why not OpenBLAS's sgemm per (expert, tile): sgemm packs its B operand (here w[e], N x K) into its
 * own layout on every call, and a MoE segment is short (64 rows at 512 tokens over 8 experts with
 * k = 1), so every weight is packed to be used 64 times; the packing then costs about a quarter of the
 * call (measured: sgemm at M = 64 runs at 0.75x its M = 512 rate with w already in cache). Here it is
 * the other way round: the segment's rows of x, the small operand, are packed once per call into
 * panels of GG_MR rows, k-major (panel[k * GG_MR + i] = x[row i][k], zero past the segment's end), and
 * w is read in place: a micro-tile holds GG_NR rows of w[e], whose elements are broadcast one at a time
 * against the panel's two 8-lane vectors, 12 accumulators of 8 lanes, 12 FMAs per 2 vector loads and
 * 6 broadcasts. The GG_NR rows of w (6 K floats: 13.5 KiB at K = 576) stay in L1 while the work item's
 * panels (at most MOE_GG_RT rows: L2 or L3 at moderate K) stream past them. The avx512 path compiles
 * 16-lane versions of both kernels instead (32 registers: micro-tiles of 32 x 12 and 12 x 32, half the
 * instructions per multiply-add; see below), on the same packed panels.
 *
 * Each y element is one sum over k = 0..K-1 in order, fused multiply-adds in fp32, stored once (no
 * partial sums in y), so bf16 y is rounded once.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_MOE_CPU_GROUPED_GEMM_F32_H
#define AXIAL_MOE_CPU_GROUPED_GEMM_F32_H

#include <stdint.h>
#include <string.h>

#include "core/cpu/vec.h"
#include "moe/grouped_gemm_params.h"

/* y[r0 + m, n0 + c] = sums[m * m_step + c * c_step] for m < rows, c < cols, one rounding into y's
 * dtype: the store of every result tile into y, on every path. Row-major tiles (the quantized panels,
 * the AX_NO_TRANS kernels) pass (ld, 1); the AX_TRANS micro-tiles, which hold a column of y per
 * accumulator pair, pass (1, ld). */
static void gg_store_tile(const moe_gg_params *p, const float *sums, int64_t m_step, int64_t c_step, int64_t r0,
                          int64_t rows, int64_t n0, int64_t cols) {
    for (int64_t m = 0; m < rows; m++) {
        const float *sm = sums + m * m_step;
        if (p->y_dtype == AX_F32) {
            float *yr = (float *)p->y + (r0 + m) * p->y_row_stride + n0;
            for (int64_t c = 0; c < cols; c++) yr[c] = sm[c * c_step];
        } else {
            uint16_t *yr = (uint16_t *)p->y + (r0 + m) * p->y_row_stride + n0;
            for (int64_t c = 0; c < cols; c++) yr[c] = ax_cvt_f32_to_bf16(sm[c * c_step]);
        }
    }
}

#if defined(__AVX2__) && defined(__FMA__)
#define GG_OWN_F32 1

#include <immintrin.h>

#define GG_MR 16 /* rows of x per packed panel: two 8-lane vectors */
#define GG_NR 6  /* rows of w (columns of y) per micro-tile: 12 accumulators, 15 of the 16 registers */
_Static_assert(GG_MR == MOE_GG_PANEL_ROWS, "the plan sizes the packed panels with MOE_GG_PANEL_ROWS");

/* The lines of y a micro-tile will be stored to, prefetched while its FMAs run. y is written once,
 * after the tile's last k, and its lines are usually in no cache (R x N floats, 25 MB at 512 tokens
 * with k = 8): stored cold, each line's read-for-ownership goes to memory while the stores wait in
 * order in the store buffer, and the next micro-tile stalls behind them (the tile's stores were 15 %
 * of the call's samples on an Emerald Rapids VM, 6 % with the prefetch, and the call 8 % faster at
 * k = 8). Row i of the tile is fetched at the kernel's i-th step of 16 k (rows past K / 16 are not),
 * both ends of its span, so the requests are spread over the FMAs. Without PREFETCHW in the target
 * this is a read prefetch, which brings a line no other core holds in exclusive state: the store
 * then needs no second request. */
typedef struct gg_ypf {
    const char *row; /* the tile's first element of y */
    int64_t stride;  /* bytes between y's rows */
    int64_t span;    /* bytes from a row's first to its last element in the tile */
    int64_t rows;
} gg_ypf;

static inline gg_ypf gg_ypf_for(const moe_gg_params *p, int64_t r0, int64_t rows, int64_t n0, int64_t cols) {
    const int64_t elem = p->y_dtype == AX_F32 ? 4 : 2;
    gg_ypf y = {(const char *)p->y + (r0 * p->y_row_stride + n0) * elem, p->y_row_stride * elem,
                (cols - 1) * elem, rows};
    return y;
}

static inline __attribute__((always_inline)) void gg_prefetch_y(const gg_ypf *y, int64_t step) {
    if (step < y->rows) {
        __builtin_prefetch(y->row + step * y->stride, 1, 3);
        __builtin_prefetch(y->row + step * y->stride + y->span, 1, 3);
    }
}

/* The step both micro-kernels repeat: broadcast *(p), multiply it into the 8-lane vectors v0 and (when
 * `two`) v1, add into accumulators ca and cb. fmadd(v, s, c) is v * s + c rounded once. */
#define GG_BCAST_FMA(p, v0, v1, ca, cb)                       \
    do {                                                      \
        const __m256 s_ = _mm256_broadcast_ss(p);             \
        ca = _mm256_fmadd_ps(v0, s_, ca);                     \
        if (two) cb = _mm256_fmadd_ps(v1, s_, cb);            \
    } while (0)

/* The twelve accumulators c0a..c5b into out: row/column j's two vectors at out + j * stride. */
#define GG_STORE12(out, stride)                               \
    do {                                                      \
        const __m256 acc_[12] = {c0a, c0b, c1a, c1b, c2a, c2b, c3a, c3b, c4a, c4b, c5a, c5b}; \
        for (int j_ = 0; j_ < 6; j_++) {                      \
            _mm256_storeu_ps((out) + j_ * (stride), acc_[2 * j_]);     \
            _mm256_storeu_ps((out) + j_ * (stride) + 8, acc_[2 * j_ + 1]); \
        }                                                     \
    } while (0)

/* r[c] becomes column c of the 8 x 8 block whose rows are r[0..7]. */
static inline void gg_transpose8(__m256 r[8]) {
    const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    const __m256 s0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
    const __m256 s1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
    const __m256 s2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
    const __m256 s3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
    const __m256 s4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
    const __m256 s5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
    const __m256 s6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
    const __m256 s7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
    r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
    r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
    r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
    r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
    r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
    r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
    r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
    r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

/* Rows [0, rows) of x (f32 or bf16, row stride ldx elements, rows <= GG_MR) into one panel of K x GG_MR
 * floats, k-major, rows past `rows` zero. A full f32 panel moves in 8 x 8 register transposes (the
 * packing is per call, and with a narrow w, F = 192 columns per expert, it is not negligible); the
 * rest element by element. */
static inline void gg_pack_panel(const void *x, ax_dtype dt, int64_t ldx, int64_t rows, int64_t K, float *panel) {
    int64_t k_done = 0;
    if (dt == AX_F32 && rows == GG_MR) {
        const float *xf = x;
        for (; k_done + 8 <= K; k_done += 8) {
            for (int h = 0; h < 2; h++) {
                __m256 r[8];
                for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(xf + (8 * h + i) * ldx + k_done);
                gg_transpose8(r);
                for (int c = 0; c < 8; c++) _mm256_storeu_ps(panel + (k_done + c) * GG_MR + 8 * h, r[c]);
            }
        }
        if (k_done == K) return;
    }
    if (rows < GG_MR) memset(panel + k_done * GG_MR, 0, (size_t)((K - k_done) * GG_MR) * sizeof(float));
    float row[256];
    for (int64_t i = 0; i < rows; i++) {
        for (int64_t k0 = k_done; k0 < K; k0 += 256) {
            const int64_t n = K - k0 < 256 ? K - k0 : 256;
            if (dt == AX_F32) memcpy(row, (const float *)x + i * ldx + k0, (size_t)n * sizeof(float));
            else ax_row_bf16_to_f32((const uint16_t *)x + i * ldx + k0, row, n);
            for (int64_t k = 0; k < n; k++) panel[(k0 + k) * GG_MR + i] = row[k];
        }
    }
}

#if defined(__AVX512F__)
/* ---- AX_TRANS on the avx512 path: 16-lane registers, 32 of them ----
 * The same packed panels (GG_MR = 16 rows: one 16-lane vector per k) and the same in-place w, with a
 * micro-tile of two adjacent panels (32 rows) by GG512_NR = 12 rows of w: 24 accumulators, 24 FMAs
 * per 2 vector loads and 12 broadcasts (the 8-lane tile: 12 per 2 and 6). Per multiply-add that is
 * half the instructions and a third fewer loads, which is what OpenBLAS's AVX-512 sgemm has over the
 * 8-lane tile (measured on Zen 4, which runs 16-lane FMAs in two halves: the loop of per-expert
 * sgemm calls beat the 8-lane grouped kernel at k = 8). Sums are the same k-ordered FMA chains. */
#define GG512_NR 12

/* A switch over v = 1..12 (12 for anything else) whose case n is CASE(n): the micro-kernels' tile
 * sizes become constants, so each instance keeps only the accumulators it uses. */
#define GG512_SWITCH(v, CASE)                                                                          \
    switch (v) {                                                                                       \
        CASE(1) CASE(2) CASE(3) CASE(4) CASE(5) CASE(6) CASE(7) CASE(8) CASE(9) CASE(10) CASE(11)      \
        default: CASE(12)                                                                              \
    }

/* out[j * 32 + i] = sum_k panel_i[k] w[j * ldw + k] for j < nr and i < (two ? 32 : 16), rows 0..15
 * from p0, 16..31 from p1 (p0's neighbour panel; read only with `two`). pf, when not NULL, is the next
 * group of GG512_NR rows of w (stride ldw, K each): the rows j whose bit is set in pf_rows are
 * prefetched, a cache line per row every 16 k, so w's stream from memory overlaps the FMAs. */
static inline __attribute__((always_inline)) void gg512_micro_fixed(const float *restrict p0, const float *restrict p1,
                                                                    const float *restrict w, int64_t ldw, int64_t K,
                                                                    int nr, int two, const float *pf,
                                                                    unsigned pf_rows, const gg_ypf *ypf,
                                                                    float *restrict out) {
    __m512 c[2 * GG512_NR];
#pragma GCC unroll 24
    for (int j = 0; j < 2 * GG512_NR; j++) c[j] = _mm512_setzero_ps();
#define GG512_STEP(k)                                                              \
    do {                                                                           \
        const __m512 a0 = _mm512_loadu_ps(p0 + (k) * GG_MR);                       \
        const __m512 a1 = two ? _mm512_loadu_ps(p1 + (k) * GG_MR) : a0;            \
        _Pragma("GCC unroll 12") for (int j = 0; j < GG512_NR; j++) {              \
            if (j < nr) {                                                          \
                const __m512 s_ = _mm512_set1_ps(w[j * ldw + (k)]);                \
                c[2 * j] = _mm512_fmadd_ps(a0, s_, c[2 * j]);                      \
                if (two) c[2 * j + 1] = _mm512_fmadd_ps(a1, s_, c[2 * j + 1]);     \
            }                                                                      \
        }                                                                          \
    } while (0)
    int64_t k = 0;
    for (; k + 16 <= K; k += 16) {
        if (pf != NULL) {
            for (int j = 0; j < GG512_NR; j++)
                if (pf_rows >> j & 1u) _mm_prefetch((const char *)(pf + j * ldw + k), _MM_HINT_T0);
        }
        gg_prefetch_y(ypf, k >> 4);
#pragma GCC unroll 2
        for (int64_t kk = k; kk < k + 16; kk++) GG512_STEP(kk);
    }
    for (; k < K; k++) GG512_STEP(k);
#undef GG512_STEP
#pragma GCC unroll 12
    for (int j = 0; j < GG512_NR; j++) {
        if (j < nr) {
            _mm512_storeu_ps(out + j * 32, c[2 * j]);
            if (two) _mm512_storeu_ps(out + j * 32 + 16, c[2 * j + 1]);
        }
    }
}

static void gg512_micro(const float *p0, const float *p1, const float *w, int64_t ldw, int64_t K, int nr, int two,
                        const float *pf, unsigned pf_rows, const gg_ypf *ypf, float *out) {
#define GG512_CASE(n)                                                                    \
    case n:                                                                              \
        if (two) gg512_micro_fixed(p0, p1, w, ldw, K, n, 1, pf, pf_rows, ypf, out);      \
        else gg512_micro_fixed(p0, p1, w, ldw, K, n, 0, pf, pf_rows, ypf, out);          \
        break;
    GG512_SWITCH(nr, GG512_CASE);
#undef GG512_CASE
}

/* gg_f32_tile (below) on the avx512 path: micro-tiles of 32 rows (two panels) by GG512_NR columns. */
static void gg_f32_tile(const moe_gg_params *p, const float *panels_x, int64_t r0, int64_t rows, const float *w,
                        int64_t ldw, int64_t n0, int64_t cols) {
    const int64_t K = p->K, pairs = (rows + 2 * GG_MR - 1) / (2 * GG_MR);
    float out[GG512_NR * 2 * GG_MR];
    for (int64_t j0 = 0; j0 < cols; j0 += GG512_NR) {
        const int nr = (int)(cols - j0 < GG512_NR ? cols - j0 : GG512_NR);
        for (int64_t m0 = 0; m0 < rows; m0 += 2 * GG_MR) {
            const int64_t mr = rows - m0 < 2 * GG_MR ? rows - m0 : 2 * GG_MR, q = m0 / (2 * GG_MR);
            unsigned pf_rows = 0; /* the next group's rows, spread over this group's panel pairs */
            for (int j = 0; j < GG512_NR; j++) pf_rows |= (unsigned)(j % pairs == q) << j;
            const float *pf = j0 + 2 * GG512_NR <= cols && pf_rows != 0 ? w + (j0 + GG512_NR) * ldw : NULL;
            const float *p0 = panels_x + m0 * K;
            const int two = mr > GG_MR; /* the second panel exists only then */
            const gg_ypf ypf = gg_ypf_for(p, r0 + m0, mr, n0 + j0, nr);
            gg512_micro(p0, two ? p0 + GG_MR * K : p0, w + j0 * ldw, ldw, K, nr, two, pf, pf_rows, &ypf, out);
            gg_store_tile(p, out, 1, 2 * GG_MR, r0 + m0, mr, n0 + j0, nr);
        }
    }
}
#else
/* out[j * GG_MR + i] = sum_k panel[k * GG_MR + i] w[j * ldw + k] for j < nr, i < (two ? 16 : 8). nr and
 * two are constants at every call site (gg_micro's switch), so the unused accumulators vanish. pf, when
 * not NULL, is the next group of GG_NR rows of w (stride ldw, K each): the rows j whose bit is set in
 * pf_rows are prefetched, a cache line per row every 16 k, so w's stream from memory overlaps the FMAs
 * (gg_f32_tile spreads the group's rows over the panels that use the current group). */
static inline __attribute__((always_inline)) void gg_micro_fixed(const float *restrict panel, const float *restrict w,
                                                                 int64_t ldw, int64_t K, int nr, int two,
                                                                 const float *pf, unsigned pf_rows,
                                                                 const gg_ypf *ypf, float *restrict out) {
    __m256 c0a = _mm256_setzero_ps(), c0b = c0a, c1a = c0a, c1b = c0a, c2a = c0a, c2b = c0a;
    __m256 c3a = c0a, c3b = c0a, c4a = c0a, c4b = c0a, c5a = c0a, c5b = c0a;
    const float *w0 = w, *w1 = w + (nr > 1 ? ldw : 0), *w2 = w + (nr > 2 ? 2 * ldw : 0);
    const float *w3 = w + (nr > 3 ? 3 * ldw : 0), *w4 = w + (nr > 4 ? 4 * ldw : 0), *w5 = w + (nr > 5 ? 5 * ldw : 0);
#define GG_STEP(k)                                                             \
    do {                                                                       \
        const __m256 a0 = _mm256_loadu_ps(panel + (k) * GG_MR);                \
        const __m256 a1 = two ? _mm256_loadu_ps(panel + (k) * GG_MR + 8) : a0; \
        GG_BCAST_FMA(w0 + (k), a0, a1, c0a, c0b);                              \
        if (nr > 1) GG_BCAST_FMA(w1 + (k), a0, a1, c1a, c1b);                  \
        if (nr > 2) GG_BCAST_FMA(w2 + (k), a0, a1, c2a, c2b);                  \
        if (nr > 3) GG_BCAST_FMA(w3 + (k), a0, a1, c3a, c3b);                  \
        if (nr > 4) GG_BCAST_FMA(w4 + (k), a0, a1, c4a, c4b);                  \
        if (nr > 5) GG_BCAST_FMA(w5 + (k), a0, a1, c5a, c5b);                  \
    } while (0)
    int64_t k = 0;
    for (; k + 16 <= K; k += 16) {
        if (pf != NULL) {
            for (int j = 0; j < GG_NR; j++)
                if (pf_rows >> j & 1u) _mm_prefetch((const char *)(pf + j * ldw + k), _MM_HINT_T0);
        }
        gg_prefetch_y(ypf, k >> 4);
#pragma GCC unroll 4
        for (int64_t kk = k; kk < k + 16; kk++) GG_STEP(kk);
    }
    for (; k < K; k++) GG_STEP(k);
#undef GG_STEP
    GG_STORE12(out, GG_MR);
}

/* One micro-tile: nr (1..GG_NR) rows of w against one panel, `two` when the panel has more than 8 live
 * rows (a short panel runs half the FMAs). */
static void gg_micro(const float *panel, const float *w, int64_t ldw, int64_t K, int nr, int two, const float *pf,
                     unsigned pf_rows, const gg_ypf *ypf, float *out) {
#define GG_CASE(n)                                                                \
    case n:                                                                       \
        if (two) gg_micro_fixed(panel, w, ldw, K, n, 1, pf, pf_rows, ypf, out);   \
        else gg_micro_fixed(panel, w, ldw, K, n, 0, pf, pf_rows, ypf, out);       \
        break;
    switch (nr) {
        GG_CASE(1)
        GG_CASE(2)
        GG_CASE(3)
        GG_CASE(4)
        GG_CASE(5)
        default: GG_CASE(6)
    }
#undef GG_CASE
}

/* y[r0 + i, n0 + j] = x[r0 + i] . w[j] for i < rows, j < cols: `panels` holds the rows' packed panels
 * (ceil(rows / GG_MR) of them, from r0), w the tile's first row (fp32, row stride ldw). Columns outer,
 * so each group of GG_NR rows of w is read from memory once and then from L1 for every panel. */
static void gg_f32_tile(const moe_gg_params *p, const float *panels_x, int64_t r0, int64_t rows, const float *w,
                        int64_t ldw, int64_t n0, int64_t cols) {
    const int64_t K = p->K;
    float out[GG_NR * GG_MR];
    for (int64_t j0 = 0; j0 < cols; j0 += GG_NR) {
        const int nr = (int)(cols - j0 < GG_NR ? cols - j0 : GG_NR);
        for (int64_t m0 = 0; m0 < rows; m0 += GG_MR) {
            const int64_t mr = rows - m0 < GG_MR ? rows - m0 : GG_MR;
            /* The next group of w's rows is prefetched while this one is in use, its rows spread
             * over the panels (panel q fetches rows j with j = q mod panels), so the fetch is paced
             * by the FMAs rather than bunched; whole groups only (the last one is short). */
            const int64_t q = m0 / GG_MR, panels = (rows + GG_MR - 1) / GG_MR;
            unsigned pf_rows = 0;
            for (int j = 0; j < GG_NR; j++) pf_rows |= (unsigned)(j % panels == q) << j;
            const float *pf = j0 + 2 * GG_NR <= cols && pf_rows != 0 ? w + (j0 + GG_NR) * ldw : NULL;
            const gg_ypf ypf = gg_ypf_for(p, r0 + m0, mr, n0 + j0, nr);
            gg_micro(panels_x + q * GG_MR * K, w + j0 * ldw, ldw, K, nr, mr > 8, pf, pf_rows, &ypf, out);
            gg_store_tile(p, out, 1, GG_MR, r0 + m0, mr, n0 + j0, nr);
        }
    }
}
#endif /* __AVX512F__ */

/* ---- AX_NO_TRANS: w[e] is (K, N), N contiguous, so y = x w[e] is the plain row-major product ----
 * The mirror image of the kernel above, needing no packing at all: a micro-tile is GG_NN_MR rows of
 * x times GG_NN_NR columns of w; per k, two 8-lane loads of w's row k (columns j0..j0+15, read in
 * place), six broadcasts of x[i][k] (x read in place), twelve FMAs. The K x 16 column panel of w stays
 * in L1/L2 while the item's rows pass it. Each y element is again one fp32 sum over k in order. */
#define GG_NN_MR 6
#define GG_NN_NR 16
#define GG_NN_PF 8 /* rows of w ahead that the 16-lane NO_TRANS kernel prefetches (the 8-lane one: none) */

#if defined(__AVX512F__)
/* On the avx512 path the NO_TRANS micro-tile is GG512_NN_MR = 12 rows of x by 32 columns of w (two
 * 16-lane loads of w's row k per k): 24 accumulators, 24 FMAs per 2 loads and 12 broadcasts; a
 * partial column tile masks its loads (masked-off lanes are never read). */
#define GG512_NN_MR 12

/* out[i * 32 + c] = sum_k x[i * ldx + k] w[k * ldw + c] for i < mr, c < (two ? 32 : 16), lanes off
 * in m0 / m1 (with `tail`) read as zero. */
static inline __attribute__((always_inline)) void gg512_nn_fixed(const float *restrict x, int64_t ldx,
                                                                 const float *restrict w, int64_t ldw, int64_t K,
                                                                 int mr, int two, int tail, __mmask16 m0,
                                                                 __mmask16 m1, float *restrict out) {
    __m512 c[2 * GG512_NN_MR];
#pragma GCC unroll 24
    for (int i = 0; i < 2 * GG512_NN_MR; i++) c[i] = _mm512_setzero_ps();
#pragma GCC unroll 2
    for (int64_t k = 0; k < K; k++) {
        const float *wk = w + k * ldw;
        /* w's rows are ldw apart, a stride the hardware prefetchers miss; the tile's K x 32 strip
         * (72 KiB at K = 576) outgrows L1, so every block of rows streams it again. */
        if (k + GG_NN_PF < K) {
            _mm_prefetch((const char *)(wk + GG_NN_PF * ldw), _MM_HINT_T0);
            if (two) _mm_prefetch((const char *)(wk + GG_NN_PF * ldw + 16), _MM_HINT_T0);
        }
        const __m512 b0 = tail ? _mm512_maskz_loadu_ps(m0, wk) : _mm512_loadu_ps(wk);
        const __m512 b1 = two ? (tail ? _mm512_maskz_loadu_ps(m1, wk + 16) : _mm512_loadu_ps(wk + 16)) : b0;
#pragma GCC unroll 12
        for (int i = 0; i < GG512_NN_MR; i++) {
            if (i < mr) {
                const __m512 s_ = _mm512_set1_ps(x[i * ldx + k]);
                c[2 * i] = _mm512_fmadd_ps(b0, s_, c[2 * i]);
                if (two) c[2 * i + 1] = _mm512_fmadd_ps(b1, s_, c[2 * i + 1]);
            }
        }
    }
#pragma GCC unroll 12
    for (int i = 0; i < GG512_NN_MR; i++) {
        if (i < mr) {
            _mm512_storeu_ps(out + i * 32, c[2 * i]);
            if (two) _mm512_storeu_ps(out + i * 32 + 16, c[2 * i + 1]);
        }
    }
}

static void gg512_nn_micro(const float *x, int64_t ldx, const float *w, int64_t ldw, int64_t K, int mr, int nr,
                           float *out) {
    const int two = nr > 16, tail = nr < 32;
    const __mmask16 m0 = (__mmask16)(nr >= 16 ? 0xffff : (1u << nr) - 1);
    const __mmask16 m1 = (__mmask16)(nr >= 32 ? 0xffff : nr > 16 ? (1u << (nr - 16)) - 1 : 0);
#define GG512_NN_CASE(m)                                                                 \
    case m:                                                                              \
        if (!tail) gg512_nn_fixed(x, ldx, w, ldw, K, m, 1, 0, m0, m1, out);              \
        else if (two) gg512_nn_fixed(x, ldx, w, ldw, K, m, 1, 1, m0, m1, out);           \
        else gg512_nn_fixed(x, ldx, w, ldw, K, m, 0, 1, m0, m1, out);                    \
        break;
    GG512_SWITCH(mr, GG512_NN_CASE);
#undef GG512_NN_CASE
}

/* gg_nn_tile (below) on the avx512 path. */
static void gg_nn_tile(const moe_gg_params *p, const float *x, int64_t ldx, int64_t r0, int64_t rows, const float *w,
                       int64_t ldw, int64_t n0, int64_t cols) {
    float out[GG512_NN_MR * 32];
    for (int64_t j0 = 0; j0 < cols; j0 += 32) {
        const int nr = (int)(cols - j0 < 32 ? cols - j0 : 32);
        for (int64_t i0 = 0; i0 < rows; i0 += GG512_NN_MR) {
            const int mr = (int)(rows - i0 < GG512_NN_MR ? rows - i0 : GG512_NN_MR);
            gg512_nn_micro(x + i0 * ldx, ldx, w + j0, ldw, p->K, mr, nr, out);
            gg_store_tile(p, out, 32, 1, r0 + i0, mr, n0 + j0, nr);
        }
    }
}
#else
/* out[i * GG_NN_NR + c] = sum_k x[i * ldx + k] w[k * ldw + c] for i < mr, c < (two ? 16 : 8); with
 * `tail`, w's lanes past the tile's last column are masked off (never read). */
static inline __attribute__((always_inline)) void gg_nn_fixed(const float *restrict x, int64_t ldx,
                                                              const float *restrict w, int64_t ldw, int64_t K,
                                                              int mr, int two, int tail, __m256i mask0,
                                                              __m256i mask1, float *restrict out) {
    __m256 c0a = _mm256_setzero_ps(), c0b = c0a, c1a = c0a, c1b = c0a, c2a = c0a, c2b = c0a;
    __m256 c3a = c0a, c3b = c0a, c4a = c0a, c4b = c0a, c5a = c0a, c5b = c0a;
    const float *x0 = x, *x1 = x + (mr > 1 ? ldx : 0), *x2 = x + (mr > 2 ? 2 * ldx : 0);
    const float *x3 = x + (mr > 3 ? 3 * ldx : 0), *x4 = x + (mr > 4 ? 4 * ldx : 0), *x5 = x + (mr > 5 ? 5 * ldx : 0);
#pragma GCC unroll 4
    for (int64_t k = 0; k < K; k++) {
        const float *wk = w + k * ldw;
        const __m256 b0 = tail ? _mm256_maskload_ps(wk, mask0) : _mm256_loadu_ps(wk);
        const __m256 b1 = two ? (tail ? _mm256_maskload_ps(wk + 8, mask1) : _mm256_loadu_ps(wk + 8)) : b0;
        GG_BCAST_FMA(x0 + k, b0, b1, c0a, c0b);
        if (mr > 1) GG_BCAST_FMA(x1 + k, b0, b1, c1a, c1b);
        if (mr > 2) GG_BCAST_FMA(x2 + k, b0, b1, c2a, c2b);
        if (mr > 3) GG_BCAST_FMA(x3 + k, b0, b1, c3a, c3b);
        if (mr > 4) GG_BCAST_FMA(x4 + k, b0, b1, c4a, c4b);
        if (mr > 5) GG_BCAST_FMA(x5 + k, b0, b1, c5a, c5b);
    }
    GG_STORE12(out, GG_NN_NR);
}

/* One NO_TRANS micro-tile: mr (1..GG_NN_MR) rows of x against nr (1..GG_NN_NR) columns of w. */
static void gg_nn_micro(const float *x, int64_t ldx, const float *w, int64_t ldw, int64_t K, int mr, int nr,
                        float *out) {
    const int two = nr > 8, tail = nr < GG_NN_NR;
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i mask0 = _mm256_cmpgt_epi32(_mm256_set1_epi32(nr), lane);
    const __m256i mask1 = _mm256_cmpgt_epi32(_mm256_set1_epi32(nr - 8), lane);
#define GG_NN_CASE(m)                                                                    \
    case m:                                                                              \
        if (!tail) gg_nn_fixed(x, ldx, w, ldw, K, m, 1, 0, mask0, mask1, out);           \
        else if (two) gg_nn_fixed(x, ldx, w, ldw, K, m, 1, 1, mask0, mask1, out);        \
        else gg_nn_fixed(x, ldx, w, ldw, K, m, 0, 1, mask0, mask1, out);                 \
        break;
    switch (mr) {
        GG_NN_CASE(1)
        GG_NN_CASE(2)
        GG_NN_CASE(3)
        GG_NN_CASE(4)
        GG_NN_CASE(5)
        default: GG_NN_CASE(6)
    }
#undef GG_NN_CASE
}

/* y[r0 + i, n0 + j] = sum_k x[i][k] w[k][j] for i < rows, j < cols: x the item's first row (fp32, row
 * stride ldx), w the tile's first column (fp32, row stride ldw). Columns outer, so each K x 16 panel
 * of w is fetched once and then reused from cache by every group of GG_NN_MR rows. */
static void gg_nn_tile(const moe_gg_params *p, const float *x, int64_t ldx, int64_t r0, int64_t rows, const float *w,
                       int64_t ldw, int64_t n0, int64_t cols) {
    float out[GG_NN_MR * GG_NN_NR];
    for (int64_t j0 = 0; j0 < cols; j0 += GG_NN_NR) {
        const int nr = (int)(cols - j0 < GG_NN_NR ? cols - j0 : GG_NN_NR);
        for (int64_t i0 = 0; i0 < rows; i0 += GG_NN_MR) {
            const int mr = (int)(rows - i0 < GG_NN_MR ? rows - i0 : GG_NN_MR);
            gg_nn_micro(x + i0 * ldx, ldx, w + j0, ldw, p->K, mr, nr, out);
            gg_store_tile(p, out, GG_NN_NR, 1, r0 + i0, mr, n0 + j0, nr);
        }
    }
}
#endif /* __AVX512F__ */

#endif /* __AVX2__ && __FMA__ */
#endif /* AXIAL_MOE_CPU_GROUPED_GEMM_F32_H */
