/*
 * tensor.c — ax_tensor helpers and the validation used by every op before it touches memory.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <string.h>

#include "core/dtype_convert.h"
#include "core/internal.h"

ax_status ax_tensor_contiguous(ax_tensor *out, void *data, ax_dtype dtype, int32_t ndim, const int64_t *shape) {
    if (out == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "out: NULL");
    if (ndim < 0 || ndim > AX_MAX_DIMS)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "ndim: %d is outside [0, %d]", (int)ndim, AX_MAX_DIMS);
    if (ndim > 0 && shape == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "shape: NULL with ndim %d", (int)ndim);
    if (ax_dtype_block_elems(dtype) == 0)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "dtype: %d is not an ax_dtype", (int)dtype);
    const int64_t block = ax_dtype_block_elems(dtype);
    if (block > 1 && ndim == 0)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "ndim: 0, but a %s tensor needs a last dim of whole blocks",
                            ax_dtype_name(dtype));
    if (block > 1 && shape[ndim - 1] % block != 0)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "shape[%d]: %lld is not a multiple of the %s block size %lld",
                            (int)(ndim - 1), (long long)shape[ndim - 1], ax_dtype_name(dtype), (long long)block);
    int64_t strides[AX_MAX_DIMS];
    int64_t stride = 1;
    for (int32_t d = ndim - 1; d >= 0; d--) {
        if (shape[d] < 0)
            return ax_set_error(AX_ERR_INVALID_ARGUMENT, "shape[%d]: %lld is negative", (int)d, (long long)shape[d]);
        strides[d] = stride;
        if (shape[d] > 0 && stride > INT64_MAX / shape[d])
            return ax_set_error(AX_ERR_INVALID_ARGUMENT, "shape: element count overflows int64");
        stride *= shape[d] > 0 ? shape[d] : 1;
    }
    memset(out, 0, sizeof *out);
    out->data = data;
    out->dtype = dtype;
    out->device.type = AX_CPU;
    out->device.id = 0;
    out->ndim = ndim;
    for (int32_t d = 0; d < ndim; d++) {
        out->shape[d] = shape[d];
        out->strides[d] = strides[d];
    }
    return AX_OK;
}

int64_t ax_tensor_numel(const ax_tensor *t) {
    int64_t n = 1;
    for (int32_t d = 0; d < t->ndim; d++) n *= t->shape[d];
    return n;
}

int ax_tensor_is_contiguous(const ax_tensor *t) {
    int64_t expected = 1;
    for (int32_t d = t->ndim - 1; d >= 0; d--) {
        if (t->shape[d] != 1 && t->strides[d] != expected) return 0;
        expected *= t->shape[d];
    }
    return 1;
}

int ax_tensor_span(const ax_tensor *t, int64_t *lo, int64_t *hi) {
    int64_t low = 0, high = 0;
    for (int32_t d = 0; d < t->ndim; d++) {
        if (t->shape[d] == 0) return 0;
        const int64_t reach = (t->shape[d] - 1) * t->strides[d];
        if (reach < 0) low += reach; else high += reach;
    }
    *lo = low;
    *hi = high;
    return 1;
}

static int64_t gcd64(int64_t a, int64_t b) {
    while (b != 0) {
        const int64_t r = a % b;
        a = b, b = r;
    }
    return a;
}

/* Row pitch P (bytes) of t: the gcd of the byte strides of every dim but the last, which must be
 * contiguous; 0 when t has no such rows (or a block dtype). Every element then lies at
 * data + (a multiple of P) + its column's offset. */
static int64_t row_pitch(const ax_tensor *t) {
    if (t->ndim < 1 || ax_dtype_block_elems(t->dtype) != 1) return 0;
    const int32_t last = t->ndim - 1;
    if (t->shape[last] > 1 && t->strides[last] != 1) return 0;
    int64_t pitch = 0;
    for (int32_t d = 0; d < last; d++) {
        if (t->shape[d] <= 1) continue;
        const int64_t s = t->strides[d] * (int64_t)ax_dtype_size(t->dtype);
        pitch = gcd64(pitch, s < 0 ? -s : s);
    }
    return pitch;
}

/* Two views whose spans overlap but whose rows interleave, as the two halves of a fused (.., 2F)
 * projection do: with P the gcd of both row pitches, each view's bytes lie, modulo P, in one
 * interval of its row width; disjoint intervals mean no byte in both. A sufficient test only. */
static int interleaved_disjoint(const ax_tensor *a, const ax_tensor *b) {
    const int64_t pa = row_pitch(a), pb = row_pitch(b);
    if (pa == 0 || pb == 0) return 0;
    const int64_t pitch = gcd64(pa, pb);
    const int64_t wa = a->shape[a->ndim - 1] * (int64_t)ax_dtype_size(a->dtype);
    const int64_t wb = b->shape[b->ndim - 1] * (int64_t)ax_dtype_size(b->dtype);
    if (wa + wb > pitch) return 0;
    const int64_t ra = (int64_t)((uintptr_t)a->data % (uintptr_t)pitch);
    const int64_t rb = (int64_t)((uintptr_t)b->data % (uintptr_t)pitch);
    const int64_t d = ((rb - ra) % pitch + pitch) % pitch; /* b's interval starts d bytes after a's */
    return d >= wa && d + wb <= pitch;
}

int ax_tensors_overlap(const ax_tensor *a, const ax_tensor *b) {
    int64_t alo, ahi, blo, bhi;
    if (a->data == NULL || b->data == NULL) return 0;
    if (!ax_tensor_span(a, &alo, &ahi) || !ax_tensor_span(b, &blo, &bhi)) return 0;
    if (interleaved_disjoint(a, b)) return 0;
    /* Byte ranges: for block types, [first block, end of the last block) (hi + 1 ends a block). */
    const intptr_t a0 = (intptr_t)a->data + (intptr_t)ax_dtype_offset_bytes(a->dtype, alo);
    const intptr_t a1 = (intptr_t)a->data + (intptr_t)ax_dtype_offset_bytes(a->dtype, ahi + 1);
    const intptr_t b0 = (intptr_t)b->data + (intptr_t)ax_dtype_offset_bytes(b->dtype, blo);
    const intptr_t b1 = (intptr_t)b->data + (intptr_t)ax_dtype_offset_bytes(b->dtype, bhi + 1);
    return a0 < b1 && b0 < a1;
}

/* The layout rule of block-quantized tensors (axial.h): the last dim holds whole blocks, contiguously,
 * and every other dim steps by whole blocks. */
static ax_status check_block_layout(const ax_tensor *t, const char *name) {
    const int64_t block = ax_dtype_block_elems(t->dtype);
    if (block == 1) return AX_OK;
    const char *dt = ax_dtype_name(t->dtype);
    if (t->ndim == 0)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: a %s tensor needs at least one dim (whole blocks)", name, dt);
    const int32_t last = t->ndim - 1;
    if (t->shape[last] % block != 0)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                            "%s: last dim is %lld, not a multiple of the %s block size %lld (the quantized dim is "
                            "the innermost one)",
                            name, (long long)t->shape[last], dt, (long long)block);
    /* An empty tensor addresses no block: any strides will do (ax_tensor_contiguous gives a dim of
     * zero blocks a step of one element). */
    for (int32_t d = 0; d < t->ndim; d++)
        if (t->shape[d] == 0) return AX_OK;
    if (t->shape[last] > 0 && t->strides[last] != 1)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: last dim has stride %lld; a %s tensor's blocks are contiguous "
                            "(stride 1)", name, (long long)t->strides[last], dt);
    for (int32_t d = 0; d < last; d++)
        if (t->shape[d] > 1 && t->strides[d] % block != 0)
            return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                                "%s: stride %lld of dim %d is not a whole number of %s blocks (%lld elements)", name,
                                (long long)t->strides[d], (int)d, dt, (long long)block);
    return AX_OK;
}

ax_status ax_check_tensor(const ax_tensor *t, const char *name, int32_t ndim, const char *dims_desc) {
    if (t == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: NULL tensor", name);
    if (t->ndim != ndim)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: expected %d dims %s, got %d", name, (int)ndim, dims_desc,
                            (int)t->ndim);
    if (ax_dtype_block_elems(t->dtype) == 0)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: dtype %d is not an ax_dtype", name, (int)t->dtype);
    if (t->device.type != AX_CPU && t->device.type != AX_CUDA)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: device type %d is not an ax_device_type", name,
                            (int)t->device.type);
    int64_t numel = 1;
    int64_t reach = 0;
    for (int32_t d = 0; d < ndim; d++) {
        if (t->shape[d] < 0)
            return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: dim %d of %s is negative (%lld)", name, (int)d,
                                dims_desc, (long long)t->shape[d]);
        if (t->shape[d] > 0 && numel > INT64_MAX / t->shape[d])
            return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: element count overflows int64", name);
        numel *= t->shape[d];
        if (t->strides[d] == INT64_MIN) /* has no int64 magnitude: every |stride| below relies on this */
            return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: stride of dim %d is INT64_MIN", name, (int)d);
        const int64_t s = t->strides[d] < 0 ? -t->strides[d] : t->strides[d];
        if (t->shape[d] > 1 && s > 0 && (t->shape[d] - 1) > (INT64_MAX / 16 - reach) / s)
            return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: strides reach past int64 offsets", name);
        if (t->shape[d] > 1) reach += (t->shape[d] - 1) * s;
    }
    if (numel > 0 && t->data == NULL)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: data is NULL for %lld elements", name, (long long)numel);
    return check_block_layout(t, name);
}

ax_status ax_check_dim(const ax_tensor *t, const char *name, int32_t dim, const char *dim_name, int64_t expected) {
    if (t->shape[dim] != expected)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: dim %d (%s) is %lld, expected %lld", name, (int)dim, dim_name,
                            (long long)t->shape[dim], (long long)expected);
    return AX_OK;
}

ax_status ax_check_dim_broadcast(const ax_tensor *t, const char *name, int32_t dim, const char *dim_name,
                                 int64_t expected) {
    if (t->shape[dim] != expected && t->shape[dim] != 1)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: dim %d (%s) is %lld, expected %lld or 1 (broadcast)", name,
                            (int)dim, dim_name, (long long)t->shape[dim], (long long)expected);
    return AX_OK;
}

ax_status ax_check_dtype(const ax_tensor *t, const char *name, ax_dtype expected) {
    if (t->dtype != expected)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: dtype is %s, expected %s", name, ax_dtype_name(t->dtype),
                            ax_dtype_name(expected));
    return AX_OK;
}

ax_status ax_check_device(const ax_tensor *t, const char *name, ax_device expected) {
    if (t->device.type != expected.type || (expected.type == AX_CUDA && t->device.id != expected.id))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: on %s:%d, but the context runs on %s:%d", name,
                            t->device.type == AX_CUDA ? "cuda" : "cpu", (int)t->device.id,
                            expected.type == AX_CUDA ? "cuda" : "cpu", (int)expected.id);
    return AX_OK;
}

ax_status ax_check_no_self_overlap(const ax_tensor *t, const char *name) {
    /* A tensor with no elements has nothing to overlap, whatever its strides. */
    for (int32_t d = 0; d < t->ndim; d++)
        if (t->shape[d] == 0) return AX_OK;
    /* Sufficient test: sorted by |stride|, each stride exceeds the reach of all smaller dims. */
    int32_t order[AX_MAX_DIMS];
    int32_t n = 0;
    for (int32_t d = 0; d < t->ndim; d++)
        if (t->shape[d] > 1) order[n++] = d;
    for (int32_t i = 1; i < n; i++)
        for (int32_t j = i; j > 0; j--) {
            int64_t a = t->strides[order[j - 1]], b = t->strides[order[j]];
            if ((a < 0 ? -a : a) <= (b < 0 ? -b : b)) break;
            int32_t tmp = order[j]; order[j] = order[j - 1]; order[j - 1] = tmp;
        }
    int64_t reach = 0;
    for (int32_t i = 0; i < n; i++) {
        const int64_t s = t->strides[order[i]] < 0 ? -t->strides[order[i]] : t->strides[order[i]];
        if (s <= reach)
            return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                                "%s: output strides may make elements overlap (dim %d, stride %lld is within the "
                                "reach of the smaller strides; an output's strides must nest, axial.h)",
                                name, (int)order[i], (long long)t->strides[order[i]]);
        reach += (t->shape[order[i]] - 1) * s;
    }
    return AX_OK;
}
