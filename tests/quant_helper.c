/*
 * quant_helper.c — a small command the Python checks (tests/python/test_dtype_gguf.py) drive: it
 * converts a file of raw elements with ax_tensor_copy and writes the result, so the `gguf` and
 * `ml_dtypes` packages can judge Axial's bytes. Not a test on its own.
 *
 *   quant_helper SRC_DTYPE DST_DTYPE ROWS COLS IN OUT [--transposed]
 *
 * IN holds ROWS x COLS elements of SRC_DTYPE, row-major; with --transposed it holds the COLS x ROWS
 * transpose instead, and the source is read through a transposed (strided) view. OUT gets the
 * ROWS x COLS result, row-major. Without --transposed the result is also computed with ax_convert,
 * which must give the same bytes. Exit 0 on success, 3 when Axial reports an error (printed as
 * "STATUS: message"), 2 for usage or file errors, 4 when ax_convert and ax_tensor_copy disagree.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axial/axial.h"

static int parse_dtype(const char *name, ax_dtype *out) {
    for (int d = 0; d < 64; d++) {
        if (strcmp(ax_dtype_name((ax_dtype)d), name) == 0) {
            *out = (ax_dtype)d;
            return 1;
        }
    }
    return 0;
}

static void *read_file(const char *path, long *size) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    fseek(f, 0, SEEK_END);
    *size = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *buf = malloc(*size > 0 ? (size_t)*size : 1);
    if (buf != NULL && fread(buf, 1, (size_t)*size, f) != (size_t)*size) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

static int fail_axial(ax_status st) {
    fprintf(stderr, "%s: %s\n", ax_status_string(st), ax_last_error());
    return 3;
}

int main(int argc, char **argv) {
    if (argc < 7 || argc > 8 || (argc == 8 && strcmp(argv[7], "--transposed") != 0)) {
        fprintf(stderr, "usage: quant_helper SRC_DTYPE DST_DTYPE ROWS COLS IN OUT [--transposed]\n");
        return 2;
    }
    ax_dtype st, dt;
    if (!parse_dtype(argv[1], &st) || !parse_dtype(argv[2], &dt)) {
        fprintf(stderr, "quant_helper: unknown dtype %s or %s\n", argv[1], argv[2]);
        return 2;
    }
    const int64_t rows = atoll(argv[3]), cols = atoll(argv[4]);
    const int transposed = argc == 8;
    const int64_t in_bytes = ax_dtype_bytes(st, rows * cols), out_bytes = ax_dtype_bytes(dt, rows * cols);
    long size = 0;
    void *in = read_file(argv[5], &size);
    /* A count that is not whole blocks is for Axial to refuse (exit 3): the file then holds
     * rows * cols elements' worth of the source's element size. */
    const int64_t plain_bytes = rows * cols * (int64_t)ax_dtype_size(st);
    if (in == NULL || (in_bytes >= 0 ? size != in_bytes : size != plain_bytes)) {
        fprintf(stderr, "quant_helper: %s has %ld bytes, expected %lld\n", argv[5], size, (long long)in_bytes);
        free(in);
        return 2;
    }
    void *out = malloc(out_bytes > 0 ? (size_t)out_bytes : 1), *again = NULL;
    int status = 0;
    ax_context *ctx = NULL;
    ax_status st_ = ax_context_create(&ctx, NULL);
    const int64_t shape[2] = {rows, cols}, tshape[2] = {cols, rows};
    ax_tensor src, dst;
    if (st_ == AX_OK && transposed) {
        st_ = ax_tensor_contiguous(&src, in, st, 2, tshape);
        src.shape[0] = rows;
        src.shape[1] = cols;
        src.strides[0] = 1;
        src.strides[1] = rows;
    } else if (st_ == AX_OK) {
        st_ = ax_tensor_contiguous(&src, in, st, 2, shape);
    }
    if (st_ == AX_OK) st_ = ax_tensor_contiguous(&dst, out, dt, 2, shape);
    if (st_ == AX_OK) st_ = ax_tensor_copy(ctx, &src, &dst);
    if (st_ == AX_OK && !transposed) {
        again = malloc(out_bytes > 0 ? (size_t)out_bytes : 1);
        st_ = ax_convert(in, st, again, dt, rows * cols);
        if (st_ == AX_OK && memcmp(again, out, (size_t)out_bytes) != 0) {
            fprintf(stderr, "quant_helper: ax_convert and ax_tensor_copy disagree\n");
            status = 4;
        }
    }
    if (st_ != AX_OK) {
        status = fail_axial(st_);
    } else {
        FILE *f = fopen(argv[6], "wb");
        if (f == NULL || fwrite(out, 1, (size_t)out_bytes, f) != (size_t)out_bytes) {
            fprintf(stderr, "quant_helper: cannot write %s\n", argv[6]);
            status = 2;
        }
        if (f != NULL) fclose(f);
    }
    ax_context_destroy(ctx);
    free(in);
    free(out);
    free(again);
    return status;
}
