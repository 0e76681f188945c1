/*
 * parse_number.h — locale-independent number parsing for text formats. strtod follows
 * LC_NUMERIC, so a host program that set a German locale would read "1.8" as 1; these do not.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_IO_PARSE_NUMBER_H
#define AXIAL_IO_PARSE_NUMBER_H

#include <stddef.h>
#include <stdint.h>

/* Parses all of s[0, len) as a decimal number: optional sign, digits with an optional '.', an
 * optional exponent (e/E), and an optional CIF standard uncertainty "(12)" that is ignored.
 * Surrounding spaces are not allowed. Returns 1 and sets *out on success, 0 when the text is not
 * such a number or is out of double range. Results are correctly rounded for up to 15 significant
 * digits with exponents within +-22 (every coordinate in practice), and within 1 ulp or so otherwise. */
int ax_parse_double(const char *s, size_t len, double *out);

/* Parses all of s[0, len) as a decimal int32 with an optional sign. Returns 1 on success, 0 when
 * the text is not an integer or overflows int32. */
int ax_parse_int32(const char *s, size_t len, int32_t *out);

/* Why ax_parse_double (integer 0) or ax_parse_int32 (integer 1) refused s[0, len), for messages:
 * "is out of range" (or "is out of the 32-bit integer range") when the text is a number of that
 * kind too large to hold, else "is not a number" / "is not an integer". */
const char *ax_number_refusal(const char *s, size_t len, int integer);

/* s[0, len) without leading and trailing spaces and tabs: updates *s and returns the new length. */
size_t ax_trim(const char **s, size_t len);

#endif /* AXIAL_IO_PARSE_NUMBER_H */
