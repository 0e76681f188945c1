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

#include "core/cuda/convert.cuh"
#include "core/internal.h"
#include "linalg/gemm_params.h"

namespace {

ax_status cuda_failure(cudaError_t err, const char *what) {
    cudaGetLastError(); /* clear a non-sticky error so the next call does not report it again */
    return ax_set_error(AX_ERR_CUDA, "gemm: %s: %s (%s)", what, cudaGetErrorString(err), cudaGetErrorName(err));
}

ax_status cublas_failure(cublasStatus_t st, const char *what) {
    ax_status code = AX_ERR_CUDA;
    if (st == CUBLAS_STATUS_NOT_SUPPORTED || st == CUBLAS_STATUS_ARCH_MISMATCH) code = AX_ERR_UNSUPPORTED;
    if (st == CUBLAS_STATUS_ALLOC_FAILED) code = AX_ERR_OUT_OF_MEMORY;
    return ax_set_error(code, "gemm: %s: %s (%s)", what, cublasGetStatusString(st), cublasGetStatusName(st));
}

/* Makes the context's device current for the call and puts the caller's back afterwards. */
struct current_device {
    int previous = -1;
    ax_status enter(const ax_context *ctx) {
        cudaError_t err = cudaGetDevice(&previous);
        if (err != cudaSuccess) {
            previous = -1;
            return cuda_failure(err, "cudaGetDevice");
        }
        if (previous != ctx->device.id && (err = cudaSetDevice(ctx->device.id)) != cudaSuccess) {
            previous = -1;
            return cuda_failure(err, "cudaSetDevice");
        }
        return AX_OK;
    }
    ~current_device() {
        int now = -1;
        if (previous >= 0 && cudaGetDevice(&now) == cudaSuccess && now != previous) cudaSetDevice(previous);
    }
};

cudaDataType cuda_type(ax_dtype dt) {
    return dt == AX_BF16 ? CUDA_R_16BF : dt == AX_F16 ? CUDA_R_16F : CUDA_R_32F;
}

size_t element_size(ax_dtype dt) { return dt == AX_F32 ? 4 : 2; }

cublasOperation_t cublas_op(int transpose) { return transpose ? CUBLAS_OP_T : CUBLAS_OP_N; }

/* c = beta * c over `batch` column-major m x n matrices; beta == 0 writes zeros without reading. */
template <typename T>
__global__ void scale_c_kernel(T *c, int64_t m, int64_t n, int64_t ldc, int64_t batch_stride, int64_t total,
                               float beta) {
    const int64_t step = (int64_t)gridDim.x * blockDim.x;
    for (int64_t idx = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; idx < total; idx += step) {
        const int64_t i = idx % m, rest = idx / m;
        const int64_t j = rest % n, bt = rest / n;
        T *e = c + bt * batch_stride + j * ldc + i;
        *e = from_f32<T>(beta == 0.0f ? 0.0f : beta * to_f32(*e));
    }
}

template <typename T> void launch_scale(const gemm_params *p, cudaStream_t stream) {
    const int threads = 256;
    const int64_t total = p->batch * p->m * p->n;
    const int64_t wanted = (total + threads - 1) / threads;
    const unsigned blocks = (unsigned)(wanted < (1 << 20) ? wanted : (1 << 20)); /* grid-stride past this */
    scale_c_kernel<T><<<blocks, threads, 0, stream>>>(static_cast<T *>(p->c), p->m, p->n, p->ldc, p->c_batch_stride,
                                                      total, p->beta);
}

} // namespace

extern "C" ax_status gemm_cuda(ax_context *ctx, const gemm_params *p) {
    current_device device;
    AX_CHECK(device.enter(ctx));
    cudaStream_t stream = (cudaStream_t)ctx->cuda_stream;
    if (p->alpha == 0.0f || p->k == 0) {
        if (p->beta == 1.0f) return AX_OK;
        if (p->c_dtype == AX_BF16)
            launch_scale<__nv_bfloat16>(p, stream);
        else if (p->c_dtype == AX_F16)
            launch_scale<__half>(p, stream);
        else
            launch_scale<float>(p, stream);
        const cudaError_t err = cudaGetLastError();
        if (err != cudaSuccess) return cuda_failure(err, "scale_c_kernel launch");
        return AX_OK;
    }

    void *handle = NULL;
    AX_CHECK(ax_cuda_blas_handle(ctx, &handle));
    const gemm_operand *x = &p->first, *y = &p->second;
    const cudaDataType ab_type = cuda_type(x->dtype), c_type = cuda_type(p->c_dtype);
    for (int64_t done = 0; done < p->batch;) {
        const int64_t count = p->batch - done < INT_MAX ? p->batch - done : INT_MAX;
        const char *xb = static_cast<const char *>(x->data) + (size_t)(done * x->batch_stride) * element_size(x->dtype);
        const char *yb = static_cast<const char *>(y->data) + (size_t)(done * y->batch_stride) * element_size(y->dtype);
        char *cb = static_cast<char *>(p->c) + (size_t)(done * p->c_batch_stride) * element_size(p->c_dtype);
        const cublasStatus_t st = cublasGemmStridedBatchedEx(
            static_cast<cublasHandle_t>(handle), cublas_op(x->transpose), cublas_op(y->transpose), (int)p->m,
            (int)p->n, (int)p->k, &p->alpha, xb, ab_type, (int)x->ld, (long long)x->batch_stride, yb, ab_type,
            (int)y->ld, (long long)y->batch_stride, &p->beta, cb, c_type, (int)p->ldc, (long long)p->c_batch_stride,
            (int)count, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
        if (st != CUBLAS_STATUS_SUCCESS) return cublas_failure(st, "cublasGemmStridedBatchedEx");
        done += count;
    }
    return AX_OK;
}
