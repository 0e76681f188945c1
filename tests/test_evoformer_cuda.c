/*
 * test_evoformer_cuda.c — the CUDA backend of Evoformer attention against the CPU backend (the
 * reference), on fresh random inputs: forward and backward, f32 / bf16 / f16, biases absent, full or
 * broadcast (in every dimension a bias may broadcast), -inf masks with fully masked rows, OpenFold's
 * huge finite masks (1e9 * (mask - 1), 1e9 * mask - 1, -3e38) with padded MSA rows and pair-bias rows
 * of -1e9, contiguous and strided (16-byte-misaligned) layouts, an infinite v at a masked key. CUDA
 * outputs are poisoned with NaN bytes first, so an element the kernels never write fails the
 * comparison; a second backward run must give identical bits. Skips (exit 77) without a CUDA device.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axial/evoformer.h"
#include "harness.h"
#include "mask_forms.h"

/* A CUDA runtime failure means the test itself cannot go on. */
#define CUDA_OR_DIE(call)                                                                                   \
    do {                                                                                                    \
        cudaError_t cuda_err_ = (call);                                                                     \
        if (cuda_err_ != cudaSuccess) {                                                                     \
            fprintf(stderr, "FATAL %s:%d: %s: %s\n", __FILE__, __LINE__, #call, cudaGetErrorString(cuda_err_)); \
            exit(1);                                                                                        \
        }                                                                                                   \
    } while (0)

static cudaStream_t g_stream;
static ax_context *g_cuda;
static ax_context *g_cpu;

/* ---- tensors that live on both sides -------------------------------------------------------- */

/* One shape and set of strides, allocated on the host (for the CPU context) and on the device (for
 * the CUDA context). Inputs hold the same bytes on both sides. */
typedef struct twin {
    ax_tensor host, dev;
    size_t bytes; /* the allocation, covering the largest in-bounds offset */
} twin;

static size_t dtype_bytes(ax_dtype dt) { return dt == AX_F32 ? 4 : 2; }

/* strides == NULL: row-major contiguous. */
static void twin_alloc(twin *t, ax_dtype dt, int32_t ndim, const int64_t *shape, const int64_t *strides) {
    memset(t, 0, sizeof *t);
    t->host.dtype = dt;
    t->host.ndim = ndim;
    int64_t stride = 1, span = 1;
    for (int32_t d = ndim - 1; d >= 0; d--) {
        t->host.shape[d] = shape[d];
        t->host.strides[d] = strides != NULL ? strides[d] : stride;
        stride *= shape[d];
        span += (shape[d] - 1) * t->host.strides[d];
    }
    t->bytes = (size_t)span * dtype_bytes(dt);
    t->host.data = malloc(t->bytes);
    if (t->host.data == NULL) {
        fprintf(stderr, "FATAL: out of host memory (%zu bytes)\n", t->bytes);
        exit(1);
    }
    t->host.device.type = AX_CPU;
    t->host.device.id = 0;
    t->dev = t->host;
    t->dev.device.type = AX_CUDA;
    t->dev.device.id = 0;
    t->dev.data = NULL;
    CUDA_OR_DIE(cudaMalloc(&t->dev.data, t->bytes));
}

static void twin_free(twin *t) {
    if (t->host.data == NULL) return;
    free(t->host.data);
    CUDA_OR_DIE(cudaFree(t->dev.data));
    memset(t, 0, sizeof *t);
}

static int64_t twin_numel(const twin *t) { return ax_tensor_numel(&t->host); }

/* Element offset of the linear (row-major logical) index `linear`. */
static int64_t offset_of(const ax_tensor *t, int64_t linear) {
    int64_t off = 0;
    for (int32_t d = t->ndim - 1; d >= 0; d--) {
        off += (linear % t->shape[d]) * t->strides[d];
        linear /= t->shape[d];
    }
    return off;
}

static double elem_get(const void *base, ax_dtype dt, int64_t off) {
    switch (dt) {
    case AX_F32: return ((const float *)base)[off];
    case AX_BF16: return ax_bf16_to_f32(((const uint16_t *)base)[off]);
    case AX_F16: return ax_f16_to_f32(((const uint16_t *)base)[off]);
    default: return NAN;
    }
}

static void elem_set(void *base, ax_dtype dt, int64_t off, double value) {
    const float f = (float)value;
    switch (dt) {
    case AX_F32: ((float *)base)[off] = f; break;
    case AX_BF16: ((uint16_t *)base)[off] = ax_f32_to_bf16(f); break;
    case AX_F16: ((uint16_t *)base)[off] = ax_f32_to_f16(f); break;
    default: break;
    }
}

static void twin_upload(twin *t) {
    CUDA_OR_DIE(cudaMemcpyAsync(t->dev.data, t->host.data, t->bytes, cudaMemcpyHostToDevice, g_stream));
    CUDA_OR_DIE(cudaStreamSynchronize(g_stream));
}

/* Every element of the allocation (padding too) uniform in [lo, hi), on both sides. */
static void twin_fill_uniform(twin *t, double lo, double hi) {
    const int64_t count = (int64_t)(t->bytes / dtype_bytes(t->host.dtype));
    for (int64_t i = 0; i < count; i++) elem_set(t->host.data, t->host.dtype, i, th_uniform(lo, hi));
    twin_upload(t);
}

/* NaN bytes on both sides, so an element a backend never writes shows up. */
static void twin_poison(twin *t) {
    memset(t->host.data, 0xFF, t->bytes);
    CUDA_OR_DIE(cudaMemsetAsync(t->dev.data, 0xFF, t->bytes, g_stream));
    CUDA_OR_DIE(cudaStreamSynchronize(g_stream));
}

/* The device bytes, copied into a new host buffer. */
static void *twin_download(const twin *t) {
    void *buf = malloc(t->bytes);
    if (buf == NULL) {
        fprintf(stderr, "FATAL: out of host memory (%zu bytes)\n", t->bytes);
        exit(1);
    }
    CUDA_OR_DIE(cudaMemcpyAsync(buf, t->dev.data, t->bytes, cudaMemcpyDeviceToHost, g_stream));
    CUDA_OR_DIE(cudaStreamSynchronize(g_stream));
    return buf;
}

/* ---- comparisons -------------------------------------------------------------------------- */

/* max |cuda - cpu| over the logical elements must be at most tol * max(max |cpu|, floor). NaN
 * anywhere fails. The floor keeps gradients that are zero in exact arithmetic (S = 1, or a bias
 * gradient summed over the keys, where each row of dS sums to 0) from comparing rounding noise
 * against itself: 1e-2 where real values are O(0.1 .. 1), 1 where the exact answer is 0. */
static void compare_twin(const char *what, const char *desc, const twin *t, double tol, double abs_floor) {
    void *got = twin_download(t);
    double max_ref = 0.0, max_err = 0.0;
    int64_t worst = -1;
    const int64_t n = twin_numel(t);
    for (int64_t e = 0; e < n; e++) {
        const int64_t off = offset_of(&t->host, e);
        const double ref = elem_get(t->host.data, t->host.dtype, off);
        const double val = elem_get(got, t->host.dtype, off);
        const double err = isnan(val) || isnan(ref) ? INFINITY : fabs(val - ref);
        if (fabs(ref) > max_ref) max_ref = fabs(ref);
        if (worst < 0 || err > max_err) {
            max_err = err;
            worst = e;
        }
    }
    const double bound = tol * (max_ref > abs_floor ? max_ref : abs_floor);
    th_checks++;
    if (!(max_err <= bound)) {
        const int64_t off = offset_of(&t->host, worst);
        TH_FAIL("%s [%s]: max |cuda - cpu| = %g > %g (tol %g of max |cpu| = %g); worst at element %lld: cuda %g, cpu %g",
                what, desc, max_err, bound, tol, max_ref, (long long)worst, elem_get(got, t->host.dtype, off),
                elem_get(t->host.data, t->host.dtype, off));
    }
    free(got);
}

/* lse: -inf exactly where the CPU has -inf, elsewhere within tol * (1 + |cpu|). */
static void compare_lse(const char *desc, const twin *t, double tol) {
    float *got = (float *)twin_download(t);
    const float *ref = (const float *)t->host.data;
    int64_t bad = 0, first_bad = -1;
    const int64_t n = twin_numel(t);
    for (int64_t e = 0; e < n; e++) {
        const int64_t off = offset_of(&t->host, e);
        const double r = ref[off], g = got[off];
        const int ok = isinf(r) && r < 0 ? (isinf(g) && g < 0) : fabs(g - r) <= tol * (1.0 + fabs(r));
        if (!ok) {
            if (first_bad < 0) first_bad = off;
            bad++;
        }
    }
    th_checks++;
    if (bad > 0)
        TH_FAIL("lse [%s]: %lld of %lld rows differ; first at offset %lld: cuda %g, cpu %g", desc, (long long)bad,
                (long long)n, (long long)first_bad, (double)got[first_bad], (double)ref[first_bad]);
    free(got);
}

/* ---- cases -------------------------------------------------------------------------------- */

typedef enum mask_mode {
    MASK_NONE,
    MASK_FULL,   /* (B, N, 1, 1, S) */
    MASK_SHARED, /* (B, 1, 1, 1, S): MSA row attention's usual mask */
    MASK_ALL1,   /* (1, 1, 1, 1, S) */
    MASK_KEYSUM  /* (B, N, 1, 1, 1): gradient summed over keys */
} mask_mode;

typedef enum pair_mode {
    PAIR_NONE,
    PAIR_FULL,   /* (B, 1, H, S, S) */
    PAIR_SHARED, /* (1, 1, H, S, S) */
    PAIR_HEADS1, /* (B, 1, 1, S, S) */
    PAIR_QBCAST, /* (B, 1, H, 1, S): gradient summed over queries */
    PAIR_KBCAST, /* (1, 1, H, S, 1): gradient summed over keys */
    PAIR_SCALAR  /* (1, 1, 1, 1, 1) */
} pair_mode;

typedef struct cuda_case {
    int64_t B, N, S, H, D;
    ax_dtype dtype;
    ax_dtype bias_dtype;
    mask_mode mask;
    pair_mode pair;
    int strided;  /* padded, permuted, 16-byte-misaligned activation rows */
    int no_dbias; /* biases present but their gradients not asked for */
    /* what masked keys get (mask_forms.h; FORM_NEG_INF = 0 is -inf); with a finite form a padded row
     * (every key masked) is softmax(q.k + pair), as in float64, not an empty row */
    mask_form form;
    /* the pair bias's whole row (b = 0, h = 0, i = S / 2) is -1e9 rather than -inf: fp32 loses q.k
     * there and the backward must follow that forward (the row's lse is not exact) */
    int huge_pair_row;
} cuda_case;

static void mask_shape(const cuda_case *c, int64_t shape[5]) {
    const int64_t full[5] = {c->B, c->N, 1, 1, c->S};
    memcpy(shape, full, sizeof full);
    if (c->mask == MASK_SHARED) shape[1] = 1;
    if (c->mask == MASK_ALL1) shape[0] = shape[1] = 1;
    if (c->mask == MASK_KEYSUM) shape[4] = 1;
}

static void pair_shape(const cuda_case *c, int64_t shape[5]) {
    const int64_t full[5] = {c->B, 1, c->H, c->S, c->S};
    memcpy(shape, full, sizeof full);
    switch (c->pair) {
    case PAIR_SHARED: shape[0] = 1; break;
    case PAIR_HEADS1: shape[2] = 1; break;
    case PAIR_QBCAST: shape[3] = 1; break;
    case PAIR_KBCAST: shape[0] = 1; shape[4] = 1; break;
    case PAIR_SCALAR: shape[0] = shape[2] = shape[3] = shape[4] = 1; break;
    default: break;
    }
}

/* The query row that the pair bias masks entirely (for b = 0, h = 0), or -1 when none is. */
static int64_t masked_row(const cuda_case *c) {
    if (c->pair == PAIR_NONE || c->pair == PAIR_QBCAST || c->pair == PAIR_SCALAR) return -1;
    return c->S / 2;
}

/* masked_row(c) when it is masked with -inf (an empty row: out 0, lse -inf), else -1. */
static int64_t empty_row(const cuda_case *c) { return c->huge_pair_row ? -1 : masked_row(c); }

static void case_desc(const cuda_case *c, char *buf, size_t size) {
    static const char *masks[] = {"none", "full", "shared", "all1", "keysum"};
    static const char *pairs[] = {"none", "full", "shared", "heads1", "qbcast", "kbcast", "scalar"};
    snprintf(buf, size, "B=%lld N=%lld S=%lld H=%lld D=%lld %s bias=%s mask=%s pair=%s%s%s masked=%s%s",
             (long long)c->B, (long long)c->N, (long long)c->S, (long long)c->H, (long long)c->D,
             ax_dtype_name(c->dtype), ax_dtype_name(c->bias_dtype), masks[c->mask], pairs[c->pair],
             c->strided ? " strided" : "", c->no_dbias ? " no-dbias" : "", mask_form_name(c->form),
             c->huge_pair_row ? " pair-row=-1e9" : "");
}

static void activation_alloc(twin *t, const cuda_case *c) {
    const int64_t shape[5] = {c->B, c->N, c->S, c->H, c->D};
    if (!c->strided) {
        twin_alloc(t, c->dtype, 5, shape, NULL);
        return;
    }
    /* storage order (B, H, N, S, D + 1): rows one element apart from 16-byte alignment */
    const int64_t row = c->D + 1;
    const int64_t strides[5] = {c->H * c->N * c->S * row, c->S * row, row, c->N * c->S * row, 1};
    twin_alloc(t, c->dtype, 5, shape, strides);
}

static void run_case(const cuda_case *c) {
    char desc[256];
    case_desc(c, desc, sizeof desc);
    const double tol = c->dtype == AX_F32 ? 1e-4 : 2e-2;
    const double lse_tol = c->dtype == AX_F32 ? 1e-4 : 1e-3;
    const int failures_before = th_failures;

    twin q, k, v, dout, out, dq, dk, dv, lse, mask, pair, dmask, dpair;
    memset(&mask, 0, sizeof mask);
    memset(&pair, 0, sizeof pair);
    memset(&dmask, 0, sizeof dmask);
    memset(&dpair, 0, sizeof dpair);
    activation_alloc(&q, c);
    activation_alloc(&k, c);
    activation_alloc(&v, c);
    activation_alloc(&dout, c);
    activation_alloc(&out, c);
    activation_alloc(&dq, c);
    activation_alloc(&dk, c);
    activation_alloc(&dv, c);
    twin_fill_uniform(&q, -1.5, 1.5);
    twin_fill_uniform(&k, -1.5, 1.5);
    twin_fill_uniform(&v, -1.0, 1.0);
    twin_fill_uniform(&dout, -1.0, 1.0);
    {
        const int64_t shape[4] = {c->B, c->N, c->H, c->S};
        const int64_t row = c->S + 3;
        const int64_t strides[4] = {c->N * c->H * row, c->H * row, row, 1};
        twin_alloc(&lse, AX_F32, 4, shape, c->strided ? strides : NULL);
    }

    if (c->mask != MASK_NONE) {
        int64_t shape[5];
        mask_shape(c, shape);
        twin_alloc(&mask, c->bias_dtype, 5, shape, NULL);
        twin_fill_uniform(&mask, -1.0, 1.0);
        /* about a fifth of the keys masked, and, with a full N dim, every key of (b = 0, n = N - 1) */
        for (int64_t e = 0; e < twin_numel(&mask); e++) {
            const int64_t n_idx = (e / shape[4]) % shape[1];
            const int whole_row = c->mask == MASK_FULL && c->N > 1 && e < shape[1] * shape[4] && n_idx == c->N - 1;
            const int masked = whole_row || th_uniform(0.0, 1.0) < 0.2;
            /* kept keys keep their random value, except under 1e9 * mask - 1, where they are 1e9 - 1 */
            if (masked || c->form == FORM_PLUS_1E9)
                elem_set(mask.host.data, c->bias_dtype, offset_of(&mask.host, e), mask_form_value(c->form, !masked));
        }
        twin_upload(&mask);
        if (!c->no_dbias) twin_alloc(&dmask, c->bias_dtype, 5, shape, NULL);
    }
    if (c->pair != PAIR_NONE) {
        int64_t shape[5];
        pair_shape(c, shape);
        twin_alloc(&pair, c->bias_dtype, 5, shape, NULL);
        twin_fill_uniform(&pair, -1.0, 1.0);
        if (c->pair != PAIR_SCALAR) {
            const int64_t row_masked = masked_row(c);
            for (int64_t e = 0; e < twin_numel(&pair); e++) {
                /* logical (b, 0, h, i, j) of element e */
                const int64_t i = (e / shape[4]) % shape[3];
                const int64_t h = (e / (shape[4] * shape[3])) % shape[2];
                const int64_t b = e / (shape[4] * shape[3] * shape[2]);
                const int whole_row = b == 0 && h == 0 && i == row_masked;
                if (whole_row && c->huge_pair_row)
                    elem_set(pair.host.data, c->bias_dtype, offset_of(&pair.host, e), -1e9);
                else if (whole_row || th_uniform(0.0, 1.0) < 0.1)
                    elem_set(pair.host.data, c->bias_dtype, offset_of(&pair.host, e), -INFINITY);
            }
            twin_upload(&pair);
        }
        if (!c->no_dbias) twin_alloc(&dpair, c->bias_dtype, 5, shape, NULL);
    }
    const ax_tensor *mask_h = c->mask != MASK_NONE ? &mask.host : NULL, *mask_d = c->mask != MASK_NONE ? &mask.dev : NULL;
    const ax_tensor *pair_h = c->pair != PAIR_NONE ? &pair.host : NULL, *pair_d = c->pair != PAIR_NONE ? &pair.dev : NULL;
    ax_tensor *dmask_h = dmask.host.data != NULL ? &dmask.host : NULL, *dmask_d = dmask.host.data != NULL ? &dmask.dev : NULL;
    ax_tensor *dpair_h = dpair.host.data != NULL ? &dpair.host : NULL, *dpair_d = dpair.host.data != NULL ? &dpair.dev : NULL;

    /* ---- forward ---- */
    twin_poison(&out);
    twin_poison(&lse);
    CHECK_OK(ax_evoformer_attention_forward(g_cpu, &q.host, &k.host, &v.host, mask_h, pair_h, &out.host, &lse.host));
    /* without lse first: out must not depend on it */
    CHECK_OK(ax_evoformer_attention_forward(g_cuda, &q.dev, &k.dev, &v.dev, mask_d, pair_d, &out.dev, NULL));
    CUDA_OR_DIE(cudaStreamSynchronize(g_stream));
    void *out_no_lse = twin_download(&out);
    CUDA_OR_DIE(cudaMemsetAsync(out.dev.data, 0xFF, out.bytes, g_stream));
    CHECK_OK(ax_evoformer_attention_forward(g_cuda, &q.dev, &k.dev, &v.dev, mask_d, pair_d, &out.dev, &lse.dev));
    CUDA_OR_DIE(cudaStreamSynchronize(g_stream));
    CUDA_OR_DIE(cudaGetLastError());
    compare_twin("out", desc, &out, tol, 1e-2);
    compare_lse(desc, &lse, lse_tol);
    {
        void *out_with_lse = twin_download(&out);
        th_checks++;
        if (memcmp(out_no_lse, out_with_lse, out.bytes) != 0)
            TH_FAIL("out [%s]: differs between runs with and without lse", desc);
        free(out_with_lse);
    }
    free(out_no_lse);

    /* ---- backward: each backend from its own forward ---- */
    twin *grads[5] = {&dq, &dk, &dv, &dmask, &dpair};
    for (int g = 0; g < 5; g++)
        if (grads[g]->host.data != NULL) twin_poison(grads[g]);
    CHECK_OK(ax_evoformer_attention_backward(g_cpu, &q.host, &k.host, &v.host, mask_h, pair_h, &out.host, &lse.host,
                                             &dout.host, &dq.host, &dk.host, &dv.host, dmask_h, dpair_h));
    CHECK_OK(ax_evoformer_attention_backward(g_cuda, &q.dev, &k.dev, &v.dev, mask_d, pair_d, &out.dev, &lse.dev,
                                             &dout.dev, &dq.dev, &dk.dev, &dv.dev, dmask_d, dpair_d));
    CUDA_OR_DIE(cudaStreamSynchronize(g_stream));
    CUDA_OR_DIE(cudaGetLastError());
    compare_twin("dq", desc, &dq, tol, 1e-2);
    compare_twin("dk", desc, &dk, tol, 1e-2);
    compare_twin("dv", desc, &dv, tol, 1e-2);
    /* summed over keys: zero up to rounding (see compare_twin) */
    const int mask_zero = c->mask == MASK_KEYSUM, pair_zero = c->pair == PAIR_KBCAST || c->pair == PAIR_SCALAR;
    if (dmask_d != NULL) compare_twin("dbias_mask", desc, &dmask, tol, mask_zero ? 1.0 : 1e-2);
    if (dpair_d != NULL) compare_twin("dbias_pair", desc, &dpair, tol, pair_zero ? 1.0 : 1e-2);

    /* A fully masked row: out 0, lse -inf, dq 0, on the CUDA side, whatever the CPU says. */
    const int64_t row_masked = empty_row(c);
    if (row_masked >= 0) {
        float *lse_got = (float *)twin_download(&lse);
        void *out_got = twin_download(&out), *dq_got = twin_download(&dq);
        int bad = 0;
        for (int64_t n = 0; n < c->N; n++) {
            const float l = lse_got[n * lse.host.strides[1] + row_masked * lse.host.strides[3]];
            if (!(isinf(l) && l < 0)) bad++;
            const int64_t row_off = n * out.host.strides[1] + row_masked * out.host.strides[2];
            for (int64_t d = 0; d < c->D; d++) {
                if (elem_get(out_got, c->dtype, row_off + d) != 0.0) bad++;
                if (elem_get(dq_got, c->dtype, row_off + d) != 0.0) bad++;
            }
        }
        th_checks++;
        if (bad > 0) TH_FAIL("[%s]: fully masked query row %lld: %d values not (lse -inf, out 0, dq 0)", desc,
                             (long long)row_masked, bad);
        free(lse_got);
        free(out_got);
        free(dq_got);
    }

    /* ---- determinism: a second backward run gives the same bits ---- */
    void *first[5] = {NULL, NULL, NULL, NULL, NULL};
    for (int g = 0; g < 5; g++)
        if (grads[g]->host.data != NULL) {
            first[g] = twin_download(grads[g]);
            CUDA_OR_DIE(cudaMemsetAsync(grads[g]->dev.data, 0xFF, grads[g]->bytes, g_stream));
        }
    CHECK_OK(ax_evoformer_attention_backward(g_cuda, &q.dev, &k.dev, &v.dev, mask_d, pair_d, &out.dev, &lse.dev,
                                             &dout.dev, &dq.dev, &dk.dev, &dv.dev, dmask_d, dpair_d));
    CUDA_OR_DIE(cudaStreamSynchronize(g_stream));
    static const char *grad_names[5] = {"dq", "dk", "dv", "dbias_mask", "dbias_pair"};
    for (int g = 0; g < 5; g++) {
        if (first[g] == NULL) continue;
        void *second = twin_download(grads[g]);
        th_checks++;
        if (memcmp(first[g], second, grads[g]->bytes) != 0)
            TH_FAIL("%s [%s]: two backward runs differ bitwise", grad_names[g], desc);
        free(second);
        free(first[g]);
    }

    printf("  %s %s\n", th_failures == failures_before ? "ok  " : "FAIL", desc);
    twin *all[13] = {&q, &k, &v, &dout, &out, &dq, &dk, &dv, &lse, &mask, &pair, &dmask, &dpair};
    for (int i = 0; i < 13; i++) twin_free(all[i]);
}

/* Every S, D, H, N, B of the brief appears; D = 40, 72, 96, 120 cover partial and 3-chunk head dims.
 * Each dtype meets several bias shapes, -inf patterns and both layouts. */
static const cuda_case k_cases[] = {
    /*  B  N    S  H    D  dtype    bias     mask         pair         strided no_dbias form huge_pair_row */
    {1, 1, 1, 1, 8, AX_F32, AX_F32, MASK_NONE, PAIR_NONE, 0, 0, FORM_NEG_INF, 0},
    {1, 1, 7, 1, 8, AX_F32, AX_F32, MASK_FULL, PAIR_FULL, 0, 0, FORM_NEG_INF, 0},
    {2, 5, 16, 3, 32, AX_F32, AX_F32, MASK_FULL, PAIR_FULL, 0, 0, FORM_NEG_INF, 0},
    {1, 5, 17, 3, 64, AX_F32, AX_F32, MASK_SHARED, PAIR_SHARED, 1, 0, FORM_NEG_INF, 0},
    {2, 1, 130, 1, 128, AX_F32, AX_F32, MASK_FULL, PAIR_HEADS1, 0, 0, FORM_NEG_INF, 0},
    {1, 5, 257, 3, 32, AX_F32, AX_F32, MASK_SHARED, PAIR_FULL, 0, 0, FORM_NEG_INF, 0},
    {2, 5, 33, 3, 96, AX_F32, AX_F32, MASK_KEYSUM, PAIR_QBCAST, 0, 0, FORM_NEG_INF, 0},
    {2, 5, 33, 1, 8, AX_F32, AX_F32, MASK_NONE, PAIR_FULL, 1, 0, FORM_NEG_INF, 0},
    {1, 1, 65, 3, 128, AX_F32, AX_F32, MASK_FULL, PAIR_NONE, 0, 0, FORM_NEG_INF, 0},
    {2, 5, 40, 3, 40, AX_F32, AX_F32, MASK_ALL1, PAIR_KBCAST, 0, 0, FORM_NEG_INF, 0},
    {1, 1, 7, 3, 40, AX_BF16, AX_BF16, MASK_FULL, PAIR_FULL, 0, 0, FORM_NEG_INF, 0},
    {2, 5, 16, 1, 64, AX_BF16, AX_F32, MASK_SHARED, PAIR_FULL, 0, 0, FORM_NEG_INF, 0},
    {1, 5, 17, 3, 128, AX_BF16, AX_BF16, MASK_FULL, PAIR_SHARED, 1, 0, FORM_NEG_INF, 0},
    {2, 1, 130, 3, 72, AX_BF16, AX_F32, MASK_ALL1, PAIR_KBCAST, 0, 0, FORM_NEG_INF, 0},
    {1, 5, 257, 1, 128, AX_BF16, AX_BF16, MASK_FULL, PAIR_FULL, 0, 0, FORM_NEG_INF, 0},
    {2, 5, 1, 3, 32, AX_BF16, AX_BF16, MASK_FULL, PAIR_FULL, 0, 0, FORM_NEG_INF, 0},
    {2, 3, 40, 2, 16, AX_BF16, AX_BF16, MASK_KEYSUM, PAIR_SCALAR, 0, 0, FORM_NEG_INF, 0},
    {1, 5, 33, 3, 32, AX_BF16, AX_BF16, MASK_FULL, PAIR_FULL, 0, 1, FORM_NEG_INF, 0},
    {1, 1, 16, 1, 8, AX_F16, AX_F16, MASK_NONE, PAIR_NONE, 0, 0, FORM_NEG_INF, 0},
    {2, 5, 7, 3, 120, AX_F16, AX_F16, MASK_FULL, PAIR_FULL, 1, 0, FORM_NEG_INF, 0},
    {1, 5, 130, 3, 32, AX_F16, AX_F32, MASK_SHARED, PAIR_SHARED, 0, 0, FORM_NEG_INF, 0},
    {2, 1, 257, 1, 64, AX_F16, AX_F16, MASK_FULL, PAIR_FULL, 0, 0, FORM_NEG_INF, 0},
    {1, 5, 17, 3, 96, AX_F16, AX_F16, MASK_KEYSUM, PAIR_SCALAR, 0, 0, FORM_NEG_INF, 0},
    {2, 5, 33, 3, 64, AX_F16, AX_F32, MASK_FULL, PAIR_QBCAST, 1, 0, FORM_NEG_INF, 0},
    /* Several 64-row tiles of the tensor-core kernels, head dims padded up to 64 and 128, an odd S
     * (the last key has no pair partner), a pair-bias gradient summed over b on tensor cores (its sum split across blocks) and one
     * broadcast over h (SIMT dpair next to tensor-core dk / dv / dq). */
    {1, 3, 200, 2, 48, AX_BF16, AX_BF16, MASK_FULL, PAIR_FULL, 0, 0, FORM_NEG_INF, 0},
    {1, 2, 150, 2, 80, AX_F16, AX_F16, MASK_SHARED, PAIR_FULL, 0, 0, FORM_NEG_INF, 0},
    {2, 2, 97, 3, 32, AX_BF16, AX_F32, MASK_FULL, PAIR_SHARED, 0, 0, FORM_NEG_INF, 0},
    {1, 2, 70, 2, 64, AX_BF16, AX_BF16, MASK_SHARED, PAIR_HEADS1, 0, 0, FORM_NEG_INF, 0},
    {1, 4, 129, 2, 128, AX_F16, AX_F16, MASK_FULL, PAIR_FULL, 0, 0, FORM_NEG_INF, 0},
    {1, 1, 100, 2, 32, AX_BF16, AX_BF16, MASK_FULL, PAIR_FULL, 0, 0, FORM_NEG_INF, 0}, /* one (b, n): dpair unsplit */
    /* Masks of -3e38 (finite; beyond -FLT_MAX / log2(e), where the tensor-core kernels' log2-domain
     * scaling must not turn them into -inf), on tensor cores and on SIMT. */
    {1, 3, 40, 2, 32, AX_BF16, AX_F32, MASK_FULL, PAIR_FULL, 0, 0, FORM_NEG_3E38, 0},
    {1, 3, 40, 2, 32, AX_F32, AX_F32, MASK_FULL, PAIR_FULL, 0, 0, FORM_NEG_3E38, 0},
    /* OpenFold's masks with a padded MSA row (b = 0, n = N - 1): tensor cores (bf16, f16 with fp32
     * biases, which f16 could not hold), SIMT (f32, D not a multiple of 16), two key tiles, a mask
     * broadcast over n, and pair-bias rows of -1e9 whose lse is not exact. */
    {2, 3, 40, 2, 32, AX_BF16, AX_BF16, MASK_FULL, PAIR_FULL, 0, 0, FORM_PAD_1E9, 0},
    {2, 3, 40, 2, 32, AX_F32, AX_F32, MASK_FULL, PAIR_FULL, 0, 0, FORM_PAD_1E9, 0},
    {1, 3, 70, 2, 64, AX_F16, AX_F32, MASK_FULL, PAIR_FULL, 0, 0, FORM_PAD_1E9, 0},
    {1, 3, 70, 2, 40, AX_BF16, AX_F32, MASK_FULL, PAIR_FULL, 1, 0, FORM_PAD_1E9, 0},
    {2, 3, 40, 2, 32, AX_BF16, AX_BF16, MASK_FULL, PAIR_FULL, 0, 0, FORM_PLUS_1E9, 0},
    {2, 3, 40, 2, 32, AX_F32, AX_F32, MASK_FULL, PAIR_FULL, 0, 0, FORM_PLUS_1E9, 0},
    {1, 3, 130, 2, 32, AX_F16, AX_F32, MASK_SHARED, PAIR_FULL, 0, 0, FORM_PLUS_1E9, 0},
    {1, 3, 40, 2, 32, AX_BF16, AX_BF16, MASK_FULL, PAIR_FULL, 0, 0, FORM_PAD_1E9, 1},
    {1, 3, 40, 2, 32, AX_F32, AX_F32, MASK_FULL, PAIR_FULL, 0, 0, FORM_PAD_1E9, 1},
};

static void test_against_cpu(void) {
    th_seed(20260101);
    for (size_t i = 0; i < sizeof k_cases / sizeof k_cases[0]; i++) run_case(&k_cases[i]);
}

/* An infinite v at a masked key (a padded residue's garbage) reaches no gradient, given an out
 * without it (evoformer.h: dS is exactly 0 wherever P is 0): the CPU forward runs on a finite v,
 * then key S - 1's v becomes +inf (it is masked with -inf in every row) and both backends run the
 * backward from the CPU's out and lse. Every gradient must be finite and match the CPU's, dk and
 * dbias_mask of that key 0. The tensor-core dK/dV kernel had multiplied its P of 0 by an infinite
 * dP (NaN in dk and dbias_mask, on bf16/f16 with D a multiple of 16 only). */
static void test_inf_v_at_masked_key(void) {
    static const ax_dtype dtypes[3] = {AX_BF16, AX_F16, AX_F32};
    const int64_t B = 1, N = 2, S = 40, H = 2, D = 64;
    for (int di = 0; di < 3; di++) {
        const ax_dtype dt = dtypes[di];
        const int64_t shape[5] = {B, N, S, H, D}, mshape[5] = {B, N, 1, 1, S}, lshape[4] = {B, N, H, S};
        twin q, k, v, dout, out, lse, mask, dq, dk, dv, dmask;
        twin *all[11] = {&q, &k, &v, &dout, &out, &lse, &mask, &dq, &dk, &dv, &dmask};
        twin *act[9] = {&q, &k, &v, &dout, &out, &dq, &dk, &dv, NULL};
        for (int i = 0; act[i] != NULL; i++) twin_alloc(act[i], dt, 5, shape, NULL);
        twin_alloc(&lse, AX_F32, 4, lshape, NULL);
        twin_alloc(&mask, dt, 5, mshape, NULL);
        twin_alloc(&dmask, dt, 5, mshape, NULL);
        twin_fill_uniform(&q, -1.5, 1.5);
        twin_fill_uniform(&k, -1.5, 1.5);
        twin_fill_uniform(&v, -1.0, 1.0);
        twin_fill_uniform(&dout, -1.0, 1.0);
        for (int64_t e = 0; e < twin_numel(&mask); e++)
            elem_set(mask.host.data, dt, offset_of(&mask.host, e), e % S == S - 1 ? -INFINITY : 0.0);
        twin_upload(&mask);
        CHECK_OK(ax_evoformer_attention_forward(g_cpu, &q.host, &k.host, &v.host, &mask.host, NULL, &out.host,
                                                &lse.host));
        twin_upload(&out);
        twin_upload(&lse);
        for (int64_t n = 0; n < N; n++)
            for (int64_t h = 0; h < H; h++)
                for (int64_t d = 0; d < D; d++)
                    elem_set(v.host.data, dt, ((n * S + S - 1) * H + h) * D + d, INFINITY);
        twin_upload(&v);
        twin *grads[4] = {&dq, &dk, &dv, &dmask};
        for (int g = 0; g < 4; g++) twin_poison(grads[g]);
        CHECK_OK(ax_evoformer_attention_backward(g_cpu, &q.host, &k.host, &v.host, &mask.host, NULL, &out.host,
                                                 &lse.host, &dout.host, &dq.host, &dk.host, &dv.host, &dmask.host,
                                                 NULL));
        CHECK_OK(ax_evoformer_attention_backward(g_cuda, &q.dev, &k.dev, &v.dev, &mask.dev, NULL, &out.dev, &lse.dev,
                                                 &dout.dev, &dq.dev, &dk.dev, &dv.dev, &dmask.dev, NULL));
        CUDA_OR_DIE(cudaStreamSynchronize(g_stream));
        CUDA_OR_DIE(cudaGetLastError());
        char desc[96];
        snprintf(desc, sizeof desc, "inf v at a masked key, %s, D=%lld", ax_dtype_name(dt), (long long)D);
        const double tol = dt == AX_F32 ? 1e-4 : 2e-2;
        static const char *names[4] = {"dq", "dk", "dv", "dbias_mask"};
        for (int g = 0; g < 4; g++) compare_twin(names[g], desc, grads[g], tol, 1e-2); /* NaN never passes */
        void *dk_got = twin_download(&dk), *dm_got = twin_download(&dmask);
        int bad = 0;
        for (int64_t n = 0; n < N; n++) {
            bad += elem_get(dm_got, dt, n * S + S - 1) != 0.0;
            for (int64_t h = 0; h < H; h++)
                for (int64_t d = 0; d < D; d++) bad += elem_get(dk_got, dt, ((n * S + S - 1) * H + h) * D + d) != 0.0;
        }
        th_checks++;
        if (bad > 0) TH_FAIL("[%s]: %d values of the masked key's dk / dbias_mask are not 0", desc, bad);
        free(dk_got);
        free(dm_got);
        printf("  %s %s\n", bad == 0 ? "ok  " : "FAIL", desc);
        for (int i = 0; i < 11; i++) twin_free(all[i]);
    }
}

/* ---- limits of the CUDA backend ---------------------------------------------------------------- */

/* Calls forward on the CUDA context with head dim D (and, when d_stride != 1, q's last-dim stride)
 * and expects AX_ERR_UNSUPPORTED with `needle` in the message. */
static void expect_unsupported(int64_t D, int64_t d_stride, const char *needle) {
    const int64_t B = 1, N = 2, S = 9, H = 2;
    const int64_t shape[5] = {B, N, S, H, D};
    const int64_t contiguous[5] = {N * S * H * D, S * H * D, H * D, D, 1};
    const int64_t spread[5] = {N * S * H * D * d_stride, S * H * D * d_stride, H * D * d_stride, D * d_stride, d_stride};
    twin q, k, v, out;
    twin_alloc(&q, AX_F32, 5, shape, d_stride == 1 ? contiguous : spread);
    twin_alloc(&k, AX_F32, 5, shape, NULL);
    twin_alloc(&v, AX_F32, 5, shape, NULL);
    twin_alloc(&out, AX_F32, 5, shape, NULL);
    twin_fill_uniform(&q, -1.0, 1.0);
    twin_fill_uniform(&k, -1.0, 1.0);
    twin_fill_uniform(&v, -1.0, 1.0);
    CHECK_STATUS(ax_evoformer_attention_forward(g_cuda, &q.dev, &k.dev, &v.dev, NULL, NULL, &out.dev, NULL),
                 AX_ERR_UNSUPPORTED);
    CHECK_CONTAINS(ax_last_error(), needle);
    twin_free(&q);
    twin_free(&k);
    twin_free(&v);
    twin_free(&out);
}

static void test_unsupported(void) {
    expect_unsupported(20, 1, "multiple of 8");
    expect_unsupported(136, 1, "128");
    expect_unsupported(16, 2, "stride");
}

int main(void) {
    if (ax_cuda_device_count() == 0) {
        printf("SKIP: no CUDA device (test_evoformer_cuda needs a GPU)\n");
        return 77;
    }
    char name[256];
    int64_t memory = 0;
    if (ax_cuda_device_info(0, name, sizeof name, &memory) == AX_OK)
        printf("device 0: %s, %.1f GiB\n", name, (double)memory / (1024.0 * 1024.0 * 1024.0));

    /* A non-blocking stream: work the library wrongly queued on the legacy default stream would not
     * be ordered with the copies here, and the comparisons would catch it. */
    CUDA_OR_DIE(cudaStreamCreateWithFlags(&g_stream, cudaStreamNonBlocking));
    ax_context_config cfg = AX_CONTEXT_CONFIG_INIT;
    cfg.device.type = AX_CUDA;
    cfg.device.id = 0;
    cfg.cuda_stream = g_stream;
    if (ax_context_create(&g_cuda, &cfg) != AX_OK) {
        fprintf(stderr, "FATAL: CUDA context: %s\n", ax_last_error());
        return 1;
    }
    if (ax_context_create(&g_cpu, NULL) != AX_OK) {
        fprintf(stderr, "FATAL: CPU context: %s\n", ax_last_error());
        return 1;
    }

    RUN(test_unsupported);
    RUN(test_against_cpu);
    RUN(test_inf_v_at_masked_key);

    ax_context_destroy(g_cuda);
    ax_context_destroy(g_cpu);
    CUDA_OR_DIE(cudaStreamDestroy(g_stream));
    return th_finish();
}
