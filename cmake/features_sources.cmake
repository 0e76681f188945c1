# Sources of the features area (AlphaFold-style chain features, training batches, figures),
# relative to the project root. Included by the top-level CMakeLists.txt, which links zlib and, when
# AXIAL_WITH_PNG is 1, libpng (png_heatmap.c compiles to an AX_ERR_UNSUPPORTED stub without it).
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
set(AXIAL_FEATURES_SOURCES
  src/io/atom37.c
  src/io/features.c
  src/io/features_figures.c
  src/io/batch.c
  src/io/batch_cluster.c
  src/io/png_heatmap.c
)
