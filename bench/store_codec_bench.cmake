# The feature store's chunk compressor against zlib level 1 (HDF5's deflate filter). Links the
# static library for the internal encoder. Prints a table and never asserts timings.
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
if(NOT AXIAL_WITH_HDF5 OR NOT DEFINED AXIAL_FEATURES_SOURCES)
  return()
endif()
add_executable(bench_store_codec ${CMAKE_CURRENT_LIST_DIR}/store_codec.c ${CMAKE_CURRENT_LIST_DIR}/bench_util.c)
target_link_libraries(bench_store_codec PRIVATE axial_static ZLIB::ZLIB HDF5::HDF5 ${AXIAL_BLAS_LIBRARIES} m)
if(OpenMP_C_FOUND)
  target_link_libraries(bench_store_codec PRIVATE OpenMP::OpenMP_C)
endif()
target_include_directories(bench_store_codec PRIVATE ${PROJECT_SOURCE_DIR}/src ${AXIAL_CBLAS_INCLUDE})
target_compile_options(bench_store_codec PRIVATE ${AXIAL_C_WARNINGS})
target_compile_definitions(bench_store_codec PRIVATE _POSIX_C_SOURCE=200809L)
