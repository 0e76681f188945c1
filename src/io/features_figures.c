/*
 * features_figures.c — colour maps, RGB rendering and the matrices figures are drawn from (MSA
 * identity, C-alpha distances and contacts, one head's attention probabilities), and the labelled
 * figures of chains and attention (titles, axes, units) that png_figure.c draws. Nothing here
 * calls libpng or cairo directly; without them the figure writers return AX_ERR_UNSUPPORTED.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "axial/figures.h"
#include "core/internal.h"
#include "core/tensor_spec.h"
#include "io/features_util.h"
#include "io/figure_util.h"

/* ---- colour maps ---------------------------------------------------------------------------- */

typedef struct colormap_anchors {
    int count;
    uint8_t rgb[8][3];
} colormap_anchors;

/* Evenly spaced anchors; see figures.h for what each map is for. */
static const colormap_anchors viridis = {5, {{0x44, 0x01, 0x54}, {0x3B, 0x52, 0x8B}, {0x21, 0x90, 0x8C},
                                             {0x5D, 0xC8, 0x63}, {0xFD, 0xE7, 0x25}}};
static const colormap_anchors grays = {2, {{0x00, 0x00, 0x00}, {0xFF, 0xFF, 0xFF}}};
static const colormap_anchors blue_white_red = {3, {{0x28, 0x50, 0xAA}, {0xFF, 0xFF, 0xFF}, {0xB4, 0x1E, 0x28}}};

static const colormap_anchors *colormap_lookup(ax_colormap cmap) {
    switch (cmap) {
    case AX_COLORMAP_VIRIDIS: return &viridis;
    case AX_COLORMAP_GRAYS: return &grays;
    case AX_COLORMAP_BLUE_WHITE_RED: return &blue_white_red;
    }
    return NULL;
}

static void colormap_eval(const colormap_anchors *map, float t, uint8_t rgb[3]) {
    if (isnan(t)) {
        rgb[0] = AX_HEATMAP_NAN_R;
        rgb[1] = AX_HEATMAP_NAN_G;
        rgb[2] = AX_HEATMAP_NAN_B;
        return;
    }
    if (t < 0.0f) t = 0.0f;
    if (t > 1.0f) t = 1.0f;
    const float x = t * (float)(map->count - 1);
    int segment = (int)x;
    if (segment > map->count - 2) segment = map->count - 2;
    const float f = x - (float)segment;
    for (int ch = 0; ch < 3; ch++) {
        const float lo = map->rgb[segment][ch], hi = map->rgb[segment + 1][ch];
        rgb[ch] = (uint8_t)(lo + f * (hi - lo) + 0.5f);
    }
}

ax_status ax_colormap_rgb(ax_colormap cmap, float t, uint8_t rgb[3]) {
    if (rgb == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "rgb: NULL");
    const colormap_anchors *map = colormap_lookup(cmap);
    if (map == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "cmap: %d is not an ax_colormap", (int)cmap);
    colormap_eval(map, t, rgb);
    return AX_OK;
}

ax_status ax_heatmap_render_rgb(const float *values, int64_t rows, int64_t cols, float vmin, float vmax,
                                ax_colormap cmap, uint8_t *rgb_out) {
    /* The size first: a writer passes no buffer for an empty size, which had read as "NULL". */
    if (rows < 1 || cols < 1)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "heatmap: %lld x %lld, expected at least 1 x 1",
                            (long long)rows, (long long)cols);
    if (values == NULL || rgb_out == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "values or rgb_out: NULL");
    int64_t count = 0;
    if (!ax_feat_mul(rows, cols, 3, &count))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "heatmap: %lld x %lld pixels overflow", (long long)rows,
                            (long long)cols);
    if (!isfinite(vmin) || !isfinite(vmax) || vmin > vmax)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "vmin, vmax: [%g, %g] is not a finite range with vmin <= vmax",
                            (double)vmin, (double)vmax);
    const colormap_anchors *map = colormap_lookup(cmap);
    if (map == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "cmap: %d is not an ax_colormap", (int)cmap);
    /* In double: vmax - vmin can overflow float for extreme finite ranges. */
    const double range = (double)vmax - (double)vmin;
    for (int64_t e = 0; e < count; e++) {
        const float v = values[e];
        float t;
        if (isnan(v)) t = NAN;
        else if (range > 0.0) t = (float)(((double)v - (double)vmin) / range);
        else t = v > vmax ? 1.0f : 0.0f;
        colormap_eval(map, t, rgb_out + 3 * e);
    }
    return AX_OK;
}

ax_status ax_heatmap_range(const float *values, int64_t count, float *vmin, float *vmax) {
    if (vmin == NULL || vmax == NULL || (values == NULL && count > 0))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "values, vmin or vmax: NULL");
    if (count < 0) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "count: %lld is negative", (long long)count);
    float lo = INFINITY, hi = -INFINITY;
    for (int64_t e = 0; e < count; e++) {
        if (!isfinite(values[e])) continue;
        if (values[e] < lo) lo = values[e];
        if (values[e] > hi) hi = values[e];
    }
    if (lo > hi) {
        lo = 0.0f;
        hi = 1.0f;
    }
    *vmin = lo;
    *vmax = hi;
    return AX_OK;
}

/* ---- matrices from features ----------------------------------------------------------------- */

ax_status ax_msa_identity_map(const ax_chain_features *features, float *out) {
    if (features == NULL || out == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "features or out: NULL");
    if (features->msa == NULL || features->num_alignments < 1 || features->seq_length < 1)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "features: no msa");
    const int64_t length = features->seq_length;
    const int32_t *query = features->msa;
    for (int64_t r = 0; r < features->num_alignments; r++) {
        const int32_t *row = features->msa + r * length;
        for (int64_t i = 0; i < length; i++) {
            float v = 0.0f;
            if (row[i] != AX_MSA_GAP) v = row[i] == query[i] ? 1.0f : 0.5f;
            out[r * length + i] = v;
        }
    }
    return AX_OK;
}

static ax_status check_structure(const ax_chain_features *features, const float *out) {
    if (features == NULL || out == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "features or out: NULL");
    if (features->all_atom_positions == NULL || features->all_atom_mask == NULL || features->seq_length < 1)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "features: no structure (all_atom_positions is NULL)");
    return AX_OK;
}

/* Distances in double, then rounded once: the map is symmetric and exact for the tests' inputs. */
static float ca_distance(const ax_chain_features *f, int64_t i, int64_t j) {
    if (f->all_atom_mask[i * AX_ATOM37_COUNT + AX_ATOM37_CA] == 0.0f ||
        f->all_atom_mask[j * AX_ATOM37_COUNT + AX_ATOM37_CA] == 0.0f)
        return NAN;
    const float *a = f->all_atom_positions + (i * AX_ATOM37_COUNT + AX_ATOM37_CA) * 3;
    const float *b = f->all_atom_positions + (j * AX_ATOM37_COUNT + AX_ATOM37_CA) * 3;
    const double dx = (double)a[0] - b[0], dy = (double)a[1] - b[1], dz = (double)a[2] - b[2];
    return (float)sqrt(dx * dx + dy * dy + dz * dz);
}

ax_status ax_ca_distance_map(const ax_chain_features *features, float *out) {
    AX_CHECK(check_structure(features, out));
    const int64_t length = features->seq_length;
    for (int64_t i = 0; i < length; i++)
        for (int64_t j = 0; j < length; j++) out[i * length + j] = ca_distance(features, i, j);
    return AX_OK;
}

ax_status ax_contact_map(const ax_chain_features *features, float cutoff, float *out) {
    AX_CHECK(check_structure(features, out));
    if (!(cutoff > 0.0f) || !isfinite(cutoff))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "cutoff: %g, expected a positive finite distance",
                            (double)cutoff);
    const int64_t length = features->seq_length;
    for (int64_t i = 0; i < length; i++)
        for (int64_t j = 0; j < length; j++) {
            const float d = ca_distance(features, i, j);
            out[i * length + j] = isnan(d) ? NAN : (d < cutoff ? 1.0f : 0.0f);
        }
    return AX_OK;
}

/* ---- attention probabilities of one head ---------------------------------------------------- */

static float load_element(const ax_tensor *t, int64_t offset) {
    switch (t->dtype) {
    case AX_F32: return ((const float *)t->data)[offset];
    case AX_BF16: return ax_bf16_to_f32(((const uint16_t *)t->data)[offset]);
    case AX_F16: return ax_f16_to_f32(((const uint16_t *)t->data)[offset]);
    default: return NAN; /* excluded by validation */
    }
}

/* Index along a dimension that may broadcast (size 1). */
static int64_t bcast(const ax_tensor *t, int32_t dim, int64_t index) { return t->shape[dim] == 1 ? 0 : index; }

ax_status ax_attention_probabilities(const ax_tensor *q, const ax_tensor *k, const ax_tensor *bias_mask,
                                     const ax_tensor *bias_pair, int64_t b, int64_t n, int64_t h, float *out) {
    if (out == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "out: NULL");
    /* Evoformer attention's contract (evoformer.h), on host tensors. */
    ax_tensor_spec specs[4] = {
        AX_SPEC("q", q, 5, "B", "N", "S", "H", "D"),
        AX_SPEC("k", k, 5, "B", "N", "S", "H", "D"),
        AX_SPEC("bias_mask", bias_mask, 5, "B", "N", "1", "1", "S (key)"),
        AX_SPEC("bias_pair", bias_pair, 5, "B", "1", "H", "S (query)", "S (key)"),
    };
    specs[0].dtypes = AX_DTYPES_FLOAT;
    specs[1].dtype_as = 0;
    specs[2].broadcast = 1u << 0 | 1u << 1 | 1u << 4;
    specs[3].broadcast = 1u << 0 | 1u << 2 | 1u << 3 | 1u << 4;
    for (int i = 2; i < 4; i++) {
        specs[i].dtype_as = 0;
        specs[i].dtypes = AX_DTYPE_BIT(AX_F32);
        specs[i].flags = AX_SPEC_OPTIONAL;
    }
    ax_dims dims = {0};
    AX_CHECK(ax_check_specs(NULL, specs, 4, &dims));
    const int64_t B = q->shape[0], N = q->shape[1], S = q->shape[2], H = q->shape[3], D = q->shape[4];
    if (b < 0 || b >= B || n < 0 || n >= N || h < 0 || h >= H)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "(b, n, h) = (%lld, %lld, %lld) is outside (%lld, %lld, %lld)",
                            (long long)b, (long long)n, (long long)h, (long long)B, (long long)N, (long long)H);
    if (D < 1) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "q: D is 0");

    const double scale = 1.0 / sqrt((double)D);
    const int64_t q_base = b * q->strides[0] + n * q->strides[1] + h * q->strides[3];
    const int64_t k_base = b * k->strides[0] + n * k->strides[1] + h * k->strides[3];
    for (int64_t i = 0; i < S; i++) {
        float *row = out + i * S;
        float row_max = -INFINITY;
        for (int64_t j = 0; j < S; j++) {
            float dot = 0.0f; /* fp32 accumulation, as the attention kernels do */
            for (int64_t d = 0; d < D; d++)
                dot += load_element(q, q_base + i * q->strides[2] + d * q->strides[4]) *
                       load_element(k, k_base + j * k->strides[2] + d * k->strides[4]);
            float logit = (float)(dot * scale);
            if (bias_mask != NULL)
                logit += load_element(bias_mask, bcast(bias_mask, 0, b) * bias_mask->strides[0] +
                                                     bcast(bias_mask, 1, n) * bias_mask->strides[1] +
                                                     bcast(bias_mask, 4, j) * bias_mask->strides[4]);
            if (bias_pair != NULL)
                logit += load_element(bias_pair, bcast(bias_pair, 0, b) * bias_pair->strides[0] +
                                                     bcast(bias_pair, 2, h) * bias_pair->strides[2] +
                                                     bcast(bias_pair, 3, i) * bias_pair->strides[3] +
                                                     bcast(bias_pair, 4, j) * bias_pair->strides[4]);
            row[j] = logit;
            if (logit > row_max) row_max = logit;
        }
        if (row_max == -INFINITY) { /* fully masked: no probability anywhere */
            for (int64_t j = 0; j < S; j++) row[j] = isnan(row[j]) ? NAN : 0.0f;
            continue;
        }
        double sum = 0.0;
        for (int64_t j = 0; j < S; j++) {
            row[j] = expf(row[j] - row_max);
            sum += row[j];
        }
        const double inv = 1.0 / sum;
        for (int64_t j = 0; j < S; j++) row[j] = (float)(row[j] * inv);
    }
    return AX_OK;
}

/* ---- labelled figures of chains and attention ------------------------------------------------ */

enum { MAX_CHAIN_NAME = 200 };

/* Means of `per_line` consecutive rows of a (rows, cols) map, in place: row b becomes the mean of rows
 * b * per_line ... (the last line of what is left). Returns the number of lines. */
static ax_status bin_rows(float *values, int64_t rows, int64_t cols, int64_t per_line, int64_t *lines) {
    double *sum = malloc((size_t)cols * sizeof *sum);
    if (sum == NULL) return ax_set_error(AX_ERR_OUT_OF_MEMORY, "out of memory for %lld columns", (long long)cols);
    int64_t line = 0;
    for (int64_t first = 0; first < rows; first += per_line, line++) {
        const int64_t end = first + per_line < rows ? first + per_line : rows;
        for (int64_t c = 0; c < cols; c++) sum[c] = 0.0;
        for (int64_t r = first; r < end; r++)
            for (int64_t c = 0; c < cols; c++) sum[c] += values[r * cols + c];
        /* Row `line` is at or before row `first`: every row still to be read lies after it. */
        for (int64_t c = 0; c < cols; c++) values[line * cols + c] = (float)(sum[c] / (double)(end - first));
    }
    free(sum);
    *lines = line;
    return AX_OK;
}

ax_status ax_png_write_chain_map(const char *path, const ax_chain_features *features, const char *chain_name,
                                 ax_chain_map kind, float contact_cutoff) {
    if (features == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "features: NULL");
    if (kind != AX_CHAIN_MAP_MSA_IDENTITY && kind != AX_CHAIN_MAP_CA_DISTANCE && kind != AX_CHAIN_MAP_CONTACT)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "kind: %d is not an ax_chain_map", (int)kind);
    /* The name goes into a fixed title buffer: checked here so the message names it, not the title. */
    if (chain_name != NULL && (strlen(chain_name) > MAX_CHAIN_NAME || !ax_utf8_valid(chain_name)))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "chain_name: not valid UTF-8 or longer than %d bytes",
                            MAX_CHAIN_NAME);
    const int64_t rows = kind == AX_CHAIN_MAP_MSA_IDENTITY ? features->num_alignments : features->seq_length;
    const int64_t cols = features->seq_length;
    int64_t count = 0;
    if (rows < 1 || cols < 1 || !ax_feat_mul(rows, cols, sizeof(float), &count))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "features: %lld x %lld map is empty or too large",
                            (long long)rows, (long long)cols);
    float *values = malloc((size_t)count * sizeof(float));
    if (values == NULL)
        return ax_set_error(AX_ERR_OUT_OF_MEMORY, "out of memory for a %lld x %lld map", (long long)rows,
                            (long long)cols);

    char title[MAX_CHAIN_NAME + 96], value_label[96], y_label[64], cutoff_text[32] = "";
    const char *name_sep = chain_name != NULL ? ", chain " : "", *name = chain_name != NULL ? chain_name : "";
    ax_figure_config cfg = AX_FIGURE_CONFIG_INIT;
    cfg.title = title;
    cfg.value_label = value_label;
    cfg.x_label = "residue";
    cfg.x_first = 1;
    cfg.y_first = 1;
    float vmin = 0.0f, vmax = 1.0f;
    ax_colormap cmap = AX_COLORMAP_VIRIDIS;
    /* A deeper MSA than a figure can show one row per pixel line: each line the mean of per_line rows. */
    int64_t per_line = 1, lines = rows;
    ax_status st;
    switch (kind) {
    case AX_CHAIN_MAP_MSA_IDENTITY:
        st = ax_msa_identity_map(features, values);
        snprintf(title, sizeof title, "MSA identity to the query%s%s", name_sep, name);
        snprintf(value_label, sizeof value_label, "0 gap, 0.5 other residue, 1 query's residue");
        snprintf(y_label, sizeof y_label, "MSA row (0 = query)");
        if (rows > AX_CHAIN_MAP_MAX_ROWS) {
            per_line = (rows + AX_CHAIN_MAP_MAX_ROWS - 1) / AX_CHAIN_MAP_MAX_ROWS;
            if (st == AX_OK) st = bin_rows(values, rows, cols, per_line, &lines);
            snprintf(value_label, sizeof value_label, "mean of %lld rows: 0 gap, 0.5 other residue, 1 query's residue",
                     (long long)per_line);
            snprintf(y_label, sizeof y_label, "MSA row (0 = query), %lld rows per line", (long long)per_line);
        }
        cfg.y_label = y_label;
        cfg.y_first = 0;
        break;
    case AX_CHAIN_MAP_CA_DISTANCE:
        st = ax_ca_distance_map(features, values);
        if (st == AX_OK) st = ax_heatmap_range(values, count, &vmin, &vmax);
        snprintf(title, sizeof title, "C\xCE\xB1 distance map%s%s", name_sep, name);
        snprintf(value_label, sizeof value_label, "C\xCE\xB1-C\xCE\xB1 distance (\xC3\x85)");
        cfg.y_label = "residue";
        break;
    default: /* AX_CHAIN_MAP_CONTACT */
        st = ax_contact_map(features, contact_cutoff, values);
        /* %g would print a locale's decimal comma; the cutoff is shown to two decimals at most. */
        snprintf(cutoff_text, sizeof cutoff_text, "%.2f", (double)contact_cutoff);
        ax_fix_decimal_point(cutoff_text);
        for (size_t n = strlen(cutoff_text); n > 0 && (cutoff_text[n - 1] == '0' || cutoff_text[n - 1] == '.'); n--) {
            const int point = cutoff_text[n - 1] == '.';
            cutoff_text[n - 1] = '\0';
            if (point) break;
        }
        snprintf(title, sizeof title, "C\xCE\xB1 contact map (< %s \xC3\x85)%s%s", cutoff_text, name_sep, name);
        snprintf(value_label, sizeof value_label, "contact (1 = C\xCE\xB1-C\xCE\xB1 distance < %s \xC3\x85)",
                 cutoff_text);
        cfg.y_label = "residue";
        cmap = AX_COLORMAP_GRAYS;
        break;
    }
    if (st == AX_OK) st = ax_png_write_binned_figure(path, values, lines, cols, vmin, vmax, cmap, &cfg, per_line, rows);
    free(values);
    return st;
}

ax_status ax_png_write_attention_map(const char *path, const float *probs, int64_t S, const char *title,
                                     int64_t first_position) {
    if (probs == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "probs: NULL");
    int64_t count = 0;
    if (S < 1 || !ax_feat_mul(S, S, sizeof(float), &count))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "S: %lld, expected at least 1 (and S x S to fit in memory)",
                            (long long)S);
    float lo = 0.0f, hi = 1.0f;
    AX_CHECK(ax_heatmap_range(probs, count, &lo, &hi));
    ax_figure_config cfg = AX_FIGURE_CONFIG_INIT;
    cfg.title = title != NULL ? title : "Attention probabilities";
    cfg.x_label = "key position";
    cfg.y_label = "query position";
    cfg.value_label = "probability";
    cfg.x_first = first_position;
    cfg.y_first = first_position;
    /* From 0, not the smallest value: a probability's distance from zero is what the eye compares. */
    return ax_png_write_figure(path, probs, S, S, 0.0f, hi > 0.0f ? hi : 1.0f, AX_COLORMAP_VIRIDIS, &cfg);
}
