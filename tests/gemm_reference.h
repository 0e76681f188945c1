/*
 * gemm_reference.h — host matrices for the GEMM tests and the float64 reference they are checked
 * against. Header-only (static inline functions), shared by test_gemm.c (CPU) and test_gemm_cuda.c.
 *
 * A test matrix owns a buffer covering every in-bounds offset of its tensor, gaps included. The whole
 * buffer is filled, so a gap (an offset no in-bounds element maps to) of an output holds a known
 * value, and gm_check verifies that ax_gemm left every gap alone.
 *
 * The reference sums in float64 from the stored (already rounded) inputs. The bound an element must
 * meet is that of fp32 accumulation of K products plus the alpha/beta update, then one rounding to
 * c's dtype:
 *     |got - ref| <= (K + 3) * u32 * (|alpha| * sum_k |a_ik * b_kj| + |beta * c_ij|) + u_out * |ref| + tiny
 * with u32 = 2^-24 and u_out the unit roundoff of c's dtype (2^-24, 2^-8 for bf16, 2^-11 for f16).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_TESTS_GEMM_REFERENCE_H
#define AXIAL_TESTS_GEMM_REFERENCE_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "axial/linalg.h"
#include "harness.h"

typedef struct gm {
    ax_tensor t;
    int64_t span; /* elements in the buffer: largest in-bounds offset + 1 (at least 1) */
} gm;

static inline size_t gm_esize(ax_dtype dt) { return dt == AX_F32 ? 4 : 2; }

/* The dtype's value nearest to x (for storing reference inputs). */
static inline double gm_round(double x, ax_dtype dt) {
    if (dt == AX_BF16) return ax_bf16_to_f32(ax_f32_to_bf16((float)x));
    if (dt == AX_F16) return ax_f16_to_f32(ax_f32_to_f16((float)x));
    return (float)x;
}

static inline double gm_load(const ax_tensor *t, int64_t offset) {
    if (t->dtype == AX_F32) return ((const float *)t->data)[offset];
    const uint16_t bits = ((const uint16_t *)t->data)[offset];
    return t->dtype == AX_BF16 ? ax_bf16_to_f32(bits) : ax_f16_to_f32(bits);
}

static inline void gm_store(ax_tensor *t, int64_t offset, double x) {
    if (t->dtype == AX_F32)
        ((float *)t->data)[offset] = (float)x;
    else if (t->dtype == AX_BF16)
        ((uint16_t *)t->data)[offset] = ax_f32_to_bf16((float)x);
    else
        ((uint16_t *)t->data)[offset] = ax_f32_to_f16((float)x);
}

/* Offset of element (p, i, j); p is ignored for a 2-D tensor and taken as 0 for a batch of 1. */
static inline int64_t gm_offset(const ax_tensor *t, int64_t p, int64_t i, int64_t j) {
    const int32_t nd = t->ndim;
    int64_t off = i * t->strides[nd - 2] + j * t->strides[nd - 1];
    if (nd == 3 && t->shape[0] > 1) off += p * t->strides[0];
    return off;
}

/* A matrix of `dtype` with the given shape and strides (NULL: row-major contiguous), its whole
 * buffer filled with uniform values in [-1, 1) rounded to the dtype. */
static inline gm gm_make(ax_dtype dtype, int32_t ndim, const int64_t *shape, const int64_t *strides) {
    gm m;
    memset(&m, 0, sizeof m);
    if (ax_tensor_contiguous(&m.t, NULL, dtype, ndim, shape) != AX_OK) {
        fprintf(stderr, "FATAL: gm_make: %s\n", ax_last_error());
        exit(1);
    }
    if (strides != NULL)
        for (int32_t d = 0; d < ndim; d++) m.t.strides[d] = strides[d];
    m.span = 1;
    int empty = 0;
    for (int32_t d = 0; d < ndim; d++) {
        if (shape[d] == 0) empty = 1;
        if (shape[d] > 0) m.span += (shape[d] - 1) * m.t.strides[d];
    }
    if (empty) m.span = 1;
    m.t.data = malloc((size_t)m.span * gm_esize(dtype));
    if (m.t.data == NULL) {
        fprintf(stderr, "FATAL: gm_make: out of memory\n");
        exit(1);
    }
    for (int64_t e = 0; e < m.span; e++) gm_store(&m.t, e, gm_round(th_uniform(-1.0, 1.0), dtype));
    return m;
}

static inline gm gm_make2(ax_dtype dtype, int64_t rows, int64_t cols) {
    const int64_t shape[2] = {rows, cols};
    return gm_make(dtype, 2, shape, NULL);
}

static inline void gm_fill(gm *m, double value) {
    for (int64_t e = 0; e < m->span; e++) gm_store(&m->t, e, value);
}

/* A copy of the buffer's bytes (to compare against after a call). */
static inline void *gm_snapshot(const gm *m) {
    const size_t bytes = (size_t)m->span * gm_esize(m->t.dtype);
    void *copy = malloc(bytes);
    if (copy == NULL) {
        fprintf(stderr, "FATAL: gm_snapshot: out of memory\n");
        exit(1);
    }
    memcpy(copy, m->t.data, bytes);
    return copy;
}

static inline int gm_unchanged(const gm *m, const void *snapshot) {
    return memcmp(m->t.data, snapshot, (size_t)m->span * gm_esize(m->t.dtype)) == 0;
}

static inline void gm_free(gm *m) {
    free(m->t.data);
    m->t.data = NULL;
}

static inline double gm_unit_roundoff(ax_dtype dt) {
    return dt == AX_BF16 ? ldexp(1.0, -8) : dt == AX_F16 ? ldexp(1.0, -11) : ldexp(1.0, -24);
}

/* Checks c (after the call) against the float64 reference computed from a, b and c_before (c's
 * buffer before the call), and that every gap of c's buffer still holds its old bytes. Counts one
 * check; on failure names the worst element and `what`. Returns 1 when it passed. */
static inline int gm_check(const char *what, ax_transpose ta, ax_transpose tb, double alpha, const gm *a, const gm *b,
                    double beta, const gm *c, const void *c_before) {
    th_checks++;
    const ax_tensor *A = &a->t, *B = &b->t, *C = &c->t;
    const int32_t cn = C->ndim;
    const int64_t P = cn == 3 ? C->shape[0] : 1, M = C->shape[cn - 2], N = C->shape[cn - 1];
    const int64_t K = ta == AX_TRANS ? A->shape[A->ndim - 2] : A->shape[A->ndim - 1];
    ax_tensor before = *C;
    before.data = (void *)c_before;
    const size_t es = gm_esize(C->dtype);
    unsigned char *covered = calloc((size_t)c->span, 1);
    if (covered == NULL) {
        fprintf(stderr, "FATAL: gm_check: out of memory\n");
        exit(1);
    }
    const double u32 = ldexp(1.0, -24), u_out = gm_unit_roundoff(C->dtype);
    const double tiny = C->dtype == AX_F16 ? ldexp(1.0, -24) : 1e-37;
    double worst_ratio = 0.0, worst_got = 0.0, worst_ref = 0.0, worst_bound = 0.0;
    int64_t worst_p = -1, worst_i = -1, worst_j = -1, bad = 0;
    for (int64_t p = 0; p < P; p++)
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                double acc = 0.0, abs_acc = 0.0;
                if (alpha != 0.0)
                    for (int64_t k = 0; k < K; k++) {
                        const double x = gm_load(A, ta == AX_TRANS ? gm_offset(A, p, k, i) : gm_offset(A, p, i, k));
                        const double y = gm_load(B, tb == AX_TRANS ? gm_offset(B, p, j, k) : gm_offset(B, p, k, j));
                        acc += x * y;
                        abs_acc += fabs(x * y);
                    }
                const int64_t off = gm_offset(C, p, i, j);
                covered[off] = 1;
                const double old = beta != 0.0 ? gm_load(&before, off) : 0.0;
                const double ref = alpha * acc + beta * old;
                const double bound = (double)(K + 3) * u32 * (fabs(alpha) * abs_acc + fabs(beta * old)) +
                                     u_out * fabs(ref) + tiny;
                const double got = gm_load(C, off);
                const double err = fabs(got - ref);
                if (!(err <= bound)) { /* NaN fails too */
                    bad++;
                    const double ratio = isnan(err) ? INFINITY : err / bound;
                    if (worst_p < 0 || ratio > worst_ratio) {
                        worst_ratio = ratio;
                        worst_got = got;
                        worst_ref = ref;
                        worst_bound = bound;
                        worst_p = p;
                        worst_i = i;
                        worst_j = j;
                    }
                }
            }
    int64_t gaps_changed = 0, first_gap = -1;
    for (int64_t e = 0; e < c->span; e++)
        if (!covered[e] && memcmp((const char *)C->data + e * es, (const char *)c_before + e * es, es) != 0) {
            if (first_gap < 0) first_gap = e;
            gaps_changed++;
        }
    free(covered);
    if (bad > 0)
        TH_FAIL("%s: %lld of %lld elements off; worst c[%lld, %lld, %lld] = %.9g, reference %.9g, bound %.3g", what,
                (long long)bad, (long long)(P * M * N), (long long)worst_p, (long long)worst_i, (long long)worst_j,
                worst_got, worst_ref, worst_bound);
    if (gaps_changed > 0)
        TH_FAIL("%s: %lld elements of c's buffer outside the tensor were written (first at offset %lld)", what,
                (long long)gaps_changed, (long long)first_gap);
    return bad == 0 && gaps_changed == 0;
}

#endif /* AXIAL_TESTS_GEMM_REFERENCE_H */
