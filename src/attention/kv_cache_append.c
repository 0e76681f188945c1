/*
 * kv_cache_append.c — ax_kv_cache_append: its tensor contract, its op-table registration and its CPU
 * kernel. The quantization rules (kv_quant_* in attention_params.h) are shared with the CUDA kernel
 * (cuda/kv_cache_append.cu) so both store the same bytes.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "attention/attention_params.h"
#include "axial/attention.h"
#include "core/dtype_traits.h"
#include "core/internal.h"
#include "core/op.h"
#include "core/tensor_spec.h"

/* One row to write: its slot, its index t, and the sort key (the slot, then its block). */
typedef struct append_row {
    int64_t key, t, slot;
} append_row;

static int by_key_then_t(const void *a, const void *b) {
    const append_row *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return x->t < y->t ? -1 : x->t > y->t;
}

static int64_t slot_of(const kv_append_params *p, int64_t t) {
    return p->slot_dtype == AX_I64 ? ((const int64_t *)p->slot_mapping)[t] : ((const int32_t *)p->slot_mapping)[t];
}

/* Workspace: the rows (sorted), the start of each block's run of rows, and one fp32 row per thread. */
static int64_t rows_bytes(const kv_append_params *p) { return ax_ws_round(p->T * (int64_t)sizeof(append_row)); }
static int64_t starts_bytes(const kv_append_params *p) { return ax_ws_round((p->T + 1) * (int64_t)sizeof(int64_t)); }
static int64_t row_bytes(const kv_append_params *p) { return ax_ws_round(p->D * (int64_t)sizeof(float)); }

/* Row t of one of k / v (head h) into the cache's slot: a plain conversion (float caches). */
static void write_float_row(const kv_append_params *p, int which, int64_t t, int64_t h, int64_t slot) {
    const void *src = which ? p->v : p->k;
    void *cache = which ? p->v_cache : p->k_cache;
    const int64_t s0 = t * (which ? p->v_stride_t : p->k_stride_t) + h * (which ? p->v_stride_h : p->k_stride_h);
    const int64_t blk = slot / p->block_size, row = slot % p->block_size;
    const int64_t c0 = blk * (which ? p->vc_stride_blk : p->kc_stride_blk) +
                       row * (which ? p->vc_stride_row : p->kc_stride_row) +
                       h * (which ? p->vc_stride_h : p->kc_stride_h);
    for (int64_t d = 0; d < p->D; d++) ax_elem_copy(src, s0 + d, p->dtype, cache, c0 + d, p->cache_dtype);
}

/* The rows rows[0..n) (one block, in order of t) of one of k / v, head h, into a quantized cache. */
static void write_quant_rows(const kv_append_params *p, int which, const append_row *rows, int64_t n, int64_t h,
                             float *x) {
    const void *src = which ? p->v : p->k;
    void *cache = which ? p->v_cache : p->k_cache;
    float *scales = which ? p->v_scales : p->k_scales;
    const int64_t blk = rows[0].slot / p->block_size;
    float *scale =
        scales + blk * (which ? p->vs_stride_blk : p->ks_stride_blk) + h * (which ? p->vs_stride_h : p->ks_stride_h);
    const int64_t c_blk =
        blk * (which ? p->vc_stride_blk : p->kc_stride_blk) + h * (which ? p->vc_stride_h : p->kc_stride_h);
    const int64_t c_row = which ? p->vc_stride_row : p->kc_stride_row;
    float cur = kv_quant_live_scale(*scale);
    for (int64_t i = 0; i < n; i++) {
        const int64_t s0 =
            rows[i].t * (which ? p->v_stride_t : p->k_stride_t) + h * (which ? p->v_stride_h : p->k_stride_h);
        float amax = 0.0f;
        for (int64_t d = 0; d < p->D; d++) {
            x[d] = ax_elem_load_f32(src, s0 + d, p->dtype);
            amax = kv_quant_amax(amax, x[d]);
        }
        const float next = kv_quant_next_scale(cur, amax, p->cache_dtype);
        if (next > cur) {
            for (int64_t r = 0; r < p->block_size; r++)
                for (int64_t d = 0; d < p->D; d++)
                    kv_quant_requantize(cache, c_blk + r * c_row + d, p->cache_dtype, cur, next);
            cur = next;
        }
        const int64_t c0 = c_blk + (rows[i].slot % p->block_size) * c_row;
        for (int64_t d = 0; d < p->D; d++) kv_quant_store(cache, c0 + d, p->cache_dtype, x[d], cur);
    }
    *scale = cur;
}

/* The rows with a slot (>= 0), as (slot, t, slot), sorted by slot then t; returns their count. */
static int64_t slot_rows(const kv_append_params *p, append_row *rows) {
    int64_t n = 0;
    for (int64_t t = 0; t < p->T; t++) {
        const int64_t slot = slot_of(p, t);
        if (slot < 0) continue;
        rows[n].key = slot, rows[n].t = t, rows[n].slot = slot;
        n++;
    }
    qsort(rows, (size_t)n, sizeof *rows, by_key_then_t);
    return n;
}

static ax_status check_distinct(const append_row *rows, int64_t n) {
    for (int64_t i = 1; i < n; i++)
        if (rows[i].slot == rows[i - 1].slot)
            return ax_set_error(AX_ERR_INVALID_ARGUMENT, "slot_mapping: rows %lld and %lld both write slot %lld",
                                (long long)rows[i - 1].t, (long long)rows[i].t, (long long)rows[i].slot);
    return AX_OK;
}

/* On the CPU, in the entry (so measure mode gives the same errors): slots below the cache's end. */
static ax_status check_slot_range(const kv_append_params *p) {
    const int64_t cap = p->num_blocks * p->block_size;
    for (int64_t t = 0; t < p->T; t++)
        if (slot_of(p, t) >= cap)
            return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                                "slot_mapping: row %lld: slot %lld outside [0, num_blocks * block_size = %lld)",
                                (long long)t, (long long)slot_of(p, t), (long long)cap);
    return AX_OK;
}

/* Measure mode runs no kernel, so the kernel's distinct-slot check runs here on a copy instead. */
static ax_status check_distinct_measuring(const kv_append_params *p) {
    append_row *rows = malloc((size_t)(p->T > 0 ? p->T : 1) * sizeof *rows);
    if (rows == NULL)
        return ax_set_error(AX_ERR_OUT_OF_MEMORY, "slot_mapping: %lld rows to check for repeated slots",
                            (long long)p->T);
    const ax_status st = check_distinct(rows, slot_rows(p, rows));
    free(rows);
    return st;
}

static ax_status kv_append_cpu(const ax_op_call *call) {
    const kv_append_params *p = call->params;
    const int threads = call->ctx->num_threads > 0 ? (int)call->ctx->num_threads : 1;
    char *ws = call->host_ws;
    append_row *rows = (append_row *)ws;
    int64_t *starts = (int64_t *)(ws + rows_bytes(p));
    char *thread_rows = ws + rows_bytes(p) + starts_bytes(p);

    /* Every check before the first write (the entry checked the range: check_slot_range). */
    const int64_t n = slot_rows(p, rows);
    AX_CHECK(check_distinct(rows, n));

    const int64_t work = n * p->Hkv * p->D;
    if (!kv_quant_is_quantized(p->cache_dtype)) {
        /* Distinct slots: rows are independent. */
#pragma omp parallel for num_threads(threads) schedule(static) if (work >= (1 << 15) && threads > 1)
        for (int64_t i = 0; i < n * p->Hkv; i++) {
            const append_row *r = &rows[i / p->Hkv];
            write_float_row(p, 0, r->t, i % p->Hkv, r->slot);
            write_float_row(p, 1, r->t, i % p->Hkv, r->slot);
        }
        return AX_OK;
    }
    /* Quantized: a block's scale evolves row by row, so each (block, head) takes its rows in order of
     * t on one thread; distinct blocks run in parallel. */
    for (int64_t i = 0; i < n; i++) rows[i].key = rows[i].slot / p->block_size;
    qsort(rows, (size_t)n, sizeof *rows, by_key_then_t);
    int64_t runs = 0;
    for (int64_t i = 0; i < n; i++)
        if (i == 0 || rows[i].key != rows[i - 1].key) starts[runs++] = i;
    starts[runs] = n;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1) if (work >= (1 << 14) && threads > 1)
    for (int64_t u = 0; u < runs * p->Hkv * 2; u++) {
#ifdef _OPENMP
        float *x = (float *)(thread_rows + row_bytes(p) * omp_get_thread_num());
#else
        float *x = (float *)thread_rows;
#endif
        const int64_t run = u / (p->Hkv * 2), h = u / 2 % p->Hkv;
        write_quant_rows(p, (int)(u % 2), rows + starts[run], starts[run + 1] - starts[run], h, x);
    }
    return AX_OK;
}

static ax_status kv_append_cpu_workspace(const ax_context *ctx, const void *params, ax_op_workspace *need) {
    const kv_append_params *p = params;
    need->host_bytes = rows_bytes(p) + starts_bytes(p) + row_bytes(p) * (ctx->num_threads > 0 ? ctx->num_threads : 1);
    return AX_OK;
}

static const ax_op kv_cache_append_op = {
    .name = "kv_cache_append",
    .cpu = {kv_append_cpu, NULL, NULL},
    .cuda = AX_CUDA_KERNEL(kv_cache_append_cuda),
    .cpu_workspace = kv_append_cpu_workspace,
};

enum { S_K, S_V, S_SLOT, S_KC, S_VC, S_KS, S_VS, S_COUNT };

ax_status ax_kv_cache_append(ax_context *ctx, const ax_tensor *k, const ax_tensor *v, const ax_tensor *slot_mapping,
                             ax_tensor *k_cache, ax_tensor *v_cache, ax_tensor *k_scales, ax_tensor *v_scales) {
    if (ctx == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "ctx: NULL context");
    ax_tensor_spec specs[S_COUNT] = {
        [S_K] = AX_SPEC("k", k, 3, "T", "Hkv", "D"),
        [S_V] = AX_SPEC("v", v, 3, "T", "Hkv", "D"),
        [S_SLOT] = AX_SPEC("slot_mapping", slot_mapping, 1, "T"),
        [S_KC] = AX_SPEC("k_cache", k_cache, 4, "num_blocks", "block_size", "Hkv", "D"),
        [S_VC] = AX_SPEC("v_cache", v_cache, 4, "num_blocks", "block_size", "Hkv", "D"),
        [S_KS] = AX_SPEC("k_scales", k_scales, 2, "num_blocks", "Hkv"),
        [S_VS] = AX_SPEC("v_scales", v_scales, 2, "num_blocks", "Hkv"),
    };
    specs[S_K].dtypes = AX_DTYPES_FLOAT;
    specs[S_K].flags = AX_SPEC_LAST_CONTIGUOUS;
    specs[S_V].dtype_as = S_K;
    specs[S_V].flags = AX_SPEC_LAST_CONTIGUOUS;
    specs[S_SLOT].dtypes = AX_DTYPE_BIT(AX_I32) | AX_DTYPE_BIT(AX_I64);
    specs[S_SLOT].flags = AX_SPEC_LAST_CONTIGUOUS;
    specs[S_KC].dtypes = AX_DTYPES_FLOAT | AX_DTYPE_BIT(AX_I8) | AX_DTYPE_BIT(AX_F8_E4M3FN);
    specs[S_KC].flags = AX_SPEC_OUTPUT | AX_SPEC_LAST_CONTIGUOUS;
    specs[S_VC].dtype_as = S_KC;
    specs[S_VC].flags = AX_SPEC_OUTPUT | AX_SPEC_LAST_CONTIGUOUS;
    specs[S_KS].dtypes = specs[S_VS].dtypes = AX_DTYPE_BIT(AX_F32);
    specs[S_KS].flags = specs[S_VS].flags = AX_SPEC_OUTPUT | AX_SPEC_OPTIONAL;
    ax_dims dims = {0};
    AX_CHECK(ax_check_specs(ctx, specs, S_COUNT, &dims));
    const int quantized = kv_quant_is_quantized(k_cache->dtype);
    if (quantized && (k_scales == NULL || v_scales == NULL))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: NULL, but the caches are %s (quantized: scales required)",
                            k_scales == NULL ? "k_scales" : "v_scales", ax_dtype_name(k_cache->dtype));
    if (!quantized && (k_scales != NULL || v_scales != NULL))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: given, but the caches are %s (scales are for i8 / f8_e4m3fn)",
                            k_scales != NULL ? "k_scales" : "v_scales", ax_dtype_name(k_cache->dtype));
    if (k_cache->shape[1] < 1)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "k_cache: dim 1 (block_size) is 0, expected at least 1");

    kv_append_params p;
    memset(&p, 0, sizeof p);
    p.T = k->shape[0], p.Hkv = k->shape[1], p.D = k->shape[2];
    p.num_blocks = k_cache->shape[0], p.block_size = k_cache->shape[1];
    p.dtype = k->dtype, p.cache_dtype = k_cache->dtype, p.slot_dtype = slot_mapping->dtype;
    p.k = k->data, p.v = v->data;
    p.k_stride_t = k->strides[0], p.k_stride_h = k->strides[1];
    p.v_stride_t = v->strides[0], p.v_stride_h = v->strides[1];
    p.slot_mapping = slot_mapping->data;
    p.k_cache = k_cache->data, p.v_cache = v_cache->data;
    p.kc_stride_blk = k_cache->strides[0], p.kc_stride_row = k_cache->strides[1], p.kc_stride_h = k_cache->strides[2];
    p.vc_stride_blk = v_cache->strides[0], p.vc_stride_row = v_cache->strides[1], p.vc_stride_h = v_cache->strides[2];
    if (quantized) {
        p.k_scales = k_scales->data, p.v_scales = v_scales->data;
        p.ks_stride_blk = k_scales->strides[0], p.ks_stride_h = k_scales->strides[1];
        p.vs_stride_blk = v_scales->strides[0], p.vs_stride_h = v_scales->strides[1];
    }
    if (ctx->device.type == AX_CPU) {
        AX_CHECK(check_slot_range(&p));
        /* The kernel checks the slots are distinct; a call it never runs (measuring, or no bytes to
         * write) checks them here, so every such call gives the error a normal one gives. */
        if (ctx->measure || p.Hkv == 0 || p.D == 0) AX_CHECK(check_distinct_measuring(&p));
    }
    if (p.T == 0 || p.Hkv == 0 || p.D == 0) return AX_OK;
    return ax_op_run(&kv_cache_append_op, ctx, &p);
}
