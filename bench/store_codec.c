/*
 * store_codec.c — the feature store's chunk compressor (src/io/deflate_rle.c) next to zlib level 1,
 * which is what HDF5's deflate filter would run, on the same bytes in the same run: MSA tokens of a
 * generated alignment (as bench_features_io makes them) and of the real tests/data/query.a3m.
 * Prints MB/s of input (median of several runs after a warm-up) and the compression ratio; each
 * output is inflated with zlib and compared before it counts.
 *
 *   bench_store_codec [path/to/query.a3m]
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "axial/features.h"
#include "axial/io.h"
#include "bench_util.h"
#include "io/deflate_rle.h"

enum { RUNS = 7 };

static void compare(const char *name, const uint8_t *src, size_t n) {
    const size_t cap = compressBound((uLong)n) + ax_deflate_rle_bound(n);
    uint8_t *out = malloc(cap), *back = malloc(n);
    void *work = malloc(AX_DEFLATE_RLE_WORK_BYTES);
    double t_zlib[RUNS], t_axial[RUNS];
    size_t zlib_size = 0, axial_size = 0;
    int ok = out && back && work;
    for (int r = -1; ok && r < RUNS; r++) {
        double t0 = bench_now();
        uLongf m = (uLongf)cap;
        ok = compress2(out, &m, src, (uLong)n, 1) == Z_OK;
        double t1 = bench_now();
        zlib_size = m;
        const size_t a = ax_deflate_rle(src, n, out, cap, work);
        double t2 = bench_now();
        axial_size = a;
        uLongf back_n = (uLongf)n;
        ok = ok && a > 0 && uncompress(back, &back_n, out, (uLong)a) == Z_OK && back_n == n && memcmp(back, src, n) == 0;
        if (r >= 0) {
            t_zlib[r] = t1 - t0;
            t_axial[r] = t2 - t1;
        }
    }
    if (!ok) {
        printf("%-34s FAILED (compression or round trip)\n", name);
    } else {
        const double mb = (double)n / 1e6;
        printf("%-34s %8.1f %10.0f %7.2f %10.0f %7.2f\n", name, mb, mb / bench_median(t_zlib, RUNS),
               (double)n / (double)zlib_size, mb / bench_median(t_axial, RUNS), (double)n / (double)axial_size);
    }
    free(out);
    free(back);
    free(work);
}

/* One byte per MSA entry, row-major, as the store keeps msa/tokens. */
static uint8_t *tokens_of(const ax_msa *msa, size_t *n) {
    ax_chain_features *f = NULL;
    if (ax_chain_features_create(msa, NULL, 0.0, &f) != AX_OK) return NULL;
    *n = (size_t)(f->num_alignments * f->seq_length);
    uint8_t *t = malloc(*n);
    for (size_t i = 0; t != NULL && i < *n; i++) t[i] = (uint8_t)f->msa[i];
    ax_chain_features_destroy(f);
    return t;
}

int main(int argc, char **argv) {
    printf("single thread, median of %d after a warm-up; ratio = input / output\n", RUNS);
    printf("%-34s %8s %10s %7s %10s %7s\n", "input", "MB", "zlib1 MB/s", "ratio", "axial MB/s", "ratio");
    /* Generated: 20,000 rows x 500 columns, 10% gaps, uniform residues (bench_features_io's kind). */
    const size_t rows = 20000, cols = 500, n = rows * cols;
    uint8_t *gen = malloc(n);
    uint64_t state = 12345;
    for (size_t i = 0; gen != NULL && i < n; i++) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        const unsigned x = (unsigned)(state >> 33);
        gen[i] = (uint8_t)(x % 10 == 1 ? 21 : (x >> 16) % 20);
    }
    if (gen != NULL) compare("generated tokens (20000 x 500)", gen, n);
    free(gen);
    const char *path = argc > 1 ? argv[1] : "tests/data/query.a3m";
    ax_msa *msa = NULL;
    if (ax_a3m_read(path, &msa) == AX_OK) {
        size_t m = 0;
        uint8_t *real = tokens_of(msa, &m);
        if (real != NULL) compare("query.a3m tokens (59 x 431)", real, m);
        free(real);
        ax_msa_destroy(msa);
    } else {
        printf("%s: %s (skipped)\n", path, ax_last_error());
    }
    return 0;
}
