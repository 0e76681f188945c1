#!/usr/bin/env bash
# Runs tests/python/test_llm_reference.py with the project's virtual environment (scripts/python-env.sh
# makes it) and the SmolLM2 model (scripts/fetch-model.sh installs it).
# Usage: run_llm.sh ROOT LLM_HELPER AXIAL_CLI. Exit 77 (ctest SKIP) when a package or the model is
# missing.
root=$1
py=$root/.venv/bin/python
if [ ! -x "$py" ] || ! "$py" -c "import gguf, numpy, pytest, jinja2, tokenizers" 2> /dev/null; then
    echo "SKIP: $root/.venv with gguf, numpy, pytest, jinja2 and tokenizers is missing (scripts/python-env.sh makes it)"
    exit 77
fi
if ! model=$("$root/scripts/fetch-model.sh" 2> /dev/null); then
    echo "SKIP: the SmolLM2 model is not installed (run scripts/fetch-model.sh)"
    exit 77
fi
export AXIAL_LLM_MODEL=$model AXIAL_LLM_HELPER=$2 AXIAL_CLI=$3
cd /tmp && exec "$py" -m pytest -q -rs -p no:cacheprovider "$root/tests/python/test_llm_reference.py"
