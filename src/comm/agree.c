/*
 * agree.c — the argument agreement check: one MPI_Allreduce of a fixed-size int64 descriptor on
 * Axial's own communicator, before any data moves, so a mismatch is an error on every rank instead
 * of a hang or a crash. The reduction takes the minimum over one part of the descriptor (each value
 * and its negation: smallest and largest across ranks; the lowest failing rank) and the sum over the
 * other (the local lengths of split dimensions, plain and weighted by rank), which is enough to
 * verify the shard rule without knowing the totals beforehand.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <string.h>

#include "comm/comm_internal.h"

/* Layout of the reduced buffer: the status, the descriptor's own length (values and shards, each with
 * its negation), the values, the shard lengths (each with its negation), then the sums. */
#define LENGTH_SLOT 1
#define VALUE_SLOT(i) (5 + 2 * (i))
#define SHARD_SLOT(i) (5 + 2 * COMM_AGREE_MAX_VALUES + 2 * (i))
#define MIN_SLOTS (5 + 2 * COMM_AGREE_MAX_VALUES + 2 * COMM_AGREE_MAX_SHARDS)
#define SUM_SLOTS (2 * COMM_AGREE_MAX_SHARDS)
#define ALL_SLOTS (MIN_SLOTS + SUM_SLOTS)
#define NO_FAILURE INT64_MAX
/* A failing rank reports rank * STATUS_RADIX + status: the minimum is the lowest failing rank. */
#define STATUS_RADIX 16

/* The MPI_Op of the check, over `len` whole descriptors. */
static void agree_reduce(void *in, void *inout, int *len, MPI_Datatype *type) {
    (void)type;
    const int64_t *a = in;
    int64_t *b = inout;
    for (int64_t i = 0; i < (int64_t)*len * ALL_SLOTS; i++) {
        if (i % ALL_SLOTS < MIN_SLOTS) b[i] = a[i] < b[i] ? a[i] : b[i];
        else b[i] += a[i];
    }
}

ax_status comm_agree_setup(ax_comm *comm) {
    int rc = MPI_Type_contiguous(ALL_SLOTS, MPI_INT64_T, &comm->agree_type);
    if (rc == MPI_SUCCESS) rc = MPI_Type_commit(&comm->agree_type);
    if (rc != MPI_SUCCESS) {
        comm->agree_type = MPI_DATATYPE_NULL;
        return comm_mpi_error(rc, "MPI_Type_contiguous (agreement descriptor)");
    }
    rc = MPI_Op_create(agree_reduce, 1, &comm->agree_op);
    if (rc != MPI_SUCCESS) {
        comm->agree_op = MPI_OP_NULL;
        return comm_mpi_error(rc, "MPI_Op_create (agreement check)");
    }
    return AX_OK;
}

void comm_agree_teardown(ax_comm *comm) {
    if (comm->agree_op != MPI_OP_NULL) MPI_Op_free(&comm->agree_op);
    if (comm->agree_type != MPI_DATATYPE_NULL) MPI_Type_free(&comm->agree_type);
}

void comm_agree_init(comm_agreement *a, const char *op_name, int op_id, const ax_context *ctx) {
    memset(a, 0, sizeof *a);
    a->op_name = op_name;
    a->local_status = AX_OK;
    comm_agree_value(a, "the operation called", op_id);
    /* A measuring rank stops after the agreement while the others go on to exchange: a hang, unless
     * the ranks agree on it. (A NULL ctx fails the op's own checks.) */
    comm_agree_value(a, "the context's measure mode (ax_context_set_measure)", ctx != NULL && ctx->measure);
}

void comm_agree_dim(comm_agreement *a, const char *name, int dim, int64_t value) {
    if (a->n_values >= COMM_AGREE_MAX_VALUES) {
        comm_agree_fail(a, ax_set_error(AX_ERR_INTERNAL, "agreement descriptor of %s is full", a->op_name));
        return;
    }
    a->value_names[a->n_values] = name;
    a->value_dims[a->n_values] = dim;
    a->values[a->n_values++] = value;
}

/* What a value is, where it is not a tensor's dim (value_dims >= 0). */
enum { AGREE_PLAIN = -1, AGREE_PRESENCE = -2, AGREE_DTYPE = -3, AGREE_NDIM = -4, AGREE_FLOAT = -5 };

void comm_agree_value(comm_agreement *a, const char *name, int64_t value) {
    comm_agree_dim(a, name, AGREE_PLAIN, value);
}

void comm_agree_dtype(comm_agreement *a, const char *name, ax_dtype dtype) {
    comm_agree_dim(a, name, AGREE_DTYPE, (int64_t)dtype);
}

void comm_agree_float(comm_agreement *a, const char *name, float value) {
    if (value == 0.0f) value = 0.0f; /* -0 and 0 both mean "off" (capacity, loss weights) */
    uint32_t u;
    memcpy(&u, &value, sizeof u);
    comm_agree_dim(a, name, AGREE_FLOAT, (int64_t)u);
}

void comm_agree_tensor(comm_agreement *a, const char *name, const ax_tensor *t, unsigned agreed_dims) {
    comm_agree_dim(a, name, AGREE_PRESENCE, t != NULL);
    if (t == NULL) return;
    comm_agree_dim(a, name, AGREE_DTYPE, t->dtype);
    comm_agree_dim(a, name, AGREE_NDIM, t->ndim);
    for (int d = 0; d < t->ndim; d++)
        if (agreed_dims & (1u << d)) comm_agree_dim(a, name, d, t->shape[d]);
}

/* "q: dim 2", "bias_pair: presence (1 = given)", ... */
static void describe_value(const comm_agreement *a, int i, char *buf, size_t size) {
    const int dim = a->value_dims[i];
    if (dim >= 0) snprintf(buf, size, "%s: dim %d", a->value_names[i], dim);
    else if (dim == AGREE_PRESENCE) snprintf(buf, size, "%s: presence (1 = given, 0 = NULL)", a->value_names[i]);
    else if (dim == AGREE_DTYPE) snprintf(buf, size, "%s: dtype", a->value_names[i]);
    else if (dim == AGREE_NDIM) snprintf(buf, size, "%s: number of dims", a->value_names[i]);
    else snprintf(buf, size, "%s", a->value_names[i]);
}

/* One value of kind `dim` as the user wrote it: a dtype's name, a float, or the integer. (The
 * smallest and largest of a dtype or a float's bits are two of the values the ranks passed.) */
static void format_value(int dim, int64_t v, char *buf, size_t size) {
    if (dim == AGREE_DTYPE) {
        snprintf(buf, size, "%s", ax_dtype_name((ax_dtype)v));
    } else if (dim == AGREE_FLOAT) {
        const uint32_t u = (uint32_t)v;
        float f;
        memcpy(&f, &u, sizeof f);
        snprintf(buf, size, "%.9g", (double)f);
    } else {
        snprintf(buf, size, "%lld", (long long)v);
    }
}

int comm_agree_shard(comm_agreement *a, const char *name, int64_t local_length) {
    if (a->n_shards >= COMM_AGREE_MAX_SHARDS) {
        comm_agree_fail(a, ax_set_error(AX_ERR_INTERNAL, "agreement descriptor of %s is full", a->op_name));
        return 0;
    }
    a->shard_names[a->n_shards] = name;
    a->shards[a->n_shards] = local_length;
    return a->n_shards++;
}

void comm_agree_fail(comm_agreement *a, ax_status status) {
    if (a->local_status == AX_OK) a->local_status = status;
}

/* Rank r's shard of total T over P ranks is T/P + (r < T%P). Given every rank's length c_r only
 * through min, max, sum and the rank-weighted sum: the lengths are valid iff min >= T/P,
 * max <= T/P + (T%P > 0), and the ranks holding the larger length are 0 .. T%P - 1, i.e. the
 * weighted sum is (T/P) P(P-1)/2 + k(k-1)/2 with k = T%P (any other set of k ranks sums higher). */
static int shard_rule_holds(int64_t min, int64_t max, int64_t total, int64_t weighted, int64_t P) {
    const int64_t base = total / P, k = total % P;
    return min >= base && max <= base + (k > 0 ? 1 : 0) && weighted == base * (P * (P - 1) / 2) + k * (k - 1) / 2;
}

ax_status comm_agree(ax_comm *comm, comm_agreement *a) {
    int64_t buf[ALL_SLOTS];
    for (int i = 0; i < MIN_SLOTS; i++) buf[i] = NO_FAILURE; /* unused slots: neutral for min */
    for (int i = MIN_SLOTS; i < ALL_SLOTS; i++) buf[i] = 0;
    if (a->local_status != AX_OK) {
        buf[0] = (int64_t)comm->rank * STATUS_RADIX + (int64_t)a->local_status;
    } else {
        buf[LENGTH_SLOT] = a->n_values;
        buf[LENGTH_SLOT + 1] = -(int64_t)a->n_values;
        buf[LENGTH_SLOT + 2] = a->n_shards;
        buf[LENGTH_SLOT + 3] = -(int64_t)a->n_shards;
        for (int i = 0; i < a->n_values; i++) {
            buf[VALUE_SLOT(i)] = a->values[i];
            buf[VALUE_SLOT(i) + 1] = -a->values[i];
        }
        for (int i = 0; i < a->n_shards; i++) {
            buf[SHARD_SLOT(i)] = a->shards[i];
            buf[SHARD_SLOT(i) + 1] = -a->shards[i];
            buf[MIN_SLOTS + 2 * i] = a->shards[i];
            buf[MIN_SLOTS + 2 * i + 1] = a->shards[i] * comm->rank;
        }
    }
    const int rc = MPI_Allreduce(MPI_IN_PLACE, buf, 1, comm->agree_type, comm->agree_op, comm->mpi);
    if (rc != MPI_SUCCESS) return comm_mpi_error(rc, "agreement check (MPI_Allreduce)");

    if (buf[0] != NO_FAILURE) {
        const int64_t failing_rank = buf[0] / STATUS_RADIX;
        const ax_status status = (ax_status)(buf[0] % STATUS_RADIX);
        if (a->local_status != AX_OK) return comm_failed_too(a->op_name, a->local_status, status, failing_rank);
        return ax_set_error(status,
                            "%s: rank %lld rejected its arguments or scratch (%s; its ax_last_error() names the "
                            "argument); no data was exchanged",
                            a->op_name, (long long)failing_rank, ax_status_string(status));
    }
    for (int i = 0; i < a->n_values; i++) {
        const int64_t min = buf[VALUE_SLOT(i)], max = -buf[VALUE_SLOT(i) + 1];
        if (min != max) {
            if (i == 0)
                return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                                    "%s: the ranks called different distributed operations (ids %lld to %lld)",
                                    a->op_name, (long long)min, (long long)max);
        {
            char what[160], lo[48], hi[48], here[48];
            describe_value(a, i, what, sizeof what);
            const int kind = a->value_dims[i];
            format_value(kind, min, lo, sizeof lo);
            format_value(kind, max, hi, sizeof hi);
            format_value(kind, a->values[i], here, sizeof here);
            if (kind == AGREE_DTYPE || kind == AGREE_FLOAT)
                return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                                    "%s: %s differs across ranks (%s on some, %s on others; this rank %s)",
                                    a->op_name, what, lo, hi, here);
            return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                                "%s: %s differs across ranks (smallest %s, largest %s; this rank %s)", a->op_name,
                                what, lo, hi, here);
        }
        }
    }
    /* Values this rank did not describe met the others' as neutral slots and passed unseen: the
     * descriptors must have the same length (a different one means different code paths, which the
     * values compared above normally show first, e.g. a tensor given on one rank only). */
    for (int k = 0; k < 2; k++) {
        const int64_t min = buf[LENGTH_SLOT + 2 * k], max = -buf[LENGTH_SLOT + 2 * k + 1];
        if (min != max)
            return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                                "%s: the ranks described their arguments differently (%lld to %lld %s in the "
                                "agreement descriptor; this rank %lld): a different call or build on some rank",
                                a->op_name, (long long)min, (long long)max, k == 0 ? "values" : "split lengths",
                                (long long)(k == 0 ? a->n_values : a->n_shards));
    }
    const int64_t P = comm->size;
    for (int i = 0; i < a->n_shards; i++) {
        const int64_t min = buf[SHARD_SLOT(i)];
        const int64_t max = -buf[SHARD_SLOT(i) + 1];
        const int64_t total = buf[MIN_SLOTS + 2 * i], weighted = buf[MIN_SLOTS + 2 * i + 1];
        if (!shard_rule_holds(min, max, total, weighted, P))
            return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                                "%s: %s does not follow the shard rule: the ranks hold %lld to %lld of %lld in all, "
                                "but rank r must hold %lld + (r < %lld ? 1 : 0), the larger shards first (this rank "
                                "%d holds %lld, expected %lld)",
                                a->op_name, a->shard_names[i], (long long)min, (long long)max, (long long)total,
                                (long long)(total / P), (long long)(total % P), comm->rank, (long long)a->shards[i],
                                (long long)comm_shard_count(comm, total, comm->rank));
        a->shard_totals[i] = total;
    }
    return AX_OK;
}

ax_status comm_failed_too(const char *op_name, ax_status local, ax_status agreed, long long failing_rank) {
    if (agreed == local) return local; /* this rank's own failure decided: its message stands */
    char prefix[160];
    snprintf(prefix, sizeof prefix, "%s: rank %lld failed with %s, the status every rank returns; this rank's own error",
             op_name, failing_rank, ax_status_string(agreed));
    ax_error_prefix(prefix);
    return agreed;
}

ax_status comm_agree_status(ax_comm *comm, const char *op_name, ax_status local) {
    int64_t key = local == AX_OK ? NO_FAILURE : (int64_t)comm->rank * STATUS_RADIX + (int64_t)local;
    const int rc = MPI_Allreduce(MPI_IN_PLACE, &key, 1, MPI_INT64_T, MPI_MIN, comm->mpi);
    if (rc != MPI_SUCCESS) return comm_mpi_error(rc, "status agreement (MPI_Allreduce)");
    if (key == NO_FAILURE) return local;
    const ax_status status = (ax_status)(key % STATUS_RADIX);
    if (local != AX_OK) return comm_failed_too(op_name, local, status, (long long)(key / STATUS_RADIX));
    return ax_set_error(status, "%s: rank %lld failed (%s; see its ax_last_error()); the exchange was abandoned",
                        op_name, (long long)(key / STATUS_RADIX), ax_status_string(status));
}
