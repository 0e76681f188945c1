/*
 * axial.c — the `axial` command-line program. Each area adds a subcommand to the table below.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "axial/axial.h"
#include "cli.h"


static const char *yes_no(int v) { return v ? "yes" : "no"; }

/* For a subcommand that takes no arguments: -1 to go on; else the exit status, after its usage for
 * --help (0) or a message naming the unexpected argument (2). */
static int no_arguments(const char *name, const char *what, int argc, char **argv) {
    if (argc <= 1) return -1;
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: axial %s\n\n%s. Takes no options.\n", name, what);
        return 0;
    }
    fprintf(stderr, "axial %s: unexpected argument '%s' (it takes none)\n", name, argv[1]);
    return 2;
}

static int cmd_version(int argc, char **argv) {
    const int rc = no_arguments("version", "Prints Axial's version", argc, argv);
    if (rc >= 0) return rc;
    printf("axial %s\n", ax_version_string());
    return 0;
}

static int cmd_info(int argc, char **argv) {
    const int rc = no_arguments("info", "Prints the build's options, the CPU's features and the kernels chosen, and "
                                        "the CUDA devices", argc, argv);
    if (rc >= 0) return rc;
    const uint32_t f = ax_cpu_features();
    printf("axial %s\n", ax_version_string());
    printf("build:\n");
    printf("  cuda      %s\n", yes_no(ax_build_has_cuda()));
    printf("  mpi       %s\n", yes_no(ax_build_has_mpi()));
    printf("  nccl      %s\n", yes_no(ax_build_has_nccl()));
    printf("  hdf5      %s\n", yes_no(ax_build_has_hdf5()));
    printf("  png       %s\n", yes_no(ax_build_has_png()));
    printf("  openmp    %s\n", yes_no(ax_build_has_openmp()));
    printf("cpu:\n");
    /* amx= is what a kernel could use (the OS granted it); cpu: is CPUID, so "amx=no (cpu: yes)"
     * points at the kernel or a sandbox rather than the hardware. */
    char amx_cpu[32] = "no";
    if (f & AX_CPU_HAS_AMX_TILE)
        snprintf(amx_cpu, sizeof amx_cpu, "yes%s%s", (f & AX_CPU_HAS_AMX_BF16) ? ", bf16" : "",
                 (f & AX_CPU_HAS_AMX_INT8) ? ", int8" : "");
    printf("  features  avx2=%s fma=%s f16c=%s avx512f=%s avx512bw=%s avx512vl=%s avx512dq=%s avx512vnni=%s "
           "avx512bf16=%s amx=%s (cpu: %s)\n",
           yes_no(f & AX_CPU_HAS_AVX2), yes_no(f & AX_CPU_HAS_FMA), yes_no(f & AX_CPU_HAS_F16C),
           yes_no(f & AX_CPU_HAS_AVX512F), yes_no(f & AX_CPU_HAS_AVX512BW), yes_no(f & AX_CPU_HAS_AVX512VL),
           yes_no(f & AX_CPU_HAS_AVX512DQ), yes_no(f & AX_CPU_HAS_AVX512VNNI), yes_no(f & AX_CPU_HAS_AVX512BF16),
           yes_no(f & AX_CPU_AMX_GRANTED), amx_cpu);
    printf("  kernels   %s\n", ax_cpu_path_name(ax_cpu_path_active()));
    printf("  amx tiles %s\n", ax_cpu_amx_tiles());
    if (ax_blas_core_lags_cpu())
        printf("  blas      OpenBLAS core %s: older than this CPU, sgemm runs slow kernels; set "
               "OPENBLAS_CORETYPE=%s\n",
               ax_blas_core(), ax_blas_core_suggestion());
    else
        printf("  blas      OpenBLAS core %s\n", ax_blas_core());
    ax_context *ctx = NULL;
    if (ax_context_create(&ctx, NULL) == AX_OK) {
        printf("  threads   %d\n", (int)ax_context_num_threads(ctx));
        ax_context_destroy(ctx);
    } else {
        printf("  threads   unknown (%s)\n", ax_last_error());
    }
    printf("gpu:\n");
    const int count = ax_cuda_device_count();
    if (count == 0) {
        printf("  %s\n", ax_build_has_cuda() ? "no CUDA device" : "no CUDA device (this build has no CUDA)");
    }
    for (int i = 0; i < count; i++) {
        char name[256];
        int64_t mem = 0;
        if (ax_cuda_device_info(i, name, sizeof name, &mem) == AX_OK)
            printf("  cuda:%d    %s, %.1f GiB\n", i, name, (double)mem / (1024.0 * 1024.0 * 1024.0));
        else
            printf("  cuda:%d    unavailable: %s\n", i, ax_last_error());
    }
    return 0;
}

typedef struct subcommand {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} subcommand;

static const subcommand subcommands[] = {
    {"info", cmd_info, "build options, CPU features and kernels in use, threads, GPUs"},
    {"attention", axial_cmd_attention, "run Evoformer attention forward+backward on random data and time it"},
    {"demo", axial_cmd_demo, "the main job: samples -> feature store -> batch -> attention -> figures"},
    {"features", axial_cmd_features, "build, show and plot an HDF5 feature store"},
    {"gguf", axial_cmd_gguf, "show a GGUF model file's metadata and tensors"},
    {"tokenize", axial_cmd_tokenize, "print the token ids of a text under a model's tokenizer"},
    {"generate", axial_cmd_generate, "generate text with a GGUF model (CPU or CUDA)"},
    {"serve", axial_cmd_serve, "serve a GGUF model over HTTP with an OpenAI-compatible API"},
    {"version", cmd_version, "print the version"},
};

static void usage(FILE *out) {
    fprintf(out, "usage: axial [--version] <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
        fprintf(out, "  %-10s %s\n", subcommands[i].name, subcommands[i].help);
    fprintf(out, "\n`axial <command> --help` describes a command's options.\n");
}

static int is_listed(const char *arg, const char *const *names) {
    for (; *names != NULL; names++)
        if (strcmp(arg, *names) == 0) return 1;
    return 0;
}

static int is_listed_n(const char *arg, const char *const *names, int n) {
    for (int k = 0; k < n; k++)
        if (strcmp(arg, names[k]) == 0) return 1;
    return 0;
}

int axial_refuse_repeated_options(int argc, char *const *argv, const char *cmd, const char *const *value_options) {
    const char *seen[64]; /* every subcommand has fewer value options */
    const char *repeated = NULL; /* the first one seen twice, named unless --help comes later */
    int n = 0;
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return 0; /* the parser prints it */
        if (!is_listed(argv[i], value_options)) continue;
        if (repeated == NULL && is_listed_n(argv[i], seen, n)) repeated = argv[i];
        if (n < (int)(sizeof seen / sizeof seen[0])) seen[n++] = argv[i];
        i++; /* its value */
    }
    if (repeated == NULL) return 0;
    fprintf(stderr, "axial %s: %s given twice (see `axial %s --help`)\n", cmd, repeated, cmd);
    return 2;
}

/* The reason of the first failed flush of stdout; 0 while none has failed. */
static int stdout_errno;

int axial_flush_stdout(void) {
    errno = 0;
    if (fflush(stdout) == 0 && !ferror(stdout)) return 0;
    if (stdout_errno == 0) stdout_errno = errno != 0 ? errno : EIO;
    return -1;
}

/* Output that could not be written (a full disk, /dev/full, a pipe whose reader left while SIGPIPE is
 * ignored) fails the command with a message, whichever command printed it: checked once, here, after
 * it returns. A command that has already failed keeps its status. */
static int finish_stdout(int rc) {
    if (axial_flush_stdout() == 0) return rc;
    fprintf(stderr, "axial: writing to standard output: %s\n", strerror(stdout_errno));
    return rc != 0 ? rc : 1;
}

static int run_command(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) return cmd_version(argc - 1, argv + 1);
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
        if (strcmp(argv[1], subcommands[i].name) == 0) return subcommands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "axial: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}

int main(int argc, char **argv) { return finish_stdout(run_command(argc, argv)); }
