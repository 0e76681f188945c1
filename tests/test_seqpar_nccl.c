/*
 * test_seqpar_nccl.c — the NCCL path on CUDA tensors (label gpu): the collectives (all-to-all-v too)
 * and DAP / Ulysses attention, forward and backward, against the CPU single-rank op on the gathered
 * tensors. Needs one GPU per rank (NCCL refuses two ranks on one device); exits 77 (skip) without a
 * device or without NCCL in the build. Run it as `mpiexec -n 1` on a one-GPU machine, `-n G` with G
 * GPUs; `mpiexec -n 2 ... --shared-device` checks that two ranks on one device are refused by name.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "seqpar_test_util.h"

static ax_context *gpu;
static ax_comm *nccl;

/* A contiguous device copy of a host view (any strides). */
static ax_tensor to_device(const ax_tensor *host_view) {
    test_tensor packed;
    tt_alloc(&packed, host_view->dtype, host_view->ndim, host_view->shape, LAYOUT_CONTIGUOUS);
    if (!sp_empty(host_view)) {
        int64_t idx[AX_MAX_DIMS] = {0};
        do tt_set(&packed, idx, sp_get(host_view, idx));
        while (sp_next(idx, host_view));
    }
    const size_t bytes = (size_t)ax_tensor_numel(host_view) * ax_dtype_size(host_view->dtype);
    ax_tensor d = packed.t;
    CHECK_OK(ax_device_alloc(gpu, bytes, &d.data));
    CHECK_OK(ax_copy_to_device(gpu, d.data, packed.storage, bytes));
    d.device.type = AX_CUDA;
    d.device.id = ax_context_device(gpu).id;
    tt_free(&packed);
    return d;
}

/* A contiguous device tensor filled with NaN (to catch elements never written). */
static ax_tensor device_poisoned(ax_dtype dtype, int32_t ndim, const int64_t *shape) {
    test_tensor h;
    tt_alloc(&h, dtype, ndim, shape, LAYOUT_CONTIGUOUS);
    tt_poison(&h);
    const size_t bytes = (size_t)ax_tensor_numel(&h.t) * ax_dtype_size(dtype);
    ax_tensor d = h.t;
    CHECK_OK(ax_device_alloc(gpu, bytes, &d.data));
    CHECK_OK(ax_copy_to_device(gpu, d.data, h.storage, bytes));
    d.device.type = AX_CUDA;
    d.device.id = ax_context_device(gpu).id;
    tt_free(&h);
    return d;
}

/* Brings a device tensor back and compares it with a host reference view. */
static void compare_device(const char *what, const ax_tensor *dev, const ax_tensor *want, double rel) {
    test_tensor h;
    tt_alloc(&h, dev->dtype, dev->ndim, dev->shape, LAYOUT_CONTIGUOUS);
    CHECK_OK(ax_context_synchronize(gpu));
    CHECK_OK(ax_copy_to_host(gpu, h.storage, dev->data, (size_t)ax_tensor_numel(dev) * ax_dtype_size(dev->dtype)));
    sp_compare(what, &h.t, want, rel, rel / 4 + 1e-5);
    tt_free(&h);
}

static void test_nccl_all_to_all(void) {
    const int64_t shape[4] = {2, 6, 5, 7};
    for (int di = 0; di < 3; di++) {
        const ax_dtype dt = di == 0 ? AX_F32 : di == 1 ? AX_BF16 : AX_F16;
        test_tensor global;
        tt_alloc(&global, dt, 4, shape, LAYOUT_CONTIGUOUS);
        tt_fill_uniform(&global, -2, 2);
        const ax_tensor in_view = sp_my_view(&global.t, 1), want = sp_my_view(&global.t, 3);
        ax_tensor in = to_device(&in_view), out = device_poisoned(dt, 4, want.shape);
        CHECK_OK(ax_all_to_all(gpu, nccl, &in, 3, 1, &out));
        compare_device("nccl all_to_all", &out, &want, 0);
        ax_tensor gathered = device_poisoned(dt, 4, shape);
        CHECK_OK(ax_all_gather(gpu, nccl, &in, 1, &gathered));
        compare_device("nccl all_gather", &gathered, &global.t, 0);
        ax_device_free(gpu, in.data);
        ax_device_free(gpu, out.data);
        ax_device_free(gpu, gathered.data);
        tt_free(&global);
    }
}

/* All-to-all-v over NCCL: rank s sends (s + r) % 3 + (s == r) rows to rank r (uneven, zero for some
 * pairs with P > 1), from a strided device view (packed by ax_tensor_copy on the device), into a recv
 * with two spare rows that must keep their NaN poison. Row values name (source, destination, row). */
static int64_t nccl_rows_between(int from, int to) { return (from + to) % 3 + (from == to); }

static void test_nccl_all_to_all_v(void) {
    const int P = sp_size, me = sp_rank;
    int64_t send_counts[64], recv_counts[64], rows = 0, arriving = 0;
    if (P > 64) return;
    for (int r = 0; r < P; r++) {
        send_counts[r] = nccl_rows_between(me, r);
        rows += send_counts[r];
        arriving += nccl_rows_between(r, me);
    }
    const int64_t wide_shape[2] = {rows, 5}, recv_shape[2] = {arriving + 2, 3};
    test_tensor wide;
    tt_alloc(&wide, AX_F32, 2, wide_shape, LAYOUT_CONTIGUOUS);
    int64_t row = 0;
    for (int to = 0; to < P; to++)
        for (int64_t j = 0; j < send_counts[to]; j++, row++)
            for (int64_t e = 0; e < 5; e++) {
                const int64_t idx[2] = {row, e};
                tt_set(&wide, idx, me * 1000 + to * 100 + j * 5 + e);
            }
    const ax_tensor wide_dev = to_device(&wide.t);
    ax_tensor send = wide_dev;
    send.shape[1] = 3; /* rows 5 elements apart: not contiguous */
    ax_tensor recv = device_poisoned(AX_F32, 2, recv_shape);
    CHECK_OK(ax_all_to_all_v(gpu, nccl, &send, send_counts, &recv, recv_counts));
    test_tensor want;
    const int64_t want_shape[2] = {arriving, 3};
    tt_alloc(&want, AX_F32, 2, want_shape, LAYOUT_CONTIGUOUS);
    row = 0;
    for (int from = 0; from < P; from++) {
        CHECK_INT_EQ(recv_counts[from], nccl_rows_between(from, me));
        for (int64_t j = 0; j < nccl_rows_between(from, me); j++, row++)
            for (int64_t e = 0; e < 3; e++) {
                const int64_t idx[2] = {row, e};
                tt_set(&want, idx, from * 1000 + me * 100 + j * 5 + e);
            }
    }
    ax_tensor received = recv;
    received.shape[0] = arriving;
    compare_device("nccl all_to_all_v", &received, &want.t, 0);
    float spare[6];
    CHECK_OK(ax_copy_to_host(gpu, spare, (float *)recv.data + arriving * 3, sizeof spare));
    for (int i = 0; i < 6; i++) CHECK(isnan(spare[i]));
    ax_device_free(gpu, wide_dev.data);
    ax_device_free(gpu, recv.data);
    tt_free(&wide);
    tt_free(&want);
}

/* DAP (mode 0) or Ulysses (mode 1), forward and backward, f32 or bf16, with both biases. */
static void run_attention(int mode, ax_dtype dtype) {
    const int64_t B = 1, N = 5, S = 13, H = 3, D = 16;
    const int64_t act[5] = {B, N, S, H, D}, lse_shape[4] = {B, N, H, S};
    const int64_t mask_shape[5] = {B, N, 1, 1, S}, pair_shape[5] = {B, 1, H, S, S};
    test_tensor q, k, v, dout, mask, pair, out, lse, dq, dk, dv, dmask, dpair;
    test_tensor *all[] = {&q, &k, &v, &dout, &mask, &pair, &out, &lse, &dq, &dk, &dv, &dmask, &dpair};
    tt_alloc(&q, dtype, 5, act, LAYOUT_CONTIGUOUS);
    tt_alloc(&k, dtype, 5, act, LAYOUT_CONTIGUOUS);
    tt_alloc(&v, dtype, 5, act, LAYOUT_CONTIGUOUS);
    tt_alloc(&dout, dtype, 5, act, LAYOUT_CONTIGUOUS);
    tt_alloc(&mask, dtype, 5, mask_shape, LAYOUT_CONTIGUOUS);
    tt_alloc(&pair, dtype, 5, pair_shape, LAYOUT_CONTIGUOUS);
    for (int i = 0; i < 6; i++) tt_fill_uniform(all[i], -1, 1);
    tt_alloc(&out, dtype, 5, act, LAYOUT_CONTIGUOUS);
    tt_alloc(&lse, AX_F32, 4, lse_shape, LAYOUT_CONTIGUOUS);
    tt_alloc(&dq, dtype, 5, act, LAYOUT_CONTIGUOUS);
    tt_alloc(&dk, dtype, 5, act, LAYOUT_CONTIGUOUS);
    tt_alloc(&dv, dtype, 5, act, LAYOUT_CONTIGUOUS);
    tt_alloc(&dmask, dtype, 5, mask_shape, LAYOUT_CONTIGUOUS);
    tt_alloc(&dpair, dtype, 5, pair_shape, LAYOUT_CONTIGUOUS);
    CHECK_OK(ax_evoformer_attention_forward(sp_ctx, &q.t, &k.t, &v.t, &mask.t, &pair.t, &out.t, &lse.t));
    CHECK_OK(ax_evoformer_attention_backward(sp_ctx, &q.t, &k.t, &v.t, &mask.t, &pair.t, &out.t, &lse.t, &dout.t,
                                             &dq.t, &dk.t, &dv.t, &dmask.t, &dpair.t));
    const int32_t act_dim = mode == 0 ? 1 : 2, lse_dim = mode == 0 ? 1 : 3, mask_dim = mode == 0 ? 1 : 4;
    ax_tensor views[13];
    for (int i = 0; i < 13; i++) views[i] = all[i]->t;
    const int32_t dims[13] = {act_dim, act_dim, act_dim, act_dim, mask_dim, 3, act_dim, lse_dim,
                              act_dim, act_dim, act_dim, mask_dim, 3};
    ax_tensor dev[13];
    for (int i = 0; i < 13; i++) {
        views[i] = sp_my_view(&all[i]->t, dims[i]);
        dev[i] = i < 8 ? to_device(&views[i]) : device_poisoned(views[i].dtype, views[i].ndim, views[i].shape);
    }
    ax_tensor got_out = device_poisoned(dtype, 5, views[6].shape), got_lse = device_poisoned(AX_F32, 4, views[7].shape);
    const double rel = dtype == AX_F32 ? 2e-4 : 1.0 / 64;
    if (mode == 0) {
        CHECK_OK(ax_evoformer_attention_forward_dap(gpu, nccl, &dev[0], &dev[1], &dev[2], &dev[4], &dev[5], &got_out,
                                                    &got_lse));
        CHECK_OK(ax_evoformer_attention_backward_dap(gpu, nccl, &dev[0], &dev[1], &dev[2], &dev[4], &dev[5], &dev[6],
                                                     &dev[7], &dev[3], &dev[8], &dev[9], &dev[10], &dev[11], &dev[12]));
    } else {
        CHECK_OK(ax_evoformer_attention_forward_ulysses(gpu, nccl, &dev[0], &dev[1], &dev[2], &dev[4], &dev[5],
                                                        &got_out, &got_lse));
        CHECK_OK(ax_evoformer_attention_backward_ulysses(gpu, nccl, &dev[0], &dev[1], &dev[2], &dev[4], &dev[5],
                                                         &dev[6], &dev[7], &dev[3], &dev[8], &dev[9], &dev[10],
                                                         &dev[11], &dev[12]));
    }
    compare_device("nccl out", &got_out, &views[6], rel);
    compare_device("nccl lse", &got_lse, &views[7], 1e-4);
    compare_device("nccl dq", &dev[8], &views[8], rel);
    compare_device("nccl dk", &dev[9], &views[9], rel);
    compare_device("nccl dv", &dev[10], &views[10], rel);
    compare_device("nccl dbias_mask", &dev[11], &views[11], rel);
    compare_device("nccl dbias_pair", &dev[12], &views[12], rel);
    for (int i = 0; i < 13; i++) {
        ax_device_free(gpu, dev[i].data);
        tt_free(all[i]);
    }
    ax_device_free(gpu, got_out.data);
    ax_device_free(gpu, got_lse.data);
}

static void test_nccl_dap(void) {
    run_attention(0, AX_F32);
    run_attention(0, AX_BF16);
}

static void test_nccl_ulysses(void) {
    run_attention(1, AX_F32);
    run_attention(1, AX_BF16);
}

/* --shared-device (run with 2 ranks on a machine with one GPU): every rank asks for device 0, and
 * every rank gets an error naming both ranks and the device, before NCCL is entered (NCCL had
 * answered "invalid usage"). */
static int shared_device_check(void) {
    ax_comm *c = NULL;
    const ax_status st = ax_comm_create_nccl(&c, MPI_COMM_WORLD, 0);
    int ok = st == AX_ERR_INVALID_ARGUMENT && strstr(ax_last_error(), "would share CUDA device") != NULL &&
             c == NULL, all = 0;
    if (!ok) fprintf(stderr, "[rank %d] got %s: %s\n", sp_rank, ax_status_string(st), ax_last_error());
    if (st == AX_OK) ax_comm_destroy(c);
    MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (sp_rank == 0) printf("%s shared device refused on every rank (P = %d)\n", all ? "ok  " : "FAIL", sp_size);
    return all ? 0 : 1;
}

int main(int argc, char **argv) {
    if (sp_init(&argc, &argv) != 0) return 1;
    const int shared = argc > 1 && strcmp(argv[1], "--shared-device") == 0;
    int usable = ax_build_has_nccl() && ax_cuda_device_count() > 0, everywhere = 0;
    MPI_Allreduce(&usable, &everywhere, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (!everywhere) {
        if (sp_rank == 0) printf("skipped: needs NCCL in the build and a CUDA device on every rank\n");
        ax_comm_destroy(sp_comm);
        ax_context_destroy(sp_ctx);
        MPI_Finalize();
        return 77;
    }
    if (shared) {
        const int rc = sp_size > 1 ? shared_device_check() : 77;
        ax_comm_destroy(sp_comm);
        ax_context_destroy(sp_ctx);
        MPI_Finalize();
        return rc;
    }
    ax_context_config cfg = AX_CONTEXT_CONFIG_INIT;
    cfg.device.type = AX_CUDA;
    cfg.device.id = sp_rank % ax_cuda_device_count();
    if (ax_context_create(&gpu, &cfg) != AX_OK || ax_comm_create_nccl(&nccl, MPI_COMM_WORLD, cfg.device.id) != AX_OK) {
        fprintf(stderr, "[rank %d] NCCL setup failed: %s\n", sp_rank, ax_last_error());
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    SP_RUN(test_nccl_all_to_all);
    SP_RUN(test_nccl_all_to_all_v);
    SP_RUN(test_nccl_dap);
    SP_RUN(test_nccl_ulysses);
    ax_comm_destroy(nccl);
    ax_context_destroy(gpu);
    return sp_finish();
}
