/*
 * kv_blocks.h — the host-side bookkeeping of the serving engine's blocked KV cache (internal): a
 * pool of num_blocks blocks of block_size token slots, reference counts, a free list, and a prefix
 * index so that sequences whose prompts start alike share the blocks that hold those tokens.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 *
 * This file knows nothing of the device memory: a block id b names slots [b * block_size,
 * (b + 1) * block_size) of every layer's K and V cache, which the engine owns. Not thread-safe: the
 * engine's step thread is the only user.
 *
 * Block states:
 *   free      refcount 0, not in the index: on the free list.
 *   cached    refcount 0, in the index: holds a reusable prefix; kept in LRU order and taken (evicted
 *             from the index) only when the free list is empty.
 *   used      refcount >= 1 (in the index or not).
 *
 * The prefix index. A block registered with kvb_register holds the KV of n tokens (1 <= n <=
 * block_size, the first n slots) that follow a known prefix: its key is (parent uid, n, the n token
 * ids), where the parent uid is the uid of the registered block holding the previous block_size
 * tokens (0 for the sequence's first block). Every registration gets a fresh 64-bit uid (never
 * reused), so a key can never match a block whose parent was evicted and refilled. Lookups compare
 * the token ids themselves (no trust in the hash alone).
 *
 * Writing: a registered block's first n slots are immutable while registered. Before the engine
 * writes any slot of a block it calls kvb_prepare_write: a block that is registered and has other
 * holders (refcount > 1) must be copied (copy-on-write: the caller gets a fresh block, copies the
 * slots, and swaps it into its table); a registered block with refcount 1 is unregistered (its
 * content is about to change, so it can no longer be shared).
 */
#ifndef AXIAL_SERVING_KV_BLOCKS_H
#define AXIAL_SERVING_KV_BLOCKS_H

#include <stdint.h>

#include "axial/axial.h"

typedef struct kvb_pool kvb_pool;

/* A pool of num_blocks (1 .. INT32_MAX: block ids are int32) blocks of block_size (>= 1) slots, every
 * block free. Errors: AX_ERR_INVALID_ARGUMENT (also when num_blocks * block_size token slots overflow),
 * AX_ERR_OUT_OF_MEMORY (message set with ax_set_error). */
ax_status kvb_create(int64_t num_blocks, int32_t block_size, kvb_pool **out);
void kvb_free(kvb_pool *pool);

int64_t kvb_num_blocks(const kvb_pool *pool);
int32_t kvb_block_size(const kvb_pool *pool);
/* Blocks that kvb_alloc can still hand out: free + cached. */
int64_t kvb_available(const kvb_pool *pool);
int64_t kvb_used(const kvb_pool *pool);     /* refcount >= 1 */
int64_t kvb_cached(const kvb_pool *pool);   /* refcount 0, in the index */
int32_t kvb_refcount(const kvb_pool *pool, int32_t block); /* -1 for an id out of range */

/* Takes a block with refcount 1: from the free list (most recently freed first; a fresh pool hands
 * out 0, 1, 2, ...), else the least recently released cached block (dropped from the index). -1 when
 * none is available. */
int32_t kvb_alloc(kvb_pool *pool);
/* Adds a holder. */
void kvb_retain(kvb_pool *pool, int32_t block);
/* Drops a holder; at 0 a registered block becomes cached (most recent), any other becomes free.
 * Misuse is ignored, never fatal: ids out of range (retain, release), a release without holders. */
void kvb_release(kvb_pool *pool, int32_t block);

/* Walks the index along tokens[0 .. n): for i = 0, 1, ..., looks for the block holding
 * tokens[i*bs .. min((i+1)*bs, n)) after the previous match, first as a full block (bs tokens; only
 * while (i+1)*bs <= n), else as the longest registered partial block whose m tokens equal
 * tokens[i*bs .. i*bs+m) (m < bs), which ends the walk. Every matched block is retained (a cached one
 * becomes used) and written to blocks[0 ..); returns the number of matched blocks and *n_matched the
 * tokens they hold (full blocks * bs + the partial's m). max_blocks bounds the walk. Nothing is
 * retained when nothing matches. */
int32_t kvb_match(kvb_pool *pool, const int32_t *tokens, int64_t n, int32_t max_blocks, int32_t *blocks,
                  int64_t *n_matched);

/* Registers block `block` (held by the caller) as holding the n tokens tokens[0 .. n) (1 <= n <= bs)
 * after the block `parent` (-1 for a sequence's first block; the parent must be registered with bs
 * tokens, else nothing happens and 0 is returned; so does a block without holders, n out of range
 * or NULL tokens). When the key is already registered to another block nothing changes (the caller
 * keeps its own copy) and 0 is returned; a block already registered with fewer tokens is
 * re-registered with the longer run (a new uid; its old key disappears), one registered with as many
 * or more tokens under another key is left as it is (0). Returns 1 when the block is now registered
 * under this key. */
int kvb_register(kvb_pool *pool, int32_t block, int32_t parent, const int32_t *tokens, int32_t n);

/* Whether the block is in the index, and with how many tokens (0 when not). */
int32_t kvb_registered_tokens(const kvb_pool *pool, int32_t block);

typedef enum kvb_write_action {
    KVB_WRITE_OK = 0,    /* write in place */
    KVB_WRITE_COPY = 1   /* shared: allocate a block, copy, release this one, write the copy */
} kvb_write_action;

/* Called before writing any slot of `block` (held by the caller). A registered block with refcount 1
 * is unregistered here (its children stay in the index under their own keys; they can no longer be
 * reached) and KVB_WRITE_OK returned; a registered block with refcount > 1 gives KVB_WRITE_COPY; an
 * unregistered block gives KVB_WRITE_OK. An unregistered block with refcount > 1 cannot happen (only
 * kvb_match shares blocks, and only registered ones). A block without holders or an id out of range
 * gives KVB_WRITE_OK and changes nothing. */
kvb_write_action kvb_prepare_write(kvb_pool *pool, int32_t block);

/* Consistency check for tests: refcounts, free list, LRU and index agree. 0 when consistent, else
 * sets an AX_ERR_INTERNAL message describing the first inconsistency and returns 1. */
int kvb_check(const kvb_pool *pool);

#endif /* AXIAL_SERVING_KV_BLOCKS_H */
