/*
 * qmatmul_helper.c — a small command the Python check (tests/python/test_qmatmul_gguf.py) drives: it
 * runs ax_qmatmul on files of raw bytes and writes y, so the `gguf` package's dequantizer and a
 * float64 NumPy product can judge it. Not a test on its own.
 *
 *   qmatmul_helper W_DTYPE X_DTYPE Y_DTYPE M N K X W Y [BIAS]
 *
 * W_DTYPE may end in "+packed" (q4_0, q4_1, q8_0): w is then packed with ax_qweight_pack and the
 * product is ax_qmatmul_packed's.
 *
 * X holds M x K elements of X_DTYPE (f32 or bf16), W the N rows of K elements of W_DTYPE as GGUF
 * stores them, BIAS (optional) N f32 values; Y gets M x N elements of Y_DTYPE, row-major. Exit 0 on
 * success, 3 when Axial reports an error (printed as "STATUS: message"), 2 for usage or file errors.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axial/linalg.h"

static int parse_dtype(const char *name, ax_dtype *out) {
    for (int d = 0; d < 64; d++) {
        if (strcmp(ax_dtype_name((ax_dtype)d), name) == 0) {
            *out = (ax_dtype)d;
            return 1;
        }
    }
    return 0;
}

/* The whole file, which must hold exactly `bytes` bytes; NULL otherwise. */
static void *read_exact(const char *path, long bytes) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    fseek(f, 0, SEEK_END);
    const long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *buf = size == bytes ? malloc(bytes > 0 ? (size_t)bytes : 1) : NULL;
    if (buf != NULL && fread(buf, 1, (size_t)bytes, f) != (size_t)bytes) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

int main(int argc, char **argv) {
    if (argc != 10 && argc != 11) {
        fprintf(stderr, "usage: qmatmul_helper W_DTYPE X_DTYPE Y_DTYPE M N K X W Y [BIAS]\n");
        return 2;
    }
    ax_dtype wdt, xdt, ydt;
    char wname[32];
    snprintf(wname, sizeof wname, "%s", argv[1]);
    char *plus = strstr(wname, "+packed");
    const int packed = plus != NULL && plus[7] == '\0';
    if (packed) *plus = '\0';
    if (!parse_dtype(wname, &wdt) || !parse_dtype(argv[2], &xdt) || !parse_dtype(argv[3], &ydt)) {
        fprintf(stderr, "qmatmul_helper: unknown dtype among %s %s %s\n", argv[1], argv[2], argv[3]);
        return 2;
    }
    const int64_t M = atoll(argv[4]), N = atoll(argv[5]), K = atoll(argv[6]);
    const int64_t xbytes = ax_dtype_bytes(xdt, M * K), wbytes = ax_dtype_bytes(wdt, N * K);
    const int64_t ybytes = ax_dtype_bytes(ydt, M * N);
    if (M < 0 || N < 0 || K < 0 || xbytes < 0 || wbytes < 0 || ybytes < 0) {
        fprintf(stderr, "qmatmul_helper: bad sizes\n");
        return 2;
    }
    void *x = read_exact(argv[7], (long)xbytes), *w = read_exact(argv[8], (long)wbytes);
    void *bias = argc == 11 ? read_exact(argv[10], (long)(N * 4)) : NULL;
    void *y = malloc(ybytes > 0 ? (size_t)ybytes : 1);
    int rc = 0;
    ax_context *ctx = NULL;
    if (x == NULL || w == NULL || y == NULL || (argc == 11 && bias == NULL)) {
        fprintf(stderr, "qmatmul_helper: cannot read the inputs (or their sizes are wrong)\n");
        rc = 2;
        goto done;
    }
    ax_tensor tx, tw, ty, tb;
    const int64_t xs[2] = {M, K}, ws[2] = {N, K}, ys[2] = {M, N}, bs[1] = {N};
    ax_status st = ax_context_create(&ctx, NULL);
    if (st == AX_OK) st = ax_tensor_contiguous(&tx, x, xdt, 2, xs);
    if (st == AX_OK) st = ax_tensor_contiguous(&tw, w, wdt, 2, ws);
    if (st == AX_OK) st = ax_tensor_contiguous(&ty, y, ydt, 2, ys);
    if (st == AX_OK) st = ax_tensor_contiguous(&tb, bias, AX_F32, 1, bs);
    ax_qweight *pw = NULL;
    if (st == AX_OK && packed) st = ax_qweight_pack(&tw, &pw);
    if (st == AX_OK)
        st = packed ? ax_qmatmul_packed(ctx, &tx, pw, bias != NULL ? &tb : NULL, &ty)
                    : ax_qmatmul(ctx, &tx, &tw, bias != NULL ? &tb : NULL, &ty);
    ax_qweight_destroy(pw);
    if (st != AX_OK) {
        fprintf(stderr, "%s: %s\n", ax_status_string(st), ax_last_error());
        rc = 3;
        goto done;
    }
    FILE *f = fopen(argv[9], "wb");
    if (f == NULL || fwrite(y, 1, (size_t)ybytes, f) != (size_t)ybytes) {
        fprintf(stderr, "qmatmul_helper: cannot write %s\n", argv[9]);
        rc = 2;
    }
    if (f != NULL) fclose(f);
done:
    ax_context_destroy(ctx);
    free(x);
    free(w);
    free(y);
    free(bias);
    return rc;
}
