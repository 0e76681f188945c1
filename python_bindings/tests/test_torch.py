"""axial.torch: the autograd Function and DS4Sci_EvoformerAttention against torch.autograd.gradcheck
(float64 inputs; Axial computes in float32, hence eps and tolerances suited to float32, see below) and
against PyTorch autograd through a naive float64 attention."""
import numpy as np
import pytest

torch = pytest.importorskip(
    "torch", reason="PyTorch is not importable here; scripts/python-env.sh makes .venv-torch with Debian's "
                    "python3-torch, where these tests run (ctest test_python_torch)")
import axial  # noqa: E402
from axial.torch import DS4Sci_EvoformerAttention, EvoformerAttentionFunction, evoformer_attention  # noqa: E402

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() and axial.info()["cuda_devices"] else [])


def naive(q, k, v, bm=None, bp=None):
    """Attention written with PyTorch ops in float64 (forms the logits)."""
    q, k, v = q.double(), k.double(), v.double()
    logits = torch.einsum("bnihd,bnjhd->bnhij", q, k) / q.shape[-1] ** 0.5
    if bm is not None:
        logits = logits + bm.double()
    if bp is not None:
        logits = logits + bp.double()
    return torch.einsum("bnhij,bnjhd->bnihd", torch.softmax(logits, dim=-1), v)


def rand(*shape, dtype=torch.float32, device="cpu", grad=True):
    t = torch.randn(*shape, dtype=torch.float64).to(dtype=dtype, device=device)
    return t.requires_grad_(grad)


@pytest.mark.parametrize("device", DEVICES)
def test_gradcheck_float64(device):
    """gradcheck compares our backward with central differences of our forward. The forward runs in
    float32, so eps=1e-3 (float32 rounding of the outputs, ~1e-7, divided by 2*eps stays ~1e-4 below
    the tolerance) and atol=rtol=2e-3; a wrong gradient term is off by O(0.1) and fails."""
    torch.manual_seed(0)
    # The CUDA backend needs D % 8 == 0 (the CPU one takes any D).
    B, N, S, H, D = 1, 2, 5, 2, 4 if device == "cpu" else 8
    q, k, v = (rand(B, N, S, H, D, dtype=torch.float64, device=device) for _ in range(3))
    bm = rand(B, N, 1, 1, S, dtype=torch.float64, device=device)
    bp = rand(B, 1, H, S, S, dtype=torch.float64, device=device)
    assert torch.autograd.gradcheck(evoformer_attention, (q, k, v, bm, bp), eps=1e-3, atol=2e-3, rtol=2e-3)


def test_gradcheck_detects_a_wrong_gradient():
    """The gradcheck settings above are tight enough to reject a backward that is slightly wrong."""

    class Wrong(torch.autograd.Function):
        @staticmethod
        def forward(ctx, q, k, v, bm, bp):
            return EvoformerAttentionFunction.forward(ctx, q, k, v, bm, bp)

        @staticmethod
        def backward(ctx, dout):
            grads = EvoformerAttentionFunction.backward(ctx, dout)
            return (grads[0] * 1.02,) + tuple(grads[1:])

    torch.manual_seed(0)
    q, k, v = (rand(1, 1, 4, 1, 4, dtype=torch.float64) for _ in range(3))
    bp = rand(1, 1, 1, 4, 4, dtype=torch.float64)
    assert not torch.autograd.gradcheck(lambda *a: Wrong.apply(*a), (q, k, v, None, bp), eps=1e-3, atol=2e-3,
                                        rtol=2e-3, raise_exception=False)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype,tol", [(torch.float32, 1e-4), (torch.bfloat16, 4e-2)])
@pytest.mark.parametrize("S,D", [(16, 8), (40, 32)])  # on CUDA, bf16 with D = 32 runs on tensor cores
def test_gradients_match_naive_float64(device, dtype, tol, S, D):
    torch.manual_seed(1)
    B, N, H = 2, 3, 2
    q, k, v = (rand(B, N, S, H, D, dtype=dtype, device=device) for _ in range(3))
    bm = rand(B, N, 1, 1, S, dtype=dtype, device=device)
    bp = rand(B, 1, H, S, S, dtype=torch.float32, device=device)  # bias in float32 with bf16 inputs is allowed
    dout = torch.randn(B, N, S, H, D, dtype=torch.float64, device=device)
    out = evoformer_attention(q, k, v, bm, bp)
    assert out.dtype == dtype and out.device.type == device
    want = naive(q, k, v, bm, bp)
    assert (out.double() - want).abs().max() / want.abs().max() < tol
    got = torch.autograd.grad(out, (q, k, v, bm, bp), dout.to(dtype))
    ref = torch.autograd.grad(want, (q, k, v, bm, bp), dout.to(dtype).double())
    for name, g, r in zip(("q", "k", "v", "bias_mask", "bias_pair"), got, ref):
        assert g.dtype == {"bias_pair": torch.float32}.get(name, dtype), name
        assert (g.double() - r).abs().max() / r.abs().max() < tol, name


def test_second_order_and_mixed_dtypes_are_refused():
    """The backward is first-order: differentiating it raises (the second-order terms had silently been
    zero). q float32 with k float64 is refused (it had been computed in float32 without a word)."""
    q, k, v = rand(1, 2, 4, 2, 8), rand(1, 2, 4, 2, 8), rand(1, 2, 4, 2, 8)
    pair = rand(1, 1, 2, 4, 4)
    out = evoformer_attention(q, k, v, None, pair)
    (dpair,) = torch.autograd.grad(out.sum(), pair, create_graph=True)
    with pytest.raises(RuntimeError, match="first-order only"):
        (dpair * dpair).sum().backward()
    with pytest.raises(axial.InvalidArgumentError, match="k: dtype torch.float64"):
        evoformer_attention(q, k.detach().double(), v)
    with pytest.raises(axial.torch.DS4SciInvalidArgumentError):
        DS4Sci_EvoformerAttention(q, k, v.detach().double(), [])


def test_apply_without_biases():
    """EvoformerAttentionFunction.apply(q, k, v[, bias_mask]): the biases default to None, and backward
    returns gradients for the inputs given only."""
    torch.manual_seed(5)
    B, N, S, H, D = 1, 2, 9, 2, 8
    q, k, v = (rand(B, N, S, H, D) for _ in range(3))
    bm = rand(B, N, 1, 1, S)
    for biases in ((), (bm,)):
        out = EvoformerAttentionFunction.apply(q, k, v, *biases)
        want = naive(q, k, v, *biases)
        assert (out.double() - want).abs().max() < 1e-5
        given = (q, k, v) + biases
        got = torch.autograd.grad(out.sum(), given)
        ref = torch.autograd.grad(want.sum(), given)
        assert all((g.double() - r).abs().max() < 1e-5 for g, r in zip(got, ref))


def test_cpu_calls_follow_torch_set_num_threads(monkeypatch):
    """Every call on CPU tensors runs as many threads as torch.get_num_threads() says at that moment:
    the thread count of the context each extension call receives is recorded."""
    from axial import _axial

    seen = []

    def recording(name):
        original = getattr(_axial, name)

        def call(ctx, *args):
            seen.append((name, _axial.context_info(ctx)[2]))
            return original(ctx, *args)

        monkeypatch.setattr(_axial, name, call)

    recording("attention_forward")
    recording("attention_backward")
    torch.manual_seed(6)
    q, k, v = (rand(1, 2, 9, 2, 8) for _ in range(3))
    threads = torch.get_num_threads()
    try:
        for n in (1, 2, 1, 3):
            torch.set_num_threads(n)
            seen.clear()
            evoformer_attention(q, k, v).sum().backward()
            axial.evoformer_attention(q.detach(), k.detach(), v.detach())
            assert seen == [("attention_forward", n), ("attention_backward", n), ("attention_forward", n)]
    finally:
        torch.set_num_threads(threads)


def test_ds4sci_signature_and_semantics():
    torch.manual_seed(2)
    B, N, S, H, D = 1, 4, 18, 2, 8
    Q, K, V = (rand(B, N, S, H, D) for _ in range(3))
    mask = rand(B, N, 1, 1, S)
    pair = rand(B, 1, H, S, S)
    biases = [mask, pair]
    out = DS4Sci_EvoformerAttention(Q, K, V, biases)
    assert biases == [mask, pair]
    assert (out.double() - naive(Q, K, V, mask, pair)).abs().max() < 1e-5
    out.sum().backward()
    assert all(t.grad is not None for t in (Q, K, V, mask, pair))
    # Missing biases count as zero, like DeepSpeed's zero-filled ones.
    for bs, m, p in (([], None, None), ([mask], mask, None), ([None, pair], None, pair)):
        got = DS4Sci_EvoformerAttention(Q, K, V, bs)
        assert (got.double() - naive(Q, K, V, m, p)).abs().max() < 1e-5
    with pytest.raises(axial.InvalidArgumentError, match=r"biases\[1\] \(pair bias\)"):
        DS4Sci_EvoformerAttention(Q, K, V, [mask, rand(B, 1, H, S, 1)])
    with pytest.raises(axial.InvalidArgumentError, match="at most 2"):
        DS4Sci_EvoformerAttention(Q, K, V, [mask, pair, pair])


def test_non_contiguous_torch_inputs():
    torch.manual_seed(3)
    B, N, S, H, D = 1, 2, 12, 2, 8
    q = rand(B, S, N, H, D, grad=False).transpose(1, 2)
    k = rand(B, N, S, H, 2 * D, grad=False)[..., ::2]
    v = rand(B, N, S, H, D, grad=False)
    assert not q.is_contiguous() and not k.is_contiguous()
    out = axial.evoformer_attention(q, k, v)
    assert isinstance(out, torch.Tensor)
    assert (out.double() - naive(q, k, v)).abs().max() < 1e-5


def test_dlpack_round_trip_shares_memory_with_torch():
    t = torch.zeros(3, 4)
    a = axial.from_dlpack(t)
    assert a.data_ptr == t.data_ptr()
    back = torch.from_dlpack(a)
    back[1, 2] = 7.0
    assert t[1, 2] == 7.0
    n = np.from_dlpack(a)
    if n.flags.writeable:
        n[0, 0] = -1.0
    else:  # NumPy < 2 makes DLPack imports read-only: write through torch, read through NumPy
        t[0, 0] = -1.0
    assert t[0, 0] == -1.0 and n[0, 0] == -1.0


@pytest.mark.skipif("cuda" not in DEVICES, reason="needs a CUDA device and an Axial build with CUDA")
def test_cuda_work_follows_the_callers_stream():
    """The inputs are written on a side stream behind a long GPU sleep, and the attention is called
    with that stream current: only if Axial queues its kernels on it do they see the written inputs
    (PyTorch's side streams do not synchronise with the legacy default stream)."""
    torch.manual_seed(4)
    B, N, S, H, D = 1, 3, 70, 2, 32
    src = [rand(B, N, S, H, D, dtype=torch.bfloat16, device="cuda", grad=False) for _ in range(3)]
    bm = rand(B, N, 1, 1, S, dtype=torch.bfloat16, device="cuda", grad=False)
    bp = rand(B, 1, H, S, S, dtype=torch.bfloat16, device="cuda", grad=False)
    q, k, v = (torch.zeros_like(t) for t in src)
    torch.cuda.synchronize()
    side = torch.cuda.Stream()
    with torch.cuda.stream(side):
        torch.cuda._sleep(200_000_000)  # a few tens of milliseconds of GPU time on `side`
        for dst, t in zip((q, k, v), src):
            dst.copy_(t)
        out = axial.evoformer_attention(q, k, v, bm, bp)
    side.synchronize()
    want = naive(*src, bm, bp)
    assert (out.double() - want).abs().max() / want.abs().max() < 4e-2


@pytest.mark.skipif("cuda" not in DEVICES, reason="needs a CUDA device and an Axial build with CUDA")
def test_cuda_dlpack_round_trip_shares_memory_with_torch():
    t = torch.zeros(3, 4, device="cuda")
    a = axial.from_dlpack(t)
    assert a.data_ptr == t.data_ptr() and a.__dlpack_device__()[0] == 2  # kDLCUDA
    back = torch.from_dlpack(a)
    assert back.device == t.device
    back[1, 2] = 7.0
    assert t[1, 2].item() == 7.0
