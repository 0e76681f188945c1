/*
 * rms_norm.cu — the CUDA kernel of ax_rms_norm: one thread block per row; each thread sums the
 * squares of a strided share of the row, the block reduces them in a fixed order (deterministic),
 * then each thread scales its share.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <cuda_runtime.h>

#include "core/dtype_traits.h"
#include "core/cuda/launch.cuh"
#include "core/cuda/reduce.cuh"
#include "nn/nn_params.h"

namespace {

constexpr int kThreads = 256;

__global__ void __launch_bounds__(kThreads) rms_norm_kernel(rms_norm_params p) {
    __shared__ float scratch[kThreads / 32];
    const int64_t r = blockIdx.x;
    const int64_t x0 = nn_row_offset(&p.layout, r, 0), out0 = nn_row_offset(&p.layout, r, 1);
    float sum = 0.0f;
    for (int64_t j = threadIdx.x; j < p.D; j += kThreads) {
        const float v = ax_elem_load_f32(p.x, x0 + j, p.x_dtype);
        sum += v * v;
    }
    sum = block_sum<kThreads>(sum, scratch);
    const float inv = 1.0f / sqrtf(sum / (float)p.D + p.eps);
    /* In place (out == x) is safe: each thread reads its own elements again before writing them,
     * and every thread has read its share for the sum before the block reduction's barrier. */
    for (int64_t j = threadIdx.x; j < p.D; j += kThreads) {
        const float w = p.weight != nullptr ? ax_elem_load_f32(p.weight, j, p.weight_dtype) : 1.0f;
        ax_elem_store_f32(p.out, out0 + j, p.out_dtype, ax_elem_load_f32(p.x, x0 + j, p.x_dtype) * inv * w);
    }
}

} /* namespace */

extern "C" ax_status rms_norm_cuda(const ax_op_call *call) {
    const rms_norm_params *p = static_cast<const rms_norm_params *>(call->params);
    return ax_cuda_launch(rms_norm_kernel, "rms_norm_kernel", p->rows, kThreads, 0,
                          static_cast<cudaStream_t>(call->ctx->cuda_stream), *p);
}
