/*
 * figures.h — heatmaps people look at: annotated PNG figures (title, axes with ticks and labels,
 * a colour bar with its values and units, small maps scaled up), bare one-pixel-per-value PNGs,
 * colour maps, and the helpers that turn features and attention inputs into matrices (MSA identity,
 * C-alpha distances and contacts, attention probabilities of one head) and into labelled figures.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 *
 * The PNG writers need a build with AXIAL_PNG=ON (libpng for encoding, cairo for drawing the
 * figures' lines and text); without it they return AX_ERR_UNSUPPORTED ("this build has no libpng").
 * Everything else is always available.
 * Matrices are row-major float arrays that the caller allocates, of the size given per function.
 * Thread safety: every function is reentrant; none keeps state between calls.
 */
#ifndef AXIAL_FIGURES_H
#define AXIAL_FIGURES_H

#include <stdint.h>

#include "axial/axial.h"
#include "axial/features.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------------
 * Colour maps
 *
 * Each map is a piecewise-linear interpolation in sRGB between evenly spaced anchor colours, then
 * rounded to 8 bits (docs/features.md lists the anchors):
 *   VIRIDIS         5 anchors: #440154 #3B528B #21908C #5DC863 #FDE725 (dark purple, blue, teal,
 *                   green, yellow) -- a close approximation of matplotlib's viridis, perceptually
 *                   ordered and readable in grey and by colour-blind readers.
 *   GRAYS           #000000 -> #FFFFFF.
 *   BLUE_WHITE_RED  #2850AA -> #FFFFFF -> #B41E28, a diverging map for signed data centred on the
 *                   middle of [vmin, vmax].
 * NaN is drawn in AX_HEATMAP_NAN_RGB (magenta), which none of the maps contains.
 * ---------------------------------------------------------------------------------------------- */

typedef enum ax_colormap {
    AX_COLORMAP_VIRIDIS = 0,
    AX_COLORMAP_GRAYS = 1,
    AX_COLORMAP_BLUE_WHITE_RED = 2
} ax_colormap;

#define AX_HEATMAP_NAN_R 255
#define AX_HEATMAP_NAN_G 0
#define AX_HEATMAP_NAN_B 255

/* Colour of position t in [0, 1] of a map (t is clamped; NaN gives the NaN colour) into rgb[3].
 * Errors: AX_ERR_INVALID_ARGUMENT for an unknown map or NULL rgb. */
AX_API ax_status ax_colormap_rgb(ax_colormap cmap, float t, uint8_t rgb[3]);

/* Renders a (rows, cols) matrix to 8-bit RGB pixels, row-major, 3 bytes per pixel (rgb_out holds
 * rows * cols * 3 bytes). A value v maps to t = (v - vmin) / (vmax - vmin), clamped to [0, 1], so
 * +-Inf take the end colours; when vmin == vmax, values <= vmin take t = 0 and larger ones t = 1.
 * NaN takes the NaN colour. Errors: AX_ERR_INVALID_ARGUMENT for NULL pointers, rows or cols < 1,
 * sizes that overflow, non-finite vmin/vmax, vmin > vmax, an unknown map. */
AX_API ax_status ax_heatmap_render_rgb(const float *values, int64_t rows, int64_t cols, float vmin, float vmax,
                                       ax_colormap cmap, uint8_t *rgb_out);

/* The smallest and largest finite values of `count` values (NaN and +-Inf skipped), for a colour
 * range. With no finite value, *vmin = 0 and *vmax = 1. Errors: AX_ERR_INVALID_ARGUMENT for NULL
 * pointers or count < 0 (count 0 gives 0 and 1). */
AX_API ax_status ax_heatmap_range(const float *values, int64_t count, float *vmin, float *vmax);

/* Writes a (rows, cols) matrix as a bare PNG image of cols x rows pixels (one pixel per value, row 0
 * at the top, no text), 8-bit RGB, coloured as ax_heatmap_render_rgb does: the raw data for other
 * tools. ax_png_write_figure (below) draws the figure a person reads.
 *
 * The output is deterministic (no time or text chunks; fixed compression settings): the same
 * inputs give byte-identical files with the same libpng/zlib. The write is atomic: the image goes to
 * a temporary file in the destination's directory (unnamed where the file system allows O_TMPFILE,
 * so a process killed midway leaves nothing; else ".<name>.tmp.<pid>.<n>": hidden, the name cut to
 * 40 characters), which is fsync'ed, named as above and renamed over `path`; the directory is then
 * fsync'ed (best effort). On any failure the temporary is removed and `path` is untouched (not created, or keeping
 * its previous contents). A `path` that is a symbolic link is written through: the file it points
 * to is replaced (its temporary beside it) and the link kept. A replaced file keeps its permission
 * bits.
 *
 * Errors: AX_ERR_INVALID_ARGUMENT as for ax_heatmap_render_rgb plus a NULL or empty path, or rows
 * or cols above 2^31 - 1 (PNG's limit); AX_ERR_IO when the OS refuses (missing or read-only
 * directory, disk full, rename failing), with ax_last_error() naming the path and the reason;
 * AX_ERR_FORMAT when libpng reports an error (its message is captured, never printed);
 * AX_ERR_OUT_OF_MEMORY; AX_ERR_UNSUPPORTED when the build has no libpng. Reentrant; two threads
 * writing the same path each write a complete file and the last rename wins. */
AX_API ax_status ax_png_write_heatmap(const char *path, const float *values, int64_t rows, int64_t cols, float vmin,
                                      float vmax, ax_colormap cmap);

/* ------------------------------------------------------------------------------------------------
 * Annotated figures
 *
 * ax_png_write_figure draws the matrix as a grid of cells (row 0 at the top, column 0 at the left),
 * each cell a block of cell_width x cell_height pixels of exactly the colour ax_heatmap_render_rgb
 * gives its value (nearest neighbour: no smoothing across cells), framed by a one-pixel line, with:
 *   - the title centred above it;
 *   - tick marks and numbers on the left (rows) and bottom (columns) axes at the cell centres,
 *     numbered from y_first / x_first in steps of 1, 2 or 5 times a power of ten so the numbers do
 *     not collide and at most 64 ticks cover the whole axis (the first number is also shown when it
 *     is not too close to the next tick);
 *   - the axis labels below the numbers and, rotated, left of them;
 *   - a vertical colour bar right of the map, as tall as the map, vmin at the bottom and vmax at the
 *     top, with ticks and numbers at round values (about one per 80 pixels of bar, and at least
 *     two when vmin < vmax, however narrow the range) and value_label (what a colour means, with
 *     its unit) rotated beside it; when vmin == vmax the bar's lower half has the colour of values <= vmin
 *     and its upper half that of larger values, with one tick at vmin between them;
 *   - when any value is NaN, a magenta swatch labelled "no value" under the colour bar.
 * Text is black DejaVu Sans (through fontconfig; Debian's fonts-dejavu-core) on a white background,
 * antialiased in grey, unhinted. The image is 8-bit RGB.
 *
 * Automatic cell size (cell_width or cell_height 0): per axis, the integer nearest 720 / cells, at
 * least 1, so a 137 x 137 map is drawn with 5 x 5 pixel cells (685 px) and a 59 x 431 MSA map with
 * cells 2 pixels wide and 12 tall (862 x 708 px); square matrices keep square cells. Axes of more than 480 cells get one pixel
 * per cell (nothing is ever averaged away), and small matrices at most 64 pixels per cell.
 * ---------------------------------------------------------------------------------------------- */

/* Labels and layout of a figure. Zero-initialisable apart from struct_size: every other field's zero
 * (NULL, 0) is its default, and a struct_size of an older, smaller version leaves the fields it lacks
 * at their defaults. Strings are UTF-8 (so "Å" and "α" work) and are only read during the call;
 * NULL or "" draws nothing and leaves no room for it. */
typedef struct ax_figure_config {
    size_t struct_size;         /* sizeof(ax_figure_config); set by AX_FIGURE_CONFIG_INIT */
    const char *title;          /* above the map, e.g. "Cα distance map, chain 1cbs_A" */
    const char *x_label;        /* under the column numbers, e.g. "residue" */
    const char *y_label;        /* left of the row numbers, rotated, e.g. "MSA row (0 = query)" */
    const char *value_label;    /* beside the colour bar: meaning and unit, e.g. "distance (Å)" */
    int64_t x_first;            /* number of column 0 on the x axis (1 for 1-based residue numbers);
                                 * within +-10^15 */
    int64_t y_first;            /* number of row 0 on the y axis; within +-10^15 */
    int32_t cell_width;         /* pixels per cell horizontally, 0 = automatic, at most 64 */
    int32_t cell_height;        /* pixels per cell vertically, 0 = automatic, at most 64 */
} ax_figure_config;

#define AX_FIGURE_CONFIG_INIT \
    { sizeof(ax_figure_config), NULL, NULL, NULL, NULL, 0, 0, 0, 0 }

/* Writes a (rows, cols) matrix as the annotated figure described above; colours as
 * ax_heatmap_render_rgb gives them for [vmin, vmax] and cmap. config may be NULL (no text, numbers
 * from 0, automatic cell size).
 *
 * The output is deterministic: the same inputs give byte-identical files with the same cairo,
 * libpng, zlib, fonts and fontconfig configuration (no time or text chunks; fixed encoder settings;
 * numbers formatted without the C locale). The write is atomic as for ax_png_write_heatmap
 * (a temporary beside `path`, unnamed until complete where possible, fsync, rename, directory fsync;
 * on failure the temporary is removed and `path` is untouched).
 *
 * Errors: AX_ERR_INVALID_ARGUMENT for a NULL or empty path, the arguments ax_heatmap_render_rgb
 * rejects, a config with an unknown struct_size, a cell size outside [0, 64], x_first or y_first
 * beyond +-10^15, a label that is not valid UTF-8 (naming the field), or a figure above 32767 pixels
 * on a side (cairo's limit; write the bare pixels with ax_png_write_heatmap instead);
 * AX_ERR_UNSUPPORTED when the build has no libpng/cairo, or when no installed font can draw digits
 * (install fonts-dejavu-core); AX_ERR_OUT_OF_MEMORY; AX_ERR_IO and AX_ERR_FORMAT as for
 * ax_png_write_heatmap. Every message names the path. Reentrant. */
AX_API ax_status ax_png_write_figure(const char *path, const float *values, int64_t rows, int64_t cols, float vmin,
                                     float vmax, ax_colormap cmap, const ax_figure_config *config);

/* ------------------------------------------------------------------------------------------------
 * Matrices from features and attention inputs
 * ---------------------------------------------------------------------------------------------- */

/* MSA coverage/identity map, (num_alignments, seq_length) into out: 1 where a row holds the same
 * token as the query (row 0) in that column, 0.5 where it holds a different residue (any token
 * 0..20), 0 for a gap (token 21). Tokens are compared after AlphaFold's MSA mapping (so 'B' in a row
 * counts as identical to a query 'D'). Row 0 is all ones. Errors: AX_ERR_INVALID_ARGUMENT for NULL
 * pointers or features without an msa. */
AX_API ax_status ax_msa_identity_map(const ax_chain_features *features, float *out);

/* C-alpha distance map, (seq_length, seq_length) into out, in angstrom: |CA_i - CA_j|, NaN where
 * either residue has no CA (mask 0). Errors: AX_ERR_INVALID_ARGUMENT for NULL pointers or features
 * without a structure. */
AX_API ax_status ax_ca_distance_map(const ax_chain_features *features, float *out);

/* Contact map from C-alpha distances, (seq_length, seq_length): 1 where the distance is below
 * `cutoff` angstrom (8 is the usual), 0 where it is not, NaN where either CA is missing.
 * Errors: as ax_ca_distance_map, and a cutoff that is not a positive finite number. */
AX_API ax_status ax_contact_map(const ax_chain_features *features, float cutoff, float *out);

/* Attention probabilities of one (b, n, h) of Evoformer attention (evoformer.h semantics), S x S
 * into out: out[i, j] = softmax_j(q[b,n,i,h,:] . k[b,n,j,h,:] / sqrt(D) + bias_mask[b,n,0,0,j] +
 * bias_pair[b,0,h,i,j]), computed on the CPU in fp32 with a double-precision sum. Biases may be
 * NULL and broadcast as in evoformer.h. A row whose logits are all -inf is all zeros (as the
 * attention op's output is). Only this one head's S x S matrix is formed.
 * Tensors: host (AX_CPU) memory, any strides; q and k in AX_F32, AX_BF16 or AX_F16 (the same
 * dtype), each bias in that dtype or AX_F32.
 * Errors: AX_ERR_INVALID_ARGUMENT for NULL q/k/out, wrong ndim or shapes, dtype mixes, tensors
 * not on the CPU, or b, n, h out of range (naming the tensor and dimension). */
AX_API ax_status ax_attention_probabilities(const ax_tensor *q,         /* (B, N, S, H, D) */
                                            const ax_tensor *k,         /* (B, N, S, H, D) */
                                            const ax_tensor *bias_mask, /* NULL or (B|1, N|1, 1, 1, S|1) */
                                            const ax_tensor *bias_pair, /* NULL or (B|1, 1, H|1, S|1, S|1) */
                                            int64_t b, int64_t n, int64_t h,
                                            float *out);                /* (S, S) */

/* ------------------------------------------------------------------------------------------------
 * Labelled figures of chains and attention (ax_png_write_figure with the labels filled in)
 * ---------------------------------------------------------------------------------------------- */

/* MSA_IDENTITY draws at most this many pixel lines of rows (so the figure stays within cairo's 32767
 * pixels per side): a deeper MSA of N rows is drawn as lines that are each the mean identity of
 * k = ceil(N / AX_CHAIN_MAP_MAX_ROWS) consecutive rows (the last line of what is left). */
#define AX_CHAIN_MAP_MAX_ROWS 30000

typedef enum ax_chain_map {
    AX_CHAIN_MAP_MSA_IDENTITY = 0, /* ax_msa_identity_map, (N, L) */
    AX_CHAIN_MAP_CA_DISTANCE = 1,  /* ax_ca_distance_map, (L, L) */
    AX_CHAIN_MAP_CONTACT = 2       /* ax_contact_map at contact_cutoff, (L, L) */
} ax_chain_map;

/* Computes one map of a chain and writes it as a labelled figure:
 *   MSA_IDENTITY  title "MSA identity to the query, chain NAME", x "residue" (1-based), y "MSA row
 *                 (0 = query)", colour bar "0 gap, 0.5 other residue, 1 query's residue", viridis
 *                 over [0, 1];
 *   CA_DISTANCE   title "Cα distance map, chain NAME", both axes "residue" (1-based), colour bar
 *                 "Cα-Cα distance (Å)", viridis over the finite range of the distances;
 *   CONTACT       title "Cα contact map (< CUTOFF Å), chain NAME", both axes "residue",
 *                 colour bar "contact (1 = Cα-Cα distance < CUTOFF Å)", grays over [0, 1].
 * chain_name may be NULL (the title then has no ", chain NAME"); contact_cutoff is only read for
 * CONTACT. Residues are numbered by position in the sequence (residue_index + 1).
 * An MSA of more than AX_CHAIN_MAP_MAX_ROWS rows is binned (see there): each line of the map is the
 * mean of k consecutive rows, the y axis still numbers MSA rows, and the labels say so (y "MSA row
 * (0 = query), k rows per line", colour bar "mean of k rows: 0 gap, ...").
 * Errors: those of the map's function (a chain without an msa or structure: AX_ERR_INVALID_ARGUMENT
 * "features: no structure ..."), an unknown kind, chain_name that is not valid UTF-8 or longer than
 * 200 bytes, and those of ax_png_write_figure; AX_ERR_OUT_OF_MEMORY. Reentrant. */
AX_API ax_status ax_png_write_chain_map(const char *path, const ax_chain_features *features, const char *chain_name,
                                        ax_chain_map kind, float contact_cutoff);

/* Writes one head's attention probabilities (ax_attention_probabilities' (S, S) output) as a
 * labelled figure: title as given (NULL: "Attention probabilities"), y "query position", x "key
 * position", both numbered from first_position (1 for a whole chain, crop_start + 1 for a crop),
 * colour bar "probability" in viridis over [0, the largest finite value] (so a diffuse head still
 * shows its pattern; the bar's numbers say how large the largest probability is).
 * Errors: NULL probs, S < 1, and those of ax_png_write_figure. Reentrant. */
AX_API ax_status ax_png_write_attention_map(const char *path, const float *probs, /* (S, S) */
                                            int64_t S, const char *title, int64_t first_position);

#ifdef __cplusplus
}
#endif

#endif /* AXIAL_FIGURES_H */
