/*
 * rope.cu — the CUDA kernel of ax_rope / ax_rope_backward (rope.c): one thread per (token, head,
 * pair) for the rotated pairs and one per pass-through element, with the angle from rope_theta
 * (nn_params.h, the CPU's formula; accurate powf / sincosf, not the fast intrinsics). Each thread
 * reads its two elements before writing them, so in place is safe.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <cuda_runtime.h>

#include "core/cuda/launch.cuh"
#include "core/dtype_traits.h"
#include "nn/nn_params.h"

namespace {

constexpr int kThreads = 256;

/* Work items per head: d/2 pairs, then D - d pass-through elements. */
__global__ void __launch_bounds__(kThreads) rope_kernel(rope_params p) {
    const int64_t half = p.rotary_dim / 2, per_head = half + (p.D - p.rotary_dim);
    const int64_t item = (int64_t)blockIdx.x * kThreads + threadIdx.x;
    if (item >= p.T * p.H * per_head) return;
    const int64_t e = item % per_head, th = item / per_head, h = th % p.H, t = th / p.H;
    const int64_t x0 = t * p.x_stride_t + h * p.x_stride_h, o0 = t * p.out_stride_t + h * p.out_stride_h;
    if (e >= half) {
        const int64_t j = p.rotary_dim + (e - half);
        ax_elem_store_f32(p.out, o0 + j, p.out_dtype, ax_elem_load_f32(p.x, x0 + j, p.x_dtype));
        return;
    }
    const int64_t ja = p.neox ? e : 2 * e, jb = p.neox ? e + half : 2 * e + 1;
    float sn, cs;
    sincosf(rope_theta(&p, rope_position(&p, t), e), &sn, &cs);
    sn *= p.sin_sign;
    const float a = ax_elem_load_f32(p.x, x0 + ja, p.x_dtype), b = ax_elem_load_f32(p.x, x0 + jb, p.x_dtype);
    ax_elem_store_f32(p.out, o0 + ja, p.out_dtype, a * cs - b * sn);
    ax_elem_store_f32(p.out, o0 + jb, p.out_dtype, a * sn + b * cs);
}

} /* namespace */

extern "C" ax_status rope_cuda(const ax_op_call *call) {
    const rope_params *p = static_cast<const rope_params *>(call->params);
    const int64_t items = p->T * p->H * (p->rotary_dim / 2 + (p->D - p->rotary_dim));
    return ax_cuda_launch(rope_kernel, "rope_kernel", ceil_div(items, kThreads), kThreads, 0,
                          static_cast<cudaStream_t>(call->ctx->cuda_stream), *p);
}
