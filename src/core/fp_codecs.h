/*
 * fp_codecs.h — scalar conversions between fp32 and the narrow float formats (fp16, bf16, fp8), as
 * inline functions that compile for the host (C11) and for CUDA devices (nvcc), so the CPU and the
 * GPU give the same bits. Integer operations only, apart from exact scalings by powers of two.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_CORE_FP_CODECS_H
#define AXIAL_CORE_FP_CODECS_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#ifdef __CUDACC__
#define AX_HD static __host__ __device__ __forceinline__
#else
#define AX_HD static inline
#endif

AX_HD uint32_t ax_f32_bits(float f) {
#ifdef __CUDA_ARCH__
    return __float_as_uint(f);
#else
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
#endif
}

AX_HD float ax_bits_f32(uint32_t u) {
#ifdef __CUDA_ARCH__
    return __uint_as_float(u);
#else
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
#endif
}

/* Not NaN and not +-Inf, from the bits (independent of -ffinite-math-only and device intrinsics). */
AX_HD int ax_f32_is_finite(float f) { return (ax_f32_bits(f) & 0x7f800000u) != 0x7f800000u; }

/* ---- bf16 and fp16 ---- */

AX_HD uint16_t ax_cvt_f32_to_bf16(float value) {
    const uint32_t x = ax_f32_bits(value);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x0040u); /* quiet NaN */
    /* Adding 0x7fff plus the kept LSB rounds to nearest even; a carry into the exponent is right,
     * including the overflow of the largest finite values to Inf. */
    return (uint16_t)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

AX_HD float ax_cvt_bf16_to_f32(uint16_t bits) { return ax_bits_f32((uint32_t)bits << 16); }

AX_HD uint16_t ax_cvt_f32_to_f16(float value) {
    const uint32_t x = ax_f32_bits(value);
    const uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    const int32_t exp8 = (int32_t)((x >> 23) & 0xffu);
    uint32_t mant = x & 0x7fffffu;

    if (exp8 == 0xff) {
        if (mant == 0) return (uint16_t)(sign | 0x7c00u);
        return (uint16_t)(sign | 0x7e00u | (mant >> 13)); /* quiet NaN keeping the top payload */
    }
    const int32_t e = exp8 - 127 + 15;
    if (e >= 31) return (uint16_t)(sign | 0x7c00u);
    if (e <= 0) {
        /* fp16 subnormal (or zero): value in units of 2^-24 is mant24 * 2^(e - 14). Below 2^-25 it
         * rounds to zero whatever the mantissa. */
        if (e < -10) return sign;
        mant |= 0x800000u;
        const uint32_t shift = (uint32_t)(14 - e);
        uint32_t half = mant >> shift;
        const uint32_t rem = mant & ((1u << shift) - 1u);
        const uint32_t halfway = 1u << (shift - 1u);
        if (rem > halfway || (rem == halfway && (half & 1u))) half++;
        return (uint16_t)(sign | half); /* half == 0x400 is the smallest normal: still right */
    }
    uint32_t half = ((uint32_t)e << 10) | (mant >> 13);
    const uint32_t rem = mant & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (half & 1u))) half++; /* carry may make Inf: right */
    return (uint16_t)(sign | half);
}

AX_HD float ax_cvt_f16_to_f32(uint16_t bits) {
    const uint32_t sign = ((uint32_t)bits & 0x8000u) << 16;
    const uint32_t exp5 = (bits >> 10) & 0x1fu;
    const uint32_t mant = bits & 0x3ffu;
    if (exp5 == 0) {
        const float magnitude = ldexpf((float)mant, -24); /* exact: at most 10 significant bits */
        return sign ? -magnitude : magnitude;
    }
    /* A NaN comes out quiet (payload and sign kept), as F16C's vcvtph2ps gives it: every path alike. */
    if (exp5 == 31) return ax_bits_f32(sign | 0x7f800000u | (mant << 13) | (mant != 0 ? 0x400000u : 0u));
    return ax_bits_f32(sign | ((exp5 + 112u) << 23) | (mant << 13));
}

/* The smallest fp16 at or above a non-negative finite `value` (Inf past 65504): scales rounded this
 * way never shrink, so a quantizer's grid still covers the values it was sized for. */
AX_HD uint16_t ax_cvt_f32_to_f16_up(float value) {
    uint16_t h = ax_cvt_f32_to_f16(value);
    if (h < 0x7c00u && ax_cvt_f16_to_f32(h) < value) h++;
    return h;
}

/* Rounds to f32 with round-to-odd: f32 keeps 13+ more bits than any narrower format here, so a
 * second, nearest-even rounding from it gives the correctly rounded result (no double-rounding
 * error). */
AX_HD float ax_f64_to_f32_round_to_odd(double x) {
    float f = (float)x;
    if (x != x || (double)f == x) return f;
    if (fabs((double)f) > fabs(x)) f = nextafterf(f, 0.0f); /* truncate toward zero */
    return ax_bits_f32(ax_f32_bits(f) | 1u);
}

/* ---- fp8 (E4M3FN and E5M2), as ml_dtypes defines them ---- */

/* One fp8 layout: mantissa bits, exponent bias, the largest finite code, what overflow gives, and
 * the canonical NaN (all without the sign bit). */
typedef struct ax_fp8_format {
    int mant_bits;
    int bias;
    uint32_t max_code;
    uint32_t overflow_code;
    uint32_t nan_code;
    uint32_t inf_code; /* what +-Inf becomes */
} ax_fp8_format;

AX_HD ax_fp8_format ax_fp8_e4m3fn(void) {
    const ax_fp8_format f = {3, 7, 0x7eu, 0x7fu, 0x7fu, 0x7fu}; /* no Inf: overflow and Inf are NaN */
    return f;
}

AX_HD ax_fp8_format ax_fp8_e5m2(void) {
    const ax_fp8_format f = {2, 15, 0x7bu, 0x7cu, 0x7eu, 0x7cu};
    return f;
}

/* Round to nearest, ties to even, on the bits of the fp32. */
AX_HD uint8_t ax_cvt_f32_to_fp8(float value, ax_fp8_format fmt) {
    const uint32_t u = ax_f32_bits(value);
    const uint32_t sign = (u >> 24) & 0x80u;
    const uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return (uint8_t)(sign | fmt.nan_code);
    if (a == 0x7f800000u) return (uint8_t)(sign | fmt.inf_code);
    const int32_t exp32 = (int32_t)(a >> 23);
    if (exp32 == 0) return (uint8_t)sign; /* fp32 subnormals are far below half the fp8 subnormal */
    const int32_t e = exp32 - 127;
    const int32_t emin = 1 - fmt.bias;
    const uint32_t mant24 = (a & 0x7fffffu) | 0x800000u;
    if (e < emin) {
        /* fp8 subnormal: the value in units of 2^(emin - mant_bits) is mant24 / 2^shift. From
         * shift 25 on it is below half a unit; a result of 2^mant_bits is the smallest normal code,
         * which the plain integer already spells. */
        const int32_t shift = 23 - fmt.mant_bits + (emin - e);
        if (shift > 24) return (uint8_t)sign;
        uint32_t q = mant24 >> shift;
        const uint32_t rem = mant24 & ((1u << shift) - 1u);
        const uint32_t half = 1u << (shift - 1);
        if (rem > half || (rem == half && (q & 1u))) q++;
        return (uint8_t)(sign | q);
    }
    if (e + fmt.bias > 31) return (uint8_t)(sign | fmt.overflow_code); /* far past any fp8 */
    const int32_t drop = 23 - fmt.mant_bits;
    uint32_t code = ((uint32_t)(e + fmt.bias) << fmt.mant_bits) | ((a & 0x7fffffu) >> drop);
    const uint32_t rem = a & ((1u << drop) - 1u);
    const uint32_t half = 1u << (drop - 1);
    if (rem > half || (rem == half && (code & 1u))) code++; /* a carry into the exponent is right */
    if (code > fmt.max_code) return (uint8_t)(sign | fmt.overflow_code);
    return (uint8_t)(sign | code);
}

AX_HD float ax_cvt_fp8_to_f32(uint8_t bits, ax_fp8_format fmt) {
    const uint32_t sign = ((uint32_t)bits & 0x80u) << 24;
    const uint32_t mag = bits & 0x7fu;
    const uint32_t mant_mask = (1u << fmt.mant_bits) - 1u;
    const uint32_t e = mag >> fmt.mant_bits, m = mag & mant_mask;
    if (mag > fmt.max_code) { /* the codes past the largest finite one: Inf (E5M2 only) or NaN */
        if (mag == fmt.inf_code && fmt.inf_code != fmt.nan_code) return ax_bits_f32(sign | 0x7f800000u);
        return ax_bits_f32(sign | 0x7fc00000u);
    }
    if (e == 0) {
        const float magnitude = ldexpf((float)m, 1 - fmt.bias - fmt.mant_bits); /* exact */
        return sign ? -magnitude : magnitude;
    }
    return ax_bits_f32(sign | ((e - (uint32_t)fmt.bias + 127u) << 23) | (m << (23 - fmt.mant_bits)));
}

#endif /* AXIAL_CORE_FP_CODECS_H */
