# Tests of the HDF5 feature store (label store). Included from tests/CMakeLists.txt.
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
if(AXIAL_WITH_HDF5)
  axial_add_c_test(test_store SOURCES test_store.c LABELS store LIBS HDF5::HDF5 ZLIB::ZLIB)
  if(AXIAL_WITH_PNG)
    target_link_libraries(test_store PRIVATE PNG::PNG)
  endif()
endif()
