/*
 * test_fletcher32.c — the store's own Fletcher-32 (used to verify chunks read with H5Dread_chunk,
 * past HDF5's filters) against the independent reference: the checksum HDF5's Fletcher-32 filter
 * appends to a chunk, for the AVX2 and the portable implementation.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <hdf5.h>
#include <unistd.h>

#include "harness.h"
#include "io/fletcher32.h"

static uint64_t rng = 88172645463325252ull;
static uint32_t next_u32(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
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

int main(void) {
    RUN(test_fletcher_matches_hdf5);
    return th_finish();
}
