/*
 * activation.cu — the CUDA kernel of the activations and gated units (activation.c): one thread
 * per element, act and act' from act_eval (nn_params.h, the accurate expf / erfcf). Each
 * thread reads its element of every input before writing its outputs, so in place is safe.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <cuda_runtime.h>

#include "core/cuda/launch.cuh"
#include "core/dtype_traits.h"
#include "nn/nn_params.h"

namespace {

constexpr int kThreads = 256;

__global__ void __launch_bounds__(kThreads) act_kernel(act_params p) {
    const int64_t item = (int64_t)blockIdx.x * kThreads + threadIdx.x;
    if (item >= p.rows * p.F) return;
    const int64_t r = item / p.F, j = item % p.F;
    const float a = ax_elem_load_f32(p.in[0], nn_row_offset(&p.layout, r, 0) + j, p.in_dtype[0]);
    const float b =
        p.mode != ACT_FORWARD ? ax_elem_load_f32(p.in[1], nn_row_offset(&p.layout, r, 1) + j, p.in_dtype[1]) : 0.0f;
    const float c =
        p.mode == GLU_BACKWARD ? ax_elem_load_f32(p.in[2], nn_row_offset(&p.layout, r, 2) + j, p.in_dtype[2]) : 0.0f;
    float value, deriv;
    act_eval(p.kind, a, &value, &deriv);
    const int64_t o0 = nn_row_offset(&p.layout, r, 3) + j;
    switch (p.mode) {
    case ACT_FORWARD: ax_elem_store_f32(p.out[0], o0, p.out_dtype[0], value); break;
    case ACT_BACKWARD: ax_elem_store_f32(p.out[0], o0, p.out_dtype[0], deriv * b); break;
    case GLU_FORWARD: ax_elem_store_f32(p.out[0], o0, p.out_dtype[0], value * b); break;
    default:
        ax_elem_store_f32(p.out[0], o0, p.out_dtype[0], deriv * (c * b));
        ax_elem_store_f32(p.out[1], nn_row_offset(&p.layout, r, 4) + j, p.out_dtype[1], value * c);
        break;
    }
}

} /* namespace */

extern "C" ax_status act_cuda(const ax_op_call *call) {
    const act_params *p = static_cast<const act_params *>(call->params);
    return ax_cuda_launch(act_kernel, "act_kernel", ceil_div(p->rows * p->F, kThreads), kThreads, 0,
                          static_cast<cudaStream_t>(call->ctx->cuda_stream), *p);
}
