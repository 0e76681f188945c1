/*
 * test_attention_nonfinite.c — a NaN logit reaches the output on every CPU path, as it does on CUDA
 * and in PyTorch, instead of passing for a masked key: a NaN in q, k or the bias, or a +inf bias
 * (inf - inf in the softmax), makes exactly the rows that see it NaN (out and lse), with and without
 * soft-cap, in f32 and bf16, for ax_attention_forward / _backward, ax_paged_attention (one split
 * and several) and Evoformer attention (forward and backward, the pair-bias gradient included). A
 * NaN at a key the causal mask hides changes nothing. Rows that do not see the value keep the bits of
 * a run without it. (The CPU had taken NaN logits for masked ones: a row with a NaN
 * in q came out 0 with lse -inf, like a fully masked row.)
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "axial/attention.h"
#include "axial/evoformer.h"
#include "harness.h"

enum { S = 8, H = 2, HKV = 1, D = 32, NQ = S * H * D, NK = S * HKV * D, NL = H * S, NB = H * S * S };

static ax_context *ctx;

static void fill(float *x, int64_t n, uint64_t seed) {
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        x[i] = (float)((double)(seed >> 40) / (double)(1ULL << 24) * 2.0 - 1.0);
    }
}

/* Storage of n floats in dtype dt (bf16: the high halves, which keep NaN and inf). */
static void store(const float *x, int64_t n, ax_dtype dt, void *dst) {
    if (dt == AX_F32) {
        memcpy(dst, x, (size_t)n * sizeof(float));
        return;
    }
    for (int64_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], sizeof u);
        ((uint16_t *)dst)[i] = (uint16_t)(u >> 16);
    }
}

static float load(const void *src, int64_t i, ax_dtype dt) {
    if (dt == AX_F32) return ((const float *)src)[i];
    const uint32_t u = (uint32_t)((const uint16_t *)src)[i] << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Row (i, h) of a (S, H, D) tensor: 1 when every element is NaN, 0 when none is; -1 when mixed. */
static int row_nan(const void *x, ax_dtype dt, int64_t i, int64_t h) {
    int n = 0;
    for (int64_t d = 0; d < D; d++) n += isnan(load(x, (i * H + h) * D + d, dt)) ? 1 : 0;
    return n == D ? 1 : n == 0 ? 0 : -1;
}

static int same_row(const void *a, const void *b, ax_dtype dt, int64_t i, int64_t h) {
    const size_t es = dt == AX_F32 ? 4 : 2;
    return memcmp((const char *)a + (size_t)((i * H + h) * D) * es, (const char *)b + (size_t)((i * H + h) * D) * es,
                  D * es) == 0;
}

typedef struct poison {
    const char *what;
    int causal;
    char where;         /* 'q', 'k' or 'b' (bias) */
    int64_t i, h, j, d; /* q: (i, h, d); k: (j, d); bias: (h, i, j) */
    float value;
    int nan_rows[S][H]; /* the rows that see it */
} poison;

/* The forward (and backward) with and without the poison: rows that see it are NaN, the rest keep
 * their bits. */
static void check_padded(const poison *c, ax_dtype dt, float softcap) {
    static float q[NQ], k[NK], v[NK], dout[NQ], bias[NB];
    static uint16_t buf[2][6][NQ * 2]; /* [clean, poisoned][q, k, v, dout, out, dq] in dt */
    static float lse[2][NL], dbias[2][NB], dk[2][NK * 2], dv[2][NK * 2];
    const int64_t sq[4] = {1, S, H, D}, sk[4] = {1, S, HKV, D}, sl[3] = {1, H, S}, sb[4] = {1, H, S, S};
    ax_attention_options o = ax_attention_options_default();
    o.causal = c->causal;
    o.softcap = softcap;
    for (int run = 0; run < 2; run++) {
        fill(q, NQ, 1), fill(k, NK, 2), fill(v, NK, 3), fill(dout, NQ, 4), fill(bias, NB, 5);
        if (run == 1) {
            if (c->where == 'q') q[(c->i * H + c->h) * D + c->d] = c->value;
            if (c->where == 'k') k[c->j * D + c->d] = c->value;
            if (c->where == 'b') bias[(c->h * S + c->i) * S + c->j] = c->value;
        }
        store(q, NQ, dt, buf[run][0]), store(k, NK, dt, buf[run][1]), store(v, NK, dt, buf[run][2]);
        store(dout, NQ, dt, buf[run][3]);
        ax_tensor tq, tk, tv, tdout, tout, tdq, tdk, tdv, tlse, tb, tdb;
        ax_tensor_contiguous(&tq, buf[run][0], dt, 4, sq);
        ax_tensor_contiguous(&tk, buf[run][1], dt, 4, sk);
        ax_tensor_contiguous(&tv, buf[run][2], dt, 4, sk);
        ax_tensor_contiguous(&tdout, buf[run][3], dt, 4, sq);
        ax_tensor_contiguous(&tout, buf[run][4], dt, 4, sq);
        ax_tensor_contiguous(&tdq, buf[run][5], dt, 4, sq);
        ax_tensor_contiguous(&tdk, dk[run], dt, 4, sk);
        ax_tensor_contiguous(&tdv, dv[run], dt, 4, sk);
        ax_tensor_contiguous(&tlse, lse[run], AX_F32, 3, sl);
        ax_tensor_contiguous(&tb, bias, AX_F32, 4, sb);
        ax_tensor_contiguous(&tdb, dbias[run], AX_F32, 4, sb);
        CHECK_OK(ax_attention_forward(ctx, &tq, &tk, &tv, &tb, &o, &tout, &tlse));
        CHECK_OK(ax_attention_backward(ctx, &tq, &tk, &tv, &tb, &tout, &tlse, &tdout, &o, &tdq, &tdk, &tdv, &tdb));
    }
    int bad = 0;
    for (int64_t i = 0; i < S; i++)
        for (int64_t h = 0; h < H; h++) {
            const int want = c->nan_rows[i][h];
            if (row_nan(buf[1][4], dt, i, h) != want || (want ? !isnan(lse[1][h * S + i]) : 0)) bad = 1;
            if (!want && (!same_row(buf[0][4], buf[1][4], dt, i, h) || lse[0][h * S + i] != lse[1][h * S + i])) bad = 1;
            /* dq of a row depends on that row's ds only, but dq = ds . k multiplies a masked key's
             * exact 0 by its k, so a NaN k element reaches every row of its tile (as in any GEMM) */
            if (c->where != 'k' && row_nan(buf[1][5], dt, i, h) != want) bad = 1;
            if (c->where != 'k' && !want && !same_row(buf[0][5], buf[1][5], dt, i, h)) bad = 1;
            for (int64_t j = 0; j < S; j++) {
                const float g0 = dbias[0][(h * S + i) * S + j], g1 = dbias[1][(h * S + i) * S + j];
                if (want && !isnan(g1) && g1 != 0.0f) bad = 1; /* masked keys' gradient may stay 0 */
                if (!want && memcmp(&g0, &g1, sizeof g0) != 0) bad = 1;
            }
        }
    if (bad)
        printf("  %s: %s %s softcap %g\n", ax_cpu_path_name(ax_cpu_path_active()), c->what, ax_dtype_name(dt),
               (double)softcap);
    CHECK(!bad);
}

/* Paged attention over one sequence of S tokens (prefill: the queries are all of them) in one block of
 * 16 slots, or one decode query over a 40-token context in 3 blocks; splits 1 and 4. */
static void check_paged(ax_dtype dt, int decode, int32_t splits, char where) {
    enum { BS = 16, NBLK = 3, CTX_DECODE = 40 };
    const int64_t T = decode ? 1 : S, ctx_len = decode ? CTX_DECODE : S;
    static float q[S * H * D], kc[NBLK * BS * HKV * D], vc[NBLK * BS * HKV * D];
    static uint16_t bq[2][S * H * D * 2], bk[2][NBLK * BS * D * 2], bv[2][NBLK * BS * D * 2], bo[2][S * H * D * 2];
    static float lse[2][H * S];
    const int64_t sq[3] = {T, H, D}, sc[4] = {NBLK, BS, HKV, D}, sbt[2] = {1, NBLK}, one = 1, two = 2, sl[2] = {H, T};
    int32_t bt[NBLK] = {2, 0, 1}, cl[1] = {(int32_t)ctx_len}, cu[2] = {0, (int32_t)T};
    const int64_t poison_pos = decode ? 20 : 5; /* a key position; for 'q' the token (row) */
    ax_paged_attention_options o = ax_paged_attention_options_default();
    o.num_splits = splits;
    for (int run = 0; run < 2; run++) {
        fill(q, T * H * D, 6), fill(kc, NBLK * BS * D, 7), fill(vc, NBLK * BS * D, 8);
        if (run == 1 && where == 'q') q[((decode ? 0 : 2) * H + 1) * D + 4] = NAN;
        if (run == 1 && where == 'k') kc[(bt[poison_pos / BS] * BS + poison_pos % BS) * D + 9] = NAN;
        store(q, T * H * D, dt, bq[run]), store(kc, NBLK * BS * D, dt, bk[run]), store(vc, NBLK * BS * D, dt, bv[run]);
        ax_tensor tq, tk, tv, tbt, tcl, tcu, to, tl;
        ax_tensor_contiguous(&tq, bq[run], dt, 3, sq);
        ax_tensor_contiguous(&tk, bk[run], dt, 4, sc);
        ax_tensor_contiguous(&tv, bv[run], dt, 4, sc);
        ax_tensor_contiguous(&tbt, bt, AX_I32, 2, sbt);
        ax_tensor_contiguous(&tcl, cl, AX_I32, 1, &one);
        ax_tensor_contiguous(&tcu, cu, AX_I32, 1, &two);
        ax_tensor_contiguous(&to, bo[run], dt, 3, sq);
        ax_tensor_contiguous(&tl, lse[run], AX_F32, 2, sl);
        CHECK_OK(ax_paged_attention(ctx, &tq, &tk, &tv, &tbt, &tcl, &tcu, NULL, NULL, &o, &to, &tl));
    }
    int bad = 0;
    for (int64_t t = 0; t < T; t++)
        for (int64_t h = 0; h < H; h++) {
            /* token t is position ctx_len - T + t and sees the keys up to it */
            const int64_t pos = ctx_len - T + t;
            const int want = where == 'q' ? (t == (decode ? 0 : 2) && h == 1) : pos >= poison_pos;
            if (row_nan(bo[1], dt, t, h) != want || (want && !isnan(lse[1][h * T + t]))) bad = 1;
            if (!want && (!same_row(bo[0], bo[1], dt, t, h) || lse[0][h * T + t] != lse[1][h * T + t])) bad = 1;
        }
    if (bad)
        printf("  %s: paged %s %s, NaN in %c, %d splits\n", ax_cpu_path_name(ax_cpu_path_active()),
               decode ? "decode" : "prefill", ax_dtype_name(dt), where, (int)splits);
    CHECK(!bad);
}

/* Evoformer attention, (1, N, s, H, D): a NaN in q (every logit of its row NaN) or in the pair bias
 * at (h, i, j), which every n shares; the gradients of those rows NaN, the rest unchanged. s = 64
 * takes the whole-tile paths (AMX tiles for bf16 where the CPU has them). */
static void check_evoformer(ax_dtype dt, char where, int64_t s) {
    enum { N = 2, SMAX = 64, EQ = N * SMAX * H * D, EL = N * H * SMAX, EP = H * SMAX * SMAX };
    static float q[EQ], k[EQ], v[EQ], dout[EQ], pair[EP];
    static uint16_t buf[2][8][EQ * 2]; /* [run][q, k, v, dout, out, dq, dk, dv] */
    static uint16_t pb[2][EP * 2], dpb[2][EP * 2];
    static float lse[2][EL];
    const int64_t sa[5] = {1, N, s, H, D}, sl[4] = {1, N, H, s}, sp[5] = {1, 1, H, s, s};
    for (int run = 0; run < 2; run++) {
        fill(q, EQ, 11), fill(k, EQ, 12), fill(v, EQ, 13), fill(dout, EQ, 14), fill(pair, EP, 15);
        if (run == 1 && where == 'q') q[((1 * s + 2) * H + 1) * D] = NAN;
        if (run == 1 && where == 'b') pair[(0 * s + 3) * s + 6] = NAN;
        ax_tensor t[8], tl, tp, tdp;
        const float *src[4] = {q, k, v, dout};
        for (int a = 0; a < 8; a++) {
            if (a < 4) store(src[a], N * s * H * D, dt, buf[run][a]);
            ax_tensor_contiguous(&t[a], buf[run][a], dt, 5, sa);
        }
        store(pair, H * s * s, dt, pb[run]);
        ax_tensor_contiguous(&tp, pb[run], dt, 5, sp);
        ax_tensor_contiguous(&tdp, dpb[run], dt, 5, sp);
        ax_tensor_contiguous(&tl, lse[run], AX_F32, 4, sl);
        CHECK_OK(ax_evoformer_attention_forward(ctx, &t[0], &t[1], &t[2], NULL, &tp, &t[4], &tl));
        CHECK_OK(ax_evoformer_attention_backward(ctx, &t[0], &t[1], &t[2], NULL, &tp, &t[4], &tl, &t[3], &t[5], &t[6],
                                                 &t[7], NULL, &tdp));
    }
    int bad = 0;
    for (int64_t n = 0; n < N; n++)
        for (int64_t i = 0; i < s; i++)
            for (int64_t h = 0; h < H; h++) {
                const int want = where == 'q' ? (n == 1 && i == 2 && h == 1) : (i == 3 && h == 0);
                const int64_t row = n * s + i; /* (n, i) as the row index of an (N * s, H, D) view */
                const float l0 = lse[0][(n * H + h) * s + i], l1 = lse[1][(n * H + h) * s + i];
                if (row_nan(buf[1][4], dt, row, h) != want || (want && !isnan(l1))) bad = 1;
                if (!want && (!same_row(buf[0][4], buf[1][4], dt, row, h) || l0 != l1)) bad = 1;
                if (row_nan(buf[1][5], dt, row, h) != want) bad = 1;
                if (!want && !same_row(buf[0][5], buf[1][5], dt, row, h)) bad = 1;
            }
    for (int64_t h = 0; h < H; h++)
        for (int64_t i = 0; i < s; i++) {
            const int want = where == 'q' ? (i == 2 && h == 1) : (i == 3 && h == 0); /* summed over n */
            for (int64_t j = 0; j < s; j++) {
                const float g0 = load(dpb[0], (h * s + i) * s + j, dt), g1 = load(dpb[1], (h * s + i) * s + j, dt);
                if (want ? !isnan(g1) : memcmp(&g0, &g1, sizeof g0) != 0) bad = 1;
            }
        }
    if (bad)
        printf("  %s: evoformer %s S %lld, NaN in %s\n", ax_cpu_path_name(ax_cpu_path_active()), ax_dtype_name(dt),
               (long long)s, where == 'q' ? "q" : "the pair bias");
    CHECK(!bad);
}

/* Evoformer: a non-finite v at a key the mask bias hides (key 5 of n = 0) and throughout a row
 * group the mask hides wholly (n = 1): given the out and lse of the run with v finite, the backward
 * gives the same gradients bit for bit (dS had been 0 * NaN there); the forward with that v gives
 * the wholly masked rows out = 0 exactly (it had given 0 * NaN). */
static void check_evoformer_masked_value(ax_dtype dt, int64_t s, float value) {
    enum { N = 2, SMAX = 64, EQ = N * SMAX * H * D, EL = N * H * SMAX, EP = H * SMAX * SMAX, KEY = 5 };
    static float q[EQ], k[EQ], v[EQ], dout[EQ], pair[EP], mask[N * SMAX];
    static uint16_t buf[2][8][EQ * 2]; /* [run][q, k, v, dout, out, dq, dk, dv] */
    static uint16_t pb[EP * 2], dpb[2][EP * 2];
    static float lse[EL];
    const int64_t sa[5] = {1, N, s, H, D}, sl[4] = {1, N, H, s}, sp[5] = {1, 1, H, s, s}, sm[5] = {1, N, 1, 1, s};
    fill(q, EQ, 41), fill(k, EQ, 42), fill(v, EQ, 43), fill(dout, EQ, 44), fill(pair, EP, 45);
    for (int64_t j = 0; j < s; j++) mask[j] = j == KEY ? -INFINITY : 0.0f, mask[s + j] = -INFINITY;
    ax_tensor tl, tp, tm;
    store(pair, H * s * s, dt, pb);
    ax_tensor_contiguous(&tp, pb, dt, 5, sp);
    ax_tensor_contiguous(&tm, mask, AX_F32, 5, sm);
    ax_tensor_contiguous(&tl, lse, AX_F32, 4, sl);
    for (int run = 0; run < 2; run++) {
        if (run == 1)
            for (int64_t n = 0; n < N; n++)
                for (int64_t h = 0; h < H; h++) v[((n * s + KEY) * H + h) * D + 3] = value;
        ax_tensor t[8], tdp, clean_out;
        const float *src[4] = {q, k, v, dout};
        for (int a = 0; a < 8; a++) {
            if (a < 4) store(src[a], N * s * H * D, dt, buf[run][a]);
            ax_tensor_contiguous(&t[a], buf[run][a], dt, 5, sa);
        }
        ax_tensor_contiguous(&tdp, dpb[run], dt, 5, sp);
        ax_tensor_contiguous(&clean_out, buf[0][4], dt, 5, sa);
        if (run == 0) CHECK_OK(ax_evoformer_attention_forward(ctx, &t[0], &t[1], &t[2], &tm, &tp, &t[4], &tl));
        CHECK_OK(ax_evoformer_attention_backward(ctx, &t[0], &t[1], &t[2], &tm, &tp, &clean_out, &tl, &t[3], &t[5],
                                                 &t[6], &t[7], NULL, &tdp));
        if (run == 1) {
            static float poisoned_lse[EL];
            ax_tensor tpl;
            ax_tensor_contiguous(&tpl, poisoned_lse, AX_F32, 4, sl);
            CHECK_OK(ax_evoformer_attention_forward(ctx, &t[0], &t[1], &t[2], &tm, &tp, &t[4], &tpl));
            int dead_rows_zero = 1;
            for (int64_t i = s * H * D; i < N * s * H * D; i++) dead_rows_zero &= load(buf[1][4], i, dt) == 0.0f;
            if (!dead_rows_zero)
                printf("  %s: evoformer %s S %lld, %g in v: a wholly masked row's out is not 0\n",
                       ax_cpu_path_name(ax_cpu_path_active()), ax_dtype_name(dt), (long long)s, (double)value);
            CHECK(dead_rows_zero);
        }
    }
    const size_t es = dt == AX_F32 ? 4 : 2, n = (size_t)(N * s * H * D) * es;
    const int same = memcmp(buf[0][5], buf[1][5], n) == 0 && memcmp(buf[0][6], buf[1][6], n) == 0 &&
                     memcmp(buf[0][7], buf[1][7], n) == 0 && memcmp(dpb[0], dpb[1], (size_t)(H * s * s) * es) == 0;
    if (!same)
        printf("  %s: evoformer %s S %lld, %g in v at masked keys\n", ax_cpu_path_name(ax_cpu_path_active()),
               ax_dtype_name(dt), (long long)s, (double)value);
    CHECK(same);
}

/* A key whose k is -inf everywhere, with q > 0: every real row sees logit -inf there (a masked key),
 * and out, lse, dk and dv stay finite, dk and dv of that key exactly 0. The tile's padding
 * query lanes (S = 3 and 8 leave most of a tile empty) compute 0 . -inf = NaN; that must not reach
 * dk or dv through the products (it had, in bf16). */
static void check_infinite_key(ax_dtype dt, int64_t s_len) {
    static float q[NQ], k[NK], v[NK], dout[NQ];
    static uint16_t b[8][NQ * 2]; /* q, k, v, dout, out, dq, dk, dv */
    static float lse[NL];
    const int64_t sq[4] = {1, s_len, H, D}, sk[4] = {1, s_len, HKV, D}, sl[3] = {1, H, s_len};
    fill(q, NQ, 21), fill(k, NK, 22), fill(v, NK, 23), fill(dout, NQ, 24);
    for (int64_t i = 0; i < NQ; i++) q[i] = fabsf(q[i]) + 0.01f;
    for (int64_t d = 0; d < D; d++) k[1 * D + d] = -INFINITY;
    const float *src[4] = {q, k, v, dout};
    const int64_t n[4] = {NQ, NK, NK, NQ};
    for (int a = 0; a < 4; a++) store(src[a], n[a], dt, b[a]);
    ax_tensor t[8], tl;
    for (int a = 0; a < 8; a++) ax_tensor_contiguous(&t[a], b[a], dt, 4, a == 1 || a == 2 || a >= 6 ? sk : sq);
    ax_tensor_contiguous(&tl, lse, AX_F32, 3, sl);
    ax_attention_options o = ax_attention_options_default();
    CHECK_OK(ax_attention_forward(ctx, &t[0], &t[1], &t[2], NULL, &o, &t[4], &tl));
    CHECK_OK(ax_attention_backward(ctx, &t[0], &t[1], &t[2], NULL, &t[4], &tl, &t[3], &o, &t[5], &t[6], &t[7], NULL));
    int bad = 0;
    /* (dq = ds . k multiplies the masked key's exact 0 by its -inf: NaN, as in any GEMM; not checked) */
    for (int64_t i = 0; i < s_len * H * D; i++)
        if (!isfinite(load(b[4], i, dt))) bad = 1;
    for (int64_t i = 0; i < s_len * H; i++)
        if (!isfinite(lse[i])) bad = 1;
    for (int64_t i = 0; i < s_len * HKV * D; i++) {
        const float gk = load(b[6], i, dt), gv = load(b[7], i, dt);
        if (i / D == 1 ? (gk != 0.0f || gv != 0.0f) : (!isfinite(gk) || !isfinite(gv))) bad = 1;
    }
    if (bad)
        printf("  %s: -inf key, %s, S = %lld\n", ax_cpu_path_name(ax_cpu_path_active()), ax_dtype_name(dt),
               (long long)s_len);
    CHECK(!bad);
}

/* A non-finite v at a key the bias masks for every row (key 6), and a row the bias masks wholly
 * (row 2 of head 0): the backward, given the out and lse of a run with that v finite (which a masked
 * key cannot change), gives the same gradients bit for bit. dS is exactly 0 at masked pairs and in
 * dead rows, not 0 * (dout . v - delta), which had been NaN there and reached dq, dk and dbias. The
 * forward with that v gives the dead row out = 0 exactly (it had given 0 * NaN). */
static void check_masked_value(ax_dtype dt, float softcap, float value) {
    enum { KEY = 6, ROW = 2 };
    static float q[NQ], k[NK], v[NK], dout[NQ], bias[NB];
    static uint16_t b[2][5][NQ * 2]; /* [clean, poisoned][q, k, v, dout, out] */
    static uint16_t g[2][3][NQ * 2]; /* dq, dk, dv */
    static float lse[NL], dbias[2][NB];
    const int64_t sq[4] = {1, S, H, D}, sk[4] = {1, S, HKV, D}, sl[3] = {1, H, S}, sb[4] = {1, H, S, S};
    fill(q, NQ, 31), fill(k, NK, 32), fill(v, NK, 33), fill(dout, NQ, 34), fill(bias, NB, 35);
    for (int64_t h = 0; h < H; h++)
        for (int64_t i = 0; i < S; i++) bias[(h * S + i) * S + KEY] = -INFINITY;
    for (int64_t j = 0; j < S; j++) bias[ROW * S + j] = -INFINITY;
    ax_attention_options o = ax_attention_options_default();
    o.softcap = softcap;
    ax_tensor tb, tl;
    ax_tensor_contiguous(&tb, bias, AX_F32, 4, sb);
    ax_tensor_contiguous(&tl, lse, AX_F32, 3, sl);
    for (int run = 0; run < 2; run++) {
        if (run == 1)
            for (int64_t d = 0; d < D; d++) v[KEY * D + d] = d == 3 ? value : 0.5f;
        store(q, NQ, dt, b[run][0]), store(k, NK, dt, b[run][1]), store(v, NK, dt, b[run][2]);
        store(dout, NQ, dt, b[run][3]);
        ax_tensor t[5], tg[3], tdb;
        for (int a = 0; a < 5; a++) ax_tensor_contiguous(&t[a], b[run][a], dt, 4, a == 1 || a == 2 ? sk : sq);
        for (int a = 0; a < 3; a++) ax_tensor_contiguous(&tg[a], g[run][a], dt, 4, a == 0 ? sq : sk);
        ax_tensor_contiguous(&tdb, dbias[run], AX_F32, 4, sb);
        if (run == 0) CHECK_OK(ax_attention_forward(ctx, &t[0], &t[1], &t[2], &tb, &o, &t[4], &tl));
        const ax_tensor *out = run == 0 ? &t[4] : NULL;
        ax_tensor clean_out;
        if (run == 1) ax_tensor_contiguous(&clean_out, b[0][4], dt, 4, sq), out = &clean_out;
        CHECK_OK(ax_attention_backward(ctx, &t[0], &t[1], &t[2], &tb, out, &tl, &t[3], &o, &tg[0], &tg[1], &tg[2],
                                       &tdb));
        if (run == 1) {
            static float poisoned_lse[NL];
            ax_tensor tpl;
            ax_tensor_contiguous(&tpl, poisoned_lse, AX_F32, 3, sl);
            CHECK_OK(ax_attention_forward(ctx, &t[0], &t[1], &t[2], &tb, &o, &t[4], &tpl));
            int dead_row_zero = 1;
            for (int64_t d = 0; d < D; d++) dead_row_zero &= load(b[1][4], (ROW * H + 0) * D + d, dt) == 0.0f;
            if (!dead_row_zero)
                printf("  %s: %g in v at a masked key, %s softcap %g: the dead row's out is not 0\n",
                       ax_cpu_path_name(ax_cpu_path_active()), (double)value, ax_dtype_name(dt), (double)softcap);
            CHECK(dead_row_zero);
        }
    }
    const size_t es = dt == AX_F32 ? 4 : 2;
    const int same = memcmp(g[0][0], g[1][0], NQ * es) == 0 && memcmp(g[0][1], g[1][1], NK * es) == 0 &&
                     memcmp(g[0][2], g[1][2], NK * es) == 0 && memcmp(dbias[0], dbias[1], sizeof dbias[0]) == 0;
    if (!same)
        printf("  %s: %g in v at a masked key, %s softcap %g\n", ax_cpu_path_name(ax_cpu_path_active()),
               (double)value, ax_dtype_name(dt), (double)softcap);
    CHECK(same);
}

static void test_every_path(void) {
    static poison cases[5];
    memset(cases, 0, sizeof cases);
    cases[0] = (poison){.what = "NaN in q", .where = 'q', .i = 2, .h = 1, .d = 0, .value = NAN};
    cases[0].nan_rows[2][1] = 1;
    cases[1] = (poison){.what = "NaN in k, causal", .causal = 1, .where = 'k', .j = 5, .d = 3, .value = NAN};
    for (int i = 5; i < S; i++) cases[1].nan_rows[i][0] = cases[1].nan_rows[i][1] = 1;
    cases[2] = (poison){.what = "NaN in the bias", .where = 'b', .h = 0, .i = 3, .j = 6, .value = NAN};
    cases[2].nan_rows[3][0] = 1;
    cases[3] = (poison){.what = "+inf in the bias", .where = 'b', .h = 1, .i = 4, .j = 1, .value = INFINITY};
    cases[3].nan_rows[4][1] = 1;
    cases[4] = (poison){.what = "NaN in the bias at a masked key", .causal = 1, .where = 'b', .h = 0, .i = 1, .j = 6,
                        .value = NAN};
    const ax_cpu_path paths[3] = {AX_CPU_PATH_PORTABLE, AX_CPU_PATH_AVX2, AX_CPU_PATH_AVX512};
    const ax_dtype dts[2] = {AX_F32, AX_BF16};
    for (int pi = 0; pi < 3; pi++) {
        if (ax_cpu_path_set(paths[pi]) != AX_OK) {
            printf("  skip %s: not on this CPU\n", ax_cpu_path_name(paths[pi]));
            continue;
        }
        for (int di = 0; di < 2; di++) {
            for (int ci = 0; ci < 5; ci++) {
                check_padded(&cases[ci], dts[di], 0.0f);
                check_padded(&cases[ci], dts[di], 5.0f);
            }
            for (int sc = 0; sc < 2; sc++) {
                check_masked_value(dts[di], sc * 5.0f, INFINITY);
                check_masked_value(dts[di], sc * 5.0f, NAN);
            }
            check_infinite_key(dts[di], 3);
            check_infinite_key(dts[di], S);
            for (int64_t es = 8; es <= 64; es *= 8) {
                check_evoformer(dts[di], 'q', es);
                check_evoformer(dts[di], 'b', es);
                check_evoformer_masked_value(dts[di], es, INFINITY);
                check_evoformer_masked_value(dts[di], es, NAN);
            }
            for (int decode = 0; decode < 2; decode++)
                for (int32_t splits = 1; splits <= 4; splits += 3) {
                    check_paged(dts[di], decode, splits, 'q');
                    check_paged(dts[di], decode, splits, 'k');
                }
        }
    }
    CHECK_OK(ax_cpu_path_set(AX_CPU_PATH_AUTO));
}

int main(void) {
    CHECK_OK(ax_context_create(&ctx, NULL));
    RUN(test_every_path);
    ax_context_destroy(ctx);
    return th_finish();
}
