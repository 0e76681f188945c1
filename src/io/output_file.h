/*
 * output_file.h — files that appear whole or not at all, for the feature store and the PNG writers:
 * a temporary created beside the file being replaced (unnamed until complete where the file system
 * allows it), renamed over it once complete, then the directory fsync'ed. Writing to a symbolic
 * link replaces the file it points to and keeps the link, as writing the file in place would
 * (renaming over the link itself would have swapped the link for a plain file and left its target
 * stale).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_IO_OUTPUT_FILE_H
#define AXIAL_IO_OUTPUT_FILE_H

#include "axial/axial.h"

typedef struct ax_output_file {
    char *target; /* the file replaced at commit: the path, or what the symbolic link there points to */
    char *temp;   /* "<directory>/.<name, 40 characters at most>.tmp.<pid>.<n>": the temporary's name once
                     it has one (allocated at the start, so the commit allocates nothing) */
    int named;    /* whether the temporary has that name in the directory: from the start when it
                     could not be unnamed, else from the commit */
    int fd;       /* the temporary, open read-write; ours (closed by commit and discard) while target is
                     set */
} ax_output_file;

/* ax_output_begin flags. */
enum {
    AX_OUTPUT_NAMED = 1u /* a named temporary from the start, for a writer that opens it by name */
};

/* The file a write to `path` replaces: `path` itself, or the end of the chain of symbolic links
 * starting there (relative links resolved against their own directory; a dangling link gives the
 * path it names, which the commit creates). *target is malloc'd. Errors: AX_ERR_IO naming `path`
 * (a loop of links, an unreadable link), AX_ERR_OUT_OF_MEMORY. */
ax_status ax_output_target(const char *path, char **target);

/* Resolves the target of `path` and creates its temporary in the target's directory, open for
 * reading and writing in out->fd (mode 0666 less the umask, or the replaced file's permission bits).
 * The temporary is unnamed (O_TMPFILE) where the file system allows it, so a process killed before
 * the commit leaves nothing behind; else, or with AX_OUTPUT_NAMED, a hidden file created exclusively
 * (a fresh name on a collision with a stale one). Errors name `path`: AX_ERR_IO (the directory is
 * missing or not writable, `path` is a directory), AX_ERR_OUT_OF_MEMORY; nothing is left behind. */
ax_status ax_output_begin(const char *path, unsigned flags, ax_output_file *out);

/* Makes the complete temporary the target: fsync, a name for an unnamed one, close (which can report
 * a deferred write error), rename over the target, then an fsync of the directory (best effort: the
 * new file is in place by then). Frees the names. On failure the temporary is removed and the target
 * untouched: AX_ERR_IO naming `path` and the step. */
ax_status ax_output_commit(ax_output_file *f, const char *path);

/* Closes and removes the temporary and frees the names; accepts a zeroed or already finished file. */
void ax_output_discard(ax_output_file *f);

#endif /* AXIAL_IO_OUTPUT_FILE_H */
