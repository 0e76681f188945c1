"""PyTorch integration: :class:`EvoformerAttentionFunction` (a ``torch.autograd.Function``) and
:func:`DS4Sci_EvoformerAttention`, a drop-in for DeepSpeed's function of that name (same signature,
shapes and semantics), so OpenFold-style code switches by changing one import::

    # from deepspeed.ops.deepspeed4science import DS4Sci_EvoformerAttention
    from axial.torch import DS4Sci_EvoformerAttention

Tensors are exchanged through DLPack without copies, on the CPU or CUDA; CUDA work is queued on
PyTorch's current stream. Gradients flow to q, k, v and both biases.

float64: Axial's kernels compute in float32 (storage float32, bfloat16 or float16). float64 tensors
are accepted here so that ``torch.autograd.gradcheck`` and float64 models run: they are converted
to float32, computed, and the results converted back, so their accuracy is float32's (about 1e-6
relative), not float64's.
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import torch

from ._attention import evoformer_attention as _forward
from ._attention import evoformer_attention_backward as _backward
from .errors import InvalidArgumentError

__all__ = ["EvoformerAttentionFunction", "evoformer_attention", "DS4Sci_EvoformerAttention"]


def _compute(t: Optional[torch.Tensor]) -> Optional[torch.Tensor]:
    """The tensor Axial computes on (detached: DLPack exports no autograd history); float64 becomes
    float32 (see the module notes)."""
    if t is None:
        return None
    t = t.detach()
    return t.float() if t.dtype == torch.float64 else t


class EvoformerAttentionFunction(torch.autograd.Function):
    """``out = EvoformerAttentionFunction.apply(q, k, v, bias_mask, bias_pair)`` with Axial's forward
    and backward. Biases may be None; gradients are returned for every input that requires them."""

    @staticmethod
    def forward(ctx, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bias_mask: Optional[torch.Tensor],
                bias_pair: Optional[torch.Tensor]) -> torch.Tensor:  # type: ignore[override]
        """Runs ax_evoformer_attention_forward and keeps what the backward needs (out and lse)."""
        cq, ck, cv, cbm, cbp = (_compute(t) for t in (q, k, v, bias_mask, bias_pair))
        out, lse = _forward(cq, ck, cv, cbm, cbp, return_lse=True)
        ctx.save_for_backward(cq, ck, cv, cbm, cbp, out, lse)
        ctx.dtypes = (q.dtype, k.dtype, v.dtype, None if bias_mask is None else bias_mask.dtype,
                      None if bias_pair is None else bias_pair.dtype)
        return out.to(q.dtype) if out.dtype != q.dtype else out

    @staticmethod
    def backward(ctx, dout: torch.Tensor):  # type: ignore[override]
        """Runs ax_evoformer_attention_backward; bias gradients are summed over broadcast dimensions."""
        cq, ck, cv, cbm, cbp, out, lse = (None if t is None else t.detach() for t in ctx.saved_tensors)
        dout = dout.to(out.dtype)
        want_bm = cbm is not None and ctx.needs_input_grad[3]
        want_bp = cbp is not None and ctx.needs_input_grad[4]
        grads = (torch.empty_like(cq), torch.empty_like(ck), torch.empty_like(cv),
                 torch.empty_like(cbm) if want_bm else None, torch.empty_like(cbp) if want_bp else None)
        dq, dk, dv, dbm, dbp = _backward(cq, ck, cv, cbm, cbp, out, lse, dout.detach(), grads=grads)
        result = []
        for g, dtype, needed in zip((dq, dk, dv, dbm, dbp), ctx.dtypes, ctx.needs_input_grad):
            result.append(None if g is None or not needed else g.to(dtype))
        return tuple(result)


def evoformer_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                        bias_mask: Optional[torch.Tensor] = None,
                        bias_pair: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Differentiable Evoformer attention on PyTorch tensors (B, N, S, H, D); biases broadcastable to
    (B, N, 1, 1, S) and (B, 1, H, S, S), or None."""
    return EvoformerAttentionFunction.apply(q, k, v, bias_mask, bias_pair)


def DS4Sci_EvoformerAttention(Q: torch.Tensor, K: torch.Tensor, V: torch.Tensor,
                              biases: Sequence[Optional[torch.Tensor]]) -> torch.Tensor:
    """DeepSpeed's ``DS4Sci_EvoformerAttention(Q, K, V, biases)``, computed by Axial.

    Args:
        Q, K, V: (B, N, S, H, D) tensors ([batch, n_seq or n_res, n_res, heads, head_dim]).
        biases: a list of at most two tensors (or None entries): the mask bias of shape (B, N, 1, 1, S)
            and the pair bias of shape (B, 1, H, S, S), as in DeepSpeed (missing ones count as zero).

    Returns:
        (B, N, S, H, D) tensor in Q's dtype. Differentiable with respect to Q, K, V and both biases.

    Raises:
        InvalidArgumentError: more than two biases, or a bias of another shape than DeepSpeed allows
            (DeepSpeed asserts the same shapes).
    """
    if len(biases) > 2:
        raise InvalidArgumentError(f"biases: at most 2 (mask bias, pair bias), got {len(biases)}", 1)
    padded: List[Optional[torch.Tensor]] = list(biases) + [None] * (2 - len(biases))
    b, n, s, h = Q.shape[0], Q.shape[1], Q.shape[2], Q.shape[3]
    expected = ((b, n, 1, 1, s), (b, 1, h, s, s))
    for i, (bias, shape) in enumerate(zip(padded, expected)):
        if bias is not None and tuple(bias.shape) != shape:
            what = "mask bias" if i == 0 else "pair bias"
            raise InvalidArgumentError(
                f"biases[{i}] ({what}): shape {tuple(bias.shape)}, expected {shape} (DS4Sci_EvoformerAttention)", 1)
    return EvoformerAttentionFunction.apply(Q, K, V, padded[0], padded[1])
