/*
 * h5.c — see h5.h. HDF5 is called only from here. Every call is checked; HDF5's automatic error
 * printing is switched off and the innermost message of its error stack goes into ax_last_error().
 *
 * Not thread-safe: the Debian HDF5 library is built without its thread-safety option, so callers
 * serialise store operations (documented in store.h).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "io/h5.h"

#include <errno.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/internal.h"
#include "io/fletcher32.h"
#include "core/grow.h"
#include "io/h5_driver.h"
#include "io/output_file.h"

struct ax_h5 {
    hid_t file;
    char *final_path; /* where the file is (reading) or will be (writing), as the caller named it */
    ax_output_file out; /* writing: the temporary and the file it replaces; zeroed when reading */
    ax_h5_disk disk;  /* writing: what the driver reports (h5_driver.h) */
};

/* ---- errors ------------------------------------------------------------------------------------ */

static void silence_hdf5(void) {
    static int done;
    if (!done) {
        H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
        done = 1;
    }
}

typedef struct stack_message {
    char text[256];
} stack_message;

/* Keeps the innermost description (the first entry walking downward is the outermost API call; the
 * last one says what actually went wrong). */
static herr_t keep_message(unsigned n, const H5E_error2_t *err, void *client) {
    (void)n;
    stack_message *m = client;
    if (err->desc != NULL && err->desc[0] != '\0') {
        snprintf(m->text, sizeof m->text, "%s", err->desc);
        /* Some descriptions span lines (time, file name, errno...): keep messages on one line. */
        for (char *c = m->text; *c; c++)
            if (*c == '\n' || *c == '\r') *c = ' ';
    }
    return 0;
}

/* Sets ax_last_error to "<path>: <what>: <HDF5's reason>" and clears HDF5's stack. */
static ax_status h5_error(ax_status status, const char *path, const char *what) {
    stack_message m;
    m.text[0] = '\0';
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, keep_message, &m);
    H5Eclear2(H5E_DEFAULT);
    if (m.text[0] != '\0') return ax_set_error(status, "%s: %s: %s", path, what, m.text);
    return ax_set_error(status, "%s: %s", path, what);
}

/* ---- files ------------------------------------------------------------------------------------- */

const char *ax_h5_path(const ax_h5 *h) { return h->final_path; }

/* The status for the driver's errno: memory running out is not an I/O error. */
static ax_status disk_error_status(int err) { return err == ENOMEM ? AX_ERR_OUT_OF_MEMORY : AX_ERR_IO; }

ax_status ax_h5_create_atomic(const char *final_path, ax_h5 **out) {
    silence_hdf5();
    *out = NULL;
    if (final_path == NULL || final_path[0] == '\0') return ax_set_error(AX_ERR_INVALID_ARGUMENT, "path: empty");
    ax_h5 *h = calloc(1, sizeof *h);
    if (h == NULL || (h->final_path = ax_strndup(final_path, strlen(final_path))) == NULL) {
        free(h);
        return ax_set_error(AX_ERR_OUT_OF_MEMORY, "%s: out of memory", final_path);
    }
    /* The temporary is made first, so that it is ours to remove if HDF5 then fails. Axial's driver
     * writes through its descriptor, so it can be unnamed (a writer killed midway leaves nothing);
     * HDF5's own driver opens it by name. */
    ax_status st = ax_output_begin(final_path, AX_H5_OWN_DRIVER ? 0 : AX_OUTPUT_NAMED, &h->out);
    if (st != AX_OK) {
        free(h->final_path);
        free(h);
        return st;
    }
    h->disk.fd = h->out.fd;
    const hid_t fapl = ax_h5_driver_fapl(&h->disk);
    /* The name is HDF5's label for the file; Axial's driver opens the descriptor whatever it says. */
    h->file = fapl >= 0 ? H5Fcreate(h->out.named ? h->out.temp : final_path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl)
                        : -1;
    if (fapl >= 0) H5Pclose(fapl);
    if (h->file >= 0 && h->disk.error != 0) { /* the superblock did not reach the disk */
        H5Fclose(h->file);
        h->file = -1;
    }
    if (h->file < 0) {
        if (h->disk.error != 0)
            st = ax_set_error(disk_error_status(h->disk.error), "%s: cannot create a temporary file beside it: %s",
                              final_path, ax_os_error(h->disk.error).text);
        else
            st = h5_error(AX_ERR_IO, final_path, "cannot create a temporary file beside it");
        ax_output_discard(&h->out);
        free(h->final_path);
        free(h);
        return st;
    }
    *out = h;
    return AX_OK;
}

ax_status ax_h5_open_read(const char *path, ax_h5 **out) {
    silence_hdf5();
    *out = NULL;
    if (path == NULL || path[0] == '\0') return ax_set_error(AX_ERR_INVALID_ARGUMENT, "path: empty");
    if (access(path, R_OK) != 0) return ax_set_error(AX_ERR_IO, "%s: %s", path, ax_os_error(errno).text);
    /* A FIFO would block the read below for good; a directory is no store either. */
    struct stat info;
    if (stat(path, &info) == 0 && !S_ISREG(info.st_mode))
        return ax_set_error(AX_ERR_IO, "%s: %s, not a regular file", path,
                            S_ISDIR(info.st_mode) ? "is a directory" : "is a device, FIFO or socket");
    htri_t is_h5 = H5Fis_hdf5(path);
    if (is_h5 <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return ax_set_error(AX_ERR_FORMAT, "%s: not an HDF5 file", path);
    }
    ax_h5 *h = calloc(1, sizeof *h);
    if (h == NULL || (h->final_path = ax_strndup(path, strlen(path))) == NULL) {
        free(h);
        return ax_set_error(AX_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    }
    h->file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (h->file < 0) {
        ax_status st = h5_error(AX_ERR_FORMAT, path, "cannot open as HDF5");
        free(h->final_path);
        free(h);
        return st;
    }
    *out = h;
    return AX_OK;
}

/* Once a write to the temporary has failed (h5_driver.h), the file is lost: every later write
 * operation answers with that failure, without touching HDF5, and the commit discards the file. */
static ax_status disk_failed(const ax_h5 *h) {
    return ax_set_error(disk_error_status(h->disk.error), "%s: writing its temporary file failed: %s", h->final_path,
                        ax_os_error(h->disk.error).text);
}

static ax_status disk_status(const ax_h5 *h, ax_status st) { return h->disk.error != 0 ? disk_failed(h) : st; }

ax_status ax_h5_commit(ax_h5 *h) {
    ax_status st = AX_OK;
    if (H5Fflush(h->file, H5F_SCOPE_GLOBAL) < 0) st = h5_error(AX_ERR_IO, h->final_path, "flush");
    const int closed = H5Fclose(h->file) >= 0;
    if (!closed && st == AX_OK) st = h5_error(AX_ERR_IO, h->final_path, "close");
    h->file = -1;
    st = disk_status(h, st);
    if (st == AX_OK) st = ax_output_commit(&h->out, h->final_path); /* fsync, close, rename */
    else ax_output_discard(&h->out);
    free(h->final_path);
    h->final_path = NULL;
    /* A file HDF5 failed to close may still be open inside it, its driver pointing at h->disk: h is
     * then left allocated (a small leak) rather than freed under it. */
    if (closed) free(h);
    return st;
}

void ax_h5_close(ax_h5 *h) {
    if (h == NULL) return;
    const int closed = h->file < 0 || H5Fclose(h->file) >= 0;
    H5Eclear2(H5E_DEFAULT);
    ax_output_discard(&h->out);
    free(h->final_path);
    h->final_path = NULL;
    if (closed) free(h); /* as in ax_h5_commit */
}

/* A link-creation property list that makes missing parent groups on the way (close it after). */
static hid_t intermediate_groups(void) {
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    if (lcpl >= 0) H5Pset_create_intermediate_group(lcpl, 1);
    return lcpl;
}

/* ---- groups ------------------------------------------------------------------------------------ */

void ax_h5_remove(ax_h5 *h, const char *path) {
    if (h->disk.error != 0) return; /* the file is being discarded */
    H5E_BEGIN_TRY { (void)H5Ldelete(h->file, path, H5P_DEFAULT); }
    H5E_END_TRY;
}

ax_status ax_h5_create_group(ax_h5 *h, const char *group) {
    if (h->disk.error != 0) return disk_failed(h);
    hid_t lcpl = intermediate_groups();
    if (lcpl < 0) return h5_error(AX_ERR_INTERNAL, h->final_path, "property list");
    hid_t g = H5Gcreate2(h->file, group, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    H5Pclose(lcpl);
    if (g < 0) {
        char what[512];
        snprintf(what, sizeof what, "create group %s", group);
        return h5_error(AX_ERR_IO, h->final_path, what);
    }
    H5Gclose(g);
    return disk_status(h, AX_OK);
}

int ax_h5_exists(ax_h5 *h, const char *path) {
    if (strcmp(path, "/") == 0) return 1;
    /* Each component must exist in turn: H5Lexists fails (rather than saying no) on a missing parent. */
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            const char saved = *p;
            *p = '\0';
            htri_t e = H5Lexists(h->file, buf, H5P_DEFAULT);
            /* Only what the writer makes: hard links. An external link would be followed into
             * another file (a FIFO there would block), a soft one anywhere in this one. */
            H5L_info_t link;
            if (e > 0 && (H5Lget_info(h->file, buf, &link, H5P_DEFAULT) < 0 || link.type != H5L_TYPE_HARD)) e = 0;
            *p = saved;
            if (e <= 0) {
                H5Eclear2(H5E_DEFAULT);
                return 0;
            }
            if (saved == '\0') return 1;
        }
    }
}

typedef struct name_list {
    int64_t count, cap;
    char **names;
    int failed;
} name_list;

static herr_t collect_name(hid_t group, const char *name, const H5L_info_t *info, void *client) {
    (void)group;
    (void)info;
    name_list *l = client;
    if (l->count == l->cap) {
        const int64_t cap = l->cap ? 2 * l->cap : 16;
        char **grown = realloc(l->names, (size_t)cap * sizeof(char *));
        if (grown == NULL) {
            l->failed = 1;
            return -1;
        }
        l->names = grown;
        l->cap = cap;
    }
    if ((l->names[l->count] = ax_strndup(name, strlen(name))) == NULL) {
        l->failed = 1;
        return -1;
    }
    l->count++;
    return 0;
}

void ax_h5_free_names(int64_t count, char **names) {
    for (int64_t i = 0; i < count; i++) free(names[i]);
    free(names);
}

ax_status ax_h5_list(ax_h5 *h, const char *group, int64_t *count, char ***names) {
    *count = 0;
    *names = NULL;
    hid_t g = H5Gopen2(h->file, group, H5P_DEFAULT);
    if (g < 0) {
        char what[512];
        snprintf(what, sizeof what, "open group %s", group);
        return h5_error(AX_ERR_FORMAT, h->final_path, what);
    }
    name_list l = {0, 0, NULL, 0};
    /* Name order, so listings are deterministic. */
    herr_t rc = H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, NULL, collect_name, &l);
    H5Gclose(g);
    if (rc < 0 || l.failed) {
        ax_h5_free_names(l.count, l.names);
        if (l.failed) return ax_set_error(AX_ERR_OUT_OF_MEMORY, "%s: out of memory listing %s", h->final_path, group);
        return h5_error(AX_ERR_FORMAT, h->final_path, "list group");
    }
    *count = l.count;
    *names = l.names;
    return AX_OK;
}

ax_status ax_h5_copy(ax_h5 *src, const char *src_path, ax_h5 *dst, const char *dst_path) {
    if (dst->disk.error != 0) return disk_failed(dst);
    if (H5Ocopy(src->file, src_path, dst->file, dst_path, H5P_DEFAULT, H5P_DEFAULT) < 0) {
        char what[1024];
        snprintf(what, sizeof what, "copy %s from %s", src_path, src->final_path);
        return h5_error(AX_ERR_IO, dst->final_path, what);
    }
    return disk_status(dst, AX_OK);
}

/* ---- datasets ---------------------------------------------------------------------------------- */

static hid_t file_type(ax_dtype dtype) {
    switch (dtype) {
    case AX_F32: return H5T_IEEE_F32LE;
    case AX_F64: return H5T_IEEE_F64LE;
    case AX_I32: return H5T_STD_I32LE;
    case AX_I64: return H5T_STD_I64LE;
    case AX_U8: return H5T_STD_U8LE;
    case AX_I8: return H5T_STD_I8LE;
    default: return -1;
    }
}

static hid_t memory_type(ax_dtype dtype) {
    switch (dtype) {
    case AX_F32: return H5T_NATIVE_FLOAT;
    case AX_F64: return H5T_NATIVE_DOUBLE;
    case AX_I32: return H5T_NATIVE_INT32;
    case AX_I64: return H5T_NATIVE_INT64;
    case AX_U8: return H5T_NATIVE_UINT8;
    case AX_I8: return H5T_NATIVE_INT8;
    default: return -1;
    }
}

/* Chunks of at most ~1 MiB: halve the leading dims until a chunk fits. Deflate level 1: most of the
 * size win of higher levels on shuffled integer data, at a fraction of the time. */
static void choose_chunk(int32_t ndim, const int64_t *shape, size_t elem, hsize_t *chunk) {
    for (int32_t d = 0; d < ndim; d++) chunk[d] = (hsize_t)shape[d];
    for (int32_t d = 0; d < ndim; d++) {
        for (;;) {
            double bytes = (double)elem;
            for (int32_t e = 0; e < ndim; e++) bytes *= (double)chunk[e];
            if (bytes <= 1048576.0 || chunk[d] == 1) break;
            chunk[d] = (chunk[d] + 1) / 2;
        }
    }
}

/* Creates the dataset `path` (and missing groups above it) for ax_h5_write. */
static ax_status create_dataset(ax_h5 *h, const char *path, ax_dtype dtype, int32_t ndim, const int64_t *shape,
                                hid_t *dset_out) {
    *dset_out = -1;
    const hid_t ftype = file_type(dtype);
    if (ftype < 0) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: %s: dtype %s cannot be stored", h->final_path, path,
                                       ax_dtype_name(dtype));
    if (ndim < 0 || ndim > AX_MAX_DIMS) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: %s: bad rank %d", h->final_path, path, (int)ndim);
    hsize_t dims[AX_MAX_DIMS];
    int64_t numel = 1;
    for (int32_t d = 0; d < ndim; d++) {
        dims[d] = (hsize_t)shape[d];
        numel *= shape[d];
    }
    hid_t space = ndim == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(ndim, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    ax_status st = AX_OK;
    if (space < 0 || dcpl < 0) st = h5_error(AX_ERR_INTERNAL, h->final_path, "dataspace");
    /* Tiny and empty datasets stay contiguous: filters need chunks, chunks need non-zero sizes.
     * Filter order: shuffle, deflate, then Fletcher-32 over the compressed bytes, which are
     * several times fewer than the raw ones, and a corrupt chunk fails its checksum before it
     * reaches the decompressor. */
    if (st == AX_OK && ndim > 0 && numel >= 64) {
        hsize_t chunk[AX_MAX_DIMS];
        choose_chunk(ndim, shape, ax_dtype_size(dtype), chunk);
        if (H5Pset_chunk(dcpl, ndim, chunk) < 0 || H5Pset_shuffle(dcpl) < 0 || H5Pset_deflate(dcpl, 1) < 0 ||
            H5Pset_fletcher32(dcpl) < 0)
            st = h5_error(AX_ERR_INTERNAL, h->final_path, "dataset filters");
    }
    hid_t lcpl = intermediate_groups();
    if (st == AX_OK) {
        *dset_out = H5Dcreate2(h->file, path, ftype, space, lcpl, dcpl, H5P_DEFAULT);
        if (*dset_out < 0) {
            char what[512];
            snprintf(what, sizeof what, "create dataset %s", path);
            st = h5_error(AX_ERR_IO, h->final_path, what);
        }
    }
    if (lcpl >= 0) H5Pclose(lcpl);
    if (dcpl >= 0) H5Pclose(dcpl);
    if (space >= 0) H5Sclose(space);
    return st;
}

static ax_status write_failed(ax_h5 *h, const char *path) {
    char what[512];
    snprintf(what, sizeof what, "write dataset %s", path);
    return h5_error(AX_ERR_IO, h->final_path, what);
}

ax_status ax_h5_write(ax_h5 *h, const char *path, ax_dtype dtype, int32_t ndim, const int64_t *shape,
                      const void *data) {
    if (h->disk.error != 0) return disk_failed(h);
    hid_t dset = -1;
    ax_status st = create_dataset(h, path, dtype, ndim, shape, &dset);
    int64_t numel = 1;
    for (int32_t d = 0; st == AX_OK && d < ndim; d++) numel *= shape[d];
    if (st == AX_OK && numel > 0 && H5Dwrite(dset, memory_type(dtype), H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
        st = write_failed(h, path);
    if (dset >= 0) H5Dclose(dset);
    return disk_status(h, st);
}

ax_status ax_h5_write_matrix(ax_h5 *h, const char *path, ax_dtype dtype, int64_t rows, int64_t cols,
                             int64_t chunk_rows, int64_t chunk_cols, int deflate_level, ax_h5_fill_rows_fn fill,
                             void *ctx) {
    if (h->disk.error != 0) return disk_failed(h);
    const hid_t ftype = file_type(dtype);
    if (ftype < 0 || rows < 1 || cols < 1 || chunk_rows < 1 || chunk_cols < 1)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: %s: cannot store a (%lld, %lld) %s matrix in (%lld, %lld) chunks",
                            h->final_path, path, (long long)rows, (long long)cols, ax_dtype_name(dtype),
                            (long long)chunk_rows, (long long)chunk_cols);
    if (deflate_level < 0 || deflate_level > 9)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: %s: deflate level %d, expected 0 (none) to 9", h->final_path,
                            path, deflate_level);
    if (chunk_rows > rows) chunk_rows = rows;
    if (chunk_cols > cols) chunk_cols = cols;
    const hsize_t dims[2] = {(hsize_t)rows, (hsize_t)cols}, chunk[2] = {(hsize_t)chunk_rows, (hsize_t)chunk_cols};
    const size_t elem = ax_dtype_size(dtype);
    hid_t space = H5Screate_simple(2, dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE), lcpl = intermediate_groups();
    hid_t dset = -1;
    ax_status st = AX_OK;
    if (space < 0 || dcpl < 0 || lcpl < 0 || H5Pset_chunk(dcpl, 2, chunk) < 0)
        st = h5_error(AX_ERR_INTERNAL, h->final_path, "dataset properties");
    /* The same pipeline, in the same order, as create_dataset's: the checksum covers the bytes as
     * stored. Shuffle does nothing to 1-byte elements but keeps the filter list the one every
     * compressed dataset of the store has. */
    if (st == AX_OK && deflate_level > 0 && (H5Pset_shuffle(dcpl) < 0 || H5Pset_deflate(dcpl, (unsigned)deflate_level) < 0))
        st = h5_error(AX_ERR_INTERNAL, h->final_path, "dataset filters");
    if (st == AX_OK && H5Pset_fletcher32(dcpl) < 0) st = h5_error(AX_ERR_INTERNAL, h->final_path, "dataset filters");
    if (st == AX_OK && (dset = H5Dcreate2(h->file, path, ftype, space, lcpl, dcpl, H5P_DEFAULT)) < 0) {
        char what[512];
        snprintf(what, sizeof what, "create dataset %s", path);
        st = h5_error(AX_ERR_IO, h->final_path, what);
    }
    void *buf = st == AX_OK ? malloc((size_t)chunk_rows * (size_t)cols * elem) : NULL;
    if (st == AX_OK && buf == NULL) st = ax_set_error(AX_ERR_OUT_OF_MEMORY, "%s: out of memory", h->final_path);
    /* One band of whole chunks per write: HDF5 never has to read a chunk back to merge a part. A
     * failed write stops the bands (the driver would hold the rest in memory). */
    for (int64_t r0 = 0; st == AX_OK && h->disk.error == 0 && r0 < rows; r0 += chunk_rows) {
        const int64_t n = rows - r0 < chunk_rows ? rows - r0 : chunk_rows;
        st = fill(ctx, r0, n, buf);
        if (st != AX_OK) break;
        const hsize_t start[2] = {(hsize_t)r0, 0}, count[2] = {(hsize_t)n, (hsize_t)cols};
        hid_t mspace = H5Screate_simple(2, count, NULL);
        const int ok = mspace >= 0 && H5Sselect_hyperslab(space, H5S_SELECT_SET, start, NULL, count, NULL) >= 0 &&
                       H5Dwrite(dset, memory_type(dtype), mspace, space, H5P_DEFAULT, buf) >= 0;
        if (mspace >= 0) H5Sclose(mspace);
        if (!ok) st = write_failed(h, path);
    }
    free(buf);
    if (dset >= 0) H5Dclose(dset);
    if (lcpl >= 0) H5Pclose(lcpl);
    if (dcpl >= 0) H5Pclose(dcpl);
    if (space >= 0) H5Sclose(space);
    return disk_status(h, st);
}

static hid_t string_type_cset(size_t length, H5T_cset_t cset) {
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0) return t;
    H5Tset_size(t, length > 0 ? length : 1);
    H5Tset_strpad(t, H5T_STR_NULLPAD);
    H5Tset_cset(t, cset);
    return t;
}

static hid_t string_type(size_t length) { return string_type_cset(length, H5T_CSET_UTF8); }

/* Reading a stored string: the memory type takes the file's character set (HDF5 converts no ASCII
 * string to UTF-8: h5py's bytes and C's H5T_C_S1 had been refused). The bytes are kept as stored. */
static hid_t string_read_type(hid_t file_type, size_t length) {
    const H5T_cset_t cset = H5Tget_cset(file_type);
    return string_type_cset(length, cset == H5T_CSET_ASCII ? H5T_CSET_ASCII : H5T_CSET_UTF8);
}

/* 1 when a dataspace holds exactly one element (scalar, or any shape of one): what the store's
 * scalars are. A crafted file with more had been read into a buffer of one. */
static int one_element(hid_t space) { return space >= 0 && H5Sget_simple_extent_npoints(space) == 1; }

ax_status ax_h5_write_string(ax_h5 *h, const char *path, const char *value) {
    if (h->disk.error != 0) return disk_failed(h);
    const size_t n = strlen(value);
    hid_t type = string_type(n);
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t lcpl = intermediate_groups();
    ax_status st = AX_OK;
    hid_t dset = type >= 0 && space >= 0 ? H5Dcreate2(h->file, path, type, space, lcpl, H5P_DEFAULT, H5P_DEFAULT) : -1;
    /* An empty string is stored as one NUL byte (HDF5 strings have size >= 1). */
    const char empty[1] = {0};
    if (dset < 0 || H5Dwrite(dset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, n > 0 ? value : empty) < 0) {
        char what[512];
        snprintf(what, sizeof what, "write string %s", path);
        st = h5_error(AX_ERR_IO, h->final_path, what);
    }
    if (dset >= 0) H5Dclose(dset);
    if (lcpl >= 0) H5Pclose(lcpl);
    if (space >= 0) H5Sclose(space);
    if (type >= 0) H5Tclose(type);
    return disk_status(h, st);
}

/* Does the stored type class, size and sign agree with `dtype`? */
static int type_matches(hid_t stored, ax_dtype dtype) {
    const H5T_class_t cls = H5Tget_class(stored);
    const size_t size = H5Tget_size(stored);
    if (size != ax_dtype_size(dtype)) return 0;
    if (dtype == AX_F32 || dtype == AX_F64) return cls == H5T_FLOAT;
    if (cls != H5T_INTEGER) return 0;
    const H5T_sign_t sign = H5Tget_sign(stored);
    return dtype == AX_U8 ? sign == H5T_SGN_NONE : sign == H5T_SGN_2;
}

ax_status ax_h5_shape(ax_h5 *h, const char *path, ax_dtype dtype, int32_t *ndim, int64_t *shape) {
    if (!ax_h5_exists(h, path)) return ax_set_error(AX_ERR_FORMAT, "%s: missing dataset %s", h->final_path, path);
    hid_t dset = H5Dopen2(h->file, path, H5P_DEFAULT);
    if (dset < 0) {
        char what[512];
        snprintf(what, sizeof what, "open dataset %s", path);
        return h5_error(AX_ERR_FORMAT, h->final_path, what);
    }
    ax_status st = AX_OK;
    hid_t type = H5Dget_type(dset), space = H5Dget_space(dset);
    if (type < 0 || space < 0) st = h5_error(AX_ERR_FORMAT, h->final_path, "dataset type");
    if (st == AX_OK && !type_matches(type, dtype))
        st = ax_set_error(AX_ERR_FORMAT, "%s: dataset %s is not %s", h->final_path, path, ax_dtype_name(dtype));
    if (st == AX_OK) {
        const int rank = H5Sget_simple_extent_ndims(space);
        hsize_t dims[AX_MAX_DIMS];
        if (rank < 0 || rank > AX_MAX_DIMS) {
            st = ax_set_error(AX_ERR_FORMAT, "%s: dataset %s has an unsupported rank", h->final_path, path);
        } else {
            H5Sget_simple_extent_dims(space, dims, NULL);
            *ndim = rank;
            for (int d = 0; d < rank; d++) shape[d] = (int64_t)dims[d];
        }
    }
    if (type >= 0) H5Tclose(type);
    if (space >= 0) H5Sclose(space);
    H5Dclose(dset);
    return st;
}

int ax_h5_stored_as(ax_h5 *h, const char *path, ax_dtype dtype) {
    if (!ax_h5_exists(h, path)) return 0;
    hid_t dset = H5Dopen2(h->file, path, H5P_DEFAULT);
    hid_t type = dset >= 0 ? H5Dget_type(dset) : -1;
    const int matches = type >= 0 && type_matches(type, dtype);
    if (type >= 0) H5Tclose(type);
    if (dset >= 0) H5Dclose(dset);
    H5Eclear2(H5E_DEFAULT);
    return matches;
}

ax_status ax_h5_expect_shape(ax_h5 *h, const char *path, ax_dtype dtype, int32_t ndim, const int64_t *shape) {
    int32_t got_ndim = 0;
    int64_t got[AX_MAX_DIMS];
    AX_CHECK(ax_h5_shape(h, path, dtype, &got_ndim, got));
    if (got_ndim != ndim)
        return ax_set_error(AX_ERR_FORMAT, "%s: dataset %s has %d dims, expected %d", h->final_path, path, (int)got_ndim,
                            (int)ndim);
    for (int32_t d = 0; d < ndim; d++)
        if (got[d] != shape[d])
            return ax_set_error(AX_ERR_FORMAT, "%s: dataset %s dim %d is %lld, expected %lld", h->final_path, path, (int)d,
                                (long long)got[d], (long long)shape[d]);
    return AX_OK;
}

ax_status ax_h5_read(ax_h5 *h, const char *path, ax_dtype dtype, int32_t ndim, const int64_t *shape, void *data) {
    AX_CHECK(ax_h5_expect_shape(h, path, dtype, ndim, shape));
    int64_t numel = 1;
    for (int32_t d = 0; d < ndim; d++) numel *= shape[d];
    if (numel == 0) return AX_OK;
    hid_t dset = H5Dopen2(h->file, path, H5P_DEFAULT);
    if (dset < 0 || H5Dread(dset, memory_type(dtype), H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) {
        if (dset >= 0) H5Dclose(dset);
        char what[512];
        snprintf(what, sizeof what, "read dataset %s (checksum or I/O error)", path);
        return h5_error(AX_ERR_FORMAT, h->final_path, what);
    }
    H5Dclose(dset);
    return AX_OK;
}

/* The layout ax_h5_read_columns reads chunk by chunk: 2-D, chunked, and Fletcher-32 the only filter
 * (*checksum = 1) or no filter (*checksum = 0). Returns 0 for anything else. */
static int direct_layout(hid_t dset, hsize_t chunk[2], int *checksum) {
    hid_t dcpl = H5Dget_create_plist(dset);
    int ok = dcpl >= 0 && H5Pget_layout(dcpl) == H5D_CHUNKED && H5Pget_chunk(dcpl, 2, chunk) == 2;
    const int nfilters = ok ? H5Pget_nfilters(dcpl) : -1;
    *checksum = 0;
    if (nfilters == 1) {
        unsigned flags = 0, config = 0;
        size_t nvalues = 0;
        char name[64];
        *checksum = H5Pget_filter2(dcpl, 0, &flags, &nvalues, NULL, sizeof name, name, &config) == H5Z_FILTER_FLETCHER32;
        ok = *checksum;
    } else if (nfilters != 0) {
        ok = 0;
    }
    if (dcpl >= 0) H5Pclose(dcpl);
    H5Eclear2(H5E_DEFAULT);
    return ok;
}

/* ax_h5_read_columns for direct_layout datasets of 1-byte elements: HDF5's filtered read copies
 * every chunk through its cache and checksums it at about 1 GB/s, which was most of the time to
 * read a crop. Returns 1 when a chunk is not as the layout promises (never written, stored with a
 * filter skipped, an unexpected size): the caller then lets HDF5 read the dataset. Nothing here
 * depends on the host's byte order: the elements are single bytes and the stored checksum is
 * decoded byte by byte (HDF5 appends it little-endian). */
static int read_columns_direct(ax_h5 *h, const char *path, hid_t dset, const hsize_t chunk[2], int checksum,
                               int64_t rows, int64_t col_start, int64_t col_count, uint8_t *out, ax_status *st) {
    const int64_t chunk_rows = (int64_t)chunk[0], chunk_cols = (int64_t)chunk[1];
    const size_t raw = (size_t)chunk_rows * (size_t)chunk_cols, stored_bytes = raw + (checksum ? 4 : 0);
    uint8_t *buf = malloc(stored_bytes);
    *st = AX_OK;
    if (buf == NULL) {
        *st = ax_set_error(AX_ERR_OUT_OF_MEMORY, "%s: out of memory", h->final_path);
        return 0;
    }
    int fall_back = 0;
    const int64_t col_end = col_start + col_count;
    for (int64_t r0 = 0; *st == AX_OK && !fall_back && r0 < rows; r0 += chunk_rows) {
        for (int64_t c0 = col_start / chunk_cols * chunk_cols; *st == AX_OK && !fall_back && c0 < col_end;
             c0 += chunk_cols) {
            const hsize_t offset[2] = {(hsize_t)r0, (hsize_t)c0};
            hsize_t stored = 0;
            uint32_t skipped = 0;
            if (H5Dget_chunk_storage_size(dset, offset, &stored) < 0 || stored != stored_bytes) {
                H5Eclear2(H5E_DEFAULT);
                fall_back = 1;
                break;
            }
            if (H5Dread_chunk(dset, H5P_DEFAULT, offset, &skipped, buf) < 0) {
                char what[512];
                snprintf(what, sizeof what, "read dataset %s (I/O error)", path);
                *st = h5_error(AX_ERR_FORMAT, h->final_path, what);
                break;
            }
            if (skipped != 0) {
                fall_back = 1;
                break;
            }
            if (checksum) {
                const uint32_t want = (uint32_t)buf[raw] | (uint32_t)buf[raw + 1] << 8 | (uint32_t)buf[raw + 2] << 16 |
                                      (uint32_t)buf[raw + 3] << 24;
                if (ax_fletcher32(buf, raw) != want) {
                    *st = ax_set_error(AX_ERR_FORMAT,
                                       "%s: dataset %s: the chunk at row %lld, column %lld fails its Fletcher-32 "
                                       "checksum (the file is corrupt)",
                                       h->final_path, path, (long long)r0, (long long)c0);
                    break;
                }
            }
            const int64_t lo = c0 > col_start ? c0 : col_start;
            const int64_t hi = c0 + chunk_cols < col_end ? c0 + chunk_cols : col_end;
            const int64_t n = rows - r0 < chunk_rows ? rows - r0 : chunk_rows;
            for (int64_t r = 0; r < n; r++)
                memcpy(out + (r0 + r) * col_count + (lo - col_start), buf + r * chunk_cols + (lo - c0), (size_t)(hi - lo));
        }
    }
    free(buf);
    return fall_back;
}

ax_status ax_h5_read_columns(ax_h5 *h, const char *path, ax_dtype dtype, int32_t ndim, int64_t rows, int64_t cols,
                             int64_t col_start, int64_t col_count, void *out) {
    if ((ndim != 1 && ndim != 2) || rows < 1 || cols < 1 || col_start < 0 || col_count < 1 ||
        col_start > cols - col_count)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: %s: columns [%lld, %lld) of a (%lld, %lld) matrix", h->final_path,
                            path, (long long)col_start, (long long)(col_start + col_count), (long long)rows, (long long)cols);
    int32_t got_ndim = 0;
    int64_t got[AX_MAX_DIMS];
    AX_CHECK(ax_h5_shape(h, path, dtype, &got_ndim, got));
    const int64_t want[2] = {ndim == 2 ? rows : rows * cols, cols};
    if (got_ndim != ndim)
        return ax_set_error(AX_ERR_FORMAT, "%s: dataset %s has %d dims, expected %d", h->final_path, path, (int)got_ndim,
                            (int)ndim);
    for (int32_t d = 0; d < ndim; d++)
        if (got[d] != want[d])
            return ax_set_error(AX_ERR_FORMAT, "%s: dataset %s dim %d is %lld, expected %lld", h->final_path, path, (int)d,
                                (long long)got[d], (long long)want[d]);
    hid_t dset = H5Dopen2(h->file, path, H5P_DEFAULT);
    if (dset < 0) {
        char what[512];
        snprintf(what, sizeof what, "open dataset %s", path);
        return h5_error(AX_ERR_FORMAT, h->final_path, what);
    }
    hsize_t chunk[2];
    int checksum = 0;
    if (ndim == 2 && ax_dtype_size(dtype) == 1 && direct_layout(dset, chunk, &checksum)) {
        ax_status st = AX_OK;
        if (!read_columns_direct(h, path, dset, chunk, checksum, rows, col_start, col_count, out, &st)) {
            H5Dclose(dset);
            return st;
        }
    }
    /* HDF5's own read: a block of columns of the matrix, or the same block picked out of each row
     * of the flat layout (count rows, stride cols). The matrix's memory space has the block's own
     * 2-D shape: HDF5 1.10 then maps each chunk's part to memory a block at a time, where a 1-D
     * memory space made it walk the selection element by element (10x the inflating itself). */
    hid_t fspace = H5Dget_space(dset);
    const hsize_t mdims[2] = {(hsize_t)rows, (hsize_t)col_count}, mflat[1] = {(hsize_t)(rows * col_count)};
    hid_t mspace = ndim == 2 ? H5Screate_simple(2, mdims, NULL) : H5Screate_simple(1, mflat, NULL);
    herr_t selected = -1;
    if (fspace >= 0 && ndim == 2) {
        const hsize_t start[2] = {0, (hsize_t)col_start}, count[2] = {(hsize_t)rows, (hsize_t)col_count};
        selected = H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL);
    } else if (fspace >= 0) {
        const hsize_t start[1] = {(hsize_t)col_start}, stride[1] = {(hsize_t)cols}, count[1] = {(hsize_t)rows},
                      block[1] = {(hsize_t)col_count};
        selected = H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, stride, count, block);
    }
    ax_status st = AX_OK;
    if (mspace < 0 || selected < 0 || H5Dread(dset, memory_type(dtype), mspace, fspace, H5P_DEFAULT, out) < 0) {
        char what[512];
        snprintf(what, sizeof what, "read dataset %s (checksum or I/O error)", path);
        st = h5_error(AX_ERR_FORMAT, h->final_path, what);
    }
    if (mspace >= 0) H5Sclose(mspace);
    if (fspace >= 0) H5Sclose(fspace);
    H5Dclose(dset);
    return st;
}

/* The stored string `what` (a dataset or attribute, named in messages) is one fixed-length string of
 * at most max_bytes; else AX_ERR_FORMAT. */
static ax_status check_one_string(const ax_h5 *h, hid_t type, hid_t space, const char *what, size_t max_bytes) {
    if (type < 0 || H5Tget_class(type) != H5T_STRING || H5Tis_variable_str(type) > 0) {
        H5Eclear2(H5E_DEFAULT);
        return ax_set_error(AX_ERR_FORMAT, "%s: %s is not a fixed-length string", h->final_path, what);
    }
    if (!one_element(space)) {
        H5Eclear2(H5E_DEFAULT);
        return ax_set_error(AX_ERR_FORMAT, "%s: %s holds %lld strings, expected one", h->final_path, what,
                            (long long)H5Sget_simple_extent_npoints(space));
    }
    if (H5Tget_size(type) > max_bytes)
        return ax_set_error(AX_ERR_FORMAT, "%s: %s is a string of %zu bytes, at most %zu expected", h->final_path, what,
                            H5Tget_size(type), max_bytes);
    return AX_OK;
}

ax_status ax_h5_read_string(ax_h5 *h, const char *path, size_t max_bytes, char **out) {
    *out = NULL;
    if (!ax_h5_exists(h, path)) return ax_set_error(AX_ERR_FORMAT, "%s: missing dataset %s", h->final_path, path);
    hid_t dset = H5Dopen2(h->file, path, H5P_DEFAULT);
    hid_t type = dset >= 0 ? H5Dget_type(dset) : -1;
    hid_t space = dset >= 0 ? H5Dget_space(dset) : -1;
    char what[1100];
    snprintf(what, sizeof what, "dataset %s", path);
    ax_status st = check_one_string(h, type, space, what, max_bytes);
    if (space >= 0) H5Sclose(space);
    if (st == AX_OK) {
        const size_t size = H5Tget_size(type);
        char *buf = calloc(size + 1, 1);
        hid_t mem = string_read_type(type, size);
        if (buf == NULL) st = ax_set_error(AX_ERR_OUT_OF_MEMORY, "%s: out of memory", h->final_path);
        else if (H5Dread(dset, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) st = h5_error(AX_ERR_FORMAT, h->final_path, path);
        if (mem >= 0) H5Tclose(mem);
        if (st == AX_OK) *out = buf;
        else free(buf);
    }
    if (type >= 0) H5Tclose(type);
    if (dset >= 0) H5Dclose(dset);
    return st;
}

/* ---- attributes -------------------------------------------------------------------------------- */

static ax_status write_attr(ax_h5 *h, const char *path, const char *name, hid_t type, const void *value) {
    if (h->disk.error != 0) return disk_failed(h);
    hid_t obj = H5Oopen(h->file, path, H5P_DEFAULT);
    hid_t space = H5Screate(H5S_SCALAR);
    ax_status st = AX_OK;
    if (obj < 0 || space < 0) st = h5_error(AX_ERR_IO, h->final_path, path);
    hid_t attr = -1;
    if (st == AX_OK) {
        if (H5Aexists(obj, name) > 0) H5Adelete(obj, name);
        attr = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
        if (attr < 0 || H5Awrite(attr, type, value) < 0) {
            char what[512];
            snprintf(what, sizeof what, "attribute %s on %s", name, path);
            st = h5_error(AX_ERR_IO, h->final_path, what);
        }
    }
    if (attr >= 0) H5Aclose(attr);
    if (space >= 0) H5Sclose(space);
    if (obj >= 0) H5Oclose(obj);
    return disk_status(h, st);
}

ax_status ax_h5_set_attr_int(ax_h5 *h, const char *path, const char *name, int64_t value) {
    return write_attr(h, path, name, H5T_NATIVE_INT64, &value);
}

ax_status ax_h5_set_attr_string(ax_h5 *h, const char *path, const char *name, const char *value) {
    const size_t n = strlen(value);
    hid_t type = string_type(n);
    const char empty[1] = {0};
    ax_status st = write_attr(h, path, name, type, n > 0 ? value : empty);
    H5Tclose(type);
    return st;
}

int ax_h5_has_attr(ax_h5 *h, const char *path, const char *name) {
    const htri_t e = H5Aexists_by_name(h->file, path, name, H5P_DEFAULT);
    H5Eclear2(H5E_DEFAULT);
    return e > 0;
}

static hid_t open_attr(ax_h5 *h, const char *path, const char *name, hid_t *obj) {
    *obj = H5Oopen(h->file, path, H5P_DEFAULT);
    if (*obj < 0) return -1;
    if (H5Aexists(*obj, name) <= 0) return -1;
    return H5Aopen(*obj, name, H5P_DEFAULT);
}

ax_status ax_h5_get_attr_int(ax_h5 *h, const char *path, const char *name, int64_t *value) {
    hid_t obj;
    hid_t attr = open_attr(h, path, name, &obj);
    ax_status st = AX_OK;
    if (attr < 0) {
        H5Eclear2(H5E_DEFAULT);
        st = ax_set_error(AX_ERR_FORMAT, "%s: %s has no attribute %s", h->final_path, path, name);
    } else {
        hid_t type = H5Aget_type(attr), space = H5Aget_space(attr);
        if (H5Tget_class(type) != H5T_INTEGER || !one_element(space) || H5Aread(attr, H5T_NATIVE_INT64, value) < 0) {
            H5Eclear2(H5E_DEFAULT);
            st = ax_set_error(AX_ERR_FORMAT, "%s: attribute %s of %s is not one integer", h->final_path, name, path);
        }
        if (space >= 0) H5Sclose(space);
        H5Tclose(type);
        H5Aclose(attr);
    }
    if (obj >= 0) H5Oclose(obj);
    return st;
}

ax_status ax_h5_get_attr_string(ax_h5 *h, const char *path, const char *name, size_t max_bytes, char **out) {
    *out = NULL;
    hid_t obj;
    hid_t attr = open_attr(h, path, name, &obj);
    ax_status st = AX_OK;
    if (attr < 0) {
        H5Eclear2(H5E_DEFAULT);
        st = ax_set_error(AX_ERR_FORMAT, "%s: %s has no attribute %s", h->final_path, path, name);
    } else {
        hid_t type = H5Aget_type(attr), space = H5Aget_space(attr);
        char what[1100];
        snprintf(what, sizeof what, "attribute %s of %s", name, path);
        st = check_one_string(h, type, space, what, max_bytes);
        if (st == AX_OK) {
            const size_t size = H5Tget_size(type);
            char *buf = calloc(size + 1, 1);
            hid_t mem = string_read_type(type, size);
            if (buf == NULL || H5Aread(attr, mem, buf) < 0) {
                free(buf);
                st = h5_error(AX_ERR_FORMAT, h->final_path, name);
            } else {
                *out = buf;
            }
            H5Tclose(mem);
        }
        if (space >= 0) H5Sclose(space);
        H5Tclose(type);
        H5Aclose(attr);
    }
    if (obj >= 0) H5Oclose(obj);
    return st;
}
