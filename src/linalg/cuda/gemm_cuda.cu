/*
 * gemm_cuda.cu — the CUDA backend of ax_gemm: one cublasGemmStridedBatchedEx per call (per 2^31 - 1
 * batches), fp32 compute, on the context's stream and lazily made cuBLAS handle. cuBLASLt would
 * add epilogues and explicit algorithm choice; nothing here needs them yet, and the plain API keeps
 * no workspace of ours.
 *
 * alpha == 0 or k == 0 do not go to cuBLAS: a small kernel sets c = beta * c, so that a and b are
 * never read (BLAS semantics, which cuBLAS does not promise for these cases) and no k = 0 call
 * depends on how a given cuBLAS version treats it.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <limits.h>
#include <stdint.h>

#include "core/cuda/blas_scope.cuh"
#include "core/cuda/convert.cuh"
#include "core/cuda/launch.cuh"
#include "core/cuda/device.h"
#include "core/internal.h"
#include "linalg/gemm_params.h"

namespace {

ax_status cublas_failure(cublasStatus_t st, const char *what) {
    ax_status code = AX_ERR_CUDA;
    if (st == CUBLAS_STATUS_NOT_SUPPORTED || st == CUBLAS_STATUS_ARCH_MISMATCH) code = AX_ERR_UNSUPPORTED;
    if (st == CUBLAS_STATUS_ALLOC_FAILED) code = AX_ERR_OUT_OF_MEMORY;
    return ax_set_error(code, "gemm: %s: %s (%s)", what, cublasGetStatusString(st), cublasGetStatusName(st));
}

cudaDataType cuda_type(ax_dtype dt) {
    return dt == AX_BF16 ? CUDA_R_16BF : dt == AX_F16 ? CUDA_R_16F : CUDA_R_32F;
}

size_t element_size(ax_dtype dt) { return dt == AX_F32 ? 4 : 2; }

cublasOperation_t cublas_op(int transpose) { return transpose ? CUBLAS_OP_T : CUBLAS_OP_N; }

/* What scale_c_kernel receives by value (one params struct, so ax_cuda_launch can pass it). */
template <typename T> struct scale_args {
    T *c;
    int64_t m, n, ldc, batch_stride, total;
    float beta;
};

/* c = beta * c over `batch` column-major m x n matrices; beta == 0 writes zeros without reading. */

template <typename T>
__global__ void scale_c_kernel(const scale_args<T> a) {
    const int64_t step = (int64_t)gridDim.x * blockDim.x;
    for (int64_t idx = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; idx < a.total; idx += step) {
        const int64_t i = idx % a.m, rest = idx / a.m;
        const int64_t j = rest % a.n, bt = rest / a.n;
        T *e = a.c + bt * a.batch_stride + j * a.ldc + i;
        *e = from_f32<T>(a.beta == 0.0f ? 0.0f : a.beta * to_f32(*e));
    }
}

template <typename T> ax_status launch_scale(const gemm_params *p, cudaStream_t stream) {
    const int threads = 256;
    scale_args<T> a;
    a.c = static_cast<T *>(p->c);
    a.m = p->m;
    a.n = p->n;
    a.ldc = p->ldc;
    a.batch_stride = p->c_batch_stride;
    a.total = p->batch * p->m * p->n;
    a.beta = p->beta;
    const int64_t wanted = ceil_div(a.total, threads);
    const int64_t blocks = wanted < (1 << 20) ? wanted : (1 << 20); /* grid-stride past this */
    return ax_cuda_launch(scale_c_kernel<T>, "gemm: scale_c_kernel", blocks, threads, 0, stream, a);
}

} // namespace

/* The workspace cuBLAS is given: what NVIDIA recommends for its GEMM heuristics (32 MiB on Hopper,
 * 4 MiB before), within the context's limit. None when only c is scaled. */
extern "C" ax_status gemm_cuda_workspace(const ax_context *ctx, const void *params, ax_op_workspace *need) {
    const gemm_params *p = static_cast<const gemm_params *>(params);
    if (p->alpha == 0.0f || p->k == 0) return AX_OK;
    const ax_cuda_device_props *props = ax_cuda_props(ctx);
    need->device_bytes = (props != NULL && props->cc_major >= 9 ? 32 : 4) * ((int64_t)1 << 20);
    /* cuBLAS runs with less (or none), so a tight workspace limit shrinks it rather than failing. */
    if (ctx->workspace_limit > 0 && need->device_bytes > ctx->workspace_limit) need->device_bytes = ctx->workspace_limit;
    return AX_OK;
}

/* The op table (ax_op_run) has made the context's device current. */
extern "C" ax_status gemm_cuda(const ax_op_call *call) {
    ax_context *ctx = call->ctx;
    const gemm_params *p = static_cast<const gemm_params *>(call->params);
    cudaStream_t stream = (cudaStream_t)ctx->cuda_stream;
    if (p->alpha == 0.0f || p->k == 0) {
        if (p->beta == 1.0f) return AX_OK;
        if (p->c_dtype == AX_BF16) return launch_scale<__nv_bfloat16>(p, stream);
        if (p->c_dtype == AX_F16) return launch_scale<__half>(p, stream);
        return launch_scale<float>(p, stream);
    }

    /* cuBLAS's own workspace is the block the op table took from the context's pool: counted in
     * the workspace peak and limit, and no cudaMalloc of cuBLAS's inside a CUDA-graph capture. */
    ax_cuda_blas_scope blas;
    cublasStatus_t ws_st = CUBLAS_STATUS_SUCCESS;
    AX_CHECK(blas.begin(ctx, call->device_ws, (size_t)call->workspace.device_bytes, &ws_st));
    if (ws_st != CUBLAS_STATUS_SUCCESS) return cublas_failure(ws_st, "cublasSetWorkspace");
    const cublasHandle_t handle = blas.handle();
    const gemm_operand *x = &p->first, *y = &p->second;
    const cudaDataType ab_type = cuda_type(x->dtype), c_type = cuda_type(p->c_dtype);
    for (int64_t done = 0; done < p->batch;) {
        const int64_t count = p->batch - done < INT_MAX ? p->batch - done : INT_MAX;
        const char *xb = static_cast<const char *>(x->data) + (size_t)(done * x->batch_stride) * element_size(x->dtype);
        const char *yb = static_cast<const char *>(y->data) + (size_t)(done * y->batch_stride) * element_size(y->dtype);
        char *cb = static_cast<char *>(p->c) + (size_t)(done * p->c_batch_stride) * element_size(p->c_dtype);
        const cublasStatus_t st = cublasGemmStridedBatchedEx(
            handle, cublas_op(x->transpose), cublas_op(y->transpose), (int)p->m,
            (int)p->n, (int)p->k, &p->alpha, xb, ab_type, (int)x->ld, (long long)x->batch_stride, yb, ab_type,
            (int)y->ld, (long long)y->batch_stride, &p->beta, cb, c_type, (int)p->ldc, (long long)p->c_batch_stride,
            (int)count, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
        if (st != CUBLAS_STATUS_SUCCESS) return cublas_failure(st, "cublasGemmStridedBatchedEx");
        done += count;
    }
    return AX_OK;
}
