/*
 * shard.c — the shard rule (larger shards first), public and MPI-free so every build has it.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "axial/comm.h"
#include "core/internal.h"

ax_status ax_shard_range(int64_t length, int64_t parts, int64_t index, int64_t *offset, int64_t *count) {
    if (length < 0) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "length: %lld is negative", (long long)length);
    if (parts < 1) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "parts: %lld, expected at least 1", (long long)parts);
    if (index < 0 || index >= parts)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "index: %lld is outside [0, %lld)", (long long)index,
                            (long long)parts);
    const int64_t base = length / parts, larger = length % parts;
    if (offset != NULL) *offset = index * base + (index < larger ? index : larger);
    if (count != NULL) *count = base + (index < larger ? 1 : 0);
    return AX_OK;
}
