/*
 * test_seqpar_errors.c — the agreement check under `mpiexec -n P`: a shape that differs on one rank,
 * a dtype that differs, a split that breaks the shard rule, one rank rejecting its own arguments, and
 * ranks calling different operations all return an error on every rank (never a hang: ctest's timeout
 * fails the test otherwise), with a message naming the tensor and dimension, outputs untouched, and
 * the communicator still usable afterwards.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <limits.h>
#include <stdint.h>

#include "seqpar_test_util.h"

/* The rank that misbehaves: the last one (with P = 1 the mismatch cases degenerate to local ones). */
static int odd_rank(void) { return sp_size - 1; }

/* Every rank got `expected`; returns 1 when so. */
static int all_ranks_got(ax_status st, ax_status expected) {
    int mine = st == expected, all = 0;
    MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    return all;
}

static void test_gather_shape_mismatch(void) {
    const int64_t full[3] = {4, 6, 5};
    int64_t out_shape[3] = {4, 6, 5};
    if (sp_rank == odd_rank() && sp_size > 1) out_shape[2] = 6; /* this rank thinks dim 2 is longer */
    int64_t in_shape[3] = {4, 0, out_shape[2]};
    ax_shard_range(full[1], sp_size, sp_rank, NULL, &in_shape[1]);
    test_tensor in, out;
    tt_alloc(&in, AX_F32, 3, in_shape, LAYOUT_CONTIGUOUS);
    tt_alloc(&out, AX_F32, 3, out_shape, LAYOUT_CONTIGUOUS);
    tt_fill_uniform(&in, -1, 1);
    tt_poison(&out);
    const ax_status st = ax_all_gather(sp_ctx, sp_comm, &in.t, 1, &out.t);
    if (sp_size > 1) {
        CHECK(all_ranks_got(st, AX_ERR_INVALID_ARGUMENT));
        CHECK_CONTAINS(ax_last_error(), "out: dim 2 differs across ranks (smallest 5, largest 6");
        CHECK(sp_all_nan(&out.t));
    } else {
        CHECK_OK(st);
    }
    tt_free(&in);
    tt_free(&out);
}

static void test_dtype_mismatch(void) {
    const int64_t shape[2] = {3, 4};
    const ax_dtype dtype = (sp_rank == odd_rank() && sp_size > 1) ? AX_BF16 : AX_F32;
    test_tensor in, out;
    tt_alloc(&in, dtype, 2, shape, LAYOUT_CONTIGUOUS);
    tt_alloc(&out, dtype, 2, shape, LAYOUT_CONTIGUOUS);
    tt_fill_uniform(&in, -1, 1);
    tt_poison(&out);
    const ax_status st = ax_all_reduce(sp_ctx, sp_comm, &in.t, &out.t);
    if (sp_size > 1) {
        CHECK(all_ranks_got(st, AX_ERR_INVALID_ARGUMENT));
        CHECK_CONTAINS(ax_last_error(), "in: dtype");
        CHECK_CONTAINS(ax_last_error(), "differs across ranks");
        CHECK(sp_all_nan(&out.t));
    } else {
        CHECK_OK(st);
    }
    tt_free(&in);
    tt_free(&out);
}

/* q, k, v, out of DAP with N_local rows on this rank. */
static ax_status dap_forward_with_rows(int64_t n_local, int64_t S, int null_q, test_tensor *out) {
    const int64_t act[5] = {1, n_local, S, 2, 4};
    int64_t s_off, s_cnt;
    ax_shard_range(S, sp_size, sp_rank, &s_off, &s_cnt);
    const int64_t pair_shape[5] = {1, 1, 2, s_cnt, S};
    test_tensor q, k, v, pair;
    tt_alloc(&q, AX_F32, 5, act, LAYOUT_CONTIGUOUS);
    tt_alloc(&k, AX_F32, 5, act, LAYOUT_CONTIGUOUS);
    tt_alloc(&v, AX_F32, 5, act, LAYOUT_CONTIGUOUS);
    tt_alloc(&pair, AX_F32, 5, pair_shape, LAYOUT_CONTIGUOUS);
    tt_fill_uniform(&q, -1, 1);
    tt_fill_uniform(&k, -1, 1);
    tt_fill_uniform(&v, -1, 1);
    tt_fill_uniform(&pair, -1, 1);
    tt_alloc(out, AX_F32, 5, act, LAYOUT_CONTIGUOUS);
    tt_poison(out);
    const ax_status st = ax_evoformer_attention_forward_dap(sp_ctx, sp_comm, null_q ? NULL : &q.t, &k.t, &v.t, NULL,
                                                            &pair.t, &out->t, NULL);
    tt_free(&q);
    tt_free(&k);
    tt_free(&v);
    tt_free(&pair);
    return st;
}

static void test_dap_shard_rule_violation(void) {
    /* N = 2P + 1 split the wrong way round: the last rank takes the extra row instead of the first. */
    int64_t n_local = 2;
    if (sp_size == 1) n_local = 3;
    else if (sp_rank == odd_rank()) n_local = 3;
    test_tensor out;
    const ax_status st = dap_forward_with_rows(n_local, 6, 0, &out);
    if (sp_size > 1) {
        CHECK(all_ranks_got(st, AX_ERR_INVALID_ARGUMENT));
        CHECK_CONTAINS(ax_last_error(), "q: dim 1 (N_local) does not follow the shard rule");
        CHECK(sp_all_nan(&out.t));
    } else {
        CHECK_OK(st);
    }
    tt_free(&out);
}

static void test_dap_sequence_mismatch(void) {
    /* One rank's S differs: caught as q's dim 2 before the bias is gathered. */
    int64_t n_local;
    ax_shard_range(5, sp_size, sp_rank, NULL, &n_local);
    const int64_t S = (sp_rank == odd_rank() && sp_size > 1) ? 8 : 7;
    test_tensor out;
    const ax_status st = dap_forward_with_rows(n_local, S, 0, &out);
    if (sp_size > 1) {
        CHECK(all_ranks_got(st, AX_ERR_INVALID_ARGUMENT));
        CHECK_CONTAINS(ax_last_error(), "q: dim 2 differs across ranks (smallest 7, largest 8");
        CHECK(sp_all_nan(&out.t));
    } else {
        CHECK_OK(st);
    }
    tt_free(&out);
}

static void test_one_rank_rejects_its_arguments(void) {
    int64_t n_local;
    ax_shard_range(5, sp_size, sp_rank, NULL, &n_local);
    test_tensor out;
    const int culprit = sp_rank == odd_rank();
    const ax_status st = dap_forward_with_rows(n_local, 7, culprit, &out);
    CHECK(all_ranks_got(st, AX_ERR_INVALID_ARGUMENT));
    if (culprit) {
        CHECK_CONTAINS(ax_last_error(), "q: NULL tensor");
    } else {
        char expected[64];
        snprintf(expected, sizeof expected, "rank %d rejected its arguments", odd_rank());
        CHECK_CONTAINS(ax_last_error(), expected);
    }
    CHECK(sp_all_nan(&out.t));
    tt_free(&out);
}

/* DAP backward with N = 1, so every rank but the first holds no rows (and would write a zero mask
 * gradient itself): a dbias_mask without a bias_mask is rejected on every rank and left untouched
 * everywhere, the empty ranks included. */
static void test_dap_backward_mask_gradient_without_mask(void) {
    const int64_t S = 6;
    int64_t n_local, s_off, s_cnt;
    ax_shard_range(1, sp_size, sp_rank, NULL, &n_local);
    ax_shard_range(S, sp_size, sp_rank, &s_off, &s_cnt);
    const int64_t act[5] = {1, n_local, S, 2, 4}, lse_shape[4] = {1, n_local, 2, S}, mask_shape[5] = {1, 1, 1, 1, S};
    test_tensor t[8], lse, dmask;
    for (int i = 0; i < 8; i++) {
        tt_alloc(&t[i], AX_F32, 5, act, LAYOUT_CONTIGUOUS);
        tt_fill_uniform(&t[i], -1, 1);
    }
    tt_alloc(&lse, AX_F32, 4, lse_shape, LAYOUT_CONTIGUOUS);
    tt_fill_uniform(&lse, 1, 2);
    tt_alloc(&dmask, AX_F32, 5, mask_shape, LAYOUT_CONTIGUOUS);
    tt_poison(&dmask);
    /* t: q k v out dout dq dk dv */
    const ax_status st = ax_evoformer_attention_backward_dap(sp_ctx, sp_comm, &t[0].t, &t[1].t, &t[2].t, NULL, NULL,
                                                             &t[3].t, &lse.t, &t[4].t, &t[5].t, &t[6].t, &t[7].t,
                                                             &dmask.t, NULL);
    CHECK(all_ranks_got(st, AX_ERR_INVALID_ARGUMENT));
    if (sp_rank == 0) CHECK_CONTAINS(ax_last_error(), "dbias_mask: given, but bias_mask is NULL");
    CHECK(sp_all_nan(&dmask.t));
    for (int i = 0; i < 8; i++) tt_free(&t[i]);
    tt_free(&lse);
    tt_free(&dmask);
}

/* A DAP forward with f32 activations and a bf16 pair bias: the single-rank op takes a bias in q's
 * dtype or f32 only, so it is refused by name before the bias is gathered (it had been gathered, then
 * refused as the internal 'bias_pair'); the backward, which converts biases to fp32, takes it. */
static void test_dap_forward_bias_dtype(void) {
    const int64_t S = 6;
    int64_t n_local, s_off, s_cnt;
    ax_shard_range(2, sp_size, sp_rank, NULL, &n_local);
    ax_shard_range(S, sp_size, sp_rank, &s_off, &s_cnt);
    const int64_t act[5] = {1, n_local, S, 2, 4}, pair_shape[5] = {1, 1, 2, s_cnt, S};
    test_tensor t[4], pair;
    for (int i = 0; i < 4; i++) {
        tt_alloc(&t[i], AX_F32, 5, act, LAYOUT_CONTIGUOUS);
        tt_fill_uniform(&t[i], -1, 1);
    }
    tt_poison(&t[3]);
    tt_alloc(&pair, AX_BF16, 5, pair_shape, LAYOUT_CONTIGUOUS);
    tt_fill_uniform(&pair, -1, 1);
    const ax_status st = ax_evoformer_attention_forward_dap(sp_ctx, sp_comm, &t[0].t, &t[1].t, &t[2].t, NULL,
                                                            &pair.t, &t[3].t, NULL);
    CHECK(all_ranks_got(st, AX_ERR_INVALID_ARGUMENT));
    CHECK_CONTAINS(ax_last_error(), "bias_pair_shard: dtype is bf16, expected f32");
    CHECK(sp_all_nan(&t[3].t));
    for (int i = 0; i < 4; i++) tt_free(&t[i]);
    tt_free(&pair);
}

/* Ulysses forward with lse written over out's memory: rejected on every rank, as the single-rank op
 * rejects it. */
static void test_ulysses_outputs_overlap(void) {
    const int64_t S = 2 * (int64_t)sp_size + 1;
    int64_t s_local;
    ax_shard_range(S, sp_size, sp_rank, NULL, &s_local);
    const int64_t act[5] = {1, 2, s_local, 3, 4}, lse_shape[4] = {1, 2, 3, s_local};
    test_tensor q, k, v, out;
    tt_alloc(&q, AX_F32, 5, act, LAYOUT_CONTIGUOUS);
    tt_alloc(&k, AX_F32, 5, act, LAYOUT_CONTIGUOUS);
    tt_alloc(&v, AX_F32, 5, act, LAYOUT_CONTIGUOUS);
    tt_alloc(&out, AX_F32, 5, act, LAYOUT_CONTIGUOUS);
    tt_fill_uniform(&q, -1, 1);
    tt_fill_uniform(&k, -1, 1);
    tt_fill_uniform(&v, -1, 1);
    tt_poison(&out);
    ax_tensor lse;
    CHECK_OK(ax_tensor_contiguous(&lse, out.t.data, AX_F32, 4, lse_shape));
    const ax_status st =
        ax_evoformer_attention_forward_ulysses(sp_ctx, sp_comm, &q.t, &k.t, &v.t, NULL, NULL, &out.t, &lse);
    if (s_local > 0) {
        CHECK(all_ranks_got(st, AX_ERR_INVALID_ARGUMENT));
        CHECK(sp_all_nan(&out.t));
    }
    tt_free(&q);
    tt_free(&k);
    tt_free(&v);
    tt_free(&out);
}

static void test_different_operations(void) {
    if (sp_size == 1) return;
    const int64_t shape[1] = {(int64_t)sp_size * 2};
    const int64_t shard[1] = {2};
    test_tensor full, part;
    tt_alloc(&full, AX_F32, 1, shape, LAYOUT_CONTIGUOUS);
    tt_alloc(&part, AX_F32, 1, shard, LAYOUT_CONTIGUOUS);
    tt_fill_uniform(&full, -1, 1);
    tt_fill_uniform(&part, -1, 1);
    ax_status st;
    if (sp_rank == odd_rank()) st = ax_reduce_scatter(sp_ctx, sp_comm, &full.t, 0, &part.t);
    else st = ax_all_gather(sp_ctx, sp_comm, &part.t, 0, &full.t);
    CHECK(all_ranks_got(st, AX_ERR_INVALID_ARGUMENT));
    CHECK_CONTAINS(ax_last_error(), "different distributed operations");
    tt_free(&full);
    tt_free(&part);
}

static void test_local_errors(void) {
    const int64_t shape[2] = {sp_size, 3};
    test_tensor in, out;
    tt_alloc(&in, AX_F32, 2, shape, LAYOUT_CONTIGUOUS);
    tt_alloc(&out, AX_F32, 2, shape, LAYOUT_CONTIGUOUS);
    tt_fill_uniform(&in, -1, 1);
    /* The same mistake on every rank: each names it itself. */
    CHECK_STATUS(ax_all_gather(sp_ctx, sp_comm, &in.t, 5, &out.t), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "dim: 5 is not a dim");
    CHECK_STATUS(ax_all_to_all(sp_ctx, sp_comm, &in.t, 1, 1, &out.t), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "must differ");
    CHECK_STATUS(ax_all_reduce(sp_ctx, sp_comm, &in.t, NULL), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "out: NULL tensor");
    CHECK_STATUS(ax_all_reduce(NULL, NULL, &in.t, &out.t), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "comm: NULL");
    CHECK_STATUS(ax_all_reduce(NULL, sp_comm, &in.t, &out.t), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "ctx: NULL");
    /* out overlapping in (not the same view) */
    ax_tensor shifted = in.t;
    shifted.data = (float *)in.t.data + 1;
    shifted.shape[0] = 1;
    ax_tensor first_row = in.t;
    first_row.shape[0] = 1;
    CHECK_STATUS(ax_all_reduce(sp_ctx, sp_comm, &first_row, &shifted), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "overlaps");
    /* A CUDA communicator cannot exist here (no NCCL or no device): an error on every rank, no hang. */
    ax_comm *cuda_comm = sp_comm; /* any non-NULL value: a failing create must reset it */
    const ax_status st = ax_comm_create_nccl(&cuda_comm, MPI_COMM_WORLD, 0);
    CHECK(st != AX_OK || ax_cuda_device_count() > 0);
    if (st != AX_OK) CHECK(cuda_comm == NULL);
    ax_comm_destroy(st == AX_OK ? cuda_comm : NULL);
    CHECK_STATUS(ax_comm_create_mpi(NULL, MPI_COMM_WORLD), AX_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ax_comm_create_mpi(&cuda_comm, MPI_COMM_NULL), AX_ERR_INVALID_ARGUMENT);
    tt_free(&in);
    tt_free(&out);
}

/* MPI's int counts bound one rank's send and receive buffers, not the whole tensor: an all-to-all
 * whose every buffer holds 2e9 elements runs (the whole tensor, P times larger, had been refused),
 * and one past INT_MAX per buffer is refused on every rank naming it. Measure mode: the placeholder
 * pointers are never read, and nothing moves. */
static void test_all_to_all_message_size_per_rank(void) {
    ax_context *measure = NULL;
    CHECK_OK(ax_context_create(&measure, NULL));
    CHECK_OK(ax_context_set_measure(measure, 1));
    for (int over = 0; over < 2; over++) {
        const int64_t inner = over ? (int64_t)INT_MAX / sp_size + 1 : 2000000000 / sp_size;
        ax_tensor in, out;
        const int64_t in_shape[2] = {sp_size, inner}, out_shape[2] = {1, sp_size * inner};
        ax_tensor_contiguous(&in, (void *)(uintptr_t)0x100000000ull, AX_F32, 2, in_shape);
        ax_tensor_contiguous(&out, (void *)(uintptr_t)0x4000000000ull, AX_F32, 2, out_shape);
        const ax_status st = ax_all_to_all(measure, sp_comm, &in, 0, 1, &out);
        if (over) {
            CHECK(all_ranks_got(st, AX_ERR_UNSUPPORTED));
            CHECK_CONTAINS(ax_last_error(), "INT_MAX");
        } else {
            if (!all_ranks_got(st, AX_OK))
                TH_FAIL("per-rank buffers of %lld elements: %s", (long long)(sp_size * inner), ax_last_error());
            th_checks++;
        }
    }
    ax_context_destroy(measure);
}

/* DAP's local op writes straight into the caller's outputs. When it would fail on one rank only (here
 * the last rank's context has a 64-byte workspace limit), every rank fails and no rank writes: the
 * other ranks had written theirs (the status was agreed only after the local op). D = 0 is refused
 * on every rank before anything moves (DAP had returned AX_OK with lse unwritten). */
static void test_dap_local_failure_writes_nothing(void) {
    ax_context *limited = NULL;
    ax_context_config cfg = AX_CONTEXT_CONFIG_INIT;
    cfg.num_threads = 1;
    cfg.workspace_limit = 64;
    CHECK_OK(ax_context_create(&limited, &cfg));
    if (limited == NULL) return;
    ax_context *ctx = sp_rank == odd_rank() ? limited : sp_ctx;
    int64_t n_local;
    ax_shard_range(4, sp_size, sp_rank, NULL, &n_local);
    const int64_t act[5] = {1, n_local, 6, 2, 8}, ls[4] = {1, n_local, 2, 6};
    test_tensor q, o, l, dq, dk, dv;
    tt_alloc(&q, AX_F32, 5, act, LAYOUT_CONTIGUOUS);
    tt_fill_uniform(&q, -1, 1);
    tt_alloc(&o, AX_F32, 5, act, LAYOUT_CONTIGUOUS);
    tt_alloc(&l, AX_F32, 4, ls, LAYOUT_CONTIGUOUS);
    tt_alloc(&dq, AX_F32, 5, act, LAYOUT_CONTIGUOUS);
    tt_alloc(&dk, AX_F32, 5, act, LAYOUT_CONTIGUOUS);
    tt_alloc(&dv, AX_F32, 5, act, LAYOUT_CONTIGUOUS);
    tt_poison(&o);
    tt_poison(&l);
    ax_status st = ax_evoformer_attention_forward_dap(ctx, sp_comm, &q.t, &q.t, &q.t, NULL, NULL, &o.t, &l.t);
    CHECK(all_ranks_got(st, AX_ERR_OUT_OF_MEMORY));
    CHECK(sp_all_nan(&o.t) && sp_all_nan(&l.t));
    CHECK_OK(ax_evoformer_attention_forward_dap(sp_ctx, sp_comm, &q.t, &q.t, &q.t, NULL, NULL, &o.t, &l.t));
    tt_poison(&dq);
    tt_poison(&dk);
    tt_poison(&dv);
    st = ax_evoformer_attention_backward_dap(ctx, sp_comm, &q.t, &q.t, &q.t, NULL, NULL, &o.t, &l.t, &q.t, &dq.t,
                                             &dk.t, &dv.t, NULL, NULL);
    CHECK(all_ranks_got(st, AX_ERR_OUT_OF_MEMORY));
    CHECK(sp_all_nan(&dq.t) && sp_all_nan(&dk.t) && sp_all_nan(&dv.t));

    ax_tensor q0 = q.t, o0 = o.t;
    q0.shape[4] = o0.shape[4] = 0;
    tt_poison(&l);
    st = ax_evoformer_attention_forward_dap(sp_ctx, sp_comm, &q0, &q0, &q0, NULL, NULL, &o0, &l.t);
    CHECK(all_ranks_got(st, AX_ERR_UNSUPPORTED));
    CHECK_CONTAINS(ax_last_error(), "q: dim 4 (D) is 0");
    CHECK(sp_all_nan(&l.t));
    test_tensor *all[6] = {&q, &o, &l, &dq, &dk, &dv};
    for (int i = 0; i < 6; i++) tt_free(all[i]);
    ax_context_destroy(limited);
}

/* After every failure above the communicator still works. */
static void test_usable_after_errors(void) {
    const int64_t shape[1] = {3};
    test_tensor x;
    tt_alloc(&x, AX_F32, 1, shape, LAYOUT_CONTIGUOUS);
    for (int64_t i = 0; i < 3; i++) ((float *)x.storage)[i] = (float)(sp_rank + 1);
    CHECK_OK(ax_all_reduce(sp_ctx, sp_comm, &x.t, &x.t));
    const float want = (float)(sp_size * (sp_size + 1) / 2);
    for (int64_t i = 0; i < 3; i++) CHECK(((float *)x.storage)[i] == want);
    tt_free(&x);
}

int main(int argc, char **argv) {
    if (sp_init(&argc, &argv) != 0) return 1;
    SP_RUN(test_gather_shape_mismatch);
    SP_RUN(test_dtype_mismatch);
    SP_RUN(test_dap_shard_rule_violation);
    SP_RUN(test_dap_sequence_mismatch);
    SP_RUN(test_one_rank_rejects_its_arguments);
    SP_RUN(test_dap_backward_mask_gradient_without_mask);
    SP_RUN(test_dap_forward_bias_dtype);
    SP_RUN(test_ulysses_outputs_overlap);
    SP_RUN(test_different_operations);
    SP_RUN(test_local_errors);
    SP_RUN(test_all_to_all_message_size_per_rank);
    SP_RUN(test_dap_local_failure_writes_nothing);
    SP_RUN(test_usable_after_errors);
    return sp_finish();
}
