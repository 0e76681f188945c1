# Tests of the MoE feed-forward layer (include/axial/moe.h): the single-rank forward and backward
# against a float64 reference and finite differences (on the CPU and on CUDA), and (MPI builds) the
# expert-parallel layer under real mpiexec (CPU tensors over MPI; with NCCL, CUDA tensors). The MoE
# ops themselves are op-driver cases (tests/ops/cases_moe_*.c). Included from tests/CMakeLists.txt.
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
axial_add_c_test(test_moe_ffn SOURCES test_moe_ffn.c LABELS moe)
# The same cases on a CUDA context (label gpu): the layer has never run on a GPU otherwise. Registered
# in every build, like test_ops_gpu: without CUDA in the build or a device it prints SKIP and exits 77.
add_test(NAME test_moe_ffn_cuda COMMAND test_moe_ffn --device cuda)
set_tests_properties(test_moe_ffn_cuda PROPERTIES LABELS "gpu;moe" SKIP_RETURN_CODE 77 TIMEOUT 180)

# Expert parallelism under real mpiexec with 1, 2 and 4 ranks (oversubscribed on small machines; Open
# MPI run as root in CI containers needs the two ALLOW variables). One thread per rank.
if(AXIAL_WITH_MPI)
  set(AXIAL_MOE_MPI_ENV
    OMP_NUM_THREADS=1
    OPENBLAS_NUM_THREADS=1
    OMP_WAIT_POLICY=PASSIVE
    OMPI_ALLOW_RUN_AS_ROOT=1
    OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
    OMPI_MCA_rmaps_base_oversubscribe=1)
  if(AXIAL_SANITIZE MATCHES "address")
    # Open MPI's own allocations outlive MPI_Finalize (see seqpar_tests.cmake for the reasoning).
    list(APPEND AXIAL_MOE_MPI_ENV
      "ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:fast_unwind_on_malloc=0"
      "LSAN_OPTIONS=suppressions=\"${CMAKE_CURRENT_SOURCE_DIR}/seqpar_lsan.supp\":print_suppressions=0")
  endif()
  add_executable(test_moe_ep ${CMAKE_CURRENT_SOURCE_DIR}/test_moe_ep.c)
  target_link_libraries(test_moe_ep PRIVATE axial_static MPI::MPI_C m)
  target_include_directories(test_moe_ep PRIVATE ${PROJECT_SOURCE_DIR}/include ${CMAKE_CURRENT_SOURCE_DIR})
  target_compile_options(test_moe_ep PRIVATE ${AXIAL_C_WARNINGS})
  target_compile_definitions(test_moe_ep PRIVATE _POSIX_C_SOURCE=200809L)
  foreach(np 1 2 4)
    add_test(NAME moe_ep_np${np}
             COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${np} ${MPIEXEC_PREFLAGS}
                     $<TARGET_FILE:test_moe_ep> ${MPIEXEC_POSTFLAGS})
    # The timeout turns a hang (a rank left waiting in an exchange) into a failure.
    set_tests_properties(moe_ep_np${np} PROPERTIES LABELS "mpi;moe" TIMEOUT 120 PROCESSORS ${np}
                         ENVIRONMENT "${AXIAL_MOE_MPI_ENV}")
  endforeach()
  # The same cases on CUDA tensors over NCCL (label gpu), one GPU per rank: -n 1 on any GPU machine,
  # -n 2 where there are two (it prints SKIP and exits 77 with fewer GPUs than ranks, or no device).
  if(AXIAL_WITH_NCCL)
    foreach(np 1 2)
      add_test(NAME moe_ep_nccl_np${np}
               COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${np} ${MPIEXEC_PREFLAGS}
                       $<TARGET_FILE:test_moe_ep> ${MPIEXEC_POSTFLAGS} --nccl)
      set_tests_properties(moe_ep_nccl_np${np} PROPERTIES LABELS "gpu;mpi;moe" TIMEOUT 180 PROCESSORS ${np}
                           SKIP_RETURN_CODE 77 ENVIRONMENT "${AXIAL_MOE_MPI_ENV}")
    endforeach()
  endif()
endif()
