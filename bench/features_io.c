/*
 * features_io.c — throughput of the MSA path: A3M parsing alone, and the whole `features build`
 * (parse + features + compressed HDF5 write), on a generated alignment of 100,000 sequences x 500
 * match columns with insertions and gaps. Prints MB/s of A3M input, median of several runs after a
 * warm-up, next to the time to merely read the same bytes from memory (memchr over every line) as a
 * floor.
 *
 *   bench_features_io [--rows N] [--cols L] [--repeats R]
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "axial/features.h"
#include "axial/io.h"
#include "axial/store.h"
#include "bench_util.h"

static const char residues[] = "ACDEFGHIKLMNPQRSTVWY";

/* A3M text: a query of `cols` residues, then rows with ~10% gaps and ~5% lowercase insertions. */
static char *make_a3m(int64_t rows, int64_t cols, size_t *len) {
    const size_t cap = (size_t)rows * (size_t)(cols * 2 + 40) + 64;
    char *buf = malloc(cap);
    if (buf == NULL) return NULL;
    size_t n = 0;
    uint64_t state = 12345;
    for (int64_t r = 0; r < rows; r++) {
        n += (size_t)snprintf(buf + n, cap - n, ">seq%lld some description\n", (long long)r);
        for (int64_t c = 0; c < cols; c++) {
            state = state * 6364136223846793005ull + 1442695040888963407ull;
            const unsigned x = (unsigned)(state >> 33);
            if (r > 0 && x % 20 == 0) {
                /* an insertion of 1-3 lowercase residues before this column */
                for (unsigned k = 0; k <= x % 3; k++) buf[n++] = (char)(residues[(x >> 8) % 20] + 32);
            }
            buf[n++] = (r > 0 && x % 10 == 1) ? '-' : residues[(x >> 16) % 20];
        }
        buf[n++] = '\n';
    }
    *len = n;
    return buf;
}

int main(int argc, char **argv) {
    int64_t rows = 100000, cols = 500;
    int repeats = 5;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--rows") == 0 && i + 1 < argc) rows = atoll(argv[++i]);
        else if (strcmp(argv[i], "--cols") == 0 && i + 1 < argc) cols = atoll(argv[++i]);
        else if (strcmp(argv[i], "--repeats") == 0 && i + 1 < argc) repeats = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--rows N] [--cols L] [--repeats R]\n", argv[0]);
            return 2;
        }
    }
    size_t len = 0;
    char *a3m = make_a3m(rows, cols, &len);
    double *t_scan = calloc((size_t)repeats, sizeof(double)), *t_parse = calloc((size_t)repeats, sizeof(double));
    double *t_build = calloc((size_t)repeats, sizeof(double));
    double *t_features = calloc((size_t)repeats, sizeof(double)), *t_store = calloc((size_t)repeats, sizeof(double));
    if (a3m == NULL || !t_scan || !t_parse || !t_build || !t_features || !t_store) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    const double mb = (double)len / 1e6;
    printf("A3M of %lld sequences x %lld columns: %.1f MB, parse on one thread, median of %d after a warm-up\n",
           (long long)rows, (long long)cols, mb, repeats);
    char store[256];
    snprintf(store, sizeof store, "/tmp/axial-bench-%ld.h5", (long)getpid());
    size_t lines = 0;
    for (int r = -1; r < repeats; r++) {
        double t0 = bench_now();
        lines = 0;
        for (const char *p = a3m; (p = memchr(p, '\n', len - (size_t)(p - a3m))) != NULL; p++) lines++;
        double t1 = bench_now();
        ax_msa *msa = NULL;
        if (ax_a3m_parse(a3m, len, "generated.a3m", &msa) != AX_OK) {
            fprintf(stderr, "parse: %s\n", ax_last_error());
            return 1;
        }
        double t2 = bench_now();
        ax_msa_destroy(msa);
        /* The whole `features build` path from the same bytes. */
        double t3 = bench_now();
        ax_chain_features *f = NULL;
        ax_store_writer *w = NULL;
        ax_status st = ax_a3m_parse(a3m, len, "generated.a3m", &msa);
        const double t3a = bench_now();
        if (st == AX_OK) st = ax_chain_features_create(msa, NULL, 0.0, &f);
        const double t3b = bench_now();
        if (st == AX_OK) st = ax_store_begin(store, 0, &w);
        if (st == AX_OK) st = ax_store_add_chain(w, "generated", f, "generated.a3m");
        if (st == AX_OK) st = ax_store_commit(w);
        if (st != AX_OK) {
            fprintf(stderr, "build: %s\n", ax_last_error());
            return 1;
        }
        double t4 = bench_now();
        ax_msa_destroy(msa);
        ax_chain_features_destroy(f);
        if (r >= 0) {
            t_scan[r] = t1 - t0;
            t_parse[r] = t2 - t1;
            t_build[r] = t4 - t3;
            t_features[r] = t3b - t3a;
            t_store[r] = t4 - t3b;
        }
    }
    struct stat sb;
    const double store_mb = stat(store, &sb) == 0 ? (double)sb.st_size / 1e6 : 0.0;
    unlink(store);
    const double scan = bench_median(t_scan, repeats), parse = bench_median(t_parse, repeats);
    const double build = bench_median(t_build, repeats);
    printf("%-44s %9s %9s\n", "step", "ms", "MB/s");
    printf("%-44s %9.1f %9.0f   (%zu lines; the floor)\n", "scan lines (memchr)", scan * 1e3, mb / scan, lines);
    printf("%-44s %9.1f %9.0f   (target >= 200)\n", "A3M parse (ax_a3m_parse)", parse * 1e3, mb / parse);
    printf("%-44s %9.1f %9.0f   (target >= 50)\n", "features build (parse + features + HDF5)", build * 1e3, mb / build);
    printf("%-44s %9.1f\n", "  of which features (ax_chain_features_create)", bench_median(t_features, repeats) * 1e3);
    printf("%-44s %9.1f\n", "  of which store write (begin, add, commit)", bench_median(t_store, repeats) * 1e3);
    printf("store file: %.1f MB for %.1f MB of tokens and deletion counts (one byte each)\n", store_mb,
           2.0 * (double)rows * (double)cols / 1e6);
    free(a3m);
    free(t_scan);
    free(t_parse);
    free(t_build);
    free(t_features);
    free(t_store);
    return 0;
}
