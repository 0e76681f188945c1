/*
 * test_seqpar_collectives.c — the collectives of sequence parallelism against serial references, on
 * every rank of `mpiexec -n P`: uneven and empty shards, strided (non-contiguous) inputs and outputs,
 * f32 / bf16 / f16. Every rank builds the same global tensors from one seed, so the reference of each
 * collective is computed locally without communication.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "seqpar_test_util.h"

static const ax_dtype dtypes[3] = {AX_F32, AX_BF16, AX_F16};

static void test_shard_range(void) {
    int64_t off = -1, cnt = -1;
    CHECK_OK(ax_shard_range(10, 4, 0, &off, &cnt));
    CHECK_INT_EQ(off, 0);
    CHECK_INT_EQ(cnt, 3);
    CHECK_OK(ax_shard_range(10, 4, 1, &off, &cnt));
    CHECK_INT_EQ(off, 3);
    CHECK_INT_EQ(cnt, 3);
    CHECK_OK(ax_shard_range(10, 4, 2, &off, &cnt));
    CHECK_INT_EQ(off, 6);
    CHECK_INT_EQ(cnt, 2);
    CHECK_OK(ax_shard_range(10, 4, 3, &off, &cnt));
    CHECK_INT_EQ(off, 8);
    CHECK_INT_EQ(cnt, 2);
    CHECK_OK(ax_shard_range(2, 4, 3, &off, &cnt)); /* fewer elements than parts: empty shards last */
    CHECK_INT_EQ(off, 2);
    CHECK_INT_EQ(cnt, 0);
    /* The shards tile [0, L) in order for many (L, P). */
    for (int64_t L = 0; L < 40; L++)
        for (int64_t P = 1; P < 9; P++) {
            int64_t next = 0, prev_cnt = INT64_MAX;
            for (int64_t r = 0; r < P; r++) {
                CHECK_OK(ax_shard_range(L, P, r, &off, &cnt));
                CHECK(off == next && cnt <= prev_cnt && cnt >= L / P && cnt <= L / P + 1);
                next = off + cnt;
                prev_cnt = cnt;
            }
            CHECK_INT_EQ(next, L);
        }
    CHECK_STATUS(ax_shard_range(-1, 4, 0, &off, &cnt), AX_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ax_shard_range(5, 0, 0, &off, &cnt), AX_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ax_shard_range(5, 4, 4, &off, &cnt), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "index");
    CHECK_INT_EQ(ax_comm_size(sp_comm), sp_size);
    CHECK_INT_EQ(ax_comm_rank(sp_comm), sp_rank);
    CHECK_INT_EQ(ax_comm_rank(NULL), -1);
}

/* A copy of `src` (any view) in a fresh test tensor of the given layout. */
static int copy_into(test_tensor *dst, const ax_tensor *src, test_layout layout) {
    if (tt_alloc(dst, src->dtype, src->ndim, src->shape, layout) != 0) return -1;
    if (sp_empty(src)) return 0;
    int64_t idx[AX_MAX_DIMS] = {0};
    do tt_set(dst, idx, sp_get(src, idx));
    while (sp_next(idx, src));
    return 0;
}

static void test_all_gather(void) {
    const int64_t shape[3] = {5, 7, 3}; /* 3 < 4: an empty shard at P = 4 */
    for (int di = 0; di < 3; di++)
        for (int32_t dim = 0; dim < 3; dim++)
            for (int layout = 0; layout < 2; layout++) {
                tt_seed(100 + (uint64_t)(di * 10 + dim));
                test_tensor global, in, out;
                tt_alloc(&global, dtypes[di], 3, shape, LAYOUT_CONTIGUOUS);
                tt_fill_uniform(&global, -2.0, 2.0);
                const ax_tensor mine = sp_my_view(&global.t, dim);
                copy_into(&in, &mine, (test_layout)layout);
                tt_alloc(&out, dtypes[di], 3, shape, (test_layout)(1 - layout));
                tt_poison(&out);
                CHECK_OK(ax_all_gather(sp_ctx, sp_comm, &in.t, dim, &out.t));
                if (!sp_compare("all_gather", &out.t, &global.t, 0, 0))
                    fprintf(stderr, "     dtype %s dim %d layout %d\n", ax_dtype_name(dtypes[di]), (int)dim, layout);
                tt_free(&global);
                tt_free(&in);
                tt_free(&out);
            }
}

/* Rank r's full input of a reduction: seeded by r, so every rank can rebuild every rank's input. */
static void rank_input(test_tensor *t, ax_dtype dtype, const int64_t *shape, int rank, uint64_t salt,
                       test_layout layout) {
    tt_alloc(t, dtype, 3, shape, layout);
    tt_seed(1000 * salt + (uint64_t)rank);
    tt_fill_uniform(t, -1.0, 1.0);
}

/* The sum over ranks of every rank's input, in double, stored as f64. */
static void reduction_reference(test_tensor *sum, ax_dtype dtype, const int64_t *shape, uint64_t salt) {
    tt_alloc(sum, AX_F64, 3, shape, LAYOUT_CONTIGUOUS);
    for (int r = 0; r < sp_size; r++) {
        test_tensor x;
        rank_input(&x, dtype, shape, r, salt, LAYOUT_CONTIGUOUS);
        int64_t idx[AX_MAX_DIMS] = {0};
        do tt_set(sum, idx, tt_get(sum, idx) + tt_get(&x, idx));
        while (sp_next(idx, &x.t));
        tt_free(&x);
    }
}

/* sp_get reads f32/bf16/f16; the f64 reference is read through a float copy with tt_get. */
static int compare_to_f64(const char *what, const ax_tensor *got, const test_tensor *want, const ax_tensor *want_view,
                          double rel) {
    test_tensor w;
    tt_alloc(&w, AX_F32, want_view->ndim, want_view->shape, LAYOUT_CONTIGUOUS);
    if (!sp_empty(want_view)) {
        int64_t idx[AX_MAX_DIMS] = {0};
        test_tensor view = *want;
        view.t = *want_view;
        do tt_set(&w, idx, tt_get(&view, idx));
        while (sp_next(idx, want_view));
    }
    const int ok = sp_compare(what, got, &w.t, rel, 1e-6);
    tt_free(&w);
    return ok;
}

static void test_reduce_scatter(void) {
    const int64_t shape[3] = {6, 5, 3};
    for (int di = 0; di < 3; di++)
        for (int32_t dim = 0; dim < 3; dim++)
            for (int layout = 0; layout < 2; layout++) {
                const uint64_t salt = (uint64_t)(di * 10 + dim + 1);
                test_tensor in, out, sum;
                rank_input(&in, dtypes[di], shape, sp_rank, salt, (test_layout)layout);
                reduction_reference(&sum, dtypes[di], shape, salt);
                const ax_tensor want = sp_my_view(&sum.t, dim);
                tt_alloc(&out, dtypes[di], 3, want.shape, (test_layout)(1 - layout));
                tt_poison(&out);
                CHECK_OK(ax_reduce_scatter(sp_ctx, sp_comm, &in.t, dim, &out.t));
                /* fp32 sum, one rounding to the dtype: within half an ulp plus fp32 noise */
                if (!compare_to_f64("reduce_scatter", &out.t, &sum, &want, sp_rel(dtypes[di]) / 2))
                    fprintf(stderr, "     dtype %s dim %d layout %d\n", ax_dtype_name(dtypes[di]), (int)dim, layout);
                tt_free(&in);
                tt_free(&out);
                tt_free(&sum);
            }
}

static void test_all_reduce(void) {
    const int64_t shape[3] = {4, 3, 5};
    for (int di = 0; di < 3; di++)
        for (int mode = 0; mode < 3; mode++) { /* 0 contiguous, 1 strided in and out, 2 in place */
            const uint64_t salt = (uint64_t)(50 + di * 10 + mode);
            test_tensor in, out, sum;
            rank_input(&in, dtypes[di], shape, sp_rank, salt, mode == 1 ? LAYOUT_STRIDED : LAYOUT_CONTIGUOUS);
            reduction_reference(&sum, dtypes[di], shape, salt);
            ax_tensor *result = &in.t;
            if (mode != 2) {
                tt_alloc(&out, dtypes[di], 3, shape, (test_layout)mode);
                tt_poison(&out);
                CHECK_OK(ax_all_reduce(sp_ctx, sp_comm, &in.t, &out.t));
                result = &out.t;
            } else {
                CHECK_OK(ax_all_reduce(sp_ctx, sp_comm, &in.t, &in.t));
            }
            if (!compare_to_f64("all_reduce", result, &sum, &sum.t, sp_rel(dtypes[di]) / 2))
                fprintf(stderr, "     dtype %s mode %d\n", ax_dtype_name(dtypes[di]), mode);
            if (mode != 2) tt_free(&out);
            tt_free(&in);
            tt_free(&sum);
        }
}

static void test_all_to_all(void) {
    const int64_t shape[4] = {2, 6, 5, 7};
    const int32_t pairs[4][2] = {{1, 2}, {2, 1}, {3, 0}, {0, 3}}; /* (split, concat) */
    for (int di = 0; di < 3; di++)
        for (int pi = 0; pi < 4; pi++)
            for (int layout = 0; layout < 2; layout++) {
                const int32_t split = pairs[pi][0], concat = pairs[pi][1];
                tt_seed(300 + (uint64_t)(di * 10 + pi));
                test_tensor global, in, out;
                tt_alloc(&global, dtypes[di], 4, shape, LAYOUT_CONTIGUOUS);
                tt_fill_uniform(&global, -2.0, 2.0);
                const ax_tensor in_view = sp_my_view(&global.t, concat);
                const ax_tensor want = sp_my_view(&global.t, split);
                copy_into(&in, &in_view, (test_layout)layout);
                tt_alloc(&out, dtypes[di], 4, want.shape, (test_layout)(1 - layout));
                tt_poison(&out);
                CHECK_OK(ax_all_to_all(sp_ctx, sp_comm, &in.t, split, concat, &out.t));
                if (!sp_compare("all_to_all", &out.t, &want, 0, 0))
                    fprintf(stderr, "     dtype %s split %d concat %d layout %d\n", ax_dtype_name(dtypes[di]),
                            (int)split, (int)concat, layout);
                tt_free(&global);
                tt_free(&in);
                tt_free(&out);
            }
}

/* MSA (B, N, S, C) and pair (B, S, S, C) activations: row split -> column split -> row split. */
static void test_dap_axis_switch_round_trip(void) {
    const int64_t shapes[2][4] = {{1, 5, 7, 3}, {2, 6, 6, 4}};
    for (int si = 0; si < 2; si++)
        for (int di = 0; di < 3; di++) {
            tt_seed(500 + (uint64_t)(si * 10 + di));
            test_tensor global, rows, cols, back;
            tt_alloc(&global, dtypes[di], 4, shapes[si], LAYOUT_CONTIGUOUS);
            tt_fill_uniform(&global, -2.0, 2.0);
            const ax_tensor row_view = sp_my_view(&global.t, 1), col_view = sp_my_view(&global.t, 2);
            copy_into(&rows, &row_view, di == 1 ? LAYOUT_STRIDED : LAYOUT_CONTIGUOUS);
            tt_alloc(&cols, dtypes[di], 4, col_view.shape, di == 2 ? LAYOUT_STRIDED : LAYOUT_CONTIGUOUS);
            tt_alloc(&back, dtypes[di], 4, row_view.shape, LAYOUT_CONTIGUOUS);
            tt_poison(&cols);
            tt_poison(&back);
            CHECK_OK(ax_dap_row_to_col(sp_ctx, sp_comm, &rows.t, &cols.t));
            sp_compare("row_to_col", &cols.t, &col_view, 0, 0);
            CHECK_OK(ax_dap_col_to_row(sp_ctx, sp_comm, &cols.t, &back.t));
            sp_compare("col_to_row (round trip)", &back.t, &rows.t, 0, 0);
            tt_free(&global);
            tt_free(&rows);
            tt_free(&cols);
            tt_free(&back);
        }
}

int main(int argc, char **argv) {
    if (sp_init(&argc, &argv) != 0) return 1;
    SP_RUN(test_shard_range);
    SP_RUN(test_all_gather);
    SP_RUN(test_reduce_scatter);
    SP_RUN(test_all_reduce);
    SP_RUN(test_all_to_all);
    SP_RUN(test_dap_axis_switch_round_trip);
    return sp_finish();
}
