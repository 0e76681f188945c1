/*
 * utf8.h — UTF-8 well-formedness, for the places that take text from users (figure labels, stop
 * strings, the server's error messages, streamed text) and must refuse or repair what would
 * otherwise fail later or split a character. Header-only, so the command-line tools can use it too.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_CORE_UTF8_H
#define AXIAL_CORE_UTF8_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The sequence length a byte >= 0x80 announces as a lead (2 to 4), or 0 for a continuation byte
 * or a lead that is always overlong (0xC0, 0xC1). Leads above 0xF4 are the callers' to refuse. */
static inline size_t ax_utf8_lead_len_(unsigned char c) { return c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0; }

/* Length of the well-formed UTF-8 sequence at s (at most n bytes, n >= 1), or 0 when the bytes there
 * are not one: a stray continuation byte, an overlong form, a surrogate, a code point above
 * U+10FFFF, a sequence cut short. */
static inline size_t ax_utf8_char_len(const unsigned char *s, size_t n) {
    if (s[0] < 0x80) return 1;
    const size_t len = ax_utf8_lead_len_(s[0]);
    if (len == 0 || len > n || s[0] > 0xF4) return 0;
    uint32_t cp = s[0] & (0xFFu >> (len + 1));
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = cp << 6 | (s[i] & 0x3Fu);
    }
    const uint32_t min = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
    return cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) ? 0 : len;
}

/* Bytes (0..3) at the end of b[0..n) that begin a well-formed character whose other bytes have not
 * arrived yet: text streamed a token at a time holds them back instead of splitting the character.
 * Bytes that can never begin one (a stray continuation, an overlong or surrogate lead) give 0. */
static inline size_t ax_utf8_partial_tail(const char *b, size_t n) {
    for (size_t k = 1; k <= 3 && k <= n; k++) {
        const unsigned char *s = (const unsigned char *)b + n - k;
        if ((s[0] & 0xC0) == 0x80) continue; /* a continuation byte: the lead is further back */
        const size_t need = ax_utf8_lead_len_(s[0]);
        if (need <= k) return 0;
        /* Only the second byte's range depends on the lead, so completing the prefix with the
         * smallest byte each lead allows there (0x80 elsewhere) is well-formed iff the prefix can be. */
        unsigned char c[4] = {0x80, 0x80, 0x80, 0x80};
        memcpy(c, s, k);
        if (k == 1) c[1] = s[0] == 0xE0 ? 0xA0 : s[0] == 0xF0 ? 0x90 : 0x80;
        return ax_utf8_char_len(c, need) == need ? k : 0;
    }
    return 0;
}

/* 1 when the NUL-terminated s is well-formed UTF-8. */
static inline int ax_utf8_valid(const char *s) {
    const size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        const size_t len = ax_utf8_char_len((const unsigned char *)s + i, n - i);
        if (len == 0) return 0;
        i += len;
    }
    return 1;
}

#endif
