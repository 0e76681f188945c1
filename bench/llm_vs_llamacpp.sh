#!/usr/bin/env bash
# Axial vs llama.cpp on the same GGUF, same machine, same run, same thread count: prefill tok/s
# (pp512) and decode tok/s (tg128), medians, the ratio Axial/llama.cpp, the CPU llama.cpp reports,
# and a memory-bandwidth line with the decode ceiling it implies (bandwidth / weight bytes read per
# token). Never asserts timings; run it on a quiet machine (the load average is printed).
#
# llama.cpp is built from source, not installed from a wheel: the llama.cpp vendored in the PyPI
# source package of llama-cpp-python (a pinned, reviewable tarball fetched by pip), GGML_NATIVE=ON
# so it uses every instruction set this CPU has. Only llama-bench and llama-completion (whose
# system_info line names the CPU features llama.cpp's kernels use) are built, ~15 min on 2 cores;
# the binaries are cached and later runs skip the build.
#
#   bench/llm_vs_llamacpp.sh [--model F] [--threads T] [--repeats R] [--repack 0|1]
#                            [--format md|json] [--build-only] [--axial-bench PATH]
#   --repack 0   forwarded to llama-bench: no extra CPU buffer types, i.e. neither repacked weight
#                layouts nor AMX buffers (use_extra_bufts = false). Use it on a machine whose AMX
#                kernels fault (an Intel VM that reports AMX but does not grant its state); the
#                table says so.
#   AXIAL_CACHE  cache root (default ~/.cache/axial); llama.cpp lives in $AXIAL_CACHE/llamacpp.
#   AXIAL_BUILD  Axial build folder for bench_llm (default <repo>/build-bench; configured if absent).
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
llamacpp_version=0.3.36
cache=${AXIAL_CACHE:-$HOME/.cache/axial}/llamacpp
axial_build=${AXIAL_BUILD:-$root/build-bench}

model=""
threads=$(nproc)
repeats=5
repack=""
format=md
build_only=0
axial_bench=""
usage() { sed -n '13,20p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case "$1" in
        --model) model=$2; shift 2 ;;
        --threads) threads=$2; shift 2 ;;
        --repeats) repeats=$2; shift 2 ;;
        --repack) repack=$2; shift 2 ;;
        --format) format=$2; shift 2 ;;
        --build-only) build_only=1; shift ;;
        --axial-bench) axial_bench=$2; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "llm_vs_llamacpp: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
done
case "$format" in md|json) ;; *) echo "llm_vs_llamacpp: --format must be md or json" >&2; exit 2 ;; esac
case "$repack" in ""|0|1) ;; *) echo "llm_vs_llamacpp: --repack must be 0 or 1" >&2; exit 2 ;; esac

log() { echo "llm_vs_llamacpp: $*" >&2; }

# --- llama.cpp: fetch the source package, build llama-bench once --------------------------------
src_dir=$cache/llama_cpp_python-$llamacpp_version/vendor/llama.cpp
build_dir=$cache/build-$llamacpp_version
llama_bench=$build_dir/bin/llama-bench
# llama-completion only prints llama.cpp's system_info line (the CPU features its kernels use),
# which llama-bench does not report.
llama_completion=$build_dir/bin/llama-completion
build_llama_bench() {
    if [ -x "$llama_bench" ] && [ -x "$llama_completion" ]; then
        return 0
    fi
    mkdir -p "$cache"
    local tarball=$cache/llama_cpp_python-$llamacpp_version.tar.gz
    if [ ! -f "$tarball" ]; then
        local python=$root/.venv/bin/python
        [ -x "$python" ] || python=$(command -v python3)
        log "downloading the llama-cpp-python $llamacpp_version source package (~75 MB)"
        "$python" -m pip download -q --disable-pip-version-check --no-binary :all: --no-deps \
            "llama-cpp-python==$llamacpp_version" -d "$cache" >&2
    fi
    if [ ! -f "$src_dir/CMakeLists.txt" ]; then
        tar -xzf "$tarball" -C "$cache"
    fi
    # LLAMA_CURL is deprecated and ignored in this version (no download support is built anyway
    # with OPENSSL off); tests, examples, server and the unified app are not needed for llama-bench.
    log "building llama-bench (GGML_NATIVE=ON) in $build_dir; this takes 10-15 minutes on 2 cores"
    cmake -S "$src_dir" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON \
        -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
        -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_APP=OFF -DBUILD_SHARED_LIBS=OFF >&2
    cmake --build "$build_dir" -j "$(nproc)" --target llama-bench llama-completion >&2
    [ -x "$llama_bench" ] || { log "llama-bench not found at $llama_bench after the build"; exit 1; }
    [ -x "$llama_completion" ] || { log "llama-completion not found at $llama_completion after the build"; exit 1; }
}
build_llama_bench
if [ "$build_only" = 1 ]; then
    echo "$llama_bench"
    exit 0
fi

# --- the model, the load, Axial's benchmark ----------------------------------------------------
python=$root/.venv/bin/python
[ -x "$python" ] || python=$(command -v python3)
if [ -z "$model" ]; then
    model=$("$root/scripts/fetch-model.sh") || { log "no model: pass --model F or run scripts/fetch-model.sh"; exit 1; }
fi
[ -f "$model" ] || { log "model $model does not exist"; exit 1; }
if [ -z "$axial_bench" ]; then
    axial_bench=$axial_build/bench/bench_llm
    if [ ! -x "$axial_bench" ]; then
        log "building Axial's bench_llm in $axial_build (CPU only)"
        cmake -S "$root" -B "$axial_build" -DCMAKE_BUILD_TYPE=Release -DAXIAL_CUDA=OFF -DAXIAL_MPI=OFF \
            -DAXIAL_HDF5=OFF -DAXIAL_BUILD_BENCH=ON > /dev/null
        cmake --build "$axial_build" -j "$(nproc)" --target bench_llm >&2
    fi
fi
[ -x "$axial_bench" ] || { log "Axial's benchmark $axial_bench is missing"; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
load_before=$(cut -d' ' -f1 /proc/loadavg)

# llama.cpp's system_info (the CPU features its build uses): one token of generation is enough.
"$llama_completion" -m "$model" -t "$threads" -p "Hi" -n 1 -no-cnv --no-warmup > /dev/null 2> "$tmp/completion.log" ||
    log "llama-completion failed (see below); its system_info may be missing"
# (its log lines carry a timestamp prefix)
system_info=$(grep -m1 -o 'system_info:.*' "$tmp/completion.log" | sed 's/ *$//' || true)

repack_args=()
[ -n "$repack" ] && repack_args=(--repack "$repack")
log "llama-bench: pp512 and tg128, $repeats repetitions, $threads threads"
rc=0
"$llama_bench" -m "$model" -t "$threads" -p 512 -n 128 -r "$repeats" "${repack_args[@]}" -o json \
    > "$tmp/llamacpp.json" 2> "$tmp/llamacpp.log" || rc=$?
if [ "$rc" -ne 0 ]; then
    cat "$tmp/llamacpp.log" >&2
    # 132 = killed by SIGILL: on an Intel VM that reports AMX, llama.cpp's AMX weight buffers fault
    # (seen on a 2-vCPU Xeon, 2026-12-06, where Axial's own AMX tiles run).
    if [ "$rc" -eq 132 ] && [ -z "$repack" ]; then
        log "llama-bench died of an illegal instruction (exit 132): its AMX or repacked kernels fault on this CPU; rerun with --repack 0"
    else
        log "llama-bench failed (exit $rc)"
    fi
    exit 1
fi
log "Axial bench_llm: pp512 and tg128, $repeats repetitions, $threads threads"
"$axial_bench" --model "$model" --threads "$threads" --repeats "$repeats" --prompt 512 --gen 128 --json \
    > "$tmp/axial.json" || { log "bench_llm failed"; exit 1; }
load_after=$(cut -d' ' -f1 /proc/loadavg)

FORMAT=$format REPACK=$repack SYSTEM_INFO=$system_info LOAD="$load_before $load_after" NPROC=$(nproc) \
    CPU_MODEL=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//') \
    "$python" - "$tmp/llamacpp.json" "$tmp/axial.json" <<'PY'
import json, os, statistics, sys

llama = json.load(open(sys.argv[1]))
axial = json.load(open(sys.argv[2]))


def llama_row(n_prompt, n_gen):
    for r in llama:
        if r["n_prompt"] == n_prompt and r["n_gen"] == n_gen:
            return r
    raise SystemExit(f"llm_vs_llamacpp: llama-bench reported no pp{n_prompt}/tg{n_gen} row")


pp, tg = llama_row(512, 0), llama_row(0, 128)
rows = [("prefill pp512 (tok/s)", statistics.median(pp["samples_ts"]), axial["prefill_tok_s"]),
        ("decode tg128 (tok/s)", statistics.median(tg["samples_ts"]), axial["decode_tok_s"])]
load = os.environ["LOAD"].split()
# The load before the run decides: the one-minute average after it includes the benchmarks' own threads.
quiet = float(load[0]) < 1.0
out = {
    "model": axial["model"], "threads": axial["threads"], "repeats": axial["repeats"],
    "cpu": os.environ["CPU_MODEL"], "nproc": int(os.environ["NPROC"]),
    "llamacpp": {"build_commit": pp.get("build_commit"), "build_number": pp.get("build_number"),
                 "cpu_info": pp.get("cpu_info"), "backends": pp.get("backends"), "repack": pp.get("repack"),
                 "system_info": os.environ["SYSTEM_INFO"], "model_size": pp.get("model_size")},
    "rows": [{"test": t, "llamacpp": l, "axial": a, "ratio": a / l} for t, l, a in rows],
    "stream_gb_s": axial["stream_gb_s"], "bytes_per_token": axial["bytes_per_token"],
    "decode_limit_tok_s": axial["decode_limit_tok_s"], "load_before_after": load, "quiet": quiet,
}
if os.environ["FORMAT"] == "json":
    print(json.dumps(out, indent=1))
    raise SystemExit(0)
print(f"LLM inference: Axial vs llama.cpp, {os.path.basename(axial['model'])}, {axial['threads']} threads, "
      f"medians of {axial['repeats']} runs each")
print(f"machine: {out['cpu']}, {out['nproc']} CPUs; load average {load[0]} before, {load[1]} after (this run's own)"
      + ("" if quiet else "  ** NOT QUIET: numbers taken under load **"))
print(f"llama.cpp: llama-cpp-python 0.3.36's vendored llama.cpp (build {pp.get('build_number')}, "
      f"{pp.get('build_commit')}), GGML_NATIVE=ON, backends {pp.get('backends')}, cpu_info {pp.get('cpu_info')!r}")
print(f"llama.cpp {out['llamacpp']['system_info'] or 'system_info: (not available)'}")
if os.environ["REPACK"] == "0":
    print("llama.cpp ran with --repack 0 (no repacked or AMX weight buffers), as asked")
print()
print("| test | llama.cpp | Axial | Axial / llama.cpp |")
print("|---|---:|---:|---:|")
for t, l, a in rows:
    print(f"| {t} | {l:.1f} | {a:.1f} | {a / l:.2f}x |")
print()
limit = axial["decode_limit_tok_s"]
print(f"memory bandwidth (streaming read of 512 MiB, {axial['threads']} threads, median): "
      f"{axial['stream_gb_s']:.1f} GB/s")
print(f"decode limit = {axial['stream_gb_s']:.1f} GB/s / {axial['bytes_per_token'] / 1e6:.1f} MB of weights per "
      f"token = {limit:.0f} tok/s; llama.cpp reaches {rows[1][1] / limit:.0%} of it, Axial {rows[1][2] / limit:.0%}")
PY
