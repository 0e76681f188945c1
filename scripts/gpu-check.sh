#!/usr/bin/env bash
# gpu-check.sh — everything worth doing in a few minutes on a GPU machine, in one run (see
# /work/shared/design/GPU.md): configure and build with CUDA into build-gpu, run the tests labelled
# gpu, run the GPU benchmark, time PyTorch's attention on the same shapes when PyTorch is there, and
# print a summary table last. Full logs go to $AXIAL_GPU_LOG_DIR (default build-gpu/logs).
#
# Environment:
#   AXIAL_CUDA_ARCHS        CMAKE_CUDA_ARCHITECTURES (default 90: H100/H200; "native" for the card found)
#   AXIAL_GPU_LOG_DIR       where the logs go (default build-gpu/logs)
#   AXIAL_GPU_BUDGET_S      wall-clock budget for all steps together (default 420 s)
#   AXIAL_GPU_CMAKE_ARGS    extra arguments for the configure step
#   AXIAL_GPU_QUICK=1       skip the comparison runs (SIMT-only benchmark, PyTorch baseline), for a
#                           re-check with little device time left
#   AXIAL_GPU_DEPS          folder of Debian packages (.deb) for a machine with no package registry:
#                           used only when the plain configure fails, unpacked into build-gpu/deps
#                           (never into /). scripts/gpu-deps.sh fills the default, .gpu-deps/.
#
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
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
    if ((left < 10)); then
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
    nvidia-smi >"$LOG_DIR/nvidia-smi.log" 2>&1 || true
    DEVICE=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -n 1 || true)
    [[ -n "$DEVICE" ]] || DEVICE="nvidia-smi found no GPU"
fi
echo "device: $DEVICE"

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

USED_DEPS=0
BUILT=0
CONFIGURED=0
if run_step "configure (CUDA archs $ARCHS)" configure.log 120 "${CONFIGURE[@]}"; then
    CONFIGURED=1
else
    rm -f "$BUILD_DIR/CMakeCache.txt"
    if compgen -G "$DEPS_DIR/*.deb" >/dev/null && unpack_deps >"$LOG_DIR/deps.log" 2>&1; then
        echo "    unpacked $(ls "$DEPS_DIR"/*.deb | wc -l) packages from $DEPS_DIR into $BUILD_DIR/deps"
    fi
    if run_step "configure without HDF5/PNG/CLI" configure-fallback.log 120 "${CONFIGURE[@]}" "${FALLBACK[@]}"; then
        CONFIGURED=1
        STEP_STATUS[${#STEP_STATUS[@]} - 2]="FELL BACK (see log)"
    fi
fi
if ((CONFIGURED)); then
    if run_step "build" build.log 300 cmake --build "$BUILD_DIR" -j16; then
        BUILT=1
    fi
else
    record "build" "SKIP (configure failed)" 0 "-"
fi

# ---- tests labelled gpu -------------------------------------------------------------------------
# The NCCL test (labels gpu, mpi) runs under mpiexec; Open MPI refuses root without these.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
if ((BUILT)); then
    run_step "ctest -L gpu" ctest-gpu.log 180 \
        ctest --test-dir "$BUILD_DIR" -L gpu --output-on-failure --no-tests=error --timeout 150 || true
    # A test that found no device exits 77 and ctest counts it as skipped, not passed: say so.
    if grep -q "Not Run\|Skipped\|SKIP:" "$LOG_DIR/ctest-gpu.log" 2>/dev/null; then
        STEP_STATUS[${#STEP_STATUS[@]} - 1]+=" (some SKIPPED)"
    fi
else
    record "ctest -L gpu" "SKIP (no build)" 0 "-"
fi

# ---- the main job on the GPU -------------------------------------------------------------------------
# `axial demo` is the README's main job; on a machine with a GPU it runs the attention there.
DEMO="$BUILD_DIR/tools/axial"
if ((BUILT)) && [[ -x "$DEMO" ]]; then
    run_step "axial demo --device cuda" demo-gpu.log 120 "$DEMO" demo --device cuda --data "$ROOT/tests/data" \
        --out "$BUILD_DIR/demo" || true
else
    record "axial demo --device cuda" "SKIP (CLI not built)" 0 "-"
fi

# ---- the CPU kernels on this machine's CPU -------------------------------------------------------
# GPU hosts usually have AVX-512 (and often AVX512_BF16), which development machines here lack: run
# the CPU Evoformer and GEMM tests, the vector layer's test and the op driver (every op on every CPU
# path) there too, so those kernel paths (16-lane vectors, OpenBLAS's AVX-512 kernels) are exercised (the default path is the best the CPU has; the tests compare against a
# double-precision reference).
CPU_FLAGS="$(grep -o -w 'avx512f\|avx512_bf16' /proc/cpuinfo 2>/dev/null | sort -u | tr '\n' ' ')"
if ((BUILT)) && [[ "$CPU_FLAGS" == *avx512f* ]]; then
    run_step "CPU evoformer tests (${CPU_FLAGS% })" ctest-cpu-avx512.log 120 \
        ctest --test-dir "$BUILD_DIR" -R "evoformer_forward|evoformer_backward|cpu_dispatch|test_gemm|test_cpu_vec|^test_ops$" -LE gpu \
        --output-on-failure --timeout 110 || true
else
    record "CPU evoformer tests (AVX-512)" "SKIP (no AVX-512 here)" 0 "-"
fi

# ---- benchmark ----------------------------------------------------------------------------------
BENCH="$BUILD_DIR/bench/bench_evoformer_attention"
if ((BUILT)) && [[ -x "$BENCH" ]]; then
    run_step "bench_evoformer_attention --gpu" bench-gpu.log 150 "$BENCH" --gpu || true
    # The SIMT kernels alone (what fp32, odd head dims and pre-sm_80 devices get), for comparison.
    [[ "${AXIAL_GPU_QUICK:-0}" == 1 ]] || run_step "bench --gpu, SIMT kernels only" bench-gpu-simt.log 150 env AXIAL_CUDA_TENSOR_CORES=0 "$BENCH" --gpu || true
else
    record "bench_evoformer_attention --gpu" "SKIP (not built)" 0 "-"
fi
# ax_gemm through cuBLAS (f32 without TF32, bf16/f16 on tensor cores).
BENCH_GEMM="$BUILD_DIR/bench/bench_gemm"
if ((BUILT)) && [[ -x "$BENCH_GEMM" ]]; then
    run_step "bench_gemm --gpu" bench-gemm-gpu.log 90 "$BENCH_GEMM" --gpu --repeats 5 || true
else
    record "bench_gemm --gpu" "SKIP (not built)" 0 "-"
fi

# ---- PyTorch baseline on the benchmark's shapes -------------------------------------------------
TORCH_SCRIPT="$LOG_DIR/torch_baseline.py"
cat >"$TORCH_SCRIPT" <<'PY'
# Eager PyTorch Evoformer attention (S x S logits materialised) and SDPA with the summed bias, on the
# shapes of bench_evoformer_attention --gpu: CUDA events, 3 warm-ups, median of 10.
import statistics
import torch

SHAPES = [(1, 128, 384, 8, 32), (1, 384, 384, 4, 32), (1, 128, 256, 8, 32), (1, 16, 2048, 8, 64)]

def eager(q, k, v, mask, pair):
    # q, k, v: (B, N, S, H, D) -> (B, N, H, S, D)
    qh, kh, vh = (t.transpose(2, 3) for t in (q, k, v))
    logits = torch.matmul(qh, kh.transpose(-1, -2)) * q.shape[-1] ** -0.5 + mask + pair
    return torch.matmul(torch.softmax(logits, dim=-1), vh).transpose(2, 3)

def sdpa(q, k, v, mask, pair):
    B, N, S, H, D = q.shape
    qh, kh, vh = (t.transpose(2, 3).reshape(B * N, H, S, D) for t in (q, k, v))
    bias = (mask + pair).reshape(B * N, H, S, S)
    o = torch.nn.functional.scaled_dot_product_attention(qh, kh, vh, attn_mask=bias)
    return o.reshape(B, N, H, S, D).transpose(2, 3)

def time_ms(fn, repeats=10):
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        torch.cuda.synchronize()
        times.append(a.elapsed_time(b))
    return statistics.median(times)

print(f"PyTorch {torch.__version__} on {torch.cuda.get_device_name(0)}; forward / forward+backward ms, median of 10")
print(f"{'shape (B,N,S,H,D)':22} {'dtype':5} {'impl':5} {'fwd ms':>9} {'f+b ms':>9} {'fwd TF/s':>9}")
for (B, N, S, H, D) in SHAPES:
    for dtype in (torch.bfloat16, torch.float32):
        g = torch.Generator(device="cuda").manual_seed(3)
        mk = lambda *s: (torch.rand(*s, device="cuda", generator=g, dtype=torch.float32) * 2 - 1).to(dtype)
        q, k, v, dout = (mk(B, N, S, H, D) for _ in range(4))
        mask, pair = mk(B, N, 1, 1, S), mk(B, 1, H, S, S)
        flops = 4.0 * B * N * H * S * S * D
        for name, impl in (("eager", eager), ("sdpa", sdpa)):
            try:
                leaves = [t.detach().requires_grad_(True) for t in (q, k, v, mask, pair)]
                with torch.no_grad():
                    f = time_ms(lambda: impl(q, k, v, mask, pair))
                def fb():
                    for t in leaves:
                        t.grad = None
                    impl(*leaves).backward(dout)
                fbt = time_ms(fb)
                print(f"{str((B, N, S, H, D)):22} {str(dtype)[6:]:5} {name:5} {f:9.3f} {fbt:9.3f} {flops / f * 1e-9:9.2f}")
            except Exception as e:  # out of memory or an unsupported combination: say so, go on
                print(f"{str((B, N, S, H, D)):22} {str(dtype)[6:]:5} {name:5} failed: {type(e).__name__}: {str(e)[:80]}")
            torch.cuda.empty_cache()
PY
if [[ "${AXIAL_GPU_QUICK:-0}" == 1 ]]; then
    record "PyTorch baseline" "SKIP (AXIAL_GPU_QUICK=1)" 0 "-"
elif python3 -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" >/dev/null 2>&1; then
    run_step "PyTorch baseline" torch-baseline.log 120 python3 "$TORCH_SCRIPT" || true
else
    record "PyTorch baseline" "SKIP (no PyTorch with CUDA)" 0 "-"
fi

# ---- Python bindings on the GPU (when the machine's Python has torch with CUDA and scikit-build-core)
if python3 -c "import torch, scikit_build_core, pytest, numpy, sys; sys.exit(0 if torch.cuda.is_available() else 1)" \
    >/dev/null 2>&1; then
    # Where the configure fell back (no HDF5 / libpng there), build the bindings without them too and
    # run the tests that do not need the store: attention, DLPack and PyTorch (on cuda as well as cpu).
    PY_ENV="AXIAL_CUDA=ON"
    PY_TESTS="'$ROOT/python_bindings/tests'"
    if [[ "${STEP_STATUS[*]}" == *"FELL BACK"* ]]; then
        PY_ENV+=" AXIAL_HDF5=OFF AXIAL_PNG=OFF"
    fi
    if [[ "${STEP_STATUS[*]}" == *"FELL BACK"* || "${AXIAL_GPU_QUICK:-0}" == 1 ]]; then
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
for log in demo-gpu.log bench-gpu.log bench-gpu-simt.log bench-gemm-gpu.log torch-baseline.log; do
    if [[ -s "$LOG_DIR/$log" ]]; then
        echo
        echo "---- $log ----"
        cat "$LOG_DIR/$log"
    fi
done
if [[ -s "$LOG_DIR/ctest-gpu.log" ]]; then
    echo
    echo "---- ctest-gpu.log (tail) ----"
    tail -n 40 "$LOG_DIR/ctest-gpu.log"
fi

OVERALL=0
echo
echo "==================== gpu-check summary ===================="
echo "device: $DEVICE"
echo "commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo 'none')   CUDA archs: $ARCHS   total: $(($(date +%s) - START_S))s"
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
