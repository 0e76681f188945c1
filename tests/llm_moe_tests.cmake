# Mixture-of-Experts models in the LLM runner (llm.h, `axial generate`): models derived from the real
# SmolLM2 file by tests/python/derive_moe.py (its FFN split into 8 experts), judged by the float64
# NumPy decoder's MoE path and by the dense model. SKIP (77) without the .venv packages or the model.
# Included from tests/CMakeLists.txt (found by glob).
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
# llm_helper comes from llm_tests.cmake (included after this file; the generator expression resolves later)
if(TARGET axial_cli)
  add_test(NAME test_llm_moe
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/python/run_llm_moe.sh ${PROJECT_SOURCE_DIR}
                   $<TARGET_FILE:llm_helper> $<TARGET_FILE:axial_cli>)
  set_tests_properties(test_llm_moe PROPERTIES LABELS "llm;moe;python" SKIP_RETURN_CODE 77 TIMEOUT 1500)
endif()
