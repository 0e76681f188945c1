#!/usr/bin/env bash
# gpu-deps.sh — download (not install) the Debian packages that scripts/gpu-check.sh unpacks on a GPU
# machine that has CUDA but no OpenBLAS or zlib headers and no package registry. They go to
# .gpu-deps/ (ignored by git); carry that folder to the GPU machine with the working tree.
#
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mkdir -p .gpu-deps
cd .gpu-deps
rm -f ./*.deb # only this Debian's current versions travel (the carry limit is 64 MiB)
apt-get download libopenblas-pthread-dev libopenblas0-pthread libgfortran5 zlib1g-dev
ls -l
