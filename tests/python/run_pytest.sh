#!/usr/bin/env bash
# Runs the store tests read back with h5py (test_store_h5py.py) in the project's virtual environment.
# Usage: run_pytest.sh ROOT AXIAL_BIN DATA
root=$1
py=$root/.venv/bin/python
if [ ! -x "$py" ] || ! "$py" -c "import h5py, numpy, pytest" 2> /dev/null; then
    echo "SKIP: $root/.venv with h5py, numpy and pytest is missing (scripts/test.sh makes it)"
    exit 77
fi
export AXIAL_BIN=$2 AXIAL_TEST_DATA=$3
cd /tmp && exec "$py" -m pytest -q -rs -p no:cacheprovider "$root/tests/python/test_store_h5py.py"
