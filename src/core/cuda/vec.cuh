/*
 * vec.cuh — 16-byte vector loads and stores in device code, with conversion to and from fp32.
 *
 * What it holds: load8 / store8 (eight consecutive float, __nv_bfloat16 or __half elements as fp32;
 * one or two 16-byte accesses when the caller promises 16-byte alignment, element by element
 * otherwise, with the same values either way) and axpy8 (acc[0..7] += a * x[0..7] from 16-byte
 * aligned memory, one fma per element, in element order).
 *
 * C++, .cu files only; everything is internal to the including file.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_CORE_CUDA_VEC_CUH
#define AXIAL_CORE_CUDA_VEC_CUH

#include <cuda_runtime.h>

#include "core/cuda/convert.cuh"

namespace {

/* Eight consecutive elements to fp32. `vec` promises 16-byte alignment of src. */
__device__ __forceinline__ void load8(const float *src, bool vec, float v[8]) {
    if (vec) {
        const float4 a = reinterpret_cast<const float4 *>(src)[0];
        const float4 b = reinterpret_cast<const float4 *>(src)[1];
        v[0] = a.x; v[1] = a.y; v[2] = a.z; v[3] = a.w;
        v[4] = b.x; v[5] = b.y; v[6] = b.z; v[7] = b.w;
    } else {
#pragma unroll
        for (int e = 0; e < 8; e++) v[e] = src[e];
    }
}

template <typename T16>
__device__ __forceinline__ void load8(const T16 *src, bool vec, float v[8]) {
    if (vec) {
        const uint4 u = *reinterpret_cast<const uint4 *>(src);
        const unsigned w[4] = {u.x, u.y, u.z, u.w};
#pragma unroll
        for (int e = 0; e < 4; e++) {
            v[2 * e] = bits_to_f32(w[e] & 0xffffu, src);
            v[2 * e + 1] = bits_to_f32(w[e] >> 16, src);
        }
    } else {
#pragma unroll
        for (int e = 0; e < 8; e++) v[e] = to_f32(src[e]);
    }
}

/* Eight fp32 values to consecutive elements (rounded to nearest even). `vec` promises 16-byte
 * alignment of dst. */
__device__ __forceinline__ void store8(float *dst, bool vec, const float v[8]) {
    if (vec) {
        reinterpret_cast<float4 *>(dst)[0] = make_float4(v[0], v[1], v[2], v[3]);
        reinterpret_cast<float4 *>(dst)[1] = make_float4(v[4], v[5], v[6], v[7]);
    } else {
#pragma unroll
        for (int e = 0; e < 8; e++) dst[e] = v[e];
    }
}

template <typename T16>
__device__ __forceinline__ void store8(T16 *dst, bool vec, const float v[8]) {
    if (vec) {
        unsigned w[4];
#pragma unroll
        for (int e = 0; e < 4; e++) w[e] = f32_to_bits(v[2 * e], dst) | (f32_to_bits(v[2 * e + 1], dst) << 16);
        *reinterpret_cast<uint4 *>(dst) = make_uint4(w[0], w[1], w[2], w[3]);
    } else {
#pragma unroll
        for (int e = 0; e < 8; e++) dst[e] = from_f32<T16>(v[e]);
    }
}

/* acc[0..7] += a * src[0..7], src 16-byte aligned (usually shared memory). */
__device__ __forceinline__ void axpy8(float acc[8], float a, const float *src) {
    const float4 x = reinterpret_cast<const float4 *>(src)[0];
    const float4 y = reinterpret_cast<const float4 *>(src)[1];
    acc[0] = fmaf(a, x.x, acc[0]);
    acc[1] = fmaf(a, x.y, acc[1]);
    acc[2] = fmaf(a, x.z, acc[2]);
    acc[3] = fmaf(a, x.w, acc[3]);
    acc[4] = fmaf(a, y.x, acc[4]);
    acc[5] = fmaf(a, y.y, acc[5]);
    acc[6] = fmaf(a, y.z, acc[6]);
    acc[7] = fmaf(a, y.w, acc[7]);
}

} /* namespace */

#endif /* AXIAL_CORE_CUDA_VEC_CUH */
