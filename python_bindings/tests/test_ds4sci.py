"""axial.torch's DeepSpeed drop-in (DS4Sci_EvoformerAttention, EvoformerFusedAttention): OpenFold's
masks against float64 PyTorch autograd, errors that are also AssertionErrors, and bias gradients in
the output gradient's dtype."""
import math

import pytest

torch = pytest.importorskip(
    "torch", reason="PyTorch is not importable here; scripts/python-env.sh makes .venv-torch with Debian's "
                    "python3-torch, where these tests run (ctest test_python_torch)")
import axial  # noqa: E402
import axial.torch as axt  # noqa: E402
from axial.torch import DS4Sci_EvoformerAttention, EvoformerFusedAttention  # noqa: E402

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() and axial.info()["cuda_devices"] else [])

# OpenFold's ways of turning a 0/1 residue mask into a bias (mask: 1 = keep), all cast to the model dtype.
MASK_FORMS = {
    "1e9*(mask-1)": lambda m: 1e9 * (m - 1),  # OpenFold: padded keys -1e9, a padded MSA row all -1e9
    "1e9*mask-1": lambda m: 1e9 * m - 1,  # kept keys +1e9-1, masked -1: only differences count
    "-3e38": lambda m: -3e38 * (1 - m),  # near float32's lowest
    "-inf": lambda m: torch.where(m > 0, torch.zeros_like(m), torch.full_like(m, -math.inf)),
}


def reference(q, k, v, mask_bias, pair_bias):
    """Evoformer attention in float64 with PyTorch ops (forms the logits; autograd gives the gradients).

    Each mask row is shifted by its largest value first: softmax is unchanged by a per-row constant, and
    without the shift float64 itself loses q·k next to 1e9 or 3e38. A row whose every logit is -inf
    (a padded MSA row of the -inf form) gives 0 and zero gradients, as include/axial/evoformer.h says.
    """
    q, k, v, bm, bp = (t.double() for t in (q, k, v, mask_bias, pair_bias))
    row_max = bm.detach().amax(dim=-1, keepdim=True)
    row_max = torch.where(torch.isfinite(row_max), row_max, torch.zeros_like(row_max))
    logits = torch.einsum("bnihd,bnjhd->bnhij", q, k) / q.shape[-1] ** 0.5 + (bm - row_max) + bp
    dead = torch.isneginf(logits).all(dim=-1, keepdim=True)
    # Softmax of an all -inf row is NaN, and so is its backward even behind a where(): feed it zeros.
    p = torch.softmax(torch.where(dead, torch.zeros_like(logits), logits), dim=-1)
    p = torch.where(dead, torch.zeros_like(p), p)
    return torch.einsum("bnhij,bnjhd->bnihd", p, v)


def openfold_inputs(form, dtype, device):
    """q, k, v (B=1, N=4, S=40, H=2, D=16), OpenFold's mask bias (B, N, 1, 1, S) of `form` from a residue
    mask whose MSA row 3 is padded (all zeros) and whose other rows mask some keys, a pair bias
    (B, 1, H, S, S), all requiring grad, and an output gradient that is non-zero on every row."""
    torch.manual_seed(11)
    B, N, S, H, D = 1, 4, 40, 2, 16
    q, k, v = (torch.randn(B, N, S, H, D).to(dtype=dtype, device=device).requires_grad_() for _ in range(3))
    mask = (torch.rand(B, N, S) > 0.3).float()
    mask[:, :, 0] = 1  # every row that is not padding keeps a key
    mask[:, 3, :] = 0  # a padded MSA row
    assert 0 < mask[:, :3].mean() < 1
    mask = mask.to(dtype=dtype, device=device)
    mask_bias = MASK_FORMS[form](mask)[:, :, None, None, :].detach().requires_grad_()
    pair_bias = torch.randn(B, 1, H, S, S).to(dtype=dtype, device=device).requires_grad_()
    g = (torch.rand(B, N, S, H, D) + 0.5) * torch.where(torch.rand(B, N, S, H, D) < 0.5, -1.0, 1.0)
    return q, k, v, mask_bias, pair_bias, g.to(dtype=dtype, device=device)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype,tol", [(torch.float32, 1e-4), (torch.bfloat16, 2e-2)])
@pytest.mark.parametrize("form", list(MASK_FORMS))
def test_openfold_masks_match_float64(device, dtype, tol, form):
    """Output and the five gradients of loss = sum(out * g) against float64 autograd, relative to the
    reference's largest magnitude."""
    q, k, v, mask_bias, pair_bias, g = openfold_inputs(form, dtype, device)
    inputs = (q, k, v, mask_bias, pair_bias)
    out = DS4Sci_EvoformerAttention(q, k, v, [mask_bias, pair_bias])
    got = torch.autograd.grad((out * g).sum(), inputs)
    want = reference(*inputs)
    ref = torch.autograd.grad((want * g.double()).sum(), inputs)
    for name, x, r in zip(("out", "dq", "dk", "dv", "dmask_bias", "dpair_bias"), (out,) + got, (want,) + ref):
        assert x.dtype == dtype and torch.isfinite(x).all(), name
        assert torch.isfinite(r).all() and r.abs().max() > 0, name
        err = ((x.double() - r).abs().max() / r.abs().max()).item()
        assert err < tol, f"{name}: {err:.2e}"
    padded_row = out[:, 3].double().abs().max().item()
    if form == "-inf":  # every key of the padded row is -inf: out and its gradients are zero there
        assert padded_row == 0
        assert all(t[:, 3].abs().max().item() == 0 for t in got[:3])
    else:  # the padded row's mask is one constant: it attends as if unmasked
        assert padded_row > 0.1


def check_drop_in_error(excinfo, message):
    e = excinfo.value
    assert isinstance(e, axial.DS4SciInvalidArgumentError) and isinstance(e, axial.InvalidArgumentError)
    assert isinstance(e, AssertionError) and isinstance(e, ValueError)
    assert e.status == 1 and e.status_name == "AX_ERR_INVALID_ARGUMENT"
    assert str(e) == e.message and message in e.message


def test_drop_in_errors_are_assertion_errors():
    torch.manual_seed(12)
    B, N, S, H, D = 1, 2, 18, 2, 8
    Q, K, V = (torch.randn(B, N, S, H, D) for _ in range(3))
    mask, pair = torch.zeros(B, N, 1, 1, S), torch.zeros(B, 1, H, S, S)
    with pytest.raises(AssertionError) as e:
        DS4Sci_EvoformerAttention(Q, K, V, [mask, pair, pair])
    check_drop_in_error(e, "biases: at most 2 (mask bias, pair bias), got 3")
    with pytest.raises(AssertionError) as e:
        DS4Sci_EvoformerAttention(Q, K, V, [mask[:, :1], pair])  # broadcastable, but not DeepSpeed's shape
    check_drop_in_error(e, "biases[0] (mask bias): shape (1, 1, 1, 1, 18), expected (1, 2, 1, 1, 18)")
    assert e.value.__cause__ is None


@pytest.mark.parametrize("call", ["DS4Sci_EvoformerAttention", "EvoformerFusedAttention"])
def test_library_errors_through_the_drop_in_are_assertion_errors(call):
    """What the C library rejects is re-raised with its message and status, chained to the original;
    Axial's own functions raise the plain InvalidArgumentError for the same input."""
    torch.manual_seed(13)
    B, N, S, H, D = 1, 2, 18, 2, 8
    Q, V = torch.randn(B, N, S, H, D), torch.randn(B, N, S, H, D)
    bad_cases = [  # (K, message from the library)
        (torch.randn(B, N, S - 1, H, D), "k: "),
        (torch.randn(B, N, S, H, D).half(), "k: "),
    ]
    for K, message in bad_cases:
        with pytest.raises(axial.InvalidArgumentError) as plain:
            axt.evoformer_attention(Q, K, V)
        assert type(plain.value) is axial.InvalidArgumentError and not isinstance(plain.value, AssertionError)
        with pytest.raises(AssertionError) as e:
            if call == "DS4Sci_EvoformerAttention":
                DS4Sci_EvoformerAttention(Q, K, V, [])
            else:
                EvoformerFusedAttention.apply(Q, K, V)
        check_drop_in_error(e, message)
        assert e.value.message == plain.value.message
        assert type(e.value.__cause__) is axial.InvalidArgumentError
    with pytest.raises(AssertionError) as e:  # a 4-d Q reaches the library, which names it
        DS4Sci_EvoformerAttention(Q[0], Q[0], Q[0], [])
    check_drop_in_error(e, "q: expected 5 dims (B, N, S, H, D), got 4")


def test_library_errors_in_the_drop_in_backward_are_assertion_errors(monkeypatch):
    """The backward re-raises the same way (valid inputs pass the forward's checks, so the library's
    backward is made to fail here)."""
    Q, K, V = (torch.randn(1, 1, 17, 1, 8, requires_grad=True) for _ in range(3))
    out = DS4Sci_EvoformerAttention(Q, K, V, [])

    def failing_backward(*args, **kwargs):
        raise axial.InvalidArgumentError("dout: made up by the test", 1)

    monkeypatch.setattr(axt, "_backward", failing_backward)
    with pytest.raises(AssertionError) as e:
        out.sum().backward()
    check_drop_in_error(e, "dout: made up by the test")
    assert type(e.value.__cause__) is axial.InvalidArgumentError


class RecordingFusedAttention(EvoformerFusedAttention):
    """EvoformerFusedAttention that keeps what its backward returned, before autograd sees it."""
    returned = ()

    @staticmethod
    def backward(ctx, grad_output):
        grads = EvoformerFusedAttention.backward(ctx, grad_output)
        RecordingFusedAttention.returned = grads
        return grads


def test_drop_in_bias_gradients_are_in_the_output_gradients_dtype():
    """DeepSpeed returns bias gradients as dB.to(dO.dtype); autograd then casts each returned gradient
    to its input's dtype. Observable: the dtypes backward returns, and, with float32 biases and
    bfloat16 q (an Axial extension), bias gradients rounded to bfloat16 where Axial's own Function
    keeps them in float32."""
    torch.manual_seed(14)
    B, N, S, H, D = 1, 2, 20, 2, 8
    q, k, v = (torch.randn(B, N, S, H, D, dtype=torch.bfloat16, requires_grad=True) for _ in range(3))
    mask = torch.randn(B, N, 1, 1, S, requires_grad=True)
    pair = torch.randn(B, 1, H, S, S, requires_grad=True)
    dout = torch.randn(B, N, S, H, D, dtype=torch.bfloat16)

    out = RecordingFusedAttention.apply(q, k, v, mask, pair)
    fused = torch.autograd.grad(out, (q, k, v, mask, pair), dout)
    assert [g.dtype for g in RecordingFusedAttention.returned] == [torch.bfloat16] * 5
    assert [g.dtype for g in fused] == [torch.bfloat16] * 3 + [torch.float32] * 2

    own = torch.autograd.grad(axt.EvoformerAttentionFunction.apply(q, k, v, mask, pair), (q, k, v, mask, pair), dout)
    assert [g.dtype for g in own] == [g.dtype for g in fused]
    for a, b in zip(fused[:3], own[:3]):  # the same deterministic backward
        assert torch.equal(a, b)
    for a, b in zip(fused[3:], own[3:]):
        assert not torch.equal(a, b)  # float32 gradients that bfloat16 cannot hold exactly...
        assert torch.equal(a, b.to(torch.bfloat16).float())  # ...rounded as DeepSpeed rounds them

    # In q's dtype, as DeepSpeed requires its biases, both rules agree.
    mask32, pair32 = (t.detach().to(torch.bfloat16).requires_grad_() for t in (mask, pair))
    out = RecordingFusedAttention.apply(q, k, v, mask32, pair32)
    fused = torch.autograd.grad(out, (mask32, pair32), dout)
    own = torch.autograd.grad(axt.EvoformerAttentionFunction.apply(q, k, v, mask32, pair32), (mask32, pair32), dout)
    assert all(torch.equal(a, b) and a.dtype == torch.bfloat16 for a, b in zip(fused, own))


def test_fused_attention_matches_deepspeeds_signature():
    """EvoformerFusedAttention.apply(q, k, v, bias1=None, bias2=None) as DeepSpeed defines it."""
    assert issubclass(EvoformerFusedAttention, axt.EvoformerAttentionFunction)
    torch.manual_seed(15)
    B, N, S, H, D = 1, 2, 17, 2, 8
    q, k, v = (torch.randn(B, N, S, H, D, requires_grad=True) for _ in range(3))
    mask = torch.randn(B, N, 1, 1, S, requires_grad=True)
    pair = torch.randn(B, 1, H, S, S, requires_grad=True)
    for biases in ((), (mask,), (mask, pair), (None, pair)):
        out = EvoformerFusedAttention.apply(q, k, v, *biases)
        padded = list(biases) + [None] * (2 - len(biases))
        assert torch.equal(out, DS4Sci_EvoformerAttention(q, k, v, list(biases)))
        given = [t for t in (q, k, v) + tuple(biases) if t is not None]
        got = torch.autograd.grad(out.sum(), given)
        want = torch.autograd.grad(axt.evoformer_attention(q, k, v, *padded).sum(), given)
        assert all(torch.equal(a, b) for a, b in zip(got, want))
