/*
 * output_file.c — see output_file.h.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#define _GNU_SOURCE 1 /* O_TMPFILE */

#include "io/output_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/internal.h"
#include "core/grow.h"

/* As many links as the kernel follows in one path lookup before it says ELOOP. */
#define MAX_LINKS 40

/* The link's text, resolved against the link's own directory when relative. */
static char *follow(const char *link, const char *text) {
    const char *slash = strrchr(link, '/');
    if (text[0] == '/' || slash == NULL) return ax_strndup(text, strlen(text));
    const size_t dir = (size_t)(slash - link) + 1, n = dir + strlen(text) + 1;
    char *out = malloc(n);
    if (out == NULL) return NULL;
    memcpy(out, link, dir);
    memcpy(out + dir, text, n - dir);
    return out;
}

ax_status ax_output_target(const char *path, char **target) {
    *target = NULL;
    char *cur = ax_strndup(path, strlen(path));
    if (cur == NULL) return ax_set_error(AX_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    for (int links = 0;; links++) {
        struct stat info;
        if (lstat(cur, &info) != 0 || !S_ISLNK(info.st_mode)) break; /* a file, or nothing there yet */
        if (links == MAX_LINKS) {
            free(cur);
            return ax_set_error(AX_ERR_IO, "%s: more than %d symbolic links in a row (a loop?)", path, MAX_LINKS);
        }
        char text[PATH_MAX];
        const ssize_t n = readlink(cur, text, sizeof text - 1);
        if (n < 0) {
            const ax_status st = ax_set_error(AX_ERR_IO, "%s: cannot read the symbolic link %s: %s", path, cur,
                                              ax_os_error(errno).text);
            free(cur);
            return st;
        }
        text[n] = '\0';
        char *next = follow(cur, text);
        free(cur);
        if (next == NULL) return ax_set_error(AX_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
        cur = next;
    }
    *target = cur;
    return AX_OK;
}

/* Bytes of the target's directory part, its final '/' included (0 for a bare name). */
static size_t dir_length(const char *target) {
    const char *slash = strrchr(target, '/');
    return slash == NULL ? 0 : (size_t)(slash - target) + 1;
}

/* "<directory>.<at most 40 characters of the name>.tmp.<pid>.<n>" into out->temp (TEMP_CAP bytes):
 * in the target's directory (the rename must stay within one file system), hidden, and short (the
 * whole name plus a suffix had overflowed NAME_MAX for names near it). */
#define TEMP_CAP(dir_len) ((dir_len) + 40 + 64)
static void temp_name(ax_output_file *out) {
    static atomic_uint counter;
    const size_t dir_len = dir_length(out->target);
    snprintf(out->temp, TEMP_CAP(dir_len), "%.*s.%.40s.tmp.%ld.%u", (int)dir_len, out->target, out->target + dir_len,
             (long)getpid(), atomic_fetch_add(&counter, 1u));
}

/* Where the kernel names an open descriptor; linkat through it gives an unnamed file a name. */
static void proc_fd_path(int fd, char *buf, size_t cap) { snprintf(buf, cap, "/proc/self/fd/%d", fd); }

/* The directory a target lies in ("." for a bare name), malloc'd; NULL when out of memory. */
static char *directory_of(const char *target) {
    const char *slash = strrchr(target, '/');
    return slash == NULL ? ax_strndup(".", 1) : ax_strndup(target, slash == target ? 1 : (size_t)(slash - target));
}

/* An unnamed temporary (O_TMPFILE) in the target's directory, or -1 where the file system or the
 * kernel has none, or /proc (needed to name it at the commit) is not there. */
static int open_unnamed(const char *target) {
#ifdef O_TMPFILE
    char *dir = directory_of(target);
    if (dir == NULL) return -1;
    const int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0666);
    free(dir);
    if (fd < 0) return -1;
    char proc[64];
    proc_fd_path(fd, proc, sizeof proc);
    struct stat by_path, by_fd;
    if (stat(proc, &by_path) == 0 && fstat(fd, &by_fd) == 0 && by_path.st_dev == by_fd.st_dev &&
        by_path.st_ino == by_fd.st_ino)
        return fd;
    close(fd);
#else
    (void)target;
#endif
    return -1;
}

ax_status ax_output_begin(const char *path, unsigned flags, ax_output_file *out) {
    out->target = out->temp = NULL;
    out->named = 0;
    out->fd = -1;
    AX_CHECK(ax_output_target(path, &out->target));
    const size_t dir_len = dir_length(out->target);
    const char *base = out->target + dir_len;
    /* A directory is refused now, not at the rename after all the work (the temporary had been made
     * inside it, as "dir/..tmp.*", for "-o dir/"). */
    struct stat target_info;
    const int exists = stat(out->target, &target_info) == 0;
    if (base[0] == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0 ||
        (exists && S_ISDIR(target_info.st_mode))) {
        ax_output_discard(out);
        return ax_set_error(AX_ERR_IO, "%s: is a directory; an output file needs a file name", path);
    }
    /* The commit renames over the target: a device node or FIFO there would be replaced by a regular
     * file (-o /dev/null, as root, had replaced /dev/null). */
    if (exists && !S_ISREG(target_info.st_mode)) {
        ax_output_discard(out);
        return ax_set_error(AX_ERR_IO, "%s: is a device, FIFO or socket; an output must be a regular file (or new)",
                            path);
    }
    if ((out->temp = malloc(TEMP_CAP(dir_len))) == NULL) {
        ax_output_discard(out);
        return ax_set_error(AX_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    }
    if (!(flags & AX_OUTPUT_NAMED)) out->fd = open_unnamed(out->target);
    int err = EEXIST;
    for (int attempt = 0; attempt < 64 && out->fd < 0 && err == EEXIST; attempt++) {
        temp_name(out);
        out->fd = open(out->temp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        err = errno;
        out->named = out->fd >= 0;
    }
    if (out->fd < 0) {
        ax_output_discard(out);
        return ax_set_error(AX_ERR_IO, "%s: cannot create a temporary file beside it: %s", path, ax_os_error(err).text);
    }
    /* A replaced file keeps its permission bits (a private 0600 file had become 0644 by the umask). */
    struct stat existing;
    if (stat(out->target, &existing) == 0 && S_ISREG(existing.st_mode))
        (void)fchmod(out->fd, existing.st_mode & 07777);
    return AX_OK;
}

/* Makes the rename durable; a failure here cannot undo the rename, so it is not reported. */
static void sync_directory_of(const char *target) {
    char *dir = directory_of(target);
    if (dir == NULL) return;
    const int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(dir);
}

/* Gives the unnamed temporary its hidden name, for the rename. Returns 0, or an errno. */
static int link_unnamed(ax_output_file *f) {
    char proc[64];
    proc_fd_path(f->fd, proc, sizeof proc);
    int err = EEXIST;
    for (int attempt = 0; attempt < 64 && err == EEXIST; attempt++) {
        temp_name(f);
        err = linkat(AT_FDCWD, proc, AT_FDCWD, f->temp, AT_SYMLINK_FOLLOW) == 0 ? 0 : errno;
    }
    f->named = err == 0;
    return err;
}

static ax_status commit_failed(ax_output_file *f, const char *path, const char *what, int err) {
    const ax_status st = ax_set_error(AX_ERR_IO, "%s: %s: %s", path, what, ax_os_error(err).text);
    ax_output_discard(f);
    return st;
}

ax_status ax_output_commit(ax_output_file *f, const char *path) {
    if (fsync(f->fd) != 0) return commit_failed(f, path, "fsync failed", errno);
    if (!f->named) {
        const int err = link_unnamed(f);
        if (err != 0) return commit_failed(f, path, "cannot name the temporary file", err);
    }
    /* close() can report a deferred write error (NFS); it counts like any other. */
    const int closed = close(f->fd);
    f->fd = -1;
    if (closed != 0) return commit_failed(f, path, "close failed", errno);
    if (rename(f->temp, f->target) != 0) {
        const int err = errno;
        if (strcmp(f->target, path) != 0) {
            char what[64 + PATH_MAX];
            snprintf(what, sizeof what, "cannot rename the temporary file over %s", f->target);
            return commit_failed(f, path, what, err);
        }
        return commit_failed(f, path, "cannot rename the temporary file into place", err);
    }
    sync_directory_of(f->target);
    free(f->temp);
    free(f->target);
    f->temp = f->target = NULL;
    f->named = 0;
    return AX_OK;
}

void ax_output_discard(ax_output_file *f) {
    if (f->target != NULL && f->fd >= 0) close(f->fd); /* a zeroed file's fd 0 is not ours */
    if (f->named) unlink(f->temp);
    free(f->temp);
    free(f->target);
    f->temp = f->target = NULL;
    f->named = 0;
    f->fd = -1;
}
