/*
 * tensor_copy.c — ax_tensor_copy: a strided copy between any two tensors of one shape, converting
 * dtypes (float, fp8 and block-quantized) on the way. Validates, plans (merging dims contiguous in
 * both tensors, so common cases become a few long runs), then runs pieces of the innermost run on
 * the CPU's threads or hands the plan to the CUDA kernel.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "core/dtype_convert.h"
#include "core/dtype_traits.h"
#include "core/op.h"
#include "core/tensor_copy.h"

/* Elements per piece of work: bounds the fp32 staging buffer of block conversions (16 KiB of
 * stack) and is a whole number of every block size. */
#define PIECE_ELEMS 4096

static void plan_copy(const ax_tensor *src, const ax_tensor *dst, ax_copy_plan *p) {
    p->ndim = 0;
    for (int32_t d = 0; d < src->ndim; d++) {
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
}

/* Copies elements [start, start + len) of one innermost run whose first elements are at element
 * offsets so (src) and dof (dst). A block-quantized side always has stride 1 there (layout rule),
 * and start and len are whole blocks. */
static void copy_piece(const ax_tensor *src, int64_t so, int64_t ss, const ax_tensor *dst, int64_t dof, int64_t ds,
                       int64_t len) {
    const ax_dtype st = src->dtype, dt = dst->dtype;
    if (ss == 1 && ds == 1) {
        ax_convert_run((const char *)src->data + ax_dt_offset_bytes(st, so), st,
                       (char *)dst->data + ax_dt_offset_bytes(dt, dof), dt, len);
    } else if (!ax_dt_is_block(st) && !ax_dt_is_block(dt)) {
        for (int64_t i = 0; i < len; i++) ax_elem_copy(src->data, so + i * ss, st, dst->data, dof + i * ds, dt);
    } else if (ax_dt_is_block(st)) { /* into a strided plain dst, through fp32 */
        float buf[PIECE_ELEMS];
        ax_convert_run((const char *)src->data + ax_dt_offset_bytes(st, so), st, buf, AX_F32, len);
        for (int64_t i = 0; i < len; i++) ax_elem_store_f32(dst->data, dof + i * ds, dt, buf[i]);
    } else { /* from a strided plain src into blocks, through fp32 */
        float buf[PIECE_ELEMS];
        for (int64_t i = 0; i < len; i++) buf[i] = ax_elem_load_f32(src->data, so + i * ss, st);
        ax_convert_run(buf, AX_F32, (char *)dst->data + ax_dt_offset_bytes(dt, dof), dt, len);
    }
}

static void copy_cpu(const ax_copy_plan *p, const ax_tensor *src, const ax_tensor *dst, int32_t threads) {
    const int32_t last = p->ndim - 1;
    const int64_t run = p->shape[last];
    const int64_t pieces_per_run = (run + PIECE_ELEMS - 1) / PIECE_ELEMS;
    int64_t rows = 1;
    for (int32_t d = 0; d < last; d++) rows *= p->shape[d];
    const int64_t pieces = rows * pieces_per_run;
    /* Threads only pay off past some tens of thousands of elements. */
    const int parallel = rows * run >= (1 << 16) && pieces > 1 && threads > 1;
#pragma omp parallel for num_threads(threads) schedule(static) if (parallel)
    for (int64_t piece = 0; piece < pieces; piece++) {
        int64_t row = piece / pieces_per_run, so = 0, dof = 0;
        for (int32_t d = last - 1; d >= 0; d--) {
            const int64_t i = row % p->shape[d];
            row /= p->shape[d];
            so += i * p->src_strides[d];
            dof += i * p->dst_strides[d];
        }
        const int64_t start = piece % pieces_per_run * PIECE_ELEMS;
        const int64_t len = run - start < PIECE_ELEMS ? run - start : PIECE_ELEMS;
        copy_piece(src, so + start * p->src_strides[last], p->src_strides[last], dst,
                   dof + start * p->dst_strides[last], p->dst_strides[last], len);
    }
}

static ax_status check_args(const ax_context *ctx, const ax_tensor *src, const ax_tensor *dst) {
    if (ctx == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "ctx: NULL context");
    if (src == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "src: NULL tensor");
    if (dst == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "dst: NULL tensor");
    if (src->ndim < 0 || src->ndim > AX_MAX_DIMS)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "src: ndim %d is outside [0, %d]", (int)src->ndim, AX_MAX_DIMS);
    if (dst->ndim != src->ndim)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "dst: %d dims, but src has %d", (int)dst->ndim, (int)src->ndim);
    AX_CHECK(ax_check_tensor(src, "src", src->ndim, "(any shape)"));
    AX_CHECK(ax_check_tensor(dst, "dst", dst->ndim, "(the shape of src)"));
    for (int32_t d = 0; d < src->ndim; d++)
        if (dst->shape[d] != src->shape[d])
            return ax_set_error(AX_ERR_INVALID_ARGUMENT, "dst: dim %d is %lld, but src's is %lld", (int)d,
                                (long long)dst->shape[d], (long long)src->shape[d]);
    if (src->dtype != dst->dtype && (!ax_dtype_is_convertible(src->dtype) || !ax_dtype_is_convertible(dst->dtype)))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                            "dst: cannot convert %s to %s (integer dtypes are only copied to their own dtype)",
                            ax_dtype_name(src->dtype), ax_dtype_name(dst->dtype));
    AX_CHECK(ax_check_device(src, "src", ctx->device));
    AX_CHECK(ax_check_device(dst, "dst", ctx->device));
    if (ax_tensor_numel(src) == 0) return AX_OK;
    AX_CHECK(ax_check_no_self_overlap(dst, "dst"));
    if (ax_tensors_overlap(src, dst)) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "dst: overlaps src");
    return AX_OK;
}

typedef struct copy_params {
    ax_copy_plan plan;
    const ax_tensor *src, *dst;
} copy_params;

/* The conversions pick their own instruction set inside (ax_convert_run), so one kernel serves
 * every path. */
static ax_status copy_cpu_kernel(const ax_op_call *call) {
    const copy_params *p = call->params;
    copy_cpu(&p->plan, p->src, p->dst, call->ctx->num_threads);
    return AX_OK;
}

#if AXIAL_WITH_CUDA
static ax_status copy_cuda_kernel(const ax_op_call *call) {
    const copy_params *p = call->params;
    return ax_cuda_tensor_copy(call->ctx, &p->plan, p->src->data, p->src->dtype, p->dst->data, p->dst->dtype);
}
#endif

static const ax_op copy_op = {
    .name = "tensor_copy",
    .cpu = {copy_cpu_kernel, NULL, NULL},
    .cuda = AX_CUDA_KERNEL(copy_cuda_kernel),
};

ax_status ax_tensor_copy(ax_context *ctx, const ax_tensor *src, ax_tensor *dst) {
    AX_CHECK(check_args(ctx, src, dst));
    if (ax_tensor_numel(src) == 0) return AX_OK;
    copy_params p;
    plan_copy(src, dst, &p.plan);
    p.src = src;
    p.dst = dst;
    return ax_op_run(&copy_op, ctx, &p);
}

ax_status ax_tensor_zero(ax_context *ctx, const ax_tensor *t) {
    if (t == NULL || ax_tensor_numel(t) == 0) return AX_OK;
    const int64_t bytes = ax_tensor_numel(t) * (int64_t)ax_dtype_size(t->dtype);
    ax_tensor src = *t, dst = *t; /* a strided t reads one zero through all-zero strides */
    for (int32_t d = 0; d < src.ndim; d++) src.strides[d] = 0;
    if (ctx->device.type != AX_CUDA) {
        if (ax_tensor_is_contiguous(t)) {
            memset(t->data, 0, (size_t)bytes);
            return AX_OK;
        }
        static const uint64_t zero = 0; /* the widest element is 8 bytes */
        src.data = (void *)&zero;
        return ax_tensor_copy(ctx, &src, &dst);
    }
    int saved = -1;
    AX_CHECK(ax_cuda_scope_enter(ctx, &saved));
    ax_status st = AX_OK;
    if (ax_tensor_is_contiguous(t)) {
        st = ax_cuda_ws_zero(ctx, t->data, bytes);
    } else {
        void *zero = NULL;
        st = ax_cuda_ws_alloc(ctx, 8, &zero);
        if (st == AX_OK) st = ax_cuda_ws_zero(ctx, zero, 8);
        if (st == AX_OK) {
            src.data = zero;
            st = ax_tensor_copy(ctx, &src, &dst);
        }
        if (zero != NULL) ax_cuda_ws_free(ctx, zero);
    }
    ax_cuda_scope_leave(ctx, saved);
    return st;
}
