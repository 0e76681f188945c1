# Tests of the serving engine (include/axial/serving.h): the real model (SmolLM2-135M-Instruct,
# scripts/fetch-model.sh; SKIP without it) through every policy against the single-sequence session,
# batch invariance, prefix sharing and copy-on-write, stop conditions, 1,000 mixed requests with
# cancellations, the background loop. Included from tests/CMakeLists.txt.
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
axial_add_c_test(test_serving_engine SOURCES test_serving_engine.c LABELS serving)
set_tests_properties(test_serving_engine PROPERTIES TIMEOUT 1500)
axial_add_c_test(test_serving_text SOURCES test_serving_text.c LABELS serving)
