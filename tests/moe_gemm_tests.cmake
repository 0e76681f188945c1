# Tests of ax_moe_grouped_gemm / ax_moe_grouped_gemm_dw beyond the op driver
# (tests/ops/cases_moe_grouped_gemm*.c): rows bit for bit ax_qmatmul's with quantized w, thread-count
# independence, argument errors. Included from tests/CMakeLists.txt.
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
axial_add_c_test(test_moe_grouped_gemm SOURCES test_moe_grouped_gemm.c LABELS core)
# Rows bit for bit ax_qmatmul's also when both take the avx512 path's kernel without VNNI
# (vpmaddubsw), and on the avx2 path.
add_test(NAME test_moe_grouped_gemm_no_vnni COMMAND test_moe_grouped_gemm)
set_tests_properties(test_moe_grouped_gemm_no_vnni PROPERTIES ENVIRONMENT "AXIAL_VNNI=0" LABELS core)
add_test(NAME test_moe_grouped_gemm_avx2 COMMAND test_moe_grouped_gemm)
set_tests_properties(test_moe_grouped_gemm_avx2 PROPERTIES ENVIRONMENT "AXIAL_CPU_PATH=avx2" LABELS core)
