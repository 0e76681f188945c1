#!/usr/bin/env bash
# Installs what Axial needs to build and test on Debian/Ubuntu, idempotently: only missing packages
# are installed, and only when running as root (otherwise it lists what is missing and goes on).
set -euo pipefail

packages=(build-essential cmake pkg-config libopenblas-dev libhdf5-dev hdf5-tools libopenmpi-dev openmpi-bin
          libpng-dev zlib1g-dev)
# Figures: cairo draws their text and lines; DejaVu Sans is the font they name.
packages+=(libcairo2-dev fonts-dejavu-core)
# The fuzzers and the sanitizer runtime for clang; Python for the h5py checks of the store, and its
# headers (Python.h) for building the Python bindings.
packages+=(clang libclang-rt-dev python3 python3-venv python3-dev)
# `axial serve`: HTTP and JSON libraries; curl drives its tests.
packages+=(libmicrohttpd-dev libcjson-dev curl)

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all ${#packages[@]} Debian packages present"
    exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get > /dev/null; then
    echo "install-deps: missing packages (not root, or no apt-get; install them yourself): ${missing[*]}" >&2
    exit 0
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Another apt run (a second script started at once) holds dpkg's lock: wait for it, not fail.
apt-get -o DPkg::Lock::Timeout=600 update -qq
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
echo "install-deps: done"
