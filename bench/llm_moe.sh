#!/usr/bin/env bash
# Decode (and prefill) speed of Mixture-of-Experts models against the dense model they come from, in
# the same run: tests/python/derive_moe.py splits each feed-forward of the SmolLM2 Q4_1 file into 8
# experts of 192 (a seeded random router, so k < 8 routes like a real MoE) with expert_used_count
# k = 1, 2 and 8, and bench_llm (bench/llm.c) measures every file: medians of R samples after a
# warm-up. At k = 8 every expert runs, the same multiply-adds as the dense model; at k = 1 and 2 a
# decoded token reads 1/8 and 2/8 of the feed-forward weights. Never asserts timings; run it on a
# quiet machine (the load average is printed).
#
#   bench/llm_moe.sh [--model F] [--threads T] [--repeats R] [--gen N] [--prompt N]
#   AXIAL_CACHE  cache root (default ~/.cache/axial); the derived files live in $AXIAL_CACHE/moe.
#   AXIAL_BUILD  Axial build folder holding bench/bench_llm (default <repo>/build-bench; configured
#                CPU-only and built if absent).
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${AXIAL_CACHE:-$HOME/.cache/axial}/moe
axial_build=${AXIAL_BUILD:-$root/build-bench}
model="" threads=$(nproc) repeats=5 gen=64 prompt=128
while [ $# -gt 0 ]; do
    case $1 in
        --model) model=$2; shift 2 ;;
        --threads) threads=$2; shift 2 ;;
        --repeats) repeats=$2; shift 2 ;;
        --gen) gen=$2; shift 2 ;;
        --prompt) prompt=$2; shift 2 ;;
        *) echo "usage: bench/llm_moe.sh [--model F] [--threads T] [--repeats R] [--gen N] [--prompt N]" >&2; exit 2 ;;
    esac
done
python=$root/.venv/bin/python
"$python" -c "import gguf, numpy" 2> /dev/null || { echo "llm_moe.sh: $python with gguf and numpy is missing (scripts/python-env.sh)" >&2; exit 1; }
[ -n "$model" ] || model=$("$root/scripts/fetch-model.sh") || { echo "llm_moe.sh: no model (scripts/fetch-model.sh)" >&2; exit 1; }
bench=$axial_build/bench/bench_llm
if [ ! -x "$bench" ]; then
    echo "llm_moe.sh: building bench_llm in $axial_build (CPU only)" >&2
    cmake -S "$root" -B "$axial_build" -DCMAKE_BUILD_TYPE=Release -DAXIAL_CUDA=OFF -DAXIAL_MPI=OFF \
        -DAXIAL_HDF5=OFF -DAXIAL_BUILD_BENCH=ON > /dev/null
    cmake --build "$axial_build" -j "$(nproc)" --target bench_llm >&2
fi
mkdir -p "$cache"
for k in 1 2 8; do
    out=$cache/$(basename "$model" .gguf)-moe8-k$k.gguf
    if [ ! -f "$out" ] || [ "$out" -ot "$model" ]; then
        echo "llm_moe.sh: deriving $out" >&2
        (cd "$root/tests/python" && "$python" derive_moe.py "$model" "$out.tmp" --k "$k" --router-seed 1)
        mv "$out.tmp" "$out"
    fi
done
load_before=$(cut -d' ' -f1 /proc/loadavg)
results=()
for f in "$model" "$cache"/$(basename "$model" .gguf)-moe8-k{1,2,8}.gguf; do
    results+=("$("$bench" --model "$f" --threads "$threads" --repeats "$repeats" --gen "$gen" --prompt "$prompt" --json)")
done
load_after=$(cut -d' ' -f1 /proc/loadavg)
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
printf '%s\n' "${results[@]}" > "$tmp"
"$python" - "$tmp" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
d = rows[0]
print(f"MoE vs dense, {d['threads']} threads, medians of {d['repeats']} samples (min..max)")
print(f"| model | experts used | tg{d['n_gen']} tok/s | vs dense | pp{d['n_prompt']} tok/s | vs dense |")
print("|---|---|---|---|---|---|")
names = ["dense (F = 1536)"] + ["MoE 8 x 192"] * 3
for r, name, k in zip(rows, names, ["-", 1, 2, 8]):
    print(f"| {name} | {k} | {r['decode_tok_s']:.1f} ({r['decode_tok_s_min']:.1f}..{r['decode_tok_s_max']:.1f}) "
          f"| {r['decode_tok_s'] / d['decode_tok_s']:.2f} | {r['prefill_tok_s']:.1f} "
          f"| {r['prefill_tok_s'] / d['prefill_tok_s']:.2f} |")
PY
echo "load average: $load_before before, $load_after after"
