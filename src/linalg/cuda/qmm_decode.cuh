/*
 * qmm_decode.cuh — the device decoder of a 32-element piece of a weight row in any of ax_qmatmul's
 * dtypes (block-quantized, f16, bf16, f32), with the same per-element arithmetic as the library's
 * dequantization (core/quant_blocks.h). Shared by ax_qmatmul's kernels (qmatmul.cu) and
 * ax_moe_grouped_gemm's (src/moe/cuda/grouped_gemm.cu). C++, included by .cu files only; internal
 * to the including file.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_LINALG_CUDA_QMM_DECODE_CUH
#define AXIAL_LINALG_CUDA_QMM_DECODE_CUH

#include <stdint.h>

#include "core/dtype_traits.h"
#include "core/quant_blocks.h"

namespace {

/* Elements [32 c, 32 c + 32) of row `row` of w (bytes), as fp32; past K (plain dtypes) zeros. */
__device__ __forceinline__ void decode_piece(ax_dtype dt, const uint8_t *row, int64_t c, int64_t K, float v[32]) {
    switch (dt) {
    case AX_Q4_0: ax_q4_0_decode(row + c * 18, v); return;
    case AX_Q4_1: ax_q4_1_decode(row + c * 20, v); return;
    case AX_Q8_0: ax_q8_0_decode(row + c * 34, v); return;
    case AX_Q4_K: {
        const uint8_t *blk = row + (c / 8) * 144;
        const int j = (int)(c % 8);
        const float d = ax_get_f16(blk), dmin = ax_get_f16(blk + 2);
        int sc, mn;
        ax_q4_k_get_scale_min(blk + 4, j, &sc, &mn);
        const float step = AX_FMUL(d, (float)sc), m = AX_FMUL(dmin, (float)mn);
        const uint8_t *qs = blk + 16 + 32 * (j / 2);
        const int shift = 4 * (j % 2);
#pragma unroll
        for (int i = 0; i < 32; i++) v[i] = AX_FSUB(AX_FMUL(step, (float)((qs[i] >> shift) & 0x0f)), m);
        return;
    }
    case AX_Q6_K: {
        const uint8_t *blk = row + (c / 8) * 210;
        const int j = (int)(c % 8);
        const float d = ax_get_f16(blk + 208);
        const int8_t *scales = reinterpret_cast<const int8_t *>(blk + 192);
        const float s0 = AX_FMUL(d, (float)scales[2 * j]), s1 = AX_FMUL(d, (float)scales[2 * j + 1]);
#pragma unroll
        for (int i = 0; i < 32; i++) v[i] = AX_FMUL(i < 16 ? s0 : s1, (float)(ax_q6_k_get_q(blk, 32 * j + i) - 32));
        return;
    }
    default: {
        const int64_t k0 = 32 * c;
#pragma unroll
        for (int i = 0; i < 32; i++) v[i] = k0 + i < K ? ax_elem_load_f32(row, k0 + i, dt) : 0.0f;
        return;
    }
    }
}

} /* namespace */

#endif /* AXIAL_LINALG_CUDA_QMM_DECODE_CUH */
