/*
 * op_driver.c — see op_driver.h: tensors of a problem, the backends, the comparison and the loop.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "op_driver.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

const char *op_backend_name(op_backend be) {
    switch (be) {
    case OP_BACKEND_PORTABLE: return "portable";
    case OP_BACKEND_AVX2: return "avx2";
    case OP_BACKEND_AVX512: return "avx512";
    case OP_BACKEND_CUDA: return "cuda";
    default: return "?";
    }
}

/* ------------------------------------------------------------------------------------------------
 * Tensors
 * ---------------------------------------------------------------------------------------------- */

static size_t bytes_of(ax_dtype dt, int64_t elems) { return (size_t)ax_dtype_bytes(dt, elems); }

void op_unflatten(const op_tensor *t, int64_t flat, int64_t *idx) {
    for (int32_t d = t->t.ndim - 1; d >= 0; d--) {
        const int64_t n = t->t.shape[d];
        idx[d] = n > 0 ? flat % n : 0;
        flat = n > 0 ? flat / n : 0;
    }
}

int64_t op_offset(const op_tensor *t, int64_t flat) {
    int64_t off = 0;
    for (int32_t d = t->t.ndim - 1; d >= 0; d--) {
        const int64_t n = t->t.shape[d];
        off += (flat % n) * t->t.strides[d];
        flat /= n;
    }
    return off;
}

static unsigned char *host_data(const op_tensor *t) { return t->host + bytes_of(t->t.dtype, t->origin); }

op_tensor *op_tensor_new_strided(op_problem *p, const char *name, op_role role, ax_dtype dtype, int32_t ndim,
                                 const int64_t *shape, const int64_t *strides) {
    if (p->n_tensors >= OP_MAX_TENSORS || ndim < 0 || ndim > AX_MAX_DIMS) {
        fprintf(stderr, "op_tensor_new(%s): too many tensors or dims\n", name);
        return NULL;
    }
    op_tensor *t = &p->tensors[p->n_tensors++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->role = role;
    t->t.dtype = dtype;
    t->t.device.type = AX_CPU;
    t->t.ndim = ndim;
    t->numel = 1;
    /* The buffer spans the lowest to the highest offset any element maps to (negative strides put
     * element 0 past the start), rounded out to whole blocks. */
    int64_t lo = 0, hi = 0;
    for (int32_t d = 0; d < ndim; d++) {
        t->t.shape[d] = shape[d];
        t->t.strides[d] = strides[d];
        t->numel *= shape[d];
        if (shape[d] > 0) {
            const int64_t reach = (shape[d] - 1) * strides[d];
            if (reach < 0) lo += reach;
            else hi += reach;
        }
    }
    const int64_t be = ax_dtype_block_elems(dtype);
    if (t->numel == 0) lo = hi = 0;
    t->origin = -lo;
    t->buffer_elems = ((hi - lo + 1) + be - 1) / be * be;
    t->buffer_bytes = bytes_of(dtype, t->buffer_elems);
    t->host = malloc(t->buffer_bytes);
    t->result = malloc(t->buffer_bytes);
    const size_t n = (size_t)(t->numel > 0 ? t->numel : 1);
    t->value = malloc(n * sizeof(double));
    if (role != OP_INPUT) t->expected = calloc(n, sizeof(double));
    if (t->host == NULL || t->result == NULL || t->value == NULL || (role != OP_INPUT && t->expected == NULL)) {
        fprintf(stderr, "op_tensor_new(%s): out of memory\n", name);
        return NULL;
    }
    /* All-ones bytes are NaN in every float dtype and a NaN block in every block type: an op that
     * reads a gap or leaves an output element unwritten shows up in the comparison. */
    memset(t->host, 0xff, t->buffer_bytes);
    t->t.data = host_data(t);
    op_refresh_values(t);
    return t;
}

op_tensor *op_tensor_new(op_problem *p, const char *name, op_role role, ax_dtype dtype, int32_t ndim,
                         const int64_t *shape, op_layout layout) {
    int64_t strides[AX_MAX_DIMS];
    const int64_t be = ax_dtype_block_elems(dtype);
    int64_t running = 1;
    if (layout == OP_REVERSED) {
        for (int32_t d = 0; d < ndim; d++) {
            strides[d] = running;
            running *= shape[d] + 3;
        }
    } else {
        /* Padding: 3 elements per dim for plain dtypes, one block for block types (whose outer
         * strides must stay whole blocks). */
        const int64_t pad = layout == OP_PADDED ? (be > 1 ? be : 3) : 0;
        for (int32_t d = ndim - 1; d >= 0; d--) {
            strides[d] = running;
            running = running * shape[d] + (d > 0 ? pad : 0);
        }
    }
    return op_tensor_new_strided(p, name, role, dtype, ndim, shape, strides);
}

void op_set(op_tensor *t, int64_t flat, double x) {
    t->value[flat] = opd_store(t->t.dtype, host_data(t), op_offset(t, flat), x);
}

void op_refresh_values(op_tensor *t) {
    for (int64_t i = 0; i < t->numel; i++) t->value[i] = opd_load(t->t.dtype, host_data(t), op_offset(t, i));
}

void op_fill_uniform(op_problem *p, op_tensor *t, double lo, double hi) {
    for (int64_t i = 0; i < t->numel; i++) op_set(t, i, op_rng_uniform(&p->rng, lo, hi));
    op_refresh_values(t); /* stride-0 dims alias elements: the last write is what is stored */
}

unsigned char *op_block_at(op_tensor *t, int64_t flat) {
    const int64_t be = ax_dtype_block_elems(t->t.dtype), off = op_offset(t, flat);
    const int64_t block = off >= 0 ? off / be : -((-off + be - 1) / be);
    return host_data(t) + block * ax_dtype_block_bytes(t->t.dtype);
}

void op_fill_random_blocks(op_problem *p, op_tensor *t) {
    const int64_t be = ax_dtype_block_elems(t->t.dtype);
    /* The last dim is contiguous and a whole number of blocks, so every be-th logical element starts
     * a block. */
    for (int64_t i = 0; i < t->numel; i += be) opd_random_block(t->t.dtype, &p->rng, op_block_at(t, i));
    op_refresh_values(t);
}

int op_want_err_scale(op_tensor *t) {
    free(t->err_scale);
    t->err_scale = calloc((size_t)(t->numel > 0 ? t->numel : 1), sizeof(double));
    return t->err_scale == NULL ? -1 : 0;
}

op_tensor *op_find(op_problem *p, const char *name) {
    for (int i = 0; i < p->n_tensors; i++)
        if (strcmp(p->tensors[i].name, name) == 0) return &p->tensors[i];
    return NULL;
}

const ax_tensor *op_in(op_problem *p, const char *name) {
    op_tensor *t = op_find(p, name);
    return t ? &t->t : NULL;
}

ax_tensor *op_out(op_problem *p, const char *name) {
    op_tensor *t = op_find(p, name);
    return t ? &t->t : NULL;
}

static void problem_free(op_problem *p) {
    for (int i = 0; i < p->n_tensors; i++) {
        op_tensor *t = &p->tensors[i];
        free(t->host);
        free(t->result);
        free(t->value);
        free(t->expected);
        free(t->err_scale);
    }
    p->n_tensors = 0;
}

/* ------------------------------------------------------------------------------------------------
 * Comparison
 * ---------------------------------------------------------------------------------------------- */

typedef struct compare_stats {
    int64_t bad, worst;  /* elements out of tolerance; the element with the largest err / bound */
    double worst_ratio;  /* err / bound there (INFINITY for a wrong NaN or Inf) */
    double max_abs, max_rel;
    double worst_got, worst_want, worst_bound;
} compare_stats;

static int same_special(double got, double want, int exact) {
    if (isnan(want)) return isnan(got) && (!exact || !signbit(got) == !signbit(want));
    return got == want; /* infinities */
}

static compare_stats compare_output(const op_tensor *t, const op_tol *tol) {
    compare_stats s;
    memset(&s, 0, sizeof s);
    s.worst = -1;
    double max_want = 0.0;
    for (int64_t i = 0; i < t->numel; i++)
        if (isfinite(t->expected[i]) && fabs(t->expected[i]) > max_want) max_want = fabs(t->expected[i]);
    const double norm = tol->norm_rtol * (max_want > tol->norm_floor ? max_want : tol->norm_floor);
    const unsigned char *data = t->result + bytes_of(t->t.dtype, t->origin);
    for (int64_t i = 0; i < t->numel; i++) {
        const double want = t->expected[i];
        const double got = opd_load(t->t.dtype, data, op_offset(t, i));
        double err, bound, ratio;
        if (!isfinite(want)) {
            err = same_special(got, want, tol->exact) ? 0.0 : INFINITY;
            bound = 0.0;
            ratio = err == 0.0 ? 0.0 : INFINITY;
        } else if (tol->exact) {
            const int same = got == want && !signbit(got) == !signbit(want);
            err = isfinite(got) ? fabs(got - want) : INFINITY;
            bound = 0.0;
            ratio = same ? 0.0 : INFINITY;
        } else {
            err = isfinite(got) ? fabs(got - want) : INFINITY;
            bound = tol->atol + tol->rtol * fabs(want) + norm + (t->err_scale ? tol->scale_tol * t->err_scale[i] : 0.0);
            ratio = bound > 0.0 ? err / bound : err == 0.0 ? 0.0 : INFINITY;
        }
        if (isfinite(err)) {
            if (err > s.max_abs) s.max_abs = err;
            if (want != 0.0 && err / fabs(want) > s.max_rel) s.max_rel = err / fabs(want);
        } else {
            s.max_abs = s.max_rel = INFINITY;
        }
        const int pass = (!isfinite(want) || tol->exact) ? ratio == 0.0 : err <= bound;
        if (!pass) s.bad++;
        if (s.worst < 0 || ratio > s.worst_ratio) {
            s.worst_ratio = ratio;
            s.worst = i;
            s.worst_got = got;
            s.worst_want = want;
            s.worst_bound = bound;
        }
    }
    return s;
}

/* 1 when the op changed no byte of `t` that no element of the tensor maps to. */
static int gaps_untouched(const op_tensor *t, int64_t *first_changed) {
    unsigned char *covered = calloc(t->buffer_bytes, 1);
    if (covered == NULL) {
        fprintf(stderr, "gaps_untouched(%s): out of memory\n", t->name);
        return 0;
    }
    const ax_dtype dt = t->t.dtype;
    const int64_t be = ax_dtype_block_elems(dt), bb = ax_dtype_block_bytes(dt);
    for (int64_t i = 0; i < t->numel; i++) {
        const int64_t off = t->origin + op_offset(t, i); /* from the buffer's start, >= 0 */
        memset(covered + (off / be) * bb, 1, (size_t)bb);
    }
    int ok = 1;
    for (size_t b = 0; b < t->buffer_bytes; b++)
        if (!covered[b] && t->result[b] != t->host[b]) {
            *first_changed = (int64_t)b;
            ok = 0;
            break;
        }
    free(covered);
    return ok;
}

static void format_index(const op_tensor *t, int64_t flat, char *buf, size_t size) {
    int64_t idx[AX_MAX_DIMS];
    op_unflatten(t, flat, idx);
    size_t used = (size_t)snprintf(buf, size, "[");
    for (int32_t d = 0; d < t->t.ndim && used < size; d++)
        used += (size_t)snprintf(buf + used, size - used, d ? ", %lld" : "%lld", (long long)idx[d]);
    if (used < size) snprintf(buf + used, size - used, "]");
}

/* ------------------------------------------------------------------------------------------------
 * Backends
 * ---------------------------------------------------------------------------------------------- */

typedef struct backends {
    int available[OP_BACKEND_COUNT];
    ax_context *cpu, *cuda;
} backends;

static const ax_cpu_path path_of[3] = {AX_CPU_PATH_PORTABLE, AX_CPU_PATH_AVX2, AX_CPU_PATH_AVX512};

/* Finds what this machine and build can run, printing a note for each wanted backend it cannot.
 * AXIAL_CPU_PATH (read by the library at first use) caps the CPU paths: a run with
 * AXIAL_CPU_PATH=portable covers the portable path only. */
static void backends_open(backends *b, const op_options *opt) {
    memset(b, 0, sizeof *b);
    const ax_cpu_path ceiling = ax_cpu_path_active();
    int want_cpu = 0;
    for (int i = 0; i < 3; i++) {
        if (!opt->backends[i]) continue;
        want_cpu = 1;
        const ax_status st = ax_cpu_path_set(path_of[i]);
        if (st == AX_ERR_UNSUPPORTED)
            printf("note: CPU path %s: this CPU lacks it, skipped\n", ax_cpu_path_name(path_of[i]));
        else if (st != AX_OK)
            TH_FAIL("ax_cpu_path_set(%s) returned %s: %s", ax_cpu_path_name(path_of[i]), ax_status_string(st),
                    ax_last_error());
        else if (path_of[i] > ceiling)
            printf("note: CPU path %s: above the AXIAL_CPU_PATH cap (%s), skipped\n", ax_cpu_path_name(path_of[i]),
                   ax_cpu_path_name(ceiling));
        else
            b->available[i] = 1;
    }
    ax_cpu_path_set(AX_CPU_PATH_AUTO);
    if (want_cpu && ax_context_create(&b->cpu, NULL) != AX_OK) {
        TH_FAIL("cannot create a CPU context: %s", ax_last_error());
        for (int i = 0; i < 3; i++) b->available[i] = 0;
    }
    if (opt->backends[OP_BACKEND_CUDA]) {
        const int devices = ax_cuda_device_count();
        if (!ax_build_has_cuda()) {
            printf("note: cuda: this build has no CUDA (configure with -DAXIAL_CUDA=ON), skipped\n");
        } else if (devices <= 0) {
            printf("note: cuda: no CUDA device present, skipped\n");
        } else {
            ax_context_config cfg = AX_CONTEXT_CONFIG_INIT;
            cfg.device.type = AX_CUDA;
            cfg.device.id = 0;
            const ax_status st = ax_context_create(&b->cuda, &cfg);
            if (st != AX_OK) TH_FAIL("cannot create a CUDA context: %s: %s", ax_status_string(st), ax_last_error());
            else {
                char name[128] = "";
                int64_t mem = 0;
                ax_cuda_device_info(0, name, sizeof name, &mem);
                printf("note: cuda: device 0 (%s, %.1f GiB)\n", name, (double)mem / (1 << 30));
                b->available[OP_BACKEND_CUDA] = 1;
            }
        }
    }
}

static void backends_close(backends *b) {
    ax_cpu_path_set(AX_CPU_PATH_AUTO);
    ax_context_destroy(b->cpu);
    ax_context_destroy(b->cuda);
}

/* ------------------------------------------------------------------------------------------------
 * One run: (case, dtype pair) on one backend
 * ---------------------------------------------------------------------------------------------- */

typedef struct run_ctx {
    const op_table *table;
    const op_case *c;
    op_dtype_pair dt;
    op_backend be;
    char label[320]; /* "table [backend] dtype case" for messages */
} run_ctx;

/* Puts every tensor on the backend (a copy of its pristine buffer) and points its descriptor there. */
static int stage_tensors(backends *b, const run_ctx *r, op_problem *p, void **bufs) {
    for (int i = 0; i < p->n_tensors; i++) {
        op_tensor *t = &p->tensors[i];
        if (r->be == OP_BACKEND_CUDA) {
            if (ax_device_alloc(b->cuda, t->buffer_bytes, &bufs[i]) != AX_OK ||
                ax_copy_to_device(b->cuda, bufs[i], t->host, t->buffer_bytes) != AX_OK) {
                TH_FAIL("%s: staging %s on the device: %s", r->label, t->name, ax_last_error());
                return -1;
            }
            t->t.device.type = AX_CUDA;
            t->t.device.id = 0;
        } else {
            bufs[i] = malloc(t->buffer_bytes);
            if (bufs[i] == NULL) {
                TH_FAIL("%s: out of memory", r->label);
                return -1;
            }
            memcpy(bufs[i], t->host, t->buffer_bytes);
            t->t.device.type = AX_CPU;
            t->t.device.id = 0;
        }
        t->t.data = (unsigned char *)bufs[i] + bytes_of(t->t.dtype, t->origin);
    }
    return 0;
}

static int fetch_results(backends *b, const run_ctx *r, op_problem *p, void **bufs) {
    for (int i = 0; i < p->n_tensors; i++) {
        op_tensor *t = &p->tensors[i];
        if (r->be == OP_BACKEND_CUDA) {
            if (ax_copy_to_host(b->cuda, t->result, bufs[i], t->buffer_bytes) != AX_OK) {
                TH_FAIL("%s: copying %s back: %s", r->label, t->name, ax_last_error());
                return -1;
            }
        } else {
            memcpy(t->result, bufs[i], t->buffer_bytes);
        }
    }
    return 0;
}

static void unstage_tensors(backends *b, const run_ctx *r, op_problem *p, void **bufs) {
    for (int i = 0; i < p->n_tensors; i++) {
        op_tensor *t = &p->tensors[i];
        if (r->be == OP_BACKEND_CUDA) ax_device_free(b->cuda, bufs[i]);
        else free(bufs[i]);
        bufs[i] = NULL;
        t->t.data = host_data(t);
        t->t.device.type = AX_CPU;
        t->t.device.id = 0;
    }
}

/* Runs and checks; prints the run's line. Returns 1 when it passed. */
static int run_one(backends *b, run_ctx *r, op_problem *p, const op_options *opt) {
    void *bufs[OP_MAX_TENSORS] = {0};
    ax_context *ctx = r->be == OP_BACKEND_CUDA ? b->cuda : b->cpu;
    const int failures_before = th_failures;
    char details[1024] = ""; /* -v: per-output statistics, printed under the run's line */
    size_t details_used = 0;
    double worst_ratio = 0.0;
    const char *worst_name = "";
    if (r->be != OP_BACKEND_CUDA) {
        ax_cpu_path_set(path_of[r->be]);
        th_checks++;
        if (ax_cpu_path_active() != path_of[r->be])
            TH_FAIL("%s: ax_cpu_path_active() is %s after ax_cpu_path_set(%s)", r->label,
                    ax_cpu_path_name(ax_cpu_path_active()), ax_cpu_path_name(path_of[r->be]));
    }
    if (stage_tensors(b, r, p, bufs) != 0) goto done;
    th_checks++;
    ax_clear_error();
    ax_status st = r->table->run(ctx, r->c, r->dt, p);
    if (st == AX_OK && r->be == OP_BACKEND_CUDA) st = ax_context_synchronize(ctx);
    if (st != AX_OK) {
        TH_FAIL("%s: the op returned %s: %s", r->label, ax_status_string(st), ax_last_error());
        goto done;
    }
    if (fetch_results(b, r, p, bufs) != 0) goto done;
    for (int i = 0; i < p->n_tensors; i++) {
        const op_tensor *t = &p->tensors[i];
        th_checks++;
        if (t->role == OP_INPUT) {
            if (memcmp(t->result, t->host, t->buffer_bytes) != 0)
                TH_FAIL("%s: input %s was modified", r->label, t->name);
            continue;
        }
        int64_t first_changed = -1;
        if (!gaps_untouched(t, &first_changed))
            TH_FAIL("%s: %s: a byte of the buffer outside the tensor was written (byte %lld)", r->label, t->name,
                    (long long)first_changed);
        th_checks++;
        const op_tol tol = r->table->tolerance(r->c, r->dt, r->be, t);
        const compare_stats s = compare_output(t, &tol);
        if (s.worst >= 0 && s.worst_ratio >= worst_ratio) {
            worst_ratio = s.worst_ratio;
            worst_name = t->name;
        }
        if (s.bad > 0) {
            char where[96];
            format_index(t, s.worst, where, sizeof where);
            TH_FAIL("%s: %s (%s): %lld of %lld elements out of tolerance; worst %s%s: got %.9g, want %.9g, "
                    "|err| %.3g, bound %.3g%s; max abs err %.3g, max rel err %.3g",
                    r->label, t->name, ax_dtype_name(t->t.dtype), (long long)s.bad, (long long)t->numel, t->name,
                    where, s.worst_got, s.worst_want, fabs(s.worst_got - s.worst_want), s.worst_bound,
                    tol.exact ? " (exact)" : "", s.max_abs, s.max_rel);
        } else if (opt->verbose && details_used < sizeof details) {
            details_used += (size_t)snprintf(details + details_used, sizeof details - details_used,
                                             "       %s: max abs err %.3g, max rel err %.3g, worst %.3f of the bound\n",
                                             t->name, s.max_abs, s.max_rel, s.worst_ratio);
        }
    }
    if (r->table->extra_check) {
        char msg[256] = "";
        th_checks++;
        if (!r->table->extra_check(r->c, r->dt, p, msg, sizeof msg)) TH_FAIL("%s: %s", r->label, msg);
    }
done:
    unstage_tensors(b, r, p, bufs);
    const int ok = th_failures == failures_before;
    if (ok)
        printf("ok   %s  (worst %.2f of tol in %s)\n", r->label, worst_ratio, worst_name[0] ? worst_name : "-");
    else
        printf("FAIL %s\n", r->label);
    fputs(details, stdout);
    return ok;
}

/* ------------------------------------------------------------------------------------------------
 * The loop
 * ---------------------------------------------------------------------------------------------- */

static uint64_t hash_str(const char *s, uint64_t h) {
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

static void dtype_label(op_dtype_pair dt, char *buf, size_t size) {
    if (dt.in == dt.out) snprintf(buf, size, "%s", ax_dtype_name(dt.in));
    else snprintf(buf, size, "%s->%s", ax_dtype_name(dt.in), ax_dtype_name(dt.out));
}

int64_t op_run_tables(const op_table *const *tables, int n_tables, const op_options *opt) {
    backends b;
    backends_open(&b, opt);
    int any_backend = 0;
    for (int i = 0; i < OP_BACKEND_COUNT; i++) any_backend |= opt->backends[i] && b.available[i];
    int64_t runs = 0;
    for (int ti = 0; ti < n_tables && any_backend; ti++) {
        const op_table *table = tables[ti];
        if (opt->op_filter && strstr(table->name, opt->op_filter) == NULL) continue;
        th_current = table->name;
        op_case c;
        for (int index = 0;; index++) {
            memset(&c, 0, sizeof c);
            if (!table->make_case(index, opt->mode, &c)) break;
            c.index = index;
            for (int di = 0; di < c.n_dtypes; di++) {
                run_ctx r;
                memset(&r, 0, sizeof r);
                r.table = table;
                r.c = &c;
                r.dt = c.dtypes[di];
                char dts[48];
                dtype_label(r.dt, dts, sizeof dts);
                op_problem p;
                memset(&p, 0, sizeof p);
                p.rng.state = hash_str(table->name, 0xcbf29ce484222325ull) ^ ((uint64_t)index << 20) ^ (uint64_t)di;
                th_checks++;
                if (table->setup(&c, r.dt, &p) != 0) {
                    TH_FAIL("%s %s %s: setup failed", table->name, dts, c.name);
                    problem_free(&p);
                    continue;
                }
                table->reference(&c, r.dt, &p);
                for (int be = 0; be < OP_BACKEND_COUNT; be++) {
                    if (!opt->backends[be] || !b.available[be]) continue;
                    r.be = (op_backend)be;
                    snprintf(r.label, sizeof r.label, "%-18s %-8s %-14s %s", table->name, op_backend_name(r.be), dts,
                             c.name);
                    const char *why = table->unsupported ? table->unsupported(&c, r.dt, r.be) : NULL;
                    if (why != NULL) {
                        printf("skip %s  (%s)\n", r.label, why);
                        continue;
                    }
                    run_one(&b, &r, &p, opt);
                    runs++;
                }
                problem_free(&p);
            }
        }
    }
    th_current = "";
    backends_close(&b);
    return runs;
}
