/*
 * test_store.c — the HDF5 feature store: round trips of real features, appends, atomic writes (also
 * against kill -9), schema and shape validation, error messages, the on-disk layout as h5dump
 * shows it, reading a store written by the previous schema (tests/data/store_v1.h5), and training
 * batches read straight from a store (ax_store_read_batch) checked against the parsed A3M and
 * mmCIF, with crop windows at both ends, corrupt chunks and bad values; stores whose MSA arrays the
 * writer was asked to compress, their filters as HDF5 reports them, and the same chains and
 * batches from them as from uncompressed stores.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#define _DEFAULT_SOURCE /* flock, usleep */
#include <hdf5.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "axial/io.h"
#include "axial/store.h"
#include "batch_reference.h"
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
    snprintf(cmd, sizeof cmd, "ls -1A '%s' | grep -c '^%s' || true", dir, prefix);
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

/* The store at `path` holds `chains` chains, `name` among them equal to `want`. */
static void check_store_holds(const char *path, int64_t chains, const char *name, const ax_chain_features *want) {
    ax_store *s = NULL;
    CHECK_OK(ax_store_open(path, &s));
    if (s == NULL) return;
    CHECK_INT_EQ(ax_store_num_chains(s), chains);
    ax_chain_features *back = NULL;
    CHECK_OK(ax_store_read_chain(s, name, &back));
    CHECK(back != NULL && features_equal(want, back));
    ax_chain_features_destroy(back);
    ax_store_close(s);
}

/* A new store at `path` (replacing any) holding one chain. */
static void write_one_chain(const char *path, const char *name, const ax_chain_features *f, const char *sources) {
    ax_store_writer *w = NULL;
    CHECK_OK(ax_store_begin(path, 0, &w));
    CHECK_OK(ax_store_add_chain(w, name, f, sources));
    CHECK_OK(ax_store_commit(w));
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
    CHECK_INT_EQ(count_files(".round.h5.tmp"), 0);
    ax_store *s = NULL;
    CHECK_OK(ax_store_open(path, &s));
    if (s == NULL) return;
    CHECK_INT_EQ(ax_store_num_chains(s), 2);
    CHECK_INT_EQ(ax_store_schema_version(s), AX_STORE_SCHEMA_VERSION);
    CHECK_INT_EQ(ax_store_schema_version(s), 2);
    CHECK_INT_EQ(ax_store_schema_version(NULL), 0);
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
    write_one_chain(path, "first", a3m, "query.a3m");
    CHECK_OK(ax_store_begin(path, 1, &w));
    CHECK_STATUS(ax_store_add_chain(w, "first", cbs, NULL), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "chain 'first' is already in");
    CHECK_OK(ax_store_add_chain(w, "second", cbs, NULL));
    CHECK_OK(ax_store_commit(w));
    check_store_holds(path, 2, "first", a3m);
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
    CHECK_INT_EQ(count_files(".aborted.h5.tmp"), 0); /* the append lock "aborted.h5.lock" stays, by design */
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

/* The writer refuses values its reader would refuse (aatype past 20, an MSA token past 21, a
 * negative deletion) before writing, and a failed add leaves the writer usable with the name free:
 * the same chain, corrected, is then added and read back. NULL stores count no chains. */
static void test_writer_refuses_what_the_reader_refuses(void) {
    ax_chain_features *a3m = features_from_a3m();
    if (a3m == NULL) return;
    char path[512];
    path_in_dir(path, sizeof path, "writer_checks.h5");
    ax_store_writer *w = NULL;
    CHECK_OK(ax_store_begin(path, 0, &w));
    const int64_t cell = 1 * a3m->seq_length + 2; /* row 1, column 2 */
    const int32_t aa = a3m->aatype[7], token = a3m->msa[cell], deletion = a3m->deletion_matrix[cell];
    a3m->aatype[7] = 25;
    CHECK_STATUS(ax_store_add_chain(w, "c", a3m, NULL), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "aatype[7] is 25, outside [0, 20]");
    a3m->aatype[7] = aa;
    a3m->msa[cell] = 22;
    CHECK_STATUS(ax_store_add_chain(w, "c", a3m, NULL), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "msa row 1 column 2 is 22");
    a3m->msa[cell] = token;
    a3m->deletion_matrix[cell] = -3;
    CHECK_STATUS(ax_store_add_chain(w, "c", a3m, NULL), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "deletion_matrix row 1 column 2 is -3, negative");
    a3m->deletion_matrix[cell] = deletion;
    CHECK_OK(ax_store_add_chain(w, "c", a3m, NULL));
    CHECK_OK(ax_store_commit(w));
    ax_store *s = NULL;
    CHECK_OK(ax_store_open(path, &s));
    CHECK_INT_EQ(ax_store_num_chains(s), 1);
    ax_chain_features *back = NULL;
    CHECK_OK(ax_store_read_chain(s, "c", &back));
    if (back != NULL) CHECK(back->aatype[7] == aa && back->msa[cell] == token);
    ax_chain_features_destroy(back);
    ax_store_close(s);
    CHECK_INT_EQ(ax_store_num_chains(NULL), 0);
    CHECK(ax_store_chain_name(NULL, 0) == NULL);
    ax_chain_features_destroy(a3m);
}

/* Appending to a store path that exists but cannot be checked (here a symbolic link to itself) fails
 * and leaves the path alone; before, anything but a readable file was taken as "no store yet" and
 * replaced. */
static void test_append_to_unreadable_store_fails(void) {
    ax_chain_features *a3m = features_from_a3m();
    if (a3m == NULL) return;
    char path[512];
    path_in_dir(path, sizeof path, "loop.h5");
    unlink(path);
    CHECK(symlink("loop.h5", path) == 0);
    ax_store_writer *w = NULL;
    CHECK_STATUS(ax_store_begin(path, 1, &w), AX_ERR_IO);
    CHECK_CONTAINS(ax_last_error(), "symbolic links in a row");
    CHECK(w == NULL);
    struct stat st;
    CHECK(lstat(path, &st) == 0 && S_ISLNK(st.st_mode)); /* still the link */
    unlink(path);
    ax_chain_features_destroy(a3m);
}

static int is_link_to(const char *link, const char *text) {
    char buf[512];
    const ssize_t n = readlink(link, buf, sizeof buf - 1);
    if (n < 0) return 0;
    buf[n] = '\0';
    return strcmp(buf, text) == 0;
}

static int64_t chains_in(const char *path) {
    ax_store *s = NULL;
    if (ax_store_open(path, &s) != AX_OK) return -1;
    const int64_t n = ax_store_num_chains(s);
    ax_store_close(s);
    return n;
}

/* Writing to a symbolic link writes the file it points to and keeps the link (the rename had
 * replaced the link with a plain file, leaving its target stale): replacing, appending, a chain of
 * two links, and a dangling link, whose target the commit creates. */
static void test_writes_through_symbolic_links(void) {
    ax_chain_features *a3m = features_from_a3m();
    if (a3m == NULL) return;
    char real[512], link[512], link2[512], dangling[512], created[512];
    path_in_dir(real, sizeof real, "real.h5");
    path_in_dir(link, sizeof link, "link.h5");
    path_in_dir(link2, sizeof link2, "link2.h5");
    path_in_dir(dangling, sizeof dangling, "dangling.h5");
    path_in_dir(created, sizeof created, "created.h5");
    ax_store_writer *w = NULL;
    write_one_chain(real, "a", a3m, NULL);
    CHECK(symlink("real.h5", link) == 0);  /* relative to the link's directory */
    CHECK(symlink(link, link2) == 0);      /* absolute, to the first link */
    CHECK(symlink("created.h5", dangling) == 0);

    CHECK_OK(ax_store_begin(link, 0, &w)); /* replace through the link */
    CHECK_OK(ax_store_add_chain(w, "b", a3m, NULL));
    CHECK_OK(ax_store_add_chain(w, "c", a3m, NULL));
    CHECK_OK(ax_store_commit(w));
    CHECK(is_link_to(link, "real.h5"));
    CHECK_INT_EQ(chains_in(real), 2);
    CHECK_OK(ax_store_begin(link2, 1, &w)); /* append through two links */
    CHECK_OK(ax_store_add_chain(w, "d", a3m, NULL));
    CHECK_OK(ax_store_commit(w));
    CHECK(is_link_to(link2, link) && is_link_to(link, "real.h5"));
    CHECK_INT_EQ(chains_in(real), 3);
    CHECK_OK(ax_store_begin(dangling, 0, &w));
    CHECK_OK(ax_store_add_chain(w, "e", a3m, NULL));
    CHECK_OK(ax_store_commit(w));
    CHECK(is_link_to(dangling, "created.h5"));
    CHECK_INT_EQ(chains_in(created), 1);
    CHECK_INT_EQ(count_files(".real.h5.tmp"), 0);
    CHECK_INT_EQ(count_files(".created.h5.tmp"), 0);
    ax_chain_features_destroy(a3m);
}

/* Processes appending to one store at once each keep their chain (they take turns on the file's
 * lock; before, each copied the old store and the last rename dropped the others' chains). */
static void test_concurrent_appends_keep_every_chain(void) {
    ax_chain_features *a3m = features_from_a3m();
    if (a3m == NULL) return;
    char path[512];
    path_in_dir(path, sizeof path, "concurrent.h5");
    write_one_chain(path, "first", a3m, NULL);
    enum { WRITERS = 6 };
    pid_t pids[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            char name[16];
            snprintf(name, sizeof name, "c%d", i);
            ax_store_writer *cw = NULL;
            const int ok = ax_store_begin(path, 1, &cw) == AX_OK && ax_store_add_chain(cw, name, a3m, NULL) == AX_OK &&
                           ax_store_commit(cw) == AX_OK;
            _exit(ok ? 0 : 1);
        }
    }
    for (int i = 0; i < WRITERS; i++) {
        int status = -1;
        CHECK(pids[i] > 0 && waitpid(pids[i], &status, 0) == pids[i] && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    ax_store *s = NULL;
    CHECK_OK(ax_store_open(path, &s));
    CHECK_INT_EQ(ax_store_num_chains(s), 1 + WRITERS);
    ax_store_close(s);
    ax_chain_features_destroy(a3m);
}

/* The lock file: created 0666 less the umask and opened read-only, so another user who may write
 * the store may take it (it had been 0644 and opened read-write: every later appender but its
 * creator failed); a name too long for "<name>.lock" appends through a hidden shortened lock name
 * (it had failed with "File name too long"); a directory target is refused before any work; a
 * sources text past AX_STORE_MAX_SOURCES is refused before the chain's arrays are written. */
static void test_lock_file_and_targets(void) {
    ax_chain_features *a3m = features_from_a3m();
    if (a3m == NULL) return;
    char path[512], lock[520];
    path_in_dir(path, sizeof path, "umask.h5");
    const mode_t old_mask = umask(002);
    write_one_chain(path, "first", a3m, NULL);
    ax_store_writer *w = NULL;
    CHECK_OK(ax_store_begin(path, 1, &w));
    CHECK_OK(ax_store_add_chain(w, "second", a3m, NULL));
    CHECK_OK(ax_store_commit(w));
    umask(old_mask);
    snprintf(lock, sizeof lock, "%s.lock", path);
    struct stat info;
    CHECK(stat(lock, &info) == 0 && (info.st_mode & 0777) == 0664);

    char name[256];
    memset(name, 'n', 251);
    memcpy(name + 251, ".h5", 4); /* 254 bytes: "<name>.lock" would be 259 */
    path_in_dir(path, sizeof path, name);
    write_one_chain(path, "first", a3m, NULL);
    CHECK_OK(ax_store_begin(path, 1, &w));
    CHECK_OK(ax_store_add_chain(w, "second", a3m, NULL));
    CHECK_OK(ax_store_commit(w));
    check_store_holds(path, 2, "second", a3m);
    CHECK_INT_EQ(count_files("\\.nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn\\.[0-9a-f]*\\.lock"), 1); /* hidden lock */

    char target[600];
    snprintf(target, sizeof target, "%s/", dir);
    for (int k = 0; k < 2; k++) {
        CHECK_STATUS(ax_store_begin(k == 0 ? dir : target, 0, &w), AX_ERR_IO);
        CHECK_CONTAINS(ax_last_error(), "is a directory");
        CHECK(w == NULL);
    }
    CHECK_INT_EQ(count_files("\\.\\.tmp"), 0);

    path_in_dir(path, sizeof path, "sources.h5");
    char *sources = malloc(AX_STORE_MAX_SOURCES + 2);
    if (sources != NULL) {
        memset(sources, 's', AX_STORE_MAX_SOURCES + 1);
        sources[AX_STORE_MAX_SOURCES + 1] = '\0';
        CHECK_OK(ax_store_begin(path, 0, &w));
        CHECK_STATUS(ax_store_add_chain(w, "x", a3m, sources), AX_ERR_INVALID_ARGUMENT);
        CHECK_CONTAINS(ax_last_error(), "sources: 16385 bytes, at most 16384");
        sources[AX_STORE_MAX_SOURCES] = '\0';
        CHECK_OK(ax_store_add_chain(w, "x", a3m, sources));
        CHECK_OK(ax_store_commit(w));
        ax_store *s = NULL;
        ax_store_chain_info ci;
        CHECK_OK(ax_store_open(path, &s));
        CHECK_OK(ax_store_chain_info_get(s, "x", &ci));
        ax_store_close(s);
        free(sources);
    }
    ax_chain_features_destroy(a3m);
}

/* A replacing writer waits for the lock an appender holds (it had taken none, so an append that
 * copied the store before the replacement committed could undo it). The lock is held here by hand;
 * the check is that begin has not returned while it is held, then returns once it is released. */
typedef struct replace_job {
    const char *path;
    ax_store_writer *w;
    ax_status st;
    atomic_int done;
} replace_job;

static void *replace_begin(void *arg) {
    replace_job *j = arg;
    j->st = ax_store_begin(j->path, 0, &j->w);
    atomic_store(&j->done, 1);
    return NULL;
}

static void test_replace_waits_for_the_lock(void) {
    char path[512], lock[520];
    path_in_dir(path, sizeof path, "replace_lock.h5");
    snprintf(lock, sizeof lock, "%s.lock", path);
    const int fd = open(lock, O_RDONLY | O_CREAT | O_CLOEXEC, 0666);
    CHECK(fd >= 0 && flock(fd, LOCK_EX) == 0);
    if (fd < 0) return;
    replace_job job = {path, NULL, AX_OK, 0};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, replace_begin, &job) == 0);
    usleep(300 * 1000);
    CHECK(!atomic_load(&job.done));
    flock(fd, LOCK_UN);
    close(fd);
    pthread_join(t, NULL);
    CHECK(atomic_load(&job.done));
    CHECK_OK(job.st);
    ax_store_abort(job.w);
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
/* A store in schema 1's flat layout whose shapes are right but whose values are not: a token past
 * the gap (21) and, with int32 deletions, a negative count. Each is named with its row and column. */
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
        CHECK_CONTAINS(ax_last_error(), which == 0 ? "chain c msa/tokens row 0 column 2 is 25, outside 0..21"
                                                   : "chain c msa/deletions row 0 column 1 is negative (-1)");
        CHECK(f == NULL);
        ax_store_close(s);
    }
}

/* Counts that would overflow a reader's buffer sizes (2 x N x L bytes) are refused before anything
 * is sized from them: N = INT32_MAX with L = 2^23 (2^54 cells), and N past INT32_MAX. The MSA
 * arrays are never written (a reader that trusted the counts would size its buffers first). */
static void test_rejects_huge_counts(void) {
    const int64_t Ns[2] = {INT32_MAX, (int64_t)INT32_MAX + 1}, Ls[2] = {(int64_t)1 << 23, 3};
    const char *want[2] = {"more than 2^40 cells", "/chains/c/num_alignments is 2147483648, expected 1..2147483647"};
    for (int which = 0; which < 2; which++) {
        char path[512];
        path_in_dir(path, sizeof path, "huge_counts.h5");
        ax_h5 *h = NULL;
        CHECK_OK(ax_h5_create_atomic(path, &h));
        CHECK_OK(ax_h5_set_attr_int(h, "/", "axial_schema_version", AX_STORE_SCHEMA_VERSION));
        CHECK_OK(ax_h5_create_group(h, "/chains/c"));
        CHECK_OK(ax_h5_set_attr_string(h, "/chains/c", "sources", ""));
        CHECK_OK(ax_h5_write(h, "/chains/c/seq_length", AX_I64, 0, NULL, &Ls[which]));
        CHECK_OK(ax_h5_write(h, "/chains/c/num_alignments", AX_I64, 0, NULL, &Ns[which]));
        CHECK_OK(ax_h5_commit(h));
        ax_store *s = NULL;
        CHECK_OK(ax_store_open(path, &s));
        if (s == NULL) return;
        ax_store_chain_info info;
        memset(&info, 0x5a, sizeof info);
        CHECK_STATUS(ax_store_chain_info_get(s, "c", &info), AX_ERR_FORMAT);
        CHECK_CONTAINS(ax_last_error(), want[which]);
        CHECK_INT_EQ(info.seq_length, 0x5a5a5a5a5a5a5a5aLL); /* untouched */
        ax_feature_batch_config cfg = AX_FEATURE_BATCH_CONFIG_INIT;
        cfg.crop_size = 0; /* the whole chain */
        ax_feature_batch *batch = NULL;
        CHECK_STATUS(ax_store_read_batch(s, "c", &cfg, &batch), AX_ERR_FORMAT);
        CHECK_CONTAINS(ax_last_error(), want[which]);
        CHECK(batch == NULL);
        ax_chain_features *f = NULL;
        CHECK_STATUS(ax_store_read_chain(s, "c", &f), AX_ERR_FORMAT);
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
 * unchanged, and no temporary. */
static void test_kill_midway_keeps_previous_store(void) {
    ax_chain_features *a3m = features_from_a3m();
    if (a3m == NULL) return;
    char path[512];
    path_in_dir(path, sizeof path, "killed.h5");
    write_one_chain(path, "kept", a3m, "query.a3m");

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
    check_store_holds(path, 1, "kept", a3m);
    /* Its temporary had no name (O_TMPFILE): nothing is left (a hidden ".killed.h5.tmp.*" had been). */
    if (count_files(".killed.h5.tmp") != 0) th_partial_skip("a temporary is left: no O_TMPFILE here?");
    ax_chain_features_destroy(a3m);
}

/* A write that fails in the child of this test (a file size limit stands in for a full disk: the
 * kernel refuses the write with EFBIG where a full disk says ENOSPC). Returns the exit code the
 * child should use: 0 when every call from the first failure on answered AX_ERR_IO naming the
 * reason, the commit failed, and no temporary is left. */
static int write_past_limit(const char *path, const ax_chain_features *f, rlim_t limit) {
    signal(SIGXFSZ, SIG_IGN); /* else the kernel kills the process at the limit */
    const struct rlimit r = {limit, limit};
    if (setrlimit(RLIMIT_FSIZE, &r) != 0) return 10;
    const char *reason = strerror(EFBIG);
    ax_store_writer *w = NULL;
    ax_status st = ax_store_begin(path, 0, &w);
    if (st != AX_OK) return st == AX_ERR_IO && strstr(ax_last_error(), reason) != NULL && w == NULL ? 0 : 11;
    int failed = 0;
    for (int i = 0; i < 3; i++) {
        char name[16];
        snprintf(name, sizeof name, "c%d", i);
        st = ax_store_add_chain(w, name, f, NULL);
        if (st != AX_OK) {
            if (st != AX_ERR_IO || strstr(ax_last_error(), reason) == NULL) {
                fprintf(stderr, "add %d: %d %s\n", i, (int)st, ax_last_error());
                return 12;
            }
            failed = 1;
        } else if (failed) {
            return 13; /* a write after a failed one must fail too */
        }
    }
    st = ax_store_commit(w);
    if (st != AX_ERR_IO || strstr(ax_last_error(), reason) == NULL || strstr(ax_last_error(), path) == NULL) {
        fprintf(stderr, "commit: %d %s\n", (int)st, ax_last_error());
        return 14;
    }
    return 0;
}

/* A full disk while writing: HDF5 1.10 cannot survive a failed write (the file id stays half closed
 * and the process segfaulted at exit, in HDF5's own cleanup), so stores are written through a
 * driver of ours that keeps HDF5 out of it (src/io/h5_driver.h). Limits below the superblock, below
 * one chain and below three chains; each child must exit normally, the previous store must be
 * intact and no temporary may remain. */
static void test_full_disk_fails_cleanly(void) {
    ax_chain_features *a3m = features_from_a3m();
    if (a3m == NULL) return;
    char path[512];
    path_in_dir(path, sizeof path, "full.h5");
    write_one_chain(path, "kept", a3m, NULL);
    struct stat info;
    CHECK(stat(path, &info) == 0);
    const rlim_t limits[] = {1, (rlim_t)info.st_size / 2, (rlim_t)info.st_size * 2};
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
        fflush(NULL);
        const pid_t child = fork();
        if (child == 0) {
            const int code = write_past_limit(path, a3m, limits[i]);
            ax_chain_features_destroy(a3m);
            exit(code); /* exit, not _exit: HDF5's cleanup at exit is where the crash was */
        }
        int status = -1;
        CHECK(child > 0 && waitpid(child, &status, 0) == child);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            printf("  limit %llu bytes: child %s %d\n", (unsigned long long)limits[i],
                   WIFSIGNALED(status) ? "killed by signal" : "exited with", WIFSIGNALED(status) ? WTERMSIG(status)
                                                                                              : WEXITSTATUS(status));
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        CHECK_INT_EQ(count_files(".full.h5.tmp"), 0);
        check_store_holds(path, 1, "kept", a3m);
    }
    ax_chain_features_destroy(a3m);
}

/* The documented layout, as an independent tool sees it. */
static void test_layout_in_h5dump(void) {
    if (system("command -v h5dump > /dev/null 2>&1") != 0 && th_partial_skip("h5dump is not installed")) return;
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
    CHECK(strstr(out, "row_offsets") == NULL); /* schema 1 only */
    CHECK_CONTAINS(out, "DATASPACE  SIMPLE { ( 59, 431 ) / ( 59, 431 ) }"); /* 59 x 431 tokens */
    CHECK_CONTAINS(out, "CHUNKED ( 59, 64 )");                              /* column blocks */
    CHECK_CONTAINS(out, "DATASPACE  SIMPLE { ( 137, 37, 3 ) / ( 137, 37, 3 ) }");
    CHECK_CONTAINS(out, "CHECKSUM FLETCHER32");
    CHECK_CONTAINS(out, "PREPROCESSING SHUFFLE"); /* the small arrays stay compressed */
    CHECK_CONTAINS(out, "COMPRESSION DEFLATE");
    /* The MSA arrays: Fletcher-32 and nothing else. */
    const char *tokens = strstr(out, "DATASET \"tokens\"");
    CHECK(tokens != NULL);
    if (tokens != NULL) {
        const char *filters = strstr(tokens, "FILTERS {"), *end = filters ? strstr(filters, "}") : NULL;
        CHECK(filters != NULL && end != NULL);
        if (filters != NULL && end != NULL) {
            char block[256];
            snprintf(block, sizeof block, "%.*s", (int)(end - filters), filters);
            CHECK_CONTAINS(block, "CHECKSUM FLETCHER32");
            CHECK(strstr(block, "DEFLATE") == NULL && strstr(block, "SHUFFLE") == NULL);
        }
    }
    ax_chain_features_destroy(a3m);
    ax_chain_features_destroy(cbs);
}

/* ---- training batches read from a store ---------------------------------------------------- */

/* ax_store_read_batch against two references: the batch ax_feature_batch_create makes from the
 * features parsed from the A3M / mmCIF (byte for byte), and verify_batch's independent
 * recomputation from those parsed features (every row's tokens and deletions in the window, the
 * clusters, profiles and features). */
static void check_store_batch(ax_store *s, const char *name, const ax_chain_features *parsed,
                              const ax_feature_batch_config *cfg) {
    ax_feature_batch *from_store = NULL, *in_memory = NULL;
    CHECK_OK(ax_store_read_batch(s, name, cfg, &from_store));
    CHECK_OK(ax_feature_batch_create(parsed, cfg, &in_memory));
    if (from_store != NULL && in_memory != NULL) {
        const ax_feature_batch_config defaults = AX_FEATURE_BATCH_CONFIG_INIT;
        CHECK(batches_identical(from_store, in_memory));
        verify_batch(parsed, cfg != NULL ? cfg : &defaults, from_store);
    }
    ax_feature_batch_destroy(from_store);
    ax_feature_batch_destroy(in_memory);
}

/* Crop sizes below, at and above the 64-column chunk width and the chain length; for each, seeds
 * until the window has sat at column 0 and at the last possible start (the edges), plus a few
 * windows in between. */
static void check_store_batches(ax_store *s, const char *name, const ax_chain_features *parsed) {
    const int64_t crops[] = {1, 63, 64, 65, 256, 0 /* whole chain */, 100000};
    for (size_t k = 0; k < sizeof crops / sizeof crops[0]; k++) {
        ax_feature_batch_config cfg = AX_FEATURE_BATCH_CONFIG_INIT;
        cfg.crop_size = crops[k];
        cfg.max_msa_clusters = 16; /* so the 59-row MSA has remaining and extra rows */
        cfg.max_extra_msa = 24;
        const int64_t L = parsed->seq_length;
        const int64_t length = crops[k] > 0 && crops[k] < L ? crops[k] : L;
        int seen_first = 0, seen_last = 0, checked = 0;
        for (uint64_t seed = 0; seed < 20000 && (!seen_first || !seen_last || checked < 4); seed++) {
            cfg.seed = seed;
            ax_feature_batch *b = NULL;
            if (ax_feature_batch_create(parsed, &cfg, &b) != AX_OK) break;
            const int64_t start = b->crop_start;
            ax_feature_batch_destroy(b);
            const int edge_first = start == 0 && !seen_first, edge_last = start == L - length && !seen_last;
            if (!edge_first && !edge_last && checked >= 4) continue;
            seen_first |= start == 0;
            seen_last |= start == L - length;
            checked++;
            check_store_batch(s, name, parsed, &cfg);
        }
        if (!seen_first || !seen_last) TH_FAIL("crop %lld: no seed put the window at both ends", (long long)crops[k]);
    }
}

static void test_read_batch_matches_parsed_files(void) {
    ax_chain_features *a3m = features_from_a3m(), *cbs = features_from_1cbs();
    if (a3m == NULL || cbs == NULL) return;
    char path[512];
    path_in_dir(path, sizeof path, "batches.h5");
    write_two_chains(path, a3m, cbs);
    ax_store *s = NULL;
    CHECK_OK(ax_store_open(path, &s));
    if (s != NULL) {
        check_store_batches(s, "FAM69B_HUMAN", a3m);
        check_store_batches(s, "1cbs_A", cbs); /* with a structure; a one-row MSA */
        check_store_batch(s, "FAM69B_HUMAN", a3m, NULL); /* the defaults */
    }
    ax_store_close(s);
    ax_chain_features_destroy(a3m);
    ax_chain_features_destroy(cbs);
}

/* A larger MSA (several row and column chunks, a ragged last chunk each way) and deletions above
 * 255 (stored as int32, compressed, read through HDF5's filters). */
static void test_read_batch_chunk_edges_and_wide_deletions(void) {
    const int64_t L = 300, N = 5000;
    for (int wide = 0; wide < 2; wide++) {
        ax_chain_features *f = NULL;
        CHECK_OK(ax_chain_features_alloc(L, N, 0, &f));
        if (f == NULL) return;
        th_seed(99 + (uint64_t)wide);
        for (int64_t i = 0; i < L; i++) f->msa[i] = f->aatype[i] = (int32_t)(th_rand_u64() % 20);
        for (int64_t e = L; e < N * L; e++) {
            const uint64_t u = th_rand_u64();
            f->msa[e] = u % 5 == 0 ? 21 : (int32_t)((u >> 8) % 21);
            f->deletion_matrix[e] = (u >> 20) % 20 == 0 ? (int32_t)(1 + (u >> 30) % (wide ? 900 : 255)) : 0;
        }
        char path[512];
        path_in_dir(path, sizeof path, wide ? "edges_wide.h5" : "edges.h5");
        ax_store_writer *w = NULL;
        CHECK_OK(ax_store_begin(path, 0, &w));
        CHECK_OK(ax_store_add_chain(w, "big", f, NULL));
        CHECK_OK(ax_store_commit(w));
        ax_store *s = NULL;
        CHECK_OK(ax_store_open(path, &s));
        if (s != NULL) {
            ax_chain_features *back = NULL;
            CHECK_OK(ax_store_read_chain(s, "big", &back));
            CHECK(back != NULL && features_equal(f, back));
            ax_chain_features_destroy(back);
            const int64_t crops[] = {17, 128, 299, 0};
            for (size_t k = 0; k < sizeof crops / sizeof crops[0]; k++)
                for (uint64_t seed = 0; seed < 3; seed++) {
                    ax_feature_batch_config cfg = AX_FEATURE_BATCH_CONFIG_INIT;
                    cfg.crop_size = crops[k];
                    cfg.seed = seed;
                    check_store_batch(s, "big", f, &cfg);
                }
        }
        ax_store_close(s);
        ax_chain_features_destroy(f);
    }
}

/* tests/data/store_v1.h5 was written by this project before schema 2 (tests/data/PROVENANCE.md):
 * flat, compressed MSA arrays with row_offsets. It must still read, as chains and as batches, and
 * appending to it must keep its chains readable. */
static void test_reads_schema_1_fixture(void) {
    ax_chain_features *a3m = features_from_a3m(), *cbs = features_from_1cbs();
    if (a3m == NULL || cbs == NULL) return;
    const char *fixture = AXIAL_TEST_DATA "/store_v1.h5";
    ax_store *s = NULL;
    CHECK_OK(ax_store_open(fixture, &s));
    if (s != NULL) {
        CHECK_INT_EQ(ax_store_schema_version(s), 1); /* the file's, not this Axial's */
        ax_chain_features *back = NULL;
        CHECK_OK(ax_store_read_chain(s, "FAM69B", &back));
        CHECK(back != NULL && features_equal(a3m, back));
        ax_chain_features_destroy(back);
        CHECK_OK(ax_store_read_chain(s, "1cbs_A", &back));
        CHECK(back != NULL && features_equal(cbs, back));
        ax_chain_features_destroy(back);
        ax_feature_batch_config cfg = AX_FEATURE_BATCH_CONFIG_INIT;
        cfg.crop_size = 100;
        cfg.max_msa_clusters = 8;
        for (uint64_t seed = 0; seed < 4; seed++) {
            cfg.seed = seed;
            check_store_batch(s, "FAM69B", a3m, &cfg);
            check_store_batch(s, "1cbs_A", cbs, &cfg);
        }
        ax_store_close(s);
    }
    /* Appending to it gives a schema 2 file holding the old chains in their old layout. */
    char path[512], cmd[1200];
    path_in_dir(path, sizeof path, "from_v1.h5");
    snprintf(cmd, sizeof cmd, "cp '%s' '%s' && chmod u+w '%s'", fixture, path, path);
    CHECK(system(cmd) == 0);
    ax_store_writer *w = NULL;
    CHECK_OK(ax_store_begin(path, 1, &w));
    CHECK_OK(ax_store_add_chain(w, "new", a3m, "query.a3m"));
    CHECK_OK(ax_store_commit(w));
    CHECK_OK(ax_store_open(path, &s));
    if (s != NULL) {
        CHECK_INT_EQ(ax_store_num_chains(s), 3);
        CHECK_INT_EQ(ax_store_schema_version(s), AX_STORE_SCHEMA_VERSION);
        const char *names[2] = {"FAM69B", "new"};
        for (int i = 0; i < 2; i++) {
            ax_chain_features *back = NULL;
            CHECK_OK(ax_store_read_chain(s, names[i], &back));
            CHECK(back != NULL && features_equal(a3m, back));
            ax_chain_features_destroy(back);
            ax_feature_batch_config cfg = AX_FEATURE_BATCH_CONFIG_INIT;
            cfg.seed = 5;
            cfg.max_msa_clusters = 8;
            check_store_batch(s, names[i], a3m, &cfg);
        }
        ax_store_close(s);
    }
    int64_t version = 0;
    ax_h5 *h = NULL;
    CHECK_OK(ax_h5_open_read(path, &h));
    if (h != NULL) CHECK_OK(ax_h5_get_attr_int(h, "/", "axial_schema_version", &version));
    CHECK_INT_EQ(version, AX_STORE_SCHEMA_VERSION);
    ax_h5_close(h);
    ax_chain_features_destroy(a3m);
    ax_chain_features_destroy(cbs);
}

/* Flips one byte inside the first chunk of msa/tokens (its first bytes are row 0's first 64
 * tokens, unique in the file: chunks are stored uncompressed). Every reader must refuse the file:
 * the chunk reader, the whole-chain reader, and HDF5's own filter pipeline. */
static void test_corrupt_chunk_is_an_error(void) {
    const int64_t L = 200, N = 300;
    ax_chain_features *f = NULL;
    CHECK_OK(ax_chain_features_alloc(L, N, 0, &f));
    if (f == NULL) return;
    th_seed(5);
    for (int64_t e = 0; e < N * L; e++) f->msa[e] = (int32_t)(th_rand_u64() % 22);
    for (int64_t i = 0; i < L; i++) f->msa[i] = f->aatype[i] = (int32_t)((i * 7) % 20);
    char path[512];
    path_in_dir(path, sizeof path, "corrupt.h5");
    write_one_chain(path, "c", f, NULL);
    /* Find row 0's first 64 tokens in the file. */
    FILE *file = fopen(path, "r+b");
    CHECK(file != NULL);
    if (file == NULL) return;
    fseek(file, 0, SEEK_END);
    const long size = ftell(file);
    uint8_t *bytes = malloc((size_t)size), pattern[64];
    rewind(file);
    CHECK(fread(bytes, 1, (size_t)size, file) == (size_t)size);
    for (int i = 0; i < 64; i++) pattern[i] = (uint8_t)f->msa[i];
    long at = -1;
    int found = 0;
    for (long i = 0; i + 64 <= size; i++)
        if (memcmp(bytes + i, pattern, 64) == 0) {
            at = i;
            found++;
        }
    CHECK_INT_EQ(found, 1);
    if (found == 1) {
        /* Row 1, column 10 of the chunk: a token like any other, now out of step with its checksum. */
        fseek(file, at + 64 + 10, SEEK_SET);
        fputc(bytes[at + 64 + 10] ^ 0x01, file);
    }
    fclose(file);
    free(bytes);
    ax_store *s = NULL;
    CHECK_OK(ax_store_open(path, &s));
    if (s != NULL) {
        ax_feature_batch_config cfg = AX_FEATURE_BATCH_CONFIG_INIT;
        cfg.crop_size = 0; /* every column, so the damaged chunk is read */
        ax_feature_batch *b = NULL;
        CHECK_STATUS(ax_store_read_batch(s, "c", &cfg, &b), AX_ERR_FORMAT);
        CHECK_CONTAINS(ax_last_error(), "/chains/c/msa/tokens: the chunk at row 0, column 0 fails its Fletcher-32");
        CHECK(b == NULL);
        /* A window that avoids the damaged chunk (columns 0-63) reads fine. */
        cfg.crop_size = 100;
        int avoided = 0;
        for (uint64_t seed = 0; seed < 200 && !avoided; seed++) {
            cfg.seed = seed;
            int64_t start = 0;
            ax_feature_batch *probe = NULL;
            if (ax_feature_batch_create(f, &cfg, &probe) == AX_OK) start = probe->crop_start;
            ax_feature_batch_destroy(probe);
            if (start < 64) continue;
            avoided = 1;
            CHECK_OK(ax_store_read_batch(s, "c", &cfg, &b));
            ax_feature_batch_destroy(b);
        }
        CHECK(avoided);
        ax_chain_features *back = NULL;
        CHECK_STATUS(ax_store_read_chain(s, "c", &back), AX_ERR_FORMAT);
        CHECK_CONTAINS(ax_last_error(), "fails its Fletcher-32 checksum");
        CHECK(back == NULL);
        ax_store_close(s);
    }
    /* HDF5's own read of the dataset agrees that the chunk is corrupt. */
    ax_h5 *h = NULL;
    CHECK_OK(ax_h5_open_read(path, &h));
    uint8_t *all = malloc((size_t)(N * L));
    const int64_t shape[2] = {N, L};
    if (h != NULL && all != NULL) {
        CHECK_STATUS(ax_h5_read(h, "/chains/c/msa/tokens", AX_U8, 2, shape, all), AX_ERR_FORMAT);
        CHECK_CONTAINS(ax_last_error(), "checksum or I/O error");
    }
    free(all);
    ax_h5_close(h);
    ax_chain_features_destroy(f);
}

static ax_status fill_from(void *ctx, int64_t first_row, int64_t rows, void *buf) {
    const uint8_t *src = ctx;
    memcpy(buf, src + first_row * 3, (size_t)(rows * 3));
    return AX_OK;
}

/* Hand-made schema 2 chains (L = 3, N = 2) that are wrong in one way each; the batch reader names
 * the dataset and, for values, the row and the chain column. */
static void test_read_batch_rejects_bad_stores(void) {
    enum { GOOD, BAD_TOKEN, BAD_SHAPE, WIDE_NEGATIVE, BAD_AATYPE, CASES };
    const char *expected[CASES] = {
        NULL,
        "chain c msa/tokens: row 1 column 2 holds 25, expected a token in [0, 21]",
        "dataset /chains/c/msa/tokens dim 1 is 4, expected 3",
        "chain c msa/deletions row 1 column 0 is negative (-7)",
        "chain c aatype[1]: 22 is outside [0, 20]",
    };
    for (int which = 0; which < CASES; which++) {
        char path[512];
        snprintf(path, sizeof path, "%s/bad_batch_%d.h5", dir, which);
        ax_h5 *h = NULL;
        CHECK_OK(ax_h5_create_atomic(path, &h));
        if (h == NULL) return;
        CHECK_OK(ax_h5_set_attr_int(h, "/", "axial_schema_version", AX_STORE_SCHEMA_VERSION));
        CHECK_OK(ax_h5_create_group(h, "/chains/c"));
        CHECK_OK(ax_h5_set_attr_string(h, "/chains/c", "sources", ""));
        const int64_t two = 2, three = 3, flat[1] = {3}, wide_shape[2] = {2, 3};
        const int32_t aatype_ok[3] = {0, 1, 2}, aatype_bad[3] = {0, 22, 2}, wide[6] = {0, 0, 0, -7, 0, 0};
        uint8_t tokens[8] = {0, 1, 2, 3, 21, 4, 5, 6}, deletions[8] = {0};
        if (which == BAD_TOKEN) tokens[5] = 25;
        CHECK_OK(ax_h5_write(h, "/chains/c/seq_length", AX_I64, 0, NULL, &three));
        CHECK_OK(ax_h5_write(h, "/chains/c/num_alignments", AX_I64, 0, NULL, &two));
        CHECK_OK(ax_h5_write_string(h, "/chains/c/sequence", "ARN"));
        CHECK_OK(ax_h5_write(h, "/chains/c/aatype", AX_I32, 1, flat, which == BAD_AATYPE ? aatype_bad : aatype_ok));
        CHECK_OK(ax_h5_write(h, "/chains/c/residue_index", AX_I32, 1, flat, aatype_ok));
        if (which == BAD_SHAPE) {
            const uint8_t four_columns[8] = {0};
            CHECK_OK(ax_h5_write_matrix(h, "/chains/c/msa/tokens", AX_U8, 2, 4, 64, 64, 0, fill_from, (void *)four_columns));
        } else {
            CHECK_OK(ax_h5_write_matrix(h, "/chains/c/msa/tokens", AX_U8, 2, 3, 64, 64, 0, fill_from, tokens));
        }
        if (which == WIDE_NEGATIVE) CHECK_OK(ax_h5_write(h, "/chains/c/msa/deletions", AX_I32, 2, wide_shape, wide));
        else CHECK_OK(ax_h5_write_matrix(h, "/chains/c/msa/deletions", AX_U8, 2, 3, 64, 64, 0, fill_from, deletions));
        CHECK_OK(ax_h5_commit(h));
        ax_store *s = NULL;
        CHECK_OK(ax_store_open(path, &s));
        if (s == NULL) return;
        ax_feature_batch_config cfg = AX_FEATURE_BATCH_CONFIG_INIT;
        ax_feature_batch *b = (ax_feature_batch *)&b;
        if (which == GOOD) {
            CHECK_OK(ax_store_read_batch(s, "c", &cfg, &b));
            if (b != NULL) {
                const int32_t *true_msa = b->true_msa.data;
                /* Both rows are centres; row 0 (the query) first: its tokens, as written. */
                CHECK(b->num_clusters == 2 && true_msa[0] == 0 && true_msa[1] == 1 && true_msa[2] == 2);
            }
            ax_feature_batch_destroy(b);
            /* The caller's mistakes. */
            CHECK_STATUS(ax_store_read_batch(s, "nope", &cfg, &b), AX_ERR_INVALID_ARGUMENT);
            CHECK_CONTAINS(ax_last_error(), "no chain 'nope'");
            CHECK(b == NULL);
            CHECK_STATUS(ax_store_read_batch(NULL, "c", &cfg, &b), AX_ERR_INVALID_ARGUMENT);
            CHECK_STATUS(ax_store_read_batch(s, NULL, &cfg, &b), AX_ERR_INVALID_ARGUMENT);
            CHECK_STATUS(ax_store_read_batch(s, "c", &cfg, NULL), AX_ERR_INVALID_ARGUMENT);
            cfg.max_msa_clusters = 0;
            CHECK_STATUS(ax_store_read_batch(s, "c", &cfg, &b), AX_ERR_INVALID_ARGUMENT);
            CHECK_CONTAINS(ax_last_error(), "max_msa_clusters");
        } else {
            CHECK_STATUS(ax_store_read_batch(s, "c", &cfg, &b), AX_ERR_FORMAT);
            CHECK_CONTAINS(ax_last_error(), expected[which]);
            CHECK_CONTAINS(ax_last_error(), path);
            CHECK(b == NULL);
        }
        ax_store_close(s);
    }
}

/* The MSA arrays are stored uncompressed for read speed; a store recompressed by a stock HDF5 tool
 * (an archival copy: h5repack with shuffle + gzip, which also drops the checksums) must still read,
 * through HDF5's filters, to the same chains and batches. */
static void test_reads_store_recompressed_by_h5repack(void) {
    if (system("command -v h5repack > /dev/null 2>&1") != 0 && th_partial_skip("h5repack is not installed")) return;
    ax_chain_features *a3m = features_from_a3m(), *cbs = features_from_1cbs();
    if (a3m == NULL || cbs == NULL) return;
    char path[512], packed[512], cmd[1200];
    path_in_dir(path, sizeof path, "to_pack.h5");
    path_in_dir(packed, sizeof packed, "packed.h5");
    write_two_chains(path, a3m, cbs);
    snprintf(cmd, sizeof cmd, "h5repack -f SHUF -f GZIP=1 '%s' '%s'", path, packed);
    CHECK(system(cmd) == 0);
    ax_store *s = NULL;
    CHECK_OK(ax_store_open(packed, &s));
    if (s != NULL) {
        ax_chain_features *back = NULL;
        CHECK_OK(ax_store_read_chain(s, "FAM69B_HUMAN", &back));
        CHECK(back != NULL && features_equal(a3m, back));
        ax_chain_features_destroy(back);
        ax_feature_batch_config cfg = AX_FEATURE_BATCH_CONFIG_INIT;
        cfg.crop_size = 100;
        cfg.max_msa_clusters = 8;
        for (uint64_t seed = 0; seed < 3; seed++) {
            cfg.seed = seed;
            check_store_batch(s, "FAM69B_HUMAN", a3m, &cfg);
            check_store_batch(s, "1cbs_A", cbs, &cfg);
        }
        ax_store_close(s);
    }
    ax_chain_features_destroy(a3m);
    ax_chain_features_destroy(cbs);
}

/* ---- compressed MSA arrays ------------------------------------------------------------------ */

/* The filter pipeline and chunk shape of a dataset, as HDF5 itself reports them. */
typedef struct stored_filters {
    int count;
    H5Z_filter_t ids[4];
    unsigned deflate_level; /* the deflate filter's parameter, when present */
    hsize_t chunk[2];
    hsize_t storage_bytes; /* what the chunks take in the file */
} stored_filters;

static int read_filters(const char *path, const char *dataset, stored_filters *out) {
    memset(out, 0, sizeof *out);
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t dset = file >= 0 ? H5Dopen2(file, dataset, H5P_DEFAULT) : -1;
    hid_t dcpl = dset >= 0 ? H5Dget_create_plist(dset) : -1;
    int ok = dcpl >= 0 && H5Pget_chunk(dcpl, 2, out->chunk) == 2;
    out->count = ok ? H5Pget_nfilters(dcpl) : -1;
    ok = ok && out->count >= 0 && out->count <= 4;
    for (int i = 0; ok && i < out->count; i++) {
        unsigned flags = 0, values[8] = {0};
        size_t nvalues = 8;
        char name[64];
        out->ids[i] = H5Pget_filter2(dcpl, (unsigned)i, &flags, &nvalues, values, sizeof name, name, NULL);
        if (out->ids[i] == H5Z_FILTER_DEFLATE && nvalues >= 1) out->deflate_level = values[0];
    }
    if (ok) out->storage_bytes = H5Dget_storage_size(dset);
    if (dcpl >= 0) H5Pclose(dcpl);
    if (dset >= 0) H5Dclose(dset);
    if (file >= 0) H5Fclose(file);
    return ok;
}

/* Checks the MSA arrays of `chain`: shuffle, deflate at `level`, Fletcher-32 (in that order), or
 * Fletcher-32 alone for level 0; (rows, 64) column-block chunks either way. */
static void check_msa_filters(const char *path, const char *chain, int level, int64_t chunk_rows,
                              hsize_t *storage_bytes) {
    const char *leaves[2] = {"tokens", "deletions"};
    *storage_bytes = 0;
    for (int k = 0; k < 2; k++) {
        char dataset[300];
        snprintf(dataset, sizeof dataset, "/chains/%s/msa/%s", chain, leaves[k]);
        stored_filters got;
        th_checks++;
        if (!read_filters(path, dataset, &got)) {
            TH_FAIL("%s: HDF5 could not report the filters of %s", path, dataset);
            continue;
        }
        *storage_bytes += got.storage_bytes;
        CHECK_INT_EQ((int64_t)got.chunk[0], chunk_rows);
        CHECK_INT_EQ((int64_t)got.chunk[1], 64);
        if (level == 0) {
            CHECK_INT_EQ(got.count, 1);
            CHECK(got.ids[0] == H5Z_FILTER_FLETCHER32);
        } else {
            CHECK_INT_EQ(got.count, 3);
            CHECK(got.ids[0] == H5Z_FILTER_SHUFFLE && got.ids[1] == H5Z_FILTER_DEFLATE &&
                  got.ids[2] == H5Z_FILTER_FLETCHER32);
            CHECK_INT_EQ(got.deflate_level, level);
        }
    }
}

static long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* One store written uncompressed and the same chains written with MSA compression: HDF5 reports
 * the filters asked for; both read back to the features parsed from the A3M and mmCIF (and a
 * generated MSA spanning several row and column chunks); ax_store_read_batch gives byte-identical
 * batches from both, which also match the batches built from the parsed features; and the
 * compressed file is smaller. */
static void test_msa_compression(void) {
    ax_chain_features *a3m = features_from_a3m(), *cbs = features_from_1cbs(), *big = NULL;
    const int64_t L = 300, N = 5000;
    CHECK_OK(ax_chain_features_alloc(L, N, 0, &big));
    if (a3m == NULL || cbs == NULL || big == NULL) return;
    th_seed(314);
    for (int64_t i = 0; i < L; i++) big->msa[i] = big->aatype[i] = (int32_t)(th_rand_u64() % 20);
    for (int64_t e = L; e < N * L; e++) {
        const uint64_t u = th_rand_u64();
        big->msa[e] = u % 5 == 0 ? 21 : (int32_t)((u >> 8) % 21);
        big->deletion_matrix[e] = (u >> 20) % 20 == 0 ? (int32_t)(1 + (u >> 30) % 255) : 0;
    }
    const char *names[3] = {"FAM69B_HUMAN", "1cbs_A", "big"};
    const ax_chain_features *parsed[3] = {a3m, cbs, big};
    const int64_t chunk_rows[3] = {59, 1, 4096};
    char paths[2][512];
    path_in_dir(paths[0], sizeof paths[0], "plain.h5");
    path_in_dir(paths[1], sizeof paths[1], "deflated.h5");
    for (int compressed = 0; compressed < 2; compressed++) {
        ax_store_writer *w = NULL;
        CHECK_OK(ax_store_begin(paths[compressed], 0, &w));
        if (w == NULL) return;
        if (compressed) CHECK_OK(ax_store_writer_set_msa_compression(w, 1));
        for (int c = 0; c < 3; c++) CHECK_OK(ax_store_add_chain(w, names[c], parsed[c], NULL));
        CHECK_OK(ax_store_commit(w));
    }
    hsize_t plain_bytes = 0, deflated_bytes = 0;
    for (int c = 0; c < 3; c++) {
        hsize_t a = 0, b = 0;
        check_msa_filters(paths[0], names[c], 0, chunk_rows[c], &a);
        check_msa_filters(paths[1], names[c], 1, chunk_rows[c], &b);
        plain_bytes += a;
        deflated_bytes += b;
    }
    const long plain_size = file_size(paths[0]), deflated_size = file_size(paths[1]);
    printf("  MSA arrays %llu -> %llu bytes; files %ld -> %ld bytes\n", (unsigned long long)plain_bytes,
           (unsigned long long)deflated_bytes, plain_size, deflated_size);
    CHECK(deflated_bytes > 0 && deflated_bytes < plain_bytes);
    CHECK(deflated_size > 0 && deflated_size < plain_size);

    ax_store *plain = NULL, *deflated = NULL;
    CHECK_OK(ax_store_open(paths[0], &plain));
    CHECK_OK(ax_store_open(paths[1], &deflated));
    if (plain != NULL && deflated != NULL) {
        CHECK_INT_EQ(ax_store_schema_version(deflated), 2); /* same schema: only the filters differ */
        for (int c = 0; c < 3; c++) {
            ax_chain_features *from_plain = NULL, *from_deflated = NULL;
            CHECK_OK(ax_store_read_chain(plain, names[c], &from_plain));
            CHECK_OK(ax_store_read_chain(deflated, names[c], &from_deflated));
            CHECK(from_deflated != NULL && features_equal(parsed[c], from_deflated));
            CHECK(from_plain != NULL && from_deflated != NULL && features_equal(from_plain, from_deflated));
            ax_chain_features_destroy(from_plain);
            ax_chain_features_destroy(from_deflated);
            const int64_t crops[] = {1, 64, 100, 0};
            for (size_t k = 0; k < sizeof crops / sizeof crops[0]; k++)
                for (uint64_t seed = 0; seed < 3; seed++) {
                    ax_feature_batch_config cfg = AX_FEATURE_BATCH_CONFIG_INIT;
                    cfg.crop_size = crops[k];
                    cfg.seed = seed;
                    cfg.max_msa_clusters = 16;
                    cfg.max_extra_msa = 24;
                    ax_feature_batch *bp = NULL, *bd = NULL;
                    CHECK_OK(ax_store_read_batch(plain, names[c], &cfg, &bp));
                    CHECK_OK(ax_store_read_batch(deflated, names[c], &cfg, &bd));
                    CHECK(bp != NULL && bd != NULL && batches_identical(bp, bd));
                    ax_feature_batch_destroy(bp);
                    ax_feature_batch_destroy(bd);
                    check_store_batch(deflated, names[c], parsed[c], &cfg);
                }
        }
    }
    ax_store_close(plain);
    ax_store_close(deflated);

    /* The setting applies to chains added after it, at the level given, and 0 turns it off;
     * appending copies existing chains with their storage as it was. */
    char mixed[512];
    path_in_dir(mixed, sizeof mixed, "mixed.h5");
    ax_store_writer *w = NULL;
    CHECK_OK(ax_store_begin(mixed, 0, &w));
    if (w != NULL) {
        CHECK_OK(ax_store_add_chain(w, "before", a3m, NULL));
        CHECK_OK(ax_store_writer_set_msa_compression(w, 9));
        CHECK_OK(ax_store_add_chain(w, "at9", a3m, NULL));
        CHECK_OK(ax_store_writer_set_msa_compression(w, 0));
        CHECK_OK(ax_store_add_chain(w, "off", a3m, NULL));
        CHECK_OK(ax_store_commit(w));
    }
    CHECK_OK(ax_store_begin(mixed, 1, &w));
    if (w != NULL) {
        CHECK_OK(ax_store_writer_set_msa_compression(w, 4));
        CHECK_OK(ax_store_add_chain(w, "at4", a3m, NULL));
        CHECK_OK(ax_store_commit(w));
    }
    hsize_t ignored = 0;
    check_msa_filters(mixed, "before", 0, 59, &ignored);
    check_msa_filters(mixed, "at9", 9, 59, &ignored);
    check_msa_filters(mixed, "off", 0, 59, &ignored);
    check_msa_filters(mixed, "at4", 4, 59, &ignored);
    ax_store *s = NULL;
    CHECK_OK(ax_store_open(mixed, &s));
    if (s != NULL) {
        const char *mixed_names[4] = {"before", "at9", "off", "at4"};
        for (int c = 0; c < 4; c++) {
            ax_chain_features *back = NULL;
            CHECK_OK(ax_store_read_chain(s, mixed_names[c], &back));
            CHECK(back != NULL && features_equal(a3m, back));
            ax_chain_features_destroy(back);
        }
        ax_store_close(s);
    }

    /* Bad levels are the caller's mistake, named, and leave the setting as it was. */
    CHECK_OK(ax_store_begin(mixed, 0, &w));
    if (w != NULL) {
        const int bad[] = {-1, 10, 100};
        for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
            CHECK_STATUS(ax_store_writer_set_msa_compression(w, bad[k]), AX_ERR_INVALID_ARGUMENT);
            CHECK_CONTAINS(ax_last_error(), "level");
        }
        CHECK_OK(ax_store_add_chain(w, "still_plain", a3m, NULL));
        CHECK_OK(ax_store_commit(w));
        check_msa_filters(mixed, "still_plain", 0, 59, &ignored);
    }
    CHECK_STATUS(ax_store_writer_set_msa_compression(NULL, 1), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "writer");
    ax_chain_features_destroy(a3m);
    ax_chain_features_destroy(cbs);
    ax_chain_features_destroy(big);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/axial-store-test-XXXXXX");
    if (mkdtemp(dir) == NULL) return 1;
    RUN(test_round_trip);
    RUN(test_append_keeps_chains);
    RUN(test_abort_and_errors_leave_nothing);
    RUN(test_writer_refuses_what_the_reader_refuses);
    RUN(test_append_to_unreadable_store_fails);
    RUN(test_writes_through_symbolic_links);
    RUN(test_concurrent_appends_keep_every_chain);
    RUN(test_lock_file_and_targets);
    RUN(test_replace_waits_for_the_lock);
    RUN(test_rejects_what_is_not_a_store);
    RUN(test_rejects_bad_shapes_and_values);
    RUN(test_rejects_out_of_range_values);
    RUN(test_rejects_huge_counts);
    RUN(test_wide_deletions_round_trip);
    RUN(test_kill_midway_keeps_previous_store);
    RUN(test_full_disk_fails_cleanly);
    RUN(test_layout_in_h5dump);
    RUN(test_read_batch_matches_parsed_files);
    RUN(test_read_batch_chunk_edges_and_wide_deletions);
    RUN(test_reads_schema_1_fixture);
    RUN(test_corrupt_chunk_is_an_error);
    RUN(test_read_batch_rejects_bad_stores);
    RUN(test_reads_store_recompressed_by_h5repack);
    RUN(test_msa_compression);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) printf("  (could not remove %s)\n", dir);
    return th_finish();
}
