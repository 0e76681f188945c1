/*
 * store_absent.c — the feature store API for builds without HDF5 (AXIAL_HDF5=OFF): every call says
 * so clearly.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "axial/store.h"
#include "core/internal.h"

static ax_status no_hdf5(void) {
    return ax_set_error(AX_ERR_UNSUPPORTED, "this build of Axial has no HDF5 (rebuild with AXIAL_HDF5=ON)");
}

ax_status ax_store_begin(const char *path, int append, ax_store_writer **out) {
    (void)path; (void)append;
    if (out != NULL) *out = NULL;
    return no_hdf5();
}
ax_status ax_store_add_chain(ax_store_writer *w, const char *name, const ax_chain_features *f, const char *sources) {
    (void)w; (void)name; (void)f; (void)sources;
    return no_hdf5();
}
ax_status ax_store_writer_set_msa_compression(ax_store_writer *w, int level) {
    (void)w; (void)level;
    return no_hdf5();
}
ax_status ax_store_commit(ax_store_writer *w) {
    (void)w;
    return no_hdf5();
}
void ax_store_abort(ax_store_writer *w) { (void)w; }
ax_status ax_store_open(const char *path, ax_store **out) {
    (void)path;
    if (out != NULL) *out = NULL;
    return no_hdf5();
}
void ax_store_close(ax_store *s) { (void)s; }
int64_t ax_store_schema_version(const ax_store *s) {
    (void)s;
    return 0;
}
int64_t ax_store_num_chains(const ax_store *s) {
    (void)s;
    return 0;
}
const char *ax_store_chain_name(const ax_store *s, int64_t index) {
    (void)s; (void)index;
    return NULL;
}
ax_status ax_store_chain_info_get(ax_store *s, const char *name, ax_store_chain_info *info) {
    (void)s; (void)name; (void)info;
    return no_hdf5();
}
ax_status ax_store_read_chain(ax_store *s, const char *name, ax_chain_features **out) {
    (void)s; (void)name;
    if (out != NULL) *out = NULL;
    return no_hdf5();
}

ax_status ax_store_read_batch(ax_store *s, const char *name, const ax_feature_batch_config *cfg,
                              ax_feature_batch **out) {
    (void)s; (void)name; (void)cfg;
    if (out != NULL) *out = NULL;
    return no_hdf5();
}
