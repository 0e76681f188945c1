# cuda_tests.cmake — tests that need a CUDA device (label gpu). Included from tests/CMakeLists.txt
# inside if(AXIAL_WITH_CUDA); each test exits 77 (ctest SKIP) when no device is present.
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0

add_executable(test_evoformer_cuda ${CMAKE_CURRENT_LIST_DIR}/test_evoformer_cuda.c)
target_include_directories(test_evoformer_cuda PRIVATE ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/tests)
target_link_libraries(test_evoformer_cuda PRIVATE axial CUDA::cudart m)
target_compile_options(test_evoformer_cuda PRIVATE ${AXIAL_C_WARNINGS})
target_compile_definitions(test_evoformer_cuda PRIVATE _POSIX_C_SOURCE=200809L)
add_test(NAME evoformer_cuda COMMAND test_evoformer_cuda)
set_tests_properties(evoformer_cuda PROPERTIES LABELS gpu SKIP_RETURN_CODE 77 TIMEOUT 180)

# The same checks with the tensor-core kernels switched off, so the SIMT kernels that serve fp32,
# odd head dims and pre-sm_80 devices are also checked on bf16 / fp16 at every shape.
add_test(NAME evoformer_cuda_simt COMMAND test_evoformer_cuda)
set_tests_properties(evoformer_cuda_simt PROPERTIES LABELS gpu SKIP_RETURN_CODE 77 TIMEOUT 180
                     ENVIRONMENT "AXIAL_CUDA_TENSOR_CORES=0")

# ax_tensor_copy on the device against the CPU, bit for bit (every dtype pair, strided views).
add_executable(test_tensor_copy_cuda ${CMAKE_CURRENT_LIST_DIR}/test_tensor_copy_cuda.c)
target_include_directories(test_tensor_copy_cuda PRIVATE ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/tests)
target_link_libraries(test_tensor_copy_cuda PRIVATE axial m)
target_compile_options(test_tensor_copy_cuda PRIVATE ${AXIAL_C_WARNINGS})
add_test(NAME tensor_copy_cuda COMMAND test_tensor_copy_cuda)
set_tests_properties(tensor_copy_cuda PROPERTIES LABELS gpu SKIP_RETURN_CODE 77 TIMEOUT 180)

# Evoformer forward + backward captured into a CUDA graph (cudaStreamCaptureModeGlobal, so any
# host-synchronising call fails the capture), replayed and compared with the eager run bit for bit.
add_executable(test_cuda_graph ${CMAKE_CURRENT_LIST_DIR}/test_cuda_graph.c)
target_include_directories(test_cuda_graph PRIVATE ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/tests)
target_link_libraries(test_cuda_graph PRIVATE axial CUDA::cudart m)
target_compile_options(test_cuda_graph PRIVATE ${AXIAL_C_WARNINGS})
target_compile_definitions(test_cuda_graph PRIVATE _POSIX_C_SOURCE=200809L)
add_test(NAME cuda_graph COMMAND test_cuda_graph)
set_tests_properties(cuda_graph PROPERTIES LABELS gpu SKIP_RETURN_CODE 77 TIMEOUT 180)
