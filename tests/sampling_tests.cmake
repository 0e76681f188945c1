# Tests of token sampling (include/axial/sampling.h) beyond the op test driver's cases
# (tests/ops/cases_sampling.c). Included from tests/CMakeLists.txt.
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0

axial_add_c_test(test_sampling_errors SOURCES test_sampling_errors.c LABELS sampling)
# gpu too: its penalty-rounding case runs on CUDA where there is a device (ctest -L gpu in gpu-check.sh)
axial_add_c_test(test_sampling_stats SOURCES test_sampling_stats.c LABELS sampling gpu)
