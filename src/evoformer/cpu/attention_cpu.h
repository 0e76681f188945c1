/*
 * attention_cpu.h — private interface between the CPU dispatcher (attention_cpu.c) and the kernel
 * bodies compiled once per instruction set (kernels_portable.c, kernels_avx2.c, kernels_avx512.c,
 * all from attention_cpu_body.inc).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_EVOFORMER_ATTENTION_CPU_H
#define AXIAL_EVOFORMER_ATTENTION_CPU_H

#include <stdint.h>

#include "evoformer/evoformer_params.h"

/* Query rows and key columns per tile. 64 x 64 keeps a tile's q, k, v, logits and output in L1/L2
 * for D up to 64 and amortises packing (O(tile * D)) over the O(tile^2 * D) products. */
#ifndef EVO_CPU_BR
#define EVO_CPU_BR 64
#endif
#ifndef EVO_CPU_BC
#define EVO_CPU_BC 64
#endif

/* How the backward pass splits its work into units, and what it needs beyond the outputs. */
typedef struct evo_cpu_backward_plan {
    /* Each unit covers b in [b0, b0 + unit_nb), h in [h0, h0 + unit_nh), n in [n0, n0 + unit_nn). Units
     * never share an output element, so every sum runs in one fixed order: deterministic. */
    int64_t unit_nb, unit_nh, unit_nn;
    int64_t units_b, units_h, units_n; /* unit counts along b, h, n */
    float *mask_partial;               /* (B, H, N, S) fp32 column sums of dS, or NULL */
} evo_cpu_backward_plan;

/* Bytes of per-thread buffers for a problem (forward or backward). */
int64_t evo_cpu_thread_bytes(const evo_attn_params *p, const evo_cpu_backward_plan *plan, int backward);

/* One instruction-set build of the kernels. Each returns 0 on success, or -1 when a thread's
 * buffer allocation failed (the caller reports AX_ERR_OUT_OF_MEMORY). */
typedef struct evo_cpu_kernels {
    int (*forward)(const evo_attn_params *p, int num_threads);
    int (*backward)(const evo_attn_params *p, const evo_cpu_backward_plan *plan, int num_threads);
} evo_cpu_kernels;

extern const evo_cpu_kernels evo_cpu_kernels_portable;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
extern const evo_cpu_kernels evo_cpu_kernels_avx2;
extern const evo_cpu_kernels evo_cpu_kernels_avx512;
#endif

#endif /* AXIAL_EVOFORMER_ATTENTION_CPU_H */
