# Tests of ax_qmatmul beyond the op driver (tests/ops/cases_qmatmul.c): argument errors, and the
# product against the `gguf` package's dequantizer and a float64 NumPy matmul. Included from
# tests/CMakeLists.txt.
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
axial_add_c_test(test_qmatmul_errors SOURCES test_qmatmul_errors.c LABELS core)

# qmatmul_helper runs ax_qmatmul on files of raw bytes for tests/python/test_qmatmul_gguf.py; the
# test is skipped (77) when the .venv lacks gguf, numpy or pytest.
add_executable(qmatmul_helper qmatmul_helper.c)
target_link_libraries(qmatmul_helper PRIVATE axial_static Threads::Threads ${AXIAL_BLAS_LIBRARIES} m)
if(OpenMP_C_FOUND)
  target_link_libraries(qmatmul_helper PRIVATE OpenMP::OpenMP_C)
endif()
target_compile_options(qmatmul_helper PRIVATE ${AXIAL_C_WARNINGS})
add_test(NAME test_qmatmul_gguf
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/python/run_qmatmul_gguf.sh ${PROJECT_SOURCE_DIR}
                 $<TARGET_FILE:qmatmul_helper>)
set_tests_properties(test_qmatmul_gguf PROPERTIES LABELS "core;python" SKIP_RETURN_CODE 77)

# ax_qmatmul_packed against ax_qmatmul (bit for bit) and a float64 product, on every CPU path: the
# default (the VNNI decode of the tiles on an AVX-512 VNNI machine), the avx512 path's vpmaddubsw
# kernel, the avx2 path (the same kernel in 256-bit code) and the portable one (which reads the tiles
# back into GGUF rows).
axial_add_c_test(test_qmatmul_packed SOURCES test_qmatmul_packed.c LABELS "core;linalg")
add_test(NAME test_qmatmul_packed_no_vnni COMMAND test_qmatmul_packed)
set_tests_properties(test_qmatmul_packed_no_vnni PROPERTIES ENVIRONMENT "AXIAL_VNNI=0" LABELS "core;linalg")
add_test(NAME test_qmatmul_packed_avx2 COMMAND test_qmatmul_packed)
set_tests_properties(test_qmatmul_packed_avx2 PROPERTIES ENVIRONMENT "AXIAL_CPU_PATH=avx2" LABELS "core;linalg")
add_test(NAME test_qmatmul_packed_portable COMMAND test_qmatmul_packed)
set_tests_properties(test_qmatmul_packed_portable PROPERTIES ENVIRONMENT "AXIAL_CPU_PATH=portable"
                     LABELS "core;linalg")

# qmatmul_fused (src/linalg/qmatmul_fused.h, the LLM decoder's q/k/v and gate/up call) against
# separate calls (bit for bit) and a float64 product, on every CPU path as above.
axial_add_c_test(test_qmatmul_fused SOURCES test_qmatmul_fused.c LABELS "core;linalg")
foreach(variant no_vnni avx2 portable)
  add_test(NAME test_qmatmul_fused_${variant} COMMAND test_qmatmul_fused)
endforeach()
set_tests_properties(test_qmatmul_fused_no_vnni PROPERTIES ENVIRONMENT "AXIAL_VNNI=0" LABELS "core;linalg")
set_tests_properties(test_qmatmul_fused_avx2 PROPERTIES ENVIRONMENT "AXIAL_CPU_PATH=avx2" LABELS "core;linalg")
set_tests_properties(test_qmatmul_fused_portable PROPERTIES ENVIRONMENT "AXIAL_CPU_PATH=portable"
                     LABELS "core;linalg")
