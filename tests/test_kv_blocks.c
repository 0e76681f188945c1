/*
 * test_kv_blocks.c — the serving engine's KV block pool (src/serving/kv_blocks.h): targeted cases of
 * every rule in the contract, and a seeded randomized differential test against a deliberately
 * naive reference (plain arrays and linear scans, written from the header's text) driven by
 * simulated sequences that share prompt prefixes, register their blocks, copy shared partial blocks
 * before writing, get preempted when the pool runs dry, and finish.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "core/internal.h"
#include "harness.h"
#include "serving/kv_blocks.h"

/* ==== targeted cases ==== */

static kvb_pool *new_pool(int64_t num_blocks, int32_t block_size) {
    kvb_pool *pool = NULL;
    CHECK_OK(kvb_create(num_blocks, block_size, &pool));
    return pool;
}

static void check_consistent(const kvb_pool *pool) {
    th_checks++;
    if (kvb_check(pool) != 0) TH_FAIL("kvb_check: %s", ax_last_error());
}

/* Every block is back on the free list or cached: nothing leaked a holder. */
static void check_all_returned(const kvb_pool *pool) {
    CHECK_INT_EQ(kvb_used(pool), 0);
    CHECK_INT_EQ(kvb_available(pool), kvb_num_blocks(pool));
    check_consistent(pool);
}

static void test_create_errors(void) {
    kvb_pool *pool = (kvb_pool *)&pool; /* any non-NULL value: a failed create must clear it */
    CHECK_STATUS(kvb_create(4, 4, NULL), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "out");
    CHECK_STATUS(kvb_create(0, 4, &pool), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "num_blocks: 0");
    CHECK(pool == NULL);
    CHECK_STATUS(kvb_create(-3, 4, &pool), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "num_blocks: -3");
    CHECK_STATUS(kvb_create((int64_t)INT32_MAX + 1, 1, &pool), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "num_blocks: 2147483648");
    CHECK_STATUS(kvb_create(4, 0, &pool), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "block_size: 0");
    CHECK_STATUS(kvb_create(4, -7, &pool), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "block_size: -7");
    /* 2^31-1 blocks of 2^31-1 slots: about 2^62 int32 token slots, more bytes than int64 counts. */
    CHECK_STATUS(kvb_create(INT32_MAX, INT32_MAX, &pool), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "num_blocks * block_size");
    CHECK(pool == NULL);
    kvb_free(NULL);

    pool = new_pool(3, 5);
    CHECK_INT_EQ(kvb_num_blocks(pool), 3);
    CHECK_INT_EQ(kvb_block_size(pool), 5);
    CHECK_INT_EQ(kvb_available(pool), 3);
    CHECK_INT_EQ(kvb_used(pool), 0);
    CHECK_INT_EQ(kvb_cached(pool), 0);
    for (int32_t b = 0; b < 3; b++) {
        CHECK_INT_EQ(kvb_refcount(pool, b), 0);
        CHECK_INT_EQ(kvb_registered_tokens(pool, b), 0);
    }
    check_consistent(pool);
    kvb_free(pool);
}

static void test_full_chain_match(void) {
    kvb_pool *pool = new_pool(8, 4);
    int32_t t[14], blocks[8] = {0};
    int64_t got = -1;
    for (int i = 0; i < 14; i++) t[i] = 100 + i;
    int32_t b0 = kvb_alloc(pool), b1 = kvb_alloc(pool), b2 = kvb_alloc(pool);
    CHECK(b0 >= 0 && b1 >= 0 && b2 >= 0 && b0 != b1 && b1 != b2 && b0 != b2);
    CHECK_INT_EQ(kvb_register(pool, b0, -1, t, 4), 1);
    CHECK_INT_EQ(kvb_register(pool, b1, b0, t + 4, 4), 1);
    CHECK_INT_EQ(kvb_register(pool, b2, b1, t + 8, 4), 1);
    CHECK_INT_EQ(kvb_registered_tokens(pool, b2), 4);

    CHECK_INT_EQ(kvb_match(pool, t, 14, 8, blocks, &got), 3);
    CHECK_INT_EQ(got, 12);
    CHECK(blocks[0] == b0 && blocks[1] == b1 && blocks[2] == b2);
    CHECK_INT_EQ(kvb_refcount(pool, b0), 2);
    CHECK_INT_EQ(kvb_refcount(pool, b2), 2);

    /* 11 tokens: the third block needs 12, and no partial child is registered. */
    CHECK_INT_EQ(kvb_match(pool, t, 11, 8, blocks, &got), 2);
    CHECK_INT_EQ(got, 8);
    CHECK_INT_EQ(kvb_refcount(pool, b0), 3);
    CHECK_INT_EQ(kvb_refcount(pool, b2), 2);
    /* max_blocks bounds the walk. */
    CHECK_INT_EQ(kvb_match(pool, t, 14, 1, blocks, &got), 1);
    CHECK_INT_EQ(got, 4);
    CHECK_INT_EQ(kvb_refcount(pool, b0), 4);
    CHECK_INT_EQ(kvb_refcount(pool, b1), 3);
    CHECK_INT_EQ(kvb_match(pool, t, 14, 0, blocks, &got), 0);
    CHECK_INT_EQ(got, 0);
    /* The second block alone is not a prefix: its parent is b0, not the root. */
    CHECK_INT_EQ(kvb_match(pool, t + 4, 10, 8, blocks, &got), 0);
    CHECK_INT_EQ(got, 0);
    CHECK_INT_EQ(kvb_refcount(pool, b1), 3);
    /* One differing token in the middle block stops the walk after the first. */
    int32_t u[14];
    memcpy(u, t, sizeof u);
    u[6] = -5;
    CHECK_INT_EQ(kvb_match(pool, u, 14, 8, blocks, &got), 1);
    CHECK_INT_EQ(got, 4);
    check_consistent(pool);

    /* Holders: b0 the alloc and 4 matches, b1 the alloc and 2, b2 the alloc and 1. */
    for (int k = 0; k < 5; k++) kvb_release(pool, b0);
    for (int k = 0; k < 3; k++) kvb_release(pool, b1);
    for (int k = 0; k < 2; k++) kvb_release(pool, b2);
    CHECK_INT_EQ(kvb_cached(pool), 3);
    check_all_returned(pool);
    /* Cached blocks match too, and become used. */
    CHECK_INT_EQ(kvb_match(pool, t, 12, 8, blocks, &got), 3);
    CHECK_INT_EQ(got, 12);
    CHECK_INT_EQ(kvb_cached(pool), 0);
    CHECK_INT_EQ(kvb_used(pool), 3);
    for (int k = 0; k < 3; k++) kvb_release(pool, blocks[k]);
    check_all_returned(pool);
    kvb_free(pool);
}

static void test_partial_longest(void) {
    kvb_pool *pool = new_pool(16, 4);
    const int32_t root_t[4] = {1, 2, 3, 4}, p3_t[3] = {5, 6, 7}, other_t[2] = {5, 9}, q_t[2] = {8, 8};
    int32_t blocks[4];
    int64_t got = -1;
    int32_t root = kvb_alloc(pool), p1 = kvb_alloc(pool), p2 = kvb_alloc(pool), p3 = kvb_alloc(pool);
    int32_t other = kvb_alloc(pool), q = kvb_alloc(pool);
    CHECK_INT_EQ(kvb_register(pool, root, -1, root_t, 4), 1);
    CHECK_INT_EQ(kvb_register(pool, p1, root, p3_t, 1), 1);
    CHECK_INT_EQ(kvb_register(pool, p3, root, p3_t, 3), 1);
    CHECK_INT_EQ(kvb_register(pool, p2, root, p3_t, 2), 1);
    CHECK_INT_EQ(kvb_register(pool, other, root, other_t, 2), 1);
    CHECK_INT_EQ(kvb_register(pool, q, -1, q_t, 2), 1);

    const int32_t a[7] = {1, 2, 3, 4, 5, 6, 9};
    CHECK_INT_EQ(kvb_match(pool, a, 7, 4, blocks, &got), 2);
    CHECK_INT_EQ(got, 6);
    CHECK(blocks[0] == root && blocks[1] == p2);
    const int32_t b[8] = {1, 2, 3, 4, 5, 6, 7, 8}; /* the full [5 6 7 8] is not registered */
    CHECK_INT_EQ(kvb_match(pool, b, 8, 4, blocks, &got), 2);
    CHECK_INT_EQ(got, 7);
    CHECK(blocks[0] == root && blocks[1] == p3);
    CHECK_INT_EQ(kvb_match(pool, b, 7, 4, blocks, &got), 2);
    CHECK_INT_EQ(got, 7);
    CHECK(blocks[1] == p3);
    /* Only 5 tokens: the 2- and 3-token partials do not fit, the 1-token one does. */
    CHECK_INT_EQ(kvb_match(pool, b, 5, 4, blocks, &got), 2);
    CHECK_INT_EQ(got, 5);
    CHECK(blocks[1] == p1);
    const int32_t c[7] = {1, 2, 3, 4, 5, 9, 9};
    CHECK_INT_EQ(kvb_match(pool, c, 7, 4, blocks, &got), 2);
    CHECK_INT_EQ(got, 6);
    CHECK(blocks[1] == other);
    const int32_t d[5] = {1, 2, 3, 4, 7};
    CHECK_INT_EQ(kvb_match(pool, d, 5, 4, blocks, &got), 1);
    CHECK_INT_EQ(got, 4);
    /* A partial first block (parent -1); a partial ends the walk even when more tokens follow. */
    const int32_t e[6] = {8, 8, 8, 1, 2, 3};
    CHECK_INT_EQ(kvb_match(pool, e, 6, 4, blocks, &got), 1);
    CHECK_INT_EQ(got, 2);
    CHECK(blocks[0] == q);
    /* A root partial of 2 tokens does not match a 1-token prompt. */
    CHECK_INT_EQ(kvb_match(pool, e, 1, 4, blocks, &got), 0);
    CHECK_INT_EQ(got, 0);
    /* max_blocks 1 stops before the partial. */
    CHECK_INT_EQ(kvb_match(pool, a, 7, 1, blocks, &got), 1);
    CHECK_INT_EQ(got, 4);
    CHECK_INT_EQ(kvb_refcount(pool, root), 1 + 7);
    CHECK_INT_EQ(kvb_refcount(pool, p2), 2);
    CHECK_INT_EQ(kvb_refcount(pool, p3), 3);
    CHECK_INT_EQ(kvb_refcount(pool, p1), 2);
    CHECK_INT_EQ(kvb_refcount(pool, other), 2);
    CHECK_INT_EQ(kvb_refcount(pool, q), 2);
    check_consistent(pool);
    const int32_t holders[6][2] = {{root, 8}, {p1, 2}, {p2, 2}, {p3, 3}, {other, 2}, {q, 2}};
    for (int i = 0; i < 6; i++)
        for (int k = 0; k < holders[i][1]; k++) kvb_release(pool, holders[i][0]);
    CHECK_INT_EQ(kvb_cached(pool), 6);
    check_all_returned(pool);
    kvb_free(pool);
}

/* A child registered under a block that was later evicted and registered again with the same tokens
 * must not be found: its key names the old registration's uid. */
static void test_stale_child(void) {
    kvb_pool *pool = new_pool(3, 2);
    const int32_t t[4] = {1, 2, 3, 4};
    int32_t blocks[3];
    int64_t got = -1;
    int32_t a = kvb_alloc(pool), c = kvb_alloc(pool);
    CHECK_INT_EQ(kvb_register(pool, a, -1, t, 2), 1);
    CHECK_INT_EQ(kvb_register(pool, c, a, t + 2, 2), 1);
    kvb_release(pool, a);
    kvb_release(pool, c);
    CHECK_INT_EQ(kvb_cached(pool), 2);
    int32_t x = kvb_alloc(pool); /* the free block */
    CHECK(x != a && x != c && x >= 0);
    int32_t y = kvb_alloc(pool); /* evicts a, the least recently released */
    CHECK_INT_EQ(y, a);
    CHECK_INT_EQ(kvb_registered_tokens(pool, a), 0);
    CHECK_INT_EQ(kvb_registered_tokens(pool, c), 2);
    CHECK_INT_EQ(kvb_match(pool, t, 4, 3, blocks, &got), 0);
    CHECK_INT_EQ(kvb_register(pool, y, -1, t, 2), 1);
    CHECK_INT_EQ(kvb_match(pool, t, 4, 3, blocks, &got), 1);
    CHECK_INT_EQ(got, 2);
    CHECK_INT_EQ(blocks[0], y);
    CHECK_INT_EQ(kvb_refcount(pool, c), 0);
    CHECK_INT_EQ(kvb_cached(pool), 1);
    /* The unreachable child is still the LRU victim. */
    CHECK_INT_EQ(kvb_alloc(pool), c);
    CHECK_INT_EQ(kvb_alloc(pool), -1);
    kvb_release(pool, c);
    kvb_release(pool, x);
    kvb_release(pool, y);
    kvb_release(pool, y);
    check_all_returned(pool);
    kvb_free(pool);
}

static void test_lru_order(void) {
    kvb_pool *pool = new_pool(4, 2);
    int32_t blocks[1];
    int64_t got = -1;
    for (int32_t b = 0; b < 4; b++) {
        CHECK_INT_EQ(kvb_alloc(pool), b); /* a fresh pool hands out 0, 1, 2, ... */
        const int32_t t[2] = {b, b};
        CHECK_INT_EQ(kvb_register(pool, b, -1, t, 2), 1);
    }
    CHECK_INT_EQ(kvb_alloc(pool), -1);
    const int32_t order[4] = {2, 0, 3, 1};
    for (int i = 0; i < 4; i++) kvb_release(pool, order[i]);
    CHECK_INT_EQ(kvb_cached(pool), 4);
    /* Matching block 0 takes it off the LRU; releasing it again makes it the most recent. */
    const int32_t t0[2] = {0, 0};
    CHECK_INT_EQ(kvb_match(pool, t0, 2, 1, blocks, &got), 1);
    CHECK_INT_EQ(blocks[0], 0);
    CHECK_INT_EQ(kvb_cached(pool), 3);
    kvb_release(pool, 0);
    const int32_t expect[4] = {2, 3, 1, 0};
    for (int i = 0; i < 4; i++) {
        CHECK_INT_EQ(kvb_alloc(pool), expect[i]);
        CHECK_INT_EQ(kvb_registered_tokens(pool, expect[i]), 0);
        CHECK_INT_EQ(kvb_cached(pool), 3 - i);
    }
    CHECK_INT_EQ(kvb_alloc(pool), -1);
    /* Released unregistered blocks go to the free list, which alloc prefers to cached blocks. */
    const int32_t t9[2] = {9, 9};
    CHECK_INT_EQ(kvb_register(pool, 1, -1, t9, 2), 1);
    kvb_release(pool, 1);
    kvb_release(pool, 3);
    CHECK_INT_EQ(kvb_alloc(pool), 3);
    CHECK_INT_EQ(kvb_alloc(pool), 1);
    for (int32_t b = 0; b < 4; b++) kvb_release(pool, b);
    check_all_returned(pool);
    kvb_free(pool);
}

static void test_reregister_longer(void) {
    kvb_pool *pool = new_pool(4, 4);
    const int32_t t[4] = {1, 2, 3, 9};
    int32_t blocks[2];
    int64_t got = -1;
    int32_t b = kvb_alloc(pool);
    CHECK_INT_EQ(kvb_register(pool, b, -1, t, 2), 1);
    CHECK_INT_EQ(kvb_registered_tokens(pool, b), 2);
    CHECK_INT_EQ(kvb_register(pool, b, -1, t, 3), 1);
    CHECK_INT_EQ(kvb_registered_tokens(pool, b), 3);
    /* The 2-token key is gone. */
    CHECK_INT_EQ(kvb_match(pool, t, 2, 2, blocks, &got), 0);
    CHECK_INT_EQ(kvb_match(pool, t, 4, 2, blocks, &got), 1);
    CHECK_INT_EQ(got, 3);
    kvb_release(pool, b);
    /* Shorter or equal runs under another key change nothing. */
    CHECK_INT_EQ(kvb_register(pool, b, -1, t, 2), 0);
    CHECK_INT_EQ(kvb_register(pool, b, -1, t + 1, 3), 0);
    CHECK_INT_EQ(kvb_registered_tokens(pool, b), 3);
    CHECK_INT_EQ(kvb_register(pool, b, -1, t, 3), 1); /* its own key */
    /* Full: another block can now take the 2-token key. */
    int32_t c = kvb_alloc(pool);
    CHECK_INT_EQ(kvb_register(pool, c, -1, t, 2), 1);
    CHECK_INT_EQ(kvb_register(pool, b, -1, t, 4), 1);
    CHECK_INT_EQ(kvb_registered_tokens(pool, b), 4);
    CHECK_INT_EQ(kvb_match(pool, t, 2, 2, blocks, &got), 1);
    CHECK_INT_EQ(blocks[0], c);
    kvb_release(pool, c);
    kvb_release(pool, c);
    kvb_release(pool, b);
    check_all_returned(pool);
    kvb_free(pool);
}

static void test_register_rules(void) {
    kvb_pool *pool = new_pool(6, 4);
    const int32_t t[12] = {7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7};
    int32_t a = kvb_alloc(pool), b = kvb_alloc(pool), c = kvb_alloc(pool), d = kvb_alloc(pool);
    CHECK_INT_EQ(kvb_register(pool, a, -1, t, 2), 1);
    CHECK_INT_EQ(kvb_register(pool, b, -1, t, 2), 0); /* the key belongs to a */
    CHECK_INT_EQ(kvb_registered_tokens(pool, b), 0);
    CHECK_INT_EQ(kvb_register(pool, a, -1, t, 2), 1); /* again, same block: still registered */
    CHECK_INT_EQ(kvb_registered_tokens(pool, a), 2);
    /* Parents: an unregistered block, a partial block, an id out of range. */
    CHECK_INT_EQ(kvb_register(pool, b, c, t + 4, 4), 0);
    CHECK_INT_EQ(kvb_register(pool, b, a, t + 4, 4), 0);
    CHECK_INT_EQ(kvb_register(pool, b, 6, t + 4, 4), 0);
    CHECK_INT_EQ(kvb_register(pool, b, -2, t + 4, 4), 0);
    CHECK_INT_EQ(kvb_registered_tokens(pool, b), 0);
    /* n outside [1, bs], a block without holders, no tokens. */
    CHECK_INT_EQ(kvb_register(pool, c, -1, t, 0), 0);
    CHECK_INT_EQ(kvb_register(pool, c, -1, t, 5), 0);
    CHECK_INT_EQ(kvb_register(pool, 5, -1, t + 4, 4), 0);
    CHECK_INT_EQ(kvb_register(pool, c, -1, NULL, 4), 0);
    CHECK_INT_EQ(kvb_registered_tokens(pool, 5), 0);
    CHECK_INT_EQ(kvb_registered_tokens(pool, c), 0);
    /* The same tokens under different parents are different keys. */
    CHECK_INT_EQ(kvb_register(pool, c, -1, t, 4), 1);
    CHECK_INT_EQ(kvb_register(pool, d, c, t, 4), 1);
    CHECK_INT_EQ(kvb_register(pool, b, d, t, 4), 1);
    int32_t blocks[4];
    int64_t got = -1;
    CHECK_INT_EQ(kvb_match(pool, t, 12, 4, blocks, &got), 3);
    CHECK_INT_EQ(got, 12);
    CHECK(blocks[0] == c && blocks[1] == d && blocks[2] == b);
    /* Out-of-range ids answer without touching anything. */
    CHECK_INT_EQ(kvb_refcount(pool, -1), -1);
    CHECK_INT_EQ(kvb_refcount(pool, 6), -1);
    CHECK_INT_EQ(kvb_registered_tokens(pool, 99), 0);
    kvb_retain(pool, 6);
    kvb_release(pool, -1);
    kvb_release(pool, 5); /* no holders: ignored */
    CHECK_INT_EQ(kvb_prepare_write(pool, 77), KVB_WRITE_OK);
    check_consistent(pool);
    for (int i = 0; i < 3; i++) kvb_release(pool, blocks[i]);
    kvb_release(pool, a);
    kvb_release(pool, b);
    kvb_release(pool, c);
    kvb_release(pool, d);
    check_all_returned(pool);
    CHECK_INT_EQ(kvb_cached(pool), 4);
    kvb_free(pool);
}

static void test_prepare_write(void) {
    kvb_pool *pool = new_pool(4, 4);
    const int32_t t[3] = {4, 5, 6};
    int32_t blocks[1];
    int64_t got = -1;
    int32_t a = kvb_alloc(pool), b = kvb_alloc(pool), c = kvb_alloc(pool);
    CHECK_INT_EQ(kvb_prepare_write(pool, c), KVB_WRITE_OK); /* unregistered */
    CHECK_INT_EQ(kvb_register(pool, a, -1, t, 3), 1);
    CHECK_INT_EQ(kvb_prepare_write(pool, a), KVB_WRITE_OK); /* refcount 1: unregistered now */
    CHECK_INT_EQ(kvb_registered_tokens(pool, a), 0);
    CHECK_INT_EQ(kvb_match(pool, t, 3, 1, blocks, &got), 0);
    kvb_release(pool, a);
    CHECK_INT_EQ(kvb_cached(pool), 0); /* freed, not cached */
    CHECK_INT_EQ(kvb_register(pool, b, -1, t, 3), 1);
    CHECK_INT_EQ(kvb_match(pool, t, 3, 1, blocks, &got), 1);
    CHECK_INT_EQ(blocks[0], b);
    CHECK_INT_EQ(kvb_prepare_write(pool, b), KVB_WRITE_COPY);
    CHECK_INT_EQ(kvb_registered_tokens(pool, b), 3);
    CHECK_INT_EQ(kvb_refcount(pool, b), 2);
    kvb_release(pool, b);
    CHECK_INT_EQ(kvb_prepare_write(pool, b), KVB_WRITE_OK);
    CHECK_INT_EQ(kvb_registered_tokens(pool, b), 0);
    /* Its full children stay registered but unreachable; a block without holders is left alone. */
    const int32_t full[4] = {1, 1, 1, 1};
    CHECK_INT_EQ(kvb_register(pool, c, -1, full, 4), 1);
    int32_t child = kvb_alloc(pool);
    CHECK_INT_EQ(kvb_register(pool, child, c, t, 3), 1);
    CHECK_INT_EQ(kvb_prepare_write(pool, c), KVB_WRITE_OK);
    CHECK_INT_EQ(kvb_registered_tokens(pool, child), 3);
    kvb_release(pool, child);
    CHECK_INT_EQ(kvb_prepare_write(pool, child), KVB_WRITE_OK);
    CHECK_INT_EQ(kvb_registered_tokens(pool, child), 3);
    CHECK_INT_EQ(kvb_cached(pool), 1);
    kvb_release(pool, b);
    kvb_release(pool, c);
    check_all_returned(pool);
    kvb_free(pool);
}

static void test_single_block(void) {
    for (int32_t bs = 1; bs <= 3; bs += 2) {
        kvb_pool *pool = new_pool(1, bs);
        const int32_t t[3] = {5, 6, 7};
        int32_t blocks[2] = {-9, -9};
        int64_t got = -1;
        CHECK_INT_EQ(kvb_alloc(pool), 0);
        CHECK_INT_EQ(kvb_alloc(pool), -1);
        CHECK_INT_EQ(kvb_available(pool), 0);
        CHECK_INT_EQ(kvb_register(pool, 0, -1, t, bs), 1);
        CHECK_INT_EQ(kvb_register(pool, 0, 0, t, bs), 0); /* would be its own child */
        kvb_release(pool, 0);
        CHECK_INT_EQ(kvb_cached(pool), 1);
        CHECK_INT_EQ(kvb_available(pool), 1);
        CHECK_INT_EQ(kvb_match(pool, t, 3, 2, blocks, &got), 1);
        CHECK_INT_EQ(got, bs);
        CHECK_INT_EQ(blocks[0], 0);
        CHECK_INT_EQ(kvb_available(pool), 0);
        kvb_release(pool, 0);
        CHECK_INT_EQ(kvb_alloc(pool), 0); /* evicted */
        CHECK_INT_EQ(kvb_registered_tokens(pool, 0), 0);
        CHECK_INT_EQ(kvb_cached(pool), 0);
        CHECK_INT_EQ(kvb_match(pool, t, 3, 2, blocks, &got), 0);
        kvb_release(pool, 0);
        CHECK_INT_EQ(kvb_cached(pool), 0);
        check_all_returned(pool);
        kvb_free(pool);
    }
}

/* ==== the naive reference ==== */

enum { REF_MAX_BLOCKS = 96, REF_MAX_BS = 8 };

typedef struct ref_block {
    int32_t refcount;
    int32_t n; /* registered tokens, 0 when not in the index */
    uint64_t uid, parent_uid;
    int32_t tokens[REF_MAX_BS];
    uint64_t cached_at; /* when it last became cached */
} ref_block;

static struct {
    int32_t num_blocks, bs;
    ref_block b[REF_MAX_BLOCKS];
    uint64_t next_uid, clock;
} ref;

static void ref_init(int32_t num_blocks, int32_t bs) {
    memset(&ref, 0, sizeof ref);
    ref.num_blocks = num_blocks;
    ref.bs = bs;
}

static int ref_valid(int32_t b) { return b >= 0 && b < ref.num_blocks; }
static int ref_is_free(int32_t b) { return ref.b[b].refcount == 0 && ref.b[b].n == 0; }
static int ref_is_cached(int32_t b) { return ref.b[b].refcount == 0 && ref.b[b].n > 0; }

static int64_t ref_count(int (*pred)(int32_t)) {
    int64_t count = 0;
    for (int32_t b = 0; b < ref.num_blocks; b++) count += pred(b);
    return count;
}
static int ref_is_used(int32_t b) { return ref.b[b].refcount > 0; }

static int32_t ref_lru_oldest(void) {
    int32_t best = -1;
    for (int32_t b = 0; b < ref.num_blocks; b++)
        if (ref_is_cached(b) && (best < 0 || ref.b[b].cached_at < ref.b[best].cached_at)) best = b;
    return best;
}

/* The registered block with this key; reports a reference bug if two hold it. */
static int32_t ref_find(uint64_t parent_uid, int32_t n, const int32_t *tokens) {
    int32_t found = -1;
    for (int32_t b = 0; b < ref.num_blocks; b++) {
        const ref_block *r = &ref.b[b];
        if (r->n != n || r->parent_uid != parent_uid) continue;
        int same = 1;
        for (int32_t i = 0; i < n; i++) same &= r->tokens[i] == tokens[i];
        if (!same) continue;
        if (found >= 0) TH_FAIL("reference: blocks %d and %d share a key", (int)found, (int)b);
        found = b;
    }
    return found;
}

static void ref_unregister(int32_t b) {
    ref.b[b].n = 0;
    ref.b[b].uid = ref.b[b].parent_uid = 0;
}

static void ref_retain(int32_t b) { ref.b[b].refcount++; }

static void ref_release(int32_t b) {
    if (!ref_valid(b) || ref.b[b].refcount == 0) return;
    if (--ref.b[b].refcount == 0 && ref.b[b].n > 0) ref.b[b].cached_at = ++ref.clock;
}

static int32_t ref_match(const int32_t *tokens, int64_t n, int32_t max_blocks, int32_t *blocks, int64_t *n_matched) {
    int32_t count = 0;
    int64_t done = 0;
    uint64_t parent_uid = 0;
    while (count < max_blocks && done < n) {
        int64_t left = n - done;
        int32_t b = -1, m = 0;
        if (left >= ref.bs) {
            b = ref_find(parent_uid, ref.bs, tokens + done);
            m = ref.bs;
        }
        for (int32_t len = (int32_t)(left < ref.bs ? left : ref.bs - 1); b < 0 && len >= 1; len--) {
            b = ref_find(parent_uid, len, tokens + done);
            m = len;
        }
        if (b < 0) break;
        blocks[count++] = b;
        done += m;
        if (m < ref.bs) break;
        parent_uid = ref.b[b].uid;
    }
    for (int32_t i = 0; i < count; i++) ref_retain(blocks[i]);
    *n_matched = done;
    return count;
}

static int ref_register(int32_t block, int32_t parent, const int32_t *tokens, int32_t n) {
    if (!ref_valid(block) || ref.b[block].refcount < 1 || n < 1 || n > ref.bs) return 0;
    uint64_t parent_uid = 0;
    if (parent != -1) {
        if (!ref_valid(parent) || ref.b[parent].n != ref.bs) return 0;
        parent_uid = ref.b[parent].uid;
    }
    int32_t holder = ref_find(parent_uid, n, tokens);
    if (holder == block) return 1;
    if (holder >= 0 || ref.b[block].n >= n) return 0;
    ref_block *r = &ref.b[block];
    r->n = n;
    r->uid = ++ref.next_uid;
    r->parent_uid = parent_uid;
    memcpy(r->tokens, tokens, (size_t)n * sizeof(int32_t));
    return 1;
}

static kvb_write_action ref_prepare_write(int32_t b) {
    if (!ref_valid(b) || ref.b[b].refcount < 1 || ref.b[b].n == 0) return KVB_WRITE_OK;
    if (ref.b[b].refcount > 1) return KVB_WRITE_COPY;
    ref_unregister(b);
    return KVB_WRITE_OK;
}

/* ==== the differential driver: every call goes to both, results and states are compared ==== */

static kvb_pool *dut;
static int diverged; /* set at the first disagreement: the random walk stops there */

static struct {
    int64_t ops, evictions, matches, partial_matches, matched_blocks, deep_matches, copies, unregistered_writes;
    int64_t register_ok, register_taken, register_longer, preemptions, alloc_failures;
} stats;

static void compare_state(const char *after) {
    if (diverged) return;
    stats.ops++;
    th_checks++;
    if (kvb_check(dut) != 0) {
        TH_FAIL("after %s (op %lld): kvb_check: %s", after, (long long)stats.ops, ax_last_error());
        diverged = 1;
        return;
    }
    th_checks++;
    if (kvb_used(dut) != ref_count(ref_is_used) || kvb_cached(dut) != ref_count(ref_is_cached) ||
        kvb_available(dut) != ref_count(ref_is_free) + ref_count(ref_is_cached)) {
        TH_FAIL("after %s (op %lld): used/cached/available %lld/%lld/%lld, reference %lld/%lld/%lld", after,
                (long long)stats.ops, (long long)kvb_used(dut), (long long)kvb_cached(dut),
                (long long)kvb_available(dut), (long long)ref_count(ref_is_used), (long long)ref_count(ref_is_cached),
                (long long)(ref_count(ref_is_free) + ref_count(ref_is_cached)));
        diverged = 1;
        return;
    }
    for (int32_t b = 0; b < ref.num_blocks; b++) {
        if (kvb_refcount(dut, b) != ref.b[b].refcount || kvb_registered_tokens(dut, b) != ref.b[b].n) {
            th_checks++;
            TH_FAIL("after %s (op %lld): block %d refcount %d registered %d, reference %d and %d", after,
                    (long long)stats.ops, (int)b, (int)kvb_refcount(dut, b), (int)kvb_registered_tokens(dut, b),
                    (int)ref.b[b].refcount, (int)ref.b[b].n);
            diverged = 1;
            return;
        }
    }
}

static void diverge(const char *what, long long got, long long expected) {
    if (diverged) return;
    th_checks++;
    TH_FAIL("op %lld: %s: got %lld, reference %lld", (long long)stats.ops + 1, what, got, expected);
    diverged = 1;
}

static int32_t both_alloc(void) {
    int64_t free_blocks = ref_count(ref_is_free);
    int32_t oldest = ref_lru_oldest();
    int32_t b = kvb_alloc(dut);
    /* Which free block is unspecified; the evicted one is exactly the least recently cached. */
    if (free_blocks > 0) {
        if (!ref_valid(b) || !ref_is_free(b)) diverge("alloc with free blocks: a free block", b, -2);
    } else if (b != oldest) {
        diverge("alloc from the LRU", b, oldest);
    }
    if (diverged) return -1;
    if (b >= 0) {
        if (free_blocks == 0) stats.evictions++;
        ref_unregister(b);
        ref.b[b].refcount = 1;
    } else {
        stats.alloc_failures++;
    }
    compare_state("alloc");
    return b;
}

static void both_release(int32_t b) {
    kvb_release(dut, b);
    ref_release(b);
    compare_state("release");
}

static int32_t both_match(const int32_t *tokens, int64_t n, int32_t max_blocks, int32_t *blocks, int64_t *n_matched) {
    int32_t expect[REF_MAX_BLOCKS];
    int64_t expect_n = -1;
    int32_t count = kvb_match(dut, tokens, n, max_blocks, blocks, n_matched);
    int32_t expect_count = ref_match(tokens, n, max_blocks, expect, &expect_n);
    if (count != expect_count) diverge("match: blocks", count, expect_count);
    if (*n_matched != expect_n) diverge("match: n_matched", *n_matched, expect_n);
    for (int32_t i = 0; i < count && !diverged; i++)
        if (blocks[i] != expect[i]) diverge("match: a block", blocks[i], expect[i]);
    if (count > 0) {
        stats.matches++;
        stats.matched_blocks += count;
        if (expect_n % ref.bs != 0) stats.partial_matches++;
        if (count >= 3) stats.deep_matches++;
    }
    compare_state("match");
    return diverged ? 0 : count;
}

static int both_register(int32_t block, int32_t parent, const int32_t *tokens, int32_t n) {
    int32_t before = ref_valid(block) ? ref.b[block].n : 0;
    int taken = 0; /* a valid call whose key another block holds */
    if (ref_valid(block) && ref.b[block].refcount > 0 && n >= 1 && n <= ref.bs &&
        (parent == -1 || (ref_valid(parent) && ref.b[parent].n == ref.bs))) {
        int32_t holder = ref_find(parent == -1 ? 0 : ref.b[parent].uid, n, tokens);
        taken = holder >= 0 && holder != block;
    }
    int got = kvb_register(dut, block, parent, tokens, n);
    int expect = ref_register(block, parent, tokens, n);
    if (got != expect) diverge("register", got, expect);
    if (expect == 1 && before > 0 && before < n) stats.register_longer++;
    if (expect == 1) stats.register_ok++;
    else if (taken) stats.register_taken++;
    compare_state("register");
    return expect;
}

static kvb_write_action both_prepare_write(int32_t b) {
    int32_t registered = ref_valid(b) ? ref.b[b].n : 0;
    kvb_write_action got = kvb_prepare_write(dut, b);
    kvb_write_action expect = ref_prepare_write(b);
    if (got != expect) diverge("prepare_write", got, expect);
    if (expect == KVB_WRITE_COPY) stats.copies++;
    else if (registered > 0) stats.unregistered_writes++;
    compare_state("prepare_write");
    return expect;
}

/* ==== simulated sequences ==== */

enum { SIM_SEQS = 6, SIM_MAX_SEQ_BLOCKS = 8, SIM_MAX_TOKENS = SIM_MAX_SEQ_BLOCKS * REF_MAX_BS, SIM_LIBRARY = 48,
       SIM_PINNED = 8 };

typedef struct sim_seq {
    int active;
    int32_t tokens[SIM_MAX_TOKENS];
    int64_t n_tokens;
    int32_t table[SIM_MAX_SEQ_BLOCKS];
    int32_t n_blocks;
} sim_seq;

static sim_seq seqs[SIM_SEQS];
/* What the "device" holds in each block's slots: written by appends, copied on copy-on-write. A
 * matched block must hold the prompt's tokens, which checks the write rules end to end. */
static int32_t content[REF_MAX_BLOCKS][REF_MAX_BS];
static int32_t library[SIM_LIBRARY][SIM_MAX_TOKENS];
static int64_t library_len[SIM_LIBRARY];
static int n_library;
static int32_t pinned[SIM_PINNED];
static int n_pinned;
static int32_t vocab;

static int64_t rand_below(int64_t n) { return (int64_t)(th_rand_u64() % (uint64_t)n); }

static void sim_finish(sim_seq *s, int keep) {
    if (keep && s->n_tokens > 0) {
        int slot = n_library < SIM_LIBRARY ? n_library++ : (int)rand_below(SIM_LIBRARY);
        memcpy(library[slot], s->tokens, (size_t)s->n_tokens * sizeof(int32_t));
        library_len[slot] = s->n_tokens;
    }
    for (int32_t j = s->n_blocks - 1; j >= 0; j--) both_release(s->table[j]);
    s->active = 0;
    s->n_tokens = 0;
    s->n_blocks = 0;
}

/* Writes one token at the end of the sequence; 0 when the pool (or the sequence's table) is full. */
static int sim_append(sim_seq *s, int32_t token) {
    const int32_t bs = ref.bs;
    int64_t p = s->n_tokens;
    int32_t j = (int32_t)(p / bs), slot = (int32_t)(p % bs);
    if (j >= SIM_MAX_SEQ_BLOCKS) return 0;
    if (j == s->n_blocks) {
        int32_t b = both_alloc();
        if (b < 0) return 0;
        s->table[s->n_blocks++] = b;
    }
    int32_t b = s->table[j];
    if (both_prepare_write(b) == KVB_WRITE_COPY) {
        int32_t copy = both_alloc();
        if (copy < 0) return 0;
        memcpy(content[copy], content[b], (size_t)slot * sizeof(int32_t));
        both_release(b);
        s->table[j] = b = copy;
        if (both_prepare_write(b) != KVB_WRITE_OK) diverge("prepare_write of a fresh copy", 1, 0);
    }
    content[b][slot] = token;
    s->tokens[p] = token;
    s->n_tokens++;
    return 1;
}

static void sim_check_content(const int32_t *tokens, const int32_t *blocks, int32_t count, int64_t n_matched) {
    for (int32_t j = 0; j < count; j++) {
        int64_t start = (int64_t)j * ref.bs, len = n_matched - start < ref.bs ? n_matched - start : ref.bs;
        for (int64_t i = 0; i < len; i++) {
            if (content[blocks[j]][i] != tokens[start + i]) {
                th_checks++;
                TH_FAIL("matched block %d slot %lld holds %d, the prompt has %d", (int)blocks[j], (long long)i,
                        (int)content[blocks[j]][i], (int)tokens[start + i]);
                diverged = 1;
                return;
            }
        }
    }
}

/* A prompt: most often a prefix of an earlier sequence plus a short new tail. */
static int64_t sim_prompt(int32_t *prompt) {
    int64_t n = 0;
    if (n_library > 0 && rand_below(10) < 7) {
        int k = (int)rand_below(n_library);
        n = rand_below(library_len[k] + 1);
        memcpy(prompt, library[k], (size_t)n * sizeof(int32_t));
    }
    int64_t tail = rand_below(2 * ref.bs + 1);
    if (n + tail == 0) tail = 1;
    while (tail-- > 0 && n < SIM_MAX_TOKENS) prompt[n++] = 1 + (int32_t)rand_below(vocab);
    return n;
}

static void sim_start(sim_seq *s) {
    int32_t prompt[SIM_MAX_TOKENS], blocks[SIM_MAX_SEQ_BLOCKS];
    int64_t n = sim_prompt(prompt), n_matched = 0;
    int32_t max_blocks = rand_below(8) == 0 ? (int32_t)rand_below(SIM_MAX_SEQ_BLOCKS + 1) : SIM_MAX_SEQ_BLOCKS;
    int32_t count = both_match(prompt, n, max_blocks, blocks, &n_matched);
    if (diverged) return;
    sim_check_content(prompt, blocks, count, n_matched);
    s->active = 1;
    memcpy(s->table, blocks, (size_t)count * sizeof(int32_t));
    s->n_blocks = count;
    memcpy(s->tokens, prompt, (size_t)n_matched * sizeof(int32_t));
    s->n_tokens = n_matched;
    for (int64_t i = n_matched; i < n && !diverged; i++) {
        if (!sim_append(s, prompt[i])) {
            stats.preemptions++;
            sim_finish(s, 0);
            return;
        }
    }
}

/* Registers the sequence's blocks in order, as the engine does after a step; sometimes a shorter
 * run of the last block first (so a later call re-registers it longer), sometimes a wrong parent. */
static void sim_register(sim_seq *s) {
    const int32_t bs = ref.bs;
    for (int32_t j = 0; j < s->n_blocks && !diverged; j++) {
        int64_t start = (int64_t)j * bs;
        if (start >= s->n_tokens) break;
        int32_t n = s->n_tokens - start < bs ? (int32_t)(s->n_tokens - start) : bs;
        if (n < bs && rand_below(3) == 0) break;
        int32_t parent = j == 0 ? -1 : s->table[j - 1];
        if (rand_below(50) == 0) parent = (int32_t)rand_below(ref.num_blocks + 1) - 1;
        if (rand_below(6) == 0 && n > 1) n = 1 + (int32_t)rand_below(n);
        both_register(s->table[j], parent, s->tokens + start, n);
    }
}

static void sim_step(void) {
    sim_seq *s = &seqs[rand_below(SIM_SEQS)];
    int64_t r = rand_below(100);
    if (!s->active) {
        if (r < 60) sim_start(s);
        else if (r < 75 && n_pinned < SIM_PINNED) {
            int32_t b = both_alloc();
            if (b >= 0) pinned[n_pinned++] = b;
        } else if (n_pinned > 0) {
            int k = (int)rand_below(n_pinned);
            both_release(pinned[k]);
            pinned[k] = pinned[--n_pinned];
        }
        return;
    }
    if (r < 45) {
        int64_t k = 1 + rand_below(ref.bs + 2);
        while (k-- > 0 && !diverged) {
            if (!sim_append(s, 1 + (int32_t)rand_below(vocab))) {
                if (s->n_tokens >= SIM_MAX_TOKENS || s->n_blocks == SIM_MAX_SEQ_BLOCKS) {
                    sim_finish(s, 1);
                } else {
                    stats.preemptions++;
                    sim_finish(s, 0);
                }
                return;
            }
        }
    } else if (r < 80) {
        sim_register(s);
    } else if (r < 95) {
        sim_register(s);
        sim_finish(s, 1);
    } else {
        sim_finish(s, rand_below(2));
    }
}

static void run_differential(int32_t num_blocks, int32_t bs, int32_t vocab_size, int64_t steps, uint64_t seed) {
    th_seed(seed);
    ref_init(num_blocks, bs);
    memset(seqs, 0, sizeof seqs);
    memset(content, 0xff, sizeof content);
    n_library = n_pinned = 0;
    vocab = vocab_size;
    diverged = 0;
    dut = new_pool(num_blocks, bs);
    if (dut == NULL) return;
    for (int64_t i = 0; i < steps && !diverged; i++) sim_step();
    for (int k = 0; k < SIM_SEQS && !diverged; k++)
        if (seqs[k].active) sim_finish(&seqs[k], 0);
    while (n_pinned > 0 && !diverged) both_release(pinned[--n_pinned]);
    if (diverged)
        printf("  diverged: num_blocks %d, block_size %d, seed %llu\n", (int)num_blocks, (int)bs,
               (unsigned long long)seed);
    else
        check_all_returned(dut);
    kvb_free(dut);
    dut = NULL;
}

static void test_differential(void) {
    const struct { int32_t num_blocks, bs, vocab; int64_t steps; } configs[] = {
        {1, 1, 2, 5000},   {2, 2, 2, 10000},  {3, 1, 3, 10000},  {5, 3, 2, 20000},
        {12, 4, 3, 30000}, {24, 2, 2, 30000}, {32, 4, 2, 35000}, {48, 8, 3, 30000},
        {96, 5, 2, 30000},
    };
    memset(&stats, 0, sizeof stats);
    int64_t steps = 0;
    for (size_t i = 0; i < sizeof configs / sizeof configs[0]; i++) {
        run_differential(configs[i].num_blocks, configs[i].bs, configs[i].vocab, configs[i].steps, 0x5eed0000u + i);
        steps += configs[i].steps;
    }
    printf("  %lld steps, %lld pool calls compared: %lld matches (%lld blocks, %lld of 3+ blocks, "
           "%lld ending in a partial), %lld evictions, %lld copies, %lld writes that unregistered, "
           "%lld registrations (%lld longer runs, %lld keys already taken), %lld preemptions\n",
           (long long)steps, (long long)stats.ops, (long long)stats.matches, (long long)stats.matched_blocks,
           (long long)stats.deep_matches, (long long)stats.partial_matches, (long long)stats.evictions,
           (long long)stats.copies, (long long)stats.unregistered_writes, (long long)stats.register_ok,
           (long long)stats.register_longer, (long long)stats.register_taken, (long long)stats.preemptions);
    /* The walk must reach every path, or the comparison above proves little. */
    CHECK(stats.partial_matches > 100);
    CHECK(stats.deep_matches > 100);
    CHECK(stats.evictions > 100);
    CHECK(stats.copies > 100);
    CHECK(stats.unregistered_writes > 100);
    CHECK(stats.register_longer > 100);
    CHECK(stats.register_taken > 100);
    CHECK(stats.preemptions > 10);
}

int main(void) {
    RUN(test_create_errors);
    RUN(test_full_chain_match);
    RUN(test_partial_longest);
    RUN(test_stale_child);
    RUN(test_lru_order);
    RUN(test_reregister_longer);
    RUN(test_register_rules);
    RUN(test_prepare_write);
    RUN(test_single_block);
    RUN(test_differential);
    return th_finish();
}
