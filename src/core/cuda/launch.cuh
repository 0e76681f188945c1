/*
 * launch.cuh — one way to launch a kernel, for every CUDA file of the library.
 *
 * What it holds: ax_cuda_launch (a grid too large for CUDA is reported naming the kernel; the
 * kernel's dynamic shared-memory limit is raised once per kernel, device and size rather than at every
 * launch; a failed launch is reported naming the kernel, and CUDA's last error is cleared), the
 * shared-memory opt-in it uses (ax_cuda_kernel_smem, implemented in launch.cu behind a small locked
 * table, so several host threads may launch at once), and ceil_div for grid sizes.
 *
 * C++, included by .cu files only; everything but ax_cuda_kernel_smem is internal to the including
 * file.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_CORE_CUDA_LAUNCH_CUH
#define AXIAL_CORE_CUDA_LAUNCH_CUH

#include <cuda_runtime.h>
#include <stddef.h>
#include <stdint.h>

#include "core/internal.h"

/* Makes sure `kernel` (a __global__ function's address) may use `smem` bytes of dynamic shared memory
 * on the current device: cudaFuncSetAttribute(MaxDynamicSharedMemorySize) the first time a size
 * above the largest already set for this kernel and device is asked for, nothing otherwise. `name`
 * names the kernel in the error. Thread-safe. */
extern "C" ax_status ax_cuda_kernel_smem(const void *kernel, const char *name, size_t smem);

namespace {

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* Launches kernel<<<blocks, threads, smem, stream>>>(args). No host synchronisation; an error in the
 * kernel itself surfaces at the next synchronising call, as with any launch. */
template <typename Args>
ax_status ax_cuda_launch(void (*kernel)(Args), const char *name, int64_t blocks, int threads, size_t smem,
                         cudaStream_t stream, const Args &args) {
    if (blocks > INT32_MAX)
        return ax_set_error(AX_ERR_UNSUPPORTED, "%s: %lld thread blocks needed, more than one CUDA grid holds (%d)",
                            name, (long long)blocks, INT32_MAX);
    if (smem > 0) AX_CHECK(ax_cuda_kernel_smem(reinterpret_cast<const void *>(kernel), name, smem));
    /* cudaLaunchKernel returns this launch's own error, where cudaGetLastError after <<< >>> could
     * also return one left behind by an earlier, unrelated call. */
    void *argv[] = {const_cast<Args *>(&args)};
    const cudaError_t err = cudaLaunchKernel(reinterpret_cast<const void *>(kernel), dim3((unsigned)blocks),
                                             dim3((unsigned)threads), argv, smem, stream);
    if (err != cudaSuccess) {
        cudaGetLastError();
        return ax_set_error(AX_ERR_CUDA, "%s launch: %s (%s)", name, cudaGetErrorString(err), cudaGetErrorName(err));
    }
    return AX_OK;
}

} /* namespace */

#endif /* AXIAL_CORE_CUDA_LAUNCH_CUH */
