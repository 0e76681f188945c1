/*
 * test_moe_ep.c — expert parallelism (ax_moe_ffn_forward_ep / _backward_ep) under real mpiexec:
 * every rank builds the same global layer (all E experts, the router, the dense MLP) and its own,
 * uneven share of the tokens (some ranks none), holds its experts by the shard rule (E = 6, and E = 3
 * so that on 4 ranks one rank holds none), and compares
 *   - y and the losses with ax_moe_ffn_forward on its own tokens with all experts, and y with the
 *     float64 reference layer (test_moe_ffn_reference.h);
 *   - dx with ax_moe_ffn_backward on its own tokens; its experts' gradients with the sum over ranks
 *     of every rank's single-rank expert gradients (the experts see every rank's rows); the router
 *     and dense gradients summed over ranks with the single-rank ones summed likewise;
 * with capacity on (drops), and the hybrid layout on 4 ranks: 2 expert-parallel groups x 2
 * data-parallel (MPI_Comm_split), expert gradients all-reduced over the data-parallel comm. The
 * forward also with bf16 rows and q8_0 experts (MPI), against the single-rank op.
 * Errors on every rank with nothing written: E, capacity or a dtype differing across ranks (the
 * backward's too, dx untouched), k > E, local expert counts off the shard rule.
 *
 *   mpiexec -n P test_moe_ep           CPU tensors over an MPI communicator (P = 1, 2 or 4)
 *   mpiexec -n P test_moe_ep --nccl    the same cases with the expert-parallel calls on CUDA tensors
 *                                      over an NCCL communicator (ax_comm_create_nccl), one GPU per
 *                                      rank (NCCL refuses two ranks on one device): each case's host
 *                                      tensors are copied to the device (moe_test_device.h), outputs
 *                                      poisoned with NaN there and brought back; the single-rank
 *                                      comparisons stay on the CPU, so the CPU op is the reference.
 *                                      Exit 77 (skip) without NCCL in the build or with fewer GPUs
 *                                      than ranks on a node.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <mpi.h>

#include "axial/comm.h"
#include "axial/moe.h"
#include "harness.h"
#include "moe_test_device.h"
#include "test_moe_ffn_reference.h"

enum { D = 16, F = 12, K = 2 };

static ax_context *ctx;            /* the CPU: references, and the MPI runs */
static ax_context *gpu;            /* --nccl: this rank's device */
static int use_nccl, gpu_id;
static int world_rank, world_size;

/* The expert-parallel communicator of a case: MPI for CPU tensors, NCCL on this rank's GPU. */
static ax_status ep_comm_create(ax_comm **out, MPI_Comm mpi) {
    return use_nccl ? ax_comm_create_nccl(out, mpi, gpu_id) : ax_comm_create_mpi(out, mpi);
}

/* The expert-parallel calls: on the CPU the host tensors themselves; with --nccl device copies of
 * them on this rank's GPU (moe_test_device.h). poison: fill the outputs with NaN first; else their
 * current values travel, for the checks that a failing call writes nothing. */
static ax_status ep_forward(ax_comm *comm, const ax_moe_ffn_config *cfg, const ax_tensor *x,
                            const ax_moe_ffn_weights *w, ax_tensor *y, ax_tensor *losses, int poison) {
    dev_mirror m;
    dm_ffn_args a;
    dm_begin(&m, use_nccl ? gpu : NULL);
    dm_forward_args(&m, x, w, y, losses, &a);
    ax_status st = AX_ERR_INTERNAL;
    if (dm_upload(&m, poison) == 0)
        st = ax_moe_ffn_forward_ep(use_nccl ? gpu : ctx, comm, cfg, a.x, &a.w, a.y, a.losses);
    dm_finish(&m);
    return st;
}

static ax_status ep_backward(ax_comm *comm, const ax_moe_ffn_config *cfg, const ax_tensor *x,
                             const ax_moe_ffn_weights *w, const ax_tensor *dy, ax_tensor *dx,
                             const ax_moe_ffn_grads *g) {
    dev_mirror m;
    dm_ffn_args a;
    dm_begin(&m, use_nccl ? gpu : NULL);
    dm_backward_args(&m, x, w, dy, dx, g, &a);
    ax_status st = AX_ERR_INTERNAL;
    if (dm_upload(&m, 1) == 0)
        st = ax_moe_ffn_backward_ep(use_nccl ? gpu : ctx, comm, cfg, a.x, &a.w, a.dy, a.dx, &a.g);
    dm_finish(&m);
    return st;
}

static ax_tensor tensor(void *data, ax_dtype dt, int32_t ndim, int64_t d0, int64_t d1, int64_t d2) {
    ax_tensor t;
    const int64_t shape[3] = {d0, d1, d2};
    ax_tensor_contiguous(&t, data, dt, ndim, shape);
    return t;
}

static float *rand_f(int64_t n, double scale) {
    float *a = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    for (int64_t i = 0; i < n; i++) a[i] = (float)th_uniform(-scale, scale);
    return a;
}

static double *to_d(const float *a, int64_t n) {
    double *d = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
    for (int64_t i = 0; i < n; i++) d[i] = a[i];
    return d;
}

/* The global layer, identical on every rank (one seed). */
typedef struct layer {
    int64_t E, Fd;
    float *router, *gate, *up, *down, *dgate, *dup, *ddown;
} layer;

static void layer_make(layer *l, int64_t E, int64_t Fd, uint64_t seed) {
    th_seed(seed);
    l->E = E, l->Fd = Fd;
    l->router = rand_f(E * D, 2.0 / 4.0);
    l->gate = rand_f(E * F * D, 1.5 / 4.0);
    l->up = rand_f(E * F * D, 1.5 / 4.0);
    l->down = rand_f(E * D * F, 1.5 / sqrt((double)F));
    l->dgate = Fd ? rand_f(Fd * D, 1.5 / 4.0) : NULL;
    l->dup = Fd ? rand_f(Fd * D, 1.5 / 4.0) : NULL;
    l->ddown = Fd ? rand_f(D * Fd, 1.5 / sqrt((double)(Fd ? Fd : 1))) : NULL;
}

static void layer_free(layer *l) {
    free(l->router), free(l->gate), free(l->up), free(l->down), free(l->dgate), free(l->dup), free(l->ddown);
}

/* Weight tensors: all experts (first = 0, count = E) or a shard. */
typedef struct views {
    ax_tensor router, gate, up, down, dg, du, dd;
    ax_moe_ffn_weights w;
} views;

static void views_make(const layer *l, int64_t first, int64_t count, views *v) {
    v->router = tensor(l->router, AX_F32, 2, l->E, D, 0);
    v->gate = tensor(l->gate + first * F * D, AX_F32, 3, count, F, D);
    v->up = tensor(l->up + first * F * D, AX_F32, 3, count, F, D);
    v->down = tensor(l->down + first * D * F, AX_F32, 3, count, D, F);
    memset(&v->w, 0, sizeof v->w);
    v->w.router = &v->router, v->w.gate = &v->gate, v->w.up = &v->up, v->w.down = &v->down;
    if (l->Fd) {
        v->dg = tensor(l->dgate, AX_F32, 2, l->Fd, D, 0);
        v->du = tensor(l->dup, AX_F32, 2, l->Fd, D, 0);
        v->dd = tensor(l->ddown, AX_F32, 2, D, l->Fd, 0);
        v->w.dense_gate = &v->dg, v->w.dense_up = &v->du, v->w.dense_down = &v->dd;
    }
}

/* Gradient buffers for E_here experts. */
typedef struct grads {
    float *router, *gate, *up, *down, *dg, *du, *dd;
    ax_tensor t[7];
    ax_moe_ffn_grads g;
    int64_t n[7];
} grads;

static void grads_make(grads *g, int64_t E, int64_t E_here, int64_t Fd) {
    const int64_t n[7] = {E * D, E_here * F * D, E_here * F * D, E_here * D * F, Fd * D, Fd * D, D * Fd};
    float **p[7] = {&g->router, &g->gate, &g->up, &g->down, &g->dg, &g->du, &g->dd};
    for (int i = 0; i < 7; i++) {
        g->n[i] = n[i];
        *p[i] = calloc((size_t)(n[i] + 1), sizeof(float));
    }
    g->t[0] = tensor(g->router, AX_F32, 2, E, D, 0);
    g->t[1] = tensor(g->gate, AX_F32, 3, E_here, F, D);
    g->t[2] = tensor(g->up, AX_F32, 3, E_here, F, D);
    g->t[3] = tensor(g->down, AX_F32, 3, E_here, D, F);
    g->t[4] = tensor(g->dg, AX_F32, 2, Fd, D, 0);
    g->t[5] = tensor(g->du, AX_F32, 2, Fd, D, 0);
    g->t[6] = tensor(g->dd, AX_F32, 2, D, Fd, 0);
    ax_moe_ffn_grads gg = {&g->t[0], &g->t[1], &g->t[2], &g->t[3], NULL, NULL, NULL};
    if (Fd) gg.dense_gate = &g->t[4], gg.dense_up = &g->t[5], gg.dense_down = &g->t[6];
    g->g = gg;
}

static void grads_free(grads *g) {
    free(g->router), free(g->gate), free(g->up), free(g->down), free(g->dg), free(g->du), free(g->dd);
}

static void sum_over(MPI_Comm comm, float *a, int64_t n) {
    if (n > 0) MPI_Allreduce(MPI_IN_PLACE, a, (int)n, MPI_FLOAT, MPI_SUM, comm);
}

/* EP against the single-rank op: the same fp32 operations on the same rows, grouped differently, so
 * only summation order differs (grouped GEMM segments, the ranks' sums of expert gradients): a few
 * units of 2^-24 of the magnitudes; 1e-5 of the largest value (+1e-6) is a wide margin that any
 * misrouted row (an O(1) change) still fails. */
static void check_close(const char *what, const float *got, const float *want, int64_t n) {
    double scale = 0.0, err = 0.0;
    for (int64_t i = 0; i < n; i++) {
        scale = fmax(scale, fabs((double)want[i]));
        err = fmax(err, fabs((double)got[i] - (double)want[i]));
    }
    th_checks++;
    if (!(err <= 1e-5 * scale + 1e-6)) TH_FAIL("rank %d: %s: max error %.3g (max |ref| %.3g)", world_rank, what, err, scale);
}

/* The tokens of every rank, rows of `dim` values (one seed on every rank); returns this rank's rows. */
static float *tokens_of(const int64_t *T_per_rank, int P, int rank, int64_t dim, int64_t *T_here) {
    int64_t T_all = 0, first = 0;
    for (int r = 0; r < P; r++) {
        if (r == rank) first = T_all;
        T_all += T_per_rank[r];
    }
    th_seed(777);
    float *all = rand_f(T_all * dim, 1.0);
    *T_here = T_per_rank[rank];
    float *mine = malloc(sizeof(float) * (size_t)(*T_here * dim + 1));
    memcpy(mine, all + first * dim, sizeof(float) * (size_t)(*T_here * dim));
    free(all);
    return mine;
}

/* One EP case on `comm` (rank, size of it); the data-parallel comm for the hybrid layout, or NULL. */
static void ep_case(MPI_Comm mpi, MPI_Comm dp_mpi, int64_t E, int64_t Fd, const int64_t *T_per_rank,
                    float capacity_factor, int expect_drops) {
    int rank, P;
    MPI_Comm_rank(mpi, &rank);
    MPI_Comm_size(mpi, &P);
    ax_comm *comm = NULL;
    CHECK_OK(ep_comm_create(&comm, mpi));
    layer l;
    layer_make(&l, E, Fd, 100 + (uint64_t)E);
    int64_t first = 0, count = 0;
    CHECK_OK(ax_shard_range(E, P, rank, &first, &count));
    /* the hybrid layout: the EP group's tokens are a slice of the world's, by world rank */
    int64_t T = 0;
    float *x = tokens_of(T_per_rank, world_size, world_rank, D, &T);
    views all, mine;
    views_make(&l, 0, E, &all);
    views_make(&l, first, count, &mine);
    ax_moe_ffn_config cfg = AX_MOE_FFN_CONFIG_INIT;
    cfg.route.top_k = K;
    cfg.route.capacity_factor = capacity_factor;
    cfg.aux_coef = 0.1f, cfg.z_coef = 0.01f;

    /* forward */
    float *y = malloc(sizeof(float) * (size_t)(T * D + 1)), *y1 = malloc(sizeof(float) * (size_t)(T * D + 1));
    float loss[2], loss1[2];
    ax_tensor tx = tensor(x, AX_F32, 2, T, D, 0), ty = tensor(y, AX_F32, 2, T, D, 0), ty1 = tensor(y1, AX_F32, 2, T, D, 0);
    ax_tensor tl = tensor(loss, AX_F32, 1, 2, 0, 0), tl1 = tensor(loss1, AX_F32, 1, 2, 0, 0);
    CHECK_OK(ep_forward(comm, &cfg, &tx, &mine.w, &ty, &tl, 1));
    CHECK_OK(ax_moe_ffn_forward(ctx, &cfg, &tx, &all.w, &ty1, &tl1));
    check_close("y vs ax_moe_ffn_forward", y, y1, T * D);
    check_close("losses", loss, loss1, 2);
    if (capacity_factor == 0.0f) {
        /* Without capacity a token's routing does not depend on the others: rank r's y is its slice of
         * the single-rank layer on the concatenation of every rank's tokens. */
        int64_t T_all = 0, at = 0;
        const int64_t *tp = T_per_rank;
        for (int i = 0; i < world_size; i++) {
            if (i == world_rank) at = T_all;
            T_all += tp[i];
        }
        th_seed(777);
        float *x_all = rand_f(T_all * D, 1.0), *y_all = malloc(sizeof(float) * (size_t)(T_all * D + 1));
        ax_tensor txa = tensor(x_all, AX_F32, 2, T_all, D, 0), tya = tensor(y_all, AX_F32, 2, T_all, D, 0);
        CHECK_OK(ax_moe_ffn_forward(ctx, &cfg, &txa, &all.w, &tya, NULL));
        check_close("y vs the concatenation's rows", y, y_all + at * D, T * D);
        free(x_all), free(y_all);
    }
    /* and against float64 */
    ref_moe m = {.T = T, .D = D, .E = E, .F = F, .Fd = Fd, .k = K, .gating = AX_MOE_SOFTMAX_TOPK, .normalize = 1,
                 .act = AX_ACT_SILU, .capacity_factor = capacity_factor};
    double *xd = to_d(x, T * D), *rd = to_d(l.router, E * D), *gd = to_d(l.gate, E * F * D), *ud = to_d(l.up, E * F * D);
    double *dd = to_d(l.down, E * D * F), *dgd = Fd ? to_d(l.dgate, Fd * D) : NULL, *dud = Fd ? to_d(l.dup, Fd * D) : NULL;
    double *ddd = Fd ? to_d(l.ddown, D * Fd) : NULL;
    m.x = xd, m.router = rd, m.gate = gd, m.up = ud, m.down = dd, m.dgate = dgd, m.dup = dud, m.ddown = ddd;
    ref_out r;
    ref_forward(&m, &r);
    if (use_nccl) {
        /* The device's fp32 logits (cuBLAS, or the decode kernel) and the CPU reference's differ by a
         * few units of 2^-24 of the terms (at most ~16 * 4 * 2^-24 = 4e-6 here), which moves a gap
         * between two softmax probabilities by less than 2e-5: with wider top-k gaps both route alike,
         * as the comparisons with the CPU op assume. A property of the seeds (the narrowest is 8.5e-5). */
        th_checks++;
        if (!(r.min_gap > 2e-5))
            TH_FAIL("rank %d: near tie in the routing (p gap %.3g): pick another seed", world_rank, r.min_gap);
    }
    double scale = 0.0, err = 0.0;
    for (int64_t i = 0; i < T * D; i++) {
        scale = fmax(scale, fabs(r.y[i]));
        err = fmax(err, fabs((double)y[i] - r.y[i]));
    }
    th_checks++;
    if (!(err <= 2e-5 * scale + 1e-7)) TH_FAIL("rank %d: y vs float64: %.3g (max |y| %.3g)", world_rank, err, scale);
    /* the case drops choices somewhere in the group when it should */
    int64_t dropped = r.dropped;
    MPI_Allreduce(MPI_IN_PLACE, &dropped, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
    if (expect_drops) CHECK(dropped > 0);
    ref_out_free(&r);

    /* backward */
    float *dy = rand_f(T * D, 1.0), *dx = malloc(sizeof(float) * (size_t)(T * D + 1));
    float *dx1 = malloc(sizeof(float) * (size_t)(T * D + 1));
    ax_tensor tdy = tensor(dy, AX_F32, 2, T, D, 0), tdx = tensor(dx, AX_F32, 2, T, D, 0), tdx1 = tensor(dx1, AX_F32, 2, T, D, 0);
    grads ge, g1;
    grads_make(&ge, E, count, Fd);
    grads_make(&g1, E, E, Fd);
    CHECK_OK(ep_backward(comm, &cfg, &tx, &mine.w, &tdy, &tdx, &ge.g));
    CHECK_OK(ax_moe_ffn_backward(ctx, &cfg, &tx, &all.w, &tdy, &tdx1, &g1.g));
    check_close("dx", dx, dx1, T * D);
    /* single-rank gradients of all ranks' tokens (the world's), summed */
    for (int i = 0; i < 7; i++) sum_over(MPI_COMM_WORLD, i == 1 ? g1.gate : i == 2 ? g1.up : i == 3 ? g1.down :
                                                         i == 0 ? g1.router : i == 4 ? g1.dg : i == 5 ? g1.du : g1.dd, g1.n[i]);
    /* router and dense: data parallelism sums them over the world */
    sum_over(MPI_COMM_WORLD, ge.router, ge.n[0]);
    sum_over(MPI_COMM_WORLD, ge.dg, ge.n[4]);
    sum_over(MPI_COMM_WORLD, ge.du, ge.n[5]);
    sum_over(MPI_COMM_WORLD, ge.dd, ge.n[6]);
    check_close("grads->router (summed)", ge.router, g1.router, ge.n[0]);
    if (Fd) {
        check_close("grads->dense_gate (summed)", ge.dg, g1.dg, ge.n[4]);
        check_close("grads->dense_up (summed)", ge.du, g1.du, ge.n[5]);
        check_close("grads->dense_down (summed)", ge.dd, g1.dd, ge.n[6]);
    }
    /* experts: complete for the EP group's rows; the hybrid layout all-reduces them over the
     * data-parallel group (with Axial's own all-reduce) */
    if (dp_mpi != MPI_COMM_NULL) {
        /* on the host copies, also with --nccl: what is checked here is the layer's, not the all-reduce */
        ax_comm *dp = NULL;
        CHECK_OK(ax_comm_create_mpi(&dp, dp_mpi));
        for (int i = 1; i <= 3; i++)
            if (ge.n[i] > 0) CHECK_OK(ax_all_reduce(ctx, dp, &ge.t[i], &ge.t[i]));
        ax_comm_destroy(dp);
    }
    check_close("grads->gate (this rank's experts)", ge.gate, g1.gate + first * F * D, count * F * D);
    check_close("grads->up (this rank's experts)", ge.up, g1.up + first * F * D, count * F * D);
    check_close("grads->down (this rank's experts)", ge.down, g1.down + first * D * F, count * D * F);

    grads_free(&ge), grads_free(&g1);
    free(dy), free(dx), free(dx1), free(y), free(y1), free(x);
    free(xd), free(rd), free(gd), free(ud), free(dd), free(dgd), free(dud), free(ddd);
    layer_free(&l);
    ax_comm_destroy(comm);
}

static const int64_t *tokens_for(int P) {
    /* uneven, with a rank that has none (its zero-size buffers and exchanges, NCCL's too) */
    static const int64_t t1[1] = {13}, t2[2] = {9, 0}, t4[4] = {7, 0, 11, 3};
    return P == 1 ? t1 : P == 2 ? t2 : P == 4 ? t4 : NULL;
}

static const int64_t *tokens_every_rank(int P) {
    /* uneven, every rank holding some: rows cross both ways between every pair */
    static const int64_t t1[1] = {13}, t2[2] = {4, 9}, t4[4] = {7, 2, 11, 3};
    return P == 1 ? t1 : P == 2 ? t2 : P == 4 ? t4 : NULL;
}

static void test_e6_dense(void) { ep_case(MPI_COMM_WORLD, MPI_COMM_NULL, 6, 8, tokens_for(world_size), 0.0f, 0); }
static void test_e6_every_rank_tokens(void) {
    ep_case(MPI_COMM_WORLD, MPI_COMM_NULL, 6, 0, tokens_every_rank(world_size), 0.0f, 0);
}
static void test_e3_capacity(void) {
    /* E = 3 over 4 ranks: rank 3 holds no expert; capacity 0.7 drops choices */
    ep_case(MPI_COMM_WORLD, MPI_COMM_NULL, 3, 0, tokens_for(world_size), 0.7f, 1);
}
static void test_e6_capacity_dense(void) { ep_case(MPI_COMM_WORLD, MPI_COMM_NULL, 6, 5, tokens_for(world_size), 0.8f, 1); }

/* 4 ranks: EP groups {0, 1} and {2, 3}; data-parallel groups {0, 2} and {1, 3} hold the same experts. */
static void test_hybrid(void) {
    if (world_size != 4) return;
    MPI_Comm ep, dp;
    MPI_Comm_split(MPI_COMM_WORLD, world_rank / 2, world_rank, &ep);
    MPI_Comm_split(MPI_COMM_WORLD, world_rank % 2, world_rank, &dp);
    ep_case(ep, dp, 5, 6, tokens_for(4), 0.9f, 1);
    MPI_Comm_free(&ep);
    MPI_Comm_free(&dp);
}

/* bf16 rows and q8_0 experts (forward): the rows travel in bf16 and meet block-quantized experts;
 * EP against ax_moe_ffn_forward on this rank's rows with every expert. Each row's routing and
 * products are computed alike in both (ax_qmatmul per row), so y agrees to its bf16 rounding. */
static void test_bf16_rows_q8_0_experts(void) {
    if (use_nccl) return; /* the device mirror (moe_test_device.h) copies the f32 layouts only */
    enum { D2 = 64, F2 = 32 };
    const int64_t E = 6, rows_g = (D2 / 32) * 34, rows_d = (F2 / 32) * 34; /* bytes per q8_0 row */
    ax_comm *comm = NULL;
    CHECK_OK(ep_comm_create(&comm, MPI_COMM_WORLD));
    int64_t first = 0, count = 0;
    CHECK_OK(ax_shard_range(E, world_size, world_rank, &first, &count));
    th_seed(4242);
    float *router = rand_f(E * D2, 0.5), *gate = rand_f(E * F2 * D2, 0.3), *up = rand_f(E * F2 * D2, 0.3);
    float *down = rand_f(E * D2 * F2, 0.3);
    uint8_t *gq = malloc((size_t)(E * F2 * rows_g)), *uq = malloc((size_t)(E * F2 * rows_g));
    uint8_t *dq = malloc((size_t)(E * D2 * rows_d));
    CHECK_OK(ax_convert(gate, AX_F32, gq, AX_Q8_0, E * F2 * D2));
    CHECK_OK(ax_convert(up, AX_F32, uq, AX_Q8_0, E * F2 * D2));
    CHECK_OK(ax_convert(down, AX_F32, dq, AX_Q8_0, E * D2 * F2));
    /* this rank's tokens, in bf16 */
    int64_t T = 0;
    float *x = tokens_of(tokens_every_rank(world_size), world_size, world_rank, D2, &T);
    uint16_t *xb = malloc(sizeof(uint16_t) * (size_t)(T * D2 + 1));
    uint16_t *y = malloc(sizeof(uint16_t) * (size_t)(T * D2 + 1));
    uint16_t *y1 = malloc(sizeof(uint16_t) * (size_t)(T * D2 + 1));
    CHECK_OK(ax_convert(x, AX_F32, xb, AX_BF16, T * D2));
    ax_tensor tx = tensor(xb, AX_BF16, 2, T, D2, 0), ty = tensor(y, AX_BF16, 2, T, D2, 0);
    ax_tensor ty1 = tensor(y1, AX_BF16, 2, T, D2, 0), tr = tensor(router, AX_F32, 2, E, D2, 0);
    ax_tensor all[3] = {tensor(gq, AX_Q8_0, 3, E, F2, D2), tensor(uq, AX_Q8_0, 3, E, F2, D2),
                        tensor(dq, AX_Q8_0, 3, E, D2, F2)};
    ax_tensor mine[3] = {tensor(gq + first * F2 * rows_g, AX_Q8_0, 3, count, F2, D2),
                         tensor(uq + first * F2 * rows_g, AX_Q8_0, 3, count, F2, D2),
                         tensor(dq + first * D2 * rows_d, AX_Q8_0, 3, count, D2, F2)};
    ax_moe_ffn_weights w_all = {0}, w_mine = {0};
    w_all.router = w_mine.router = &tr;
    w_all.gate = &all[0], w_all.up = &all[1], w_all.down = &all[2];
    w_mine.gate = &mine[0], w_mine.up = &mine[1], w_mine.down = &mine[2];
    ax_moe_ffn_config cfg = AX_MOE_FFN_CONFIG_INIT;
    cfg.route.top_k = K;
    CHECK_OK(ep_forward(comm, &cfg, &tx, &w_mine, &ty, NULL, 1));
    CHECK_OK(ax_moe_ffn_forward(ctx, &cfg, &tx, &w_all, &ty1, NULL));
    float *yf = malloc(sizeof(float) * (size_t)(T * D2 + 1)), *y1f = malloc(sizeof(float) * (size_t)(T * D2 + 1));
    CHECK_OK(ax_convert(y, AX_BF16, yf, AX_F32, T * D2));
    CHECK_OK(ax_convert(y1, AX_BF16, y1f, AX_F32, T * D2));
    double scale = 0.0, err = 0.0;
    for (int64_t i = 0; i < T * D2; i++) {
        scale = fmax(scale, fabs((double)y1f[i]));
        err = fmax(err, fabs((double)yf[i] - (double)y1f[i]));
    }
    th_checks++;
    if (!(err <= 0x1p-8 * scale && (T == 0 || scale > 0.1)))
        TH_FAIL("rank %d: bf16 y vs ax_moe_ffn_forward: %.3g (max |y| %.3g)", world_rank, err, scale);
    free(router), free(gate), free(up), free(down), free(gq), free(uq), free(dq);
    free(x), free(xb), free(y), free(y1), free(yf), free(y1f);
    ax_comm_destroy(comm);
}

/* Every rank fails alike, and y is untouched. */
static void expect_error_all(ax_comm *comm, const ax_moe_ffn_config *cfg, const ax_tensor *tx,
                             const ax_moe_ffn_weights *w, float *y, int64_t n, const char *needle) {
    for (int64_t i = 0; i < n; i++) y[i] = 321.0f;
    ax_tensor ty = tensor(y, AX_F32, 2, n / D, D, 0);
    CHECK_STATUS(ep_forward(comm, cfg, tx, w, &ty, NULL, 0), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), needle);
    int same = 1;
    for (int64_t i = 0; i < n; i++) same &= y[i] == 321.0f;
    CHECK(same);
}

static void test_errors(void) {
    ax_comm *comm = NULL;
    CHECK_OK(ep_comm_create(&comm, MPI_COMM_WORLD));
    const int64_t E = 6, T = 4;
    layer l;
    layer_make(&l, E, 0, 5);
    int64_t first = 0, count = 0;
    ax_shard_range(E, world_size, world_rank, &first, &count);
    th_seed(9);
    float *x = rand_f(T * D, 1.0), y[4 * D];
    ax_tensor tx = tensor(x, AX_F32, 2, T, D, 0);
    views v;
    views_make(&l, first, count, &v);
    ax_moe_ffn_config cfg = AX_MOE_FFN_CONFIG_INIT;
    /* k > E on every rank: each rank's own check, shared */
    cfg.route.top_k = 7;
    expect_error_all(comm, &cfg, &tx, &v.w, y, T * D, "top_k");
    cfg.route.top_k = 2;
    if (world_size > 1) {
        /* E differing: rank 0 sees one expert fewer in its router */
        views v2 = v;
        if (world_rank == 0) v2.router.shape[0] = E - 1;
        v2.w.router = &v2.router;
        expect_error_all(comm, &cfg, &tx, &v2.w, y, T * D,
                         "w->router: dim 0 (E) differs across ranks (smallest 5, largest 6");
        /* a float setting differing: named, with the values as numbers (they had been the bits) */
        ax_moe_ffn_config c2 = cfg;
        c2.route.capacity_factor = world_rank == 0 ? 1.5f : 2.0f;
        expect_error_all(comm, &c2, &tx, &v.w, y, T * D,
                         "cfg->route.capacity_factor differs across ranks (1.5 on some, 2 on others; this rank ");
        CHECK_CONTAINS(ax_last_error(), world_rank == 0 ? "this rank 1.5)" : "this rank 2)");
        if (!use_nccl) {
            /* the backward alike, dx untouched */
            float dyb[4 * D], dxb[4 * D];
            for (int64_t i = 0; i < T * D; i++) dyb[i] = 1.0f, dxb[i] = 321.0f;
            ax_tensor tdy = tensor(dyb, AX_F32, 2, T, D, 0), tdx = tensor(dxb, AX_F32, 2, T, D, 0);
            ax_moe_ffn_grads no_grads = {0};
            CHECK_STATUS(ax_moe_ffn_backward_ep(ctx, comm, &c2, &tx, &v.w, &tdy, &tdx, &no_grads),
                         AX_ERR_INVALID_ARGUMENT);
            CHECK_CONTAINS(ax_last_error(), "cfg->route.capacity_factor differs across ranks (1.5 on some, 2");
            int untouched = 1;
            for (int64_t i = 0; i < T * D; i++) untouched &= dxb[i] == 321.0f;
            CHECK(untouched);
        }
        /* a dtype differing: named (rank 0's router in bf16, which one rank alone may take) */
        uint16_t router16[6 * D];
        for (int64_t i = 0; i < E * D; i++) router16[i] = ax_f32_to_bf16(l.router[i]);
        views v4 = v;
        if (world_rank == 0) v4.router = tensor(router16, AX_BF16, 2, E, D, 0);
        v4.w.router = &v4.router;
        expect_error_all(comm, &cfg, &tx, &v4.w, y, T * D, "w->router: dtype differs across ranks (f32 on some, bf16");
        /* local expert counts off the shard rule: rank 0 one expert fewer, the last rank one more */
        views v3;
        int64_t c3 = count + (world_rank == 0 ? -1 : world_rank == world_size - 1 ? 1 : 0);
        int64_t f3 = first + (world_rank == 0 ? 0 : -1);
        if (world_rank == world_size - 1 && world_size == 2) f3 = first - 1;
        views_make(&l, f3 < 0 ? 0 : f3, c3, &v3);
        expect_error_all(comm, &cfg, &tx, &v3.w, y, T * D, "E_here");
    } else {
        /* one rank holding fewer than the router's experts */
        views v3;
        views_make(&l, 0, E - 1, &v3);
        expect_error_all(comm, &cfg, &tx, &v3.w, y, T * D, "E_here");
    }
    /* and the communicator still works afterwards */
    ax_tensor ty = tensor(y, AX_F32, 2, T, D, 0);
    CHECK_OK(ep_forward(comm, &cfg, &tx, &v.w, &ty, NULL, 1));
    /* -0.0 and 0.0 mean the same ("off"): odd ranks pass -0.0 for the capacity and both loss
     * weights, the agreement passes (it had compared the bits), forward and backward */
    ax_moe_ffn_config zeros = cfg;
    if (world_rank % 2 == 1) zeros.route.capacity_factor = zeros.aux_coef = zeros.z_coef = -0.0f;
    CHECK_OK(ep_forward(comm, &zeros, &tx, &v.w, &ty, NULL, 1));
    ax_moe_ffn_grads none = {0};
    if (!use_nccl) CHECK_OK(ax_moe_ffn_backward_ep(ctx, comm, &zeros, &tx, &v.w, &ty, NULL, &none));
    free(x);
    layer_free(&l);
    ax_comm_destroy(comm);
}

/* Measure mode counts, besides this rank's own scratch, the most scratch any routing can make the
 * rows other ranks send it need (it stops before the counts exchange; before, it counted only its
 * own block, and a context limited to what it reported failed). Per layout, tokens per rank uneven:
 * the real call's peak is at most what measure mode reported on every rank, a limit of the largest
 * report lets the real call through, and a limit one byte below the largest real peak fails on
 * every rank (the limit counts the two blocks together, as they are held at once). */
static void test_workspace_measure_bounds_the_call(void) {
    if (use_nccl) return; /* the same code on either device; the CPU run checks it */
    ax_comm *comm = NULL;
    CHECK_OK(ep_comm_create(&comm, MPI_COMM_WORLD));
    /* Many experts and top-1 (the local block, logits (T, E) among it, is the larger one); few
     * experts, top-2 and a capacity (the arriving rows are); a min_capacity far past T, which stands
     * for "no limit" (the bound had multiplied it by the local experts: signed overflow, and too
     * little reported). */
    const struct {
        int64_t E;
        int k;
        float capacity_factor;
        int64_t min_capacity;
    } layouts[3] = {{256, 1, 0.0f, 0}, {4, 2, 1.25f, 0}, {4, 2, 1.25f, INT64_MAX / 2}};
    for (int li = 0; li < 3; li++) {
        const int64_t E = layouts[li].E, T = 8 + 5 * world_rank;
        layer l;
        layer_make(&l, E, 0, 21 + (uint64_t)li);
        int64_t first = 0, count = 0;
        CHECK_OK(ax_shard_range(E, world_size, world_rank, &first, &count));
        views v;
        views_make(&l, first, count, &v);
        th_seed(31 + (uint64_t)li);
        float *x = rand_f(T * D, 1.0), *y = malloc(sizeof(float) * (size_t)(T * D));
        ax_tensor tx = tensor(x, AX_F32, 2, T, D, 0), ty = tensor(y, AX_F32, 2, T, D, 0);
        ax_moe_ffn_config cfg = AX_MOE_FFN_CONFIG_INIT;
        cfg.route.top_k = layouts[li].k;
        cfg.route.capacity_factor = layouts[li].capacity_factor;
        cfg.route.min_capacity = layouts[li].min_capacity;
        ax_context_workspace_peak_reset(ctx);
        CHECK_OK(ax_context_set_measure(ctx, 1));
        CHECK_OK(ax_moe_ffn_forward_ep(ctx, comm, &cfg, &tx, &v.w, &ty, NULL));
        CHECK_OK(ax_context_set_measure(ctx, 0));
        const int64_t measured = ax_context_workspace_peak(ctx);
        ax_context_workspace_peak_reset(ctx);
        CHECK_OK(ax_moe_ffn_forward_ep(ctx, comm, &cfg, &tx, &v.w, &ty, NULL));
        const int64_t real = ax_context_workspace_peak(ctx);
        if (real > measured)
            TH_FAIL("layout %d, rank %d: the call's peak %lld exceeds what measure mode reported, %lld", li,
                    world_rank, (long long)real, (long long)measured);
        th_checks++;
        int64_t limits[2] = {measured, real}; /* one limit for all ranks: the largest of each */
        MPI_Allreduce(MPI_IN_PLACE, limits, 2, MPI_INT64_T, MPI_MAX, MPI_COMM_WORLD);
        for (int fits = 0; fits < 2; fits++) {
            ax_context_config cc = AX_CONTEXT_CONFIG_INIT;
            cc.num_threads = 1;
            cc.workspace_limit = fits ? limits[0] : limits[1] - 1;
            ax_context *lim = NULL;
            CHECK_OK(ax_context_create(&lim, &cc));
            const ax_status st = ax_moe_ffn_forward_ep(lim, comm, &cfg, &tx, &v.w, &ty, NULL);
            if (fits) {
                CHECK_OK(st);
            } else {
                CHECK_STATUS(st, AX_ERR_OUT_OF_MEMORY); /* the other ranks name the one that failed */
                if (real == limits[1]) CHECK_CONTAINS(ax_last_error(), "workspace");
            }
            ax_context_destroy(lim);
        }
        free(x);
        free(y);
        layer_free(&l);
    }
    ax_comm_destroy(comm);
}

/* --nccl: one GPU per rank of each node, every rank able; else a reason to skip (the same on every rank). */
static const char *nccl_missing(void) {
    MPI_Comm node;
    int local_rank = 0, local_size = 1;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, world_rank, MPI_INFO_NULL, &node);
    MPI_Comm_rank(node, &local_rank);
    MPI_Comm_size(node, &local_size);
    MPI_Comm_free(&node);
    gpu_id = local_rank;
    const int devices = ax_cuda_device_count();
    int why = !ax_build_has_nccl() ? 1 : devices < 1 ? 2 : devices < local_size ? 3 : 0, worst = 0;
    MPI_Allreduce(&why, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return worst == 1 ? "this build of Axial has no NCCL (needs CUDA, MPI and NCCL at configure time)"
           : worst == 2 ? "no CUDA device found"
           : worst == 3 ? "fewer CUDA devices than ranks on a node (NCCL needs one GPU per rank)"
                        : NULL;
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &world_size);
    int rc = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--nccl") == 0) use_nccl = 1;
        else {
            if (world_rank == 0) fprintf(stderr, "usage: mpiexec -n P %s [--nccl]\n", argv[0]);
            MPI_Finalize();
            return 2;
        }
    }
    if (tokens_for(world_size) == NULL) {
        if (world_rank == 0) fprintf(stderr, "run with 1, 2 or 4 ranks\n");
        MPI_Finalize();
        return 77;
    }
    if (use_nccl) {
        const char *missing = nccl_missing();
        if (missing != NULL) {
            if (world_rank == 0) printf("SKIP: test_moe_ep --nccl on %d ranks: %s\n", world_size, missing);
            MPI_Finalize();
            return 77;
        }
        ax_context_config gc = AX_CONTEXT_CONFIG_INIT;
        gc.device.type = AX_CUDA;
        gc.device.id = gpu_id;
        if (ax_context_create(&gpu, &gc) != AX_OK) {
            fprintf(stderr, "[rank %d] CUDA context on device %d: %s\n", world_rank, gpu_id, ax_last_error());
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        char name[128] = "";
        int64_t memory = 0;
        ax_cuda_device_info(gpu_id, name, sizeof name, &memory);
        printf("rank %d: NCCL on CUDA %d (%s)\n", world_rank, gpu_id, name);
    }
    ax_context_config cc = AX_CONTEXT_CONFIG_INIT;
    cc.num_threads = 1;
    if (ax_context_create(&ctx, &cc) != AX_OK) {
        fprintf(stderr, "context: %s\n", ax_last_error());
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    RUN(test_e6_dense);
    RUN(test_e6_every_rank_tokens);
    RUN(test_e3_capacity);
    RUN(test_e6_capacity_dense);
    RUN(test_hybrid);
    RUN(test_bf16_rows_q8_0_experts);
    RUN(test_errors);
    RUN(test_workspace_measure_bounds_the_call);
    ax_context_destroy(ctx);
    ax_context_destroy(gpu);
    /* one verdict for the whole job */
    int failures = th_failures;
    MPI_Allreduce(MPI_IN_PLACE, &failures, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (world_rank == 0) rc = th_finish();
    else rc = 0;
    if (failures > 0) rc = 1;
    MPI_Finalize();
    return rc;
}
