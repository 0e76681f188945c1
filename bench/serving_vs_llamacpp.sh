#!/usr/bin/env bash
# The serving benchmark (bench/serving.c: FastGen's effective throughput, three policies, closed-loop
# clients) with llama.cpp serving the same requests one at a time as the anchor, then the table and
# the plot (bench/serving_report.py). Never asserts timings; run it on a quiet machine (the load
# average is printed).
#
# The anchor is llama.cpp's own HTTP server, llama-server --parallel 1 (one slot: requests are served
# one at a time, in arrival order), built from the same llama-cpp-python 0.3.36 source tree that
# bench/llm_vs_llamacpp.sh uses (~4 minutes on 2 cores once llama-bench is built, cached). Each trace
# request is sent once, in order, to /completion as token ids (n_predict = its drawn length,
# ignore_eos, greedy, no prompt cache), streamed; its TTFT and token times are read from the stream.
# A one-slot FIFO server's closed loop is then exact arithmetic: with c clients, request j starts when
# request j-1 ends and was submitted when request j-c ended, so each client count's timelines are the
# measured service timelines shifted by the queueing delay (--llamacpp-live runs the closed loops for
# real instead: slower, the same up to HTTP overhead). Without llama-server (--anchor derived, or its
# build failed) the service timelines are derived from llama-bench rates measured in the same run
# (pp at the mean prompt length, tg at the mean generation length): TTFT = prompt / pp, one token
# every 1/tg after; the table then says "llama.cpp (derived)".
#
#   bench/serving_vs_llamacpp.sh [--model F] [--threads T] [--out DIR] [--anchor server|derived|none]
#                                [--llamacpp-live] [--repack 0|1] [-- bench_serving options...]
#   --out DIR   results.jsonl, trace.json, serving.md, serving.png, logs (default: a new temp dir)
#   --repack 0  llama.cpp without repacked or AMX weight buffers (llama-server --no-repack, llama-bench
#               --repack 0), for an Intel VM whose AMX llama.cpp's kernels fault on (see llm_vs_llamacpp.sh)
#   bench_serving options: --clients, --policies, --prompt-mean, --gen-mean, --prompt-sla-frac,
#               --gen-sla-frac, --batch-tokens, --ctx, --seed (see bench/serving.c)
#   AXIAL_CACHE  cache root (default ~/.cache/axial); llama.cpp lives in $AXIAL_CACHE/llamacpp.
#   AXIAL_BUILD  Axial build folder for bench_serving (default <repo>/build-bench; configured if absent).
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
llamacpp_version=0.3.36
cache=${AXIAL_CACHE:-$HOME/.cache/axial}/llamacpp
axial_build=${AXIAL_BUILD:-$root/build-bench}

model=""
threads=$(nproc)
out=""
anchor=server
live=0
repack=""
bench_args=()
usage() { sed -n '20,28p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case "$1" in
        --model) model=$2; shift 2 ;;
        --threads) threads=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --anchor) anchor=$2; shift 2 ;;
        --llamacpp-live) live=1; shift ;;
        --repack) repack=$2; shift 2 ;;
        --) shift; bench_args=("$@"); break ;;
        -h|--help) usage; exit 0 ;;
        *) echo "serving_vs_llamacpp: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
done
case "$anchor" in server|derived|none) ;; *) echo "serving_vs_llamacpp: --anchor must be server, derived or none" >&2; exit 2 ;; esac
case "$repack" in ""|0|1) ;; *) echo "serving_vs_llamacpp: --repack must be 0 or 1" >&2; exit 2 ;; esac
server_repack=(); bench_repack=()
[ "$repack" = 0 ] && server_repack=(--no-repack) && bench_repack=(--repack 0)
[ "$repack" = 1 ] && server_repack=(--repack) && bench_repack=(--repack 1)
log() { echo "serving_vs_llamacpp: $*" >&2; }

python=$root/.venv/bin/python
[ -x "$python" ] || python=$(command -v python3)
if [ -z "$model" ]; then
    model=$("$root/scripts/fetch-model.sh") || { log "no model: pass --model F or run scripts/fetch-model.sh"; exit 1; }
fi
[ -f "$model" ] || { log "model $model does not exist"; exit 1; }
[ -n "$out" ] || out=$(mktemp -d)
mkdir -p "$out"

# --- llama.cpp: llama-bench (shared with llm_vs_llamacpp.sh), then llama-server in the same tree -
build_dir=$cache/build-$llamacpp_version
src_dir=$cache/llama_cpp_python-$llamacpp_version/vendor/llama.cpp
llama_bench=$build_dir/bin/llama-bench
llama_server=$build_dir/bin/llama-server
if [ "$anchor" != none ]; then
    "$root/bench/llm_vs_llamacpp.sh" --build-only > /dev/null
fi
if [ "$anchor" = server ] && [ ! -x "$llama_server" ]; then
    # The web UI is not needed (and its prebuilt assets would be downloaded): off.
    log "building llama-server in $build_dir (~4 minutes on 2 cores)"
    if ! { cmake -S "$src_dir" -B "$build_dir" -DLLAMA_BUILD_SERVER=ON -DLLAMA_USE_PREBUILT_UI=OFF \
               -DLLAMA_BUILD_UI=OFF > "$out/llama-server-build.log" 2>&1 &&
           cmake --build "$build_dir" -j "$(nproc)" --target llama-server >> "$out/llama-server-build.log" 2>&1; }; then
        log "llama-server did not build (see $out/llama-server-build.log); deriving the anchor from llama-bench"
        anchor=derived
    fi
fi

# --- Axial ------------------------------------------------------------------------------------
axial_bench=$axial_build/bench/bench_serving
if [ ! -x "$axial_bench" ]; then
    log "building Axial's bench_serving in $axial_build (CPU only)"
    cmake -S "$root" -B "$axial_build" -DCMAKE_BUILD_TYPE=Release -DAXIAL_CUDA=OFF -DAXIAL_MPI=OFF \
        -DAXIAL_HDF5=OFF -DAXIAL_BUILD_BENCH=ON > /dev/null
    cmake --build "$axial_build" -j "$(nproc)" --target bench_serving >&2
fi
load_before=$(cut -d' ' -f1 /proc/loadavg)
log "load average before: $load_before ($(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'))"
start=$(date +%s)
"$axial_bench" --model "$model" --threads "$threads" "${bench_args[@]}" --json "$out/results.jsonl" \
    --trace "$out/trace.json" | tee "$out/axial.txt"
log "Axial: $(( $(date +%s) - start )) s"

# --- the anchor -------------------------------------------------------------------------------
if [ "$anchor" != none ]; then
    start=$(date +%s)
    server_pid=""
    trap '[ -n "$server_pid" ] && kill "$server_pid" 2> /dev/null; true' EXIT
    pp=0; tg=0; url=""
    if [ "$anchor" = server ]; then
        port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        n_ctx=$("$python" -c 'import json, sys; print(json.loads(open(sys.argv[1]).readline())["n_ctx"])' "$out/results.jsonl")
        # One slot, no prompt cache kept across requests, no web UI; same thread count as Axial.
        "$llama_server" -m "$model" -t "$threads" -tb "$threads" -c "$n_ctx" --parallel 1 --no-cache-prompt \
            --cache-ram 0 --no-webui --host 127.0.0.1 --port "$port" "${server_repack[@]}" > "$out/llama-server.log" 2>&1 &
        server_pid=$!
        url=http://127.0.0.1:$port
        log "llama-server --parallel 1 on $url (pid $server_pid), log in $out/llama-server.log"
    else
        read -r pm gm < <("$python" -c 'import json, sys; m = json.loads(open(sys.argv[1]).readline()); print(m["prompt_mean"], m["gen_mean"])' "$out/results.jsonl")
        log "llama-bench: pp$pm and tg$gm, 3 repetitions, $threads threads"
        "$llama_bench" -m "$model" -t "$threads" -p "$pm" -n "$gm" -r 3 "${bench_repack[@]}" -o json \
            > "$out/llama-bench.json" 2> "$out/llama-bench.log" ||
            { cat "$out/llama-bench.log" >&2; log "llama-bench failed"; exit 1; }
    fi
    ROOT=$root LIVE=$live URL=$url "$python" - "$out/results.jsonl" "$out/trace.json" "$out/llama-bench.json" <<'PY'
import json, os, statistics, sys, threading, time, urllib.request

sys.path.insert(0, os.path.join(os.environ.get("ROOT", "."), "bench"))
import serving_report as sr

results, trace_path, bench_json = sys.argv[1:4]
lines = [json.loads(l) for l in open(results) if l.strip()]
machine = lines[0]
clients = sorted({o["clients"] for o in lines if o.get("type") == "point"})
trace = json.load(open(trace_path))
url = os.environ["URL"]


def wait_healthy(timeout=120):
    t0 = time.time()
    while time.time() - t0 < timeout:
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as r:
                if r.status == 200:
                    return
        except Exception:
            pass
        time.sleep(0.5)
    raise SystemExit("serving_vs_llamacpp: llama-server did not become healthy (its log is llama-server.log in the "
                     "output folder; one that died at start may have hit its AMX or repacked kernels faulting on "
                     "this CPU: rerun with --repack 0)")


def serve(req):
    """One streamed /completion: (token times since the send, end time since the send)."""
    body = json.dumps({"prompt": req["prompt"], "n_predict": req["gen_tokens"], "ignore_eos": True,
                       "stream": True, "cache_prompt": False, "temperature": 0.0, "return_tokens": True}).encode()
    r = urllib.request.Request(url + "/completion", data=body, headers={"Content-Type": "application/json"})
    t0 = time.perf_counter()
    times, predicted = [], -1
    with urllib.request.urlopen(r, timeout=600) as resp:
        for raw in resp:
            raw = raw.strip()
            if not raw.startswith(b"data: "):
                continue
            now = time.perf_counter() - t0
            chunk = json.loads(raw[6:])
            n = len(chunk.get("tokens") or [])
            if n == 0 and not chunk.get("stop") and chunk.get("content"):
                n = 1
            times.extend([now] * n)
            if chunk.get("stop"):
                predicted = chunk.get("tokens_predicted", len(times))
                break
    end = time.perf_counter() - t0
    if len(times) != req["gen_tokens"] or predicted != req["gen_tokens"]:
        raise SystemExit(f"serving_vs_llamacpp: llama-server streamed {len(times)} tokens "
                         f"(reported {predicted}), expected {req['gen_tokens']}")
    return times, end


def replay(service, c):
    """Closed loop with c clients on a one-slot FIFO server: request j starts when j-1 ends and was
    submitted when j-c ended (the client that finished first submits the next request)."""
    out, ends = [], []
    for j, (times, end) in enumerate(service):
        submit = 0.0 if j < c else ends[j - c]
        begin = max(submit, ends[j - 1] if j else 0.0)
        ends.append(begin + end)
        wait = begin - submit
        out.append({"submit_s": submit, "token_s": [wait + t for t in times], "end_s": wait + end})
    return out


def live_closed_loop(n, c):
    recs = [None] * n
    nxt = iter(range(n))
    lock = threading.Lock()
    t_base = time.perf_counter()

    def client():
        while True:
            with lock:
                j = next(nxt, None)
            if j is None:
                return
            submit = time.perf_counter() - t_base
            times, end = serve(trace[j])
            recs[j] = {"submit_s": submit, "token_s": times, "end_s": end}

    th = [threading.Thread(target=client) for _ in range(c)]
    for t in th:
        t.start()
    for t in th:
        t.join()
    return recs


n_max = 4 * max(clients) + 32
if url:
    wait_healthy()
    serve({"prompt": trace[0]["prompt"][:32], "gen_tokens": 4})  # warm-up
    system = "llama.cpp"
    if os.environ["LIVE"] == "1":
        print(f"llama.cpp: llama-server --parallel 1, live closed loops", file=sys.stderr)
        per_point = {c: live_closed_loop(4 * c + 32, c) for c in clients}
    else:
        print(f"llama.cpp: llama-server --parallel 1, {n_max} requests served one at a time", file=sys.stderr)
        service = [serve(trace[j]) for j in range(n_max)]
        per_point = {c: replay(service[:4 * c + 32], c) for c in clients}
else:
    rows = json.load(open(bench_json))
    pp = statistics.median(next(r for r in rows if r["n_prompt"] > 0 and r["n_gen"] == 0)["samples_ts"])
    tg = statistics.median(next(r for r in rows if r["n_gen"] > 0 and r["n_prompt"] == 0)["samples_ts"])
    print(f"llama.cpp (derived): llama-bench pp{machine['prompt_mean']} {pp:.1f} tok/s, "
          f"tg{machine['gen_mean']} {tg:.1f} tok/s", file=sys.stderr)
    system = "llama.cpp (derived)"
    service = []
    for j in range(n_max):
        p, g = len(trace[j]["prompt"]), trace[j]["gen_tokens"]
        times = [p / pp + k / tg for k in range(g)]
        service.append((times, times[-1]))
    per_point = {c: replay(service[:4 * c + 32], c) for c in clients}

with open(results, "a") as f:
    for c in clients:
        recs = per_point[c]
        for j, r in enumerate(recs):
            r["prompt_tokens"] = len(trace[j]["prompt"])
        m = sr.point_metrics(recs, machine["prompt_sla_tok_s"], machine["gen_sla_tok_s"], machine["ema_span"])
        f.write(json.dumps({"type": "point", "system": system, "policy": "", "clients": c, **m}) + "\n")
        print(f"{system:<20} {c:4d} clients: effective {m['effective_req_s']:.3f} req/s, "
              f"{m['throughput_req_s']:.3f} req/s, TTFT P50 {m['ttft_p50_s']:.2f} s, "
              f"token P95 {1e3 * m['token_p95_s']:.1f} ms, SLA {100 * m['sla_pass']:.0f} %", file=sys.stderr)
PY
    if [ -n "$server_pid" ]; then kill "$server_pid" 2> /dev/null || true; wait "$server_pid" 2> /dev/null || true; server_pid=""; fi
    log "llama.cpp anchor: $(( $(date +%s) - start )) s"
fi
load_after=$(cut -d' ' -f1 /proc/loadavg)

"$python" "$root/bench/serving_report.py" "$out/results.jsonl" --md "$out/serving.md" --png "$out/serving.png" ||
    log "serving_report found disagreements (above)"
cat "$out/serving.md"
quiet=$("$python" -c "print('quiet' if float('$load_before') < 1.0 else 'NOT QUIET: numbers taken under load')")
echo
echo "load average $load_before before, $load_after after (this run's own): $quiet"
echo "results in $out: results.jsonl, serving.md, serving.png"
