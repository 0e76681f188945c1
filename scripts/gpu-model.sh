#!/usr/bin/env bash
# gpu-model.sh — makes .gpu-model/, what the CUDA LLM test (tests/python/test_llm_cuda.py) needs on a
# GPU machine that has no package registry and cannot take the 98 MB SmolLM2 file (the working tree
# carried there must stay under 64 MiB):
#   .gpu-model/smollm2-2blk.gguf   the SmolLM2-135M-Instruct Q4_1 file (scripts/fetch-model.sh) cut to
#                                  its first 2 blocks by tests/python/derive_blocks.py: tokenizer, Q8_0
#                                  embedding (the tied head), output_norm, blocks 0-1, every tensor
#                                  copied byte for byte; llama.block_count = 2 (about 35 MiB)
#   .gpu-model/wheels/             the `gguf` wheel (pure Python) of the version in .venv, for Python 3.12
#                                  (the GPU machine's); gguf's own needs there (numpy, pyyaml, tqdm,
#                                  requests) are already installed. Put it on the path with
#                                  pip install --no-index --no-deps --target DIR .gpu-model/wheels/*.whl
#                                  and AXIAL_GPU_PYTHONPATH=DIR (tests/python/run_llm_cuda.sh reads it)
# Uses the project's .venv (scripts/python-env.sh makes it). Idempotent: what is there and up to date
# is kept. Prints the folder's size last.
#
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$root/.gpu-model
py=$root/.venv/bin/python
derive=$root/tests/python/derive_blocks.py
if [ ! -x "$py" ] || ! "$py" -c "import gguf, numpy" 2> /dev/null; then
    echo "gpu-model: $root/.venv with gguf and numpy is missing (run scripts/python-env.sh)" >&2
    exit 1
fi
model=$("$root/scripts/fetch-model.sh")
mkdir -p "$out/wheels"

target=$out/smollm2-2blk.gguf
if [ -f "$target" ] && [ "$target" -nt "$model" ] && [ "$target" -nt "$derive" ]; then
    echo "gpu-model: $target is up to date"
else
    echo "gpu-model: deriving $target (2 blocks of $model)"
    # written beside the target and renamed, so an interrupted run never leaves a truncated model
    "$py" "$derive" "$model" "$target.partial" --blocks 2
    mv -f "$target.partial" "$target"
fi

version=$("$py" -c "import importlib.metadata as m; print(m.version('gguf'))")
if compgen -G "$out/wheels/gguf-$version-*.whl" > /dev/null; then
    echo "gpu-model: $(basename "$out"/wheels/gguf-"$version"-*.whl) is there"
else
    rm -f "$out"/wheels/gguf-*.whl
    echo "gpu-model: downloading the gguf $version wheel for Python 3.12"
    "$py" -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: --python-version 3.12 \
        -d "$out/wheels" "gguf==$version"
fi
du -sh "$out"
