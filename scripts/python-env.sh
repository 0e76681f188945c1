#!/usr/bin/env bash
# Makes the project-local Python environment (.venv) the tests use (h5py, numpy, pytest), once:
# later runs find the packages importable and do nothing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=$root/.venv
packages=(h5py numpy pytest)
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import h5py, numpy, pytest" 2> /dev/null; then
    echo "python-env: $venv has ${packages[*]}"
    exit 0
fi
python=$(command -v python3 || true)
if [ -z "$python" ]; then
    echo "python-env: no python3; the Python tests will be skipped" >&2
    exit 0
fi
echo "python-env: creating $venv with ${packages[*]}"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check "${packages[@]}"
echo "python-env: done"
