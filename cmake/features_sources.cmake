# Sources of the features area (AlphaFold-style chain features, training batches, figures),
# relative to the project root. Included by the top-level CMakeLists.txt, which links zlib and, when
# AXIAL_WITH_PNG is 1, libpng and cairo (png_heatmap.c and png_figure.c compile to AX_ERR_UNSUPPORTED
# stubs without them).
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
set(AXIAL_FEATURES_SOURCES
  src/io/atom37.c
  src/io/features.c
  src/io/features_msas.c
  src/io/features_figures.c
  src/io/batch.c
  src/io/batch_cluster.c
  src/io/png_heatmap.c
  src/io/png_figure.c
)
