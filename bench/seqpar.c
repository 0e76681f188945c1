/*
 * seqpar.c — benchmark of sequence parallelism on CPU ranks: the collectives and the distributed
 * Evoformer attention (DAP and Ulysses), with the bytes each rank receives and the median time per op
 * (the slowest rank's time of each repeat), and the single-rank op on the whole problem as the
 * baseline in the same run. Prints a table; never asserts timings.
 *
 *   mpiexec -n P bench_seqpar [--shape B,N,S,H,D] [--repeats R] [--threads T]
 *   bench_seqpar --model      (the analytic communication model of docs/seqpar.md; no timing)
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "axial/evoformer.h"
#include "axial/seqpar.h"
#include "bench_util.h"

typedef struct shape5 {
    int64_t B, N, S, H, D;
} shape5;

static int rank, nranks;
static ax_comm *comm;

static int64_t shard(int64_t length, int r) {
    int64_t count = 0;
    ax_shard_range(length, nranks, r, NULL, &count);
    return count;
}

/* A contiguous f32 tensor with random values. */
static ax_tensor make(int32_t ndim, const int64_t *shape, uint64_t seed) {
    ax_tensor t;
    int64_t n = 1;
    for (int32_t d = 0; d < ndim; d++) n *= shape[d];
    float *data = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    if (data == NULL) {
        fprintf(stderr, "out of memory\n");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    uint64_t state = seed * 7919 + (uint64_t)rank;
    bench_fill_uniform(data, n, -1, 1, &state);
    ax_tensor_contiguous(&t, data, AX_F32, ndim, shape);
    return t;
}

static void check(ax_status st, const char *what) {
    if (st == AX_OK) return;
    fprintf(stderr, "[rank %d] %s: %s: %s\n", rank, what, ax_status_string(st), ax_last_error());
    MPI_Abort(MPI_COMM_WORLD, 1);
}

/* ---- the ops under test, each a closure over its buffers ---- */

typedef struct buffers {
    ax_context *ctx;
    ax_context *whole_ctx; /* the baseline's: every core of the machine */
    shape5 s;
    /* DAP: rows split */
    ax_tensor dq_, dk_, dv_, dout_, dq, dk, dv, dout_grad, dout_out, dlse, dmask, dpair_shard, pair_shard;
    /* Ulysses: sequence split */
    ax_tensor uq, uk, uv, uout, ulse, udout, udq, udk, udv, umask, upair, udmask, udpair;
    /* collectives */
    ax_tensor pair_full, msa_rows, msa_cols;
    /* baseline: the whole problem on one rank */
    ax_tensor bq, bk, bv, bmask, bpair, bout, blse, bdout, bdq, bdk, bdv, bdmask, bdpair;
} buffers;

enum {
    OP_GATHER, OP_REDUCE_SCATTER, OP_ALL_REDUCE, OP_ROW_TO_COL, OP_DAP_FWD, OP_DAP_BWD, OP_ULY_FWD, OP_ULY_BWD,
    OP_BASE_FWD, OP_BASE_BWD, OP_COUNT
};
static const char *op_names[OP_COUNT] = {
    "all_gather bias (B,1,H,S_loc,S)", "reduce_scatter dbias f32", "all_reduce (B,1,H,S,S) f32",
    "dap_row_to_col MSA (B,N,S,H*D)",  "DAP forward",              "DAP backward",
    "Ulysses forward",                 "Ulysses backward",         "single-rank forward (whole)",
    "single-rank backward (whole)"};

static ax_status run(buffers *b, int op) {
    switch (op) {
    case OP_GATHER: return ax_all_gather(b->ctx, comm, &b->pair_shard, 3, &b->pair_full);
    case OP_REDUCE_SCATTER: return ax_reduce_scatter(b->ctx, comm, &b->pair_full, 3, &b->dpair_shard);
    case OP_ALL_REDUCE: return ax_all_reduce(b->ctx, comm, &b->pair_full, &b->pair_full);
    case OP_ROW_TO_COL: return ax_dap_row_to_col(b->ctx, comm, &b->msa_rows, &b->msa_cols);
    case OP_DAP_FWD:
        return ax_evoformer_attention_forward_dap(b->ctx, comm, &b->dq_, &b->dk_, &b->dv_, &b->dmask, &b->pair_shard,
                                                  &b->dout_out, &b->dlse);
    case OP_DAP_BWD:
        return ax_evoformer_attention_backward_dap(b->ctx, comm, &b->dq_, &b->dk_, &b->dv_, &b->dmask, &b->pair_shard,
                                                   &b->dout_out, &b->dlse, &b->dout_grad, &b->dq, &b->dk, &b->dv, NULL,
                                                   &b->dpair_shard);
    case OP_ULY_FWD:
        return ax_evoformer_attention_forward_ulysses(b->ctx, comm, &b->uq, &b->uk, &b->uv, &b->umask, &b->upair,
                                                      &b->uout, &b->ulse);
    case OP_ULY_BWD:
        return ax_evoformer_attention_backward_ulysses(b->ctx, comm, &b->uq, &b->uk, &b->uv, &b->umask, &b->upair,
                                                       &b->uout, &b->ulse, &b->udout, &b->udq, &b->udk, &b->udv, NULL,
                                                       &b->udpair);
    case OP_BASE_FWD:
        return ax_evoformer_attention_forward(b->whole_ctx, &b->bq, &b->bk, &b->bv, &b->bmask, &b->bpair, &b->bout, &b->blse);
    case OP_BASE_BWD:
        return ax_evoformer_attention_backward(b->whole_ctx, &b->bq, &b->bk, &b->bv, &b->bmask, &b->bpair, &b->bout,
                                               &b->blse, &b->bdout, &b->bdq, &b->bdk, &b->bdv, NULL, &b->bdpair);
    default: return AX_ERR_INTERNAL;
    }
}

/* Bytes this rank receives from other ranks in one call (the largest over ranks), as the
 * implementation moves them (fp32 everywhere here). */
static double bytes_received(const shape5 *s, int op) {
    const int64_t B = s->B, N = s->N, S = s->S, H = s->H, D = s->D;
    /* The last rank holds the smallest shards, so it receives the most. */
    const int last = nranks - 1;
    const double f = 4.0;
    const double bias_gather = f * (double)(B * H * S * (S - shard(S, last)));
    const double dbias_rs = f * (double)(B * H * S * S - B * H * shard(S, last) * S);
    switch (op) {
    case OP_GATHER: return bias_gather;
    case OP_REDUCE_SCATTER: return dbias_rs;
    case OP_ALL_REDUCE: return nranks > 1 ? f * 2.0 * (double)(nranks - 1) / nranks * (double)(B * H * S * S) : 0;
    case OP_ROW_TO_COL: return f * (double)(B * (N - shard(N, last)) * shard(S, last) * H * D);
    case OP_DAP_FWD: return bias_gather;
    case OP_DAP_BWD: return bias_gather + dbias_rs;
    case OP_ULY_FWD:
    case OP_ULY_BWD: {
        /* q, k, v (+ out, dout in backward) to heads; out (dq, dk, dv) back; lse; bias rows to heads; mask keys. */
        const int64_t Hl = shard(H, 0), Sl = shard(S, last);
        const double to_heads = (double)(B * N * (S - Sl) * Hl * D); /* per tensor, into rank with most heads */
        const double back = (double)(B * N * Sl * (H - shard(H, last)) * D);
        const double lse = (double)(B * N * (op == OP_ULY_FWD ? Sl * (H - shard(H, last)) : Hl * (S - Sl)));
        const double bias = (double)(B * Hl * (S - Sl) * S);
        const double mask = (double)(B * N * (S - Sl));
        if (op == OP_ULY_FWD) return f * (3 * to_heads + back + lse + bias + mask);
        return f * (5 * to_heads + 3 * back + lse + bias + mask + (double)(B * Sl * (H - shard(H, last)) * S));
    }
    default: return 0;
    }
}

/* Median over repeats of the slowest rank's time; ranks not taking part (baseline) wait without
 * spinning so the measuring rank has the cores. */
static double time_op(buffers *b, int op, int repeats, double *min_out) {
    const int solo = op == OP_BASE_FWD || op == OP_BASE_BWD;
    double *t = malloc(sizeof(double) * (size_t)repeats);
    double best = INFINITY;
    for (int i = -2; i < repeats; i++) { /* two warm-up calls */
        MPI_Barrier(MPI_COMM_WORLD);
        double elapsed = 0;
        if (!solo || rank == 0) {
            const double t0 = bench_now();
            check(run(b, op), op_names[op]);
            elapsed = bench_now() - t0;
        }
        if (solo) {
            MPI_Request req;
            MPI_Ibarrier(MPI_COMM_WORLD, &req);
            int done = 0;
            const struct timespec nap = {0, 1000 * 1000};
            while (!done) {
                MPI_Test(&req, &done, MPI_STATUS_IGNORE);
                if (!done) nanosleep(&nap, NULL);
            }
        }
        double slowest = 0;
        MPI_Allreduce(&elapsed, &slowest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
        if (i >= 0) {
            t[i] = slowest;
            if (slowest < best) best = slowest;
        }
    }
    const double median = bench_median(t, repeats);
    free(t);
    *min_out = best;
    return median;
}

static void setup(buffers *b, const shape5 *s, int threads, int whole_threads) {
    memset(b, 0, sizeof *b);
    b->s = *s;
    ax_context_config cfg = AX_CONTEXT_CONFIG_INIT;
    cfg.num_threads = threads;
    check(ax_context_create(&b->ctx, &cfg), "ax_context_create");
    cfg.num_threads = whole_threads;
    check(ax_context_create(&b->whole_ctx, &cfg), "ax_context_create");
    const int64_t B = s->B, N = s->N, S = s->S, H = s->H, D = s->D;
    const int64_t Nl = shard(N, rank), Sl = shard(S, rank);
    const int64_t dap_act[5] = {B, Nl, S, H, D}, dap_lse[4] = {B, Nl, H, S}, dap_mask[5] = {B, Nl, 1, 1, S};
    const int64_t pair_shard[5] = {B, 1, H, Sl, S}, pair_full[5] = {B, 1, H, S, S};
    b->dq_ = make(5, dap_act, 1);
    b->dk_ = make(5, dap_act, 2);
    b->dv_ = make(5, dap_act, 3);
    b->dout_grad = make(5, dap_act, 4);
    b->dout_out = make(5, dap_act, 5);
    b->dq = make(5, dap_act, 6);
    b->dk = make(5, dap_act, 7);
    b->dv = make(5, dap_act, 8);
    b->dlse = make(4, dap_lse, 9);
    b->dmask = make(5, dap_mask, 10);
    b->pair_shard = make(5, pair_shard, 11);
    b->dpair_shard = make(5, pair_shard, 12);
    b->pair_full = make(5, pair_full, 13);
    const int64_t msa_rows[4] = {B, Nl, S, H * D}, msa_cols[4] = {B, N, Sl, H * D};
    b->msa_rows = make(4, msa_rows, 14);
    b->msa_cols = make(4, msa_cols, 15);
    const int64_t u_act[5] = {B, N, Sl, H, D}, u_lse[4] = {B, N, H, Sl}, u_mask[5] = {B, N, 1, 1, Sl};
    b->uq = make(5, u_act, 16);
    b->uk = make(5, u_act, 17);
    b->uv = make(5, u_act, 18);
    b->uout = make(5, u_act, 19);
    b->udout = make(5, u_act, 20);
    b->udq = make(5, u_act, 21);
    b->udk = make(5, u_act, 22);
    b->udv = make(5, u_act, 23);
    b->ulse = make(4, u_lse, 24);
    b->umask = make(5, u_mask, 25);
    b->upair = b->pair_shard;
    b->udpair = make(5, pair_shard, 26);
    /* Forward outputs that the backward reads must be consistent: run the forwards once. */
    check(run(b, OP_DAP_FWD), "DAP forward");
    check(run(b, OP_ULY_FWD), "Ulysses forward");
    if (rank == 0) {
        const int64_t act[5] = {B, N, S, H, D}, lse[4] = {B, N, H, S}, mask[5] = {B, N, 1, 1, S};
        b->bq = make(5, act, 30);
        b->bk = make(5, act, 31);
        b->bv = make(5, act, 32);
        b->bout = make(5, act, 33);
        b->bdout = make(5, act, 34);
        b->bdq = make(5, act, 35);
        b->bdk = make(5, act, 36);
        b->bdv = make(5, act, 37);
        b->blse = make(4, lse, 38);
        b->bmask = make(5, mask, 39);
        b->bpair = make(5, pair_full, 40);
        b->bdpair = make(5, pair_full, 41);
        check(run(b, OP_BASE_FWD), "single-rank forward");
    }
}

static void teardown(buffers *b) {
    ax_tensor *all[] = {&b->dq_,  &b->dk_,  &b->dv_,   &b->dout_grad, &b->dout_out, &b->dq,  &b->dk,    &b->dv,
                        &b->dlse, &b->dmask, &b->pair_shard, &b->dpair_shard, &b->pair_full, &b->msa_rows,
                        &b->msa_cols, &b->uq, &b->uk, &b->uv, &b->uout, &b->udout, &b->udq, &b->udk, &b->udv,
                        &b->ulse, &b->umask, &b->udpair, &b->bq, &b->bk, &b->bv, &b->bout, &b->bdout, &b->bdq, &b->bdk,
                        &b->bdv, &b->blse, &b->bmask, &b->bpair, &b->bdpair};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]->data);
    ax_context_destroy(b->ctx);
    ax_context_destroy(b->whole_ctx);
}

/* ---- the analytic model (docs/seqpar.md) ---- */

/* AlphaFold-2 widths: C_m = 256 (8 heads of 32), C_z = 128 (4 heads of 32), OPM width 32,
 * triangle-multiplication width 128; bf16 activations (2 bytes), fp32 bias gradients (4 bytes). */
#define CM 256.0
#define CZ 128.0
#define HM 8.0
#define HZ 4.0
#define C_OPM 32.0
#define C_TRI 128.0

/* Forward FLOPs of one Evoformer block (dominant terms). */
static double block_flops(double N, double S) {
    return 36 * N * S * CM * CM                   /* MSA row/col attention projections, MSA transition */
           + 4 * N * S * S * CM + 4 * N * N * S * CM /* MSA row and column attention */
           + 4 * N * S * CM * C_OPM + 2 * N * S * S * C_OPM * C_OPM + 2 * S * S * C_OPM * C_OPM * CZ /* OPM */
           + 2 * (12 * S * S * CZ * CZ + 2 * S * S * S * C_TRI) /* triangle multiplications */
           + 2 * (10 * S * S * CZ * CZ + 4 * S * S * S * CZ)    /* triangle attentions */
           + 16 * S * S * CZ * CZ;                              /* pair transition */
}

/* Bytes received per GPU for one block, forward + backward (backward: every gather becomes a gather
 * (recompute) plus an fp32 reduce-scatter for the bias gradients, every all-to-all is mirrored, and
 * head-mode attention moves q, k, v, out, dout in and dq, dk, dv out). */
static void block_bytes(double N, double S, double P, double *dap, double *uly) {
    const double g = (P - 1) / P, e = 2, f = 4;
    /* Shared by both: OPM gathers the right projection, triangle multiplications gather b (outgoing)
     * and switch axes once (incoming). Backward mirrors them (reduce-scatter, all-to-all). */
    const double common = 2 * e * g * (N * S * C_OPM + 2 * S * S * C_TRI + S * S * C_TRI / P);
    /* DAP: bias gathers for MSA row attention and both triangle attentions; MSA rows<->cols around
     * column attention; pair rows<->cols around ending-node attention. */
    const double dap_bias = g * (HM + 2 * HZ) * S * S;
    const double dap_switch = 2 * g * N * S * CM / P + 2 * g * S * S * CZ / P;
    *dap = common + (2 * e + f) * dap_bias + 2 * e * dap_switch;
    /* Ulysses: MSA split by residues. Row attention and ending-node attention (attention along the
     * split axis) go through head mode: 4 activations in, 1 out forward, 5 in, 3 out backward, and the
     * bias rows -> heads (1/P of it); column attention is local; starting-node attention attends
     * along the unsplit axis: local, with its bias gathered as in DAP. */
    const double uly_acts = g * (N * S * CM + S * S * CZ) / P;
    const double uly_bias = g * (HM + HZ) * S * S / P;
    const double uly_start = g * HZ * S * S;
    *uly = common + e * 12 * uly_acts + (2 * e + f) * (uly_bias + uly_start);
}

/* The attention cores that head mode runs on H / P heads per rank: MSA row attention (H_M heads) and
 * ending-node triangle attention (H_Z heads), forward FLOPs. With P > H some ranks hold no head. */
static double row_attention_flops(double N, double S) { return 4 * N * S * S * CM; }
static double ending_attention_flops(double S) { return 4 * S * S * S * CZ; }

static void model(void) {
    const double cases[3][2] = {{128, 256}, {512, 384}, {1024, 2048}}; /* (N_seq, N_res) */
    const double flop_rate = 312e12 * 0.4;  /* A100 bf16 peak at 40% utilisation */
    const double nvlink = 900e9, ib = 50e9; /* per GPU; beyond 8 GPUs the ranks span nodes */
    const int blocks = 48;
    printf("Analytic model (docs/seqpar.md): one Evoformer trunk step (48 blocks, forward + backward) split over P\n"
           "GPUs; compute at 40%% of 312 TFLOP/s; communication not overlapped; NVLink 900 GB/s within 8 GPUs,\n"
           "InfiniBand 50 GB/s per GPU beyond. MB = bytes received per GPU per block. Head mode splits the\n"
           "heads of MSA row attention (8) and ending-node attention (4): beyond that, ranks wait.\n");
    printf("%-11s %4s %10s %10s %11s %11s %11s %8s %8s\n", "N_seq,N_res", "P", "DAP MB", "Uly MB", "compute ms",
           "DAP ms", "Uly ms", "DAP eff", "Uly eff");
    for (int c = 0; c < 3; c++) {
        const double N = cases[c][0], S = cases[c][1];
        const double t1 = blocks * 3 * block_flops(N, S) / flop_rate;
        for (int P = 1; P <= 512; P *= 2) {
            double dap = 0, uly = 0;
            block_bytes(N, S, P, &dap, &uly);
            const double bw = P <= 8 ? nvlink : ib;
            const double tc = t1 / P, td = tc + blocks * dap / bw;
            /* Head mode cannot split the heads of an attention over more ranks than it has heads. */
            const double idle = blocks * 3 / flop_rate *
                                (row_attention_flops(N, S) * (1 / fmin(P, HM) - 1.0 / P) +
                                 ending_attention_flops(S) * (1 / fmin(P, HZ) - 1.0 / P));
            const double tu = tc + idle + blocks * uly / bw;
            printf("%5.0f,%-5.0f %4d %10.1f %10.1f %11.2f %11.2f %11.2f %7.0f%% %7.0f%%\n", N, S, P, dap / 1e6, uly / 1e6,
                   tc * 1e3, td * 1e3, tu * 1e3, 100 * tc / td, 100 * tc / tu);
        }
    }
    /* FastFold's setting: data parallelism across nodes, model parallelism inside a node. */
    printf("\nHybrid, as FastFold ran it: DAP inside an 8-GPU NVLink node x data parallel across nodes; the\n"
           "gradient all-reduce (93M fp32 parameters, ring) goes over InfiniBand and 70%% of it overlaps backward.\n");
    printf("%-11s %5s %4s %4s %11s %12s %8s\n", "N_seq,N_res", "GPUs", "DAP", "DP", "step ms", "allreduce ms", "eff");
    const double grad_bytes = 93e6 * 4;
    for (int c = 0; c < 2; c++) {
        const double N = cases[c][0], S = cases[c][1];
        const double t1 = blocks * 3 * block_flops(N, S) / flop_rate;
        for (int gpus = 8; gpus <= 512; gpus *= 4) {
            const int P = 8 > gpus ? gpus : 8, dp = gpus / P;
            double dap = 0, uly = 0;
            block_bytes(N, S, P, &dap, &uly);
            const double step = t1 / P + blocks * dap / nvlink;
            const double allreduce = dp > 1 ? 2.0 * (dp - 1) / dp * grad_bytes / ib : 0;
            const double total = step + 0.3 * allreduce;
            printf("%5.0f,%-5.0f %5d %4d %4d %11.2f %12.2f %7.0f%%\n", N, S, gpus, P, dp, total * 1e3,
                   allreduce * 1e3, 100 * (t1 / P) / total);
        }
    }
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    shape5 s = {1, 32, 128, 8, 32};
    int repeats = 10, threads = 0, do_model = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--shape") == 0 && i + 1 < argc) {
            long long v[5];
            if (sscanf(argv[++i], "%lld,%lld,%lld,%lld,%lld", &v[0], &v[1], &v[2], &v[3], &v[4]) == 5)
                s = (shape5){v[0], v[1], v[2], v[3], v[4]};
        } else if (strcmp(argv[i], "--repeats") == 0 && i + 1 < argc) {
            repeats = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            threads = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--model") == 0) {
            do_model = 1;
        }
    }
    if (do_model) {
        if (rank == 0) model();
        MPI_Finalize();
        return 0;
    }
    if (repeats < 1) repeats = 1;
    const long cores = sysconf(_SC_NPROCESSORS_ONLN);
    /* The machine's cores shared among the ranks (at least one thread each). */
    if (threads <= 0) threads = cores / nranks > 0 ? (int)(cores / nranks) : 1;
    check(ax_comm_create_mpi(&comm, MPI_COMM_WORLD), "ax_comm_create_mpi");
    buffers b;
    setup(&b, &s, threads, (int)cores);
    if (rank == 0) {
        printf("seqpar benchmark: P = %d CPU ranks, %d thread(s) each, %ld cores online; f32; shape B=%lld N=%lld "
               "S=%lld H=%lld D=%lld; median of %d repeats (slowest rank), 2 warm-up calls; the single-rank baseline "
               "runs on rank 0 with %ld threads while the other ranks sleep\n",
               nranks, threads, cores, (long long)s.B, (long long)s.N, (long long)s.S, (long long)s.H,
               (long long)s.D, repeats, cores);
        printf("%-34s %3s %14s %12s %12s %10s\n", "op", "P", "MB recv/rank", "median ms", "min ms", "MB/ms");
    }
    for (int op = 0; op < OP_COUNT; op++) {
        double min = 0;
        const double med = time_op(&b, op, repeats, &min);
        const double bytes = bytes_received(&s, op);
        if (rank == 0)
            printf("%-34s %3d %14.3f %12.3f %12.3f %10.3f\n", op_names[op], nranks, bytes / 1e6, med * 1e3, min * 1e3,
                   bytes > 0 ? bytes / med / 1e9 : 0.0);
        fflush(stdout);
    }
    teardown(&b);
    ax_comm_destroy(comm);
    MPI_Finalize();
    return 0;
}
