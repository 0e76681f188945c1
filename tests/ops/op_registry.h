/*
 * op_registry.h — the op tables test_ops runs, one line each. Adding an op: write
 * tests/ops/cases_<op>.c defining `const op_table op_table_<op>` and add `X(<op>)` below (see
 * op_driver.h).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_TESTS_OPS_OP_REGISTRY_H
#define AXIAL_TESTS_OPS_OP_REGISTRY_H

#include "op_driver.h"

#define OP_REGISTRY(X)      \
    X(convert)              \
    X(gemm)                 \
    X(evoformer_forward)    \
    X(evoformer_backward)   \
    X(rms_norm)             \
    X(attention_forward)    \
    X(attention_backward)   \
    X(rms_norm_residual)    \
    X(layer_norm)           \
    X(rms_norm_backward)    \
    X(layer_norm_backward)  \
    X(rope)                 \
    X(activation)           \
    X(glu)                  \
    X(embedding)            \
    X(softmax)              \
    X(qmatmul)              \
    X(qmatmul_packed)       \
    X(sampling)             \
    X(paged_attention)      \
    X(kv_cache_append)      \
    X(moe_route)            \
    X(moe_route_backward)   \
    X(moe_dispatch)         \
    X(moe_combine)          \
    X(moe_combine_backward) \
    X(moe_grouped_gemm)     \
    X(moe_grouped_gemm_dw)

/* A declaration for every table, seen by the file that defines it and by test_ops.c. */
#define OP_DECLARE_TABLE(op) extern const op_table op_table_##op;
OP_REGISTRY(OP_DECLARE_TABLE)
#undef OP_DECLARE_TABLE

#endif /* AXIAL_TESTS_OPS_OP_REGISTRY_H */
