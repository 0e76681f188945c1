# Tests of `axial serve` (tools/cmd_serve.c, serve_*.c): real server processes on loopback ports driven
# by the `openai` package and curl, judged against `axial generate` and `axial tokenize` (the
# single-sequence session, an independent code path). Included from tests/CMakeLists.txt. SKIP (77)
# without the model, the openai package, curl, or an axial built with libmicrohttpd and cJSON.
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
if(TARGET axial_cli)
  add_test(NAME test_server
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/python/run_server.sh ${PROJECT_SOURCE_DIR}
                   $<TARGET_FILE:axial_cli>)
  set_tests_properties(test_server PROPERTIES LABELS "serving;python" SKIP_RETURN_CODE 77 TIMEOUT 600)
endif()
