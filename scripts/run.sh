#!/usr/bin/env bash
# The main job: installs what is missing, builds Axial, prints what it found, then `axial demo`:
# the shipped real samples (query.a3m, 1cbs.cif.gz) -> HDF5 feature store -> training batch -> MSA
# row attention with pair bias, forward and backward (GPU when present, else CPU), timed next to a
# naive implementation -> PNG figures under build/demo. Extra arguments go to `axial demo`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# One run at a time per checkout (scripts/test.sh takes the same lock): both install and build.
exec 8> "$root/.test.lock"
flock -n 8 || { echo "run: scripts/test.sh or run.sh runs in $root; waiting for it" >&2; flock 8; }
"$root/scripts/install-deps.sh"
AXIAL_BUILD_TARGET=axial_cli "$root/scripts/build.sh" "$root/build" # the demo needs the CLI only
axial=$root/build/tools/axial
echo
"$axial" info
echo
"$axial" demo --out "$root/build/demo" "$@"
