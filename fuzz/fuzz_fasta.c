/*
 * fuzz_fasta.c — libFuzzer target for ax_fasta_parse and the record reader.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "fuzz_parsers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ax_fasta *fasta = (ax_fasta *)&fasta;
    const ax_status st = ax_fasta_parse((const char *)data, size, "fuzz", &fasta);
    fuzz_check_status(st, fasta);
    if (st == AX_OK) {
        for (int64_t i = 0; i < fasta->num_records; i++)
            if ((int64_t)strlen(fasta->sequences[i]) != fasta->lengths[i]) __builtin_trap();
        ax_fasta_destroy(fasta);
    }
    ax_fasta_reader *reader = NULL;
    if (ax_fasta_reader_open_memory((const char *)data, size, "fuzz", &reader) != AX_OK) __builtin_trap();
    ax_fasta_record record;
    int has_record = 1;
    while (has_record && ax_fasta_reader_next(reader, &record, &has_record) == AX_OK) {
    }
    ax_fasta_reader_close(reader);
    return 0;
}
