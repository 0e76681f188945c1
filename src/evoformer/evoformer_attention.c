/*
 * evoformer_attention.c — entry points of Evoformer attention: validate every tensor before any
 * work, fill the one params struct, dispatch to the CPU or CUDA backend.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <string.h>

#include "axial/evoformer.h"
#include "core/internal.h"
#include "core/op.h"
#include "core/tensor_spec.h"
#include "evoformer/evoformer_params.h"

#define CPU_MAX_HEAD_DIM 256

/* The tensor contract of both directions, in the order the checks run. */
enum { T_Q, T_K, T_V, T_MASK, T_PAIR, T_OUT, T_LSE, T_DOUT, T_DQ, T_DK, T_DV, T_DMASK, T_DPAIR, T_COUNT };

#define BNSHD "B", "N", "S", "H", "D"

static void spec_activation(ax_tensor_spec *s, const char *name, const ax_tensor *t, unsigned flags) {
    const ax_tensor_spec spec = AX_SPEC(name, t, 5, BNSHD);
    *s = spec;
    s->dtype_as = T_Q;
    s->flags = flags;
}

/* Fills specs[0 .. T_LSE] (and the backward's when `backward`); returns the count. */
static int32_t evo_specs(ax_tensor_spec *s, const ax_tensor *q, const ax_tensor *k, const ax_tensor *v,
                         const ax_tensor *bias_mask, const ax_tensor *bias_pair, const ax_tensor *out,
                         const ax_tensor *lse, int backward) {
    const ax_tensor_spec sq = AX_SPEC("q", q, 5, BNSHD);
    s[T_Q] = sq;
    s[T_Q].dtypes = AX_DTYPES_FLOAT;
    spec_activation(&s[T_K], "k", k, 0);
    spec_activation(&s[T_V], "v", v, 0);
    const ax_tensor_spec smask = AX_SPEC("bias_mask", bias_mask, 5, "B", "N", "1", "1", "S");
    s[T_MASK] = smask;
    s[T_MASK].broadcast = 1u << 0 | 1u << 1 | 1u << 4;
    s[T_MASK].layout = "(B, N, 1, 1, S)";
    const ax_tensor_spec spair = AX_SPEC("bias_pair", bias_pair, 5, "B", "1", "H", "S (query)", "S (key)");
    s[T_PAIR] = spair;
    s[T_PAIR].broadcast = 1u << 0 | 1u << 2 | 1u << 3 | 1u << 4;
    s[T_PAIR].layout = "(B, 1, H, S, S)";
    for (int i = T_MASK; i <= T_PAIR; i++) {
        s[i].dtype_as = T_Q;
        s[i].dtypes = AX_DTYPE_BIT(AX_F32);
        s[i].flags = AX_SPEC_OPTIONAL;
    }
    /* The forward writes out and lse; the backward reads them. */
    spec_activation(&s[T_OUT], "out", out, backward ? 0 : AX_SPEC_OUTPUT);
    const ax_tensor_spec slse = AX_SPEC("lse", lse, 4, "B", "N", "H", "S");
    s[T_LSE] = slse;
    s[T_LSE].dtypes = AX_DTYPE_BIT(AX_F32);
    s[T_LSE].flags = backward ? 0 : AX_SPEC_OUTPUT | AX_SPEC_OPTIONAL;
    return backward ? T_COUNT : T_LSE + 1;
}

static evo_bnshd_strides strides_of(const ax_tensor *t) {
    evo_bnshd_strides s = {t->strides[0], t->strides[1], t->strides[2], t->strides[3], t->strides[4]};
    return s;
}

/* Broadcast dims (size 1) get stride 0 so the kernels can index with the full coordinates. */
static int64_t bstride(const ax_tensor *t, int32_t d) { return t->shape[d] == 1 ? 0 : t->strides[d]; }

/* Fills the params every direction shares from validated q, k, v and biases. */
static void fill_common(const ax_tensor *q, const ax_tensor *k, const ax_tensor *v, const ax_tensor *bias_mask,
                        const ax_tensor *bias_pair, evo_attn_params *p) {
    memset(p, 0, sizeof *p);
    p->B = q->shape[0];
    p->N = q->shape[1];
    p->S = q->shape[2];
    p->H = q->shape[3];
    p->D = q->shape[4];
    p->scale = p->D > 0 ? (float)(1.0 / sqrt((double)p->D)) : 1.0f;
    p->dtype = q->dtype;
    p->q = q->data;
    p->k = k->data;
    p->v = v->data;
    p->q_strides = strides_of(q);
    p->k_strides = strides_of(k);
    p->v_strides = strides_of(v);
    if (bias_mask != NULL) {
        p->bias_mask = bias_mask->data;
        p->bias_mask_dtype = bias_mask->dtype;
        p->mask_stride_b = bstride(bias_mask, 0);
        p->mask_stride_n = bstride(bias_mask, 1);
        p->mask_stride_j = bstride(bias_mask, 4);
    }
    if (bias_pair != NULL) {
        p->bias_pair = bias_pair->data;
        p->bias_pair_dtype = bias_pair->dtype;
        p->pair_stride_b = bstride(bias_pair, 0);
        p->pair_stride_h = bstride(bias_pair, 2);
        p->pair_stride_i = bstride(bias_pair, 3);
        p->pair_stride_j = bstride(bias_pair, 4);
    }
}

static ax_status cpu_supports(const ax_context *ctx, const void *params) {
    (void)ctx;
    const evo_attn_params *p = params;
    if (p->D > CPU_MAX_HEAD_DIM)
        return ax_set_error(AX_ERR_UNSUPPORTED, "q: head dim D = %lld exceeds the CPU backend's limit of %d",
                            (long long)p->D, CPU_MAX_HEAD_DIM);
    return AX_OK;
}

static const ax_op evo_forward_op = {
    .name = "evoformer_attention_forward",
    .cpu = AX_CPU_KERNELS(evo_attn_forward_cpu),
    .cuda = AX_CUDA_KERNEL(evo_attn_forward_cuda),
    .cpu_supports = cpu_supports,
    .cuda_supports = AX_CUDA_KERNEL(evo_attn_forward_cuda_supports),
    .cpu_workspace = evo_attn_forward_cpu_workspace,
    .cuda_workspace = AX_CUDA_KERNEL(evo_attn_forward_cuda_workspace),
};

static const ax_op evo_backward_op = {
    .name = "evoformer_attention_backward",
    .cpu = AX_CPU_KERNELS(evo_attn_backward_cpu),
    .cuda = AX_CUDA_KERNEL(evo_attn_backward_cuda),
    .cpu_supports = cpu_supports,
    .cuda_supports = AX_CUDA_KERNEL(evo_attn_backward_cuda_supports),
    .cpu_workspace = evo_attn_backward_cpu_workspace,
    .cuda_workspace = AX_CUDA_KERNEL(evo_attn_backward_cuda_workspace),
};

/* The forward's output and lse: written by the forward, read by the backward. */
static void set_out_and_lse(evo_attn_params *p, const ax_tensor *out, const ax_tensor *lse) {
    p->out = out->data;
    p->out_strides = strides_of(out);
    if (lse != NULL) {
        p->lse = lse->data;
        p->lse_stride_b = lse->strides[0];
        p->lse_stride_n = lse->strides[1];
        p->lse_stride_h = lse->strides[2];
        p->lse_stride_s = lse->strides[3];
    }
}

static int is_empty(const evo_attn_params *p) {
    return p->B == 0 || p->N == 0 || p->S == 0 || p->H == 0 || p->D == 0;
}

/* D = 0 with heads to attend over: the logits would be the biases alone. Outside the documented
 * D >= 1, so refused rather than left unwritten (lse had kept its old bytes). */
static ax_status check_head_dim(const evo_attn_params *p) {
    if (p->D == 0 && p->B > 0 && p->N > 0 && p->S > 0 && p->H > 0)
        return ax_set_error(AX_ERR_UNSUPPORTED, "q: dim 4 (D) is 0; Evoformer attention needs D >= 1");
    return AX_OK;
}

ax_status ax_evoformer_attention_forward(ax_context *ctx, const ax_tensor *q, const ax_tensor *k, const ax_tensor *v,
                                         const ax_tensor *bias_mask, const ax_tensor *bias_pair, ax_tensor *out,
                                         ax_tensor *lse) {
    if (ctx == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "ctx: NULL context");
    ax_tensor_spec specs[T_COUNT];
    ax_dims dims = {0};
    const int32_t n = evo_specs(specs, q, k, v, bias_mask, bias_pair, out, lse, 0);
    AX_CHECK(ax_check_specs(ctx, specs, n, &dims));
    evo_attn_params p;
    fill_common(q, k, v, bias_mask, bias_pair, &p);
    set_out_and_lse(&p, out, lse);
    AX_CHECK(check_head_dim(&p));
    if (is_empty(&p)) return AX_OK;
    return ax_op_run(&evo_forward_op, ctx, &p);
}

ax_status ax_evoformer_attention_backward(ax_context *ctx, const ax_tensor *q, const ax_tensor *k, const ax_tensor *v,
                                          const ax_tensor *bias_mask, const ax_tensor *bias_pair,
                                          const ax_tensor *out, const ax_tensor *lse, const ax_tensor *dout,
                                          ax_tensor *dq, ax_tensor *dk, ax_tensor *dv, ax_tensor *dbias_mask,
                                          ax_tensor *dbias_pair) {
    if (ctx == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "ctx: NULL context");
    ax_tensor_spec specs[T_COUNT];
    ax_dims dims = {0};
    const int32_t n = evo_specs(specs, q, k, v, bias_mask, bias_pair, out, lse, 1);
    spec_activation(&specs[T_DOUT], "dout", dout, 0);
    spec_activation(&specs[T_DQ], "dq", dq, AX_SPEC_OUTPUT);
    spec_activation(&specs[T_DK], "dk", dk, AX_SPEC_OUTPUT);
    spec_activation(&specs[T_DV], "dv", dv, AX_SPEC_OUTPUT);
    const ax_tensor_spec sdmask = AX_SPEC("dbias_mask", dbias_mask, 5, NULL);
    const ax_tensor_spec sdpair = AX_SPEC("dbias_pair", dbias_pair, 5, NULL);
    specs[T_DMASK] = sdmask;
    specs[T_DMASK].like = T_MASK;
    specs[T_DPAIR] = sdpair;
    specs[T_DPAIR].like = T_PAIR;
    specs[T_DMASK].flags = specs[T_DPAIR].flags = AX_SPEC_OUTPUT | AX_SPEC_OPTIONAL;
    if (lse == NULL && q != NULL)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "lse: NULL (backward needs the forward's lse)");
    AX_CHECK(ax_check_specs(ctx, specs, n, &dims));

    evo_attn_params p;
    fill_common(q, k, v, bias_mask, bias_pair, &p);
    set_out_and_lse(&p, out, lse);
    p.dout = dout->data;
    p.dout_strides = strides_of(dout);
    p.dq = dq->data;
    p.dk = dk->data;
    p.dv = dv->data;
    p.dq_strides = strides_of(dq);
    p.dk_strides = strides_of(dk);
    p.dv_strides = strides_of(dv);
    if (dbias_mask != NULL) {
        p.dbias_mask = dbias_mask->data;
        p.dmask_shape_b = dbias_mask->shape[0];
        p.dmask_shape_n = dbias_mask->shape[1];
        p.dmask_shape_j = dbias_mask->shape[4];
        p.dmask_stride_b = dbias_mask->strides[0];
        p.dmask_stride_n = dbias_mask->strides[1];
        p.dmask_stride_j = dbias_mask->strides[4];
        p.dbias_mask_dtype = dbias_mask->dtype;
    }
    if (dbias_pair != NULL) {
        p.dbias_pair = dbias_pair->data;
        p.dpair_shape_b = dbias_pair->shape[0];
        p.dpair_shape_h = dbias_pair->shape[2];
        p.dpair_shape_i = dbias_pair->shape[3];
        p.dpair_shape_j = dbias_pair->shape[4];
        p.dpair_stride_b = dbias_pair->strides[0];
        p.dpair_stride_h = dbias_pair->strides[2];
        p.dpair_stride_i = dbias_pair->strides[3];
        p.dpair_stride_j = dbias_pair->strides[4];
    }
    AX_CHECK(check_head_dim(&p));
    if (is_empty(&p)) {
        if (ctx->measure) return AX_OK;
        /* A bias gradient that still has elements (it broadcasts over the empty dim) is the
         * gradient of an empty sum. */
        AX_CHECK(ax_tensor_zero(ctx, dbias_mask));
        return ax_tensor_zero(ctx, dbias_pair);
    }
    return ax_op_run(&evo_backward_op, ctx, &p);
}
