/*
 * tensor_spec.c — the one checker of declarative tensor specs (tensor_spec.h).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "core/tensor_spec.h"

/* The binding name of a dim entry: its text up to the first space ("S (query)" -> "S"). */
static void dim_key(const char *entry, char key[16]) {
    size_t n = strcspn(entry, " ");
    if (n > 15) n = 15;
    memcpy(key, entry, n);
    key[n] = '\0';
}

static int is_number(const char *key) {
    if (*key == '\0') return 0;
    for (const char *c = key; *c; c++)
        if (*c < '0' || *c > '9') return 0;
    return 1;
}

static int find(const ax_dims *dims, const char *key) {
    for (int32_t i = 0; i < dims->n; i++)
        if (strcmp(dims->names[i], key) == 0) return (int)i;
    return -1;
}

int64_t ax_dims_get(const ax_dims *dims, const char *name) {
    const int i = find(dims, name);
    return i < 0 ? -1 : dims->sizes[i];
}

ax_status ax_dims_bind(ax_dims *dims, const char *name, int64_t size) {
    char key[16];
    dim_key(name, key);
    const int i = find(dims, key);
    if (i >= 0) {
        dims->sizes[i] = size;
        return AX_OK;
    }
    if (dims->n >= AX_SPEC_MAX_NAMES)
        return ax_set_error(AX_ERR_INTERNAL, "tensor spec: more than %d dimension names", AX_SPEC_MAX_NAMES);
    memcpy(dims->names[dims->n], key, sizeof key);
    dims->sizes[dims->n++] = size;
    return AX_OK;
}

/* "(B, N, S, H, D)" from the dims' labels, for the ndim message. */
static const char *layout_of(const ax_tensor_spec *s, char *buf, size_t size) {
    if (s->layout != NULL) return s->layout;
    size_t used = 0;
    buf[0] = '\0';
    for (int32_t d = 0; d < s->ndim && used + 1 < size; d++) {
        const int w = snprintf(buf + used, size - used, "%s%s", d == 0 ? "(" : ", ", s->dims[d] ? s->dims[d] : "?");
        if (w < 0) break;
        used += (size_t)w;
    }
    if (used + 2 < size) memcpy(buf + used, ")", 2);
    return buf;
}

/* "f32, bf16 or f16" for a dtype set: the float dtypes first, in the order the docs name them. */
static void dtype_list(uint32_t set, char *buf, size_t size) {
    int order[32], n = 0;
    const int first[3] = {AX_F32, AX_BF16, AX_F16};
    for (int i = 0; i < 3; i++)
        if (set & (1u << first[i])) order[n++] = first[i];
    for (int dt = 0; dt < 32; dt++)
        if ((set & (1u << dt)) && dt != AX_F32 && dt != AX_BF16 && dt != AX_F16) order[n++] = dt;
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && used + 1 < size; i++) {
        const char *sep = i == 0 ? "" : (i == n - 1 ? " or " : ", ");
        const int w = snprintf(buf + used, size - used, "%s%s", sep, ax_dtype_name((ax_dtype)order[i]));
        if (w < 0) break;
        used += (size_t)w;
    }
}

static ax_status check_dtype(const ax_tensor_spec *specs, const ax_tensor_spec *s) {
    const ax_tensor *t = s->t;
    const ax_tensor *as = s->dtype_as >= 0 ? specs[s->dtype_as].t : NULL;
    if (as == NULL && s->dtypes == 0) return AX_OK;
    if (as != NULL && t->dtype == as->dtype) return AX_OK;
    if (s->dtypes & AX_DTYPE_BIT(t->dtype)) return AX_OK;
    char list[96];
    dtype_list(s->dtypes, list, sizeof list);
    if (as != NULL && s->dtypes != 0 && s->dtypes != AX_DTYPE_BIT(as->dtype)) /* not "f32 (as q) or f32" */
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: dtype is %s, expected %s (as %s) or %s", s->name,
                            ax_dtype_name(t->dtype), ax_dtype_name(as->dtype), specs[s->dtype_as].name, list);
    if (as != NULL)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: dtype is %s, expected %s (as %s)", s->name,
                            ax_dtype_name(t->dtype), ax_dtype_name(as->dtype), specs[s->dtype_as].name);
    return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: dtype is %s, expected %s", s->name, ax_dtype_name(t->dtype), list);
}

static ax_status check_like(const ax_tensor_spec *specs, const ax_tensor_spec *s) {
    const ax_tensor_spec *ref = &specs[s->like];
    if (ref->t == NULL)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: given, but %s is NULL (no gradient exists)", s->name,
                            ref->name);
    char buf[64];
    snprintf(buf, sizeof buf, "(the shape of %s)", ref->name);
    AX_CHECK(ax_check_tensor(s->t, s->name, ref->t->ndim, s->layout ? s->layout : buf));
    for (int32_t d = 0; d < ref->t->ndim; d++)
        if (s->t->shape[d] != ref->t->shape[d])
            return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: dim %d is %lld, but %s has %lld there", s->name, (int)d,
                                (long long)s->t->shape[d], ref->name, (long long)ref->t->shape[d]);
    return ax_check_dtype(s->t, s->name, ref->t->dtype);
}

static ax_status check_dims(const ax_tensor_spec *s, ax_dims *dims) {
    const ax_tensor *t = s->t;
    for (int32_t d = 0; d < s->ndim; d++) {
        const char *entry = s->dims[d];
        if (entry == NULL) continue;
        char key[16];
        dim_key(entry, key);
        const int bcast = (s->broadcast >> d) & 1u;
        int64_t expected;
        if (is_number(key)) {
            expected = strtoll(key, NULL, 10);
        } else {
            const int i = find(dims, key);
            if (i < 0) {
                if (bcast && t->shape[d] == 1) continue; /* a broadcast 1 says nothing about the size */
                AX_CHECK(ax_dims_bind(dims, key, t->shape[d]));
                continue;
            }
            expected = dims->sizes[i];
        }
        if (bcast) AX_CHECK(ax_check_dim_broadcast(t, s->name, d, entry, expected));
        else AX_CHECK(ax_check_dim(t, s->name, d, entry, expected));
    }
    return AX_OK;
}

static ax_status check_one(const ax_context *ctx, const ax_tensor_spec *specs, const ax_tensor_spec *s,
                           ax_dims *dims) {
    if (s->like >= 0) AX_CHECK(check_like(specs, s));
    else {
        char buf[128];
        AX_CHECK(ax_check_tensor(s->t, s->name, s->ndim, layout_of(s, buf, sizeof buf)));
        /* The dtype first when it is the tensor's own rule (the first tensor fixes the others'). */
        AX_CHECK(check_dtype(specs, s));
        AX_CHECK(check_dims(s, dims));
    }
    const ax_tensor *t = s->t;
    /* A tensor with no elements reads nothing, whatever its strides (torch hands an expanded,
     * stride-0 gradient of an empty output to a backward). */
    if ((s->flags & AX_SPEC_LAST_CONTIGUOUS) && t->ndim > 0 && t->shape[t->ndim - 1] > 1 &&
        t->strides[t->ndim - 1] != 1 && ax_tensor_numel(t) > 0)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: the last dim has stride %lld, expected 1 (contiguous)",
                            s->name, (long long)t->strides[t->ndim - 1]);
    const ax_device host = {AX_CPU, 0};
    return ax_check_device(t, s->name, ctx != NULL ? ctx->device : host);
}

/* Exactly the same elements in the same dtype. */
static int same_tensor(const ax_tensor *a, const ax_tensor *b) {
    if (a->data != b->data || a->dtype != b->dtype || a->ndim != b->ndim) return 0;
    for (int32_t d = 0; d < a->ndim; d++)
        if (a->shape[d] != b->shape[d] || (a->shape[d] > 1 && a->strides[d] != b->strides[d])) return 0;
    return 1;
}

/* Outputs must not overlap themselves, each other, or any input: kernels read inputs while writing
 * outputs, in parallel. */
static ax_status check_overlaps(const ax_tensor_spec *specs, int32_t n) {
    for (int32_t i = 0; i < n; i++) {
        const ax_tensor_spec *o = &specs[i];
        if (!(o->flags & AX_SPEC_OUTPUT) || o->t == NULL) continue;
        AX_CHECK(ax_check_no_self_overlap(o->t, o->name));
        for (int32_t j = 0; j < n; j++)
            if (j != i && (specs[j].flags & AX_SPEC_OUTPUT) && specs[j].t != NULL && ax_tensors_overlap(o->t, specs[j].t))
                return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: overlaps the output %s", o->name, specs[j].name);
        for (int32_t j = 0; j < n; j++)
            if (!(specs[j].flags & AX_SPEC_OUTPUT) && specs[j].t != NULL &&
                !((o->flags & AX_SPEC_IN_PLACE) && same_tensor(o->t, specs[j].t)) && ax_tensors_overlap(o->t, specs[j].t))
                return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: overlaps the input %s", o->name, specs[j].name);
    }
    return AX_OK;
}

ax_status ax_check_specs(const ax_context *ctx, const ax_tensor_spec *specs, int32_t n, ax_dims *dims) {
    for (int32_t i = 0; i < n; i++) {
        const ax_tensor_spec *s = &specs[i];
        if (s->t == NULL) {
            if (s->flags & AX_SPEC_OPTIONAL) continue;
            return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: NULL tensor", s->name);
        }
        AX_CHECK(check_one(ctx, specs, s, dims));
    }
    return check_overlaps(specs, n);
}
