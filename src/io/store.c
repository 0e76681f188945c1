/*
 * store.c — the HDF5 feature store (include/axial/store.h; layout in docs/feature-store.md).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "axial/store.h"
#include "core/internal.h"
#include "io/features_batch.h"
#include "io/h5.h"
#include "io/line_reader.h"
#include "io/output_file.h"

#define WRITER_NAME "axial " /* followed by the version */
#define MAX_NAME 255
/* MSA chunks (schema 2): 64 columns, so a batch's crop of C columns reads at most C + 63 of them
 * (uncompressed by default, so the reader copies out exactly the columns it wants), and up to
 * 4,096 rows, 256 KiB of tokens: few chunks per read, little memory per chunk. */
#define MSA_CHUNK_COLS 64
#define MSA_CHUNK_ROWS 4096

struct ax_store_writer {
    ax_h5 *h5;
    int msa_deflate_level; /* 0: MSA arrays uncompressed (the default); 1..9: deflated */
    char **names; /* chains in the new file, for duplicate checks */
    int64_t num_names, cap_names;
    int lock_fd; /* "<path>.lock", flock'ed from begin until commit or abort */
};

struct ax_store {
    ax_h5 *h5;
    int64_t schema_version; /* as read from the file */
    int64_t num_chains;
    char **names;
};

static ax_status check_name(const char *name) {
    if (name == NULL || name[0] == '\0') return ax_set_error(AX_ERR_INVALID_ARGUMENT, "name: empty chain name");
    size_t n = 0;
    for (const char *c = name; *c; c++, n++) {
        const int ok = (*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' ||
                       *c == '-' || *c == ':' || *c == '+';
        if (!ok)
            return ax_set_error(AX_ERR_INVALID_ARGUMENT, "name: '%s' has '%c' at %zu; use letters, digits and _-:+", name,
                                *c, n + 1);
    }
    if (n > MAX_NAME) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "name: longer than %d characters", MAX_NAME);
    return AX_OK;
}

static void chain_path(char *buf, size_t size, const char *name, const char *leaf) {
    snprintf(buf, size, "/chains/%s%s%s", name, leaf[0] ? "/" : "", leaf);
}

static ax_status remember_name(ax_store_writer *w, const char *name) {
    if (w->num_names == w->cap_names) {
        const int64_t cap = w->cap_names ? 2 * w->cap_names : 16;
        char **grown = realloc(w->names, (size_t)cap * sizeof(char *));
        if (grown == NULL) return ax_set_error(AX_ERR_OUT_OF_MEMORY, "store: out of memory");
        w->names = grown;
        w->cap_names = cap;
    }
    const size_t n = strlen(name) + 1;
    if ((w->names[w->num_names] = malloc(n)) == NULL) return ax_set_error(AX_ERR_OUT_OF_MEMORY, "store: out of memory");
    memcpy(w->names[w->num_names++], name, n);
    return AX_OK;
}

static void free_writer(ax_store_writer *w) {
    if (w->lock_fd >= 0) close(w->lock_fd); /* after the commit's rename: the next appender sees it */
    for (int64_t i = 0; i < w->num_names; i++) free(w->names[i]);
    free(w->names);
    free(w);
}

static ax_status check_schema(ax_h5 *h, int64_t *schema_version) {
    int64_t version = 0;
    if (!ax_h5_has_attr(h, "/", "axial_schema_version"))
        return ax_set_error(AX_ERR_FORMAT, "%s: not an Axial feature store (no axial_schema_version attribute)",
                            ax_h5_path(h));
    AX_CHECK(ax_h5_get_attr_int(h, "/", "axial_schema_version", &version)); /* there, but not one integer */
    if (version < AX_STORE_SCHEMA_VERSION_MIN || version > AX_STORE_SCHEMA_VERSION)
        return ax_set_error(AX_ERR_FORMAT, "%s: schema version %lld, this Axial reads versions %d to %d", ax_h5_path(h),
                            (long long)version, AX_STORE_SCHEMA_VERSION_MIN, AX_STORE_SCHEMA_VERSION);
    if (!ax_h5_exists(h, "/chains")) return ax_set_error(AX_ERR_FORMAT, "%s: no /chains group", ax_h5_path(h));
    *schema_version = version;
    return AX_OK;
}

/* Writers of one store take turns: each holds an advisory lock (flock) on "<path>.lock" from begin
 * to commit or abort, so the next appender copies a store that already holds the last one's chain
 * (two at once had each copied the old store, and the later rename dropped the other's chain), and
 * a replacement cannot be undone by an appender that copied the store before it. The lock is on a
 * file of its own because HDF5 takes its own flock on the store when it opens it. The lock file
 * stays (removing it would let a waiter hold a lock on an unlinked file). It is created 0666 less
 * the umask and opened read-only when it is another user's (local flock needs no write access), so
 * every user who may write the store may take it; a name too long for ".lock" (NAME_MAX) locks on
 * a hidden, shortened name as the temporaries do. *exists: whether a store is there to append to. */
static ax_status lock_store(const char *path, int *fd_out, int *exists) {
    *fd_out = -1;
    *exists = 0;
    char *target = NULL; /* through symbolic links: one lock per store, whatever name it is written by */
    AX_CHECK(ax_output_target(path, &target));
    const char *slash = strrchr(target, '/');
    const size_t dir_len = slash == NULL ? 0 : (size_t)(slash - target) + 1;
    const char *base = target + dir_len;
    const size_t n = strlen(target) + 64;
    char *lock_path = malloc(n);
    if (lock_path == NULL) {
        free(target);
        return ax_set_error(AX_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    }
    if (strlen(base) + sizeof ".lock" - 1 <= NAME_MAX) {
        snprintf(lock_path, n, "%s.lock", target);
    } else {
        uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a of the whole name */
        for (const char *c = base; *c != '\0'; c++) h = (h ^ (unsigned char)*c) * 0x100000001b3ull;
        snprintf(lock_path, n, "%.*s.%.40s.%016llx.lock", (int)dir_len, target, base, (unsigned long long)h);
    }
    free(target);
    /* Read-write where allowed: NFS emulates flock with POSIX locks, whose exclusive kind needs a
     * descriptor open for writing; read-only where the file is another user's (local flock is fine). */
    int fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0 && (errno == EACCES || errno == EROFS || errno == EPERM)) fd = open(lock_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        const ax_status st =
            ax_set_error(AX_ERR_IO, "%s: cannot open the store's lock: %s", lock_path, ax_os_error(errno).text);
        free(lock_path);
        return st;
    }
    free(lock_path);
    while (flock(fd, LOCK_EX) != 0 && errno == EINTR) {
    } /* any other failure (no locks on this file system): go on unlocked */
    *fd_out = fd;
    struct stat info;
    if (stat(path, &info) == 0) {
        *exists = 1;
        return AX_OK;
    }
    if (errno == ENOENT) return AX_OK;
    return ax_set_error(AX_ERR_IO, "%s: cannot check the existing store to append to: %s", path,
                        ax_os_error(errno).text);
}

ax_status ax_store_begin(const char *path, int append, ax_store_writer **out) {
    if (out == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "out: NULL");
    *out = NULL;
    if (path == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "path: NULL");
    ax_store_writer *w = calloc(1, sizeof *w);
    if (w == NULL) return ax_set_error(AX_ERR_OUT_OF_MEMORY, "store: out of memory");
    w->lock_fd = -1;
    ax_status st = ax_h5_create_atomic(path, &w->h5);
    if (st == AX_OK) st = ax_h5_set_attr_int(w->h5, "/", "axial_schema_version", AX_STORE_SCHEMA_VERSION);
    if (st == AX_OK) {
        char writer[64];
        snprintf(writer, sizeof writer, WRITER_NAME "%s", ax_version_string());
        st = ax_h5_set_attr_string(w->h5, "/", "axial_writer", writer);
    }
    if (st == AX_OK) st = ax_h5_create_group(w->h5, "/chains");
    /* Only a store that does not exist starts empty: one that exists but cannot be read (no
     * permission, an I/O error) must not be replaced by a store without its chains. */
    int exists = 0;
    if (st == AX_OK) st = lock_store(path, &w->lock_fd, &exists);
    if (st == AX_OK && append) {
        ax_store *old = NULL;
        if (exists) {
            st = ax_store_open(path, &old);
            for (int64_t i = 0; st == AX_OK && i < old->num_chains; i++) {
                char src[512];
                chain_path(src, sizeof src, old->names[i], "");
                st = ax_h5_copy(old->h5, src, w->h5, src);
                if (st == AX_OK) st = remember_name(w, old->names[i]);
            }
            ax_store_close(old);
        }
    }
    if (st != AX_OK) {
        ax_h5_close(w->h5);
        free_writer(w);
        return st;
    }
    *out = w;
    return AX_OK;
}

/* Features must be self-consistent before they are written: the reader trusts nothing, but the
 * writer should not produce a store the reader rejects. */
static ax_status check_features(const ax_chain_features *f) {
    if (f == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "features: NULL");
    if (f->seq_length < 1 || f->num_alignments < 1)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "features: seq_length %lld and num_alignments %lld must be >= 1",
                            (long long)f->seq_length, (long long)f->num_alignments);
    if (f->sequence == NULL || f->aatype == NULL || f->residue_index == NULL || f->msa == NULL ||
        f->deletion_matrix == NULL)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "features: a required array is NULL");
    if ((int64_t)strlen(f->sequence) != f->seq_length)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "features: sequence has %zu letters, seq_length is %lld",
                            strlen(f->sequence), (long long)f->seq_length);
    if ((f->all_atom_positions == NULL) != (f->all_atom_mask == NULL))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "features: all_atom_positions and all_atom_mask come together");
    /* The values the reader checks, checked here too, before anything is written. */
    for (int64_t i = 0; i < f->seq_length; i++)
        if (f->aatype[i] < 0 || f->aatype[i] > AX_RESTYPE_UNKNOWN)
            return ax_set_error(AX_ERR_INVALID_ARGUMENT, "features: aatype[%lld] is %d, outside [0, %d]", (long long)i,
                                (int)f->aatype[i], AX_RESTYPE_UNKNOWN);
    const int64_t cells = f->num_alignments * f->seq_length;
    for (int64_t i = 0; i < cells; i++) {
        if (f->msa[i] < 0 || f->msa[i] > 21)
            return ax_set_error(AX_ERR_INVALID_ARGUMENT, "features: msa row %lld column %lld is %d, outside 0..21",
                                (long long)(i / f->seq_length), (long long)(i % f->seq_length), (int)f->msa[i]);
        if (f->deletion_matrix[i] < 0)
            return ax_set_error(AX_ERR_INVALID_ARGUMENT, "features: deletion_matrix row %lld column %lld is %d, negative",
                                (long long)(i / f->seq_length), (long long)(i % f->seq_length),
                                (int)f->deletion_matrix[i]);
    }
    return AX_OK;
}

/* ax_h5_write_matrix sources for the MSA arrays: rows converted to bytes, a band of rows at a time. */
typedef struct msa_fill {
    const ax_chain_features *f;
    uint32_t deletion_bits; /* OR of every deletion count, set by fill_tokens */
} msa_fill;

static ax_status fill_tokens(void *ctx, int64_t first_row, int64_t rows, void *buf) {
    msa_fill *fill = ctx;
    const int64_t first = first_row * fill->f->seq_length, count = rows * fill->f->seq_length;
    const int32_t *restrict msa = fill->f->msa + first;
    const int32_t *restrict deletions = fill->f->deletion_matrix + first;
    uint8_t *restrict tokens = buf;
    uint32_t token_max = 0, deletion_bits = 0;
    /* Branch-free (it vectorises); an out-of-range token, negative ones included as large unsigned
     * values, shows in the maximum, and only then is the band searched for the first one to name. */
    for (int64_t i = 0; i < count; i++) {
        const uint32_t token = (uint32_t)msa[i];
        tokens[i] = (uint8_t)token;
        token_max = token > token_max ? token : token_max;
        deletion_bits |= (uint32_t)deletions[i];
    }
    if (token_max > 21) {
        for (int64_t i = 0; i < count; i++)
            if (msa[i] < 0 || msa[i] > 21)
                return ax_set_error(AX_ERR_INVALID_ARGUMENT, "features: msa row %lld column %lld is %d, outside 0..21",
                                    (long long)((first + i) / fill->f->seq_length),
                                    (long long)((first + i) % fill->f->seq_length), (int)msa[i]);
    }
    fill->deletion_bits |= deletion_bits;
    return AX_OK;
}

static ax_status fill_deletion_bytes(void *ctx, int64_t first_row, int64_t rows, void *buf) {
    const ax_chain_features *f = ((msa_fill *)ctx)->f;
    const int64_t count = rows * f->seq_length;
    const int32_t *restrict deletions = f->deletion_matrix + first_row * f->seq_length;
    uint8_t *restrict bytes = buf;
    for (int64_t i = 0; i < count; i++) bytes[i] = (uint8_t)deletions[i];
    return AX_OK;
}

ax_status ax_store_add_chain(ax_store_writer *w, const char *name, const ax_chain_features *f, const char *sources) {
    if (w == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "writer: NULL");
    AX_CHECK(check_name(name));
    AX_CHECK(check_features(f));
    /* An HDF5 attribute lives in its object header, at most 64 KiB; checked before the chain's
     * arrays are written (they had been, then unlinked, leaving their space dead in the file). */
    if (sources != NULL && strlen(sources) > AX_STORE_MAX_SOURCES)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "sources: %zu bytes, at most %d", strlen(sources),
                            AX_STORE_MAX_SOURCES);
    for (int64_t i = 0; i < w->num_names; i++)
        if (strcmp(w->names[i], name) == 0)
            return ax_set_error(AX_ERR_INVALID_ARGUMENT, "name: chain '%s' is already in %s", name, ax_h5_path(w->h5));

    const int64_t L = f->seq_length, N = f->num_alignments;
    char group[512], p[600];
    chain_path(group, sizeof group, name, "");
    ax_status st = ax_h5_create_group(w->h5, group);
    const int64_t shape_l[1] = {L}, shape_msa[2] = {N, L};
    const int64_t shape_pos[3] = {L, 37, 3}, shape_mask[2] = {L, 37};
#define PATH(leaf) (chain_path(p, sizeof p, name, leaf), p)
    if (st == AX_OK) st = ax_h5_write_string(w->h5, PATH("sequence"), f->sequence);
    if (st == AX_OK) st = ax_h5_write(w->h5, PATH("seq_length"), AX_I64, 0, NULL, &L);
    if (st == AX_OK) st = ax_h5_write(w->h5, PATH("aatype"), AX_I32, 1, shape_l, f->aatype);
    if (st == AX_OK) st = ax_h5_write(w->h5, PATH("residue_index"), AX_I32, 1, shape_l, f->residue_index);
    if (st == AX_OK) st = ax_h5_write(w->h5, PATH("num_alignments"), AX_I64, 0, NULL, &N);
    /* Tokens fit a byte (0..21), and deletion counts nearly always do. Both are stored in column
     * blocks (MSA_CHUNK_COLS), checksummed, and by default uncompressed: a training batch reads
     * only its crop's columns and copies them, where inflating them cost several times the batch
     * itself (docs/feature-store.md has the file-size side of that trade, and the writer can choose
     * the other side: msa_deflate_level). The conversions run a band of rows at a time, so no
     * converted copy of the whole MSA is ever allocated. The token pass also finds whether every
     * deletion fits a byte. */
    msa_fill fill = {f, 0};
    if (st == AX_OK)
        st = ax_h5_write_matrix(w->h5, PATH("msa/tokens"), AX_U8, N, L, MSA_CHUNK_ROWS, MSA_CHUNK_COLS,
                                w->msa_deflate_level, fill_tokens, &fill);
    if (st == AX_OK && (fill.deletion_bits & ~(uint32_t)UINT8_MAX) == 0)
        st = ax_h5_write_matrix(w->h5, PATH("msa/deletions"), AX_U8, N, L, MSA_CHUNK_ROWS, MSA_CHUNK_COLS,
                                w->msa_deflate_level, fill_deletion_bytes, &fill);
    else if (st == AX_OK) /* rare: any count above 255; compressed, read through HDF5's filters */
        st = ax_h5_write(w->h5, PATH("msa/deletions"), AX_I32, 2, shape_msa, f->deletion_matrix);
    if (st == AX_OK && f->all_atom_positions != NULL) {
        st = ax_h5_write(w->h5, PATH("all_atom_positions"), AX_F32, 3, shape_pos, f->all_atom_positions);
        if (st == AX_OK) st = ax_h5_write(w->h5, PATH("all_atom_mask"), AX_F32, 2, shape_mask, f->all_atom_mask);
        if (st == AX_OK) st = ax_h5_write(w->h5, PATH("resolution"), AX_F64, 0, NULL, &f->resolution);
    }
#undef PATH
    if (st == AX_OK) st = ax_h5_set_attr_string(w->h5, group, "sources", sources != NULL ? sources : "");
    if (st == AX_OK) {
        char writer[64];
        snprintf(writer, sizeof writer, WRITER_NAME "%s", ax_version_string());
        st = ax_h5_set_attr_string(w->h5, group, "parser_version", writer);
    }
    if (st == AX_OK) st = remember_name(w, name);
    /* A failure half-way leaves nothing behind: the writer stays usable and the name free. */
    if (st != AX_OK) ax_h5_remove(w->h5, group);
    return st;
}

ax_status ax_store_writer_set_msa_compression(ax_store_writer *w, int level) {
    if (w == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "writer: NULL");
    if (level < 0 || level > 9)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "level: %d, expected 0 (no MSA compression) or a deflate level 1..9",
                            level);
    w->msa_deflate_level = level;
    return AX_OK;
}

ax_status ax_store_commit(ax_store_writer *w) {
    if (w == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "writer: NULL");
    ax_status st = ax_h5_commit(w->h5);
    free_writer(w);
    return st;
}

void ax_store_abort(ax_store_writer *w) {
    if (w == NULL) return;
    ax_h5_close(w->h5);
    free_writer(w);
}

ax_status ax_store_open(const char *path, ax_store **out) {
    if (out == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "out: NULL");
    *out = NULL;
    ax_store *s = calloc(1, sizeof *s);
    if (s == NULL) return ax_set_error(AX_ERR_OUT_OF_MEMORY, "store: out of memory");
    ax_status st = ax_h5_open_read(path, &s->h5);
    if (st == AX_OK) st = check_schema(s->h5, &s->schema_version);
    if (st == AX_OK) st = ax_h5_list(s->h5, "/chains", &s->num_chains, &s->names);
    /* Names as the writer makes them: a crafted one (bytes that are not UTF-8, or longer than the
     * paths built from it) had broken Python's listing of the whole store, or been cut off. */
    for (int64_t i = 0; st == AX_OK && i < s->num_chains; i++) {
        char p[600];
        if (check_name(s->names[i]) != AX_OK)
            st = ax_set_error(AX_ERR_FORMAT, "%s: chain name '%s' is not one Axial writes (letters, digits and _-:+, "
                              "at most %d)", path, ax_quote(s->names[i]).text, MAX_NAME);
        else if (chain_path(p, sizeof p, s->names[i], ""), !ax_h5_exists(s->h5, p))
            st = ax_set_error(AX_ERR_FORMAT, "%s: chain '%s' is a link (to another file or place), not a group of its "
                              "own; links are not followed", path, s->names[i]);
    }
    if (st != AX_OK) {
        ax_store_close(s);
        return st;
    }
    *out = s;
    return AX_OK;
}

void ax_store_close(ax_store *s) {
    if (s == NULL) return;
    ax_h5_free_names(s->num_chains, s->names);
    ax_h5_close(s->h5);
    free(s);
}

int64_t ax_store_schema_version(const ax_store *s) { return s != NULL ? s->schema_version : 0; }

int64_t ax_store_num_chains(const ax_store *s) { return s != NULL ? s->num_chains : 0; }

const char *ax_store_chain_name(const ax_store *s, int64_t index) {
    return s != NULL && index >= 0 && index < s->num_chains ? s->names[index] : NULL;
}

static ax_status find_chain(ax_store *s, const char *name) {
    if (s == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "store: NULL");
    if (name == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "name: NULL");
    for (int64_t i = 0; i < s->num_chains; i++)
        if (strcmp(s->names[i], name) == 0) return AX_OK;
    return ax_set_error(AX_ERR_INVALID_ARGUMENT, "name: no chain '%s' in %s (%lld chains)", name, ax_h5_path(s->h5),
                        (long long)s->num_chains);
}

/* A scalar int64 dataset in 1..INT32_MAX (the batch builder's limit for N and L). */
static ax_status read_count(ax_store *s, const char *name, const char *leaf, int64_t *value) {
    char p[600];
    chain_path(p, sizeof p, name, leaf);
    AX_CHECK(ax_h5_read(s->h5, p, AX_I64, 0, NULL, value));
    if (*value < 1 || *value > INT32_MAX)
        return ax_set_error(AX_ERR_FORMAT, "%s: %s is %lld, expected 1..%d", ax_h5_path(s->h5), p, (long long)*value,
                            INT32_MAX);
    return AX_OK;
}

/* N x L MSA cells at most: what a reader sizes its buffers from (2 bytes a cell, or 4) before any
 * array's shape is checked against N and L, so a hostile pair of counts cannot overflow a size. */
#define STORE_MAX_MSA_CELLS ((int64_t)1 << 40)

/* The counts against the arrays they describe, before any reader sizes a buffer by them: a crafted
 * num_alignments of 2^30 had been an "out of memory" naming neither file nor dataset, and counts
 * under 2^40 cells still cost gigabytes before the shapes were compared. aatype is (L); msa/tokens
 * (N, L), or flat (N * L) in schema 1 chains. */
static ax_status check_counts_against_arrays(ax_store *s, const char *name, int64_t L, int64_t N) {
    char p[600];
    const int64_t shape_l[1] = {L}, shape_msa[2] = {N, L}, shape_flat[1] = {N * L};
    chain_path(p, sizeof p, name, "aatype");
    AX_CHECK(ax_h5_expect_shape(s->h5, p, AX_I32, 1, shape_l));
    chain_path(p, sizeof p, name, "msa/row_offsets");
    const int flat = ax_h5_exists(s->h5, p);
    chain_path(p, sizeof p, name, "msa/tokens");
    return ax_h5_expect_shape(s->h5, p, AX_U8, flat ? 1 : 2, flat ? shape_flat : shape_msa);
}

ax_status ax_store_chain_info_get(ax_store *s, const char *name, ax_store_chain_info *info) {
    AX_CHECK(find_chain(s, name));
    if (info == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "info: NULL");
    ax_store_chain_info got; /* *info is written only on success */
    memset(&got, 0, sizeof got);
    AX_CHECK(read_count(s, name, "seq_length", &got.seq_length));
    AX_CHECK(read_count(s, name, "num_alignments", &got.num_alignments));
    if (got.num_alignments > STORE_MAX_MSA_CELLS / got.seq_length)
        return ax_set_error(AX_ERR_FORMAT, "%s: chain %s has %lld alignments of %lld columns, more than 2^40 cells",
                            ax_h5_path(s->h5), name, (long long)got.num_alignments, (long long)got.seq_length);
    AX_CHECK(check_counts_against_arrays(s, name, got.seq_length, got.num_alignments));
    char p[600];
    chain_path(p, sizeof p, name, "all_atom_positions");
    got.has_structure = ax_h5_exists(s->h5, p);
    if (got.has_structure) {
        chain_path(p, sizeof p, name, "resolution");
        AX_CHECK(ax_h5_read(s->h5, p, AX_F64, 0, NULL, &got.resolution));
    }
    chain_path(p, sizeof p, name, "");
    char *sources = NULL;
    AX_CHECK(ax_h5_get_attr_string(s->h5, p, "sources", AX_STORE_MAX_SOURCES + 1, &sources));
    snprintf(got.sources, sizeof got.sources, "%s", sources);
    free(sources);
    *info = got;
    return AX_OK;
}

/* The chain's MSA layout: schema 1 stored it flat, (N * L) with row_offsets; schema 2 as (N, L)
 * matrices. A schema 2 file can hold schema 1 chains (appending copies chains as they are), so
 * the layout is decided per chain, by the presence of row_offsets. Flat offsets are checked: rows
 * of L columns each. */
static ax_status msa_layout(ax_store *s, const char *name, int64_t N, int64_t L, int32_t *ndim) {
    char p[600];
    chain_path(p, sizeof p, name, "msa/row_offsets");
    *ndim = 2;
    if (!ax_h5_exists(s->h5, p)) return AX_OK;
    *ndim = 1;
    int64_t *offsets = malloc((size_t)(N + 1) * sizeof(int64_t));
    if (offsets == NULL) return ax_set_error(AX_ERR_OUT_OF_MEMORY, "store: out of memory");
    const int64_t shape_off[1] = {N + 1};
    ax_status st = ax_h5_read(s->h5, p, AX_I64, 1, shape_off, offsets);
    for (int64_t r = 0; st == AX_OK && r <= N; r++)
        if (offsets[r] != r * L)
            st = ax_set_error(AX_ERR_FORMAT, "%s: %s[%lld] is %lld, expected %lld (rows of %lld columns)",
                              ax_h5_path(s->h5), p, (long long)r, (long long)offsets[r], (long long)(r * L), (long long)L);
    free(offsets);
    return st;
}

/* Reads columns [first, first + count) of the chain's tokens and deletions, every row: tokens
 * into `tokens` (N x count bytes); deletions into `deletion_bytes` when stored as uint8, else
 * into `*wide` (allocated here, N x count int32, checked >= 0). Tokens are not range-checked
 * here: whoever uses them reports a bad one with its row and column. */
static ax_status read_msa_columns(ax_store *s, const char *name, int64_t N, int64_t L, int32_t ndim, int64_t first,
                                  int64_t count, uint8_t *tokens, uint8_t *deletion_bytes, int32_t **wide) {
    char p[600];
    *wide = NULL;
    chain_path(p, sizeof p, name, "msa/tokens");
    AX_CHECK(ax_h5_read_columns(s->h5, p, AX_U8, ndim, N, L, first, count, tokens));
    /* Deletions are uint8 when every count fits a byte (as the writer stores them; never
     * negative), else int32; any other type gets the int32 read's error message. */
    chain_path(p, sizeof p, name, "msa/deletions");
    if (ax_h5_stored_as(s->h5, p, AX_U8)) return ax_h5_read_columns(s->h5, p, AX_U8, ndim, N, L, first, count, deletion_bytes);
    int32_t *d = malloc((size_t)(N * count) * sizeof *d);
    if (d == NULL) return ax_set_error(AX_ERR_OUT_OF_MEMORY, "store: out of memory");
    ax_status st = ax_h5_read_columns(s->h5, p, AX_I32, ndim, N, L, first, count, d);
    for (int64_t i = 0; st == AX_OK && i < N * count; i++)
        if (d[i] < 0)
            st = ax_set_error(AX_ERR_FORMAT, "%s: chain %s msa/deletions row %lld column %lld is negative (%d)",
                              ax_h5_path(s->h5), name, (long long)(i / count), (long long)(first + i % count), (int)d[i]);
    if (st != AX_OK) {
        free(d);
        return st;
    }
    *wide = d;
    return AX_OK;
}

ax_status ax_store_read_chain(ax_store *s, const char *name, ax_chain_features **out) {
    if (out == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "out: NULL");
    *out = NULL;
    ax_store_chain_info info;
    AX_CHECK(ax_store_chain_info_get(s, name, &info));
    const int64_t L = info.seq_length, N = info.num_alignments;
    ax_chain_features *f = NULL;
    AX_CHECK(ax_chain_features_alloc(L, N, info.has_structure, &f));
    char p[600];
    const int64_t shape_l[1] = {L}, shape_pos[3] = {L, 37, 3}, shape_mask[2] = {L, 37};
    char *sequence = NULL;
    int32_t msa_ndim = 2, *wide = NULL;
    ax_status st = AX_OK;
#define PATH(leaf) (chain_path(p, sizeof p, name, leaf), p)
    if (st == AX_OK) st = ax_h5_read_string(s->h5, PATH("sequence"), (size_t)L + 1, &sequence);
    if (st == AX_OK && (int64_t)strlen(sequence) != L)
        st = ax_set_error(AX_ERR_FORMAT, "%s: %s has %zu letters, seq_length is %lld", ax_h5_path(s->h5), p,
                          strlen(sequence), (long long)L);
    if (st == AX_OK) memcpy(f->sequence, sequence, (size_t)L + 1);
    if (st == AX_OK) st = ax_h5_read(s->h5, PATH("aatype"), AX_I32, 1, shape_l, f->aatype);
    if (st == AX_OK) st = ax_h5_read(s->h5, PATH("residue_index"), AX_I32, 1, shape_l, f->residue_index);
    if (st == AX_OK) st = msa_layout(s, name, N, L, &msa_ndim);
    /* Tokens and byte deletions are read into byte buffers and widened in one forward pass that
     * also finds the largest token, so the range check costs a compare per element only when
     * something is out of range. */
    uint8_t *bytes = st == AX_OK ? malloc((size_t)(2 * N * L)) : NULL;
    if (st == AX_OK && bytes == NULL) st = ax_set_error(AX_ERR_OUT_OF_MEMORY, "store: out of memory");
    uint8_t *deletion_bytes = bytes != NULL ? bytes + N * L : NULL;
    if (st == AX_OK) st = read_msa_columns(s, name, N, L, msa_ndim, 0, L, bytes, deletion_bytes, &wide);
    if (st == AX_OK) {
        uint8_t token_max = 0;
        for (int64_t i = 0; i < N * L; i++) {
            f->msa[i] = bytes[i];
            token_max = bytes[i] > token_max ? bytes[i] : token_max;
        }
        for (int64_t i = 0; token_max > 21 && i < N * L; i++)
            if (bytes[i] > 21) {
                st = ax_set_error(AX_ERR_FORMAT, "%s: chain %s msa/tokens row %lld column %lld is %d, outside 0..21",
                                  ax_h5_path(s->h5), name, (long long)(i / L), (long long)(i % L), (int)bytes[i]);
                break;
            }
        if (wide != NULL) memcpy(f->deletion_matrix, wide, (size_t)(N * L) * sizeof *wide);
        else
            for (int64_t i = 0; i < N * L; i++) f->deletion_matrix[i] = deletion_bytes[i];
    }
    free(bytes);
    free(wide);
    if (info.has_structure) {
        if (st == AX_OK) st = ax_h5_read(s->h5, PATH("all_atom_positions"), AX_F32, 3, shape_pos, f->all_atom_positions);
        if (st == AX_OK) st = ax_h5_read(s->h5, PATH("all_atom_mask"), AX_F32, 2, shape_mask, f->all_atom_mask);
        f->resolution = info.resolution;
    }
#undef PATH
    /* Values the rest of Axial indexes with must be in range. */
    for (int64_t i = 0; st == AX_OK && i < L; i++)
        if (f->aatype[i] < 0 || f->aatype[i] > 20)
            st = ax_set_error(AX_ERR_FORMAT, "%s: chain %s aatype[%lld] is %d, outside 0..20", ax_h5_path(s->h5), name,
                              (long long)i, (int)f->aatype[i]);
    free(sequence);
    if (st != AX_OK) {
        ax_chain_features_destroy(f);
        return st;
    }
    *out = f;
    return AX_OK;
}

ax_status ax_store_read_batch(ax_store *s, const char *name, const ax_feature_batch_config *cfg,
                              ax_feature_batch **out) {
    if (out == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "out: NULL");
    *out = NULL;
    const ax_feature_batch_config defaults = AX_FEATURE_BATCH_CONFIG_INIT;
    if (cfg == NULL) cfg = &defaults;
    AX_CHECK(ax_batch_check_config(cfg));
    ax_store_chain_info info;
    AX_CHECK(ax_store_chain_info_get(s, name, &info));
    const int64_t L = info.seq_length, N = info.num_alignments;
    int64_t crop_start = 0, crop_length = 0;
    ax_batch_crop_window(cfg, L, &crop_start, &crop_length);

    char p[600];
    const int64_t shape_l[1] = {L}, shape_pos[3] = {L, 37, 3}, shape_mask[2] = {L, 37};
    /* The per-residue arrays are small and read whole; of the MSA, only the crop's columns. */
    int32_t *residues = malloc((size_t)(2 * L) * sizeof *residues);
    float *atoms = info.has_structure ? malloc((size_t)(L * 37 * 4) * sizeof *atoms) : NULL;
    uint8_t *bytes = malloc((size_t)(2 * N * crop_length));
    int32_t msa_ndim = 2, *wide = NULL;
    ax_status st = AX_OK;
    if (residues == NULL || bytes == NULL || (info.has_structure && atoms == NULL))
        st = ax_set_error(AX_ERR_OUT_OF_MEMORY, "store: out of memory for chain %s", name);
#define PATH(leaf) (chain_path(p, sizeof p, name, leaf), p)
    if (st == AX_OK) st = ax_h5_read(s->h5, PATH("aatype"), AX_I32, 1, shape_l, residues);
    if (st == AX_OK) st = ax_h5_read(s->h5, PATH("residue_index"), AX_I32, 1, shape_l, residues + L);
    if (st == AX_OK && info.has_structure) {
        st = ax_h5_read(s->h5, PATH("all_atom_positions"), AX_F32, 3, shape_pos, atoms);
        if (st == AX_OK) st = ax_h5_read(s->h5, PATH("all_atom_mask"), AX_F32, 2, shape_mask, atoms + L * 37 * 3);
    }
#undef PATH
    if (st == AX_OK) st = msa_layout(s, name, N, L, &msa_ndim);
    if (st == AX_OK)
        st = read_msa_columns(s, name, N, L, msa_ndim, crop_start, crop_length, bytes, bytes + N * crop_length, &wide);
    if (st == AX_OK) {
        char aatype_name[700], msa_name[700], deletions_name[700];
        snprintf(aatype_name, sizeof aatype_name, "%s: chain %s aatype", ax_h5_path(s->h5), name);
        snprintf(msa_name, sizeof msa_name, "%s: chain %s msa/tokens", ax_h5_path(s->h5), name);
        snprintf(deletions_name, sizeof deletions_name, "%s: chain %s msa/deletions", ax_h5_path(s->h5), name);
        const ax_batch_source source = {
            .seq_length = L,
            .num_alignments = N,
            .aatype = residues,
            .residue_index = residues + L,
            .all_atom_positions = atoms,
            .all_atom_mask = atoms != NULL ? atoms + L * 37 * 3 : NULL,
            .msa_first_column = crop_start,
            .msa_columns = crop_length,
            .msa_stride = crop_length,
            .msa_bytes = bytes,
            .deletion_bytes = wide == NULL ? bytes + N * crop_length : NULL,
            .deletions = wide,
            .aatype_name = aatype_name,
            .msa_name = msa_name,
            .deletions_name = deletions_name,
        };
        st = ax_batch_build(&source, cfg, out);
        /* A bad value here is the file's fault, not the caller's. */
        if (st == AX_ERR_INVALID_ARGUMENT) st = AX_ERR_FORMAT;
    }
    free(residues);
    free(atoms);
    free(bytes);
    free(wide);
    return st;
}
