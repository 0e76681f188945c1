/*
 * nn_params.h — the parameter structs of the nn ops (include/axial/nn.h), filled and validated on the
 * host by each op's entry and read by its CPU and CUDA kernels. Plain C, so .cu files include it too.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_NN_PARAMS_H
#define AXIAL_NN_PARAMS_H

#include <math.h>
#include <stdint.h>

#include "axial/axial.h"
#include "core/op.h"
#include "core/tensor_spec.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The most tensors one row-wise op addresses by rows (x, residual, out, residual_out, mean, rstd). */
#define NN_ROW_TENSORS 6

/* Rows of (..., D) tensors that share their leading shape: row r's multi-index over the leading
 * dims gives, per tensor slot, its element offset (each op names its slots). A slot the op does not
 * use keeps zero strides. */
typedef struct nn_rows {
    int32_t ndim;                        /* leading dims (0 for a 1-D tensor: one row) */
    int64_t shape[AX_MAX_DIMS];
    int64_t strides[NN_ROW_TENSORS][AX_MAX_DIMS];
} nn_rows;

/* Element offset of row r in slot `which`. */
AX_HOST_DEVICE static inline int64_t nn_row_offset(const nn_rows *l, int64_t r, int which) {
    int64_t off = 0;
    for (int32_t d = l->ndim - 1; d >= 0; d--) {
        const int64_t i = r % l->shape[d];
        r /= l->shape[d];
        off += i * l->strides[which][d];
    }
    return off;
}

/* ---- normalisation: ax_rms_norm*, ax_layer_norm* (norm.c, cpu/norm.isa.inc,
 * cuda/norm.cu) ---- */

enum { NORM_X = 0, NORM_RESIDUAL = 1, NORM_OUT = 2, NORM_RESIDUAL_OUT = 3, NORM_MEAN = 4, NORM_RSTD = 5 };

typedef struct norm_params {
    const void *x;
    const void *residual;                /* NULL: none (x' = x) */
    const void *weight;                  /* NULL: weight 1 */
    const void *bias;                    /* NULL: bias 0 (LayerNorm only) */
    void *out;
    void *residual_out;                  /* NULL: x' is not stored */
    float *mean, *rstd;                  /* NULL: not stored; LayerNorm's mean, either norm's 1/sqrt(...) */
    ax_dtype x_dtype, residual_dtype, weight_dtype, bias_dtype, out_dtype, residual_out_dtype;
    int layer;                           /* 1: LayerNorm (subtract the mean), 0: RMSNorm */
    int64_t rows, D;
    nn_rows layout;                      /* slots NORM_* */
    float eps;
} norm_params;

enum { NORM_BWD_X = 0, NORM_BWD_DOUT = 1, NORM_BWD_DX = 2 };

/* Backward of either norm. dweight / dbias are reduced deterministically: rows are cut into
 * `chunks` fixed runs of `chunk_rows` rows (set by the entry from the shape alone), each run sums
 * its rows in order into a partial row, and the partials are summed in chunk order. */
typedef struct norm_backward_params {
    const void *x, *weight, *dout;
    void *dx, *dweight, *dbias;          /* dweight, dbias may be NULL */
    ax_dtype x_dtype, weight_dtype, dout_dtype, dx_dtype, dweight_dtype, dbias_dtype;
    int layer;
    int64_t rows, D, chunks, chunk_rows;
    nn_rows layout;                      /* slots NORM_BWD_* */
    float eps;
} norm_backward_params;

/* Chunks of the dweight reduction: a function of the row count only, so results do not depend on
 * the thread count or backend's grid. */
#define NORM_MAX_CHUNKS 128

AX_DECLARE_CPU_KERNELS(norm_forward_cpu);
AX_DECLARE_CPU_KERNELS(norm_backward_cpu);
ax_status norm_forward_cuda(const ax_op_call *call);
ax_status norm_backward_cuda(const ax_op_call *call);

/* ---- RoPE: ax_rope, ax_rope_backward (rope.c, cpu/rope.isa.inc, cuda/rope.cu) ---- */

typedef struct rope_params {
    const void *x;
    void *out;
    const void *positions;
    ax_dtype x_dtype, out_dtype, pos_dtype;
    int64_t T, H, D, rotary_dim;
    int64_t x_stride_t, x_stride_h, out_stride_t, out_stride_h, pos_stride;
    int neox;                            /* 1: pairs (i, i + d/2); 0: adjacent pairs (2i, 2i + 1) */
    float sin_sign;                      /* +1 forward, -1 the inverse rotation (backward) */
    float base;                          /* after NTK scaling, rounded to fp32 */
    float freq_scale;                    /* 1 / linear factor, fp32 */
} rope_params;

/* The angle of pair i at position pos, as every backend computes it (documented in nn.h): fp32
 * throughout, freq_i = powf(base, -2i / d), theta = freq_scale * (pos * freq_i). */
AX_HOST_DEVICE static inline float rope_theta(const rope_params *p, float pos, int64_t i) {
    const float freq = powf(p->base, (float)(-2 * i) / (float)p->rotary_dim);
    return p->freq_scale * (pos * freq);
}

/* Position of token t as a float (exact up to 2^24). */
AX_HOST_DEVICE static inline float rope_position(const rope_params *p, int64_t t) {
    return p->pos_dtype == AX_I64 ? (float)((const int64_t *)p->positions)[t * p->pos_stride]
                                  : (float)((const int32_t *)p->positions)[t * p->pos_stride];
}

AX_DECLARE_CPU_KERNELS(rope_cpu);
ax_status rope_cuda(const ax_op_call *call);

/* ---- activations: ax_activation*, ax_glu* (activation.c, cpu/activation.isa.inc,
 * cuda/activation.cu) ---- */

enum { ACT_SILU = 0, ACT_GELU_TANH = 1, ACT_GELU_ERF = 2 };      /* = ax_activation_kind */
enum { ACT_FORWARD = 0, ACT_BACKWARD = 1, GLU_FORWARD = 2, GLU_BACKWARD = 3 };

/* Inputs and outputs by mode:
 *   ACT_FORWARD   in0 x                       out0 y = act(x)
 *   ACT_BACKWARD  in0 x, in1 dout             out0 dx = dout * act'(x)
 *   GLU_FORWARD   in0 gate, in1 up            out0 y = act(gate) * up
 *   GLU_BACKWARD  in0 gate, in1 up, in2 dout  out0 dgate = dout * up * act'(gate), out1 dup = dout * act(gate)
 * Row slots 0..2 are in0..in2, 3..4 out0..out1. */
typedef struct act_params {
    const void *in[3];
    void *out[2];
    ax_dtype in_dtype[3], out_dtype[2];
    int kind, mode;
    int64_t rows, F;
    nn_rows layout;
} act_params;

/* act(x) and act'(x) in fp32, as every backend computes GELU (and SiLU on CUDA; the CPU's SiLU uses
 * the vector exp of core/cpu/vec.h). */
AX_HOST_DEVICE static inline void act_eval(int kind, float x, float *value, float *deriv) {
    if (kind == ACT_SILU) {
        const float s = 1.0f / (1.0f + expf(-x));
        *value = x * s;
        *deriv = s * (1.0f + x * (1.0f - s));
    } else if (kind == ACT_GELU_TANH) {
        /* 0.5 x (1 + tanh(u)) = x s with s = sigmoid(2u): for negative x, 1 + tanh(u) cancels to
         * nothing (gelu(-6) came out 0, not -5.9e-9), while s keeps its relative accuracy. With
         * e = exp(-|2u|) (no overflow), s is 1 / (1 + e) or e / (1 + e), and 1 - s the other. */
        const float k0 = 0.7978845608028654f, c = 0.044715f; /* sqrt(2 / pi) */
        const float u2 = 2.0f * k0 * (x + c * x * x * x);
        const float e = expf(-fabsf(u2)), r = 1.0f / (1.0f + e);
        const float s = u2 >= 0.0f ? r : e * r;
        *value = x * s;
        /* 0.5 sech^2(u) = 2 s (1 - s) = 2 e r^2. Where it is 0 so is the second term; computing it
         * regardless gives 0 * inf = NaN once 3c x^2 overflows (|x| > ~5e19). */
        const float q = 2.0f * e * r * r;
        *deriv = s + (q == 0.0f ? 0.0f : x * q * k0 * (1.0f + 3.0f * c * x * x));
    } else {
        /* 1 + erf(x / sqrt 2) = erfc(-x / sqrt 2), accurate where the sum cancels (x < 0). */
        const float e = erfcf(x * -0.7071067811865476f); /* 1 / sqrt(2) */
        *value = 0.5f * x * e;
        *deriv = 0.5f * e + x * expf(-0.5f * x * x) * 0.3989422804014327f; /* 1 / sqrt(2 pi) */
    }
}

AX_DECLARE_CPU_KERNELS(act_cpu);
ax_status act_cuda(const ax_op_call *call);

/* ---- embedding: ax_embedding (embedding.c, cuda/embedding.cu) ---- */

typedef struct embedding_params {
    const void *ids;
    const void *table;
    void *out;
    ax_dtype ids_dtype, table_dtype, out_dtype;
    int64_t T, V, D;
    int64_t ids_stride, table_row_stride, out_row_stride; /* elements (table: a whole number of blocks) */
} embedding_params;

ax_status embedding_cuda(const ax_op_call *call);

/* ---- softmax: ax_softmax, ax_softmax_backward (softmax.c, cpu/softmax.isa.inc, cuda/softmax.cu) ---- */

enum { SOFTMAX_IN = 0, SOFTMAX_DOUT = 1, SOFTMAX_OUT = 2 };

/* Forward: in = x, out = y. Backward: in = y, dout, out = dx. */
typedef struct softmax_params {
    const void *in, *dout;
    void *out;
    ax_dtype in_dtype, dout_dtype, out_dtype;
    int backward;
    int64_t rows, N;
    nn_rows layout;                      /* slots SOFTMAX_* */
    float scale;
} softmax_params;

AX_DECLARE_CPU_KERNELS(softmax_cpu);
ax_status softmax_cuda(const ax_op_call *call);

/* ---- host helpers shared by the entries (nn_common.c) ---- */

/* The first checks of a row-wise entry: ctx and x not NULL, x of 1 to AX_MAX_DIMS dims (..., last). */
ax_status nn_check_rows_entry(const ax_context *ctx, const ax_tensor *x, const char *name, const char *last);
/* Fills spec s for a (..., D) tensor of nd dims: leading dims named L0, L1, ... and the last "D"
 * (or `last`), float dtypes, last dim contiguous. */
void nn_spec_rows(ax_tensor_spec *s, int32_t nd, const char *last);
/* Rows layout of tensors sharing the leading shape of `shape_of` (nd dims, the last excluded); slot
 * i takes the leading strides of t[i] (NULL: zeros). Returns the row count. */
int64_t nn_rows_init(nn_rows *l, const ax_tensor *shape_of, const ax_tensor *const *t, int n);
/* Host workspace of `rows_per_thread` fp32 rows of D floats for every thread of ctx (each row
 * 64-byte aligned; thread i's piece starts at i * nn_thread_piece_bytes(D, rows_per_thread)). */
int64_t nn_thread_rows_bytes(const ax_context *ctx, int64_t D, int rows_per_thread);

/* Bytes of one thread's piece of such a workspace. */
static inline int64_t nn_thread_piece_bytes(int64_t D, int rows_per_thread) {
    return ax_ws_round(D * (int64_t)sizeof(float)) * rows_per_thread;
}

#ifdef __cplusplus
}
#endif

#endif /* AXIAL_NN_PARAMS_H */
