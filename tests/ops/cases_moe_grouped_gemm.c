/*
 * cases_moe_grouped_gemm.c — ax_moe_grouped_gemm (moe.h): for every expert e, rows
 * [offsets[e], offsets[e + 1]) of y = those rows of x times w[e]^T (AX_TRANS, w (E, N, K)) or w[e]
 * (AX_NO_TRANS, w (E, K, N)). Segments of uneven length, empty experts (first, middle, last, all),
 * offsets[0] > 0 and offsets[E] < R (rows outside the segments must stay untouched: their expected
 * value is the poison NaN, and extra_check demands their bytes unchanged), one row (decode), a
 * segment longer than the CPU's row tile of 256, K over the quantized path's K chunk of 4096, padded
 * rows, several column tiles with N not a multiple of the fp32 kernel's 6 columns and segments that
 * end part way through its 16-row panels (more and fewer than 8 rows left), K = 0 (zero rows). w in q4_0, q4_1, q8_0, q4_k, q6_k (AX_TRANS only), f16, bf16, f32 (both); x and y in f32 or
 * bf16.
 *
 * Reference: float64 sums of x times w, each weight decoded by the test's own decoder (the driver's
 * stored values). Bound per element, as cases_qmatmul.c argues it for ax_qmatmul (the CPU's
 * quantized rows are ax_qmatmul's):
 *   - block-quantized w: x's quantization, 0.5001 dx_g sum_g |w| over x's groups g (dx_g = amax_g / 127,
 *     groups of the largest of 256, 128, 64, 32 dividing K), plus (K/16 + K/32 + 32) u32 times the
 *     sum of (3 |w| + 128 step) (|x| + dx / 2);
 *   - float w: fp32 sums of K products in any order (sgemm, CUDA tiles): (K + 32) u32 sum |x w|;
 *   plus u_out |want| for y's rounding.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axial/moe.h"
#include "op_registry.h"

#define GG_MAX_E 9

typedef struct gg_shape {
    int64_t E, R, N, K;
    int64_t offsets[GG_MAX_E + 1];
    op_layout layout; /* of x, w and y */
    int quick;
    const char *what;
} gg_shape;

static const gg_shape shapes[] = {
    {1, 1, 5, 32, {0, 1}, OP_CONTIGUOUS, 1, "one row"},
    {3, 12, 7, 64, {0, 5, 5, 12}, OP_CONTIGUOUS, 1, "empty middle expert"},
    {4, 21, 9, 256, {3, 3, 10, 10, 17}, OP_PADDED, 1, "offsets[0] = 3, rows past 17 untouched"},
    {2, 4, 3, 32, {0, 0, 0}, OP_CONTIGUOUS, 1, "no rows at all"},
    {5, 75, 37, 512, {2, 9, 9, 40, 41, 70}, OP_PADDED, 1, "padding gaps"},
    {8, 64, 16, 256, {0, 8, 16, 16, 24, 32, 40, 48, 56}, OP_CONTIGUOUS, 0, "aligned to 8"},
    {2, 310, 20, 32, {0, 300, 310}, OP_CONTIGUOUS, 0, "segment over one row tile"},
    {3, 9, 5, 4352, {1, 4, 4, 9}, OP_CONTIGUOUS, 0, "K over one chunk"},
    {3, 10, 6, 7, {0, 4, 4, 9}, OP_PADDED, 1, "K = 7 (float w)"},
    {3, 100, 100, 96, {0, 41, 42, 100}, OP_CONTIGUOUS, 1, "column tiles, N not a multiple of 6, partial panels"},
    {2, 40, 13, 44, {0, 18, 37}, OP_PADDED, 1, "K = 44: full 16-row panels with a K remainder (float w)"},
    {2, 40, 13, 0, {3, 20, 37}, OP_PADDED, 1, "K = 0: the segments' rows are zero"},
};

static const ax_dtype w_dtypes[] = {AX_Q4_0, AX_Q4_1, AX_Q8_0, AX_Q4_K, AX_Q6_K, AX_F16, AX_BF16, AX_F32};
#define N_SHAPES (int)(sizeof shapes / sizeof shapes[0])
#define N_WDT (int)(sizeof w_dtypes / sizeof w_dtypes[0])

typedef struct gg_case {
    const gg_shape *s;
    ax_dtype w_dtype;
    int trans;
} gg_case;

static gg_case combos[N_SHAPES * N_WDT * 2];

static const op_dtype_pair dtypes[] = {
    {AX_F32, AX_F32}, {AX_BF16, AX_BF16}, {AX_F32, AX_BF16}, {AX_BF16, AX_F32},
};

static int gg_make_case(int index, op_mode mode, op_case *c) {
    int seen = -1;
    for (int i = 0; i < N_SHAPES; i++) {
        const gg_shape *s = &shapes[i];
        if (mode == OP_QUICK && !s->quick) continue;
        for (int j = 0; j < N_WDT; j++) {
            for (int trans = 1; trans >= 0; trans--) {
                if (s->K % ax_dtype_block_elems(w_dtypes[j]) != 0) continue;
                if (!trans && opd_is_block(w_dtypes[j])) continue;
                if (++seen != index) continue;
                combos[seen].s = s;
                combos[seen].w_dtype = w_dtypes[j];
                combos[seen].trans = trans;
                c->params = &combos[seen];
                snprintf(c->name, sizeof c->name, "w %s %s E %lld R %lld N %lld K %lld (%s)%s",
                         ax_dtype_name(w_dtypes[j]), trans ? "trans" : "no-trans", (long long)s->E, (long long)s->R,
                         (long long)s->N, (long long)s->K, s->what, s->layout == OP_PADDED ? " padded" : "");
                c->n_dtypes = (int)(sizeof dtypes / sizeof dtypes[0]);
                memcpy(c->dtypes, dtypes, sizeof dtypes);
                return 1;
            }
        }
    }
    return 0;
}

static int gg_setup(const op_case *c, op_dtype_pair dt, op_problem *p) {
    const gg_case *g = c->params;
    const gg_shape *s = g->s;
    const int64_t xshape[2] = {s->R, s->K}, yshape[2] = {s->R, s->N}, oshape[1] = {s->E + 1};
    const int64_t wshape[3] = {s->E, g->trans ? s->N : s->K, g->trans ? s->K : s->N};
    op_tensor *x = op_tensor_new(p, "x", OP_INPUT, dt.in, 2, xshape, s->layout);
    op_tensor *w = op_tensor_new(p, "w", OP_INPUT, g->w_dtype, 3, wshape, s->layout);
    op_tensor *off = op_tensor_new(p, "offsets", OP_INPUT, AX_I64, 1, oshape, OP_CONTIGUOUS);
    op_tensor *y = op_tensor_new(p, "y", OP_OUTPUT, dt.out, 2, yshape, s->layout);
    if (x == NULL || w == NULL || off == NULL || y == NULL) return -1;
    op_fill_uniform(p, x, -1.0, 1.0);
    if (opd_is_block(g->w_dtype)) op_fill_random_blocks(p, w);
    else op_fill_uniform(p, w, -1.0, 1.0);
    for (int64_t e = 0; e <= s->E; e++) op_set(off, e, (double)s->offsets[e]);
    return op_want_err_scale(y);
}

static void gg_reference(const op_case *c, op_dtype_pair dt, op_problem *p) {
    const gg_case *g = c->params;
    const gg_shape *s = g->s;
    (void)dt;
    op_tensor *x = op_find(p, "x"), *w = op_find(p, "w"), *y = op_find(p, "y");
    const int64_t N = s->N, K = s->K;
    const int quant = opd_is_block(g->w_dtype);
    const int64_t group = K % 256 == 0 ? 256 : K % 128 == 0 ? 128 : K % 64 == 0 ? 64 : 32;
    const double u32 = ldexp(1.0, -24);
    const double gamma = quant ? (double)(K / 16 + K / 32 + 32) * u32 : (double)(K + 32) * u32;
    for (int64_t i = 0; i < s->R * N; i++) {
        y->expected[i] = NAN; /* rows outside every segment keep the poison */
        y->err_scale[i] = 0.0;
    }
    for (int64_t e = 0; e < s->E; e++) {
        for (int64_t r = s->offsets[e]; r < s->offsets[e + 1]; r++) {
            const double *xr = x->value + r * K;
            for (int64_t n = 0; n < N; n++) {
                double sum = 0.0, quant_err = 0.0, mag = 0.0;
                for (int64_t k0 = 0; k0 < K; k0 += group) {
                    const int64_t k1 = k0 + group < K ? k0 + group : K;
                    double amax = 0.0, wsum = 0.0;
                    for (int64_t k = k0; k < k1; k++) amax = fabs(xr[k]) > amax ? fabs(xr[k]) : amax;
                    const double dx = quant ? amax / 127.0 : 0.0;
                    for (int64_t k = k0; k < k1; k++) {
                        const int64_t wi = g->trans ? (e * N + n) * K + k : (e * K + k) * N + n;
                        const double wv = w->value[wi];
                        double wmag = fabs(wv);
                        if (quant)
                            wmag = 3.0 * wmag + 128.0 * opd_block_step(g->w_dtype, op_block_at(w, wi),
                                                                       k % ax_dtype_block_elems(g->w_dtype));
                        sum += xr[k] * wv;
                        wsum += fabs(wv);
                        mag += wmag * (fabs(xr[k]) + dx / 2);
                    }
                    quant_err += 0.5001 * dx * wsum;
                }
                y->expected[r * N + n] = sum;
                y->err_scale[r * N + n] = quant_err + gamma * mag;
            }
        }
    }
}

static ax_status gg_run(ax_context *ctx, const op_case *c, op_dtype_pair dt, op_problem *p) {
    const gg_case *g = c->params;
    (void)dt;
    return ax_moe_grouped_gemm(ctx, g->trans ? AX_TRANS : AX_NO_TRANS, op_in(p, "x"), op_in(p, "w"),
                               op_in(p, "offsets"), op_out(p, "y"));
}

static op_tol gg_tolerance(const op_case *c, op_dtype_pair dt, op_backend be, const op_tensor *out) {
    (void)c;
    (void)be;
    (void)out;
    op_tol t;
    memset(&t, 0, sizeof t);
    t.rtol = dt.out == AX_BF16 ? ldexp(1.0, -8) : ldexp(1.0, -24);
    t.scale_tol = 1.0 + t.rtol; /* y's rounding also applies to the computed error */
    t.atol = 1e-30;
    return t;
}

/* Rows outside [offsets[0], offsets[E]) keep their poison bytes exactly. */
static int gg_check_untouched(const op_case *c, op_dtype_pair dt, const op_problem *p, char *msg, size_t msg_size) {
    const gg_case *g = c->params;
    const gg_shape *s = g->s;
    (void)dt;
    const op_tensor *y = NULL;
    for (int i = 0; i < p->n_tensors; i++)
        if (strcmp(p->tensors[i].name, "y") == 0) y = &p->tensors[i];
    if (y == NULL) return 1;
    const size_t elem = y->t.dtype == AX_F32 ? 4 : 2;
    for (int64_t r = 0; r < s->R; r++) {
        if (r >= s->offsets[0] && r < s->offsets[s->E]) continue;
        for (int64_t n = 0; n < s->N; n++) {
            const size_t at = (size_t)(y->origin + op_offset(y, r * s->N + n)) * elem;
            if (memcmp(y->result + at, y->host + at, elem) != 0) {
                snprintf(msg, msg_size, "y[%lld, %lld] outside every segment was written", (long long)r, (long long)n);
                return 0;
            }
        }
    }
    return 1;
}

const op_table op_table_moe_grouped_gemm = {
    .name = "moe_grouped_gemm",
    .make_case = gg_make_case,
    .setup = gg_setup,
    .reference = gg_reference,
    .run = gg_run,
    .tolerance = gg_tolerance,
    .extra_check = gg_check_untouched,
};
