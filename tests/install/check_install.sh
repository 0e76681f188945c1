#!/usr/bin/env bash
# Installs the built library into a scratch prefix, then builds and runs a small consumer program
# outside the tree with pkg-config and with find_package(axial) (shared and static).
set -euo pipefail
build_dir=$1
work=$2
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work"
mkdir -p "$work"
prefix=$work/prefix
cmake --install "$build_dir" --prefix "$prefix" > "$work/install.log"
libdir=$(find "$prefix" -name 'axial.pc' -printf '%h\n' | head -n 1)
[ -n "$libdir" ] || { echo "FAIL: axial.pc was not installed"; exit 1; }
libdir=$(dirname "$libdir")
expected=$(sed -n 's/^Version: //p' "$libdir/pkgconfig/axial.pc")

echo "== pkg-config"
export PKG_CONFIG_PATH=$libdir/pkgconfig
# pkg-config escapes spaces in paths with backslashes: eval splits its output as a shell would.
eval "pc_flags=($(pkg-config --cflags --libs axial))"
cc -std=c11 -Wall -Wextra -Werror "$here/consumer.c" "${pc_flags[@]}" -o "$work/consumer_pc"
out=$(LD_LIBRARY_PATH=$libdir "$work/consumer_pc")
echo "$out"
[ "$out" = "axial $expected numel 6" ] || { echo "FAIL: pkg-config consumer printed '$out'"; exit 1; }

echo "== find_package(axial)"
cmake -S "$here" -B "$work/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release > "$work/cmake.log"
cmake --build "$work/cmake-build" > "$work/cmake-build.log"
for kind in shared static; do
    out=$(LD_LIBRARY_PATH=$libdir "$work/cmake-build/consumer_$kind")
    echo "$kind: $out"
    [ "$out" = "axial $expected numel 6" ] || { echo "FAIL: find_package consumer ($kind) printed '$out'"; exit 1; }
done
echo "2 passed, 0 failed"
