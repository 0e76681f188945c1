#!/usr/bin/env python3
"""Overhead of the Python bindings over the C call, and zero copies for contiguous inputs.

1. Time: axial.evoformer_attention on a small problem (default B=1, N=4, S=16, H=4, D=32, with a pair
   bias) against the same C function called in a loop from C on the same arrays
   (axial._axial.bench_forward, arrays borrowed once). Both warm up first; each figure is the median
   of many rounds, measured in the same run on the same context (1 CPU thread, so thread start-up
   does not blur the difference). Overhead = Python call - C call. Target: < 20 us.
2. Memory: the peak resident set (ru_maxrss) while running the op on large contiguous and
   non-contiguous inputs with preallocated outputs, against the bytes the inputs occupy. A copy of
   the inputs would raise the peak by about that much; the op's own scratch is reported from the
   context (workspace_peak).

Prints tables; asserts nothing about timings. Usage: python bench/python_binding_overhead.py [--S 16]
"""
import argparse
import gc
import resource
import statistics
import time

import numpy as np

import axial
from axial import _axial


def median_us(fn, rounds, calls):
    for _ in range(calls):  # warm-up
        fn()
    samples = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        samples.append((time.perf_counter() - t0) / calls * 1e6)
    return statistics.median(samples), min(samples), max(samples)


def overhead(args):
    rng = np.random.default_rng(0)
    B, N, S, H, D = 1, args.N, args.S, args.H, args.D
    q, k, v = (rng.standard_normal((B, N, S, H, D)).astype(np.float32) for _ in range(3))
    pair = rng.standard_normal((B, 1, H, S, S)).astype(np.float32)
    out = np.empty_like(q)
    ctx = axial.Context("cpu", num_threads=1)
    calls, rounds = args.calls, args.rounds
    cap = ctx._capsule

    def c_call():  # `calls` C calls timed in C, on arrays borrowed once: microseconds per call
        return _axial.bench_forward(cap, q, k, v, None, pair, out, None, calls) / calls * 1e6

    variants = {
        "axial.evoformer_attention(..., out=, context=)":
            lambda: axial.evoformer_attention(q, k, v, None, pair, out=out, context=ctx),
        "axial.evoformer_attention(...) allocating out":
            lambda: axial.evoformer_attention(q, k, v, None, pair, context=ctx),
        "_axial.attention_forward (extension only)":
            lambda: _axial.attention_forward(cap, q, k, v, None, pair, out, None, None, 0),
    }

    def py_call(fn):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        return (time.perf_counter() - t0) / calls * 1e6

    for fn in variants.values():  # warm-up
        py_call(fn)
    c_call()
    # Rounds interleave the C baseline and each variant, so a busy machine slows both alike; the
    # overhead is the median over rounds of (variant - C) measured back to back.
    c_samples, samples, diffs = [], {n: [] for n in variants}, {n: [] for n in variants}
    for _ in range(rounds):
        for name, fn in variants.items():
            c = c_call()
            p = py_call(fn)
            c_samples.append(c)
            samples[name].append(p)
            diffs[name].append(p - c)
    print(f"binding overhead, shape (B, N, S, H, D) = {q.shape}, pair bias, float32, 1 CPU thread; "
          f"{rounds} rounds x {calls} calls, interleaved")
    print(f"{'what':50s} {'median us':>10} {'min':>8} {'overhead us (median of paired differences)':>44}")
    print(f"{'C call (ax_evoformer_attention_forward, timed in C)':50s} {statistics.median(c_samples):10.2f} "
          f"{min(c_samples):8.2f}")
    for name in variants:
        print(f"{name:50s} {statistics.median(samples[name]):10.2f} {min(samples[name]):8.2f} "
              f"{statistics.median(diffs[name]):44.2f}")
    worst = statistics.median(diffs["axial.evoformer_attention(...) allocating out"])
    print(f"target: overhead < 20 us -> {'met' if worst < 20 else 'NOT met'} ({worst:.2f} us for the allocating call)")


def rss_mib():
    """Current resident set (Linux /proc), to show the high-water mark is not hiding anything."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * resource.getpagesize() / 2**20
    except OSError:
        return float("nan")


def maxrss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory(args):
    rng = np.random.default_rng(1)
    B, N, S, H, D = 1, 64, 512, 8, 32
    ctx = axial.Context("cpu")
    print()
    print(f"zero-copy check, q/k/v of shape {(B, N, S, H, D)} float32 (peak RSS, ru_maxrss)")
    print(f"{'inputs':28s} {'input MiB':>10} {'RSS before':>11} {'peak before':>12} {'peak after':>11} {'growth':>8} {'scratch':>8}")
    for layout in ("contiguous", "non-contiguous (S,N swapped)"):
        if layout == "contiguous":
            q, k, v = (rng.standard_normal((B, N, S, H, D), dtype=np.float32) for _ in range(3))
        else:
            q, k, v = (rng.standard_normal((B, S, N, H, D), dtype=np.float32).transpose(0, 2, 1, 3, 4)
                       for _ in range(3))
        out = np.full((B, N, S, H, D), 1.0, np.float32)  # written now, so its pages are resident already
        lse = np.full((B, N, H, S), 1.0, np.float32)
        axial.evoformer_attention(q[:, :1], k[:, :1], v[:, :1], out=out[:, :1], lse=lse[:, :1], context=ctx)
        gc.collect()
        now, before = rss_mib(), maxrss_mib()
        ctx.reset_workspace_peak()
        axial.evoformer_attention(q, k, v, out=out, lse=lse, context=ctx)
        after = maxrss_mib()
        in_mib = 3 * q.nbytes / 2**20
        print(f"{layout:28s} {in_mib:10.1f} {now:11.1f} {before:12.1f} {after:11.1f} {after - before:8.1f} "
              f"{ctx.workspace_peak / 2**20:8.2f}")
        del q, k, v, out, lse
        gc.collect()
    print("A copy of the inputs would add about 'input MiB' to the peak; growth stays near the scratch size.")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--S", type=int, default=16)
    p.add_argument("--N", type=int, default=4)
    p.add_argument("--H", type=int, default=4)
    p.add_argument("--D", type=int, default=32)
    p.add_argument("--calls", type=int, default=200)
    p.add_argument("--rounds", type=int, default=25)
    p.add_argument("--skip-memory", action="store_true")
    args = p.parse_args()
    print(f"axial {axial.info()['version']}, CPU path {axial.info()['cpu_path']}")
    overhead(args)
    if not args.skip_memory:
        memory(args)


if __name__ == "__main__":
    main()
