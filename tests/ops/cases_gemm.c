/*
 * cases_gemm.c — ax_gemm (linalg.h): all four transpose pairs, alpha/beta (beta = 0 over a
 * NaN-poisoned c, alpha = 0 over NaN operands), K = 0, padded and column-major (transposed-view)
 * matrices, batches with padded batch strides, a 2-D operand shared by every batch, a batch of one
 * and a batch stride of 0; every dtype combination the header lists.
 *
 * Reference: the float64 sum of the stored operands, with the bound of tests/gemm_reference.h: fp32
 * accumulation of K products plus the alpha/beta update, then one rounding to c's dtype,
 *     |got - ref| <= (K + 3) u32 (|alpha| sum_k |a_ik b_kj| + |beta c_ij|) + u_out |ref| + tiny.
 * cuBLAS (tensor cores for 16-bit operands, fp32 accumulation, no TF32) is held to the same bound:
 * 16-bit operands multiply exactly in fp32, so only the order of the fp32 sums differs.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "axial/linalg.h"
#include "gemm_reference.h"
#include "op_registry.h"

/* How an operand's matrices are stored: row-major, row-major with a padded leading dimension, or
 * column-major (the transposed view of a row-major array, which BLAS takes without a copy). */
typedef enum mat_form { MAT_ROW = 0, MAT_PADDED = 1, MAT_COL = 2 } mat_form;
/* How an operand covers the batches: its own matrix per batch (padded batch stride), one 2-D matrix
 * for all, a batch of one, or a batch stride of 0. */
typedef enum batch_form { BATCH_EACH = 0, BATCH_2D = 1, BATCH_ONE = 2, BATCH_STRIDE0 = 3 } batch_form;

typedef struct gemm_params {
    const char *what;
    int64_t batch; /* 0: c is 2-D */
    int64_t M, N, K;
    ax_transpose ta, tb;
    float alpha, beta;
    mat_form a_mat, b_mat, c_mat;
    batch_form a_batch, b_batch;
    int nan_operands; /* a and b all NaN (for alpha = 0: they must not be read) */
    int quick;        /* also in --quick */
} gemm_params;

#define N_ ((ax_transpose)AX_NO_TRANS)
#define T_ ((ax_transpose)AX_TRANS)

static const gemm_params gemm_cases[] = {
    {"beta=0 over NaN c", 0, 7, 33, 130, N_, N_, 1.0f, 0.0f, MAT_ROW, MAT_ROW, MAT_ROW, 0, 0, 0, 1},
    {"", 0, 33, 7, 17, T_, N_, 0.75f, -0.5f, MAT_ROW, MAT_ROW, MAT_ROW, 0, 0, 0, 1},
    {"", 0, 1, 130, 33, N_, T_, -1.5f, 1.0f, MAT_ROW, MAT_ROW, MAT_ROW, 0, 0, 0, 0},
    {"padded", 0, 64, 65, 63, T_, T_, 1.0f, 0.5f, MAT_PADDED, MAT_PADDED, MAT_PADDED, 0, 0, 0, 0},
    {"column-major views", 0, 17, 9, 31, N_, N_, 2.0f, -1.0f, MAT_COL, MAT_COL, MAT_COL, 0, 0, 0, 0},
    {"batched, b batch stride 0", 4, 7, 33, 40, N_, N_, 0.5f, -1.0f, MAT_PADDED, MAT_ROW, MAT_PADDED, BATCH_EACH,
     BATCH_STRIDE0, 0, 1},
    {"batched, a 2-D, c column-major", 3, 9, 12, 20, T_, N_, 1.0f, 0.25f, MAT_ROW, MAT_PADDED, MAT_COL, BATCH_2D,
     BATCH_EACH, 0, 0},
    {"batched, b a batch of one", 2, 16, 8, 24, N_, T_, -1.0f, 0.0f, MAT_COL, MAT_ROW, MAT_ROW, BATCH_EACH,
     BATCH_ONE, 0, 0},
    {"alpha=0 over NaN a, b", 0, 5, 6, 7, N_, N_, 0.0f, 0.75f, MAT_ROW, MAT_ROW, MAT_ROW, 0, 0, 1, 1},
    {"K=0", 0, 4, 5, 0, N_, N_, 1.0f, -2.0f, MAT_ROW, MAT_ROW, MAT_ROW, 0, 0, 0, 0},
    {"larger, padded", 0, 130, 129, 257, T_, N_, 1.0f, 1.0f, MAT_PADDED, MAT_COL, MAT_PADDED, 0, 0, 0, 0},
};

static const op_dtype_pair gemm_dtypes[] = {
    {AX_F32, AX_F32}, {AX_BF16, AX_BF16}, {AX_BF16, AX_F32}, {AX_F16, AX_F16}, {AX_F16, AX_F32},
};

static int gemm_make_case(int index, op_mode mode, op_case *c) {
    const int n = (int)(sizeof gemm_cases / sizeof gemm_cases[0]);
    int seen = -1;
    for (int i = 0; i < n; i++) {
        if (mode == OP_QUICK && !gemm_cases[i].quick) continue;
        if (++seen != index) continue;
        const gemm_params *g = &gemm_cases[i];
        c->params = g;
        snprintf(c->name, sizeof c->name, "%s%s P=%lld M=%lld N=%lld K=%lld alpha=%g beta=%g%s%s",
                 g->ta == AX_TRANS ? "T" : "N", g->tb == AX_TRANS ? "T" : "N", (long long)g->batch, (long long)g->M,
                 (long long)g->N, (long long)g->K, g->alpha, g->beta, g->what[0] ? ", " : "", g->what);
        c->n_dtypes = (int)(sizeof gemm_dtypes / sizeof gemm_dtypes[0]);
        memcpy(c->dtypes, gemm_dtypes, sizeof gemm_dtypes);
        return 1;
    }
    return 0;
}

/* A (rows, cols) matrix operand, 2-D or 3-D by its batch form, stored as `mat` says. */
static op_tensor *new_matrix(op_problem *p, const char *name, op_role role, ax_dtype dt, int64_t batch, batch_form bf,
                             int64_t rows, int64_t cols, mat_form mat) {
    int64_t s_row, s_col;
    if (mat == MAT_COL) {
        s_row = 1;
        s_col = (rows > 1 ? rows : 1) + (role == OP_INPUT ? 2 : 3);
    } else {
        /* a stride of 0 is not a leading dimension BLAS takes, even for an empty matrix */
        s_row = (cols > 1 ? cols : 1) + (mat == MAT_PADDED ? 5 : 0);
        s_col = 1;
    }
    const int64_t span = (rows > 0 ? rows - 1 : 0) * s_row + (cols > 0 ? cols - 1 : 0) * s_col + 1;
    if (batch == 0 || bf == BATCH_2D) {
        const int64_t shape[2] = {rows, cols}, strides[2] = {s_row, s_col};
        return op_tensor_new_strided(p, name, role, dt, 2, shape, strides);
    }
    const int64_t shape[3] = {bf == BATCH_ONE ? 1 : batch, rows, cols};
    const int64_t strides[3] = {bf == BATCH_STRIDE0 ? 0 : span + 7, s_row, s_col};
    return op_tensor_new_strided(p, name, role, dt, 3, shape, strides);
}

static int gemm_setup(const op_case *c, op_dtype_pair dt, op_problem *p) {
    const gemm_params *g = c->params;
    const int64_t ar = g->ta == AX_TRANS ? g->K : g->M, ac = g->ta == AX_TRANS ? g->M : g->K;
    const int64_t br = g->tb == AX_TRANS ? g->N : g->K, bc = g->tb == AX_TRANS ? g->K : g->N;
    op_tensor *a = new_matrix(p, "a", OP_INPUT, dt.in, g->batch, g->a_batch, ar, ac, g->a_mat);
    op_tensor *b = new_matrix(p, "b", OP_INPUT, dt.in, g->batch, g->b_batch, br, bc, g->b_mat);
    /* beta = 0: c is not read, so it starts poisoned (NaN) and must come out clean. */
    op_tensor *cc = new_matrix(p, "c", g->beta == 0.0f ? OP_OUTPUT : OP_INOUT, dt.out, g->batch, BATCH_EACH, g->M,
                               g->N, g->c_mat);
    if (a == NULL || b == NULL || cc == NULL) return -1;
    if (g->nan_operands) {
        for (int64_t i = 0; i < a->numel; i++) op_set(a, i, NAN);
        for (int64_t i = 0; i < b->numel; i++) op_set(b, i, -NAN);
    } else {
        op_fill_uniform(p, a, -1.0, 1.0);
        op_fill_uniform(p, b, -1.0, 1.0);
    }
    if (cc->role == OP_INOUT) op_fill_uniform(p, cc, -1.0, 1.0);
    return op_want_err_scale(cc);
}

/* Value of a stored operand at matrix (batch p, row r, col s): a 2-D or batch-of-one operand serves
 * every batch. */
static double operand(const op_tensor *t, int64_t p, int64_t r, int64_t s) {
    const int64_t rows = t->t.shape[t->t.ndim - 2], cols = t->t.shape[t->t.ndim - 1];
    const int64_t pb = (t->t.ndim == 3 && t->t.shape[0] > 1) ? p : 0;
    return t->value[(pb * rows + r) * cols + s];
}

static void gemm_reference(const op_case *c, op_dtype_pair dt, op_problem *p) {
    const gemm_params *g = c->params;
    const op_tensor *a = op_find(p, "a"), *b = op_find(p, "b");
    op_tensor *cc = op_find(p, "c");
    const double u32 = ldexp(1.0, -24);
    const int64_t P = g->batch > 0 ? g->batch : 1;
    for (int64_t q = 0; q < P; q++)
        for (int64_t i = 0; i < g->M; i++)
            for (int64_t j = 0; j < g->N; j++) {
                double acc = 0.0, abs_acc = 0.0;
                /* BLAS semantics: alpha = 0 reads neither a nor b, beta = 0 does not read c. */
                if (g->alpha != 0.0f)
                    for (int64_t k = 0; k < g->K; k++) {
                        const double x = g->ta == AX_TRANS ? operand(a, q, k, i) : operand(a, q, i, k);
                        const double y = g->tb == AX_TRANS ? operand(b, q, j, k) : operand(b, q, k, j);
                        acc += x * y;
                        abs_acc += fabs(x * y);
                    }
                const int64_t flat = (q * g->M + i) * g->N + j;
                const double old = g->beta != 0.0f ? cc->value[flat] : 0.0;
                cc->expected[flat] = (double)g->alpha * acc + (double)g->beta * old;
                cc->err_scale[flat] =
                    (double)(g->K + 3) * u32 * (fabs((double)g->alpha) * abs_acc + fabs((double)g->beta * old));
            }
}

static ax_status gemm_run(ax_context *ctx, const op_case *c, op_dtype_pair dt, op_problem *p) {
    const gemm_params *g = c->params;
    return ax_gemm(ctx, g->ta, g->tb, g->alpha, op_in(p, "a"), op_in(p, "b"), g->beta, op_out(p, "c"));
}

/* The bound of gemm_reference.h: err_scale carries the accumulation term; the final rounding to c's
 * dtype is one unit roundoff of the result; `tiny` is half an fp16 subnormal step for an f16 c (a
 * result that small is rounded in absolute, not relative, terms) and negligible otherwise. The
 * same on every backend (see the top of the file). */
static op_tol gemm_tolerance(const op_case *c, op_dtype_pair dt, op_backend be, const op_tensor *out) {
    op_tol t;
    memset(&t, 0, sizeof t);
    t.scale_tol = 1.0;
    t.rtol = gm_unit_roundoff(dt.out);
    t.atol = dt.out == AX_F16 ? ldexp(1.0, -24) : 1e-37;
    return t;
}

const op_table op_table_gemm = {
    .name = "gemm",
    .make_case = gemm_make_case,
    .setup = gemm_setup,
    .reference = gemm_reference,
    .run = gemm_run,
    .tolerance = gemm_tolerance,
};
