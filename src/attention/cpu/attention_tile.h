/*
 * attention_tile.h — the pieces both CPU flash-attention bodies (attention_fwd.isa.inc,
 * attention_bwd.isa.inc) are built from: row loads and stores with dtype conversion, packing of
 * query tiles (rows and transposed), a register-blocked fp32 GEMM, the vector tanh of the soft-cap,
 * and the per-query visible key ranges. Static inline only, and included only by bodies that
 * axial_isa_sources() compiles once per path, so each path gets its own copy at its own width.
 *
 * Conventions of a tile: BR query rows, BC key columns. Logits are held transposed, s[j * BR + r]
 * for key j and query r, so the softmax's per-query statistics are vectors over the BR query lanes.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_ATTENTION_TILE_H
#define AXIAL_ATTENTION_TILE_H

#ifndef AX_ISA
#error "attention_tile.h belongs to the kernel bodies compiled through axial_isa_sources()"
#endif

#include <math.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "attention/cpu/attention_cpu.h"
#include "core/cpu/amx.h"
#include "core/cpu/bf16_pairs.h"
#include "core/cpu/vec.h"

#define BR ATTN_CPU_BR
#define BC ATTN_CPU_BC
#define VW AX_VF_LANES

_Static_assert(BR % (2 * VW) == 0, "a query tile must be whole pairs of vectors");
_Static_assert(ATTN_CPU_D_ALIGN % 8 == 0, "padded head dims must be whole 8-lane steps");

static inline int attn_thread_index(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* ---- rows --------------------------------------------------------------------------------------- */

static inline float attn_load(const void *base, ax_dtype dtype, int64_t i) {
    switch (dtype) {
    case AX_BF16: return ax_cvt_bf16_to_f32(((const uint16_t *)base)[i]);
    case AX_F16: return ax_cvt_f16_to_f32(((const uint16_t *)base)[i]);
    default: return ((const float *)base)[i];
    }
}

/* dst[0..n) = base[off ..] in fp32 (the row is contiguous). */
static inline void attn_load_row(const void *base, ax_dtype dtype, int64_t off, int64_t n, float *restrict dst) {
    switch (dtype) {
    case AX_BF16: ax_row_bf16_to_f32((const uint16_t *)base + off, dst, n); return;
    case AX_F16: ax_row_f16_to_f32((const uint16_t *)base + off, dst, n); return;
    default: ax_row_copy_f32(dst, (const float *)base + off, n); return;
    }
}

/* base[off ..] = src[0..n), rounded once to dtype. */
static inline void attn_store_row(void *base, ax_dtype dtype, int64_t off, int64_t n, const float *restrict src) {
    switch (dtype) {
    case AX_BF16: ax_row_f32_to_bf16(src, (uint16_t *)base + off, n); return;
    case AX_F16: ax_row_f32_to_f16(src, (uint16_t *)base + off, n); return;
    default: ax_row_copy_f32((float *)base + off, src, n); return;
    }
}

static inline int64_t attn_offset(const attn_strides *s, int64_t b, int64_t row, int64_t h) {
    return b * s->b + row * s->s + h * s->h;
}

/* rows x D of an activation (rows row0.. of sequence position, head h) into dst with row stride
 * dp, times mul, the columns D..dp zero. */
static inline void attn_pack_rows(const void *base, ax_dtype dtype, const attn_strides *st, int64_t b, int64_t row0,
                                  int64_t h, int64_t rows, int64_t D, int64_t dp, float mul, float *restrict dst) {
    for (int64_t r = 0; r < rows; r++) {
        float *restrict d = dst + r * dp;
        attn_load_row(base, dtype, attn_offset(st, b, row0 + r, h), D, d);
        if (mul != 1.0f)
            for (int64_t c = 0; c < D; c++) d[c] *= mul;
        for (int64_t c = D; c < dp; c++) d[c] = 0.0f;
    }
}

/* The transpose of `rows` packed rows (row stride dp) into dst (D x BR), lanes rows..BR zero. */
static inline void attn_transpose_rows(const float *restrict src, int64_t rows, int64_t D, int64_t dp,
                                       float *restrict dst) {
    if (rows < BR)
        for (int64_t d = 0; d < D; d++) memset(dst + d * BR + rows, 0, (size_t)(BR - rows) * sizeof(float));
    for (int64_t r = 0; r < rows; r++)
        for (int64_t d = 0; d < D; d++) dst[d * BR + r] = src[r * dp + d];
}

/* ---- bf16 pairs (AVX512-BF16) --------------------------------------------------------------------
 * With bf16 storage on the avx512 path, where the CPU has AVX512-BF16 (ax_cpu_features; AXIAL_BF16=0
 * hides it), every product comes from vdpbf16ps: each instruction multiplies 16 lanes of two
 * bf16 pairs and adds both products to fp32 accumulators, twice the multiply-adds of an fp32 FMA.
 * Logits s^T = k . q^T: the inputs are bf16 already, so every product is exact and the softmax scale
 * multiplies the finished dot product (the fp32 path scales q first, one rounding); the sums run in
 * another order (the pairs of D together) and the instruction flushes denormal inputs and results to
 * zero. Keys are rows of D/2 pairs; queries are transposed into (dp/2, BR) pairs, lane r query r.
 * p . v: v as pairs of keys, p rounded to bf16 (attn_prob_pairs), which moves out by at most 2^-8
 * (bf16's unit roundoff) times sum p |v| / l. The backward's dp = v . dout^T is another such logit
 * product; its gradient products round p or dS to bf16 the same way (attention_bwd.isa.inc). */
#ifdef AX_BF16_PAIRS
#define ATTN_BF16_PAIRS 1

/* 1 when a call's products run on bf16 pairs: bf16 storage, the avx512 path, AVX512-BF16 present. */
static inline int attn_use_bf16_pairs(const attn_params *p) {
    return AX_ISA_PATH == AX_CPU_PATH_AVX512 && p->dtype == AX_BF16 &&
           (ax_cpu_features() & AX_CPU_HAS_AVX512BF16) != 0;
}

/* The bf16 bits of an fp32 value that holds a bf16 exactly (a widened bf16 input). */
static inline uint32_t attn_bf16_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u >> 16;
}

/* rows x D of a bf16 activation as rows of dp/2 pairs (pair p: elements 2p, 2p+1, the second in the
 * high half), the columns D..dp zero. */
static inline void attn_pack_pairs(const void *base, const attn_strides *st, int64_t b, int64_t row0, int64_t h,
                                   int64_t rows, int64_t D, int64_t dp, uint32_t *restrict dst) {
    const uint16_t *src = base;
    for (int64_t r = 0; r < rows; r++) {
        const uint16_t *row = src + attn_offset(st, b, row0 + r, h);
        uint32_t *restrict d = dst + r * (dp / 2);
        if (D % 2 == 0) { /* the pairs are the row's own bytes (little-endian: element 2p low) */
            memcpy(d, row, (size_t)D * sizeof(uint16_t));
            for (int64_t p = D / 2; p < dp / 2; p++) d[p] = 0;
            continue;
        }
        for (int64_t p = 0; p < dp / 2; p++) {
            const uint32_t lo = 2 * p < D ? row[2 * p] : 0, hi = 2 * p + 1 < D ? row[2 * p + 1] : 0;
            d[p] = lo | hi << 16;
        }
    }
}

/* The transpose of `rows` fp32 rows (row stride dp, bf16 values) into (dp/2, BR) pairs, lanes
 * rows..BR zero. */
static inline void attn_transpose_pairs(const float *restrict src, int64_t rows, int64_t dp, uint32_t *restrict dst) {
    for (int64_t p = 0; p < dp / 2; p++) {
        uint32_t *restrict d = dst + p * BR;
        for (int64_t r = 0; r < rows; r++)
            d[r] = attn_bf16_bits(src[r * dp + 2 * p]) | attn_bf16_bits(src[r * dp + 2 * p + 1]) << 16;
        for (int64_t r = rows; r < BR; r++) d[r] = 0;
    }
}

/* s (rows x BR) = scale * (k rows . q^T) over np pairs, for `rows` <= 8 key rows and the 32 query
 * lanes from v0. */
__attribute__((target("avx512bf16"))) static inline __attribute__((always_inline)) void
attn_kq_block_bf16(const int rows, int64_t np, const uint32_t *restrict k, const uint32_t *restrict qt, int64_t v0,
                   float scale, float *restrict s) {
    __m512 acc[8][2];
    ax_pairs_dot_rows(rows, 2, np, k, qt + v0, BR, acc);
    const __m512 sc = _mm512_set1_ps(scale);
    for (int r = 0; r < rows; r++) {
        _mm512_storeu_ps(s + r * BR + v0, _mm512_mul_ps(acc[r][0], sc));
        _mm512_storeu_ps(s + r * BR + v0 + 16, _mm512_mul_ps(acc[r][1], sc));
    }
}

/* A key tile of v as pairs of keys: dst[jp * dp + d] = (v[2 jp][d], v[2 jp + 1][d]), keys past `rows`
 * and columns D..dp zero. */
static inline void attn_pack_key_pairs(const void *base, const attn_strides *st, int64_t b, int64_t row0, int64_t h,
                                       int64_t rows, int64_t D, int64_t dp, uint32_t *restrict dst) {
    const uint16_t *src = base;
    for (int64_t jp = 0; jp < (rows + 1) / 2; jp++) {
        const uint16_t *r0 = src + attn_offset(st, b, row0 + 2 * jp, h);
        const uint16_t *r1 = 2 * jp + 1 < rows ? src + attn_offset(st, b, row0 + 2 * jp + 1, h) : NULL;
        uint32_t *restrict d = dst + jp * dp;
        for (int64_t c = 0; c < D; c++) d[c] = r0[c] | (r1 != NULL ? (uint32_t)r1[c] << 16 : 0u);
        for (int64_t c = D; c < dp; c++) d[c] = 0;
    }
}

/* A key tile of v transposed, as pairs of keys: dst[d * BC / 2 + jp] = (v[2 jp][d], v[2 jp + 1][d]) for
 * the D columns (a multiple of 16; dp = D), keys past `rows` zero up to the whole tile (the AMX
 * forward's o^T += v^T . p^T sums over all BC / 2 pairs). Built 16 pairs x 16 columns at a time in
 * registers and transposed there. */
static inline void attn_pack_key_pairs_t(const void *base, const attn_strides *st, int64_t b, int64_t row0, int64_t h,
                                         int64_t rows, int64_t D, uint32_t *restrict dst) {
    const uint16_t *src = base;
    const uint16_t *r[BC];
    for (int64_t j = 0; j < BC; j++) r[j] = j < rows ? src + attn_offset(st, b, row0 + j, h) : NULL;
    for (int64_t jb = 0; jb < BC / 2; jb += 16)
        for (int64_t d0 = 0; d0 < D; d0 += 16) {
            __m512i x[16];
            for (int i = 0; i < 16; i++) {
                const uint16_t *r0 = r[2 * (jb + i)], *r1 = r[2 * (jb + i) + 1];
                const __m512i lo = r0 != NULL ? _mm512_cvtepu16_epi32(_mm256_loadu_si256((const void *)(r0 + d0)))
                                              : _mm512_setzero_si512();
                const __m512i hi = r1 != NULL ? _mm512_cvtepu16_epi32(_mm256_loadu_si256((const void *)(r1 + d0)))
                                              : _mm512_setzero_si512();
                x[i] = _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16));
            }
            ax_transpose16_u32(x);
            for (int c = 0; c < 16; c++) _mm512_storeu_si512(dst + (d0 + c) * (BC / 2) + jb, x[c]);
        }
}

/* q^T as pairs for the AMX forward: dst[p * BR + i] = (q[i][2 p], q[i][2 p + 1]) for the `rows` bf16 rows
 * of D (a multiple of 32) elements, lanes rows..BR zero: the pairs are 32-bit words of the rows,
 * transposed 16 x 16 in registers. */
static inline void attn_pack_query_pairs_t(const void *base, const attn_strides *st, int64_t b, int64_t row0,
                                           int64_t h, int64_t rows, int64_t D, uint32_t *restrict dst) {
    const uint16_t *src = base;
    for (int64_t i0 = 0; i0 < BR; i0 += 16)
        for (int64_t p0 = 0; p0 < D / 2; p0 += 16) {
            __m512i x[16];
            for (int i = 0; i < 16; i++)
                x[i] = i0 + i < rows
                           ? _mm512_loadu_si512((const void *)(src + attn_offset(st, b, row0 + i0 + i, h) + 2 * p0))
                           : _mm512_setzero_si512();
            ax_transpose16_u32(x);
            for (int c = 0; c < 16; c++) _mm512_storeu_si512(dst + (p0 + c) * BR + i0, x[c]);
        }
}

/* The probabilities p (bc x BR, key-major) as bf16 pairs of keys per query, each rounded to nearest:
 * pp[r * BC / 2 + jp] = (p[2 jp][r], p[2 jp + 1][r]), a key past bc zero, every pair of the row
 * written (a product over whole tiles reads them all). The pairs of 16 key pairs x 16 queries are
 * made lane-wise from two rows of s and transposed in registers. Rounded by vcvtne2ps2bf16, which
 * flushes denormals to zero, as the products that read the pairs (vdpbf16ps, AMX) would anyway. */
__attribute__((target("avx512bf16,avx512bw"))) static inline void attn_prob_pairs(const float *restrict s, int64_t bc,
                                                                                 uint32_t *restrict pp) {
    for (int64_t jb = 0; jb < BC / 2; jb += 16)
        for (int64_t r0 = 0; r0 < BR; r0 += 16) {
            __m512i x[16];
            for (int i = 0; i < 16; i++) {
                const int64_t j = 2 * (jb + i);
                const __m512 e0 = j < bc ? _mm512_loadu_ps(s + j * BR + r0) : _mm512_setzero_ps();
                const __m512 e1 = j + 1 < bc ? _mm512_loadu_ps(s + (j + 1) * BR + r0) : _mm512_setzero_ps();
                x[i] = ax_pairs_of_lanes(e0, e1);
            }
            ax_transpose16_u32(x);
            for (int c = 0; c < 16; c++) _mm512_storeu_si512(pp + (r0 + c) * (BC / 2) + jb, x[c]);
        }
}

/* ---- AMX-BF16 tiles --------------------------------------------------------------------------
 * Where the CPU has AMX-BF16 (or AXIAL_AMX=emulate, the scalar model: core/cpu/amx.h) and D is a
 * multiple of 32, the bf16-pair products of a tile run as 16 x 16 tile products on the same pair
 * layouts: s^T = k . q^T as (BC, dp/2) . (dp/2, BR); the forward keeps its output transposed,
 * o^T += v^T . p^T as (dp, BC/2) . (BC/2, BR), so that p^T's pairs of keys are lane-wise in s^T (no
 * transpose of p per tile; v^T's is paid once per key tile). The tiles cover whole BC and BR
 * blocks: where a short last tile leaves stale pairs in a sum (p and v past bc), they are zeroed
 * first, since an earlier tile's values could be inf and 0 * inf is NaN; rows of a result past bc
 * are computed from stale pairs and never read. */

/* The AMX mode of a call that runs on bf16 pairs: NONE unless D is whole tile steps. */
static inline ax_amx_mode_t attn_amx_mode(const attn_params *p, int bf16) {
    return bf16 && p->D % (2 * AX_AMX_PAIRS) == 0 ? ax_amx_mode_here() : AX_AMX_NONE;
}

/* Zero the pair rows [from, to) of a buffer with `cols` pairs per row. */
static inline void attn_zero_pair_rows(uint32_t *buf, int64_t cols, int64_t from, int64_t to) {
    if (to > from) memset(buf + from * cols, 0, (size_t)((to - from) * cols) * sizeof(uint32_t));
}

/* s^T (bc x BR) = scale * k . q^T from bf16 pairs: k (bc, dp/2), qt (dp/2, BR). */
__attribute__((target("avx512bf16"))) static inline void
attn_kq_bf16(int64_t bc, int64_t dp, const uint32_t *restrict k, const uint32_t *restrict qt, float scale,
             float *restrict s) {
    const int64_t np = dp / 2;
    for (int64_t v0 = 0; v0 < BR; v0 += 32) {
        int64_t j = 0;
        for (; j + 8 <= bc; j += 8) attn_kq_block_bf16(8, np, k + j * np, qt, v0, scale, s + j * BR);
        switch (bc - j) {
        case 7: attn_kq_block_bf16(7, np, k + j * np, qt, v0, scale, s + j * BR); break;
        case 6: attn_kq_block_bf16(6, np, k + j * np, qt, v0, scale, s + j * BR); break;
        case 5: attn_kq_block_bf16(5, np, k + j * np, qt, v0, scale, s + j * BR); break;
        case 4: attn_kq_block_bf16(4, np, k + j * np, qt, v0, scale, s + j * BR); break;
        case 3: attn_kq_block_bf16(3, np, k + j * np, qt, v0, scale, s + j * BR); break;
        case 2: attn_kq_block_bf16(2, np, k + j * np, qt, v0, scale, s + j * BR); break;
        case 1: attn_kq_block_bf16(1, np, k + j * np, qt, v0, scale, s + j * BR); break;
        default: break;
        }
    }
}
#endif

/* ---- GEMM --------------------------------------------------------------------------------------- */

/* Rows per register block: a block of MR rows x two vectors of C lives in 2 * MR accumulators beside
 * two vectors of B and one broadcast. AVX2 (16 ymm): MR = 6 keeps 12 FMAs in flight; AVX-512 (32
 * zmm): 8; the portable build's 8-lane vector is two SSE registers, so it stays at 4. */
#if VW == 16
#define MR 8
#elif defined(__AVX2__)
#define MR 6
#else
#define MR 4
#endif

static inline __attribute__((always_inline)) void attn_gemm_block(const int rows, const int vecs, int64_t k,
                                                                 const float *restrict a, int64_t a_rs, int64_t a_cs,
                                                                 const float *restrict b, int64_t ldb,
                                                                 float *restrict c, int64_t ldc, int accumulate,
                                                                 const float *restrict row_scale) {
    ax_vf x[MR][2];
    for (int r = 0; r < rows; r++)
        for (int v = 0; v < vecs; v++) {
            x[r][v] = accumulate ? ax_vf_load(c + r * ldc + VW * v) : ax_vf_splat(0.0f);
            if (accumulate && row_scale != NULL) x[r][v] *= ax_vf_splat(row_scale[r]);
        }
    const float *bp = b;
    const float *ap = a;
    for (int64_t p = 0; p < k; p++, bp += ldb, ap += a_cs) {
        ax_vf bv[2];
        for (int v = 0; v < vecs; v++) bv[v] = ax_vf_load(bp + VW * v);
        for (int r = 0; r < rows; r++) {
            const ax_vf s = ax_vf_splat(ap[r * a_rs]);
            for (int v = 0; v < vecs; v++) x[r][v] = ax_vf_fma(s, bv[v], x[r][v]);
        }
    }
    for (int r = 0; r < rows; r++)
        for (int v = 0; v < vecs; v++) ax_vf_store(c + r * ldc + VW * v, x[r][v]);
}

#if VW > 8
/* The last 8 columns of a row padded to 8 but not to 16 (D = 40 on the 16-lane path). */
static inline __attribute__((always_inline)) void attn_gemm_block8(const int rows, int64_t k, const float *restrict a,
                                                                  int64_t a_rs, int64_t a_cs, const float *restrict b,
                                                                  int64_t ldb, float *restrict c, int64_t ldc,
                                                                  int accumulate, const float *restrict row_scale) {
    ax_vf8 x[MR];
    for (int r = 0; r < rows; r++) {
        x[r] = accumulate ? ax_vf8_load(c + r * ldc) : ax_vf8_splat(0.0f);
        if (accumulate && row_scale != NULL) x[r] *= ax_vf8_splat(row_scale[r]);
    }
    const float *bp = b;
    const float *ap = a;
    for (int64_t p = 0; p < k; p++, bp += ldb, ap += a_cs) {
        const ax_vf8 bv = ax_vf8_load(bp);
        for (int r = 0; r < rows; r++) x[r] += ax_vf8_splat(ap[r * a_rs]) * bv;
    }
    for (int r = 0; r < rows; r++) ax_vf8_store(c + r * ldc, x[r]);
}
#endif

static inline __attribute__((always_inline)) void attn_gemm_rows(const int rows, int64_t n, int64_t k,
                                                                const float *restrict a, int64_t a_rs, int64_t a_cs,
                                                                const float *restrict b, int64_t ldb,
                                                                float *restrict c, int64_t ldc, int accumulate,
                                                                const float *restrict row_scale) {
    int64_t j = 0;
    for (; j + 2 * VW <= n; j += 2 * VW)
        attn_gemm_block(rows, 2, k, a, a_rs, a_cs, b + j, ldb, c + j, ldc, accumulate, row_scale);
    if (j + VW <= n) {
        attn_gemm_block(rows, 1, k, a, a_rs, a_cs, b + j, ldb, c + j, ldc, accumulate, row_scale);
        j += VW;
    }
#if VW > 8
    if (j < n) attn_gemm_block8(rows, k, a, a_rs, a_cs, b + j, ldb, c + j, ldc, accumulate, row_scale);
#endif
}

/* C (m x n) = A (m x k) . B (k x n), or C = diag(row_scale) C + A . B when accumulate (row_scale
 * may be NULL). A's element (i, p) is a[i * a_rs + p * a_cs], so a transposed A costs nothing; B
 * and C are row-major; n is a multiple of 8. k = 0 leaves C = 0 (or its scaled self). */
static void attn_gemm(int64_t m, int64_t n, int64_t k, const float *restrict a, int64_t a_rs, int64_t a_cs,
                      const float *restrict b, int64_t ldb, float *restrict c, int64_t ldc, int accumulate,
                      const float *restrict row_scale) {
    int64_t i = 0;
    for (; i + MR <= m; i += MR)
        attn_gemm_rows(MR, n, k, a + i * a_rs, a_rs, a_cs, b, ldb, c + i * ldc, ldc, accumulate,
                       row_scale != NULL ? row_scale + i : NULL);
    const float *ai = a + i * a_rs;
    float *ci = c + i * ldc;
    const float *si = row_scale != NULL ? row_scale + i : NULL;
    switch (m - i) {
#if MR > 7
    case 7: attn_gemm_rows(7, n, k, ai, a_rs, a_cs, b, ldb, ci, ldc, accumulate, si); break;
#endif
#if MR > 6
    case 6: attn_gemm_rows(6, n, k, ai, a_rs, a_cs, b, ldb, ci, ldc, accumulate, si); break;
#endif
#if MR > 5
    case 5: attn_gemm_rows(5, n, k, ai, a_rs, a_cs, b, ldb, ci, ldc, accumulate, si); break;
#endif
#if MR > 4
    case 4: attn_gemm_rows(4, n, k, ai, a_rs, a_cs, b, ldb, ci, ldc, accumulate, si); break;
#endif
    case 3: attn_gemm_rows(3, n, k, ai, a_rs, a_cs, b, ldb, ci, ldc, accumulate, si); break;
    case 2: attn_gemm_rows(2, n, k, ai, a_rs, a_cs, b, ldb, ci, ldc, accumulate, si); break;
    case 1: attn_gemm_rows(1, n, k, ai, a_rs, a_cs, b, ldb, ci, ldc, accumulate, si); break;
    default: break;
    }
}

/* ---- logits ------------------------------------------------------------------------------------- */

/* tanh(x) = sign(x) (1 - e) / (1 + e) with e = exp(-2|x|) <= 1, so only the softmax's exp for
 * non-positive arguments is needed; +-inf give +-1, NaN stays NaN (as tanhf). Below |x| = 0.5,
 * 1 - e cancels (an absolute error of an ulp of 1, so a relative one that grows as x shrinks: a
 * large softcap's logits lost digits, and |x| < 6e-8 became 0), so there the Taylor series to x^15
 * (relative error <= 6.3e-8 on [0, 0.5] in fp32 arithmetic; the exp form is within 2.1e-7 above). */
static inline ax_vf attn_vf_tanh(ax_vf x) {
    const ax_vi sign = (ax_vi)x & ax_vi_splat((int32_t)0x80000000u);
    const ax_vf ax = (ax_vf)((ax_vi)x & ax_vi_splat(0x7fffffff));
    const ax_vf e = ax_vf_exp_neg_nan(ax * ax_vf_splat(-2.0f));
    const ax_vf one = ax_vf_splat(1.0f);
    const ax_vf t = (ax_vf)((ax_vi)((one - e) / (one + e)) | sign);
    const ax_vf z = x * x;
    ax_vf c = ax_vf_splat(-929569.0f / 638512875.0f);
    c = ax_vf_fma(c, z, ax_vf_splat(21844.0f / 6081075.0f));
    c = ax_vf_fma(c, z, ax_vf_splat(-1382.0f / 155925.0f));
    c = ax_vf_fma(c, z, ax_vf_splat(62.0f / 2835.0f));
    c = ax_vf_fma(c, z, ax_vf_splat(-17.0f / 315.0f));
    c = ax_vf_fma(c, z, ax_vf_splat(2.0f / 15.0f));
    c = ax_vf_fma(c, z, ax_vf_splat(-1.0f / 3.0f));
    const ax_vf small = (ax_vf)((ax_vi)ax_vf_fma(x * z, c, x) | sign); /* -0 stays -0, as tanhf */
    return ax_vf_select(ax < ax_vf_splat(0.5f), small, t);
}

/* Each query row's visible keys [lo, hi) within its sequence (an empty row gets lo = hi = 0), rows
 * br..BR empty; returns the union [*kmin, *kmax) of the non-empty rows (kmin = kmax = 0 if none). */
static inline void attn_tile_ranges(const attn_params *p, int64_t i0, int64_t br, int64_t nq, int64_t nk, int64_t *lo,
                                    int64_t *hi, int64_t *kmin, int64_t *kmax) {
    int64_t a = nk, e = 0;
    for (int64_t r = 0; r < BR; r++) {
        lo[r] = hi[r] = 0;
        if (r >= br) continue;
        attn_key_range(p, i0 + r, nq, nk, &lo[r], &hi[r]);
        if (lo[r] >= hi[r]) {
            lo[r] = hi[r] = 0;
            continue;
        }
        if (lo[r] < a) a = lo[r];
        if (hi[r] > e) e = hi[r];
    }
    if (a >= e) a = e = 0;
    *kmin = a, *kmax = e;
}

/* 1 when every row r < br sees all keys j0 .. j0 + bc - 1 (no masking inside the tile). */
static inline int attn_tile_unmasked(const int64_t *lo, const int64_t *hi, int64_t br, int64_t j0, int64_t bc) {
    for (int64_t r = 0; r < br; r++)
        if (lo[r] > j0 || hi[r] < j0 + bc) return 0;
    return 1;
}

/* ---- Transposed tile updates. The logits tile is s^T (bc x BR: key j's row holds the BR query
 * lanes), while a bias and its gradient are rows along keys. Element by element, adding a bias row
 * to s^T is a strided scatter: with a pair-shaped bias, Evoformer attention's work run through this
 * op took 1.35x Evoformer's time forward and 1.28x backward at (1,128,256,8,32)
 * (bench_evoformer_attention --vs-flash, 2 threads, AVX-512); with the transposes 1.04x and 1.04x.
 * 8 x 8 blocks are transposed in registers (ax_vf8, 8 lanes on every path) where the compiler has
 * __builtin_shufflevector; the rest, and every block without it, element by element. */
#ifdef AX_VF_HAVE_SHUFFLE
/* x[i] = row i of an 8 x 8 block in, column i out: pairs interleaved, then pairs of pairs, then
 * halves. */
static inline __attribute__((always_inline)) void attn_transpose8(ax_vf8 x[8]) {
    ax_vf8 t[8], u[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = __builtin_shufflevector(x[i], x[i + 1], 0, 8, 1, 9, 4, 12, 5, 13);
        t[i + 1] = __builtin_shufflevector(x[i], x[i + 1], 2, 10, 3, 11, 6, 14, 7, 15);
    }
    for (int i = 0; i < 8; i += 4)
        for (int k = 0; k < 2; k++) {
            u[i + 2 * k] = __builtin_shufflevector(t[i + k], t[i + k + 2], 0, 1, 8, 9, 4, 5, 12, 13);
            u[i + 2 * k + 1] = __builtin_shufflevector(t[i + k], t[i + k + 2], 2, 3, 10, 11, 6, 7, 14, 15);
        }
    for (int i = 0; i < 4; i++) {
        x[i] = __builtin_shufflevector(u[i], u[i + 4], 0, 1, 2, 3, 8, 9, 10, 11);
        x[i + 4] = __builtin_shufflevector(u[i], u[i + 4], 4, 5, 6, 7, 12, 13, 14, 15);
    }
}
#endif

/* d[c * dld + r] (+)= a[r * ald + c] for r < rows, c < cols: the transpose of a rows x cols block of a
 * (rows ald apart) into d (rows dld apart), added when accumulate, else stored. */
static inline void attn_transpose_block(float *restrict d, int64_t dld, const float *restrict a, int64_t ald,
                                        int64_t rows, int64_t cols, int accumulate) {
    int64_t r0 = 0;
#ifdef AX_VF_HAVE_SHUFFLE
    for (; r0 + 8 <= rows; r0 += 8) {
        int64_t c0 = 0;
        for (; c0 + 8 <= cols; c0 += 8) {
            ax_vf8 x[8];
            for (int i = 0; i < 8; i++) x[i] = ax_vf8_load(a + (r0 + i) * ald + c0);
            attn_transpose8(x);
            for (int i = 0; i < 8; i++) {
                float *dc = d + (c0 + i) * dld + r0;
                if (accumulate) x[i] += ax_vf8_load(dc);
                ax_vf8_store(dc, x[i]);
            }
        }
        for (; c0 < cols; c0++)
            for (int64_t r = r0; r < r0 + 8; r++)
                d[c0 * dld + r] = accumulate ? d[c0 * dld + r] + a[r * ald + c0] : a[r * ald + c0];
    }
#endif
    for (; r0 < rows; r0++)
        for (int64_t c = 0; c < cols; c++)
            d[c * dld + r0] = accumulate ? d[c * dld + r0] + a[r0 * ald + c] : a[r0 * ald + c];
}

/* s[j * BR + r] += src[r * ld + j] for r < rows, j < cols (s may point at a lane offset). */
static inline void attn_add_rows_t(float *restrict s, const float *restrict src, int64_t ld, int64_t rows,
                                   int64_t cols) {
    attn_transpose_block(s, BR, src, ld, rows, cols, 1);
}

/* dst[r * ld + j] (+)= s[j * BR + r] for r < rows, j < cols: added when accumulate, else stored. */
static inline void attn_rows_from_t(float *restrict dst, int64_t ld, const float *restrict s, int64_t rows,
                                    int64_t cols, int accumulate) {
    attn_transpose_block(dst, ld, s, BR, cols, rows, accumulate);
}

/* s^T += the bias's (i0 .. i0 + br) x (j0 .. j0 + bc) block of head h, sequence b. Lanes br..BR are
 * left alone (the backward's padding lanes must stay finite). row: BC floats of scratch. */
static inline void attn_tile_add_bias(const attn_params *p, int64_t b, int64_t h, int64_t i0, int64_t br, int64_t j0,
                                      int64_t bc, float *restrict s, float *restrict row) {
    const int64_t off0 = b * p->bias_stride_b + h * p->bias_stride_h + i0 * p->bias_stride_i + j0 * p->bias_stride_j;
    if (p->bias_stride_j == 0) { /* one value per query row */
        for (int64_t r = 0; r < br; r++) {
            const float x = attn_load(p->bias, p->bias_dtype, off0 + r * p->bias_stride_i);
            for (int64_t j = 0; j < bc; j++) s[j * BR + r] += x;
        }
        return;
    }
    if (p->bias_stride_i == 0) { /* one row for every query (a key mask): lane-wise adds */
        const float *brow = (const float *)p->bias + off0;
        if (p->bias_dtype != AX_F32) {
            attn_load_row(p->bias, p->bias_dtype, off0, bc, row);
            brow = row;
        }
        for (int64_t j = 0; j < bc; j++) {
            if (br == BR)
                for (int64_t v = 0; v < BR; v += VW)
                    ax_vf_store(s + j * BR + v, ax_vf_load(s + j * BR + v) + ax_vf_splat(brow[j]));
            else
                for (int64_t r = 0; r < br; r++) s[j * BR + r] += brow[j];
        }
        return;
    }
    if (p->bias_dtype == AX_F32) {
        attn_add_rows_t(s, (const float *)p->bias + off0, p->bias_stride_i, br, bc);
        return;
    }
    float block[8 * BC]; /* 8 rows widened to fp32 at a time */
    for (int64_t r0 = 0; r0 < br; r0 += 8) {
        const int64_t rows = br - r0 < 8 ? br - r0 : 8;
        for (int64_t r = 0; r < rows; r++)
            attn_load_row(p->bias, p->bias_dtype, off0 + (r0 + r) * p->bias_stride_i, bc, block + r * BC);
        attn_add_rows_t(s + r0, block, BC, rows, bc);
    }
}

/* The logits of one tile, after the product: soft-cap (keeping 1 - tanh^2 in g when g is not NULL),
 * bias, then the mask (-inf outside each row's [lo, hi), and in rows br..BR). s is (bc x BR). */
static inline void attn_tile_finish_logits(const attn_params *p, int64_t b, int64_t h, int64_t i0, int64_t br,
                                           int64_t j0, int64_t bc, int masked, const int64_t *lo, const int64_t *hi,
                                           float *restrict s, float *restrict g, float *restrict row) {
    if (p->softcap > 0.0f) {
        const ax_vf cap = ax_vf_splat(p->softcap), inv = ax_vf_splat(1.0f / p->softcap);
        for (int64_t x = 0; x < bc * BR; x += VW) {
            const ax_vf t = attn_vf_tanh(ax_vf_load(s + x) * inv);
            ax_vf_store(s + x, cap * t);
            if (g != NULL) ax_vf_store(g + x, ax_vf_splat(1.0f) - t * t);
        }
    }
    if (p->bias != NULL) attn_tile_add_bias(p, b, h, i0, br, j0, bc, s, row);
    if (!masked) return;
    for (int64_t r = 0; r < BR; r++) {
        int64_t a = lo[r] - j0, e = hi[r] - j0; /* visible columns [a, e) of this tile */
        if (r >= br || lo[r] >= hi[r]) a = e = 0;
        a = a < 0 ? 0 : a > bc ? bc : a;
        e = e < a ? a : e > bc ? bc : e;
        for (int64_t j = 0; j < a; j++) s[j * BR + r] = -INFINITY;
        for (int64_t j = e; j < bc; j++) s[j * BR + r] = -INFINITY;
    }
}

#endif /* AXIAL_ATTENTION_TILE_H */
