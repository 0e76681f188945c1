"""Transformer kernels over NumPy arrays, DLPack producers (PyTorch, CuPy, JAX) and
:class:`axial.Tensor`: flash attention (causal, sliding windows, GQA/MQA, packed variable-length
batches, bias, soft-cap) forward and backward, paged attention over a blocked KV cache and the op that
appends to it. Each function documents its C counterpart in ``include/axial/attention.h``."""
from __future__ import annotations

from typing import Any, Optional, Sequence, Tuple

import numpy as np

from . import _axial
from ._attention import Context, _Call, _dlpack_stream
from .errors import InvalidArgumentError

__all__ = ["attention", "attention_backward", "paged_attention", "kv_cache_append", "rms_norm", "rms_norm_backward",
           "layer_norm", "layer_norm_backward", "rope", "activation", "glu", "glu_backward", "embedding", "softmax", "sample", "qmatmul", "QWeight"]


def _run(call: _Call, name: str, arrays: Sequence[Any], ints: Sequence[int], floats: Sequence[float]) -> None:
    h = call.host
    _axial.op(call.ctx._capsule, name, tuple(None if a is None else h(a) for a in arrays),
              tuple(int(i) for i in ints), tuple(float(f) for f in floats), _dlpack_stream(call.ctx), call.flags)


def _window(window: Tuple[int, int]) -> Tuple[int, int]:
    try:
        left, right = window
    except (TypeError, ValueError):
        raise InvalidArgumentError(f"window: expected a pair (left, right), got {window!r}", 1) from None
    return int(left), int(right)


def _attention_ints_floats(causal: bool, window: Tuple[int, int], scale: Optional[float], softcap: float,
                           max_seqlen_q: int, max_seqlen_k: int) -> Tuple[Tuple[int, ...], Tuple[float, ...]]:
    left, right = _window(window)
    if scale is not None and not scale > 0:
        raise InvalidArgumentError(f"scale: {scale}, expected a finite value > 0 (None = 1/sqrt(D))", 1)
    return (int(bool(causal)), left, right, int(max_seqlen_q), int(max_seqlen_k)), (
        0.0 if scale is None else float(scale), float(softcap))


def _lse_shape(q: Any, packed: bool) -> Tuple[int, ...]:
    shape = tuple(q.shape)
    if packed and len(shape) == 3:
        return (shape[1], shape[0])  # (H, T)
    if not packed and len(shape) == 4:
        return (shape[0], shape[2], shape[1])  # (B, H, Sq)
    return (0,)  # the library reports q's own shape error first


def attention(q: Any, k: Any, v: Any, *, causal: bool = False, window: Tuple[int, int] = (-1, -1),
              bias: Any = None, scale: Optional[float] = None, softcap: float = 0.0, cu_seqlens_q: Any = None,
              cu_seqlens_k: Any = None, max_seqlen_q: int = 0, max_seqlen_k: int = 0, return_lse: bool = False,
              out: Any = None, lse: Any = None, context: Optional[Context] = None, stream: Any = None) -> Any:
    """Flash attention forward (``ax_attention_forward``): ``softmax(softcap·tanh(scale·q·kᵀ/softcap) +
    bias, masked)·v`` without forming the Sq×Sk logits.

    Args:
        q: (B, Sq, H, D), or (Tq, H, D) packed with ``cu_seqlens_q``.
        k, v: (B, Sk, Hkv, D), or (Tk, Hkv, D) packed; H must be a multiple of Hkv (GQA/MQA).
        causal: causal mask aligned bottom-right when Sq != Sk (as FlashAttention >= 2.1).
        window: (left, right) sliding window around each query's position; -1 = unbounded.
        bias: None or (B, H, Sq, Sk), all four dims, each of size 1 to broadcast (PyTorch's rule of
            leading dims added does not apply), in q's dtype or float32.
        scale: multiplies q·k; None = 1/sqrt(D).
        softcap: > 0 soft-caps the scaled logits; 0 = none.
        cu_seqlens_q, cu_seqlens_k: int32 (B + 1,) cumulative sequence lengths for packed batches.
        max_seqlen_q, max_seqlen_k: CUDA grid hints for packed batches (0 = the totals).
        return_lse: also return the float32 log-sum-exp, (B, H, Sq) or (H, Tq) packed.
        out, lse: optional preallocated outputs. Packed, the rows past cu_seqlens_q[-1] are left as
            they are: those of outputs made here read 0 (out) and -inf (lse), as a row seeing no key
            (NumPy, PyTorch and CuPy outputs; an axial.Tensor on a device is not filled).
        context, stream: as for :func:`axial.evoformer_attention`.

    Returns:
        ``out`` in q's dtype and shape, or ``(out, lse)``.

    Raises:
        InvalidArgumentError: shapes, dtypes, devices, strides, H % Hkv, cu_seqlens, window with causal.
        UnsupportedError: device limits (CUDA: D <= 256 and a multiple of 8).
    """
    call = _Call(q, "q", context, stream)
    packed = cu_seqlens_q is not None or cu_seqlens_k is not None
    # The op leaves rows past cu_seqlens_q[-1] as it finds them: outputs made here start as a row that
    # sees no key (out 0, lse -inf) there, not as uninitialised memory (a NaN loss over the buffer).
    tail = _tail_start(call, cu_seqlens_q) if cu_seqlens_q is not None else None
    if out is None:
        out = _fill_tail(call, call.empty(tuple(q.shape)), tail, 0.0, 0)
    if lse is None and return_lse:
        lse = _fill_tail(call, call.empty(_lse_shape(q, packed), dtype="float32"), tail, float("-inf"), 1)
    ints, floats = _attention_ints_floats(causal, window, scale, softcap, max_seqlen_q, max_seqlen_k)
    _run(call, "attention_forward", (q, k, v, bias, cu_seqlens_q, cu_seqlens_k, out, lse), ints, floats)
    return (out, lse) if return_lse else out


def _tail_start(call: _Call, cu_seqlens_q: Any) -> int:
    """Where the rows no sequence owns begin: cu_seqlens_q[-1] when host memory holds it (reading it
    costs nothing there), else 0 (the whole output is filled, asynchronously, on a device)."""
    if call.device[0] != "cpu":
        return 0
    try:
        return int(cu_seqlens_q[-1])  # NumPy and PyTorch alike
    except (TypeError, ValueError, IndexError):
        return 0


def _fill_tail(call: _Call, x: Any, start: Optional[int], value: float, dim: int) -> Any:
    """x with its entries from index `start` of dimension `dim` (0 or 1) set to value (None: x as it
    is), where its library can fill (NumPy, PyTorch, CuPy; not Axial's own device Tensor)."""
    fillable = call.library == "torch" or hasattr(x, "fill")
    if start is None or not fillable or len(x.shape) <= dim or start >= x.shape[dim]:
        return x  # (a misshapen q is the op's to report, with its own message)
    part = x[max(start, 0):] if dim == 0 else x[:, max(start, 0):]
    if call.library == "torch":
        part.fill_(value)
    elif hasattr(part, "fill"):
        part.fill(value)
    return x


def attention_backward(q: Any, k: Any, v: Any, out: Any, lse: Any, dout: Any, *, causal: bool = False,
                       window: Tuple[int, int] = (-1, -1), bias: Any = None, scale: Optional[float] = None,
                       softcap: float = 0.0, cu_seqlens_q: Any = None, cu_seqlens_k: Any = None,
                       max_seqlen_q: int = 0, max_seqlen_k: int = 0, want_dbias: bool = True,
                       grads: Optional[Tuple[Any, Any, Any, Any]] = None, context: Optional[Context] = None,
                       stream: Any = None) -> Tuple[Any, Any, Any, Any]:
    """Gradients of :func:`attention` (``ax_attention_backward``), deterministic (no atomics).

    Args:
        q, k, v, out, lse: the forward's inputs, output and log-sum-exp (``return_lse=True``).
        dout: gradient of the loss with respect to ``out``.
        causal, window, bias, scale, softcap, cu_seqlens_q, cu_seqlens_k, max_seqlen_q, max_seqlen_k:
            the forward's options.
        want_dbias: compute the bias gradient when a bias is given.
        grads: optional preallocated ``(dq, dk, dv, dbias)``. Packed, dq's rows past
            ``cu_seqlens_q[-1]`` are left as they are; those of a dq made here read 0 (NumPy, PyTorch
            and CuPy; an axial.Tensor on a device is not filled).

    Returns:
        ``(dq, dk, dv, dbias)``; dk and dv sum over the query heads sharing a KV head; dbias has the
        bias's shape and dtype, summed over its broadcast dimensions (None without a bias).
    """
    call = _Call(q, "q", context, stream)
    if grads is None:
        # dq's rows past cu_seqlens_q[-1] are not written: made here, they read 0, as the forward's out.
        tail = _tail_start(call, cu_seqlens_q) if cu_seqlens_q is not None else None
        grads = (_fill_tail(call, call.empty(tuple(q.shape)), tail, 0.0, 0), call.empty(tuple(k.shape), like=k),
                 call.empty(tuple(v.shape), like=v),
                 call.empty(tuple(bias.shape), like=bias) if bias is not None and want_dbias else None)
    dq, dk, dv, dbias = grads
    ints, floats = _attention_ints_floats(causal, window, scale, softcap, max_seqlen_q, max_seqlen_k)
    _run(call, "attention_backward",
         (q, k, v, bias, out, lse, dout, cu_seqlens_q, cu_seqlens_k, dq, dk, dv, dbias), ints, floats)
    return dq, dk, dv, dbias


def paged_attention(q: Any, k_cache: Any, v_cache: Any, block_table: Any, context_lens: Any, cu_seqlens_q: Any, *,
                    causal: bool = True, window: Tuple[int, int] = (-1, -1), scale: Optional[float] = None,
                    softcap: float = 0.0, k_scales: Any = None, v_scales: Any = None, num_splits: int = 0,
                    max_seqlen_q: int = 0, max_context_len: int = 0, return_lse: bool = False, out: Any = None,
                    lse: Any = None, context: Optional[Context] = None, stream: Any = None) -> Any:
    """Paged attention (``ax_paged_attention``) for a ragged batch of query tokens, any mix of prefill
    chunks and decode tokens, over a KV cache in blocks.

    Args:
        q: (T, H, D) query tokens; sequence s owns rows ``cu_seqlens_q[s]:cu_seqlens_q[s+1]``, its last
            tokens.
        k_cache, v_cache: (num_blocks, block_size, Hkv, D), q's dtype, or int8 / float8_e4m3fn with
            ``k_scales``/``v_scales`` (num_blocks, Hkv) float32.
        block_table: int32 (num_seqs, max_blocks); context_lens: int32 (num_seqs,), new tokens included;
        cu_seqlens_q: int32 (num_seqs + 1,).
        causal, window, scale, softcap: as for :func:`attention` (causal by default).
        num_splits: split-K parts per query row (0 = chosen from the shape, 1 = none).
        max_seqlen_q, max_context_len: CUDA grid hints (0 = safe defaults).
        return_lse: also return the float32 (H, T) log-sum-exp.
        out, lse: optional preallocated outputs. Their rows past ``cu_seqlens_q[-1]`` are left as they
            are; those of outputs made here read 0 (out) and -inf (lse) (NumPy, PyTorch and CuPy).

    Returns:
        ``out`` (T, H, D) in q's dtype, or ``(out, lse)``.
    """
    call = _Call(q, "q", context, stream)
    # Rows past cu_seqlens_q[-1] are not written: outputs made here read 0 (out) and -inf (lse) there.
    tail = _tail_start(call, cu_seqlens_q)
    if out is None:
        out = _fill_tail(call, call.empty(tuple(q.shape)), tail, 0.0, 0)
    if lse is None and return_lse:
        lse = _fill_tail(call, call.empty((q.shape[1], q.shape[0]) if len(q.shape) == 3 else (0,), dtype="float32"),
                         tail, float("-inf"), 1)
    left, right = _window(window)
    ints = (int(bool(causal)), left, right, int(num_splits), int(max_seqlen_q), int(max_context_len))
    floats = (0.0 if scale is None else float(scale), float(softcap))
    _run(call, "paged_attention",
         (q, k_cache, v_cache, block_table, context_lens, cu_seqlens_q, k_scales, v_scales, out, lse), ints, floats)
    return (out, lse) if return_lse else out


def kv_cache_append(k: Any, v: Any, slot_mapping: Any, k_cache: Any, v_cache: Any, *, k_scales: Any = None,
                    v_scales: Any = None, context: Optional[Context] = None, stream: Any = None) -> None:
    """Writes T new K/V rows (T, Hkv, D) into their cache slots (``ax_kv_cache_append``): row t goes to
    block ``slot_mapping[t] // block_size``, row ``slot_mapping[t] % block_size``; a negative slot skips
    the row. int8 / float8_e4m3fn caches keep a float32 scale per (block, KV head) in ``k_scales`` /
    ``v_scales``, grown (and the block requantized) as rows arrive. The caches are written in place."""
    call = _Call(k, "k", context, stream)
    _run(call, "kv_cache_append", (k, v, slot_mapping, k_cache, v_cache, k_scales, v_scales), (), ())


# ---- nn.h: norms, RoPE, activations, embedding, softmax --------------------------------------------

_ACTIVATIONS = {"silu": 0, "gelu_tanh": 1, "gelu_erf": 2, "gelu": 1}
_ROPE_LAYOUTS = {"adjacent": 0, "neox": 1}
_BLOCK_DTYPES = {"q4_0": (10, 32, 18), "q4_1": (11, 32, 20), "q8_0": (12, 32, 34), "q4_k": (13, 256, 144),
                 "q6_k": (14, 256, 210)}


def _kind(kind: str) -> int:
    if kind not in _ACTIVATIONS:
        raise InvalidArgumentError(f"kind: {kind!r}, expected one of {sorted(_ACTIVATIONS)}", 1)
    return _ACTIVATIONS[kind]


def rms_norm(x: Any, weight: Any = None, eps: float = 1e-5, *, residual: Any = None, return_residual: bool = False,
             out: Any = None, context: Optional[Context] = None, stream: Any = None) -> Any:
    """RMSNorm over the last dim (``ax_rms_norm``; with ``residual``, ``ax_rms_norm_residual``: the norm
    of ``x + residual``, the Llama pre-norm pattern). Returns ``out`` in x's dtype, or ``(out, h)`` with
    ``return_residual`` (h = x + residual, the next layer's residual stream)."""
    if return_residual and residual is None:  # it had returned (out, None)
        raise InvalidArgumentError("return_residual: needs a residual (h = x + residual)", 1)
    call = _Call(x, "x", context, stream)
    out = call.empty(tuple(x.shape)) if out is None else out
    res_out = call.empty(tuple(x.shape)) if return_residual else None
    _run(call, "rms_norm", (x, residual, weight, out, res_out), (), (eps,))
    return (out, res_out) if return_residual else out


def rms_norm_backward(x: Any, weight: Any, dout: Any, eps: float = 1e-5, *, context: Optional[Context] = None,
                      stream: Any = None) -> Tuple[Any, Any]:
    """Gradients of :func:`rms_norm` (``ax_rms_norm_backward``): ``(dx, dweight)``; dweight (float32 rows
    summed in a fixed order, so deterministic) is None without a weight."""
    call = _Call(x, "x", context, stream)
    dx = call.empty(tuple(x.shape))
    dw = None if weight is None else call.empty(tuple(weight.shape), like=weight)
    _run(call, "rms_norm_backward", (x, weight, dout, dx, dw), (), (eps,))
    return dx, dw


def layer_norm(x: Any, weight: Any = None, bias: Any = None, eps: float = 1e-5, *, residual: Any = None,
               return_residual: bool = False, return_stats: bool = False, out: Any = None,
               context: Optional[Context] = None, stream: Any = None) -> Any:
    """LayerNorm over the last dim (``ax_layer_norm``), optionally of ``x + residual``. Returns ``out``,
    followed by h = x + residual with ``return_residual`` and by the float32 ``(mean, rstd)`` of each
    row with ``return_stats``."""
    if return_residual and residual is None:  # it had returned (out, None)
        raise InvalidArgumentError("return_residual: needs a residual (h = x + residual)", 1)
    call = _Call(x, "x", context, stream)
    out = call.empty(tuple(x.shape)) if out is None else out
    res_out = call.empty(tuple(x.shape)) if return_residual else None
    rows = tuple(x.shape[:-1])
    mean = call.empty(rows, dtype="float32") if return_stats else None
    rstd = call.empty(rows, dtype="float32") if return_stats else None
    _run(call, "layer_norm", (x, residual, weight, bias, out, res_out, mean, rstd), (), (eps,))
    result = (out,) + ((res_out,) if return_residual else ()) + ((mean, rstd) if return_stats else ())
    return result if len(result) > 1 else out


def layer_norm_backward(x: Any, weight: Any, dout: Any, eps: float = 1e-5, *, want_dbias: bool = True,
                        context: Optional[Context] = None, stream: Any = None) -> Tuple[Any, Any, Any]:
    """Gradients of :func:`layer_norm` (``ax_layer_norm_backward``): ``(dx, dweight, dbias)``, None where
    not wanted or without a weight."""
    call = _Call(x, "x", context, stream)
    D = x.shape[-1]
    dx = call.empty(tuple(x.shape))
    dw = None if weight is None else call.empty(tuple(weight.shape), like=weight)
    db = call.empty((D,), like=weight if weight is not None else x) if want_dbias else None
    _run(call, "layer_norm_backward", (x, weight, dout, dx, dw, db), (), (eps,))
    return dx, dw, db


def rope(x: Any, positions: Any, *, rotary_dim: int = 0, layout: str = "adjacent", base: float = 10000.0,
         linear_factor: float = 1.0, ntk_factor: float = 1.0, backward: bool = False, out: Any = None,
         context: Optional[Context] = None, stream: Any = None) -> Any:
    """Rotary position embedding of x (T, H, D) at int32/int64 ``positions`` (T,) (``ax_rope``):
    ``layout`` "adjacent" (pairs (2i, 2i+1), as GGUF stores Llama's Q/K) or "neox" (pairs (i, i+d/2));
    the first ``rotary_dim`` (0 = D) elements of each head rotate. ``backward=True`` applies the inverse
    rotation (``ax_rope_backward``: the gradient). ``out`` may be x (in place)."""
    if layout not in _ROPE_LAYOUTS:
        raise InvalidArgumentError(f"layout: {layout!r}, expected 'adjacent' or 'neox'", 1)
    call = _Call(x, "x", context, stream)
    out = call.empty(tuple(x.shape)) if out is None else out
    _run(call, "rope", (x, positions, out), (rotary_dim, _ROPE_LAYOUTS[layout], int(backward)),
         (base, linear_factor, ntk_factor))
    return out


def activation(x: Any, kind: str = "silu", *, dout: Any = None, out: Any = None, context: Optional[Context] = None,
               stream: Any = None) -> Any:
    """Elementwise activation (``ax_activation``): kind "silu", "gelu_tanh" ("gelu") or "gelu_erf". With
    ``dout``, the gradient with respect to x instead (``ax_activation_backward``)."""
    call = _Call(x, "x", context, stream)
    out = call.empty(tuple(x.shape)) if out is None else out
    _run(call, "activation", (x, dout, out), (_kind(kind), int(dout is not None)), ())
    return out


def glu(gate: Any, up: Any, kind: str = "silu", *, out: Any = None, context: Optional[Context] = None,
        stream: Any = None) -> Any:
    """Gated linear unit ``act(gate) * up`` (``ax_glu``): SwiGLU with "silu", GeGLU with "gelu_tanh" /
    "gelu_erf"."""
    call = _Call(gate, "gate", context, stream)
    out = call.empty(tuple(gate.shape)) if out is None else out
    _run(call, "glu", (gate, up, None, out, None), (_kind(kind), 0), ())
    return out


def glu_backward(gate: Any, up: Any, dout: Any, kind: str = "silu", *, context: Optional[Context] = None,
                 stream: Any = None) -> Tuple[Any, Any]:
    """Gradients of :func:`glu` (``ax_glu_backward``): ``(dgate, dup)``."""
    call = _Call(gate, "gate", context, stream)
    dgate, dup = call.empty(tuple(gate.shape)), call.empty(tuple(up.shape), like=up)
    _run(call, "glu", (gate, up, dout, dgate, dup), (_kind(kind), 1), ())
    return dgate, dup


def embedding(ids: Any, table: Any, *, table_dtype: Optional[str] = None, out: Any = None, context: Optional[Context] = None, stream: Any = None) -> Any:
    """Rows of ``table`` at int32/int64 ``ids`` (T,) -> (T, D) (``ax_embedding``). ``table`` is (V, D)
    float32/bfloat16/float16, or with ``table_dtype`` one of "q4_0", "q4_1", "q8_0", "q4_k", "q6_k" a
    (V, row_bytes) uint8 array of GGUF blocks, dequantized row by row. Returns float32 (T, D) unless
    ``out`` (float32, bfloat16 or float16) is given. Ids out of range are an error."""
    call = _Call(table, "table", context, stream)
    code, D = _block_matrix(table, table_dtype, "table")
    if out is None:
        n = ids.shape[0] if len(ids.shape) == 1 else 0
        out = call.empty((n, D), dtype="float32")
    _run(call, "embedding", (ids, table, out), (code,), ())
    return out


def softmax(x: Any, scale: float = 1.0, *, dout: Any = None, out: Any = None, context: Optional[Context] = None,
            stream: Any = None) -> Any:
    """Softmax of ``scale * x`` over the last dim (``ax_softmax``). With ``dout``, x must be the softmax
    output y and the result is the gradient with respect to the input (``ax_softmax_backward``)."""
    call = _Call(x, "x", context, stream)
    out = call.empty(tuple(x.shape)) if out is None else out
    _run(call, "softmax", (x, dout, out), (int(dout is not None),), (scale,))
    return out


# ---- sampling.h ---------------------------------------------------------------------------------------

# ax_sampling_row, 48 bytes in the host's byte order (include/axial/sampling.h).
_SAMPLING_ROW = np.dtype([("seed", "<u8"), ("counter", "<u8"), ("temperature", "<f4"), ("top_k", "<i4"),
                          ("top_p", "<f4"), ("min_p", "<f4"), ("repetition_penalty", "<f4"),
                          ("frequency_penalty", "<f4"), ("presence_penalty", "<f4"), ("reserved", "<u4")])


def _to_device(call: _Call, a: np.ndarray) -> Any:
    """A host array moved next to the reference input (PyTorch or CuPy CUDA tensors)."""
    if call.library == "torch":
        import torch

        return torch.from_numpy(np.ascontiguousarray(a)).to(call.ref.device)
    if call.library == "cupy":
        import cupy

        return cupy.asarray(a)
    return a


def sample(logits: Any, *, temperature: Any = 1.0, top_k: Any = 0, top_p: Any = 1.0, min_p: Any = 0.0,
           repetition_penalty: Any = 1.0, frequency_penalty: Any = 0.0, presence_penalty: Any = 0.0,
           seed: Any = 0, counter: Any = 0, history: Optional[Sequence[Sequence[int]]] = None,
           return_probs: bool = False, context: Optional[Context] = None, stream: Any = None) -> Any:
    """One token per row of ``logits`` (N, V) (``ax_sample``): penalties over each row's ``history``,
    temperature (0 = greedy), top-k, softmax, top-p, min-p, then a draw with the counter-based uniform
    of (seed, counter), so the same seed and counter give the same token in any batch. Every setting is
    a scalar for all rows or a sequence of N values. Returns int32 tokens (N,) (-1 for a row with every
    logit -inf), or ``(tokens, probs)`` with the chosen tokens' float32 probabilities. CUDA logits must
    be PyTorch or CuPy tensors (the settings are copied to the device with that library)."""
    call = _Call(logits, "logits", context, stream)
    n = int(logits.shape[0]) if len(logits.shape) == 2 else 0
    rows = np.zeros(n, _SAMPLING_ROW)
    for name, value in (("seed", seed), ("counter", counter), ("temperature", temperature), ("top_k", top_k),
                        ("top_p", top_p), ("min_p", min_p), ("repetition_penalty", repetition_penalty),
                        ("frequency_penalty", frequency_penalty), ("presence_penalty", presence_penalty)):
        values = np.asarray(value)
        if values.ndim not in (0, 1) or (values.ndim == 1 and values.shape[0] != n):
            raise InvalidArgumentError(f"{name}: expected a scalar or {n} values, got shape {values.shape}", 1)
        field = _SAMPLING_ROW.fields[name][0]
        if field.kind in "iu":
            # Integers stay integers and in range (numpy's cast would wrap seed=-1 to 2**64 - 1 and
            # truncate top_k=3.7), as the LLM binding checks them.
            info = np.iinfo(field)
            if values.dtype.kind not in "iu" or (values.size > 0 and (int(values.min()) < info.min or
                                                                     int(values.max()) > info.max)):
                raise InvalidArgumentError(f"{name}: expected integers in [{info.min}, {info.max}], got {value!r}",
                                           1)
        rows[name] = values
    settings = _to_device(call, rows.view(np.uint8).reshape(n, _SAMPLING_ROW.itemsize))
    ids = offsets = None
    if history is not None:
        if len(history) != n:
            raise InvalidArgumentError(f"history: expected {n} rows of token ids, got {len(history)}", 1)
        lengths = [len(h) for h in history]
        offsets = _to_device(call, np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64))
        flat = [int(t) for h in history for t in h]
        ids = _to_device(call, np.asarray(flat if flat else [0], np.int32))
    if call.library == "other" and call.device[0] == "cuda":
        raise InvalidArgumentError("logits: CUDA logits must be a PyTorch or CuPy tensor here (the settings are "
                                   "moved to the device with that library)", 1)
    tokens = call.empty((n,), dtype="int32")
    probs = call.empty((n,), dtype="float32") if return_probs else None
    _run(call, "sample", (logits, settings, ids, offsets, tokens, probs), (), ())
    return (tokens, probs) if return_probs else tokens


# ---- linalg.h: quantized matmul ------------------------------------------------------------------------


def _block_matrix(w: Any, w_dtype: Optional[str], name: str) -> Tuple[int, int]:
    """(ax_dtype code or -1, K) of a weight/table given raw GGUF blocks (w_dtype) or a float array."""
    if w_dtype is None:
        return -1, int(w.shape[-1]) if len(w.shape) == 2 else 0
    if w_dtype not in _BLOCK_DTYPES:
        raise InvalidArgumentError(f"{name}_dtype: {w_dtype!r}, expected one of {sorted(_BLOCK_DTYPES)}", 1)
    code, elems, nbytes = _BLOCK_DTYPES[w_dtype]
    if len(w.shape) != 2 or w.shape[1] % nbytes:
        raise InvalidArgumentError(f"{name}: a {w_dtype} matrix must be (rows, row_bytes) uint8 with row_bytes a "
                                   f"multiple of {nbytes}, got shape {tuple(w.shape)}", 1)
    return code, w.shape[1] // nbytes * elems


class QWeight:
    """A q4_0 / q4_1 / q8_0 weight matrix copied once into the packed layout of ``ax_qweight_pack``
    (host memory; N a multiple of 16), for ``qmatmul(x, qweight)``: bit for bit the product with the
    GGUF matrix, faster for one row of x on AVX2 and AVX-512 CPUs when the matrix sits in cache
    (docs/linalg.md). ``w`` is a (N, row_bytes) uint8 array of GGUF blocks of ``w_dtype``."""

    def __init__(self, w: Any, w_dtype: str) -> None:
        if w_dtype not in ("q4_0", "q4_1", "q8_0"):
            raise InvalidArgumentError(f"w_dtype: {w_dtype!r}, packing takes 'q4_0', 'q4_1' or 'q8_0'", 1)
        code, k = _block_matrix(w, w_dtype, "w")
        self._capsule = _axial.qweight_pack(w, code)
        self.shape = (int(w.shape[0]), int(k))
        self.dtype = w_dtype

    def __repr__(self) -> str:
        return f"QWeight(shape={self.shape}, dtype={self.dtype!r})"


def qmatmul(x: Any, w: Any, bias: Any = None, *, w_dtype: Optional[str] = None, out: Any = None,
            context: Optional[Context] = None, stream: Any = None) -> Any:
    """``y = x · wᵀ (+ bias)`` with w in GGUF layout (``ax_qmatmul``): x (M, K) float32 or bfloat16; w
    (N, K) float32/bfloat16/float16, or with ``w_dtype`` one of "q4_0", "q4_1", "q8_0", "q4_k", "q6_k" a
    (N, row_bytes) uint8 array of GGUF blocks (as ``gguf.quants.quantize`` returns), or a ``QWeight``
    (``ax_qmatmul_packed``; CPU contexts). Returns y (M, N) float32 unless ``out`` is given. With a
    block-quantized w, x is quantized too, in groups of 8-bit levels with a float scale (as llama.cpp
    does): the error bound is in ``include/axial/linalg.h`` (about 6e-3 relative against the
    dequantized product for random data); a float w gives fp32 accuracy."""
    call = _Call(x, "x", context, stream)
    if isinstance(w, QWeight):
        if out is None:
            out = call.empty((x.shape[0] if len(x.shape) == 2 else 0, w.shape[0]), dtype="float32")
        h = call.host
        _axial.qmatmul_packed(call.ctx._capsule, w._capsule, h(x), None if bias is None else h(bias), h(out),
                              _dlpack_stream(call.ctx), call.flags)
        return out
    code, _ = _block_matrix(w, w_dtype, "w")
    if out is None:
        m = x.shape[0] if len(x.shape) == 2 else 0
        out = call.empty((m, w.shape[0] if len(w.shape) == 2 else 0), dtype="float32")
    _run(call, "qmatmul", (x, w, bias, out), (code,), ())
    return out
