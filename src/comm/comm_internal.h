/*
 * comm_internal.h — private pieces of the communicator layer (src/comm): the communicator, the
 * argument agreement across ranks, scratch memory, packing of strided tensors, the transport (MPI or
 * NCCL), the checks and views every distributed op uses, and the collective bodies that the public
 * collectives and the distributed attention (src/seqpar) share. Needs <mpi.h>: only MPI builds
 * compile the files that include it.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_COMM_INTERNAL_H
#define AXIAL_COMM_INTERNAL_H

#include <mpi.h>

#include "axial/comm.h"
#include "core/internal.h"

typedef enum comm_backend { COMM_MPI = 0, COMM_NCCL = 1 } comm_backend;

struct ax_comm {
    MPI_Comm mpi;          /* Axial's duplicate of the caller's communicator */
    MPI_Op agree_op;       /* the agreement check's reduction (min over one part, sum over another) */
    MPI_Datatype agree_type; /* one whole descriptor, so MPI never splits one inside a reduction */
    int rank, size;
    comm_backend backend;
    int cuda_device;       /* NCCL only */
    void *nccl;            /* ncclComm_t, NCCL only */
    int64_t *counts;       /* 4 * size host entries: counts and displacements of the exchanges */
    int *mpi_counts;       /* 4 * size: the same as the int arrays MPI takes */
    /* Host scratch kept between calls (fresh pages cost more than the copies). The communicator's own
     * rather than the context's host arena: the distributed attention keeps this scratch (the gathered
     * bias, the head-split tensors) live across the local attention op, which takes the arena. */
    void *host_scratch;
    int64_t host_scratch_bytes;
};

/* ---- argument agreement (agree.c) ---- */

#define COMM_AGREE_MAX_VALUES 48 /* values that must be equal on every rank */
#define COMM_AGREE_MAX_SHARDS 4  /* local sizes that must follow the shard rule */

/* Operation ids: ranks calling different operations is itself a mismatch. */
enum {
    COMM_OP_ALL_GATHER = 1,
    COMM_OP_REDUCE_SCATTER,
    COMM_OP_ALL_REDUCE,
    COMM_OP_ALL_TO_ALL,
    COMM_OP_ALL_TO_ALL_V,
    /* Ids from here on belong to the layers built on the communicator (seqpar/seqpar_internal.h). */
    COMM_OP_CLIENT_BASE = 32
};

typedef struct comm_agreement {
    const char *op_name;
    ax_status local_status; /* this rank's own verdict on its arguments and scratch */
    int n_values, n_shards;
    const char *value_names[COMM_AGREE_MAX_VALUES];
    int value_dims[COMM_AGREE_MAX_VALUES]; /* the dim a value is the size of, or a kind (< 0, agree.c) */
    int64_t values[COMM_AGREE_MAX_VALUES];
    const char *shard_names[COMM_AGREE_MAX_SHARDS];
    int64_t shards[COMM_AGREE_MAX_SHARDS];
    int64_t shard_totals[COMM_AGREE_MAX_SHARDS]; /* filled by comm_agree: the summed lengths */
} comm_agreement;

/* Starts a descriptor with the operation and the context's measure mode, which every rank must share. */
void comm_agree_init(comm_agreement *a, const char *op_name, int op_id, const ax_context *ctx);
/* A value every rank must pass identically; `name` is static text such as "q: dim 2 (S)". */
void comm_agree_value(comm_agreement *a, const char *name, int64_t value);
/* A dtype every rank must pass identically: reported by name ("x: dtype differs ... (f32 on some
 * ranks, bf16 on others ...)"). */
void comm_agree_dtype(comm_agreement *a, const char *name, ax_dtype dtype);
/* A float every rank must pass identically (compared by bits, -0 as 0); reported as a number. */
void comm_agree_float(comm_agreement *a, const char *name, float value);
/* Dim `dim` of the tensor called `name`: reported as "name: dim d". */
void comm_agree_dim(comm_agreement *a, const char *name, int dim, int64_t value);
/* A tensor's presence, dtype, ndim and, for the dims in `agreed_dims` (a bit mask), its sizes. */
void comm_agree_tensor(comm_agreement *a, const char *name, const ax_tensor *t, unsigned agreed_dims);
/* This rank's length of a dimension split by the shard rule; returns the index of its total. */
int comm_agree_shard(comm_agreement *a, const char *name, int64_t local_length);
/* Records a failing local check (keeps the first); the caller has set the error message. */
void comm_agree_fail(comm_agreement *a, ax_status status);
/* The one collective of the check. Returns AX_OK on every rank or the same failing status on every
 * rank (the message names the tensor and dimension, or the rank that rejected its arguments). */
ax_status comm_agree(ax_comm *comm, comm_agreement *a);
/* A failing rank after a status agreement: every rank returns the agreed status (the lowest failing
 * rank's); when that is another rank's, this rank's own message is kept behind a prefix naming it. */
ax_status comm_failed_too(const char *op_name, ax_status local, ax_status agreed, long long failing_rank);

/* Shares a status reached after the check (a local kernel's), so no rank waits in a later exchange
 * for a rank that has given up. */
ax_status comm_agree_status(ax_comm *comm, const char *op_name, ax_status local);
/* Registers / releases the check's datatype and reduction on a new communicator. */
ax_status comm_agree_setup(ax_comm *comm);
void comm_agree_teardown(ax_comm *comm);

/* ---- checks and views shared by every distributed op (validate.c) ---- */

ax_status comm_check_ctx(const ax_context *ctx, const ax_comm *comm);
/* dtype is f32, bf16 or f16. */
ax_status comm_check_float_dtype(const ax_tensor *t, const char *name);
/* Non-NULL, 1 to AX_MAX_DIMS dims, valid sizes and strides, a float dtype, on the context's device. */
ax_status comm_check_float_tensor(const ax_context *ctx, const ax_tensor *t, const char *name);
/* An output: no self-overlap, and no overlap with any of the n inputs (NULL entries skipped). */
ax_status comm_check_output(const ax_tensor *out, const char *name, const ax_tensor *const *ins,
                            const char *const *in_names, int n);
/* The shard of `length` this rank holds. */
int64_t comm_shard_count(const ax_comm *comm, int64_t length, int rank);
int64_t comm_shard_offset(const ax_comm *comm, int64_t length, int rank);
/* A view of `t` restricted to [offset, offset + count) along `dim`. */
ax_tensor comm_narrow(const ax_tensor *t, int32_t dim, int64_t offset, int64_t count);
/* A contiguous tensor on the context's device over `data`. */
ax_tensor comm_contiguous(void *data, ax_dtype dtype, ax_device device, int32_t ndim, const int64_t *shape);
/* Product of the dims before `dim` is 1 and t is contiguous: the shards along `dim` are contiguous
 * blocks in rank order. */
int comm_blocks_contiguous(const ax_tensor *t, int32_t dim);
/* MPI moves at most INT_MAX elements per call: refuse a collective whose full (gathered) tensor has
 * more, on every rank alike (the size is agreed). No limit for NCCL. */
ax_status comm_check_message_size(const ax_comm *comm, int64_t full_elements, const char *name);

/* ---- scratch memory (scratch.c) ---- */

/* One allocation per call, carved into aligned pieces. Host memory for MPI (kept by the communicator
 * and reused by the next call), stream-ordered device memory for NCCL. */
typedef struct comm_scratch {
    char *base;
    int64_t bytes, used;
} comm_scratch;

/* Rounds up to the alignment every piece gets (256 bytes). */
int64_t comm_align(int64_t bytes);
ax_status comm_scratch_alloc(ax_context *ctx, ax_comm *comm, comm_scratch *s, int64_t bytes);
void *comm_scratch_take(comm_scratch *s, int64_t bytes);
void comm_scratch_free(ax_context *ctx, comm_scratch *s);
/* Zero-fills `bytes` at `p` on the context's device. */
ax_status comm_zero(ax_context *ctx, void *p, int64_t bytes);

/* ---- packing strided tensors (pack.c) ---- */

/* Copies every element of `src` (any strides) into contiguous row-major `dst` of dtype dst_dtype,
 * converting between float dtypes (round to nearest even); integer dtypes only to themselves. */
ax_status comm_pack(ax_context *ctx, const ax_tensor *src, void *dst, ax_dtype dst_dtype);
/* The inverse: contiguous row-major `src` of dtype src_dtype into `dst` (any strides). */
ax_status comm_unpack(ax_context *ctx, const void *src, ax_dtype src_dtype, const ax_tensor *dst);

/* ---- transport (transport.c, transport_nccl.c): contiguous buffers, counts in elements ---- */

/* `wire` only sets the element size (any dtype with ax_dtype_size > 0): these move bytes. */
ax_status comm_allgatherv(ax_context *ctx, ax_comm *comm, const void *send, void *recv, const int64_t *counts,
                          const int64_t *displs, ax_dtype wire);
ax_status comm_alltoallv(ax_context *ctx, ax_comm *comm, const void *send, const int64_t *send_counts,
                         const int64_t *send_displs, void *recv, const int64_t *recv_counts,
                         const int64_t *recv_displs, ax_dtype wire);
/* `send` holds every rank's block in rank order (counts[r] floats each); `recv` gets this rank's sum. */
ax_status comm_reduce_scatterv_f32(ax_context *ctx, ax_comm *comm, const float *send, float *recv,
                                   const int64_t *counts);
/* recv = sum over ranks of send; send == recv is in place. */
ax_status comm_allreduce_f32(ax_context *ctx, ax_comm *comm, const float *send, float *recv, int64_t count);
ax_status comm_mpi_error(int code, const char *what);

#if AXIAL_WITH_NCCL
/* Collective; `pre` is this rank's verdict so far (shared before any NCCL call). */
ax_status comm_nccl_init(ax_comm *comm, ax_status pre);
void comm_nccl_destroy(ax_comm *comm);
ax_status comm_nccl_allgatherv(ax_context *ctx, ax_comm *comm, const void *send, void *recv, const int64_t *counts,
                               const int64_t *displs, size_t elem_size);
ax_status comm_nccl_alltoallv(ax_context *ctx, ax_comm *comm, const void *send, const int64_t *send_counts,
                              const int64_t *send_displs, void *recv, const int64_t *recv_counts,
                              const int64_t *recv_displs, size_t elem_size);
ax_status comm_nccl_reduce_scatterv_f32(ax_context *ctx, ax_comm *comm, const float *send, float *recv,
                                        const int64_t *counts);
ax_status comm_nccl_allreduce_f32(ax_context *ctx, ax_comm *comm, const float *send, float *recv, int64_t count);
#endif

#include "comm/comm_cuda.h"

/* ---- collective bodies (collectives_core.c): arguments already validated and agreed ---- */

/* The plans report the scratch bytes the body needs; the bodies take it from `s`. The tensors may
 * have different float dtypes (converted); `wire` is the dtype that travels. */
int64_t comm_gather_bytes(const ax_comm *comm, const ax_tensor *in, int32_t dim, const ax_tensor *out,
                          ax_dtype wire);
ax_status comm_gather_body(ax_context *ctx, ax_comm *comm, const ax_tensor *in, int32_t dim, const ax_tensor *out,
                           ax_dtype wire, comm_scratch *s);
int64_t comm_reduce_scatter_bytes(const ax_comm *comm, const ax_tensor *in, int32_t dim, const ax_tensor *out);
ax_status comm_reduce_scatter_body(ax_context *ctx, ax_comm *comm, const ax_tensor *in, int32_t dim,
                                   const ax_tensor *out, comm_scratch *s);
/* Several tensors re-sharded by one exchange (each rank's blocks of every tensor travel together). */
int64_t comm_all_to_all_bytes(const ax_comm *comm, int n, const ax_tensor *const *in, int32_t split_dim,
                              const ax_tensor *const *out, int32_t concat_dim, ax_dtype wire);
ax_status comm_all_to_all_body(ax_context *ctx, ax_comm *comm, int n, const ax_tensor *const *in,
                               int32_t split_dim, int32_t concat_dim, const ax_tensor *const *out, ax_dtype wire,
                               comm_scratch *s);

#endif /* AXIAL_COMM_INTERNAL_H */
