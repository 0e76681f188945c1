/*
 * test_cpu_dispatch.c — CPU feature detection and the path override (API and environment).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#if defined(__x86_64__) && defined(__linux__)
/* syscall() is outside the POSIX names the build asks for. */
#define _DEFAULT_SOURCE 1
#endif

#include <stdio.h>

#include "harness.h"

#if defined(__x86_64__) && defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

/* /proc/cpuinfo is an independent witness of what the CPU has (Linux x86 only). */
static int cpuinfo_has(const char *flag) {
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f == NULL) return -1;
    char line[8192];
    int found = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "flags", 5) != 0) continue;
        char needle[64];
        snprintf(needle, sizeof needle, " %s ", flag);
        size_t len = strlen(line);
        if (len > 0 && line[len - 1] == '\n') line[len - 1] = ' ';
        found = strstr(line, needle) != NULL;
        break;
    }
    fclose(f);
    return found;
}

static void test_features_match_cpuinfo(void) {
#if defined(__x86_64__)
    const uint32_t f = ax_cpu_features();
    const struct { uint32_t bit; const char *flag; } pairs[] = {
        {AX_CPU_HAS_AVX2, "avx2"},         {AX_CPU_HAS_FMA, "fma"},           {AX_CPU_HAS_F16C, "f16c"},
        {AX_CPU_HAS_AVX512F, "avx512f"},   {AX_CPU_HAS_AVX512BW, "avx512bw"}, {AX_CPU_HAS_AVX512VL, "avx512vl"},
        {AX_CPU_HAS_AVX512DQ, "avx512dq"}, {AX_CPU_HAS_AVX512BF16, "avx512_bf16"},
        {AX_CPU_HAS_AVX512VNNI, "avx512_vnni"},
    };
    /* With AXIAL_VNNI=0 or AXIAL_BF16=0 the flag is hidden on purpose (test_hidden checks that). */
    const char *vnni_env = getenv("AXIAL_VNNI"), *bf16_env = getenv("AXIAL_BF16");
    const int vnni_hidden = vnni_env != NULL && strcmp(vnni_env, "0") == 0;
    const int bf16_hidden = bf16_env != NULL && strcmp(bf16_env, "0") == 0;
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        if (pairs[i].bit == AX_CPU_HAS_AVX512VNNI && vnni_hidden) continue;
        if (pairs[i].bit == AX_CPU_HAS_AVX512BF16 && bf16_hidden) continue;
        const int witness = cpuinfo_has(pairs[i].flag);
        if (witness < 0) {
            printf("  (no /proc/cpuinfo: skipped)\n");
            return;
        }
        if (((f & pairs[i].bit) != 0) != witness)
            TH_FAIL("feature %s: Axial says %d, /proc/cpuinfo says %d", pairs[i].flag, (f & pairs[i].bit) != 0, witness);
        th_checks++;
    }
#else
    printf("  (not x86-64: skipped)\n");
#endif
}

/* Rules any honest detection obeys on every machine, whatever the CPU has. */
static void test_feature_implications(void) {
    const uint32_t f = ax_cpu_features();
    CHECK_INT_EQ(ax_cpu_features(), f); /* cached: the same answer every call */
    if (f & AX_CPU_HAS_AVX512BF16) CHECK(f & AX_CPU_HAS_AVX512F);
    if (f & AX_CPU_HAS_AVX512VNNI) CHECK(f & AX_CPU_HAS_AVX512F);
    if (f & AX_CPU_AMX_GRANTED) CHECK(f & AX_CPU_HAS_AMX_TILE);
    const uint32_t known = AX_CPU_HAS_AVX2 | AX_CPU_HAS_FMA | AX_CPU_HAS_F16C | AX_CPU_HAS_AVX512F |
                           AX_CPU_HAS_AVX512BW | AX_CPU_HAS_AVX512VL | AX_CPU_HAS_AVX512DQ |
                           AX_CPU_HAS_AVX512BF16 | AX_CPU_HAS_AMX_TILE | AX_CPU_HAS_AMX_BF16 |
                           AX_CPU_HAS_AMX_INT8 | AX_CPU_AMX_GRANTED | AX_CPU_HAS_AVX512VNNI;
    CHECK_INT_EQ(f & ~known, 0);
#if !defined(__x86_64__) && !defined(__i386__)
    CHECK_INT_EQ(f, 0);
#elif !(defined(__x86_64__) && defined(__linux__))
    CHECK_INT_EQ(f & AX_CPU_AMX_GRANTED, 0);
#endif
}

/* AMX against two witnesses Axial does not consult: /proc/cpuinfo, and the kernel's own record of
 * what this process may use (ARCH_GET_XCOMP_PERM). cpuinfo can hide AMX the CPU has (a kernel
 * without tile support drops the flag), so that comparison runs one way only. */
static void test_amx_matches_kernel(void) {
#if defined(__x86_64__) && defined(__linux__)
    const uint32_t f = ax_cpu_features();
    const int granted = (f & AX_CPU_AMX_GRANTED) != 0;
    const int tile = cpuinfo_has("amx_tile");
    if (tile < 0) {
        printf("  (no /proc/cpuinfo: cpuinfo comparison skipped)\n");
    } else {
        if (tile) CHECK(f & AX_CPU_HAS_AMX_TILE);
        if (cpuinfo_has("amx_bf16") == 1) CHECK(f & AX_CPU_HAS_AMX_BF16);
        if (cpuinfo_has("amx_int8") == 1) CHECK(f & AX_CPU_HAS_AMX_INT8);
        if (granted) CHECK_INT_EQ(tile, 1);
    }
    /* Kernel ABI: ARCH_GET_XCOMP_PERM = 0x1022 stores the permitted XSAVE features; bit 18 is tile
     * data. Before Linux 5.16 the call fails, and then nothing can have been granted. */
    unsigned long long permitted = 0;
    const int queried = syscall(SYS_arch_prctl, 0x1022, &permitted) == 0;
    const int kernel_says_granted = queried && ((permitted >> 18) & 1);
    if (granted != kernel_says_granted)
        TH_FAIL("AMX granted: Axial says %d, arch_prctl(ARCH_GET_XCOMP_PERM) says %d (mask 0x%llx)", granted,
                kernel_says_granted, permitted);
    th_checks++;
#else
    printf("  (not Linux x86-64: skipped)\n");
#endif
}

static void test_override(void) {
    const ax_cpu_path best = ax_cpu_path_active();
    CHECK(best >= AX_CPU_PATH_PORTABLE && best <= AX_CPU_PATH_AVX512);
    CHECK_OK(ax_cpu_path_set(AX_CPU_PATH_PORTABLE));
    CHECK_INT_EQ(ax_cpu_path_active(), AX_CPU_PATH_PORTABLE);
    CHECK_OK(ax_cpu_path_set(AX_CPU_PATH_AUTO));
    CHECK_INT_EQ(ax_cpu_path_active(), best);
    if (!(ax_cpu_features() & AX_CPU_HAS_AVX512F)) {
        CHECK_STATUS(ax_cpu_path_set(AX_CPU_PATH_AVX512), AX_ERR_UNSUPPORTED);
        CHECK_CONTAINS(ax_last_error(), "does not support the avx512 path");
        CHECK_INT_EQ(ax_cpu_path_active(), best);
    }
    CHECK_STATUS(ax_cpu_path_set((ax_cpu_path)17), AX_ERR_INVALID_ARGUMENT);
    CHECK_STR_EQ(ax_cpu_path_name(AX_CPU_PATH_AVX2), "avx2");
}

/* Runs this binary again as `env self arg` and reads the first line it prints into out. Returns 1
 * when a line came back. */
static int run_child(const char *self, const char *env, const char *arg, char *out, size_t out_size) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s '%s' %s", env, self, arg);
    FILE *p = popen(cmd, "r");
    CHECK(p != NULL);
    if (p == NULL) return 0;
    const int got = fgets(out, (int)out_size, p) != NULL;
    CHECK(got);
    pclose(p);
    return got;
}

/* The environment variable caps the path for a whole process: run this binary again with it set. */
static void test_environment_cap(const char *self) {
    if (getenv("AXIAL_CPU_PATH") != NULL) return; /* we are the child */
    char out[64] = {0};
    if (run_child(self, "AXIAL_CPU_PATH=portable", "--print-path", out, sizeof out)) CHECK_STR_EQ(out, "portable\n");
}

/* AXIAL_VNNI=0 hides VNNI in a fresh process (the flags are read once) and leaves the rest alone. */
static void test_vnni_hidden(const char *self) {
    if (getenv("AXIAL_VNNI") != NULL) return; /* we are the child, or the caller set it */
    char out[64] = {0};
    if (!run_child(self, "AXIAL_VNNI=0", "--print-features", out, sizeof out)) return;
    const uint32_t child = (uint32_t)strtoul(out, NULL, 16);
    CHECK_INT_EQ(child & AX_CPU_HAS_AVX512VNNI, 0);
    CHECK_INT_EQ(child, ax_cpu_features() & ~AX_CPU_HAS_AVX512VNNI);
}

/* AXIAL_BF16=0 hides AVX512-BF16 and nothing else. */
static void test_bf16_hidden(const char *self) {
    if (getenv("AXIAL_BF16") != NULL) return;
    char out[64] = {0};
    if (!run_child(self, "AXIAL_BF16=0", "--print-features", out, sizeof out)) return;
    const uint32_t child = (uint32_t)strtoul(out, NULL, 16);
    CHECK_INT_EQ(child & AX_CPU_HAS_AVX512BF16, 0);
    CHECK_INT_EQ(child, ax_cpu_features() & ~AX_CPU_HAS_AVX512BF16);
}

/* Where tile products run (ax_cpu_amx_tiles): AXIAL_AMX=0 turns them off, AXIAL_AMX=emulate picks
 * the scalar model wherever the tile kernels' path (avx512) is active, and the hardware is reported
 * only with AMX-BF16 and AMX-INT8 granted by the OS. */
static void test_amx_tiles(const char *self) {
    if (getenv("AXIAL_AMX") != NULL) return;
    const uint32_t f = ax_cpu_features();
    const int tile_path = ax_cpu_path_active() == AX_CPU_PATH_AVX512;
    const int hardware = (f & AX_CPU_HAS_AMX_BF16) && (f & AX_CPU_HAS_AMX_INT8) && (f & AX_CPU_AMX_GRANTED);
    const char *here = ax_cpu_amx_tiles();
    if (strcmp(here, "hardware") == 0) CHECK(tile_path && hardware);
    else CHECK_STR_EQ(here, "none");
    char out[64] = {0};
    if (run_child(self, "AXIAL_AMX=0", "--print-amx", out, sizeof out)) CHECK_STR_EQ(out, "none\n");
    if (run_child(self, "AXIAL_AMX=emulate", "--print-amx", out, sizeof out))
        CHECK_STR_EQ(out, tile_path ? "emulated\n" : "none\n");
    if (run_child(self, "AXIAL_AMX=emulate AXIAL_CPU_PATH=avx2", "--print-amx", out, sizeof out))
        CHECK_STR_EQ(out, "none\n");
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--print-path") == 0) {
        printf("%s\n", ax_cpu_path_name(ax_cpu_path_active()));
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "--print-amx") == 0) {
        printf("%s\n", ax_cpu_amx_tiles());
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "--print-features") == 0) {
        printf("%x\n", (unsigned)ax_cpu_features());
        return 0;
    }
    RUN(test_features_match_cpuinfo);
    RUN(test_feature_implications);
    RUN(test_amx_matches_kernel);
    RUN(test_override);
    th_current = "test_environment_cap";
    test_environment_cap(argv[0]);
    printf("%s test_environment_cap\n", th_failures ? "FAIL" : "ok  ");
    const int before = th_failures;
    th_current = "test_vnni_hidden";
    test_vnni_hidden(argv[0]);
    th_current = "test_bf16_hidden";
    test_bf16_hidden(argv[0]);
    th_current = "test_amx_tiles";
    test_amx_tiles(argv[0]);
    printf("%s test_vnni_hidden, test_bf16_hidden, test_amx_tiles\n", th_failures > before ? "FAIL" : "ok  ");
    return th_finish();
}
