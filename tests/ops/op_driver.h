/*
 * op_driver.h — one test driver for every op x backend x dtype (in the spirit of ggml's
 * test-backend-ops): an op is a table of cases; for each case and each dtype it lists, the driver
 * builds the inputs once (fp64 values rounded to the dtype and stored), asks the table for the fp64
 * reference of every output, then runs the op on every CPU instruction-set path the machine has
 * (portable, avx2, avx512, through ax_cpu_path_set) and on CUDA when a device is present, and
 * compares each output with the reference under the table's tolerance. Tests of this kind never
 * compare one backend with another: each is held to the same independent reference.
 *
 * Besides the values, every run checks that the op left its inputs' bytes alone and did not write
 * the gaps of an output's buffer (bytes no element of the tensor maps to).
 *
 * Adding an op (one file, one line):
 *   1. Write tests/ops/cases_<op>.c (any file named cases_*.c is compiled into test_ops by
 *      tests/ops/ops_tests.cmake). It defines `const op_table op_table_<op> = { ... };` with:
 *        make_case   fills case number `index` (name, dtype pairs, params); returns 0 past the
 *                    last case. OP_QUICK mode should give a smaller set (test_ops --quick).
 *        setup       declares the tensors (op_tensor_new*) and fills the inputs (op_fill_*,
 *                    op_set, or raw bytes then op_refresh_values); outputs start poisoned (NaN).
 *        reference   writes each output's `expected` (and, optionally, `err_scale`) in fp64 from
 *                    the inputs' `value` arrays, which hold exactly the stored (rounded) values.
 *        run         calls the op on `ctx` with op_in / op_out descriptors (on the context's
 *                    device; the driver has already copied everything there).
 *        tolerance   the bound for one output on one backend (see op_tol); say why in a comment.
 *        unsupported (optional) a reason when a backend cannot run a case by design (e.g. CUDA's
 *                    head-dim limit); the driver prints "skip" instead of running it. An op that
 *                    returns an error where this says "supported" fails.
 *        extra_check (optional) checks beyond the values, e.g. bit-for-bit copies.
 *   2. Add one line `X(<op>)` to OP_REGISTRY in tests/ops/op_registry.h.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_TESTS_OPS_OP_DRIVER_H
#define AXIAL_TESTS_OPS_OP_DRIVER_H

#include <stddef.h>
#include <stdint.h>

#include "axial/axial.h"
#include "op_dtype.h"

#define OP_MAX_TENSORS 16
#define OP_MAX_DTYPES 16

typedef enum op_mode { OP_FULL = 0, OP_QUICK = 1 } op_mode;

/* Where a run happens: one CPU instruction-set path, or the CUDA device 0. */
typedef enum op_backend {
    OP_BACKEND_PORTABLE = 0,
    OP_BACKEND_AVX2 = 1,
    OP_BACKEND_AVX512 = 2,
    OP_BACKEND_CUDA = 3,
    OP_BACKEND_COUNT = 4
} op_backend;

const char *op_backend_name(op_backend be);

/* The dtypes of one run of a case: what its main inputs are stored in, and what its main outputs
 * are (the same for most ops; GEMM's c may be wider, a conversion's destination anything). */
typedef struct op_dtype_pair {
    ax_dtype in, out;
} op_dtype_pair;

/* One case of a table. `params` points at the table's own description (static storage); `index`
 * is the case number the table was asked for. */
typedef struct op_case {
    char name[192];
    op_dtype_pair dtypes[OP_MAX_DTYPES];
    int n_dtypes;
    int index;
    const void *params;
} op_case;

typedef enum op_role {
    OP_INPUT = 0,  /* read by the op; must be unchanged afterwards */
    OP_OUTPUT = 1, /* written by the op; starts as all-0xFF bytes (NaN in every float dtype) */
    OP_INOUT = 2   /* read and written (GEMM's c with beta != 0); starts with the filled values */
} op_role;

/* How a tensor lies in its buffer. */
typedef enum op_layout {
    OP_CONTIGUOUS = 0, /* row-major */
    OP_PADDED = 1,     /* row-major, last dim contiguous, every outer stride padded (whole blocks for
                        * block types): no stride but the last is the contiguous one */
    OP_REVERSED = 2    /* dims in reverse order in memory, each padded by 3: the last dim is the
                        * outermost and nothing is contiguous (not for block types) */
} op_layout;

/* A tensor of a problem. Values are in fp64, one per logical element in row-major order of the
 * shape, whatever the strides. */
typedef struct op_tensor {
    char name[24];
    op_role role;
    ax_tensor t;             /* shape, strides and dtype; data points into the current run's buffer */
    int64_t numel;
    int64_t origin;          /* element offset of element (0, ..., 0) from the start of the buffer */
    int64_t buffer_elems;    /* elements in the buffer: a whole number of blocks */
    size_t buffer_bytes;
    unsigned char *host;     /* the pristine buffer: inputs as filled, outputs poisoned */
    double *value;           /* the stored value of every element (outputs: the poison, NaN) */
    double *expected;        /* outputs: the reference, set by the table's `reference` */
    double *err_scale;       /* outputs, optional (NULL until op_want_err_scale): per-element error
                              * allowance in units of op_tol.scale_tol */
    unsigned char *result;   /* outputs: the buffer after the current run, on the host */
} op_tensor;

typedef struct op_problem {
    op_tensor tensors[OP_MAX_TENSORS];
    int n_tensors;
    op_rng rng; /* seeded from the table, case and dtype pair: each problem reproduces alone */
} op_problem;

/* The error an output may have on one backend. Element i passes when
 *     |got - want| <= atol + rtol * |want| + norm_rtol * max(max_j |want_j|, norm_floor)
 *                     + scale_tol * err_scale[i]
 * (a NaN want needs a NaN, an infinite want the same infinity, and `exact` demands the identical
 * value, sign of zero and NaN sign included). */
typedef struct op_tol {
    double atol, rtol, norm_rtol, norm_floor, scale_tol;
    int exact;
} op_tol;

typedef struct op_table {
    const char *name;
    int (*make_case)(int index, op_mode mode, op_case *c);
    int (*setup)(const op_case *c, op_dtype_pair dt, op_problem *p); /* 0 on success */
    void (*reference)(const op_case *c, op_dtype_pair dt, op_problem *p);
    ax_status (*run)(ax_context *ctx, const op_case *c, op_dtype_pair dt, op_problem *p);
    op_tol (*tolerance)(const op_case *c, op_dtype_pair dt, op_backend be, const op_tensor *out);
    const char *(*unsupported)(const op_case *c, op_dtype_pair dt, op_backend be); /* may be NULL */
    /* Returns 1 when fine, else 0 with a message in msg. May be NULL. */
    int (*extra_check)(const op_case *c, op_dtype_pair dt, const op_problem *p, char *msg, size_t msg_size);
} op_table;

/* ---- building problems (for setup) ---- */

/* A new tensor in one of the layouts above; NULL (with a message) when out of memory or too many. */
op_tensor *op_tensor_new(op_problem *p, const char *name, op_role role, ax_dtype dtype, int32_t ndim,
                         const int64_t *shape, op_layout layout);
/* A new tensor with explicit strides (in elements; zero and negative allowed). */
op_tensor *op_tensor_new_strided(op_problem *p, const char *name, op_role role, ax_dtype dtype, int32_t ndim,
                                 const int64_t *shape, const int64_t *strides);

/* Element offset (from the descriptor's data pointer) of logical element `flat`. */
int64_t op_offset(const op_tensor *t, int64_t flat);
/* Logical index of element `flat` into idx[ndim]. */
void op_unflatten(const op_tensor *t, int64_t flat, int64_t *idx);

/* Stores x (rounded to the dtype) as element `flat`; not for block types. Call op_refresh_values
 * after a batch of op_set calls when strides alias elements (stride 0). */
void op_set(op_tensor *t, int64_t flat, double x);
/* Every element uniform in [lo, hi), rounded to the dtype (float and integer dtypes). */
void op_fill_uniform(op_problem *p, op_tensor *t, double lo, double hi);
/* Every block the tensor covers gets random valid bytes (block types). */
void op_fill_random_blocks(op_problem *p, op_tensor *t);
/* A block's bytes in the pristine buffer: the block holding logical element `flat`. */
unsigned char *op_block_at(op_tensor *t, int64_t flat);
/* Reads every element's value back from the buffer (after raw writes or aliasing writes). */
void op_refresh_values(op_tensor *t);
/* Allocates err_scale for an output (zeros). Returns 0 on success. */
int op_want_err_scale(op_tensor *t);

/* ---- for run ---- */

op_tensor *op_find(op_problem *p, const char *name);
/* The descriptor of a declared tensor, or NULL when the problem has none of that name (optional
 * arguments). */
const ax_tensor *op_in(op_problem *p, const char *name);
ax_tensor *op_out(op_problem *p, const char *name);

/* ---- running ---- */

typedef struct op_options {
    op_mode mode;
    const char *op_filter;            /* substring of the table name, or NULL */
    int backends[OP_BACKEND_COUNT];   /* 1: wanted */
    int verbose;
} op_options;

/* Runs every table over every wanted backend; returns the number of (case, dtype, backend) runs
 * that happened (0: nothing could run). Checks and failures go to harness.h's counters. */
int64_t op_run_tables(const op_table *const *tables, int n_tables, const op_options *opt);

#endif /* AXIAL_TESTS_OPS_OP_DRIVER_H */
