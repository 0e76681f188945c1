#!/usr/bin/env bash
# The main job: installs what is missing, builds Axial, prints what it found, then `axial demo`:
# the shipped real samples (query.a3m, 1cbs.cif.gz) -> HDF5 feature store -> training batch -> MSA
# row attention with pair bias, forward and backward (GPU when present, else CPU), timed next to a
# naive implementation -> PNG figures under build/demo. Extra arguments go to `axial demo`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" "$root/build"
axial=$root/build/tools/axial
echo
"$axial" info
echo
"$axial" demo --out "$root/build/demo" "$@"
