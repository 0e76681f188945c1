# Tests of the LLM runner (include/axial/llm.h, `axial generate`): argument errors of the C API that
# need no model, and the real model (SmolLM2-135M-Instruct, scripts/fetch-model.sh) judged by a
# float64 NumPy decoder over weights the `gguf` package dequantizes. Included from tests/CMakeLists.txt.
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
axial_add_c_test(test_llm_errors SOURCES test_llm_errors.c LABELS llm)
# Session semantics on the real model (rewind, chunking, errors that keep the cache); SKIP without it.
axial_add_c_test(test_llm_session SOURCES test_llm_session.c LABELS llm)

# llm_helper loads the model and prints logits or greedy ids for tests/python/test_llm_reference.py;
# the test is skipped (77) when the .venv lacks gguf, numpy, pytest or jinja2, or the model is absent.
add_executable(llm_helper llm_helper.c)
target_link_libraries(llm_helper PRIVATE axial_static Threads::Threads ${AXIAL_BLAS_LIBRARIES} m)
if(OpenMP_C_FOUND)
  target_link_libraries(llm_helper PRIVATE OpenMP::OpenMP_C)
endif()
target_compile_options(llm_helper PRIVATE ${AXIAL_C_WARNINGS})
if(TARGET axial_cli)
  add_test(NAME test_llm_reference
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/python/run_llm.sh ${PROJECT_SOURCE_DIR}
                   $<TARGET_FILE:llm_helper> $<TARGET_FILE:axial_cli>)
  set_tests_properties(test_llm_reference PROPERTIES LABELS "llm;python" SKIP_RETURN_CODE 77 TIMEOUT 900)
endif()

# The runner on CUDA against the float64 reference, on the 2-block model of scripts/gpu-model.sh (or one
# derived on the fly from the real model); skipped (77) without a CUDA device, the Python packages or
# a model. Needs only llm_helper, not the CLI (which a GPU machine's fallback build leaves out).
# AXIAL_LLM_CUDA_TEST_ON_CPU=1 in the environment runs it on the CPU as a self-check of the harness.
add_test(NAME test_llm_cuda
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/python/run_llm_cuda.sh ${PROJECT_SOURCE_DIR}
                 $<TARGET_FILE:llm_helper>)
set_tests_properties(test_llm_cuda PROPERTIES LABELS "gpu;llm;python" SKIP_RETURN_CODE 77 TIMEOUT 180)
