/*
 * transformer.c — the transformer-kernel ops (attention.h, nn.h, sampling.h, linalg.h's qmatmul,
 * moe.h's single-device ops) behind one METH_FASTCALL entry, op(ctx, name, arrays, ints, floats,
 * stream, flags): a table names each op's arrays (which may be None, which are written), its integer
 * and float arguments, and a small adapter to the C function. The Python layer (axial/_transformer.py,
 * axial/_moe.py) allocates outputs and documents each op; the C library checks every argument. The
 * GIL is released while the op runs.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "axial/attention.h"
#include "axial/linalg.h"
#include "axial/moe.h"
#include "axial/nn.h"
#include "axial/sampling.h"
#include "bindings.h"

#define OP_MAX_ARRAYS 20
#define OP_MAX_SCALARS 16

typedef ax_status (*op_adapter)(ax_context *ctx, ax_tensor *const *t, const int64_t *iv, const double *fv);

/* An int field of a C struct from a Python int: saturated to the int32 range, so a value outside it
 * reaches the library's range check (and its message) instead of wrapping to a valid-looking one. */
static int32_t sat32(int64_t v) { return v < INT32_MIN ? INT32_MIN : v > INT32_MAX ? INT32_MAX : (int32_t)v; }

typedef struct op_entry {
    const char *name;
    const char *arrays[OP_MAX_ARRAYS]; /* names for messages; the count is the first NULL */
    unsigned optional;                 /* bit i: arrays[i] may be None */
    unsigned outputs;                  /* bit i: arrays[i] is written */
    int n_ints, n_floats;
    op_adapter fn;
} op_entry;

/* ---- attention.h ---- */

static ax_attention_options attention_options(ax_tensor *cu_q, ax_tensor *cu_k, const int64_t *iv,
                                              const double *fv) {
    ax_attention_options o = ax_attention_options_default();
    o.causal = sat32(iv[0]);
    o.window_left = iv[1];
    o.window_right = iv[2];
    o.max_seqlen_q = iv[3];
    o.max_seqlen_k = iv[4];
    o.scale = (float)fv[0];
    o.softcap = (float)fv[1];
    o.cu_seqlens_q = cu_q;
    o.cu_seqlens_k = cu_k;
    return o;
}

/* q k v bias cu_q cu_k | out lse */
static ax_status run_attention_forward(ax_context *ctx, ax_tensor *const *t, const int64_t *iv, const double *fv) {
    const ax_attention_options o = attention_options(t[4], t[5], iv, fv);
    return ax_attention_forward(ctx, t[0], t[1], t[2], t[3], &o, t[6], t[7]);
}

/* q k v bias out lse dout cu_q cu_k | dq dk dv dbias */
static ax_status run_attention_backward(ax_context *ctx, ax_tensor *const *t, const int64_t *iv, const double *fv) {
    const ax_attention_options o = attention_options(t[7], t[8], iv, fv);
    return ax_attention_backward(ctx, t[0], t[1], t[2], t[3], t[4], t[5], t[6], &o, t[9], t[10], t[11], t[12]);
}

/* q k_cache v_cache block_table context_lens cu_seqlens_q k_scales v_scales | out lse */
static ax_status run_paged_attention(ax_context *ctx, ax_tensor *const *t, const int64_t *iv, const double *fv) {
    ax_paged_attention_options o = ax_paged_attention_options_default();
    o.causal = sat32(iv[0]);
    o.window_left = iv[1];
    o.window_right = iv[2];
    o.num_splits = sat32(iv[3]);
    o.max_seqlen_q = iv[4];
    o.max_context_len = iv[5];
    o.scale = (float)fv[0];
    o.softcap = (float)fv[1];
    return ax_paged_attention(ctx, t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7], &o, t[8], t[9]);
}

/* k v slot_mapping | k_cache v_cache k_scales v_scales (read and written) */
static ax_status run_kv_cache_append(ax_context *ctx, ax_tensor *const *t, const int64_t *iv, const double *fv) {
    (void)iv, (void)fv;
    return ax_kv_cache_append(ctx, t[0], t[1], t[2], t[3], t[4], t[5], t[6]);
}

/* ---- nn.h ---- */

/* x residual weight | out residual_out */
static ax_status run_rms_norm(ax_context *ctx, ax_tensor *const *t, const int64_t *iv, const double *fv) {
    (void)iv;
    if (t[1] == NULL) return ax_rms_norm(ctx, t[0], t[2], (float)fv[0], t[3]);
    return ax_rms_norm_residual(ctx, t[0], t[1], t[2], (float)fv[0], t[3], t[4]);
}

/* x weight dout | dx dweight */
static ax_status run_rms_norm_backward(ax_context *ctx, ax_tensor *const *t, const int64_t *iv, const double *fv) {
    (void)iv;
    return ax_rms_norm_backward(ctx, t[0], t[1], t[2], (float)fv[0], t[3], t[4]);
}

/* x residual weight bias | out residual_out mean rstd */
static ax_status run_layer_norm(ax_context *ctx, ax_tensor *const *t, const int64_t *iv, const double *fv) {
    (void)iv;
    return ax_layer_norm(ctx, t[0], t[1], t[2], t[3], (float)fv[0], t[4], t[5], t[6], t[7]);
}

/* x weight dout | dx dweight dbias */
static ax_status run_layer_norm_backward(ax_context *ctx, ax_tensor *const *t, const int64_t *iv, const double *fv) {
    (void)iv;
    return ax_layer_norm_backward(ctx, t[0], t[1], t[2], (float)fv[0], t[3], t[4], t[5]);
}

static ax_rope_options rope_options(const int64_t *iv, const double *fv) {
    ax_rope_options o;
    memset(&o, 0, sizeof o);
    o.rotary_dim = iv[0];
    o.layout = (ax_rope_layout)iv[1];
    o.base = (float)fv[0];
    o.linear_factor = (float)fv[1];
    o.ntk_factor = (float)fv[2];
    return o;
}

/* x positions | out  (ints: rotary_dim, layout, backward; floats: base, linear, ntk) */
static ax_status run_rope(ax_context *ctx, ax_tensor *const *t, const int64_t *iv, const double *fv) {
    const ax_rope_options o = rope_options(iv, fv);
    return iv[2] ? ax_rope_backward(ctx, t[0], t[1], &o, t[2]) : ax_rope(ctx, t[0], t[1], &o, t[2]);
}

/* x dout | out  (ints: kind, backward) */
static ax_status run_activation(ax_context *ctx, ax_tensor *const *t, const int64_t *iv, const double *fv) {
    (void)fv;
    const ax_activation_kind kind = (ax_activation_kind)iv[0];
    return iv[1] ? ax_activation_backward(ctx, kind, t[0], t[1], t[2]) : ax_activation(ctx, kind, t[0], t[2]);
}

/* gate up dout | out_or_dgate dup  (ints: kind, backward) */
static ax_status run_glu(ax_context *ctx, ax_tensor *const *t, const int64_t *iv, const double *fv) {
    (void)fv;
    const ax_activation_kind kind = (ax_activation_kind)iv[0];
    return iv[1] ? ax_glu_backward(ctx, kind, t[0], t[1], t[2], t[3], t[4]) : ax_glu(ctx, kind, t[0], t[1], t[3]);
}

/* A block-quantized matrix comes from Python as (rows, row_bytes) uint8 rows of raw GGUF blocks, or a
 * stack of them (E, rows, row_bytes) for the experts of a MoE layer; this describes it as (rows, K) or
 * (E, rows, K) of the block dtype `code`, K = row_bytes / block_bytes * block_elems, the outer strides
 * in elements alike. Returns 0, or -1 when it is not such an array (then the library gets it as it is
 * and names its problem; the Python layer checks the shape first for a clearer message). */
static int as_blocks(const ax_tensor *in, int64_t code, ax_tensor *out) {
    const ax_dtype dt = (ax_dtype)code;
    const int64_t be = ax_dtype_block_elems(dt), bb = ax_dtype_block_bytes(dt);
    const int last = in->ndim - 1;
    if (be <= 1 || bb <= 0 || in->dtype != AX_U8 || (in->ndim != 2 && in->ndim != 3) || in->strides[last] != 1 ||
        in->shape[last] % bb != 0)
        return -1;
    for (int d = 0; d < last; d++)
        if (in->strides[d] % bb != 0) return -1;
    *out = *in;
    out->dtype = dt;
    out->shape[last] = in->shape[last] / bb * be;
    for (int d = 0; d < last; d++) out->strides[d] = in->strides[d] / bb * be;
    return 0;
}

/* The array as given (code < 0, or not a block array), else its block-dtype description in *scratch. */
static const ax_tensor *maybe_blocks(const ax_tensor *in, int64_t code, ax_tensor *scratch) {
    if (in == NULL || code < 0 || as_blocks(in, code, scratch) < 0) return in;
    return scratch;
}

/* ids table | out  (ints: the table's block dtype code, or -1 to take it as it is) */
static ax_status run_embedding(ax_context *ctx, ax_tensor *const *t, const int64_t *iv, const double *fv) {
    (void)fv;
    ax_tensor table;
    return ax_embedding(ctx, t[0], maybe_blocks(t[1], iv[0], &table), t[2]);
}

/* y_or_x dout | out_or_dx  (ints: backward; floats: scale) */
static ax_status run_softmax(ax_context *ctx, ax_tensor *const *t, const int64_t *iv, const double *fv) {
    return iv[0] ? ax_softmax_backward(ctx, t[0], t[1], (float)fv[0], t[2]) : ax_softmax(ctx, t[0], (float)fv[0], t[2]);
}

/* ---- sampling.h ---- */

/* logits settings history_ids history_offsets | tokens probs */
static ax_status run_sample(ax_context *ctx, ax_tensor *const *t, const int64_t *iv, const double *fv) {
    (void)iv, (void)fv;
    return ax_sample(ctx, t[0], t[1], t[2], t[3], t[4], t[5]);
}

/* ---- linalg.h: quantized matmul ---- */

/* x w bias | y  (ints: w's block dtype code, or -1 to take it as it is) */
static ax_status run_qmatmul(ax_context *ctx, ax_tensor *const *t, const int64_t *iv, const double *fv) {
    (void)fv;
    ax_tensor w;
    return ax_qmatmul(ctx, t[0], maybe_blocks(t[1], iv[0], &w), t[2], t[3]);
}

/* ---- moe.h (single device) ---- */

/* ints: top_k, gating, normalize, min_capacity; floats: capacity_factor */
static ax_moe_route_config route_config(const int64_t *iv, const double *fv) {
    ax_moe_route_config cfg = AX_MOE_ROUTE_CONFIG_INIT;
    cfg.top_k = sat32(iv[0]);
    cfg.gating = (ax_moe_gating)sat32(iv[1]);
    cfg.normalize = sat32(iv[2]);
    cfg.min_capacity = iv[3];
    cfg.capacity_factor = (float)fv[0];
    return cfg;
}

/* logits | expert_ids weights probs losses */
static ax_status run_moe_route(ax_context *ctx, ax_tensor *const *t, const int64_t *iv, const double *fv) {
    const ax_moe_route_config cfg = route_config(iv, fv);
    return ax_moe_route(ctx, &cfg, t[0], t[1], t[2], t[3], t[4]);
}

/* logits dweights | dlogits  (floats: capacity_factor, aux_coef, z_coef) */
static ax_status run_moe_route_backward(ax_context *ctx, ax_tensor *const *t, const int64_t *iv, const double *fv) {
    const ax_moe_route_config cfg = route_config(iv, fv);
    return ax_moe_route_backward(ctx, &cfg, t[0], t[1], (float)fv[1], (float)fv[2], t[2]);
}

/* x expert_ids | x_sorted offsets counts rows  (ints: num_experts, align) */
static ax_status run_moe_dispatch(ax_context *ctx, ax_tensor *const *t, const int64_t *iv, const double *fv) {
    (void)fv;
    return ax_moe_dispatch(ctx, t[0], t[1], iv[0], iv[1], t[2], t[3], t[4], t[5]);
}

/* y_sorted rows weights | y */
static ax_status run_moe_combine(ax_context *ctx, ax_tensor *const *t, const int64_t *iv, const double *fv) {
    (void)iv, (void)fv;
    return ax_moe_combine(ctx, t[0], t[1], t[2], t[3]);
}

/* dy y_sorted rows weights | dy_sorted dweights */
static ax_status run_moe_combine_backward(ax_context *ctx, ax_tensor *const *t, const int64_t *iv, const double *fv) {
    (void)iv, (void)fv;
    return ax_moe_combine_backward(ctx, t[0], t[1], t[2], t[3], t[4], t[5]);
}

/* x w offsets | y  (ints: trans_w, w's block dtype code or -1) */
static ax_status run_moe_grouped_gemm(ax_context *ctx, ax_tensor *const *t, const int64_t *iv, const double *fv) {
    (void)fv;
    ax_tensor w;
    return ax_moe_grouped_gemm(ctx, iv[0] ? AX_TRANS : AX_NO_TRANS, t[0], maybe_blocks(t[1], iv[1], &w), t[2], t[3]);
}

/* dy x offsets | dw (read too when beta != 0)  (floats: beta) */
static ax_status run_moe_grouped_gemm_dw(ax_context *ctx, ax_tensor *const *t, const int64_t *iv, const double *fv) {
    (void)iv;
    return ax_moe_grouped_gemm_dw(ctx, t[0], t[1], t[2], (float)fv[0], t[3]);
}

/* ints: top_k, gating, normalize, min_capacity, act; floats: capacity_factor, aux_coef, z_coef */
static ax_moe_ffn_config ffn_config(const int64_t *iv, const double *fv) {
    ax_moe_ffn_config cfg = AX_MOE_FFN_CONFIG_INIT;
    cfg.route = route_config(iv, fv);
    cfg.act = (ax_activation_kind)iv[4];
    cfg.aux_coef = (float)fv[1];
    cfg.z_coef = (float)fv[2];
    return cfg;
}

/* x router gate up down dense_gate dense_up dense_down | y losses  (ints after the config's five: the
 * block dtype code or -1 of gate, up, down, dense_gate, dense_up, dense_down) */
static ax_status run_moe_ffn_forward(ax_context *ctx, ax_tensor *const *t, const int64_t *iv, const double *fv) {
    const ax_moe_ffn_config cfg = ffn_config(iv, fv);
    ax_tensor blocks[6];
    const ax_tensor *q[6];
    for (int i = 0; i < 6; i++) q[i] = maybe_blocks(t[2 + i], iv[5 + i], &blocks[i]);
    const ax_moe_ffn_weights w = {t[1], q[0], q[1], q[2], q[3], q[4], q[5]};
    return ax_moe_ffn_forward(ctx, &cfg, t[0], &w, t[8], t[9]);
}

/* x router gate up down dense_gate dense_up dense_down dy | dx and the seven weights' gradients */
static ax_status run_moe_ffn_backward(ax_context *ctx, ax_tensor *const *t, const int64_t *iv, const double *fv) {
    const ax_moe_ffn_config cfg = ffn_config(iv, fv);
    const ax_moe_ffn_weights w = {t[1], t[2], t[3], t[4], t[5], t[6], t[7]};
    const ax_moe_ffn_grads g = {t[10], t[11], t[12], t[13], t[14], t[15], t[16]};
    return ax_moe_ffn_backward(ctx, &cfg, t[0], &w, t[8], t[9], &g);
}

#define BIT(i) (1u << (i))

static const op_entry ops[] = {
    {"attention_forward", {"q", "k", "v", "bias", "cu_seqlens_q", "cu_seqlens_k", "out", "lse"},
     BIT(3) | BIT(4) | BIT(5) | BIT(7), BIT(6) | BIT(7), 5, 2, run_attention_forward},
    {"attention_backward",
     {"q", "k", "v", "bias", "out", "lse", "dout", "cu_seqlens_q", "cu_seqlens_k", "dq", "dk", "dv", "dbias"},
     BIT(3) | BIT(7) | BIT(8) | BIT(12), BIT(9) | BIT(10) | BIT(11) | BIT(12), 5, 2, run_attention_backward},
    {"paged_attention",
     {"q", "k_cache", "v_cache", "block_table", "context_lens", "cu_seqlens_q", "k_scales", "v_scales", "out",
      "lse"},
     BIT(6) | BIT(7) | BIT(9), BIT(8) | BIT(9), 6, 2, run_paged_attention},
    {"kv_cache_append", {"k", "v", "slot_mapping", "k_cache", "v_cache", "k_scales", "v_scales"}, BIT(5) | BIT(6),
     BIT(3) | BIT(4) | BIT(5) | BIT(6), 0, 0, run_kv_cache_append},
    {"rms_norm", {"x", "residual", "weight", "out", "residual_out"}, BIT(1) | BIT(2) | BIT(4), BIT(3) | BIT(4), 0, 1,
     run_rms_norm},
    {"rms_norm_backward", {"x", "weight", "dout", "dx", "dweight"}, BIT(1) | BIT(4), BIT(3) | BIT(4), 0, 1,
     run_rms_norm_backward},
    {"layer_norm", {"x", "residual", "weight", "bias", "out", "residual_out", "mean", "rstd"},
     BIT(1) | BIT(2) | BIT(3) | BIT(5) | BIT(6) | BIT(7), BIT(4) | BIT(5) | BIT(6) | BIT(7), 0, 1, run_layer_norm},
    {"layer_norm_backward", {"x", "weight", "dout", "dx", "dweight", "dbias"}, BIT(1) | BIT(4) | BIT(5),
     BIT(3) | BIT(4) | BIT(5), 0, 1, run_layer_norm_backward},
    {"rope", {"x", "positions", "out"}, 0, BIT(2), 3, 3, run_rope},
    {"activation", {"x", "dout", "out"}, BIT(1), BIT(2), 2, 0, run_activation},
    {"glu", {"gate", "up", "dout", "out", "dup"}, BIT(2) | BIT(4), BIT(3) | BIT(4), 2, 0, run_glu},
    {"embedding", {"ids", "table", "out"}, 0, BIT(2), 1, 0, run_embedding},
    {"softmax", {"x", "dout", "out"}, BIT(1), BIT(2), 1, 1, run_softmax},
    {"sample", {"logits", "settings", "history_ids", "history_offsets", "tokens", "probs"}, BIT(2) | BIT(3) | BIT(5),
     BIT(4) | BIT(5), 0, 0, run_sample},
    {"qmatmul", {"x", "w", "bias", "y"}, BIT(2), BIT(3), 1, 0, run_qmatmul},
    {"moe_route", {"logits", "expert_ids", "weights", "probs", "losses"}, BIT(3) | BIT(4),
     BIT(1) | BIT(2) | BIT(3) | BIT(4), 4, 1, run_moe_route},
    {"moe_route_backward", {"logits", "dweights", "dlogits"}, BIT(1), BIT(2), 4, 3, run_moe_route_backward},
    {"moe_dispatch", {"x", "expert_ids", "x_sorted", "offsets", "counts", "rows"}, BIT(4),
     BIT(2) | BIT(3) | BIT(4) | BIT(5), 2, 0, run_moe_dispatch},
    {"moe_combine", {"y_sorted", "rows", "weights", "y"}, BIT(2), BIT(3), 0, 0, run_moe_combine},
    {"moe_combine_backward", {"dy", "y_sorted", "rows", "weights", "dy_sorted", "dweights"},
     BIT(1) | BIT(3) | BIT(5), BIT(4) | BIT(5), 0, 0, run_moe_combine_backward},
    {"moe_grouped_gemm", {"x", "w", "offsets", "y"}, 0, BIT(3), 2, 0, run_moe_grouped_gemm},
    {"moe_grouped_gemm_dw", {"dy", "x", "offsets", "dw"}, 0, BIT(3), 0, 1, run_moe_grouped_gemm_dw},
    {"moe_ffn_forward",
     {"x", "router", "gate", "up", "down", "dense_gate", "dense_up", "dense_down", "y", "losses"},
     BIT(5) | BIT(6) | BIT(7) | BIT(9), BIT(8) | BIT(9), 11, 3, run_moe_ffn_forward},
    {"moe_ffn_backward",
     {"x", "router", "gate", "up", "down", "dense_gate", "dense_up", "dense_down", "dy", "dx", "drouter", "dgate",
      "dup", "ddown", "ddense_gate", "ddense_up", "ddense_down"},
     BIT(5) | BIT(6) | BIT(7) | BIT(9) | BIT(10) | BIT(11) | BIT(12) | BIT(13) | BIT(14) | BIT(15) | BIT(16),
     BIT(9) | BIT(10) | BIT(11) | BIT(12) | BIT(13) | BIT(14) | BIT(15) | BIT(16), 5, 3, run_moe_ffn_backward},
};

static const op_entry *find_op(const char *name) {
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (strcmp(ops[i].name, name) == 0) return &ops[i];
    return NULL;
}

static int count_arrays(const op_entry *e) {
    int n = 0;
    while (n < OP_MAX_ARRAYS && e->arrays[n] != NULL) n++;
    return n;
}

/* Reads a tuple of `want` Python numbers into out[] (ints or floats). */
static int read_scalars(PyObject *tuple, const char *what, int want, int floats, int64_t *iv, double *fv) {
    if (!PyTuple_Check(tuple) || PyTuple_Size(tuple) != want) {
        axpy_raise(AX_ERR_INVALID_ARGUMENT, "%s: expected a tuple of %d numbers", what, want);
        return -1;
    }
    for (int i = 0; i < want; i++) {
        PyObject *x = PyTuple_GetItem(tuple, i);
        if (floats) {
            fv[i] = PyFloat_AsDouble(x);
            if (fv[i] == -1.0 && PyErr_Occurred()) return -1;
        } else if (axpy_int64(x, what, &iv[i]) < 0) {
            return -1;
        }
    }
    return 0;
}

/* op(ctx, name, arrays, ints, floats, stream, flags) */
static PyObject *py_op(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (axpy_check_nargs("op", nargs, 7) < 0) return NULL;
    axpy_context *c = axpy_context_from(args[0]);
    const char *name;
    int64_t flags;
    if (c == NULL || axpy_utf8(args[1], "name", 0, &name) < 0 || axpy_int64(args[6], "flags", &flags) < 0) return NULL;
    const op_entry *e = find_op(name);
    if (e == NULL) return axpy_raise(AX_ERR_INVALID_ARGUMENT, "op: no op named '%s'", name);
    const int n = count_arrays(e);
    if (!PyTuple_Check(args[2]) || PyTuple_Size(args[2]) != n)
        return axpy_raise(AX_ERR_INVALID_ARGUMENT, "%s: expected a tuple of %d arrays", name, n);
    int64_t iv[OP_MAX_SCALARS] = {0};
    double fv[OP_MAX_SCALARS] = {0};
    if (read_scalars(args[3], "ints", e->n_ints, 0, iv, fv) < 0 || read_scalars(args[4], "floats", e->n_floats, 1, iv, fv) < 0)
        return NULL;
    axpy_array arrays[OP_MAX_ARRAYS];
    ax_tensor *t[OP_MAX_ARRAYS];
    memset(arrays, 0, sizeof arrays);
    for (int i = 0; i < n; i++) {
        PyObject *obj = PyTuple_GetItem(args[2], i);
        t[i] = NULL;
        int failed = 0;
        if (obj == Py_None) {
            if (!(e->optional & BIT(i))) {
                axpy_raise(AX_ERR_INVALID_ARGUMENT, "%s: is required (got None)", e->arrays[i]);
                failed = 1;
            }
        } else if (axpy_array_get(obj, e->arrays[i], (int)(flags & AXPY_U16_BF16) | ((e->outputs & BIT(i)) ? AXPY_WRITABLE : 0),
                                  args[5], &arrays[i]) == 0) {
            t[i] = &arrays[i].tensor;
        } else {
            failed = 1;
        }
        if (failed) {
            for (int j = 0; j < i; j++) axpy_array_release(&arrays[j]);
            return NULL;
        }
    }
    ax_status st;
    Py_BEGIN_ALLOW_THREADS
    PyThread_acquire_lock(c->lock, WAIT_LOCK);
    st = e->fn(c->ctx, t, iv, fv);
    PyThread_release_lock(c->lock);
    Py_END_ALLOW_THREADS
    for (int i = 0; i < n; i++) axpy_array_release(&arrays[i]);
    if (st != AX_OK) return axpy_raise_status(st);
    Py_RETURN_NONE;
}

/* ---- linalg.h: packed weights (an ax_qweight in a capsule that owns it) ---- */

#define QWEIGHT_CAPSULE "axial.qweight"

static void qweight_destructor(PyObject *capsule) {
    ax_qweight_destroy(PyCapsule_GetPointer(capsule, QWEIGHT_CAPSULE));
}

/* qweight_pack(w, code) -> capsule: w a host uint8 (N, row_bytes) array of GGUF blocks of dtype code. */
static PyObject *py_qweight_pack(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (axpy_check_nargs("qweight_pack", nargs, 2) < 0) return NULL;
    int64_t code;
    if (axpy_int64(args[1], "w_dtype", &code) < 0) return NULL;
    axpy_array w;
    if (axpy_array_get(args[0], "w", 0, Py_None, &w) < 0) return NULL;
    ax_tensor wt;
    if (as_blocks(&w.tensor, code, &wt) < 0) {
        axpy_array_release(&w);
        return axpy_raise(AX_ERR_INVALID_ARGUMENT, "w: expected a uint8 (N, row_bytes) array of whole blocks whose "
                                                   "rows are contiguous");
    }
    ax_qweight *q = NULL;
    ax_status st;
    Py_BEGIN_ALLOW_THREADS
    st = ax_qweight_pack(&wt, &q);
    Py_END_ALLOW_THREADS
    axpy_array_release(&w);
    if (st != AX_OK) return axpy_raise_status(st);
    PyObject *capsule = PyCapsule_New(q, QWEIGHT_CAPSULE, qweight_destructor);
    if (capsule == NULL) ax_qweight_destroy(q);
    return capsule;
}

/* qmatmul_packed(ctx, qweight, x, bias, y, stream, flags) */
static PyObject *py_qmatmul_packed(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (axpy_check_nargs("qmatmul_packed", nargs, 7) < 0) return NULL;
    axpy_context *c = axpy_context_from(args[0]);
    int64_t flags;
    if (c == NULL || axpy_int64(args[6], "flags", &flags) < 0) return NULL;
    const ax_qweight *q = PyCapsule_IsValid(args[1], QWEIGHT_CAPSULE) ? PyCapsule_GetPointer(args[1], QWEIGHT_CAPSULE)
                                                                      : NULL;
    if (q == NULL) return axpy_raise(AX_ERR_INVALID_ARGUMENT, "w: expected a packed weight (axial.QWeight)");
    static const char *const names[] = {"x", "bias", "y"};
    axpy_array arrays[3];
    memset(arrays, 0, sizeof arrays);
    for (int i = 0; i < 3; i++) {
        PyObject *obj = args[2 + i];
        if (obj == Py_None && i == 1) continue;
        if (axpy_array_get(obj, names[i], (int)(flags & AXPY_U16_BF16) | (i == 2 ? AXPY_WRITABLE : 0), args[5],
                           &arrays[i]) < 0) {
            for (int j = 0; j < i; j++) axpy_array_release(&arrays[j]);
            return NULL;
        }
    }
    ax_status st;
    Py_BEGIN_ALLOW_THREADS
    PyThread_acquire_lock(c->lock, WAIT_LOCK);
    st = ax_qmatmul_packed(c->ctx, &arrays[0].tensor, q, args[3] == Py_None ? NULL : &arrays[1].tensor,
                           &arrays[2].tensor);
    PyThread_release_lock(c->lock);
    Py_END_ALLOW_THREADS
    for (int i = 0; i < 3; i++) axpy_array_release(&arrays[i]);
    if (st != AX_OK) return axpy_raise_status(st);
    Py_RETURN_NONE;
}

PyMethodDef axpy_transformer_methods[] = {
    {"qweight_pack", (PyCFunction)(void (*)(void))py_qweight_pack, METH_FASTCALL,
     "qweight_pack(w, w_dtype_code) -> capsule\n\n"
     "ax_qweight_pack of a uint8 (N, row_bytes) array of GGUF blocks; the capsule owns the copy."},
    {"qmatmul_packed", (PyCFunction)(void (*)(void))py_qmatmul_packed, METH_FASTCALL,
     "qmatmul_packed(ctx, qweight, x, bias, y, stream, flags)\n\n"
     "ax_qmatmul_packed into the caller's y."},
    {"op", (PyCFunction)(void (*)(void))py_op, METH_FASTCALL,
     "op(ctx, name, arrays, ints, floats, stream, flags)\n\n"
     "Runs the transformer op `name` (attention_forward, attention_backward, paged_attention,\n"
     "kv_cache_append, ..., moe_route, moe_dispatch, moe_ffn_forward, ...) on a tuple of arrays\n"
     "(None where optional) and its integer and float arguments; outputs are caller-provided arrays,\n"
     "written in place."},
    {NULL, NULL, 0, NULL}};
