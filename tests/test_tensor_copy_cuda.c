/*
 * test_tensor_copy_cuda.c — ax_tensor_copy on a CUDA device against the CPU, bit for bit: every
 * float and block-quantized dtype pair worth having, strided and transposed views, padded and
 * reversed destination rows, NaN/Inf blocks and extreme scales. Skips (exit 77) without a device.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "harness.h"

typedef struct copy_case {
    ax_dtype src, dst;
    int64_t rows, cols;
    int transposed_src; /* plain sources only: read a (cols, rows) array through strides (1, rows) */
    int64_t dst_pad;    /* elements between destination rows (a whole number of blocks) */
    int reversed_dst;   /* destination rows bottom-up (negative row stride) */
} copy_case;

static ax_context *gpu, *cpu;

/* Source values: a mix of scales, one NaN and one Inf block, in fp32. */
static void fill_values(float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        const int64_t block = i / 256;
        const double scale = block % 5 == 0 ? 1e-30 : block % 5 == 1 ? 1e4 : block % 5 == 2 ? 1e30 : 1.0;
        x[i] = (float)(th_uniform(-1, 1) * scale);
    }
    if (n > 300) {
        x[300] = NAN;
        x[n - 1] = -INFINITY;
    }
}

static int run_case(const copy_case *c) {
    const int64_t n = c->rows * c->cols, dst_elems = c->rows * (c->cols + c->dst_pad);
    const int64_t src_bytes = ax_dtype_bytes(c->src, n), dst_bytes = ax_dtype_bytes(c->dst, dst_elems);
    float *values = malloc((size_t)n * sizeof(float));
    void *host_src = malloc((size_t)src_bytes), *cpu_dst = malloc((size_t)dst_bytes), *gpu_out = malloc((size_t)dst_bytes);
    fill_values(values, n);
    CHECK_OK(ax_convert(values, AX_F32, host_src, c->src, n));
    memset(cpu_dst, 0xee, (size_t)dst_bytes);
    void *dev_src = NULL, *dev_dst = NULL;
    CHECK_OK(ax_device_alloc(gpu, (size_t)src_bytes, &dev_src));
    CHECK_OK(ax_device_alloc(gpu, (size_t)dst_bytes, &dev_dst));
    CHECK_OK(ax_copy_to_device(gpu, dev_src, host_src, (size_t)src_bytes));
    CHECK_OK(ax_copy_to_device(gpu, dev_dst, cpu_dst, (size_t)dst_bytes));

    const int64_t shape[2] = {c->rows, c->cols};
    ax_tensor s, d;
    CHECK_OK(ax_tensor_contiguous(&s, host_src, c->src, 2, shape));
    if (c->transposed_src) {
        s.strides[0] = 1;
        s.strides[1] = c->rows;
    }
    CHECK_OK(ax_tensor_contiguous(&d, cpu_dst, c->dst, 2, shape));
    d.strides[0] = c->cols + c->dst_pad;
    int64_t first_row_bytes = 0;
    if (c->reversed_dst) {
        d.strides[0] = -d.strides[0];
        first_row_bytes = ax_dtype_bytes(c->dst, (c->rows - 1) * (c->cols + c->dst_pad));
        d.data = (char *)cpu_dst + first_row_bytes;
    }
    CHECK_OK(ax_tensor_copy(cpu, &s, &d));
    ax_tensor sg = s, dg = d;
    sg.data = dev_src;
    sg.device.type = AX_CUDA;
    dg.data = (char *)dev_dst + first_row_bytes;
    dg.device.type = AX_CUDA;
    CHECK_OK(ax_tensor_copy(gpu, &sg, &dg));
    CHECK_OK(ax_context_synchronize(gpu));
    CHECK_OK(ax_copy_to_host(gpu, gpu_out, dev_dst, (size_t)dst_bytes));
    int64_t first_bad = -1;
    for (int64_t i = 0; i < dst_bytes && first_bad < 0; i++)
        if (((uint8_t *)gpu_out)[i] != ((uint8_t *)cpu_dst)[i]) first_bad = i;
    if (first_bad >= 0)
        TH_FAIL("%s -> %s (%lld x %lld%s%s): GPU and CPU differ from byte %lld", ax_dtype_name(c->src),
                ax_dtype_name(c->dst), (long long)c->rows, (long long)c->cols, c->transposed_src ? ", transposed" : "",
                c->reversed_dst ? ", reversed" : "", (long long)first_bad);
    ax_device_free(gpu, dev_src);
    ax_device_free(gpu, dev_dst);
    free(values);
    free(host_src);
    free(cpu_dst);
    free(gpu_out);
    return first_bad < 0;
}

static void test_gpu_matches_cpu(void) {
    const ax_dtype plain[6] = {AX_F32, AX_F16, AX_BF16, AX_F64, AX_F8_E4M3FN, AX_F8_E5M2};
    const ax_dtype blocks[5] = {AX_Q4_0, AX_Q4_1, AX_Q8_0, AX_Q4_K, AX_Q6_K};
    int cases = 0, ok = 0;
    th_seed(77);
    for (int a = 0; a < 6; a++)
        for (int b = 0; b < 6; b++) {
            const copy_case c = {plain[a], plain[b], 37, 53, (a + b) % 2, 3, b % 2};
            ok += run_case(&c);
            cases++;
        }
    for (int k = 0; k < 5; k++)
        for (int a = 0; a < 6; a++) {
            const copy_case into = {plain[a], blocks[k], 6, 512, a % 2, 256, k % 2};
            const copy_case out_of = {blocks[k], plain[a], 6, 512, 0, 7, a % 2};
            ok += run_case(&into) + run_case(&out_of);
            cases += 2;
        }
    for (int k = 0; k < 5; k++)
        for (int j = 0; j < 5; j++) {
            const copy_case c = {blocks[k], blocks[j], 3, 1024, 0, 256, (k + j) % 2};
            ok += run_case(&c);
            cases++;
        }
    printf("  %d of %d dtype/layout cases identical on GPU and CPU\n", ok, cases);
}

int main(void) {
    if (ax_cuda_device_count() == 0) {
        printf("SKIP: no CUDA device\n");
        return 77;
    }
    ax_context_config cfg = AX_CONTEXT_CONFIG_INIT;
    cfg.device.type = AX_CUDA;
    CHECK_OK(ax_context_create(&gpu, &cfg));
    CHECK_OK(ax_context_create(&cpu, NULL));
    if (gpu != NULL && cpu != NULL) RUN(test_gpu_matches_cpu);
    ax_context_destroy(gpu);
    ax_context_destroy(cpu);
    return th_finish();
}
