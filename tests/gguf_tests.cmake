# Tests of the GGUF reader (src/io/gguf.c): files written byte by byte by the test itself and hostile
# variants of them; the real SmolLM2 file (scripts/fetch-model.sh) against its known content; and
# `axial gguf show --json` against the `gguf` Python package, key by key and tensor by tensor.
# The model tests are skipped (77) when the model or the .venv is missing. Included from
# tests/CMakeLists.txt.
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
axial_add_c_test(test_gguf SOURCES test_gguf.c LABELS io)

add_test(NAME test_gguf_model
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/python/run_gguf_model.sh ${PROJECT_SOURCE_DIR}
                 $<TARGET_FILE:test_gguf>)
set_tests_properties(test_gguf_model PROPERTIES LABELS "io;model" SKIP_RETURN_CODE 77)

if(TARGET axial_cli)
  add_test(NAME test_gguf_reader
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/python/run_gguf_reader.sh ${PROJECT_SOURCE_DIR}
                   $<TARGET_FILE:axial_cli>)
  set_tests_properties(test_gguf_reader PROPERTIES LABELS "io;python;model" SKIP_RETURN_CODE 77)
endif()
