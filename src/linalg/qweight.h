/*
 * qweight.h — the 16-row interleaved layout of ax_qweight (linalg.h), shared by the packer
 * (qweight.c) and the CPU kernels (cpu/qmm_packed.h). Never installed.
 *
 * A (N, K) matrix of q4_0, q4_1 or q8_0 (N a multiple of 16) is stored as tiles: tile (r, b) holds
 * block b (elements 32 b .. 32 b + 31) of rows 16 r .. 16 r + 15 and lies at byte
 * ((r * K/32) + b) * 16 * block_bytes, so the layout takes exactly the GGUF bytes. In a tile:
 *   levels first, in 64-byte chunks, row i's 4 bytes at 4 i in each chunk (a row per 32-bit lane):
 *     q4_0, q4_1: chunk p (0..3), byte 4 i + t: low nibble = level 8 p + t, high nibble = level
 *                 8 p + 4 + t (levels 0..15 as GGUF stores them);
 *     q8_0:       chunk j (0..7), byte 4 i + t = level 4 j + t + 128 (unsigned);
 *   then the 16 rows' fp16 d, then (q4_1) the 16 rows' fp16 m.
 * Level k of a GGUF q4 block is the low nibble of qs[k] for k < 16, the high nibble of qs[k - 16]
 * otherwise.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_LINALG_QWEIGHT_H
#define AXIAL_LINALG_QWEIGHT_H

#include <stdint.h>
#include <string.h>

#include "axial/axial.h"
#include "core/dtype_traits.h"

#define AX_QW_ROWS 16

/* 1 for the dtypes the layout covers. */
static inline int ax_qw_dtype_ok(ax_dtype dt) { return dt == AX_Q4_0 || dt == AX_Q4_1 || dt == AX_Q8_0; }

/* Bytes of a tile's levels (its scales follow). */
static inline int64_t ax_qw_level_bytes(ax_dtype dt) { return dt == AX_Q8_0 ? 512 : 256; }

/* Level k (0..31) of a GGUF block's quant bytes qs, as an unsigned byte (q8_0: + 128). */
static inline uint8_t ax_qw_level(ax_dtype dt, const uint8_t *qs, int k) {
    if (dt == AX_Q8_0) return (uint8_t)(qs[k] ^ 0x80);
    return k < 16 ? (uint8_t)(qs[k] & 15) : (uint8_t)(qs[k - 16] >> 4);
}

/* One GGUF block into lane i of a tile. */
static inline void ax_qw_block_to_tile(ax_dtype dt, const uint8_t *blk, int64_t i, uint8_t *tile) {
    const int64_t hb = dt == AX_Q4_1 ? 4 : 2, lv = ax_qw_level_bytes(dt);
    const uint8_t *qs = blk + hb;
    if (dt == AX_Q8_0) {
        for (int j = 0; j < 8; j++)
            for (int t = 0; t < 4; t++) tile[64 * j + 4 * i + t] = ax_qw_level(dt, qs, 4 * j + t);
    } else {
        for (int p = 0; p < 4; p++)
            for (int t = 0; t < 4; t++)
                tile[64 * p + 4 * i + t] =
                    (uint8_t)(ax_qw_level(dt, qs, 8 * p + t) | ax_qw_level(dt, qs, 8 * p + 4 + t) << 4);
    }
    memcpy(tile + lv + 2 * i, blk, 2);                                /* d */
    if (dt == AX_Q4_1) memcpy(tile + lv + 32 + 2 * i, blk + 2, 2); /* m */
}

/* Lane i of a tile back into one GGUF block (the inverse of ax_qw_block_to_tile). */
static inline void ax_qw_tile_to_block(ax_dtype dt, const uint8_t *tile, int64_t i, uint8_t *blk) {
    const int64_t hb = dt == AX_Q4_1 ? 4 : 2, lv = ax_qw_level_bytes(dt);
    uint8_t *qs = blk + hb;
    if (dt == AX_Q8_0) {
        for (int j = 0; j < 8; j++)
            for (int t = 0; t < 4; t++) qs[4 * j + t] = (uint8_t)(tile[64 * j + 4 * i + t] ^ 0x80);
    } else {
        uint8_t lvl[32];
        for (int p = 0; p < 4; p++)
            for (int t = 0; t < 4; t++) {
                const uint8_t v = tile[64 * p + 4 * i + t];
                lvl[8 * p + t] = v & 15;
                lvl[8 * p + 4 + t] = v >> 4;
            }
        for (int k = 0; k < 16; k++) qs[k] = (uint8_t)(lvl[k] | lvl[k + 16] << 4);
    }
    memcpy(blk, tile + lv + 2 * i, 2);
    if (dt == AX_Q4_1) memcpy(blk + 2, tile + lv + 32 + 2 * i, 2);
}

#endif /* AXIAL_LINALG_QWEIGHT_H */
