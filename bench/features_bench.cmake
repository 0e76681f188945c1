# Benchmark of the training-batch builder (ax_feature_batch_create). Included from
# bench/CMakeLists.txt; prints a table and never asserts timings.
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
if(NOT DEFINED AXIAL_FEATURES_SOURCES)
  return()
endif()
add_executable(bench_features_batch ${CMAKE_CURRENT_LIST_DIR}/features_batch.c)
target_link_libraries(bench_features_batch PRIVATE axial)
target_compile_options(bench_features_batch PRIVATE ${AXIAL_C_WARNINGS})
# clock_gettime
target_compile_definitions(bench_features_batch PRIVATE _POSIX_C_SOURCE=200809L)
