/*
 * seqpar_test_util.h — shared pieces of the MPI tests of sequence parallelism: start-up (MPI, one
 * communicator, a one-thread context), a runner that sums failures over the ranks, element access on
 * any ax_tensor, views, comparisons, and a global attention problem (random, or with a mask from
 * mask_forms.h) with its single-rank and float64 results. Header-only, like harness.h.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_TESTS_SEQPAR_TEST_UTIL_H
#define AXIAL_TESTS_SEQPAR_TEST_UTIL_H

#include <mpi.h>

#include "axial/seqpar.h"
#include "evoformer_reference.h"
#include "harness.h"
#include "mask_forms.h"

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
 * q, k, v, dout. The outputs are allocated but not computed: sp_problem_solve does that. */
static inline void sp_problem_inputs(sp_problem *p, const int64_t act[5], const int64_t mask_shape[5],
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
}

/* Rewrites bias_mask with the values of `form` over mask_forms.h's pattern of kept keys: row n = N_mask
 * - 1 of batch 0 is padded (every key masked), N_mask being the mask's dim 1; a mask shared by all
 * rows (N_mask = 1) thus pads every row of batch 0. Call before sp_problem_solve. */
static inline void sp_problem_set_mask_form(sp_problem *p, mask_form form) {
    const ax_tensor *m = &p->mask.t;
    int64_t idx[5] = {0, 0, 0, 0, 0};
    for (idx[0] = 0; idx[0] < m->shape[0]; idx[0]++)
        for (idx[1] = 0; idx[1] < m->shape[1]; idx[1]++)
            for (idx[4] = 0; idx[4] < m->shape[4]; idx[4]++)
                tt_set(&p->mask, idx, mask_form_value(form, mask_keep(idx[0], idx[1], idx[4], m->shape[1])));
}

/* FNV-1a over the bytes of a test tensor's storage (padding included: calloc'd, so deterministic). */
static inline uint64_t sp_hash_storage(uint64_t h, const test_tensor *t) {
    const unsigned char *bytes = (const unsigned char *)t->storage;
    const size_t n = (size_t)t->storage_elems * ax_dtype_size(t->t.dtype);
    for (size_t i = 0; i < n; i++) h = (h ^ bytes[i]) * 0x100000001b3ull;
    return h;
}

/* The single-rank op's forward and backward on p's inputs, after checking that every rank built the
 * same inputs (the distributed ops take their shards of them, so a rank that drew other values would
 * make the comparison meaningless). */
static inline void sp_problem_solve(sp_problem *p) {
    const test_tensor *inputs[] = {&p->q, &p->k, &p->v, &p->dout, &p->mask, &p->pair};
    uint64_t h = 0xcbf29ce484222325ull, lowest = 0, highest = 0;
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) h = sp_hash_storage(h, inputs[i]);
    MPI_Allreduce(&h, &lowest, 1, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(&h, &highest, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
    th_checks++;
    if (lowest != highest)
        SP_FAIL("the ranks built different global problems (this rank's input hash %016llx)", (unsigned long long)h);
    const ax_tensor *m = p->has_mask ? &p->mask.t : NULL, *b = p->has_pair ? &p->pair.t : NULL;
    CHECK_OK(ax_evoformer_attention_forward(sp_ctx, &p->q.t, &p->k.t, &p->v.t, m, b, &p->out.t, &p->lse.t));
    CHECK_OK(ax_evoformer_attention_backward(sp_ctx, &p->q.t, &p->k.t, &p->v.t, m, b, &p->out.t, &p->lse.t,
                                             &p->dout.t, &p->dq.t, &p->dk.t, &p->dv.t,
                                             p->has_mask ? &p->dmask.t : NULL, p->has_pair ? &p->dpair.t : NULL));
}

static inline void sp_problem_free(sp_problem *p) {
    test_tensor *all[] = {&p->q,   &p->k,  &p->v,  &p->mask, &p->pair,  &p->out,  &p->lse,
                          &p->dout, &p->dq, &p->dk, &p->dv,   &p->dmask, &p->dpair};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) tt_free(all[i]);
}

/* The float64 reference (evoformer_reference.h) of a global problem: the forward of its inputs, and
 * the backward given the single-rank op's out (the out the distributed backwards are given, which
 * delta = rowsum(dout * out) reads), with dq, dk and dv's term magnitudes (ref_backward_magnitudes)
 * in mag. dmask, dpair stay zero when the problem has no such bias. */
typedef struct sp_reference {
    ref_tensor out, lse, dq, dk, dv, dmask, dpair;
    ref_tensor mag[3];
} sp_reference;

static inline void sp_reference_build(sp_reference *r, const sp_problem *p) {
    ref_tensor q, k, v, mask, pair, op_out, dout;
    ref_from_tt(&q, &p->q);
    ref_from_tt(&k, &p->k);
    ref_from_tt(&v, &p->v);
    ref_from_tt(&mask, &p->mask);
    ref_from_tt(&pair, &p->pair);
    ref_from_tt(&op_out, &p->out);
    ref_from_tt(&dout, &p->dout);
    ref_alloc(&r->out, 5, p->q.t.shape);
    ref_alloc(&r->lse, 4, p->lse.t.shape);
    ref_alloc(&r->dq, 5, p->q.t.shape);
    ref_alloc(&r->dk, 5, p->q.t.shape);
    ref_alloc(&r->dv, 5, p->q.t.shape);
    ref_alloc(&r->dmask, 5, p->mask.t.shape);
    ref_alloc(&r->dpair, 5, p->pair.t.shape);
    for (int t = 0; t < 3; t++) ref_alloc(&r->mag[t], 5, p->q.t.shape);
    const ref_tensor *m = p->has_mask ? &mask : NULL, *b = p->has_pair ? &pair : NULL;
    ref_forward(&q, &k, &v, m, b, &r->out, &r->lse);
    ref_backward_magnitudes(&q, &k, &v, m, b, &op_out, &dout, &r->dq, &r->dk, &r->dv, p->has_mask ? &r->dmask : NULL,
                            p->has_pair ? &r->dpair : NULL, &r->mag[0], &r->mag[1], &r->mag[2]);
    ref_tensor *temporaries[] = {&q, &k, &v, &mask, &pair, &op_out, &dout};
    for (size_t i = 0; i < sizeof temporaries / sizeof temporaries[0]; i++) ref_free(temporaries[i]);
}

static inline void sp_reference_free(sp_reference *r) {
    ref_tensor *all[] = {&r->out,   &r->lse,    &r->dq,     &r->dk,    &r->dv,
                         &r->dmask, &r->dpair, &r->mag[0], &r->mag[1], &r->mag[2]};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) ref_free(all[i]);
}

/* This rank's shard along `dim` of a reference tensor (all of it when dim < 0), as a reference
 * tensor of its own. */
static inline void sp_ref_my_shard(ref_tensor *shard, const ref_tensor *full, int32_t dim) {
    int64_t shape[5], offset = 0, count = 0;
    for (int32_t d = 0; d < full->ndim; d++) shape[d] = full->shape[d];
    if (dim >= 0) {
        sp_shard(full->shape[dim], sp_rank, &offset, &count);
        shape[dim] = count;
    }
    ref_alloc(shard, full->ndim, shape);
    const int64_t n = ref_numel(shard);
    int64_t idx[5] = {0, 0, 0, 0, 0};
    for (int64_t i = 0; i < n; i++) {
        int64_t flat = 0;
        for (int32_t d = 0; d < full->ndim; d++) flat = flat * full->shape[d] + idx[d] + (d == dim ? offset : 0);
        shard->v[i] = full->v[flat];
        for (int32_t d = full->ndim - 1; d >= 0 && ++idx[d] == shape[d]; d--) idx[d] = 0;
    }
}

/* A distributed output against this rank's shard (along `dim`; all of it when dim < 0) of a float64
 * reference, with compare_to_ref_mag's tolerance (mag_full: the reference's term magnitudes, or NULL). */
static inline int sp_compare_ref_mag(const char *what, const test_tensor *got, const ref_tensor *full, int32_t dim,
                                     double rtol_f32, const ref_tensor *mag_full) {
    ref_tensor mine, mag;
    sp_ref_my_shard(&mine, full, dim);
    if (mag_full != NULL) sp_ref_my_shard(&mag, mag_full, dim);
    th_checks++;
    const int ok = compare_to_ref_mag(what, got, &mine, rtol_f32, mag_full != NULL ? &mag : NULL);
    if (!ok) fprintf(stderr, "     [rank %d] saw the failure above\n", sp_rank);
    ref_free(&mine);
    if (mag_full != NULL) ref_free(&mag);
    return ok;
}

static inline int sp_compare_ref(const char *what, const test_tensor *got, const ref_tensor *full, int32_t dim,
                                 double rtol_f32) {
    return sp_compare_ref_mag(what, got, full, dim, rtol_f32, NULL);
}

/* A distributed lse (B, N, H, S) against this rank's shard along `dim` of `want_full`, element by
 * element: an infinite want (a row whose every key is -inf) must be matched exactly, a finite one
 * within 2e-5 (1 + |want|) + 1e-7 |want| (an lse near -1e9, 1e9 or -3e38 is checkable only to its
 * fp32 rounding; a largest-|lse| scale would wave every other row through). */
static inline int sp_compare_lse(const char *what, const ax_tensor *got, const ref_tensor *want_full, int32_t dim) {
    ref_tensor want;
    sp_ref_my_shard(&want, want_full, dim);
    th_checks++;
    int64_t idx[4] = {0, 0, 0, 0}, bad = 0, first = -1;
    double first_got = 0;
    const int64_t n = ref_numel(&want);
    for (int64_t i = 0; i < n; i++) {
        const double w = want.v[i], g = sp_get(got, idx);
        const int ok = isinf(w) ? g == w : fabs(g - w) <= 2e-5 * (1.0 + fabs(w)) + 1e-7 * fabs(w);
        if (!ok && first < 0) {
            first = i;
            first_got = g;
        }
        bad += !ok;
        for (int d = 3; d >= 0 && ++idx[d] == want.shape[d]; d--) idx[d] = 0;
    }
    if (bad > 0)
        SP_FAIL("%s: %lld rows off; first at flat index %lld of this rank's shard: got %.9g, want %.9g", what,
                (long long)bad, (long long)first, first_got, want.v[first]);
    ref_free(&want);
    return bad == 0;
}

#endif /* AXIAL_TESTS_SEQPAR_TEST_UTIL_H */
