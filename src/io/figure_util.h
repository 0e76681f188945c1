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

/* ax_png_write_figure (png_figure.c) for a matrix whose rows are bins: each row of cells stands for
 * rows_per_cell consecutive rows of an axis of axis_rows rows (the last for what is left), and the y
 * axis numbers those rows from config->y_first, a tick at the centre of its row's bin.
 * ax_png_write_figure is this with rows_per_cell 1 and axis_rows = rows. */
ax_status ax_png_write_binned_figure(const char *path, const float *values, int64_t rows, int64_t cols, float vmin,
                                     float vmax, ax_colormap cmap, const ax_figure_config *config,
                                     int64_t rows_per_cell, int64_t axis_rows);

/* 1 when s is well-formed UTF-8 (no overlong forms, surrogates or code points above U+10FFFF).
 * Checked before drawing so a bad label is reported by name instead of as a cairo state error. */
static inline int ax_utf8_valid(const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    while (*p != 0) {
        const unsigned c = *p;
        int extra;
        unsigned min;
        if (c < 0x80) {
            p++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            extra = 1, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            extra = 2, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            extra = 3, min = 0x10000;
        } else {
            return 0;
        }
        unsigned code = c & (0x3Fu >> extra);
        for (int i = 1; i <= extra; i++) {
            if ((p[i] & 0xC0) != 0x80) return 0; /* also stops at the terminating NUL */
            code = (code << 6) | (p[i] & 0x3Fu);
        }
        if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return 0;
        p += extra + 1;
    }
    return 1;
}

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
