# Dense linear algebra (src/linalg, include/axial/linalg.h): ax_gemm on OpenBLAS (CPU, always) and
# cuBLAS (CUDA builds). Included by the top-level CMakeLists.txt once the axial_objects target exists;
# OpenBLAS and cuBLAS are already among its libraries.
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0

set(AXIAL_LINALG_SOURCES src/linalg/gemm.c src/linalg/cpu/gemm_cpu.c src/linalg/qmatmul.c src/linalg/qweight.c)
# ax_qmatmul's CPU kernel, once per instruction-set path (cmake/isa.cmake).
axial_isa_sources(src/linalg/cpu/qmatmul.isa.inc FLAGS -ffp-contract=fast -Wno-psabi OUTPUT AXIAL_LINALG_SOURCES)
if(AXIAL_WITH_CUDA)
  list(APPEND AXIAL_LINALG_SOURCES src/linalg/cuda/gemm_cuda.cu src/linalg/cuda/qmatmul.cu)
endif()
target_sources(axial_objects PRIVATE ${AXIAL_LINALG_SOURCES})
