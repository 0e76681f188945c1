"""Shared helpers: a float64 NumPy reference of Evoformer attention (forward and backward), written
here from the formula in include/axial/evoformer.h, independently of the library."""
import os
import pathlib
import subprocess

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATA = pathlib.Path(os.environ.get("AXIAL_TEST_DATA", ROOT / "tests" / "data"))


def f64(x):
    return None if x is None else np.asarray(x).astype(np.float64)


def reduce_to(x, shape):
    """Sums x over the axes where `shape` has size 1 (a broadcast bias's gradient)."""
    axes = tuple(d for d, (a, b) in enumerate(zip(x.shape, shape)) if b == 1 and a != 1)
    return x.sum(axis=axes, keepdims=True) if axes else x


def reference_forward(q, k, v, bias_mask=None, bias_pair=None):
    """(out, lse, p) in float64: naive attention that forms the logits."""
    q, k, v, bm, bp = (f64(t) for t in (q, k, v, bias_mask, bias_pair))
    d = q.shape[-1]
    logits = np.einsum("bnihd,bnjhd->bnhij", q, k) / np.sqrt(d)
    if bm is not None:
        logits = logits + bm  # (B|1, N|1, 1, 1, S|1) lines up with (b, n, h, i, j)
    if bp is not None:
        logits = logits + bp  # (B|1, 1, H|1, S|1, S|1)
    m = logits.max(axis=-1, keepdims=True)
    m_safe = np.where(np.isfinite(m), m, 0.0)
    e = np.exp(logits - m_safe)
    s = e.sum(axis=-1, keepdims=True)
    p = np.where(s > 0, e / np.where(s > 0, s, 1.0), 0.0)
    out = np.einsum("bnhij,bnjhd->bnihd", p, v)
    with np.errstate(divide="ignore"):
        lse = (m_safe + np.log(s))[..., 0]
    return out, lse, p


def reference_backward(q, k, v, bias_mask, bias_pair, dout):
    """(dq, dk, dv, dbias_mask, dbias_pair) in float64 from the analytic softmax gradient."""
    _, _, p = reference_forward(q, k, v, bias_mask, bias_pair)
    q, k, v, dout = f64(q), f64(k), f64(v), f64(dout)
    d = q.shape[-1]
    dv = np.einsum("bnhij,bnihd->bnjhd", p, dout)
    dp = np.einsum("bnihd,bnjhd->bnhij", dout, v)
    ds = p * (dp - (dp * p).sum(axis=-1, keepdims=True))
    dq = np.einsum("bnhij,bnjhd->bnihd", ds, k) / np.sqrt(d)
    dk = np.einsum("bnhij,bnihd->bnjhd", ds, q) / np.sqrt(d)
    dbm = dbp = None
    if bias_mask is not None:
        dbm = reduce_to(ds.sum(axis=(2, 3), keepdims=True), bias_mask.shape)
    if bias_pair is not None:
        dbp = reduce_to(ds.sum(axis=1, keepdims=True), bias_pair.shape)
    return dq, dk, dv, dbm, dbp


def rel_err(got, want):
    """Largest absolute difference relative to the reference's largest magnitude."""
    got, want = f64(got), f64(want)
    assert got.shape == want.shape, (got.shape, want.shape)
    scale = max(np.abs(want).max(), 1e-30)
    return float(np.abs(got - want).max() / scale)


@pytest.fixture
def rng():
    return np.random.default_rng(20260101)


@pytest.fixture(scope="session")
def data_dir():
    return DATA


@pytest.fixture(scope="session")
def model_file():
    """The real GGUF model: $AXIAL_MODEL, else the file scripts/fetch-model.sh reports; skips without one."""
    p = os.environ.get("AXIAL_MODEL") or None
    script = ROOT / "scripts" / "fetch-model.sh"
    if p is None and script.exists():
        try:
            r = subprocess.run([str(script)], capture_output=True, text=True, timeout=300)
            p = r.stdout.strip() if r.returncode == 0 and r.stdout.strip() else None
        except (OSError, subprocess.TimeoutExpired):
            p = None
    if p is None or not os.path.exists(p):
        pytest.skip("the model is missing: run scripts/fetch-model.sh or set AXIAL_MODEL")
    return p
