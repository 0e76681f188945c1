/*
 * blas_scope.cuh — the context's cuBLAS handle with one op's workspace for the length of one call.
 * The op table frees that workspace block (back to the pool, on the stream) when the op returns; a
 * handle left pointing at it would let a later cuBLAS user that does not set its own workspace
 * write into memory another op then owns. The guard sets the block and hands it back at every
 * return (cublasSetWorkspace(NULL, 0); GEMMs already queued keep the pointer they were launched
 * with). Neither call synchronises the host.
 *
 * C++, .cu files only; everything is internal to the including file.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_CORE_CUDA_BLAS_SCOPE_CUH
#define AXIAL_CORE_CUDA_BLAS_SCOPE_CUH

#include <cublas_v2.h>
#include <stddef.h>

#include "core/internal.h"

namespace {

class ax_cuda_blas_scope {
  public:
    ax_cuda_blas_scope() = default;
    ax_cuda_blas_scope(const ax_cuda_blas_scope &) = delete;
    ax_cuda_blas_scope &operator=(const ax_cuda_blas_scope &) = delete;
    ~ax_cuda_blas_scope() {
        if (handle_ != nullptr) cublasSetWorkspace(handle_, nullptr, 0);
    }
    /* The context's handle (made at its first use) with `bytes` of `workspace`: AX_OK, or the
     * handle's creation error, or *blas_status != CUBLAS_STATUS_SUCCESS from cublasSetWorkspace
     * (AX_OK then: the caller names the cuBLAS failure its own way). */
    ax_status begin(ax_context *ctx, void *workspace, size_t bytes, cublasStatus_t *blas_status) {
        void *h = nullptr;
        AX_CHECK(ax_cuda_blas_handle(ctx, &h));
        handle_ = static_cast<cublasHandle_t>(h);
        *blas_status = cublasSetWorkspace(handle_, workspace, bytes);
        return AX_OK;
    }
    cublasHandle_t handle() const { return handle_; }

  private:
    cublasHandle_t handle_ = nullptr;
};

} /* namespace */

#endif /* AXIAL_CORE_CUDA_BLAS_SCOPE_CUH */
