/*
 * nn_common.c — host helpers the nn entries share: the (..., D) tensor spec, the rows layout, and
 * the size of per-thread row buffers.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "core/internal.h"
#include "nn/nn_params.h"

ax_status nn_check_rows_entry(const ax_context *ctx, const ax_tensor *x, const char *name, const char *last) {
    if (ctx == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "ctx: NULL context");
    if (x == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: NULL tensor", name);
    if (x->ndim < 1 || x->ndim > AX_MAX_DIMS)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: expected 1 to %d dims (..., %s), got %d", name, AX_MAX_DIMS,
                            last, (int)x->ndim);
    return AX_OK;
}

void nn_spec_rows(ax_tensor_spec *s, int32_t nd, const char *last) {
    static const char *lead[AX_MAX_DIMS] = {"L0", "L1", "L2", "L3", "L4", "L5", "L6", "L7"};
    for (int32_t d = 0; d + 1 < nd; d++) s->dims[d] = lead[d];
    if (nd >= 1) s->dims[nd - 1] = last != NULL ? last : "D";
    s->dtypes = AX_DTYPES_FLOAT;
    s->flags |= AX_SPEC_LAST_CONTIGUOUS;
    s->layout = "(..., D)";
}

int64_t nn_rows_init(nn_rows *l, const ax_tensor *shape_of, const ax_tensor *const *t, int n) {
    memset(l, 0, sizeof *l);
    l->ndim = shape_of->ndim - 1;
    int64_t rows = 1;
    for (int32_t d = 0; d < l->ndim; d++) {
        l->shape[d] = shape_of->shape[d];
        rows *= shape_of->shape[d];
        for (int i = 0; i < n && i < NN_ROW_TENSORS; i++)
            if (t[i] != NULL) l->strides[i][d] = t[i]->strides[d];
    }
    return rows;
}

int64_t nn_thread_rows_bytes(const ax_context *ctx, int64_t D, int rows_per_thread) {
    return nn_thread_piece_bytes(D, rows_per_thread) * (ctx->num_threads > 0 ? ctx->num_threads : 1);
}
