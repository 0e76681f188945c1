/*
 * fuzz_gguf.c — libFuzzer target for the GGUF reader: ax_gguf_open_memory on the input, then every
 * accessor over every key, array element and tensor, checking that what the reader hands out lies
 * inside the input (ASan reports any read outside it).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>

#include "axial/gguf.h"
#include "core/dtype_traits.h"
#include "fuzz_parsers.h"

static const uint8_t *fuzz_lo, *fuzz_hi;

/* A string handed out must lie inside the input; touching its ends lets ASan check the claim. */
static void fuzz_check_string(ax_gguf_string s) {
    if (s.len == 0) return;
    const uint8_t *p = (const uint8_t *)s.data;
    if (p < fuzz_lo || p > fuzz_hi || s.len > (uint64_t)(fuzz_hi - p)) __builtin_trap();
    volatile uint8_t sink = p[0];
    sink = p[s.len - 1];
    (void)sink;
}

/* find() of a name without NUL bytes gives back its index (names are unique). */
static void fuzz_check_find(int64_t (*find)(const ax_gguf *, const char *), const ax_gguf *g, ax_gguf_string s,
                            int64_t index) {
    if (s.len > 4096 || memchr(s.data, 0, s.len) != NULL) return;
    char name[4097];
    memcpy(name, s.data, s.len);
    name[s.len] = '\0';
    if (find(g, name) != index) __builtin_trap();
}

static void fuzz_walk_kv(const ax_gguf *g, int64_t i) {
    const ax_gguf_string key = ax_gguf_kv_key(g, i);
    fuzz_check_string(key);
    fuzz_check_find(ax_gguf_find_key, g, key, i);
    const ax_gguf_type type = ax_gguf_kv_type(g, i);
    if ((unsigned)type > AX_GGUF_FLOAT64) __builtin_trap();
    int64_t iv;
    uint64_t uv;
    double fv;
    int bv;
    ax_gguf_string sv;
    (void)ax_gguf_get_i64(g, i, &iv);
    (void)ax_gguf_get_u64(g, i, &uv);
    (void)ax_gguf_get_f64(g, i, &fv);
    (void)ax_gguf_get_bool(g, i, &bv);
    if (ax_gguf_get_string(g, i, &sv) == AX_OK) fuzz_check_string(sv);
    else if (type == AX_GGUF_STRING) __builtin_trap();
    ax_gguf_type et;
    int64_t count = 0;
    const void *data = NULL;
    if (ax_gguf_get_array(g, i, &et, &count, &data) != AX_OK) {
        if (type == AX_GGUF_ARRAY) __builtin_trap();
        return;
    }
    if (count < 0 || (unsigned)et > AX_GGUF_FLOAT64) __builtin_trap();
    for (int64_t j = 0; j < count; j++) {
        (void)ax_gguf_array_get_i64(g, i, j, &iv);
        (void)ax_gguf_array_get_f64(g, i, j, &fv);
        if (ax_gguf_array_get_string(g, i, j, &sv) == AX_OK) fuzz_check_string(sv);
        else if (et == AX_GGUF_STRING) __builtin_trap();
    }
    if (ax_gguf_array_get_i64(g, i, count, &iv) == AX_OK) __builtin_trap();
}

static void fuzz_walk_tensor(const ax_gguf *g, int64_t i) {
    ax_gguf_tensor_info t;
    if (ax_gguf_tensor_info_get(g, i, &t) != AX_OK) __builtin_trap();
    fuzz_check_string(t.name);
    fuzz_check_find(ax_gguf_find_tensor, g, t.name, i);
    if (t.n_dims < 1 || t.n_dims > AX_GGUF_MAX_DIMS || t.offset % ax_gguf_alignment(g) != 0) __builtin_trap();
    for (int d = 0; d < AX_GGUF_MAX_DIMS; d++)
        if (t.ne[d] < 0 || (d >= t.n_dims && t.ne[d] != 1)) __builtin_trap();
    const uint64_t start = ax_gguf_data_offset(g) + t.offset;
    if (t.bytes > 0) {
        if (start < ax_gguf_data_offset(g) || start > ax_gguf_file_size(g) || t.bytes > ax_gguf_file_size(g) - start)
            __builtin_trap();
        ax_gguf_string span = {(const char *)ax_gguf_file_data(g) + start, t.bytes};
        fuzz_check_string(span);
    }
    ax_tensor view;
    const ax_status st = ax_gguf_tensor_view(g, i, &view);
    /* A view is made for every tensor with an Axial dtype whose data is aligned for it (the largest
     * power of two dividing the element or block size, at most 8; general.alignment may be 1). */
    int aligned = 1;
    if (t.dtype >= 0 && t.bytes > 0) {
        const int64_t unit = ax_dt_block_bytes((ax_dtype)t.dtype);
        const int64_t need = (unit & -unit) > 8 ? 8 : (unit & -unit);
        aligned = (uintptr_t)(fuzz_lo + start) % (uintptr_t)need == 0;
    }
    if ((st == AX_OK) != (t.dtype >= 0 && aligned)) __builtin_trap();
    /* An empty tensor's view points at the mapping's start (its offset may lie past the end). */
    if (st == AX_OK && (const uint8_t *)view.data != (t.bytes > 0 ? fuzz_lo + start : fuzz_lo)) __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* A heap copy of exactly `size` bytes, so a read one past the end is reported. */
    uint8_t *copy = malloc(size ? size : 1);
    if (copy == NULL) return 0;
    if (size) memcpy(copy, data, size);
    fuzz_lo = copy;
    fuzz_hi = copy + size;
    ax_gguf *g = (ax_gguf *)&g; /* non-NULL: a failing open must reset it */
    const ax_status st = ax_gguf_open_memory(copy, size, "fuzz", &g);
    fuzz_check_status(st, g);
    if (st == AX_OK) {
        if (ax_gguf_data_offset(g) % ax_gguf_alignment(g) != 0 || ax_gguf_file_size(g) != size) __builtin_trap();
        for (int64_t i = 0; i < ax_gguf_kv_count(g); i++) fuzz_walk_kv(g, i);
        for (int64_t i = 0; i < ax_gguf_tensor_count(g); i++) fuzz_walk_tensor(g, i);
        ax_gguf_close(g);
    }
    free(copy);
    return 0;
}
