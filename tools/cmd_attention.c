/*
 * cmd_attention.c — `axial attention`: MSA row attention with pair bias, forward and backward, on
 * random inputs of an AlphaFold-sized shape, on the CPU or a GPU; prints time and working memory.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "axial/evoformer.h"
#include "cli.h"

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void attention_usage(FILE *out) {
    fprintf(out,
            "usage: axial attention [--shape B,N,S,H,D] [--device auto|cpu|cuda] [--threads T] [--repeat R]\n"
            "  Runs Evoformer attention (MSA row attention with a pair bias and a mask bias) forward and\n"
            "  backward on random fp32 inputs and prints the median time, GFLOP/s and working memory.\n"
            "  Default shape 1,32,256,8,32; --device auto uses a GPU when one is present.\n");
}

/* Five comma-separated decimal integers in [1, 2^20], digits only (sscanf had taken " 1" and "+2"),
 * whose largest tensor, B*N*S*H*D or B*H*S*S values, stays below 2^40 bytes (the product had
 * overflowed int64, undefined behaviour, reported as "out of memory"). */
static int parse_shape(const char *s, int64_t dims[5]) {
    for (int i = 0; i < 5; i++) {
        int64_t v = 0;
        int digits = 0;
        for (; *s >= '0' && *s <= '9'; s++, digits++) {
            v = v * 10 + (*s - '0');
            if (v > (1 << 20)) return -1;
        }
        if (digits == 0 || v < 1 || *s != (i < 4 ? ',' : '\0')) return -1;
        if (i < 4) s++;
        dims[i] = v;
    }
    const double act = (double)dims[0] * dims[1] * dims[2] * dims[3] * dims[4];
    const double pair = (double)dims[0] * dims[3] * dims[2] * dims[2];
    return act * 4.0 < 0x1p40 && pair * 4.0 < 0x1p40 ? 0 : -1;
}

/* A tensor's host copy, and the tensor the op sees (host memory on the CPU, device memory on a GPU). */
typedef struct host_tensor {
    ax_tensor t;
    float *data;
    void *device_data;
} host_tensor;

static int host_alloc(host_tensor *h, int32_t ndim, const int64_t *shape) {
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= shape[i];
    h->data = malloc((size_t)n * sizeof(float));
    if (h->data == NULL) return -1;
    return ax_tensor_contiguous(&h->t, h->data, AX_F32, ndim, shape) == AX_OK ? 0 : -1;
}

static void fill_uniform(host_tensor *h, unsigned *seed, float lo, float hi) {
    const int64_t n = ax_tensor_numel(&h->t);
    for (int64_t i = 0; i < n; i++) {
        *seed = *seed * 1664525u + 1013904223u;
        h->data[i] = lo + (hi - lo) * (float)(*seed >> 8) / 16777216.0f;
    }
}

/* All of s as an integer in [lo, hi] ("abc", "-3" and "1e3" are refused: atoi had read them as 0). */
static int parse_count(const char *s, long lo, long hi, int *out) {
    char *end;
    errno = 0;
    const long v = strtol(s, &end, 10);
    if (s[0] == '\0' || *end != '\0' || errno != 0 || v < lo || v > hi) return -1;
    *out = (int)v;
    return 0;
}

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int axial_cmd_attention(int argc, char **argv) {
    int64_t dims[5] = {1, 32, 256, 8, 32};
    const char *device = "auto";
    int threads = 0, repeat = 5;
    static const char *const value_options[] = {"--shape", "--device", "--threads", "--repeat", NULL};
    if (axial_refuse_repeated_options(argc, argv, "attention", value_options) != 0) return 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            attention_usage(stdout);
            return 0;
        } else if (strcmp(a, "--shape") == 0 && val) {
            if (parse_shape(val, dims) != 0) {
                fprintf(stderr, "axial attention: --shape %s: expected five integers B,N,S,H,D in [1, 1048576] "
                                "whose tensors stay below 1 TiB\n", val);
                return 2;
            }
            i++;
        } else if (strcmp(a, "--device") == 0 && val) {
            device = val;
            i++;
        } else if (strcmp(a, "--threads") == 0 && val) {
            if (parse_count(val, 0, 4096, &threads) != 0) {
                fprintf(stderr, "axial attention: --threads '%s': expected an integer in [0, 4096] (0 = all)\n", val);
                return 2;
            }
            i++;
        } else if (strcmp(a, "--repeat") == 0 && val) {
            if (parse_count(val, 1, 1000000, &repeat) != 0) {
                fprintf(stderr, "axial attention: --repeat '%s': expected an integer in [1, 1000000]\n", val);
                return 2;
            }
            i++;
        } else {
            fprintf(stderr, "axial attention: unknown or incomplete option '%s'\n", a);
            attention_usage(stderr);
            return 2;
        }
    }
    if (strcmp(device, "auto") != 0 && strcmp(device, "cpu") != 0 && strcmp(device, "cuda") != 0) {
        fprintf(stderr, "axial attention: --device %s: expected auto, cpu or cuda\n", device);
        return 2;
    }
    const int use_gpu = strcmp(device, "cuda") == 0 || (strcmp(device, "auto") == 0 && ax_cuda_device_count() > 0);

    const int64_t B = dims[0], N = dims[1], S = dims[2], H = dims[3], D = dims[4];
    const int64_t act[5] = {B, N, S, H, D};
    const int64_t mask_shape[5] = {B, N, 1, 1, S};
    const int64_t pair_shape[5] = {B, 1, H, S, S};
    const int64_t lse_shape[4] = {B, N, H, S};
    host_tensor q, k, v, mask, pair, out, lse, dout, dq, dk, dv, dmask, dpair;
    host_tensor *all[] = {&q, &k, &v, &mask, &pair, &out, &lse, &dout, &dq, &dk, &dv, &dmask, &dpair};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) memset(all[i], 0, sizeof *all[i]);
    int failed = host_alloc(&q, 5, act) || host_alloc(&k, 5, act) || host_alloc(&v, 5, act) ||
                 host_alloc(&mask, 5, mask_shape) || host_alloc(&pair, 5, pair_shape) || host_alloc(&out, 5, act) ||
                 host_alloc(&lse, 4, lse_shape) || host_alloc(&dout, 5, act) || host_alloc(&dq, 5, act) ||
                 host_alloc(&dk, 5, act) || host_alloc(&dv, 5, act) || host_alloc(&dmask, 5, mask_shape) ||
                 host_alloc(&dpair, 5, pair_shape);
    int status = 1;
    ax_context *ctx = NULL;
    double *fwd_times = NULL, *bwd_times = NULL;
    if (failed) {
        fprintf(stderr, "axial attention: out of memory for shape %lld,%lld,%lld,%lld,%lld\n", (long long)B,
                (long long)N, (long long)S, (long long)H, (long long)D);
        goto cleanup;
    }
    unsigned seed = 12345u;
    fill_uniform(&q, &seed, -1.0f, 1.0f);
    fill_uniform(&k, &seed, -1.0f, 1.0f);
    fill_uniform(&v, &seed, -1.0f, 1.0f);
    fill_uniform(&pair, &seed, -1.0f, 1.0f);
    fill_uniform(&dout, &seed, -1.0f, 1.0f);
    for (int64_t i = 0; i < ax_tensor_numel(&mask.t); i++) mask.data[i] = (i % 17 == 16) ? -1e9f : 0.0f;

    ax_context_config cfg = AX_CONTEXT_CONFIG_INIT;
    cfg.num_threads = threads;
    if (use_gpu) cfg.device.type = AX_CUDA;
    if (ax_context_create(&ctx, &cfg) != AX_OK) {
        fprintf(stderr, "axial attention: %s\n", ax_last_error());
        goto cleanup;
    }
    for (size_t i = 0; i < sizeof all / sizeof all[0] && use_gpu; i++) {
        const size_t bytes = (size_t)ax_tensor_numel(&all[i]->t) * sizeof(float);
        if (ax_device_alloc(ctx, bytes, &all[i]->device_data) != AX_OK ||
            ax_copy_to_device(ctx, all[i]->device_data, all[i]->data, bytes) != AX_OK) {
            fprintf(stderr, "axial attention: %s\n", ax_last_error());
            goto cleanup;
        }
        all[i]->t.data = all[i]->device_data;
        all[i]->t.device = ax_context_device(ctx);
    }
    fwd_times = calloc((size_t)repeat, sizeof(double));
    bwd_times = calloc((size_t)repeat, sizeof(double));
    if (fwd_times == NULL || bwd_times == NULL) goto cleanup;
    for (int r = -1; r < repeat; r++) { /* r = -1 is the warm-up */
        double t0 = now_seconds();
        if (ax_evoformer_attention_forward(ctx, &q.t, &k.t, &v.t, &mask.t, &pair.t, &out.t, &lse.t) != AX_OK) {
            fprintf(stderr, "axial attention: forward: %s\n", ax_last_error());
            goto cleanup;
        }
        if (ax_context_synchronize(ctx) != AX_OK) {
            fprintf(stderr, "axial attention: forward: %s\n", ax_last_error());
            goto cleanup;
        }
        double t1 = now_seconds();
        if (ax_evoformer_attention_backward(ctx, &q.t, &k.t, &v.t, &mask.t, &pair.t, &out.t, &lse.t, &dout.t, &dq.t,
                                            &dk.t, &dv.t, &dmask.t, &dpair.t) != AX_OK) {
            fprintf(stderr, "axial attention: backward: %s\n", ax_last_error());
            goto cleanup;
        }
        if (ax_context_synchronize(ctx) != AX_OK) {
            fprintf(stderr, "axial attention: backward: %s\n", ax_last_error());
            goto cleanup;
        }
        double t2 = now_seconds();
        if (r >= 0) {
            fwd_times[r] = t1 - t0;
            bwd_times[r] = t2 - t1;
        }
    }
    qsort(fwd_times, (size_t)repeat, sizeof(double), cmp_double);
    qsort(bwd_times, (size_t)repeat, sizeof(double), cmp_double);
    const double flops = 4.0 * (double)B * (double)N * (double)H * (double)S * (double)S * (double)D;
    const double fwd = fwd_times[repeat / 2], bwd = bwd_times[repeat / 2];
    if (use_gpu && (ax_copy_to_host(ctx, out.data, out.device_data, (size_t)ax_tensor_numel(&out.t) * 4) != AX_OK ||
                    ax_copy_to_host(ctx, dq.data, dq.device_data, (size_t)ax_tensor_numel(&dq.t) * 4) != AX_OK)) {
        fprintf(stderr, "axial attention: %s\n", ax_last_error());
        goto cleanup;
    }
    double checksum = 0.0;
    int finite = 1;
    for (int64_t i = 0; i < ax_tensor_numel(&dq.t); i++) {
        checksum += fabs((double)out.data[i]) + fabs((double)dq.data[i]);
        finite &= isfinite(out.data[i]) && isfinite(dq.data[i]);
    }
    const double naive_bytes = 4.0 * (double)B * (double)N * (double)H * (double)S * (double)S;
    char where[300];
    if (use_gpu) {
        char name[256] = "?";
        int64_t mem = 0;
        ax_cuda_device_info(ax_context_device(ctx).id, name, sizeof name, &mem);
        snprintf(where, sizeof where, "GPU %s", name);
    } else {
        snprintf(where, sizeof where, "CPU, %d threads, %s kernels", (int)ax_context_num_threads(ctx),
                 ax_cpu_path_name(ax_cpu_path_active()));
    }
    printf("Evoformer attention, MSA row attention with pair bias: B=%lld N=%lld S=%lld H=%lld D=%lld fp32 on %s\n",
           (long long)B, (long long)N, (long long)S, (long long)H, (long long)D, where);
    printf("  forward   %9.3f ms  %8.1f GFLOP/s (median of %d)\n", fwd * 1e3, flops / fwd * 1e-9, repeat);
    printf("  backward  %9.3f ms  %8.1f GFLOP/s (2.5x forward FLOPs)\n", bwd * 1e3, 2.5 * flops / bwd * 1e-9);
    printf("  working memory %.2f MiB (a naive implementation stores %.2f MiB of logits alone)\n",
           (double)ax_context_workspace_peak(ctx) / 1048576.0, naive_bytes / 1048576.0);
    printf("  outputs finite: %s, checksum %.6e\n", finite ? "yes" : "NO", checksum);
    status = finite ? 0 : 1;
cleanup:
    free(fwd_times);
    free(bwd_times);
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        ax_device_free(ctx, all[i]->device_data);
        free(all[i]->data);
    }
    ax_context_destroy(ctx);
    return status;
}
