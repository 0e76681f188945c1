/*
 * test_op.c — the op table's entry (ax_op_run): path choice and fallback, supports(), the workspace
 * (host arena alignment and size, limit, peak, measure mode), and the tensor-spec checker's binding,
 * broadcast, dtype, optional, gradient-like, contiguity and overlap rules with their messages.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <string.h>

#include "axial/axial.h"
#include "axial/evoformer.h"
#include "core/internal.h"
#include "core/op.h"
#include "core/tensor_spec.h"
#include "harness.h"

/* ---- a toy op: out[i] = in[i] * factor, run through ax_op_run ---- */

typedef struct toy_params {
    const float *in;
    float *out;
    int64_t n;
    float factor;
    int64_t scratch_bytes; /* what the workspace function asks for */
    int refuse;            /* supports() says no */
} toy_params;

static int last_path = -2;
static int runs;
static int64_t seen_bytes;
static uintptr_t seen_ws;

static ax_status toy_kernel(const ax_op_call *call, int path) {
    const toy_params *p = call->params;
    last_path = path;
    runs++;
    seen_bytes = call->workspace.host_bytes;
    seen_ws = (uintptr_t)call->host_ws;
    if (call->host_ws != NULL) memset(call->host_ws, 0xab, (size_t)call->workspace.host_bytes); /* must be writable */
    for (int64_t i = 0; i < p->n; i++) p->out[i] = p->in[i] * p->factor;
    return AX_OK;
}
static ax_status toy_portable(const ax_op_call *call) { return toy_kernel(call, AX_CPU_PATH_PORTABLE); }
static ax_status toy_avx2(const ax_op_call *call) { return toy_kernel(call, AX_CPU_PATH_AVX2); }

static ax_status toy_supports(const ax_context *ctx, const void *params) {
    (void)ctx;
    return ((const toy_params *)params)->refuse ? ax_set_error(AX_ERR_UNSUPPORTED, "toy: refused on purpose") : AX_OK;
}
static ax_status toy_workspace(const ax_context *ctx, const void *params, ax_op_workspace *need) {
    (void)ctx;
    need->host_bytes = ((const toy_params *)params)->scratch_bytes;
    return AX_OK;
}

/* No avx512 kernel: that path must fall back to avx2. */
static const ax_op toy_op = {
    .name = "toy_scale",
    .cpu = {toy_portable, toy_avx2, NULL},
    .cpu_supports = toy_supports,
    .cpu_workspace = toy_workspace,
};

static void test_path_choice(void) {
    ax_context *ctx = NULL;
    CHECK_OK(ax_context_create(&ctx, NULL));
    float in[4] = {1, 2, 3, 4}, out[4] = {0};
    toy_params p = {in, out, 4, 2.0f, 0, 0};
    const ax_cpu_path before = ax_cpu_path_active();
    CHECK_OK(ax_cpu_path_set(AX_CPU_PATH_PORTABLE));
    CHECK_OK(ax_op_run(&toy_op, ctx, &p));
    CHECK_INT_EQ(last_path, AX_CPU_PATH_PORTABLE);
    CHECK(out[3] == 8.0f);
    if (ax_cpu_path_set(AX_CPU_PATH_AVX2) == AX_OK) {
        CHECK_OK(ax_op_run(&toy_op, ctx, &p));
        CHECK_INT_EQ(last_path, AX_CPU_PATH_AVX2);
    } else {
        printf("note: this CPU has no avx2; that path is not exercised\n");
    }
    if (ax_cpu_path_set(AX_CPU_PATH_AVX512) == AX_OK) {
        CHECK_OK(ax_op_run(&toy_op, ctx, &p));
        CHECK_INT_EQ(last_path, AX_CPU_PATH_AVX2); /* no avx512 kernel: the next lower path */
    } else {
        printf("note: this CPU has no avx512; the fallback from it is not exercised\n");
    }
    CHECK_OK(ax_cpu_path_set(before));
    ax_context_destroy(ctx);
}

static void test_supports_and_workspace(void) {
    ax_context_config cfg = AX_CONTEXT_CONFIG_INIT;
    cfg.workspace_limit = 1000;
    ax_context *ctx = NULL;
    CHECK_OK(ax_context_create(&ctx, &cfg));
    float in[2] = {1, 2}, out[2] = {0, 0};
    toy_params p = {in, out, 2, 3.0f, 100, 1};
    runs = 0;
    CHECK_STATUS(ax_op_run(&toy_op, ctx, &p), AX_ERR_UNSUPPORTED);
    CHECK_CONTAINS(ax_last_error(), "toy: refused on purpose");
    CHECK_INT_EQ(runs, 0);
    CHECK_INT_EQ(ax_context_workspace_peak(ctx), 0); /* refused before any accounting */

    p.refuse = 0;
    CHECK_OK(ax_op_run(&toy_op, ctx, &p));
    CHECK_INT_EQ(runs, 1);
    CHECK_INT_EQ(seen_bytes, 100);
    CHECK(seen_ws != 0 && seen_ws % 64 == 0);
    CHECK_INT_EQ(ax_context_workspace_peak(ctx), 100);
    int64_t host = -1, device = -1;
    ax_context_workspace_peaks(ctx, &host, &device);
    CHECK_INT_EQ(host, 100);
    CHECK_INT_EQ(device, 0);

    /* Past the limit: the error names both sizes and nothing runs. */
    p.scratch_bytes = 1001;
    out[0] = -1.0f;
    CHECK_STATUS(ax_op_run(&toy_op, ctx, &p), AX_ERR_OUT_OF_MEMORY);
    CHECK_CONTAINS(ax_last_error(), "needs 1001 bytes");
    CHECK_CONTAINS(ax_last_error(), "limit is 1000");
    CHECK(out[0] == -1.0f);
    CHECK_INT_EQ(runs, 1);

    /* The arena is kept: a smaller call reuses the same block. */
    p.scratch_bytes = 64;
    const uintptr_t first = seen_ws;
    CHECK_OK(ax_op_run(&toy_op, ctx, &p));
    CHECK(seen_ws == first);
    ax_context_destroy(ctx);
}

static void test_measure_mode(void) {
    ax_context *ctx = NULL;
    CHECK_OK(ax_context_create(&ctx, NULL));
    CHECK_STATUS(ax_context_set_measure(NULL, 1), AX_ERR_INVALID_ARGUMENT);
    CHECK_OK(ax_context_set_measure(ctx, 1));
    CHECK_INT_EQ(ax_context_measuring(ctx), 1);
    float in[2] = {1, 2}, out[2] = {7, 7};
    toy_params p = {in, out, 2, 3.0f, 4096, 0};
    runs = 0;
    CHECK_OK(ax_op_run(&toy_op, ctx, &p));
    CHECK_INT_EQ(runs, 0);
    CHECK(out[0] == 7.0f && out[1] == 7.0f);
    CHECK_INT_EQ(ax_context_workspace_peak(ctx), 4096);

    /* A real op: measuring Evoformer attention writes nothing and reports what a run then uses. */
    enum { B = 1, N = 3, S = 70, H = 2, D = 16, ACT = B * N * S * H * D };
    static float q[ACT], o[ACT], lse[B * N * H * S];
    for (int i = 0; i < ACT; i++) q[i] = (float)((i * 37) % 11) * 0.05f;
    const int64_t act[5] = {B, N, S, H, D}, l[4] = {B, N, H, S};
    ax_tensor tq, to, tl;
    ax_tensor_contiguous(&tq, q, AX_F32, 5, act);
    ax_tensor_contiguous(&to, o, AX_F32, 5, act);
    ax_tensor_contiguous(&tl, lse, AX_F32, 4, l);
    for (int i = 0; i < ACT; i++) o[i] = 99.0f;
    ax_context_workspace_peak_reset(ctx);
    CHECK_OK(ax_evoformer_attention_forward(ctx, &tq, &tq, &tq, NULL, NULL, &to, &tl));
    const int64_t measured = ax_context_workspace_peak(ctx);
    CHECK(measured > 0);
    int untouched = 1;
    for (int i = 0; i < ACT; i++) untouched &= o[i] == 99.0f;
    CHECK(untouched);
    /* Errors are the same in measure mode. */
    ax_tensor bad = tq;
    bad.shape[2] = S + 1;
    CHECK_STATUS(ax_evoformer_attention_forward(ctx, &tq, &bad, &tq, NULL, NULL, &to, &tl), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "k: dim 2 (S) is 71, expected 70");

    CHECK_OK(ax_context_set_measure(ctx, 0));
    ax_context_workspace_peak_reset(ctx);
    CHECK_OK(ax_evoformer_attention_forward(ctx, &tq, &tq, &tq, NULL, NULL, &to, &tl));
    CHECK_INT_EQ(ax_context_workspace_peak(ctx), measured);
    CHECK(o[0] != 99.0f);
    ax_context_destroy(ctx);
}

/* ---- tensor specs ---- */

/* The specs fail (with fresh dims) with a message containing `needle`. */
static void expect_spec_error(const ax_context *ctx, const ax_tensor_spec *specs, int32_t n, const char *needle) {
    ax_dims dims = {0};
    CHECK_STATUS(ax_check_specs(ctx, specs, n, &dims), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), needle);
}

static void test_specs(void) {
    ax_context *ctx = NULL;
    CHECK_OK(ax_context_create(&ctx, NULL));
    static float a[2 * 3 * 4], b[2 * 3 * 4], c[3 * 4], g[3 * 4];
    static uint16_t h16[2 * 3 * 4];
    const int64_t s3[3] = {2, 3, 4}, s2[3] = {1, 3, 4};
    ax_tensor ta, tb, tc, tg, th;
    ax_tensor_contiguous(&ta, a, AX_F32, 3, s3);
    ax_tensor_contiguous(&tb, b, AX_F32, 3, s3);
    ax_tensor_contiguous(&tc, c, AX_F32, 3, s2);
    ax_tensor_contiguous(&tg, g, AX_F32, 3, s2);
    ax_tensor_contiguous(&th, h16, AX_BF16, 3, s3);

    /* x (B, M, K) any float; y like x's dtype; bias (B?, M, K) broadcast over B; out (B, M, K). */
    ax_tensor_spec specs[5] = {
        AX_SPEC("x", &ta, 3, "B", "M", "K"),
        AX_SPEC("y", &tb, 3, "B", "M (rows)", "K"),
        AX_SPEC("bias", &tc, 3, "B", "M", "K"),
        AX_SPEC("dbias", &tg, 3, NULL),
        AX_SPEC("out", &th, 3, "B", "M", "K"),
    };
    specs[0].dtypes = AX_DTYPES_FLOAT;
    specs[1].dtype_as = 0;
    specs[2].broadcast = 1u;
    specs[2].flags = AX_SPEC_OPTIONAL;
    specs[3].like = 2;
    specs[3].flags = AX_SPEC_OPTIONAL | AX_SPEC_OUTPUT;
    specs[4].dtype_as = 0;
    specs[4].dtypes = AX_DTYPE_BIT(AX_BF16);
    specs[4].flags = AX_SPEC_OUTPUT | AX_SPEC_LAST_CONTIGUOUS;
    ax_dims dims = {0};
    CHECK_OK(ax_check_specs(ctx, specs, 5, &dims));
    CHECK_INT_EQ(ax_dims_get(&dims, "B"), 2);
    CHECK_INT_EQ(ax_dims_get(&dims, "M"), 3);
    CHECK_INT_EQ(ax_dims_get(&dims, "K"), 4);
    CHECK_INT_EQ(ax_dims_get(&dims, "Z"), -1);

    /* A dim bound by x: y's label shows in the message. */
    ax_tensor bad = tb;
    bad.shape[1] = 5;
    specs[1].t = &bad;
    expect_spec_error(ctx, specs, 5, "y: dim 1 (M (rows)) is 5, expected 3");
    specs[1].t = &tb;

    /* Broadcast: 1 or the bound size only. */
    bad = tc;
    bad.shape[0] = 3;
    specs[2].t = &bad;
    expect_spec_error(ctx, specs, 5, "bias: dim 0 (B) is 3, expected 2 or 1 (broadcast)");
    specs[2].t = &tc;

    /* dtype rules. */
    bad = tb;
    bad.dtype = AX_F16;
    specs[1].t = &bad;
    expect_spec_error(ctx, specs, 5, "y: dtype is f16, expected f32");
    specs[1].t = &tb;
    bad = ta;
    bad.dtype = AX_I32;
    specs[0].t = &bad;
    expect_spec_error(ctx, specs, 5, "x: dtype is i32, expected f32, bf16 or f16");
    specs[0].t = &ta;
    bad = th;
    bad.dtype = AX_F16;
    specs[4].t = &bad;
    expect_spec_error(ctx, specs, 5, "out: dtype is f16, expected f32 (as x) or bf16");
    specs[4].t = &th;

    /* Gradient-like: shape of its input, and only when that input is given. */
    specs[2].t = NULL;
    expect_spec_error(ctx, specs, 5, "dbias: given, but bias is NULL (no gradient exists)");
    specs[2].t = &tc;
    bad = tg;
    bad.shape[2] = 2;
    specs[3].t = &bad;
    expect_spec_error(ctx, specs, 5, "dbias: dim 2 is 2, but bias has 4 there");
    specs[3].t = &tg;

    /* A required tensor missing; the ndim message uses the labels. */
    specs[0].t = NULL;
    expect_spec_error(ctx, specs, 5, "x: NULL tensor");
    bad = ta;
    bad.ndim = 2;
    specs[0].t = &bad;
    expect_spec_error(ctx, specs, 5, "x: expected 3 dims (B, M, K), got 2");
    specs[0].t = &ta;

    /* Last dim contiguous. */
    bad = th;
    bad.shape[2] = 2;
    bad.strides[2] = 2;
    ax_tensor_spec one[1] = {AX_SPEC("out", &bad, 3, "B", "M", "K")};
    one[0].flags = AX_SPEC_OUTPUT | AX_SPEC_LAST_CONTIGUOUS;
    expect_spec_error(ctx, one, 1, "out: the last dim has stride 2, expected 1 (contiguous)");

    /* Overlaps: an output over an input, over another output, over itself. */
    ax_tensor over = ta;
    over.dtype = AX_BF16; /* same bytes as x, seen as the output */
    specs[4].t = &over;
    expect_spec_error(ctx, specs, 5, "out: overlaps the input x");
    specs[4].t = &th;
    ax_tensor gover = tg;
    gover.data = h16; /* dbias inside out's bytes */
    specs[3].t = &gover;
    expect_spec_error(ctx, specs, 5, "dbias: overlaps the output out");
    specs[3].t = &tg;
    ax_tensor self = th;
    self.strides[0] = 0; /* both batches write the same elements */
    specs[4].t = &self;
    expect_spec_error(ctx, specs, 5, "out: output strides may make elements overlap");
    specs[4].t = &th;

    /* Device: every tensor on the context's. */
    bad = tb;
    bad.device.type = AX_CUDA;
    specs[1].t = &bad;
    expect_spec_error(ctx, specs, 5, "y: on cuda:0, but the context runs on cpu:0");
    ax_context_destroy(ctx);
}

int main(void) {
    RUN(test_path_choice);
    RUN(test_supports_and_workspace);
    RUN(test_measure_mode);
    RUN(test_specs);
    return th_finish();
}
