#!/usr/bin/env python3
"""Axial's CPU attention next to PyTorch's on the same tensors, shapes, dtype and thread count.

For each shape: axial.attention (through axial.torch.flash_attn_func on PyTorch CPU tensors, no copies)
against torch.nn.functional.scaled_dot_product_attention where the installed PyTorch has it (2.0 and
later), else against the same attention written with torch.matmul and torch.softmax (Debian's PyTorch
1.13 has no SDPA; the table says which). Both run torch.get_num_threads() threads (set with
--threads). Each figure is the median of --rounds timed calls after warm-up calls. Prints a table;
asserts nothing about timings, and checks that both give the same output (max |difference|).

Usage (the project's PyTorch environment, with the axial wheel installed by the test suite):
    .venv-torch/bin/python bench/attention_torch.py [--threads 2] [--rounds 7]
"""
import argparse
import math
import statistics
import time

import torch

from axial.torch import flash_attn_func

SHAPES = [  # (B, S, H, Hkv, D, causal)
    (1, 512, 8, 8, 64, True),
    (1, 2048, 16, 16, 64, True),
    (1, 1024, 9, 3, 64, True),  # SmolLM2-135M's heads (GQA 3:1)
    (4, 256, 8, 8, 64, False),
]


def median_s(fn, rounds, warmup=2):
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def torch_attention(q, k, v, causal):
    """(B, S, H, D) layout in, the same out; GQA by repeating K/V heads, as a PyTorch user would."""
    group = q.shape[2] // k.shape[2]
    qt, kt, vt = (x.transpose(1, 2) for x in (q, k, v))
    if group > 1:
        kt, vt = kt.repeat_interleave(group, dim=1), vt.repeat_interleave(group, dim=1)
    sdpa = getattr(torch.nn.functional, "scaled_dot_product_attention", None)
    if sdpa is not None:
        return sdpa(qt, kt, vt, is_causal=causal).transpose(1, 2)
    s = torch.matmul(qt, kt.transpose(-1, -2)) / math.sqrt(q.shape[-1])
    if causal:
        n = s.shape[-1]
        s = s.masked_fill(torch.ones(n, n, dtype=torch.bool).triu(1), float("-inf"))
    return torch.matmul(torch.softmax(s, dim=-1), vt).transpose(1, 2)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: leave PyTorch's default)")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype)
    baseline = ("torch SDPA" if hasattr(torch.nn.functional, "scaled_dot_product_attention")
                else "torch matmul+softmax (no SDPA in this PyTorch)")
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads, {args.dtype}; baseline: {baseline}")
    print(f"{'B':>2} {'S':>5} {'H':>3} {'Hkv':>3} {'D':>3} {'causal':>6} | {'axial ms':>9} {'torch ms':>9} "
          f"{'torch/axial':>11} | {'GFLOP/s axial':>13} | max|diff|")
    g = torch.Generator().manual_seed(0)
    for B, S, H, Hkv, D, causal in SHAPES:
        q = torch.randn(B, S, H, D, generator=g).to(dtype)
        k = torch.randn(B, S, Hkv, D, generator=g).to(dtype)
        v = torch.randn(B, S, Hkv, D, generator=g).to(dtype)
        with torch.no_grad():
            ta = median_s(lambda: flash_attn_func(q, k, v, causal=causal), args.rounds)
            tt = median_s(lambda: torch_attention(q, k, v, causal), args.rounds)
            diff = (flash_attn_func(q, k, v, causal=causal).float() - torch_attention(q, k, v, causal).float()).abs().max()
        flops = 4.0 * B * H * S * S * D * (0.5 if causal else 1.0)
        print(f"{B:>2} {S:>5} {H:>3} {Hkv:>3} {D:>3} {str(causal):>6} | {ta * 1e3:9.2f} {tt * 1e3:9.2f} "
              f"{tt / ta:11.2f} | {flops / ta / 1e9:13.1f} | {float(diff):.2e}")


if __name__ == "__main__":
    main()
