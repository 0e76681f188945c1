/*
 * model_internal.h — the loaded Llama model as the session's forward sees it (internal): the
 * hyperparameters, one ax_tensor per weight on the model's device, and the tokenizer.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_LLM_MODEL_INTERNAL_H
#define AXIAL_LLM_MODEL_INTERNAL_H

#include "axial/attention.h"
#include "axial/axial.h"
#include "axial/gguf.h"
#include "axial/linalg.h"
#include "axial/llm.h"
#include "axial/moe.h"
#include "llm/tokenizer.h"

/* The model's tokenizer (never NULL for a loaded model). */
const llm_tokenizer *llm_model_tokenizer(const ax_llm_model *model);

/* The weights of one decoder block; matrices are (out, in) as ax_qmatmul's w. */
typedef struct llm_layer {
    ax_tensor attn_norm;  /* (E) f32 */
    ax_tensor wq;         /* (H * Dh, E) */
    ax_tensor wk, wv;     /* (Hkv * Dh, E) */
    ax_tensor wo;         /* (E, H * Dh) */
    ax_tensor ffn_norm;   /* (E) f32 */
    ax_tensor w_gate;     /* (F, E); MoE: (n_expert, F, E), experts outermost (ffn_gate_exps) */
    ax_tensor w_up;       /* (F, E); MoE: (n_expert, F, E) (ffn_up_exps) */
    ax_tensor w_down;     /* (E, F); MoE: (n_expert, E, F) (ffn_down_exps) */
    ax_tensor router;     /* MoE: (n_expert, E) f32 (ffn_gate_inp); data NULL in a dense model */
    /* Packed copies (ax_qweight_pack) of the matrices above, or NULL (ax_llm_model_config's
     * pack_weights: dense q4_0 / q4_1 matrices with a multiple of 16 rows, avx2 and avx512 paths). */
    ax_qweight *wq_p, *wk_p, *wv_p, *wo_p, *w_gate_p, *w_up_p, *w_down_p;
} llm_layer;

struct ax_llm_model {
    ax_llm_model_info info;
    int32_t rope_dim;        /* leading elements of a head that rotate (<arch>.rope.dimension_count) */
    float rope_linear;       /* linear position scaling factor (1 = none) */
    ax_moe_ffn_config moe;   /* MoE models (info.n_expert > 0): k, gating and renormalisation */
    ax_device device;
    int32_t num_threads;
    ax_gguf *gguf;           /* the mapping: CPU weights are views into it */
    llm_tokenizer *tok;
    ax_context *ctx;         /* owns the uploaded weights on CUDA (ax_device_alloc / free) */
    ax_tensor token_embd;    /* (V, E): the embedding table */
    ax_tensor output;        /* (V, E): the LM head (token_embd's tensor when tied) */
    int tied_output;         /* the file has no output.weight: the LM head is token_embd */
    ax_tensor output_norm;   /* (E) f32 */
    ax_qweight *output_p;    /* the LM head packed, or NULL (as llm_layer's packed copies; a q8_0 head stays unpacked) */
    llm_layer *layers;       /* n_layer */
    void **device_buffers;   /* CUDA: one ax_device_alloc per uploaded tensor; NULL on the CPU */
    int64_t n_device_buffers;
};

/* y = x w^T: ax_qmatmul_packed when the matrix has a packed copy (pw), else ax_qmatmul (bit for bit
 * the same result). */
static inline ax_status llm_matmul(ax_context *ctx, const ax_tensor *x, const ax_tensor *w, const ax_qweight *pw,
                                   ax_tensor *y) {
    return pw != NULL ? ax_qmatmul_packed(ctx, x, pw, NULL, y) : ax_qmatmul(ctx, x, w, NULL, y);
}

/* ---- the decoder over a batch of token rows (decoder.c) ---- */

/* Activations, each (rows, width) f32 on the model's device, rows >= the batch's T. */
typedef struct llm_decoder_buffers {
    float *x, *h, *o;   /* (T, E): residual stream, normed input of a sub-block, a sub-block's output */
    float *q, *attn;    /* (T, H * Dh) */
    float *k, *v;       /* (T, Hkv * Dh) */
    float *gate, *up;   /* (T, F) */
} llm_decoder_buffers;

typedef struct llm_decoder_batch {
    int64_t T;                       /* token rows */
    const ax_tensor *ids;            /* (T) i32 token ids */
    const ax_tensor *positions;      /* (T) i32 positions (RoPE) */
    const ax_tensor *slots;          /* (T) i32 cache slot of each row (ax_kv_cache_append) */
    const ax_tensor *block_table;    /* (S, max_blocks) i32 */
    const ax_tensor *context_lens;   /* (S) i32 */
    const ax_tensor *cu_seqlens;     /* (S + 1) i32 */
    ax_paged_attention_options attn; /* hints and split-K as the caller wants them */
    float *kv;                       /* the cache: per layer K then V, each (num_blocks, block_size, Hkv, Dh) */
    int64_t num_blocks, block_size;
    llm_decoder_buffers buf;
} llm_decoder_batch;

/* Runs the decoder over b's rows, writing their K/V into the cache; on return buf.h holds the final
 * RMSNorm of every row (the LM head's input). Errors: those of the ops. */
ax_status llm_decoder_run(const ax_llm_model *m, ax_context *ctx, const llm_decoder_batch *b);

#endif /* AXIAL_LLM_MODEL_INTERNAL_H */
