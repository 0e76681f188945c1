/*
 * blas_threads.h — OpenBLAS's thread count for the length of a call.
 *
 * OpenBLAS (0.3.21, Debian 12) has one process-wide thread count and no per-thread setting. A call
 * that saves it, sets its own and restores the saved value races with another thread doing the same:
 * interleaved, the second restore can put back the first call's count, and the process keeps it for
 * good (an MoE call's 1 left behind for every later BLAS user). Here every call in flight shares one
 * saved value under a lock: the count the process had before the first of them began is restored
 * when the last one ends. While calls overlap the count is the one set last (results do not depend
 * on it; speed does), as docs/linalg.md says.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_CORE_BLAS_THREADS_H
#define AXIAL_CORE_BLAS_THREADS_H

/* Sets OpenBLAS's thread count to n (n >= 1) for the caller's BLAS calls; pair with
 * ax_blas_threads_end on the same thread. Thread-safe. */
void ax_blas_threads_begin(int n);
void ax_blas_threads_end(void);

#endif /* AXIAL_CORE_BLAS_THREADS_H */
