#!/usr/bin/env bash
# The Python bindings' checks, run by ctest (tests/python_bindings_tests.cmake) with the project's
# virtual environments (scripts/python-env.sh makes them). Usage: run_bindings.sh ROOT STEP [CUDA]
#   install    builds the wheel of python_bindings/ (scikit-build-core, same CMake project; the build
#              folder python_bindings/build/ persists in the checkout (gitignored), so rebuilds are
#              incremental; every build directory's ctest shares it) and installs it into
#              .venv and, when present, .venv-torch. CUDA (ON/OFF) mirrors the C build's backend.
#   pytest     python_bindings/tests in .venv (NumPy 2, ml_dtypes, h5py; the PyTorch tests skip there)
#   torch      python_bindings/tests in .venv-torch (Debian's PyTorch and NumPy 1.x)
#   notebooks  executes notebooks/*.ipynb top to bottom with nbclient; any cell error fails
#   root       builds the wheel from the repository root (pyproject.toml there; CPU only, to stay quick)
#              into a temporary folder and checks one op of it against a float64 NumPy reference
# Exit 77 (ctest SKIP) with a reason when an environment is missing.
set -uo pipefail
root=$1
step=$2
cuda=${3:-AUTO}
py=$root/.venv/bin/python
tpy=$root/.venv-torch/bin/python
dist=$root/python_bindings/build/dist

skip() { echo "SKIP: $*"; exit 77; }

case $step in
install)
    [ -x "$py" ] && "$py" -c "import numpy, scikit_build_core" 2> /dev/null ||
        skip "$root/.venv with numpy and scikit-build-core is missing (scripts/python-env.sh makes it)"
    if ! command -v nvcc > /dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then export PATH=/usr/local/cuda/bin:$PATH; fi
    rm -rf "$dist"
    AXIAL_CUDA=$cuda "$py" -m pip wheel --no-build-isolation --no-deps -q --disable-pip-version-check \
        -w "$dist" "$root/python_bindings" || exit 1
    wheel=$(ls "$dist"/axial-*.whl) || exit 1
    echo "built $(basename "$wheel") (CUDA=$cuda)"
    "$py" -m pip install --no-deps --force-reinstall -q --disable-pip-version-check "$wheel" || exit 1
    echo "installed into $root/.venv"
    if [ -x "$tpy" ]; then
        if "$tpy" -m pip install --no-deps --force-reinstall -q --disable-pip-version-check "$wheel"; then
            echo "installed into $root/.venv-torch"
        else
            echo "note: the wheel does not fit .venv-torch's Python; test_python_torch will skip"
            "$tpy" -m pip uninstall -y -q axial 2> /dev/null || true
        fi
    fi
    cd /tmp && "$py" -c "import axial, json; print(json.dumps(axial.info()))"
    ;;
pytest)
    [ -x "$py" ] && "$py" -c "import axial, numpy, pytest" 2> /dev/null ||
        skip "$root/.venv with the axial package is missing (scripts/python-env.sh, then test_python_bindings_install)"
    cd /tmp && exec "$py" -m pytest -q -rs -p no:cacheprovider "$root/python_bindings/tests"
    ;;
torch)
    [ -x "$tpy" ] || skip "$root/.venv-torch is missing (scripts/python-env.sh makes it from Debian's python3-torch; AXIAL_PYTHON_TORCH=0 turns it off)"
    "$tpy" -c "import torch, pytest" 2> /dev/null || skip ".venv-torch cannot import torch and pytest"
    "$tpy" -c "import axial" 2> /dev/null || skip "the axial wheel is not installed in .venv-torch (its Python differs from .venv's)"
    cd /tmp && exec "$tpy" -m pytest -q -rs -p no:cacheprovider "$root/python_bindings/tests"
    ;;
notebooks)
    [ -x "$py" ] && "$py" -c "import axial, nbclient, nbformat, ipykernel, matplotlib" 2> /dev/null ||
        skip "$root/.venv with axial, nbclient, nbformat, ipykernel and matplotlib is missing"
    # The notebooks write their outputs under tempfile.mkdtemp(), left for a reader to open; under
    # the suite they go to a folder of this run's own, removed at the end.
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    TMPDIR=$tmp "$py" "$root/python_bindings/tests/run_notebooks.py" "$root/notebooks"/*.ipynb
    ;;
root)
    [ -x "$py" ] && "$py" -c "import numpy, scikit_build_core" 2> /dev/null ||
        skip "$root/.venv with numpy and scikit-build-core is missing (scripts/python-env.sh makes it)"
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    # The CMake build goes to the temporary folder too (the root pyproject.toml's own build-dir is
    # build-python/ in the checkout, for people building the wheel by hand).
    AXIAL_CUDA=OFF "$py" -m pip wheel --no-build-isolation --no-deps -q --disable-pip-version-check -w "$tmp/dist" \
        --config-settings=build-dir="$tmp/build" "$root" || exit 1
    (cd "$tmp" && "$py" -m zipfile -e dist/axial-*.whl site) || exit 1
    cd "$tmp" && PYTHONPATH="$tmp/site" "$py" - <<'PY' || exit 1
import numpy as np
import axial
rng = np.random.default_rng(5)
q, k, v = (rng.uniform(-1, 1, (1, 2, 9, 3, 8)).astype(np.float32) for _ in range(3))
pair = rng.uniform(-1, 1, (1, 1, 3, 9, 9)).astype(np.float32)
out = axial.evoformer_attention(q, k, v, bias_pair=pair)
qd, kd, vd = (x.astype(np.float64).transpose(0, 1, 3, 2, 4) for x in (q, k, v))
logits = qd @ kd.swapaxes(-1, -2) / np.sqrt(8) + pair.astype(np.float64)
p = np.exp(logits - logits.max(-1, keepdims=True))
ref = ((p / p.sum(-1, keepdims=True)) @ vd).transpose(0, 1, 3, 2, 4)
err = np.abs(out - ref).max() / np.abs(ref).max()
assert err < 1e-5, err
assert axial.__file__.startswith(__import__("os").getcwd()), axial.__file__
print(f"root wheel: {axial.__file__}, max relative error {err:.2e}")
PY
    ;;
*)
    echo "run_bindings.sh: unknown step '$step'" >&2
    exit 2
    ;;
esac
