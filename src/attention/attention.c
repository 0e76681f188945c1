/*
 * attention.c — ax_attention_forward and ax_attention_backward (attention.h): their tensor
 * contract, the checks of the options and of cu_seqlens, the op-table registrations and the CPU
 * workspace functions. The kernels are cpu/attention_fwd.isa.inc, cpu/attention_bwd.isa.inc and
 * cuda/attention_{fwd,bwd}.cu.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <string.h>

#include "attention/attention_params.h"
#include "attention/cpu/attention_cpu.h"
#include "axial/attention.h"
#include "core/internal.h"
#include "core/op.h"
#include "core/tensor_spec.h"

/* CUDA kernels: head dims up to this, in multiples of 8 (16-byte loads of 16-bit rows). */
#define CUDA_MAX_HEAD_DIM 256

ax_attention_options ax_attention_options_default(void) {
    ax_attention_options o;
    memset(&o, 0, sizeof o);
    o.window_left = -1;
    o.window_right = -1;
    return o;
}

/* The tensor contract of both directions, in the order the checks run. */
enum {
    T_Q, T_K, T_V, T_BIAS, T_CUQ, T_CUK, T_OUT, T_LSE, T_DOUT, T_DQ, T_DK, T_DV, T_DBIAS, T_COUNT
};

static ax_tensor_spec act_spec(const char *name, const ax_tensor *t, int packed, const char *seq, const char *heads,
                               unsigned flags) {
    ax_tensor_spec s;
    if (packed) {
        const ax_tensor_spec sp = AX_SPEC(name, t, 3, seq, heads, "D");
        s = sp;
    } else {
        const ax_tensor_spec sp = AX_SPEC(name, t, 4, "B", seq, heads, "D");
        s = sp;
    }
    s.dtype_as = T_Q;
    s.flags = flags | AX_SPEC_LAST_CONTIGUOUS;
    return s;
}

/* Fills specs[T_Q .. T_LSE]; the backward adds the rest. Packed batches name the token counts Tq
 * and Tk and bind B from cu_seqlens (B + 1 entries). */
static void fill_specs(ax_tensor_spec *s, int packed, const ax_tensor *q, const ax_tensor *k, const ax_tensor *v,
                       const ax_tensor *bias, const ax_attention_options *o, const ax_tensor *out,
                       const ax_tensor *lse, int backward) {
    const char *sq = packed ? "Tq" : "Sq", *sk = packed ? "Tk" : "Sk";
    s[T_Q] = act_spec("q", q, packed, sq, "H", 0);
    s[T_Q].dtype_as = -1;
    s[T_Q].dtypes = AX_DTYPES_FLOAT;
    s[T_K] = act_spec("k", k, packed, sk, "Hkv", 0);
    s[T_V] = act_spec("v", v, packed, sk, "Hkv", 0);
    const ax_tensor_spec sb = packed ? (ax_tensor_spec)AX_SPEC("bias", bias, 4, "B", "H", "Mq (max Sq)", "Mk (max Sk)")
                                     : (ax_tensor_spec)AX_SPEC("bias", bias, 4, "B", "H", "Sq", "Sk");
    s[T_BIAS] = sb;
    s[T_BIAS].broadcast = 0xFu;
    s[T_BIAS].dtype_as = T_Q;
    s[T_BIAS].dtypes = AX_DTYPE_BIT(AX_F32);
    s[T_BIAS].flags = AX_SPEC_OPTIONAL | AX_SPEC_LAST_CONTIGUOUS;
    const ax_tensor_spec cq = AX_SPEC("opt->cu_seqlens_q", o->cu_seqlens_q, 1, "B1 (B + 1)");
    const ax_tensor_spec ck = AX_SPEC("opt->cu_seqlens_k", o->cu_seqlens_k, 1, "B1 (B + 1)");
    s[T_CUQ] = cq;
    s[T_CUK] = ck;
    s[T_CUQ].dtypes = s[T_CUK].dtypes = AX_DTYPE_BIT(AX_I32);
    /* Contiguous: the kernels index them as plain arrays (a strided view had been checked with its
     * stride, then read without it). */
    s[T_CUQ].flags = s[T_CUK].flags = AX_SPEC_OPTIONAL | AX_SPEC_LAST_CONTIGUOUS;
    s[T_OUT] = act_spec("out", out, packed, sq, "H", backward ? 0 : AX_SPEC_OUTPUT);
    const ax_tensor_spec sl = packed ? (ax_tensor_spec)AX_SPEC("lse", lse, 2, "H", sq)
                                     : (ax_tensor_spec)AX_SPEC("lse", lse, 3, "B", "H", sq);
    s[T_LSE] = sl;
    s[T_LSE].dtypes = AX_DTYPE_BIT(AX_F32);
    s[T_LSE].flags = backward ? 0 : AX_SPEC_OUTPUT | AX_SPEC_OPTIONAL;
}

/* Options: window/causal, scale and softcap. Fills the resolved values. */
static ax_status check_options(const ax_attention_options *o, int64_t D, attn_params *p) {
    if (o->causal != 0 && o->causal != 1)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "opt->causal: %d, expected 0 or 1", o->causal);
    if (o->causal && o->window_right > 0)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                            "opt->window_right: %lld conflicts with opt->causal (causal means window_right = 0)",
                            (long long)o->window_right);
    p->window_left = o->window_left < 0 ? -1 : o->window_left;
    p->window_right = o->causal ? 0 : o->window_right < 0 ? -1 : o->window_right;
    if (o->max_seqlen_q < 0 || o->max_seqlen_k < 0) /* as ax_paged_attention */
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "opt->%s: %lld, expected >= 0 (0: Tq / Tk)",
                            o->max_seqlen_q < 0 ? "max_seqlen_q" : "max_seqlen_k",
                            (long long)(o->max_seqlen_q < 0 ? o->max_seqlen_q : o->max_seqlen_k));
    if (o->scale != 0.0f && !(isfinite(o->scale) && o->scale > 0.0f))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "opt->scale: %g, expected 0 (1 / sqrt(D)) or finite and > 0",
                            (double)o->scale);
    if (!(isfinite(o->softcap) && o->softcap >= 0.0f))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "opt->softcap: %g, expected 0 (none) or finite and > 0",
                            (double)o->softcap);
    /* The kernels divide by it (or multiply by its inverse): a tiny one would give inf * 0 = NaN. */
    if (o->softcap > 0.0f && isinf(1.0f / o->softcap))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "opt->softcap: %g, its inverse overflows fp32",
                            (double)o->softcap);
    p->scale = o->scale != 0.0f ? o->scale : attn_default_scale(D);
    p->softcap = o->softcap;
    return AX_OK;
}

/* cu_seqlens values (CPU contexts only: the tensor is host memory): from 0, non-decreasing, ending
 * at most at `total`. Returns the longest sequence in *longest. */
static ax_status check_cu_values(const char *name, const int32_t *c, int64_t n, int64_t st, int64_t total,
                                 const char *total_name, int64_t *longest) {
    *longest = 0;
    if (c[0] != 0) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: element 0 is %d, expected 0", name, (int)c[0]);
    for (int64_t b = 1; b < n; b++) {
        const int64_t prev = c[(b - 1) * st], cur = c[b * st];
        if (cur < prev)
            return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: element %lld is %lld, below element %lld (%lld): not non-decreasing",
                                name, (long long)b, (long long)cur, (long long)(b - 1), (long long)prev);
        if (cur > total)
            return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: element %lld is %lld, past %s = %lld", name, (long long)b,
                                (long long)cur, total_name, (long long)total);
        if (cur - prev > *longest) *longest = cur - prev;
    }
    return AX_OK;
}

static ax_status check_cu_seqlens(const char *name, const ax_tensor *t, int64_t total, const char *total_name,
                                  int64_t *longest) {
    return check_cu_values(name, t->data, t->shape[0], t->strides[0], total, total_name, longest);
}

ax_status ax_attention_check_cu_seqlens(const int32_t *cu_seqlens_q, const int32_t *cu_seqlens_k, int64_t batch,
                                        int64_t tq, int64_t tk) {
    if (cu_seqlens_q == NULL || cu_seqlens_k == NULL)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: NULL",
                            cu_seqlens_q == NULL ? "cu_seqlens_q" : "cu_seqlens_k");
    if (batch < 0 || tq < 0 || tk < 0) {
        const int64_t bad = batch < 0 ? batch : tq < 0 ? tq : tk;
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: %lld is negative",
                            batch < 0 ? "batch" : tq < 0 ? "tq" : "tk", (long long)bad);
    }
    int64_t longest;
    AX_CHECK(check_cu_values("opt->cu_seqlens_q", cu_seqlens_q, batch + 1, 1, tq, "Tq", &longest));
    return check_cu_values("opt->cu_seqlens_k", cu_seqlens_k, batch + 1, 1, tk, "Tk", &longest);
}

static attn_strides act_strides(const ax_tensor *t, int packed) {
    attn_strides s;
    if (packed) s.b = 0, s.s = t->strides[0], s.h = t->strides[1];
    else s.b = t->strides[0], s.s = t->strides[1], s.h = t->strides[2];
    return s;
}

/* Broadcast dims (size 1) get stride 0, so kernels index with the full coordinates. */
static int64_t bstride(const ax_tensor *t, int32_t d) { return t->shape[d] == 1 ? 0 : t->strides[d]; }

/* Everything both directions check and fill. */
static ax_status check_common(ax_context *ctx, ax_tensor_spec *specs, int32_t n, const ax_tensor *q,
                              const ax_tensor *k, const ax_tensor *v, const ax_tensor *bias,
                              const ax_attention_options *o, const ax_tensor *out, const ax_tensor *lse,
                              attn_params *p) {
    const int packed = o->cu_seqlens_q != NULL;
    ax_dims dims = {0};
    /* A packed batch's B comes from cu_seqlens (B + 1 entries), so the bias's dim 0 is held to it. */
    if (packed && o->cu_seqlens_q->ndim == 1 && o->cu_seqlens_q->shape[0] >= 1)
        AX_CHECK(ax_dims_bind(&dims, "B", o->cu_seqlens_q->shape[0] - 1));
    AX_CHECK(ax_check_specs(ctx, specs, n, &dims));
    const int64_t H = q->shape[packed ? 1 : 2], Hkv = k->shape[packed ? 1 : 2], D = q->shape[packed ? 2 : 3];
    if (!((Hkv == 0 && H == 0) || (Hkv > 0 && H >= Hkv && H % Hkv == 0)))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                            "k: dim %d (Hkv) is %lld, which does not divide q's dim %d (H) = %lld (H %% Hkv must be 0)",
                            packed ? 1 : 2, (long long)Hkv, packed ? 1 : 2, (long long)H);
    memset(p, 0, sizeof *p);
    AX_CHECK(check_options(o, D, p));
    p->B = packed ? o->cu_seqlens_q->shape[0] - 1 : q->shape[0];
    p->Sq = q->shape[packed ? 0 : 1];
    p->Sk = k->shape[packed ? 0 : 1];
    /* A window at least as wide as every sequence is unbounded; clamped, the kernels' pos -/+ window
     * cannot overflow (a window of INT64_MAX is a valid way to say "no bound"). */
    if (p->window_left > p->Sk) p->window_left = p->Sk;
    if (p->window_right > p->Sq) p->window_right = p->Sq;
    p->H = H, p->Hkv = Hkv, p->D = D;
    p->group = Hkv > 0 ? H / Hkv : 0;
    p->dtype = q->dtype;
    if (packed) {
        if (o->cu_seqlens_q->shape[0] < 1)
            return ax_set_error(AX_ERR_INVALID_ARGUMENT, "opt->cu_seqlens_q: dim 0 is 0, expected B + 1 >= 1");
        p->cu_seqlens_q = o->cu_seqlens_q->data;
        p->cu_seqlens_k = o->cu_seqlens_k->data;
        p->max_seqlen_q = o->max_seqlen_q > 0 && o->max_seqlen_q < p->Sq ? o->max_seqlen_q : p->Sq;
        p->max_seqlen_k = o->max_seqlen_k > 0 && o->max_seqlen_k < p->Sk ? o->max_seqlen_k : p->Sk;
        if (ctx->device.type == AX_CPU) {
            AX_CHECK(check_cu_seqlens("opt->cu_seqlens_q", o->cu_seqlens_q, p->Sq, "Tq", &p->max_seqlen_q));
            AX_CHECK(check_cu_seqlens("opt->cu_seqlens_k", o->cu_seqlens_k, p->Sk, "Tk", &p->max_seqlen_k));
        }
        /* CPU: the longest sequences just measured; CUDA: the hints, to which the kernels cut every
         * sequence (attn_sequence), so a bias covering them is never read past its end. */
        if (bias != NULL && bias->shape[2] != 1 && bias->shape[2] < p->max_seqlen_q)
            return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                                "bias: dim 2 (max Sq) is %lld, below the longest query sequence (%lld; on CUDA "
                                "opt->max_seqlen_q, or Tq when 0)",
                                (long long)bias->shape[2], (long long)p->max_seqlen_q);
        if (bias != NULL && bias->shape[3] != 1 && bias->shape[3] < p->max_seqlen_k)
            return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                                "bias: dim 3 (max Sk) is %lld, below the longest key sequence (%lld; on CUDA "
                                "opt->max_seqlen_k, or Tk when 0)",
                                (long long)bias->shape[3], (long long)p->max_seqlen_k);
    } else {
        p->max_seqlen_q = p->Sq;
        p->max_seqlen_k = p->Sk;
    }
    p->q = q->data, p->k = k->data, p->v = v->data;
    p->q_strides = act_strides(q, packed);
    p->k_strides = act_strides(k, packed);
    p->v_strides = act_strides(v, packed);
    p->out = out->data;
    p->out_strides = act_strides(out, packed);
    if (lse != NULL) {
        p->lse = lse->data;
        if (packed) p->lse_stride_b = 0, p->lse_stride_h = lse->strides[0], p->lse_stride_s = lse->strides[1];
        else p->lse_stride_b = lse->strides[0], p->lse_stride_h = lse->strides[1], p->lse_stride_s = lse->strides[2];
    }
    if (bias != NULL) {
        p->bias = bias->data;
        p->bias_dtype = bias->dtype;
        p->bias_stride_b = bstride(bias, 0);
        p->bias_stride_h = bstride(bias, 1);
        p->bias_stride_i = bstride(bias, 2);
        p->bias_stride_j = bstride(bias, 3);
    }
    return AX_OK;
}

/* A missing backend limit is reported before any work (the header's AX_ERR_UNSUPPORTED). */
static ax_status cuda_supports(const ax_context *ctx, const void *params) {
    (void)ctx;
    const attn_params *p = params;
    if (p->D > CUDA_MAX_HEAD_DIM || p->D % 8 != 0)
        return ax_set_error(AX_ERR_UNSUPPORTED,
                            "q: head dim D = %lld is not supported on CUDA (expected a multiple of 8 up to %d)",
                            (long long)p->D, CUDA_MAX_HEAD_DIM);
    return AX_OK;
}

static ax_status forward_cpu_workspace(const ax_context *ctx, const void *params, ax_op_workspace *need) {
    attn_cpu_plan plan;
    AX_CHECK(attn_cpu_plan_forward(ctx, params, &plan));
    need->host_bytes = plan.total_bytes;
    return AX_OK;
}

static ax_status backward_cpu_workspace(const ax_context *ctx, const void *params, ax_op_workspace *need) {
    attn_cpu_plan plan;
    AX_CHECK(attn_cpu_plan_backward(ctx, params, &plan));
    need->host_bytes = plan.total_bytes;
    return AX_OK;
}

static const ax_op attention_forward_op = {
    .name = "attention_forward",
    .cpu = AX_CPU_KERNELS(attention_forward_cpu),
    .cuda = AX_CUDA_KERNEL(attention_forward_cuda),
    .cuda_supports = cuda_supports,
    .cpu_workspace = forward_cpu_workspace,
    .cuda_workspace = AX_CUDA_KERNEL(attention_forward_cuda_workspace),
};

static const ax_op attention_backward_op = {
    .name = "attention_backward",
    .cpu = AX_CPU_KERNELS(attention_backward_cpu),
    .cuda = AX_CUDA_KERNEL(attention_backward_cuda),
    .cuda_supports = cuda_supports,
    .cpu_workspace = backward_cpu_workspace,
    .cuda_workspace = AX_CUDA_KERNEL(attention_backward_cuda_workspace),
};

/* Checks that need nothing but the arguments, before the tensor contract. */
static ax_status check_packed_form(const ax_tensor *q, const ax_attention_options *o) {
    if ((o->cu_seqlens_q == NULL) != (o->cu_seqlens_k == NULL))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: NULL while %s is given (packed batches need both)",
                            o->cu_seqlens_q == NULL ? "opt->cu_seqlens_q" : "opt->cu_seqlens_k",
                            o->cu_seqlens_q == NULL ? "opt->cu_seqlens_k" : "opt->cu_seqlens_q");
    if (q != NULL && o->cu_seqlens_q != NULL && q->ndim != 3)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                            "q: %d dims, expected 3 (Tq, H, D) for a packed batch (cu_seqlens given)", (int)q->ndim);
    if (q != NULL && o->cu_seqlens_q == NULL && q->ndim != 4)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                            "q: %d dims, expected 4 (B, Sq, H, D) (or 3 with cu_seqlens for a packed batch)",
                            (int)q->ndim);
    return AX_OK;
}

static ax_status check_head_dim(const attn_params *p) {
    if (p->D == 0) return ax_set_error(AX_ERR_UNSUPPORTED, "q: head dim D = 0 (attention needs D >= 1)");
    return AX_OK;
}

ax_status ax_attention_forward(ax_context *ctx, const ax_tensor *q, const ax_tensor *k, const ax_tensor *v,
                               const ax_tensor *bias, const ax_attention_options *opt, ax_tensor *out,
                               ax_tensor *lse) {
    if (ctx == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "ctx: NULL context");
    const ax_attention_options defaults = ax_attention_options_default();
    const ax_attention_options *o = opt != NULL ? opt : &defaults;
    AX_CHECK(check_packed_form(q, o));
    const int packed = o->cu_seqlens_q != NULL;
    ax_tensor_spec specs[T_COUNT];
    fill_specs(specs, packed, q, k, v, bias, o, out, lse, 0);
    attn_params p;
    AX_CHECK(check_common(ctx, specs, T_LSE + 1, q, k, v, bias, o, out, lse, &p));
    if (p.B == 0 || p.Sq == 0 || p.H == 0) return AX_OK;
    AX_CHECK(check_head_dim(&p));
    return ax_op_run(&attention_forward_op, ctx, &p);
}

ax_status ax_attention_backward(ax_context *ctx, const ax_tensor *q, const ax_tensor *k, const ax_tensor *v,
                                const ax_tensor *bias, const ax_tensor *out, const ax_tensor *lse,
                                const ax_tensor *dout, const ax_attention_options *opt, ax_tensor *dq, ax_tensor *dk,
                                ax_tensor *dv, ax_tensor *dbias) {
    if (ctx == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "ctx: NULL context");
    const ax_attention_options defaults = ax_attention_options_default();
    const ax_attention_options *o = opt != NULL ? opt : &defaults;
    AX_CHECK(check_packed_form(q, o));
    if (lse == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "lse: NULL (the backward needs the forward's lse)");
    const int packed = o->cu_seqlens_q != NULL;
    ax_tensor_spec specs[T_COUNT];
    fill_specs(specs, packed, q, k, v, bias, o, out, lse, 1);
    specs[T_DOUT] = act_spec("dout", dout, packed, packed ? "Tq" : "Sq", "H", 0);
    specs[T_DQ] = act_spec("dq", dq, packed, packed ? "Tq" : "Sq", "H", AX_SPEC_OUTPUT);
    specs[T_DK] = act_spec("dk", dk, packed, packed ? "Tk" : "Sk", "Hkv", AX_SPEC_OUTPUT);
    specs[T_DV] = act_spec("dv", dv, packed, packed ? "Tk" : "Sk", "Hkv", AX_SPEC_OUTPUT);
    const ax_tensor_spec sdb = AX_SPEC("dbias", dbias, 4, NULL);
    specs[T_DBIAS] = sdb;
    specs[T_DBIAS].like = T_BIAS;
    specs[T_DBIAS].flags = AX_SPEC_OUTPUT | AX_SPEC_OPTIONAL;
    attn_params p;
    AX_CHECK(check_common(ctx, specs, T_COUNT, q, k, v, bias, o, out, lse, &p));
    p.dout = dout->data;
    p.dout_strides = act_strides(dout, packed);
    p.dq = dq->data, p.dk = dk->data, p.dv = dv->data;
    p.dq_strides = act_strides(dq, packed);
    p.dk_strides = act_strides(dk, packed);
    p.dv_strides = act_strides(dv, packed);
    if (dbias != NULL) {
        p.dbias = dbias->data;
        p.dbias_shape_b = dbias->shape[0], p.dbias_shape_h = dbias->shape[1];
        p.dbias_shape_i = dbias->shape[2], p.dbias_shape_j = dbias->shape[3];
        p.dbias_stride_b = dbias->strides[0], p.dbias_stride_h = dbias->strides[1];
        p.dbias_stride_i = dbias->strides[2], p.dbias_stride_j = dbias->strides[3];
    }
    if (p.H == 0) return AX_OK; /* every tensor but the bias pair is empty */
    AX_CHECK(check_head_dim(&p));
    return ax_op_run(&attention_backward_op, ctx, &p);
}
