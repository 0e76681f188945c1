/*
 * attention.h — transformer attention on Axial tensors: flash attention (causal, sliding window,
 * GQA/MQA, packed variable-length batches, additive bias, logit soft-cap) forward and backward, and
 * paged attention over a blocked KV cache for serving, with the op that appends K/V rows to it.
 * CPU and CUDA; never materialises the Sq x Sk logits.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 *
 * Conventions are those of axial.h (status codes, ax_last_error, caller-owned tensors, strides in
 * elements). See docs/attention.md for the semantics in prose and measured performance.
 *
 * Semantics, for batch b, query head h (KV head g = h / (H / Hkv)), query i, key j:
 *
 *     s[j]   = q[b,i,h,:] . k[b,j,g,:] * scale
 *     s[j]   = softcap * tanh(s[j] / softcap)                 (only when softcap > 0)
 *     s[j]   = s[j] + bias[b,h,i,j]                           (only when a bias is given)
 *     s[j]   = -inf where (i, j) is masked (causal, window)
 *     out[b,i,h,:] = sum_j softmax_j(s)[j] * v[b,j,g,:]
 *     lse[b,h,i]   = log(sum_j exp(s[j]))
 *
 * Masks are aligned bottom-right, as FlashAttention >= 2.1: query i sits at key position
 * p = i + Sk - Sq. With window (left, right), key j is kept when p - left <= j <= p + right, a
 * negative side meaning unbounded; causal is right = 0. A query row with every key masked gives
 * out = 0 and lse = -inf, and contributes nothing to any gradient (no NaN). A NaN logit at a key the
 * row sees (NaN in q, k or the bias, or inf - inf from a +inf bias) makes that row's out and lse NaN,
 * as in PyTorch; a NaN in q, k or the bias at a masked key never reaches out or lse (in the
 * backward, dq = dS . k still multiplies a masked key's zero by its k, so a NaN or infinite k there
 * gives NaN in dq, as in any matrix product). An infinite or NaN v at a masked key can reach out:
 * its probability 0 times inf is NaN in the P . v product, as in PyTorch and FlashAttention, for
 * the rows that share its key tile (tiles differ by backend) and see some key (a row with every key
 * masked is written as 0). The backward's dS is exactly 0 where P is 0, so such a v
 * reaches no gradient given an out without it; given that NaN out, the row's gradients are NaN
 * (the backward reads out: delta = rowsum(dout * out)).
 *
 * Packed variable-length batches: q (Tq, H, D), k and v (Tk, Hkv, D), out like q, and int32
 * cu_seqlens_q, cu_seqlens_k of length B + 1 (non-decreasing, starting at 0, ending at most at Tq /
 * Tk): sequence b holds query rows cu_seqlens_q[b] .. cu_seqlens_q[b+1]-1 and key rows likewise, Sq
 * and Sk above being that sequence's lengths. lse is then (H, Tq). Query rows past cu_seqlens_q[B]
 * are not touched (out and dq keep their bytes), key rows past cu_seqlens_k[B] get dk = dv = 0.
 */
#ifndef AXIAL_ATTENTION_H
#define AXIAL_ATTENTION_H

#include "axial/axial.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Options shared by the attention ops. Start from ax_attention_options_default() (window -1/-1,
 * unbounded; everything else 0), then set what differs. Not zero-initialisable: zeroed windows are
 * window (0, 0), a query that sees only the key at its own position. */
typedef struct ax_attention_options {
    int causal;            /* 1: causal (window right = 0), aligned bottom-right; 0: not */
    int64_t window_left;   /* keys before a query's position it may see; -1 = unbounded */
    int64_t window_right;  /* keys after it; -1 = unbounded. causal with window_right > 0 is an error */
    float scale;           /* multiplies q.k; 0 means the default 1 / sqrt(D); else finite and > 0 */
    float softcap;         /* > 0: soft-cap the scaled logits; 0: none; negative, non-finite or so small that
                              1 / softcap overflows is an error */
    /* Packed batches: both NULL (padded batches) or both set, int32, length B + 1, on the context's
     * device. On CPU their values are checked (non-decreasing, from 0, within Tq / Tk); on CUDA the
     * host never reads them (no synchronisation), so they are trusted, and a sequence reaching past
     * Tq / Tk is clipped to it rather than read out of bounds (ax_attention_check_cu_seqlens checks
     * host copies). */
    const ax_tensor *cu_seqlens_q;
    const ax_tensor *cu_seqlens_k;
    /* Packed batches on CUDA: the longest sequence lengths (they size the grid without reading
     * cu_seqlens). 0 = Tq / Tk, always safe, at the cost of idle blocks. Trusted: a sequence longer
     * than them is cut to its first max_seqlen_q queries / max_seqlen_k keys (what it loses is
     * unspecified, but nothing is read or written out of bounds). A packed bias must cover them.
     * Ignored on CPU, where the lengths are measured from cu_seqlens. Negative: an error. */
    int64_t max_seqlen_q, max_seqlen_k;
} ax_attention_options;

/* The options with window -1/-1 and every other field 0 (not causal, default scale, no soft-cap,
 * padded batches). */
AX_API ax_attention_options ax_attention_options_default(void);

/* Attention forward.
 *
 *   ax_context *ctx              CPU or CUDA context; every tensor on its device
 *   const ax_tensor *q           (B, Sq, H, D), or (Tq, H, D) packed
 *   const ax_tensor *k, *v       (B, Sk, Hkv, D), or (Tk, Hkv, D) packed; H % Hkv == 0
 *   const ax_tensor *bias        NULL, or 4-D broadcastable to (B, H, Sq, Sk): each dim equal or 1.
 *                                Packed batches: (B|1, H|1, max Sq|1, max Sk|1), element (b, h, i, j)
 *                                for query i and key j of sequence b (i, j counted within it)
 *   const ax_attention_options *opt  NULL for the defaults
 *   ax_tensor *out               like q
 *   ax_tensor *lse               NULL, or fp32 (B, H, Sq), or (H, Tq) packed
 *
 * Dtypes: q, k, v, out share one of f32, bf16, f16; bias that dtype or f32; lse f32. Accumulation in
 * fp32; out is rounded once. bf16 on a CPU with AVX512-BF16 (avx512 path): the probabilities are
 * rounded to bf16 before p.v, and in the backward p and dS before their products, as GPU tensor cores
 * take them (docs/attention.md; AXIAL_BF16=0 keeps them fp32). With AMX-BF16 too and D a multiple of
 * 32 the products run on AMX tiles, with the same rounding (ax_cpu_amx_tiles; AXIAL_AMX=0 turns
 * them off); each OpenMP thread of the call loads its tile configuration and releases the tile
 * state before the call returns, so a caller's own AMX code must configure again afterwards (as
 * oneDNN does before each use). Strides: any, except that the last dim
 * (D) of q, k, v, out and the bias are contiguous, and so are cu_seqlens_q / cu_seqlens_k (stride
 * 1); outputs must not overlap each other or an input.
 *
 * Limits: D >= 1 on the CPU; D <= 256 and a multiple of 8 on CUDA (else AX_ERR_UNSUPPORTED). For
 * 128 < D <= 256 the CUDA kernels need up to about 137 KB of shared memory per block: on GPUs that
 * give a block less (about 99 KB on sm_86 / sm_89: A10, L4, L40S, RTX 30xx and 40xx) the backward,
 * and a forward off the tensor cores (fp32, or rows not 16-byte aligned), are AX_ERR_UNSUPPORTED.
 * Memory: per-thread tiles on the CPU (host arena), none on CUDA beyond split-K partials; never
 * O(Sq x Sk). The CPU backward holds one sequence's keys (4 x Sk x D fp32) per thread, plus dq
 * partial sums when a batch has fewer (sequence, KV head) pairs than twice the threads (at most
 * 256 MiB) and one fp32 copy of a broadcast dbias per thread (docs/attention.md).
 *
 * Errors (before anything is written): AX_ERR_INVALID_ARGUMENT naming the argument and dimension
 * (NULL, ndim, shape, H % Hkv, dtype, device, stride, overlap, window/causal conflict, scale,
 * softcap, cu_seqlens values on CPU); AX_ERR_UNSUPPORTED (limits above); AX_ERR_OUT_OF_MEMORY
 * (workspace limit); AX_ERR_CUDA. CUDA: queued on the context's stream, no host synchronisation.
 * Thread-safe with distinct contexts. */
AX_API ax_status ax_attention_forward(ax_context *ctx, const ax_tensor *q, const ax_tensor *k, const ax_tensor *v,
                                      const ax_tensor *bias, const ax_attention_options *opt, ax_tensor *out,
                                      ax_tensor *lse);

/* Attention backward: the gradients of a loss L given dout = dL/dout, from the forward's out and lse
 * (the same q, k, v, bias and options).
 *
 *   q, k, v, bias, opt           as in the forward
 *   const ax_tensor *out         the forward's out
 *   const ax_tensor *lse         the forward's lse (required)
 *   const ax_tensor *dout        like out
 *   ax_tensor *dq, *dk, *dv      like q, k, v (for GQA, dk/dv sum over the heads sharing a KV head)
 *   ax_tensor *dbias             NULL, or bias's shape and dtype: dL/dbias summed over the
 *                                broadcast dims (bias must be given)
 *
 * Deterministic: no floating-point atomics; a fixed reduction order, so two runs with the same
 * build, inputs and thread count (CUDA: device model) give identical bits. Errors as the forward. */
AX_API ax_status ax_attention_backward(ax_context *ctx, const ax_tensor *q, const ax_tensor *k, const ax_tensor *v,
                                       const ax_tensor *bias, const ax_tensor *out, const ax_tensor *lse,
                                       const ax_tensor *dout, const ax_attention_options *opt, ax_tensor *dq,
                                       ax_tensor *dk, ax_tensor *dv, ax_tensor *dbias);

/* Checks host copies of a packed batch's cumulative lengths as ax_attention_forward and _backward do
 * on a CPU context (on CUDA they live on the device and are trusted: check them here where they are
 * built, before the upload):
 *   cu_seqlens_q, cu_seqlens_k  int32, batch + 1 entries each (host memory)
 *   tq, tk                       q's and k's dim 0 (total query and key rows)
 * Errors: AX_ERR_INVALID_ARGUMENT naming the array, the entry and the rule ("opt->cu_seqlens_k:
 * element 2 is 9, past Tk = 8"): element 0 not 0, decreasing, past Tq / Tk; NULL arrays or
 * batch < 0. Thread-safe. */
AX_API ax_status ax_attention_check_cu_seqlens(const int32_t *cu_seqlens_q, const int32_t *cu_seqlens_k, int64_t batch,
                                               int64_t tq, int64_t tk);

/* ------------------------------------------------------------------------------------------------
 * Paged attention (serving)
 *
 * The KV cache is a pool of fixed-size blocks: k_cache and v_cache (num_blocks, block_size, Hkv, D),
 * block_size >= 16. Sequence s owns the blocks block_table[s, 0 .. ceil(context_lens[s] /
 * block_size) - 1]; its token t lives in block block_table[s, t / block_size], row t % block_size.
 * context_lens[s] counts every token of the sequence including this step's new ones, whose K/V must
 * already be in the cache (ax_kv_cache_append). A step's queries are a ragged batch: q (T, H, D)
 * with int32 cu_seqlens_q (num_seqs + 1), sequence s owning query rows cu_seqlens_q[s] ..
 * cu_seqlens_q[s+1]-1, which are its LAST n_s tokens (positions context_lens[s] - n_s ..
 * context_lens[s] - 1). Any mix of prefill chunks (n_s > 1) and decode tokens (n_s = 1) runs in one
 * call, as a Dynamic SplitFuse step produces. Semantics are those of the forward above with Sq = n_s,
 * Sk = context_lens[s] (so causal is bottom-right aligned), no bias.
 *
 * Quantized caches: k_cache/v_cache of dtype i8 or f8_e4m3fn hold x / scale with one fp32 scale per
 * (block, KV head): k_scales and v_scales (num_blocks, Hkv) f32; NULL for float caches.
 * ---------------------------------------------------------------------------------------------- */

typedef struct ax_paged_attention_options {
    int causal;            /* 1 (the default from ax_paged_attention_options_default) or 0 */
    int64_t window_left, window_right; /* as ax_attention_options; -1 = unbounded */
    float scale;           /* 0: 1 / sqrt(D), rounded as ax_attention_forward's; else finite and > 0 */
    float softcap;         /* 0: none */
    /* Split-K (flash-decoding): the keys of one query row are cut into this many parts reduced
     * afterwards. 0 = chosen from the shape (long contexts with few queries split); 1 = never;
     * at most 64. */
    int32_t num_splits;
    /* CUDA: the largest n_s and context length in the batch (grid sizes without reading the index
     * tensors on the host). 0 = T and max_blocks * block_size. A max_seqlen_q below some n_s leaves
     * that sequence's later query rows unwritten. Ignored on CPU. Negative: an error. */
    int64_t max_seqlen_q, max_context_len;
} ax_paged_attention_options;

/* causal 1, window -1/-1, the rest 0. */
AX_API ax_paged_attention_options ax_paged_attention_options_default(void);

/* Paged attention forward.
 *
 *   const ax_tensor *q             (T, H, D): f32, bf16 or f16
 *   const ax_tensor *k_cache, *v_cache  (num_blocks, block_size, Hkv, D): q's dtype, or i8 /
 *                                  f8_e4m3fn with scales; H % Hkv == 0
 *   const ax_tensor *block_table   int32 (num_seqs, max_blocks)
 *   const ax_tensor *context_lens  int32 (num_seqs)
 *   const ax_tensor *cu_seqlens_q  int32 (num_seqs + 1)
 *   const ax_tensor *k_scales, *v_scales  NULL, or f32 (num_blocks, Hkv) for quantized caches
 *   const ax_paged_attention_options *opt  NULL for the defaults
 *   ax_tensor *out                 (T, H, D), q's dtype
 *   ax_tensor *lse                 NULL, or f32 (H, T)
 *
 * Strides: any, except that D is contiguous in q, out and the caches, and cu_seqlens_q and
 * context_lens are contiguous. Accumulation in fp32 (quantized entries dequantized as code * scale
 * on the CPU; the CUDA kernel takes the scale out of the sums, (sum_d q_d code_d) * k_scale and
 * p * v_scale * code, so the two agree to fp32 rounding, not bit for bit); out is rounded once.
 * Query rows past cu_seqlens_q[num_seqs] are not touched.
 *
 * Split-K: each row's key blocks are cut into num_splits runs whose partial results (host arena /
 * device pool: T * H * splits * (D + 2) floats) are folded in split order, so results are
 * deterministic for a given number of splits; the automatic choice (num_splits 0) depends on the
 * shape and the context's threads (CPU) or SM count (CUDA).
 *
 * Index values are checked on CPU (cu_seqlens_q non-decreasing from 0 to at most T; 0 <= n_s <=
 * context_lens[s]; every block id a sequence reads in [0, num_blocks); context within max_blocks *
 * block_size). On CUDA the host never reads them (no synchronisation): they are clipped to the
 * tensors' bounds, and an out-of-range block id is read as an all-masked block instead of faulting;
 * check host copies with ax_paged_attention_check where they are built.
 *
 * Limits: block_size >= 16 (any value); D >= 1, and D <= 256 on CUDA (else AX_ERR_UNSUPPORTED).
 * Errors (before anything is written): AX_ERR_INVALID_ARGUMENT naming the argument and dimension, or
 * the sequence and position of a bad index value; AX_ERR_UNSUPPORTED; AX_ERR_OUT_OF_MEMORY (workspace
 * limit); AX_ERR_CUDA. CUDA: queued on the context's stream, no host synchronisation. Thread-safe with
 * distinct contexts. See docs/paged-attention.md. */
AX_API ax_status ax_paged_attention(ax_context *ctx, const ax_tensor *q, const ax_tensor *k_cache,
                                    const ax_tensor *v_cache, const ax_tensor *block_table,
                                    const ax_tensor *context_lens, const ax_tensor *cu_seqlens_q,
                                    const ax_tensor *k_scales, const ax_tensor *v_scales,
                                    const ax_paged_attention_options *opt, ax_tensor *out, ax_tensor *lse);

/* Checks host copies of paged attention's index arrays as ax_paged_attention does on a CPU context:
 *   block_table    int32 (num_seqs, max_blocks), row-major (host memory)
 *   context_lens   int32 (num_seqs) (host memory)
 *   cu_seqlens_q   int32 (num_seqs + 1) (host memory)
 *   t              q's dim 0 (query rows); num_blocks, block_size: the caches' dims 0 and 1
 *   window_left    opt->window_left (-1 unbounded): only the blocks a sequence reads are checked
 * Errors: AX_ERR_INVALID_ARGUMENT naming the array, the sequence and position ("block_table:
 * sequence 1, position 2: block id 40 outside [0, num_blocks = 32)"), as the CPU op's; NULL arrays,
 * negative sizes or block_size < 1. Thread-safe. */
AX_API ax_status ax_paged_attention_check(const int32_t *block_table, const int32_t *context_lens,
                                          const int32_t *cu_seqlens_q, int64_t num_seqs, int64_t max_blocks, int64_t t,
                                          int64_t num_blocks, int64_t block_size, int64_t window_left);

/* Writes T new K/V rows into their cache slots: row t goes to block slot_mapping[t] / block_size,
 * row slot_mapping[t] % block_size (a negative slot skips the row, as for padding tokens).
 *
 *   const ax_tensor *k, *v         (T, Hkv, D): f32, bf16 or f16
 *   const ax_tensor *slot_mapping  int32 or int64 (T); slots distinct (else AX_ERR_INVALID_ARGUMENT on CPU)
 *   ax_tensor *k_cache, *v_cache   (num_blocks, block_size, Hkv, D): written; f32, bf16 or f16 (the row
 *                                  is converted, rounded to nearest even) or i8 / f8_e4m3fn
 *   ax_tensor *k_scales, *v_scales f32 (num_blocks, Hkv), read and written, for i8 / f8 caches; NULL
 *                                  otherwise. A block's scale starts at 0 (the caller zeroes the
 *                                  scales of a fresh block); when a new row needs a larger scale, the
 *                                  scale doubles until it suffices and the rows already in that block
 *                                  are requantized to it, so every row is stored with the block's
 *                                  current scale (a fresh block's: amax / 127 for i8, amax / 448 for
 *                                  f8_e4m3fn).
 *
 * Quantization, in fp32 with one rounding per operation, per row and KV head: amax = max |x| over the
 * row's finite values, want = amax / Q with Q = 127 (i8) or 448 (f8_e4m3fn); scale' = want when scale
 * is 0, else scale * 2^k for the least k >= 0 with scale * 2^k >= want. When scale' > scale every row
 * of the (block, head) is first requantized, code <- quant(c, 2^k) with c the code's value, exact
 * division, one rounding (all codes become 0 when scale was 0: the block held nothing), so however
 * often a block's scale grows, a stored value stays within one step of the final scale (i8) of what
 * it was; then the row is stored as quant(x, scale'). quant(x, s) = x / s rounded to fp32, then to
 * i8 by round-to-nearest-even clamped to [-127, 127] (NaN -> 0, +-inf -> +-127), or to f8_e4m3fn
 * as ax_f32_to_f8_e4m3fn (inf -> NaN); 0 when s is 0. So a non-finite value spoils only itself,
 * never its block's scale. A stored scale that is not > 0 counts as 0.
 *
 * Rows of one call that land in the same block are applied in order of t. CPU checks slot values
 * (< num_blocks * block_size, distinct) before writing anything; CUDA trusts them, skips out-of-range
 * ones and applies repeated ones in order of t. Strides: D contiguous in every tensor; slot_mapping
 * contiguous. Pointers: every tensor on the context's device (host memory for a CPU context). Errors
 * as ax_paged_attention; nothing is written on an argument error. CUDA: queued on the context's
 * stream, no host synchronisation. Thread-safe with distinct contexts and distinct caches. */
AX_API ax_status ax_kv_cache_append(ax_context *ctx, const ax_tensor *k, const ax_tensor *v,
                                    const ax_tensor *slot_mapping, ax_tensor *k_cache, ax_tensor *v_cache,
                                    ax_tensor *k_scales, ax_tensor *v_scales);

#ifdef __cplusplus
}
#endif

#endif /* AXIAL_ATTENTION_H */
