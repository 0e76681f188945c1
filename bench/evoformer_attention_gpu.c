/*
 * evoformer_attention_gpu.c — the --gpu part of bench_evoformer_attention: bf16 and fp32 forward and
 * backward on the CUDA backend at the AlphaFold shapes of the issue, median of repeats after a
 * warm-up, timed on the host around ax_context_synchronize. TFLOP/s use the same FLOP counts as the
 * CPU table. PyTorch's baseline is measured by scripts/gpu-check.sh in the same session.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axial/evoformer.h"
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

static void bench_one(ax_context *ctx, const gpu_shape *s, ax_dtype dtype, int repeats) {
    const int64_t act[5] = {s->B, s->N, s->S, s->H, s->D}, mshape[5] = {s->B, s->N, 1, 1, s->S};
    const int64_t pshape[5] = {s->B, 1, s->H, s->S, s->S}, lshape[4] = {s->B, s->N, s->H, s->S};
    dev_tensor q, k, v, mask, pair, out, lse, dout, dq, dk, dv, dmask, dpair;
    dev_tensor *all[] = {&q, &k, &v, &mask, &pair, &out, &lse, &dout, &dq, &dk, &dv, &dmask, &dpair};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) memset(all[i], 0, sizeof *all[i]);
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
    for (int r = -3; r < repeats; r++) { /* three warm-ups */
        const double t0 = bench_now();
        ax_status st = ax_evoformer_attention_forward(ctx, &q.t, &k.t, &v.t, &mask.t, &pair.t, &out.t, &lse.t);
        if (st == AX_OK) st = ax_context_synchronize(ctx);
        const double t1 = bench_now();
        if (st == AX_OK)
            st = ax_evoformer_attention_backward(ctx, &q.t, &k.t, &v.t, &mask.t, &pair.t, &out.t, &lse.t, &dout.t,
                                                 &dq.t, &dk.t, &dv.t, &dmask.t, &dpair.t);
        if (st == AX_OK) st = ax_context_synchronize(ctx);
        const double t2 = bench_now();
        if (st != AX_OK) {
            printf("%-22s %-5s failed: %s\n", s->name, ax_dtype_name(dtype), ax_last_error());
            goto done;
        }
        if (r >= 0) {
            tf[r] = t1 - t0;
            tb[r] = t2 - t1;
        }
    }
    const double flops = 4.0 * (double)s->B * (double)s->N * (double)s->H * (double)s->S * (double)s->S * (double)s->D;
    const double f = bench_median(tf, repeats), b = bench_median(tb, repeats);
    printf("%-22s %-5s %9.3f %9.3f %9.2f %9.2f %9.2f\n", s->name, ax_dtype_name(dtype), f * 1e3, b * 1e3,
           flops / f * 1e-12, 2.5 * flops / b * 1e-12, 3.5 * flops / (f + b) * 1e-12);
done:
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) ax_device_free(ctx, all[i]->ptr);
    free(tf);
    free(tb);
}

int bench_evoformer_gpu(int repeats) {
    if (ax_cuda_device_count() == 0) {
        printf("GPU benchmark: no CUDA device\n");
        return 0;
    }
    ax_context_config cfg = AX_CONTEXT_CONFIG_INIT;
    cfg.device.type = AX_CUDA;
    ax_context *ctx = NULL;
    if (ax_context_create(&ctx, &cfg) != AX_OK) {
        printf("GPU benchmark: %s\n", ax_last_error());
        return 1;
    }
    char name[256];
    int64_t mem = 0;
    ax_cuda_device_info(0, name, sizeof name, &mem);
    printf("Evoformer attention on %s, median of %d after 3 warm-ups (host timer around stream sync)\n", name, repeats);
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
        for (int d = 0; d < 2; d++) bench_one(ctx, &shapes[i], dtypes[d], repeats);
    ax_context_destroy(ctx);
    return 0;
}
