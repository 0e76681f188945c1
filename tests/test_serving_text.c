/*
 * test_serving_text.c — the text side of a served stream (src/serving/text_stream.c), no model
 * needed: a UTF-8 character split across tokens is sent whole, invalid bytes become U+FFFD, text
 * that could start a stop string waits, a stop string and what follows are never sent. Expected
 * strings are written out by hand.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "harness.h"
#include "serving/engine_internal.h"

/* Appends `piece`, takes the sendable text, and checks it equals `want`. */
static void feed(srv_text *t, char *const *stop, int32_t n_stop, const char *piece, const char *want) {
    CHECK_OK(srv_text_append(t, piece, strlen(piece)));
    CHECK_OK(srv_text_take(t, stop, n_stop, 0, 0));
    CHECK_STR_EQ(t->out, want);
    CHECK_INT_EQ(t->out_len, strlen(want));
}

static void test_utf8_split(void) {
    srv_text t = {0};
    feed(&t, NULL, 0, "caf", "caf");
    feed(&t, NULL, 0, "\xC3", "");          /* first byte of e-acute waits */
    feed(&t, NULL, 0, "\xA9 ok", "\xC3\xA9 ok");
    feed(&t, NULL, 0, "\xF0\x9F", "");       /* half an emoji */
    feed(&t, NULL, 0, "\x98", "");
    feed(&t, NULL, 0, "\x80!", "\xF0\x9F\x98\x80!");
    feed(&t, NULL, 0, "\xFF" "a", "\xEF\xBF\xBD" "a"); /* never valid: replaced at once */
    feed(&t, NULL, 0, "\xE2\x82", "");
    /* the stream ends inside a character: the final take replaces what is there */
    CHECK_OK(srv_text_take(&t, NULL, 0, 1, t.len));
    CHECK_STR_EQ(t.out, "\xEF\xBF\xBD\xEF\xBF\xBD");
    srv_text_free(&t);
    /* an overlong encoding and a surrogate are invalid even when complete */
    feed(&t, NULL, 0, "\xC0\xAF|\xED\xA0\x80|", "\xEF\xBF\xBD\xEF\xBF\xBD|\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD|");
    srv_text_free(&t);
    /* a tail that can still become a character waits; one that never can (overlong, surrogate,
     * above U+10FFFF by its second byte) is replaced at once */
    const char *never[] = {"\xE0\x9F", "\xED\xA0", "\xF0\x8F", "\xF4\x90", "\xF0\x9F\xC3"};
    const char *never_out[] = {"\xEF\xBF\xBD\xEF\xBF\xBD", "\xEF\xBF\xBD\xEF\xBF\xBD",
                               "\xEF\xBF\xBD\xEF\xBF\xBD", "\xEF\xBF\xBD\xEF\xBF\xBD",
                               "\xEF\xBF\xBD\xEF\xBF\xBD"};
    for (int i = 0; i < 5; i++) {
        feed(&t, NULL, 0, never[i], never_out[i]);
        srv_text_free(&t);
    }
    const char *waits[] = {"\xE0", "\xE0\xA0", "\xED\x9F", "\xF0\x90\x80", "\xF4\x8F\xBF", "\xC2"};
    for (int i = 0; i < 6; i++) {
        feed(&t, NULL, 0, waits[i], "");
        srv_text_free(&t);
    }
}

static void test_stop_strings(void) {
    char s1[] = "</end>", s2[] = "STOP";
    char *stop[2] = {s1, s2};
    srv_text t = {0};
    feed(&t, stop, 2, "Hello <", "Hello ");   /* "<" may start "</end>" */
    feed(&t, stop, 2, "b>", "<b>");           /* it did not */
    feed(&t, stop, 2, " ST", " ");
    feed(&t, stop, 2, "O", "");
    size_t at = 0;
    CHECK(!srv_text_find_stop(&t, stop, 2, &at));
    CHECK_OK(srv_text_append(&t, "P and more", 10)); /* a match (the engine looks before it takes)... */
    CHECK(srv_text_find_stop(&t, stop, 2, &at));
    CHECK_INT_EQ(at, strlen("Hello <b> "));
    CHECK_OK(srv_text_take(&t, stop, 2, 1, at)); /* ...and the final text stops before it */
    CHECK_STR_EQ(t.out, "");
    srv_text_free(&t);

    /* the earliest match wins; at one offset the longer string */
    char a[] = "ab", b[] = "abc", c[] = "c";
    char *stop2[3] = {a, b, c};
    CHECK_OK(srv_text_append(&t, "xxabcd", 6));
    CHECK(srv_text_find_stop(&t, stop2, 3, &at));
    CHECK_INT_EQ(at, 2);
    srv_text_free(&t);
    CHECK_OK(srv_text_append(&t, "xcab", 4));
    CHECK(srv_text_find_stop(&t, stop2, 3, &at));
    CHECK_INT_EQ(at, 1);
    srv_text_free(&t);
}

int main(void) {
    RUN(test_utf8_split);
    RUN(test_stop_strings);
    return th_finish();
}
