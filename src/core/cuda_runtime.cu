/*
 * cuda_runtime.cu — the CUDA side of the core: device discovery, per-context cuBLAS handle (made
 * lazily) and device scratch. C ABI only; nothing here throws or prints.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <string.h>

#include "core/internal.h"

static ax_status cuda_error(cudaError_t err, const char *what) {
    return ax_set_error(AX_ERR_CUDA, "%s: %s (%s)", what, cudaGetErrorString(err), cudaGetErrorName(err));
}

extern "C" int ax_cuda_count_devices(void) {
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess) {
        cudaGetLastError(); /* a missing driver is "no device", not a sticky error */
        return 0;
    }
    return count;
}

extern "C" ax_status ax_cuda_query_device(int32_t id, char *name, size_t name_size, int64_t *total_memory) {
    cudaDeviceProp prop;
    cudaError_t err = cudaGetDeviceProperties(&prop, id);
    if (err != cudaSuccess) return cuda_error(err, "cudaGetDeviceProperties");
    strncpy(name, prop.name, name_size - 1);
    name[name_size - 1] = '\0';
    *total_memory = (int64_t)prop.totalGlobalMem;
    return AX_OK;
}

extern "C" ax_status ax_cuda_context_init(ax_context *ctx) {
    const int count = ax_cuda_count_devices();
    if (count == 0)
        return ax_set_error(AX_ERR_UNSUPPORTED, "cfg->device: CUDA requested, but no CUDA device is present");
    if (ctx->device.id >= count)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "cfg->device.id: %d, but only %d CUDA device(s) present",
                            (int)ctx->device.id, count);
    cudaError_t err = cudaSetDevice(ctx->device.id);
    if (err != cudaSuccess) return cuda_error(err, "cudaSetDevice");
    /* No cuBLAS handle here: creating one costs time and device memory, and most contexts never run
     * a GEMM. ax_cuda_blas_handle makes it at the first cuBLAS op. */
    return AX_OK;
}

extern "C" ax_status ax_cuda_blas_handle(ax_context *ctx, void **out) {
    if (ctx->cublas_handle == NULL) {
        cublasHandle_t handle = NULL;
        cublasStatus_t st = cublasCreate(&handle);
        if (st != CUBLAS_STATUS_SUCCESS)
            return ax_set_error(st == CUBLAS_STATUS_ALLOC_FAILED ? AX_ERR_OUT_OF_MEMORY : AX_ERR_CUDA,
                                "cublasCreate on device %d: %s", (int)ctx->device.id, cublasGetStatusString(st));
        st = cublasSetStream(handle, (cudaStream_t)ctx->cuda_stream);
        /* Tensor cores for bf16/fp16 (the default math mode), but every reduction in fp32: cuBLAS may
         * otherwise sum split-K partials in the output's 16-bit type. fp32 GEMMs ask for
         * CUBLAS_COMPUTE_32F, which never uses TF32 whatever the math mode. */
        if (st == CUBLAS_STATUS_SUCCESS)
            st = cublasSetMathMode(handle, (cublasMath_t)(CUBLAS_DEFAULT_MATH |
                                                          CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION));
        if (st != CUBLAS_STATUS_SUCCESS) {
            cublasDestroy(handle);
            return ax_set_error(AX_ERR_CUDA, "configuring the cuBLAS handle on device %d: %s", (int)ctx->device.id,
                                cublasGetStatusString(st));
        }
        ctx->cublas_handle = handle;
    }
    *out = ctx->cublas_handle;
    return AX_OK;
}

extern "C" void ax_cuda_context_release(ax_context *ctx) {
    if (ctx->cublas_handle != NULL) {
        /* The handle belongs to the context's device, which need not be the caller's current one. */
        int previous = -1;
        const int switched = cudaGetDevice(&previous) == cudaSuccess && previous != ctx->device.id &&
                             cudaSetDevice(ctx->device.id) == cudaSuccess;
        cublasDestroy((cublasHandle_t)ctx->cublas_handle);
        if (switched) cudaSetDevice(previous);
    }
    if (ctx->device_scratch != NULL) cudaFree(ctx->device_scratch);
    ctx->cublas_handle = NULL;
    ctx->device_scratch = NULL;
    ctx->device_scratch_bytes = 0;
}

extern "C" ax_status ax_cuda_scratch(ax_context *ctx, int64_t bytes, void **out) {
    if (bytes <= ctx->device_scratch_bytes) {
        *out = ctx->device_scratch;
        return AX_OK;
    }
    if (ctx->workspace_limit > 0 && bytes > ctx->workspace_limit)
        return ax_set_error(AX_ERR_OUT_OF_MEMORY, "workspace: %lld bytes needed, limit is %lld", (long long)bytes,
                            (long long)ctx->workspace_limit);
    /* The old buffer may still be in use by queued work on the stream: wait before freeing it. */
    if (ctx->device_scratch != NULL) {
        cudaStreamSynchronize((cudaStream_t)ctx->cuda_stream);
        cudaFree(ctx->device_scratch);
        ctx->device_scratch = NULL;
        ctx->device_scratch_bytes = 0;
    }
    void *p = NULL;
    cudaError_t err = cudaMalloc(&p, (size_t)bytes);
    if (err != cudaSuccess) {
        cudaGetLastError();
        return ax_set_error(AX_ERR_OUT_OF_MEMORY, "cudaMalloc of %lld bytes of scratch: %s", (long long)bytes,
                            cudaGetErrorString(err));
    }
    ctx->device_scratch = p;
    ctx->device_scratch_bytes = bytes;
    *out = p;
    return AX_OK;
}

extern "C" ax_status ax_cuda_alloc(ax_context *ctx, size_t bytes, void **out) {
    cudaError_t err = cudaSetDevice(ctx->device.id);
    if (err != cudaSuccess) return cuda_error(err, "cudaSetDevice");
    err = cudaMalloc(out, bytes > 0 ? bytes : 1);
    if (err != cudaSuccess) {
        cudaGetLastError();
        *out = NULL;
        return ax_set_error(AX_ERR_OUT_OF_MEMORY, "cudaMalloc of %zu bytes: %s", bytes, cudaGetErrorString(err));
    }
    return AX_OK;
}

extern "C" void ax_cuda_free(ax_context *ctx, void *ptr) {
    (void)ctx;
    cudaFree(ptr);
}

extern "C" ax_status ax_cuda_copy(ax_context *ctx, void *dst, const void *src, size_t bytes, int to_device) {
    cudaStream_t stream = (cudaStream_t)ctx->cuda_stream;
    cudaError_t err = cudaMemcpyAsync(dst, src, bytes, to_device ? cudaMemcpyHostToDevice : cudaMemcpyDeviceToHost, stream);
    if (err == cudaSuccess) err = cudaStreamSynchronize(stream);
    if (err != cudaSuccess) return cuda_error(err, to_device ? "copy to device" : "copy to host");
    return AX_OK;
}

extern "C" ax_status ax_cuda_synchronize(ax_context *ctx) {
    cudaError_t err = cudaStreamSynchronize((cudaStream_t)ctx->cuda_stream);
    if (err != cudaSuccess) return cuda_error(err, "cudaStreamSynchronize");
    return AX_OK;
}
