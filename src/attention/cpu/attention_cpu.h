/*
 * attention_cpu.h — private interface of the CPU flash-attention backend, between the parts that do
 * not depend on the instruction set (attention_cpu_plan.c: the work split, the thread count, the
 * scratch layout) and the kernel bodies cpu/attention_fwd.isa.inc and cpu/attention_bwd.isa.inc,
 * compiled once per path by axial_isa_sources() (cmake/isa.cmake).
 *
 * The workspace functions and the kernels build the same plan through attn_cpu_plan_*, so the block
 * the op runner hands a kernel is exactly what that kernel carves.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_ATTENTION_CPU_H
#define AXIAL_ATTENTION_CPU_H

#include <stdint.h>

#include "attention/attention_params.h"
#include "core/op.h"

/* Query rows and key columns per tile. The logits tile is kept transposed (BC keys x BR queries), so
 * every per-query quantity of the online softmax (running max, sum, rescale, lse) is a vector over
 * BR query lanes and the softmax needs no horizontal reductions; 64 x 64 keeps a tile's q, k, v,
 * logits and output in L1/L2 for D up to 128. */
#define ATTN_CPU_BR 64
#define ATTN_CPU_BC 64
/* Head dims are padded to a multiple of 8 in packed rows (the 16-lane path ends such a row with an
 * 8-lane step); the same padding on every path keeps the scratch size path-independent. */
#define ATTN_CPU_D_ALIGN 8
/* The forward shares one packed K/V tile between up to this many bytes of per-slot state (q^T and
 * the output accumulator of one query tile of one query head): the query heads of one KV group
 * first (GQA/MQA), then several query tiles, so packing is paid once per several tiles. */
#define ATTN_CPU_FWD_HEAD_STATE_BYTES (256 * 1024)
#define ATTN_CPU_FWD_MAX_TILES 64 /* query tiles per forward unit, at most */
/* The backward splits a sequence's keys into ranges only to find work for idle threads; the dq
 * partial sums that a split needs are capped at this many bytes. */
#define ATTN_CPU_BWD_PARTIAL_BYTES ((int64_t)256 << 20)

static inline int64_t attn_cpu_round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

/* How a call is cut into units of work and how its scratch is laid out. Units never write the same
 * output element (the backward's dbias partials are per thread), so the results do not depend on
 * which thread runs which unit, except for the per-thread dbias partials whose units are assigned
 * statically. */
typedef struct attn_cpu_plan {
    int threads;
    int64_t dp;              /* D rounded up to ATTN_CPU_D_ALIGN */
    int64_t max_nq, max_nk;  /* the longest sequence's query and key counts */
    /* forward: a unit is (sequence, KV head, head chunk, group of query tiles); every (head, query
     * tile) slot of a unit shares each packed key tile */
    int64_t heads_per_unit;  /* query heads of one KV group in a unit */
    int64_t chunks;          /* ceil(group / heads_per_unit) */
    int64_t tiles_per_unit;  /* query tiles in a unit */
    /* backward: a unit is (sequence, KV head, key range) */
    int64_t ranges;          /* R: key ranges per sequence (1 = no dq partials) */
    int64_t range_keys;      /* most keys in one range (a multiple of ATTN_CPU_BC) */
    int64_t dbias_numel;     /* elements of dbias when it needs per-thread partials, else 0 */
    int64_t dq_rows;         /* rows of the dq partial buffer per range: B * Sq or Tq */
    /* scratch: threads slices of thread_bytes, then the unit prefix sums (B + 1 int64), then the
     * backward's dq partials */
    int64_t thread_bytes;
    int64_t prefix_offset, partial_offset, total_bytes;
} attn_cpu_plan;

ax_status attn_cpu_plan_forward(const struct ax_context *ctx, const attn_params *p, attn_cpu_plan *plan);
ax_status attn_cpu_plan_backward(const struct ax_context *ctx, const attn_params *p, attn_cpu_plan *plan);

/* Units per sequence (into prefix[0 .. B], prefix[b] = units before sequence b) and their total. */
int64_t attn_cpu_forward_prefix(const attn_params *p, const attn_cpu_plan *plan, int64_t *prefix);
int64_t attn_cpu_backward_prefix(const attn_params *p, const attn_cpu_plan *plan, int64_t *prefix);
/* The sequence holding unit u: the b with prefix[b] <= u < prefix[b + 1]. */
int64_t attn_cpu_unit_sequence(const int64_t *prefix, int64_t B, int64_t u);
/* Sequence b's key range size in the backward (a multiple of BC, at least BC). */
int64_t attn_cpu_range_keys(const attn_cpu_plan *plan, int64_t nk);

/* Per-thread buffers, carved from a thread's slice (every one 64-byte aligned). */
typedef struct attn_cpu_fwd_buffers {
    float *k, *v;          /* (BC, dp) one key tile's rows */
    float *qt;             /* (slots, dp, BR) scaled q^T per (query tile, head) slot */
    float *o;              /* (slots, BR, dp) output accumulators */
    float *m, *l;          /* (slots, BR) running max and sum */
    float *s;              /* (BC, BR) logits / probabilities, transposed */
    float *tile_max, *alpha, *lse_row; /* (BR) */
    float *row;            /* (max(dp, BC)) conversion scratch */
    int64_t *lo, *hi;      /* (tiles_per_unit, BR) each query's visible key range */
    uint32_t *pairs;       /* (BR, BC / 2) p as bf16 pairs of keys (the AVX512-BF16 forward) */
} attn_cpu_fwd_buffers;

typedef struct attn_cpu_bwd_buffers {
    float *k, *v;          /* (range_keys, dp) the unit's keys, rows (or bf16 pairs: attention_bwd.isa.inc) */
    float *dk, *dv;        /* (range_keys, dp) accumulators */
    float *q, *qt;         /* (BR, dp) scaled q rows and (dp, BR) its transpose */
    float *dout, *doutt;   /* the same for dout */
    float *dq;             /* (BR, dp) */
    float *lse, *delta;    /* (BR) */
    float *s, *ds, *g;     /* (BC, BR) p, dS and the soft-cap derivative 1 - tanh^2 */
    float *row;            /* (max(dp, BC)) */
    int64_t *lo, *hi;      /* (BR) */
    float *dbias;          /* (dbias_numel) this thread's partial, or NULL */
    uint32_t *pairs;       /* (BC, BR / 2) p or dS as bf16 (the AVX512-BF16 backward) */
} attn_cpu_bwd_buffers;

void attn_cpu_forward_carve(const attn_cpu_plan *plan, void *slice, attn_cpu_fwd_buffers *w);
void attn_cpu_backward_carve(const attn_cpu_plan *plan, void *slice, attn_cpu_bwd_buffers *w);

/* AX_ERR_INTERNAL when the call's host workspace is smaller than the plan (a bug), so a kernel
 * never writes past it. */
ax_status attn_cpu_check_workspace(const ax_op_call *call, const attn_cpu_plan *plan, const char *op);

AX_DECLARE_CPU_KERNELS(attention_forward_cpu);
AX_DECLARE_CPU_KERNELS(attention_backward_cpu);

#endif /* AXIAL_ATTENTION_CPU_H */
