/*
 * serving.c — serving.h for Python: an engine as a capsule, requests submitted without callbacks
 * and read with ax_serving_poll. axial/serving.py builds Engine, Request (blocking and asyncio
 * iteration) and the event types on these.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 *
 * The GIL is released around every call that can wait (submit tokenizes, poll waits, step runs a
 * forward, stop and close wait for the running step), so Python threads submit and poll in
 * parallel. The engine's own calls are thread-safe (serving.h); what this file adds is a guard that
 * lets close() free the engine while other threads may be inside a call on it: each call counts
 * itself in `active`, and close marks the engine closed, waits for the count to reach zero, then
 * frees. A poll's event points into the engine, so it is copied into Python objects before the call
 * counts itself out.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axial/serving.h"
#include "bindings.h"

#define SERVING_CAPSULE "axial._axial.serving_engine"
#define SERVING_MODEL_CAPSULE "axial._axial.llm_model" /* made by llm.c's llm_load */

typedef struct serving_py_engine {
    ax_serving_engine *engine;  /* NULL once closed */
    PyObject *model;            /* the model capsule: the model must outlive the engine (serving.h) */
    pthread_mutex_t mutex;      /* guards active and closed */
    pthread_cond_t idle;        /* signalled when active drops to 0 */
    int64_t active;             /* calls inside the engine now */
    int closed;
    PyThread_type_lock step_lock; /* ax_serving_step runs in one thread at a time */
} serving_py_engine;

static void serving_py_destructor(PyObject *capsule) {
    serving_py_engine *e = PyCapsule_GetPointer(capsule, SERVING_CAPSULE);
    if (e == NULL) {
        PyErr_Clear();
        return;
    }
    /* No call can be in flight: each holds a reference to the capsule. The engine's thread never
     * needs the GIL (no callbacks), so freeing with the GIL held cannot deadlock. */
    ax_serving_free(e->engine);
    pthread_cond_destroy(&e->idle);
    pthread_mutex_destroy(&e->mutex);
    if (e->step_lock != NULL) PyThread_free_lock(e->step_lock);
    Py_XDECREF(e->model);
    free(e);
}

/* Counts a call in, or raises when the object is not an engine or the engine is closed. Returns the
 * engine (the caller must serving_py_leave), or NULL with an exception set. */
static serving_py_engine *serving_py_enter(PyObject *capsule) {
    serving_py_engine *e = PyCapsule_IsValid(capsule, SERVING_CAPSULE) ? PyCapsule_GetPointer(capsule, SERVING_CAPSULE)
                                                                       : NULL;
    if (e == NULL) {
        axpy_raise(AX_ERR_INVALID_ARGUMENT, "engine: expected a serving engine capsule (serving_create)");
        return NULL;
    }
    pthread_mutex_lock(&e->mutex);
    const int closed = e->closed;
    if (!closed) e->active++;
    pthread_mutex_unlock(&e->mutex);
    if (closed) {
        axpy_raise(AX_ERR_INVALID_ARGUMENT, "engine: closed (Engine.close was called)");
        return NULL;
    }
    return e;
}

static void serving_py_leave(serving_py_engine *e) {
    pthread_mutex_lock(&e->mutex);
    if (--e->active == 0) pthread_cond_broadcast(&e->idle);
    pthread_mutex_unlock(&e->mutex);
}

static int serving_py_float(PyObject *obj, const char *name, float *out) {
    const double v = PyFloat_AsDouble(obj);
    if (v == -1.0 && PyErr_Occurred()) {
        PyErr_Clear();
        axpy_raise(AX_ERR_INVALID_ARGUMENT, "%s: expected a number", name);
        return -1;
    }
    *out = (float)v; /* out of float range becomes inf, which the engine's checks name */
    return 0;
}

/* Borrows a contiguous int32 buffer of token ids (the Python layer makes it with NumPy). */
static int serving_py_ids(PyObject *obj, const char *name, Py_buffer *view, const int32_t **ids, int64_t *n) {
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) return -1;
    const char *f = view->format != NULL ? view->format : "B";
    if (*f == '=' || *f == '<' || *f == '@') f++;
    if (view->itemsize != 4 || (strcmp(f, "i") != 0 && strcmp(f, "l") != 0)) {
        axpy_raise(AX_ERR_INVALID_ARGUMENT, "%s: expected a contiguous int32 buffer, got format '%s' itemsize %zd",
                   name, view->format != NULL ? view->format : "B", view->itemsize);
        PyBuffer_Release(view);
        return -1;
    }
    *ids = view->buf;
    *n = (int64_t)(view->len / 4);
    return 0;
}

/* serving_create(model, policy, n_ctx, block_size, num_blocks, max_batch_tokens, max_running,
 * max_queue, static_batch, prefix_sharing, preemption) -> engine capsule */
static PyObject *py_serving_create(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (axpy_check_nargs("serving_create", nargs, 11) < 0) return NULL;
    ax_llm_model *model = PyCapsule_IsValid(args[0], SERVING_MODEL_CAPSULE)
                              ? PyCapsule_GetPointer(args[0], SERVING_MODEL_CAPSULE) : NULL;
    if (model == NULL) return axpy_raise(AX_ERR_INVALID_ARGUMENT, "model: expected an LLM model capsule (llm_load)");
    ax_serving_config cfg = AX_SERVING_CONFIG_INIT;
    const char *policy;
    if (axpy_utf8(args[1], "policy", 0, &policy) < 0) return NULL;
    ax_status st = ax_serving_policy_parse(policy, &cfg.policy);
    if (st != AX_OK) return axpy_raise_status(st);
    int64_t num_blocks;
    if (axpy_int32(args[2], "n_ctx", &cfg.n_ctx) < 0 ||
        axpy_int32(args[3], "block_size", &cfg.block_size) < 0 ||
        axpy_int64(args[4], "num_blocks", &num_blocks) < 0 ||
        axpy_int32(args[5], "max_batch_tokens", &cfg.max_batch_tokens) < 0 ||
        axpy_int32(args[6], "max_running", &cfg.max_running) < 0 ||
        axpy_int32(args[7], "max_queue", &cfg.max_queue) < 0 ||
        axpy_int32(args[8], "static_batch", &cfg.static_batch) < 0)
        return NULL;
    cfg.num_blocks = num_blocks;
    const int sharing = PyObject_IsTrue(args[9]);
    if (sharing < 0) return NULL;
    cfg.prefix_sharing = sharing;
    const int preempt = PyObject_IsTrue(args[10]);
    if (preempt < 0) return NULL;
    cfg.preemption = preempt;

    serving_py_engine *e = calloc(1, sizeof *e);
    if (e == NULL) return PyErr_NoMemory();
    if ((e->step_lock = PyThread_allocate_lock()) == NULL) {
        free(e);
        return PyErr_NoMemory();
    }
    if (pthread_mutex_init(&e->mutex, NULL) != 0) {
        PyThread_free_lock(e->step_lock);
        free(e);
        return PyErr_NoMemory();
    }
    if (pthread_cond_init(&e->idle, NULL) != 0) {
        pthread_mutex_destroy(&e->mutex);
        PyThread_free_lock(e->step_lock);
        free(e);
        return PyErr_NoMemory();
    }
    Py_BEGIN_ALLOW_THREADS
    st = ax_serving_create(model, &cfg, &e->engine);
    Py_END_ALLOW_THREADS
    if (st == AX_OK) {
        Py_INCREF(args[0]);
        e->model = args[0];
        PyObject *capsule = PyCapsule_New(e, SERVING_CAPSULE, serving_py_destructor);
        if (capsule != NULL) return capsule;
        ax_serving_free(e->engine);
        Py_DECREF(e->model);
    }
    pthread_cond_destroy(&e->idle);
    pthread_mutex_destroy(&e->mutex);
    PyThread_free_lock(e->step_lock);
    free(e);
    return st != AX_OK ? axpy_raise_status(st) : NULL;
}

/* serving_close(engine): stops the loop, ends unfinished requests (cancelled) and frees the engine
 * once no other thread is inside a call on it. Closing twice is a no-op. */
static PyObject *py_serving_close(PyObject *self, PyObject *capsule) {
    serving_py_engine *e = PyCapsule_IsValid(capsule, SERVING_CAPSULE) ? PyCapsule_GetPointer(capsule, SERVING_CAPSULE)
                                                                       : NULL;
    if (e == NULL)
        return axpy_raise(AX_ERR_INVALID_ARGUMENT, "engine: expected a serving engine capsule (serving_create)");
    ax_serving_engine *engine = NULL;
    /* The wait is bounded by the longest call in flight: the Python layer polls in short slices. */
    Py_BEGIN_ALLOW_THREADS
    pthread_mutex_lock(&e->mutex);
    if (!e->closed) {
        e->closed = 1;
        while (e->active > 0) pthread_cond_wait(&e->idle, &e->mutex);
        engine = e->engine;
        e->engine = NULL;
    }
    pthread_mutex_unlock(&e->mutex);
    ax_serving_free(engine);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

static int serving_py_set(PyObject *dict, const char *key, PyObject *value) {
    if (value == NULL) return -1;
    const int rc = PyDict_SetItemString(dict, key, value);
    Py_DECREF(value);
    return rc;
}

/* serving_config(engine) -> dict of the ax_serving_config in effect */
static PyObject *py_serving_config(PyObject *self, PyObject *capsule) {
    serving_py_engine *e = serving_py_enter(capsule);
    if (e == NULL) return NULL;
    ax_serving_config cfg;
    const ax_status st = ax_serving_get_config(e->engine, &cfg);
    serving_py_leave(e);
    if (st != AX_OK) return axpy_raise_status(st);
    const char *policy = ax_serving_policy_name(cfg.policy);
    PyObject *d = PyDict_New();
    if (d == NULL) return NULL;
    if (serving_py_set(d, "policy", PyUnicode_FromString(policy != NULL ? policy : "unknown")) < 0 ||
        serving_py_set(d, "n_ctx", PyLong_FromLong(cfg.n_ctx)) < 0 ||
        serving_py_set(d, "block_size", PyLong_FromLong(cfg.block_size)) < 0 ||
        serving_py_set(d, "num_blocks", PyLong_FromLongLong((long long)cfg.num_blocks)) < 0 ||
        serving_py_set(d, "max_batch_tokens", PyLong_FromLong(cfg.max_batch_tokens)) < 0 ||
        serving_py_set(d, "max_running", PyLong_FromLong(cfg.max_running)) < 0 ||
        serving_py_set(d, "max_queue", PyLong_FromLong(cfg.max_queue)) < 0 ||
        serving_py_set(d, "static_batch", PyLong_FromLong(cfg.static_batch)) < 0 ||
        serving_py_set(d, "prefix_sharing", PyBool_FromLong(cfg.prefix_sharing)) < 0 ||
        serving_py_set(d, "preemption", PyBool_FromLong(cfg.preemption)) < 0) {
        Py_DECREF(d);
        return NULL;
    }
    return d;
}

/* serving_submit(engine, prompt (str, or int32 buffer of ids), max_tokens, temperature, top_k, top_p,
 * min_p, repetition_penalty, frequency_penalty, presence_penalty, penalty_last_n, seed,
 * stop (tuple of str or None), stop_tokens (int32 buffer or None), ignore_eos, penalize_prompt) -> id */
static PyObject *py_serving_submit(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (axpy_check_nargs("serving_submit", nargs, 16) < 0) return NULL;
    ax_serving_request req = AX_SERVING_REQUEST_INIT;
    if (axpy_int32(args[2], "max_tokens", &req.max_tokens) < 0 ||
        serving_py_float(args[3], "temperature", &req.sampling.temperature) < 0 ||
        axpy_int32(args[4], "top_k", &req.sampling.top_k) < 0 ||
        serving_py_float(args[5], "top_p", &req.sampling.top_p) < 0 ||
        serving_py_float(args[6], "min_p", &req.sampling.min_p) < 0 ||
        serving_py_float(args[7], "repetition_penalty", &req.sampling.repetition_penalty) < 0 ||
        serving_py_float(args[8], "frequency_penalty", &req.sampling.frequency_penalty) < 0 ||
        serving_py_float(args[9], "presence_penalty", &req.sampling.presence_penalty) < 0 ||
        axpy_int32(args[10], "penalty_last_n", &req.penalty_last_n) < 0)
        return NULL;
    const unsigned long long seed = PyLong_AsUnsignedLongLong(args[11]);
    if (seed == (unsigned long long)-1 && PyErr_Occurred()) {
        PyErr_Clear();
        return axpy_raise(AX_ERR_INVALID_ARGUMENT, "seed: expected an integer in [0, 2**64)");
    }
    req.sampling.seed = (uint64_t)seed;
    const int ignore_eos = PyObject_IsTrue(args[14]);
    if (ignore_eos < 0) return NULL;
    req.ignore_eos = ignore_eos;
    const int penalize_prompt = PyObject_IsTrue(args[15]);
    if (penalize_prompt < 0) return NULL;
    req.penalty_generated_only = !penalize_prompt;

    Py_buffer prompt_view = {0}, stop_view = {0};
    int has_prompt_view = 0, has_stop_view = 0;
    const char **stops = NULL;
    PyObject *result = NULL;
    if (PyUnicode_Check(args[1])) {
        Py_ssize_t len;
        if ((req.prompt = PyUnicode_AsUTF8AndSize(args[1], &len)) == NULL) goto done;
        req.prompt_len = (size_t)len;
    } else {
        if (serving_py_ids(args[1], "prompt", &prompt_view, &req.tokens, &req.n_tokens) < 0) goto done;
        has_prompt_view = 1;
    }
    if (args[12] != Py_None) {
        if (!PyTuple_Check(args[12])) {
            axpy_raise(AX_ERR_INVALID_ARGUMENT, "stop: expected a tuple of str");
            goto done;
        }
        const Py_ssize_t n = PyTuple_Size(args[12]);
        if (n > INT32_MAX) {
            axpy_raise(AX_ERR_INVALID_ARGUMENT, "stop: %zd strings", n);
            goto done;
        }
        if ((stops = calloc((size_t)(n > 0 ? n : 1), sizeof *stops)) == NULL) {
            PyErr_NoMemory();
            goto done;
        }
        for (Py_ssize_t i = 0; i < n; i++) {
            char name[32];
            snprintf(name, sizeof name, "stop[%zd]", i);
            /* Borrowed UTF-8, valid while the tuple (held by the caller) lives. */
            if (axpy_utf8(PyTuple_GetItem(args[12], i), name, 0, &stops[i]) < 0) goto done;
        }
        req.stop = stops;
        req.n_stop = (int32_t)n;
    }
    if (args[13] != Py_None) {
        int64_t n_stop_tokens;
        if (serving_py_ids(args[13], "stop_tokens", &stop_view, &req.stop_tokens, &n_stop_tokens) < 0) goto done;
        has_stop_view = 1;
        if (n_stop_tokens > INT32_MAX) {
            axpy_raise(AX_ERR_INVALID_ARGUMENT, "stop_tokens: %lld ids", (long long)n_stop_tokens);
            goto done;
        }
        req.n_stop_tokens = (int32_t)n_stop_tokens;
    }
    serving_py_engine *e = serving_py_enter(args[0]);
    if (e == NULL) goto done;
    int64_t id = 0;
    ax_status st;
    Py_BEGIN_ALLOW_THREADS
    st = ax_serving_submit(e->engine, &req, &id);
    Py_END_ALLOW_THREADS
    serving_py_leave(e);
    result = st == AX_OK ? PyLong_FromLongLong((long long)id) : axpy_raise_status(st);
done:
    free(stops);
    if (has_prompt_view) PyBuffer_Release(&prompt_view);
    if (has_stop_view) PyBuffer_Release(&stop_view);
    return result;
}

/* The event as (tokens, probs, text, finish, prompt_tokens, cached_tokens, completion_tokens,
 * queue_seconds, first_token_seconds); finish is None while running, else its name. */
static PyObject *serving_py_event(const ax_serving_event *ev) {
    PyObject *tokens = PyList_New((Py_ssize_t)ev->n_tokens);
    PyObject *probs = PyList_New((Py_ssize_t)ev->n_tokens);
    if (tokens == NULL || probs == NULL) goto fail;
    for (int64_t i = 0; i < ev->n_tokens; i++) {
        PyObject *t = PyLong_FromLong(ev->tokens[i]);
        if (t == NULL || PyList_SetItem(tokens, (Py_ssize_t)i, t) < 0) goto fail;
        PyObject *p = PyFloat_FromDouble(ev->probs != NULL ? (double)ev->probs[i] : 0.0);
        if (p == NULL || PyList_SetItem(probs, (Py_ssize_t)i, p) < 0) goto fail;
    }
    PyObject *finish;
    if (ev->finish == AX_SERVING_RUNNING) {
        finish = Py_NewRef(Py_None);
    } else {
        const char *name = ax_serving_finish_name(ev->finish);
        finish = PyUnicode_FromString(name != NULL ? name : "error");
        if (finish == NULL) goto fail;
    }
    /* The engine sends whole UTF-8 characters; "replace" keeps a bad byte from failing the stream. */
    return Py_BuildValue("(NNNNLLLdd)", tokens, probs,
                         PyUnicode_DecodeUTF8(ev->text != NULL ? ev->text : "", (Py_ssize_t)ev->text_len, "replace"),
                         finish, (long long)ev->prompt_tokens, (long long)ev->cached_tokens,
                         (long long)ev->completion_tokens, ev->queue_seconds, ev->first_token_seconds);
fail:
    Py_XDECREF(tokens);
    Py_XDECREF(probs);
    return NULL;
}

/* serving_poll(engine, id, timeout_ms) -> event tuple (serving_py_event) */
static PyObject *py_serving_poll(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (axpy_check_nargs("serving_poll", nargs, 3) < 0) return NULL;
    int64_t id;
    int32_t timeout_ms;
    if (axpy_int64(args[1], "id", &id) < 0 || axpy_int32(args[2], "timeout_ms", &timeout_ms) < 0) return NULL;
    serving_py_engine *e = serving_py_enter(args[0]);
    if (e == NULL) return NULL;
    ax_serving_event ev;
    memset(&ev, 0, sizeof ev);
    ax_status st;
    Py_BEGIN_ALLOW_THREADS
    st = ax_serving_poll(e->engine, id, (int)timeout_ms, &ev);
    Py_END_ALLOW_THREADS
    /* The event's arrays live in the engine: copy them before close may free it. */
    PyObject *result = st == AX_OK ? serving_py_event(&ev) : axpy_raise_status(st);
    serving_py_leave(e);
    return result;
}

/* serving_cancel(engine, id) */
static PyObject *py_serving_cancel(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (axpy_check_nargs("serving_cancel", nargs, 2) < 0) return NULL;
    int64_t id;
    if (axpy_int64(args[1], "id", &id) < 0) return NULL;
    serving_py_engine *e = serving_py_enter(args[0]);
    if (e == NULL) return NULL;
    ax_status st;
    Py_BEGIN_ALLOW_THREADS
    st = ax_serving_cancel(e->engine, id);
    Py_END_ALLOW_THREADS
    serving_py_leave(e);
    if (st != AX_OK) return axpy_raise_status(st);
    Py_RETURN_NONE;
}

/* serving_step(engine) -> bool: whether the step did any work */
static PyObject *py_serving_step(PyObject *self, PyObject *capsule) {
    serving_py_engine *e = serving_py_enter(capsule);
    if (e == NULL) return NULL;
    int did_work = 0;
    ax_status st;
    Py_BEGIN_ALLOW_THREADS
    PyThread_acquire_lock(e->step_lock, WAIT_LOCK);
    st = ax_serving_step(e->engine, &did_work);
    PyThread_release_lock(e->step_lock);
    Py_END_ALLOW_THREADS
    serving_py_leave(e);
    if (st != AX_OK) return axpy_raise_status(st);
    return PyBool_FromLong(did_work);
}

/* serving_start(engine) */
static PyObject *py_serving_start(PyObject *self, PyObject *capsule) {
    serving_py_engine *e = serving_py_enter(capsule);
    if (e == NULL) return NULL;
    ax_status st;
    /* A caller's step in flight finishes first, so the two never run at once. */
    Py_BEGIN_ALLOW_THREADS
    PyThread_acquire_lock(e->step_lock, WAIT_LOCK);
    st = ax_serving_start(e->engine);
    PyThread_release_lock(e->step_lock);
    Py_END_ALLOW_THREADS
    serving_py_leave(e);
    if (st != AX_OK) return axpy_raise_status(st);
    Py_RETURN_NONE;
}

/* serving_stop(engine): waits for the loop's current step. Under the step lock: serving.h forbids
 * two ax_serving_stop at once (both would join the loop's thread), and a start must not slip in
 * while a stop is still joining. */
static PyObject *py_serving_stop(PyObject *self, PyObject *capsule) {
    serving_py_engine *e = serving_py_enter(capsule);
    if (e == NULL) return NULL;
    Py_BEGIN_ALLOW_THREADS
    PyThread_acquire_lock(e->step_lock, WAIT_LOCK);
    ax_serving_stop(e->engine);
    PyThread_release_lock(e->step_lock);
    Py_END_ALLOW_THREADS
    serving_py_leave(e);
    Py_RETURN_NONE;
}

/* serving_stats(engine) -> dict of ax_serving_stats */
static PyObject *py_serving_stats(PyObject *self, PyObject *capsule) {
    serving_py_engine *e = serving_py_enter(capsule);
    if (e == NULL) return NULL;
    ax_serving_stats s;
    ax_status st;
    Py_BEGIN_ALLOW_THREADS
    st = ax_serving_get_stats(e->engine, &s);
    Py_END_ALLOW_THREADS
    serving_py_leave(e);
    if (st != AX_OK) return axpy_raise_status(st);
    const struct { const char *key; int64_t value; } fields[] = {
        {"waiting", s.waiting},
        {"running", s.running},
        {"blocks_total", s.blocks_total},
        {"blocks_used", s.blocks_used},
        {"blocks_cached", s.blocks_cached},
        {"block_size", s.block_size},
        {"requests_submitted", s.requests_submitted},
        {"requests_finished", s.requests_finished},
        {"requests_cancelled", s.requests_cancelled},
        {"prompt_tokens", s.prompt_tokens},
        {"cached_prompt_tokens", s.cached_prompt_tokens},
        {"computed_prompt_tokens", s.computed_prompt_tokens},
        {"generated_tokens", s.generated_tokens},
        {"steps", s.steps},
        {"copy_on_write", s.copy_on_write},
        {"preemptions", s.preemptions}};
    PyObject *d = PyDict_New();
    if (d == NULL) return NULL;
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        if (serving_py_set(d, fields[i].key, PyLong_FromLongLong((long long)fields[i].value)) < 0) {
            Py_DECREF(d);
            return NULL;
        }
    }
    return d;
}

PyMethodDef axpy_serving_methods[] = {
    {"serving_create", (PyCFunction)(void (*)(void))py_serving_create, METH_FASTCALL,
     "serving_create(model, policy, n_ctx, block_size, num_blocks, max_batch_tokens, max_running, max_queue, "
     "static_batch, prefix_sharing, preemption) -> engine capsule (ax_serving_create; 0 = the default)"},
    {"serving_close", py_serving_close, METH_O,
     "serving_close(engine): stops the loop, cancels unfinished requests, frees the engine (ax_serving_free)"},
    {"serving_config", py_serving_config, METH_O, "serving_config(engine) -> dict (ax_serving_get_config)"},
    {"serving_submit", (PyCFunction)(void (*)(void))py_serving_submit, METH_FASTCALL,
     "serving_submit(engine, prompt, max_tokens, temperature, top_k, top_p, min_p, repetition_penalty, "
     "frequency_penalty, presence_penalty, penalty_last_n, seed, stop, stop_tokens, ignore_eos, penalize_prompt) "
     "-> id "
     "(ax_serving_submit)"},
    {"serving_poll", (PyCFunction)(void (*)(void))py_serving_poll, METH_FASTCALL,
     "serving_poll(engine, id, timeout_ms) -> (tokens, probs, text, finish, prompt_tokens, cached_tokens, "
     "completion_tokens, queue_seconds, first_token_seconds) (ax_serving_poll; releases the GIL)"},
    {"serving_cancel", (PyCFunction)(void (*)(void))py_serving_cancel, METH_FASTCALL,
     "serving_cancel(engine, id) (ax_serving_cancel)"},
    {"serving_step", py_serving_step, METH_O, "serving_step(engine) -> did_work (ax_serving_step; releases the GIL)"},
    {"serving_start", py_serving_start, METH_O, "serving_start(engine): starts the background loop"},
    {"serving_stop", py_serving_stop, METH_O, "serving_stop(engine): stops the background loop after its step"},
    {"serving_stats", py_serving_stats, METH_O, "serving_stats(engine) -> dict (ax_serving_get_stats)"},
    {NULL, NULL, 0, NULL}};
