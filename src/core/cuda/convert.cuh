/*
 * convert.cuh — fp32 <-> storage-dtype conversions in device code (float, __nv_bfloat16, __half),
 * round to nearest even, for every CUDA file of the library: the first piece of the core CUDA
 * toolkit (issue 13 moves the launch, check and reduction helpers here too). C++, .cu files only;
 * everything is internal to the including file.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_CORE_CUDA_CONVERT_CUH
#define AXIAL_CORE_CUDA_CONVERT_CUH

#include <cuda_bf16.h>
#include <cuda_fp16.h>

namespace {

__device__ __forceinline__ float to_f32(float x) { return x; }
__device__ __forceinline__ float to_f32(__nv_bfloat16 x) { return __bfloat162float(x); }
__device__ __forceinline__ float to_f32(__half x) { return __half2float(x); }

template <typename T> __device__ __forceinline__ T from_f32(float x);
template <> __device__ __forceinline__ float from_f32<float>(float x) { return x; }
template <> __device__ __forceinline__ __nv_bfloat16 from_f32<__nv_bfloat16>(float x) { return __float2bfloat16_rn(x); }
template <> __device__ __forceinline__ __half from_f32<__half>(float x) { return __float2half_rn(x); }

} /* namespace */

#endif /* AXIAL_CORE_CUDA_CONVERT_CUH */
