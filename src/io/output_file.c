/*
 * output_file.c — see output_file.h.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
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
#include "io/grow.h"

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

ax_status ax_output_begin(const char *path, ax_output_file *out, int *fd) {
    static atomic_uint counter;
    out->target = out->temp = NULL;
    *fd = -1;
    AX_CHECK(ax_output_target(path, &out->target));
    /* In the target's directory (the rename must stay within one file system), hidden, and named by
     * at most 40 characters of the target's name: the whole name plus a suffix had overflowed
     * NAME_MAX for names near it. */
    const char *slash = strrchr(out->target, '/');
    const size_t dir_len = slash == NULL ? 0 : (size_t)(slash - out->target) + 1;
    const char *base = out->target + dir_len;
    /* A directory is refused now, not at the rename after all the work (the temporary had been made
     * inside it, as "dir/..tmp.*", for "-o dir/"). */
    struct stat target_info;
    if (base[0] == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0 ||
        (stat(out->target, &target_info) == 0 && S_ISDIR(target_info.st_mode))) {
        ax_output_discard(out);
        return ax_set_error(AX_ERR_IO, "%s: is a directory; an output file needs a file name", path);
    }
    const size_t cap = dir_len + 40 + 64;
    if ((out->temp = malloc(cap)) == NULL) {
        ax_output_discard(out);
        return ax_set_error(AX_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    }
    int err = EEXIST;
    for (int attempt = 0; attempt < 64 && *fd < 0 && err == EEXIST; attempt++) {
        snprintf(out->temp, cap, "%.*s.%.40s.tmp.%ld.%u", (int)dir_len, out->target, base, (long)getpid(),
                 atomic_fetch_add(&counter, 1u));
        *fd = open(out->temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        err = errno;
    }
    if (*fd < 0) {
        free(out->temp);
        out->temp = NULL; /* not ours: nothing to remove */
        ax_output_discard(out);
        return ax_set_error(AX_ERR_IO, "%s: cannot create a temporary file beside it: %s", path, ax_os_error(err).text);
    }
    /* A replaced file keeps its permission bits (a private 0600 file had become 0644 by the umask). */
    struct stat existing;
    if (stat(out->target, &existing) == 0 && S_ISREG(existing.st_mode))
        (void)fchmod(*fd, existing.st_mode & 07777);
    return AX_OK;
}

/* Makes the rename durable; a failure here cannot undo the rename, so it is not reported. */
static void sync_directory_of(const char *target) {
    const char *slash = strrchr(target, '/');
    char *dir = slash == NULL ? ax_strndup(".", 1) : ax_strndup(target, slash == target ? 1 : (size_t)(slash - target));
    if (dir == NULL) return;
    const int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(dir);
}

ax_status ax_output_commit(ax_output_file *f, const char *path) {
    if (rename(f->temp, f->target) != 0) {
        const ax_status st = f->target != NULL && strcmp(f->target, path) != 0
                                 ? ax_set_error(AX_ERR_IO, "%s: cannot rename the temporary file over %s: %s", path,
                                                f->target, ax_os_error(errno).text)
                                 : ax_set_error(AX_ERR_IO, "%s: cannot rename the temporary file into place: %s",
                                                path, ax_os_error(errno).text);
        ax_output_discard(f);
        return st;
    }
    sync_directory_of(f->target);
    free(f->temp);
    free(f->target);
    f->temp = f->target = NULL;
    return AX_OK;
}

void ax_output_discard(ax_output_file *f) {
    if (f->temp != NULL) unlink(f->temp);
    free(f->temp);
    free(f->target);
    f->temp = f->target = NULL;
}
