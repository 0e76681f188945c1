/*
 * seqpar_test_util.h — shared pieces of the MPI tests of sequence parallelism: start-up (MPI, one
 * communicator, a one-thread context), a runner that sums failures over the ranks, element access on
 * any ax_tensor, views, and comparisons. Header-only, like harness.h.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_TESTS_SEQPAR_TEST_UTIL_H
#define AXIAL_TESTS_SEQPAR_TEST_UTIL_H

#include <mpi.h>

#include "axial/seqpar.h"
#include "evoformer_reference.h"
#include "harness.h"

static ax_comm *sp_comm;
static ax_context *sp_ctx;
static int sp_rank, sp_size;

/* Failures are printed by the rank that saw them, tagged with it. */
#define SP_FAIL(...)                                   \
    do {                                               \
        fprintf(stderr, "[rank %d] ", sp_rank);        \
        TH_FAIL(__VA_ARGS__);                          \
    } while (0)

static inline int sp_init(int *argc, char ***argv) {
    MPI_Init(argc, argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &sp_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &sp_size);
    ax_context_config cfg = AX_CONTEXT_CONFIG_INIT;
    cfg.num_threads = 1;
    if (ax_context_create(&sp_ctx, &cfg) != AX_OK || ax_comm_create_mpi(&sp_comm, MPI_COMM_WORLD) != AX_OK) {
        fprintf(stderr, "[rank %d] setup failed: %s\n", sp_rank, ax_last_error());
        MPI_Abort(MPI_COMM_WORLD, 2);
        return -1;
    }
    return 0;
}

/* Runs one test on every rank; rank 0 reports it as failed if any rank failed. */
#define SP_RUN(test_fn)                                                                      \
    do {                                                                                     \
        th_current = #test_fn;                                                               \
        int sp_before_ = th_failures, sp_any_ = 0, sp_mine_;                                 \
        test_fn();                                                                           \
        sp_mine_ = th_failures - sp_before_;                                                 \
        MPI_Allreduce(&sp_mine_, &sp_any_, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);             \
        if (sp_rank == 0) printf("%s %s (P = %d)\n", sp_any_ == 0 ? "ok  " : "FAIL", #test_fn, sp_size); \
        fflush(stdout);                                                                      \
    } while (0)

static inline int sp_finish(void) {
    int failures = 0, checks = 0;
    MPI_Allreduce(&th_failures, &failures, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    MPI_Allreduce(&th_checks, &checks, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (sp_rank == 0) printf("%d checks, %d failed (summed over %d ranks)\n", checks, failures, sp_size);
    ax_comm_destroy(sp_comm);
    ax_context_destroy(sp_ctx);
    MPI_Finalize();
    return failures == 0 ? 0 : 1;
}

static inline void sp_shard(int64_t length, int rank, int64_t *offset, int64_t *count) {
    ax_shard_range(length, sp_size, rank, offset, count);
}

/* A view of t restricted to this rank's shard along dim. */
static inline ax_tensor sp_view(const ax_tensor *t, int32_t dim, int64_t offset, int64_t count) {
    ax_tensor v = *t;
    v.data = (char *)t->data + (ptrdiff_t)(offset * t->strides[dim]) * (ptrdiff_t)ax_dtype_size(t->dtype);
    v.shape[dim] = count;
    return v;
}

static inline ax_tensor sp_my_view(const ax_tensor *t, int32_t dim) {
    int64_t off, cnt;
    sp_shard(t->shape[dim], sp_rank, &off, &cnt);
    return sp_view(t, dim, off, cnt);
}

static inline int64_t sp_offset(const ax_tensor *t, const int64_t *idx) {
    int64_t off = 0;
    for (int32_t d = 0; d < t->ndim; d++) off += idx[d] * t->strides[d];
    return off;
}

static inline double sp_get(const ax_tensor *t, const int64_t *idx) {
    const int64_t off = sp_offset(t, idx);
    switch (t->dtype) {
    case AX_F32: return ((const float *)t->data)[off];
    case AX_BF16: return ax_bf16_to_f32(((const uint16_t *)t->data)[off]);
    case AX_F16: return ax_f16_to_f32(((const uint16_t *)t->data)[off]);
    default: return NAN;
    }
}

static inline int sp_next(int64_t *idx, const ax_tensor *t) {
    for (int32_t d = t->ndim - 1; d >= 0; d--) {
        if (++idx[d] < t->shape[d]) return 1;
        idx[d] = 0;
    }
    return 0;
}

static inline int sp_empty(const ax_tensor *t) { return ax_tensor_numel(t) == 0; }

/* Element-wise |got - want| <= rel * |want| + abs_of_max * max|want|. NaN in got always fails.
 * Returns 1 when within; prints the worst element otherwise. */
static inline int sp_compare(const char *what, const ax_tensor *got, const ax_tensor *want, double rel,
                             double abs_of_max) {
    th_checks++;
    if (got->ndim != want->ndim) {
        SP_FAIL("%s: ndim %d vs %d", what, (int)got->ndim, (int)want->ndim);
        return 0;
    }
    for (int32_t d = 0; d < got->ndim; d++)
        if (got->shape[d] != want->shape[d]) {
            SP_FAIL("%s: dim %d is %lld vs %lld", what, (int)d, (long long)got->shape[d], (long long)want->shape[d]);
            return 0;
        }
    if (sp_empty(got)) return 1;
    double max_want = 0;
    int64_t idx[AX_MAX_DIMS] = {0};
    do {
        const double w = fabs(sp_get(want, idx));
        if (w > max_want) max_want = w;
    } while (sp_next(idx, want));
    double worst = -1;
    int64_t worst_idx[AX_MAX_DIMS] = {0};
    int bad = 0;
    memset(idx, 0, sizeof idx);
    do {
        const double g = sp_get(got, idx), w = sp_get(want, idx);
        const double err = fabs(g - w), tol = rel * fabs(w) + abs_of_max * max_want;
        if (!(err <= tol)) {
            bad++;
            if (!(err <= worst)) {
                worst = isnan(err) ? INFINITY : err;
                memcpy(worst_idx, idx, sizeof idx);
            }
        }
    } while (sp_next(idx, got));
    if (bad > 0) {
        char where[128];
        int used = 0;
        for (int32_t d = 0; d < got->ndim && used < (int)sizeof where - 24; d++)
            used += snprintf(where + used, sizeof where - (size_t)used, "%s%lld", d ? "," : "", (long long)worst_idx[d]);
        SP_FAIL("%s: %d elements out of tolerance; worst at (%s): got %.9g, want %.9g (max|want| %.3g)", what, bad,
                where, sp_get(got, worst_idx), sp_get(want, worst_idx), max_want);
        return 0;
    }
    return 1;
}

/* Tolerances for results that went through different summation orders (fp32 accumulate, one rounding). */
static inline double sp_rel(ax_dtype dtype) {
    return dtype == AX_BF16 ? 1.0 / 128 : dtype == AX_F16 ? 1.0 / 1024 : 1e-5;
}

/* 1 when every element of t is NaN (outputs untouched after a rejected call). */
static inline int sp_all_nan(const ax_tensor *t) {
    if (sp_empty(t)) return 1;
    int64_t idx[AX_MAX_DIMS] = {0};
    do
        if (!isnan(sp_get(t, idx))) return 0;
    while (sp_next(idx, t));
    return 1;
}

/* A global Evoformer attention problem, identical on every rank (same seed), with the single-rank
 * op's forward and backward results: the reference the distributed modes are judged against. */
typedef struct sp_problem {
    test_tensor q, k, v, mask, pair, out, lse, dout, dq, dk, dv, dmask, dpair;
    int has_mask, has_pair;
} sp_problem;

/* Activations (B, N, S, H, D) `act` in `dtype` and `layout`, biases of the given shapes in
 * `bias_dtype` (used when has_*), fresh uniform values from `seed`; `prepare` (may be NULL) rewrites
 * q, k, v, dout before the reference runs. */
static inline void sp_problem_build(sp_problem *p, const int64_t act[5], const int64_t mask_shape[5],
                                    const int64_t pair_shape[5], ax_dtype dtype, ax_dtype bias_dtype,
                                    test_layout layout, int has_mask, int has_pair, uint64_t seed,
                                    void (*prepare)(test_tensor *, test_tensor *, test_tensor *, test_tensor *)) {
    const int64_t lse_shape[4] = {act[0], act[1], act[3], act[2]};
    p->has_mask = has_mask;
    p->has_pair = has_pair;
    tt_seed(seed);
    tt_alloc(&p->q, dtype, 5, act, layout);
    tt_alloc(&p->k, dtype, 5, act, layout);
    tt_alloc(&p->v, dtype, 5, act, layout);
    tt_alloc(&p->dout, dtype, 5, act, layout);
    tt_fill_uniform(&p->q, -1.5, 1.5);
    tt_fill_uniform(&p->k, -1.5, 1.5);
    tt_fill_uniform(&p->v, -1.0, 1.0);
    tt_fill_uniform(&p->dout, -1.0, 1.0);
    if (prepare != NULL) prepare(&p->q, &p->k, &p->v, &p->dout);
    tt_alloc(&p->mask, bias_dtype, 5, mask_shape, layout);
    tt_alloc(&p->pair, bias_dtype, 5, pair_shape, layout);
    tt_fill_uniform(&p->mask, -1.0, 1.0);
    tt_fill_uniform(&p->pair, -1.0, 1.0);
    tt_alloc(&p->out, dtype, 5, act, LAYOUT_CONTIGUOUS);
    tt_alloc(&p->lse, AX_F32, 4, lse_shape, LAYOUT_CONTIGUOUS);
    tt_alloc(&p->dq, dtype, 5, act, LAYOUT_CONTIGUOUS);
    tt_alloc(&p->dk, dtype, 5, act, LAYOUT_CONTIGUOUS);
    tt_alloc(&p->dv, dtype, 5, act, LAYOUT_CONTIGUOUS);
    tt_alloc(&p->dmask, bias_dtype, 5, mask_shape, LAYOUT_CONTIGUOUS);
    tt_alloc(&p->dpair, bias_dtype, 5, pair_shape, LAYOUT_CONTIGUOUS);
    const ax_tensor *m = has_mask ? &p->mask.t : NULL, *b = has_pair ? &p->pair.t : NULL;
    CHECK_OK(ax_evoformer_attention_forward(sp_ctx, &p->q.t, &p->k.t, &p->v.t, m, b, &p->out.t, &p->lse.t));
    CHECK_OK(ax_evoformer_attention_backward(sp_ctx, &p->q.t, &p->k.t, &p->v.t, m, b, &p->out.t, &p->lse.t,
                                             &p->dout.t, &p->dq.t, &p->dk.t, &p->dv.t, has_mask ? &p->dmask.t : NULL,
                                             has_pair ? &p->dpair.t : NULL));
}

static inline void sp_problem_free(sp_problem *p) {
    test_tensor *all[] = {&p->q,   &p->k,  &p->v,  &p->mask, &p->pair,  &p->out,  &p->lse,
                          &p->dout, &p->dq, &p->dk, &p->dv,   &p->dmask, &p->dpair};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) tt_free(all[i]);
}

#endif /* AXIAL_TESTS_SEQPAR_TEST_UTIL_H */
