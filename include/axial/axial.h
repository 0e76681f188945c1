/*
 * axial.h — Axial core C API: version, status and errors, dtypes, tensor descriptors, contexts.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 *
 * Conventions used by every Axial header (see docs/api-conventions.md):
 *  - Every fallible call returns ax_status. On failure, ax_last_error() returns a message for the
 *    calling thread naming the argument and the reason ("q: expected 5 dims (B, N, S, H, D), got 4").
 *    A failing call writes nothing to its outputs unless its documentation says otherwise.
 *  - The library never exits, aborts or prints. Set AXIAL_LOG=debug to get a debug log on stderr.
 *  - Tensors are described, not owned (ax_tensor). The caller owns memory, CUDA streams and MPI
 *    communicators. Inputs are `const ax_tensor *`, outputs come last.
 *  - Sizes, shapes and strides are int64_t; strides are counted in elements, not bytes.
 *  - Opaque handles have create/destroy pairs; destroy accepts NULL.
 *  - Config structs are zero-initialisable and start with a `struct_size` field; use the *_INIT
 *    macro so fields added in later versions get their defaults.
 */
#ifndef AXIAL_AXIAL_H
#define AXIAL_AXIAL_H

#include <stddef.h>
#include <stdint.h>

#include "axial/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------------
 * Version
 * ---------------------------------------------------------------------------------------------- */

#define AX_VERSION_MAJOR 0
#define AX_VERSION_MINOR 1
#define AX_VERSION_PATCH 0
/* One integer that compares in release order: 10000*major + 100*minor + patch. */
#define AX_VERSION_NUMBER (AX_VERSION_MAJOR * 10000 + AX_VERSION_MINOR * 100 + AX_VERSION_PATCH)

/* "MAJOR.MINOR.PATCH" of the library actually linked (may differ from the header's macros).
 * Thread-safe; the string is static. */
AX_API const char *ax_version_string(void);

/* ------------------------------------------------------------------------------------------------
 * Status and errors
 * ---------------------------------------------------------------------------------------------- */

/* Status codes. The numbers are stable across versions; new codes are only ever appended. */
typedef enum ax_status {
    AX_OK = 0,
    AX_ERR_INVALID_ARGUMENT = 1, /* a bad shape, dtype, stride, device, NULL pointer or value */
    AX_ERR_UNSUPPORTED = 2,      /* valid, but not supported by this build or device */
    AX_ERR_OUT_OF_MEMORY = 3,    /* host or device allocation failed, or the workspace limit */
    AX_ERR_IO = 4,               /* the operating system refused a file operation */
    AX_ERR_FORMAT = 5,           /* a file's contents are malformed */
    AX_ERR_CUDA = 6,             /* the CUDA runtime or cuBLAS reported an error */
    AX_ERR_MPI = 7,              /* MPI reported an error */
    AX_ERR_NCCL = 8,             /* NCCL reported an error */
    AX_ERR_INTERNAL = 9          /* a bug in Axial: please report it with ax_last_error() */
} ax_status;

/* A short constant name for a status ("AX_ERR_INVALID_ARGUMENT"); "AX_ERR_UNKNOWN" for values
 * outside the enum. Thread-safe; never NULL. */
AX_API const char *ax_status_string(ax_status status);

/* The detail message of the most recent failing Axial call on the calling thread, or "" if none
 * failed yet. Successful calls do not clear it. The pointer stays valid until the next Axial call
 * on the same thread. Thread-safe (thread-local storage); never NULL. */
AX_API const char *ax_last_error(void);

/* Clears the calling thread's last error message. */
AX_API void ax_clear_error(void);

/* ------------------------------------------------------------------------------------------------
 * Data types
 * ---------------------------------------------------------------------------------------------- */

typedef enum ax_dtype {
    AX_F32 = 0,
    AX_F16 = 1,  /* IEEE 754 binary16 */
    AX_BF16 = 2, /* bfloat16: the top 16 bits of an fp32 */
    AX_F64 = 3,
    AX_I32 = 4,
    AX_I64 = 5,
    AX_U8 = 6,
    AX_I8 = 7
} ax_dtype;

/* Bytes per element of `dtype`, or 0 for a value outside the enum. */
AX_API size_t ax_dtype_size(ax_dtype dtype);

/* Short lower-case name ("f32", "bf16", ...), or "unknown". Never NULL. */
AX_API const char *ax_dtype_name(ax_dtype dtype);

/* Scalar conversions. fp32 -> 16-bit rounds to nearest, ties to even; Inf and signed zeros are
 * kept, NaN stays NaN (quiet, sign kept), denormals are produced and read exactly; fp16 overflow
 * gives Inf. Thread-safe, no errors. */
AX_API uint16_t ax_f32_to_bf16(float value);
AX_API float ax_bf16_to_f32(uint16_t bits);
AX_API uint16_t ax_f32_to_f16(float value);
AX_API float ax_f16_to_f32(uint16_t bits);

/* Converts `count` contiguous host elements from `src` (dtype src_dtype) to `dst` (dtype
 * dst_dtype), with the rounding above. Supported pairs: any of f32/f16/bf16/f64 to any of them.
 * Vectorised (AVX2/F16C, AVX-512) when the CPU has it. src and dst must not overlap.
 * Errors: AX_ERR_INVALID_ARGUMENT for NULL pointers with count > 0, negative count or an
 * unsupported dtype pair. Thread-safe. */
AX_API ax_status ax_convert(const void *src, ax_dtype src_dtype, void *dst, ax_dtype dst_dtype,
                            int64_t count);

/* ------------------------------------------------------------------------------------------------
 * Devices and tensors
 * ---------------------------------------------------------------------------------------------- */

typedef enum ax_device_type { AX_CPU = 0, AX_CUDA = 1 } ax_device_type;

typedef struct ax_device {
    ax_device_type type;
    int32_t id; /* CUDA ordinal; 0 for the CPU */
} ax_device;

#define AX_MAX_DIMS 8

/* A caller-owned tensor descriptor; Axial never frees `data`. Element (i0, ..., i{n-1}) lives at
 * `(char *)data + ax_dtype_size(dtype) * sum_k i_k * strides[k]`. Strides are in elements and may be
 * zero (broadcast) for inputs; outputs must not alias themselves. Entries past ndim are ignored. */
typedef struct ax_tensor {
    void *data;
    ax_dtype dtype;
    ax_device device;
    int32_t ndim;
    int64_t shape[AX_MAX_DIMS];
    int64_t strides[AX_MAX_DIMS];
} ax_tensor;

/* Fills `out` to describe a row-major contiguous tensor of `ndim` dims at `data` on the CPU
 * (set out->device afterwards for CUDA memory). Errors: AX_ERR_INVALID_ARGUMENT when out is NULL,
 * ndim is outside [0, AX_MAX_DIMS], shape is NULL with ndim > 0, a size is negative, or the element
 * count overflows int64. `data` may be NULL (for describing before allocating). Thread-safe. */
AX_API ax_status ax_tensor_contiguous(ax_tensor *out, void *data, ax_dtype dtype, int32_t ndim,
                                      const int64_t *shape);

/* Number of elements (product of the shape; 1 for ndim 0). No validation. */
AX_API int64_t ax_tensor_numel(const ax_tensor *t);

/* 1 if the tensor is row-major contiguous (size-1 dims may have any stride), else 0. */
AX_API int ax_tensor_is_contiguous(const ax_tensor *t);

/* ------------------------------------------------------------------------------------------------
 * Context
 * ---------------------------------------------------------------------------------------------- */

typedef struct ax_context ax_context;

typedef struct ax_context_config {
    size_t struct_size;         /* sizeof(ax_context_config); set by AX_CONTEXT_CONFIG_INIT */
    ax_device device;           /* where the context's ops run; default CPU */
    void *cuda_stream;          /* cudaStream_t the ops are queued on; NULL = the default stream */
    int32_t num_threads;        /* CPU threads for ops; <= 0 = all cores (OpenMP's default) */
    int64_t workspace_limit;    /* bytes of scratch the context may hold; <= 0 = no limit */
} ax_context_config;

#define AX_CONTEXT_CONFIG_INIT \
    { sizeof(ax_context_config), { AX_CPU, 0 }, NULL, 0, 0 }

/* Creates a context. cfg == NULL means the CPU with all cores. For AX_CUDA the device is selected and
 * a cuBLAS handle is created on it. Errors: AX_ERR_INVALID_ARGUMENT (NULL out, bad struct_size,
 * negative device id), AX_ERR_UNSUPPORTED (CUDA requested but this build has no CUDA, or no CUDA
 * device is present), AX_ERR_CUDA (the runtime failed), AX_ERR_OUT_OF_MEMORY. On failure *out is
 * set to NULL. Thread-safe. */
AX_API ax_status ax_context_create(ax_context **out, const ax_context_config *cfg);

/* Releases a context and its scratch memory. Accepts NULL. Must not race with ops on the context. */
AX_API void ax_context_destroy(ax_context *ctx);

/* The context's device, and its CPU thread count (the value ops use). No errors; ctx must be valid. */
AX_API ax_device ax_context_device(const ax_context *ctx);
AX_API int32_t ax_context_num_threads(const ax_context *ctx);

/* The most scratch memory (host and device bytes, beyond the caller's tensors) any single op on this
 * context has used since creation or the last reset. For memory benchmarks and capacity planning. */
AX_API int64_t ax_context_workspace_peak(const ax_context *ctx);
AX_API void ax_context_workspace_peak_reset(ax_context *ctx);

/* Memory on the context's device, for callers without a CUDA toolkit of their own (the CLI, the
 * benchmarks, Fortran codes): host memory for an AX_CPU context, device memory (cudaMalloc) for
 * AX_CUDA. Errors: AX_ERR_INVALID_ARGUMENT (NULL ctx/out), AX_ERR_OUT_OF_MEMORY, AX_ERR_CUDA.
 * ax_device_free accepts NULL. */
AX_API ax_status ax_device_alloc(ax_context *ctx, size_t bytes, void **out);
AX_API void ax_device_free(ax_context *ctx, void *ptr);

/* Copies `bytes` between host memory and the context's device memory, queued on the context's stream
 * and waited for before returning (plain memcpy for AX_CPU). Errors: AX_ERR_INVALID_ARGUMENT for NULL
 * pointers with bytes > 0, AX_ERR_CUDA. */
AX_API ax_status ax_copy_to_device(ax_context *ctx, void *device_dst, const void *host_src, size_t bytes);
AX_API ax_status ax_copy_to_host(ax_context *ctx, void *host_dst, const void *device_src, size_t bytes);

/* Waits until every op queued on the context's stream has finished (no-op for AX_CPU); reports an
 * asynchronous CUDA error from earlier work as AX_ERR_CUDA. */
AX_API ax_status ax_context_synchronize(ax_context *ctx);

/* A context may be used by one thread at a time: ops on one context serialise through its scratch
 * memory. Use one context per thread for concurrency. */

/* ------------------------------------------------------------------------------------------------
 * Build and machine information
 * ---------------------------------------------------------------------------------------------- */

/* CPU instruction-set paths. AX_CPU_PATH_AUTO picks the best the CPU has. */
typedef enum ax_cpu_path {
    AX_CPU_PATH_AUTO = -1,
    AX_CPU_PATH_PORTABLE = 0,
    AX_CPU_PATH_AVX2 = 1,   /* AVX2 + FMA + F16C */
    AX_CPU_PATH_AVX512 = 2  /* AVX-512F (+ BW, VL, DQ; BF16 used when present) */
} ax_cpu_path;

/* Flags of what the running CPU supports. */
#define AX_CPU_HAS_AVX2 0x1u
#define AX_CPU_HAS_FMA 0x2u
#define AX_CPU_HAS_F16C 0x4u
#define AX_CPU_HAS_AVX512F 0x8u
#define AX_CPU_HAS_AVX512BW 0x10u
#define AX_CPU_HAS_AVX512VL 0x20u
#define AX_CPU_HAS_AVX512DQ 0x40u
#define AX_CPU_HAS_AVX512BF16 0x80u

AX_API uint32_t ax_cpu_features(void);

/* The path CPU kernels use. By default the best the CPU supports; the environment variable
 * AXIAL_CPU_PATH=portable|avx2|avx512 caps it (read once, at first use; unknown values are
 * ignored). */
AX_API ax_cpu_path ax_cpu_path_active(void);

/* Caps the CPU path at run time (tests use this to cover every path on one machine). A path the CPU
 * lacks gives AX_ERR_UNSUPPORTED; AX_CPU_PATH_AUTO restores the default. Not thread-safe with
 * concurrent ops. */
AX_API ax_status ax_cpu_path_set(ax_cpu_path path);

/* "portable", "avx2", "avx512" or "auto". */
AX_API const char *ax_cpu_path_name(ax_cpu_path path);

/* Build options compiled in (1) or not (0). */
AX_API int ax_build_has_cuda(void);
AX_API int ax_build_has_mpi(void);
AX_API int ax_build_has_nccl(void);
AX_API int ax_build_has_hdf5(void);
AX_API int ax_build_has_png(void);
AX_API int ax_build_has_openmp(void);

/* Number of usable CUDA devices: 0 when the build has no CUDA, no driver is loaded or no device is
 * present (this is not an error). */
AX_API int ax_cuda_device_count(void);

/* Name (NUL-terminated, truncated to name_size) and total memory in bytes of CUDA device `id`.
 * Errors: AX_ERR_UNSUPPORTED without CUDA, AX_ERR_INVALID_ARGUMENT for a bad id or NULL buffers. */
AX_API ax_status ax_cuda_device_info(int32_t id, char *name, size_t name_size, int64_t *total_memory);

#ifdef __cplusplus
}
#endif

#endif /* AXIAL_AXIAL_H */
