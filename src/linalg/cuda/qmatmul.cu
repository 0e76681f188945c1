/*
 * qmatmul.cu — the CUDA backend of ax_qmatmul.
 *
 * Decode (M <= 8, or K == 0): one warp per output column n reads w's row n once; each lane takes
 * 32-element pieces of the row (a q4_0 / q4_1 / q8_0 block, a 32-element sub-block of q4_k / q6_k,
 * or 32 plain elements), decodes them in registers with the same per-element arithmetic as the
 * library's dequantization (core/quant_blocks.h), and dots them with every row of x; the warp's sums
 * are reduced by shuffles in a fixed order.
 *
 * Prefill (M > 8): w is decoded, a slice of rows at a time, into an fp32 scratch in the device
 * workspace; x is widened to fp32 there too when it is bf16; cuBLAS multiplies in fp32
 * (CUBLAS_COMPUTE_32F, no TF32) into an fp32 scratch; an epilogue adds bias and rounds into y. Every
 * step is queued on the context's stream; nothing synchronises the host.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <limits.h>
#include <stdint.h>

#include "core/cuda/blas_scope.cuh"
#include "core/cuda/device.h"
#include "core/cuda/launch.cuh"
#include "core/cuda/reduce.cuh"
#include "core/dtype_traits.h"
#include "core/internal.h"
#include "core/quant_blocks.h"
#include "linalg/cuda/qmm_decode.cuh"
#include "linalg/qmatmul_params.h"

namespace {

constexpr int kGemvWarps = 4;        /* output columns per thread block */
constexpr int kGemvMaxRows = 8;      /* rows of x one decode launch serves */
constexpr int kThreads = 256;
constexpr int64_t kSliceBytes = (int64_t)64 << 20; /* fp32 w slice plus its fp32 product */

/* One warp per column n, rows [m0, m0 + rows) of x, rows <= kGemvMaxRows. */
struct gemv_args {
    qmatmul_params p;
    int64_t m0;
    int rows;
};

__global__ void __launch_bounds__(kGemvWarps * 32) qmatmul_gemv_kernel(const gemv_args a) {
    const qmatmul_params &p = a.p;
    const int lane = threadIdx.x & 31;
    const int64_t n = (int64_t)blockIdx.x * kGemvWarps + (threadIdx.x >> 5);
    if (n >= p.N) return; /* whole warps leave together: the shuffles below stay full-warp */
    const uint8_t *row = static_cast<const uint8_t *>(p.w) + n * p.w_row_bytes;
    float acc[kGemvMaxRows];
#pragma unroll
    for (int m = 0; m < kGemvMaxRows; m++) acc[m] = 0.0f;
    const int64_t pieces = (p.K + 31) / 32;
    for (int64_t c = lane; c < pieces; c += 32) {
        float v[32];
        decode_piece(p.w_dtype, row, c, p.K, v);
#pragma unroll
        for (int m = 0; m < kGemvMaxRows; m++) {
            if (m >= a.rows) break;
            const int64_t xoff = (a.m0 + m) * p.x_row_stride + 32 * c;
            float s = 0.0f;
#pragma unroll
            for (int i = 0; i < 32; i++)
                if (32 * c + i < p.K) s = fmaf(v[i], ax_elem_load_f32(p.x, xoff + i, p.x_dtype), s);
            acc[m] += s;
        }
    }
    const float b = p.bias != nullptr ? p.bias[n] : 0.0f;
#pragma unroll
    for (int m = 0; m < kGemvMaxRows; m++) {
        if (m >= a.rows) break;
        const float total = warp_sum(acc[m]);
        if (lane == 0) ax_elem_store_f32(p.y, (a.m0 + m) * p.y_row_stride + n, p.y_dtype, total + b);
    }
}

/* ---- prefill ---- */

struct decode_args {
    qmatmul_params p;
    float *out;         /* (rows, K) fp32 */
    int64_t n0, rows;
};

/* One thread per 32-element piece of the slice's rows. */
__global__ void qmatmul_decode_kernel(const decode_args a) {
    const int64_t pieces = a.p.K / 32 + (a.p.K % 32 != 0), total = a.rows * pieces;
    for (int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; t < total; t += (int64_t)gridDim.x * blockDim.x) {
        const int64_t r = t / pieces, c = t % pieces;
        const uint8_t *row = static_cast<const uint8_t *>(a.p.w) + (a.n0 + r) * a.p.w_row_bytes;
        float v[32];
        decode_piece(a.p.w_dtype, row, c, a.p.K, v);
        float *dst = a.out + r * a.p.K + 32 * c;
        for (int i = 0; i < 32 && 32 * c + i < a.p.K; i++) dst[i] = v[i];
    }
}

struct widen_args {
    qmatmul_params p;
    float *out;         /* (M, K) fp32 */
};

__global__ void qmatmul_widen_x_kernel(const widen_args a) {
    const int64_t total = a.p.M * a.p.K;
    for (int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; t < total; t += (int64_t)gridDim.x * blockDim.x) {
        const int64_t m = t / a.p.K, k = t % a.p.K;
        a.out[t] = ax_elem_load_f32(a.p.x, m * a.p.x_row_stride + k, a.p.x_dtype);
    }
}

struct epilogue_args {
    qmatmul_params p;
    const float *c;     /* column-major (rows, M): element (r, m) at r + m * rows */
    int64_t n0, rows;
};

__global__ void qmatmul_epilogue_kernel(const epilogue_args a) {
    const int64_t total = a.rows * a.p.M;
    for (int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; t < total; t += (int64_t)gridDim.x * blockDim.x) {
        const int64_t r = t % a.rows, m = t / a.rows, n = a.n0 + r;
        const float b = a.p.bias != nullptr ? a.p.bias[n] : 0.0f;
        ax_elem_store_f32(a.p.y, m * a.p.y_row_stride + n, a.p.y_dtype, a.c[t] + b);
    }
}

int64_t grid_for(int64_t total) {
    const int64_t blocks = ceil_div(total, kThreads);
    return blocks < 1 ? 1 : blocks > (1 << 20) ? (1 << 20) : blocks; /* grid-stride past this */
}

int64_t round256(int64_t bytes) { return (bytes + 255) / 256 * 256; }

bool uses_gemv(const qmatmul_params *p) { return p->M <= kGemvMaxRows || p->K == 0; }

/* The device scratch plan of the prefill path: cuBLAS's workspace, x in fp32 (bf16 x only), then
 * per slice of `slice_rows` rows of w their fp32 decode and the fp32 product. */
struct prefill_plan {
    int64_t blas_bytes, x_bytes, slice_rows, slice_w_bytes, slice_c_bytes;
    int64_t total() const { return blas_bytes + x_bytes + slice_w_bytes + slice_c_bytes; }
};

prefill_plan plan_prefill(const ax_context *ctx, const qmatmul_params *p) {
    prefill_plan plan;
    const ax_cuda_device_props *props = ax_cuda_props(ctx);
    plan.blas_bytes = (props != NULL && props->cc_major >= 9 ? 32 : 4) * ((int64_t)1 << 20);
    plan.x_bytes = p->x_dtype == AX_F32 ? 0 : round256(p->M * p->K * 4);
    const int64_t per_row = (p->K + p->M) * 4;
    int64_t rows = kSliceBytes / per_row;
    rows = rows < 1 ? 1 : rows > p->N ? p->N : rows;
    /* Under a tight workspace limit (as gemm_cuda_workspace does): cuBLAS runs without a workspace of
     * its own, and the slices shrink to what is left (one row at least; below that the reservation
     * fails with the limit named). */
    const int64_t limit = ctx->workspace_limit;
    const int64_t slices = round256(rows * p->K * 4) + round256(rows * p->M * 4);
    if (limit > 0 && plan.blas_bytes + plan.x_bytes + slices > limit) {
        plan.blas_bytes = 0;
        const int64_t fit = (limit - plan.x_bytes - 512) / per_row; /* 512: the two slices' rounding */
        rows = fit < 1 ? 1 : fit < rows ? fit : rows;
    }
    plan.slice_rows = rows;
    plan.slice_w_bytes = round256(rows * p->K * 4);
    plan.slice_c_bytes = round256(rows * p->M * 4);
    return plan;
}

ax_status cublas_failure(cublasStatus_t st, const char *what) {
    ax_status code = AX_ERR_CUDA;
    if (st == CUBLAS_STATUS_NOT_SUPPORTED || st == CUBLAS_STATUS_ARCH_MISMATCH) code = AX_ERR_UNSUPPORTED;
    if (st == CUBLAS_STATUS_ALLOC_FAILED) code = AX_ERR_OUT_OF_MEMORY;
    return ax_set_error(code, "qmatmul: %s: %s (%s)", what, cublasGetStatusString(st), cublasGetStatusName(st));
}

ax_status run_prefill(const ax_op_call *call, const qmatmul_params *p, cudaStream_t stream) {
    const prefill_plan plan = plan_prefill(call->ctx, p);
    const int64_t ldx = p->x_dtype == AX_F32 ? p->x_row_stride : p->K;
    if (p->M > INT_MAX || p->K > INT_MAX || plan.slice_rows > INT_MAX || ldx > INT_MAX)
        return ax_set_error(AX_ERR_UNSUPPORTED, "qmatmul: M = %lld, K = %lld or x's row stride %lld is above cuBLAS's "
                            "limit of 2^31 - 1", (long long)p->M, (long long)p->K, (long long)ldx);
    char *ws = static_cast<char *>(call->device_ws);
    void *blas_ws = ws;
    const float *x32 = static_cast<const float *>(p->x);
    if (p->x_dtype != AX_F32) {
        widen_args wa;
        wa.p = *p;
        wa.out = reinterpret_cast<float *>(ws + plan.blas_bytes);
        AX_CHECK(ax_cuda_launch(qmatmul_widen_x_kernel, "qmatmul_widen_x_kernel", grid_for(p->M * p->K), kThreads, 0,
                                stream, wa));
        x32 = wa.out;
    }
    float *w32 = reinterpret_cast<float *>(ws + plan.blas_bytes + plan.x_bytes);
    float *c32 = reinterpret_cast<float *>(ws + plan.blas_bytes + plan.x_bytes + plan.slice_w_bytes);

    /* cuBLAS's workspace is ours for this call, and handed back at every return. */
    ax_cuda_blas_scope blas;
    cublasStatus_t st = CUBLAS_STATUS_SUCCESS;
    AX_CHECK(blas.begin(call->ctx, blas_ws, (size_t)plan.blas_bytes, &st));
    if (st != CUBLAS_STATUS_SUCCESS) return cublas_failure(st, "cublasSetWorkspace");
    const cublasHandle_t h = blas.handle();
    const float one = 1.0f, zero = 0.0f;
    for (int64_t n0 = 0; n0 < p->N; n0 += plan.slice_rows) {
        const int64_t rows = p->N - n0 < plan.slice_rows ? p->N - n0 : plan.slice_rows;
        decode_args da;
        da.p = *p;
        da.out = w32;
        da.n0 = n0;
        da.rows = rows;
        AX_CHECK(ax_cuda_launch(qmatmul_decode_kernel, "qmatmul_decode_kernel", grid_for(rows * ((p->K + 31) / 32)),
                                kThreads, 0, stream, da));
        /* Column-major: C (rows x M) = W_slice^T (rows x K, stored K x rows) times X^T (K x M). */
        st = cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, (int)rows, (int)p->M, (int)p->K, &one, w32, CUDA_R_32F,
                          (int)p->K, x32, CUDA_R_32F, (int)ldx, &zero, c32, CUDA_R_32F, (int)rows, CUBLAS_COMPUTE_32F,
                          CUBLAS_GEMM_DEFAULT);
        if (st != CUBLAS_STATUS_SUCCESS) return cublas_failure(st, "cublasGemmEx");
        epilogue_args ea;
        ea.p = *p;
        ea.c = c32;
        ea.n0 = n0;
        ea.rows = rows;
        AX_CHECK(ax_cuda_launch(qmatmul_epilogue_kernel, "qmatmul_epilogue_kernel", grid_for(rows * p->M), kThreads, 0,
                                stream, ea));
    }
    return AX_OK;
}

} /* namespace */

extern "C" ax_status qmatmul_cuda_workspace(const ax_context *ctx, const void *params, ax_op_workspace *need) {
    const qmatmul_params *p = static_cast<const qmatmul_params *>(params);
    if (uses_gemv(p)) return AX_OK;
    need->device_bytes = plan_prefill(ctx, p).total();
    return AX_OK;
}

/* The op table has made the context's device current. */
extern "C" ax_status qmatmul_cuda(const ax_op_call *call) {
    const qmatmul_params *p = static_cast<const qmatmul_params *>(call->params);
    /* Fused products (qmatmul_fused.h) are a CPU form; on a device they arrive as separate calls. */
    if (p->n_parts != 0) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "qmatmul: fused products are CPU only");
    cudaStream_t stream = static_cast<cudaStream_t>(call->ctx->cuda_stream);
    if (!uses_gemv(p)) return run_prefill(call, p, stream);
    for (int64_t m0 = 0; m0 < p->M; m0 += kGemvMaxRows) {
        gemv_args a;
        a.p = *p;
        a.m0 = m0;
        a.rows = (int)(p->M - m0 < kGemvMaxRows ? p->M - m0 : kGemvMaxRows);
        AX_CHECK(ax_cuda_launch(qmatmul_gemv_kernel, "qmatmul_gemv_kernel", ceil_div(p->N, kGemvWarps),
                                kGemvWarps * 32, 0, stream, a));
    }
    return AX_OK;
}
