/*
 * evoformer_reference.c — see evoformer_reference.h.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "evoformer_reference.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

int tt_alloc(test_tensor *tt, ax_dtype dtype, int32_t ndim, const int64_t *shape, test_layout layout) {
    memset(tt, 0, sizeof *tt);
    int64_t strides[AX_MAX_DIMS];
    int64_t total = 1;
    if (layout == LAYOUT_CONTIGUOUS) {
        for (int32_t d = ndim - 1; d >= 0; d--) {
            strides[d] = total;
            total *= shape[d];
        }
    } else {
        /* Reverse the dimension order in memory (the last dim becomes the outermost) and pad every
         * dim by 3 elements: the last dim's stride is not 1 and no stride equals the contiguous one. */
        for (int32_t d = 0; d < ndim; d++) {
            strides[d] = total;
            total *= shape[d] + 3;
        }
    }
    if (total == 0) total = 1;
    const size_t es = ax_dtype_size(dtype);
    tt->storage = calloc((size_t)total, es);
    if (tt->storage == NULL) return -1;
    tt->storage_elems = total;
    tt->t.data = tt->storage;
    tt->t.dtype = dtype;
    tt->t.device.type = AX_CPU;
    tt->t.device.id = 0;
    tt->t.ndim = ndim;
    for (int32_t d = 0; d < ndim; d++) {
        tt->t.shape[d] = shape[d];
        tt->t.strides[d] = strides[d];
    }
    return 0;
}

void tt_free(test_tensor *tt) {
    free(tt->storage);
    tt->storage = NULL;
}

static int64_t tt_offset(const test_tensor *tt, const int64_t *idx) {
    int64_t off = 0;
    for (int32_t d = 0; d < tt->t.ndim; d++) off += idx[d] * tt->t.strides[d];
    return off;
}

double tt_get(const test_tensor *tt, const int64_t *idx) {
    const int64_t off = tt_offset(tt, idx);
    switch (tt->t.dtype) {
    case AX_F32: return ((const float *)tt->t.data)[off];
    case AX_BF16: return ax_bf16_to_f32(((const uint16_t *)tt->t.data)[off]);
    case AX_F16: return ax_f16_to_f32(((const uint16_t *)tt->t.data)[off]);
    case AX_F64: return ((const double *)tt->t.data)[off];
    default: return NAN;
    }
}

void tt_set(test_tensor *tt, const int64_t *idx, double value) {
    const int64_t off = tt_offset(tt, idx);
    switch (tt->t.dtype) {
    case AX_F32: ((float *)tt->t.data)[off] = (float)value; break;
    case AX_BF16: ((uint16_t *)tt->t.data)[off] = ax_f32_to_bf16((float)value); break;
    case AX_F16: ((uint16_t *)tt->t.data)[off] = ax_f32_to_f16((float)value); break;
    case AX_F64: ((double *)tt->t.data)[off] = value; break;
    default: break;
    }
}

/* Walks every in-bounds index of a tensor in row-major order; returns 0 after the last. */
static int next_index(int64_t *idx, const int64_t *shape, int32_t ndim) {
    for (int32_t d = ndim - 1; d >= 0; d--) {
        if (++idx[d] < shape[d]) return 1;
        idx[d] = 0;
    }
    return 0;
}

static int tt_empty(const test_tensor *tt) {
    for (int32_t d = 0; d < tt->t.ndim; d++)
        if (tt->t.shape[d] == 0) return 1;
    return 0;
}

void tt_seed(uint64_t seed) { th_seed(seed); }

void tt_fill_uniform(test_tensor *tt, double lo, double hi) {
    if (tt_empty(tt)) return;
    int64_t idx[AX_MAX_DIMS] = {0};
    do tt_set(tt, idx, th_uniform(lo, hi));
    while (next_index(idx, tt->t.shape, tt->t.ndim));
}

void tt_poison(test_tensor *tt) { memset(tt->storage, 0xff, (size_t)tt->storage_elems * ax_dtype_size(tt->t.dtype)); }

int ref_alloc(ref_tensor *r, int32_t ndim, const int64_t *shape) {
    r->ndim = ndim;
    int64_t n = 1;
    for (int32_t d = 0; d < ndim; d++) {
        r->shape[d] = shape[d];
        n *= shape[d];
    }
    r->v = calloc((size_t)(n > 0 ? n : 1), sizeof(double));
    return r->v == NULL ? -1 : 0;
}

void ref_free(ref_tensor *r) {
    free(r->v);
    r->v = NULL;
}

int64_t ref_numel(const ref_tensor *r) {
    int64_t n = 1;
    for (int32_t d = 0; d < r->ndim; d++) n *= r->shape[d];
    return n;
}

int ref_from_tt(ref_tensor *r, const test_tensor *tt) {
    if (ref_alloc(r, tt->t.ndim, tt->t.shape) != 0) return -1;
    if (tt_empty(tt)) return 0;
    int64_t idx[AX_MAX_DIMS] = {0};
    int64_t i = 0;
    do r->v[i++] = tt_get(tt, idx);
    while (next_index(idx, tt->t.shape, tt->t.ndim));
    return 0;
}

/* Row-major offsets with broadcasting: an index is taken modulo nothing, but a size-1 dim reads 0. */
static int64_t at5(const ref_tensor *r, int64_t i0, int64_t i1, int64_t i2, int64_t i3, int64_t i4) {
    const int64_t idx[5] = {i0, i1, i2, i3, i4};
    int64_t off = 0;
    for (int d = 0; d < 5; d++) off = off * r->shape[d] + (r->shape[d] == 1 ? 0 : idx[d]);
    return off;
}

static int64_t at4(const ref_tensor *r, int64_t i0, int64_t i1, int64_t i2, int64_t i3) {
    return ((i0 * r->shape[1] + i1) * r->shape[2] + i2) * r->shape[3] + i3;
}

/* The largest value of the (b, n) row of the mask, or 0 when that is not finite (no mask, all -inf).
 * Softmax does not change when a row's logits all move by one constant, so subtracting it is exact
 * math; it keeps q.k from vanishing next to a huge mask even in double (-3e38 + q.k is -3e38 in any
 * float format), so the reference is the true function for every finite mask. */
static double mask_row_max(const ref_tensor *bias_mask, int64_t b, int64_t n, int64_t S) {
    if (bias_mask == NULL) return 0.0;
    double mx = -INFINITY;
    for (int64_t j = 0; j < S; j++) {
        const double x = bias_mask->v[at5(bias_mask, b, n, 0, 0, j)];
        if (x > mx) mx = x;
    }
    return isfinite(mx) ? mx : 0.0;
}

/* The probabilities of one (b, n, h) head, S x S, and the row log-sum-exps. */
static void head_probs(const ref_tensor *q, const ref_tensor *k, const ref_tensor *bias_mask,
                       const ref_tensor *bias_pair, int64_t b, int64_t n, int64_t h, double *prob, double *lse) {
    const int64_t S = q->shape[2], D = q->shape[4];
    const double scale = 1.0 / sqrt((double)D);
    const double shift = mask_row_max(bias_mask, b, n, S);
    for (int64_t i = 0; i < S; i++) {
        double *row = prob + i * S;
        double mx = -INFINITY;
        for (int64_t j = 0; j < S; j++) {
            double dot = 0.0;
            for (int64_t d = 0; d < D; d++) dot += q->v[at5(q, b, n, i, h, d)] * k->v[at5(k, b, n, j, h, d)];
            double logit = dot * scale;
            if (bias_mask) logit += bias_mask->v[at5(bias_mask, b, n, 0, 0, j)] - shift;
            if (bias_pair) logit += bias_pair->v[at5(bias_pair, b, 0, h, i, j)];
            row[j] = logit;
            if (logit > mx) mx = logit;
        }
        if (mx == -INFINITY) { /* fully masked row */
            for (int64_t j = 0; j < S; j++) row[j] = 0.0;
            lse[i] = -INFINITY;
            continue;
        }
        double sum = 0.0;
        for (int64_t j = 0; j < S; j++) sum += exp(row[j] - mx);
        for (int64_t j = 0; j < S; j++) row[j] = exp(row[j] - mx) / sum;
        lse[i] = mx + log(sum) + shift;
    }
}

void ref_forward(const ref_tensor *q, const ref_tensor *k, const ref_tensor *v, const ref_tensor *bias_mask,
                 const ref_tensor *bias_pair, ref_tensor *out, ref_tensor *lse) {
    const int64_t B = q->shape[0], N = q->shape[1], S = q->shape[2], H = q->shape[3], D = q->shape[4];
    double *prob = malloc((size_t)(S * S > 0 ? S * S : 1) * sizeof(double));
    double *row_lse = malloc((size_t)(S > 0 ? S : 1) * sizeof(double));
    for (int64_t b = 0; b < B; b++)
        for (int64_t n = 0; n < N; n++)
            for (int64_t h = 0; h < H; h++) {
                head_probs(q, k, bias_mask, bias_pair, b, n, h, prob, row_lse);
                for (int64_t i = 0; i < S; i++) {
                    for (int64_t d = 0; d < D; d++) {
                        double acc = 0.0;
                        for (int64_t j = 0; j < S; j++) acc += prob[i * S + j] * v->v[at5(v, b, n, j, h, d)];
                        out->v[at5(out, b, n, i, h, d)] = acc;
                    }
                    if (lse) lse->v[at4(lse, b, n, h, i)] = row_lse[i];
                }
            }
    free(prob);
    free(row_lse);
}

/* ref_backward, and with mags (dq, dk, dv order; NULL: not wanted) each gradient element's sum of
 * its terms' magnitudes. */
static void backward(const ref_tensor *q, const ref_tensor *k, const ref_tensor *v, const ref_tensor *bias_mask,
                     const ref_tensor *bias_pair, const ref_tensor *out, const ref_tensor *dout, ref_tensor *dq,
                     ref_tensor *dk, ref_tensor *dv, ref_tensor *dbias_mask, ref_tensor *dbias_pair,
                     ref_tensor *const *mags) {
    const int64_t B = q->shape[0], N = q->shape[1], S = q->shape[2], H = q->shape[3], D = q->shape[4];
    const double scale = 1.0 / sqrt((double)D);
    const int64_t SS = S * S > 0 ? S * S : 1;
    double *prob = malloc((size_t)SS * sizeof(double));
    double *dprob = malloc((size_t)SS * sizeof(double));
    double *row_lse = malloc((size_t)(S > 0 ? S : 1) * sizeof(double));
    memset(dq->v, 0, (size_t)ref_numel(dq) * sizeof(double));
    memset(dk->v, 0, (size_t)ref_numel(dk) * sizeof(double));
    memset(dv->v, 0, (size_t)ref_numel(dv) * sizeof(double));
    if (dbias_mask) memset(dbias_mask->v, 0, (size_t)ref_numel(dbias_mask) * sizeof(double));
    if (dbias_pair) memset(dbias_pair->v, 0, (size_t)ref_numel(dbias_pair) * sizeof(double));
    if (mags)
        for (int t = 0; t < 3; t++) memset(mags[t]->v, 0, (size_t)ref_numel(mags[t]) * sizeof(double));
    for (int64_t b = 0; b < B; b++)
        for (int64_t n = 0; n < N; n++)
            for (int64_t h = 0; h < H; h++) {
                head_probs(q, k, bias_mask, bias_pair, b, n, h, prob, row_lse);
                for (int64_t i = 0; i < S; i++) {
                    double delta = 0.0;
                    for (int64_t d = 0; d < D; d++)
                        delta += dout->v[at5(dout, b, n, i, h, d)] * out->v[at5(out, b, n, i, h, d)];
                    for (int64_t j = 0; j < S; j++) {
                        double dp = 0.0;
                        for (int64_t d = 0; d < D; d++)
                            dp += dout->v[at5(dout, b, n, i, h, d)] * v->v[at5(v, b, n, j, h, d)];
                        /* dlogit = p * (dp - delta); zero where p is zero (masked) */
                        dprob[i * S + j] = prob[i * S + j] * (dp - delta);
                    }
                }
                for (int64_t i = 0; i < S; i++)
                    for (int64_t j = 0; j < S; j++) {
                        const double p = prob[i * S + j], ds = dprob[i * S + j];
                        for (int64_t d = 0; d < D; d++) {
                            dv->v[at5(dv, b, n, j, h, d)] += p * dout->v[at5(dout, b, n, i, h, d)];
                            dq->v[at5(dq, b, n, i, h, d)] += scale * ds * k->v[at5(k, b, n, j, h, d)];
                            dk->v[at5(dk, b, n, j, h, d)] += scale * ds * q->v[at5(q, b, n, i, h, d)];
                            if (mags) {
                                const double kd = k->v[at5(k, b, n, j, h, d)], qd = q->v[at5(q, b, n, i, h, d)];
                                mags[0]->v[at5(mags[0], b, n, i, h, d)] += scale * fabs(ds * kd);
                                mags[1]->v[at5(mags[1], b, n, j, h, d)] += scale * fabs(ds * qd);
                                mags[2]->v[at5(mags[2], b, n, j, h, d)] += p * fabs(dout->v[at5(dout, b, n, i, h, d)]);
                            }
                        }
                        if (dbias_mask) dbias_mask->v[at5(dbias_mask, b, n, 0, 0, j)] += ds;
                        if (dbias_pair) dbias_pair->v[at5(dbias_pair, b, 0, h, i, j)] += ds;
                    }
            }
    free(prob);
    free(dprob);
    free(row_lse);
}

void ref_backward(const ref_tensor *q, const ref_tensor *k, const ref_tensor *v, const ref_tensor *bias_mask,
                  const ref_tensor *bias_pair, const ref_tensor *out, const ref_tensor *dout, ref_tensor *dq,
                  ref_tensor *dk, ref_tensor *dv, ref_tensor *dbias_mask, ref_tensor *dbias_pair) {
    backward(q, k, v, bias_mask, bias_pair, out, dout, dq, dk, dv, dbias_mask, dbias_pair, NULL);
}

void ref_backward_magnitudes(const ref_tensor *q, const ref_tensor *k, const ref_tensor *v,
                             const ref_tensor *bias_mask, const ref_tensor *bias_pair, const ref_tensor *out,
                             const ref_tensor *dout, ref_tensor *dq, ref_tensor *dk, ref_tensor *dv,
                             ref_tensor *dbias_mask, ref_tensor *dbias_pair, ref_tensor *mag_dq, ref_tensor *mag_dk,
                             ref_tensor *mag_dv) {
    ref_tensor *const mags[3] = {mag_dq, mag_dk, mag_dv};
    backward(q, k, v, bias_mask, bias_pair, out, dout, dq, dk, dv, dbias_mask, dbias_pair, mags);
}

static double round_to(ax_dtype dt, double x) {
    switch (dt) {
    case AX_BF16: return ax_bf16_to_f32(ax_f32_to_bf16((float)x));
    case AX_F16: return ax_f16_to_f32(ax_f32_to_f16((float)x));
    case AX_F32: return (float)x;
    default: return x;
    }
}

/* 1 when this process's Evoformer kernels round p and dS to bf16 for bf16 storage (the avx512 path
 * on a CPU with AVX512-BF16; AXIAL_BF16=0 hides it). */
static int bf16_products_active(void) {
    return ax_cpu_path_active() == AX_CPU_PATH_AVX512 && (ax_cpu_features() & AX_CPU_HAS_AVX512BF16) != 0;
}

int compare_to_ref(const char *what, const test_tensor *got, const ref_tensor *want, double rtol_f32) {
    return compare_to_ref_mag(what, got, want, rtol_f32, NULL);
}

int compare_to_ref_mag(const char *what, const test_tensor *got, const ref_tensor *want, double rtol_f32,
                       const ref_tensor *mag) {
    /* bf16 products: each term of element i moves by at most u of its size (ref_backward_magnitudes),
     * the output's rounding can grow that by 1 + u. */
    const double u16 = ldexp(1.0, -8);
    const double mag_tol = mag != NULL && got->t.dtype == AX_BF16 && bf16_products_active() ? u16 * (1.0 + u16) : 0.0;
    const int64_t n = ref_numel(want);
    double max_ref = 0.0, max_round_err = 0.0, worst = 0.0;
    int64_t worst_i = -1;
    int nan_seen = 0;
    for (int64_t i = 0; i < n; i++) {
        const double w = want->v[i];
        if (isfinite(w) && fabs(w) > max_ref) max_ref = fabs(w);
        if (isfinite(w)) {
            const double e = fabs(round_to(got->t.dtype, w) - w);
            if (e > max_round_err) max_round_err = e;
        }
    }
    int64_t idx[AX_MAX_DIMS] = {0};
    for (int64_t i = 0; i < n; i++) {
        const double g = tt_get(got, idx);
        const double w = want->v[i];
        double err;
        if (isinf(w)) err = (g == w) ? 0.0 : INFINITY;
        else if (!isfinite(g)) { err = INFINITY; nan_seen = 1; }
        else err = fabs(g - w);
        if (mag_tol > 0.0 && isfinite(err)) err = err - mag_tol * mag->v[i] > 0.0 ? err - mag_tol * mag->v[i] : 0.0;
        if (err > worst || worst_i < 0) {
            worst = err;
            worst_i = i;
        }
        next_index(idx, got->t.shape, got->t.ndim);
    }
    /* Gradients can be exactly zero by cancellation (dS sums to zero over each row, so with one key or
     * a bias broadcast over the keys every term cancels): judge those against the scale of the
     * inputs (~1), floored at 1e-2 (1e-1 for 16-bit outputs: with bf16 products dp is summed in
     * pairs and delta in sequence, so such a dS is a few fp32 roundings of a D-term dot product,
     * ~1e-7, instead of exactly 0), not against zero. */
    const double floor = got->t.dtype == AX_F32 ? 1e-2 : 1e-1;
    const double scale = max_ref > floor ? max_ref : floor;
    const double tol = got->t.dtype == AX_F32 ? rtol_f32 * scale : 2.0 * max_round_err + 1e-5 * scale;
    if (worst <= tol) return 1;
    TH_FAIL("%s (%s): worst |got - ref|%s = %.3g at flat index %lld (ref %.6g), tolerance %.3g, max|ref| %.3g%s", what,
            ax_dtype_name(got->t.dtype), mag_tol > 0.0 ? " beyond 2^-8 (1 + 2^-8) x the term magnitudes" : "", worst,
            (long long)worst_i, worst_i >= 0 ? want->v[worst_i] : 0.0, tol, max_ref,
            nan_seen ? " (non-finite values present: unwritten output?)" : "");
    return 0;
}
