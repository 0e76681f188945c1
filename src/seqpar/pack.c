/*
 * pack.c — strided copies between a tensor and a contiguous buffer, with f32/bf16/f16 conversion:
 * how non-contiguous tensors reach the transport. Dims that are contiguous in both source and
 * destination are merged first, so the common cases become a few long memcpy or conversion runs.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stddef.h>
#include <string.h>

#include "seqpar/seqpar_internal.h"

typedef struct copy_plan {
    int32_t ndim;
    int64_t shape[AX_MAX_DIMS];
    int64_t src_strides[AX_MAX_DIMS], dst_strides[AX_MAX_DIMS];
} copy_plan;

/* Drops size-1 dims and merges neighbours that are contiguous in both tensors. Returns 0 when the
 * tensors have no elements. */
static int plan_copy(const ax_tensor *src, const ax_tensor *dst, copy_plan *p) {
    p->ndim = 0;
    for (int32_t d = 0; d < src->ndim; d++) {
        if (src->shape[d] == 0) return 0;
        if (src->shape[d] == 1) continue;
        const int32_t k = p->ndim;
        if (k > 0 && p->src_strides[k - 1] == src->strides[d] * src->shape[d] &&
            p->dst_strides[k - 1] == dst->strides[d] * src->shape[d]) {
            p->shape[k - 1] *= src->shape[d];
            p->src_strides[k - 1] = src->strides[d];
            p->dst_strides[k - 1] = dst->strides[d];
            continue;
        }
        p->shape[k] = src->shape[d];
        p->src_strides[k] = src->strides[d];
        p->dst_strides[k] = dst->strides[d];
        p->ndim++;
    }
    if (p->ndim == 0) { /* a single element */
        p->ndim = 1;
        p->shape[0] = 1;
        p->src_strides[0] = p->dst_strides[0] = 1;
    }
    return 1;
}

static float load(const void *base, int64_t i, ax_dtype dtype) {
    switch (dtype) {
    case AX_BF16: return ax_bf16_to_f32(((const uint16_t *)base)[i]);
    case AX_F16: return ax_f16_to_f32(((const uint16_t *)base)[i]);
    default: return ((const float *)base)[i];
    }
}

static void store(void *base, int64_t i, ax_dtype dtype, float value) {
    switch (dtype) {
    case AX_BF16: ((uint16_t *)base)[i] = ax_f32_to_bf16(value); break;
    case AX_F16: ((uint16_t *)base)[i] = ax_f32_to_f16(value); break;
    default: ((float *)base)[i] = value; break;
    }
}

/* One run along the innermost (merged) dim. */
static void copy_run(const char *src, int64_t ss, ax_dtype st, char *dst, int64_t ds, ax_dtype dt, int64_t n) {
    const size_t es = ax_dtype_size(st);
    if (st == dt && ss == 1 && ds == 1) {
        memcpy(dst, src, (size_t)n * es);
    } else if (st == dt && es == 4) {
        for (int64_t i = 0; i < n; i++) ((uint32_t *)dst)[i * ds] = ((const uint32_t *)src)[i * ss];
    } else if (st == dt) {
        for (int64_t i = 0; i < n; i++) ((uint16_t *)dst)[i * ds] = ((const uint16_t *)src)[i * ss];
    } else {
        for (int64_t i = 0; i < n; i++) store(dst, i * ds, dt, load(src, i * ss, st));
    }
}

static void copy_cpu(const ax_tensor *src, const ax_tensor *dst) {
    copy_plan p;
    if (!plan_copy(src, dst, &p)) return;
    const size_t ses = ax_dtype_size(src->dtype), des = ax_dtype_size(dst->dtype);
    const int32_t last = p.ndim - 1;
    int64_t outer = 1;
    for (int32_t d = 0; d < last; d++) outer *= p.shape[d];
    int64_t idx[AX_MAX_DIMS] = {0};
    for (int64_t o = 0; o < outer; o++) {
        int64_t so = 0, dof = 0;
        for (int32_t d = 0; d < last; d++) {
            so += idx[d] * p.src_strides[d];
            dof += idx[d] * p.dst_strides[d];
        }
        copy_run((const char *)src->data + (ptrdiff_t)so * (ptrdiff_t)ses, p.src_strides[last], src->dtype,
                 (char *)dst->data + (ptrdiff_t)dof * (ptrdiff_t)des, p.dst_strides[last], dst->dtype, p.shape[last]);
        for (int32_t d = last - 1; d >= 0; d--) {
            if (++idx[d] < p.shape[d]) break;
            idx[d] = 0;
        }
    }
}

static ax_status copy(ax_context *ctx, const ax_tensor *src, const ax_tensor *dst) {
    if (ax_tensor_numel(src) == 0) return AX_OK;
#if AXIAL_WITH_CUDA
    if (ctx->device.type == AX_CUDA) return seqpar_cuda_copy(ctx, src, dst);
#else
    (void)ctx;
#endif
    copy_cpu(src, dst);
    return AX_OK;
}

ax_status seqpar_pack(ax_context *ctx, const ax_tensor *src, void *dst, ax_dtype dst_dtype) {
    const ax_tensor d = seqpar_contiguous(dst, dst_dtype, src->device, src->ndim, src->shape);
    return copy(ctx, src, &d);
}

ax_status seqpar_unpack(ax_context *ctx, const void *src, ax_dtype src_dtype, const ax_tensor *dst) {
    const ax_tensor s = seqpar_contiguous((void *)src, src_dtype, dst->device, dst->ndim, dst->shape);
    return copy(ctx, &s, dst);
}

ax_status seqpar_fill_zero(ax_context *ctx, const ax_tensor *t, float *zero_f32) {
    if (ax_tensor_numel(t) == 0) return AX_OK;
    AX_CHECK(seqpar_zero(ctx, zero_f32, 4));
    ax_tensor src = *t; /* one zero read through all-zero strides */
    src.data = zero_f32;
    src.dtype = AX_F32;
    for (int32_t d = 0; d < src.ndim; d++) src.strides[d] = 0;
    return copy(ctx, &src, t);
}
