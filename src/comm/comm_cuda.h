/*
 * comm_cuda.h — the device helpers of the communicator (pack_cuda.cu), kept apart from
 * comm_internal.h so the CUDA file needs no MPI headers.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_COMM_CUDA_H
#define AXIAL_COMM_CUDA_H

#include "core/internal.h"

#ifdef __cplusplus
extern "C" {
#endif

#if AXIAL_WITH_CUDA
/* Stream-ordered device scratch on the context's stream. */
ax_status comm_cuda_alloc(ax_context *ctx, int64_t bytes, void **out);
void comm_cuda_free(ax_context *ctx, void *p);
ax_status comm_cuda_zero(ax_context *ctx, void *p, int64_t bytes);
#endif

#ifdef __cplusplus
}
#endif

#endif /* AXIAL_COMM_CUDA_H */
