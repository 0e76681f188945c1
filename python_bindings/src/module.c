/*
 * module.c — the axial._axial extension module: error classes, argument helpers, contexts, device
 * memory, build information. The ops live in ops.c, the data pipeline in io.c, arrays in arrays.c.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "bindings.h"

/* ---- errors ------------------------------------------------------------------------------------ */

#define NUM_STATUS 11 /* AX_OK .. AX_ERR_BUSY */
static PyObject *error_classes[NUM_STATUS]; /* registered by axial/errors.py at import */

static PyObject *error_class(ax_status status) {
    if ((int)status > 0 && (int)status < NUM_STATUS && error_classes[status] != NULL) return error_classes[status];
    return PyExc_RuntimeError;
}

static PyObject *raise_with_message(ax_status status, PyObject *message) {
    PyObject *cls = error_class(status);
    PyObject *exc = PyObject_CallFunction(cls, "Oi", message, (int)status);
    if (exc != NULL) {
        PyErr_SetObject(cls, exc);
        Py_DECREF(exc);
    }
    return NULL;
}

PyObject *axpy_raise_status(ax_status status) {
    /* Messages quote file names and file content, which need not be UTF-8: undecodable bytes show
     * as escapes rather than replace the error with a UnicodeDecodeError. */
    const char *text = ax_last_error();
    PyObject *message = PyUnicode_DecodeUTF8(text, (Py_ssize_t)strlen(text), "backslashreplace");
    if (message == NULL) return NULL;
    raise_with_message(status, message);
    Py_DECREF(message);
    return NULL;
}

PyObject *axpy_raise(ax_status status, const char *format, ...) {
    va_list ap;
    va_start(ap, format);
    PyObject *message = PyUnicode_FromFormatV(format, ap);
    va_end(ap);
    if (message == NULL) return NULL;
    raise_with_message(status, message);
    Py_DECREF(message);
    return NULL;
}

/* register_errors({status: class, ...}) */
static PyObject *py_register_errors(PyObject *self, PyObject *mapping) {
    if (!PyDict_Check(mapping)) return axpy_raise(AX_ERR_INVALID_ARGUMENT, "register_errors: expected a dict");
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    while (PyDict_Next(mapping, &pos, &key, &value)) {
        const long status = PyLong_AsLong(key);
        if (status <= 0 || status >= NUM_STATUS) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "register_errors: status outside 1..10");
            return NULL;
        }
        Py_INCREF(value);
        PyObject *previous = error_classes[status];
        error_classes[status] = value;
        Py_XDECREF(previous);
    }
    Py_RETURN_NONE;
}

/* ---- argument helpers -------------------------------------------------------------------------- */

int axpy_check_nargs(const char *function, Py_ssize_t nargs, Py_ssize_t expected) {
    if (nargs == expected) return 0;
    PyErr_Format(PyExc_TypeError, "%s() takes %zd arguments (%zd given)", function, expected, nargs);
    return -1;
}

int axpy_int64(PyObject *obj, const char *name, int64_t *out) {
    const long long v = PyLong_AsLongLong(obj);
    if (v == -1 && PyErr_Occurred()) {
        const int overflow = PyErr_ExceptionMatches(PyExc_OverflowError);
        PyErr_Clear();
        if (overflow) axpy_raise(AX_ERR_INVALID_ARGUMENT, "%s: %R is outside the 64-bit integer range", name, obj);
        else axpy_raise(AX_ERR_INVALID_ARGUMENT, "%s: expected an integer", name);
        return -1;
    }
    *out = (int64_t)v;
    return 0;
}

int axpy_int32(PyObject *obj, const char *name, int32_t *out) {
    int64_t v;
    if (axpy_int64(obj, name, &v) < 0) return -1;
    if (v < INT32_MIN || v > INT32_MAX) {
        axpy_raise(AX_ERR_INVALID_ARGUMENT, "%s: %lld is outside the 32-bit integer range", name, (long long)v);
        return -1;
    }
    *out = (int32_t)v;
    return 0;
}

int axpy_uint64(PyObject *obj, const char *name, uint64_t *out) {
    if (!PyLong_Check(obj)) {
        axpy_raise(AX_ERR_INVALID_ARGUMENT, "%s: expected an integer", name);
        return -1;
    }
    const unsigned long long v = PyLong_AsUnsignedLongLong(obj);
    if (v == (unsigned long long)-1 && PyErr_Occurred()) {
        PyErr_Clear();
        axpy_raise(AX_ERR_INVALID_ARGUMENT, "%s: %R is outside [0, 2**64)", name, obj);
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

int axpy_utf8(PyObject *obj, const char *name, int allow_none, const char **out) {
    if (allow_none && obj == Py_None) {
        *out = NULL;
        return 0;
    }
    if (!PyUnicode_Check(obj)) {
        axpy_raise(AX_ERR_INVALID_ARGUMENT, "%s: expected a str", name);
        return -1;
    }
    Py_ssize_t size;
    *out = PyUnicode_AsUTF8AndSize(obj, &size);
    if (*out == NULL) return -1;
    if ((size_t)size != strlen(*out)) {
        axpy_raise(AX_ERR_INVALID_ARGUMENT, "%s: contains a NUL character", name);
        return -1;
    }
    return 0;
}

/* ---- contexts ---------------------------------------------------------------------------------- */

static void context_destructor(PyObject *capsule) {
    axpy_context *c = PyCapsule_GetPointer(capsule, AXPY_CONTEXT_CAPSULE);
    if (c == NULL) {
        PyErr_Clear();
        return;
    }
    ax_context_destroy(c->ctx);
    if (c->lock != NULL) PyThread_free_lock(c->lock);
    free(c);
}

axpy_context *axpy_context_from(PyObject *capsule) {
    axpy_context *c = PyCapsule_IsValid(capsule, AXPY_CONTEXT_CAPSULE)
                          ? PyCapsule_GetPointer(capsule, AXPY_CONTEXT_CAPSULE) : NULL;
    if (c == NULL) axpy_raise(AX_ERR_INVALID_ARGUMENT, "context: expected an axial.Context");
    return c;
}

/* context_create(device_type, device_id, stream_ptr, num_threads, workspace_limit) -> capsule */
static PyObject *py_context_create(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (axpy_check_nargs("context_create", nargs, 5) < 0) return NULL;
    int64_t type, id, threads, limit;
    if (axpy_int64(args[0], "device_type", &type) < 0 || axpy_int64(args[1], "device_id", &id) < 0 ||
        axpy_int64(args[3], "num_threads", &threads) < 0 || axpy_int64(args[4], "workspace_limit", &limit) < 0)
        return NULL;
    /* Checked as llm_load does: a cast would have run cuda:4294967296 on device 0, and 2**32 threads
     * as 0 (all cores). */
    if (type != AX_CPU && type != AX_CUDA)
        return axpy_raise(AX_ERR_INVALID_ARGUMENT, "device_type: %lld is neither CPU (0) nor CUDA (1)",
                          (long long)type);
    if (id < 0 || id > INT32_MAX)
        return axpy_raise(AX_ERR_INVALID_ARGUMENT, "device id: %lld out of range [0, %d]", (long long)id, INT32_MAX);
    if (threads < INT32_MIN || threads > INT32_MAX)
        return axpy_raise(AX_ERR_INVALID_ARGUMENT, "num_threads: %lld out of range", (long long)threads);
    void *stream = args[2] == Py_None ? NULL : PyLong_AsVoidPtr(args[2]);
    if (stream == NULL && PyErr_Occurred()) return NULL;
    ax_context_config cfg = AX_CONTEXT_CONFIG_INIT;
    cfg.device.type = type == AX_CUDA ? AX_CUDA : AX_CPU;
    cfg.device.id = (int32_t)id;
    cfg.cuda_stream = stream;
    cfg.num_threads = (int32_t)threads;
    cfg.workspace_limit = limit;
    axpy_context *c = calloc(1, sizeof *c);
    if (c == NULL) return PyErr_NoMemory();
    c->lock = PyThread_allocate_lock();
    if (c->lock == NULL) {
        free(c);
        return PyErr_NoMemory();
    }
    ax_status st;
    Py_BEGIN_ALLOW_THREADS
    st = ax_context_create(&c->ctx, &cfg);
    Py_END_ALLOW_THREADS
    if (st != AX_OK) {
        PyThread_free_lock(c->lock);
        free(c);
        return axpy_raise_status(st);
    }
    PyObject *capsule = PyCapsule_New(c, AXPY_CONTEXT_CAPSULE, context_destructor);
    if (capsule == NULL) {
        ax_context_destroy(c->ctx);
        PyThread_free_lock(c->lock);
        free(c);
    }
    return capsule;
}

/* context_info(ctx) -> (device_type, device_id, num_threads, workspace_peak, host_peak, device_peak,
 * measuring) */
static PyObject *py_context_info(PyObject *self, PyObject *capsule) {
    axpy_context *c = axpy_context_from(capsule);
    if (c == NULL) return NULL;
    const ax_device d = ax_context_device(c->ctx);
    int64_t host = 0, device = 0;
    ax_context_workspace_peaks(c->ctx, &host, &device);
    return Py_BuildValue("(iiiLLLi)", (int)d.type, (int)d.id, (int)ax_context_num_threads(c->ctx),
                         (long long)ax_context_workspace_peak(c->ctx), (long long)host, (long long)device,
                         ax_context_measuring(c->ctx));
}

/* context_set_measure(ctx, on) */
static PyObject *py_context_set_measure(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "context_set_measure(ctx, on) takes 2 arguments");
        return NULL;
    }
    axpy_context *c = axpy_context_from(args[0]);
    if (c == NULL) return NULL;
    const int on = PyObject_IsTrue(args[1]);
    if (on < 0) return NULL;
    /* The flag must not change under a running op: take the context's lock, without the GIL. */
    ax_status st;
    Py_BEGIN_ALLOW_THREADS
    PyThread_acquire_lock(c->lock, WAIT_LOCK);
    st = ax_context_set_measure(c->ctx, on);
    PyThread_release_lock(c->lock);
    Py_END_ALLOW_THREADS
    if (st != AX_OK) return axpy_raise_status(st);
    Py_RETURN_NONE;
}

static PyObject *py_context_peak_reset(PyObject *self, PyObject *capsule) {
    axpy_context *c = axpy_context_from(capsule);
    if (c == NULL) return NULL;
    /* Waiting for the lock (an op may be running) must not hold the GIL. */
    Py_BEGIN_ALLOW_THREADS
    PyThread_acquire_lock(c->lock, WAIT_LOCK);
    ax_context_workspace_peak_reset(c->ctx);
    PyThread_release_lock(c->lock);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

static PyObject *py_context_synchronize(PyObject *self, PyObject *capsule) {
    axpy_context *c = axpy_context_from(capsule);
    if (c == NULL) return NULL;
    ax_status st;
    Py_BEGIN_ALLOW_THREADS
    PyThread_acquire_lock(c->lock, WAIT_LOCK);
    st = ax_context_synchronize(c->ctx);
    PyThread_release_lock(c->lock);
    Py_END_ALLOW_THREADS
    if (st != AX_OK) return axpy_raise_status(st);
    Py_RETURN_NONE;
}

/* ---- device memory ----------------------------------------------------------------------------- */

#define DEVICE_MEMORY_CAPSULE "axial._axial.device_memory"

typedef struct device_memory {
    void *ptr;
    PyObject *context; /* the context capsule, kept alive while the memory is */
} device_memory;

static void device_memory_destructor(PyObject *capsule) {
    device_memory *m = PyCapsule_GetPointer(capsule, DEVICE_MEMORY_CAPSULE);
    if (m == NULL) {
        PyErr_Clear();
        return;
    }
    axpy_context *c = PyCapsule_GetPointer(m->context, AXPY_CONTEXT_CAPSULE);
    if (c != NULL) ax_device_free(c->ctx, m->ptr);
    else PyErr_Clear();
    Py_DECREF(m->context);
    free(m);
}

/* device_alloc(ctx, nbytes) -> (memory capsule, data_ptr): memory on the context's device. */
static PyObject *py_device_alloc(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (axpy_check_nargs("device_alloc", nargs, 2) < 0) return NULL;
    axpy_context *c = axpy_context_from(args[0]);
    int64_t nbytes;
    if (c == NULL || axpy_int64(args[1], "nbytes", &nbytes) < 0) return NULL;
    if (nbytes < 0) return axpy_raise(AX_ERR_INVALID_ARGUMENT, "nbytes: %lld is negative", (long long)nbytes);
    device_memory *m = calloc(1, sizeof *m);
    if (m == NULL) return PyErr_NoMemory();
    ax_status st;
    Py_BEGIN_ALLOW_THREADS
    st = ax_device_alloc(c->ctx, (size_t)(nbytes > 0 ? nbytes : 1), &m->ptr);
    Py_END_ALLOW_THREADS
    if (st != AX_OK) {
        free(m);
        return axpy_raise_status(st);
    }
    Py_INCREF(args[0]);
    m->context = args[0];
    PyObject *capsule = PyCapsule_New(m, DEVICE_MEMORY_CAPSULE, device_memory_destructor);
    if (capsule == NULL) {
        ax_device_free(c->ctx, m->ptr);
        Py_DECREF(m->context);
        free(m);
        return NULL;
    }
    return Py_BuildValue("(NN)", capsule, PyLong_FromVoidPtr(m->ptr));
}

/* copy(ctx, direction, device_ptr, host_buffer, nbytes): direction 0 = host to device, 1 = device to
 * host. The host side is a contiguous buffer of at least nbytes. */
static PyObject *py_copy(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (axpy_check_nargs("copy", nargs, 5) < 0) return NULL;
    axpy_context *c = axpy_context_from(args[0]);
    int64_t direction, nbytes;
    if (c == NULL || axpy_int64(args[1], "direction", &direction) < 0 || axpy_int64(args[4], "nbytes", &nbytes) < 0)
        return NULL;
    void *device_ptr = PyLong_AsVoidPtr(args[2]);
    if (device_ptr == NULL && PyErr_Occurred()) return NULL;
    Py_buffer view;
    if (PyObject_GetBuffer(args[3], &view, direction == 1 ? PyBUF_WRITABLE : PyBUF_SIMPLE) < 0) return NULL;
    if (view.len < nbytes || nbytes < 0) {
        PyBuffer_Release(&view);
        return axpy_raise(AX_ERR_INVALID_ARGUMENT, "host buffer: %zd bytes, need %lld", view.len, (long long)nbytes);
    }
    ax_status st;
    Py_BEGIN_ALLOW_THREADS
    PyThread_acquire_lock(c->lock, WAIT_LOCK);
    st = direction == 1 ? ax_copy_to_host(c->ctx, view.buf, device_ptr, (size_t)nbytes)
                        : ax_copy_to_device(c->ctx, device_ptr, view.buf, (size_t)nbytes);
    PyThread_release_lock(c->lock);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    if (st != AX_OK) return axpy_raise_status(st);
    Py_RETURN_NONE;
}

/* ---- build information ------------------------------------------------------------------------- */

static int set_item(PyObject *dict, const char *key, PyObject *value) {
    if (value == NULL) return -1;
    const int rc = PyDict_SetItemString(dict, key, value);
    Py_DECREF(value);
    return rc;
}

static PyObject *py_build_info(PyObject *self, PyObject *unused) {
    PyObject *info = PyDict_New();
    if (info == NULL) return NULL;
    static const struct { uint32_t flag; const char *name; } features[] = {
        {AX_CPU_HAS_AVX2, "avx2"},         {AX_CPU_HAS_FMA, "fma"},           {AX_CPU_HAS_F16C, "f16c"},
        {AX_CPU_HAS_AVX512F, "avx512f"},   {AX_CPU_HAS_AVX512BW, "avx512bw"}, {AX_CPU_HAS_AVX512VL, "avx512vl"},
        {AX_CPU_HAS_AVX512DQ, "avx512dq"}, {AX_CPU_HAS_AVX512BF16, "avx512bf16"},
        {AX_CPU_HAS_AVX512VNNI, "avx512vnni"},
        {AX_CPU_HAS_AMX_TILE, "amx_tile"}, {AX_CPU_HAS_AMX_BF16, "amx_bf16"},   {AX_CPU_HAS_AMX_INT8, "amx_int8"}};
    PyObject *cpu = PyList_New(0);
    if (cpu == NULL) goto fail;
    const uint32_t have = ax_cpu_features();
    for (size_t i = 0; i < sizeof features / sizeof features[0]; i++) {
        if (!(have & features[i].flag)) continue;
        PyObject *name = PyUnicode_FromString(features[i].name);
        if (name == NULL || PyList_Append(cpu, name) < 0) {
            Py_XDECREF(name);
            Py_DECREF(cpu);
            goto fail;
        }
        Py_DECREF(name);
    }
    PyObject *devices = PyList_New(0);
    if (devices == NULL) {
        Py_DECREF(cpu);
        goto fail;
    }
    const int count = ax_cuda_device_count();
    for (int id = 0; id < count; id++) {
        char name[256] = "";
        int64_t memory = 0;
        if (ax_cuda_device_info(id, name, sizeof name, &memory) != AX_OK) continue;
        PyObject *d = Py_BuildValue("{s:i,s:s,s:L}", "id", id, "name", name, "total_memory", (long long)memory);
        if (d == NULL || PyList_Append(devices, d) < 0) {
            Py_XDECREF(d);
            Py_DECREF(cpu);
            Py_DECREF(devices);
            goto fail;
        }
        Py_DECREF(d);
    }
    if (set_item(info, "version", PyUnicode_FromString(ax_version_string())) < 0 ||
        set_item(info, "cuda", PyBool_FromLong(ax_build_has_cuda())) < 0 ||
        set_item(info, "mpi", PyBool_FromLong(ax_build_has_mpi())) < 0 ||
        set_item(info, "nccl", PyBool_FromLong(ax_build_has_nccl())) < 0 ||
        set_item(info, "hdf5", PyBool_FromLong(ax_build_has_hdf5())) < 0 ||
        set_item(info, "png", PyBool_FromLong(ax_build_has_png())) < 0 ||
        set_item(info, "openmp", PyBool_FromLong(ax_build_has_openmp())) < 0 ||
        PyDict_SetItemString(info, "cpu_features", cpu) < 0 ||
        set_item(info, "amx_granted", PyBool_FromLong((ax_cpu_features() & AX_CPU_AMX_GRANTED) != 0)) < 0 ||
        set_item(info, "cpu_path", PyUnicode_FromString(ax_cpu_path_name(ax_cpu_path_active()))) < 0 ||
        set_item(info, "amx_tiles", PyUnicode_FromString(ax_cpu_amx_tiles())) < 0 ||
        set_item(info, "blas_core", PyUnicode_FromString(ax_blas_core())) < 0 ||
        set_item(info, "blas_core_lags_cpu", PyBool_FromLong(ax_blas_core_lags_cpu())) < 0 ||
        PyDict_SetItemString(info, "cuda_devices", devices) < 0 ||
#ifdef Py_LIMITED_API
        set_item(info, "stable_abi", PyBool_FromLong(1)) < 0
#else
        set_item(info, "stable_abi", PyBool_FromLong(0)) < 0
#endif
    ) {
        Py_DECREF(cpu); /* the two lists are not stolen (set_item steals), so both paths drop them */
        Py_DECREF(devices);
        goto fail;
    }
    Py_DECREF(cpu);
    Py_DECREF(devices);
    return info;
fail:
    Py_DECREF(info);
    return NULL;
}

/* ---- module ------------------------------------------------------------------------------------ */

PyThread_type_lock axpy_hdf5_lock;

static PyMethodDef core_methods[] = {
    {"register_errors", py_register_errors, METH_O, "register_errors({status: class}): the classes raised per status."},
    {"context_create", (PyCFunction)(void (*)(void))py_context_create, METH_FASTCALL,
     "context_create(device_type, device_id, stream_ptr, num_threads, workspace_limit) -> context capsule"},
    {"context_info", py_context_info, METH_O,
     "context_info(ctx) -> (device_type, device_id, num_threads, workspace_peak, host_peak, device_peak, measuring)"},
    {"context_peak_reset", py_context_peak_reset, METH_O, "context_peak_reset(ctx): resets the workspace peak."},
    {"context_set_measure", (PyCFunction)(void (*)(void))py_context_set_measure, METH_FASTCALL,
     "context_set_measure(ctx, on): measure mode (ops validate and record their workspace, run nothing)."},
    {"context_synchronize", py_context_synchronize, METH_O, "context_synchronize(ctx): waits for queued work."},
    {"device_alloc", (PyCFunction)(void (*)(void))py_device_alloc, METH_FASTCALL,
     "device_alloc(ctx, nbytes) -> (memory capsule, data_ptr)"},
    {"copy", (PyCFunction)(void (*)(void))py_copy, METH_FASTCALL,
     "copy(ctx, direction, device_ptr, host_buffer, nbytes): 0 = host to device, 1 = device to host."},
    {"build_info", py_build_info, METH_NOARGS, "build_info() -> dict of build options, CPU features and devices."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "axial._axial",
    "Axial's C API for Python (use the `axial` package, not this module directly).", -1, NULL, NULL, NULL, NULL, NULL};

static int add_methods(PyObject *module, PyMethodDef *methods) {
    return PyModule_AddFunctions(module, methods);
}

PyMODINIT_FUNC PyInit__axial(void) {
    axpy_hdf5_lock = PyThread_allocate_lock();
    if (axpy_hdf5_lock == NULL) return PyErr_NoMemory();
    PyObject *m = PyModule_Create(&module_def);
    if (m == NULL) return NULL;
    if (add_methods(m, core_methods) < 0 || add_methods(m, axpy_array_methods) < 0 ||
        add_methods(m, axpy_ops_methods) < 0 || add_methods(m, axpy_io_methods) < 0 ||
        add_methods(m, axpy_transformer_methods) < 0 || add_methods(m, axpy_llm_methods) < 0 ||
        add_methods(m, axpy_serving_methods) < 0 ||
        PyModule_AddIntConstant(m, "F32", AX_F32) < 0 || PyModule_AddIntConstant(m, "F16", AX_F16) < 0 ||
        PyModule_AddIntConstant(m, "BF16", AX_BF16) < 0 || PyModule_AddIntConstant(m, "F64", AX_F64) < 0 ||
        PyModule_AddIntConstant(m, "I32", AX_I32) < 0 || PyModule_AddIntConstant(m, "I64", AX_I64) < 0 ||
        PyModule_AddIntConstant(m, "U8", AX_U8) < 0 || PyModule_AddIntConstant(m, "I8", AX_I8) < 0 ||
        PyModule_AddIntConstant(m, "WRITABLE", AXPY_WRITABLE) < 0 ||
        PyModule_AddIntConstant(m, "U16_BF16", AXPY_U16_BF16) < 0 ||
#ifdef Py_LIMITED_API
        PyModule_AddIntConstant(m, "STABLE_ABI", 1) < 0
#else
        PyModule_AddIntConstant(m, "STABLE_ABI", 0) < 0
#endif
    ) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
