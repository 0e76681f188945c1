/*
 * comm.h — communicators and collectives on tensors: Axial's own duplicate of an MPI communicator
 * (CPU tensors) or an NCCL communicator bootstrapped through one (CUDA tensors), the shard rule, and
 * all-gather, reduce-scatter, all-reduce, all-to-all along a dimension, and all-to-all-v of rows.
 * The distributed Evoformer attention (seqpar.h) is built on these; seqpar.h includes this header.
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
 * the communicator, in the same order, with matching arguments. See docs/comm.md.
 *
 * The shard rule. A dimension of length L split over P ranks gives rank r
 *     count(r)  = L / P + (r < L % P ? 1 : 0)      (the larger shards first)
 *     offset(r) = r * (L / P) + min(r, L % P)
 * so shards may be uneven and may be empty (L < P). ax_shard_range computes it. Every "local" or
 * "shard" size of a collective along a dimension (and of seqpar.h) follows this rule; the agreement
 * check (next) verifies it. ax_all_to_all_v is the exception: its row counts are free.
 *
 * Agreement check. Before any data moves, every distributed call exchanges a small descriptor of its
 * arguments (one MPI_Allreduce of ~100 int64 on Axial's own communicator, whatever P): the op, the
 * dtypes, the shapes that must be equal and the local sizes that must follow the shard rule. A
 * mismatch makes the call return AX_ERR_INVALID_ARGUMENT on every rank, with a message naming the
 * tensor and dimension ("q: dim 2 (S) differs across ranks (smallest 16, largest 17)"), and no data
 * is exchanged. If one rank rejects its own arguments (NULL tensor, wrong ndim, ...) or cannot
 * allocate its scratch, every rank returns that rank's status; the other ranks' message names it. A
 * failure of a local step after the check (a local attention kernel; all-to-all-v's capacity check)
 * is shared the same way before the next exchange, so no rank is left waiting. What cannot be
 * shared: a NULL or destroyed comm, or a rank that does not make the call at all.
 *
 * Devices. An MPI communicator works on CPU tensors with an AX_CPU context; an NCCL communicator
 * works on CUDA tensors with an AX_CUDA context on the communicator's device. Anything else is
 * AX_ERR_INVALID_ARGUMENT. CUDA work (packing kernels, NCCL calls) is queued on the context's stream;
 * the host is not synchronised (the agreement check uses only host-side shapes, and all-to-all-v's
 * counts are host arrays that travel over MPI).
 *
 * Dtypes: AX_F32, AX_BF16, AX_F16 for the collectives along a dimension; reductions (ax_reduce_scatter,
 * ax_all_reduce) add in fp32 and round once to the output dtype. ax_all_to_all_v moves any dtype
 * with a whole-byte element (every dtype but the block-quantized ones) without converting it.
 *
 * Layouts: tensors may have any strides (non-contiguous inputs and outputs are packed and unpacked
 * internally; contiguous ones skip the copy where the layout allows). Outputs must not overlap
 * themselves, each other or an input (checked), except the in-place ax_all_reduce below.
 *
 * Memory: scratch for packed send and receive buffers of about the size of the tensors moved: host
 * memory for MPI, kept by the communicator and reused by later calls (grown when a call needs more,
 * freed by ax_comm_destroy), and stream-ordered device memory for NCCL. A context's workspace_limit
 * caps this scratch (AX_ERR_OUT_OF_MEMORY).
 *
 * Measure mode (ax_context_set_measure, axial.h): every rank of a call must measure alike (agreed: a
 * rank measuring alone makes the call AX_ERR_INVALID_ARGUMENT on every rank). The call validates,
 * agrees and counts its scratch against the limit and the peak, then stops: no data moves and no
 * output is written, except ax_all_to_all_v's recv_counts (its counts are still exchanged, so a
 * caller can size recv from a measuring call).
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
#ifndef AXIAL_COMM_H
#define AXIAL_COMM_H

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
 * Errors: as ax_comm_create_mpi, plus AX_ERR_INVALID_ARGUMENT (negative or absent device; two ranks
 * of one host on the same device, which NCCL cannot take: named on every rank before NCCL is
 * entered), AX_ERR_UNSUPPORTED (a build without NCCL), AX_ERR_CUDA, AX_ERR_NCCL. */
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
 * All-to-all-v: a variable number of rows from every rank to every rank (expert parallelism's
 * dispatch and combine: tokens routed to the rank holding their expert, and back)
 * ---------------------------------------------------------------------------------------------- */

/* Rank r sends send_counts[s] rows to each rank s (itself included) and receives from each rank s
 * the rows that rank s addressed to it, stored in rank order from row 0 of recv:
 *     recv rows [R(s), R(s) + recv_counts[s]) = rank s's send rows [S_s(r), S_s(r) + count),
 *     R(s) = recv_counts[0] + ... + recv_counts[s - 1],  S_s(r) = rank s's send_counts[0 .. r - 1] summed.
 * The counts are exchanged first (one MPI_Alltoall of int64 on the communicator's MPI duplicate, also
 * for an NCCL communicator: they are host arrays), so a rank need not know in advance what it will
 * receive, only that recv is large enough. Rows of recv past the received ones are left untouched.
 *   send:        (send_rows, ...) on the context's device; rows grouped by destination rank, in rank
 *                order: the first send_counts[0] rows go to rank 0, the next send_counts[1] to rank 1, ...
 *   send_counts: host, P entries >= 0, summing to send_rows
 *   recv:        (capacity_rows, ...) on the context's device; send's dtype and ndim (>= 1), and its
 *                trailing dims (all but the leading one), which every rank must pass alike;
 *                capacity_rows >= the rows this rank receives
 *   recv_counts: host, P entries, out (not overlapping send_counts): rows received from each rank.
 *                Written once the counts are exchanged, also when the call then fails because some
 *                rank's recv is too small (and
 *                in measure mode), so a caller can size recv from it and call again; not written on
 *                earlier errors.
 * Rows are the leading dimension; send and recv may have any strides (non-contiguous ones are packed
 * through scratch; a contiguous send, and a recv whose received rows are contiguous, move directly).
 * Dtypes: any with a whole-byte element (f32, f16, bf16, f64, i32, i64, u8, i8, fp8), moved bit for
 * bit; the block-quantized dtypes are refused. A rank may send or receive nothing (zero counts, zero
 * rows), and the trailing dims may hold zero elements.
 * Errors, on every rank alike: AX_ERR_INVALID_ARGUMENT for a NULL or negative count, counts not
 * summing to send's rows, mismatched dtype or trailing dims (locally or across ranks), overlapping
 * send and recv, and a recv that cannot hold what arrives on some rank (that rank's message gives
 * its capacity and the rows arriving; the others' name the rank); AX_ERR_UNSUPPORTED for more than
 * INT_MAX elements in one rank's MPI send or receive buffer; plus the common errors above.
 * Thread safety: as every collective (one call at a time per communicator and per context). */
AX_API ax_status ax_all_to_all_v(ax_context *ctx, ax_comm *comm,
    const ax_tensor *send,        /* (send_rows, ...): rows grouped by destination rank */
    const int64_t *send_counts,   /* host, P entries: rows for each rank */
    ax_tensor *recv,              /* (capacity_rows, ...): received rows in source-rank order */
    int64_t *recv_counts);        /* host, P entries, out: rows received from each rank */

#ifdef __cplusplus
}
#endif

#endif /* AXIAL_COMM_H */
