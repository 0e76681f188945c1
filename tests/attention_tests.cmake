# Tests of flash attention (attention.h) beyond the op test driver's value checks
# (tests/ops/cases_attention_*.c). Included from tests/CMakeLists.txt.
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0

# Every invalid call returns the right status with a message naming the argument, and writes nothing.
axial_add_c_test(test_attention_errors SOURCES test_attention_errors.c LABELS core)

# The backward's bits repeat run to run for a given thread count (no atomics, fixed sum orders).
axial_add_c_test(test_attention_determinism SOURCES test_attention_determinism.c LABELS core)

# A NaN logit (NaN in q, k or the bias, or a +inf bias) makes the rows that see it NaN on every CPU
# path, forward, backward and paged, instead of passing for a masked key.
axial_add_c_test(test_attention_nonfinite SOURCES test_attention_nonfinite.c LABELS core)
# The same on the AMX tile paths, emulated where the CPU lacks them (AXIAL_AMX=emulate).
add_test(NAME test_attention_nonfinite_amx_emulated COMMAND test_attention_nonfinite)
set_tests_properties(test_attention_nonfinite_amx_emulated PROPERTIES ENVIRONMENT "AXIAL_AMX=emulate" LABELS core)
