# Op areas whose sources are found by name, so adding an op to one needs no build-file edit
# (docs/adding-an-op.md). Included by the top-level CMakeLists.txt once axial_objects exists.
#   src/<area>/*.c        an op's entry, tensor contract, registration and CPU kernel
#   src/<area>/cpu/*.isa.inc  a CPU kernel body compiled once per instruction-set path
#                         (axial_isa_sources, cmake/isa.cmake), for ops that want per-path kernels
#   src/<area>/cuda/*.cu  its CUDA kernel (CUDA builds only; the registration names it through
#                         AX_CUDA_KERNEL, so a build without CUDA needs no stub)
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0

foreach(area nn attention sampling llm serving moe)
  file(GLOB area_c CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/${area}/*.c)
  target_sources(axial_objects PRIVATE ${area_c})
  file(GLOB area_isa CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/${area}/cpu/*.isa.inc)
  set(area_generated "")
  foreach(body IN LISTS area_isa)
    axial_isa_sources(${body} FLAGS -ffp-contract=fast -Wno-psabi OUTPUT area_generated)
  endforeach()
  target_sources(axial_objects PRIVATE ${area_generated})
  if(AXIAL_WITH_CUDA)
    file(GLOB area_cu CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/${area}/cuda/*.cu)
    target_sources(axial_objects PRIVATE ${area_cu})
    # Tensor-core kernels have bodies only in sm_80+ device code; a build for older architectures
    # alone turns them off (CMakeLists.txt sets AXIAL_CUDA_MMA) so a newer device never runs them empty.
    set_source_files_properties(${area_cu} PROPERTIES COMPILE_DEFINITIONS AXIAL_CUDA_MMA=${AXIAL_CUDA_MMA})
  endif()
endforeach()
