/*
 * qmatmul_fused.h — several products of one x in one call (internal: the LLM decoder's q/k/v and
 * gate/up projections).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_LINALG_QMATMUL_FUSED_H
#define AXIAL_LINALG_QMATMUL_FUSED_H

#include "axial/linalg.h"

/* y[i] = x w_i^T for i < n (1 <= n <= QMM_MAX_PARTS, 3), no bias; w_i is pw[i] when pw != NULL and
 * pw[i] != NULL (packed), else w[i] (w may be NULL when every pw[i] is set). Each product follows
 * ax_qmatmul's (or ax_qmatmul_packed's) rules and is checked before any runs, and y[i] must not
 * overlap another y or another w, judged by their spans from first to last element, so interleaved
 * views of one buffer count too (AX_ERR_INVALID_ARGUMENT "y[1]: overlaps y[0]"). On the CPU, when
 * every w has one dtype and packing and the y[i] one dtype, x is quantized once and every product
 * runs in one parallel region, with the panels and sums of separate calls: the result is bit for bit
 * n calls of ax_qmatmul / ax_qmatmul_packed, with one fork and join of the threads instead of n (a
 * decode token runs ~240 regions, each a few microseconds of thread wake-up and wait); an error then
 * writes nothing. Otherwise (a CUDA context, mixed dtypes or packing) n separate calls, where a later
 * call's workspace failure can follow an earlier call's output. */
ax_status qmatmul_fused(ax_context *ctx, const ax_tensor *x, int n, const ax_tensor *const *w,
                        const ax_qweight *const *pw, ax_tensor *const *y);

#endif /* AXIAL_LINALG_QMATMUL_FUSED_H */
