/*
 * sample.cu — the CUDA kernel of ax_sample: one thread block per row (a grid of at most 4 blocks
 * per SM, each looping over rows), following sampling.h's procedure step by step with block-wide
 * passes over the row:
 *
 *   - the row is widened into f32 scratch (device workspace, V floats per block);
 *   - penalties: the history ids are counted with integer atomics into a V-long count array, then
 *     the first thread to exchange a token's count back to 0 applies its penalty, so each distinct
 *     token is penalised once and the array is all zero again for the block's next row;
 *   - greedy: a block argmax (largest value, lowest id);
 *   - top-k and top-p: a radix select over the unique 64-bit keys of sampling_token_key (8 passes of
 *     8-bit digits, most significant first) finds the cut key: by count for top-k, by probability
 *     mass for top-p (masses as 2^-40 fixed-point integers, so the histogram's atomics add them
 *     exactly and the result never depends on timing);
 *   - the draw: each thread sums the kept weights of a contiguous run of ids in f64, one thread
 *     scans those sums, and the thread whose run holds u * S finds the token.
 *
 * Every reduction has a fixed order, so a row gives the same token on every run; no host
 * synchronisation, no allocation (scratch is the op's device workspace).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>

#include "core/cuda/device.h"
#include "core/cuda/launch.cuh"
#include "core/cuda/reduce.cuh"
#include "core/dtype_traits.h"
#include "sampling/sampling_params.h"

namespace {

constexpr int kThreads = 512;
constexpr int kWarps = kThreads / 32;
constexpr int kBlocksPerSm = 2; /* 512 threads of 64 registers: two blocks fill an SM's 64K registers */
constexpr double kFixedScale = 1099511627776.0; /* 2^40: e <= 1, so V < 2^24 sums fit 64 bits */

/* Bytes of one block's scratch: the f32 row and the u32 counts, each 256-byte aligned. */
inline int64_t slice_bytes(int64_t V) { return 2 * ((V * 4 + 255) / 256 * 256); }

struct block_shared {
    ax_sampling_row s;
    unsigned long long hist[256];
    double run_sums[kThreads];
    double run_starts[kThreads];
    float fred[kWarps];
    unsigned long long ured[kWarps];
    int ired[kWarps];
    unsigned long long prefix, mask, above;
    double total;
};

/* Sum over the block, returned to every thread (integers: exact, any order would do). */
__device__ unsigned long long block_sum_u64(unsigned long long x, block_shared &sh) {
    x = warp_sum(x); /* core/cuda/reduce.cuh */
    __syncthreads();
    if ((threadIdx.x & 31) == 0) sh.ured[threadIdx.x >> 5] = x;
    __syncthreads();
    unsigned long long total = 0;
    for (int w = 0; w < kWarps; w++) total += sh.ured[w];
    return total;
}

/* Smallest int over the block (INT32_MAX when none), returned to every thread. */
__device__ int block_min_int(int x, block_shared &sh) {
    x = warp_min(x);
    __syncthreads();
    if ((threadIdx.x & 31) == 0) sh.ired[threadIdx.x >> 5] = x;
    __syncthreads();
    int m = sh.ired[0];
    for (int w = 1; w < kWarps; w++) m = min(m, sh.ired[w]);
    return m;
}

__device__ int block_max_int(int x, block_shared &sh) { return -block_min_int(-x, sh); }

__device__ float block_max_float(float x, block_shared &sh) {
    x = warp_max(x);
    __syncthreads();
    if ((threadIdx.x & 31) == 0) sh.fred[threadIdx.x >> 5] = x;
    __syncthreads();
    float m = sh.fred[0];
    for (int w = 1; w < kWarps; w++) m = fmaxf(m, sh.fred[w]);
    return m;
}

__device__ __forceinline__ unsigned long long fixed_weight(float e) {
    return __double2ull_rn((double)e * kFixedScale);
}

/* The cut of a radix select over the unmasked tokens whose key is >= `floor_key`: the key of the
 * first token (in key-descending order) at which the running weight reaches `want` (the smallest
 * eligible key when it never does). Weight 1 per token (by_mass 0) or its fixed-point e. */
__device__ unsigned long long radix_cut(const float *x, int64_t V, float m, unsigned long long floor_key, int by_mass,
                                        double want, block_shared &sh) {
    __syncthreads(); /* every thread has read the previous call's sh.prefix */
    if (threadIdx.x == 0) {
        sh.prefix = 0;
        sh.mask = 0;
        sh.above = 0;
    }
    for (int pass = 0; pass < 8; pass++) {
        const int shift = 56 - 8 * pass;
        for (int b = threadIdx.x; b < 256; b += kThreads) sh.hist[b] = 0;
        __syncthreads();
        const unsigned long long prefix = sh.prefix, mask = sh.mask;
        for (int64_t t = threadIdx.x; t < V; t += kThreads) {
            const float xt = x[t];
            if (xt == -INFINITY) continue;
            const unsigned long long key = sampling_token_key(xt, t);
            if (key < floor_key || (key & mask) != prefix) continue;
            const unsigned long long w = by_mass ? fixed_weight(sampling_weight(xt, m)) : 1ull;
            atomicAdd(&sh.hist[(key >> shift) & 255u], w);
        }
        __syncthreads();
        if (threadIdx.x == 0) {
            unsigned long long above = sh.above;
            int chosen = -1, lowest = -1;
            for (int b = 255; b >= 0; b--) {
                if (sh.hist[b] == 0) continue;
                lowest = b;
                if ((double)(above + sh.hist[b]) >= want) {
                    chosen = b;
                    break;
                }
                above += sh.hist[b];
            }
            if (chosen < 0) { /* rounding kept the total below `want`: down to the smallest key */
                chosen = lowest;
                above -= sh.hist[lowest];
            }
            sh.above = above;
            sh.prefix = prefix | ((unsigned long long)chosen << shift);
            sh.mask = mask | (255ull << shift);
        }
        __syncthreads();
    }
    return sh.prefix;
}

/* Step 10's kept set: unmasked, at or above the top-k / top-p cut, and not under min_p; *e gets
 * the token's weight. */
__device__ __forceinline__ bool kept_weight(float xt, int64_t t, unsigned long long cut, float m, float min_p, float *e) {
    if (xt == -INFINITY || sampling_token_key(xt, t) < cut) return false;
    *e = sampling_weight(xt, m);
    return e[0] >= min_p;
}

/* The kernel's one argument (ax_cuda_launch passes one struct). */
struct sample_args {
    sampling_params p;
    unsigned char *ws; /* gridDim.x slices of `slice` bytes */
    int64_t slice;
};

__global__ void __launch_bounds__(kThreads, kBlocksPerSm) sample_kernel(sample_args args) {
    __shared__ block_shared sh;
    const sampling_params &p = args.p;
    unsigned char *ws = args.ws;
    const int64_t slice = args.slice;
    const int64_t V = p.V;
    float *x = reinterpret_cast<float *>(ws + slice * blockIdx.x);
    unsigned int *count = reinterpret_cast<unsigned int *>(ws + slice * blockIdx.x + slice / 2);
    if (p.history_ids != nullptr)
        for (int64_t t = threadIdx.x; t < V; t += kThreads) count[t] = 0;

    for (int64_t r = blockIdx.x; r < p.N; r += gridDim.x) {
        __syncthreads();
        if (threadIdx.x == 0) sh.s = sampling_row_load(p.settings, r);
        const int64_t row0 = r * p.logits_row_stride;
        for (int64_t t = threadIdx.x; t < V; t += kThreads) {
            const float v = ax_elem_load_f32(p.logits, row0 + t, p.logits_dtype);
            x[t] = isnan(v) ? -INFINITY : v;
        }
        __syncthreads();
        const ax_sampling_row s = sh.s;

        if (p.history_ids != nullptr && sampling_penalties_on(&s)) {
            /* Offsets clamped so bad ones (unchecked on the device) cannot read out of bounds. */
            int64_t lo = p.history_offsets[r * p.offsets_stride], hi = p.history_offsets[(r + 1) * p.offsets_stride];
            lo = lo < 0 ? 0 : (lo > p.H ? p.H : lo);
            hi = hi < lo ? lo : (hi > p.H ? p.H : hi);
            for (int64_t j = lo + threadIdx.x; j < hi; j += kThreads) {
                const int32_t id = p.history_ids[j * p.history_stride];
                if (id >= 0 && id < V) atomicAdd(&count[id], 1u);
            }
            __syncthreads();
            for (int64_t j = lo + threadIdx.x; j < hi; j += kThreads) {
                const int32_t id = p.history_ids[j * p.history_stride];
                if (id < 0 || id >= V) continue;
                const unsigned int c = atomicExch(&count[id], 0u);
                if (c != 0) x[id] = sampling_penalize(x[id], c, &s);
            }
            __syncthreads();
        }

        int token = -1;
        float prob = 0.0f;
        bool greedy = s.temperature == 0.0f;
        if (!greedy) { /* uniform over the block: every thread takes part in the reduction */
            float local_abs = 0.0f;
            for (int64_t t = threadIdx.x; t < V; t += kThreads)
                if (isfinite(x[t])) local_abs = fmaxf(local_abs, fabsf(x[t]));
            greedy = sampling_too_cold(block_max_float(local_abs, sh), s.temperature) != 0;
        }
        if (greedy) {
            float best = -INFINITY;
            int best_id = INT32_MAX;
            for (int64_t t = threadIdx.x; t < V; t += kThreads)
                if (x[t] > best) {
                    best = x[t];
                    best_id = (int)t;
                }
            const float top = block_max_float(best, sh);
            const int id = block_min_int(best == top && top != -INFINITY ? best_id : INT32_MAX, sh);
            if (id != INT32_MAX) {
                token = id;
                prob = 1.0f;
            }
        } else {
            float local_max = -INFINITY;
            int local_count = 0;
            for (int64_t t = threadIdx.x; t < V; t += kThreads) {
                const float xt = x[t] / s.temperature;
                x[t] = xt;
                if (xt == -INFINITY) continue;
                local_count++;
                local_max = fmaxf(local_max, xt);
            }
            const float m = block_max_float(local_max, sh);
            const int64_t M = (int64_t)block_sum_u64((unsigned long long)local_count, sh);
            if (M > 0) {
                const int64_t K = s.top_k > 0 && s.top_k < M ? s.top_k : M;
                unsigned long long cut = 0;
                if (K < M) cut = radix_cut(x, V, m, 0, 0, (double)K, sh);
                if (s.top_p < 1.0f) {
                    unsigned long long local = 0;
                    for (int64_t t = threadIdx.x; t < V; t += kThreads)
                        if (x[t] != -INFINITY && sampling_token_key(x[t], t) >= cut)
                            local += fixed_weight(sampling_weight(x[t], m));
                    const unsigned long long S_K = block_sum_u64(local, sh);
                    const unsigned long long cut_p = radix_cut(x, V, m, cut, 1, (double)s.top_p * (double)S_K, sh);
                    if (cut_p > cut) cut = cut_p;
                }
                /* The draw: thread i owns ids [i * chunk, (i + 1) * chunk). */
                const int64_t chunk = (V + kThreads - 1) / kThreads;
                const int64_t t0 = threadIdx.x * chunk, t1 = t0 + chunk < V ? t0 + chunk : V;
                double mine = 0.0;
                int last_kept = -1;
                for (int64_t t = t0; t < t1; t++) {
                    float e;
                    if (!kept_weight(x[t], t, cut, m, s.min_p, &e)) continue;
                    mine += e;
                    last_kept = (int)t;
                }
                sh.run_sums[threadIdx.x] = mine;
                __syncthreads();
                if (threadIdx.x == 0) {
                    double acc = 0.0;
                    for (int i = 0; i < kThreads; i++) {
                        sh.run_starts[i] = acc;
                        acc += sh.run_sums[i];
                    }
                    sh.total = acc;
                }
                __syncthreads();
                const double S = sh.total;
                const double target = sampling_uniform(s.seed, s.counter) * S;
                int found = INT32_MAX;
                float found_e = 0.0f;
                if (sh.run_starts[threadIdx.x] + mine > target) {
                    double run = sh.run_starts[threadIdx.x];
                    for (int64_t t = t0; t < t1; t++) {
                        float e;
                        if (!kept_weight(x[t], t, cut, m, s.min_p, &e)) continue;
                        run += e;
                        found = (int)t;
                        found_e = e;
                        if (run > target) break;
                    }
                }
                const int first = block_min_int(found, sh);
                const int last = block_max_int(last_kept, sh);
                if (first != INT32_MAX && first == found) {
                    token = first;
                    prob = (float)((double)found_e / S);
                } else if (first == INT32_MAX && last == last_kept && last >= 0) {
                    token = last;
                    prob = (float)((double)sampling_weight(x[last], m) / S);
                }
                /* Exactly one thread holds the answer; hand it to thread 0 through shared memory. */
                __syncthreads();
                if (threadIdx.x == 0) sh.ired[0] = -1;
                __syncthreads();
                if (token >= 0) {
                    sh.ired[0] = token;
                    sh.fred[0] = prob;
                }
                __syncthreads();
                token = sh.ired[0];
                prob = token >= 0 ? sh.fred[0] : 0.0f;
            }
        }
        if (threadIdx.x == 0) {
            p.tokens[r * p.tokens_stride] = token;
            if (p.probs != nullptr) p.probs[r * p.probs_stride] = prob;
        }
    }
}

int64_t grid_size(const ax_context *ctx, int64_t N) {
    const ax_cuda_device_props *props = ax_cuda_props(ctx);
    const int64_t most = props != nullptr && props->sm_count > 0 ? (int64_t)props->sm_count * kBlocksPerSm : 128;
    return N < most ? N : most;
}

} /* namespace */

extern "C" ax_status sample_cuda_workspace(const ax_context *ctx, const void *params, ax_op_workspace *need) {
    const sampling_params *p = static_cast<const sampling_params *>(params);
    need->device_bytes = slice_bytes(p->V) * grid_size(ctx, p->N);
    return AX_OK;
}

extern "C" ax_status sample_cuda(const ax_op_call *call) {
    const sampling_params *p = static_cast<const sampling_params *>(call->params);
    const sample_args args = {*p, static_cast<unsigned char *>(call->device_ws), slice_bytes(p->V)};
    return ax_cuda_launch(sample_kernel, "sample_kernel", grid_size(call->ctx, p->N), kThreads, 0,
                          static_cast<cudaStream_t>(call->ctx->cuda_stream), args);
}
