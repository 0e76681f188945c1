/*
 * gemm_cpu.c — the CPU backend of ax_gemm: OpenBLAS cblas_sgemm, one call per batch.
 *
 * bf16/f16 operands are widened to fp32 one matrix at a time and handed to sgemm. OpenBLAS's own
 * cblas_sbgemm would skip that for bf16, but Debian 12's libopenblas 0.3.21 is built without
 * BUILD_BFLOAT16: cblas.h declares it and the library does not export it, so a call does not link.
 * Widening costs O(M*K + K*N) against sgemm's O(M*N*K) (see docs/linalg.md for the measured share).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <cblas.h>

#include "core/blas_threads.h"
#include "core/dtype_convert.h"
#include "core/internal.h"
#include "linalg/gemm_params.h"

static size_t element_size(ax_dtype dt) { return dt == AX_F32 ? sizeof(float) : sizeof(uint16_t); }

static const void *matrix_at(const void *base, ax_dtype dt, int64_t offset) {
    return (const char *)base + (size_t)offset * element_size(dt);
}

/* A column-major rows x cols 16-bit matrix with leading dimension ld, widened into packed fp32
 * (leading dimension rows). */
static void widen(const void *src, ax_dtype dt, int64_t rows, int64_t cols, int64_t ld, float *dst,
                  const ax_convert_kernels *kernels) {
    void (*convert)(const uint16_t *, float *, int64_t) = dt == AX_BF16 ? kernels->bf16_to_f32 : kernels->f16_to_f32;
    const uint16_t *s = src;
    if (ld == rows || cols == 1) {
        convert(s, dst, rows * cols);
        return;
    }
    for (int64_t j = 0; j < cols; j++) convert(s + j * ld, dst + j * rows, rows);
}

/* The inverse of widen: packed fp32 rounded (nearest even) into the 16-bit matrix. */
static void narrow(const float *src, int64_t rows, int64_t cols, void *dst, ax_dtype dt, int64_t ld,
                   const ax_convert_kernels *kernels) {
    void (*convert)(const float *, uint16_t *, int64_t) = dt == AX_BF16 ? kernels->f32_to_bf16 : kernels->f32_to_f16;
    uint16_t *d = dst;
    if (ld == rows || cols == 1) {
        convert(src, d, rows * cols);
        return;
    }
    for (int64_t j = 0; j < cols; j++) convert(src + j * rows, d + j * ld, rows);
}

/* alpha == 0 or k == 0: c = beta * c, computed in fp32 and rounded once to c's dtype. beta == 0
 * writes zeros without reading c, as BLAS does. */
static void scale_c(const gemm_params *p) {
    if (p->beta == 1.0f) return;
    const float beta = p->beta;
    for (int64_t bt = 0; bt < p->batch; bt++) {
        for (int64_t j = 0; j < p->n; j++) {
            const int64_t col = bt * p->c_batch_stride + j * p->ldc;
            if (p->c_dtype == AX_F32) {
                float *c = (float *)p->c + col;
                for (int64_t i = 0; i < p->m; i++) c[i] = beta == 0.0f ? 0.0f : beta * c[i];
            } else if (p->c_dtype == AX_BF16) {
                uint16_t *c = (uint16_t *)p->c + col;
                for (int64_t i = 0; i < p->m; i++)
                    c[i] = beta == 0.0f ? 0 : ax_f32_to_bf16(beta * ax_bf16_to_f32(c[i]));
            } else {
                uint16_t *c = (uint16_t *)p->c + col;
                for (int64_t i = 0; i < p->m; i++)
                    c[i] = beta == 0.0f ? 0 : ax_f32_to_f16(beta * ax_f16_to_f32(c[i]));
            }
        }
    }
}

static enum CBLAS_TRANSPOSE cblas_op(int transpose) { return transpose ? CblasTrans : CblasNoTrans; }

/* fp32 copies of the 16-bit operands (and of a 16-bit c): OpenBLAS multiplies fp32 only. */
static void widened_floats(const gemm_params *p, int64_t *x_floats, int64_t *y_floats, int64_t *c_floats) {
    const int none = p->alpha == 0.0f || p->k == 0; /* c = beta * c reads neither operand */
    *x_floats = !none && p->first.dtype != AX_F32 ? p->first.rows * p->first.cols : 0;
    *y_floats = !none && p->second.dtype != AX_F32 ? p->second.rows * p->second.cols : 0;
    *c_floats = !none && p->c_dtype != AX_F32 ? p->m * p->n : 0;
}

ax_status gemm_cpu_workspace(const ax_context *ctx, const void *params, ax_op_workspace *need) {
    (void)ctx;
    int64_t x_floats, y_floats, c_floats;
    widened_floats(params, &x_floats, &y_floats, &c_floats);
    need->host_bytes = (x_floats + y_floats + c_floats) * (int64_t)sizeof(float);
    return AX_OK;
}

ax_status gemm_cpu(const ax_op_call *call) {
    const gemm_params *p = call->params;
    if (p->alpha == 0.0f || p->k == 0) {
        scale_c(p);
        return AX_OK;
    }
    const gemm_operand *x = &p->first, *y = &p->second;
    const int widen_x = x->dtype != AX_F32, widen_y = y->dtype != AX_F32, widen_c = p->c_dtype != AX_F32;
    int64_t x_floats, y_floats, c_floats;
    widened_floats(p, &x_floats, &y_floats, &c_floats);
    float *scratch = call->host_ws;
    float *x32 = scratch, *y32 = scratch + x_floats, *c32 = scratch + x_floats + y_floats;
    const ax_convert_kernels *kernels = ax_convert_kernels_active();

    /* OpenBLAS has one process-wide thread count; set the context's for this call only. */
    ax_blas_threads_begin((int)call->ctx->num_threads);

    const int m = (int)p->m, n = (int)p->n, k = (int)p->k;
    for (int64_t bt = 0; bt < p->batch; bt++) {
        const void *xb = matrix_at(x->data, x->dtype, bt * x->batch_stride);
        const void *yb = matrix_at(y->data, y->dtype, bt * y->batch_stride);
        /* A broadcast operand (batch stride 0) is widened once for every batch. */
        if (widen_x && (bt == 0 || x->batch_stride != 0)) widen(xb, x->dtype, x->rows, x->cols, x->ld, x32, kernels);
        if (widen_y && (bt == 0 || y->batch_stride != 0)) widen(yb, y->dtype, y->rows, y->cols, y->ld, y32, kernels);
        const float *xa = widen_x ? x32 : (const float *)xb;
        const float *ya = widen_y ? y32 : (const float *)yb;
        const int ldx = widen_x ? (int)x->rows : (int)x->ld;
        const int ldy = widen_y ? (int)y->rows : (int)y->ld;
        void *cb = (char *)p->c + (size_t)(bt * p->c_batch_stride) * element_size(p->c_dtype);
        if (widen_c) {
            if (p->beta != 0.0f) widen(cb, p->c_dtype, p->m, p->n, p->ldc, c32, kernels);
            cblas_sgemm(CblasColMajor, cblas_op(x->transpose), cblas_op(y->transpose), m, n, k, p->alpha, xa, ldx, ya,
                        ldy, p->beta, c32, m);
            narrow(c32, p->m, p->n, cb, p->c_dtype, p->ldc, kernels);
        } else {
            cblas_sgemm(CblasColMajor, cblas_op(x->transpose), cblas_op(y->transpose), m, n, k, p->alpha, xa, ldx, ya,
                        ldy, p->beta, (float *)cb, (int)p->ldc);
        }
    }

    ax_blas_threads_end();
    return AX_OK;
}
