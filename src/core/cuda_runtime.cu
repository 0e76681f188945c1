/*
 * cuda_runtime.cu — the CUDA side of the core: device discovery, the per-context CUDA state (the
 * device's props, read once; a stream-ordered memory pool for op workspace; the cuBLAS handle, made
 * lazily), the device scope, and the public allocation, copy and synchronisation helpers. C ABI only;
 * nothing here throws or prints.
 *
 * Host synchronisation happens only where the caller asked for it: context creation and
 * destruction, ax_cuda_alloc / ax_cuda_free (ax_device_alloc / ax_device_free), ax_cuda_copy and
 * ax_cuda_synchronize. Op workspace never synchronises (ax_cuda_ws_alloc / ax_cuda_ws_free), which is
 * what lets a CUDA graph capture the ops (tests/test_no_host_sync.sh keeps it so).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <cublas_v2.h>
#include <atomic>
#include <cuda_runtime.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/cuda/check.cuh"
#include "core/cuda/device.h"
#include "core/internal.h"

namespace {

/* What ctx->cuda points at. */
struct cuda_state {
    ax_cuda_device_props props;
    cudaMemPool_t pool; /* op workspace; NULL when the device has no memory pools */
};

cuda_state *state_of(const ax_context *ctx) { return static_cast<cuda_state *>(ctx->cuda); }

cudaStream_t stream_of(const ax_context *ctx) { return static_cast<cudaStream_t>(ctx->cuda_stream); }

/* Compiled like every kernel of the build, so its attributes tell which of the build's device codes
 * the driver picked for this device. */
__global__ void arch_probe_kernel() {}

ax_status read_props(int32_t device, ax_cuda_device_props *props) {
    cudaDeviceProp prop;
    AX_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
    memset(props, 0, sizeof *props);
    props->device = device;
    props->cc_major = prop.major;
    props->cc_minor = prop.minor;
    props->sm_count = prop.multiProcessorCount;
    props->smem_optin_per_block = (int64_t)prop.sharedMemPerBlockOptin;
    props->smem_per_sm = (int64_t)prop.sharedMemPerMultiprocessor;
    props->total_memory = (int64_t)prop.totalGlobalMem;
    props->memory_pools = prop.memoryPoolsSupported != 0;
    cudaFuncAttributes attr;
    AX_CUDA_CHECK(cudaFuncGetAttributes(&attr, arch_probe_kernel));
    props->code_arch = attr.ptxVersion;
    static_assert(sizeof props->name == sizeof prop.name, "ax_cuda_device_props::name: cudaDeviceProp's size");
    memcpy(props->name, prop.name, sizeof props->name);
    props->name[sizeof props->name - 1] = '\0';
    return AX_OK;
}

/* A pool of the device's memory that keeps what it has grown to (release threshold: all of it), so
 * ops reuse blocks without going back to the driver and nothing is returned at synchronisations.
 * Context-owned rather than the device's default pool, so the threshold does not change what other
 * code in the process gets from cudaMallocAsync, and ax_context_destroy hands the memory back. */
ax_status create_pool(int32_t device, cudaMemPool_t *out) {
    cudaMemPoolProps pp;
    memset(&pp, 0, sizeof pp);
    pp.allocType = cudaMemAllocationTypePinned;
    pp.handleTypes = cudaMemHandleTypeNone;
    pp.location.type = cudaMemLocationTypeDevice;
    pp.location.id = device;
    cudaMemPool_t pool = NULL;
    AX_CUDA_CHECK(cudaMemPoolCreate(&pool, &pp));
    uint64_t keep_all = UINT64_MAX;
    const cudaError_t err = cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep_all);
    if (err != cudaSuccess) {
        const ax_status st = ax_cuda_error(err, "cudaMemPoolSetAttribute(cudaMemPoolAttrReleaseThreshold)");
        cudaMemPoolDestroy(pool);
        return st;
    }
    *out = pool;
    return AX_OK;
}

int read_tensor_cores_env() {
    const char *v = getenv("AXIAL_CUDA_TENSOR_CORES");
    return !(v != NULL && strcmp(v, "0") == 0);
}

} /* namespace */

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
    AX_CUDA_CHECK(cudaGetDeviceProperties(&prop, id));
    strncpy(name, prop.name, name_size - 1);
    name[name_size - 1] = '\0';
    *total_memory = (int64_t)prop.totalGlobalMem;
    return AX_OK;
}

extern "C" int ax_cuda_tensor_cores_enabled(void) {
    /* -1 until the first call. Two threads may both read the environment; they store the same value.
     * An atomic rather than a function-local static: the latter needs libstdc++'s guard functions,
     * which C programs linking the static library do not link. */
    static std::atomic<int> enabled(-1);
    int value = enabled.load(std::memory_order_acquire);
    if (value < 0) {
        value = read_tensor_cores_env();
        enabled.store(value, std::memory_order_release);
    }
    return value;
}

extern "C" int ax_cuda_tensor_cores_usable(const ax_cuda_device_props *dev) {
    return dev != NULL && dev->cc_major >= 8 && dev->code_arch >= 80 && ax_cuda_tensor_cores_enabled();
}

extern "C" const ax_cuda_device_props *ax_cuda_props(const ax_context *ctx) {
    const cuda_state *s = ctx != NULL ? state_of(ctx) : NULL;
    return s != NULL ? &s->props : NULL;
}

/* ---- the device scope ------------------------------------------------------------------------- */

extern "C" ax_status ax_cuda_device_enter(int32_t device, int *saved) {
    *saved = -1;
    int current = -1;
    AX_CUDA_CHECK(cudaGetDevice(&current));
    if (current != device) AX_CUDA_CHECK(cudaSetDevice(device));
    *saved = current;
    return AX_OK;
}

extern "C" void ax_cuda_device_leave(int32_t device, int saved) {
    if (saved < 0 || saved == device) return;
    if (cudaSetDevice(saved) != cudaSuccess) cudaGetLastError(); /* nothing to report it to */
}

extern "C" ax_status ax_cuda_scope_enter(const ax_context *ctx, int *saved) {
    return ax_cuda_device_enter(ctx->device.id, saved);
}

extern "C" void ax_cuda_scope_leave(const ax_context *ctx, int saved) { ax_cuda_device_leave(ctx->device.id, saved); }

/* ---- context lifetime ------------------------------------------------------------------------- */

extern "C" ax_status ax_cuda_context_init(ax_context *ctx) {
    const int count = ax_cuda_count_devices();
    if (count == 0) {
        /* Say why: a driver older than the toolkit (or one that failed to initialise) also counts no
         * device, and "no device" alone had hidden it behind every GPU test's skip. */
        int again = 0;
        const cudaError_t e = cudaGetDeviceCount(&again);
        cudaGetLastError();
        if (e != cudaSuccess && e != cudaErrorNoDevice)
            return ax_set_error(AX_ERR_UNSUPPORTED, "cfg->device: CUDA requested, but no CUDA device is present "
                                "(cudaGetDeviceCount: %s: %s)", cudaGetErrorName(e), cudaGetErrorString(e));
        return ax_set_error(AX_ERR_UNSUPPORTED, "cfg->device: CUDA requested, but no CUDA device is present");
    }
    if (ctx->device.id >= count)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "cfg->device.id: %d, but only %d CUDA device(s) present",
                            (int)ctx->device.id, count);
    cuda_state *s = static_cast<cuda_state *>(calloc(1, sizeof *s));
    if (s == NULL) return ax_set_error(AX_ERR_OUT_OF_MEMORY, "ax_context_create: out of host memory");
    int saved = -1;
    ax_status st = ax_cuda_scope_enter(ctx, &saved);
#if CUDART_VERSION >= 12080
    /* A caller's stream of another device fails only at the first op, as an "invalid resource
     * handle" from deep inside; say it here. */
    if (st == AX_OK && ctx->cuda_stream != NULL) {
        int stream_device = -1;
        if (cudaStreamGetDevice(stream_of(ctx), &stream_device) != cudaSuccess) {
            cudaGetLastError(); /* not decided here (special handles): the first op will say */
        } else if (stream_device != ctx->device.id) {
            st = ax_set_error(AX_ERR_INVALID_ARGUMENT,
                              "cfg->cuda_stream: a stream of CUDA device %d, but cfg->device is CUDA device %d",
                              stream_device, (int)ctx->device.id);
        }
        if (st != AX_OK) ax_cuda_scope_leave(ctx, saved);
    }
#endif
    if (st == AX_OK) {
        st = read_props(ctx->device.id, &s->props);
        /* Without pools (rare: some virtualised or old drivers) the context still works; only ops
         * that need device workspace report it (ax_cuda_ws_alloc). */
        if (st == AX_OK && s->props.memory_pools) st = create_pool(ctx->device.id, &s->pool);
        ax_cuda_scope_leave(ctx, saved);
    }
    if (st != AX_OK) {
        free(s);
        return st;
    }
    ax_log_debug("CUDA device %d (%s): compute capability %d.%d, device code compute_%d, tensor-core kernels %s",
                 (int)ctx->device.id, s->props.name, (int)s->props.cc_major, (int)s->props.cc_minor,
                 (int)s->props.code_arch,
                 ax_cuda_tensor_cores_usable(&s->props) ? "on" : "off");
    /* No cuBLAS handle here: creating one costs time and device memory, and most contexts never run
     * a GEMM. ax_cuda_blas_handle makes it at the first cuBLAS op. */
    ctx->cuda = s;
    return AX_OK;
}

extern "C" ax_status ax_cuda_blas_handle(ax_context *ctx, void **out) {
    if (ctx->cublas_handle == NULL) {
        /* cublasCreate allocates device memory, which a stream capture forbids (it would invalidate
         * the caller's graph with a bare "operation not permitted when stream is capturing"). */
        cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
        if (cudaStreamIsCapturing(stream_of(ctx), &capture) == cudaSuccess && capture != cudaStreamCaptureStatusNone)
            return ax_set_error(AX_ERR_UNSUPPORTED,
                                "ctx: its stream is capturing a CUDA graph, and this is the context's first cuBLAS "
                                "op, which must create the cuBLAS handle (a device allocation); run one cuBLAS op "
                                "(ax_gemm, a quantized matmul of more than 8 rows) on the context before capturing");
        cudaGetLastError();
        cublasHandle_t handle = NULL;
        cublasStatus_t st = cublasCreate(&handle);
        if (st != CUBLAS_STATUS_SUCCESS)
            return ax_set_error(st == CUBLAS_STATUS_ALLOC_FAILED ? AX_ERR_OUT_OF_MEMORY : AX_ERR_CUDA,
                                "cublasCreate on device %d: %s", (int)ctx->device.id, cublasGetStatusString(st));
        st = cublasSetStream(handle, stream_of(ctx));
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
    cuda_state *s = state_of(ctx);
    /* The handle and the pool belong to the context's device, which need not be the caller's current
     * one; failures here have no one to report to and are cleared. */
    int saved = -1;
    const ax_status entered = ax_cuda_scope_enter(ctx, &saved);
    if (ctx->cublas_handle != NULL) cublasDestroy((cublasHandle_t)ctx->cublas_handle);
    /* Blocks still in use by queued work go back when that work is done: cudaMemPoolDestroy defers
     * releasing the pool's memory until then, so no wait is needed here. */
    if (s != NULL && s->pool != NULL && cudaMemPoolDestroy(s->pool) != cudaSuccess) cudaGetLastError();
    if (entered == AX_OK) ax_cuda_scope_leave(ctx, saved);
    ctx->cublas_handle = NULL;
    free(s);
    ctx->cuda = NULL;
}

/* ---- op workspace ------------------------------------------------------------------------------ */

extern "C" ax_status ax_cuda_ws_alloc(ax_context *ctx, int64_t bytes, void **out) {
    *out = NULL;
    if (bytes <= 0) return AX_OK;
    const cuda_state *s = state_of(ctx);
    if (s == NULL || s->pool == NULL)
        return ax_set_error(AX_ERR_UNSUPPORTED,
                            "device workspace: CUDA device %d has no stream-ordered memory pools "
                            "(cudaDevAttrMemoryPoolsSupported is 0), which this op needs for %lld bytes of scratch",
                            (int)ctx->device.id, (long long)bytes);
    void *p = NULL;
    const cudaError_t err = cudaMallocFromPoolAsync(&p, (size_t)bytes, s->pool, stream_of(ctx));
    if (err != cudaSuccess) {
        cudaGetLastError();
        const ax_status code = err == cudaErrorMemoryAllocation ? AX_ERR_OUT_OF_MEMORY : AX_ERR_CUDA;
        return ax_set_error(code, "device workspace: %lld bytes on CUDA device %d: %s (%s)", (long long)bytes,
                            (int)ctx->device.id, cudaGetErrorString(err), cudaGetErrorName(err));
    }
    *out = p;
    return AX_OK;
}

extern "C" void ax_cuda_ws_free(ax_context *ctx, void *ptr) {
    if (ptr == NULL) return;
    /* Queued behind the work already on the stream, so the block is reused only once that is done. */
    if (cudaFreeAsync(ptr, stream_of(ctx)) != cudaSuccess) cudaGetLastError();
}

extern "C" ax_status ax_cuda_ws_zero(ax_context *ctx, void *p, int64_t bytes) {
    if (bytes <= 0) return AX_OK;
    const cudaError_t err = cudaMemsetAsync(p, 0, (size_t)bytes, stream_of(ctx));
    return err == cudaSuccess ? AX_OK : ax_cuda_error(err, "cudaMemsetAsync of device workspace");
}

/* ---- the public helpers (these synchronise, as documented in axial.h) --------------------------- */

extern "C" ax_status ax_cuda_alloc(ax_context *ctx, size_t bytes, void **out) {
    *out = NULL;
    int saved = -1;
    AX_CHECK(ax_cuda_scope_enter(ctx, &saved));
    const cudaError_t err = cudaMalloc(out, bytes > 0 ? bytes : 1);
    ax_cuda_scope_leave(ctx, saved);
    if (err != cudaSuccess) {
        cudaGetLastError();
        *out = NULL;
        return ax_set_error(AX_ERR_OUT_OF_MEMORY, "cudaMalloc of %zu bytes on CUDA device %d: %s (%s)", bytes,
                            (int)ctx->device.id, cudaGetErrorString(err), cudaGetErrorName(err));
    }
    return AX_OK;
}

extern "C" void ax_cuda_free(ax_context *ctx, void *ptr) {
    if (ptr == NULL) return;
    int saved = -1;
    const ax_status entered = ax_cuda_scope_enter(ctx, &saved);
    if (cudaFree(ptr) != cudaSuccess) cudaGetLastError();
    if (entered == AX_OK) ax_cuda_scope_leave(ctx, saved);
}

/* The scope matters here too: with no stream of its own the context uses the legacy default stream,
 * which is the current device's. */
extern "C" ax_status ax_cuda_copy(ax_context *ctx, void *dst, const void *src, size_t bytes, int to_device) {
    int saved = -1;
    AX_CHECK(ax_cuda_scope_enter(ctx, &saved));
    cudaStream_t stream = stream_of(ctx);
    cudaError_t err =
        cudaMemcpyAsync(dst, src, bytes, to_device ? cudaMemcpyHostToDevice : cudaMemcpyDeviceToHost, stream);
    if (err == cudaSuccess) err = cudaStreamSynchronize(stream);
    ax_cuda_scope_leave(ctx, saved);
    return err == cudaSuccess ? AX_OK : ax_cuda_error(err, to_device ? "copy to device" : "copy to host");
}

extern "C" ax_status ax_cuda_synchronize(ax_context *ctx) {
    int saved = -1;
    AX_CHECK(ax_cuda_scope_enter(ctx, &saved));
    const cudaError_t err = cudaStreamSynchronize(stream_of(ctx));
    ax_cuda_scope_leave(ctx, saved);
    return err == cudaSuccess ? AX_OK : ax_cuda_error(err, "cudaStreamSynchronize");
}
