/*
 * fp_rounded.h — float multiply, add, subtract and divide that round on their own on the device too.
 *
 * nvcc contracts a * b + c into one fused multiply-add by default (--fmad=true); host C files are
 * ISO C11, where GCC does not contract (-ffp-contract=off), unless a file asks for it (the ISA
 * bodies do). Where a rule shared by the CPU and CUDA kernels promises the same bits on both (the
 * GGUF block codecs, the sampling procedure's penalties), the device side uses these macros: the
 * explicitly rounded intrinsics, which nvcc never fuses.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_CORE_FP_ROUNDED_H
#define AXIAL_CORE_FP_ROUNDED_H

#ifdef __CUDA_ARCH__
#define AX_FMUL(a, b) __fmul_rn((a), (b))
#define AX_FADD(a, b) __fadd_rn((a), (b))
#define AX_FSUB(a, b) __fsub_rn((a), (b))
#define AX_FDIV(a, b) __fdiv_rn((a), (b))
#else
#define AX_FMUL(a, b) ((a) * (b))
#define AX_FADD(a, b) ((a) + (b))
#define AX_FSUB(a, b) ((a) - (b))
#define AX_FDIV(a, b) ((a) / (b))
#endif

#endif /* AXIAL_CORE_FP_ROUNDED_H */
