/*
 * quant.c — runs of whole blocks of the block-quantized dtypes to and from fp32 on the CPU, one
 * block at a time through quant_blocks.h (shared with the CUDA copy kernel).
 *
 * Compiled with -ffp-contract=off (CMakeLists.txt): GGML's reference and the `gguf` package round
 * every product and sum on its own, and a fused multiply-add would move values across the
 * quantizer's rounding thresholds.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "core/dtype_convert.h"
#include "core/quant_blocks.h"

void ax_quantize_blocks(ax_dtype dtype, const float *src, void *dst, int64_t nblocks) {
    const int64_t elems = ax_dt_block_elems(dtype), bytes = ax_dt_block_bytes(dtype);
    for (int64_t b = 0; b < nblocks; b++) ax_block_encode(dtype, src + b * elems, (uint8_t *)dst + b * bytes);
}

void ax_dequantize_blocks(ax_dtype dtype, const void *src, float *dst, int64_t nblocks) {
    const int64_t elems = ax_dt_block_elems(dtype), bytes = ax_dt_block_bytes(dtype);
    for (int64_t b = 0; b < nblocks; b++) ax_block_decode(dtype, (const uint8_t *)src + b * bytes, dst + b * elems);
}
