#!/usr/bin/env bash
# Installs the built library into a scratch prefix, then builds and runs a small consumer program
# outside the tree with pkg-config and with find_package(axial), each shared and static.
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

echo "== pkg-config --static"
# The static library by path (-laxial would pick the shared one), then its private dependencies.
eval "pc_static=($(pkg-config --static --cflags --libs axial))"
pc_static=("${pc_static[@]/#-laxial/$libdir/libaxial.a}")
cc -std=c11 -Wall -Wextra -Werror "$here/consumer.c" "${pc_static[@]}" -o "$work/consumer_pc_static"
out=$(LD_LIBRARY_PATH=$libdir "$work/consumer_pc_static")
echo "$out"
[ "$out" = "axial $expected numel 6" ] || { echo "FAIL: pkg-config --static consumer printed '$out'"; exit 1; }
if ldd "$work/consumer_pc_static" | grep -q 'libaxial\.so'; then
    echo "FAIL: the pkg-config --static consumer loads libaxial.so"
    exit 1
fi

echo "== find_package(axial)"
cmake -S "$here" -B "$work/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release > "$work/cmake.log"
cmake --build "$work/cmake-build" > "$work/cmake-build.log"
for kind in shared static; do
    out=$(LD_LIBRARY_PATH=$libdir "$work/cmake-build/consumer_$kind")
    echo "$kind: $out"
    [ "$out" = "axial $expected numel 6" ] || { echo "FAIL: find_package consumer ($kind) printed '$out'"; exit 1; }
done
echo "3 passed, 0 failed"
