/*
 * gemm.c — ax_gemm's entry point: validate every tensor before any work, map the problem onto one
 * column-major BLAS call (gemm_params.h), dispatch to the CPU or CUDA backend.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <limits.h>
#include <stdint.h>

#include "axial/linalg.h"
#include "core/internal.h"
#include "core/op.h"
#include "linalg/gemm_params.h"

/* One matrix operand as the caller described it, after its checks. */
typedef struct matrix_view {
    const ax_tensor *t;
    const char *name;
    int64_t rows, cols;   /* the tensor's last two dims */
    int row_major;        /* 1: cols contiguous (stored column-major as its transpose) */
    int64_t ld;
    int64_t batch;        /* 1 for a 2-D tensor */
    int64_t batch_stride; /* 0 when the matrix repeats for every batch */
} matrix_view;

static ax_status check_transpose(ax_transpose t, const char *name) {
    if (t != AX_NO_TRANS && t != AX_TRANS)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: %d is not an ax_transpose (AX_NO_TRANS or AX_TRANS)", name,
                            (int)t);
    return AX_OK;
}

static ax_status check_matrix_tensor(const ax_tensor *t, const char *name, const char *dims2, const char *dims3) {
    if (t == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: NULL tensor", name);
    if (t->ndim != 2 && t->ndim != 3)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: expected 2 dims %s or 3 dims %s, got %d", name, dims2, dims3,
                            (int)t->ndim);
    return ax_check_tensor(t, name, t->ndim, t->ndim == 2 ? dims2 : dims3);
}

static int is_float_dtype(ax_dtype dt) { return dt == AX_F32 || dt == AX_BF16 || dt == AX_F16; }

static ax_status check_dtypes(const ax_tensor *a, const ax_tensor *b, const ax_tensor *c) {
    if (!is_float_dtype(a->dtype))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "a: dtype is %s, expected f32, bf16 or f16",
                            ax_dtype_name(a->dtype));
    if (b->dtype != a->dtype)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "b: dtype is %s, expected %s (a's dtype; a and b share one)",
                            ax_dtype_name(b->dtype), ax_dtype_name(a->dtype));
    if (a->dtype == AX_F32 && c->dtype != AX_F32)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "c: dtype is %s, expected f32 (with f32 a and b)",
                            ax_dtype_name(c->dtype));
    if (c->dtype != a->dtype && c->dtype != AX_F32)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "c: dtype is %s, expected %s or f32 (with %s a and b)",
                            ax_dtype_name(c->dtype), ax_dtype_name(a->dtype), ax_dtype_name(a->dtype));
    return AX_OK;
}

/* `dim_names` names the tensor's last two dims as the caller sees them, e.g. "(K, M)". BLAS takes a
 * matrix whose rows or columns are contiguous, with the other stride (the leading dimension) at
 * least the contiguous dim's size; a dim of size 1 needs no particular stride. */
static ax_status describe_matrix(const ax_tensor *t, const char *name, const char *dim_names, matrix_view *v) {
    const int32_t nd = t->ndim;
    v->t = t;
    v->name = name;
    v->rows = t->shape[nd - 2];
    v->cols = t->shape[nd - 1];
    v->batch = nd == 3 ? t->shape[0] : 1;
    v->batch_stride = (nd == 3 && t->shape[0] > 1) ? t->strides[0] : 0;
    if (v->batch_stride < 0)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: dim 0 (batch) has stride %lld, expected >= 0", name,
                            (long long)v->batch_stride);
    const int64_t srow = t->strides[nd - 2], scol = t->strides[nd - 1];
    const int64_t need_rm = v->cols > 1 ? v->cols : 1, need_cm = v->rows > 1 ? v->rows : 1;
    const int64_t ld_rm = v->rows <= 1 ? need_rm : srow;
    const int64_t ld_cm = v->cols <= 1 ? need_cm : scol;
    if ((scol == 1 || v->cols <= 1) && ld_rm >= need_rm) {
        v->row_major = 1;
        v->ld = ld_rm;
        return AX_OK;
    }
    if ((srow == 1 || v->rows <= 1) && ld_cm >= need_cm) {
        v->row_major = 0;
        v->ld = ld_cm;
        return AX_OK;
    }
    return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                        "%s: matrix dims %s = (%lld, %lld) have strides (%lld, %lld); expected row-major (strides "
                        "(>= %lld, 1)) or column-major (strides (1, >= %lld))",
                        name, dim_names, (long long)v->rows, (long long)v->cols, (long long)srow, (long long)scol,
                        (long long)need_rm, (long long)need_cm);
}

/* a or b against c's batch count. */
static ax_status check_batch(const matrix_view *v, int64_t batch, int c_is_3d) {
    if (v->batch == batch || v->batch == 1) return AX_OK;
    if (!c_is_3d)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: dim 0 (batch) is %lld, expected 1 (c is 2-D: one matrix)",
                            v->name, (long long)v->batch);
    return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                        "%s: dim 0 (batch) is %lld, expected %lld (c's batch) or 1 (broadcast)", v->name, (long long)v->batch, (long long)batch);
}

static ax_status check_blas_int(int64_t value, const char *what) { return ax_check_int32_limit(value, what, "BLAS"); }

static ax_status check_alignment(const ax_tensor *t, const char *name) {
    const size_t size = ax_dtype_size(t->dtype);
    if (t->data != NULL && (uintptr_t)t->data % size != 0)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: data %p is not aligned to its %zu-byte %s elements", name,
                            t->data, size, ax_dtype_name(t->dtype));
    return AX_OK;
}

/* Column-major BLAS reads a row-major matrix as its transpose, so op(X) on the stored matrix is a
 * transpose exactly when one of "the caller asked for X^T" and "X is row-major" holds. */
static gemm_operand operand_of(const matrix_view *v, int transpose) {
    gemm_operand o;
    o.data = v->t->data;
    o.dtype = v->t->dtype;
    o.transpose = transpose ^ v->row_major;
    o.rows = v->row_major ? v->cols : v->rows;
    o.cols = v->row_major ? v->rows : v->cols;
    o.ld = v->ld;
    o.batch_stride = v->batch_stride;
    return o;
}

/* OpenBLAS picks its own instruction set, so one CPU kernel serves every path. */
static const ax_op gemm_op = {
    .name = "gemm",
    .cpu = {gemm_cpu, NULL, NULL},
    .cuda = AX_CUDA_KERNEL(gemm_cuda),
    .cpu_workspace = gemm_cpu_workspace,
    .cuda_workspace = AX_CUDA_KERNEL(gemm_cuda_workspace),
};

ax_status ax_gemm(ax_context *ctx, ax_transpose trans_a, ax_transpose trans_b, float alpha, const ax_tensor *a,
                  const ax_tensor *b, float beta, ax_tensor *c) {
    if (ctx == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "ctx: NULL");
    AX_CHECK(check_transpose(trans_a, "trans_a"));
    AX_CHECK(check_transpose(trans_b, "trans_b"));
    const int ta = trans_a == AX_TRANS, tb = trans_b == AX_TRANS;
    const char *a_dims = ta ? "(K, M)" : "(M, K)";
    const char *b_dims = tb ? "(N, K)" : "(K, N)";
    AX_CHECK(check_matrix_tensor(a, "a", a_dims, ta ? "(batch, K, M)" : "(batch, M, K)"));
    AX_CHECK(check_matrix_tensor(b, "b", b_dims, tb ? "(batch, N, K)" : "(batch, K, N)"));
    AX_CHECK(check_matrix_tensor(c, "c", "(M, N)", "(batch, M, N)"));
    AX_CHECK(check_dtypes(a, b, c));
    AX_CHECK(ax_check_device(a, "a", ctx->device));
    AX_CHECK(ax_check_device(b, "b", ctx->device));
    AX_CHECK(ax_check_device(c, "c", ctx->device));

    matrix_view va, vb, vc;
    AX_CHECK(describe_matrix(a, "a", a_dims, &va));
    AX_CHECK(describe_matrix(b, "b", b_dims, &vb));
    AX_CHECK(describe_matrix(c, "c", "(M, N)", &vc));
    const int64_t M = ta ? va.cols : va.rows, K = ta ? va.rows : va.cols;
    const int64_t b_k = tb ? vb.cols : vb.rows, N = tb ? vb.rows : vb.cols;
    if (b_k != K)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "b: dim %d (K) is %lld, expected %lld (K of a, dim %d)",
                            (int)(b->ndim - (tb ? 1 : 2)), (long long)b_k, (long long)K, (int)(a->ndim - (ta ? 2 : 1)));
    if (vc.rows != M)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "c: dim %d (M) is %lld, expected %lld (M of a, dim %d)",
                            (int)(c->ndim - 2), (long long)vc.rows, (long long)M, (int)(a->ndim - (ta ? 1 : 2)));
    if (vc.cols != N)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "c: dim %d (N) is %lld, expected %lld (N of b, dim %d)",
                            (int)(c->ndim - 1), (long long)vc.cols, (long long)N, (int)(b->ndim - (tb ? 2 : 1)));
    const int64_t batch = vc.batch;
    AX_CHECK(check_batch(&va, batch, c->ndim == 3));
    AX_CHECK(check_batch(&vb, batch, c->ndim == 3));
    AX_CHECK(check_alignment(a, "a"));
    AX_CHECK(check_alignment(b, "b"));
    AX_CHECK(check_alignment(c, "c"));
    AX_CHECK(ax_check_no_self_overlap(c, "c"));
    if (ax_tensors_overlap(c, a))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "c: overlaps a (the output may not share memory with an input)");
    if (ax_tensors_overlap(c, b))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "c: overlaps b (the output may not share memory with an input)");
    AX_CHECK(check_blas_int(M, "M"));
    AX_CHECK(check_blas_int(N, "N"));
    AX_CHECK(check_blas_int(K, "K"));
    AX_CHECK(check_blas_int(va.ld, "a: leading dimension"));
    AX_CHECK(check_blas_int(vb.ld, "b: leading dimension"));
    AX_CHECK(check_blas_int(vc.ld, "c: leading dimension"));
    if (M == 0 || N == 0 || batch == 0) return AX_OK;

    /* c column-major: c = alpha op(a) op(b) + beta c as it stands. c row-major: BLAS sees c^T, so it
     * computes c^T = alpha op(b)^T op(a)^T + beta c^T, with the operands swapped and each op flipped. */
    gemm_params p;
    const int flip = vc.row_major;
    p.m = flip ? N : M;
    p.n = flip ? M : N;
    p.k = K;
    p.batch = batch;
    p.alpha = alpha;
    p.beta = beta;
    p.first = flip ? operand_of(&vb, tb ^ 1) : operand_of(&va, ta);
    p.second = flip ? operand_of(&va, ta ^ 1) : operand_of(&vb, tb);
    p.c = c->data;
    p.c_dtype = c->dtype;
    p.ldc = vc.ld;
    p.c_batch_stride = vc.batch_stride;

    return ax_op_run(&gemm_op, ctx, &p);
}
