#!/usr/bin/env bash
# Runs tests/python/test_llm_cuda.py: the LLM runner on CUDA against the float64 NumPy reference, on
# the 2-block SmolLM2 model that scripts/gpu-model.sh derives (small enough to travel to a GPU machine).
# Usage: run_llm_cuda.sh ROOT LLM_HELPER. Exit 77 (ctest SKIP) with the reason when there is no CUDA
# device, when Python lacks numpy, pytest, jinja2 or gguf, or when no model is found.
#
# Environment:
#   AXIAL_GPU_MODEL               the model (default ROOT/.gpu-model/smollm2-2blk.gguf; without it, the
#                                 2-block model is derived into a temporary folder from the real model
#                                 when scripts/fetch-model.sh finds it)
#   AXIAL_GPU_PYTHONPATH          prepended to PYTHONPATH (scripts/gpu-check.sh points it at the unpacked
#                                 gguf wheel of .gpu-model/wheels)
#   AXIAL_LLM_CUDA_TEST_ON_CPU=1  the same tests on the CPU device with the CPU's bounds: a self-check of
#                                 the harness on a machine without a GPU (see the test's docstring)
#
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
root=$1
helper=$2
on_cpu=${AXIAL_LLM_CUDA_TEST_ON_CPU:-0}

# The helper decides about the device before it opens the model, so a path that does not exist is
# enough to ask it; 77 is its "no CUDA device" answer, with the reason on stdout.
if [ "$on_cpu" != 1 ]; then
    answer=$(AXIAL_DEVICE=cuda "$helper" info /nonexistent-axial/no-model.gguf 2>&1)
    if [ $? -eq 77 ]; then
        echo "$answer"
        exit 77
    fi
fi

py=$root/.venv/bin/python
[ -x "$py" ] || py=$(command -v python3 || true)
if [ -z "$py" ]; then
    echo "SKIP: no Python ($root/.venv/bin/python or python3)"
    exit 77
fi
if [ -n "${AXIAL_GPU_PYTHONPATH:-}" ]; then
    export PYTHONPATH=$AXIAL_GPU_PYTHONPATH${PYTHONPATH:+:$PYTHONPATH}
fi
# A pure-Python wheel is a zip Python imports from as it is: the gguf wheel of scripts/gpu-model.sh
# serves when nothing else provides gguf.
if ! "$py" -c "import gguf" 2> /dev/null; then
    for wheel in "$root"/.gpu-model/wheels/gguf-*.whl; do
        [ -f "$wheel" ] && export PYTHONPATH=$wheel${PYTHONPATH:+:$PYTHONPATH}
    done
fi
# Imported, not only found: gguf imports yaml when it loads, and a module that fails there would make
# pytest skip everything and exit 5 (a failure to ctest) instead of a clear SKIP here.
missing=$("$py" -c '
import importlib
def fails(m):
    try:
        importlib.import_module(m)
        return False
    except Exception:
        return True
print(" ".join(m for m in ("numpy", "pytest", "jinja2", "gguf") if fails(m)))')
if [ -n "$missing" ]; then
    echo "SKIP: $py lacks $missing (scripts/python-env.sh makes .venv; on a GPU machine, scripts/gpu-model.sh's" \
         "gguf wheel and AXIAL_GPU_PYTHONPATH)"
    exit 77
fi

tmp=
cleanup() { [ -n "$tmp" ] && rm -rf "$tmp"; }
trap cleanup EXIT
model=${AXIAL_GPU_MODEL:-}
if [ -n "$model" ] && [ ! -f "$model" ]; then
    echo "SKIP: AXIAL_GPU_MODEL=$model is not a file"
    exit 77
fi
[ -z "$model" ] && [ -f "$root/.gpu-model/smollm2-2blk.gguf" ] && model=$root/.gpu-model/smollm2-2blk.gguf
if [ -z "$model" ]; then
    if ! real=$("$root/scripts/fetch-model.sh" 2> /dev/null); then
        echo "SKIP: no model: neither AXIAL_GPU_MODEL, $root/.gpu-model/smollm2-2blk.gguf" \
             "(scripts/gpu-model.sh) nor the SmolLM2 model to derive it from (scripts/fetch-model.sh)"
        exit 77
    fi
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/axial-llm-cuda-XXXXXX")
    model=$tmp/smollm2-2blk.gguf
    "$py" "$root/tests/python/derive_blocks.py" "$real" "$model" --blocks 2 || exit 1
fi

export AXIAL_LLM_CUDA_MODEL=$model AXIAL_LLM_HELPER=$helper
cd "${TMPDIR:-/tmp}" && "$py" -m pytest -q -rs -p no:cacheprovider "$root/tests/python/test_llm_cuda.py"
