/*
 * bench_cuda.c — see bench_cuda.h. Compiled with AXIAL_BENCH_GPU=1 and linked with the CUDA runtime in
 * a CUDA build; without it only bench_cuda_open's message remains.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "bench_cuda.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axial/linalg.h"
#include "bench_util.h"

#if defined(AXIAL_BENCH_GPU) && AXIAL_BENCH_GPU
#include <cuda_runtime_api.h>
#define BENCH_CUDA_BUILT 1
#else
#define BENCH_CUDA_BUILT 0
#endif

ax_tensor bench_cuda_tensor(const bench_cuda *g, void *data, ax_dtype dtype, int32_t ndim, const int64_t *shape) {
    ax_tensor t;
    memset(&t, 0, sizeof t);
    ax_tensor_contiguous(&t, data, dtype, ndim, shape);
    if (g->ctx != NULL) t.device = ax_context_device(g->ctx);
    return t;
}

void bench_cuda_print_card(const bench_cuda *g, const char *what) {
    printf("%s on %s (%d SMs, %.0f MiB L2, %.0f GiB)\n", what, g->name, g->sm_count, (double)g->l2_bytes / 1048576.0,
           (double)g->memory_bytes / 1073741824.0);
}

int bench_cuda_rotation_copies(const bench_cuda *g, size_t unit_bytes, int max_copies) {
    const double l2 = 4.0 * (double)g->l2_bytes, span = l2 > 256.0 * 1048576.0 ? l2 : 256.0 * 1048576.0;
    const double copies = span / (double)(unit_bytes > 0 ? unit_bytes : 1) + 1.0;
    return copies < (double)max_copies ? (int)copies : max_copies;
}

void bench_cuda_free(bench_cuda *g, void *ptr) {
    if (g->ctx != NULL) ax_device_free(g->ctx, ptr);
}

void *bench_cuda_upload(bench_cuda *g, const void *host, size_t bytes) {
    void *dev = NULL;
    if (ax_device_alloc(g->ctx, bytes, &dev) != AX_OK || ax_copy_to_device(g->ctx, dev, host, bytes) != AX_OK) {
        snprintf(g->error, sizeof g->error, "%s", ax_last_error());
        ax_device_free(g->ctx, dev);
        return NULL;
    }
    return dev;
}

void *bench_cuda_random(bench_cuda *g, ax_dtype dtype, int64_t n, float lo, float hi, uint64_t *state) {
    const size_t bytes = (size_t)n * ax_dtype_size(dtype);
    float *host = bench_alloc_floats(n);
    void *conv = bench_alloc_bytes(bytes), *dev = NULL;
    if (host == NULL || conv == NULL) {
        snprintf(g->error, sizeof g->error, "out of host memory for %lld values", (long long)n);
    } else {
        bench_fill_uniform(host, n, lo, hi, state);
        if (ax_convert(host, AX_F32, conv, dtype, n) != AX_OK)
            snprintf(g->error, sizeof g->error, "%s", ax_last_error());
        else
            dev = bench_cuda_upload(g, conv, bytes);
    }
    free(host);
    free(conv);
    return dev;
}

typedef struct gemm_call {
    ax_context *ctx;
    ax_tensor a, b, c;
} gemm_call;

static int run_gemm(void *arg) {
    gemm_call *c = arg;
    return ax_gemm(c->ctx, AX_NO_TRANS, AX_NO_TRANS, 1.0f, &c->a, &c->b, 0.0f, &c->c) == AX_OK ? 0 : 1;
}

double bench_cuda_gemm_tflops(bench_cuda *g, ax_dtype dtype, int64_t n, int repeats) {
    uint64_t state = 17;
    const int64_t shape[2] = {n, n};
    void *a = bench_cuda_random(g, dtype, n * n, -1.0f, 1.0f, &state);
    void *b = a != NULL ? bench_cuda_random(g, dtype, n * n, -1.0f, 1.0f, &state) : NULL;
    void *c = b != NULL ? bench_cuda_random(g, dtype, n * n, -1.0f, 1.0f, &state) : NULL;
    double tflops = -1.0;
    if (c != NULL) {
        gemm_call call = {g->ctx, bench_cuda_tensor(g, a, dtype, 2, shape), bench_cuda_tensor(g, b, dtype, 2, shape),
                          bench_cuda_tensor(g, c, dtype, 2, shape)};
        const double s = bench_cuda_time(g, run_gemm, &call, 0, repeats);
        if (s > 0) tflops = 2.0 * (double)n * (double)n * (double)n / s * 1e-12;
    }
    bench_cuda_free(g, a);
    bench_cuda_free(g, b);
    bench_cuda_free(g, c);
    return tflops;
}

void bench_cuda_print_baselines(bench_cuda *g, int repeats) {
    const double copy_gbps = bench_cuda_copy_gbps(g, (size_t)512 << 20, repeats);
    const double gemm_bf16 = bench_cuda_gemm_tflops(g, AX_BF16, 8192, repeats);
    const double gemm_f32 = bench_cuda_gemm_tflops(g, AX_F32, 4096, repeats);
    printf("baselines (this run): device copy %.0f GB/s (read + write); cuBLAS via ax_gemm bf16 8192^3 %.1f TF/s,\n"
           "f32 4096^3 %.1f TF/s (negative: failed)\n\n",
           copy_gbps, gemm_bf16, gemm_f32);
}

#if BENCH_CUDA_BUILT

/* Records `what` and the CUDA error in g->error; returns nonzero for `if (cuda_failed(...))`. */
static int cuda_failed(bench_cuda *g, cudaError_t err, const char *what) {
    if (err == cudaSuccess) return 0;
    snprintf(g->error, sizeof g->error, "%s: %s", what, cudaGetErrorString(err));
    return 1;
}

int bench_cuda_open(bench_cuda *g, const char *who) {
    memset(g, 0, sizeof *g);
    if (!ax_build_has_cuda()) {
        printf("%s: this build of Axial has no CUDA (configure with -DAXIAL_CUDA=ON)\n", who);
        return BENCH_CUDA_UNAVAILABLE;
    }
    if (ax_cuda_device_count() == 0) {
        printf("%s: no CUDA device (or no driver) on this machine\n", who);
        return BENCH_CUDA_UNAVAILABLE;
    }
    cudaStream_t stream = NULL;
    cudaEvent_t start = NULL, stop = NULL;
    int v = 0;
    if (cuda_failed(g, cudaSetDevice(0), "cudaSetDevice") ||
        cuda_failed(g, cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreate")) {
        printf("%s: %s\n", who, g->error);
        return 1;
    }
    g->stream = stream;
    if (cuda_failed(g, cudaEventCreate(&start), "cudaEventCreate") ||
        cuda_failed(g, cudaEventCreate(&stop), "cudaEventCreate")) {
        if (start != NULL) cudaEventDestroy(start);
        printf("%s: %s\n", who, g->error);
        bench_cuda_close(g);
        return 1;
    }
    g->start = start;
    g->stop = stop;
    ax_context_config cfg = AX_CONTEXT_CONFIG_INIT;
    cfg.device.type = AX_CUDA;
    cfg.device.id = 0;
    cfg.cuda_stream = stream;
    if (ax_context_create(&g->ctx, &cfg) != AX_OK) {
        printf("%s: CUDA context: %s\n", who, ax_last_error());
        bench_cuda_close(g);
        return 1;
    }
    ax_cuda_device_info(0, g->name, sizeof g->name, &g->memory_bytes);
    if (cudaDeviceGetAttribute(&v, cudaDevAttrMultiProcessorCount, 0) == cudaSuccess) g->sm_count = v;
    if (cudaDeviceGetAttribute(&v, cudaDevAttrL2CacheSize, 0) == cudaSuccess) g->l2_bytes = v;
    return 0;
}

void bench_cuda_close(bench_cuda *g) {
    ax_context_destroy(g->ctx);
    if (g->start != NULL) cudaEventDestroy((cudaEvent_t)g->start);
    if (g->stop != NULL) cudaEventDestroy((cudaEvent_t)g->stop);
    if (g->stream != NULL) cudaStreamDestroy((cudaStream_t)g->stream);
    g->ctx = NULL;
    g->start = g->stop = g->stream = NULL;
}

/* Seconds of `calls` calls of fn between the two events; negative on failure. */
static double timed_sample(bench_cuda *g, bench_cuda_fn fn, void *arg, int calls) {
    cudaStream_t stream = (cudaStream_t)g->stream;
    if (cuda_failed(g, cudaEventRecord((cudaEvent_t)g->start, stream), "cudaEventRecord")) return -1.0;
    for (int c = 0; c < calls; c++) {
        if (fn(arg) != 0) {
            const cudaError_t err = cudaGetLastError();
            snprintf(g->error, sizeof g->error, "%s%s%s", ax_last_error(), err != cudaSuccess ? " / CUDA: " : "",
                     err != cudaSuccess ? cudaGetErrorString(err) : "");
            cudaStreamSynchronize(stream); /* leave nothing in flight behind the failure */
            return -1.0;
        }
    }
    float ms = 0.0f;
    if (cuda_failed(g, cudaEventRecord((cudaEvent_t)g->stop, stream), "cudaEventRecord") ||
        cuda_failed(g, cudaEventSynchronize((cudaEvent_t)g->stop), "the timed calls") ||
        cuda_failed(g, cudaEventElapsedTime(&ms, (cudaEvent_t)g->start, (cudaEvent_t)g->stop), "cudaEventElapsedTime"))
        return -1.0;
    return (double)ms * 1e-3;
}

double bench_cuda_time(bench_cuda *g, bench_cuda_fn fn, void *arg, int calls, int repeats) {
    if (repeats < 1) repeats = 1;
    if (timed_sample(g, fn, arg, 3) < 0) return -1.0; /* warm-up: workspaces grown, kernels loaded */
    if (calls <= 0) {
        const double one = timed_sample(g, fn, arg, 1);
        if (one < 0) return -1.0;
        const double want = 2e-3 / (one > 1e-7 ? one : 1e-7);
        calls = want < 1.0 ? 1 : want > 2000.0 ? 2000 : (int)want;
    }
    double *t = malloc((size_t)repeats * sizeof(double));
    if (t == NULL) {
        snprintf(g->error, sizeof g->error, "out of host memory");
        return -1.0;
    }
    for (int r = 0; r < repeats; r++) {
        const double s = timed_sample(g, fn, arg, calls);
        if (s < 0) {
            free(t);
            return -1.0;
        }
        t[r] = s / calls;
    }
    const double median = bench_median(t, repeats);
    free(t);
    return median;
}

int bench_cuda_copy(bench_cuda *g, void *dst, const void *src, size_t bytes) {
    cudaStream_t stream = (cudaStream_t)g->stream;
    if (cuda_failed(g, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream), "cudaMemcpyAsync") ||
        cuda_failed(g, cudaStreamSynchronize(stream), "cudaMemcpyAsync"))
        return 1;
    return 0;
}

typedef struct copy_call {
    void *dst;
    const void *src;
    size_t bytes;
    cudaStream_t stream;
} copy_call;

static int run_copy(void *arg) {
    const copy_call *c = arg;
    return cudaMemcpyAsync(c->dst, c->src, c->bytes, cudaMemcpyDeviceToDevice, c->stream) == cudaSuccess ? 0 : 1;
}

double bench_cuda_copy_gbps(bench_cuda *g, size_t bytes, int repeats) {
    void *src = NULL, *dst = NULL;
    double gbps = -1.0;
    if (ax_device_alloc(g->ctx, bytes, &src) != AX_OK || ax_device_alloc(g->ctx, bytes, &dst) != AX_OK) {
        snprintf(g->error, sizeof g->error, "copy buffers: %s", ax_last_error());
        goto done;
    }
    /* Written once so the copy reads initialised memory. */
    if (cuda_failed(g, cudaMemsetAsync(src, 1, bytes, (cudaStream_t)g->stream), "cudaMemsetAsync")) goto done;
    copy_call c = {dst, src, bytes, (cudaStream_t)g->stream};
    const double s = bench_cuda_time(g, run_copy, &c, 1, repeats);
    if (s > 0) gbps = 2.0 * (double)bytes / s * 1e-9;
done:
    ax_device_free(g->ctx, src);
    ax_device_free(g->ctx, dst);
    return gbps;
}

#else /* no CUDA in this build */

int bench_cuda_open(bench_cuda *g, const char *who) {
    memset(g, 0, sizeof *g);
    printf("%s: this build has no CUDA (configure with -DAXIAL_CUDA=ON)\n", who);
    return BENCH_CUDA_UNAVAILABLE;
}

void bench_cuda_close(bench_cuda *g) {
    ax_context_destroy(g->ctx);
    g->ctx = NULL;
}

double bench_cuda_time(bench_cuda *g, bench_cuda_fn fn, void *arg, int calls, int repeats) {
    (void)fn, (void)arg, (void)calls, (void)repeats;
    snprintf(g->error, sizeof g->error, "no CUDA in this build");
    return -1.0;
}

int bench_cuda_copy(bench_cuda *g, void *dst, const void *src, size_t bytes) {
    (void)dst, (void)src, (void)bytes;
    snprintf(g->error, sizeof g->error, "no CUDA in this build");
    return 1;
}

double bench_cuda_copy_gbps(bench_cuda *g, size_t bytes, int repeats) {
    (void)bytes, (void)repeats;
    snprintf(g->error, sizeof g->error, "no CUDA in this build");
    return -1.0;
}

#endif
