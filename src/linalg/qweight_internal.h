/*
 * qweight_internal.h — what an ax_qweight holds (linalg.h keeps it opaque). Never installed.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_LINALG_QWEIGHT_INTERNAL_H
#define AXIAL_LINALG_QWEIGHT_INTERNAL_H

#include <stdint.h>

#include "axial/axial.h"

struct ax_qweight {
    uint8_t *data; /* N / 16 * K / 32 tiles (qweight.h), 64-byte aligned */
    ax_dtype dtype;
    int64_t N, K;
};

#endif /* AXIAL_LINALG_QWEIGHT_INTERNAL_H */
