/*
 * dtype.c — dtype sizes and names, scalar fp32 <-> bf16/fp16 conversion, and ax_convert.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <string.h>

#include "core/dtype_convert.h"
#include "core/internal.h"

size_t ax_dtype_size(ax_dtype dtype) {
    switch (dtype) {
    case AX_F32: return 4;
    case AX_F16: return 2;
    case AX_BF16: return 2;
    case AX_F64: return 8;
    case AX_I32: return 4;
    case AX_I64: return 8;
    case AX_U8: return 1;
    case AX_I8: return 1;
    }
    return 0;
}

const char *ax_dtype_name(ax_dtype dtype) {
    switch (dtype) {
    case AX_F32: return "f32";
    case AX_F16: return "f16";
    case AX_BF16: return "bf16";
    case AX_F64: return "f64";
    case AX_I32: return "i32";
    case AX_I64: return "i64";
    case AX_U8: return "u8";
    case AX_I8: return "i8";
    }
    return "unknown";
}

static uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

uint16_t ax_f32_to_bf16(float value) {
    const uint32_t x = f32_bits(value);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x0040u); /* quiet NaN */
    /* Adding 0x7fff plus the kept LSB rounds to nearest even; a carry into the exponent is right,
     * including the overflow of the largest finite values to Inf. */
    return (uint16_t)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

float ax_bf16_to_f32(uint16_t bits) { return bits_f32((uint32_t)bits << 16); }

uint16_t ax_f32_to_f16(float value) {
    const uint32_t x = f32_bits(value);
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

float ax_f16_to_f32(uint16_t bits) {
    const uint32_t sign = ((uint32_t)bits & 0x8000u) << 16;
    const uint32_t exp5 = (bits >> 10) & 0x1fu;
    const uint32_t mant = bits & 0x3ffu;
    if (exp5 == 0) {
        const float magnitude = ldexpf((float)mant, -24); /* exact: at most 10 significant bits */
        return sign ? -magnitude : magnitude;
    }
    if (exp5 == 31) return bits_f32(sign | 0x7f800000u | (mant << 13));
    return bits_f32(sign | ((exp5 + 112u) << 23) | (mant << 13));
}

/* ---- array conversion ---- */

void ax_convert_f32_to_bf16_portable(const float *src, uint16_t *dst, int64_t n) {
    for (int64_t i = 0; i < n; i++) dst[i] = ax_f32_to_bf16(src[i]);
}
void ax_convert_bf16_to_f32_portable(const uint16_t *src, float *dst, int64_t n) {
    for (int64_t i = 0; i < n; i++) dst[i] = ax_bf16_to_f32(src[i]);
}
void ax_convert_f32_to_f16_portable(const float *src, uint16_t *dst, int64_t n) {
    for (int64_t i = 0; i < n; i++) dst[i] = ax_f32_to_f16(src[i]);
}
void ax_convert_f16_to_f32_portable(const uint16_t *src, float *dst, int64_t n) {
    for (int64_t i = 0; i < n; i++) dst[i] = ax_f16_to_f32(src[i]);
}

static const ax_convert_kernels portable_kernels = {
    ax_convert_f32_to_bf16_portable, ax_convert_bf16_to_f32_portable,
    ax_convert_f32_to_f16_portable, ax_convert_f16_to_f32_portable};

const ax_convert_kernels *ax_convert_kernels_active(void) {
#if AXIAL_HAVE_X86_KERNELS
    if (ax_cpu_path_resolved() >= AX_CPU_PATH_AVX2) return &ax_convert_kernels_avx2;
#endif
    return &portable_kernels;
}

static int is_float_dtype(ax_dtype d) { return d == AX_F32 || d == AX_F16 || d == AX_BF16 || d == AX_F64; }

/* Reads element i of a float-typed array as double (exact for every source type). */
static double load_as_double(const void *src, ax_dtype dtype, int64_t i) {
    switch (dtype) {
    case AX_F32: return ((const float *)src)[i];
    case AX_F16: return ax_f16_to_f32(((const uint16_t *)src)[i]);
    case AX_BF16: return ax_bf16_to_f32(((const uint16_t *)src)[i]);
    case AX_F64: return ((const double *)src)[i];
    default: return 0.0;
    }
}

ax_status ax_convert(const void *src, ax_dtype src_dtype, void *dst, ax_dtype dst_dtype, int64_t count) {
    if (count < 0) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "count: must be >= 0, got %lld", (long long)count);
    if (!is_float_dtype(src_dtype))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "src_dtype: %s is not one of f32, f16, bf16, f64",
                            ax_dtype_name(src_dtype));
    if (!is_float_dtype(dst_dtype))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "dst_dtype: %s is not one of f32, f16, bf16, f64",
                            ax_dtype_name(dst_dtype));
    if (count == 0) return AX_OK;
    if (src == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "src: NULL with count %lld", (long long)count);
    if (dst == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "dst: NULL with count %lld", (long long)count);

    const ax_convert_kernels *k = ax_convert_kernels_active();
    if (src_dtype == dst_dtype) {
        memcpy(dst, src, (size_t)count * ax_dtype_size(src_dtype));
    } else if (src_dtype == AX_F32 && dst_dtype == AX_BF16) {
        k->f32_to_bf16(src, dst, count);
    } else if (src_dtype == AX_BF16 && dst_dtype == AX_F32) {
        k->bf16_to_f32(src, dst, count);
    } else if (src_dtype == AX_F32 && dst_dtype == AX_F16) {
        k->f32_to_f16(src, dst, count);
    } else if (src_dtype == AX_F16 && dst_dtype == AX_F32) {
        k->f16_to_f32(src, dst, count);
    } else {
        /* Pairs through f64, or between the two 16-bit types: go through a double, which holds every
         * source value exactly, then round once to the destination. Rounding f64 -> 16 bit through
         * f32 would round twice, so those go through f32 only when the value is exact in f32. */
        for (int64_t i = 0; i < count; i++) {
            const double x = load_as_double(src, src_dtype, i);
            switch (dst_dtype) {
            case AX_F64: ((double *)dst)[i] = x; break;
            case AX_F32: ((float *)dst)[i] = (float)x; break;
            case AX_F16: ((uint16_t *)dst)[i] = ax_f64_to_f16(x); break;
            case AX_BF16: ((uint16_t *)dst)[i] = ax_f64_to_bf16(x); break;
            default: break;
            }
        }
    }
    return AX_OK;
}

/* Rounds to f32 with round-to-odd: f32 keeps 13+ more bits than either 16-bit type, so a second,
 * nearest-even rounding from it gives the correctly rounded result (no double-rounding error). */
static float f64_to_f32_round_to_odd(double x) {
    float f = (float)x;
    if (isnan(x) || (double)f == x) return f;
    if (fabs((double)f) > fabs(x)) f = nextafterf(f, 0.0f); /* truncate toward zero */
    uint32_t u = f32_bits(f) | 1u;
    return bits_f32(u);
}

uint16_t ax_f64_to_f16(double x) { return ax_f32_to_f16(f64_to_f32_round_to_odd(x)); }
uint16_t ax_f64_to_bf16(double x) { return ax_f32_to_bf16(f64_to_f32_round_to_odd(x)); }
