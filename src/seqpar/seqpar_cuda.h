/*
 * seqpar_cuda.h — the device helpers of sequence parallelism (pack_cuda.cu), kept apart from
 * seqpar_internal.h so the CUDA file needs no MPI headers.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_SEQPAR_CUDA_H
#define AXIAL_SEQPAR_CUDA_H

#include "core/internal.h"

#ifdef __cplusplus
extern "C" {
#endif

#if AXIAL_WITH_CUDA
/* Stream-ordered device scratch on the context's stream. */
ax_status seqpar_cuda_alloc(ax_context *ctx, int64_t bytes, void **out);
void seqpar_cuda_free(ax_context *ctx, void *p);
ax_status seqpar_cuda_zero(ax_context *ctx, void *p, int64_t bytes);
/* Strided copy with f32/bf16/f16 conversion between two descriptions of one shape. */
ax_status seqpar_cuda_copy(ax_context *ctx, const ax_tensor *src, const ax_tensor *dst);
#endif

#ifdef __cplusplus
}
#endif

#endif /* AXIAL_SEQPAR_CUDA_H */
