/*
 * nn_params.h — the parameter structs of the nn ops (include/axial/nn.h), filled and validated on the
 * host by each op's entry and read by its CPU and CUDA kernels. Plain C, so .cu files include it too.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_NN_PARAMS_H
#define AXIAL_NN_PARAMS_H

#include <stdint.h>

#include "axial/axial.h"
#include "core/op.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Rows of a (..., D) tensor: row r's multi-index over the leading dims gives its element offset. */
typedef struct nn_rows {
    int32_t ndim;                        /* leading dims (0 for a 1-D tensor: one row) */
    int64_t shape[AX_MAX_DIMS];
    int64_t x_strides[AX_MAX_DIMS], out_strides[AX_MAX_DIMS];
} nn_rows;

/* ax_rms_norm (rms_norm.c, cuda/rms_norm.cu). */
typedef struct rms_norm_params {
    const void *x;
    const void *weight;                  /* NULL: weight 1 */
    void *out;
    ax_dtype x_dtype, weight_dtype, out_dtype;
    int64_t rows, D;
    nn_rows layout;
    float eps;
} rms_norm_params;

ax_status rms_norm_cuda(const ax_op_call *call);

/* Element offset of row r in x (which = 0) or out (which = 1). */
AX_HOST_DEVICE static inline int64_t nn_row_offset(const nn_rows *l, int64_t r, int which) {
    int64_t off = 0;
    for (int32_t d = l->ndim - 1; d >= 0; d--) {
        const int64_t i = r % l->shape[d];
        r /= l->shape[d];
        off += i * (which ? l->out_strides[d] : l->x_strides[d]);
    }
    return off;
}

#ifdef __cplusplus
}
#endif

#endif /* AXIAL_NN_PARAMS_H */
