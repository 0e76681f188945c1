/*
 * attention_cases.h — what cases_attention_forward.c and cases_attention_backward.c share: the
 * case description, the problem's tensors, and a float64 naive reference of flash attention
 * (attention.h) that materialises each query row's logits: forward (out, lse) and backward by the
 * analytic formulas (dq, dk, dv, dbias). Only those two files include it.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_TESTS_OPS_ATTENTION_CASES_H
#define AXIAL_TESTS_OPS_ATTENTION_CASES_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axial/attention.h"
#include "op_registry.h"

/* Bias forms: which of the dims (B, H, Sq, Sk) are full; the others are 1. */
enum { BIAS_B = 1, BIAS_H = 2, BIAS_I = 4, BIAS_J = 8, BIAS_FULL = 15 };

typedef struct attn_case {
    int64_t B, Sq, Sk, H, Hkv, D; /* packed: B sequences, Sq = Tq and Sk = Tk tokens */
    int causal;
    int64_t wl, wr;              /* window; -1 unbounded */
    float scale, softcap;        /* scale 0: 1 / sqrt(D) */
    int bias;                    /* 0: none, else BIAS_* bits */
    int bias_f32;                /* bias in f32 whatever q's dtype */
    const int32_t *cu_q, *cu_k;  /* packed batches: B + 1 entries each; NULL: padded */
    int64_t bias_extra;          /* packed: the bias's Sq/Sk dims exceed the longest sequence by this */
    op_layout layout;            /* of the activations: contiguous or padded */
    int no_lse;                  /* forward: lse not asked for */
    int no_dbias;                /* backward: dbias not asked for */
    int fd;                      /* backward: also check the reference against finite differences */
    int quick;
} attn_case;

/* The rows of sequence b: first query row (token index), count, first key row and count. */
static inline void ac_sequence(const attn_case *a, int64_t b, int64_t *q0, int64_t *nq, int64_t *k0, int64_t *nk) {
    if (a->cu_q == NULL) {
        *q0 = *k0 = 0;
        *nq = a->Sq, *nk = a->Sk;
        return;
    }
    *q0 = a->cu_q[b], *nq = a->cu_q[b + 1] - a->cu_q[b];
    *k0 = a->cu_k[b], *nk = a->cu_k[b + 1] - a->cu_k[b];
}

static inline int64_t ac_max_len(const int32_t *cu, int64_t B) {
    int64_t m = 0;
    for (int64_t b = 0; b < B; b++)
        if (cu[b + 1] - cu[b] > m) m = cu[b + 1] - cu[b];
    return m;
}

static inline void ac_bias_shape(const attn_case *a, int64_t *shape) {
    const int64_t mq = a->cu_q ? ac_max_len(a->cu_q, a->B) + a->bias_extra : a->Sq;
    const int64_t mk = a->cu_q ? ac_max_len(a->cu_k, a->B) + a->bias_extra : a->Sk;
    shape[0] = a->bias & BIAS_B ? a->B : 1;
    shape[1] = a->bias & BIAS_H ? a->H : 1;
    shape[2] = a->bias & BIAS_I ? mq : 1;
    shape[3] = a->bias & BIAS_J ? mk : 1;
}

static inline double ac_scale(const attn_case *a) {
    return a->scale != 0.0f ? (double)a->scale : (double)(float)(1.0 / sqrt((double)a->D));
}

/* Element indices into the row-major value arrays. */
static inline int64_t ac_row(const attn_case *a, int64_t b, int64_t q0, int64_t i) {
    return a->cu_q ? q0 + i : b * a->Sq + i;
}
static inline int64_t ac_krow(const attn_case *a, int64_t b, int64_t k0, int64_t j) {
    return a->cu_q ? k0 + j : b * a->Sk + j;
}
static inline int64_t ac_lse_index(const attn_case *a, int64_t b, int64_t h, int64_t q0, int64_t i) {
    return a->cu_q ? h * a->Sq + q0 + i : (b * a->H + h) * a->Sq + i;
}
static inline int64_t ac_bias_index(const attn_case *a, const int64_t *bs, int64_t b, int64_t h, int64_t i, int64_t j) {
    (void)a;
    return (((bs[0] == 1 ? 0 : b) * bs[1] + (bs[1] == 1 ? 0 : h)) * bs[2] + (bs[2] == 1 ? 0 : i)) * bs[3] +
           (bs[3] == 1 ? 0 : j);
}

/* Query i's visible keys [lo, hi) (bottom-right aligned window). */
static inline void ac_key_range(const attn_case *a, int64_t i, int64_t nq, int64_t nk, int64_t *lo, int64_t *hi) {
    const int64_t pos = i + nk - nq, wr = a->causal ? 0 : a->wr;
    *lo = 0, *hi = nk;
    if (a->wl >= 0 && pos - a->wl > *lo) *lo = pos - a->wl;
    if (wr >= 0 && pos + wr + 1 < *hi) *hi = pos + wr + 1;
    if (*lo > *hi) *lo = *hi;
}

/* The inputs' values (what the op reads, exactly). */
typedef struct ac_inputs {
    const double *q, *k, *v, *bias;
    int64_t bias_shape[4];
} ac_inputs;

static inline ac_inputs ac_inputs_of(const attn_case *a, op_problem *p) {
    ac_inputs in;
    in.q = op_find(p, "q")->value;
    in.k = op_find(p, "k")->value;
    in.v = op_find(p, "v")->value;
    const op_tensor *b = op_find(p, "bias");
    in.bias = b != NULL ? b->value : NULL;
    if (a->bias) ac_bias_shape(a, in.bias_shape);
    return in;
}

/* One query row's probabilities over keys [lo, hi): p[j - lo], and tanh(x/c) in t when softcap (for
 * the backward). Returns lse, -inf for a fully masked row (then p is all 0). */
static inline double ac_row_probs(const attn_case *a, const ac_inputs *in, int64_t b, int64_t h, int64_t q0, int64_t k0,
                                  int64_t i, int64_t lo, int64_t hi, double *p, double *t) {
    const int64_t D = a->D, g = h / (a->H / a->Hkv);
    const double scale = ac_scale(a), cap = (double)a->softcap;
    const double *qr = in->q + (ac_row(a, b, q0, i) * a->H + h) * D;
    double m = -INFINITY;
    for (int64_t j = lo; j < hi; j++) {
        const double *kr = in->k + (ac_krow(a, b, k0, j) * a->Hkv + g) * D;
        double x = 0.0;
        for (int64_t d = 0; d < D; d++) x += qr[d] * kr[d];
        x *= scale;
        if (cap > 0.0) {
            const double th = tanh(x / cap);
            if (t) t[j - lo] = th;
            x = cap * th;
        }
        if (in->bias) x += in->bias[ac_bias_index(a, in->bias_shape, b, h, i, j)];
        p[j - lo] = x;
        if (x > m) m = x;
    }
    if (hi <= lo || m == -INFINITY) {
        for (int64_t j = lo; j < hi; j++) p[j - lo] = 0.0;
        return -INFINITY;
    }
    double sum = 0.0;
    for (int64_t j = lo; j < hi; j++) sum += p[j - lo] = exp(p[j - lo] - m);
    for (int64_t j = lo; j < hi; j++) p[j - lo] /= sum;
    return m + log(sum);
}

/* Forward: out (B, Sq, H, D) / (Tq, H, D) and lse as value arrays; rows past cu_seqlens_q[B] keep
 * what they hold (the caller fills NaN: untouched). */
static inline void ac_forward(const attn_case *a, const ac_inputs *in, double *out, double *lse) {
    double *p = malloc((size_t)(a->Sk > 0 ? a->Sk : 1) * sizeof(double));
    if (p == NULL) return;
    const int64_t D = a->D, g_size = a->H / a->Hkv;
    for (int64_t b = 0; b < a->B; b++) {
        int64_t q0, nq, k0, nk;
        ac_sequence(a, b, &q0, &nq, &k0, &nk);
        for (int64_t h = 0; h < a->H; h++)
            for (int64_t i = 0; i < nq; i++) {
                int64_t lo, hi;
                ac_key_range(a, i, nq, nk, &lo, &hi);
                const double l = ac_row_probs(a, in, b, h, q0, k0, i, lo, hi, p, NULL);
                double *o = out + (ac_row(a, b, q0, i) * a->H + h) * D;
                for (int64_t d = 0; d < D; d++) o[d] = 0.0;
                for (int64_t j = lo; j < hi; j++) {
                    const double *vr = in->v + (ac_krow(a, b, k0, j) * a->Hkv + h / g_size) * D;
                    for (int64_t d = 0; d < D; d++) o[d] += p[j - lo] * vr[d];
                }
                if (lse) lse[ac_lse_index(a, b, h, q0, i)] = l;
            }
    }
    free(p);
}

/* Per element of dq, dk and dv, the sum of its terms' magnitudes: scale sum |dx_j| |k_j|,
 * scale sum |dx_j| |q|, sum p_j |dout|. A kernel that rounds each p or dx to a format of unit
 * roundoff u before the products errs by at most u times these. */
typedef struct ac_grad_mags {
    double *dq, *dk, *dv;
} ac_grad_mags;

/* Backward by the analytic formulas: with p the row's probabilities, dp_j = dout . v_j,
 * delta = dout . out (out_rows: the out the op is given; NULL: the exact out, delta = sum p dp),
 * dS_j = p_j (dp_j - delta), dx_j = dS_j (1 - tanh^2) under a soft-cap, dq = scale sum dx_j k_j,
 * dk_j += scale dx_j q, dv_j += p_j dout, dbias += dS (summed over broadcast dims), and mags (when
 * not NULL) as ac_grad_mags says. Gradient arrays are zeroed here for every sequence row; rows past
 * cu_seqlens_q[B] of dq are left alone. */
static inline void ac_backward(const attn_case *a, const ac_inputs *in, const double *dout, const double *out_rows,
                               double *dq, double *dk, double *dv, double *dbias, const ac_grad_mags *mags) {
    const int64_t D = a->D, g_size = a->H / a->Hkv;
    double *p = malloc((size_t)(a->Sk > 0 ? a->Sk : 1) * sizeof(double));
    double *t = malloc((size_t)(a->Sk > 0 ? a->Sk : 1) * sizeof(double));
    double *dpr = malloc((size_t)(a->Sk > 0 ? a->Sk : 1) * sizeof(double));
    if (p == NULL || t == NULL || dpr == NULL) {
        free(p), free(t), free(dpr);
        return;
    }
    const double scale = ac_scale(a);
    const int64_t krows = a->cu_q ? a->Sk : a->B * a->Sk;
    for (int64_t x = 0; x < krows * a->Hkv * D; x++) dk[x] = dv[x] = 0.0;
    if (mags)
        for (int64_t x = 0; x < krows * a->Hkv * D; x++) mags->dk[x] = mags->dv[x] = 0.0;
    if (dbias) {
        const int64_t n = in->bias_shape[0] * in->bias_shape[1] * in->bias_shape[2] * in->bias_shape[3];
        for (int64_t x = 0; x < n; x++) dbias[x] = 0.0;
    }
    for (int64_t b = 0; b < a->B; b++) {
        int64_t q0, nq, k0, nk;
        ac_sequence(a, b, &q0, &nq, &k0, &nk);
        for (int64_t h = 0; h < a->H; h++) {
            const int64_t g = h / g_size;
            for (int64_t i = 0; i < nq; i++) {
                int64_t lo, hi;
                ac_key_range(a, i, nq, nk, &lo, &hi);
                ac_row_probs(a, in, b, h, q0, k0, i, lo, hi, p, t);
                const int64_t qrow = ac_row(a, b, q0, i);
                const double *dor = dout + (qrow * a->H + h) * D, *qr = in->q + (qrow * a->H + h) * D;
                double *dqr = dq + (qrow * a->H + h) * D;
                for (int64_t d = 0; d < D; d++) dqr[d] = 0.0;
                if (mags)
                    for (int64_t d = 0; d < D; d++) mags->dq[(qrow * a->H + h) * D + d] = 0.0;
                double delta = 0.0;
                for (int64_t j = lo; j < hi; j++) {
                    const double *vr = in->v + (ac_krow(a, b, k0, j) * a->Hkv + g) * D;
                    double s = 0.0;
                    for (int64_t d = 0; d < D; d++) s += dor[d] * vr[d];
                    dpr[j - lo] = s;
                    delta += p[j - lo] * s;
                }
                if (out_rows != NULL) {
                    const double *orow = out_rows + (qrow * a->H + h) * D;
                    delta = 0.0;
                    for (int64_t d = 0; d < D; d++) delta += dor[d] * orow[d];
                }
                for (int64_t j = lo; j < hi; j++) {
                    const int64_t krow = ac_krow(a, b, k0, j);
                    const double *kr = in->k + (krow * a->Hkv + g) * D;
                    double *dkr = dk + (krow * a->Hkv + g) * D, *dvr = dv + (krow * a->Hkv + g) * D;
                    const double ds = p[j - lo] * (dpr[j - lo] - delta);
                    const double dx = a->softcap > 0.0f ? ds * (1.0 - t[j - lo] * t[j - lo]) : ds;
                    for (int64_t d = 0; d < D; d++) {
                        dqr[d] += scale * dx * kr[d];
                        dkr[d] += scale * dx * qr[d];
                        dvr[d] += p[j - lo] * dor[d];
                    }
                    if (mags) {
                        const int64_t qi = (qrow * a->H + h) * D, ki = (krow * a->Hkv + g) * D;
                        for (int64_t d = 0; d < D; d++) {
                            mags->dq[qi + d] += scale * fabs(dx * kr[d]);
                            mags->dk[ki + d] += scale * fabs(dx * qr[d]);
                            mags->dv[ki + d] += p[j - lo] * fabs(dor[d]);
                        }
                    }
                    if (dbias) dbias[ac_bias_index(a, in->bias_shape, b, h, i, j)] += ds;
                }
            }
        }
    }
    free(p), free(t), free(dpr);
}

/* ---- problems ---- */

static inline int ac_name(const attn_case *a, op_case *c) {
    static const char *bias_forms[16] = {"none", "(B,1,1,1)", "(1,H,1,1)", "(B,H,1,1)", "(1,1,Sq,1)", "(B,1,Sq,1)",
                                         "(1,H,Sq,1)", "(B,H,Sq,1)", "(1,1,1,Sk)", "(B,1,1,Sk)", "(1,H,1,Sk)",
                                         "(B,H,1,Sk)", "(1,1,Sq,Sk)", "(B,1,Sq,Sk)", "(1,H,Sq,Sk)", "(B,H,Sq,Sk)"};
    snprintf(c->name, sizeof c->name,
             "%s B=%lld Sq=%lld Sk=%lld H=%lld Hkv=%lld D=%lld%s win=(%lld,%lld) scale=%g cap=%g bias=%s%s%s%s",
             a->cu_q ? "packed" : "padded", (long long)a->B, (long long)a->Sq, (long long)a->Sk, (long long)a->H,
             (long long)a->Hkv, (long long)a->D, a->causal ? " causal" : "", (long long)a->wl, (long long)a->wr,
             (double)a->scale, (double)a->softcap, bias_forms[a->bias & 15], a->bias_f32 ? " f32-bias" : "",
             a->layout == OP_PADDED ? " strided" : "", a->fd ? " +fd-check" : "");
    return 1;
}

static const op_dtype_pair ac_dtypes[] = {{AX_F32, AX_F32}, {AX_BF16, AX_BF16}, {AX_F16, AX_F16}};

static inline int ac_make_case(const attn_case *cases, int n, int index, op_mode mode, op_case *c) {
    int seen = -1;
    for (int i = 0; i < n; i++) {
        if (mode == OP_QUICK && !cases[i].quick) continue;
        if (++seen != index) continue;
        c->params = &cases[i];
        ac_name(&cases[i], c);
        c->n_dtypes = (int)(sizeof ac_dtypes / sizeof ac_dtypes[0]);
        memcpy(c->dtypes, ac_dtypes, sizeof ac_dtypes);
        return 1;
    }
    return 0;
}

static inline void ac_act_shape(const attn_case *a, int which_k, int64_t *shape, int32_t *ndim) {
    const int64_t S = which_k ? a->Sk : a->Sq, heads = which_k ? a->Hkv : a->H;
    if (a->cu_q) {
        shape[0] = S, shape[1] = heads, shape[2] = a->D;
        *ndim = 3;
    } else {
        shape[0] = a->B, shape[1] = S, shape[2] = heads, shape[3] = a->D;
        *ndim = 4;
    }
}

/* q, k, v (uniform in [-1, 1)), the bias (in [-2, 2)) and cu_seqlens. */
static inline int ac_setup_inputs(const attn_case *a, op_dtype_pair dt, op_problem *p) {
    int64_t qs[4], ks[4];
    int32_t nd;
    ac_act_shape(a, 0, qs, &nd);
    ac_act_shape(a, 1, ks, &nd);
    op_tensor *q = op_tensor_new(p, "q", OP_INPUT, dt.in, nd, qs, a->layout);
    op_tensor *k = op_tensor_new(p, "k", OP_INPUT, dt.in, nd, ks, a->layout);
    op_tensor *v = op_tensor_new(p, "v", OP_INPUT, dt.in, nd, ks, a->layout);
    if (q == NULL || k == NULL || v == NULL) return -1;
    op_fill_uniform(p, q, -1.0, 1.0);
    op_fill_uniform(p, k, -1.0, 1.0);
    op_fill_uniform(p, v, -1.0, 1.0);
    if (a->bias) {
        int64_t bs[4];
        ac_bias_shape(a, bs);
        op_tensor *bias = op_tensor_new(p, "bias", OP_INPUT, a->bias_f32 ? AX_F32 : dt.in, 4, bs, a->layout);
        if (bias == NULL) return -1;
        op_fill_uniform(p, bias, -2.0, 2.0);
    }
    if (a->cu_q) {
        const int64_t n = a->B + 1;
        op_tensor *cq = op_tensor_new(p, "cu_seqlens_q", OP_INPUT, AX_I32, 1, &n, OP_CONTIGUOUS);
        op_tensor *ck = op_tensor_new(p, "cu_seqlens_k", OP_INPUT, AX_I32, 1, &n, OP_CONTIGUOUS);
        if (cq == NULL || ck == NULL) return -1;
        for (int64_t b = 0; b < n; b++) {
            op_set(cq, b, a->cu_q[b]);
            op_set(ck, b, a->cu_k[b]);
        }
    }
    return 0;
}

static inline ax_attention_options ac_options(const attn_case *a, op_problem *p) {
    ax_attention_options o = ax_attention_options_default();
    o.causal = a->causal;
    o.window_left = a->wl;
    o.window_right = a->causal ? (a->wr < 0 ? -1 : 0) : a->wr;
    o.scale = a->scale;
    o.softcap = a->softcap;
    o.cu_seqlens_q = op_in(p, "cu_seqlens_q");
    o.cu_seqlens_k = op_in(p, "cu_seqlens_k");
    if (a->cu_q) {
        o.max_seqlen_q = ac_max_len(a->cu_q, a->B);
        o.max_seqlen_k = ac_max_len(a->cu_k, a->B);
    }
    return o;
}

/* The CUDA limits of attention.h: D a multiple of 8 up to 256. */
static inline const char *ac_unsupported(const op_case *c, op_dtype_pair dt, op_backend be) {
    const attn_case *a = c->params;
    (void)dt;
    if (be == OP_BACKEND_CUDA && (a->D % 8 != 0 || a->D > 256)) return "CUDA needs D a multiple of 8 up to 256";
    return NULL;
}

#endif /* AXIAL_TESTS_OPS_ATTENTION_CASES_H */
