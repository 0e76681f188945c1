# Benchmark of token sampling (bench/sampling.c): ax_sample per row under the usual settings, next to
# one read of the logits and a sort-based top-p sampler measured in the same run. Included from
# bench/CMakeLists.txt; never asserts timings.
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
add_executable(bench_sampling ${CMAKE_CURRENT_LIST_DIR}/sampling.c ${CMAKE_CURRENT_LIST_DIR}/bench_util.c)
target_link_libraries(bench_sampling PRIVATE axial ${AXIAL_BLAS_LIBRARIES} m)
target_include_directories(bench_sampling PRIVATE ${AXIAL_CBLAS_INCLUDE})
target_compile_options(bench_sampling PRIVATE ${AXIAL_C_WARNINGS})
target_compile_definitions(bench_sampling PRIVATE _POSIX_C_SOURCE=200809L)
if(OpenMP_C_FOUND)
  target_link_libraries(bench_sampling PRIVATE OpenMP::OpenMP_C)
endif()
