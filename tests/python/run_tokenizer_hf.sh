#!/usr/bin/env bash
# Runs tests/python/test_tokenizer_hf.py with the project's virtual environment (scripts/python-env.sh
# makes it). Usage: run_tokenizer_hf.sh ROOT TOKENIZER_HELPER. Exit 77 (ctest SKIP) when a package or
# the model (scripts/fetch-model.sh installs it) is missing.
root=$1
py=$root/.venv/bin/python
if [ ! -x "$py" ] || ! "$py" -c "import gguf, numpy, pytest, tokenizers, jinja2" 2> /dev/null; then
    echo "SKIP: $root/.venv with gguf, numpy, pytest, tokenizers and jinja2 is missing (scripts/python-env.sh makes it)"
    exit 77
fi
model=$(bash "$root/scripts/fetch-model.sh" 2> /dev/null) || model=""
if [ -z "$model" ] || [ ! -f "$model" ]; then
    echo "SKIP: the SmolLM2 GGUF is not installed (scripts/fetch-model.sh installs it)"
    exit 77
fi
export AXIAL_TOKENIZER_HELPER=$2 AXIAL_TOKENIZER_MODEL=$model
cd /tmp && exec "$py" -m pytest -q -s -rs -p no:cacheprovider "$root/tests/python/test_tokenizer_hf.py"
