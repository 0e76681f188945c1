/*
 * blas_threads.c — see blas_threads.h.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "core/blas_threads.h"

#include <cblas.h>
#include <pthread.h>

static pthread_mutex_t blas_lock = PTHREAD_MUTEX_INITIALIZER;
static int blas_calls;   /* calls between begin and end, all threads */
static int blas_saved;   /* the count before the first of them began */
static int blas_current; /* the count last set (valid while blas_calls > 0) */

void ax_blas_threads_begin(int n) {
    pthread_mutex_lock(&blas_lock);
    if (blas_calls++ == 0) blas_saved = blas_current = openblas_get_num_threads();
    if (n != blas_current) {
        openblas_set_num_threads(n);
        blas_current = n;
    }
    pthread_mutex_unlock(&blas_lock);
}

void ax_blas_threads_end(void) {
    pthread_mutex_lock(&blas_lock);
    if (--blas_calls == 0 && blas_current != blas_saved) openblas_set_num_threads(blas_saved);
    pthread_mutex_unlock(&blas_lock);
}
