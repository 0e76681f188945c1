/*
 * seqpar.h — sequence parallelism: Evoformer attention sharded across ranks over MPI (CPU tensors)
 * and NCCL (CUDA tensors), in axial (DAP, FastFold) and head (Ulysses, DeepSpeed) mode. Built on the
 * communicator and collectives of comm.h, which this header includes (so code that took ax_comm,
 * ax_all_gather, ... from here still compiles).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 *
 * Everything comm.h says of its collectives holds here too: the functions exist in builds with MPI
 * (AX_ERR_UNSUPPORTED otherwise), every rank calls them in the same order with matching arguments,
 * local sizes follow the shard rule (ax_shard_range), an argument agreement across ranks turns a
 * mismatch into the same error on every rank before any data moves, an MPI communicator takes CPU
 * tensors and an NCCL one CUDA tensors on its device, any strides are accepted, and a communicator
 * serves one call at a time. See docs/seqpar.md.
 *
 * Dtypes: AX_F32, AX_BF16, AX_F16. The gradient reductions of the backward add in fp32 and round
 * once to the output dtype.
 *
 * Memory: beyond the collectives' packing scratch, the distributed attention holds the gathered bias
 * and, in head mode, the head-split q, k, v, out (and gradients), in the communicator's scratch (host,
 * for MPI) or stream-ordered device memory (NCCL). A context's workspace_limit caps it
 * (AX_ERR_OUT_OF_MEMORY). A failure of the local attention kernel on one rank is returned on every
 * rank. In measure mode (comm.h) only this communication scratch is counted: the local attention
 * does not run, so its own workspace is not in the peak (measure the single-rank op on the local
 * shapes for that).
 *
 * Errors: those of comm.h's collectives (AX_ERR_INVALID_ARGUMENT, AX_ERR_OUT_OF_MEMORY,
 * AX_ERR_UNSUPPORTED, AX_ERR_MPI / AX_ERR_NCCL / AX_ERR_CUDA), plus the single-rank op's
 * (evoformer.h). On any error before the exchange no output is written.
 */
#ifndef AXIAL_SEQPAR_H
#define AXIAL_SEQPAR_H

#include "axial/axial.h"
#include "axial/comm.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------------
 * Axial (DAP) mode: rows sharded (dim 1, N: MSA rows, or pair rows i for triangle attention)
 * ---------------------------------------------------------------------------------------------- */

/* The distributed form of ax_evoformer_attention_forward (see evoformer.h for the semantics, dtypes,
 * broadcasting and limits), with N split across ranks: rank r holds rows [offset(r), offset(r) +
 * N_local) of q, k, v, bias_mask, out and lse, and query rows [offset(r), offset(r) + S_local) of
 * bias_pair (N_local = count(r) of N, S_local = count(r) of S). The op all-gathers bias_pair (in
 * its dtype) and runs the local attention: the result equals the single-rank op on the gathered
 * tensors. bias_pair_shard's dim 3 is exactly S_local (no broadcast there); its other dims broadcast
 * as in evoformer.h. Communication per rank: about B*H*S*S*(P-1)/P bias elements received. */
AX_API ax_status ax_evoformer_attention_forward_dap(ax_context *ctx, ax_comm *comm,
    const ax_tensor *q, const ax_tensor *k, const ax_tensor *v, /* (B, N_local, S, H, D) */
    const ax_tensor *bias_mask,        /* NULL or (B, N_local, 1, 1, S), broadcastable as in evoformer.h */
    const ax_tensor *bias_pair_shard,  /* NULL or (B, 1, H, S_local, S): this rank's query rows */
    ax_tensor *out,                    /* (B, N_local, S, H, D) */
    ax_tensor *lse);                   /* NULL or (B, N_local, H, S) fp32 */

/* The distributed backward. dq, dk, dv, dbias_mask are local (this rank's rows). dbias_pair_shard
 * (NULL when not wanted; must be NULL when bias_pair_shard is) receives this rank's query rows of
 * the gradient summed over every rank's N rows: each rank's local gradient is formed in fp32 for
 * the full (B, 1, H, S, S) and reduce-scattered along dim 3. Communication per rank: the forward's
 * gather plus, with dbias_pair_shard, a reduce-scatter of B*H*S*S fp32. All outputs are overwritten. */
AX_API ax_status ax_evoformer_attention_backward_dap(ax_context *ctx, ax_comm *comm,
    const ax_tensor *q, const ax_tensor *k, const ax_tensor *v, /* (B, N_local, S, H, D) */
    const ax_tensor *bias_mask,        /* NULL or (B, N_local, 1, 1, S) */
    const ax_tensor *bias_pair_shard,  /* NULL or (B, 1, H, S_local, S) */
    const ax_tensor *out,              /* (B, N_local, S, H, D): the forward's output */
    const ax_tensor *lse,              /* (B, N_local, H, S) fp32: the forward's lse */
    const ax_tensor *dout,             /* (B, N_local, S, H, D) */
    ax_tensor *dq, ax_tensor *dk, ax_tensor *dv, /* (B, N_local, S, H, D) */
    ax_tensor *dbias_mask,             /* NULL or like bias_mask */
    ax_tensor *dbias_pair_shard);      /* NULL or like bias_pair_shard: summed over all ranks' rows */

/* Axis switch for MSA column attention and ending-node triangle attention: re-shards an activation
 * of shape (B, rows, cols, ...) (ndim >= 3, any trailing dims, e.g. MSA (B, N, S, C) or pair
 * (B, S, S, C)) between the row split and the column split. Equal to ax_all_to_all with
 * (split_dim, concat_dim) = (2, 1) for row_to_col and (1, 2) for col_to_row.
 *   row_to_col: in (B, rows_local, cols, ...) -> out (B, rows, cols_local, ...)
 *   col_to_row: in (B, rows, cols_local, ...) -> out (B, rows_local, cols, ...) */
AX_API ax_status ax_dap_row_to_col(ax_context *ctx, ax_comm *comm, const ax_tensor *in, ax_tensor *out);
AX_API ax_status ax_dap_col_to_row(ax_context *ctx, ax_comm *comm, const ax_tensor *in, ax_tensor *out);

/* ------------------------------------------------------------------------------------------------
 * Head (Ulysses) mode: the sequence (dim 2, S) sharded; all-to-all to a head split and back
 * ---------------------------------------------------------------------------------------------- */

/* The distributed form of ax_evoformer_attention_forward with S split across ranks (S_local =
 * count(r) of S, for queries, keys and values alike). q, k, v are all-to-all'ed to a head split
 * (B, N, S, H_local, D) with H_local = count(r) of H (H need not divide by P; a rank may hold no
 * head), bias_pair's rows are all-to-all'ed to its head shard (B, 1, H_local, S, S) (or all-gathered
 * when it broadcasts over heads), bias_mask's keys are all-gathered, the local attention runs, and
 * out (and lse) are all-to-all'ed back to the sequence split. Equal to the single-rank op on the
 * gathered tensors. Communication per rank: about (4 B*N*S*H*D + B*H*S*S) / P elements. */
AX_API ax_status ax_evoformer_attention_forward_ulysses(ax_context *ctx, ax_comm *comm,
    const ax_tensor *q, const ax_tensor *k, const ax_tensor *v, /* (B, N, S_local, H, D) */
    const ax_tensor *bias_mask_shard,  /* NULL or (B, N, 1, 1, S_local): this rank's keys; B, N may be 1 */
    const ax_tensor *bias_pair_shard,  /* NULL or (B, 1, H, S_local, S): this rank's query rows; B, H may be 1 */
    ax_tensor *out,                    /* (B, N, S_local, H, D) */
    ax_tensor *lse);                   /* NULL or (B, N, H, S_local) fp32 */

/* The distributed backward of head mode: q, k, v, out, dout, lse go to the head split, the local
 * backward runs, dq, dk, dv come back to the sequence split; dbias_pair_shard comes back by
 * all-to-all (or reduce-scatter over the ranks' heads when bias_pair broadcasts over heads), and
 * dbias_mask_shard by a reduce-scatter of the per-rank sums over heads. Bias gradients may be NULL. */
AX_API ax_status ax_evoformer_attention_backward_ulysses(ax_context *ctx, ax_comm *comm,
    const ax_tensor *q, const ax_tensor *k, const ax_tensor *v, /* (B, N, S_local, H, D) */
    const ax_tensor *bias_mask_shard,  /* NULL or (B, N, 1, 1, S_local) */
    const ax_tensor *bias_pair_shard,  /* NULL or (B, 1, H, S_local, S) */
    const ax_tensor *out,              /* (B, N, S_local, H, D): the forward's output */
    const ax_tensor *lse,              /* (B, N, H, S_local) fp32: the forward's lse */
    const ax_tensor *dout,             /* (B, N, S_local, H, D) */
    ax_tensor *dq, ax_tensor *dk, ax_tensor *dv, /* (B, N, S_local, H, D) */
    ax_tensor *dbias_mask_shard,       /* NULL or like bias_mask_shard */
    ax_tensor *dbias_pair_shard);      /* NULL or like bias_pair_shard */

#ifdef __cplusplus
}
#endif

#endif /* AXIAL_SEQPAR_H */
