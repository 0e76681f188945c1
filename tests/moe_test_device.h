/*
 * moe_test_device.h — device mirrors of host tensors for the MoE layer tests (test_moe_ffn.c with
 * --device cuda, test_moe_ep.c with --nccl), so that one source of cases serves the CPU and CUDA.
 *
 * A case builds its tensors on the host exactly as for the CPU and routes its call through a mirror:
 * dm_in / dm_out give the tensors to pass, dm_upload copies every buffer to the device (filling the
 * outputs with NaN first when asked, so an element the op never writes shows up), and dm_finish
 * copies the outputs back over the host buffers, where the case's checks read them unchanged. One
 * device buffer per distinct host pointer: a tensor that aliases another on the host aliases it on
 * the device too, so the ops' overlap checks see what the CPU run sees. With no device context the
 * mirror is the identity (the CPU run), the NaN poisoning included.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_TESTS_MOE_TEST_DEVICE_H
#define AXIAL_TESTS_MOE_TEST_DEVICE_H

#include "axial/moe.h"
#include "harness.h"

#define DM_MAX 32

typedef struct dm_buffer {
    void *host;
    void *dev;
    size_t bytes;
    int input, output;
} dm_buffer;

typedef struct dev_mirror {
    ax_context *ctx; /* the device context, or NULL: the identity */
    int n_buf, n_t;
    dm_buffer buf[DM_MAX];
    ax_tensor t[DM_MAX]; /* the device descriptors handed to the call */
    int t_buf[DM_MAX];
} dev_mirror;

/* Bytes from a tensor's data pointer to one past its last element (0 for an empty tensor). */
static inline size_t dm_bytes(const ax_tensor *t) {
    int64_t extent = 1;
    for (int32_t i = 0; i < t->ndim; i++) {
        if (t->shape[i] == 0) return 0;
        extent += (t->shape[i] - 1) * t->strides[i];
    }
    const int64_t block = ax_dtype_block_elems(t->dtype);
    if (block > 1) return (size_t)((extent + block - 1) / block * ax_dtype_block_bytes(t->dtype));
    return (size_t)extent * ax_dtype_size(t->dtype);
}

static inline void dm_begin(dev_mirror *m, ax_context *device_ctx) {
    memset(m, 0, sizeof *m);
    m->ctx = device_ctx;
}

static inline ax_tensor *dm_add(dev_mirror *m, const ax_tensor *host, int output) {
    if (host == NULL) return NULL;
    int b = 0;
    while (b < m->n_buf && m->buf[b].host != host->data) b++;
    if (b == m->n_buf) {
        if (m->n_buf == DM_MAX || m->n_t == DM_MAX) {
            TH_FAIL("moe_test_device.h: more than %d tensors in one call", DM_MAX);
            return NULL;
        }
        m->buf[m->n_buf++].host = host->data;
    }
    const size_t bytes = dm_bytes(host);
    if (bytes > m->buf[b].bytes) m->buf[b].bytes = bytes;
    if (output) m->buf[b].output = 1;
    else m->buf[b].input = 1;
    if (m->ctx == NULL) return (ax_tensor *)host; /* the CPU run: the host tensors themselves */
    if (m->n_t == DM_MAX) {
        TH_FAIL("moe_test_device.h: more than %d tensors in one call", DM_MAX);
        return NULL;
    }
    m->t[m->n_t] = *host;
    m->t_buf[m->n_t] = b;
    return &m->t[m->n_t++];
}

static inline const ax_tensor *dm_in(dev_mirror *m, const ax_tensor *host) { return dm_add(m, host, 0); }
static inline ax_tensor *dm_out(dev_mirror *m, ax_tensor *host) { return dm_add(m, host, 1); }

static inline void dm_weights(dev_mirror *m, const ax_moe_ffn_weights *h, ax_moe_ffn_weights *d) {
    d->router = dm_in(m, h->router);
    d->gate = dm_in(m, h->gate);
    d->up = dm_in(m, h->up);
    d->down = dm_in(m, h->down);
    d->dense_gate = dm_in(m, h->dense_gate);
    d->dense_up = dm_in(m, h->dense_up);
    d->dense_down = dm_in(m, h->dense_down);
}

static inline void dm_grads(dev_mirror *m, const ax_moe_ffn_grads *h, ax_moe_ffn_grads *d) {
    d->router = dm_out(m, h->router);
    d->gate = dm_out(m, h->gate);
    d->up = dm_out(m, h->up);
    d->down = dm_out(m, h->down);
    d->dense_gate = dm_out(m, h->dense_gate);
    d->dense_up = dm_out(m, h->dense_up);
    d->dense_down = dm_out(m, h->dense_down);
}

/* The mirrored arguments of a layer call, forward (x, w in; y, losses out) or backward (x, w, dy in;
 * dx and the gradients g out), for the tests' wrappers around ax_moe_ffn_forward / _backward and
 * their expert-parallel forms. */
typedef struct dm_ffn_args {
    const ax_tensor *x, *dy;
    ax_tensor *y, *losses, *dx;
    ax_moe_ffn_weights w;
    ax_moe_ffn_grads g;
} dm_ffn_args;

static inline void dm_forward_args(dev_mirror *m, const ax_tensor *x, const ax_moe_ffn_weights *w, ax_tensor *y,
                                   ax_tensor *losses, dm_ffn_args *a) {
    a->x = dm_in(m, x);
    dm_weights(m, w, &a->w);
    a->y = dm_out(m, y);
    a->losses = dm_out(m, losses);
}

static inline void dm_backward_args(dev_mirror *m, const ax_tensor *x, const ax_moe_ffn_weights *w,
                                    const ax_tensor *dy, ax_tensor *dx, const ax_moe_ffn_grads *g, dm_ffn_args *a) {
    a->x = dm_in(m, x);
    dm_weights(m, w, &a->w);
    a->dy = dm_in(m, dy);
    a->dx = dm_out(m, dx);
    dm_grads(m, g, &a->g);
}

/* Poisons the outputs (all-ones bytes: NaN in f32 and bf16) unless they alias an input, then copies
 * every buffer to the device. Returns 0 when the device tensors are ready. */
static inline int dm_upload(dev_mirror *m, int poison) {
    int ok = 1;
    for (int b = 0; b < m->n_buf; b++) {
        dm_buffer *u = &m->buf[b];
        if (poison && u->output && !u->input && u->host != NULL) memset(u->host, 0xff, u->bytes);
        if (m->ctx == NULL || u->host == NULL) continue;
        /* at least a little memory, so an empty tensor still has a device address */
        const ax_status st = ax_device_alloc(m->ctx, u->bytes > 256 ? u->bytes : 256, &u->dev);
        if (st != AX_OK) {
            TH_FAIL("ax_device_alloc(%zu bytes): %s", u->bytes, ax_last_error());
            u->dev = NULL;
            ok = 0;
            continue;
        }
        if (u->bytes > 0 && ax_copy_to_device(m->ctx, u->dev, u->host, u->bytes) != AX_OK) {
            TH_FAIL("ax_copy_to_device: %s", ax_last_error());
            ok = 0;
        }
    }
    if (m->ctx != NULL) {
        const ax_device dev = ax_context_device(m->ctx);
        for (int i = 0; i < m->n_t; i++) {
            m->t[i].data = m->buf[m->t_buf[i]].dev;
            m->t[i].device = dev;
        }
    }
    return ok ? 0 : 1;
}

/* Waits for the device, copies the outputs back over their host buffers and frees the device
 * buffers. ax_last_error() keeps the call's message (successful calls do not clear it). */
static inline void dm_finish(dev_mirror *m) {
    if (m->ctx == NULL) return;
    if (ax_context_synchronize(m->ctx) != AX_OK) TH_FAIL("ax_context_synchronize: %s", ax_last_error());
    for (int b = 0; b < m->n_buf; b++) {
        dm_buffer *u = &m->buf[b];
        if (u->output && u->dev != NULL && u->bytes > 0 && ax_copy_to_host(m->ctx, u->host, u->dev, u->bytes) != AX_OK)
            TH_FAIL("ax_copy_to_host: %s", ax_last_error());
        ax_device_free(m->ctx, u->dev);
        u->dev = NULL;
    }
}

/* "SKIP: ..." for a device mode that cannot run here, or NULL when a CUDA device is present. */
static inline const char *dm_cuda_missing(void) {
    if (!ax_build_has_cuda()) return "this build of Axial has no CUDA (configure with -DAXIAL_CUDA=ON)";
    if (ax_cuda_device_count() < 1) return "no CUDA device found";
    return NULL;
}

#endif /* AXIAL_TESTS_MOE_TEST_DEVICE_H */
