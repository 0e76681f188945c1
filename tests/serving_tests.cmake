# Tests of the serving engine (include/axial/serving.h): a real model (SmolLM2-135M-Instruct,
# scripts/fetch-model.sh; SKIP without it) through every policy against the single-sequence session,
# batch invariance, prefix sharing and copy-on-write, stop conditions, 1,000 mixed requests with
# cancellations, the background loop. Included from tests/CMakeLists.txt.
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
axial_add_c_test(test_serving_engine SOURCES test_serving_engine.c LABELS serving)
set_tests_properties(test_serving_engine PROPERTIES TIMEOUT 1500)
# The same program on CUDA device 0 (SKIP, 77, without a device or a model): the engine's CUDA path
# (copy-on-write through the host, every step's uploads, CUDA's defaults, a pool too big for the
# device) against the session on the same device, with 200 mixed requests. The test picks the model
# when it runs, as the file may appear after configuring: $AXIAL_GPU_MODEL, else
# .gpu-model/smollm2-2blk.gguf (scripts/gpu-model.sh), else the real model.
add_test(NAME test_serving_engine_cuda COMMAND test_serving_engine --device cuda)
set_tests_properties(test_serving_engine_cuda PROPERTIES LABELS "gpu;serving" SKIP_RETURN_CODE 77 TIMEOUT 180)
axial_add_c_test(test_serving_text SOURCES test_serving_text.c LABELS serving)
