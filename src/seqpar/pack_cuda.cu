/*
 * pack_cuda.cu — the device side of sequence parallelism: stream-ordered scratch, zero fills, and
 * the strided copy (with f32/bf16/f16 conversion) that packs tensors for NCCL and unpacks them. C ABI
 * only; nothing here throws or prints. Compiled into CUDA builds with MPI.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "seqpar/seqpar_cuda.h"

static ax_status cuda_error(cudaError_t err, const char *what) {
    return ax_set_error(AX_ERR_CUDA, "%s: %s (%s)", what, cudaGetErrorString(err), cudaGetErrorName(err));
}

static cudaStream_t stream_of(const ax_context *ctx) { return (cudaStream_t)ctx->cuda_stream; }

extern "C" ax_status seqpar_cuda_alloc(ax_context *ctx, int64_t bytes, void **out) {
    *out = NULL;
    cudaError_t err = cudaSetDevice(ctx->device.id);
    if (err != cudaSuccess) return cuda_error(err, "cudaSetDevice");
    /* Stream-ordered: freed after the work queued before the free, with no host synchronisation. */
    err = cudaMallocAsync(out, (size_t)(bytes > 0 ? bytes : 1), stream_of(ctx));
    if (err != cudaSuccess) {
        cudaGetLastError();
        *out = NULL;
        return ax_set_error(AX_ERR_OUT_OF_MEMORY, "cudaMallocAsync of %lld bytes of scratch: %s", (long long)bytes,
                            cudaGetErrorString(err));
    }
    return AX_OK;
}

extern "C" void seqpar_cuda_free(ax_context *ctx, void *p) {
    if (p != NULL) cudaFreeAsync(p, stream_of(ctx));
}

extern "C" ax_status seqpar_cuda_zero(ax_context *ctx, void *p, int64_t bytes) {
    cudaError_t err = cudaMemsetAsync(p, 0, (size_t)bytes, stream_of(ctx));
    return err == cudaSuccess ? AX_OK : cuda_error(err, "cudaMemsetAsync");
}

/* One params struct, passed by value. */
struct strided_copy_params {
    int32_t ndim;
    int64_t shape[AX_MAX_DIMS];
    int64_t src_strides[AX_MAX_DIMS], dst_strides[AX_MAX_DIMS];
    const void *src;
    void *dst;
    int src_dtype, dst_dtype;
    int64_t count;
};

__device__ static float load_elem(const void *base, int64_t i, int dtype) {
    switch (dtype) {
    case AX_BF16: return __bfloat162float(((const __nv_bfloat16 *)base)[i]);
    case AX_F16: return __half2float(((const __half *)base)[i]);
    default: return ((const float *)base)[i];
    }
}

__device__ static void store_elem(void *base, int64_t i, int dtype, float value) {
    switch (dtype) {
    case AX_BF16: ((__nv_bfloat16 *)base)[i] = __float2bfloat16_rn(value); break;
    case AX_F16: ((__half *)base)[i] = __float2half_rn(value); break;
    default: ((float *)base)[i] = value; break;
    }
}

__global__ static void strided_copy_kernel(strided_copy_params p) {
    const int64_t step = (int64_t)gridDim.x * blockDim.x;
    for (int64_t linear = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; linear < p.count; linear += step) {
        int64_t rest = linear, src_off = 0, dst_off = 0;
        for (int32_t d = p.ndim - 1; d >= 0; d--) {
            const int64_t i = rest % p.shape[d];
            rest /= p.shape[d];
            src_off += i * p.src_strides[d];
            dst_off += i * p.dst_strides[d];
        }
        if (p.src_dtype == p.dst_dtype && p.src_dtype != AX_F32)
            ((uint16_t *)p.dst)[dst_off] = ((const uint16_t *)p.src)[src_off]; /* bit-exact move */
        else
            store_elem(p.dst, dst_off, p.dst_dtype, load_elem(p.src, src_off, p.src_dtype));
    }
}

extern "C" ax_status seqpar_cuda_copy(ax_context *ctx, const ax_tensor *src, const ax_tensor *dst) {
    strided_copy_params p;
    p.ndim = src->ndim;
    p.count = 1;
    for (int32_t d = 0; d < src->ndim; d++) {
        p.shape[d] = src->shape[d];
        p.src_strides[d] = src->strides[d];
        p.dst_strides[d] = dst->strides[d];
        p.count *= src->shape[d];
    }
    if (p.count == 0) return AX_OK;
    p.src = src->data;
    p.dst = dst->data;
    p.src_dtype = (int)src->dtype;
    p.dst_dtype = (int)dst->dtype;
    const int threads = 256;
    const int64_t wanted = (p.count + threads - 1) / threads;
    const int blocks = (int)(wanted < 65535 ? wanted : 65535);
    strided_copy_kernel<<<blocks, threads, 0, stream_of(ctx)>>>(p);
    const cudaError_t err = cudaGetLastError();
    return err == cudaSuccess ? AX_OK : cuda_error(err, "strided copy kernel launch");
}
