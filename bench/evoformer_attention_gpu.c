/*
 * evoformer_attention_gpu.c — the --gpu part of bench_evoformer_attention: bf16 and fp32 forward and
 * backward on the CUDA backend at the AlphaFold shapes of the issue, median of repeats after three
 * warm-ups, timed with CUDA events recorded on the context's stream around each op (so host launch
 * overhead between ops is not counted, as in PyTorch's own timings). TFLOP/s use the same FLOP
 * counts as the CPU table. PyTorch's baseline is measured by scripts/gpu-check.sh in the same
 * session.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime_api.h>

#include "axial/evoformer.h"
#include "bench_cuda.h"
#include "bench_util.h"

int bench_evoformer_gpu(int repeats);

typedef struct gpu_shape {
    const char *name;
    int64_t B, N, S, H, D;
} gpu_shape;

typedef struct dev_tensor {
    ax_tensor t;
    void *ptr;
} dev_tensor;

/* Random values in [-1, 1) converted to `dtype` and copied to the device. */
static int dev_make(ax_context *ctx, dev_tensor *d, ax_dtype dtype, int32_t ndim, const int64_t *shape, int fill,
                    uint64_t *seed) {
    ax_tensor_contiguous(&d->t, NULL, dtype, ndim, shape);
    const int64_t n = ax_tensor_numel(&d->t);
    const size_t bytes = (size_t)n * ax_dtype_size(dtype);
    if (ax_device_alloc(ctx, bytes, &d->ptr) != AX_OK) return -1;
    d->t.data = d->ptr;
    d->t.device = ax_context_device(ctx);
    if (!fill) return 0;
    float *host = malloc((size_t)n * sizeof(float));
    void *conv = malloc(bytes);
    int rc = -1;
    if (host && conv) {
        bench_fill_uniform(host, n, -1.0f, 1.0f, seed);
        if (ax_convert(host, AX_F32, conv, dtype, n) == AX_OK && ax_copy_to_device(ctx, d->ptr, conv, bytes) == AX_OK)
            rc = 0;
    }
    free(host);
    free(conv);
    return rc;
}

/* Events e[0..2] around forward and backward on `stream`; -1 with a message on a CUDA error. */
/* t: q, k, v, mask, pair, out, lse, dout, dq, dk, dv, dmask, dpair. */
static int timed_step(ax_context *ctx, cudaStream_t stream, cudaEvent_t e[3], ax_tensor *const t[13], float *fwd_ms,
                      float *bwd_ms) {
    ax_status st = AX_OK;
    if (cudaEventRecord(e[0], stream) != cudaSuccess) return -1;
    st = ax_evoformer_attention_forward(ctx, t[0], t[1], t[2], t[3], t[4], t[5], t[6]);
    if (st != AX_OK || cudaEventRecord(e[1], stream) != cudaSuccess) return -1;
    st = ax_evoformer_attention_backward(ctx, t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7], t[8], t[9], t[10],
                                         t[11], t[12]);
    if (st != AX_OK || cudaEventRecord(e[2], stream) != cudaSuccess || cudaEventSynchronize(e[2]) != cudaSuccess)
        return -1;
    return cudaEventElapsedTime(fwd_ms, e[0], e[1]) == cudaSuccess && cudaEventElapsedTime(bwd_ms, e[1], e[2]) == cudaSuccess
               ? 0
               : -1;
}

static void bench_one(ax_context *ctx, cudaStream_t stream, const gpu_shape *s, ax_dtype dtype, int repeats) {
    const int64_t act[5] = {s->B, s->N, s->S, s->H, s->D}, mshape[5] = {s->B, s->N, 1, 1, s->S};
    const int64_t pshape[5] = {s->B, 1, s->H, s->S, s->S}, lshape[4] = {s->B, s->N, s->H, s->S};
    dev_tensor q, k, v, mask, pair, out, lse, dout, dq, dk, dv, dmask, dpair;
    dev_tensor *all[] = {&q, &k, &v, &mask, &pair, &out, &lse, &dout, &dq, &dk, &dv, &dmask, &dpair};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) memset(all[i], 0, sizeof *all[i]);
    cudaEvent_t ev[3] = {NULL, NULL, NULL}; /* before any goto done */
    uint64_t seed = 3;
    int ok = dev_make(ctx, &q, dtype, 5, act, 1, &seed) == 0 && dev_make(ctx, &k, dtype, 5, act, 1, &seed) == 0 &&
             dev_make(ctx, &v, dtype, 5, act, 1, &seed) == 0 && dev_make(ctx, &mask, dtype, 5, mshape, 1, &seed) == 0 &&
             dev_make(ctx, &pair, dtype, 5, pshape, 1, &seed) == 0 && dev_make(ctx, &out, dtype, 5, act, 0, &seed) == 0 &&
             dev_make(ctx, &lse, AX_F32, 4, lshape, 0, &seed) == 0 && dev_make(ctx, &dout, dtype, 5, act, 1, &seed) == 0 &&
             dev_make(ctx, &dq, dtype, 5, act, 0, &seed) == 0 && dev_make(ctx, &dk, dtype, 5, act, 0, &seed) == 0 &&
             dev_make(ctx, &dv, dtype, 5, act, 0, &seed) == 0 && dev_make(ctx, &dmask, dtype, 5, mshape, 0, &seed) == 0 &&
             dev_make(ctx, &dpair, dtype, 5, pshape, 0, &seed) == 0;
    double *tf = calloc((size_t)repeats, sizeof(double)), *tb = calloc((size_t)repeats, sizeof(double));
    if (!ok || !tf || !tb) {
        printf("%-22s %-5s setup failed: %s\n", s->name, ax_dtype_name(dtype), ax_last_error());
        goto done;
    }
    ax_tensor *const args[13] = {&q.t, &k.t, &v.t, &mask.t, &pair.t, &out.t, &lse.t,
                                 &dout.t, &dq.t, &dk.t, &dv.t, &dmask.t, &dpair.t};
    for (int i = 0; i < 3; i++) {
        if (cudaEventCreate(&ev[i]) != cudaSuccess) {
            printf("%-22s %-5s cudaEventCreate failed\n", s->name, ax_dtype_name(dtype));
            goto done;
        }
    }
    for (int r = -3; r < repeats; r++) { /* three warm-ups */
        float f_ms = 0.0f, b_ms = 0.0f;
        if (timed_step(ctx, stream, ev, args, &f_ms, &b_ms) != 0) {
            const cudaError_t err = cudaGetLastError();
            printf("%-22s %-5s failed: %s%s%s\n", s->name, ax_dtype_name(dtype), ax_last_error(),
                   err != cudaSuccess ? " / CUDA: " : "", err != cudaSuccess ? cudaGetErrorString(err) : "");
            goto done;
        }
        if (r >= 0) {
            tf[r] = f_ms * 1e-3;
            tb[r] = b_ms * 1e-3;
        }
    }
    const double flops = 4.0 * (double)s->B * (double)s->N * (double)s->H * (double)s->S * (double)s->S * (double)s->D;
    const double f = bench_median(tf, repeats), b = bench_median(tb, repeats);
    printf("%-22s %-5s %9.3f %9.3f %9.2f %9.2f %9.2f\n", s->name, ax_dtype_name(dtype), f * 1e3, b * 1e3,
           flops / f * 1e-12, 2.5 * flops / b * 1e-12, 3.5 * flops / (f + b) * 1e-12);
done:
    for (int i = 0; i < 3; i++)
        if (ev[i] != NULL) cudaEventDestroy(ev[i]);
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) ax_device_free(ctx, all[i]->ptr);
    free(tf);
    free(tb);
}

int bench_evoformer_gpu(int repeats) {
    if (ax_cuda_device_count() == 0) {
        printf("GPU benchmark: no CUDA device\n");
        return 0;
    }
    /* A stream of our own, so the events bracket exactly the ops queued on it. */
    cudaStream_t stream = NULL;
    if (cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking) != cudaSuccess) {
        printf("GPU benchmark: cudaStreamCreate failed\n");
        return 1;
    }
    ax_context_config cfg = AX_CONTEXT_CONFIG_INIT;
    cfg.device.type = AX_CUDA;
    cfg.cuda_stream = stream;
    ax_context *ctx = NULL;
    if (ax_context_create(&ctx, &cfg) != AX_OK) {
        printf("GPU benchmark: %s\n", ax_last_error());
        cudaStreamDestroy(stream);
        return 1;
    }
    char name[256];
    int64_t mem = 0;
    ax_cuda_device_info(0, name, sizeof name, &mem);
    printf("Evoformer attention on %s, median of %d after 3 warm-ups (CUDA events around each op)\n", name, repeats);
    /* Same-run baselines: the card's memory and cuBLAS's matrix rate (a context of their own). */
    bench_cuda base;
    if (bench_cuda_open(&base, "bench_evoformer_attention --gpu") == 0) bench_cuda_print_baselines(&base, repeats);
    bench_cuda_close(&base);
    printf("FLOPs: forward 4*B*N*H*S^2*D, backward 2.5x; both biases present, both bias gradients computed\n\n");
    printf("%-22s %-5s %9s %9s %9s %9s %9s\n", "shape (B,N,S,H,D)", "dtype", "fwd ms", "bwd ms", "fwd TF/s", "bwd TF/s",
           "f+b TF/s");
    static const gpu_shape shapes[] = {
        {"(1,128,384,8,32)", 1, 128, 384, 8, 32},
        {"(1,384,384,4,32)", 1, 384, 384, 4, 32},
        {"(1,128,256,8,32)", 1, 128, 256, 8, 32},
        {"(1,16,2048,8,64)", 1, 16, 2048, 8, 64},
    };
    const ax_dtype dtypes[2] = {AX_BF16, AX_F32};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        for (int d = 0; d < 2; d++) bench_one(ctx, stream, &shapes[i], dtypes[d], repeats);
    ax_context_destroy(ctx);
    cudaStreamDestroy(stream);
    return 0;
}
