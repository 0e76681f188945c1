/*
 * parse_number.c — locale-independent decimal parsing.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "io/parse_number.h"

#include <math.h>

/* Powers of ten that are exact in a double: dividing or multiplying an exact integer mantissa by
 * one of them rounds once, so the result is correctly rounded. */
static const double exact_pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* ax_parse_double, telling the failures apart: 1 parsed, 0 not a number, -1 a number out of double
 * range. */
static int parse_double(const char *s, size_t len, double *out) {
    size_t i = 0;
    int negative = 0;
    if (i < len && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
    uint64_t mantissa = 0;
    int significant = 0;   /* digits held in mantissa (leading zeros not counted) */
    int64_t exponent = 0;  /* value = mantissa * 10^exponent */
    int digits = 0;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, digits++) {
        if (significant < 19) {
            mantissa = mantissa * 10 + (uint64_t)(s[i] - '0');
            if (mantissa != 0) significant++;
        } else {
            exponent++; /* digits past 19 only scale the value */
        }
    }
    if (i < len && s[i] == '.') {
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, digits++) {
            if (significant < 19) {
                mantissa = mantissa * 10 + (uint64_t)(s[i] - '0');
                if (mantissa != 0) significant++;
                exponent--;
            }
        }
    }
    if (digits == 0) return 0;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        int exp_negative = 0;
        if (i < len && (s[i] == '+' || s[i] == '-')) exp_negative = s[i++] == '-';
        if (i >= len || s[i] < '0' || s[i] > '9') return 0;
        int64_t written = 0;
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
            if (written < 100000) written = written * 10 + (s[i] - '0'); /* clamp: beyond is inf/0 anyway */
        exponent += exp_negative ? -written : written;
    }
    if (i < len && s[i] == '(') {
        size_t close = i + 1;
        while (close < len && s[close] >= '0' && s[close] <= '9') close++;
        if (close == i + 1 || close >= len || s[close] != ')') return 0;
        i = close + 1;
    }
    if (i != len) return 0;

    double value;
    if (mantissa == 0) {
        value = 0.0;
    } else if (mantissa <= ((uint64_t)1 << 53) && exponent >= -22 && exponent <= 22) {
        value = exponent < 0 ? (double)mantissa / exact_pow10[-exponent]
                             : (double)mantissa * exact_pow10[exponent];
    } else if (exponent < -400) {
        value = 0.0;
    } else if (exponent > 400) {
        return -1;
    } else {
        value = (double)mantissa * pow(10.0, (double)exponent);
    }
    if (!isfinite(value)) return -1;
    *out = negative ? -value : value;
    return 1;
}

int ax_parse_double(const char *s, size_t len, double *out) { return parse_double(s, len, out) == 1; }

int ax_parse_int32(const char *s, size_t len, int32_t *out) {
    size_t i = 0;
    int negative = 0;
    if (i < len && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
    if (i >= len) return 0;
    int64_t value = 0;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        value = value * 10 + (s[i] - '0');
        if (value > (int64_t)INT32_MAX + 1) return 0;
    }
    if (negative) value = -value;
    if (value < INT32_MIN || value > INT32_MAX) return 0;
    *out = (int32_t)value;
    return 1;
}

const char *ax_number_refusal(const char *s, size_t len, int integer) {
    if (!integer) {
        double ignored;
        return parse_double(s, len, &ignored) == -1 ? "is out of range" : "is not a number";
    }
    size_t i = len > 0 && (s[0] == '+' || s[0] == '-') ? 1 : 0;
    if (i == len) return "is not an integer";
    for (; i < len; i++)
        if (s[i] < '0' || s[i] > '9') return "is not an integer";
    return "is out of the 32-bit integer range";
}

size_t ax_trim(const char **s, size_t len) {
    const char *p = *s;
    while (len > 0 && (p[0] == ' ' || p[0] == '\t')) {
        p++;
        len--;
    }
    while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t')) len--;
    *s = p;
    return len;
}
