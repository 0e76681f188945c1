/*
 * amx.c — AMX tiles (amx.h): the configuration, a scalar model of the tile instructions for machines
 * without AMX, and the bf16 tile product.
 *
 * The instructions are inline assembly (the AX_TILE_* macros below) rather than GCC's
 * <amxtileintrin.h>: that header's tileloadd and ldtilecfg statements tell the compiler they read
 * only a pointer (no memory operand or clobber), so stores into a buffer just before a tile load of
 * it may legally be moved past it. Every statement here clobbers memory, which keeps them in program
 * order with the packing code. No compiler flag is needed for them (the assembler knows the
 * instructions); they only ever run when ax_amx_mode() found AMX and the OS grant.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "core/cpu/amx.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

#ifdef AX_AMX_ASM /* amx.h: the build's assembler knows the tile instructions */
#include <cpuid.h>
#endif

/* The LDTILECFG operand (palette 1): tile t is rows[t] rows of colsb[t] bytes. */
typedef struct amx_config {
    uint8_t palette;
    uint8_t start_row;
    uint8_t reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} amx_config;
_Static_assert(sizeof(amx_config) == 64, "LDTILECFG reads 64 bytes");

#define AMX_TILES 8
#define AMX_ROWS 16
#define AMX_ROW_BYTES 64

/* ---- the scalar model ----------------------------------------------------------------------------
 * Per thread, like the hardware's state. It follows the SDM's pseudocode for TILELOADD, TILESTORED,
 * TILEZERO and TDPBF16PS: rows and bytes per row from the loaded configuration, loads zero the rest
 * of a tile, the product's shapes must agree (C rows = A rows, A bytes per row = 4 x B rows, C
 * bytes = B bytes), bf16 denormal inputs read as zero and denormal sums flush to zero. Where the
 * hardware would fault (no configuration, shapes that disagree) the model fills the result with
 * NaN bytes instead, so a test sees it. */
static _Thread_local struct {
    int configured;
    amx_config cfg;
    uint8_t tile[AMX_TILES][AMX_ROWS][AMX_ROW_BYTES];
} emu;

static void emu_poison(int t) { memset(emu.tile[t], 0xff, sizeof emu.tile[t]); }

/* Tile t is usable: a configuration is loaded and gives t rows and bytes (a tile left at 0 x 0 is
 * not configured, and an instruction on it faults). */
static int emu_valid(int t) { return emu.configured && emu.cfg.rows[t] > 0 && emu.cfg.colsb[t] > 0; }

static void emu_config(const amx_config *cfg) {
    emu.cfg = *cfg;
    emu.configured = cfg->palette == 1;
    for (int t = 0; t < AMX_TILES; t++) {
        if (cfg->rows[t] > AMX_ROWS || cfg->colsb[t] > AMX_ROW_BYTES) emu.configured = 0;
        memset(emu.tile[t], 0, sizeof emu.tile[t]);
    }
}

static void emu_release(void) {
    emu.configured = 0;
    memset(emu.tile, 0, sizeof emu.tile);
}

static void emu_load(int t, const void *base, int64_t stride) {
    if (!emu_valid(t)) {
        emu_poison(t);
        return;
    }
    memset(emu.tile[t], 0, sizeof emu.tile[t]);
    for (int r = 0; r < emu.cfg.rows[t]; r++) memcpy(emu.tile[t][r], (const char *)base + r * stride, emu.cfg.colsb[t]);
}

/* Without any configuration the model writes 16 rows of 64 NaN bytes (the shape every caller's tiles
 * have today), so a kernel that forgot ax_amx_begin fails its tests; a tile left unconfigured in a
 * loaded configuration stores nothing. */
static void emu_store(int t, void *base, int64_t stride) {
    const int rows = emu.configured ? emu.cfg.rows[t] : AMX_ROWS;
    const int bytes = emu.configured ? emu.cfg.colsb[t] : AMX_ROW_BYTES;
    for (int r = 0; r < rows; r++) {
        if (emu.configured) memcpy((char *)base + r * stride, emu.tile[t][r], (size_t)bytes);
        else memset((char *)base + r * stride, 0xff, (size_t)bytes);
    }
}

static void emu_zero(int t) {
    if (!emu_valid(t)) emu_poison(t);
    else memset(emu.tile[t], 0, sizeof emu.tile[t]);
}

static float emu_bf16(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, sizeof h);
    if ((h & 0x7f80u) == 0) h &= 0x8000u; /* denormal (or zero) in: signed zero */
    const uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static float emu_flush(float x) { return fpclassify(x) == FP_SUBNORMAL ? copysignf(0.0f, x) : x; }

/* The shape of c += a . b from the configuration (M rows, N 4-byte columns, K 4-byte groups), or 0
 * with c poisoned where the hardware would fault: a tile not configured, the same tile twice, or
 * shapes that disagree. */
static int emu_product_shape(int c, int a, int b, int *M, int *N, int *K) {
    const amx_config *g = &emu.cfg;
    if (!emu_valid(c) || !emu_valid(a) || !emu_valid(b) || a == c || b == c || a == b || g->rows[c] != g->rows[a] ||
        g->colsb[a] != 4 * g->rows[b] || g->colsb[c] != g->colsb[b] || g->colsb[c] % 4 != 0 || g->colsb[a] % 4 != 0) {
        emu_poison(c);
        return 0;
    }
    *M = g->rows[c], *N = g->colsb[c] / 4, *K = g->colsb[a] / 4;
    return 1;
}

static void emu_dpbf16ps(int c, int a, int b) {
    int M, N, K;
    if (!emu_product_shape(c, a, b, &M, &N, &K)) return;
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            float acc;
            memcpy(&acc, &emu.tile[c][m][4 * n], sizeof acc);
            for (int k = 0; k < K; k++) {
                acc = emu_flush(fmaf(emu_bf16(&emu.tile[a][m][4 * k]), emu_bf16(&emu.tile[b][k][4 * n]), acc));
                acc = emu_flush(fmaf(emu_bf16(&emu.tile[a][m][4 * k + 2]), emu_bf16(&emu.tile[b][k][4 * n + 2]), acc));
            }
            memcpy(&emu.tile[c][m][4 * n], &acc, sizeof acc);
        }
}

/* ---- the instructions -----------------------------------------------------------------------------
 * AX_TILE_x(hw, ...) runs the instruction when hw is nonzero (mode AX_AMX_HARDWARE) and the model
 * above otherwise; tile numbers are literals 0..7; strides in bytes. The assembly clobbers memory,
 * so it stays in order with the code around it (GCC's <amxtileintrin.h> tile loads do not, which is
 * why they are not used). Builds whose assembler lacks the instructions (AXIAL_ASM_AMX unset by
 * CMake) have only the model. */

#ifdef AX_AMX_ASM
#define AX_TILE_LOAD(hw, t, base, stride)                                                                         \
    do {                                                                                                          \
        if (hw) __asm__ volatile("tileloadd (%0,%1,1), %%tmm" #t ::"r"(base), "r"((int64_t)(stride)) : "memory"); \
        else emu_load(t, base, stride);                                                                           \
    } while (0)
#define AX_TILE_STORE(hw, t, base, stride)                                                                            \
    do {                                                                                                              \
        if (hw) __asm__ volatile("tilestored %%tmm" #t ", (%0,%1,1)" ::"r"(base), "r"((int64_t)(stride)) : "memory"); \
        else emu_store(t, base, stride);                                                                              \
    } while (0)
#define AX_TILE_ZERO(hw, t)                                         \
    do {                                                            \
        if (hw) __asm__ volatile("tilezero %%tmm" #t ::: "memory"); \
        else emu_zero(t);                                           \
    } while (0)
/* AT&T order: "tdpbf16ps b, a, c" computes c += a . b. */
#define AX_TILE_DPBF16PS(hw, c, a, b)                                                          \
    do {                                                                                       \
        if (hw) __asm__ volatile("tdpbf16ps %%tmm" #b ", %%tmm" #a ", %%tmm" #c ::: "memory"); \
        else emu_dpbf16ps(c, a, b);                                                            \
    } while (0)
#else
/* Without the instructions every AX_TILE_* goes to the model; ax_amx_mode_here then never answers
 * AX_AMX_HARDWARE. */
#define AX_TILE_LOAD(hw, t, base, stride) ((void)(hw), emu_load(t, base, stride))
#define AX_TILE_STORE(hw, t, base, stride) ((void)(hw), emu_store(t, base, stride))
#define AX_TILE_ZERO(hw, t) ((void)(hw), emu_zero(t))
#define AX_TILE_DPBF16PS(hw, c, a, b) ((void)(hw), emu_dpbf16ps(c, a, b))
#endif

/* The CPU's palette 1 holds at least 8 tiles of 16 rows of 64 bytes (CPUID leaf 0x1D), the shape
 * every product here uses. */
static int amx_palette_fits(void) {
#ifdef AX_AMX_ASM
    if (__get_cpuid_max(0, NULL) < 0x1d) return 0;
    unsigned eax, ebx, ecx, edx;
    __cpuid_count(0x1d, 0, eax, ebx, ecx, edx);
    if (eax < 1) return 0; /* highest palette */
    __cpuid_count(0x1d, 1, eax, ebx, ecx, edx);
    const unsigned bytes_per_row = ebx & 0xffffu, names = ebx >> 16, max_rows = ecx & 0xffffu;
    return bytes_per_row >= AMX_ROW_BYTES && names >= AMX_TILES && max_rows >= AMX_ROWS;
#else
    return 0;
#endif
}

static ax_amx_mode_t amx_detect(void) {
    const char *opt = getenv("AXIAL_AMX");
    if (opt != NULL && strcmp(opt, "0") == 0) return AX_AMX_NONE;
    if (opt != NULL && strcmp(opt, "emulate") == 0) return AX_AMX_EMULATED;
    const uint32_t need = AX_CPU_HAS_AMX_BF16 | AX_CPU_HAS_AMX_INT8 | AX_CPU_AMX_GRANTED;
    if ((ax_cpu_features() & need) == need && amx_palette_fits()) return AX_AMX_HARDWARE;
    return AX_AMX_NONE;
}

ax_amx_mode_t ax_amx_mode(void) {
    /* Racing first calls compute the same value (see ax_cpu_features). */
    static _Atomic int cached = -1;
    int v = atomic_load_explicit(&cached, memory_order_relaxed);
    if (v < 0) {
        v = (int)amx_detect();
        atomic_store_explicit(&cached, v, memory_order_relaxed);
    }
    return (ax_amx_mode_t)v;
}

const char *ax_cpu_amx_tiles(void) {
    if (ax_cpu_path_resolved() != AX_CPU_PATH_AVX512) return "none";
    switch (ax_amx_mode()) {
    case AX_AMX_HARDWARE: return "hardware";
    case AX_AMX_EMULATED: return "emulated";
    default: return "none";
    }
}

/* Every tile 16 rows of 64 bytes: ax_amx_bf16_gemm's C tiles 0-3 (16 x 16 fp32), a's 4-5 (16 rows x
 * 16 pairs), b's 6-7 (16 pair rows x 16 columns); the attention kernels' tiles are all its. */
void ax_amx_begin(ax_amx_mode_t mode) {
    if (mode == AX_AMX_NONE) return;
    _Alignas(64) amx_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < AMX_TILES; t++) {
        cfg.rows[t] = AMX_ROWS;
        cfg.colsb[t] = AMX_ROW_BYTES;
    }
    if (mode == AX_AMX_EMULATED) emu_config(&cfg);
#ifdef AX_AMX_ASM
    else __asm__ volatile("ldtilecfg %0" ::"m"(cfg) : "memory");
#endif
}

void ax_amx_end(ax_amx_mode_t mode) {
    if (mode == AX_AMX_EMULATED) emu_release();
#ifdef AX_AMX_ASM
    else if (mode == AX_AMX_HARDWARE) __asm__ volatile("tilerelease" ::: "memory");
#endif
}

void ax_amx_bf16_gemm(ax_amx_mode_t mode, int64_t m, int64_t n, int64_t np, const uint32_t *a, int64_t lda,
                      const uint32_t *b, int64_t ldb, float *c, int64_t ldc, int accumulate) {
    const int hw = mode == AX_AMX_HARDWARE;
    const int64_t sa = lda * 4, sb = ldb * 4, sc = ldc * 4; /* strides in bytes */
    /* A 32 x 32 block of c in four tiles: each a tile and b tile loaded feeds two products. */
    for (int64_t i = 0; i < m; i += AX_AMX_BLOCK)
        for (int64_t j = 0; j < n; j += AX_AMX_BLOCK) {
            float *c0 = c + i * ldc + j, *c2 = c0 + 16 * ldc;
            if (accumulate) {
                AX_TILE_LOAD(hw, 0, c0, sc);
                AX_TILE_LOAD(hw, 1, c0 + 16, sc);
                AX_TILE_LOAD(hw, 2, c2, sc);
                AX_TILE_LOAD(hw, 3, c2 + 16, sc);
            } else {
                AX_TILE_ZERO(hw, 0);
                AX_TILE_ZERO(hw, 1);
                AX_TILE_ZERO(hw, 2);
                AX_TILE_ZERO(hw, 3);
            }
            for (int64_t p = 0; p < np; p += AX_AMX_PAIRS) {
                AX_TILE_LOAD(hw, 4, a + i * lda + p, sa);
                AX_TILE_LOAD(hw, 5, a + (i + 16) * lda + p, sa);
                AX_TILE_LOAD(hw, 6, b + p * ldb + j, sb);
                AX_TILE_LOAD(hw, 7, b + p * ldb + j + 16, sb);
                AX_TILE_DPBF16PS(hw, 0, 4, 6);
                AX_TILE_DPBF16PS(hw, 1, 4, 7);
                AX_TILE_DPBF16PS(hw, 2, 5, 6);
                AX_TILE_DPBF16PS(hw, 3, 5, 7);
            }
            AX_TILE_STORE(hw, 0, c0, sc);
            AX_TILE_STORE(hw, 1, c0 + 16, sc);
            AX_TILE_STORE(hw, 2, c2, sc);
            AX_TILE_STORE(hw, 3, c2 + 16, sc);
        }
}
