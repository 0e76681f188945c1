# Benchmark of flash attention on the CPU (bench/attention.c): causal forward and backward, fp32 and
# bf16, next to OpenBLAS sgemm measured in the same run and, when the project's .venv-torch has
# PyTorch, PyTorch's attention on the same shape. Included from bench/CMakeLists.txt; never asserts
# timings.
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
add_executable(bench_attention ${CMAKE_CURRENT_LIST_DIR}/attention.c ${CMAKE_CURRENT_LIST_DIR}/bench_util.c)
target_link_libraries(bench_attention PRIVATE axial ${AXIAL_BLAS_LIBRARIES} m)
target_include_directories(bench_attention PRIVATE ${AXIAL_CBLAS_INCLUDE})
target_compile_options(bench_attention PRIVATE ${AXIAL_C_WARNINGS})
target_compile_definitions(bench_attention PRIVATE _POSIX_C_SOURCE=200809L
  AXIAL_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
if(OpenMP_C_FOUND)
  target_link_libraries(bench_attention PRIVATE OpenMP::OpenMP_C)
endif()
