/*
 * reduce.cuh — deterministic sums and maxima across the threads of a warp, a quad or a block.
 *
 * What it holds: warp_sum (float, double, 64-bit unsigned) / warp_max / warp_min (int) (all 32
 * lanes), quad_sum / quad_max (the 4 lanes of a quad, lane / 4 equal: a row of an mma.sync
 * accumulator fragment), and block_sum / block_max (every warp's result in shared memory, then
 * each thread folds the warps' results in warp order). Every one is a butterfly (xor) shuffle:
 * partners always combine the same two values, so every lane ends with the same bits, and the
 * order of the operations is fixed by the shapes alone, never by timing.
 * The warp and quad forms need all 32 lanes of the warp active.
 *
 * C++, .cu files only; everything is internal to the including file.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_CORE_CUDA_REDUCE_CUH
#define AXIAL_CORE_CUDA_REDUCE_CUH

#include <cuda_runtime.h>

namespace {

__device__ __forceinline__ float warp_sum(float x) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
    return x;
}
__device__ __forceinline__ double warp_sum(double x) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
    return x;
}
__device__ __forceinline__ unsigned long long warp_sum(unsigned long long x) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
    return x;
}
__device__ __forceinline__ int warp_min(int x) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) x = min(x, __shfl_xor_sync(0xffffffffu, x, o));
    return x;
}
__device__ __forceinline__ float warp_max(float x) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, o));
    return x;
}

__device__ __forceinline__ float quad_sum(float x) {
    x += __shfl_xor_sync(0xffffffffu, x, 1);
    return x + __shfl_xor_sync(0xffffffffu, x, 2);
}
__device__ __forceinline__ float quad_max(float x) {
    x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 1));
    return fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 2));
}

/* The sum / maximum of x over a block of kThreads threads (a multiple of 32, every thread taking
 * part), returned to every thread. `scratch` is kThreads / 32 values (float, or double for a double
 * sum) of shared memory; the caller must __syncthreads() before writing it again (e.g. before a
 * second block reduction). */
template <int kThreads, typename T>
__device__ __forceinline__ T block_sum(T x, T *scratch) {
    static_assert(kThreads % 32 == 0, "block_sum: whole warps only");
    x = warp_sum(x);
    if ((threadIdx.x & 31) == 0) scratch[threadIdx.x >> 5] = x;
    __syncthreads();
    T total = scratch[0];
#pragma unroll
    for (int w = 1; w < kThreads / 32; w++) total += scratch[w];
    return total;
}
template <int kThreads>
__device__ __forceinline__ float block_max(float x, float *scratch) {
    static_assert(kThreads % 32 == 0, "block_max: whole warps only");
    x = warp_max(x);
    if ((threadIdx.x & 31) == 0) scratch[threadIdx.x >> 5] = x;
    __syncthreads();
    float m = scratch[0];
#pragma unroll
    for (int w = 1; w < kThreads / 32; w++) m = fmaxf(m, scratch[w]);
    return m;
}

} /* namespace */

#endif /* AXIAL_CORE_CUDA_REDUCE_CUH */
