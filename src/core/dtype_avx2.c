/*
 * dtype_avx2.c — fp32 <-> bf16/fp16 array conversion with AVX2 and F16C, same rounding as the
 * scalar functions in dtype.c (the tests compare them bit for bit). Compiled with -mavx2 -mf16c;
 * only called when the CPU has them.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "core/dtype_convert.h"

#if AXIAL_HAVE_X86_KERNELS
#include <immintrin.h>

static void f32_to_bf16_avx2(const float *src, uint16_t *dst, int64_t n) {
    const __m256i one = _mm256_set1_epi32(1);
    const __m256i bias = _mm256_set1_epi32(0x7fff);
    const __m256i quiet = _mm256_set1_epi32(0x00400000);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 x = _mm256_loadu_ps(src + i);
        const __m256i u = _mm256_castps_si256(x);
        const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), one);
        const __m256i rounded = _mm256_add_epi32(u, _mm256_add_epi32(bias, lsb));
        const __m256i nan_mask = _mm256_castps_si256(_mm256_cmp_ps(x, x, _CMP_UNORD_Q));
        const __m256i nan_bits = _mm256_or_si256(u, quiet);
        const __m256i chosen = _mm256_srli_epi32(_mm256_blendv_epi8(rounded, nan_bits, nan_mask), 16);
        /* Pack 8 x u32 (all < 65536) to 8 x u16: packus works per 128-bit lane, then fix the order. */
        const __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(chosen, chosen), 0x08);
        _mm_storeu_si128((__m128i *)(dst + i), _mm256_castsi256_si128(packed));
    }
    ax_convert_f32_to_bf16_portable(src + i, dst + i, n - i);
}

static void bf16_to_f32_avx2(const uint16_t *src, float *dst, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256i h = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(src + i)));
        _mm256_storeu_ps(dst + i, _mm256_castsi256_ps(_mm256_slli_epi32(h, 16)));
    }
    ax_convert_bf16_to_f32_portable(src + i, dst + i, n - i);
}

static void f32_to_f16_avx2(const float *src, uint16_t *dst, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT);
        _mm_storeu_si128((__m128i *)(dst + i), h);
    }
    ax_convert_f32_to_f16_portable(src + i, dst + i, n - i);
}

static void f16_to_f32_avx2(const uint16_t *src, float *dst, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
    ax_convert_f16_to_f32_portable(src + i, dst + i, n - i);
}

const ax_convert_kernels ax_convert_kernels_avx2 = {f32_to_bf16_avx2, bf16_to_f32_avx2, f32_to_f16_avx2,
                                                    f16_to_f32_avx2};
#endif
