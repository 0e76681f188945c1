/*
 * test_quant.c — the fp8 and block-quantized dtypes in C, against references written here from the
 * formats' definitions: fp8 decoding and rounding (every code, every midpoint), block decoding of
 * random bytes, known-answer quantization, the Q4_K / Q6_K error bounds of axial.h, NaN/Inf blocks,
 * and ax_convert's errors. (tests/python/test_dtype_gguf.py checks the same against the `gguf` and
 * `ml_dtypes` packages.)
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "harness.h"

static uint32_t float_to_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static float bits_to_float(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

static void test_sizes_and_block_geometry(void) {
    const struct { ax_dtype dt; const char *name; int64_t elems, bytes; size_t size; } want[] = {
        {AX_F8_E4M3FN, "f8_e4m3fn", 1, 1, 1}, {AX_F8_E5M2, "f8_e5m2", 1, 1, 1},
        {AX_Q4_0, "q4_0", 32, 18, 0},        {AX_Q4_1, "q4_1", 32, 20, 0},
        {AX_Q8_0, "q8_0", 32, 34, 0},        {AX_Q4_K, "q4_k", 256, 144, 0},
        {AX_Q6_K, "q6_k", 256, 210, 0},      {AX_F32, "f32", 1, 4, 4},
        {AX_BF16, "bf16", 1, 2, 2},          {AX_I64, "i64", 1, 8, 8},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        CHECK_STR_EQ(ax_dtype_name(want[i].dt), want[i].name);
        CHECK_INT_EQ(ax_dtype_block_elems(want[i].dt), want[i].elems);
        CHECK_INT_EQ(ax_dtype_block_bytes(want[i].dt), want[i].bytes);
        CHECK_INT_EQ(ax_dtype_size(want[i].dt), want[i].size);
    }
    CHECK_INT_EQ(ax_dtype_block_elems((ax_dtype)99), 0);
    CHECK_INT_EQ(ax_dtype_block_bytes((ax_dtype)99), 0);
    CHECK_STR_EQ(ax_dtype_name((ax_dtype)15), "unknown");
    CHECK_INT_EQ(ax_dtype_bytes(AX_Q4_K, 512), 288);
    CHECK_INT_EQ(ax_dtype_bytes(AX_Q8_0, 64), 68);
    CHECK_INT_EQ(ax_dtype_bytes(AX_F16, 3), 6);
    CHECK_INT_EQ(ax_dtype_bytes(AX_Q4_0, 33), -1);
    CHECK_INT_EQ(ax_dtype_bytes(AX_F32, -1), -1);
    CHECK_INT_EQ(ax_dtype_bytes(AX_F64, INT64_MAX / 4), -1);
    CHECK_INT_EQ(ax_dtype_bytes((ax_dtype)99, 1), -1);
}

/* ---- fp8 ---- */

typedef struct fp8_def {
    const char *name;
    ax_dtype dtype;
    int exp_bits, mant_bits, ieee; /* ieee: Inf and NaN take the top exponent (E5M2); else E4M3FN's NaN-only */
    float (*decode)(uint8_t);
    uint8_t (*encode)(float);
} fp8_def;

static const fp8_def fp8_defs[2] = {
    {"f8_e4m3fn", AX_F8_E4M3FN, 4, 3, 0, ax_f8_e4m3fn_to_f32, ax_f32_to_f8_e4m3fn},
    {"f8_e5m2", AX_F8_E5M2, 5, 2, 1, ax_f8_e5m2_to_f32, ax_f32_to_f8_e5m2},
};

/* The value a code denotes, from the definition. */
static double ref_fp8(const fp8_def *f, uint8_t b) {
    const int bias = (1 << (f->exp_bits - 1)) - 1, top = (1 << f->exp_bits) - 1;
    const int e = (b >> f->mant_bits) & top, m = b & ((1 << f->mant_bits) - 1);
    double v;
    if (f->ieee && e == top) v = m ? NAN : INFINITY;
    else if (!f->ieee && e == top && m == (1 << f->mant_bits) - 1) v = NAN;
    else if (e == 0) v = ldexp(m, 1 - bias - f->mant_bits);
    else v = ldexp(1.0 + ldexp(m, -f->mant_bits), e - bias);
    return (b & 0x80) ? -v : v;
}

static void test_fp8_every_code(void) {
    for (int k = 0; k < 2; k++) {
        const fp8_def *f = &fp8_defs[k];
        int bad = 0;
        for (int b = 0; b < 256; b++) {
            const double want = ref_fp8(f, (uint8_t)b);
            const float got = f->decode((uint8_t)b);
            if (isnan(want)) {
                /* NaN reads as the quiet NaN with the code's sign (ml_dtypes' bits). */
                const uint32_t q = (b & 0x80) ? 0xffc00000u : 0x7fc00000u;
                if (float_to_bits(got) != q && bad++ < 3) TH_FAIL("%s 0x%02x: NaN bits 0x%08x", f->name, b, float_to_bits(got));
                continue;
            }
            if (((double)got != want || !signbit(got) != !signbit(want)) && bad++ < 3)
                TH_FAIL("%s 0x%02x decodes to %.9g, expected %.9g", f->name, b, got, want);
            if (f->encode(got) != b && bad++ < 3) TH_FAIL("%s 0x%02x round-trips to 0x%02x", f->name, b, f->encode(got));
        }
        CHECK_INT_EQ(bad, 0);
    }
}

/* Nearest code to |x| among the finite non-negative ones, ties to the even code; past the largest
 * finite value's upper midpoint (or on it, when that code is odd) the format overflows. */
static uint8_t ref_round_fp8(const fp8_def *f, double x) {
    const uint8_t sign = signbit(x) ? 0x80 : 0;
    const uint8_t nan = f->ieee ? 0x7e : 0x7f, overflow = f->ieee ? 0x7c : 0x7f;
    if (isnan(x)) return sign | nan;
    const double a = fabs(x);
    int max_code = 0;
    while (max_code + 1 < 128 && isfinite(ref_fp8(f, (uint8_t)(max_code + 1)))) max_code++;
    const double max = ref_fp8(f, (uint8_t)max_code), ulp = max - ref_fp8(f, (uint8_t)(max_code - 1));
    if (a > max + ulp / 2 || (a == max + ulp / 2 && (max_code & 1))) return sign | overflow;
    uint8_t best = 0;
    for (int c = 1; c <= max_code; c++) {
        const double dc = fabs(ref_fp8(f, (uint8_t)c) - a), db = fabs(ref_fp8(f, best) - a);
        if (dc < db || (dc == db && !(c & 1))) best = (uint8_t)c;
    }
    return sign | best;
}

static void test_fp8_rounding(void) {
    th_seed(8);
    for (int k = 0; k < 2; k++) {
        const fp8_def *f = &fp8_defs[k];
        int bad = 0, tried = 0;
        for (int c = 0; c < 128; c++) {
            const double lo = ref_fp8(f, (uint8_t)c), hi = ref_fp8(f, (uint8_t)(c + 1));
            if (!isfinite(lo)) break;
            /* The next step past the largest finite value is the one the format would have. */
            const double next = isfinite(hi) ? hi : lo + (lo - ref_fp8(f, (uint8_t)(c - 1)));
            const float mid = (float)((lo + next) / 2);
            const float cands[5] = {(float)lo, mid, nextafterf(mid, 0.0f), nextafterf(mid, INFINITY), (float)next};
            for (int i = 0; i < 5; i++)
                for (int s = 0; s < 2; s++) {
                    const float x = s ? -cands[i] : cands[i];
                    const uint8_t want = ref_round_fp8(f, x), got = f->encode(x);
                    tried++;
                    if (want != got && bad++ < 5) TH_FAIL("%s(%.9g): got 0x%02x, expected 0x%02x", f->name, x, got, want);
                }
        }
        for (int i = 0; i < 20000; i++) {
            const float x = (float)(th_uniform(-1, 1) * ldexp(1.0, (int)th_uniform(-30, 20)));
            const uint8_t want = ref_round_fp8(f, x), got = f->encode(x);
            tried++;
            if (want != got && bad++ < 5) TH_FAIL("%s(%.9g): got 0x%02x, expected 0x%02x", f->name, x, got, want);
        }
        CHECK_INT_EQ(bad, 0);
        CHECK(tried > 20000);
    }
    /* The documented edges. */
    CHECK_INT_EQ(ax_f32_to_f8_e4m3fn(448.0f), 0x7e);
    CHECK_INT_EQ(ax_f32_to_f8_e4m3fn(464.0f), 0x7e); /* the midpoint to the missing 480: ties to even */
    CHECK_INT_EQ(ax_f32_to_f8_e4m3fn(464.5f), 0x7f); /* NaN: no Inf to overflow to */
    CHECK_INT_EQ(ax_f32_to_f8_e4m3fn(-INFINITY), 0xff);
    CHECK_INT_EQ(ax_f32_to_f8_e4m3fn(-NAN), 0xff);
    CHECK_INT_EQ(ax_f32_to_f8_e4m3fn(-0.0f), 0x80);
    CHECK_INT_EQ(ax_f32_to_f8_e4m3fn(ldexpf(1.0f, -10)), 0x00); /* half the smallest subnormal: even */
    CHECK_INT_EQ(ax_f32_to_f8_e4m3fn(ldexpf(1.5f, -10)), 0x01);
    CHECK_INT_EQ(ax_f32_to_f8_e5m2(61439.0f), 0x7b);
    CHECK_INT_EQ(ax_f32_to_f8_e5m2(61440.0f), 0x7c); /* Inf */
    CHECK_INT_EQ(ax_f32_to_f8_e5m2(bits_to_float(0x7f800001u)), 0x7e);
    CHECK_INT_EQ(ax_f32_to_f8_e5m2(bits_to_float(0xffc12345u)), 0xfe);
    CHECK_INT_EQ(ax_f32_to_f8_e5m2(bits_to_float(0x00000001u)), 0x00);
    CHECK(isinf(ax_f8_e5m2_to_f32(0xfc)) && ax_f8_e5m2_to_f32(0xfc) < 0);
}

/* Arrays convert as the scalar functions do, from every float type; f64 rounds once. */
static void test_fp8_arrays(void) {
    enum { n = 4096 };
    static float f[n];
    static double d[n];
    static uint16_t h[n];
    static uint8_t got[n];
    th_seed(3);
    for (int i = 0; i < n; i++) f[i] = (float)(th_uniform(-1, 1) * ldexp(1.0, (int)th_uniform(-20, 18)));
    f[0] = NAN;
    f[1] = -INFINITY;
    for (int k = 0; k < 2; k++) {
        const fp8_def *fd = &fp8_defs[k];
        CHECK_OK(ax_convert(f, AX_F32, got, fd->dtype, n));
        int bad = 0;
        for (int i = 0; i < n; i++) bad += got[i] != fd->encode(f[i]);
        CHECK_INT_EQ(bad, 0);
        for (int i = 0; i < n; i++) h[i] = ax_f32_to_f16(f[i]);
        CHECK_OK(ax_convert(h, AX_F16, got, fd->dtype, n));
        bad = 0;
        for (int i = 0; i < n; i++) bad += got[i] != fd->encode(ax_f16_to_f32(h[i]));
        CHECK_INT_EQ(bad, 0);
        /* Just above a midpoint between two codes: through f32 it would be a tie; once, it rounds up. */
        bad = 0;
        for (int c = 1; c < 100; c++) {
            const double mid = (ref_fp8(fd, (uint8_t)c) + ref_fp8(fd, (uint8_t)(c + 1))) / 2;
            d[c] = mid * (1 + 1e-12);
            uint8_t one;
            CHECK_OK(ax_convert(&d[c], AX_F64, &one, fd->dtype, 1));
            bad += one != ref_round_fp8(fd, d[c]);
        }
        CHECK_INT_EQ(bad, 0);
        /* fp8 -> every type is exact. */
        uint8_t codes[256];
        double back[256];
        for (int c = 0; c < 256; c++) codes[c] = (uint8_t)c;
        CHECK_OK(ax_convert(codes, fd->dtype, back, AX_F64, 256));
        bad = 0;
        for (int c = 0; c < 256; c++) {
            const double want = ref_fp8(fd, (uint8_t)c);
            bad += isnan(want) ? !isnan(back[c]) : back[c] != want;
        }
        CHECK_INT_EQ(bad, 0);
    }
    uint8_t e5[4] = {0x3c, 0xbc, 0x7c, 0x01}; /* 1, -1, Inf, the smallest subnormal */
    uint16_t f16[4];
    CHECK_OK(ax_convert(e5, AX_F8_E5M2, f16, AX_F16, 4));
    CHECK_INT_EQ(f16[0], 0x3c00); /* E5M2 is the top byte of an fp16 */
    CHECK_INT_EQ(f16[1], 0xbc00);
    CHECK_INT_EQ(f16[2], 0x7c00);
    CHECK_INT_EQ(f16[3], 0x0100);
}

/* ---- blocks: a reference decoder from the format descriptions in axial.h ---- */

static float ref_half(const uint8_t *p) { return ax_f16_to_f32((uint16_t)(p[0] | (p[1] << 8))); }

/* Element i of one block, computed as the gguf package does (fp32, one rounding per operation). */
static float ref_decode(ax_dtype dt, const uint8_t *b, int i) {
    volatile float t; /* one rounding per step, whatever the compiler's contraction settings */
    switch (dt) {
    case AX_Q4_0: {
        const int q = (i < 16 ? b[2 + i] & 15 : b[2 + i - 16] >> 4) - 8;
        return ref_half(b) * (float)q;
    }
    case AX_Q4_1: {
        const int q = i < 16 ? b[4 + i] & 15 : b[4 + i - 16] >> 4;
        t = ref_half(b) * (float)q;
        return t + ref_half(b + 2);
    }
    case AX_Q8_0: return (float)(int8_t)b[2 + i] * ref_half(b);
    case AX_Q4_K: {
        const int j = i / 32, pair = j / 2;
        const int q = ((b[16 + 32 * pair + i % 32]) >> (4 * (j % 2))) & 15;
        int sc, mn;
        if (j < 4) {
            sc = b[4 + j] & 63;
            mn = b[8 + j] & 63;
        } else {
            sc = (b[4 + j + 4] & 15) | ((b[4 + j - 4] >> 6) << 4);
            mn = (b[4 + j + 4] >> 4) | ((b[4 + j] >> 6) << 4);
        }
        t = ref_half(b) * (float)sc;
        const float step = t;
        t = ref_half(b + 2) * (float)mn;
        const float m = t;
        t = step * (float)q;
        return t - m;
    }
    case AX_Q6_K: {
        const int h = i / 128, r = i % 128;
        const int low = (b[64 * h + r % 64] >> (4 * (r / 64))) & 15;
        const int high = (b[128 + 32 * h + r % 32] >> (2 * (r / 32))) & 3;
        t = ref_half(b + 208) * (float)(int8_t)b[192 + i / 16];
        return t * (float)((low | (high << 4)) - 32);
    }
    default: return NAN;
    }
}

static const ax_dtype block_types[5] = {AX_Q4_0, AX_Q4_1, AX_Q8_0, AX_Q4_K, AX_Q6_K};

static int same_float_bits(float a, float b) { return float_to_bits(a) == float_to_bits(b) || (isnan(a) && isnan(b)); }

static void test_block_decode_random_bytes(void) {
    enum { blocks = 64 };
    static uint8_t q[blocks * 210];
    static float y[blocks * 256];
    th_seed(21);
    for (int k = 0; k < 5; k++) {
        const ax_dtype dt = block_types[k];
        const int64_t be = ax_dtype_block_elems(dt), bb = ax_dtype_block_bytes(dt);
        for (int64_t i = 0; i < blocks * bb; i++) q[i] = (uint8_t)th_rand_u64();
        CHECK_OK(ax_convert(q, dt, y, AX_F32, blocks * be));
        int bad = 0;
        for (int64_t blk = 0; blk < blocks; blk++)
            for (int i = 0; i < be; i++) {
                const float want = ref_decode(dt, q + blk * bb, i), got = y[blk * be + i];
                if (!same_float_bits(want, got) && bad++ < 3)
                    TH_FAIL("%s block %lld element %d: %.9g, expected %.9g", ax_dtype_name(dt), (long long)blk, i, got,
                            want);
            }
        CHECK_INT_EQ(bad, 0);
    }
}

/* Known answers: values on the grid come back exactly, with the scales the reference would pick. */
static void test_block_known_answers(void) {
    float x[32], y[32];
    uint8_t q[34];
    for (int i = 0; i < 32; i++) x[i] = 0.5f * (float)((i % 16) - 8); /* -4 .. 3.5; first -4 sets d */
    CHECK_OK(ax_convert(x, AX_F32, q, AX_Q4_0, 32));
    CHECK_INT_EQ(q[0] | (q[1] << 8), 0x3800); /* d = -4 / -8 = 0.5 */
    CHECK_INT_EQ(q[2], 0x00);                 /* x = -4: q = 0, both nibbles */
    CHECK_INT_EQ(q[17], 0xff);                /* x = 3.5: q = 15 */
    CHECK_OK(ax_convert(q, AX_Q4_0, y, AX_F32, 32));
    CHECK(memcmp(x, y, sizeof x) == 0);
    for (int i = 0; i < 32; i++) x[i] = (float)(i - 16); /* -16 .. 15 */
    CHECK_OK(ax_convert(x, AX_F32, q, AX_Q4_1, 32));
    CHECK(ref_half(q) == ax_f16_to_f32(ax_f32_to_f16(31.0f / 15.0f)));
    CHECK(ref_half(q + 2) == -16.0f);
    for (int i = 0; i < 32; i++) x[i] = (float)(4 * i - 64); /* multiples of 4 up to |-64| */
    x[5] = 127.0f;                                           /* amax 127: d = 1, exact */
    CHECK_OK(ax_convert(x, AX_F32, q, AX_Q8_0, 32));
    CHECK_INT_EQ(q[0] | (q[1] << 8), 0x3c00);
    CHECK_OK(ax_convert(q, AX_Q8_0, y, AX_F32, 32));
    CHECK(memcmp(x, y, sizeof x) == 0);
    x[7] = 2.5f; /* roundf: half away from zero */
    x[8] = -2.5f;
    CHECK_OK(ax_convert(x, AX_F32, q, AX_Q8_0, 32));
    CHECK_INT_EQ((int8_t)q[2 + 7], 3);
    CHECK_INT_EQ((int8_t)q[2 + 8], -3);
    /* All zeros: zero scales, everything reads back as +0 or -0. */
    memset(x, 0, sizeof x);
    for (int k = 0; k < 3; k++) {
        CHECK_OK(ax_convert(x, AX_F32, q, block_types[k], 32));
        CHECK_OK(ax_convert(q, block_types[k], y, AX_F32, 32));
        for (int i = 0; i < 32; i++) CHECK(y[i] == 0.0f);
    }
}

/* The bounds stated in axial.h for our own K quantizers, over blocks of very different scales. */
static void test_k_quant_error_bounds(void) {
    enum { blocks = 400 };
    static float x[blocks * 256], y[blocks * 256];
    static uint8_t q[blocks * 210];
    const double factor[2] = {0.07, 0.017};
    th_seed(33);
    for (int k = 0; k < 2; k++) {
        const ax_dtype dt = k == 0 ? AX_Q4_K : AX_Q6_K;
        for (int b = 0; b < blocks; b++) {
            /* 2^-12 .. 2^20: the relative term of the bound dominates its 2^-20 absolute one (with
             * scales down to 2^-60 half the blocks were within 2^-20 whole: all zeros passed) */
            const double scale = ldexp(1.0, (int)th_uniform(-12, 21));
            const int kind = b % 4;
            for (int i = 0; i < 256; i++) {
                double v = th_uniform(-1, 1);
                if (kind == 1) v = v * 0.5 + 0.5;     /* all positive */
                if (kind == 2) v = -v * v;            /* all non-positive */
                if (kind == 3) v *= i == 77 ? 1 : 1e-3; /* one outlier */
                x[b * 256 + i] = (float)(v * scale);
            }
        }
        CHECK_OK(ax_convert(x, AX_F32, q, dt, blocks * 256));
        CHECK_OK(ax_convert(q, dt, y, AX_F32, blocks * 256));
        double worst = 0;
        int bad = 0;
        for (int b = 0; b < blocks; b++) {
            double a = 0;
            for (int i = 0; i < 256; i++) a = fmax(a, fabs(x[b * 256 + i]));
            const double bound = factor[k] * a + ldexp(1.0, -20);
            for (int i = 0; i < 256; i++) {
                const double err = fabs((double)y[b * 256 + i] - x[b * 256 + i]);
                worst = fmax(worst, err / bound);
                if (err > bound && bad++ < 3)
                    TH_FAIL("%s block %d element %d: error %.3g above the bound %.3g", ax_dtype_name(dt), b, i, err, bound);
            }
        }
        CHECK_INT_EQ(bad, 0);
        printf("  %s: worst error %.3f of the stated bound\n", ax_dtype_name(dt), worst);
    }
}

/* A NaN or an Inf poisons its own block (all NaN), nothing else. */
static void test_nan_inf_blocks(void) {
    static float x[2 * 256], y[2 * 256], clean[2 * 256];
    static uint8_t q[2 * 210], qc[2 * 210];
    th_seed(44);
    for (int k = 0; k < 5; k++) {
        const ax_dtype dt = block_types[k];
        const int64_t be = ax_dtype_block_elems(dt), n = 2 * be;
        for (int p = 0; p < 3; p++) {
            for (int64_t i = 0; i < n; i++) x[i] = clean[i] = (float)th_uniform(-3, 3);
            clean[be + 3] = 0.0f;
            x[be + 3] = p == 0 ? NAN : p == 1 ? INFINITY : -INFINITY; /* in the second block */
            CHECK_OK(ax_convert(x, AX_F32, q, dt, n));
            CHECK_OK(ax_convert(q, dt, y, AX_F32, n));
            int nan_count = 0;
            for (int64_t i = be; i < n; i++) nan_count += isnan(y[i]) != 0;
            CHECK_INT_EQ(nan_count, be);
            CHECK_OK(ax_convert(clean, AX_F32, qc, dt, n));
            CHECK(memcmp(q, qc, (size_t)ax_dtype_block_bytes(dt)) == 0); /* the first block as if alone */
        }
    }
}

/* Every CPU path gives the same bytes (the block code has no vector path; the f16 kernels do). */
static void test_paths_agree(void) {
    enum { n = 1024 };
    static float x[n];
    static uint16_t h[n];
    static uint8_t a[n * 2], b[n * 2];
    th_seed(55);
    for (int i = 0; i < n; i++) h[i] = ax_f32_to_f16(x[i] = (float)th_uniform(-50, 50));
    for (int k = 0; k < 5; k++) {
        CHECK_OK(ax_cpu_path_set(AX_CPU_PATH_PORTABLE));
        CHECK_OK(ax_convert(h, AX_F16, a, block_types[k], n));
        if (ax_cpu_path_set(AX_CPU_PATH_AUTO) != AX_OK) continue;
        CHECK_OK(ax_convert(h, AX_F16, b, block_types[k], n));
        CHECK(memcmp(a, b, (size_t)ax_dtype_bytes(block_types[k], n)) == 0);
    }
    CHECK_OK(ax_cpu_path_set(AX_CPU_PATH_AUTO));
}

static void test_convert_errors(void) {
    float f[64] = {0};
    uint8_t q[64];
    memset(q, 0xab, sizeof q);
    CHECK_STATUS(ax_convert(f, AX_F32, q, AX_Q4_0, 48), AX_ERR_INVALID_ARGUMENT);
    CHECK_STR_EQ(ax_last_error(), "count: 48 is not a whole number of q4_0 blocks (32 elements)");
    CHECK_STATUS(ax_convert(q, AX_Q8_0, f, AX_F32, 20), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "q8_0 blocks");
    CHECK_STATUS(ax_convert(q, AX_I8, f, AX_F32, 4), AX_ERR_INVALID_ARGUMENT);
    CHECK_STR_EQ(ax_last_error(), "src_dtype: i8 (7) is not a float or block-quantized dtype");
    CHECK_STATUS(ax_convert(f, AX_F32, q, (ax_dtype)77, 4), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "dst_dtype: unknown (77)");
    CHECK_STATUS(ax_convert(f, AX_F32, NULL, AX_Q4_K, 256), AX_ERR_INVALID_ARGUMENT);
    CHECK_OK(ax_convert(NULL, AX_Q4_K, NULL, AX_F32, 0));
    for (size_t i = 0; i < sizeof q; i++) CHECK_INT_EQ(q[i], 0xab); /* nothing written on errors */
}

int main(void) {
    RUN(test_sizes_and_block_geometry);
    RUN(test_fp8_every_code);
    RUN(test_fp8_rounding);
    RUN(test_fp8_arrays);
    RUN(test_block_decode_random_bytes);
    RUN(test_block_known_answers);
    RUN(test_k_quant_error_bounds);
    RUN(test_nan_inf_blocks);
    RUN(test_paths_agree);
    RUN(test_convert_errors);
    return th_finish();
}
