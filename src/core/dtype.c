/*
 * dtype.c — dtype sizes, block geometry and names, and the public scalar conversions (fp32 <->
 * bf16, fp16, fp8), whose bodies live in fp_codecs.h so the CUDA kernels share them.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "core/dtype_convert.h"
#include "core/dtype_traits.h"
#include "core/internal.h"

int64_t ax_dtype_block_elems(ax_dtype dtype) { return ax_dt_block_elems(dtype); }

int64_t ax_dtype_block_bytes(ax_dtype dtype) { return ax_dt_block_bytes(dtype); }

size_t ax_dtype_size(ax_dtype dtype) {
    return ax_dtype_block_elems(dtype) == 1 ? (size_t)ax_dtype_block_bytes(dtype) : 0;
}

int64_t ax_dtype_bytes(ax_dtype dtype, int64_t count) {
    const int64_t elems = ax_dtype_block_elems(dtype), bytes = ax_dtype_block_bytes(dtype);
    if (elems == 0 || count < 0 || count % elems != 0) return -1;
    if (count / elems > INT64_MAX / bytes) return -1;
    return count / elems * bytes;
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
    case AX_F8_E4M3FN: return "f8_e4m3fn";
    case AX_F8_E5M2: return "f8_e5m2";
    case AX_Q4_0: return "q4_0";
    case AX_Q4_1: return "q4_1";
    case AX_Q8_0: return "q8_0";
    case AX_Q4_K: return "q4_k";
    case AX_Q6_K: return "q6_k";
    }
    return "unknown";
}

int ax_dtype_is_block(ax_dtype dtype) { return ax_dt_is_block(dtype); }

int ax_dtype_is_convertible(ax_dtype dtype) {
    switch (dtype) {
    case AX_F32:
    case AX_F16:
    case AX_BF16:
    case AX_F64:
    case AX_F8_E4M3FN:
    case AX_F8_E5M2:
    case AX_Q4_0:
    case AX_Q4_1:
    case AX_Q8_0:
    case AX_Q4_K:
    case AX_Q6_K: return 1;
    case AX_I32:
    case AX_I64:
    case AX_U8:
    case AX_I8: return 0;
    }
    return 0;
}

int64_t ax_dtype_offset_bytes(ax_dtype dtype, int64_t elem_offset) { return ax_dt_offset_bytes(dtype, elem_offset); }

/* ---- scalar conversions ---- */

uint16_t ax_f32_to_bf16(float value) { return ax_cvt_f32_to_bf16(value); }
float ax_bf16_to_f32(uint16_t bits) { return ax_cvt_bf16_to_f32(bits); }
uint16_t ax_f32_to_f16(float value) { return ax_cvt_f32_to_f16(value); }
float ax_f16_to_f32(uint16_t bits) { return ax_cvt_f16_to_f32(bits); }

uint8_t ax_f32_to_f8_e4m3fn(float value) { return ax_cvt_f32_to_fp8(value, ax_fp8_e4m3fn()); }
float ax_f8_e4m3fn_to_f32(uint8_t bits) { return ax_cvt_fp8_to_f32(bits, ax_fp8_e4m3fn()); }
uint8_t ax_f32_to_f8_e5m2(float value) { return ax_cvt_f32_to_fp8(value, ax_fp8_e5m2()); }
float ax_f8_e5m2_to_f32(uint8_t bits) { return ax_cvt_fp8_to_f32(bits, ax_fp8_e5m2()); }

uint16_t ax_f64_to_f16(double x) { return ax_cvt_f32_to_f16(ax_f64_to_f32_round_to_odd(x)); }
uint16_t ax_f64_to_bf16(double x) { return ax_cvt_f32_to_bf16(ax_f64_to_f32_round_to_odd(x)); }
