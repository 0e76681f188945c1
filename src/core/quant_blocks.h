/*
 * quant_blocks.h — encoding and decoding one block of each GGUF block-quantized type, as inline
 * functions shared by the CPU (quant.c) and the CUDA copy kernel (tensor_copy_cuda.cu), so both give
 * the same bytes and values.
 *
 * Byte layouts are GGUF's (see the ax_dtype comment in axial.h). Q4_0, Q4_1 and Q8_0 are quantized
 * as GGML's reference and the `gguf` package do, operation for operation, because the `gguf`
 * package checks us bit for bit (the signed-zero corners are in axial.h at ax_convert); Q4_K and
 * Q6_K use a quantizer of Axial's own (see ax_q4_k_encode). NaN or Inf anywhere in a block makes the
 * block's scales NaN.
 *
 * Floating-point discipline: every multiply, add and divide below must round on its own, as the
 * reference (and NumPy, which the `gguf` package uses) does. A fused multiply-add changes results
 * in the last bit, which moves a value across a rounding threshold of the quantizer. On the device
 * the AX_F* macros (core/fp_rounded.h) are the explicitly rounded intrinsics, which nvcc never
 * fuses; host files that include this header are compiled with -ffp-contract=off (CMakeLists.txt).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_CORE_QUANT_BLOCKS_H
#define AXIAL_CORE_QUANT_BLOCKS_H

#include "core/dtype_traits.h"
#include "core/fp_rounded.h"

#define AX_QK 32    /* elements per block of Q4_0, Q4_1, Q8_0 */
#define AX_QK_K 256 /* elements per super-block of the K types */
#define AX_FP16_NAN 0x7e00u

/* ---- small helpers ---- */

AX_HD void ax_put_f16(uint8_t *p, uint16_t h) {
    p[0] = (uint8_t)(h & 0xffu);
    p[1] = (uint8_t)(h >> 8);
}

AX_HD float ax_get_f16(const uint8_t *p) { return ax_cvt_f16_to_f32((uint16_t)(p[0] | (p[1] << 8))); }

AX_HD int ax_all_finite(const float *x, int n) {
    for (int i = 0; i < n; i++)
        if (!ax_f32_is_finite(x[i])) return 0;
    return 1;
}

/* (int) of a value the reference truncates into [0, hi]. Only a non-finite reciprocal scale could
 * take it outside (ruled out by the callers); NaN and negatives give 0 rather than undefined
 * behaviour. */
AX_HD int ax_trunc_clamp(float v, int hi) {
    if (!(v >= 0.0f)) return 0;
    if (v >= (float)hi) return hi;
    return (int)v;
}

/* GGML's reciprocal scale: 1/d, or 0 for d == 0. Where 1/d overflows (|d| below about 2.9e-39) GGML's
 * result is undefined; the fp16 scale is zero there anyway, so we quantize to zeros (id = 0). */
AX_HD float ax_recip_scale(float d) {
    if (d == 0.0f) return 0.0f;
    const float id = AX_FDIV(1.0f, d);
    return ax_f32_is_finite(id) ? id : 0.0f;
}

/* ---- Q4_0: 32 elements in 18 bytes, x = d * (q - 8) ---- */

AX_HD void ax_q4_0_encode(const float *x, uint8_t *out) {
    if (!ax_all_finite(x, AX_QK)) {
        ax_put_f16(out, AX_FP16_NAN);
        for (int j = 0; j < AX_QK / 2; j++) out[2 + j] = 0;
        return;
    }
    /* The first element of largest magnitude, with its sign. Starting from x[0] (not from +0 as
     * GGML's C reference does) matters only for an all-zero block led by -0: the gguf package's
     * argmax takes x[0], and so do we. */
    float amax = fabsf(x[0]), max = x[0];
    for (int j = 1; j < AX_QK; j++) {
        const float v = x[j];
        if (amax < fabsf(v)) {
            amax = fabsf(v);
            max = v;
        }
    }
    const float d = AX_FDIV(max, -8.0f);
    const float id = ax_recip_scale(d);
    ax_put_f16(out, ax_cvt_f32_to_f16(d));
    for (int j = 0; j < AX_QK / 2; j++) {
        const float x0 = AX_FMUL(x[j], id);
        const float x1 = AX_FMUL(x[j + AX_QK / 2], id);
        const int q0 = ax_trunc_clamp(AX_FADD(x0, 8.5f), 15);
        const int q1 = ax_trunc_clamp(AX_FADD(x1, 8.5f), 15);
        out[2 + j] = (uint8_t)(q0 | (q1 << 4));
    }
}

AX_HD void ax_q4_0_decode(const uint8_t *in, float *y) {
    const float d = ax_get_f16(in);
    for (int j = 0; j < AX_QK / 2; j++) {
        y[j] = AX_FMUL(d, (float)((in[2 + j] & 0x0f) - 8));
        y[j + AX_QK / 2] = AX_FMUL(d, (float)((in[2 + j] >> 4) - 8));
    }
}

/* ---- Q4_1: 32 elements in 20 bytes, x = d * q + m ---- */

AX_HD void ax_q4_1_encode(const float *x, uint8_t *out) {
    if (!ax_all_finite(x, AX_QK)) {
        ax_put_f16(out, AX_FP16_NAN);
        ax_put_f16(out + 2, AX_FP16_NAN);
        for (int j = 0; j < AX_QK / 2; j++) out[4 + j] = 0;
        return;
    }
    /* The first of equal extremes, as GGML's strict compares pick. That only decides the sign of a
     * zero minimum, which no dequantized value depends on; the gguf package's NumPy reductions may
     * pick either sign there. */
    float min = x[0], max = x[0];
    for (int j = 1; j < AX_QK; j++) {
        if (x[j] < min) min = x[j];
        if (x[j] > max) max = x[j];
    }
    const float d = AX_FDIV(AX_FSUB(max, min), 15.0f);
    const float id = ax_recip_scale(d);
    ax_put_f16(out, ax_cvt_f32_to_f16(d));
    ax_put_f16(out + 2, ax_cvt_f32_to_f16(min));
    for (int j = 0; j < AX_QK / 2; j++) {
        const float x0 = AX_FMUL(AX_FSUB(x[j], min), id);
        const float x1 = AX_FMUL(AX_FSUB(x[j + AX_QK / 2], min), id);
        const int q0 = ax_trunc_clamp(AX_FADD(x0, 0.5f), 15);
        const int q1 = ax_trunc_clamp(AX_FADD(x1, 0.5f), 15);
        out[4 + j] = (uint8_t)(q0 | (q1 << 4));
    }
}

AX_HD void ax_q4_1_decode(const uint8_t *in, float *y) {
    const float d = ax_get_f16(in), m = ax_get_f16(in + 2);
    for (int j = 0; j < AX_QK / 2; j++) {
        y[j] = AX_FADD(AX_FMUL(d, (float)(in[4 + j] & 0x0f)), m);
        y[j + AX_QK / 2] = AX_FADD(AX_FMUL(d, (float)(in[4 + j] >> 4)), m);
    }
}

/* ---- Q8_0: 32 elements in 34 bytes, x = d * q ---- */

AX_HD void ax_q8_0_encode(const float *x, uint8_t *out) {
    if (!ax_all_finite(x, AX_QK)) {
        ax_put_f16(out, AX_FP16_NAN);
        for (int j = 0; j < AX_QK; j++) out[2 + j] = 0;
        return;
    }
    float amax = 0.0f;
    for (int j = 0; j < AX_QK; j++) amax = fabsf(x[j]) > amax ? fabsf(x[j]) : amax;
    const float d = AX_FDIV(amax, 127.0f);
    const float id = ax_recip_scale(d);
    ax_put_f16(out, ax_cvt_f32_to_f16(d));
    /* roundf: half away from zero, as the reference; |x * id| <= 127 (plus an ulp) fits int8. */
    for (int j = 0; j < AX_QK; j++) out[2 + j] = (uint8_t)(int8_t)roundf(AX_FMUL(x[j], id));
}

AX_HD void ax_q8_0_decode(const uint8_t *in, float *y) {
    const float d = ax_get_f16(in);
    for (int j = 0; j < AX_QK; j++) y[j] = AX_FMUL((float)(int8_t)in[2 + j], d);
}

/* ---- Q4_K: 256 elements in 144 bytes ----
 * d (fp16), dmin (fp16), 12 bytes holding 8 six-bit scales and 8 six-bit mins, 128 bytes of 4-bit
 * quants. Sub-block j (32 elements) reads x = (d * scale_j) * q - dmin * min_j, q in [0, 15].
 * Quants of sub-blocks 2k and 2k+1 share bytes 32k..32k+31: low nibbles, then high nibbles. */

AX_HD void ax_q4_k_get_scale_min(const uint8_t *s, int j, int *scale, int *min) {
    if (j < 4) {
        *scale = s[j] & 63;
        *min = s[j + 4] & 63;
    } else {
        *scale = (s[j + 4] & 0x0f) | ((s[j - 4] >> 6) << 4);
        *min = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
}

AX_HD void ax_q4_k_put_scales(uint8_t *s, const int *scale, const int *min) {
    for (int j = 0; j < 4; j++) {
        s[j] = (uint8_t)((scale[j] & 63) | ((scale[j + 4] >> 4) << 6));
        s[j + 4] = (uint8_t)((min[j] & 63) | ((min[j + 4] >> 4) << 6));
        s[j + 8] = (uint8_t)((scale[j + 4] & 0x0f) | ((min[j + 4] & 0x0f) << 4));
    }
}

/* The smallest integer k in [0, kmax] with (unit * k) >= target in fp32, or kmax. */
AX_HD int ax_ceil_steps(float target, float unit, int kmax) {
    if (!(target > 0.0f) || !(unit > 0.0f) || !ax_f32_is_finite(unit)) return 0;
    float r = ceilf(AX_FDIV(target, unit));
    int k = r >= (float)kmax ? kmax : (int)r;
    while (k < kmax && AX_FMUL(unit, (float)k) < target) k++; /* the division may have rounded down */
    return k;
}

/* Our quantizer, not GGML's: each sub-block's grid is sized to cover its values (the offset min_j
 * rounded up, then the step rounded up so the top level reaches the sub-block's maximum), and each
 * element takes the nearest level as dequantization computes it. So every element is within half a
 * step of its value; the step is at most about (2 A + A/63) / 15 + d for the block's largest
 * magnitude A. */
AX_HD void ax_q4_k_encode(const float *x, uint8_t *out) {
    uint8_t *scales = out + 4, *qs = out + 16;
    if (!ax_all_finite(x, AX_QK_K)) {
        ax_put_f16(out, AX_FP16_NAN);
        ax_put_f16(out + 2, AX_FP16_NAN);
        for (int i = 0; i < 12 + AX_QK_K / 2; i++) scales[i] = 0;
        return;
    }
    float top[8], offset[8], max_offset = 0.0f;
    for (int j = 0; j < 8; j++) {
        float lo = 0.0f, hi = x[32 * j]; /* the grid always holds 0: min_j >= 0 */
        for (int i = 0; i < 32; i++) {
            const float v = x[32 * j + i];
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
        top[j] = hi;
        offset[j] = -lo;
        max_offset = offset[j] > max_offset ? offset[j] : max_offset;
    }
    const uint16_t dmin_bits = ax_cvt_f32_to_f16_up(AX_FDIV(max_offset, 63.0f));
    const float dmin = ax_cvt_f16_to_f32(dmin_bits);
    int mins[8], steps[8];
    float level0[8], need[8], max_need = 0.0f;
    for (int j = 0; j < 8; j++) {
        mins[j] = ax_ceil_steps(offset[j], dmin, 63);
        level0[j] = AX_FMUL(dmin, (float)mins[j]);
        need[j] = AX_FDIV(AX_FADD(top[j], level0[j]), 15.0f); /* the step that reaches the top */
        need[j] = need[j] > 0.0f ? need[j] : 0.0f;
        max_need = need[j] > max_need ? need[j] : max_need;
    }
    const uint16_t d_bits = ax_cvt_f32_to_f16_up(AX_FDIV(max_need, 63.0f));
    const float d = ax_cvt_f16_to_f32(d_bits);
    ax_put_f16(out, d_bits);
    ax_put_f16(out + 2, dmin_bits);
    if (!ax_f32_is_finite(d) || !ax_f32_is_finite(dmin)) {
        /* Too large for fp16 scales: keep the Inf scale (as GGML would) over zero scales and quants,
         * so the block reads back as NaN rather than as wrong finite values. */
        for (int i = 0; i < 12 + AX_QK_K / 2; i++) scales[i] = 0;
        return;
    }
    for (int j = 0; j < 8; j++) {
        int k = ax_ceil_steps(need[j], d, 63);
        /* The top level as dequantization computes it must reach the maximum. */
        while (k < 63 && AX_FSUB(AX_FMUL(AX_FMUL(d, (float)k), 15.0f), level0[j]) < top[j]) k++;
        steps[j] = k;
    }
    ax_q4_k_put_scales(scales, steps, mins);
    for (int j = 0; j < 8; j++) {
        const float step = AX_FMUL(d, (float)steps[j]);
        const float m = level0[j];
        for (int i = 0; i < 32; i++) {
            const float v = x[32 * j + i];
            int q = 0;
            if (step > 0.0f && ax_f32_is_finite(step)) {
                q = (int)rintf(AX_FDIV(AX_FADD(v, m), step));
                q = q < 0 ? 0 : q > 15 ? 15 : q;
                /* The division rounds: pick the truly nearest of the neighbouring levels. */
                float best = fabsf(AX_FSUB(AX_FSUB(AX_FMUL(step, (float)q), m), v));
                for (int c = q - 1; c <= q + 1; c += 2) {
                    if (c < 0 || c > 15) continue;
                    const float err = fabsf(AX_FSUB(AX_FSUB(AX_FMUL(step, (float)c), m), v));
                    if (err < best) {
                        best = err;
                        q = c;
                    }
                }
            }
            uint8_t *byte = &qs[32 * (j / 2) + i];
            if (j % 2 == 0) *byte = (uint8_t)q;
            else *byte = (uint8_t)(*byte | (q << 4));
        }
    }
}

AX_HD void ax_q4_k_decode(const uint8_t *in, float *y) {
    const float d = ax_get_f16(in), dmin = ax_get_f16(in + 2);
    const uint8_t *scales = in + 4, *qs = in + 16;
    for (int j = 0; j < 8; j++) {
        int sc, mn;
        ax_q4_k_get_scale_min(scales, j, &sc, &mn);
        const float step = AX_FMUL(d, (float)sc);
        const float m = AX_FMUL(dmin, (float)mn);
        const int shift = 4 * (j % 2);
        for (int i = 0; i < 32; i++) {
            const int q = (qs[32 * (j / 2) + i] >> shift) & 0x0f;
            y[32 * j + i] = AX_FSUB(AX_FMUL(step, (float)q), m);
        }
    }
}

/* ---- Q6_K: 256 elements in 210 bytes ----
 * 128 bytes of low 4 bits, 64 bytes of high 2 bits, 16 int8 scales, fp16 d. Sub-block j (16
 * elements) reads x = (d * scale_j) * (q - 32), q in [0, 63]. Element e = 128 h + r (r < 128) keeps
 * its low bits in nibble r / 64 of ql[64 h + r % 64] and its high bits in bit pair r / 32 of
 * qh[32 h + r % 32]. */

AX_HD int ax_q6_k_get_q(const uint8_t *in, int e) {
    const int h = e / 128, r = e % 128;
    const int low = (in[64 * h + r % 64] >> (4 * (r / 64))) & 0x0f;
    const int high = (in[128 + 32 * h + r % 32] >> (2 * (r / 32))) & 0x03;
    return low | (high << 4);
}

/* Our quantizer: symmetric levels -32..31 per sub-block, the step rounded up so both ends are
 * covered, each element at the nearest level as dequantization computes it. */
AX_HD void ax_q6_k_encode(const float *x, uint8_t *out) {
    uint8_t *ql = out, *qh = out + 128;
    int8_t *scales = (int8_t *)(out + 192);
    for (int i = 0; i < 192 + 16; i++) out[i] = 0;
    if (!ax_all_finite(x, AX_QK_K)) {
        ax_put_f16(out + 208, AX_FP16_NAN);
        return;
    }
    float lo[16], hi[16], need[16], max_need = 0.0f;
    for (int j = 0; j < 16; j++) {
        lo[j] = 0.0f;
        hi[j] = 0.0f;
        for (int i = 0; i < 16; i++) {
            const float v = x[16 * j + i];
            lo[j] = v < lo[j] ? v : lo[j];
            hi[j] = v > hi[j] ? v : hi[j];
        }
        const float up = AX_FDIV(hi[j], 31.0f), down = AX_FDIV(-lo[j], 32.0f);
        need[j] = up > down ? up : down;
        max_need = need[j] > max_need ? need[j] : max_need;
    }
    const uint16_t d_bits = ax_cvt_f32_to_f16_up(AX_FDIV(max_need, 127.0f));
    const float d = ax_cvt_f16_to_f32(d_bits);
    ax_put_f16(out + 208, d_bits);
    for (int j = 0; j < 16; j++) {
        int k = ax_ceil_steps(need[j], d, 127);
        while (k < 127 && (AX_FMUL(AX_FMUL(d, (float)k), 31.0f) < hi[j] ||
                           AX_FMUL(AX_FMUL(d, (float)k), -32.0f) > lo[j]))
            k++;
        scales[j] = (int8_t)k;
        const float step = AX_FMUL(d, (float)k);
        for (int i = 0; i < 16; i++) {
            const float v = x[16 * j + i];
            int q = 0;
            if (step > 0.0f && ax_f32_is_finite(step)) {
                q = (int)rintf(AX_FDIV(v, step));
                q = q < -32 ? -32 : q > 31 ? 31 : q;
                float best = fabsf(AX_FSUB(AX_FMUL(step, (float)q), v));
                for (int c = q - 1; c <= q + 1; c += 2) {
                    if (c < -32 || c > 31) continue;
                    const float err = fabsf(AX_FSUB(AX_FMUL(step, (float)c), v));
                    if (err < best) {
                        best = err;
                        q = c;
                    }
                }
            }
            const int level = q + 32, e = 16 * j + i, h = e / 128, r = e % 128;
            ql[64 * h + r % 64] = (uint8_t)(ql[64 * h + r % 64] | ((level & 0x0f) << (4 * (r / 64))));
            qh[32 * h + r % 32] = (uint8_t)(qh[32 * h + r % 32] | ((level >> 4) << (2 * (r / 32))));
        }
    }
}

AX_HD void ax_q6_k_decode(const uint8_t *in, float *y) {
    const float d = ax_get_f16(in + 208);
    const int8_t *scales = (const int8_t *)(in + 192);
    for (int j = 0; j < 16; j++) {
        const float step = AX_FMUL(d, (float)scales[j]);
        for (int i = 0; i < 16; i++) y[16 * j + i] = AX_FMUL(step, (float)(ax_q6_k_get_q(in, 16 * j + i) - 32));
    }
}

/* ---- by dtype ---- */

/* One block of `dtype` (ax_dt_block_elems values at x) into ax_dt_block_bytes bytes at out. */
AX_HD void ax_block_encode(ax_dtype dtype, const float *x, uint8_t *out) {
    switch (dtype) {
    case AX_Q4_0: ax_q4_0_encode(x, out); break;
    case AX_Q4_1: ax_q4_1_encode(x, out); break;
    case AX_Q8_0: ax_q8_0_encode(x, out); break;
    case AX_Q4_K: ax_q4_k_encode(x, out); break;
    case AX_Q6_K: ax_q6_k_encode(x, out); break;
    default: break;
    }
}

AX_HD void ax_block_decode(ax_dtype dtype, const uint8_t *in, float *y) {
    switch (dtype) {
    case AX_Q4_0: ax_q4_0_decode(in, y); break;
    case AX_Q4_1: ax_q4_1_decode(in, y); break;
    case AX_Q8_0: ax_q8_0_decode(in, y); break;
    case AX_Q4_K: ax_q4_k_decode(in, y); break;
    case AX_Q6_K: ax_q6_k_decode(in, y); break;
    default: break;
    }
}

#endif /* AXIAL_CORE_QUANT_BLOCKS_H */
