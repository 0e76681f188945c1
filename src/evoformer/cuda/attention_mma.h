/*
 * attention_mma.h — the tensor-core (mma.sync m16n8k16, bf16 / fp16, fp32 accumulation) kernels of
 * the CUDA Evoformer attention, called by attention_cuda.cu for the params they take. C++ only; the
 * public C ABI stays in attention_cuda.cu.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_EVOFORMER_ATTENTION_MMA_H
#define AXIAL_EVOFORMER_ATTENTION_MMA_H

#include <cuda_runtime.h>

#include "core/cuda/device.h"
#include "evoformer/evoformer_params.h"

/* True when the forward (backward == 0) or the dk/dv and dq kernels (backward == 1) run on tensor
 * cores for these params on device `dev` (the context's, ax_cuda_props): bf16 or fp16, D a multiple
 * of 16 up to 128, every activation row 16-byte aligned with unit stride along D, a device of compute
 * capability 8.0 or newer with enough shared memory, and AXIAL_CUDA_TENSOR_CORES not set to 0.
 * Everything else takes the SIMT kernels. */
bool evo_mma_usable(const ax_cuda_device_props &dev, const evo_attn_params &p, bool backward);

/* dbias_pair on tensor cores: evo_mma_usable(dev, p, true) and a gradient that keeps its h, query and
 * key dims (summing over b and n only: the usual (B or 1, 1, H, S, S) pair bias). */
bool evo_mma_dpair_usable(const ax_cuda_device_props &dev, const evo_attn_params &p);

/* Launchers on `stream`; no host synchronisation. `delta` is the (B, N, H, S) contiguous rowsum of
 * dout * out; `mask_partial`, when not NULL, receives the (B, N, H, S) contiguous sums over queries of
 * dS that the dbias_mask reduction reads. */
ax_status evo_mma_forward(const evo_attn_params &p, cudaStream_t stream);
ax_status evo_mma_delta(const evo_attn_params &p, float *delta, cudaStream_t stream);
ax_status evo_mma_dkdv(const evo_attn_params &p, const float *delta, float *mask_partial, cudaStream_t stream);
ax_status evo_mma_dq(const evo_attn_params &p, const float *delta, cudaStream_t stream);
/* dbias_pair: when few output tiles would leave SMs idle, the sum over (b, n) is split into
 * evo_mma_dpair_chunks(dev, p) contiguous ranges whose fp32 partial sums (chunks * B_out * H * S * S
 * floats of scratch, `partial`; unused when chunks == 1) are then added in a fixed order. */
int64_t evo_mma_dpair_chunks(const ax_cuda_device_props &dev, const evo_attn_params &p);
ax_status evo_mma_dpair(const evo_attn_params &p, const float *delta, int64_t chunks, float *partial,
                        cudaStream_t stream);

#endif /* AXIAL_EVOFORMER_ATTENTION_MMA_H */
