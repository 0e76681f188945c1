/*
 * grow.c — growable arrays with overflow checks.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
/* MADV_HUGEPAGE is a Linux extension, outside the POSIX names the build asks for. */
#define _DEFAULT_SOURCE 1

#include "core/grow.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/internal.h"

ax_status ax_grow(void **buf, int64_t *cap, int64_t need, size_t elem_size) {
    if (need <= *cap) return AX_OK;
    if (need < 0 || elem_size == 0) return ax_set_error(AX_ERR_INTERNAL, "ax_grow: bad request");
    /* Cap element counts so that count * elem_size fits both size_t and int64. */
    const int64_t max_count = (int64_t)((SIZE_MAX < (uint64_t)INT64_MAX ? SIZE_MAX : (uint64_t)INT64_MAX) /
                                        elem_size);
    if (need > max_count)
        return ax_set_error(AX_ERR_OUT_OF_MEMORY, "out of memory: %lld elements of %zu bytes",
                            (long long)need, elem_size);
    int64_t new_cap = *cap < 16 ? 16 : (*cap > max_count - *cap / 2 ? max_count : *cap + *cap / 2);
    if (new_cap > max_count) new_cap = max_count;
    if (new_cap < need) new_cap = need;
    void *grown = realloc(*buf, (size_t)new_cap * elem_size);
    if (grown == NULL)
        return ax_set_error(AX_ERR_OUT_OF_MEMORY, "out of memory: %lld bytes",
                            (long long)((size_t)new_cap * elem_size));
    *buf = grown;
    *cap = new_cap;
    ax_advise_huge_pages(grown, (size_t)new_cap * elem_size);
    return AX_OK;
}

void ax_advise_huge_pages(void *p, size_t bytes) {
#if defined(MADV_HUGEPAGE)
    /* Below a few huge pages the saving is small and the unaligned ends would be most of it. */
    const uintptr_t huge = (uintptr_t)2 << 20;
    if (p == NULL || bytes < 8 * huge) return;
    const uintptr_t begin = ((uintptr_t)p + huge - 1) & ~(huge - 1);
    const uintptr_t end = ((uintptr_t)p + bytes) & ~(huge - 1);
    /* Only the whole huge pages inside the block: the advice must not reach memory the block
     * does not own. Advice only: a kernel without transparent huge pages refuses, which is fine. */
    if (end > begin) (void)madvise((void *)begin, end - begin, MADV_HUGEPAGE);
#else
    (void)p;
    (void)bytes;
#endif
}

char *ax_strndup(const char *s, size_t len) {
    if (len == SIZE_MAX) return NULL;
    char *copy = malloc(len + 1);
    if (copy == NULL) return NULL;
    if (len > 0) memcpy(copy, s, len);
    copy[len] = '\0';
    return copy;
}
