#!/usr/bin/env bash
# Configures and builds Axial into a build directory (default: build). CUDA is compiled when nvcc is
# found (AXIAL_CUDA=AUTO). Extra arguments go to cmake's configure step.
#   scripts/build.sh [BUILD_DIR] [-DOPTION=VALUE ...]
#   AXIAL_BUILD_TARGET=axial_cli ...   builds that target only (scripts/run.sh: the demo needs the CLI)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=$root/build
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then # a first argument that is not an option is the folder
    build_dir=${1:-$root/build}
    shift
fi
jobs=$(nproc 2>/dev/null || echo 2)
# nvcc installed under /usr/local/cuda is often not on PATH.
if ! command -v nvcc > /dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then
    export PATH=/usr/local/cuda/bin:$PATH
fi
echo "build: configuring $build_dir"
cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release "$@" > "$build_dir.configure.log" 2>&1 || {
    cat "$build_dir.configure.log"; exit 1; }
sed -n '/Axial .* configuration/,/^-- $/p' "$build_dir.configure.log" | sed 's/^-- //'
echo "build: compiling with $jobs jobs"
target=()
if [ -n "${AXIAL_BUILD_TARGET:-}" ]; then target=(--target "$AXIAL_BUILD_TARGET"); fi
cmake --build "$build_dir" -j "$jobs" "${target[@]}" > "$build_dir.build.log" 2>&1 ||
    { tail -n 60 "$build_dir.build.log"; exit 1; }
echo "build: done ($build_dir)"
