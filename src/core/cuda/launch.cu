/*
 * launch.cu — the one piece of launch.cuh that needs state: which kernels already have their dynamic
 * shared-memory limit raised, per device, so cudaFuncSetAttribute runs once per kernel, device and
 * size instead of at every launch. C ABI; nothing here throws or prints.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <atomic>
#include <cuda_runtime.h>

#include "core/cuda/check.cuh"
#include "core/cuda/launch.cuh"

namespace {

struct smem_entry {
    const void *kernel;
    int device;
    size_t bytes; /* the largest limit set so far */
};

/* The library has a few dozen kernel instantiations that opt in; a full table only means later
 * kernels set their attribute at every launch, as before, which is correct if slower. */
constexpr int kSmemEntries = 512;
smem_entry g_smem[kSmemEntries];
int g_smem_used = 0;

/* A spin lock: held for a short table scan, and once per entry across cudaFuncSetAttribute. Not a
 * std::mutex, whose error path needs libstdc++, which C programs linking the static library lack. */
std::atomic_flag g_smem_lock = ATOMIC_FLAG_INIT;

void lock_table() {
    while (g_smem_lock.test_and_set(std::memory_order_acquire)) {
    }
}
void unlock_table() { g_smem_lock.clear(std::memory_order_release); }

} /* namespace */

extern "C" ax_status ax_cuda_kernel_smem(const void *kernel, const char *name, size_t smem) {
    int device = 0;
    const cudaError_t gerr = cudaGetDevice(&device);
    if (gerr != cudaSuccess) return ax_cuda_error(gerr, name);
    /* Held across cudaFuncSetAttribute, so two threads never set one kernel's limit at once (the
     * smaller could land last); that happens once per entry, so the lock is otherwise only held for
     * the table scan. */
    lock_table();
    smem_entry *entry = NULL;
    for (int e = 0; e < g_smem_used; e++) {
        if (g_smem[e].kernel == kernel && g_smem[e].device == device) {
            entry = &g_smem[e];
            break;
        }
    }
    if (entry != NULL && entry->bytes >= smem) {
        unlock_table();
        return AX_OK;
    }
    const cudaError_t err = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
    if (err == cudaSuccess) {
        if (entry == NULL && g_smem_used < kSmemEntries) {
            entry = &g_smem[g_smem_used++];
            entry->kernel = kernel;
            entry->device = device;
        }
        if (entry != NULL) entry->bytes = smem;
    }
    unlock_table();
    if (err != cudaSuccess) {
        cudaGetLastError();
        return ax_set_error(AX_ERR_CUDA, "%s: cannot set %zu bytes of dynamic shared memory: %s (%s)", name, smem,
                            cudaGetErrorString(err), cudaGetErrorName(err));
    }
    return AX_OK;
}
