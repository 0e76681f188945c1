/*
 * output_file.h — files that appear whole or not at all, for the feature store and the PNG writers:
 * a temporary created beside the file being replaced, renamed over it once complete, then the
 * directory fsync'ed. Writing to a symbolic link replaces the file it points to and keeps the link,
 * as writing the file in place would (renaming over the link itself would have swapped the link for
 * a plain file and left its target stale).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_IO_OUTPUT_FILE_H
#define AXIAL_IO_OUTPUT_FILE_H

#include "axial/axial.h"

typedef struct ax_output_file {
    char *target; /* the file replaced at commit: the path, or what the symbolic link there points to */
    char *temp;   /* "<directory>/.<name, 40 characters at most>.tmp.<pid>.<n>", created exclusively */
} ax_output_file;

/* The file a write to `path` replaces: `path` itself, or the end of the chain of symbolic links
 * starting there (relative links resolved against their own directory; a dangling link gives the
 * path it names, which the commit creates). *target is malloc'd. Errors: AX_ERR_IO naming `path`
 * (a loop of links, an unreadable link), AX_ERR_OUT_OF_MEMORY. */
ax_status ax_output_target(const char *path, char **target);

/* Resolves the target of `path` and creates its temporary (O_EXCL, a fresh name on a collision with
 * a stale one; mode 0666 less the umask), open for writing in *fd. Errors name `path`: AX_ERR_IO
 * (the directory is missing or not writable), AX_ERR_OUT_OF_MEMORY; nothing is left behind. */
ax_status ax_output_begin(const char *path, ax_output_file *out, int *fd);

/* Renames the complete temporary (written, fsync'ed and closed by the caller) over the target, then
 * fsyncs the directory (best effort: the new file is in place by then). Frees the names. On failure
 * the temporary is removed: AX_ERR_IO naming `path`. */
ax_status ax_output_commit(ax_output_file *f, const char *path);

/* Removes the temporary and frees the names; accepts a zeroed or already finished file. */
void ax_output_discard(ax_output_file *f);

#endif /* AXIAL_IO_OUTPUT_FILE_H */
