/*
 * strmap.c — string -> int64 hash map with linear probing, keyed against collisions chosen by a file.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#define _DEFAULT_SOURCE 1 /* getrandom */

#include "core/strmap.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "core/internal.h"
#include "core/grow.h"

/* Keys come from files (GGUF key and tensor names, vocabularies, Stockholm names), so the hash is
 * keyed with a secret drawn once per process: SipHash-1-3. An unkeyed hash (FNV-1a, as before) let a
 * file name 2^17 tensors that all shared one slot, and opening it took 16 s instead of 0.2 s. */
static uint64_t sip_key[2];
static pthread_once_t sip_key_once = PTHREAD_ONCE_INIT;

static void sip_key_init(void) {
    unsigned char bytes[16];
    size_t got = 0;
    while (got < sizeof bytes) {
        const ssize_t n = getrandom(bytes + got, sizeof bytes - got, 0);
        if (n <= 0) break;
        got += (size_t)n;
    }
    if (got < sizeof bytes) { /* no getrandom (an old kernel): the time and an address, mixed below */
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        const uint64_t mix[2] = {(uint64_t)t.tv_nsec ^ ((uint64_t)t.tv_sec << 30),
                                 (uint64_t)(uintptr_t)&t ^ (uint64_t)getpid()};
        memcpy(bytes, mix, sizeof bytes);
    }
    memcpy(sip_key, bytes, sizeof sip_key);
}

#define ROTL64(x, b) (((x) << (b)) | ((x) >> (64 - (b))))

static void sip_round(uint64_t v[4]) {
    v[0] += v[1];
    v[1] = ROTL64(v[1], 13) ^ v[0];
    v[0] = ROTL64(v[0], 32);
    v[2] += v[3];
    v[3] = ROTL64(v[3], 16) ^ v[2];
    v[0] += v[3];
    v[3] = ROTL64(v[3], 21) ^ v[0];
    v[2] += v[1];
    v[1] = ROTL64(v[1], 17) ^ v[2];
    v[2] = ROTL64(v[2], 32);
}

static uint64_t hash_bytes(const char *key, size_t len) {
    pthread_once(&sip_key_once, sip_key_init);
    const unsigned char *in = (const unsigned char *)key;
    uint64_t v[4] = {sip_key[0] ^ 0x736f6d6570736575ull, sip_key[1] ^ 0x646f72616e646f6dull,
                     sip_key[0] ^ 0x6c7967656e657261ull, sip_key[1] ^ 0x7465646279746573ull};
    const size_t whole = len - len % 8;
    for (size_t i = 0; i < whole; i += 8) {
        uint64_t m = 0;
        for (int b = 0; b < 8; b++) m |= (uint64_t)in[i + (size_t)b] << (8 * b); /* little-endian */
        v[3] ^= m;
        sip_round(v);
        v[0] ^= m;
    }
    uint64_t last = (uint64_t)len << 56;
    for (size_t b = 0; b < len % 8; b++) last |= (uint64_t)in[whole + b] << (8 * b);
    v[3] ^= last;
    sip_round(v);
    v[0] ^= last;
    v[2] ^= 0xff;
    sip_round(v);
    sip_round(v);
    sip_round(v);
    return v[0] ^ v[1] ^ v[2] ^ v[3];
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

ax_status ax_strmap_put(ax_strmap *m, const char *key, size_t len, int64_t value) {
    if (m->num_slots > 0) {
        const int64_t i = probe(m, hash_bytes(key, len), key, len);
        if (m->slots[i].key_offset >= 0) {
            m->slots[i].value = value;
            return AX_OK;
        }
    }
    return ax_strmap_add(m, key, len, value);
}
