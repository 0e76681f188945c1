/*
 * comm_absent.c — the communicator and collectives in a build without MPI: no communicator can exist,
 * so every function that takes one says so. ax_shard_range (shard.c) works in every build.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "axial/comm.h"
#include "core/internal.h"

static ax_status no_mpi(const char *fn) {
    return ax_set_error(AX_ERR_UNSUPPORTED, "%s: this build of Axial has no MPI (rebuild with AXIAL_MPI=ON)", fn);
}

void ax_comm_destroy(ax_comm *comm) { (void)comm; }
int ax_comm_rank(const ax_comm *comm) { (void)comm; return -1; }
int ax_comm_size(const ax_comm *comm) { (void)comm; return -1; }

ax_status ax_all_gather(ax_context *ctx, ax_comm *comm, const ax_tensor *in, int32_t dim, ax_tensor *out) {
    (void)ctx; (void)comm; (void)in; (void)dim; (void)out;
    return no_mpi("ax_all_gather");
}

ax_status ax_reduce_scatter(ax_context *ctx, ax_comm *comm, const ax_tensor *in, int32_t dim, ax_tensor *out) {
    (void)ctx; (void)comm; (void)in; (void)dim; (void)out;
    return no_mpi("ax_reduce_scatter");
}

ax_status ax_all_reduce(ax_context *ctx, ax_comm *comm, const ax_tensor *in, ax_tensor *out) {
    (void)ctx; (void)comm; (void)in; (void)out;
    return no_mpi("ax_all_reduce");
}

ax_status ax_all_to_all(ax_context *ctx, ax_comm *comm, const ax_tensor *in, int32_t split_dim, int32_t concat_dim,
                        ax_tensor *out) {
    (void)ctx; (void)comm; (void)in; (void)split_dim; (void)concat_dim; (void)out;
    return no_mpi("ax_all_to_all");
}

ax_status ax_all_to_all_v(ax_context *ctx, ax_comm *comm, const ax_tensor *send, const int64_t *send_counts,
                          ax_tensor *recv, int64_t *recv_counts) {
    (void)ctx; (void)comm; (void)send; (void)send_counts; (void)recv; (void)recv_counts;
    return no_mpi("ax_all_to_all_v");
}
