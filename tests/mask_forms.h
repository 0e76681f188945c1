/*
 * mask_forms.h — the attention masks OpenFold and DeepSpeed users write, as values of bias_mask, and
 * one pattern of kept keys with a padded (entirely masked) MSA row. Shared by the CPU, CUDA and
 * sequence-parallel tests of huge masks.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_TESTS_MASK_FORMS_H
#define AXIAL_TESTS_MASK_FORMS_H

#include <math.h>
#include <stdint.h>

typedef enum mask_form {
    FORM_NEG_INF = 0,   /* kept 0, masked -inf */
    FORM_PAD_1E9 = 1,   /* OpenFold's 1e9 * (mask - 1): kept 0, masked -1e9 */
    FORM_PLUS_1E9 = 2,  /* OpenFold's other form, 1e9 * mask - 1: kept 1e9 - 1, masked -1 */
    FORM_NEG_3E38 = 3,  /* torch.finfo(float32).min-like: kept 0, masked -3e38 */
    FORM_COUNT = 4
} mask_form;

static inline const char *mask_form_name(mask_form f) {
    static const char *names[FORM_COUNT] = {"-inf", "1e9*(mask-1)", "1e9*mask-1", "-3e38"};
    return (int)f >= 0 && f < FORM_COUNT ? names[f] : "?";
}

/* The bias a key gets under form f: keep = 1 attends, keep = 0 is masked. */
static inline double mask_form_value(mask_form f, int keep) {
    switch (f) {
    case FORM_PAD_1E9: return keep ? 0.0 : -1e9;
    case FORM_PLUS_1E9: return keep ? 1e9 - 1.0 : -1.0;
    case FORM_NEG_3E38: return keep ? 0.0 : -3e38;
    default: return keep ? 0.0 : -INFINITY;
    }
}

/* Which keys of mask row (b, n) attend: row n = N - 1 of batch 0 is a padded MSA row (no key
 * attends; with N = 1 the single row is), the others mask about a quarter of the keys but never
 * all. */
static inline int mask_keep(int64_t b, int64_t n, int64_t j, int64_t N) {
    if (b == 0 && n == N - 1) return 0;
    return (j * 7 + n * 3 + b * 5) % 4 != 3 || j == 0;
}

#endif /* AXIAL_TESTS_MASK_FORMS_H */
