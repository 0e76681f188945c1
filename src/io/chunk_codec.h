/*
 * chunk_codec.h — the bytes of one HDF5 chunk as the store's filter pipeline (shuffle, deflate,
 * Fletcher-32, in that order; see h5.c) would produce them, computed without HDF5 so that several
 * chunks can be encoded at once on different threads and handed to HDF5 ready-made
 * (H5Dwrite_chunk). Readers decode them with HDF5's own filters.
 *
 * Thread-safe: no global state; each thread brings its own work buffer.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_IO_CHUNK_CODEC_H
#define AXIAL_IO_CHUNK_CODEC_H

#include <stddef.h>
#include <stdint.h>

/* Output capacity for a chunk of `bytes` raw bytes. */
size_t ax_chunk_encoded_bound(size_t bytes);
/* Scratch needed by ax_chunk_encode for a chunk of `bytes` raw bytes. */
size_t ax_chunk_work_bytes(size_t bytes);

/* Encodes raw[0, bytes) holding elements of `elem` bytes: byte shuffle (HDF5's shuffle filter
 * layout; nothing to do for 1-byte elements), a zlib stream (deflate_rle.h), then the Fletcher-32
 * checksum of the compressed bytes, little-endian, as HDF5's Fletcher-32 filter appends it.
 * Returns the encoded size, or 0 if `cap` is too small. */
size_t ax_chunk_encode(const uint8_t *raw, size_t bytes, size_t elem, uint8_t *out, size_t cap, void *work);

/* HDF5's Fletcher-32: over 16-bit big-endian words, an odd last byte as the high half of a word.
 * Vectorised with AVX2 when the active CPU path allows (readers verify every chunk they fetch
 * directly); ax_fletcher32_portable is the plain loop, always available. Same results. */
uint32_t ax_fletcher32(const uint8_t *data, size_t len);
uint32_t ax_fletcher32_portable(const uint8_t *data, size_t len);

#endif
