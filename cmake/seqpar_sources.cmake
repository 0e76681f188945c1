# Sequence parallelism (src/seqpar, include/axial/seqpar.h): collectives and distributed Evoformer
# attention over MPI (CPU tensors) and NCCL (CUDA tensors). Included by the top-level CMakeLists.txt
# once the axial_objects target exists and AXIAL_PRIVATE_LIBS is filled, so it can add its sources
# and private libraries. Without MPI the public functions are stubs returning AX_ERR_UNSUPPORTED.
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0

set(AXIAL_SEQPAR_SOURCES src/seqpar/shard.c)
if(AXIAL_WITH_MPI)
  list(APPEND AXIAL_SEQPAR_SOURCES
    src/seqpar/agree.c
    src/seqpar/collectives.c
    src/seqpar/collectives_core.c
    src/seqpar/comm.c
    src/seqpar/dap.c
    src/seqpar/pack.c
    src/seqpar/scratch.c
    src/seqpar/transport.c
    src/seqpar/ulysses.c
    src/seqpar/validate.c)
  if(AXIAL_WITH_CUDA)
    # Device scratch and the strided pack/unpack kernel (no MPI headers needed).
    list(APPEND AXIAL_SEQPAR_SOURCES src/seqpar/pack_cuda.cu)
  endif()
  if(AXIAL_WITH_NCCL)
    list(APPEND AXIAL_SEQPAR_SOURCES src/seqpar/transport_nccl.c)
  endif()
  list(APPEND AXIAL_PRIVATE_LIBS MPI::MPI_C)
  if(AXIAL_WITH_NCCL)
    list(APPEND AXIAL_PRIVATE_LIBS ${NCCL_LIBRARY})
    # SYSTEM: nccl.h does not build under the project's -Werror -Wstrict-prototypes when it is a plain -I.
    target_include_directories(axial_objects SYSTEM PRIVATE ${NCCL_INCLUDE_DIR})
  endif()
else()
  list(APPEND AXIAL_SEQPAR_SOURCES src/seqpar/seqpar_absent.c)
endif()
target_sources(axial_objects PRIVATE ${AXIAL_SEQPAR_SOURCES})
