/*
 * model.c — loading a Llama-family GGUF model: the hyperparameters from <arch>.* metadata, every
 * weight the forward needs checked for shape and type, the tokenizer, and on CUDA one upload of the
 * weights. The forward itself is in session.c.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <float.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "llm/model_internal.h"
#include "linalg/qmatmul_params.h" /* qmm_kernel_planned: whether packing pays on this CPU path */

/* Longest metadata key or tensor name built here ("blk.4095.attn_output.weight", "llama.rope...") */
#define MODEL_NAME_MAX 96

typedef struct model_loader {
    const ax_gguf *g;
    const char *file;
    const char *arch;   /* NUL-terminated copy of general.architecture */
} model_loader;

/* Re-labels a failed typed read of key `key` as a format error of the file: a value of the wrong
 * kind is the file's fault, not the caller's. */
static ax_status model_key_error(const model_loader *ld, const char *key) {
    char where[MODEL_NAME_MAX + 512];
    snprintf(where, sizeof where, "%s: metadata '%s'", ld->file, key);
    ax_error_prefix(where);
    return AX_ERR_FORMAT;
}

/* <arch>.<suffix> as an integer in [lo, hi]; `def` when absent and not required. */
static ax_status model_meta_int(const model_loader *ld, const char *suffix, int required, int64_t def, int64_t lo,
                                int64_t hi, int64_t *out) {
    char key[MODEL_NAME_MAX];
    snprintf(key, sizeof key, "%s.%s", ld->arch, suffix);
    const int64_t i = ax_gguf_find_key(ld->g, key);
    if (i < 0) {
        if (required) return ax_set_error(AX_ERR_FORMAT, "%s: metadata '%s' is missing", ld->file, key);
        *out = def;
        return AX_OK;
    }
    int64_t v;
    if (ax_gguf_get_i64(ld->g, i, &v) != AX_OK) return model_key_error(ld, key);
    if (v < lo || v > hi)
        return ax_set_error(AX_ERR_FORMAT, "%s: metadata '%s' is %lld, expected a value in [%lld, %lld]", ld->file,
                            key, (long long)v, (long long)lo, (long long)hi);
    *out = v;
    return AX_OK;
}

/* <arch>.<suffix> as a finite float > 0 (or `def` when absent). */
static ax_status model_meta_positive(const model_loader *ld, const char *suffix, double def, float *out) {
    char key[MODEL_NAME_MAX];
    snprintf(key, sizeof key, "%s.%s", ld->arch, suffix);
    const int64_t i = ax_gguf_find_key(ld->g, key);
    double v = def;
    if (i >= 0 && ax_gguf_get_f64(ld->g, i, &v) != AX_OK) return model_key_error(ld, key);
    /* Checked as the fp32 it becomes: a value below FLT_MIN would be 0 (the default, silently) or a
     * denormal whose inverse overflows (NaN angles in RoPE). */
    if (!(v >= FLT_MIN && v < 1e30))
        return ax_set_error(AX_ERR_FORMAT, "%s: metadata '%s' is %g, expected a finite value > 0 (at least %g)",
                            ld->file, key, v, (double)FLT_MIN);
    *out = (float)v;
    return AX_OK;
}

/* <arch>.<suffix> as a float >= 0 (finite), or def (returned as is) when absent. */
static ax_status model_meta_nonnegative(const model_loader *ld, const char *suffix, double def, float *out) {
    char key[MODEL_NAME_MAX];
    snprintf(key, sizeof key, "%s.%s", ld->arch, suffix);
    const int64_t i = ax_gguf_find_key(ld->g, key);
    if (i < 0) {
        *out = (float)def;
        return AX_OK;
    }
    double v = 0.0;
    if (ax_gguf_get_f64(ld->g, i, &v) != AX_OK) return model_key_error(ld, key);
    if (!((v == 0.0 || v >= FLT_MIN) && v < 1e30)) /* as model_meta_positive, 0 allowed */
        return ax_set_error(AX_ERR_FORMAT, "%s: metadata '%s' is %g, expected 0 or a finite value >= %g", ld->file,
                            key, v, (double)FLT_MIN);
    *out = (float)v;
    return AX_OK;
}

/* Copies a string value into buf (NUL-terminated, truncated); "" when the key is absent. */
static ax_status model_meta_string(const model_loader *ld, const char *key, char *buf, size_t size, int *found) {
    const int64_t i = ax_gguf_find_key(ld->g, key);
    buf[0] = '\0';
    *found = i >= 0;
    if (i < 0) return AX_OK;
    ax_gguf_string s;
    if (ax_gguf_get_string(ld->g, i, &s) != AX_OK) return model_key_error(ld, key);
    const size_t n = s.len < size - 1 ? (size_t)s.len : size - 1;
    memcpy(buf, s.data, n);
    buf[n] = '\0';
    return AX_OK;
}

static int model_dtype_is_matrix(ax_dtype dt) {
    return dt == AX_Q4_0 || dt == AX_Q4_1 || dt == AX_Q8_0 || dt == AX_Q4_K || dt == AX_Q6_K || dt == AX_F16 ||
           dt == AX_BF16 || dt == AX_F32;
}

/* "(a, b, c)" of a row-major shape, into buf. */
static void model_shape_text(int32_t ndim, const int64_t *shape, char *buf, size_t size) {
    snprintf(buf, size, "(");
    for (int32_t d = 0; d < ndim; d++) {
        char part[32];
        snprintf(part, sizeof part, "%lld%s", (long long)shape[d], d + 1 < ndim ? ", " : ")");
        strncat(buf, part, size - strlen(buf) - 1);
    }
}

/* Finds tensor `name` and checks its row-major shape is shape[0..ndim) (GGUF's ne reversed) and its
 * type a matrix type (`matrix`) or f32. *found 0 with AX_OK when absent and optional. */
static ax_status model_tensor_nd(const model_loader *ld, const char *name, int32_t ndim, const int64_t *shape,
                                 int matrix, int optional, ax_tensor *out, int *found) {
    const int64_t i = ax_gguf_find_tensor(ld->g, name);
    if (found != NULL) *found = i >= 0;
    char want[96];
    model_shape_text(ndim, shape, want, sizeof want);
    if (i < 0) {
        if (optional) return AX_OK;
        if (ndim == 1)
            return ax_set_error(AX_ERR_FORMAT, "%s: tensor '%s' is missing (expected an f32 vector of %lld)", ld->file,
                                name, (long long)shape[0]);
        return ax_set_error(AX_ERR_FORMAT, "%s: tensor '%s' is missing (expected a %s %s)", ld->file, name, want,
                            ndim == 2 ? "matrix" : "tensor");
    }
    ax_gguf_tensor_info info;
    AX_CHECK(ax_gguf_tensor_info_get(ld->g, i, &info));
    int shape_ok = info.n_dims == ndim;
    for (int32_t d = 0; shape_ok && d < ndim; d++) shape_ok = info.ne[ndim - 1 - d] == shape[d];
    if (!shape_ok) {
        int64_t got_shape[AX_GGUF_MAX_DIMS];
        for (int32_t d = 0; d < info.n_dims; d++) got_shape[d] = info.ne[info.n_dims - 1 - d];
        char got[96];
        model_shape_text(info.n_dims, got_shape, got, sizeof got);
        return ax_set_error(AX_ERR_FORMAT, "%s: tensor '%s' has shape %s, expected %s", ld->file, name, got, want);
    }
    const int type_ok = info.dtype >= 0 && (matrix ? model_dtype_is_matrix((ax_dtype)info.dtype)
                                                   : info.dtype == (int)AX_F32);
    if (!type_ok)
        return ax_set_error(AX_ERR_FORMAT, "%s: tensor '%s' has type %s, expected %s", ld->file, name,
                            ax_ggml_type_name(info.ggml_type),
                            matrix ? "one of q4_0, q4_1, q8_0, q4_k, q6_k, f16, bf16, f32" : "f32");
    const int64_t cols = shape[ndim - 1];
    if (matrix && cols % ax_dtype_block_elems((ax_dtype)info.dtype) != 0)
        return ax_set_error(AX_ERR_FORMAT, "%s: tensor '%s': %lld columns are not a whole number of %s blocks",
                            ld->file, name, (long long)cols, ax_dtype_name((ax_dtype)info.dtype));
    ax_status st = ax_gguf_tensor_view(ld->g, i, out);
    if (st != AX_OK) return st;
    /* GGUF allows any power-of-two alignment; the kernels read f32 rows through float pointers. */
    if ((uintptr_t)out->data % 4 != 0)
        return ax_set_error(AX_ERR_FORMAT, "%s: tensor '%s': data at file offset %llu is not 4-byte aligned", ld->file,
                            name, (unsigned long long)((const char *)out->data - (const char *)ax_gguf_file_data(ld->g)));
    return AX_OK;
}

/* model_tensor_nd for a (rows, cols) matrix, or a (cols) vector when rows is 0. */
static ax_status model_tensor(const model_loader *ld, const char *name, int64_t rows, int64_t cols, int matrix,
                              int optional, ax_tensor *out, int *found) {
    const int64_t shape[2] = {rows ? rows : cols, cols};
    return rows ? model_tensor_nd(ld, name, 2, shape, matrix, optional, out, found)
                : model_tensor_nd(ld, name, 1, shape + 1, matrix, optional, out, found);
}

/* Moves a CPU view onto the model's CUDA device (one allocation and copy), recording the buffer. */
static ax_status model_upload(ax_llm_model *m, ax_tensor *t) {
    if (m->device.type == AX_CPU) return AX_OK;
    const int64_t bytes = ax_dtype_bytes(t->dtype, ax_tensor_numel(t));
    void *buf = NULL;
    AX_CHECK(ax_device_alloc(m->ctx, (size_t)bytes, &buf));
    m->device_buffers[m->n_device_buffers++] = buf;
    AX_CHECK(ax_copy_to_device(m->ctx, buf, t->data, (size_t)bytes));
    t->data = buf;
    t->device = m->device;
    return AX_OK;
}

static ax_status model_read_hparams(const model_loader *ld, ax_llm_model *m) {
    ax_llm_model_info *in = &m->info;
    int64_t v = 0, n_vocab_meta = 0;
    AX_CHECK(model_meta_int(ld, "block_count", 1, 0, 1, 4096, &v));
    in->n_layer = (int32_t)v;
    AX_CHECK(model_meta_int(ld, "embedding_length", 1, 0, 1, 1 << 20, &v));
    in->n_embd = (int32_t)v;
    AX_CHECK(model_meta_int(ld, "feed_forward_length", 1, 0, 1, 1 << 22, &v));
    in->n_ff = (int32_t)v;
    AX_CHECK(model_meta_int(ld, "attention.head_count", 1, 0, 1, 4096, &v));
    in->n_head = (int32_t)v;
    AX_CHECK(model_meta_int(ld, "attention.head_count_kv", 0, in->n_head, 1, in->n_head, &v));
    in->n_head_kv = (int32_t)v;
    if (in->n_head % in->n_head_kv != 0)
        return ax_set_error(AX_ERR_FORMAT, "%s: %d heads are not a multiple of %d KV heads", ld->file, in->n_head,
                            in->n_head_kv);
    const int64_t default_head_dim = in->n_embd % in->n_head == 0 ? in->n_embd / in->n_head : 0;
    AX_CHECK(model_meta_int(ld, "attention.key_length", default_head_dim == 0, default_head_dim, 2, 1024, &v));
    in->head_dim = (int32_t)v;
    AX_CHECK(model_meta_int(ld, "attention.value_length", 0, in->head_dim, in->head_dim, in->head_dim, &v));
    if (in->head_dim % 2 != 0 || in->head_dim > 1024)
        return ax_set_error(AX_ERR_FORMAT, "%s: head dimension %d is odd or above 1024", ld->file, in->head_dim);
    AX_CHECK(model_meta_int(ld, "rope.dimension_count", 0, in->head_dim, 2, in->head_dim, &v));
    if (v % 2 != 0) return ax_set_error(AX_ERR_FORMAT, "%s: rope dimension count %lld is odd", ld->file, (long long)v);
    m->rope_dim = (int32_t)v;
    AX_CHECK(model_meta_int(ld, "context_length", 0, 4096, 1, INT32_MAX, &v));
    in->n_ctx_train = (int32_t)v;
    AX_CHECK(model_meta_positive(ld, "rope.freq_base", 10000.0, &in->rope_base));
    AX_CHECK(model_meta_positive(ld, "attention.layer_norm_rms_epsilon", 1e-5, &in->rms_eps));
    AX_CHECK(model_meta_int(ld, "vocab_size", 0, 0, 0, INT32_MAX, &n_vocab_meta));
    in->n_vocab = (int32_t)n_vocab_meta; /* 0 when absent: taken from token_embd below */

    /* Only linear position scaling is a plain rescale of the angles; YaRN and the rest change the
     * frequencies per dimension, which ax_rope does not do. */
    char key[MODEL_NAME_MAX], scaling[32];
    int found;
    snprintf(key, sizeof key, "%s.rope.scaling.type", ld->arch);
    AX_CHECK(model_meta_string(ld, key, scaling, sizeof scaling, &found));
    m->rope_linear = 1.0f;
    if (found && strcmp(scaling, "none") == 0) return AX_OK;
    if (found && strcmp(scaling, "linear") != 0)
        return ax_set_error(AX_ERR_UNSUPPORTED, "%s: rope scaling '%s' is not supported (only linear)", ld->file,
                            scaling);
    /* Linear, named or not (as llama.cpp reads a file without the type): the factor, else the older
     * key rope.scale_linear; 0 means none. */
    float factor = 0.0f;
    AX_CHECK(model_meta_nonnegative(ld, "rope.scaling.factor", -1.0, &factor));
    if (factor < 0.0f) AX_CHECK(model_meta_nonnegative(ld, "rope.scale_linear", 0.0, &factor));
    if (factor > 0.0f) m->rope_linear = factor;
    return AX_OK;
}

/* Mixture of Experts metadata. llama.cpp runs a llama file with experts (Mixtral) with softmax
 * gating and the k kept weights renormalised; the keys other architectures use to change that are
 * honoured when they name something ax_moe_route does, and refused (naming the key) otherwise. */
static ax_status model_read_moe(const model_loader *ld, ax_llm_model *m) {
    ax_llm_model_info *in = &m->info;
    int64_t v = 0;
    AX_CHECK(model_meta_int(ld, "expert_count", 0, 0, 0, 4096, &v));
    in->n_expert = (int32_t)v;
    in->n_expert_used = 0;
    ax_moe_ffn_config c = AX_MOE_FFN_CONFIG_INIT;
    c.route.gating = AX_MOE_SOFTMAX_TOPK;
    c.route.normalize = 1;
    c.route.capacity_factor = 0.0f; /* inference drops no token */
    c.act = AX_ACT_SILU;
    m->moe = c;
    if (in->n_expert == 0) return AX_OK;
    AX_CHECK(model_meta_int(ld, "expert_used_count", 1, 0, 1, in->n_expert, &v));
    in->n_expert_used = (int32_t)v;
    m->moe.route.top_k = in->n_expert_used;

    char key[MODEL_NAME_MAX];
    snprintf(key, sizeof key, "%s.expert_weights_norm", ld->arch);
    int64_t i = ax_gguf_find_key(ld->g, key);
    if (i >= 0) {
        int norm = 0;
        if (ax_gguf_get_bool(ld->g, i, &norm) != AX_OK) return model_key_error(ld, key);
        m->moe.route.normalize = norm != 0;
    }
    /* llama.cpp's llama_expert_gating_func_type: 1 softmax, 2 sigmoid (3, softmax over the kept
     * logits only, has no ax_moe_route counterpart) */
    snprintf(key, sizeof key, "%s.expert_gating_func", ld->arch);
    i = ax_gguf_find_key(ld->g, key);
    if (i >= 0) {
        if (ax_gguf_get_i64(ld->g, i, &v) != AX_OK) return model_key_error(ld, key);
        if (v != 1 && v != 2)
            return ax_set_error(AX_ERR_UNSUPPORTED,
                                "%s: metadata '%s' is %lld: only 1 (softmax) and 2 (sigmoid) gating are supported",
                                ld->file, key, (long long)v);
        m->moe.route.gating = v == 1 ? AX_MOE_SOFTMAX_TOPK : AX_MOE_SIGMOID_TOPK;
    }
    snprintf(key, sizeof key, "%s.expert_weights_scale", ld->arch);
    i = ax_gguf_find_key(ld->g, key);
    if (i >= 0) {
        double scale = 0.0;
        if (ax_gguf_get_f64(ld->g, i, &scale) != AX_OK) return model_key_error(ld, key);
        if (scale != 1.0)
            return ax_set_error(AX_ERR_UNSUPPORTED, "%s: metadata '%s' is %g: scaled expert weights are not supported",
                                ld->file, key, scale);
    }
    snprintf(key, sizeof key, "%s.expert_shared_count", ld->arch);
    i = ax_gguf_find_key(ld->g, key);
    if (i >= 0) {
        if (ax_gguf_get_i64(ld->g, i, &v) != AX_OK) return model_key_error(ld, key);
        if (v != 0)
            return ax_set_error(AX_ERR_UNSUPPORTED, "%s: metadata '%s' is %lld: shared experts are not supported",
                                ld->file, key, (long long)v);
    }
    return AX_OK;
}

/* The feed-forward weights of block l: three (F, E) / (E, F) matrices, or with experts llama.cpp's
 * router ffn_gate_inp (n_expert, E) f32 and the stacked experts ffn_{gate,up}_exps (n_expert, F, E)
 * and ffn_down_exps (n_expert, E, F), experts outermost (GGUF ne = [E, F, n_expert]). */
static ax_status model_find_ffn(const model_loader *ld, ax_llm_model *m, int32_t l) {
    const ax_llm_model_info *in = &m->info;
    const int64_t E = in->n_embd, F = in->n_ff, X = in->n_expert;
    llm_layer *L = &m->layers[l];
    char name[MODEL_NAME_MAX];
    if (X == 0) {
        snprintf(name, sizeof name, "blk.%d.ffn_gate.weight", (int)l);
        AX_CHECK(model_tensor(ld, name, F, E, 1, 0, &L->w_gate, NULL));
        snprintf(name, sizeof name, "blk.%d.ffn_up.weight", (int)l);
        AX_CHECK(model_tensor(ld, name, F, E, 1, 0, &L->w_up, NULL));
        snprintf(name, sizeof name, "blk.%d.ffn_down.weight", (int)l);
        return model_tensor(ld, name, E, F, 1, 0, &L->w_down, NULL);
    }
    const int64_t in_shape[3] = {X, F, E}, out_shape[3] = {X, E, F};
    snprintf(name, sizeof name, "blk.%d.ffn_gate_inp.weight", (int)l);
    AX_CHECK(model_tensor(ld, name, X, E, 0, 0, &L->router, NULL));
    struct {
        const char *suffix;
        const int64_t *shape;
        ax_tensor *dst;
    } experts[] = {{"ffn_gate_exps", in_shape, &L->w_gate}, {"ffn_up_exps", in_shape, &L->w_up},
                   {"ffn_down_exps", out_shape, &L->w_down}};
    for (size_t w = 0; w < sizeof experts / sizeof experts[0]; w++) {
        snprintf(name, sizeof name, "blk.%d.%s.weight", (int)l, experts[w].suffix);
        AX_CHECK(model_tensor_nd(ld, name, 3, experts[w].shape, 1, 0, experts[w].dst, NULL));
    }
    return AX_OK;
}

static ax_status model_find_weights(const model_loader *ld, ax_llm_model *m) {
    ax_llm_model_info *in = &m->info;
    const int64_t E = in->n_embd;
    const int64_t q_rows = (int64_t)in->n_head * in->head_dim, kv_rows = (int64_t)in->n_head_kv * in->head_dim;

    /* The vocabulary size is token_embd's row count; check it against the metadata when given. */
    const int64_t ti = ax_gguf_find_tensor(ld->g, "token_embd.weight");
    if (ti < 0) return ax_set_error(AX_ERR_FORMAT, "%s: tensor 'token_embd.weight' is missing", ld->file);
    ax_gguf_tensor_info tinfo;
    AX_CHECK(ax_gguf_tensor_info_get(ld->g, ti, &tinfo));
    if (tinfo.n_dims != 2)
        return ax_set_error(AX_ERR_FORMAT,
                            "%s: tensor 'token_embd.weight' has %d dimensions, expected 2 (%lld, n_vocab)", ld->file,
                            (int)tinfo.n_dims, (long long)E);
    const int64_t V = tinfo.ne[1];
    if (in->n_vocab != 0 && V != in->n_vocab)
        return ax_set_error(AX_ERR_FORMAT, "%s: tensor 'token_embd.weight' has %lld rows, but %s.vocab_size is %d",
                            ld->file, (long long)V, ld->arch, in->n_vocab);
    if (V < 1 || V > INT32_MAX)
        return ax_set_error(AX_ERR_FORMAT, "%s: tensor 'token_embd.weight' is not a (n_vocab, %lld) matrix",
                            ld->file, (long long)E);
    in->n_vocab = (int32_t)V;
    AX_CHECK(model_tensor(ld, "token_embd.weight", V, E, 1, 0, &m->token_embd, NULL));
    int has_output = 0;
    AX_CHECK(model_tensor(ld, "output.weight", V, E, 1, 1, &m->output, &has_output));
    m->tied_output = !has_output;
    if (!has_output) m->output = m->token_embd; /* tied embeddings (SmolLM2) */
    AX_CHECK(model_tensor(ld, "output_norm.weight", 0, E, 0, 0, &m->output_norm, NULL));

    m->layers = calloc((size_t)in->n_layer, sizeof *m->layers);
    if (m->layers == NULL) return ax_set_error(AX_ERR_OUT_OF_MEMORY, "%s: %d layers", ld->file, in->n_layer);
    for (int32_t l = 0; l < in->n_layer; l++) {
        llm_layer *L = &m->layers[l];
        struct {
            const char *suffix;
            int64_t rows, cols;
            int matrix;
            ax_tensor *dst;
        } want[] = {
            {"attn_norm", 0, E, 0, &L->attn_norm}, {"attn_q", q_rows, E, 1, &L->wq},
            {"attn_k", kv_rows, E, 1, &L->wk},     {"attn_v", kv_rows, E, 1, &L->wv},
            {"attn_output", E, q_rows, 1, &L->wo}, {"ffn_norm", 0, E, 0, &L->ffn_norm},
        };
        for (size_t w = 0; w < sizeof want / sizeof want[0]; w++) {
            char name[MODEL_NAME_MAX];
            snprintf(name, sizeof name, "blk.%d.%s.weight", (int)l, want[w].suffix);
            AX_CHECK(model_tensor(ld, name, want[w].rows, want[w].cols, want[w].matrix, 0, want[w].dst, NULL));
        }
        AX_CHECK(model_find_ffn(ld, m, l));
    }
    return AX_OK;
}

/* 1 when the llama forward reads the tensor `name` (len bytes): token_embd, output, output_norm and
 * blk.L.{attn_norm, attn_q, attn_k, attn_v, attn_output, ffn_norm} plus the FFN's (dense or
 * experts), each ".weight", for L < n_layer. */
static int model_reads(const ax_llm_model *m, const char *name, size_t len) {
    static const char *const top[] = {"token_embd.weight", "output.weight", "output_norm.weight"};
    static const char *const block[] = {"attn_norm.weight", "attn_q.weight",      "attn_k.weight",
                                        "attn_v.weight",    "attn_output.weight", "ffn_norm.weight"};
    static const char *const dense[] = {"ffn_gate.weight", "ffn_up.weight", "ffn_down.weight"};
    static const char *const experts[] = {"ffn_gate_inp.weight", "ffn_gate_exps.weight", "ffn_up_exps.weight",
                                          "ffn_down_exps.weight"};
    for (size_t i = 0; i < sizeof top / sizeof top[0]; i++)
        if (len == strlen(top[i]) && memcmp(name, top[i], len) == 0) return 1;
    if (len < 6 || memcmp(name, "blk.", 4) != 0) return 0;
    size_t at = 4;
    int64_t l = 0;
    while (at < len && at < 14 && name[at] >= '0' && name[at] <= '9') l = 10 * l + (name[at++] - '0');
    if (at == 4 || at >= len || name[at] != '.' || l >= m->info.n_layer) return 0;
    if (name[4] == '0' && at > 5) return 0; /* "blk.01": not the name the forward looks up */
    const char *suffix = name + at + 1;
    const size_t n = len - at - 1;
    for (size_t i = 0; i < sizeof block / sizeof block[0]; i++)
        if (n == strlen(block[i]) && memcmp(suffix, block[i], n) == 0) return 1;
    const char *const *ffn = m->info.n_expert > 0 ? experts : dense;
    const size_t n_ffn = m->info.n_expert > 0 ? 4 : 3;
    for (size_t i = 0; i < n_ffn; i++)
        if (n == strlen(ffn[i]) && memcmp(suffix, ffn[i], n) == 0) return 1;
    return 0;
}

/* A tensor the forward would not read changes what the file means (attention biases, Llama 3.1's
 * rope_freqs, a layer past block_count): refused by name rather than silently ignored. */
static ax_status model_check_all_read(const model_loader *ld, const ax_llm_model *m) {
    const int64_t count = ax_gguf_tensor_count(ld->g);
    for (int64_t i = 0; i < count; i++) {
        ax_gguf_tensor_info info;
        AX_CHECK(ax_gguf_tensor_info_get(ld->g, i, &info));
        if (!model_reads(m, info.name.data, (size_t)info.name.len))
            return ax_set_error(AX_ERR_UNSUPPORTED,
                                "%s: tensor '%.*s' is not one Axial's %s forward reads (attention biases, rope "
                                "frequency factors and other extra tensors are not supported)",
                                ld->file, (int)(info.name.len < 200 ? info.name.len : 200), info.name.data, ld->arch);
    }
    return AX_OK;
}

/* Every weight tensor of the model, for uploading and counting (the tied output counted once). */
static int64_t model_weight_list(ax_llm_model *m, ax_tensor **list) {
    int64_t n = 0;
    list[n++] = &m->token_embd;
    list[n++] = &m->output_norm;
    for (int32_t l = 0; l < m->info.n_layer; l++) {
        llm_layer *L = &m->layers[l];
        ax_tensor *per[] = {&L->attn_norm, &L->wq, &L->wk, &L->wv, &L->wo,
                            &L->ffn_norm, &L->w_gate, &L->w_up, &L->w_down};
        for (size_t i = 0; i < sizeof per / sizeof per[0]; i++) list[n++] = per[i];
        if (L->router.data != NULL) list[n++] = &L->router;
    }
    return n;
}

static ax_status model_place_weights(ax_llm_model *m, int tied) {
    const int64_t max_tensors = 3 + 10 * (int64_t)m->info.n_layer;
    ax_tensor **list = malloc((size_t)max_tensors * sizeof *list);
    if (list == NULL) return ax_set_error(AX_ERR_OUT_OF_MEMORY, "model: weight list");
    int64_t n = model_weight_list(m, list);
    if (!tied) list[n++] = &m->output;
    ax_status st = AX_OK;
    if (m->device.type != AX_CPU) {
        m->device_buffers = calloc((size_t)n, sizeof *m->device_buffers);
        if (m->device_buffers == NULL) st = ax_set_error(AX_ERR_OUT_OF_MEMORY, "model: %lld buffers", (long long)n);
    }
    m->info.weight_bytes = 0;
    for (int64_t i = 0; i < n && st == AX_OK; i++) {
        m->info.weight_bytes += ax_dtype_bytes(list[i]->dtype, ax_tensor_numel(list[i]));
        st = model_upload(m, list[i]);
    }
    if (st == AX_OK && tied) m->output = m->token_embd; /* follows the upload */
    free(list);
    return st;
}

/* A packed copy of w when it is a dense q4_0 or q4_1 matrix with a multiple of 16 rows (the decode of
 * whose tiles ran at twice the GGUF-order rate on both wide kernels, from cache or memory); q8_0 stays
 * in the file, since its large matrices (the LM head) measured no faster packed. *out stays NULL
 * otherwise. */
static ax_status model_pack_one(const ax_tensor *w, ax_qweight **out) {
    *out = NULL;
    if (w->data == NULL || w->ndim != 2 || w->shape[0] % 16 != 0 || (w->dtype != AX_Q4_0 && w->dtype != AX_Q4_1))
        return AX_OK;
    return ax_qweight_pack(w, out);
}

static ax_status model_pack_weights(ax_llm_model *m) {
    AX_CHECK(model_pack_one(&m->output, &m->output_p));
    for (int32_t l = 0; l < m->info.n_layer; l++) {
        llm_layer *L = &m->layers[l];
        /* A MoE block's experts are 3-D (model_pack_one leaves them to ax_moe_ffn_forward). */
        AX_CHECK(model_pack_one(&L->wq, &L->wq_p));
        AX_CHECK(model_pack_one(&L->wk, &L->wk_p));
        AX_CHECK(model_pack_one(&L->wv, &L->wv_p));
        AX_CHECK(model_pack_one(&L->wo, &L->wo_p));
        AX_CHECK(model_pack_one(&L->w_gate, &L->w_gate_p));
        AX_CHECK(model_pack_one(&L->w_up, &L->w_up_p));
        AX_CHECK(model_pack_one(&L->w_down, &L->w_down_p));
    }
    return AX_OK;
}

ax_status ax_llm_model_load(const char *path, const ax_llm_model_config *cfg, ax_llm_model **out) {
    if (out == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "out: NULL");
    *out = NULL;
    if (path == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "path: NULL");
    ax_llm_model_config c = AX_LLM_MODEL_CONFIG_INIT;
    if (cfg != NULL) {
        /* The first version ended before pack_weights (its size, padded, is below ours): take its
         * fields and keep the defaults for the rest. */
        const size_t first = offsetof(ax_llm_model_config, pack_weights);
        if (cfg->struct_size < first)
            return ax_set_error(AX_ERR_INVALID_ARGUMENT, "cfg->struct_size: %zu, expected %zu (use AX_LLM_MODEL_CONFIG_INIT)",
                                cfg->struct_size, sizeof c);
        if (cfg->struct_size >= sizeof c) c = *cfg;
        else memcpy(&c, cfg, first);
        c.struct_size = sizeof c;
    }
    if (c.device.type != AX_CPU && c.device.type != AX_CUDA)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "cfg->device: unknown device type %d", (int)c.device.type);

    ax_llm_model *m = calloc(1, sizeof *m);
    if (m == NULL) return ax_set_error(AX_ERR_OUT_OF_MEMORY, "model: %zu bytes", sizeof *m);
    m->device = c.device;
    m->num_threads = c.num_threads;
    ax_status st;
    ax_context_config cc = AX_CONTEXT_CONFIG_INIT;
    cc.device = c.device;
    cc.num_threads = c.num_threads;
    AX_CHECK_GOTO(ax_context_create(&m->ctx, &cc), st, fail);
    AX_CHECK_GOTO(ax_gguf_open(path, &m->gguf), st, fail);

    model_loader ld = {m->gguf, path, m->info.architecture};
    int found;
    AX_CHECK_GOTO(model_meta_string(&ld, "general.architecture", m->info.architecture, sizeof m->info.architecture,
                                    &found), st, fail);
    if (!found) {
        st = ax_set_error(AX_ERR_FORMAT, "%s: metadata 'general.architecture' is missing", path);
        goto fail;
    }
    if (strcmp(m->info.architecture, "llama") != 0) {
        st = ax_set_error(AX_ERR_UNSUPPORTED, "%s: architecture '%s' is not supported (Axial runs 'llama')", path,
                          m->info.architecture);
        goto fail;
    }
    AX_CHECK_GOTO(model_meta_string(&ld, "general.name", m->info.name, sizeof m->info.name, &found), st, fail);
    AX_CHECK_GOTO(model_read_hparams(&ld, m), st, fail);
    AX_CHECK_GOTO(model_read_moe(&ld, m), st, fail);
    if (m->device.type == AX_CUDA && m->info.head_dim > 256) {
        /* Found here rather than at the first eval: CUDA paged attention takes D <= 256. */
        st = ax_set_error(AX_ERR_UNSUPPORTED, "%s: head dimension %d, CUDA attention supports at most 256", path,
                          m->info.head_dim);
        goto fail;
    }
    AX_CHECK_GOTO(model_find_weights(&ld, m), st, fail);
    AX_CHECK_GOTO(model_check_all_read(&ld, m), st, fail);
    AX_CHECK_GOTO(llm_tokenizer_create(m->gguf, path, &m->tok), st, fail);
    if (llm_tokenizer_vocab_size(m->tok) != m->info.n_vocab) {
        st = ax_set_error(AX_ERR_FORMAT, "%s: the tokenizer has %d tokens but token_embd.weight has %d rows", path,
                          llm_tokenizer_vocab_size(m->tok), m->info.n_vocab);
        goto fail;
    }
    m->info.bos_id = llm_tokenizer_bos(m->tok);
    m->info.eos_id = llm_tokenizer_eos(m->tok);
    m->info.add_bos = llm_tokenizer_add_bos(m->tok);
    m->info.add_eos = llm_tokenizer_add_eos(m->tok);
    /* Tied by the file's own say, not by equal data pointers: two tensors of a crafted file may share
     * an offset with different types, and the LM head would have read its bytes as token_embd's. */
    AX_CHECK_GOTO(model_place_weights(m, m->tied_output), st, fail);
    /* Only where a kernel reads the tiles (the wide kernels): on the portable path ax_qmatmul_packed
     * reads them back into GGUF rows first, a copy per call that gains nothing (docs/linalg.md). */
    if (m->device.type == AX_CPU && c.pack_weights && qmm_kernel_planned(1) != QMM_KERNEL_LANES)
        AX_CHECK_GOTO(model_pack_weights(m), st, fail);
    *out = m;
    return AX_OK;
fail:
    ax_llm_model_free(m);
    return st;
}

void ax_llm_model_free(ax_llm_model *model) {
    if (model == NULL) return;
    for (int64_t i = 0; i < model->n_device_buffers; i++) ax_device_free(model->ctx, model->device_buffers[i]);
    free(model->device_buffers);
    ax_qweight_destroy(model->output_p);
    for (int32_t l = 0; model->layers != NULL && l < model->info.n_layer; l++) {
        llm_layer *L = &model->layers[l];
        ax_qweight *packed[] = {L->wq_p, L->wk_p, L->wv_p, L->wo_p, L->w_gate_p, L->w_up_p, L->w_down_p};
        for (size_t i = 0; i < sizeof packed / sizeof packed[0]; i++) ax_qweight_destroy(packed[i]);
    }
    free(model->layers);
    llm_tokenizer_free(model->tok);
    ax_gguf_close(model->gguf);
    ax_context_destroy(model->ctx);
    free(model);
}

ax_status ax_llm_model_get_info(const ax_llm_model *model, ax_llm_model_info *out) {
    if (model == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "model: NULL");
    if (out == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "out: NULL");
    *out = model->info;
    return AX_OK;
}

const llm_tokenizer *llm_model_tokenizer(const ax_llm_model *model) { return model->tok; }
