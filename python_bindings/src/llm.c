/*
 * llm.c — llm.h for Python: a loaded model and its sessions as capsules, the tokenizer, the chat
 * template, evaluation, logits and sampling. axial/llm.py builds the Model class, generation and
 * streaming on these. Token ids travel as contiguous int32 buffers (NumPy arrays made by the Python
 * layer) one way and as lists of ints the other. The GIL is released while the model loads and while a
 * session evaluates; a session serves one call at a time (llm.h), so each carries a lock.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

#include "axial/llm.h"
#include "bindings.h"

#define LLM_MODEL_CAPSULE "axial._axial.llm_model"
#define LLM_SESSION_CAPSULE "axial._axial.llm_session"

typedef struct llm_py_session {
    ax_llm_session *session;
    PyObject *model;          /* the model capsule, kept alive while the session is */
    PyThread_type_lock lock;
    int64_t n_vocab;
    int64_t n_logits;         /* rows of logits the last eval kept (1 without all_logits) */
} llm_py_session;

static void llm_py_model_destructor(PyObject *capsule) {
    ax_llm_model *m = PyCapsule_GetPointer(capsule, LLM_MODEL_CAPSULE);
    if (m == NULL) {
        PyErr_Clear();
        return;
    }
    ax_llm_model_free(m);
}

static ax_llm_model *llm_py_model_from(PyObject *capsule) {
    ax_llm_model *m = PyCapsule_IsValid(capsule, LLM_MODEL_CAPSULE) ? PyCapsule_GetPointer(capsule, LLM_MODEL_CAPSULE)
                                                                     : NULL;
    if (m == NULL) axpy_raise(AX_ERR_INVALID_ARGUMENT, "model: expected an LLM model capsule (llm_load)");
    return m;
}

static void llm_py_session_destructor(PyObject *capsule) {
    llm_py_session *s = PyCapsule_GetPointer(capsule, LLM_SESSION_CAPSULE);
    if (s == NULL) {
        PyErr_Clear();
        return;
    }
    ax_llm_session_free(s->session);
    if (s->lock != NULL) PyThread_free_lock(s->lock);
    Py_XDECREF(s->model);
    free(s);
}

static llm_py_session *llm_py_session_from(PyObject *capsule) {
    llm_py_session *s = PyCapsule_IsValid(capsule, LLM_SESSION_CAPSULE)
                            ? PyCapsule_GetPointer(capsule, LLM_SESSION_CAPSULE) : NULL;
    if (s == NULL) axpy_raise(AX_ERR_INVALID_ARGUMENT, "session: expected an LLM session capsule (llm_session_create)");
    return s;
}

/* Borrows a contiguous int32 buffer of token ids. Returns 0, or -1 with an exception set. */
static int llm_py_ids_get(PyObject *obj, Py_buffer *view, const int32_t **ids, int64_t *n) {
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) return -1;
    const char *f = view->format != NULL ? view->format : "B";
    if (*f == '=' || *f == '<' || *f == '@') f++;
    if (view->itemsize != 4 || (strcmp(f, "i") != 0 && strcmp(f, "l") != 0)) {
        /* The message is made before the release: the exporter may free its format string. */
        axpy_raise(AX_ERR_INVALID_ARGUMENT, "tokens: expected a contiguous int32 buffer, got format '%s' itemsize %zd",
                   view->format != NULL ? view->format : "B", view->itemsize);
        PyBuffer_Release(view);
        return -1;
    }
    *ids = view->buf;
    *n = (int64_t)(view->len / 4);
    return 0;
}

/* llm_load(path, device_type, device_id, threads) -> model capsule */
static PyObject *py_llm_load(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (axpy_check_nargs("llm_load", nargs, 4) < 0) return NULL;
    const char *path;
    int64_t type, id, threads;
    if (axpy_utf8(args[0], "path", 0, &path) < 0 || axpy_int64(args[1], "device_type", &type) < 0 ||
        axpy_int64(args[2], "device_id", &id) < 0 || axpy_int64(args[3], "threads", &threads) < 0)
        return NULL;
    if (type != AX_CPU && type != AX_CUDA)
        return axpy_raise(AX_ERR_INVALID_ARGUMENT, "device_type: %lld is neither CPU (0) nor CUDA (1)", (long long)type);
    if (id < 0 || id > INT32_MAX || threads < INT32_MIN || threads > INT32_MAX)
        return axpy_raise(AX_ERR_INVALID_ARGUMENT, "device_id/threads: %lld/%lld out of range", (long long)id,
                          (long long)threads);
    ax_llm_model_config cfg = AX_LLM_MODEL_CONFIG_INIT;
    cfg.device.type = type == AX_CUDA ? AX_CUDA : AX_CPU;
    cfg.device.id = (int32_t)id;
    cfg.num_threads = (int32_t)threads;
    ax_llm_model *m = NULL;
    ax_status st;
    Py_BEGIN_ALLOW_THREADS
    st = ax_llm_model_load(path, &cfg, &m);
    Py_END_ALLOW_THREADS
    if (st != AX_OK) return axpy_raise_status(st);
    PyObject *capsule = PyCapsule_New(m, LLM_MODEL_CAPSULE, llm_py_model_destructor);
    if (capsule == NULL) ax_llm_model_free(m);
    return capsule;
}

static int llm_py_set(PyObject *dict, const char *key, PyObject *value) {
    if (value == NULL) return -1;
    const int rc = PyDict_SetItemString(dict, key, value);
    Py_DECREF(value);
    return rc;
}

/* A str from a fixed-size char array that is NUL-terminated when shorter than the array. */
static PyObject *llm_py_fixed_str(const char *chars, size_t size) {
    const char *nul = memchr(chars, 0, size);
    return PyUnicode_DecodeUTF8(chars, (Py_ssize_t)(nul != NULL ? (size_t)(nul - chars) : size), "replace");
}

/* llm_info(model) -> dict of ax_llm_model_info */
static PyObject *py_llm_info(PyObject *self, PyObject *capsule) {
    ax_llm_model *m = llm_py_model_from(capsule);
    if (m == NULL) return NULL;
    ax_llm_model_info info;
    const ax_status st = ax_llm_model_get_info(m, &info);
    if (st != AX_OK) return axpy_raise_status(st);
    PyObject *d = PyDict_New();
    if (d == NULL) return NULL;
    const struct { const char *key; int32_t value; } ints[] = {
        {"n_layer", info.n_layer},     {"n_embd", info.n_embd},   {"n_ff", info.n_ff},
        {"n_head", info.n_head},       {"n_head_kv", info.n_head_kv}, {"head_dim", info.head_dim},
        {"n_ctx_train", info.n_ctx_train}, {"n_vocab", info.n_vocab}, {"bos_id", info.bos_id},
        {"eos_id", info.eos_id},       {"n_expert", info.n_expert}, {"n_expert_used", info.n_expert_used}};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
        if (llm_py_set(d, ints[i].key, PyLong_FromLong(ints[i].value)) < 0) goto fail;
    if (llm_py_set(d, "architecture", llm_py_fixed_str(info.architecture, sizeof info.architecture)) < 0 ||
        llm_py_set(d, "name", llm_py_fixed_str(info.name, sizeof info.name)) < 0 ||
        llm_py_set(d, "rope_base", PyFloat_FromDouble(info.rope_base)) < 0 ||
        llm_py_set(d, "rms_eps", PyFloat_FromDouble(info.rms_eps)) < 0 ||
        llm_py_set(d, "add_bos", PyBool_FromLong(info.add_bos)) < 0 ||
        llm_py_set(d, "add_eos", PyBool_FromLong(info.add_eos)) < 0 ||
        llm_py_set(d, "weight_bytes", PyLong_FromLongLong((long long)info.weight_bytes)) < 0)
        goto fail;
    return d;
fail:
    Py_DECREF(d);
    return NULL;
}

/* A new list of the n ids. */
static PyObject *llm_py_id_list(const int32_t *ids, int64_t n) {
    PyObject *list = PyList_New((Py_ssize_t)n);
    for (int64_t i = 0; list != NULL && i < n; i++) {
        PyObject *v = PyLong_FromLong(ids[i]);
        if (v == NULL || PyList_SetItem(list, (Py_ssize_t)i, v) < 0) Py_CLEAR(list);
    }
    return list;
}

/* llm_tokenize(model, text (str or bytes), flags) -> list of ids */
static PyObject *py_llm_tokenize(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (axpy_check_nargs("llm_tokenize", nargs, 3) < 0) return NULL;
    ax_llm_model *m = llm_py_model_from(args[0]);
    int64_t flags;
    if (m == NULL || axpy_int64(args[2], "flags", &flags) < 0) return NULL;
    const char *text;
    Py_ssize_t len;
    if (PyUnicode_Check(args[1])) {
        if ((text = PyUnicode_AsUTF8AndSize(args[1], &len)) == NULL) return NULL;
    } else if (PyBytes_Check(args[1])) {
        char *b;
        if (PyBytes_AsStringAndSize(args[1], &b, &len) < 0) return NULL;
        text = b;
    } else {
        return axpy_raise(AX_ERR_INVALID_ARGUMENT, "text: expected a str or bytes");
    }
    /* Byte-level BPE gives at most one token per byte, plus BOS/EOS: one call in practice. */
    int64_t capacity = (int64_t)len + 4, n = 0;
    int32_t *ids = NULL;
    ax_status st = AX_OK;
    for (int attempt = 0; attempt < 2; attempt++) {
        int32_t *grown = realloc(ids, (size_t)capacity * sizeof(int32_t));
        if (grown == NULL) {
            free(ids);
            return PyErr_NoMemory();
        }
        ids = grown;
        n = 0;
        st = ax_llm_tokenize(m, text, (size_t)len, (int)flags, ids, capacity, &n);
        if (st == AX_OK || n <= capacity) break;
        capacity = n;
    }
    if (st != AX_OK) {
        free(ids);
        return axpy_raise_status(st);
    }
    PyObject *list = llm_py_id_list(ids, n);
    free(ids);
    return list;
}

/* Calls a "write up to capacity bytes, report the length needed" function until the buffer fits, and
 * returns the bytes as a Python object made by `make` (bytes or str). */
typedef ax_status (*llm_py_text_fn)(const void *arg, char *text, size_t capacity, size_t *len);

static PyObject *llm_py_text(llm_py_text_fn fn, const void *arg, int as_str) {
    size_t capacity = 256, len = 0;
    char *buf = NULL;
    ax_status st = AX_OK;
    for (int attempt = 0; attempt < 2; attempt++) {
        char *grown = realloc(buf, capacity);
        if (grown == NULL) {
            free(buf);
            return PyErr_NoMemory();
        }
        buf = grown;
        len = 0;
        st = fn(arg, buf, capacity, &len);
        if (st == AX_OK || len < capacity) break;
        capacity = len + 1;
    }
    if (st != AX_OK) {
        free(buf);
        return axpy_raise_status(st);
    }
    PyObject *out = as_str ? PyUnicode_DecodeUTF8(buf, (Py_ssize_t)len, "replace")
                           : PyBytes_FromStringAndSize(buf, (Py_ssize_t)len);
    free(buf);
    return out;
}

typedef struct llm_py_detok_arg {
    const ax_llm_model *model;
    const int32_t *ids;
    int64_t n;
    int flags;
} llm_py_detok_arg;

static ax_status llm_py_detok(const void *arg, char *text, size_t capacity, size_t *len) {
    const llm_py_detok_arg *a = arg;
    return ax_llm_detokenize(a->model, a->ids, a->n, a->flags, text, capacity, len);
}

/* llm_detokenize(model, ids (int32 buffer), flags) -> bytes */
static PyObject *py_llm_detokenize(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (axpy_check_nargs("llm_detokenize", nargs, 3) < 0) return NULL;
    ax_llm_model *m = llm_py_model_from(args[0]);
    int64_t flags;
    if (m == NULL || axpy_int64(args[2], "flags", &flags) < 0) return NULL;
    Py_buffer view;
    llm_py_detok_arg a = {m, NULL, 0, (int)flags};
    if (llm_py_ids_get(args[1], &view, &a.ids, &a.n) < 0) return NULL;
    PyObject *out = llm_py_text(llm_py_detok, &a, 0);
    PyBuffer_Release(&view);
    return out;
}

/* llm_token_is_end(model, id) -> bool */
static PyObject *py_llm_token_is_end(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (axpy_check_nargs("llm_token_is_end", nargs, 2) < 0) return NULL;
    ax_llm_model *m = llm_py_model_from(args[0]);
    int64_t id;
    if (m == NULL || axpy_int64(args[1], "token", &id) < 0) return NULL;
    if (id < INT32_MIN || id > INT32_MAX) Py_RETURN_FALSE;
    return PyBool_FromLong(ax_llm_token_is_end(m, (int32_t)id));
}

typedef struct llm_py_chat_arg {
    const ax_llm_model *model;
    const ax_llm_chat_message *messages;
    int64_t n;
    int add_generation_prompt;
} llm_py_chat_arg;

static ax_status llm_py_chat(const void *arg, char *text, size_t capacity, size_t *len) {
    const llm_py_chat_arg *a = arg;
    return ax_llm_chat_apply(a->model, a->messages, a->n, a->add_generation_prompt, text, capacity, len);
}

/* The messages of a [(role, content), ...] list (malloc'ed; the strings borrowed from the list's
 * items, which outlive the call). NULL with an exception set. */
static ax_llm_chat_message *llm_py_messages(PyObject *list, Py_ssize_t *n) {
    if (!PyList_Check(list)) {
        axpy_raise(AX_ERR_INVALID_ARGUMENT, "messages: expected a list");
        return NULL;
    }
    *n = PyList_Size(list);
    ax_llm_chat_message *msgs = calloc((size_t)(*n > 0 ? *n : 1), sizeof *msgs);
    if (msgs == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    for (Py_ssize_t i = 0; i < *n; i++) {
        PyObject *item = PyList_GetItem(list, i); /* borrowed */
        if (item == NULL || !PyTuple_Check(item) || PyTuple_Size(item) != 2) {
            axpy_raise(AX_ERR_INVALID_ARGUMENT, "messages[%zd]: expected a (role, content) pair", i);
            free(msgs);
            return NULL;
        }
        if (axpy_utf8(PyTuple_GetItem(item, 0), "role", 0, &msgs[i].role) < 0 ||
            axpy_utf8(PyTuple_GetItem(item, 1), "content", 0, &msgs[i].content) < 0) {
            free(msgs);
            return NULL;
        }
    }
    return msgs;
}

/* llm_chat_apply(model, [(role, content), ...], add_generation_prompt) -> str */
static PyObject *py_llm_chat_apply(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (axpy_check_nargs("llm_chat_apply", nargs, 3) < 0) return NULL;
    ax_llm_model *m = llm_py_model_from(args[0]);
    if (m == NULL) return NULL;
    const int add = PyObject_IsTrue(args[2]);
    if (add < 0) return NULL;
    Py_ssize_t n = 0;
    ax_llm_chat_message *msgs = llm_py_messages(args[1], &n);
    if (msgs == NULL) return NULL;
    const llm_py_chat_arg a = {m, msgs, (int64_t)n, add};
    PyObject *out = llm_py_text(llm_py_chat, &a, 1);
    free(msgs);
    return out;
}

/* llm_chat_tokenize(model, [(role, content), ...], add_generation_prompt, flags) -> list of ids */
static PyObject *py_llm_chat_tokenize(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (axpy_check_nargs("llm_chat_tokenize", nargs, 4) < 0) return NULL;
    ax_llm_model *m = llm_py_model_from(args[0]);
    int64_t flags;
    if (m == NULL || axpy_int64(args[3], "flags", &flags) < 0) return NULL;
    const int add = PyObject_IsTrue(args[2]);
    if (add < 0) return NULL;
    Py_ssize_t n = 0;
    ax_llm_chat_message *msgs = llm_py_messages(args[1], &n);
    if (msgs == NULL) return NULL;
    int64_t count = 0;
    ax_status st = ax_llm_chat_tokenize(m, msgs, (int64_t)n, add, (int)flags, NULL, 0, &count);
    int32_t *ids = NULL;
    if (count > 0) { /* counted (a capacity error), then written */
        ids = malloc((size_t)count * sizeof *ids);
        st = ids != NULL ? ax_llm_chat_tokenize(m, msgs, (int64_t)n, add, (int)flags, ids, count, &count)
                         : AX_ERR_OUT_OF_MEMORY;
    }
    free(msgs);
    PyObject *out = NULL;
    if (st == AX_ERR_OUT_OF_MEMORY && ids == NULL) out = PyErr_NoMemory();
    else if (st != AX_OK) out = axpy_raise_status(st);
    else out = llm_py_id_list(ids, count);
    free(ids);
    return out;
}

/* llm_session_create(model, n_ctx, n_batch) -> session capsule */
static PyObject *py_llm_session_create(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (axpy_check_nargs("llm_session_create", nargs, 3) < 0) return NULL;
    ax_llm_model *m = llm_py_model_from(args[0]);
    int64_t n_ctx, n_batch;
    if (m == NULL || axpy_int64(args[1], "n_ctx", &n_ctx) < 0 || axpy_int64(args[2], "n_batch", &n_batch) < 0)
        return NULL;
    if (n_ctx < 0 || n_batch < 0 || n_ctx > INT32_MAX || n_batch > INT32_MAX)
        return axpy_raise(AX_ERR_INVALID_ARGUMENT, "n_ctx/n_batch: %lld/%lld outside [0, 2^31)",
                          (long long)n_ctx, (long long)n_batch);
    ax_llm_model_info info;
    ax_status st = ax_llm_model_get_info(m, &info);
    if (st != AX_OK) return axpy_raise_status(st);
    llm_py_session *s = calloc(1, sizeof *s);
    if (s == NULL) return PyErr_NoMemory();
    s->n_vocab = info.n_vocab;
    if ((s->lock = PyThread_allocate_lock()) == NULL) {
        free(s);
        return PyErr_NoMemory();
    }
    ax_llm_session_config cfg = AX_LLM_SESSION_CONFIG_INIT;
    cfg.n_ctx = (int32_t)n_ctx;
    cfg.n_batch = (int32_t)n_batch;
    Py_BEGIN_ALLOW_THREADS
    st = ax_llm_session_create(m, &cfg, &s->session);
    Py_END_ALLOW_THREADS
    if (st != AX_OK) {
        PyThread_free_lock(s->lock);
        free(s);
        return axpy_raise_status(st);
    }
    Py_INCREF(args[0]);
    s->model = args[0];
    PyObject *capsule = PyCapsule_New(s, LLM_SESSION_CAPSULE, llm_py_session_destructor);
    if (capsule == NULL) {
        ax_llm_session_free(s->session);
        PyThread_free_lock(s->lock);
        Py_DECREF(s->model);
        free(s);
    }
    return capsule;
}

/* llm_session_eval(session, ids (int32 buffer), all_logits) */
static PyObject *py_llm_session_eval(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (axpy_check_nargs("llm_session_eval", nargs, 3) < 0) return NULL;
    llm_py_session *s = llm_py_session_from(args[0]);
    if (s == NULL) return NULL;
    const int all = PyObject_IsTrue(args[2]);
    if (all < 0) return NULL;
    Py_buffer view;
    const int32_t *ids;
    int64_t n;
    if (llm_py_ids_get(args[1], &view, &ids, &n) < 0) return NULL;
    ax_status st;
    Py_BEGIN_ALLOW_THREADS
    PyThread_acquire_lock(s->lock, WAIT_LOCK);
    st = ax_llm_session_eval(s->session, ids, n, all);
    if (st == AX_OK) s->n_logits = all ? n : 1;
    PyThread_release_lock(s->lock);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    if (st != AX_OK) return axpy_raise_status(st);
    Py_RETURN_NONE;
}

/* llm_session_logits(session, first, count, out): copies `count` rows of logits from row `first` of
 * the last eval (first -1 with count 1: the last token's) into `out`, a writable float32 buffer of at
 * least count * n_vocab values. */
static PyObject *py_llm_session_logits(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (axpy_check_nargs("llm_session_logits", nargs, 4) < 0) return NULL;
    llm_py_session *s = llm_py_session_from(args[0]);
    int64_t first, count;
    if (s == NULL || axpy_int64(args[1], "first", &first) < 0 || axpy_int64(args[2], "count", &count) < 0)
        return NULL;
    if (count < 0 || first < -1 || (first == -1 && count > 1) || (first >= 0 && first > INT64_MAX - count))
        return axpy_raise(AX_ERR_INVALID_ARGUMENT, "logits: rows [%lld, +%lld) are not a valid range",
                          (long long)first, (long long)count);
    Py_buffer view;
    if (PyObject_GetBuffer(args[3], &view, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) return NULL;
    const int64_t row_bytes = s->n_vocab * (int64_t)sizeof(float);
    PyObject *result = NULL;
    if (view.itemsize != 4 || view.format == NULL || strcmp(view.format, "f") != 0) {
        axpy_raise(AX_ERR_INVALID_ARGUMENT, "out: format '%s' with %zd-byte items, expected float32 ('f')",
                   view.format != NULL ? view.format : "B", view.itemsize);
        goto done;
    }
    /* count comes from Python: compare by division so the product cannot overflow. */
    if (count > (int64_t)view.len / row_bytes) {
        axpy_raise(AX_ERR_INVALID_ARGUMENT, "out: %zd bytes, need %lld rows of %lld", view.len, (long long)count,
                   (long long)row_bytes);
        goto done;
    }
    /* The rows live in the session until its next eval: read them under its lock. */
    int64_t missing = -2;
    Py_BEGIN_ALLOW_THREADS
    PyThread_acquire_lock(s->lock, WAIT_LOCK);
    /* Every row is looked up before any is copied: a missing one leaves out as it was. */
    for (int64_t r = 0; r < count && missing == -2; r++)
        if (ax_llm_session_logits(s->session, first == -1 ? -1 : first + r) == NULL)
            missing = first == -1 ? -1 : first + r;
    for (int64_t r = 0; r < count && missing == -2; r++)
        memcpy((char *)view.buf + r * row_bytes, ax_llm_session_logits(s->session, first == -1 ? -1 : first + r),
               (size_t)row_bytes);
    PyThread_release_lock(s->lock);
    Py_END_ALLOW_THREADS
    if (missing != -2) {
        axpy_raise(AX_ERR_INVALID_ARGUMENT, "logits: the last eval kept no row %lld (it kept %lld rows)",
                   (long long)missing, (long long)s->n_logits);
        goto done;
    }
    result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&view);
    return result;
}

/* llm_session_sample(session, seed, counter, temperature, top_k, top_p, min_p, repetition_penalty,
 * frequency_penalty, presence_penalty, penalty_last_n) -> (token, probability) */
static PyObject *py_llm_session_sample(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (axpy_check_nargs("llm_session_sample", nargs, 11) < 0) return NULL;
    llm_py_session *s = llm_py_session_from(args[0]);
    uint64_t seed, counter;
    int32_t top_k, last_n;
    if (s == NULL || axpy_uint64(args[1], "seed", &seed) < 0 || axpy_uint64(args[2], "counter", &counter) < 0 ||
        axpy_int32(args[4], "top_k", &top_k) < 0 || axpy_int32(args[10], "penalty_last_n", &last_n) < 0)
        return NULL;
    double f[6];
    const int float_args[6] = {3, 5, 6, 7, 8, 9};
    for (int i = 0; i < 6; i++) {
        f[i] = PyFloat_AsDouble(args[float_args[i]]);
        if (f[i] == -1.0 && PyErr_Occurred()) return NULL;
    }
    ax_sampling_row row = AX_SAMPLING_ROW_INIT;
    row.seed = seed;
    row.counter = counter;
    row.temperature = (float)f[0];
    row.top_k = top_k;
    row.top_p = (float)f[1];
    row.min_p = (float)f[2];
    row.repetition_penalty = (float)f[3];
    row.frequency_penalty = (float)f[4];
    row.presence_penalty = (float)f[5];
    int32_t token = -1;
    float prob = 0.0f;
    ax_status st;
    Py_BEGIN_ALLOW_THREADS
    PyThread_acquire_lock(s->lock, WAIT_LOCK);
    st = ax_llm_session_sample(s->session, &row, last_n, &token, &prob);
    PyThread_release_lock(s->lock);
    Py_END_ALLOW_THREADS
    if (st != AX_OK) return axpy_raise_status(st);
    return Py_BuildValue("(id)", (int)token, (double)prob);
}

/* llm_session_position(session) -> int */
static PyObject *py_llm_session_position(PyObject *self, PyObject *capsule) {
    llm_py_session *s = llm_py_session_from(capsule);
    if (s == NULL) return NULL;
    int64_t pos;
    Py_BEGIN_ALLOW_THREADS
    PyThread_acquire_lock(s->lock, WAIT_LOCK);
    pos = ax_llm_session_position(s->session);
    PyThread_release_lock(s->lock);
    Py_END_ALLOW_THREADS
    return PyLong_FromLongLong((long long)pos);
}

/* llm_session_rewind(session, position) */
static PyObject *py_llm_session_rewind(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (axpy_check_nargs("llm_session_rewind", nargs, 2) < 0) return NULL;
    llm_py_session *s = llm_py_session_from(args[0]);
    int64_t pos;
    if (s == NULL || axpy_int64(args[1], "position", &pos) < 0) return NULL;
    ax_status st;
    Py_BEGIN_ALLOW_THREADS
    PyThread_acquire_lock(s->lock, WAIT_LOCK);
    st = ax_llm_session_rewind(s->session, pos);
    PyThread_release_lock(s->lock);
    Py_END_ALLOW_THREADS
    if (st != AX_OK) return axpy_raise_status(st);
    Py_RETURN_NONE;
}

PyMethodDef axpy_llm_methods[] = {
    {"llm_load", (PyCFunction)(void (*)(void))py_llm_load, METH_FASTCALL,
     "llm_load(path, device_type, device_id, threads) -> model capsule (ax_llm_model_load)"},
    {"llm_info", py_llm_info, METH_O, "llm_info(model) -> dict (ax_llm_model_get_info)"},
    {"llm_tokenize", (PyCFunction)(void (*)(void))py_llm_tokenize, METH_FASTCALL,
     "llm_tokenize(model, text, flags) -> list of token ids (ax_llm_tokenize)"},
    {"llm_detokenize", (PyCFunction)(void (*)(void))py_llm_detokenize, METH_FASTCALL,
     "llm_detokenize(model, ids_int32, flags) -> bytes (ax_llm_detokenize)"},
    {"llm_token_is_end", (PyCFunction)(void (*)(void))py_llm_token_is_end, METH_FASTCALL,
     "llm_token_is_end(model, token) -> bool (ax_llm_token_is_end)"},
    {"llm_chat_apply", (PyCFunction)(void (*)(void))py_llm_chat_apply, METH_FASTCALL,
     "llm_chat_apply(model, [(role, content), ...], add_generation_prompt) -> str (ax_llm_chat_apply)"},
    {"llm_chat_tokenize", (PyCFunction)(void (*)(void))py_llm_chat_tokenize, METH_FASTCALL,
     "llm_chat_tokenize(model, [(role, content), ...], add_generation_prompt, flags) -> list of token ids "
     "(ax_llm_chat_tokenize)"},
    {"llm_session_create", (PyCFunction)(void (*)(void))py_llm_session_create, METH_FASTCALL,
     "llm_session_create(model, n_ctx, n_batch) -> session capsule (ax_llm_session_create)"},
    {"llm_session_eval", (PyCFunction)(void (*)(void))py_llm_session_eval, METH_FASTCALL,
     "llm_session_eval(session, ids_int32, all_logits) (ax_llm_session_eval; releases the GIL)"},
    {"llm_session_logits", (PyCFunction)(void (*)(void))py_llm_session_logits, METH_FASTCALL,
     "llm_session_logits(session, first, count, out_float32): copies rows of the last eval's logits"},
    {"llm_session_sample", (PyCFunction)(void (*)(void))py_llm_session_sample, METH_FASTCALL,
     "llm_session_sample(session, seed, counter, temperature, top_k, top_p, min_p, repetition_penalty, "
     "frequency_penalty, presence_penalty, penalty_last_n) -> (token, probability)"},
    {"llm_session_position", py_llm_session_position, METH_O, "llm_session_position(session) -> int"},
    {"llm_session_rewind", (PyCFunction)(void (*)(void))py_llm_session_rewind, METH_FASTCALL,
     "llm_session_rewind(session, position): forgets the tokens from position on"},
    {NULL, NULL, 0, NULL}};
