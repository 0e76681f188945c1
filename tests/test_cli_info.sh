#!/usr/bin/env bash
# `axial info` exits 0 and its CPU answers agree with /proc/cpuinfo, a witness Axial does not read:
# each instruction-set feature, AMX as CPUID reports it, and the kernel path those features select;
# the BLAS line against OpenBLAS's own report.
# Usage: test_cli_info.sh AXIAL_CLI
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
set -u
out=$("$1" info)
rc=$?
printf '%s\n' "$out"
if [ "$rc" -ne 0 ]; then
    echo "FAIL: axial info exited $rc"
    exit 1
fi
features=$(printf '%s\n' "$out" | sed -n 's/^  features  //p')
kernels=$(printf '%s\n' "$out" | sed -n 's/^  kernels   //p')
if [ -z "$features" ] || [ -z "$kernels" ]; then
    echo "FAIL: no 'features' or 'kernels' line"
    exit 1
fi
if [ ! -r /proc/cpuinfo ] || ! grep -q '^flags' /proc/cpuinfo; then
    echo "SKIP: no /proc/cpuinfo flags to compare with (the output above was not checked)"
    exit 77
fi
flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
failures=0
all_avx2=yes all_avx512=yes
# axial's name, then the kernel's
for pair in avx2:avx2 fma:fma f16c:f16c avx512f:avx512f avx512bw:avx512bw avx512vl:avx512vl avx512dq:avx512dq \
            avx512vnni:avx512_vnni avx512bf16:avx512_bf16; do
    name=${pair%%:*} flag=${pair#*:}
    said=$(printf '%s\n' "$features" | grep -o "\b$name=\(yes\|no\)" | cut -d= -f2)
    case "$flags" in *" $flag "*) witness=yes ;; *) witness=no ;; esac
    if [ "$said" != "$witness" ]; then
        echo "FAIL: $name: axial info says '${said:-nothing}', /proc/cpuinfo says $witness"
        failures=$((failures + 1))
    fi
    case $name in avx2 | fma | f16c) [ "$witness" = yes ] || all_avx2=no ;; esac
    case $name in
    avx2 | fma | f16c | avx512f | avx512bw | avx512vl | avx512dq) [ "$witness" = yes ] || all_avx512=no ;;
    esac
done
amx_cpu=$(printf '%s\n' "$features" | grep -o '(cpu: [a-z]*' | cut -d' ' -f2)
case "$flags" in *" amx_tile "*) witness=yes ;; *) witness=no ;; esac
# cpuinfo may hide AMX a CPU has (a kernel without AMX support), never show AMX it lacks.
if [ "$witness" = yes ] && [ "$amx_cpu" != yes ]; then
    echo "FAIL: amx: /proc/cpuinfo has amx_tile, axial info says cpu: '${amx_cpu:-nothing}'"
    failures=$((failures + 1))
fi
expected=portable
[ "$all_avx2" = yes ] && expected=avx2
[ "$all_avx512" = yes ] && expected=avx512
if [ -z "${AXIAL_CPU_PATH:-}" ] && [ "$kernels" != "$expected" ]; then
    echo "FAIL: kernels: axial info says '$kernels', the CPU's features select $expected"
    failures=$((failures + 1))
fi
# The BLAS line: the core name against OpenBLAS's own report when it loads (a DYNAMIC_ARCH build with
# OPENBLAS_VERBOSE=2 prints "Core: NAME" on stderr), and "older than this CPU" exactly when a core
# forced with OPENBLAS_CORETYPE lacks AVX2/FMA the CPU has. A build for one CPU target prints no
# "Core:" line and ignores OPENBLAS_CORETYPE: then only the line's presence is checked.
blas_line() { printf '%s\n' "$1" | sed -n 's/^  blas      //p'; }
lower() { printf '%s' "$1" | tr '[:upper:]' '[:lower:]'; }
said=$(blas_line "$out")
witness=$(OPENBLAS_VERBOSE=2 "$1" info 2>&1 >/dev/null | sed -n 's/^Core: //p' | head -1)
if [ "${said#OpenBLAS core}" = "$said" ]; then
    echo "FAIL: no 'blas      OpenBLAS core ...' line"
    failures=$((failures + 1))
fi
if [ -n "$witness" ] && [ "$(lower "${said#OpenBLAS core $witness}")" = "$(lower "$said")" ]; then
    echo "FAIL: blas: axial info says '$said', OpenBLAS says 'Core: $witness'"
    failures=$((failures + 1))
fi
case "$flags" in *" avx2 "*" fma "* | *" fma "*" avx2 "*) cpu_avx2=yes ;; *) cpu_avx2=no ;; esac
forced=
if [ -n "$witness" ]; then
    forced=Prescott
    [ "$cpu_avx2" = yes ] && forced="Prescott Haswell"
else
    echo "note: OpenBLAS printed no 'Core:' line (not a DYNAMIC_ARCH build?): forced core types not checked"
fi
for core in $forced; do
    line=$(blas_line "$(OPENBLAS_CORETYPE=$core "$1" info)")
    lags=no
    case "$line" in *"older than this CPU"*) lags=yes ;; esac
    expect=no
    [ "$core" = Prescott ] && [ "$cpu_avx2" = yes ] && expect=yes
    if [ "${line#OpenBLAS core $core}" = "$line" ] || [ "$lags" != "$expect" ]; then
        echo "FAIL: OPENBLAS_CORETYPE=$core: blas line '$line' (older than this CPU expected: $expect)"
        failures=$((failures + 1))
    fi
done
[ "$failures" -eq 0 ] || exit 1
echo "ok: axial info agrees with /proc/cpuinfo and OpenBLAS's own report"
