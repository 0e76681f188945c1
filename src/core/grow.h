/*
 * grow.h — growable arrays (the parsers, the tokenizer, the store): geometric growth with overflow checks, so a hostile
 * input can make an allocation fail but never wrap a size.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_CORE_GROW_H
#define AXIAL_CORE_GROW_H

#include <stddef.h>
#include <stdint.h>

#include "axial/axial.h"

/* Ensures the array at *buf (capacity *cap elements of elem_size bytes) holds at least `need`
 * elements, growing it by at least 1.5x. On failure *buf and *cap are unchanged and
 * AX_ERR_OUT_OF_MEMORY is returned with a message. */
ax_status ax_grow(void **buf, int64_t *cap, int64_t need, size_t elem_size);

/* Asks the kernel to back the large heap block [p, p + bytes) with transparent huge pages where
 * the system allows it (Linux with THP in "madvise" mode). Arrays of hundreds of MB that are
 * written once otherwise take a page fault every 4 KiB, which costs more than writing them.
 * Ignored for small blocks and where unsupported. ax_grow applies it to the blocks it grows. */
void ax_advise_huge_pages(void *p, size_t bytes);

/* A NUL-terminated heap copy of the first len bytes of s, or NULL when out of memory. */
char *ax_strndup(const char *s, size_t len);

#endif /* AXIAL_CORE_GROW_H */
