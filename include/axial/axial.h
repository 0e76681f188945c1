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
 *  - Threads: functions that only read (names, sizes, build, CPU and device queries, a context's
 *    properties) may be called from any thread at any time. A context, a communicator, a model or
 *    a session serves one thread at a time unless its header says otherwise; other rules are stated
 *    where a function is declared.
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
    AX_ERR_INTERNAL = 9,         /* a bug in Axial: please report it with ax_last_error() */
    AX_ERR_BUSY = 10             /* a bounded queue is full: try again later (serving.h) */
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
    AX_I8 = 7,
    /* 8-bit floats, one byte per element, bit for bit as the ml_dtypes package (and the OCP FP8
     * specification) define them. */
    AX_F8_E4M3FN = 8, /* 1 sign, 4 exponent (bias 7), 3 mantissa bits; no Inf; NaN = 0x7f/0xff; max 448 */
    AX_F8_E5M2 = 9,   /* 1 sign, 5 exponent (bias 15), 2 mantissa bits; IEEE-like: Inf and NaN; max 57344 */
    /* Block-quantized types of GGML/GGUF, byte for byte as a GGUF file stores them (little-endian fp16
     * scales). A block of ax_dtype_block_elems() consecutive elements is stored in
     * ax_dtype_block_bytes() bytes:
     *   Q4_0  32 elements in 18 bytes:  fp16 d, 16 bytes of 4-bit q;       x = d * (q - 8)
     *   Q4_1  32 elements in 20 bytes:  fp16 d, fp16 m, 16 bytes of 4-bit q; x = d * q + m
     *   Q8_0  32 elements in 34 bytes:  fp16 d, 32 int8 q;                  x = d * q
     *   Q4_K 256 elements in 144 bytes: fp16 d, fp16 dmin, 8 pairs of 6-bit (scale, min) packed in 12
     *        bytes, 128 bytes of 4-bit q; sub-block j of 32: x = (d * scale_j) * q - dmin * min_j
     *   Q6_K 256 elements in 210 bytes: 128 bytes of low 4 bits, 64 bytes of high 2 bits, 16 int8
     *        scales, fp16 d; sub-block j of 16: x = (d * scale_j) * (q - 32)
     * New block types are appended after these. See "Block-quantized tensors" below for the layout
     * rule, and ax_convert for how values are rounded. */
    AX_Q4_0 = 10,
    AX_Q4_1 = 11,
    AX_Q8_0 = 12,
    AX_Q4_K = 13,
    AX_Q6_K = 14
} ax_dtype;

/* Bytes per element of `dtype` (1 for the fp8 types), or 0 when an element has no size of its own:
 * for the block-quantized types (use ax_dtype_block_bytes / ax_dtype_bytes) and for a value outside
 * the enum. Thread-safe, no errors. */
AX_API size_t ax_dtype_size(ax_dtype dtype);

/* Elements per block: 32 for Q4_0, Q4_1, Q8_0; 256 for Q4_K, Q6_K; 1 for every other dtype; 0 for
 * a value outside the enum. Thread-safe, no errors. */
AX_API int64_t ax_dtype_block_elems(ax_dtype dtype);

/* Bytes per block: 18 (Q4_0), 20 (Q4_1), 34 (Q8_0), 144 (Q4_K), 210 (Q6_K); the element size for
 * every other dtype (whose blocks are single elements); 0 for a value outside the enum. Thread-safe,
 * no errors. */
AX_API int64_t ax_dtype_block_bytes(ax_dtype dtype);

/* Bytes that `count` consecutive elements of `dtype` occupy, or -1 when count is negative, not a
 * whole number of blocks, the byte count overflows int64, or dtype is outside the enum.
 * Thread-safe, no errors. */
AX_API int64_t ax_dtype_bytes(ax_dtype dtype, int64_t count);

/* Short lower-case name ("f32", "bf16", "f8_e4m3fn", "q4_k", ...), or "unknown". Never NULL. */
AX_API const char *ax_dtype_name(ax_dtype dtype);

/* Scalar conversions. fp32 -> 16-bit rounds to nearest, ties to even; Inf and signed zeros are
 * kept, NaN stays NaN (quiet, sign kept), denormals are produced and read exactly; fp16 overflow
 * gives Inf. 16-bit -> fp32: fp16 NaNs come out quiet (payload and sign kept, as F16C converts
 * them); bf16 -> fp32 keeps all 16 bits, a signalling NaN included. Every path (vector or scalar,
 * contiguous or strided) gives these bits. Thread-safe, no errors. */
AX_API uint16_t ax_f32_to_bf16(float value);
AX_API float ax_bf16_to_f32(uint16_t bits);
AX_API uint16_t ax_f32_to_f16(float value);
AX_API float ax_f16_to_f32(uint16_t bits);

/* fp8 scalar conversions, bit for bit as ml_dtypes' astype. fp32 -> fp8 rounds to nearest, ties to
 * even, producing subnormals and keeping the sign of zeros and NaNs. E4M3FN has no Inf: a magnitude
 * that rounds above 448 (that is, > 464: 464 itself ties to even, 448), and +-Inf, become NaN (0x7f, or 0xff when negative).
 * E5M2 overflows to Inf like IEEE formats (magnitudes >= 61440), and every NaN becomes the quiet
 * NaN 0x7e (0xfe when negative). fp8 -> fp32 is exact; NaN codes read as the quiet NaN 0x7fc00000
 * with their sign. Thread-safe, no errors. */
AX_API uint8_t ax_f32_to_f8_e4m3fn(float value);
AX_API float ax_f8_e4m3fn_to_f32(uint8_t bits);
AX_API uint8_t ax_f32_to_f8_e5m2(float value);
AX_API float ax_f8_e5m2_to_f32(uint8_t bits);

/* Converts `count` contiguous host elements from `src` (dtype src_dtype) to `dst` (dtype
 * dst_dtype). Supported: every pair among f32, f16, bf16, f64, f8_e4m3fn, f8_e5m2 and the
 * block-quantized types; a block-quantized side needs `count` to be a whole number of its blocks.
 * src and dst must not overlap. Thread-safe.
 *
 * Rounding. Between the float types (f32, f16, bf16, f64, fp8) each value is rounded once, to
 * nearest with ties to even (f64 -> 16 or 8 bits is rounded once, not through f32), with the
 * special values described at the scalar conversions above. Vectorised (AVX2/F16C, AVX-512) for f32
 * <-> bf16/f16 when the CPU has it; the results are the same bits on every path.
 *
 * Quantizing (any float type -> a block type) goes through fp32: an f64 source is first rounded to
 * fp32. Q4_0, Q4_1 and Q8_0 give the same bytes as GGML's reference quantizer (and the `gguf`
 * Python package): the scale is computed in fp32, its reciprocal is multiplied in and offsets
 * added with one rounding each (never fused), and scales are stored as fp16 rounded to nearest
 * even. Q4_K and Q6_K use Axial's own quantizer (GGML's is not reproduced): the scales of each
 * sub-block are rounded up so the sub-block's range is covered, then each element goes to the
 * nearest level. Per element, |x - dequantized x| is at most half the sub-block's step, which is at
 * most 0.07 * A + 2^-20 for Q4_K and 0.017 * A + 2^-20 for Q6_K, where A is the largest magnitude in
 * the 256-element block (the 2^-20 covers the smallest fp16 scales).
 * Special cases, the same for every block type:
 *  - a block holding a NaN or an Inf is stored with NaN scales and zero quants, so all its elements
 *    read back as NaN (GGML's reference leaves such blocks undefined); other blocks are unaffected;
 *  - finite values too large for the fp16 scales (about |x| > 5.2e5 for Q4_0, |min| > 65504 or a
 *    range > 9.8e5 for Q4_1, |x| > 8.3e6 for Q8_0, 4e6 for Q4_K, 2.5e8 for Q6_K) get Inf scales, as
 *    in GGML, and read back as Inf or NaN;
 *  - a block so small that GGML's fp32 reciprocal scale overflows (largest magnitude below about
 *    2e-38 for Q4_0 or 4e-37 for Q8_0, range below about 4e-38 for Q4_1) is stored with zero quants:
 *    its scale is an fp16 zero either way, so it reads back as zeros as GGML's bytes do, though the
 *    quant bits (which GGML leaves undefined) differ, and with them the sign of a zero (Q4_0: level
 *    8 times a -0 scale reads -0 where the gguf package's bytes read +0);
 *  - signed zeros: an all-zero Q4_0 block takes the sign of its first element for its scale, as the
 *    `gguf` package does (GGML's C reference always takes +0); the sign of a zero Q4_1 minimum is
 *    that of the first zero among the minima, as in GGML (the `gguf` package's NumPy reduction may
 *    store the other sign, which changes no value).
 * Dequantizing (block -> float) computes each value in fp32 with one rounding per multiply and add
 * (never fused), exactly as the `gguf` package does, then converts to the destination (exact for
 * f32 and f64, rounded to nearest even for the narrower types).
 *
 * Errors: AX_ERR_INVALID_ARGUMENT for NULL pointers with count > 0, a negative count, a count that
 * is not a whole number of blocks, or a dtype outside those above (integers are not converted). */
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
 * zero (broadcast) for inputs; outputs must not alias themselves, and their strides must nest: in
 * order of size, each beyond the reach of the smaller ones (every row-major, column-major, padded
 * or permuted layout does; an interleaved one such as strides (3, 2) for shape (2, 3) is refused
 * even where no two elements meet). Entries past ndim are ignored.
 *
 * Block-quantized tensors (ax_dtype_block_elems(dtype) > 1). The quantized dimension is the
 * innermost one: a tensor has ndim >= 1, shape[ndim-1] is a multiple of the block size,
 * strides[ndim-1] is 1 (blocks are contiguous runs of memory), and every other stride of a dim
 * larger than 1 is a whole number of blocks (a multiple of the block size; it stays counted in
 * elements). With B = ax_dtype_block_elems(dtype), the element at offset o = sum_k i_k * strides[k]
 * is number o - B * floor(o / B) of the block at
 * `(char *)data + floor(o / B) * ax_dtype_block_bytes(dtype)`.
 * Ops check this rule and name the tensor that breaks it. */
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
 * ndim is outside [0, AX_MAX_DIMS], shape is NULL with ndim > 0, a size is negative, the element
 * count overflows int64, dtype is outside the enum, or (block-quantized dtypes) ndim is 0 or the
 * last dim is not a multiple of the block size. `data` may be NULL (for describing before
 * allocating). Thread-safe. */
AX_API ax_status ax_tensor_contiguous(ax_tensor *out, void *data, ax_dtype dtype, int32_t ndim,
                                      const int64_t *shape);

/* Number of elements (product of the shape; 1 for ndim 0). No validation. Thread-safe. */
AX_API int64_t ax_tensor_numel(const ax_tensor *t);

/* 1 if the tensor is row-major contiguous (size-1 dims may have any stride), else 0. Thread-safe. */
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

/* Creates a context. cfg == NULL means the CPU with all cores. For AX_CUDA the device is selected; the
 * context's cuBLAS handle is made only at its first GEMM (linalg.h) and released with it.
 * Errors: AX_ERR_INVALID_ARGUMENT (NULL out, bad struct_size, negative device id, a cuda_stream of
 * another device, where the runtime can tell: CUDA 12.8+), AX_ERR_UNSUPPORTED (CUDA requested but
 * this build has no CUDA, or no usable CUDA device is present: the message names the runtime's error),
 * AX_ERR_CUDA (the runtime failed), AX_ERR_OUT_OF_MEMORY. On failure *out is set to NULL.
 * Thread-safe. */
AX_API ax_status ax_context_create(ax_context **out, const ax_context_config *cfg);

/* Releases a context, its scratch memory and its cuBLAS handle. Accepts NULL. Must not race with ops
 * on the context. */
AX_API void ax_context_destroy(ax_context *ctx);

/* The context's device, and its CPU thread count (the value ops use). No errors; ctx must be valid.
 * Thread-safe (they read values fixed at creation). */
AX_API ax_device ax_context_device(const ax_context *ctx);
AX_API int32_t ax_context_num_threads(const ax_context *ctx);

/* The most scratch memory (host and device bytes together, beyond the caller's tensors) any single
 * op on this context has used since creation or the last reset. For memory benchmarks and capacity
 * planning. Every op takes its scratch from one workspace per context: a host arena and (CUDA) a
 * stream-ordered device pool, both kept between ops; `workspace_limit` bounds one op's host plus
 * device bytes. */
AX_API int64_t ax_context_workspace_peak(const ax_context *ctx);
/* The same peak split by kind: the most host bytes and the most device bytes one op has used (the two
 * maxima may come from different ops). NULL pointers are skipped. */
AX_API void ax_context_workspace_peaks(const ax_context *ctx, int64_t *host_bytes, int64_t *device_bytes);
/* Sets the peaks above to 0 (the workspace itself is kept). Accepts NULL. Not thread-safe against ops
 * on the same context. */
AX_API void ax_context_workspace_peak_reset(ax_context *ctx);

/* Measure mode. While on (on != 0), every op called on ctx validates its arguments exactly as usual
 * (same errors) and records the scratch it would need in the workspace peak and against the limit,
 * but runs nothing: no kernel, no output written, no memory taken, nothing queued on the stream.
 * Collectives over a communicator (seqpar.h, comm.h) still agree on their arguments across ranks, so
 * every rank must measure alike. The memory helpers below (ax_device_alloc, ax_copy_*,
 * ax_context_synchronize) are not ops and act as usual. Use it to size `workspace_limit` or a memory
 * budget before a run.
 * Errors: AX_ERR_INVALID_ARGUMENT (NULL ctx). Not thread-safe with ops on the same context. */
AX_API ax_status ax_context_set_measure(ax_context *ctx, int on);
AX_API int ax_context_measuring(const ax_context *ctx);

/* Memory on the context's device, for callers without a CUDA toolkit of their own (the CLI, the
 * benchmarks, Fortran codes): host memory for an AX_CPU context, device memory (cudaMalloc) for
 * AX_CUDA. Errors: AX_ERR_INVALID_ARGUMENT (NULL ctx/out), AX_ERR_OUT_OF_MEMORY (also for a size
 * whose rounding to 64 bytes would wrap), AX_ERR_CUDA. ax_device_free accepts NULL. Thread-safe
 * (they use no context state; on CUDA, the context's device is made current for the call). */
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

/* Copies every element of `src` into `dst`, converting between dtypes: dst[i] = src[i] for every
 * index of their common shape.
 *  src, dst: the same ndim and shape; any strides (src may broadcast with stride 0; dst must not
 *            overlap itself or src); block-quantized tensors follow the layout rule above.
 *  dtypes:   any pair among f32, f16, bf16, f64, f8_e4m3fn, f8_e5m2 and the block-quantized types,
 *            rounded exactly as ax_convert describes (the same bits whatever the strides); equal
 *            dtypes (integers included) are copied bit for bit.
 *  device:   both tensors on the context's device. CPU: uses the context's threads. CUDA: one
 *            kernel queued on the context's stream, no host synchronisation; same results as the
 *            CPU bit for bit. Copies between host and device memory are ax_copy_to_device's job.
 * Errors: AX_ERR_INVALID_ARGUMENT (NULL ctx or tensor, shapes or ndims differ, a dtype pair that does
 * not convert, a tensor on another device, a block layout broken, dst overlapping itself or src),
 * AX_ERR_UNSUPPORTED (a CUDA context in a build without CUDA), AX_ERR_CUDA (the launch failed).
 * Nothing is written on an argument error. One context per thread (see "Context"). */
AX_API ax_status ax_tensor_copy(ax_context *ctx, const ax_tensor *src, ax_tensor *dst);

/* ------------------------------------------------------------------------------------------------
 * Build and machine information
 * ---------------------------------------------------------------------------------------------- */

/* CPU instruction-set paths. AX_CPU_PATH_AUTO picks the best the CPU has. */
typedef enum ax_cpu_path {
    AX_CPU_PATH_AUTO = -1,
    AX_CPU_PATH_PORTABLE = 0,
    AX_CPU_PATH_AVX2 = 1,   /* AVX2 + FMA + F16C */
    AX_CPU_PATH_AVX512 = 2  /* AVX-512F + BW + VL + DQ */
} ax_cpu_path;

/* Flags of what the running CPU supports. The AVX flags are set only when the OS also saves the
 * registers (XGETBV), so a set flag means usable. AMX-BF16 with the OS grant selects tile products
 * within the avx512 path (ax_cpu_amx_tiles says where they run). AVX-512 VNNI and AVX-512 BF16 do
 * not change the path; within the avx512 path they select kernels (VNNI: the block-quantized
 * matmul's; BF16: flash and Evoformer attention's, forward and backward, with bf16 storage).
 * AXIAL_VNNI=0 and AXIAL_BF16=0 hide them. */
#define AX_CPU_HAS_AVX2 0x1u
#define AX_CPU_HAS_FMA 0x2u
#define AX_CPU_HAS_F16C 0x4u
#define AX_CPU_HAS_AVX512F 0x8u
#define AX_CPU_HAS_AVX512BW 0x10u
#define AX_CPU_HAS_AVX512VL 0x20u
#define AX_CPU_HAS_AVX512DQ 0x40u
#define AX_CPU_HAS_AVX512BF16 0x80u
/* AMX as the CPU reports it (CPUID), whether or not the OS lets this process use it. */
#define AX_CPU_HAS_AMX_TILE 0x100u
#define AX_CPU_HAS_AMX_BF16 0x200u
#define AX_CPU_HAS_AMX_INT8 0x400u
/* The OS lets this process use AMX tiles: Linux on x86-64 only, where the first ax_cpu_features()
 * call on a CPU with AMX-TILE asks for it with arch_prctl(ARCH_REQ_XCOMP_PERM, XTILEDATA). That
 * permission is process-wide and cannot be dropped; its visible effect is that sigaltstack() then
 * refuses (ENOMEM) a stack too small for a signal frame holding the 8 KiB of tile data. With the
 * environment variable AXIAL_AMX=0 Axial never asks (and this flag stays clear). Never set without
 * AX_CPU_HAS_AMX_TILE. */
#define AX_CPU_AMX_GRANTED 0x800u
/* AVX-512 VNNI (vpdpbusd): the avx512 path's quantized matmul then takes its int8 dot-product
 * kernel (src/linalg/cpu/qmm_vnni.h). With the environment variable AXIAL_VNNI=0 the flag stays
 * clear and that kernel is not used (tests compare both kernels on one machine this way). */
#define AX_CPU_HAS_AVX512VNNI 0x1000u

/* The flags above for the running CPU and OS; x86-64 and i386 builds with GCC or Clang detect them,
 * other builds report none. Detected once, then cached. */
AX_API uint32_t ax_cpu_features(void);

/* The path CPU kernels use. By default the best the CPU supports; the environment variable
 * AXIAL_CPU_PATH=portable|avx2|avx512 caps it (read once, at first use; unknown values are
 * ignored). */
AX_API ax_cpu_path ax_cpu_path_active(void);

/* Caps the CPU path at run time (tests use this to cover every path on one machine), in place of
 * AXIAL_CPU_PATH's cap (a set path replaces it; AX_CPU_PATH_AUTO returns to it). A path the CPU
 * lacks gives AX_ERR_UNSUPPORTED, a value outside ax_cpu_path AX_ERR_INVALID_ARGUMENT. Not
 * thread-safe with concurrent ops. */
AX_API ax_status ax_cpu_path_set(ax_cpu_path path);

/* "portable", "avx2", "avx512" or "auto"; "unknown" for a value outside the enum. Thread-safe. */
AX_API const char *ax_cpu_path_name(ax_cpu_path path);

/* Whether the CPU kernels' AMX tile paths are on, and how: the kernels that have them (flash and
 * Evoformer attention with bf16 storage, AVX512-BF16 and D a multiple of 32, docs/attention.md; the
 * quantized matmul has none, docs/linalg.md) take them under their own conditions (AXIAL_BF16=0
 * also keeps them off). "hardware" (AMX-BF16,
 * AMX-INT8 and AX_CPU_AMX_GRANTED, a tile palette of 8 tiles of 16 rows of 64 bytes, a build whose
 * assembler knows the instructions, on the avx512 path, of which the tile kernels are part; the
 * bf16 ones also need AVX512-BF16, which every AMX CPU has); "emulated" when the environment
 * variable AXIAL_AMX=emulate asks for a scalar model of the tile instructions, with which a machine
 * without AMX runs and tests the same tile code (slow: for tests only); otherwise "none"
 * (AXIAL_AMX=0 among the reasons). The environment is read once, at first use; the path part
 * follows ax_cpu_path_set. Thread-safe. */
AX_API const char *ax_cpu_amx_tiles(void);

/* The name of the kernel family OpenBLAS runs (openblas_get_corename(): "SkylakeX", "Haswell", "Zen",
 * "Prescott", ...; "" if it gives none). A DYNAMIC_ARCH build (Debian's) picks it from the CPU when it
 * loads, or from OPENBLAS_CORETYPE; other builds report their build target. ax_gemm's fp32 calls and
 * the portable path's sgemm calls run on those kernels. Thread-safe; the string is OpenBLAS's, static. */
AX_API const char *ax_blas_core(void);

/* 1 when ax_blas_core() names an x86 family without AVX2 or FMA while the CPU has both: OpenBLAS runs
 * kernels older than the CPU, typically because it does not know the model (Debian 12's OpenBLAS
 * 0.3.21 on Emerald Rapids: "Prescott", its generic kernels, sgemm about 4-5x slower). Setting
 * OPENBLAS_CORETYPE to ax_blas_core_suggestion() in the environment before the process starts fixes
 * that in a DYNAMIC_ARCH build; Axial cannot set it, as OpenBLAS reads it when it loads. 0 otherwise.
 * Reads ax_cpu_features() (see AX_CPU_AMX_GRANTED for what its first call asks of the OS).
 * Thread-safe. */
AX_API int ax_blas_core_lags_cpu(void);

/* The OPENBLAS_CORETYPE value for this CPU's newest kernels OpenBLAS 0.3.x knows on every CPU that has
 * the features: "SkylakeX" with AVX-512 F, BW, VL and DQ, "Haswell" with AVX2 and FMA, otherwise "".
 * Thread-safe; a static string. */
AX_API const char *ax_blas_core_suggestion(void);

/* Build options compiled in (1) or not (0). Thread-safe. */
AX_API int ax_build_has_cuda(void);
AX_API int ax_build_has_mpi(void);
AX_API int ax_build_has_nccl(void);
AX_API int ax_build_has_hdf5(void);
AX_API int ax_build_has_png(void);
AX_API int ax_build_has_openmp(void);

/* Number of usable CUDA devices: 0 when the build has no CUDA, no driver is loaded or no device is
 * present (this is not an error). Thread-safe. */
AX_API int ax_cuda_device_count(void);

/* Name (NUL-terminated, truncated to name_size) and total memory in bytes of CUDA device `id`.
 * Errors: AX_ERR_UNSUPPORTED without CUDA, AX_ERR_INVALID_ARGUMENT for a bad id or NULL buffers.
 * Thread-safe. */
AX_API ax_status ax_cuda_device_info(int32_t id, char *name, size_t name_size, int64_t *total_memory);

#ifdef __cplusplus
}
#endif

#endif /* AXIAL_AXIAL_H */
