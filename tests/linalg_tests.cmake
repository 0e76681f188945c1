# Tests of the linalg area (ax_gemm). Included from tests/CMakeLists.txt.
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0

# The CPU backend against a float64 reference; again with the portable conversion kernels, which
# widen and narrow the 16-bit operands.
axial_add_c_test(test_gemm SOURCES test_gemm.c LABELS linalg)
add_test(NAME test_gemm_portable COMMAND test_gemm)
set_tests_properties(test_gemm_portable PROPERTIES ENVIRONMENT "AXIAL_CPU_PATH=portable" LABELS linalg)

# The CUDA backend (cuBLAS) against the same reference, and the lazily made cuBLAS handle; skips
# (exit 77) without a device. Linked to the static library: it reads the context's handle field.
if(AXIAL_WITH_CUDA)
  axial_add_c_test(test_gemm_cuda SOURCES test_gemm_cuda.c LABELS "gpu;linalg" LIBS CUDA::cudart)
  set_tests_properties(test_gemm_cuda PROPERTIES TIMEOUT 180)
endif()
