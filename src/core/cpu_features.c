/*
 * cpu_features.c — what the CPU supports (CPUID + XGETBV) and which kernel path is active.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#if defined(__x86_64__) && defined(__linux__)
/* syscall() is outside the POSIX names the build asks for. */
#define _DEFAULT_SOURCE 1
#endif

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

#if defined(__x86_64__) && defined(__linux__)
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Kernel ABI values (asm/prctl.h and the XSAVE state numbering, Linux 5.16+), spelled out because
 * older kernel headers lack them; an older kernel answers EINVAL, which reads as "not granted". */
#define AX_ARCH_REQ_XCOMP_PERM 0x1023
#define AX_XFEATURE_XTILEDATA 18

/* Linux enables the 8 KiB tile state lazily: a process that touches a tile register without having
 * asked gets SIGILL. Asking is process-wide and idempotent, so concurrent first calls are harmless,
 * but it cannot be undone and afterwards the kernel refuses signal stacks too small for the tile
 * state: an application that cannot accept that sets AXIAL_AMX=0 and AMX is reported not granted.
 * errno is restored because a failed ask is an answer here, not an error for the caller. */
static int amx_request_permission(void) {
    const char *opt = getenv("AXIAL_AMX");
    if (opt != NULL && strcmp(opt, "0") == 0) return 0;
    const int saved_errno = errno;
    const int granted = syscall(SYS_arch_prctl, AX_ARCH_REQ_XCOMP_PERM, AX_XFEATURE_XTILEDATA) == 0;
    errno = saved_errno;
    return granted;
}
#elif defined(__x86_64__) || defined(__i386__)
/* Elsewhere there is no per-process grant to check (and 32-bit code cannot use tiles), so AMX is
 * never reported usable. */
static int amx_request_permission(void) { return 0; }
#endif

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static uint64_t read_xcr0(void) {
    uint32_t eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((uint64_t)edx << 32) | eax;
}

/* AMX flags from CPUID leaf 7 EDX, and the grant. A future AMX kernel must also load a tile
 * configuration (LDTILECFG) on every thread that runs it, since the configuration is per-thread
 * state that starts empty, and release it (TILERELEASE) when done; the grant alone is not enough. */
static uint32_t detect_amx(unsigned leaf7_edx, int os_tiles) {
    uint32_t flags = 0;
    if ((leaf7_edx >> 24) & 1) flags |= AX_CPU_HAS_AMX_TILE;
    if ((leaf7_edx >> 22) & 1) flags |= AX_CPU_HAS_AMX_BF16;
    if ((leaf7_edx >> 25) & 1) flags |= AX_CPU_HAS_AMX_INT8;
    /* Only ask on a CPU and OS with tiles, so other machines never take on the grant's cost. */
    if ((flags & AX_CPU_HAS_AMX_TILE) && os_tiles && amx_request_permission()) flags |= AX_CPU_AMX_GRANTED;
    return flags;
}

static uint32_t detect_features(void) {
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
    const int has_osxsave = (ecx >> 27) & 1;
    const int has_fma = (ecx >> 12) & 1;
    const int has_f16c = (ecx >> 29) & 1;
    if (!has_osxsave) return 0;
    /* The OS must save the wide registers, or using them corrupts state across context switches. */
    const uint64_t xcr0 = read_xcr0();
    const int os_ymm = (xcr0 & 0x6) == 0x6;
    const int os_zmm = (xcr0 & 0xe6) == 0xe6;
    const int os_tiles = (xcr0 & 0x60000) == 0x60000; /* XTILECFG (17) and XTILEDATA (18) */
    if (!os_ymm) return 0;

    uint32_t flags = 0;
    if (has_fma) flags |= AX_CPU_HAS_FMA;
    if (has_f16c) flags |= AX_CPU_HAS_F16C;
    if (__get_cpuid_max(0, NULL) < 7) return flags;
    __cpuid_count(7, 0, eax, ebx, ecx, edx);
    const unsigned leaf7_max_subleaf = eax;
    if ((ebx >> 5) & 1) flags |= AX_CPU_HAS_AVX2;
    if (os_zmm) {
        if ((ebx >> 16) & 1) flags |= AX_CPU_HAS_AVX512F;
        if ((ebx >> 17) & 1) flags |= AX_CPU_HAS_AVX512DQ;
        if ((ebx >> 30) & 1) flags |= AX_CPU_HAS_AVX512BW;
        if ((ebx >> 31) & 1) flags |= AX_CPU_HAS_AVX512VL;
        /* AXIAL_VNNI=0 hides VNNI, so one machine runs the avx512 path both ways. */
        const char *vnni_opt = getenv("AXIAL_VNNI");
        if (((ecx >> 11) & 1) && !(vnni_opt != NULL && strcmp(vnni_opt, "0") == 0)) flags |= AX_CPU_HAS_AVX512VNNI;
        /* Subleaf 1 exists only when subleaf 0 says so; otherwise its registers are not defined. */
        if (leaf7_max_subleaf >= 1) {
            unsigned a1, b1, c1, d1;
            __cpuid_count(7, 1, a1, b1, c1, d1);
            /* AXIAL_BF16=0 hides AVX512-BF16, so the bf16 kernels' fp32 alternatives run too. */
            const char *bf16_opt = getenv("AXIAL_BF16");
            if (((a1 >> 5) & 1) && !(bf16_opt != NULL && strcmp(bf16_opt, "0") == 0)) flags |= AX_CPU_HAS_AVX512BF16;
        }
    }
    return flags | detect_amx(edx, os_tiles);
}
#else
static uint32_t detect_features(void) { return 0; }
#endif

uint32_t ax_cpu_features(void) {
    /* Threads that race here all compute the same value; the flags live in one atomic word (bit 31
     * marks it known), so the race is well defined and kernels running in OpenMP regions read it
     * safely. */
    static _Atomic uint32_t cached;
    uint32_t v = atomic_load_explicit(&cached, memory_order_relaxed);
    if (!(v & 0x80000000u)) {
        v = detect_features() | 0x80000000u;
        atomic_store_explicit(&cached, v, memory_order_relaxed);
    }
    return v & 0x7fffffffu;
}

static int path_supported(ax_cpu_path path) {
    const uint32_t f = ax_cpu_features();
    const uint32_t avx2_set = AX_CPU_HAS_AVX2 | AX_CPU_HAS_FMA | AX_CPU_HAS_F16C;
    const uint32_t avx512_set = avx2_set | AX_CPU_HAS_AVX512F | AX_CPU_HAS_AVX512BW |
                                AX_CPU_HAS_AVX512VL | AX_CPU_HAS_AVX512DQ;
    switch (path) {
    case AX_CPU_PATH_AUTO:
    case AX_CPU_PATH_PORTABLE: return 1;
    case AX_CPU_PATH_AVX2: return (f & avx2_set) == avx2_set;
    case AX_CPU_PATH_AVX512: return (f & avx512_set) == avx512_set;
    }
    return 0;
}

static ax_cpu_path best_path(void) {
    if (path_supported(AX_CPU_PATH_AVX512)) return AX_CPU_PATH_AVX512;
    if (path_supported(AX_CPU_PATH_AVX2)) return AX_CPU_PATH_AVX2;
    return AX_CPU_PATH_PORTABLE;
}

/* The cap from AXIAL_CPU_PATH; an unknown value is ignored (logged), never fatal. */
static ax_cpu_path env_cap_read(void) {
    const char *v = getenv("AXIAL_CPU_PATH");
    if (v == NULL || v[0] == '\0') return AX_CPU_PATH_AUTO;
    if (strcmp(v, "portable") == 0) return AX_CPU_PATH_PORTABLE;
    if (strcmp(v, "avx2") == 0) return AX_CPU_PATH_AVX2;
    if (strcmp(v, "avx512") == 0) return AX_CPU_PATH_AVX512;
    ax_log_debug("AXIAL_CPU_PATH=%s is not one of portable, avx2, avx512; ignored", v);
    return AX_CPU_PATH_AUTO;
}

/* Read once: kernels ask for the path per row, and getenv scans the whole environment. Benign race. */
static ax_cpu_path env_cap(void) {
    static int known;
    static ax_cpu_path cached;
    if (!known) {
        cached = env_cap_read();
        known = 1;
    }
    return cached;
}

static ax_cpu_path override_path = AX_CPU_PATH_AUTO;
static int override_set;

ax_cpu_path ax_cpu_path_resolved(void) {
    ax_cpu_path best = best_path();
    ax_cpu_path cap = override_set ? override_path : env_cap();
    if (cap != AX_CPU_PATH_AUTO && cap < best) return cap;
    return best;
}

ax_cpu_path ax_cpu_path_active(void) { return ax_cpu_path_resolved(); }

ax_status ax_cpu_path_set(ax_cpu_path path) {
    if (path < AX_CPU_PATH_AUTO || path > AX_CPU_PATH_AVX512)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "path: %d is not an ax_cpu_path", (int)path);
    if (!path_supported(path))
        return ax_set_error(AX_ERR_UNSUPPORTED, "path: this CPU does not support the %s path",
                            ax_cpu_path_name(path));
    override_path = path;
    override_set = path != AX_CPU_PATH_AUTO;
    return AX_OK;
}

const char *ax_cpu_path_name(ax_cpu_path path) {
    switch (path) {
    case AX_CPU_PATH_AUTO: return "auto";
    case AX_CPU_PATH_PORTABLE: return "portable";
    case AX_CPU_PATH_AVX2: return "avx2";
    case AX_CPU_PATH_AVX512: return "avx512";
    }
    return "unknown";
}
