/*
 * test_comm_alltoallv.c — ax_all_to_all_v under `mpiexec -n P`. Every rank's send data is a pure
 * function of (source rank, destination rank, row, element), and so are the counts, so each rank
 * knows exactly which rows it must receive, in which order, without asking the library: that is
 * the reference. Uneven counts, zero counts, a rank that sends nothing, a rank that receives
 * nothing, strided send and recv, every whole-byte dtype, rows of zero elements; and the errors
 * (a negative count, counts that do not add up, a recv too small on one rank, trailing dims that
 * differ) returned on every rank, never a hang (ctest's timeout would fail it), with recv untouched;
 * and measure mode (counts exchanged, scratch counted, nothing moved).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "axial/evoformer.h"
#include "comm/comm_internal.h"
#include "seqpar_test_util.h"

#define MAX_RANKS 64
#define POISON 0xA5

/* ---- the deterministic exchange ---- */

typedef enum pattern {
    PATTERN_UNEVEN,    /* 0 to 3 rows per pair, the last rank sends nothing (P > 1) */
    PATTERN_SELF_ONLY, /* every rank keeps its own rows */
    PATTERN_TO_ZERO,   /* every rank sends only to rank 0: the others receive nothing */
    PATTERN_LARGE      /* a few hundred rows per pair, uneven */
} pattern;

/* Rows rank `from` sends to rank `to`. */
static int64_t rows_between(pattern p, int from, int to) {
    switch (p) {
    case PATTERN_UNEVEN:
        if (sp_size > 1 && from == sp_size - 1) return 0;
        return (from + 2 * to + 1) % 4;
    case PATTERN_SELF_ONLY: return from == to ? 2 + from : 0;
    case PATTERN_TO_ZERO: return to == 0 ? 1 + from : 0;
    case PATTERN_LARGE: return 150 + 37 * from + 11 * to;
    }
    return 0;
}

/* The value code of element `e` of row `row` of the block `from` sends to `to`: 0 .. 199. */
static int value_code(int from, int to, int64_t row, int64_t e) {
    uint64_t h = (uint64_t)from * 0x9E3779B97F4A7C15ull ^ (uint64_t)to * 0xC2B2AE3D27D4EB4Full;
    h ^= (uint64_t)row * 0x165667B19E3779F9ull + (uint64_t)e * 0x27D4EB2F165667C5ull;
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 32;
    return (int)(h % 200);
}

/* The bytes of a code in `dtype`: integers -100 .. 99 are exact in every float dtype used here;
 * fp8 gets a raw byte that is never NaN. */
static void encode(ax_dtype dtype, int code, unsigned char *out) {
    const float f = (float)(code - 100);
    switch (dtype) {
    case AX_F32: memcpy(out, &f, 4); break;
    case AX_F64: {
        const double d = f;
        memcpy(out, &d, 8);
        break;
    }
    case AX_BF16: {
        const uint16_t b = ax_f32_to_bf16(f);
        memcpy(out, &b, 2);
        break;
    }
    case AX_F16: {
        const uint16_t b = ax_f32_to_f16(f);
        memcpy(out, &b, 2);
        break;
    }
    case AX_I32: {
        const int32_t i = code - 100;
        memcpy(out, &i, 4);
        break;
    }
    case AX_I64: {
        const int64_t i = (int64_t)(code - 100) * 1000000007ll; /* uses the high bytes too */
        memcpy(out, &i, 8);
        break;
    }
    case AX_U8: out[0] = (unsigned char)code; break;
    case AX_F8_E4M3FN: out[0] = (unsigned char)(code % 0x7f); break;
    default: break;
    }
}

/* ---- tensors with a chosen layout ---- */

typedef enum layout {
    LAYOUT_DENSE,      /* row-major contiguous */
    LAYOUT_PADDED,     /* rows three elements apart beyond their length */
    LAYOUT_TRANSPOSED  /* the last two trailing dims swapped in memory (ndim >= 3), rows padded */
} layout;

typedef struct host_tensor {
    ax_tensor t;
    unsigned char *buffer;
    int64_t buffer_bytes;
} host_tensor;

static void make_tensor(host_tensor *h, ax_dtype dtype, int32_t ndim, const int64_t *shape, layout lay) {
    memset(h, 0, sizeof *h);
    h->t.dtype = dtype;
    h->t.device.type = AX_CPU;
    h->t.ndim = ndim;
    for (int32_t d = 0; d < ndim; d++) h->t.shape[d] = shape[d];
    int64_t inner = 1;
    for (int32_t d = ndim - 1; d >= 1; d--) {
        h->t.strides[d] = inner;
        inner *= shape[d];
    }
    if (lay == LAYOUT_TRANSPOSED && ndim >= 3) {
        const int32_t a = ndim - 2, b = ndim - 1;
        h->t.strides[b] = shape[a];
        h->t.strides[a] = 1;
    }
    h->t.strides[0] = inner + (lay == LAYOUT_DENSE ? 0 : 3);
    const int64_t elems = shape[0] * h->t.strides[0] + 8;
    h->buffer_bytes = elems * (int64_t)ax_dtype_size(dtype);
    h->buffer = malloc((size_t)h->buffer_bytes);
    memset(h->buffer, POISON, (size_t)h->buffer_bytes);
    h->t.data = h->buffer;
}

static void free_tensor(host_tensor *h) { free(h->buffer); }

static int64_t row_elems(const ax_tensor *t) {
    int64_t n = 1;
    for (int32_t d = 1; d < t->ndim; d++) n *= t->shape[d];
    return n;
}

/* Byte address of element `e` (row-major order over the trailing dims) of row `row`. */
static unsigned char *element(const ax_tensor *t, int64_t row, int64_t e) {
    int64_t off = row * t->strides[0];
    for (int32_t d = t->ndim - 1; d >= 1; d--) {
        off += (e % t->shape[d]) * t->strides[d];
        e /= t->shape[d];
    }
    return (unsigned char *)t->data + off * (int64_t)ax_dtype_size(t->dtype);
}

/* ---- one exchange against the reference ---- */

typedef struct exchange_case {
    pattern pat;
    ax_dtype dtype;
    int32_t ndim;
    int64_t trailing[3];
    layout send_layout, recv_layout;
    int64_t extra_rows; /* recv capacity beyond what arrives: must stay untouched */
} exchange_case;

static void run_case(const exchange_case *c) {
    const int me = sp_rank, P = sp_size;
    int64_t send_counts[MAX_RANKS], recv_counts[MAX_RANKS], send_rows = 0, recv_rows = 0;
    for (int r = 0; r < P; r++) {
        send_counts[r] = rows_between(c->pat, me, r);
        send_rows += send_counts[r];
        recv_rows += rows_between(c->pat, r, me);
        recv_counts[r] = -7; /* must be overwritten */
    }
    int64_t shape[4] = {send_rows, c->trailing[0], c->trailing[1], c->trailing[2]};
    host_tensor send, recv;
    make_tensor(&send, c->dtype, c->ndim, shape, c->send_layout);
    shape[0] = recv_rows + c->extra_rows;
    make_tensor(&recv, c->dtype, c->ndim, shape, c->recv_layout);
    const int64_t n = row_elems(&send.t), es = (int64_t)ax_dtype_size(c->dtype);

    int64_t row = 0;
    for (int to = 0; to < P; to++)
        for (int64_t j = 0; j < send_counts[to]; j++, row++)
            for (int64_t e = 0; e < n; e++) encode(c->dtype, value_code(me, to, j, e), element(&send.t, row, e));

    const ax_status st = ax_all_to_all_v(sp_ctx, sp_comm, &send.t, send_counts, &recv.t, recv_counts);
    th_checks++;
    if (st != AX_OK) {
        SP_FAIL("ax_all_to_all_v (pattern %d, dtype %s, layouts %d/%d): %s: %s", (int)c->pat,
                ax_dtype_name(c->dtype), (int)c->send_layout, (int)c->recv_layout, ax_status_string(st),
                ax_last_error());
    } else {
        int bad = 0;
        for (int from = 0; from < P; from++)
            if (recv_counts[from] != rows_between(c->pat, from, me)) bad++;
        th_checks++;
        if (bad) SP_FAIL("recv_counts: %d of %d entries wrong (dtype %s)", bad, P, ax_dtype_name(c->dtype));
        /* Rows arrive grouped by source rank, in rank order, each group in the sender's order. */
        int64_t mismatches = 0;
        unsigned char want[8];
        row = 0;
        for (int from = 0; from < P; from++)
            for (int64_t j = 0; j < rows_between(c->pat, from, me); j++, row++)
                for (int64_t e = 0; e < n; e++) {
                    encode(c->dtype, value_code(from, me, j, e), want);
                    if (memcmp(element(&recv.t, row, e), want, (size_t)es) != 0) mismatches++;
                }
        th_checks++;
        if (mismatches)
            SP_FAIL("%lld received elements differ from the reference (pattern %d, dtype %s, layouts %d/%d)",
                    (long long)mismatches, (int)c->pat, ax_dtype_name(c->dtype), (int)c->send_layout,
                    (int)c->recv_layout);
        /* Capacity rows past the received ones, and the padding between rows, keep the poison. */
        int64_t touched = 0;
        for (int64_t r = recv_rows; r < recv_rows + c->extra_rows; r++)
            for (int64_t e = 0; e < n; e++)
                for (int64_t b = 0; b < es; b++) touched += element(&recv.t, r, e)[b] != POISON;
        if (c->recv_layout != LAYOUT_DENSE && n > 0)
            for (int64_t r = 0; r < recv_rows; r++)
                for (int64_t b = n * es; b < recv.t.strides[0] * es; b++)
                    touched += ((unsigned char *)recv.t.data)[r * recv.t.strides[0] * es + b] != POISON;
        th_checks++;
        if (touched) SP_FAIL("%lld bytes outside the received rows were written", (long long)touched);
    }
    free_tensor(&send);
    free_tensor(&recv);
}

static void test_uneven_counts_every_dtype(void) {
    const ax_dtype dtypes[] = {AX_F32, AX_BF16, AX_F16, AX_F64, AX_I32, AX_I64, AX_U8, AX_F8_E4M3FN};
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++) {
        const exchange_case c = {PATTERN_UNEVEN, dtypes[i], 2, {5, 0, 0}, LAYOUT_DENSE, LAYOUT_DENSE, 2};
        run_case(&c);
    }
}

static void test_patterns_and_layouts(void) {
    const pattern pats[] = {PATTERN_UNEVEN, PATTERN_SELF_ONLY, PATTERN_TO_ZERO, PATTERN_LARGE};
    const layout lays[] = {LAYOUT_DENSE, LAYOUT_PADDED, LAYOUT_TRANSPOSED};
    for (size_t p = 0; p < sizeof pats / sizeof pats[0]; p++)
        for (size_t s = 0; s < 3; s++)
            for (size_t r = 0; r < 3; r++) {
                const exchange_case c = {pats[p], p % 2 ? AX_BF16 : AX_F32, 3, {3, 4, 0}, lays[s], lays[r], 1};
                run_case(&c);
            }
}

static void test_one_dim_rows(void) {
    /* Rows of a single element: a 1-D tensor of tokens (i64 ids), e.g. expert routing indices. */
    const exchange_case c = {PATTERN_UNEVEN, AX_I64, 1, {0, 0, 0}, LAYOUT_DENSE, LAYOUT_PADDED, 3};
    run_case(&c);
    const exchange_case d = {PATTERN_LARGE, AX_I32, 1, {0, 0, 0}, LAYOUT_PADDED, LAYOUT_DENSE, 0};
    run_case(&d);
}

static void test_four_dim_rows(void) {
    const exchange_case c = {PATTERN_UNEVEN, AX_F16, 4, {2, 3, 2}, LAYOUT_TRANSPOSED, LAYOUT_TRANSPOSED, 2};
    run_case(&c);
}

static void test_rows_without_elements(void) {
    /* (rows, 0): counts are exchanged and reported, no bytes move. */
    int64_t send_counts[MAX_RANKS], recv_counts[MAX_RANKS], rows = 0, arriving = 0;
    for (int r = 0; r < sp_size; r++) {
        send_counts[r] = rows_between(PATTERN_UNEVEN, sp_rank, r);
        rows += send_counts[r];
        arriving += rows_between(PATTERN_UNEVEN, r, sp_rank);
    }
    const int64_t send_shape[2] = {rows, 0}, recv_shape[2] = {arriving, 0};
    ax_tensor send, recv;
    CHECK_OK(ax_tensor_contiguous(&send, NULL, AX_F32, 2, send_shape));
    CHECK_OK(ax_tensor_contiguous(&recv, NULL, AX_F32, 2, recv_shape));
    CHECK_OK(ax_all_to_all_v(sp_ctx, sp_comm, &send, send_counts, &recv, recv_counts));
    for (int r = 0; r < sp_size; r++) CHECK_INT_EQ(recv_counts[r], rows_between(PATTERN_UNEVEN, r, sp_rank));
}

/* ---- errors: on every rank, recv untouched, the communicator still usable ---- */

static int all_ranks_got(ax_status st, ax_status expected) {
    int mine = st == expected, all = 0;
    MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    return all;
}

static int the_odd_rank(void) { return sp_size - 1; }

static int untouched(const host_tensor *h) {
    for (int64_t b = 0; b < h->buffer_bytes; b++)
        if (h->buffer[b] != POISON) return 0;
    return 1;
}

/* Dense (rows, 4) f32 send and recv for PATTERN_UNEVEN; the caller may then spoil one argument. */
static void error_setup(host_tensor *send, host_tensor *recv, int64_t *send_counts, int64_t capacity_delta) {
    int64_t rows = 0, arriving = 0;
    for (int r = 0; r < sp_size; r++) {
        send_counts[r] = rows_between(PATTERN_UNEVEN, sp_rank, r);
        rows += send_counts[r];
        arriving += rows_between(PATTERN_UNEVEN, r, sp_rank);
    }
    int64_t shape[2] = {rows, 4};
    make_tensor(send, AX_F32, 2, shape, LAYOUT_DENSE);
    memset(send->buffer, 0, (size_t)send->buffer_bytes);
    shape[0] = arriving + capacity_delta;
    make_tensor(recv, AX_F32, 2, shape, LAYOUT_DENSE);
}

static void test_negative_count(void) {
    host_tensor send, recv;
    int64_t send_counts[MAX_RANKS], recv_counts[MAX_RANKS];
    error_setup(&send, &recv, send_counts, 0);
    if (sp_rank == the_odd_rank()) send_counts[0] = -1;
    const ax_status st = ax_all_to_all_v(sp_ctx, sp_comm, &send.t, send_counts, &recv.t, recv_counts);
    CHECK(all_ranks_got(st, AX_ERR_INVALID_ARGUMENT));
    if (sp_rank == the_odd_rank()) CHECK_CONTAINS(ax_last_error(), "send_counts: entry 0 is -1, negative");
    else CHECK_CONTAINS(ax_last_error(), "rejected its arguments");
    CHECK(untouched(&recv));
    free_tensor(&send);
    free_tensor(&recv);
}

static void test_counts_do_not_sum_to_rows(void) {
    host_tensor send, recv;
    int64_t send_counts[MAX_RANKS], recv_counts[MAX_RANKS];
    error_setup(&send, &recv, send_counts, 0);
    if (sp_rank == 0) send.t.shape[0] += 1; /* one row more than the counts cover */
    for (int r = 0; r < sp_size; r++) recv_counts[r] = -7;
    const ax_status st = ax_all_to_all_v(sp_ctx, sp_comm, &send.t, send_counts, &recv.t, recv_counts);
    CHECK(all_ranks_got(st, AX_ERR_INVALID_ARGUMENT));
    if (sp_rank == 0) CHECK_CONTAINS(ax_last_error(), "send_counts: the");
    else CHECK_CONTAINS(ax_last_error(), "rank 0 rejected its arguments");
    CHECK(untouched(&recv));
    for (int r = 0; r < sp_size; r++) CHECK_INT_EQ(recv_counts[r], -7); /* an error before the exchange */
    free_tensor(&send);
    free_tensor(&recv);
}

static void test_recv_too_small_on_one_rank(void) {
    /* Under PATTERN_TO_ZERO every rank sends to rank 0 (at least one row each); rank 0's recv is one
     * row short, every other rank receives nothing and has room for it. */
    int64_t send_counts[MAX_RANKS], recv_counts[MAX_RANKS], rows = 0, arriving = 0;
    for (int r = 0; r < sp_size; r++) {
        send_counts[r] = rows_between(PATTERN_TO_ZERO, sp_rank, r);
        rows += send_counts[r];
        arriving += rows_between(PATTERN_TO_ZERO, r, sp_rank);
        recv_counts[r] = -7;
    }
    int64_t shape[2] = {rows, 3};
    host_tensor send, recv;
    make_tensor(&send, AX_BF16, 2, shape, LAYOUT_DENSE);
    memset(send.buffer, 0, (size_t)send.buffer_bytes);
    shape[0] = sp_rank == 0 ? arriving - 1 : arriving; /* one row short on rank 0 */
    make_tensor(&recv, AX_BF16, 2, shape, LAYOUT_DENSE);
    const ax_status st = ax_all_to_all_v(sp_ctx, sp_comm, &send.t, send_counts, &recv.t, recv_counts);
    CHECK(all_ranks_got(st, AX_ERR_INVALID_ARGUMENT));
    if (sp_rank == 0) {
        char expected[160];
        snprintf(expected, sizeof expected, "recv: %lld rows arrive on this rank (recv_counts), but recv holds %lld",
                 (long long)arriving, (long long)(arriving - 1));
        CHECK_CONTAINS(ax_last_error(), expected);
    } else {
        CHECK_CONTAINS(ax_last_error(), "recv on rank 0 is too small for the rows sent to it");
    }
    CHECK(untouched(&recv));
    /* The counts were exchanged before the capacity check and are reported, so a caller can resize. */
    for (int r = 0; r < sp_size; r++) CHECK_INT_EQ(recv_counts[r], rows_between(PATTERN_TO_ZERO, r, sp_rank));
    free_tensor(&recv);

    /* Resized from recv_counts, the same call works. */
    int64_t needed = 0;
    for (int r = 0; r < sp_size; r++) needed += recv_counts[r];
    shape[0] = needed;
    make_tensor(&recv, AX_BF16, 2, shape, LAYOUT_DENSE);
    CHECK_OK(ax_all_to_all_v(sp_ctx, sp_comm, &send.t, send_counts, &recv.t, recv_counts));
    free_tensor(&send);
    free_tensor(&recv);
}

static void test_trailing_dims_differ(void) {
    host_tensor send, recv;
    int64_t send_counts[MAX_RANKS], recv_counts[MAX_RANKS];
    int64_t rows = 0, arriving = 0;
    for (int r = 0; r < sp_size; r++) {
        send_counts[r] = rows_between(PATTERN_UNEVEN, sp_rank, r);
        rows += send_counts[r];
        arriving += rows_between(PATTERN_UNEVEN, r, sp_rank);
    }
    const int64_t width = sp_size > 1 && sp_rank == the_odd_rank() ? 5 : 4;
    int64_t shape[2] = {rows, width};
    make_tensor(&send, AX_F32, 2, shape, LAYOUT_DENSE);
    shape[0] = arriving;
    make_tensor(&recv, AX_F32, 2, shape, LAYOUT_DENSE);
    const ax_status st = ax_all_to_all_v(sp_ctx, sp_comm, &send.t, send_counts, &recv.t, recv_counts);
    if (sp_size > 1) {
        CHECK(all_ranks_got(st, AX_ERR_INVALID_ARGUMENT));
        CHECK_CONTAINS(ax_last_error(), "send: dim 1 differs across ranks (smallest 4, largest 5");
        CHECK(untouched(&recv));
    } else {
        CHECK_OK(st);
    }
    free_tensor(&send);
    free_tensor(&recv);
}

static void test_local_argument_errors(void) {
    host_tensor send, recv;
    int64_t send_counts[MAX_RANKS], recv_counts[MAX_RANKS];
    error_setup(&send, &recv, send_counts, 0);
    /* Each is rejected on every rank alike (every rank makes the same mistake here). */
    CHECK_STATUS(ax_all_to_all_v(sp_ctx, sp_comm, &send.t, send_counts, &recv.t, NULL), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "recv_counts: NULL");
    CHECK_STATUS(ax_all_to_all_v(sp_ctx, sp_comm, &send.t, NULL, &recv.t, recv_counts), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "send_counts: NULL");
    ax_tensor wrong = recv.t;
    wrong.dtype = AX_BF16;
    CHECK_STATUS(ax_all_to_all_v(sp_ctx, sp_comm, &send.t, send_counts, &wrong, recv_counts), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "recv: dtype");
    wrong = recv.t;
    wrong.shape[1] = 2;
    CHECK_STATUS(ax_all_to_all_v(sp_ctx, sp_comm, &send.t, send_counts, &wrong, recv_counts), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "recv: dim 1 is 2, expected 4");
    wrong = send.t; /* recv over send's own memory */
    CHECK_STATUS(ax_all_to_all_v(sp_ctx, sp_comm, &send.t, send_counts, &wrong, recv_counts), AX_ERR_INVALID_ARGUMENT);
    /* A rank that sends nothing (the last, P > 1) has nothing to overlap: it learns it from the others. */
    CHECK_CONTAINS(ax_last_error(), ax_tensor_numel(&send.t) > 0 ? "recv: overlaps send" : "rejected its arguments");
    ax_tensor quant = send.t;
    quant.dtype = AX_Q8_0;
    CHECK_STATUS(ax_all_to_all_v(sp_ctx, sp_comm, &quant, send_counts, &recv.t, recv_counts), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "no whole-byte element");
    CHECK_STATUS(ax_all_to_all_v(sp_ctx, NULL, &send.t, send_counts, &recv.t, recv_counts), AX_ERR_INVALID_ARGUMENT);
    /* recv_counts over send_counts: written before send_counts is read for the rows */
    CHECK_STATUS(ax_all_to_all_v(sp_ctx, sp_comm, &send.t, send_counts, &recv.t, send_counts), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "recv_counts: overlaps send_counts");
    CHECK(untouched(&recv));
    free_tensor(&send);
    free_tensor(&recv);
}

/* Different failures on different ranks: every rank returns the lowest failing rank's status (rank
 * 0's NULL input, AX_ERR_INVALID_ARGUMENT), though the others ran out of scratch (a gather along
 * dim 1 packs through scratch), each keeping its own reason behind a prefix naming rank 0. */
static void test_different_failures_one_status(void) {
    if (sp_size < 2) return;
    float in[4 * 2], out[4 * 2 * MAX_RANKS];
    const int64_t in_shape[2] = {4, 2}, out_shape[2] = {4, 2 * (int64_t)sp_size};
    ax_tensor tin, tout;
    ax_tensor_contiguous(&tin, in, AX_F32, 2, in_shape);
    ax_tensor_contiguous(&tout, out, AX_F32, 2, out_shape);
    for (int i = 0; i < 8; i++) in[i] = (float)i;
    for (int i = 0; i < 8 * sp_size; i++) out[i] = -1.0f;
    ax_context *tiny = NULL;
    ax_context_config cc = AX_CONTEXT_CONFIG_INIT;
    cc.workspace_limit = 16;
    CHECK_OK(ax_context_create(&tiny, &cc));
    const ax_status st = sp_rank == 0 ? ax_all_gather(sp_ctx, sp_comm, NULL, 1, &tout)
                                      : ax_all_gather(tiny, sp_comm, &tin, 1, &tout);
    CHECK_STATUS(st, AX_ERR_INVALID_ARGUMENT);
    if (sp_rank != 0) {
        CHECK_CONTAINS(ax_last_error(), "rank 0 failed with AX_ERR_INVALID_ARGUMENT");
        CHECK_CONTAINS(ax_last_error(), "workspace");
    }
    int same = 1;
    for (int i = 0; i < 8 * sp_size; i++) same &= out[i] == -1.0f;
    CHECK(same);
    ax_context_destroy(tiny);
}

/* A NULL out on one rank: that rank's error, shared, instead of the others waiting in MPI_Comm_dup. */
static void test_create_with_null_out_on_one_rank(void) {
    ax_comm *c = (ax_comm *)&c;
    const ax_status st = ax_comm_create_mpi(sp_rank == 0 ? NULL : &c, MPI_COMM_WORLD);
    CHECK_STATUS(st, AX_ERR_INVALID_ARGUMENT);
    if (sp_rank != 0) CHECK(c == NULL);
    CHECK_CONTAINS(ax_last_error(), sp_rank == 0 ? "out: NULL" : "another rank failed");
}

/* Measure mode (ax_context_set_measure on every rank): the call agrees, exchanges the counts and
 * counts its scratch, but moves no rows; a rank measuring alone is an error on every rank. */
static void test_measure_mode(void) {
    int64_t send_counts[MAX_RANKS], recv_counts[MAX_RANKS], rows = 0, arriving = 0;
    for (int r = 0; r < sp_size; r++) {
        send_counts[r] = rows_between(PATTERN_LARGE, sp_rank, r);
        rows += send_counts[r];
        arriving += rows_between(PATTERN_LARGE, r, sp_rank);
        recv_counts[r] = -7;
    }
    int64_t shape[2] = {rows, 4};
    host_tensor send, recv;
    make_tensor(&send, AX_F32, 2, shape, LAYOUT_PADDED); /* strided: packed through scratch */
    memset(send.buffer, 0, (size_t)send.buffer_bytes);
    shape[0] = arriving;
    make_tensor(&recv, AX_F32, 2, shape, LAYOUT_PADDED);
    ax_context_workspace_peak_reset(sp_ctx);
    CHECK_OK(ax_context_set_measure(sp_ctx, 1));
    CHECK_OK(ax_all_to_all_v(sp_ctx, sp_comm, &send.t, send_counts, &recv.t, recv_counts));
    CHECK_OK(ax_context_set_measure(sp_ctx, 0));
    CHECK(untouched(&recv));
    for (int r = 0; r < sp_size; r++) CHECK_INT_EQ(recv_counts[r], rows_between(PATTERN_LARGE, r, sp_rank));
    /* Packed send plus packed receive, each rounded up to 256 bytes. */
    const int64_t packed = (rows * 16 + 255) / 256 * 256 + (arriving * 16 + 255) / 256 * 256;
    int64_t host_peak = -1;
    ax_context_workspace_peaks(sp_ctx, &host_peak, NULL);
    CHECK_INT_EQ(host_peak, packed);

    /* Only the last rank measures: every rank refuses (P > 1), nobody waits. */
    const int alone = sp_size > 1 && sp_rank == sp_size - 1;
    CHECK_OK(ax_context_set_measure(sp_ctx, alone));
    const ax_status st = ax_all_to_all_v(sp_ctx, sp_comm, &send.t, send_counts, &recv.t, recv_counts);
    CHECK_OK(ax_context_set_measure(sp_ctx, 0));
    if (sp_size > 1) {
        CHECK(all_ranks_got(st, AX_ERR_INVALID_ARGUMENT));
        CHECK_CONTAINS(ax_last_error(), "measure mode (ax_context_set_measure) differs across ranks");
        CHECK(untouched(&recv));
    } else {
        CHECK_OK(st);
    }
    free_tensor(&send);
    free_tensor(&recv);

    /* A collective along a dim likewise writes nothing while measuring. */
    const int64_t full[2] = {6, 3};
    int64_t local[2] = {0, 3};
    ax_shard_range(full[0], sp_size, sp_rank, NULL, &local[0]);
    host_tensor in, out;
    make_tensor(&in, AX_F32, 2, local, LAYOUT_DENSE);
    memset(in.buffer, 0, (size_t)in.buffer_bytes);
    make_tensor(&out, AX_F32, 2, full, LAYOUT_DENSE);
    CHECK_OK(ax_context_set_measure(sp_ctx, 1));
    CHECK_OK(ax_all_gather(sp_ctx, sp_comm, &in.t, 0, &out.t));
    CHECK_OK(ax_context_set_measure(sp_ctx, 0));
    CHECK(untouched(&out));
    CHECK_OK(ax_all_gather(sp_ctx, sp_comm, &in.t, 0, &out.t));
    CHECK(!untouched(&out));
    free_tensor(&in);
    free_tensor(&out);
}

/* The distributed attention in measure mode: agreed and counted, nothing written (DAP and Ulysses). */
static void test_measure_mode_attention(void) {
    const int64_t B = 1, N = 5, S = 7, H = 2, D = 4;
    int64_t n_local, s_local;
    ax_shard_range(N, sp_size, sp_rank, NULL, &n_local);
    ax_shard_range(S, sp_size, sp_rank, NULL, &s_local);
    const int64_t dap_shape[5] = {B, n_local, S, H, D}, uly_shape[5] = {B, N, s_local, H, D};
    const int64_t dap_pair[5] = {B, 1, H, s_local, S};
    for (int mode = 0; mode < 2; mode++) {
        const int64_t *shape = mode == 0 ? dap_shape : uly_shape;
        test_tensor q, k, v, pair, out;
        tt_alloc(&q, AX_F32, 5, shape, LAYOUT_CONTIGUOUS);
        tt_alloc(&k, AX_F32, 5, shape, LAYOUT_CONTIGUOUS);
        tt_alloc(&v, AX_F32, 5, shape, LAYOUT_CONTIGUOUS);
        tt_alloc(&pair, AX_F32, 5, dap_pair, LAYOUT_CONTIGUOUS);
        tt_alloc(&out, AX_F32, 5, shape, LAYOUT_CONTIGUOUS);
        tt_fill_uniform(&q, -1, 1);
        tt_fill_uniform(&k, -1, 1);
        tt_fill_uniform(&v, -1, 1);
        tt_fill_uniform(&pair, -1, 1);
        tt_poison(&out);
        ax_context_workspace_peak_reset(sp_ctx);
        CHECK_OK(ax_context_set_measure(sp_ctx, 1));
        if (mode == 0)
            CHECK_OK(ax_evoformer_attention_forward_dap(sp_ctx, sp_comm, &q.t, &k.t, &v.t, NULL, &pair.t, &out.t, NULL));
        else
            CHECK_OK(ax_evoformer_attention_forward_ulysses(sp_ctx, sp_comm, &q.t, &k.t, &v.t, NULL, &pair.t, &out.t,
                                                            NULL));
        CHECK_OK(ax_context_set_measure(sp_ctx, 0));
        CHECK(sp_all_nan(&out.t));
        CHECK(ax_context_workspace_peak(sp_ctx) > 0); /* at least the gathered or head-split bias */
        if (mode == 0)
            CHECK_OK(ax_evoformer_attention_forward_dap(sp_ctx, sp_comm, &q.t, &k.t, &v.t, NULL, &pair.t, &out.t, NULL));
        else
            CHECK_OK(ax_evoformer_attention_forward_ulysses(sp_ctx, sp_comm, &q.t, &k.t, &v.t, NULL, &pair.t, &out.t,
                                                            NULL));
        CHECK(sp_empty(&out.t) || !sp_all_nan(&out.t));
        tt_free(&q);
        tt_free(&k);
        tt_free(&v);
        tt_free(&pair);
        tt_free(&out);
    }
}

static void test_usable_after_errors(void) {
    const exchange_case c = {PATTERN_UNEVEN, AX_F32, 2, {3, 0, 0}, LAYOUT_PADDED, LAYOUT_DENSE, 0};
    run_case(&c);
}

/* The agreement check (internal) with descriptors of different lengths on different ranks: a value
 * or split length one rank describes and another does not met a neutral slot and passed unseen, so a
 * shard one rank alone declared failed its shard rule on that rank only (the others returned AX_OK,
 * which would leave that rank alone in the next collective). Every rank now fails alike. */
static void test_agreement_descriptors_of_different_lengths(void) {
    for (int kind = 0; kind < 2; kind++) {
        comm_agreement a;
        comm_agree_init(&a, "agreement_test", COMM_OP_CLIENT_BASE + 31, sp_ctx);
        comm_agree_value(&a, "common", 7);
        if (sp_rank == 0 && kind == 0) comm_agree_value(&a, "rank 0 only", 3);
        if (sp_rank == 0 && kind == 1) comm_agree_shard(&a, "rank 0 only rows", 5);
        const ax_status st = comm_agree(sp_comm, &a);
        if (sp_size == 1) { /* one rank: one descriptor, and 5 of 5 rows follow the shard rule */
            CHECK_OK(st);
            continue;
        }
        CHECK_STATUS(st, AX_ERR_INVALID_ARGUMENT);
        CHECK_CONTAINS(ax_last_error(), "the ranks described their arguments differently");
        CHECK_CONTAINS(ax_last_error(), kind == 0 ? "values" : "split lengths");
    }
}

int main(int argc, char **argv) {
    if (sp_init(&argc, &argv) != 0) return 2;
    if (sp_size > MAX_RANKS) {
        if (sp_rank == 0) fprintf(stderr, "at most %d ranks\n", MAX_RANKS);
        return sp_finish() + 1;
    }
    SP_RUN(test_uneven_counts_every_dtype);
    SP_RUN(test_patterns_and_layouts);
    SP_RUN(test_one_dim_rows);
    SP_RUN(test_four_dim_rows);
    SP_RUN(test_rows_without_elements);
    SP_RUN(test_negative_count);
    SP_RUN(test_counts_do_not_sum_to_rows);
    SP_RUN(test_recv_too_small_on_one_rank);
    SP_RUN(test_trailing_dims_differ);
    SP_RUN(test_local_argument_errors);
    SP_RUN(test_different_failures_one_status);
    SP_RUN(test_create_with_null_out_on_one_rank);
    SP_RUN(test_measure_mode);
    SP_RUN(test_measure_mode_attention);
    SP_RUN(test_agreement_descriptors_of_different_lengths);
    SP_RUN(test_usable_after_errors);
    return sp_finish();
}
