#!/usr/bin/env bash
# The main job: installs what is missing, builds Axial, prints what it found, and runs Evoformer
# attention (MSA row attention with pair bias, forward and backward) on an AlphaFold-sized problem,
# on the GPU when one is present and on the CPU otherwise.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" "$root/build"
axial=$root/build/tools/axial
echo
"$axial" info
echo
"$axial" attention --device auto "$@"
