# FastGen's effective-throughput benchmark of the serving engine (bench/serving.c): closed-loop
# clients, the three scheduler policies on one request trace, SLAs scaled to the machine's measured
# single-stream speed. bench/serving_vs_llamacpp.sh adds the llama.cpp anchor and
# bench/serving_report.py the table and plot. Included from bench/CMakeLists.txt; never asserts timings.
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
add_executable(bench_serving ${CMAKE_CURRENT_LIST_DIR}/serving.c ${CMAKE_CURRENT_LIST_DIR}/bench_util.c)
target_link_libraries(bench_serving PRIVATE axial Threads::Threads ${AXIAL_BLAS_LIBRARIES} m)
target_include_directories(bench_serving PRIVATE ${AXIAL_CBLAS_INCLUDE})
target_compile_options(bench_serving PRIVATE ${AXIAL_C_WARNINGS})
# clock_gettime, nanosleep
target_compile_definitions(bench_serving PRIVATE _POSIX_C_SOURCE=200809L)
if(OpenMP_C_FOUND)
  target_link_libraries(bench_serving PRIVATE OpenMP::OpenMP_C)
endif()
