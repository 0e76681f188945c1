/*
 * paged_attention.c — ax_paged_attention: its tensor contract, the CPU checks of the index tensors,
 * the split-K choice, its op-table registration and workspaces. The CPU kernel is
 * cpu/paged_attention.isa.inc (one build per instruction-set path), the CUDA kernel
 * cuda/paged_attention.cu.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <string.h>

#include "attention/attention_params.h"
#include "attention/cpu/paged_attention_cpu.h"
#include "axial/attention.h"
#include "core/cuda/device.h"
#include "core/internal.h"
#include "core/op.h"
#include "core/tensor_spec.h"

/* Enough to keep every thread / SM busy; more splits only add combine work. */
#define PAGED_MAX_SPLITS 64

ax_paged_attention_options ax_paged_attention_options_default(void) {
    ax_paged_attention_options o;
    memset(&o, 0, sizeof o);
    o.causal = 1;
    o.window_left = -1;
    o.window_right = -1;
    return o;
}

/* ---- CPU: index values ---------------------------------------------------------------------- */

/* The first key the first query of a sequence (n queries, ctx keys) may see; with the last query's
 * end (= ctx) it bounds every key block the sequence reads. */
static int64_t first_key(const paged_attn_params *p, int64_t n, int64_t ctx) {
    const int64_t pos = ctx - n;
    return p->window_left >= 0 && pos - p->window_left > 0 ? pos - p->window_left : 0;
}

/* cu_seqlens_q, context_lens and the block ids each sequence reads, with messages naming the
 * argument, the sequence and the position. */
static ax_status check_indices(const paged_attn_params *p) {
    const int32_t *cu = p->cu_seqlens_q;
    if (cu[0] != 0) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "cu_seqlens_q: entry 0 is %d, expected 0", (int)cu[0]);
    for (int64_t s = 0; s < p->num_seqs; s++) {
        if (cu[s + 1] < cu[s])
            return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                                "cu_seqlens_q: entry %lld (%d) is less than entry %lld (%d); expected non-decreasing",
                                (long long)(s + 1), (int)cu[s + 1], (long long)s, (int)cu[s]);
        if (cu[s + 1] > p->T)
            return ax_set_error(AX_ERR_INVALID_ARGUMENT, "cu_seqlens_q: entry %lld is %d, past T = %lld (q dim 0)",
                                (long long)(s + 1), (int)cu[s + 1], (long long)p->T);
        const int64_t n = (int64_t)cu[s + 1] - cu[s], ctx = p->context_lens[s];
        const int64_t cap = p->max_blocks * p->block_size;
        if (ctx < 0 || ctx > cap)
            return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                                "context_lens: sequence %lld: %lld is outside [0, max_blocks * block_size = %lld]",
                                (long long)s, (long long)ctx, (long long)cap);
        if (n > ctx)
            return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                                "context_lens: sequence %lld: %lld keys, fewer than its %lld queries (cu_seqlens_q)",
                                (long long)s, (long long)ctx, (long long)n);
        if (n == 0) continue;
        for (int64_t b = first_key(p, n, ctx) / p->block_size; b * p->block_size < ctx; b++) {
            const int32_t id = p->block_table[s * p->bt_stride_s + b * p->bt_stride_b];
            if (id < 0 || id >= p->num_blocks)
                return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                                    "block_table: sequence %lld, position %lld: block id %d outside "
                                    "[0, num_blocks = %lld)",
                                    (long long)s, (long long)b, (int)id, (long long)p->num_blocks);
        }
    }
    return AX_OK;
}

ax_status ax_paged_attention_check(const int32_t *block_table, const int32_t *context_lens,
                                   const int32_t *cu_seqlens_q, int64_t num_seqs, int64_t max_blocks, int64_t t,
                                   int64_t num_blocks, int64_t block_size, int64_t window_left) {
    if (block_table == NULL || context_lens == NULL || cu_seqlens_q == NULL)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: NULL",
                            block_table == NULL    ? "block_table"
                            : context_lens == NULL ? "context_lens"
                                                   : "cu_seqlens_q");
    const int64_t sizes[4] = {num_seqs, max_blocks, t, num_blocks};
    static const char *const names[4] = {"num_seqs", "max_blocks", "t", "num_blocks"};
    for (int i = 0; i < 4; i++)
        if (sizes[i] < 0)
            return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: %lld is negative", names[i], (long long)sizes[i]);
    if (block_size < 1)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "block_size: %lld, expected >= 1", (long long)block_size);
    paged_attn_params p;
    memset(&p, 0, sizeof p);
    p.block_table = block_table, p.bt_stride_s = max_blocks, p.bt_stride_b = 1;
    p.context_lens = context_lens, p.cu_seqlens_q = cu_seqlens_q;
    p.num_seqs = num_seqs, p.max_blocks = max_blocks, p.T = t, p.num_blocks = num_blocks, p.block_size = block_size;
    p.window_left = window_left < 0 ? -1 : window_left;
    return check_indices(&p);
}

/* ---- split-K ---------------------------------------------------------------------------------- */

/* Splits when the (tile, KV head) units are too few to fill `workers` and the keys are many: each
 * split should keep at least 256 keys (the combine costs about one key's work per split). */
static int32_t choose_splits(int64_t units, int64_t workers, int64_t max_ctx) {
    if (units <= 0 || units >= workers || max_ctx < 512) return 1;
    int64_t s = (workers + units - 1) / units;
    if (s > max_ctx / 256) s = max_ctx / 256;
    if (s > PAGED_MAX_SPLITS) s = PAGED_MAX_SPLITS;
    return s < 1 ? 1 : (int32_t)s;
}

/* CPU: units from the checked index values; 2 units per thread so dynamic scheduling can balance. */
static int32_t choose_splits_cpu(const paged_attn_params *p, int64_t threads) {
    const int64_t qt = paged_cpu_queries_per_tile(p->group);
    int64_t tiles = 0, max_ctx = 0;
    for (int64_t s = 0; s < p->num_seqs; s++) {
        const int64_t n = (int64_t)p->cu_seqlens_q[s + 1] - p->cu_seqlens_q[s];
        tiles += (n + qt - 1) / qt;
        if (n > 0 && p->context_lens[s] > max_ctx) max_ctx = p->context_lens[s];
    }
    return choose_splits(tiles * p->Hkv, 2 * threads, max_ctx);
}

/* CUDA: from the shape hints alone (the host never reads the index tensors); two CTAs per SM. */
static int32_t choose_splits_cuda(const ax_context *ctx, const paged_attn_params *p) {
    const ax_cuda_device_props *props = ax_cuda_props(ctx);
    const int64_t sms = props != NULL && props->sm_count > 0 ? props->sm_count : 108;
    const int64_t qt = paged_cuda_queries_per_tile(p->group);
    const int64_t units = p->num_seqs * ((p->max_seqlen_q + qt - 1) / qt) * p->Hkv;
    return choose_splits(units, 2 * sms, p->max_context_len);
}

/* ---- registration ------------------------------------------------------------------------------ */

static ax_status paged_cpu_workspace(const ax_context *ctx, const void *params, ax_op_workspace *need) {
    const paged_attn_params *p = params;
    const paged_cpu_layout L = paged_cpu_layout_of(p, ctx->num_threads > 0 ? ctx->num_threads : 1, p->num_splits);
    if (L.total < 0)
        return ax_set_error(AX_ERR_OUT_OF_MEMORY,
                            "paged_attention: the CPU scratch size overflows int64 (T %lld, H %lld, D %lld)",
                            (long long)p->T, (long long)p->H, (long long)p->D);
    need->host_bytes = L.total;
    return AX_OK;
}

/* Split-K partials: (m, l, acc[D]) per query row and split. */
static ax_status paged_cuda_workspace(const ax_context *ctx, const void *params, ax_op_workspace *need) {
    (void)ctx;
    const paged_attn_params *p = params;
    if (p->num_splits <= 1) return AX_OK;
    const double bytes = (double)p->T * (double)p->H * p->num_splits * (double)(p->D + 2) * sizeof(float);
    if (bytes > 4.0e18)
        return ax_set_error(AX_ERR_OUT_OF_MEMORY, "paged_attention: the split-K scratch would need %.3g bytes",
                            bytes);
    need->device_bytes = (int64_t)bytes;
    return AX_OK;
}

static ax_status paged_cuda_supports(const ax_context *ctx, const void *params) {
    (void)ctx;
    const paged_attn_params *p = params;
    if (p->D > 256)
        return ax_set_error(AX_ERR_UNSUPPORTED, "paged_attention on CUDA: D = %lld, at most 256", (long long)p->D);
    return AX_OK;
}

static const ax_op paged_attention_op = {
    .name = "paged_attention",
    .cpu = AX_CPU_KERNELS(paged_attention_cpu),
    .cuda = AX_CUDA_KERNEL(paged_attention_cuda),
    .cuda_supports = paged_cuda_supports,
    .cpu_workspace = paged_cpu_workspace,
    .cuda_workspace = paged_cuda_workspace,
};

/* ---- entry ---------------------------------------------------------------------------------------- */

enum { S_Q, S_KC, S_VC, S_BT, S_CL, S_CU, S_KS, S_VS, S_OUT, S_LSE, S_COUNT };

ax_status ax_paged_attention(ax_context *ctx, const ax_tensor *q, const ax_tensor *k_cache, const ax_tensor *v_cache,
                             const ax_tensor *block_table, const ax_tensor *context_lens,
                             const ax_tensor *cu_seqlens_q, const ax_tensor *k_scales, const ax_tensor *v_scales,
                             const ax_paged_attention_options *opt, ax_tensor *out, ax_tensor *lse) {
    if (ctx == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "ctx: NULL context");
    const ax_paged_attention_options o = opt != NULL ? *opt : ax_paged_attention_options_default();
    ax_tensor_spec specs[S_COUNT] = {
        [S_Q] = AX_SPEC("q", q, 3, "T", "H", "D"),
        [S_KC] = AX_SPEC("k_cache", k_cache, 4, "num_blocks", "block_size", "Hkv", "D"),
        [S_VC] = AX_SPEC("v_cache", v_cache, 4, "num_blocks", "block_size", "Hkv", "D"),
        [S_BT] = AX_SPEC("block_table", block_table, 2, "num_seqs", "max_blocks"),
        [S_CL] = AX_SPEC("context_lens", context_lens, 1, "num_seqs"),
        [S_CU] = AX_SPEC("cu_seqlens_q", cu_seqlens_q, 1, "NS1 (num_seqs + 1)"),
        [S_KS] = AX_SPEC("k_scales", k_scales, 2, "num_blocks", "Hkv"),
        [S_VS] = AX_SPEC("v_scales", v_scales, 2, "num_blocks", "Hkv"),
        [S_OUT] = AX_SPEC("out", out, 3, "T", "H", "D"),
        [S_LSE] = AX_SPEC("lse", lse, 2, "H", "T"),
    };
    specs[S_Q].dtypes = AX_DTYPES_FLOAT;
    specs[S_Q].flags = AX_SPEC_LAST_CONTIGUOUS;
    specs[S_KC].dtypes = AX_DTYPES_FLOAT | AX_DTYPE_BIT(AX_I8) | AX_DTYPE_BIT(AX_F8_E4M3FN);
    specs[S_KC].flags = AX_SPEC_LAST_CONTIGUOUS;
    specs[S_VC].dtype_as = S_KC;
    specs[S_VC].flags = AX_SPEC_LAST_CONTIGUOUS;
    specs[S_BT].dtypes = specs[S_CL].dtypes = specs[S_CU].dtypes = AX_DTYPE_BIT(AX_I32);
    specs[S_CL].flags = specs[S_CU].flags = AX_SPEC_LAST_CONTIGUOUS;
    specs[S_KS].dtypes = specs[S_VS].dtypes = AX_DTYPE_BIT(AX_F32);
    specs[S_KS].flags = specs[S_VS].flags = AX_SPEC_OPTIONAL;
    specs[S_OUT].dtype_as = S_Q;
    specs[S_OUT].flags = AX_SPEC_OUTPUT | AX_SPEC_LAST_CONTIGUOUS;
    specs[S_LSE].dtypes = AX_DTYPE_BIT(AX_F32);
    specs[S_LSE].flags = AX_SPEC_OUTPUT | AX_SPEC_OPTIONAL;
    ax_dims dims = {0};
    AX_CHECK(ax_check_specs(ctx, specs, S_COUNT, &dims));

    const int64_t T = q->shape[0], H = q->shape[1], D = q->shape[2];
    const int64_t NB = k_cache->shape[0], BS = k_cache->shape[1], Hkv = k_cache->shape[2];
    const int64_t NS = block_table->shape[0], MB = block_table->shape[1];
    if (cu_seqlens_q->shape[0] != NS + 1)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "cu_seqlens_q: dim 0 is %lld, expected num_seqs + 1 = %lld",
                            (long long)cu_seqlens_q->shape[0], (long long)(NS + 1));
    if (Hkv == 0 || H % Hkv != 0)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "k_cache: dim 2 (Hkv) is %lld, expected a divisor of H = %lld",
                            (long long)Hkv, (long long)H);
    if (BS < 16)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "k_cache: dim 1 (block_size) is %lld, expected at least 16",
                            (long long)BS);
    /* As ax_attention_forward and the Evoformer op: D = 0 is outside what the ops support. */
    if (D < 1) return ax_set_error(AX_ERR_UNSUPPORTED, "q: dim 2 (D) is 0, expected at least 1");
    const int quantized = k_cache->dtype == AX_I8 || k_cache->dtype == AX_F8_E4M3FN;
    if (!quantized && k_cache->dtype != q->dtype)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "k_cache: dtype %s, expected q's (%s), i8 or f8_e4m3fn",
                            ax_dtype_name(k_cache->dtype), ax_dtype_name(q->dtype));
    if (quantized && (k_scales == NULL || v_scales == NULL))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: NULL, but the caches are %s (quantized: scales required)",
                            k_scales == NULL ? "k_scales" : "v_scales", ax_dtype_name(k_cache->dtype));
    if (!quantized && (k_scales != NULL || v_scales != NULL))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: given, but the caches are %s (scales are for i8 / f8_e4m3fn)",
                            k_scales != NULL ? "k_scales" : "v_scales", ax_dtype_name(k_cache->dtype));
    if (o.causal != 0 && o.causal != 1)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "opt->causal: %d, expected 0 or 1", o.causal);
    if (o.causal && o.window_right > 0)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "opt->window_right: %lld with causal (causal means 0)",
                            (long long)o.window_right);
    if (!(o.scale >= 0.0f) || isinf(o.scale))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "opt->scale: %g, expected 0 (default) or finite and > 0",
                            (double)o.scale);
    if (!(o.softcap >= 0.0f) || isinf(o.softcap))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "opt->softcap: %g, expected 0 (none) or finite and > 0",
                            (double)o.softcap);
    if (o.softcap > 0.0f && isinf(1.0f / o.softcap)) /* as ax_attention_forward */
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "opt->softcap: %g, its inverse overflows fp32",
                            (double)o.softcap);
    if (o.num_splits < 0 || o.num_splits > PAGED_MAX_SPLITS)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "opt->num_splits: %d, expected 0 (auto) to %d", (int)o.num_splits,
                            PAGED_MAX_SPLITS);
    if (o.max_seqlen_q < 0 || o.max_context_len < 0)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "opt->%s: %lld, expected >= 0 (0: derived from the shapes)",
                            o.max_seqlen_q < 0 ? "max_seqlen_q" : "max_context_len",
                            (long long)(o.max_seqlen_q < 0 ? o.max_seqlen_q : o.max_context_len));

    paged_attn_params p;
    memset(&p, 0, sizeof p);
    p.T = T, p.H = H, p.Hkv = Hkv, p.D = D, p.group = H / Hkv;
    p.num_seqs = NS, p.num_blocks = NB, p.block_size = BS, p.max_blocks = MB;
    p.dtype = q->dtype;
    p.cache_dtype = k_cache->dtype;
    p.scale = o.scale > 0.0f ? o.scale : attn_default_scale(D);
    p.softcap = o.softcap;
    p.window_left = o.window_left < 0 ? -1 : o.window_left;
    p.window_right = o.causal ? 0 : o.window_right < 0 ? -1 : o.window_right;
    /* Windows wider than any context (or query run) are unbounded; clamped so pos -/+ window cannot
     * overflow in the kernels. */
    if (p.window_left > MB * BS) p.window_left = MB * BS;
    if (p.window_right > T) p.window_right = T;
    p.max_seqlen_q = o.max_seqlen_q > 0 && o.max_seqlen_q < T ? o.max_seqlen_q : T;
    p.max_context_len = o.max_context_len > 0 && o.max_context_len < MB * BS ? o.max_context_len : MB * BS;
    p.q = q->data;
    p.q_stride_t = q->strides[0], p.q_stride_h = q->strides[1];
    p.k_cache = k_cache->data, p.v_cache = v_cache->data;
    p.kc_stride_blk = k_cache->strides[0], p.kc_stride_row = k_cache->strides[1], p.kc_stride_h = k_cache->strides[2];
    p.vc_stride_blk = v_cache->strides[0], p.vc_stride_row = v_cache->strides[1], p.vc_stride_h = v_cache->strides[2];
    if (quantized) {
        p.k_scales = k_scales->data, p.v_scales = v_scales->data;
        p.ks_stride_blk = k_scales->strides[0], p.ks_stride_h = k_scales->strides[1];
        p.vs_stride_blk = v_scales->strides[0], p.vs_stride_h = v_scales->strides[1];
    }
    p.block_table = block_table->data;
    p.bt_stride_s = block_table->strides[0], p.bt_stride_b = block_table->strides[1];
    p.context_lens = context_lens->data;
    p.cu_seqlens_q = cu_seqlens_q->data;
    p.out = out->data;
    p.out_stride_t = out->strides[0], p.out_stride_h = out->strides[1];
    if (lse != NULL) {
        p.lse = lse->data;
        p.lse_stride_h = lse->strides[0], p.lse_stride_t = lse->strides[1];
    }
    if (ctx->device.type == AX_CPU) {
        AX_CHECK(check_indices(&p));
        p.num_splits =
            o.num_splits > 0 ? o.num_splits : choose_splits_cpu(&p, ctx->num_threads > 0 ? ctx->num_threads : 1);
    } else {
        p.num_splits = o.num_splits > 0 ? o.num_splits : choose_splits_cuda(ctx, &p);
    }
    if (T == 0 || NS == 0 || H == 0) return AX_OK;
    return ax_op_run(&paged_attention_op, ctx, &p);
}
