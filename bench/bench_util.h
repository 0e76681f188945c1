/*
 * bench_util.h — timing, medians, random fills and BLAS peak for the benchmarks.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_BENCH_UTIL_H
#define AXIAL_BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>

double bench_now(void);
/* Median of n values (sorts them in place). */
double bench_median(double *values, int n);
void bench_fill_uniform(float *x, int64_t n, float lo, float hi, uint64_t *state);
/* n floats aligned to 64 bytes, as NumPy's and PyTorch's CPU allocators give them (plain malloc of a
 * large block returns a page + 16 bytes, which puts a row of 32 floats across three cache lines
 * instead of two: the Evoformer forward measured 1.45x slower that way). Free with free(). */
float *bench_alloc_floats(int64_t n);
/* The same for any buffer a benchmark hands to the library or to BLAS: `bytes` rounded up to 64,
 * aligned to 64 (NULL when out of memory). Free with free(). */
void *bench_alloc_bytes(size_t bytes);
/* Median GFLOP/s of square cblas_sgemm of size m with `threads` BLAS threads (warm-up first). */
double bench_sgemm_gflops(int64_t m, int threads, int repeats);
/* One square sgemm of size m kept for samples taken in turns with what it is the baseline of:
 * create (allocates, fills, one warm-up call; NULL when out of memory), then each sample is one
 * call's GFLOP/s, followed by bench_settle. */
typedef struct bench_sgemm bench_sgemm;
bench_sgemm *bench_sgemm_create(int64_t m, int threads);
double bench_sgemm_sample(bench_sgemm *g);
void bench_sgemm_destroy(bench_sgemm *g);
/* Sleeps long enough (0.4 s) for spinning OpenBLAS/OpenMP worker threads to block, so one
 * measurement does not slow the next. */
void bench_settle(void);
/* The sum of n words read in order with `threads` OpenMP threads (one thread in a target built without
 * OpenMP): the streaming read behind the benchmarks' memory-bandwidth lines. Return it to a sink so
 * the read is not optimised away. */
uint64_t bench_stream_sum(const uint64_t *words, int64_t n, int threads);
/* memcpy split into `threads` contiguous parts copied in parallel (OpenMP; serial without it): the
 * copy baseline for ops that run on that many threads. */
void bench_parallel_copy(void *dst, const void *src, size_t bytes, int threads);
/* Prints a note when OMP_WAIT_POLICY is set to passive: the OpenMP workers then sleep between calls,
 * and on a VM a call that follows a pause measured markedly slower (docs/performance.md, MoE). */
void bench_note_wait_policy(void);

/* Prints a note on stderr, once, when OpenBLAS runs kernels older than the CPU (ax_blas_core_lags_cpu):
 * every sgemm or ax_gemm baseline is then 4-5x low. The sgemm helpers below call it. */
void bench_note_blas(void);
/* Asks OpenBLAS for this many threads (no-op if the symbol is absent). */
void bench_blas_threads(int threads);

#endif /* AXIAL_BENCH_UTIL_H */
