/*
 * fuzz_mmcif.c — libFuzzer target for ax_mmcif_parse (the CIF tokenizer included): the error contract and the
 * parsed result's invariants (fuzz_parsers.h).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "fuzz_parsers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_structure(ax_mmcif_parse, data, size); }
