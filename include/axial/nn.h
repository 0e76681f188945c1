/*
 * nn.h — neural-network building blocks of a transformer on Axial tensors: RMSNorm and LayerNorm
 * (with a fused residual add), rotary position embeddings, activations and gated units, embedding
 * lookup (plain and block-quantized tables) and softmax, each forward and backward where training
 * needs it. CPU and CUDA.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 *
 * Conventions are those of axial.h (status codes, ax_last_error, caller-owned tensors, strides in
 * elements). See docs/nn.md for the semantics in prose. Common to every function here:
 *
 *  - ctx is a CPU or CUDA context and every tensor must live on its device (pointers are host
 *    pointers on a CPU context and device pointers on a CUDA one).
 *  - "(..., D)" means 1 to AX_MAX_DIMS dims whose last one is D; the leading dims may have any
 *    strides, the last dim must be contiguous (stride 1). Tensors said to have "the shape of x" have
 *    exactly x's shape, with strides of their own.
 *  - Float storage dtypes are f32, bf16 and f16; every computation is fp32 and each result is
 *    rounded once (nearest even) into its output's dtype.
 *  - An output may be exactly one of the inputs (same data, dtype, shape and strides: in place)
 *    where a function says so; any other overlap of an output with an input or another output is
 *    an error.
 *  - Errors: AX_ERR_INVALID_ARGUMENT naming the argument and dimension (shape, dtype, device,
 *    stride, overlap, scalar), returned before anything is written; AX_ERR_OUT_OF_MEMORY when the
 *    scratch memory exceeds the context's workspace limit; AX_ERR_CUDA.
 *  - CUDA: queued on the context's stream; never synchronises the host. Scratch memory (where a
 *    function uses any) comes from the context's workspace.
 *  - Thread-safe with distinct contexts. Empty tensors are valid and do nothing.
 */
#ifndef AXIAL_NN_H
#define AXIAL_NN_H

#include "axial/axial.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------------
 * Normalisation
 * ---------------------------------------------------------------------------------------------- */

/* Root-mean-square layer normalisation (Llama's RMSNorm) over the last dimension:
 *
 *     out[r, j] = x[r, j] / sqrt(mean_j(x[r, j]^2) + eps) * weight[j]
 *
 *   ax_context *ctx         CPU or CUDA context; every tensor must live on its device
 *   const ax_tensor *x      (..., D): 1 to AX_MAX_DIMS dims, any strides except a contiguous last dim
 *   const ax_tensor *weight (D), or NULL for weight 1
 *   float eps               added to the mean square, > 0 is usual (1e-5, 1e-6); must be >= 0 and finite
 *   ax_tensor *out          the shape of x, last dim contiguous; may be x itself (in place) but
 *                           must not partly overlap x or weight
 *
 * Dtypes: x f32, bf16 or f16; weight x's dtype or f32; out x's dtype or f32. The mean square and the
 * product are computed in fp32 and rounded once into out (nearest even). A row of zeros gives zeros
 * when eps > 0 (and NaN when eps == 0, as the formula says); NaN or Inf in a row spreads over it. A
 * finite row whose sum of squares overflows fp32 (|x| above about sqrt(FLT_MAX / D), 2.9e17 at
 * D = 4096) gives zeros, as PyTorch's fp32 norm does.
 *
 * Errors: AX_ERR_INVALID_ARGUMENT naming the tensor and dimension (shape, dtype, device, stride,
 * overlap, eps); AX_ERR_CUDA. Host scratch: D floats x 4 per thread (CPU). CUDA: queued on the
 * context's stream, no host synchronisation. Thread-safe with distinct contexts. */
AX_API ax_status ax_rms_norm(ax_context *ctx, const ax_tensor *x, const ax_tensor *weight, float eps, ax_tensor *out);

/* RMSNorm with the residual add of a pre-norm transformer block fused in (Llama's
 * `h = x + residual; out = rmsnorm(h)`):
 *
 *     h[r, j]   = x[r, j] + residual[r, j]                 (fp32)
 *     out[r, j] = h[r, j] / sqrt(mean_j(h[r, j]^2) + eps) * weight[j]
 *     residual_out[r, j] = h[r, j]                         (rounded once into its dtype)
 *
 *   const ax_tensor *x            (..., D)
 *   const ax_tensor *residual     the shape of x; any float dtype
 *   const ax_tensor *weight       (D), x's dtype or f32, or NULL for weight 1
 *   float eps                     >= 0 and finite
 *   ax_tensor *out                the shape of x, x's dtype or f32; may be x or residual (in place)
 *   ax_tensor *residual_out       NULL, or the shape of x in any float dtype: receives h; may be
 *                                 x or residual (in place: the usual `residual += x` update)
 *
 * The norm reads h in fp32, before it is rounded into residual_out, so the result does not depend
 * on residual_out's dtype or presence. Errors, scratch, CUDA and threads as ax_rms_norm. */
AX_API ax_status ax_rms_norm_residual(ax_context *ctx, const ax_tensor *x, const ax_tensor *residual,
                                      const ax_tensor *weight, float eps, ax_tensor *out, ax_tensor *residual_out);

/* Gradients of ax_rms_norm. With r = 1 / sqrt(mean_j(x^2) + eps) and xhat = x * r:
 *
 *     dx[r, j]   = r * (w[j] dout[r, j] - xhat[r, j] * mean_k(w[k] dout[r, k] xhat[r, k]))
 *     dweight[j] = sum_r dout[r, j] xhat[r, j]
 *
 *   const ax_tensor *x       (..., D): the forward's input (for the fused form: h, i.e. residual_out;
 *                            dx is then the gradient of both x and residual, to which the caller adds
 *                            the gradient reaching residual_out)
 *   const ax_tensor *weight  (D), x's dtype or f32, or NULL for weight 1
 *   const ax_tensor *dout    the shape of x, any float dtype
 *   float eps                as in the forward
 *   ax_tensor *dx            the shape of x, x's dtype or f32; may be dout (in place)
 *   ax_tensor *dweight       NULL, or (D) in any float dtype: overwritten with the sum (not added to)
 *
 * The statistics are recomputed from x (nothing is saved by the forward). dweight is deterministic:
 * the rows are cut into at most 128 runs fixed by the row count alone, each run sums its rows in
 * order, and the runs' partial sums are added in run order, so the result does not depend on the
 * number of threads (it may differ in the last bits between CPU paths and CUDA). Scratch: per
 * thread 3 rows of D floats, plus 2 x runs x D floats (host on CPU, device on CUDA). Otherwise as
 * ax_rms_norm. */
AX_API ax_status ax_rms_norm_backward(ax_context *ctx, const ax_tensor *x, const ax_tensor *weight,
                                      const ax_tensor *dout, float eps, ax_tensor *dx, ax_tensor *dweight);

/* Layer normalisation over the last dimension, with an optional fused residual add:
 *
 *     h[r, j]   = x[r, j] + residual[r, j]      (residual NULL: h = x)
 *     mean[r]   = mean_j h[r, j]
 *     rstd[r]   = 1 / sqrt(mean_j (h[r, j] - mean[r])^2 + eps)     (two passes over the row)
 *     out[r, j] = (h[r, j] - mean[r]) * rstd[r] * weight[j] + bias[j]
 *
 *   const ax_tensor *x            (..., D)
 *   const ax_tensor *residual     NULL, or the shape of x in any float dtype
 *   const ax_tensor *weight       (D), x's dtype or f32, or NULL for weight 1
 *   const ax_tensor *bias         (D), x's dtype or f32, or NULL for bias 0
 *   float eps                     >= 0 and finite
 *   ax_tensor *out                the shape of x, x's dtype or f32; may be x or residual (in place)
 *   ax_tensor *residual_out       NULL, or the shape of x in any float dtype: receives h; may be x or
 *                                 residual (in place)
 *   ax_tensor *mean, *rstd        NULL, or f32 with x's shape minus the last dim (0-dim for a 1-D x),
 *                                 any strides: the row statistics (for a backward that saves them);
 *                                 refused when D is 0 and there are rows (0 / 0: no statistics)
 *
 * Errors, scratch, CUDA and threads as ax_rms_norm. */
AX_API ax_status ax_layer_norm(ax_context *ctx, const ax_tensor *x, const ax_tensor *residual,
                               const ax_tensor *weight, const ax_tensor *bias, float eps, ax_tensor *out,
                               ax_tensor *residual_out, ax_tensor *mean, ax_tensor *rstd);

/* Gradients of ax_layer_norm. With xhat = (x - mean) * rstd and g = weight * dout:
 *
 *     dx[r, j]   = rstd * (g[r, j] - mean_k g[r, k] - xhat[r, j] * mean_k(g[r, k] xhat[r, k]))
 *     dweight[j] = sum_r dout[r, j] xhat[r, j]
 *     dbias[j]   = sum_r dout[r, j]
 *
 * Arguments as ax_rms_norm_backward, plus dbias: NULL or (D) in any float dtype, overwritten. The
 * statistics are recomputed from x; dweight and dbias are reduced deterministically as there. */
AX_API ax_status ax_layer_norm_backward(ax_context *ctx, const ax_tensor *x, const ax_tensor *weight,
                                        const ax_tensor *dout, float eps, ax_tensor *dx, ax_tensor *dweight,
                                        ax_tensor *dbias);

/* ------------------------------------------------------------------------------------------------
 * Rotary position embeddings (RoPE)
 * ---------------------------------------------------------------------------------------------- */

/* Which elements of a head form the rotated pairs. */
typedef enum ax_rope_layout {
    AX_ROPE_ADJACENT = 0, /* (x[2i], x[2i+1]): GGUF's Llama Q/K, llama.cpp's "normal" mode */
    AX_ROPE_NEOX = 1      /* (x[i], x[i + d/2]): GPT-NeoX, Hugging Face's rotate_half */
} ax_rope_layout;

/* RoPE settings. Zero-initialise, then set what differs: every zero field means its default. */
typedef struct ax_rope_options {
    int64_t rotary_dim;   /* d: leading elements of each head that rotate (even, <= D); 0 = D. The
                             rest (D - d) are passed through unchanged */
    ax_rope_layout layout;
    float base;           /* theta base; 0 = 10000. Finite and > 0 */
    float linear_factor;  /* linear position scaling ("position interpolation"): positions are divided
                             by it; 0 = 1. Finite and > 0, with 1 / linear_factor finite */
    float ntk_factor;     /* NTK-aware scaling: the base becomes base * ntk_factor^(d / (d - 2)); 0 = 1.
                             Finite and > 0; != 1 needs d >= 4 */
} ax_rope_options;

/* Rotates pairs of each head by angles that depend on the token's position:
 *
 *     theta_i = (1 / linear_factor) * (pos[t] * base'^(-2i / d)),  i = 0 .. d/2 - 1
 *     (a, b) = pair i of head h of token t (see ax_rope_layout)
 *     out_a = a cos(theta_i) - b sin(theta_i),   out_b = a sin(theta_i) + b cos(theta_i)
 *
 * Angles are computed in fp32, as llama.cpp does: base' = base * ntk_factor^(d/(d-2)) is computed
 * in double and rounded once to fp32; then freq_i = powf(base', -2i/d), theta_i = (1/linear_factor)
 * * ((float)pos * freq_i), and sin/cos of that fp32 angle (the accurate library functions, not
 * fast approximations). The fp32 angle carries a relative error of a few units of 2^-24, so a
 * rotation at position p is accurate to about p * 2^-22 radians; positions beyond 2^24 lose
 * integer precision.
 *
 *   const ax_tensor *x          (T, H, D): T tokens (a batch flattened), H heads, head dim D; any
 *                               strides on T and H, D contiguous. f32, bf16 or f16
 *   const ax_tensor *positions  (T), int32 or int64, any stride: each token's position (any value,
 *                               negative included)
 *   const ax_rope_options *opt  NULL for the defaults
 *   ax_tensor *out              the shape of x, x's dtype or f32; may be x itself (in place)
 *
 * Errors: besides the tensors, rotary_dim odd, negative or > D, a base or factor that is not finite
 * and > 0, a linear factor whose inverse overflows fp32, an NTK factor other than 1 with d < 4. Host
 * scratch: 3 rows of D floats per thread (CPU). */
AX_API ax_status ax_rope(ax_context *ctx, const ax_tensor *x, const ax_tensor *positions,
                         const ax_rope_options *opt, ax_tensor *out);

/* Gradient of ax_rope: the inverse rotation (sin negated) applied to dout; pass-through elements
 * pass through. Arguments as ax_rope (dout in place of x, dx in place of out; dx may be dout). */
AX_API ax_status ax_rope_backward(ax_context *ctx, const ax_tensor *dout, const ax_tensor *positions,
                                  const ax_rope_options *opt, ax_tensor *dx);

/* ------------------------------------------------------------------------------------------------
 * Activations and gated linear units
 * ---------------------------------------------------------------------------------------------- */

typedef enum ax_activation_kind {
    AX_ACT_SILU = 0,      /* x * sigmoid(x) (SwiGLU's gate) */
    AX_ACT_GELU_TANH = 1, /* 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
    AX_ACT_GELU_ERF = 2   /* 0.5 x (1 + erf(x / sqrt(2))) */
} ax_activation_kind;

/* out = act(x), element-wise.
 *
 *   ax_activation_kind kind   one of the above
 *   const ax_tensor *x        (..., F)
 *   ax_tensor *out            the shape of x, x's dtype or f32; may be x (in place)
 *
 * fp32 with the C library's expf / tanhf / erff (CPU) and CUDA's accurate expf / tanhf / erff;
 * SiLU's sigmoid on the CPU uses Axial's vector exp (1.4e-7 relative above -87, 0 below), the same
 * bits on every CPU path. Errors: besides the tensors, a kind outside the enum. Host scratch (all four functions): 5
 * rows of F floats per thread. */
AX_API ax_status ax_activation(ax_context *ctx, ax_activation_kind kind, const ax_tensor *x, ax_tensor *out);

/* dx = dout * act'(x), element-wise.
 *
 *   const ax_tensor *x      (..., F): the forward's input
 *   const ax_tensor *dout   the shape of x, any float dtype
 *   ax_tensor *dx           the shape of x, x's dtype or f32; may be x or dout (in place)
 *
 * act' is the exact derivative of the formula above (for GELU-tanh, of the tanh approximation). */
AX_API ax_status ax_activation_backward(ax_context *ctx, ax_activation_kind kind, const ax_tensor *x,
                                        const ax_tensor *dout, ax_tensor *dx);

/* Gated linear unit: out = act(gate) * up, element-wise. SwiGLU is kind AX_ACT_SILU, GeGLU
 * AX_ACT_GELU_TANH or AX_ACT_GELU_ERF.
 *
 *   const ax_tensor *gate   (..., F)
 *   const ax_tensor *up     the shape of gate, any float dtype. A fused (..., 2F) projection is two
 *                           views of one buffer: gate = the first F columns, up = the next F (same
 *                           strides, data advanced by F elements), or the halves the model's
 *                           checkpoint uses
 *   ax_tensor *out          the shape of gate, gate's dtype or f32; may be gate or up (in place)
 *
 * Errors and scratch as ax_activation. */
AX_API ax_status ax_glu(ax_context *ctx, ax_activation_kind kind, const ax_tensor *gate, const ax_tensor *up,
                        ax_tensor *out);

/* Gradients of ax_glu: dgate = dout * up * act'(gate), dup = dout * act(gate).
 *
 *   const ax_tensor *gate, *up   as in the forward
 *   const ax_tensor *dout        the shape of gate, any float dtype
 *   ax_tensor *dgate             the shape of gate, gate's dtype or f32; may be gate (in place)
 *   ax_tensor *dup               the shape of gate, gate's dtype or f32; may be up (in place)
 *
 * Errors and scratch as ax_activation. */
AX_API ax_status ax_glu_backward(ax_context *ctx, ax_activation_kind kind, const ax_tensor *gate,
                                 const ax_tensor *up, const ax_tensor *dout, ax_tensor *dgate, ax_tensor *dup);

/* ------------------------------------------------------------------------------------------------
 * Embedding lookup
 * ---------------------------------------------------------------------------------------------- */

/* out[t, :] = table[ids[t], :].
 *
 *   const ax_tensor *ids     (T), int32 or int64, any stride
 *   const ax_tensor *table   (V, D): f32, bf16, f16, or a block-quantized dtype (Q4_0, Q4_1, Q8_0,
 *                            Q4_K, Q6_K: D a multiple of the block size, row stride a whole number of
 *                            blocks, last dim contiguous) as a GGUF token_embd tensor is stored
 *   ax_tensor *out           (T, D), f32, bf16 or f16, last dim contiguous, any row stride
 *
 * Block rows are dequantized as ax_convert does (fp32, one rounding per operation, never fused),
 * then rounded once into out's dtype; plain rows are converted with one rounding (bit copies when
 * the dtypes match).
 *
 * Ids: on a CPU context every id is checked before anything is written: one outside [0, V) is
 * AX_ERR_INVALID_ARGUMENT naming its position and value. On a CUDA context the host never reads the
 * ids (no synchronisation): an id outside [0, V) gives a row of zeros in out, and nothing is read
 * outside the table. Scratch: on the CPU one row of D floats per thread for a block table into a
 * 16-bit out; none otherwise. */
AX_API ax_status ax_embedding(ax_context *ctx, const ax_tensor *ids, const ax_tensor *table, ax_tensor *out);

/* ------------------------------------------------------------------------------------------------
 * Softmax
 * ---------------------------------------------------------------------------------------------- */

/* Softmax over the last dimension, with the logits scaled first:
 *
 *     out[r, j] = exp(scale x[r, j] - m) / sum_k exp(scale x[r, k] - m),  m = max_k scale x[r, k]
 *
 *   const ax_tensor *x   (..., N)
 *   float scale          finite (1 for a plain softmax; a negative scale is allowed)
 *   ax_tensor *out       the shape of x, x's dtype or f32; may be x (in place)
 *
 * fp32. A row whose scaled logits are all -Inf (fully masked) gives zeros rather than NaN; a NaN
 * spreads over its row. exp is Axial's vector exp on the CPU (1.4e-7 relative above -87, 0 below,
 * the same bits on every path) and CUDA's accurate expf on the device. Host scratch: 2 rows of N floats per
 * thread. */
AX_API ax_status ax_softmax(ax_context *ctx, const ax_tensor *x, float scale, ax_tensor *out);

/* Gradient of ax_softmax from its output y:
 *
 *     dx[r, j] = scale * y[r, j] * (dout[r, j] - sum_k dout[r, k] y[r, k])
 *
 *   const ax_tensor *y      (..., N): the forward's output
 *   const ax_tensor *dout   the shape of y, any float dtype
 *   float scale             the forward's scale
 *   ax_tensor *dx           the shape of y, y's dtype or f32; may be y or dout (in place)
 *
 * Host scratch: 2 rows of N floats per thread. */
AX_API ax_status ax_softmax_backward(ax_context *ctx, const ax_tensor *y, const ax_tensor *dout, float scale,
                                     ax_tensor *dx);

#ifdef __cplusplus
}
#endif

#endif /* AXIAL_NN_H */
