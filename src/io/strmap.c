/*
 * strmap.c — string -> int64 hash map with linear probing.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "io/strmap.h"

#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "io/grow.h"

/* FNV-1a: simple and good enough for identifiers; the table is sized to stay half empty. */
static uint64_t hash_bytes(const char *key, size_t len) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)key[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

void ax_strmap_free(ax_strmap *m) {
    free(m->slots);
    free(m->keys);
    memset(m, 0, sizeof *m);
}

static int64_t probe(const ax_strmap *m, uint64_t h, const char *key, size_t len) {
    const int64_t mask = m->num_slots - 1;
    for (int64_t i = (int64_t)(h & (uint64_t)mask);; i = (i + 1) & mask) {
        const ax_strmap_slot *s = &m->slots[i];
        if (s->key_offset < 0) return i;
        if (s->hash == h && s->key_len == (int64_t)len && memcmp(m->keys + s->key_offset, key, len) == 0)
            return i;
    }
}

int ax_strmap_find(const ax_strmap *m, const char *key, size_t len, int64_t *value) {
    if (m->num_slots == 0) return 0;
    const int64_t i = probe(m, hash_bytes(key, len), key, len);
    if (m->slots[i].key_offset < 0) return 0;
    *value = m->slots[i].value;
    return 1;
}

static ax_status rehash(ax_strmap *m, int64_t num_slots) {
    if (num_slots > INT64_MAX / (int64_t)sizeof(ax_strmap_slot))
        return ax_set_error(AX_ERR_OUT_OF_MEMORY, "out of memory: hash table of %lld slots", (long long)num_slots);
    ax_strmap_slot *slots = malloc((size_t)num_slots * sizeof *slots);
    if (slots == NULL)
        return ax_set_error(AX_ERR_OUT_OF_MEMORY, "out of memory: hash table of %lld slots", (long long)num_slots);
    for (int64_t i = 0; i < num_slots; i++) slots[i].key_offset = -1;
    ax_strmap old = *m;
    m->slots = slots;
    m->num_slots = num_slots;
    for (int64_t i = 0; i < old.num_slots; i++) {
        if (old.slots[i].key_offset < 0) continue;
        const int64_t j = probe(m, old.slots[i].hash, m->keys + old.slots[i].key_offset,
                                (size_t)old.slots[i].key_len);
        m->slots[j] = old.slots[i];
    }
    free(old.slots);
    return AX_OK;
}

ax_status ax_strmap_add(ax_strmap *m, const char *key, size_t len, int64_t value) {
    if ((m->count + 1) * 2 > m->num_slots)
        AX_CHECK(rehash(m, m->num_slots == 0 ? 16 : m->num_slots * 2));
    if ((int64_t)len > INT64_MAX - m->keys_len)
        return ax_set_error(AX_ERR_OUT_OF_MEMORY, "out of memory: key of %zu bytes", len);
    AX_CHECK(ax_grow((void **)&m->keys, &m->keys_cap, m->keys_len + (int64_t)len + 1, 1));
    const uint64_t h = hash_bytes(key, len);
    const int64_t i = probe(m, h, key, len);
    if (len > 0) memcpy(m->keys + m->keys_len, key, len);
    m->slots[i].hash = h;
    m->slots[i].key_offset = m->keys_len;
    m->slots[i].key_len = (int64_t)len;
    m->slots[i].value = value;
    m->keys_len += (int64_t)len;
    m->count++;
    return AX_OK;
}
