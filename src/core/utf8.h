/*
 * utf8.h — UTF-8 well-formedness, for the places that take text from users (figure labels, stop
 * strings) and must refuse what would otherwise fail later or split a character.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_CORE_UTF8_H
#define AXIAL_CORE_UTF8_H

/* 1 when s is well-formed UTF-8 (no overlong forms, surrogates or code points above U+10FFFF). */
static inline int ax_utf8_valid(const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    while (*p != 0) {
        const unsigned c = *p;
        int extra;
        unsigned min;
        if (c < 0x80) {
            p++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            extra = 1, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            extra = 2, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            extra = 3, min = 0x10000;
        } else {
            return 0;
        }
        unsigned code = c & (0x3Fu >> extra);
        for (int i = 1; i <= extra; i++) {
            if ((p[i] & 0xC0) != 0x80) return 0; /* also stops at the terminating NUL */
            code = (code << 6) | (p[i] & 0x3Fu);
        }
        if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return 0;
        p += extra + 1;
    }
    return 1;
}

#endif
