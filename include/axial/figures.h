/*
 * figures.h — heatmaps people look at: PNG writing with colour maps, and the helpers that turn
 * features and attention inputs into matrices (MSA identity, C-alpha distances and contacts,
 * attention probabilities of one head).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 *
 * Only ax_png_write_heatmap needs libpng; without it (a build with AXIAL_PNG=OFF) it returns
 * AX_ERR_UNSUPPORTED ("this build has no libpng"). Everything else is always available.
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

/* Writes a (rows, cols) matrix as a PNG image of cols x rows pixels (one pixel per value, row 0 at
 * the top), 8-bit RGB, coloured as ax_heatmap_render_rgb does.
 *
 * The output is deterministic (no time or text chunks; fixed compression settings): the same
 * inputs give byte-identical files with the same libpng/zlib. The write is atomic: the image goes to
 * a temporary file in the destination's directory ("<path>.tmp.<pid>.<n>"), which is fsync'ed and
 * renamed over `path`; the directory is then fsync'ed (best effort). On any failure the temporary is
 * removed and `path` is untouched (not created, or keeping its previous contents).
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

#ifdef __cplusplus
}
#endif

#endif /* AXIAL_FIGURES_H */
