# Benchmark of the MoE feed-forward layer (bench/moe_ffn.c): CPU fp32 ax_moe_ffn_forward and
# ax_moe_ffn_backward at T = 512, D = 576, F = 192, E = 8, k = 2, the routing ops' share, and, when
# the project's .venv-torch has PyTorch, a plain PyTorch layer (bench/moe_ffn_torch.py) in the same
# run. Included from bench/CMakeLists.txt; never asserts timings.
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
add_executable(bench_moe_ffn ${CMAKE_CURRENT_LIST_DIR}/moe_ffn.c ${CMAKE_CURRENT_LIST_DIR}/bench_util.c)
target_link_libraries(bench_moe_ffn PRIVATE axial ${AXIAL_BLAS_LIBRARIES} m)
target_include_directories(bench_moe_ffn PRIVATE ${AXIAL_CBLAS_INCLUDE})
target_compile_options(bench_moe_ffn PRIVATE ${AXIAL_C_WARNINGS})
target_compile_definitions(bench_moe_ffn PRIVATE _POSIX_C_SOURCE=200809L AXIAL_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
if(OpenMP_C_FOUND)
  target_link_libraries(bench_moe_ffn PRIVATE OpenMP::OpenMP_C)
endif()
