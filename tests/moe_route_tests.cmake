# Tests of the MoE routing, dispatch and combine ops (include/axial/moe.h) beyond the op test driver's
# case tables (tests/ops/cases_moe_{route,route_backward,dispatch,combine,combine_backward}.c).
# Included from tests/CMakeLists.txt.
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0

# Every invalid call is rejected with a message naming the argument (token and choice for a bad
# index), and writes nothing.
axial_add_c_test(test_moe_route_errors SOURCES test_moe_route_errors.c LABELS moe)
