# Tests of the HDF5 feature store (label store). Included from tests/CMakeLists.txt.
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
if(AXIAL_WITH_HDF5)
  axial_add_c_test(test_store SOURCES test_store.c LABELS store LIBS HDF5::HDF5 ZLIB::ZLIB)
  axial_add_c_test(test_fletcher32 SOURCES test_fletcher32.c LABELS store LIBS HDF5::HDF5)
  if(AXIAL_WITH_PNG)
    target_link_libraries(test_store PRIVATE PNG::PNG)
  endif()
endif()

# The command line's good and bad paths (needs the tools and the store).
if(AXIAL_WITH_HDF5 AND AXIAL_BUILD_TOOLS)
  add_test(NAME test_cli COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/test_cli.sh $<TARGET_FILE:axial_cli>
           ${PROJECT_SOURCE_DIR}/tests/data)
  set_tests_properties(test_cli PROPERTIES LABELS store)
  if(AXIAL_WITH_PNG AND AXIAL_SANITIZE MATCHES "address")
    # `axial features plot` draws text: fontconfig keeps its configuration and cairo's font patterns
    # until the process exits (test_png frees them and checks the figure writers leak nothing).
    set_tests_properties(test_cli PROPERTIES ENVIRONMENT
      "LSAN_OPTIONS=suppressions=\"${CMAKE_CURRENT_SOURCE_DIR}/figures_lsan.supp\":print_suppressions=0")
  endif()
endif()
