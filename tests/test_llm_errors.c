/*
 * test_llm_errors.c — argument errors of the LLM API (include/axial/llm.h) that need no model: NULL
 * arguments, a missing file, a file that is not GGUF, a GGUF without an architecture, and the NULL
 * handles the session functions accept. The model itself is tested by test_llm_reference.py.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stddef.h>
#include <stdio.h>
#include <unistd.h>

#include "axial/llm.h"
#include "harness.h"

static void write_file(const char *path, const void *data, size_t size) {
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f == NULL) return;
    CHECK_INT_EQ(fwrite(data, 1, size, f), size);
    fclose(f);
}

static void test_null_arguments(void) {
    ax_llm_model *model = (ax_llm_model *)0x1;
    CHECK_STATUS(ax_llm_model_load("x.gguf", NULL, NULL), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "out");
    CHECK_STATUS(ax_llm_model_load(NULL, NULL, &model), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "path");
    CHECK(model == NULL);

    ax_llm_model_config bad = AX_LLM_MODEL_CONFIG_INIT;
    bad.struct_size = 4;
    CHECK_STATUS(ax_llm_model_load("x.gguf", &bad, &model), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "struct_size");
    /* The first version of the struct (it ended before pack_weights, 24 bytes on LP64) is taken:
     * the load gets as far as opening the (missing) file. */
    bad.struct_size = offsetof(ax_llm_model_config, pack_weights) + 4;
    CHECK_STATUS(ax_llm_model_load("/nonexistent/axial-test.gguf", &bad, &model), AX_ERR_IO);
    CHECK(model == NULL);

    ax_llm_model_info info;
    CHECK_STATUS(ax_llm_model_get_info(NULL, &info), AX_ERR_INVALID_ARGUMENT);
    ax_llm_session *session = (ax_llm_session *)0x1;
    CHECK_STATUS(ax_llm_session_create(NULL, NULL, &session), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "model");
    CHECK(session == NULL);
    CHECK_STATUS(ax_llm_session_create(NULL, NULL, NULL), AX_ERR_INVALID_ARGUMENT);

    const int32_t ids[1] = {0};
    int32_t token;
    CHECK_STATUS(ax_llm_session_eval(NULL, ids, 1, 0), AX_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ax_llm_session_rewind(NULL, 0), AX_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ax_llm_session_sample(NULL, NULL, 0, &token, NULL), AX_ERR_INVALID_ARGUMENT);
    CHECK(ax_llm_session_logits(NULL, -1) == NULL);
    CHECK_INT_EQ(ax_llm_session_position(NULL), 0);

    /* The destroy functions accept NULL. */
    ax_llm_model_free(NULL);
    ax_llm_session_free(NULL);
}

static void test_missing_file(void) {
    ax_llm_model *model = (ax_llm_model *)0x1;
    const char *path = "/nonexistent-axial-dir/model.gguf";
    CHECK_STATUS(ax_llm_model_load(path, NULL, &model), AX_ERR_IO);
    CHECK_CONTAINS(ax_last_error(), path);
    CHECK(model == NULL);
}

static void test_not_gguf(void) {
    char path[] = "/tmp/axial-llm-errors-XXXXXX";
    const int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0) return;
    close(fd);
    const char text[] = "this is a text file, not a GGUF model\n";
    write_file(path, text, sizeof text - 1);
    ax_llm_model *model = (ax_llm_model *)0x1;
    CHECK_STATUS(ax_llm_model_load(path, NULL, &model), AX_ERR_FORMAT);
    CHECK_CONTAINS(ax_last_error(), path);
    CHECK(model == NULL);

    /* A valid GGUF (version 3) with no metadata and no tensors: no architecture to run. */
    unsigned char empty[24] = {'G', 'G', 'U', 'F', 3, 0, 0, 0};
    write_file(path, empty, sizeof empty);
    CHECK_STATUS(ax_llm_model_load(path, NULL, &model), AX_ERR_FORMAT);
    CHECK_CONTAINS(ax_last_error(), "general.architecture");
    CHECK(model == NULL);
    unlink(path);
}

int main(void) {
    RUN(test_null_arguments);
    RUN(test_missing_file);
    RUN(test_not_gguf);
    return th_finish();
}
