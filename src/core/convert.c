/*
 * convert.c — ax_convert: contiguous conversion between every float and block-quantized dtype, and
 * the element loads and stores the strided copy (tensor_copy.c) builds on.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "core/dtype_convert.h"
#include "core/dtype_traits.h"
#include "core/internal.h"

/* The array kernels: one table per CPU path (cpu/convert_rows.inc), chosen by the active path. */
const ax_convert_kernels *ax_convert_kernels_active(void) {
#if AXIAL_HAVE_X86_KERNELS
    switch (ax_cpu_path_resolved()) {
    case AX_CPU_PATH_AVX512: return &ax_convert_kernels_avx512;
    case AX_CPU_PATH_AVX2: return &ax_convert_kernels_avx2;
    default: break;
    }
#endif
    return &ax_convert_kernels_portable;
}

/* ---- contiguous runs ---- */

/* Between two different plain float types. */
static void convert_plain(const void *src, ax_dtype st, void *dst, ax_dtype dt, int64_t n) {
    const ax_convert_kernels *k = ax_convert_kernels_active();
    if (st == AX_F32 && dt == AX_BF16) {
        k->f32_to_bf16(src, dst, n);
    } else if (st == AX_BF16 && dt == AX_F32) {
        k->bf16_to_f32(src, dst, n);
    } else if (st == AX_F32 && dt == AX_F16) {
        k->f32_to_f16(src, dst, n);
    } else if (st == AX_F16 && dt == AX_F32) {
        k->f16_to_f32(src, dst, n);
    } else if (st == AX_F32) {
        for (int64_t i = 0; i < n; i++) ax_elem_store_f32(dst, i, dt, ((const float *)src)[i]);
    } else if (dt == AX_F32 && st != AX_F64) {
        for (int64_t i = 0; i < n; i++) ((float *)dst)[i] = ax_elem_load_f32(src, i, st);
    } else {
        /* Through a double, which holds every source value exactly, then one rounding to the
         * destination (f64 -> a narrow type goes through round-to-odd fp32, see ax_store_f64). */
        for (int64_t i = 0; i < n; i++) ax_elem_store_f64(dst, i, dt, ax_elem_load_f64(src, i, st));
    }
}

/* Elements per step when a block type is involved: a whole number of every block size. */
#define CHUNK_ELEMS 1024

void ax_convert_run(const void *src, ax_dtype st, void *dst, ax_dtype dt, int64_t n) {
    if (n <= 0) return;
    if (st == dt) {
        memcpy(dst, src, (size_t)ax_dtype_bytes(st, n));
        return;
    }
    const int src_block = ax_dtype_is_block(st), dst_block = ax_dtype_is_block(dt);
    if (!src_block && !dst_block) {
        convert_plain(src, st, dst, dt, n);
        return;
    }
    /* Through fp32, a chunk at a time: block -> fp32 is how the values are defined, and quantizing
     * starts from fp32. */
    float buf[CHUNK_ELEMS];
    for (int64_t off = 0; off < n; off += CHUNK_ELEMS) {
        const int64_t len = n - off < CHUNK_ELEMS ? n - off : CHUNK_ELEMS;
        const char *s = (const char *)src + ax_dtype_offset_bytes(st, off);
        char *d = (char *)dst + ax_dtype_offset_bytes(dt, off);
        const float *values = buf;
        if (st == AX_F32) values = (const float *)s;
        else if (src_block && dt == AX_F32) {
            ax_dequantize_blocks(st, s, (float *)d, len / ax_dtype_block_elems(st));
            continue;
        } else if (src_block) ax_dequantize_blocks(st, s, buf, len / ax_dtype_block_elems(st));
        else convert_plain(s, st, buf, AX_F32, len);
        if (dst_block) ax_quantize_blocks(dt, values, d, len / ax_dtype_block_elems(dt));
        else convert_plain(values, AX_F32, d, dt, len);
    }
}

ax_status ax_convert(const void *src, ax_dtype src_dtype, void *dst, ax_dtype dst_dtype, int64_t count) {
    if (count < 0) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "count: must be >= 0, got %lld", (long long)count);
    if (!ax_dtype_is_convertible(src_dtype))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                            "src_dtype: %s (%d) is not a float or block-quantized dtype", ax_dtype_name(src_dtype),
                            (int)src_dtype);
    if (!ax_dtype_is_convertible(dst_dtype))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                            "dst_dtype: %s (%d) is not a float or block-quantized dtype", ax_dtype_name(dst_dtype),
                            (int)dst_dtype);
    if (count % ax_dtype_block_elems(src_dtype) != 0)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "count: %lld is not a whole number of %s blocks (%lld elements)",
                            (long long)count, ax_dtype_name(src_dtype), (long long)ax_dtype_block_elems(src_dtype));
    if (count % ax_dtype_block_elems(dst_dtype) != 0)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "count: %lld is not a whole number of %s blocks (%lld elements)",
                            (long long)count, ax_dtype_name(dst_dtype), (long long)ax_dtype_block_elems(dst_dtype));
    if (count == 0) return AX_OK;
    if (src == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "src: NULL with count %lld", (long long)count);
    if (dst == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "dst: NULL with count %lld", (long long)count);
    ax_convert_run(src, src_dtype, dst, dst_dtype, count);
    return AX_OK;
}
