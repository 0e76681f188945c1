/*
 * linalg.h — dense linear algebra on Axial tensors: GEMM on OpenBLAS (CPU) and cuBLAS (CUDA), and the
 * quantized matrix product of GGUF weights (ax_qmatmul).
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
 *     sets it for the call, and the count the process had before the first of overlapping calls
 *     is put back when the last of them returns. While calls on contexts with different thread
 *     counts overlap, each result stays correct but a call may run with the other's count.
 *   - CUDA: cuBLAS cublasGemmStridedBatchedEx on the context's stream, asynchronous (the call
 *     returns once the work is queued; errors inside the kernels appear at the next synchronising
 *     call). fp32 is computed in full fp32 (CUBLAS_COMPUTE_32F: no TF32); bf16/f16 use tensor
 *     cores with fp32 accumulation, reduced-precision split-K reductions disallowed. The context's
 *     cuBLAS handle is created at its first GEMM and destroyed with the context; creating it
 *     allocates, so a context's first GEMM inside a CUDA-graph capture of its stream is refused
 *     (AX_ERR_UNSUPPORTED; run one GEMM before capturing, later ones capture). The context's
 *     device is made current for the call and the caller's current device put back. cuBLAS's own
 *     workspace (32 MiB on Hopper, 4 MiB before; less under a smaller workspace limit) comes from
 *     the context's pool and counts in ax_context_workspace_peak and the limit.
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
 *                            device's cuBLAS reports as not supported; the context's first GEMM
 *                            under a stream capture.
 *   AX_ERR_OUT_OF_MEMORY     host scratch exceeds the workspace limit or could not be allocated (CPU,
 *                            16-bit dtypes); cuBLAS could not allocate its handle.
 *   AX_ERR_CUDA              cuBLAS or the CUDA runtime failed (kernel faults surface later, at a
 *                            synchronising call).
 */
AX_API ax_status ax_gemm(ax_context *ctx, ax_transpose trans_a, ax_transpose trans_b, float alpha,
                         const ax_tensor *a, const ax_tensor *b, float beta, ax_tensor *c);

/* Quantized matrix product, the linear layer of a GGUF model: for every row m of x and n of w,
 *
 *     y[m, n] = sum_k x[m, k] * w[n, k] + bias[n]
 *
 * with w stored as GGUF stores a weight matrix: (N, K), each row a run of whole blocks.
 *
 *   ax_context *ctx         CPU or CUDA context; every tensor must live on its device
 *   const ax_tensor *x      (M, K) or (..., K): f32 or bf16; the leading dims are the M rows
 *   const ax_tensor *w      (N, K): q4_0, q4_1, q8_0, q4_k, q6_k, f16, bf16 or f32
 *   const ax_tensor *bias   (N) f32, or NULL for none
 *   ax_tensor *y            (M, N) or (..., N) with x's leading dims: f32 or bf16; written, never read
 *
 * Layout: K is contiguous in x and w (stride 1), N in y and bias. x's and y's leading dims must
 * collapse into one row stride (each leading stride is the next one times its size, as in any
 * row-major tensor whose rows may be padded); x's row stride is at least K and y's at least N when
 * there are two or more rows. w's rows step by whole blocks (the block-layout rule of axial.h), so
 * K is a multiple of the block: 32 for q4_0, q4_1, q8_0; 256 for q4_k, q6_k. y may not overlap x,
 * w or bias. After validation, M or N of 0 does nothing and K of 0 writes bias (or zeros) to y.
 *
 * Arithmetic. For the block-quantized w the CPU quantizes each row of x once per call to int8, in
 * groups of G elements sharing one fp32 scale amax / 127 (G = the largest of 256, 128, 64, 32 that
 * divides K; levels rounded to nearest), multiplies those integers with w's integer levels exactly
 * (int32), then applies w's and x's scales and w's offsets in fp32 and sums in fp32. The result
 * therefore differs from the product with the exactly dequantized w by at most half an x step per
 * element:
 *     |error| <= sum over x groups g of (amax_g / 254) * sum_{k in g} |w[n, k]|
 * plus fp32 accumulation error (about K/16 units of 2^-24 relative to the summed magnitudes). With
 * f16, bf16 or f32 w, x is not quantized: w is widened to fp32 and the products summed in fp32. The
 * CUDA backend never quantizes x: it decodes w's blocks in registers (M <= 8) or into an fp32 copy
 * in device workspace for cuBLAS (larger M; fp32 compute, no TF32), so CPU and CUDA results differ
 * by up to the x-quantization bound above. NaN or Inf in a group of x makes the rows it meets NaN
 * where x is quantized (its group's scale is then NaN); unquantized (float w, and CUDA always) they
 * are what fp32 gives: an Inf stays +-Inf, or NaN where it meets a 0 weight or another sign.
 * A block of w whose fp16 scale (or min) is Inf or NaN is no number the bound covers: the rows it
 * meets come out NaN or +-Inf, depending on the path (the scale times an offset meets Inf - Inf on
 * some). Groups of x whose largest magnitude is below ~1.8e-43 quantize to zero. y gets one
 * rounding to its dtype (nearest even). Results
 * do not depend on the thread count, and on the CPU row m of y does not depend on M or on the row's
 * place in the batch (bit for bit, within one instruction-set path and kernel: what the serving
 * engine's deterministic batching relies on; CUDA's M <= 8 kernel and its cuBLAS path sum in other
 * orders).
 *
 * Backends:
 *   - CPU: rows of w are unpacked over up to 4096 elements of K at a time into integer levels plus
 *     fp32 scales and offsets (a panel per thread) and dotted with every row of the quantized x, so
 *     one pass over w serves all M rows (prefill: each panel is reused across all rows). Parallel
 *     over N with the context's OpenMP threads. The avx2 and avx512 paths unpack 32 rows at a time
 *     (at most 320 KiB per thread, meant for L2) and form each block's exact integer dot before one fp32
 *     step per block: with vpmaddubsw, or vpdpbusd on a CPU with AVX-512 VNNI
 *     (AX_CPU_HAS_AVX512VNNI; AXIAL_VNNI=0 hides it); one or two rows of x (decode) read w as one
 *     stream without a panel, with the same arithmetic (docs/linalg.md). The portable path unpacks
 *     4 rows at a time and sums 4-element lanes in scalar C. No AMX tiles (measured slower).
 *     Scratch (the quantized x, per-thread panels) comes from the context's host workspace and
 *     counts in its peak and limit.
 *   - CUDA: asynchronous on the context's stream, never synchronises the host. M <= 8: one warp
 *     per output column n reads w's row once and serves every row of x. M > 8: w is decoded into
 *     an fp32 scratch (slices of at most 64 MiB, with the fp32 product) in the context's device
 *     pool, x too when it is bf16, and cuBLAS (the context's handle, whose workspace is set to a
 *     part of ours for the call) multiplies; an epilogue adds bias and rounds into y.
 *   All pointers are host pointers for a CPU context, device pointers for a CUDA context.
 *
 * Limits: M, N, K and the row strides up to 2^31 - 1 on CUDA's cuBLAS path; any on the CPU.
 *
 * Thread-safety: a context serves one call at a time (axial.h); different contexts may be used from
 * different threads at once.
 *
 * Errors (all but AX_ERR_CUDA are found before any work; y is then left untouched):
 *   AX_ERR_INVALID_ARGUMENT  NULL ctx, x, w or y; a dtype outside the lists above (named with the
 *                            argument); w not 2-D; K of x and w differing, or K not a multiple of
 *                            w's block ("w: last dim is 100, not a multiple of the q4_0 block size
 *                            32"); N of w, bias and y differing; y's leading dims not x's; a stride
 *                            rule above broken; y overlapping an input; a tensor on another device.
 *   AX_ERR_UNSUPPORTED       a CUDA context in a build without CUDA; a size above cuBLAS's 2^31 - 1.
 *   AX_ERR_OUT_OF_MEMORY     the scratch exceeds the context's workspace limit or cannot be had.
 *   AX_ERR_CUDA              a CUDA launch or cuBLAS failed.
 */
AX_API ax_status ax_qmatmul(ax_context *ctx, const ax_tensor *x, const ax_tensor *w, const ax_tensor *bias,
                            ax_tensor *y);

/* ------------------------------------------------------------------------------------------------
 * Packed quantized weights: the same product with w repacked once for the CPU's decode
 * ---------------------------------------------------------------------------------------------- */

/* A (N, K) q4_0, q4_1 or q8_0 matrix copied into a 16-row interleaved layout of exactly the same
 * byte count (src/linalg/qweight.h: each 32-element block of 16 consecutive rows stored together,
 * the levels first with one row per 32-bit lane, then the rows' fp16 scales), owned by the object.
 * Why: in GGUF order every block's partial dot products must be gathered across vector lanes before
 * its scale applies, which on CPUs costs more than the products; from this layout the CPU decode
 * (one row of x) of the avx2 and avx512 paths (vpmaddubsw, or vpdpbusd with AVX-512 VNNI) runs
 * about 2-3x faster for 4-bit types when w sits in cache (docs/performance.md), and more rows of x
 * fill those kernels' panels straight from the tiles. The portable path reads the tiles back into
 * GGUF rows, 4 at a time, and runs as ax_qmatmul, which only adds a copy. Either way a packed
 * product is bit for bit ax_qmatmul's on the same path, for every M. Host memory only; the object is
 * immutable, so any number of threads may use it at once. */
typedef struct ax_qweight ax_qweight;

/* Packs w (2-D (N, K) on the CPU, dtype q4_0, q4_1 or q8_0, N a multiple of 16, K contiguous, a row
 * stride of whole blocks, at least K) into a new object at *out (*out is NULL on error). Memory:
 * N * K / 32 * block bytes, 64-byte aligned. Thread-safe.
 * Errors: AX_ERR_INVALID_ARGUMENT for NULL w, out or data, w not 2-D, on a CUDA device, another
 * dtype ("w: dtype q4_k: packing takes q4_0, q4_1 or q8_0"), N not a positive multiple of 16, K = 0
 * (an empty matrix packs nothing; ax_qmatmul takes it unpacked), a row stride
 * below K or not a whole number of blocks, sizes whose byte count overflows; AX_ERR_OUT_OF_MEMORY
 * when the copy cannot be allocated. */
AX_API ax_status ax_qweight_pack(const ax_tensor *w, ax_qweight **out);

/* Frees a packed weight (NULL is a no-op). Not while a call is using it. */
AX_API void ax_qweight_destroy(ax_qweight *w);

/* w's dtype and shape (N, K) (shape may be NULL). Thread-safe, no errors for a valid object. */
AX_API ax_dtype ax_qweight_dtype(const ax_qweight *w);
AX_API void ax_qweight_shape(const ax_qweight *w, int64_t shape[2]);

/* y = x * w^T + bias as ax_qmatmul, with w packed by ax_qweight_pack; every rule, dtype and error of
 * ax_qmatmul holds with w's dtype and shape, plus AX_ERR_INVALID_ARGUMENT for a CUDA context
 * ("ctx: packed weights are host memory; use ax_qmatmul on a CUDA context"). The result is bit for
 * bit ax_qmatmul's on the unpacked w with the same context and CPU path. Scratch: ax_qmatmul's, plus
 * on the portable path 4 GGUF rows of w per thread. */
AX_API ax_status ax_qmatmul_packed(ax_context *ctx, const ax_tensor *x, const ax_qweight *w, const ax_tensor *bias,
                                   ax_tensor *y);

#ifdef __cplusplus
}
#endif

#endif /* AXIAL_LINALG_H */
