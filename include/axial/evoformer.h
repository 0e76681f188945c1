/*
 * evoformer.h — Evoformer attention with two bias terms (AlphaFold2/OpenFold MSA row/column and
 * triangle attention), forward and backward, without ever materialising the S x S logits.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 *
 * Semantics, for every b < B, n < N, h < H, query i < S:
 *
 *     logit[j] = (q[b,n,i,h,:] . k[b,n,j,h,:]) / sqrt(D) + bias_mask[b,n,0,0,j] + bias_pair[b,0,h,i,j]
 *     p[j]     = softmax_j(logit)
 *     out[b,n,i,h,:] = sum_j p[j] * v[b,n,j,h,:]
 *     lse[b,n,h,i]   = log(sum_j exp(logit[j]))
 *
 * A missing bias (NULL) counts as zero. A bias may have size 1 in any dimension (broadcast), e.g.
 * bias_mask (B, 1, 1, 1, S) shared by every row, or bias_pair (1, 1, H, S, S).
 *
 * Fully masked rows: a query row whose every logit is -inf gets out = 0, lse = -inf, and zero
 * gradients for everything it touches. No NaN is produced from -inf biases; a NaN in q, k or a bias
 * makes the rows that see it NaN (out, lse, gradients), as in PyTorch. An infinite or NaN v at a
 * masked key can reach out in rows that see some key (0 * inf in the P . v product, as in
 * PyTorch; a fully masked row is written as 0), but no gradient given an out without
 * it: the backward's dS is exactly 0 wherever P is 0. Given that NaN out, the row's gradients are
 * NaN (the backward reads out: delta = rowsum(dout * out)); zero a padded residue's v to avoid it.
 *
 * Huge finite masks (1e9 * (mask - 1), 1e9 * mask - 1, -3e38): each (b, n) row of bias_mask is used
 * less its largest value (when finite), which softmax does not see, so a row masked on every key
 * attends as in float64 (softmax of q.k / sqrt(D) + bias_pair) rather than losing q.k to fp32
 * rounding; lse is still the log-sum-exp of the logits above. The backward recomputes the softmax
 * statistics of rows whose |lse| >= 64 (too large to be exact in fp32) instead of reading lse, so
 * its gradients are those of the forward for any finite biases (docs/evoformer-attention.md).
 *
 * dtypes: q, k, v, out (and dout, dq, dk, dv) share one dtype: AX_F32, AX_BF16 or AX_F16. Each bias
 * (and its gradient) is in that dtype or AX_F32. lse is always AX_F32. Accumulation is fp32. bf16 on a
 * CPU with AVX512-BF16 (avx512 path): the probabilities, and in the backward dS, are rounded to bf16
 * before their products, as GPU tensor cores take them (docs/evoformer-attention.md; AXIAL_BF16=0
 * keeps them fp32); with AMX too and D a multiple of 32 whole tiles' products (the forward's, and
 * the backward's logits, dp and dq) run on AMX tiles, with the same rounding (ax_cpu_amx_tiles;
 * AXIAL_AMX=0 turns them off); each thread of the call releases its tile state before the call
 * returns, so a caller's own AMX code must configure again afterwards.
 *
 * Limits: any B, N, S, H >= 1 (a 0 among them is a no-op, except that a bias gradient broadcast over
 * the empty dim still has elements and is zeroed: the gradient of an empty sum); D from 1 to 256 on
 * the CPU (D = 0 is AX_ERR_UNSUPPORTED). On CUDA,
 * D must be a multiple of 8 and at most 128, and the last dimension of q/k/v/out/dout/grads must be
 * contiguous; anything else returns AX_ERR_UNSUPPORTED naming the reason.
 *
 * Strides: arbitrary (in elements, as in ax_tensor); a contiguous last dimension is the fast path.
 * Outputs must not overlap each other or any input.
 *
 * Memory (CPU): the forward holds one head's packed K and V (O(S*D) fp32) plus O(tile) buffers per
 * thread. The backward holds, per thread, fp32 dK/dV accumulators and packed K/V: one head's
 * (O(S*D)), or, when dbias_pair is wanted with whole rows and S times its key dimension exceeds
 * 256K, those of its work unit's heads (a unit is a range of n for every (b, h) that dbias_pair
 * broadcasts over). With dbias_pair it also holds one fp32 partial slice of dbias_pair per unit
 * (about 64 units; at most 64 MiB in all, whatever the thread count), and O(B*H*N*S) fp32 shared
 * for the bias_mask gradient. Never O(S^2) per head beyond those slices. docs/evoformer-attention.md gives the details.
 * ax_context_workspace_peak() reports the bytes an op used; a context's workspace_limit caps them.
 *
 * Determinism: backward never uses floating-point atomics. dbias_pair (summed over N and any
 * broadcast dimension) and dbias_mask (summed over H, the query axis and any broadcast dimension) are
 * reduced in a fixed order: two runs with the same build, inputs and thread count (CUDA: the same
 * device model, whose SM count sets how the dbias_pair sum is split) give bitwise identical
 * gradients (all of them).
 *
 * Device: the context's device. All tensors must live there (host pointers for AX_CPU, device
 * pointers for AX_CUDA). CUDA ops are queued on the context's stream and do not synchronise the
 * host.
 *
 * Thread safety: calls on different contexts may run concurrently; one context serves one call at a
 * time.
 *
 * Errors (all before any output is written): AX_ERR_INVALID_ARGUMENT for a NULL context or required
 * tensor, wrong ndim, mismatched shapes, a dtype mix outside the rules above, a tensor on another
 * device, overlapping outputs; AX_ERR_UNSUPPORTED for limits above; AX_ERR_OUT_OF_MEMORY when
 * scratch cannot be allocated or exceeds the context's workspace limit; AX_ERR_CUDA for a CUDA
 * failure. ax_last_error() names the tensor and dimension.
 */
#ifndef AXIAL_EVOFORMER_H
#define AXIAL_EVOFORMER_H

#include "axial/axial.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Forward pass. lse may be NULL when no backward follows. */
AX_API ax_status ax_evoformer_attention_forward(
    ax_context *ctx,
    const ax_tensor *q,         /* (B, N, S, H, D) */
    const ax_tensor *k,         /* (B, N, S, H, D) */
    const ax_tensor *v,         /* (B, N, S, H, D) */
    const ax_tensor *bias_mask, /* NULL or broadcastable to (B, N, 1, 1, S) */
    const ax_tensor *bias_pair, /* NULL or broadcastable to (B, 1, H, S, S) */
    ax_tensor *out,             /* (B, N, S, H, D), same dtype as q */
    ax_tensor *lse);            /* NULL or (B, N, H, S) fp32: log-sum-exp per query row */

/* Backward pass. Needs the forward's out and lse (with the same inputs). dq, dk, dv are required;
 * dbias_mask / dbias_pair may be NULL (not wanted) and must be NULL when their bias is NULL. Each bias
 * gradient has its bias's shape and receives the gradient summed over that bias's broadcast
 * dimensions. All outputs are overwritten (not accumulated into). */
AX_API ax_status ax_evoformer_attention_backward(
    ax_context *ctx,
    const ax_tensor *q,         /* (B, N, S, H, D) */
    const ax_tensor *k,         /* (B, N, S, H, D) */
    const ax_tensor *v,         /* (B, N, S, H, D) */
    const ax_tensor *bias_mask, /* NULL or broadcastable to (B, N, 1, 1, S) */
    const ax_tensor *bias_pair, /* NULL or broadcastable to (B, 1, H, S, S) */
    const ax_tensor *out,       /* (B, N, S, H, D): the forward's output */
    const ax_tensor *lse,       /* (B, N, H, S) fp32: the forward's lse */
    const ax_tensor *dout,      /* (B, N, S, H, D): gradient of the loss w.r.t. out */
    ax_tensor *dq,              /* (B, N, S, H, D) */
    ax_tensor *dk,              /* (B, N, S, H, D) */
    ax_tensor *dv,              /* (B, N, S, H, D) */
    ax_tensor *dbias_mask,      /* NULL, or the shape of bias_mask */
    ax_tensor *dbias_pair);     /* NULL, or the shape of bias_pair */

#ifdef __cplusplus
}
#endif

#endif /* AXIAL_EVOFORMER_H */
