/*
 * status.c — status names, the thread-local last-error message, and the opt-in debug log.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "core/utf8.h"

/* Long enough for a message naming a file, a line and a reason; longer ones are truncated. */
#define AX_ERROR_CAPACITY 1024

static _Thread_local char last_error[AX_ERROR_CAPACITY];

const char *ax_status_string(ax_status status) {
    switch (status) {
    case AX_OK: return "AX_OK";
    case AX_ERR_INVALID_ARGUMENT: return "AX_ERR_INVALID_ARGUMENT";
    case AX_ERR_UNSUPPORTED: return "AX_ERR_UNSUPPORTED";
    case AX_ERR_OUT_OF_MEMORY: return "AX_ERR_OUT_OF_MEMORY";
    case AX_ERR_IO: return "AX_ERR_IO";
    case AX_ERR_FORMAT: return "AX_ERR_FORMAT";
    case AX_ERR_CUDA: return "AX_ERR_CUDA";
    case AX_ERR_MPI: return "AX_ERR_MPI";
    case AX_ERR_NCCL: return "AX_ERR_NCCL";
    case AX_ERR_INTERNAL: return "AX_ERR_INTERNAL";
    case AX_ERR_BUSY: return "AX_ERR_BUSY";
    }
    return "AX_ERR_UNKNOWN";
}

const char *ax_last_error(void) { return last_error; }

ax_os_message ax_os_error(int err) {
    ax_os_message m;
#if defined(_GNU_SOURCE)
    const char *msg = strerror_r(err, m.text, sizeof m.text); /* GNU: may return a static string */
    if (msg != m.text) snprintf(m.text, sizeof m.text, "%s", msg);
#else
    if (strerror_r(err, m.text, sizeof m.text) != 0) snprintf(m.text, sizeof m.text, "error %d", err);
#endif
    return m;
}

void ax_clear_error(void) { last_error[0] = '\0'; }

void ax_error_keep(ax_error_snapshot *snapshot) {
    _Static_assert(sizeof snapshot->text == AX_ERROR_CAPACITY, "a snapshot holds the whole message");
    memcpy(snapshot->text, last_error, sizeof last_error);
}

void ax_error_restore(const ax_error_snapshot *snapshot) { memcpy(last_error, snapshot->text, sizeof last_error); }

/* A message cut at the buffer's end must not end in part of a character (a path of non-ASCII names):
 * bindings decoding it as UTF-8 would fail on the cut instead of reporting the error. */
static void drop_partial_character(size_t used) {
    last_error[used - ax_utf8_partial_tail(last_error, used)] = '\0';
}

ax_status ax_set_errorv(ax_status status, const char *fmt, va_list args) {
    const int n = vsnprintf(last_error, sizeof last_error, fmt, args);
    if (n >= (int)sizeof last_error) drop_partial_character(sizeof last_error - 1);
    ax_log_debug("error %s: %s", ax_status_string(status), last_error);
    return status;
}

ax_status ax_set_error(ax_status status, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    ax_set_errorv(status, fmt, args);
    va_end(args);
    return status;
}

void ax_error_prefix(const char *prefix) {
    char previous[AX_ERROR_CAPACITY];
    memcpy(previous, last_error, sizeof previous);
    /* Assembled by hand: truncation is intended, and snprintf would warn about it. */
    size_t used = 0;
    const char *parts[3] = {prefix, ": ", previous};
    for (int i = 0; i < 3; i++)
        for (const char *c = parts[i]; *c != '\0' && used + 1 < sizeof last_error; c++) last_error[used++] = *c;
    last_error[used] = '\0';
    if (used + 1 == sizeof last_error) drop_partial_character(used);
}

static int log_enabled(void) {
    /* Benign race: every thread computes the same value from the same environment. */
    static int cached = -1;
    if (cached < 0) {
        const char *level = getenv("AXIAL_LOG");
        cached = level != NULL && strcmp(level, "debug") == 0;
    }
    return cached;
}

void ax_log_debug(const char *fmt, ...) {
    if (!log_enabled()) return;
    va_list args;
    va_start(args, fmt);
    fputs("[axial] ", stderr);
    vfprintf(stderr, fmt, args);
    fputc('\n', stderr);
    va_end(args);
}

ax_status ax_check_int32_limit(int64_t value, const char *what, const char *limit) {
    if (value > INT_MAX)
        return ax_set_error(AX_ERR_UNSUPPORTED, "%s: %lld exceeds the %s limit of %d (32-bit integers)", what,
                            (long long)value, limit, INT_MAX);
    return AX_OK;
}
