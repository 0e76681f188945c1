/*
 * test_paged_errors.c — every invalid ax_paged_attention / ax_kv_cache_append call returns
 * AX_ERR_INVALID_ARGUMENT with a message naming the argument (and the dimension, sequence, position
 * or row), and writes nothing. The index values (cu_seqlens_q, context_lens, block ids, slots) are
 * checked on the CPU.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "axial/attention.h"
#include "harness.h"

/* A valid problem: 2 sequences (1 decode token with 5 keys, a 2-token chunk with 20 keys). */
enum { T = 3, H = 2, HKV = 1, D = 4, NB = 4, BS = 16, NS = 2, MB = 2 };

static float q[T * H * D], out[T * H * D], lse[H * T];
static float kc[NB * BS * HKV * D], vc[NB * BS * HKV * D], ks[NB * HKV], vs[NB * HKV];
static int8_t kc8[NB * BS * HKV * D], vc8[NB * BS * HKV * D];
static uint16_t kc16[NB * BS * HKV * D];
static int32_t bt[NS * MB], cl[NS], cu[NS + 1];
static float rows_k[T * HKV * D], rows_v[T * HKV * D];
static int32_t slots[T];
static ax_tensor tq, tkc, tvc, tbt, tcl, tcu, tout, tlse, tks, tvs, tkc8, tvc8, tkc16;
static ax_tensor trk, trv, tslots;
static ax_context *ctx;

static const float sentinel = 12345.0f;

static void reset_indices(void) {
    const int32_t bt0[NS * MB] = {2, -1, 0, 3}, cl0[NS] = {5, 20}, cu0[NS + 1] = {0, 1, 3}, s0[T] = {7, 40, -1};
    for (int i = 0; i < NS * MB; i++) bt[i] = bt0[i];
    for (int i = 0; i < NS; i++) cl[i] = cl0[i];
    for (int i = 0; i <= NS; i++) cu[i] = cu0[i];
    for (int i = 0; i < T; i++) slots[i] = s0[i];
}

static void setup(void) {
    const int64_t qs[3] = {T, H, D}, cs[4] = {NB, BS, HKV, D}, bts[2] = {NS, MB}, ns = NS, ns1 = NS + 1;
    const int64_t ls[2] = {H, T}, ss[2] = {NB, HKV}, rs[3] = {T, HKV, D}, ts = T;
    for (int i = 0; i < T * H * D; i++) q[i] = (float)(i % 5) * 0.1f;
    for (int i = 0; i < NB * BS * HKV * D; i++) kc[i] = vc[i] = (float)(i % 7) * 0.1f;
    for (int i = 0; i < T * HKV * D; i++) rows_k[i] = rows_v[i] = (float)(i % 3);
    ax_tensor_contiguous(&tq, q, AX_F32, 3, qs);
    ax_tensor_contiguous(&tkc, kc, AX_F32, 4, cs);
    ax_tensor_contiguous(&tvc, vc, AX_F32, 4, cs);
    ax_tensor_contiguous(&tkc8, kc8, AX_I8, 4, cs);
    ax_tensor_contiguous(&tvc8, vc8, AX_I8, 4, cs);
    ax_tensor_contiguous(&tkc16, kc16, AX_BF16, 4, cs);
    ax_tensor_contiguous(&tbt, bt, AX_I32, 2, bts);
    ax_tensor_contiguous(&tcl, cl, AX_I32, 1, &ns);
    ax_tensor_contiguous(&tcu, cu, AX_I32, 1, &ns1);
    ax_tensor_contiguous(&tout, out, AX_F32, 3, qs);
    ax_tensor_contiguous(&tlse, lse, AX_F32, 2, ls);
    ax_tensor_contiguous(&tks, ks, AX_F32, 2, ss);
    ax_tensor_contiguous(&tvs, vs, AX_F32, 2, ss);
    ax_tensor_contiguous(&trk, rows_k, AX_F32, 3, rs);
    ax_tensor_contiguous(&trv, rows_v, AX_F32, 3, rs);
    ax_tensor_contiguous(&tslots, slots, AX_I32, 1, &ts);
    reset_indices();
}

static void fill_outputs(void) {
    for (int i = 0; i < T * H * D; i++) out[i] = sentinel;
    for (int i = 0; i < H * T; i++) lse[i] = sentinel;
    for (int i = 0; i < NB * BS * HKV * D; i++) kc[i] = vc[i] = sentinel, kc8[i] = vc8[i] = 7;
    for (int i = 0; i < NB * HKV; i++) ks[i] = vs[i] = sentinel;
}

static int outputs_untouched(void) {
    for (int i = 0; i < T * H * D; i++)
        if (out[i] != sentinel) return 0;
    for (int i = 0; i < H * T; i++)
        if (lse[i] != sentinel) return 0;
    for (int i = 0; i < NB * BS * HKV * D; i++)
        if (kc[i] != sentinel || vc[i] != sentinel || kc8[i] != 7 || vc8[i] != 7) return 0;
    for (int i = 0; i < NB * HKV; i++)
        if (ks[i] != sentinel || vs[i] != sentinel) return 0;
    return 1;
}

#define EXPECT_ERROR(needle, call)                                                                                     \
    do {                                                                                                               \
        fill_outputs();                                                                                                \
        CHECK_STATUS(call, AX_ERR_INVALID_ARGUMENT);                                                                   \
        CHECK_CONTAINS(ax_last_error(), needle);                                                                       \
        CHECK(outputs_untouched());                                                                                    \
        reset_indices();                                                                                               \
    } while (0)

#define PAGED(q_, kc_, vc_, bt_, cl_, cu_, ks_, vs_, opt_, out_, lse_)                                                 \
    ax_paged_attention(ctx, q_, kc_, vc_, bt_, cl_, cu_, ks_, vs_, opt_, out_, lse_)

static void test_valid_calls_run(void) {
    /* The baseline of every error case below is a call that succeeds. */
    CHECK_OK(PAGED(&tq, &tkc, &tvc, &tbt, &tcl, &tcu, NULL, NULL, NULL, &tout, &tlse));
    for (int i = 0; i < NB * HKV; i++) ks[i] = vs[i] = 0.0f;
    CHECK_OK(ax_kv_cache_append(ctx, &trk, &trv, &tslots, &tkc8, &tvc8, &tks, &tvs));
    CHECK(ks[0] > 0.0f && ks[2] > 0.0f);
}

static void test_paged_tensor_errors(void) {
    ax_tensor bad;
    EXPECT_ERROR("ctx", ax_paged_attention(NULL, &tq, &tkc, &tvc, &tbt, &tcl, &tcu, NULL, NULL, NULL, &tout, &tlse));
    EXPECT_ERROR("q", PAGED(NULL, &tkc, &tvc, &tbt, &tcl, &tcu, NULL, NULL, NULL, &tout, &tlse));
    bad = tq, bad.ndim = 2;
    EXPECT_ERROR("q", PAGED(&bad, &tkc, &tvc, &tbt, &tcl, &tcu, NULL, NULL, NULL, &tout, &tlse));
    bad = tkc, bad.shape[3] = 2;
    EXPECT_ERROR("k_cache: dim 3 (D)", PAGED(&tq, &bad, &tvc, &tbt, &tcl, &tcu, NULL, NULL, NULL, &tout, &tlse));
    bad = tvc, bad.shape[0] = 3;
    EXPECT_ERROR("v_cache: dim 0 (num_blocks)",
                 PAGED(&tq, &tkc, &bad, &tbt, &tcl, &tcu, NULL, NULL, NULL, &tout, &tlse));
    EXPECT_ERROR("v_cache", PAGED(&tq, &tkc, &tkc16, &tbt, &tcl, &tcu, NULL, NULL, NULL, &tout, &tlse));
    EXPECT_ERROR("k_cache: dtype bf16", PAGED(&tq, &tkc16, &tkc16, &tbt, &tcl, &tcu, NULL, NULL, NULL, &tout, &tlse));
    bad = tbt, bad.dtype = AX_F32;
    EXPECT_ERROR("block_table", PAGED(&tq, &tkc, &tvc, &bad, &tcl, &tcu, NULL, NULL, NULL, &tout, &tlse));
    bad = tcl, bad.shape[0] = 1;
    EXPECT_ERROR("context_lens: dim 0 (num_seqs)",
                 PAGED(&tq, &tkc, &tvc, &tbt, &bad, &tcu, NULL, NULL, NULL, &tout, &tlse));
    bad = tcu, bad.shape[0] = 2;
    EXPECT_ERROR("cu_seqlens_q: dim 0 is 2, expected num_seqs + 1 = 3",
                 PAGED(&tq, &tkc, &tvc, &tbt, &tcl, &bad, NULL, NULL, NULL, &tout, &tlse));
    bad = tout, bad.dtype = AX_BF16;
    EXPECT_ERROR("out", PAGED(&tq, &tkc, &tvc, &tbt, &tcl, &tcu, NULL, NULL, NULL, &bad, &tlse));
    bad = tlse, bad.shape[1] = 2;
    EXPECT_ERROR("lse: dim 1 (T)", PAGED(&tq, &tkc, &tvc, &tbt, &tcl, &tcu, NULL, NULL, NULL, &tout, &bad));
    bad = tq;
    bad.data = out;
    EXPECT_ERROR("out", PAGED(&bad, &tkc, &tvc, &tbt, &tcl, &tcu, NULL, NULL, NULL, &tout, &tlse));
    /* H % Hkv: two KV heads for H = 2 is fine, so use a cache claiming 3 heads over the same data. */
    ax_tensor k3 = tkc, v3 = tvc;
    k3.shape[2] = v3.shape[2] = 3, k3.shape[3] = v3.shape[3] = 1;
    k3.strides[2] = v3.strides[2] = 1;
    ax_tensor q1 = tq, out1 = tout;
    q1.shape[2] = out1.shape[2] = 1;
    q1.strides[1] = out1.strides[1] = 1, q1.strides[0] = out1.strides[0] = 2;
    EXPECT_ERROR("Hkv", PAGED(&q1, &k3, &v3, &tbt, &tcl, &tcu, NULL, NULL, NULL, &out1, &tlse));
    ax_tensor k8 = tkc, v8 = tvc;
    k8.shape[1] = v8.shape[1] = 8;
    EXPECT_ERROR("block_size) is 8", PAGED(&tq, &k8, &v8, &tbt, &tcl, &tcu, NULL, NULL, NULL, &tout, &tlse));
    EXPECT_ERROR("k_scales: NULL", PAGED(&tq, &tkc8, &tvc8, &tbt, &tcl, &tcu, NULL, &tvs, NULL, &tout, &tlse));
    EXPECT_ERROR("v_scales: NULL", PAGED(&tq, &tkc8, &tvc8, &tbt, &tcl, &tcu, &tks, NULL, NULL, &tout, &tlse));
    EXPECT_ERROR("k_scales: given", PAGED(&tq, &tkc, &tvc, &tbt, &tcl, &tcu, &tks, &tvs, NULL, &tout, &tlse));
    bad = tks, bad.shape[1] = 2;
    EXPECT_ERROR("k_scales: dim 1 (Hkv)", PAGED(&tq, &tkc8, &tvc8, &tbt, &tcl, &tcu, &bad, &tvs, NULL, &tout, &tlse));
}

/* D = 0 is AX_ERR_UNSUPPORTED, as for ax_attention_forward and the Evoformer op (it had been
 * INVALID_ARGUMENT here alone); lse is left as it was. */
static void test_paged_zero_head_dim(void) {
    const int64_t qs[3] = {T, H, 0}, cs[4] = {NB, BS, HKV, 0};
    ax_tensor q0, k0, v0, o0;
    ax_tensor_contiguous(&q0, q, AX_F32, 3, qs);
    ax_tensor_contiguous(&k0, kc, AX_F32, 4, cs);
    ax_tensor_contiguous(&v0, vc, AX_F32, 4, cs);
    ax_tensor_contiguous(&o0, out, AX_F32, 3, qs);
    fill_outputs();
    CHECK_STATUS(PAGED(&q0, &k0, &v0, &tbt, &tcl, &tcu, NULL, NULL, NULL, &o0, &tlse), AX_ERR_UNSUPPORTED);
    CHECK_CONTAINS(ax_last_error(), "q: dim 2 (D) is 0");
    CHECK(outputs_untouched());
}

static void test_paged_option_errors(void) {
    ax_paged_attention_options o = ax_paged_attention_options_default();
    o.window_right = 2;
    EXPECT_ERROR("window_right", PAGED(&tq, &tkc, &tvc, &tbt, &tcl, &tcu, NULL, NULL, &o, &tout, &tlse));
    o = ax_paged_attention_options_default(), o.causal = 2;
    EXPECT_ERROR("opt->causal: 2", PAGED(&tq, &tkc, &tvc, &tbt, &tcl, &tcu, NULL, NULL, &o, &tout, &tlse));
    o = ax_paged_attention_options_default(), o.scale = -1.0f;
    EXPECT_ERROR("scale", PAGED(&tq, &tkc, &tvc, &tbt, &tcl, &tcu, NULL, NULL, &o, &tout, &tlse));
    o = ax_paged_attention_options_default(), o.softcap = NAN;
    EXPECT_ERROR("softcap", PAGED(&tq, &tkc, &tvc, &tbt, &tcl, &tcu, NULL, NULL, &o, &tout, &tlse));
    o = ax_paged_attention_options_default(), o.softcap = 1e-39f;
    EXPECT_ERROR("its inverse overflows", PAGED(&tq, &tkc, &tvc, &tbt, &tcl, &tcu, NULL, NULL, &o, &tout, &tlse));
    o = ax_paged_attention_options_default(), o.num_splits = -1;
    EXPECT_ERROR("num_splits", PAGED(&tq, &tkc, &tvc, &tbt, &tcl, &tcu, NULL, NULL, &o, &tout, &tlse));
    o = ax_paged_attention_options_default(), o.max_seqlen_q = -3;
    EXPECT_ERROR("max_seqlen_q", PAGED(&tq, &tkc, &tvc, &tbt, &tcl, &tcu, NULL, NULL, &o, &tout, &tlse));
}

/* Windows of INT64_MAX bound nothing: the same bits as the unbounded default (no overflow). */
static void test_paged_huge_windows(void) {
    static float ref[T * H * D];
    ax_paged_attention_options o = ax_paged_attention_options_default();
    o.causal = 0;
    CHECK_OK(PAGED(&tq, &tkc, &tvc, &tbt, &tcl, &tcu, NULL, NULL, &o, &tout, &tlse));
    memcpy(ref, out, sizeof out);
    o.window_left = o.window_right = INT64_MAX;
    fill_outputs();
    CHECK_OK(PAGED(&tq, &tkc, &tvc, &tbt, &tcl, &tcu, NULL, NULL, &o, &tout, &tlse));
    CHECK(memcmp(out, ref, sizeof out) == 0);
}

/* The default scale is ax_attention_forward's, 1 / sqrt(D) rounded once from double (it had been
 * 1.0f / sqrtf(D), one ulp away at D = 24, so decode and prefill scaled differently). */
static void test_paged_default_scale(void) {
    enum { DD = 24, CTX = 5 };
    static float q1[DD], kv1[BS * DD], o_default[DD], o_given[DD], o_single[DD], l_default[1], l_given[1],
        l_single[1];
    const int64_t qs[3] = {1, 1, DD}, cs[4] = {1, BS, 1, DD}, one = 1, two = 2, bts[2] = {1, 1}, ls[2] = {1, 1};
    int32_t bt1[1] = {0}, cl1[1] = {CTX}, cu1[2] = {0, 1};
    for (int i = 0; i < DD; i++) q1[i] = 0.3f + 0.05f * (float)i;
    for (int i = 0; i < BS * DD; i++) kv1[i] = (float)((i * 7) % 11) * 0.1f - 0.4f;
    ax_tensor t_q, t_kv, t_bt, t_cl, t_cu, t_out, t_lse;
    ax_tensor_contiguous(&t_q, q1, AX_F32, 3, qs);
    ax_tensor_contiguous(&t_kv, kv1, AX_F32, 4, cs);
    ax_tensor_contiguous(&t_bt, bt1, AX_I32, 2, bts);
    ax_tensor_contiguous(&t_cl, cl1, AX_I32, 1, &one);
    ax_tensor_contiguous(&t_cu, cu1, AX_I32, 1, &two);
    const float from_double = (float)(1.0 / sqrt((double)DD));
    CHECK(from_double != 1.0f / sqrtf((float)DD)); /* the case tells the two roundings apart */
    ax_paged_attention_options o = ax_paged_attention_options_default();
    float *outs[3] = {o_default, o_given, o_single}, *lses[3] = {l_default, l_given, l_single};
    const float scales[3] = {0.0f, from_double, 1.0f / sqrtf((float)DD)};
    for (int i = 0; i < 3; i++) {
        o.scale = scales[i];
        ax_tensor_contiguous(&t_out, outs[i], AX_F32, 3, qs);
        ax_tensor_contiguous(&t_lse, lses[i], AX_F32, 2, ls);
        CHECK_OK(ax_paged_attention(ctx, &t_q, &t_kv, &t_kv, &t_bt, &t_cl, &t_cu, NULL, NULL, &o, &t_out, &t_lse));
    }
    CHECK(memcmp(o_default, o_given, sizeof o_default) == 0 && l_default[0] == l_given[0]);
    /* and the data tell the two scales apart, so the comparison above means something */
    CHECK(memcmp(o_default, o_single, sizeof o_default) != 0 || l_default[0] != l_single[0]);
}

/* The op refuses the index values with `needle`, writing nothing, and ax_paged_attention_check (for
 * host copies that go to a CUDA context) refuses the same values with the same message. */
#define EXPECT_INDEX_ERROR(needle)                                                                                     \
    do {                                                                                                               \
        fill_outputs();                                                                                                \
        CHECK_STATUS(PAGED(&tq, &tkc, &tvc, &tbt, &tcl, &tcu, NULL, NULL, NULL, &tout, &tlse),                     \
                     AX_ERR_INVALID_ARGUMENT);                                                                         \
        CHECK_CONTAINS(ax_last_error(), needle);                                                                       \
        CHECK(outputs_untouched());                                                                                    \
        CHECK_STATUS(ax_paged_attention_check(bt, cl, cu, NS, MB, T, NB, BS, -1), AX_ERR_INVALID_ARGUMENT);            \
        CHECK_CONTAINS(ax_last_error(), needle);                                                                       \
        reset_indices();                                                                                               \
    } while (0)

static void test_paged_index_errors(void) {
    CHECK_OK(ax_paged_attention_check(bt, cl, cu, NS, MB, T, NB, BS, -1)); /* the valid indices pass */
    EXPECT_ERROR("block_size: 0", ax_paged_attention_check(bt, cl, cu, NS, MB, T, NB, 0, -1));
    EXPECT_ERROR("context_lens: NULL", ax_paged_attention_check(bt, NULL, cu, NS, MB, T, NB, BS, -1));
    cu[0] = 1;
    EXPECT_INDEX_ERROR("cu_seqlens_q: entry 0 is 1");
    cu[1] = 3, cu[2] = 2;
    EXPECT_INDEX_ERROR("cu_seqlens_q: entry 2 (2) is less than entry 1 (3)");
    cu[2] = 4;
    EXPECT_INDEX_ERROR("cu_seqlens_q: entry 2 is 4, past T = 3");
    cl[1] = 33;
    EXPECT_INDEX_ERROR("context_lens: sequence 1: 33 is outside [0, max_blocks * block_size = 32]");
    cl[1] = 1;
    EXPECT_INDEX_ERROR("context_lens: sequence 1: 1 keys, fewer than its 2 queries");
    bt[3] = 4;
    EXPECT_INDEX_ERROR("block_table: sequence 1, position 1: block id 4 outside [0, num_blocks = 4)");
    bt[0] = -1;
    EXPECT_INDEX_ERROR("block_table: sequence 0, position 0: block id -1");
}

#define APPEND(k_, v_, s_, kc_, vc_, ks_, vs_) ax_kv_cache_append(ctx, k_, v_, s_, kc_, vc_, ks_, vs_)

static void test_append_errors(void) {
    ax_tensor bad;
    EXPECT_ERROR("ctx", ax_kv_cache_append(NULL, &trk, &trv, &tslots, &tkc, &tvc, NULL, NULL));
    EXPECT_ERROR("k", APPEND(NULL, &trv, &tslots, &tkc, &tvc, NULL, NULL));
    bad = trv, bad.shape[2] = 3;
    EXPECT_ERROR("v: dim 2 (D)", APPEND(&trk, &bad, &tslots, &tkc, &tvc, NULL, NULL));
    bad = tslots, bad.dtype = AX_F32;
    EXPECT_ERROR("slot_mapping", APPEND(&trk, &trv, &bad, &tkc, &tvc, NULL, NULL));
    bad = tslots, bad.shape[0] = 2;
    EXPECT_ERROR("slot_mapping: dim 0 (T)", APPEND(&trk, &trv, &bad, &tkc, &tvc, NULL, NULL));
    bad = tkc, bad.shape[2] = 2;
    EXPECT_ERROR("k_cache: dim 2 (Hkv)", APPEND(&trk, &trv, &tslots, &bad, &tvc, NULL, NULL));
    EXPECT_ERROR("v_cache", APPEND(&trk, &trv, &tslots, &tkc, &tvc8, NULL, NULL));
    EXPECT_ERROR("k_scales: NULL", APPEND(&trk, &trv, &tslots, &tkc8, &tvc8, NULL, &tvs));
    EXPECT_ERROR("v_scales: given", APPEND(&trk, &trv, &tslots, &tkc, &tvc, NULL, &tvs));
    bad = tvs, bad.shape[0] = 5;
    EXPECT_ERROR("v_scales: dim 0 (num_blocks)", APPEND(&trk, &trv, &tslots, &tkc8, &tvc8, &tks, &bad));
    EXPECT_ERROR("k_cache: overlaps the output v_cache", APPEND(&trk, &trv, &tslots, &tkc, &tkc, NULL, NULL));
    slots[1] = NB * BS;
    EXPECT_ERROR("slot_mapping: row 1: slot 64 outside [0, num_blocks * block_size = 64)",
                 APPEND(&trk, &trv, &tslots, &tkc, &tvc, NULL, NULL));
    slots[2] = 7;
    EXPECT_ERROR("slot_mapping: rows 0 and 2 both write slot 7", APPEND(&trk, &trv, &tslots, &tkc8, &tvc8, &tks, &tvs));
    /* Measure mode validates alike (axial.h), though it runs no kernel. */
    CHECK_OK(ax_context_set_measure(ctx, 1));
    slots[1] = NB * BS;
    EXPECT_ERROR("slot_mapping: row 1: slot 64 outside", APPEND(&trk, &trv, &tslots, &tkc, &tvc, NULL, NULL));
    slots[2] = 7;
    EXPECT_ERROR("slot_mapping: rows 0 and 2 both write slot 7", APPEND(&trk, &trv, &tslots, &tkc, &tvc, NULL, NULL));
    CHECK_OK(APPEND(&trk, &trv, &tslots, &tkc, &tvc, NULL, NULL));
    CHECK_OK(ax_context_set_measure(ctx, 0));
    /* With nothing to write (D = 0) the kernel never runs: repeated slots had passed unnoticed. */
    ax_tensor k0 = trk, v0 = trv, kc0 = tkc, vc0 = tvc;
    k0.shape[2] = v0.shape[2] = kc0.shape[3] = vc0.shape[3] = 0;
    slots[2] = 7;
    EXPECT_ERROR("slot_mapping: rows 0 and 2 both write slot 7", APPEND(&k0, &v0, &tslots, &kc0, &vc0, NULL, NULL));
    CHECK_OK(APPEND(&k0, &v0, &tslots, &kc0, &vc0, NULL, NULL));
}

/* Split-K scratch past int64 is a workspace failure (AX_ERR_OUT_OF_MEMORY, as the header lists it),
 * not a bad argument. The tensors only describe shapes: the call fails before any kernel reads them
 * (fixed, distinct, never dereferenced addresses). */
static void test_paged_scratch_overflow(void) {
    const int64_t T_big = 20000000, H_big = 1024, D_big = 1 << 20;
    int32_t bt1[1] = {0}, cl1[1] = {16}, cu1[2] = {0, 1};
    const int64_t sq[3] = {T_big, H_big, D_big}, sc[4] = {1, 16, 1, D_big}, sbt[2] = {1, 1}, one = 1, two = 2;
    ax_tensor bq, bout, bkc, bvc, tbt1, tcl1, tcu1;
    ax_tensor_contiguous(&bq, (void *)(uintptr_t)0x100000000000ull, AX_F32, 3, sq);
    ax_tensor_contiguous(&bout, (void *)(uintptr_t)0x4000000000000000ull, AX_F32, 3, sq);
    ax_tensor_contiguous(&bkc, (void *)(uintptr_t)0x7000000000000000ull, AX_F32, 4, sc);
    ax_tensor_contiguous(&bvc, (void *)(uintptr_t)0x7100000000000000ull, AX_F32, 4, sc);
    ax_tensor_contiguous(&tbt1, bt1, AX_I32, 2, sbt);
    ax_tensor_contiguous(&tcl1, cl1, AX_I32, 1, &one);
    ax_tensor_contiguous(&tcu1, cu1, AX_I32, 1, &two);
    ax_paged_attention_options o = ax_paged_attention_options_default();
    o.num_splits = 64;
    ax_clear_error();
    CHECK_STATUS(ax_paged_attention(ctx, &bq, &bkc, &bvc, &tbt1, &tcl1, &tcu1, NULL, NULL, &o, &bout, NULL),
                 AX_ERR_OUT_OF_MEMORY);
    CHECK_CONTAINS(ax_last_error(), "paged_attention: the CPU scratch size overflows int64");
}

int main(void) {
    if (ax_context_create(&ctx, NULL) != AX_OK) {
        fprintf(stderr, "cannot create a CPU context: %s\n", ax_last_error());
        return 1;
    }
    setup();
    RUN(test_valid_calls_run);
    RUN(test_paged_tensor_errors);
    RUN(test_paged_zero_head_dim);
    RUN(test_paged_option_errors);
    RUN(test_paged_index_errors);
    RUN(test_paged_huge_windows);
    RUN(test_paged_default_scale);
    RUN(test_append_errors);
    RUN(test_paged_scratch_overflow);
    ax_context_destroy(ctx);
    return th_finish();
}
