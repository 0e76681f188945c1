/*
 * test_dtype.c — dtype sizes and the fp32 <-> bf16/fp16 conversions, exhaustively over all 65,536
 * 16-bit patterns, against a reference built from the IEEE definitions in double precision.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "core/dtype_convert.h"
#include "harness.h"

static float bits_to_float(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static uint32_t float_to_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

/* The value a 16-bit pattern denotes, from the format's definition (exp bits, mantissa bits, bias). */
static double decode16(uint16_t h, int exp_bits, int mant_bits) {
    const int bias = (1 << (exp_bits - 1)) - 1;
    const int sign = h >> 15;
    const int e = (h >> mant_bits) & ((1 << exp_bits) - 1);
    const int m = h & ((1 << mant_bits) - 1);
    double v;
    if (e == (1 << exp_bits) - 1) v = m ? NAN : INFINITY;
    else if (e == 0) v = ldexp((double)m, 1 - bias - mant_bits);
    else v = ldexp(1.0 + ldexp((double)m, -mant_bits), e - bias);
    return sign ? -v : v;
}
static double ref_f16(uint16_t h) { return decode16(h, 5, 10); }
static double ref_bf16(uint16_t h) { return decode16(h, 8, 7); }

static void test_sizes_and_names(void) {
    CHECK_INT_EQ(ax_dtype_size(AX_F32), 4);
    CHECK_INT_EQ(ax_dtype_size(AX_F16), 2);
    CHECK_INT_EQ(ax_dtype_size(AX_BF16), 2);
    CHECK_INT_EQ(ax_dtype_size(AX_F64), 8);
    CHECK_INT_EQ(ax_dtype_size(AX_I32), 4);
    CHECK_INT_EQ(ax_dtype_size(AX_I64), 8);
    CHECK_INT_EQ(ax_dtype_size(AX_U8), 1);
    CHECK_INT_EQ(ax_dtype_size(AX_I8), 1);
    CHECK_INT_EQ(ax_dtype_size((ax_dtype)99), 0);
    CHECK_STR_EQ(ax_dtype_name(AX_BF16), "bf16");
    CHECK_STR_EQ(ax_dtype_name((ax_dtype)99), "unknown");
}

/* Every pattern decodes to the value its definition gives, and encodes back to itself. */
static void check_all_patterns(const char *name, float (*to_f32)(uint16_t), uint16_t (*from_f32)(float),
                               double (*ref)(uint16_t)) {
    int bad_decode = 0, bad_roundtrip = 0, bad_nan = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        const double want = ref((uint16_t)h);
        const float got = to_f32((uint16_t)h);
        if (isnan(want)) {
            if (!isnan(got) || !isnan(to_f32(from_f32(got)))) bad_nan++;
            /* sign of a NaN is kept */
            if ((float_to_bits(got) >> 31) != (h >> 15)) bad_nan++;
            continue;
        }
        if ((double)got != want || !signbit(got) != !signbit(want)) {
            if (bad_decode++ < 5) TH_FAIL("%s pattern 0x%04x decodes to %.9g, expected %.9g", name, h, got, want);
        }
        if (from_f32(got) != h) {
            if (bad_roundtrip++ < 5) TH_FAIL("%s pattern 0x%04x round-trips to 0x%04x", name, h, from_f32(got));
        }
    }
    CHECK_INT_EQ(bad_decode, 0);
    CHECK_INT_EQ(bad_roundtrip, 0);
    CHECK_INT_EQ(bad_nan, 0);
}

static void test_bf16_all_patterns(void) { check_all_patterns("bf16", ax_bf16_to_f32, ax_f32_to_bf16, ref_bf16); }
static void test_f16_all_patterns(void) { check_all_patterns("f16", ax_f16_to_f32, ax_f32_to_f16, ref_f16); }

/* Reference rounding: the nearest finite value among all patterns of the format (ties to the even
 * pattern), or Inf past the overflow threshold (the midpoint between the largest finite value and
 * the next power of two). */
typedef struct sorted_values {
    double v[65536];
    uint16_t bits[65536];
    int n;
    double overflow;
} sorted_values;

static sorted_values f16_table, bf16_table;

static void build_table(sorted_values *t, double (*ref)(uint16_t), int exp_bits, int mant_bits) {
    /* Non-negative finite patterns in increasing order are increasing integers. */
    t->n = 0;
    const uint32_t inf_bits = ((1u << exp_bits) - 1u) << mant_bits;
    for (uint32_t h = 0; h < inf_bits; h++) {
        t->v[t->n] = ref((uint16_t)h);
        t->bits[t->n] = (uint16_t)h;
        t->n++;
    }
    const double max_finite = t->v[t->n - 1];
    const double ulp = max_finite - t->v[t->n - 2];
    t->overflow = max_finite + ulp / 2;
}

static uint16_t ref_round(const sorted_values *t, double x) {
    const uint16_t sign = signbit(x) ? 0x8000 : 0;
    const double a = fabs(x);
    const uint16_t inf = t == &f16_table ? 0x7c00 : 0x7f80;
    if (a >= t->overflow) return sign | inf;
    int lo = 0, hi = t->n - 1;
    while (hi - lo > 1) {
        const int mid = (lo + hi) / 2;
        if (t->v[mid] <= a) lo = mid; else hi = mid;
    }
    uint16_t pick;
    const double dlo = a - t->v[lo], dhi = t->v[hi] - a;
    if (a >= t->v[hi]) pick = t->bits[hi];
    else if (dlo < dhi) pick = t->bits[lo];
    else if (dhi < dlo) pick = t->bits[hi];
    else pick = (t->bits[lo] & 1) ? t->bits[hi] : t->bits[lo];
    return sign | pick;
}

static void check_rounding(const char *name, const sorted_values *t, uint16_t (*from_f32)(float)) {
    int bad = 0, tried = 0;
    /* Every midpoint between neighbours (exact in fp32), and one fp32 ulp either side. */
    for (int i = 0; i + 1 < t->n; i++) {
        const float mid = (float)((t->v[i] + t->v[i + 1]) / 2);
        const float cands[3] = {mid, nextafterf(mid, 0.0f), nextafterf(mid, INFINITY)};
        for (int c = 0; c < 3; c++)
            for (int s = 0; s < 2; s++) {
                const float x = s ? -cands[c] : cands[c];
                tried++;
                const uint16_t want = ref_round(t, x), got = from_f32(x);
                if (want != got && bad++ < 5) TH_FAIL("%s(%.9g): got 0x%04x, expected 0x%04x", name, x, got, want);
            }
    }
    /* Random fp32 across the whole exponent range, including overflow and underflow. */
    th_seed(42);
    for (int i = 0; i < 300000; i++) {
        const float x = bits_to_float((uint32_t)th_rand_u64());
        if (isnan(x)) continue;
        tried++;
        const uint16_t want = isinf(x) ? (uint16_t)((signbit(x) ? 0x8000 : 0) | (t == &f16_table ? 0x7c00 : 0x7f80))
                                       : ref_round(t, x);
        const uint16_t got = from_f32(x);
        if (want != got && bad++ < 5) TH_FAIL("%s(%.9g): got 0x%04x, expected 0x%04x", name, x, got, want);
    }
    CHECK_INT_EQ(bad, 0);
    CHECK(tried > 300000);
}

static void test_f32_to_f16_rounding(void) { check_rounding("ax_f32_to_f16", &f16_table, ax_f32_to_f16); }
static void test_f32_to_bf16_rounding(void) { check_rounding("ax_f32_to_bf16", &bf16_table, ax_f32_to_bf16); }

static void test_nan_inf_zero(void) {
    CHECK(isnan(ax_bf16_to_f32(ax_f32_to_bf16(NAN))));
    CHECK(isnan(ax_f16_to_f32(ax_f32_to_f16(NAN))));
    /* A signalling NaN whose payload lives only in the low bits must stay a NaN, not become Inf. */
    const float snan = bits_to_float(0x7f800001u);
    CHECK(isnan(ax_bf16_to_f32(ax_f32_to_bf16(snan))));
    CHECK(isnan(ax_f16_to_f32(ax_f32_to_f16(snan))));
    CHECK_INT_EQ(ax_f32_to_f16(INFINITY), 0x7c00);
    CHECK_INT_EQ(ax_f32_to_f16(-INFINITY), 0xfc00);
    CHECK_INT_EQ(ax_f32_to_bf16(-INFINITY), 0xff80);
    CHECK_INT_EQ(ax_f32_to_f16(-0.0f), 0x8000);
    CHECK_INT_EQ(ax_f32_to_bf16(-0.0f), 0x8000);
    CHECK_INT_EQ(ax_f32_to_f16(65520.0f), 0x7c00); /* the overflow threshold rounds to Inf */
    CHECK_INT_EQ(ax_f32_to_f16(65519.0f), 0x7bff);
    CHECK_INT_EQ(ax_f32_to_f16(ldexpf(1.0f, -24)), 0x0001); /* smallest fp16 denormal */
    CHECK_INT_EQ(ax_f32_to_f16(ldexpf(1.0f, -25)), 0x0000); /* half of it: tie to even (zero) */
    CHECK_INT_EQ(ax_f32_to_bf16(bits_to_float(0x00000001u)), 0x0000); /* fp32 denormal rounds to zero */
    CHECK_INT_EQ(ax_f32_to_bf16(bits_to_float(0x00010000u)), 0x0001); /* bf16 denormal kept */
}

/* The vector kernels must give the same bits as the scalar functions, NaNs included. */
static void test_vector_paths_match_scalar(void) {
    enum { n = 65536 + 13 };
    static float f[n], back_vec[n], back_ref[n];
    static uint16_t h_vec[n], h_ref[n];
    th_seed(7);
    for (int i = 0; i < n; i++) {
        if (i < 65536) f[i] = ax_f16_to_f32((uint16_t)i) * (i % 3 == 0 ? 1.0009765625f : 1.0f);
        else f[i] = (float)th_uniform(-1e5, 1e5);
    }
    f[5] = bits_to_float(0x7f800001u);
    f[6] = bits_to_float(0xffc12345u);
    const ax_cpu_path paths[2] = {AX_CPU_PATH_PORTABLE, AX_CPU_PATH_AVX2};
    for (int pi = 0; pi < 2; pi++) {
        if (ax_cpu_path_set(paths[pi]) != AX_OK) {
            printf("  (path %s not supported by this CPU: skipped)\n", ax_cpu_path_name(paths[pi]));
            continue;
        }
        for (int fmt = 0; fmt < 2; fmt++) {
            const ax_dtype dt = fmt ? AX_F16 : AX_BF16;
            CHECK_OK(ax_convert(f, AX_F32, h_vec, dt, n));
            for (int i = 0; i < n; i++) h_ref[i] = fmt ? ax_f32_to_f16(f[i]) : ax_f32_to_bf16(f[i]);
            int bad = 0;
            for (int i = 0; i < n; i++)
                if (h_vec[i] != h_ref[i] && bad++ < 3)
                    TH_FAIL("path %s %s: element %d (%.9g) got 0x%04x, scalar 0x%04x", ax_cpu_path_name(paths[pi]),
                            ax_dtype_name(dt), i, f[i], h_vec[i], h_ref[i]);
            CHECK_INT_EQ(bad, 0);
            CHECK_OK(ax_convert(h_ref, dt, back_vec, AX_F32, n));
            for (int i = 0; i < n; i++) back_ref[i] = fmt ? ax_f16_to_f32(h_ref[i]) : ax_bf16_to_f32(h_ref[i]);
            CHECK(memcmp(back_vec, back_ref, sizeof back_vec) == 0);
        }
    }
    CHECK_OK(ax_cpu_path_set(AX_CPU_PATH_AUTO));
}

/* 16-bit -> f32 gives the same bits on every path, contiguous or strided, for all 65536 codes: fp16
 * NaNs quiet (as F16C converts them), bf16 bits kept. Before, the vector paths quieted fp16
 * signalling NaNs where the scalar codec (tails, portable path) kept them, and a strided copy
 * quieted bf16 ones (through double) where the contiguous shift kept them. */
static void test_widening_same_bits_everywhere(void) {
    enum { n = 65536 };
    static uint16_t codes[n];
    static float contiguous[n], strided[2 * n];
    for (int i = 0; i < n; i++) codes[i] = (uint16_t)i;
    ax_context *ctx = NULL;
    CHECK_OK(ax_context_create(&ctx, NULL));
    if (ctx == NULL) return;
    const ax_cpu_path paths[3] = {AX_CPU_PATH_PORTABLE, AX_CPU_PATH_AVX2, AX_CPU_PATH_AVX512};
    for (int pi = 0; pi < 3; pi++) {
        if (ax_cpu_path_set(paths[pi]) != AX_OK) continue;
        for (int fmt = 0; fmt < 2; fmt++) {
            const ax_dtype dt = fmt ? AX_F16 : AX_BF16;
            CHECK_OK(ax_convert(codes, dt, contiguous, AX_F32, n));
            const int64_t shape = n, two = 2;
            ax_tensor src, dst;
            ax_tensor_contiguous(&src, codes, dt, 1, &shape);
            ax_tensor_contiguous(&dst, strided, AX_F32, 1, &shape);
            dst.strides[0] = two;
            CHECK_OK(ax_tensor_copy(ctx, &src, &dst));
            int bad = 0;
            for (int i = 0; i < n; i++) {
                const uint32_t want_scalar = float_to_bits(fmt ? ax_f16_to_f32(codes[i]) : ax_bf16_to_f32(codes[i]));
                /* Independent expectations: bf16 is the top half of an f32; an fp16 NaN gains the quiet bit. */
                const uint32_t mant = (uint32_t)i & 0x3ffu;
                const int f16_nan = ((i >> 10) & 0x1f) == 0x1f && mant != 0;
                const uint32_t want = fmt ? (f16_nan ? ((uint32_t)(i & 0x8000) << 16) | 0x7fc00000u | (mant << 13)
                                                     : want_scalar)
                                          : (uint32_t)i << 16;
                const uint32_t got_c = float_to_bits(contiguous[i]), got_s = float_to_bits(strided[2 * i]);
                if ((got_c != want || got_s != want || want_scalar != want) && bad++ < 3)
                    TH_FAIL("path %s %s code 0x%04x: contiguous 0x%08x, strided 0x%08x, scalar 0x%08x, expected "
                            "0x%08x", ax_cpu_path_name(paths[pi]), ax_dtype_name(dt), i, got_c, got_s, want_scalar,
                            want);
            }
            CHECK_INT_EQ(bad, 0);
        }
    }
    CHECK_OK(ax_cpu_path_set(AX_CPU_PATH_AUTO));
    ax_context_destroy(ctx);
}

/* f64 -> 16 bit rounds once: values just above a midpoint must round up even where going through
 * fp32 first would land exactly on the midpoint and round to even (down). */
static void test_f64_conversion_rounds_once(void) {
    int bad = 0;
    for (int i = 0; i + 1 < f16_table.n; i += 97) {
        const double mid = (f16_table.v[i] + f16_table.v[i + 1]) / 2;
        const double xs[2] = {mid + mid * 1e-12, mid - mid * 1e-12};
        for (int k = 0; k < 2; k++) {
            uint16_t got;
            CHECK_OK(ax_convert(&xs[k], AX_F64, &got, AX_F16, 1));
            const uint16_t want = ref_round(&f16_table, xs[k]);
            if (got != want && bad++ < 3) TH_FAIL("f64 %.17g -> f16: got 0x%04x, expected 0x%04x", xs[k], got, want);
        }
    }
    CHECK_INT_EQ(bad, 0);
    const double d[3] = {1.0 + 1e-10, -2.5, 1e300};
    float f[3];
    CHECK_OK(ax_convert(d, AX_F64, f, AX_F32, 3));
    CHECK(f[0] == 1.0f && f[1] == -2.5f && isinf(f[2]));
}

static void test_convert_errors(void) {
    float f[2] = {0};
    CHECK_STATUS(ax_convert(f, AX_I32, f, AX_F32, 2), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "src_dtype");
    CHECK_STATUS(ax_convert(NULL, AX_F32, f, AX_F16, 2), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "src: NULL");
    CHECK_STATUS(ax_convert(f, AX_F32, f, AX_F16, -1), AX_ERR_INVALID_ARGUMENT);
    CHECK_OK(ax_convert(NULL, AX_F32, NULL, AX_F16, 0));
}

int main(void) {
    build_table(&f16_table, ref_f16, 5, 10);
    build_table(&bf16_table, ref_bf16, 8, 7);
    RUN(test_sizes_and_names);
    RUN(test_bf16_all_patterns);
    RUN(test_f16_all_patterns);
    RUN(test_f32_to_f16_rounding);
    RUN(test_f32_to_bf16_rounding);
    RUN(test_nan_inf_zero);
    RUN(test_vector_paths_match_scalar);
    RUN(test_widening_same_bits_everywhere);
    RUN(test_f64_conversion_rounds_once);
    RUN(test_convert_errors);
    return th_finish();
}
