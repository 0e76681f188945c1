# Tests of the CPU vector layer (src/core/cpu/vec.h). Included from tests/CMakeLists.txt.
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0

# cpu_vec_body.inc is compiled once per path, with the flags the kernel bodies get.
axial_add_c_test(test_cpu_vec SOURCES test_cpu_vec.c LABELS core)
axial_isa_sources(cpu_vec_body.inc OUTPUT AXIAL_TEST_CPU_VEC_SOURCES FLAGS -ffp-contract=fast -Wno-psabi)
target_sources(test_cpu_vec PRIVATE ${AXIAL_TEST_CPU_VEC_SOURCES})

# The AMX-BF16 tile product (src/core/cpu/amx.h): its scalar model everywhere, the instructions
# where the CPU has them and the OS grants tile state.
axial_add_c_test(test_amx SOURCES test_amx.c LABELS core)
# Its tile instructions are the library's (amx.h): assembled where the assembler knows them.
if(AXIAL_ASM_AMX)
  target_compile_definitions(test_amx PRIVATE AXIAL_ASM_AMX=1)
endif()
