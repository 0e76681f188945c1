/*
 * fuzz_a3m.c — libFuzzer target for ax_a3m_parse.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "axial/io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ax_msa *msa = (ax_msa *)&msa;
    const ax_status st = ax_a3m_parse((const char *)data, size, "fuzz", &msa);
    /* The contract: malformed input is AX_ERR_FORMAT with a located message and no result. */
    if (st != AX_OK && (st != AX_ERR_FORMAT || msa != NULL || strncmp(ax_last_error(), "fuzz:", 5) != 0))
        __builtin_trap();
    if (st != AX_OK) return 0;
    if (msa->num_rows < 1 || msa->num_cols < 1) __builtin_trap();
    for (int64_t i = 0; i < msa->num_rows * msa->num_cols; i++) {
        const char c = msa->residues[i];
        if (!((c >= 'A' && c <= 'Z') || c == '-') || msa->deletions[i] < 0) __builtin_trap();
    }
    ax_msa_destroy(msa);
    return 0;
}
