/*
 * op.h — the op table: one registration per op (its CPU kernel per instruction-set path, its CUDA
 * kernel or none, what it can run, how much scratch it needs) and one entry, ax_op_run, that every
 * op's public function ends in. The entry owns what each op used to do by hand: the "this build has
 * no CUDA" error, the device scope, the workspace (limit, peak, measure mode, host arena, device
 * pool) and the debug log. Never installed.
 *
 * An op's public function validates its tensors (core/tensor_spec.h), fills the op's one params
 * struct, and returns ax_op_run(&the_op, ctx, &params). Kernels receive an ax_op_call.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_CORE_OP_H
#define AXIAL_CORE_OP_H

#include <stdint.h>

#include "axial/axial.h"

#ifdef __cplusplus
extern "C" {
#endif

/* For small helpers in an op's params header that both its C kernels and its CUDA kernels call. */
#ifdef __CUDACC__
#  define AX_HOST_DEVICE __host__ __device__
#else
#  define AX_HOST_DEVICE
#endif

/* Number of CPU instruction-set paths (AX_CPU_PATH_PORTABLE .. AX_CPU_PATH_AVX512). */
#define AX_CPU_PATH_COUNT 3

/* Scratch memory one call of an op needs beyond the caller's tensors. */
typedef struct ax_op_workspace {
    int64_t host_bytes;   /* one block of the context's host arena (kernels slice it per thread) */
    int64_t device_bytes; /* one block from the context's stream-ordered device pool (CUDA contexts) */
} ax_op_workspace;

/* What a kernel receives. */
typedef struct ax_op_call {
    struct ax_context *ctx;
    const void *params;      /* the op's params struct, validated by its public function */
    int cpu_path;            /* ax_cpu_path of the kernel running (CPU contexts), resolved once per call */
    void *host_ws;           /* workspace.host_bytes of host memory, 64-byte aligned; NULL when 0 bytes */
    void *device_ws;         /* workspace.device_bytes on the context's device, 256-byte aligned; NULL when 0 */
    ax_op_workspace workspace; /* the sizes the op's workspace function asked for */
} ax_op_call;

typedef ax_status (*ax_op_kernel)(const ax_op_call *call);
/* AX_OK when the op can run `params` on ctx's backend, else AX_ERR_UNSUPPORTED with the reason. */
typedef ax_status (*ax_op_supports_fn)(const struct ax_context *ctx, const void *params);
/* Fills *need with the scratch bytes a call with `params` takes on ctx (zeroed beforehand). May fail
 * (e.g. a size overflows), setting the error. */
typedef ax_status (*ax_op_workspace_fn)(const struct ax_context *ctx, const void *params, ax_op_workspace *need);

typedef struct ax_op {
    const char *name;                    /* "evoformer_attention_forward": messages and the debug log */
    /* One kernel per CPU path, indexed by ax_cpu_path; a NULL entry falls back to the next lower
     * path. [AX_CPU_PATH_PORTABLE] may be NULL only for an op without a CPU backend. */
    ax_op_kernel cpu[AX_CPU_PATH_COUNT];
    ax_op_kernel cuda;                   /* NULL: no CUDA kernel (always NULL in a build without CUDA) */
    ax_op_supports_fn cpu_supports;      /* NULL: the CPU kernels run every valid params */
    ax_op_supports_fn cuda_supports;     /* NULL: the CUDA kernel runs every valid params */
    ax_op_workspace_fn cpu_workspace;    /* NULL: no scratch */
    ax_op_workspace_fn cuda_workspace;   /* NULL: no scratch */
} ax_op;

/* Runs `op` on ctx with `params`, in this order: a CUDA context in a build without CUDA, or an op
 * without a CUDA kernel, is AX_ERR_UNSUPPORTED naming the op; supports(); the workspace function;
 * the context's limit (AX_ERR_OUT_OF_MEMORY naming both sizes) and peak; in measure mode it stops
 * here with AX_OK; else it takes the host block from the arena and the device block from the pool,
 * makes the context's device current (restoring the caller's afterwards), runs the kernel and
 * returns the device block to the pool in stream order. Never synchronises the host. */
ax_status ax_op_run(const ax_op *op, struct ax_context *ctx, const void *params);

/* Piece `index` of `per_piece` bytes (a multiple of 64) of a host workspace starting `offset` bytes
 * in: the slice of thread `index` when the op asked for threads x per_piece bytes. */
static inline void *ax_ws_slice(void *base, int64_t offset, int64_t per_piece, int64_t index) {
    return (char *)base + offset + per_piece * index;
}

/* Rounds a byte count up to 64, the alignment every host workspace piece keeps. */
static inline int64_t ax_ws_round(int64_t bytes) { return (bytes + 63) / 64 * 64; }

/* The kernels of an op body compiled once per path by axial_isa_sources() (CMakeLists.txt): the
 * body defines AX_ISA(name), which becomes name_portable, name_avx2, name_avx512. Declare them with
 * AX_DECLARE_CPU_KERNELS(name) and register them with AX_CPU_KERNELS(name). */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#  define AX_DECLARE_CPU_KERNELS(name)                          \
      ax_status name##_portable(const ax_op_call *call);         \
      ax_status name##_avx2(const ax_op_call *call);             \
      ax_status name##_avx512(const ax_op_call *call)
#  define AX_CPU_KERNELS(name) { name##_portable, name##_avx2, name##_avx512 }
#else
#  define AX_DECLARE_CPU_KERNELS(name) ax_status name##_portable(const ax_op_call *call)
#  define AX_CPU_KERNELS(name) { name##_portable, NULL, NULL }
#endif

/* A CUDA kernel entry in a registration: the function in a CUDA build, NULL otherwise, so no build
 * needs a stub of it. */
#if AXIAL_WITH_CUDA
#  define AX_CUDA_KERNEL(fn) fn
#else
#  define AX_CUDA_KERNEL(fn) NULL
#endif

#ifdef __cplusplus
}
#endif

#endif /* AXIAL_CORE_OP_H */
