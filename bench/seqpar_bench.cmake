# Benchmark of sequence parallelism (bench/seqpar.c): run it under `mpiexec -n P bench_seqpar`.
# Included from bench/CMakeLists.txt; prints a table and never asserts timings.
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
if(NOT AXIAL_WITH_MPI)
  return()
endif()
add_executable(bench_seqpar ${CMAKE_CURRENT_LIST_DIR}/seqpar.c ${CMAKE_CURRENT_LIST_DIR}/bench_util.c)
target_link_libraries(bench_seqpar PRIVATE axial MPI::MPI_C ${AXIAL_BLAS_LIBRARIES} m)
target_include_directories(bench_seqpar PRIVATE ${AXIAL_CBLAS_INCLUDE})
target_compile_options(bench_seqpar PRIVATE ${AXIAL_C_WARNINGS})
target_compile_definitions(bench_seqpar PRIVATE _POSIX_C_SOURCE=200809L)
