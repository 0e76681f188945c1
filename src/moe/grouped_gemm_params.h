/*
 * grouped_gemm_params.h — the parameter structs of ax_moe_grouped_gemm and ax_moe_grouped_gemm_dw
 * (include/axial/moe.h), filled and validated on the host by grouped_gemm.c / grouped_gemm_dw.c and
 * read by the CPU kernels (cpu/grouped_gemm.isa.inc, grouped_gemm_dw.c) and the CUDA kernels
 * (cuda/grouped_gemm.cu). Plain C, so the .cu file includes it too.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_MOE_GROUPED_GEMM_PARAMS_H
#define AXIAL_MOE_GROUPED_GEMM_PARAMS_H

#include <stdint.h>

#include "axial/axial.h"
#include "core/op.h"
#include "linalg/qmatmul_params.h" /* the quantized path's panel and x layouts */

#ifdef __cplusplus
extern "C" {
#endif

/* For every expert e, rows [offsets[e], offsets[e + 1]) of x and y:
 *     trans_w: y[s_e] = x[s_e] w[e]^T (w[e] is (N, K));  else y[s_e] = x[s_e] w[e] (w[e] is (K, N)).
 * Strides in elements of the tensor's own dtype, except w's byte steps for block types. */
typedef struct moe_gg_params {
    const void *x;            /* (R, K), K contiguous */
    const void *w;            /* (E, N, K) or (E, K, N), last dim contiguous */
    const int64_t *offsets;   /* (E + 1), contiguous */
    void *y;                  /* (R, N), N contiguous */
    ax_dtype x_dtype;         /* AX_F32 or AX_BF16 */
    ax_dtype w_dtype;         /* AX_F32, AX_BF16, AX_F16 or (trans_w) a block type */
    ax_dtype y_dtype;         /* AX_F32 or AX_BF16 */
    int trans_w;
    int64_t E, R, N, K;
    int64_t x_row_stride, y_row_stride;
    int64_t w_expert_stride, w_row_stride; /* float w: elements */
    int64_t w_expert_bytes, w_row_bytes;   /* block types (and float w, in bytes, for the shared panel code) */
} moe_gg_params;

/* dw[e] = dy[s_e]^T x[s_e] + beta dw[e], dw (E, N, K) f32. */
typedef struct moe_gg_dw_params {
    const void *dy;           /* (R, N), N contiguous */
    const void *x;            /* (R, K), K contiguous */
    const int64_t *offsets;   /* (E + 1) */
    float *dw;                /* (E, N, K), K contiguous */
    ax_dtype dtype;           /* of dy and x: AX_F32 or AX_BF16 */
    float beta;
    int64_t E, R, N, K;
    int64_t dy_row_stride, x_row_stride;
    int64_t dw_expert_stride, dw_row_stride;
} moe_gg_dw_params;

/* On the CPU: AX_OK when offsets (E + 1 host values) are nondecreasing within [0, R], else
 * AX_ERR_INVALID_ARGUMENT naming the element (grouped_gemm.c). */
ax_status moe_check_offsets(const int64_t *offsets, int64_t E, int64_t R);

/* On the CPU: the sizes and leading dimensions a kernel may hand to cblas_sgemm, whose integers
 * are 32-bit. AX_OK when each of the n values (names[i]: what it is) is at most INT_MAX, else
 * AX_ERR_UNSUPPORTED naming the first that is not (grouped_gemm.c). */
ax_status moe_check_blas_ints(const char *const *names, const int64_t *values, int n);

/* CPU kernels (cpu/grouped_gemm.isa.inc, one build per instruction-set path). */
AX_DECLARE_CPU_KERNELS(moe_gg_cpu);
ax_status moe_gg_cpu_workspace(const struct ax_context *ctx, const void *params, ax_op_workspace *need);

/* The CUDA backend (cuda/grouped_gemm.cu). */
ax_status moe_gg_cuda(const ax_op_call *call);
ax_status moe_gg_cuda_workspace(const struct ax_context *ctx, const void *params, ax_op_workspace *need);
ax_status moe_gg_dw_cuda(const ax_op_call *call);

/* ---- the CPU's work split, shared by the workspace functions and the kernels ----
 * The rows the segments cover, [offsets[0], offsets[E]), and the largest segment. */
static inline void moe_gg_row_span(const int64_t *offsets, int64_t E, int64_t *first, int64_t *count,
                                   int64_t *largest) {
    *first = offsets[0];
    *count = offsets[E] - offsets[0];
    *largest = 0;
    for (int64_t e = 0; e < E; e++) {
        const int64_t n = offsets[e + 1] - offsets[e];
        *largest = n > *largest ? n : *largest;
    }
}

/* Items [*lo, *hi) of a run of `items` equal-cost items (cost `cost` > 0 each, the first starting at
 * cumulative cost `base`) whose start falls in thread t's share [t total / T, (t + 1) total / T) of
 * the whole cost: a static split balanced by FLOPs, the same for every run of the same problem. */
static inline void moe_gg_share(int64_t base, int64_t cost, int64_t items, int64_t share_lo, int64_t share_hi,
                                int64_t *lo, int64_t *hi) {
    int64_t a = share_lo <= base ? 0 : (share_lo - base + cost - 1) / cost;
    int64_t b = share_hi <= base ? 0 : (share_hi - base + cost - 1) / cost;
    *lo = a < items ? a : items;
    *hi = b < items ? b : items;
}

/* The forward's CPU plan. Quantized w: the segments' rows of x quantized once (ax_qmatmul's layout),
 * then per thread one panel (of the ax_qmatmul kernel that runs) and qmm_sums_per_row sums per row
 * of the largest segment; work items are (expert, panel of QMM_NR columns, or QMM_WIDE_NR with
 * the wide kernels). Float w: work items are (expert, column tile of nt, row tile of rt); per
 * thread a tile of w widened (bf16/f16 w) and an fp32 tile of y (bf16 y, OpenBLAS's kernel). x is
 * prepared once: with AX_TRANS, packed into panels of MOE_GG_PANEL_ROWS rows per segment for the own
 * fp32 kernel (cpu/grouped_gemm_f32.h, paths with AVX2 and FMA), else (and on the portable path,
 * which runs OpenBLAS's sgemm per item) widened to fp32 when bf16. The workspace holds the larger of
 * the two, since the path is chosen at run time. */
#define MOE_GG_MIN_WORK ((int64_t)1 << 18) /* multiply-adds per thread before another one is woken */
/* Most rows of a float work item: enough for sgemm's own blocking to pay off; for the own kernel, w[e]'s
 * tile is read from memory once per item and the item's packed x (K = 576: up to 576 KiB) from L2 or
 * L3 once per micro-tile of columns (6 on avx2, 12 on avx512). */
#define MOE_GG_RT 256
#define MOE_GG_PANEL_ROWS 16

/* Rows per tile when a segment of `rows` is cut into `tiles` even tiles: whole panels of
 * MOE_GG_PANEL_ROWS (the own kernel's packed x), the last tile the remainder. */
static inline int64_t moe_gg_tile_rows(int64_t rows, int64_t tiles) {
    const int64_t even = (rows + tiles - 1) / tiles;
    return (even + MOE_GG_PANEL_ROWS - 1) / MOE_GG_PANEL_ROWS * MOE_GG_PANEL_ROWS;
}

typedef struct moe_gg_plan {
    int quant;
    qmm_kernel kernel;             /* quantized w: ax_qmatmul's kernel for the path (qmm_kernel_planned) */
    int64_t first, count, largest; /* moe_gg_row_span */
    int64_t xrow_bytes;            /* one prepared row of x (quantized, or fp32 when widened) */
    int64_t x_bytes;               /* all prepared rows (0: x is used in place) */
    int64_t wtile_bytes, ytile_bytes, sums_bytes;
    int64_t thread_bytes, threads;
    int64_t nt, rt;                /* float w: columns and rows per work item */
    int64_t panels;                /* float w: the segments' MOE_GG_PANEL_ROWS-row panels of x */
} moe_gg_plan;

/* The plan from the segments' sizes: rows covered (count; the first at `first`), the largest
 * segment, and for float w the row tiles and MOE_GG_PANEL_ROWS-row panels they make. */
static inline moe_gg_plan moe_gg_plan_sized(const moe_gg_params *p, int64_t threads, int64_t first, int64_t count,
                                            int64_t largest, int64_t row_tiles, int64_t panels) {
    moe_gg_plan pl;
    pl.threads = threads > 0 ? threads : 1;
    pl.quant = qmm_w_is_quant(p->w_dtype);
    pl.kernel = QMM_KERNEL_LANES;
    pl.first = first, pl.count = count, pl.largest = largest;
    pl.wtile_bytes = pl.ytile_bytes = pl.sums_bytes = 0;
    pl.nt = pl.rt = pl.panels = 0;
    if (pl.quant) {
        pl.xrow_bytes = qmm_xq_row_bytes(p->K);
        pl.x_bytes = pl.count * pl.xrow_bytes;
        pl.kernel = qmm_kernel_planned(1);
        pl.wtile_bytes = qmm_piece_panel_bytes(1, pl.kernel, p->w_dtype, qmm_kc(p->K));
        pl.sums_bytes = qmm_round64(pl.largest * qmm_sums_per_row(pl.kernel) * 4);
    } else {
        pl.xrow_bytes = p->K * 4;
        pl.x_bytes = p->x_dtype == AX_F32 ? 0 : qmm_round64(pl.count * p->K * 4);
        pl.rt = MOE_GG_RT;
        pl.panels = panels;
        if (p->trans_w) {
            const int64_t panel_bytes = qmm_round64(pl.panels * MOE_GG_PANEL_ROWS * p->K * 4);
            pl.x_bytes = pl.x_bytes > panel_bytes ? pl.x_bytes : panel_bytes;
        }
        /* The widest column tile that still gives every thread about two items, so small batches
         * spread over the threads too: of 512, 256, ... 32 for sgemm, of 768, 384, ... 48 for the own
         * kernels (whole micro-tiles: 6 or 12 columns with AX_TRANS, 16 or 32 with AX_NO_TRANS). */
        const int64_t narrowest = p->trans_w ? 48 : 32;
        pl.nt = p->trans_w ? 768 : 512;
        while (pl.nt > narrowest && row_tiles * ((p->N + pl.nt - 1) / pl.nt) < 2 * pl.threads) pl.nt /= 2;
        if (p->w_dtype != AX_F32) pl.wtile_bytes = qmm_round64(pl.nt * p->K * 4);
        if (p->y_dtype != AX_F32) pl.ytile_bytes = qmm_round64(pl.rt * pl.nt * 4);
    }
    pl.thread_bytes = pl.wtile_bytes + pl.ytile_bytes + pl.sums_bytes;
    return pl;
}

static inline moe_gg_plan moe_gg_plan_for(const moe_gg_params *p, int64_t threads) {
    int64_t first, count, largest, row_tiles = 0, panels = 0;
    moe_gg_row_span(p->offsets, p->E, &first, &count, &largest);
    if (!qmm_w_is_quant(p->w_dtype)) {
        for (int64_t e = 0; e < p->E; e++) {
            const int64_t rows = p->offsets[e + 1] - p->offsets[e];
            row_tiles += (rows + MOE_GG_RT - 1) / MOE_GG_RT;
            panels += (rows + MOE_GG_PANEL_ROWS - 1) / MOE_GG_PANEL_ROWS;
        }
    }
    return moe_gg_plan_sized(p, threads, first, count, largest, row_tiles, panels);
}

/* The most host workspace the CPU forward can need for p's shapes and dtypes, whatever p->offsets
 * holds (it is not read): every row covered and in one segment, the most panels R rows can make
 * over E segments (each segment at most one partial panel), and the widest column tile. Composite
 * layers reserve it in measure mode, where the offsets are not computed. */
static inline int64_t moe_gg_cpu_bytes_bound(const moe_gg_params *p, int64_t threads) {
    const int64_t t = threads > 0 ? threads : 1;
    const int64_t segments = p->E < p->R ? p->E : p->R;
    const int64_t panels = (p->R + (MOE_GG_PANEL_ROWS - 1) * segments) / MOE_GG_PANEL_ROWS + 1;
    const moe_gg_plan pl = moe_gg_plan_sized(p, t, 0, p->R, p->R, 2 * t, panels);
    return pl.x_bytes + pl.threads * pl.thread_bytes;
}

#ifdef __cplusplus
}
#endif

#endif /* AXIAL_MOE_GROUPED_GEMM_PARAMS_H */
