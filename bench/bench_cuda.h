/*
 * bench_cuda.h — what the benchmarks' --gpu modes share: a CUDA context on a stream of its own with the
 * card's facts, CUDA-event timing of calls queued on that stream, the card's device-to-device copy
 * bandwidth (the yardstick for memory-bound ops), and device buffers filled from the host.
 *
 * Built into every benchmark that has a --gpu mode (axial_add_bench(... GPU) in bench/CMakeLists.txt).
 * In a build without CUDA it still links: bench_cuda_open then says so and fails, so the benchmarks
 * need no #ifdef of their own.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_BENCH_CUDA_H
#define AXIAL_BENCH_CUDA_H

#include <stddef.h>
#include <stdint.h>

#include "axial/axial.h"

/* The exit status of a --gpu mode that found no CUDA (build or device): the test suite's "skipped",
 * so a script can tell it from a failure. */
#define BENCH_CUDA_UNAVAILABLE 77

typedef struct bench_cuda {
    ax_context *ctx;          /* an AX_CUDA context on device 0, its ops queued on `stream` */
    void *stream;             /* cudaStream_t of our own: the events bracket exactly the ops queued on it */
    void *start, *stop;       /* cudaEvent_t */
    char name[256];           /* the card's name */
    int64_t memory_bytes;     /* its global memory */
    int64_t l2_bytes;         /* its L2 cache */
    int sm_count;
    char error[512];          /* why the last failing call failed */
} bench_cuda;

/* Opens device 0. Returns 0, or prints "<who>: <why>" (this build has no CUDA, no CUDA device, or the
 * context could not be made) and returns BENCH_CUDA_UNAVAILABLE (no CUDA) or 1 (a failure). */
int bench_cuda_open(bench_cuda *g, const char *who);
/* Releases what bench_cuda_open made; g may be half-open or zeroed. */
void bench_cuda_close(bench_cuda *g);

/* One call of the op under test, queued on g->ctx; 0 on success. */
typedef int (*bench_cuda_fn)(void *arg);

/* Median seconds per call of fn: three warm-up calls, then `repeats` samples, each `calls`
 * back-to-back calls between two CUDA events on the context's stream (so host launch gaps count only
 * where the GPU waits for them, as in PyTorch's own timings). calls <= 0 chooses enough calls for a
 * sample of about 2 ms (at most 2000) from a timed first sample. Negative on failure, the reason in
 * g->error. */
double bench_cuda_time(bench_cuda *g, bench_cuda_fn fn, void *arg, int calls, int repeats);

/* The card's device-to-device copy bandwidth: median of `repeats` cudaMemcpyAsync of `bytes` (after
 * two warm-ups), in GB/s counting the bytes read and the bytes written (2 * bytes per copy), the
 * traffic its memory serves, which is what a streaming kernel's "bytes read" is compared against.
 * Take bytes well above the L2 (256 MiB or more). Negative on failure (g->error). */
double bench_cuda_copy_gbps(bench_cuda *g, size_t bytes, int repeats);

/* cuBLAS's rate through ax_gemm on g's context: C (n x n) = A (n x n) * B (n x n) in `dtype` (fp32
 * accumulation; f32 without TF32), median seconds per call from bench_cuda_time, as TFLOP/s (2 n^3
 * per call). The same-run compute baseline of the GPU benchmarks. Negative on failure (g->error). */
double bench_cuda_gemm_tflops(bench_cuda *g, ax_dtype dtype, int64_t n, int repeats);
/* Prints one line of same-run baselines that need no PyTorch: the device copy bandwidth (512 MiB)
 * and cuBLAS's bf16 (8192^3) and f32 (4096^3) rates through ax_gemm. */
void bench_cuda_print_baselines(bench_cuda *g, int repeats);

/* How many copies of a unit of unit_bytes (>= 1) a timed loop should rotate through so that no call
 * finds in L2 what the previous calls read: enough to span 4 times the L2 and at least 256 MiB, at
 * most max_copies. */
int bench_cuda_rotation_copies(const bench_cuda *g, size_t unit_bytes, int max_copies);

/* Device memory (ax_device_alloc) holding a copy of `bytes` host bytes; NULL on failure (g->error). */
void *bench_cuda_upload(bench_cuda *g, const void *host, size_t bytes);
/* Device memory holding n values uniform in [lo, hi) drawn from *state (bench_fill_uniform), stored
 * as `dtype` (a float dtype); NULL on failure (g->error). */
void *bench_cuda_random(bench_cuda *g, ax_dtype dtype, int64_t n, float lo, float hi, uint64_t *state);
/* Copies `bytes` between two device buffers and waits; 0 on success (g->error otherwise). */
int bench_cuda_copy(bench_cuda *g, void *dst, const void *src, size_t bytes);
/* Frees device memory of g (NULL is fine). */
void bench_cuda_free(bench_cuda *g, void *ptr);
/* A contiguous descriptor of device memory on g's device. */
ax_tensor bench_cuda_tensor(const bench_cuda *g, void *data, ax_dtype dtype, int32_t ndim, const int64_t *shape);

/* The first line of a --gpu report: "<what> on <card> (<SMs> SMs, <L2> MiB L2, <memory> GiB)". */
void bench_cuda_print_card(const bench_cuda *g, const char *what);

#endif /* AXIAL_BENCH_CUDA_H */
