#!/usr/bin/env python3
"""A plain PyTorch MoE feed-forward layer, timed the way bench_moe_ffn times Axial's.

The layer a PyTorch user would write (Mixtral's sparse MoE block, minus the framework): router logits
x @ router^T, softmax, top-k, renormalised weights, then a loop over experts: index_select the rows
routed to the expert, SwiGLU (silu(x @ gate^T) * (x @ up^T)) @ down^T, scale by the weights and
index_add_ into the output. The backward is autograd of sum(dy * y) + 0.01 * aux (Switch's
load-balancing loss, as bench_moe_ffn passes aux_coef = 0.01), with respect to x and every weight.
fp32, torch.set_num_threads(--threads). Each figure is the median of --rounds timed calls after two
warm-up calls; prints rows that line up with bench_moe_ffn's table. Asserts nothing about timings.

Usage (called by bench_moe_ffn; also alone):
    .venv-torch/bin/python bench/moe_ffn_torch.py [--tokens 512] [--threads 2] [--rounds 7]
"""
import argparse
import statistics
import time

try:
    import torch
except ImportError:
    print("PyTorch: not installed, skipped")
    raise SystemExit(0)


def moe_forward(x, router, gate, up, down, k):
    logits = x @ router.t()
    probs = torch.softmax(logits, dim=-1)
    top_p, top_i = torch.topk(probs, k, dim=-1)
    weights = top_p / top_p.sum(dim=-1, keepdim=True)
    y = torch.zeros_like(x)
    E = router.shape[0]
    for e in range(E):
        token, choice = torch.nonzero(top_i == e, as_tuple=True)
        if token.numel() == 0:
            continue
        xe = x.index_select(0, token)
        h = torch.nn.functional.silu(xe @ gate[e].t()) * (xe @ up[e].t())
        y.index_add_(0, token, (h @ down[e].t()) * weights[token, choice].unsqueeze(1))
    # Switch / GShard aux loss as moe.h defines it: E * sum_e f_e P_e, f over the T * k choices
    f = torch.bincount(top_i.flatten(), minlength=E).to(x.dtype) / top_i.numel()
    aux = E * (f * probs.mean(dim=0)).sum()
    return y, aux


def median_ms(fn, rounds):
    for _ in range(2):
        fn()
    samples = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(samples)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokens", type=int, default=512)
    ap.add_argument("--dim", type=int, default=576)
    ap.add_argument("--hidden", type=int, default=192)
    ap.add_argument("--experts", type=int, default=8)
    ap.add_argument("--top-k", type=int, default=2)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--rounds", type=int, default=7)
    a = ap.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    g = torch.Generator().manual_seed(0)
    T, D, F, E, k = a.tokens, a.dim, a.hidden, a.experts, a.top_k

    def uniform(*shape, scale):
        return (torch.rand(*shape, generator=g) * 2 - 1) * scale

    x = uniform(T, D, scale=1.0)
    dy = uniform(T, D, scale=1.0)
    params = [uniform(E, D, scale=0.05), uniform(E, F, D, scale=0.04), uniform(E, F, D, scale=0.04),
              uniform(E, D, F, scale=0.07)]

    def forward():
        with torch.no_grad():
            moe_forward(x, *params, k)

    def backward():  # forward + backward, as Axial's backward recomputes the forward
        xx = x.clone().requires_grad_()
        ps = [p.clone().requires_grad_() for p in params]
        y, aux = moe_forward(xx, *ps, k)
        ((y * dy).sum() + 0.01 * aux).backward()

    f = median_ms(forward, a.rounds)
    b = median_ms(backward, a.rounds)
    print("%-24s %10.3f" % ("torch ffn forward", f))
    print("%-24s %10.3f   (torch %s, %d threads; forward + autograd backward)" % (
        "torch ffn fwd+backward", b, torch.__version__, torch.get_num_threads()))


if __name__ == "__main__":
    main()
