# Benchmark of the nn building blocks on the CPU (bench/nn.c): RMSNorm + residual, RoPE, SwiGLU,
# softmax and a Q8_0 embedding lookup on a Llama-7B layer shape, per CPU path, next to memcpy of the
# same bytes measured in the same run. Included from bench/CMakeLists.txt; never asserts timings.
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
add_executable(bench_nn ${CMAKE_CURRENT_LIST_DIR}/nn.c ${CMAKE_CURRENT_LIST_DIR}/bench_util.c)
target_link_libraries(bench_nn PRIVATE axial ${AXIAL_BLAS_LIBRARIES} m)
target_include_directories(bench_nn PRIVATE ${AXIAL_CBLAS_INCLUDE})
target_compile_options(bench_nn PRIVATE ${AXIAL_C_WARNINGS})
target_compile_definitions(bench_nn PRIVATE _POSIX_C_SOURCE=200809L)
