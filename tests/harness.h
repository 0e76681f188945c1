/*
 * harness.h — a small test harness: checks that name the values that failed, a per-file runner,
 * and helpers shared by the C tests. Header-only so each test is one self-contained program.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_TESTS_HARNESS_H
#define AXIAL_TESTS_HARNESS_H

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axial/axial.h"

/* Shared by every translation unit of a test program (weak definitions merge at link time), so a
 * check failing in a helper file (e.g. evoformer_reference.c) counts in the program's summary. */
__attribute__((weak)) int th_failures;
__attribute__((weak)) int th_checks;
__attribute__((weak)) const char *th_current = "";

#define TH_FAIL(...)                                                        \
    do {                                                                    \
        th_failures++;                                                      \
        fprintf(stderr, "FAIL %s (%s:%d): ", th_current, __FILE__, __LINE__); \
        fprintf(stderr, __VA_ARGS__);                                       \
        fputc('\n', stderr);                                                \
    } while (0)

#define CHECK(cond)                                             \
    do {                                                        \
        th_checks++;                                            \
        if (!(cond)) TH_FAIL("expected %s", #cond);             \
    } while (0)

#define CHECK_INT_EQ(a, b)                                                               \
    do {                                                                                 \
        th_checks++;                                                                     \
        long long th_a_ = (long long)(a), th_b_ = (long long)(b);                        \
        if (th_a_ != th_b_) TH_FAIL("%s == %s: got %lld, expected %lld", #a, #b, th_a_, th_b_); \
    } while (0)

#define CHECK_STR_EQ(a, b)                                                                   \
    do {                                                                                     \
        th_checks++;                                                                         \
        const char *th_a_ = (a), *th_b_ = (b);                                               \
        if (strcmp(th_a_, th_b_) != 0) TH_FAIL("%s == %s: got \"%s\", expected \"%s\"", #a, #b, th_a_, th_b_); \
    } while (0)

#define CHECK_CONTAINS(haystack, needle)                                                  \
    do {                                                                                  \
        th_checks++;                                                                      \
        const char *th_h_ = (haystack), *th_n_ = (needle);                                \
        if (strstr(th_h_, th_n_) == NULL) TH_FAIL("\"%s\" should contain \"%s\"", th_h_, th_n_); \
    } while (0)

/* Checks a status and, on mismatch, prints the last error message. */
#define CHECK_STATUS(call, expected)                                                         \
    do {                                                                                     \
        th_checks++;                                                                         \
        ax_status th_s_ = (call);                                                            \
        if (th_s_ != (expected))                                                             \
            TH_FAIL("%s returned %s, expected %s (last error: %s)", #call, ax_status_string(th_s_), \
                    ax_status_string(expected), ax_last_error());                            \
    } while (0)

#define CHECK_OK(call) CHECK_STATUS(call, AX_OK)

#define RUN(test_fn)                  \
    do {                              \
        th_current = #test_fn;        \
        int th_before_ = th_failures; \
        test_fn();                    \
        printf("%s %s\n", th_failures == th_before_ ? "ok  " : "FAIL", #test_fn); \
    } while (0)

/* A part of a test that cannot run here (a tool or the model file missing): reported and skipped,
 * returning 1 (the caller returns). Under scripts/test.sh, which installs everything and exports
 * AXIAL_TEST_NO_PARTIAL_SKIPS=1 (unless AXIAL_ALLOW_SKIPS=1), it is a failure instead: a test must
 * not pass there with a part of it unrun. */
static inline int th_partial_skip(const char *what) {
    const char *strict = getenv("AXIAL_TEST_NO_PARTIAL_SKIPS");
    if (strict != NULL && strcmp(strict, "1") == 0) {
        TH_FAIL("%s, so a part of this test cannot run (scripts/test.sh installs it; AXIAL_ALLOW_SKIPS=1 skips)",
                what);
        return 1;
    }
    printf("  (%s: skipped)\n", what);
    return 1;
}

/* Prints the summary line ctest and CI read, and returns the exit status. A test that made no check
 * at all fails: its loops ran over nothing, which passing would hide (a skip exits 77 itself). */
static inline int th_finish(void) {
    printf("%d checks, %d failed\n", th_checks, th_failures);
    if (th_checks == 0) printf("FAIL: no check ran\n");
    return th_failures == 0 && th_checks > 0 ? 0 : 1;
}

/* Deterministic pseudo-random numbers (splitmix64), so a failure reproduces. */
__attribute__((weak)) uint64_t th_rng_state = 0x9e3779b97f4a7c15ull;
static inline void th_seed(uint64_t seed) { th_rng_state = seed; }
static inline uint64_t th_rand_u64(void) {
    uint64_t z = (th_rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
/* Uniform in [lo, hi). */
static inline double th_uniform(double lo, double hi) {
    return lo + (hi - lo) * (double)(th_rand_u64() >> 11) * (1.0 / 9007199254740992.0);
}

#endif /* AXIAL_TESTS_HARNESS_H */
