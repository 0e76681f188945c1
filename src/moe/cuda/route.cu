/*
 * route.cu — the CUDA kernels of ax_moe_route and ax_moe_route_backward (route.c), one launch per
 * stage, no host synchronisation:
 *   select    one warp per token: p, the logsumexp, and the top k by k warp arg-max rounds of "the
 *             best after the previous pick" in the order (p desc, id asc; NaN as -inf), as the CPU
 *   capacity  one block per expert: a block-wide scan over the T * k choices in priority order
 *             (choice 0 of every token, then choice 1, ...) ranks the choices of its expert; those
 *             ranked at or past C are dropped. Also the expert's choice count (before dropping).
 *   finalize  forward: one thread per token (weights, normalisation over the kept choices);
 *             backward: one warp per token (dL/dp, then through the gating, plus the z-loss term)
 *   losses    forward with losses: one block, fixed-order reductions (deterministic)
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <cuda_runtime.h>
#include <stdint.h>

#include "axial/moe.h"
#include "core/cuda/launch.cuh"
#include "core/cuda/reduce.cuh"
#include "core/dtype_traits.h"
#include "moe/moe_params.h"

namespace {

constexpr int kWarpsPerBlock = 4;
constexpr int kScanThreads = 256;
constexpr int kLossThreads = 256;
constexpr int64_t kNoId = INT64_MAX; /* a lane without a candidate: loses every comparison */

struct RouteArgs {
    moe_route_params p;
    float *prob;       /* (T, E) */
    float *lse;        /* (T) */
    int32_t *sel;      /* (T, k) chosen ids */
    int32_t *final_id; /* (T, k) after the capacity */
    float *sel_p;      /* (T, k) */
    int64_t *counts;   /* (E) */
};

__global__ void __launch_bounds__(kWarpsPerBlock * 32) route_select_kernel(RouteArgs a) {
    const moe_route_params &p = a.p;
    const int lane = threadIdx.x & 31;
    const int64_t t = (int64_t)blockIdx.x * kWarpsPerBlock + (threadIdx.x >> 5);
    if (t >= p.T) return; /* whole warps leave together: t is uniform per warp */
    const int64_t E = p.E;
    const void *row = (const char *)p.logits + ax_dt_offset_bytes(p.logits_dtype, t * p.logits_s0);
    float m = -INFINITY;
    for (int64_t e = lane; e < E; e += 32) m = fmaxf(m, ax_elem_load_f32(row, e, p.logits_dtype));
    m = warp_max(m);
    float s = 0.0f;
    for (int64_t e = lane; e < E; e += 32) s += expf(ax_elem_load_f32(row, e, p.logits_dtype) - m);
    s = warp_sum(s);
    if (lane == 0) a.lse[t] = m + logf(s);
    float *pt = a.prob + t * E;
    for (int64_t e = lane; e < E; e += 32) {
        const float l = ax_elem_load_f32(row, e, p.logits_dtype);
        const float pe = p.gating == AX_MOE_SOFTMAX_TOPK ? expf(l - m) / s : moe_sigmoid(l);
        pt[e] = pe;
        if (p.probs != NULL) p.probs[t * p.probs_s0 + e * p.probs_s1] = pe;
    }
    /* Each lane reads back only the entries it wrote: no barrier needed. */
    float prev_key = INFINITY;
    int64_t prev_id = -1;
    for (int64_t j = 0; j < p.k; j++) {
        float best_key = -INFINITY;
        int64_t best = kNoId;
        for (int64_t e = lane; e < E; e += 32) {
            const float key = moe_route_key(pt[e]);
            if (!moe_route_before(prev_key, prev_id, key, e)) continue;
            if (best == kNoId || moe_route_before(key, e, best_key, best)) {
                best = e;
                best_key = key;
            }
        }
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) {
            const float ok = __shfl_xor_sync(0xffffffffu, best_key, o);
            const int64_t oid = __shfl_xor_sync(0xffffffffu, best, o);
            if (oid != kNoId && (best == kNoId || moe_route_before(ok, oid, best_key, best))) {
                best = oid;
                best_key = ok;
            }
        }
        if (lane == (int)(best & 31)) { /* the lane that owns the winner reads its p */
            a.sel[t * p.k + j] = (int32_t)best;
            a.sel_p[t * p.k + j] = pt[best];
        }
        prev_key = best_key;
        prev_id = best;
    }
}

/* Block e ranks expert e's choices in priority order, a tile of kScanThreads choices at a time. */
__global__ void __launch_bounds__(kScanThreads) route_capacity_kernel(RouteArgs a) {
    const moe_route_params &p = a.p;
    const int64_t e = blockIdx.x, n = p.T * p.k;
    __shared__ int warp_counts[kScanThreads / 32];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    int64_t running = 0;
    for (int64_t base = 0; base < n; base += kScanThreads) {
        const int64_t i = base + threadIdx.x; /* priority index: choice j = i / T of token t = i % T */
        int64_t slot = -1;
        bool mine = false;
        if (i < n) {
            slot = (i % p.T) * p.k + i / p.T;
            mine = a.sel[slot] == e;
        }
        const unsigned ballot = __ballot_sync(0xffffffffu, mine);
        if (lane == 0) warp_counts[warp] = __popc(ballot);
        __syncthreads();
        int before = 0, total = 0;
        for (int w = 0; w < kScanThreads / 32; w++) {
            before += w < warp ? warp_counts[w] : 0;
            total += warp_counts[w];
        }
        const int64_t rank = running + before + __popc(ballot & ((1u << lane) - 1u));
        if (mine) a.final_id[slot] = p.capacity < 0 || rank < p.capacity ? (int32_t)e : -1;
        running += total;
        __syncthreads(); /* warp_counts is rewritten by the next tile */
    }
    if (threadIdx.x == 0) a.counts[e] = running;
}

__device__ float route_kept_sum(const RouteArgs &a, int64_t t) {
    float s = 0.0f;
    for (int64_t j = 0; j < a.p.k; j++)
        if (a.final_id[t * a.p.k + j] >= 0) s += a.sel_p[t * a.p.k + j];
    return s;
}

__global__ void __launch_bounds__(128) route_forward_kernel(RouteArgs a) {
    const moe_route_params &p = a.p;
    const int64_t t = (int64_t)blockIdx.x * 128 + threadIdx.x;
    if (t >= p.T) return;
    const float s = p.normalize ? route_kept_sum(a, t) : 1.0f;
    for (int64_t j = 0; j < p.k; j++) {
        const int32_t id = a.final_id[t * p.k + j];
        const float pj = a.sel_p[t * p.k + j];
        const float w = id < 0 ? 0.0f : !p.normalize ? pj : s > 0.0f ? pj / s : 0.0f;
        p.expert_ids[t * p.ids_s0 + j * p.ids_s1] = id;
        p.weights[t * p.w_s0 + j * p.w_s1] = w;
    }
}

__global__ void __launch_bounds__(kWarpsPerBlock * 32) route_backward_kernel(RouteArgs a) {
    const moe_route_params &p = a.p;
    const int lane = threadIdx.x & 31;
    const int64_t t = (int64_t)blockIdx.x * kWarpsPerBlock + (threadIdx.x >> 5);
    if (t >= p.T) return;
    const int64_t E = p.E, k = p.k;
    const float *pt = a.prob + t * E;
    /* The load-balancing term of expert e, rounded once from double as the CPU's (route.c) */
    const double aux_scale = (double)p.aux_coef * (double)E;
    const double aux_div = (double)p.T * (double)p.T * (double)k;
    float s = 1.0f, dot = 0.0f;
    if (p.dweights != NULL && p.normalize) {
        s = route_kept_sum(a, t);
        if (s > 0.0f)
            for (int64_t j = 0; j < k; j++)
                if (a.final_id[t * k + j] >= 0) dot += p.dweights[t * p.dw_s0 + j * p.dw_s1] * (a.sel_p[t * k + j] / s);
    }
    /* dL/dp_e for this lane's experts; then sum_e g_e p_e over the warp (softmax). */
    float gp = 0.0f;
    for (int64_t e = lane; e < E; e += 32) {
        float g = (float)(aux_scale * (double)a.counts[e] / aux_div);
        if (p.dweights != NULL)
            for (int64_t j = 0; j < k; j++) {
                if (a.final_id[t * k + j] != e) continue;
                const float dw = p.dweights[t * p.dw_s0 + j * p.dw_s1];
                if (!p.normalize) g += dw;
                else if (s > 0.0f) g += (dw - dot) / s;
            }
        gp += g * pt[e];
    }
    gp = warp_sum(gp);
    const float lse = a.lse[t];
    const float zscale = 2.0f * p.z_coef * lse / (float)p.T;
    const void *row = (const char *)p.logits + ax_dt_offset_bytes(p.logits_dtype, t * p.logits_s0);
    for (int64_t e = lane; e < E; e += 32) {
        float g = (float)(aux_scale * (double)a.counts[e] / aux_div);
        if (p.dweights != NULL)
            for (int64_t j = 0; j < k; j++) {
                if (a.final_id[t * k + j] != e) continue;
                const float dw = p.dweights[t * p.dw_s0 + j * p.dw_s1];
                if (!p.normalize) g += dw;
                else if (s > 0.0f) g += (dw - dot) / s;
            }
        float d, softmax_e = pt[e];
        if (p.gating == AX_MOE_SOFTMAX_TOPK) {
            d = pt[e] * (g - gp);
        } else {
            d = g * pt[e] * (1.0f - pt[e]);
            softmax_e = expf(ax_elem_load_f32(row, e, p.logits_dtype) - lse);
        }
        if (p.z_coef != 0.0f) d += zscale * softmax_e;
        ax_elem_store_f32(p.dlogits, t * p.dl_s0 + e * p.dl_s1, p.dlogits_dtype, d);
    }
}

/* Sums in double, as the CPU's (route.c): fp32 partial sums of ~T/256 terms each would lose about
 * (T / 256) 2^-24 relative, 2e-4 at a million tokens. */
__global__ void __launch_bounds__(kLossThreads) route_losses_kernel(RouteArgs a) {
    const moe_route_params &p = a.p;
    __shared__ double scratch[kLossThreads / 32];
    const int64_t T = p.T, E = p.E;
    double aux = 0.0;
    for (int64_t e = 0; e < E && T > 0; e++) {
        double part = 0.0;
        for (int64_t t = threadIdx.x; t < T; t += kLossThreads) part += (double)a.prob[t * E + e];
        const double P = block_sum<kLossThreads>(part, scratch);
        __syncthreads();
        aux += ((double)a.counts[e] / (double)(T * p.k)) * (P / (double)T);
    }
    double zpart = 0.0;
    for (int64_t t = threadIdx.x; t < T; t += kLossThreads) zpart += (double)a.lse[t] * (double)a.lse[t];
    const double z = block_sum<kLossThreads>(zpart, scratch);
    if (threadIdx.x == 0) {
        p.losses[0] = T > 0 ? (float)(aux * (double)E) : 0.0f;
        p.losses[p.losses_s0] = T > 0 ? (float)(z / (double)T) : 0.0f;
    }
}

} /* namespace */

extern "C" ax_status moe_route_cuda(const ax_op_call *call) {
    const moe_route_params *p = static_cast<const moe_route_params *>(call->params);
    const cudaStream_t stream = static_cast<cudaStream_t>(call->ctx->cuda_stream);
    int64_t at[MOE_RWS_N];
    moe_route_cuda_ws(p, at);
    char *ws = static_cast<char *>(call->device_ws);
    RouteArgs a;
    a.p = *p;
    a.prob = reinterpret_cast<float *>(ws + at[MOE_RWS_P]);
    a.lse = reinterpret_cast<float *>(ws + at[MOE_RWS_LSE]);
    a.sel = reinterpret_cast<int32_t *>(ws + at[MOE_RWS_SEL]);
    a.final_id = reinterpret_cast<int32_t *>(ws + at[MOE_RWS_FINAL]);
    a.sel_p = reinterpret_cast<float *>(ws + at[MOE_RWS_SELP]);
    a.counts = reinterpret_cast<int64_t *>(ws + at[MOE_RWS_COUNTS]);
    if (p->T > 0) {
        const int64_t warp_blocks = ceil_div(p->T, kWarpsPerBlock);
        AX_CHECK(ax_cuda_launch(route_select_kernel, "moe_route_select_kernel", warp_blocks, kWarpsPerBlock * 32, 0,
                                stream, a));
        AX_CHECK(ax_cuda_launch(route_capacity_kernel, "moe_route_capacity_kernel", p->E, kScanThreads, 0, stream, a));
        if (p->backward)
            return ax_cuda_launch(route_backward_kernel, "moe_route_backward_kernel", warp_blocks, kWarpsPerBlock * 32,
                                  0, stream, a);
        AX_CHECK(ax_cuda_launch(route_forward_kernel, "moe_route_forward_kernel", ceil_div(p->T, 128), 128, 0, stream,
                                a));
    }
    if (p->losses == NULL) return AX_OK;
    return ax_cuda_launch(route_losses_kernel, "moe_route_losses_kernel", 1, kLossThreads, 0, stream, a);
}
