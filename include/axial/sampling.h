/*
 * sampling.h — choosing the next token from a batch of logits rows, as a serving engine does it:
 * greedy, temperature, top-k, top-p (nucleus), min-p, repetition / frequency / presence penalties,
 * every row with its own settings and history, seeded per sequence so that the same (seed, counter)
 * draws the same token whatever batch the row is in. CPU and CUDA.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 *
 * Conventions are those of axial.h (status codes, ax_last_error, caller-owned tensors, strides in
 * elements). docs/sampling.md has the same procedure in prose, with the reasons behind it.
 *
 * THE PROCEDURE, for one row r of V logits (every backend follows it in this order):
 *
 *   1. w[t] = logits[r, t] widened to f32; a NaN becomes -inf. A token whose w is -inf is "masked":
 *      it is never chosen.
 *   2. Penalties, for every distinct token t of the row's history (c = how often t occurs there):
 *        if repetition_penalty != 1:  w[t] = w[t] > 0 ? w[t] / repetition_penalty
 *                                                     : w[t] * repetition_penalty
 *        w[t] = w[t] - (c * frequency_penalty + presence_penalty)
 *      (llama.cpp's order: CTRL's repetition penalty, then OpenAI's frequency and presence). f32,
 *      each operation rounded on its own (no fused multiply-add, on CUDA either).
 *      A w of +-inf keeps its value; a NaN from overflowing penalties (inf - inf) becomes -inf.
 *   3. temperature == 0: greedy. The token is the largest w, the lowest id among equal ones;
 *      prob = 1. Steps 4-10 are skipped (every filter below keeps the largest token anyway).
 *   4. x[t] = w[t] / temperature (f32 division). If that overflows for some finite w (temperature
 *      below max|w| / FLT_MAX: ~1e-37 for logits of order 10), the row is greedy as in step 3 (the
 *      limit as temperature -> 0) instead: prob = 1.
 *   5. The unmasked tokens in the order "x descending, then id ascending" (-0 and +0 equal); M of
 *      them.
 *   6. top-k: K = top_k if 0 < top_k < M, else M. The candidates are the first K of that order.
 *   7. e[t] = expf(x[t] - m), m = the first candidate's x (e = 1 where x[t] == m, so +inf logits
 *      share the mass); S_K = the sum of e over the candidates (p[t] = e[t] / S_K is the softmax).
 *   8. top-p: if top_p < 1, n_p = the smallest n >= 1 such that the first n candidates' e sum to at
 *      least top_p * S_K; else n_p = K.
 *   9. min-p: n_m = the number of candidates with e[t] >= min_p (that is, p[t] >= min_p * p_max; at
 *      least 1, since e = 1 for the first).
 *  10. The kept tokens are the first n = min(K, n_p, n_m) of the order; S = the sum of their e.
 *      u = ax_sampling_uniform(seed, counter). Walking the kept tokens in increasing id order and
 *      summing their e, the chosen token is the first at which the running sum exceeds u * S
 *      (the last kept one if rounding leaves u * S at S). prob = e[chosen] / S.
 *   A row whose every token is masked gives token -1 and prob 0 (greedy or not).
 *
 * Arithmetic: w, x and e are f32 (expf, not a fast approximation); S_K, S and the running sums are
 * at least f64 (the CUDA kernel finds the top-p cut with sums in 2^-40 fixed point). So backends
 * agree on the kept set and the token except where a sum lands within rounding (~1e-7 relative) of
 * a boundary: u * S on a CDF step, or top_p * S_K on a prefix sum. Each backend is deterministic:
 * the same inputs give the same tokens on every run and for every CPU thread count and batch shape.
 *
 * THE RANDOM NUMBER: one uniform double per (seed, counter), counter-based so no state is kept:
 *
 *     mix(z):  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
 *              z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
 *              return z ^ (z >> 31);                         (SplitMix64's finaliser, mod 2^64)
 *     bits = mix(mix(seed) + 0x9E3779B97F4A7C15 * (counter + 1))
 *     u    = (bits >> 11) * 2^-53                            (in [0, 1), exactly representable)
 *
 * ax_sampling_uniform computes it on the host, bit for bit as the kernels do.
 */
#ifndef AXIAL_SAMPLING_H
#define AXIAL_SAMPLING_H

#include <stdint.h>

#include "axial/axial.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The settings of one row (one request). A batch passes an array of these, one per row, as a U8
 * tensor of shape (N, AX_SAMPLING_ROW_BYTES): the bytes of the structs, in the host's byte order,
 * on the context's device (so a serving engine can keep them on the GPU and update them there).
 * Rows are read with byte copies: the array needs no particular alignment. */
typedef struct ax_sampling_row {
    uint64_t seed;              /* the sequence's seed */
    uint64_t counter;           /* which draw of the sequence this is, e.g. tokens generated so far */
    float temperature;          /* 0: greedy; else > 0 and finite */
    int32_t top_k;              /* <= 0: off; else keep the top_k largest (>= V: off) */
    float top_p;                /* in (0, 1]; 1: off */
    float min_p;                /* in [0, 1]; 0: off */
    float repetition_penalty;   /* > 0 and finite; 1: off */
    float frequency_penalty;    /* finite; 0: off (negative values reward repeats) */
    float presence_penalty;     /* finite; 0: off */
    uint32_t reserved;          /* must be 0 */
} ax_sampling_row;

#define AX_SAMPLING_ROW_BYTES 48

/* Settings that change nothing: plain sampling at temperature 1 with seed 0, counter 0. */
#define AX_SAMPLING_ROW_INIT { 0u, 0u, 1.0f, 0, 1.0f, 0.0f, 1.0f, 0.0f, 0.0f, 0u }

/* The uniform of (seed, counter) described above, in [0, 1). Thread-safe, no errors. */
AX_API double ax_sampling_uniform(uint64_t seed, uint64_t counter);

/* Samples one token per row:
 *
 *   ax_context *ctx                  CPU or CUDA context; every tensor on its device
 *   const ax_tensor *logits          (N, V) f32, bf16 or f16; last dim contiguous, any row stride;
 *                                    V >= 1 and V < 2^31
 *   const ax_tensor *settings        (N, AX_SAMPLING_ROW_BYTES) u8: row r holds row r's
 *                                    ax_sampling_row; both dims contiguous
 *   const ax_tensor *history_ids     (H) i32, any stride: the token ids of every row's history
 *                                    (prompt and/or generated tokens, as the caller wants the
 *                                    penalties to see them), rows one after another; or NULL
 *   const ax_tensor *history_offsets (N + 1) i64, any stride: row r's history is
 *                                    history_ids[offsets[r] .. offsets[r + 1]); offsets[0] >= 0,
 *                                    non-decreasing, offsets[N] <= H. NULL exactly when history_ids
 *                                    is NULL (no history: the penalties change nothing)
 *   ax_tensor *tokens                (N) i32, any stride: the chosen ids (-1 for a fully masked row)
 *   ax_tensor *probs                 (N) f32, any stride, or NULL: the chosen token's probability in
 *                                    the distribution it was drawn from (step 10; 1 for greedy rows,
 *                                    0 for masked rows). log(probs) is its logprob.
 *
 * The outputs must not overlap each other or an input. N == 0 does nothing.
 *
 * Host-side checks. On a CPU context the settings and the history are checked before anything is
 * written (ax_sampling_check, below, names the row and field). On a CUDA context they live on the
 * device and are not read by the host (no synchronisation): check them with ax_sampling_check
 * where they are built. The kernel then never reads out of bounds whatever they hold (ids outside
 * [0, V) are skipped, offsets clamped into [0, H] and made non-decreasing, settings outside their
 * range clamped: temperature < 0 or NaN as greedy, top_p outside (0, 1] as 1, min_p into [0, 1],
 * repetition_penalty <= 0 or NaN as 1), but the tokens of such a row are unspecified.
 *
 * Scratch (from the context's workspace, nothing allocated per call): CPU, 20 * V bytes per thread
 * (one row at a time per thread); CUDA, 8 * V bytes per resident thread block (at most 2 per SM).
 *
 * Errors: AX_ERR_INVALID_ARGUMENT naming the tensor and dimension, or the row and field of a bad
 * setting or history; AX_ERR_UNSUPPORTED (a CUDA context in a build without CUDA; V >= 2^24 on
 * CUDA); AX_ERR_OUT_OF_MEMORY (workspace limit); AX_ERR_CUDA. CUDA: queued on
 * the context's stream, no host synchronisation. Thread-safe with distinct contexts. */
AX_API ax_status ax_sample(ax_context *ctx, const ax_tensor *logits, const ax_tensor *settings,
                           const ax_tensor *history_ids, const ax_tensor *history_offsets, ax_tensor *tokens,
                           ax_tensor *probs);

/* Checks host copies of a batch's settings and history as ax_sample does on a CPU context:
 *   rows        n settings (host memory)
 *   ids         h history token ids (host memory), or NULL with offsets NULL
 *   offsets     n + 1 offsets into ids (host memory), or NULL
 *   vocab_size  V, >= 1
 * Errors: AX_ERR_INVALID_ARGUMENT naming the row and field ("settings[3].top_p: 1.5, expected a
 * value in (0, 1]", "history_offsets[2]: 7 is less than history_offsets[1] (9)",
 * "history_ids[12]: token 50257 of row 1, expected an id in [0, V = 50257)"). Thread-safe. */
AX_API ax_status ax_sampling_check(const ax_sampling_row *rows, int64_t n, const int32_t *ids, int64_t h,
                                   const int64_t *offsets, int64_t vocab_size);

#ifdef __cplusplus
}
#endif

#endif /* AXIAL_SAMPLING_H */
