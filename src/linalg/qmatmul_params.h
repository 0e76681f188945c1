/*
 * qmatmul_params.h — the parameter struct of ax_qmatmul (include/axial/linalg.h), filled and
 * validated on the host by qmatmul.c and read by its CPU kernels (cpu/qmatmul.isa.inc) and its CUDA
 * kernels (cuda/qmatmul.cu). Plain C, so the .cu file includes it too.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_LINALG_QMATMUL_PARAMS_H
#define AXIAL_LINALG_QMATMUL_PARAMS_H

#include <stdint.h>

#include "axial/axial.h"
#include "core/internal.h" /* ax_cpu_path_resolved */
#include "core/op.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One matrix of a fused call (qmatmul_fused.h): its w, y and bias as in qmatmul_params below. */
#define QMM_MAX_PARTS 3
typedef struct qmm_part {
    const void *w;
    int64_t w_row_bytes;
    void *y;
    int64_t y_row_stride;
    const float *bias;
    int64_t N;
} qmm_part;

/* y[m, n] = sum_k x[m, k] * w[n, k] + bias[n]. Row strides are in elements of the tensor's own
 * dtype; w's row n starts w_row_bytes * n bytes after w. */
typedef struct qmatmul_params {
    const void *x;        /* (M, K), K contiguous, row m at x + m * x_row_stride elements */
    const void *w;        /* (N, K) in w_dtype: rows of whole blocks */
    const float *bias;    /* (N) f32, or NULL */
    void *y;              /* (M, N), N contiguous, row m at y + m * y_row_stride elements */
    ax_dtype x_dtype;     /* AX_F32 or AX_BF16 */
    ax_dtype w_dtype;     /* a block type, AX_F16, AX_BF16 or AX_F32 */
    ax_dtype y_dtype;     /* AX_F32 or AX_BF16 */
    int64_t M, N, K;
    int64_t x_row_stride, y_row_stride;
    int64_t w_row_bytes;
    int w_packed; /* 1: w is in ax_qweight's 16-row interleaved layout (linalg/qweight.h), dtype q4_0/q4_1/q8_0 */
    /* CPU only: n_parts > 0 replaces w, bias, y, N and the row strides above by parts[0 .. n_parts),
     * products of the same x (same K, w dtype and packing) run in one parallel region. */
    int n_parts;
    qmm_part parts[QMM_MAX_PARTS];
} qmatmul_params;

/* The call's matrices as parts (one for a plain call); returns how many. */
static inline int qmm_parts_of(const qmatmul_params *p, qmm_part *out) {
    if (p->n_parts > 0) {
        for (int i = 0; i < p->n_parts; i++) out[i] = p->parts[i];
        return p->n_parts;
    }
    out[0].w = p->w;
    out[0].w_row_bytes = p->w_row_bytes;
    out[0].y = p->y;
    out[0].y_row_stride = p->y_row_stride;
    out[0].bias = p->bias;
    out[0].N = p->N;
    return 1;
}

/* The CPU kernels compiled once per instruction-set path (cpu/qmatmul.isa.inc). */
AX_DECLARE_CPU_KERNELS(qmatmul_cpu);

/* The CUDA backend (cuda/qmatmul.cu). */
ax_status qmatmul_cuda(const ax_op_call *call);
ax_status qmatmul_cuda_workspace(const struct ax_context *ctx, const void *params, ax_op_workspace *need);

/* ---- the CPU's scratch layout (one plan for qmatmul.c's workspace function and the kernels) ----
 * x quantized (block-quantized w): per row, K int8 levels, K/32 fp32 scales and, per block of 32,
 * 8 fp32 lanes holding the block's two 16-element level sums times its scale, each 4 times (the
 * lanes the kernel multiplies with the panel's offsets); or x widened to fp32 (float w): K floats
 * per row. Then one piece per thread: a panel of QMM_NR rows of w unpacked over a K chunk (or of
 * QMM_WIDE_NR rows for the wide kernels), and that many accumulators per row of x. */
#define QMM_NR 4          /* rows of w unpacked together (the kernels' lanes assume 4) */
#define QMM_KC 4096       /* elements of K per panel chunk (a multiple of 256) */

typedef enum qmm_kernel {
    QMM_KERNEL_LANES = 0,   /* 4-row panels, a float scale per 4-element lane (the portable path, float w) */
    QMM_KERNEL_MADDUBS = 1, /* the wide kernel with vpmaddubsw dots (avx2; avx512 without VNNI) */
    QMM_KERNEL_VNNI = 2     /* the wide kernel with vpdpbusd dots (avx512 with AVX-512 VNNI) */
} qmm_kernel;

typedef struct qmm_plan {
    qmm_kernel kernel;    /* qmm_kernel_planned */
    int64_t xq_bytes;     /* quantized (or widened) x, all rows */
    int64_t thread_bytes; /* one thread's piece, a multiple of 64 */
    int64_t rows_bytes;   /* the piece's last part: packed w's rows in GGUF order (0 when w is not packed) */
    int64_t threads;
} qmm_plan;

/* 1 for the block-quantized dtypes, whose x is quantized. */
AX_HOST_DEVICE static inline int qmm_w_is_quant(ax_dtype dt) {
    return dt == AX_Q4_0 || dt == AX_Q4_1 || dt == AX_Q8_0 || dt == AX_Q4_K || dt == AX_Q6_K;
}

static inline int64_t qmm_round64(int64_t bytes) { return (bytes + 63) / 64 * 64; }

/* Bytes per row of quantized x: K levels, K/32 scales, K/32 x 8 sum lanes, each part 64-byte rounded. */
static inline int64_t qmm_xq_row_bytes(int64_t K) {
    return qmm_round64(K) + qmm_round64(K / 32 * 4) + qmm_round64(K / 32 * 32);
}

/* Elements of x that share one quantization scale: the largest of 256, 128, 64, 32 dividing K (K is
 * a multiple of 32 for block-quantized w; QMM_KC is a multiple of 256, so groups never straddle
 * chunks). */
static inline int64_t qmm_x_group(int64_t K) {
    return K % 256 == 0 ? 256 : K % 128 == 0 ? 128 : K % 64 == 0 ? 64 : 32;
}

static inline int64_t qmm_kc(int64_t K) { return K < QMM_KC ? K : QMM_KC; }

/* One thread's panel over kc elements: per row kc levels and kc/32 x 8 lane scales, then kc/32 x 8
 * offset lanes for the QMM_NR rows together (quantized w); or kc floats per row (float w). */
static inline int64_t qmm_panel_bytes(int quant, int64_t kc) {
    return quant ? QMM_NR * qmm_round64(kc + kc / 32 * 32) + qmm_round64(kc / 32 * 32) : qmm_round64(QMM_NR * kc * 4);
}

/* Where the path has AVX2, block-quantized w runs a "wide" kernel: panels of QMM_WIDE_NR rows of w
 * over a K chunk, levels interleaved by 4-byte groups across the rows (lane i of a vector: row i), so
 * a whole block's integer dot is formed before one conversion and one FMA. Its integer dots are
 * vpdpbusd on the avx512 path where the CPU has AVX-512 VNNI (cpu/qmm_vnni.h), else vpmaddubsw
 * (cpu/qmm_maddubs.h, which splits q8_0's 8-bit levels into two planes of nibbles: qmm_wide_planes
 * x 32 level bytes per row per block). Per block of 32, two fp32 scales and two offsets per row (the
 * halves of 16). The portable path runs the 4-row lanes kernel (QMM_NR). */
#define QMM_WIDE_NR 32
static inline int64_t qmm_wide_panel_bytes(int planes, int64_t kc) {
    return qmm_round64(planes * QMM_WIDE_NR * kc) + 2 * qmm_round64(kc / 32 * 2 * QMM_WIDE_NR * 4);
}

/* The kernel the CPU op runs for w of this kind on the path it dispatches to. The plans ask it, so
 * that the workspace holds that kernel's panel, and the kernels follow the plan's answer. */
static inline qmm_kernel qmm_kernel_planned(int quant) {
    const ax_cpu_path path = ax_cpu_path_resolved();
    if (!quant || (path != AX_CPU_PATH_AVX2 && path != AX_CPU_PATH_AVX512)) return QMM_KERNEL_LANES;
    if (path == AX_CPU_PATH_AVX512 && (ax_cpu_features() & AX_CPU_HAS_AVX512VNNI) != 0) return QMM_KERNEL_VNNI;
    return QMM_KERNEL_MADDUBS;
}

/* Planes of levels per block in a wide kernel's panel: two nibble planes for q8_0 in the vpmaddubsw
 * kernel, one otherwise. */
static inline int qmm_wide_planes(qmm_kernel kernel, ax_dtype dt) {
    return kernel == QMM_KERNEL_MADDUBS && dt == AX_Q8_0 ? 2 : 1;
}

/* A thread's piece holds the panel of the kernel that runs (for w of dtype dt), then the sums: this
 * many per row of x. */
static inline int64_t qmm_piece_panel_bytes(int quant, qmm_kernel kernel, ax_dtype dt, int64_t kc) {
    return kernel != QMM_KERNEL_LANES ? qmm_wide_panel_bytes(qmm_wide_planes(kernel, dt), kc)
                                      : qmm_panel_bytes(quant, kc);
}
static inline int64_t qmm_sums_per_row(qmm_kernel kernel) { return kernel != QMM_KERNEL_LANES ? QMM_WIDE_NR : QMM_NR; }

static inline qmm_plan qmm_plan_for(const qmatmul_params *p, int64_t threads) {
    qmm_plan plan;
    const int quant = qmm_w_is_quant(p->w_dtype);
    const int64_t kc = qmm_kc(p->K);
    plan.kernel = qmm_kernel_planned(quant);
    plan.threads = threads > 0 ? threads : 1;
    plan.xq_bytes = quant ? p->M * qmm_xq_row_bytes(p->K) : qmm_round64(p->M * p->K * 4);
    plan.thread_bytes = qmm_piece_panel_bytes(quant, plan.kernel, p->w_dtype, kc) + qmm_round64(p->M * qmm_sums_per_row(plan.kernel) * 4);
    /* Packed w: QMM_NR of its rows read back into GGUF order on the portable path, whose lanes kernel
     * does not read the tiles (both wide kernels do: cpu/qmm_packed.h). */
    plan.rows_bytes = p->w_packed && plan.kernel == QMM_KERNEL_LANES
                          ? qmm_round64(QMM_NR * ax_dtype_bytes(p->w_dtype, p->K))
                          : 0;
    plan.thread_bytes += plan.rows_bytes;
    return plan;
}

#ifdef __cplusplus
}
#endif

#endif /* AXIAL_LINALG_QMATMUL_PARAMS_H */
