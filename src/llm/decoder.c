/*
 * decoder.c — the Llama decoder over a batch of token rows, shared by the single-sequence session
 * (session.c) and the serving engine (src/serving/forward.c): embedding, then per layer RMSNorm,
 * Q/K/V, RoPE, the K/V rows written into a paged cache, paged GQA attention, the output projection,
 * RMSNorm and SwiGLU (or, in a Mixture-of-Experts model, ax_moe_ffn_forward over the block's experts),
 * and the final norm. The caller owns every buffer and the index tensors.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "axial/attention.h"
#include "axial/linalg.h"
#include "axial/moe.h"
#include "axial/nn.h"
#include "core/internal.h"
#include "linalg/qmatmul_fused.h"
#include "llm/model_internal.h"

static ax_tensor dec_tensor(const ax_llm_model *m, const void *data, int32_t ndim, int64_t d0, int64_t d1, int64_t d2) {
    const int64_t shape[3] = {d0, d1, d2};
    ax_tensor t;
    (void)ax_tensor_contiguous(&t, (void *)data, AX_F32, ndim, shape); /* small, valid shapes only */
    t.device = m->device;
    return t;
}

/* The K (which 0) or V (1) cache of layer l: (num_blocks, block_size, Hkv, Dh) f32, layer-major. */
static ax_tensor dec_cache(const ax_llm_model *m, const llm_decoder_batch *b, int32_t l, int which) {
    const ax_llm_model_info *in = &m->info;
    const int64_t per = b->num_blocks * b->block_size * in->n_head_kv * in->head_dim;
    const int64_t shape[4] = {b->num_blocks, b->block_size, in->n_head_kv, in->head_dim};
    ax_tensor t;
    (void)ax_tensor_contiguous(&t, b->kv + (2 * (int64_t)l + which) * per, AX_F32, 4, shape);
    t.device = m->device;
    return t;
}

ax_status llm_decoder_run(const ax_llm_model *m, ax_context *ctx, const llm_decoder_batch *b) {
    const ax_llm_model_info *in = &m->info;
    const int64_t T = b->T, E = in->n_embd, F = in->n_ff, H = in->n_head, Hkv = in->n_head_kv, Dh = in->head_dim;
    const llm_decoder_buffers *u = &b->buf;
    ax_tensor x = dec_tensor(m, u->x, 2, T, E, 0);
    ax_tensor h = dec_tensor(m, u->h, 2, T, E, 0);
    ax_tensor o = dec_tensor(m, u->o, 2, T, E, 0);
    ax_tensor q = dec_tensor(m, u->q, 2, T, H * Dh, 0);
    ax_tensor q3 = dec_tensor(m, u->q, 3, T, H, Dh);
    ax_tensor k = dec_tensor(m, u->k, 2, T, Hkv * Dh, 0);
    ax_tensor k3 = dec_tensor(m, u->k, 3, T, Hkv, Dh);
    ax_tensor v = dec_tensor(m, u->v, 2, T, Hkv * Dh, 0);
    ax_tensor v3 = dec_tensor(m, u->v, 3, T, Hkv, Dh);
    ax_tensor attn = dec_tensor(m, u->attn, 2, T, H * Dh, 0);
    ax_tensor attn3 = dec_tensor(m, u->attn, 3, T, H, Dh);
    ax_tensor gate = dec_tensor(m, u->gate, 2, T, F, 0);
    ax_tensor up = dec_tensor(m, u->up, 2, T, F, 0);

    ax_rope_options rope = {0};
    rope.rotary_dim = m->rope_dim;
    rope.layout = AX_ROPE_ADJACENT; /* GGUF's Llama Q/K rows are permuted for adjacent pairs */
    rope.base = in->rope_base;
    rope.linear_factor = m->rope_linear;
    const float eps = in->rms_eps;

    AX_CHECK(ax_embedding(ctx, b->ids, &m->token_embd, &x));
    for (int32_t l = 0; l < in->n_layer; l++) {
        const llm_layer *L = &m->layers[l];
        /* x holds the residual stream; o the last sub-block's output, not yet added (none at l = 0). */
        if (l == 0)
            AX_CHECK(ax_rms_norm(ctx, &x, &L->attn_norm, eps, &h));
        else
            AX_CHECK(ax_rms_norm_residual(ctx, &o, &x, &L->attn_norm, eps, &h, &x));
        {
            /* One call for the three projections of h (qmatmul_fused.h: one fork and join, the
             * same bits as three calls). */
            const ax_tensor *w[3] = {&L->wq, &L->wk, &L->wv};
            const ax_qweight *pw[3] = {L->wq_p, L->wk_p, L->wv_p};
            ax_tensor *y[3] = {&q, &k, &v};
            AX_CHECK(qmatmul_fused(ctx, &h, 3, w, pw, y));
        }
        AX_CHECK(ax_rope(ctx, &q3, b->positions, &rope, &q3));
        AX_CHECK(ax_rope(ctx, &k3, b->positions, &rope, &k3));
        ax_tensor kc = dec_cache(m, b, l, 0), vc = dec_cache(m, b, l, 1);
        AX_CHECK(ax_kv_cache_append(ctx, &k3, &v3, b->slots, &kc, &vc, NULL, NULL));
        AX_CHECK(ax_paged_attention(ctx, &q3, &kc, &vc, b->block_table, b->context_lens, b->cu_seqlens, NULL, NULL,
                                    &b->attn, &attn3, NULL));
        AX_CHECK(llm_matmul(ctx, &attn, &L->wo, L->wo_p, &o));
        AX_CHECK(ax_rms_norm_residual(ctx, &o, &x, &L->ffn_norm, eps, &h, &x));
        if (in->n_expert > 0) {
            /* The experts' scratch (routing, sorted rows, expert activations) comes from ctx's
             * workspace; the dense path's gate/up buffers are not used. */
            const ax_moe_ffn_weights w = {&L->router, &L->w_gate, &L->w_up, &L->w_down, NULL, NULL, NULL};
            AX_CHECK(ax_moe_ffn_forward(ctx, &m->moe, &h, &w, &o, NULL));
            continue;
        }
        {
            const ax_tensor *w[2] = {&L->w_gate, &L->w_up};
            const ax_qweight *pw[2] = {L->w_gate_p, L->w_up_p};
            ax_tensor *y[2] = {&gate, &up};
            AX_CHECK(qmatmul_fused(ctx, &h, 2, w, pw, y));
        }
        AX_CHECK(ax_glu(ctx, AX_ACT_SILU, &gate, &up, &gate));
        AX_CHECK(llm_matmul(ctx, &gate, &L->w_down, L->w_down_p, &o));
    }
    /* h: the final norm of every row, the LM head's input */
    return ax_rms_norm_residual(ctx, &o, &x, &m->output_norm, eps, &h, &x);
}
