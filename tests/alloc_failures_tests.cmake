# Allocation failures injected one at a time into the library's calls (label robustness). Included
# from tests/CMakeLists.txt. The test replaces malloc and friends, which the sanitizers replace too:
# it is not built with them. Needs the model for its LLM and serving scenarios (else it runs the rest).
if(NOT AXIAL_SANITIZE)
  if(AXIAL_WITH_HDF5)
    axial_add_c_test(test_alloc_failures SOURCES test_alloc_failures.c LABELS robustness LIBS HDF5::HDF5
                     ${CMAKE_DL_LIBS})
    target_compile_definitions(test_alloc_failures PRIVATE AXIAL_TEST_STORE=1)
  else()
    axial_add_c_test(test_alloc_failures SOURCES test_alloc_failures.c LABELS robustness LIBS ${CMAKE_DL_LIBS})
  endif()
  set_tests_properties(test_alloc_failures PROPERTIES TIMEOUT 1200)
endif()
