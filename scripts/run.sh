#!/usr/bin/env bash
# The main job: installs what is missing, builds Axial, prints what it found, then `axial demo`:
# the shipped real samples (query.a3m, 1cbs.cif.gz) -> HDF5 feature store -> training batch -> MSA
# row attention with pair bias, forward and backward (GPU when present, else CPU), timed next to a
# naive implementation -> PNG figures under build/demo. Extra arguments go to `axial demo`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
usage() {
    cat <<'EOF_USAGE'
usage: scripts/run.sh [--data DIR] [--device auto|cpu|cuda] [--tolerance T] [--out DIR]
  Installs what is missing (apt packages when root), builds Axial into build/, prints `axial info`,
  then runs `axial demo` with these options (see `build/tools/axial demo --help`): the sample MSA and
  mmCIF -> HDF5 feature store -> training batch -> MSA row attention forward and backward, timed
  next to a naive implementation -> PNG figures in build/demo (or --out).
EOF_USAGE
}
# The demo's options are checked here, before the install and the build (a typo had cost a build).
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
    case "${args[i]}" in
    -h | --help) usage; exit 0 ;;
    --data | --device | --tolerance | --out)
        if ((i + 1 >= ${#args[@]})); then echo "run: ${args[i]} needs a value" >&2; exit 2; fi
        if [[ "${args[i]}" == --device && ! "${args[i + 1]}" =~ ^(auto|cpu|cuda)$ ]]; then
            echo "run: --device ${args[i + 1]}: expected auto, cpu or cuda" >&2
            exit 2
        fi
        i=$((i + 1)) ;;
    *) echo "run: unknown option '${args[i]}' (scripts/run.sh --help)" >&2; exit 2 ;;
    esac
done
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
