/*
 * seqpar_absent.c — the distributed attention in a build without MPI: no communicator can exist, so
 * every function that takes one says so (the communicator's own are in comm/comm_absent.c).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "axial/seqpar.h"
#include "core/internal.h"

static ax_status no_mpi(const char *fn) {
    return ax_set_error(AX_ERR_UNSUPPORTED, "%s: this build of Axial has no MPI (rebuild with AXIAL_MPI=ON)", fn);
}

ax_status ax_dap_row_to_col(ax_context *ctx, ax_comm *comm, const ax_tensor *in, ax_tensor *out) {
    (void)ctx; (void)comm; (void)in; (void)out;
    return no_mpi("ax_dap_row_to_col");
}

ax_status ax_dap_col_to_row(ax_context *ctx, ax_comm *comm, const ax_tensor *in, ax_tensor *out) {
    (void)ctx; (void)comm; (void)in; (void)out;
    return no_mpi("ax_dap_col_to_row");
}

ax_status ax_evoformer_attention_forward_dap(ax_context *ctx, ax_comm *comm, const ax_tensor *q, const ax_tensor *k,
                                             const ax_tensor *v, const ax_tensor *bias_mask,
                                             const ax_tensor *bias_pair_shard, ax_tensor *out, ax_tensor *lse) {
    (void)ctx; (void)comm; (void)q; (void)k; (void)v; (void)bias_mask; (void)bias_pair_shard; (void)out; (void)lse;
    return no_mpi("ax_evoformer_attention_forward_dap");
}

ax_status ax_evoformer_attention_backward_dap(ax_context *ctx, ax_comm *comm, const ax_tensor *q, const ax_tensor *k,
                                              const ax_tensor *v, const ax_tensor *bias_mask,
                                              const ax_tensor *bias_pair_shard, const ax_tensor *out,
                                              const ax_tensor *lse, const ax_tensor *dout, ax_tensor *dq,
                                              ax_tensor *dk, ax_tensor *dv, ax_tensor *dbias_mask,
                                              ax_tensor *dbias_pair_shard) {
    (void)ctx; (void)comm; (void)q; (void)k; (void)v; (void)bias_mask; (void)bias_pair_shard; (void)out; (void)lse;
    (void)dout; (void)dq; (void)dk; (void)dv; (void)dbias_mask; (void)dbias_pair_shard;
    return no_mpi("ax_evoformer_attention_backward_dap");
}

ax_status ax_evoformer_attention_forward_ulysses(ax_context *ctx, ax_comm *comm, const ax_tensor *q,
                                                 const ax_tensor *k, const ax_tensor *v,
                                                 const ax_tensor *bias_mask_shard, const ax_tensor *bias_pair_shard,
                                                 ax_tensor *out, ax_tensor *lse) {
    (void)ctx; (void)comm; (void)q; (void)k; (void)v; (void)bias_mask_shard; (void)bias_pair_shard; (void)out;
    (void)lse;
    return no_mpi("ax_evoformer_attention_forward_ulysses");
}

ax_status ax_evoformer_attention_backward_ulysses(ax_context *ctx, ax_comm *comm, const ax_tensor *q,
                                                  const ax_tensor *k, const ax_tensor *v,
                                                  const ax_tensor *bias_mask_shard, const ax_tensor *bias_pair_shard,
                                                  const ax_tensor *out, const ax_tensor *lse, const ax_tensor *dout,
                                                  ax_tensor *dq, ax_tensor *dk, ax_tensor *dv,
                                                  ax_tensor *dbias_mask_shard, ax_tensor *dbias_pair_shard) {
    (void)ctx; (void)comm; (void)q; (void)k; (void)v; (void)bias_mask_shard; (void)bias_pair_shard; (void)out;
    (void)lse; (void)dout; (void)dq; (void)dk; (void)dv; (void)dbias_mask_shard; (void)dbias_pair_shard;
    return no_mpi("ax_evoformer_attention_backward_ulysses");
}
