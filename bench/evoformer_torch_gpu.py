"""Eager PyTorch Evoformer attention (S x S logits materialised) and SDPA with the summed bias, on the
shapes of bench_evoformer_attention --gpu: CUDA events, 3 warm-ups, median of 10. scripts/gpu-check.sh
runs it as the same-run baseline of the GPU Evoformer benchmark.

Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
"""
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
