#!/usr/bin/env bash
# Runs tests/python/test_qmatmul_gguf.py with the project's virtual environment (scripts/python-env.sh
# makes it). Usage: run_qmatmul_gguf.sh ROOT QMATMUL_HELPER. Exit 77 (ctest SKIP) when a package is
# missing.
root=$1
py=$root/.venv/bin/python
if [ ! -x "$py" ] || ! "$py" -c "import gguf, numpy, pytest" 2> /dev/null; then
    echo "SKIP: $root/.venv with gguf, numpy and pytest is missing (scripts/python-env.sh makes it)"
    exit 77
fi
export AXIAL_QMATMUL_HELPER=$2
cd /tmp && exec "$py" -m pytest -q -rs -p no:cacheprovider "$root/tests/python/test_qmatmul_gguf.py"
