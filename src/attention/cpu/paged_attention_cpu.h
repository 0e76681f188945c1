/*
 * paged_attention_cpu.h — how the CPU paged-attention kernel (paged_attention.isa.inc) cuts its work
 * and carves its host workspace, shared with the workspace function in paged_attention.c so the two
 * always agree. Never installed.
 *
 * Work: a sequence's query rows are cut into tiles of `qt` queries; one unit is (tile, KV head,
 * split) and covers the qt * group query rows (query i, head h) that read that KV head, so each key
 * block is converted and read once for all of them. The host workspace is
 *
 *   [tiles: max_tiles paged_cpu_tile] [partials: T * H * splits * (D + 2) floats, splits > 1 only]
 *   [per thread: q rows (rows x dp) | acc rows (rows x dp) | m, l (2 x rows) | scores (sp) |
 *                K and V block tiles (2 x block_size x dp, for caches that are not f32)]
 *
 * with dp = D rounded up to 16 and sp = block_size rounded up to 16, every piece 64-byte aligned.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_ATTENTION_PAGED_ATTENTION_CPU_H
#define AXIAL_ATTENTION_PAGED_ATTENTION_CPU_H

#include <stdint.h>

#include "attention/attention_params.h"
#include "core/op.h"

/* The kernel, one build per path (paged_attention.isa.inc). */
AX_DECLARE_CPU_KERNELS(paged_attention_cpu);

typedef struct paged_cpu_tile {
    int64_t seq;      /* sequence s */
    int64_t i0, nq;   /* first query (counted within the sequence) and count */
} paged_cpu_tile;

typedef struct paged_cpu_layout {
    int64_t qt;        /* queries per tile */
    int64_t rows;      /* most query rows of one unit: qt * group */
    int64_t dp, sp;    /* D and block_size rounded up to 16 */
    int64_t max_tiles; /* a bound on the tiles of any batch of T queries in num_seqs sequences */
    int64_t off_partials, off_threads, per_thread;
    int64_t off_q, off_acc, off_ml, off_s, off_kt, off_vt; /* within a thread's slice */
    int64_t total;     /* bytes, or -1 when the sizes overflow */
} paged_cpu_layout;

/* About 32 query rows per unit: enough rows to reuse each converted key block, few enough that
 * their accumulators stay in L1/L2. */
static inline int64_t paged_cpu_queries_per_tile(int64_t group) { return group >= 32 ? 1 : 32 / group; }

static inline paged_cpu_layout paged_cpu_layout_of(const paged_attn_params *p, int64_t threads, int32_t splits) {
    paged_cpu_layout L;
    L.qt = paged_cpu_queries_per_tile(p->group);
    L.rows = L.qt * p->group;
    L.dp = (p->D + 15) / 16 * 16;
    L.sp = (p->block_size + 15) / 16 * 16;
    L.max_tiles = p->T / L.qt + p->num_seqs + 1;
    const int64_t f = (int64_t)sizeof(float);
    int64_t off = ax_ws_round(L.max_tiles * (int64_t)sizeof(paged_cpu_tile));
    L.off_partials = off;
    /* Doubles, so a product too large for int64 shows as a number past the limit below. */
    const double partials = splits > 1 ? (double)p->T * (double)p->H * splits * (double)(p->D + 2) * f : 0.0;
    const double per_thread = (2.0 * L.rows * L.dp + 2.0 * L.rows + L.sp + 2.0 * p->block_size * L.dp) * f + 6 * 64;
    if (partials + (double)threads * per_thread + (double)off > 4.0e18) {
        L.total = -1;
        return L;
    }
    off += ax_ws_round((int64_t)partials);
    L.off_threads = off;
    int64_t t = 0;
    L.off_q = t, t += ax_ws_round(L.rows * L.dp * f);
    L.off_acc = t, t += ax_ws_round(L.rows * L.dp * f);
    L.off_ml = t, t += ax_ws_round(2 * L.rows * f);
    L.off_s = t, t += ax_ws_round(L.sp * f);
    const int quantized_or_narrow = p->cache_dtype != AX_F32;
    L.off_kt = t, t += quantized_or_narrow ? ax_ws_round(p->block_size * L.dp * f) : 0;
    L.off_vt = t, t += quantized_or_narrow ? ax_ws_round(p->block_size * L.dp * f) : 0;
    L.per_thread = t;
    L.total = off + threads * t;
    return L;
}

#endif /* AXIAL_ATTENTION_PAGED_ATTENTION_CPU_H */
