/*
 * png_write.h — the one PNG encoder of the figures area, shared by the bare heatmap
 * (png_heatmap.c) and the annotated figure (png_figure.c), so both get the same atomic write and
 * the same fixed encoder settings.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_IO_PNG_WRITE_H
#define AXIAL_IO_PNG_WRITE_H

#include <stdint.h>

#include "axial/axial.h"

/* Writes `rgb` (height rows of width x 3 bytes, top row first) as an 8-bit RGB PNG at `path`:
 * encoded into "<path>.tmp.<pid>.<n>" in the same directory, fsync'ed, renamed over `path`, then the
 * directory fsync'ed (best effort). On failure the temporary is removed and `path` is untouched.
 * The caller has checked path (non-empty) and that width, height are in [1, 2^31 - 1].
 * Errors: AX_ERR_IO (with the path and the OS's reason), AX_ERR_FORMAT (libpng's message),
 * AX_ERR_OUT_OF_MEMORY. Only built with AXIAL_WITH_PNG. */
ax_status ax_png_write_rgb(const char *path, const uint8_t *rgb, int64_t width, int64_t height);

#endif /* AXIAL_IO_PNG_WRITE_H */
