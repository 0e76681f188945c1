/*
 * chunk_codec.c — see chunk_codec.h.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "io/chunk_codec.h"

#include "io/deflate_rle.h"

size_t ax_chunk_encoded_bound(size_t bytes) { return ax_deflate_rle_bound(bytes) + 4; }

/* Rounded to 64 bytes: one thread's work buffer follows another's, and the encoder's symbol array
 * at its start needs (at least) 2-byte alignment. */
size_t ax_chunk_work_bytes(size_t bytes) { return (AX_DEFLATE_RLE_WORK_BYTES + bytes + 63) / 64 * 64; }

uint32_t ax_fletcher32(const uint8_t *data, size_t len) {
    uint32_t sum1 = 0, sum2 = 0;
    size_t words = len / 2;
    /* 360 words keep both sums inside 32 bits before each fold. */
    while (words > 0) {
        size_t n = words < 360 ? words : 360;
        words -= n;
        for (; n > 0; n--, data += 2) {
            sum1 += ((uint32_t)data[0] << 8) | data[1];
            sum2 += sum1;
        }
        sum1 = (sum1 & 0xffff) + (sum1 >> 16);
        sum2 = (sum2 & 0xffff) + (sum2 >> 16);
    }
    if (len % 2) {
        sum1 += (uint32_t)data[0] << 8;
        sum2 += sum1;
        sum1 = (sum1 & 0xffff) + (sum1 >> 16);
        sum2 = (sum2 & 0xffff) + (sum2 >> 16);
    }
    sum1 = (sum1 & 0xffff) + (sum1 >> 16);
    sum2 = (sum2 & 0xffff) + (sum2 >> 16);
    return (sum2 << 16) | sum1;
}

size_t ax_chunk_encode(const uint8_t *raw, size_t bytes, size_t elem, uint8_t *out, size_t cap, void *work) {
    if (cap < 4) return 0;
    const uint8_t *src = raw;
    if (elem > 1) {
        /* Byte k of every element together, k = 0..elem-1; a ragged tail (bytes % elem) stays as is. */
        uint8_t *shuffled = (uint8_t *)work + AX_DEFLATE_RLE_WORK_BYTES;
        const size_t count = bytes / elem;
        for (size_t k = 0; k < elem; k++)
            for (size_t i = 0; i < count; i++) shuffled[k * count + i] = raw[i * elem + k];
        for (size_t i = count * elem; i < bytes; i++) shuffled[i] = raw[i];
        src = shuffled;
    }
    const size_t n = ax_deflate_rle(src, bytes, out, cap - 4, work);
    if (n == 0) return 0;
    const uint32_t sum = ax_fletcher32(out, n);
    out[n] = (uint8_t)sum;
    out[n + 1] = (uint8_t)(sum >> 8);
    out[n + 2] = (uint8_t)(sum >> 16);
    out[n + 3] = (uint8_t)(sum >> 24);
    return n + 4;
}
