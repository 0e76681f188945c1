# Benchmark of ax_qmatmul (bench/qmatmul.c): decode GB/s next to a streaming read of the same bytes,
# prefill GFLOP/s next to OpenBLAS sgemm on the dequantized weights, same run, same thread count.
# Included from bench/CMakeLists.txt; never asserts timings.
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
add_executable(bench_qmatmul ${CMAKE_CURRENT_LIST_DIR}/qmatmul.c ${CMAKE_CURRENT_LIST_DIR}/bench_util.c)
target_link_libraries(bench_qmatmul PRIVATE axial ${AXIAL_BLAS_LIBRARIES} m)
target_include_directories(bench_qmatmul PRIVATE ${AXIAL_CBLAS_INCLUDE})
target_compile_options(bench_qmatmul PRIVATE ${AXIAL_C_WARNINGS})
# clock_gettime, aligned_alloc
target_compile_definitions(bench_qmatmul PRIVATE _POSIX_C_SOURCE=200809L)
if(OpenMP_C_FOUND)
  target_link_libraries(bench_qmatmul PRIVATE OpenMP::OpenMP_C)
endif()
