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

# The JSON the server writes for generated text, whatever bytes the model generates (a C test of
# tools/serve_request.c, built where cJSON is installed, as `axial serve` is).
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(AXIAL_TEST_CJSON IMPORTED_TARGET libcjson)
endif()
if(AXIAL_TEST_CJSON_FOUND)
  axial_add_c_test(test_serve_json SOURCES test_serve_json.c ${PROJECT_SOURCE_DIR}/tools/serve_request.c
                   LABELS serving LIBS PkgConfig::AXIAL_TEST_CJSON)
  target_include_directories(test_serve_json PRIVATE ${PROJECT_SOURCE_DIR}/tools)
endif()
