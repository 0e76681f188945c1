/*
 * nn_cpu.h — what the nn CPU kernel bodies (cpu/<op>.isa.inc) share: a row of f32/bf16/f16 widened to
 * fp32 and narrowed back with the path's own conversions (core/cpu/vec.h), this thread's workspace
 * piece, and fixed-order vector sums. Included only by .isa.inc bodies, so everything is static
 * inline and compiled with each path's flags.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_NN_CPU_NN_CPU_H
#define AXIAL_NN_CPU_NN_CPU_H

#include <stdint.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "core/cpu/vec.h"
#include "core/internal.h"
#include "core/op.h"
#include "nn/nn_params.h"

/* dst[0..n) = row of `dtype` starting at element `off` of base (f32, bf16 or f16). */
static inline void nn_load_row(const void *base, int64_t off, ax_dtype dtype, float *restrict dst, int64_t n) {
    switch (dtype) {
    case AX_BF16: ax_row_bf16_to_f32((const uint16_t *)base + off, dst, n); break;
    case AX_F16: ax_row_f16_to_f32((const uint16_t *)base + off, dst, n); break;
    default: ax_row_copy_f32(dst, (const float *)base + off, n); break;
    }
}

/* The row src[0..n) rounded once into `dtype` at element `off` of base. */
static inline void nn_store_row(void *base, int64_t off, ax_dtype dtype, const float *restrict src, int64_t n) {
    switch (dtype) {
    case AX_BF16: ax_row_f32_to_bf16(src, (uint16_t *)base + off, n); break;
    case AX_F16: ax_row_f32_to_f16(src, (uint16_t *)base + off, n); break;
    default: ax_row_copy_f32((float *)base + off, src, n); break;
    }
}

/* This thread's piece of a workspace of nn_thread_rows_bytes(): rows_per_thread rows of D floats. */
static inline float *nn_thread_rows(const ax_op_call *call, int64_t D, int rows_per_thread) {
#ifdef _OPENMP
    const int64_t me = omp_get_thread_num();
#else
    const int64_t me = 0;
#endif
    return (float *)ax_ws_slice(call->host_ws, 0, nn_thread_piece_bytes(D, rows_per_thread), me);
}

/* Row i of such a piece. */
static inline float *nn_piece_row(float *piece, int64_t D, int i) {
    return piece + ax_ws_round(D * (int64_t)sizeof(float)) / (int64_t)sizeof(float) * i;
}

/* Sums in a fixed order for a given path: vector partial sums, their lanes, then the tail. */
static inline float nn_sum(const float *x, int64_t n) {
    ax_vf acc = ax_vf_splat(0.0f);
    int64_t j = 0;
    for (; j + AX_VF_LANES <= n; j += AX_VF_LANES) acc += ax_vf_load(x + j);
    float s = ax_vf_hsum(acc);
    for (; j < n; j++) s += x[j];
    return s;
}

static inline float nn_dot(const float *x, const float *y, int64_t n) {
    ax_vf acc = ax_vf_splat(0.0f);
    int64_t j = 0;
    for (; j + AX_VF_LANES <= n; j += AX_VF_LANES) acc = ax_vf_fma(ax_vf_load(x + j), ax_vf_load(y + j), acc);
    float s = ax_vf_hsum(acc);
    for (; j < n; j++) s += x[j] * y[j];
    return s;
}

/* Sum of (x - c)^2. */
static inline float nn_sum_sq_dev(const float *x, float c, int64_t n) {
    ax_vf acc = ax_vf_splat(0.0f);
    const ax_vf vc = ax_vf_splat(c);
    int64_t j = 0;
    for (; j + AX_VF_LANES <= n; j += AX_VF_LANES) {
        const ax_vf d = ax_vf_load(x + j) - vc;
        acc = ax_vf_fma(d, d, acc);
    }
    float s = ax_vf_hsum(acc);
    for (; j < n; j++) s += (x[j] - c) * (x[j] - c);
    return s;
}

/* OpenMP threads for `work` elements: one below 32k elements, where starting threads costs more
 * than it saves. */
static inline int nn_threads(const ax_op_call *call, int64_t work) {
    const int t = (int)call->ctx->num_threads;
    return work >= (1 << 15) && t > 1 ? t : 1;
}

#endif /* AXIAL_NN_CPU_NN_CPU_H */
