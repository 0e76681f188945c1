/*
 * nn.h — neural-network building blocks on Axial tensors: normalisation (and, as they arrive, RoPE,
 * activations, embedding, sampling). CPU and CUDA.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 *
 * Conventions are those of axial.h (status codes, ax_last_error, caller-owned tensors, strides in
 * elements). See docs/nn.md for the semantics in prose.
 */
#ifndef AXIAL_NN_H
#define AXIAL_NN_H

#include "axial/axial.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Root-mean-square layer normalisation (Llama's RMSNorm) over the last dimension:
 *
 *     out[r, j] = x[r, j] / sqrt(mean_j(x[r, j]^2) + eps) * weight[j]
 *
 *   ax_context *ctx         CPU or CUDA context; every tensor must live on its device
 *   const ax_tensor *x      (..., D): 1 to AX_MAX_DIMS dims, any strides except a contiguous last dim
 *   const ax_tensor *weight (D), or NULL for weight 1
 *   float eps               added to the mean square, > 0 is usual (1e-5, 1e-6); must be >= 0 and finite
 *   ax_tensor *out          the shape of x, last dim contiguous; may be x itself (in place) but
 *                           must not partly overlap x or weight
 *
 * Dtypes: x f32, bf16 or f16; weight x's dtype or f32; out x's dtype or f32. The mean square and the
 * product are computed in fp32 and rounded once into out (nearest even). A row of zeros gives zeros
 * when eps > 0 (and NaN when eps == 0, as the formula says); NaN or Inf in a row spreads over it.
 *
 * Errors: AX_ERR_INVALID_ARGUMENT naming the tensor and dimension (shape, dtype, device, stride,
 * overlap, eps); AX_ERR_CUDA. No scratch memory. CUDA: queued on the context's stream, no host
 * synchronisation. Thread-safe with distinct contexts. */
AX_API ax_status ax_rms_norm(ax_context *ctx, const ax_tensor *x, const ax_tensor *weight, float eps, ax_tensor *out);

#ifdef __cplusplus
}
#endif

#endif /* AXIAL_NN_H */
