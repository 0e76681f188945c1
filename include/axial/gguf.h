/*
 * gguf.h — reading GGUF model files (the format of llama.cpp / GGML): metadata and tensors.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 *
 * Conventions are those of axial.h (status codes, ax_last_error). A GGUF file is
 *
 *   magic "GGUF", u32 version (2 or 3), u64 tensor_count, u64 kv_count,
 *   kv_count x (string key, u32 type, value), tensor_count x (string name, u32 n_dims,
 *   n_dims x u64 ne, u32 ggml_type, u64 offset), padding to the alignment, tensor data.
 *
 * little-endian, strings as u64 length + bytes (not NUL-terminated), arrays as u32 element type +
 * u64 count + elements (arrays of arrays are allowed by the format and read, not interpreted).
 * The alignment is `general.alignment` (u32, a power of two) or 32. Tensor offsets are relative to
 * the start of the data section and must be multiples of the alignment.
 *
 * The reader maps the file read-only (mmap) and checks everything while opening: every count, length,
 * offset, size and dimension against the file size and for 64-bit overflow, key and tensor name
 * uniqueness, the data of each tensor inside the file and aligned, known value types, arrays nested
 * at most 16 deep (docs/gguf.md lists every check). A file that fails any check is refused with
 * AX_ERR_FORMAT and a message naming the file, the byte offset and the reason ("model.gguf: byte
 * 1234: tensor 'blk.0.attn_q.weight': offset 99 is not a multiple of the alignment 32"). After a
 * successful open no accessor can read outside the mapping.
 *
 * Strings returned by the accessors point into the mapping (not NUL-terminated: use the length) and
 * live as long as the ax_gguf. Numeric array data is returned as a pointer into the mapping in the
 * file's little-endian layout and need not be aligned for its type: copy elements with memcpy, or
 * use ax_gguf_array_get_* which do. An open ax_gguf is read-only; every accessor is thread-safe.
 */
#ifndef AXIAL_GGUF_H
#define AXIAL_GGUF_H

#include <stddef.h>
#include <stdint.h>

#include "axial/axial.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ax_gguf ax_gguf;

/* Metadata value types, with the format's numbering. */
typedef enum ax_gguf_type {
    AX_GGUF_UINT8 = 0,
    AX_GGUF_INT8 = 1,
    AX_GGUF_UINT16 = 2,
    AX_GGUF_INT16 = 3,
    AX_GGUF_UINT32 = 4,
    AX_GGUF_INT32 = 5,
    AX_GGUF_FLOAT32 = 6,
    AX_GGUF_BOOL = 7,
    AX_GGUF_STRING = 8,
    AX_GGUF_ARRAY = 9,
    AX_GGUF_UINT64 = 10,
    AX_GGUF_INT64 = 11,
    AX_GGUF_FLOAT64 = 12
} ax_gguf_type;

/* A string inside the file: `len` bytes at `data`, not NUL-terminated, any bytes (GGUF says UTF-8
 * but the reader does not insist). */
typedef struct ax_gguf_string {
    const char *data;
    uint64_t len;
} ax_gguf_string;

/* The name of a value type ("uint32", "string", ...), or "unknown". */
AX_API const char *ax_gguf_type_name(ax_gguf_type type);

/* Opens and checks a GGUF file, mapped read-only. Errors: AX_ERR_INVALID_ARGUMENT (NULL path/out),
 * AX_ERR_IO (cannot open, stat or map; the message has strerror), AX_ERR_FORMAT (see above),
 * AX_ERR_OUT_OF_MEMORY. On failure *out is NULL. Thread-safe. */
AX_API ax_status ax_gguf_open(const char *path, ax_gguf **out);

/* The same over `size` bytes in memory (not copied: they must outlive the ax_gguf). `name` is used in
 * messages (NULL: "<memory>"). For tests, fuzzers and files that are already mapped. Errors as
 * ax_gguf_open, less AX_ERR_IO (NULL data with size > 0 is AX_ERR_INVALID_ARGUMENT). Thread-safe. */
AX_API ax_status ax_gguf_open_memory(const void *data, size_t size, const char *name, ax_gguf **out);

/* Unmaps and frees. Accepts NULL. Views and strings taken from it become invalid. */
AX_API void ax_gguf_close(ax_gguf *g);

/* The file's GGUF version (2 or 3) and its data alignment in bytes (general.alignment, default 32);
 * 0 for a NULL g. */
AX_API uint32_t ax_gguf_version(const ax_gguf *g);
AX_API uint32_t ax_gguf_alignment(const ax_gguf *g);
/* Byte offset of the data section in the file, and the file's size. */
AX_API uint64_t ax_gguf_data_offset(const ax_gguf *g);
AX_API uint64_t ax_gguf_file_size(const ax_gguf *g);
/* The start of the mapping (byte 0 of the file). */
AX_API const void *ax_gguf_file_data(const ax_gguf *g);

/* ---- metadata -------------------------------------------------------------------------------- */

/* Number of metadata entries (0 for a NULL g). */
AX_API int64_t ax_gguf_kv_count(const ax_gguf *g);
/* Index of the key, or -1 if absent. Keys are unique (checked at open). */
AX_API int64_t ax_gguf_find_key(const ax_gguf *g, const char *key);
/* The key and type of entry i (0 <= i < kv_count; out of range: an empty string, and -1 as type). */
AX_API ax_gguf_string ax_gguf_kv_key(const ax_gguf *g, int64_t i);
AX_API ax_gguf_type ax_gguf_kv_type(const ax_gguf *g, int64_t i);

/* Typed reads of entry i. Integers of any integer type (and bool) are converted when the value fits
 * the requested type; floats from FLOAT32 or FLOAT64. Errors: AX_ERR_INVALID_ARGUMENT (i out of range,
 * NULL out, a value of another kind, or that does not fit), naming the key. */
AX_API ax_status ax_gguf_get_i64(const ax_gguf *g, int64_t i, int64_t *out);
AX_API ax_status ax_gguf_get_u64(const ax_gguf *g, int64_t i, uint64_t *out);
AX_API ax_status ax_gguf_get_f64(const ax_gguf *g, int64_t i, double *out);
AX_API ax_status ax_gguf_get_bool(const ax_gguf *g, int64_t i, int *out);
AX_API ax_status ax_gguf_get_string(const ax_gguf *g, int64_t i, ax_gguf_string *out);

/* An ARRAY entry: its element type, element count and, for arrays of fixed-size elements, a pointer
 * to the first element in the mapping (NULL for arrays of strings or of arrays). */
AX_API ax_status ax_gguf_get_array(const ax_gguf *g, int64_t i, ax_gguf_type *elem_type, int64_t *count,
                                   const void **data);
/* Element j of an ARRAY entry, converted as the scalar reads above (strings: O(1), the reader indexes
 * string arrays while opening). Errors as above, naming the key and j. */
AX_API ax_status ax_gguf_array_get_i64(const ax_gguf *g, int64_t i, int64_t j, int64_t *out);
AX_API ax_status ax_gguf_array_get_f64(const ax_gguf *g, int64_t i, int64_t j, double *out);
AX_API ax_status ax_gguf_array_get_string(const ax_gguf *g, int64_t i, int64_t j, ax_gguf_string *out);

/* ---- tensors --------------------------------------------------------------------------------- */

/* GGML's tensor type numbers that Axial maps to an ax_dtype (other types are listed by the reader and
 * refused by ax_gguf_tensor_view). */
#define AX_GGML_TYPE_F32 0
#define AX_GGML_TYPE_F16 1
#define AX_GGML_TYPE_Q4_0 2
#define AX_GGML_TYPE_Q4_1 3
#define AX_GGML_TYPE_Q8_0 8
#define AX_GGML_TYPE_Q4_K 12
#define AX_GGML_TYPE_Q6_K 14
#define AX_GGML_TYPE_I8 24
#define AX_GGML_TYPE_I32 26
#define AX_GGML_TYPE_I64 27
#define AX_GGML_TYPE_F64 28
#define AX_GGML_TYPE_BF16 30

#define AX_GGUF_MAX_DIMS 4

typedef struct ax_gguf_tensor_info {
    ax_gguf_string name;
    uint32_t ggml_type;            /* GGML's type number */
    int32_t n_dims;                /* 1..AX_GGUF_MAX_DIMS */
    int64_t ne[AX_GGUF_MAX_DIMS];  /* GGML order: ne[0] is the innermost (contiguous) dim; 1 past n_dims */
    uint64_t offset;               /* from the start of the data section */
    uint64_t bytes;                /* size of the data */
    int dtype;                     /* the ax_dtype, or -1 when Axial has none for ggml_type */
} ax_gguf_tensor_info;

/* Number of tensors (0 for a NULL g). */
AX_API int64_t ax_gguf_tensor_count(const ax_gguf *g);
/* Index of the tensor, or -1 if absent. */
AX_API int64_t ax_gguf_find_tensor(const ax_gguf *g, const char *name);
/* Errors: AX_ERR_INVALID_ARGUMENT (i out of range, NULL out). */
AX_API ax_status ax_gguf_tensor_info_get(const ax_gguf *g, int64_t i, ax_gguf_tensor_info *out);

/* A CPU ax_tensor view of tensor i's data inside the mapping (read-only memory: never pass it as an
 * output). The shape is GGML's reversed to row-major: shape = (ne[n-1], ..., ne[0]), contiguous, so a
 * GGUF matrix with ne = (in, out) is an (out, in) tensor whose rows are output features. An empty
 * tensor (0 bytes) may point past the end of the file; its view's data is the mapping's start.
 * The data is aligned to the largest power of two dividing the element (block) size, at most 8.
 * Errors: AX_ERR_INVALID_ARGUMENT (i out of range, NULL out), AX_ERR_UNSUPPORTED (a GGML type
 * without an ax_dtype, naming the tensor and type; data not so aligned, possible in a file whose
 * general.alignment is below 8, naming the tensor, offset and alignment). */
AX_API ax_status ax_gguf_tensor_view(const ax_gguf *g, int64_t i, ax_tensor *out);

/* The name of a GGML type number ("q4_1"), or "unknown". */
AX_API const char *ax_ggml_type_name(uint32_t ggml_type);

#ifdef __cplusplus
}
#endif

#endif /* AXIAL_GGUF_H */
