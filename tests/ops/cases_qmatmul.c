/*
 * cases_qmatmul.c — ax_qmatmul (linalg.h): y = x w^T + bias with w in every GGUF block type and in
 * f16, bf16, f32. M = 1, 2, 7 (decode), 64 and 300 (prefill), x of 1, 2 and 3 dims; K from one block
 * (32, or 256 for the K types) to 1792 and, in the full set, 4352 (more than one of the CPU's K
 * chunks); N odd and below, at and above the CPU's panel of 4 rows; bias or none; padded rows of x,
 * w and y; x and y in f32 or bf16. w's blocks are random valid bytes (op_fill_random_blocks).
 * A second table, qmatmul_packed, runs ax_qmatmul_packed (w packed by ax_qweight_pack) on the CPU
 * paths with the same reference and bound.
 *
 * Reference: float64 sums of x times w, each weight decoded by the test's own decoder
 * (opd_block_decode, through the driver's stored values), plus bias.
 *
 * Bound (per element, in err_scale, plus u_out |want| for y's rounding):
 *   - x quantization (CPU, block-quantized w): x is replaced by dx * level with dx = amax / 127 per
 *     group of G elements (the largest of 256, 128, 64, 32 dividing K), level the nearest integer,
 *     so each x moves by at most dx / 2 (plus a rounding of the fp32 product x * 127 / amax, below
 *     2^-22 dx): sum over groups g of 0.5001 dx_g sum_g |w|.
 *   - fp32 arithmetic: the integer dots are exact; each block's fma into its group's sum, the
 *     group's scaling, the sums over K/32 blocks (8 lanes), K/16 offset terms and the chunks round
 *     at most (K/16 + K/32 + 32) times, each by u32 = 2^-24 relative to the magnitudes summed. Those are
 *     |scale * level| + |offset| per weight (not |w|: q4_1's offset m can cancel d q), at most
 *     3 |w| + 128 step for every block type (step: opd_block_step; q6_k's levels reach 32 steps on
 *     either side of its offset), times |x| + dx / 2; plus |bias|. Float w: (K/4 + 32) u32 sum |w x|.
 *   The CUDA backend does not quantize x; the same bound holds for it a fortiori.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axial/linalg.h"
#include "op_registry.h"

typedef struct qmm_shape {
    int32_t lead_ndim;     /* 0: x is (K); 1: (M, K); 2: (A, B, K) */
    int64_t lead[2];
    int64_t N, K;
    int bias;
    op_layout layout;      /* of x, w and y */
    int quick;
    double x_scale;        /* x uniform in [-x_scale, x_scale]; 0 = 1 */
} qmm_shape;

static const qmm_shape shapes[] = {
    {1, {1}, 1, 32, 0, OP_CONTIGUOUS, 1, 0},       /* one block, one output */
    {0, {0}, 5, 64, 1, OP_CONTIGUOUS, 1, 0},       /* 1-D x */
    {1, {1}, 37, 256, 1, OP_PADDED, 1, 0},
    {1, {2}, 7, 512, 0, OP_PADDED, 1, 0},
    {1, {7}, 19, 1792, 1, OP_CONTIGUOUS, 1, 0},
    {2, {2, 3}, 9, 256, 1, OP_CONTIGUOUS, 0, 0},   /* rows from two leading dims (which must collapse) */
    {1, {64}, 45, 768, 0, OP_PADDED, 1, 0},
    {1, {300}, 17, 512, 1, OP_CONTIGUOUS, 0, 0},
    {1, {3}, 5, 4352, 1, OP_CONTIGUOUS, 0, 0},     /* K over one chunk of 4096 */
    {1, {3}, 5, 7, 1, OP_PADDED, 0, 0},            /* float w only: K not a block multiple */
    /* x below 127 / FLT_MAX: 127 / amax overflows, and every level had snapped to +-127 (14x the
     * product on the avx2/avx512 paths); no bias, which would hide errors this small */
    {1, {2}, 5, 256, 0, OP_CONTIGUOUS, 1, 2e-37},
};

static const ax_dtype w_dtypes[] = {AX_Q4_0, AX_Q4_1, AX_Q8_0, AX_Q4_K, AX_Q6_K, AX_F16, AX_BF16, AX_F32};

/* ax_qmatmul_packed (the qmatmul_packed table): w packed by ax_qweight_pack first, so N is a
 * multiple of 16 (the tile height) and w is q4_0, q4_1 or q8_0. M = 1 takes the packed one-row decode,
 * M >= 2 (up to 300) the panels filled from the tiles (qmm_packed_panel_sums); K up to 4352 crosses a
 * K chunk; padded w has a row stride above K, which the packer drops. */
static const qmm_shape packed_shapes[] = {
    {1, {1}, 16, 32, 0, OP_CONTIGUOUS, 1, 0},
    {0, {0}, 32, 64, 1, OP_CONTIGUOUS, 1, 0},
    {1, {1}, 48, 256, 1, OP_PADDED, 1, 0},
    {1, {2}, 16, 512, 0, OP_PADDED, 1, 0},
    {1, {7}, 32, 1792, 1, OP_CONTIGUOUS, 1, 0},
    {2, {2, 3}, 16, 256, 1, OP_CONTIGUOUS, 0, 0},
    {1, {64}, 80, 768, 0, OP_PADDED, 1, 0},
    {1, {300}, 16, 512, 1, OP_CONTIGUOUS, 0, 0},
    {1, {3}, 32, 4352, 1, OP_CONTIGUOUS, 0, 0},
};
static const ax_dtype packed_w_dtypes[] = {AX_Q4_0, AX_Q4_1, AX_Q8_0};

#define COUNT(a) (int)(sizeof a / sizeof a[0])

typedef struct qmm_case {
    const qmm_shape *s;
    ax_dtype w_dtype;
} qmm_case;

/* What case i of each table describes (static: c->params points here). */
static qmm_case combos[COUNT(shapes) * COUNT(w_dtypes)];
static qmm_case packed_combos[COUNT(packed_shapes) * COUNT(packed_w_dtypes)];

static const op_dtype_pair dtypes[] = {
    {AX_F32, AX_F32}, {AX_BF16, AX_BF16}, {AX_F32, AX_BF16}, {AX_BF16, AX_F32},
};

static int64_t shape_M(const qmm_shape *s) {
    int64_t m = 1;
    for (int32_t d = 0; d < s->lead_ndim; d++) m *= s->lead[d];
    return m;
}

/* Case `index` of shapes x w dtypes (the dtypes whose block divides K), described in out[index]. */
static int qmm_pick_case(int index, op_mode mode, const qmm_shape *shape_list, int n_shapes, const ax_dtype *wdt,
                         int n_wdt, qmm_case *out, op_case *c) {
    int seen = -1;
    for (int i = 0; i < n_shapes; i++) {
        const qmm_shape *s = &shape_list[i];
        if (mode == OP_QUICK && !s->quick) continue;
        for (int j = 0; j < n_wdt; j++) {
            if (s->K % ax_dtype_block_elems(wdt[j]) != 0) continue;
            if (++seen != index) continue;
            out[seen].s = s;
            out[seen].w_dtype = wdt[j];
            c->params = &out[seen];
            snprintf(c->name, sizeof c->name, "w %s M %lld (%d lead dims) N %lld K %lld%s%s",
                     ax_dtype_name(wdt[j]), (long long)shape_M(s), (int)s->lead_ndim, (long long)s->N,
                     (long long)s->K, s->bias ? " bias" : "", s->layout == OP_PADDED ? " padded" : "");
            c->n_dtypes = COUNT(dtypes);
            memcpy(c->dtypes, dtypes, sizeof dtypes);
            return 1;
        }
    }
    return 0;
}

static int qmm_make_case(int index, op_mode mode, op_case *c) {
    return qmm_pick_case(index, mode, shapes, COUNT(shapes), w_dtypes, COUNT(w_dtypes), combos, c);
}

static int qmm_packed_make_case(int index, op_mode mode, op_case *c) {
    return qmm_pick_case(index, mode, packed_shapes, COUNT(packed_shapes), packed_w_dtypes, COUNT(packed_w_dtypes),
                         packed_combos, c);
}

static int qmm_setup(const op_case *c, op_dtype_pair dt, op_problem *p) {
    const qmm_case *q = c->params;
    const qmm_shape *s = q->s;
    int64_t xshape[3], yshape[3];
    for (int32_t d = 0; d < s->lead_ndim; d++) xshape[d] = yshape[d] = s->lead[d];
    xshape[s->lead_ndim] = s->K;
    yshape[s->lead_ndim] = s->N;
    const int64_t wshape[2] = {s->N, s->K};
    op_tensor *x = op_tensor_new(p, "x", OP_INPUT, dt.in, s->lead_ndim + 1, xshape, s->layout);
    op_tensor *w = op_tensor_new(p, "w", OP_INPUT, q->w_dtype, 2, wshape, s->layout);
    op_tensor *y = op_tensor_new(p, "y", OP_OUTPUT, dt.out, s->lead_ndim + 1, yshape, s->layout);
    if (x == NULL || w == NULL || y == NULL) return -1;
    const double xs = s->x_scale > 0.0 ? s->x_scale : 1.0;
    op_fill_uniform(p, x, -xs, xs);
    if (opd_is_block(q->w_dtype)) op_fill_random_blocks(p, w);
    else op_fill_uniform(p, w, -1.0, 1.0);
    if (s->bias) {
        op_tensor *b = op_tensor_new(p, "bias", OP_INPUT, AX_F32, 1, &s->N, OP_CONTIGUOUS);
        if (b == NULL) return -1;
        op_fill_uniform(p, b, -2.0, 2.0);
    }
    return op_want_err_scale(y);
}

static void qmm_reference(const op_case *c, op_dtype_pair dt, op_problem *p) {
    const qmm_case *q = c->params;
    const qmm_shape *s = q->s;
    (void)dt;
    op_tensor *x = op_find(p, "x"), *w = op_find(p, "w"), *b = op_find(p, "bias"), *y = op_find(p, "y");
    const int64_t M = shape_M(s), N = s->N, K = s->K;
    const int quant = opd_is_block(q->w_dtype);
    /* x's quantization groups (linalg.h): the largest of 256, 128, 64, 32 dividing K. */
    const int64_t group = K % 256 == 0 ? 256 : K % 128 == 0 ? 128 : K % 64 == 0 ? 64 : 32;
    const double u32 = ldexp(1.0, -24);
    const double gamma = quant ? (double)(K / 16 + K / 32 + 32) * u32 : (double)(K / 4 + 32) * u32;
    /* Per weight: the magnitude its scale * level and offset can reach (see the bound above). */
    double *wmag = malloc((size_t)(N * K > 0 ? N * K : 1) * sizeof(double));
    if (wmag == NULL) return; /* expected stays NaN: the case fails visibly */
    for (int64_t i = 0; i < N * K; i++) {
        wmag[i] = fabs(w->value[i]);
        if (quant) {
            const int64_t be = ax_dtype_block_elems(q->w_dtype);
            wmag[i] = 3.0 * wmag[i] + 128.0 * opd_block_step(q->w_dtype, op_block_at(w, i), (i % K) % be);
        }
    }
    for (int64_t m = 0; m < M; m++) {
        const double *xr = x->value + m * K;
        for (int64_t n = 0; n < N; n++) {
            const double *wr = w->value + n * K;
            double sum = 0.0, quant_err = 0.0, mag = 0.0;
            for (int64_t k0 = 0; k0 < K; k0 += group) {
                const int64_t k1 = k0 + group < K ? k0 + group : K;
                double amax = 0.0, wsum = 0.0;
                for (int64_t k = k0; k < k1; k++) amax = fabs(xr[k]) > amax ? fabs(xr[k]) : amax;
                const double dx = quant ? amax / 127.0 : 0.0;
                for (int64_t k = k0; k < k1; k++) {
                    sum += xr[k] * wr[k];
                    wsum += fabs(wr[k]);
                    mag += wmag[n * K + k] * (fabs(xr[k]) + dx / 2);
                }
                quant_err += 0.5001 * dx * wsum;
            }
            const double bias = b != NULL ? b->value[n] : 0.0;
            y->expected[m * N + n] = sum + bias;
            y->err_scale[m * N + n] = quant_err + gamma * (mag + fabs(bias));
        }
    }
    free(wmag);
}

static ax_status qmm_run(ax_context *ctx, const op_case *c, op_dtype_pair dt, op_problem *p) {
    (void)c;
    (void)dt;
    return ax_qmatmul(ctx, op_in(p, "x"), op_in(p, "w"), op_in(p, "bias"), op_out(p, "y"));
}

static op_tol qmm_tolerance(const op_case *c, op_dtype_pair dt, op_backend be, const op_tensor *out) {
    const qmm_case *q = c->params;
    (void)be;
    (void)out;
    op_tol t;
    memset(&t, 0, sizeof t);
    t.rtol = dt.out == AX_BF16 ? ldexp(1.0, -8) : ldexp(1.0, -24);
    t.scale_tol = 1.0 + t.rtol; /* y's rounding also applies to the computed error */
    t.atol = 1e-30 * (q->s->x_scale > 0.0 ? q->s->x_scale : 1.0); /* far below the products */
    return t;
}

/* Packs w (on the host: this table runs on CPU paths only), runs the packed product, frees the copy. */
static ax_status qmm_packed_run(ax_context *ctx, const op_case *c, op_dtype_pair dt, op_problem *p) {
    (void)c;
    (void)dt;
    ax_qweight *w = NULL;
    ax_status st = ax_qweight_pack(op_in(p, "w"), &w);
    if (st != AX_OK) return st;
    st = ax_qmatmul_packed(ctx, op_in(p, "x"), w, op_in(p, "bias"), op_out(p, "y"));
    ax_qweight_destroy(w);
    return st;
}

static const char *qmm_packed_unsupported(const op_case *c, op_dtype_pair dt, op_backend be) {
    (void)c;
    (void)dt;
    return be == OP_BACKEND_CUDA ? "packed weights are host memory (linalg.h)" : NULL;
}

const op_table op_table_qmatmul = {
    .name = "qmatmul",
    .make_case = qmm_make_case,
    .setup = qmm_setup,
    .reference = qmm_reference,
    .run = qmm_run,
    .tolerance = qmm_tolerance,
};

/* The same products, bounds and references as qmatmul: packing changes where w's bytes sit, not the
 * arithmetic (ax_qmatmul_packed is bit for bit ax_qmatmul on the same path; test_qmatmul_packed
 * checks that with memcmp). */
const op_table op_table_qmatmul_packed = {
    .name = "qmatmul_packed",
    .make_case = qmm_packed_make_case,
    .setup = qmm_setup,
    .reference = qmm_reference,
    .run = qmm_packed_run,
    .tolerance = qmm_tolerance,
    .unsupported = qmm_packed_unsupported,
};
