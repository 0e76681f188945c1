/*
 * attention_cpu.c — the parts of the CPU Evoformer attention backend that do not depend on the
 * instruction set: the work split and thread count, the layout and size of the per-thread scratch
 * (the op's workspace functions), and the bias_mask gradient's reduction. The kernels themselves are
 * attention_cpu_body.inc, compiled once per path.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "core/dtype_convert.h"
#include "core/internal.h"
#include "evoformer/cpu/attention_cpu.h"

#define BR EVO_CPU_BR
#define BC EVO_CPU_BC

/* ---- the work split ------------------------------------------------------------------------------ */

/* Threads actually used: no more than there are units of work. */
static int threads_for(const ax_context *ctx, int64_t units) {
    int64_t t = ctx->num_threads > 0 ? ctx->num_threads : 1;
    if (units < t) t = units > 0 ? units : 1;
    return (int)t;
}

int evo_cpu_forward_threads(const ax_context *ctx, const evo_attn_params *p) {
    return threads_for(ctx, p->B * p->N * p->H * ((p->S + BR - 1) / BR));
}

/* Units must not share an output element. dbias_pair sums over n (and over b or h where it
 * broadcasts), so with it one unit takes a range of n of a (b, h) pair (every b or h where the
 * gradient broadcasts over them) and writes its sum to a partial slice; the slices are added after
 * the parallel loop. Without it each (b, h, n) is a unit.
 *
 * The n ranges: a unit per (b, h) pair alone gives B x H units (8 in MSA row attention, 4 in
 * triangle attention), which leaves most cores of a large node idle. So n is cut into ranges until
 * there are about BWD_TARGET_UNITS units, as long as the partial slices stay within
 * BWD_PAIR_PARTIAL_MAX_BYTES and each range does enough work to pay for its slice: a slice costs
 * about three passes over S x S floats (cleared, summed into, reduced), a range about
 * range x D x 8 flops per element, so a range holds at least BWD_MIN_RANGE_WORK / D rows of n
 * (all but the last, which holds what is left; about 2 % slower than one range at (1,128,256,8,32)
 * with 16 rows of D = 32; 1.2x slower with ranges of one row at (1,64,256,1,32), 1 thread). The
 * cut depends on the shape only, never on the thread count, so the order of every sum, and the bits
 * of the result, are the same for any number of threads. */
#define BWD_TARGET_UNITS 64
#define BWD_PAIR_PARTIAL_MAX_BYTES ((int64_t)64 << 20)
#define BWD_MIN_RANGE_WORK 1024
evo_cpu_backward_plan evo_cpu_plan_backward(const evo_attn_params *p) {
    evo_cpu_backward_plan plan;
    memset(&plan, 0, sizeof plan);
    if (p->dbias_pair != NULL) {
        plan.unit_nb = p->dpair_shape_b == 1 ? p->B : 1;
        plan.unit_nh = p->dpair_shape_h == 1 ? p->H : 1;
        /* rounded to 64 bytes: neighbouring units' slices share no cache line */
        plan.pair_out_floats = (p->dpair_shape_i * p->dpair_shape_j + 15) / 16 * 16;
        const int64_t bh_units = plan.unit_nb > 0 && plan.unit_nh > 0 ? p->B / plan.unit_nb * (p->H / plan.unit_nh) : 0;
        int64_t ranges = 1;
        if (bh_units > 0 && plan.pair_out_floats > 0) {
            ranges = (BWD_TARGET_UNITS + bh_units - 1) / bh_units;
            const int64_t fit = BWD_PAIR_PARTIAL_MAX_BYTES / (bh_units * plan.pair_out_floats * (int64_t)sizeof(float));
            if (ranges > fit) ranges = fit;
            const int64_t min_rows = (BWD_MIN_RANGE_WORK + p->D - 1) / (p->D > 0 ? p->D : 1);
            if (ranges > p->N / min_rows) ranges = p->N / min_rows; /* also at most N */
            if (ranges < 1) ranges = 1;
        }
        plan.unit_nn = p->N > 0 ? (p->N + ranges - 1) / ranges : 1;
    } else {
        plan.unit_nb = plan.unit_nh = plan.unit_nn = 1;
    }
    plan.units_b = plan.unit_nb > 0 ? p->B / plan.unit_nb : 0;
    plan.units_h = plan.unit_nh > 0 ? p->H / plan.unit_nh : 0;
    plan.units_n = (p->N + plan.unit_nn - 1) / plan.unit_nn;
    return plan;
}

int evo_cpu_backward_threads(const ax_context *ctx, const evo_cpu_backward_plan *plan) {
    return threads_for(ctx, plan->units_b * plan->units_h * plan->units_n);
}

/* ---- per-thread scratch ---------------------------------------------------------------------------- */

static int64_t padded_d(const evo_attn_params *p) { return evo_cpu_round_up(p->D, EVO_CPU_D_ALIGN); }
static int64_t padded_s(const evo_attn_params *p) { return evo_cpu_round_up(p->S, EVO_CPU_COL_ALIGN); }

/* Hands out `count` floats at the cursor, keeping every buffer 64-byte aligned (16 floats). */
static void carve(float **cursor, float **out, int64_t count) {
    *out = *cursor;
    *cursor += evo_cpu_round_up(count, 16);
}

int64_t evo_cpu_tiled_floats(const evo_attn_params *p) { return evo_cpu_round_up(p->S, BC) * padded_d(p); }

int64_t evo_cpu_forward_thread_bytes(const evo_attn_params *p) {
    const int64_t dp = padded_d(p), s_pad = padded_s(p);
    const int64_t row = BC > dp ? BC : dp;
    /* The thirteen buffers evo_cpu_forward_carve hands out, plus up to 15 floats of alignment each. */
    const int64_t floats = BR * dp /* q */ + evo_cpu_tiled_floats(p) /* kt */ + s_pad * dp /* v */ +
                           BR * BC /* s */ + BR * dp /* o */ + 4 * BR /* m, l, tile_max, alpha */ +
                           s_pad /* mask */ + 2 * row /* bias_row, row */ + BR * BC / 2 /* pairs */ + 16 * 14;
    return evo_cpu_round_up(floats, 16) * (int64_t)sizeof(float);
}

void evo_cpu_forward_carve(const evo_attn_params *p, void *slice, evo_cpu_fwd_buffers *w) {
    const int64_t dp = padded_d(p), s_pad = padded_s(p);
    const int64_t row = BC > dp ? BC : dp;
    float *cur = slice;
    memset(w, 0, sizeof *w);
    carve(&cur, &w->q, BR * dp);
    carve(&cur, &w->kt, evo_cpu_tiled_floats(p));
    carve(&cur, &w->v, s_pad * dp);
    carve(&cur, &w->s, BR * BC);
    carve(&cur, &w->o, BR * dp);
    carve(&cur, &w->m, BR);
    carve(&cur, &w->l, BR);
    carve(&cur, &w->tile_max, BR);
    carve(&cur, &w->alpha, BR);
    carve(&cur, &w->mask, s_pad);
    carve(&cur, &w->bias_row, row);
    carve(&cur, &w->row, row);
    float *pairs = NULL;
    carve(&cur, &pairs, BR * BC / 2);
    w->pairs = (uint32_t *)(void *)pairs;
}

int64_t evo_cpu_head_cache_floats(const evo_attn_params *p) {
    const int64_t dp = padded_d(p), s_pad = padded_s(p);
    return evo_cpu_round_up(evo_cpu_tiled_floats(p), 16) * 2 + evo_cpu_round_up(s_pad * dp, 16) +
           evo_cpu_round_up(s_pad, 16);
}

static int64_t bwd_heads(const evo_cpu_backward_plan *plan) { return plan->unit_nb * plan->unit_nh * plan->unit_nn; }

/* The two orders a unit's heads and query tiles can run in. Heads outer (each head's tiles in a
 * row) keeps one head's packed K/V and dK/dV accumulators in L2 for all its tiles, but needs the
 * pair-bias gradient accumulator for every row (S x S); tiles outer needs it for one tile of rows
 * only, but streams every head's caches and accumulators through memory once per tile. Heads
 * outer wherever the full accumulator is small. Both add each element's terms in the same order
 * (n ascending, then query tiles), so the results are bitwise identical either way. */
#define BWD_HEADS_OUTER_MAX_FLOATS (256 * 1024)
int evo_cpu_bwd_heads_outer(const evo_attn_params *p) {
    return p->dbias_pair == NULL || p->dpair_shape_i == 1 || p->S * p->dpair_shape_j <= BWD_HEADS_OUTER_MAX_FLOATS;
}

/* Heads whose caches and dK/dV accumulators a thread holds at once. */
static int64_t bwd_live_heads(const evo_attn_params *p, const evo_cpu_backward_plan *plan) {
    return evo_cpu_bwd_heads_outer(p) ? 1 : bwd_heads(plan);
}

/* The pair-bias gradient accumulator: every row in the heads-outer order, one tile of rows in the
 * tiles-outer order, one row when the gradient broadcasts over rows. */
int64_t evo_cpu_bwd_pair_floats(const evo_attn_params *p) {
    if (p->dbias_pair == NULL) return 0;
    if (p->dpair_shape_i == 1) return p->dpair_shape_j;
    return (evo_cpu_bwd_heads_outer(p) ? p->S : BR) * p->dpair_shape_j;
}

int evo_cpu_bwd_pair_direct(const evo_attn_params *p, const evo_cpu_backward_plan *plan) {
    return evo_cpu_pair_partial_bytes(p, plan) > 0 && evo_cpu_bwd_heads_outer(p);
}

/* The accumulator a thread carves for itself. */
static int64_t bwd_thread_pair_floats(const evo_attn_params *p, const evo_cpu_backward_plan *plan) {
    return evo_cpu_bwd_pair_direct(p, plan) ? 0 : evo_cpu_bwd_pair_floats(p);
}

/* The fp32 part of a backward thread's slice; the head caches' descriptors follow it. */
static int64_t bwd_floats(const evo_attn_params *p, const evo_cpu_backward_plan *plan) {
    const int64_t dp = padded_d(p), acc_rows = padded_s(p), row = BC > dp ? BC : dp;
    const int64_t heads = bwd_live_heads(p, plan);
    /* The seventeen buffers evo_cpu_backward_carve hands out, plus up to 15 floats of alignment each. */
    const int64_t floats = BR * dp * 3 /* q, dout, dq */ + dp /* o_row */ + BR * BC * 2 /* s, ds */ +
                           3 * BR /* delta, sub, mul */ + 4 * BR /* stats */ + 2 * row /* bias_row, row */ +
                           2 * heads * acc_rows * dp /* dk, dv */ + bwd_thread_pair_floats(p, plan) +
                           heads * evo_cpu_head_cache_floats(p) + BR * BC / 2 /* pairs */ + 16 * 16;
    return evo_cpu_round_up(floats, 16);
}

int64_t evo_cpu_backward_thread_bytes(const evo_attn_params *p, const evo_cpu_backward_plan *plan) {
    return ax_ws_round(bwd_floats(p, plan) * (int64_t)sizeof(float) +
                       bwd_live_heads(p, plan) * (int64_t)sizeof(evo_cpu_head_cache));
}

void evo_cpu_backward_carve(const evo_attn_params *p, const evo_cpu_backward_plan *plan, void *slice,
                            evo_cpu_bwd_buffers *w) {
    const int64_t dp = padded_d(p), acc_rows = padded_s(p), row = BC > dp ? BC : dp;
    const int64_t heads = bwd_live_heads(p, plan);
    float *cur = slice;
    memset(w, 0, sizeof *w);
    carve(&cur, &w->q, BR * dp);
    carve(&cur, &w->dout, BR * dp);
    carve(&cur, &w->dq, BR * dp);
    carve(&cur, &w->o_row, dp);
    carve(&cur, &w->s, BR * BC);
    carve(&cur, &w->ds, BR * BC);
    carve(&cur, &w->delta, BR);
    carve(&cur, &w->sub, BR);
    carve(&cur, &w->mul, BR);
    carve(&cur, &w->stats, 4 * BR);
    carve(&cur, &w->bias_row, row);
    carve(&cur, &w->row, row);
    carve(&cur, &w->dk, heads * acc_rows * dp);
    carve(&cur, &w->dv, heads * acc_rows * dp);
    carve(&cur, &w->dpair, bwd_thread_pair_floats(p, plan));
    carve(&cur, &w->cache_mem, heads * evo_cpu_head_cache_floats(p));
    float *pairs = NULL;
    carve(&cur, &pairs, BR * BC / 2);
    w->pairs = (uint32_t *)(void *)pairs;
    w->caches = (evo_cpu_head_cache *)((float *)slice + bwd_floats(p, plan));
}

/* Rounded to the workspace's alignment: the pair-bias partial slices follow. */
int64_t evo_cpu_mask_partial_bytes(const evo_attn_params *p) {
    return p->dbias_mask != NULL ? ax_ws_round(p->B * p->H * p->N * p->S * (int64_t)sizeof(float)) : 0;
}

int64_t evo_cpu_pair_partial_bytes(const evo_attn_params *p, const evo_cpu_backward_plan *plan) {
    if (p->dbias_pair == NULL || plan->units_n <= 1) return 0;
    return plan->units_b * plan->units_h * plan->units_n * plan->pair_out_floats * (int64_t)sizeof(float);
}

ax_status evo_cpu_check_workspace(const ax_op_call *call, int64_t need, const char *op) {
    if (need > 0 && (call->host_ws == NULL || call->workspace.host_bytes < need))
        return ax_set_error(AX_ERR_INTERNAL, "%s: the kernel needs %lld bytes of host workspace, the call has %lld",
                            op, (long long)need, (long long)(call->host_ws != NULL ? call->workspace.host_bytes : 0));
    return AX_OK;
}

/* ---- the op's workspace functions ------------------------------------------------------------------ */

ax_status evo_attn_forward_cpu_workspace(const ax_context *ctx, const void *params, ax_op_workspace *need) {
    const evo_attn_params *p = params;
    need->host_bytes = evo_cpu_forward_threads(ctx, p) * evo_cpu_forward_thread_bytes(p);
    return AX_OK;
}

ax_status evo_attn_backward_cpu_workspace(const ax_context *ctx, const void *params, ax_op_workspace *need) {
    const evo_attn_params *p = params;
    const evo_cpu_backward_plan plan = evo_cpu_plan_backward(p);
    need->host_bytes = evo_cpu_backward_threads(ctx, &plan) * evo_cpu_backward_thread_bytes(p, &plan) +
                       evo_cpu_mask_partial_bytes(p) + evo_cpu_pair_partial_bytes(p, &plan);
    return AX_OK;
}

/* ---- the bias_mask gradient ------------------------------------------------------------------------ */

/* dbias_mask[bo, no, 0, 0, jo] = sum over its broadcast b, n, j and over every h of the partial column
 * sums, always in the same order, in double: a (B, 1, 1, 1, S) mask sums B * H * N terms per entry
 * (an fp32 running sum had a relative error of 2.6e-6 at N = 4096, H = 8, against 4e-7 for dpair). */
void evo_cpu_reduce_mask_gradient(const evo_attn_params *p, const float *partial) {
    const int64_t nb = p->dmask_shape_b == 1 ? p->B : 1;
    const int64_t nn = p->dmask_shape_n == 1 ? p->N : 1;
    const int64_t nj = p->dmask_shape_j == 1 ? p->S : 1;
    for (int64_t bo = 0; bo < p->dmask_shape_b; bo++)
        for (int64_t no = 0; no < p->dmask_shape_n; no++)
            for (int64_t jo = 0; jo < p->dmask_shape_j; jo++) {
                double sum = 0.0;
                for (int64_t b = bo; b < bo + nb; b++)
                    for (int64_t h = 0; h < p->H; h++)
                        for (int64_t n = no; n < no + nn; n++) {
                            const float *row = partial + ((b * p->H + h) * p->N + n) * p->S;
                            for (int64_t j = jo; j < jo + nj; j++) sum += row[j];
                        }
                const int64_t idx = bo * p->dmask_stride_b + no * p->dmask_stride_n + jo * p->dmask_stride_j;
                if (p->dbias_mask_dtype == AX_F32) ((float *)p->dbias_mask)[idx] = (float)sum;
                else if (p->dbias_mask_dtype == AX_BF16) ((uint16_t *)p->dbias_mask)[idx] = ax_f64_to_bf16(sum);
                else ((uint16_t *)p->dbias_mask)[idx] = ax_f64_to_f16(sum);
            }
}
