/*
 * kv_blocks.c — the serving engine's KV block pool: reference counts, a free list, an LRU of cached
 * blocks, and the prefix index (kv_blocks.h is the contract).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 *
 * Everything is arrays indexed by block id, allocated once at create, so no call allocates:
 *   - the free list and the LRU are intrusive doubly linked lists over one pair of prev/next arrays
 *     (a block with refcount 0 is on exactly one of them), so alloc, retain and release are O(1);
 *   - the index is an open-addressing table (linear probing, load <= 1/2, deletion by backward
 *     shift so there are no tombstones to clean up) of block ids; each registered block keeps its
 *     key (parent uid, n, its n token ids) and the key's 64-bit hash.
 * The hash is built token by token (start from the parent uid, one step per token, a finish that
 * mixes in n), so a lookup step computes the hashes of every prefix of the next bs tokens in one
 * O(bs) pass and then probes the full key and each partial length, longest first: the longest
 * partial child of a parent is found without a per-parent list and without a scan of the pool.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "serving/kv_blocks.h"

enum { KVB_LIST_NONE = 0, KVB_LIST_FREE = 1, KVB_LIST_LRU = 2 };

/* One intrusive list: head is the next block alloc takes (free: most recently freed; LRU: least
 * recently released), tail the most recent addition. */
typedef struct kvb_list {
    int32_t head, tail;
    int64_t count;
} kvb_list;

struct kvb_pool {
    int64_t num_blocks;
    int32_t block_size;
    int64_t n_used;

    int32_t *refcount;   /* (num_blocks) */
    int32_t *prev, *next; /* (num_blocks) links within the list named by which_list, -1 at the ends */
    uint8_t *which_list; /* (num_blocks) KVB_LIST_* */
    kvb_list lists[3];   /* indexed by KVB_LIST_*; [KVB_LIST_NONE] unused */

    /* the key of a registered block; reg_tokens 0 marks a block outside the index */
    int32_t *reg_tokens;   /* (num_blocks) n */
    uint64_t *uid;         /* (num_blocks) 0 when not registered */
    uint64_t *parent_uid;  /* (num_blocks) */
    uint64_t *key_hash;    /* (num_blocks) */
    int32_t *tokens;       /* (num_blocks, block_size) the first reg_tokens of each row are the key */
    uint64_t next_uid;

    int32_t *table;        /* (table_mask + 1) block ids, -1 empty */
    uint64_t table_mask;
    uint64_t *prefix_hash; /* (block_size + 1) scratch of kvb_match: hash of each prefix length */
};

/* ---- the key hash ---- */

static uint64_t kvb_mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t kvb_hash_start(uint64_t parent_uid) { return kvb_mix64(parent_uid + 0x2545f4914f6cdd1dull); }

static uint64_t kvb_hash_step(uint64_t h, int32_t token) {
    h = (h ^ (uint64_t)(uint32_t)token) * 0x9e3779b97f4a7c15ull;
    return h ^ (h >> 29);
}

/* n enters last so that a prefix of a longer key hashes apart from it while sharing its steps. */
static uint64_t kvb_hash_finish(uint64_t h, int32_t n) {
    return kvb_mix64(h + (uint64_t)(uint32_t)n * 0xd6e8feb86659fd93ull);
}

static uint64_t kvb_hash_key(uint64_t parent_uid, const int32_t *tokens, int32_t n) {
    uint64_t h = kvb_hash_start(parent_uid);
    for (int32_t i = 0; i < n; i++) h = kvb_hash_step(h, tokens[i]);
    return kvb_hash_finish(h, n);
}

/* ---- lists ---- */

static void kvb_list_remove(kvb_pool *pool, int32_t b) {
    kvb_list *l = &pool->lists[pool->which_list[b]];
    int32_t p = pool->prev[b], n = pool->next[b];
    if (p >= 0) pool->next[p] = n; else l->head = n;
    if (n >= 0) pool->prev[n] = p; else l->tail = p;
    pool->prev[b] = pool->next[b] = -1;
    pool->which_list[b] = KVB_LIST_NONE;
    l->count--;
}

static void kvb_list_push_front(kvb_pool *pool, int which, int32_t b) {
    kvb_list *l = &pool->lists[which];
    pool->prev[b] = -1;
    pool->next[b] = l->head;
    if (l->head >= 0) pool->prev[l->head] = b; else l->tail = b;
    l->head = b;
    pool->which_list[b] = (uint8_t)which;
    l->count++;
}

static void kvb_list_push_back(kvb_pool *pool, int which, int32_t b) {
    kvb_list *l = &pool->lists[which];
    pool->next[b] = -1;
    pool->prev[b] = l->tail;
    if (l->tail >= 0) pool->next[l->tail] = b; else l->head = b;
    l->tail = b;
    pool->which_list[b] = (uint8_t)which;
    l->count++;
}

/* ---- the index ---- */

static int32_t kvb_index_find(const kvb_pool *pool, uint64_t parent_uid, const int32_t *tokens, int32_t n,
                              uint64_t hash) {
    const int64_t bs = pool->block_size;
    for (uint64_t i = hash & pool->table_mask;; i = (i + 1) & pool->table_mask) {
        int32_t b = pool->table[i];
        if (b < 0) return -1;
        if (pool->key_hash[b] == hash && pool->reg_tokens[b] == n && pool->parent_uid[b] == parent_uid &&
            memcmp(pool->tokens + (int64_t)b * bs, tokens, (size_t)n * sizeof(int32_t)) == 0)
            return b;
    }
}

static void kvb_index_insert(kvb_pool *pool, int32_t b) {
    uint64_t i = pool->key_hash[b] & pool->table_mask;
    while (pool->table[i] >= 0) i = (i + 1) & pool->table_mask;
    pool->table[i] = b;
}

/* Takes b out of the index (its key, uid and token row are forgotten). Backward-shift deletion: an
 * entry after the hole moves into it unless its home slot lies cyclically in (hole, entry]. */
static void kvb_unregister(kvb_pool *pool, int32_t b) {
    const uint64_t mask = pool->table_mask;
    uint64_t hole = pool->key_hash[b] & mask;
    while (pool->table[hole] != b) hole = (hole + 1) & mask;
    for (uint64_t j = (hole + 1) & mask; pool->table[j] >= 0; j = (j + 1) & mask) {
        uint64_t home = pool->key_hash[pool->table[j]] & mask;
        int stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
        if (stays) continue;
        pool->table[hole] = pool->table[j];
        hole = j;
    }
    pool->table[hole] = -1;
    pool->reg_tokens[b] = 0;
    pool->uid[b] = 0;
    pool->parent_uid[b] = 0;
    pool->key_hash[b] = 0;
}

/* ---- create / free ---- */

ax_status kvb_create(int64_t num_blocks, int32_t block_size, kvb_pool **out) {
    if (out == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "kvb_create: out is NULL");
    *out = NULL;
    if (num_blocks < 1 || num_blocks > INT32_MAX)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                            "kvb_create: num_blocks: %lld, expected >= 1 and <= %d (block ids are int32)",
                            (long long)num_blocks, INT32_MAX);
    if (block_size < 1)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "kvb_create: block_size: %d, expected >= 1", (int)block_size);
    /* The token rows are num_blocks * block_size int32s, and slot ids b * block_size + s are int64. */
    if (num_blocks > (INT64_MAX / (int64_t)sizeof(int32_t)) / block_size ||
        (uint64_t)num_blocks * (uint64_t)block_size > SIZE_MAX / sizeof(int32_t))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                            "kvb_create: num_blocks * block_size: %lld * %d token slots overflows the index",
                            (long long)num_blocks, (int)block_size);
    uint64_t capacity = 2;
    while (capacity < 2 * (uint64_t)num_blocks) capacity *= 2;
    if (capacity > SIZE_MAX / sizeof(uint64_t))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "kvb_create: num_blocks: %lld is too large for this host",
                            (long long)num_blocks);

    kvb_pool *pool = calloc(1, sizeof *pool);
    if (pool == NULL) return ax_set_error(AX_ERR_OUT_OF_MEMORY, "kvb_create: the pool struct");
    size_t nb = (size_t)num_blocks;
    pool->num_blocks = num_blocks;
    pool->block_size = block_size;
    pool->refcount = calloc(nb, sizeof(int32_t));
    pool->prev = malloc(nb * sizeof(int32_t));
    pool->next = malloc(nb * sizeof(int32_t));
    pool->which_list = calloc(nb, 1);
    pool->reg_tokens = calloc(nb, sizeof(int32_t));
    pool->uid = calloc(nb, sizeof(uint64_t));
    pool->parent_uid = calloc(nb, sizeof(uint64_t));
    pool->key_hash = calloc(nb, sizeof(uint64_t));
    pool->tokens = malloc(nb * (size_t)block_size * sizeof(int32_t));
    pool->table = malloc((size_t)capacity * sizeof(int32_t));
    pool->prefix_hash = malloc(((size_t)block_size + 1) * sizeof(uint64_t));
    if (!pool->refcount || !pool->prev || !pool->next || !pool->which_list || !pool->reg_tokens || !pool->uid ||
        !pool->parent_uid || !pool->key_hash || !pool->tokens || !pool->table || !pool->prefix_hash) {
        kvb_free(pool);
        return ax_set_error(AX_ERR_OUT_OF_MEMORY, "kvb_create: %lld blocks of %d slots (index of %llu entries)",
                            (long long)num_blocks, (int)block_size, (unsigned long long)capacity);
    }
    memset(pool->table, 0xff, (size_t)capacity * sizeof(int32_t));
    pool->table_mask = capacity - 1;
    pool->next_uid = 1;
    for (int k = 0; k < 3; k++) pool->lists[k] = (kvb_list){-1, -1, 0};
    /* Pushed in reverse so that a fresh pool hands out blocks 0, 1, 2, ... */
    for (int64_t b = num_blocks - 1; b >= 0; b--) kvb_list_push_front(pool, KVB_LIST_FREE, (int32_t)b);
    *out = pool;
    return AX_OK;
}

void kvb_free(kvb_pool *pool) {
    if (pool == NULL) return;
    free(pool->refcount);
    free(pool->prev);
    free(pool->next);
    free(pool->which_list);
    free(pool->reg_tokens);
    free(pool->uid);
    free(pool->parent_uid);
    free(pool->key_hash);
    free(pool->tokens);
    free(pool->table);
    free(pool->prefix_hash);
    free(pool);
}

/* ---- counts ---- */

int64_t kvb_num_blocks(const kvb_pool *pool) { return pool->num_blocks; }
int32_t kvb_block_size(const kvb_pool *pool) { return pool->block_size; }
int64_t kvb_available(const kvb_pool *pool) {
    return pool->lists[KVB_LIST_FREE].count + pool->lists[KVB_LIST_LRU].count;
}
int64_t kvb_used(const kvb_pool *pool) { return pool->n_used; }
int64_t kvb_cached(const kvb_pool *pool) { return pool->lists[KVB_LIST_LRU].count; }

static int kvb_valid_block(const kvb_pool *pool, int32_t block) { return block >= 0 && block < pool->num_blocks; }

int32_t kvb_refcount(const kvb_pool *pool, int32_t block) {
    return kvb_valid_block(pool, block) ? pool->refcount[block] : -1;
}

int32_t kvb_registered_tokens(const kvb_pool *pool, int32_t block) {
    return kvb_valid_block(pool, block) ? pool->reg_tokens[block] : 0;
}

/* ---- holders ---- */

int32_t kvb_alloc(kvb_pool *pool) {
    int32_t b = pool->lists[KVB_LIST_FREE].head;
    if (b < 0) {
        b = pool->lists[KVB_LIST_LRU].head;
        if (b < 0) return -1;
        kvb_unregister(pool, b);
    }
    kvb_list_remove(pool, b);
    pool->refcount[b] = 1;
    pool->n_used++;
    return b;
}

/* Out-of-range ids and retains past INT32_MAX are ignored: the library never aborts, and kvb_check
 * would still find the pool consistent. */
void kvb_retain(kvb_pool *pool, int32_t block) {
    if (!kvb_valid_block(pool, block) || pool->refcount[block] == INT32_MAX) return;
    if (pool->refcount[block] == 0) {
        kvb_list_remove(pool, block);
        pool->n_used++;
    }
    pool->refcount[block]++;
}

void kvb_release(kvb_pool *pool, int32_t block) {
    if (!kvb_valid_block(pool, block) || pool->refcount[block] <= 0) return;
    if (--pool->refcount[block] > 0) return;
    pool->n_used--;
    if (pool->reg_tokens[block] > 0)
        kvb_list_push_back(pool, KVB_LIST_LRU, block);
    else
        kvb_list_push_front(pool, KVB_LIST_FREE, block);
}

/* ---- the prefix index ---- */

int32_t kvb_match(kvb_pool *pool, const int32_t *tokens, int64_t n, int32_t max_blocks, int32_t *blocks,
                  int64_t *n_matched) {
    int64_t matched_tokens = 0;
    int32_t n_blocks = 0;
    if (n_matched != NULL) *n_matched = 0;
    if (tokens == NULL || blocks == NULL || n <= 0) return 0;
    const int32_t bs = pool->block_size;
    uint64_t parent_uid = 0;
    while (n_blocks < max_blocks && matched_tokens < n) {
        const int32_t *run = tokens + matched_tokens;
        int64_t left = n - matched_tokens;
        int32_t longest = left < bs ? (int32_t)left : bs;
        uint64_t h = kvb_hash_start(parent_uid);
        for (int32_t m = 1; m <= longest; m++) {
            h = kvb_hash_step(h, run[m - 1]);
            pool->prefix_hash[m] = kvb_hash_finish(h, m);
        }
        int32_t b = -1, m = 0;
        if (longest == bs) {
            b = kvb_index_find(pool, parent_uid, run, bs, pool->prefix_hash[bs]);
            m = bs;
        }
        if (b < 0) {
            for (m = longest == bs ? bs - 1 : longest; m >= 1; m--) {
                b = kvb_index_find(pool, parent_uid, run, m, pool->prefix_hash[m]);
                if (b >= 0) break;
            }
        }
        if (b < 0) break;
        kvb_retain(pool, b);
        blocks[n_blocks++] = b;
        matched_tokens += m;
        if (m < bs) break;
        parent_uid = pool->uid[b];
    }
    if (n_matched != NULL) *n_matched = matched_tokens;
    return n_blocks;
}

int kvb_register(kvb_pool *pool, int32_t block, int32_t parent, const int32_t *tokens, int32_t n) {
    const int32_t bs = pool->block_size;
    if (!kvb_valid_block(pool, block) || pool->refcount[block] < 1 || tokens == NULL || n < 1 || n > bs) return 0;
    uint64_t parent_uid = 0;
    if (parent != -1) {
        /* Only a full registered block can precede another: kvb_match continues only after those. */
        if (!kvb_valid_block(pool, parent) || pool->reg_tokens[parent] != bs) return 0;
        parent_uid = pool->uid[parent];
    }
    uint64_t hash = kvb_hash_key(parent_uid, tokens, n);
    int32_t holder = kvb_index_find(pool, parent_uid, tokens, n, hash);
    if (holder == block) return 1;
    if (holder >= 0) return 0;
    if (pool->reg_tokens[block] >= n) return 0;
    if (pool->reg_tokens[block] > 0) kvb_unregister(pool, block);
    pool->reg_tokens[block] = n;
    pool->uid[block] = pool->next_uid++;
    pool->parent_uid[block] = parent_uid;
    pool->key_hash[block] = hash;
    memcpy(pool->tokens + (int64_t)block * bs, tokens, (size_t)n * sizeof(int32_t));
    kvb_index_insert(pool, block);
    return 1;
}

/* A block the caller does not hold (refcount 0) or an out-of-range id answers KVB_WRITE_OK and
 * changes nothing: the contract rules both out, and unregistering a cached block here would leave
 * it on the LRU with no key. */
kvb_write_action kvb_prepare_write(kvb_pool *pool, int32_t block) {
    if (!kvb_valid_block(pool, block) || pool->refcount[block] < 1 || pool->reg_tokens[block] == 0)
        return KVB_WRITE_OK;
    if (pool->refcount[block] > 1) return KVB_WRITE_COPY;
    kvb_unregister(pool, block);
    return KVB_WRITE_OK;
}

/* ---- consistency ---- */

/* Sets the AX_ERR_INTERNAL message naming the first inconsistency found; returns 1 for kvb_check. */
static int kvb_inconsistent(const char *fmt, ...) AX_PRINTF(1, 2);
static int kvb_inconsistent(const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    ax_set_errorv(AX_ERR_INTERNAL, fmt, args);
    va_end(args);
    return 1;
}

static int kvb_check_list(const kvb_pool *pool, int which, const char *name) {
    const kvb_list *l = &pool->lists[which];
    int64_t count = 0;
    int32_t prev = -1;
    for (int32_t b = l->head; b >= 0; b = pool->next[b]) {
        if (!kvb_valid_block(pool, b) || count >= pool->num_blocks)
            return kvb_inconsistent("kvb_check: %s list: bad link %d after %lld entries", name,
                                (int)b, (long long)count);
        if (pool->which_list[b] != which || pool->prev[b] != prev)
            return kvb_inconsistent("kvb_check: %s list: block %d has list tag %d and prev %d, expected %d and %d",
                                name, (int)b, (int)pool->which_list[b], (int)pool->prev[b], which, (int)prev);
        if (pool->refcount[b] != 0)
            return kvb_inconsistent("kvb_check: %s list: block %d has refcount %d", name, (int)b,
                                (int)pool->refcount[b]);
        if ((which == KVB_LIST_LRU) != (pool->reg_tokens[b] > 0))
            return kvb_inconsistent("kvb_check: %s list: block %d has %d registered tokens", name, (int)b,
                                (int)pool->reg_tokens[b]);
        prev = b;
        count++;
    }
    if (l->tail != prev || l->count != count)
        return kvb_inconsistent("kvb_check: %s list: tail %d and count %lld, walked %d and %lld", name,
                            (int)l->tail, (long long)l->count, (int)prev, (long long)count);
    return 0;
}

int kvb_check(const kvb_pool *pool) {
    const int32_t bs = pool->block_size;
    int64_t used = 0, registered = 0;
    for (int32_t b = 0; b < pool->num_blocks; b++) {
        int32_t rc = pool->refcount[b], n = pool->reg_tokens[b];
        if (rc < 0)
            return kvb_inconsistent("kvb_check: block %d has refcount %d", (int)b, (int)rc);
        if ((rc == 0) != (pool->which_list[b] != KVB_LIST_NONE))
            return kvb_inconsistent("kvb_check: block %d has refcount %d and list tag %d", (int)b, (int)rc,
                                (int)pool->which_list[b]);
        if (n < 0 || n > bs || (n > 0) != (pool->uid[b] != 0) || pool->uid[b] >= pool->next_uid)
            return kvb_inconsistent("kvb_check: block %d has %d registered tokens and uid %llu", (int)b,
                                (int)n, (unsigned long long)pool->uid[b]);
        used += rc > 0;
        if (n == 0) continue;
        registered++;
        const int32_t *row = pool->tokens + (int64_t)b * bs;
        uint64_t hash = kvb_hash_key(pool->parent_uid[b], row, n);
        if (hash != pool->key_hash[b])
            return kvb_inconsistent("kvb_check: block %d: stored key hash differs from its key", (int)b);
        /* The first holder of a key along its probe sequence is the one lookups see: it must be b. */
        int32_t found = kvb_index_find(pool, pool->parent_uid[b], row, n, hash);
        if (found != b)
            return kvb_inconsistent("kvb_check: block %d: its key finds block %d in the index", (int)b,
                                (int)found);
        if (pool->parent_uid[b] >= pool->uid[b])
            return kvb_inconsistent("kvb_check: block %d: parent uid %llu is not older than its uid %llu",
                                (int)b, (unsigned long long)pool->parent_uid[b], (unsigned long long)pool->uid[b]);
    }
    if (used != pool->n_used)
        return kvb_inconsistent("kvb_check: %lld blocks have holders, the count says %lld",
                            (long long)used, (long long)pool->n_used);
    if (kvb_check_list(pool, KVB_LIST_FREE, "free") || kvb_check_list(pool, KVB_LIST_LRU, "LRU")) return 1;
    if (pool->lists[KVB_LIST_FREE].count + pool->lists[KVB_LIST_LRU].count + used != pool->num_blocks)
        return kvb_inconsistent("kvb_check: free %lld + cached %lld + used %lld != %lld blocks",
                            (long long)pool->lists[KVB_LIST_FREE].count, (long long)pool->lists[KVB_LIST_LRU].count,
                            (long long)used, (long long)pool->num_blocks);
    /* Every table entry is a registered block, once, and no empty slot cuts a probe sequence short. */
    int64_t entries = 0;
    for (uint64_t i = 0; i <= pool->table_mask; i++) {
        int32_t b = pool->table[i];
        if (b < 0) continue;
        entries++;
        if (!kvb_valid_block(pool, b) || pool->reg_tokens[b] == 0)
            return kvb_inconsistent("kvb_check: index slot %llu holds block %d, which is not registered",
                                (unsigned long long)i, (int)b);
        for (uint64_t j = pool->key_hash[b] & pool->table_mask; j != i; j = (j + 1) & pool->table_mask)
            if (pool->table[j] < 0)
                return kvb_inconsistent("kvb_check: index slot %llu (block %d) is cut off from its home slot",
                                    (unsigned long long)i, (int)b);
    }
    if (entries != registered)
        return kvb_inconsistent("kvb_check: the index has %lld entries for %lld registered blocks",
                            (long long)entries, (long long)registered);
    return 0;
}
