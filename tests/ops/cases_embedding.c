/*
 * cases_embedding.c — ax_embedding (nn.h): f32, bf16 and f16 tables into each output dtype, and the
 * block-quantized tables (Q4_0, Q4_1, Q8_0, Q4_K, Q6_K) filled with random valid blocks; int32 and
 * int64 ids with repeats and the first and last rows; padded table and output rows; D of one block
 * and of several.
 *
 * Reference: the driver's own decoding of the stored table (op_dtype.c, written from the GGUF layouts
 * independently of the library), row ids[t], rounded once to out's dtype by the driver's own
 * rounding (opd_round; f16 overflows to Inf). Bound: exact. A block row decodes in fp32 exactly as
 * that decoder does, and every value is rounded once to nearest even, so every bit must match.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "axial/nn.h"
#include "op_registry.h"

typedef struct emb_case {
    int64_t T, V, D;
    ax_dtype ids_dtype;
    op_layout layout;
    int quant, quick;
} emb_case;

static const emb_case cases[] = {
    {1, 1, 1, AX_I32, OP_CONTIGUOUS, 0, 1},
    {7, 5, 13, AX_I64, OP_PADDED, 0, 1},
    {20, 50, 576, AX_I32, OP_CONTIGUOUS, 0, 0},
    {5, 9, 32, AX_I32, OP_CONTIGUOUS, 1, 1},
    {9, 6, 256, AX_I64, OP_PADDED, 1, 1},
    {12, 10, 768, AX_I32, OP_PADDED, 1, 0},
    {64, 100, 576, AX_I64, OP_PADDED, 1, 0}, /* 36k elements: threads */
    {64, 100, 576, AX_I32, OP_CONTIGUOUS, 0, 0},
};

static const op_dtype_pair plain_dtypes[] = {
    {AX_F32, AX_F32}, {AX_BF16, AX_BF16}, {AX_BF16, AX_F32}, {AX_F16, AX_F16}, {AX_F16, AX_F32}, {AX_F32, AX_BF16},
};
static const op_dtype_pair quant_dtypes[] = {
    {AX_Q8_0, AX_F32}, {AX_Q8_0, AX_BF16}, {AX_Q4_0, AX_F32}, {AX_Q4_1, AX_F16},
    {AX_Q4_K, AX_F32}, {AX_Q6_K, AX_F32}, {AX_Q6_K, AX_BF16},
};

static int emb_make_case(int index, op_mode mode, op_case *c) {
    const int n = (int)(sizeof cases / sizeof cases[0]);
    int seen = -1;
    for (int i = 0; i < n; i++) {
        const emb_case *r = &cases[i];
        if (mode == OP_QUICK && !r->quick) continue;
        if (++seen != index) continue;
        c->params = r;
        snprintf(c->name, sizeof c->name, "T %lld V %lld D %lld ids %s%s", (long long)r->T, (long long)r->V,
                 (long long)r->D, ax_dtype_name(r->ids_dtype), r->layout == OP_PADDED ? " padded" : "");
        c->n_dtypes = 0;
        const op_dtype_pair *list = r->quant ? quant_dtypes : plain_dtypes;
        const int count = r->quant ? (int)(sizeof quant_dtypes / sizeof quant_dtypes[0])
                                   : (int)(sizeof plain_dtypes / sizeof plain_dtypes[0]);
        for (int k = 0; k < count; k++)
            if (r->D % ax_dtype_block_elems(list[k].in) == 0) c->dtypes[c->n_dtypes++] = list[k];
        return 1;
    }
    return 0;
}

static int emb_setup(const op_case *c, op_dtype_pair dt, op_problem *p) {
    const emb_case *r = c->params;
    const int64_t tshape[2] = {r->V, r->D}, oshape[2] = {r->T, r->D};
    op_tensor *ids = op_tensor_new(p, "ids", OP_INPUT, r->ids_dtype, 1, &r->T, OP_CONTIGUOUS);
    op_tensor *table = op_tensor_new(p, "table", OP_INPUT, dt.in, 2, tshape, r->layout);
    if (ids == NULL || table == NULL || op_tensor_new(p, "out", OP_OUTPUT, dt.out, 2, oshape, r->layout) == NULL)
        return -1;
    if (r->quant) op_fill_random_blocks(p, table);
    else op_fill_uniform(p, table, -2.0, 2.0);
    for (int64_t t = 0; t < r->T; t++) {
        /* the first and last rows appear, then random ones (repeats likely) */
        const int64_t id = t == 0 ? r->V - 1 : t == 1 ? 0 : op_rng_below(&p->rng, r->V);
        op_set(ids, t, (double)id);
    }
    return 0;
}

static void emb_reference(const op_case *c, op_dtype_pair dt, op_problem *p) {
    const emb_case *r = c->params;
    const op_tensor *ids = op_find(p, "ids"), *table = op_find(p, "table");
    op_tensor *out = op_find(p, "out");
    for (int64_t t = 0; t < r->T; t++) {
        const int64_t id = (int64_t)ids->value[t];
        for (int64_t j = 0; j < r->D; j++) out->expected[t * r->D + j] = opd_round(dt.out, table->value[id * r->D + j]);
    }
}

static ax_status emb_run(ax_context *ctx, const op_case *c, op_dtype_pair dt, op_problem *p) {
    (void)c;
    (void)dt;
    return ax_embedding(ctx, op_in(p, "ids"), op_in(p, "table"), op_out(p, "out"));
}

static op_tol emb_tolerance(const op_case *c, op_dtype_pair dt, op_backend be, const op_tensor *out) {
    (void)c;
    (void)be;
    (void)out;
    (void)dt;
    op_tol t;
    memset(&t, 0, sizeof t);
    t.exact = 1;
    return t;
}

const op_table op_table_embedding = {
    .name = "embedding",
    .make_case = emb_make_case,
    .setup = emb_setup,
    .reference = emb_reference,
    .run = emb_run,
    .tolerance = emb_tolerance,
};
