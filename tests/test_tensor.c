/*
 * test_tensor.c — ax_tensor helpers and the validation messages ops rely on.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "core/internal.h"
#include "harness.h"

static void test_contiguous_fill(void) {
    float buf[2 * 3 * 4];
    const int64_t shape[3] = {2, 3, 4};
    ax_tensor t;
    CHECK_OK(ax_tensor_contiguous(&t, buf, AX_F32, 3, shape));
    CHECK(t.data == buf);
    CHECK_INT_EQ(t.dtype, AX_F32);
    CHECK_INT_EQ(t.device.type, AX_CPU);
    CHECK_INT_EQ(t.ndim, 3);
    CHECK_INT_EQ(t.strides[0], 12);
    CHECK_INT_EQ(t.strides[1], 4);
    CHECK_INT_EQ(t.strides[2], 1);
    CHECK_INT_EQ(ax_tensor_numel(&t), 24);
    CHECK(ax_tensor_is_contiguous(&t));
    t.strides[1] = 5;
    CHECK(!ax_tensor_is_contiguous(&t));
    /* A size-1 dim's stride does not matter for contiguity. */
    const int64_t shape1[3] = {2, 1, 4};
    CHECK_OK(ax_tensor_contiguous(&t, buf, AX_F32, 3, shape1));
    t.strides[1] = 999;
    CHECK(ax_tensor_is_contiguous(&t));
    CHECK_OK(ax_tensor_contiguous(&t, NULL, AX_BF16, 0, NULL));
    CHECK_INT_EQ(ax_tensor_numel(&t), 1);
}

static void test_contiguous_errors(void) {
    ax_tensor t;
    const int64_t neg[2] = {3, -1};
    CHECK_STATUS(ax_tensor_contiguous(&t, NULL, AX_F32, 2, neg), AX_ERR_INVALID_ARGUMENT);
    CHECK_STR_EQ(ax_last_error(), "shape[1]: -1 is negative");
    CHECK_STATUS(ax_tensor_contiguous(&t, NULL, AX_F32, 9, neg), AX_ERR_INVALID_ARGUMENT);
    CHECK_STR_EQ(ax_last_error(), "ndim: 9 is outside [0, 8]");
    const int64_t huge[3] = {INT64_MAX / 2, 4, 4};
    CHECK_STATUS(ax_tensor_contiguous(&t, NULL, AX_F32, 3, huge), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "overflows int64");
    CHECK_STATUS(ax_tensor_contiguous(&t, NULL, (ax_dtype)42, 1, neg), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "dtype");
}

static void test_validation_messages(void) {
    float buf[64];
    const int64_t four[4] = {1, 2, 4, 8};
    ax_tensor t;
    CHECK_OK(ax_tensor_contiguous(&t, buf, AX_F32, 4, four));
    CHECK_STATUS(ax_check_tensor(&t, "q", 5, "(B, N, S, H, D)"), AX_ERR_INVALID_ARGUMENT);
    CHECK_STR_EQ(ax_last_error(), "q: expected 5 dims (B, N, S, H, D), got 4");
    CHECK_STATUS(ax_check_tensor(NULL, "k", 5, "(B, N, S, H, D)"), AX_ERR_INVALID_ARGUMENT);
    CHECK_STR_EQ(ax_last_error(), "k: NULL tensor");
    CHECK_OK(ax_check_tensor(&t, "q", 4, "(B, N, H, S)"));
    CHECK_STATUS(ax_check_dim(&t, "lse", 3, "S", 7), AX_ERR_INVALID_ARGUMENT);
    CHECK_STR_EQ(ax_last_error(), "lse: dim 3 (S) is 8, expected 7");
    CHECK_OK(ax_check_dim_broadcast(&t, "bias", 0, "B", 5)); /* size 1 broadcasts */
    CHECK_STATUS(ax_check_dim_broadcast(&t, "bias", 1, "N", 5), AX_ERR_INVALID_ARGUMENT);
    CHECK_STR_EQ(ax_last_error(), "bias: dim 1 (N) is 2, expected 5 or 1 (broadcast)");
    CHECK_STATUS(ax_check_dtype(&t, "v", AX_BF16), AX_ERR_INVALID_ARGUMENT);
    CHECK_STR_EQ(ax_last_error(), "v: dtype is f32, expected bf16");
    ax_device gpu = {AX_CUDA, 1};
    CHECK_STATUS(ax_check_device(&t, "out", gpu), AX_ERR_INVALID_ARGUMENT);
    CHECK_STR_EQ(ax_last_error(), "out: on cpu:0, but the context runs on cuda:1");
    t.data = NULL;
    CHECK_STATUS(ax_check_tensor(&t, "q", 4, "(B, N, H, S)"), AX_ERR_INVALID_ARGUMENT);
    CHECK_STR_EQ(ax_last_error(), "q: data is NULL for 64 elements");
}

static void test_overlap_checks(void) {
    float buf[100];
    const int64_t shape[2] = {4, 5};
    ax_tensor a, b;
    CHECK_OK(ax_tensor_contiguous(&a, buf, AX_F32, 2, shape));
    CHECK_OK(ax_check_no_self_overlap(&a, "out"));
    a.strides[0] = 3; /* rows of 5 with stride 3 overlap */
    CHECK_STATUS(ax_check_no_self_overlap(&a, "out"), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "out: output strides may make elements overlap");
    a.strides[0] = 0; /* broadcast is fine for inputs, not outputs */
    CHECK_STATUS(ax_check_no_self_overlap(&a, "out"), AX_ERR_INVALID_ARGUMENT);
    a.shape[1] = 0; /* ... unless there are no elements at all */
    CHECK_OK(ax_check_no_self_overlap(&a, "out"));
    a.shape[1] = 5;
    a.strides[0] = 5;
    CHECK_OK(ax_tensor_contiguous(&b, buf + 20, AX_F32, 2, shape));
    CHECK(!ax_tensors_overlap(&a, &b));
    b.data = buf + 19;
    CHECK(ax_tensors_overlap(&a, &b));
    /* A transposed view covering the same memory overlaps. */
    b.data = buf;
    b.strides[0] = 1;
    b.strides[1] = 4;
    CHECK(ax_tensors_overlap(&a, &b));
}

int main(void) {
    RUN(test_contiguous_fill);
    RUN(test_contiguous_errors);
    RUN(test_validation_messages);
    RUN(test_overlap_checks);
    return th_finish();
}
