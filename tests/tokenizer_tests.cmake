# The byte-level BPE tokenizer (src/llm/tokenizer.h) judged by Hugging Face tokenizers built from the
# same GGUF's vocabulary and merges, jinja2 rendering the file's own chat template, and error cases
# written with the `gguf` package. tokenizer_helper runs the tokenizer on files of records for
# tests/python/test_tokenizer_hf.py; the test is skipped (77) when the .venv lacks gguf, tokenizers,
# jinja2 or pytest, or the model (scripts/fetch-model.sh) is absent. Included from tests/CMakeLists.txt.
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
add_executable(tokenizer_helper tokenizer_helper.c)
target_link_libraries(tokenizer_helper PRIVATE axial_static Threads::Threads ${AXIAL_BLAS_LIBRARIES} m)
if(OpenMP_C_FOUND)
  target_link_libraries(tokenizer_helper PRIVATE OpenMP::OpenMP_C)
endif()
target_include_directories(tokenizer_helper PRIVATE ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/src)
target_compile_options(tokenizer_helper PRIVATE ${AXIAL_C_WARNINGS})
target_compile_definitions(tokenizer_helper PRIVATE _POSIX_C_SOURCE=200809L)
add_test(NAME test_tokenizer_hf
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/python/run_tokenizer_hf.sh ${PROJECT_SOURCE_DIR}
                 $<TARGET_FILE:tokenizer_helper>)
set_tests_properties(test_tokenizer_hf PROPERTIES LABELS "llm;python" SKIP_RETURN_CODE 77 TIMEOUT 600)
axial_add_c_test(test_tokenizer_errors SOURCES test_tokenizer_errors.c LABELS llm)
