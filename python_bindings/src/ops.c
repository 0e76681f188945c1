/*
 * ops.c — Evoformer attention forward and backward, and one head's attention probabilities, over
 * caller-provided arrays (outputs included; the Python layer allocates them). The GIL is released
 * while the kernels run; the context's lock keeps one call per context at a time.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "axial/evoformer.h"
#include "axial/figures.h"
#include "bindings.h"

#define MAX_ARRAYS 12

/* Borrows args[first + i] as arrays[i] for each name; None is allowed where `optional` has bit i and
 * gives NULL in `tensors[i]`. Arrays whose bit is set in `outputs` must be writable. */
static int borrow_all(PyObject *const *args, int first, int count, const char *const *names, unsigned optional,
                      unsigned outputs, int flags, PyObject *stream, axpy_array *arrays, ax_tensor **tensors) {
    memset(arrays, 0, sizeof(axpy_array) * (size_t)count);
    for (int i = 0; i < count; i++) {
        PyObject *obj = args[first + i];
        tensors[i] = NULL;
        if (obj == Py_None) {
            if (optional & (1u << i)) continue;
            axpy_raise(AX_ERR_INVALID_ARGUMENT, "%s: is required (got None)", names[i]);
        } else if (axpy_array_get(obj, names[i], flags | ((outputs & (1u << i)) ? AXPY_WRITABLE : 0), stream,
                                  &arrays[i]) == 0) {
            tensors[i] = &arrays[i].tensor;
            continue;
        }
        for (int j = 0; j < i; j++) axpy_array_release(&arrays[j]);
        return -1;
    }
    return 0;
}

static void release_all(axpy_array *arrays, int count) {
    for (int i = 0; i < count; i++) axpy_array_release(&arrays[i]);
}

/* attention_forward(ctx, q, k, v, bias_mask, bias_pair, out, lse, stream, flags) */
static PyObject *py_attention_forward(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (axpy_check_nargs("attention_forward", nargs, 10) < 0) return NULL;
    axpy_context *c = axpy_context_from(args[0]);
    int64_t flags;
    if (c == NULL || axpy_int64(args[9], "flags", &flags) < 0) return NULL;
    static const char *const names[] = {"q", "k", "v", "bias_mask", "bias_pair", "out", "lse"};
    axpy_array arrays[7];
    ax_tensor *t[7];
    /* optional: bias_mask, bias_pair, lse; outputs: out, lse */
    if (borrow_all(args, 1, 7, names, 0x58u, 0x60u, (int)(flags & AXPY_U16_BF16), args[8], arrays, t) < 0) return NULL;
    ax_status st;
    Py_BEGIN_ALLOW_THREADS
    PyThread_acquire_lock(c->lock, WAIT_LOCK);
    st = ax_evoformer_attention_forward(c->ctx, t[0], t[1], t[2], t[3], t[4], t[5], t[6]);
    PyThread_release_lock(c->lock);
    Py_END_ALLOW_THREADS
    release_all(arrays, 7);
    if (st != AX_OK) return axpy_raise_status(st);
    Py_RETURN_NONE;
}

/* attention_backward(ctx, q, k, v, bias_mask, bias_pair, out, lse, dout, dq, dk, dv, dbias_mask,
 *                    dbias_pair, stream, flags) */
static PyObject *py_attention_backward(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (axpy_check_nargs("attention_backward", nargs, 16) < 0) return NULL;
    axpy_context *c = axpy_context_from(args[0]);
    int64_t flags;
    if (c == NULL || axpy_int64(args[15], "flags", &flags) < 0) return NULL;
    static const char *const names[] = {"q",    "k",  "v",  "bias_mask", "bias_pair",  "out",       "lse",
                                        "dout", "dq", "dk", "dv",        "dbias_mask", "dbias_pair"};
    axpy_array arrays[13];
    ax_tensor *t[13];
    /* optional: bias_mask (3), bias_pair (4), dbias_mask (11), dbias_pair (12); outputs: 8..12 */
    const unsigned optional = (1u << 3) | (1u << 4) | (1u << 11) | (1u << 12);
    const unsigned outputs = (1u << 8) | (1u << 9) | (1u << 10) | (1u << 11) | (1u << 12);
    if (borrow_all(args, 1, 13, names, optional, outputs, (int)(flags & AXPY_U16_BF16), args[14], arrays, t) < 0)
        return NULL;
    ax_status st;
    Py_BEGIN_ALLOW_THREADS
    PyThread_acquire_lock(c->lock, WAIT_LOCK);
    st = ax_evoformer_attention_backward(c->ctx, t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7], t[8], t[9], t[10],
                                         t[11], t[12]);
    PyThread_release_lock(c->lock);
    Py_END_ALLOW_THREADS
    release_all(arrays, 13);
    if (st != AX_OK) return axpy_raise_status(st);
    Py_RETURN_NONE;
}

/* attention_probabilities(q, k, bias_mask, bias_pair, b, n, h, out, flags): out is a C-contiguous
 * float32 (S, S) array. */
static PyObject *py_attention_probabilities(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (axpy_check_nargs("attention_probabilities", nargs, 9) < 0) return NULL;
    int64_t b, n, h, flags;
    if (axpy_int64(args[4], "b", &b) < 0 || axpy_int64(args[5], "n", &n) < 0 || axpy_int64(args[6], "h", &h) < 0 ||
        axpy_int64(args[8], "flags", &flags) < 0)
        return NULL;
    static const char *const names[] = {"q", "k", "bias_mask", "bias_pair"};
    PyObject *inputs[4] = {args[0], args[1], args[2], args[3]};
    axpy_array arrays[4], out;
    ax_tensor *t[4];
    if (borrow_all(inputs, 0, 4, names, 0xCu, 0, (int)(flags & AXPY_U16_BF16), Py_None, arrays, t) < 0) return NULL;
    if (axpy_array_get(args[7], "out", AXPY_WRITABLE, Py_None, &out) < 0) {
        release_all(arrays, 4);
        return NULL;
    }
    const int64_t S = t[0]->ndim == 5 ? t[0]->shape[2] : 0;
    /* (S, S) exactly, checked dimension by dimension: S * S itself could overflow. */
    if (out.tensor.dtype != AX_F32 || out.tensor.device.type != AX_CPU || out.tensor.ndim != 2 ||
        out.tensor.shape[0] != S || out.tensor.shape[1] != S || !ax_tensor_is_contiguous(&out.tensor)) {
        release_all(arrays, 4);
        axpy_array_release(&out);
        return axpy_raise(AX_ERR_INVALID_ARGUMENT, "out: expected a contiguous float32 host array of shape (%lld, %lld)",
                          (long long)S, (long long)S);
    }
    ax_status st;
    Py_BEGIN_ALLOW_THREADS
    st = ax_attention_probabilities(t[0], t[1], t[2], t[3], b, n, h, out.tensor.data);
    Py_END_ALLOW_THREADS
    release_all(arrays, 4);
    axpy_array_release(&out);
    if (st != AX_OK) return axpy_raise_status(st);
    Py_RETURN_NONE;
}

/* bench_forward(ctx, q, k, v, bias_mask, bias_pair, out, lse, repeats) -> seconds for `repeats` calls
 * of the C function on tensors borrowed once: the C-call baseline of bench/python_binding_overhead.py. */
static PyObject *py_bench_forward(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (axpy_check_nargs("bench_forward", nargs, 9) < 0) return NULL;
    axpy_context *c = axpy_context_from(args[0]);
    int64_t repeats;
    if (c == NULL || axpy_int64(args[8], "repeats", &repeats) < 0) return NULL;
    static const char *const names[] = {"q", "k", "v", "bias_mask", "bias_pair", "out", "lse"};
    axpy_array arrays[7];
    ax_tensor *t[7];
    if (borrow_all(args, 1, 7, names, 0x58u, 0x60u, 0, Py_None, arrays, t) < 0) return NULL;
    PyObject *clock = PyImport_ImportModule("time");
    PyObject *perf = clock != NULL ? PyObject_GetAttrString(clock, "perf_counter") : NULL;
    Py_XDECREF(clock);
    PyObject *t0 = perf != NULL ? PyObject_CallNoArgs(perf) : NULL;
    ax_status st = AX_OK;
    if (t0 != NULL) {
        Py_BEGIN_ALLOW_THREADS
        /* The context serves one thread at a time, like every other op's use of it. */
        PyThread_acquire_lock(c->lock, WAIT_LOCK);
        for (int64_t i = 0; i < repeats && st == AX_OK; i++)
            st = ax_evoformer_attention_forward(c->ctx, t[0], t[1], t[2], t[3], t[4], t[5], t[6]);
        PyThread_release_lock(c->lock);
        Py_END_ALLOW_THREADS
    }
    PyObject *t1 = t0 != NULL ? PyObject_CallNoArgs(perf) : NULL;
    release_all(arrays, 7);
    PyObject *result = NULL;
    if (st != AX_OK) axpy_raise_status(st);
    else if (t1 != NULL) result = PyFloat_FromDouble(PyFloat_AsDouble(t1) - PyFloat_AsDouble(t0));
    Py_XDECREF(perf);
    Py_XDECREF(t0);
    Py_XDECREF(t1);
    return result;
}

PyMethodDef axpy_ops_methods[] = {
    {"bench_forward", (PyCFunction)(void (*)(void))py_bench_forward, METH_FASTCALL,
     "bench_forward(ctx, q, k, v, bias_mask, bias_pair, out, lse, repeats) -> seconds\n\n"
     "Times `repeats` direct C calls on arrays borrowed once (the benchmark's baseline)."},
    {"attention_forward", (PyCFunction)(void (*)(void))py_attention_forward, METH_FASTCALL,
     "attention_forward(ctx, q, k, v, bias_mask, bias_pair, out, lse, stream, flags)\n\n"
     "ax_evoformer_attention_forward over caller-provided arrays (out and lse are written)."},
    {"attention_backward", (PyCFunction)(void (*)(void))py_attention_backward, METH_FASTCALL,
     "attention_backward(ctx, q, k, v, bias_mask, bias_pair, out, lse, dout, dq, dk, dv, dbias_mask, dbias_pair,"
     " stream, flags)\n\nax_evoformer_attention_backward over caller-provided arrays."},
    {"attention_probabilities", (PyCFunction)(void (*)(void))py_attention_probabilities, METH_FASTCALL,
     "attention_probabilities(q, k, bias_mask, bias_pair, b, n, h, out, flags)\n\n"
     "ax_attention_probabilities: one head's (S, S) softmax into a float32 array."},
    {NULL, NULL, 0, NULL}};
