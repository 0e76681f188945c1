/*
 * text_stream.c — the text side of a generated stream: byte-level BPE tokens end anywhere inside a
 * UTF-8 character and a stop string may arrive a token at a time, so text is sent only once it is
 * whole characters that cannot be the start of a stop string.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "core/utf8.h"
#include "serving/engine_internal.h"

static ax_status text_reserve(char **buf, size_t *cap, size_t need) {
    if (need <= *cap) return AX_OK;
    size_t c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    char *p = realloc(*buf, c);
    if (p == NULL) return ax_set_error(AX_ERR_OUT_OF_MEMORY, "text: %zu bytes", c);
    *buf = p;
    *cap = c;
    return AX_OK;
}

ax_status srv_text_append(srv_text *t, const char *bytes, size_t n) {
    AX_CHECK(text_reserve(&t->bytes, &t->cap, t->len + n + 1));
    memcpy(t->bytes + t->len, bytes, n);
    t->len += n;
    return AX_OK;
}

int srv_text_find_stop(const srv_text *t, char *const *stop, int32_t n_stop, size_t *at) {
    int found = 0;
    size_t best = 0, best_len = 0;
    for (int32_t i = 0; i < n_stop; i++) {
        const size_t sl = strlen(stop[i]);
        if (sl == 0 || t->len < sl) continue;
        /* A match starts at or after `emitted`: nothing that could start one was ever sent. */
        for (size_t p = t->emitted; p + sl <= t->len; p++) {
            if (found && p > best) break;
            if (memcmp(t->bytes + p, stop[i], sl) == 0) {
                if (!found || p < best || (p == best && sl > best_len)) {
                    found = 1;
                    best = p;
                    best_len = sl;
                }
                break;
            }
        }
    }
    if (found) *at = best;
    return found;
}

ax_status srv_text_take(srv_text *t, char *const *stop, int32_t n_stop, int final, size_t limit) {
    if (t->bytes == NULL || limit < t->emitted) limit = t->emitted; /* nothing generated (yet) */
    if (t->bytes == NULL) {
        AX_CHECK(text_reserve(&t->out, &t->out_cap, 1));
        t->out[0] = '\0';
        t->out_len = 0;
        return AX_OK;
    }
    size_t end = final ? limit : t->len;
    if (!final) {
        /* Hold back the longest suffix that is a proper prefix of a stop string. */
        size_t hold = 0;
        for (int32_t i = 0; i < n_stop; i++) {
            const size_t sl = strlen(stop[i]);
            for (size_t k = sl - 1; k > hold; k--) {
                if (k <= end - t->emitted && memcmp(t->bytes + end - k, stop[i], k) == 0) {
                    hold = k;
                    break;
                }
            }
        }
        end -= hold;
        end -= ax_utf8_partial_tail(t->bytes + t->emitted, end - t->emitted);
    }
    /* Sanitise [emitted, end): every invalid byte becomes U+FFFD (3 bytes). */
    const size_t n = end - t->emitted;
    AX_CHECK(text_reserve(&t->out, &t->out_cap, 3 * n + 1));
    const unsigned char *s = (const unsigned char *)t->bytes + t->emitted;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        const size_t len = ax_utf8_char_len(s + i, n - i);
        if (len > 0) {
            memcpy(t->out + o, s + i, len);
            o += len;
            i += len;
        } else {
            memcpy(t->out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i += 1;
        }
    }
    t->out[o] = '\0';
    t->out_len = o;
    t->emitted = end;
    return AX_OK;
}

void srv_text_free(srv_text *t) {
    free(t->bytes);
    free(t->out);
    memset(t, 0, sizeof *t);
}
