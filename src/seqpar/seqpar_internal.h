/*
 * seqpar_internal.h — private pieces of sequence parallelism: the communicator, the argument
 * agreement across ranks, scratch memory, packing of strided tensors, the transport (MPI or NCCL),
 * and the collective bodies the public collectives and the distributed attention share.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_SEQPAR_INTERNAL_H
#define AXIAL_SEQPAR_INTERNAL_H

#include <mpi.h>

#include "axial/seqpar.h"
#include "core/internal.h"

typedef enum seqpar_backend { SEQPAR_MPI = 0, SEQPAR_NCCL = 1 } seqpar_backend;

struct ax_comm {
    MPI_Comm mpi;          /* Axial's duplicate of the caller's communicator */
    MPI_Op agree_op;       /* the agreement check's reduction (min over one part, sum over another) */
    MPI_Datatype agree_type; /* one whole descriptor, so MPI never splits one inside a reduction */
    int rank, size;
    seqpar_backend backend;
    int cuda_device;       /* NCCL only */
    void *nccl;            /* ncclComm_t, NCCL only */
    int64_t *counts;       /* 4 * size host entries: counts and displacements of the exchanges */
    int *mpi_counts;       /* 4 * size: the same as the int arrays MPI takes */
    void *host_scratch;    /* host scratch kept between calls (fresh pages cost more than the copies) */
    int64_t host_scratch_bytes;
};

/* ---- argument agreement (agree.c) ---- */

#define SEQPAR_AGREE_MAX_VALUES 48 /* values that must be equal on every rank */
#define SEQPAR_AGREE_MAX_SHARDS 4  /* local sizes that must follow the shard rule */

/* Operation ids: ranks calling different operations is itself a mismatch. */
enum {
    SEQPAR_OP_ALL_GATHER = 1,
    SEQPAR_OP_REDUCE_SCATTER,
    SEQPAR_OP_ALL_REDUCE,
    SEQPAR_OP_ALL_TO_ALL,
    SEQPAR_OP_DAP_FORWARD,
    SEQPAR_OP_DAP_BACKWARD,
    SEQPAR_OP_ULYSSES_FORWARD,
    SEQPAR_OP_ULYSSES_BACKWARD
};

typedef struct seqpar_agreement {
    const char *op_name;
    ax_status local_status; /* this rank's own verdict on its arguments and scratch */
    int n_values, n_shards;
    const char *value_names[SEQPAR_AGREE_MAX_VALUES];
    int value_dims[SEQPAR_AGREE_MAX_VALUES]; /* the dim a value is the size of, or -1 */
    int64_t values[SEQPAR_AGREE_MAX_VALUES];
    const char *shard_names[SEQPAR_AGREE_MAX_SHARDS];
    int64_t shards[SEQPAR_AGREE_MAX_SHARDS];
    int64_t shard_totals[SEQPAR_AGREE_MAX_SHARDS]; /* filled by seqpar_agree: the summed lengths */
} seqpar_agreement;

void seqpar_agree_init(seqpar_agreement *a, const char *op_name, int op_id);
/* A value every rank must pass identically; `name` is static text such as "q: dim 2 (S)". */
void seqpar_agree_value(seqpar_agreement *a, const char *name, int64_t value);
/* Dim `dim` of the tensor called `name`: reported as "name: dim d". */
void seqpar_agree_dim(seqpar_agreement *a, const char *name, int dim, int64_t value);
/* A tensor's presence, dtype, ndim and, for the dims in `agreed_dims` (a bit mask), its sizes. */
void seqpar_agree_tensor(seqpar_agreement *a, const char *name, const ax_tensor *t, unsigned agreed_dims);
/* This rank's length of a dimension split by the shard rule; returns the index of its total. */
int seqpar_agree_shard(seqpar_agreement *a, const char *name, int64_t local_length);
/* Records a failing local check (keeps the first); the caller has set the error message. */
void seqpar_agree_fail(seqpar_agreement *a, ax_status status);
/* The one collective of the check. Returns AX_OK on every rank or the same failing status on every
 * rank (the message names the tensor and dimension, or the rank that rejected its arguments). */
ax_status seqpar_agree(ax_comm *comm, seqpar_agreement *a);
/* Shares a status reached after the check (a local kernel's), so no rank waits in a later exchange
 * for a rank that has given up. */
ax_status seqpar_agree_status(ax_comm *comm, const char *op_name, ax_status local);
/* Registers / releases the check's datatype and reduction on a new communicator. */
ax_status seqpar_agree_setup(ax_comm *comm);
void seqpar_agree_teardown(ax_comm *comm);

/* ---- validation helpers shared by the ops (validate.c) ---- */

ax_status seqpar_check_comm_ctx(const ax_context *ctx, const ax_comm *comm);
/* dtype is f32, bf16 or f16. */
ax_status seqpar_check_float_dtype(const ax_tensor *t, const char *name);
/* Non-NULL, 1 to AX_MAX_DIMS dims, valid sizes and strides, a float dtype, on the context's device. */
ax_status seqpar_check_float_tensor(const ax_context *ctx, const ax_tensor *t, const char *name);
/* `t` has the ndim, shape and dtype of `ref`, and lives on the context's device. */
ax_status seqpar_check_like(const ax_context *ctx, const ax_tensor *t, const char *name, const ax_tensor *ref,
                            const char *ref_name);
/* An lse tensor (B, N, H, S) fp32 on the context's device. */
ax_status seqpar_check_lse(const ax_context *ctx, const ax_tensor *t, const char *name, int64_t B, int64_t N, int64_t H,
                           int64_t S);
/* An output: no self-overlap, and no overlap with any of the n inputs (NULL entries skipped). */
ax_status seqpar_check_output(const ax_tensor *out, const char *name, const ax_tensor *const *ins,
                              const char *const *in_names, int n);
/* The shard of `length` this rank holds. */
int64_t seqpar_shard_count(const ax_comm *comm, int64_t length, int rank);
int64_t seqpar_shard_offset(const ax_comm *comm, int64_t length, int rank);
/* A view of `t` restricted to [offset, offset + count) along `dim`. */
ax_tensor seqpar_narrow(const ax_tensor *t, int32_t dim, int64_t offset, int64_t count);
/* A contiguous tensor on the context's device over `data`. */
ax_tensor seqpar_contiguous(void *data, ax_dtype dtype, ax_device device, int32_t ndim, const int64_t *shape);
/* Product of the dims before `dim` is 1 and t is contiguous: the shards along `dim` are contiguous
 * blocks in rank order. */
int seqpar_blocks_contiguous(const ax_tensor *t, int32_t dim);
/* MPI moves at most INT_MAX elements per call: refuse a collective whose full (gathered) tensor has
 * more, on every rank alike (the size is agreed). No limit for NCCL. */
ax_status seqpar_check_message_size(const ax_comm *comm, int64_t full_elements, const char *name);

/* ---- scratch memory (scratch.c) ---- */

/* One allocation per call, carved into aligned pieces. Host memory for MPI (kept by the communicator
 * and reused by the next call), stream-ordered device memory for NCCL. */
typedef struct seqpar_scratch {
    char *base;
    int64_t bytes, used;
} seqpar_scratch;

/* Rounds up to the alignment every piece gets (256 bytes). */
int64_t seqpar_align(int64_t bytes);
ax_status seqpar_scratch_alloc(ax_context *ctx, ax_comm *comm, seqpar_scratch *s, int64_t bytes);
void *seqpar_scratch_take(seqpar_scratch *s, int64_t bytes);
void seqpar_scratch_free(ax_context *ctx, seqpar_scratch *s);
/* Zero-fills `bytes` at `p` on the context's device. */
ax_status seqpar_zero(ax_context *ctx, void *p, int64_t bytes);

/* Sets every element of `t` to zero; `zero_f32` is 4 bytes of scratch on the context's device. */
ax_status seqpar_fill_zero(ax_context *ctx, const ax_tensor *t, float *zero_f32);

/* ---- packing strided tensors (pack.c, pack_cuda.cu) ---- */

/* Copies every element of `src` (any strides) into contiguous row-major `dst` of dtype dst_dtype,
 * converting between f32/bf16/f16 (round to nearest even). */
ax_status seqpar_pack(ax_context *ctx, const ax_tensor *src, void *dst, ax_dtype dst_dtype);
/* The inverse: contiguous row-major `src` of dtype src_dtype into `dst` (any strides). */
ax_status seqpar_unpack(ax_context *ctx, const void *src, ax_dtype src_dtype, const ax_tensor *dst);

/* ---- transport (transport.c, transport_nccl.c): contiguous buffers, counts in elements ---- */

ax_status seqpar_allgatherv(ax_context *ctx, ax_comm *comm, const void *send, void *recv, const int64_t *counts,
                            const int64_t *displs, ax_dtype wire);
ax_status seqpar_alltoallv(ax_context *ctx, ax_comm *comm, const void *send, const int64_t *send_counts,
                           const int64_t *send_displs, void *recv, const int64_t *recv_counts,
                           const int64_t *recv_displs, ax_dtype wire);
/* `send` holds every rank's block in rank order (counts[r] floats each); `recv` gets this rank's sum. */
ax_status seqpar_reduce_scatterv_f32(ax_context *ctx, ax_comm *comm, const float *send, float *recv,
                                     const int64_t *counts);
/* recv = sum over ranks of send; send == recv is in place. */
ax_status seqpar_allreduce_f32(ax_context *ctx, ax_comm *comm, const float *send, float *recv, int64_t count);
ax_status seqpar_mpi_error(int code, const char *what);

#if AXIAL_WITH_NCCL
/* Collective; `pre` is this rank's verdict so far (shared before any NCCL call). */
ax_status seqpar_nccl_init(ax_comm *comm, ax_status pre);
void seqpar_nccl_destroy(ax_comm *comm);
ax_status seqpar_nccl_allgatherv(ax_context *ctx, ax_comm *comm, const void *send, void *recv, const int64_t *counts,
                                 const int64_t *displs, size_t elem_size);
ax_status seqpar_nccl_alltoallv(ax_context *ctx, ax_comm *comm, const void *send, const int64_t *send_counts,
                                const int64_t *send_displs, void *recv, const int64_t *recv_counts,
                                const int64_t *recv_displs, size_t elem_size);
ax_status seqpar_nccl_reduce_scatterv_f32(ax_context *ctx, ax_comm *comm, const float *send, float *recv,
                                          const int64_t *counts);
ax_status seqpar_nccl_allreduce_f32(ax_context *ctx, ax_comm *comm, const float *send, float *recv, int64_t count);
#endif

#include "seqpar/seqpar_cuda.h"

/* ---- collective bodies (collectives_core.c): arguments already validated and agreed ---- */

/* The plans report the scratch bytes the body needs; the bodies take it from `s`. The tensors may
 * have different float dtypes (converted); `wire` is the dtype that travels. */
int64_t seqpar_gather_bytes(const ax_comm *comm, const ax_tensor *in, int32_t dim, const ax_tensor *out,
                            ax_dtype wire);
ax_status seqpar_gather_body(ax_context *ctx, ax_comm *comm, const ax_tensor *in, int32_t dim, const ax_tensor *out,
                             ax_dtype wire, seqpar_scratch *s);
int64_t seqpar_reduce_scatter_bytes(const ax_comm *comm, const ax_tensor *in, int32_t dim, const ax_tensor *out);
ax_status seqpar_reduce_scatter_body(ax_context *ctx, ax_comm *comm, const ax_tensor *in, int32_t dim,
                                     const ax_tensor *out, seqpar_scratch *s);
/* Several tensors re-sharded by one exchange (each rank's blocks of every tensor travel together). */
int64_t seqpar_all_to_all_bytes(const ax_comm *comm, int n, const ax_tensor *const *in, int32_t split_dim,
                                const ax_tensor *const *out, int32_t concat_dim, ax_dtype wire);
ax_status seqpar_all_to_all_body(ax_context *ctx, ax_comm *comm, int n, const ax_tensor *const *in,
                                 int32_t split_dim, int32_t concat_dim, const ax_tensor *const *out, ax_dtype wire,
                                 seqpar_scratch *s);

#endif /* AXIAL_SEQPAR_INTERNAL_H */
