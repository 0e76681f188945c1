/*
 * embedding.cu — the CUDA kernel of ax_embedding (embedding.c): one thread per (token, unit), a
 * unit being one element of a plain table or one block of a quantized one, decoded with the core's
 * block decoder (quant_blocks.h: the CPU's arithmetic, unfused on the device) and rounded once into
 * out. The host never reads the ids: a token whose id is outside [0, V) gets a row of zeros and its
 * table row is never addressed.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <cuda_runtime.h>

#include "core/cuda/launch.cuh"
#include "core/dtype_traits.h"
#include "core/quant_blocks.h"
#include "nn/nn_params.h"

namespace {

constexpr int kThreads = 128;

__global__ void __launch_bounds__(kThreads) embedding_kernel(embedding_params p) {
    const int64_t be = ax_dt_block_elems(p.table_dtype), units = p.D / be;
    const int64_t item = (int64_t)blockIdx.x * kThreads + threadIdx.x;
    if (item >= p.T * units) return;
    const int64_t t = item / units, u = item % units;
    const int64_t id = p.ids_dtype == AX_I64 ? ((const int64_t *)p.ids)[t * p.ids_stride]
                                             : (int64_t)((const int32_t *)p.ids)[t * p.ids_stride];
    const int64_t o0 = t * p.out_row_stride + u * be;
    if (id < 0 || id >= p.V) {
        for (int64_t k = 0; k < be; k++) ax_elem_store_f32(p.out, o0 + k, p.out_dtype, 0.0f);
        return;
    }
    const int64_t e0 = id * p.table_row_stride + u * be;
    if (be == 1) { /* bits copied when the dtypes match (a signalling NaN stays one), else one rounding */
        ax_elem_copy(p.table, e0, p.table_dtype, p.out, o0, p.out_dtype);
        return;
    }
    float values[AX_QK_K];
    ax_block_decode(p.table_dtype, (const uint8_t *)p.table + ax_dt_offset_bytes(p.table_dtype, e0), values);
    for (int64_t k = 0; k < be; k++) ax_elem_store_f32(p.out, o0 + k, p.out_dtype, values[k]);
}

} /* namespace */

extern "C" ax_status embedding_cuda(const ax_op_call *call) {
    const embedding_params *p = static_cast<const embedding_params *>(call->params);
    const int64_t units = p->D / ax_dt_block_elems(p->table_dtype);
    return ax_cuda_launch(embedding_kernel, "embedding_kernel", ceil_div(p->T * units, kThreads), kThreads, 0,
                          static_cast<cudaStream_t>(call->ctx->cuda_stream), *p);
}
