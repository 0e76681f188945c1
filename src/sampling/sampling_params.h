/*
 * sampling_params.h — the parameter struct of ax_sample (include/axial/sampling.h), filled and
 * validated on the host by sample.c and read by the CPU kernel (sample.c) and the CUDA kernel
 * (cuda/sample.cu), and the small helpers both follow so that they compute the documented
 * procedure the same way: the counter-based uniform, the settings' clamping, the penalty formula
 * and the sort key. Plain C, so the .cu file includes it too.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_SAMPLING_PARAMS_H
#define AXIAL_SAMPLING_PARAMS_H

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "axial/axial.h"
#include "axial/sampling.h"
#include "core/fp_rounded.h"
#include "core/op.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sampling_params {
    const void *logits;                  /* (N, V), row r at element r * logits_row_stride */
    ax_dtype logits_dtype;
    int64_t logits_row_stride;
    const unsigned char *settings;       /* (N, AX_SAMPLING_ROW_BYTES), contiguous */
    const int32_t *history_ids;          /* (H) at element j * history_stride, or NULL */
    int64_t history_stride, H;
    const int64_t *history_offsets;      /* (N + 1) at element i * offsets_stride, or NULL */
    int64_t offsets_stride;
    int32_t *tokens;                     /* (N) at element r * tokens_stride */
    int64_t tokens_stride;
    float *probs;                        /* (N) at element r * probs_stride, or NULL */
    int64_t probs_stride;
    int64_t N, V;
} sampling_params;

ax_status sample_cuda(const ax_op_call *call);
ax_status sample_cuda_workspace(const ax_context *ctx, const void *params, ax_op_workspace *need);

/* SplitMix64's finaliser (a bijection of 64-bit words). */
AX_HOST_DEVICE static inline uint64_t sampling_mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* The uniform of sampling.h: a stateless function of (seed, counter), so a row draws the same
 * number in any batch, on any backend and thread. */
AX_HOST_DEVICE static inline double sampling_uniform(uint64_t seed, uint64_t counter) {
    const uint64_t bits = sampling_mix64(sampling_mix64(seed) + 0x9E3779B97F4A7C15ull * (counter + 1u));
    return (double)(bits >> 11) * (1.0 / 9007199254740992.0);
}

/* Row r's settings, read with a byte copy (the tensor needs no alignment) and clamped into range as
 * sampling.h documents: a no-op for settings that ax_sampling_check accepts, and on CUDA (where the
 * host cannot check them) a guarantee that no value leads the kernel astray. */
AX_HOST_DEVICE static inline ax_sampling_row sampling_row_load(const unsigned char *settings, int64_t r) {
    ax_sampling_row s;
    memcpy(&s, settings + r * AX_SAMPLING_ROW_BYTES, sizeof s);
    if (!(s.temperature > 0.0f)) s.temperature = 0.0f;
    if (!(s.top_p > 0.0f && s.top_p <= 1.0f)) s.top_p = 1.0f;
    if (!(s.min_p >= 0.0f)) s.min_p = 0.0f;
    if (s.min_p > 1.0f) s.min_p = 1.0f;
    if (!(s.repetition_penalty > 0.0f) || isinf(s.repetition_penalty)) s.repetition_penalty = 1.0f;
    if (isnan(s.frequency_penalty)) s.frequency_penalty = 0.0f;
    if (isnan(s.presence_penalty)) s.presence_penalty = 0.0f;
    return s;
}

/* 1 when the penalties can change a logit. */
AX_HOST_DEVICE static inline int sampling_penalties_on(const ax_sampling_row *s) {
    return s->repetition_penalty != 1.0f || s->frequency_penalty != 0.0f || s->presence_penalty != 0.0f;
}

/* Step 2 of the procedure for a token seen `count` >= 1 times. The penalties are finite, so an
 * infinite w stays as it is; in f32 they can still overflow (count * frequency_penalty, or w /
 * repetition_penalty) and meet an infinity of the other sign, and that NaN is taken as -inf, as
 * step 1 takes a NaN logit: no NaN reaches the steps after (their buckets and keys assume none). */
AX_HOST_DEVICE static inline float sampling_penalize(float w, uint32_t count, const ax_sampling_row *s) {
    if (isinf(w)) return w;
    if (s->repetition_penalty != 1.0f) w = w > 0.0f ? w / s->repetition_penalty : w * s->repetition_penalty;
    /* Rounded step by step on both backends (nvcc would fuse the multiply-add: count 3, frequency
     * 0.2, presence 0.1 give a penalty of 0.700000048 on the CPU and 0.699999988 fused, and a logit
     * 1 then ties one of 0.3 on CUDA instead of losing to it). */
    const float r = AX_FSUB(w, AX_FADD(AX_FMUL((float)count, s->frequency_penalty), s->presence_penalty));
    return isnan(r) ? -INFINITY : r;
}

/* Step 4's test: the temperature is so small that the largest finite |w| (max_abs) divided by it
 * overflows f32, and the row is greedy. Dividing regardless had turned every finite negative w into
 * -inf (a row of them came out "fully masked", token -1) and positive ones into +inf ties. */
AX_HOST_DEVICE static inline int sampling_too_cold(float max_abs, float temperature) {
    return temperature > 0.0f && max_abs / temperature > FLT_MAX;
}

/* An unsigned key that orders floats as their values do (-inf lowest, +inf highest; no NaN here;
 * -0 and +0 equal, so that such a tie goes to the lower id as in greedy). */
AX_HOST_DEVICE static inline uint32_t sampling_float_key(float x) {
    if (x == 0.0f) x = 0.0f;
    uint32_t b;
    memcpy(&b, &x, sizeof b);
    return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}

/* One key per token for the order of step 5: larger key = earlier (x descending, then id
 * ascending); unique, since the low half is the id's complement. */
AX_HOST_DEVICE static inline uint64_t sampling_token_key(float x, int64_t id) {
    return ((uint64_t)sampling_float_key(x) << 32) | (uint64_t)(0xFFFFFFFFu - (uint32_t)id);
}

AX_HOST_DEVICE static inline int64_t sampling_key_id(uint64_t key) {
    return (int64_t)(0xFFFFFFFFu - (uint32_t)(key & 0xFFFFFFFFu));
}

/* e of step 7: 1 at the maximum (so a +inf maximum gives 1, not NaN), else expf(x - m). */
AX_HOST_DEVICE static inline float sampling_weight(float x, float m) { return x == m ? 1.0f : expf(x - m); }

#ifdef __cplusplus
}
#endif

#endif /* AXIAL_SAMPLING_PARAMS_H */
