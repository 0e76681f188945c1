/*
 * attention_cpu.c — the CPU backend of Evoformer attention: picks the instruction-set build, plans
 * the deterministic backward split, accounts for working memory, and reduces the bias_mask gradient.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

#include "core/dtype_convert.h"
#include "core/internal.h"
#include "evoformer/cpu/attention_cpu.h"

int64_t evo_cpu_thread_bytes(const evo_attn_params *p, const evo_cpu_backward_plan *plan, int backward);

static const evo_cpu_kernels *active_kernels(void) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    switch (ax_cpu_path_resolved()) {
    case AX_CPU_PATH_AVX512: return &evo_cpu_kernels_avx512;
    case AX_CPU_PATH_AVX2: return &evo_cpu_kernels_avx2;
    default: break;
    }
#endif
    return &evo_cpu_kernels_portable;
}

/* Threads actually used: no more than there are units of work. */
static int threads_for(const ax_context *ctx, int64_t units) {
    int64_t t = ctx->num_threads > 0 ? ctx->num_threads : 1;
    if (units < t) t = units > 0 ? units : 1;
    return (int)t;
}

ax_status evo_attn_forward_cpu(ax_context *ctx, const evo_attn_params *p) {
    const int64_t units = p->B * p->N * p->H * ((p->S + EVO_CPU_BR - 1) / EVO_CPU_BR);
    const int threads = threads_for(ctx, units);
    AX_CHECK(ax_context_reserve_workspace(ctx, threads * evo_cpu_thread_bytes(p, NULL, 0)));
    if (units == 0) return AX_OK;
    if (active_kernels()->forward(p, threads) != 0)
        return ax_set_error(AX_ERR_OUT_OF_MEMORY, "evoformer attention forward: a thread's tile buffers could not be allocated");
    return AX_OK;
}

/* Units must not share an output element. dbias_pair sums over n (and over b or h where it
 * broadcasts), so with it one unit takes every n of a (b, h) pair; without it each (b, h, n) is a unit. */
static evo_cpu_backward_plan plan_backward(const evo_attn_params *p) {
    evo_cpu_backward_plan plan;
    memset(&plan, 0, sizeof plan);
    if (p->dbias_pair != NULL) {
        plan.unit_nb = p->dpair_shape_b == 1 ? p->B : 1;
        plan.unit_nh = p->dpair_shape_h == 1 ? p->H : 1;
        plan.unit_nn = p->N;
    } else {
        plan.unit_nb = plan.unit_nh = plan.unit_nn = 1;
    }
    plan.units_b = plan.unit_nb > 0 ? p->B / plan.unit_nb : 0;
    plan.units_h = plan.unit_nh > 0 ? p->H / plan.unit_nh : 0;
    plan.units_n = plan.unit_nn > 0 ? p->N / plan.unit_nn : 0;
    return plan;
}

/* dbias_mask[bo, no, 0, 0, jo] = sum over its broadcast b, n, j and over every h of the partial column
 * sums, always in the same order. */
static void reduce_mask_gradient(const evo_attn_params *p, const float *partial) {
    const int64_t nb = p->dmask_shape_b == 1 ? p->B : 1;
    const int64_t nn = p->dmask_shape_n == 1 ? p->N : 1;
    const int64_t nj = p->dmask_shape_j == 1 ? p->S : 1;
    for (int64_t bo = 0; bo < p->dmask_shape_b; bo++)
        for (int64_t no = 0; no < p->dmask_shape_n; no++)
            for (int64_t jo = 0; jo < p->dmask_shape_j; jo++) {
                float sum = 0.0f;
                for (int64_t b = bo; b < bo + nb; b++)
                    for (int64_t h = 0; h < p->H; h++)
                        for (int64_t n = no; n < no + nn; n++) {
                            const float *row = partial + ((b * p->H + h) * p->N + n) * p->S;
                            for (int64_t j = jo; j < jo + nj; j++) sum += row[j];
                        }
                const int64_t idx = bo * p->dmask_stride_b + no * p->dmask_stride_n + jo * p->dmask_stride_j;
                if (p->dbias_mask_dtype == AX_F32) ((float *)p->dbias_mask)[idx] = sum;
                else if (p->dbias_mask_dtype == AX_BF16) ((uint16_t *)p->dbias_mask)[idx] = ax_f32_to_bf16(sum);
                else ((uint16_t *)p->dbias_mask)[idx] = ax_f32_to_f16(sum);
            }
}

ax_status evo_attn_backward_cpu(ax_context *ctx, const evo_attn_params *p) {
    evo_cpu_backward_plan plan = plan_backward(p);
    const int64_t units = plan.units_b * plan.units_h * plan.units_n;
    const int threads = threads_for(ctx, units);
    const int64_t partial_floats = p->dbias_mask != NULL ? p->B * p->H * p->N * p->S : 0;
    AX_CHECK(ax_context_reserve_workspace(ctx, threads * evo_cpu_thread_bytes(p, &plan, 1) + partial_floats * (int64_t)sizeof(float)));
    if (partial_floats > 0) {
        plan.mask_partial = calloc((size_t)partial_floats, sizeof(float));
        if (plan.mask_partial == NULL)
            return ax_set_error(AX_ERR_OUT_OF_MEMORY, "evoformer attention backward: %lld bytes for the bias_mask gradient",
                                (long long)(partial_floats * (int64_t)sizeof(float)));
    }
    if (units > 0 && active_kernels()->backward(p, &plan, threads) != 0) {
        free(plan.mask_partial);
        return ax_set_error(AX_ERR_OUT_OF_MEMORY, "evoformer attention backward: a thread's buffers could not be allocated");
    }
    if (p->dbias_mask != NULL) reduce_mask_gradient(p, plan.mask_partial);
    free(plan.mask_partial);
    return AX_OK;
}
