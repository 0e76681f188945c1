"""axial.moe_route / moe_route_backward / moe_dispatch / moe_combine / moe_combine_backward /
moe_grouped_gemm / moe_grouped_gemm_dw / moe_ffn / moe_ffn_backward, judged by float64 NumPy references
written here from the definitions in include/axial/moe.h (top-k with ties to the lowest id, renormalisation
over the kept choices, capacity in priority order, the aux and z losses, the dispatch order, the SwiGLU
experts and the PR-MoE dense MLP), independently of the library.

Random inputs use seeds whose routing has no near-ties: every test asserts a margin between the
probabilities that decide the selection and its order, so float32 rounding in the library cannot pick
other experts than the float64 reference."""
import math

import numpy as np
import pytest

import axial
from conftest import f64

MARGIN = 1e-4  # least gap between the deciding probabilities; the library's fp32 p is within ~1e-7 of float64


def rand(rng, *shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def silu(v):
    return v / (1.0 + np.exp(-v))


def gating_probs(logits, gating):
    l = f64(logits)
    if gating == "sigmoid":
        return 1.0 / (1.0 + np.exp(-l))
    e = np.exp(l - l.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def top_k(p, k):
    """(T, k) ids of the k largest p per row, in decreasing p, ties to the lowest id."""
    return np.array([np.lexsort((np.arange(p.shape[1]), -row))[:k] for row in p], np.int64).reshape(len(p), k)


def assert_no_near_ties(p, k):
    """The k + 1 largest p of every token (those that decide the choice and its order) differ by MARGIN."""
    top = -np.sort(-p, axis=1)[:, :min(k + 1, p.shape[1])]
    if top.shape[1] > 1:
        assert np.diff(-top, axis=1).min() > MARGIN, "pick another seed: the routing has a near-tie"


def capacity_of(T, E, capacity_factor, min_capacity):
    # float32 capacity_factor, as the C config holds it, widened exactly (moe.h: computed in double)
    return max(min_capacity, math.ceil(T * float(np.float32(capacity_factor)) / E))


def ref_select(logits, k, gating="softmax", capacity_factor=0.0, min_capacity=0):
    """(p, ids before dropping, ids with -1 for dropped choices) in float64."""
    p = gating_probs(logits, gating)
    T, E = p.shape
    chosen = top_k(p, k)
    ids = chosen.copy()
    if capacity_factor > 0:
        cap = capacity_of(T, E, capacity_factor, min_capacity)
        used = np.zeros(E, np.int64)
        for j in range(k):  # priority order: every token's choice 0, then every choice 1, ...
            for t in range(T):
                e = chosen[t, j]
                if used[e] < cap:
                    used[e] += 1
                else:
                    ids[t, j] = -1
    return p, chosen, ids


def ref_weights(p, ids, normalize):
    kept = ids >= 0
    w = np.where(kept, np.take_along_axis(p, np.maximum(ids, 0), axis=1), 0.0)
    if normalize:
        s = w.sum(axis=1, keepdims=True)
        w = np.where(s > 0, w / np.where(s > 0, s, 1.0), 0.0)
    return w


def ref_losses(logits, p, chosen):
    """[aux, z]: aux = E * sum_e f_e * P_e (f_e over the choices before dropping), z = mean logsumexp^2."""
    l = f64(logits)
    T, E = l.shape
    k = chosen.shape[1]
    if T == 0:
        return np.zeros(2)
    f = np.bincount(chosen.ravel(), minlength=E) / (T * k)
    aux = E * float((f * p.mean(axis=0)).sum())
    m = l.max(axis=1)
    lse = m + np.log(np.exp(l - m[:, None]).sum(axis=1))
    return np.array([aux, float((lse ** 2).mean())])


def ref_route_objective(logits, chosen, ids, k, gating, normalize, dweights, aux_coef, z_coef):
    """L = sum(dweights * weights) + aux_coef * aux + z_coef * z with the selection (chosen, ids) held fixed."""
    p = gating_probs(logits, gating)
    w = ref_weights(p, ids, normalize)
    aux, z = ref_losses(logits, p, chosen)
    return float((f64(dweights) * w).sum()) + aux_coef * aux + z_coef * z


def central_diff(fn, x, h=1e-6):
    """Central differences of fn at float64 x, element by element (truncation ~h^2, rounding ~1e-16/h)."""
    x = f64(x).copy()
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        keep = x[i]
        x[i] = keep + h
        plus = fn(x)
        x[i] = keep - h
        minus = fn(x)
        x[i] = keep
        g[i] = (plus - minus) / (2 * h)
    return g


def ref_dispatch(x, ids, E, align):
    """(x_sorted rows up to offsets[E], offsets, counts, rows): segments in expert order, (t, j) order inside."""
    T, k = ids.shape
    offsets, counts = [0], []
    rows = -np.ones((T, k), np.int64)
    out = []
    for e in range(E):
        members = [(t, j) for t in range(T) for j in range(k) if ids[t, j] == e]
        for t, j in members:
            rows[t, j] = len(out)
            out.append(x[t])
        counts.append(len(members))
        pad = -len(members) % align
        out.extend([np.zeros(x.shape[1], x.dtype)] * pad)
        offsets.append(len(out))
    sorted_rows = np.array(out, x.dtype).reshape(len(out), x.shape[1])
    return sorted_rows, np.array(offsets, np.int64), np.array(counts, np.int64), rows


# ---- routing --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("T,gating,k,normalize,capacity_factor,min_capacity", [
    (13, "softmax", 2, True, 0.0, 0), (13, "softmax", 1, False, 0.0, 0), (13, "softmax", 3, True, 1.25, 0),
    (13, "sigmoid", 2, False, 1.0, 0), (13, "sigmoid", 2, True, 0.5, 5), (13, "softmax", 6, False, 0.0, 0),
    (12, "softmax", 2, True, 1.5, 0),  # T * factor / E = 3 exactly: the capacity is 3, not 4
])
def test_route_matches_float64(T, gating, k, normalize, capacity_factor, min_capacity):
    rng = np.random.default_rng(101)
    E = 6
    logits = rand(rng, T, E, scale=2.0)
    p, chosen, ids = ref_select(logits, k, gating, capacity_factor, min_capacity)
    assert_no_near_ties(p, k)
    if capacity_factor > 0:
        cap = capacity_of(T, E, capacity_factor, min_capacity)
        assert (ids < 0).any() and np.bincount(ids[ids >= 0], minlength=E).max() == cap, "no expert is full here"
    got_ids, got_w, got_p, got_losses = axial.moe_route(
        logits, k, gating=gating, renormalize=normalize, capacity_factor=capacity_factor,
        min_capacity=min_capacity, return_probs=True, return_losses=True)
    assert got_ids.dtype == np.int32 and got_ids.shape == (T, k)
    assert got_w.dtype == np.float32 and got_p.shape == (T, E) and got_losses.shape == (2,)
    np.testing.assert_array_equal(got_ids, ids)
    # p, weights and losses are fp32 results of a few exp/divides and sums over E <= 6 terms (losses summed
    # in double over the fp32 p): within a few float32 ulps of float64, so rtol 1e-5
    np.testing.assert_allclose(got_p, p, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(got_w, ref_weights(p, ids, normalize), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(got_losses, ref_losses(logits, p, chosen), rtol=1e-5)
    if normalize:
        kept_any = (ids >= 0).any(axis=1)
        np.testing.assert_allclose(got_w.sum(axis=1)[kept_any], 1.0, rtol=1e-6)


def test_route_ties_go_to_the_lowest_id_and_defaults():
    logits = np.array([[0, 0, 0, 0, 0], [1, 2, 2, 0, 2], [3, 1, 3, 3, 1]], np.float32)
    ids, w = axial.moe_route(logits, 2)  # equal logits give bitwise equal p: exact ties
    np.testing.assert_array_equal(ids, [[0, 1], [1, 2], [0, 2]])
    np.testing.assert_allclose(w, 0.5, rtol=1e-6)  # renormalised by default: two equal p
    assert axial.moe_route(logits, 3, return_losses=True)[2].shape == (2,)
    empty_ids, empty_w, losses = axial.moe_route(np.zeros((0, 4), np.float32), 2, return_losses=True)
    assert empty_ids.shape == (0, 2) and empty_w.shape == (0, 2)
    np.testing.assert_array_equal(losses, [0, 0])  # moe.h: 0 when T = 0


@pytest.mark.parametrize("gating,normalize,capacity_factor", [
    ("softmax", True, 0.0), ("softmax", False, 1.0), ("sigmoid", True, 0.75), ("sigmoid", False, 0.0),
])
def test_route_backward_matches_finite_differences(gating, normalize, capacity_factor):
    rng = np.random.default_rng(7)
    T, E, k = 9, 5, 2
    logits = rand(rng, T, E, scale=1.5)
    dweights = rand(rng, T, k)
    p, chosen, ids = ref_select(logits, k, gating, capacity_factor)
    assert_no_near_ties(p, k)
    opts = dict(gating=gating, renormalize=normalize, capacity_factor=capacity_factor)
    got = axial.moe_route_backward(logits, k, dweights, aux_coef=0.3, z_coef=0.05, **opts)
    assert got.dtype == np.float32 and got.shape == (T, E)
    num = central_diff(lambda l: ref_route_objective(l, chosen, ids, k, gating, normalize, dweights, 0.3, 0.05),
                       logits)
    # float32 gradient of O(1) terms vs float64 differences (error ~1e-9): a few fp32 ulps per term
    np.testing.assert_allclose(got, num, rtol=1e-4, atol=1e-5)
    # without dweights only the losses contribute
    got_losses_only = axial.moe_route_backward(logits, k, None, aux_coef=1.0, z_coef=0.0, **opts)
    num = central_diff(lambda l: ref_route_objective(l, chosen, ids, k, gating, normalize, np.zeros((T, k)), 1.0,
                                                     0.0), logits)
    np.testing.assert_allclose(got_losses_only, num, rtol=1e-4, atol=1e-5)


# ---- dispatch and combine -------------------------------------------------------------------------------


@pytest.mark.parametrize("align", [1, 4])
def test_dispatch_matches_reference_order(align):
    rng = np.random.default_rng(11)
    T, D, E, k = 10, 7, 5, 2
    x = rand(rng, T, D)
    ids = rng.integers(-1, E, size=(T, k)).astype(np.int32)
    ids[:, 1] = np.where(ids[:, 1] == ids[:, 0], -1, ids[:, 1])  # a token picks an expert at most once
    ids[ids == 3] = -1  # expert 3 gets nothing: an empty segment
    x_sorted, offsets, counts, rows = axial.moe_dispatch(x, ids, E, align=align)
    want_x, want_off, want_counts, want_rows = ref_dispatch(x, ids, E, align)
    assert x_sorted.shape == (T * k + E * (align - 1), D) and x_sorted.dtype == x.dtype
    assert offsets.dtype == counts.dtype == rows.dtype == np.int64
    np.testing.assert_array_equal(offsets, want_off)
    np.testing.assert_array_equal(counts, want_counts)
    np.testing.assert_array_equal(rows, want_rows)
    np.testing.assert_array_equal(x_sorted[:offsets[-1]], want_x)  # copies and zero padding: exact
    assert not x_sorted[offsets[-1]:].any()  # rows past offsets[E] stay as allocated (zeros)


def test_combine_and_its_backward_match_float64():
    rng = np.random.default_rng(12)
    T, D, E, k = 8, 6, 4, 2
    x = rand(rng, T, D)
    ids, weights = axial.moe_route(rand(rng, T, E), k, capacity_factor=0.75)
    assert (ids < 0).any()
    x_sorted, offsets, counts, rows = axial.moe_dispatch(x, ids, E, align=2)
    y_sorted = rand(rng, x_sorted.shape[0], D)
    y = axial.moe_combine(y_sorted, rows, weights)
    kept = rows >= 0
    gathered = f64(y_sorted)[np.maximum(rows, 0)] * kept[..., None]  # (T, k, D)
    want = (f64(weights)[..., None] * gathered).sum(axis=1)
    # k = 2 fp32 products summed in fp32: within 2 ulps of the float64 value's scale
    np.testing.assert_allclose(y, want, rtol=1e-6, atol=1e-6)
    # without weights: the dispatch's backward, the sum of the copies' gradients
    np.testing.assert_allclose(axial.moe_combine(x_sorted, rows), f64(x) * kept.sum(axis=1)[:, None], rtol=1e-6)

    dy = rand(rng, T, D)
    dy_sorted, dweights = axial.moe_combine_backward(dy, y_sorted, rows, weights)
    want_sorted = np.zeros((y_sorted.shape[0], D))
    for t, j in zip(*np.nonzero(kept)):
        want_sorted[rows[t, j]] = f64(weights[t, j]) * f64(dy[t])
    np.testing.assert_allclose(dy_sorted, want_sorted, rtol=1e-6, atol=0)  # one rounded product, 0 elsewhere
    want_dw = np.where(kept, np.einsum("td,tjd->tj", f64(dy), gathered), 0.0)
    np.testing.assert_allclose(dweights, want_dw, rtol=1e-5, atol=1e-6)  # dot of D = 6 in fp32
    dy_sorted1, none = axial.moe_combine_backward(dy, None, rows, None, num_rows=y_sorted.shape[0])
    assert none is None  # without y_sorted no dweights; weight 1: the rows are dy's copies, exactly
    want_sorted1 = np.zeros_like(want_sorted)
    for t, j in zip(*np.nonzero(kept)):
        want_sorted1[rows[t, j]] = dy[t]
    np.testing.assert_array_equal(dy_sorted1, want_sorted1)


# ---- grouped GEMM ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("trans_w", [True, False])
def test_grouped_gemm_per_segment(trans_w):
    rng = np.random.default_rng(21)
    R, K, N, E = 12, 19, 11, 3
    offsets = np.array([1, 5, 5, 10], np.int64)  # expert 1 empty; rows 0, 10, 11 outside every segment
    x = rand(rng, R, K)
    w = rand(rng, E, N, K) if trans_w else rand(rng, E, K, N)
    y = axial.moe_grouped_gemm(x, w, offsets, trans_w=trans_w)
    assert y.shape == (R, N) and y.dtype == np.float32
    for e in range(E):
        s = slice(offsets[e], offsets[e + 1])
        we = f64(w[e]).T if trans_w else f64(w[e])
        # fp32 sums of K = 19 products: error below K * 2^-24 * sum|x w| (~1e-5 here)
        np.testing.assert_allclose(y[s], f64(x[s]) @ we, rtol=1e-5, atol=2e-5)
    assert not y[[0, 10, 11]].any()  # never written: still the zeros allocated

    dy = rand(rng, R, N)
    dw = axial.moe_grouped_gemm_dw(dy, x, offsets)
    assert dw.shape == (E, N, K) and dw.dtype == np.float32
    for e in range(E):
        s = slice(offsets[e], offsets[e + 1])
        np.testing.assert_allclose(dw[e], f64(dy[s]).T @ f64(x[s]), rtol=1e-5, atol=2e-5)
    acc = axial.moe_grouped_gemm_dw(dy, x, offsets, beta=2.0, out=dw.copy())
    np.testing.assert_allclose(acc, 3.0 * f64(dw), rtol=1e-5, atol=2e-5)


@pytest.mark.parametrize("qtype", ["q8_0", "q4_0"])
def test_grouped_gemm_quantized_rows_are_qmatmul(qtype):
    gguf = pytest.importorskip("gguf")
    from gguf.quants import dequantize, quantize

    Q = getattr(gguf.GGMLQuantizationType, qtype.upper())
    rng = np.random.default_rng(22)
    R, K, N, E = 9, 64, 16, 3
    raw = np.stack([quantize(rand(rng, N, K), Q) for _ in range(E)])  # (E, N, row_bytes) uint8
    offsets = np.array([0, 4, 4, 9], np.int64)
    x = rand(rng, R, K)
    y = axial.moe_grouped_gemm(x, raw, offsets, w_dtype=qtype)
    assert y.shape == (R, N) and y.dtype == np.float32
    for e in (0, 2):
        s = slice(offsets[e], offsets[e + 1])
        # moe.h: on the CPU every row is bit for bit ax_qmatmul's result for that row with w[e]
        for r in range(s.start, s.stop):
            want = axial.qmatmul(x[r:r + 1], raw[e], w_dtype=qtype)[0]
            assert np.array_equal(y[r].view(np.uint32), want.view(np.uint32)), (e, r)
        w64 = dequantize(raw[e], Q).astype(np.float64)
        # x is quantized to 8 bits per block on the CPU: about 2^-8 of sum |x w| per output (as test_qmatmul)
        bound = np.abs(f64(x[s])) @ np.abs(w64).T * 2e-2 + 1e-4
        assert np.all(np.abs(y[s] - f64(x[s]) @ w64.T) <= bound)


# ---- the MoE feed-forward layer -------------------------------------------------------------------------


def make_layer(rng, D, F, E, Fd=0, scale=0.5):
    layer = dict(router=rand(rng, E, D, scale=scale), gate=rand(rng, E, F, D, scale=scale),
                 up=rand(rng, E, F, D, scale=scale), down=rand(rng, E, D, F, scale=scale))
    if Fd:
        layer.update(dense_gate=rand(rng, Fd, D, scale=scale), dense_up=rand(rng, Fd, D, scale=scale),
                     dense_down=rand(rng, D, Fd, scale=scale))
    return layer


def ref_ffn(x, layer, k, gating, normalize, capacity_factor, selection=None):
    """float64 layer forward: (y, losses, selection); `selection` (chosen, ids) fixes the routing."""
    x = f64(x)
    logits = x @ f64(layer["router"]).T
    p = gating_probs(logits, gating)
    if selection is None:
        _, chosen, ids = ref_select(logits, k, gating, capacity_factor)
        selection = (chosen, ids)
    chosen, ids = selection
    w = ref_weights(p, ids, normalize)
    y = np.zeros_like(x)
    for t in range(len(x)):
        for j in range(k):
            e = ids[t, j]
            if e >= 0:
                h = silu(f64(layer["gate"][e]) @ x[t]) * (f64(layer["up"][e]) @ x[t])
                y[t] += w[t, j] * (f64(layer["down"][e]) @ h)
    if "dense_gate" in layer:
        h = silu(x @ f64(layer["dense_gate"]).T) * (x @ f64(layer["dense_up"]).T)
        y += h @ f64(layer["dense_down"]).T
    return y, ref_losses(logits, p, chosen), selection


@pytest.mark.parametrize("gating,k,normalize,capacity_factor,Fd", [
    ("softmax", 2, True, 0.0, 0), ("softmax", 2, True, 1.0, 5), ("sigmoid", 1, False, 0.0, 5),
    ("softmax", 4, False, 0.0, 0),
])
def test_ffn_forward_matches_float64(gating, k, normalize, capacity_factor, Fd):
    rng = np.random.default_rng(31)
    T, D, F, E = 11, 12, 9, 4
    x = rand(rng, T, D)
    layer = make_layer(rng, D, F, E, Fd)
    want, want_losses, (_, ids) = ref_ffn(x, layer, k, gating, normalize, capacity_factor)
    assert_no_near_ties(gating_probs(f64(x) @ f64(layer["router"]).T, gating), k)
    if capacity_factor > 0:
        assert (ids < 0).any()
    y, losses = axial.moe_ffn(x, **layer, k=k, gating=gating, renormalize=normalize, capacity_factor=capacity_factor,
                              return_losses=True)
    assert y.shape == (T, D) and y.dtype == np.float32
    # chains of fp32 GEMMs with D, F <= 12 terms and a SiLU: relative error ~1e-6 of each output's scale
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-5 * np.abs(want).max())
    np.testing.assert_allclose(losses, want_losses, rtol=1e-5)
    assert np.array_equal(axial.moe_ffn(x, **layer, k=k, gating=gating, renormalize=normalize,
                                        capacity_factor=capacity_factor), y)


def test_ffn_forward_quantized_experts():
    gguf = pytest.importorskip("gguf")
    from gguf.quants import dequantize, quantize

    rng = np.random.default_rng(32)
    T, D, F, E, Fd, k = 7, 64, 32, 3, 32, 2
    x = rand(rng, T, D)
    layer = make_layer(rng, D, F, E, Fd, scale=0.2)
    types = {"gate": "q8_0", "up": "q8_0", "down": "q4_0", "dense_down": "q8_0"}
    quantized, dequantized = dict(layer), dict(layer)
    for name, qtype in types.items():
        Q = getattr(gguf.GGMLQuantizationType, qtype.upper())
        w = layer[name]
        raw = np.stack([quantize(m, Q) for m in w]) if w.ndim == 3 else quantize(w, Q)
        quantized[name] = raw
        deq = np.stack([dequantize(m, Q) for m in raw]) if raw.ndim == 3 else dequantize(raw, Q)
        dequantized[name] = deq.reshape(w.shape).astype(np.float32)
    want, _, _ = ref_ffn(x, dequantized, k, "softmax", True, 0.0)
    assert_no_near_ties(gating_probs(f64(x) @ f64(layer["router"]).T, "softmax"), k)
    y = axial.moe_ffn(x, **quantized, k=k, w_dtype=types)
    # the CPU quantizes activations to int8 per row before each quantized product (~2^-8 relative per
    # product, as ax_qmatmul): two chained products stay within 3% of the output's scale
    err = np.abs(y - want).max() / np.abs(want).max()
    assert err < 3e-2, err
    with pytest.raises(axial.InvalidArgumentError, match="gate"):
        axial.moe_ffn(x, **dict(quantized, gate=quantized["gate"][:, :, :-1]), k=k, w_dtype=types)


@pytest.mark.parametrize("gating,normalize,capacity_factor,Fd", [
    ("softmax", True, 0.0, 4), ("softmax", True, 1.0, 0), ("sigmoid", False, 0.75, 4),
])
def test_ffn_backward_matches_finite_differences(gating, normalize, capacity_factor, Fd):
    rng = np.random.default_rng(41)
    T, D, F, E, k = 6, 5, 4, 4, 2
    aux_coef, z_coef = 0.2, 0.03
    x = rand(rng, T, D)
    layer = make_layer(rng, D, F, E, Fd, scale=0.7)
    dy = rand(rng, T, D)
    _, _, selection = ref_ffn(x, layer, k, gating, normalize, capacity_factor)
    assert_no_near_ties(gating_probs(f64(x) @ f64(layer["router"]).T, gating), k)
    if capacity_factor > 0:
        assert (selection[1] < 0).any()
    grads = axial.moe_ffn_backward(x, layer["router"], layer["gate"], layer["up"], layer["down"], dy,
                                   dense_gate=layer.get("dense_gate"), dense_up=layer.get("dense_up"),
                                   dense_down=layer.get("dense_down"), k=k, gating=gating, renormalize=normalize,
                                   capacity_factor=capacity_factor, aux_coef=aux_coef, z_coef=z_coef)
    names = ["x", "router", "gate", "up", "down", "dense_gate", "dense_up", "dense_down"]
    assert len(grads) == 8
    params = dict(layer, x=x)

    def objective(name):
        def fn(value):
            p = dict(params, **{name: value})
            y, losses, _ = ref_ffn(p["x"], p, k, gating, normalize, capacity_factor, selection)
            return float((y * f64(dy)).sum()) + aux_coef * losses[0] + z_coef * losses[1]
        return fn

    for name, got in zip(names, grads):
        if name not in params:
            assert got is None, name
            continue
        assert got.shape == params[name].shape and got.dtype == np.float32, name
        num = central_diff(objective(name), params[name])
        # fp32 chain rule through GEMMs of <= 5 terms vs float64 differences (error ~1e-9): rtol 1e-3,
        # atol 1e-4 of the gradient's scale for entries that nearly cancel
        np.testing.assert_allclose(got, num, rtol=1e-3, atol=1e-4 * np.abs(num).max(), err_msg=name)


# ---- arrays other than NumPy, and argument errors -------------------------------------------------------


def test_axial_tensor_inputs_give_host_outputs():
    rng = np.random.default_rng(51)
    logits = rand(rng, 5, 4)
    ids, w = axial.moe_route(axial.from_dlpack(logits), 2)
    want_ids, want_w = axial.moe_route(logits, 2)
    assert isinstance(ids, np.ndarray) and ids.dtype == np.int32
    np.testing.assert_array_equal(ids, want_ids)
    np.testing.assert_array_equal(w, want_w)
    x = rand(rng, 5, 3)
    x_sorted, offsets, counts, rows = axial.moe_dispatch(axial.from_dlpack(x), axial.from_dlpack(ids), 4)
    np.testing.assert_array_equal(rows, axial.moe_dispatch(x, ids, 4)[3])
    assert not x_sorted[offsets[-1]:].any()


def test_torch_tensors_give_torch_outputs():
    torch = pytest.importorskip("torch", reason="PyTorch tensors need PyTorch (.venv-torch has it)")
    rng = np.random.default_rng(52)
    logits, x = rand(rng, 6, 4), rand(rng, 6, 5)
    ids, w = axial.moe_route(torch.from_numpy(logits), 2)
    assert isinstance(ids, torch.Tensor) and ids.dtype == torch.int32 and w.dtype == torch.float32
    want_ids, want_w = axial.moe_route(logits, 2)
    np.testing.assert_array_equal(ids.numpy(), want_ids)
    np.testing.assert_array_equal(w.numpy(), want_w)
    x_sorted, offsets, counts, rows = axial.moe_dispatch(torch.from_numpy(x), ids, 4, align=2)
    assert offsets.dtype == torch.int64 and not x_sorted[int(offsets[-1]):].any()
    for got, want in zip((x_sorted, offsets, counts, rows), axial.moe_dispatch(x, want_ids, 4, align=2)):
        np.testing.assert_array_equal(got.numpy(), want)


def test_errors_name_the_argument():
    logits = np.zeros((3, 4), np.float32)
    with pytest.raises(axial.InvalidArgumentError, match="top_k"):
        axial.moe_route(logits, 5)  # k > E
    with pytest.raises(axial.InvalidArgumentError, match="top_k"):
        axial.moe_route(logits, 2**40)  # refused before the outputs are allocated (had been a MemoryError)
    with pytest.raises(axial.InvalidArgumentError, match="align"):
        axial.moe_dispatch(np.zeros((2, 8), np.float32), np.zeros((2, 1), np.int32), 4, align=0)
    with pytest.raises(axial.InvalidArgumentError, match="gating"):
        axial.moe_route(logits, 2, gating="relu")
    with pytest.raises(axial.InvalidArgumentError, match="capacity_factor"):
        axial.moe_route(logits, 2, capacity_factor=-1.0)
    with pytest.raises(axial.InvalidArgumentError, match="aux_coef"):
        axial.moe_route_backward(logits, 2, aux_coef=float("inf"))
    with pytest.raises(axial.InvalidArgumentError, match=r"expert_ids.*token 1, choice 0"):
        axial.moe_dispatch(np.zeros((2, 8), np.float32), np.array([[0], [4]], np.int32), 4)
    with pytest.raises(axial.InvalidArgumentError, match="rows"):
        axial.moe_combine(np.zeros((4, 8), np.float32), np.array([[0], [4]], np.int64))
    with pytest.raises(axial.InvalidArgumentError, match="offsets"):
        axial.moe_grouped_gemm(np.zeros((5, 8), np.float32), np.zeros((2, 3, 8), np.float32),
                               np.array([0, 3, 2], np.int64))
    with pytest.raises(axial.InvalidArgumentError, match="w_dtype"):
        axial.moe_grouped_gemm(np.zeros((5, 32), np.float32), np.zeros((2, 3, 34), np.uint8),
                               np.array([0, 3, 5], np.int64), w_dtype="q9_9")
    layer = make_layer(np.random.default_rng(0), 8, 6, 4)
    with pytest.raises(axial.InvalidArgumentError, match="dense_up"):
        axial.moe_ffn(np.zeros((3, 8), np.float32), **layer, dense_gate=np.zeros((5, 8), np.float32))
    with pytest.raises(axial.InvalidArgumentError, match="down"):
        axial.moe_ffn(np.zeros((3, 8), np.float32), **dict(layer, down=layer["down"][:, :, :5]))
    with pytest.raises(axial.InvalidArgumentError, match="act"):
        axial.moe_ffn(np.zeros((3, 8), np.float32), **layer, act="relu")
    with pytest.raises(axial.InvalidArgumentError, match="num_rows"):
        axial.moe_combine_backward(np.zeros((2, 8), np.float32), None, np.zeros((2, 1), np.int64))
