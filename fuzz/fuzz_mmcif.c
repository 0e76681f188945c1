/*
 * fuzz_mmcif.c — libFuzzer target for ax_mmcif_parse (the CIF tokenizer included).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "axial/io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Structural invariants every successful parse must keep; a violation is a bug. */
static void check_structure(const ax_structure *s) {
    if (s->num_chains < 1) __builtin_trap();
    for (int64_t c = 0; c < s->num_chains; c++) {
        const ax_chain *chain = &s->chains[c];
        if ((int64_t)strlen(chain->sequence) != chain->seq_len || chain->num_residues < 1) __builtin_trap();
        int64_t atoms = 0;
        for (int64_t r = 0; r < chain->num_residues; r++) {
            const ax_residue *res = &chain->residues[r];
            if (res->first_atom != atoms || res->num_atoms < 1 || res->seq_index >= chain->seq_len) __builtin_trap();
            if (res->seq_index >= 0 && !chain->resolved[res->seq_index]) __builtin_trap();
            atoms += res->num_atoms;
        }
        if (atoms != chain->num_atoms) __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ax_structure *s = (ax_structure *)&s;
    const ax_status st = ax_mmcif_parse((const char *)data, size, "fuzz", &s);
    /* The contract: malformed input is AX_ERR_FORMAT with a located message and no result. */
    if (st != AX_OK && (st != AX_ERR_FORMAT || s != NULL || strncmp(ax_last_error(), "fuzz:", 5) != 0))
        __builtin_trap();
    if (st != AX_OK) return 0;
    check_structure(s);
    ax_structure_destroy(s);
    return 0;
}
