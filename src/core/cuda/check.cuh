/*
 * check.cuh — the short vocabulary every CUDA file of the library reports runtime failures with.
 *
 * What it holds: ax_cuda_error (a failed call as AX_ERR_CUDA, or AX_ERR_OUT_OF_MEMORY for an
 * allocation failure, with the message "what: cudaGetErrorString (cudaGetErrorName)"), and the
 * macros AX_CUDA_CHECK (return on failure), AX_CUDA_CHECK_GOTO (store and jump, as AX_CHECK_GOTO) and
 * AX_CUDA_CHECK_KEEP (cleanup paths: record a failure only when no earlier error is pending, so the
 * first error is the one the caller sees). Every failure also clears CUDA's last-error state
 * (cudaGetLastError), so it is not reported a second time by the next, unrelated call; a sticky error
 * (a broken context) cannot be cleared and is returned by every later call, as CUDA intends.
 *
 * C++, included by .cu files only; everything is internal to the including file.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_CORE_CUDA_CHECK_CUH
#define AXIAL_CORE_CUDA_CHECK_CUH

#include <cuda_runtime.h>

#include "core/internal.h"

namespace {

/* Records `err` (from the call described by `what`) as the thread's last error and returns its
 * status. Allocation failures are AX_ERR_OUT_OF_MEMORY so callers can fall back or report a size. */
inline ax_status ax_cuda_error(cudaError_t err, const char *what) {
    cudaGetLastError(); /* the failure is reported here; the next call must not see it again */
    const ax_status code = err == cudaErrorMemoryAllocation ? AX_ERR_OUT_OF_MEMORY : AX_ERR_CUDA;
    return ax_set_error(code, "%s: %s (%s)", what, cudaGetErrorString(err), cudaGetErrorName(err));
}

/* Cleanup-path form: a failure becomes *st only when *st is still AX_OK (the first error wins, and
 * its message is not overwritten); a later failure is cleared and dropped. */
inline void ax_cuda_keep_first(ax_status *st, cudaError_t err, const char *what) {
    if (err == cudaSuccess) return;
    if (*st == AX_OK)
        *st = ax_cuda_error(err, what);
    else
        cudaGetLastError();
}

} /* namespace */

/* Returns from the calling function (which returns ax_status) when `call` fails; the message names
 * the call as written. */
#define AX_CUDA_CHECK(call)                                                         \
    do {                                                                            \
        const cudaError_t ax_cuda_err_ = (call);                                    \
        if (ax_cuda_err_ != cudaSuccess) return ax_cuda_error(ax_cuda_err_, #call); \
    } while (0)

/* Stores the failure of `call` in `st` and jumps to `label` (as AX_CHECK_GOTO does for ax_status). */
#define AX_CUDA_CHECK_GOTO(call, st, label)                      \
    do {                                                         \
        const cudaError_t ax_cuda_err_ = (call);                 \
        if (ax_cuda_err_ != cudaSuccess) {                       \
            (st) = ax_cuda_error(ax_cuda_err_, #call);           \
            goto label;                                          \
        }                                                        \
    } while (0)

/* Runs `call` on a cleanup path: records its failure in `st` only when `st` is still AX_OK. */
#define AX_CUDA_CHECK_KEEP(call, st) ax_cuda_keep_first(&(st), (call), #call)

#endif /* AXIAL_CORE_CUDA_CHECK_CUH */
