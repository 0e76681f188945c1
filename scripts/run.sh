#!/usr/bin/env bash
# The main job: installs what is missing, builds Axial, prints what it found, then `axial demo`:
# the shipped real samples (query.a3m, 1cbs.cif.gz) -> HDF5 feature store -> training batch -> MSA
# row attention with pair bias, forward and backward (GPU when present, else CPU), timed next to a
# naive implementation -> PNG figures under build/demo. Extra arguments go to `axial demo`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# One run at a time per checkout (both build into build/); the script runs again under flock -o so
# that nothing it starts inherits the lock. scripts/test.sh builds elsewhere and has a lock of its own.
lock=$root/.run.lock
if [ -z "${AXIAL_RUN_LOCKED:-}" ]; then
    export AXIAL_RUN_LOCKED=1
    flock -n -o "$lock" true || echo "run: another scripts/run.sh runs in $root; waiting for it" >&2
    exec flock -o "$lock" "$0" "$@"
fi
"$root/scripts/install-deps.sh"
AXIAL_BUILD_TARGET=axial_cli "$root/scripts/build.sh" "$root/build" # the demo needs the CLI only
axial=$root/build/tools/axial
echo
"$axial" info
echo
"$axial" demo --out "$root/build/demo" "$@"
