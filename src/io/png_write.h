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
#include "axial/figures.h"

/* Writes `rgb` (height rows of width x 3 bytes, top row first) as an 8-bit RGB PNG at `path`:
 * encoded into ".<name>.tmp.<pid>.<n>" in the same directory, fsync'ed, renamed over `path`, then the
 * directory fsync'ed (best effort). On failure the temporary is removed and `path` is untouched.
 * The caller has checked path (non-empty) and that width, height are in [1, 2^31 - 1].
 * Errors: AX_ERR_IO (with the path and the OS's reason), AX_ERR_FORMAT (libpng's message),
 * AX_ERR_OUT_OF_MEMORY. Only built with AXIAL_WITH_PNG. */
ax_status ax_png_write_rgb(const char *path, const uint8_t *rgb, int64_t width, int64_t height);

/* The rows x cols values as RGB cells through ax_heatmap_render_rgb, in a new malloc'ed buffer
 * (*rgb; NULL when rows or cols is 0) that the caller frees. Validates every argument before
 * anything is created; messages start with `path` and call the cells `unit` ("pixels", "cells").
 * Errors: AX_ERR_INVALID_ARGUMENT (sizes overflow, or ax_heatmap_render_rgb's reasons),
 * AX_ERR_OUT_OF_MEMORY. */
ax_status ax_png_render_cells(const char *path, const float *values, int64_t rows, int64_t cols, float vmin,
                              float vmax, ax_colormap cmap, const char *unit, uint8_t **rgb);

#endif /* AXIAL_IO_PNG_WRITE_H */
