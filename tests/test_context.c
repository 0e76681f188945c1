/*
 * test_context.c — context lifetime, configuration, CUDA requests without a GPU, build flags.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "harness.h"

#ifdef _OPENMP
#include <omp.h>
#endif

static void test_default_context(void) {
    ax_context *ctx = NULL;
    CHECK_OK(ax_context_create(&ctx, NULL));
    CHECK(ctx != NULL);
    CHECK_INT_EQ(ax_context_device(ctx).type, AX_CPU);
#ifdef _OPENMP
    CHECK_INT_EQ(ax_context_num_threads(ctx), omp_get_max_threads());
#endif
    CHECK_INT_EQ(ax_context_workspace_peak(ctx), 0);
    ax_context_destroy(ctx);
    ax_context_destroy(NULL); /* accepted */
}

static void test_configured_context(void) {
    ax_context_config cfg = AX_CONTEXT_CONFIG_INIT;
    cfg.num_threads = 3;
    cfg.workspace_limit = 1 << 20;
    ax_context *ctx = NULL;
    CHECK_OK(ax_context_create(&ctx, &cfg));
    CHECK_INT_EQ(ax_context_num_threads(ctx), 3);
    ax_context_destroy(ctx);
}

static void test_bad_configs(void) {
    ax_context *ctx = (ax_context *)&ctx; /* must be reset to NULL on failure */
    CHECK_STATUS(ax_context_create(NULL, NULL), AX_ERR_INVALID_ARGUMENT);
    CHECK_STR_EQ(ax_last_error(), "out: NULL");
    ax_context_config cfg = AX_CONTEXT_CONFIG_INIT;
    cfg.struct_size = 0;
    CHECK_STATUS(ax_context_create(&ctx, &cfg), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "struct_size");
    CHECK(ctx == NULL);
    ax_context_config bad_dev = AX_CONTEXT_CONFIG_INIT;
    bad_dev.device.type = (ax_device_type)7;
    CHECK_STATUS(ax_context_create(&ctx, &bad_dev), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "cfg->device.type");
    ax_context_config neg = AX_CONTEXT_CONFIG_INIT;
    neg.device.type = AX_CUDA;
    neg.device.id = -1;
    CHECK_STATUS(ax_context_create(&ctx, &neg), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "cfg->device.id: -1");
}

static void test_cuda_context_without_gpu(void) {
    ax_context_config cfg = AX_CONTEXT_CONFIG_INIT;
    cfg.device.type = AX_CUDA;
    ax_context *ctx = NULL;
    if (ax_cuda_device_count() > 0) {
        printf("  (a CUDA device is present: checking the context works instead)\n");
        CHECK_OK(ax_context_create(&ctx, &cfg));
        CHECK_INT_EQ(ax_context_device(ctx).type, AX_CUDA);
        ax_context_destroy(ctx);
        return;
    }
    const ax_status st = ax_context_create(&ctx, &cfg);
    CHECK(st == AX_ERR_UNSUPPORTED || st == AX_ERR_CUDA);
    CHECK(ctx == NULL);
    if (ax_build_has_cuda()) CHECK_CONTAINS(ax_last_error(), "no CUDA device");
    else CHECK_CONTAINS(ax_last_error(), "no CUDA");
    char name[64];
    int64_t mem = 0;
    CHECK(ax_cuda_device_info(0, name, sizeof name, &mem) != AX_OK);
}

static void test_build_flags_are_booleans(void) {
    const int flags[6] = {ax_build_has_cuda(), ax_build_has_mpi(), ax_build_has_nccl(),
                          ax_build_has_hdf5(), ax_build_has_png(), ax_build_has_openmp()};
    for (int i = 0; i < 6; i++) CHECK(flags[i] == 0 || flags[i] == 1);
    if (ax_build_has_nccl()) CHECK(ax_build_has_cuda() && ax_build_has_mpi());
}

int main(void) {
    RUN(test_default_context);
    RUN(test_configured_context);
    RUN(test_bad_configs);
    RUN(test_cuda_context_without_gpu);
    RUN(test_build_flags_are_booleans);
    return th_finish();
}
