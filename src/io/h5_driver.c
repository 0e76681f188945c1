/*
 * h5_driver.c — see h5_driver.h. A POSIX file driver (pread/pwrite on one descriptor) whose write,
 * truncate and close never fail as HDF5 sees them: a failure is recorded for the caller and the
 * bytes are kept in memory from then on. Reads see the file with the kept bytes laid over it.
 *
 * Built against HDF5 1.10's driver interface (H5FD_class_t changed in 1.13); elsewhere the fapl is
 * HDF5's default one.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "io/h5_driver.h"

#if AX_H5_OWN_DRIVER

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Writes made after a failure: laid over the file in the order they came. */
typedef struct kept_write {
    haddr_t addr;
    size_t size;
    unsigned char *bytes;
} kept_write;

typedef struct disk_file {
    H5FD_t pub; /* HDF5's part: first, so HDF5's pointer is ours */
    int fd;
    haddr_t eoa, eof;
    dev_t dev;
    ino_t ino;
    ax_h5_disk *disk;
    kept_write *kept;
    size_t num_kept, cap_kept;
} disk_file;

typedef struct driver_info {
    ax_h5_disk *disk;
} driver_info;

/* The largest address a signed 64-bit file offset reaches. */
#define MAX_ADDR ((haddr_t)INT64_MAX)

static H5FD_t *open_cb(const char *name, unsigned flags, hid_t fapl, haddr_t maxaddr) {
    (void)maxaddr;
    const driver_info *info = H5Pget_driver_info(fapl);
    if (name == NULL || info == NULL || info->disk == NULL) return NULL;
    /* HDF5 may open a file more than once (a trial open before the real one): each gets a duplicate. */
    const int fd = info->disk->fd < 0 ? -1 : fcntl(info->disk->fd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0 || ((flags & H5F_ACC_TRUNC) && ftruncate(fd, 0) != 0)) {
        if (info->disk->error == 0) info->disk->error = info->disk->fd < 0 ? EBADF : errno;
        if (fd >= 0) close(fd);
        return NULL;
    }
    struct stat st;
    const int stat_ok = fstat(fd, &st) == 0;
    disk_file *f = stat_ok ? calloc(1, sizeof *f) : NULL;
    if (f == NULL) {
        /* HDF5 says only "unable to open": tell the owner why, so it names the cause */
        if (info->disk->error == 0) info->disk->error = stat_ok ? ENOMEM : errno;
        close(fd);
        return NULL;
    }
    f->fd = fd;
    f->eof = (haddr_t)st.st_size;
    f->dev = st.st_dev;
    f->ino = st.st_ino;
    f->disk = info->disk;
    return &f->pub;
}

static herr_t close_cb(H5FD_t *file) {
    disk_file *f = (disk_file *)file;
    /* close can report a write the kernel deferred (NFS); the caller fsyncs before trusting the file. */
    if (close(f->fd) != 0 && f->disk->error == 0) f->disk->error = errno;
    for (size_t i = 0; i < f->num_kept; i++) free(f->kept[i].bytes);
    free(f->kept);
    free(f);
    return 0;
}

static int cmp_cb(const H5FD_t *a, const H5FD_t *b) {
    const disk_file *x = (const disk_file *)a, *y = (const disk_file *)b;
    if (x->dev != y->dev) return x->dev < y->dev ? -1 : 1;
    if (x->ino != y->ino) return x->ino < y->ino ? -1 : 1;
    return 0;
}

/* What HDF5's own POSIX driver declares: small pieces gathered into larger writes. */
static herr_t query_cb(const H5FD_t *file, unsigned long *flags) {
    (void)file;
    *flags = H5FD_FEAT_AGGREGATE_METADATA | H5FD_FEAT_ACCUMULATE_METADATA | H5FD_FEAT_DATA_SIEVE |
             H5FD_FEAT_AGGREGATE_SMALLDATA;
    return 0;
}

static haddr_t get_eoa_cb(const H5FD_t *file, H5FD_mem_t type) {
    (void)type;
    return ((const disk_file *)file)->eoa;
}

static herr_t set_eoa_cb(H5FD_t *file, H5FD_mem_t type, haddr_t addr) {
    (void)type;
    ((disk_file *)file)->eoa = addr;
    return 0;
}

static haddr_t get_eof_cb(const H5FD_t *file, H5FD_mem_t type) {
    (void)type;
    return ((const disk_file *)file)->eof;
}

static herr_t read_cb(H5FD_t *file, H5FD_mem_t type, hid_t dxpl, haddr_t addr, size_t size, void *buffer) {
    (void)type;
    (void)dxpl;
    disk_file *f = (disk_file *)file;
    unsigned char *out = buffer;
    size_t done = 0;
    while (done < size) {
        const ssize_t n = pread(f->fd, out + done, size - done, (off_t)(addr + done));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -1;
        if (n == 0) break; /* past the end of the file: zeros, as HDF5 expects */
        done += (size_t)n;
    }
    memset(out + done, 0, size - done);
    for (size_t i = 0; i < f->num_kept; i++) {
        const kept_write *k = &f->kept[i];
        const haddr_t lo = k->addr > addr ? k->addr : addr;
        const haddr_t hi = k->addr + k->size < addr + size ? k->addr + k->size : addr + size;
        if (lo < hi) memcpy(out + (lo - addr), k->bytes + (lo - k->addr), (size_t)(hi - lo));
    }
    return 0;
}

static int keep(disk_file *f, haddr_t addr, size_t size, const void *bytes) {
    if (f->num_kept == f->cap_kept) {
        const size_t cap = f->cap_kept ? 2 * f->cap_kept : 16;
        kept_write *grown = realloc(f->kept, cap * sizeof *grown);
        if (grown == NULL) return -1;
        f->kept = grown;
        f->cap_kept = cap;
    }
    unsigned char *copy = malloc(size ? size : 1);
    if (copy == NULL) return -1;
    memcpy(copy, bytes, size);
    f->kept[f->num_kept++] = (kept_write){addr, size, copy};
    return 0;
}

static herr_t write_cb(H5FD_t *file, H5FD_mem_t type, hid_t dxpl, haddr_t addr, size_t size, const void *buffer) {
    (void)type;
    (void)dxpl;
    disk_file *f = (disk_file *)file;
    const unsigned char *in = buffer;
    size_t done = 0;
    while (f->disk->error == 0 && done < size) {
        const ssize_t n = pwrite(f->fd, in + done, size - done, (off_t)(addr + done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) f->disk->error = n < 0 ? errno : EIO;
        else done += (size_t)n;
    }
    /* Only memory running out as well is passed on to HDF5. */
    if (done < size && keep(f, addr, size, buffer) != 0) return -1;
    if (addr + size > f->eof) f->eof = addr + size;
    return 0;
}

static herr_t truncate_cb(H5FD_t *file, hid_t dxpl, hbool_t closing) {
    (void)dxpl;
    (void)closing;
    disk_file *f = (disk_file *)file;
    if (f->eoa == f->eof) return 0;
    if (f->disk->error == 0 && ftruncate(f->fd, (off_t)f->eoa) != 0) f->disk->error = errno;
    f->eof = f->eoa;
    return 0;
}

static const H5FD_class_t driver_class = {
    .name = "axial_disk",
    .maxaddr = MAX_ADDR,
    .fc_degree = H5F_CLOSE_WEAK,
    .fapl_size = sizeof(driver_info), /* HDF5 copies and frees it itself */
    .open = open_cb,
    .close = close_cb,
    .cmp = cmp_cb,
    .query = query_cb,
    .get_eoa = get_eoa_cb,
    .set_eoa = set_eoa_cb,
    .get_eof = get_eof_cb,
    .read = read_cb,
    .write = write_cb,
    .truncate = truncate_cb,
    .fl_map = H5FD_FLMAP_DICHOTOMY,
};

hid_t ax_h5_driver_fapl(ax_h5_disk *disk) {
    static hid_t driver = -1; /* callers are serialised (h5.c) */
    if (driver < 0 || H5Iis_valid(driver) <= 0) driver = H5FDregister(&driver_class);
    if (driver < 0) return -1;
    const hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    const driver_info info = {disk};
    /* Strong close: nothing of the file outlives H5Fclose, so the driver never writes after the
     * caller has read *disk for the last time. */
    if (fapl >= 0 && (H5Pset_driver(fapl, driver, &info) < 0 || H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0)) {
        H5Pclose(fapl);
        return -1;
    }
    return fapl;
}

#else /* another HDF5: its default driver */

hid_t ax_h5_driver_fapl(ax_h5_disk *disk) {
    (void)disk;
    return H5Pcreate(H5P_FILE_ACCESS);
}

#endif
