/*
 * tensor_copy_cuda.cu — the device half of ax_tensor_copy: one grid-stride kernel over pieces of
 * the plan's innermost run. A piece is one element when both dtypes are plain, else the larger
 * block size of the two (so blocks are never split). Conversions come from the same inline codecs
 * as the CPU (fp_codecs.h, dtype_traits.h, quant_blocks.h), whose arithmetic on the device uses
 * explicitly rounded intrinsics, so the bits match the CPU's. C ABI only; nothing here throws or
 * prints, and nothing synchronises the host.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <cuda_runtime.h>

#include "core/cuda/launch.cuh"
#include "core/quant_blocks.h"
#include "core/tensor_copy.h"

namespace {

struct copy_params {
    ax_copy_plan plan;
    const void *src;
    void *dst;
    ax_dtype src_dtype, dst_dtype;
    int64_t piece;          /* elements per piece: 1, or the larger block size */
    int64_t pieces_per_run; /* plan.shape[last] / piece */
    int64_t pieces;         /* in all */
};

__global__ void __launch_bounds__(256) tensor_copy_kernel(const copy_params p) {
    const int32_t last = p.plan.ndim - 1;
    const int64_t step = (int64_t)gridDim.x * blockDim.x;
    for (int64_t u = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; u < p.pieces; u += step) {
        int64_t row = u / p.pieces_per_run, so = 0, dof = 0;
        for (int32_t d = last - 1; d >= 0; d--) {
            const int64_t i = row % p.plan.shape[d];
            row /= p.plan.shape[d];
            so += i * p.plan.src_strides[d];
            dof += i * p.plan.dst_strides[d];
        }
        const int64_t start = u % p.pieces_per_run * p.piece;
        const int64_t ss = p.plan.src_strides[last], ds = p.plan.dst_strides[last];
        so += start * ss;
        dof += start * ds;
        if (p.piece == 1) {
            ax_elem_copy(p.src, so, p.src_dtype, p.dst, dof, p.dst_dtype);
            continue;
        }
        const uint8_t *src_bytes = (const uint8_t *)p.src;
        uint8_t *dst_bytes = (uint8_t *)p.dst;
        if (p.src_dtype == p.dst_dtype) { /* same block type: the bytes as they are */
            const int64_t bytes = ax_dt_offset_bytes(p.src_dtype, p.piece);
            const uint8_t *from = src_bytes + ax_dt_offset_bytes(p.src_dtype, so);
            uint8_t *to = dst_bytes + ax_dt_offset_bytes(p.dst_dtype, dof);
            for (int64_t b = 0; b < bytes; b++) to[b] = from[b];
            continue;
        }
        float values[AX_QK_K];
        if (ax_dt_is_block(p.src_dtype)) {
            const int64_t be = ax_dt_block_elems(p.src_dtype);
            for (int64_t k = 0; k < p.piece; k += be)
                ax_block_decode(p.src_dtype, src_bytes + ax_dt_offset_bytes(p.src_dtype, so + k), values + k);
        } else {
            for (int64_t i = 0; i < p.piece; i++) values[i] = ax_elem_load_f32(p.src, so + i * ss, p.src_dtype);
        }
        if (ax_dt_is_block(p.dst_dtype)) {
            const int64_t be = ax_dt_block_elems(p.dst_dtype);
            for (int64_t k = 0; k < p.piece; k += be)
                ax_block_encode(p.dst_dtype, values + k, dst_bytes + ax_dt_offset_bytes(p.dst_dtype, dof + k));
        } else {
            for (int64_t i = 0; i < p.piece; i++) ax_elem_store_f32(p.dst, dof + i * ds, p.dst_dtype, values[i]);
        }
    }
}

} // namespace

extern "C" ax_status ax_cuda_tensor_copy(ax_context *ctx, const ax_copy_plan *plan, const void *src,
                                         ax_dtype src_dtype, void *dst, ax_dtype dst_dtype) {
    copy_params p;
    p.plan = *plan;
    p.src = src;
    p.dst = dst;
    p.src_dtype = src_dtype;
    p.dst_dtype = dst_dtype;
    const int64_t bs = ax_dt_block_elems(src_dtype), bd = ax_dt_block_elems(dst_dtype);
    p.piece = bs > bd ? bs : bd; /* block sizes are 1, 32 or 256: the larger is a multiple of the other */
    const int64_t run = plan->shape[plan->ndim - 1];
    p.pieces_per_run = run / p.piece;
    int64_t rows = 1;
    for (int32_t d = 0; d + 1 < plan->ndim; d++) rows *= plan->shape[d];
    p.pieces = rows * p.pieces_per_run;
    if (p.pieces == 0) return AX_OK;

    /* Pieces of whole blocks keep 1 KiB of values per thread: smaller thread blocks for them. */
    const int threads = p.piece == 1 ? 256 : 64;
    const int64_t wanted = ceil_div(p.pieces, threads);
    const int64_t blocks = wanted < 65535 ? wanted : 65535; /* grid-stride past this */
    return ax_cuda_launch(tensor_copy_kernel, "ax_tensor_copy kernel", blocks, threads, 0,
                          (cudaStream_t)ctx->cuda_stream, p);
}
