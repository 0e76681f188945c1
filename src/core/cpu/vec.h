/*
 * vec.h — fp32 vectors whose width follows the instruction-set path a kernel body is compiled for
 * (cmake/isa.cmake compiles a body once per path). A body written with ax_vf and AX_VF_LANES gets:
 *
 *   avx512    16 lanes, one zmm register (the body is built with -mavx512f ...)
 *   avx2       8 lanes, one ymm register
 *   portable   8 lanes through GCC/Clang vector extensions: two SSE2 (or NEON) registers
 *
 * Everything is static inline: nothing here has an ABI, and each path's copy is compiled with that
 * path's flags. Bodies that include this header are compiled with -Wno-psabi (vectors wider than the
 * portable target's registers) and -ffp-contract=fast, which turns a * b + c into one FMA where the
 * path has it.
 *
 * ax_vf8 is an 8-lane vector on every path: buffers padded to 8 floats (a head dimension of 40) end
 * with 8 columns that a 16-lane vector cannot cover.
 *
 * Row conversions between fp32 and bf16/fp16 are here too, so a kernel converts with its own path's
 * instructions instead of looking up a conversion table per row; they round exactly as the scalar
 * codecs in core/fp_codecs.h do (nearest even; NaN stays NaN, quieted).
 *
 * AX_VF_LANES may be predefined (to 16) on a non-AVX-512 path to run the 16-lane blocking of a body
 * on a machine without AVX-512; the library never does.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_CORE_CPU_VEC_H
#define AXIAL_CORE_CPU_VEC_H

#include <stdint.h>

#include "core/fp_codecs.h"

#if defined(__F16C__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

#ifndef AX_VF_LANES
#if defined(__AVX512F__)
#define AX_VF_LANES 16
#else
#define AX_VF_LANES 8
#endif
#endif
#if AX_VF_LANES != 8 && AX_VF_LANES != 16
#error "AX_VF_LANES must be 8 or 16"
#endif

/* may_alias and aligned(4): loads and stores through these types are legal on any float buffer at
 * any alignment (they compile to unaligned moves). */
typedef float ax_vf __attribute__((vector_size(AX_VF_LANES * 4), aligned(4), may_alias));
typedef int32_t ax_vi __attribute__((vector_size(AX_VF_LANES * 4), aligned(4), may_alias));
typedef float ax_vf8 __attribute__((vector_size(32), aligned(4), may_alias));

#if AX_VF_LANES == 16
#define AX_VF_BROADCAST_(x) {x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x}
#else
#define AX_VF_BROADCAST_(x) {x, x, x, x, x, x, x, x}
#endif

static inline ax_vf ax_vf_load(const float *p) { return *(const ax_vf *)p; }
static inline void ax_vf_store(float *p, ax_vf x) { *(ax_vf *)p = x; }
static inline ax_vf ax_vf_splat(float x) { return (ax_vf)AX_VF_BROADCAST_(x); }
static inline ax_vi ax_vi_splat(int32_t x) { return (ax_vi)AX_VF_BROADCAST_(x); }

static inline ax_vf8 ax_vf8_load(const float *p) { return *(const ax_vf8 *)p; }
static inline void ax_vf8_store(float *p, ax_vf8 x) { *(ax_vf8 *)p = x; }
static inline ax_vf8 ax_vf8_splat(float x) { return (ax_vf8){x, x, x, x, x, x, x, x}; }

/* a * b + c: one fused instruction on the avx2 and avx512 paths (-ffp-contract=fast). */
static inline ax_vf ax_vf_fma(ax_vf a, ax_vf b, ax_vf c) { return a * b + c; }

/* Lane-wise select: where mask is all ones take a, else b. */
static inline ax_vf ax_vf_select(ax_vi mask, ax_vf a, ax_vf b) {
    return (ax_vf)(((ax_vi)a & mask) | ((ax_vi)b & ~mask));
}
/* Lane-wise a > b ? a : b, the scalar code's form: a NaN in b is kept, one in a is dropped. */
static inline ax_vf ax_vf_max(ax_vf a, ax_vf b) { return ax_vf_select(a > b, a, b); }

/* Horizontal steps by lane shuffles (a few instructions per step) where the compiler has
 * __builtin_shufflevector (GCC >= 12, Clang); lane extraction otherwise, which GCC compiles to one
 * extract and one scalar operation per lane (measured: a tenth of the Evoformer forward's logits
 * pass went to the row maxima). AX_VF_SWAP_(x, s) exchanges each group of s lanes with its
 * neighbour group. */
#if defined(__has_builtin)
#if __has_builtin(__builtin_shufflevector)
#define AX_VF_HAVE_SHUFFLE 1
#endif
#endif
#ifdef AX_VF_HAVE_SHUFFLE
#if AX_VF_LANES == 16
#define AX_VF_SWAP_(x, s)                                                                                    \
    __builtin_shufflevector(x, x, 0 ^ (s), 1 ^ (s), 2 ^ (s), 3 ^ (s), 4 ^ (s), 5 ^ (s), 6 ^ (s), 7 ^ (s),   \
                            8 ^ (s), 9 ^ (s), 10 ^ (s), 11 ^ (s), 12 ^ (s), 13 ^ (s), 14 ^ (s), 15 ^ (s))
#else
#define AX_VF_SWAP_(x, s) \
    __builtin_shufflevector(x, x, 0 ^ (s), 1 ^ (s), 2 ^ (s), 3 ^ (s), 4 ^ (s), 5 ^ (s), 6 ^ (s), 7 ^ (s))
#endif
#endif

/* Sum of the lanes in a fixed order (deterministic for a given path): a balanced tree over each
 * group of 8 lanes, then the groups in order. The shuffle form adds the same pairs (a + b and b + a
 * are the same float), so both forms give the same bits. */
static inline float ax_vf_hsum(ax_vf x) {
#ifdef AX_VF_HAVE_SHUFFLE
    x += AX_VF_SWAP_(x, 1);
    x += AX_VF_SWAP_(x, 2);
    x += AX_VF_SWAP_(x, 4);
#if AX_VF_LANES == 16
    return x[0] + x[8];
#else
    return x[0];
#endif
#else
    float sum = ((x[0] + x[1]) + (x[2] + x[3])) + ((x[4] + x[5]) + (x[6] + x[7]));
#if AX_VF_LANES == 16
    sum += ((x[8] + x[9]) + (x[10] + x[11])) + ((x[12] + x[13]) + (x[14] + x[15]));
#endif
    return sum;
#endif
}

/* The largest lane (exact in any order; where lanes hold NaN, which lane wins may differ between
 * the two forms, and a NaN logit makes its row NaN either way). */
static inline float ax_vf_hmax(ax_vf x) {
#ifdef AX_VF_HAVE_SHUFFLE
#if AX_VF_LANES == 16
    x = ax_vf_max(x, AX_VF_SWAP_(x, 8));
#endif
    x = ax_vf_max(x, AX_VF_SWAP_(x, 4));
    x = ax_vf_max(x, AX_VF_SWAP_(x, 2));
    x = ax_vf_max(x, AX_VF_SWAP_(x, 1));
    return x[0];
#else
    float m = x[0];
    for (int i = 1; i < AX_VF_LANES; i++) m = x[i] > m ? x[i] : m;
    return m;
#endif
}

/* exp(x) for x <= 0 (the softmax case): Cody-Waite reduction x = k ln2 + r, |r| <= ln2/2, then a
 * degree-5 polynomial whose coefficients minimise the maximum relative error on that interval
 * (fitted for this code by Lawson's iterated weighted least squares; 1.4e-7 relative, checked in
 * fp32), and 2^k assembled in the exponent bits. Lanes are independent, so every path gives the
 * same bits. This core leaves lanes below -87 undefined; the two forms below give exactly 0 there
 * (including -inf), which fully masked rows rely on. */
static inline ax_vf ax_vf_exp_neg_unmasked_(ax_vf x) {
    /* No clamp: -inf and values below -87 produce garbage lanes that the callers' masks zero. */
    const ax_vf shifter = ax_vf_splat(12582912.0f); /* 1.5 * 2^23: adding it rounds to an integer */
    const ax_vf kf = (x * ax_vf_splat(1.44269504088896341f) + shifter) - shifter;
    const ax_vf r = (x - kf * ax_vf_splat(0.693145751953125f)) - kf * ax_vf_splat(1.428606765330187e-06f);
    ax_vf poly = ax_vf_splat(0.008297654800117016f);
    poly = poly * r + ax_vf_splat(0.04191538318991661f);
    poly = poly * r + ax_vf_splat(0.16667574644088745f);
    poly = poly * r + ax_vf_splat(0.49998894333839417f);
    poly = poly * r + ax_vf_splat(0.9999997019767761f);
    poly = poly * r + ax_vf_splat(1.0000001192092896f);
    const ax_vi bits = (__builtin_convertvector(kf, ax_vi) + 127) << 23;
    return poly * (ax_vf)bits; /* NaN where x is NaN: poly is */
}
/* NaN lanes give 0 here: callers may subtract -inf from -inf (a row that saw only masked keys). */
static inline ax_vf ax_vf_exp_neg(ax_vf x) {
    return (ax_vf)((ax_vi)ax_vf_exp_neg_unmasked_(x) & (x > ax_vf_splat(-87.0f)));
}
/* The same with NaN lanes kept NaN, for attention probabilities: a NaN logit (NaN in q, k or the
 * bias, or inf - inf from a +inf one) must reach the output, as it does on CUDA and in PyTorch, not
 * pass for a masked key. Only for arguments that are never -inf - (-inf). */
static inline ax_vf ax_vf_exp_neg_nan(ax_vf x) {
    return (ax_vf)((ax_vi)ax_vf_exp_neg_unmasked_(x) & ~(x <= ax_vf_splat(-87.0f)));
}

/* The same exp for one value (lane 0 of the vector form, so scalar and vector callers agree). */
static inline float ax_exp_neg(float x) { return ax_vf_exp_neg(ax_vf_splat(x))[0]; }

/* ---- rows: copies and conversions ---------------------------------------------------------------
 * dst[0..n) from src[0..n); the buffers do not overlap. The conversion loops run at the widest
 * vector the path has (16 lanes on avx512 even when AX_VF_LANES is overridden), then 8, then scalar. */

#if defined(__AVX512F__)
#define AX_CVT_LANES 16
#else
#define AX_CVT_LANES 8
#endif
typedef float ax_cvt_f __attribute__((vector_size(AX_CVT_LANES * 4), aligned(4), may_alias));
typedef uint32_t ax_cvt_u32 __attribute__((vector_size(AX_CVT_LANES * 4), aligned(4), may_alias));
typedef uint16_t ax_cvt_u16 __attribute__((vector_size(AX_CVT_LANES * 2), aligned(2), may_alias));

/* The optimize attribute keeps the copy a loop: GCC otherwise turns it into a memmove call, whose
 * fixed cost per short row (one head's D floats) was a tenth of flash attention's forward (perf).
 * The attribute also keeps GCC from inlining it (a plain call per row, cheaper than memmove's);
 * forced inline, the loop is turned into memmove again under the caller's options. */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-tree-loop-distribute-patterns")))
#endif
static inline void ax_row_copy_f32(float *restrict dst, const float *restrict src, int64_t n) {
    int64_t i = 0;
    for (; i + AX_CVT_LANES <= n; i += AX_CVT_LANES) *(ax_cvt_f *)(dst + i) = *(const ax_cvt_f *)(src + i);
#if AX_CVT_LANES > 8
    if (i + 8 <= n) {
        ax_vf8_store(dst + i, ax_vf8_load(src + i));
        i += 8;
    }
#endif
    for (; i < n; i++) dst[i] = src[i];
}

static inline void ax_row_bf16_to_f32(const uint16_t *restrict src, float *restrict dst, int64_t n) {
    int64_t i = 0;
    for (; i + AX_CVT_LANES <= n; i += AX_CVT_LANES) {
        const ax_cvt_u32 wide = __builtin_convertvector(*(const ax_cvt_u16 *)(src + i), ax_cvt_u32);
        *(ax_cvt_u32 *)(dst + i) = wide << 16;
    }
    for (; i < n; i++) dst[i] = ax_cvt_bf16_to_f32(src[i]);
}

/* Nearest even as ax_cvt_f32_to_bf16: add 0x7fff plus the kept LSB, keep the high half; a NaN keeps
 * its high half with the quiet bit set. */
static inline void ax_row_f32_to_bf16(const float *restrict src, uint16_t *restrict dst, int64_t n) {
    int64_t i = 0;
    for (; i + AX_CVT_LANES <= n; i += AX_CVT_LANES) {
        const ax_cvt_f x = *(const ax_cvt_f *)(src + i);
        const ax_cvt_u32 u = (ax_cvt_u32)x;
        const ax_cvt_u32 rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
        const ax_cvt_u32 quiet = (u >> 16) | 0x0040u;
        const ax_cvt_u32 nan = (ax_cvt_u32)(x != x);
        *(ax_cvt_u16 *)(dst + i) = __builtin_convertvector((quiet & nan) | (rounded & ~nan), ax_cvt_u16);
    }
    for (; i < n; i++) dst[i] = ax_cvt_f32_to_bf16(src[i]);
}

/* fp16 uses the hardware conversions where the path has them (F16C on avx2, AVX-512F on avx512):
 * nearest even, NaN quieted keeping its top payload bits, as ax_cvt_f32_to_f16. */
static inline void ax_row_f16_to_f32(const uint16_t *restrict src, float *restrict dst, int64_t n) {
    int64_t i = 0;
#if defined(__AVX512F__)
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(src + i))));
#endif
#if defined(__F16C__)
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
#endif
    for (; i < n; i++) dst[i] = ax_cvt_f16_to_f32(src[i]);
}

static inline void ax_row_f32_to_f16(const float *restrict src, uint16_t *restrict dst, int64_t n) {
    int64_t i = 0;
#if defined(__AVX512F__)
    for (; i + 16 <= n; i += 16)
        _mm256_storeu_si256((__m256i *)(dst + i), _mm512_cvtps_ph(_mm512_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
#endif
#if defined(__F16C__)
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(dst + i), _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
#endif
    for (; i < n; i++) dst[i] = ax_cvt_f32_to_f16(src[i]);
}

/* c (rows x n, row stride n, n a multiple of AX_VF_LANES) *= diag(alpha) (alpha NULL: every row
 * times mul): a logits tile's softmax scale, or the online softmax's rescale of an output
 * accumulator before a product that cannot fold it into its accumulator load (AMX tiles). */
static inline void ax_rows_scale(float *restrict c, int64_t rows, int64_t n, const float *restrict alpha, float mul) {
    for (int64_t r = 0; r < rows; r++) {
        const ax_vf a = ax_vf_splat(alpha != NULL ? alpha[r] : mul);
        for (int64_t d = 0; d < n; d += AX_VF_LANES) ax_vf_store(c + r * n + d, ax_vf_load(c + r * n + d) * a);
    }
}

#endif /* AXIAL_CORE_CPU_VEC_H */
