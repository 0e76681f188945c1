/*
 * naive_attention.h — the baseline every Evoformer benchmark prints beside Axial: attention that
 * materialises the full (B, N, H, S, S) logits like a framework would, with BLAS for the products.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_BENCH_NAIVE_ATTENTION_H
#define AXIAL_BENCH_NAIVE_ATTENTION_H

#include <stdint.h>

/* Contiguous fp32 (B, N, S, H, D) tensors; mask (B, N, 1, 1, S), pair (B, 1, H, S, S). `probs` is a
 * caller-provided (B, N, H, S, S) buffer (the materialised logits), kept for the backward. */
void naive_forward(int64_t B, int64_t N, int64_t S, int64_t H, int64_t D, const float *q, const float *k,
                   const float *v, const float *mask, const float *pair, float *probs, float *out);

/* Backward from the stored probabilities; `dprobs` is a second (B, N, H, S, S) buffer. */
void naive_backward(int64_t B, int64_t N, int64_t S, int64_t H, int64_t D, const float *q, const float *k,
                    const float *v, const float *probs, const float *dout, float *dprobs, float *dq, float *dk,
                    float *dv, float *dmask, float *dpair);

#endif /* AXIAL_BENCH_NAIVE_ATTENTION_H */
