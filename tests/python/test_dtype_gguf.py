"""Axial's block-quantized and fp8 dtypes judged by independent references: the `gguf` package
(GGML's Python quantizer and dequantizer) and `ml_dtypes` (the fp8 types NumPy users have).

Axial is driven through tests/quant_helper.c, which converts a file of raw elements with
ax_tensor_copy (and checks that ax_convert gives the same bytes). ctest runs this file through
tests/python/run_gguf.sh, which sets AXIAL_QUANT_HELPER.

What must hold (see ax_convert in include/axial/axial.h):
  * Q4_0, Q4_1, Q8_0 quantization: the same bytes as gguf, extreme scales included;
  * dequantization of every block type: the same fp32 bits as gguf, for arbitrary bytes;
  * Q4_K, Q6_K quantization (gguf cannot quantize them): |x - dequantized x| <= half the sub-block
    step, and <= 0.07 A + 2^-20 (Q4_K) or 0.017 A + 2^-20 (Q6_K), A = the block's largest magnitude;
  * blocks holding NaN or Inf read back as NaN (all of the block, nothing else);
  * fp8: the same bits as ml_dtypes, for every code and for rounding from f32, f64, f16 and bf16.
"""
import os
import subprocess
import tempfile

import numpy as np
import pytest

gguf = pytest.importorskip("gguf")
ml_dtypes = pytest.importorskip("ml_dtypes")
from gguf import GGMLQuantizationType as QT  # noqa: E402
from gguf.quants import dequantize, quantize  # noqa: E402

# gguf's NumPy code warns on the extreme inputs here (overflow to an Inf scale, 1/d overflowing): the
# cases are deliberate and their results are checked.
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

HELPER = os.environ.get("AXIAL_QUANT_HELPER")
if not HELPER:
    pytest.skip("AXIAL_QUANT_HELPER is not set (ctest's test_dtype_gguf sets it)", allow_module_level=True)

QTYPES = {"q4_0": QT.Q4_0, "q4_1": QT.Q4_1, "q8_0": QT.Q8_0, "q4_k": QT.Q4_K, "q6_k": QT.Q6_K}
BLOCK = {"q4_0": (32, 18), "q4_1": (32, 20), "q8_0": (32, 34), "q4_k": (256, 144), "q6_k": (256, 210)}
NUMPY_OF = {"f32": np.float32, "f64": np.float64, "f16": np.float16, "bf16": ml_dtypes.bfloat16,
            "f8_e4m3fn": ml_dtypes.float8_e4m3fn, "f8_e5m2": ml_dtypes.float8_e5m2}
K_BOUND = {"q4_k": 0.07, "q6_k": 0.017}


def axial(src_dtype, dst_dtype, data, rows, cols, transposed=False, expect_ok=True):
    """Runs quant_helper on raw bytes `data`; returns the output bytes (or the error text)."""
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = os.path.join(tmp, "in"), os.path.join(tmp, "out")
        with open(src, "wb") as f:
            f.write(bytes(data))
        args = [HELPER, src_dtype, dst_dtype, str(rows), str(cols), src, dst] + (["--transposed"] if transposed else [])
        r = subprocess.run(args, capture_output=True, text=True)
        if not expect_ok:
            assert r.returncode == 3, (r.returncode, r.stderr)
            return r.stderr
        assert r.returncode == 0, (r.returncode, r.stderr)
        with open(dst, "rb") as f:
            return f.read()


def quantize_axial(name, x):
    rows, cols = x.shape
    out = axial("f32", name, np.ascontiguousarray(x, np.float32).tobytes(), rows, cols)
    return np.frombuffer(out, np.uint8).reshape(rows, cols // BLOCK[name][0] * BLOCK[name][1])


def dequantize_axial(name, q, rows, cols, dst="f32"):
    out = axial(name, dst, q.tobytes(), rows, cols)
    return np.frombuffer(out, NUMPY_OF[dst]).reshape(rows, cols)


def same_bits(a, b):
    """Equal fp32 arrays bit for bit (NaNs included)."""
    return np.array_equal(np.asarray(a, np.float32).view(np.uint32), np.asarray(b, np.float32).view(np.uint32))


def random_blocks(rng, n_blocks, block):
    """(n_blocks, block) float32 rows of many kinds, each row one block."""
    kinds = []
    per = n_blocks // 14
    kinds.append(rng.standard_normal((per, block)))
    kinds.append(rng.uniform(-1, 1, (per, block)) * 10.0 ** rng.uniform(-30, 30, (per, 1)))  # extreme scales
    kinds.append(np.full((per, block), 1e30) * rng.choice([-1, 1], (per, block)))
    kinds.append(rng.standard_normal((per, block)) * 1e-30)
    kinds.append(np.zeros((per, block)))
    outlier = rng.standard_normal((per, block)) * 1e-2
    outlier[np.arange(per), rng.integers(0, block, per)] = rng.choice([-1, 1], per) * 1e4
    kinds.append(outlier)
    # Values on the quantizers' rounding thresholds: small integers and halves times a power of two.
    kinds.append(rng.integers(-16, 17, (per, block)) / 2.0 * 2.0 ** rng.integers(-20, 20, (per, 1)))
    kinds.append(rng.uniform(0, 1, (per, block)) + 1000.0)  # all positive, far from zero
    kinds.append(-rng.uniform(0, 1, (per, block)))  # all negative
    kinds.append(rng.uniform(-1, 1, (per, block)) * 2.0 ** rng.integers(-140, -120, (per, 1)))  # fp32 subnormals
    signed_zeros = np.where(rng.integers(0, 2, (per, block)) == 1, -0.0, 0.0)
    signed_zeros[: per // 2, 7] = rng.standard_normal(per // 2)  # half of them with one non-zero value
    kinds.append(signed_zeros)
    rest = n_blocks - per * len(kinds)
    kinds.append(rng.standard_normal((rest, block)) * 100)
    x = np.concatenate(kinds).astype(np.float32)
    return x[rng.permutation(len(x))]


def fma_sensitive_blocks(rng, name, n_blocks):
    """Blocks whose elements sit where a fused multiply-add would quantize differently from the
    reference's separately rounded x * id + 8.5 (Q4_0) or (x - min) * id + 0.5 (Q4_1): a build that
    let the compiler contract them would fail the bit-exact test on these."""
    out = []
    for _ in range(100 * n_blocks):
        if len(out) == n_blocks:
            break
        d0 = np.float32(rng.uniform(0.5, 2) * 2.0 ** rng.integers(-12, 12))
        if name == "q4_0":
            lo, hi = np.float32(-8 * d0), np.float32(7 * d0)
            d = np.float32(lo / np.float32(-8))
            offset, add = np.float32(0), np.float32(8.5)
        else:
            lo, hi = np.float32(-3 * d0), np.float32(12 * d0)
            d = np.float32((hi - lo) / np.float32(15))
            offset, add = lo, np.float32(0.5)
        inv = np.float32(1) / d
        # Values whose scaled form v lands next to a threshold of trunc(v + add): v = m - add for an
        # integer m, a half-integer in both types.
        v = np.arange(16, dtype=np.float64) + 0.5 - (8 if name == "q4_0" else 0)
        centre = (v / float(inv) + float(offset)).astype(np.float32)
        cands = np.concatenate([centre + np.float32(j) * np.spacing(centre) for j in range(-4, 5)]).astype(np.float32)
        cands = cands[(cands > lo) & (cands < hi)]
        scaled = (cands - offset).astype(np.float32)
        separate = np.trunc((scaled * inv).astype(np.float32) + add)
        fused = np.trunc((scaled.astype(np.float64) * np.float64(inv) + np.float64(add)).astype(np.float32))
        picked = cands[separate != fused]
        if picked.size == 0:
            continue
        block = np.resize(picked, 32).astype(np.float32)
        block[0], block[1] = lo, hi
        out.append(block)
    assert len(out) == n_blocks, f"found only {len(out)} FMA-sensitive {name} blocks"
    return np.array(out, np.float32)


def reciprocal_overflows(name, x):
    """Blocks where GGML's fp32 reciprocal scale 1/d overflows (its result is undefined there)."""
    b = x.reshape(-1, BLOCK[name][0])
    with np.errstate(divide="ignore", over="ignore"):
        if name == "q4_0":
            d = np.abs(b).max(axis=1) / np.float32(8)
        elif name == "q4_1":
            d = (b.max(axis=1) - b.min(axis=1)) / np.float32(15)
        else:
            d = np.abs(b).max(axis=1) / np.float32(127)
        return (d != 0) & np.isinf(np.float32(1) / d.astype(np.float32))


@pytest.mark.parametrize("name", ["q4_0", "q4_1", "q8_0"])
def test_quantize_matches_gguf_bit_for_bit(name):
    rng = np.random.default_rng(13)
    block = BLOCK[name][0]
    x = random_blocks(rng, 4000, block)
    if name != "q8_0":  # Q8_0 rounds x * id with nothing added: nothing to fuse
        x = np.concatenate([x, fma_sensitive_blocks(rng, name, 400)])
    defined = ~reciprocal_overflows(name, x)
    x = x[defined]
    x = x[: len(x) // 4 * 4].reshape(-1, 4 * block)  # rows of four blocks
    ours = quantize_axial(name, x)
    ref = quantize(x, QTYPES[name])
    assert ours.shape == ref.shape
    if name == "q4_1":
        # The sign of a zero minimum m is NumPy's pick in gguf (documented): compare it as a value.
        nb = ours.shape[1] // 20
        o, r = ours.reshape(-1, nb, 20).copy(), ref.reshape(-1, nb, 20).copy()
        zero_m = (o[..., 2:4].copy().view(np.float16) == 0) & (r[..., 2:4].copy().view(np.float16) == 0)
        o[..., 3][zero_m[..., 0]] &= 0x7F
        r[..., 3][zero_m[..., 0]] &= 0x7F
        assert zero_m.any()
        ours, ref = o.reshape(ours.shape), r.reshape(ref.shape)
    bad = np.nonzero((ours != ref).any(axis=1))[0]
    assert bad.size == 0, f"{bad.size} rows differ, first {bad[:5]}"


@pytest.mark.parametrize("name", ["q4_0", "q4_1", "q8_0"])
def test_tiny_blocks_where_ggml_is_undefined_read_back_as_gguf(name):
    """Below about 1e-37 GGML's reciprocal scale overflows and its quants are undefined; the scale is
    an fp16 zero either way. Axial stores zero quants: the same scale bytes, the same values."""
    rng = np.random.default_rng(5)
    block = BLOCK[name][0]
    x = (rng.uniform(-1, 1, (64, block)) * 2.0 ** rng.integers(-149, -127, (64, 1))).astype(np.float32)
    assert reciprocal_overflows(name, x).any()
    ours = quantize_axial(name, x)
    ref = quantize(x, QTYPES[name])
    scale_bytes = 4 if name == "q4_1" else 2
    assert np.array_equal(ours[:, :scale_bytes], ref[:, :scale_bytes])
    assert np.array_equal(dequantize(ours, QTYPES[name]), dequantize(ref, QTYPES[name]))  # == (zeros of either sign)


@pytest.mark.parametrize("name", list(QTYPES))
def test_dequantize_matches_gguf_on_arbitrary_bytes(name):
    rng = np.random.default_rng(7)
    elems, nbytes = BLOCK[name]
    q = rng.integers(0, 256, (600, nbytes), dtype=np.uint8)
    # Keep most fp16 scales in a realistic range so values are mostly finite; leave a tenth arbitrary.
    scale_at = {"q4_0": [0], "q4_1": [0, 2], "q8_0": [0], "q4_k": [0, 2], "q6_k": [208]}[name]
    for at in scale_at:
        scales = rng.uniform(-2, 2, 540).astype(np.float16).view(np.uint8).reshape(-1, 2)
        q[:540, at:at + 2] = scales
    q = q.reshape(60, -1)
    rows, cols = 60, 10 * elems
    ours = dequantize_axial(name, q, rows, cols)
    ref = dequantize(q, QTYPES[name])
    assert ref.shape == ours.shape
    assert same_bits(ours, ref)


@pytest.mark.parametrize("name", list(QTYPES))
@pytest.mark.parametrize("dst", ["f16", "bf16", "f64", "f8_e4m3fn"])
def test_dequantize_to_narrow_types_rounds_the_fp32_values_once(name, dst):
    rng = np.random.default_rng(11)
    elems, nbytes = BLOCK[name]
    x = rng.standard_normal((8, 4 * elems)).astype(np.float32)
    q = quantize_axial(name, x)
    want = dequantize(q, QTYPES[name]).astype(NUMPY_OF[dst])
    got = dequantize_axial(name, q, 8, 4 * elems, dst)
    assert np.array_equal(got.view(np.uint8), want.view(np.uint8))


@pytest.mark.parametrize("name", ["q4_k", "q6_k"])
def test_k_quants_meet_their_error_bound(name):
    rng = np.random.default_rng(17)
    x = random_blocks(rng, 1500, 256)
    a = np.abs(x).max(axis=1, keepdims=True).astype(np.float64)
    fits = (a[:, 0] < (4e6 if name == "q4_k" else 2.5e8))  # past these the fp16 scales overflow (documented)
    n = fits.sum() // 4 * 4
    x, a = x[fits][:n], a[fits][:n]
    q = quantize_axial(name, x.reshape(-1, 4 * 256))
    deq = dequantize(q, QTYPES[name]).reshape(-1, 256).astype(np.float64)  # gguf reads our bytes
    ours = dequantize_axial(name, q, q.shape[0], 4 * 256).reshape(-1, 256)
    assert same_bits(ours, deq)
    err = np.abs(deq - x.astype(np.float64))
    bound = K_BOUND[name] * a + 2.0 ** -20
    worst = (err / bound).max()
    assert worst <= 1.0, f"error reaches {worst:.3f} of the stated bound"
    # Half the sub-block step, read from the bytes, bounds every element (the grid covers the values).
    step = k_steps(name, q.reshape(-1, BLOCK[name][1]))
    per_elem = np.repeat(step, 256 // step.shape[1], axis=1)
    assert (err <= per_elem / 2 * (1 + 1e-6) + 1e-30).all()
    # Typical accuracy on Gaussian data, relative to its spread.
    g = rng.standard_normal((64, 1024)).astype(np.float32)
    rms = np.sqrt(np.mean((dequantize(quantize_axial(name, g), QTYPES[name]) - g) ** 2))
    assert rms < {"q4_k": 0.1, "q6_k": 0.025}[name], rms


def k_steps(name, blocks):
    """Each sub-block's step d * scale as dequantization computes it, from the raw bytes."""
    if name == "q6_k":
        d = blocks[:, 208:210].copy().view(np.float16).astype(np.float32)
        sc = blocks[:, 192:208].view(np.int8).astype(np.float32)
        return np.abs(d * sc).astype(np.float64)
    d = blocks[:, 0:2].copy().view(np.float16).astype(np.float32)
    s = blocks[:, 4:16]
    sc = np.concatenate([s[:, 0:4] & 63, (s[:, 8:12] & 0x0F) | ((s[:, 0:4] >> 6) << 4)], axis=1)
    return (d * sc.astype(np.float32)).astype(np.float64)


@pytest.mark.parametrize("name", list(QTYPES))
def test_blocks_with_nan_or_inf_read_back_as_nan(name):
    rng = np.random.default_rng(19)
    block = BLOCK[name][0]
    x = rng.standard_normal((12, 4 * block)).astype(np.float32)
    poisoned = {(0, 1): np.nan, (3, 0): np.inf, (5, 3): -np.inf, (7, 2): np.nan}
    for (row, blk), v in poisoned.items():
        x[row, blk * block + rng.integers(0, block)] = v
    q = quantize_axial(name, x)
    deq = dequantize(q, QTYPES[name]).reshape(12, 4, block)
    clean = np.ones((12, 4), bool)
    for row, blk in poisoned:
        clean[row, blk] = False
        assert np.isnan(deq[row, blk]).all()
    assert np.isfinite(deq[clean]).all()
    if name in ("q4_0", "q4_1", "q8_0"):  # the other blocks are exactly gguf's
        ref = quantize(np.where(np.isfinite(x), x, 0), QTYPES[name]).reshape(12, 4, -1)
        assert np.array_equal(q.reshape(12, 4, -1)[clean], ref[clean])


@pytest.mark.parametrize("name", list(QTYPES))
def test_strided_source_quantizes_like_its_contiguous_copy(name):
    rng = np.random.default_rng(23)
    block = BLOCK[name][0]
    x = rng.standard_normal((6, 2 * block)).astype(np.float32)
    # The helper reads a (cols, rows) file through a transposed view: elements strided by `rows`.
    ours = axial("f32", name, np.ascontiguousarray(x.T).tobytes(), 6, 2 * block, transposed=True)
    assert ours == quantize_axial(name, x).tobytes()
    if name in ("q4_0", "q4_1", "q8_0"):
        assert ours == quantize(x, QTYPES[name]).tobytes()


@pytest.mark.parametrize("src", ["f16", "bf16", "f64"])
def test_other_float_sources_quantize_through_fp32(src):
    rng = np.random.default_rng(29)
    x = rng.standard_normal((4, 64)).astype(NUMPY_OF[src])
    ours = axial(src, "q8_0", x.tobytes(), 4, 64)
    assert ours == quantize(x.astype(np.float32), QT.Q8_0).tobytes()


# ---- fp8 against ml_dtypes ----

FP8 = ["f8_e4m3fn", "f8_e5m2"]


@pytest.mark.parametrize("name", FP8)
def test_fp8_every_code_decodes_as_ml_dtypes(name):
    codes = np.arange(256, dtype=np.uint8)
    ours = np.frombuffer(axial(name, "f32", codes.tobytes(), 1, 256), np.float32)
    want = codes.view(NUMPY_OF[name]).astype(np.float32)
    assert same_bits(ours, want)
    ours64 = np.frombuffer(axial(name, "f64", codes.tobytes(), 1, 256), np.float64)
    assert np.array_equal(ours64, want.astype(np.float64), equal_nan=True)


def fp8_probe_values(rng, name):
    """fp32 values that stress rounding: every code's value, the midpoints between neighbours and one
    ulp either side, values past the largest finite one, and random bit patterns."""
    codes = np.arange(256, dtype=np.uint8).view(NUMPY_OF[name]).astype(np.float64)
    finite = np.unique(np.abs(codes[np.isfinite(codes)]))
    top = finite[-1] + (finite[-1] - finite[-2])  # the next value the format would have
    grid = np.concatenate([finite, [top, 2 * top]])
    mids = (grid[:-1] + grid[1:]) / 2
    base = np.concatenate([finite, mids, [top, 1e6, 3e38]]).astype(np.float32)
    near = np.concatenate([base, np.nextafter(base, np.float32(0)), np.nextafter(base, np.float32(np.inf))])
    bits = rng.integers(0, 2 ** 32, 200000, dtype=np.uint64).astype(np.uint32).view(np.float32)
    small = (rng.uniform(-1, 1, 50000) * 2.0 ** rng.integers(-30, 20, 50000)).astype(np.float32)
    special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan], np.float32)
    nan_payloads = np.array([0x7F800001, 0xFFC12345, 0x7FE00000], np.uint32).view(np.float32)
    values = np.concatenate([near, -near, bits, small, special, nan_payloads])
    return values[: len(values) // 64 * 64]


@pytest.mark.parametrize("name", FP8)
def test_fp8_rounding_from_f32_matches_ml_dtypes(name):
    x = fp8_probe_values(np.random.default_rng(31), name)
    ours = np.frombuffer(axial("f32", name, x.tobytes(), len(x) // 64, 64), np.uint8)
    with np.errstate(invalid="ignore", over="ignore"):
        want = x.astype(NUMPY_OF[name]).view(np.uint8)
    bad = np.nonzero(ours != want)[0]
    assert bad.size == 0, [(float(x[i]), hex(ours[i]), hex(want[i])) for i in bad[:5]]


@pytest.mark.parametrize("name", FP8)
@pytest.mark.parametrize("src", ["f64", "f16", "bf16"])
def test_fp8_rounding_from_other_types_matches_ml_dtypes(name, src):
    rng = np.random.default_rng(37)
    x32 = fp8_probe_values(rng, name)
    if src == "f64":
        # Just off the f32 values: going through f32 would round twice; a correct conversion does not.
        x = x32.astype(np.float64) * (1 + rng.choice([-1, 1], len(x32)) * 2.0 ** -40)
    else:
        with np.errstate(invalid="ignore", over="ignore"):
            x = x32.astype(NUMPY_OF[src])
    ours = np.frombuffer(axial(src, name, x.tobytes(), len(x) // 64, 64), np.uint8)
    with np.errstate(invalid="ignore", over="ignore"):
        want = x.astype(NUMPY_OF[name]).view(np.uint8)
    bad = np.nonzero(ours != want)[0]
    assert bad.size == 0, [(float(x[i]), hex(ours[i]), hex(want[i])) for i in bad[:5]]


def test_block_count_and_layout_errors_are_reported():
    err = axial("f32", "q4_0", np.zeros(40, np.float32).tobytes(), 1, 40, expect_ok=False)
    assert "AX_ERR_INVALID_ARGUMENT" in err and "block" in err, err
    err = axial("i32", "q8_0", np.zeros(32, np.int32).tobytes(), 1, 32, expect_ok=False)
    assert "cannot convert i32 to q8_0" in err, err
