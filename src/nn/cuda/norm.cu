/*
 * norm.cu — the CUDA kernels of RMSNorm and LayerNorm (norm.c). Forward: one thread block per row;
 * each thread works on a strided share of the row, and every statistic is a block reduction in a
 * fixed order (deterministic). Backward: one block per chunk of rows (the chunks norm.c fixed from
 * the shape), which walks its rows in order, writes dx and adds each row's dweight / dbias terms
 * into the chunk's partial row in the device workspace (each column owned by one thread); a second
 * kernel sums the partials in chunk order.
 *
 * In place (out = x, residual_out = residual, dx = dout) is safe: a thread only ever writes the
 * elements of its own share, after reading them, and every thread has read its share for the
 * statistics before the block reduction's barrier.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <cuda_runtime.h>

#include "core/cuda/launch.cuh"
#include "core/cuda/reduce.cuh"
#include "core/dtype_traits.h"
#include "nn/nn_params.h"

namespace {

constexpr int kThreads = 256;

/* The backward kernels' one argument (ax_cuda_launch passes one struct): the params and the
 * workspace's two partial arrays, chunks x D floats each. */
struct norm_backward_args {
    norm_backward_params p;
    float *dw_part, *db_part;
};

__device__ __forceinline__ float norm_input(const norm_params &p, int64_t x0, int64_t r0, int64_t j) {
    float v = ax_elem_load_f32(p.x, x0 + j, p.x_dtype);
    if (p.residual != nullptr) v += ax_elem_load_f32(p.residual, r0 + j, p.residual_dtype);
    return v;
}

__global__ void __launch_bounds__(kThreads) norm_forward_kernel(norm_params p) {
    __shared__ float scratch[kThreads / 32];
    const int64_t r = blockIdx.x;
    const int64_t x0 = nn_row_offset(&p.layout, r, NORM_X), r0 = nn_row_offset(&p.layout, r, NORM_RESIDUAL);
    float mean = 0.0f;
    if (p.layer) {
        float s = 0.0f;
        for (int64_t j = threadIdx.x; j < p.D; j += kThreads) s += norm_input(p, x0, r0, j);
        mean = block_sum<kThreads>(s, scratch) / (float)p.D;
        __syncthreads();
    }
    float q = 0.0f;
    for (int64_t j = threadIdx.x; j < p.D; j += kThreads) {
        const float d = norm_input(p, x0, r0, j) - mean;
        q += d * d;
    }
    const float rstd = 1.0f / sqrtf(block_sum<kThreads>(q, scratch) / (float)p.D + p.eps);
    if (threadIdx.x == 0) {
        if (p.mean != nullptr) p.mean[nn_row_offset(&p.layout, r, NORM_MEAN)] = mean;
        if (p.rstd != nullptr) p.rstd[nn_row_offset(&p.layout, r, NORM_RSTD)] = rstd;
    }
    const int64_t o0 = nn_row_offset(&p.layout, r, NORM_OUT), ro0 = nn_row_offset(&p.layout, r, NORM_RESIDUAL_OUT);
    for (int64_t j = threadIdx.x; j < p.D; j += kThreads) {
        const float v = norm_input(p, x0, r0, j);
        if (p.residual_out != nullptr) ax_elem_store_f32(p.residual_out, ro0 + j, p.residual_out_dtype, v);
        const float w = p.weight != nullptr ? ax_elem_load_f32(p.weight, j, p.weight_dtype) : 1.0f;
        float y = (v - mean) * rstd * w;
        if (p.bias != nullptr) y += ax_elem_load_f32(p.bias, j, p.bias_dtype);
        ax_elem_store_f32(p.out, o0 + j, p.out_dtype, y);
    }
}

__global__ void __launch_bounds__(kThreads) norm_backward_rows_kernel(norm_backward_args a) {
    __shared__ float scratch[kThreads / 32];
    const norm_backward_params &p = a.p;
    const int64_t c = blockIdx.x;
    float *dw = a.dw_part + c * p.D, *db = a.db_part + c * p.D;
    for (int64_t j = threadIdx.x; j < p.D; j += kThreads) dw[j] = db[j] = 0.0f;
    const int64_t r_end = (c + 1) * p.chunk_rows < p.rows ? (c + 1) * p.chunk_rows : p.rows;
    for (int64_t r = c * p.chunk_rows; r < r_end; r++) {
        const int64_t x0 = nn_row_offset(&p.layout, r, NORM_BWD_X), g0 = nn_row_offset(&p.layout, r, NORM_BWD_DOUT);
        float mean = 0.0f;
        if (p.layer) {
            float s = 0.0f;
            for (int64_t j = threadIdx.x; j < p.D; j += kThreads) s += ax_elem_load_f32(p.x, x0 + j, p.x_dtype);
            mean = block_sum<kThreads>(s, scratch) / (float)p.D;
            __syncthreads();
        }
        float q = 0.0f;
        for (int64_t j = threadIdx.x; j < p.D; j += kThreads) {
            const float d = ax_elem_load_f32(p.x, x0 + j, p.x_dtype) - mean;
            q += d * d;
        }
        const float rstd = 1.0f / sqrtf(block_sum<kThreads>(q, scratch) / (float)p.D + p.eps);
        __syncthreads();
        float s1 = 0.0f, s2 = 0.0f;
        for (int64_t j = threadIdx.x; j < p.D; j += kThreads) {
            const float xh = (ax_elem_load_f32(p.x, x0 + j, p.x_dtype) - mean) * rstd;
            const float g = ax_elem_load_f32(p.dout, g0 + j, p.dout_dtype);
            const float wg = g * (p.weight != nullptr ? ax_elem_load_f32(p.weight, j, p.weight_dtype) : 1.0f);
            dw[j] += g * xh;
            db[j] += g;
            s1 += wg * xh;
            s2 += wg;
        }
        const float c1 = block_sum<kThreads>(s1, scratch) / (float)p.D;
        __syncthreads();
        const float c2 = p.layer ? block_sum<kThreads>(s2, scratch) / (float)p.D : 0.0f;
        __syncthreads();
        const int64_t dx0 = nn_row_offset(&p.layout, r, NORM_BWD_DX);
        for (int64_t j = threadIdx.x; j < p.D; j += kThreads) {
            const float xh = (ax_elem_load_f32(p.x, x0 + j, p.x_dtype) - mean) * rstd;
            const float g = ax_elem_load_f32(p.dout, g0 + j, p.dout_dtype);
            const float wg = g * (p.weight != nullptr ? ax_elem_load_f32(p.weight, j, p.weight_dtype) : 1.0f);
            ax_elem_store_f32(p.dx, dx0 + j, p.dx_dtype, rstd * (wg - c2 - xh * c1));
        }
    }
}

__global__ void __launch_bounds__(kThreads) norm_backward_reduce_kernel(norm_backward_args a) {
    const norm_backward_params &p = a.p;
    const float *dw_part = a.dw_part, *db_part = a.db_part;
    const int64_t j = (int64_t)blockIdx.x * kThreads + threadIdx.x;
    if (j >= p.D) return;
    float sw = 0.0f, sb = 0.0f;
    for (int64_t c = 0; c < p.chunks; c++) {
        sw += dw_part[c * p.D + j];
        sb += db_part[c * p.D + j];
    }
    if (p.dweight != nullptr) ax_elem_store_f32(p.dweight, j, p.dweight_dtype, sw);
    if (p.dbias != nullptr) ax_elem_store_f32(p.dbias, j, p.dbias_dtype, sb);
}

} /* namespace */

extern "C" ax_status norm_forward_cuda(const ax_op_call *call) {
    const norm_params *p = static_cast<const norm_params *>(call->params);
    return ax_cuda_launch(norm_forward_kernel, "norm_forward_kernel", p->rows, kThreads, 0,
                          static_cast<cudaStream_t>(call->ctx->cuda_stream), *p);
}

extern "C" ax_status norm_backward_cuda(const ax_op_call *call) {
    const norm_backward_params *p = static_cast<const norm_backward_params *>(call->params);
    const cudaStream_t stream = static_cast<cudaStream_t>(call->ctx->cuda_stream);
    norm_backward_args a;
    a.p = *p;
    a.dw_part = static_cast<float *>(call->device_ws);
    a.db_part = a.dw_part + p->chunks * p->D;
    if (p->chunks > 0)
        AX_CHECK(
            ax_cuda_launch(norm_backward_rows_kernel, "norm_backward_rows_kernel", p->chunks, kThreads, 0, stream, a));
    if (p->dweight == nullptr && p->dbias == nullptr) return AX_OK;
    return ax_cuda_launch(norm_backward_reduce_kernel, "norm_backward_reduce_kernel", ceil_div(p->D, kThreads),
                          kThreads, 0, stream, a);
}
