/*
 * naive_attention.c — see naive_attention.h. Heads run in parallel (OpenMP), each with single-thread
 * BLAS calls, which is how a framework without a fused kernel spends its time and memory.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "naive_attention.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

void naive_forward(int64_t B, int64_t N, int64_t S, int64_t H, int64_t D, const float *q, const float *k,
                   const float *v, const float *mask, const float *pair, float *probs, float *out) {
    const float scale = 1.0f / sqrtf((float)D);
    const int64_t HD = H * D;
#pragma omp parallel for schedule(static)
    for (int64_t head = 0; head < B * N * H; head++) {
        const int64_t h = head % H, n = (head / H) % N, b = head / H / N;
        const int64_t base = ((b * N + n) * S) * HD + h * D;
        float *p = probs + head * S * S;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)S, (int)S, (int)D, scale, q + base, (int)HD, k + base,
                    (int)HD, 0.0f, p, (int)S);
        for (int64_t i = 0; i < S; i++) {
            float *row = p + i * S;
            float mx = -INFINITY;
            for (int64_t j = 0; j < S; j++) {
                row[j] += mask[(b * N + n) * S + j] + pair[((b * H + h) * S + i) * S + j];
                mx = row[j] > mx ? row[j] : mx;
            }
            float sum = 0.0f;
            for (int64_t j = 0; j < S; j++) {
                row[j] = expf(row[j] - mx);
                sum += row[j];
            }
            for (int64_t j = 0; j < S; j++) row[j] /= sum;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)S, (int)D, (int)S, 1.0f, p, (int)S, v + base,
                    (int)HD, 0.0f, out + base, (int)HD);
    }
}

void naive_backward(int64_t B, int64_t N, int64_t S, int64_t H, int64_t D, const float *q, const float *k,
                    const float *v, const float *probs, const float *dout, float *dprobs, float *dq, float *dk,
                    float *dv, float *dmask, float *dpair) {
    const float scale = 1.0f / sqrtf((float)D);
    const int64_t HD = H * D;
#pragma omp parallel for schedule(static)
    for (int64_t head = 0; head < B * N * H; head++) {
        const int64_t h = head % H, n = (head / H) % N, b = head / H / N;
        const int64_t base = ((b * N + n) * S) * HD + h * D;
        const float *p = probs + head * S * S;
        float *ds = dprobs + head * S * S;
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)S, (int)D, (int)S, 1.0f, p, (int)S, dout + base,
                    (int)HD, 0.0f, dv + base, (int)HD);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)S, (int)S, (int)D, 1.0f, dout + base, (int)HD,
                    v + base, (int)HD, 0.0f, ds, (int)S);
        for (int64_t i = 0; i < S; i++) {
            float delta = 0.0f;
            for (int64_t j = 0; j < S; j++) delta += p[i * S + j] * ds[i * S + j];
            for (int64_t j = 0; j < S; j++) ds[i * S + j] = p[i * S + j] * (ds[i * S + j] - delta);
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)S, (int)D, (int)S, scale, ds, (int)S, k + base,
                    (int)HD, 0.0f, dq + base, (int)HD);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)S, (int)D, (int)S, scale, ds, (int)S, q + base,
                    (int)HD, 0.0f, dk + base, (int)HD);
    }
    /* Bias gradients: sums over the materialised dS. */
    memset(dmask, 0, (size_t)(B * N * S) * sizeof(float));
    memset(dpair, 0, (size_t)(B * H * S * S) * sizeof(float));
    for (int64_t b = 0; b < B; b++)
        for (int64_t n = 0; n < N; n++)
            for (int64_t h = 0; h < H; h++) {
                const float *ds = dprobs + ((b * N + n) * H + h) * S * S;
                float *dp = dpair + (b * H + h) * S * S;
                float *dm = dmask + (b * N + n) * S;
                for (int64_t i = 0; i < S; i++)
                    for (int64_t j = 0; j < S; j++) {
                        dp[i * S + j] += ds[i * S + j];
                        dm[j] += ds[i * S + j];
                    }
            }
}
