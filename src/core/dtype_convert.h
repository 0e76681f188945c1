/*
 * dtype_convert.h — private array-conversion kernels, one table per CPU path.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_CORE_DTYPE_CONVERT_H
#define AXIAL_CORE_DTYPE_CONVERT_H

#include <stdint.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define AXIAL_HAVE_X86_KERNELS 1
#else
#define AXIAL_HAVE_X86_KERNELS 0
#endif

typedef struct ax_convert_kernels {
    void (*f32_to_bf16)(const float *src, uint16_t *dst, int64_t n);
    void (*bf16_to_f32)(const uint16_t *src, float *dst, int64_t n);
    void (*f32_to_f16)(const float *src, uint16_t *dst, int64_t n);
    void (*f16_to_f32)(const uint16_t *src, float *dst, int64_t n);
} ax_convert_kernels;

/* The table for the active CPU path. */
const ax_convert_kernels *ax_convert_kernels_active(void);

#if AXIAL_HAVE_X86_KERNELS
extern const ax_convert_kernels ax_convert_kernels_avx2;
#endif

/* Scalar tails shared by the vector kernels. */
void ax_convert_f32_to_bf16_portable(const float *src, uint16_t *dst, int64_t n);
void ax_convert_bf16_to_f32_portable(const uint16_t *src, float *dst, int64_t n);
void ax_convert_f32_to_f16_portable(const float *src, uint16_t *dst, int64_t n);
void ax_convert_f16_to_f32_portable(const uint16_t *src, float *dst, int64_t n);

/* Correctly rounded f64 -> 16-bit (nearest even, one rounding). */
uint16_t ax_f64_to_f16(double x);
uint16_t ax_f64_to_bf16(double x);

#endif /* AXIAL_CORE_DTYPE_CONVERT_H */
