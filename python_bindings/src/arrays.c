/*
 * arrays.c — Python arrays as ax_tensor descriptors, without copies: the buffer protocol (NumPy and
 * anything exporting a strided buffer) and DLPack (PyTorch, CuPy, JAX, axial.Tensor), and DLPack
 * capsules for memory Axial hands out (axial.Tensor.__dlpack__).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

#include "bindings.h"
#include "dlpack_abi.h"

/* ---- consuming --------------------------------------------------------------------------------- */

/* The dtype of a buffer format string ("<f", "e", "=i", ...) with the given item size, or -1. */
static int buffer_dtype(const char *format, Py_ssize_t itemsize, int flags) {
    const char *f = format != NULL ? format : "B";
    if (*f == '@' || *f == '=' || *f == '<') f++;
    if (f[0] == '\0' || f[1] != '\0') return -1;
    switch (f[0]) {
    case 'f': return itemsize == 4 ? AX_F32 : -1;
    case 'd': return itemsize == 8 ? AX_F64 : -1;
    case 'e': return itemsize == 2 ? AX_F16 : -1;
    case 'H': return itemsize == 2 && (flags & AXPY_U16_BF16) ? AX_BF16 : -1;
    case 'b': return itemsize == 1 ? AX_I8 : -1;
    case 'B': return itemsize == 1 ? AX_U8 : -1;
    case 'h': return -1;
    case 'i': case 'l': case 'q': case 'n':
        return itemsize == 4 ? AX_I32 : itemsize == 8 ? AX_I64 : -1;
    default: return -1;
    }
}

static int from_buffer(PyObject *obj, const char *name, int flags, axpy_array *out) {
    const int request = PyBUF_STRIDES | PyBUF_FORMAT | ((flags & AXPY_WRITABLE) ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, &out->view, request) < 0) {
        PyObject *type, *value, *traceback;
        PyErr_Fetch(&type, &value, &traceback);
        if (flags & AXPY_WRITABLE) axpy_raise(AX_ERR_INVALID_ARGUMENT, "%s: not a writable array (%S)", name, value);
        else axpy_raise(AX_ERR_INVALID_ARGUMENT, "%s: cannot be read as an array (%S)", name, value);
        Py_XDECREF(type);
        Py_XDECREF(value);
        Py_XDECREF(traceback);
        return -1;
    }
    out->has_view = 1;
    const Py_buffer *v = &out->view;
    out->readonly = v->readonly != 0;
    if (v->format != NULL && (v->format[0] == '>' || v->format[0] == '!')) {
        axpy_raise(AX_ERR_INVALID_ARGUMENT, "%s: big-endian data is not supported", name);
        goto fail;
    }
    const int dtype = buffer_dtype(v->format, v->itemsize, flags);
    if (dtype < 0) {
        axpy_raise(AX_ERR_INVALID_ARGUMENT,
                   "%s: element format '%s' (%zd bytes) is not an Axial dtype (float32, float16, bfloat16, "
                   "float64, int32, int64, int8, uint8)", name, v->format != NULL ? v->format : "B", v->itemsize);
        goto fail;
    }
    if (v->ndim > AX_MAX_DIMS) {
        axpy_raise(AX_ERR_INVALID_ARGUMENT, "%s: %d dims, at most %d supported", name, v->ndim, AX_MAX_DIMS);
        goto fail;
    }
    ax_tensor *t = &out->tensor;
    t->data = v->buf;
    t->dtype = (ax_dtype)dtype;
    t->device.type = AX_CPU;
    t->device.id = 0;
    t->ndim = v->ndim;
    /* Exporters may leave strides NULL for C-contiguous data (ctypes arrays do, even when asked
     * for PyBUF_STRIDES), and shape NULL for a single element: fill in row-major defaults. */
    Py_ssize_t contiguous_step = v->itemsize;
    for (int d = v->ndim - 1; d >= 0; d--) {
        const Py_ssize_t extent = v->shape != NULL ? v->shape[d] : 1;
        const Py_ssize_t byte_stride = v->strides != NULL ? v->strides[d] : contiguous_step;
        contiguous_step *= extent;
        t->shape[d] = extent;
        if (byte_stride % v->itemsize != 0) {
            axpy_raise(AX_ERR_INVALID_ARGUMENT, "%s: byte stride %zd of dim %d is not a multiple of the element size %zd",
                       name, byte_stride, d, v->itemsize);
            goto fail;
        }
        t->strides[d] = byte_stride / v->itemsize;
    }
    return 0;
fail:
    axpy_array_release(out);
    return -1;
}

static int dl_to_ax_dtype(axpy_dl_dtype dt) {
    if (dt.lanes != 1) return -1;
    switch (dt.code) {
    case AXPY_DL_FLOAT: return dt.bits == 32 ? AX_F32 : dt.bits == 16 ? AX_F16 : dt.bits == 64 ? AX_F64 : -1;
    case AXPY_DL_BFLOAT: return dt.bits == 16 ? AX_BF16 : -1;
    case AXPY_DL_INT: return dt.bits == 32 ? AX_I32 : dt.bits == 64 ? AX_I64 : dt.bits == 8 ? AX_I8 : -1;
    case AXPY_DL_UINT: return dt.bits == 8 ? AX_U8 : -1;
    default: return -1;
    }
}

static void release_managed(void *managed, int versioned) {
    if (managed == NULL) return;
    if (versioned) {
        axpy_dl_managed_versioned *m = managed;
        if (m->deleter != NULL) m->deleter(m);
    } else {
        axpy_dl_managed *m = managed;
        if (m->deleter != NULL) m->deleter(m);
    }
}

/* Calls obj.__dlpack_device__() and returns its device type, or -1 with an exception set. */
static int dlpack_device_type(PyObject *obj, const char *name) {
    PyObject *dev = PyObject_CallMethod(obj, "__dlpack_device__", NULL);
    if (dev == NULL) {
        PyErr_Clear();
        return 0; /* unknown: ask for the capsule without a stream */
    }
    long type = -1;
    if (PyTuple_Check(dev) && PyTuple_Size(dev) == 2) type = PyLong_AsLong(PyTuple_GetItem(dev, 0));
    Py_DECREF(dev);
    if (type < 0) {
        PyErr_Clear();
        axpy_raise(AX_ERR_INVALID_ARGUMENT, "%s: __dlpack_device__() did not return (device_type, device_id)", name);
        return -1;
    }
    return (int)type;
}

static int from_dlpack(PyObject *obj, PyObject *method, const char *name, int flags, PyObject *stream,
                       axpy_array *out) {
    const int device_type = dlpack_device_type(obj, name);
    if (device_type < 0) return -1;
    /* Keywords: the consumer's stream for CUDA data (the producer makes the data ready on it; 1 = the
     * legacy default stream), and max_version=(1, 0) so a DLPack >= 1.0 producer returns a versioned
     * capsule, whose read-only flag is then honoured (a read-only array can be an input, never an
     * output). A producer older than the max_version keyword raises TypeError: asked again without. */
    PyObject *kwargs = PyDict_New(), *args = PyTuple_New(0), *capsule = NULL;
    int ok = kwargs != NULL && args != NULL;
    if (ok && (device_type == AXPY_DL_CUDA || device_type == AXPY_DL_CUDA_MANAGED)) {
        PyObject *stream_value = stream == Py_None ? PyLong_FromLong(1) : (Py_INCREF(stream), stream);
        ok = stream_value != NULL && PyDict_SetItemString(kwargs, "stream", stream_value) == 0;
        Py_XDECREF(stream_value);
    }
    PyObject *version = ok ? Py_BuildValue("(ii)", 1, 0) : NULL;
    ok = ok && version != NULL && PyDict_SetItemString(kwargs, "max_version", version) == 0;
    Py_XDECREF(version);
    if (ok) {
        capsule = PyObject_Call(method, args, kwargs);
        if (capsule == NULL && PyErr_ExceptionMatches(PyExc_TypeError)) {
            PyErr_Clear();
            ok = PyDict_DelItemString(kwargs, "max_version") == 0;
            capsule = ok ? PyObject_Call(method, args, kwargs) : NULL;
        }
    }
    Py_XDECREF(args);
    Py_XDECREF(kwargs);
    if (capsule == NULL && !PyErr_Occurred()) PyErr_NoMemory();
    if (capsule == NULL) {
        PyObject *type, *value, *traceback;
        PyErr_Fetch(&type, &value, &traceback);
        axpy_raise(AX_ERR_INVALID_ARGUMENT, "%s: __dlpack__() failed: %S", name, value);
        Py_XDECREF(type);
        Py_XDECREF(value);
        Py_XDECREF(traceback);
        return -1;
    }
    axpy_dl_tensor *dl = NULL;
    if (PyCapsule_IsValid(capsule, "dltensor")) {
        axpy_dl_managed *m = PyCapsule_GetPointer(capsule, "dltensor");
        PyCapsule_SetName(capsule, "used_dltensor");
        out->managed = m;
        out->versioned = 0;
        dl = &m->dl_tensor;
    } else if (PyCapsule_IsValid(capsule, "dltensor_versioned")) {
        axpy_dl_managed_versioned *m = PyCapsule_GetPointer(capsule, "dltensor_versioned");
        PyCapsule_SetName(capsule, "used_dltensor_versioned");
        out->managed = m;
        out->versioned = 1;
        dl = &m->dl_tensor;
        if (m->version.major > 1) {
            Py_DECREF(capsule);
            axpy_raise(AX_ERR_INVALID_ARGUMENT, "%s: DLPack version %u.%u is newer than this build reads (1.x)", name,
                       (unsigned)m->version.major, (unsigned)m->version.minor);
            goto fail;
        }
        out->readonly = (m->flags & AXPY_DL_FLAG_READ_ONLY) != 0;
        if ((flags & AXPY_WRITABLE) && (m->flags & AXPY_DL_FLAG_READ_ONLY)) {
            Py_DECREF(capsule);
            axpy_raise(AX_ERR_INVALID_ARGUMENT, "%s: the DLPack producer marked the array read-only", name);
            goto fail;
        }
    } else {
        Py_DECREF(capsule);
        axpy_raise(AX_ERR_INVALID_ARGUMENT, "%s: __dlpack__() did not return a DLPack capsule", name);
        return -1;
    }
    Py_DECREF(capsule);

    ax_tensor *t = &out->tensor;
    const int dtype = dl_to_ax_dtype(dl->dtype);
    if (dtype < 0) {
        axpy_raise(AX_ERR_INVALID_ARGUMENT, "%s: DLPack dtype (code %d, %d bits, %d lanes) is not an Axial dtype", name,
                   (int)dl->dtype.code, (int)dl->dtype.bits, (int)dl->dtype.lanes);
        goto fail;
    }
    if (dl->ndim < 0 || dl->ndim > AX_MAX_DIMS) {
        axpy_raise(AX_ERR_INVALID_ARGUMENT, "%s: %d dims, at most %d supported", name, (int)dl->ndim, AX_MAX_DIMS);
        goto fail;
    }
    switch (dl->device.device_type) {
    case AXPY_DL_CPU:
    case AXPY_DL_CUDA_HOST:
        t->device.type = AX_CPU;
        t->device.id = 0;
        break;
    case AXPY_DL_CUDA:
    case AXPY_DL_CUDA_MANAGED:
        t->device.type = AX_CUDA;
        t->device.id = dl->device.device_id;
        break;
    default:
        axpy_raise(AX_ERR_INVALID_ARGUMENT, "%s: DLPack device type %d is not supported (CPU and CUDA only)", name,
                   (int)dl->device.device_type);
        goto fail;
    }
    t->data = (char *)dl->data + dl->byte_offset;
    t->dtype = (ax_dtype)dtype;
    t->ndim = dl->ndim;
    int64_t stride = 1;
    for (int d = dl->ndim - 1; d >= 0; d--) {
        t->shape[d] = dl->shape[d];
        t->strides[d] = dl->strides != NULL ? dl->strides[d] : stride;
        stride *= dl->shape[d] > 0 ? dl->shape[d] : 1;
    }
    return 0;
fail:
    axpy_array_release(out);
    return -1;
}

int axpy_array_get(PyObject *obj, const char *name, int flags, PyObject *stream, axpy_array *out) {
    memset(out, 0, sizeof *out);
    if (PyObject_CheckBuffer(obj)) return from_buffer(obj, name, flags, out);
    PyObject *method = PyObject_GetAttrString(obj, "__dlpack__");
    if (method == NULL) {
        PyErr_Clear();
        /* PyType_GetName is 3.11+; the type's __name__ attribute works on every version. */
        PyObject *type_name = PyObject_GetAttrString((PyObject *)Py_TYPE(obj), "__name__");
        if (type_name == NULL) PyErr_Clear();
        axpy_raise(AX_ERR_INVALID_ARGUMENT, "%s: expected an array (buffer protocol or __dlpack__), got %S", name,
                   type_name != NULL ? type_name : Py_None);
        Py_XDECREF(type_name);
        return -1;
    }
    const int rc = from_dlpack(obj, method, name, flags, stream, out);
    Py_DECREF(method);
    return rc;
}

void axpy_array_release(axpy_array *array) {
    if (array->has_view) {
        PyBuffer_Release(&array->view);
        array->has_view = 0;
    }
    release_managed(array->managed, array->versioned);
    array->managed = NULL;
}

/* ---- producing --------------------------------------------------------------------------------- */

/* One allocation per exported tensor: the managed struct (either layout), shape and strides, and the
 * reference that keeps the memory's owner alive. */
typedef struct export_block {
    axpy_dl_managed legacy;
    axpy_dl_managed_versioned versioned;
    int64_t shape[AX_MAX_DIMS];
    int64_t strides[AX_MAX_DIMS];
    PyObject *owner;
} export_block;

static void export_block_free(export_block *block) {
    /* Consumers may call the deleter from any thread, with or without the GIL. */
    PyGILState_STATE gil = PyGILState_Ensure();
    Py_XDECREF(block->owner);
    PyGILState_Release(gil);
    free(block);
}

static void legacy_deleter(axpy_dl_managed *self) { export_block_free(self->manager_ctx); }
static void versioned_deleter(axpy_dl_managed_versioned *self) { export_block_free(self->manager_ctx); }

static void export_capsule_destructor(PyObject *capsule) {
    /* Unconsumed capsules still hold the memory: release it. Consumed ones were renamed. */
    if (PyCapsule_IsValid(capsule, "dltensor")) {
        axpy_dl_managed *m = PyCapsule_GetPointer(capsule, "dltensor");
        m->deleter(m);
    } else if (PyCapsule_IsValid(capsule, "dltensor_versioned")) {
        axpy_dl_managed_versioned *m = PyCapsule_GetPointer(capsule, "dltensor_versioned");
        m->deleter(m);
    }
}

static axpy_dl_dtype ax_to_dl_dtype(ax_dtype dtype) {
    axpy_dl_dtype dt = {AXPY_DL_FLOAT, 32, 1};
    switch (dtype) {
    case AX_F32: break;
    case AX_F16: dt.bits = 16; break;
    case AX_BF16: dt.code = AXPY_DL_BFLOAT; dt.bits = 16; break;
    case AX_F64: dt.bits = 64; break;
    case AX_I32: dt.code = AXPY_DL_INT; break;
    case AX_I64: dt.code = AXPY_DL_INT; dt.bits = 64; break;
    case AX_U8: dt.code = AXPY_DL_UINT; dt.bits = 8; break;
    case AX_I8: dt.code = AXPY_DL_INT; dt.bits = 8; break;
    default: break; /* fp8 and block-quantized dtypes never reach Python arrays (dlpack_export refuses them) */
    }
    return dt;
}

PyObject *axpy_dlpack_capsule(PyObject *owner, void *data, ax_dtype dtype, ax_device device, int ndim,
                              const int64_t *shape, const int64_t *strides, int versioned, int read_only) {
    if (ndim < 0 || ndim > AX_MAX_DIMS) return axpy_raise(AX_ERR_INVALID_ARGUMENT, "ndim %d outside [0, 8]", ndim);
    export_block *block = calloc(1, sizeof *block);
    if (block == NULL) return PyErr_NoMemory();
    int64_t stride = 1;
    for (int d = ndim - 1; d >= 0; d--) {
        block->shape[d] = shape[d];
        block->strides[d] = strides != NULL ? strides[d] : stride;
        stride *= shape[d] > 0 ? shape[d] : 1;
    }
    axpy_dl_tensor dl;
    memset(&dl, 0, sizeof dl);
    dl.data = data;
    dl.device.device_type = device.type == AX_CUDA ? AXPY_DL_CUDA : AXPY_DL_CPU;
    dl.device.device_id = device.type == AX_CUDA ? device.id : 0;
    dl.ndim = ndim;
    dl.dtype = ax_to_dl_dtype(dtype);
    dl.shape = block->shape;
    dl.strides = block->strides;
    Py_INCREF(owner);
    block->owner = owner;
    PyObject *capsule;
    if (versioned) {
        block->versioned.version.major = 1;
        block->versioned.version.minor = 0;
        block->versioned.manager_ctx = block;
        block->versioned.deleter = versioned_deleter;
        block->versioned.flags = read_only ? AXPY_DL_FLAG_READ_ONLY : 0;
        block->versioned.dl_tensor = dl;
        capsule = PyCapsule_New(&block->versioned, "dltensor_versioned", export_capsule_destructor);
    } else {
        block->legacy.dl_tensor = dl;
        block->legacy.manager_ctx = block;
        block->legacy.deleter = legacy_deleter;
        capsule = PyCapsule_New(&block->legacy, "dltensor", export_capsule_destructor);
    }
    if (capsule == NULL) export_block_free(block);
    return capsule;
}

/* ---- Python-facing helpers --------------------------------------------------------------------- */

#define HOLDER_CAPSULE "axial._axial.borrowed"

static void holder_destructor(PyObject *capsule) {
    axpy_array *array = PyCapsule_GetPointer(capsule, HOLDER_CAPSULE);
    if (array == NULL) {
        PyErr_Clear();
        return;
    }
    axpy_array_release(array);
    free(array);
}

static PyObject *tuple_of(const int64_t *values, int n) {
    PyObject *t = PyTuple_New(n);
    if (t == NULL) return NULL;
    for (int i = 0; i < n; i++) {
        PyObject *v = PyLong_FromLongLong(values[i]);
        if (v == NULL) {
            Py_DECREF(t);
            return NULL;
        }
        PyTuple_SetItem(t, i, v);
    }
    return t;
}

/* borrow(obj, name, flags, stream) -> (holder, data_ptr, dtype, device_type, device_id, shape, strides,
 * readonly): keeps the array's memory (buffer view or consumed DLPack capsule) until `holder` is
 * destroyed; readonly is what the producer said (a legacy DLPack capsule cannot say, so False). */
static PyObject *py_borrow(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (axpy_check_nargs("borrow", nargs, 4) < 0) return NULL;
    const char *name;
    int64_t flags;
    if (axpy_utf8(args[1], "name", 0, &name) < 0 || axpy_int64(args[2], "flags", &flags) < 0) return NULL;
    axpy_array *array = calloc(1, sizeof *array);
    if (array == NULL) return PyErr_NoMemory();
    if (axpy_array_get(args[0], name, (int)flags, args[3], array) < 0) {
        free(array);
        return NULL;
    }
    PyObject *holder = PyCapsule_New(array, HOLDER_CAPSULE, holder_destructor);
    if (holder == NULL) {
        axpy_array_release(array);
        free(array);
        return NULL;
    }
    const ax_tensor *t = &array->tensor;
    PyObject *shape = tuple_of(t->shape, t->ndim), *strides = tuple_of(t->strides, t->ndim);
    PyObject *result = NULL;
    if (shape != NULL && strides != NULL)
        result = Py_BuildValue("(ONiiiOOO)", holder, PyLong_FromVoidPtr(t->data), (int)t->dtype, (int)t->device.type,
                               (int)t->device.id, shape, strides, array->readonly ? Py_True : Py_False);
    Py_DECREF(holder);
    Py_XDECREF(shape);
    Py_XDECREF(strides);
    return result;
}

static int int64_tuple(PyObject *obj, const char *name, int64_t *out, int *n) {
    if (!PyTuple_Check(obj) || PyTuple_Size(obj) > AX_MAX_DIMS) {
        axpy_raise(AX_ERR_INVALID_ARGUMENT, "%s: expected a tuple of at most %d ints", name, AX_MAX_DIMS);
        return -1;
    }
    *n = (int)PyTuple_Size(obj);
    for (int i = 0; i < *n; i++)
        if (axpy_int64(PyTuple_GetItem(obj, i), name, &out[i]) < 0) return -1;
    return 0;
}

/* dlpack_export(owner, data_ptr, dtype, device_type, device_id, shape, strides, versioned, read_only) */
static PyObject *py_dlpack_export(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (axpy_check_nargs("dlpack_export", nargs, 9) < 0) return NULL;
    void *data = PyLong_AsVoidPtr(args[1]);
    if (data == NULL && PyErr_Occurred()) return NULL;
    int64_t dtype, device_type, device_id;
    if (axpy_int64(args[2], "dtype", &dtype) < 0 || axpy_int64(args[3], "device_type", &device_type) < 0 ||
        axpy_int64(args[4], "device_id", &device_id) < 0)
        return NULL;
    int64_t shape[AX_MAX_DIMS], strides[AX_MAX_DIMS];
    int ndim, nstrides;
    if (int64_tuple(args[5], "shape", shape, &ndim) < 0) return NULL;
    if (args[6] != Py_None) {
        if (int64_tuple(args[6], "strides", strides, &nstrides) < 0) return NULL;
        if (nstrides != ndim) return axpy_raise(AX_ERR_INVALID_ARGUMENT, "strides: %d entries for %d dims", nstrides, ndim);
    }
    const int versioned = PyObject_IsTrue(args[7]), read_only = PyObject_IsTrue(args[8]);
    if (versioned < 0 || read_only < 0) return NULL;
    if (dtype < 0 || dtype > AX_I8) return axpy_raise(AX_ERR_INVALID_ARGUMENT, "dtype: %lld is not an ax_dtype", (long long)dtype);
    ax_device device = {device_type == AX_CUDA ? AX_CUDA : AX_CPU, (int32_t)device_id};
    return axpy_dlpack_capsule(args[0], data, (ax_dtype)dtype, device, ndim, shape,
                               args[6] != Py_None ? strides : NULL, versioned, read_only);
}

PyMethodDef axpy_array_methods[] = {
    {"borrow", (PyCFunction)(void (*)(void))py_borrow, METH_FASTCALL,
     "borrow(obj, name, flags, stream) -> (holder, data_ptr, dtype, device_type, device_id, shape, strides)\n\n"
     "Describes an array (buffer protocol or __dlpack__) without copying; `holder` keeps its memory alive."},
    {"dlpack_export", (PyCFunction)(void (*)(void))py_dlpack_export, METH_FASTCALL,
     "dlpack_export(owner, data_ptr, dtype, device_type, device_id, shape, strides, versioned, read_only) -> capsule\n\n"
     "A DLPack capsule over existing memory that keeps `owner` alive until the consumer releases it."},
    {NULL, NULL, 0, NULL}};
