/*
 * tensor_copy.h — the plan ax_tensor_copy hands its CPU and CUDA halves: the common shape with
 * size-1 dims dropped and neighbours merged where both tensors are contiguous across them.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_CORE_TENSOR_COPY_H
#define AXIAL_CORE_TENSOR_COPY_H

#include "core/internal.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ax_copy_plan {
    int32_t ndim; /* >= 1; the last dim is the innermost run */
    int64_t shape[AX_MAX_DIMS];
    int64_t src_strides[AX_MAX_DIMS], dst_strides[AX_MAX_DIMS]; /* in elements */
} ax_copy_plan;

/* The CUDA half (tensor_copy_cuda.cu; CUDA builds only): both tensors on the context's device,
 * already validated; called by the op table with that device current; queued on the context's
 * stream. */
ax_status ax_cuda_tensor_copy(ax_context *ctx, const ax_copy_plan *plan, const void *src, ax_dtype src_dtype,
                              void *dst, ax_dtype dst_dtype);

#ifdef __cplusplus
}
#endif

#endif /* AXIAL_CORE_TENSOR_COPY_H */
