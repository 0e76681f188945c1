/*
 * evoformer_reference.h — test-side tools for Evoformer attention: tensors with owned storage in any
 * dtype and layout, and a naive double-precision reference of the forward and backward passes that
 * materialises the logits (written for clarity, not speed, and independent of the library's kernels).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_TESTS_EVOFORMER_REFERENCE_H
#define AXIAL_TESTS_EVOFORMER_REFERENCE_H

#include "axial/evoformer.h"

/* A test tensor: an ax_tensor plus the storage behind it. Layouts: contiguous, or "strided": dims
 * permuted in memory and padded, so no stride is the contiguous one. */
typedef struct test_tensor {
    ax_tensor t;
    void *storage;
    int64_t storage_elems;
} test_tensor;

typedef enum test_layout { LAYOUT_CONTIGUOUS = 0, LAYOUT_STRIDED = 1 } test_layout;

int tt_alloc(test_tensor *tt, ax_dtype dtype, int32_t ndim, const int64_t *shape, test_layout layout);
void tt_free(test_tensor *tt);
double tt_get(const test_tensor *tt, const int64_t *idx);
void tt_set(test_tensor *tt, const int64_t *idx, double value); /* rounds to the dtype */
/* Seeds the generator tt_fill_uniform uses (harness.h's state is per translation unit). */
void tt_seed(uint64_t seed);
/* Fills every in-bounds element with uniform values in [lo, hi) (rounded to the dtype). */
void tt_fill_uniform(test_tensor *tt, double lo, double hi);
/* Sets every byte of the storage (0xFF gives NaN in every float dtype). */
void tt_poison(test_tensor *tt);

/* A double-precision copy of a (B, N, S, H, D)-style tensor, in plain row-major order. */
typedef struct ref_tensor {
    int32_t ndim;
    int64_t shape[5];
    double *v;
} ref_tensor;

int ref_alloc(ref_tensor *r, int32_t ndim, const int64_t *shape);
void ref_free(ref_tensor *r);
int64_t ref_numel(const ref_tensor *r);
/* Copies a test tensor's values (as stored, i.e. already rounded) into a reference tensor. */
int ref_from_tt(ref_tensor *r, const test_tensor *tt);

/* Forward: out (B,N,S,H,D), lse (B,N,H,S). bias_mask / bias_pair may be NULL; shapes broadcast. */
void ref_forward(const ref_tensor *q, const ref_tensor *k, const ref_tensor *v, const ref_tensor *bias_mask,
                 const ref_tensor *bias_pair, ref_tensor *out, ref_tensor *lse);

/* Backward, given the out tensor the op will see (delta = rowsum(dout * out)). dbias_* (when non-NULL)
 * have the shapes of their biases and receive the gradient summed over broadcast dims. */
void ref_backward(const ref_tensor *q, const ref_tensor *k, const ref_tensor *v, const ref_tensor *bias_mask,
                  const ref_tensor *bias_pair, const ref_tensor *out, const ref_tensor *dout, ref_tensor *dq,
                  ref_tensor *dk, ref_tensor *dv, ref_tensor *dbias_mask, ref_tensor *dbias_pair);
/* ref_backward, and per element of dq, dk and dv the sum of each one's terms' magnitudes: scale sum_j
 * |dS_ij| |k_j|, scale sum_i |dS_ij| |q_i|, sum_i p_ij |dout_i| (a kernel that rounds p and dS to a
 * format of unit roundoff u errs by at most u times these). */
void ref_backward_magnitudes(const ref_tensor *q, const ref_tensor *k, const ref_tensor *v,
                             const ref_tensor *bias_mask, const ref_tensor *bias_pair, const ref_tensor *out,
                             const ref_tensor *dout, ref_tensor *dq, ref_tensor *dk, ref_tensor *dv,
                             ref_tensor *dbias_mask, ref_tensor *dbias_pair, ref_tensor *mag_dq, ref_tensor *mag_dk,
                             ref_tensor *mag_dv);

/* Compares a library output with the reference. Tolerance: fp32 outputs within rtol_f32 * max|ref|
 * (max|ref| floored at 1e-2); 16-bit outputs within twice the error of merely rounding the reference
 * to that dtype (the best any implementation storing that dtype can do) plus 1e-5 * max|ref| (floored
 * at 1e-1). Prints the worst element on
 * failure; returns 1 when within tolerance. */
int compare_to_ref(const char *what, const test_tensor *got, const ref_tensor *want, double rtol_f32);
/* compare_to_ref, and for bf16 outputs of kernels that round p and dS to bf16 (the avx512 path with
 * AVX512-BF16) an extra 2^-8 (1 + 2^-8) mag[i] per element; mag from ref_backward_magnitudes, or
 * NULL (then the same as compare_to_ref). */
int compare_to_ref_mag(const char *what, const test_tensor *got, const ref_tensor *want, double rtol_f32,
                       const ref_tensor *mag);

#endif /* AXIAL_TESTS_EVOFORMER_REFERENCE_H */
