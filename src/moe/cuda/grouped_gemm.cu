/*
 * grouped_gemm.cu — the CUDA backend of ax_moe_grouped_gemm and ax_moe_grouped_gemm_dw: one launch
 * each, reading the segment offsets on the device (nothing synchronises the host).
 *
 * Forward: one thread block per (64-row tile of R, 64-column tile of N). A block finds the expert
 * owning its first row by binary search in offsets and walks the experts its rows overlap (a tile
 * may straddle segments when they are not tile-aligned), computing for each the rows of its tile in
 * that segment against w[e]: 32-element slices of K are staged in shared memory, x widened to fp32,
 * w decoded to fp32 (block-quantized and float rows through qmm_decode.cuh's decode_piece, the
 * library's dequantization arithmetic; AX_NO_TRANS float columns loaded directly), each thread
 * accumulating a 4 x 4 patch in fp32, then rounding once into y. Rows outside every segment are not
 * written. x is not quantized (moe.h).
 *
 * dw: one block per (expert, 64-row tile of N, 64-column tile of K), accumulating dy[s_e]^T x[s_e]
 * over the segment's rows in slices of 32, then dw = acc + beta dw (dw not read when beta == 0).
 *
 * Device offsets are not validated (moe.h): each is clamped into [0, R] and an expert whose clamped
 * end is below its start has no rows, so bad offsets never cause an out-of-bounds access.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <cuda_runtime.h>
#include <stdint.h>

#include "core/cuda/launch.cuh"
#include "core/dtype_traits.h"
#include "core/internal.h"
#include "linalg/cuda/qmm_decode.cuh"
#include "moe/grouped_gemm_params.h"

namespace {

constexpr int kTile = 64;    /* rows and columns of a block's output tile */
constexpr int kSlice = 32;   /* elements of the reduction staged per step (one quantized piece) */
constexpr int kThreads = 256; /* 16 x 16 threads, 4 x 4 outputs each */

__device__ __forceinline__ int64_t clamp_offset(const int64_t *offsets, int64_t e, int64_t R) {
    const int64_t v = offsets[e];
    return v < 0 ? 0 : v > R ? R : v;
}

__device__ __forceinline__ float load_f32_or_bf16(const void *base, int64_t i, ax_dtype dt) {
    return dt == AX_F32 ? static_cast<const float *>(base)[i] : ax_elem_load_f32(base, i, dt);
}

/* The last expert e with clamped offsets[e] <= r (0 when none): where row r's segment search starts. */
__device__ int64_t expert_at(const int64_t *offsets, int64_t E, int64_t R, int64_t r) {
    int64_t lo = 0, hi = E; /* answer in [lo, hi) */
    while (hi - lo > 1) {
        const int64_t mid = lo + (hi - lo) / 2;
        if (clamp_offset(offsets, mid, R) <= r) lo = mid;
        else hi = mid;
    }
    return lo;
}

__global__ void __launch_bounds__(kThreads) moe_gg_kernel(const moe_gg_params p) {
    __shared__ float xs[kSlice][kTile + 1]; /* xs[k][row], padded against bank conflicts */
    __shared__ float ws[kSlice][kTile + 1]; /* ws[k][column] */
    const int64_t col_tiles = (p.N + kTile - 1) / kTile;
    const int64_t r_tile = blockIdx.x / col_tiles, n0 = (blockIdx.x % col_tiles) * kTile;
    const int64_t r0 = r_tile * kTile, r_end = r0 + kTile < p.R ? r0 + kTile : p.R;
    const int tid = threadIdx.x, ty = tid / 16, tx = tid % 16;
    const size_t x_elem = p.x_dtype == AX_F32 ? 4 : 2;
    const size_t w_elem = p.w_dtype == AX_F32 ? 4 : 2;

    for (int64_t e = expert_at(p.offsets, p.E, p.R, r0); e < p.E; e++) {
        const int64_t s0 = clamp_offset(p.offsets, e, p.R), s1 = clamp_offset(p.offsets, e + 1, p.R);
        if (s0 >= r_end) break;
        const int64_t a = s0 > r0 ? s0 : r0, b = s1 < r_end ? s1 : r_end; /* this tile's rows of segment e */
        if (a >= b) continue;
        const uint8_t *we = static_cast<const uint8_t *>(p.w) + e * p.w_expert_bytes;
        float acc[4][4] = {};
        for (int64_t k0 = 0; k0 < p.K; k0 += kSlice) {
            /* x: rows [r0, r0 + 64) of the slice, zero outside [a, b) and past K. */
            for (int i = tid; i < kSlice * kTile; i += kThreads) {
                const int row = i / kSlice, k = i % kSlice;
                const int64_t r = r0 + row;
                float v = 0.0f;
                if (r >= a && r < b && k0 + k < p.K) {
                    const char *xr = static_cast<const char *>(p.x) + (size_t)(r * p.x_row_stride) * x_elem;
                    v = load_f32_or_bf16(xr, k0 + k, p.x_dtype);
                }
                xs[k][row] = v;
            }
            if (p.trans_w) {
                /* One thread per column decodes its 32-element piece of w[e]'s row. */
                if (tid < kTile) {
                    const int64_t n = n0 + tid;
                    float v[kSlice];
                    if (n < p.N) decode_piece(p.w_dtype, we + n * p.w_row_bytes, k0 / kSlice, p.K, v);
                    else
                        for (int k = 0; k < kSlice; k++) v[k] = 0.0f;
                    for (int k = 0; k < kSlice; k++) ws[k][tid] = v[k];
                }
            } else {
                for (int i = tid; i < kSlice * kTile; i += kThreads) {
                    const int k = i / kTile, c = i % kTile;
                    const int64_t n = n0 + c, kk = k0 + k;
                    float v = 0.0f;
                    if (n < p.N && kk < p.K) {
                        const char *row = reinterpret_cast<const char *>(we) + (size_t)(kk * p.w_row_stride) * w_elem;
                        v = ax_elem_load_f32(row, n, p.w_dtype);
                    }
                    ws[k][c] = v;
                }
            }
            __syncthreads();
#pragma unroll 8
            for (int k = 0; k < kSlice; k++) {
                float xv[4], wv[4];
#pragma unroll
                for (int i = 0; i < 4; i++) {
                    xv[i] = xs[k][ty * 4 + i];
                    wv[i] = ws[k][tx * 4 + i];
                }
#pragma unroll
                for (int i = 0; i < 4; i++)
#pragma unroll
                    for (int j = 0; j < 4; j++) acc[i][j] = fmaf(xv[i], wv[j], acc[i][j]);
            }
            __syncthreads();
        }
        for (int i = 0; i < 4; i++) {
            const int64_t r = r0 + ty * 4 + i;
            if (r < a || r >= b) continue;
            for (int j = 0; j < 4; j++) {
                const int64_t n = n0 + tx * 4 + j;
                if (n >= p.N) continue;
                if (p.y_dtype == AX_F32) static_cast<float *>(p.y)[r * p.y_row_stride + n] = acc[i][j];
                else ax_elem_store_f32(p.y, r * p.y_row_stride + n, p.y_dtype, acc[i][j]);
            }
        }
    }
}

__global__ void __launch_bounds__(kThreads) moe_gg_dw_kernel(const moe_gg_dw_params p) {
    __shared__ float dys[kSlice][kTile + 1]; /* dys[row][n] */
    __shared__ float xs[kSlice][kTile + 1];  /* xs[row][k] */
    const int64_t k_tiles = (p.K + kTile - 1) / kTile, n_tiles = (p.N + kTile - 1) / kTile;
    const int64_t e = blockIdx.x / (n_tiles * k_tiles), rest = blockIdx.x % (n_tiles * k_tiles);
    const int64_t n0 = rest / k_tiles * kTile, k0 = rest % k_tiles * kTile;
    const int tid = threadIdx.x, ty = tid / 16, tx = tid % 16;
    const size_t elem = p.dtype == AX_F32 ? 4 : 2;
    const int64_t s0 = clamp_offset(p.offsets, e, p.R), s1 = clamp_offset(p.offsets, e + 1, p.R);
    float acc[4][4] = {};
    for (int64_t r0 = s0; r0 < s1; r0 += kSlice) {
        for (int i = tid; i < kSlice * kTile; i += kThreads) {
            const int row = i / kTile, c = i % kTile;
            const int64_t r = r0 + row;
            float dv = 0.0f, xv = 0.0f;
            if (r < s1) {
                const char *dyr = static_cast<const char *>(p.dy) + (size_t)(r * p.dy_row_stride) * elem;
                const char *xr = static_cast<const char *>(p.x) + (size_t)(r * p.x_row_stride) * elem;
                if (n0 + c < p.N) dv = load_f32_or_bf16(dyr, n0 + c, p.dtype);
                if (k0 + c < p.K) xv = load_f32_or_bf16(xr, k0 + c, p.dtype);
            }
            dys[row][c] = dv;
            xs[row][c] = xv;
        }
        __syncthreads();
#pragma unroll 8
        for (int row = 0; row < kSlice; row++) {
            float dv[4], xv[4];
#pragma unroll
            for (int i = 0; i < 4; i++) {
                dv[i] = dys[row][ty * 4 + i];
                xv[i] = xs[row][tx * 4 + i];
            }
#pragma unroll
            for (int i = 0; i < 4; i++)
#pragma unroll
                for (int j = 0; j < 4; j++) acc[i][j] = fmaf(dv[i], xv[j], acc[i][j]);
        }
        __syncthreads();
    }
    for (int i = 0; i < 4; i++) {
        const int64_t n = n0 + ty * 4 + i;
        if (n >= p.N) continue;
        float *row = p.dw + e * p.dw_expert_stride + n * p.dw_row_stride;
        for (int j = 0; j < 4; j++) {
            const int64_t k = k0 + tx * 4 + j;
            if (k >= p.K) continue;
            row[k] = p.beta == 0.0f ? acc[i][j] : fmaf(p.beta, row[k], acc[i][j]);
        }
    }
}

} /* namespace */

extern "C" ax_status moe_gg_cuda_workspace(const ax_context *ctx, const void *params, ax_op_workspace *need) {
    (void)ctx;
    (void)params;
    need->device_bytes = 0; /* w is decoded in the kernel, x widened in shared memory */
    return AX_OK;
}

/* The op table has made the context's device current. */
extern "C" ax_status moe_gg_cuda(const ax_op_call *call) {
    const moe_gg_params *p = static_cast<const moe_gg_params *>(call->params);
    cudaStream_t stream = static_cast<cudaStream_t>(call->ctx->cuda_stream);
    const int64_t blocks = ceil_div(p->R, kTile) * ceil_div(p->N, kTile);
    return ax_cuda_launch(moe_gg_kernel, "moe_gg_kernel", blocks, kThreads, 0, stream, *p);
}

extern "C" ax_status moe_gg_dw_cuda(const ax_op_call *call) {
    const moe_gg_dw_params *p = static_cast<const moe_gg_dw_params *>(call->params);
    cudaStream_t stream = static_cast<cudaStream_t>(call->ctx->cuda_stream);
    const int64_t blocks = p->E * ceil_div(p->N, kTile) * ceil_div(p->K, kTile);
    return ax_cuda_launch(moe_gg_dw_kernel, "moe_gg_dw_kernel", blocks, kThreads, 0, stream, *p);
}
