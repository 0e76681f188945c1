/*
 * test_tensor_copy.c — ax_tensor_copy on the CPU: strided conversions against per-element scalar
 * conversions, block-quantized tensors against ax_convert of gathered rows, the block layout rule,
 * broadcast sources, the threaded path, every argument error (with the output left untouched), and
 * ax_tensor_zero on strided views.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "core/internal.h"
#include "harness.h"

static ax_context *cpu_context(int32_t threads) {
    ax_context_config cfg = AX_CONTEXT_CONFIG_INIT;
    cfg.num_threads = threads;
    ax_context *ctx = NULL;
    CHECK_OK(ax_context_create(&ctx, &cfg));
    return ctx;
}

static ax_tensor view2(void *data, ax_dtype dt, int64_t rows, int64_t cols, int64_t row_stride, int64_t col_stride) {
    ax_tensor t;
    const int64_t shape[2] = {rows, cols};
    CHECK_OK(ax_tensor_contiguous(&t, data, dt, 2, shape));
    t.strides[0] = row_stride;
    t.strides[1] = col_stride;
    return t;
}

/* Element conversions through strided views: transposed source, negative strides, odd sizes. */
static void test_strided_float_conversions(void) {
    enum { rows = 37, cols = 53 };
    static float src[rows * cols];
    static uint16_t dst16[rows * cols];
    static uint8_t dst8[rows * cols];
    static double dst64[rows * cols];
    ax_context *ctx = cpu_context(2);
    th_seed(1);
    for (int i = 0; i < rows * cols; i++) src[i] = (float)th_uniform(-300, 300);
    /* src holds a (cols, rows) array; read it transposed as (rows, cols). */
    const ax_tensor s = view2(src, AX_F32, rows, cols, 1, rows);
    ax_tensor d = view2(dst16, AX_F16, rows, cols, cols, 1);
    CHECK_OK(ax_tensor_copy(ctx, &s, &d));
    int bad = 0;
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) bad += dst16[r * cols + c] != ax_f32_to_f16(src[c * rows + r]);
    CHECK_INT_EQ(bad, 0);
    /* Rows written bottom-up (negative stride) into fp8. */
    d = view2(dst8 + (rows - 1) * cols, AX_F8_E4M3FN, rows, cols, -cols, 1);
    CHECK_OK(ax_tensor_copy(ctx, &s, &d));
    bad = 0;
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) bad += dst8[(rows - 1 - r) * cols + c] != ax_f32_to_f8_e4m3fn(src[c * rows + r]);
    CHECK_INT_EQ(bad, 0);
    /* fp8 -> f64 (exact), f16 -> bf16 (one rounding), f64 -> f16 (one rounding). */
    const ax_tensor s8 = view2(dst8, AX_F8_E4M3FN, rows, cols, cols, 1);
    d = view2(dst64, AX_F64, rows, cols, 1, rows);
    CHECK_OK(ax_tensor_copy(ctx, &s8, &d));
    bad = 0;
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) bad += dst64[c * rows + r] != (double)ax_f8_e4m3fn_to_f32(dst8[r * cols + c]);
    CHECK_INT_EQ(bad, 0);
    static uint16_t bf[rows * cols], h2[rows * cols];
    const ax_tensor s16 = view2(dst16, AX_F16, rows, cols, cols, 1);
    d = view2(bf, AX_BF16, rows, cols, cols, 1);
    CHECK_OK(ax_tensor_copy(ctx, &s16, &d));
    bad = 0;
    for (int i = 0; i < rows * cols; i++) bad += bf[i] != ax_f32_to_bf16(ax_f16_to_f32(dst16[i]));
    CHECK_INT_EQ(bad, 0);
    const ax_tensor s64 = view2(dst64, AX_F64, rows, cols, 1, rows);
    d = view2(h2, AX_F16, rows, cols, cols, 1);
    CHECK_OK(ax_tensor_copy(ctx, &s64, &d));
    bad = 0;
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            uint16_t want;
            CHECK_OK(ax_convert(&dst64[c * rows + r], AX_F64, &want, AX_F16, 1));
            bad += h2[r * cols + c] != want;
        }
    CHECK_INT_EQ(bad, 0);
    ax_context_destroy(ctx);
}

/* Same-dtype copies are bit for bit, integers included; a stride-0 source broadcasts. */
static void test_same_dtype_and_broadcast(void) {
    ax_context *ctx = cpu_context(1);
    int64_t src[6] = {1, -2, 3, INT64_MAX, INT64_MIN, 0}, dst[12];
    memset(dst, 0, sizeof dst);
    ax_tensor s = view2(src, AX_I64, 2, 3, 3, 1), d = view2(dst, AX_I64, 2, 3, 6, 2);
    CHECK_OK(ax_tensor_copy(ctx, &s, &d));
    CHECK_INT_EQ(dst[0], 1);
    CHECK_INT_EQ(dst[4], 3);
    CHECK(dst[6 + 2] == INT64_MIN);
    CHECK_INT_EQ(dst[1], 0); /* gaps untouched */
    const float one = 1.5f;
    uint16_t h[12];
    s = view2((void *)&one, AX_F32, 3, 4, 0, 0);
    d = view2(h, AX_BF16, 3, 4, 4, 1);
    CHECK_OK(ax_tensor_copy(ctx, &s, &d));
    for (int i = 0; i < 12; i++) CHECK_INT_EQ(h[i], 0x3fc0);
    /* A NaN payload survives a same-dtype copy (no conversion on the way). */
    uint16_t nan_in[2] = {0x7d01, 0xfe12}, nan_out[2];
    s = view2(nan_in, AX_F16, 1, 2, 2, 1);
    d = view2(nan_out, AX_F16, 1, 2, 2, 1);
    CHECK_OK(ax_tensor_copy(ctx, &s, &d));
    CHECK(memcmp(nan_in, nan_out, sizeof nan_in) == 0);
    ax_context_destroy(ctx);
}

/* Block tensors: rows with padding between them, strided sources and destinations, block to block. */
static void test_block_tensors(void) {
    enum { rows = 5, cols = 512, pad = 256 };
    static float x[rows * cols], xt[rows * cols], row[cols], y[rows * cols];
    static uint8_t q[rows * (cols + pad) / 32 * 34], want[cols / 32 * 34];
    static uint8_t q4[rows * cols / 256 * 144], q4_want[cols / 256 * 144];
    ax_context *ctx = cpu_context(3);
    th_seed(9);
    for (int i = 0; i < rows * cols; i++) x[i] = (float)th_uniform(-2, 2);
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) xt[c * rows + r] = x[r * cols + c];
    const ax_dtype types[5] = {AX_Q4_0, AX_Q4_1, AX_Q8_0, AX_Q4_K, AX_Q6_K};
    for (int k = 0; k < 5; k++) {
        const ax_dtype dt = types[k];
        const int64_t row_bytes = ax_dtype_bytes(dt, cols + pad);
        memset(q, 0xee, sizeof q);
        /* Transposed f32 source into rows of `cols` elements, `cols + pad` apart. */
        const ax_tensor s = view2(xt, AX_F32, rows, cols, 1, rows);
        ax_tensor d = view2(q, dt, rows, cols, cols + pad, 1);
        CHECK_OK(ax_tensor_copy(ctx, &s, &d));
        int bad = 0;
        for (int r = 0; r < rows; r++) {
            CHECK_OK(ax_convert(x + r * cols, AX_F32, want, dt, cols));
            bad += memcmp(q + r * row_bytes, want, (size_t)ax_dtype_bytes(dt, cols)) != 0;
            bad += q[r * row_bytes + ax_dtype_bytes(dt, cols)] != 0xee; /* padding untouched */
        }
        CHECK_INT_EQ(bad, 0);
        /* Back out into a transposed f32 destination, against ax_convert of each row. */
        const ax_tensor sq = view2(q, dt, rows, cols, cols + pad, 1);
        d = view2(y, AX_F32, rows, cols, 1, rows);
        CHECK_OK(ax_tensor_copy(ctx, &sq, &d));
        bad = 0;
        for (int r = 0; r < rows; r++) {
            CHECK_OK(ax_convert(q + r * row_bytes, dt, row, AX_F32, cols));
            for (int c = 0; c < cols; c++) bad += memcmp(&y[c * rows + r], &row[c], 4) != 0;
        }
        CHECK_INT_EQ(bad, 0);
        /* Block to another block type: dequantized to fp32, then quantized. */
        d = view2(q4, AX_Q4_K, rows, cols, cols, 1);
        CHECK_OK(ax_tensor_copy(ctx, &sq, &d));
        bad = 0;
        for (int r = 0; r < rows; r++) {
            CHECK_OK(ax_convert(q + r * row_bytes, dt, row, AX_F32, cols));
            CHECK_OK(ax_convert(row, AX_F32, q4_want, AX_Q4_K, cols));
            bad += memcmp(q4 + r * ax_dtype_bytes(AX_Q4_K, cols), q4_want, sizeof q4_want) != 0;
        }
        CHECK_INT_EQ(bad, 0);
    }
    ax_context_destroy(ctx);
}

/* The layout rule: checked by ax_tensor_contiguous and by every op through ax_check_tensor. */
static void test_block_layout_rule(void) {
    uint8_t q[4 * 34];
    ax_tensor t;
    const int64_t ok[2] = {4, 32}, bad_last[2] = {4, 48};
    CHECK_OK(ax_tensor_contiguous(&t, q, AX_Q8_0, 2, ok));
    CHECK_INT_EQ(t.strides[0], 32);
    CHECK_OK(ax_check_tensor(&t, "w", 2, "(rows, cols)"));
    CHECK_STATUS(ax_tensor_contiguous(&t, q, AX_Q8_0, 2, bad_last), AX_ERR_INVALID_ARGUMENT);
    CHECK_STR_EQ(ax_last_error(), "shape[1]: 48 is not a multiple of the q8_0 block size 32");
    CHECK_STATUS(ax_tensor_contiguous(&t, q, AX_Q4_K, 0, NULL), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "q4_k");
    CHECK_OK(ax_tensor_contiguous(&t, q, AX_Q8_0, 2, ok));
    t.strides[1] = 2;
    CHECK_STATUS(ax_check_tensor(&t, "w", 2, "(rows, cols)"), AX_ERR_INVALID_ARGUMENT);
    CHECK_STR_EQ(ax_last_error(), "w: last dim has stride 2; a q8_0 tensor's blocks are contiguous (stride 1)");
    t.strides[1] = 1;
    t.strides[0] = 40;
    CHECK_STATUS(ax_check_tensor(&t, "w", 2, "(rows, cols)"), AX_ERR_INVALID_ARGUMENT);
    CHECK_STR_EQ(ax_last_error(), "w: stride 40 of dim 0 is not a whole number of q8_0 blocks (32 elements)");
    t.shape[0] = 1; /* a size-1 dim's stride does not matter */
    CHECK_OK(ax_check_tensor(&t, "w", 2, "(rows, cols)"));
    t.shape[0] = 4;
    t.strides[0] = 64; /* rows two blocks apart: fine */
    CHECK_OK(ax_check_tensor(&t, "w", 2, "(rows, cols)"));
    t.shape[1] = 40;
    t.strides[0] = 64;
    CHECK_STATUS(ax_check_tensor(&t, "w", 2, "(rows, cols)"), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "w: last dim is 40, not a multiple of the q8_0 block size 32");
    /* Overlap of block tensors is judged in whole blocks: adjacent rows do not overlap. */
    ax_tensor a, b;
    const int64_t one_row[2] = {1, 32};
    CHECK_OK(ax_tensor_contiguous(&a, q, AX_Q8_0, 2, one_row));
    CHECK_OK(ax_tensor_contiguous(&b, q + 34, AX_Q8_0, 2, one_row));
    CHECK(!ax_tensors_overlap(&a, &b));
    b.data = q + 33;
    CHECK(ax_tensors_overlap(&a, &b));
}

/* Big enough for the threaded path: the same bytes as one thread. */
static void test_threads_agree(void) {
    enum { rows = 64, cols = 4096 };
    static float x[rows * cols];
    static uint8_t a[rows * cols / 32 * 18], b[rows * cols / 32 * 18];
    static uint16_t ha[rows * cols], hb[rows * cols];
    th_seed(12);
    for (int i = 0; i < rows * cols; i++) x[i] = (float)th_uniform(-1, 1);
    ax_context *one = cpu_context(1), *many = cpu_context(4);
    const ax_tensor s = view2(x, AX_F32, rows, cols, cols, 1);
    ax_tensor d = view2(a, AX_Q4_0, rows, cols, cols, 1);
    CHECK_OK(ax_tensor_copy(one, &s, &d));
    d.data = b;
    CHECK_OK(ax_tensor_copy(many, &s, &d));
    CHECK(memcmp(a, b, sizeof a) == 0);
    const ax_tensor st = view2(x, AX_F32, cols, rows, 1, cols); /* transposed: strided runs */
    d = view2(ha, AX_F16, cols, rows, rows, 1);
    CHECK_OK(ax_tensor_copy(one, &st, &d));
    d.data = hb;
    CHECK_OK(ax_tensor_copy(many, &st, &d));
    CHECK(memcmp(ha, hb, sizeof ha) == 0);
    ax_context_destroy(one);
    ax_context_destroy(many);
}

static void test_errors_write_nothing(void) {
    ax_context *ctx = cpu_context(1);
    float src[64];
    uint16_t dst[64];
    for (int i = 0; i < 64; i++) src[i] = (float)i;
    memset(dst, 0xab, sizeof dst);
    ax_tensor s = view2(src, AX_F32, 8, 8, 8, 1), d = view2(dst, AX_F16, 8, 8, 8, 1);
    CHECK_STATUS(ax_tensor_copy(NULL, &s, &d), AX_ERR_INVALID_ARGUMENT);
    CHECK_STR_EQ(ax_last_error(), "ctx: NULL context");
    CHECK_STATUS(ax_tensor_copy(ctx, NULL, &d), AX_ERR_INVALID_ARGUMENT);
    CHECK_STR_EQ(ax_last_error(), "src: NULL tensor");
    d.shape[1] = 7;
    CHECK_STATUS(ax_tensor_copy(ctx, &s, &d), AX_ERR_INVALID_ARGUMENT);
    CHECK_STR_EQ(ax_last_error(), "dst: dim 1 is 7, but src's is 8");
    d.shape[1] = 8;
    d.ndim = 1;
    CHECK_STATUS(ax_tensor_copy(ctx, &s, &d), AX_ERR_INVALID_ARGUMENT);
    CHECK_STR_EQ(ax_last_error(), "dst: 1 dims, but src has 2");
    d.ndim = 2;
    d.strides[0] = 4; /* rows of 8 four apart */
    CHECK_STATUS(ax_tensor_copy(ctx, &s, &d), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "dst: output strides may make elements overlap");
    d.strides[0] = 8;
    ax_tensor alias = view2(src + 4, AX_F32, 8, 8, 8, 1);
    CHECK_STATUS(ax_tensor_copy(ctx, &s, &alias), AX_ERR_INVALID_ARGUMENT);
    CHECK_STR_EQ(ax_last_error(), "dst: overlaps src");
    d.device.type = AX_CUDA;
    CHECK_STATUS(ax_tensor_copy(ctx, &s, &d), AX_ERR_INVALID_ARGUMENT);
    CHECK_STR_EQ(ax_last_error(), "dst: on cuda:0, but the context runs on cpu:0");
    d.device.type = AX_CPU;
    s.dtype = AX_I32;
    CHECK_STATUS(ax_tensor_copy(ctx, &s, &d), AX_ERR_INVALID_ARGUMENT);
    CHECK_STR_EQ(ax_last_error(), "dst: cannot convert i32 to f16 (integer dtypes are only copied to their own dtype)");
    s.dtype = AX_F32;
    ax_tensor qd = view2(dst, AX_Q8_0, 4, 32, 32, 1);
    ax_tensor qs = view2(src, AX_F32, 4, 32, 1, 4); /* fine as a source, but: */
    qd.strides[0] = 16;
    CHECK_STATUS(ax_tensor_copy(ctx, &qs, &qd), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "dst: stride 16 of dim 0 is not a whole number of q8_0 blocks");
    /* INT64_MIN has no magnitude in int64 (negating it was undefined behaviour, caught by UBSan). */
    s.strides[0] = INT64_MIN;
    CHECK_STATUS(ax_tensor_copy(ctx, &s, &d), AX_ERR_INVALID_ARGUMENT);
    CHECK_STR_EQ(ax_last_error(), "src: stride of dim 0 is INT64_MIN");
    s.strides[0] = 8;
    s.ndim = 9;
    CHECK_STATUS(ax_tensor_copy(ctx, &s, &d), AX_ERR_INVALID_ARGUMENT);
    CHECK_STR_EQ(ax_last_error(), "src: ndim 9 is outside [0, 8]");
    for (int i = 0; i < 64; i++) CHECK_INT_EQ(dst[i], 0xabab);
    /* Nothing to copy: fine, even with NULL data. */
    s = view2(NULL, AX_F32, 0, 8, 8, 1);
    d = view2(NULL, AX_Q4_0, 0, 32, 32, 1);
    d.shape[1] = 8;
    s.shape[1] = 8;
    CHECK_STATUS(ax_tensor_copy(ctx, &s, &d), AX_ERR_INVALID_ARGUMENT); /* 8 is not whole q4_0 blocks */
    d.shape[1] = s.shape[1] = 32;
    CHECK_OK(ax_tensor_copy(ctx, &s, &d));
    ax_context_destroy(ctx);
}

/* ax_tensor_zero (core/internal.h): every element of a strided view (transposed, negative and
 * padded strides) of each element size becomes zero bits, and the bytes between its elements keep
 * theirs; a contiguous tensor and an empty one too. */
static void test_tensor_zero(void) {
    ax_context *ctx = cpu_context(2);
    static const ax_dtype dts[4] = {AX_F32, AX_BF16, AX_F64, AX_I32};
    for (int t = 0; t < 4; t++) {
        const int64_t es = (int64_t)ax_dtype_size(dts[t]);
        unsigned char buf[8 * 7 * 9], want[sizeof buf];
        memset(buf, 0xab, sizeof buf);
        memcpy(want, buf, sizeof buf);
        /* a 5 x 3 view in a 7 x 9 block: row stride -9 (from the last row up), column stride 2 */
        ax_tensor v = view2(buf + (6 * 9 + 1) * es, dts[t], 5, 3, -9, 2);
        CHECK_OK(ax_tensor_zero(ctx, &v));
        for (int64_t r = 0; r < 5; r++)
            for (int64_t c = 0; c < 3; c++) memset(want + ((6 - r) * 9 + 1 + 2 * c) * es, 0, (size_t)es);
        CHECK(memcmp(buf, want, (size_t)(7 * 9 * es)) == 0);
        ax_tensor whole = view2(buf, dts[t], 7, 9, 9, 1);
        CHECK_OK(ax_tensor_zero(ctx, &whole));
        memset(want, 0, sizeof want);
        CHECK(memcmp(buf, want, (size_t)(7 * 9 * es)) == 0);
        buf[0] = 1;
        ax_tensor empty = view2(buf, dts[t], 0, 9, 9, 1);
        CHECK_OK(ax_tensor_zero(ctx, &empty));
        CHECK(buf[0] == 1);
    }
    ax_context_destroy(ctx);
}

int main(void) {
    RUN(test_strided_float_conversions);
    RUN(test_same_dtype_and_broadcast);
    RUN(test_block_tensors);
    RUN(test_block_layout_rule);
    RUN(test_threads_agree);
    RUN(test_errors_write_nothing);
    RUN(test_tensor_zero);
    return th_finish();
}
