# What a second OpenMP master thread costs Axial's small ops (bench/omp_pools.c): libgomp's pools and
# spin-waiting, the reason ax_serving_start gives back its caller's pool. Included from
# bench/CMakeLists.txt; never asserts timings.
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
add_executable(bench_omp_pools ${CMAKE_CURRENT_LIST_DIR}/omp_pools.c ${CMAKE_CURRENT_LIST_DIR}/bench_util.c)
target_link_libraries(bench_omp_pools PRIVATE axial Threads::Threads ${AXIAL_BLAS_LIBRARIES} m)
target_include_directories(bench_omp_pools PRIVATE ${AXIAL_CBLAS_INCLUDE})
target_compile_options(bench_omp_pools PRIVATE ${AXIAL_C_WARNINGS})
target_compile_definitions(bench_omp_pools PRIVATE _POSIX_C_SOURCE=200809L)
if(OpenMP_C_FOUND)
  target_link_libraries(bench_omp_pools PRIVATE OpenMP::OpenMP_C)
endif()
