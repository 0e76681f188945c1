/*
 * strmap.h — a string -> int64 hash map (open addressing), for sequence names in Stockholm blocks,
 * chain ids in structures, GGUF keys and the tokenizer's vocabulary, so lookups stay O(1) however many there are.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_CORE_STRMAP_H
#define AXIAL_CORE_STRMAP_H

#include <stddef.h>
#include <stdint.h>

#include "axial/axial.h"

typedef struct ax_strmap_slot {
    uint64_t hash;
    int64_t key_offset; /* into keys; -1 marks an empty slot */
    int64_t key_len;
    int64_t value;
} ax_strmap_slot;

typedef struct ax_strmap {
    ax_strmap_slot *slots;
    int64_t num_slots; /* a power of two, or 0 */
    int64_t count;
    char *keys;        /* all keys, back to back */
    int64_t keys_len;
    int64_t keys_cap;
} ax_strmap;

/* A zeroed ax_strmap is an empty map; ax_strmap_free releases it and leaves it empty. */
void ax_strmap_free(ax_strmap *m);

/* Looks up key[0, len). Returns 1 and sets *value when present, else 0. */
int ax_strmap_find(const ax_strmap *m, const char *key, size_t len, int64_t *value);

/* Adds key[0, len) -> value; the key must not be present. Errors: AX_ERR_OUT_OF_MEMORY. */
ax_status ax_strmap_add(ax_strmap *m, const char *key, size_t len, int64_t value);

/* Sets key[0, len) -> value, replacing the value of a key already present. Errors: as ax_strmap_add. */
ax_status ax_strmap_put(ax_strmap *m, const char *key, size_t len, int64_t value);

#endif /* AXIAL_CORE_STRMAP_H */
