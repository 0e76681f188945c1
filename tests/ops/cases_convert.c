/*
 * cases_convert.c — ax_tensor_copy between every pair of the float and block-quantized dtypes
 * (f32, f16, bf16, f64, f8_e4m3fn, f8_e5m2, Q4_0, Q4_1, Q8_0, Q4_K, Q6_K), and same-dtype copies of
 * the integer dtypes, checked against the driver's own codec (op_dtype.c), never the library's:
 *
 *  - to a float dtype: exactly opd_round(dst, source value): one round-to-nearest-even from the
 *    exact source value (a block source's value being its fp32 dequantization), with the overflow
 *    rules of each format, signed zeros and the sign of NaNs. Dequantizing random valid blocks is
 *    thereby checked to be exact.
 *  - to a block dtype: the decoded destination within a stated per-element bound of the source
 *    (rounded to fp32, as the quantizer takes it); see quant_bound. A block holding a NaN or an Inf
 *    must read back all NaN.
 *  - equal dtypes: bit for bit (extra_check), NaN payloads included.
 *
 * Cases, for each source dtype (and every destination dtype as the case's dtype pairs): a
 * contiguous 2-D tensor; a strided 3-D one (source broadcast over dim 0 with stride 0 and stored
 * transposed, or with padded rows for a block source; destination rows in reverse order, padded);
 * and, for float sources, special values (random bit patterns, ties and near-ties of the
 * destination format, zeros, subnormals, the overflow edge, NaN and Inf; for block destinations
 * NaN, Inf, all-zero and tiny blocks).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "op_registry.h"

static const ax_dtype value_types[] = {AX_F32, AX_F16, AX_BF16, AX_F64, AX_F8_E4M3FN, AX_F8_E5M2,
                                       AX_Q4_0, AX_Q4_1, AX_Q8_0, AX_Q4_K, AX_Q6_K};
#define N_VALUE_TYPES (int)(sizeof value_types / sizeof value_types[0])
static const ax_dtype int_types[] = {AX_I32, AX_I64, AX_U8, AX_I8};
#define N_INT_TYPES (int)(sizeof int_types / sizeof int_types[0])

typedef enum convert_variant { V_CONTIGUOUS = 0, V_STRIDED = 1, V_SPECIAL = 2, V_COUNT = 3 } convert_variant;

typedef struct convert_params {
    convert_variant variant;
    ax_dtype src;
    int64_t rows, cols; /* cols: a multiple of 256, so every block type fits */
} convert_params;

/* make_case hands out pointers into this (one entry per case number; cases are built in order). */
static convert_params convert_case_storage[V_COUNT * (N_VALUE_TYPES + N_INT_TYPES)];

static int convert_make_case(int index, op_mode mode, op_case *c) {
    int seen = -1;
    for (int v = 0; v < V_COUNT; v++) {
        if (mode == OP_QUICK && v == V_STRIDED) continue;
        for (int s = 0; s < N_VALUE_TYPES + N_INT_TYPES; s++) {
            const ax_dtype src = s < N_VALUE_TYPES ? value_types[s] : int_types[s - N_VALUE_TYPES];
            if (v == V_SPECIAL && !opd_is_float(src)) continue;
            if (++seen != index) continue;
            convert_params *cp = &convert_case_storage[index];
            cp->variant = (convert_variant)v;
            cp->src = src;
            cp->rows = mode == OP_QUICK ? 2 : 3;
            cp->cols = mode == OP_QUICK ? 256 : 512;
            c->params = cp;
            static const char *names[V_COUNT] = {
                "contiguous", "strided: src broadcast+transposed/padded, dst rows reversed", "special values"};
            if (v == V_STRIDED)
                snprintf(c->name, sizeof c->name, "2x%lldx%lld %s", (long long)cp->rows, (long long)cp->cols, names[v]);
            else
                snprintf(c->name, sizeof c->name, "%lldx%lld %s", (long long)cp->rows, (long long)cp->cols, names[v]);
            if (opd_is_int(src)) {
                c->n_dtypes = 1;
                c->dtypes[0] = (op_dtype_pair){src, src};
            } else {
                c->n_dtypes = N_VALUE_TYPES;
                for (int d = 0; d < N_VALUE_TYPES; d++) c->dtypes[d] = (op_dtype_pair){src, value_types[d]};
            }
            return 1;
        }
    }
    return 0;
}

/* ---- source values ---- */

static int bits_of(ax_dtype dt) {
    switch (dt) {
    case AX_F32: return 32;
    case AX_F16:
    case AX_BF16: return 16;
    case AX_F8_E4M3FN:
    case AX_F8_E5M2: return 8;
    default: return 64;
    }
}

/* A random bit pattern of a float dtype, as a value (any class: NaN, Inf, subnormal, ...). */
static double random_bits_value(op_rng *r, ax_dtype dt) {
    const uint64_t u = op_rng_u64(r);
    if (dt == AX_F64) {
        double v;
        memcpy(&v, &u, 8);
        return v;
    }
    const int w = bits_of(dt);
    return opd_from_bits(dt, (uint32_t)(u & ((w == 32 ? 0xffffffffull : (1ull << w) - 1))));
}

/* The code of the largest finite magnitude of a narrow float dtype: the highest finite code below
 * the sign bit. */
static uint32_t largest_finite_code(ax_dtype dt) {
    /* IEEE-like formats: all-ones exponent minus one with an all-ones mantissa; f8_e4m3fn: the code
     * just below its NaN. Checked rather than trusted: the step must leave the finite range. */
    uint32_t code = 0;
    switch (dt) {
    case AX_F32: code = 0x7f7fffffu; break;
    case AX_F16: code = 0x7bffu; break;
    case AX_BF16: code = 0x7f7fu; break;
    case AX_F8_E4M3FN: code = 0x7eu; break;
    case AX_F8_E5M2: code = 0x7bu; break;
    default: break;
    }
    if (!isfinite(opd_from_bits(dt, code)) || isfinite(opd_from_bits(dt, code + 1))) {
        fprintf(stderr, "largest_finite_code(%s): the codec disagrees\n", ax_dtype_name(dt));
        abort();
    }
    return code;
}

/* A value that exercises rounding into `dst` (a narrow float dtype): exact ties between adjacent
 * codes and the doubles either side, the smallest subnormals, the overflow edge, zeros, NaN, Inf,
 * random patterns of the source. The source's own rounding (op_set) may move it; what the op sees
 * is what the reference uses. */
static double special_value(op_rng *r, ax_dtype src, ax_dtype dst, int64_t i) {
    const double sign = (op_rng_u64(r) & 1) ? -1.0 : 1.0;
    if (dst == AX_F64) return random_bits_value(r, src);
    switch (i % 8) {
    case 0: return random_bits_value(r, src);
    case 1:
    case 2: {
        const uint32_t top = largest_finite_code(dst);
        const uint32_t m = (uint32_t)op_rng_below(r, top); /* lo and hi both finite */
        const double lo = opd_from_bits(dst, m), hi = opd_from_bits(dst, m + 1);
        const double mid = lo + (hi - lo) / 2; /* exact in double: one bit more than dst has */
        if (i % 8 == 1) return sign * mid;
        return sign * nextafter(mid, (op_rng_u64(r) & 1) ? INFINITY : 0.0);
    }
    case 3: return sign * 0.0;
    case 4: return sign * opd_from_bits(dst, 1) * op_rng_uniform(r, 0.0, 6.0); /* around the smallest subnormals */
    case 5: {
        /* The overflow edge: the largest finite value, the tie above it (one step of the top binade
         * further would be the first value past the format), and beyond. */
        const uint32_t code = largest_finite_code(dst);
        const double top = opd_from_bits(dst, code), step = top - opd_from_bits(dst, code - 1);
        switch ((int)op_rng_below(r, 4)) {
        case 0: return sign * top;
        case 1: return sign * (top + step / 2);
        case 2: return sign * top * op_rng_uniform(r, 0.97, 1.0);
        default: return sign * top * op_rng_uniform(r, 1.0, 1.2);
        }
    }
    case 6: {
        const int pick = (int)op_rng_below(r, 2);
        return pick ? sign * INFINITY : copysign(NAN, sign);
    }
    default: return op_rng_uniform(r, -4.0, 4.0);
    }
}

/* Values a block quantizer can hold (finite scales): each run of 32 has its own magnitude, from
 * 2^-20 to 2^12 (2^7 for an f8_e4m3fn source, whose values stop at 448), and a shape: symmetric,
 * all positive, all non-positive, or one outlier. */
static void block_friendly_values(op_rng *r, ax_dtype src, double *x, int64_t n) {
    const int top_exp = src == AX_F8_E4M3FN ? 7 : 12;
    for (int64_t g = 0; g < n; g += 32) {
        const double scale = ldexp(1.0, (int)op_rng_below(r, top_exp + 21) - 20);
        const int kind = (int)op_rng_below(r, 4);
        for (int64_t i = g; i < g + 32 && i < n; i++) {
            double v = op_rng_uniform(r, -1.0, 1.0);
            if (kind == 1) v = 0.5 * v + 0.5;
            if (kind == 2) v = -v * v;
            if (kind == 3) v *= (i == g + 9) ? 1.0 : 1e-3;
            x[i] = v * scale;
        }
    }
}

/* Random blocks with fp16 scales capped at 2^3, so that their values (at most about 3.3e4, Q6_K's
 * 128 * 31 * 8) stay within every block quantizer's finite range (Q4_1's minimum must fit an fp16)
 * when they are requantized. */
static void moderate_scales(ax_dtype dt, uint8_t *block) {
    int at[2] = {-1, -1};
    switch (dt) {
    case AX_Q4_0:
    case AX_Q8_0: at[0] = 0; break;
    case AX_Q4_1:
    case AX_Q4_K:
        at[0] = 0;
        at[1] = 2;
        break;
    case AX_Q6_K: at[0] = 208; break;
    default: break;
    }
    for (int k = 0; k < 2; k++) {
        if (at[k] < 0) continue;
        uint16_t h = (uint16_t)(block[at[k]] | (block[at[k] + 1] << 8));
        const int e = (h >> 10) & 31;
        if (e > 18) h = (uint16_t)((h & ~(31u << 10)) | ((unsigned)(e % 19) << 10));
        block[at[k]] = (uint8_t)(h & 0xff);
        block[at[k] + 1] = (uint8_t)(h >> 8);
    }
}

static int convert_setup(const op_case *c, op_dtype_pair dt, op_problem *p) {
    const convert_params *cp = c->params;
    const int64_t R = cp->rows, C = cp->cols;
    op_tensor *src, *dst;
    if (cp->variant == V_STRIDED) {
        const int64_t shape[3] = {2, R, C};
        int64_t s_strides[3];
        if (opd_is_block(dt.in)) {
            const int64_t row = C + ax_dtype_block_elems(dt.in);
            s_strides[0] = 0;
            s_strides[1] = row;
            s_strides[2] = 1;
        } else {
            s_strides[0] = 0; /* broadcast over dim 0 */
            s_strides[1] = 1; /* each (R, C) matrix stored column-major */
            s_strides[2] = R;
        }
        const int64_t drow = C + (opd_is_block(dt.out) ? ax_dtype_block_elems(dt.out) : 3);
        const int64_t d_strides[3] = {R * drow, -drow, 1};
        src = op_tensor_new_strided(p, "src", OP_INPUT, dt.in, 3, shape, s_strides);
        dst = op_tensor_new_strided(p, "dst", OP_OUTPUT, dt.out, 3, shape, d_strides);
    } else {
        const int64_t shape[2] = {R, C};
        src = op_tensor_new(p, "src", OP_INPUT, dt.in, 2, shape, OP_CONTIGUOUS);
        dst = op_tensor_new(p, "dst", OP_OUTPUT, dt.out, 2, shape, OP_CONTIGUOUS);
    }
    if (src == NULL || dst == NULL) return -1;

    if (opd_is_block(dt.in)) {
        const int64_t be = ax_dtype_block_elems(dt.in);
        for (int64_t i = 0; i < src->numel; i += be) {
            uint8_t *block = op_block_at(src, i);
            opd_random_block(dt.in, &p->rng, block);
            if (opd_is_block(dt.out)) moderate_scales(dt.in, block);
        }
        op_refresh_values(src);
        return opd_is_block(dt.out) ? op_want_err_scale(dst) : 0;
    }
    if (opd_is_int(dt.in)) {
        const double lo = dt.in == AX_U8 ? 0 : dt.in == AX_I8 ? -128 : dt.in == AX_I32 ? -2147483648.0 : -ldexp(1, 53);
        const double hi = dt.in == AX_U8 ? 256 : dt.in == AX_I8 ? 128 : dt.in == AX_I32 ? 2147483648.0 : ldexp(1, 53);
        for (int64_t i = 0; i < src->numel; i++) op_set(src, i, floor(op_rng_uniform(&p->rng, lo, hi)));
        op_refresh_values(src);
        return 0;
    }
    double *x = malloc((size_t)src->numel * sizeof(double));
    if (x == NULL) return -1;
    if (opd_is_block(dt.out)) {
        block_friendly_values(&p->rng, dt.in, x, src->numel);
        if (cp->variant == V_SPECIAL) {
            const int64_t be = ax_dtype_block_elems(dt.out);
            if (2 * be <= src->numel) x[be + 5] = NAN;           /* block 1: a NaN */
            if (3 * be <= src->numel) x[2 * be] = INFINITY;      /* block 2: +Inf, and a -Inf */
            if (3 * be <= src->numel) x[2 * be + 7] = -INFINITY;
            if (4 * be <= src->numel)                            /* block 3: zeros, led by -0 */
                for (int64_t i = 3 * be; i < 4 * be; i++) x[i] = i == 3 * be ? -0.0 : 0.0;
            if (5 * be <= src->numel)                            /* block 4: far below fp16 scales */
                for (int64_t i = 4 * be; i < 5 * be; i++) x[i] *= 1e-30;
        }
    } else {
        for (int64_t i = 0; i < src->numel; i++) {
            const double magnitude = ldexp(1.0, (int)op_rng_below(&p->rng, 25) - 12); /* 2^-12 .. 2^12 */
            x[i] = cp->variant == V_SPECIAL ? special_value(&p->rng, dt.in, dt.out, i)
                                            : op_rng_uniform(&p->rng, -3.0, 3.0) * magnitude;
        }
    }
    for (int64_t i = 0; i < src->numel; i++) op_set(src, i, x[i]);
    op_refresh_values(src);
    free(x);
    return opd_is_block(dt.out) ? op_want_err_scale(dst) : 0;
}

/* ---- reference ---- */

/* How far element i of a block of fp32 values x[0..n) may be from its dequantized value.
 *   u16 = 2^-11, the relative rounding of an fp16 scale; s16 = 2^-25, its absolute rounding among
 *   the fp16 subnormals (a scale that small may even round to 0); slack = 2^-20 * magnitude, for
 *   the quantizer's own fp32 arithmetic (reciprocal scale, products, one rounding each).
 *   Q8_0: levels d*k, |k| <= 127, d = A/127 (A = max |x|): half a step, plus 127 times the error of
 *         the stored d.
 *   Q4_0: levels d*k, k in [-8, 7], d = M / -8 (M the first element of largest magnitude, with its
 *         sign): half a step inside [-8d.. 7d]; elements past 7d (opposite M, beyond 7/8 A) go to
 *         7d, up to a whole step; plus 8 times the error of d.
 *   Q4_1: levels m + d*q, q in [0, 15], m = min, d = (max - min)/15: half a step, plus 15 times
 *         the error of d and the error of the stored m.
 *   Q4_K, Q6_K: Axial's own quantizers, with the bounds axial.h states (ax_convert): half a
 *         sub-block step, at most 0.07 A + 2^-20 (Q4_K) and 0.017 A + 2^-20 (Q6_K). */
static double quant_bound(ax_dtype dt, const double *x, int64_t n, int64_t i) {
    const double u16 = ldexp(1.0, -11), s16 = ldexp(1.0, -25);
    double A = 0.0, M = 0.0, lo = INFINITY, hi = -INFINITY;
    for (int64_t j = 0; j < n; j++) {
        if (fabs(x[j]) > A) {
            A = fabs(x[j]);
            M = x[j];
        }
        lo = fmin(lo, x[j]);
        hi = fmax(hi, x[j]);
    }
    const double slack = ldexp(A, -20);
    switch (dt) {
    case AX_Q8_0: {
        const double d = A / 127.0;
        return d / 2 + 127.0 * (u16 * d + s16) + slack;
    }
    case AX_Q4_0: {
        if (A == 0.0) return 0.0;
        const double d = M / -8.0, t = x[i] / d; /* t in [-8, 8] */
        return fabs(d) * fmax(0.5, t - 7.0) + 8.0 * (u16 * fabs(d) + s16) + slack;
    }
    case AX_Q4_1: {
        const double d = (hi - lo) / 15.0;
        return d / 2 + 15.0 * (u16 * d + s16) + u16 * fabs(lo) + s16 + slack + ldexp(hi - lo, -20);
    }
    case AX_Q4_K: return 0.07 * A + ldexp(1.0, -20);
    case AX_Q6_K: return 0.017 * A + ldexp(1.0, -20);
    default: return 0.0;
    }
}

static void convert_reference(const op_case *c, op_dtype_pair dt, op_problem *p) {
    const op_tensor *src = op_find(p, "src");
    op_tensor *dst = op_find(p, "dst");
    if (!opd_is_block(dt.out)) {
        for (int64_t i = 0; i < dst->numel; i++)
            dst->expected[i] = opd_is_int(dt.out) ? src->value[i] : opd_round(dt.out, src->value[i]);
        return;
    }
    /* Blocks are runs of be consecutive logical elements along the last dim (which is a whole number
     * of blocks), so they are runs of the row-major value arrays. Quantizing starts from fp32. */
    const int64_t be = ax_dtype_block_elems(dt.out);
    double x[256];
    for (int64_t start = 0; start < dst->numel; start += be) {
        int finite = 1;
        for (int64_t j = 0; j < be; j++) {
            x[j] = opd_round(AX_F32, src->value[start + j]);
            finite &= isfinite(x[j]) != 0;
        }
        for (int64_t j = 0; j < be; j++) {
            dst->expected[start + j] = finite ? x[j] : NAN;
            dst->err_scale[start + j] = finite ? quant_bound(dt.out, x, be, j) : 0.0;
        }
    }
}

static ax_status convert_run(ax_context *ctx, const op_case *c, op_dtype_pair dt, op_problem *p) {
    return ax_tensor_copy(ctx, op_in(p, "src"), op_out(p, "dst"));
}

/* To a float or integer dtype the result is exact: ax_convert's contract is one correct rounding of
 * the exact source value (and the same bits on every path and on CUDA). To a block dtype the
 * quantizer's freedom is bounded per element by quant_bound (err_scale). */
static op_tol convert_tolerance(const op_case *c, op_dtype_pair dt, op_backend be, const op_tensor *out) {
    op_tol t;
    memset(&t, 0, sizeof t);
    if (opd_is_block(dt.out)) t.scale_tol = 1.0;
    else t.exact = 1;
    return t;
}

/* The bytes of element (or, for block types, of the block holding element) `flat`. */
static const unsigned char *element_bytes(const op_tensor *t, const unsigned char *buffer, int64_t flat,
                                          int64_t *size) {
    const ax_dtype dt = t->t.dtype;
    const int64_t be = ax_dtype_block_elems(dt), bb = ax_dtype_block_bytes(dt);
    const int64_t off = t->origin + op_offset(t, flat); /* from the buffer's start */
    *size = bb;
    return buffer + (off / be) * bb;
}

/* Axial's K quantizers promise more than the bound the tolerance applies (axial.h, ax_convert):
 * every element is within half of its own sub-block's step (read here from the produced block),
 * and that step is at most twice the stated bound. The first catches a wrong level inside a block
 * whose step is far below the block-wide bound. */
static int k_quant_half_step(const op_tensor *dst, char *msg, size_t msg_size) {
    const ax_dtype dt = dst->t.dtype;
    const int64_t be = ax_dtype_block_elems(dt);
    const double factor = dt == AX_Q4_K ? 0.07 : 0.017;
    for (int64_t start = 0; start < dst->numel; start += be) {
        double A = 0.0;
        int nan_block = 0;
        for (int64_t j = 0; j < be; j++) {
            const double w = dst->expected[start + j];
            if (isnan(w)) nan_block = 1;
            else A = fmax(A, fabs(w));
        }
        if (nan_block) continue; /* the tolerance checks that it reads back all NaN */
        int64_t n;
        const uint8_t *block = element_bytes(dst, dst->result, start, &n);
        const double cap = 2 * (factor * A + ldexp(1.0, -20));
        const double slack = ldexp(A, -20) + ldexp(1.0, -40); /* the decoder's fp32 roundings */
        for (int64_t j = 0; j < be; j++) {
            const double step = opd_block_step(dt, block, j);
            const double got = opd_block_decode(dt, block, j), want = dst->expected[start + j];
            if (!(fabs(got - want) <= step / 2 + slack) || !(step <= cap)) {
                snprintf(msg, msg_size, "%s element %lld: got %.9g, want %.9g, its sub-block's step %.6g (cap %.6g)",
                         ax_dtype_name(dt), (long long)(start + j), got, want, step, cap);
                return 0;
            }
        }
    }
    return 1;
}

/* Equal dtypes are copied bit for bit (NaN payloads, block bytes). */
static int convert_extra_check(const op_case *c, op_dtype_pair dt, const op_problem *p, char *msg, size_t msg_size) {
    const op_tensor *src = &p->tensors[0], *dst = &p->tensors[1];
    if (dt.in != dt.out)
        return (dt.out == AX_Q4_K || dt.out == AX_Q6_K) ? k_quant_half_step(dst, msg, msg_size) : 1;
    const int64_t step = ax_dtype_block_elems(dt.in);
    for (int64_t i = 0; i < src->numel; i += step) {
        int64_t n;
        const unsigned char *a = element_bytes(src, src->host, i, &n), *b = element_bytes(dst, dst->result, i, &n);
        if (memcmp(a, b, (size_t)n) != 0) {
            snprintf(msg, msg_size, "same-dtype copy is not bit for bit at element %lld", (long long)i);
            return 0;
        }
    }
    return 1;
}

const op_table op_table_convert = {
    .name = "convert",
    .make_case = convert_make_case,
    .setup = convert_setup,
    .reference = convert_reference,
    .run = convert_run,
    .tolerance = convert_tolerance,
    .extra_check = convert_extra_check,
};
