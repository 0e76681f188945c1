/*
 * test_chunk_codec.c — the store's own chunk encoder against independent decoders: every stream
 * ax_deflate_rle writes must inflate (zlib's uncompress) to the input; ax_fletcher32 must equal the
 * checksum HDF5's own Fletcher-32 filter appends; and datasets written through the direct-chunk
 * path (ax_h5_write_filled) must read back through HDF5's filters (which verify the checksum and
 * inflate) as the bytes that went in, for 1- and 4-byte elements, several chunks and a ragged end.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <hdf5.h>
#include <unistd.h>
#include <zlib.h>

#include "harness.h"
#include "core/internal.h"
#include "io/chunk_codec.h"
#include "io/deflate_rle.h"
#include "io/h5.h"

static uint64_t rng = 88172645463325252ull;
static uint32_t next_u32(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}

/* Compresses, inflates with zlib, and compares; returns the compressed size (0 on failure). */
static size_t round_trip(const uint8_t *src, size_t n, const char *what) {
    const size_t cap = ax_deflate_rle_bound(n);
    uint8_t *packed = malloc(cap), *back = malloc(n + 1);
    void *work = malloc(AX_DEFLATE_RLE_WORK_BYTES);
    size_t m = packed && back && work ? ax_deflate_rle(src, n, packed, cap, work) : 0;
    th_checks++;
    if (m == 0) {
        TH_FAIL("%s (%zu bytes): the encoder reported no room", what, n);
    } else {
        uLongf out = (uLongf)n + 1;
        const int zs = uncompress(back, &out, packed, (uLong)m);
        th_checks++;
        if (zs != Z_OK) TH_FAIL("%s (%zu bytes): zlib's uncompress says %d", what, n, zs);
        else if (out != n || (n > 0 && memcmp(back, src, n) != 0)) TH_FAIL("%s (%zu bytes): inflated bytes differ", what, n);
        th_checks++;
        if (m > cap) TH_FAIL("%s: wrote %zu bytes past the bound %zu", what, m, cap);
    }
    free(packed);
    free(back);
    free(work);
    return m;
}

static void test_deflate_round_trips(void) {
    const size_t big = 3 * 65535 + 17;
    uint8_t *buf = malloc(big);
    char what[96];
    /* Sizes around the 65535-byte block, for several kinds of content. */
    const size_t sizes[] = {0, 1, 2, 3, 4, 5, 258, 259, 1000, 65534, 65535, 65536, 65537, 131070, big};
    for (int kind = 0; kind < 6; kind++) {
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            const size_t n = sizes[s];
            for (size_t i = 0; i < n; i++) {
                const uint32_t x = next_u32();
                switch (kind) {
                case 0: buf[i] = 0; break;                                     /* one long run */
                case 1: buf[i] = (uint8_t)x; break;                            /* incompressible */
                case 2: buf[i] = x % 10 == 1 ? 21 : (uint8_t)((x >> 8) % 20); break; /* MSA-like tokens */
                case 3: buf[i] = (i / 300) % 2 ? 21 : (uint8_t)(x % 4); break; /* runs crossing blocks */
                case 4: buf[i] = (uint8_t)(x % 7 == 0 ? x >> 24 : 0); break;   /* sparse deletions */
                default: {
                    /* Fibonacci-like frequencies: the optimal code is deeper than deflate's 15
                     * bits, so the length limit must act. */
                    uint32_t r = x % 1000000, sym = 0, f = 1, g = 1;
                    while (sym < 29 && r >= f) {
                        r -= f;
                        const uint32_t h = f + g;
                        f = g;
                        g = h;
                        sym++;
                    }
                    buf[i] = (uint8_t)(sym * 7);
                }
                }
            }
            snprintf(what, sizeof what, "content %d", kind);
            round_trip(buf, n, what);
        }
    }
    /* Compression does happen where there is something to compress. */
    memset(buf, 0, big);
    const size_t zeros = round_trip(buf, big, "zeros");
    CHECK(zeros > 0 && zeros < big / 50);
    free(buf);
}

/* The checksum HDF5's Fletcher-32 filter appends to a chunk of `n` bytes, read back raw. */
static int hdf5_fletcher(const uint8_t *data, size_t n, uint32_t *sum) {
    char path[128];
    snprintf(path, sizeof path, "/tmp/axial-fletcher-%ld.h5", (long)getpid());
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    const hsize_t dims = n;
    hid_t space = H5Screate_simple(1, &dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 1, &dims);
    H5Pset_fletcher32(dcpl);
    hid_t dset = H5Dcreate2(file, "d", H5T_STD_U8LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    int ok = dset >= 0 && H5Dwrite(dset, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0;
    uint8_t *raw = malloc(n + 4);
    const hsize_t origin = 0;
    uint32_t mask = 0;
    ok = ok && H5Dread_chunk(dset, H5P_DEFAULT, &origin, &mask, raw) >= 0 && memcmp(raw, data, n) == 0;
    if (ok) *sum = (uint32_t)raw[n] | (uint32_t)raw[n + 1] << 8 | (uint32_t)raw[n + 2] << 16 | (uint32_t)raw[n + 3] << 24;
    free(raw);
    H5Dclose(dset);
    H5Pclose(dcpl);
    H5Sclose(space);
    H5Fclose(file);
    unlink(path);
    return ok;
}

/* Both implementations (the dispatched one is AVX2 on x86-64 with AVX2) against HDF5's filter:
 * sizes around the 32-byte vector step and the 8 KiB segments of the AVX2 version. */
static void test_fletcher_matches_hdf5(void) {
    const size_t sizes[] = {1, 2, 3, 31, 32, 33, 719, 720, 721, 1441, 8191, 8192, 8193, 16417, 100000, 100001};
    uint8_t *buf = malloc(100001);
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        const size_t n = sizes[s];
        /* All 0xff maximises both sums (the fold's corner); random bytes are the common case; all
         * zeros is the one input whose sums are 0; sparse bytes are what MSA deletions look like. */
        for (int kind = 0; kind < 4; kind++) {
            for (size_t i = 0; i < n; i++) {
                const uint32_t r = next_u32();
                buf[i] = kind == 0 ? 0xff : kind == 1 ? (uint8_t)r : kind == 2 ? 0 : (r % 50 == 0 ? (uint8_t)(r >> 8) : 0);
            }
            uint32_t expected = 0;
            th_checks++;
            if (!hdf5_fletcher(buf, n, &expected)) {
                TH_FAIL("HDF5 could not write/read the reference chunk of %zu bytes", n);
                continue;
            }
            const uint32_t got = ax_fletcher32(buf, n), portable = ax_fletcher32_portable(buf, n);
            th_checks += 2;
            if (got != expected) TH_FAIL("%zu bytes (kind %d): fletcher32 %08x, HDF5 %08x", n, kind, got, expected);
            if (portable != expected)
                TH_FAIL("%zu bytes (kind %d): portable fletcher32 %08x, HDF5 %08x", n, kind, portable, expected);
        }
    }
    free(buf);
}

/* ax_h5_write_filled source: a slice of a prepared array; fails on request at `fail_at`. */
typedef struct slice_source {
    const uint8_t *data;
    size_t elem;
    int64_t fail_at;
    int64_t calls;
} slice_source;

static ax_status fill_slice(void *ctx, int64_t first, int64_t count, void *buf) {
    slice_source *s = ctx;
    s->calls++;
    if (s->fail_at >= 0 && first + count > s->fail_at) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "planned failure");
    memcpy(buf, s->data + (size_t)first * s->elem, (size_t)count * s->elem);
    return AX_OK;
}

static void test_direct_chunks_read_back(void) {
    char path[128];
    snprintf(path, sizeof path, "/tmp/axial-chunks-%ld.h5", (long)getpid());
    /* 1 MiB chunks: 3.5 chunks of bytes, and 1.3 chunks of int32 (the shuffle path). */
    const int64_t n8 = 3 * 1048576 + 524288 + 3, n32 = 340000;
    uint8_t *bytes = malloc((size_t)n8), *back8 = malloc((size_t)n8);
    int32_t *ints = malloc((size_t)n32 * 4), *back32 = malloc((size_t)n32 * 4);
    for (int64_t i = 0; i < n8; i++) bytes[i] = (uint8_t)(i % 977 < 40 ? 21 : next_u32() % 22);
    for (int64_t i = 0; i < n32; i++) ints[i] = (int32_t)(next_u32() % 5 == 0 ? next_u32() % 70000 : 0) - (i % 11 == 0);
    ax_h5 *h = NULL;
    CHECK_OK(ax_h5_create_atomic(path, &h));
    slice_source s8 = {bytes, 1, -1, 0}, s32 = {(const uint8_t *)ints, 4, -1, 0};
    CHECK_OK(ax_h5_write_filled(h, "/bytes", AX_U8, n8, fill_slice, &s8));
    CHECK_OK(ax_h5_write_filled(h, "/ints", AX_I32, n32, fill_slice, &s32));
    CHECK_OK(ax_h5_write_filled(h, "/tiny", AX_U8, 5, fill_slice, &s8));
    CHECK_OK(ax_h5_write_filled(h, "/empty", AX_U8, 0, fill_slice, &s8));
    /* A failing source stops the write with its own error. */
    slice_source bad = {bytes, 1, 2 * 1048576 + 5, 0};
    CHECK_STATUS(ax_h5_write_filled(h, "/bad", AX_U8, n8, fill_slice, &bad), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "planned failure");
    CHECK_OK(ax_h5_commit(h));

    h = NULL;
    CHECK_OK(ax_h5_open_read(path, &h));
    if (h != NULL) {
        CHECK_OK(ax_h5_read(h, "/bytes", AX_U8, 1, &n8, back8));
        CHECK(memcmp(back8, bytes, (size_t)n8) == 0);
        CHECK_OK(ax_h5_read(h, "/ints", AX_I32, 1, &n32, back32));
        CHECK(memcmp(back32, ints, (size_t)n32 * 4) == 0);
        const int64_t five = 5;
        CHECK_OK(ax_h5_read(h, "/tiny", AX_U8, 1, &five, back8));
        CHECK(memcmp(back8, bytes, 5) == 0);
        ax_h5_close(h);
    }
    unlink(path);
    free(bytes);
    free(back8);
    free(ints);
    free(back32);
}

int main(void) {
    RUN(test_deflate_round_trips);
    RUN(test_fletcher_matches_hdf5);
    RUN(test_direct_chunks_read_back);
    return th_finish();
}
