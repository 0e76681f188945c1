/*
 * test_attention_determinism.c — ax_attention_backward gives identical bits when run twice with the
 * same inputs and thread count (attention.h promises no atomics and a fixed reduction order), on
 * shapes that take each of the CPU backend's reduction paths: one unit per (sequence, KV head), key
 * ranges with dq partial sums (one KV head, keys over several tiles), and a broadcast dbias summed
 * through per-thread copies. Run with 1, 2 and 4 threads, in f32 and in bf16 (whose products run on
 * AVX512-BF16 where the CPU has it, the bias and its gradient f32).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "axial/attention.h"
#include "harness.h"

static void fill(float *x, int64_t n, uint64_t seed) {
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        x[i] = (float)((double)(seed >> 40) / (double)(1ULL << 24) * 2.0 - 1.0);
    }
}

/* x[0..n) in place as bf16 (the high halves), packed at the same address. */
static void to_bf16(float *x, int64_t n) {
    uint16_t *h = (uint16_t *)(void *)x;
    for (int64_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], sizeof u);
        h[i] = (uint16_t)(u >> 16);
    }
}

/* Runs the forward once and the backward twice; returns 1 when both backward runs match bit for bit. */
static int same_bits(int threads, ax_dtype dt, int64_t B, int64_t S, int64_t H, int64_t Hkv, int64_t D, int causal,
                     int bias_form) {
    const int64_t nq = B * S * H * D, nk = B * S * Hkv * D;
    const int64_t bs[4] = {bias_form & 1 ? B : 1, bias_form & 2 ? H : 1, bias_form & 4 ? S : 1, bias_form & 8 ? S : 1};
    const int64_t nb = bs[0] * bs[1] * bs[2] * bs[3];
    float *buf = malloc((size_t)(6 * nq + 6 * nk + B * H * S + 3 * nb) * sizeof(float));
    if (buf == NULL) return 0;
    float *q = buf, *out = q + nq, *dout = out + nq, *dq[2] = {dout + nq, dout + 2 * nq}, *k = dout + 3 * nq;
    float *v = k + nk, *dk[2] = {v + nk, v + 2 * nk}, *dv[2] = {v + 3 * nk, v + 4 * nk}, *lse = v + 5 * nk;
    float *bias = lse + B * H * S, *db[2] = {bias + nb, bias + 2 * nb};
    fill(q, nq, 1), fill(k, nk, 2), fill(v, nk, 3), fill(dout, nq, 4), fill(bias, nb, 5);
    if (dt == AX_BF16) to_bf16(q, nq), to_bf16(k, nk), to_bf16(v, nk), to_bf16(dout, nq);
    const size_t es = dt == AX_BF16 ? 2 : 4;
    const int64_t sq[4] = {B, S, H, D}, sk[4] = {B, S, Hkv, D}, sl[3] = {B, H, S};
    ax_tensor tq, tk, tv, tout, tdout, tlse, tbias, tdq, tdk, tdv, tdb;
    ax_tensor_contiguous(&tq, q, dt, 4, sq);
    ax_tensor_contiguous(&tk, k, dt, 4, sk);
    ax_tensor_contiguous(&tv, v, dt, 4, sk);
    ax_tensor_contiguous(&tout, out, dt, 4, sq);
    ax_tensor_contiguous(&tdout, dout, dt, 4, sq);
    ax_tensor_contiguous(&tlse, lse, AX_F32, 3, sl);
    ax_tensor_contiguous(&tbias, bias, AX_F32, 4, bs);
    ax_context_config cfg = AX_CONTEXT_CONFIG_INIT;
    cfg.num_threads = threads;
    ax_context *ctx = NULL;
    int ok = ax_context_create(&ctx, &cfg) == AX_OK;
    ax_attention_options o = ax_attention_options_default();
    o.causal = causal;
    ok = ok && ax_attention_forward(ctx, &tq, &tk, &tv, bias_form ? &tbias : NULL, &o, &tout, &tlse) == AX_OK;
    for (int run = 0; run < 2 && ok; run++) {
        ax_tensor_contiguous(&tdq, dq[run], dt, 4, sq);
        ax_tensor_contiguous(&tdk, dk[run], dt, 4, sk);
        ax_tensor_contiguous(&tdv, dv[run], dt, 4, sk);
        ax_tensor_contiguous(&tdb, db[run], AX_F32, 4, bs);
        ok = ax_attention_backward(ctx, &tq, &tk, &tv, bias_form ? &tbias : NULL, &tout, &tlse, &tdout, &o, &tdq, &tdk,
                                   &tdv, bias_form ? &tdb : NULL) == AX_OK;
    }
    if (!ok) printf("  %s\n", ax_last_error());
    ok = ok && memcmp(dq[0], dq[1], (size_t)nq * es) == 0 && memcmp(dk[0], dk[1], (size_t)nk * es) == 0 &&
         memcmp(dv[0], dv[1], (size_t)nk * es) == 0 &&
         (!bias_form || memcmp(db[0], db[1], (size_t)nb * sizeof(float)) == 0);
    ax_context_destroy(ctx);
    free(buf);
    return ok;
}

static void test_repeat_bits(void) {
    const int threads[3] = {1, 2, 4};
    const ax_dtype dtypes[2] = {AX_F32, AX_BF16};
    for (int d = 0; d < 2; d++)
        for (int t = 0; t < 3; t++) {
            const ax_dtype dt = dtypes[d];
            CHECK(same_bits(threads[t], dt, 2, 150, 4, 2, 32, 1, 0));    /* units own their outputs */
            CHECK(same_bits(threads[t], dt, 1, 300, 4, 1, 16, 0, 0));    /* key ranges, dq partials */
            CHECK(same_bits(threads[t], dt, 2, 130, 2, 2, 16, 1, 12));   /* dbias (1, 1, S, S): per-thread copies */
            CHECK(same_bits(threads[t], dt, 1, 200, 2, 1, 8, 0, 8 | 2)); /* both */
        }
}

int main(void) {
    RUN(test_repeat_bits);
    return th_finish();
}
