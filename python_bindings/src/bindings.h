/*
 * bindings.h — shared pieces of the CPython extension axial._axial: errors, array conversion
 * (buffer protocol and DLPack to ax_tensor), contexts. The extension uses only Axial's public C API.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 *
 * Built against the limited API of Python 3.11 (the stable ABI, one wheel for every CPython >= 3.11)
 * when AXPY_LIMITED_API is defined; the same code compiles against the full API of older versions.
 */
#ifndef AXIAL_PY_BINDINGS_H
#define AXIAL_PY_BINDINGS_H

#if defined(AXPY_LIMITED_API) && !defined(Py_LIMITED_API)
#define Py_LIMITED_API 0x030B0000
#endif
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pythread.h>

#include "axial/axial.h"

/* ---- errors ------------------------------------------------------------------------------------ */

/* Raises the axial.AxialError subclass registered for `status`, carrying ax_last_error() and the
 * status. Returns NULL so callers can `return axpy_raise_status(st);`. */
PyObject *axpy_raise_status(ax_status status);

/* Raises the error class of `status` with a message of the bindings' own (printf-style, as
 * PyUnicode_FromFormat). Returns NULL. */
PyObject *axpy_raise(ax_status status, const char *format, ...);

/* ---- arrays ------------------------------------------------------------------------------------ */

/* An array borrowed from a Python object for the duration of one call: either a buffer-protocol
 * view or a consumed DLPack capsule. `tensor` describes it without copying. */
typedef struct axpy_array {
    ax_tensor tensor;
    Py_buffer view;
    int has_view;
    void *managed;  /* axpy_dl_managed or axpy_dl_managed_versioned to release */
    int versioned;
    int readonly;   /* the producer marked the memory read-only (buffer view, or DLPack 1.x flag) */
} axpy_array;

/* Flags for axpy_array_get. */
#define AXPY_WRITABLE 0x1   /* the array is an output: a read-only buffer is an error */
#define AXPY_U16_BF16 0x2   /* a uint16 buffer holds bfloat16 values (ml_dtypes arrays, viewed) */

/* Describes `obj` as an ax_tensor. Objects with the buffer protocol (NumPy, memoryview, ...) are read
 * through it; others through __dlpack__(stream=...) (PyTorch, CuPy, JAX, axial.Tensor). `stream` is
 * the consumer stream passed to a CUDA producer (a Python int, or None). `name` appears in error
 * messages ("q: ..."). Returns 0, or -1 with an exception set (InvalidArgumentError). On success the
 * caller must call axpy_array_release. */
int axpy_array_get(PyObject *obj, const char *name, int flags, PyObject *stream, axpy_array *out);

/* Releases what axpy_array_get took. Safe on a zeroed or already released array. */
void axpy_array_release(axpy_array *array);

/* Makes a DLPack capsule describing memory at `data` (element strides, may be NULL for row-major)
 * that keeps `owner` alive until the consumer is done. versioned != 0 gives a DLPack 1.0 capsule. */
PyObject *axpy_dlpack_capsule(PyObject *owner, void *data, ax_dtype dtype, ax_device device, int ndim,
                              const int64_t *shape, const int64_t *strides, int versioned, int read_only);

/* ---- contexts ---------------------------------------------------------------------------------- */

#define AXPY_CONTEXT_CAPSULE "axial._axial.context"

/* A context with a lock: one context serves one call at a time (axial.h), and Python threads run
 * ops with the GIL released. */
typedef struct axpy_context {
    ax_context *ctx;
    PyThread_type_lock lock;
} axpy_context;

/* The context inside a capsule made by context_create, or NULL with an exception set. */
axpy_context *axpy_context_from(PyObject *capsule);

/* ---- module parts ------------------------------------------------------------------------------ */

extern PyMethodDef axpy_ops_methods[];   /* ops.c: attention */
extern PyMethodDef axpy_io_methods[];    /* io.c: parsers, features, store, batches, figures */
extern PyMethodDef axpy_array_methods[]; /* arrays.c: DLPack export helpers */
extern PyMethodDef axpy_transformer_methods[]; /* transformer.c: attention, nn, sampling, qmatmul */
extern PyMethodDef axpy_llm_methods[];  /* llm.c: GGUF models, tokenizer, sessions */
extern PyMethodDef axpy_serving_methods[]; /* serving.c: the serving engine (continuous batching) */

/* Serialises HDF5 calls (Debian's HDF5 is not thread-safe) while the GIL is released. */
extern PyThread_type_lock axpy_hdf5_lock;

/* Argument helpers for METH_FASTCALL functions; each returns -1 with an exception set. */
int axpy_check_nargs(const char *function, Py_ssize_t nargs, Py_ssize_t expected);
int axpy_int64(PyObject *obj, const char *name, int64_t *out);
/* The same for an int32 field (out of range: named error) and for a uint64 such as a seed. */
int axpy_int32(PyObject *obj, const char *name, int32_t *out);
int axpy_uint64(PyObject *obj, const char *name, uint64_t *out);
/* UTF-8 text of a str (NULL for None when allow_none), valid while obj lives. */
int axpy_utf8(PyObject *obj, const char *name, int allow_none, const char **out);

#endif /* AXIAL_PY_BINDINGS_H */
