/*
 * attn_mma.cuh — the block shape of the attention kernels' tensor-core paths (attention_fwd.cu,
 * attention_bwd.cu) and the AXIAL_CUDA_MMA default. Their tiles, row loader and ldmatrix fragment
 * loaders for mma.sync m16n8k16 are the core's (core/cuda/mma_tile.cuh), shared with the Evoformer
 * kernels. Only reached on sm_80+ (callers guard their kernel bodies with __CUDA_ARCH__ >= 800).
 *
 * C++, included by .cu files only; everything is internal to the including file.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_ATTENTION_CUDA_ATTN_MMA_CUH
#define AXIAL_ATTENTION_CUDA_ATTN_MMA_CUH

#include <stdint.h>

#include "core/cuda/mma_tile.cuh"
#include "core/cuda/ptx.cuh"

#ifndef AXIAL_CUDA_MMA
/* The tensor-core kernels have bodies only in sm_80+ device code; a build whose architectures are
 * all older must define 0 (CMakeLists.txt does for evoformer/cuda/attention_mma.cu), so that no
 * call reaches an empty body through JIT of old PTX on a newer device. */
#define AXIAL_CUDA_MMA 1
#endif

namespace {

constexpr int kMmaThreads = 128; /* 4 warps, 16 rows of every tile product each */
constexpr int kMmaRows = 64;     /* rows (queries, or keys in dK / dV) per block */

} /* namespace */

#endif /* AXIAL_ATTENTION_CUDA_ATTN_MMA_CUH */
