"""axial.attention / attention_backward / paged_attention / kv_cache_append and the flash_attn drop-ins
of axial.torch, judged by float64 NumPy references written here (and by PyTorch's own autograd of a
float64 naive attention, where PyTorch is installed)."""
import math

import numpy as np
import pytest

import axial


def ref_attention(q, k, v, causal=False, window=(-1, -1), bias=None, scale=None, softcap=0.0):
    """float64 attention of one padded batch (B, Sq, H, D) x (B, Sk, Hkv, D); returns out, lse, p."""
    q, k, v = (np.asarray(x, np.float64) for x in (q, k, v))
    B, Sq, H, D = q.shape
    Sk, Hkv = k.shape[1], k.shape[2]
    g = H // Hkv
    scale = 1.0 / math.sqrt(D) if scale is None else scale
    kk = np.repeat(k, g, axis=2)
    vv = np.repeat(v, g, axis=2)
    s = np.einsum("bihd,bjhd->bhij", q, kk) * scale
    if softcap > 0:
        s = softcap * np.tanh(s / softcap)
    if bias is not None:
        s = s + np.broadcast_to(np.asarray(bias, np.float64), s.shape)
    pos = np.arange(Sq)[:, None] + Sk - Sq
    j = np.arange(Sk)[None, :]
    left, right = window
    if causal:
        right = 0
    keep = np.ones((Sq, Sk), bool)
    if left >= 0:
        keep &= j >= pos - left
    if right >= 0:
        keep &= j <= pos + right
    s = np.where(keep, s, -np.inf)
    m = s.max(axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    e = np.exp(s - m)
    l = e.sum(axis=-1, keepdims=True)
    p = np.where(l > 0, e / np.where(l > 0, l, 1), 0.0)
    out = np.einsum("bhij,bjhd->bihd", p, vv)
    with np.errstate(divide="ignore"):
        lse = np.where(l[..., 0] > 0, np.log(np.where(l[..., 0] > 0, l[..., 0], 1)) + m[..., 0], -np.inf)
    return out, lse, p


def rand(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("causal,window,H,Hkv,Sq,Sk", [
    (False, (-1, -1), 4, 4, 7, 7), (True, (-1, -1), 4, 2, 5, 9), (False, (3, 1), 6, 1, 8, 8), (True, (2, -1), 4, 2, 9, 6),
])
def test_attention_forward_matches_float64(causal, window, H, Hkv, Sq, Sk):
    rng = np.random.default_rng(1)
    q, k, v = rand(rng, 2, Sq, H, 16), rand(rng, 2, Sk, Hkv, 16), rand(rng, 2, Sk, Hkv, 16)
    bias = rand(rng, 1, H, Sq, Sk)
    out, lse = axial.attention(q, k, v, causal=causal, window=window, bias=bias, softcap=3.0, return_lse=True)
    want, want_lse, _ = ref_attention(q, k, v, causal, window, bias, softcap=3.0)
    assert out.dtype == np.float32 and out.shape == q.shape and lse.shape == (2, H, Sq)
    np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(lse, want_lse, rtol=1e-5, atol=1e-5)


def test_attention_varlen_matches_per_sequence():
    rng = np.random.default_rng(2)
    lq, lk = [3, 0, 5], [4, 2, 5]
    cq = np.concatenate([[0], np.cumsum(lq)]).astype(np.int32)
    ck = np.concatenate([[0], np.cumsum(lk)]).astype(np.int32)
    q, k, v = rand(rng, cq[-1], 4, 8), rand(rng, ck[-1], 2, 8), rand(rng, ck[-1], 2, 8)
    out, lse = axial.attention(q, k, v, causal=True, cu_seqlens_q=cq, cu_seqlens_k=ck, return_lse=True)
    assert lse.shape == (4, cq[-1])
    for b in range(3):
        if lq[b] == 0:
            continue
        sl_q, sl_k = slice(cq[b], cq[b + 1]), slice(ck[b], ck[b + 1])
        want, want_lse, _ = ref_attention(q[None, sl_q], k[None, sl_k], v[None, sl_k], causal=True)
        np.testing.assert_allclose(out[sl_q], want[0], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(lse[:, sl_q], want_lse[0], rtol=1e-5, atol=1e-5)


def test_attention_varlen_outputs_past_the_batch():
    """Rows past cu_seqlens_q[-1] of outputs made by the wrapper read as a row seeing no key (out 0,
    lse -inf) instead of uninitialised memory; a q of the wrong rank is still the op's own error."""
    rng = np.random.default_rng(3)
    cq, ck = np.array([0, 2, 5], np.int32), np.array([0, 3, 4], np.int32)
    q, k, v = rand(rng, 8, 2, 8), rand(rng, 4, 2, 8), rand(rng, 4, 2, 8)
    out, lse = axial.attention(q, k, v, cu_seqlens_q=cq, cu_seqlens_k=ck, return_lse=True)
    assert np.all(out[5:] == 0) and np.all(lse[:, 5:] == -np.inf)
    with pytest.raises(axial.InvalidArgumentError, match="q"):
        axial.attention(q[None], k, v, cu_seqlens_q=cq, cu_seqlens_k=ck, return_lse=True)


@pytest.fixture
def poisoned_empty(monkeypatch):
    """np.empty hands back NaN-filled (float) or 0x5a-filled arrays, so an output the wrapper leaves
    unwritten shows itself (fresh pages from the system are zero, which hid it)."""
    real_empty = np.empty

    def empty(shape, dtype=float, *args, **kwargs):
        a = real_empty(shape, dtype, *args, **kwargs)
        if a.dtype.kind in "fc":
            a.fill(np.nan)
        else:
            a.view(np.uint8).fill(0x5A)
        return a

    monkeypatch.setattr(np, "empty", empty)


def test_attention_backward_varlen_dq_past_the_batch(poisoned_empty):
    """dq's rows past cu_seqlens_q[-1] read 0 when the wrapper makes dq (they had been whatever the
    allocation held: the op does not write them); dk and dv past cu_seqlens_k[-1] are 0 by the op."""
    rng = np.random.default_rng(13)
    cq, ck = np.array([0, 2, 5], np.int32), np.array([0, 3, 4], np.int32)
    q, k, v = rand(rng, 8, 2, 8), rand(rng, 6, 2, 8), rand(rng, 6, 2, 8)
    out, lse = axial.attention(q, k, v, cu_seqlens_q=cq, cu_seqlens_k=ck, return_lse=True)
    dq, dk, dv, _ = axial.attention_backward(q, k, v, out, lse, rand(rng, 8, 2, 8), cu_seqlens_q=cq, cu_seqlens_k=ck)
    assert np.all(dq[5:] == 0) and np.all(dk[4:] == 0) and np.all(dv[4:] == 0)
    assert np.isfinite(dq).all() and np.isfinite(dk).all() and np.isfinite(dv).all()


def test_paged_attention_outputs_past_the_batch(poisoned_empty):
    """Rows past cu_seqlens_q[-1] of the out and lse the wrapper makes read 0 and -inf (a row seeing no
    key), as the contiguous op's do; the op does not write them."""
    rng = np.random.default_rng(14)
    kc = rand(rng, 2, 16, 1, 8)
    q = rand(rng, 4, 1, 8)
    out, lse = axial.paged_attention(q, kc, kc, np.array([[0, 1]], np.int32), np.array([20], np.int32),
                                     np.array([0, 1], np.int32), return_lse=True)
    assert np.all(out[1:] == 0) and np.all(lse[:, 1:] == -np.inf)
    assert np.isfinite(out[0]).all() and np.isfinite(lse[:, 0]).all()


def test_attention_backward_matches_finite_differences():
    """The gradients of L = sum(out * w) against central differences of the float64 reference."""
    rng = np.random.default_rng(3)
    q, k, v = rand(rng, 1, 4, 2, 8), rand(rng, 1, 6, 1, 8), rand(rng, 1, 6, 1, 8)
    bias = rand(rng, 1, 1, 4, 6)
    w = rand(rng, 1, 4, 2, 8)
    opts = dict(causal=True, window=(3, -1), bias=bias)
    out, lse = axial.attention(q, k, v, return_lse=True, **opts)
    dq, dk, dv, db = axial.attention_backward(q, k, v, out, lse, w, **opts)

    def loss(qq, kk, vv, bb):
        return float((ref_attention(qq, kk, vv, True, (3, -1), bb)[0] * w).sum())

    args = [q.astype(np.float64), k.astype(np.float64), v.astype(np.float64), bias.astype(np.float64)]
    for idx, got in enumerate((dq, dk, dv, db)):
        num = np.zeros_like(args[idx])
        for i in np.ndindex(args[idx].shape):
            plus = [a.copy() for a in args]
            minus = [a.copy() for a in args]
            plus[idx][i] += 1e-6
            minus[idx][i] -= 1e-6
            num[i] = (loss(*plus) - loss(*minus)) / 2e-6
        np.testing.assert_allclose(got, num, rtol=1e-3, atol=1e-4)


def test_attention_errors_name_the_argument():
    q = np.zeros((1, 4, 3, 8), np.float32)
    k = np.zeros((1, 4, 2, 8), np.float32)
    with pytest.raises(axial.InvalidArgumentError, match="H"):
        axial.attention(q, k, k)
    with pytest.raises(axial.InvalidArgumentError, match="window"):
        axial.attention(q, q, q, causal=True, window=(-1, 2))
    with pytest.raises(axial.InvalidArgumentError, match="cu_seqlens"):
        axial.attention(q[0], q[0], q[0], cu_seqlens_q=np.array([0, 3, 2], np.int32),
                        cu_seqlens_k=np.array([0, 2, 4], np.int32))


def test_paged_attention_num_splits_out_of_int32_range_is_refused():
    rng = np.random.default_rng(5)
    kc = rand(rng, 2, 16, 1, 8)
    q = rand(rng, 1, 1, 8)
    args = (q, kc, kc, np.array([[0, 1]], np.int32), np.array([20], np.int32), np.array([0, 1], np.int32))
    with pytest.raises(axial.InvalidArgumentError, match="num_splits"):
        axial.paged_attention(*args, num_splits=2**32 + 1)  # not wrapped to 1


def test_paged_attention_matches_gathered_reference():
    rng = np.random.default_rng(4)
    bs, nblk, Hkv, H, D = 16, 12, 2, 4, 8
    kc, vc = rand(rng, nblk, bs, Hkv, D), rand(rng, nblk, bs, Hkv, D)
    ctx_lens = np.array([20, 33, 16], np.int32)
    nq = [1, 5, 16]  # decode, a prefill chunk, a whole prompt
    table = np.array([[5, 2, 0], [7, 1, 9], [3, 0, 0]], np.int32)
    cu = np.concatenate([[0], np.cumsum(nq)]).astype(np.int32)
    q = rand(rng, cu[-1], H, D)
    out = axial.paged_attention(q, kc, vc, table, ctx_lens, cu)
    for s in range(3):
        n = int(ctx_lens[s])
        rows = [(table[s, t // bs], t % bs) for t in range(n)]
        k = np.stack([kc[b, r] for b, r in rows])[None]
        v = np.stack([vc[b, r] for b, r in rows])[None]
        want, _, _ = ref_attention(q[None, cu[s]:cu[s + 1]], k, v, causal=True)
        np.testing.assert_allclose(out[cu[s]:cu[s + 1]], want[0], rtol=1e-4, atol=1e-5)


def test_kv_cache_append_writes_slots():
    rng = np.random.default_rng(5)
    kc = np.zeros((4, 16, 2, 8), np.float32)
    vc = np.zeros_like(kc)
    k, v = rand(rng, 3, 2, 8), rand(rng, 3, 2, 8)
    slots = np.array([17, -1, 63], np.int64)
    axial.kv_cache_append(k, v, slots, kc, vc)
    np.testing.assert_array_equal(kc[1, 1], k[0])
    np.testing.assert_array_equal(vc[3, 15], v[2])
    assert np.count_nonzero(kc) == 2 * k[0].size


def test_kv_cache_int8_rows_stay_within_a_step_as_the_scale_grows():
    """A block filled one row per call while the rows' amax rises slowly: every stored value stays
    within one code step of the block's final scale of its true value (the scale had grown to each
    new row's exact need, which re-rounded early rows at every growth; small codes stayed put while
    the scale rose, and row 0 read back at 2.4x its value)."""
    rng = np.random.default_rng(12)
    bs, D = 256, 64
    kc = np.zeros((1, bs, 1, D), np.int8)
    vc = np.zeros_like(kc)
    ks = np.zeros((1, 1), np.float32)
    vs = np.zeros_like(ks)
    rows = rand(rng, bs, 1, D) * (1.0035 ** np.arange(bs))[:, None, None].astype(np.float32)
    for t in range(bs):
        axial.kv_cache_append(rows[t:t + 1], rows[t:t + 1], np.array([t], np.int64), kc, vc, k_scales=ks,
                              v_scales=vs)
    back = kc.astype(np.float64)[0, :, 0] * float(ks[0, 0])
    err = np.abs(back - rows[:, 0].astype(np.float64))
    assert ks[0, 0] >= np.abs(rows).max() / 127 * (1 - 1e-6)
    assert err.max() <= float(ks[0, 0]), (err.max() / ks[0, 0], np.unravel_index(err.argmax(), err.shape))
    np.testing.assert_array_equal(vc, kc)


def test_rms_norm_residual_and_backward():
    rng = np.random.default_rng(8)
    x, r, w = rand(rng, 5, 24), rand(rng, 5, 24), rand(rng, 24)
    out, h = axial.rms_norm(x, w, 1e-5, residual=r, return_residual=True)
    with pytest.raises(axial.InvalidArgumentError, match="return_residual"):  # it had returned (out, None)
        axial.rms_norm(x, w, 1e-5, return_residual=True)
    hh = x.astype(np.float64) + r
    want = hh / np.sqrt((hh * hh).mean(-1, keepdims=True) + 1e-5) * w
    np.testing.assert_allclose(h, hh, rtol=1e-6)
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-6)
    dout = rand(rng, 5, 24)
    dx, dw = axial.rms_norm_backward(x, w, dout, 1e-5)
    x64 = x.astype(np.float64)
    inv = 1 / np.sqrt((x64 * x64).mean(-1, keepdims=True) + 1e-5)
    g = dout * w
    want_dx = inv * g - x64 * inv ** 3 * (g * x64).mean(-1, keepdims=True)
    np.testing.assert_allclose(dx, want_dx, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(dw, (dout * x64 * inv).sum(0), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("layout", ["adjacent", "neox"])
def test_rope_matches_float64_rotation(layout):
    rng = np.random.default_rng(9)
    T, H, D, d = 6, 3, 16, 12
    x = rand(rng, T, H, D)
    pos = np.array([0, 1, 7, 100, 5000, 3], np.int32)
    out = axial.rope(x, pos, rotary_dim=d, layout=layout, base=100000.0)
    want = x.astype(np.float64).copy()
    for i in range(d // 2):
        theta = pos[:, None].astype(np.float64) * 100000.0 ** (-2 * i / d)
        a, b = (2 * i, 2 * i + 1) if layout == "adjacent" else (i, i + d // 2)
        xa, xb = x[:, :, a].astype(np.float64), x[:, :, b].astype(np.float64)
        want[:, :, a] = xa * np.cos(theta) - xb * np.sin(theta)
        want[:, :, b] = xa * np.sin(theta) + xb * np.cos(theta)
    # fp32 angles: |pos * freq| up to 5000 rad is rounded to ~2.4e-4 rad
    np.testing.assert_allclose(out, want, atol=2e-3)
    back = axial.rope(out, pos, rotary_dim=d, layout=layout, base=100000.0, backward=True)
    np.testing.assert_allclose(back, x, atol=1e-5)


def test_glu_activation_softmax():
    rng = np.random.default_rng(10)
    g, u = rand(rng, 4, 33), rand(rng, 4, 33)
    g64 = g.astype(np.float64)
    silu = g64 / (1 + np.exp(-g64))
    np.testing.assert_allclose(axial.glu(g, u), silu * u, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(axial.activation(g, "silu"), silu, rtol=1e-5, atol=1e-6)
    gelu = 0.5 * g64 * (1 + np.tanh(math.sqrt(2 / math.pi) * (g64 + 0.044715 * g64 ** 3)))
    np.testing.assert_allclose(axial.activation(g, "gelu_tanh"), gelu, rtol=1e-5, atol=1e-6)
    e = np.exp(2.0 * g64 - (2.0 * g64).max(-1, keepdims=True))
    np.testing.assert_allclose(axial.softmax(g, 2.0), e / e.sum(-1, keepdims=True), rtol=1e-5, atol=1e-7)


def test_embedding_q8_0_rows_match_gguf():
    gguf = pytest.importorskip("gguf")
    from gguf.quants import dequantize, quantize

    rng = np.random.default_rng(11)
    V, D = 10, 64
    table = rng.standard_normal((V, D)).astype(np.float32)
    raw = quantize(table, gguf.GGMLQuantizationType.Q8_0)  # (V, D / 32 * 34) uint8
    ids = np.array([3, 0, 9, 3], np.int64)
    out = axial.embedding(ids, raw, table_dtype="q8_0")
    want = dequantize(raw, gguf.GGMLQuantizationType.Q8_0)[ids]
    np.testing.assert_array_equal(out, want)
    with pytest.raises(axial.InvalidArgumentError, match="ids"):
        axial.embedding(np.array([10], np.int64), raw, table_dtype="q8_0")


def test_sample_greedy_and_reproducible():
    rng = np.random.default_rng(12)
    logits = rand(rng, 4, 1000)
    tokens = axial.sample(logits, temperature=0.0)
    np.testing.assert_array_equal(tokens, logits.argmax(-1))
    a = axial.sample(logits, temperature=0.8, top_p=0.9, seed=[1, 2, 3, 4], counter=7)
    b = axial.sample(logits[::-1].copy(), temperature=0.8, top_p=0.9, seed=[4, 3, 2, 1], counter=7)
    np.testing.assert_array_equal(a, b[::-1])  # a row's draw does not depend on the batch
    tokens, probs = axial.sample(logits, top_k=1, return_probs=True)
    np.testing.assert_array_equal(tokens, logits.argmax(-1))
    np.testing.assert_array_equal(probs, np.ones(4, np.float32))


def test_sample_integer_settings_are_checked():
    # numpy's cast into the settings row had wrapped seed=-1 to 2**64 - 1, top_k=2**32 to 0 (off)
    # and truncated top_k=3.7 to 3; they are refused, as the LLM binding refuses them.
    logits = rand(np.random.default_rng(3), 2, 50)
    for kwargs in (dict(seed=-1), dict(top_k=2**32), dict(top_k=3.7), dict(counter=[1, -2])):
        name = next(iter(kwargs))
        with pytest.raises(axial.InvalidArgumentError, match=name):
            axial.sample(logits, temperature=0.8, **kwargs)
    np.testing.assert_array_equal(axial.sample(logits, top_k=1, seed=2**64 - 1), logits.argmax(-1))


def test_sample_frequencies_follow_float64_probabilities():
    """Top-k 3 at temperature 1: over 2000 counters, each kept id is drawn about as often as its float64
    softmax probability among the kept ids (a fixed seed, so the check is deterministic; 0.05 is more
    than 4 standard deviations of a frequency here), and no other id ever appears."""
    logits = np.array([[0.0, 2.0, 1.0, -1.0, 1.5]], np.float32)
    kept = [1, 2, 4]
    p = np.exp(logits[0, kept].astype(np.float64))
    p /= p.sum()
    draws = [int(axial.sample(logits, top_k=3, seed=99, counter=c)[0]) for c in range(2000)]
    assert set(draws) <= set(kept)
    freq = np.array([draws.count(t) for t in kept]) / 2000.0
    np.testing.assert_allclose(freq, p, atol=0.05)


@pytest.mark.parametrize("qtype", ["q4_1", "q8_0", "q4_k"])
def test_qmatmul_matches_gguf_dequantize(qtype):
    gguf = pytest.importorskip("gguf")
    from gguf.quants import dequantize, quantize

    Q = getattr(gguf.GGMLQuantizationType, qtype.upper())
    rng = np.random.default_rng(13)
    N, K = 7, 512
    wf = rng.standard_normal((N, K)).astype(np.float32)
    if qtype == "q4_k":  # gguf cannot quantize K-quants: random bytes with finite fp16 scales
        raw = random_q4_k_blocks(rng, N, K)
    else:
        raw = quantize(wf, Q)
    w64 = dequantize(raw, Q).astype(np.float64)
    for M in (1, 33):
        x = rng.standard_normal((M, K)).astype(np.float32)
        bias = rng.standard_normal(N).astype(np.float32)
        y = axial.qmatmul(x, raw, bias, w_dtype=qtype)
        want = x.astype(np.float64) @ w64.T + bias
        # Activations may be quantized to 8 bits per 32-block (docs/linalg.md): a relative error of about
        # 2^-8 of sum |x w| per output
        bound = np.abs(x).astype(np.float64) @ np.abs(w64).T * 2e-2 + 1e-4
        assert np.all(np.abs(y - want) <= bound), np.max(np.abs(y - want) / bound)


@pytest.mark.parametrize("qtype", ["q4_0", "q4_1", "q8_0"])
def test_qweight_matches_qmatmul_and_gguf(qtype):
    """A packed weight (ax_qmatmul_packed) gives the GGUF matrix's product bit for bit (one row of x:
    the decode that reads the tiles on a VNNI CPU; 33 rows: the panel), within the bound of a float64
    product with gguf's dequantized weights."""
    gguf = pytest.importorskip("gguf")
    from gguf.quants import dequantize, quantize

    Q = getattr(gguf.GGMLQuantizationType, qtype.upper())
    rng = np.random.default_rng(17)
    N, K = 48, 576
    raw = quantize(rng.standard_normal((N, K)).astype(np.float32), Q)
    w64 = dequantize(raw, Q).astype(np.float64)
    packed = axial.QWeight(raw, qtype)
    assert packed.shape == (N, K) and packed.dtype == qtype
    for M in (1, 33):
        x = rng.standard_normal((M, K)).astype(np.float32)
        bias = rng.standard_normal(N).astype(np.float32)
        y = axial.qmatmul(x, packed, bias)
        assert np.array_equal(y.view(np.uint32), axial.qmatmul(x, raw, bias, w_dtype=qtype).view(np.uint32))
        want = x.astype(np.float64) @ w64.T + bias
        bound = np.abs(x).astype(np.float64) @ np.abs(w64).T * 2e-2 + 1e-4
        assert np.all(np.abs(y - want) <= bound)


def test_qweight_errors():
    gguf = pytest.importorskip("gguf")
    from gguf.quants import quantize

    raw = quantize(np.ones((24, 64), np.float32), gguf.GGMLQuantizationType.Q4_0)
    with pytest.raises(axial.InvalidArgumentError, match="multiple of 16"):
        axial.QWeight(raw, "q4_0")
    with pytest.raises(axial.InvalidArgumentError, match="q4_0"):
        axial.QWeight(raw, "q4_k")
    packed = axial.QWeight(np.concatenate([raw, raw[:8]]), "q4_0")
    with pytest.raises(axial.InvalidArgumentError, match="K"):
        axial.qmatmul(np.ones((1, 32), np.float32), packed)


def random_q4_k_blocks(rng, rows, K):
    """(rows, K / 256 * 144) uint8 Q4_K blocks: random quants and 6-bit scales, small finite fp16 d and
    dmin (bytes 0..3 of each block), as valid as any block a GGUF file holds."""
    n = rows * (K // 256)
    out = rng.integers(0, 256, size=(n, 144), dtype=np.uint8)
    out[:, 0:4] = np.frombuffer(np.array([0.01, 0.005] * n, np.float16).tobytes(), np.uint8).reshape(n, 4)
    return out.reshape(rows, K // 256 * 144)


try:
    import torch
except ImportError:  # .venv has no PyTorch; .venv-torch runs these
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="the flash_attn drop-ins need PyTorch (.venv-torch has it)")


def torch_reference(q, k, v, causal, window, scale):
    """Naive float64 attention written with torch ops, differentiated by PyTorch's autograd."""
    B, Sq, H, D = q.shape
    Sk, Hkv = k.shape[1], k.shape[2]
    kk = k.repeat_interleave(H // Hkv, dim=2)
    vv = v.repeat_interleave(H // Hkv, dim=2)
    s = torch.einsum("bihd,bjhd->bhij", q, kk) * scale
    pos = torch.arange(Sq)[:, None] + Sk - Sq
    j = torch.arange(Sk)[None, :]
    keep = torch.ones(Sq, Sk, dtype=torch.bool)
    left, right = window
    if causal:
        right = 0
    if left >= 0:
        keep &= j >= pos - left
    if right >= 0:
        keep &= j <= pos + right
    s = s.masked_fill(~keep, float("-inf"))
    out = torch.einsum("bhij,bjhd->bihd", torch.softmax(s, dim=-1), vv)
    return out


def assert_grads_match(out, want, inputs, g):
    """The gradients of sum(out * w) for a random w reaching `inputs` through out (Axial) and through
    want (float64 autograd) agree, shapes included."""
    w = torch.randn(want.shape, generator=g, dtype=torch.float64)
    (out.double() * w).sum().backward()
    got = [t.grad.clone() for t in inputs]
    for t in inputs:
        t.grad = None
    (want * w).sum().backward()
    for a, t in zip(got, inputs):
        assert a.shape == t.grad.shape
        torch.testing.assert_close(a, t.grad, rtol=1e-3, atol=1e-4)


@needs_torch
# (True, (3, 3)): causal with a right window, as HF's sliding-window models call flash_attn (causal
# sets the right side to 0); the drop-in had raised "window_right conflicts with causal".
@pytest.mark.parametrize("causal,window", [(False, (-1, -1)), (True, (-1, -1)), (False, (2, 1)), (True, (3, 3))])
def test_flash_attn_func_forward_and_grads(causal, window):
    from axial.torch import flash_attn_func

    g = torch.Generator().manual_seed(6)
    q = torch.randn(2, 5, 4, 16, generator=g, dtype=torch.float64, requires_grad=True)
    k = torch.randn(2, 7, 2, 16, generator=g, dtype=torch.float64, requires_grad=True)
    v = torch.randn(2, 7, 2, 16, generator=g, dtype=torch.float64, requires_grad=True)
    out = flash_attn_func(q.float(), k.float(), v.float(), causal=causal, window_size=window)
    want = torch_reference(q, k, v, causal, window, 0.25)
    torch.testing.assert_close(out.double(), want, rtol=1e-4, atol=1e-5)
    assert_grads_match(out, want, (q, k, v), g)


@needs_torch
@pytest.mark.parametrize("varlen", [False, True])
def test_flash_attn_head_dim_padded_as_on_cuda(monkeypatch, varlen):
    """A head dim that is not a multiple of 8 (20) through the padding the drop-ins do on CUDA (taken
    on the CPU here): out, lse and the gradients of q, k, v against float64 autograd at the real
    scale 1/sqrt(20) (padding must not change it), the gradients back at 20 columns."""
    import axial.torch as at

    monkeypatch.setattr(at, "_PAD_HEADS_ON_CPU", True)
    g = torch.Generator().manual_seed(15)
    q = torch.randn(1, 5, 2, 20, generator=g, dtype=torch.float64, requires_grad=True)
    k = torch.randn(1, 6, 2, 20, generator=g, dtype=torch.float64, requires_grad=True)
    v = torch.randn(1, 6, 2, 20, generator=g, dtype=torch.float64, requires_grad=True)
    if varlen:
        cq, ck = torch.tensor([0, 5], dtype=torch.int32), torch.tensor([0, 6], dtype=torch.int32)
        out, lse, _ = at.flash_attn_varlen_func(q[0].float(), k[0].float(), v[0].float(), cq, ck, 5, 6, causal=True,
                                                return_attn_probs=True)
        out = out[None]
    else:
        out, lse, _ = at.flash_attn_func(q.float(), k.float(), v.float(), causal=True, return_attn_probs=True)
    assert out.shape == q.shape
    want = torch_reference(q, k, v, True, (-1, -1), 1.0 / math.sqrt(20))
    torch.testing.assert_close(out.double(), want, rtol=1e-4, atol=1e-5)
    s = torch.einsum("bihd,bjhd->bhij", q, k).detach() / math.sqrt(20)
    s = s.masked_fill(torch.ones(5, 6, dtype=torch.bool).triu(2), float("-inf"))
    want_lse = torch.logsumexp(s, dim=-1)
    torch.testing.assert_close(lse.double().reshape(want_lse.shape), want_lse, rtol=1e-5, atol=1e-5)
    assert_grads_match(out, want, (q, k, v), g)


@needs_torch
def test_flash_attn_func_strided_head_dim():
    # flash_attn makes a last dim with stride != 1 contiguous; the drop-in had refused it.
    from axial.torch import flash_attn_func

    g = torch.Generator().manual_seed(9)
    q, k, v = (torch.randn(1, 6, 2, 32, generator=g, dtype=torch.float64) for _ in range(3))
    out = flash_attn_func(q[..., ::2].float(), k[..., ::2].float(), v[..., ::2].float(), causal=True)
    want = torch_reference(q[..., ::2], k[..., ::2], v[..., ::2], True, (-1, -1), 0.25)
    torch.testing.assert_close(out.double(), want, rtol=1e-4, atol=1e-5)


@needs_torch
def test_flash_attn_varlen_func_lse_shape_and_values():
    from axial.torch import flash_attn_varlen_func

    g = torch.Generator().manual_seed(7)
    q = torch.randn(9, 4, 8, generator=g)
    k = torch.randn(11, 4, 8, generator=g)
    v = torch.randn(11, 4, 8, generator=g)
    cq = torch.tensor([0, 4, 9], dtype=torch.int32)
    ck = torch.tensor([0, 5, 11], dtype=torch.int32)
    out, lse, probs = flash_attn_varlen_func(q, k, v, cq, ck, 5, 6, causal=True, return_attn_probs=True)
    assert probs is None and lse.shape == (4, 9)
    for b in range(2):
        sq, sk = slice(int(cq[b]), int(cq[b + 1])), slice(int(ck[b]), int(ck[b + 1]))
        want = torch_reference(q[sq][None].double(), k[sk][None].double(), v[sk][None].double(), True, (-1, -1),
                               1 / math.sqrt(8))
        torch.testing.assert_close(out[sq].double(), want[0], rtol=1e-4, atol=1e-5)


@needs_torch
def test_flash_attn_varlen_backward_zeroes_rows_past_the_batch():
    """Query rows past cu_seqlens_q[-1] take no part: their gradient is 0 (the backward had handed back
    uninitialised memory there, NaN in fp16)."""
    from axial.torch import flash_attn_varlen_func

    g = torch.Generator().manual_seed(8)
    q = torch.randn(14, 2, 8, generator=g, requires_grad=True)
    k = torch.randn(10, 2, 8, generator=g, requires_grad=True)
    v = torch.randn(10, 2, 8, generator=g, requires_grad=True)
    cq = torch.tensor([0, 3, 3, 8, 10], dtype=torch.int32)
    ck = torch.tensor([0, 2, 4, 8, 10], dtype=torch.int32)
    out = flash_attn_varlen_func(q, k, v, cq, ck, 5, 4, causal=True)
    # and the forward's rows there are 0, as a row seeing no key (uninitialised: a NaN out.sum())
    assert torch.equal(out[10:].detach(), torch.zeros(4, 2, 8))
    out.backward(torch.randn(out.shape, generator=g))
    assert torch.equal(q.grad[10:], torch.zeros(4, 2, 8))
    assert torch.isfinite(q.grad).all()


@needs_torch
def test_flash_function_bias_with_a_strided_last_dim():
    """A bias permuted so its last dim is not contiguous (T5/ALiBi-style) is made contiguous like q, k
    and v (it had been refused); out and the bias gradient against float64 autograd."""
    from axial.torch import FlashAttentionFunction

    g = torch.Generator().manual_seed(10)
    q = torch.randn(1, 5, 2, 8, generator=g, dtype=torch.float64, requires_grad=True)
    k = torch.randn(1, 6, 2, 8, generator=g, dtype=torch.float64, requires_grad=True)
    v = torch.randn(1, 6, 2, 8, generator=g, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(1, 2, 6, 5, generator=g, dtype=torch.float64).permute(0, 1, 3, 2).requires_grad_()
    assert bias.stride(-1) != 1
    out, _ = FlashAttentionFunction.apply(q, k, v, bias, None, None, 0, 0, None, False, -1, -1, 0.0)
    s = torch.einsum("bihd,bjhd->bhij", q, k) / math.sqrt(8) + bias
    want = torch.einsum("bhij,bjhd->bihd", torch.softmax(s, dim=-1), v)
    torch.testing.assert_close(out, want, rtol=1e-5, atol=1e-6)
    w = torch.randn(want.shape, generator=g, dtype=torch.float64)
    (out * w).sum().backward()
    got = bias.grad.clone()
    bias.grad = None
    (want * w).sum().backward()
    torch.testing.assert_close(got, bias.grad, rtol=1e-4, atol=1e-6)


@needs_torch
def test_flash_function_refuses_mixed_dtypes_and_second_order():
    """float64 k with float32 q had been computed silently in float32 (another mix is refused by the
    library); differentiating the gradient had dropped the second-order terms without an error."""
    from axial.torch import flash_attn_func

    q = torch.randn(1, 4, 2, 8, requires_grad=True)
    with pytest.raises(axial.InvalidArgumentError, match="k: dtype torch.float64"):
        flash_attn_func(q, q.detach().double(), q.detach())
    out = flash_attn_func(q, q, q, causal=True)
    (dq,) = torch.autograd.grad(out.sum(), q, create_graph=True)
    with pytest.raises(RuntimeError, match="first-order only"):
        (dq * dq).sum().backward()


@needs_torch
def test_flash_attn_backward_of_an_empty_batch():
    """sum().backward() hands an expanded (stride-0) gradient; for an empty output the library had
    refused it ("dout: the last dim has stride 0"). dk and dv of the keys are zeros."""
    from axial.torch import flash_attn_func

    q = torch.zeros(1, 0, 2, 8, requires_grad=True)
    k = torch.randn(1, 3, 2, 8, requires_grad=True)
    v = torch.randn(1, 3, 2, 8, requires_grad=True)
    flash_attn_func(q, k, v, causal=True).sum().backward()
    assert torch.equal(k.grad, torch.zeros_like(k)) and torch.equal(v.grad, torch.zeros_like(v))


@needs_torch
def test_flash_attn_func_rejects_dropout():
    from axial.torch import flash_attn_func

    q = torch.zeros(1, 2, 1, 8)
    with pytest.raises(axial.UnsupportedError, match="dropout"):
        flash_attn_func(q, q, q, dropout_p=0.1)
