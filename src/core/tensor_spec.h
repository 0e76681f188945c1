/*
 * tensor_spec.h — an op's tensor contract written once, as data: per tensor its named dimensions,
 * which may broadcast, the dtypes allowed, and whether it is optional, an output, or needs a
 * contiguous last dimension. One checker binds the dimension names to sizes (the first tensor to
 * show a name sets it), checks every tensor against them and the context's device, then checks that
 * no output overlaps itself, another output or an input. Messages name the tensor, the dimension,
 * what was expected and what was given ("k: dim 2 (S) is 6, expected 5"). Never installed.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_CORE_TENSOR_SPEC_H
#define AXIAL_CORE_TENSOR_SPEC_H

#include <stdint.h>

#include "axial/axial.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AX_SPEC_MAX_NAMES 16

/* Flags of a spec. */
enum {
    AX_SPEC_OPTIONAL = 1u << 0,        /* NULL is allowed (the op then runs without it) */
    AX_SPEC_OUTPUT = 1u << 1,          /* written by the op */
    AX_SPEC_LAST_CONTIGUOUS = 1u << 2, /* the last dimension has stride 1 (when it has 2+ elements) */
    AX_SPEC_IN_PLACE = 1u << 3         /* an output that may be exactly an input (same data, dtype, shape
                                          and strides): for ops that read each element before writing it */
};

/* A set of dtypes, for ax_tensor_spec.dtypes. */
#define AX_DTYPE_BIT(dt) (1u << (unsigned)(dt))
#define AX_DTYPES_FLOAT (AX_DTYPE_BIT(AX_F32) | AX_DTYPE_BIT(AX_BF16) | AX_DTYPE_BIT(AX_F16))

typedef struct ax_tensor_spec {
    const char *name;      /* as the caller knows the argument: "q", "bias_mask" */
    const ax_tensor *t;
    int32_t ndim;
    /* One entry per dimension: a name that binds a size ("S"), optionally followed by a label shown
     * in messages ("S (query)" binds S), or a decimal size ("1"). NULL when `like` is used. */
    const char *dims[AX_MAX_DIMS];
    uint32_t broadcast;    /* bit d: dim d may also be 1 (it then binds nothing) */
    /* Dtypes: the spec at index `dtype_as` (>= 0) sets one allowed dtype ("expected f32 (as q)"),
     * `dtypes` adds a set; with neither set any dtype passes. */
    int32_t dtype_as;
    uint32_t dtypes;
    /* >= 0: this tensor must have exactly the shape and dtype of that spec's tensor (a gradient of
     * an optional input; when that input is NULL this tensor must be NULL too). */
    int32_t like;
    unsigned flags;
    const char *layout;    /* "(B, N, S, H, D)" for the ndim message; NULL builds it from dims */
} ax_tensor_spec;

/* Dimension names bound to sizes. Zero-initialise before the first ax_check_specs. */
typedef struct ax_dims {
    int32_t n;
    char names[AX_SPEC_MAX_NAMES][16];
    int64_t sizes[AX_SPEC_MAX_NAMES];
} ax_dims;

/* Spec initialisers: dtype_as and like default to -1 (none). */
#define AX_SPEC(name_, t_, ndim_, ...) \
    { (name_), (t_), (ndim_), { __VA_ARGS__ }, 0u, -1, 0u, -1, 0u, NULL }

/* Checks `specs` in order (each tensor fully, then the overlaps) on ctx's device (ctx NULL: host
 * functions, every tensor on the CPU); `dims` may already hold names bound by the caller. Returns
 * AX_OK or the first failure, with its message. Ops check ctx themselves first (NULL is an error
 * there). */
ax_status ax_check_specs(const struct ax_context *ctx, const ax_tensor_spec *specs, int32_t n, ax_dims *dims);

/* The size bound to `name`, or -1 when unbound. */
int64_t ax_dims_get(const ax_dims *dims, const char *name);

/* Binds `name` to `size` before checking (for sizes the op fixes itself). AX_ERR_INTERNAL when the
 * table is full. */
ax_status ax_dims_bind(ax_dims *dims, const char *name, int64_t size);

#ifdef __cplusplus
}
#endif

#endif /* AXIAL_CORE_TENSOR_SPEC_H */
