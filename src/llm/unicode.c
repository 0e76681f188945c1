/*
 * unicode.c — UTF-8 decoding and code point classes for the pre-tokenizers.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "llm/unicode.h"

int llm_utf8_next(const unsigned char *s, size_t len, uint32_t *cp) {
    const unsigned char b0 = s[0];
    if (b0 < 0x80) {
        *cp = b0;
        return 1;
    }
    int n;
    uint32_t v, min;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        n = 2, v = b0 & 0x1Fu, min = 0x80;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        n = 3, v = b0 & 0x0Fu, min = 0x800;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        n = 4, v = b0 & 0x07u, min = 0x10000;
    } else {
        *cp = LLM_CP_INVALID;
        return 1;
    }
    if ((size_t)n > len) {
        *cp = LLM_CP_INVALID;
        return 1;
    }
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *cp = LLM_CP_INVALID;
            return 1;
        }
        v = (v << 6) | (s[i] & 0x3Fu);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
        *cp = LLM_CP_INVALID;
        return 1;
    }
    *cp = v;
    return n;
}

/* ASCII is most of what is tokenized: a table answers it without the search. */
static const unsigned char unicode_ascii_class[128] = {
    ['\t'] = LLM_CP_SPACE, ['\n'] = LLM_CP_SPACE, ['\v'] = LLM_CP_SPACE, ['\f'] = LLM_CP_SPACE,
    ['\r'] = LLM_CP_SPACE, [' '] = LLM_CP_SPACE,
    ['0'] = LLM_CP_NUMBER, ['1'] = LLM_CP_NUMBER, ['2'] = LLM_CP_NUMBER, ['3'] = LLM_CP_NUMBER,
    ['4'] = LLM_CP_NUMBER, ['5'] = LLM_CP_NUMBER, ['6'] = LLM_CP_NUMBER, ['7'] = LLM_CP_NUMBER,
    ['8'] = LLM_CP_NUMBER, ['9'] = LLM_CP_NUMBER,
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1,
    ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
    ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1,
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1,
    ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
    ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};

llm_cp_class llm_cp_classify(uint32_t cp) {
    if (cp < 128) return (llm_cp_class)unicode_ascii_class[cp];
    int64_t lo = 0, hi = llm_cp_range_count - 1;
    while (lo <= hi) {
        const int64_t mid = lo + (hi - lo) / 2;
        if (cp < llm_cp_ranges[mid].lo) {
            hi = mid - 1;
        } else if (cp > llm_cp_ranges[mid].hi) {
            lo = mid + 1;
        } else {
            return (llm_cp_class)llm_cp_ranges[mid].cls;
        }
    }
    return LLM_CP_OTHER;
}
