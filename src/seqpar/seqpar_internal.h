/*
 * seqpar_internal.h — private pieces of the distributed Evoformer attention (dap.c, ulysses.c): the
 * operation ids they agree on and their local tensor contract, written once for both modes.
 * Everything they build on (the communicator, the agreement, scratch, the collective bodies) is in
 * comm/comm_internal.h.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_SEQPAR_INTERNAL_H
#define AXIAL_SEQPAR_INTERNAL_H

#include "axial/seqpar.h"
#include "comm/comm_internal.h"
#include "core/tensor_spec.h"

/* Operation ids of the agreement check, after the communicator's own. */
enum {
    SEQPAR_OP_DAP_FORWARD = COMM_OP_CLIENT_BASE,
    SEQPAR_OP_DAP_BACKWARD,
    SEQPAR_OP_ULYSSES_FORWARD,
    SEQPAR_OP_ULYSSES_BACKWARD
};

/* The tensors of a distributed attention call, in the order of its parameters, which is also the
 * order of the checks (and the index a spec's dtype_as / like refers to). */
enum {
    SP_Q, SP_K, SP_V, SP_MASK, SP_PAIR, SP_OUT, SP_LSE, SP_DOUT, SP_DQ, SP_DK, SP_DV, SP_DMASK, SP_DPAIR, SP_COUNT
};

/* What one mode's local contract is made of; everything else both modes share (seqpar_check). Only
 * this rank's tensors are checked: what must match across ranks is the agreement's business. */
typedef struct seqpar_contract {
    const char *act[5];        /* dims of q (a float dtype) and of k, v, out, dout, dq, dk, dv (q's dtype) */
    const char *lse[4];        /* dims of lse (f32; optional in the forward) */
    ax_tensor_spec mask, pair; /* the optional biases, `t` left NULL; dtype_as indexes the SP_ order */
    const char *dmask_name, *dpair_name; /* their gradients' names (each exactly like its bias) */
} seqpar_contract;

/* The communicator and context (comm_check_ctx), then every tensor of the call against `c`: `t` holds
 * the SP_COUNT tensors in the SP_ order (only up to SP_LSE for the forward). Dims bind in `dims`, for
 * the caller's derived checks and the agreement. Sets the message of the first failure. */
ax_status seqpar_check(const ax_context *ctx, const ax_comm *comm, const seqpar_contract *c,
                       const ax_tensor *const *t, int backward, ax_dims *dims);

#endif /* AXIAL_SEQPAR_INTERNAL_H */
