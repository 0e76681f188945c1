/*
 * softmax.cu — the CUDA kernel of ax_softmax / ax_softmax_backward (softmax.c): one thread block
 * per row; the maximum, the sum of exponentials (accurate expf) and the backward's dot product are
 * block reductions in a fixed order (deterministic). Each thread writes only the elements it read,
 * after the reductions' barriers, so in place is safe.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <cuda_runtime.h>

#include "core/cuda/launch.cuh"
#include "core/cuda/reduce.cuh"
#include "core/dtype_traits.h"
#include "core/fp_rounded.h"
#include "nn/nn_params.h"

namespace {

constexpr int kThreads = 256;

__global__ void __launch_bounds__(kThreads) softmax_kernel(softmax_params p) {
    __shared__ float scratch[kThreads / 32];
    const int64_t r = blockIdx.x;
    const int64_t i0 = nn_row_offset(&p.layout, r, SOFTMAX_IN), o0 = nn_row_offset(&p.layout, r, SOFTMAX_OUT);
    if (p.backward) {
        const int64_t g0 = nn_row_offset(&p.layout, r, SOFTMAX_DOUT);
        float dot = 0.0f;
        for (int64_t j = threadIdx.x; j < p.N; j += kThreads)
            dot += ax_elem_load_f32(p.in, i0 + j, p.in_dtype) * ax_elem_load_f32(p.dout, g0 + j, p.dout_dtype);
        dot = block_sum<kThreads>(dot, scratch);
        for (int64_t j = threadIdx.x; j < p.N; j += kThreads) {
            const float y = ax_elem_load_f32(p.in, i0 + j, p.in_dtype),
                        g = ax_elem_load_f32(p.dout, g0 + j, p.dout_dtype);
            ax_elem_store_f32(p.out, o0 + j, p.out_dtype, p.scale * y * (g - dot));
        }
        return;
    }
    float m = -INFINITY, nan = 0.0f;
    for (int64_t j = threadIdx.x; j < p.N; j += kThreads) {
        /* The product rounded as in the exponent's argument below, where nvcc would otherwise fuse it
         * into the subtraction: the largest element's exp was then exp(rounding residual), not 1. */
        const float v = AX_FMUL(p.scale, ax_elem_load_f32(p.in, i0 + j, p.in_dtype));
        if (isnan(v)) nan = 1.0f;
        m = fmaxf(m, v);
    }
    m = block_max<kThreads>(m, scratch);
    __syncthreads();
    nan = block_max<kThreads>(nan, scratch);
    __syncthreads();
    float sum = 0.0f;
    if (m != -INFINITY)
        for (int64_t j = threadIdx.x; j < p.N; j += kThreads)
            sum += expf(AX_FMUL(p.scale, ax_elem_load_f32(p.in, i0 + j, p.in_dtype)) - m);
    const float inv = 1.0f / block_sum<kThreads>(sum, scratch);
    for (int64_t j = threadIdx.x; j < p.N; j += kThreads) {
        float y;
        if (nan != 0.0f) y = NAN;
        else if (m == -INFINITY) y = 0.0f; /* fully masked */
        else y = expf(AX_FMUL(p.scale, ax_elem_load_f32(p.in, i0 + j, p.in_dtype)) - m) * inv;
        ax_elem_store_f32(p.out, o0 + j, p.out_dtype, y);
    }
}

} /* namespace */

extern "C" ax_status softmax_cuda(const ax_op_call *call) {
    const softmax_params *p = static_cast<const softmax_params *>(call->params);
    return ax_cuda_launch(softmax_kernel, "softmax_kernel", p->rows, kThreads, 0,
                          static_cast<cudaStream_t>(call->ctx->cuda_stream), *p);
}
