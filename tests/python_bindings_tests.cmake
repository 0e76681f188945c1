# The Python bindings (python_bindings/, label "python"): build and install the wheel into the
# project's virtual environments, then pytest in .venv (NumPy 2), pytest in .venv-torch (Debian's
# PyTorch, gradcheck) and the notebooks. Each step skips (exit 77) with a reason when its environment
# is missing. Not in sanitizer builds: the wheel is built by pip, not by this build, and would only be
# rebuilt and retested the same way.
if(NOT AXIAL_SANITIZE)
  set(_axpy_run bash ${CMAKE_CURRENT_SOURCE_DIR}/python/run_bindings.sh ${PROJECT_SOURCE_DIR})
  if(AXIAL_WITH_CUDA)
    set(_axpy_cuda ON)
  else()
    set(_axpy_cuda OFF)
  endif()
  add_test(NAME test_python_bindings_install COMMAND ${_axpy_run} install ${_axpy_cuda})
  add_test(NAME test_python_bindings COMMAND ${_axpy_run} pytest)
  add_test(NAME test_python_torch COMMAND ${_axpy_run} torch)
  add_test(NAME test_python_notebooks COMMAND ${_axpy_run} notebooks)
  add_test(NAME test_python_root_install COMMAND ${_axpy_run} root)
  set_tests_properties(test_python_bindings_install test_python_bindings test_python_torch test_python_notebooks
                       test_python_root_install PROPERTIES LABELS python SKIP_RETURN_CODE 77)
  set_tests_properties(test_python_root_install PROPERTIES TIMEOUT 1200)
  # A fixture, not only an order: `ctest -R test_python_bindings$` installs first, and a failed install
  # stops the tests that would otherwise run against whichever wheel an earlier build installed.
  set_tests_properties(test_python_bindings_install PROPERTIES FIXTURES_SETUP axial_python_wheel)
  set_tests_properties(test_python_bindings test_python_torch test_python_notebooks
                       PROPERTIES FIXTURES_REQUIRED axial_python_wheel)
  set_tests_properties(test_python_bindings_install PROPERTIES TIMEOUT 1200)
endif()
