/*
 * test_store.c — the HDF5 feature store: round trips of real features, appends, atomic writes (also
 * against kill -9), schema and shape validation, error messages, and the on-disk layout as h5dump
 * shows it.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "axial/io.h"
#include "axial/store.h"
#include "harness.h"
#include "io/h5.h"

static char dir[256];

static void path_in_dir(char *buf, size_t size, const char *name) { snprintf(buf, size, "%s/%s", dir, name); }

static int file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* Files in the scratch directory whose names start with `prefix` (temporaries included). */
static int count_files(const char *prefix) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "ls -1 '%s' | grep -c '^%s' || true", dir, prefix);
    FILE *p = popen(cmd, "r");
    int n = 0;
    if (p != NULL) {
        if (fscanf(p, "%d", &n) != 1) n = -1;
        pclose(p);
    }
    return n;
}

static ax_chain_features *features_from_a3m(void) {
    ax_msa *msa = NULL;
    ax_chain_features *f = NULL;
    CHECK_OK(ax_a3m_read(AXIAL_TEST_DATA "/query.a3m", &msa));
    if (msa != NULL) CHECK_OK(ax_chain_features_create(msa, NULL, 0.0, &f));
    ax_msa_destroy(msa);
    return f;
}

static ax_chain_features *features_from_1cbs(void) {
    ax_structure *s = NULL;
    ax_chain_features *f = NULL;
    CHECK_OK(ax_mmcif_read(AXIAL_TEST_DATA "/1cbs.cif.gz", &s));
    if (s != NULL) CHECK_OK(ax_chain_features_create(NULL, &s->chains[0], s->resolution, &f));
    ax_structure_destroy(s);
    return f;
}

static int features_equal(const ax_chain_features *a, const ax_chain_features *b) {
    if (a->seq_length != b->seq_length || a->num_alignments != b->num_alignments) return 0;
    const size_t L = (size_t)a->seq_length, NL = (size_t)(a->num_alignments * a->seq_length);
    if (strcmp(a->sequence, b->sequence) != 0) return 0;
    if (memcmp(a->aatype, b->aatype, L * 4) || memcmp(a->residue_index, b->residue_index, L * 4)) return 0;
    if (memcmp(a->msa, b->msa, NL * 4) || memcmp(a->deletion_matrix, b->deletion_matrix, NL * 4)) return 0;
    if ((a->all_atom_positions == NULL) != (b->all_atom_positions == NULL)) return 0;
    if (a->all_atom_positions != NULL) {
        if (memcmp(a->all_atom_positions, b->all_atom_positions, L * 37 * 3 * 4)) return 0;
        if (memcmp(a->all_atom_mask, b->all_atom_mask, L * 37 * 4)) return 0;
        if (a->resolution != b->resolution) return 0;
    }
    return 1;
}

static void write_two_chains(const char *path, ax_chain_features *a3m, ax_chain_features *cbs) {
    ax_store_writer *w = NULL;
    CHECK_OK(ax_store_begin(path, 0, &w));
    CHECK_OK(ax_store_add_chain(w, "FAM69B_HUMAN", a3m, "query.a3m"));
    CHECK_OK(ax_store_add_chain(w, "1cbs_A", cbs, "1cbs.cif.gz:A"));
    CHECK_OK(ax_store_commit(w));
}

static void test_round_trip(void) {
    ax_chain_features *a3m = features_from_a3m(), *cbs = features_from_1cbs();
    if (a3m == NULL || cbs == NULL) return;
    char path[512];
    path_in_dir(path, sizeof path, "round.h5");
    write_two_chains(path, a3m, cbs);
    CHECK_INT_EQ(count_files("round.h5.tmp"), 0);
    ax_store *s = NULL;
    CHECK_OK(ax_store_open(path, &s));
    if (s == NULL) return;
    CHECK_INT_EQ(ax_store_num_chains(s), 2);
    CHECK_STR_EQ(ax_store_chain_name(s, 0), "1cbs_A"); /* sorted */
    CHECK_STR_EQ(ax_store_chain_name(s, 1), "FAM69B_HUMAN");
    ax_store_chain_info info;
    CHECK_OK(ax_store_chain_info_get(s, "FAM69B_HUMAN", &info));
    CHECK_INT_EQ(info.seq_length, 431);   /* the A3M's match columns */
    CHECK_INT_EQ(info.num_alignments, 59); /* its sequences */
    CHECK_INT_EQ(info.has_structure, 0);
    CHECK_STR_EQ(info.sources, "query.a3m");
    CHECK_OK(ax_store_chain_info_get(s, "1cbs_A", &info));
    CHECK_INT_EQ(info.seq_length, 137);
    CHECK(info.has_structure && info.resolution == 1.8);
    ax_chain_features *back = NULL;
    CHECK_OK(ax_store_read_chain(s, "FAM69B_HUMAN", &back));
    CHECK(back != NULL && features_equal(a3m, back));
    ax_chain_features_destroy(back);
    CHECK_OK(ax_store_read_chain(s, "1cbs_A", &back));
    CHECK(back != NULL && features_equal(cbs, back));
    ax_chain_features_destroy(back);
    CHECK_STATUS(ax_store_read_chain(s, "nope", &back), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "no chain 'nope'");
    ax_store_close(s);
    ax_chain_features_destroy(a3m);
    ax_chain_features_destroy(cbs);
}

static void test_append_keeps_chains(void) {
    ax_chain_features *a3m = features_from_a3m(), *cbs = features_from_1cbs();
    if (a3m == NULL || cbs == NULL) return;
    char path[512];
    path_in_dir(path, sizeof path, "append.h5");
    ax_store_writer *w = NULL;
    CHECK_OK(ax_store_begin(path, 0, &w));
    CHECK_OK(ax_store_add_chain(w, "first", a3m, "query.a3m"));
    CHECK_OK(ax_store_commit(w));
    CHECK_OK(ax_store_begin(path, 1, &w));
    CHECK_STATUS(ax_store_add_chain(w, "first", cbs, NULL), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "chain 'first' is already in");
    CHECK_OK(ax_store_add_chain(w, "second", cbs, NULL));
    CHECK_OK(ax_store_commit(w));
    ax_store *s = NULL;
    CHECK_OK(ax_store_open(path, &s));
    if (s == NULL) return;
    CHECK_INT_EQ(ax_store_num_chains(s), 2);
    ax_chain_features *back = NULL;
    CHECK_OK(ax_store_read_chain(s, "first", &back));
    CHECK(back != NULL && features_equal(a3m, back));
    ax_chain_features_destroy(back);
    ax_store_close(s);
    ax_chain_features_destroy(a3m);
    ax_chain_features_destroy(cbs);
}

static void test_abort_and_errors_leave_nothing(void) {
    ax_chain_features *a3m = features_from_a3m();
    if (a3m == NULL) return;
    char path[512];
    path_in_dir(path, sizeof path, "aborted.h5");
    ax_store_writer *w = NULL;
    CHECK_OK(ax_store_begin(path, 0, &w));
    CHECK_OK(ax_store_add_chain(w, "x", a3m, NULL));
    ax_store_abort(w);
    CHECK(!file_exists(path));
    CHECK_INT_EQ(count_files("aborted.h5"), 0);
    /* A directory that does not exist. */
    char missing[600];
    snprintf(missing, sizeof missing, "%s/no/such/dir/s.h5", dir);
    CHECK_STATUS(ax_store_begin(missing, 0, &w), AX_ERR_IO);
    CHECK_CONTAINS(ax_last_error(), missing);
    CHECK(w == NULL);
    /* Bad names. */
    CHECK_OK(ax_store_begin(path, 0, &w));
    CHECK_STATUS(ax_store_add_chain(w, "a/b", a3m, NULL), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "has '/' at 2");
    CHECK_STATUS(ax_store_add_chain(w, "", a3m, NULL), AX_ERR_INVALID_ARGUMENT);
    ax_store_abort(w);
    CHECK(!file_exists(path));
    ax_chain_features_destroy(a3m);
}

static void test_rejects_what_is_not_a_store(void) {
    char path[512];
    ax_store *s = NULL;
    path_in_dir(path, sizeof path, "text.h5");
    FILE *f = fopen(path, "w");
    fputs("not hdf5\n", f);
    fclose(f);
    CHECK_STATUS(ax_store_open(path, &s), AX_ERR_FORMAT);
    CHECK_CONTAINS(ax_last_error(), "not an HDF5 file");
    path_in_dir(path, sizeof path, "missing.h5");
    CHECK_STATUS(ax_store_open(path, &s), AX_ERR_IO);
    CHECK_CONTAINS(ax_last_error(), "missing.h5");

    /* Valid HDF5, but no schema attribute; then a future schema version. */
    path_in_dir(path, sizeof path, "plain.h5");
    ax_h5 *h = NULL;
    CHECK_OK(ax_h5_create_atomic(path, &h));
    CHECK_OK(ax_h5_commit(h));
    CHECK_STATUS(ax_store_open(path, &s), AX_ERR_FORMAT);
    CHECK_CONTAINS(ax_last_error(), "not an Axial feature store");
    CHECK_OK(ax_h5_create_atomic(path, &h));
    CHECK_OK(ax_h5_set_attr_int(h, "/", "axial_schema_version", 99));
    CHECK_OK(ax_h5_create_group(h, "/chains"));
    CHECK_OK(ax_h5_commit(h));
    CHECK_STATUS(ax_store_open(path, &s), AX_ERR_FORMAT);
    CHECK_CONTAINS(ax_last_error(), "schema version 99");
}

/* A store whose datasets disagree with the schema: the reader names the dataset. */
static void test_rejects_bad_shapes_and_values(void) {
    char path[512];
    path_in_dir(path, sizeof path, "bad.h5");
    ax_h5 *h = NULL;
    CHECK_OK(ax_h5_create_atomic(path, &h));
    CHECK_OK(ax_h5_set_attr_int(h, "/", "axial_schema_version", AX_STORE_SCHEMA_VERSION));
    CHECK_OK(ax_h5_create_group(h, "/chains/c"));
    CHECK_OK(ax_h5_set_attr_string(h, "/chains/c", "sources", ""));
    const int64_t L = 3, N = 1, one = 1, three = 3;
    const int64_t short_shape[1] = {2}, flat[1] = {3}, off_shape[1] = {2};
    const int32_t aatype[3] = {0, 1, 2}, msa[3] = {0, 1, 25}, dels[3] = {0, 0, 0};
    const int64_t offsets[2] = {0, 3};
    (void)L; (void)N;
    CHECK_OK(ax_h5_write(h, "/chains/c/seq_length", AX_I64, 0, NULL, &three));
    CHECK_OK(ax_h5_write(h, "/chains/c/num_alignments", AX_I64, 0, NULL, &one));
    CHECK_OK(ax_h5_write_string(h, "/chains/c/sequence", "ARN"));
    CHECK_OK(ax_h5_write(h, "/chains/c/aatype", AX_I32, 1, short_shape, aatype)); /* wrong length */
    CHECK_OK(ax_h5_write(h, "/chains/c/residue_index", AX_I32, 1, flat, aatype));
    CHECK_OK(ax_h5_write(h, "/chains/c/msa/tokens", AX_I32, 1, flat, msa)); /* 25 is out of range */
    CHECK_OK(ax_h5_write(h, "/chains/c/msa/deletions", AX_I32, 1, flat, dels));
    CHECK_OK(ax_h5_write(h, "/chains/c/msa/row_offsets", AX_I64, 1, off_shape, offsets));
    CHECK_OK(ax_h5_commit(h));
    ax_store *s = NULL;
    CHECK_OK(ax_store_open(path, &s));
    if (s == NULL) return;
    ax_chain_features *f = NULL;
    CHECK_STATUS(ax_store_read_chain(s, "c", &f), AX_ERR_FORMAT);
    CHECK_CONTAINS(ax_last_error(), "dataset /chains/c/aatype dim 0 is 2, expected 3");
    CHECK(f == NULL);
    ax_store_close(s);
}

/* Deletion counts that do not fit a byte are stored as int32, the others as uint8; both read back. */
/* A store whose shapes are right but whose values are not: a token past the gap (21) and, with
 * int32 deletions, a negative count. Each is named with its flat index. */
static void test_rejects_out_of_range_values(void) {
    for (int which = 0; which < 2; which++) {
        char path[512];
        path_in_dir(path, sizeof path, which == 0 ? "bad_token.h5" : "bad_deletion.h5");
        ax_h5 *h = NULL;
        CHECK_OK(ax_h5_create_atomic(path, &h));
        CHECK_OK(ax_h5_set_attr_int(h, "/", "axial_schema_version", AX_STORE_SCHEMA_VERSION));
        CHECK_OK(ax_h5_create_group(h, "/chains/c"));
        CHECK_OK(ax_h5_set_attr_string(h, "/chains/c", "sources", ""));
        const int64_t one = 1, three = 3, flat[1] = {3}, off_shape[1] = {2}, offsets[2] = {0, 3};
        const int32_t aatype[3] = {0, 1, 2}, dels[3] = {0, -1, 0};
        const uint8_t tokens_bad[3] = {0, 1, 25}, tokens_ok[3] = {0, 1, 21}, dels_ok[3] = {0, 0, 0};
        CHECK_OK(ax_h5_write(h, "/chains/c/seq_length", AX_I64, 0, NULL, &three));
        CHECK_OK(ax_h5_write(h, "/chains/c/num_alignments", AX_I64, 0, NULL, &one));
        CHECK_OK(ax_h5_write_string(h, "/chains/c/sequence", "ARN"));
        CHECK_OK(ax_h5_write(h, "/chains/c/aatype", AX_I32, 1, flat, aatype));
        CHECK_OK(ax_h5_write(h, "/chains/c/residue_index", AX_I32, 1, flat, aatype));
        CHECK_OK(ax_h5_write(h, "/chains/c/msa/tokens", AX_U8, 1, flat, which == 0 ? tokens_bad : tokens_ok));
        if (which == 0) CHECK_OK(ax_h5_write(h, "/chains/c/msa/deletions", AX_U8, 1, flat, dels_ok));
        else CHECK_OK(ax_h5_write(h, "/chains/c/msa/deletions", AX_I32, 1, flat, dels));
        CHECK_OK(ax_h5_write(h, "/chains/c/msa/row_offsets", AX_I64, 1, off_shape, offsets));
        CHECK_OK(ax_h5_commit(h));
        ax_store *s = NULL;
        CHECK_OK(ax_store_open(path, &s));
        if (s == NULL) return;
        ax_chain_features *f = NULL;
        CHECK_STATUS(ax_store_read_chain(s, "c", &f), AX_ERR_FORMAT);
        CHECK_CONTAINS(ax_last_error(), which == 0 ? "chain c msa token 2 is 25, outside 0..21"
                                                   : "chain c deletion 1 is negative");
        CHECK(f == NULL);
        ax_store_close(s);
    }
}

static void test_wide_deletions_round_trip(void) {
    char path[512];
    path_in_dir(path, sizeof path, "wide.h5");
    ax_chain_features *narrow = NULL, *wide = NULL;
    CHECK_OK(ax_chain_features_alloc(4, 2, 0, &narrow));
    CHECK_OK(ax_chain_features_alloc(4, 2, 0, &wide));
    if (narrow == NULL || wide == NULL) return;
    for (int i = 0; i < 8; i++) {
        narrow->deletion_matrix[i] = i * 30;  /* up to 210: fits a byte */
        wide->deletion_matrix[i] = i * 1000;  /* up to 7000: needs int32 */
        narrow->msa[i] = wide->msa[i] = i % 22;
    }
    ax_store_writer *w = NULL;
    CHECK_OK(ax_store_begin(path, 0, &w));
    CHECK_OK(ax_store_add_chain(w, "narrow", narrow, NULL));
    CHECK_OK(ax_store_add_chain(w, "wide", wide, NULL));
    CHECK_OK(ax_store_commit(w));
    ax_store *s = NULL;
    CHECK_OK(ax_store_open(path, &s));
    if (s == NULL) return;
    ax_chain_features *back = NULL;
    CHECK_OK(ax_store_read_chain(s, "narrow", &back));
    CHECK(back != NULL && features_equal(narrow, back));
    ax_chain_features_destroy(back);
    CHECK_OK(ax_store_read_chain(s, "wide", &back));
    CHECK(back != NULL && features_equal(wide, back));
    ax_chain_features_destroy(back);
    ax_store_close(s);
    ax_chain_features_destroy(narrow);
    ax_chain_features_destroy(wide);
}

/* A writer killed with SIGKILL in the middle of appending leaves the previous store readable and
 * unchanged. */
static void test_kill_midway_keeps_previous_store(void) {
    ax_chain_features *a3m = features_from_a3m();
    if (a3m == NULL) return;
    char path[512];
    path_in_dir(path, sizeof path, "killed.h5");
    ax_store_writer *w = NULL;
    CHECK_OK(ax_store_begin(path, 0, &w));
    CHECK_OK(ax_store_add_chain(w, "kept", a3m, "query.a3m"));
    CHECK_OK(ax_store_commit(w));

    int ready[2];
    CHECK(pipe(ready) == 0);
    const pid_t child = fork();
    if (child == 0) {
        close(ready[0]);
        ax_store_writer *cw = NULL;
        if (ax_store_begin(path, 1, &cw) != AX_OK) _exit(1);
        char name[32];
        for (int i = 0;; i++) { /* keeps writing until killed */
            snprintf(name, sizeof name, "extra%d", i);
            if (ax_store_add_chain(cw, name, a3m, NULL) != AX_OK) _exit(2);
            if (i == 3 && write(ready[1], "x", 1) != 1) _exit(3);
        }
    }
    close(ready[1]);
    char byte;
    CHECK(read(ready[0], &byte, 1) == 1); /* the child is mid-write */
    close(ready[0]);
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

    ax_store *s = NULL;
    CHECK_OK(ax_store_open(path, &s));
    if (s != NULL) {
        CHECK_INT_EQ(ax_store_num_chains(s), 1);
        ax_chain_features *back = NULL;
        CHECK_OK(ax_store_read_chain(s, "kept", &back));
        CHECK(back != NULL && features_equal(a3m, back));
        ax_chain_features_destroy(back);
        ax_store_close(s);
    }
    ax_chain_features_destroy(a3m);
}

/* The documented layout, as an independent tool sees it. */
static void test_layout_in_h5dump(void) {
    if (system("command -v h5dump > /dev/null 2>&1") != 0) {
        printf("  (h5dump not installed: skipped)\n");
        return;
    }
    ax_chain_features *a3m = features_from_a3m(), *cbs = features_from_1cbs();
    if (a3m == NULL || cbs == NULL) return;
    char path[512], cmd[700];
    path_in_dir(path, sizeof path, "layout.h5");
    write_two_chains(path, a3m, cbs);
    snprintf(cmd, sizeof cmd, "h5dump -p -H '%s'", path);
    FILE *p = popen(cmd, "r");
    static char out[1 << 20];
    size_t n = p != NULL ? fread(out, 1, sizeof out - 1, p) : 0;
    out[n] = '\0';
    if (p != NULL) pclose(p);
    CHECK_CONTAINS(out, "ATTRIBUTE \"axial_schema_version\"");
    CHECK_CONTAINS(out, "GROUP \"chains\"");
    CHECK_CONTAINS(out, "GROUP \"FAM69B_HUMAN\"");
    CHECK_CONTAINS(out, "DATASET \"row_offsets\"");
    CHECK_CONTAINS(out, "DATASPACE  SIMPLE { ( 25429 ) / ( 25429 ) }"); /* 59 x 431 tokens, flat */
    CHECK_CONTAINS(out, "DATASPACE  SIMPLE { ( 137, 37, 3 ) / ( 137, 37, 3 ) }");
    CHECK_CONTAINS(out, "CHECKSUM FLETCHER32");
    CHECK_CONTAINS(out, "PREPROCESSING SHUFFLE");
    CHECK_CONTAINS(out, "COMPRESSION DEFLATE");
    ax_chain_features_destroy(a3m);
    ax_chain_features_destroy(cbs);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/axial-store-test-XXXXXX");
    if (mkdtemp(dir) == NULL) return 1;
    RUN(test_round_trip);
    RUN(test_append_keeps_chains);
    RUN(test_abort_and_errors_leave_nothing);
    RUN(test_rejects_what_is_not_a_store);
    RUN(test_rejects_bad_shapes_and_values);
    RUN(test_rejects_out_of_range_values);
    RUN(test_wide_deletions_round_trip);
    RUN(test_kill_midway_keeps_previous_store);
    RUN(test_layout_in_h5dump);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) printf("  (could not remove %s)\n", dir);
    return th_finish();
}
