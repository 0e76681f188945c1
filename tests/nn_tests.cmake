# Tests of the nn area (include/axial/nn.h) beyond the op test driver's case tables
# (tests/ops/cases_{rms_norm,norm,rope,activation,embedding,softmax}.c). Included from
# tests/CMakeLists.txt.
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0

# Every invalid call is rejected with a message naming the argument, and writes nothing.
axial_add_c_test(test_nn_errors SOURCES test_nn_errors.c LABELS nn)
# dweight / dbias of the norm backwards give the same bits for any thread count (no timing).
axial_add_c_test(test_nn_determinism SOURCES test_nn_determinism.c LABELS nn)
