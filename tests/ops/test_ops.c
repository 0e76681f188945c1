/*
 * test_ops.c — every op against its fp64 reference on every backend and dtype (op_driver.h).
 *
 * Usage: test_ops [-o op_substring] [-b cpu|portable|avx2|avx512|cuda]... [--quick] [-v]
 *   -o SUB    only the op tables whose name contains SUB (convert, gemm, evoformer_forward, ...)
 *   -b NAME   only this backend (repeatable): a CPU instruction-set path, `cpu` for all of them,
 *             or `cuda`. Default: every CPU path this CPU has, and CUDA when a device is present.
 *             The environment variable AXIAL_CPU_PATH caps the CPU paths as it does in the library.
 *   --quick   fewer and smaller cases
 *   -v        the error statistics of every output, not only of failures
 *
 * Prints one line per (op, backend, dtype, case) run: "ok", "FAIL" or "skip" (a backend that cannot
 * run the case by design, with the reason), then "N checks, M failed". Exit status: 0 when every
 * check passed, 1 otherwise, 77 (ctest's skip) when nothing could run (e.g. `-b cuda` without a
 * device).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "op_registry.h"

#define OP_TABLE_ADDRESS(op) &op_table_##op,
static const op_table *const all_tables[] = {OP_REGISTRY(OP_TABLE_ADDRESS)};
#undef OP_TABLE_ADDRESS

static int usage(const char *argv0) {
    fprintf(stderr, "usage: %s [-o op_substring] [-b cpu|portable|avx2|avx512|cuda]... [--quick] [-v]\n", argv0);
    return 2;
}

int main(int argc, char **argv) {
    op_options opt;
    memset(&opt, 0, sizeof opt);
    int backend_given = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            opt.mode = OP_QUICK;
        } else if (strcmp(argv[i], "-v") == 0) {
            opt.verbose = 1;
        } else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) {
            opt.op_filter = argv[++i];
        } else if (strcmp(argv[i], "-b") == 0 && i + 1 < argc) {
            const char *name = argv[++i];
            backend_given = 1;
            if (strcmp(name, "cpu") == 0) {
                opt.backends[OP_BACKEND_PORTABLE] = opt.backends[OP_BACKEND_AVX2] = opt.backends[OP_BACKEND_AVX512] = 1;
                continue;
            }
            int found = 0;
            for (int be = 0; be < OP_BACKEND_COUNT; be++)
                if (strcmp(name, op_backend_name((op_backend)be)) == 0) {
                    opt.backends[be] = 1;
                    found = 1;
                }
            if (!found) return usage(argv[0]);
        } else {
            return usage(argv[0]);
        }
    }
    if (!backend_given)
        for (int be = 0; be < OP_BACKEND_COUNT; be++) opt.backends[be] = 1;

    /* A filter that names no table is a mistake (a renamed table), not a skip: ctest would report
     * the runs registered with it as skipped for good. */
    int matched = 0;
    for (size_t t = 0; t < sizeof all_tables / sizeof all_tables[0]; t++)
        matched += opt.op_filter == NULL || strstr(all_tables[t]->name, opt.op_filter) != NULL;
    if (matched == 0) {
        fprintf(stderr, "test_ops: -o %s matches no op table\n", opt.op_filter);
        return 1;
    }
    printf("test_ops: %s mode, CPU path by default %s, CUDA in build: %s, CUDA devices: %d\n",
           opt.mode == OP_QUICK ? "quick" : "full", ax_cpu_path_name(ax_cpu_path_active()),
           ax_build_has_cuda() ? "yes" : "no", ax_cuda_device_count());
    const int64_t runs = op_run_tables(all_tables, (int)(sizeof all_tables / sizeof all_tables[0]), &opt);
    if (runs == 0 && th_failures == 0) {
        printf("nothing could run: no wanted backend is available here (%d checks)\n",
               th_checks);
        return 77;
    }
    printf("%lld runs\n", (long long)runs);
    return th_finish();
}
