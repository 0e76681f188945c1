#!/usr/bin/env python3
"""Table and plot of the serving benchmark (bench/serving.c, bench/serving_vs_llamacpp.sh).

    serving_report.py RESULTS.jsonl [--md OUT.md] [--png OUT.png] [--title TEXT]

RESULTS.jsonl holds one JSON object a line: a "machine" line (single-stream speed, SLA rates, sizes),
"point" lines (one per system/policy and client count), "request" lines (each request's timeline:
submit time and the time of every generated token, relative to its submit) and a "ratios" line.
bench_serving writes Axial's; serving_vs_llamacpp.sh appends llama.cpp's.

The metrics are recomputed here from the request timelines with numpy, an implementation separate
from bench/serving.c's, and compared with the numbers the benchmark printed; a disagreement is
reported and makes the exit status 1. The same functions give llama.cpp's points (point_metrics),
so both systems are judged by one definition. FastGen's rules (DeepSpeedExamples
benchmarks/inference/mii): TTFT <= prompt tokens / prompt rate; inter-token latencies d_1..d_k:
cumulative d_1+..+d_k <= k / gen rate for every k, and their bias-adjusted exponential moving
average (span 16, as pandas' ewm(span=16).mean()) < 1 / gen rate everywhere; effective throughput =
requests meeting all three / wall time.

Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
"""
import argparse
import json
import sys

import numpy as np

POLICY_ORDER = ["splitfuse", "prefill-first", "static"]


def ema_adjusted(x, span):
    """pandas' ewm(span).mean() with adjust=True: sum (1-a)^j x_{k-j} / sum (1-a)^j, for every k."""
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        return x
    alpha = 2.0 / (span + 1.0)
    k = np.arange(x.size)
    # weights of x_j in the average at k: (1-a)^(k-j), j <= k (a lower-triangular matrix; n is small)
    w = np.tril((1.0 - alpha) ** (k[:, None] - k[None, :]).clip(min=0))
    return (w @ x) / w.sum(axis=1)


def request_sla(prompt_tokens, token_s, prompt_rate, gen_rate, span):
    """(prompt ok, cumulative ok, ema ok) for one request; token_s = token times since its submit."""
    t = np.asarray(token_s, dtype=np.float64)
    prompt_ok = t[0] <= prompt_tokens / prompt_rate
    gaps = np.diff(t)
    if gaps.size == 0:
        return prompt_ok, True, True
    k = np.arange(1, gaps.size + 1)
    cum_ok = bool(np.all(np.cumsum(gaps) <= k / gen_rate + 1e-12))
    ema_ok = bool(np.all(ema_adjusted(gaps, span) < 1.0 / gen_rate))
    return bool(prompt_ok), cum_ok, ema_ok


def point_metrics(requests, prompt_rate, gen_rate, span):
    """requests: dicts with prompt_tokens, submit_s (since the point's first submit), token_s (since
    the request's submit), end_s (since its submit)."""
    start = min(r["submit_s"] for r in requests)
    end = max(r["submit_s"] + r["end_s"] for r in requests)
    duration = end - start
    ttft = np.array([r["token_s"][0] for r in requests])
    gaps = np.concatenate([np.diff(np.asarray(r["token_s"], dtype=np.float64)) for r in requests])
    rules = np.array([request_sla(r["prompt_tokens"], r["token_s"], prompt_rate, gen_rate, span) for r in requests])
    passed = rules.all(axis=1)
    n = len(requests)
    generated = sum(len(r["token_s"]) for r in requests)
    pct = (lambda v, q: float(np.percentile(v, q)) if v.size else 0.0)
    return {
        "requests": n, "generated_tokens": generated, "duration_s": duration,
        "effective_req_s": float(passed.sum()) / duration, "throughput_req_s": n / duration,
        "throughput_tok_s": generated / duration,
        "ttft_p50_s": pct(ttft, 50), "ttft_p95_s": pct(ttft, 95),
        "token_p50_s": pct(gaps, 50), "token_p95_s": pct(gaps, 95), "token_p99_s": pct(gaps, 99),
        "sla_pass": float(passed.mean()), "prompt_sla_pass": float(rules[:, 0].mean()),
        "cum_sla_pass": float(rules[:, 1].mean()), "ema_sla_pass": float(rules[:, 2].mean()),
    }


def load(path):
    machine, points, requests, ratios = None, [], {}, None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            o = json.loads(line)
            kind = o.get("type")
            if kind == "machine":
                machine = o
            elif kind == "point":
                points.append(o)
            elif kind == "request":
                requests.setdefault((o["system"], o["policy"], o["clients"]), []).append(o)
            elif kind == "ratios":
                ratios = o
    if machine is None:
        raise SystemExit(f"serving_report: {path}: no machine line (not bench_serving --json output?)")
    return machine, points, requests, ratios


def check(machine, points, requests):
    """Recomputes every point that has request lines; returns the list of disagreements."""
    problems = []
    keys = ["effective_req_s", "throughput_req_s", "throughput_tok_s", "ttft_p50_s", "ttft_p95_s", "token_p50_s",
            "token_p95_s", "token_p99_s", "sla_pass"]
    for p in points:
        reqs = requests.get((p["system"], p["policy"], p["clients"]))
        if not reqs:
            continue
        m = point_metrics(reqs, machine["prompt_sla_tok_s"], machine["gen_sla_tok_s"], machine["ema_span"])
        for k in keys:
            # times are written with 1 us resolution; a rule decided within that margin may flip
            tol = 2e-3 * max(abs(p[k]), 1e-3) + (1.0 / p["requests"] + 1e-9 if k == "sla_pass" else 0)
            if k == "effective_req_s":
                tol += 1.0 / m["duration_s"]
            if abs(m[k] - p[k]) > tol:
                problems.append(f"{p['system']} {p['policy']} c={p['clients']}: {k} bench {p[k]:.6g}, "
                                f"recomputed {m[k]:.6g}")
    return problems


def label(p):
    return p["policy"] if p["system"] == "axial" else p["system"]


def series(points):
    """{label: [(clients, point), ...]} with Axial's policies first, in the issue's order."""
    out = {}
    for p in points:
        out.setdefault(label(p), []).append((p["clients"], p))
    order = [k for k in POLICY_ORDER if k in out] + sorted(k for k in out if k not in POLICY_ORDER)
    return {k: sorted(out[k], key=lambda cp: cp[0]) for k in order}


def markdown(machine, points, ratios):
    lines = []
    m = machine
    lines.append(f"Model {m['name']} ({m['model'].split('/')[-1]}), {m['threads']} threads; {m['requests']}-request "
                 f"trace, prompt mean {m['prompt_mean']}, generation mean {m['gen_mean']} (sd 0.3 x mean), "
                 f"n_ctx {m['n_ctx']}, KV block {m['block_size']}, batch budget {m['batch_tokens']} tokens.")
    lines.append(f"Single stream: prefill {m['prefill_tok_s']:.1f} tok/s, decode {m['decode_tok_s']:.1f} tok/s. "
                 f"SLA: prompt {m['prompt_sla_tok_s']:.1f} tok/s ({m['prompt_sla_frac']:.2f} x prefill), generation "
                 f"{m['gen_sla_tok_s']:.2f} tok/s ({m['gen_sla_frac']:.2f} x decode; cumulative and EMA-"
                 f"{m['ema_span']}).")
    lines.append("")
    lines.append("| system / policy | clients | requests | effective req/s | req/s | gen tok/s | TTFT P50 (s) | "
                 "TTFT P95 (s) | token P50 (ms) | token P95 (ms) | token P99 (ms) | SLA pass |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, cps in series(points).items():
        for c, p in cps:
            lines.append(f"| {name} | {c} | {p['requests']} | {p['effective_req_s']:.3f} | {p['throughput_req_s']:.3f} "
                         f"| {p['throughput_tok_s']:.1f} | {p['ttft_p50_s']:.2f} | {p['ttft_p95_s']:.2f} | "
                         f"{1e3 * p['token_p50_s']:.1f} | {1e3 * p['token_p95_s']:.1f} | {1e3 * p['token_p99_s']:.1f} "
                         f"| {100 * p['sla_pass']:.0f} % |")
    if ratios is not None:
        c = ratios["clients"]
        sf, pf = ratios["splitfuse_eff_req_s"], ratios["prefill_first_eff_req_s"]
        eff = f"{sf / pf:.2f} x" if pf > 0 else "n/a (prefill-first has none)"
        lat = ratios["prefill_first_token_p95_s"] / ratios["splitfuse_token_p95_s"]
        lines.append("")
        lines.append(f"At {c} clients: splitfuse / prefill-first effective throughput {sf:.3f} / {pf:.3f} req/s = "
                     f"{eff} (target >= 1.3 x); prefill-first / splitfuse P95 token latency "
                     f"{1e3 * ratios['prefill_first_token_p95_s']:.1f} / {1e3 * ratios['splitfuse_token_p95_s']:.1f} "
                     f"ms = {lat:.2f} x (target >= 2 x).")
    return "\n".join(lines) + "\n"


def raw_ratio_line(points, clients):
    """Splitfuse / prefill-first raw throughput (every request, SLA or not) at `clients`, beside the
    effective ratio: how much of the gap is the SLA and how much is plain speed."""
    at = {p["policy"]: p for p in points if p["system"] == "axial" and p["clients"] == clients}
    sf, pf = at.get("splitfuse"), at.get("prefill-first")
    if sf is None or pf is None or pf["throughput_req_s"] <= 0 or pf["throughput_tok_s"] <= 0:
        return None
    return (f"Raw throughput at {clients} clients (every request, in or out of the SLA): splitfuse / prefill-first "
            f"{sf['throughput_req_s']:.3f} / {pf['throughput_req_s']:.3f} req/s = "
            f"{sf['throughput_req_s'] / pf['throughput_req_s']:.2f} x, generated tokens "
            f"{sf['throughput_tok_s']:.1f} / {pf['throughput_tok_s']:.1f} tok/s = "
            f"{sf['throughput_tok_s'] / pf['throughput_tok_s']:.2f} x.")


SWEEP_FRACS = (0.025, 0.05, 0.1, 0.2)


def sla_sweep(machine, points, requests):
    """Effective req/s at the highest client count for other generation SLA rates (fractions of the
    single-stream decode speed; the prompt rule as run), recomputed from the same request timelines,
    so the table shows how much the comparison depends on the rate chosen. Markdown lines."""
    top = max(p["clients"] for p in points)
    rows = []
    for name, cps in series(points).items():
        p = dict(cps).get(top)
        reqs = requests.get((p["system"], p["policy"], p["clients"])) if p else None
        if reqs:
            rows.append((name, [point_metrics(reqs, machine["prompt_sla_tok_s"], f * machine["decode_tok_s"],
                                              machine["ema_span"])["effective_req_s"] for f in SWEEP_FRACS]))
    if not rows:
        return []
    head = " | ".join(f"{f:g} x decode ({f * machine['decode_tok_s']:.1f} tok/s)" for f in SWEEP_FRACS)
    lines = ["", f"Effective req/s at {top} clients for other generation SLA rates (recomputed from the same "
             f"request timelines; prompt SLA as run, {machine['prompt_sla_tok_s']:.1f} tok/s):", "",
             f"| system / policy | {head} |", "|---|" + "---:|" * len(SWEEP_FRACS)]
    for name, eff in rows:
        lines.append(f"| {name} | " + " | ".join(f"{e:.3f}" for e in eff) + " |")
    by = dict(rows)
    if "splitfuse" in by and "prefill-first" in by:
        lines.append("| splitfuse / prefill-first | " + " | ".join(
            f"{a / b:.2f} x" if b > 0 else ("n/a" if a == 0 else "inf (prefill-first has none)")
            for a, b in zip(by["splitfuse"], by["prefill-first"])) + " |")
    return lines


def plot(machine, points, path, title):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_eff, ax_lat) = plt.subplots(1, 2, figsize=(11, 4.2))
    markers = {"splitfuse": "o", "prefill-first": "s", "static": "^"}
    # fixed colours, so a run with fewer policies draws each the same way
    colors = {"splitfuse": "C0", "prefill-first": "C1", "static": "C2"}
    for name, cps in series(points).items():
        xs = [c for c, _ in cps]
        style = dict(marker=markers.get(name, "x"), linestyle="-" if name in markers else "--",
                     color=colors.get(name, "C3"))
        ax_eff.plot(xs, [p["effective_req_s"] for _, p in cps], label=name, **style)
        ax_lat.plot(xs, [1e3 * p["token_p95_s"] for _, p in cps], label=name, **style)
    for ax in (ax_eff, ax_lat):
        ax.set_xscale("log", base=2)
        ax.set_xticks(sorted({p["clients"] for p in points}))
        ax.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
        ax.set_xlabel("concurrent clients (closed loop)")
        ax.grid(True, alpha=0.3)
        ax.legend()
    ax_eff.set_ylabel("effective throughput (requests/s meeting the SLA)")
    ax_eff.set_ylim(bottom=0)
    ax_eff.set_title("Effective throughput", fontsize=10)
    ax_lat.set_ylabel("P95 inter-token latency (ms)")
    ax_lat.set_yscale("log")
    ax_lat.get_yaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
    # Minor labels help within a decade; across several they print on top of each other.
    lats = [1e3 * p["token_p95_s"] for p in points if p["token_p95_s"] > 0]
    spans_decades = bool(lats) and max(lats) > 10 * min(lats)
    ax_lat.get_yaxis().set_minor_formatter(matplotlib.ticker.NullFormatter() if spans_decades
                                           else matplotlib.ticker.ScalarFormatter())
    ax_lat.set_title("Tail token latency", fontsize=10)
    m = machine
    fig.suptitle(title or (f"Axial serving, {m['name']}, {m['threads']} CPU threads: prompt ~{m['prompt_mean']}, "
                           f"generation ~{m['gen_mean']} tokens; SLA prompt {m['prompt_sla_tok_s']:.0f} tok/s, "
                           f"generation {m['gen_sla_tok_s']:.1f} tok/s"), fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("results")
    ap.add_argument("--md", help="write the markdown table here (default: print it)")
    ap.add_argument("--png", help="write the plot here")
    ap.add_argument("--title")
    args = ap.parse_args()
    machine, points, requests, ratios = load(args.results)
    if not points:
        raise SystemExit(f"serving_report: {args.results}: no points")
    problems = check(machine, points, requests)
    n_checked = sum(1 for p in points if requests.get((p["system"], p["policy"], p["clients"])))
    text = markdown(machine, points, ratios)
    extra = []
    if ratios is not None:
        line = raw_ratio_line(points, ratios["clients"])
        if line:
            extra += ["", line]
    extra += sla_sweep(machine, points, requests)
    if extra:
        text += "\n".join(extra) + "\n"
    if args.md:
        with open(args.md, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    if args.png:
        plot(machine, points, args.png, args.title)
    print(f"serving_report: recomputed {n_checked} of {len(points)} points from their request timelines: "
          + ("all agree" if not problems else f"{len(problems)} disagreements"), file=sys.stderr)
    for p in problems:
        print(f"serving_report:   {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
