/*
 * rms_norm.cu — the CUDA kernel of ax_rms_norm: one thread block per row; each thread sums the
 * squares of a strided share of the row, the block reduces them in a fixed order (deterministic),
 * then each thread scales its share.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "core/cuda/convert.cuh"
#include "core/cuda/launch.cuh"
#include "core/cuda/reduce.cuh"
#include "nn/nn_params.h"

namespace {

constexpr int kThreads = 256;

template <typename T>
__device__ __forceinline__ float load_as(const void *base, int64_t i) {
    return to_f32(static_cast<const T *>(base)[i]);
}

__device__ __forceinline__ float load_any(const void *base, ax_dtype dt, int64_t i) {
    switch (dt) {
    case AX_BF16: return load_as<__nv_bfloat16>(base, i);
    case AX_F16: return load_as<__half>(base, i);
    default: return load_as<float>(base, i);
    }
}

__device__ __forceinline__ void store_any(void *base, ax_dtype dt, int64_t i, float v) {
    switch (dt) {
    case AX_BF16: static_cast<__nv_bfloat16 *>(base)[i] = from_f32<__nv_bfloat16>(v); break;
    case AX_F16: static_cast<__half *>(base)[i] = from_f32<__half>(v); break;
    default: static_cast<float *>(base)[i] = v; break;
    }
}

__global__ void __launch_bounds__(kThreads) rms_norm_kernel(rms_norm_params p) {
    __shared__ float scratch[kThreads / 32];
    const int64_t r = blockIdx.x;
    const size_t x_size = p.x_dtype == AX_F32 ? 4 : 2, out_size = p.out_dtype == AX_F32 ? 4 : 2;
    const char *x = static_cast<const char *>(p.x) + nn_row_offset(&p.layout, r, 0) * (int64_t)x_size;
    char *out = static_cast<char *>(p.out) + nn_row_offset(&p.layout, r, 1) * (int64_t)out_size;
    float sum = 0.0f;
    for (int64_t j = threadIdx.x; j < p.D; j += kThreads) {
        const float v = load_any(x, p.x_dtype, j);
        sum += v * v;
    }
    sum = block_sum<kThreads>(sum, scratch);
    const float inv = 1.0f / sqrtf(sum / (float)p.D + p.eps);
    /* In place (out == x) is safe: each thread reads its own elements again before writing them,
     * and every thread has read its share for the sum before the block reduction's barrier. */
    for (int64_t j = threadIdx.x; j < p.D; j += kThreads) {
        const float w = p.weight != nullptr ? load_any(p.weight, p.weight_dtype, j) : 1.0f;
        store_any(out, p.out_dtype, j, load_any(x, p.x_dtype, j) * inv * w);
    }
}

} /* namespace */

extern "C" ax_status rms_norm_cuda(const ax_op_call *call) {
    const rms_norm_params *p = static_cast<const rms_norm_params *>(call->params);
    return ax_cuda_launch(rms_norm_kernel, "rms_norm_kernel", p->rows, kThreads, 0,
                          static_cast<cudaStream_t>(call->ctx->cuda_stream), *p);
}
