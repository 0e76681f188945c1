/*
 * dtype_traits.h — block geometry of every dtype and single-element loads and stores of the plain
 * float dtypes, as inline functions for the host (C11) and CUDA devices (nvcc), so the public dtype
 * functions, the CPU copy and the CUDA copy kernel read one table.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_CORE_DTYPE_TRAITS_H
#define AXIAL_CORE_DTYPE_TRAITS_H

#include "axial/axial.h"
#include "core/fp_codecs.h"

/* Elements per block: 1 for the plain types, 0 outside the enum. */
AX_HD int64_t ax_dt_block_elems(ax_dtype dtype) {
    switch (dtype) {
    case AX_Q4_0:
    case AX_Q4_1:
    case AX_Q8_0: return 32;
    case AX_Q4_K:
    case AX_Q6_K: return 256;
    case AX_F32:
    case AX_F16:
    case AX_BF16:
    case AX_F64:
    case AX_I32:
    case AX_I64:
    case AX_U8:
    case AX_I8:
    case AX_F8_E4M3FN:
    case AX_F8_E5M2: return 1;
    }
    return 0;
}

/* Bytes per block (the element size for plain types), 0 outside the enum. */
AX_HD int64_t ax_dt_block_bytes(ax_dtype dtype) {
    switch (dtype) {
    case AX_F32: return 4;
    case AX_F16: return 2;
    case AX_BF16: return 2;
    case AX_F64: return 8;
    case AX_I32: return 4;
    case AX_I64: return 8;
    case AX_U8: return 1;
    case AX_I8: return 1;
    case AX_F8_E4M3FN: return 1;
    case AX_F8_E5M2: return 1;
    case AX_Q4_0: return 18;
    case AX_Q4_1: return 20;
    case AX_Q8_0: return 34;
    case AX_Q4_K: return 144;
    case AX_Q6_K: return 210;
    }
    return 0;
}

AX_HD int ax_dt_is_block(ax_dtype dtype) { return ax_dt_block_elems(dtype) > 1; }

/* Byte offset of the block that holds element offset `elem` (any sign): floor(elem / B) blocks. */
AX_HD int64_t ax_dt_offset_bytes(ax_dtype dtype, int64_t elem) {
    const int64_t b = ax_dt_block_elems(dtype), bytes = ax_dt_block_bytes(dtype);
    if (b == 1) return elem * bytes;
    const int64_t block = elem >= 0 ? elem / b : -((-elem + b - 1) / b);
    return block * bytes;
}

/* ---- single elements of the plain float types (f32, f16, bf16, f64, fp8) ---- */

/* Exact: a double holds every value of these types. */
AX_HD double ax_elem_load_f64(const void *base, int64_t i, ax_dtype dtype) {
    switch (dtype) {
    case AX_F32: return ((const float *)base)[i];
    case AX_F16: return ax_cvt_f16_to_f32(((const uint16_t *)base)[i]);
    case AX_BF16: return ax_cvt_bf16_to_f32(((const uint16_t *)base)[i]);
    case AX_F64: return ((const double *)base)[i];
    case AX_F8_E4M3FN: return ax_cvt_fp8_to_f32(((const uint8_t *)base)[i], ax_fp8_e4m3fn());
    case AX_F8_E5M2: return ax_cvt_fp8_to_f32(((const uint8_t *)base)[i], ax_fp8_e5m2());
    default: return 0.0;
    }
}

/* Exact for all but f64, which rounds to nearest even. */
AX_HD float ax_elem_load_f32(const void *base, int64_t i, ax_dtype dtype) {
    switch (dtype) {
    /* The codecs' own results, not through double: that round trip quiets a signalling NaN, which
     * the contiguous (vector) paths keep, so strided copies had given other bits. */
    case AX_F16: return ax_cvt_f16_to_f32(((const uint16_t *)base)[i]);
    case AX_BF16: return ax_cvt_bf16_to_f32(((const uint16_t *)base)[i]);
    case AX_F8_E4M3FN: return ax_cvt_fp8_to_f32(((const uint8_t *)base)[i], ax_fp8_e4m3fn());
    case AX_F8_E5M2: return ax_cvt_fp8_to_f32(((const uint8_t *)base)[i], ax_fp8_e5m2());
    case AX_F32: return ((const float *)base)[i]; /* not through double (1/64-rate FP64 on many GPUs) */
    case AX_F64: return (float)((const double *)base)[i];
    default: return (float)ax_elem_load_f64(base, i, dtype);
    }
}

/* One rounding to nearest even. */
AX_HD void ax_elem_store_f32(void *base, int64_t i, ax_dtype dtype, float x) {
    switch (dtype) {
    case AX_F32: ((float *)base)[i] = x; break;
    case AX_F16: ((uint16_t *)base)[i] = ax_cvt_f32_to_f16(x); break;
    case AX_BF16: ((uint16_t *)base)[i] = ax_cvt_f32_to_bf16(x); break;
    case AX_F64: ((double *)base)[i] = x; break;
    case AX_F8_E4M3FN: ((uint8_t *)base)[i] = ax_cvt_f32_to_fp8(x, ax_fp8_e4m3fn()); break;
    case AX_F8_E5M2: ((uint8_t *)base)[i] = ax_cvt_f32_to_fp8(x, ax_fp8_e5m2()); break;
    default: break;
    }
}

/* One rounding to nearest even: the narrow types go through round-to-odd fp32, which cannot round
 * twice wrongly. */
AX_HD void ax_elem_store_f64(void *base, int64_t i, ax_dtype dtype, double x) {
    switch (dtype) {
    case AX_F32: ((float *)base)[i] = (float)x; break;
    case AX_F64: ((double *)base)[i] = x; break;
    default: ax_elem_store_f32(base, i, dtype, ax_f64_to_f32_round_to_odd(x)); break;
    }
}

/* dst[di] = src[si] between plain types: bit for bit when the dtypes are equal (integers too), else
 * rounded once. */
AX_HD void ax_elem_copy(const void *src, int64_t si, ax_dtype st, void *dst, int64_t di, ax_dtype dt) {
    if (st == dt) {
        switch (ax_dt_block_bytes(st)) {
        case 1: ((uint8_t *)dst)[di] = ((const uint8_t *)src)[si]; return;
        case 2: ((uint16_t *)dst)[di] = ((const uint16_t *)src)[si]; return;
        case 4: ((uint32_t *)dst)[di] = ((const uint32_t *)src)[si]; return;
        default: ((uint64_t *)dst)[di] = ((const uint64_t *)src)[si]; return;
        }
    }
    if (st == AX_F32) ax_elem_store_f32(dst, di, dt, ((const float *)src)[si]);
    else if (dt == AX_F32 && st != AX_F64) ((float *)dst)[di] = ax_elem_load_f32(src, si, st); /* exact widening */
    else ax_elem_store_f64(dst, di, dt, ax_elem_load_f64(src, si, st));
}

#endif /* AXIAL_CORE_DTYPE_TRAITS_H */
