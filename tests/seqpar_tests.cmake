# MPI tests of the communicator layer and sequence parallelism (label mpi): each test program runs
# under real `mpiexec` with 1, 2 and 4 ranks (oversubscribed on small machines). Included from
# tests/CMakeLists.txt.
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
if(NOT AXIAL_WITH_MPI)
  message(STATUS "seqpar tests: skipped (no MPI)")
  return()
endif()

# Open MPI refuses to run as root and to oversubscribe unless told (CI containers run as root; the
# 4-rank runs share 2 cores). One OpenMP thread per rank keeps 4 ranks from fighting over the cores.
set(AXIAL_SEQPAR_TEST_ENV
  OMP_NUM_THREADS=1
  OPENBLAS_NUM_THREADS=1
  OMPI_ALLOW_RUN_AS_ROOT=1
  OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  OMPI_MCA_rmaps_base_oversubscribe=1)
if(AXIAL_SANITIZE MATCHES "address")
  # Open MPI and its plugins keep allocations alive past MPI_Finalize on purpose, and its plugins are
  # unloaded at MPI_Finalize, so with the fast unwinder those reports show only "<unknown module>"
  # frames that no suppression can match. Full unwinding (slower, fine for these small tests) reaches
  # an Open MPI library in each such stack, and the suppressions name only Open MPI's own libraries:
  # a leak in Axial or in the tests still fails. The rest of ASAN_OPTIONS is what scripts/test.sh uses.
  list(APPEND AXIAL_SEQPAR_TEST_ENV
    "ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:fast_unwind_on_malloc=0"
    "LSAN_OPTIONS=suppressions=\"${CMAKE_CURRENT_SOURCE_DIR}/seqpar_lsan.supp\":print_suppressions=0")
endif()

# One test program under real mpiexec with 1, 2 and 4 ranks, as tests `<test_prefix>_np<P>`.
function(axial_add_mpi_test target source test_prefix labels)
  add_executable(${target} ${CMAKE_CURRENT_SOURCE_DIR}/${source} ${CMAKE_CURRENT_SOURCE_DIR}/evoformer_reference.c)
  target_link_libraries(${target} PRIVATE axial_static MPI::MPI_C m)
  # src/: test_comm_alltoallv also drives the internal agreement check directly.
  target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR}/include ${CMAKE_CURRENT_SOURCE_DIR}
                             ${PROJECT_SOURCE_DIR}/src)
  target_compile_options(${target} PRIVATE ${AXIAL_C_WARNINGS})
  target_compile_definitions(${target} PRIVATE _POSIX_C_SOURCE=200809L)
  foreach(np 1 2 4)
    add_test(NAME ${test_prefix}_np${np}
             COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${np} ${MPIEXEC_PREFLAGS}
                     $<TARGET_FILE:${target}> ${MPIEXEC_POSTFLAGS})
    # The timeout turns a hang (a rank left waiting in a collective) into a failure.
    set_tests_properties(${test_prefix}_np${np} PROPERTIES LABELS "${labels}" TIMEOUT 120
                         PROCESSORS ${np} ENVIRONMENT "${AXIAL_SEQPAR_TEST_ENV}")
  endforeach()
endfunction()

foreach(name collectives dap ulysses errors)
  axial_add_mpi_test(test_seqpar_${name} test_seqpar_${name}.c seqpar_${name} "mpi;seqpar")
endforeach()
# The communicator layer's own (src/comm): all-to-all-v with counts exchanged first.
axial_add_mpi_test(test_comm_alltoallv test_comm_alltoallv.c comm_alltoallv "mpi;seqpar;comm")

# The NCCL path on CUDA tensors (label gpu): one GPU per rank, so one rank on a one-GPU machine;
# skipped (exit 77) without NCCL or a device.
if(AXIAL_WITH_NCCL)
  add_executable(test_seqpar_nccl ${CMAKE_CURRENT_SOURCE_DIR}/test_seqpar_nccl.c
                 ${CMAKE_CURRENT_SOURCE_DIR}/evoformer_reference.c)
  target_link_libraries(test_seqpar_nccl PRIVATE axial_static MPI::MPI_C m)
  target_include_directories(test_seqpar_nccl PRIVATE ${PROJECT_SOURCE_DIR}/include ${CMAKE_CURRENT_SOURCE_DIR})
  target_compile_options(test_seqpar_nccl PRIVATE ${AXIAL_C_WARNINGS})
  target_compile_definitions(test_seqpar_nccl PRIVATE _POSIX_C_SOURCE=200809L)
  add_test(NAME seqpar_nccl_np1
           COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} 1 ${MPIEXEC_PREFLAGS}
                   $<TARGET_FILE:test_seqpar_nccl> ${MPIEXEC_POSTFLAGS})
  set_tests_properties(seqpar_nccl_np1 PROPERTIES LABELS "gpu;mpi;seqpar" TIMEOUT 180 SKIP_RETURN_CODE 77
                       ENVIRONMENT "${AXIAL_SEQPAR_TEST_ENV}")
  # Two ranks asking for one device: refused by name on both (one GPU is enough).
  add_test(NAME seqpar_nccl_shared_device_np2
           COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} 2 ${MPIEXEC_PREFLAGS}
                   $<TARGET_FILE:test_seqpar_nccl> ${MPIEXEC_POSTFLAGS} --shared-device)
  set_tests_properties(seqpar_nccl_shared_device_np2 PROPERTIES LABELS "gpu;mpi;seqpar" TIMEOUT 120
                       SKIP_RETURN_CODE 77 PROCESSORS 2 ENVIRONMENT "${AXIAL_SEQPAR_TEST_ENV}")
endif()

# axial/comm.h and axial/seqpar.h with MPI's include path: the MPI half of each header compiles on its
# own as strict C11 and as C++ (tests/check_headers.sh covers the half that needs no MPI).
set(AXIAL_SEQPAR_HEADER_CHECK_DIR ${CMAKE_CURRENT_BINARY_DIR}/seqpar_header_check)
file(WRITE ${AXIAL_SEQPAR_HEADER_CHECK_DIR}/check.c
     "#include <axial/seqpar.h>\n#include <axial/seqpar.h>\n"
     "int main(void) { ax_comm *c = 0; (void)ax_comm_create_mpi(&c, MPI_COMM_WORLD); return 0; }\n")
file(WRITE ${AXIAL_SEQPAR_HEADER_CHECK_DIR}/check.cpp
     "#include <axial/seqpar.h>\n"
     "int main() { ax_comm *c = nullptr; (void)ax_comm_create_nccl(&c, MPI_COMM_WORLD, 0); return 0; }\n")
file(WRITE ${AXIAL_SEQPAR_HEADER_CHECK_DIR}/check_comm.c
     "#include <axial/comm.h>\n#include <axial/comm.h>\n"
     "int main(void) { ax_comm *c = 0; (void)ax_comm_create_mpi(&c, MPI_COMM_WORLD); return 0; }\n")
file(WRITE ${AXIAL_SEQPAR_HEADER_CHECK_DIR}/check_comm.cpp
     "#include <axial/comm.h>\n"
     "int main() { ax_comm *c = nullptr; (void)ax_comm_create_nccl(&c, MPI_COMM_WORLD, 0); return 0; }\n")
set(AXIAL_SEQPAR_MPI_INCLUDES "")
foreach(dir ${MPI_C_INCLUDE_DIRS})
  string(APPEND AXIAL_SEQPAR_MPI_INCLUDES " -I'${dir}'")
endforeach()
add_test(NAME test_seqpar_header
         COMMAND ${CMAKE_COMMAND} -E chdir ${AXIAL_SEQPAR_HEADER_CHECK_DIR} sh -c
                 "${CMAKE_C_COMPILER} -std=c11 -Wall -Wextra -pedantic -Werror -I'${PROJECT_SOURCE_DIR}/include' ${AXIAL_SEQPAR_MPI_INCLUDES} -c check.c -o check_c.o && \${CXX:-c++} -std=c++11 -Wall -Wextra -pedantic -Werror -I'${PROJECT_SOURCE_DIR}/include' ${AXIAL_SEQPAR_MPI_INCLUDES} -c check.cpp -o check_cpp.o && ${CMAKE_C_COMPILER} -std=c11 -Wall -Wextra -pedantic -Werror -I'${PROJECT_SOURCE_DIR}/include' ${AXIAL_SEQPAR_MPI_INCLUDES} -c check_comm.c -o check_comm_c.o && \${CXX:-c++} -std=c++11 -Wall -Wextra -pedantic -Werror -I'${PROJECT_SOURCE_DIR}/include' ${AXIAL_SEQPAR_MPI_INCLUDES} -c check_comm.cpp -o check_comm_cpp.o")
set_tests_properties(test_seqpar_header PROPERTIES LABELS "mpi;seqpar;core")
