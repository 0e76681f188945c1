/*
 * cmd_gguf.c — `axial gguf show F [--json]`: a GGUF file's header, metadata and tensor table, for
 * people (arrays cut to 8 elements, strings to 200 bytes) or, with --json, in full for programs
 * (tests/python/test_gguf_reader.py compares it with the `gguf` package).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "axial/gguf.h"
#include "cli.h"

#define GGUF_SHOW_ELEMS 8
#define GGUF_SHOW_STRING_BYTES 200

static int gguf_usage_error(const char *message) {
    fprintf(stderr, "axial gguf: %s (see `axial gguf --help`)\n", message);
    return 2;
}

static void gguf_usage(FILE *out) {
    fprintf(out,
            "usage:\n"
            "  axial gguf show FILE.gguf [--json]\n"
            "      Checks the file as the loader does, then prints its version, alignment, every metadata\n"
            "      key with its type and value (arrays: element type, count and the first %d elements;\n"
            "      strings cut at %d bytes), and every tensor: name, GGML type, ne (GGML order), the\n"
            "      row-major shape Axial views it with, offset in the data section and size.\n"
            "      --json prints the same, uncut (every array element), as one JSON object. Strings are\n"
            "      UTF-8; a byte that is not valid UTF-8 is written as \\udcXX (Python's surrogateescape).\n",
            GGUF_SHOW_ELEMS, GGUF_SHOW_STRING_BYTES);
}

/* Length of the valid UTF-8 sequence at s[0, n), or 0 when it is not one (overlong forms, surrogates
 * and code points past U+10FFFF are invalid). */
static size_t utf8_sequence(const unsigned char *s, size_t n) {
    const unsigned c = s[0];
    size_t len;
    unsigned cp;
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf) { len = 2; cp = c & 0x1f; }
    else if (c >= 0xe0 && c <= 0xef) { len = 3; cp = c & 0x0f; }
    else if (c >= 0xf0 && c <= 0xf4) { len = 4; cp = c & 0x07; }
    else return 0;
    if (len > n) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3fu);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff))) return 0;
    if (cp >= 0xd800 && cp <= 0xdfff) return 0;
    return len;
}

/* A JSON string of the bytes (quoted, escaped; invalid UTF-8 bytes as \udcXX). */
static void json_string(const char *data, uint64_t len) {
    const unsigned char *s = (const unsigned char *)data;
    putchar('"');
    for (uint64_t i = 0; i < len;) {
        const unsigned char c = s[i];
        if (c == '"' || c == '\\') {
            printf("\\%c", c);
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            printf("\\u%04x", c);
            i++;
        } else {
            const size_t n = utf8_sequence(s + i, (size_t)(len - i));
            if (n == 0) {
                printf("\\udc%02x", c);
                i++;
            } else {
                fwrite(s + i, 1, n, stdout);
                i += n;
            }
        }
    }
    putchar('"');
}

/* A string for people: quoted, control bytes escaped, cut at `max` bytes with "...". */
static void text_string(const char *data, uint64_t len, uint64_t max) {
    const unsigned char *s = (const unsigned char *)data;
    const uint64_t shown = len > max ? max : len;
    putchar('"');
    for (uint64_t i = 0; i < shown; i++) {
        const unsigned char c = s[i];
        if (c == '\n') fputs("\\n", stdout);
        else if (c == '\t') fputs("\\t", stdout);
        else if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c < 0x20 || c == 0x7f) printf("\\x%02x", c);
        else putchar(c);
    }
    putchar('"');
    if (len > max) fputs("...", stdout);
}

/* A key or tensor name: as it is when it is plain text, else quoted and escaped as values are (a
 * name's control bytes had gone to the terminal raw: escapes, forged lines, text hidden after a NUL). */
static void text_name(const char *data, uint64_t len) {
    int plain = 1;
    for (uint64_t i = 0; i < len && plain; i++) {
        const unsigned char c = (unsigned char)data[i];
        plain = c >= 0x20 && c != 0x7f && c != '"' && c != '\\';
    }
    if (!plain || len == 0) {
        text_string(data, len, GGUF_SHOW_STRING_BYTES);
        return;
    }
    printf("%.*s", (int)(len > GGUF_SHOW_STRING_BYTES ? GGUF_SHOW_STRING_BYTES : len), data);
    if (len > GGUF_SHOW_STRING_BYTES) fputs("...", stdout);
}

static void json_double(double v) {
    /* Python's json module reads these three spellings. */
    if (isnan(v)) fputs("NaN", stdout);
    else if (isinf(v)) fputs(v > 0 ? "Infinity" : "-Infinity", stdout);
    else printf("%.17g", v);
}

/* One scalar value (of entry i, or of element j of array entry i when j >= 0). */
static int print_value(const ax_gguf *g, int64_t i, int64_t j, ax_gguf_type type, int json) {
    int64_t iv = 0;
    uint64_t uv = 0;
    double fv = 0;
    int bv = 0;
    ax_gguf_string sv;
    ax_status st = AX_OK;
    switch (type) {
    case AX_GGUF_FLOAT32: case AX_GGUF_FLOAT64:
        st = j < 0 ? ax_gguf_get_f64(g, i, &fv) : ax_gguf_array_get_f64(g, i, j, &fv);
        if (st != AX_OK) break;
        if (json) json_double(fv);
        else printf("%.9g", fv);
        break;
    case AX_GGUF_STRING:
        st = j < 0 ? ax_gguf_get_string(g, i, &sv) : ax_gguf_array_get_string(g, i, j, &sv);
        if (st != AX_OK) break;
        if (json) json_string(sv.data, sv.len);
        else text_string(sv.data, sv.len, GGUF_SHOW_STRING_BYTES);
        break;
    case AX_GGUF_BOOL:
        if (j < 0) st = ax_gguf_get_bool(g, i, &bv);
        else {
            st = ax_gguf_array_get_i64(g, i, j, &iv);
            bv = iv != 0;
        }
        if (st == AX_OK) fputs(bv ? "true" : "false", stdout);
        break;
    case AX_GGUF_UINT64:
        /* u64 past INT64_MAX: only the scalar read has an unsigned form. */
        if (j < 0) {
            st = ax_gguf_get_u64(g, i, &uv);
            if (st == AX_OK) printf("%llu", (unsigned long long)uv);
            break;
        } else {
            ax_gguf_type et;
            int64_t count;
            const void *data = NULL;
            st = ax_gguf_get_array(g, i, &et, &count, &data);
            if (st != AX_OK) break;
            const unsigned char *p = (const unsigned char *)data + 8 * j;
            for (int b = 7; b >= 0; b--) uv = (uv << 8) | p[b];
            printf("%llu", (unsigned long long)uv);
        }
        break;
    default:
        st = j < 0 ? ax_gguf_get_i64(g, i, &iv) : ax_gguf_array_get_i64(g, i, j, &iv);
        if (st == AX_OK) printf("%lld", (long long)iv);
        break;
    }
    if (st != AX_OK) {
        fprintf(stderr, "axial gguf: %s\n", ax_last_error());
        return 1;
    }
    return 0;
}

/* dims[0, n) as a JSON list or a tuple, in order or reversed (GGML's ne to Axial's row-major shape). */
static void print_dims(const int64_t *dims, int32_t n, int reversed, int json) {
    putchar(json ? '[' : '(');
    for (int32_t d = 0; d < n; d++) printf("%s%lld", d ? ", " : "", (long long)dims[reversed ? n - 1 - d : d]);
    putchar(json ? ']' : ')');
}

static int show_json(const ax_gguf *g, const char *path) {
    printf("{\"file\": ");
    json_string(path, strlen(path));
    printf(", \"version\": %u, \"alignment\": %u, \"data_offset\": %llu, \"file_size\": %llu,\n \"metadata\": [",
           ax_gguf_version(g), ax_gguf_alignment(g), (unsigned long long)ax_gguf_data_offset(g),
           (unsigned long long)ax_gguf_file_size(g));
    for (int64_t i = 0; i < ax_gguf_kv_count(g); i++) {
        const ax_gguf_string key = ax_gguf_kv_key(g, i);
        const ax_gguf_type type = ax_gguf_kv_type(g, i);
        printf("%s\n  {\"key\": ", i ? "," : "");
        json_string(key.data, key.len);
        printf(", \"type\": \"%s\", ", ax_gguf_type_name(type));
        if (type != AX_GGUF_ARRAY) {
            printf("\"value\": ");
            if (print_value(g, i, -1, type, 1) != 0) return 1;
        } else {
            ax_gguf_type et;
            int64_t count = 0;
            if (ax_gguf_get_array(g, i, &et, &count, NULL) != AX_OK) {
                fprintf(stderr, "axial gguf: %s\n", ax_last_error());
                return 1;
            }
            printf("\"elem_type\": \"%s\", \"count\": %lld, \"value\": ", ax_gguf_type_name(et), (long long)count);
            if (et == AX_GGUF_ARRAY) {
                fputs("null", stdout); /* arrays of arrays are not interpreted */
            } else {
                putchar('[');
                for (int64_t j = 0; j < count; j++) {
                    if (j) fputs(", ", stdout);
                    if (print_value(g, i, j, et, 1) != 0) return 1;
                }
                putchar(']');
            }
        }
        putchar('}');
    }
    printf("],\n \"tensors\": [");
    uint64_t total = 0;
    for (int64_t i = 0; i < ax_gguf_tensor_count(g); i++) {
        ax_gguf_tensor_info t;
        if (ax_gguf_tensor_info_get(g, i, &t) != AX_OK) {
            fprintf(stderr, "axial gguf: %s\n", ax_last_error());
            return 1;
        }
        printf("%s\n  {\"name\": ", i ? "," : "");
        json_string(t.name.data, t.name.len);
        printf(", \"type\": \"%s\", \"ggml_type\": %u, \"ne\": ", ax_ggml_type_name(t.ggml_type), t.ggml_type);
        print_dims(t.ne, t.n_dims, 0, 1);
        printf(", \"shape\": ");
        print_dims(t.ne, t.n_dims, 1, 1);
        printf(", \"offset\": %llu, \"bytes\": %llu, \"dtype\": ", (unsigned long long)t.offset,
               (unsigned long long)t.bytes);
        if (t.dtype >= 0) printf("\"%s\"}", ax_dtype_name((ax_dtype)t.dtype));
        else printf("null}");
        total += t.bytes;
    }
    printf("],\n \"tensor_bytes\": %llu}\n", (unsigned long long)total);
    return 0;
}

static int show_text(const ax_gguf *g, const char *path) {
    printf("%s: GGUF version %u, alignment %u, data section at byte %llu, %llu bytes\n", path, ax_gguf_version(g),
           ax_gguf_alignment(g), (unsigned long long)ax_gguf_data_offset(g), (unsigned long long)ax_gguf_file_size(g));
    printf("metadata: %lld keys\n", (long long)ax_gguf_kv_count(g));
    for (int64_t i = 0; i < ax_gguf_kv_count(g); i++) {
        const ax_gguf_string key = ax_gguf_kv_key(g, i);
        const ax_gguf_type type = ax_gguf_kv_type(g, i);
        fputs("  ", stdout);
        text_name(key.data, key.len);
        fputs(": ", stdout);
        if (type != AX_GGUF_ARRAY) {
            printf("%s = ", ax_gguf_type_name(type));
            if (print_value(g, i, -1, type, 0) != 0) return 1;
            putchar('\n');
            continue;
        }
        ax_gguf_type et;
        int64_t count = 0;
        if (ax_gguf_get_array(g, i, &et, &count, NULL) != AX_OK) {
            fprintf(stderr, "axial gguf: %s\n", ax_last_error());
            return 1;
        }
        printf("array[%s] of %lld", ax_gguf_type_name(et), (long long)count);
        if (et != AX_GGUF_ARRAY && count > 0) {
            fputs(" = [", stdout);
            for (int64_t j = 0; j < count && j < GGUF_SHOW_ELEMS; j++) {
                if (j) fputs(", ", stdout);
                if (print_value(g, i, j, et, 0) != 0) return 1;
            }
            fputs(count > GGUF_SHOW_ELEMS ? ", ...]" : "]", stdout);
        }
        putchar('\n');
    }
    printf("tensors: %lld\n", (long long)ax_gguf_tensor_count(g));
    uint64_t total = 0;
    for (int64_t i = 0; i < ax_gguf_tensor_count(g); i++) {
        ax_gguf_tensor_info t;
        if (ax_gguf_tensor_info_get(g, i, &t) != AX_OK) {
            fprintf(stderr, "axial gguf: %s\n", ax_last_error());
            return 1;
        }
        fputs("  ", stdout);
        text_name(t.name.data, t.name.len);
        printf(" %s ne=", ax_ggml_type_name(t.ggml_type));
        print_dims(t.ne, t.n_dims, 0, 0);
        printf(" shape=");
        print_dims(t.ne, t.n_dims, 1, 0);
        printf(" offset=%llu bytes=%llu\n", (unsigned long long)t.offset, (unsigned long long)t.bytes);
        total += t.bytes;
    }
    printf("total: %lld tensors, %llu bytes of tensor data\n", (long long)ax_gguf_tensor_count(g),
           (unsigned long long)total);
    return 0;
}

int axial_cmd_gguf(int argc, char **argv) {
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        gguf_usage(stdout);
        return 0;
    }
    if (argc < 2 || strcmp(argv[1], "show") != 0) return gguf_usage_error("expected `show FILE.gguf`");
    const char *path = NULL;
    int json = 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            gguf_usage(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--json") == 0) json = 1;
        else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            char what[160];
            snprintf(what, sizeof what, "unknown option '%.100s'", argv[i]);
            return gguf_usage_error(what);
        }
        else if (path == NULL) path = argv[i];
        else return gguf_usage_error("more than one file");
    }
    if (path == NULL) return gguf_usage_error("no file given");
    ax_gguf *g = NULL;
    if (ax_gguf_open(path, &g) != AX_OK) {
        fprintf(stderr, "axial gguf: %s\n", ax_last_error());
        return 1;
    }
    const int rc = json ? show_json(g, path) : show_text(g, path);
    ax_gguf_close(g);
    return rc; /* a failed write to stdout is reported by main */
}
