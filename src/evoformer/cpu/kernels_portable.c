/*
 * kernels_portable.c — the CPU Evoformer attention kernels built for the portable instruction set
 * (target flags set in CMakeLists.txt; dispatch in attention_cpu.c).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#define EVO_KERNELS_NAME evo_cpu_kernels_portable
#define EVO_THREAD_BYTES_NAME evo_cpu_thread_bytes
#include "evoformer/cpu/attention_cpu_body.inc"
