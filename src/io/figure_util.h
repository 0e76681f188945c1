/*
 * figure_util.h — text helpers shared by the figure writers (png_figure.c) and the labelled
 * figures of chains and attention (features_figures.c).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_IO_FIGURE_UTIL_H
#define AXIAL_IO_FIGURE_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "axial/figures.h"
#include "core/utf8.h" /* ax_utf8_valid: labels are checked before drawing, so a bad one is named */

/* ax_png_write_figure (png_figure.c) for a matrix whose rows are bins: each row of cells stands for
 * rows_per_cell consecutive rows of an axis of axis_rows rows (the last for what is left), and the y
 * axis numbers those rows from config->y_first, a tick at the centre of its row's bin.
 * ax_png_write_figure is this with rows_per_cell 1 and axis_rows = rows. */
ax_status ax_png_write_binned_figure(const char *path, const float *values, int64_t rows, int64_t cols, float vmin,
                                     float vmax, ax_colormap cmap, const ax_figure_config *config,
                                     int64_t rows_per_cell, int64_t axis_rows);


/* Rewrites the decimal point of a finite number that snprintf formatted ("%.2f", "%.3g") to '.',
 * whatever LC_NUMERIC the host program set: figures must be byte-identical, and a decimal comma
 * would also read wrongly next to the English labels. printf never groups thousands without the '
 * flag, so the decimal point is the only character that is not a digit, a sign or an exponent 'e'. */
static inline void ax_fix_decimal_point(char *number) {
    char *out = number;
    int in_point = 0; /* a decimal point can be several bytes (U+066B in some locales): keep one '.' */
    for (const char *c = number; *c != '\0'; c++) {
        const int other = (*c < '0' || *c > '9') && *c != '-' && *c != '+' && *c != 'e';
        if (other && in_point) continue;
        *out++ = other ? '.' : *c;
        in_point = other;
    }
    *out = '\0';
}

#endif /* AXIAL_IO_FIGURE_UTIL_H */
