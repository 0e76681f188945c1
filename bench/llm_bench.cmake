# End-to-end LLM inference benchmark (bench/llm.c): prefill pp512 and decode tg128 through llm.h,
# with a streaming-read bandwidth line in the same run; bench/llm_vs_llamacpp.sh runs it next to
# llama.cpp's llama-bench. Included from bench/CMakeLists.txt; never asserts timings.
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
add_executable(bench_llm ${CMAKE_CURRENT_LIST_DIR}/llm.c ${CMAKE_CURRENT_LIST_DIR}/bench_util.c)
target_link_libraries(bench_llm PRIVATE axial ${AXIAL_BLAS_LIBRARIES} m)
target_include_directories(bench_llm PRIVATE ${AXIAL_CBLAS_INCLUDE})
target_compile_options(bench_llm PRIVATE ${AXIAL_C_WARNINGS})
# clock_gettime
target_compile_definitions(bench_llm PRIVATE _POSIX_C_SOURCE=200809L)
if(OpenMP_C_FOUND)
  target_link_libraries(bench_llm PRIVATE OpenMP::OpenMP_C)
endif()
