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
#include "evoformer/evoformer_params.h"

#define BNSHD "(B, N, S, H, D)"
#define CPU_MAX_HEAD_DIM 256

typedef struct problem_shape {
    int64_t B, N, S, H, D;
    ax_dtype dtype;
    ax_device device;
} problem_shape;

static ax_status check_activation(const ax_tensor *t, const char *name, const problem_shape *ps) {
    static const char *dim_names[5] = {"B", "N", "S", "H", "D"};
    const int64_t sizes[5] = {ps->B, ps->N, ps->S, ps->H, ps->D};
    AX_CHECK(ax_check_tensor(t, name, 5, BNSHD));
    for (int32_t d = 0; d < 5; d++) AX_CHECK(ax_check_dim(t, name, d, dim_names[d], sizes[d]));
    AX_CHECK(ax_check_dtype(t, name, ps->dtype));
    return ax_check_device(t, name, ps->device);
}

static evo_bnshd_strides strides_of(const ax_tensor *t) {
    evo_bnshd_strides s = {t->strides[0], t->strides[1], t->strides[2], t->strides[3], t->strides[4]};
    return s;
}

/* Broadcast dims (size 1) get stride 0 so the kernels can index with the full coordinates. */
static int64_t bstride(const ax_tensor *t, int32_t d) { return t->shape[d] == 1 ? 0 : t->strides[d]; }

static ax_status check_bias_dtype(const ax_tensor *t, const char *name, ax_dtype dtype) {
    if (t->dtype != dtype && t->dtype != AX_F32)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: dtype is %s, expected %s (as q) or f32", name,
                            ax_dtype_name(t->dtype), ax_dtype_name(dtype));
    return AX_OK;
}

static ax_status check_bias_mask(const ax_tensor *t, const char *name, const problem_shape *ps) {
    AX_CHECK(ax_check_tensor(t, name, 5, "(B, N, 1, 1, S)"));
    AX_CHECK(ax_check_dim_broadcast(t, name, 0, "B", ps->B));
    AX_CHECK(ax_check_dim_broadcast(t, name, 1, "N", ps->N));
    AX_CHECK(ax_check_dim(t, name, 2, "1", 1));
    AX_CHECK(ax_check_dim(t, name, 3, "1", 1));
    AX_CHECK(ax_check_dim_broadcast(t, name, 4, "S", ps->S));
    AX_CHECK(check_bias_dtype(t, name, ps->dtype));
    return ax_check_device(t, name, ps->device);
}

static ax_status check_bias_pair(const ax_tensor *t, const char *name, const problem_shape *ps) {
    AX_CHECK(ax_check_tensor(t, name, 5, "(B, 1, H, S, S)"));
    AX_CHECK(ax_check_dim_broadcast(t, name, 0, "B", ps->B));
    AX_CHECK(ax_check_dim(t, name, 1, "1", 1));
    AX_CHECK(ax_check_dim_broadcast(t, name, 2, "H", ps->H));
    AX_CHECK(ax_check_dim_broadcast(t, name, 3, "S (query)", ps->S));
    AX_CHECK(ax_check_dim_broadcast(t, name, 4, "S (key)", ps->S));
    AX_CHECK(check_bias_dtype(t, name, ps->dtype));
    return ax_check_device(t, name, ps->device);
}

static ax_status check_lse(const ax_tensor *t, const char *name, const problem_shape *ps) {
    AX_CHECK(ax_check_tensor(t, name, 4, "(B, N, H, S)"));
    AX_CHECK(ax_check_dim(t, name, 0, "B", ps->B));
    AX_CHECK(ax_check_dim(t, name, 1, "N", ps->N));
    AX_CHECK(ax_check_dim(t, name, 2, "H", ps->H));
    AX_CHECK(ax_check_dim(t, name, 3, "S", ps->S));
    AX_CHECK(ax_check_dtype(t, name, AX_F32));
    return ax_check_device(t, name, ps->device);
}

/* A gradient must have exactly its bias's shape and dtype. */
static ax_status check_bias_grad(const ax_tensor *grad, const char *name, const ax_tensor *bias,
                                 const char *bias_name, const problem_shape *ps) {
    if (bias == NULL)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: given, but %s is NULL (no gradient exists)", name,
                            bias_name);
    AX_CHECK(ax_check_tensor(grad, name, 5, "(the shape of its bias)"));
    for (int32_t d = 0; d < 5; d++)
        if (grad->shape[d] != bias->shape[d])
            return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: dim %d is %lld, but %s has %lld there", name, (int)d,
                                (long long)grad->shape[d], bias_name, (long long)bias->shape[d]);
    AX_CHECK(ax_check_dtype(grad, name, bias->dtype));
    return ax_check_device(grad, name, ps->device);
}

typedef struct named_tensor {
    const ax_tensor *t;
    const char *name;
} named_tensor;

/* Outputs must not overlap themselves, each other, or any input: the kernels read inputs while
 * writing outputs, in parallel. */
static ax_status check_outputs_disjoint(const named_tensor *outs, int n_outs, const named_tensor *ins, int n_ins) {
    for (int i = 0; i < n_outs; i++) {
        if (outs[i].t == NULL) continue;
        AX_CHECK(ax_check_no_self_overlap(outs[i].t, outs[i].name));
        for (int j = 0; j < n_outs; j++)
            if (j != i && outs[j].t != NULL && ax_tensors_overlap(outs[i].t, outs[j].t))
                return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: overlaps the output %s", outs[i].name, outs[j].name);
        for (int j = 0; j < n_ins; j++)
            if (ins[j].t != NULL && ax_tensors_overlap(outs[i].t, ins[j].t))
                return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: overlaps the input %s", outs[i].name, ins[j].name);
    }
    return AX_OK;
}

/* Validates q, k, v and the biases, and fills the shared part of the params. */
static ax_status prepare_common(const ax_context *ctx, const ax_tensor *q, const ax_tensor *k, const ax_tensor *v,
                                const ax_tensor *bias_mask, const ax_tensor *bias_pair, problem_shape *ps,
                                evo_attn_params *p) {
    if (ctx == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "ctx: NULL context");
    AX_CHECK(ax_check_tensor(q, "q", 5, BNSHD));
    if (q->dtype != AX_F32 && q->dtype != AX_BF16 && q->dtype != AX_F16)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "q: dtype is %s, expected f32, bf16 or f16", ax_dtype_name(q->dtype));
    ps->B = q->shape[0];
    ps->N = q->shape[1];
    ps->S = q->shape[2];
    ps->H = q->shape[3];
    ps->D = q->shape[4];
    ps->dtype = q->dtype;
    ps->device = ctx->device;
    AX_CHECK(check_activation(q, "q", ps));
    AX_CHECK(check_activation(k, "k", ps));
    AX_CHECK(check_activation(v, "v", ps));
    if (bias_mask != NULL) AX_CHECK(check_bias_mask(bias_mask, "bias_mask", ps));
    if (bias_pair != NULL) AX_CHECK(check_bias_pair(bias_pair, "bias_pair", ps));
    if (ctx->device.type == AX_CPU && ps->D > CPU_MAX_HEAD_DIM)
        return ax_set_error(AX_ERR_UNSUPPORTED, "q: head dim D = %lld exceeds the CPU backend's limit of %d",
                            (long long)ps->D, CPU_MAX_HEAD_DIM);

    memset(p, 0, sizeof *p);
    p->B = ps->B;
    p->N = ps->N;
    p->S = ps->S;
    p->H = ps->H;
    p->D = ps->D;
    p->scale = ps->D > 0 ? (float)(1.0 / sqrt((double)ps->D)) : 1.0f;
    p->dtype = ps->dtype;
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
    return AX_OK;
}

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

static int is_empty(const problem_shape *ps) {
    return ps->B == 0 || ps->N == 0 || ps->S == 0 || ps->H == 0 || ps->D == 0;
}

ax_status ax_evoformer_attention_forward(ax_context *ctx, const ax_tensor *q, const ax_tensor *k, const ax_tensor *v,
                                         const ax_tensor *bias_mask, const ax_tensor *bias_pair, ax_tensor *out,
                                         ax_tensor *lse) {
    problem_shape ps;
    evo_attn_params p;
    AX_CHECK(prepare_common(ctx, q, k, v, bias_mask, bias_pair, &ps, &p));
    AX_CHECK(check_activation(out, "out", &ps));
    if (lse != NULL) AX_CHECK(check_lse(lse, "lse", &ps));
    const named_tensor outs[] = {{out, "out"}, {lse, "lse"}};
    const named_tensor ins[] = {{q, "q"}, {k, "k"}, {v, "v"}, {bias_mask, "bias_mask"}, {bias_pair, "bias_pair"}};
    AX_CHECK(check_outputs_disjoint(outs, 2, ins, 5));

    set_out_and_lse(&p, out, lse);
    if (is_empty(&ps)) return AX_OK;
    if (ctx->device.type == AX_CUDA) {
        AX_CHECK(evo_attn_cuda_supports(&p, 0));
        return evo_attn_forward_cuda(ctx, &p);
    }
    return evo_attn_forward_cpu(ctx, &p);
}

ax_status ax_evoformer_attention_backward(ax_context *ctx, const ax_tensor *q, const ax_tensor *k, const ax_tensor *v,
                                          const ax_tensor *bias_mask, const ax_tensor *bias_pair,
                                          const ax_tensor *out, const ax_tensor *lse, const ax_tensor *dout,
                                          ax_tensor *dq, ax_tensor *dk, ax_tensor *dv, ax_tensor *dbias_mask,
                                          ax_tensor *dbias_pair) {
    problem_shape ps;
    evo_attn_params p;
    AX_CHECK(prepare_common(ctx, q, k, v, bias_mask, bias_pair, &ps, &p));
    AX_CHECK(check_activation(out, "out", &ps));
    if (lse == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "lse: NULL (backward needs the forward's lse)");
    AX_CHECK(check_lse(lse, "lse", &ps));
    AX_CHECK(check_activation(dout, "dout", &ps));
    AX_CHECK(check_activation(dq, "dq", &ps));
    AX_CHECK(check_activation(dk, "dk", &ps));
    AX_CHECK(check_activation(dv, "dv", &ps));
    if (dbias_mask != NULL) AX_CHECK(check_bias_grad(dbias_mask, "dbias_mask", bias_mask, "bias_mask", &ps));
    if (dbias_pair != NULL) AX_CHECK(check_bias_grad(dbias_pair, "dbias_pair", bias_pair, "bias_pair", &ps));
    const named_tensor outs[] = {{dq, "dq"}, {dk, "dk"}, {dv, "dv"}, {dbias_mask, "dbias_mask"},
                                 {dbias_pair, "dbias_pair"}};
    const named_tensor ins[] = {{q, "q"},     {k, "k"},       {v, "v"},          {bias_mask, "bias_mask"},
                                {bias_pair, "bias_pair"}, {out, "out"}, {lse, "lse"}, {dout, "dout"}};
    AX_CHECK(check_outputs_disjoint(outs, 5, ins, 8));

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
    if (is_empty(&ps)) return AX_OK;
    if (ctx->device.type == AX_CUDA) {
        AX_CHECK(evo_attn_cuda_supports(&p, 1));
        return evo_attn_backward_cuda(ctx, &p);
    }
    return evo_attn_backward_cpu(ctx, &p);
}
