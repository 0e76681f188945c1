/*
 * kernels_avx512.c — the CPU Evoformer attention kernels built for the avx512 instruction set
 * (target flags set in CMakeLists.txt; dispatch in attention_cpu.c).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#define EVO_KERNELS_NAME evo_cpu_kernels_avx512
#include "evoformer/cpu/attention_cpu_body.inc"
