# Benchmark of paged decode attention (bench/paged_attention.c): ax_paged_attention through a shuffled
# and an identity block table next to ax_attention_forward on contiguous K/V, in the same run.
# Included from bench/CMakeLists.txt; never asserts timings.
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
add_executable(bench_paged_attention ${CMAKE_CURRENT_LIST_DIR}/paged_attention.c ${CMAKE_CURRENT_LIST_DIR}/bench_util.c)
target_link_libraries(bench_paged_attention PRIVATE axial ${AXIAL_BLAS_LIBRARIES} m)
target_include_directories(bench_paged_attention PRIVATE ${AXIAL_CBLAS_INCLUDE})
target_compile_options(bench_paged_attention PRIVATE ${AXIAL_C_WARNINGS})
target_compile_definitions(bench_paged_attention PRIVATE _POSIX_C_SOURCE=200809L)
