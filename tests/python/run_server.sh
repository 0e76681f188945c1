#!/usr/bin/env bash
# Runs tests/python/test_server.py with the project's virtual environment (scripts/python-env.sh makes
# it, with the openai package) and the SmolLM2 model (scripts/fetch-model.sh installs it).
# Usage: run_server.sh ROOT AXIAL_CLI. Exit 77 (ctest SKIP) when something it needs is missing.
root=$1
axial=$2
py=$root/.venv/bin/python
if [ ! -x "$py" ] || ! "$py" -c "import openai, gguf, jinja2, pytest" 2> /dev/null; then
    echo "SKIP: $root/.venv with openai, gguf, jinja2 and pytest is missing (scripts/python-env.sh makes it)"
    exit 77
fi
if ! command -v curl > /dev/null; then
    echo "SKIP: curl is not installed (apt-get install curl)"
    exit 77
fi
if [ ! -x "$axial" ]; then
    echo "SKIP: no axial binary at $axial"
    exit 77
fi
if "$axial" serve --model /nonexistent.gguf 2>&1 | grep -q "built without"; then
    echo "SKIP: this axial was built without libmicrohttpd/libcjson (apt-get install libmicrohttpd-dev libcjson-dev)"
    exit 77
fi
if ! model=$("$root/scripts/fetch-model.sh" 2> /dev/null); then
    echo "SKIP: the SmolLM2 model is not installed (run scripts/fetch-model.sh)"
    exit 77
fi
export AXIAL_LLM_MODEL=$model AXIAL_CLI=$axial
cd /tmp && exec "$py" -m pytest -q -rs -p no:cacheprovider "$root/tests/python/test_server.py" "${@:3}"
