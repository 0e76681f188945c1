# Paged attention and the KV-cache append (include/axial/attention.h): the error paths. Their values
# are tested by the op driver (tests/ops/cases_paged_attention.c, cases_kv_cache_append.c).
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
axial_add_c_test(test_paged_errors SOURCES test_paged_errors.c LABELS core)
