# The serving engine's KV block pool (src/serving/kv_blocks.h): targeted cases and a randomized
# differential test against a naive reference. Included from tests/CMakeLists.txt.
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
axial_add_c_test(test_kv_blocks SOURCES test_kv_blocks.c LABELS serving)
