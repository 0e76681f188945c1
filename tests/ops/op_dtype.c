/*
 * op_dtype.c — see op_dtype.h. Every format here is written from its definition: the IEEE-style
 * float layouts (sign, exponent with bias, mantissa; subnormals at the smallest exponent), the OCP
 * fp8 variants as axial.h describes them, and GGUF's block layouts as ggml documents them
 * (block_q4_0 and friends: fp16 scales, packed quants, in file order).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "op_dtype.h"

#include <math.h>
#include <string.h>

uint64_t op_rng_u64(op_rng *r) {
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

double op_rng_uniform(op_rng *r, double lo, double hi) {
    return lo + (hi - lo) * (double)(op_rng_u64(r) >> 11) * (1.0 / 9007199254740992.0);
}

int64_t op_rng_below(op_rng *r, int64_t n) { return n <= 0 ? 0 : (int64_t)(op_rng_u64(r) % (uint64_t)n); }

/* ---- small float formats ---- */

/* A binary float format: exponent and mantissa widths; `fn` marks the "finite" variant (f8_e4m3fn)
 * whose top exponent holds ordinary values and only the all-ones pattern is NaN (no Inf). */
typedef struct float_format {
    int exp_bits, mant_bits, fn;
} float_format;

static const float_format FMT_F32 = {8, 23, 0};
static const float_format FMT_F16 = {5, 10, 0};
static const float_format FMT_BF16 = {8, 7, 0};
static const float_format FMT_E4M3FN = {4, 3, 1};
static const float_format FMT_E5M2 = {5, 2, 0};

static const float_format *format_of(ax_dtype dt) {
    switch (dt) {
    case AX_F32: return &FMT_F32;
    case AX_F16: return &FMT_F16;
    case AX_BF16: return &FMT_BF16;
    case AX_F8_E4M3FN: return &FMT_E4M3FN;
    case AX_F8_E5M2: return &FMT_E5M2;
    default: return NULL;
    }
}

static double fmt_decode(const float_format *f, uint32_t bits) {
    const int bias = (1 << (f->exp_bits - 1)) - 1, top = (1 << f->exp_bits) - 1;
    const uint32_t mant_mask = (1u << f->mant_bits) - 1;
    const int neg = (bits >> (f->exp_bits + f->mant_bits)) & 1;
    const int e = (int)((bits >> f->mant_bits) & (uint32_t)top);
    const uint32_t m = bits & mant_mask;
    double v;
    if (!f->fn && e == top) v = m ? NAN : INFINITY;
    else if (f->fn && e == top && m == mant_mask) v = NAN;
    else if (e == 0) v = ldexp((double)m, 1 - bias - f->mant_bits);
    else v = ldexp((double)(m | (mant_mask + 1)), e - bias - f->mant_bits);
    return neg ? -v : v;
}

/* Round to nearest, ties to even, once: the significand at the value's own exponent (clamped to the
 * smallest normal one, which yields subnormals) is a / quantum, exact in double because quantum is a
 * power of two and the quotient has at most mant_bits + 1 integer bits; nearbyint rounds it with
 * the default (nearest-even) mode. */
static uint32_t fmt_encode(const float_format *f, double x) {
    const int bias = (1 << (f->exp_bits - 1)) - 1, top = (1 << f->exp_bits) - 1;
    const uint32_t mant_mask = (1u << f->mant_bits) - 1;
    const uint32_t sign = signbit(x) ? 1u << (f->exp_bits + f->mant_bits) : 0u;
    const uint32_t nan = f->fn ? ((uint32_t)top << f->mant_bits) | mant_mask
                               : ((uint32_t)top << f->mant_bits) | (1u << (f->mant_bits - 1));
    const uint32_t overflow = f->fn ? nan : (uint32_t)top << f->mant_bits;
    if (isnan(x)) return sign | nan;
    const double a = fabs(x);
    if (isinf(a)) return sign | overflow;
    if (a == 0.0) return sign;
    const int emin = 1 - bias;
    int e = ilogb(a);
    if (e < emin) e = emin;
    double m = nearbyint(ldexp(a, f->mant_bits - e));
    if (m >= ldexp(1.0, f->mant_bits + 1)) { /* rounded up to the next binade */
        m = ldexp(1.0, f->mant_bits);
        e++;
    }
    /* The largest finite value: IEEE formats stop one exponent short of the top; fn formats use the
     * top exponent but not its all-ones mantissa. */
    const int emax = f->fn ? top - bias : top - 1 - bias;
    if (e > emax) return sign | overflow;
    if (f->fn && e == emax && (uint32_t)m - (mant_mask + 1) == mant_mask) return sign | overflow;
    if (m < ldexp(1.0, f->mant_bits)) return sign | (uint32_t)m; /* subnormal (e == emin) */
    return sign | ((uint32_t)(e + bias) << f->mant_bits) | ((uint32_t)m & mant_mask);
}

/* ---- dtype classes ---- */

int opd_is_float(ax_dtype dt) { return format_of(dt) != NULL || dt == AX_F64; }
int opd_is_block(ax_dtype dt) { return ax_dtype_block_elems(dt) > 1; }
int opd_is_int(ax_dtype dt) { return dt == AX_I32 || dt == AX_I64 || dt == AX_U8 || dt == AX_I8; }

double opd_unit_roundoff(ax_dtype dt) {
    if (dt == AX_F64) return ldexp(1.0, -53);
    const float_format *f = format_of(dt);
    return f ? ldexp(1.0, -(f->mant_bits + 1)) : 0.0;
}

double opd_round(ax_dtype dt, double x) {
    const float_format *f = format_of(dt);
    if (f) return fmt_decode(f, fmt_encode(f, x));
    if (opd_is_int(dt)) return trunc(x);
    return x;
}

double opd_from_bits(ax_dtype dt, uint32_t bits) {
    const float_format *f = format_of(dt);
    return f ? fmt_decode(f, bits) : NAN;
}

/* ---- storage ---- */

static int64_t floor_div(int64_t a, int64_t b) {
    const int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

double opd_load(ax_dtype dt, const void *base, int64_t offset) {
    const unsigned char *p = base;
    if (opd_is_block(dt)) {
        const int64_t be = ax_dtype_block_elems(dt), block = floor_div(offset, be);
        return opd_block_decode(dt, p + block * ax_dtype_block_bytes(dt), offset - block * be);
    }
    const int64_t size = (int64_t)ax_dtype_size(dt);
    p += offset * size;
    switch (dt) {
    case AX_F64: {
        double v;
        memcpy(&v, p, 8);
        return v;
    }
    case AX_F32: {
        uint32_t b;
        memcpy(&b, p, 4);
        return fmt_decode(&FMT_F32, b);
    }
    case AX_F16:
    case AX_BF16: {
        uint16_t b;
        memcpy(&b, p, 2);
        return fmt_decode(format_of(dt), b);
    }
    case AX_F8_E4M3FN:
    case AX_F8_E5M2: return fmt_decode(format_of(dt), *p);
    case AX_I32: {
        int32_t v;
        memcpy(&v, p, 4);
        return v;
    }
    case AX_I64: {
        int64_t v;
        memcpy(&v, p, 8);
        return (double)v;
    }
    case AX_U8: return *p;
    case AX_I8: return (int8_t)*p;
    default: return NAN;
    }
}

double opd_store(ax_dtype dt, void *base, int64_t offset, double x) {
    unsigned char *p = (unsigned char *)base + offset * (int64_t)ax_dtype_size(dt);
    const float_format *f = format_of(dt);
    if (f) {
        const uint32_t bits = fmt_encode(f, x);
        if (dt == AX_F32) memcpy(p, &bits, 4);
        else if (dt == AX_F16 || dt == AX_BF16) {
            const uint16_t b = (uint16_t)bits;
            memcpy(p, &b, 2);
        } else *p = (uint8_t)bits;
        return fmt_decode(f, bits);
    }
    switch (dt) {
    case AX_F64: memcpy(p, &x, 8); return x;
    case AX_I32: {
        const int32_t v = (int32_t)x;
        memcpy(p, &v, 4);
        return v;
    }
    case AX_I64: {
        const int64_t v = (int64_t)x;
        memcpy(p, &v, 8);
        return (double)v;
    }
    case AX_U8: *p = (uint8_t)x; return *p;
    case AX_I8: *p = (uint8_t)(int8_t)x; return (int8_t)*p;
    default: return NAN;
    }
}

/* ---- GGUF blocks ---- */

/* fp32 arithmetic with exactly one rounding, whatever the compiler's contraction settings: a
 * product or sum of two floats computed in double and rounded to float is the correctly rounded
 * float result (53 >= 2 * 24 + 2, so the double rounding is innocuous). */
static float mul32(float a, float b) { return (float)((double)a * (double)b); }
static float add32(float a, float b) { return (float)((double)a + (double)b); }
static float sub32(float a, float b) { return (float)((double)a - (double)b); }

/* A little-endian fp16 field. */
static float half_at(const uint8_t *p) { return (float)fmt_decode(&FMT_F16, (uint32_t)p[0] | ((uint32_t)p[1] << 8)); }

/* block_q4_0 { half d; uint8 qs[16]; }: element j < 16 is the low nibble of qs[j], element j + 16
 * its high nibble; x = d * (q - 8). */
static float q4_0_elem(const uint8_t *b, int64_t i) {
    const uint8_t byte = b[2 + (i % 16)];
    const int q = i < 16 ? byte & 0x0f : byte >> 4;
    return mul32(half_at(b), (float)(q - 8));
}

/* block_q4_1 { half d; half m; uint8 qs[16]; }: nibbles as Q4_0; x = d * q + m. */
static float q4_1_elem(const uint8_t *b, int64_t i) {
    const uint8_t byte = b[4 + (i % 16)];
    const int q = i < 16 ? byte & 0x0f : byte >> 4;
    return add32(mul32(half_at(b), (float)q), half_at(b + 2));
}

/* block_q8_0 { half d; int8 qs[32]; }: x = q * d. */
static float q8_0_elem(const uint8_t *b, int64_t i) { return mul32((float)(int8_t)b[2 + i], half_at(b)); }

/* block_q4_K { half d; half dmin; uint8 scales[12]; uint8 qs[128]; }. The 256 elements are four runs
 * of 64; run r reads qs[32r .. 32r + 31], its first 32 elements from the low nibbles (sub-block 2r)
 * and its next 32 from the high nibbles (sub-block 2r + 1). Sub-block j's 6-bit scale and min: for
 * j < 4 the low 6 bits of scales[j] and scales[j + 4]; for j >= 4 the nibbles of scales[j + 4] (low:
 * scale, high: min) topped with the 2 high bits of scales[j - 4] (scale) and scales[j] (min).
 * x = (d * scale) * q - dmin * min. */
/* Sub-block j's 6-bit scale and min (the packing described above). */
static void q4_k_scale_min(const uint8_t *sc, int j, int *scale, int *min) {
    if (j < 4) {
        *scale = sc[j] & 63;
        *min = sc[j + 4] & 63;
    } else {
        *scale = (sc[j + 4] & 0x0f) | ((sc[j - 4] >> 6) << 4);
        *min = (sc[j + 4] >> 4) | ((sc[j] >> 6) << 4);
    }
}

static float q4_k_elem(const uint8_t *b, int64_t i) {
    const uint8_t *qs = b + 16;
    const int64_t run = i / 64, within = i % 64;
    const int high = within >= 32;
    const int j = (int)(2 * run + high);
    const uint8_t byte = qs[32 * run + within % 32];
    const int q = high ? byte >> 4 : byte & 0x0f;
    int scale, min;
    q4_k_scale_min(b + 4, j, &scale, &min);
    const float step = mul32(half_at(b), (float)scale);
    const float offset = mul32(half_at(b + 2), (float)min);
    return sub32(mul32(step, (float)q), offset);
}

/* block_q6_K { uint8 ql[128]; uint8 qh[64]; int8 scales[16]; half d; }. Two halves of 128 elements;
 * half h uses ql[64h ..], qh[32h ..], scales[8h ..]. Within a half, quarter g (32 elements each, l
 * the position in it) takes its low 4 bits from ql[l + 32 * (g & 1)] (low nibble for g < 2, high
 * nibble otherwise), its high 2 bits from bits 2g, 2g + 1 of qh[l], and its scale from
 * scales[l / 16 + 2g]. x = (d * scale) * (q - 32). */
static float q6_k_elem(const uint8_t *b, int64_t i) {
    const int64_t h = i / 128, g = (i % 128) / 32, l = i % 32;
    const uint8_t *ql = b + 64 * h, *qh = b + 128 + 32 * h;
    const int8_t *scales = (const int8_t *)(b + 192) + 8 * h;
    const uint8_t low_byte = ql[l + 32 * (g & 1)];
    const int low = g < 2 ? low_byte & 0x0f : low_byte >> 4;
    const int high_bits = (qh[l] >> (2 * g)) & 3;
    const int q = (low | (high_bits << 4)) - 32;
    return mul32(mul32(half_at(b + 208), (float)scales[l / 16 + 2 * g]), (float)q);
}

float opd_block_decode(ax_dtype dt, const uint8_t *block, int64_t i) {
    switch (dt) {
    case AX_Q4_0: return q4_0_elem(block, i);
    case AX_Q4_1: return q4_1_elem(block, i);
    case AX_Q8_0: return q8_0_elem(block, i);
    case AX_Q4_K: return q4_k_elem(block, i);
    case AX_Q6_K: return q6_k_elem(block, i);
    default: return NAN;
    }
}

float opd_block_step(ax_dtype dt, const uint8_t *block, int64_t i) {
    switch (dt) {
    case AX_Q4_0:
    case AX_Q4_1:
    case AX_Q8_0: return fabsf(half_at(block));
    case AX_Q4_K: {
        int scale, min;
        q4_k_scale_min(block + 4, (int)(i / 32), &scale, &min);
        return fabsf(mul32(half_at(block), (float)scale));
    }
    case AX_Q6_K: {
        /* scales[i / 16] in file order: half h, quarter g, l / 16 gives 8h + 2g + l / 16 = i / 16 */
        const int8_t scale = (int8_t)block[192 + i / 16];
        return fabsf(mul32(half_at(block + 208), (float)scale));
    }
    default: return NAN;
    }
}

/* A random fp16 bit pattern that is finite (exponent field not all ones). */
static void put_finite_half(op_rng *r, uint8_t *p) {
    uint16_t h;
    do h = (uint16_t)op_rng_u64(r);
    while (((h >> 10) & 31) == 31);
    p[0] = (uint8_t)(h & 0xff);
    p[1] = (uint8_t)(h >> 8);
}

void opd_random_block(ax_dtype dt, op_rng *r, uint8_t *block) {
    const int64_t bytes = ax_dtype_block_bytes(dt);
    for (int64_t i = 0; i < bytes; i++) block[i] = (uint8_t)op_rng_u64(r);
    switch (dt) {
    case AX_Q4_0:
    case AX_Q8_0: put_finite_half(r, block); break;
    case AX_Q4_1:
    case AX_Q4_K:
        put_finite_half(r, block);
        put_finite_half(r, block + 2);
        break;
    case AX_Q6_K: put_finite_half(r, block + 208); break;
    default: break;
    }
}
