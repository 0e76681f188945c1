"""Evoformer attention (forward, backward) and one head's attention probabilities, over NumPy arrays,
DLPack producers (PyTorch, CuPy, JAX) and :class:`axial.Tensor`, with contexts per thread."""
from __future__ import annotations

import contextlib
import numbers
import threading
from typing import Any, Iterator, Optional, Tuple, Union

import numpy as np

from . import _axial
from ._tensor import BFLOAT16, CODE_OF_NAME, DTYPES, Tensor, describe, numpy_dtype
from .errors import InvalidArgumentError

__all__ = ["Context", "evoformer_attention", "evoformer_attention_backward", "attention_probabilities"]


def _parse_device(device: Union[str, Tuple[str, int]]) -> Tuple[str, int]:
    # "cuda:x" had been a bare ValueError and "cpu:3" taken as cpu 0
    bad = InvalidArgumentError(f"device: expected 'cpu' or 'cuda[:id]' (id >= 0), got {device!r}", 1)
    if isinstance(device, tuple):
        if len(device) != 2:
            raise bad
        kind, index = device
    else:
        kind, colon, text = str(device).partition(":")
        if colon and not (text.isdigit() and text.isascii()):
            raise bad
        index = int(text) if colon else 0
    if kind not in ("cpu", "cuda") or not isinstance(index, numbers.Integral) or index < 0 or (kind == "cpu" and index):
        raise bad
    return (kind, int(index))


def _stream_ptr(stream: Any) -> int:
    """A cudaStream_t as an int from an int, a torch.cuda.Stream (.cuda_stream) or a CuPy stream (.ptr)."""
    if stream is None:
        return 0
    for attr in ("cuda_stream", "ptr"):
        if hasattr(stream, attr):
            return int(getattr(stream, attr))
    return int(stream)


class Context:
    """Where ops run: a device (``"cpu"`` or ``"cuda[:id]"``), a CUDA stream, CPU threads and a
    workspace limit (``ax_context``). Ops pick a per-thread context themselves; make one to choose the
    thread count, the stream or a memory cap, and pass it as ``context=``. One context serves one call
    at a time (calls from several threads on one context wait for each other).

    Args:
        device: ``"cpu"``, ``"cuda"`` or ``"cuda:1"``.
        stream: CUDA stream the ops are queued on: an int (``cudaStream_t``), a ``torch.cuda.Stream``
            or a CuPy stream (kept alive as long as the context); ``None`` = the legacy default
            stream. PyTorch tensors are ordered with the ops only when this is the stream current in
            PyTorch at the call (which is what the ops' own per-thread contexts use): with another
            one, synchronise the streams yourself before PyTorch reads the outputs or reuses the
            inputs' memory.
        num_threads: CPU threads (``<= 0`` = all cores).
        workspace_limit: bytes of scratch an op may use (``<= 0`` = no limit).

    Raises:
        UnsupportedError: CUDA requested without a CUDA build or device.
    """

    __slots__ = ("_capsule", "device", "stream_ptr", "_stream", "__weakref__")

    def __init__(self, device: Union[str, Tuple[str, int]] = "cpu", *, stream: Any = None, num_threads: int = 0,
                 workspace_limit: int = 0) -> None:
        self.device = _parse_device(device)
        self.stream_ptr = _stream_ptr(stream) if self.device[0] == "cuda" else 0
        # A CuPy stream is destroyed when collected: the context (and its cuBLAS handle) would then
        # hold a dangling cudaStream_t.
        self._stream = stream
        self._capsule = _axial.context_create(1 if self.device[0] == "cuda" else 0, self.device[1],
                                              self.stream_ptr or None, int(num_threads), int(workspace_limit))

    @property
    def num_threads(self) -> int:
        """CPU threads the context's ops use."""
        return _axial.context_info(self._capsule)[2]

    @property
    def workspace_peak(self) -> int:
        """Most scratch bytes one op has used since creation or :meth:`reset_workspace_peak`."""
        return _axial.context_info(self._capsule)[3]

    @property
    def workspace_peaks(self) -> "tuple[int, int]":
        """The peak split by kind: (most host bytes, most device bytes) one op has used."""
        info = _axial.context_info(self._capsule)
        return int(info[4]), int(info[5])

    def reset_workspace_peak(self) -> None:
        """Starts a new workspace-peak measurement."""
        _axial.context_peak_reset(self._capsule)

    @contextlib.contextmanager
    def measure(self) -> "Iterator[Context]":
        """Measure mode for the ``with`` block: ops given this context check their arguments as usual
        (same errors) and record the scratch they would need in :attr:`workspace_peak`, but run
        nothing, so the arrays they return hold undefined values. For sizing ``workspace_limit``::

            with ctx.measure():
                axial.evoformer_attention(q, k, v, None, bias, context=ctx)
            need = ctx.workspace_peak
        """
        _axial.context_set_measure(self._capsule, True)
        try:
            yield self
        finally:
            _axial.context_set_measure(self._capsule, False)

    def synchronize(self) -> None:
        """Waits for every op queued on the context's stream (no-op on the CPU)."""
        _axial.context_synchronize(self._capsule)

    def __repr__(self) -> str:
        dev = "cpu" if self.device[0] == "cpu" else f"cuda:{self.device[1]}"
        return f"axial.Context(device={dev!r}, stream={self.stream_ptr:#x})"


_local = threading.local()


def context_for(device: Tuple[str, int], stream: Any, num_threads: int = 0) -> Context:
    """The calling thread's context for (device, stream, num_threads), made on first use.

    A context's thread count is fixed when it is made (``ax_context_config``), so each count asked for
    gets a context of its own. A context keeps the largest scratch a call on it needed (the library
    never shrinks it) until the thread ends: callers with one huge call, or a new stream per batch,
    should pass their own ``Context`` (docs/python.md). ``num_threads`` matters on the CPU only
    (``<= 0``: OpenMP's default when the context is made)."""
    cache = getattr(_local, "contexts", None)
    if cache is None:
        cache = _local.contexts = {}
    cuda = device[0] == "cuda"
    key = (device, _stream_ptr(stream) if cuda else 0, 0 if cuda else max(int(num_threads), 0))
    ctx = cache.get(key)
    if ctx is None:
        ctx = cache[key] = Context(device, stream=key[1], num_threads=key[2])
    return ctx


def _torch_num_threads() -> int:
    """PyTorch's intra-op thread count now. Read at every call on PyTorch CPU tensors, so Axial follows
    ``torch.set_num_threads`` as PyTorch's own ops do, whenever it is called."""
    import torch

    return torch.get_num_threads()


def _dlpack_stream(ctx: Context) -> Optional[int]:
    """The stream number a CUDA producer's __dlpack__ gets: the context's, 1 for the legacy default."""
    if ctx.device[0] != "cuda":
        return None
    return ctx.stream_ptr or 1


def _library_of(x: Any) -> str:
    if isinstance(x, np.ndarray):
        return "numpy"
    module = type(x).__module__
    if module.startswith("torch"):
        return "torch"
    if module.startswith("cupy"):
        return "cupy"
    return "other"


def _current_stream(x: Any, library: str) -> Any:
    """The caller's current CUDA stream for a tensor of `library` (PyTorch and CuPy keep one)."""
    if library == "torch" and x.is_cuda:
        import torch

        return torch.cuda.current_stream(x.device).cuda_stream
    if library == "cupy":
        import cupy

        return cupy.cuda.get_current_stream().ptr
    return None


class _Call:
    """What one op call needs to know about its reference input (q): library, device, context, and how
    to allocate outputs like it."""

    __slots__ = ("ref", "library", "device", "code", "ctx", "_flags", "_plain_uint16")

    def __init__(self, ref: Any, name: str, context: Optional[Context], stream: Any) -> None:
        self.ref = ref
        self.library = _library_of(ref)
        if self.library == "numpy":
            self.device = ("cpu", 0)
            self.code = -1  # NumPy outputs use the input's dtype directly
        else:
            self.code, self.device, _ = describe(ref, name)
        if stream is None and self.device[0] == "cuda":
            stream = _current_stream(ref, self.library)
        if context is None:
            threads = _torch_num_threads() if self.library == "torch" and self.device[0] == "cpu" else 0
            context = context_for(self.device, stream, threads)
        self.ctx = context
        self._flags = 0
        self._plain_uint16 = False

    def host(self, x: Any) -> Any:
        """NumPy bfloat16 arrays go to C as their uint16 view (NumPy's buffer protocol cannot carry the
        ml_dtypes type); everything else as it is."""
        if isinstance(x, np.ndarray):
            if BFLOAT16 is not None and x.dtype == BFLOAT16:
                self._flags = _axial.U16_BF16
                return x.view(np.uint16)
            if x.dtype == np.uint16:
                self._plain_uint16 = True
        return x

    @property
    def flags(self) -> int:
        """The flags argument of the C call: read after every array has been through :meth:`host`
        (the last argument of each call). The C layer reads every uint16 array of a call as bfloat16
        once one bfloat16 array was converted, so a plain uint16 array beside it, which is no Axial
        dtype and would be refused alone, is refused here instead of being read as bfloat16."""
        if self._flags & _axial.U16_BF16 and self._plain_uint16:
            raise InvalidArgumentError("a uint16 array was given beside bfloat16 ones: uint16 is not an Axial dtype "
                                       "(it would have been read as bfloat16); pass bfloat16 data as ml_dtypes "
                                       "bfloat16 arrays", 1)
        return self._flags

    def empty(self, shape: Tuple[int, ...], like: Any = None, dtype: Optional[str] = None) -> Any:
        """An output of `shape` in the reference's library and device, with `like`'s dtype, or the dtype
        named `dtype` (an Axial dtype name: float32, int32, int64, bfloat16, ...)."""
        like = self.ref if like is None else like
        if self.library == "numpy" and isinstance(like, np.ndarray):
            return np.empty(shape, like.dtype if dtype is None else numpy_dtype(CODE_OF_NAME[dtype]))
        if self.library == "torch":
            import torch

            return torch.empty(shape, dtype=like.dtype if dtype is None else getattr(torch, dtype),
                               device=self.ref.device)
        if self.library == "cupy":
            import cupy

            return cupy.empty(shape, dtype=like.dtype if dtype is None else dtype)
        code = CODE_OF_NAME[dtype] if dtype is not None else describe(like, "output")[0]
        if self.device[0] == "cpu":
            return np.empty(shape, numpy_dtype(code))
        return Tensor.empty(tuple(shape), DTYPES[code][0], self.ctx)


def _lse_shape(q_shape: Tuple[int, ...]) -> Tuple[int, ...]:
    if len(q_shape) == 5:
        b, n, s, h, _ = q_shape
        return (b, n, h, s)
    return (0,)  # q's own error is reported first


def evoformer_attention(q: Any, k: Any, v: Any, bias_mask: Any = None, bias_pair: Any = None, *,
                        return_lse: bool = False, out: Any = None, lse: Any = None,
                        context: Optional[Context] = None, stream: Any = None) -> Any:
    """Evoformer attention, ``softmax(q·kᵀ/√D + bias_mask + bias_pair)·v``, without forming the S×S
    logits (``ax_evoformer_attention_forward``).

    Args:
        q, k, v: (B, N, S, H, D) arrays of one dtype: float32, bfloat16 or float16. NumPy arrays (any
            strides; bfloat16 through ml_dtypes), or any DLPack producer (PyTorch, CuPy, JAX) on the
            CPU or a CUDA device.
        bias_mask: None or (B, N, 1, 1, S), all five dims, each of size 1 to broadcast, in q's dtype
            or float32.
        bias_pair: None or (B, 1, H, S, S), all five dims, each of size 1 to broadcast, in q's dtype
            or float32.
        return_lse: also return the (B, N, H, S) float32 log-sum-exp the backward pass needs.
        out, lse: optional preallocated outputs (written in place and returned).
        context: an :class:`axial.Context`; default: the calling thread's context for q's device, which
            for PyTorch CPU tensors runs ``torch.get_num_threads()`` threads, read at each call.
        stream: CUDA stream (int, ``torch.cuda.Stream`` or CuPy stream); default: the caller's current
            PyTorch/CuPy stream, else the legacy default stream.

    Returns:
        ``out`` (B, N, S, H, D) in q's dtype, or ``(out, lse)`` with ``return_lse``. NumPy arrays for
        NumPy inputs, PyTorch/CuPy tensors for theirs, otherwise NumPy (host) or :class:`axial.Tensor`
        (CUDA).

    Raises:
        InvalidArgumentError: wrong shapes, dtypes, devices or strides (the message names the array).
        UnsupportedError: limits of the device (e.g. D > 128 on CUDA).
        OutOfMemoryError: scratch memory could not be had.
    """
    call = _Call(q, "q", context, stream)
    q_shape = q.shape
    if out is None:
        out = call.empty(tuple(q_shape))
    if lse is None and return_lse:
        lse = call.empty(_lse_shape(tuple(q_shape)), dtype="float32")
    _axial.attention_forward(call.ctx._capsule, call.host(q), call.host(k), call.host(v),
                             None if bias_mask is None else call.host(bias_mask),
                             None if bias_pair is None else call.host(bias_pair),
                             call.host(out), lse, _dlpack_stream(call.ctx), call.flags)
    return (out, lse) if return_lse else out


def evoformer_attention_backward(q: Any, k: Any, v: Any, bias_mask: Any, bias_pair: Any, out: Any, lse: Any,
                                 dout: Any, *, grads: Optional[Tuple[Any, Any, Any, Any, Any]] = None,
                                 context: Optional[Context] = None, stream: Any = None
                                 ) -> Tuple[Any, Any, Any, Any, Any]:
    """Gradients of Evoformer attention (``ax_evoformer_attention_backward``).

    Args:
        q, k, v, bias_mask, bias_pair: the forward's inputs (biases may be None).
        out, lse: the forward's output and log-sum-exp (``return_lse=True``).
        dout: (B, N, S, H, D) gradient of the loss with respect to ``out``.
        grads: optional preallocated ``(dq, dk, dv, dbias_mask, dbias_pair)`` (bias entries may be None
            when not wanted); written in place.
        context, stream: as for :func:`evoformer_attention`.

    Returns:
        ``(dq, dk, dv, dbias_mask, dbias_pair)``: dq, dk, dv in q's dtype; each bias gradient has its
        bias's shape and dtype, summed over the bias's broadcast dimensions; None where the bias is None.
        Deterministic: the same inputs give bitwise identical gradients.

    Raises:
        InvalidArgumentError, UnsupportedError, OutOfMemoryError: as for :func:`evoformer_attention`.
    """
    call = _Call(q, "q", context, stream)
    if grads is None:
        shape = tuple(q.shape)
        grads = (call.empty(shape), call.empty(shape), call.empty(shape),
                 None if bias_mask is None else call.empty(tuple(bias_mask.shape), like=bias_mask),
                 None if bias_pair is None else call.empty(tuple(bias_pair.shape), like=bias_pair))
    dq, dk, dv, dbm, dbp = grads
    h = call.host
    _axial.attention_backward(call.ctx._capsule, h(q), h(k), h(v), None if bias_mask is None else h(bias_mask),
                              None if bias_pair is None else h(bias_pair), h(out), lse, h(dout), h(dq), h(dk), h(dv),
                              None if dbm is None else h(dbm), None if dbp is None else h(dbp),
                              _dlpack_stream(call.ctx), call.flags)
    return dq, dk, dv, dbm, dbp


def attention_probabilities(q: Any, k: Any, bias_mask: Any = None, bias_pair: Any = None, *, b: int = 0,
                            n: int = 0, h: int = 0) -> np.ndarray:
    """The (S, S) attention probabilities of one (b, n, h) head, as a float32 NumPy array
    (``ax_attention_probabilities``): ``softmax_j(q_i·k_j/√D + bias_mask[j] + bias_pair[i, j])``.
    Host arrays only; fully masked rows are zeros. For heatmaps of what a head attends to.

    Raises:
        InvalidArgumentError: wrong shapes or dtypes, or b, n, h out of range.
    """
    call = _Call(q, "q", None, None)
    s = q.shape[2] if len(q.shape) == 5 else 0
    out = np.empty((s, s), np.float32)
    hq = call.host
    _axial.attention_probabilities(hq(q), hq(k), None if bias_mask is None else hq(bias_mask),
                                   None if bias_pair is None else hq(bias_pair), int(b), int(n), int(h), out,
                                   call.flags)
    return out
