#!/usr/bin/env python3
"""Axial's CPU attention next to PyTorch's on the same tensors, shapes, dtype and thread count.

--device cpu (the default). For each shape: axial.attention (through axial.torch.flash_attn_func on
PyTorch CPU tensors, no copies) against torch.nn.functional.scaled_dot_product_attention where the
installed PyTorch has it (2.0 and later), else against the same attention written with torch.matmul
and torch.softmax (Debian's PyTorch 1.13 has no SDPA; the table says which). Both run
torch.get_num_threads() threads (set with --threads). Each figure is the median of --rounds timed
calls after warm-up calls. Prints a table; asserts nothing about timings, and checks that both give
the same output (max |difference|).

--device cuda: PyTorch's scaled_dot_product_attention alone on the GPU, the baseline rows of
`bench_attention --gpu`, which runs this script with the cases it timed and prints Axial's speed-up
next to each row (the axial wheel is not needed). Each --case B,S,H,Hkv,D,dtype,causal (dtype bf16,
f16 or f32; causal 0 or 1) is timed exactly as the C benchmark times Axial: tensors laid out
(B, S, H, D) (SDPA gets the (B, H, S, D) views), uniform in [-1, 1); three warm-ups, then --rounds
samples of back-to-back calls (about 2 ms each) between two CUDA events, median per call. The
forward runs under no_grad; the backward is torch.autograd.grad of the output (retain_graph, so the
forward is not rerun) with respect to q, k and v. GQA through SDPA's enable_gqa where this PyTorch has
it, else K/V heads repeated first (the row says "sdpa+rep"). FLOPs as the C benchmark counts them:
4 B H S^2 D for the forward, halved when causal, 2.5x that for the backward.

Usage (the project's PyTorch environment, with the axial wheel installed by the test suite):
    .venv-torch/bin/python bench/attention_torch.py [--threads 2] [--rounds 7]
    python3 bench/attention_torch.py --device cuda [--rounds 10] [--case 1,2048,16,16,64,bf16,1]...
"""
import argparse
import math
import statistics
import sys
import time

try:
    import torch
except ImportError:
    print(f"PyTorch: not installed for {sys.executable}, skipped")
    sys.exit(0)

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


DEFAULT_CUDA_CASES = [  # bench_attention --gpu's defaults
    "1,2048,16,16,64,bf16,1", "1,2048,16,16,64,bf16,0", "1,2048,16,16,64,f16,1", "1,2048,16,16,64,f16,0",
    "1,2048,16,16,64,f32,1", "1,2048,16,16,64,f32,0", "1,4096,32,8,128,bf16,1", "1,4096,32,8,128,f16,1",
    "1,8192,32,32,128,bf16,1",
]
DTYPES = {"bf16": torch.bfloat16, "f16": torch.float16, "f32": torch.float32}


def cuda_median_s(fn, rounds):
    """Median seconds per call: three warm-ups, then `rounds` samples of back-to-back calls (enough for
    about 2 ms, at most 2000) between two CUDA events on the current stream."""
    def sample(calls):
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(calls):
            fn()
        stop.record()
        stop.synchronize()
        return start.elapsed_time(stop) * 1e-3 / calls
    sample(3)
    one = sample(1)
    calls = max(1, min(2000, int(2e-3 / max(one, 1e-7))))
    return statistics.median(sample(calls) for _ in range(rounds))


def sdpa_gqa(qt, kt, vt, causal, native_gqa):
    """SDPA on (B, H, S, D) views; GQA natively (enable_gqa) or by repeating the K/V heads."""
    sdpa = torch.nn.functional.scaled_dot_product_attention
    group = qt.shape[1] // kt.shape[1]
    if group == 1:
        return sdpa(qt, kt, vt, is_causal=causal)
    if native_gqa:
        return sdpa(qt, kt, vt, is_causal=causal, enable_gqa=True)
    return sdpa(qt, kt.repeat_interleave(group, dim=1), vt.repeat_interleave(group, dim=1), is_causal=causal)


def cuda_main(args):
    if not torch.cuda.is_available():
        print(f"PyTorch {torch.__version__}: no CUDA device in this PyTorch, skipped")
        return
    if not hasattr(torch.nn.functional, "scaled_dot_product_attention"):
        print(f"PyTorch {torch.__version__}: no scaled_dot_product_attention, skipped")
        return
    dev = torch.device("cuda")
    probe = torch.zeros(1, 2, 16, 8, device=dev)
    try:
        torch.nn.functional.scaled_dot_product_attention(probe, probe[:, :1], probe[:, :1], enable_gqa=True)
        native_gqa = True
    except (TypeError, RuntimeError):
        native_gqa = False
    print(f"PyTorch {torch.__version__} scaled_dot_product_attention on {torch.cuda.get_device_name(0)} "
          f"(the backend PyTorch picks), median of {args.rounds}")
    print(f"{'shape (B,S,H,Hkv,D)':22} {'dtype':5} {'mask':6} {'impl':8} {'fwd ms':>9} {'bwd ms':>9} "
          f"{'fwd TF/s':>9} {'bwd TF/s':>9} {'f+b TF/s':>9}")
    for case in args.case or DEFAULT_CUDA_CASES:
        B, S, H, Hkv, D, dt, causal = case.split(",")
        B, S, H, Hkv, D, causal = int(B), int(S), int(H), int(Hkv), int(D), bool(int(causal))
        name = f"({B},{S},{H},{Hkv},{D})"
        mask = "causal" if causal else "full"
        impl = "sdpa" if Hkv == H or native_gqa else "sdpa+rep"
        try:
            g = torch.Generator(device=dev).manual_seed(11)
            mk = lambda h: (torch.rand(B, S, h, D, device=dev, generator=g) * 2 - 1).to(DTYPES[dt])
            q, k, v, dout = mk(H), mk(Hkv), mk(Hkv), mk(H)
            with torch.no_grad():
                f = cuda_median_s(lambda: sdpa_gqa(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), causal,
                                                   native_gqa), args.rounds)
            leaves = [x.detach().requires_grad_(True) for x in (q, k, v)]
            out = sdpa_gqa(*(x.transpose(1, 2) for x in leaves), causal, native_gqa).transpose(1, 2)
            b = cuda_median_s(lambda: torch.autograd.grad(out, leaves, dout, retain_graph=True), args.rounds)
            flops = 4.0 * B * H * S * S * D * (0.5 if causal else 1.0)
            print(f"{name:22} {dt:5} {mask:6} {impl:8} {f * 1e3:9.3f} {b * 1e3:9.3f} {flops / f * 1e-12:9.1f} "
                  f"{2.5 * flops / b * 1e-12:9.1f} {3.5 * flops / (f + b) * 1e-12:9.1f}")
            del out, leaves, q, k, v, dout
        except Exception as e:  # out of memory or an unsupported combination: say so, go on
            print(f"{name:22} {dt:5} {mask:6} {impl:8} failed: {type(e).__name__}: {str(e)[:80]}")
        torch.cuda.empty_cache()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: leave PyTorch's default)")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    ap.add_argument("--case", action="append", help="cuda: B,S,H,Hkv,D,dtype,causal (repeatable)")
    args = ap.parse_args()
    if args.device == "cuda":
        cuda_main(args)
        return
    from axial.torch import flash_attn_func

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
