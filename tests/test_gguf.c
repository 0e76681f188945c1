/*
 * test_gguf.c — the GGUF reader against files written here byte by byte (a tiny writer independent
 * of the reader), hostile variants of them, and, with `--model PATH`, the real SmolLM2 file against
 * what its publisher and the `gguf` Python package say it holds.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axial/gguf.h"
#include "harness.h"

/* ---- the writer ------------------------------------------------------------------------------ */

typedef struct wbuf {
    uint8_t *p;
    size_t len, cap;
} wbuf;

static void w_bytes(wbuf *b, const void *src, size_t n) {
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n) cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (p == NULL) {
            fprintf(stderr, "test_gguf: out of memory\n");
            exit(2);
        }
        b->p = p;
        b->cap = cap;
    }
    if (n > 0) memcpy(b->p + b->len, src, n);
    b->len += n;
}

static void w_le(wbuf *b, uint64_t v, int bytes) {
    uint8_t tmp[8];
    for (int i = 0; i < bytes; i++) tmp[i] = (uint8_t)(v >> (8 * i));
    w_bytes(b, tmp, (size_t)bytes);
}
static void w_u32(wbuf *b, uint32_t v) { w_le(b, v, 4); }
static void w_u64(wbuf *b, uint64_t v) { w_le(b, v, 8); }
static void w_str(wbuf *b, const char *s) {
    w_u64(b, strlen(s));
    w_bytes(b, s, strlen(s));
}
static void w_header(wbuf *b, uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
    w_bytes(b, "GGUF", 4);
    w_u32(b, version);
    w_u64(b, n_tensors);
    w_u64(b, n_kv);
}
static void w_key(wbuf *b, const char *key, uint32_t type) {
    w_str(b, key);
    w_u32(b, type);
}
static void w_kv_u32(wbuf *b, const char *key, uint32_t v) {
    w_key(b, key, AX_GGUF_UINT32);
    w_u32(b, v);
}
static void w_tensor(wbuf *b, const char *name, uint32_t n_dims, const uint64_t *ne, uint32_t type, uint64_t off) {
    w_str(b, name);
    w_u32(b, n_dims);
    for (uint32_t d = 0; d < n_dims; d++) w_u64(b, ne[d]);
    w_u32(b, type);
    w_u64(b, off);
}
static void w_pad(wbuf *b, size_t align) {
    while (b->len % align != 0) w_le(b, 0, 1);
}
static void w_free(wbuf *b) {
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* ---- the sample file: every value type, three tensors -------------------------------------------- */

static const float sample_a[6] = {1.0f, -2.0f, 3.5f, 0.25f, -0.0f, 1e30f};
static const uint16_t sample_c[4] = {0x3c00, 0xc000, 0x0000, 0x7bff}; /* f16: 1, -2, 0, 65504 */

typedef struct sample_layout {
    size_t data_offset;
    size_t a_off, b_off, c_off; /* relative to the data section */
} sample_layout;

/* Writes a GGUF of version `version`; `alignment` 0 leaves general.alignment out (default 32). The
 * last tensor's data ends the file, so every shorter prefix is invalid. */
static sample_layout write_sample(wbuf *b, uint32_t version, uint32_t alignment) {
    sample_layout L;
    const size_t align = alignment ? alignment : 32;
    w_header(b, version, 3, alignment ? 17 : 16);
    w_key(b, "t.u8", AX_GGUF_UINT8); w_le(b, 200, 1);
    w_key(b, "t.i8", AX_GGUF_INT8); w_le(b, (uint8_t)-100, 1);
    w_key(b, "t.u16", AX_GGUF_UINT16); w_le(b, 60000, 2);
    w_key(b, "t.i16", AX_GGUF_INT16); w_le(b, (uint16_t)-30000, 2);
    w_kv_u32(b, "t.u32", 4000000000u);
    w_key(b, "t.i32", AX_GGUF_INT32); w_u32(b, (uint32_t)-2000000000);
    w_key(b, "t.f32", AX_GGUF_FLOAT32); w_u32(b, 0x3fc00000u);                   /* 1.5f */
    w_key(b, "t.bool", AX_GGUF_BOOL); w_le(b, 1, 1);
    w_key(b, "t.str", AX_GGUF_STRING); w_str(b, "hello, gguf");
    w_key(b, "t.u64", AX_GGUF_UINT64); w_u64(b, 0x8000000000000005ull);
    w_key(b, "t.i64", AX_GGUF_INT64); w_u64(b, (uint64_t)-4611686018427387904ll); /* -2^62 */
    w_key(b, "t.f64", AX_GGUF_FLOAT64); w_u64(b, 0x400921fb54442d18ull);         /* pi */
    w_key(b, "t.arr_i16", AX_GGUF_ARRAY); w_u32(b, AX_GGUF_INT16); w_u64(b, 3);
    w_le(b, 7, 2); w_le(b, (uint16_t)-8, 2); w_le(b, 32767, 2);
    w_key(b, "t.arr_str", AX_GGUF_ARRAY); w_u32(b, AX_GGUF_STRING); w_u64(b, 3);
    w_str(b, "a"); w_str(b, ""); w_str(b, "\xc4\xa0t");
    w_key(b, "t.arr_f32", AX_GGUF_ARRAY); w_u32(b, AX_GGUF_FLOAT32); w_u64(b, 2);
    w_u32(b, 0xbf800000u); w_u32(b, 0x40490fdbu);                                 /* -1, 3.14159274 */
    /* [[1, 2], ["x"], []] */
    w_key(b, "t.nested", AX_GGUF_ARRAY); w_u32(b, AX_GGUF_ARRAY); w_u64(b, 3);
    w_u32(b, AX_GGUF_UINT8); w_u64(b, 2); w_le(b, 1, 1); w_le(b, 2, 1);
    w_u32(b, AX_GGUF_STRING); w_u64(b, 1); w_str(b, "x");
    w_u32(b, AX_GGUF_INT64); w_u64(b, 0);
    if (alignment) w_kv_u32(b, "general.alignment", alignment);
    const uint64_t ne_a[2] = {3, 2}, ne_b[1] = {32}, ne_c[1] = {4};
    L.a_off = 0;
    L.b_off = (24 + align - 1) / align * align;         /* after a's 24 bytes */
    L.c_off = (L.b_off + 34 + align - 1) / align * align; /* after b's 34 */
    w_tensor(b, "a", 2, ne_a, AX_GGML_TYPE_F32, L.a_off);
    w_tensor(b, "b.q8", 1, ne_b, AX_GGML_TYPE_Q8_0, L.b_off);
    w_tensor(b, "c.f16", 1, ne_c, AX_GGML_TYPE_F16, L.c_off);
    w_pad(b, align);
    L.data_offset = b->len;
    w_bytes(b, sample_a, sizeof sample_a);
    w_pad(b, align);
    uint8_t q8[34];
    q8[0] = 0x00; q8[1] = 0x3c; /* d = 1 */
    for (int i = 0; i < 32; i++) q8[2 + i] = (uint8_t)(i - 16);
    w_bytes(b, q8, sizeof q8);
    w_pad(b, align);
    w_bytes(b, sample_c, sizeof sample_c);
    return L;
}

static int64_t key_or_fail(const ax_gguf *g, const char *key) {
    const int64_t i = ax_gguf_find_key(g, key);
    if (i < 0) TH_FAIL("key %s not found", key);
    return i;
}

static int gstr_eq(ax_gguf_string s, const char *expected) {
    return s.len == strlen(expected) && memcmp(s.data, expected, s.len) == 0;
}

static void check_sample(const ax_gguf *g, uint32_t version, uint32_t alignment, const sample_layout *L,
                         const uint8_t *file) {
    CHECK_INT_EQ(ax_gguf_version(g), version);
    CHECK_INT_EQ(ax_gguf_alignment(g), alignment ? alignment : 32);
    CHECK_INT_EQ(ax_gguf_data_offset(g), L->data_offset);
    CHECK_INT_EQ(ax_gguf_kv_count(g), alignment ? 17 : 16);
    CHECK(ax_gguf_file_data(g) == file);
    int64_t i64 = 0;
    uint64_t u64 = 0;
    double f64 = 0;
    int flag = 0;
    ax_gguf_string s;
    CHECK_OK(ax_gguf_get_i64(g, key_or_fail(g, "t.u8"), &i64)); CHECK_INT_EQ(i64, 200);
    CHECK_OK(ax_gguf_get_i64(g, key_or_fail(g, "t.i8"), &i64)); CHECK_INT_EQ(i64, -100);
    CHECK_OK(ax_gguf_get_i64(g, key_or_fail(g, "t.u16"), &i64)); CHECK_INT_EQ(i64, 60000);
    CHECK_OK(ax_gguf_get_i64(g, key_or_fail(g, "t.i16"), &i64)); CHECK_INT_EQ(i64, -30000);
    CHECK_OK(ax_gguf_get_i64(g, key_or_fail(g, "t.u32"), &i64)); CHECK_INT_EQ(i64, 4000000000ll);
    CHECK_OK(ax_gguf_get_u64(g, key_or_fail(g, "t.u32"), &u64)); CHECK(u64 == 4000000000ull);
    CHECK_OK(ax_gguf_get_i64(g, key_or_fail(g, "t.i32"), &i64)); CHECK_INT_EQ(i64, -2000000000ll);
    CHECK_STATUS(ax_gguf_get_u64(g, key_or_fail(g, "t.i32"), &u64), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "t.i32");
    CHECK_OK(ax_gguf_get_f64(g, key_or_fail(g, "t.f32"), &f64)); CHECK(f64 == 1.5);
    CHECK_STATUS(ax_gguf_get_i64(g, key_or_fail(g, "t.f32"), &i64), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "float32");
    CHECK_OK(ax_gguf_get_bool(g, key_or_fail(g, "t.bool"), &flag)); CHECK_INT_EQ(flag, 1);
    CHECK_INT_EQ(ax_gguf_kv_type(g, key_or_fail(g, "t.bool")), AX_GGUF_BOOL);
    CHECK_OK(ax_gguf_get_string(g, key_or_fail(g, "t.str"), &s)); CHECK(gstr_eq(s, "hello, gguf"));
    CHECK_STATUS(ax_gguf_get_string(g, key_or_fail(g, "t.u8"), &s), AX_ERR_INVALID_ARGUMENT);
    CHECK_OK(ax_gguf_get_u64(g, key_or_fail(g, "t.u64"), &u64)); CHECK(u64 == 0x8000000000000005ull);
    CHECK_STATUS(ax_gguf_get_i64(g, key_or_fail(g, "t.u64"), &i64), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "does not fit int64");
    CHECK_OK(ax_gguf_get_i64(g, key_or_fail(g, "t.i64"), &i64)); CHECK_INT_EQ(i64, -4611686018427387904ll);
    CHECK_OK(ax_gguf_get_f64(g, key_or_fail(g, "t.f64"), &f64)); CHECK(f64 == 3.141592653589793);
    ax_gguf_type et;
    int64_t count = 0;
    const void *data = NULL;
    int64_t k = key_or_fail(g, "t.arr_i16");
    CHECK_OK(ax_gguf_get_array(g, k, &et, &count, &data));
    CHECK_INT_EQ(et, AX_GGUF_INT16);
    CHECK_INT_EQ(count, 3);
    CHECK(data != NULL && memcmp(data, "\x07\x00\xf8\xff\xff\x7f", 6) == 0);
    CHECK_OK(ax_gguf_array_get_i64(g, k, 1, &i64)); CHECK_INT_EQ(i64, -8);
    CHECK_OK(ax_gguf_array_get_i64(g, k, 2, &i64)); CHECK_INT_EQ(i64, 32767);
    CHECK_STATUS(ax_gguf_array_get_i64(g, k, 3, &i64), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "element 3");
    CHECK_STATUS(ax_gguf_array_get_string(g, k, 0, &s), AX_ERR_INVALID_ARGUMENT);
    k = key_or_fail(g, "t.arr_str");
    CHECK_OK(ax_gguf_get_array(g, k, &et, &count, &data));
    CHECK_INT_EQ(et, AX_GGUF_STRING);
    CHECK_INT_EQ(count, 3);
    CHECK(data == NULL);
    CHECK_OK(ax_gguf_array_get_string(g, k, 0, &s)); CHECK(gstr_eq(s, "a"));
    CHECK_OK(ax_gguf_array_get_string(g, k, 1, &s)); CHECK(s.len == 0);
    CHECK_OK(ax_gguf_array_get_string(g, k, 2, &s)); CHECK(gstr_eq(s, "\xc4\xa0t"));
    CHECK_STATUS(ax_gguf_array_get_string(g, k, -1, &s), AX_ERR_INVALID_ARGUMENT);
    k = key_or_fail(g, "t.arr_f32");
    CHECK_OK(ax_gguf_array_get_f64(g, k, 0, &f64)); CHECK(f64 == -1.0);
    CHECK_OK(ax_gguf_array_get_f64(g, k, 1, &f64)); CHECK(f64 == (double)3.14159274f);
    k = key_or_fail(g, "t.nested");
    CHECK_OK(ax_gguf_get_array(g, k, &et, &count, &data));
    CHECK_INT_EQ(et, AX_GGUF_ARRAY);
    CHECK_INT_EQ(count, 3);
    CHECK(data == NULL);
    CHECK_STATUS(ax_gguf_array_get_i64(g, k, 0, &i64), AX_ERR_INVALID_ARGUMENT);
    /* Keys come back in file order; an absent key is -1. */
    CHECK(gstr_eq(ax_gguf_kv_key(g, 0), "t.u8"));
    CHECK(gstr_eq(ax_gguf_kv_key(g, 15), "t.nested"));
    CHECK_INT_EQ(ax_gguf_kv_key(g, 99).len, 0);
    CHECK_INT_EQ((int)ax_gguf_kv_type(g, -1), -1);
    CHECK_INT_EQ(ax_gguf_find_key(g, "t.u"), -1);
    CHECK_INT_EQ(ax_gguf_find_key(g, "t.u88"), -1);
    CHECK_STATUS(ax_gguf_get_i64(g, 99, &i64), AX_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ax_gguf_get_i64(g, 0, NULL), AX_ERR_INVALID_ARGUMENT);

    /* Tensors: info, and views whose bytes are the ones written. */
    CHECK_INT_EQ(ax_gguf_tensor_count(g), 3);
    CHECK_INT_EQ(ax_gguf_find_tensor(g, "c.f16"), 2);
    CHECK_INT_EQ(ax_gguf_find_tensor(g, "c"), -1);
    ax_gguf_tensor_info t;
    CHECK_OK(ax_gguf_tensor_info_get(g, 0, &t));
    CHECK(gstr_eq(t.name, "a"));
    CHECK_INT_EQ(t.n_dims, 2);
    CHECK_INT_EQ(t.ne[0], 3); CHECK_INT_EQ(t.ne[1], 2); CHECK_INT_EQ(t.ne[2], 1); CHECK_INT_EQ(t.ne[3], 1);
    CHECK_INT_EQ(t.bytes, 24);
    CHECK_INT_EQ(t.dtype, AX_F32);
    ax_tensor v;
    CHECK_OK(ax_gguf_tensor_view(g, 0, &v));
    CHECK_INT_EQ(v.ndim, 2);
    CHECK_INT_EQ(v.shape[0], 2); CHECK_INT_EQ(v.shape[1], 3);
    CHECK_INT_EQ(v.strides[0], 3); CHECK_INT_EQ(v.strides[1], 1);
    CHECK_INT_EQ(v.device.type, AX_CPU);
    CHECK((const uint8_t *)v.data == file + L->data_offset + L->a_off);
    CHECK(memcmp(v.data, sample_a, sizeof sample_a) == 0);
    CHECK_OK(ax_gguf_tensor_info_get(g, 1, &t));
    CHECK_INT_EQ(t.ggml_type, AX_GGML_TYPE_Q8_0);
    CHECK_INT_EQ(t.bytes, 34);
    CHECK_INT_EQ(t.offset, L->b_off);
    CHECK_OK(ax_gguf_tensor_view(g, 1, &v));
    CHECK_INT_EQ(v.dtype, AX_Q8_0);
    CHECK_INT_EQ(v.ndim, 1); CHECK_INT_EQ(v.shape[0], 32);
    CHECK(((const uint8_t *)v.data)[2] == (uint8_t)-16);
    CHECK_OK(ax_gguf_tensor_info_get(g, 2, &t));
    CHECK_INT_EQ(t.dtype, AX_F16);
    CHECK_INT_EQ(t.bytes, 8);
    CHECK_OK(ax_gguf_tensor_view(g, 2, &v));
    CHECK(memcmp(v.data, sample_c, sizeof sample_c) == 0);
    CHECK_STATUS(ax_gguf_tensor_info_get(g, 3, &t), AX_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ax_gguf_tensor_view(g, -1, &v), AX_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ax_gguf_tensor_view(g, 0, NULL), AX_ERR_INVALID_ARGUMENT); /* crashed before */
    CHECK_CONTAINS(ax_last_error(), "out: NULL");
}

/* An exact-size heap copy, so the sanitizers catch any read past the end. */
static uint8_t *exact_copy(const uint8_t *src, size_t n) {
    uint8_t *p = malloc(n ? n : 1);
    if (p == NULL) exit(2);
    if (n) memcpy(p, src, n);
    return p;
}

static void test_round_trip(void) {
    const uint32_t versions[2] = {2, 3}, alignments[4] = {0, 1, 64, 256};
    for (int vi = 0; vi < 2; vi++)
        for (int ai = 0; ai < 4; ai++) {
            wbuf b = {0};
            const sample_layout L = write_sample(&b, versions[vi], alignments[ai]);
            uint8_t *file = exact_copy(b.p, b.len);
            ax_gguf *g = NULL;
            CHECK_OK(ax_gguf_open_memory(file, b.len, "sample.gguf", &g));
            if (g != NULL) check_sample(g, versions[vi], alignments[ai], &L, file);
            ax_gguf_close(g);
            free(file);
            w_free(&b);
        }
}

/* A view is refused when its data is not aligned for its type: a file with general.alignment 1 read
 * from a buffer at an odd address (or a tensor at an odd offset) had given an f32 view at data % 4
 * == 3. Shifted by 2, the f32 tensor is still refused while q8_0 (2-byte scales, 34-byte blocks) and
 * f16 are fine. */
static void test_misaligned_views(void) {
    wbuf b = {0};
    write_sample(&b, 3, 1);
    for (size_t shift = 1; shift <= 2; shift++) {
        uint8_t *mem = malloc(b.len + 8);
        if (mem == NULL) exit(2);
        uint8_t *file = mem + ((8 - (uintptr_t)mem % 8) % 8) + shift; /* shift past an 8-byte boundary */
        memcpy(file, b.p, b.len);
        ax_gguf *g = NULL;
        CHECK_OK(ax_gguf_open_memory(file, b.len, "shifted.gguf", &g));
        ax_tensor v;
        CHECK_STATUS(ax_gguf_tensor_view(g, 0, &v), AX_ERR_UNSUPPORTED);
        CHECK_CONTAINS(ax_last_error(), "tensor 'a': its data at file offset");
        CHECK_CONTAINS(ax_last_error(), "is not aligned to 4 bytes for f32 (general.alignment is 1");
        if (shift == 1) {
            CHECK_STATUS(ax_gguf_tensor_view(g, 1, &v), AX_ERR_UNSUPPORTED);
            CHECK_CONTAINS(ax_last_error(), "not aligned to 2 bytes for q8_0");
        } else {
            CHECK_OK(ax_gguf_tensor_view(g, 1, &v));
            CHECK_OK(ax_gguf_tensor_view(g, 2, &v));
            CHECK((uintptr_t)v.data % 2 == 0);
        }
        ax_gguf_close(g);
        free(mem);
    }
    w_free(&b);
}

static void test_open_file(void) {
    wbuf b = {0};
    const sample_layout L = write_sample(&b, 3, 0);
    char path[] = "/tmp/axial_test_gguf_XXXXXX";
    const int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0) return;
    FILE *f = fdopen(fd, "wb");
    CHECK(f != NULL && fwrite(b.p, 1, b.len, f) == b.len);
    fclose(f);
    ax_gguf *g = NULL;
    CHECK_OK(ax_gguf_open(path, &g));
    if (g != NULL) {
        CHECK_INT_EQ(ax_gguf_file_size(g), b.len);
        CHECK(memcmp(ax_gguf_file_data(g), b.p, b.len) == 0);
        check_sample(g, 3, 0, &L, ax_gguf_file_data(g));
    }
    ax_gguf_close(g);
    remove(path);
    CHECK_STATUS(ax_gguf_open(path, &g), AX_ERR_IO);
    CHECK_CONTAINS(ax_last_error(), path);
    CHECK(g == NULL);
    CHECK_STATUS(ax_gguf_open("/tmp", &g), AX_ERR_IO);
    CHECK_STATUS(ax_gguf_open(NULL, &g), AX_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ax_gguf_open(path, NULL), AX_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ax_gguf_open_memory(NULL, 4, NULL, &g), AX_ERR_INVALID_ARGUMENT);
    ax_gguf_close(NULL);
    w_free(&b);
}

/* Every proper prefix of the sample fails with AX_ERR_FORMAT (no crash, no read past it). */
static void test_truncated_everywhere(void) {
    for (int vi = 2; vi <= 3; vi++) {
        wbuf b = {0};
        write_sample(&b, (uint32_t)vi, 64);
        int failed_ok = 0;
        for (size_t n = 0; n < b.len; n++) {
            uint8_t *file = exact_copy(b.p, n);
            ax_gguf *g = NULL;
            const ax_status st = ax_gguf_open_memory(n ? file : NULL, n, "cut.gguf", &g);
            if (st == AX_ERR_FORMAT && g == NULL && strstr(ax_last_error(), "cut.gguf: byte ") != NULL)
                failed_ok++;
            else
                TH_FAIL("prefix of %zu bytes: %s (%s)", n, ax_status_string(st), ax_last_error());
            ax_gguf_close(g);
            free(file);
        }
        CHECK_INT_EQ(failed_ok, (long long)b.len);
        w_free(&b);
    }
}

/* Opens b, expects AX_ERR_FORMAT with "byte AT: " and `reason` in the message. */
static void expect_refused(const wbuf *b, size_t at, const char *reason, int line) {
    uint8_t *file = exact_copy(b->p, b->len);
    ax_gguf *g = NULL;
    const ax_status st = ax_gguf_open_memory(file, b->len, "bad.gguf", &g);
    char want[64];
    snprintf(want, sizeof want, "bad.gguf: byte %zu: ", at);
    th_checks++;
    if (st != AX_ERR_FORMAT || g != NULL || strstr(ax_last_error(), want) == NULL ||
        strstr(ax_last_error(), reason) == NULL)
        TH_FAIL("line %d: got %s \"%s\", expected AX_ERR_FORMAT with \"%s\" and \"%s\"", line, ax_status_string(st),
                ax_last_error(), want, reason);
    ax_gguf_close(g);
    free(file);
}
#define EXPECT_REFUSED(b, at, reason) expect_refused(b, at, reason, __LINE__)

/* A one-tensor file: F32 `name` with the given dims, type and offset, then `data_bytes` of data. */
static void write_one_tensor(wbuf *b, uint32_t n_dims, const uint64_t *ne, uint32_t type, uint64_t off,
                             size_t data_bytes, size_t *field_at) {
    w_header(b, 3, 1, 0);
    field_at[0] = b->len; /* name */
    w_str(b, "w");
    field_at[1] = b->len; /* n_dims */
    w_u32(b, n_dims);
    for (uint32_t d = 0; d < n_dims; d++) w_u64(b, ne[d]);
    field_at[2] = b->len; /* type */
    w_u32(b, type);
    field_at[3] = b->len; /* offset */
    w_u64(b, off);
    w_pad(b, 32);
    for (size_t i = 0; i < data_bytes; i++) w_le(b, (uint8_t)i, 1);
}

static void test_hostile_header(void) {
    wbuf b = {0};
    w_bytes(&b, "GGUG", 4); w_u32(&b, 3); w_u64(&b, 0); w_u64(&b, 0);
    EXPECT_REFUSED(&b, 0, "bad magic");
    w_free(&b);
    w_header(&b, 1, 0, 0);
    EXPECT_REFUSED(&b, 4, "version 1 is not supported");
    w_free(&b);
    w_header(&b, 0x03000000u, 0, 0);
    EXPECT_REFUSED(&b, 4, "big-endian");
    w_free(&b);
    w_header(&b, 4, 0, 0);
    EXPECT_REFUSED(&b, 4, "unsupported GGUF version 4");
    w_free(&b);
    /* Hostile counts fail before anything count-sized is allocated (ASan would report a 2^60 calloc). */
    w_header(&b, 3, 0, 1ull << 60);
    EXPECT_REFUSED(&b, 16, "kv count 1152921504606846976 cannot fit");
    w_free(&b);
    w_header(&b, 3, UINT64_MAX, 0);
    EXPECT_REFUSED(&b, 8, "tensor count 18446744073709551615 cannot fit");
    w_free(&b);
    /* The smallest valid file: a header and nothing else. */
    w_header(&b, 2, 0, 0);
    ax_gguf *g = NULL;
    CHECK_OK(ax_gguf_open_memory(b.p, b.len, NULL, &g));
    CHECK_INT_EQ(ax_gguf_kv_count(g), 0);
    CHECK_INT_EQ(ax_gguf_tensor_count(g), 0);
    CHECK_INT_EQ(ax_gguf_data_offset(g), 32);
    ax_gguf_close(g);
    w_free(&b);
    CHECK_STATUS(ax_gguf_open_memory("GGU", 3, NULL, &g), AX_ERR_FORMAT);
    CHECK_CONTAINS(ax_last_error(), "<memory>: byte 0: ");
}

static void test_hostile_metadata(void) {
    wbuf b = {0};
    size_t at;
    /* A key whose length runs past the end. */
    w_header(&b, 3, 0, 1);
    at = b.len;
    w_u64(&b, 1ull << 62); w_bytes(&b, "abcdefgh", 8); w_u32(&b, 0); w_le(&b, 0, 1);
    EXPECT_REFUSED(&b, at, "string length 4611686018427387904 runs past the end");
    w_free(&b);
    /* A string value too long. */
    w_header(&b, 3, 0, 1);
    w_key(&b, "s", AX_GGUF_STRING);
    at = b.len;
    w_u64(&b, 100); w_bytes(&b, "short", 5);
    EXPECT_REFUSED(&b, at, "string length 100 runs past");
    w_free(&b);
    /* Huge array counts, for fixed-size and string elements. */
    w_header(&b, 3, 0, 1);
    w_key(&b, "arr", AX_GGUF_ARRAY); w_u32(&b, AX_GGUF_UINT32);
    at = b.len;
    w_u64(&b, 1ull << 61); w_u32(&b, 5);
    EXPECT_REFUSED(&b, at, "key 'arr': array of 2305843009213693952 uint32 elements runs past");
    w_free(&b);
    w_header(&b, 3, 0, 1);
    w_key(&b, "tokens", AX_GGUF_ARRAY); w_u32(&b, AX_GGUF_STRING);
    at = b.len;
    w_u64(&b, UINT64_MAX); w_str(&b, "x");
    EXPECT_REFUSED(&b, at, "key 'tokens': array of 18446744073709551615 strings cannot fit");
    w_free(&b);
    /* Unknown value type, unknown array element type, unknown nested type. */
    w_header(&b, 3, 0, 1);
    w_str(&b, "k");
    at = b.len;
    w_u32(&b, 13); w_u64(&b, 0);
    EXPECT_REFUSED(&b, at, "key 'k': unknown value type 13");
    w_free(&b);
    w_header(&b, 3, 0, 1);
    w_key(&b, "k", AX_GGUF_ARRAY);
    at = b.len;
    w_u32(&b, 0xffffffffu); w_u64(&b, 0);
    EXPECT_REFUSED(&b, at, "key 'k': unknown array element type 4294967295");
    w_free(&b);
    w_header(&b, 3, 0, 1);
    w_key(&b, "k", AX_GGUF_ARRAY); w_u32(&b, AX_GGUF_ARRAY); w_u64(&b, 1);
    at = b.len;
    w_u32(&b, 77); w_u64(&b, 0);
    EXPECT_REFUSED(&b, at, "unknown array element type 77");
    w_free(&b);
    /* Arrays nested past the limit. */
    w_header(&b, 3, 0, 1);
    w_key(&b, "deep", AX_GGUF_ARRAY);
    for (int d = 0; d < 40; d++) {
        w_u32(&b, AX_GGUF_ARRAY);
        w_u64(&b, 1);
    }
    w_u32(&b, AX_GGUF_UINT8); w_u64(&b, 0);
    EXPECT_REFUSED(&b, 44 + 12 * 15, "nested deeper than 16"); /* the count of the 16th level */
    w_free(&b);
    /* Duplicate key. */
    w_header(&b, 3, 0, 2);
    w_kv_u32(&b, "dup", 1);
    at = b.len;
    w_kv_u32(&b, "dup", 2);
    EXPECT_REFUSED(&b, at, "duplicate key 'dup'");
    w_free(&b);
    /* A key's control bytes are escaped in the message, which stays one line (they had been copied
     * raw: a terminal escape, a forged line). */
    w_header(&b, 3, 0, 2);
    w_kv_u32(&b, "a\x1b[2J\nb", 1);
    at = b.len;
    w_kv_u32(&b, "a\x1b[2J\nb", 2);
    EXPECT_REFUSED(&b, at, "duplicate key 'a\\x1b[2J\\x0ab'");
    w_free(&b);
    /* general.alignment: wrong type, zero, not a power of two. */
    w_header(&b, 3, 0, 1);
    w_key(&b, "general.alignment", AX_GGUF_UINT64);
    at = b.len;
    w_u64(&b, 32);
    EXPECT_REFUSED(&b, at - 4, "general.alignment has type uint64, not uint32");
    w_free(&b);
    const uint32_t bad_alignments[3] = {0, 48, 0x80000001u};
    for (int i = 0; i < 3; i++) {
        w_header(&b, 3, 0, 1);
        w_key(&b, "general.alignment", AX_GGUF_UINT32);
        at = b.len;
        w_u32(&b, bad_alignments[i]);
        EXPECT_REFUSED(&b, at, "is not a nonzero power of two");
        w_free(&b);
    }
    /* Key names longer than the message shows are cut, not over-read. */
    w_header(&b, 3, 0, 1);
    char longkey[600];
    memset(longkey, 'k', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = '\0';
    w_key(&b, longkey, 99);
    EXPECT_REFUSED(&b, 24 + 8 + 599, "unknown value type 99");
    w_free(&b);
}

static void test_hostile_tensors(void) {
    wbuf b = {0};
    size_t f[4];
    const uint64_t ne32[2] = {32, 2};
    write_one_tensor(&b, 2, ne32, AX_GGML_TYPE_F32, 0, 256, f);
    ax_gguf *g = NULL;
    CHECK_OK(ax_gguf_open_memory(b.p, b.len, NULL, &g)); /* the base case is valid */
    ax_gguf_close(g);
    w_free(&b);
    /* Data one byte past the end. */
    write_one_tensor(&b, 2, ne32, AX_GGML_TYPE_F32, 0, 255, f);
    EXPECT_REFUSED(&b, f[3], "tensor 'w': data [0, 256) of the data section at byte 96 runs past the end");
    w_free(&b);
    /* Offset past the end, and an offset near 2^64 (no wrap-around). */
    write_one_tensor(&b, 2, ne32, AX_GGML_TYPE_F32, 1024, 256, f);
    EXPECT_REFUSED(&b, f[3], "runs past the end");
    w_free(&b);
    write_one_tensor(&b, 1, ne32, AX_GGML_TYPE_I8, UINT64_MAX - 31, 256, f);
    EXPECT_REFUSED(&b, f[3], "runs past the end");
    w_free(&b);
    /* Misaligned offset. */
    write_one_tensor(&b, 1, ne32, AX_GGML_TYPE_F32, 16, 256, f);
    EXPECT_REFUSED(&b, f[3], "offset 16 is not a multiple of the alignment 32");
    w_free(&b);
    /* n_dims 0 and 5. */
    const uint64_t ne5[5] = {1, 1, 1, 1, 1};
    write_one_tensor(&b, 0, ne5, AX_GGML_TYPE_F32, 0, 64, f);
    EXPECT_REFUSED(&b, f[1], "tensor 'w': n_dims 0 is outside [1, 4]");
    w_free(&b);
    write_one_tensor(&b, 5, ne5, AX_GGML_TYPE_F32, 0, 64, f);
    EXPECT_REFUSED(&b, f[1], "n_dims 5 is outside [1, 4]");
    w_free(&b);
    /* A negative dim, and dims whose product overflows int64. */
    const uint64_t ne_neg[2] = {32, (uint64_t)-1};
    write_one_tensor(&b, 2, ne_neg, AX_GGML_TYPE_F32, 0, 64, f);
    EXPECT_REFUSED(&b, f[1] + 12, "ne[1] = -1 is negative");
    w_free(&b);
    const uint64_t ne_big[3] = {1ull << 31, 1ull << 31, 4};
    write_one_tensor(&b, 3, ne_big, AX_GGML_TYPE_F32, 0, 64, f);
    EXPECT_REFUSED(&b, f[1] + 20, "element count overflows int64 at ne[2]");
    w_free(&b);
    /* An empty tensor (a zero dim) whose other dims still overflow the view's strides. */
    const uint64_t ne_zero_big[3] = {0, 1ull << 32, 1ull << 32};
    write_one_tensor(&b, 3, ne_zero_big, AX_GGML_TYPE_F32, 0, 64, f);
    EXPECT_REFUSED(&b, f[1] + 20, "element count overflows int64 at ne[2]");
    w_free(&b);
    /* Elements fit int64 but bytes overflow uint64 (8-byte type). */
    const uint64_t ne_bytes[2] = {1ull << 31, 1ull << 31};
    write_one_tensor(&b, 2, ne_bytes, AX_GGML_TYPE_F64, 0, 64, f);
    EXPECT_REFUSED(&b, f[1], "byte size overflows");
    w_free(&b);
    /* Unknown GGML type (4 was retired), and ne[0] not a multiple of the block. */
    write_one_tensor(&b, 2, ne32, 4, 0, 256, f);
    EXPECT_REFUSED(&b, f[2], "tensor 'w': unknown GGML type 4");
    w_free(&b);
    write_one_tensor(&b, 2, ne32, 1000, 0, 256, f);
    EXPECT_REFUSED(&b, f[2], "unknown GGML type 1000");
    w_free(&b);
    const uint64_t ne_q[1] = {48};
    write_one_tensor(&b, 1, ne_q, AX_GGML_TYPE_Q4_1, 0, 256, f);
    EXPECT_REFUSED(&b, f[1] + 4, "ne[0] = 48 is not a multiple of the q4_1 block size 32");
    w_free(&b);
    /* Duplicate tensor name. */
    w_header(&b, 3, 2, 0);
    const uint64_t ne1[1] = {8};
    w_tensor(&b, "same", 1, ne1, AX_GGML_TYPE_F32, 0);
    const size_t dup_at = b.len;
    w_tensor(&b, "same", 1, ne1, AX_GGML_TYPE_F32, 32);
    w_pad(&b, 32);
    for (int i = 0; i < 64; i++) w_le(&b, 0, 1);
    EXPECT_REFUSED(&b, dup_at, "duplicate tensor name 'same'");
    w_free(&b);
    /* A zero-sized tensor is accepted (GGML allows it), at the very end of the file. */
    const uint64_t ne0[2] = {0, 5};
    write_one_tensor(&b, 2, ne0, AX_GGML_TYPE_Q4_0, 0, 0, f);
    CHECK_OK(ax_gguf_open_memory(b.p, b.len, NULL, &g));
    ax_gguf_tensor_info t;
    ax_tensor v;
    if (g != NULL) {
        CHECK_OK(ax_gguf_tensor_info_get(g, 0, &t));
        CHECK_INT_EQ(t.bytes, 0);
        CHECK_OK(ax_gguf_tensor_view(g, 0, &v));
        CHECK_INT_EQ(v.shape[0], 5);
        CHECK_INT_EQ(v.shape[1], 0);
    }
    ax_gguf_close(g);
    w_free(&b);
    /* ... also in a file that ends before its (empty) data section's alignment: it had been refused
     * as "data [0, 0) ... runs past the end of the file". */
    w_header(&b, 3, 1, 0);
    w_tensor(&b, "w", 2, ne0, AX_GGML_TYPE_Q4_0, 0);
    CHECK(b.len % 32 != 0);
    CHECK_OK(ax_gguf_open_memory(b.p, b.len, NULL, &g));
    if (g != NULL) {
        CHECK(ax_gguf_data_offset(g) > b.len);
        CHECK_OK(ax_gguf_tensor_view(g, 0, &v));
        CHECK_INT_EQ(v.shape[1], 0);
    }
    ax_gguf_close(g);
    w_free(&b);
    /* A type with no ax_dtype is listed but refused by the view (Q5_K: 256 elements in 176 bytes). */
    const uint64_t ne256[1] = {256};
    write_one_tensor(&b, 1, ne256, 13, 0, 176, f);
    CHECK_OK(ax_gguf_open_memory(b.p, b.len, NULL, &g));
    if (g != NULL) {
        CHECK_OK(ax_gguf_tensor_info_get(g, 0, &t));
        CHECK_INT_EQ(t.dtype, -1);
        CHECK_INT_EQ(t.bytes, 176);
        CHECK_STATUS(ax_gguf_tensor_view(g, 0, &v), AX_ERR_UNSUPPORTED);
        CHECK_CONTAINS(ax_last_error(), "q5_k");
    }
    ax_gguf_close(g);
    w_free(&b);
}

static void test_names(void) {
    CHECK_STR_EQ(ax_gguf_type_name(AX_GGUF_FLOAT64), "float64");
    CHECK_STR_EQ(ax_gguf_type_name(AX_GGUF_STRING), "string");
    CHECK_STR_EQ(ax_gguf_type_name((ax_gguf_type)13), "unknown");
    CHECK_STR_EQ(ax_gguf_type_name((ax_gguf_type)-1), "unknown");
    CHECK_STR_EQ(ax_ggml_type_name(AX_GGML_TYPE_Q4_1), "q4_1");
    CHECK_STR_EQ(ax_ggml_type_name(AX_GGML_TYPE_BF16), "bf16");
    CHECK_STR_EQ(ax_ggml_type_name(5), "unknown");
    CHECK_STR_EQ(ax_ggml_type_name(UINT32_MAX), "unknown");
}

/* ---- the real file ------------------------------------------------------------------------------ */

static int64_t model_u64(const ax_gguf *g, const char *key) {
    int64_t v = -1;
    CHECK_OK(ax_gguf_get_i64(g, key_or_fail(g, key), &v));
    return v;
}

static void check_tensor(const ax_gguf *g, const char *name, uint32_t type, int32_t n_dims, int64_t ne0, int64_t ne1) {
    const int64_t i = ax_gguf_find_tensor(g, name);
    ax_gguf_tensor_info t;
    if (i < 0 || ax_gguf_tensor_info_get(g, i, &t) != AX_OK) {
        TH_FAIL("tensor %s missing", name);
        return;
    }
    CHECK_INT_EQ(t.ggml_type, type);
    CHECK_INT_EQ(t.n_dims, n_dims);
    CHECK_INT_EQ(t.ne[0], ne0);
    CHECK_INT_EQ(t.ne[1], ne1);
}

static void test_model(const char *path) {
    ax_gguf *g = NULL;
    CHECK_OK(ax_gguf_open(path, &g));
    if (g == NULL) return;
    ax_gguf_string s;
    double f = 0;
    CHECK_INT_EQ(ax_gguf_version(g), 3);
    CHECK_INT_EQ(ax_gguf_alignment(g), 32);
    CHECK_INT_EQ(ax_gguf_file_size(g), 98362432);
    CHECK_OK(ax_gguf_get_string(g, key_or_fail(g, "general.architecture"), &s));
    CHECK(gstr_eq(s, "llama"));
    CHECK_OK(ax_gguf_get_string(g, key_or_fail(g, "tokenizer.ggml.pre"), &s));
    CHECK(gstr_eq(s, "smollm"));
    CHECK_INT_EQ(model_u64(g, "llama.block_count"), 30);
    CHECK_INT_EQ(model_u64(g, "llama.embedding_length"), 576);
    CHECK_INT_EQ(model_u64(g, "llama.feed_forward_length"), 1536);
    CHECK_INT_EQ(model_u64(g, "llama.attention.head_count"), 9);
    CHECK_INT_EQ(model_u64(g, "llama.attention.head_count_kv"), 3);
    CHECK_INT_EQ(model_u64(g, "llama.context_length"), 8192);
    CHECK_OK(ax_gguf_get_f64(g, key_or_fail(g, "llama.rope.freq_base"), &f));
    CHECK(f == 100000.0);
    CHECK_OK(ax_gguf_get_f64(g, key_or_fail(g, "llama.attention.layer_norm_rms_epsilon"), &f));
    CHECK(f == (double)1e-5f);
    ax_gguf_type et;
    int64_t count = 0;
    const int64_t tok = key_or_fail(g, "tokenizer.ggml.tokens");
    CHECK_OK(ax_gguf_get_array(g, tok, &et, &count, NULL));
    CHECK_INT_EQ(et, AX_GGUF_STRING);
    CHECK_INT_EQ(count, 49152);
    /* Strings as the `gguf` package reads them. */
    CHECK_OK(ax_gguf_array_get_string(g, tok, 0, &s)); CHECK(gstr_eq(s, "<|endoftext|>"));
    CHECK_OK(ax_gguf_array_get_string(g, tok, 2, &s)); CHECK(gstr_eq(s, "<|im_end|>"));
    CHECK_OK(ax_gguf_array_get_string(g, tok, 49151, &s)); CHECK(gstr_eq(s, "ectable"));
    const int64_t merges = key_or_fail(g, "tokenizer.ggml.merges");
    CHECK_OK(ax_gguf_get_array(g, merges, &et, &count, NULL));
    CHECK_INT_EQ(count, 48900);
    CHECK_OK(ax_gguf_array_get_string(g, merges, 0, &s)); CHECK(gstr_eq(s, "\xc4\xa0 t"));
    CHECK_OK(ax_gguf_array_get_string(g, merges, 48899, &s)); CHECK(gstr_eq(s, "ect able"));
    int64_t tt = 0;
    CHECK_OK(ax_gguf_array_get_i64(g, key_or_fail(g, "tokenizer.ggml.token_type"), 1, &tt)); CHECK_INT_EQ(tt, 3);
    CHECK_OK(ax_gguf_array_get_i64(g, key_or_fail(g, "tokenizer.ggml.token_type"), 100, &tt)); CHECK_INT_EQ(tt, 1);
    CHECK_INT_EQ(ax_gguf_tensor_count(g), 272);
    check_tensor(g, "token_embd.weight", AX_GGML_TYPE_Q8_0, 2, 576, 49152);
    check_tensor(g, "blk.0.attn_q.weight", AX_GGML_TYPE_Q4_1, 2, 576, 576);
    check_tensor(g, "blk.0.attn_k.weight", AX_GGML_TYPE_Q4_1, 2, 576, 192);
    check_tensor(g, "blk.29.ffn_down.weight", AX_GGML_TYPE_Q4_1, 2, 1536, 576);
    check_tensor(g, "blk.0.attn_norm.weight", AX_GGML_TYPE_F32, 1, 576, 1);
    /* The view's data: the first values of two norms, as the `gguf` package reads them. */
    ax_tensor v;
    CHECK_OK(ax_gguf_tensor_view(g, ax_gguf_find_tensor(g, "output_norm.weight"), &v));
    CHECK_INT_EQ(v.shape[0], 576);
    float first[3];
    memcpy(first, v.data, sizeof first);
    CHECK(first[0] == 1.7578125f && first[1] == 1.8203125f && first[2] == 1.78125f);
    CHECK_INT_EQ((const uint8_t *)v.data - (const uint8_t *)ax_gguf_file_data(g), 98360128);
    CHECK_OK(ax_gguf_tensor_view(g, ax_gguf_find_tensor(g, "token_embd.weight"), &v));
    CHECK_INT_EQ(v.dtype, AX_Q8_0);
    CHECK_INT_EQ(v.shape[0], 49152);
    CHECK_INT_EQ(v.shape[1], 576);
    CHECK_INT_EQ((const uint8_t *)v.data - (const uint8_t *)ax_gguf_file_data(g), 1785664);
    /* The Q4_1 weights of every layer map to the Axial dtype. */
    int q41 = 0;
    for (int64_t i = 0; i < ax_gguf_tensor_count(g); i++) {
        ax_gguf_tensor_info t;
        CHECK_OK(ax_gguf_tensor_info_get(g, i, &t));
        q41 += t.ggml_type == AX_GGML_TYPE_Q4_1 && t.dtype == AX_Q4_1;
    }
    CHECK_INT_EQ(q41, 210);
    ax_gguf_close(g);
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "--model") == 0) {
        th_current = "test_model";
        test_model(argv[2]);
        printf("%s test_model (%s)\n", th_failures == 0 ? "ok  " : "FAIL", argv[2]);
        return th_finish();
    }
    RUN(test_names);
    RUN(test_round_trip);
    RUN(test_open_file);
    RUN(test_misaligned_views);
    RUN(test_truncated_everywhere);
    RUN(test_hostile_header);
    RUN(test_hostile_metadata);
    RUN(test_hostile_tensors);
    return th_finish();
}
