# Batch invariance of the CPU kernels a served model runs (the serving engine's promise that a
# request's tokens do not depend on the rest of its batch): ax_qmatmul (every weight dtype, the
# decode path against the panel path), ax_paged_attention, and the per-row ops. Again with the
# portable path forced, whose kernels are separate code.
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
axial_add_c_test(test_batch_invariance SOURCES test_batch_invariance.c LABELS "linalg;serving")
add_test(NAME test_batch_invariance_portable COMMAND test_batch_invariance)
set_tests_properties(test_batch_invariance_portable PROPERTIES ENVIRONMENT "AXIAL_CPU_PATH=portable"
                     LABELS "linalg;serving")
# And with AXIAL_VNNI=0, so a machine with AVX-512 VNNI also checks the avx512 path's other
# quantized-matmul kernel (qmm_kernel_planned in src/linalg/qmatmul_params.h picks one at run time:
# vpdpbusd or vpmaddubsw), and with the avx2 path forced (the vpmaddubsw kernel in 256-bit code).
add_test(NAME test_batch_invariance_no_vnni COMMAND test_batch_invariance)
set_tests_properties(test_batch_invariance_no_vnni PROPERTIES ENVIRONMENT "AXIAL_VNNI=0" LABELS "linalg;serving")
add_test(NAME test_batch_invariance_avx2 COMMAND test_batch_invariance)
set_tests_properties(test_batch_invariance_avx2 PROPERTIES ENVIRONMENT "AXIAL_CPU_PATH=avx2" LABELS "linalg;serving")
# The same promise end to end on the real model (SKIP, 77, when scripts/fetch-model.sh has not
# installed it): a prompt's logits in one pass, in chunks and token by token, bit for bit.
add_test(NAME test_batch_invariance_model COMMAND test_batch_invariance --model)
set_tests_properties(test_batch_invariance_model PROPERTIES LABELS "llm;serving" SKIP_RETURN_CODE 77 TIMEOUT 300)
