/*
 * png_figure.c — annotated heatmap figures: the cells scaled up by whole pixels, a title, axes with
 * ticks, numbers and labels, and a colour bar with its values and units, drawn with cairo on an
 * image surface and handed to the same atomic PNG writer as the bare heatmap (png_write.h).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 *
 * Text goes through cairo's "toy" text API rather than pango: every label is one short line of
 * Latin or Greek that needs no shaping or line breaking, and the dependency stays cairo alone.
 * Cells and the colour bar are written into the surface's pixels directly instead of painting a
 * scaled pattern, so every pixel of a cell is exactly the colour map's colour (no filtering
 * question to get right); cairo draws only the lines and the text.
 */
#include "axial/figures.h"
#include "core/internal.h"

#include "io/figure_util.h"

#if !AXIAL_WITH_PNG

ax_status ax_png_write_binned_figure(const char *path, const float *values, int64_t rows, int64_t cols, float vmin,
                                     float vmax, ax_colormap cmap, const ax_figure_config *config,
                                     int64_t rows_per_cell, int64_t axis_rows) {
    (void)values, (void)rows, (void)cols, (void)vmin, (void)vmax, (void)cmap, (void)config;
    (void)rows_per_cell, (void)axis_rows;
    return ax_set_error(AX_ERR_UNSUPPORTED, "%s: this build has no libpng (configure with AXIAL_PNG=ON)",
                        path != NULL ? path : "(null)");
}

ax_status ax_png_write_figure(const char *path, const float *values, int64_t rows, int64_t cols, float vmin,
                              float vmax, ax_colormap cmap, const ax_figure_config *config) {
    return ax_png_write_binned_figure(path, values, rows, cols, vmin, vmax, cmap, config, 1, rows);
}

#else

#include <cairo.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/png_write.h"

enum {
    MAX_SIDE = 32767,  /* cairo's image surfaces (pixman) stop at 2^15 - 1 pixels per side */
    MAX_CELL = 64,     /* pixels per cell; more only makes a huge file of a tiny matrix */
    AUTO_TARGET = 720, /* automatic cell sizes aim at a map about this many pixels per side */
    PAD = 14,          /* white border around everything */
    TICK_LEN = 5,
    TICK_GAP = 4,      /* between a tick mark and its number */
    LABEL_GAP = 8,     /* between the numbers and an axis label */
    TITLE_GAP = 12,    /* between the title and the map */
    BAR_GAP = 24,      /* at least, between the map and the colour bar */
    BAR_WIDTH = 22,
    SWATCH = 14,       /* side of the "no value" colour swatch */
    MAX_TICKS = 64,
    MIN_TICK_SPACING = 64 /* pixels between axis ticks at least, so numbers never touch */
};

/* Numbering starts within +-1e15 so first + cells never overflows and every number prints exactly. */
static const long long MAX_FIRST = 1000000000000000LL;
static const double TITLE_SIZE = 20.0, LABEL_SIZE = 15.0, NUMBER_SIZE = 13.0;
static const char FONT_FAMILY[] = "DejaVu Sans";
static const char NAN_TEXT[] = "no value";
static const double HALF_PI = 1.57079632679489661923;

/* ---- text ------------------------------------------------------------------------------------ */

static void use_font(cairo_t *cr, double size, int bold) {
    cairo_select_font_face(cr, FONT_FAMILY, CAIRO_FONT_SLANT_NORMAL, bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
}

/* Advance width of `text` in the current font. */
static double text_width(cairo_t *cr, const char *text) {
    cairo_text_extents_t e;
    cairo_text_extents(cr, text, &e);
    return e.x_advance;
}

/* Ascent + descent of the font at a size, for stacking lines of text. */
typedef struct font_metrics {
    double ascent, descent;
} font_metrics;

static font_metrics metrics_of(cairo_t *cr, double size, int bold) {
    use_font(cr, size, bold);
    cairo_font_extents_t e;
    cairo_font_extents(cr, &e);
    return (font_metrics){e.ascent, e.descent};
}

static void show_text_at(cairo_t *cr, double x, double baseline, const char *text) {
    cairo_move_to(cr, x, baseline);
    cairo_show_text(cr, text);
}

/* Baseline that centres `text`'s ink (digits: their full height) on y. */
static double centred_baseline(cairo_t *cr, const char *text, double y) {
    cairo_text_extents_t e;
    cairo_text_extents(cr, text, &e);
    return y - (e.y_bearing + e.height / 2.0);
}

/* Text rotated a quarter turn counter-clockwise (reading upwards), centred on cy, its baseline at x
 * (the glyphs' tops point left of it). */
static void show_text_upwards(cairo_t *cr, double baseline_x, double cy, const char *text) {
    const double width = text_width(cr, text);
    cairo_save(cr);
    cairo_translate(cr, baseline_x, cy + width / 2.0);
    cairo_rotate(cr, -HALF_PI);
    show_text_at(cr, 0.0, 0.0, text);
    cairo_restore(cr);
}

static int has_text(const char *s) { return s != NULL && s[0] != '\0'; }

/* ---- ticks ----------------------------------------------------------------------------------- */

/* The numbers of the y axis: `numbers` of them from y_first, `per_cell` to a row of cells (1, but for
 * binned rows; the last row may hold fewer). */
typedef struct axis_rows {
    int64_t numbers, per_cell;
} axis_rows;

typedef struct tick {
    double value;  /* axis: the number; colour bar: the value */
    double pos;    /* pixel coordinate of the tick's centre line (x for columns, y otherwise) */
    char text[40];
} tick;

static int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

/* How many multiples of step lie in [first, last]. */
static int64_t multiples_in(int64_t first, int64_t last, int64_t step) {
    return floor_div(last, step) - floor_div(first - 1, step);
}

/* Steps 1, 2, 5, 10, 20, 50, ...: the smallest that puts numbers at least `spacing` pixels apart and
 * fewer than MAX_TICKS multiples on the axis, so the ticks always reach its end (a 7001-row map had
 * stopped at 6300 when the ticks were cut at MAX_TICKS). An axis numbers `count` numbers from
 * `first`, `per_cell` numbers to a cell of `cell` pixels. */
static int64_t axis_step(int64_t first, int64_t count, int64_t per_cell, int32_t cell, double spacing) {
    static const int64_t mult[3] = {1, 2, 5};
    const int64_t last = first + count - 1;
    for (int64_t power = 1;; power *= 10) {
        for (int m = 0; m < 3; m++) {
            const int64_t s = mult[m] * power;
            if (s >= count) return s; /* one multiple at most */
            if ((double)s * cell >= spacing * (double)per_cell && multiples_in(first, last, s) < MAX_TICKS) return s;
        }
        if (power > INT64_MAX / 50) return count;
    }
}

/* Ticks of an axis numbering `count` numbers from `first`, `per_cell` consecutive numbers to a cell
 * (1 but for binned rows), cells `cell` pixels wide starting at pixel `origin`: every multiple of
 * step, and the first number when it is at least half a step from the next multiple (a map of
 * residues 1..137 reads 1, 20, 40, ...). A number's tick is at the centre of its cell. axis_step's
 * step gives at most MAX_TICKS ticks. */
static int axis_ticks(int64_t first, int64_t count, int64_t per_cell, int32_t cell, int64_t origin, int64_t step,
                      tick *out) {
    int n = 0;
    const int64_t last = first + count - 1;
    int64_t m = floor_div(first, step) * step;
    if (m < first) {
        if (m + step - first >= (step + 1) / 2 || m + step > last) {
            out[n].value = (double)first;
            n++;
        }
        m += step;
    }
    for (; m <= last && n < MAX_TICKS; m += step) {
        out[n].value = (double)m;
        n++;
    }
    for (int i = 0; i < n; i++) {
        const int64_t index = ((int64_t)out[i].value - first) / per_cell;
        /* The centre of the cell, moved to a pixel centre so a one-pixel line is crisp. */
        out[i].pos = floor((double)origin + ((double)index + 0.5) * cell) + 0.5;
        snprintf(out[i].text, sizeof out[i].text, "%lld", (long long)out[i].value);
    }
    return n;
}

/* Text of a colour bar value: "0", or decimals down to 10^exponent, or exponent form with `digits`
 * significant digits for large or tiny numbers. */
static void bar_text(tick *t, double value, int exponent, int exponent_form, int digits) {
    if (value == 0.0) snprintf(t->text, sizeof t->text, "0");
    else if (exponent_form) snprintf(t->text, sizeof t->text, "%.*g", digits, value);
    else snprintf(t->text, sizeof t->text, "%.*f", exponent < 0 ? -exponent : 0, value);
    ax_fix_decimal_point(t->text);
    t->value = value;
}

/* Round values for the colour bar: multiples of 1, 2 or 5 x 10^k, about `target` of them and never
 * fewer than two. The step from range / target can leave a narrow range with none (0.55..0.97 and a
 * step of 0.5), so a step without two multiples in the range is made finer (0.2 there) until it has
 * them: from fewer than two, one finer step gives at most six. Should that fail (a range too narrow
 * for doubles), the ends themselves are the ticks. */
static int bar_ticks(double vmin, double vmax, int target, tick *out) {
    const double range = vmax - vmin;
    if (!(range > 0.0)) {
        out[0].value = vmin;
        snprintf(out[0].text, sizeof out[0].text, "%.4g", vmin);
        ax_fix_decimal_point(out[0].text);
        return 1;
    }
    const double raw = range / target;
    int exponent = (int)floor(log10(raw));
    int mult = 1; /* step = mult x 10^exponent */
    if (pow(10.0, exponent) < raw) mult = 2;
    if (mult == 2 && 2.0 * pow(10.0, exponent) < raw) mult = 5;
    if (mult == 5 && 5.0 * pow(10.0, exponent) < raw) {
        mult = 1;
        exponent++;
    }
    double step = mult * pow(10.0, exponent), lo = 0.0, hi = -1.0;
    for (int finer = 0; finer < 64; finer++) {
        lo = ceil(vmin / step - 1e-9);
        hi = floor(vmax / step + 1e-9);
        if (hi - lo >= 1.0) break;
        if (mult == 1) exponent--;
        mult = mult == 5 ? 2 : mult == 2 ? 1 : 5;
        step = mult * pow(10.0, exponent);
    }
    const double magnitude = fmax(fabs(vmin), fabs(vmax));
    /* Large or tiny numbers in exponent form, with enough digits that neighbours differ. */
    const int exponent_form = magnitude >= 1e6 || exponent < -5;
    int digits = (int)floor(log10(magnitude)) - exponent + 1;
    digits = digits < 1 ? 1 : digits > 17 ? 17 : digits;
    int n = 0;
    if (!(hi - lo >= 1.0 && hi - lo < MAX_TICKS)) {
        /* The ends, with as many digits as it takes to tell them apart. */
        digits = 1;
        do {
            snprintf(out[0].text, sizeof out[0].text, "%.*g", digits, vmin);
            snprintf(out[1].text, sizeof out[1].text, "%.*g", digits, vmax);
        } while (strcmp(out[0].text, out[1].text) == 0 && ++digits <= 17);
        bar_text(&out[0], vmin, 0, 1, digits);
        bar_text(&out[1], vmax, 0, 1, digits);
        return 2;
    }
    for (double k = lo; k <= hi; k += 1.0) bar_text(&out[n++], k * step, exponent, exponent_form, digits);
    return n;
}

/* ---- pixels ---------------------------------------------------------------------------------- */

static uint32_t pack_rgb(const uint8_t rgb[3]) { return (uint32_t)rgb[0] << 16 | (uint32_t)rgb[1] << 8 | rgb[2]; }

static void fill_rect(uint8_t *data, int stride, int x, int y, int w, int h, uint32_t pixel) {
    for (int r = y; r < y + h; r++) {
        uint32_t *row = (uint32_t *)(data + (size_t)r * (size_t)stride);
        for (int c = x; c < x + w; c++) row[c] = pixel;
    }
}

/* ---- layout ---------------------------------------------------------------------------------- */

typedef struct figure_layout {
    int width, height;
    int map_x, map_y, map_w, map_h;
    int bar_x;
    int cell_w, cell_h;
    font_metrics title, label, number;
    double bar_numbers_x; /* left edge of the colour bar's numbers */
    double bar_numbers_w;
    tick xt[MAX_TICKS], yt[MAX_TICKS], bt[MAX_TICKS];
    int nx, ny, nb;
    int has_nan;
} figure_layout;

static int32_t auto_cell(int64_t cells) {
    const int64_t size = (AUTO_TARGET + cells / 2) / cells;
    return (int32_t)(size < 1 ? 1 : size > MAX_CELL ? MAX_CELL : size);
}

/* What pushed a figure past cairo's size limit, for the message that names it. */
typedef enum { LAYOUT_FITS = 0, LAYOUT_CELLS, LAYOUT_TITLE, LAYOUT_LABELS } layout_fit;

/* Places everything; returns LAYOUT_FITS, or what makes the figure exceed cairo's size limit. */
static layout_fit plan_layout(cairo_t *cr, const ax_figure_config *cfg, int64_t rows, int64_t cols,
                              const axis_rows *y_rows, float vmin, float vmax, figure_layout *L) {
    L->cell_w = cfg->cell_width > 0 ? cfg->cell_width : auto_cell(cols);
    L->cell_h = cfg->cell_height > 0 ? cfg->cell_height : auto_cell(rows);
    if (cols > MAX_SIDE / L->cell_w || rows > MAX_SIDE / L->cell_h) return LAYOUT_CELLS;
    L->map_w = (int)(cols * L->cell_w);
    L->map_h = (int)(rows * L->cell_h);
    L->title = metrics_of(cr, TITLE_SIZE, 1);
    L->label = metrics_of(cr, LABEL_SIZE, 0);
    L->number = metrics_of(cr, NUMBER_SIZE, 0);
    const double number_h = L->number.ascent + L->number.descent;
    const double label_h = L->label.ascent + L->label.descent;

    /* Axis ticks: the spacing must also clear the widest number of the x axis. */
    char widest[40];
    snprintf(widest, sizeof widest, "%lld", (long long)(llabs(cfg->x_first) > llabs(cfg->x_first + cols - 1)
                                                            ? cfg->x_first
                                                            : cfg->x_first + cols - 1));
    const double x_spacing = fmax(MIN_TICK_SPACING, text_width(cr, widest) + 16.0);
    const int64_t x_step = axis_step(cfg->x_first, cols, 1, L->cell_w, x_spacing);
    const int64_t y_step = axis_step(cfg->y_first, y_rows->numbers, y_rows->per_cell, L->cell_h, MIN_TICK_SPACING);
    L->nx = axis_ticks(cfg->x_first, cols, 1, L->cell_w, 0, x_step, L->xt);
    L->ny = axis_ticks(cfg->y_first, y_rows->numbers, y_rows->per_cell, L->cell_h, 0, y_step, L->yt);
    const int bar_target = L->map_h / 80 < 2 ? 2 : L->map_h / 80 > 8 ? 8 : L->map_h / 80;
    L->nb = bar_ticks(vmin, vmax, bar_target, L->bt);

    double y_numbers_w = 0.0, x_last_w = 0.0, x_first_w = 0.0;
    for (int i = 0; i < L->ny; i++) y_numbers_w = fmax(y_numbers_w, text_width(cr, L->yt[i].text));
    if (L->nx > 0) {
        x_first_w = text_width(cr, L->xt[0].text);
        x_last_w = text_width(cr, L->xt[L->nx - 1].text);
    }
    L->bar_numbers_w = 0.0;
    for (int i = 0; i < L->nb; i++) L->bar_numbers_w = fmax(L->bar_numbers_w, text_width(cr, L->bt[i].text));
    const double nan_w = L->has_nan ? SWATCH + 6.0 + text_width(cr, NAN_TEXT) : 0.0;

    use_font(cr, LABEL_SIZE, 0);
    const double y_label_len = has_text(cfg->y_label) ? text_width(cr, cfg->y_label) : 0.0;
    const double value_label_len = has_text(cfg->value_label) ? text_width(cr, cfg->value_label) : 0.0;
    use_font(cr, TITLE_SIZE, 1);
    const double title_w = has_text(cfg->title) ? text_width(cr, cfg->title) : 0.0;

    /* Horizontal: [pad][y label][y numbers][tick][map][gap][bar][tick][bar numbers][value label][pad] */
    double left = PAD + (has_text(cfg->y_label) ? label_h + LABEL_GAP : 0.0) + y_numbers_w + TICK_GAP + TICK_LEN + 1;
    /* The first x number is centred under its cell and must not stick out of the image. */
    left = fmax(left, PAD + x_first_w / 2.0);
    L->map_x = (int)ceil(left);
    const double bar_gap = fmax(BAR_GAP, x_last_w / 2.0 + 8.0);
    L->bar_x = L->map_x + L->map_w + (int)ceil(bar_gap);
    L->bar_numbers_x = L->bar_x + BAR_WIDTH + 1 + TICK_LEN + TICK_GAP;
    double right = L->bar_numbers_x + L->bar_numbers_w;
    if (has_text(cfg->value_label)) right += LABEL_GAP + label_h;
    right = fmax(right, L->bar_x + nan_w);
    double width = right + PAD;

    /* Vertical: [pad][title][gap][map][tick][x numbers][x label][pad]; the rotated labels, centred on
     * the map, may be longer than it. */
    const double content_top = PAD + (has_text(cfg->title) ? L->title.ascent + L->title.descent + TITLE_GAP : 0.0);
    double top = has_text(cfg->title) ? content_top : PAD + number_h / 2.0; /* room for the top row's number */
    const double rotated = fmax(y_label_len, value_label_len);
    top = fmax(top, content_top + (rotated - L->map_h) / 2.0);
    L->map_y = (int)ceil(top);
    double bottom = L->map_y + L->map_h + 1 + TICK_LEN + TICK_GAP + number_h;
    if (L->has_nan) bottom = fmax(bottom, L->map_y + L->map_h + 1 + TICK_LEN + TICK_GAP + SWATCH);
    if (has_text(cfg->x_label)) bottom += LABEL_GAP + label_h;
    bottom = fmax(bottom, L->map_y + (L->map_h + rotated) / 2.0);
    double height = bottom + PAD;

    /* The title is centred over the map and may widen the image. */
    width = fmax(width, PAD + title_w + PAD);
    if (width > MAX_SIDE || height > MAX_SIDE) {
        /* The text alone (with the margins it always has) too long for any map: name it, not the cells. */
        if (PAD + title_w + PAD > MAX_SIDE) return LAYOUT_TITLE;
        if (content_top + rotated + PAD > MAX_SIDE) return LAYOUT_LABELS;
        return LAYOUT_CELLS;
    }
    L->width = (int)ceil(width);
    L->height = (int)ceil(height);
    for (int i = 0; i < L->nx; i++) L->xt[i].pos += L->map_x;
    for (int i = 0; i < L->ny; i++) L->yt[i].pos += L->map_y;
    for (int i = 0; i < L->nb; i++) {
        const double range = (double)vmax - (double)vmin;
        const double t = range > 0.0 ? (L->bt[i].value - vmin) / range : 0.5;
        double y = floor(L->map_y + (1.0 - t) * L->map_h) + 0.5;
        if (y > L->map_y + L->map_h - 0.5) y = L->map_y + L->map_h - 0.5;
        if (y < L->map_y + 0.5) y = L->map_y + 0.5;
        L->bt[i].pos = y;
    }
    return LAYOUT_FITS;
}

/* ---- drawing --------------------------------------------------------------------------------- */

/* Cells, colour bar and NaN swatch, straight into the pixels (white elsewhere). */
static void paint_pixels(cairo_surface_t *surface, const figure_layout *L, const uint8_t *rgb, int64_t rows,
                         int64_t cols, ax_colormap cmap, float vmin, float vmax) {
    cairo_surface_flush(surface);
    uint8_t *data = cairo_image_surface_get_data(surface);
    const int stride = cairo_image_surface_get_stride(surface);
    fill_rect(data, stride, 0, 0, L->width, L->height, 0xFFFFFFu);
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++)
            fill_rect(data, stride, L->map_x + (int)c * L->cell_w, L->map_y + (int)r * L->cell_h, L->cell_w, L->cell_h,
                      pack_rgb(rgb + 3 * (r * cols + c)));
    for (int y = 0; y < L->map_h; y++) {
        uint8_t colour[3];
        float t;
        if (vmax > vmin) t = 1.0f - ((float)y + 0.5f) / (float)L->map_h;
        else t = y < L->map_h / 2 ? 1.0f : 0.0f; /* above vmin / at most vmin */
        ax_colormap_rgb(cmap, t, colour);
        fill_rect(data, stride, L->bar_x, L->map_y + y, BAR_WIDTH, 1, pack_rgb(colour));
    }
    if (L->has_nan) {
        const uint8_t nan_rgb[3] = {AX_HEATMAP_NAN_R, AX_HEATMAP_NAN_G, AX_HEATMAP_NAN_B};
        fill_rect(data, stride, L->bar_x, L->map_y + L->map_h + 1 + TICK_LEN + TICK_GAP, SWATCH, SWATCH,
                  pack_rgb(nan_rgb));
    }
    cairo_surface_mark_dirty(surface);
}

static void draw_annotations(cairo_t *cr, const ax_figure_config *cfg, const figure_layout *L) {
    cairo_set_source_rgb(cr, 0.0, 0.0, 0.0);
    cairo_set_line_width(cr, 1.0);
    cairo_set_antialias(cr, CAIRO_ANTIALIAS_NONE); /* lines sit on pixel centres: no grey fringes */
    /* Frames just outside the map and the bar, so no cell pixel is covered. */
    cairo_rectangle(cr, L->map_x - 0.5, L->map_y - 0.5, L->map_w + 1.0, L->map_h + 1.0);
    cairo_rectangle(cr, L->bar_x - 0.5, L->map_y - 0.5, BAR_WIDTH + 1.0, L->map_h + 1.0);
    const double map_bottom = L->map_y + L->map_h, map_left = L->map_x - 1, bar_right = L->bar_x + BAR_WIDTH;
    for (int i = 0; i < L->nx; i++) {
        cairo_move_to(cr, L->xt[i].pos, map_bottom);
        cairo_line_to(cr, L->xt[i].pos, map_bottom + 1 + TICK_LEN);
    }
    for (int i = 0; i < L->ny; i++) {
        cairo_move_to(cr, map_left + 1, L->yt[i].pos);
        cairo_line_to(cr, map_left - TICK_LEN, L->yt[i].pos);
    }
    for (int i = 0; i < L->nb; i++) {
        cairo_move_to(cr, bar_right, L->bt[i].pos);
        cairo_line_to(cr, bar_right + 1 + TICK_LEN, L->bt[i].pos);
    }
    if (L->has_nan)
        cairo_rectangle(cr, L->bar_x - 0.5, map_bottom + 1 + TICK_LEN + TICK_GAP - 0.5, SWATCH + 1.0, SWATCH + 1.0);
    cairo_stroke(cr);
    cairo_set_antialias(cr, CAIRO_ANTIALIAS_DEFAULT);

    use_font(cr, NUMBER_SIZE, 0);
    const double x_numbers_top = map_bottom + 1 + TICK_LEN + TICK_GAP;
    for (int i = 0; i < L->nx; i++)
        show_text_at(cr, L->xt[i].pos - text_width(cr, L->xt[i].text) / 2.0, x_numbers_top + L->number.ascent,
                     L->xt[i].text);
    for (int i = 0; i < L->ny; i++)
        show_text_at(cr, map_left - TICK_LEN - TICK_GAP - text_width(cr, L->yt[i].text),
                     centred_baseline(cr, L->yt[i].text, L->yt[i].pos), L->yt[i].text);
    for (int i = 0; i < L->nb; i++)
        show_text_at(cr, L->bar_numbers_x, centred_baseline(cr, L->bt[i].text, L->bt[i].pos), L->bt[i].text);
    if (L->has_nan)
        show_text_at(cr, L->bar_x + SWATCH + 6.0, centred_baseline(cr, NAN_TEXT, x_numbers_top + SWATCH / 2.0),
                     NAN_TEXT);

    use_font(cr, LABEL_SIZE, 0);
    const double map_cx = L->map_x + L->map_w / 2.0, map_cy = L->map_y + L->map_h / 2.0;
    if (has_text(cfg->x_label)) {
        const double baseline = x_numbers_top + L->number.ascent + L->number.descent + LABEL_GAP + L->label.ascent;
        show_text_at(cr, map_cx - text_width(cr, cfg->x_label) / 2.0, baseline, cfg->x_label);
    }
    if (has_text(cfg->y_label)) show_text_upwards(cr, PAD + L->label.ascent, map_cy, cfg->y_label);
    if (has_text(cfg->value_label))
        show_text_upwards(cr, L->bar_numbers_x + L->bar_numbers_w + LABEL_GAP + L->label.ascent, map_cy,
                          cfg->value_label);

    if (has_text(cfg->title)) {
        use_font(cr, TITLE_SIZE, 1);
        const double w = text_width(cr, cfg->title);
        double x = map_cx - w / 2.0;
        if (x + w > L->width - PAD) x = L->width - PAD - w;
        if (x < PAD) x = PAD;
        show_text_at(cr, x, PAD + L->title.ascent, cfg->title);
    }
}

/* Font options set on the context rather than left to the defaults: grey antialiasing and no
 * hinting make the glyphs' pixels independent of a display's subpixel layout. */
static void set_font_options(cairo_t *cr) {
    cairo_font_options_t *options = cairo_font_options_create();
    cairo_font_options_set_antialias(options, CAIRO_ANTIALIAS_GRAY);
    cairo_font_options_set_hint_style(options, CAIRO_HINT_STYLE_NONE);
    cairo_font_options_set_hint_metrics(options, CAIRO_HINT_METRICS_OFF);
    cairo_set_font_options(cr, options);
    cairo_font_options_destroy(options);
}

static ax_status check_label(const char *path, const char *name, const char *text) {
    if (text != NULL && !ax_utf8_valid(text))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: config->%s: not valid UTF-8", path, name);
    return AX_OK;
}

static ax_status cairo_failure(const char *path, cairo_status_t status) {
    if (status == CAIRO_STATUS_NO_MEMORY)
        return ax_set_error(AX_ERR_OUT_OF_MEMORY, "%s: cairo: out of memory", path);
    return ax_set_error(AX_ERR_INTERNAL, "%s: cairo: %s", path, cairo_status_to_string(status));
}

ax_status ax_png_write_figure(const char *path, const float *values, int64_t rows, int64_t cols, float vmin,
                              float vmax, ax_colormap cmap, const ax_figure_config *config) {
    return ax_png_write_binned_figure(path, values, rows, cols, vmin, vmax, cmap, config, 1, rows);
}

ax_status ax_png_write_binned_figure(const char *path, const float *values, int64_t rows, int64_t cols, float vmin,
                                     float vmax, ax_colormap cmap, const ax_figure_config *config,
                                     int64_t rows_per_cell, int64_t axis_rows_count) {
    if (path == NULL || path[0] == '\0') return ax_set_error(AX_ERR_INVALID_ARGUMENT, "path: NULL or empty");
    /* Internal callers only: each row of cells but the last holds rows_per_cell numbers. */
    if (rows >= 1 && rows <= MAX_SIDE &&
        (rows_per_cell < 1 || rows_per_cell > MAX_FIRST || axis_rows_count <= (rows - 1) * rows_per_cell ||
         axis_rows_count > rows * rows_per_cell))
        return ax_set_error(AX_ERR_INTERNAL, "%s: %lld rows of %lld numbers cannot number %lld rows", path,
                            (long long)rows, (long long)rows_per_cell, (long long)axis_rows_count);
    ax_figure_config cfg = AX_FIGURE_CONFIG_INIT;
    if (config != NULL) {
        if (config->struct_size < sizeof(size_t) || config->struct_size > sizeof(ax_figure_config))
            return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                                "%s: config->struct_size: %zu is not a known ax_figure_config size (use "
                                "AX_FIGURE_CONFIG_INIT)",
                                path, config->struct_size);
        /* Fields a caller built against an older header does not have keep their defaults. */
        memcpy(&cfg, config, config->struct_size);
        cfg.struct_size = sizeof cfg;
    }
    AX_CHECK(check_label(path, "title", cfg.title));
    AX_CHECK(check_label(path, "x_label", cfg.x_label));
    AX_CHECK(check_label(path, "y_label", cfg.y_label));
    AX_CHECK(check_label(path, "value_label", cfg.value_label));
    if (cfg.cell_width < 0 || cfg.cell_width > MAX_CELL || cfg.cell_height < 0 || cfg.cell_height > MAX_CELL)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: config cell size %d x %d, expected each in [0, %d]", path,
                            (int)cfg.cell_width, (int)cfg.cell_height, MAX_CELL);
    if (llabs(cfg.x_first) > MAX_FIRST || llabs(cfg.y_first) > MAX_FIRST)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: config x_first %lld, y_first %lld, expected each in [-1e15, 1e15]",
                            path, (long long)cfg.x_first, (long long)cfg.y_first);
    if (rows > MAX_SIDE || cols > MAX_SIDE)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                            "%s: %lld x %lld cells cannot be drawn within cairo's %d pixels per side (write the bare "
                            "pixels with ax_png_write_heatmap)",
                            path, (long long)rows, (long long)cols, MAX_SIDE);
    /* Validates values, sizes, the range and the map before anything is drawn or created. */
    uint8_t *rgb = NULL;
    ax_status st = ax_png_render_cells(path, values, rows, cols, vmin, vmax, cmap, "cells", &rgb);
    if (st != AX_OK) return st;

    figure_layout *layout = calloc(1, sizeof *layout);
    cairo_surface_t *scratch = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1, 1);
    cairo_t *measure = cairo_create(scratch);
    cairo_surface_t *surface = NULL;
    cairo_t *cr = NULL;
    uint8_t *out = NULL;
    if (layout == NULL) {
        st = ax_set_error(AX_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
        goto done;
    }
    if (cairo_status(measure) != CAIRO_STATUS_SUCCESS) {
        st = cairo_failure(path, cairo_status(measure));
        goto done;
    }
    set_font_options(measure);
    for (int64_t e = 0; e < rows * cols && !layout->has_nan; e++) layout->has_nan = isnan(values[e]);
    const axis_rows y_rows = {axis_rows_count, rows_per_cell};
    const layout_fit fit = plan_layout(measure, &cfg, rows, cols, &y_rows, vmin, vmax, layout);
    if (fit == LAYOUT_TITLE || fit == LAYOUT_LABELS) {
        st = ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: config->%s is too long: drawn, it exceeds cairo's %d pixels "
                          "per side", path, fit == LAYOUT_TITLE ? "title" : "y_label or config->value_label", MAX_SIDE);
        goto done;
    }
    if (fit != LAYOUT_FITS) {
        st = ax_set_error(AX_ERR_INVALID_ARGUMENT,
                          "%s: %lld x %lld cells need a figure above cairo's %d pixels per side (use smaller cells, or "
                          "write the bare pixels with ax_png_write_heatmap)",
                          path, (long long)rows, (long long)cols, MAX_SIDE);
        goto done;
    }
    use_font(measure, NUMBER_SIZE, 0);
    if (cairo_status(measure) != CAIRO_STATUS_SUCCESS) {
        st = cairo_failure(path, cairo_status(measure));
        goto done;
    }
    if (!(text_width(measure, "0123456789") > 0.0)) {
        st = ax_set_error(AX_ERR_UNSUPPORTED, "%s: no installed font draws digits (install fonts-dejavu-core)", path);
        goto done;
    }

    surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, layout->width, layout->height);
    if (cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS) {
        st = cairo_failure(path, cairo_surface_status(surface));
        goto done;
    }
    paint_pixels(surface, layout, rgb, rows, cols, cmap, vmin, vmax);
    cr = cairo_create(surface);
    set_font_options(cr);
    draw_annotations(cr, &cfg, layout);
    cairo_surface_flush(surface);
    if (cairo_status(cr) != CAIRO_STATUS_SUCCESS) {
        st = cairo_failure(path, cairo_status(cr));
        goto done;
    }

    /* RGB24 keeps a pixel as a native-endian 0x00RRGGBB word; the encoder takes R, G, B bytes. */
    out = malloc((size_t)layout->width * (size_t)layout->height * 3);
    if (out == NULL) {
        st = ax_set_error(AX_ERR_OUT_OF_MEMORY, "%s: out of memory for a %d x %d image", path, layout->width,
                          layout->height);
        goto done;
    }
    const uint8_t *data = cairo_image_surface_get_data(surface);
    const int stride = cairo_image_surface_get_stride(surface);
    for (int y = 0; y < layout->height; y++) {
        const uint32_t *row = (const uint32_t *)(data + (size_t)y * (size_t)stride);
        uint8_t *dst = out + (size_t)y * (size_t)layout->width * 3;
        for (int x = 0; x < layout->width; x++) {
            dst[3 * x] = (uint8_t)(row[x] >> 16);
            dst[3 * x + 1] = (uint8_t)(row[x] >> 8);
            dst[3 * x + 2] = (uint8_t)row[x];
        }
    }
    st = ax_png_write_rgb(path, out, layout->width, layout->height);
done:
    free(out);
    cairo_destroy(cr);
    cairo_surface_destroy(surface);
    cairo_destroy(measure);
    cairo_surface_destroy(scratch);
    free(layout);
    free(rgb);
    return st;
}

#endif /* AXIAL_WITH_PNG */
