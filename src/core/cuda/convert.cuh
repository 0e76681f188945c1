/*
 * convert.cuh — fp32 <-> storage-dtype conversions in device code (float, __nv_bfloat16, __half),
 * round to nearest even, for every CUDA file of the library.
 *
 * What it holds: to_f32 / from_f32 for one element; bits_to_f32 / f32_to_bits for a 16-bit element
 * held as the low bits of an integer (unpacking and packing 16-byte vectors, vec.cuh); pack2 /
 * unpack2 for two 16-bit elements in one 32-bit register, the lower column in the low half (the
 * layout of mma.sync fragments, ptx.cuh). The 16-bit overloads take a null `const T *` tag to pick
 * the dtype; load_t_or_f32 / store_t_or_f32 for an element stored in T or fp32 (biases and their
 * gradients). The rest of the toolkit: check.cuh, launch.cuh, scope.cuh (workspace guard),
 * vec.cuh, reduce.cuh, ptx.cuh.
 *
 * C++, .cu files only; everything is internal to the including file.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_CORE_CUDA_CONVERT_CUH
#define AXIAL_CORE_CUDA_CONVERT_CUH

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>

namespace {

__device__ __forceinline__ float to_f32(float x) { return x; }
__device__ __forceinline__ float to_f32(__nv_bfloat16 x) { return __bfloat162float(x); }
__device__ __forceinline__ float to_f32(__half x) { return __half2float(x); }

template <typename T> __device__ __forceinline__ T from_f32(float x);
template <> __device__ __forceinline__ float from_f32<float>(float x) { return x; }
template <> __device__ __forceinline__ __nv_bfloat16 from_f32<__nv_bfloat16>(float x) { return __float2bfloat16_rn(x); }
template <> __device__ __forceinline__ __half from_f32<__half>(float x) { return __float2half_rn(x); }

/* A 16-bit element's bits (in the low 16 bits) <-> fp32. */
__device__ __forceinline__ float bits_to_f32(unsigned bits, const __nv_bfloat16 *) {
    return __uint_as_float(bits << 16);
}
__device__ __forceinline__ float bits_to_f32(unsigned bits, const __half *) {
    return __half2float(__ushort_as_half((unsigned short)bits));
}
__device__ __forceinline__ unsigned f32_to_bits(float x, const __nv_bfloat16 *) {
    return __bfloat16_as_ushort(__float2bfloat16_rn(x));
}
__device__ __forceinline__ unsigned f32_to_bits(float x, const __half *) {
    return __half_as_ushort(__float2half_rn(x));
}

/* Two floats as two 16-bit values in one register, `lo` in the low half (the lower column). */
__device__ __forceinline__ uint32_t pack2(float lo, float hi, const __nv_bfloat16 *) {
    __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<uint32_t *>(&v);
}
__device__ __forceinline__ uint32_t pack2(float lo, float hi, const __half *) {
    __half2 v = __floats2half2_rn(lo, hi);
    return *reinterpret_cast<uint32_t *>(&v);
}
__device__ __forceinline__ float2 unpack2(uint32_t u, const __nv_bfloat16 *) {
    return make_float2(__uint_as_float(u << 16), __uint_as_float(u & 0xffff0000u));
}
__device__ __forceinline__ float2 unpack2(uint32_t u, const __half *) {
    return __half22float2(*reinterpret_cast<__half2 *>(&u));
}

/* An element stored in T or in fp32 (a bias, a bias gradient), read as fp32 / written from it. */
template <typename T>
__device__ __forceinline__ float load_t_or_f32(const void *base, bool is_f32, int64_t off) {
    return is_f32 ? static_cast<const float *>(base)[off] : to_f32(static_cast<const T *>(base)[off]);
}
template <typename T>
__device__ __forceinline__ void store_t_or_f32(void *base, bool is_f32, int64_t off, float x) {
    if (is_f32)
        static_cast<float *>(base)[off] = x;
    else
        static_cast<T *>(base)[off] = from_f32<T>(x);
}

} /* namespace */

#endif /* AXIAL_CORE_CUDA_CONVERT_CUH */
