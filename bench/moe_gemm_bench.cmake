# Benchmark of ax_moe_grouped_gemm (bench/moe_gemm.c): CPU GFLOP/s of the grouped GEMM next to a loop
# of per-expert ax_gemm calls and one dense ax_gemm of the same FLOPs, in the same run. Included from
# bench/CMakeLists.txt; never asserts timings.
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
add_executable(bench_moe_gemm ${CMAKE_CURRENT_LIST_DIR}/moe_gemm.c ${CMAKE_CURRENT_LIST_DIR}/bench_util.c)
target_link_libraries(bench_moe_gemm PRIVATE axial ${AXIAL_BLAS_LIBRARIES} m)
target_include_directories(bench_moe_gemm PRIVATE ${AXIAL_CBLAS_INCLUDE})
target_compile_options(bench_moe_gemm PRIVATE ${AXIAL_C_WARNINGS})
target_compile_definitions(bench_moe_gemm PRIVATE _POSIX_C_SOURCE=200809L)
if(OpenMP_C_FOUND)
  target_link_libraries(bench_moe_gemm PRIVATE OpenMP::OpenMP_C)
endif()
