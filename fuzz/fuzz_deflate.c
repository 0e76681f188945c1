/*
 * fuzz_deflate.c — libFuzzer target for the feature store's compressor (src/io/deflate_rle.c): any
 * input, repeated 1-4 times so that streams cross the 65535-byte block size, must compress within
 * ax_deflate_rle_bound and inflate with zlib to exactly the input.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "io/deflate_rle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const size_t copies = size > 0 ? 1 + data[0] % 4 : 1, n = size * copies;
    uint8_t *src = malloc(n + 1), *packed = malloc(ax_deflate_rle_bound(n)), *back = malloc(n + 1);
    void *work = malloc(AX_DEFLATE_RLE_WORK_BYTES);
    if (src == NULL || packed == NULL || back == NULL || work == NULL) __builtin_trap();
    for (size_t c = 0; c < copies; c++) memcpy(src + c * size, data, size);
    const size_t m = ax_deflate_rle(src, n, packed, ax_deflate_rle_bound(n), work);
    if (m == 0 || m > ax_deflate_rle_bound(n)) __builtin_trap();
    uLongf out = (uLongf)n + 1;
    if (uncompress(back, &out, packed, (uLong)m) != Z_OK || out != n || memcmp(back, src, n) != 0) __builtin_trap();
    free(src);
    free(packed);
    free(back);
    free(work);
    return 0;
}
