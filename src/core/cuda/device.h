/*
 * device.h — the facts about a CUDA context's device that kernels and launchers need, read once when
 * the context is made (ax_cuda_context_init) instead of at every call, and the process-wide switches
 * read from the environment once.
 *
 * What it holds: ax_cuda_device_props (compute capability, SM count, shared memory per block with
 * opt-in, name, memory-pool support), the accessor ax_cuda_props(ctx), and
 * ax_cuda_tensor_cores_enabled() (AXIAL_CUDA_TENSOR_CORES, read at its first call). The state behind
 * ctx->cuda (the props and the context's memory pool) is private to cuda_runtime.cu.
 *
 * C, callable from C and CUDA files; never installed. Implemented in cuda_runtime.cu (CUDA builds).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_CORE_CUDA_DEVICE_H
#define AXIAL_CORE_CUDA_DEVICE_H

#include <stddef.h>
#include <stdint.h>

#include "core/internal.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ax_cuda_device_props {
    int32_t device;              /* the CUDA ordinal these facts describe (ctx->device.id) */
    int32_t cc_major, cc_minor;  /* compute capability, e.g. 9.0 for H100 / H200 */
    int32_t sm_count;            /* streaming multiprocessors */
    int64_t smem_optin_per_block; /* dynamic + static shared memory one block may use after opting in */
    int64_t smem_per_sm;         /* shared memory of one SM */
    int64_t total_memory;        /* bytes of device memory */
    int32_t memory_pools;        /* 1 when the device supports stream-ordered pools (cudaMallocAsync) */
    int32_t code_arch;           /* the virtual architecture (x10, e.g. 80) of the device code this
                                    build runs on the device: below the device's own when it runs
                                    JIT-compiled older PTX (a build for "75;90" on an sm_80 card),
                                    whose tensor-core kernels have no body: the tensor-core
                                    paths require 80 or more) */
    char name[256];              /* the device's marketing name, NUL-terminated */
} ax_cuda_device_props;

/* The props of a CUDA context's device (filled by ax_cuda_context_init, valid for the context's
 * life); NULL for a CPU context or a build without CUDA. */
const ax_cuda_device_props *ax_cuda_props(const ax_context *ctx);

/* 0 when the environment has AXIAL_CUDA_TENSOR_CORES=0 (every kernel then takes its SIMT path), else
 * 1. Read once per process, at the first call; thread-safe. */
int ax_cuda_tensor_cores_enabled(void);

/* 1 when the tensor-core kernels may run on the device `dev` describes: sm_80 or newer, running
 * device code of compute_80 or newer (code_arch), and not switched off by the environment. 0 for
 * NULL. The one rule every tensor-core path checks. */
int ax_cuda_tensor_cores_usable(const ax_cuda_device_props *dev);

#ifdef __cplusplus
}
#endif

#endif /* AXIAL_CORE_CUDA_DEVICE_H */
