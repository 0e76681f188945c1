/*
 * scope.cuh — a C++ guard over the core's stream-ordered workspace (internal.h), for a kernel entry
 * that takes a block of its own beyond the one the op table hands it, so its early returns cannot
 * leave the block unreturned. (The device scope itself is the op table's: ax_op_run makes the
 * context's device current around every kernel.)
 *
 * What it holds: ax_cuda_workspace (alloc() takes a block from the context's pool on its stream; the
 * destructor queues its release on the stream, behind the kernels that use it).
 *
 * C++, .cu files only; everything is internal to the including file.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_CORE_CUDA_SCOPE_CUH
#define AXIAL_CORE_CUDA_SCOPE_CUH

#include <stdint.h>

#include "core/internal.h"

namespace {

class ax_cuda_workspace {
  public:
    explicit ax_cuda_workspace(ax_context *ctx) : ctx_(ctx) {}
    ax_cuda_workspace(const ax_cuda_workspace &) = delete;
    ax_cuda_workspace &operator=(const ax_cuda_workspace &) = delete;
    ~ax_cuda_workspace() { release(); }
    /* Takes `bytes` (> 0) of device workspace, releasing any block held before. Accounting against
     * the context's limit and peak is the caller's (ax_context_reserve_workspace). */
    ax_status alloc(int64_t bytes) {
        release();
        return ax_cuda_ws_alloc(ctx_, bytes, &ptr_);
    }
    void release() {
        if (ptr_ != nullptr) ax_cuda_ws_free(ctx_, ptr_);
        ptr_ = nullptr;
    }
    char *bytes() const { return static_cast<char *>(ptr_); }

  private:
    ax_context *ctx_;
    void *ptr_ = nullptr;
};

} /* namespace */

#endif /* AXIAL_CORE_CUDA_SCOPE_CUH */
