/*
 * io.c — the data pipeline for Python: parsers to chain features, the HDF5 feature store, training
 * batches and figures (features.h, store.h, figures.h, io.h). Features, stores and batches are
 * capsules owning the C objects; their arrays reach NumPy through DLPack without copies (the Python
 * layer keeps the capsule alive). File and HDF5 work runs with the GIL released; HDF5 calls are
 * serialised by one lock because Debian's HDF5 is not thread-safe.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

#include "axial/features.h"
#include "axial/figures.h"
#include "axial/io.h"
#include "axial/store.h"
#include "bindings.h"

#define FEATURES_CAPSULE "axial._axial.features"
#define STORE_CAPSULE "axial._axial.store"
#define BATCH_CAPSULE "axial._axial.batch"

#define HDF5_BEGIN                                                                                      \
    Py_BEGIN_ALLOW_THREADS                                                                              \
    PyThread_acquire_lock(axpy_hdf5_lock, WAIT_LOCK);
#define HDF5_END                                                                                        \
    PyThread_release_lock(axpy_hdf5_lock);                                                              \
    Py_END_ALLOW_THREADS

/* ---- capsules ---------------------------------------------------------------------------------- */

static void features_destructor(PyObject *capsule) {
    ax_chain_features_destroy(PyCapsule_GetPointer(capsule, FEATURES_CAPSULE));
}

static void batch_destructor(PyObject *capsule) {
    ax_feature_batch_destroy(PyCapsule_GetPointer(capsule, BATCH_CAPSULE));
}

static void store_destructor(PyObject *capsule) {
    ax_store *store = PyCapsule_GetPointer(capsule, STORE_CAPSULE);
    if (store == NULL) return;
    HDF5_BEGIN
    ax_store_close(store);
    HDF5_END
}

static PyObject *wrap_features(ax_chain_features *f) {
    PyObject *capsule = PyCapsule_New(f, FEATURES_CAPSULE, features_destructor);
    if (capsule == NULL) ax_chain_features_destroy(f);
    return capsule;
}

static void *unwrap(PyObject *capsule, const char *capsule_name, const char *what) {
    void *p = PyCapsule_IsValid(capsule, capsule_name) ? PyCapsule_GetPointer(capsule, capsule_name) : NULL;
    if (p == NULL) axpy_raise(AX_ERR_INVALID_ARGUMENT, "%s: expected %s", what, capsule_name);
    return p;
}

/* (data_ptr, dtype, shape) for the Python layer to wrap with DLPack, or None when data is NULL. */
static PyObject *array_entry(const void *data, ax_dtype dtype, int ndim, int64_t d0, int64_t d1, int64_t d2) {
    if (data == NULL) Py_RETURN_NONE;
    PyObject *shape = ndim == 1 ? Py_BuildValue("(L)", (long long)d0)
                      : ndim == 2 ? Py_BuildValue("(LL)", (long long)d0, (long long)d1)
                                  : Py_BuildValue("(LLL)", (long long)d0, (long long)d1, (long long)d2);
    if (shape == NULL) return NULL;
    return Py_BuildValue("(NiN)", PyLong_FromVoidPtr((void *)data), (int)dtype, shape);
}

static int put(PyObject *dict, const char *key, PyObject *value) {
    if (value == NULL) return -1;
    const int rc = PyDict_SetItemString(dict, key, value);
    Py_DECREF(value);
    return rc;
}

/* ---- features ---------------------------------------------------------------------------------- */

/* As `axial features build`: the chain named, or the first protein chain (DNA/RNA are skipped). */
static const ax_chain *pick_chain(const ax_structure *s, const char *chain_id) {
    for (int64_t c = 0; c < s->num_chains; c++) {
        const ax_chain *ch = &s->chains[c];
        if (chain_id != NULL ? strcmp(ch->id, chain_id) == 0 : ch->polymer_type == AX_POLYMER_PROTEIN) return ch;
    }
    return NULL;
}

/* The (kind, path) pairs of features_build's MSA list, as C strings owned by `*pairs` (a tuple copy
 * of the list, so no other thread can change it while the GIL is released). Returns -1 with an
 * exception set. */
static int msa_list_get(PyObject *list, PyObject **pairs, Py_ssize_t *count, const char ***kinds,
                        const char ***paths) {
    *pairs = PySequence_Tuple(list);
    if (*pairs == NULL) return -1;
    const Py_ssize_t n = PyTuple_Size(*pairs);
    *kinds = PyMem_Calloc((size_t)n + 1, sizeof **kinds);
    *paths = PyMem_Calloc((size_t)n + 1, sizeof **paths);
    if (*kinds == NULL || *paths == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *pair = PyTuple_GetItem(*pairs, i);
        if (pair == NULL || !PyTuple_Check(pair) || PyTuple_Size(pair) != 2) {
            axpy_raise(AX_ERR_INVALID_ARGUMENT, "msas[%zd]: expected a (kind, path) pair", i);
            return -1;
        }
        if (axpy_utf8(PyTuple_GetItem(pair, 0), "msa kind", 0, &(*kinds)[i]) < 0 ||
            axpy_utf8(PyTuple_GetItem(pair, 1), "msa path", 0, &(*paths)[i]) < 0)
            return -1;
    }
    *count = n;
    return 0;
}

/* features_build(msas, structure_kind, structure_path, chain_id, fasta_path, dedup)
 *   -> (features capsule, chain id or None). msas: list of (kind, path), kind "a3m" or "sto", merged
 * in order by ax_chain_features_from_msas (duplicate rows dropped when dedup is true); structure
 * kind "mmcif"/"pdb"; None where absent. */
static PyObject *py_features_build(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (axpy_check_nargs("features_build", nargs, 6) < 0) return NULL;
    const char *structure_kind, *structure_path, *chain_id, *fasta_path;
    if (axpy_utf8(args[1], "structure_kind", 1, &structure_kind) < 0 ||
        axpy_utf8(args[2], "structure", 1, &structure_path) < 0 || axpy_utf8(args[3], "chain", 1, &chain_id) < 0 ||
        axpy_utf8(args[4], "fasta", 1, &fasta_path) < 0)
        return NULL;
    const int dedup = PyObject_IsTrue(args[5]);
    if (dedup < 0) return NULL;
    PyObject *pairs = NULL;
    const char **msa_kinds = NULL, **msa_paths = NULL;
    Py_ssize_t num_msas = 0;
    ax_msa **msas = NULL;
    if (msa_list_get(args[0], &pairs, &num_msas, &msa_kinds, &msa_paths) < 0 ||
        (msas = PyMem_Calloc((size_t)num_msas + 1, sizeof *msas)) == NULL) {
        if (!PyErr_Occurred()) PyErr_NoMemory();
        Py_XDECREF(pairs);
        PyMem_Free(msa_kinds);
        PyMem_Free(msa_paths);
        return NULL;
    }
    if (structure_path != NULL && structure_kind == NULL) {
        Py_DECREF(pairs);
        PyMem_Free(msa_kinds);
        PyMem_Free(msa_paths);
        PyMem_Free(msas);
        return axpy_raise(AX_ERR_INVALID_ARGUMENT, "structure_kind: None with a structure path (\"pdb\" or \"mmcif\")");
    }
    if (num_msas == 0 && structure_path == NULL && fasta_path == NULL) {
        Py_DECREF(pairs);
        PyMem_Free(msa_kinds);
        PyMem_Free(msa_paths);
        PyMem_Free(msas);
        return axpy_raise(AX_ERR_INVALID_ARGUMENT, "build_features: needs an MSA (a3m/sto), a FASTA or a structure");
    }
    ax_chain_features_config features_cfg = AX_CHAIN_FEATURES_CONFIG_INIT;
    features_cfg.keep_duplicate_rows = !dedup;
    ax_structure *st = NULL;
    ax_fasta *fa = NULL;
    ax_chain_features *features = NULL;
    ax_status status = AX_OK;
    int missing_chain = 0, empty_fasta = 0;
    char found_chain[AX_STRUCTURE_ID_CAP] = "";
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t m = 0; m < num_msas && status == AX_OK; m++)
        status = strcmp(msa_kinds[m], "sto") == 0 ? ax_stockholm_read(msa_paths[m], &msas[m])
                                                  : ax_a3m_read(msa_paths[m], &msas[m]);
    if (status == AX_OK && structure_path != NULL) {
        status = strcmp(structure_kind, "pdb") == 0 ? ax_pdb_read(structure_path, &st)
                                                    : ax_mmcif_read(structure_path, &st);
        if (status == AX_OK) {
            const ax_chain *chain = pick_chain(st, chain_id);
            if (chain == NULL) {
                missing_chain = 1;
            } else {
                memcpy(found_chain, chain->id, sizeof found_chain);
                status = ax_chain_features_from_msas((const ax_msa *const *)msas, num_msas, chain, st->resolution,
                                                     &features_cfg, &features);
            }
        }
    } else if (status == AX_OK && num_msas > 0) {
        status = ax_chain_features_from_msas((const ax_msa *const *)msas, num_msas, NULL, 0.0, &features_cfg,
                                             &features);
    } else if (status == AX_OK) {
        status = ax_fasta_read(fasta_path, &fa);
        if (status == AX_OK && fa->num_records == 0) empty_fasta = 1;
        else if (status == AX_OK) status = ax_chain_features_from_sequence(fa->sequences[0], &features);
    }
    Py_END_ALLOW_THREADS
    for (Py_ssize_t m = 0; m < num_msas; m++) ax_msa_destroy(msas[m]);
    PyMem_Free(msas);
    PyMem_Free(msa_kinds);
    PyMem_Free(msa_paths);
    Py_DECREF(pairs);
    ax_structure_destroy(st);
    ax_fasta_destroy(fa);
    if (missing_chain) {
        if (chain_id != NULL)
            return axpy_raise(AX_ERR_INVALID_ARGUMENT, "chain: %s has no chain '%s'", structure_path, chain_id);
        return axpy_raise(AX_ERR_INVALID_ARGUMENT, "chain: %s has no protein chain", structure_path);
    }
    if (empty_fasta) return axpy_raise(AX_ERR_INVALID_ARGUMENT, "fasta: %s has no records", fasta_path);
    if (status != AX_OK) return axpy_raise_status(status);
    PyObject *capsule = wrap_features(features);
    if (capsule == NULL) return NULL;
    if (found_chain[0] == '\0') return Py_BuildValue("(NO)", capsule, Py_None);
    return Py_BuildValue("(Ns)", capsule, found_chain);
}

/* features_from_sequence(sequence) -> features capsule */
static PyObject *py_features_from_sequence(PyObject *self, PyObject *sequence_obj) {
    const char *sequence;
    if (axpy_utf8(sequence_obj, "sequence", 0, &sequence) < 0) return NULL;
    ax_chain_features *f = NULL;
    const ax_status st = ax_chain_features_from_sequence(sequence, &f);
    if (st != AX_OK) return axpy_raise_status(st);
    return wrap_features(f);
}

/* features_arrays(features) -> dict of arrays as (data_ptr, dtype, shape) and scalars. */
static PyObject *py_features_arrays(PyObject *self, PyObject *capsule) {
    const ax_chain_features *f = unwrap(capsule, FEATURES_CAPSULE, "features");
    if (f == NULL) return NULL;
    const int64_t L = f->seq_length, N = f->num_alignments;
    PyObject *d = PyDict_New();
    if (d == NULL) return NULL;
    if (put(d, "sequence", PyUnicode_FromString(f->sequence)) < 0 ||
        put(d, "seq_length", PyLong_FromLongLong(L)) < 0 || put(d, "num_alignments", PyLong_FromLongLong(N)) < 0 ||
        put(d, "aatype", array_entry(f->aatype, AX_I32, 1, L, 0, 0)) < 0 ||
        put(d, "residue_index", array_entry(f->residue_index, AX_I32, 1, L, 0, 0)) < 0 ||
        put(d, "msa", array_entry(f->msa, AX_I32, 2, N, L, 0)) < 0 ||
        put(d, "deletion_matrix", array_entry(f->deletion_matrix, AX_I32, 2, N, L, 0)) < 0 ||
        put(d, "all_atom_positions", array_entry(f->all_atom_positions, AX_F32, 3, L, AX_ATOM37_COUNT, 3)) < 0 ||
        put(d, "all_atom_mask", array_entry(f->all_atom_mask, AX_F32, 2, L, AX_ATOM37_COUNT, 0)) < 0 ||
        put(d, "resolution", PyFloat_FromDouble(f->resolution)) < 0) {
        Py_DECREF(d);
        return NULL;
    }
    return d;
}

/* Copies a borrowed array into `dst` after checking dtype, shape and contiguity. */
static int copy_checked(const axpy_array *a, const char *name, ax_dtype dtype, int ndim, const int64_t *shape,
                        void *dst) {
    const ax_tensor *t = &a->tensor;
    if (t->device.type != AX_CPU) {
        axpy_raise(AX_ERR_INVALID_ARGUMENT, "%s: must be in host memory", name);
        return -1;
    }
    if (t->dtype != dtype) {
        axpy_raise(AX_ERR_INVALID_ARGUMENT, "%s: dtype is %s, expected %s", name, ax_dtype_name(t->dtype),
                   ax_dtype_name(dtype));
        return -1;
    }
    if (t->ndim != ndim) {
        axpy_raise(AX_ERR_INVALID_ARGUMENT, "%s: expected %d dims, got %d", name, ndim, (int)t->ndim);
        return -1;
    }
    for (int d = 0; d < ndim; d++) {
        if (t->shape[d] != shape[d]) {
            axpy_raise(AX_ERR_INVALID_ARGUMENT, "%s: dim %d is %lld, expected %lld", name, d, (long long)t->shape[d],
                       (long long)shape[d]);
            return -1;
        }
    }
    if (!ax_tensor_is_contiguous(t)) {
        axpy_raise(AX_ERR_INVALID_ARGUMENT, "%s: must be C-contiguous", name);
        return -1;
    }
    memcpy(dst, t->data, (size_t)ax_tensor_numel(t) * ax_dtype_size(dtype));
    return 0;
}

/* features_from_arrays(sequence, aatype, residue_index, msa, deletion_matrix, all_atom_positions,
 *                      all_atom_mask, resolution) -> features capsule (a copy; values are validated
 * by the functions that use the features). */
static PyObject *py_features_from_arrays(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (axpy_check_nargs("features_from_arrays", nargs, 8) < 0) return NULL;
    const char *sequence;
    if (axpy_utf8(args[0], "sequence", 0, &sequence) < 0) return NULL;
    const double resolution = PyFloat_AsDouble(args[7]);
    if (resolution == -1.0 && PyErr_Occurred()) return NULL;
    static const char *const names[] = {"aatype", "residue_index", "msa", "deletion_matrix", "all_atom_positions",
                                        "all_atom_mask"};
    axpy_array arrays[6];
    memset(arrays, 0, sizeof arrays);
    ax_chain_features *f = NULL;
    PyObject *result = NULL;
    const int with_structure = args[5] != Py_None;
    if ((args[5] == Py_None) != (args[6] == Py_None)) {
        axpy_raise(AX_ERR_INVALID_ARGUMENT, "all_atom_positions and all_atom_mask: give both or neither");
        goto done;
    }
    for (int i = 0; i < (with_structure ? 6 : 4); i++)
        if (axpy_array_get(args[1 + i], names[i], 0, Py_None, &arrays[i]) < 0) goto done;
    const int64_t L = (int64_t)strlen(sequence);
    const int64_t N = arrays[2].tensor.ndim == 2 ? arrays[2].tensor.shape[0] : 0;
    ax_status st = ax_chain_features_alloc(L, N, with_structure, &f);
    if (st != AX_OK) {
        axpy_raise_status(st);
        goto done;
    }
    const int64_t s_l[1] = {L}, s_nl[2] = {N, L}, s_pos[3] = {L, AX_ATOM37_COUNT, 3}, s_mask[2] = {L, AX_ATOM37_COUNT};
    memcpy(f->sequence, sequence, (size_t)L + 1);
    if (copy_checked(&arrays[0], names[0], AX_I32, 1, s_l, f->aatype) < 0 ||
        copy_checked(&arrays[1], names[1], AX_I32, 1, s_l, f->residue_index) < 0 ||
        copy_checked(&arrays[2], names[2], AX_I32, 2, s_nl, f->msa) < 0 ||
        copy_checked(&arrays[3], names[3], AX_I32, 2, s_nl, f->deletion_matrix) < 0)
        goto done;
    if (with_structure && (copy_checked(&arrays[4], names[4], AX_F32, 3, s_pos, f->all_atom_positions) < 0 ||
                           copy_checked(&arrays[5], names[5], AX_F32, 2, s_mask, f->all_atom_mask) < 0))
        goto done;
    f->resolution = with_structure ? resolution : 0.0;
    result = wrap_features(f);
    f = NULL;
done:
    for (int i = 0; i < 6; i++) axpy_array_release(&arrays[i]);
    ax_chain_features_destroy(f);
    return result;
}

/* ---- store ------------------------------------------------------------------------------------- */

/* store_write(path, append, entries, compress_msa): entries is a list of (name, features capsule,
 * sources or None); all chains are added in one atomic write; compress_msa is the deflate level of
 * their MSA arrays (0 = uncompressed, see ax_store_writer_set_msa_compression). */
static PyObject *py_store_write(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (axpy_check_nargs("store_write", nargs, 4) < 0) return NULL;
    const char *path;
    if (axpy_utf8(args[0], "store", 0, &path) < 0) return NULL;
    const int append = PyObject_IsTrue(args[1]);
    if (append < 0) return NULL;
    int64_t level; /* an InvalidArgumentError for 1.5, as the docstring says (a bare TypeError before) */
    if (axpy_int64(args[3], "compress_msa", &level) < 0) return NULL;
    /* The C call names the argument `level`; Python callers know it as compress_msa. */
    if (level < 0 || level > 9)
        return axpy_raise(AX_ERR_INVALID_ARGUMENT, "compress_msa: %lld is not a deflate level (0 = off, 1..9)",
                          (long long)level);
    if (!PyList_Check(args[2])) return axpy_raise(AX_ERR_INVALID_ARGUMENT, "entries: expected a list");
    /* A tuple snapshot holds every entry (and through it the names, capsules and sources) while the
     * GIL is released below: another thread may change the caller's list meanwhile. */
    PyObject *entries = PySequence_Tuple(args[2]);
    if (entries == NULL) return NULL;
    const Py_ssize_t n = PyTuple_Size(entries);
    const char **names = calloc((size_t)n + 1, sizeof *names), **sources = calloc((size_t)n + 1, sizeof *sources);
    const ax_chain_features **features = calloc((size_t)n + 1, sizeof *features);
    PyObject *result = NULL;
    if (names == NULL || sources == NULL || features == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *e = PyTuple_GetItem(entries, i);
        if (!PyTuple_Check(e) || PyTuple_Size(e) != 3) {
            axpy_raise(AX_ERR_INVALID_ARGUMENT, "entries[%zd]: expected (name, features, sources)", i);
            goto done;
        }
        if (axpy_utf8(PyTuple_GetItem(e, 0), "name", 0, &names[i]) < 0 ||
            (features[i] = unwrap(PyTuple_GetItem(e, 1), FEATURES_CAPSULE, "features")) == NULL ||
            axpy_utf8(PyTuple_GetItem(e, 2), "sources", 1, &sources[i]) < 0)
            goto done;
    }
    ax_status st;
    HDF5_BEGIN
    ax_store_writer *writer = NULL;
    st = ax_store_begin(path, append, &writer);
    if (st == AX_OK && level > 0) st = ax_store_writer_set_msa_compression(writer, (int)level);
    for (Py_ssize_t i = 0; st == AX_OK && i < n; i++) st = ax_store_add_chain(writer, names[i], features[i], sources[i]);
    if (st == AX_OK) st = ax_store_commit(writer);
    else ax_store_abort(writer);
    HDF5_END
    if (st != AX_OK) {
        axpy_raise_status(st);
        goto done;
    }
    Py_INCREF(Py_None);
    result = Py_None;
done:
    Py_DECREF(entries);
    free(names);
    free(sources);
    free((void *)features);
    return result;
}

static PyObject *py_store_open(PyObject *self, PyObject *path_obj) {
    const char *path;
    if (axpy_utf8(path_obj, "store", 0, &path) < 0) return NULL;
    ax_store *store = NULL;
    ax_status st;
    HDF5_BEGIN
    st = ax_store_open(path, &store);
    HDF5_END
    if (st != AX_OK) return axpy_raise_status(st);
    PyObject *capsule = PyCapsule_New(store, STORE_CAPSULE, store_destructor);
    if (capsule == NULL) ax_store_close(store);
    return capsule;
}

static PyObject *py_store_chains(PyObject *self, PyObject *capsule) {
    const ax_store *store = unwrap(capsule, STORE_CAPSULE, "store");
    if (store == NULL) return NULL;
    const int64_t n = ax_store_num_chains(store);
    PyObject *list = PyList_New((Py_ssize_t)n);
    for (int64_t i = 0; list != NULL && i < n; i++) {
        PyObject *name = PyUnicode_FromString(ax_store_chain_name(store, i));
        if (name == NULL) {
            Py_CLEAR(list);
            break;
        }
        PyList_SetItem(list, (Py_ssize_t)i, name);
    }
    return list;
}

/* store_chain_info(store, name) -> dict */
static PyObject *py_store_chain_info(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (axpy_check_nargs("store_chain_info", nargs, 2) < 0) return NULL;
    ax_store *store = unwrap(args[0], STORE_CAPSULE, "store");
    const char *name;
    if (store == NULL || axpy_utf8(args[1], "name", 0, &name) < 0) return NULL;
    ax_store_chain_info info;
    ax_status st;
    HDF5_BEGIN
    st = ax_store_chain_info_get(store, name, &info);
    HDF5_END
    if (st != AX_OK) return axpy_raise_status(st);
    return Py_BuildValue("{s:s,s:L,s:L,s:O,s:d,s:s}", "name", name, "seq_length", (long long)info.seq_length,
                         "num_alignments", (long long)info.num_alignments, "has_structure",
                         info.has_structure ? Py_True : Py_False, "resolution", info.resolution, "sources",
                         info.sources);
}

/* store_read_chain(store, name) -> features capsule */
static PyObject *py_store_read_chain(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (axpy_check_nargs("store_read_chain", nargs, 2) < 0) return NULL;
    ax_store *store = unwrap(args[0], STORE_CAPSULE, "store");
    const char *name;
    if (store == NULL || axpy_utf8(args[1], "name", 0, &name) < 0) return NULL;
    ax_chain_features *f = NULL;
    ax_status st;
    HDF5_BEGIN
    st = ax_store_read_chain(store, name, &f);
    HDF5_END
    if (st != AX_OK) return axpy_raise_status(st);
    return wrap_features(f);
}

/* ---- batches ----------------------------------------------------------------------------------- */

/* The batch configuration from args[0..7]: seed, crop_size, max_msa_clusters, max_extra_msa,
 * masked_msa_fraction, uniform_prob, profile_prob, same_prob. -1 with a Python error set. */
static int batch_config(PyObject *const *args, ax_feature_batch_config *cfg) {
    *cfg = (ax_feature_batch_config)AX_FEATURE_BATCH_CONFIG_INIT;
    /* In [0, 2**64) (a mask had taken -1 as 2**64 - 1 and 2**70 as 0), as sample's and the LLM's */
    uint64_t seed;
    if (axpy_uint64(args[0], "seed", &seed) < 0) return -1;
    cfg->seed = seed;
    if (axpy_int64(args[1], "crop", &cfg->crop_size) < 0 || axpy_int64(args[2], "msa_clusters", &cfg->max_msa_clusters) < 0 ||
        axpy_int64(args[3], "extra_msa", &cfg->max_extra_msa) < 0)
        return -1;
    float *probs[4] = {&cfg->masked_msa_fraction, &cfg->masked_msa_uniform_prob, &cfg->masked_msa_profile_prob,
                       &cfg->masked_msa_same_prob};
    for (int i = 0; i < 4; i++) {
        const double p = PyFloat_AsDouble(args[4 + i]);
        if (p == -1.0 && PyErr_Occurred()) return -1;
        *probs[i] = (float)p;
    }
    return 0;
}

static PyObject *wrap_batch(ax_feature_batch *batch) {
    PyObject *capsule = PyCapsule_New(batch, BATCH_CAPSULE, batch_destructor);
    if (capsule == NULL) ax_feature_batch_destroy(batch);
    return capsule;
}

/* batch_create(features, seed, crop_size, max_msa_clusters, max_extra_msa, masked_msa_fraction,
 *              uniform_prob, profile_prob, same_prob) -> batch capsule */
static PyObject *py_batch_create(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (axpy_check_nargs("batch_create", nargs, 9) < 0) return NULL;
    const ax_chain_features *f = unwrap(args[0], FEATURES_CAPSULE, "features");
    ax_feature_batch_config cfg;
    if (f == NULL || batch_config(args + 1, &cfg) < 0) return NULL;
    ax_feature_batch *batch = NULL;
    ax_status st;
    Py_BEGIN_ALLOW_THREADS
    st = ax_feature_batch_create(f, &cfg, &batch);
    Py_END_ALLOW_THREADS
    if (st != AX_OK) return axpy_raise_status(st);
    return wrap_batch(batch);
}

/* store_read_batch(store, name, seed, crop_size, max_msa_clusters, max_extra_msa,
 *                  masked_msa_fraction, uniform_prob, profile_prob, same_prob) -> batch capsule.
 * The batch batch_create makes from store_read_chain's features, reading only the crop's MSA
 * columns (ax_store_read_batch). */
static PyObject *py_store_read_batch(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (axpy_check_nargs("store_read_batch", nargs, 10) < 0) return NULL;
    ax_store *store = unwrap(args[0], STORE_CAPSULE, "store");
    const char *name;
    ax_feature_batch_config cfg;
    if (store == NULL || axpy_utf8(args[1], "name", 0, &name) < 0 || batch_config(args + 2, &cfg) < 0) return NULL;
    ax_feature_batch *batch = NULL;
    ax_status st;
    HDF5_BEGIN
    st = ax_store_read_batch(store, name, &cfg, &batch);
    HDF5_END
    if (st != AX_OK) return axpy_raise_status(st);
    return wrap_batch(batch);
}

static PyObject *tensor_entry(const ax_tensor *t) {
    if (t->ndim == 0 && t->data == NULL) Py_RETURN_NONE;
    PyObject *shape = PyTuple_New(t->ndim);
    if (shape == NULL) return NULL;
    for (int d = 0; d < t->ndim; d++) {
        PyObject *v = PyLong_FromLongLong(t->shape[d]);
        if (v == NULL || PyTuple_SetItem(shape, d, v) < 0) { /* SetItem steals v, even on failure */
            Py_DECREF(shape);
            return NULL;
        }
    }
    PyObject *ptr = PyLong_FromVoidPtr(t->data);
    if (ptr == NULL) {
        Py_DECREF(shape);
        return NULL;
    }
    return Py_BuildValue("(NiN)", ptr, (int)t->dtype, shape);
}

/* batch_arrays(batch) -> dict of tensors as (data_ptr or 0, dtype, shape) and scalars. */
static PyObject *py_batch_arrays(PyObject *self, PyObject *capsule) {
    const ax_feature_batch *b = unwrap(capsule, BATCH_CAPSULE, "batch");
    if (b == NULL) return NULL;
    PyObject *d = PyDict_New();
    if (d == NULL) return NULL;
    const struct { const char *name; const ax_tensor *t; } tensors[] = {
        {"aatype", &b->aatype},
        {"residue_index", &b->residue_index},
        {"target_feat", &b->target_feat},
        {"msa", &b->msa},
        {"true_msa", &b->true_msa},
        {"bert_mask", &b->bert_mask},
        {"deletion_matrix", &b->deletion_matrix},
        {"cluster_profile", &b->cluster_profile},
        {"cluster_deletion_mean", &b->cluster_deletion_mean},
        {"msa_feat", &b->msa_feat},
        {"extra_msa", &b->extra_msa},
        {"extra_has_deletion", &b->extra_has_deletion},
        {"extra_deletion_value", &b->extra_deletion_value},
        {"msa_row", &b->msa_row},
        {"cluster_assignment", &b->cluster_assignment},
        {"all_atom_positions", &b->all_atom_positions},
        {"all_atom_mask", &b->all_atom_mask}};
    for (size_t i = 0; i < sizeof tensors / sizeof tensors[0]; i++) {
        if (put(d, tensors[i].name, tensor_entry(tensors[i].t)) < 0) goto fail;
    }
    if (put(d, "num_res", PyLong_FromLongLong(b->num_res)) < 0 ||
        put(d, "crop_start", PyLong_FromLongLong(b->crop_start)) < 0 ||
        put(d, "num_clusters", PyLong_FromLongLong(b->num_clusters)) < 0 ||
        put(d, "num_extra", PyLong_FromLongLong(b->num_extra)) < 0 ||
        put(d, "num_remaining", PyLong_FromLongLong(b->num_remaining)) < 0)
        goto fail;
    return d;
fail:
    Py_DECREF(d);
    return NULL;
}

/* ---- figures ----------------------------------------------------------------------------------- */

/* Borrows a writable, contiguous float32 array of exactly `count` elements. */
static int float_out(PyObject *obj, const char *name, int64_t count, axpy_array *out) {
    if (axpy_array_get(obj, name, AXPY_WRITABLE, Py_None, out) < 0) return -1;
    if (out->tensor.device.type != AX_CPU || out->tensor.dtype != AX_F32 || !ax_tensor_is_contiguous(&out->tensor) ||
        ax_tensor_numel(&out->tensor) != count) {
        axpy_array_release(out);
        axpy_raise(AX_ERR_INVALID_ARGUMENT, "%s: expected a contiguous float32 host array of %lld elements", name,
                   (long long)count);
        return -1;
    }
    return 0;
}

/* feature_map(kind, features, cutoff, out): kind 0 = MSA identity, 1 = CA distances, 2 = contacts. */
static PyObject *py_feature_map(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (axpy_check_nargs("feature_map", nargs, 4) < 0) return NULL;
    int64_t kind;
    if (axpy_int64(args[0], "kind", &kind) < 0) return NULL;
    const ax_chain_features *f = unwrap(args[1], FEATURES_CAPSULE, "features");
    if (f == NULL) return NULL;
    const double cutoff = PyFloat_AsDouble(args[2]);
    if (cutoff == -1.0 && PyErr_Occurred()) return NULL;
    const int64_t rows = kind == 0 ? f->num_alignments : f->seq_length;
    axpy_array out;
    if (float_out(args[3], "out", rows * f->seq_length, &out) < 0) return NULL;
    float *values = out.tensor.data;
    ax_status st;
    Py_BEGIN_ALLOW_THREADS
    st = kind == 0 ? ax_msa_identity_map(f, values)
         : kind == 1 ? ax_ca_distance_map(f, values)
                     : ax_contact_map(f, (float)cutoff, values);
    Py_END_ALLOW_THREADS
    axpy_array_release(&out);
    if (st != AX_OK) return axpy_raise_status(st);
    Py_RETURN_NONE;
}

/* A read-only contiguous float32 2-D host array. */
static int float_matrix(PyObject *obj, const char *name, axpy_array *out) {
    if (axpy_array_get(obj, name, 0, Py_None, out) < 0) return -1;
    const ax_tensor *t = &out->tensor;
    if (t->device.type != AX_CPU || t->dtype != AX_F32 || t->ndim != 2 || !ax_tensor_is_contiguous(t)) {
        axpy_array_release(out);
        axpy_raise(AX_ERR_INVALID_ARGUMENT, "%s: expected a contiguous 2-D float32 host array", name);
        return -1;
    }
    return 0;
}

/* png_write_heatmap(path, values, vmin, vmax, cmap) */
static PyObject *py_png_write_heatmap(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (axpy_check_nargs("png_write_heatmap", nargs, 5) < 0) return NULL;
    const char *path;
    int64_t cmap;
    if (axpy_utf8(args[0], "path", 0, &path) < 0 || axpy_int64(args[4], "cmap", &cmap) < 0) return NULL;
    const double vmin = PyFloat_AsDouble(args[2]), vmax = PyFloat_AsDouble(args[3]);
    if (PyErr_Occurred()) return NULL;
    axpy_array values;
    if (float_matrix(args[1], "values", &values) < 0) return NULL;
    ax_status st;
    Py_BEGIN_ALLOW_THREADS
    st = ax_png_write_heatmap(path, values.tensor.data, values.tensor.shape[0], values.tensor.shape[1], (float)vmin,
                              (float)vmax, (ax_colormap)cmap);
    Py_END_ALLOW_THREADS
    axpy_array_release(&values);
    if (st != AX_OK) return axpy_raise_status(st);
    Py_RETURN_NONE;
}

/* png_write_figure(path, values, vmin, vmax, cmap, title, x_label, y_label, value_label, x_first, y_first):
 * the annotated figure (ax_png_write_figure); each label may be None. */
static PyObject *py_png_write_figure(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (axpy_check_nargs("png_write_figure", nargs, 11) < 0) return NULL;
    const char *path;
    int64_t cmap;
    ax_figure_config cfg = AX_FIGURE_CONFIG_INIT;
    if (axpy_utf8(args[0], "path", 0, &path) < 0 || axpy_int64(args[4], "cmap", &cmap) < 0 ||
        axpy_utf8(args[5], "title", 1, &cfg.title) < 0 || axpy_utf8(args[6], "x_label", 1, &cfg.x_label) < 0 ||
        axpy_utf8(args[7], "y_label", 1, &cfg.y_label) < 0 ||
        axpy_utf8(args[8], "value_label", 1, &cfg.value_label) < 0 ||
        axpy_int64(args[9], "x_first", &cfg.x_first) < 0 || axpy_int64(args[10], "y_first", &cfg.y_first) < 0)
        return NULL;
    const double vmin = PyFloat_AsDouble(args[2]), vmax = PyFloat_AsDouble(args[3]);
    if (PyErr_Occurred()) return NULL;
    axpy_array values;
    if (float_matrix(args[1], "values", &values) < 0) return NULL;
    ax_status st;
    Py_BEGIN_ALLOW_THREADS
    st = ax_png_write_figure(path, values.tensor.data, values.tensor.shape[0], values.tensor.shape[1], (float)vmin,
                             (float)vmax, (ax_colormap)cmap, &cfg);
    Py_END_ALLOW_THREADS
    axpy_array_release(&values);
    if (st != AX_OK) return axpy_raise_status(st);
    Py_RETURN_NONE;
}

/* png_write_chain_map(path, features, name, kind, cutoff): kind 0 msa, 1 distance, 2 contact
 * (ax_png_write_chain_map); name may be None. */
static PyObject *py_png_write_chain_map(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (axpy_check_nargs("png_write_chain_map", nargs, 5) < 0) return NULL;
    const char *path, *name;
    int64_t kind;
    if (axpy_utf8(args[0], "path", 0, &path) < 0 || axpy_utf8(args[2], "name", 1, &name) < 0 ||
        axpy_int64(args[3], "kind", &kind) < 0)
        return NULL;
    const ax_chain_features *f = unwrap(args[1], FEATURES_CAPSULE, "features");
    if (f == NULL) return NULL;
    const double cutoff = PyFloat_AsDouble(args[4]);
    if (cutoff == -1.0 && PyErr_Occurred()) return NULL;
    ax_status st;
    Py_BEGIN_ALLOW_THREADS
    st = ax_png_write_chain_map(path, f, name, (ax_chain_map)kind, (float)cutoff);
    Py_END_ALLOW_THREADS
    if (st != AX_OK) return axpy_raise_status(st);
    Py_RETURN_NONE;
}

/* heatmap_range(values) -> (vmin, vmax) over the finite values */
static PyObject *py_heatmap_range(PyObject *self, PyObject *obj) {
    axpy_array values;
    if (float_matrix(obj, "values", &values) < 0) return NULL;
    float vmin = 0.0f, vmax = 1.0f;
    ax_status st;
    Py_BEGIN_ALLOW_THREADS
    st = ax_heatmap_range(values.tensor.data, ax_tensor_numel(&values.tensor), &vmin, &vmax);
    Py_END_ALLOW_THREADS
    axpy_array_release(&values);
    if (st != AX_OK) return axpy_raise_status(st);
    return Py_BuildValue("(dd)", (double)vmin, (double)vmax);
}

/* heatmap_render_rgb(values, vmin, vmax, cmap, out): out is a contiguous uint8 (rows, cols, 3) array. */
static PyObject *py_heatmap_render_rgb(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (axpy_check_nargs("heatmap_render_rgb", nargs, 5) < 0) return NULL;
    int64_t cmap;
    if (axpy_int64(args[3], "cmap", &cmap) < 0) return NULL;
    const double vmin = PyFloat_AsDouble(args[1]), vmax = PyFloat_AsDouble(args[2]);
    if (PyErr_Occurred()) return NULL;
    axpy_array values, out;
    if (float_matrix(args[0], "values", &values) < 0) return NULL;
    if (axpy_array_get(args[4], "out", AXPY_WRITABLE, Py_None, &out) < 0) {
        axpy_array_release(&values);
        return NULL;
    }
    const int64_t rows = values.tensor.shape[0], cols = values.tensor.shape[1];
    if (out.tensor.dtype != AX_U8 || out.tensor.device.type != AX_CPU || out.tensor.ndim != 3 ||
        out.tensor.shape[0] != rows || out.tensor.shape[1] != cols || out.tensor.shape[2] != 3 ||
        !ax_tensor_is_contiguous(&out.tensor)) {
        axpy_array_release(&values);
        axpy_array_release(&out);
        return axpy_raise(AX_ERR_INVALID_ARGUMENT, "out: expected a contiguous uint8 host array of shape (%lld, %lld, 3)",
                          (long long)rows, (long long)cols);
    }
    ax_status st;
    Py_BEGIN_ALLOW_THREADS
    st = ax_heatmap_render_rgb(values.tensor.data, rows, cols, (float)vmin, (float)vmax, (ax_colormap)cmap,
                               out.tensor.data);
    Py_END_ALLOW_THREADS
    axpy_array_release(&values);
    axpy_array_release(&out);
    if (st != AX_OK) return axpy_raise_status(st);
    Py_RETURN_NONE;
}

#define FASTCALL(f) (PyCFunction)(void (*)(void))(f), METH_FASTCALL

PyMethodDef axpy_io_methods[] = {
    {"features_build", FASTCALL(py_features_build),
     "features_build(msas, structure_kind, structure, chain, fasta, dedup) -> (features, chain id or None)"},
    {"features_from_sequence", py_features_from_sequence, METH_O, "features_from_sequence(sequence) -> features"},
    {"features_arrays", py_features_arrays, METH_O, "features_arrays(features) -> dict of (ptr, dtype, shape) and scalars"},
    {"features_from_arrays", FASTCALL(py_features_from_arrays),
     "features_from_arrays(sequence, aatype, residue_index, msa, deletion_matrix, positions, mask, resolution)"
     " -> features"},
    {"store_write", FASTCALL(py_store_write), "store_write(path, append, [(name, features, sources), ...])"},
    {"store_open", py_store_open, METH_O, "store_open(path) -> store"},
    {"store_chains", py_store_chains, METH_O, "store_chains(store) -> sorted chain names"},
    {"store_chain_info", FASTCALL(py_store_chain_info), "store_chain_info(store, name) -> dict"},
    {"store_read_chain", FASTCALL(py_store_read_chain), "store_read_chain(store, name) -> features"},
    {"store_read_batch", FASTCALL(py_store_read_batch),
     "store_read_batch(store, name, seed, crop, clusters, extra, fraction, uniform, profile, same) -> batch"},
    {"batch_create", FASTCALL(py_batch_create),
     "batch_create(features, seed, crop, clusters, extra, fraction, uniform, profile, same) -> batch"},
    {"batch_arrays", py_batch_arrays, METH_O, "batch_arrays(batch) -> dict of (ptr, dtype, shape) and scalars"},
    {"feature_map", FASTCALL(py_feature_map), "feature_map(kind, features, cutoff, out): 0 msa, 1 distance, 2 contact"},
    {"png_write_heatmap", FASTCALL(py_png_write_heatmap), "png_write_heatmap(path, values, vmin, vmax, cmap)"},
    {"png_write_figure", FASTCALL(py_png_write_figure),
     "png_write_figure(path, values, vmin, vmax, cmap, title, x_label, y_label, value_label, x_first, y_first)"},
    {"png_write_chain_map", FASTCALL(py_png_write_chain_map),
     "png_write_chain_map(path, features, name, kind, cutoff): 0 msa, 1 distance, 2 contact"},
    {"heatmap_range", py_heatmap_range, METH_O, "heatmap_range(values) -> (vmin, vmax)"},
    {"heatmap_render_rgb", FASTCALL(py_heatmap_render_rgb), "heatmap_render_rgb(values, vmin, vmax, cmap, out)"},
    {NULL, NULL, 0, NULL}};
