"""Mixture-of-Experts ops on one device over NumPy arrays, DLPack producers (PyTorch, CuPy, JAX) and
:class:`axial.Tensor`: top-k routing with capacity and the aux / z losses, dispatch into expert order and
the weighted combine back, the grouped GEMM over expert segments (float or GGUF block-quantized weights),
and the whole SwiGLU MoE feed-forward layer (with the PR-MoE dense residual MLP), forward and backward.
Each function documents its C counterpart in ``include/axial/moe.h`` (docs/moe.md). Names: T tokens,
E experts, k choices per token, D model width, F expert hidden width, R rows of an expert-sorted buffer.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Tuple, Union

from ._attention import Context, _Call
from ._tensor import DTYPES, Tensor, describe
from ._transformer import _ACTIVATIONS, _BLOCK_DTYPES, _run
from .errors import InvalidArgumentError

__all__ = ["moe_route", "moe_route_backward", "moe_dispatch", "moe_combine", "moe_combine_backward",
           "moe_grouped_gemm", "moe_grouped_gemm_dw", "moe_ffn", "moe_ffn_backward"]

_GATINGS = {"softmax": 0, "sigmoid": 1}  # ax_moe_gating
_EXPERT_WEIGHTS = ("gate", "up", "down")
_DENSE_WEIGHTS = ("dense_gate", "dense_up", "dense_down")


def _dim(x: Any, ndim: int, axis: int) -> int:
    """x.shape[axis] when x has `ndim` dims, else 0 (the library then reports x's own shape error)."""
    shape = tuple(x.shape)
    return int(shape[axis]) if len(shape) == ndim else 0


def _empty(call: _Call, shape: Tuple[int, ...], dtype: Optional[str] = None, zero: bool = False) -> Any:
    """An output of `shape` in the reference's library and device, of dtype name `dtype` (None: the
    reference's dtype); zero-filled with `zero` where the library can (NumPy, PyTorch, CuPy, host memory),
    so rows an op leaves unwritten read as 0."""
    out = call.empty(tuple(max(int(n), 0) for n in shape), dtype=dtype)
    if zero:
        if call.library == "torch":
            out.zero_()
        elif not isinstance(out, Tensor):
            out.fill(0)
    return out


def _dtype_name(x: Any, name: str) -> str:
    """The Axial dtype name of an array ("float32", "bfloat16", "uint8", ...)."""
    code = describe(x, name)[0]
    return DTYPES[code][0] if code in DTYPES else "unknown"


def _route_scalars(k: int, gating: str, renormalize: bool, capacity_factor: float,
                   min_capacity: int) -> Tuple[Tuple[int, ...], Tuple[float, ...]]:
    """ints (top_k, gating, normalize, min_capacity) and floats (capacity_factor) of ax_moe_route_config."""
    if gating not in _GATINGS:
        raise InvalidArgumentError(f"gating: {gating!r}, expected 'softmax' or 'sigmoid'", 1)
    return (int(k), _GATINGS[gating], int(bool(renormalize)), int(min_capacity)), (float(capacity_factor),)


def _act(act: str) -> int:
    if act not in _ACTIVATIONS:
        raise InvalidArgumentError(f"act: {act!r}, expected one of {sorted(_ACTIVATIONS)}", 1)
    return _ACTIVATIONS[act]


def _block_code(w: Any, name: str, w_dtype: Union[None, str, Dict[str, str]], ndim: int) -> int:
    """The ax_dtype code of weight `name` given as raw GGUF blocks (a uint8 array with a block dtype from
    w_dtype: one name for every such weight, or a dict by weight name), else -1 (taken as it is)."""
    if w is None or w_dtype is None:
        return -1
    if isinstance(w_dtype, dict):
        unknown = sorted(set(w_dtype) - set(_EXPERT_WEIGHTS + _DENSE_WEIGHTS))
        if unknown:
            raise InvalidArgumentError(f"w_dtype: no weight named {unknown[0]!r} can be block-quantized "
                                       f"(gate, up, down, dense_gate, dense_up, dense_down)", 1)
        qtype = w_dtype.get(name)
    else:
        qtype = w_dtype
    if qtype is None or _dtype_name(w, name) != "uint8":
        return -1
    if qtype not in _BLOCK_DTYPES:
        raise InvalidArgumentError(f"w_dtype: {qtype!r} for {name}, expected one of {sorted(_BLOCK_DTYPES)}", 1)
    code, _, nbytes = _BLOCK_DTYPES[qtype]
    shape = tuple(w.shape)
    if len(shape) != ndim or shape[-1] % nbytes:
        layout = "(E, rows, row_bytes)" if ndim == 3 else "(rows, row_bytes)"
        raise InvalidArgumentError(f"{name}: a {qtype} weight must be {layout} uint8 with row_bytes a multiple of "
                                   f"{nbytes}, got shape {shape}", 1)
    return code


# ---- routing --------------------------------------------------------------------------------------------


def moe_route(logits: Any, k: int, *, gating: str = "softmax", renormalize: bool = True,
              capacity_factor: float = 0.0, min_capacity: int = 0, return_probs: bool = False,
              return_losses: bool = False, context: Optional[Context] = None, stream: Any = None) -> Tuple[Any, ...]:
    """Routes T tokens to k of E experts each (``ax_moe_route``).

    p = softmax(logits) over the experts (``gating="softmax"``) or sigmoid(logits) per expert
    (``"sigmoid"``); each token takes its k largest p in decreasing order, ties to the lowest expert id.
    A kept choice's weight is its p, divided by the sum of the token's kept p with ``renormalize``.
    With ``capacity_factor > 0`` every expert takes at most ``C = max(min_capacity, ceil(T *
    capacity_factor / E))`` choices, filled in priority order (every token's choice 0 in token order,
    then every choice 1, ...); a choice reaching a full expert is dropped (id -1, weight 0).

    Args:
        logits: (T, E) float32, bfloat16 or float16, last dim contiguous.
        k: experts per token, 1 <= k <= E.
        gating: "softmax" or "sigmoid".
        renormalize: divide the kept weights of a token by their sum.
        capacity_factor: 0 = no capacity (nothing dropped); > 0 as above.
        min_capacity: >= 0, the least capacity (ignored without one).
        return_probs: also return the float32 (T, E) gating probabilities p.
        return_losses: also return float32 (2,) ``[aux, z]``: aux = E·Σ_e f_e·P_e (f_e the fraction of
            the T·k choices that picked e before dropping, P_e the mean of p[:, e]; 1 when balanced),
            z = mean_t logsumexp(logits[t])² (ST-MoE router z-loss).
        context, stream: as for :func:`axial.evoformer_attention`.

    Returns:
        ``(expert_ids, weights)``: int32 (T, k) ids (-1 where dropped) and float32 (T, k) weights,
        followed by ``probs`` with ``return_probs`` and ``losses`` with ``return_losses``.

    Raises:
        InvalidArgumentError: k outside [1, E], an unknown gating, a negative or non-finite
            capacity_factor, min_capacity < 0, shapes or dtypes (the message names the argument).
    """
    call = _Call(logits, "logits", context, stream)
    ints, floats = _route_scalars(k, gating, renormalize, capacity_factor, min_capacity)
    T, E = _dim(logits, 2, 0), _dim(logits, 2, 1)
    if not 1 <= int(k) <= E:  # before the outputs are allocated (k = 2**40 had been a MemoryError)
        raise InvalidArgumentError(f"k (top_k): {int(k)}, expected a value in [1, E = {E}]", 1)
    ids, weights = _empty(call, (T, k), "int32"), _empty(call, (T, k), "float32")
    probs = _empty(call, (T, E), "float32") if return_probs else None
    losses = _empty(call, (2,), "float32") if return_losses else None
    _run(call, "moe_route", (logits, ids, weights, probs, losses), ints, floats)
    return (ids, weights) + ((probs,) if return_probs else ()) + ((losses,) if return_losses else ())


def moe_route_backward(logits: Any, k: int, dweights: Any = None, *, gating: str = "softmax",
                       renormalize: bool = True, capacity_factor: float = 0.0, min_capacity: int = 0,
                       aux_coef: float = 0.0, z_coef: float = 0.0, out: Any = None,
                       context: Optional[Context] = None, stream: Any = None) -> Any:
    """Gradient with respect to the logits (``ax_moe_route_backward``) of
    ``L = Σ dweights·weights + aux_coef·aux + z_coef·z`` for :func:`moe_route` with the same logits and
    options. The selection and the drops are recomputed from the logits and held fixed (only p carries a
    gradient: through the weights and their renormalisation, P_e of aux and the logsumexp of z).

    Args:
        logits: (T, E) float32, bfloat16 or float16, the forward's.
        k, gating, renormalize, capacity_factor, min_capacity: the forward's options.
        dweights: None (no weight term) or float32 (T, k), the gradient of L with respect to weights.
        aux_coef, z_coef: finite weights of the losses in L (0 leaves a loss out).
        out: optional preallocated (T, E) output, float32 or logits' dtype.

    Returns:
        ``dlogits`` (T, E) in logits' dtype (or ``out``).
    """
    call = _Call(logits, "logits", context, stream)
    ints, floats = _route_scalars(k, gating, renormalize, capacity_factor, min_capacity)
    out = _empty(call, tuple(logits.shape)) if out is None else out
    _run(call, "moe_route_backward", (logits, dweights, out), ints, floats + (float(aux_coef), float(z_coef)))
    return out


# ---- dispatch and combine -------------------------------------------------------------------------------


def moe_dispatch(x: Any, expert_ids: Any, num_experts: int, *, align: int = 1, num_rows: Optional[int] = None,
                 context: Optional[Context] = None, stream: Any = None) -> Tuple[Any, Any, Any, Any]:
    """Permutes token rows into expert-contiguous order (``ax_moe_dispatch``): the row of every kept choice
    (t, j) goes to its expert's segment; segments in expert order, rows within one in increasing (t, j)
    order, each segment starting at a multiple of ``align`` rows (padding rows are zero).

    Args:
        x: (T, D) float32, bfloat16 or float16, last dim contiguous.
        expert_ids: int32 (T, k), ids in [0, E) or -1 to skip (:func:`moe_route`'s output).
        num_experts: E >= 1.
        align: >= 1, the segments' alignment in rows.
        num_rows: R, the rows of ``x_sorted``; default T·k + E·(align - 1), the most any routing needs.

    Returns:
        ``(x_sorted, offsets, counts, rows)``: x_sorted (R, D) in x's dtype (rows past ``offsets[E]``
        are zeros for NumPy, PyTorch and CuPy outputs, unwritten otherwise); int64 offsets (E + 1,),
        segment e being rows ``offsets[e]:offsets[e + 1]`` (padding included); int64 counts (E,), the rows
        routed to each expert; int64 rows (T, k), the row of x_sorted each choice went to, or -1.

    Raises:
        InvalidArgumentError: shapes, dtypes, E < 1, align < 1, R too small, an id outside [-1, E)
            (CPU; the message names the token and choice).
    """
    call = _Call(x, "x", context, stream)
    T, D = _dim(x, 2, 0), _dim(x, 2, 1)
    k, E = _dim(expert_ids, 2, 1), int(num_experts)
    # Checked before x_sorted is allocated and zeroed, as the docstring promises these errors (a
    # default R is only as large as the memory it needs: a huge align is a MemoryError).
    if E < 1:
        raise InvalidArgumentError(f"num_experts: {E}, expected >= 1", 1)
    if int(align) < 1:
        raise InvalidArgumentError(f"align: {int(align)}, expected >= 1", 1)
    if num_rows is None:
        num_rows = T * k + max(E, 0) * (max(int(align), 1) - 1)
    x_sorted = _empty(call, (num_rows, D), zero=True)
    offsets, counts = _empty(call, (E + 1,), "int64"), _empty(call, (E,), "int64")
    rows = _empty(call, (T, k), "int64")
    _run(call, "moe_dispatch", (x, expert_ids, x_sorted, offsets, counts, rows), (E, int(align)), ())
    return x_sorted, offsets, counts, rows


def moe_combine(y_sorted: Any, rows: Any, weights: Any = None, *, out: Any = None,
                context: Optional[Context] = None, stream: Any = None) -> Any:
    """The weighted un-permute (``ax_moe_combine``): ``y[t] = Σ_{j: rows[t, j] >= 0} weights[t, j] ·
    y_sorted[rows[t, j]]``, summed in float32 in increasing j and rounded once (zeros for a token with no
    kept choice). With ``weights=None`` every weight is 1: the backward of :func:`moe_dispatch`.

    Args:
        y_sorted: (R, D) float32, bfloat16 or float16.
        rows: int64 (T, k), rows of y_sorted or -1 (:func:`moe_dispatch`'s output).
        weights: None or float32 (T, k) (:func:`moe_route`'s output).
        out: optional preallocated (T, D) output, float32 or y_sorted's dtype.

    Returns:
        ``y`` (T, D) in y_sorted's dtype (or ``out``).
    """
    call = _Call(y_sorted, "y_sorted", context, stream)
    if out is None:
        out = call.empty((_dim(rows, 2, 0), _dim(y_sorted, 2, 1)))
    _run(call, "moe_combine", (y_sorted, rows, weights, out), (), ())
    return out


def moe_combine_backward(dy: Any, y_sorted: Any, rows: Any, weights: Any = None, *, num_rows: Optional[int] = None,
                         context: Optional[Context] = None, stream: Any = None) -> Tuple[Any, Optional[Any]]:
    """Gradients of :func:`moe_combine` (``ax_moe_combine_backward``):
    ``dy_sorted[rows[t, j]] = weights[t, j] · dy[t]`` (every other row 0) and
    ``dweights[t, j] = dy[t] · y_sorted[rows[t, j]]`` (0 for a skipped choice).

    Args:
        dy: (T, D) float32, bfloat16 or float16.
        y_sorted: the forward's (R, D) input, or None when only dy_sorted is wanted (then ``num_rows``
            gives R).
        rows: int64 (T, k), each row of y_sorted referenced at most once (as the dispatch makes them).
        weights: None (weight 1) or float32 (T, k).

    Returns:
        ``(dy_sorted, dweights)``: dy_sorted (R, D) in dy's dtype, every row written; dweights float32
        (T, k), or None without ``y_sorted``.
    """
    call = _Call(dy, "dy", context, stream)
    if num_rows is None:
        if y_sorted is None:
            raise InvalidArgumentError("num_rows: required when y_sorted is None (it gives R)", 1)
        num_rows = _dim(y_sorted, 2, 0)
    dy_sorted = _empty(call, (num_rows, _dim(dy, 2, 1)))
    dweights = None if y_sorted is None else _empty(call, (_dim(rows, 2, 0), _dim(rows, 2, 1)), "float32")
    _run(call, "moe_combine_backward", (dy, y_sorted, rows, weights, dy_sorted, dweights), (), ())
    return dy_sorted, dweights


# ---- grouped GEMM ---------------------------------------------------------------------------------------


def moe_grouped_gemm(x: Any, w: Any, offsets: Any, *, trans_w: bool = True, w_dtype: Optional[str] = None,
                     out: Any = None, context: Optional[Context] = None, stream: Any = None) -> Any:
    """One GEMM per expert segment (``ax_moe_grouped_gemm``): for every expert e, on rows
    ``s_e = offsets[e]:offsets[e + 1]``, ``y[s_e] = x[s_e] · w[e]ᵀ`` (``trans_w=True``, w (E, N, K): GGUF's
    layout of a 3-D expert tensor) or ``y[s_e] = x[s_e] · w[e]`` (``trans_w=False``, w (E, K, N), float w
    only).

    Args:
        x: (R, K) float32 or bfloat16, K contiguous.
        w: float32, bfloat16 or float16; or, with ``trans_w`` and ``w_dtype`` one of "q4_0", "q4_1",
            "q8_0", "q4_k", "q6_k", a (E, N, row_bytes) uint8 array of GGUF blocks (each expert's matrix
            as ``gguf.quants.quantize`` returns it), multiplied as :func:`axial.qmatmul` does (on the CPU
            each row of y is bit for bit qmatmul's result for that row of x with w[e]).
        offsets: int64 (E + 1,), nondecreasing, ``offsets[E] <= R`` (:func:`moe_dispatch`'s output).
        out: optional preallocated (R, N) output, float32 or bfloat16.

    Returns:
        ``y`` (R, N) in x's dtype (or ``out``); rows outside ``offsets[0]:offsets[E]`` are zeros for NumPy,
        PyTorch and CuPy outputs (the op does not write them).

    Raises:
        InvalidArgumentError: shapes, dtypes, a quantized w without ``trans_w``, offsets not nondecreasing
            within [0, R] (CPU).
    """
    call = _Call(x, "x", context, stream)
    code = -1
    if w_dtype is not None:
        if w_dtype not in _BLOCK_DTYPES:
            raise InvalidArgumentError(f"w_dtype: {w_dtype!r}, expected one of {sorted(_BLOCK_DTYPES)}", 1)
        code = _block_code(w, "w", w_dtype, 3)
    if out is None:
        n = _dim(w, 3, 1 if trans_w or code >= 0 else 2)
        out = _empty(call, (_dim(x, 2, 0), n), zero=True)
    _run(call, "moe_grouped_gemm", (x, w, offsets, out), (int(bool(trans_w)), code), ())
    return out


def moe_grouped_gemm_dw(dy: Any, x: Any, offsets: Any, *, beta: float = 0.0, out: Any = None,
                        context: Optional[Context] = None, stream: Any = None) -> Any:
    """The expert weight gradient of :func:`moe_grouped_gemm` with ``trans_w=True``
    (``ax_moe_grouped_gemm_dw``): ``dw[e] = dy[s_e]ᵀ · x[s_e] + beta · dw[e]``.

    Args:
        dy: (R, N), x: (R, K): float32 or bfloat16, one dtype.
        offsets: int64 (E + 1,), as for the forward.
        beta: scales ``out``'s previous values (needs ``out``); 0 never reads it.
        out: optional float32 (E, N, K) output, accumulated into when beta != 0.

    Returns:
        ``dw`` float32 (E, N, K) (or ``out``); an expert with no rows gets ``beta · dw[e]``.
    """
    call = _Call(dy, "dy", context, stream)
    if out is None:
        if beta != 0:
            raise InvalidArgumentError(f"out: beta = {beta} accumulates into out, which is missing", 1)
        out = _empty(call, (_dim(offsets, 1, 0) - 1, _dim(dy, 2, 1), _dim(x, 2, 1)), "float32")
    _run(call, "moe_grouped_gemm_dw", (dy, x, offsets, out), (), (float(beta),))
    return out


# ---- the MoE feed-forward layer -------------------------------------------------------------------------


def _ffn_scalars(k: int, gating: str, renormalize: bool, capacity_factor: float, min_capacity: int, act: str,
                 aux_coef: float, z_coef: float) -> Tuple[Tuple[int, ...], Tuple[float, ...]]:
    """ints (top_k, gating, normalize, min_capacity, act) and floats (capacity_factor, aux_coef, z_coef)."""
    ints, floats = _route_scalars(k, gating, renormalize, capacity_factor, min_capacity)
    return ints + (_act(act),), floats + (float(aux_coef), float(z_coef))


def _dense(dense_gate: Any, dense_up: Any, dense_down: Any) -> Tuple[Any, Any, Any]:
    given = [w is not None for w in (dense_gate, dense_up, dense_down)]
    if any(given) and not all(given):
        missing = [n for n, g in zip(_DENSE_WEIGHTS, given) if not g]
        raise InvalidArgumentError(f"{missing[0]}: the dense residual MLP takes all three of dense_gate, dense_up "
                                   f"and dense_down, or none", 1)
    return dense_gate, dense_up, dense_down


def moe_ffn(x: Any, router: Any, gate: Any, up: Any, down: Any, *, dense_gate: Any = None, dense_up: Any = None,
            dense_down: Any = None, k: int = 2, gating: str = "softmax", renormalize: bool = True,
            capacity_factor: float = 0.0, min_capacity: int = 0, act: str = "silu",
            w_dtype: Union[None, str, Dict[str, str]] = None, return_losses: bool = False, out: Any = None,
            context: Optional[Context] = None, stream: Any = None) -> Any:
    """The SwiGLU MoE feed-forward layer (``ax_moe_ffn_forward``), with the PR-MoE dense residual MLP when
    the three dense weights are given::

        ids, w = moe_route(x @ router.T, k, ...)
        expert_e(x) = (act(x @ gate[e].T) * (x @ up[e].T)) @ down[e].T
        y[t] = Σ_j w[t, j] · expert_{ids[t, j]}(x[t])  (+ (act(x @ dense_gate.T) * (x @ dense_up.T)) @ dense_down.T)

    Args:
        x: (T, D) float32 or bfloat16, rows contiguous.
        router: (E, D); gate, up: (E, F, D); down: (E, D, F); dense_gate, dense_up: (Fd, D);
            dense_down: (D, Fd) (GGUF's layouts). Each float32, bfloat16 or float16; the expert and dense
            weights also raw GGUF blocks: uint8 (E, F, row_bytes) / (rows, row_bytes) arrays, with
            ``w_dtype`` naming their block dtype ("q4_0", "q4_1", "q8_0", "q4_k", "q6_k"): one name for
            every uint8 weight, or a dict by weight name (``{"gate": "q4_k", "down": "q6_k", ...}``).
        k, gating, renormalize, capacity_factor, min_capacity: the routing, as for :func:`moe_route`.
        act: the gate activation, "silu" (SwiGLU), "gelu_tanh" ("gelu") or "gelu_erf".
        return_losses: also return the routing's float32 (2,) ``[aux, z]``.
        out: optional preallocated (T, D) output, x's dtype or float32.

    Returns:
        ``y`` (T, D) in x's dtype (or ``out``), or ``(y, losses)`` with ``return_losses``.

    Raises:
        InvalidArgumentError: shapes, dtypes, routing options, some but not all dense weights.
        OutOfMemoryError: scratch (about T·k·(D + 3F) floats) over the context's workspace limit.
    """
    call = _Call(x, "x", context, stream)
    dense = _dense(dense_gate, dense_up, dense_down)
    ints, floats = _ffn_scalars(k, gating, renormalize, capacity_factor, min_capacity, act, 0.0, 0.0)
    codes = tuple(_block_code(w, n, w_dtype, 3) for w, n in zip((gate, up, down), _EXPERT_WEIGHTS)) + \
        tuple(_block_code(w, n, w_dtype, 2) for w, n in zip(dense, _DENSE_WEIGHTS))
    out = call.empty(tuple(x.shape)) if out is None else out
    losses = _empty(call, (2,), "float32") if return_losses else None
    _run(call, "moe_ffn_forward", (x, router, gate, up, down) + dense + (out, losses), ints + codes, floats)
    return (out, losses) if return_losses else out


def moe_ffn_backward(x: Any, router: Any, gate: Any, up: Any, down: Any, dy: Any, *, dense_gate: Any = None,
                     dense_up: Any = None, dense_down: Any = None, k: int = 2, gating: str = "softmax",
                     renormalize: bool = True, capacity_factor: float = 0.0, min_capacity: int = 0,
                     act: str = "silu", aux_coef: float = 0.0, z_coef: float = 0.0,
                     context: Optional[Context] = None, stream: Any = None) -> Tuple[Any, ...]:
    """Gradients of :func:`moe_ffn` (``ax_moe_ffn_backward``) for the objective
    ``Σ dy·y + aux_coef·aux + z_coef·z``. The forward is recomputed from x (nothing is kept between the
    passes); the routing's selection and drops are held fixed, as in every MoE implementation.

    Args:
        x, router, gate, up, down, dense_gate, dense_up, dense_down: the forward's, float32 only.
        dy: float32 (T, D), the gradient of the objective with respect to y.
        k, gating, renormalize, capacity_factor, min_capacity, act: the forward's options.
        aux_coef, z_coef: finite weights of the routing losses in the objective (0 = none).

    Returns:
        ``(dx, drouter, dgate, dup, ddown, ddense_gate, ddense_up, ddense_down)``, float32 with the shapes
        of x and the weights; the dense gradients are None without the dense MLP.
    """
    call = _Call(x, "x", context, stream)
    dense = _dense(dense_gate, dense_up, dense_down)
    ints, floats = _ffn_scalars(k, gating, renormalize, capacity_factor, min_capacity, act, aux_coef, z_coef)
    weights = (router, gate, up, down) + dense
    grads = tuple(None if w is None else _empty(call, tuple(w.shape), "float32") for w in (x,) + weights)
    _run(call, "moe_ffn_backward", (x,) + weights + (dy,) + grads, ints, floats)
    return grads
