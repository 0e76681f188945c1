/*
 * scope.cuh — C++ guards over the core's device scope and stream-ordered workspace (internal.h), so
 * an entry point's early returns cannot leave the caller's device switched or a block unreturned.
 *
 * What it holds: ax_cuda_device_guard (enter() makes the context's device current; the destructor
 * puts the caller's device back, and does nothing when no switch was made or enter() failed) and
 * ax_cuda_workspace (alloc() takes a block from the context's pool on its stream; the destructor
 * queues its release on the stream, behind the kernels that use it). Declare the device guard first
 * so the workspace is released while the context's device is still current.
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

class ax_cuda_device_guard {
  public:
    explicit ax_cuda_device_guard(const ax_context *ctx) : ctx_(ctx) {}
    ax_cuda_device_guard(const ax_cuda_device_guard &) = delete;
    ax_cuda_device_guard &operator=(const ax_cuda_device_guard &) = delete;
    ~ax_cuda_device_guard() {
        if (entered_) ax_cuda_scope_leave(ctx_, saved_);
    }
    ax_status enter() {
        const ax_status st = ax_cuda_scope_enter(ctx_, &saved_);
        entered_ = st == AX_OK;
        return st;
    }

  private:
    const ax_context *ctx_;
    int saved_ = -1;
    bool entered_ = false;
};

class ax_cuda_workspace {
  public:
    explicit ax_cuda_workspace(ax_context *ctx) : ctx_(ctx) {}
    ax_cuda_workspace(const ax_cuda_workspace &) = delete;
    ax_cuda_workspace &operator=(const ax_cuda_workspace &) = delete;
    ~ax_cuda_workspace() { release(); }
    /* Takes `bytes` (> 0) of device workspace, releasing any block held before. Accounting against
     * the context's limit and peak is the caller's (ax_context_reserve_workspace2). */
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
