/*
 * fuzz_parsers.h — the checks shared by the parser fuzz targets: the error contract every parser
 * keeps on malformed input, and the invariants of a parsed MSA and a parsed structure. Each target
 * is one LLVMFuzzerTestOneInput naming its parser.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_FUZZ_PARSERS_H
#define AXIAL_FUZZ_PARSERS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "axial/io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The contract: malformed input is AX_ERR_FORMAT with a located message and no result. */
static inline void fuzz_check_status(ax_status st, const void *result) {
    if (st != AX_OK && (st != AX_ERR_FORMAT || result != NULL || strncmp(ax_last_error(), "fuzz:", 5) != 0))
        __builtin_trap();
}

typedef ax_status (*fuzz_msa_parser)(const char *buf, size_t len, const char *source_name, ax_msa **out);

static inline int fuzz_msa(fuzz_msa_parser parse, const uint8_t *data, size_t size) {
    ax_msa *msa = (ax_msa *)&msa; /* non-NULL: a failing parse must reset it */
    const ax_status st = parse((const char *)data, size, "fuzz", &msa);
    fuzz_check_status(st, msa);
    if (st != AX_OK) return 0;
    if (msa->num_rows < 1 || msa->num_cols < 1) __builtin_trap();
    for (int64_t i = 0; i < msa->num_rows * msa->num_cols; i++) {
        const char c = msa->residues[i];
        if (!((c >= 'A' && c <= 'Z') || c == '-') || msa->deletions[i] < 0) __builtin_trap();
    }
    ax_msa_destroy(msa);
    return 0;
}

typedef ax_status (*fuzz_structure_parser)(const char *buf, size_t len, const char *source_name,
                                           ax_structure **out);

/* Structural invariants every successful parse must keep; a violation is a bug. */
static inline void fuzz_check_structure(const ax_structure *s) {
    if (s->num_chains < 1) __builtin_trap();
    for (int64_t c = 0; c < s->num_chains; c++) {
        const ax_chain *chain = &s->chains[c];
        if ((int64_t)strlen(chain->sequence) != chain->seq_len || chain->num_residues < 1) __builtin_trap();
        /* A polymer type exactly when there is a polymer. */
        if ((chain->seq_len > 0) != (chain->polymer_type != AX_POLYMER_NONE) ||
            (int)chain->polymer_type < 0 || chain->polymer_type > AX_POLYMER_OTHER)
            __builtin_trap();
        int64_t atoms = 0;
        for (int64_t r = 0; r < chain->num_residues; r++) {
            const ax_residue *res = &chain->residues[r];
            if (res->first_atom != atoms || res->num_atoms < 1 || res->seq_index >= chain->seq_len) __builtin_trap();
            if (res->seq_index >= 0 && !chain->resolved[res->seq_index]) __builtin_trap();
            if (res->one_letter != 'X' && strchr("ACDEFGHIKLMNPQRSTVWY", res->one_letter) == NULL) __builtin_trap();
            atoms += res->num_atoms;
        }
        if (atoms != chain->num_atoms) __builtin_trap();
    }
}

static inline int fuzz_structure(fuzz_structure_parser parse, const uint8_t *data, size_t size) {
    ax_structure *s = (ax_structure *)&s; /* non-NULL: a failing parse must reset it */
    const ax_status st = parse((const char *)data, size, "fuzz", &s);
    fuzz_check_status(st, s);
    if (st != AX_OK) return 0;
    fuzz_check_structure(s);
    ax_structure_destroy(s);
    return 0;
}

#endif /* AXIAL_FUZZ_PARSERS_H */
