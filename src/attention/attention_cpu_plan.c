/*
 * attention_cpu_plan.c — the instruction-set independent half of the CPU flash-attention backend:
 * how a call is cut into units, how many threads run them and how each thread's scratch is laid out
 * (cpu/attention_cpu.h). The workspace functions (attention.c) and the kernels
 * (cpu/attention_*.isa.inc) both build their plan here.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "attention/cpu/attention_cpu.h"
#include "core/internal.h"

#define BR ATTN_CPU_BR
#define BC ATTN_CPU_BC

static int64_t floats_bytes(int64_t n) { return ax_ws_round(n * (int64_t)sizeof(float)); }

static int plan_threads(const struct ax_context *ctx) { return ctx->num_threads > 0 ? (int)ctx->num_threads : 1; }

static void plan_common(const struct ax_context *ctx, const attn_params *p, attn_cpu_plan *plan) {
    memset(plan, 0, sizeof *plan);
    plan->threads = plan_threads(ctx);
    plan->dp = attn_cpu_round_up(p->D, ATTN_CPU_D_ALIGN);
    /* On CPU contexts the entry resolved max_seqlen_* from the checked cu_seqlens. */
    plan->max_nq = p->cu_seqlens_q != NULL ? p->max_seqlen_q : p->Sq;
    plan->max_nk = p->cu_seqlens_k != NULL ? p->max_seqlen_k : p->Sk;
    if (plan->max_nq > p->Sq) plan->max_nq = p->Sq;
    if (plan->max_nk > p->Sk) plan->max_nk = p->Sk;
}

/* Refuses sizes whose byte counts could overflow int64 (no real machine has that memory). */
static ax_status check_size(double bytes, const char *op) {
    if (bytes > 4.0e18)
        return ax_set_error(AX_ERR_OUT_OF_MEMORY, "%s: the CPU scratch would need %.3g bytes", op, bytes);
    return AX_OK;
}

ax_status attn_cpu_plan_forward(const struct ax_context *ctx, const attn_params *p, attn_cpu_plan *plan) {
    plan_common(ctx, p, plan);
    const int64_t dp = plan->dp;
    const int64_t per_head = 2 * BR * dp * (int64_t)sizeof(float);
    int64_t hpu = ATTN_CPU_FWD_HEAD_STATE_BYTES / per_head;
    if (hpu > p->group) hpu = p->group;
    if (hpu < 1) hpu = 1;
    plan->heads_per_unit = hpu;
    plan->chunks = p->group > 0 ? (p->group + hpu - 1) / hpu : 0;
    /* Query tiles per unit: what the state budget leaves, but no more than keeps 4 units per thread
     * (dynamic scheduling evens out the causal mask's unequal tiles). */
    const int64_t tiles = (plan->max_nq + BR - 1) / BR;
    int64_t tpu = ATTN_CPU_FWD_HEAD_STATE_BYTES / (per_head * hpu);
    const int64_t units_per_tile = p->B * p->Hkv * plan->chunks;
    const int64_t spread = units_per_tile > 0 ? (tiles * units_per_tile) / (4 * (int64_t)plan->threads) : 1;
    if (tpu > spread) tpu = spread;
    if (tpu > tiles) tpu = tiles;
    if (tpu > ATTN_CPU_FWD_MAX_TILES) tpu = ATTN_CPU_FWD_MAX_TILES;
    if (tpu < 1) tpu = 1;
    plan->tiles_per_unit = tpu;
    const int64_t slots = hpu * tpu;
    const int64_t row = dp > BC ? dp : BC;
    AX_CHECK(check_size((double)plan->threads * (double)slots * (double)per_head, "attention forward"));
    plan->thread_bytes = 2 * floats_bytes(BC * dp) + 2 * floats_bytes(slots * dp * BR) + 2 * floats_bytes(slots * BR) +
                         floats_bytes(BC * BR) + 3 * floats_bytes(BR) + floats_bytes(row) +
                         2 * ax_ws_round(tpu * BR * (int64_t)sizeof(int64_t)) + floats_bytes(BR * BC / 2);
    plan->prefix_offset = plan->threads * plan->thread_bytes;
    plan->partial_offset = plan->prefix_offset + ax_ws_round((p->B + 1) * (int64_t)sizeof(int64_t));
    plan->total_bytes = plan->partial_offset;
    return AX_OK;
}

/* Whether dbias has a broadcast dim that more than one (query, key, head, sequence) maps to: then
 * units would add into the same element, and each thread sums into its own partial instead. */
static int dbias_shared(const attn_params *p, const attn_cpu_plan *plan) {
    if (p->dbias == NULL) return 0;
    return (p->dbias_shape_b == 1 && p->B > 1) || (p->dbias_shape_h == 1 && p->H > 1) ||
           (p->dbias_shape_i == 1 && plan->max_nq > 1) || (p->dbias_shape_j == 1 && plan->max_nk > 1);
}

ax_status attn_cpu_plan_backward(const struct ax_context *ctx, const attn_params *p, attn_cpu_plan *plan) {
    plan_common(ctx, p, plan);
    const int64_t dp = plan->dp;
    /* One unit per (sequence, KV head) owns every gradient element it writes; with too few of them
     * for the threads, each sequence's keys are cut into R ranges, and the ranges' dq contributions
     * go to partial sums reduced in range order afterwards. */
    const int64_t base = p->B * p->Hkv;
    int64_t R = 1;
    if (base > 0 && base < 2 * (int64_t)plan->threads) R = (2 * (int64_t)plan->threads + base - 1) / base;
    const int64_t key_tiles = (plan->max_nk + BC - 1) / BC;
    if (R > key_tiles) R = key_tiles;
    if (R < 1) R = 1;
    plan->dq_rows = p->cu_seqlens_q != NULL ? p->Sq : p->B * p->Sq;
    const double partial_per_range = (double)plan->dq_rows * (double)p->H * (double)p->D * sizeof(float);
    while (R > 1 && (double)R * partial_per_range > (double)ATTN_CPU_BWD_PARTIAL_BYTES) R--;
    plan->ranges = R;
    plan->range_keys = attn_cpu_round_up((plan->max_nk + R - 1) / R, BC);
    if (plan->range_keys < BC) plan->range_keys = BC;
    if (dbias_shared(p, plan))
        plan->dbias_numel = p->dbias_shape_b * p->dbias_shape_h * p->dbias_shape_i * p->dbias_shape_j;
    AX_CHECK(check_size((double)plan->threads * (4.0 * (double)plan->range_keys * (double)dp + (double)plan->dbias_numel) *
                                sizeof(float) +
                            (R > 1 ? (double)R * partial_per_range : 0.0),
                        "attention backward"));
    const int64_t row = dp > BC ? dp : BC;
    plan->thread_bytes = 4 * floats_bytes(plan->range_keys * dp) + 5 * floats_bytes(BR * dp) + 2 * floats_bytes(BR) +
                         3 * floats_bytes(BC * BR) + floats_bytes(row) + 2 * ax_ws_round(BR * (int64_t)sizeof(int64_t)) +
                         floats_bytes(plan->dbias_numel) + floats_bytes(BR * BC / 2);
    plan->prefix_offset = plan->threads * plan->thread_bytes;
    plan->partial_offset = plan->prefix_offset + ax_ws_round((p->B + 1) * (int64_t)sizeof(int64_t));
    plan->total_bytes = plan->partial_offset + (R > 1 ? floats_bytes(R * plan->dq_rows * p->H * p->D) : 0);
    return AX_OK;
}

int64_t attn_cpu_range_keys(const attn_cpu_plan *plan, int64_t nk) {
    const int64_t per = attn_cpu_round_up((nk + plan->ranges - 1) / plan->ranges, BC);
    return per < BC ? BC : per;
}

int64_t attn_cpu_forward_prefix(const attn_params *p, const attn_cpu_plan *plan, int64_t *prefix) {
    int64_t total = 0;
    for (int64_t b = 0; b < p->B; b++) {
        prefix[b] = total;
        const attn_seq s = attn_sequence(p, b);
        const int64_t tiles = (s.nq + BR - 1) / BR;
        total += p->Hkv * plan->chunks * ((tiles + plan->tiles_per_unit - 1) / plan->tiles_per_unit);
    }
    prefix[p->B] = total;
    return total;
}

int64_t attn_cpu_backward_prefix(const attn_params *p, const attn_cpu_plan *plan, int64_t *prefix) {
    int64_t total = 0;
    for (int64_t b = 0; b < p->B; b++) {
        prefix[b] = total;
        const attn_seq s = attn_sequence(p, b);
        if (s.nq == 0 && s.nk == 0) continue;
        /* A sequence without keys still has a unit: it writes dq = 0. */
        const int64_t per = attn_cpu_range_keys(plan, s.nk);
        const int64_t ranges = s.nk == 0 ? 1 : (s.nk + per - 1) / per;
        total += p->Hkv * ranges;
    }
    prefix[p->B] = total;
    return total;
}

int64_t attn_cpu_unit_sequence(const int64_t *prefix, int64_t B, int64_t u) {
    int64_t lo = 0, hi = B; /* prefix[lo] <= u < prefix[hi] */
    while (hi - lo > 1) {
        const int64_t mid = lo + (hi - lo) / 2;
        if (prefix[mid] <= u) lo = mid;
        else hi = mid;
    }
    return lo;
}

static void *carve(char **at, int64_t bytes) {
    void *p = *at;
    *at += bytes;
    return p;
}

void attn_cpu_forward_carve(const attn_cpu_plan *plan, void *slice, attn_cpu_fwd_buffers *w) {
    const int64_t dp = plan->dp, slots = plan->heads_per_unit * plan->tiles_per_unit, row = dp > BC ? dp : BC;
    char *at = slice;
    w->k = carve(&at, floats_bytes(BC * dp));
    w->v = carve(&at, floats_bytes(BC * dp));
    w->qt = carve(&at, floats_bytes(slots * dp * BR));
    w->o = carve(&at, floats_bytes(slots * BR * dp));
    w->m = carve(&at, floats_bytes(slots * BR));
    w->l = carve(&at, floats_bytes(slots * BR));
    w->s = carve(&at, floats_bytes(BC * BR));
    w->tile_max = carve(&at, floats_bytes(BR));
    w->alpha = carve(&at, floats_bytes(BR));
    w->lse_row = carve(&at, floats_bytes(BR));
    w->row = carve(&at, floats_bytes(row));
    w->lo = carve(&at, ax_ws_round(plan->tiles_per_unit * BR * (int64_t)sizeof(int64_t)));
    w->hi = carve(&at, ax_ws_round(plan->tiles_per_unit * BR * (int64_t)sizeof(int64_t)));
    w->pairs = carve(&at, floats_bytes(BR * BC / 2));
}

void attn_cpu_backward_carve(const attn_cpu_plan *plan, void *slice, attn_cpu_bwd_buffers *w) {
    const int64_t dp = plan->dp, rk = plan->range_keys, row = dp > BC ? dp : BC;
    char *at = slice;
    w->k = carve(&at, floats_bytes(rk * dp));
    w->v = carve(&at, floats_bytes(rk * dp));
    w->dk = carve(&at, floats_bytes(rk * dp));
    w->dv = carve(&at, floats_bytes(rk * dp));
    w->q = carve(&at, floats_bytes(BR * dp));
    w->qt = carve(&at, floats_bytes(BR * dp));
    w->dout = carve(&at, floats_bytes(BR * dp));
    w->doutt = carve(&at, floats_bytes(BR * dp));
    w->dq = carve(&at, floats_bytes(BR * dp));
    w->lse = carve(&at, floats_bytes(BR));
    w->delta = carve(&at, floats_bytes(BR));
    w->s = carve(&at, floats_bytes(BC * BR));
    w->ds = carve(&at, floats_bytes(BC * BR));
    w->g = carve(&at, floats_bytes(BC * BR));
    w->row = carve(&at, floats_bytes(row));
    w->lo = carve(&at, ax_ws_round(BR * (int64_t)sizeof(int64_t)));
    w->hi = carve(&at, ax_ws_round(BR * (int64_t)sizeof(int64_t)));
    w->dbias = plan->dbias_numel > 0 ? carve(&at, floats_bytes(plan->dbias_numel)) : NULL;
    w->pairs = carve(&at, floats_bytes(BR * BC / 2));
}

ax_status attn_cpu_check_workspace(const ax_op_call *call, const attn_cpu_plan *plan, const char *op) {
    if (call->workspace.host_bytes < plan->total_bytes || (plan->total_bytes > 0 && call->host_ws == NULL))
        return ax_set_error(AX_ERR_INTERNAL, "%s: the host workspace has %lld bytes, the plan needs %lld", op,
                            (long long)call->workspace.host_bytes, (long long)plan->total_bytes);
    return AX_OK;
}
