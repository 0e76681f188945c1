/*
 * deflate_rle.c — see deflate_rle.h. Per 64 KiB block: (1) turn the bytes into symbols, literals
 * and runs of the previous byte (length 3..258 at distance 1), counting symbol frequencies; (2)
 * build length-limited Huffman codes; (3) write a dynamic-Huffman block, or a stored block when
 * that would be smaller. Format: RFC 1951 sections 3.2.3-3.2.7; zlib wrapper: RFC 1950.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "io/deflate_rle.h"

#include <string.h>
#include <zlib.h> /* adler32 only */

enum {
    BLOCK = 65535,    /* input bytes per deflate block (a stored block holds at most 65535) */
    LITLEN = 286,     /* literal/length alphabet: 0-255 bytes, 256 end of block, 257-285 lengths */
    END_OF_BLOCK = 256,
    NDIST = 2,        /* distance alphabet written: only code 0 (distance 1) is used; code 1
                         keeps the code complete, which every inflate accepts */
    CODELEN = 19,     /* code-length alphabet */
    MAX_BITS = 15,
    CODELEN_MAX_BITS = 7,
    MIN_RUN = 3,
    MAX_RUN = 258,
};

/* Length codes 257..285: first length of each code and its extra bits (RFC 1951, 3.2.5). */
static const uint16_t length_base[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                                         31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
static const uint8_t length_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                         2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
/* The order code-length code lengths are written in (RFC 1951, 3.2.7). */
static const uint8_t codelen_order[CODELEN] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};

/* ---- bit output (LSB first, as deflate packs bits) --------------------------------------------- */

typedef struct bits {
    uint8_t *out;
    size_t pos, cap;
    uint64_t acc; /* pending bits, the oldest in the low end */
    int count;    /* number of pending bits, < 32 between calls */
    int overflow;
} bits;

static inline void put_bits(bits *b, uint32_t value, int n) {
    b->acc |= (uint64_t)value << b->count;
    b->count += n;
    if (b->count >= 32) {
        if (b->pos + 4 <= b->cap) {
            const uint32_t word = (uint32_t)b->acc;
            b->out[b->pos] = (uint8_t)word;
            b->out[b->pos + 1] = (uint8_t)(word >> 8);
            b->out[b->pos + 2] = (uint8_t)(word >> 16);
            b->out[b->pos + 3] = (uint8_t)(word >> 24);
            b->pos += 4;
        } else {
            b->overflow = 1;
        }
        b->acc >>= 32;
        b->count -= 32;
    }
}

/* Writes out the pending bits, padding the last byte with zeros. */
static void align_bits(bits *b) {
    while (b->count > 0) {
        if (b->pos < b->cap) b->out[b->pos++] = (uint8_t)b->acc;
        else b->overflow = 1;
        b->acc >>= 8;
        b->count = b->count > 8 ? b->count - 8 : 0;
    }
    b->acc = 0;
}

static void put_bytes(bits *b, const uint8_t *src, size_t n) {
    if (b->pos + n > b->cap) {
        b->overflow = 1;
        return;
    }
    memcpy(b->out + b->pos, src, n);
    b->pos += n;
}

/* ---- Huffman codes ------------------------------------------------------------------------------ */

/* Code lengths for `n` symbols with frequencies `freq`, none longer than `limit`. Symbols with
 * frequency 0 get length 0. At least two symbols get a code (a one-symbol code would be
 * incomplete), so the result is always a complete prefix code. When the optimal tree is too deep
 * the frequencies are halved (zeros stay zero, others stay >= 1) and the tree rebuilt: each round
 * flattens the distribution, and equal frequencies give depth ceil(log2 n) <= limit. */
static void huffman_lengths(const uint32_t *freq_in, int n, int limit, uint8_t *len) {
    uint32_t freq[LITLEN];
    int sym[LITLEN];
    int m = 0;
    for (int s = 0; s < n; s++) {
        freq[s] = freq_in[s];
        len[s] = 0;
    }
    for (int s = 0; s < n && m < 2; s++)
        if (freq[s] > 0) m++;
    for (int s = 0; s < n && m < 2; s++)
        if (freq[s] == 0) {
            freq[s] = 1;
            m++;
        }
    for (;;) {
        m = 0;
        for (int s = 0; s < n; s++)
            if (freq[s] > 0) sym[m++] = s;
        /* Leaves by ascending frequency (insertion sort: at most 286 symbols, mostly ordered). */
        for (int i = 1; i < m; i++) {
            const int s = sym[i];
            int j = i;
            while (j > 0 && freq[sym[j - 1]] > freq[s]) {
                sym[j] = sym[j - 1];
                j--;
            }
            sym[j] = s;
        }
        /* Two-queue construction: nodes 0..m-1 are the sorted leaves, m..2m-2 the internal nodes,
         * which are created in non-decreasing weight order. */
        uint64_t weight[2 * LITLEN];
        int parent[2 * LITLEN];
        for (int i = 0; i < m; i++) weight[i] = freq[sym[i]];
        int leaf = 0, inner = m;
        for (int next = m; next < 2 * m - 1; next++) {
            int pick[2];
            for (int k = 0; k < 2; k++)
                pick[k] = leaf < m && (inner >= next || weight[leaf] <= weight[inner]) ? leaf++ : inner++;
            weight[next] = weight[pick[0]] + weight[pick[1]];
            parent[pick[0]] = parent[pick[1]] = next;
        }
        int depth[2 * LITLEN];
        depth[2 * m - 2] = 0;
        int deepest = 0;
        for (int i = 2 * m - 3; i >= 0; i--) {
            depth[i] = depth[parent[i]] + 1;
            if (i < m && depth[i] > deepest) deepest = depth[i];
        }
        if (deepest <= limit) {
            for (int i = 0; i < m; i++) len[sym[i]] = (uint8_t)depth[i];
            return;
        }
        for (int s = 0; s < n; s++)
            if (freq[s] > 0) freq[s] = (freq[s] >> 1) | 1u;
    }
}

/* Canonical codes for the lengths (RFC 1951, 3.2.2), bit-reversed because deflate sends Huffman
 * codes most significant bit first into its LSB-first stream. */
static void canonical_codes(const uint8_t *len, int n, uint16_t *code) {
    uint16_t count[MAX_BITS + 1] = {0}, next[MAX_BITS + 2];
    for (int s = 0; s < n; s++) count[len[s]]++;
    count[0] = 0;
    uint16_t c = 0;
    for (int b = 1; b <= MAX_BITS; b++) {
        c = (uint16_t)((c + count[b - 1]) << 1);
        next[b] = c;
    }
    for (int s = 0; s < n; s++) {
        const int l = len[s];
        if (l == 0) {
            code[s] = 0;
            continue;
        }
        uint16_t v = next[l]++, r = 0;
        for (int i = 0; i < l; i++) {
            r = (uint16_t)((r << 1) | (v & 1u));
            v >>= 1;
        }
        code[s] = r;
    }
}

/* ---- one block ----------------------------------------------------------------------------------- */

/* Length-code index (0..28) of a run length 3..258. */
static inline int length_index(int length) {
    int i = 28;
    while (length_base[i] > length) i--;
    return i;
}

/* The code-length sequence (literal/length lengths then distance lengths) as code-length symbols
 * with their extra bits: 16 repeats the previous length 3-6 times, 17 and 18 give 3-10 and 11-138
 * zeros. Returns the number of items. */
static int rle_code_lengths(const uint8_t *seq, int total, uint8_t *item, uint8_t *extra) {
    int k = 0;
    for (int i = 0; i < total;) {
        const uint8_t v = seq[i];
        int run = 1;
        while (i + run < total && seq[i + run] == v) run++;
        i += run;
        if (v == 0) {
            while (run >= 11) {
                const int r = run < 138 ? run : 138;
                item[k] = 18, extra[k++] = (uint8_t)(r - 11);
                run -= r;
            }
            if (run >= 3) {
                item[k] = 17, extra[k++] = (uint8_t)(run - 3);
                run = 0;
            }
        } else {
            item[k] = v, extra[k++] = 0;
            run--;
            while (run >= 3) {
                const int r = run < 6 ? run : 6;
                item[k] = 16, extra[k++] = (uint8_t)(r - 3);
                run -= r;
            }
        }
        for (; run > 0; run--) item[k] = v, extra[k++] = 0;
    }
    return k;
}

/* Writes src[0, n) (n <= BLOCK) as one block; `prev` is the byte before it (-1 at the start of
 * the stream, where no run can refer back). */
static void write_block(bits *b, const uint8_t *src, size_t n, int prev, int final, uint16_t *symbols) {
    uint32_t freq[LITLEN] = {0};
    size_t nsym = 0;
    /* (1) Symbols: a byte equal to the one before starts a run when at least MIN_RUN follow. */
    for (size_t i = 0; i < n;) {
        const uint8_t c = src[i];
        if ((int)c == prev) {
            size_t run = 1;
            const size_t most = n - i < MAX_RUN ? n - i : MAX_RUN;
            while (run < most && src[i + run] == c) run++;
            if (run >= MIN_RUN) {
                symbols[nsym++] = (uint16_t)(END_OF_BLOCK + run); /* 259..514: a run of run bytes */
                freq[257 + length_index((int)run)]++;
                i += run;
                continue;
            }
        }
        symbols[nsym++] = c;
        freq[c]++;
        prev = c;
        i++;
    }
    freq[END_OF_BLOCK] = 1;

    /* (2) Codes. */
    uint8_t litlen_len[LITLEN], dist_len[NDIST] = {1, 1};
    uint16_t litlen_code[LITLEN];
    huffman_lengths(freq, LITLEN, MAX_BITS, litlen_len);
    canonical_codes(litlen_len, LITLEN, litlen_code);
    int nlit = LITLEN;
    while (nlit > 257 && litlen_len[nlit - 1] == 0) nlit--;
    uint8_t seq[LITLEN + NDIST];
    memcpy(seq, litlen_len, (size_t)nlit);
    memcpy(seq + nlit, dist_len, NDIST);
    uint8_t item[LITLEN + NDIST], extra[LITLEN + NDIST];
    const int nitems = rle_code_lengths(seq, nlit + NDIST, item, extra);
    uint32_t cl_freq[CODELEN] = {0};
    for (int i = 0; i < nitems; i++) cl_freq[item[i]]++;
    uint8_t cl_len[CODELEN];
    uint16_t cl_code[CODELEN];
    huffman_lengths(cl_freq, CODELEN, CODELEN_MAX_BITS, cl_len);
    canonical_codes(cl_len, CODELEN, cl_code);
    int ncl = CODELEN;
    while (ncl > 4 && cl_len[codelen_order[ncl - 1]] == 0) ncl--;

    /* Size of the Huffman block in bits against a stored one (header, alignment, LEN/NLEN). */
    uint64_t huff_bits = 3 + 5 + 5 + 4 + 3 * (uint64_t)ncl;
    static const uint8_t cl_extra_bits[3] = {2, 3, 7};
    for (int i = 0; i < nitems; i++) huff_bits += cl_len[item[i]] + (item[i] >= 16 ? cl_extra_bits[item[i] - 16] : 0);
    for (int s = 0; s < LITLEN; s++)
        huff_bits += (uint64_t)freq[s] * (litlen_len[s] + (s >= 257 ? length_extra[s - 257] + 1u : 0u));
    const uint64_t stored_bits = 3 + 7 + 32 + 8 * (uint64_t)n;
    if (huff_bits >= stored_bits) {
        put_bits(b, (uint32_t)final, 3); /* BTYPE 00 */
        align_bits(b);
        const uint8_t header[4] = {(uint8_t)n, (uint8_t)(n >> 8), (uint8_t)~n, (uint8_t)(~n >> 8)};
        put_bytes(b, header, 4);
        put_bytes(b, src, n);
        return;
    }

    /* (3) The dynamic block. */
    put_bits(b, (uint32_t)final | (2u << 1), 3);
    put_bits(b, (uint32_t)(nlit - 257), 5);
    put_bits(b, NDIST - 1, 5);
    put_bits(b, (uint32_t)(ncl - 4), 4);
    for (int i = 0; i < ncl; i++) put_bits(b, cl_len[codelen_order[i]], 3);
    for (int i = 0; i < nitems; i++) {
        put_bits(b, cl_code[item[i]], cl_len[item[i]]);
        if (item[i] >= 16) put_bits(b, extra[i], cl_extra_bits[item[i] - 16]);
    }
    const uint32_t dist1 = 0; /* distance code 0 (distance 1), a 1-bit code of value 0 */
    for (size_t i = 0; i < nsym; i++) {
        const unsigned s = symbols[i];
        if (s < END_OF_BLOCK) {
            put_bits(b, litlen_code[s], litlen_len[s]);
        } else {
            const int run = (int)s - END_OF_BLOCK, li = length_index(run);
            put_bits(b, litlen_code[257 + li], litlen_len[257 + li]);
            /* extra length bits, then the 1-bit distance code: together at most 6 bits */
            put_bits(b, (uint32_t)(run - length_base[li]) | (dist1 << length_extra[li]), length_extra[li] + 1);
        }
    }
    put_bits(b, litlen_code[END_OF_BLOCK], litlen_len[END_OF_BLOCK]);
}

/* ---- the stream ---------------------------------------------------------------------------------- */

size_t ax_deflate_rle_bound(size_t n) {
    /* zlib header and Adler-32 (6), plus per block at worst a stored block's 5 header bytes and
     * one byte of alignment. */
    return n + 6 + 6 * (n / BLOCK + 1) + 8;
}

size_t ax_deflate_rle(const uint8_t *src, size_t n, uint8_t *dst, size_t cap, void *work) {
    if (cap < 8) return 0;
    /* CMF 0x78: deflate with a 32 KiB window; FLG 0x01: fastest-compression hint, no dictionary,
     * and (0x7801 % 31 == 0) the check bits. */
    dst[0] = 0x78;
    dst[1] = 0x01;
    bits b = {dst, 2, cap - 4, 0, 0, 0};
    if (n == 0) {
        put_bits(&b, 1, 3); /* a final stored block of length 0 */
        align_bits(&b);
        const uint8_t empty[4] = {0, 0, 0xff, 0xff};
        put_bytes(&b, empty, 4);
    }
    for (size_t start = 0; start < n && !b.overflow; start += BLOCK) {
        const size_t len = n - start < BLOCK ? n - start : BLOCK;
        write_block(&b, src + start, len, start == 0 ? -1 : src[start - 1], start + len == n, work);
    }
    align_bits(&b);
    if (b.overflow) return 0;
    uLong check = adler32(0L, Z_NULL, 0);
    for (size_t done = 0; done < n;) {
        const size_t step = n - done < (1u << 30) ? n - done : (1u << 30);
        check = adler32(check, src + done, (uInt)step);
        done += step;
    }
    dst[b.pos] = (uint8_t)(check >> 24);
    dst[b.pos + 1] = (uint8_t)(check >> 16);
    dst[b.pos + 2] = (uint8_t)(check >> 8);
    dst[b.pos + 3] = (uint8_t)check;
    return b.pos + 4;
}
