/*
 * linalg.h — dense linear algebra on Axial tensors: GEMM on OpenBLAS (CPU) and cuBLAS (CUDA).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 *
 * Conventions are those of axial.h (status codes, ax_last_error, caller-owned tensors, strides in
 * elements). See docs/linalg.md for the semantics in prose and measured performance.
 */
#ifndef AXIAL_LINALG_H
#define AXIAL_LINALG_H

#include "axial/axial.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Whether ax_gemm uses a matrix as stored or its transpose. */
typedef enum ax_transpose {
    AX_NO_TRANS = 0, /* op(X) = X */
    AX_TRANS = 1     /* op(X) = X^T */
} ax_transpose;

/* General matrix product, for every batch index p:
 *
 *     c[p] = alpha * op_a(a[p]) @ op_b(b[p]) + beta * c[p]
 *
 * with op_a(a[p]) of shape (M, K), op_b(b[p]) of shape (K, N) and c[p] of shape (M, N).
 *
 *   ax_context *ctx         CPU or CUDA context; every tensor must live on its device
 *   ax_transpose trans_a    AX_NO_TRANS: a is (M, K); AX_TRANS: a is (K, M)
 *   ax_transpose trans_b    AX_NO_TRANS: b is (K, N); AX_TRANS: b is (N, K)
 *   float alpha, beta       scalars, host values
 *   const ax_tensor *a      (M, K) / (K, M), or (batch_a, M, K) / (batch_a, K, M)
 *   const ax_tensor *b      (K, N) / (N, K), or (batch_b, K, N) / (batch_b, N, K)
 *   ax_tensor *c            (M, N), or (batch, M, N): read (when beta != 0) and written
 *
 * Batches: the batch count is c's dim 0 when c is 3-D, else 1. a and b are 2-D (one matrix used for
 * every batch) or 3-D with batch_a, batch_b equal to that count or 1; a batch stride of 0 also
 * repeats one matrix (broadcast). A 2-D c takes only 2-D (or batch-1) a and b. c's batches must not
 * overlap one another (so c's batch stride is not 0 when there are two or more).
 *
 * Layout: each matrix (the last two dims) is row-major or column-major with a leading dimension, as
 * BLAS takes it: one of its two strides is 1 and the other is at least the size of the dim with the
 * stride 1 (a dim of size 1 may have any stride). A transposed view of a row-major matrix is thus
 * accepted without a copy. Strides within a matrix may not be 0 or negative. The batch stride is
 * any non-negative value. Data pointers are aligned to their element size.
 *
 * Dtypes (a and b share one dtype; accumulation is always fp32):
 *   a, b f32   ->  c f32
 *   a, b bf16  ->  c bf16 or f32
 *   a, b f16   ->  c f16 or f32
 * A 16-bit c is read (when beta != 0) and written with one rounding of the fp32 result (nearest
 * even).
 *
 * BLAS semantics for special values:
 *   - beta == 0: c is not read, so NaN or Inf already in c does not reach the result.
 *   - alpha == 0 or K == 0: a and b are not read; c = beta * c (c = 0 when beta == 0).
 *   - M, N or the batch count == 0: nothing is done (after validation).
 *
 * Backends:
 *   - CPU: OpenBLAS cblas_sgemm per batch, with the context's thread count. bf16/f16 operands are
 *     converted to fp32 one matrix at a time, as is a 16-bit c, into host scratch that counts in
 *     ax_context_workspace_peak, must fit the context's workspace limit, and stays with the context
 *     (the largest needed so far) until ax_context_destroy.
 *     OpenBLAS keeps one process-wide thread count: when it differs from the context's, ax_gemm
 *     sets it for the call and puts the previous value back before returning. Calls on CPU
 *     contexts with different thread counts from several threads at once therefore race on that
 *     setting: each result stays correct, but the thread count a call runs with, and the value left
 *     behind afterwards, may be the other call's. Give such contexts one thread count.
 *   - CUDA: cuBLAS cublasGemmStridedBatchedEx on the context's stream, asynchronous (the call
 *     returns once the work is queued; errors inside the kernels appear at the next synchronising
 *     call). fp32 is computed in full fp32 (CUBLAS_COMPUTE_32F: no TF32); bf16/f16 use tensor
 *     cores with fp32 accumulation, reduced-precision split-K reductions disallowed. The context's
 *     cuBLAS handle is created at its first GEMM and destroyed with the context. The context's
 *     device is made current for the call and the caller's current device put back. cuBLAS's own
 *     workspace is not counted in ax_context_workspace_peak.
 *   All pointers are host pointers for a CPU context and device pointers for a CUDA context. The
 *   CPU and CUDA results agree to within fp32 accumulation error (their summation orders differ).
 *
 * Limits: M, N, K and every leading dimension up to 2^31 - 1 (the BLAS libraries' 32-bit
 * integers); any batch count.
 *
 * Thread-safety: a context serves one call at a time (axial.h); different contexts may be used from
 * different threads, subject to the OpenBLAS thread-count note above.
 *
 * Errors (all but AX_ERR_CUDA are found before any work, and c is then left untouched):
 *   AX_ERR_INVALID_ARGUMENT  NULL ctx or tensor; trans_a/trans_b not an ax_transpose; a tensor with
 *                            other than 2 or 3 dims, a negative size or NULL data; shapes that do not
 *                            match (named by dim: M, N, K, batch); a dtype outside the table above;
 *                            a layout BLAS cannot take; c's elements or batches overlapping each
 *                            other, or c's address range overlapping a's or b's; a misaligned data
 *                            pointer; a tensor on a device other than the context's.
 *   AX_ERR_UNSUPPORTED       M, N, K or a leading dimension above 2^31 - 1; a dtype combination the
 *                            device's cuBLAS reports as not supported.
 *   AX_ERR_OUT_OF_MEMORY     host scratch exceeds the workspace limit or could not be allocated (CPU,
 *                            16-bit dtypes); cuBLAS could not allocate its handle.
 *   AX_ERR_CUDA              cuBLAS or the CUDA runtime failed (kernel faults surface later, at a
 *                            synchronising call).
 */
AX_API ax_status ax_gemm(ax_context *ctx, ax_transpose trans_a, ax_transpose trans_b, float alpha,
                         const ax_tensor *a, const ax_tensor *b, float beta, ax_tensor *c);

#ifdef __cplusplus
}
#endif

#endif /* AXIAL_LINALG_H */
