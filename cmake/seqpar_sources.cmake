# Sequence parallelism (src/seqpar, include/axial/seqpar.h): distributed Evoformer attention in DAP
# and Ulysses mode, built on the communicator and collectives of src/comm (cmake/comm_sources.cmake,
# included first, which also adds MPI and NCCL to AXIAL_PRIVATE_LIBS). Without MPI the public
# functions are stubs returning AX_ERR_UNSUPPORTED (one file, seqpar_absent.c).
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0

if(AXIAL_WITH_MPI)
  set(AXIAL_SEQPAR_SOURCES
    src/seqpar/dap.c
    src/seqpar/ulysses.c
    src/seqpar/validate.c)
else()
  set(AXIAL_SEQPAR_SOURCES src/seqpar/seqpar_absent.c)
endif()
target_sources(axial_objects PRIVATE ${AXIAL_SEQPAR_SOURCES})
