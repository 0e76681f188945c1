/*
 * test_nn_determinism.c — the norm backwards' dweight / dbias do not depend on the thread count:
 * contexts of 1, 2, 3 and 5 threads give the same bits (the rows are cut into runs fixed by the row
 * count, and the runs' partial sums are added in run order; nn.h). Values themselves are checked
 * against float64 references by the op test driver (tests/ops/cases_norm.c); this test only
 * compares runs with each other, on every CPU path the machine has.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "axial/nn.h"
#include "harness.h"

enum { ROWS = 1000, D = 96 };

static float x[ROWS * D], g[ROWS * D], w[D], dx[ROWS * D];
static float dw[4][D], db[4][D];

static void test_thread_count_invariance(void) {
    static const int threads[4] = {1, 2, 3, 5};
    th_seed(7);
    for (int i = 0; i < ROWS * D; i++) {
        x[i] = (float)th_uniform(-2.0, 2.0);
        g[i] = (float)th_uniform(-1.0, 1.0);
    }
    for (int j = 0; j < D; j++) w[j] = (float)th_uniform(0.5, 1.5);
    const int64_t s2[2] = {ROWS, D}, s1[1] = {D};
    ax_tensor tx, tg, tw, tdx;
    ax_tensor_contiguous(&tx, x, AX_F32, 2, s2);
    ax_tensor_contiguous(&tg, g, AX_F32, 2, s2);
    ax_tensor_contiguous(&tw, w, AX_F32, 1, s1);
    ax_tensor_contiguous(&tdx, dx, AX_F32, 2, s2);
    for (int path = AX_CPU_PATH_PORTABLE; path <= AX_CPU_PATH_AVX512; path++) {
        if (ax_cpu_path_set((ax_cpu_path)path) != AX_OK) continue;
        for (int layer = 0; layer < 2; layer++) {
            for (int k = 0; k < 4; k++) {
                ax_context_config cfg = AX_CONTEXT_CONFIG_INIT;
                cfg.num_threads = threads[k];
                ax_context *ctx = NULL;
                CHECK_OK(ax_context_create(&ctx, &cfg));
                ax_tensor tdw, tdb;
                ax_tensor_contiguous(&tdw, dw[k], AX_F32, 1, s1);
                ax_tensor_contiguous(&tdb, db[k], AX_F32, 1, s1);
                if (layer) CHECK_OK(ax_layer_norm_backward(ctx, &tx, &tw, &tg, 1e-5f, &tdx, &tdw, &tdb));
                else CHECK_OK(ax_rms_norm_backward(ctx, &tx, &tw, &tg, 1e-5f, &tdx, &tdw));
                ax_context_destroy(ctx);
            }
            for (int k = 1; k < 4; k++) {
                CHECK(memcmp(dw[0], dw[k], sizeof dw[0]) == 0);
                if (layer) CHECK(memcmp(db[0], db[k], sizeof db[0]) == 0);
            }
        }
    }
    ax_cpu_path_set(AX_CPU_PATH_AUTO);
}

int main(void) {
    RUN(test_thread_count_invariance);
    return th_finish();
}
