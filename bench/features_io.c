/*
 * features_io.c — throughput of the MSA path: A3M parsing alone, and the whole `features build`
 * (parse + features + compressed HDF5 write), on a generated alignment of 100,000 sequences x 500
 * match columns with insertions and gaps. Prints MB/s of A3M input, median of several runs after a
 * warm-up, next to the time to merely read the same bytes from memory (memchr over every line) as a
 * floor.
 *
 * Then merging: `features build` from two generated A3M files of 20,000 rows x 300 columns (in a
 * temporary folder, read from disk as the command line does) against building from the first alone,
 * the baseline, with the ratio of the two (issue 12 asks for at most 2). The second file repeats a
 * quarter of the first one's rows and each repeats about 5% of its own, so deduplication has work.
 *
 *   bench_features_io [--rows N] [--cols L] [--repeats R] [--merge-rows N] [--merge-cols L]
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

/* ---- merging two alignments ------------------------------------------------------------------ */

static uint64_t next_random(uint64_t *state) {
    *state = *state * 6364136223846793005ull + 1442695040888963407ull;
    return *state >> 33;
}

/* Match-column letters of an alignment, (rows, cols): row 0 is the query; each other row is the
 * query with about 30% substitutions and 10% gaps, except that about `self_percent` of them copy an
 * earlier row of the same alignment and `other_percent` a row of `other` (other_rows rows) -- the
 * same hit under two names, or found by two searches. */
static char *make_rows(int64_t rows, int64_t cols, const char *query, const char *other, int64_t other_rows,
                       unsigned self_percent, unsigned other_percent, uint64_t *state) {
    char *letters = malloc((size_t)(rows * cols));
    if (letters == NULL) return NULL;
    memcpy(letters, query, (size_t)cols);
    for (int64_t r = 1; r < rows; r++) {
        char *row = letters + r * cols;
        const unsigned pick = (unsigned)(next_random(state) % 100);
        if (pick < self_percent && r > 1) {
            memcpy(row, letters + (1 + (int64_t)(next_random(state) % (uint64_t)(r - 1))) * cols, (size_t)cols);
        } else if (pick < self_percent + other_percent && other != NULL) {
            memcpy(row, other + (1 + (int64_t)(next_random(state) % (uint64_t)(other_rows - 1))) * cols, (size_t)cols);
        } else {
            for (int64_t c = 0; c < cols; c++) {
                const unsigned x = (unsigned)(next_random(state) % 100);
                row[c] = x < 10 ? '-' : x < 40 ? residues[next_random(state) % 20] : query[c];
            }
        }
    }
    return letters;
}

/* Writes the rows as an A3M file, with 1-3 lower-case insertions before about 5% of the columns of
 * rows other than the query (drawn afresh for each row, so copies may differ in their insertions
 * only, which still makes them duplicates). Returns the file size, or -1. */
static long write_a3m(const char *path, const char *letters, int64_t rows, int64_t cols, const char *prefix,
                      uint64_t *state) {
    FILE *f = fopen(path, "w");
    if (f == NULL) return -1;
    for (int64_t r = 0; r < rows; r++) {
        fprintf(f, ">%s_%lld generated\n", prefix, (long long)r);
        for (int64_t c = 0; c < cols; c++) {
            if (r > 0 && next_random(state) % 20 == 0) {
                const unsigned n = 1 + (unsigned)(next_random(state) % 3);
                for (unsigned k = 0; k < n; k++) fputc(residues[next_random(state) % 20] + 32, f);
            }
            fputc(letters[r * cols + c], f);
        }
        fputc('\n', f);
    }
    const long size = ftell(f);
    return fclose(f) == 0 ? size : -1;
}

typedef struct build_times {
    double read, features, store, total;
    int64_t rows_kept;
} build_times;

/* `axial features build --a3m paths[0] [--a3m paths[1]] -o store`, timed in its three steps. */
static int build_store(const char *const *paths, int num_paths, const char *store, build_times *t) {
    ax_msa *msas[2] = {NULL, NULL};
    ax_chain_features *f = NULL;
    ax_store_writer *w = NULL;
    const double t0 = bench_now();
    ax_status st = AX_OK;
    for (int m = 0; m < num_paths && st == AX_OK; m++) st = ax_a3m_read(paths[m], &msas[m]);
    const double t1 = bench_now();
    if (st == AX_OK) st = ax_chain_features_from_msas((const ax_msa *const *)msas, num_paths, NULL, 0.0, NULL, &f);
    const double t2 = bench_now();
    if (st == AX_OK) st = ax_store_begin(store, 0, &w);
    if (st == AX_OK) st = ax_store_add_chain(w, "merged", f, "generated");
    if (st == AX_OK) st = ax_store_commit(w);
    else ax_store_abort(w);
    const double t3 = bench_now();
    if (st != AX_OK) fprintf(stderr, "merge build: %s\n", ax_last_error());
    t->read = t1 - t0;
    t->features = t2 - t1;
    t->store = t3 - t2;
    t->total = t3 - t0;
    t->rows_kept = f != NULL ? f->num_alignments : 0;
    ax_chain_features_destroy(f);
    for (int m = 0; m < num_paths; m++) ax_msa_destroy(msas[m]);
    return st == AX_OK ? 0 : 1;
}

static int bench_merge(int64_t rows, int64_t cols, int repeats) {
    char dir[] = "/tmp/axial-bench-merge-XXXXXX";
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    char path_a[64], path_b[64], store[64];
    snprintf(path_a, sizeof path_a, "%s/a.a3m", dir);
    snprintf(path_b, sizeof path_b, "%s/b.a3m", dir);
    snprintf(store, sizeof store, "%s/s.h5", dir);
    uint64_t state = 2026;
    char *query = malloc((size_t)cols);
    for (int64_t c = 0; query != NULL && c < cols; c++) query[c] = residues[next_random(&state) % 20];
    char *a = query ? make_rows(rows, cols, query, NULL, 0, 5, 0, &state) : NULL;
    char *b = a ? make_rows(rows, cols, query, a, rows, 5, 25, &state) : NULL;
    const long size_a = b ? write_a3m(path_a, a, rows, cols, "a", &state) : -1;
    const long size_b = size_a >= 0 ? write_a3m(path_b, b, rows, cols, "b", &state) : -1;
    build_times *one = calloc((size_t)repeats, sizeof *one), *two = calloc((size_t)repeats, sizeof *two);
    int rc = size_b < 0 || one == NULL || two == NULL;
    if (rc) fprintf(stderr, "merge: could not generate the inputs in %s\n", dir);
    const char *const paths[2] = {path_a, path_b};
    for (int r = -1; r < repeats && rc == 0; r++) {
        build_times t1, t2;
        rc = build_store(paths, 1, store, &t1) || build_store(paths, 2, store, &t2);
        if (r >= 0) {
            one[r] = t1;
            two[r] = t2;
        }
    }
    if (rc == 0) {
        printf("\nmerge: A3M files of %lld rows x %lld columns (%.1f and %.1f MB; the second repeats ~25%% of the\n"
               "first one's rows, each ~5%% of its own), `features build` from the first alone vs from both,\n"
               "median of %d after a warm-up\n",
               (long long)rows, (long long)cols, size_a / 1e6, size_b / 1e6, repeats);
        printf("%-44s %10s %10s %7s\n", "step", "one (ms)", "two (ms)", "ratio");
        static const char *const names[4] = {"read A3M (ax_a3m_read)", "features (ax_chain_features_from_msas)",
                                             "store write (begin, add, commit)", "total"};
        double *x = malloc((size_t)repeats * sizeof *x), *y = malloc((size_t)repeats * sizeof *y);
        for (int step = 0; x != NULL && y != NULL && step < 4; step++) {
            for (int r = 0; r < repeats; r++) {
                x[r] = step == 0 ? one[r].read : step == 1 ? one[r].features : step == 2 ? one[r].store : one[r].total;
                y[r] = step == 0 ? two[r].read : step == 1 ? two[r].features : step == 2 ? two[r].store : two[r].total;
            }
            const double mx = bench_median(x, repeats), my = bench_median(y, repeats);
            printf("%-44s %10.1f %10.1f %7.2f%s\n", names[step], mx * 1e3, my * 1e3, my / mx,
                   step == 3 ? "   (target <= 2)" : "");
        }
        printf("rows kept: %lld of %lld from one file, %lld of %lld from both\n", (long long)one[0].rows_kept,
               (long long)rows, (long long)two[0].rows_kept, (long long)(2 * rows));
        free(x);
        free(y);
    }
    unlink(path_a);
    unlink(path_b);
    unlink(store);
    rmdir(dir);
    free(query);
    free(a);
    free(b);
    free(one);
    free(two);
    return rc;
}

int main(int argc, char **argv) {
    int64_t rows = 100000, cols = 500, merge_rows = 20000, merge_cols = 300;
    int repeats = 5;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--rows") == 0 && i + 1 < argc) rows = atoll(argv[++i]);
        else if (strcmp(argv[i], "--cols") == 0 && i + 1 < argc) cols = atoll(argv[++i]);
        else if (strcmp(argv[i], "--repeats") == 0 && i + 1 < argc) repeats = atoi(argv[++i]);
        else if (strcmp(argv[i], "--merge-rows") == 0 && i + 1 < argc) merge_rows = atoll(argv[++i]);
        else if (strcmp(argv[i], "--merge-cols") == 0 && i + 1 < argc) merge_cols = atoll(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--rows N] [--cols L] [--repeats R] [--merge-rows N] [--merge-cols L]\n",
                    argv[0]);
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
    return merge_rows >= 2 && merge_cols >= 1 ? bench_merge(merge_rows, merge_cols, repeats) : 0;
}
