# Communicators and collectives (src/comm, include/axial/comm.h): Axial's duplicate of an MPI
# communicator (CPU tensors) or an NCCL one bootstrapped through it (CUDA tensors), the argument
# agreement, packing, the transport, and the collectives the distributed attention (seqpar) uses.
# Included by the top-level CMakeLists.txt once the axial_objects target exists and
# AXIAL_PRIVATE_LIBS is filled, before cmake/seqpar_sources.cmake. Without MPI the public functions
# are stubs returning AX_ERR_UNSUPPORTED (one file, comm_absent.c).
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0

set(AXIAL_COMM_SOURCES src/comm/shard.c)
if(AXIAL_WITH_MPI)
  list(APPEND AXIAL_COMM_SOURCES
    src/comm/agree.c
    src/comm/all_to_all_v.c
    src/comm/collectives.c
    src/comm/collectives_core.c
    src/comm/comm.c
    src/comm/pack.c
    src/comm/scratch.c
    src/comm/transport.c
    src/comm/validate.c)
  if(AXIAL_WITH_CUDA)
    # Device scratch and zero fills (no MPI headers needed).
    list(APPEND AXIAL_COMM_SOURCES src/comm/pack_cuda.cu)
  endif()
  if(AXIAL_WITH_NCCL)
    list(APPEND AXIAL_COMM_SOURCES src/comm/transport_nccl.c)
  endif()
  list(APPEND AXIAL_PRIVATE_LIBS MPI::MPI_C)
  if(AXIAL_WITH_NCCL)
    list(APPEND AXIAL_PRIVATE_LIBS ${NCCL_LIBRARY})
    # SYSTEM: nccl.h does not build under the project's -Werror -Wstrict-prototypes when it is a plain -I.
    target_include_directories(axial_objects SYSTEM PRIVATE ${NCCL_INCLUDE_DIR})
  endif()
else()
  list(APPEND AXIAL_COMM_SOURCES src/comm/comm_absent.c)
endif()
target_sources(axial_objects PRIVATE ${AXIAL_COMM_SOURCES})
