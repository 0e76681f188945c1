# Benchmark of ax_gemm (bench/gemm.c): CPU GFLOP/s next to raw OpenBLAS sgemm and a naive loop in the
# same run; `--gpu` times the cuBLAS path. Included from bench/CMakeLists.txt; never asserts timings.
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
add_executable(bench_gemm ${CMAKE_CURRENT_LIST_DIR}/gemm.c ${CMAKE_CURRENT_LIST_DIR}/bench_util.c)
target_link_libraries(bench_gemm PRIVATE axial ${AXIAL_BLAS_LIBRARIES} m)
target_include_directories(bench_gemm PRIVATE ${AXIAL_CBLAS_INCLUDE})
target_compile_options(bench_gemm PRIVATE ${AXIAL_C_WARNINGS})
target_compile_definitions(bench_gemm PRIVATE _POSIX_C_SOURCE=200809L)
if(OpenMP_C_FOUND)
  target_link_libraries(bench_gemm PRIVATE OpenMP::OpenMP_C)
endif()
