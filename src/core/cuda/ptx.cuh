/*
 * ptx.cuh — thin wrappers over the PTX instructions of the tensor-core kernels (sm_80 and newer).
 *
 * What it holds: cp.async (16 bytes global -> shared, zero-filled when not valid; commit and wait),
 * ldmatrix (four 8x8 16-bit matrices, plain and transposed), mma.sync m16n8k16 with bf16 or fp16
 * inputs and fp32 accumulation (c += a * b, picked by a null `const T *` tag), and acc_to_a, which
 * turns the fp32 accumulators of two adjacent 16x8 tiles into the 16-bit A fragment of the next
 * product. The fragment layouts are PTX's (m16n8k16, .row.col): lane / 4 is the row within an 8-row
 * half, lane % 4 the column pair.
 *
 * The instructions exist only on sm_80 and newer: callers compile their uses under
 * __CUDA_ARCH__ >= 800 (or never reach them on older devices).
 *
 * C++, .cu files only; everything is internal to the including file.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_CORE_CUDA_PTX_CUH
#define AXIAL_CORE_CUDA_PTX_CUH

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <stdint.h>

#include "core/cuda/convert.cuh"

namespace {

__device__ __forceinline__ uint32_t smem_addr(const void *p) { return (uint32_t)__cvta_generic_to_shared(p); }

/* 16 bytes global -> shared, asynchronously; zero-filled when !valid (src is then not read). */
__device__ __forceinline__ void cp_async16(void *dst, const void *src, bool valid) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_addr(dst)), "l"(src),
                 "r"(valid ? 16 : 0));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
__device__ __forceinline__ void cp_async_wait_all() { asm volatile("cp.async.wait_group 0;\n" ::: "memory"); }

/* Four 8x8 16-bit matrices; lane l gives the address of row l % 8 of matrix l / 8. */
__device__ __forceinline__ void ldsm_x4(uint32_t r[4], const void *p) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(smem_addr(p)));
}
__device__ __forceinline__ void ldsm_x4_t(uint32_t r[4], const void *p) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(smem_addr(p)));
}

/* c (16x8 fp32) += a (16x16, row) * b (16x8, col). */
__device__ __forceinline__ void mma16816(float c[4], const uint32_t a[4], uint32_t b0, uint32_t b1,
                                         const __nv_bfloat16 *) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
                 "{%8, %9}, {%0, %1, %2, %3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
__device__ __forceinline__ void mma16816(float c[4], const uint32_t a[4], uint32_t b0, uint32_t b1, const __half *) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
                 "{%8, %9}, {%0, %1, %2, %3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

/* The accumulators of two adjacent 16x8 tiles (columns 16c .. 16c + 15) as the A fragment of a
 * product over those 16 columns, rounded to T. */
template <typename T>
__device__ __forceinline__ void acc_to_a(const float lo[4], const float hi[4], uint32_t a[4]) {
    a[0] = pack2(lo[0], lo[1], (const T *)0);
    a[1] = pack2(lo[2], lo[3], (const T *)0);
    a[2] = pack2(hi[0], hi[1], (const T *)0);
    a[3] = pack2(hi[2], hi[3], (const T *)0);
}

} /* namespace */

#endif /* AXIAL_CORE_CUDA_PTX_CUH */
