/*
 * dispatch.cu — the CUDA kernels of ax_moe_dispatch (dispatch.c), ax_moe_combine and
 * ax_moe_combine_backward (combine.c). No host synchronisation; the host never reads the indices:
 * an expert id outside [-1, E) or a row outside [-1, R) is a skipped choice.
 *
 * Dispatch is a stable counting sort of the (T, k) choices in (t, j) order, deterministic without
 * atomics: the choices are cut into chunks of MOE_DISPATCH_CHUNK;
 *   chunk  one block per chunk: each choice's rank among the chunk's earlier choices of its expert,
 *          and per (chunk, expert) the count (written by the expert's last choice in the chunk)
 *   scan   one block: per expert the exclusive prefix over chunks (the chunk's first row in the
 *          segment) and the count; then the offsets (segments rounded up to align) and counts
 *   rows   one block per chunk: row = offsets[e] + chunk base + rank
 *   copy   one block per token: its rows into x_sorted;  pad  one block per expert: zero padding
 * Combine: one block per token, fp32 sums in increasing j. Backward: every row of dy_sorted zeroed,
 * then one block per token writes its rows and reduces dweights (fixed-order block sums).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <cuda_runtime.h>
#include <stdint.h>

#include "core/cuda/check.cuh"
#include "core/cuda/launch.cuh"
#include "core/cuda/reduce.cuh"
#include "core/dtype_traits.h"
#include "moe/moe_params.h"

namespace {

constexpr int kChunk = MOE_DISPATCH_CHUNK;
constexpr int kRowThreads = 128;

struct DispatchArgs {
    moe_dispatch_params p;
    int64_t *hist;   /* (chunks, E): counts, then (after scan) the chunk's first row in the segment */
    int32_t *rank;   /* (T * k) */
    int64_t *count;  /* (E) */
    int64_t chunks;
};

__global__ void __launch_bounds__(kChunk) dispatch_chunk_kernel(DispatchArgs a) {
    const moe_dispatch_params &p = a.p;
    __shared__ int32_t ids[kChunk];
    const int64_t n = p.T * p.k, i = (int64_t)blockIdx.x * kChunk + threadIdx.x;
    const int64_t e = i < n ? moe_dispatch_id(&p, i / p.k, i % p.k) : -1;
    ids[threadIdx.x] = (int32_t)e;
    __syncthreads();
    if (e < 0) return;
    int r = 0;
    for (int s = 0; s < (int)threadIdx.x; s++) r += ids[s] == e;
    bool last = true;
    for (int s = threadIdx.x + 1; s < kChunk && last; s++) last = ids[s] != e;
    a.rank[i] = r;
    if (last) a.hist[blockIdx.x * p.E + e] = r + 1;
}

__global__ void __launch_bounds__(256) dispatch_scan_kernel(DispatchArgs a) {
    const moe_dispatch_params &p = a.p;
    const int64_t chunks = a.chunks;
    for (int64_t e = threadIdx.x; e < p.E; e += 256) {
        int64_t running = 0;
        for (int64_t c = 0; c < chunks; c++) {
            const int64_t h = a.hist[c * p.E + e];
            a.hist[c * p.E + e] = running;
            running += h;
        }
        a.count[e] = running;
        if (p.counts != NULL) p.counts[e * p.counts_s0] = running;
    }
    __syncthreads();
    if (threadIdx.x != 0) return;
    int64_t at = 0;
    for (int64_t e = 0; e < p.E; e++) {
        p.offsets[e * p.off_s0] = at;
        at += (a.count[e] + p.align - 1) / p.align * p.align;
    }
    p.offsets[p.E * p.off_s0] = at;
}

__global__ void __launch_bounds__(kChunk) dispatch_rows_kernel(DispatchArgs a) {
    const moe_dispatch_params &p = a.p;
    const int64_t n = p.T * p.k, i = (int64_t)blockIdx.x * kChunk + threadIdx.x;
    if (i >= n) return;
    const int64_t t = i / p.k, j = i % p.k, e = moe_dispatch_id(&p, t, j);
    p.rows[t * p.rows_s0 + j * p.rows_s1] =
        e < 0 ? -1 : p.offsets[e * p.off_s0] + a.hist[blockIdx.x * p.E + e] + a.rank[i];
}

__global__ void __launch_bounds__(kRowThreads) dispatch_copy_kernel(DispatchArgs a) {
    const moe_dispatch_params &p = a.p;
    const int64_t t = blockIdx.x;
    const size_t es = (size_t)ax_dt_block_bytes(p.x_dtype); /* one element: plain dtypes only */
    for (int64_t j = 0; j < p.k; j++) {
        const int64_t r = p.rows[t * p.rows_s0 + j * p.rows_s1];
        if (r < 0) continue;
        const char *src = (const char *)p.x + (size_t)(t * p.x_s0) * es;
        char *dst = (char *)p.x_sorted + (size_t)(r * p.xs_s0) * es;
        if (es == 4)
            for (int64_t d = threadIdx.x; d < p.D; d += kRowThreads)
                ((uint32_t *)dst)[d * p.xs_s1] = ((const uint32_t *)src)[d];
        else
            for (int64_t d = threadIdx.x; d < p.D; d += kRowThreads)
                ((uint16_t *)dst)[d * p.xs_s1] = ((const uint16_t *)src)[d];
    }
}

__global__ void __launch_bounds__(kRowThreads) dispatch_pad_kernel(DispatchArgs a) {
    const moe_dispatch_params &p = a.p;
    const int64_t e = blockIdx.x, end = p.offsets[(e + 1) * p.off_s0];
    const size_t es = (size_t)ax_dt_block_bytes(p.x_dtype); /* one element: plain dtypes only */
    for (int64_t r = p.offsets[e * p.off_s0] + a.count[e]; r < end; r++) {
        char *dst = (char *)p.x_sorted + (size_t)(r * p.xs_s0) * es;
        for (int64_t d = threadIdx.x; d < p.D; d += kRowThreads) {
            if (es == 4) ((uint32_t *)dst)[d * p.xs_s1] = 0u;
            else ((uint16_t *)dst)[d * p.xs_s1] = 0u;
        }
    }
}

__global__ void __launch_bounds__(kRowThreads) combine_forward_kernel(moe_combine_params p) {
    const int64_t t = blockIdx.x;
    for (int64_t d = threadIdx.x; d < p.D; d += kRowThreads) {
        float acc = 0.0f;
        for (int64_t j = 0; j < p.k; j++) {
            const int64_t r = moe_combine_row(&p, t, j);
            if (r >= 0)
                acc += moe_combine_weight(&p, t, j) *
                       ax_elem_load_f32(p.src, r * p.src_s0 + d * p.src_s1, p.src_dtype);
        }
        ax_elem_store_f32(p.dst, t * p.dst_s0 + d * p.dst_s1, p.dst_dtype, acc);
    }
}

__global__ void __launch_bounds__(256) combine_zero_kernel(moe_combine_params p) {
    const int64_t n = p.R * p.D;
    for (int64_t i = (int64_t)blockIdx.x * 256 + threadIdx.x; i < n; i += (int64_t)gridDim.x * 256)
        ax_elem_store_f32(p.dst, (i / p.D) * p.dst_s0 + (i % p.D) * p.dst_s1, p.dst_dtype, 0.0f);
}

__global__ void __launch_bounds__(kRowThreads) combine_backward_kernel(moe_combine_params p) {
    __shared__ float scratch[kRowThreads / 32];
    const int64_t t = blockIdx.x;
    for (int64_t j = 0; j < p.k; j++) {
        const int64_t r = moe_combine_row(&p, t, j);
        if (r < 0) { /* uniform over the block */
            if (p.dweights != NULL && threadIdx.x == 0) p.dweights[t * p.dw_s0 + j * p.dw_s1] = 0.0f;
            continue;
        }
        const float w = moe_combine_weight(&p, t, j);
        float dot = 0.0f;
        for (int64_t d = threadIdx.x; d < p.D; d += kRowThreads) {
            const float g = ax_elem_load_f32(p.src, t * p.src_s0 + d * p.src_s1, p.src_dtype);
            ax_elem_store_f32(p.dst, r * p.dst_s0 + d * p.dst_s1, p.dst_dtype, w * g);
            if (p.dweights != NULL) dot += g * ax_elem_load_f32(p.y_sorted, r * p.ys_s0 + d * p.ys_s1, p.ys_dtype);
        }
        if (p.dweights != NULL) {
            dot = block_sum<kRowThreads>(dot, scratch);
            if (threadIdx.x == 0) p.dweights[t * p.dw_s0 + j * p.dw_s1] = dot;
            __syncthreads(); /* scratch is reused by the next choice */
        }
    }
}

} /* namespace */

extern "C" ax_status moe_dispatch_cuda(const ax_op_call *call) {
    const moe_dispatch_params *p = static_cast<const moe_dispatch_params *>(call->params);
    const cudaStream_t stream = static_cast<cudaStream_t>(call->ctx->cuda_stream);
    int64_t at[MOE_DWS_N];
    moe_dispatch_cuda_ws(p, at);
    char *ws = static_cast<char *>(call->device_ws);
    DispatchArgs a;
    a.p = *p;
    a.hist = reinterpret_cast<int64_t *>(ws + at[MOE_DWS_HIST]);
    a.rank = reinterpret_cast<int32_t *>(ws + at[MOE_DWS_RANK]);
    a.count = reinterpret_cast<int64_t *>(ws + at[MOE_DWS_COUNTS]);
    const int64_t chunks = ceil_div(p->T * p->k, kChunk);
    a.chunks = chunks;
    if (chunks > 0) {
        const cudaError_t err = cudaMemsetAsync(a.hist, 0, (size_t)(chunks * p->E) * sizeof(int64_t), stream);
        if (err != cudaSuccess) return ax_cuda_error(err, "moe_dispatch: cudaMemsetAsync");
        AX_CHECK(ax_cuda_launch(dispatch_chunk_kernel, "moe_dispatch_chunk_kernel", chunks, kChunk, 0, stream, a));
    }
    AX_CHECK(ax_cuda_launch(dispatch_scan_kernel, "moe_dispatch_scan_kernel", 1, 256, 0, stream, a));
    if (chunks > 0)
        AX_CHECK(ax_cuda_launch(dispatch_rows_kernel, "moe_dispatch_rows_kernel", chunks, kChunk, 0, stream, a));
    if (p->D == 0) return AX_OK;
    if (p->T > 0)
        AX_CHECK(ax_cuda_launch(dispatch_copy_kernel, "moe_dispatch_copy_kernel", p->T, kRowThreads, 0, stream, a));
    return ax_cuda_launch(dispatch_pad_kernel, "moe_dispatch_pad_kernel", p->E, kRowThreads, 0, stream, a);
}

extern "C" ax_status moe_combine_cuda(const ax_op_call *call) {
    const moe_combine_params *p = static_cast<const moe_combine_params *>(call->params);
    const cudaStream_t stream = static_cast<cudaStream_t>(call->ctx->cuda_stream);
    if (!p->backward)
        return p->T > 0 ? ax_cuda_launch(combine_forward_kernel, "moe_combine_forward_kernel", p->T, kRowThreads, 0,
                                         stream, *p)
                        : AX_OK;
    if (p->R * p->D > 0) {
        const int64_t blocks = ceil_div(p->R * p->D, 256);
        AX_CHECK(ax_cuda_launch(combine_zero_kernel, "moe_combine_zero_kernel", blocks < 4096 ? blocks : 4096, 256, 0,
                                stream, *p));
    }
    if (p->T == 0) return AX_OK;
    return ax_cuda_launch(combine_backward_kernel, "moe_combine_backward_kernel", p->T, kRowThreads, 0, stream, *p);
}
