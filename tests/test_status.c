/*
 * test_status.c — status names, the per-thread last error, version string.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <pthread.h>

#include "core/internal.h"
#include "harness.h"

static void test_status_names_are_stable(void) {
    /* The numbers are part of the ABI: pin them. */
    CHECK_INT_EQ(AX_OK, 0);
    CHECK_INT_EQ(AX_ERR_INVALID_ARGUMENT, 1);
    CHECK_INT_EQ(AX_ERR_UNSUPPORTED, 2);
    CHECK_INT_EQ(AX_ERR_OUT_OF_MEMORY, 3);
    CHECK_INT_EQ(AX_ERR_IO, 4);
    CHECK_INT_EQ(AX_ERR_FORMAT, 5);
    CHECK_INT_EQ(AX_ERR_CUDA, 6);
    CHECK_INT_EQ(AX_ERR_MPI, 7);
    CHECK_INT_EQ(AX_ERR_NCCL, 8);
    CHECK_INT_EQ(AX_ERR_INTERNAL, 9);
    CHECK_STR_EQ(ax_status_string(AX_OK), "AX_OK");
    CHECK_STR_EQ(ax_status_string(AX_ERR_INVALID_ARGUMENT), "AX_ERR_INVALID_ARGUMENT");
    CHECK_STR_EQ(ax_status_string(AX_ERR_UNSUPPORTED), "AX_ERR_UNSUPPORTED");
    CHECK_STR_EQ(ax_status_string(AX_ERR_OUT_OF_MEMORY), "AX_ERR_OUT_OF_MEMORY");
    CHECK_STR_EQ(ax_status_string(AX_ERR_IO), "AX_ERR_IO");
    CHECK_STR_EQ(ax_status_string(AX_ERR_FORMAT), "AX_ERR_FORMAT");
    CHECK_STR_EQ(ax_status_string(AX_ERR_CUDA), "AX_ERR_CUDA");
    CHECK_STR_EQ(ax_status_string(AX_ERR_MPI), "AX_ERR_MPI");
    CHECK_STR_EQ(ax_status_string(AX_ERR_NCCL), "AX_ERR_NCCL");
    CHECK_STR_EQ(ax_status_string(AX_ERR_INTERNAL), "AX_ERR_INTERNAL");
    CHECK_STR_EQ(ax_status_string((ax_status)12345), "AX_ERR_UNKNOWN");
}

static void test_last_error_set_and_cleared(void) {
    ax_clear_error();
    CHECK_STR_EQ(ax_last_error(), "");
    CHECK_INT_EQ(ax_set_error(AX_ERR_FORMAT, "%s:%d: bad %s", "x.a3m", 7, "row"), AX_ERR_FORMAT);
    CHECK_STR_EQ(ax_last_error(), "x.a3m:7: bad row");
    ax_error_prefix("reading store");
    CHECK_STR_EQ(ax_last_error(), "reading store: x.a3m:7: bad row");
    /* A public call that fails sets it too. */
    CHECK_STATUS(ax_tensor_contiguous(NULL, NULL, AX_F32, 0, NULL), AX_ERR_INVALID_ARGUMENT);
    CHECK_STR_EQ(ax_last_error(), "out: NULL");
    ax_clear_error();
    CHECK_STR_EQ(ax_last_error(), "");
}

static void test_long_messages_are_truncated_not_overflowed(void) {
    char big[5000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ax_set_error(AX_ERR_INTERNAL, "%s", big);
    CHECK(strlen(ax_last_error()) > 500);
    CHECK(strlen(ax_last_error()) < sizeof big);
    ax_error_prefix(big);
    CHECK(strlen(ax_last_error()) < sizeof big);
}

typedef struct thread_arg {
    int id;
    int mismatches;
} thread_arg;

static void *error_worker(void *p) {
    thread_arg *arg = p;
    for (int it = 0; it < 2000; it++) {
        char expected[64];
        snprintf(expected, sizeof expected, "thread %d iteration %d", arg->id, it);
        ax_set_error(AX_ERR_INVALID_ARGUMENT, "thread %d iteration %d", arg->id, it);
        if (strcmp(ax_last_error(), expected) != 0) arg->mismatches++;
    }
    return NULL;
}

static void test_last_error_is_per_thread(void) {
    ax_set_error(AX_ERR_IO, "main thread message");
    pthread_t threads[4];
    thread_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i].id = i;
        args[i].mismatches = 0;
        CHECK_INT_EQ(pthread_create(&threads[i], NULL, error_worker, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(threads[i], NULL);
        CHECK_INT_EQ(args[i].mismatches, 0);
    }
    CHECK_STR_EQ(ax_last_error(), "main thread message");
}

static void test_version(void) {
    char expected[32];
    snprintf(expected, sizeof expected, "%d.%d.%d", AX_VERSION_MAJOR, AX_VERSION_MINOR, AX_VERSION_PATCH);
    CHECK_STR_EQ(ax_version_string(), expected);
    /* The header's macros and the build's project version must agree. */
    CHECK_STR_EQ(ax_version_string(), AXIAL_PROJECT_VERSION);
    CHECK_INT_EQ(AX_VERSION_NUMBER, AX_VERSION_MAJOR * 10000 + AX_VERSION_MINOR * 100 + AX_VERSION_PATCH);
}

int main(void) {
    RUN(test_status_names_are_stable);
    RUN(test_last_error_set_and_cleared);
    RUN(test_long_messages_are_truncated_not_overflowed);
    RUN(test_last_error_is_per_thread);
    RUN(test_version);
    return th_finish();
}
