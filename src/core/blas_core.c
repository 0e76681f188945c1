/*
 * blas_core.c — which kernels OpenBLAS runs on this CPU (ax_blas_core, ax_blas_core_lags_cpu,
 * ax_blas_core_suggestion).
 *
 * OpenBLAS built with DYNAMIC_ARCH (Debian's) picks its kernels from the CPU model when it loads. A
 * model newer than the library (Emerald Rapids under Debian 12's 0.3.21, for one) falls back to the
 * generic "Prescott" SSE kernels, and ax_gemm's fp32 calls run 4-5x slower without any error. The
 * override, OPENBLAS_CORETYPE, is read when OpenBLAS loads, before any Axial code runs, so Axial can
 * only report the mismatch (axial info, the benchmarks' notes).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <cblas.h>
#include <ctype.h>
#include <stdint.h>
#include <string.h>

#include "axial/axial.h"

const char *ax_blas_core(void) {
    const char *name = openblas_get_corename();
    return name != NULL ? name : "";
}

int ax_blas_core_lags_cpu(void) {
    const uint32_t f = ax_cpu_features();
    if (!(f & AX_CPU_HAS_AVX2) || !(f & AX_CPU_HAS_FMA)) return 0;
    /* OpenBLAS's x86 kernel families without AVX2 or FMA (its corename strings, compared in lower
     * case: a build for one target reports it in upper case). */
    static const char *const older[] = {"unknown",  "generic",     "katmai",    "coppermine", "northwood",
                                        "prescott", "banias",      "atom",      "core2",      "penryn",
                                        "dunnington", "nehalem",   "sandybridge", "athlon",   "opteron",
                                        "opteron_sse3", "barcelona", "bobcat",  "bulldozer",  "piledriver",
                                        "steamroller", "nano"};
    char lower[32];
    const char *name = ax_blas_core();
    size_t n = 0;
    for (; name[n] != '\0' && n + 1 < sizeof lower; n++) lower[n] = (char)tolower((unsigned char)name[n]);
    lower[n] = '\0';
    for (size_t i = 0; i < sizeof older / sizeof older[0]; i++)
        if (strcmp(lower, older[i]) == 0) return 1;
    return 0;
}

const char *ax_blas_core_suggestion(void) {
    const uint32_t f = ax_cpu_features();
    const uint32_t avx512 = AX_CPU_HAS_AVX512F | AX_CPU_HAS_AVX512BW | AX_CPU_HAS_AVX512VL | AX_CPU_HAS_AVX512DQ;
    if ((f & avx512) == avx512) return "SkylakeX";
    if ((f & AX_CPU_HAS_AVX2) && (f & AX_CPU_HAS_FMA)) return "Haswell";
    return "";
}
