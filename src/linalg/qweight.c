/*
 * qweight.c — ax_qweight: a block-quantized matrix repacked into the 16-row interleaved layout
 * (qweight.h) that the CPU decode reads without shuffles. ax_qmatmul_packed is in qmatmul.c.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>

#include "axial/linalg.h"
#include "core/internal.h"
#include "linalg/qweight.h"
#include "linalg/qweight_internal.h"

ax_status ax_qweight_pack(const ax_tensor *w, ax_qweight **out) {
    if (out == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "out: NULL pointer");
    *out = NULL;
    if (w == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "w: NULL tensor");
    if (w->data == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "w: NULL data");
    /* 2 dims, sizes, a known dtype, offsets within int64, and for block types contiguous whole
     * blocks (K and the row stride multiples of the block). */
    AX_CHECK(ax_check_tensor(w, "w", 2, "(N, K)"));
    if (w->device.type != AX_CPU)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "w: on a CUDA device; packing reads host memory");
    if (!ax_qw_dtype_ok(w->dtype))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "w: dtype %s: packing takes q4_0, q4_1 or q8_0",
                            ax_dtype_name(w->dtype));
    const int64_t N = w->shape[0], K = w->shape[1];
    if (N <= 0 || N % AX_QW_ROWS != 0)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "w: N = %lld is not a positive multiple of %d", (long long)N,
                            AX_QW_ROWS);
    if (K == 0) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "w: K = 0: nothing to pack");
    if (w->strides[0] < K)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "w: row stride %lld is below K = %lld",
                            (long long)w->strides[0], (long long)K);
    const int64_t bytes = ax_dtype_bytes(w->dtype, N * K); /* N * K fits: ax_check_tensor */
    if (bytes < 0 || bytes > INT64_MAX - 63)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "w: (%lld, %lld) elements overflow a byte count", (long long)N,
                            (long long)K);
    const int64_t bb = ax_dt_block_bytes(w->dtype), nb = K / 32;
    ax_qweight *q = calloc(1, sizeof *q);
    uint8_t *data = aligned_alloc(64, (size_t)((bytes + 63) / 64 * 64));
    if (q == NULL || data == NULL) {
        free(q);
        free(data);
        return ax_set_error(AX_ERR_OUT_OF_MEMORY, "ax_qweight_pack: cannot allocate %lld bytes", (long long)bytes);
    }
    const int64_t row_bytes = w->strides[0] / 32 * bb;
    for (int64_t n = 0; n < N; n++) {
        const uint8_t *row = (const uint8_t *)w->data + n * row_bytes;
        for (int64_t b = 0; b < nb; b++)
            ax_qw_block_to_tile(w->dtype, row + b * bb, n % AX_QW_ROWS,
                                data + ((n / AX_QW_ROWS) * nb + b) * AX_QW_ROWS * bb);
    }
    q->data = data;
    q->dtype = w->dtype;
    q->N = N;
    q->K = K;
    *out = q;
    return AX_OK;
}

void ax_qweight_destroy(ax_qweight *w) {
    if (w == NULL) return;
    free(w->data);
    free(w);
}

ax_dtype ax_qweight_dtype(const ax_qweight *w) { return w->dtype; }

void ax_qweight_shape(const ax_qweight *w, int64_t shape[2]) {
    if (shape == NULL) return;
    shape[0] = w->N;
    shape[1] = w->K;
}
