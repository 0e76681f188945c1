"""axial.evoformer_attention and its backward against the float64 NumPy reference (conftest.py), on
random inputs: float32, float16 and bfloat16 (ml_dtypes), non-contiguous views, broadcast biases,
preallocated outputs, threads."""
import threading

import numpy as np
import pytest

import axial
from conftest import f64, reduce_to, reference_backward, reference_forward, rel_err

try:
    import ml_dtypes

    BF16 = np.dtype(ml_dtypes.bfloat16)
except ImportError:  # pragma: no cover
    BF16 = None

# Worst-case error of the library relative to the largest reference magnitude, per storage dtype.
TOL = {"float32": 2e-5, "float16": 4e-3, "bfloat16": 3e-2}


def make(rng, shape, dtype=np.float32, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(dtype)


def inputs(rng, B=2, N=3, S=17, H=2, D=8, dtype=np.float32, mask_shape=None, pair_shape=None):
    q, k, v = (make(rng, (B, N, S, H, D), dtype) for _ in range(3))
    bm = None if mask_shape is None else make(rng, mask_shape, dtype)
    bp = None if pair_shape is None else make(rng, pair_shape, dtype)
    return q, k, v, bm, bp


def test_reference_backward_matches_finite_differences(rng):
    """The reference's analytic gradient is itself checked (central differences in float64)."""
    q, k, v, bm, bp = (f64(t) for t in inputs(rng, 1, 2, 4, 2, 3, mask_shape=(1, 2, 1, 1, 4),
                                                  pair_shape=(1, 1, 2, 4, 4)))
    dout = rng.standard_normal(q.shape)
    grads = reference_backward(q, k, v, bm, bp, dout)
    eps = 1e-6
    for arg, grad in zip((q, k, v, bm, bp), grads):
        flat, gflat = arg.reshape(-1), grad.reshape(-1)
        for idx in rng.choice(flat.size, size=min(6, flat.size), replace=False):
            keep = flat[idx]
            flat[idx] = keep + eps
            plus = (reference_forward(q, k, v, bm, bp)[0] * dout).sum()
            flat[idx] = keep - eps
            minus = (reference_forward(q, k, v, bm, bp)[0] * dout).sum()
            flat[idx] = keep
            assert abs((plus - minus) / (2 * eps) - gflat[idx]) < 1e-6


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_forward_matches_reference(rng, dtype):
    if dtype == "bfloat16" and BF16 is None:
        pytest.skip("ml_dtypes is not installed")
    dt = BF16 if dtype == "bfloat16" else np.dtype(dtype)
    q, k, v, bm, bp = inputs(rng, dtype=dt, mask_shape=(2, 3, 1, 1, 17), pair_shape=(2, 1, 2, 17, 17))
    out, lse = axial.evoformer_attention(q, k, v, bm, bp, return_lse=True)
    assert isinstance(out, np.ndarray) and out.dtype == dt and out.shape == q.shape
    assert lse.dtype == np.float32 and lse.shape == (2, 3, 2, 17)
    ref_out, ref_lse, _ = reference_forward(q, k, v, bm, bp)
    assert rel_err(out, ref_out) < TOL[dtype]
    assert rel_err(lse, ref_lse) < TOL[dtype]


def test_forward_without_biases_and_lse(rng):
    q, k, v, _, _ = inputs(rng, 1, 1, 16, 1, 16)
    out = axial.evoformer_attention(q, k, v)
    assert rel_err(out, reference_forward(q, k, v)[0]) < TOL["float32"]


def test_bias_dtype_may_be_float32_with_bf16_inputs(rng):
    if BF16 is None:
        pytest.skip("ml_dtypes is not installed")
    q, k, v, _, _ = inputs(rng, dtype=BF16)
    bp = make(rng, (2, 1, 2, 17, 17))
    out = axial.evoformer_attention(q, k, v, None, bp)
    assert out.dtype == BF16
    assert rel_err(out, reference_forward(q, k, v, None, bp)[0]) < TOL["bfloat16"]


def test_plain_uint16_beside_bf16_is_refused(rng):
    """uint16 is no Axial dtype: alone it is refused naming the argument; beside bfloat16 arrays (which
    reach C as uint16 views under a per-call flag) it had been read as bfloat16 without a word."""
    if BF16 is None:
        pytest.skip("ml_dtypes is not installed")
    q, k, v, _, _ = inputs(rng, dtype=BF16)
    bp_bits = make(rng, (2, 1, 2, 17, 17)).astype(BF16).view(np.uint16)
    with pytest.raises(axial.InvalidArgumentError, match="uint16 array was given beside bfloat16"):
        axial.evoformer_attention(q, k, v, None, bp_bits)
    with pytest.raises(axial.InvalidArgumentError, match="uint16 array was given beside bfloat16"):
        axial.attention(q[:, 0], k[:, 0], v[:, 0], bias=make(rng, (2, 2, 17, 17)).astype(BF16).view(np.uint16))
    q32, k32, v32, _, _ = inputs(rng)
    with pytest.raises(axial.InvalidArgumentError, match="bias_pair"):
        axial.evoformer_attention(q32, k32, v32, None, bp_bits)


@pytest.mark.parametrize("mask_shape,pair_shape", [
    ((2, 1, 1, 1, 17), (1, 1, 2, 17, 17)),
    ((1, 3, 1, 1, 17), (2, 1, 1, 17, 17)),
    ((1, 1, 1, 1, 17), (1, 1, 1, 1, 17)),
])
def test_broadcast_biases_forward_and_backward(rng, mask_shape, pair_shape):
    q, k, v, bm, bp = inputs(rng, mask_shape=mask_shape, pair_shape=pair_shape)
    out, lse = axial.evoformer_attention(q, k, v, bm, bp, return_lse=True)
    assert rel_err(out, reference_forward(q, k, v, bm, bp)[0]) < TOL["float32"]
    dout = make(rng, q.shape)
    grads = axial.evoformer_attention_backward(q, k, v, bm, bp, out, lse, dout)
    for name, got, want in zip(("dq", "dk", "dv", "dbias_mask", "dbias_pair"), grads,
                               reference_backward(q, k, v, bm, bp, dout)):
        assert got.shape == want.shape, name
        assert rel_err(got, want) < 1e-4, name
    assert grads[3].shape == mask_shape and grads[4].shape == pair_shape


def test_stride_zero_broadcast_views(rng):
    """np.broadcast_to gives stride-0 inputs; they are read in place."""
    q, k, v, _, _ = inputs(rng)
    bm = np.broadcast_to(make(rng, (1, 1, 1, 1, 17)), (2, 3, 1, 1, 17))
    bp = np.broadcast_to(make(rng, (1, 1, 2, 17, 17)), (2, 1, 2, 17, 17))
    assert bm.strides[0] == 0 and not bm.flags.writeable
    out = axial.evoformer_attention(q, k, v, bm, bp)
    assert rel_err(out, reference_forward(q, k, v, bm, bp)[0]) < TOL["float32"]


def test_non_contiguous_views(rng):
    """Transposed, sliced and reversed views go in without copies and give the reference's result."""
    B, N, S, H, D = 2, 3, 13, 2, 8
    q = make(rng, (B, S, N, H, D)).transpose(0, 2, 1, 3, 4)          # permuted axes
    k = make(rng, (B, N, S, H, 2 * D))[..., ::2]                      # strided last dim
    v = make(rng, (B, N, S, H, D))[:, :, ::-1]                        # negative stride
    bp = make(rng, (B, 1, H, S, S)).transpose(0, 1, 2, 4, 3)          # transposed pair bias
    bm = make(rng, (B, N, 1, 1, 2 * S))[..., 1::2]
    for a in (q, k, v, bp, bm):
        assert not a.flags.c_contiguous
    out, lse = axial.evoformer_attention(q, k, v, bm, bp, return_lse=True)
    assert rel_err(out, reference_forward(q, k, v, bm, bp)[0]) < TOL["float32"]
    dout = make(rng, (B, N, S, H, 2 * D))[..., 1::2]
    grads = axial.evoformer_attention_backward(q, k, v, bm, bp, out, lse, dout)
    for got, want in zip(grads, reference_backward(q, k, v, bm, bp, dout)):
        assert rel_err(got, want) < 1e-4


def test_preallocated_strided_outputs_are_written_in_place(rng):
    q, k, v, bm, bp = inputs(rng, mask_shape=(2, 3, 1, 1, 17), pair_shape=(2, 1, 2, 17, 17))
    big = np.full((2, 3, 17, 2, 16), np.nan, np.float32)
    out = big[..., ::2]
    lse = np.empty((2, 3, 2, 17), np.float32)
    result = axial.evoformer_attention(q, k, v, bm, bp, out=out, lse=lse, return_lse=True)
    assert result[0] is out and result[1] is lse
    assert rel_err(big[..., ::2], reference_forward(q, k, v, bm, bp)[0]) < TOL["float32"]
    assert np.isnan(big[..., 1::2]).all(), "elements between the strided output's ones were written"


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_backward_matches_reference(rng, dtype):
    if dtype == "bfloat16" and BF16 is None:
        pytest.skip("ml_dtypes is not installed")
    dt = BF16 if dtype == "bfloat16" else np.float32
    q, k, v, bm, bp = inputs(rng, dtype=dt, mask_shape=(2, 3, 1, 1, 17), pair_shape=(2, 1, 2, 17, 17))
    out, lse = axial.evoformer_attention(q, k, v, bm, bp, return_lse=True)
    dout = make(rng, q.shape, dt)
    grads = axial.evoformer_attention_backward(q, k, v, bm, bp, out, lse, dout)
    tol = 1e-4 if dtype == "float32" else 5e-2
    for name, got, want in zip(("dq", "dk", "dv", "dbias_mask", "dbias_pair"), grads,
                               reference_backward(q, k, v, bm, bp, dout)):
        assert got.dtype == dt, name
        assert rel_err(got, want) < tol, name


def test_backward_without_biases_returns_none(rng):
    q, k, v, _, _ = inputs(rng)
    out, lse = axial.evoformer_attention(q, k, v, return_lse=True)
    dq, dk, dv, dbm, dbp = axial.evoformer_attention_backward(q, k, v, None, None, out, lse, make(rng, q.shape))
    assert dbm is None and dbp is None and dq.shape == q.shape


def test_fully_masked_rows(rng):
    q, k, v, _, _ = inputs(rng, 1, 2, 8, 1, 4)
    bm = np.zeros((1, 2, 1, 1, 8), np.float32)
    bm[0, 1] = -np.inf  # every key of sequence 1 masked
    out, lse = axial.evoformer_attention(q, k, v, bm, None, return_lse=True)
    assert (out[0, 1] == 0).all() and np.isneginf(lse[0, 1]).all()
    assert np.isfinite(out[0, 0]).all()


def test_threads_share_nothing_and_agree(rng):
    """Ops release the GIL; threads with their own default contexts and threads sharing one explicit
    context (serialised by its lock) all get the reference's result."""
    q, k, v, bm, bp = inputs(rng, 1, 4, 32, 2, 16, mask_shape=(1, 4, 1, 1, 32), pair_shape=(1, 1, 2, 32, 32))
    want = reference_forward(q, k, v, bm, bp)[0]
    shared = axial.Context("cpu", num_threads=1)
    results, errors = [], []

    def work(ctx):
        try:
            for _ in range(5):
                results.append(axial.evoformer_attention(q, k, v, bm, bp, context=ctx))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(c,)) for c in (None, None, shared, shared)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 20
    for r in results:
        assert rel_err(r, want) < TOL["float32"]


def test_context_reports_workspace_and_threads(rng):
    ctx = axial.Context("cpu", num_threads=2)
    assert ctx.num_threads == 2
    # malformed devices are the caller's error by name ("cuda:x" had been a bare ValueError, "cpu:3"
    # taken as the CPU)
    for bad in ("cuda:x", "cuda:-1", "cpu:3", "gpu", ("cuda",)):
        with pytest.raises(axial.InvalidArgumentError, match="device"):
            axial.Context(bad)
    assert axial.Context("cpu:0").device == ("cpu", 0)
    q, k, v, bm, bp = inputs(rng, pair_shape=(2, 1, 2, 17, 17))
    ctx.reset_workspace_peak()
    axial.evoformer_attention(q, k, v, None, bp, context=ctx)
    assert ctx.workspace_peak > 0


def test_measure_mode_records_without_running(rng):
    ctx = axial.Context("cpu", num_threads=2)
    q, k, v, bm, bp = inputs(rng, pair_shape=(2, 1, 2, 17, 17))
    with ctx.measure():
        axial.evoformer_attention(q, k, v, None, bp, context=ctx)
        measured = ctx.workspace_peak
        # Errors are the same while measuring.
        with pytest.raises(axial.InvalidArgumentError, match="k: dim 2"):
            axial.evoformer_attention(q, k[:, :, :5], v, None, bp, context=ctx)
    assert measured > 0
    assert ctx.workspace_peaks == (measured, 0)
    # Outside the block ops run again, and a real run needs what the measurement said.
    ctx.reset_workspace_peak()
    out = axial.evoformer_attention(q, k, v, None, bp, context=ctx)
    assert ctx.workspace_peak == measured
    want = reference_forward(q, k, v, None, bp)[0]
    assert rel_err(out, want) < TOL["float32"]


def test_attention_probabilities_match_reference(rng):
    q, k, v, bm, bp = inputs(rng, mask_shape=(2, 3, 1, 1, 17), pair_shape=(2, 1, 2, 17, 17))
    p = axial.attention_probabilities(q, k, bm, bp, b=1, n=2, h=1)
    assert p.shape == (17, 17) and p.dtype == np.float32
    want = reference_forward(q, k, v, bm, bp)[2][1, 2, 1]
    assert rel_err(p, want) < 1e-5
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)
