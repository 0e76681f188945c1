#!/usr/bin/env bash
# Runs tests/python/test_gguf_reader.py with the project's virtual environment (scripts/python-env.sh
# makes it). Usage: run_gguf_reader.sh ROOT AXIAL_CLI. Exit 77 (ctest SKIP) when a package is
# missing; without the model ($AXIAL_MODEL or scripts/fetch-model.sh) only its test is skipped.
root=$1
py=$root/.venv/bin/python
if [ ! -x "$py" ] || ! "$py" -c "import gguf, numpy, pytest" 2> /dev/null; then
    echo "SKIP: $root/.venv with gguf, numpy and pytest is missing (scripts/python-env.sh makes it)"
    exit 77
fi
if [ -z "${AXIAL_MODEL:-}" ]; then
    AXIAL_MODEL=$(bash "$root/scripts/fetch-model.sh") || AXIAL_MODEL=
fi
export AXIAL_MODEL AXIAL_CLI=$2
cd /tmp && exec "$py" -m pytest -q -rs -p no:cacheprovider "$root/tests/python/test_gguf_reader.py"
