"""PyTorch integration: :class:`EvoformerAttentionFunction` (a ``torch.autograd.Function``), and a
drop-in for DeepSpeed's ``deepspeed.ops.deepspeed4science`` Evoformer attention:
:func:`DS4Sci_EvoformerAttention` and :class:`EvoformerFusedAttention`, with the same names,
signatures, shapes and semantics, so OpenFold-style code switches by changing one import::

    # from deepspeed.ops.deepspeed4science import DS4Sci_EvoformerAttention
    from axial.torch import DS4Sci_EvoformerAttention

Tensors are exchanged through DLPack without copies, on the CPU or CUDA; CUDA work is queued on
PyTorch's current stream, CPU work runs ``torch.get_num_threads()`` threads (read at every call, so
``torch.set_num_threads`` takes effect at once). Gradients flow to q, k, v and both biases.

The drop-in differs from Axial's own functions only where DeepSpeed's code shows through:
bad arguments raise :class:`~axial.errors.DS4SciInvalidArgumentError` (an ``InvalidArgumentError``
that is also the ``AssertionError`` DeepSpeed's asserts raise), and bias gradients are returned in the
output gradient's dtype (see :class:`EvoformerFusedAttention`).

float64: Axial's kernels compute in float32 (storage float32, bfloat16 or float16). float64 tensors
are accepted here so that ``torch.autograd.gradcheck`` and float64 models run: they are converted
to float32, computed, and the results converted back, so their accuracy is float32's (about 1e-6
relative), not float64's. q, k and v share one dtype (float64 with float32 is refused, as any mix).

The backwards are first-order only: with ``create_graph=True`` the gradients they return carry a
node that raises when differentiated (gradient penalties, ``gradgradcheck``), rather than being
constants whose second-order terms would silently be dropped.
"""
from __future__ import annotations

import math
from typing import List, Optional, Sequence, Tuple

import torch

from ._attention import evoformer_attention as _forward
from ._attention import evoformer_attention_backward as _backward
from ._transformer import attention as _flash_forward
from ._transformer import attention_backward as _flash_backward
from .errors import DS4SciInvalidArgumentError, InvalidArgumentError, UnsupportedError

__all__ = ["EvoformerAttentionFunction", "EvoformerFusedAttention", "evoformer_attention",
           "DS4Sci_EvoformerAttention", "DS4SciInvalidArgumentError", "FlashAttentionFunction", "flash_attn_func",
           "flash_attn_varlen_func"]

_Gradients = Tuple[Optional[torch.Tensor], Optional[torch.Tensor], Optional[torch.Tensor], Optional[torch.Tensor],
                   Optional[torch.Tensor]]


def _compute(t: Optional[torch.Tensor]) -> Optional[torch.Tensor]:
    """The tensor Axial computes on (detached: DLPack exports no autograd history); float64 becomes
    float32 (see the module notes)."""
    if t is None:
        return None
    t = t.detach()
    return t.float() if t.dtype == torch.float64 else t


def _same_dtype(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> None:
    """q, k and v of one dtype: checked before float64 becomes float32, which would hide a mix."""
    for name, t in (("k", k), ("v", v)):
        if isinstance(t, torch.Tensor) and isinstance(q, torch.Tensor) and t.dtype != q.dtype:
            raise InvalidArgumentError(f"{name}: dtype {t.dtype}, expected q's ({q.dtype})", 1)


def _attention_forward(ctx, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bias_mask: Optional[torch.Tensor],
                       bias_pair: Optional[torch.Tensor]) -> torch.Tensor:
    """ax_evoformer_attention_forward on the compute tensors; keeps in ctx what the backward needs
    (the compute inputs, out and lse) and the inputs' dtypes."""
    _same_dtype(q, k, v)
    cq, ck, cv, cbm, cbp = (_compute(t) for t in (q, k, v, bias_mask, bias_pair))
    out, lse = _forward(cq, ck, cv, cbm, cbp, return_lse=True)
    ctx.save_for_backward(cq, ck, cv, cbm, cbp, out, lse)
    ctx.dtypes = tuple(None if t is None else t.dtype for t in (q, k, v, bias_mask, bias_pair))
    return out.to(q.dtype) if out.dtype != q.dtype else out


def _attention_backward(ctx, dout: torch.Tensor) -> _Gradients:
    """ax_evoformer_attention_backward: (dq, dk, dv, dbias_mask, dbias_pair) in the dtypes Axial computed
    in, bias gradients summed over broadcast dimensions; None for an input that was not given to
    ``apply`` or needs no gradient."""
    # Saved tensors come back attached to the graph (out is the Function's own output), and DLPack
    # refuses tensors that require grad.
    cq, ck, cv, cbm, cbp, out, lse = (None if t is None else t.detach() for t in ctx.saved_tensors)
    # needs_input_grad has one entry per argument given to apply(), which may omit the biases.
    needed = tuple(ctx.needs_input_grad) + (False,) * (5 - len(ctx.needs_input_grad))
    want_bm = cbm is not None and needed[3]
    want_bp = cbp is not None and needed[4]
    grads = (torch.empty_like(cq), torch.empty_like(ck), torch.empty_like(cv),
             torch.empty_like(cbm) if want_bm else None, torch.empty_like(cbp) if want_bp else None)
    computed = _backward(cq, ck, cv, cbm, cbp, out, lse, dout.detach().to(out.dtype), grads=grads)
    dq, dk, dv, dbm, dbp = (g if need else None for g, need in zip(computed, needed))
    return dq, dk, dv, dbm, dbp


class _FirstOrderOnly(torch.autograd.Function):
    """Identity on gradients whose own backward raises: what the attention backwards return under
    ``create_graph=True``, so that differentiating them is an error rather than a silent zero."""

    @staticmethod
    def forward(ctx, anchor, *grads):  # type: ignore[override]
        return tuple(g.view_as(g) for g in grads)

    @staticmethod
    def backward(ctx, *unused):  # type: ignore[override]
        raise RuntimeError("axial.torch: attention gradients are first-order only; differentiating them "
                           "(create_graph=True: a gradient penalty, gradgradcheck) is not supported")


# A leaf that requires grad, so that _FirstOrderOnly's outputs do even when the gradients handed to a
# backward do not (autograd's once_differentiable marks them only in that case).
_ANCHOR = torch.zeros((), requires_grad=True)


def _first_order(grads):
    """grads unchanged, or under create_graph=True (grad mode on in a backward) wrapped so that their
    own differentiation raises."""
    present = [g for g in grads if g is not None]
    if not torch.is_grad_enabled() or not present:
        return grads
    wrapped = iter(_FirstOrderOnly.apply(_ANCHOR, *present))
    return tuple(None if g is None else next(wrapped) for g in grads)


def _cast(g: Optional[torch.Tensor], dtype: Optional[torch.dtype]) -> Optional[torch.Tensor]:
    return None if g is None or dtype is None else g.to(dtype)


class EvoformerAttentionFunction(torch.autograd.Function):
    """``out = EvoformerAttentionFunction.apply(q, k, v[, bias_mask[, bias_pair]])`` with Axial's forward
    and backward. Biases may be None or left out; they may broadcast (see :func:`evoformer_attention`).
    Each gradient is returned in its input's dtype; errors are Axial's own (:class:`InvalidArgumentError`
    for bad arguments)."""

    @staticmethod
    def forward(ctx, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bias_mask: Optional[torch.Tensor] = None,
                bias_pair: Optional[torch.Tensor] = None) -> torch.Tensor:  # type: ignore[override]
        """Runs ax_evoformer_attention_forward and keeps what the backward needs (out and lse)."""
        return _attention_forward(ctx, q, k, v, bias_mask, bias_pair)

    @staticmethod
    def backward(ctx, dout: torch.Tensor) -> _Gradients:  # type: ignore[override]
        """Runs ax_evoformer_attention_backward; bias gradients are summed over broadcast dimensions and,
        like the others, returned in their input's dtype."""
        grads = _attention_backward(ctx, dout)
        return _first_order(tuple(_cast(g, dtype) for g, dtype in zip(grads, ctx.dtypes)))


class EvoformerFusedAttention(EvoformerAttentionFunction):
    """DeepSpeed's ``EvoformerFusedAttention``: ``EvoformerFusedAttention.apply(q, k, v, bias1, bias2)``,
    the autograd Function behind :func:`DS4Sci_EvoformerAttention`, computed by Axial.

    A subclass of :class:`EvoformerAttentionFunction` (same forward and backward, and CPU tensors,
    broadcastable biases and float32 biases with bfloat16/float16 q are accepted as there) that behaves
    like DeepSpeed's class where the difference can be seen:

    * Bad arguments, including those the C library reports, raise :class:`DS4SciInvalidArgumentError`
      (also an ``AssertionError``, as DeepSpeed's asserts raise), with the library's message and the
      original error as ``__cause__``.
    * Bias gradients are returned in ``grad_output``'s dtype, as DeepSpeed's backward returns
      ``dB.to(dO.dtype)``. PyTorch's autograd casts every gradient a Function returns to its input's
      dtype, so ``bias.grad`` always has the bias's dtype. For the inputs DeepSpeed accepts (biases in
      q's dtype, which is also grad_output's) this is the same as Axial's rule; it shows when
      ``backward`` is called directly, and with float32 biases and bfloat16/float16 q (which DeepSpeed
      rejects), whose bias gradients are then rounded to q's precision before autograd widens them.
      :class:`EvoformerAttentionFunction` keeps them in float32.
    """

    @staticmethod
    def forward(ctx, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bias1: Optional[torch.Tensor] = None,
                bias2: Optional[torch.Tensor] = None) -> torch.Tensor:  # type: ignore[override]
        """Runs ax_evoformer_attention_forward. bias1: the mask bias (B, N, 1, 1, S), bias2: the pair
        bias (B, 1, H, S, S), or None."""
        try:
            return _attention_forward(ctx, q, k, v, bias1, bias2)
        except InvalidArgumentError as e:
            raise DS4SciInvalidArgumentError(e.message, e.status) from e

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> _Gradients:  # type: ignore[override]
        """Runs ax_evoformer_attention_backward: dq, dk, dv in their inputs' dtypes, the bias gradients in
        grad_output's dtype (as DeepSpeed)."""
        try:
            grads = _attention_backward(ctx, grad_output)
        except InvalidArgumentError as e:
            raise DS4SciInvalidArgumentError(e.message, e.status) from e
        dq, dk, dv = (_cast(g, dtype) for g, dtype in zip(grads[:3], ctx.dtypes[:3]))
        db1, db2 = (_cast(g, grad_output.dtype) for g in grads[3:])
        return _first_order((dq, dk, dv, db1, db2))


def evoformer_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                        bias_mask: Optional[torch.Tensor] = None,
                        bias_pair: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Differentiable Evoformer attention on PyTorch tensors,
    ``softmax(q·kᵀ/√D + bias_mask + bias_pair)·v`` (:class:`EvoformerAttentionFunction`).

    Args:
        q, k, v: (B, N, S, H, D) tensors of one dtype (float32, bfloat16, float16, or float64 computed in
            float32), on the CPU or a CUDA device, any strides.
        bias_mask: None or (B, N, 1, 1, S), all five dims, each of size 1 to broadcast, in q's dtype
            or float32.
        bias_pair: None or (B, 1, H, S, S), all five dims, each of size 1 to broadcast, in q's dtype
            or float32.

    Returns:
        (B, N, S, H, D) tensor in q's dtype. Differentiable with respect to all five inputs; each
        gradient has its input's dtype, a bias's summed over its broadcast dimensions.

    Raises:
        InvalidArgumentError: wrong shapes, dtypes, devices or strides (the message names the tensor).
        UnsupportedError: limits of the device (e.g. D > 128 on CUDA).
    """
    return EvoformerAttentionFunction.apply(q, k, v, bias_mask, bias_pair)


def DS4Sci_EvoformerAttention(Q: torch.Tensor, K: torch.Tensor, V: torch.Tensor,
                              biases: Sequence[Optional[torch.Tensor]]) -> torch.Tensor:
    """DeepSpeed's ``DS4Sci_EvoformerAttention(Q, K, V, biases)``, computed by Axial
    (``EvoformerFusedAttention.apply(Q, K, V, biases[0], biases[1])``).

    Args:
        Q, K, V: (B, N, S, H, D) tensors ([batch, n_seq or n_res, n_res, heads, head_dim]).
        biases: a list of at most two tensors (or None entries): the mask bias of shape (B, N, 1, 1, S)
            and the pair bias of shape (B, 1, H, S, S), as in DeepSpeed (missing ones count as zero).
            The list is not modified (DeepSpeed appends None to a short one).

    Returns:
        (B, N, S, H, D) tensor in Q's dtype. Differentiable with respect to Q, K, V and both biases
        (bias gradients as described in :class:`EvoformerFusedAttention`).

    Raises:
        DS4SciInvalidArgumentError: more than two biases, a bias of another shape than DeepSpeed allows
            (DeepSpeed asserts the same), or any argument the library rejects. It is both Axial's
            ``InvalidArgumentError`` and an ``AssertionError``.
        UnsupportedError: limits of the device (e.g. D > 128 on CUDA).
    """
    if len(biases) > 2:
        raise DS4SciInvalidArgumentError(f"biases: at most 2 (mask bias, pair bias), got {len(biases)}", 1)
    padded: List[Optional[torch.Tensor]] = list(biases) + [None] * (2 - len(biases))
    if Q.dim() == 5:  # otherwise the library names Q's problem (re-raised by EvoformerFusedAttention)
        b, n, s, h = Q.shape[0], Q.shape[1], Q.shape[2], Q.shape[3]
        expected = ((b, n, 1, 1, s), (b, 1, h, s, s))
        for i, (bias, shape) in enumerate(zip(padded, expected)):
            if bias is not None and tuple(bias.shape) != shape:
                what = "mask bias" if i == 0 else "pair bias"
                raise DS4SciInvalidArgumentError(
                    f"biases[{i}] ({what}): shape {tuple(bias.shape)}, expected {shape} (DS4Sci_EvoformerAttention)",
                    1)
    return EvoformerFusedAttention.apply(Q, K, V, padded[0], padded[1])


# ---- flash_attn drop-ins -----------------------------------------------------------------------------


class FlashAttentionFunction(torch.autograd.Function):
    """``FlashAttentionFunction.apply(q, k, v, bias, cu_seqlens_q, cu_seqlens_k, max_seqlen_q,
    max_seqlen_k, scale, causal, window_left, window_right, softcap)`` -> ``(out, lse)`` with Axial's
    attention forward and backward (``ax_attention_forward`` / ``ax_attention_backward``). Gradients
    flow to q, k, v and the bias; float64 tensors are computed in float32 (see the module notes)."""

    @staticmethod
    def forward(ctx, q, k, v, bias, cu_seqlens_q, cu_seqlens_k, max_seqlen_q, max_seqlen_k, scale, causal,
                window_left, window_right, softcap):  # type: ignore[override]
        """Runs ax_attention_forward and keeps what the backward needs."""
        _same_dtype(q, k, v)
        cq, ck, cv, cb = (_compute(t) for t in (q, k, v, bias))
        # flash_attn makes a strided last dim contiguous (its kernels, like Axial's, need it); so do we,
        # for the bias too (a permuted T5/ALiBi-style bias).
        cq, ck, cv, cb = (t if t is None or t.stride(-1) == 1 or t.shape[-1] == 1 else t.contiguous()
                          for t in (cq, ck, cv, cb))
        opts = dict(causal=bool(causal), window=(int(window_left), int(window_right)), scale=scale,
                    softcap=float(softcap), max_seqlen_q=int(max_seqlen_q or 0), max_seqlen_k=int(max_seqlen_k or 0))
        out, lse = _flash_forward(cq, ck, cv, bias=cb, return_lse=True, cu_seqlens_q=cu_seqlens_q,
                                  cu_seqlens_k=cu_seqlens_k, **opts)
        # cu_seqlens are saved as tensors, so an in-place change before the backward is PyTorch's error.
        ctx.save_for_backward(cq, ck, cv, cb, out, lse, cu_seqlens_q, cu_seqlens_k)
        ctx.opts = opts
        ctx.dtypes = tuple(None if t is None else t.dtype for t in (q, k, v, bias))
        ctx.mark_non_differentiable(lse)
        return (out.to(q.dtype) if out.dtype != q.dtype else out), lse

    @staticmethod
    def backward(ctx, dout, dlse):  # type: ignore[override]
        """Runs ax_attention_backward; each gradient in its input's dtype, the bias's summed over its
        broadcast dimensions. The lse output is not differentiable (its gradient is ignored)."""
        cq, ck, cv, cb, out, lse, cu_q, cu_k = (None if t is None else t.detach() for t in ctx.saved_tensors)
        want_bias = cb is not None and ctx.needs_input_grad[3]
        # Packed batches: query rows past cu_seqlens_q[-1] take no part, and the library leaves their dq
        # as it finds it, so dq starts at zero (uninitialised memory had given NaN gradients there).
        grads = None
        if cu_q is not None:
            grads = (torch.zeros_like(cq), torch.empty_like(ck), torch.empty_like(cv),
                     torch.empty_like(cb) if want_bias else None)
        dq, dk, dv, db = _flash_backward(cq, ck, cv, out, lse, dout.detach().to(out.dtype).contiguous(), bias=cb,
                                         want_dbias=want_bias, grads=grads, cu_seqlens_q=cu_q, cu_seqlens_k=cu_k,
                                         **ctx.opts)
        grads = _first_order(tuple(_cast(g, dt) if need else None
                                   for g, dt, need in zip((dq, dk, dv, db), ctx.dtypes, ctx.needs_input_grad[:4])))
        return (*grads, None, None, None, None, None, None, None, None, None)


def _flash_check(dropout_p: float, alibi_slopes: Optional[torch.Tensor]) -> None:
    if dropout_p != 0.0:
        raise UnsupportedError(f"dropout_p: {dropout_p}; Axial's attention has no dropout (use 0.0)", 2)
    if alibi_slopes is not None:
        raise UnsupportedError("alibi_slopes: ALiBi is not supported; pass the ALiBi term as an additive bias "
                               "with axial.attention(..., bias=...)", 2)


def _flash_window(causal: bool, window_size: Tuple[int, int]) -> Tuple[int, int]:
    # flash_attn takes causal as window_right = 0 whatever window_size[1] says (HF's sliding-window
    # models pass causal=True with (w, w)); Axial's C API would call the pair a conflict.
    return int(window_size[0]), 0 if causal else int(window_size[1])


def _flash_return(out: torch.Tensor, lse: torch.Tensor, return_attn_probs: bool):
    # flash_attn returns (out, softmax_lse, S_dmask); S_dmask exists only with dropout, which Axial has not.
    return (out, lse, None) if return_attn_probs else out


# Axial's CUDA kernels take head dims that are multiples of 8 (at most 256). flash_attn pads other
# head dims with zeros and slices the output, and so do these drop-ins; tests set this to take the
# same path on the CPU, where the kernels need no padding.
_PAD_HEADS_ON_CPU = False


def _padded_heads(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, softmax_scale: Optional[float]):
    """(q, k, v, softmax_scale, D): the head dim D padded with zeros to a multiple of 8 where the
    kernels need it (zeros add nothing to q·k and give output columns that are cut off), the scale
    kept at 1/sqrt(D) of the real dim. Through autograd, so the gradients come back unpadded."""
    D = q.shape[-1]
    if D % 8 == 0 or not (q.is_cuda or _PAD_HEADS_ON_CPU) or k.shape[-1] != D or v.shape[-1] != D:
        return q, k, v, softmax_scale, D  # (mismatched dims are the op's to report)
    pad = (0, 8 - D % 8)
    scale = 1.0 / math.sqrt(D) if softmax_scale is None else softmax_scale
    return (torch.nn.functional.pad(q, pad), torch.nn.functional.pad(k, pad), torch.nn.functional.pad(v, pad),
            scale, D)


def flash_attn_func(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, dropout_p: float = 0.0,
                    softmax_scale: Optional[float] = None, causal: bool = False,
                    window_size: Tuple[int, int] = (-1, -1), softcap: float = 0.0,
                    alibi_slopes: Optional[torch.Tensor] = None, deterministic: bool = False,
                    return_attn_probs: bool = False):
    """``flash_attn.flash_attn_func`` with the same signature and semantics, computed by Axial, on CUDA
    or CPU tensors (``flash_attn`` itself runs on CUDA only).

    Args:
        q: (batch, seqlen_q, nheads, headdim); k, v: (batch, seqlen_k, nheads_k, headdim), nheads a
            multiple of nheads_k (GQA/MQA). float32, bfloat16, float16 (float64 computed in float32).
        dropout_p: must be 0.0 (no dropout). softmax_scale: None = 1/sqrt(headdim).
        causal: bottom-right aligned causal mask (it sets window_size's right side to 0, as in
            flash_attn). window_size: (left, right), -1 = unbounded.
        softcap: 0 = none. alibi_slopes: not supported (None). deterministic: accepted; Axial's
            backward is always deterministic.
        return_attn_probs: also return (softmax_lse (batch, nheads, seqlen_q) float32, None).

    Differences from flash_attn: a query row with every key masked has softmax_lse -inf (flash_attn
    stores +inf there; out is 0 in both), and softmax_scale must be > 0. On CUDA a head dim that is
    not a multiple of 8 is padded with zeros and the output sliced, as flash_attn does.

    Returns:
        out like q, or ``(out, softmax_lse, None)``. Differentiable with respect to q, k, v.
    """
    _flash_check(dropout_p, alibi_slopes)
    left, right = _flash_window(causal, window_size)
    q, k, v, softmax_scale, D = _padded_heads(q, k, v, softmax_scale)
    out, lse = FlashAttentionFunction.apply(q, k, v, None, None, None, 0, 0, softmax_scale, causal, left, right,
                                            softcap)
    return _flash_return(out[..., :D], lse, return_attn_probs)


def flash_attn_varlen_func(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, cu_seqlens_q: torch.Tensor,
                           cu_seqlens_k: torch.Tensor, max_seqlen_q: int, max_seqlen_k: int, dropout_p: float = 0.0,
                           softmax_scale: Optional[float] = None, causal: bool = False,
                           window_size: Tuple[int, int] = (-1, -1), softcap: float = 0.0,
                           alibi_slopes: Optional[torch.Tensor] = None, deterministic: bool = False,
                           return_attn_probs: bool = False, block_table: Optional[torch.Tensor] = None):
    """``flash_attn.flash_attn_varlen_func`` with the same signature and semantics, computed by Axial,
    on CUDA or CPU tensors.

    Args:
        q: (total_q, nheads, headdim); k, v: (total_k, nheads_k, headdim).
        cu_seqlens_q, cu_seqlens_k: int32 (batch + 1,) cumulative lengths, on q's device.
        max_seqlen_q, max_seqlen_k: the longest sequences (grid sizes on CUDA).
        Others as :func:`flash_attn_func`. block_table: not supported here (use
        :func:`axial.paged_attention`).

    Returns:
        out (total_q, nheads, headdim), or ``(out, softmax_lse (nheads, total_q), None)``.
    """
    _flash_check(dropout_p, alibi_slopes)
    if block_table is not None:
        raise UnsupportedError("block_table: use axial.paged_attention for paged KV caches", 2)
    left, right = _flash_window(causal, window_size)
    q, k, v, softmax_scale, D = _padded_heads(q, k, v, softmax_scale)
    out, lse = FlashAttentionFunction.apply(q, k, v, None, cu_seqlens_q, cu_seqlens_k, max_seqlen_q, max_seqlen_k,
                                            softmax_scale, causal, left, right, softcap)
    return _flash_return(out[..., :D], lse, return_attn_probs)
