#!/usr/bin/env bash
# Runs tests/python/test_dtype_gguf.py with the project's virtual environment (scripts/python-env.sh
# makes it). Usage: run_gguf.sh ROOT QUANT_HELPER. Exit 77 (ctest SKIP) when a package is missing.
root=$1
py=$root/.venv/bin/python
if [ ! -x "$py" ] || ! "$py" -c "import gguf, ml_dtypes, numpy, pytest" 2> /dev/null; then
    echo "SKIP: $root/.venv with gguf, ml_dtypes, numpy and pytest is missing (scripts/python-env.sh makes it)"
    exit 77
fi
export AXIAL_QUANT_HELPER=$2
cd /tmp && exec "$py" -m pytest -q -rs -p no:cacheprovider "$root/tests/python/test_dtype_gguf.py"
