"""Derives a Mixture-of-Experts model from a dense Llama GGUF whose feed-forward matrices are Q4_1
(SmolLM2-135M-Instruct's) or F16 (test_llm_reference.py's two-block f16 model), for the MoE tests (tests/python/test_llm_moe.py) and bench/llm_moe.sh.

Each block's SwiGLU feed-forward of width F becomes n_experts experts of width F / n_experts,
stored as llama.cpp's Mixtral tensors (experts outermost, 3-D):
  ffn_gate_exps, ffn_up_exps (E, F/E, D)  expert e = rows [e F/E, (e+1) F/E) of ffn_gate / ffn_up
  ffn_down_exps (E, D, F/E)               expert e = columns [e F/E, (e+1) F/E) of ffn_down, i.e.
                                          whole Q4_1 blocks of each row, with each block's d and m
                                          (fp16) multiplied by E
  ffn_gate_inp  (E, D) f32                the router: zeros, or seeded normal values
The blocks are copied byte for byte (no requantization), and multiplying d and m by E = 8 is exact
in fp16 (a power of two; overflow is checked). F16 matrices are split the same way and stored as
F32 (exact, as is the down experts' factor E), or with expert_dtype "f16" kept F16 (the factor E
checked exact in fp16). With the zero router every expert gets p = 1/E, so
with k = E the experts' weighted sum is exactly the dense feed-forward: sum_e (1/E) * E * down_e
(swiglu_e) = down (swiglu). The model is then the dense one up to the arithmetic (Axial quantizes the
down projection's input per expert, 192 elements in groups of 64, instead of 1536 in groups of 256).

A random router (router_seed) makes the experts compete: its rows are normal with a per-block
scale chosen so the router logits of a typical normed row have standard deviation router_std
(||h||^2 ~ sum of ffn_norm^2, RMSNorm's rows having unit RMS before the weight).

    python derive_moe.py SRC.gguf OUT.gguf [--k K] [--experts 8] [--router-seed S] [--router-std X]
"""
import argparse
import sys

import gguf
import numpy as np

from llm_reference import as_written, write_gguf

Q4_1 = gguf.GGMLQuantizationType.Q4_1
BLOCK_ELEMS, BLOCK_BYTES = gguf.GGML_QUANT_SIZES[Q4_1]  # 32 weights in 20 bytes: d, m (fp16), 16 nibble bytes


def scale_q4_1_blocks(raw, factor):
    """raw (..., n_blocks * 20) uint8 Q4_1 rows: a copy with every block's d and m times factor."""
    blocks = np.ascontiguousarray(raw).reshape(raw.shape[:-1] + (-1, BLOCK_BYTES)).copy()
    dm = blocks[..., :4].copy().view(np.float16)  # (..., n_blocks, 2): d, m
    scaled = (dm.astype(np.float32) * factor).astype(np.float16)
    if not np.all(np.isfinite(scaled)) or not np.array_equal(scaled.astype(np.float32), dm.astype(np.float32) * factor):
        raise ValueError(f"scaling Q4_1 d/m by {factor} overflows or is inexact in fp16")
    blocks[..., :4] = scaled.view(np.uint8)
    return blocks.reshape(raw.shape)


def derive_moe(src, out, k=8, n_experts=8, router_seed=None, router_std=2.0, extra_kv=None, expert_dtype="f32"):
    """Writes the MoE model derived from src to out; returns out. extra_kv: more metadata,
    {key: (value, GGUFValueType)} (e.g. llama.expert_gating_func). expert_dtype ("f32" or "f16"): how
    an F16 source's experts are stored (a Q4_1 source's stay Q4_1)."""
    if expert_dtype not in ("f32", "f16"):
        raise ValueError(f"expert_dtype {expert_dtype!r} is not 'f32' or 'f16'")
    edt = np.float32 if expert_dtype == "f32" else np.float16
    reader = gguf.GGUFReader(src)
    tensors_in = {t.name: t for t in reader.tensors}
    D = int(reader.fields["llama.embedding_length"].contents())
    F = int(reader.fields["llama.feed_forward_length"].contents())
    n_layer = int(reader.fields["llama.block_count"].contents())
    if F % (n_experts * BLOCK_ELEMS) != 0:
        raise ValueError(f"feed_forward_length {F} does not split into {n_experts} experts of whole Q4_1 blocks")
    if not 1 <= k <= n_experts:
        raise ValueError(f"k = {k} is outside [1, {n_experts}]")
    Fe = F // n_experts
    rng = np.random.default_rng(router_seed) if router_seed is not None else None
    tensors = {}
    for name, t in tensors_in.items():
        parts = name.split(".")
        if len(parts) == 4 and parts[2] in ("ffn_gate", "ffn_up", "ffn_down"):
            continue
        tensors[name] = as_written(t)
    for layer in range(n_layer):
        kinds = {kind: tensors_in[f"blk.{layer}.{kind}.weight"] for kind in ("ffn_gate", "ffn_up", "ffn_down")}
        if all(t.tensor_type == Q4_1 for t in kinds.values()):
            for kind in ("ffn_gate", "ffn_up"):
                rows = np.asarray(kinds[kind].data)  # (F, D/32 * 20) bytes
                tensors[f"blk.{layer}.{kind}_exps.weight"] = (np.ascontiguousarray(rows.reshape(n_experts, Fe, -1)),
                                                             Q4_1)
            down = np.asarray(kinds["ffn_down"].data)  # (D, F/32 * 20) bytes
            per = Fe // BLOCK_ELEMS * BLOCK_BYTES
            experts = np.stack([down[:, e * per:(e + 1) * per] for e in range(n_experts)])  # (E, D, per)
            tensors[f"blk.{layer}.ffn_down_exps.weight"] = (scale_q4_1_blocks(experts, float(n_experts)), Q4_1)
        elif all(t.tensor_type == gguf.GGMLQuantizationType.F16 for t in kinds.values()):
            for kind in ("ffn_gate", "ffn_up"):
                rows = np.asarray(kinds[kind].data).reshape(F, D)
                tensors[f"blk.{layer}.{kind}_exps.weight"] = np.ascontiguousarray(
                    rows.reshape(n_experts, Fe, D).astype(edt))
            down = np.asarray(kinds["ffn_down"].data).reshape(D, n_experts, Fe).transpose(1, 0, 2)
            scaled = down.astype(np.float32) * n_experts
            if not np.array_equal(scaled.astype(edt).astype(np.float32), scaled):
                raise ValueError(f"block {layer}: ffn_down times {n_experts} is not exact in {expert_dtype}")
            tensors[f"blk.{layer}.ffn_down_exps.weight"] = np.ascontiguousarray(scaled.astype(edt))
        else:
            raise ValueError(f"block {layer}: the feed-forward must be all Q4_1 or all F16, found "
                             f"{[t.tensor_type.name for t in kinds.values()]}")
        router = np.zeros((n_experts, D), np.float32)
        if rng is not None:
            norm_w = np.asarray(tensors_in[f"blk.{layer}.ffn_norm.weight"].data, np.float64)
            scale = router_std / np.sqrt(np.sum(norm_w ** 2))
            router = (rng.standard_normal((n_experts, D)) * scale).astype(np.float32)
        tensors[f"blk.{layer}.ffn_gate_inp.weight"] = router
    U32 = gguf.GGUFValueType.UINT32
    kv = {"llama.feed_forward_length": (Fe, U32), "llama.expert_count": (n_experts, U32),
          "llama.expert_used_count": (k, U32)}
    kv.update(extra_kv or {})
    write_gguf(out, "llama", kv, tensors, reader, skip=tuple(kv))
    return out


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("src")
    ap.add_argument("out")
    ap.add_argument("--k", type=int, default=8, help="expert_used_count (default 8)")
    ap.add_argument("--experts", type=int, default=8)
    ap.add_argument("--router-seed", type=int, default=None, help="random router with this seed (default: zeros)")
    ap.add_argument("--router-std", type=float, default=2.0, help="standard deviation of the random router's logits")
    ap.add_argument("--expert-dtype", choices=("f32", "f16"), default="f32",
                    help="how an F16 source's experts are stored (default f32)")
    a = ap.parse_args(argv)
    derive_moe(a.src, a.out, a.k, a.experts, a.router_seed, a.router_std, expert_dtype=a.expert_dtype)


if __name__ == "__main__":
    main(sys.argv[1:])
