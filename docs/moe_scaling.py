#!/usr/bin/env python3
"""Scaling model of expert parallelism (docs/moe.md): all-to-all volume and time per GPU for one MoE
layer's training step (forward, then the backward that recomputes the forward), against the
experts' compute, for GPU counts up to 512, and the expert-gradient all-reduce of the hybrid
(expert x data parallel) layout. Prints the Markdown table docs/moe.md shows.

Usage: python3 docs/moe_scaling.py [--tokens T] [--e E] [--k K] [--d D] [--f F] [--capacity C] [--ep-max N]

Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
"""
import argparse

# Machine (stated in docs/moe.md; the same numbers as docs/seqpar.md's model)
NODE = 8                 # GPUs per node, all-to-all NVLink inside
BW_NVLINK = 900e9        # bytes/s per GPU inside a node
BW_IB = 50e9             # bytes/s per GPU across nodes (one 400 Gb/s NIC per GPU)
LAT_NVLINK = 3e-6        # seconds per message inside a node
LAT_IB = 8e-6            # seconds per message across nodes
PEAK = 312e12            # A100 bf16 dense flop/s
MFU = 0.40               # fraction of peak the grouped GEMMs reach
WIRE = 2                 # bytes per element on the wire (bf16 rows and results)
GRAD = 4                 # bytes per element of the fp32 expert gradients
EXCHANGES = 6            # forward 2 (rows out, results back); backward 4 (recomputed forward 2,
                         # output gradients out, input gradients back)
OVERLAP = 0.7            # share of the gradient all-reduce hidden behind the backward


def a2a_time(rows_bytes, ep):
    """Time of one all-to-all in which each GPU sends rows_bytes spread evenly over its ep peers
    (itself included): NVLink and InfiniBand run at once, each message pays its latency."""
    if ep <= 1:
        return 0.0, 0.0
    share = rows_bytes / ep
    intra_peers = min(ep, NODE) - 1
    inter_peers = ep - min(ep, NODE)
    t_intra = intra_peers * share / BW_NVLINK + intra_peers * LAT_NVLINK
    t_inter = inter_peers * share / BW_IB + inter_peers * LAT_IB
    return max(t_intra, t_inter), (intra_peers + inter_peers) * share


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=4096, help="tokens per GPU (T)")
    ap.add_argument("--e", type=int, default=64, help="experts (E)")
    ap.add_argument("--k", type=int, default=2, help="experts per token (k)")
    ap.add_argument("--d", type=int, default=4096, help="model width (D)")
    ap.add_argument("--f", type=int, default=14336, help="expert hidden width (F)")
    ap.add_argument("--capacity", type=float, default=1.25,
                    help="capacity slack over the balanced load (rows received per GPU scale by it)")
    ap.add_argument("--ep-max", type=int, default=0,
                    help="cap the expert-parallel degree (e.g. 8: experts inside a node, DP across)")
    a = ap.parse_args()
    T, E, k, D, F = a.tokens, a.e, a.k, a.d, a.f
    rows = T * k                                  # rows this GPU sends (balanced routing, no drops)
    row_bytes = D * WIRE
    flops_fwd = rows * 6 * D * F                  # gate, up, down: 3 GEMMs of 2 D F per row
    compute = 4 * flops_fwd / (PEAK * MFU)        # forward + recomputed forward + backward (2x)
    params_per_expert = 3 * D * F
    print(f"T = {T} tokens/GPU, E = {E}, k = {k}, D = {D}, F = {F}, bf16 wire, capacity x{a.capacity}")
    print()
    print("| GPUs | EP x DP | experts/GPU | all-to-all MB/GPU/step | all-to-all ms | expert compute ms "
          "| grad all-reduce ms (exposed) | efficiency |")
    print("|---|---|---|---|---|---|---|---|")
    for P in (1, 2, 4, 8, 16, 32, 64, 128, 256, 512):
        ep = min(P, E, a.ep_max) if a.ep_max > 0 else min(P, E)
        dp = P // ep
        # a GPU receives what it sends on average; with a capacity the worst GPU receives up to
        # capacity x the balanced load, and the exchange waits for it
        t1, sent = a2a_time(rows * row_bytes * a.capacity, ep)
        t_a2a = EXCHANGES * t1
        mb = EXCHANGES * sent / 1e6
        # hybrid: expert grads all-reduced over the DP group (ranks holding the same experts are
        # EP apart: across nodes once EP >= NODE); ring, fp32
        local_params = params_per_expert * (E / ep)
        if dp > 1:
            bw = BW_IB if ep >= NODE else BW_NVLINK
            t_ar = 2 * (dp - 1) / dp * local_params * GRAD / bw + 2 * (dp - 1) * LAT_IB
        else:
            t_ar = 0.0
        exposed = (1 - OVERLAP) * t_ar
        total = compute + t_a2a + exposed
        print(f"| {P} | {ep} x {dp} | {E / ep:g} | {mb:.0f} | {t_a2a * 1e3:.2f} | {compute * 1e3:.1f} "
              f"| {exposed * 1e3:.2f} | {compute / total * 100:.0f}% |")


if __name__ == "__main__":
    main()
