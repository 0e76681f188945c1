/*
 * seqpar.h — sequence parallelism: Evoformer attention sharded across ranks over MPI (CPU tensors)
 * and NCCL (CUDA tensors), in axial (DAP, FastFold) and head (Ulysses, DeepSpeed) mode, and the
 * collectives they are built from.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 *
 * Building and including
 *  - The functions exist in builds with MPI (ax_build_has_mpi() == 1). In a build without MPI every
 *    function below that takes an ax_comm returns AX_ERR_UNSUPPORTED (no communicator can exist);
 *    ax_shard_range always works.
 *  - This header includes <mpi.h> when the compiler can find it (__has_include), and then declares
 *    ax_comm_create_mpi / ax_comm_create_nccl, which take an MPI_Comm. Compile with the MPI that
 *    Axial was built with (mpicc, or link MPI::MPI_C in CMake; find_package(axial) finds MPI for
 *    you). Everything else here is MPI-free and is declared either way. In C++ the deprecated MPI C++
 *    bindings are skipped (OMPI_SKIP_MPICXX / MPICH_SKIP_MPICXX) unless <mpi.h> was included first.
 *  - ax_comm_create_nccl needs a build with NCCL (ax_build_has_nccl() == 1).
 *
 * Launching: the application starts the processes (`mpiexec -n P ./app`), calls MPI_Init (Axial
 * never does), creates one ax_comm per rank, and calls every distributed function on every rank of
 * the communicator, in the same order, with matching arguments. See docs/seqpar.md.
 *
 * The shard rule. A dimension of length L split over P ranks gives rank r
 *     count(r)  = L / P + (r < L % P ? 1 : 0)      (the larger shards first)
 *     offset(r) = r * (L / P) + min(r, L % P)
 * so shards may be uneven and may be empty (L < P). ax_shard_range computes it. Every "local" or
 * "shard" size below follows this rule; the agreement check (next) verifies it.
 *
 * Agreement check. Before any data moves, every distributed call exchanges a small descriptor of its
 * arguments (one MPI_Allreduce of ~100 int64 on Axial's own communicator, whatever P): the op, the
 * dtypes, the shapes that must be equal and the local sizes that must follow the shard rule. A
 * mismatch makes the call return AX_ERR_INVALID_ARGUMENT on every rank, with a message naming the
 * tensor and dimension ("q: dim 2 (S) differs across ranks (smallest 16, largest 17)"), and no data
 * is exchanged. If one rank rejects its own arguments (NULL tensor, wrong ndim, ...) or cannot
 * allocate its scratch, every rank returns that rank's status; the other ranks' message names it. A
 * failure of a local attention kernel is shared the same way before the next exchange, so no rank is
 * left waiting. What cannot be shared: a NULL or destroyed comm, or a rank that does not make the
 * call at all.
 *
 * Devices. An MPI communicator works on CPU tensors with an AX_CPU context; an NCCL communicator
 * works on CUDA tensors with an AX_CUDA context on the communicator's device. Anything else is
 * AX_ERR_INVALID_ARGUMENT. CUDA work (packing kernels, NCCL calls, attention) is queued on the
 * context's stream; the host is not synchronised (the agreement check uses only host-side shapes).
 *
 * Dtypes: AX_F32, AX_BF16, AX_F16. Reductions (ax_reduce_scatter, ax_all_reduce, and the gradient
 * reductions of the attention backward) add in fp32 and round once to the output dtype.
 *
 * Layouts: tensors may have any strides (non-contiguous inputs and outputs are packed and unpacked
 * internally; contiguous ones skip the copy where the layout allows). Outputs must not overlap
 * themselves, each other or an input (checked), except the in-place ax_all_reduce below.
 *
 * Memory: scratch for packed send and receive buffers of about the size of the tensors moved: host
 * memory for MPI, kept by the communicator and reused by later calls (grown when a call needs more,
 * freed by ax_comm_destroy), and stream-ordered device memory for NCCL, allocated and freed inside
 * each call. The
 * distributed attention additionally holds the gathered bias and, in head mode, the head-split q, k,
 * v, out (and gradients). A context's workspace_limit caps this scratch (AX_ERR_OUT_OF_MEMORY).
 *
 * Thread safety: a communicator serves one call at a time (as does a context). With MPI initialised
 * at MPI_THREAD_MULTIPLE, different communicators may be used from different threads.
 *
 * Errors common to every distributed function: AX_ERR_INVALID_ARGUMENT (NULL comm or ctx, a
 * communicator/context device mismatch, bad shapes, dtypes or strides, arguments that differ across
 * ranks), AX_ERR_OUT_OF_MEMORY (scratch), AX_ERR_UNSUPPORTED (a build without MPI or NCCL, or more
 * than INT_MAX elements in one MPI message), AX_ERR_MPI / AX_ERR_NCCL / AX_ERR_CUDA (the transport or
 * the runtime failed: the communicator should then be destroyed). On any error before the exchange
 * no output is written.
 */
#ifndef AXIAL_SEQPAR_H
#define AXIAL_SEQPAR_H

#include "axial/axial.h"

#if !defined(MPI_VERSION)
#  if defined(__cplusplus)
#    ifndef OMPI_SKIP_MPICXX
#      define OMPI_SKIP_MPICXX 1
#    endif
#    ifndef MPICH_SKIP_MPICXX
#      define MPICH_SKIP_MPICXX 1
#    endif
#  endif
#  if defined(__has_include)
#    if __has_include(<mpi.h>)
#      include <mpi.h>
#    endif
#  else
#    include <mpi.h>
#  endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------------
 * Communicator
 * ---------------------------------------------------------------------------------------------- */

/* An Axial communicator: a duplicate of the caller's MPI communicator (so Axial's messages never mix
 * with the application's), plus an NCCL communicator for CUDA tensors. Rank r of the ax_comm is rank
 * r of the MPI communicator it was made from. */
typedef struct ax_comm ax_comm;

#if defined(MPI_VERSION)
/* Creates a communicator for CPU tensors over `comm` (MPI_Comm_dup; collective over `comm`: every
 * rank must call it). MPI must be initialised and not finalised; Axial never calls MPI_Init. MPI
 * errors on the duplicate are returned (MPI_ERRORS_RETURN), never fatal.
 * Errors: AX_ERR_INVALID_ARGUMENT (NULL out, comm == MPI_COMM_NULL), AX_ERR_UNSUPPORTED (MPI not
 * initialised or already finalised), AX_ERR_MPI, AX_ERR_OUT_OF_MEMORY. On failure *out is NULL.
 * Thread-safe as far as the MPI library's thread level allows. */
AX_API ax_status ax_comm_create_mpi(ax_comm **out, MPI_Comm comm);

/* Creates a communicator for CUDA tensors on device `cuda_device` (an ordinal of this process):
 * duplicates `comm` as above, and bootstraps an NCCL communicator through it (rank 0 makes the NCCL
 * unique id, MPI_Bcast shares it; collective over `comm`). Use it with an AX_CUDA context on the same
 * device. A failure on one rank (bad device, no NCCL) is returned on every rank.
 * Errors: as ax_comm_create_mpi, plus AX_ERR_INVALID_ARGUMENT (negative or absent device),
 * AX_ERR_UNSUPPORTED (a build without NCCL), AX_ERR_CUDA, AX_ERR_NCCL. */
AX_API ax_status ax_comm_create_nccl(ax_comm **out, MPI_Comm comm, int cuda_device);
#endif

/* Releases the communicator (MPI_Comm_free of the duplicate, ncclCommDestroy). Accepts NULL. Call it
 * on every rank, before MPI_Finalize, with no call on the communicator in flight. */
AX_API void ax_comm_destroy(ax_comm *comm);

/* This process's rank and the number of ranks; -1 for a NULL comm. Thread-safe. */
AX_API int ax_comm_rank(const ax_comm *comm);
AX_API int ax_comm_size(const ax_comm *comm);

/* The shard rule above: where shard `index` of a dimension of `length` split into `parts` starts
 * (*offset) and how long it is (*count). Either output pointer may be NULL.
 * Errors: AX_ERR_INVALID_ARGUMENT for length < 0, parts < 1, index outside [0, parts). Thread-safe. */
AX_API ax_status ax_shard_range(int64_t length, int64_t parts, int64_t index, int64_t *offset, int64_t *count);

/* ------------------------------------------------------------------------------------------------
 * Collectives on tensors along a named dimension (every rank calls; P = ax_comm_size(comm), r =
 * ax_comm_rank(comm); in and out have the same ndim and dtype; `dim` counts from 0)
 * ---------------------------------------------------------------------------------------------- */

/* out = the concatenation along `dim` of every rank's `in`, in rank order.
 *   in:  this rank's shard: out's shape, with dim `dim` = count(r) of out->shape[dim]
 *   out: the full tensor, identical on every rank */
AX_API ax_status ax_all_gather(ax_context *ctx, ax_comm *comm, const ax_tensor *in, int32_t dim, ax_tensor *out);

/* out = shard r along `dim` of the sum over ranks of `in` (fp32 sum, rounded once).
 *   in:  the full tensor (each rank its own values)
 *   out: in's shape with dim `dim` = count(r) of in->shape[dim] */
AX_API ax_status ax_reduce_scatter(ax_context *ctx, ax_comm *comm, const ax_tensor *in, int32_t dim,
                                   ax_tensor *out);

/* out = the sum over ranks of `in` (fp32 sum, rounded once), on every rank. in and out have one shape.
 * In place is allowed when in and out describe exactly the same memory (pointer, shape, strides). */
AX_API ax_status ax_all_reduce(ax_context *ctx, ax_comm *comm, const ax_tensor *in, ax_tensor *out);

/* Re-shards from `concat_dim` to `split_dim`: the inverse of a gather along concat_dim followed by a
 * split along split_dim, without forming the full tensor. split_dim != concat_dim.
 *   in:  full along split_dim, count(r) of out->shape[concat_dim] along concat_dim
 *   out: count(r) of in->shape[split_dim] along split_dim, full along concat_dim
 * Every other dim is equal. Each rank sends P - 1 blocks of about numel(in) / P elements. */
AX_API ax_status ax_all_to_all(ax_context *ctx, ax_comm *comm, const ax_tensor *in, int32_t split_dim,
                               int32_t concat_dim, ax_tensor *out);

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
