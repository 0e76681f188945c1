/*
 * fuzz_a3m.c — libFuzzer target for ax_a3m_parse: the error contract and the
 * parsed result's invariants (fuzz_parsers.h).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "fuzz_parsers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_msa(ax_a3m_parse, data, size); }
