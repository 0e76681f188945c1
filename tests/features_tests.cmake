# Tests of the features area (chain features, training batches, PNG figures). Included from
# tests/CMakeLists.txt; each test is one program that prints "N checks, M failed" and exits non-zero
# on failure. They read the sample files in tests/data; test_batch also uses the private
# src/io/features_batch.h to compare the assignment kernels.
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0

# The sources are in the library only once the top level includes cmake/features_sources.cmake.
if(NOT DEFINED AXIAL_FEATURES_SOURCES)
  message(STATUS "features tests: skipped (the library does not compile cmake/features_sources.cmake)")
  return()
endif()
if(NOT TARGET ZLIB::ZLIB)
  find_package(ZLIB REQUIRED)
endif()

# Target names carry the area's prefix (other areas may have "batch" tests of their own).
foreach(name features msa_merge batch png)
  if(name STREQUAL "features")
    set(target test_features)
  else()
    set(target test_features_${name})
  endif()
  add_executable(${target} ${PROJECT_SOURCE_DIR}/tests/test_${name}.c)
  target_link_libraries(${target} PRIVATE axial_static ZLIB::ZLIB)
  if(AXIAL_WITH_PNG)
    # test_png reads the images back with libpng.
    target_link_libraries(${target} PRIVATE PNG::PNG)
    if(name STREQUAL "png")
      # ... and releases cairo's and fontconfig's process-lifetime caches before exiting, so
      # LeakSanitizer sees only what the figure writers themselves might leak.
      pkg_check_modules(AXIAL_TEST_FONTCONFIG REQUIRED IMPORTED_TARGET fontconfig)
      target_link_libraries(${target} PRIVATE PkgConfig::CAIRO PkgConfig::AXIAL_TEST_FONTCONFIG)
    endif()
  endif()
  if(AXIAL_LIBM)
    target_link_libraries(${target} PRIVATE ${AXIAL_LIBM})
  endif()
  target_include_directories(${target} PRIVATE
    ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/tests)
  target_compile_options(${target} PRIVATE ${AXIAL_C_WARNINGS})
  # _POSIX_C_SOURCE: test_png uses mkdtemp, lstat and friends for its temporary directories.
  target_compile_definitions(${target} PRIVATE
    AXIAL_TEST_DATA="${PROJECT_SOURCE_DIR}/tests/data" AXIAL_WITH_PNG=${AXIAL_WITH_PNG} _POSIX_C_SOURCE=200809L)
  add_test(NAME features_${name} COMMAND ${target})
  set_tests_properties(features_${name} PROPERTIES LABELS features)
endforeach()
