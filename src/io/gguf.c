/*
 * gguf.c — the GGUF reader: maps a file, checks all of it while opening, then answers lookups from
 * tables built once (a hash index of keys and tensor names, an offset table of every string array).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "axial/gguf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/dtype_traits.h"
#include "core/internal.h"
#include "core/grow.h"
#include "io/line_reader.h"
#include "core/strmap.h"

/* A key or name from the file in a message: cut, control and NUL bytes escaped (line_reader.h). */
#define GGUF_QUOTED(str) ax_quote_n((str).data, (size_t)(str).len).text

/* Arrays of arrays are walked recursively; the limit keeps a hostile file from exhausting the stack
 * (real files never nest at all). */
#define GGUF_MAX_ARRAY_DEPTH 16
#define GGUF_DEFAULT_ALIGNMENT 32u
/* The smallest encodings, which bound a count by the bytes left: a kv is a key length (8), a type (4)
 * and at least one byte of value; a tensor info is a name length (8), n_dims (4), one ne (8), a type
 * (4) and an offset (8). */
#define GGUF_MIN_KV_BYTES 13u
#define GGUF_MIN_TENSOR_BYTES 32u

typedef struct gguf_kv {
    ax_gguf_string key;
    uint32_t type;
    uint64_t value_pos;  /* file offset of the value (for an array: of its first element) */
    uint32_t elem_type;  /* arrays only */
    int64_t count;       /* arrays only */
    int64_t str_first;   /* string arrays: index of element 0 in ax_gguf.str_pos, else -1 */
} gguf_kv;

struct ax_gguf {
    const uint8_t *base;
    uint64_t size;
    int mapped;          /* base came from mmap (ax_gguf_open) and is unmapped on close */
    uint32_t version;
    uint32_t alignment;
    uint64_t data_offset;
    int64_t n_kv;
    gguf_kv *kvs;
    int64_t n_tensors;
    ax_gguf_tensor_info *tensors;
    uint64_t *str_pos;   /* file offset of each string-array element's length prefix */
    int64_t str_count, str_cap;
    ax_strmap key_index;
    ax_strmap tensor_index;
};

/* ---- the type tables ------------------------------------------------------------------------- */

static const char *const gguf_value_type_names[] = {
    "uint8", "int8", "uint16", "int16", "uint32", "int32", "float32",
    "bool", "string", "array", "uint64", "int64", "float64",
};

const char *ax_gguf_type_name(ax_gguf_type type) {
    if ((unsigned)type >= sizeof gguf_value_type_names / sizeof gguf_value_type_names[0]) return "unknown";
    return gguf_value_type_names[type];
}

/* Bytes of a fixed-size value type, 0 for string, array and unknown types. */
static uint64_t gguf_scalar_bytes(uint32_t type) {
    switch (type) {
    case AX_GGUF_UINT8: case AX_GGUF_INT8: case AX_GGUF_BOOL: return 1;
    case AX_GGUF_UINT16: case AX_GGUF_INT16: return 2;
    case AX_GGUF_UINT32: case AX_GGUF_INT32: case AX_GGUF_FLOAT32: return 4;
    case AX_GGUF_UINT64: case AX_GGUF_INT64: case AX_GGUF_FLOAT64: return 8;
    default: return 0;
    }
}

/* GGML's types as ggml.c sizes them (block of `block_elems` elements in `block_bytes` bytes), with
 * the ax_dtype Axial maps each to. Kept here rather than taken from src/core so the reader builds
 * alone into the fuzzers. Numbers GGML has retired (4, 5, 31-33, 36-38) stay unknown. Q8_1 is 36 bytes as
 * ggml.c's block_q8_1 (two fp16 and 32 int8); the `gguf` Python package says 40. */
typedef struct gguf_ggml_type {
    const char *name;
    uint32_t block_elems;
    uint32_t block_bytes;
    int dtype;
} gguf_ggml_type;

static const gguf_ggml_type gguf_ggml_types[] = {
    [0] = {"f32", 1, 4, AX_F32},          [1] = {"f16", 1, 2, AX_F16},
    [2] = {"q4_0", 32, 18, AX_Q4_0},      [3] = {"q4_1", 32, 20, AX_Q4_1},
    [6] = {"q5_0", 32, 22, -1},           [7] = {"q5_1", 32, 24, -1},
    [8] = {"q8_0", 32, 34, AX_Q8_0},      [9] = {"q8_1", 32, 36, -1},
    [10] = {"q2_k", 256, 84, -1},         [11] = {"q3_k", 256, 110, -1},
    [12] = {"q4_k", 256, 144, AX_Q4_K},   [13] = {"q5_k", 256, 176, -1},
    [14] = {"q6_k", 256, 210, AX_Q6_K},   [15] = {"q8_k", 256, 292, -1},
    [16] = {"iq2_xxs", 256, 66, -1},      [17] = {"iq2_xs", 256, 74, -1},
    [18] = {"iq3_xxs", 256, 98, -1},      [19] = {"iq1_s", 256, 50, -1},
    [20] = {"iq4_nl", 32, 18, -1},        [21] = {"iq3_s", 256, 110, -1},
    [22] = {"iq2_s", 256, 82, -1},        [23] = {"iq4_xs", 256, 136, -1},
    [24] = {"i8", 1, 1, AX_I8},           [25] = {"i16", 1, 2, -1},
    [26] = {"i32", 1, 4, AX_I32},         [27] = {"i64", 1, 8, AX_I64},
    [28] = {"f64", 1, 8, AX_F64},         [29] = {"iq1_m", 256, 56, -1},
    [30] = {"bf16", 1, 2, AX_BF16},       [34] = {"tq1_0", 256, 54, -1},
    [35] = {"tq2_0", 256, 66, -1},        [39] = {"mxfp4", 32, 17, -1},
    [40] = {"nvfp4", 64, 36, -1},         [41] = {"q1_0", 128, 18, -1},
};

static const gguf_ggml_type *gguf_ggml_lookup(uint32_t type) {
    if (type >= sizeof gguf_ggml_types / sizeof gguf_ggml_types[0]) return NULL;
    return gguf_ggml_types[type].name != NULL ? &gguf_ggml_types[type] : NULL;
}

const char *ax_ggml_type_name(uint32_t ggml_type) {
    const gguf_ggml_type *t = gguf_ggml_lookup(ggml_type);
    return t != NULL ? t->name : "unknown";
}

/* ---- the cursor: bounds-checked little-endian reads, errors naming the byte offset ---------------- */

typedef struct gguf_cursor {
    const uint8_t *base;
    uint64_t size;
    uint64_t pos;
    const char *name;
} gguf_cursor;

static ax_status gguf_fail(const gguf_cursor *c, uint64_t at, const char *fmt, ...) AX_PRINTF(3, 4);
static ax_status gguf_fail(const gguf_cursor *c, uint64_t at, const char *fmt, ...) {
    char reason[512];
    va_list args;
    va_start(args, fmt);
    vsnprintf(reason, sizeof reason, fmt, args);
    va_end(args);
    return ax_set_error(AX_ERR_FORMAT, "%s: byte %llu: %s", c->name, (unsigned long long)at, reason);
}

static uint64_t gguf_left(const gguf_cursor *c) { return c->size - c->pos; }

static ax_status gguf_need(const gguf_cursor *c, uint64_t bytes, const char *what) {
    if (bytes > gguf_left(c))
        return gguf_fail(c, c->pos, "truncated: %s needs %llu bytes, %llu left", what, (unsigned long long)bytes,
                         (unsigned long long)gguf_left(c));
    return AX_OK;
}

static uint64_t gguf_load_le(const uint8_t *p, unsigned bytes) {
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static ax_status gguf_read_u32(gguf_cursor *c, const char *what, uint32_t *out) {
    AX_CHECK(gguf_need(c, 4, what));
    *out = (uint32_t)gguf_load_le(c->base + c->pos, 4);
    c->pos += 4;
    return AX_OK;
}

static ax_status gguf_read_u64(gguf_cursor *c, const char *what, uint64_t *out) {
    AX_CHECK(gguf_need(c, 8, what));
    *out = gguf_load_le(c->base + c->pos, 8);
    c->pos += 8;
    return AX_OK;
}

static ax_status gguf_read_string(gguf_cursor *c, const char *what, ax_gguf_string *out) {
    const uint64_t at = c->pos;
    uint64_t len = 0;
    AX_CHECK(gguf_read_u64(c, what, &len));
    if (len > gguf_left(c))
        return gguf_fail(c, at, "%s: string length %llu runs past the end of the file (%llu bytes left)", what,
                         (unsigned long long)len, (unsigned long long)gguf_left(c));
    out->data = (const char *)c->base + c->pos;
    out->len = len;
    c->pos += len;
    return AX_OK;
}

/* ---- metadata -------------------------------------------------------------------------------- */

static ax_status gguf_push_string_pos(ax_gguf *g, uint64_t pos) {
    AX_CHECK(ax_grow((void **)&g->str_pos, &g->str_cap, g->str_count + 1, sizeof *g->str_pos));
    g->str_pos[g->str_count++] = pos;
    return AX_OK;
}

/* Reads (and checks) the elements of an array whose element type and count have been read. Top-level
 * string arrays are indexed into g->str_pos; nested arrays are only walked. */
static ax_status gguf_skip_array(gguf_cursor *c, ax_gguf *g, const ax_gguf_string *key, uint32_t elem_type,
                                 uint64_t count, uint64_t count_at, int depth, int index_strings) {
    const uint64_t esize = gguf_scalar_bytes(elem_type);
    if (esize > 0) {
        if (count > gguf_left(c) / esize)
            return gguf_fail(c, count_at, "key '%s': array of %llu %s elements runs past the end of the file "
                             "(%llu bytes left)", GGUF_QUOTED(*key), (unsigned long long)count,
                             ax_gguf_type_name((ax_gguf_type)elem_type), (unsigned long long)gguf_left(c));
        c->pos += count * esize;
        return AX_OK;
    }
    if (elem_type == AX_GGUF_STRING) {
        if (count > gguf_left(c) / 8)
            return gguf_fail(c, count_at, "key '%s': array of %llu strings cannot fit in the %llu bytes left",
                             GGUF_QUOTED(*key), (unsigned long long)count,
                             (unsigned long long)gguf_left(c));
        if (index_strings)
            AX_CHECK(ax_grow((void **)&g->str_pos, &g->str_cap, g->str_count + (int64_t)count, sizeof *g->str_pos));
        for (uint64_t j = 0; j < count; j++) {
            const uint64_t at = c->pos;
            ax_gguf_string s;
            AX_CHECK(gguf_read_string(c, "array string", &s));
            if (index_strings) AX_CHECK(gguf_push_string_pos(g, at));
        }
        return AX_OK;
    }
    if (elem_type == AX_GGUF_ARRAY) {
        if (depth >= GGUF_MAX_ARRAY_DEPTH)
            return gguf_fail(c, count_at, "key '%s': arrays nested deeper than %d levels",
                             GGUF_QUOTED(*key), GGUF_MAX_ARRAY_DEPTH);
        if (count > gguf_left(c) / 12)
            return gguf_fail(c, count_at, "key '%s': array of %llu arrays cannot fit in the %llu bytes left",
                             GGUF_QUOTED(*key), (unsigned long long)count,
                             (unsigned long long)gguf_left(c));
        for (uint64_t j = 0; j < count; j++) {
            const uint64_t type_at = c->pos;
            uint32_t inner_type = 0;
            uint64_t inner_count = 0;
            AX_CHECK(gguf_read_u32(c, "nested array type", &inner_type));
            if (inner_type > AX_GGUF_FLOAT64)
                return gguf_fail(c, type_at, "key '%s': unknown array element type %u", GGUF_QUOTED(*key),
                                 (unsigned)inner_type);
            const uint64_t inner_count_at = c->pos;
            AX_CHECK(gguf_read_u64(c, "nested array count", &inner_count));
            AX_CHECK(gguf_skip_array(c, g, key, inner_type, inner_count, inner_count_at, depth + 1, 0));
        }
        return AX_OK;
    }
    return gguf_fail(c, count_at - 4, "key '%s': unknown array element type %u", GGUF_QUOTED(*key),
                     (unsigned)elem_type);
}

static ax_status gguf_read_kv(gguf_cursor *c, ax_gguf *g, gguf_kv *kv) {
    const uint64_t key_at = c->pos;
    AX_CHECK(gguf_read_string(c, "key", &kv->key));
    int64_t existing = 0;
    if (ax_strmap_find(&g->key_index, kv->key.data, (size_t)kv->key.len, &existing))
        return gguf_fail(c, key_at, "duplicate key '%s'", GGUF_QUOTED(kv->key));
    const uint64_t type_at = c->pos;
    AX_CHECK(gguf_read_u32(c, "value type", &kv->type));
    kv->str_first = -1;
    kv->value_pos = c->pos;
    const uint64_t esize = gguf_scalar_bytes(kv->type);
    if (esize > 0) {
        if (esize > gguf_left(c))
            return gguf_fail(c, c->pos, "key '%s': truncated %s value (%llu bytes left)", GGUF_QUOTED(kv->key),
                             ax_gguf_type_name((ax_gguf_type)kv->type), (unsigned long long)gguf_left(c));
        c->pos += esize;
    } else if (kv->type == AX_GGUF_STRING) {
        ax_gguf_string s;
        AX_CHECK(gguf_read_string(c, "string value", &s));
    } else if (kv->type == AX_GGUF_ARRAY) {
        const uint64_t elem_at = c->pos;
        uint64_t count = 0;
        AX_CHECK(gguf_read_u32(c, "array element type", &kv->elem_type));
        if (kv->elem_type > AX_GGUF_FLOAT64)
            return gguf_fail(c, elem_at, "key '%s': unknown array element type %u", GGUF_QUOTED(kv->key),
                             (unsigned)kv->elem_type);
        const uint64_t count_at = c->pos;
        AX_CHECK(gguf_read_u64(c, "array count", &count));
        kv->value_pos = c->pos;
        if (kv->elem_type == AX_GGUF_STRING) kv->str_first = g->str_count;
        AX_CHECK(gguf_skip_array(c, g, &kv->key, kv->elem_type, count, count_at, 1, 1));
        kv->count = (int64_t)count; /* bounded by the file size above */
    } else {
        return gguf_fail(c, type_at, "key '%s': unknown value type %u", GGUF_QUOTED(kv->key),
                         (unsigned)kv->type);
    }
    return AX_OK;
}

/* general.alignment, when present, replaces the default; it must be a nonzero power of two. */
static ax_status gguf_read_alignment(const gguf_cursor *c, ax_gguf *g) {
    g->alignment = GGUF_DEFAULT_ALIGNMENT;
    int64_t i = 0;
    if (!ax_strmap_find(&g->key_index, "general.alignment", strlen("general.alignment"), &i)) return AX_OK;
    const gguf_kv *kv = &g->kvs[i];
    if (kv->type != AX_GGUF_UINT32)
        return gguf_fail(c, kv->value_pos - 4, "general.alignment has type %s, not uint32",
                         ax_gguf_type_name((ax_gguf_type)kv->type));
    const uint32_t a = (uint32_t)gguf_load_le(c->base + kv->value_pos, 4);
    if (a == 0 || (a & (a - 1)) != 0)
        return gguf_fail(c, kv->value_pos, "general.alignment %u is not a nonzero power of two", (unsigned)a);
    g->alignment = a;
    return AX_OK;
}

/* ---- tensors --------------------------------------------------------------------------------- */

static ax_status gguf_read_tensor_info(gguf_cursor *c, ax_gguf *g, ax_gguf_tensor_info *t) {
    const uint64_t name_at = c->pos;
    AX_CHECK(gguf_read_string(c, "tensor name", &t->name));
    int64_t existing = 0;
    if (ax_strmap_find(&g->tensor_index, t->name.data, (size_t)t->name.len, &existing))
        return gguf_fail(c, name_at, "duplicate tensor name '%s'", GGUF_QUOTED(t->name));
    const uint64_t dims_at = c->pos;
    uint32_t n_dims = 0;
    AX_CHECK(gguf_read_u32(c, "n_dims", &n_dims));
    if (n_dims < 1 || n_dims > AX_GGUF_MAX_DIMS)
        return gguf_fail(c, dims_at, "tensor '%s': n_dims %u is outside [1, %d]", GGUF_QUOTED(t->name),
                         (unsigned)n_dims, AX_GGUF_MAX_DIMS);
    t->n_dims = (int32_t)n_dims;
    /* The element count, and the same product with zero dims taken as 1: the strides of the view,
     * which must fit int64 even when a zero dim leaves the tensor empty. */
    int64_t numel = 1, extent = 1;
    for (int d = 0; d < AX_GGUF_MAX_DIMS; d++) t->ne[d] = 1;
    for (uint32_t d = 0; d < n_dims; d++) {
        const uint64_t ne_at = c->pos;
        uint64_t ne = 0;
        AX_CHECK(gguf_read_u64(c, "tensor dim", &ne));
        if (ne > (uint64_t)INT64_MAX)
            return gguf_fail(c, ne_at, "tensor '%s': ne[%u] = %lld is negative", GGUF_QUOTED(t->name), (unsigned)d,
                             (long long)ne);
        t->ne[d] = (int64_t)ne;
        if (ne > 0 && extent > INT64_MAX / (int64_t)ne)
            return gguf_fail(c, ne_at, "tensor '%s': element count overflows int64 at ne[%u] = %llu",
                             GGUF_QUOTED(t->name), (unsigned)d, (unsigned long long)ne);
        numel *= (int64_t)ne;
        extent *= ne > 0 ? (int64_t)ne : 1;
    }
    const uint64_t type_at = c->pos;
    AX_CHECK(gguf_read_u32(c, "tensor type", &t->ggml_type));
    const gguf_ggml_type *gt = gguf_ggml_lookup(t->ggml_type);
    if (gt == NULL)
        return gguf_fail(c, type_at, "tensor '%s': unknown GGML type %u", GGUF_QUOTED(t->name), (unsigned)t->ggml_type);
    if (t->ne[0] % gt->block_elems != 0)
        return gguf_fail(c, dims_at + 4, "tensor '%s': ne[0] = %lld is not a multiple of the %s block size %u",
                         GGUF_QUOTED(t->name), (long long)t->ne[0], gt->name, (unsigned)gt->block_elems);
    /* An int64 element count of an 8-byte type can overflow uint64 bytes. */
    const uint64_t blocks = (uint64_t)numel / gt->block_elems;
    if (blocks > UINT64_MAX / gt->block_bytes)
        return gguf_fail(c, dims_at, "tensor '%s': byte size overflows", GGUF_QUOTED(t->name));
    t->bytes = blocks * gt->block_bytes;
    t->dtype = gt->dtype;
    const uint64_t offset_at = c->pos;
    AX_CHECK(gguf_read_u64(c, "tensor offset", &t->offset));
    if (t->offset % g->alignment != 0)
        return gguf_fail(c, offset_at, "tensor '%s': offset %llu is not a multiple of the alignment %u",
                         GGUF_QUOTED(t->name), (unsigned long long)t->offset, (unsigned)g->alignment);
    return AX_OK;
}

/* Each tensor's data lies inside the file; its info's offset field is found again for the message. */
static ax_status gguf_check_tensor_data(const gguf_cursor *c, const ax_gguf *g, const ax_gguf_tensor_info *t,
                                        uint64_t info_end) {
    const uint64_t offset_at = info_end - 8;
    const uint64_t data_bytes = g->data_offset <= g->size ? g->size - g->data_offset : 0;
    if (t->bytes == 0) return AX_OK; /* nothing to read: accepted wherever it points, as GGML accepts it */
    if (g->data_offset > g->size || t->offset > data_bytes || t->bytes > data_bytes - t->offset)
        return gguf_fail(c, offset_at, "tensor '%s': data [%llu, %llu) of the data section at byte %llu runs "
                         "past the end of the file (%llu bytes)", GGUF_QUOTED(t->name), (unsigned long long)t->offset,
                         (unsigned long long)(t->offset + t->bytes), (unsigned long long)g->data_offset,
                         (unsigned long long)g->size);
    return AX_OK;
}

/* ---- open / close ---------------------------------------------------------------------------- */

static ax_status gguf_parse(ax_gguf *g, const char *name) {
    gguf_cursor c = {g->base, g->size, 0, name};
    static const uint8_t magic[4] = {'G', 'G', 'U', 'F'};
    if (g->size < 4) return gguf_fail(&c, 0, "file of %llu bytes is too short to be GGUF", (unsigned long long)g->size);
    if (memcmp(g->base, magic, 4) != 0)
        return gguf_fail(&c, 0, "bad magic 0x%02x%02x%02x%02x (not a GGUF file)", g->base[0], g->base[1], g->base[2],
                         g->base[3]);
    c.pos = 4;
    AX_CHECK(gguf_read_u32(&c, "version", &g->version));
    const uint32_t v = g->version;
    const uint32_t swapped = (v >> 24) | ((v >> 8) & 0xff00u) | ((v << 8) & 0xff0000u) | (v << 24);
    if (v == 1) return gguf_fail(&c, 4, "GGUF version 1 is not supported (only versions 2 and 3)");
    if (v != 2 && v != 3) {
        if (swapped >= 1 && swapped <= 3)
            return gguf_fail(&c, 4, "a big-endian GGUF file (version %u byte-swapped); only little-endian "
                             "files are supported", (unsigned)swapped);
        return gguf_fail(&c, 4, "unsupported GGUF version %u (only 2 and 3)", (unsigned)v);
    }
    uint64_t n_tensors = 0, n_kv = 0;
    AX_CHECK(gguf_read_u64(&c, "tensor count", &n_tensors));
    AX_CHECK(gguf_read_u64(&c, "kv count", &n_kv));
    /* Counts are bounded by the bytes left before anything count-sized is allocated. */
    if (n_tensors > gguf_left(&c) / GGUF_MIN_TENSOR_BYTES)
        return gguf_fail(&c, 8, "tensor count %llu cannot fit in the %llu bytes left", (unsigned long long)n_tensors,
                         (unsigned long long)gguf_left(&c));
    if (n_kv > gguf_left(&c) / GGUF_MIN_KV_BYTES)
        return gguf_fail(&c, 16, "kv count %llu cannot fit in the %llu bytes left", (unsigned long long)n_kv,
                         (unsigned long long)gguf_left(&c));
    if (n_kv > 0) {
        g->kvs = calloc((size_t)n_kv, sizeof *g->kvs);
        if (g->kvs == NULL)
            return ax_set_error(AX_ERR_OUT_OF_MEMORY, "%s: out of memory for %llu keys", name,
                                (unsigned long long)n_kv);
    }
    for (uint64_t i = 0; i < n_kv; i++) {
        AX_CHECK(gguf_read_kv(&c, g, &g->kvs[i]));
        AX_CHECK(ax_strmap_add(&g->key_index, g->kvs[i].key.data, (size_t)g->kvs[i].key.len, (int64_t)i));
        g->n_kv = (int64_t)i + 1;
    }
    AX_CHECK(gguf_read_alignment(&c, g));
    if (n_tensors > gguf_left(&c) / GGUF_MIN_TENSOR_BYTES)
        return gguf_fail(&c, 8, "tensor count %llu cannot fit in the %llu bytes left after the metadata",
                         (unsigned long long)n_tensors, (unsigned long long)gguf_left(&c));
    uint64_t *info_end = NULL;
    if (n_tensors > 0) {
        g->tensors = calloc((size_t)n_tensors, sizeof *g->tensors);
        info_end = malloc((size_t)n_tensors * sizeof *info_end);
        if (g->tensors == NULL || info_end == NULL) {
            free(info_end);
            return ax_set_error(AX_ERR_OUT_OF_MEMORY, "%s: out of memory for %llu tensors", name,
                                (unsigned long long)n_tensors);
        }
    }
    ax_status st = AX_OK;
    for (uint64_t i = 0; i < n_tensors; i++) {
        AX_CHECK_GOTO(gguf_read_tensor_info(&c, g, &g->tensors[i]), st, done);
        AX_CHECK_GOTO(ax_strmap_add(&g->tensor_index, g->tensors[i].name.data, (size_t)g->tensors[i].name.len,
                                    (int64_t)i), st, done);
        info_end[i] = c.pos;
        g->n_tensors = (int64_t)i + 1;
    }
    /* The data section starts at the end of the header rounded up to the alignment (which may lie
     * past the end of a file with no tensor data). */
    const uint64_t pad = (g->alignment - c.pos % g->alignment) % g->alignment;
    g->data_offset = c.pos + pad; /* c.pos <= size < 2^63, so no overflow */
    for (uint64_t i = 0; i < n_tensors; i++)
        AX_CHECK_GOTO(gguf_check_tensor_data(&c, g, &g->tensors[i], info_end[i]), st, done);
done:
    free(info_end);
    return st;
}

static ax_status gguf_open_common(const void *data, size_t size, int mapped, const char *name, ax_gguf **out) {
    ax_gguf *g = calloc(1, sizeof *g);
    if (g == NULL) {
        if (mapped) munmap((void *)data, size);
        return ax_set_error(AX_ERR_OUT_OF_MEMORY, "%s: out of memory", name);
    }
    g->base = data;
    g->size = size;
    g->mapped = mapped;
    const ax_status st = gguf_parse(g, name);
    if (st != AX_OK) {
        ax_gguf_close(g);
        return st;
    }
    *out = g;
    return AX_OK;
}

ax_status ax_gguf_open_memory(const void *data, size_t size, const char *name, ax_gguf **out) {
    if (out == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "out: NULL");
    *out = NULL;
    if (data == NULL && size > 0) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "data: NULL with size %zu", size);
    if ((uint64_t)size > (uint64_t)INT64_MAX)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "size: %zu is too large", size);
    static const uint8_t empty[1] = {0};
    return gguf_open_common(data != NULL ? data : empty, size, 0, name != NULL ? name : "<memory>", out);
}

ax_status ax_gguf_open(const char *path, ax_gguf **out) {
    if (out == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "out: NULL");
    *out = NULL;
    if (path == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "path: NULL");
    const int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ax_set_error(AX_ERR_IO, "%s: cannot open: %s", path, ax_os_error(errno).text);
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        const int e = errno;
        close(fd);
        return ax_set_error(AX_ERR_IO, "%s: cannot stat: %s", path, ax_os_error(e).text);
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return ax_set_error(AX_ERR_IO, "%s: not a regular file", path);
    }
    const size_t size = (size_t)sb.st_size;
    if (size == 0) {
        close(fd);
        static const uint8_t empty[1] = {0};
        return gguf_open_common(empty, 0, 0, path, out);
    }
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    const int e = errno;
    close(fd); /* the mapping keeps the file */
    if (map == MAP_FAILED)
        return ax_set_error(AX_ERR_IO, "%s: cannot map %zu bytes: %s", path, size, ax_os_error(e).text);
    return gguf_open_common(map, size, 1, path, out);
}

void ax_gguf_close(ax_gguf *g) {
    if (g == NULL) return;
    if (g->mapped) munmap((void *)g->base, (size_t)g->size);
    free(g->kvs);
    free(g->tensors);
    free(g->str_pos);
    ax_strmap_free(&g->key_index);
    ax_strmap_free(&g->tensor_index);
    free(g);
}

uint32_t ax_gguf_version(const ax_gguf *g) { return g != NULL ? g->version : 0; }
uint32_t ax_gguf_alignment(const ax_gguf *g) { return g != NULL ? g->alignment : 0; }
uint64_t ax_gguf_data_offset(const ax_gguf *g) { return g != NULL ? g->data_offset : 0; }
uint64_t ax_gguf_file_size(const ax_gguf *g) { return g != NULL ? g->size : 0; }
const void *ax_gguf_file_data(const ax_gguf *g) { return g != NULL ? g->base : NULL; }

/* ---- metadata accessors ---------------------------------------------------------------------- */

int64_t ax_gguf_kv_count(const ax_gguf *g) { return g != NULL ? g->n_kv : 0; }

int64_t ax_gguf_find_key(const ax_gguf *g, const char *key) {
    int64_t i = -1;
    if (g == NULL || key == NULL || !ax_strmap_find(&g->key_index, key, strlen(key), &i)) return -1;
    return i;
}

ax_gguf_string ax_gguf_kv_key(const ax_gguf *g, int64_t i) {
    ax_gguf_string s = {"", 0};
    if (g != NULL && i >= 0 && i < g->n_kv) s = g->kvs[i].key;
    return s;
}

ax_gguf_type ax_gguf_kv_type(const ax_gguf *g, int64_t i) {
    if (g == NULL || i < 0 || i >= g->n_kv) return (ax_gguf_type)-1;
    return (ax_gguf_type)g->kvs[i].type;
}

/* A value read as a number: integers keep their sign, floats are doubles. */
typedef struct gguf_number {
    enum { GGUF_NUM_NONE, GGUF_NUM_SIGNED, GGUF_NUM_UNSIGNED, GGUF_NUM_FLOAT } kind;
    int64_t i;
    uint64_t u;
    double f;
} gguf_number;

static gguf_number gguf_read_number(const uint8_t *p, uint32_t type) {
    gguf_number n = {GGUF_NUM_NONE, 0, 0, 0.0};
    const uint64_t bytes = gguf_scalar_bytes(type);
    const uint64_t raw = bytes > 0 ? gguf_load_le(p, (unsigned)bytes) : 0;
    switch (type) {
    case AX_GGUF_UINT8: case AX_GGUF_UINT16: case AX_GGUF_UINT32: case AX_GGUF_UINT64: case AX_GGUF_BOOL:
        n.kind = GGUF_NUM_UNSIGNED;
        n.u = raw;
        break;
    case AX_GGUF_INT8: n.kind = GGUF_NUM_SIGNED; n.i = (int8_t)(uint8_t)raw; break;
    case AX_GGUF_INT16: n.kind = GGUF_NUM_SIGNED; n.i = (int16_t)(uint16_t)raw; break;
    case AX_GGUF_INT32: n.kind = GGUF_NUM_SIGNED; n.i = (int32_t)(uint32_t)raw; break;
    case AX_GGUF_INT64: n.kind = GGUF_NUM_SIGNED; memcpy(&n.i, &raw, 8); break;
    case AX_GGUF_FLOAT32: {
        const uint32_t r32 = (uint32_t)raw;
        float f;
        memcpy(&f, &r32, 4);
        n.kind = GGUF_NUM_FLOAT;
        n.f = f;
        break;
    }
    case AX_GGUF_FLOAT64: n.kind = GGUF_NUM_FLOAT; memcpy(&n.f, &raw, 8); break;
    default: break;
    }
    return n;
}

static ax_status gguf_check_index(const ax_gguf *g, int64_t i, const void *out) {
    if (g == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "gguf: NULL");
    if (out == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "out: NULL");
    if (i < 0 || i >= g->n_kv)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "gguf: key index %lld is outside [0, %lld)", (long long)i,
                            (long long)g->n_kv);
    return AX_OK;
}

/* The message's subject: "key 'K'" or "key 'K' element j". */
static ax_status gguf_kind_error(const gguf_kv *kv, int64_t j, uint32_t type, const char *wanted) {
    if (j < 0)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "gguf: key '%s': a %s value, not %s", GGUF_QUOTED(kv->key),
                            ax_gguf_type_name((ax_gguf_type)type), wanted);
    return ax_set_error(AX_ERR_INVALID_ARGUMENT, "gguf: key '%s' element %lld: a %s value, not %s",
                        GGUF_QUOTED(kv->key), (long long)j, ax_gguf_type_name((ax_gguf_type)type), wanted);
}

static ax_status gguf_fit_error(const gguf_kv *kv, int64_t j, const char *wanted) {
    if (j < 0)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "gguf: key '%s': value does not fit %s", GGUF_QUOTED(kv->key),
                            wanted);
    return ax_set_error(AX_ERR_INVALID_ARGUMENT, "gguf: key '%s' element %lld: value does not fit %s",
                        GGUF_QUOTED(kv->key), (long long)j, wanted);
}

static ax_status gguf_to_i64(const gguf_kv *kv, int64_t j, const uint8_t *p, uint32_t type, int64_t *out) {
    const gguf_number n = gguf_read_number(p, type);
    if (n.kind == GGUF_NUM_SIGNED) {
        *out = n.i;
        return AX_OK;
    }
    if (n.kind != GGUF_NUM_UNSIGNED) return gguf_kind_error(kv, j, type, "an integer");
    if (n.u > (uint64_t)INT64_MAX) return gguf_fit_error(kv, j, "int64");
    *out = (int64_t)n.u;
    return AX_OK;
}

static ax_status gguf_to_f64(const gguf_kv *kv, int64_t j, const uint8_t *p, uint32_t type, double *out) {
    const gguf_number n = gguf_read_number(p, type);
    if (n.kind != GGUF_NUM_FLOAT) return gguf_kind_error(kv, j, type, "a float");
    *out = n.f;
    return AX_OK;
}

ax_status ax_gguf_get_i64(const ax_gguf *g, int64_t i, int64_t *out) {
    AX_CHECK(gguf_check_index(g, i, out));
    const gguf_kv *kv = &g->kvs[i];
    return gguf_to_i64(kv, -1, g->base + kv->value_pos, kv->type, out);
}

ax_status ax_gguf_get_u64(const ax_gguf *g, int64_t i, uint64_t *out) {
    AX_CHECK(gguf_check_index(g, i, out));
    const gguf_kv *kv = &g->kvs[i];
    const gguf_number n = gguf_read_number(g->base + kv->value_pos, kv->type);
    if (n.kind == GGUF_NUM_UNSIGNED) {
        *out = n.u;
        return AX_OK;
    }
    if (n.kind != GGUF_NUM_SIGNED) return gguf_kind_error(kv, -1, kv->type, "an integer");
    if (n.i < 0) return gguf_fit_error(kv, -1, "uint64");
    *out = (uint64_t)n.i;
    return AX_OK;
}

ax_status ax_gguf_get_f64(const ax_gguf *g, int64_t i, double *out) {
    AX_CHECK(gguf_check_index(g, i, out));
    const gguf_kv *kv = &g->kvs[i];
    return gguf_to_f64(kv, -1, g->base + kv->value_pos, kv->type, out);
}

ax_status ax_gguf_get_bool(const ax_gguf *g, int64_t i, int *out) {
    AX_CHECK(gguf_check_index(g, i, out));
    const gguf_kv *kv = &g->kvs[i];
    const gguf_number n = gguf_read_number(g->base + kv->value_pos, kv->type);
    if (n.kind != GGUF_NUM_SIGNED && n.kind != GGUF_NUM_UNSIGNED) return gguf_kind_error(kv, -1, kv->type, "a bool");
    const int is_one = n.kind == GGUF_NUM_SIGNED ? n.i == 1 : n.u == 1;
    const int is_zero = n.kind == GGUF_NUM_SIGNED ? n.i == 0 : n.u == 0;
    if (kv->type == AX_GGUF_BOOL) {
        *out = !is_zero;
        return AX_OK;
    }
    if (!is_one && !is_zero) return gguf_fit_error(kv, -1, "bool");
    *out = is_one;
    return AX_OK;
}

ax_status ax_gguf_get_string(const ax_gguf *g, int64_t i, ax_gguf_string *out) {
    AX_CHECK(gguf_check_index(g, i, out));
    const gguf_kv *kv = &g->kvs[i];
    if (kv->type != AX_GGUF_STRING) return gguf_kind_error(kv, -1, kv->type, "a string");
    out->len = gguf_load_le(g->base + kv->value_pos, 8);
    out->data = (const char *)g->base + kv->value_pos + 8;
    return AX_OK;
}

ax_status ax_gguf_get_array(const ax_gguf *g, int64_t i, ax_gguf_type *elem_type, int64_t *count,
                            const void **data) {
    AX_CHECK(gguf_check_index(g, i, elem_type));
    if (count == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "count: NULL");
    const gguf_kv *kv = &g->kvs[i];
    if (kv->type != AX_GGUF_ARRAY) return gguf_kind_error(kv, -1, kv->type, "an array");
    *elem_type = (ax_gguf_type)kv->elem_type;
    *count = kv->count;
    if (data != NULL) *data = gguf_scalar_bytes(kv->elem_type) > 0 ? g->base + kv->value_pos : NULL;
    return AX_OK;
}

/* Element j of a fixed-size-element array, or an error naming the key and j. */
static ax_status gguf_array_element(const ax_gguf *g, int64_t i, int64_t j, const void *out, const gguf_kv **kv,
                                    const uint8_t **p) {
    AX_CHECK(gguf_check_index(g, i, out));
    *kv = &g->kvs[i];
    if ((*kv)->type != AX_GGUF_ARRAY) return gguf_kind_error(*kv, -1, (*kv)->type, "an array");
    if (j < 0 || j >= (*kv)->count)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "gguf: key '%s': element %lld is outside [0, %lld)",
                            GGUF_QUOTED((*kv)->key), (long long)j,
                            (long long)(*kv)->count);
    const uint64_t esize = gguf_scalar_bytes((*kv)->elem_type);
    *p = esize > 0 ? g->base + (*kv)->value_pos + (uint64_t)j * esize : NULL;
    return AX_OK;
}

ax_status ax_gguf_array_get_i64(const ax_gguf *g, int64_t i, int64_t j, int64_t *out) {
    const gguf_kv *kv = NULL;
    const uint8_t *p = NULL;
    AX_CHECK(gguf_array_element(g, i, j, out, &kv, &p));
    if (p == NULL) return gguf_kind_error(kv, j, kv->elem_type, "an integer");
    return gguf_to_i64(kv, j, p, kv->elem_type, out);
}

ax_status ax_gguf_array_get_f64(const ax_gguf *g, int64_t i, int64_t j, double *out) {
    const gguf_kv *kv = NULL;
    const uint8_t *p = NULL;
    AX_CHECK(gguf_array_element(g, i, j, out, &kv, &p));
    if (p == NULL) return gguf_kind_error(kv, j, kv->elem_type, "a float");
    return gguf_to_f64(kv, j, p, kv->elem_type, out);
}

ax_status ax_gguf_array_get_string(const ax_gguf *g, int64_t i, int64_t j, ax_gguf_string *out) {
    const gguf_kv *kv = NULL;
    const uint8_t *p = NULL;
    AX_CHECK(gguf_array_element(g, i, j, out, &kv, &p));
    if (kv->elem_type != AX_GGUF_STRING) return gguf_kind_error(kv, j, kv->elem_type, "a string");
    const uint64_t at = g->str_pos[kv->str_first + j];
    out->len = gguf_load_le(g->base + at, 8);
    out->data = (const char *)g->base + at + 8;
    return AX_OK;
}

/* ---- tensor accessors ------------------------------------------------------------------------ */

int64_t ax_gguf_tensor_count(const ax_gguf *g) { return g != NULL ? g->n_tensors : 0; }

int64_t ax_gguf_find_tensor(const ax_gguf *g, const char *name) {
    int64_t i = -1;
    if (g == NULL || name == NULL || !ax_strmap_find(&g->tensor_index, name, strlen(name), &i)) return -1;
    return i;
}

ax_status ax_gguf_tensor_info_get(const ax_gguf *g, int64_t i, ax_gguf_tensor_info *out) {
    if (g == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "gguf: NULL");
    if (out == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "out: NULL");
    if (i < 0 || i >= g->n_tensors)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "gguf: tensor index %lld is outside [0, %lld)", (long long)i,
                            (long long)g->n_tensors);
    *out = g->tensors[i];
    return AX_OK;
}

ax_status ax_gguf_tensor_view(const ax_gguf *g, int64_t i, ax_tensor *out) {
    if (out == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "out: NULL");
    ax_gguf_tensor_info t;
    AX_CHECK(ax_gguf_tensor_info_get(g, i, &t));
    if (t.dtype < 0)
        return ax_set_error(AX_ERR_UNSUPPORTED, "gguf: tensor '%s': GGML type %s (%u) has no Axial dtype",
                            GGUF_QUOTED(t.name), ax_ggml_type_name(t.ggml_type),
                            (unsigned)t.ggml_type);
    /* general.alignment may be 1 or 2 (ggml accepts it): a view whose data is not aligned for its
     * element or block would be read through misaligned pointers by every op. The alignment asked
     * is the largest power of two dividing the element or block size, at most 8. */
    const int64_t unit = ax_dt_block_bytes((ax_dtype)t.dtype);
    const int64_t need = unit > 0 ? (unit & -unit) > 8 ? 8 : (unit & -unit) : 1;
    const uint64_t at = g->data_offset + t.offset;
    if (t.bytes > 0 && (uintptr_t)(g->base + at) % (uintptr_t)need != 0)
        return ax_set_error(AX_ERR_UNSUPPORTED,
                            "gguf: tensor '%s': its data at file offset %llu is not aligned to %lld bytes for %s "
                            "(general.alignment is %u, or the file's buffer is misaligned)",
                            GGUF_QUOTED(t.name), (unsigned long long)at, (long long)need,
                            ax_ggml_type_name(t.ggml_type), (unsigned)g->alignment);
    memset(out, 0, sizeof *out);
    /* The mapping is read-only; the header tells callers never to write through the view. */
    /* An empty tensor may point past the end of the file (see gguf_check_tensor_data): no bytes are
     * read through it, and the mapping's start keeps the pointer inside the mapping. */
    out->data = (void *)(uintptr_t)(t.bytes == 0 ? g->base : g->base + g->data_offset + t.offset);
    out->dtype = (ax_dtype)t.dtype;
    out->device.type = AX_CPU;
    out->device.id = 0;
    out->ndim = t.n_dims;
    int64_t stride = 1;
    for (int32_t d = t.n_dims - 1; d >= 0; d--) {
        /* Row-major dim d is GGML's ne[n_dims - 1 - d]. */
        out->shape[d] = t.ne[t.n_dims - 1 - d];
        out->strides[d] = stride;
        stride *= out->shape[d] > 0 ? out->shape[d] : 1; /* fits: the extent was checked at open */
    }
    return AX_OK;
}
