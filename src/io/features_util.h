/*
 * features_util.h — small private helpers of the features area: checked size arithmetic and the
 * batch builder's random number generator.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_IO_FEATURES_UTIL_H
#define AXIAL_IO_FEATURES_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* *out = a * b for non-negative a, b; returns 0 when the product (or its byte size elem_size * a * b)
 * would not fit in int64/size_t, so callers never allocate a wrapped size. */
static inline int ax_feat_mul(int64_t a, int64_t b, size_t elem_size, int64_t *out) {
    if (a < 0 || b < 0) return 0;
    if (a != 0 && b > INT64_MAX / a) return 0;
    const int64_t n = a * b;
    if (elem_size != 0 && (uint64_t)n > (uint64_t)(SIZE_MAX / elem_size)) return 0;
    if (elem_size != 0 && (uint64_t)n > (uint64_t)INT64_MAX / elem_size) return 0;
    *out = n;
    return 1;
}

/* xoshiro256** (Blackman and Vigna), seeded through splitmix64 so that any 64-bit seed, including 0,
 * gives a well-mixed state. Written out here rather than using rand(): the stream must be the same
 * on every platform and independent of other users of the C library's generator. */
typedef struct ax_rng {
    uint64_t s[4];
} ax_rng;

static inline uint64_t ax_rng_splitmix(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline void ax_rng_seed(ax_rng *rng, uint64_t seed) {
    for (int i = 0; i < 4; i++) rng->s[i] = ax_rng_splitmix(&seed);
}

static inline uint64_t ax_rng_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t ax_rng_next(ax_rng *rng) {
    uint64_t *s = rng->s;
    const uint64_t result = ax_rng_rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = ax_rng_rotl(s[3], 45);
    return result;
}

/* Uniform in [0, 1) with 24 random bits: exactly representable as a float, so comparisons against
 * float probabilities are the same on every platform. */
static inline float ax_rng_uniform(ax_rng *rng) { return (float)(ax_rng_next(rng) >> 40) * 0x1.0p-24f; }

/* Uniform integer in [0, n) for 0 < n <= 2^32 by Lemire's multiply-shift on 32 random bits; the
 * bias (at most n / 2^32) is far below anything a training batch can notice. */
static inline uint64_t ax_rng_below(ax_rng *rng, uint64_t n) {
    return ((ax_rng_next(rng) >> 32) * n) >> 32;
}

#endif /* AXIAL_IO_FEATURES_UTIL_H */
