/*
 * test_context.c — context lifetime, configuration, CUDA requests without a GPU, build flags.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "axial/gguf.h"
#include "core/utf8.h"
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

/* A config from an older, shorter header: the fields past its struct_size are not read (they keep
 * their defaults), whatever bytes follow it in the caller's memory. */
static void test_short_config(void) {
    union {
        ax_context_config cfg;
        unsigned char bytes[sizeof(ax_context_config)];
    } old;
    memset(old.bytes, 0x11, sizeof old.bytes); /* num_threads would read 0x11111111 */
    old.cfg.struct_size = offsetof(ax_context_config, num_threads);
    old.cfg.device = (ax_device){AX_CPU, 0};
    old.cfg.cuda_stream = NULL;
    ax_context *ctx = NULL;
    CHECK_OK(ax_context_create(&ctx, &old.cfg));
#ifdef _OPENMP
    CHECK_INT_EQ(ax_context_num_threads(ctx), omp_get_max_threads());
#endif
    CHECK(ax_context_num_threads(ctx) < 0x11111111);
    ax_context_destroy(ctx);
}

/* A size whose 64-byte rounding wraps (SIZE_MAX is what a failed size computation's -1 becomes) is
 * out of memory, not a 64-byte block. */
static void test_alloc_size_wrap(void) {
    ax_context *ctx = NULL;
    CHECK_OK(ax_context_create(&ctx, NULL));
    void *p = (void *)&p;
    CHECK_STATUS(ax_device_alloc(ctx, SIZE_MAX, &p), AX_ERR_OUT_OF_MEMORY);
    CHECK(p == NULL);
    CHECK_STATUS(ax_device_alloc(ctx, SIZE_MAX - 62, &p), AX_ERR_OUT_OF_MEMORY);
    CHECK(p == NULL);
    CHECK_OK(ax_device_alloc(ctx, 0, &p));
    CHECK(p != NULL);
    ax_device_free(ctx, p);
    ax_context_destroy(ctx);
}

/* An error message past the 1023 bytes kept is cut at a character, never inside one: a file name of
 * two-byte characters would otherwise end the message in half a character, which a binding decoding
 * it as UTF-8 fails on. Both the formatted message and a prefixed one (ax_error_prefix). */
static void test_long_message_cut_at_a_character(void) {
    char path[2 + 2 * 700 + 1];
    path[0] = path[1] = '/';
    for (int i = 0; i < 700; i++) memcpy(path + 2 + 2 * i, "\xC3\xA9", 2); /* e acute */
    path[sizeof path - 1] = '\0';
    for (int shift = 0; shift < 2; shift++) { /* "/..." and "//...": the cut falls at either byte */
        ax_gguf *g = NULL;
        CHECK(ax_gguf_open(path + shift, &g) != AX_OK);
        const size_t n = strlen(ax_last_error());
        CHECK(n >= 1020 && n <= 1023);
        CHECK(ax_utf8_valid(ax_last_error()));
    }
    for (int shift = 0; shift < 2; shift++) {
        ax_gguf *g = NULL;
        CHECK(ax_gguf_open_memory("GGUF", 4, path + shift, &g) != AX_OK); /* a short file, named */
        CHECK(strlen(ax_last_error()) >= 1020);
        CHECK(ax_utf8_valid(ax_last_error()));
    }
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
    RUN(test_short_config);
    RUN(test_long_message_cut_at_a_character);
    RUN(test_alloc_size_wrap);
    RUN(test_cuda_context_without_gpu);
    RUN(test_build_flags_are_booleans);
    return th_finish();
}
