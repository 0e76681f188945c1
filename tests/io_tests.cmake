# Tests of the io area (file parsers). Included from tests/CMakeLists.txt; each test is one
# program that prints "N checks, M failed" and exits non-zero on failure. They read the sample
# files in tests/data and use a few private headers from src/io (line reader, tokenizer, numbers).
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0

# The parsers are in the library only once the top level includes cmake/io_sources.cmake.
if(NOT DEFINED AXIAL_IO_SOURCES)
  message(STATUS "io tests: skipped (the library does not compile cmake/io_sources.cmake yet)")
  return()
endif()
if(NOT TARGET ZLIB::ZLIB)
  find_package(ZLIB REQUIRED)
endif()

foreach(name util fasta a3m stockholm mmcif pdb robustness)
  add_executable(test_io_${name} ${PROJECT_SOURCE_DIR}/tests/test_io_${name}.c)
  target_link_libraries(test_io_${name} PRIVATE axial_static ZLIB::ZLIB)
  if(AXIAL_LIBM)
    target_link_libraries(test_io_${name} PRIVATE ${AXIAL_LIBM})
  endif()
  target_include_directories(test_io_${name} PRIVATE
    ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/tests)
  target_compile_options(test_io_${name} PRIVATE ${AXIAL_C_WARNINGS})
  # _POSIX_C_SOURCE: the tests use mkstemp/truncate for temporary gzip files.
  target_compile_definitions(test_io_${name} PRIVATE
    AXIAL_TEST_DATA="${PROJECT_SOURCE_DIR}/tests/data" _POSIX_C_SOURCE=200809L)
  add_test(NAME io_${name} COMMAND test_io_${name})
  set_tests_properties(io_${name} PROPERTIES LABELS io)
endforeach()
