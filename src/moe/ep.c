/*
 * ep.c — the MoE layer with its experts sharded over a communicator (expert parallelism):
 * ax_moe_ffn_forward_ep and ax_moe_ffn_backward_ep.
 *
 * Each rank routes its own tokens and dispatches them into global expert order, so its sorted rows
 * are already grouped by destination rank (rank s holds experts [offset(s), offset(s) + count(s)) by
 * the shard rule). The per-expert row counts travel first (one MPI_Alltoallv of int64 on the
 * communicator's MPI duplicate, also for NCCL: they are host arrays), then the rows (the transport's
 * all-to-all-v: MPI_Alltoallv, or grouped NCCL send/receive). What arrives is in source-rank order;
 * ax_moe_dispatch with k = 1 and each row's local expert regroups it by local expert (a stable
 * permutation), the local experts run (moe_experts_forward, the single-rank layer's code), and
 * ax_moe_combine without weights undoes the regrouping before the results travel back to be
 * combined with the routing weights. The backward recomputes all of this and runs the same
 * exchanges in reverse for the rows' gradients.
 *
 * One agreement before any data moves (shapes, dtypes, config, the shard rule of the local expert
 * counts), then a status agreement before every exchange, so a rank whose local step failed fails
 * every rank instead of leaving them waiting. The rows move with the transport rather than the
 * public ax_all_to_all_v: the call's arguments are agreed once, not once per exchange, and the
 * layer's scratch (in the communicator's buffer) stays in place across the exchanges.
 *
 * Host synchronisation on CUDA: the per-expert counts are read back once per call
 * (ax_copy_to_host, which waits for the routing), and the regrouping ids are uploaded once.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

#include "moe/moe_internal.h"

#if AXIAL_WITH_MPI

#include <limits.h>

#include "comm/comm_internal.h"

static const char FORWARD[] = "ax_moe_ffn_forward_ep";
static const char BACKWARD[] = "ax_moe_ffn_backward_ep";

/* Agreement ids, clear of the sequence-parallel ones (seqpar/seqpar_internal.h). */
enum { MOE_OP_FFN_FORWARD_EP = COMM_OP_CLIENT_BASE + 16, MOE_OP_FFN_BACKWARD_EP };

/* The host side of the exchanges: who holds which experts, and the rows going each way. */
typedef struct ep_plan {
    int P, rank;
    int64_t E_here, first_expert; /* this rank's experts */
    int64_t *expert_rows;         /* (E): rows this rank routed to each expert */
    int64_t *arrive;              /* (P, E_here): rows from rank s for local expert i */
    int64_t *send_rows, *recv_rows; /* (P) each */
    int64_t *send_elems, *send_displs, *recv_elems, *recv_displs; /* (P) each, in elements of a row */
    int64_t R_sent, R_recv;       /* rows sent (= offsets[E]) and received */
} ep_plan;

static ax_status ep_plan_alloc(ep_plan *pl, const ax_comm *comm, int64_t E, int64_t E_here, int64_t first) {
    memset(pl, 0, sizeof *pl);
    pl->P = comm->size, pl->rank = comm->rank, pl->E_here = E_here, pl->first_expert = first;
    const int64_t n = E + (int64_t)pl->P * (E_here + 6);
    int64_t *all = calloc((size_t)n, sizeof(int64_t));
    if (all == NULL) return ax_set_error(AX_ERR_OUT_OF_MEMORY, "expert parallelism: %lld int64 of host plan", (long long)n);
    pl->expert_rows = all;
    pl->arrive = all + E;
    int64_t *rest = pl->arrive + (int64_t)pl->P * E_here;
    pl->send_rows = rest, pl->recv_rows = rest + pl->P;
    pl->send_elems = rest + 2 * pl->P, pl->send_displs = rest + 3 * pl->P;
    pl->recv_elems = rest + 4 * pl->P, pl->recv_displs = rest + 5 * pl->P;
    return AX_OK;
}

static void ep_plan_free(ep_plan *pl) { free(pl->expert_rows); }

/* The counts: this rank's rows per expert (from the dispatch's offsets), exchanged so every rank
 * learns the rows arriving for each of its experts from each rank. */
static ax_status ep_plan_exchange(ax_context *ctx, ax_comm *comm, const char *name, const moe_layer *L,
                                  const ax_tensor *offsets, ep_plan *pl) {
    const int64_t E = L->E;
    int64_t *host_offsets = malloc(sizeof(int64_t) * (size_t)(E + 1));
    /* A failure here still takes part in the agreement below, which every rank enters. */
    ax_status st = AX_OK;
    if (host_offsets == NULL)
        st = ax_set_error(AX_ERR_OUT_OF_MEMORY, "expert parallelism: host offsets");
    else if (ctx->device.type == AX_CUDA)
        st = ax_copy_to_host(ctx, host_offsets, offsets->data, sizeof(int64_t) * (size_t)(E + 1));
    else
        memcpy(host_offsets, offsets->data, sizeof(int64_t) * (size_t)(E + 1));
    if (st == AX_OK) {
        for (int64_t e = 0; e < E; e++) pl->expert_rows[e] = host_offsets[e + 1] - host_offsets[e];
        pl->R_sent = host_offsets[E];
    }
    free(host_offsets);
    st = comm_agree_status(comm, name, st);
    if (st != AX_OK) return st;
    /* rank s gets the counts of its experts: count(s) int64 from each rank */
    int *ints = comm->mpi_counts;
    const int P = pl->P;
    int64_t sum_arrive = 0;
    for (int s = 0; s < P; s++) {
        ints[s] = (int)comm_shard_count(comm, E, s);
        ints[P + s] = (int)comm_shard_offset(comm, E, s);
        ints[2 * P + s] = (int)pl->E_here;
        ints[3 * P + s] = s * (int)pl->E_here;
    }
    const int rc = MPI_Alltoallv(pl->expert_rows, ints, ints + P, MPI_INT64_T, pl->arrive, ints + 2 * P, ints + 3 * P,
                                 MPI_INT64_T, comm->mpi);
    if (rc != MPI_SUCCESS) return comm_mpi_error(rc, "expert parallelism: exchanging the row counts (MPI_Alltoallv)");
    for (int s = 0; s < P; s++) {
        const int64_t first = comm_shard_offset(comm, E, s), count = comm_shard_count(comm, E, s);
        pl->send_rows[s] = 0;
        for (int64_t e = first; e < first + count; e++) pl->send_rows[s] += pl->expert_rows[e];
        pl->recv_rows[s] = 0;
        for (int64_t i = 0; i < pl->E_here; i++) pl->recv_rows[s] += pl->arrive[s * pl->E_here + i];
        sum_arrive += pl->recv_rows[s];
    }
    pl->R_recv = sum_arrive;
    return AX_OK;
}

/* Element counts and displacements of one exchange of rows of `row_elems` elements; `forward`: this
 * rank's sorted rows out to the experts' ranks, else the experts' results back. */
static void ep_plan_elems(ep_plan *pl, int64_t row_elems, int forward) {
    const int64_t *out = forward ? pl->send_rows : pl->recv_rows, *in = forward ? pl->recv_rows : pl->send_rows;
    int64_t so = 0, ro = 0;
    for (int s = 0; s < pl->P; s++) {
        pl->send_elems[s] = out[s] * row_elems, pl->send_displs[s] = so, so += pl->send_elems[s];
        pl->recv_elems[s] = in[s] * row_elems, pl->recv_displs[s] = ro, ro += pl->recv_elems[s];
    }
}

static ax_status ep_exchange(ax_context *ctx, ax_comm *comm, ep_plan *pl, const ax_tensor *send, ax_tensor *recv,
                             int forward) {
    ep_plan_elems(pl, send->shape[1], forward);
    return comm_alltoallv(ctx, comm, send->data, pl->send_elems, pl->send_displs, recv->data, pl->recv_elems,
                          pl->recv_displs, send->dtype);
}

/* ---- the agreement ---- */

static void agree_layer(comm_agreement *a, const ax_moe_ffn_config *cfg, const ax_tensor *x,
                        const ax_moe_ffn_weights *w, const moe_layer *L, moe_call call, int *shard) {
    comm_agree_value(a, "w->router: dim 0 (E)", L->E);
    comm_agree_value(a, "x: dim 1 (D)", L->D);
    comm_agree_value(a, "w->gate: dim 1 (F)", L->F);
    comm_agree_value(a, "w->dense_gate: dim 0 (Fd; 0 without PR-MoE)", L->Fd);
    comm_agree_value(a, "cfg->route.top_k", L->k);
    comm_agree_value(a, "cfg->route.gating", cfg->route.gating);
    comm_agree_value(a, "cfg->route.normalize (nonzero or not)", cfg->route.normalize != 0);
    comm_agree_float(a, "cfg->route.capacity_factor", cfg->route.capacity_factor);
    comm_agree_value(a, "cfg->route.min_capacity", cfg->route.min_capacity);
    comm_agree_value(a, "cfg->act", cfg->act);
    /* Shapes are tied to these sizes by each rank's own check; what is left to agree is dtypes. */
    comm_agree_dtype(a, "x", x->dtype);
    comm_agree_dtype(a, "w->router", w->router->dtype);
    comm_agree_dtype(a, "w->gate", w->gate->dtype);
    comm_agree_dtype(a, "w->up", w->up->dtype);
    comm_agree_dtype(a, "w->down", w->down->dtype);
    if (L->dense) {
        comm_agree_dtype(a, "w->dense_gate", w->dense_gate->dtype);
        comm_agree_dtype(a, "w->dense_up", w->dense_up->dtype);
        comm_agree_dtype(a, "w->dense_down", w->dense_down->dtype);
    }
    if (call == MOE_BACKWARD) {
        comm_agree_float(a, "cfg->aux_coef", cfg->aux_coef);
        comm_agree_float(a, "cfg->z_coef", cfg->z_coef);
    }
    *shard = comm_agree_shard(a, "w->gate: dim 0 (E_here, this rank's experts)", L->E_here);
}

/* ---- one call, either direction ---- */

typedef struct ep_call {
    ax_comm *comm;
    const ax_moe_ffn_config *cfg;
    const ax_tensor *x;
    const ax_moe_ffn_weights *w;
    ax_tensor *y, *losses;            /* forward */
    const ax_tensor *dy;              /* backward */
    ax_tensor *dx;
    const ax_moe_ffn_grads *g;
    moe_call call;
    const char *name;
} ep_call;

/* Scratch of this rank's own tokens (routing, sorted rows, the results that come back, and for the
 * backward their gradients; y's fp32 sum and the dense MLP). */
static int64_t local_bytes(const moe_layer *L, moe_call call) {
    const int64_t Tk = L->T * L->k;
    const ax_dtype wire = call == MOE_BACKWARD ? AX_F32 : L->xdtype;
    int64_t bytes = moe_routed_bytes(L, wire) + moe_buf_bytes(AX_F32, Tk, L->D) + moe_dense_bytes(L, call);
    if (call == MOE_BACKWARD)
        bytes += moe_buf_bytes(AX_F32, Tk, L->D) + moe_buf_bytes(AX_F32, L->T, L->k) + moe_buf_bytes(AX_F32, L->T, L->E);
    else
        bytes += 2 * moe_buf_bytes(AX_F32, L->T, L->D) + moe_buf_bytes(AX_F32, 2, MOE_VECTOR);
    return bytes;
}

/* Scratch of the arriving rows: xr, the local ids, xg, offsets and rows of the regrouping, gs, us, hs,
 * yg, yr, and for the backward dyr, dyg (the rows' gradients) and tmp. */
static int64_t remote_bytes(const moe_layer *L, moe_call call, int64_t Rr) {
    const ax_dtype wire = call == MOE_BACKWARD ? AX_F32 : L->xdtype;
    int64_t bytes = 2 * moe_buf_bytes(wire, Rr, L->D) + moe_buf_bytes(AX_I32, Rr, 1) +
                    moe_buf_bytes(AX_I64, L->E_here + 1, MOE_VECTOR) + moe_buf_bytes(AX_I64, Rr, 1) +
                    3 * moe_buf_bytes(AX_F32, Rr, L->F) + 2 * moe_buf_bytes(AX_F32, Rr, L->D);
    if (call == MOE_BACKWARD) bytes += 3 * moe_buf_bytes(AX_F32, Rr, L->D);
    return bytes;
}

static ax_tensor take(comm_scratch *s, ax_context *ctx, ax_dtype dtype, int64_t rows, int64_t cols) {
    const int64_t shape[2] = {rows, cols};
    ax_tensor t;
    (void)ax_tensor_contiguous(&t, NULL, dtype, cols == MOE_VECTOR ? 1 : 2, shape);
    t.device = ctx->device;
    t.data = comm_scratch_take(s, moe_buf_bytes(dtype, rows, cols));
    return t;
}

/* The local ids of the arriving rows (source-rank order, within a source by local expert), written
 * on the host and uploaded on CUDA. */
static ax_status fill_local_ids(ax_context *ctx, const ep_plan *pl, ax_tensor *lid) {
    int32_t *host = ctx->device.type == AX_CUDA ? malloc(sizeof(int32_t) * (size_t)(pl->R_recv + 1)) : lid->data;
    if (host == NULL) return ax_set_error(AX_ERR_OUT_OF_MEMORY, "expert parallelism: %lld host ids", (long long)pl->R_recv);
    int64_t at = 0;
    for (int s = 0; s < pl->P; s++)
        for (int64_t i = 0; i < pl->E_here; i++)
            for (int64_t n = 0; n < pl->arrive[s * pl->E_here + i]; n++) host[at++] = (int32_t)i;
    ax_status st = AX_OK;
    if (ctx->device.type == AX_CUDA) {
        if (pl->R_recv > 0) st = ax_copy_to_device(ctx, lid->data, host, sizeof(int32_t) * (size_t)pl->R_recv);
        free(host);
    }
    return st;
}

/* The forward (and the backward's recomputation) of everything that happens on the experts' side
 * and back: returns with the results of this rank's rows in ys_back (R_sent, D) f32. */
typedef struct ep_remote {
    ax_tensor xr, lid, xg, off_l, rows_l, gs, us, hs, yg, yr, dyr, dyg, tmp;
} ep_remote;

static ax_status ep_experts_forward(ax_context *ctx, ep_call *c, const moe_layer *L, ep_plan *pl, moe_routed *r,
                                    ep_remote *m, ax_tensor *ys_back) {
    ax_comm *comm = c->comm;
    ax_tensor xs_sent = moe_rows(&r->xs, pl->R_sent);
    ax_status st = ep_exchange(ctx, comm, pl, &xs_sent, &m->xr, 1);
    if (st == AX_OK && L->E_here > 0) {
        st = fill_local_ids(ctx, pl, &m->lid);
        if (st == AX_OK) st = ax_moe_dispatch(ctx, &m->xr, &m->lid, L->E_here, 1, &m->xg, &m->off_l, NULL, &m->rows_l);
        if (st == AX_OK)
            st = moe_experts_forward(ctx, c->cfg->act, &m->xg, &m->off_l, c->w->gate, c->w->up, c->w->down, &m->gs,
                                     &m->us, &m->hs, &m->yg);
        if (st == AX_OK) st = ax_moe_combine(ctx, &m->yg, &m->rows_l, NULL, &m->yr);
    }
    st = comm_agree_status(comm, c->name, st);
    if (st == AX_OK) st = ep_exchange(ctx, comm, pl, &m->yr, ys_back, 0);
    return st;
}

/* Measure mode, after the local block (status st) was counted: the rows other ranks will send are
 * known only from the counts exchange, which measure mode does not make, so count the most any
 * routing can send here: each of rank r's T_r tokens sends at most min(k, E_here) rows to this rank's
 * experts, and with a capacity at most C_r (rank r's capacity, from T_r) rows reach each expert.
 * The T_r travel in one MPI_Allgather, after a status agreement: every rank gathers or none does, and
 * none gathers without the array to receive them in. Counted as the real call holds them: both blocks
 * at once, and the experts' grouped GEMMs over those rows. */
static ax_status ep_measure_remote(ax_context *ctx, ax_comm *comm, const ep_call *c, const moe_layer *L,
                                   ax_status st) {
    int64_t *T_all = malloc(sizeof(int64_t) * (size_t)comm->size);
    if (st == AX_OK && T_all == NULL)
        st = ax_set_error(AX_ERR_OUT_OF_MEMORY, "expert parallelism: %d int64 of host plan", comm->size);
    st = comm_agree_status(comm, c->name, st);
    if (st != AX_OK) {
        free(T_all);
        return st;
    }
    const int64_t T = L->T;
    const int rc = MPI_Allgather(&T, 1, MPI_INT64_T, T_all, 1, MPI_INT64_T, comm->mpi);
    if (rc != MPI_SUCCESS)
        st = comm_mpi_error(rc, "expert parallelism: gathering the token counts (MPI_Allgather)");
    int64_t R = 0;
    for (int r = 0; st == AX_OK && r < comm->size; r++) {
        const int64_t per_token = L->k < L->E_here ? L->k : L->E_here;
        int64_t rows = T_all[r] * per_token;
        const int64_t cap = moe_capacity(T_all[r], L->E, &c->cfg->route);
        if (cap >= 0 && cap * L->E_here < rows) rows = cap * L->E_here;
        R += rows;
    }
    free(T_all);
    if (st == AX_OK) st = ax_context_reserve_own_workspace(ctx, local_bytes(L, c->call) + remote_bytes(L, c->call, R));
    if (st == AX_OK) {
        moe_layer Lr = *L; /* the experts' rows: R rows, one choice each */
        Lr.T = R;
        Lr.k = 1;
        st = moe_experts_reserve_bound(ctx, &Lr, c->call == MOE_BACKWARD ? AX_F32 : L->xdtype, c->w, c->call);
    }
    return comm_agree_status(comm, c->name, st); /* counted, as agreed on every rank */
}

static ax_status ep_run(ax_context *ctx, ep_call *c) {
    ax_comm *comm = c->comm;
    moe_layer L;
    memset(&L, 0, sizeof L);
    comm_agreement a;
    comm_agree_init(&a, c->name, c->call == MOE_FORWARD ? MOE_OP_FFN_FORWARD_EP : MOE_OP_FFN_BACKWARD_EP, ctx);
    ax_status st = comm_check_ctx(ctx, comm);
    if (st == AX_OK)
        st = moe_ffn_check(ctx, c->cfg, c->x, c->w, c->y, c->losses, c->dy, c->dx, c->g, c->call, 1, &L);
    int shard = 0;
    if (st == AX_OK) {
        agree_layer(&a, c->cfg, c->x, c->w, &L, c->call, &shard);
        if (c->call == MOE_FORWARD) {
            comm_agree_dtype(&a, "y", c->y->dtype);
            comm_agree_value(&a, "losses: presence (1 = given, 0 = NULL)", c->losses != NULL);
        } else {
            comm_agree_value(&a, "dx: presence (1 = given, 0 = NULL)", c->dx != NULL);
        }
    }
    comm_agree_fail(&a, st);
    AX_CHECK(comm_agree(comm, &a));
    /* E_here sums to E on every rank alike (both are agreed), so this fails everywhere or nowhere. */
    if (a.shard_totals[shard] != L.E)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                            "w->gate: dim 0 (E_here) sums to %lld over the ranks, expected E = %lld (the router's "
                            "experts, sharded by ax_shard_range)",
                            (long long)a.shard_totals[shard], (long long)L.E);
    const int bwd = c->call == MOE_BACKWARD;
    const ax_dtype wire = bwd ? AX_F32 : L.xdtype;
    moe_scratch s;
    st = moe_scratch_open(ctx, local_bytes(&L, c->call), 0, &s);
    if (ctx->measure) return ep_measure_remote(ctx, comm, c, &L, st);
    ep_plan pl;
    memset(&pl, 0, sizeof pl);
    if (st == AX_OK) st = ep_plan_alloc(&pl, comm, L.E, L.E_here, comm_shard_offset(comm, L.E, comm->rank));
    moe_routed r;
    memset(&r, 0, sizeof r);
    ax_tensor ys_back = {0}, dys = {0}, dweights = {0}, dlogits = {0}, ymoe = {0}, yd = {0}, losses = {0};
    if (st == AX_OK) {
        moe_routed_take(&s, &L, wire, &r);
        ys_back = moe_buf(&s, AX_F32, L.T * L.k, L.D);
        if (bwd) {
            dys = moe_buf(&s, AX_F32, L.T * L.k, L.D);
            dweights = moe_buf(&s, AX_F32, L.T, L.k);
            dlogits = moe_buf(&s, AX_F32, L.T, L.E);
        } else {
            ymoe = moe_buf(&s, AX_F32, L.T, L.D);
            yd = moe_buf(&s, AX_F32, L.T, L.D);
            /* The losses land in scratch and reach the caller only once the whole call has succeeded:
             * the exchanges after routing may still fail on some rank. */
            losses = moe_buf(&s, AX_F32, 2, MOE_VECTOR);
        }
        st = moe_route_dispatch(ctx, c->cfg, &L, c->x, c->w->router, !bwd && c->losses != NULL ? &losses : NULL,
                                &r);
    }
    st = comm_agree_status(comm, c->name, st);
    if (st == AX_OK) st = ep_plan_exchange(ctx, comm, c->name, &L, &r.offsets, &pl);

    /* The arriving rows' buffers, in the communicator's scratch (their size is known only now). */
    comm_scratch s2 = {0};
    ep_remote m;
    memset(&m, 0, sizeof m);
    if (st == AX_OK) {
        const int64_t Rr = pl.R_recv;
        if (comm->backend == COMM_MPI && (pl.R_sent * L.D > INT_MAX || Rr * L.D > INT_MAX))
            st = ax_set_error(AX_ERR_UNSUPPORTED,
                              "%s: this rank sends %lld and receives %lld rows of %lld, more than one MPI call moves "
                              "(INT_MAX elements)",
                              c->name, (long long)pl.R_sent, (long long)Rr, (long long)L.D);
        if (st == AX_OK) {
            /* Both blocks are held at once: the limit and the peak count them together (each is
             * also reserved alone, by its own allocation). */
            st = ax_context_reserve_own_workspace(ctx, local_bytes(&L, c->call) + remote_bytes(&L, c->call, Rr));
        }
        if (st == AX_OK) st = comm_scratch_alloc(ctx, comm, &s2, remote_bytes(&L, c->call, Rr));
        if (st == AX_OK) {
            m.xr = take(&s2, ctx, wire, Rr, L.D), m.xg = take(&s2, ctx, wire, Rr, L.D);
            m.lid = take(&s2, ctx, AX_I32, Rr, 1), m.off_l = take(&s2, ctx, AX_I64, L.E_here + 1, MOE_VECTOR);
            m.rows_l = take(&s2, ctx, AX_I64, Rr, 1);
            m.gs = take(&s2, ctx, AX_F32, Rr, L.F), m.us = take(&s2, ctx, AX_F32, Rr, L.F);
            m.hs = take(&s2, ctx, AX_F32, Rr, L.F);
            m.yg = take(&s2, ctx, AX_F32, Rr, L.D), m.yr = take(&s2, ctx, AX_F32, Rr, L.D);
            if (bwd) {
                m.dyr = take(&s2, ctx, AX_F32, Rr, L.D), m.dyg = take(&s2, ctx, AX_F32, Rr, L.D);
                m.tmp = take(&s2, ctx, AX_F32, Rr, L.D);
            }
        }
    }
    /* Outside the `if`: ep_plan_exchange's MPI_Alltoallv can fail on one rank only, and every rank
     * must make the same number of status agreements or the others wait in one forever. */
    st = comm_agree_status(comm, c->name, st);
    if (st == AX_OK) st = ep_experts_forward(ctx, c, &L, &pl, &r, &m, &ys_back);
    ax_tensor yb = moe_rows(&ys_back, pl.R_sent);
    if (!bwd) {
        /* Combine, then the dense MLP as on one rank: what can fail on one rank only runs into
         * scratch, and y and the losses are written once every rank has got that far. (Without the
         * dense MLP and with an f32 y, the combine writes y itself, after the agreement.) */
        const int direct = !L.dense && c->y->dtype == AX_F32;
        if (st == AX_OK && !direct) st = ax_moe_combine(ctx, &yb, &r.rows, &r.weights, &ymoe);
        if (st == AX_OK && L.dense) st = moe_dense_forward(ctx, &s, &L, c->cfg->act, c->x, c->w, &yd);
        st = comm_agree_status(comm, c->name, st);
        if (st == AX_OK && direct) st = ax_moe_combine(ctx, &yb, &r.rows, &r.weights, c->y);
        else if (st == AX_OK && L.dense) st = ax_rms_norm_residual(ctx, &yd, &ymoe, NULL, 0.0f, &yd, c->y);
        else if (st == AX_OK) st = ax_tensor_copy(ctx, &ymoe, c->y);
        if (st == AX_OK && c->losses != NULL) st = ax_tensor_copy(ctx, &losses, c->losses);
    } else {
        ax_tensor dyb = moe_rows(&dys, pl.R_sent);
        if (st == AX_OK) st = ax_moe_combine_backward(ctx, c->dy, &yb, &r.rows, &r.weights, &dyb, &dweights);
        st = comm_agree_status(comm, c->name, st);
        if (st == AX_OK) st = ep_exchange(ctx, comm, &pl, &dyb, &m.dyr, 1);
        if (st == AX_OK && L.E_here > 0) {
            /* The same ids regroup the gradients exactly as they regrouped the rows. */
            st = ax_moe_dispatch(ctx, &m.dyr, &m.lid, L.E_here, 1, &m.dyg, &m.off_l, NULL, &m.rows_l);
            if (st == AX_OK)
                st = moe_experts_backward(ctx, c->cfg->act, &m.xg, &m.off_l, c->w->gate, c->w->up, c->w->down, &m.gs,
                                          &m.us, &m.hs, &m.dyg, &m.tmp, c->g->gate, c->g->up, c->g->down);
            if (st == AX_OK) st = ax_moe_combine(ctx, &m.dyg, &m.rows_l, NULL, &m.yr);
        }
        /* (A rank without experts has empty expert gradients: nothing to write.) */
        st = comm_agree_status(comm, c->name, st);
        if (st == AX_OK) st = ep_exchange(ctx, comm, &pl, &m.yr, &dyb, 0);
        if (st == AX_OK && c->dx != NULL) st = ax_moe_combine(ctx, &dyb, &r.rows, NULL, c->dx);
        if (st == AX_OK)
            st = moe_router_backward(ctx, c->cfg, c->x, c->w->router, &r.logits, &dweights, &dlogits, c->g->router,
                                     c->dx);
        if (st == AX_OK && L.dense) st = moe_dense_backward(ctx, &s, &L, c->cfg->act, c->x, c->w, c->dy, c->dx, c->g);
    }
    comm_scratch_free(ctx, &s2);
    moe_scratch_close(&s);
    ep_plan_free(&pl);
    return comm_agree_status(comm, c->name, st);
}

ax_status ax_moe_ffn_forward_ep(ax_context *ctx, ax_comm *comm, const ax_moe_ffn_config *cfg, const ax_tensor *x,
                                const ax_moe_ffn_weights *w, ax_tensor *y, ax_tensor *losses) {
    if (comm == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "comm: NULL communicator");
    ep_call c = {.comm = comm, .cfg = cfg, .x = x, .w = w, .y = y, .losses = losses, .call = MOE_FORWARD, .name = FORWARD};
    return ep_run(ctx, &c);
}

ax_status ax_moe_ffn_backward_ep(ax_context *ctx, ax_comm *comm, const ax_moe_ffn_config *cfg, const ax_tensor *x,
                                 const ax_moe_ffn_weights *w, const ax_tensor *dy, ax_tensor *dx,
                                 const ax_moe_ffn_grads *grads) {
    if (comm == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "comm: NULL communicator");
    ep_call c = {.comm = comm, .cfg = cfg, .x = x, .w = w, .dy = dy, .dx = dx, .g = grads, .call = MOE_BACKWARD,
                 .name = BACKWARD};
    return ep_run(ctx, &c);
}

#else /* no MPI: no communicator can exist */

static ax_status no_mpi(const char *fn) {
    return ax_set_error(AX_ERR_UNSUPPORTED, "%s: this build of Axial has no MPI (rebuild with AXIAL_MPI=ON)", fn);
}

ax_status ax_moe_ffn_forward_ep(ax_context *ctx, ax_comm *comm, const ax_moe_ffn_config *cfg, const ax_tensor *x,
                                const ax_moe_ffn_weights *w, ax_tensor *y, ax_tensor *losses) {
    (void)ctx, (void)comm, (void)cfg, (void)x, (void)w, (void)y, (void)losses;
    return no_mpi("ax_moe_ffn_forward_ep");
}

ax_status ax_moe_ffn_backward_ep(ax_context *ctx, ax_comm *comm, const ax_moe_ffn_config *cfg, const ax_tensor *x,
                                 const ax_moe_ffn_weights *w, const ax_tensor *dy, ax_tensor *dx,
                                 const ax_moe_ffn_grads *grads) {
    (void)ctx, (void)comm, (void)cfg, (void)x, (void)w, (void)dy, (void)dx, (void)grads;
    return no_mpi("ax_moe_ffn_backward_ep");
}

#endif
