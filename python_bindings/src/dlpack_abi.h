/*
 * dlpack_abi.h — the DLPack exchange structures, written out here from the published ABI
 * (DLPack 0.8 "dltensor" capsules and DLPack 1.0 "dltensor_versioned" capsules), so the bindings do
 * not depend on a copy of dlpack.h. Only what Axial exchanges is declared.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 *
 * Capsule protocol (Python array API standard): a producer's __dlpack__ returns a PyCapsule named
 * "dltensor" (or "dltensor_versioned") holding a managed tensor. A consumer renames the capsule to
 * "used_dltensor" ("used_dltensor_versioned") and calls the deleter when it no longer needs the
 * memory; a capsule destroyed without being consumed calls the deleter itself.
 */
#ifndef AXIAL_PY_DLPACK_ABI_H
#define AXIAL_PY_DLPACK_ABI_H

#include <stdint.h>

/* Device types (DLDeviceType). */
enum {
    AXPY_DL_CPU = 1,
    AXPY_DL_CUDA = 2,
    AXPY_DL_CUDA_HOST = 3, /* pinned host memory: the CPU can read it */
    AXPY_DL_CUDA_MANAGED = 13
};

/* Type codes (DLDataTypeCode). */
enum { AXPY_DL_INT = 0, AXPY_DL_UINT = 1, AXPY_DL_FLOAT = 2, AXPY_DL_BFLOAT = 4 };

/* Flags of a versioned managed tensor. */
#define AXPY_DL_FLAG_READ_ONLY ((uint64_t)1 << 0)

typedef struct axpy_dl_device {
    int32_t device_type;
    int32_t device_id;
} axpy_dl_device;

typedef struct axpy_dl_dtype {
    uint8_t code;
    uint8_t bits;
    uint16_t lanes;
} axpy_dl_dtype;

typedef struct axpy_dl_tensor {
    void *data;             /* base pointer; the first element is at data + byte_offset */
    axpy_dl_device device;
    int32_t ndim;
    axpy_dl_dtype dtype;
    int64_t *shape;         /* ndim sizes */
    int64_t *strides;       /* ndim strides in elements, or NULL for compact row-major */
    uint64_t byte_offset;
} axpy_dl_tensor;

/* DLManagedTensor (legacy, unversioned). */
typedef struct axpy_dl_managed {
    axpy_dl_tensor dl_tensor;
    void *manager_ctx;
    void (*deleter)(struct axpy_dl_managed *self);
} axpy_dl_managed;

typedef struct axpy_dl_version {
    uint32_t major;
    uint32_t minor;
} axpy_dl_version;

/* DLManagedTensorVersioned (DLPack >= 1.0): note the different member order. */
typedef struct axpy_dl_managed_versioned {
    axpy_dl_version version;
    void *manager_ctx;
    void (*deleter)(struct axpy_dl_managed_versioned *self);
    uint64_t flags;
    axpy_dl_tensor dl_tensor;
} axpy_dl_managed_versioned;

#endif /* AXIAL_PY_DLPACK_ABI_H */
