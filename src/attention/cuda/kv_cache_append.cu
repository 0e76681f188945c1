/*
 * kv_cache_append.cu — the CUDA kernels of ax_kv_cache_append.
 *
 * Float caches: one CTA per (row t, KV head) converts both of its rows (K and V) into the slot; the
 * rows are independent.
 *
 * Quantized caches (i8, f8_e4m3fn): a block's scale evolves row by row, so one CTA owns each (block,
 * KV head, K or V) that receives rows and applies them in order of t. The grid is (t, head, K|V); the
 * CTA of the first row t landing in a block (found by scanning slot_mapping[0, t), T being small)
 * becomes that block's owner, walks slot_mapping[t, T) for the block's other rows, and every other
 * CTA returns. Per row: the row's |x| maximum (a block reduction), the new scale, a requantization
 * of the whole (block, head) when the scale grows, then the row's codes; the rules are the shared
 * kv_quant_* helpers (attention_params.h), so the bytes equal the CPU's.
 *
 * Slots are trusted (the host never reads them): a negative slot or one past num_blocks * block_size
 * is skipped; of repeated slots the last row (largest t) wins, on both paths.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <cuda_runtime.h>

#include "attention/attention_params.h"
#include "core/cuda/launch.cuh"
#include "core/cuda/reduce.cuh"
#include "core/dtype_traits.h"

namespace {

constexpr int kThreads = 128;

/* The slot of row t, or -1 when the row is skipped. */
__device__ __forceinline__ int64_t slot_at(const kv_append_params &p, int64_t t) {
    const int64_t s = p.slot_dtype == AX_I64 ? static_cast<const int64_t *>(p.slot_mapping)[t]
                                             : static_cast<const int32_t *>(p.slot_mapping)[t];
    return s >= 0 && s < p.num_blocks * p.block_size ? s : -1;
}

__global__ void __launch_bounds__(kThreads) append_float_kernel(kv_append_params p) {
    __shared__ int overwritten;
    const int64_t t = blockIdx.x / p.Hkv, h = blockIdx.x % p.Hkv;
    const int64_t slot = slot_at(p, t);
    if (slot < 0) return;
    /* A repeated slot keeps the last row's values, as the quantized path does: a row that a later
     * one overwrites is not written at all, so no two CTAs race on one slot. */
    if (threadIdx.x == 0) overwritten = 0;
    __syncthreads();
    for (int64_t u = t + 1 + threadIdx.x; u < p.T; u += kThreads)
        if (slot_at(p, u) == slot) overwritten = 1;
    __syncthreads();
    if (overwritten) return;
    const int64_t blk = slot / p.block_size, row = slot % p.block_size;
    const int64_t k0 = t * p.k_stride_t + h * p.k_stride_h, v0 = t * p.v_stride_t + h * p.v_stride_h;
    const int64_t kc0 = blk * p.kc_stride_blk + row * p.kc_stride_row + h * p.kc_stride_h;
    const int64_t vc0 = blk * p.vc_stride_blk + row * p.vc_stride_row + h * p.vc_stride_h;
    for (int64_t d = threadIdx.x; d < p.D; d += kThreads) {
        ax_elem_copy(p.k, k0 + d, p.dtype, p.k_cache, kc0 + d, p.cache_dtype);
        ax_elem_copy(p.v, v0 + d, p.dtype, p.v_cache, vc0 + d, p.cache_dtype);
    }
}

__global__ void __launch_bounds__(kThreads) append_quant_kernel(kv_append_params p) {
    __shared__ int not_first;
    __shared__ int match[kThreads];
    __shared__ float scratch[kThreads / 32];
    const int which = (int)(blockIdx.x % 2);
    const int64_t h = blockIdx.x / 2 % p.Hkv, t = blockIdx.x / 2 / p.Hkv;
    const int64_t slot = slot_at(p, t);
    if (slot < 0) return;
    const int64_t blk = slot / p.block_size;

    /* Owner: no earlier row lands in this block. */
    if (threadIdx.x == 0) not_first = 0;
    __syncthreads();
    for (int64_t u = threadIdx.x; u < t; u += kThreads) {
        const int64_t s = slot_at(p, u);
        if (s >= 0 && s / p.block_size == blk) not_first = 1;
    }
    __syncthreads();
    if (not_first) return;

    const void *src = which ? p.v : p.k;
    void *cache = which ? p.v_cache : p.k_cache;
    float *scale = which ? p.v_scales + blk * p.vs_stride_blk + h * p.vs_stride_h
                         : p.k_scales + blk * p.ks_stride_blk + h * p.ks_stride_h;
    const int64_t src_t = which ? p.v_stride_t : p.k_stride_t, src_h = which ? p.v_stride_h : p.k_stride_h;
    const int64_t c_blk =
        blk * (which ? p.vc_stride_blk : p.kc_stride_blk) + h * (which ? p.vc_stride_h : p.kc_stride_h);
    const int64_t c_row = which ? p.vc_stride_row : p.kc_stride_row;
    const int64_t D = p.D, bs = p.block_size;
    float cur = kv_quant_live_scale(*scale);

    for (int64_t c = t; c < p.T; c += kThreads) {
        const int64_t u = c + threadIdx.x;
        const int64_t s = u < p.T ? slot_at(p, u) : -1;
        match[threadIdx.x] = s >= 0 && s / bs == blk;
        __syncthreads();
        const int64_t n = p.T - c < kThreads ? p.T - c : kThreads;
        for (int64_t i = 0; i < n; i++) {
            if (!match[i]) continue; /* shared: every thread takes the same branch */
            const int64_t row_t = c + i, row = slot_at(p, row_t) % bs;
            const int64_t x0 = row_t * src_t + h * src_h;
            float amax = 0.0f;
            for (int64_t d = threadIdx.x; d < D; d += kThreads)
                amax = kv_quant_amax(amax, ax_elem_load_f32(src, x0 + d, p.dtype));
            amax = block_max<kThreads>(amax, scratch);
            const float next = kv_quant_next_scale(cur, amax, p.cache_dtype);
            if (next > cur) {
                for (int64_t e = threadIdx.x; e < bs * D; e += kThreads)
                    kv_quant_requantize(cache, c_blk + (e / D) * c_row + e % D, p.cache_dtype, cur, next);
                __syncthreads(); /* the requantized row is overwritten below by other threads */
                cur = next;
            }
            for (int64_t d = threadIdx.x; d < D; d += kThreads)
                kv_quant_store(cache, c_blk + row * c_row + d, p.cache_dtype, ax_elem_load_f32(src, x0 + d, p.dtype),
                               cur);
            __syncthreads(); /* scratch and the block's rows are reused by the next row */
        }
        __syncthreads(); /* match[] is rewritten for the next chunk */
    }
    if (threadIdx.x == 0) *scale = cur;
}

} /* namespace */

extern "C" ax_status kv_cache_append_cuda(const ax_op_call *call) {
    const kv_append_params *p = static_cast<const kv_append_params *>(call->params);
    cudaStream_t stream = static_cast<cudaStream_t>(call->ctx->cuda_stream);
    if (kv_quant_is_quantized(p->cache_dtype))
        return ax_cuda_launch(append_quant_kernel, "kv_cache_append_quant_kernel", p->T * p->Hkv * 2, kThreads, 0,
                              stream, *p);
    return ax_cuda_launch(append_float_kernel, "kv_cache_append_float_kernel", p->T * p->Hkv, kThreads, 0, stream, *p);
}
