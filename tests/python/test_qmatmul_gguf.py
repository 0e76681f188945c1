"""ax_qmatmul judged by independent references: the `gguf` package's dequantizer (GGML's own Python
code) for the weights, then a float64 NumPy product.

Axial is driven through tests/qmatmul_helper.c (files of raw bytes in, y out). ctest runs this file
through tests/python/run_qmatmul_gguf.sh, which sets AXIAL_QMATMUL_HELPER.

Weights: q4_0, q4_1, q8_0 quantized by gguf from random values; q4_k and q6_k (which gguf cannot
quantize) random bytes with finite fp16 scales; f16, bf16 and f32 too. What must hold, per element
(include/axial/linalg.h): the CPU quantizes x in groups of G (the largest of 256, 128, 64, 32
dividing K) with scale amax / 127, so
    |y - x W^T - bias| <= sum over groups of 0.5001 dx_g sum_g |w|
                          + (K/16 + K/32 + 32) 2^-24 sum_k (3 |w_k| + 128 step_k) (|x_k| + dx / 2)
plus one rounding of y (2^-8 relative for bf16); step_k is the level step of w_k's (sub-)block.
Float weights leave x alone: (K/4 + 32) 2^-24 sum |w x|.
"""
import os
import subprocess
import tempfile

import numpy as np
import pytest

gguf = pytest.importorskip("gguf")
from gguf import GGMLQuantizationType as QT  # noqa: E402
from gguf.quants import dequantize, quantize  # noqa: E402

HELPER = os.environ.get("AXIAL_QMATMUL_HELPER")
if not HELPER:
    pytest.skip("AXIAL_QMATMUL_HELPER is not set (ctest's test_qmatmul_gguf sets it)", allow_module_level=True)

QTYPES = {"q4_0": QT.Q4_0, "q4_1": QT.Q4_1, "q8_0": QT.Q8_0, "q4_k": QT.Q4_K, "q6_k": QT.Q6_K}
BLOCK = {"q4_0": (32, 18), "q4_1": (32, 20), "q8_0": (32, 34), "q4_k": (256, 144), "q6_k": (256, 210)}


def to_bf16_bits(a):
    """float32 -> bf16 bits, nearest even (finite inputs)."""
    u = np.ascontiguousarray(a, np.float32).view(np.uint32).astype(np.uint64)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


def from_bf16_bits(b):
    return (b.astype(np.uint32) << 16).view(np.float32)


def make_weights(rng, name, n, k):
    """(bytes as uint8 (n, row bytes), dequantized float64 (n, k), level step float64 (n, k))."""
    if name in ("f32", "f16", "bf16"):
        w = rng.uniform(-1, 1, (n, k)).astype(np.float32)
        if name == "f16":
            w16 = w.astype(np.float16)
            return w16.view(np.uint8).reshape(n, -1), w16.astype(np.float64), np.zeros((n, k))
        if name == "bf16":
            bits = to_bf16_bits(w)
            return bits.view(np.uint8).reshape(n, -1), from_bf16_bits(bits).astype(np.float64), np.zeros((n, k))
        return w.view(np.uint8).reshape(n, -1), w.astype(np.float64), np.zeros((n, k))
    be, bb = BLOCK[name]
    if name in ("q4_0", "q4_1", "q8_0"):
        q = quantize(rng.standard_normal((n, k)).astype(np.float32), QTYPES[name])
    else:
        q = rng.integers(0, 256, (n, k // be * bb), dtype=np.uint8)
        blocks = q.reshape(-1, bb)
        scale_at = [0, 2] if name == "q4_k" else [208]
        for at in scale_at:
            d = rng.uniform(0.001, 0.05, blocks.shape[0]).astype(np.float16)
            blocks[:, at:at + 2] = d.view(np.uint8).reshape(-1, 2)
    q = np.ascontiguousarray(q, np.uint8).reshape(n, -1)
    w = dequantize(q, QTYPES[name]).astype(np.float64).reshape(n, k)
    return q, w, level_steps(name, q.reshape(-1, bb)).reshape(n, k)


def level_steps(name, blocks):
    """|step| per element, from the blocks' bytes (GGUF's layouts)."""
    f16 = lambda b, at: b[:, at:at + 2].copy().view(np.float16).astype(np.float64).reshape(-1)  # noqa: E731
    if name in ("q4_0", "q4_1", "q8_0"):
        return np.repeat(np.abs(f16(blocks, 0)), 32)
    if name == "q4_k":
        d = f16(blocks, 0)
        s = blocks[:, 4:16].astype(np.int64)
        sc = np.empty((blocks.shape[0], 8))
        for j in range(8):
            sc[:, j] = (s[:, j] & 63) if j < 4 else (s[:, j + 4] & 0x0F) | ((s[:, j - 4] >> 6) << 4)
        return np.repeat(np.abs(d[:, None] * sc), 32, axis=1).reshape(-1)
    d = f16(blocks, 208)
    sc = blocks[:, 192:208].view(np.int8).astype(np.float64)
    return np.repeat(np.abs(d[:, None] * sc), 16, axis=1).reshape(-1)


def run_axial(wname, xname, yname, x, wbytes, m, n, k, bias):
    with tempfile.TemporaryDirectory() as tmp:
        paths = {p: os.path.join(tmp, p) for p in ("x", "w", "y", "b")}
        xb = to_bf16_bits(x) if xname == "bf16" else np.ascontiguousarray(x, np.float32)
        with open(paths["x"], "wb") as f:
            f.write(xb.tobytes())
        with open(paths["w"], "wb") as f:
            f.write(np.ascontiguousarray(wbytes).tobytes())
        args = [HELPER, wname, xname, yname, str(m), str(n), str(k), paths["x"], paths["w"], paths["y"]]
        if bias is not None:
            with open(paths["b"], "wb") as f:
                f.write(np.ascontiguousarray(bias, np.float32).tobytes())
            args.append(paths["b"])
        r = subprocess.run(args, capture_output=True, text=True)
        assert r.returncode == 0, (r.returncode, r.stderr)
        raw = np.fromfile(paths["y"], np.uint16 if yname == "bf16" else np.float32)
    y = from_bf16_bits(raw) if yname == "bf16" else raw
    return y.astype(np.float64).reshape(m, n)


def bound(name, x, w, step, bias):
    k = x.shape[1]
    if name in ("f32", "f16", "bf16"):
        return (k / 4 + 32) * 2.0**-24 * (np.abs(x) @ np.abs(w).T + np.abs(bias))
    g = 256 if k % 256 == 0 else 128 if k % 128 == 0 else 64 if k % 64 == 0 else 32
    dx = np.repeat(np.abs(x).reshape(x.shape[0], -1, g).max(axis=2) / 127.0, g, axis=1)
    quant = 0.5001 * (dx @ np.abs(w).T)
    gamma = (k // 16 + k // 32 + 32) * 2.0**-24
    return quant + gamma * ((np.abs(x) + dx / 2) @ (3 * np.abs(w) + 128 * step).T + np.abs(bias))


CASES = [
    # (weight, M, N, K)
    ("q4_0", 1, 7, 64), ("q4_0", 37, 9, 576),
    ("q4_1", 1, 33, 576), ("q4_1", 300, 5, 1536),
    ("q8_0", 2, 17, 96), ("q8_0", 64, 11, 576),
    ("q4_k", 1, 5, 256), ("q4_k", 70, 13, 1536),
    ("q6_k", 7, 6, 512), ("q6_k", 65, 3, 256),
    ("f16", 3, 5, 40), ("bf16", 9, 4, 33), ("f32", 2, 3, 100),
    # w packed by ax_qweight_pack (N a multiple of 16), through ax_qmatmul_packed: on an AVX2 or
    # AVX-512 CPU the decode that reads the tiles (M = 1) and the panel filled from them (M > 1).
    ("q4_0+packed", 1, 32, 576), ("q4_1+packed", 1, 48, 1536), ("q8_0+packed", 1, 16, 4160),
    ("q4_1+packed", 5, 16, 576), ("q8_0+packed", 40, 32, 96),
]


@pytest.mark.parametrize("wname,m,n,k", CASES)
@pytest.mark.parametrize("xname,yname", [("f32", "f32"), ("bf16", "bf16"), ("f32", "bf16")])
@pytest.mark.parametrize("with_bias", [False, True])
def test_qmatmul_matches_gguf(wname, m, n, k, xname, yname, with_bias):
    rng = np.random.default_rng(hash((wname, m, n, k, xname, yname, with_bias)) % 2**32)
    base = wname.removesuffix("+packed")
    wbytes, w, step = make_weights(rng, base, n, k)
    x32 = rng.uniform(-1, 1, (m, k)).astype(np.float32)
    x = from_bf16_bits(to_bf16_bits(x32)) if xname == "bf16" else x32
    x = x.astype(np.float64)
    bias = rng.uniform(-2, 2, n).astype(np.float32) if with_bias else None
    b64 = bias.astype(np.float64) if with_bias else np.zeros(n)
    got = run_axial(wname, xname, yname, x, wbytes, m, n, k, bias)
    want = x @ w.T + b64
    tol = bound(base, x, w, step, b64)
    if yname == "bf16":
        tol = tol * (1 + 2.0**-8) + 2.0**-8 * np.abs(want)
    else:
        tol = tol * (1 + 2.0**-24) + 2.0**-24 * np.abs(want)
    excess = np.abs(got - want) - tol
    worst = np.unravel_index(np.argmax(excess), excess.shape)
    assert np.all(excess <= 0), f"at {worst}: got {got[worst]}, want {want[worst]}, bound {tol[worst]}"
    # The bound is not vacuous: it is well below the size of the terms (a wrong block layout would
    # be caught).
    assert np.median(tol) < 0.1 * np.median(np.abs(x) @ np.abs(w).T + 1e-30)


def test_k_not_multiple_of_block_is_an_error():
    x = np.zeros((1, 48), np.float32)
    wbytes = np.zeros((2, 48), np.float32).view(np.uint8)
    with tempfile.TemporaryDirectory() as tmp:
        px, pw, py = (os.path.join(tmp, s) for s in "xwy")
        x.tofile(px)
        wbytes.tofile(pw)
        # 48 f32 elements' worth of bytes is not a whole number of q4_0 rows: the helper refuses the
        # size itself; with K = 48 and q4_0 declared, Axial refuses the shape.
        r = subprocess.run([HELPER, "q4_0", "f32", "f32", "1", "2", "48", px, pw, py], capture_output=True, text=True)
        assert r.returncode in (2, 3), r.stderr
