/*
 * gemm_params.h — the one parameter struct ax_gemm hands to a backend, already in BLAS's
 * column-major terms, and the backends' entry points.
 *
 * gemm.c validates the tensors and maps the row-major/column-major, transposed or not, problem onto
 * one column-major GEMM: c_mem = alpha * op(first) @ op(second) + beta * c_mem, where c_mem is c as
 * stored (c itself when c is column-major, c^T when it is row-major). Backends never see an
 * ax_tensor and never re-validate.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_LINALG_GEMM_PARAMS_H
#define AXIAL_LINALG_GEMM_PARAMS_H

#include <stdint.h>

#include "axial/axial.h"
#include "core/op.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One input operand as BLAS reads it: a column-major matrix of `rows` x `cols` (rows is the
 * contiguous dim) with leading dimension `ld` >= max(1, rows), used transposed when `transpose`. */
typedef struct gemm_operand {
    const void *data;     /* the matrix of batch 0 */
    ax_dtype dtype;       /* AX_F32, AX_BF16 or AX_F16 */
    int transpose;        /* 1: op(X) = X^T */
    int64_t rows, cols;   /* of the stored matrix: (m, k) or (k, m) for `first`, (k, n) or (n, k) for `second` */
    int64_t ld;           /* column stride, in elements */
    int64_t batch_stride; /* elements between batches; 0 = one matrix for every batch */
} gemm_operand;

typedef struct gemm_params {
    int64_t m, n, k;      /* all >= 1 except k, which may be 0 (then c = beta * c) */
    int64_t batch;        /* >= 1 */
    float alpha, beta;
    gemm_operand first;   /* op(first) is m x k */
    gemm_operand second;  /* op(second) is k x n */
    void *c;              /* column-major m x n, batch 0 */
    ax_dtype c_dtype;     /* AX_F32, or the inputs' 16-bit dtype */
    int64_t ldc;          /* >= max(1, m) */
    int64_t c_batch_stride;
} gemm_params;

/* The backends, registered in the op table (gemm.c); call->params is a gemm_params. Both also handle
 * alpha == 0 or k == 0 (c = beta * c, a and b not read). */
ax_status gemm_cpu(const ax_op_call *call);
ax_status gemm_cpu_workspace(const struct ax_context *ctx, const void *params, ax_op_workspace *need);
ax_status gemm_cuda(const ax_op_call *call);
ax_status gemm_cuda_workspace(const struct ax_context *ctx, const void *params, ax_op_workspace *need);

#ifdef __cplusplus
}
#endif

#endif /* AXIAL_LINALG_GEMM_PARAMS_H */
