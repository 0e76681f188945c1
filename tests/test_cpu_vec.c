/*
 * test_cpu_vec.c — the width-generic CPU vector layer (src/core/cpu/vec.h) on every path the CPU
 * has (cpu_vec_body.inc, compiled once per path), and the widths the Evoformer kernels are really
 * built with: 16 lanes (512 bits) on avx512, 8 elsewhere. The widths are checked on every x86 build,
 * even where the CPU cannot run the avx512 code (reading a constant runs no AVX-512 instruction).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>

#include "evoformer/cpu/attention_cpu.h"
#include "harness.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define TEST_X86 1
#else
#define TEST_X86 0
#endif

int vec_lanes_portable(void);
int vec_selftest_portable(char *msg, size_t msg_len, int *checks);
#if TEST_X86
int vec_lanes_avx2(void);
int vec_selftest_avx2(char *msg, size_t msg_len, int *checks);
int vec_lanes_avx512(void);
int vec_selftest_avx512(char *msg, size_t msg_len, int *checks);
#endif

/* A build may predefine AX_VF_LANES (to run the 16-lane code without AVX-512); the library never does. */
#ifdef AX_VF_LANES
#define TEST_LANES_PORTABLE AX_VF_LANES
#define TEST_LANES_AVX2 AX_VF_LANES
#else
#define TEST_LANES_PORTABLE 8
#define TEST_LANES_AVX2 8
#endif

static void test_widths(void) {
    CHECK_INT_EQ(vec_lanes_portable(), TEST_LANES_PORTABLE);
    CHECK_INT_EQ(evo_cpu_vector_bytes_portable(), 4 * TEST_LANES_PORTABLE);
#if TEST_X86
    CHECK_INT_EQ(vec_lanes_avx2(), TEST_LANES_AVX2);
    CHECK_INT_EQ(evo_cpu_vector_bytes_avx2(), 4 * TEST_LANES_AVX2);
    CHECK_INT_EQ(vec_lanes_avx512(), 16);
    CHECK_INT_EQ(evo_cpu_vector_bytes_avx512(), 64); /* the avx512 Evoformer kernels use zmm vectors */
#endif
}

static void run_selftest(ax_cpu_path path, int (*selftest)(char *, size_t, int *)) {
    if (ax_cpu_path_set(path) != AX_OK) {
        printf("  (path %s not supported by this CPU: skipped)\n", ax_cpu_path_name(path));
        return;
    }
    char msg[256];
    int checks = 0;
    const int failures = selftest(msg, sizeof msg, &checks);
    th_checks += checks;
    if (failures != 0) TH_FAIL("path %s: %d failures, first: %s", ax_cpu_path_name(path), failures, msg);
    printf("  path %s: %d checks\n", ax_cpu_path_name(path), checks);
}

static void test_every_path(void) {
    run_selftest(AX_CPU_PATH_PORTABLE, vec_selftest_portable);
#if TEST_X86
    run_selftest(AX_CPU_PATH_AVX2, vec_selftest_avx2);
    run_selftest(AX_CPU_PATH_AVX512, vec_selftest_avx512);
#endif
    CHECK_OK(ax_cpu_path_set(AX_CPU_PATH_AUTO));
}

int main(void) {
    RUN(test_widths);
    RUN(test_every_path);
    return th_finish();
}
