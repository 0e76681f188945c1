# Python-side checks (pytest in the project's .venv, made by scripts/test.sh). Skipped with a clear
# message (exit 77) when the virtual environment or h5py is missing.
if(AXIAL_WITH_HDF5 AND AXIAL_BUILD_TOOLS)
  add_test(NAME test_store_h5py
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/python/run_pytest.sh ${PROJECT_SOURCE_DIR}
                   $<TARGET_FILE:axial_cli> ${PROJECT_SOURCE_DIR}/tests/data)
  set_tests_properties(test_store_h5py PROPERTIES LABELS "store;python" SKIP_RETURN_CODE 77)
  if(AXIAL_WITH_PNG AND AXIAL_SANITIZE MATCHES "address")
    # it runs `axial features plot` too: fontconfig's process-lifetime state, as for test_cli
    set_tests_properties(test_store_h5py PROPERTIES ENVIRONMENT
      "LSAN_OPTIONS=suppressions=\"${CMAKE_CURRENT_SOURCE_DIR}/figures_lsan.supp\":print_suppressions=0")
  endif()
endif()
