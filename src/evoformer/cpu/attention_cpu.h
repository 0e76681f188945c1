/*
 * attention_cpu.h — private interface of the CPU Evoformer attention backend, between the parts
 * that do not depend on the instruction set (attention_cpu.c: the work split, the thread count, the
 * layout of the per-thread scratch, the bias_mask gradient's reduction) and the kernel body
 * attention_cpu_body.inc, compiled once per path by axial_isa_sources() (cmake/isa.cmake).
 *
 * The workspace functions (evoformer_params.h) and the kernels compute the thread count and the
 * scratch layout through the same functions here, so the block the op runner hands a kernel is
 * exactly what that kernel carves.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_EVOFORMER_ATTENTION_CPU_H
#define AXIAL_EVOFORMER_ATTENTION_CPU_H

#include <stdint.h>

#include "core/op.h"
#include "evoformer/evoformer_params.h"

/* Query rows and key columns per tile. 64 x 64 keeps a tile's q, k, v, logits and output in L1/L2
 * for D up to 64 and amortises packing (O(tile * D)) over the O(tile^2 * D) products. */
#define EVO_CPU_BR 64
#define EVO_CPU_BC 64
/* Packed tiles pad key columns to a multiple of EVO_CPU_COL_ALIGN (every path's vector width divides
 * it, so the inner loops over a tile's columns have no tails) and the head dimension to a multiple of
 * EVO_CPU_D_ALIGN (8: the 16-lane path finishes such rows with an 8-lane step). The same padding on
 * every path keeps the scratch size independent of the path. */
#define EVO_CPU_COL_ALIGN 16
#define EVO_CPU_D_ALIGN 8

static inline int64_t evo_cpu_round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

/* How the backward pass splits its work into units, and what it needs beyond the outputs. */
typedef struct evo_cpu_backward_plan {
    /* Each unit covers b in [b0, b0 + unit_nb), h in [h0, h0 + unit_nh), n in [n0, n0 + unit_nn). Units
     * never share an output element, so every sum runs in one fixed order: deterministic. */
    int64_t unit_nb, unit_nh, unit_nn;
    int64_t units_b, units_h, units_n; /* unit counts along b, h, n (the last n unit may be shorter) */
    int64_t pair_out_floats;           /* one (b, h) slice of dbias_pair, dpair_shape_i x _j, rounded up to 16 */
    float *mask_partial;               /* (B, H, N, S) fp32 column sums of dS, or NULL */
    /* (units_b, units_h, units_n) slices of pair_out_floats: each unit's sum of dbias_pair over its n,
     * added over the n units in order after the parallel loop; NULL when units_n == 1 or without
     * dbias_pair (the unit then writes dbias_pair itself). */
    float *pair_partial;
} evo_cpu_backward_plan;

/* ---- the work split: one answer for the workspace functions and the kernels ---- */

/* Threads a call uses: the context's count, capped by the units of work. */
int evo_cpu_forward_threads(const struct ax_context *ctx, const evo_attn_params *p);
evo_cpu_backward_plan evo_cpu_plan_backward(const evo_attn_params *p);
int evo_cpu_backward_threads(const struct ax_context *ctx, const evo_cpu_backward_plan *plan);

/* ---- per-thread scratch: each thread's slice of the call's host workspace, carved into fp32
 * buffers, every one 64-byte aligned. A call's workspace is threads x the thread bytes (a multiple
 * of 64), followed in the backward by the bias_mask gradient's partial sums, then the pair-bias
 * gradient's. ---- */

typedef struct evo_cpu_fwd_buffers {
    float *q, *kt, *v, *s, *o, *m, *l, *tile_max, *alpha, *mask, *bias_row, *row;
    uint32_t *pairs;  /* (BR, BC / 2) p as bf16 pairs of keys (the AVX512-BF16 forward) */
    float mask_shift; /* what the mask row's load took off it (evoformer_params.h, "Huge masks") */
} evo_cpu_fwd_buffers;

/* What one head (b, n, h) of a backward unit keeps for the whole unit: K and V transposed, K's rows
 * and the mask row; packed once, read by every query tile. */
typedef struct evo_cpu_head_cache {
    float *kt, *vt, *k, *mask;
    float mask_shift;
} evo_cpu_head_cache;

typedef struct evo_cpu_bwd_buffers {
    float *q, *dout, *o_row, *s, *ds, *dq, *delta, *bias_row, *row;
    float *sub, *mul;           /* (BR) each row's reference: p = exp(logit - sub) * mul */
    float *stats;               /* (4, BR) m, l, tile maxima and alpha while row statistics are recomputed */
    float *dk, *dv;             /* (heads, acc_rows, dp) accumulators */
    float *dpair;               /* the pair-bias gradient accumulator (evo_cpu_bwd_pair_floats) */
    float *cache_mem;           /* heads x evo_cpu_head_cache_floats */
    evo_cpu_head_cache *caches; /* heads */
    uint32_t *pairs;            /* (BR, BC / 2) p or dS as bf16 pairs (the AVX512-BF16 backward) */
} evo_cpu_bwd_buffers;

int64_t evo_cpu_forward_thread_bytes(const evo_attn_params *p);
void evo_cpu_forward_carve(const evo_attn_params *p, void *slice, evo_cpu_fwd_buffers *w);
int64_t evo_cpu_backward_thread_bytes(const evo_attn_params *p, const evo_cpu_backward_plan *plan);
void evo_cpu_backward_carve(const evo_attn_params *p, const evo_cpu_backward_plan *plan, void *slice,
                            evo_cpu_bwd_buffers *w);
/* Bytes of the backward's bias_mask partial sums (0 without a mask gradient). */
int64_t evo_cpu_mask_partial_bytes(const evo_attn_params *p);
/* Bytes of the backward's dbias_pair partial sums over n units (0 when a unit takes every n). */
int64_t evo_cpu_pair_partial_bytes(const evo_attn_params *p, const evo_cpu_backward_plan *plan);

/* All S rows of a head transposed, in (dp x BC) blocks per key tile. */
int64_t evo_cpu_tiled_floats(const evo_attn_params *p);
int64_t evo_cpu_head_cache_floats(const evo_attn_params *p);
/* The backward's unit order: each head's query tiles together (1), or every head per query tile (0). */
int evo_cpu_bwd_heads_outer(const evo_attn_params *p);
/* Floats of the pair-bias gradient accumulator (0 without that gradient). */
int64_t evo_cpu_bwd_pair_floats(const evo_attn_params *p);
/* Whether each unit sums dbias_pair straight into its partial slice (n cut into ranges, heads
 * outer: the accumulator would span the slice anyway), so threads carve no accumulator of their own. */
int evo_cpu_bwd_pair_direct(const evo_attn_params *p, const evo_cpu_backward_plan *plan);

/* dbias_mask from the per-(b, h, n) column sums, in one fixed order. */
void evo_cpu_reduce_mask_gradient(const evo_attn_params *p, const float *partial);

/* Fails with AX_ERR_INTERNAL when the call's host workspace is smaller than `need` bytes (the op
 * runner and the workspace function disagree: a bug), so a kernel never writes past it. */
ax_status evo_cpu_check_workspace(const ax_op_call *call, int64_t need, const char *op);

/* For the tests: sizeof one fp32 vector (ax_vf) in each path's build of the kernels. */
int evo_cpu_vector_bytes_portable(void);
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
int evo_cpu_vector_bytes_avx2(void);
int evo_cpu_vector_bytes_avx512(void);
#endif

#endif /* AXIAL_EVOFORMER_ATTENTION_CPU_H */
