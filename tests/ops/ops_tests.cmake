# The op test driver (tests/ops/op_driver.h): every op table (tests/ops/cases_*.c, picked up here
# by the glob, so a new op needs no edit of this file) on every CPU path and, with a device, CUDA.
# Included from tests/CMakeLists.txt.
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0

file(GLOB AXIAL_OP_CASE_TABLES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/cases_*.c)
# A table compiles from the glob but runs only from its line in op_registry.h: a forgotten line
# would be a table that never runs, so configuring stops.
file(READ ${CMAKE_CURRENT_LIST_DIR}/op_registry.h AXIAL_OP_REGISTRY_TEXT)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/op_registry.h)
foreach(table_file ${AXIAL_OP_CASE_TABLES})
  file(STRINGS ${table_file} table_definitions REGEX "^const op_table op_table_[a-z0-9_]+ *=")
  foreach(definition ${table_definitions})
    string(REGEX REPLACE "^const op_table op_table_([a-z0-9_]+).*" "\\1" table_name "${definition}")
    if(NOT AXIAL_OP_REGISTRY_TEXT MATCHES "X\\(${table_name}\\)")
      message(FATAL_ERROR "${table_file} defines op_table_${table_name}, which tests/ops/op_registry.h does not "
                          "list: add X(${table_name}) there")
    endif()
  endforeach()
endforeach()
axial_add_c_test(test_ops
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_ops.c ${CMAKE_CURRENT_LIST_DIR}/op_driver.c
          ${CMAKE_CURRENT_LIST_DIR}/op_dtype.c ${AXIAL_OP_CASE_TABLES}
          ${CMAKE_CURRENT_SOURCE_DIR}/evoformer_reference.c
  LABELS core)
target_include_directories(test_ops PRIVATE ${CMAKE_CURRENT_LIST_DIR})
set_tests_properties(test_ops PROPERTIES TIMEOUT 600)

# The CUDA backend alone (label gpu): exits 77 (skipped) with a message when the build has no CUDA
# or no device is present.
add_test(NAME test_ops_gpu COMMAND test_ops -b cuda)
set_tests_properties(test_ops_gpu PROPERTIES LABELS gpu SKIP_RETURN_CODE 77 TIMEOUT 180)

# The avx512 path's block-quantized matmul has two kernels, picked by AVX-512 VNNI at run time
# (qmm_kernel_planned, src/linalg/qmatmul_params.h: vpdpbusd or vpmaddubsw); AXIAL_VNNI=0 hides
# VNNI, so a VNNI machine tests the other one too ("-o qmatmul" also matches qmatmul_packed)
# (without AVX-512 these skip, 77; without VNNI they repeat the default).
foreach(op qmatmul moe_grouped_gemm)
  add_test(NAME test_ops_${op}_no_vnni COMMAND test_ops -o ${op} -b avx512)
  set_tests_properties(test_ops_${op}_no_vnni PROPERTIES ENVIRONMENT "AXIAL_VNNI=0" LABELS core
                       SKIP_RETURN_CODE 77 TIMEOUT 600)
endforeach()

# With bf16 storage the avx512 path's attention forward and backward and the Evoformer forward run
# their products on AVX512-BF16's vdpbf16ps where the CPU has it (src/core/cpu/bf16_pairs.h);
# AXIAL_BF16=0 hides it, so such a machine tests the fp32 products too (without AVX-512 these skip,
# 77; without AVX512-BF16 they repeat the default). "attention_" selects attention_forward and
# attention_backward.
add_test(NAME test_ops_attention_no_bf16 COMMAND test_ops -o attention_ -b avx512)
add_test(NAME test_ops_evoformer_no_bf16 COMMAND test_ops -o evoformer -b avx512)
set_tests_properties(test_ops_attention_no_bf16 test_ops_evoformer_no_bf16 PROPERTIES ENVIRONMENT "AXIAL_BF16=0"
                     LABELS core SKIP_RETURN_CODE 77 TIMEOUT 600)

# Where the CPU has AMX the avx512 path takes tile products (src/core/cpu/amx.h): flash attention
# forward and backward and the Evoformer's whole tiles (forward; the backward's logits, dp and dq)
# for bf16 storage and D a multiple of 32 (with AVX512-BF16). AXIAL_AMX=emulate runs the same tile
# code on a scalar model of the instructions, so every AVX-512 machine tests it; AXIAL_AMX=0 hides
# hardware AMX, so an AMX machine also tests the AVX512-BF16 products (vdpbf16ps) that machines
# without AMX take for the same cases. Without AVX-512 these skip (77); without AVX512-BF16 (or,
# for _no_amx, without AMX) they repeat the default.
foreach(variant "amx_emulated;emulate" "no_amx;0")
  list(GET variant 0 suffix)
  list(GET variant 1 amx)
  foreach(op attention_ evoformer)
    string(REGEX REPLACE "_$" "" name ${op})
    add_test(NAME test_ops_${name}_${suffix} COMMAND test_ops -o ${op} -b avx512)
    set_tests_properties(test_ops_${name}_${suffix} PROPERTIES ENVIRONMENT "AXIAL_AMX=${amx}" LABELS core
                         SKIP_RETURN_CODE 77 TIMEOUT 600)
  endforeach()
endforeach()
