/*
 * png_heatmap.c — the PNG encoder and atomic writer of the figures area (ax_png_write_rgb: temporary
 * file in the same directory, fsync, rename, with libpng's errors captured instead of printed), and
 * the bare one-pixel-per-value heatmap on top of it. png_figure.c draws annotated figures and hands
 * their pixels to the same writer.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 *
 * libpng reports errors by calling an error function that must not return; ours records the
 * message and longjmps back into encode_png(), the only function that calls setjmp. Nothing the
 * library allocates is live across that jump except what encode_png() frees on the way out.
 */
#include "axial/figures.h"
#include "core/internal.h"

#if !AXIAL_WITH_PNG

ax_status ax_png_write_heatmap(const char *path, const float *values, int64_t rows, int64_t cols, float vmin,
                               float vmax, ax_colormap cmap) {
    (void)values, (void)rows, (void)cols, (void)vmin, (void)vmax, (void)cmap;
    return ax_set_error(AX_ERR_UNSUPPORTED, "%s: this build has no libpng (configure with AXIAL_PNG=ON)",
                        path != NULL ? path : "(null)");
}

#else

#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/features_util.h"
#include "io/output_file.h"
#include "io/png_write.h"

/* Where encoded bytes go, and what went wrong if something did. */
typedef struct png_sink {
    int fd;
    int write_errno;      /* errno of a failed write(), 0 otherwise */
    char message[256];    /* libpng's error message */
} png_sink;

static void sink_error(png_structp png, png_const_charp message) {
    png_sink *sink = png_get_error_ptr(png);
    snprintf(sink->message, sizeof sink->message, "%s", message != NULL ? message : "unknown error");
    longjmp(png_jmpbuf(png), 1);
}

/* Warnings are not errors and the library never prints: dropped. */
static void sink_warning(png_structp png, png_const_charp message) {
    (void)png;
    (void)message;
}

static void sink_write(png_structp png, png_bytep data, size_t length) {
    png_sink *sink = png_get_io_ptr(png);
    while (length > 0) {
        const ssize_t written = write(sink->fd, data, length);
        if (written < 0) {
            if (errno == EINTR) continue;
            sink->write_errno = errno;
            png_error(png, "write failed");
        }
        data += written;
        length -= (size_t)written;
    }
}

static void sink_flush(png_structp png) { (void)png; }

/* Encodes `rgb` (rows x cols x 3 bytes) to sink->fd. Returns 0, or -1 with sink->message set. */
static int encode_png(png_sink *sink, const uint8_t *rgb, int64_t rows, int64_t cols) {
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, sink, sink_error, sink_warning);
    if (png == NULL) {
        snprintf(sink->message, sizeof sink->message, "cannot create the libpng write struct");
        return -1;
    }
    png_infop info = png_create_info_struct(png);
    if (info == NULL) {
        png_destroy_write_struct(&png, NULL);
        snprintf(sink->message, sizeof sink->message, "cannot create the libpng info struct");
        return -1;
    }
    /* png and info are not modified after setjmp, so they are valid after the jump. */
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return -1;
    }
    png_set_write_fn(png, sink, sink_write, sink_flush);
    png_set_user_limits(png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
    png_set_IHDR(png, info, (png_uint_32)cols, (png_uint_32)rows, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    /* Fixed settings (and no tIME or text chunks) make the bytes a function of the pixels only. */
    png_set_compression_level(png, 6);
    png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_ALL_FILTERS);
    png_write_info(png, info);
    for (int64_t r = 0; r < rows; r++) png_write_row(png, (png_const_bytep)(rgb + r * cols * 3));
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    return 0;
}

ax_status ax_png_write_rgb(const char *path, const uint8_t *rgb, int64_t width, int64_t height) {
    png_sink sink;
    memset(&sink, 0, sizeof sink);
    ax_output_file out;
    AX_CHECK(ax_output_begin(path, 0, &out));
    sink.fd = out.fd;
    if (encode_png(&sink, rgb, height, width) == 0) return ax_output_commit(&out, path); /* fsync, close, rename */
    const ax_status st =
        sink.write_errno != 0
            ? ax_set_error(AX_ERR_IO, "%s: writing failed: %s", path, ax_os_error(sink.write_errno).text)
            : ax_set_error(AX_ERR_FORMAT, "%s: libpng: %s", path, sink.message);
    ax_output_discard(&out);
    return st;
}

ax_status ax_png_write_heatmap(const char *path, const float *values, int64_t rows, int64_t cols, float vmin,
                               float vmax, ax_colormap cmap) {
    if (path == NULL || path[0] == '\0') return ax_set_error(AX_ERR_INVALID_ARGUMENT, "path: NULL or empty");
    if (rows > (int64_t)PNG_UINT_31_MAX || cols > (int64_t)PNG_UINT_31_MAX)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: %lld x %lld exceeds PNG's limit of 2^31 - 1 per side",
                            path, (long long)rows, (long long)cols);
    /* Rendering first validates every other argument before any file exists. */
    uint8_t *rgb = NULL;
    AX_CHECK(ax_png_render_cells(path, values, rows, cols, vmin, vmax, cmap, "pixels", &rgb));
    const ax_status st = ax_png_write_rgb(path, rgb, cols, rows);
    free(rgb);
    return st;
}

ax_status ax_png_render_cells(const char *path, const float *values, int64_t rows, int64_t cols, float vmin,
                              float vmax, ax_colormap cmap, const char *unit, uint8_t **rgb) {
    *rgb = NULL;
    int64_t count = 0;
    if (rows >= 1 && cols >= 1 && !ax_feat_mul(rows, cols, 3, &count))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: %lld x %lld %s overflow", path, (long long)rows,
                            (long long)cols, unit);
    uint8_t *buf = rows >= 1 && cols >= 1 ? malloc((size_t)count * 3) : NULL;
    if (rows >= 1 && cols >= 1 && buf == NULL)
        return ax_set_error(AX_ERR_OUT_OF_MEMORY, "%s: out of memory for %lld x %lld %s", path, (long long)rows,
                            (long long)cols, unit);
    const ax_status st = ax_heatmap_render_rgb(values, rows, cols, vmin, vmax, cmap, buf);
    if (st != AX_OK) {
        free(buf);
        ax_error_prefix(path);
        return st;
    }
    *rgb = buf;
    return AX_OK;
}

#endif /* AXIAL_WITH_PNG */
