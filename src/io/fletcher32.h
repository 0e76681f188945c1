/*
 * fletcher32.h — HDF5's Fletcher-32 checksum, computed without HDF5: the store's column reader
 * (h5.c, read_columns_direct) fetches raw chunks with H5Dread_chunk, which skips the filter
 * pipeline, and verifies each chunk's checksum itself.
 *
 * Thread-safe: no global state.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_IO_FLETCHER32_H
#define AXIAL_IO_FLETCHER32_H

#include <stddef.h>
#include <stdint.h>

/* HDF5's Fletcher-32: over 16-bit big-endian words, an odd last byte as the high half of a word.
 * Vectorised with AVX2 when the active CPU path allows (readers verify every chunk they fetch
 * directly); ax_fletcher32_portable is the plain loop, always available. Same results. */
uint32_t ax_fletcher32(const uint8_t *data, size_t len);
uint32_t ax_fletcher32_portable(const uint8_t *data, size_t len);

#endif
